"""Dónde calcula Keras y con qué versiones: los datos de procedencia de cada ejecución."""

from __future__ import annotations

import platform

import keras
import numpy as np


def device_name() -> str:
    """El dispositivo en el que calcula el backend de Keras (``CPU`` o el nombre de la GPU)."""
    try:
        if keras.config.backend() == "jax":
            import jax

            device = jax.devices()[0]
            return "CPU" if device.platform == "cpu" else f"{device.platform.upper()} {device.device_kind}"
        import tensorflow as tf

        gpus = tf.config.list_physical_devices("GPU")
        if not gpus:
            return "CPU"
        return f"GPU {tf.config.experimental.get_device_details(gpus[0]).get('device_name', gpus[0].name)}"
    except Exception:  # un backend o un dispositivo raro no debe impedir guardar resultados
        return "desconocido"


def library_versions() -> dict[str, str]:
    """Versiones de Python, Keras, NumPy y del backend en uso."""
    backend = keras.config.backend()
    versions = {"python": platform.python_version(), "keras": keras.__version__, "numpy": np.__version__}
    return {**versions, backend: __import__(backend).__version__}
