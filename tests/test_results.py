"""Resultados guardados, tabla resumen frente al informe y gráficas sin pantalla."""

import json
from pathlib import Path

import numpy as np
import pytest
from matplotlib.collections import PathCollection

from cifar_lib import plots, results, training
from cifar_lib.config import project_root
from tests.conftest import result_record as _record


@pytest.fixture
def results_dir(tmp_path):
    folder = tmp_path / "results"
    folder.mkdir()
    for record in (_record("06_final", 6, 0.9), _record("01", 1, 0.4799)):
        (folder / f"{record['run']}.json").write_text(json.dumps(record))
    return folder


def test_runs_come_back_in_course_order(results_dir):
    assert [r["run"] for r in results.load_runs(results_dir)] == ["01", "06_final"]


def test_summary_puts_the_reports_accuracy_beside_ours(results_dir):
    table = results.summary_table(results_dir)
    lines = table.splitlines()
    assert "precisión test" in lines[0] and "informe" in lines[0]
    assert "47,99 %" in lines[2] and "48,17 %" in lines[2] and "1 min 15 s" in lines[2]
    assert "90,00 %" in lines[3] and "90,12 %" in lines[3]
    assert results.summary_table(results_dir, markdown=True).startswith("| ejecución |")


def test_a_foreign_json_is_rejected_by_name(results_dir):
    (results_dir / "otro.json").write_text(json.dumps({"run": "x"}))
    with pytest.raises(ValueError, match="otro.json.*faltan"):
        results.load_runs(results_dir)


def test_empty_results_say_what_to_do(tmp_path):
    assert "ejecuta los cuadernos" in results.summary_table(tmp_path)


def test_per_class_accuracy_and_confusion_counts():
    truth, predicted = np.array([0, 0, 1, 1, 2]), np.array([0, 1, 1, 1, 0])
    counts = results.confusion_counts(truth, predicted, 3)
    assert counts.tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 0]]
    assert results.per_class_accuracy(truth, predicted, 3).tolist() == [0.5, 1.0, 0.0]


def _is_png(path):
    return path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_every_plot_returns_its_figure_and_saves_a_png(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = rng.random((6, 32, 32, 3)).astype("float32"), np.arange(6)
    probabilities = rng.dirichlet(np.ones(10), size=6)
    history = {
        "loss": [2.0, 1.5],
        "val_loss": [2.1, 1.7],
        "accuracy": [0.3, 0.5],
        "val_accuracy": [0.28, 0.45],
    }
    figures = {
        "curvas.png": plots.learning_curves(history, save_to=tmp_path / "curvas.png"),
        "cuadricula.png": plots.image_grid(images, labels, save_to=tmp_path / "cuadricula.png"),
        "predicciones.png": plots.predictions(
            images, probabilities, labels, save_to=tmp_path / "predicciones.png"
        ),
        "confusion.png": plots.confusion_matrix(
            labels, probabilities.argmax(1), save_to=tmp_path / "confusion.png"
        ),
    }
    for name, figure in figures.items():
        assert _is_png(tmp_path / name)
        assert figure.axes


def test_learning_curves_speak_spanish_in_percent_with_the_previous_step_beside():
    history = {"loss": [9.0, 1.5, 1.0], "val_loss": [8.0, 1.6, 1.2], "accuracy": [0.3, 0.5, 0.6]}
    history["val_accuracy"] = [0.35, 0.45, 0.55]
    figure = plots.learning_curves(history, previous={"val_accuracy": [0.3, 0.4]}, previous_label="paso 1")
    figure.canvas.draw()
    loss_axis, accuracy_axis = figure.axes
    assert [axis.get_title() for axis in figure.axes] == ["Pérdida (entropía cruzada)", "Precisión"]
    assert {axis.get_xlabel() for axis in figure.axes} == {"época"}
    legend = [text.get_text() for text in accuracy_axis.get_legend().get_texts()]
    assert legend == ["entrenamiento", "validación", "validación, paso 1"]
    assert max(accuracy_axis.lines[1].get_ydata()) == pytest.approx(55)  # en %, como el texto
    assert all(
        label.get_text().endswith(" %") for label in accuracy_axis.get_yticklabels() if label.get_text()
    )
    assert any("," in label.get_text() for label in loss_axis.get_yticklabels())  # coma decimal: 1,5
    assert {tick for tick in loss_axis.get_xticks() if 1 <= tick <= 3} <= {1.0, 2.0, 3.0}  # épocas enteras
    assert loss_axis.get_ylim()[1] < 9.0  # la primera época no aplasta el resto de la curva


def test_readme_sections_are_replaced_between_their_marks(tmp_path):
    readme = tmp_path / "README.md"
    readme.write_text("antes\n<!-- tabla:inicio -->\nvieja\n<!-- tabla:fin -->\ndespués\n")
    results.replace_section(readme, "tabla", "| nueva |")
    assert readme.read_text() == "antes\n<!-- tabla:inicio -->\n| nueva |\n<!-- tabla:fin -->\ndespués\n"
    with pytest.raises(ValueError, match="marcas"):
        results.replace_section(readme, "otra", "x")


def test_the_table_says_what_the_report_says_and_marks_shortened_runs(tmp_path):
    shortened = {**_record("06_final", 6, 0.65), "label": "personalizado", "overrides": {"EPOCHS": 5}}
    shortened["epochs_run"] = 5
    flipped = {**_record("07", 7, 0.8649), "test_accuracy_with_flip": 0.8729}
    for record in (shortened, flipped, _record("03", 3, 0.7251), _record("04", 4, 0.7264)):
        (tmp_path / f"{record['run']}.json").write_text(json.dumps(record))
    rows = {row["ejecución"]: row for row in results.summary_rows(results.load_runs(tmp_path))}
    assert rows["03"]["informe"] == "casi un 73 %"
    assert rows["04"]["informe"].startswith("sin cifra")  # el informe no da número para el paso 4
    assert rows["06_final"]["perfil"] == "personalizado" and rows["06_final"]["épocas"] == "5 de 100"
    assert rows["07"]["precisión test"] == "86,49 % (87,29 % con volteo)"


def test_a_figure_that_fails_to_save_leaves_the_old_one_and_no_temporary(tmp_path, monkeypatch):
    import matplotlib.pyplot as plt

    target = tmp_path / "curvas.png"
    target.write_bytes(b"la figura anterior")

    def broken_savefig(figure, path, **kwargs):
        Path(path).write_bytes(b"a medias")
        raise OSError("disco lleno")

    monkeypatch.setattr(plt.Figure, "savefig", broken_savefig)
    with pytest.raises(OSError, match="disco lleno"):
        plots.learning_curves({"loss": [1.0, 0.5], "accuracy": [0.1, 0.2]}, save_to=target)
    assert [p.name for p in tmp_path.iterdir()] == ["curvas.png"]
    assert target.read_bytes() == b"la figura anterior"


def test_a_model_that_fails_to_save_leaves_no_temporary(tmp_path, monkeypatch):
    import keras

    from cifar_lib import models, training

    def broken_save(self, path, *args, **kwargs):
        Path(path).write_bytes(b"a medias")
        raise OSError("disco lleno")

    monkeypatch.setattr(keras.Model, "save", broken_save)
    with pytest.raises(OSError, match="disco lleno"):
        training.save_model(models.build_model(1), tmp_path / "final.keras")
    assert list(tmp_path.iterdir()) == []


def test_several_seeds_of_a_run_show_their_mean_and_spread(tmp_path):
    # Un solo número no distingue 0,13 puntos de la suerte: con varias semillas, media ± desviación típica.
    for seed, accuracy in ((42, 0.4413), (7, 0.5006), (123, 0.4805)):
        name = "01" if seed == 42 else f"01_semilla{seed}"
        (tmp_path / f"{name}.json").write_text(json.dumps(_record("01", 1, accuracy, seed=seed)))
    (tmp_path / "02.json").write_text(json.dumps(_record("02", 2, 0.66, seed=42)))
    rows = {row["ejecución"]: row for row in results.summary_rows(results.load_runs(tmp_path))}
    assert len(rows) == 2  # una fila por ejecución, no una por semilla
    assert rows["01"]["precisión test"] == "47,41 % ± 3,02 (3 semillas)"
    assert rows["02"]["precisión test"] == "66,00 %"
    table = results.seed_table(tmp_path, "01")
    assert table.splitlines()[2].startswith("| 7 | 50,06 %")  # por semilla, en orden
    assert "media ± desviación típica | 47,41 % ± 3,02 (3 semillas)" in table


def test_the_fast_network_is_judged_by_its_six_view_accuracy_and_says_so(tmp_path):
    for seed, views in ((42, 0.9405), (7, 0.9391), (123, 0.9420)):
        record = {**_record("08", 8, views - 0.01, seed=seed), "test_accuracy_with_flip": views - 0.004}
        record["test_accuracy_with_views"] = views
        (tmp_path / f"08{'' if seed == 42 else f'_semilla{seed}'}.json").write_text(json.dumps(record))
    rows = results.summary_rows(results.load_runs(tmp_path))
    assert rows[0]["precisión test"] == "94,05 % ± 0,15 con 6 vistas (3 semillas)"
    assert "| 7 | 93,91 % con 6 vistas |" in results.seed_table(tmp_path, "08")
    (tmp_path / "08_semilla7.json").unlink()
    (tmp_path / "08_semilla123.json").unlink()
    single = results.summary_rows(results.load_runs(tmp_path))[0]
    assert single["precisión test"] == "93,05 % (94,05 % con 6 vistas)"


def test_steps_are_compared_by_their_time_on_one_machine_the_benchmarks(tmp_path):
    """Cada ejecución se entrenó en una máquina; el coste se compara en la del benchmark."""
    benchmark = tmp_path / "benchmark.json"
    rows = [{"step": 5, "epoch_45000_s": 900.0}, {"step": 8, "epoch_45000_s": 300.0}]
    benchmark.write_text(json.dumps({"training": rows}))
    epoch_seconds = results.benchmark_epoch_seconds(benchmark)
    assert epoch_seconds == {5: 900.0, 8: 300.0}
    five = _record("05", 5, 0.81, train_samples=45_000, train_seconds=3193)  # medido en otra máquina
    fast = {**_record("08", 8, 0.926, epochs_run=10, train_samples=45_000), "test_accuracy_with_views": 0.934}
    shortened = _record("06_final", 6, 0.65, label="personalizado", epochs_run=5, train_samples=45_000)
    assert results.same_machine_seconds(five, epoch_seconds) == 20 * 900
    assert results.same_machine_seconds({**five, "train_samples": 4_500}, epoch_seconds) == 20 * 90
    assert results.same_machine_seconds(shortened, epoch_seconds) is None  # el paso 6 no se midió
    table = results.cost_rows([five, fast, shortened], epoch_seconds)
    assert [(r["ejecución"], r["precisión test"], r["tiempo en la CPU del benchmark"]) for r in table] == [
        ("05", "81,00 %", "5 h 00 min"),
        ("08", "93,40 % con 6 vistas", "50 min 00 s"),
    ]  # solo las completas
    assert results.benchmark_epoch_seconds(tmp_path / "no_existe.json") == {}


def test_the_comparison_figure_places_runs_at_their_same_machine_time(tmp_path):
    five = _record("05", 5, 0.81, train_samples=45_000, params=3_253_834)
    fast = {**_record("08", 8, 0.926, epochs_run=10, train_samples=45_000), "test_accuracy_with_views": 0.934}
    shortened = _record("06_final", 6, 0.65, label="personalizado", epochs_run=5, train_samples=45_000)
    figure = plots.compare_runs([five, shortened, fast], epoch_seconds={5: 900.0, 6: 1800.0, 8: 300.0})
    by_time = figure.axes[1]
    assert [text.get_text() for text in by_time.texts] == ["05", "06_final (personalizado)", "08"]
    points = [tuple(collection.get_offsets()[0]) for collection in by_time.collections]
    # En minutos de la CPU del benchmark, y con la precisión de más vistas.
    assert points == [(300.0, 81.0), (150.0, 65.0), (50.0, pytest.approx(93.4))]
    assert "CPU del benchmark" in by_time.get_xlabel()
    measured = plots.compare_runs([five], epoch_seconds={})
    assert tuple(measured.axes[1].collections[0].get_offsets()[0]) == (75.4 / 60, 81.0)


def test_seeds_trained_on_different_data_are_never_averaged_together(tmp_path):
    # El archivo oficial y la copia JPEG no son los mismos datos: sus semillas van en filas distintas.
    official, jpeg = "1" * 64, "2" * 64
    for seed, accuracy, data in ((42, 0.73, official), (7, 0.74, official), (123, 0.70, jpeg)):
        name = "03" if seed == 42 else f"03_semilla{seed}"
        record = _record("03", 3, accuracy, seed=seed, data_sha256=data)
        (tmp_path / f"{name}.json").write_text(json.dumps(record))
    rows = results.summary_rows(results.load_runs(tmp_path))
    assert [row["precisión test"] for row in rows] == ["73,50 % ± 0,71 (2 semillas)", "70,00 %"]
    table = results.seed_table(tmp_path, "03")
    assert "| 123 |" not in table
    assert "media ± desviación típica | 73,50 % ± 0,71 (2 semillas)" in table
    assert table.endswith("No entran aquí: 1 semilla con otros datos.")


def test_every_row_says_which_data_trained_it(tmp_path):
    official = _record("01", 1, 0.45, data_source="cifar-10-python.tar.gz (archivo oficial de CIFAR-10)")
    jpeg = _record("03", 3, 0.72, data_source="cifar10-jpeg.tar.gz (archivo de carpetas de imágenes)")
    for record in (official, jpeg):
        (tmp_path / f"{record['run']}.json").write_text(json.dumps(record))
    runs = results.load_runs(tmp_path)
    files = ["cifar-10-python.tar.gz", "cifar10-jpeg.tar.gz"]
    assert [row["datos"] for row in results.summary_rows(runs)] == files
    assert [row["datos"] for row in results.cost_rows(runs, {1: 3.0, 3: 21.0})] == files


def test_the_comparison_figure_places_a_step_with_several_seeds_at_their_mean_with_its_spread():
    seeds = [_record("01", 1, accuracy, seed=seed) for seed, accuracy in ((7, 0.50), (42, 0.44), (123, 0.44))]
    by_params = plots.compare_runs(seeds, epoch_seconds={1: 3.0}).axes[0]
    (point,) = [tuple(c.get_offsets()[0]) for c in by_params.collections if isinstance(c, PathCollection)]
    assert point == (98_993, pytest.approx(46.0))  # la media de las tres, no la semilla 42
    (bar,) = by_params.containers  # ± una desviación típica: 3,46 puntos
    low, high = bar.lines[2][0].get_segments()[0][:, 1]
    assert (low, high) == (pytest.approx(46.0 - 3.464, abs=1e-3), pytest.approx(46.0 + 3.464, abs=1e-3))


def test_a_trial_without_the_previous_step_compares_with_the_course_saved_run(tmp_path):
    saved = json.loads((project_root() / "results" / "03.json").read_text(encoding="utf-8"))["history"]
    trial = tmp_path / "salidas" / "personalizado" / "results"  # solo se ha ejecutado el 04 cambiado
    trial.mkdir(parents=True)
    assert results.load_history(trial, "03") == saved
    (trial / "03.json").write_text(json.dumps({"history": {"val_accuracy": [0.5]}}))
    assert results.load_history(trial, "03") == {"val_accuracy": [0.5]}  # el de la misma carpeta, si lo hay
    assert results.load_history(trial, "no_existe") is None


def test_the_training_time_says_the_median_epoch_and_after_which_epochs_it_resumed():
    # Cuaderno 06: cien épocas en varias sesiones; una época sin tiempo propio (de antes de cronometrarlas) no cuenta.
    run = training.TrainingRun(
        history={}, train_seconds=7_500, epoch_seconds=[None, 60, 61, 300], resumed_at=[1, 3]
    )
    assert results.training_time_text(run) == (
        "2 h 05 min de entrenamiento; una época, 1 min 01 s (mediana de 3 épocas); reanudado tras las épocas 1 y 3"
    )
    three_times = training.TrainingRun(
        history={}, train_seconds=60, epoch_seconds=[60], resumed_at=[14, 35, 57]
    )
    assert results.training_time_text(three_times).endswith("reanudado tras las épocas 14, 35 y 57")
    once = training.TrainingRun(history={}, train_seconds=59, epoch_seconds=[59])
    assert results.training_time_text(once) == "59 s de entrenamiento; una época, 59 s (mediana de 1 época)"
