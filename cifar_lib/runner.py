"""Ejecuta los cuadernos del curso sin interfaz, con papermill, y los deja limpios.

Dónde escribe lo decide :func:`~cifar_lib.config.default_output_dir`. De cada
cuaderno ejecutado se quitan los metadatos de papermill, los avisos de
arranque, los colores de terminal y las rutas de esta máquina.
"""

from __future__ import annotations

import ast
import contextlib
import os
import re
import sys
import sysconfig
import time
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import nbformat

from cifar_lib.config import (
    DEFAULT_SEED,
    OUTPUT_ENV,
    PROFILE_ENV,
    ConfigError,
    check_profile,
    default_output_dir,
    enumeration,
    project_root,
)
from cifar_lib.results import format_seconds, summary_table


@dataclass
class NotebookFailure(Exception):
    """Un cuaderno falló: cuál, en qué celda y con qué error."""

    notebook: str
    cell: int | None
    error: str
    #: El cuaderno ejecutado, con el error a la vista (``None`` si no llegó a ejecutarse).
    saved_to: str | None = None

    def __str__(self) -> str:
        where = f" en la celda [{self.cell}]" if self.cell is not None else ""
        saved = f"\n  Lo ejecutado, con el error, está en {self.saved_to}" if self.saved_to else ""
        return f"El cuaderno {self.notebook} falló{where}:\n  {self.error}{saved}"


def notebooks_dir() -> Path:
    return project_root() / "notebooks"


def without_injected_parameters(path: Path) -> nbformat.NotebookNode:
    """El cuaderno sin la celda ``injected-parameters`` de una ejecución anterior (papermill solo
    la sustituye si se le pasan parámetros): cuentan la celda ``parameters`` y lo que se pase ahora."""
    notebook = nbformat.read(path, as_version=4)
    notebook.cells = [c for c in notebook.cells if "injected-parameters" not in c.metadata.get("tags", [])]
    return notebook


#: Avisos de arranque de TensorFlow (registro de C++), sin interés para el estudiante.
_BACKEND_NOISE = re.compile(r"^(WARNING: All log messages before absl|[IWE]\d{4} \d\d:\d\d:).*\n?", re.M)


#: Los metadatos de kernel que JupyterLab escribe al abrir un cuaderno.
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
#: Códigos de color de terminal (los de ``model.summary()`` en texto plano).
_ANSI_COLORS = re.compile(r"\x1b\[[0-9;]*m")


def clean_notebook(path: Path, replacements: dict[str, str]) -> None:
    """Quita metadatos de papermill, avisos de arranque, colores de terminal y rutas de esta máquina; conserva los contadores."""
    notebook = nbformat.read(path, as_version=4)
    notebook.metadata.pop("papermill", None)
    notebook.metadata["kernelspec"] = KERNELSPEC  # lo que escribe JupyterLab: abrirlo no lo modifica
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
        outputs = []
        for output in cell.get("outputs", []):
            if output.get("name") == "stderr":
                output["text"] = _BACKEND_NOISE.sub("", output["text"])
                if not output["text"].strip():
                    continue
            if "text" in output:
                output["text"] = _clean_text(output["text"], replacements)
            previous = outputs[-1] if outputs else None
            if previous and output["output_type"] == "stream" and previous.get("name") == output.get("name"):
                previous["text"] += output["text"]  # una salida por flujo (stdout, stderr): diffs legibles
                continue
            outputs.append(output)
            for key, value in output.get("data", {}).items():
                if key.startswith("text/") and isinstance(value, str):
                    output["data"][key] = _clean_text(value, replacements)
        if cell.cell_type == "code":
            cell.outputs = outputs
    nbformat.write(notebook, path)


def _clean_text(text: str, replacements: dict[str, str]) -> str:
    for old, new in replacements.items():
        text = text.replace(old, new)
    return _ANSI_COLORS.sub("", text)


def path_replacements(output_dir: Path) -> dict[str, str]:
    """Las rutas absolutas que no deben quedar en un cuaderno, y su sustituto."""
    pairs = {
        str(output_dir.resolve()): ".",
        str(project_root()): ".",
        sysconfig.get_paths()["purelib"]: "<site-packages>",
        sys.prefix: "<python>",
        str(Path.home()): "~",
    }
    return dict(sorted(pairs.items(), key=lambda item: -len(item[0])))


def run_notebooks(
    steps: list[int] | None = None,
    profile: str | None = None,
    output_dir: Path | None = None,
    parameters: dict | None = None,
    seeds: list[int] | None = None,
) -> list[Path]:
    """Ejecuta los cuadernos de los pasos ``steps`` (todos si no se dan) y devuelve sus rutas.

    ``parameters`` son valores para la celda ``parameters`` (``papermill -p``).
    Con ``seeds``, cada cuaderno se ejecuta una vez por semilla, y la semilla por
    defecto la última: su cuaderno, el que se guarda, muestra así en su tabla las demás.
    Sin ``output_dir``, rige :func:`~cifar_lib.config.default_output_dir`. Si un
    cuaderno falla, :class:`NotebookFailure` dice cuál, en qué celda y por qué.
    """
    profile = check_profile(profile)
    notebooks = sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))
    if not notebooks:
        raise ConfigError(
            f"No hay cuadernos en {notebooks_dir()}: ejecuta la orden desde la carpeta del curso."
        )
    available = [int(path.name[:2]) for path in notebooks]
    missing = sorted(set(steps or ()) - set(available))
    if missing:
        which = f"{'el paso' if len(missing) == 1 else 'los pasos'} {enumeration(missing)}"
        raise ConfigError(
            f"No hay cuaderno para {which}: los pasos van del {available[0]} al {available[-1]}."
        )
    notebooks = [path for path in notebooks if not steps or int(path.name[:2]) in steps]
    parameters = parameters or {}
    if seeds and "SEED" in parameters:
        raise ConfigError("Elige las semillas con --semillas o con -p SEED, no con los dos.")
    check_parameter_names(parameters, notebooks)
    changes_settings = any(
        value is not None for name, value in parameters.items() if name not in NEUTRAL_PARAMETERS
    )
    label = "personalizado" if changes_settings else profile
    output_dir = Path(output_dir or default_output_dir(label)).resolve()
    in_place = output_dir == project_root().resolve() and label == "completo"
    seeds = list(dict.fromkeys(seeds or [parameters.get("SEED", DEFAULT_SEED)]))
    seeds.sort(key=DEFAULT_SEED.__eq__)  # la semilla por defecto, la última
    jobs = [
        (source, _notebook_folder(output_dir, in_place, seed) / source.name, _with_seed(parameters, seed))
        for source in notebooks
        for seed in seeds
    ]
    replacements = path_replacements(output_dir)
    kernel_environment = {PROFILE_ENV: profile, "TF_CPP_MIN_LOG_LEVEL": "3"}  # sin el registro de C++ de TF
    if not in_place:  # fuera del proyecto, todo a la carpeta elegida; en él, decide cada cuaderno
        kernel_environment[OUTPUT_ENV] = str(output_dir)
    # Los kernels heredan el entorno de este proceso; al salir del with, vuelve a ser el de antes.
    with mock.patch.dict(os.environ, kernel_environment):
        if in_place:
            os.environ.pop(OUTPUT_ENV, None)
        executed = _execute_in_order(jobs, profile, replacements)
    print()
    print(summary_table(output_dir / "results"))
    return executed


def _with_seed(parameters: dict, seed: int) -> dict:
    """Los parámetros con ``SEED``, salvo que sea la de por defecto: el cuaderno del curso no lleva celda inyectada."""
    return parameters if seed == parameters.get("SEED", DEFAULT_SEED) else {**parameters, "SEED": seed}


def _notebook_folder(output_dir: Path, in_place: bool, seed: int) -> Path:
    """Dónde queda un cuaderno ejecutado: en ``notebooks/``, solo el del curso con la semilla por defecto."""
    if not in_place:
        return output_dir / "notebooks"
    if seed != DEFAULT_SEED:  # otra semilla: su registro va a results/, su cuaderno aparte
        return default_output_dir(f"semilla{seed}") / "notebooks"
    return notebooks_dir()


def _execute_in_order(jobs, profile, replacements) -> list[Path]:
    """Ejecuta cada ``(cuaderno, destino, parámetros)`` de ``jobs``, en orden.

    Papermill guarda el cuaderno tras cada celda en una copia de trabajo
    (:func:`working_copy`); el destino solo se sustituye cuando el cuaderno
    termina sin error. Así, mientras dura una ejecución de horas, o si se
    interrumpe o falla, el cuaderno guardado del curso sigue siendo el de antes.
    """
    import papermill
    from papermill.exceptions import PapermillExecutionError

    executed = []
    for number, (source, target, parameters) in enumerate(jobs, start=1):
        working = working_copy(target)
        working.parent.mkdir(parents=True, exist_ok=True)
        seed = parameters.get("SEED", DEFAULT_SEED)
        print(f"[{number}/{len(jobs)}] {source.name} (perfil {profile}, semilla {seed}) …", flush=True)
        start = time.perf_counter()
        try:
            papermill.execute_notebook(
                without_injected_parameters(source),
                str(working),
                parameters=parameters,
                cwd=str(notebooks_dir()),
                progress_bar=False,
                stdout_file=IndentedEcho(sys.stdout),
                kernel_name="python3",
            )
        except PapermillExecutionError as error:
            failed = _put_in_place(working, failed_copy(target), replacements)
            raise NotebookFailure(
                source.name, error.exec_count, f"{error.ename}: {error.evalue}", _shown(failed)
            ) from None
        _put_in_place(working, target, replacements)
        print(f"      terminado en {format_seconds(time.perf_counter() - start)}", flush=True)
        executed.append(target)
    return executed


def working_copy(target: Path) -> Path:
    """Dónde escribe papermill mientras se ejecuta ``target``: una carpeta oculta a su lado
    (``notebooks/.en_curso/``), que git ignora y en la que no se buscan cuadernos."""
    return target.parent / ".en_curso" / target.name


def _put_in_place(working: Path, destination: Path, replacements: dict[str, str]) -> Path:
    """Limpia la copia de trabajo (:func:`clean_notebook`), la mueve a ``destination`` y borra su
    carpeta si queda vacía (si no, otra ejecución en marcha escribe en ella)."""
    clean_notebook(working, replacements)
    destination.parent.mkdir(parents=True, exist_ok=True)
    working.replace(destination)
    with contextlib.suppress(OSError):
        working.parent.rmdir()
    return destination


def failed_copy(target: Path) -> Path:
    """Dónde queda un cuaderno que falló: en su destino, salvo que sea un cuaderno del curso
    (``notebooks/``), que no se toca; entonces, en ``salidas/fallidos/``."""
    if target.parent.resolve() == notebooks_dir().resolve():
        return project_root() / "salidas" / "fallidos" / target.name
    return target


def _shown(path: Path) -> str:
    """La ruta para un mensaje: relativa al proyecto si está dentro."""
    try:
        return path.resolve().relative_to(project_root().resolve()).as_posix()
    except ValueError:
        return str(path)


class IndentedEcho:
    """Repite, sangrado, lo que imprimen las celdas mientras se ejecutan (el progreso por época)."""

    def __init__(self, stream, indent: str = "      "):
        self.stream = stream
        self.indent = indent
        self.at_line_start = True

    def write(self, text: str) -> None:
        for piece in text.splitlines(keepends=True):
            if self.at_line_start:
                self.stream.write(self.indent)
            self.stream.write(piece)
            self.at_line_start = piece.endswith("\n")
        self.stream.flush()

    def flush(self) -> None:
        self.stream.flush()


#: Parámetros que no cambian la receta: con cualquier otro (EPOCHS, PEAK_LEARNING_RATE, PROFILE…), la
#: ejecución es «personalizado» y no reescribe los cuadernos del curso. Otra semilla escribe su
#: cuaderno aparte (ver :attr:`cifar_lib.config.RunConfig.results_dir`).
NEUTRAL_PARAMETERS = ("SEED", "DATA_PATH")


def parameter_names(path: Path) -> set[str]:
    """Los nombres que asigna la celda ``parameters`` de un cuaderno."""
    notebook = nbformat.read(path, as_version=4)
    names = set()
    for cell in notebook.cells:
        if "parameters" in cell.metadata.get("tags", []):
            for node in ast.walk(ast.parse(cell.source)):
                if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
                    names.add(node.id)
    return names


def check_parameter_names(parameters: dict, notebooks: list[Path]) -> None:
    """Rechaza, con la lista de los válidos, un parámetro que ningún cuaderno elegido tiene."""
    valid = set().union(*(parameter_names(path) for path in notebooks))
    unknown = sorted(set(parameters) - valid)
    if unknown:
        raise ConfigError(
            f"{'Parámetro desconocido' if len(unknown) == 1 else 'Parámetros desconocidos'}: {', '.join(unknown)}. "
            f"Los válidos (en mayúsculas, como en la celda de parámetros) son: {', '.join(sorted(valid))}."
        )


def parse_parameters(pairs: list[list[str]] | None) -> dict:
    """``[["EPOCHS", "3"], ["PROFILE", "rapido"]]`` → ``{"EPOCHS": 3, "PROFILE": "rapido"}`` (como ``papermill -p``)."""
    parameters = {}
    for name, text in pairs or []:
        try:
            parameters[name] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            parameters[name] = text
    return parameters
