"""Las redes del curso son exactamente las del informe: mismos parámetros, mismas formas."""

import json

import keras
import numpy as np
import pytest

from cifar_lib.augmentation import AffineAugmentation
from cifar_lib.config import ConfigError, project_root
from cifar_lib.fast_layers import BatchNormWithFastBias, PatchWhitening
from cifar_lib.models import BUILDERS, REPORT_PARAMS, build_model, deep, show_code

#: Parámetros totales que muestran los ``model.summary()`` del informe.
EXPECTED = {1: 98_993, 2: 127_130, 3: 359_402, 4: 360_298, 5: 3_253_834, 6: 3_253_834}
#: El cuaderno 07 entrena la misma red del paso 5 con otra receta.
EXPECTED[7] = EXPECTED[5]


@pytest.mark.parametrize("step", sorted(EXPECTED))
def test_parameter_count_matches_the_report(step):
    model = build_model(step)
    assert model.count_params() == EXPECTED[step] == REPORT_PARAMS[step]


def test_the_fast_network_has_the_trainable_parameters_of_airbench94():
    model = build_model(8)
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    # airbench94: convoluciones 24→64→64→256→256→256→256 (3×3, sin sesgo), densa 256→10 sin sesgo,
    # 1.152 sesgos de BN y los 24 del blanqueo (sus filtros 2×2 no se entrenan).
    convolutions = 9 * (24 * 64 + 64 * 64 + 64 * 256 + 3 * 256 * 256)
    assert trainable == convolutions + 256 * 10 + (2 * 64 + 4 * 256) + 24 == 1_971_352
    assert model.count_params() == 1_973_968  # más filtros del blanqueo y medias móviles de la BN


@pytest.mark.parametrize("step", sorted(EXPECTED) + [8])
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
        (8, "whitening", (None, 31, 31, 24)),
        (8, "pool_1", (None, 15, 15, 64)),
        (8, "pool_3", (None, 3, 3, 256)),
        (8, "flatten", (None, 256)),
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


def test_the_deep_network_can_drop_dropout_and_change_batch_norm_and_l2_with_the_same_parameters():
    five = build_model(5)
    assert [layer.rate for layer in five.layers if isinstance(layer, keras.layers.Dropout)] == [
        0.2,
        0.25,
        0.35,
        0.5,
    ]
    assert {
        layer.momentum for layer in five.layers if isinstance(layer, keras.layers.BatchNormalization)
    } == {0.99}
    assert all(layer.kernel_regularizer is None for layer in five.layers if hasattr(layer, "kernel"))

    changed = keras.Sequential(
        [keras.Input((32, 32, 3)), *deep(dropout=(0, 0, 0, 0), bn_momentum=0.9, weights_l2=2.5e-4)]
    )
    assert changed.count_params() == five.count_params()
    assert [layer.name for layer in changed.layers] == [layer.name for layer in five.layers]
    assert all(layer.rate == 0 for layer in changed.layers if isinstance(layer, keras.layers.Dropout))
    norms = [layer for layer in changed.layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(norms) == 7 and all(layer.momentum == 0.9 for layer in norms)
    with_kernel = [layer for layer in changed.layers if hasattr(layer, "kernel")]
    assert len(with_kernel) == 8  # seis convoluciones y dos densas
    for layer in with_kernel:
        assert layer.kernel_regularizer.get_config() == {"l2": pytest.approx(2.5e-4)}


def test_notebook_07_is_step_five_without_dropout_with_fast_batch_norm_and_l2():
    seven = build_model(7)
    assert seven.layers[0].name == "crop_and_flip"
    expected = keras.Sequential(
        [keras.Input((32, 32, 3)), *deep(dropout=(0, 0, 0, 0), bn_momentum=0.9, weights_l2=2.5e-4)]
    )
    assert [layer.get_config() for layer in seven.layers[1:]] == [
        layer.get_config() for layer in expected.layers
    ]


@pytest.mark.parametrize("step", [0, 9, "1", 2.0, None])
def test_unknown_step_is_a_clear_spanish_error(step):
    with pytest.raises(
        ConfigError, match=r"Paso desconocido: .*Los valores válidos son: 1, 2, 3, 4, 5, 6, 7, 8\."
    ):
        build_model(step)


def test_the_whitening_layer_makes_the_patches_uncorrelated_with_unit_variance():
    rng = np.random.default_rng(0)
    # Imágenes con píxeles vecinos muy correlacionados, como las fotos: ruido suavizado.
    noise = rng.random((300, 33, 33, 3), dtype=np.float32)
    images = (noise[:, :-1, :-1] + noise[:, 1:, 1:] + noise[:, :-1, 1:]) / 3 * 0.5 + 0.2
    layer = PatchWhitening(size=2, eps=0.0)
    layer.adapt(images)
    whitened = np.asarray(layer(images)).reshape(-1, 24)
    assert whitened.shape[0] == 300 * 31 * 31
    first_half, second_half = whitened[:, :12], whitened[:, 12:]
    np.testing.assert_allclose(second_half, -first_half, atol=1e-5)  # cada filtro y su opuesto
    covariance = np.cov(first_half, rowvar=False)
    np.testing.assert_allclose(covariance, np.eye(12), atol=0.02)
    np.testing.assert_allclose(first_half.mean(axis=0), 0, atol=0.02)
    assert not layer.kernel.trainable and layer.bias.trainable


def test_the_fast_batch_norm_bias_learns_sixty_four_times_faster():
    inputs = np.random.default_rng(0).normal(size=(64, 4)).astype("float32")

    def bias_after_one_step(layer, read_bias):
        model = keras.Sequential([keras.Input((4,)), layer])
        model.compile(optimizer=keras.optimizers.SGD(0.01), loss="mse")
        model.train_on_batch(inputs, np.ones((64, 4), "float32"))
        return np.asarray(read_bias(layer))

    fast = bias_after_one_step(BatchNormWithFastBias(bias_scale=8.0), lambda bn: bn.bias_scale * bn.bias)
    plain = bias_after_one_step(keras.layers.BatchNormalization(scale=False), lambda bn: bn.beta)
    np.testing.assert_allclose(fast, 64 * plain, rtol=1e-4)
    assert np.all(np.abs(plain) > 0)


#: Lo que «Prueba tú» pide poner encima del código copiado de cada constructor.
COPY_IMPORTS = {
    2: "from keras import layers",
    3: "from keras import layers",
    5: "from keras import layers",
    8: "from keras import layers\nfrom cifar_lib.augmentation import build_crop_and_flip\n"
    "from cifar_lib.fast_layers import BatchNormWithFastBias",
}


def _copied_into_a_new_cell(step: int, change=lambda code: code) -> keras.Sequential:
    """Copia el código que muestra ``show_code(step)`` en un espacio de nombres vacío, con los imports
    que pide el cuaderno, y construye el modelo con la línea que da «Prueba tú»."""
    cell = {}  # el kernel del cuaderno ya tiene ``keras`` importado
    exec(f"import keras\n{COPY_IMPORTS[step]}\n{change(show_code(step).data)}", cell)
    builder = cell[BUILDERS[step][0].__name__]  # three_convs, dropout, deep o fast
    return keras.Sequential([keras.Input((32, 32, 3)), *builder()])


@pytest.mark.parametrize("step", [2, 3, 5])
def test_a_builder_copied_into_a_new_cell_builds_the_same_network(step):
    # «Prueba tú» de los cuadernos 02, 03 y 05: copiar el constructor, cambiarlo y construir el modelo.
    assert _copied_into_a_new_cell(step).count_params() == REPORT_PARAMS[step]


def test_the_fast_network_without_whitening_builds_as_notebook_08_says():
    def without_whitening(code):
        lines = [line for line in code.splitlines() if "PatchWhitening(" in line]
        assert len(lines) == 1
        return code.replace(lines[0], '        layers.Conv2D(24, 2, name="whitening"),')

    model = _copied_into_a_new_cell(8, without_whitening)
    assert (
        model.get_layer("whitening").trainable
        and model.get_layer("whitening").count_params() == 2 * 2 * 3 * 24 + 24
    )
    assert model.output_shape == (None, 10)


@pytest.mark.parametrize("step", sorted(COPY_IMPORTS))
def test_the_imports_these_tests_use_are_the_ones_prueba_tu_gives(step):
    (notebook,) = (project_root() / "notebooks").glob(f"0{step}_*.ipynb")
    prueba_tu = "".join(json.loads(notebook.read_text(encoding="utf-8"))["cells"][-1]["source"])
    assert prueba_tu.startswith("## Prueba tú")
    for line in COPY_IMPORTS[step].splitlines():
        assert f"`{line}`" in prueba_tu, (notebook.name, line)
