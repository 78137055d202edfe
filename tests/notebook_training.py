"""Las celdas de entrenamiento de los cuadernos, como funciones para los tests.

Lo que aquí se entrena es lo que ve el estudiante en los cuadernos 01–06:
``model.compile`` como el informe y ``model.fit`` con ``callback_loss``
(``EarlyStopping``) y ``callback_accuracy`` (el punto de control reanudable).
"""

from __future__ import annotations

import keras

from cifar_lib import training


def compile_like_the_report(model: keras.Model, steps_per_execution: int | None = None) -> keras.Model:
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate=0.001),
        loss="categorical_crossentropy",
        metrics=["accuracy"],
        steps_per_execution=steps_per_execution or training.default_steps_per_execution(),
    )
    return model


def compile_like_notebook_07(model: keras.Model, run_config, train_samples: int, peak=0.1, **changes):
    """La celda de ``model.compile`` del cuaderno 07; ``changes`` cambia ajustes del calendario."""
    total_steps = run_config.epochs * -(-train_samples // run_config.batch_size)
    warmup_steps = int(0.2 * total_steps)
    learning_rate = keras.optimizers.schedules.CosineDecay(
        **{
            "initial_learning_rate": 0.0,
            "warmup_target": peak,
            "warmup_steps": warmup_steps,
            "decay_steps": total_steps - warmup_steps,
            **changes,
        }
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate, momentum=0.9, nesterov=True),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.2),
        metrics=["accuracy"],
    )
    return model


def fit_like_the_notebooks(model, cifar, run_config, keep_best_at=(), fresh=False, verbose=0):
    """Compila si hace falta, entrena (o reanuda) y devuelve el ``TrainingRun`` con los mejores pesos."""
    if not model.compiled:
        compile_like_the_report(model)
    x_train, x_val = cifar.x_train, cifar.x_val
    y_train = keras.utils.to_categorical(cifar.y_train, 10)
    y_val = keras.utils.to_categorical(cifar.y_val, 10)
    callback_loss = keras.callbacks.EarlyStopping(monitor="val_loss", patience=run_config.patience)
    callback_accuracy = training.checkpoint_for(
        run_config, cifar, model, early_stopping=callback_loss, keep_best_at=keep_best_at, fresh=fresh
    )
    model.fit(
        x_train,
        y_train,
        epochs=run_config.epochs,
        batch_size=run_config.batch_size,
        validation_data=(x_val, y_val),
        callbacks=[callback_loss, callback_accuracy],
        initial_epoch=callback_accuracy.restore(model),
        verbose=verbose,
    )
    return callback_accuracy.finish(model)


def compile_like_notebook_08(model: keras.Model, run_config, train_samples: int, momentum=0.85, **changes):
    """La celda de ``model.compile`` del cuaderno 08; ``changes`` cambia ajustes del calendario."""
    total_steps = run_config.epochs * -(-train_samples // run_config.batch_size)
    warmup_steps = int(0.23 * total_steps)
    learning_rate = keras.optimizers.schedules.CosineDecay(
        **{
            "initial_learning_rate": 0.2 * 1.5,
            "warmup_target": 1.5,
            "warmup_steps": warmup_steps,
            "decay_steps": total_steps - warmup_steps,
            "alpha": 0.07,
            **changes,
        }
    )
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate, momentum=momentum, nesterov=True, weight_decay=0.0089),
        loss=keras.losses.CategoricalCrossentropy(label_smoothing=0.2),
        metrics=["accuracy"],
        jit_compile=True,
    )
    return model
