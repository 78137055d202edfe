"""El aumento de datos del informe, rápido y para cualquier backend de Keras.

El informe usaba ``ImageDataGenerator`` con estos ajustes::

    rotation_range=20, width_shift_range=0.2, height_shift_range=0.2,
    zoom_range=0.2, horizontal_flip=True, fill_mode="nearest"

``ImageDataGenerator`` transforma las imágenes de una en una con SciPy, en un
solo núcleo de la CPU. :class:`AffineAugmentation` hace la misma transformación
aleatoria, pero compone rotación, desplazamiento, zoom y volteo en **una sola
matriz afín por imagen** y transforma el lote entero de una vez con
:func:`affine_sample`: calcula de dónde viene cada píxel de salida y lee los
cuatro vecinos con un solo *gather*, todo en ``keras.ops``. Es una capa de
Keras: va dentro del modelo, se compila con el paso de entrenamiento (XLA o
JAX) y no hace nada al evaluar o predecir.
"""

from __future__ import annotations

import math

import keras
from keras import ops

#: Los ajustes del informe, con los nombres de ``ImageDataGenerator``.
REPORT_SETTINGS = {
    "rotation_range": 20,
    "width_shift_range": 0.2,
    "height_shift_range": 0.2,
    "zoom_range": 0.2,
    "horizontal_flip": True,
    "fill_mode": "nearest",
}


def affine_sample(images, matrices, interpolation: str = "bilinear", fill_mode: str = "nearest"):
    """Aplica a cada imagen del lote su transformación afín, en una sola operación.

    Da lo mismo que ``keras.ops.image.affine_transform`` (los tests lo
    comprueban). Se escribe a mano porque el *kernel* de TensorFlow de esa
    función no se puede compilar con XLA, y este sí: llamando a la capa lote a
    lote en 2 núcleos de CPU, 18.426 frente a 2.388 imágenes/s con lotes de 32
    (7,7×) y 37.433 frente a 17.737 con lotes de 512 (2,1×); con JAX, 1,2–1,3×.
    ``benchmarks/benchmark.py`` lo vuelve a medir en cada máquina.

    Parameters
    ----------
    images : tensor ``(batch, alto, ancho, canales)``
    matrices : tensor ``(batch, 8)``
        Para cada píxel de salida ``(x, y)``, el punto de entrada es
        ``(a0·x + a1·y + a2, b0·x + b1·y + b2)`` (formato de ``affine_transform``).
    interpolation : str
        ``"bilinear"`` (media de los cuatro vecinos) o ``"nearest"`` (el más cercano).
    fill_mode : str
        Fuera de la imagen: ``"nearest"`` repite el borde, ``"reflect"`` la refleja.
    """
    batch = ops.shape(images)[0]
    height, width, channels = images.shape[1], images.shape[2], images.shape[3]
    xs = ops.reshape(ops.arange(width, dtype="float32"), (1, 1, width))
    ys = ops.reshape(ops.arange(height, dtype="float32"), (1, height, 1))
    a0, a1, a2, b0, b1, b2 = (ops.reshape(matrices[:, i], (-1, 1, 1)) for i in range(6))
    source_x = a0 * xs + a1 * ys + a2  # (batch, alto, ancho)
    source_y = b0 * xs + b1 * ys + b2

    def inside(index, size):
        if fill_mode == "nearest":
            return ops.clip(index, 0, size - 1)
        folded = ops.mod(index, 2 * size)  # "reflect": … c b a | a b c … c | c b a …
        return ops.where(folded >= size, 2 * size - 1 - folded, folded)

    pixels = ops.reshape(images, (-1, channels))
    first_pixel = ops.reshape(ops.arange(batch, dtype="int32") * (height * width), (-1, 1, 1))

    def read(row, column):
        index = first_pixel + inside(row, height) * width + inside(column, width)
        return ops.take(pixels, ops.reshape(index, (-1,)), axis=0)

    if interpolation == "nearest":
        nearest = read(ops.cast(ops.round(source_y), "int32"), ops.cast(ops.round(source_x), "int32"))
        return ops.reshape(nearest, ops.shape(images))
    if fill_mode == "nearest":  # repetir el borde = no salir nunca de la imagen
        source_x = ops.clip(source_x, 0, width - 1)
        source_y = ops.clip(source_y, 0, height - 1)
    left, top = ops.floor(source_x), ops.floor(source_y)
    weight_x = ops.cast(ops.reshape(source_x - left, (-1, 1)), images.dtype)
    weight_y = ops.cast(ops.reshape(source_y - top, (-1, 1)), images.dtype)
    column, row = ops.cast(left, "int32"), ops.cast(top, "int32")
    top_left, top_right = read(row, column), read(row, column + 1)
    bottom_left, bottom_right = read(row + 1, column), read(row + 1, column + 1)
    upper = top_left + weight_x * (top_right - top_left)
    lower = bottom_left + weight_x * (bottom_right - bottom_left)
    return ops.reshape(upper + weight_y * (lower - upper), ops.shape(images))


def _compiled(function):
    """``function`` compilada con XLA si el backend es TensorFlow; si no, tal cual.

    Con JAX ya se compila todo el paso de entrenamiento. Con TensorFlow, Keras
    no usa XLA en la CPU, y sin él cada una de las pequeñas operaciones del
    aumento paga su propia llamada.
    """
    if keras.config.backend() != "tensorflow":
        return function
    import tensorflow as tf

    return tf.function(function, jit_compile=True, reduce_retracing=True)


@keras.saving.register_keras_serializable(package="cifar_lib")
class AffineAugmentation(keras.layers.Layer):
    """Rotación, desplazamiento, zoom y volteo aleatorios en una sola transformación afín.

    Parameters
    ----------
    rotation : float
        Ángulo máximo de giro en grados (se elige uniforme en ±``rotation``).
    width_shift, height_shift : float
        Desplazamiento máximo como fracción del ancho y del alto.
    zoom : float
        Cada eje se escala por un factor uniforme en [1 − zoom, 1 + zoom],
        independiente en x y en y, como en ``ImageDataGenerator``.
    horizontal_flip : bool
        Voltear en horizontal la mitad de las imágenes.
    fill_mode : str
        Cómo rellenar lo que queda fuera de la imagen (``"nearest"``: repetir el
        borde; ``"reflect"``: reflejarla).
    interpolation : str
        ``"bilinear"`` (como ``ImageDataGenerator``) o ``"nearest"`` (el píxel más cercano).
    whole_pixels : bool
        Desplazar solo un número entero de píxeles, cada uno con la misma
        probabilidad (de −m a m, con m = desplazamiento máximo × tamaño): lo que
        hace un recorte aleatorio de una imagen rellenada.
    seed : int, optional
        Semilla del generador aleatorio de la capa.
    """

    def __init__(
        self,
        rotation: float = 20,
        width_shift: float = 0.2,
        height_shift: float = 0.2,
        zoom: float = 0.2,
        horizontal_flip: bool = True,
        fill_mode: str = "nearest",
        interpolation: str = "bilinear",
        whole_pixels: bool = False,
        seed: int | None = None,
        **kwargs,
    ):
        kwargs.setdefault("name", "augmentation")
        kwargs.setdefault("dtype", "float32")  # también con precisión mixta: los píxeles no pierden decimales
        super().__init__(**kwargs)
        self.rotation = rotation
        self.width_shift = width_shift
        self.height_shift = height_shift
        self.zoom = zoom
        self.horizontal_flip = horizontal_flip
        self.fill_mode = fill_mode
        self.interpolation = interpolation
        self.whole_pixels = whole_pixels
        self.seed = seed
        self.seed_generator = keras.random.SeedGenerator(seed)
        self.compiled_augment = _compiled(self.augment)

    def sample_parameters(self, batch_size, height: int = 32, width: int = 32) -> dict:
        """Elige al azar la transformación de cada imagen del lote.

        Devuelve un diccionario de tensores de forma ``(batch_size,)``: ángulo en
        grados (``rotation``), desplazamientos como fracción (``shift_x``,
        ``shift_y``), factores de zoom (``zoom_x``, ``zoom_y``) y ``flip`` (1 o 0).
        """

        # Una sola llamada al generador para las seis columnas: menos operaciones por lote.
        draws = keras.random.uniform((batch_size, 6), seed=self.seed_generator)
        symmetric = 2 * draws[:, :5] - 1  # uniforme en [-1, 1)
        flip = ops.cast(draws[:, 5] < 0.5, "float32")
        shift_x, shift_y = symmetric[:, 1] * self.width_shift, symmetric[:, 2] * self.height_shift
        if self.whole_pixels:  # m píxeles como máximo: 2m + 1 desplazamientos igual de probables
            shift_x = self._whole_pixel_shift(draws[:, 1], self.width_shift, width)
            shift_y = self._whole_pixel_shift(draws[:, 2], self.height_shift, height)
        return {
            "rotation": symmetric[:, 0] * self.rotation,
            "shift_x": shift_x,
            "shift_y": shift_y,
            "zoom_x": 1 + symmetric[:, 3] * self.zoom,
            "zoom_y": 1 + symmetric[:, 4] * self.zoom,
            "flip": flip if self.horizontal_flip else ops.zeros_like(flip),
        }

    @staticmethod
    def _whole_pixel_shift(uniform, fraction: float, size: int):
        most = round(fraction * size)
        return (ops.floor(uniform * (2 * most + 1)) - most) / size

    @staticmethod
    def affine_matrices(parameters: dict, height: int, width: int):
        """Compone giro, zoom, volteo y desplazamiento en la matriz de cada imagen.

        En el mismo orden que ``ImageDataGenerator.apply_transform`` (un test lo
        comprueba con los mismos parámetros): el punto de entrada de cada píxel
        de salida es ``centro + giro(desplazamiento + zoom(volteo(salida − centro)))``.

        El resultado tiene forma ``(batch, 8)`` con el formato de
        ``keras.ops.image.affine_transform``: para cada píxel de salida
        ``(x, y)`` da el punto de entrada ``(a0·x + a1·y + a2, b0·x + b1·y + b2)``.
        La transformación se aplica alrededor del centro de la imagen.
        """
        angle = parameters["rotation"] * (math.pi / 180)
        cos, sin = ops.cos(angle), ops.sin(angle)
        mirror = 1 - 2 * parameters["flip"]
        zx, zy = parameters["zoom_x"] * mirror, parameters["zoom_y"]
        a0, a1 = cos * zx, -sin * zy
        b0, b1 = sin * zx, cos * zy
        cx, cy = (width - 1) / 2, (height - 1) / 2
        # Como ImageDataGenerator (giro · desplazamiento · zoom): el desplazamiento también se gira.
        shift_x, shift_y = parameters["shift_x"] * width, parameters["shift_y"] * height
        a2 = cx + cos * shift_x - sin * shift_y - (a0 * cx + a1 * cy)
        b2 = cy + sin * shift_x + cos * shift_y - (b0 * cx + b1 * cy)
        zeros = ops.zeros_like(a0)
        return ops.stack([a0, a1, a2, b0, b1, b2, zeros, zeros], axis=1)

    def augment(self, images):
        """Transforma el lote: una matriz al azar por imagen y un solo :func:`affine_sample`."""
        parameters = self.sample_parameters(ops.shape(images)[0], images.shape[1], images.shape[2])
        matrices = self.affine_matrices(parameters, images.shape[1], images.shape[2])
        return affine_sample(images, matrices, self.interpolation, self.fill_mode)

    def call(self, images, training=None):
        return self.compiled_augment(images) if training else images

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {
            **super().get_config(),
            "rotation": self.rotation,
            "width_shift": self.width_shift,
            "height_shift": self.height_shift,
            "zoom": self.zoom,
            "horizontal_flip": self.horizontal_flip,
            "fill_mode": self.fill_mode,
            "interpolation": self.interpolation,
            "whole_pixels": self.whole_pixels,
            "seed": self.seed,
        }


# Los modelos guardados antes de que la capa se llamara así (models/mas_alla_del_90.keras) la nombran
# «SeedAugmentation»: se siguen cargando.
keras.saving.get_custom_objects()["cifar_lib>SeedAugmentation"] = AffineAugmentation


def build_augmentation(seed: int | None = None) -> AffineAugmentation:
    """La capa de aumento con los ajustes del informe (ver :data:`REPORT_SETTINGS`)."""
    return AffineAugmentation(
        rotation=REPORT_SETTINGS["rotation_range"],
        width_shift=REPORT_SETTINGS["width_shift_range"],
        height_shift=REPORT_SETTINGS["height_shift_range"],
        zoom=REPORT_SETTINGS["zoom_range"],
        horizontal_flip=REPORT_SETTINGS["horizontal_flip"],
        fill_mode=REPORT_SETTINGS["fill_mode"],
        seed=seed,
    )


def build_crop_and_flip(padding: int = 4, seed: int | None = None) -> AffineAugmentation:
    """El aumento de las recetas modernas de CIFAR-10: recorte aleatorio con relleno y volteo.

    Equivale a rellenar la imagen con ``padding`` píxeles reflejados en cada
    borde y recortar al azar un cuadrado de 32×32: un desplazamiento entero de
    hasta ``padding`` píxeles en cada eje, sin giro ni zoom.
    """
    return AffineAugmentation(
        rotation=0,
        width_shift=padding / 32,
        height_shift=padding / 32,
        zoom=0,
        horizontal_flip=True,
        fill_mode="reflect",
        interpolation="nearest",
        whole_pixels=True,
        seed=seed,
        name="crop_and_flip",
    )


def legacy_image_data_generator():
    """El ``ImageDataGenerator`` del informe, solo para comparar.

    Keras 3 ya no lo ofrece en su API pública; sobrevive en
    ``keras.src.legacy``. Transforma imagen a imagen con SciPy en la CPU, por
    eso el curso recomienda :func:`build_augmentation`.
    """
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    return ImageDataGenerator(**REPORT_SETTINGS)
