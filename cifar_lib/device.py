"""Dónde calcula Keras y con qué versiones: los datos de procedencia de cada ejecución."""

from __future__ import annotations

import platform

import keras
import numpy as np


def device_name() -> str:
    """El dispositivo en el que calcula el backend de Keras (``CPU`` o el nombre de la GPU)."""
    backend = keras.config.backend()
    try:
        if backend == "jax":
            import jax

            device = jax.devices()[0]
            return "CPU" if device.platform == "cpu" else f"{device.platform.upper()} {device.device_kind}"
        if backend == "tensorflow":
            import tensorflow as tf

            gpus = tf.config.list_physical_devices("GPU")
            if gpus:
                details = tf.config.experimental.get_device_details(gpus[0])
                return f"GPU {details.get('device_name', gpus[0].name)}"
            return "CPU"
        if backend == "torch":
            import torch

            return f"GPU {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "CPU"
    except Exception:  # un dispositivo raro no debe impedir guardar resultados
        pass
    return "desconocido"


def library_versions() -> dict[str, str]:
    """Versiones de Python, Keras, NumPy y del backend en uso."""
    versions = {"python": platform.python_version(), "keras": keras.__version__, "numpy": np.__version__}
    backend = keras.config.backend()
    module = {"tensorflow": "tensorflow", "jax": "jax", "torch": "torch"}.get(backend)
    if module:
        versions[module] = __import__(module).__version__
    return versions
