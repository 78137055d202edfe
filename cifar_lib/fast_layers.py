"""Las dos capas de la red rápida del cuaderno 08 que Keras no trae.

Vienen de airbench94 (Keller Jordan, 2024, 94 % en CIFAR-10 en segundos de GPU):

- :class:`PatchWhitening`, una primera convolución 2×2 que no se entrena: sus
  filtros se calculan de los datos (como ``keras.layers.Normalization.adapt``)
  para que los parches de 2×2 píxeles salgan *blanqueados*, sin correlación
  entre sus 12 números y con varianza 1.
- :class:`BatchNormWithFastBias`, batch normalization sin escala entrenable y
  con un sesgo que aprende 64 veces más deprisa que el resto de la red.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import layers, ops


@keras.saving.register_keras_serializable(package="cifar_lib")
class PatchWhitening(layers.Layer):
    """Convolución ``size``×``size`` fija que blanquea los parches de la imagen.

    :meth:`adapt` mira los parches de unas imágenes de entrenamiento, calcula la
    matriz de covarianza de sus ``size·size·3`` números y toma sus vectores
    propios, divididos por la raíz de su valor propio (más ``eps``): cada filtro
    da una dirección de los parches con varianza 1. La capa da cada filtro y su
    opuesto (``2·size·size·3`` canales), para que la GELU que sigue no tire la
    mitad negativa. Los filtros no se entrenan; el sesgo sí.
    """

    def __init__(self, size: int = 2, eps: float = 5e-4, **kwargs):
        kwargs.setdefault("name", "whitening")
        super().__init__(**kwargs)
        self.size = size
        self.eps = eps

    def build(self, input_shape):
        channels = input_shape[-1]
        filters = 2 * self.size * self.size * channels
        shape = (self.size, self.size, channels, filters)
        self.kernel = self.add_weight(shape=shape, initializer="zeros", trainable=False, name="kernel")
        # Lo que resta la media de cada canal (se calcula con los filtros); el sesgo empieza en 0.
        self.offset = self.add_weight(shape=(filters,), initializer="zeros", trainable=False, name="offset")
        self.bias = self.add_weight(shape=(filters,), initializer="zeros", name="bias")

    def adapt(self, images: np.ndarray, batch_size: int = 500) -> None:
        """Calcula los filtros con los parches de ``images`` ``(N, alto, ancho, canales)`` en [0, 1]."""
        images = np.asarray(images, dtype=np.float32)
        if not self.built:
            self.build(images.shape)
        mean, std = images.mean(axis=(0, 1, 2)), images.std(axis=(0, 1, 2))
        size, channels = self.size, images.shape[-1]
        covariance, count = np.zeros((size * size * channels,) * 2), 0
        # Por trozos: los parches de 5.000 imágenes, juntos, ocuparían 230 MB.
        for start in range(0, len(images), batch_size):
            normalized = (images[start : start + batch_size] - mean) / std
            patches = _patches(normalized, size).astype(np.float64)
            covariance += patches.T @ patches
            count += len(patches)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance / count)
        eigenvalues, eigenvectors = eigenvalues[::-1], eigenvectors[:, ::-1]  # primero la de más varianza
        filters = (eigenvectors / np.sqrt(eigenvalues + self.eps)).reshape(size, size, channels, -1)
        kernel = np.concatenate([filters, -filters], axis=-1) / std.reshape(1, 1, -1, 1)  # (x − media) / std
        self.kernel.assign(kernel.astype(np.float32))
        self.offset.assign((-np.einsum("ijcf,c->f", kernel, mean)).astype(np.float32))

    def call(self, images):
        return ops.conv(images, self.kernel, padding="valid") + self.offset + self.bias

    def compute_output_shape(self, input_shape):
        batch, height, width, channels = input_shape
        return (batch, height - self.size + 1, width - self.size + 1, 2 * self.size * self.size * channels)

    def get_config(self):
        return {**super().get_config(), "size": self.size, "eps": self.eps}


def _patches(images: np.ndarray, size: int) -> np.ndarray:
    """Todos los parches ``size``×``size`` de las imágenes, uno por fila, en el orden (fila, columna, canal)."""
    count, height, width, channels = images.shape
    shifted = [
        images[:, i : height - size + 1 + i, j : width - size + 1 + j]
        for i in range(size)
        for j in range(size)
    ]
    return np.stack(shifted, axis=3).reshape(-1, size * size * channels)


@keras.saving.register_keras_serializable(package="cifar_lib")
class BatchNormWithFastBias(layers.BatchNormalization):
    """Batch normalization sin escala entrenable, con un sesgo que aprende ``bias_scale²`` veces más deprisa.

    El sesgo es ``bias_scale · b`` y se entrena ``b``: su gradiente es
    ``bias_scale`` veces mayor y cada paso mueve el sesgo ``bias_scale`` veces
    más, así que con 8 aprende como con una tasa de aprendizaje 64 veces mayor
    (lo que airbench94 consigue con otra tasa para los sesgos, algo que los
    optimizadores de Keras no permiten). ``momentum=0.6``: las medias móviles
    siguen a la red casi al momento.
    """

    def __init__(self, bias_scale: float = 8.0, momentum: float = 0.6, **kwargs):
        kwargs.update(center=False, scale=False)
        super().__init__(momentum=momentum, **kwargs)
        self.bias_scale = bias_scale

    def build(self, input_shape):
        super().build(input_shape)
        self.bias = self.add_weight(shape=(input_shape[-1],), initializer="zeros", name="bias")

    def call(self, inputs, training=None, mask=None):
        return super().call(inputs, training=training, mask=mask) + self.bias_scale * self.bias

    def get_config(self):
        return {**super().get_config(), "bias_scale": self.bias_scale}
