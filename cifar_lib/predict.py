"""Clasificar imágenes propias con el mejor modelo guardado del curso."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from cifar_lib.config import percent
from cifar_lib.data import CLASS_NAMES_ES, IMAGE_SHAPE

#: Los modelos que usa ``predecir`` si no se le da uno, del más preciso al menos: el de la red
#: rápida (cuaderno 08), el de la receta moderna (07) y el modelo final del paso 6.
DEFAULT_MODELS = tuple(
    Path("models") / name for name in ("red_rapida.keras", "mas_alla_del_90.keras", "final.keras")
)

HOW_TO_TRAIN = (
    "Ejecuta el cuaderno 08, el 07 o el 06 (python -m cifar_lib ejecutar 8) para entrenar y guardar uno, "
    "o indica otro con --modelo (uno entrenado con otro perfil está en salidas/<perfil>/models/)."
)


class PredictionError(RuntimeError):
    """No se puede predecir: falta el modelo o una imagen no se puede leer."""


def default_model(root: Path) -> Path:
    """El primero de :data:`DEFAULT_MODELS` que exista en ``root``."""
    for candidate in DEFAULT_MODELS:
        if (root / candidate).is_file():
            return root / candidate
    names = " ni ".join(path.as_posix() for path in DEFAULT_MODELS)
    raise PredictionError(f"No hay ningún modelo guardado: no existe {names}. {HOW_TO_TRAIN}")


def load_image(path: Path) -> tuple[np.ndarray, str | None]:
    """Lee un PNG o JPEG de cualquier tamaño y lo lleva a 32×32 RGB en [0, 1].

    Devuelve la imagen y una nota si se deformó (la proporción no era cuadrada).
    """
    from PIL import Image, UnidentifiedImageError

    if not path.is_file():
        raise PredictionError(f"No existe la imagen {path}.")
    try:
        with Image.open(path) as image:
            image = image.convert("RGB")
            width, height = image.size
            resized = image.resize(IMAGE_SHAPE[:2][::-1], Image.Resampling.BICUBIC)
    except (UnidentifiedImageError, OSError) as error:
        raise PredictionError(f"{path.name} no es una imagen PNG o JPEG legible ({error}).") from error
    note = None
    if abs(width / height - 1) > 0.05:
        note = f"la imagen mide {width}×{height}: se ha deformado a 32×32"
    return np.asarray(resized, dtype=np.float32) / 255, note


def load_final_model(path: Path):
    """Carga el modelo Keras guardado, con un error claro si no está."""
    if not path.is_file():
        raise PredictionError(f"No se encuentra el modelo {path}. {HOW_TO_TRAIN}")
    import keras

    import cifar_lib.models  # noqa: F401  (registra las capas propias del curso para cargar el modelo)

    try:
        return keras.saving.load_model(path)
    except Exception as error:  # un archivo .keras dañado o de otra versión
        raise PredictionError(
            f"No se pudo cargar el modelo {path.name} ({error}). Puede estar dañado o ser de otra versión "
            "de Keras: vuelve a entrenarlo o indica otro con --modelo."
        ) from error


def top_classes(probabilities: np.ndarray, k: int = 3) -> list[tuple[str, float]]:
    """Las ``k`` clases más probables, en español, con su probabilidad."""
    order = np.argsort(probabilities)[::-1][:k]
    return [(CLASS_NAMES_ES[i], float(probabilities[i])) for i in order]


def predict_files(paths: list[Path], model_path: Path) -> list[list[tuple[str, float]]]:
    """Imprime y devuelve las tres clases más probables de cada imagen."""
    loaded = [load_image(Path(p)) for p in paths]
    model = load_final_model(Path(model_path))
    print(f"Modelo: {Path(model_path).name}")
    probabilities = np.asarray(model.predict(np.stack([image for image, _ in loaded]), verbose=0))
    answers = []
    for path, (_, note), probs in zip(paths, loaded, probabilities):
        best = top_classes(probs)
        answers.append(best)
        print(f"{Path(path).name}:")
        for name, probability in best:
            print(f"  {name:<10} {percent(probability, 1):>7}")
        if note:
            print(f"  (nota: {note})")
    return answers
