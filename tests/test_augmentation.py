"""El aumento de datos hace lo que hacía el informe: los mismos rangos, nada más."""

import keras
import numpy as np
import pytest

from cifar_lib.augmentation import (
    REPORT_SETTINGS,
    AffineAugmentation,
    affine_sample,
    build_augmentation,
    build_crop_and_flip,
    legacy_image_data_generator,
)


@pytest.fixture(scope="module")
def sampled():
    """Parámetros de 20.000 transformaciones al azar."""
    parameters = build_augmentation(seed=0).sample_parameters(20_000)
    return {name: keras.ops.convert_to_numpy(value) for name, value in parameters.items()}


@pytest.mark.parametrize(
    ("name", "low", "high"),
    [
        ("rotation", -20, 20),
        ("shift_x", -0.2, 0.2),
        ("shift_y", -0.2, 0.2),
        ("zoom_x", 0.8, 1.2),
        ("zoom_y", 0.8, 1.2),
    ],
)
def test_sampled_transforms_cover_the_reports_ranges_and_nothing_beyond(sampled, name, low, high):
    values = sampled[name]
    assert values.min() >= low and values.max() <= high
    margin = 0.02 * (high - low)
    assert values.min() < low + margin and values.max() > high - margin


def test_half_of_the_images_are_flipped(sampled):
    assert set(np.unique(sampled["flip"])) == {0.0, 1.0}
    assert 0.47 < sampled["flip"].mean() < 0.53


def test_zoom_is_sampled_independently_per_axis_like_image_data_generator(sampled):
    assert abs(np.corrcoef(sampled["zoom_x"], sampled["zoom_y"])[0, 1]) < 0.05


def _transform(images, **parameters):
    base = {"rotation": 0.0, "shift_x": 0.0, "shift_y": 0.0, "zoom_x": 1.0, "zoom_y": 1.0, "flip": 0.0}
    base.update(parameters)
    batch = {k: keras.ops.convert_to_tensor(np.full(len(images), v, "float32")) for k, v in base.items()}
    matrices = AffineAugmentation.affine_matrices(batch, 32, 32)
    return keras.ops.convert_to_numpy(affine_sample(images, matrices))


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((4, 32, 32, 3)).astype("float32")


def test_identity_parameters_leave_the_image_unchanged(images):
    np.testing.assert_allclose(_transform(images), images, atol=1e-5)


def test_flip_mirrors_left_to_right(images):
    np.testing.assert_allclose(_transform(images, flip=1.0), images[:, :, ::-1], atol=1e-5)


def test_shift_moves_pixels_and_fills_with_the_nearest_edge(images):
    shifted = _transform(images, shift_x=4 / 32)
    # Desplazar 4 píxeles: la columna j de la salida es la j+4 de la entrada (o el borde, repetido).
    np.testing.assert_allclose(shifted[:, :, :28], images[:, :, 4:], atol=1e-5)
    np.testing.assert_allclose(shifted[:, :, 28:], np.repeat(images[:, :, 31:], 4, axis=2), atol=1e-5)


def test_rotation_by_ninety_degrees_turns_the_image(images):
    turned = _transform(images, rotation=90.0)
    assert np.allclose(turned, np.rot90(images, k=1, axes=(1, 2)), atol=1e-4) or np.allclose(
        turned, np.rot90(images, k=-1, axes=(1, 2)), atol=1e-4
    )


@pytest.mark.parametrize(
    ("layer", "interpolation", "fill_mode"),
    [
        (build_augmentation(seed=1), "bilinear", "nearest"),
        (build_crop_and_flip(seed=1), "nearest", "reflect"),
    ],
)
def test_the_batched_sampler_matches_keras_affine_transform(layer, interpolation, fill_mode):
    images = np.random.default_rng(1).random((64, 32, 32, 3)).astype("float32")
    matrices = layer.affine_matrices(layer.sample_parameters(64), 32, 32)
    expected = keras.ops.image.affine_transform(images, matrices, interpolation, fill_mode)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(affine_sample(images, matrices, interpolation, fill_mode)),
        keras.ops.convert_to_numpy(expected),
        atol=1e-5,
    )


def test_training_batches_keep_shape_dtype_and_range(images):
    layer = build_augmentation(seed=1)
    augmented = keras.ops.convert_to_numpy(layer(images, training=True))
    assert augmented.shape == images.shape and augmented.dtype == np.float32
    assert augmented.min() >= 0.0 and augmented.max() <= 1.0
    assert not np.allclose(augmented, images)


def test_does_nothing_when_predicting(images):
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(build_augmentation()(images, training=False)), images
    )


def test_the_legacy_generator_uses_the_same_settings():
    generator = legacy_image_data_generator()
    assert generator.rotation_range == REPORT_SETTINGS["rotation_range"] == 20
    assert generator.width_shift_range == generator.height_shift_range == 0.2
    assert list(generator.zoom_range) == [0.8, 1.2]
    assert generator.horizontal_flip and generator.fill_mode == "nearest"


def test_layer_survives_saving_and_loading(tmp_path):
    model = keras.Sequential([keras.Input((32, 32, 3)), build_augmentation(seed=3), keras.layers.Flatten()])
    model.save(tmp_path / "m.keras")
    loaded = keras.saving.load_model(tmp_path / "m.keras")
    assert isinstance(loaded.layers[0], AffineAugmentation)
    assert loaded.layers[0].get_config()["rotation"] == 20


def test_crop_and_flip_moves_whole_pixels_up_to_four(images):
    layer = build_crop_and_flip(seed=0)
    parameters = {k: keras.ops.convert_to_numpy(v) for k, v in layer.sample_parameters(5000).items()}
    assert np.abs(parameters["shift_x"] * 32).max() <= 4 and np.abs(parameters["shift_y"] * 32).max() <= 4
    assert not parameters["rotation"].any() and (parameters["zoom_x"] == 1).all()
    cropped = keras.ops.convert_to_numpy(layer(images, training=True))
    # Con interpolación «nearest», cada píxel de salida es un píxel de la entrada.
    assert np.isin(cropped, images).all()


def test_the_crop_shifts_are_whole_pixels_each_with_probability_one_ninth():
    """Rellenar 4 píxeles y recortar 32×32 da 9 desplazamientos por eje, todos igual de probables."""
    parameters = build_crop_and_flip(padding=4, seed=0).sample_parameters(90_000)
    for axis in ("shift_x", "shift_y"):
        pixels = keras.ops.convert_to_numpy(parameters[axis]) * 32
        np.testing.assert_allclose(pixels, np.round(pixels), atol=1e-4)
        counts = np.bincount(np.round(pixels).astype(int) + 4, minlength=9)
        assert len(counts) == 9
        # ±4 (los extremos) tan probables como los demás: 10.000 ± 4 desviaciones típicas.
        assert (np.abs(counts - 10_000) < 400).all(), counts


def test_each_image_gets_exactly_the_transform_image_data_generator_would_apply(images):
    """Los mismos parámetros al azar, aplicados por la capa y por ImageDataGenerator.apply_transform."""
    layer = build_augmentation(seed=5)
    parameters = {k: keras.ops.convert_to_numpy(v) for k, v in layer.sample_parameters(len(images)).items()}
    matrices = AffineAugmentation.affine_matrices(parameters, 32, 32)
    ours = keras.ops.convert_to_numpy(affine_sample(images, matrices))
    generator = legacy_image_data_generator()
    for i, image in enumerate(images):
        theirs = generator.apply_transform(
            image,
            {
                "theta": parameters["rotation"][i],
                "tx": parameters["shift_x"][i] * 32,
                "ty": parameters["shift_y"][i] * 32,
                "zx": parameters["zoom_x"][i],
                "zy": parameters["zoom_y"][i],
                "flip_horizontal": bool(parameters["flip"][i]),
            },
        )
        np.testing.assert_allclose(ours[i], theirs, atol=1e-4)
