"""Mide la velocidad del curso en esta máquina e imprime una tabla (y la guarda en JSON).

Uso, desde la raíz del proyecto::

    python benchmarks/benchmark.py            # medida completa (unos minutos en una CPU)
    python benchmarks/benchmark.py --rapido   # una pasada corta para comprobar que funciona

Mide, en un solo proceso y con los mismos datos:

a) el aumento de datos: ``ImageDataGenerator.flow`` del informe frente a la capa
   ``build_augmentation()`` del curso, en lotes de 32 y de 512, primero solos
   (lotes de ``flow`` frente a llamadas a la capa) y después alimentando un
   ``fit`` con una red mínima;
b) el entrenamiento de cada paso (y de las redes de los cuadernos 07 y 08) con su
   tamaño de lote: imágenes por segundo al ritmo de crucero (del final del primer lote
   al del último, sin el arranque del ``fit``), el tiempo de una época de 45.000
   imágenes y los GFLOP/s conseguidos (con las operaciones de multiplicar y sumar
   de convoluciones y capas densas, ×3 al entrenar: ida y vuelta);
c) ``model.fit`` con los dos callbacks de los cuadernos (parada temprana y punto
   de control reanudable por época) frente a un ``model.fit`` sin más;

y anota backend, dispositivo y versiones. El JSON se escribe en
``benchmarks/resultados/<backend>-<dispositivo>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

from cifar_lib import augmentation, config, device, models, results, training  # noqa: E402
from cifar_lib.data import CifarData  # noqa: E402

FULL_EPOCH = 45_000
STEPS = range(1, 9)


def compile_like_the_notebooks(
    model: keras.Model, steps_per_execution: int | None = None, jit_compile: bool | str = "auto"
) -> keras.Model:
    """``model.compile`` como en los cuadernos 01–06 (Adam, entropía cruzada categórica); el 08
    compila además con XLA (``jit_compile=True``), y el optimizador apenas cambia la velocidad."""
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution or training.default_steps_per_execution(),
        jit_compile=jit_compile,
    )
    return model


def training_gflop_per_image(model: keras.Model) -> float:
    """GFLOP de entrenar con una imagen: 2 por cada multiplicar-y-sumar de las convoluciones y capas
    densas al ir hacia delante, por 3 (ida, y la vuelta calcula dos gradientes del mismo tamaño).
    BN, activaciones y pooling no cuentan: son una parte pequeña."""
    flops = 0
    for layer in model.layers:
        kernel = getattr(layer, "kernel", None)
        if kernel is None:
            continue
        output_shape = layer.output.shape[1:]
        positions = int(np.prod(output_shape[:-1])) if len(output_shape) > 1 else 1
        flops += 2 * positions * int(np.prod(kernel.shape))
    return 3 * flops / 1e9


def run_of(step: int) -> str:
    """La ejecución que da el tamaño de lote del paso: la final en el 6."""
    return "06_final" if step == 6 else f"{step:02d}"


def synthetic_data(count: int) -> CifarData:
    """Imágenes al azar con la forma de CIFAR-10: la velocidad no depende del contenido."""
    rng = np.random.default_rng(0)
    images = rng.random((count, 32, 32, 3), dtype=np.float32)
    labels = rng.integers(0, 10, count).astype(np.uint8)
    return CifarData(
        images, labels, images[:256], labels[:256], images[:256], labels[:256], "sintéticos", "-"
    )


def best_rate(function, images: int, repeats: int) -> float:
    """Imágenes por segundo de la mejor de ``repeats`` repeticiones."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        times.append(time.perf_counter() - start)
    return images / min(times)


def augmentation_only_rates(images: np.ndarray, batch_size: int, repeats: int) -> dict:
    """Imágenes/s de cada aumento solo: los lotes de ``flow`` frente a llamar a la capa lote a lote."""
    generator = augmentation.legacy_image_data_generator()
    layer = augmentation.build_augmentation(seed=0)
    batches = [images[start : start + batch_size] for start in range(0, len(images), batch_size)]

    def legacy():
        flow = generator.flow(images, batch_size=batch_size, shuffle=False, seed=0)
        for _ in range(len(flow)):
            next(flow)

    def fused():
        for batch in batches:
            transformed = layer(batch, training=True)
        keras.ops.convert_to_numpy(transformed)  # espera a que termine el último lote

    def keras_op():
        # La misma transformación con la función de Keras en vez de augmentation.affine_sample.
        for batch in batches:
            matrices = layer.affine_matrices(layer.sample_parameters(len(batch)), 32, 32)
            transformed = keras.ops.image.affine_transform(batch, matrices, "bilinear", "nearest")
        keras.ops.convert_to_numpy(transformed)

    legacy()
    fused()  # primera llamada: compila
    keras_op()
    legacy_rate = best_rate(legacy, len(images), repeats)
    fused_rate = best_rate(fused, len(images), repeats)
    op_rate = best_rate(keras_op, len(images), repeats)
    return {
        "batch_size": batch_size,
        "image_data_generator_img_s": round(legacy_rate),
        "build_augmentation_img_s": round(fused_rate),
        "keras_affine_transform_img_s": round(op_rate),
        "ratio": round(fused_rate / legacy_rate, 2),
        "ratio_vs_keras_op": round(fused_rate / op_rate, 2),
    }


def augmentation_rates(
    images: np.ndarray, batch_size: int, repeats: int, steps_per_execution: int = 1
) -> dict:
    """Imágenes/s de cada aumento alimentando un ``fit`` con una red mínima (una capa densa).

    Con una red tan pequeña, el tiempo es casi todo aumento de datos: es lo que
    cuesta dar una época de imágenes transformadas al modelo.
    """
    targets = training.one_hot(np.zeros(len(images), np.uint8))

    def tiny_model(*front):
        model = keras.Sequential(
            [keras.Input((32, 32, 3)), *front, keras.layers.Flatten(), keras.layers.Dense(10)]
        )
        return compile_like_the_notebooks(model, steps_per_execution=steps_per_execution)

    legacy_model, fused_model = tiny_model(), tiny_model(augmentation.build_augmentation(seed=0))
    generator = augmentation.legacy_image_data_generator()

    def legacy():
        flow = generator.flow(images, targets, batch_size=batch_size, shuffle=False, seed=0)
        legacy_model.fit(flow, epochs=1, verbose=0)

    def fused():
        fused_model.fit(images, targets, batch_size=batch_size, epochs=1, verbose=0, shuffle=False)

    legacy()  # primera llamada: compila el paso de entrenamiento
    fused()
    legacy_rate = best_rate(legacy, len(images), repeats)
    fused_rate = best_rate(fused, len(images), repeats)
    return {
        "batch_size": batch_size,
        "steps_per_execution": steps_per_execution,
        "image_data_generator_img_s": round(legacy_rate),
        "build_augmentation_img_s": round(fused_rate),
        "ratio": round(fused_rate / legacy_rate, 2),
    }


class BatchClock(keras.callbacks.Callback):
    """Anota el instante en que termina cada lote (o cada grupo de ``steps_per_execution``)."""

    def __init__(self):
        super().__init__()
        self.ends: list[tuple[int, float]] = []

    def on_train_batch_end(self, batch, logs=None):
        self.ends.append((batch, time.perf_counter()))


def steady_rate(ends: list[tuple[int, float]], batch_size: int) -> float | None:
    """Imágenes/s de crucero: la mediana de lo que tarda un lote entre finales de lote consecutivos,
    sin el primero (lo que cuesta arrancar un ``fit``, que en las redes pequeñas es más que la época
    misma) ni los tropiezos de una máquina compartida. ``None`` con menos de dos finales."""
    if len(ends) < 2:
        return None
    per_batch = [(t1 - t0) / (b1 - b0) for (b0, t0), (b1, t1) in zip(ends, ends[1:])]
    return batch_size / float(np.median(per_batch))


def training_rate(step: int, batch_size: int, count: int) -> dict:
    """Entrena dos lotes de calentamiento (compilación) y mide el ritmo de una época, lote a lote."""
    data = synthetic_data(count)
    model = compile_like_the_notebooks(models.build_model(step), jit_compile=step == 8 or "auto")
    targets = training.one_hot(data.y_train)
    model.fit(data.x_train[: batch_size * 2], targets[: batch_size * 2], batch_size=batch_size, verbose=0)
    clock = BatchClock()
    start = time.perf_counter()
    model.fit(data.x_train, targets, batch_size=batch_size, epochs=1, verbose=0, callbacks=[clock])
    rate = steady_rate(clock.ends, batch_size) or count / (time.perf_counter() - start)
    gflop = training_gflop_per_image(model)
    return {
        "step": step,
        "params": model.count_params(),
        "batch_size": batch_size,
        "images": count,
        "train_img_s": round(rate, 1),
        "epoch_45000_s": round(FULL_EPOCH / rate, 1),
        "train_gflop_per_image": round(gflop, 4),
        "gflop_s": round(gflop * rate, 1),
    }


def helper_versus_fit(step: int, count: int, epochs: int, output: Path) -> dict:
    """``model.fit`` con los callbacks de los cuadernos (punto de control por época) frente a ``fit`` a secas."""
    data = synthetic_data(count)
    os.environ[config.OUTPUT_ENV] = str(output)
    run_config = config.resolve_run(f"{step:02d}", profile="completo", epochs=epochs)

    y_train, y_val = (
        training.one_hot(data.y_train),
        training.one_hot(data.y_val),
    )  # una vez, fuera de lo medido

    def fit(model, callbacks=(), initial_epoch=0):
        model.fit(
            data.x_train,
            y_train,
            batch_size=run_config.batch_size,
            epochs=epochs,
            validation_data=(data.x_val, y_val),
            callbacks=list(callbacks),
            initial_epoch=initial_epoch,
            verbose=0,
        )

    def plain():
        keras.utils.set_random_seed(run_config.seed)
        fit(compile_like_the_notebooks(models.build_model(step)))

    def helper():
        model = compile_like_the_notebooks(models.build_model(step))
        callback_loss = keras.callbacks.EarlyStopping(monitor="val_loss", patience=run_config.patience)
        callback_accuracy = training.checkpoint_for(run_config, data, model, callback_loss, fresh=True)
        fit(model, [callback_loss, callback_accuracy], callback_accuracy.restore(model))

    plain()  # calentamiento
    plain_s = count * epochs / best_rate(plain, count * epochs, 2)
    helper_s = count * epochs / best_rate(helper, count * epochs, 2)
    return {
        "step": step,
        "images": count,
        "epochs": epochs,
        "model_fit_s": round(plain_s, 2),
        "with_callbacks_s": round(helper_s, 2),
        "ratio": round(helper_s / plain_s, 3),
    }


def times(ratio: float) -> str:
    return f"{config.decimal(ratio, 1)}×"


def augmentation_only_row(row: dict, where: str | None = None) -> dict:
    """Una fila de «aumento solo»: ImageDataGenerator, la capa del curso y la misma capa con keras.ops."""
    return {
        **({"dónde": where} if where else {}),
        "lote": config.thousands(row["batch_size"]),
        "`ImageDataGenerator`": config.thousands(row["image_data_generator_img_s"]),
        "`build_augmentation()`": config.thousands(row["build_augmentation_img_s"]),
        "mejora": times(row["ratio"]),
        "con `keras.ops.image.affine_transform`": (
            config.thousands(row["keras_affine_transform_img_s"])
            if "keras_affine_transform_img_s" in row
            else "sin medir"
        ),
        "`affine_sample` frente a la de Keras": (
            times(row["ratio_vs_keras_op"]) if "ratio_vs_keras_op" in row else "sin medir"
        ),
    }


def augmentation_fit_row(row: dict, where: str | None = None) -> dict:
    return {
        **({"dónde": where} if where else {}),
        "lote": config.thousands(row["batch_size"]),
        "lotes por llamada (`steps_per_execution`)": row["steps_per_execution"],
        "`ImageDataGenerator`": config.thousands(row["image_data_generator_img_s"]),
        "`build_augmentation()`": config.thousands(row["build_augmentation_img_s"]),
        "mejora": times(row["ratio"]),
    }


NUMERIC = (
    "paso",
    "parámetros",
    "lote",
    "imágenes/s",
    "época de 45.000",
    "GFLOP por imagen",
    "GFLOP/s",
    "lotes por llamada (`steps_per_execution`)",
    "`ImageDataGenerator`",
    "`build_augmentation()`",
    "mejora",
    "con `keras.ops.image.affine_transform`",
    "`affine_sample` frente a la de Keras",
)


def readme_table(folder: Path) -> str:
    """Tablas Markdown: velocidad de entrenamiento por paso en cada dispositivo y del aumento de datos."""
    reports = [
        json.loads(path.read_text(encoding="utf-8"))
        for path in sorted(folder.glob("*.json"))
        if not path.stem.endswith("-rapido")
    ]
    reports = [report for report in reports if "training" in report]  # no los de receta_07.py, al lado
    rows, numeric = [], list(NUMERIC)
    for step in STEPS:
        run = run_of(step)
        if not all(any(r["step"] == step for r in report["training"]) for report in reports):
            continue  # medidas antiguas, de antes de que el paso existiera
        row = {
            "paso": step,
            "parámetros": config.thousands(models.build_model(step).count_params()),
            "lote": config.thousands(config.REPORT_RUNS[run].batch_size),
        }
        for report in reports:
            where = f"{report['backend']}, {report['device']}"
            measured = next(r for r in report["training"] if r["step"] == step)
            row[f"imágenes/s ({where})"] = config.thousands(round(measured["train_img_s"]))
            row[f"época de 45.000 ({where})"] = results.format_seconds(measured["epoch_45000_s"])
            row[f"GFLOP/s ({where})"] = (
                config.decimal(measured["gflop_s"], 0) if "gflop_s" in measured else "sin medir"
            )
            numeric += [f"imágenes/s ({where})", f"época de 45.000 ({where})", f"GFLOP/s ({where})"]
        rows.append(row)
    only_rows, fit_rows = [], []
    for report in reports:
        where = f"{report['backend']}, {report['device']}"
        only_rows += [augmentation_only_row(row, where) for row in report.get("augmentation_only", [])]
        fit_rows += [augmentation_fit_row(row, where) for row in report["augmentation"]]
    return "\n".join(
        [
            results.render_table(rows, markdown=True, numeric=tuple(numeric)),
            "",
            "Aumento de datos solo, sin entrenar (imágenes/s):",
            "",
            results.render_table(only_rows, markdown=True, numeric=NUMERIC),
            "",
            "Aumento de datos alimentando un `fit` con una red mínima (imágenes/s):",
            "",
            results.render_table(fit_rows, markdown=True, numeric=NUMERIC),
        ]
    )


def main(argv=None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--rapido", action="store_true", help="una pasada corta, solo para comprobar que funciona"
    )
    parser.add_argument("--salida", type=Path, default=Path(__file__).parent / "resultados")
    parser.add_argument(
        "--readme",
        action="store_true",
        help="no mide: escribe en README.md la tabla de los JSON ya guardados",
    )
    args = parser.parse_args(argv)
    if args.readme:
        table = readme_table(args.salida)
        results.replace_section(config.project_root() / "README.md", "rendimiento", table)
        print(table)
        return {}
    quick = args.rapido
    repeats = 1 if quick else 3

    report = {
        "backend": keras.config.backend(),
        "device": device.device_name(),
        "versions": device.library_versions(),
        "cpu_count": os.cpu_count(),
        "quick": quick,
        "created": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }
    print(f"Backend {report['backend']} en {report['device']}; {report['versions']}")

    images = np.random.default_rng(0).random((512 if quick else 4096, 32, 32, 3), dtype=np.float32)
    report["augmentation_only"] = [augmentation_only_rates(images, batch, repeats) for batch in (32, 512)]
    print("\na) Aumento de datos solo, sin entrenar (imágenes/s)")
    print(
        results.render_table([augmentation_only_row(r) for r in report["augmentation_only"]], numeric=NUMERIC)
    )
    report["augmentation"] = [
        augmentation_rates(images, batch, repeats, steps) for batch, steps in ((32, 1), (32, 16), (512, 1))
    ]
    print("\n   Alimentando un fit con una red mínima (imágenes/s)")
    print(results.render_table([augmentation_fit_row(r) for r in report["augmentation"]], numeric=NUMERIC))

    counts = {1: 8192, 2: 4096, 3: 4096, 4: 4096, 5: 2048, 6: 1024, 7: 2048, 8: 4096}
    report["training"] = []
    print("\nb) Entrenamiento con el lote del informe")
    for step in STEPS:
        batch = config.REPORT_RUNS[run_of(step)].batch_size
        report["training"].append(training_rate(step, batch, 256 if quick else counts[step]))
    training_rows = [
        {
            "paso": row["step"],
            "parámetros": config.thousands(row["params"]),
            "lote": config.thousands(row["batch_size"]),
            "imágenes/s": config.thousands(round(row["train_img_s"])),
            "época de 45.000": results.format_seconds(row["epoch_45000_s"]),
            "GFLOP por imagen": config.decimal(row["train_gflop_per_image"], 3),
            "GFLOP/s": config.decimal(row["gflop_s"], 0),
        }
        for row in report["training"]
    ]
    print(results.render_table(training_rows, numeric=NUMERIC))

    with tempfile.TemporaryDirectory() as scratch:
        report["helper_vs_fit"] = helper_versus_fit(
            2, 1024 if quick else 8192, 2 if quick else 3, Path(scratch)
        )
    row = report["helper_vs_fit"]
    print("\nc) model.fit con los callbacks de los cuadernos frente a model.fit a secas (paso 2)")
    print(
        f"   model.fit: {config.decimal(row['model_fit_s'])} s   con callbacks: {config.decimal(row['with_callbacks_s'])} s   "
        f"cociente {config.decimal(row['ratio'], 3)}"
    )

    args.salida.mkdir(parents=True, exist_ok=True)
    device_slug = re.sub(r"[^a-z0-9]+", "-", report["device"].lower()).strip("-")
    target = args.salida / f"{report['backend']}-{device_slug}{'-rapido' if quick else ''}.json"
    target.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    print(
        f"\nGuardado en {target.relative_to(Path.cwd()) if target.is_relative_to(Path.cwd()) else target.name}"
    )
    return report


if __name__ == "__main__":
    main()
