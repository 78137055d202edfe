"""Pruebas reducidas de la receta del cuaderno 07: qué aporta cada cambio, medido.

Una ejecución completa del cuaderno 07 (30 épocas con 45.000 imágenes) tarda horas en una CPU,
así que aquí cada variante se entrena en pequeño y en las mismas condiciones: las mismas
imágenes de entrenamiento (10.000), de validación (2.000) y el test completo, 6 épocas, lotes
de 512 y la semilla 42. Cada variante cambia una sola cosa de la receta del cuaderno 07:

- ``receta del 07``: la del cuaderno (sin dropout, BN con ``momentum=0.9``, L2 2,5·10⁻⁴, SGD con
  Nesterov y la tasa que sube hasta 0,1 en el primer 20 % y baja como un coseno, label smoothing 0,2);
- ``pico 0,4``: la tasa máxima de Page («How to train your ResNet»), cuatro veces mayor;
- ``BN del informe``: las medias móviles de BN con el ``momentum=0.99`` de Keras;
- ``dropout del informe``: las tasas del paso 5 (0,2, 0,25, 0,35 y 0,5);
- ``receta anterior``: la que tenía antes el cuaderno (la red del paso 5 tal cual, AdamW con
  pico 0,002 y *weight decay* 5·10⁻⁴, label smoothing 0,1).

Con tan pocos pasos (120) las cifras quedan lejos de las de una ejecución completa y exageran lo
que tarda en arrancar cada receta: sirven para comparar variantes entre sí, no para predecir la
precisión final. Uso, desde la raíz del proyecto y con ``CIFAR10_PATH`` apuntando a los datos::

    python benchmarks/receta_07.py            # las cinco variantes (unos 40 min en 2 núcleos)
    python benchmarks/receta_07.py --rapido   # una pasada mínima, solo para comprobar que funciona

Imprime una tabla y la guarda en ``benchmarks/resultados/receta_07.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402

from cifar_lib import augmentation, config, data, device, models, training  # noqa: E402

PEAK = 0.1


def compile_like_notebook_07(model: keras.Model, total_steps: int, peak: float = PEAK) -> keras.Model:
    """La celda de ``model.compile`` del cuaderno 07, con la tasa máxima ``peak``."""
    warmup_steps = int(0.2 * total_steps)
    learning_rate = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        warmup_target=peak,
        warmup_steps=warmup_steps,
        decay_steps=total_steps - warmup_steps,
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=learning_rate, momentum=0.9, nesterov=True),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.2),
        metrics=["accuracy"],
    )
    return model


def compile_like_the_previous_recipe(model: keras.Model, total_steps: int) -> keras.Model:
    """La receta anterior del cuaderno 07: AdamW, subida de 2 épocas desde un décimo del pico."""
    warmup_steps = min(2 * total_steps // 6, total_steps - 1)
    learning_rate = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0002,
        warmup_target=0.002,
        warmup_steps=warmup_steps,
        decay_steps=total_steps - warmup_steps,
    )
    model.compile(
        optimizer=keras.optimizers.AdamW(learning_rate=learning_rate, weight_decay=5e-4),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.1),
        metrics=["accuracy"],
    )
    return model


def network(*layers) -> keras.Sequential:
    return keras.Sequential([keras.Input(data.IMAGE_SHAPE, name="image"), *layers], name="variante")


NO_DROPOUT = (0, 0, 0, 0)
VARIANTS = {
    "receta del 07": (lambda: models.build_model(7), compile_like_notebook_07),
    "pico 0,4": (
        lambda: models.build_model(7),
        lambda model, steps: compile_like_notebook_07(model, steps, 0.4),
    ),
    "BN del informe (momentum 0,99)": (
        lambda: network(
            augmentation.build_crop_and_flip(),
            *models.deep(dropout=NO_DROPOUT, bn_momentum=0.99, weights_l2=2.5e-4),
        ),
        compile_like_notebook_07,
    ),
    "dropout del informe": (
        lambda: network(augmentation.build_crop_and_flip(), *models.deep(bn_momentum=0.9, weights_l2=2.5e-4)),
        compile_like_notebook_07,
    ),
    "receta anterior (AdamW)": (
        lambda: network(augmentation.build_crop_and_flip(), *models.deep()),
        compile_like_the_previous_recipe,
    ),
}


def train_variant(name: str, cifar: data.CifarData, epochs: int, batch_size: int) -> dict:
    build, compile_model = VARIANTS[name]
    keras.utils.set_random_seed(config.DEFAULT_SEED)
    model = build()
    total_steps = epochs * -(-len(cifar.y_train) // batch_size)
    compile_model(model, total_steps)
    start = time.perf_counter()
    history = model.fit(
        cifar.x_train,
        training.one_hot(cifar.y_train),
        epochs=epochs,
        batch_size=batch_size,
        validation_data=(cifar.x_val, training.one_hot(cifar.y_val)),
        verbose=0,
    )
    seconds = time.perf_counter() - start
    return {
        "variante": name,
        "val_accuracy": [round(v, 4) for v in history.history["val_accuracy"]],
        "train_accuracy_final": round(history.history["accuracy"][-1], 4),
        "test_accuracy": round(training.evaluate(model, cifar), 4),
        "test_accuracy_with_flip": round(training.evaluate_with_flip(model, cifar), 4),
        "train_seconds": round(seconds, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rapido", action="store_true", help="una pasada mínima, para comprobar que funciona"
    )
    parser.add_argument("--salida", type=Path, default=Path(__file__).parent / "resultados")
    args = parser.parse_args()
    sizes = dict(train_samples=600, val_samples=200, test_samples=200, epochs=1) if args.rapido else {}
    sizes = {"train_samples": 10_000, "val_samples": 2_000, "test_samples": None, "epochs": 6, **sizes}
    run_config = config.resolve_run("07", profile="completo", **sizes)
    cifar = data.load_for_run(run_config)
    print(cifar.describe(), flush=True)
    rows = []
    for name in VARIANTS:
        row = train_variant(name, cifar, run_config.epochs, run_config.batch_size)
        rows.append(row)
        validation = " → ".join(config.percent(v, 1) for v in row["val_accuracy"])
        print(
            f"{name:32} test {config.percent(row['test_accuracy'])}, con volteo "
            f"{config.percent(row['test_accuracy_with_flip'])}; validación por época {validation}; "
            f"{config.decimal(row['train_seconds'], 0)} s",
            flush=True,
        )
    report = {
        "backend": keras.config.backend(),
        "device": device.device_name(),
        "quick": args.rapido,
        "created": time.strftime("%Y-%m-%d"),
        "data_source": cifar.source,
        "data_sha256": cifar.sha256,
        "sizes": {**sizes, "batch_size": run_config.batch_size, "seed": config.DEFAULT_SEED},
        "variants": rows,
    }
    if not args.rapido:
        args.salida.mkdir(parents=True, exist_ok=True)
        path = args.salida / "receta_07.json"
        path.write_text(json.dumps(report, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"Guardado en {path.relative_to(Path.cwd()) if path.is_relative_to(Path.cwd()) else path.name}")


if __name__ == "__main__":
    main()
