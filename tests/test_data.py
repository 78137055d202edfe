"""Leer CIFAR-10 de cualquiera de sus formatos, dividirlo y escalarlo; y fallar con claridad."""

import pickle
import shutil
import tarfile
from pathlib import Path

import numpy as np
import pytest

from cifar_lib import data, files, official
from cifar_lib.data import CLASS_NAMES_ES, DataError, load_cifar10
from tests.conftest import make_tar, official_batch, tar_with, write_image_folder, write_official_folder


def test_spanish_and_english_class_names_follow_the_label_order():
    assert CLASS_NAMES_ES == (
        "avión", "automóvil", "pájaro", "gato", "ciervo", "perro", "rana", "caballo", "barco", "camión",
    )  # fmt: skip
    assert data.CLASS_NAMES_EN[3] == "cat" and data.CLASS_NAMES_EN[9] == "truck"


@pytest.mark.parametrize("source", ["official_archive", "official_folder", "image_folder", "image_archive"])
def test_every_format_gives_the_same_split_scaled_arrays(source, request):
    cifar = load_cifar10(request.getfixturevalue(source))
    assert cifar.x_train.shape == (450, 32, 32, 3)
    assert cifar.x_val.shape == (50, 32, 32, 3)
    assert cifar.x_test.shape == (200, 32, 32, 3)
    for x, y in ((cifar.x_train, cifar.y_train), (cifar.x_val, cifar.y_val), (cifar.x_test, cifar.y_test)):
        assert x.dtype == np.float32 and 0.0 <= x.min() and x.max() <= 1.0
        assert y.dtype.kind in "iu" and set(np.unique(y)) == set(range(10))
    # Validación estratificada: el 10 % de cada clase.
    assert np.bincount(cifar.y_val).tolist() == [5] * 10


def test_official_pixels_and_labels_arrive_unchanged(official_archive, train_arrays, test_arrays):
    cifar = load_cifar10(official_archive)
    np.testing.assert_array_equal(np.round(cifar.x_test * 255).astype(np.uint8), test_arrays[0])
    np.testing.assert_array_equal(cifar.y_test, test_arrays[1])


def test_png_folder_is_lossless_and_matches_the_official_format(official_archive, image_folder):
    official, folder = load_cifar10(official_archive), load_cifar10(image_folder)
    # Mismas imágenes de entrenamiento (PNG sin pérdida) y misma división, venga de donde venga.
    np.testing.assert_array_equal(official.x_train, folder.x_train)
    np.testing.assert_array_equal(official.y_val, folder.y_val)


def test_split_is_the_same_every_time(official_archive):
    first, second = load_cifar10(official_archive), load_cifar10(official_archive)
    np.testing.assert_array_equal(first.x_val, second.x_val)


def test_full_size_split_is_45000_and_5000_stratified():
    labels = np.repeat(np.arange(10), 5000)
    train, val = data.split_indices(labels, 0.1)
    assert (len(train), len(val)) == (45_000, 5_000)
    assert np.bincount(labels[val]).tolist() == [500] * 10
    assert not set(train) & set(val)


def test_the_first_images_of_each_part_mix_every_class():
    # Lo que ven las figuras (las primeras 24) y los perfiles cortos (las primeras N).
    labels = np.repeat(np.arange(10), 5000)
    train, val = data.split_indices(labels, 0.1)
    assert len(set(labels[train[:24]])) >= 8 and len(set(labels[val[:24]])) >= 8
    assert np.bincount(labels[train[:2000]]).min() > 150  # cerca de 200 por clase


def test_sample_sizes_take_a_subset_and_refuse_too_many(official_archive):
    cifar = load_cifar10(official_archive, train_samples=100, val_samples=20, test_samples=30)
    assert (len(cifar.y_train), len(cifar.y_val), len(cifar.y_test)) == (100, 20, 30)
    with pytest.raises(DataError, match="TRAIN_SAMPLES.*450"):
        load_cifar10(official_archive, train_samples=451)


def test_environment_variable_names_the_copy(monkeypatch, official_archive):
    monkeypatch.setenv("CIFAR10_PATH", str(official_archive))
    cifar = load_cifar10()
    assert cifar.source.startswith("cifar-10-python.tar.gz")
    assert str(official_archive.parent) not in cifar.source  # nunca una ruta absoluta


def test_second_load_reads_the_cache_instead_of_decoding(monkeypatch, image_archive):
    first = load_cifar10(image_archive)
    monkeypatch.setattr(data, "read_image_folder", lambda path: pytest.fail("volvió a decodificar"))
    second = load_cifar10(image_archive)
    np.testing.assert_array_equal(first.x_train, second.x_train)
    assert first.sha256 == second.sha256 == data.fingerprint(image_archive)


def test_damaged_cache_is_rebuilt(image_archive, tmp_path):
    load_cifar10(image_archive)
    (cached,) = (tmp_path / "cache").glob("*.npz")
    cached.write_bytes(b"no es un npz")
    assert load_cifar10(image_archive).x_train.shape == (450, 32, 32, 3)


def test_no_copy_and_no_network_explains_what_to_do(monkeypatch, tmp_path):
    # Un puerto cerrado de esta máquina: la conexión se rechaza al momento, como sin red.
    monkeypatch.setattr(official, "OFFICIAL_URL", "http://127.0.0.1:9/cifar-10-python.tar.gz")
    with pytest.raises(DataError) as error:
        load_cifar10()
    message = str(error.value)
    assert "CIFAR10_PATH" in message and "cifar-10-python.tar.gz" in message and "Descarga" in message
    assert not list((tmp_path / "cache").glob("cifar-10-python*"))  # nada a medias en la caché


def test_download_with_wrong_checksum_leaves_nothing(monkeypatch, tmp_path, official_archive):
    url = official_archive.as_uri()
    with pytest.raises(DataError, match="sha256"):
        data.download_official(tmp_path / "descargas", url=url)
    assert list((tmp_path / "descargas").iterdir()) == []


def test_verified_download_is_kept_and_reused(monkeypatch, tmp_path, official_archive):
    monkeypatch.setattr(official, "OFFICIAL_SHA256", data.fingerprint(official_archive))
    copy = shutil.copy(official_archive, tmp_path / "en_el_servidor.tar.gz")
    target = data.download_official(tmp_path / "descargas", url=Path(copy).as_uri())
    assert target.read_bytes() == official_archive.read_bytes()
    Path(copy).unlink()  # si intentara descargarlo otra vez, fallaría
    assert data.download_official(tmp_path / "descargas", url=Path(copy).as_uri()) == target


def test_a_half_downloaded_file_is_downloaded_again(monkeypatch, tmp_path, official_archive):
    monkeypatch.setattr(official, "OFFICIAL_SHA256", data.fingerprint(official_archive))
    cache = tmp_path / "descargas"
    cache.mkdir()
    (cache / "cifar-10-python.tar.gz").write_bytes(official_archive.read_bytes()[:1000])  # un proceso matado
    target = data.download_official(cache, url=official_archive.as_uri())
    assert target.read_bytes() == official_archive.read_bytes()


# ------------------------------------------------------------------ datos dañados


def test_missing_path_is_named(tmp_path):
    with pytest.raises(DataError, match="No existe .*no_existe.tar.gz"):
        load_cifar10(tmp_path / "no_existe.tar.gz")


def test_truncated_archive(tmp_path, official_archive):
    truncated = tmp_path / "cifar-10-python.tar.gz"
    truncated.write_bytes(official_archive.read_bytes()[:2000])
    with pytest.raises(DataError, match="cifar-10-python.tar.gz.*(dañado|incompleto)"):
        load_cifar10(truncated)


def test_missing_batch_is_named(tmp_path, official_folder):
    copy = tmp_path / "cifar-10-batches-py"
    copy.mkdir()
    for item in official_folder.iterdir():
        if item.name != "data_batch_3":
            (copy / item.name).write_bytes(item.read_bytes())
    with pytest.raises(DataError, match="data_batch_3"):
        load_cifar10(make_tar(copy, tmp_path / "incompleto.tar.gz"))


def test_wrong_shape_is_refused(tmp_path, train_arrays, test_arrays):
    bad = pickle.dumps({b"data": np.zeros((4, 100), np.uint8), b"labels": [0, 1, 2, 3]})
    folder = write_official_folder(
        tmp_path / "cifar-10-batches-py", train_arrays, test_arrays, {"test_batch": bad}
    )
    with pytest.raises(DataError, match=r"test_batch.*\(4, 100\)"):
        load_cifar10(folder)


def test_labels_outside_zero_to_nine_are_refused(tmp_path, train_arrays, test_arrays):
    images, labels = test_arrays
    bad = official_batch(images, labels.astype(int) + 5)
    folder = write_official_folder(
        tmp_path / "cifar-10-batches-py", train_arrays, test_arrays, {"test_batch": bad}
    )
    with pytest.raises(DataError, match="fuera de 0–9"):
        load_cifar10(folder)


class _Exploit:
    """Un objeto que, al deshacer el pickle, crea el archivo ``marker`` (ruta absoluta)."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def test_a_crafted_pickle_never_runs_code(tmp_path, train_arrays, test_arrays):
    evil = pickle.dumps({b"data": _Exploit(tmp_path / "HACKED"), b"labels": []})
    folder = write_official_folder(
        tmp_path / "cifar-10-batches-py", train_arrays, test_arrays, {"data_batch_1": evil}
    )
    with pytest.raises(DataError, match="data_batch_1 no es un lote válido.*no permitido"):
        load_cifar10(folder)
    assert not (tmp_path / "HACKED").exists()


def test_unreadable_image_is_named(tmp_path, train_arrays, test_arrays):
    root = write_image_folder(tmp_path / "imagenes", train_arrays, test_arrays)
    (root / "train" / "cat" / "0007.png").write_bytes(b"esto no es una imagen")
    with pytest.raises(DataError, match=r"train/cat/0007.png no es una imagen legible"):
        load_cifar10(root)


def test_wrong_size_image_is_named(tmp_path, train_arrays, test_arrays):
    from PIL import Image

    root = write_image_folder(tmp_path / "imagenes", train_arrays, test_arrays)
    Image.new("RGB", (64, 48)).save(root / "test" / "dog" / "0001.jpg")
    with pytest.raises(DataError, match=r"dog/0001.jpg mide 64×48"):
        load_cifar10(root)


def test_empty_class_folder_is_named(tmp_path, train_arrays, test_arrays):
    root = write_image_folder(tmp_path / "imagenes", train_arrays, test_arrays)
    for image in (root / "train" / "frog").iterdir():
        image.unlink()
    with pytest.raises(DataError, match="train/frog/ falta o no tiene imágenes"):
        load_cifar10(root)


def test_folder_that_is_not_cifar(tmp_path):
    (tmp_path / "otra_cosa").mkdir()
    with pytest.raises(DataError, match="otra_cosa no contiene CIFAR-10"):
        load_cifar10(tmp_path / "otra_cosa")


def test_archive_that_is_not_cifar(tmp_path):
    archive = tar_with({"leeme.txt": b"hola"}, tmp_path / "otra.tar.gz")
    with pytest.raises(DataError, match="no contiene CIFAR-10"):
        load_cifar10(archive)


def test_an_atomic_write_that_fails_leaves_the_old_file_and_no_temporary(tmp_path):
    target = tmp_path / "resultado.json"
    target.write_text("{}")

    def write_half_and_fail(temporary):
        temporary.write_text("{ medio")
        raise RuntimeError("corte")

    with pytest.raises(RuntimeError):
        files.replace_atomically(target, write_half_and_fail)
    assert [p.name for p in tmp_path.iterdir()] == ["resultado.json"] and target.read_text() == "{}"


def test_tar_members_are_read_without_extracting(tmp_path, image_archive):
    before = set(tmp_path.iterdir())
    load_cifar10(image_archive)
    assert {p.name for p in set(tmp_path.iterdir()) - before} <= {"cache"}
    with tarfile.open(image_archive) as archive:
        assert any(m.name.endswith(".png") for m in archive)


@pytest.mark.real_data
@pytest.mark.parametrize("copy", ["real_copy", "real_jpeg_copy"])
def test_the_real_copy_splits_45000_5000_10000(copy, request):
    cifar = load_cifar10(request.getfixturevalue(copy))
    assert cifar.x_train.shape == (45_000, 32, 32, 3)
    assert cifar.x_val.shape == (5_000, 32, 32, 3)
    assert cifar.x_test.shape == (10_000, 32, 32, 3)
    for labels in (cifar.y_train, cifar.y_val, cifar.y_test):
        assert len(np.unique(labels)) == 10
    assert np.bincount(cifar.y_test).tolist() == [1_000] * 10


def test_a_cache_holding_python_objects_is_never_unpickled(image_archive, tmp_path):
    load_cifar10(image_archive)
    (cached,) = (tmp_path / "cache").glob("*.npz")
    np.savez(cached, x_train=np.array([_Exploit(tmp_path / "HACKED")], dtype=object))
    cifar = load_cifar10(image_archive)  # la caché se descarta y se reconstruye
    assert cifar.x_train.shape == (450, 32, 32, 3)
    assert not (tmp_path / "HACKED").exists()


@pytest.mark.real_data
def test_the_official_archive_keeps_the_published_order(real_copy):
    from cifar_lib.data import read_raw

    if data.detect_kind(real_copy) != "official_archive":
        pytest.skip("CIFAR10_PATH no es el archivo oficial")
    x_train, y_train, x_test, y_test, description, digest = read_raw(real_copy)
    # Las primeras etiquetas de data_batch_1 y de test_batch del CIFAR-10 publicado.
    assert y_train[:10].tolist() == [6, 9, 9, 4, 1, 1, 2, 7, 8, 3]
    assert y_test[:10].tolist() == [3, 8, 8, 0, 6, 6, 1, 6, 3, 1]
    assert x_train.shape == (50_000, 32, 32, 3) and x_test.shape == (10_000, 32, 32, 3)
    assert "oficial" in description and len(digest) == 64


def test_the_figures_can_pick_the_first_image_of_each_chosen_class():
    labels = np.array([5, 3, 5, 1, 3])
    assert data.first_index_of(labels, [3, 1, 5]).tolist() == [1, 3, 0]
