"""Resultados de cada ejecución (JSON en ``results/``) y la tabla resumen.

Cada entrenamiento deja ``results/<ejecución>.json`` con sus métricas, su
historia por época, sus hiperparámetros y su procedencia (perfil, backend,
dispositivo, versiones, fuente de los datos y su sha256, fecha). La tabla
resumen pone al lado la precisión que publicó el informe original.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import keras
import numpy as np

from cifar_lib.config import (
    DEFAULT_SEED,
    FULL_TRAIN,
    REPORT_RUNS,
    RunConfig,
    decimal,
    enumeration,
    percent,
    plural,
    project_root,
    thousands,
)
from cifar_lib.data import CLASS_NAMES_ES, CifarData
from cifar_lib.device import device_name, library_versions
from cifar_lib.files import replace_atomically
from cifar_lib.training import TrainingRun, recipe_changes

#: Lo que todo resultado del curso tiene (``load_runs`` rechaza un JSON sin ello).
REQUIRED_KEYS = ("run", "step", "title", "profile", "label", "seed", "params", "epochs_run", "test_accuracy")
REQUIRED_KEYS += ("train_samples", "train_seconds", "backend", "device")
REQUIRED_KEYS += ("data_source", "data_sha256", "created")


def save_run(
    config: RunConfig,
    data: CifarData,
    model: keras.Model,
    training: TrainingRun,
    test_accuracy: float,
    test_accuracy_with_flip: float | None = None,
    test_accuracy_with_views: float | None = None,
) -> Path:
    """Guarda ``results/<ejecución>[_semilla<N>].json`` de forma atómica y devuelve su ruta.

    ``test_accuracy`` es la de una sola pasada por imagen; la que promedia cada
    imagen con su reflejo (``evaluate_with_flip``) y la de las seis vistas
    (``evaluate_with_views``) van aparte.
    """
    if model.compiled and not config.code_changes:  # p. ej. la ejecución de 20 épocas del cuaderno 06
        config.code_changes.extend(recipe_changes(config, model))
    report_run = REPORT_RUNS[config.run]

    def rounded(accuracy):
        return None if accuracy is None else round(float(accuracy), 6)

    record = {
        "run": config.run,
        "step": config.step,
        "title": report_run.title,
        "profile": config.profile,
        "label": config.label,
        "overrides": dict(config.overrides),
        "params": int(model.count_params()),
        "epochs": config.epochs,
        "epochs_run": training.epochs_run,
        "best_epoch": training.best_epoch,
        "batch_size": config.batch_size,
        "train_samples": len(data.y_train),
        "val_samples": len(data.y_val),
        "test_samples": len(data.y_test),
        "seed": config.seed,
        "test_accuracy": rounded(test_accuracy),
        "test_accuracy_with_flip": rounded(test_accuracy_with_flip),
        "test_accuracy_with_views": rounded(test_accuracy_with_views),
        "report_accuracy": report_run.report_accuracy,
        "train_seconds": round(training.train_seconds, 2),
        "resumed_at": training.resumed_at,
        "epoch_seconds": [
            None if seconds is None else round(seconds, 2) for seconds in training.epoch_seconds
        ],
        "stopped_early": training.stopped_early,
        "history": {k: [round(v, 6) for v in values] for k, values in training.history.items()},
        "backend": keras.config.backend(),
        "device": device_name(),
        "versions": library_versions(),
        "data_source": data.source,
        "data_sha256": data.sha256,
        "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
    }
    suffix = "" if config.seed == DEFAULT_SEED else f"_semilla{config.seed}"
    path = config.results_dir / f"{config.run}{suffix}.json"
    text = json.dumps(record, ensure_ascii=False, indent=2) + "\n"
    return replace_atomically(path, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def load_runs(results_dir: str | Path) -> list[dict]:
    """Todos los resultados de una carpeta, en el orden del curso."""
    runs = []
    for path in Path(results_dir).glob("*.json"):
        record = json.loads(path.read_text(encoding="utf-8"))
        missing = [key for key in REQUIRED_KEYS if key not in record]
        if missing:
            raise ValueError(
                f"{path.name} no es un resultado del curso: le {'falta la clave' if len(missing) == 1 else 'faltan las claves'} "
                f"{enumeration(missing)}. "
                "Sácalo de la carpeta de resultados y vuelve a intentarlo."
            )
        runs.append(record)
    order = list(REPORT_RUNS)
    return sorted(runs, key=lambda r: (order.index(r["run"]) if r["run"] in order else len(order), r["seed"]))


def load_history(results_dir: str | Path, run: str) -> dict | None:
    """La historia por época de ``<run>.json`` (para dibujar el paso anterior), o ``None`` si no está.

    Si ``results_dir`` no la tiene (una prueba que escribe en ``salidas/personalizado/`` sin haber
    ejecutado el paso anterior), la de los resultados guardados del curso, en ``results/``."""
    for folder in (Path(results_dir), project_root() / "results"):
        path = folder / f"{run}.json"
        if path.exists():
            return json.loads(path.read_text(encoding="utf-8")).get("history")
    return None


def format_seconds(seconds: float) -> str:
    """``75`` → ``1 min 15 s``; ``3725`` → ``1 h 02 min``."""
    seconds = round(seconds)
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds:02d} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def training_time_text(training: TrainingRun) -> str:
    """El tiempo de entrenamiento, lo que tardó una época (la mediana) y, si se interrumpió, tras qué épocas
    se reanudó: ``2 h 05 min de entrenamiento; una época, 1 min 01 s (mediana de 123 épocas);
    reanudado tras las épocas 14, 35 y 57``."""
    text = f"{format_seconds(training.train_seconds)} de entrenamiento"
    timed = [seconds for seconds in training.epoch_seconds if seconds is not None]
    if timed:
        text += f"; una época, {format_seconds(float(np.median(timed)))} (mediana de {plural(len(timed), 'época')})"
    if training.resumed_at:
        epochs = "la época" if len(training.resumed_at) == 1 else "las épocas"
        text += f"; reanudado tras {epochs} {enumeration(training.resumed_at)}"
    return text


#: Las precisiones en test que puede tener un registro, de la más sencilla a la que más vistas promedia.
TEST_ACCURACIES = {
    "test_accuracy": "",
    "test_accuracy_with_flip": "con volteo",
    "test_accuracy_with_views": "con 6 vistas",
}


def best_measured(record: dict) -> tuple[float, str]:
    """La precisión en test con más vistas que tenga el registro y cómo se midió (``""``: una pasada)."""
    key = [key for key in TEST_ACCURACIES if record.get(key) is not None][-1]
    return record[key], TEST_ACCURACIES[key]


def best_measured_text(record: dict) -> str:
    """``93,39 % con 6 vistas``, o solo ``48,05 %`` si se midió con una pasada por imagen."""
    accuracy, how = best_measured(record)
    return f"{percent(accuracy)} {how}".strip()


def accuracy_text(record: dict) -> str:
    """``86,49 %``, o ``86,49 % (87,29 % con volteo)`` si se midió también con más vistas en el test."""
    text = percent(record["test_accuracy"])
    return f"{text} ({best_measured_text(record)})" if best_measured(record)[1] else text


def epochs_text(record: dict) -> str:
    """``20``; o ``2 de 20`` si no coinciden con las del informe (parada temprana, recorte u otro ``EPOCHS``)."""
    planned = REPORT_RUNS[record["run"]].epochs if record["run"] in REPORT_RUNS else record["epochs"]
    run = record["epochs_run"]
    return str(run) if run == planned else f"{run} de {planned}"


def data_text(record: dict) -> str:
    """El archivo o la carpeta de los datos: ``cifar-10-python.tar.gz`` (el oficial), ``cifar10-jpeg.tar.gz``…"""
    return record["data_source"].split(" (")[0]


def seeds_text(records: list[dict]) -> str:
    """``47,41 % ± 2,97 (3 semillas)``: media y desviación típica de la precisión en test (la de más
    vistas que se midió, y lo dice: ``94,02 % ± 0,12 con 6 vistas (3 semillas)``)."""
    mean, spread = mean_and_spread(records)
    how = best_measured(records[0])[1]
    return f"{percent(mean)} ± {decimal(100 * spread)}{' ' + how if how else ''} ({len(records)} semillas)"


def mean_and_spread(records: list[dict]) -> tuple[float, float]:
    """Media y desviación típica (0 con una sola semilla) de la precisión en test de más vistas."""
    accuracies = np.array([best_measured(r)[0] for r in records])
    return float(accuracies.mean()), float(accuracies.std(ddof=1)) if len(records) > 1 else 0.0


def by_run(runs: list[dict]) -> list[tuple[dict, list[dict]]]:
    """Las ejecuciones agrupadas (en el orden de ``runs``): por cada ejecución, etiqueta y datos, el
    registro de la semilla por defecto (o el primero) y todos los de sus semillas. Semillas entrenadas
    con datos distintos (el archivo oficial y la copia JPEG) no se promedian juntas."""
    groups: dict[tuple[str, str, str], list[dict]] = {}
    for record in runs:
        groups.setdefault((record["run"], record["label"], record["data_sha256"]), []).append(record)
    return [(_default_seed(seeds), seeds) for seeds in groups.values()]


def _default_seed(seeds: list[dict]) -> dict:
    return next((record for record in seeds if record["seed"] == DEFAULT_SEED), seeds[0])


def complete_runs(runs: list[dict]) -> list[dict]:
    """Solo las ejecuciones del perfil completo: las únicas que se comparan con el informe y entre sí."""
    return [record for record in runs if record["label"] == "completo"]


def summary_rows(runs: list[dict]) -> list[dict]:
    """Una fila por ejecución (en el orden de ``runs``), con la precisión nuestra y la del informe.
    Varias semillas de una ejecución (con la misma etiqueta) dan una sola fila, la de la semilla
    por defecto, con la media y la desviación típica de todas."""
    rows = []
    for record, seeds in by_run(runs):
        report_run = REPORT_RUNS.get(record["run"])
        rows.append(
            {
                "ejecución": record["run"],
                "paso": record["step"],
                "qué cambia": record["title"],
                "parámetros": thousands(record["params"]),
                "perfil": record["label"],
                "épocas": epochs_text(record),
                "tiempo": format_seconds(record["train_seconds"]),
                "precisión test": accuracy_text(record) if len(seeds) == 1 else seeds_text(seeds),
                "datos": data_text(record),
                "informe": report_run.report_text if report_run else "—",
                "dispositivo": f"{record['backend']}, {record['device']}",
            }
        )
    return rows


#: Las velocidades del benchmark en la CPU de 2 núcleos: con ellas se comparan los tiempos en una misma máquina.
BENCHMARK = Path("benchmarks") / "resultados" / "tensorflow-cpu.json"


def benchmark_epoch_seconds(path: str | Path | None = None) -> dict[int, float]:
    """Segundos que tarda una época de 45.000 imágenes de cada paso, medidos por el benchmark en una
    sola máquina (``{paso: segundos}``; vacío si no hay benchmark)."""
    path = Path(path) if path else project_root() / BENCHMARK
    if not path.exists():
        return {}
    measured = json.loads(path.read_text(encoding="utf-8"))["training"]
    return {row["step"]: row["epoch_45000_s"] for row in measured}


def same_machine_seconds(record: dict, epoch_seconds: dict[int, float]) -> float | None:
    """Lo que tardaría el entrenamiento de ``record`` en la máquina del benchmark: sus épocas por lo que
    tarda allí una época (a escala de sus imágenes de entrenamiento), sin validar. ``None`` sin medida."""
    if record["step"] not in epoch_seconds:
        return None
    return record["epochs_run"] * epoch_seconds[record["step"]] * record["train_samples"] / FULL_TRAIN


def cost_rows(runs: list[dict], epoch_seconds: dict[int, float]) -> list[dict]:
    """Precisión frente a tiempo de CPU: una fila por ejecución completa, con su tiempo en la máquina
    del benchmark, para que los pasos se comparen en una misma CPU aunque se entrenaran en otras."""
    rows = []
    for record, seeds in by_run(complete_runs(runs)):
        seconds = same_machine_seconds(record, epoch_seconds)
        rows.append(
            {
                "ejecución": record["run"],
                "qué cambia": record["title"],
                "precisión test": best_measured_text(record) if len(seeds) == 1 else seeds_text(seeds),
                "datos": data_text(record),
                "épocas": epochs_text(record),
                "tiempo en la CPU del benchmark": "sin medir" if seconds is None else format_seconds(seconds),
            }
        )
    return rows


def seed_table(results_dir: str | Path, run: str) -> str:
    """Tabla Markdown de una ejecución repetida con varias semillas: cada una, la media y la desviación
    típica. Solo las semillas entrenadas con los mismos datos que la de por defecto."""
    complete = [r for r in load_runs(results_dir) if r["run"] == run and r["label"] == "completo"]
    if not complete:
        return f"No hay ejecuciones completas de {run} en {Path(results_dir).name}/."
    default = _default_seed(complete)
    _, records = next(group for group in by_run(complete) if default in group[1])
    rows = [
        {
            "semilla": r["seed"],
            "precisión test": best_measured_text(r),
            "mejor época": r.get("best_epoch"),
        }
        for r in records
    ]
    if len(records) > 1:
        rows.append(
            {"semilla": "media ± desviación típica", "precisión test": seeds_text(records), "mejor época": ""}
        )
    table = render_table(rows, markdown=True, numeric=("precisión test",))
    if len(complete) > len(records):
        table += f"\n\nNo entran aquí: {plural(len(complete) - len(records), 'semilla')} con otros datos."
    return table


def render_table(rows: list[dict], markdown: bool = False, numeric: tuple[str, ...] = ()) -> str:
    """Filas ``{columna: texto}`` como tabla de texto alineado o de Markdown (``numeric``, a la derecha).

    Es el único dibujante de tablas del curso: la tabla resumen, las del README y las del benchmark.
    """
    headers = list(rows[0])
    cells = [[str(row[h]) for h in headers] for row in rows]
    if markdown:
        rule = ["---:" if h in numeric else "---" for h in headers]
        return "\n".join("| " + " | ".join(line) + " |" for line in [headers, rule, *cells])
    widths = [max(len(h), *(len(line[i]) for line in cells)) for i, h in enumerate(headers)]

    def fit(values):
        return "  ".join(
            v.rjust(w) if h in numeric else v.ljust(w) for v, w, h in zip(values, widths, headers)
        ).rstrip()

    return "\n".join([fit(headers), fit(["-" * w for w in widths]), *(fit(line) for line in cells)])


def summary_table(results_dir: str | Path, markdown: bool = False) -> str:
    """La tabla resumen, en texto alineado para imprimir o en Markdown (la del README)."""
    rows = summary_rows(load_runs(results_dir))
    if not rows:
        return f"No hay resultados en {Path(results_dir).name}/ todavía: ejecuta los cuadernos."
    return render_table(rows, markdown=markdown)


def confusion_counts(true_labels, predicted_labels, num_classes: int = 10) -> np.ndarray:
    """Cuenta ``[real, predicha]`` de una clasificación."""
    counts = np.zeros((num_classes, num_classes), dtype=int)
    np.add.at(counts, (np.asarray(true_labels, int), np.asarray(predicted_labels, int)), 1)
    return counts


def per_class_accuracy(true_labels, predicted_labels, num_classes: int = 10) -> np.ndarray:
    """Fracción de aciertos de cada clase real."""
    counts = confusion_counts(true_labels, predicted_labels, num_classes)
    return np.diag(counts) / np.maximum(counts.sum(axis=1), 1)


def provenance_line(config: RunConfig, data: CifarData) -> str:
    """Qué ejecución produjo las salidas de un cuaderno, en líneas cortas que se leen enteras en JupyterLab."""
    return "\n".join(
        [
            "Procedencia de las salidas:",
            f"  perfil {config.profile_text}, {plural(config.epochs, 'época')}, lote {config.batch_size}, "
            f"{thousands(len(data.y_train))} imágenes de entrenamiento",
            f"  backend {keras.config.backend()} en {device_name()}; {dt.date.today().isoformat()}",
            f"  datos: {data.source}, sha256 {data.sha256[:12]}…",
        ]
    )


def replace_section(document: Path, name: str, content: str) -> None:
    """Sustituye lo que hay entre ``<!-- name:inicio -->`` y ``<!-- name:fin -->`` en un Markdown."""
    text = document.read_text(encoding="utf-8")
    start, end = f"<!-- {name}:inicio -->", f"<!-- {name}:fin -->"
    if start not in text or end not in text:
        raise ValueError(
            f"{document.name} no tiene las marcas {start} y {end}: añádelas donde deba ir la tabla."
        )
    before, rest = text.split(start, 1)
    after = rest.split(end, 1)[1]
    text = f"{before}{start}\n{content.strip()}\n{end}{after}"
    replace_atomically(document, lambda temporary: temporary.write_text(text, encoding="utf-8"))


def most_confused(true_labels, predicted_labels, count: int = 3) -> list[tuple[str, str, int]]:
    """Los pares (clase real, clase predicha) que más se confunden, con cuántas veces."""
    counts = confusion_counts(true_labels, predicted_labels)
    np.fill_diagonal(counts, 0)
    pairs = [np.unravel_index(i, counts.shape) for i in np.argsort(counts, axis=None)[::-1][:count]]
    return [(CLASS_NAMES_ES[r], CLASS_NAMES_ES[g], int(counts[r, g])) for r, g in pairs if counts[r, g]]
