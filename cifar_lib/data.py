"""CIFAR-10: encontrar los datos, leerlos con seguridad, dividirlos y escalarlos.

La fuente es la ruta que se pasa a :func:`load_cifar10` o la de ``CIFAR10_PATH``:
el archivo oficial ``cifar-10-python.tar.gz`` o su carpeta extraída (lo lee
:mod:`cifar_lib.official`), o carpetas de imágenes ``train/<clase>/*`` y
``test/<clase>/*``, sueltas o en un ``.tar.gz`` (:mod:`cifar_lib.image_folders`).
Sin ninguna, la descarga oficial, comprobada con su sha256. Lo decodificado se
guarda en una caché ``.npz`` con el sha256 de la fuente: la segunda carga tarda segundos.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from cifar_lib.cifar10 import (  # noqa: F401 (se reexportan: data es la puerta de entrada)
    CLASS_NAMES_EN,
    CLASS_NAMES_ES,
    DATA_ENV,
    HELP,
    IMAGE_SHAPE,
    NUM_CLASSES,
    OFFICIAL_SHA256,
    SPLIT_SEED,
    DataError,
    file_members,
)
from cifar_lib.config import cache_dir as default_cache_dir
from cifar_lib.config import thousands
from cifar_lib.files import replace_atomically
from cifar_lib.image_folders import read_image_folder
from cifar_lib.official import download_official, file_sha256, read_official


@dataclass
class CifarData:
    """CIFAR-10 listo para entrenar: imágenes ``float32`` en [0, 1], forma ``(N, 32, 32, 3)``, y
    etiquetas enteras 0–9 (``CLASS_NAMES_ES[y]`` da el nombre de la clase)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    sha256: str

    def describe(self) -> str:
        """Formas y número de clases de cada parte, en una tabla de texto."""
        lines = [f"Datos: {self.source}"]
        for part in ("train", "val", "test"):
            x, y = getattr(self, f"x_{part}"), getattr(self, f"y_{part}")
            name = {"train": "entrenamiento", "val": "validación", "test": "test"}[part]
            lines.append(
                f"  {name:<13} x {str(x.shape):<20} y {str(y.shape):<10} "
                f"clases presentes: {len(np.unique(y))}"
            )
        return "\n".join(lines)


# --------------------------------------------------------------------------- carga


def load_cifar10(
    source: str | os.PathLike | None = None,
    *,
    train_samples: int | None = None,
    val_samples: int | None = None,
    test_samples: int | None = None,
    cache_dir: str | os.PathLike | None = None,
) -> CifarData:
    """Carga CIFAR-10, separa 5.000 imágenes de validación y escala los píxeles a [0, 1].

    ``source`` es una copia local (ver el módulo); sin ella, ``CIFAR10_PATH`` y,
    si tampoco hay, la descarga oficial. ``train_samples`` (y los otros dos)
    toman solo las N primeras imágenes de cada parte, ya barajadas. La caché
    ``.npz`` va a ``cache_dir`` (por defecto, ``CIFAR_CACHE`` o
    ``~/.cache/cifar_lib``). Lanza :class:`DataError` si no hay datos, no se
    pueden descargar o están dañados.
    """
    x_train, y_train, x_test, y_test, description, digest = read_raw(source, cache_dir)
    train_idx, val_idx = split_indices(y_train)
    rng = np.random.default_rng(SPLIT_SEED + 1)
    test_idx = np.arange(len(y_test)) if test_samples is None else rng.permutation(len(y_test))
    train_idx = _take(train_idx, train_samples, "TRAIN_SAMPLES", "entrenamiento")
    val_idx = _take(val_idx, val_samples, "VAL_SAMPLES", "validación")
    test_idx = _take(test_idx, test_samples, "TEST_SAMPLES", "test")
    return CifarData(
        x_train=scale(x_train[train_idx]),
        y_train=y_train[train_idx],
        x_val=scale(x_train[val_idx]),
        y_val=y_train[val_idx],
        x_test=scale(x_test[test_idx]),
        y_test=y_test[test_idx],
        source=description,
        sha256=digest,
    )


def first_index_of(labels: np.ndarray, classes) -> np.ndarray:
    """Índice de la primera imagen de cada clase de ``classes``, en ese orden (para figuras variadas)."""
    labels = np.asarray(labels)
    return np.array([int(np.flatnonzero(labels == label)[0]) for label in classes])


def scale(images: np.ndarray) -> np.ndarray:
    """Pasa imágenes ``uint8`` (0–255) a ``float32`` en [0, 1]."""
    return images.astype(np.float32) / np.float32(255)


def split_indices(labels: np.ndarray, val_fraction: float = 0.1, seed: int = SPLIT_SEED):
    """Índices de entrenamiento y de validación (estratificada por clase, semilla fija), barajados.

    En el CIFAR-10 oficial, 45.000 y 5.000 (500 por clase). Barajar cada parte
    hace que sus N primeras imágenes (perfiles cortos, figuras) mezclen las clases.
    """
    rng = np.random.default_rng(seed)
    order = rng.permutation(len(labels))
    is_val = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        of_class = order[labels[order] == label]
        is_val[of_class[: round(len(of_class) * val_fraction)]] = True
    return rng.permutation(np.flatnonzero(~is_val)), rng.permutation(np.flatnonzero(is_val))


def _take(indices: np.ndarray, count: int | None, parameter: str, part: str) -> np.ndarray:
    if count is None:
        return indices
    if count > len(indices):
        raise DataError(
            f"Se pidieron {thousands(count)} imágenes de {part} ({parameter}), pero estos datos "
            f"solo tienen {thousands(len(indices))}. Usa {len(indices)} o menos."
        )
    return indices[:count]


# ------------------------------------------------------------- fuentes y caché


def read_raw(source=None, cache_dir=None):
    """``(x_train, y_train, x_test, y_test, descripción, sha256)`` de la fuente (o de la caché), sin
    dividir, en ``uint8``. La descripción nombra el archivo, nunca su ruta absoluta."""
    cache = Path(cache_dir or default_cache_dir())
    path = _local_source(source)
    if path is None:
        path = download_official(cache)
        digest = OFFICIAL_SHA256  # download_official ya lo ha comprobado
    else:
        digest = fingerprint(path)
    cached = cache / f"cifar10-{digest[:20]}.npz"
    names = ("x_train", "y_train", "x_test", "y_test")
    if cached.exists():
        try:
            with np.load(cached, allow_pickle=False) as saved:
                arrays, kind = [saved[name] for name in names], str(saved["kind"])
            validate_arrays(*arrays, cached.name)
            return (*arrays, f"{path.name} ({_KIND_NAMES[kind]})", digest)
        except (OSError, ValueError, KeyError, DataError):
            cached.unlink(missing_ok=True)  # caché dañada o antigua: se reconstruye
    # Solo al decodificar hace falta recorrer la fuente para saber qué formato tiene.
    kind = detect_kind(path)
    description = f"{path.name} ({_KIND_NAMES[kind]})"
    print(f"Decodificando {description}; la próxima vez se leerá de la caché…", flush=True)
    arrays = (read_official if kind.startswith("official") else read_image_folder)(path)
    validate_arrays(*arrays, path.name)
    replace_atomically(cached, lambda temporary: np.savez(temporary, **dict(zip(names, arrays)), kind=kind))
    return (*arrays, description, digest)


_KIND_NAMES = {
    "official_archive": "archivo oficial de CIFAR-10",
    "official_folder": "carpeta oficial cifar-10-batches-py",
    "image_archive": "archivo de carpetas de imágenes",
    "image_folder": "carpeta de imágenes",
}


def _local_source(source) -> Path | None:
    if source is None:
        source = os.environ.get(DATA_ENV) or None
        origin = f"la variable {DATA_ENV}"
    else:
        origin = "el argumento source (DATA_PATH en los cuadernos)"
    if source is None:
        return None
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"No existe {path}, la copia de CIFAR-10 que indica {origin}. {HELP}")
    return path


def detect_kind(path: Path) -> str:
    """Dice qué clase de copia de CIFAR-10 es ``path`` (ver ``_KIND_NAMES``)."""
    names = [PurePosixPath(name) for name, _ in file_members(path)]
    where = "folder" if path.is_dir() else "archive"
    if any(n.name == "data_batch_1" for n in names):
        return f"official_{where}"
    if any(len(n.parts) >= 3 and n.parts[-3] in ("train", "test") for n in names):
        return f"image_{where}"
    raise DataError(
        f"{path.name} no contiene CIFAR-10: ni data_batch_1 … test_batch ni carpetas "
        f"train/<clase>/ y test/<clase>/. {HELP}"
    )


def fingerprint(path: Path) -> str:
    """sha256 de un archivo; para una carpeta, de sus nombres, tamaños y fechas."""
    if path.is_file():
        return file_sha256(path)
    digest = hashlib.sha256()
    for item in sorted(p for p in path.rglob("*") if p.is_file()):
        info = item.stat()
        digest.update(f"{item.relative_to(path)}|{info.st_size}|{info.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def validate_arrays(x_train, y_train, x_test, y_test, origin: str) -> None:
    """Comprueba formas, tipos y etiquetas; lanza :class:`DataError` si algo no cuadra."""
    for name, x, y in (("entrenamiento", x_train, y_train), ("test", x_test, y_test)):
        if x.dtype != np.uint8 or x.ndim != 4 or x.shape[1:] != IMAGE_SHAPE:
            raise DataError(
                f"{origin}: las imágenes de {name} tienen forma {x.shape} y tipo {x.dtype}; "
                f"se esperaba (N, 32, 32, 3) uint8. Vuelve a obtener los datos."
            )
        if y.shape != (len(x),):
            raise DataError(
                f"{origin}: las etiquetas de {name} tienen forma {y.shape}; se esperaba ({len(x)},), una por "
                "imagen. Vuelve a obtener los datos."
            )
        if len(y) and (y.min() < 0 or y.max() >= NUM_CLASSES):
            raise DataError(
                f"{origin}: hay etiquetas de {name} fuera de 0–9 "
                f"(mínimo {y.min()}, máximo {y.max()}). Vuelve a obtener los datos."
            )


def load_for_run(config) -> CifarData:
    """:func:`load_cifar10` con la fuente y los tamaños de un :class:`~cifar_lib.config.RunConfig`."""
    return load_cifar10(
        config.data_path,
        train_samples=config.train_samples,
        val_samples=config.val_samples,
        test_samples=config.test_samples,
    )
