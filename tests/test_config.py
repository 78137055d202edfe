"""Perfiles y validación de parámetros: los valores malos se paran con un mensaje en español."""

import pytest

from cifar_lib import config
from cifar_lib.config import ConfigError, resolve_run


def test_complete_profile_uses_the_reports_hyperparameters():
    for run, epochs, batch in [
        ("01", 20, 512),
        ("05", 20, 512),
        ("06_20_epocas", 20, 32),
        ("06_final", 100, 32),
    ]:
        chosen = resolve_run(run, profile="completo")
        assert (chosen.epochs, chosen.batch_size) == (epochs, batch)
        assert chosen.train_samples is chosen.val_samples is chosen.test_samples is None


def test_quick_profile_is_small_but_keeps_the_batch_size():
    chosen = resolve_run("06_final", profile="rapido")
    assert chosen.epochs <= 2 and chosen.train_samples <= 5_000
    assert chosen.batch_size == 32


def test_profile_comes_from_the_environment_when_not_given(monkeypatch):
    monkeypatch.setenv("CIFAR_PROFILE", "rapido")
    assert resolve_run("01").profile == "rapido"
    assert resolve_run("01", profile="completo").profile == "completo"


def test_explicit_values_override_the_profile():
    chosen = resolve_run("03", profile="rapido", epochs=7, batch_size=64, train_samples=123)
    assert (chosen.epochs, chosen.batch_size, chosen.train_samples) == (7, 64, 123)


@pytest.mark.parametrize("bad", [0, -1, "3", 2.5, True])
def test_bad_epochs_name_the_parameter(bad):
    with pytest.raises(ConfigError, match="EPOCHS"):
        resolve_run("01", epochs=bad)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("epochs", -1, "EPOCHS debe ser 1 o mayor"),
        ("batch_size", "muchas", "BATCH_SIZE debe ser un número entero"),
    ],
)
def test_a_bad_value_names_the_parameter_and_the_rule(name, value, message):
    with pytest.raises(ConfigError, match=message):
        resolve_run("01", **{name: value})


def test_unknown_profile_lists_the_valid_ones():
    with pytest.raises(
        ConfigError,
        match="Perfil desconocido: .rapidisimo.. Los valores válidos son: completo, rapido, prueba.",
    ):
        resolve_run("01", profile="rapidisimo")


def test_unknown_run_lists_the_valid_ones():
    with pytest.raises(ConfigError, match="06_final"):
        resolve_run("09")


def test_more_samples_than_cifar_has_is_refused():
    with pytest.raises(ConfigError, match="TRAIN_SAMPLES.*45000"):
        resolve_run("01", train_samples=50_000)
    with pytest.raises(ConfigError, match="TEST_SAMPLES"):
        resolve_run("01", test_samples=10_001)


@pytest.mark.parametrize("bad", [0, -0.1, 1.5, "0.1", None])
def test_fractions_must_lie_in_zero_one(bad):
    with pytest.raises(ConfigError, match=r"\(0, 1\]|número"):
        config.check_fraction("PEAK_LEARNING_RATE", bad)


def test_outputs_go_where_cifar_salidas_says(tmp_path, monkeypatch):
    monkeypatch.setenv("CIFAR_OUTPUT_DIR", str(tmp_path))
    chosen = resolve_run("02")
    assert chosen.results_dir == tmp_path / "results"
    assert chosen.figures_dir == tmp_path / "figures"


def test_description_reads_in_spanish():
    assert "1 época," in resolve_run("01", epochs=1).describe()
    assert "20 épocas" in resolve_run("01", profile="completo").describe()


def test_only_a_complete_run_with_its_own_settings_writes_the_course_folders(monkeypatch):
    monkeypatch.delenv("CIFAR_OUTPUT_DIR")  # como en JupyterLab: sin variables de entorno
    root = config.project_root()
    assert resolve_run("05", profile="completo").output_dir == root
    # Otra semilla del perfil completo: su registro con los demás en results/ (05_semilla7.json), pero sus
    # figuras, su modelo y su cuaderno no sustituyen a los de la semilla de las salidas guardadas.
    other_seed = resolve_run("05", profile="completo", seed=7)
    assert (
        other_seed.results_dir == root / "results" and other_seed.output_dir == root / "salidas" / "semilla7"
    )
    assert other_seed.label == "completo"
    # Y su propio punto de control: entrenar la semilla 7 no aparta el entrenamiento terminado de la 42.
    assert other_seed.checkpoint_dir != resolve_run("05", profile="completo").checkpoint_dir
    assert resolve_run("05", profile="completo", epochs=20).output_dir == root  # lo mismo que el perfil
    assert resolve_run("05", profile="rapido").output_dir == root / "salidas" / "rapido"
    shortened = resolve_run("06_final", profile="completo", epochs=5)
    assert shortened.output_dir == root / "salidas" / "personalizado"
    assert shortened.label == "personalizado" and dict(shortened.overrides) == {"EPOCHS": 5}
    assert "personalizado" in shortened.describe() and "EPOCHS=5" in shortened.describe()
    assert resolve_run("01", profile="completo", patience=3).label == "personalizado"


def test_a_missing_backend_is_explained_in_spanish_when_the_course_is_imported():
    import importlib.util
    import os
    import subprocess
    import sys

    if importlib.util.find_spec("torch") is not None:
        pytest.skip("aquí PyTorch está instalado")
    environment = {**os.environ, "KERAS_BACKEND": "torch"}
    finished = subprocess.run(
        [sys.executable, "-c", "import cifar_lib"], capture_output=True, text=True, env=environment
    )
    assert finished.returncode != 0
    assert "backend «torch», pero no está instalado" in finished.stderr
