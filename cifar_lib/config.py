"""Perfiles de ejecución y validación de los parámetros de cada cuaderno.

La celda ``parameters`` de cada cuaderno pasa sus valores a :func:`resolve_run`,
que los comprueba (un valor inválido se detiene aquí, con un mensaje en
español), completa los que faltan con los del perfil y devuelve un
:class:`RunConfig`. Variables de entorno: ``CIFAR_PROFILE`` (perfil por
defecto), ``CIFAR10_PATH`` (copia local de los datos), ``CIFAR_OUTPUT_DIR``
(otra carpeta para resultados, figuras y modelos: ver
:func:`default_output_dir`) y ``CIFAR_CACHE`` (la caché del usuario, por
defecto ``~/.cache/cifar_lib``: datos decodificados, descarga y puntos de control).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

PROFILE_ENV = "CIFAR_PROFILE"
OUTPUT_ENV = "CIFAR_OUTPUT_DIR"
CACHE_ENV = "CIFAR_CACHE"

#: Tamaños del CIFAR-10 oficial tras la división 45.000 / 5.000.
FULL_TRAIN, FULL_VAL, FULL_TEST = 45_000, 5_000, 10_000


class ConfigError(ValueError):
    """Un parámetro del curso tiene un valor no válido (mensaje en español)."""


@dataclass(frozen=True)
class ReportRun:
    """Un entrenamiento del informe: paso, hiperparámetros y precisión publicada (``None`` si no da
    ninguna; ``report_wording``, cómo la da cuando no es una cifra exacta)."""

    run: str
    step: int
    title: str
    epochs: int
    batch_size: int
    report_accuracy: float | None
    report_wording: str | None = None

    @property
    def report_text(self) -> str:
        """Lo que dice el informe, listo para una tabla: ``48,17 %``, ``casi un 73 %``, ``—``."""
        if self.report_wording:
            return self.report_wording
        return "—" if self.report_accuracy is None else percent(self.report_accuracy)


#: Los pasos del informe; los cuadernos 07 y 08 (pasos 7 y 8) van más allá.
REPORT_STEPS = range(1, 7)

#: Las ejecuciones del informe original, en orden (son los hechos que el curso
#: reproduce: épocas, tamaño de lote y precisión en test publicada), y las de los
#: cuadernos 07 y 08, que van más allá del informe y no tienen cifra de referencia.
REPORT_RUNS: dict[str, ReportRun] = {
    r.run: r
    for r in [
        ReportRun("01", 1, "Modelo básico", 20, 512, 0.4817),
        ReportRun("02", 2, "Tres convoluciones y max pooling", 20, 512, 0.6647),
        ReportRun("03", 3, "Más filtros y dropout", 20, 512, 0.73, "casi un 73 %"),
        ReportRun("04", 4, "Batch normalization", 20, 512, None, "sin cifra: no mejora al paso 3"),
        ReportRun("05", 5, "Red profunda (estilo VGG)", 20, 512, 0.8255),
        ReportRun("06_20_epocas", 6, "Aumento de datos, 20 épocas", 20, 32, 0.8473),
        ReportRun("06_final", 6, "Aumento de datos, 100 épocas", 100, 32, 0.9012),
        # Más allá del informe: la misma red con una receta de entrenamiento moderna.
        ReportRun("07", 7, "Receta moderna (más allá del informe)", 30, 512, None),
        # Y una red pensada para entrenar deprisa, con las ideas de airbench94.
        ReportRun("08", 8, "Red rápida (más allá del informe)", 10, 1024, None),
    ]
}


@dataclass(frozen=True)
class Profile:
    """Tamaño de una ejecución. ``None`` significa «lo del informe original»."""

    name: str
    description: str
    epochs: int | None = None
    train_samples: int | None = None
    val_samples: int | None = None
    test_samples: int | None = None


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in [
        Profile("completo", "los hiperparámetros del informe: 45.000 imágenes y las épocas de cada paso"),
        Profile("rapido", "para un portátil o CI: 2.000 imágenes y 2 épocas", 2, 2_000, 500, 1_000),
        Profile("prueba", "para los tests automáticos: 400 imágenes y 1 época", 1, 400, 50, 200),
    ]
}
DEFAULT_PROFILE = "completo"
DEFAULT_SEED = 42
#: Épocas sin mejora en la pérdida de validación antes de parar (el informe no lo dice).
DEFAULT_PATIENCE = 10


@dataclass(frozen=True)
class RunConfig:
    """Todos los valores de una ejecución, ya validados."""

    run: str
    step: int
    profile: str
    epochs: int
    batch_size: int
    train_samples: int | None
    val_samples: int | None
    test_samples: int | None
    seed: int
    patience: int
    data_path: str | None
    overrides: tuple[tuple[str, object], ...] = ()
    #: Lo que se cambió en el código del cuaderno (la red, el optimizador, la pérdida): lo
    #: anota :func:`cifar_lib.training.checkpoint_for` al ver el modelo, antes de entrenar.
    code_changes: list[str] = field(default_factory=list, compare=False)

    @property
    def profile_text(self) -> str:
        """``completo``, o ``personalizado (completo con EPOCHS=5)`` si algún ajuste difiere."""
        if self.label == self.profile:
            return self.profile
        changed = ", ".join([f"{name}={value}" for name, value in self.overrides] + self.code_changes)
        return f"personalizado ({self.profile} con {changed})"

    @property
    def label(self) -> str:
        """El perfil, o ``personalizado`` si algún ajuste o el código difieren (p. ej. menos épocas)."""
        return "personalizado" if self.overrides or self.code_changes else self.profile

    @property
    def output_dir(self) -> Path:
        """Dónde van figuras, modelos y resultados: :func:`default_output_dir` de la etiqueta (o de
        ``semilla<N>`` si es una ejecución completa con otra semilla)."""
        if self.label == "completo" and self.seed != DEFAULT_SEED:
            return default_output_dir(f"semilla{self.seed}")
        return default_output_dir(self.label)

    @property
    def results_dir(self) -> Path:
        """``results/`` de la ejecución. Una completa con otra semilla deja ahí su registro
        (``01_semilla7.json``), y sus figuras y su modelo en ``salidas/semilla<N>/``."""
        return default_output_dir(self.label) / "results"

    @property
    def figures_dir(self) -> Path:
        return self.output_dir / "figures"

    @property
    def models_dir(self) -> Path:
        return self.output_dir / "models"

    @property
    def checkpoint_dir(self) -> Path:
        seed = "" if self.seed == DEFAULT_SEED else f"_semilla{self.seed}"  # cada semilla, su entrenamiento
        return cache_dir() / "puntos_de_control" / f"{self.run}_{self.label}{seed}"

    def describe(self) -> str:
        """Una línea legible con lo esencial de la ejecución."""
        sizes = "todas" if self.train_samples is None else thousands(self.train_samples)
        return (
            f"Ejecución {self.run} (paso {self.step}): perfil {self.profile_text}, "
            f"{plural(self.epochs, 'época')}, lote {self.batch_size}, "
            f"imágenes de entrenamiento: {sizes}, semilla {self.seed}"
        )


def plural(count: int, word: str) -> str:
    """``plural(1, "época")`` → ``1 época``; ``plural(20, "época")`` → ``20 épocas``."""
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


def enumeration(items) -> str:
    """``[14]`` → ``14``; ``[14, 35, 57]`` → ``14, 35 y 57``."""
    *first, last = [str(item) for item in items]
    return f"{', '.join(first)} y {last}" if first else last


def thousands(number: int) -> str:
    """``3253834`` → ``3.253.834`` (separador de miles en español)."""
    return decimal(number, 0)


def decimal(number: float, decimals: int = 2) -> str:
    """``1234.5`` → ``1.234,50``: coma decimal y punto de miles, como se escribe en español."""
    text = f"{number:,.{decimals}f}"
    return text.replace(",", "\0").replace(".", ",").replace("\0", ".")


def percent(fraction: float, decimals: int = 2) -> str:
    """``0.4805`` → ``48,05 %``."""
    return f"{decimal(100 * fraction, decimals)} %"


def project_root() -> Path:
    """La carpeta del proyecto (la que contiene ``pyproject.toml``)."""
    here = Path(__file__).resolve().parent.parent
    return here if (here / "pyproject.toml").exists() else Path.cwd()


def default_output_dir(label: str) -> Path:
    """Dónde escribe una ejecución resultados, figuras, modelos (y el ejecutor, cuadernos).

    La única regla: las carpetas del proyecto guardan solo ejecuciones del perfil
    ``completo`` con sus propios ajustes; cualquier otra (``rapido``,
    ``personalizado``, ``semilla7``…) va a ``salidas/<etiqueta>/``, salvo el
    registro de otra semilla (:attr:`RunConfig.results_dir`). ``CIFAR_OUTPUT_DIR`` manda sobre todo.
    """
    chosen = os.environ.get(OUTPUT_ENV)
    if chosen:
        return Path(chosen)
    return project_root() if label == "completo" else project_root() / "salidas" / label


def cache_dir() -> Path:
    """La caché del usuario (``CIFAR_CACHE`` o ``~/.cache/cifar_lib``)."""
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "cifar_lib")


def check_choice(what: str, value, valid) -> object:
    """Devuelve ``value`` si está en ``valid``; si no, un :class:`ConfigError` que lista los válidos."""
    if isinstance(value, bool) or not isinstance(value, str | int) or value not in valid:
        raise ConfigError(f"{what}: {value!r}. Los valores válidos son: {', '.join(map(str, valid))}.")
    return value


def check_profile(name: str | None) -> str:
    """El perfil elegido: el argumento, si no ``CIFAR_PROFILE``, si no ``completo``."""
    chosen = os.environ.get(PROFILE_ENV) or DEFAULT_PROFILE if name is None else name
    return check_choice("Perfil desconocido", chosen, PROFILES)


def check_run(run: str) -> ReportRun:
    return REPORT_RUNS[check_choice("Ejecución desconocida", run, REPORT_RUNS)]


def check_step(step: object) -> int:
    return check_choice("Paso desconocido", step, sorted({r.step for r in REPORT_RUNS.values()}))


def check_positive_int(name: str, value: object, maximum: int | None = None) -> int:
    """Comprueba que ``value`` es un entero ≥ 1 (y ≤ ``maximum`` si se indica)."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(
            f"El parámetro {name} debe ser un número entero, pero vale {value!r} ({type(value).__name__})."
        )
    if value < 1:
        raise ConfigError(f"El parámetro {name} debe ser 1 o mayor, pero vale {value}.")
    if maximum is not None and value > maximum:
        raise ConfigError(
            f"El parámetro {name} pide {thousands(value)} imágenes, pero esa parte de CIFAR-10 solo tiene "
            f"{thousands(maximum)}: usa {maximum} o menos."
        )
    return value


def check_fraction(name: str, value: object) -> float:
    """Comprueba que ``value`` es un número en el intervalo (0, 1]."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"El parámetro {name} debe ser un número, pero vale {value!r}.")
    if not 0 < value <= 1:
        raise ConfigError(f"El parámetro {name} debe estar en el intervalo (0, 1], pero vale {value}.")
    return float(value)


def resolve_run(
    run: str,
    profile: str | None = None,
    epochs: int | None = None,
    batch_size: int | None = None,
    train_samples: int | None = None,
    val_samples: int | None = None,
    test_samples: int | None = None,
    seed: int = DEFAULT_SEED,
    patience: int = DEFAULT_PATIENCE,
    data_path: str | None = None,
) -> RunConfig:
    """Valida los parámetros de un cuaderno y devuelve la configuración completa (no toca Keras).

    ``run`` es una ejecución de :data:`REPORT_RUNS`; ``profile``, uno de
    :data:`PROFILES` (sin valor: ``CIFAR_PROFILE`` o ``completo``). Lo que no se
    indica (``None``) toma el valor del perfil y, si el perfil no lo fija, el
    del informe. Un valor que difiere del perfil queda en ``overrides``: la
    ejecución pasa a ser «personalizado». Lanza :class:`ConfigError`, con los
    valores válidos, si alguno no lo es.
    """
    report_run = check_run(run)
    chosen = PROFILES[check_profile(profile)]
    profile_values = {
        "EPOCHS": chosen.epochs or report_run.epochs,
        "BATCH_SIZE": report_run.batch_size,
        "TRAIN_SAMPLES": chosen.train_samples,
        "VAL_SAMPLES": chosen.val_samples,
        "TEST_SAMPLES": chosen.test_samples,
        "PATIENCE": DEFAULT_PATIENCE,
    }
    requested = {
        "EPOCHS": epochs,
        "BATCH_SIZE": batch_size,
        "TRAIN_SAMPLES": train_samples,
        "VAL_SAMPLES": val_samples,
        "TEST_SAMPLES": test_samples,
        "PATIENCE": patience,
    }
    values = {k: profile_values[k] if v is None else v for k, v in requested.items()}
    most = {"TRAIN_SAMPLES": FULL_TRAIN, "VAL_SAMPLES": FULL_VAL, "TEST_SAMPLES": FULL_TEST}
    for name, value in values.items():
        if value is not None:
            check_positive_int(name, value, most.get(name))
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError(f"El parámetro SEED debe ser un entero ≥ 0, pero vale {seed!r}.")
    if data_path is not None and not isinstance(data_path, str | os.PathLike):
        raise ConfigError(f"El parámetro DATA_PATH debe ser una ruta o None, pero vale {data_path!r}.")
    return RunConfig(
        run=run,
        step=report_run.step,
        profile=chosen.name,
        epochs=values["EPOCHS"],
        batch_size=values["BATCH_SIZE"],
        train_samples=values["TRAIN_SAMPLES"],
        val_samples=values["VAL_SAMPLES"],
        test_samples=values["TEST_SAMPLES"],
        seed=seed,
        patience=values["PATIENCE"],
        data_path=None if data_path is None else str(data_path),
        overrides=tuple((k, v) for k, v in values.items() if v != profile_values[k]),
    )
