"""Carpetas de imágenes ``train/<clase>/*`` y ``test/<clase>/*`` (PNG o JPEG), o un ``.tar.gz`` con ellas."""

from __future__ import annotations

import io
import tarfile
from pathlib import Path, PurePosixPath

import numpy as np

from cifar_lib.cifar10 import CLASS_NAMES_EN, IMAGE_SHAPE, DataError

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def image_root(path: Path) -> Path | None:
    for candidate in (path, *sorted(p for p in path.iterdir() if p.is_dir())):
        if (candidate / "train").is_dir() and (candidate / "test").is_dir():
            return candidate
    return None


def read_image_folder(path: Path):
    """Lee ``train/<clase>/*`` y ``test/<clase>/*`` de una carpeta o de un ``.tar.gz``."""
    files: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    if path.is_dir():
        root = image_root(path)
        for split in ("train", "test"):
            for folder in sorted(p for p in (root / split).iterdir() if p.is_dir()):
                files[(split, folder.name)] = [
                    (f"{split}/{folder.name}/{f.name}", f.read_bytes())
                    for f in sorted(folder.iterdir())
                    if f.is_file() and f.suffix.lower() in IMAGE_SUFFIXES
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
                        if PurePosixPath(filename).suffix.lower() in IMAGE_SUFFIXES:
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
