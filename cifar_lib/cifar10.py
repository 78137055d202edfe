"""Los hechos de CIFAR-10 que usan todos los lectores: clases, forma, la descarga oficial y los errores."""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator
from pathlib import Path

DATA_ENV = "CIFAR10_PATH"

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
OFFICIAL_FILENAME = "cifar-10-python.tar.gz"

#: Nombres de las clases en el orden de las etiquetas 0–9.
CLASS_NAMES_EN = ("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck")
CLASS_NAMES_ES = (
    "avión",
    "automóvil",
    "pájaro",
    "gato",
    "ciervo",
    "perro",
    "rana",
    "caballo",
    "barco",
    "camión",
)
NUM_CLASSES = len(CLASS_NAMES_EN)
IMAGE_SHAPE = (32, 32, 3)
#: Semilla fija de la división entrenamiento/validación: la misma para todos los pasos.
SPLIT_SEED = 20_240_601

HELP = (
    f"Descarga el archivo oficial {OFFICIAL_URL} (170 MB), guárdalo donde quieras y "
    f"define la variable de entorno {DATA_ENV} con su ruta (por ejemplo "
    f"`export {DATA_ENV}=~/datos/cifar-10-python.tar.gz`), o pasa la ruta a "
    "load_cifar10(source=...). También vale una carpeta de imágenes "
    "train/<clase>/ y test/<clase>/ o un .tar.gz con ella."
)


class DataError(RuntimeError):
    """Los datos no se encuentran, no se pueden descargar o están dañados."""


def file_members(path: Path) -> Iterator[tuple[str, Callable[[], bytes]]]:
    """Los archivos de una carpeta o de un ``.tar(.gz)``: su ruta relativa y cómo leer sus bytes.

    Del tar se leen sin extraerlos a disco. Un tar dañado o incompleto da :class:`DataError`.
    """
    if path.is_dir():
        for item in sorted(p for p in path.rglob("*") if p.is_file()):
            yield item.relative_to(path).as_posix(), item.read_bytes
        return
    try:
        with tarfile.open(path) as archive:
            for member in archive:
                if member.isfile():
                    yield member.name, lambda member=member: archive.extractfile(member).read()
    except (tarfile.TarError, EOFError, OSError, ValueError) as error:
        raise DataError(
            f"No se puede leer el archivo {path.name}: no es un .tar o .tar.gz válido, o está dañado o incompleto "
            f"({error}). Si es un .zip, descomprímelo y pasa la carpeta; si no, bórralo y vuelve a descargarlo o "
            f"copiarlo. {HELP}"
        ) from error
