"""Las redes de cada paso del curso, exactamente como en el informe original.

``build_model(step)`` devuelve el modelo del paso 1 a 6 sin compilar. Cada capa
lleva un nombre fijo (``conv_1``, ``pool_1``…), así que ``model.summary()``
sale igual por muchos modelos que se hayan creado antes en el mismo kernel.

=====  ==========================================  ==========
paso   idea                                        parámetros
=====  ==========================================  ==========
1      una convolución 6×6 y una capa densa             98.993
2      tres convoluciones 6×6 con max pooling          127.130
3      más filtros y dropout                           359.402
4      lo mismo con batch normalization                360.298
5      red profunda estilo VGG                       3.253.834
6      la red del paso 5 con aumento de datos        3.253.834
7      la red del paso 5 con una receta moderna      3.253.834
=====  ==========================================  ==========
"""

from __future__ import annotations

import keras
from keras import layers

from cifar_lib.config import check_step
from cifar_lib.data import IMAGE_SHAPE, NUM_CLASSES

#: Parámetros de cada paso según los ``model.summary()`` del informe.
REPORT_PARAMS = {1: 98_993, 2: 127_130, 3: 359_402, 4: 360_298, 5: 3_253_834, 6: 3_253_834, 7: 3_253_834}


def _conv(filters: int, kernel: int, name: str) -> layers.Conv2D:
    return layers.Conv2D(filters, kernel, padding="same", activation="relu", name=name)


def _output() -> layers.Dense:
    # Siempre en float32: con precisión mixta, el softmax y la pérdida no pierden decimales.
    return layers.Dense(NUM_CLASSES, activation="softmax", dtype="float32", name="salida")


def _classifier(units: int) -> list[layers.Layer]:
    return [
        layers.Flatten(name="aplanado"),
        layers.Dense(units, activation="relu", name="densa"),
        _output(),
    ]


def basic() -> list[layers.Layer]:
    """Paso 1: una convolución de 3 filtros 6×6 y una capa densa de 32."""
    return [_conv(3, 6, "conv_1"), *_classifier(32)]


def three_convs() -> list[layers.Layer]:
    """Paso 2: tres convoluciones 6×6 (16, 32, 64 filtros), cada una con max pooling."""
    stack = []
    for i, filters in enumerate((16, 32, 64), start=1):
        stack += [_conv(filters, 6, f"conv_{i}"), layers.MaxPooling2D(2, name=f"pool_{i}")]
    return [*stack, *_classifier(32)]


def _dropout_stack(batch_norm: bool) -> list[layers.Layer]:
    """Pasos 3 y 4: 32 (6×6), 64 y 128 (3×3) filtros, dropout 0,5 y 0,25."""
    stack = []
    for i, (filters, kernel, dropout) in enumerate(((32, 6, None), (64, 3, 0.5), (128, 3, 0.25)), start=1):
        stack.append(_conv(filters, kernel, f"conv_{i}"))
        if batch_norm:
            stack.append(layers.BatchNormalization(name=f"bn_{i}"))
        stack.append(layers.MaxPooling2D(2, name=f"pool_{i}"))
        if dropout:
            stack.append(layers.Dropout(dropout, name=f"dropout_{i}"))
    return [*stack, *_classifier(128)]


def dropout() -> list[layers.Layer]:
    """Paso 3: más filtros y dropout tras el segundo y el tercer pooling."""
    return _dropout_stack(batch_norm=False)


def batch_norm() -> list[layers.Layer]:
    """Paso 4: el paso 3 con batch normalization tras cada convolución."""
    return _dropout_stack(batch_norm=True)


def deep() -> list[layers.Layer]:
    """Paso 5: tres bloques VGG (2 convoluciones 3×3 + BN, pooling, dropout) y densa de 512."""
    stack = []
    for block, (filters, rate) in enumerate(((64, 0.2), (128, 0.25), (256, 0.35)), start=1):
        for half in "ab":
            stack += [
                _conv(filters, 3, f"conv_{block}{half}"),
                layers.BatchNormalization(name=f"bn_{block}{half}"),
            ]
        stack += [
            layers.MaxPooling2D(2, name=f"pool_{block}"),
            layers.Dropout(rate, name=f"dropout_{block}"),
        ]
    return [
        *stack,
        layers.Flatten(name="aplanado"),
        layers.Dense(512, activation="relu", name="densa"),
        layers.BatchNormalization(name="bn_densa"),
        layers.Dropout(0.5, name="dropout_densa"),
        _output(),
    ]


def deep_augmented() -> list[layers.Layer]:
    """Paso 6: la red del paso 5 precedida del aumento de datos del informe.

    El aumento es una capa sin parámetros que solo actúa al entrenar, así que
    el modelo tiene los mismos 3.253.834 parámetros y predice igual que el del
    paso 5; al ir dentro del modelo, se compila junto con el paso de
    entrenamiento.
    """
    from cifar_lib.augmentation import build_augmentation

    return [build_augmentation(), *deep()]


def deep_modern() -> list[layers.Layer]:
    """Cuaderno 07: la red del paso 5 tras el recorte aleatorio con relleno y el volteo."""
    from cifar_lib.augmentation import build_crop_and_flip

    return [build_crop_and_flip(), *deep()]


#: Constructor de las capas de cada paso y nombre del modelo.
BUILDERS = {
    1: (basic, "paso1_basico"),
    2: (three_convs, "paso2_tres_convoluciones"),
    3: (dropout, "paso3_dropout"),
    4: (batch_norm, "paso4_batch_norm"),
    5: (deep, "paso5_profundo"),
    6: (deep_augmented, "paso6_aumento_de_datos"),
    7: (deep_modern, "paso7_receta_moderna"),
}


def build_model(step: int, mixed_precision: bool = False) -> keras.Sequential:
    """Devuelve, sin compilar, la red del paso ``step`` (1–6 del informe, 7 del cuaderno 07).

    Los pesos iniciales salen del generador aleatorio de Keras: llama antes a
    ``keras.utils.set_random_seed(SEED)`` para que sean siempre los mismos.
    Con ``mixed_precision=True`` las capas calculan en bf16 (los pesos, la
    salida y el aumento siguen en float32); si no, todo en float32, como el informe.

    Raises
    ------
    cifar_lib.config.ConfigError
        Si ``step`` no es un paso del curso.
    """
    builder, name = BUILDERS[check_step(step)]
    previous = keras.config.dtype_policy()
    keras.config.set_dtype_policy("mixed_bfloat16" if mixed_precision else "float32")
    try:  # la política de tipos decide cómo se crean las capas, y solo las de este modelo
        return keras.Sequential([keras.Input(IMAGE_SHAPE, name="imagen"), *builder()], name=name)
    finally:
        keras.config.set_dtype_policy(previous)
