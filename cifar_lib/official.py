"""El formato oficial de CIFAR-10 (lotes *pickle* de Python) y su descarga.

Los lotes oficiales son *pickles*: se leen con un lector restringido que solo
reconstruye arrays de NumPy y rechaza cualquier otra cosa, de modo que un
archivo manipulado no puede ejecutar código. La descarga se comprueba con el
sha256 publicado antes de usarse.
"""

from __future__ import annotations

import hashlib
import io
import pickle
from pathlib import Path, PurePosixPath

import numpy as np

from cifar_lib.cifar10 import HELP, OFFICIAL_FILENAME, OFFICIAL_SHA256, OFFICIAL_URL, DataError, file_members

TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
TEST_BATCH = "test_batch"


class _BatchUnpickler(pickle.Unpickler):
    """Reconstruye solo arrays de NumPy; cualquier otro objeto se rechaza."""

    ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"),
        ("numpy", "dtype"),
        ("_codecs", "encode"),
    }

    def find_class(self, module, name):
        if (module, name) in self.ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"objeto no permitido {module}.{name}")


def read_batch(data: bytes, origin: str) -> tuple[np.ndarray, np.ndarray]:
    """Lee un lote oficial (``data_batch_N`` o ``test_batch``) sin ejecutar código."""
    try:
        batch = _BatchUnpickler(io.BytesIO(data), encoding="bytes").load()
    except Exception as error:  # cualquier fallo del formato es un archivo dañado
        raise DataError(
            f"{origin} no es un lote válido de CIFAR-10 ({error}). Descarga de nuevo el archivo oficial."
        ) from error
    if not isinstance(batch, dict):
        raise DataError(f"{origin} no es un lote válido de CIFAR-10 (no es un diccionario).")
    batch = {k.decode() if isinstance(k, bytes) else k: v for k, v in batch.items()}
    if "data" not in batch or "labels" not in batch:
        raise DataError(f"{origin} no tiene las claves 'data' y 'labels' de un lote de CIFAR-10.")
    pixels = np.asarray(batch["data"])
    labels = np.asarray(batch["labels"], dtype=np.int64)
    if pixels.dtype != np.uint8 or pixels.ndim != 2 or pixels.shape[1] != 3072:
        raise DataError(
            f"{origin}: 'data' tiene forma {pixels.shape} y tipo {pixels.dtype}; se esperaba (N, 3072) uint8."
        )
    images = pixels.reshape(-1, 3, 32, 32).transpose(0, 2, 3, 1)
    return np.ascontiguousarray(images), labels.astype(np.uint8)


def read_official(path: Path):
    """Lee el archivo oficial, ya sea ``.tar.gz`` o carpeta extraída."""
    wanted = (*TRAIN_BATCHES, TEST_BATCH)
    blobs = {}
    for name, read in file_members(path):
        if PurePosixPath(name).name in wanted:
            blobs[PurePosixPath(name).name] = read()
    missing = [name for name in wanted if name not in blobs]
    if missing:
        raise DataError(
            f"A {path.name} le {'falta el lote' if len(missing) == 1 else 'faltan los lotes'} {', '.join(missing)}. "
            f"Descarga de nuevo el archivo oficial completo."
        )
    train = [read_batch(blobs[n], f"{path.name}/{n}") for n in TRAIN_BATCHES]
    x_test, y_test = read_batch(blobs[TEST_BATCH], f"{path.name}/{TEST_BATCH}")
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return x_train, y_train, x_test, y_test


def download_official(cache: Path, url: str | None = None) -> Path:
    """Descarga el archivo oficial a la caché con ``keras.utils.get_file``, comprobado con su sha256.

    ``get_file`` reutiliza un archivo ya descargado si su sha256 coincide, muestra
    el progreso y vuelve a descargar uno a medias; aquí solo se traducen sus errores.
    """
    import keras

    url = url or OFFICIAL_URL
    target = cache / OFFICIAL_FILENAME
    cache.mkdir(parents=True, exist_ok=True)
    try:
        path = keras.utils.get_file(
            OFFICIAL_FILENAME,
            origin=url,
            file_hash=OFFICIAL_SHA256,
            hash_algorithm="sha256",
            cache_dir=str(cache),
            cache_subdir="",
        )
    except ValueError as error:  # el sha256 no coincide
        target.unlink(missing_ok=True)
        raise DataError(
            f"La descarga de {url} no coincide con el sha256 publicado: se ha borrado. Inténtalo de nuevo. {HELP}"
        ) from error
    except Exception as error:  # get_file lanza Exception para los errores de red
        target.unlink(missing_ok=True)
        raise DataError(f"No hay copia local de CIFAR-10 y no se pudo descargar ({error}). {HELP}") from error
    return Path(path)


def file_sha256(path: Path) -> str:
    """sha256 de un archivo, leído por bloques."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
