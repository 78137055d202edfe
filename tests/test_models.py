"""Las redes del curso son exactamente las del informe: mismos parámetros, mismas formas."""

import numpy as np
import pytest

from cifar_lib.augmentation import AffineAugmentation
from cifar_lib.config import ConfigError
from cifar_lib.models import REPORT_PARAMS, build_model

#: Parámetros totales que muestran los ``model.summary()`` del informe.
EXPECTED = {1: 98_993, 2: 127_130, 3: 359_402, 4: 360_298, 5: 3_253_834, 6: 3_253_834}
#: El cuaderno 07 entrena la misma red del paso 5 con otra receta.
EXPECTED[7] = EXPECTED[5]


@pytest.mark.parametrize("step", sorted(EXPECTED))
def test_parameter_count_matches_the_report(step):
    model = build_model(step)
    assert model.count_params() == EXPECTED[step] == REPORT_PARAMS[step]


@pytest.mark.parametrize("step", sorted(EXPECTED))
def test_takes_cifar_images_and_returns_ten_probabilities(step):
    model = build_model(step)
    assert model.input_shape == (None, 32, 32, 3)
    assert model.output_shape == (None, 10)
    probabilities = np.asarray(model.predict(np.zeros((2, 32, 32, 3), "float32"), verbose=0))
    np.testing.assert_allclose(probabilities.sum(axis=1), 1.0, rtol=1e-5)


@pytest.mark.parametrize(
    ("step", "layer", "shape"),
    [
        (1, "conv_1", (None, 32, 32, 3)),
        (1, "flatten", (None, 3072)),
        (2, "pool_3", (None, 4, 4, 64)),
        (3, "flatten", (None, 2048)),
        (4, "bn_3", (None, 8, 8, 128)),
        (5, "pool_3", (None, 4, 4, 256)),
        (5, "dense", (None, 512)),
    ],
)
def test_intermediate_shapes_match_the_report(step, layer, shape):
    assert build_model(step).get_layer(layer).output.shape == shape


def test_batch_norm_adds_the_reported_non_trainable_parameters():
    model = build_model(4)
    non_trainable = sum(int(np.prod(w.shape)) for w in model.non_trainable_weights)
    assert non_trainable == 448


def test_layer_names_are_stable_across_builds():
    first = [layer.name for layer in build_model(5).layers]
    second = [layer.name for layer in build_model(5).layers]
    assert first == second
    assert len(set(first)) == len(first)


def test_step_six_is_step_five_behind_the_augmentation_layer():
    six, five = build_model(6), build_model(5)
    assert isinstance(six.layers[0], AffineAugmentation)
    assert [layer.name for layer in six.layers[1:]] == [layer.name for layer in five.layers]


@pytest.mark.parametrize("step", [0, 8, "1", 2.0, None])
def test_unknown_step_is_a_clear_spanish_error(step):
    with pytest.raises(
        ConfigError, match=r"Paso desconocido: .*Los valores válidos son: 1, 2, 3, 4, 5, 6, 7\."
    ):
        build_model(step)
