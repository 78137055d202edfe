"""Carpetas de imágenes ``train/<clase>/*`` y ``test/<clase>/*`` (PNG o JPEG), o un ``.tar.gz`` con ellas."""

from __future__ import annotations

import io
from pathlib import Path, PurePosixPath

import numpy as np

from cifar_lib.cifar10 import CLASS_NAMES_EN, IMAGE_SHAPE, DataError, file_members

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg"}


def read_image_folder(path: Path):
    """Lee ``train/<clase>/*`` y ``test/<clase>/*`` de una carpeta o de un ``.tar.gz``."""
    files: dict[tuple[str, str], list[tuple[str, bytes]]] = {}
    for name, read in file_members(path):
        parts = PurePosixPath(name).parts
        if len(parts) >= 3 and parts[-3] in ("train", "test"):
            entry = files.setdefault((parts[-3], parts[-2]), [])
            if PurePosixPath(name).suffix.lower() in IMAGE_SUFFIXES:
                entry.append((name, read()))
    arrays = []
    for split in ("train", "test"):
        found = {label for s, label in files if s == split}
        unknown = sorted(found - set(CLASS_NAMES_EN))
        if unknown:
            raise DataError(
                f"{path.name}: la carpeta {split}/ tiene clases desconocidas: {', '.join(unknown)}. "
                f"Las carpetas de clase deben llamarse, en inglés: {', '.join(CLASS_NAMES_EN)}."
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
