"""cifar_lib: la biblioteca del curso «CIFAR-10 con redes neuronales».

Módulos, uno por tarea:

- :mod:`cifar_lib.config`: perfiles (``completo``, ``rapido``, ``prueba``) y validación de parámetros;
- :mod:`cifar_lib.data`: leer CIFAR-10 de una copia local o de la descarga oficial, dividir y escalar;
- :mod:`cifar_lib.models`: la red de cada paso, ``build_model(paso)``;
- :mod:`cifar_lib.augmentation`: el aumento de datos del informe como capa de Keras;
- :mod:`cifar_lib.training`: compilar, entrenar con reanudación y evaluar;
- :mod:`cifar_lib.results`: guardar resultados con su procedencia y la tabla resumen;
- :mod:`cifar_lib.plots`: curvas, imágenes, predicciones y matriz de confusión;
- :mod:`cifar_lib.runner` y :mod:`cifar_lib.cli`: ejecutar los cuadernos y la línea de órdenes.

Importar el paquete no importa Keras ni TensorFlow: cada módulo carga lo que necesita.
Solo comprueba que está instalado el backend que Keras va a usar, para decirlo en español.
"""

import importlib.util
import json
import os
from pathlib import Path

__version__ = "1.0.0"


def _check_backend() -> None:
    """Como Keras: KERAS_BACKEND, si no ``keras.json`` de la carpeta de Keras, si no TensorFlow."""
    settings = Path(os.environ.get("KERAS_HOME", Path.home() / ".keras")) / "keras.json"
    try:
        configured = json.loads(settings.read_text()).get("backend", "tensorflow")
    except (OSError, ValueError, AttributeError):
        configured = "tensorflow"
    backend = os.environ.get("KERAS_BACKEND", configured)
    if backend in ("tensorflow", "jax", "torch") and importlib.util.find_spec(backend) is None:
        raise ImportError(
            f"Keras va a usar el backend «{backend}», pero no está instalado. Instálalo "
            f"(pip install {backend}) o elige uno instalado con la variable KERAS_BACKEND (tensorflow o jax)."
        )


_check_backend()
