"""Los cuadernos se ejecutan sin interfaz, sus salidas deterministas coinciden y los errores se ven."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cifar_lib import runner
from cifar_lib.config import REPORT_RUNS, ConfigError, project_root

NOTEBOOKS = project_root() / "notebooks"


def test_every_notebook_has_the_course_sections():
    names = sorted(path.name for path in NOTEBOOKS.glob("*.ipynb"))
    assert [name[:3] for name in names] == ["01_", "02_", "03_", "04_", "05_", "06_", "07_", "08_"]
    for path in NOTEBOOKS.glob("*.ipynb"):
        cells = nbformat.read(path, as_version=4).cells
        markdown = [cell.source for cell in cells if cell.cell_type == "markdown"]
        headings = [line for text in markdown for line in text.splitlines() if line.startswith("## ")]
        assert headings[0] == "## Un poco de teoría", path.name
        assert "## Idea y conclusión" in headings and headings[-1] == "## Prueba tú", path.name
        parameters = [cell for cell in cells if "parameters" in cell.metadata.get("tags", [])]
        assert len(parameters) == 1 and "PROFILE = None" in parameters[0].source, path.name
        # Los valores de una ejecución anterior no se quedan pegados al cuaderno.
        assert not [cell for cell in cells if "injected-parameters" in cell.metadata.get("tags", [])], (
            path.name
        )
        assert "Procedencia" in json.dumps([cell.get("outputs", []) for cell in cells]), path.name
        # Lo que escribe JupyterLab al abrirlo: abrir un cuaderno no lo deja modificado.
        assert nbformat.read(path, as_version=4).metadata["kernelspec"] == runner.KERNELSPEC, path.name


def test_a_previous_runs_injected_parameters_are_not_reused(tmp_path):
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("EPOCHS = None", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell("EPOCHS = 2", metadata={"tags": ["injected-parameters"]}),
            nbformat.v4.new_code_cell("print(EPOCHS)"),
        ]
    )
    nbformat.write(notebook, tmp_path / "n.ipynb")
    sources = [cell.source for cell in runner.without_injected_parameters(tmp_path / "n.ipynb").cells]
    assert sources == ["EPOCHS = None", "print(EPOCHS)"]


def _outputs_text(path: Path) -> str:
    return json.dumps([cell.get("outputs", []) for cell in nbformat.read(path, as_version=4).cells])


@pytest.mark.slow
def test_all_notebooks_run_headlessly_and_leave_results(image_archive, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CIFAR10_PATH", str(image_archive))
    executed = runner.run_notebooks(profile="prueba", output_dir=tmp_path)
    assert [path.name[:2] for path in executed] == ["01", "02", "03", "04", "05", "06", "07", "08"]
    saved = sorted(path.stem for path in (tmp_path / "results").glob("*.json"))
    assert saved == sorted(REPORT_RUNS)
    assert (tmp_path / "models" / "final.keras").exists()
    assert (tmp_path / "models" / "mas_alla_del_90.keras").exists()
    assert (tmp_path / "models" / "red_rapida.keras").exists()
    # Lo que imprimen las celdas (una línea por época) se ve mientras se ejecutan, sangrado.
    assert "      Ejecución 07 (paso 7): perfil prueba" in capsys.readouterr().out
    assert (tmp_path / "figures" / "06_confusion.png").exists()
    for path in executed:
        notebook = nbformat.read(path, as_version=4)
        assert "papermill" not in notebook.metadata
        text = _outputs_text(path)
        assert '"output_type": "error"' not in text
        assert str(tmp_path) not in text and str(image_archive.parent) not in text
        assert "Procedencia de las salidas" in text and "perfil prueba, " in text
        assert "\\u001b[" not in text  # sin códigos de color de terminal (los de model.summary())
        assert notebook.metadata["kernelspec"] == runner.KERNELSPEC
        # Las celdas deterministas (# NBVAL_CHECK_OUTPUT) dan lo mismo que en el cuaderno guardado.
        assert _checked_outputs(path) == _checked_outputs(NOTEBOOKS / path.name), path.name


def _checked_outputs(path: Path) -> list[str]:
    cells = nbformat.read(path, as_version=4).cells
    return [
        "".join(output.get("text", "") for output in cell.outputs)
        for cell in cells
        if cell.cell_type == "code" and "# NBVAL_CHECK_OUTPUT" in cell.source
    ]


@pytest.mark.slow
@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TRAIN_SAMPLES", 1_000_000, "TRAIN_SAMPLES pide 1.000.000 imágenes")
    ],  # los demás valores: test_config.py
)
def test_a_bad_parameter_stops_before_any_data_is_loaded(
    image_archive, tmp_path, monkeypatch, name, value, message
):
    monkeypatch.setenv("CIFAR10_PATH", str(image_archive))
    monkeypatch.delenv("CIFAR_OUTPUT_DIR", raising=False)
    monkeypatch.setenv("CIFAR_PROFILE", "rapido")
    with pytest.raises(runner.NotebookFailure) as failure:
        runner.run_notebooks([1], profile="prueba", output_dir=tmp_path, parameters={name: value})
    # el entorno de este proceso vuelve a estar como antes, aunque el cuaderno fallara
    assert os.environ["CIFAR_PROFILE"] == "rapido" and "CIFAR_OUTPUT_DIR" not in os.environ
    assert failure.value.notebook == "01_modelo_basico.ipynb"
    assert "ConfigError" in failure.value.error and message in failure.value.error
    assert "Datos:" not in _outputs_text(tmp_path / "notebooks" / "01_modelo_basico.ipynb")
    assert not (tmp_path / "cache").exists()


@pytest.mark.slow
def test_nbval_accepts_the_committed_notebook(image_archive, tmp_path):
    """nbval, como lo usaría un profesor, sobre el primer cuaderno (los demás ya los compara el test de arriba)."""
    environment = {
        **os.environ,
        "CIFAR_PROFILE": "prueba",
        "CIFAR10_PATH": str(image_archive),
        "CIFAR_OUTPUT_DIR": str(tmp_path / "salidas"),
        "MPLBACKEND": "Agg",
    }
    finished = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "--nbval-lax",
            "-p",
            "no:cacheprovider",
            "-q",
            str(NOTEBOOKS / "01_modelo_basico.ipynb"),
        ],
        capture_output=True,
        text=True,
        env=environment,
        cwd=tmp_path,
    )
    assert finished.returncode == 0, finished.stdout[-3000:]
    assert " passed" in finished.stdout


@pytest.mark.slow
@pytest.mark.real_data
def test_quick_profile_runs_on_the_real_copy(real_copy, tmp_path, monkeypatch):
    """El primer cuaderno con el perfil rápido sobre la copia real (todos, con datos sintéticos, arriba)."""
    monkeypatch.setenv("CIFAR10_PATH", str(real_copy))
    runner.run_notebooks([1], profile="rapido", output_dir=tmp_path)
    (record,) = [json.loads(path.read_text()) for path in (tmp_path / "results").glob("*.json")]
    assert record["run"] == "01" and record["profile"] == "rapido" and record["test_samples"] == 1_000
    assert record["data_source"].startswith(real_copy.name)
    assert 0.0 <= record["test_accuracy"] <= 1.0


def test_a_misspelt_parameter_is_rejected_with_the_valid_names(tmp_path):
    with pytest.raises(ConfigError, match="Parámetro desconocido: NOEXISTE") as error:
        runner.run_notebooks([1], profile="prueba", output_dir=tmp_path, parameters={"NOEXISTE": 3})
    assert "EPOCHS" in str(error.value) and "SEED" in str(error.value)
    assert not (tmp_path / "notebooks").exists()


@pytest.mark.slow
def test_several_seeds_run_the_default_one_last_so_its_notebook_is_the_one_kept(
    image_archive, tmp_path, monkeypatch, capsys
):
    """``ejecutar 1 --semillas 42 7``: un registro por semilla; queda el cuaderno de la 42, sin celda inyectada."""
    monkeypatch.setenv("CIFAR10_PATH", str(image_archive))
    (notebook,) = set(runner.run_notebooks([1], profile="prueba", output_dir=tmp_path, seeds=[42, 7]))
    progress = [line for line in capsys.readouterr().out.splitlines() if line.startswith("[")]
    assert progress == [
        "[1/2] 01_modelo_basico.ipynb (perfil prueba, semilla 7) …",
        "[2/2] 01_modelo_basico.ipynb (perfil prueba, semilla 42) …",
    ]
    saved = {
        json.loads(path.read_text())["seed"]: path.name for path in (tmp_path / "results").glob("*.json")
    }
    assert saved == {7: "01_semilla7.json", 42: "01.json"}
    assert "semilla 42" in _outputs_text(notebook) and "semilla 7" not in _outputs_text(notebook)
    cells = nbformat.read(notebook, as_version=4).cells
    assert not [cell for cell in cells if "injected-parameters" in cell.metadata.get("tags", [])]


def _folder_fingerprint(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()}


@pytest.mark.slow
def test_a_quick_run_opened_like_jupyterlab_never_touches_the_course_outputs(image_archive, monkeypatch):
    """Un estudiante pone PROFILE = "prueba" en la celda de parámetros y ejecuta todo, sin el ejecutor."""
    import nbclient

    root = project_root()
    monkeypatch.delenv("CIFAR_OUTPUT_DIR")
    monkeypatch.setenv("CIFAR10_PATH", str(image_archive))
    course = {name: _folder_fingerprint(root / name) for name in ("results", "figures", "models")}
    quick_outputs = root / "salidas" / "prueba"
    shutil.rmtree(quick_outputs, ignore_errors=True)
    notebook = nbformat.read(NOTEBOOKS / "01_modelo_basico.ipynb", as_version=4)
    for cell in notebook.cells:
        if "parameters" in cell.metadata.get("tags", []):
            cell.source = cell.source.replace("PROFILE = None", 'PROFILE = "prueba"')
    try:
        nbclient.NotebookClient(notebook, resources={"metadata": {"path": str(NOTEBOOKS)}}).execute()
        assert json.loads((quick_outputs / "results" / "01.json").read_text())["profile"] == "prueba"
        assert (quick_outputs / "figures" / "01_curvas.png").exists()
    finally:
        shutil.rmtree(quick_outputs, ignore_errors=True)
    assert {name: _folder_fingerprint(root / name) for name in course} == course


def _course_with_one_notebook(root: Path, monkeypatch) -> Path:
    """Un proyecto de mentira en ``root`` con un solo cuaderno del curso, ``notebooks/01_prueba.ipynb``.

    Mientras se ejecuta, el cuaderno comprueba que su versión guardada no lleva todavía nada de
    papermill; falla a propósito si la variable ``FALLA`` está definida.
    """
    notebook = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_code_cell("PROFILE = None", metadata={"tags": ["parameters"]}),
            nbformat.v4.new_code_cell(
                "import json, os\n"
                "saved = json.load(open('01_prueba.ipynb'))\n"
                "assert 'papermill' not in saved['metadata'], 'el cuaderno guardado ya se reescribió'\n"
                "if os.environ.get('FALLA'):\n"
                "    raise ValueError('fallo a propósito')\n"
                "print('terminado')"
            ),
        ]
    )
    (root / "notebooks").mkdir()
    nbformat.write(notebook, root / "notebooks" / "01_prueba.ipynb")
    monkeypatch.setattr(runner, "project_root", lambda: root)
    monkeypatch.setattr(runner, "notebooks_dir", lambda: root / "notebooks")
    return root / "notebooks" / "01_prueba.ipynb"


@pytest.mark.slow
def test_a_course_notebook_is_replaced_only_when_its_run_finishes(tmp_path, monkeypatch):
    """Durante una ejecución de horas, el cuaderno guardado sigue intacto; al terminar, se sustituye."""
    course_notebook = _course_with_one_notebook(tmp_path, monkeypatch)
    runner.run_notebooks(profile="completo", output_dir=tmp_path)
    assert "terminado" in _outputs_text(course_notebook)
    assert "papermill" not in nbformat.read(course_notebook, as_version=4).metadata
    assert list((tmp_path / "notebooks").rglob("*")) == [course_notebook]  # ni copia de trabajo ni su carpeta


@pytest.mark.slow
def test_a_failed_run_leaves_the_course_notebook_as_it_was_and_says_where_the_failed_one_is(
    tmp_path, monkeypatch
):
    course_notebook = _course_with_one_notebook(tmp_path, monkeypatch)
    before = course_notebook.read_bytes()
    monkeypatch.setenv("FALLA", "1")
    with pytest.raises(runner.NotebookFailure) as failure:
        runner.run_notebooks(profile="completo", output_dir=tmp_path)
    assert course_notebook.read_bytes() == before
    assert failure.value.saved_to == "salidas/fallidos/01_prueba.ipynb"
    assert "está en salidas/fallidos/01_prueba.ipynb" in str(failure.value)
    failed = tmp_path / "salidas" / "fallidos" / "01_prueba.ipynb"
    assert "ValueError" in _outputs_text(failed)  # el error, a la vista en el cuaderno que falló
    assert list((tmp_path / "notebooks").rglob("*")) == [course_notebook]
