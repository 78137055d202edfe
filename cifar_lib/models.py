"""Las redes de cada paso del curso: las de los pasos 1–6, exactamente como en el informe; la 7 y la 8, las de
los cuadernos que van más allá.

Cada paso tiene su constructor, que devuelve la lista de capas de Keras tal
cual, sin funciones auxiliares, para que se pueda leer (y copiar) entera: cada
cuaderno la muestra con :func:`show_code`. ``build_model(step)`` la envuelve en
un ``keras.Sequential`` sin compilar. Cada capa lleva un nombre fijo
(``conv_1``, ``pool_1``…), así que ``model.summary()`` sale igual por muchos
modelos que se hayan creado antes en el mismo kernel.
"""

from __future__ import annotations

import inspect

import keras
from keras import layers

from cifar_lib.augmentation import build_augmentation, build_crop_and_flip
from cifar_lib.config import check_step
from cifar_lib.data import IMAGE_SHAPE
from cifar_lib.fast_layers import BatchNormWithFastBias, PatchWhitening

#: Parámetros de cada paso según los ``model.summary()`` del informe.
REPORT_PARAMS = {1: 98_993, 2: 127_130, 3: 359_402, 4: 360_298, 5: 3_253_834, 6: 3_253_834, 7: 3_253_834}


def basic() -> list[layers.Layer]:
    """Paso 1: una convolución de 3 filtros 6×6 y una capa densa de 32."""
    return [
        layers.Conv2D(3, 6, padding="same", activation="relu", name="conv_1"),
        layers.Flatten(name="flatten"),
        layers.Dense(32, activation="relu", name="dense"),
        layers.Dense(10, activation="softmax", name="output"),
    ]


def three_convs() -> list[layers.Layer]:
    """Paso 2: tres convoluciones 6×6 (16, 32 y 64 filtros), cada una seguida de max pooling."""
    return [
        layers.Conv2D(16, 6, padding="same", activation="relu", name="conv_1"),
        layers.MaxPooling2D(2, name="pool_1"),
        layers.Conv2D(32, 6, padding="same", activation="relu", name="conv_2"),
        layers.MaxPooling2D(2, name="pool_2"),
        layers.Conv2D(64, 6, padding="same", activation="relu", name="conv_3"),
        layers.MaxPooling2D(2, name="pool_3"),
        layers.Flatten(name="flatten"),
        layers.Dense(32, activation="relu", name="dense"),
        layers.Dense(10, activation="softmax", name="output"),
    ]


def dropout() -> list[layers.Layer]:
    """Paso 3: 32 (6×6), 64 y 128 (3×3) filtros, densa de 128 y dropout 0,5 y 0,25."""
    return [
        layers.Conv2D(32, 6, padding="same", activation="relu", name="conv_1"),
        layers.MaxPooling2D(2, name="pool_1"),
        layers.Conv2D(64, 3, padding="same", activation="relu", name="conv_2"),
        layers.MaxPooling2D(2, name="pool_2"),
        layers.Dropout(0.5, name="dropout_2"),
        layers.Conv2D(128, 3, padding="same", activation="relu", name="conv_3"),
        layers.MaxPooling2D(2, name="pool_3"),
        layers.Dropout(0.25, name="dropout_3"),
        layers.Flatten(name="flatten"),
        layers.Dense(128, activation="relu", name="dense"),
        layers.Dense(10, activation="softmax", name="output"),
    ]


def batch_norm() -> list[layers.Layer]:
    """Paso 4: la red del paso 3 con batch normalization tras cada convolución."""
    return [
        layers.Conv2D(32, 6, padding="same", activation="relu", name="conv_1"),
        layers.BatchNormalization(name="bn_1"),
        layers.MaxPooling2D(2, name="pool_1"),
        layers.Conv2D(64, 3, padding="same", activation="relu", name="conv_2"),
        layers.BatchNormalization(name="bn_2"),
        layers.MaxPooling2D(2, name="pool_2"),
        layers.Dropout(0.5, name="dropout_2"),
        layers.Conv2D(128, 3, padding="same", activation="relu", name="conv_3"),
        layers.BatchNormalization(name="bn_3"),
        layers.MaxPooling2D(2, name="pool_3"),
        layers.Dropout(0.25, name="dropout_3"),
        layers.Flatten(name="flatten"),
        layers.Dense(128, activation="relu", name="dense"),
        layers.Dense(10, activation="softmax", name="output"),
    ]


def deep(
    dropout: tuple[float, float, float, float] = (0.2, 0.25, 0.35, 0.5),
    bn_momentum: float = 0.99,
    weights_l2: float | None = None,
) -> list[layers.Layer]:
    """Paso 5: tres bloques VGG (dos convoluciones 3×3 con BN, pooling y dropout) y densa de 512.

    Los valores por defecto son los del informe: ``dropout``, las tasas tras cada
    bloque y tras la densa; ``bn_momentum``, cuánto conservan de su valor las
    medias móviles de cada BN en cada paso (0,99, el de Keras); ``weights_l2``, sin
    regularización de los pesos. Cambiarlos da la misma red, con los mismos parámetros.
    """
    l2 = None if weights_l2 is None else keras.regularizers.L2(weights_l2)  # suma weights_l2·Σw² a la pérdida
    return [
        # bloque 1: 64 filtros, 32×32 → 16×16
        layers.Conv2D(64, 3, padding="same", activation="relu", kernel_regularizer=l2, name="conv_1a"),
        layers.BatchNormalization(momentum=bn_momentum, name="bn_1a"),
        layers.Conv2D(64, 3, padding="same", activation="relu", kernel_regularizer=l2, name="conv_1b"),
        layers.BatchNormalization(momentum=bn_momentum, name="bn_1b"),
        layers.MaxPooling2D(2, name="pool_1"),
        layers.Dropout(dropout[0], name="dropout_1"),
        # bloque 2: 128 filtros, 16×16 → 8×8
        layers.Conv2D(128, 3, padding="same", activation="relu", kernel_regularizer=l2, name="conv_2a"),
        layers.BatchNormalization(momentum=bn_momentum, name="bn_2a"),
        layers.Conv2D(128, 3, padding="same", activation="relu", kernel_regularizer=l2, name="conv_2b"),
        layers.BatchNormalization(momentum=bn_momentum, name="bn_2b"),
        layers.MaxPooling2D(2, name="pool_2"),
        layers.Dropout(dropout[1], name="dropout_2"),
        # bloque 3: 256 filtros, 8×8 → 4×4
        layers.Conv2D(256, 3, padding="same", activation="relu", kernel_regularizer=l2, name="conv_3a"),
        layers.BatchNormalization(momentum=bn_momentum, name="bn_3a"),
        layers.Conv2D(256, 3, padding="same", activation="relu", kernel_regularizer=l2, name="conv_3b"),
        layers.BatchNormalization(momentum=bn_momentum, name="bn_3b"),
        layers.MaxPooling2D(2, name="pool_3"),
        layers.Dropout(dropout[2], name="dropout_3"),
        # clasificador: 4×4×256 = 4.096 números → 512 → 10
        layers.Flatten(name="flatten"),
        layers.Dense(512, activation="relu", kernel_regularizer=l2, name="dense"),
        layers.BatchNormalization(momentum=bn_momentum, name="bn_dense"),
        layers.Dropout(dropout[3], name="dropout_dense"),
        layers.Dense(10, activation="softmax", kernel_regularizer=l2, name="output"),
    ]


def deep_augmented() -> list[layers.Layer]:
    """Paso 6: la red del paso 5 precedida del aumento de datos del informe.

    El aumento es una capa sin parámetros que solo actúa al entrenar: los mismos
    3.253.834 parámetros, y se compila junto con el paso de entrenamiento.
    """
    return [build_augmentation(), *deep()]


def deep_modern() -> list[layers.Layer]:
    """Cuaderno 07: la red del paso 5 tras el recorte aleatorio con relleno y el volteo, sin dropout
    (tasas 0: las mismas capas y los mismos parámetros), con BN de medias móviles rápidas
    (``momentum=0.9``) y regularización L2 de 2,5·10⁻⁴ en los pesos de convoluciones y densas."""
    return [build_crop_and_flip(), *deep(dropout=(0, 0, 0, 0), bn_momentum=0.9, weights_l2=2.5e-4)]


def fast() -> list[layers.Layer]:
    """Cuaderno 08: la red rápida de airbench94, blanqueo de parches y tres bloques (64, 256, 256).

    Cada bloque: convolución, *max pooling*, BN, GELU, convolución, BN, GELU. Las
    convoluciones no llevan sesgo (lo pone la BN que las sigue) y la salida se
    divide entre 9 antes del softmax, como en airbench94.
    """
    return [
        build_crop_and_flip(padding=2),  # desplaza hasta 2 píxeles y voltea
        PatchWhitening(size=2, name="whitening"),  # filtros fijos: se calculan con adapt()
        layers.Activation("gelu", name="gelu_0"),
        # bloque 1: 64 filtros, 31×31 → 15×15
        layers.Conv2D(64, 3, padding="same", use_bias=False, name="conv_1a"),
        layers.MaxPooling2D(2, name="pool_1"),
        BatchNormWithFastBias(name="bn_1a"),
        layers.Activation("gelu", name="gelu_1a"),
        layers.Conv2D(64, 3, padding="same", use_bias=False, name="conv_1b"),
        BatchNormWithFastBias(name="bn_1b"),
        layers.Activation("gelu", name="gelu_1b"),
        # bloque 2: 256 filtros, 15×15 → 7×7
        layers.Conv2D(256, 3, padding="same", use_bias=False, name="conv_2a"),
        layers.MaxPooling2D(2, name="pool_2"),
        BatchNormWithFastBias(name="bn_2a"),
        layers.Activation("gelu", name="gelu_2a"),
        layers.Conv2D(256, 3, padding="same", use_bias=False, name="conv_2b"),
        BatchNormWithFastBias(name="bn_2b"),
        layers.Activation("gelu", name="gelu_2b"),
        # bloque 3: 256 filtros, 7×7 → 3×3
        layers.Conv2D(256, 3, padding="same", use_bias=False, name="conv_3a"),
        layers.MaxPooling2D(2, name="pool_3"),
        BatchNormWithFastBias(name="bn_3a"),
        layers.Activation("gelu", name="gelu_3a"),
        layers.Conv2D(256, 3, padding="same", use_bias=False, name="conv_3b"),
        BatchNormWithFastBias(name="bn_3b"),
        layers.Activation("gelu", name="gelu_3b"),
        # clasificador: el máximo de cada canal en 3×3 → 256 números → 10
        layers.MaxPooling2D(3, name="pool_final"),
        layers.Flatten(name="flatten"),
        layers.Dense(10, use_bias=False, name="dense"),
        layers.Rescaling(1 / 9, name="scale"),
        layers.Activation("softmax", name="output"),
    ]


#: Constructor de las capas de cada paso y nombre del modelo.
BUILDERS = {
    1: (basic, "paso1_basico"),
    2: (three_convs, "paso2_tres_convoluciones"),
    3: (dropout, "paso3_dropout"),
    4: (batch_norm, "paso4_batch_norm"),
    5: (deep, "paso5_profundo"),
    6: (deep_augmented, "paso6_aumento_de_datos"),
    7: (deep_modern, "paso7_receta_moderna"),
    8: (fast, "paso8_red_rapida"),
}


def build_model(step: int) -> keras.Sequential:
    """Devuelve, sin compilar, la red del paso ``step`` (1–6 del informe, 7 y 8 de los cuadernos 07 y 08).

    Los pesos iniciales salen del generador aleatorio de Keras: llama antes a
    ``keras.utils.set_random_seed(SEED)`` para que sean siempre los mismos.
    """
    builder, name = BUILDERS[check_step(step)]
    return keras.Sequential([keras.Input(IMAGE_SHAPE, name="image"), *builder()], name=name)


def show_code(step: int):
    """El código del constructor del paso ``step``, para verlo en el cuaderno con colores."""
    from IPython.display import Code

    return Code(inspect.getsource(BUILDERS[check_step(step)][0]), language="python")
