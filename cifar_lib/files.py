"""Escritura atómica: o el archivo completo, o ninguno."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def replace_atomically(path: str | os.PathLike, write: Callable[[Path], object]) -> Path:
    """Llama a ``write(temporal)`` con una ruta junto a ``path`` y la renombra a ``path`` si no falla.

    Si ``write`` falla, ``path`` queda como estaba y el temporal se borra: nunca hay un
    archivo a medias con el nombre definitivo (resultados, pesos, modelos, figuras, caché).
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
