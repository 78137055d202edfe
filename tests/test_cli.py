"""La línea de órdenes habla español y falla con claridad."""

import json
import subprocess
import sys

import pytest
from PIL import Image

from cifar_lib import cli, models, plots, training
from tests.conftest import result_record
from tests.notebook_training import compile_like_the_report


def run_cli(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "cifar_lib", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


def test_help_is_in_spanish():
    finished = run_cli("--help")
    assert finished.returncode == 0
    for word in ("ejecutar", "resumen", "predecir", "órdenes"):
        assert word in finished.stdout


def test_summary_reads_a_results_folder(tmp_path, capsys):
    record = result_record("02", 2, 0.4, profile="rapido", label="rapido", params=127_130, epochs_run=2)
    (tmp_path / "02.json").write_text(json.dumps(record))
    assert cli.main(["resumen", "--resultados", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "127.130" in out and "40,00 %" in out and "66,47 %" in out


@pytest.fixture(scope="module")
def saved_model(tmp_path_factory):
    model = compile_like_the_report(models.build_model(1))
    return training.save_model(model, tmp_path_factory.mktemp("modelo") / "final.keras")


def test_predict_prints_three_spanish_classes_for_png_and_jpeg(tmp_path, saved_model, capsys):
    Image.new("RGB", (32, 32), (200, 30, 30)).save(tmp_path / "rojo.png")
    Image.new("RGB", (120, 60), (30, 30, 200)).save(tmp_path / "azul.jpg")
    assert (
        cli.main(
            ["predecir", str(tmp_path / "rojo.png"), str(tmp_path / "azul.jpg"), "--modelo", str(saved_model)]
        )
        == 0
    )
    out = capsys.readouterr().out
    assert "rojo.png:" in out and "azul.jpg:" in out
    assert out.count("%") == 6
    assert "120×60" in out and "deformado" in out


def test_predict_without_a_model_says_how_to_get_one(tmp_path, capsys):
    Image.new("RGB", (32, 32)).save(tmp_path / "a.png")
    assert cli.main(["predecir", str(tmp_path / "a.png"), "--modelo", str(tmp_path / "no.keras")]) == 1
    assert "ejecuta el cuaderno 08, el 07 o el 06" in capsys.readouterr().err.lower()


def test_predict_prefers_the_most_accurate_shipped_model(tmp_path, saved_model, monkeypatch, capsys):
    from cifar_lib import predict

    Image.new("RGB", (32, 32)).save(tmp_path / "a.png")
    monkeypatch.setattr(cli, "project_root", lambda: tmp_path)
    assert cli.main(["predecir", str(tmp_path / "a.png")]) == 1
    assert "No hay ningún modelo guardado" in capsys.readouterr().err
    for path in predict.DEFAULT_MODELS[::-1]:  # primero el del paso 6; después, además, el del 07 y el del 08
        (tmp_path / path).parent.mkdir(exist_ok=True)
        (tmp_path / path).write_bytes(saved_model.read_bytes())
        assert cli.main(["predecir", str(tmp_path / "a.png")]) == 0
        assert f"Modelo: {path.name}" in capsys.readouterr().out


def test_predict_refuses_an_unreadable_file(tmp_path, saved_model, capsys):
    (tmp_path / "falso.jpg").write_text("texto")
    assert cli.main(["predecir", str(tmp_path / "falso.jpg"), "--modelo", str(saved_model)]) == 1
    assert "falso.jpg no es una imagen" in capsys.readouterr().err


def test_a_step_without_notebook_is_refused_before_running_anything(capsys):
    assert cli.main(["ejecutar", "1", "9", "--perfil", "prueba"]) == 2  # antes, el 1 se ejecutaba y el 9 no
    assert "No hay cuaderno para el paso 9: los pasos van del 1 al 8." in capsys.readouterr().err


def test_seeds_are_chosen_one_way_only(tmp_path, capsys):
    arguments = ["ejecutar", "1", "--perfil", "prueba", "--destino", str(tmp_path), "--semillas", "7", "123"]
    assert cli.main([*arguments, "-p", "SEED", "3"]) == 2
    assert "Elige las semillas con --semillas o con -p SEED, no con los dos." in capsys.readouterr().err
    assert not (tmp_path / "notebooks").exists()


def test_summary_figures_regenerate_the_comparison(tmp_path, monkeypatch, capsys):
    from cifar_lib import config

    record = result_record("01", 1, 0.45, epochs_run=2, history={"val_accuracy": [0.4, 0.45]})
    shortened = result_record("06_final", 6, 0.65, label="personalizado", epochs_run=5)
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "01.json").write_text(json.dumps(record))
    (tmp_path / "results" / "06_final.json").write_text(json.dumps(shortened))
    plotted, draw = [], plots.compare_runs
    spy = lambda runs, save_to: plotted.extend(runs) or draw(runs, save_to)  # noqa: E731
    monkeypatch.setattr(plots, "compare_runs", spy)
    monkeypatch.setattr(config, "project_root", lambda: tmp_path)
    monkeypatch.setattr(cli, "project_root", lambda: tmp_path)
    benchmark = tmp_path / "benchmarks" / "resultados" / "tensorflow-cpu.json"
    benchmark.parent.mkdir(parents=True)
    benchmark.write_text(json.dumps({"training": [{"step": 1, "epoch_45000_s": 30.0}]}))
    (tmp_path / "README.md").write_text(
        "<!-- resultados:inicio -->\n<!-- resultados:fin -->\n<!-- coste:inicio -->\n<!-- coste:fin -->\n"
    )
    assert cli.main(["resumen", "--readme", "--figuras"]) == 0
    assert (tmp_path / "figures" / "comparacion.png").read_bytes()[:4] == b"\x89PNG"
    readme = (tmp_path / "README.md").read_text()
    assert "| 01 | 1 |" in readme
    cost_row = "| 01 | t | 45,00 % | cifar10-jpeg.tar.gz | 2 de 20 | 1 min 00 s |"  # 2 épocas de 30 s allí
    assert cost_row in readme
    # En la tabla de resultados está todo; en la del coste y en la figura, solo las completas.
    assert "| 06_final | 6 |" in readme and "| 06_final | t |" not in readme
    assert [r["run"] for r in plotted] == ["01"]  # la figura también
