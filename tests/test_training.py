"""Entrenar deja resultados completos; la misma semilla repite; un entrenamiento matado se reanuda."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time

import keras
import numpy as np
import pytest

from cifar_lib import augmentation, config, data, models, results, training
from tests.notebook_training import (
    compile_like_notebook_07,
    compile_like_notebook_08,
    compile_like_the_report,
    fit_like_the_notebooks,
)


@pytest.fixture
def tiny(official_archive):
    run_config = config.resolve_run("02", profile="prueba", epochs=2, train_samples=200, test_samples=100)
    cifar = data.load_cifar10(official_archive, train_samples=200, val_samples=50, test_samples=100)
    return run_config, cifar


def _train_once(run_config, cifar):
    keras.utils.set_random_seed(run_config.seed)
    model = models.build_model(run_config.step)
    run = fit_like_the_notebooks(model, cifar, run_config, verbose=0, fresh=True)
    return model, run, training.evaluate(model, cifar)


def test_short_training_writes_a_complete_results_file(tiny):
    run_config, cifar = tiny
    model, run, accuracy = _train_once(run_config, cifar)
    path = results.save_run(run_config, cifar, model, run, accuracy)
    record = json.loads(path.read_text(encoding="utf-8"))
    assert path == run_config.results_dir / "02.json"
    assert set(results.REQUIRED_KEYS) <= set(record)
    assert record["params"] == 127_130 and record["step"] == 2 and record["profile"] == "prueba"
    assert record["epochs_run"] == len(record["history"]["val_accuracy"]) == 2
    assert 0.0 <= record["test_accuracy"] <= 1.0 and record["train_seconds"] > 0
    assert record["data_source"].startswith("cifar-10-python.tar.gz")
    assert record["data_sha256"] == cifar.sha256 and len(cifar.sha256) == 64
    assert len(record["epoch_seconds"]) == 2 and sum(record["epoch_seconds"]) <= record["train_seconds"]
    assert record["resumed_at"] == []  # de un tirón
    assert record["backend"] in {"tensorflow", "jax", "torch"} and record["device"]
    assert not run_config.checkpoint_dir.is_relative_to(config.project_root())  # fuera del proyecto


def test_same_seed_same_metrics_on_the_cpu(tiny):
    run_config, cifar = tiny
    first, second = _train_once(run_config, cifar)[1:], _train_once(run_config, cifar)[1:]
    assert first[0].history == second[0].history
    assert first[1] == second[1]


def test_model_keeps_the_best_validation_weights(tiny):
    run_config, cifar = tiny
    model, run, _ = _train_once(run_config, cifar)
    best = max(run.history["val_accuracy"])
    assert run.best_epoch == run.history["val_accuracy"].index(best) + 1
    scores = model.evaluate(cifar.x_val, training.one_hot(cifar.y_val), verbose=0, return_dict=True)
    assert scores["accuracy"] == pytest.approx(best, abs=1e-6)


def test_saved_model_loads_and_predicts_the_same(tiny, tmp_path):
    run_config, cifar = tiny
    model, _, _ = _train_once(run_config, cifar)
    path = training.save_model(model, tmp_path / "modelo.keras")

    loaded = keras.saving.load_model(path)
    assert getattr(loaded, "optimizer", None) is None  # solo los pesos: el modelo final ocupa ≈13 MB, no 39
    expected = training.predict(model, cifar.x_test[:5])
    assert training.predict(loaded, cifar.x_test[:5]) == pytest.approx(expected, abs=1e-5)


TRAIN_SCRIPT = textwrap.dedent(
    """
    import json, sys
    from cifar_lib import config, data, models
    from tests.notebook_training import fit_like_the_notebooks
    source, epochs = sys.argv[1], int(sys.argv[2])
    run_config = config.resolve_run("03", profile="prueba", epochs=epochs)
    cifar = data.load_cifar10(source, train_samples=400, val_samples=50, test_samples=50)
    run = fit_like_the_notebooks(models.build_model(3), cifar, run_config, verbose=0)
    print(json.dumps({"resumed_from": run.resumed_from_epoch, "epochs_run": run.epochs_run,
                      "history": run.history}))
    """
)


@pytest.mark.slow
def test_a_killed_training_resumes_from_its_last_epoch(official_archive, tmp_path):
    script = tmp_path / "entrenar.py"
    script.write_text(TRAIN_SCRIPT)
    command = [sys.executable, str(script), str(official_archive), "8"]
    state = config.resolve_run("03", profile="prueba", epochs=8).checkpoint_dir / "estado.json"
    environment = {**os.environ, "PYTHONPATH": str(config.project_root())}  # el guion importa tests/
    victim = subprocess.Popen(command, stdout=subprocess.PIPE, env=environment)
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and victim.poll() is None:
        if state.exists() and json.loads(state.read_text())["epoch"] >= 2:
            break
        time.sleep(0.05)
    assert victim.poll() is None, "el entrenamiento terminó antes de poder interrumpirlo"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    interrupted_at = json.loads(state.read_text())["epoch"]

    finished = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    outcome = json.loads(finished.stdout.strip().splitlines()[-1])
    assert 2 <= outcome["resumed_from"] == interrupted_at < 8
    assert outcome["epochs_run"] == len(outcome["history"]["loss"]) == 8
    assert json.loads(state.read_text())["finished"]  # terminado: volver a lanzarlo solo carga los pesos
    again = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    assert json.loads(again.stdout.strip().splitlines()[-1]) == {**outcome, "resumed_from": 8}


def test_a_checkpoint_from_other_settings_is_not_resumed(tiny):
    run_config, cifar = tiny
    folder = run_config.checkpoint_dir
    folder.mkdir(parents=True)
    model = compile_like_the_report(models.build_model(run_config.step))
    model.save_weights(folder / "ultimo.weights.h5")
    other = {**training.resume_settings(run_config, cifar, model), "batch_size": 7}
    state = {"epoch": 1, "history": {}, "best": None, "best_epoch": None, "seconds": 1.0, "settings": other}
    (folder / "estado.json").write_text(json.dumps(state))
    run = fit_like_the_notebooks(models.build_model(run_config.step), cifar, run_config, verbose=0)
    assert run.resumed_from_epoch == 0 and run.epochs_run == 2
    # El entrenamiento con otros ajustes no se pierde: queda apartado junto al nuevo.
    aside = folder.with_name(folder.name + ".anterior")
    assert json.loads((aside / "estado.json").read_text())["settings"]["batch_size"] == 7


def test_another_split_or_another_network_is_not_resumed(tiny):
    import dataclasses

    run_config, cifar = tiny
    model = compile_like_the_report(models.build_model(2))
    settings = training.resume_settings(run_config, cifar, model)
    assert (
        training.resume_settings(run_config, cifar, compile_like_the_report(models.build_model(2)))
        == settings
    )
    reordered = dataclasses.replace(
        cifar, y_train=cifar.y_train[::-1].copy()
    )  # otra división, mismas imágenes
    assert training.resume_settings(run_config, reordered, model)["split"] != settings["split"]
    renamed = compile_like_the_report(keras.Sequential(models.build_model(2).layers, name="otra"))
    assert training.resume_settings(run_config, cifar, renamed)["model"] != settings["model"]


def test_a_changed_network_or_recipe_runs_as_personalizado_and_never_writes_the_course(tiny, monkeypatch):
    """«Prueba tú» con el perfil completo: cambiar la tasa o las capas en el código no pisa las salidas."""
    cifar = tiny[1]
    monkeypatch.delenv("CIFAR_OUTPUT_DIR")  # como en JupyterLab, sin variables de entorno
    root = config.project_root()
    for step in range(1, 7):  # el código de los cuadernos, sin tocar: la receta del curso
        untouched = config.resolve_run("06_final" if step == 6 else f"0{step}", profile="completo")
        assert training.recipe_changes(untouched, compile_like_the_report(models.build_model(step))) == []

    faster = config.resolve_run("02", profile="completo")
    assert faster.output_dir == root and faster.label == "completo"
    model = models.build_model(2)
    model.compile(optimizer=keras.optimizers.Adam(learning_rate=0.01), loss="categorical_crossentropy")
    training.checkpoint_for(faster, cifar, model)
    assert faster.label == "personalizado" and "learning_rate=0.01" in faster.describe()
    assert faster.output_dir == faster.results_dir.parent == root / "salidas" / "personalizado"
    assert faster.checkpoint_dir.name == "02_personalizado"  # no aparta el entrenamiento del curso

    recipe_07 = config.resolve_run("07", profile="completo")
    untouched_07 = compile_like_notebook_07(models.build_model(7), recipe_07, 45_000)
    assert training.recipe_changes(recipe_07, untouched_07) == []
    flat_end = compile_like_notebook_07(models.build_model(7), recipe_07, 45_000, alpha=0.1)
    assert training.recipe_changes(recipe_07, flat_end) == ["forma del calendario cambiada"]
    higher = compile_like_notebook_07(models.build_model(7), recipe_07, 45_000, peak=0.8)
    assert training.recipe_changes(recipe_07, higher) == ["learning_rate=0.8"]
    from_a_tenth = compile_like_notebook_07(
        models.build_model(7), recipe_07, 45_000, initial_learning_rate=0.04
    )
    assert training.recipe_changes(recipe_07, from_a_tenth) == ["forma del calendario cambiada"]
    with_dropout = keras.Sequential(
        [keras.Input((32, 32, 3)), augmentation.build_crop_and_flip(), *models.deep()]
    )
    with_dropout = compile_like_notebook_07(with_dropout, recipe_07, 45_000)
    assert training.recipe_changes(recipe_07, with_dropout) == ["capas cambiadas"]
    recipe_08 = config.resolve_run("08", profile="completo")
    untouched_08 = compile_like_notebook_08(models.build_model(8), recipe_08, 45_000)
    assert training.recipe_changes(recipe_08, untouched_08) == []
    heavier = compile_like_notebook_08(models.build_model(8), recipe_08, 45_000, momentum=0.9)
    assert training.recipe_changes(recipe_08, heavier) == ["momentum=0.9"]
    to_zero = compile_like_notebook_08(models.build_model(8), recipe_08, 45_000, alpha=0.0)
    assert training.recipe_changes(recipe_08, to_zero) == ["forma del calendario cambiada"]
    other_beta = models.build_model(1)
    other_beta.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001, beta_1=0.8), loss="categorical_crossentropy"
    )
    assert training.recipe_changes(config.resolve_run("01"), other_beta) == ["beta_1=0.8"]
    decaying = models.build_model(1)
    schedule = keras.optimizers.schedules.ExponentialDecay(0.001, decay_steps=100, decay_rate=0.9)
    decaying.compile(optimizer=keras.optimizers.Adam(learning_rate=schedule), loss="categorical_crossentropy")
    assert training.recipe_changes(config.resolve_run("01"), decaying) == ["calendario ExponentialDecay"]

    no_dropout = config.resolve_run("03", profile="completo")
    layers = [layer for layer in models.dropout() if not isinstance(layer, keras.layers.Dropout)]
    changed = compile_like_the_report(keras.Sequential([keras.Input((32, 32, 3)), *layers]))
    training.checkpoint_for(no_dropout, cifar, changed)
    assert no_dropout.code_changes == ["capas cambiadas"] and no_dropout.figures_dir.parent != root


class Interrupted(Exception):
    """Simula que el proceso muere justo después de guardar una época."""


def _interrupt_after(monkeypatch, epochs_done):
    original = training.ResumableCheckpoint.on_epoch_end

    def on_epoch_end(self, epoch, logs=None):
        original(self, epoch, logs)
        if epoch + 1 == epochs_done:
            raise Interrupted

    monkeypatch.setattr(training.ResumableCheckpoint, "on_epoch_end", on_epoch_end)
    return original


def _train_until_interrupted(monkeypatch, model, cifar, run_config, epochs_done, keep_best_at=()):
    """Entrena de cero y «mata» el proceso tras guardar ``epochs_done`` épocas."""
    original = _interrupt_after(monkeypatch, epochs_done)
    with pytest.raises(Interrupted):
        fit_like_the_notebooks(model, cifar, run_config, keep_best_at, fresh=True)
    monkeypatch.setattr(training.ResumableCheckpoint, "on_epoch_end", original)


def test_resuming_restores_optimizer_state_and_the_learning_rate_schedule(tiny, monkeypatch):
    run_config, cifar = tiny
    run_config = config.resolve_run("07", profile="prueba", epochs=4, train_samples=200, test_samples=100)
    steps = -(-len(cifar.y_train) // run_config.batch_size)

    def modern():  # una tasa que sube y baja: reanudar debe seguir en el mismo punto del calendario
        schedule = keras.optimizers.schedules.CosineDecay(
            1e-4, decay_steps=3 * steps, warmup_target=2e-3, warmup_steps=steps
        )
        # una red pequeña con todo lo que guarda estado: aumento aleatorio, batch norm y dropout
        layers = [augmentation.build_crop_and_flip(), *models.batch_norm()]
        model = keras.Sequential([keras.Input((32, 32, 3), name="image"), *layers], name="pequena")
        model.compile(optimizer=keras.optimizers.AdamW(schedule), loss="categorical_crossentropy")
        return model

    interrupted = modern()
    _train_until_interrupted(monkeypatch, interrupted, cifar, run_config, epochs_done=2)

    resumed = modern()
    callback = training.ResumableCheckpoint(
        run_config.checkpoint_dir, training.resume_settings(run_config, cifar, resumed)
    )
    assert callback.restore(resumed) == 2
    assert int(resumed.optimizer.iterations) == int(interrupted.optimizer.iterations) == 2 * steps
    rate = float(resumed.optimizer.learning_rate)
    assert rate == float(interrupted.optimizer.learning_rate) and rate > 0  # mismo punto del calendario
    for mine, theirs in zip(resumed.optimizer.variables, interrupted.optimizer.variables):
        assert (mine.numpy() == theirs.numpy()).all(), mine.path  # momentos incluidos
    # Pesos, medias de la BN y el estado de los generadores aleatorios del aumento y del dropout, que
    # model.save_weights no guarda: sin él, el aumento repetiría tras reanudar las transformaciones de la época 1.
    assert any(variable.name == "seed_generator_state" for variable in resumed.variables)
    for mine, theirs in zip(resumed.variables, interrupted.variables, strict=True):
        assert (np.asarray(mine) == np.asarray(theirs)).all(), mine.path


def test_resuming_keeps_the_early_stopping_patience_already_spent(tiny, monkeypatch):
    run_config, cifar = tiny
    run_config = config.resolve_run("02", profile="prueba", epochs=5, patience=2, train_samples=200)
    model = compile_like_the_report(models.build_model(2))
    _train_until_interrupted(monkeypatch, model, cifar, run_config, epochs_done=2)
    # La época 1 fue mucho mejor que todo lo que vendrá, y la 2 ya gastó una época de paciencia.
    state_path = run_config.checkpoint_dir / "estado.json"
    state = json.loads(state_path.read_text())
    state["history"]["val_loss"] = [0.01, 5.0]
    state_path.write_text(json.dumps(state))

    run = fit_like_the_notebooks(models.build_model(2), cifar, run_config, verbose=0)
    # Sin recuperar la paciencia, el EarlyStopping empezaría de cero y llegaría a la época 5.
    assert run.resumed_from_epoch == 2 and run.epochs_run == 3 and run.stopped_early


def test_a_resumed_run_keeps_each_epoch_time_and_says_where_it_resumed(tiny, monkeypatch):
    # Un entrenamiento de horas se interrumpe y se reanuda: su tiempo total debe poder leerse época a época.
    run_config, cifar = tiny
    run_config = config.resolve_run("02", profile="prueba", epochs=4, train_samples=200)
    _train_until_interrupted(monkeypatch, models.build_model(2), cifar, run_config, 3, keep_best_at=(2,))

    model = models.build_model(2)
    run = fit_like_the_notebooks(model, cifar, run_config, keep_best_at=(2,))
    assert run.resumed_at == [3] and len(run.epoch_seconds) == run.epochs_run == 4
    assert all(seconds > 0 for seconds in run.epoch_seconds)
    assert sum(run.epoch_seconds) <= run.train_seconds
    text = results.training_time_text(run)
    assert "de entrenamiento; una época," in text and "(mediana de 4 épocas)" in text
    assert text.endswith("reanudado tras la época 3")
    # Lo que habría dejado un entrenamiento de 2 épocas: sus tiempos, y sin reanudar (se cortó después).
    saved = training.ResumableCheckpoint(
        run_config.checkpoint_dir, training.resume_settings(run_config, cifar, model)
    )
    first_two = saved.finish(model, up_to_epoch=2)
    assert first_two.epoch_seconds == run.epoch_seconds[:2] and first_two.resumed_at == []


def test_running_the_fit_cell_again_does_not_count_the_resume_twice(tiny, monkeypatch):
    # En JupyterLab: se interrumpe el kernel antes de acabar la primera época reanudada y se vuelve a ejecutar
    # solo la celda de model.fit, con el mismo callback_accuracy.
    run_config, cifar = tiny
    _train_until_interrupted(monkeypatch, models.build_model(2), cifar, run_config, epochs_done=1)
    model = compile_like_the_report(models.build_model(2))
    callback = training.ResumableCheckpoint(
        run_config.checkpoint_dir, training.resume_settings(run_config, cifar, model)
    )
    assert callback.restore(model) == callback.restore(model) == 1
    assert callback.state["resumed_at"] == [1]


def test_a_checkpoint_saved_before_epochs_were_timed_still_resumes(tiny, monkeypatch):
    run_config, cifar = tiny
    run_config = config.resolve_run("02", profile="prueba", epochs=3, train_samples=200)
    _train_until_interrupted(monkeypatch, models.build_model(2), cifar, run_config, epochs_done=2)
    state_path = run_config.checkpoint_dir / "estado.json"
    state = json.loads(state_path.read_text())
    del state["epoch_seconds"], state["resumed_at"]  # como los guardaba la versión anterior
    state_path.write_text(json.dumps(state))

    run = fit_like_the_notebooks(models.build_model(2), cifar, run_config, verbose=0)
    assert run.epoch_seconds[:2] == [None, None] and run.epoch_seconds[2] > 0
    assert "(mediana de 1 época)" in results.training_time_text(run)


def _four_epochs_keeping_the_best_at(tiny, epochs, stop_after=None):
    """Cuatro épocas de la red del paso 2 guardando aparte los mejores pesos de las ``epochs`` primeras;
    con ``stop_after``, el entrenamiento se para tras esa época (como lo haría ``callback_loss``)."""
    run_config, cifar = tiny
    run_config = config.resolve_run("02", profile="prueba", epochs=4, train_samples=200)
    model = compile_like_the_report(models.build_model(2))
    callback = training.checkpoint_for(run_config, cifar, model, keep_best_at=(epochs,), fresh=True)
    stop = keras.callbacks.LambdaCallback(
        on_epoch_end=lambda epoch, logs: setattr(model, "stop_training", epoch + 1 == stop_after)
    )
    model.fit(
        cifar.x_train,
        training.one_hot(cifar.y_train),
        epochs=4,
        batch_size=run_config.batch_size,
        validation_data=(cifar.x_val, training.one_hot(cifar.y_val)),
        callbacks=[stop, callback],
        verbose=0,
    )
    return model, callback


def test_one_long_run_also_gives_what_a_shorter_run_would_have_kept(tiny):
    # Notebook 06: las 20 primeras épocas de las 100 son el entrenamiento de 20 épocas del informe.
    cifar = tiny[1]
    model, callback = _four_epochs_keeping_the_best_at(tiny, 2)
    whole = callback.finish(model)
    first_two = callback.finish(model, up_to_epoch=2)
    assert whole.epochs_run == 4 and first_two.epochs_run == 2 and not first_two.stopped_early
    assert first_two.history["val_accuracy"] == whole.history["val_accuracy"][:2]
    assert (
        first_two.best_epoch
        == first_two.history["val_accuracy"].index(max(first_two.history["val_accuracy"])) + 1
    )
    assert 0 < first_two.train_seconds < whole.train_seconds
    scores = model.evaluate(cifar.x_val, training.one_hot(cifar.y_val), verbose=0, return_dict=True)
    assert scores["accuracy"] == pytest.approx(max(first_two.history["val_accuracy"]), abs=1e-6)
    with pytest.raises(ValueError, match=r"3 primeras épocas \(solo los de las 2 primeras\)"):
        callback.finish(model, up_to_epoch=3)


def test_a_run_stopped_early_before_the_shorter_run_ends_is_also_that_shorter_run(tiny):
    # Cuaderno 06: si callback_loss para el entrenamiento en la época 2, el de 3 épocas también habría parado ahí.
    model, callback = _four_epochs_keeping_the_best_at(tiny, 3, stop_after=2)
    whole, first_three = callback.finish(model), callback.finish(model, up_to_epoch=3)
    assert whole.epochs_run == first_three.epochs_run == 2
    assert whole.stopped_early and first_three.stopped_early
    assert first_three.best_epoch == whole.best_epoch and first_three.history == whole.history


def test_test_time_flip_averages_each_image_with_its_left_right_mirror(tiny):

    run_config, cifar = tiny
    model = _train_once(run_config, cifar)[0]
    images = cifar.x_test[:16]
    mirrored = np.flip(images, axis=2)  # (N, alto, ancho, canales): el ancho es el eje 2
    expected = (training.predict(model, images) + training.predict(model, mirrored)) / 2
    upside_down = (training.predict(model, images) + training.predict(model, np.flip(images, axis=1))) / 2
    averaged = training.predict_with_flip(model, images)
    assert averaged == pytest.approx(expected, abs=1e-6)
    assert not np.allclose(averaged, upside_down, atol=1e-4)  # el test distingue el eje equivocado
    accuracy = np.mean(training.predict_with_flip(model, cifar.x_test).argmax(1) == cifar.y_test)
    assert training.evaluate_with_flip(model, cifar) == pytest.approx(accuracy)


def test_test_time_views_are_the_image_shifted_one_pixel_both_ways_each_with_its_mirror(monkeypatch):

    images = np.random.default_rng(0).random((3, 32, 32, 3), dtype=np.float32)
    seen = []

    def fake_predict(model, batch, batch_size=512):  # «probabilidades»: los 10 primeros números de cada vista
        seen.append(batch)
        return batch.reshape(len(batch), -1)[:, :10]

    monkeypatch.setattr(training, "predict", fake_predict)
    combined = training.predict_with_views(None, images)
    centre, mirror, up_left, up_left_mirror, down_right, down_right_mirror = seen
    assert np.array_equal(centre, images) and np.array_equal(mirror, images[:, :, ::-1])
    assert np.array_equal(up_left[:, 1:, 1:], images[:, :-1, :-1])  # el contenido baja y va a la derecha
    assert np.array_equal(up_left[:, 0, 1:], images[:, 1, :-1])  # el borde nuevo, el reflejo
    assert np.array_equal(down_right[:, :-1, :-1], images[:, 1:, 1:])
    assert np.array_equal(up_left_mirror, up_left[:, :, ::-1])
    assert np.array_equal(down_right_mirror, down_right[:, :, ::-1])
    first_ten = [view.reshape(3, -1)[:, :10] for view in seen]
    weights = [1 / 4, 1 / 4, 1 / 8, 1 / 8, 1 / 8, 1 / 8]  # la imagen sin desplazar pesa la mitad
    np.testing.assert_allclose(combined, sum(w * v for w, v in zip(weights, first_ten)), rtol=1e-6)


def test_lookahead_pulls_the_weights_back_to_their_average_every_few_steps_and_at_each_epoch_end():

    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(56, 3)).astype("float32"), rng.normal(size=(56, 1)).astype("float32")
    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(1, use_bias=False)])
    model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
    steps_per_epoch, epochs = 7, 2  # lotes de 8
    lookahead = training.Lookahead(steps_per_epoch * epochs, steps_per_epoch, every=3, strength=0.9)
    before, after = [], []

    class Record(keras.callbacks.Callback):
        def __init__(self, into):
            super().__init__()
            self.into = into

        def on_train_batch_end(self, batch, logs=None):
            self.into.append(np.array(self.model.weights[0]))

    start = np.array(model.weights[0])
    model.fit(x, y, batch_size=8, epochs=epochs, shuffle=False, verbose=0,
              callbacks=[Record(before), lookahead, Record(after)])  # fmt: skip
    average, pulled_at = start, []
    for step, (raw, result) in enumerate(zip(before, after), start=1):
        if step % 3 == 0 or step % steps_per_epoch == 0:
            decay = 0.9 * (step / 14) ** 3
            average = average + (1 - decay) * (raw - average)
            np.testing.assert_allclose(result, average, rtol=1e-5)
            pulled_at.append(step)
        else:
            np.testing.assert_array_equal(result, raw)
    assert pulled_at == [3, 6, 7, 9, 12, 14]
    assert not np.allclose(before[-1], after[-1])  # al final, promediar cambió los pesos


def test_grouping_steps_per_call_does_not_change_the_result(tiny):
    run_config, cifar = tiny
    # 200 imágenes en lotes de 32: 7 pasos por época, que con 4 por llamada van en 2 llamadas.
    run_config = config.resolve_run("02", profile="prueba", epochs=2, batch_size=32, train_samples=200)
    histories = []
    for steps in (1, 4):
        keras.utils.set_random_seed(run_config.seed)
        model = compile_like_the_report(models.build_model(run_config.step), steps_per_execution=steps)
        histories.append(fit_like_the_notebooks(model, cifar, run_config, verbose=0, fresh=True).history)
    assert histories[0]["loss"] == pytest.approx(histories[1]["loss"], rel=1e-4)


def test_steps_are_grouped_per_call_only_on_an_accelerator(monkeypatch):
    assert training.default_steps_per_execution() == 1  # la CPU de los tests
    monkeypatch.setattr(training, "device_name", lambda: "GPU NVIDIA H200")
    assert training.default_steps_per_execution() == training.ACCELERATOR_STEPS_PER_EXECUTION


def test_the_seed_set_before_building_fixes_the_initial_weights():

    weights = []
    for seed in (7, 7, 8):
        keras.utils.set_random_seed(seed)
        weights.append(models.build_model(2).get_layer("conv_1").get_weights()[0])
    assert (weights[0] == weights[1]).all() and not (weights[0] == weights[2]).all()
    # Validar los parámetros no toca el generador aleatorio: no cambia lo que se construye después.
    keras.utils.set_random_seed(7)
    config.resolve_run("02", profile="prueba", seed=123)
    assert (models.build_model(2).get_layer("conv_1").get_weights()[0] == weights[0]).all()


def test_a_result_saved_from_changed_code_is_recorded_as_personalizado(tiny):
    # Cuaderno 06: la ejecución de 20 épocas no pasa por checkpoint_for; save_run mira el modelo.
    cifar = tiny[1]
    layers = [layer for layer in models.dropout() if not isinstance(layer, keras.layers.Dropout)]
    changed = compile_like_the_report(keras.Sequential([keras.Input((32, 32, 3)), *layers]))
    short = config.resolve_run("03", profile="completo")
    run = training.TrainingRun(history={"loss": [1.0], "val_accuracy": [0.5]}, train_seconds=1.0)
    record = json.loads(results.save_run(short, cifar, changed, run, 0.5).read_text())
    assert record["label"] == "personalizado" and short.code_changes == ["capas cambiadas"]
