"""CIFAR-10: encontrar los datos, leerlos con seguridad, dividirlos y escalarlos.

Fuentes que se aceptan (en este orden de preferencia):

1. La ruta que se pasa a :func:`load_cifar10` o, si no hay, la de la variable
   de entorno ``CIFAR10_PATH``. Puede ser:

   - el archivo oficial ``cifar-10-python.tar.gz`` o su carpeta extraída
     ``cifar-10-batches-py/``;
   - una carpeta de imágenes ``train/<clase>/*`` y ``test/<clase>/*`` (PNG o
     JPEG, nombres de clase en inglés), o un ``.tar.gz`` que la contenga.

2. Si no se indica ninguna, la descarga oficial, comprobada con su sha256.

Lo que hubo que decodificar se guarda en una caché ``.npz`` identificada por
el sha256 de la fuente, así que la segunda carga tarda segundos.

Los lotes oficiales son *pickles* de Python: se leen con un lector restringido
que solo reconstruye arrays de NumPy y rechaza cualquier otra cosa, de modo que
un archivo manipulado no puede ejecutar código.
"""

from __future__ import annotations

import hashlib
import io
import os
import pickle
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import numpy as np

from cifar_lib.config import VAL_FRACTION, check_fraction
from cifar_lib.config import cache_dir as default_cache_dir
from cifar_lib.files import atomic_writer

DATA_ENV = "CIFAR10_PATH"

OFFICIAL_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
OFFICIAL_SHA256 = "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce"
OFFICIAL_FILENAME = "cifar-10-python.tar.gz"

#: Nombres de las clases en el orden de las etiquetas 0–9.
CLASS_NAMES_EN = (
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
)
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

_OFFICIAL_TRAIN_BATCHES = tuple(f"data_batch_{i}" for i in range(1, 6))
_OFFICIAL_TEST_BATCH = "test_batch"
_IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}
_HELP = (
    f"Descarga el archivo oficial {OFFICIAL_URL} (163 MB), guárdalo donde quieras y "
    f"define la variable de entorno {DATA_ENV} con su ruta (por ejemplo "
    f"`export {DATA_ENV}=~/datos/cifar-10-python.tar.gz`), o pasa la ruta a "
    "load_cifar10(source=...). También vale una carpeta de imágenes "
    "train/<clase>/ y test/<clase>/ o un .tar.gz con ella."
)


class DataError(RuntimeError):
    """Los datos no se encuentran, no se pueden descargar o están dañados."""


@dataclass
class CifarData:
    """CIFAR-10 listo para entrenar.

    Las imágenes son ``float32`` en [0, 1] con forma ``(N, 32, 32, 3)``; las
    etiquetas, enteros 0–9 (``CLASS_NAMES_ES[y]`` da el nombre de la clase).
    """

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
    val_fraction: float = VAL_FRACTION,
    cache_dir: str | os.PathLike | None = None,
) -> CifarData:
    """Carga CIFAR-10, lo divide en entrenamiento/validación/test y lo escala a [0, 1].

    Parameters
    ----------
    source : ruta, optional
        Copia local (ver el módulo). Sin valor: ``CIFAR10_PATH`` y, si tampoco
        existe, la descarga oficial.
    train_samples, val_samples, test_samples : int, optional
        Usar solo las primeras N imágenes de cada parte (ya barajadas).
    val_fraction : float
        Parte del entrenamiento oficial que se reserva para validación
        (0,1 → 45.000 / 5.000), estratificada por clase.
    cache_dir : ruta, optional
        Carpeta de la caché ``.npz``; por defecto ``CIFAR_CACHE`` o
        ``~/.cache/cifar_lib``.

    Raises
    ------
    DataError
        Si no hay datos, no se pueden descargar o están dañados.
    """
    val_fraction = check_fraction("val_fraction", val_fraction)
    x_train, y_train, x_test, y_test, description, digest = read_raw(source, cache_dir)
    train_idx, val_idx = split_indices(y_train, val_fraction)
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


def scale(images: np.ndarray) -> np.ndarray:
    """Pasa imágenes ``uint8`` (0–255) a ``float32`` en [0, 1]."""
    return images.astype(np.float32) / np.float32(255)


def split_indices(labels: np.ndarray, val_fraction: float, seed: int = SPLIT_SEED):
    """Baraja con semilla fija y separa validación estratificada por clase.

    Devuelve ``(train_idx, val_idx)``, ambos en orden barajado. Con
    ``val_fraction=0.1`` sobre el CIFAR-10 oficial salen 45.000 y 5.000
    índices, 500 de cada clase en validación.
    """
    order = np.random.default_rng(seed).permutation(len(labels))
    is_val = np.zeros(len(labels), dtype=bool)
    for label in np.unique(labels):
        of_class = order[labels[order] == label]
        is_val[of_class[: round(len(of_class) * val_fraction)]] = True
    return order[~is_val[order]], order[is_val[order]]


def _take(indices: np.ndarray, count: int | None, parameter: str, part: str) -> np.ndarray:
    if count is None:
        return indices
    if count > len(indices):
        raise DataError(
            f"Se pidieron {count} imágenes de {part} ({parameter}), pero estos datos "
            f"solo tienen {len(indices)}. Usa {len(indices)} o menos."
        )
    return indices[:count]


# ------------------------------------------------------------- fuentes y caché


def read_raw(source=None, cache_dir=None):
    """Lee la fuente (o la caché) y devuelve los arrays ``uint8`` sin dividir.

    Devuelve ``(x_train, y_train, x_test, y_test, descripción, sha256)``. La
    descripción nombra el archivo, nunca su ruta absoluta.
    """
    cache = Path(cache_dir or default_cache_dir())
    path = _local_source(source)
    if path is None:
        path = download_official(cache)
        digest = OFFICIAL_SHA256  # download_official ya lo ha comprobado
    else:
        digest = fingerprint(path)
    cached = cache / f"cifar10-{digest[:20]}.npz"
    if cached.exists():
        try:
            with np.load(cached, allow_pickle=False) as arrays:
                x_train, y_train, x_test, y_test = (
                    arrays[k] for k in ("x_train", "y_train", "x_test", "y_test")
                )
                kind = str(arrays["kind"])
            validate_arrays(x_train, y_train, x_test, y_test, cached.name)
            return x_train, y_train, x_test, y_test, f"{path.name} ({_KIND_NAMES[kind]})", digest
        except (OSError, ValueError, KeyError, DataError):
            cached.unlink(missing_ok=True)  # caché dañada o antigua: se reconstruye
    # Solo al decodificar hace falta recorrer la fuente para saber qué formato tiene.
    kind = detect_kind(path)
    description = f"{path.name} ({_KIND_NAMES[kind]})"
    print(f"Decodificando {description}; la próxima vez se leerá de la caché…", flush=True)
    reader = _official_archive if kind.startswith("official") else _image_folder
    x_train, y_train, x_test, y_test = reader(path)
    validate_arrays(x_train, y_train, x_test, y_test, path.name)
    cache.mkdir(parents=True, exist_ok=True)
    with atomic_writer(cached) as handle:
        np.savez(handle, x_train=x_train, y_train=y_train, x_test=x_test, y_test=y_test, kind=np.array(kind))
    return x_train, y_train, x_test, y_test, description, digest


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
        origin = "el argumento source"
    if source is None:
        return None
    path = Path(source).expanduser()
    if not path.exists():
        raise DataError(f"No existe {path}, la copia de CIFAR-10 que indica {origin}. {_HELP}")
    return path


def detect_kind(path: Path) -> str:
    """Dice qué clase de copia de CIFAR-10 es ``path`` (ver ``_KIND_NAMES``)."""
    if path.is_dir():
        if _official_folder(path) is not None:
            return "official_folder"
        if _image_root(path) is not None:
            return "image_folder"
        raise DataError(
            f"La carpeta {path.name} no parece CIFAR-10: no tiene data_batch_1 … "
            f"test_batch ni subcarpetas train/ y test/. {_HELP}"
        )
    try:
        with tarfile.open(path) as archive:
            names = [PurePosixPath(m.name) for m in archive.getmembers()]
    except (tarfile.TarError, EOFError, OSError) as error:
        raise DataError(
            f"No se puede leer el archivo {path.name}: está dañado o incompleto "
            f"({error}). Bórralo y descárgalo de nuevo. {_HELP}"
        ) from error
    if any(n.name == "data_batch_1" for n in names):
        return "official_archive"
    if any("train" in n.parts[:-1] for n in names):
        return "image_archive"
    raise DataError(
        f"El archivo {path.name} no contiene CIFAR-10: ni data_batch_1 … test_batch "
        f"ni carpetas train/<clase>/. {_HELP}"
    )


def fingerprint(path: Path) -> str:
    """sha256 de un archivo; para una carpeta, de sus nombres, tamaños y fechas."""
    digest = hashlib.sha256()
    if path.is_file():
        with open(path, "rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
    else:
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
            raise DataError(f"{origin}: hay {len(x)} imágenes de {name} pero {y.shape} etiquetas.")
        if len(y) and (y.min() < 0 or y.max() >= NUM_CLASSES):
            raise DataError(
                f"{origin}: hay etiquetas de {name} fuera de 0–9 "
                f"(mínimo {y.min()}, máximo {y.max()}). Vuelve a obtener los datos."
            )


# ------------------------------------------------------------- formato oficial


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


def _official_folder(path: Path) -> Path | None:
    for candidate in (path, path / "cifar-10-batches-py"):
        if (candidate / "data_batch_1").is_file():
            return candidate
    return None


def _official_archive(path: Path):
    """Lee el oficial, ya sea ``.tar.gz`` o carpeta extraída."""
    wanted = (*_OFFICIAL_TRAIN_BATCHES, _OFFICIAL_TEST_BATCH)
    blobs: dict[str, bytes] = {}
    if path.is_dir():
        folder = _official_folder(path)
        for name in wanted:
            if (folder / name).is_file():
                blobs[name] = (folder / name).read_bytes()
    else:
        try:
            with tarfile.open(path) as archive:
                for member in archive.getmembers():
                    name = PurePosixPath(member.name).name
                    if member.isfile() and name in wanted:
                        blobs[name] = archive.extractfile(member).read()
        except (tarfile.TarError, EOFError, OSError, ValueError) as error:
            raise DataError(
                f"El archivo {path.name} está dañado o incompleto ({error}). "
                f"Bórralo y descárgalo de nuevo. {_HELP}"
            ) from error
    missing = [name for name in wanted if name not in blobs]
    if missing:
        raise DataError(
            f"A {path.name} le faltan los lotes {', '.join(missing)}. "
            f"Descarga de nuevo el archivo oficial completo."
        )
    train = [read_batch(blobs[n], f"{path.name}/{n}") for n in _OFFICIAL_TRAIN_BATCHES]
    x_test, y_test = read_batch(blobs[_OFFICIAL_TEST_BATCH], f"{path.name}/{_OFFICIAL_TEST_BATCH}")
    x_train = np.concatenate([x for x, _ in train])
    y_train = np.concatenate([y for _, y in train])
    return x_train, y_train, x_test, y_test


# ------------------------------------------------------------ carpetas de imágenes


def _image_root(path: Path) -> Path | None:
    for candidate in (path, *sorted(p for p in path.iterdir() if p.is_dir())):
        if (candidate / "train").is_dir() and (candidate / "test").is_dir():
            return candidate
    return None


def _image_folder(path: Path):
    """Lee ``train/<clase>/*`` y ``test/<clase>/*`` de una carpeta o de un ``.tar.gz``."""
    files: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    if path.is_dir():
        root = _image_root(path)
        for split in ("train", "test"):
            for folder in sorted(p for p in (root / split).iterdir() if p.is_dir()):
                files[(split, folder.name)] = [
                    (f"{split}/{folder.name}/{f.name}", f.read_bytes())
                    for f in sorted(folder.iterdir())
                    if f.is_file() and f.suffix.lower() in _IMAGE_SUFFIXES
                ]
    else:
        try:
            with tarfile.open(path) as archive:
                for member in archive:
                    parts = PurePosixPath(member.name).parts
                    if not member.isfile() or len(parts) < 3:
                        continue
                    split, label, filename = parts[-3:]
                    if split in ("train", "test"):
                        entry = files.setdefault((split, label), [])
                        if PurePosixPath(filename).suffix.lower() in _IMAGE_SUFFIXES:
                            entry.append((member.name, archive.extractfile(member).read()))
        except (tarfile.TarError, EOFError, OSError, ValueError) as error:
            raise DataError(
                f"El archivo {path.name} está dañado o incompleto ({error}). Vuelve a copiarlo o descargarlo."
            ) from error
    arrays = []
    for split in ("train", "test"):
        found = {label for s, label in files if s == split}
        unknown = sorted(found - set(CLASS_NAMES_EN))
        if unknown:
            raise DataError(
                f"{path.name}: la carpeta {split}/ tiene clases desconocidas {unknown}. "
                f"Las carpetas deben llamarse {', '.join(CLASS_NAMES_EN)}."
            )
        images, labels = [], []
        for label, name in enumerate(CLASS_NAMES_EN):
            members = sorted(files.get((split, name), []))
            if not members:
                raise DataError(
                    f"{path.name}: la carpeta {split}/{name}/ falta o no tiene imágenes. "
                    f"Cada clase necesita al menos una imagen PNG o JPEG."
                )
            images.extend(decode_image(data, f"{path.name}: {member}") for member, data in members)
            labels.extend([label] * len(members))
        arrays += [np.stack(images), np.asarray(labels, dtype=np.uint8)]
    return tuple(arrays)


def decode_image(data: bytes, origin: str) -> np.ndarray:
    """Decodifica un PNG o JPEG de 32×32 a un array RGB ``uint8``."""
    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as image:
            pixels = np.asarray(image.convert("RGB"))
    except (UnidentifiedImageError, OSError, ValueError) as error:
        raise DataError(f"{origin} no es una imagen legible ({error}). Bórrala o sustitúyela.") from error
    if pixels.shape != IMAGE_SHAPE:
        raise DataError(
            f"{origin} mide {pixels.shape[1]}×{pixels.shape[0]} píxeles; "
            f"CIFAR-10 usa 32×32. Sustitúyela por una de 32×32."
        )
    return pixels


# ------------------------------------------------------------------- descarga


def download_official(cache: Path, url: str | None = None) -> Path:
    """Descarga el archivo oficial a la caché y comprueba su sha256.

    La descarga se escribe en un ``.part`` que solo se renombra cuando el
    sha256 coincide; un corte o un archivo alterado no dejan nada que la
    siguiente ejecución pueda creer bueno.
    """
    target = cache / OFFICIAL_FILENAME
    if target.exists() and fingerprint(target) == OFFICIAL_SHA256:
        return target
    target.unlink(missing_ok=True)
    url = url or OFFICIAL_URL
    cache.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    print(f"Descargando CIFAR-10 desde {url} …", flush=True)
    digest = hashlib.sha256()
    try:
        with urllib.request.urlopen(url, timeout=30) as response, open(partial, "wb") as out:
            total = int(response.headers.get("Content-Length") or 0)
            done, shown = 0, -10
            for block in iter(lambda: response.read(1 << 20), b""):
                out.write(block)
                digest.update(block)
                done += len(block)
                if total and done * 100 // total >= shown + 10:
                    shown = done * 100 // total
                    print(f"  {shown:3d} % ({done / 1e6:.0f} de {total / 1e6:.0f} MB)", flush=True)
    except (OSError, ValueError) as error:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"No hay copia local de CIFAR-10 y no se pudo descargar ({error}). {_HELP}"
        ) from error
    if digest.hexdigest() != OFFICIAL_SHA256:
        partial.unlink(missing_ok=True)
        raise DataError(
            f"La descarga de {url} no coincide con el sha256 publicado "
            f"(se obtuvo {digest.hexdigest()[:16]}…): se ha borrado. Inténtalo de nuevo. {_HELP}"
        )
    os.replace(partial, target)
    return target


def load_for_run(config) -> CifarData:
    """:func:`load_cifar10` con la fuente y los tamaños de un :class:`~cifar_lib.config.RunConfig`."""
    return load_cifar10(
        config.data_path,
        train_samples=config.train_samples,
        val_samples=config.val_samples,
        test_samples=config.test_samples,
    )
