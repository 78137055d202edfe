"""Escritura atómica: o el archivo completo, o ninguno."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path


class atomic_writer:
    """Abre un archivo temporal junto a ``path`` y lo renombra al cerrar sin error.

    Un fallo a mitad de escritura borra el temporal: nunca queda un archivo a
    medias con el nombre definitivo.
    """

    def __init__(self, path: str | os.PathLike, mode: str = "wb"):
        self.path = Path(path)
        self.mode = mode

    def __enter__(self):
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.")
        self.handle = os.fdopen(fd, self.mode, **({} if "b" in self.mode else {"encoding": "utf-8"}))
        return self.handle

    def __exit__(self, kind, value, traceback):
        self.handle.close()
        if kind is None:
            os.replace(self.tmp, self.path)
        else:
            os.unlink(self.tmp)
        return False


def replace_atomically(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Llama a ``write(temporal)`` con una ruta junto a ``path`` y la renombra a ``path`` si no falla.

    Para lo que escribe otra biblioteca (pesos de Keras, figuras de matplotlib): si
    ``write`` falla, el temporal se borra y ``path`` queda como estaba.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".tmp-{path.name}")
    try:
        write(temporary)
        temporary.replace(path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
