"""Datos de prueba hechos aquí mismo, en los formatos reales de CIFAR-10.

Ningún test descarga nada ni necesita la copia compartida: cada formato que
lee ``cifar_lib.data`` se fabrica en pequeño (el archivo oficial de lotes
*pickle*, su carpeta extraída, carpetas de imágenes PNG/JPEG y su ``.tar.gz``).
Las imágenes tienen un color de fondo distinto por clase, así que una red
pequeña puede aprender algo de ellas.
"""

from __future__ import annotations

import io
import os
import pickle
import tarfile
from pathlib import Path

import numpy as np
import pytest

os.environ.setdefault("MPLBACKEND", "Agg")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from cifar_lib.data import CLASS_NAMES_EN  # noqa: E402

#: La copia real que indica CIFAR10_PATH al empezar (en CI, la compartida); los
#: tests que no la piden no la ven.
REAL_COPY = os.environ.get("CIFAR10_PATH")
REAL_JPEG_COPY = os.environ.get("CIFAR10_JPEG_PATH")

#: Imágenes por clase en los datos de prueba (suficientes para el perfil «prueba»).
TRAIN_PER_CLASS, TEST_PER_CLASS = 50, 20


def synthetic_images(per_class: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """Imágenes 32×32 ``uint8`` con un color por clase y ruido, ordenadas por clase."""
    rng = np.random.default_rng(seed)
    palette = rng.integers(30, 226, size=(10, 3))
    labels = np.repeat(np.arange(10, dtype=np.uint8), per_class)
    noise = rng.integers(-30, 31, size=(len(labels), 32, 32, 3))
    images = np.clip(palette[labels][:, None, None, :] + noise, 0, 255).astype(np.uint8)
    return images, labels


def official_batch(images: np.ndarray, labels: np.ndarray) -> bytes:
    """Un lote con el formato oficial: dict de bytes con ``data`` (N, 3072) y ``labels``."""
    rows = images.transpose(0, 3, 1, 2).reshape(len(images), -1)
    batch = {b"batch_label": b"prueba", b"labels": [int(v) for v in labels], b"data": rows}
    return pickle.dumps(batch, protocol=2)


def write_official_folder(folder: Path, train, test, batches: dict[str, bytes] | None = None) -> Path:
    """Escribe ``cifar-10-batches-py/`` con 5 lotes de entrenamiento y el de test."""
    folder.mkdir(parents=True, exist_ok=True)
    x_train, y_train = train
    for i, (x, y) in enumerate(zip(np.array_split(x_train, 5), np.array_split(y_train, 5)), start=1):
        (folder / f"data_batch_{i}").write_bytes(official_batch(x, y))
    (folder / "test_batch").write_bytes(official_batch(*test))
    for name, blob in (batches or {}).items():
        (folder / name).write_bytes(blob)
    return folder


def make_tar(source: Path, target: Path) -> Path:
    with tarfile.open(target, "w:gz") as archive:
        archive.add(source, arcname=source.name)
    return target


def write_image_folder(root: Path, train, test, formats=("png", "jpg")) -> Path:
    """``root/train/<clase>/NNNN.png`` y ``root/test/<clase>/NNNN.jpg``."""
    from PIL import Image

    for split, (images, labels), extension in (("train", train, formats[0]), ("test", test, formats[1])):
        for index, (image, label) in enumerate(zip(images, labels)):
            folder = root / split / CLASS_NAMES_EN[label]
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(image).save(folder / f"{index:04d}.{extension}", quality=95)
    return root


@pytest.fixture(scope="session")
def train_arrays():
    return synthetic_images(TRAIN_PER_CLASS, seed=1)


@pytest.fixture(scope="session")
def test_arrays():
    return synthetic_images(TEST_PER_CLASS, seed=2)


@pytest.fixture(scope="session")
def official_folder(tmp_path_factory, train_arrays, test_arrays) -> Path:
    """La carpeta oficial extraída, ``cifar-10-batches-py/``."""
    return write_official_folder(
        tmp_path_factory.mktemp("oficial") / "cifar-10-batches-py", train_arrays, test_arrays
    )


@pytest.fixture(scope="session")
def official_archive(tmp_path_factory, official_folder) -> Path:
    """El archivo oficial ``cifar-10-python.tar.gz``."""
    return make_tar(official_folder, tmp_path_factory.mktemp("oficial_tar") / "cifar-10-python.tar.gz")


@pytest.fixture(scope="session")
def image_folder(tmp_path_factory, train_arrays, test_arrays) -> Path:
    """Una carpeta de imágenes: PNG en train/, JPEG en test/."""
    return write_image_folder(
        tmp_path_factory.mktemp("imagenes") / "cifar10-prueba", train_arrays, test_arrays
    )


@pytest.fixture(scope="session")
def image_archive(tmp_path_factory, image_folder) -> Path:
    """La carpeta de imágenes empaquetada como ``.tar.gz`` (como la copia compartida)."""
    return make_tar(image_folder, tmp_path_factory.mktemp("imagenes_tar") / "cifar10-prueba.tar.gz")


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path, monkeypatch):
    """Cada test con su caché y su carpeta de salidas, y sin la copia real salvo que la pida."""
    monkeypatch.setenv("CIFAR_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("CIFAR_OUTPUT_DIR", str(tmp_path / "salidas"))
    monkeypatch.delenv("CIFAR_PROFILE", raising=False)
    monkeypatch.delenv("CIFAR10_PATH", raising=False)


@pytest.fixture
def real_copy() -> Path:
    """La copia real de CIFAR-10 de ``CIFAR10_PATH``; el test se salta si no hay."""
    if not REAL_COPY:
        pytest.skip("CIFAR10_PATH no indica una copia real de CIFAR-10")
    return Path(REAL_COPY)


@pytest.fixture
def real_jpeg_copy() -> Path:
    """La copia JPEG real (carpetas de imágenes) de ``CIFAR10_JPEG_PATH``; el test se salta si no hay."""
    if not REAL_JPEG_COPY:
        pytest.skip("CIFAR10_JPEG_PATH no indica la copia JPEG de CIFAR-10")
    return Path(REAL_JPEG_COPY)


def tar_with(members: dict[str, bytes], target: Path, links: dict[str, str] | None = None) -> Path:
    """Un ``.tar.gz`` con los miembros dados (nombre → contenido) y enlaces simbólicos."""
    with tarfile.open(target, "w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
        for name, target_name in (links or {}).items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target_name
            archive.addfile(info)
    return target


def result_record(run, step, accuracy, **extra):
    """Un resultado del curso como los de results/, con lo mínimo que load_runs exige."""
    record = {
        "run": run, "step": step, "title": "t", "profile": "completo", "label": "completo", "seed": 42,
        "params": 98_993, "epochs_run": 20, "train_samples": 45_000,
        "test_accuracy": accuracy, "train_seconds": 75.4, "backend": "tensorflow", "device": "CPU",
        "data_source": "cifar10-jpeg.tar.gz", "data_sha256": "0" * 64, "created": "2026-01-01T00:00:00+00:00",
    }  # fmt: skip
    record.update(extra)
    return record
