"""El aumento de datos del informe, rápido y para cualquier backend de Keras.

El informe usaba ``ImageDataGenerator`` (:data:`REPORT_SETTINGS`), que
transforma las imágenes de una en una con SciPy, en un solo núcleo.
:class:`AffineAugmentation` hace la misma transformación aleatoria, pero
compone giro, desplazamiento, zoom y volteo en una sola matriz afín por imagen
y transforma el lote entero con :func:`affine_sample`. Es una capa de Keras: va
dentro del modelo, se compila con el paso de entrenamiento y no actúa al evaluar.
"""

from __future__ import annotations

import inspect
import math

import keras
from keras import ops

#: Los ajustes del informe, con los nombres de ``ImageDataGenerator``.
REPORT_SETTINGS = dict(rotation_range=20, width_shift_range=0.2, height_shift_range=0.2, zoom_range=0.2)
REPORT_SETTINGS.update(horizontal_flip=True, fill_mode="nearest")


def affine_sample(images, matrices, interpolation: str = "bilinear", fill_mode: str = "nearest"):
    """Aplica a cada imagen del lote ``(batch, alto, ancho, canales)`` su transformación afín.

    ``matrices`` tiene forma ``(batch, 8)``, el formato de
    ``keras.ops.image.affine_transform``: para cada píxel de salida ``(x, y)``,
    el punto de entrada es ``(a0·x + a1·y + a2, b0·x + b1·y + b2)``; fuera de
    la imagen, ``fill_mode="nearest"`` repite el borde y ``"reflect"`` la refleja.

    Da lo mismo que ``affine_transform`` (los tests lo comprueban). Se escribe a
    mano porque el *kernel* de TensorFlow de esa función no se puede compilar
    con XLA, y este sí: en 2 núcleos de CPU, 18.426 frente a 2.388 imágenes/s
    con lotes de 32 (7,7×) y 37.433 frente a 17.737 con lotes de 512 (2,1×); con
    JAX, 1,2–1,3×. ``benchmarks/benchmark.py`` lo vuelve a medir en cada máquina.
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
    """``function`` compilada con XLA si el backend es TensorFlow (con JAX ya lo está todo el paso).

    Keras no usa XLA en la CPU, y sin él cada pequeña operación del aumento paga su propia llamada.
    """
    if keras.config.backend() != "tensorflow":
        return function
    import tensorflow as tf

    return tf.function(function, jit_compile=True, reduce_retracing=True)


@keras.saving.register_keras_serializable(package="cifar_lib")
class AffineAugmentation(keras.layers.Layer):
    """Rotación, desplazamiento, zoom y volteo aleatorios en una sola transformación afín.

    Como ``ImageDataGenerator``: giro uniforme en ±``rotation`` grados,
    desplazamiento de hasta ``width_shift`` y ``height_shift`` (fracciones del
    tamaño), zoom independiente en cada eje en [1 − zoom, 1 + zoom] y volteo
    horizontal de cada imagen con probabilidad 1/2; ``fill_mode`` e
    ``interpolation`` como en :func:`affine_sample`. Con ``whole_pixels=True``
    solo desplaza números enteros de píxeles, todos igual de probables (de −m a
    m, con m = round(fracción · tamaño)): lo que hace un recorte aleatorio de
    una imagen rellenada.
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
        """La transformación al azar de cada imagen del lote: tensores ``(batch_size,)`` de ángulo en
        grados (``rotation``), desplazamientos como fracción (``shift_x``, ``shift_y``), zoom
        (``zoom_x``, ``zoom_y``) y ``flip`` (1 o 0)."""
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
        """Compone giro, zoom, volteo y desplazamiento en la matriz ``(batch, 8)`` de cada imagen.

        En el orden de ``ImageDataGenerator.apply_transform`` (un test lo
        comprueba con los mismos parámetros), el punto de entrada de cada píxel
        de salida es ``centro + giro(desplazamiento + zoom(volteo(salida − centro)))``.
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
        names = inspect.signature(AffineAugmentation).parameters
        return {**super().get_config(), **{name: getattr(self, name) for name in names if name != "kwargs"}}


# Los modelos guardados antes de que la capa se llamara así (models/mas_alla_del_90.keras) la nombran
# «SeedAugmentation»: se siguen cargando.
keras.saving.get_custom_objects()["cifar_lib>SeedAugmentation"] = AffineAugmentation


def build_augmentation(seed: int | None = None) -> AffineAugmentation:
    """La capa de aumento con los ajustes del informe: los valores por defecto de la capa.

    Son los de :data:`REPORT_SETTINGS` (un test lo comprueba): giro de hasta 20°,
    desplazamiento y zoom de hasta un 20 %, volteo horizontal y relleno repitiendo el borde.
    """
    return AffineAugmentation(seed=seed)


def build_crop_and_flip(padding: int = 4, seed: int | None = None) -> AffineAugmentation:
    """Recorte aleatorio con relleno y volteo, el aumento de las recetas modernas de CIFAR-10.

    Equivale a rellenar con ``padding`` píxeles reflejados y recortar al azar un
    cuadrado de 32×32: un desplazamiento entero de hasta ``padding`` píxeles.
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
    """El ``ImageDataGenerator`` del informe, solo para comparar (Keras 3 lo guarda en ``keras.src.legacy``)."""
    from keras.src.legacy.preprocessing.image import ImageDataGenerator

    return ImageDataGenerator(**REPORT_SETTINGS)
