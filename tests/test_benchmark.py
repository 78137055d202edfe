"""El benchmark mide las dos formas de aumentar datos con las mismas imágenes y escribe la tabla del README."""

import importlib.util
import json

import numpy as np
import pytest

from cifar_lib import config, training


def _load(script: str):
    path = config.project_root() / "benchmarks" / f"{script}.py"
    spec = importlib.util.spec_from_file_location(script, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def benchmark():
    return _load("benchmark")


def test_augmentation_is_timed_both_ways_on_the_same_images(benchmark):
    images = np.random.default_rng(0).random((64, 32, 32, 3), dtype=np.float32)
    row = benchmark.augmentation_only_rates(images, batch_size=32, repeats=1)
    assert row["batch_size"] == 32
    assert row["image_data_generator_img_s"] > 0 and row["build_augmentation_img_s"] > 0
    expected = row["build_augmentation_img_s"] / row["image_data_generator_img_s"]
    assert row["ratio"] == pytest.approx(expected, rel=0.01)
    # La razón de escribir affine_sample a mano, medida: frente a keras.ops.image.affine_transform.
    assert row["keras_affine_transform_img_s"] > 0
    expected = row["build_augmentation_img_s"] / row["keras_affine_transform_img_s"]
    assert row["ratio_vs_keras_op"] == pytest.approx(expected, rel=0.01)


def test_readme_table_has_one_row_per_step_and_both_augmentation_tables(benchmark, tmp_path):
    training = [
        {"step": s, "params": 1, "batch_size": 512, "images": 1, "train_img_s": 1000.0, "epoch_45000_s": 45.0}
        for s in benchmark.STEPS
    ]
    augmentation = {"batch_size": 32, "image_data_generator_img_s": 5000, "build_augmentation_img_s": 30000}
    report = {
        "backend": "jax",
        "device": "GPU NVIDIA H200",
        "training": training,
        "augmentation_only": [{**augmentation, "ratio": 6.0}],
        "augmentation": [{**augmentation, "steps_per_execution": 1, "ratio": 6.0}],
    }
    (tmp_path / "jax-gpu.json").write_text(json.dumps(report))
    (tmp_path / "receta_07.json").write_text(json.dumps({"backend": "jax", "variants": []}))  # otro script
    table = benchmark.readme_table(tmp_path)
    step_rows = [line for line in table.splitlines() if line.startswith("| ") and line[2].isdigit()]
    assert [row.split(" | ")[0] for row in step_rows] == [f"| {s}" for s in benchmark.STEPS]
    assert step_rows[-1].startswith("| 8 | 1.973.968 | 1.024 |")  # el lote del 08, con punto de millares
    assert "imágenes/s (jax, GPU NVIDIA H200)" in table and "sin medir" in table
    assert table.count("| jax, GPU NVIDIA H200 | 32 |") == 2 and "6,0×" in table  # coma decimal


def test_training_speed_is_the_steady_pace_between_batches_not_the_start_of_fit(benchmark):
    # Lotes de 32 que terminan a los 10 s (el primero: compilar y arrancar), 10,5 s y 11,5 s (el 4.º).
    assert benchmark.steady_rate([(0, 10.0), (1, 10.5), (3, 11.5)], batch_size=32) == 32 / 0.5
    # Un tropiezo de la máquina (el 4.º lote tarda 3 s) no cambia el ritmo: es la mediana.
    assert benchmark.steady_rate([(0, 10.0), (1, 10.5), (2, 11.0), (3, 14.0)], batch_size=32) == 32 / 0.5
    assert benchmark.steady_rate([(0, 10.0)], batch_size=32) is None  # un solo lote: no hay ritmo


def test_training_rate_times_one_real_epoch_of_a_course_network(benchmark):
    row = benchmark.training_rate(step=1, batch_size=64, count=512)
    assert (row["step"], row["params"], row["batch_size"], row["images"]) == (1, 98_993, 64, 512)
    assert row["train_img_s"] > 0
    assert row["epoch_45000_s"] == pytest.approx(45_000 / row["train_img_s"], rel=0.01)


def test_each_variant_of_the_notebook_07_ablation_changes_one_thing_of_its_recipe():
    """benchmarks/receta_07.py mide qué aporta cada cambio: cada variante es la receta del 07 con uno distinto."""
    ablation = _load("receta_07")
    recipe_07 = config.resolve_run("07", profile="completo")
    changes = {}
    for name, (build, compile_model) in ablation.VARIANTS.items():
        model = compile_model(build(), 880)
        assert model.count_params() == 3_253_834, name  # siempre la misma red
        changes[name] = training.recipe_changes(recipe_07, model)
    assert changes == {
        "receta del 07": [],
        "pico 0,4": ["learning_rate=0.4"],
        "BN del informe (momentum 0,99)": ["capas cambiadas"],
        "dropout del informe": ["capas cambiadas"],
        "receta anterior (AdamW)": [
            "capas cambiadas", "forma del calendario cambiada", "optimizador AdamW",
            "learning_rate=0.002", "weight_decay=0.0005", "label_smoothing=0.1",
        ],
    }  # fmt: skip
