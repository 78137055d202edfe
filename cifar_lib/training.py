"""Lo que rodea a ``model.fit`` en cada cuaderno: reanudar, guardar y evaluar.

Los cuadernos compilan y entrenan a la vista, con los dos *callbacks* del
informe, que no dice cómo los definió. El curso elige: ``callback_loss`` es un
``keras.callbacks.EarlyStopping`` sobre la pérdida de validación (detiene el
entrenamiento tras ``patience`` épocas sin mejora) y ``callback_accuracy``, un
:class:`ResumableCheckpoint` (lo crea :func:`checkpoint_for`), que guarda cada
época lo necesario para reanudar y deja el modelo con los pesos de su mejor
época. Si un entrenamiento se interrumpe, volver a ejecutar la celda con los
mismos ajustes sigue desde la última época completada.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import keras
import numpy as np

from cifar_lib.config import REPORT_STEPS, RunConfig, enumeration, plural
from cifar_lib.data import NUM_CLASSES, CifarData
from cifar_lib.device import device_name
from cifar_lib.files import replace_atomically


@dataclass
class TrainingRun:
    """Lo que deja un entrenamiento: historia por época, tiempos y cómo terminó."""

    history: dict[str, list[float]]
    train_seconds: float
    resumed_from_epoch: int = 0
    stopped_early: bool = False
    best_epoch: int | None = None
    epoch_seconds: list[float | None] = field(default_factory=list)
    resumed_at: list[int] = field(default_factory=list)

    @property
    def epochs_run(self) -> int:
        return len(self.history.get("loss", []))


#: Lotes por llamada al paso de entrenamiento compilado cuando hay un acelerador.
ACCELERATOR_STEPS_PER_EXECUTION = 32


def default_steps_per_execution() -> int:
    """1 en la CPU; :data:`ACCELERATOR_STEPS_PER_EXECUTION` en una GPU.

    En una GPU, el coste fijo de cada llamada desde Python pesa más que el
    cálculo de un lote de 32; en la CPU apenas se nota, y con 1 las cifras son
    las de las salidas guardadas.
    """
    return 1 if device_name() in ("CPU", "desconocido") else ACCELERATOR_STEPS_PER_EXECUTION


def seed_generator_states(model: keras.Model) -> list:
    """Las variables de estado de los generadores aleatorios de las capas (aumento de datos, dropout): una
    semilla y un contador por generador. ``model.save_weights`` no las guarda."""
    return [variable for variable in model.variables if variable.name == "seed_generator_state"]


def one_hot(labels: np.ndarray) -> np.ndarray:
    """Etiquetas 0–9 → vectores *one-hot* de 10 posiciones, como pide la pérdida categórica."""
    return keras.utils.to_categorical(labels, NUM_CLASSES).astype("float32")


class ResumableCheckpoint(keras.callbacks.Callback):
    """Guarda cada época, en ``folder``, lo necesario para reanudar y los mejores pesos.

    Al final de cada época escribe (de forma atómica) ``ultimo.weights.h5``
    (pesos y optimizador con su posición en la tasa de aprendizaje),
    ``mejor.weights.h5`` (la mejor ``val_accuracy``), ``mejor_hasta_N.weights.h5``
    para cada ``N`` de ``keep_best_at`` (lo que habría guardado una ejecución de
    ``N`` épocas) y, por último, ``estado.json``: época, historia, mejores
    valores, ``settings`` y el estado de los generadores aleatorios de las capas
    (aumento de datos, dropout), que ``save_weights`` no guarda. Solo se
    reanuda con exactamente los mismos ``settings``, y al ``EarlyStopping`` que
    se le pase le devuelve la paciencia que ya llevaba gastada.

    Por qué no ``keras.callbacks.BackupAndRestore``: no compara los ajustes
    (seguiría en silencio con otro lote u otros datos), no devuelve la paciencia
    gastada ni la historia anterior a la interrupción, no guarda los mejores
    pesos de las N primeras épocas y borra su copia al terminar.
    """

    def __init__(
        self,
        folder: Path,
        settings: dict | None = None,
        monitor: str = "val_accuracy",
        early_stopping: keras.callbacks.EarlyStopping | None = None,
        keep_best_at: tuple[int, ...] = (),
    ):
        super().__init__()
        self.folder = Path(folder)
        self.settings = json.loads(json.dumps(settings or {}))  # tal como queda en el JSON
        self.monitor = monitor
        self.early_stopping = early_stopping
        self.keep_best_at = tuple(keep_best_at)
        self.state_path = self.folder / "estado.json"
        self.latest_path = self.folder / "ultimo.weights.h5"
        self.best_path = self.folder / "mejor.weights.h5"
        self._resumed_from = 0
        saved = self.saved_state()
        self.resumable = saved is not None and saved.get("settings") == self.settings
        if not self.resumable:
            saved = {"epoch": 0, "history": {}, "best": None, "best_epoch": None, "best_at": {}}
            saved.update(seconds=0.0, finished=False, settings=self.settings)
        # En un estado nuevo, las dos listas empiezan vacías; uno guardado antes de cronometrar cada época las deja en None.
        saved.setdefault("epoch_seconds", [None] * saved["epoch"])
        saved.setdefault("resumed_at", [])
        self.state = saved

    def best_at_path(self, epochs: int) -> Path:
        return self.folder / f"mejor_hasta_{epochs}.weights.h5"

    def saved_state(self) -> dict | None:
        """El ``estado.json`` de la carpeta (con cualquier ajuste), o ``None`` si no hay."""
        try:
            state = json.loads(self.state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return state if self.latest_path.exists() else None

    def set_aside_other_run(self) -> str | None:
        """Aparta a ``<carpeta>.anterior`` un entrenamiento guardado con otros ajustes (solo se
        conserva el último apartado) y devuelve qué ajustes difieren, o ``None`` si no hay ninguno."""
        state = self.saved_state()
        if state is None or state.get("settings") == self.settings:
            return None
        old = state.get("settings", {})
        differences = sorted(k for k in set(old) | set(self.settings) if old.get(k) != self.settings.get(k))
        aside = self.folder.with_name(self.folder.name + ".anterior")
        shutil.rmtree(aside, ignore_errors=True)
        self.folder.rename(aside)
        return ", ".join(differences)

    def restore(self, model: keras.Model) -> int:
        """Carga en ``model`` lo guardado y devuelve la época desde la que sigue ``fit``.

        0 si no hay nada guardado; N si se interrumpió tras completar N épocas (con pesos,
        optimizador y generadores aleatorios); si ya terminó, carga sus pesos y
        devuelve las épocas pedidas, así que ``fit`` no entrena más. Fija además
        la semilla global en ``seed + N``, de la que sale el orden de las imágenes
        de las épocas que faltan: es lo único que difiere de no interrumpir.
        """
        epoch = self._resumed_from = self.state["epoch"]
        if epoch:
            if not model.optimizer.built:
                model.optimizer.build(model.trainable_variables)
            model.load_weights(self.latest_path)
            for variable, value in zip(seed_generator_states(model), self.state.get("seed_states", [])):
                variable.assign(value)  # un punto de control de antes de guardarlos no los tiene
        if self.state.get("finished"):
            print(
                f"Este entrenamiento ya terminó ({plural(epoch, 'época')}) y está guardado en "
                f"{self.folder.name}: se cargan sus pesos sin volver a entrenar.",
                flush=True,
            )
            epoch = max(epoch, self.settings.get("epochs", epoch))
        elif epoch:
            print(f"Se reanuda un entrenamiento interrumpido desde la época {epoch}.", flush=True)
            # Volver a ejecutar solo la celda de fit (mismo callback) no cuenta otra reanudación.
            if self.state["resumed_at"][-1:] != [epoch]:
                self.state["resumed_at"].append(epoch)
        keras.utils.set_random_seed(self.settings.get("seed", 0) + epoch)
        return epoch

    def finish(self, model: keras.Model, up_to_epoch: int | None = None) -> TrainingRun:
        """Deja en ``model`` los mejores pesos y devuelve el :class:`TrainingRun`, con la historia de
        todas las épocas (también las de antes de reanudar). Con ``up_to_epoch=N`` (una de
        ``keep_best_at``), lo que habría dejado un entrenamiento de ``N`` épocas."""
        self.restore_best(model, up_to_epoch)
        history, seconds, best_epoch = self.state["history"], self.state["seconds"], self.state["best_epoch"]
        epoch_seconds, resumed_at = self.state["epoch_seconds"], self.state["resumed_at"]
        planned = self.settings.get("epochs")
        if up_to_epoch is not None:
            best_at = self.state["best_at"].get(str(up_to_epoch))
            if best_at is None:
                saved = self.state["best_at"]
                kept = (
                    f"solo los de las {enumeration(saved)} primeras" if saved else "no guardó aparte ninguno"
                )
                raise ValueError(
                    f"El entrenamiento guardado en {self.folder.name} no tiene los mejores pesos de sus "
                    f"{up_to_epoch} primeras épocas ({kept}): se guardan mientras entrena. Para tenerlos, "
                    f"entrénalo de nuevo con checkpoint_for(..., keep_best_at=({up_to_epoch},), fresh=True)."
                )
            history = {key: values[:up_to_epoch] for key, values in history.items()}
            seconds, best_epoch, planned = best_at["seconds"], best_at["epoch"], up_to_epoch
            epoch_seconds = epoch_seconds[:up_to_epoch]
            resumed_at = [epoch for epoch in resumed_at if epoch < up_to_epoch]
        epochs_run = len(history.get("loss", []))
        return TrainingRun(
            history=history,
            train_seconds=seconds,
            resumed_from_epoch=self._resumed_from,
            stopped_early=epochs_run < (planned or epochs_run),
            best_epoch=best_epoch,
            epoch_seconds=list(epoch_seconds),
            resumed_at=list(resumed_at),
        )

    def _save_weights(self, path: Path) -> None:
        replace_atomically(path, self.model.save_weights)

    def on_train_begin(self, logs=None):
        self._started = time.perf_counter()
        self._seconds_before = self.state["seconds"]
        self._replayed = False

    def on_epoch_begin(self, epoch, logs=None):
        # Aquí y no en on_train_begin: EarlyStopping se reinicia en su propio on_train_begin.
        if not self._replayed and self.early_stopping is not None:
            past = self.state["history"].get(self.early_stopping.monitor, [])
            for past_epoch, value in enumerate(past):
                self.early_stopping.on_epoch_end(past_epoch, {self.early_stopping.monitor: value})
        self._replayed = True
        self._epoch_started = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        now = time.perf_counter()
        self.state["seconds"] = self._seconds_before + now - self._started
        self.state["epoch_seconds"].append(now - self._epoch_started)
        for key, value in logs.items():
            self.state["history"].setdefault(key, []).append(float(value))
        value = logs.get(self.monitor)
        if value is not None and (self.state["best"] is None or value > self.state["best"]):
            self.state["best"], self.state["best_epoch"] = float(value), epoch + 1
            self._save_weights(self.best_path)
        if epoch + 1 in self.keep_best_at:
            self._keep_best_as_of(epoch + 1)
        self._save_weights(self.latest_path)
        self.state["seed_states"] = [
            np.asarray(state).tolist() for state in seed_generator_states(self.model)
        ]
        self.state["epoch"] = epoch + 1
        self._write_state()

    def on_train_end(self, logs=None):
        # Solo se llega aquí si fit() acaba (todas las épocas, o el EarlyStopping lo detuvo);
        # un proceso interrumpido no pasa por aquí y se reanuda.
        for epochs in self.keep_best_at:
            if self.state["epoch"] < epochs:  # parado antes: uno de `epochs` épocas habría parado igual
                self._keep_best_as_of(epochs)
        self.state["finished"] = True
        self._write_state()

    def _keep_best_as_of(self, epochs: int) -> None:
        """Guarda aparte lo que dejaría un entrenamiento de ``epochs`` épocas: los mejores pesos hasta ahora."""
        if self.best_path.exists():
            shutil.copyfile(self.best_path, self.best_at_path(epochs))
            self.state["best_at"][str(epochs)] = {
                "epoch": self.state["best_epoch"],
                "value": self.state["best"],
                "seconds": self.state["seconds"],
            }

    def _write_state(self) -> None:
        replace_atomically(self.state_path, lambda path: path.write_text(json.dumps(self.state)))

    def restore_best(self, model: keras.Model | None = None, up_to_epoch: int | None = None) -> None:
        """Deja en el modelo los pesos de la mejor época (de las ``up_to_epoch`` primeras, si se pide)."""
        path = self.best_path if up_to_epoch is None else self.best_at_path(up_to_epoch)
        if path.exists():
            (model or self.model).load_weights(path)


#: La receta de cada paso tal como la compilan los cuadernos sin cambios: optimizador, calendario de la
#: tasa (con la forma de su subida y su final), tasa (la máxima, si hay calendario), *weight decay*,
#: label smoothing y los ajustes del optimizador que no son los de su clase en Keras.
COURSE_RECIPES = {
    **{step: {"optimizador": "Adam", "calendario": None, "learning_rate": 1e-3, "weight_decay": 0.0,
              "label_smoothing": 0.0, "ajustes": {}} for step in REPORT_STEPS},
    7: {"optimizador": "SGD", "calendario": "CosineDecay", "forma": {"desde": 0.0, "alpha": 0.0},
        "learning_rate": 0.1, "weight_decay": 0.0, "label_smoothing": 0.2,
        "ajustes": {"momentum": 0.9, "nesterov": True}},
    8: {"optimizador": "SGD", "calendario": "CosineDecay", "forma": {"desde": 0.2, "alpha": 0.07},
        "learning_rate": 1.5, "weight_decay": 0.0089, "label_smoothing": 0.2,
        "ajustes": {"momentum": 0.85, "nesterov": True}},
}  # fmt: skip


def recipe_changes(config: RunConfig, model: keras.Model) -> list[str]:
    """Lo que el código del cuaderno cambió respecto a la red y la receta del paso (vacío si nada):
    las capas (sin construirlas: no gasta números aleatorios), el optimizador y sus ajustes, el
    calendario y la tasa máxima, el *weight decay* y el label smoothing de :data:`COURSE_RECIPES`."""
    from cifar_lib.models import BUILDERS

    def settings(layer):
        return type(layer).__name__, {k: v for k, v in layer.get_config().items() if k != "dtype"}

    course_layers = [settings(layer) for layer in BUILDERS[config.step][0]()]
    changes = [] if [settings(layer) for layer in model.layers] == course_layers else ["capas cambiadas"]
    optimizer, expected = model.optimizer, COURSE_RECIPES[config.step]
    optimizer_settings = optimizer.get_config()
    rate = optimizer_settings["learning_rate"]
    schedule = rate.get("class_name") if isinstance(rate, dict) else None
    if schedule != expected["calendario"]:
        changes.append(f"calendario {schedule or 'constante'}")
        rate = expected["learning_rate"]
    elif schedule:  # sube en línea recta desde una fracción del pico y baja como un coseno hasta alpha·pico
        shape, peak = rate["config"], rate["config"]["warmup_target"]
        wanted = expected["forma"]
        if shape["alpha"] != wanted["alpha"] or not np.isclose(
            shape["initial_learning_rate"], wanted["desde"] * peak
        ):
            changes.append("forma del calendario cambiada")
        rate = peak
    loss = model.loss.get_config() if hasattr(model.loss, "get_config") else {}
    found = {
        "optimizador": type(optimizer).__name__,
        "learning_rate": float(rate),
        "weight_decay": float(optimizer.weight_decay or 0.0),
        "label_smoothing": float(loss.get("label_smoothing", 0.0)),
    }
    for name, value in found.items():
        same = value == expected[name] if isinstance(value, str) else np.isclose(value, expected[name])
        if not same:
            changes.append(f"{name}={value:g}" if not isinstance(value, str) else f"{name} {value}")
    if found["optimizador"] == expected["optimizador"]:  # p. ej. beta_1, clipnorm, use_ema
        defaults = {**type(optimizer)().get_config(), **expected["ajustes"]}
        ignored = ("name", "learning_rate", "weight_decay")
        changes += [
            f"{k}={v}" for k, v in optimizer_settings.items() if k not in ignored and v != defaults[k]
        ]
    if model.loss not in ("categorical_crossentropy", None) and not isinstance(
        model.loss, keras.losses.CategoricalCrossentropy
    ):
        changes.append("otra pérdida")
    return changes


def checkpoint_for(
    config: RunConfig,
    data: CifarData,
    model: keras.Model,
    early_stopping: keras.callbacks.EarlyStopping | None = None,
    keep_best_at: tuple[int, ...] = (),
    fresh: bool = False,
) -> ResumableCheckpoint:
    """El ``callback_accuracy`` del curso para esta ejecución (el modelo ya compilado).

    Si el código del cuaderno cambió la red o la receta (:func:`recipe_changes`),
    la ejecución pasa a ser «personalizado» y escribe en ``salidas/``. Un
    entrenamiento guardado con otros ajustes se aparta a ``.anterior`` (y se
    dice); ``fresh=True`` borra lo guardado y empieza de cero.
    """
    changes = recipe_changes(config, model)
    if changes and not config.code_changes:
        config.code_changes.extend(changes)
        print(
            f"Has cambiado el código del paso ({', '.join(changes)}): la ejecución queda como «personalizado» y "
            f"se guarda en {config.output_dir.relative_to(config.output_dir.parent.parent)}/, sin tocar "
            "los resultados guardados del curso.",
            flush=True,
        )
    if fresh:
        shutil.rmtree(config.checkpoint_dir, ignore_errors=True)
    callback = ResumableCheckpoint(
        config.checkpoint_dir,
        resume_settings(config, data, model),
        early_stopping=early_stopping,
        keep_best_at=keep_best_at,
    )
    if not callback.resumable:
        differences = callback.set_aside_other_run()
        if differences:
            print(
                f"Había un entrenamiento guardado con otros ajustes ({differences}); "
                f"se ha apartado a {config.checkpoint_dir.name}.anterior y se empieza de cero.",
                flush=True,
            )
    return callback


def resume_settings(config: RunConfig, data: CifarData, model: keras.Model) -> dict:
    """Todo lo que debe coincidir para continuar un entrenamiento interrumpido: la receta, la
    arquitectura, qué imágenes (huella de las etiquetas de la división), el optimizador con su
    calendario y la pérdida."""
    return {
        "run": config.run,
        "step": config.step,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "patience": config.patience,
        "train_samples": len(data.y_train),
        "val_samples": len(data.y_val),
        "seed": config.seed,
        "data_sha256": data.sha256,
        "split": _digest(data.y_train, data.y_val),
        "model": _digest(json.dumps(model.get_config(), sort_keys=True, default=str)),
        "optimizer": {
            "class": type(model.optimizer).__name__,
            # sin "name": Keras numera los optimizadores de una sesión (adam, adam_1…)
            **{k: v for k, v in model.optimizer.get_config().items() if k != "name"},
        },
        "loss": keras.saving.serialize_keras_object(model.loss),
    }


def _digest(*parts) -> str:
    """Huella corta (sha256) de textos o arrays, para comparar sin guardarlos enteros."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else np.ascontiguousarray(part).tobytes())
    return digest.hexdigest()[:16]


class Lookahead(keras.callbacks.Callback):
    """Promedia los pesos durante el entrenamiento, como airbench94 (una variante de *lookahead*).

    Cada ``every`` pasos y al final de cada época, la media se acerca a los
    pesos, ``media += (1 − d)·(pesos − media)``, y los pesos vuelven a la media.
    El peso ``d`` de la media crece con el paso: ``d = strength·(paso/total)³``,
    así que al principio no frena nada (``d ≈ 0``) y al final promedia los
    últimos pasos, como si se bajara la tasa de aprendizaje sin perder lo
    aprendido. Al acabar cada época pesos y media son iguales: reanudar un
    entrenamiento interrumpido da lo mismo que no interrumpirlo. Cuenta los pasos
    por lotes: compila el modelo con ``steps_per_execution=1`` (el valor por defecto de Keras).
    """

    def __init__(self, total_steps: int, steps_per_epoch: int, every: int = 5, strength: float = 0.95**5):
        super().__init__()
        self.total_steps = total_steps
        self.steps_per_epoch = steps_per_epoch
        self.every = every
        self.strength = strength

    def on_train_begin(self, logs=None):
        self.average = [np.array(v) for v in self._averaged_variables()]

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        step = self.epoch * self.steps_per_epoch + batch + 1
        if step % self.every == 0 or batch + 1 == self.steps_per_epoch:
            decay = self.strength * min(step / self.total_steps, 1.0) ** 3
            for variable, average in zip(self._averaged_variables(), self.average):
                average += (1 - decay) * (np.array(variable) - average)
                variable.assign(average)

    def _averaged_variables(self) -> list:
        # Con JAX, leer self.model trae antes los pesos del paso compilado. Las medias móviles de la
        # BN también se promedian, como en airbench94; el estado de los generadores aleatorios, no.
        return [v for v in self.model.weights if "float" in str(v.dtype)]


def evaluate(model: keras.Model, data: CifarData, batch_size: int = 512) -> float:
    """Precisión (0–1) del modelo en el conjunto de test."""
    scores = model.evaluate(
        data.x_test, one_hot(data.y_test), batch_size=batch_size, verbose=0, return_dict=True
    )
    return float(scores["accuracy"])


def evaluate_with_flip(model: keras.Model, data: CifarData, batch_size: int = 512) -> float:
    """Precisión en test con :func:`predict_with_flip` (cada imagen y su reflejo horizontal)."""
    return _accuracy(predict_with_flip(model, data.x_test, batch_size), data.y_test)


def predict_with_flip(model: keras.Model, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Media de las probabilidades de cada imagen ``(N, alto, ancho, canales)`` y de su reflejo (eje 2)."""
    mirrored = images[:, :, ::-1]
    return (predict(model, images, batch_size) + predict(model, mirrored, batch_size)) / 2


def evaluate_with_views(model: keras.Model, data: CifarData, batch_size: int = 512) -> float:
    """Precisión en test con :func:`predict_with_views` (seis vistas de cada imagen)."""
    return _accuracy(predict_with_views(model, data.x_test, batch_size), data.y_test)


def _accuracy(probabilities: np.ndarray, labels: np.ndarray) -> float:
    """Fracción de imágenes cuya clase más probable es la verdadera."""
    return float(np.mean(probabilities.argmax(axis=1) == labels))


def predict_with_views(model: keras.Model, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Las vistas de airbench94: la imagen y la imagen desplazada un píxel arriba a la izquierda y
    abajo a la derecha (rellenando con el reflejo), cada una con su reflejo horizontal. Pesa la mitad
    la imagen sin desplazar y un cuarto cada desplazamiento."""
    padded = np.pad(images, ((0, 0), (1, 1), (1, 1), (0, 0)), mode="reflect")
    height, width = images.shape[1:3]
    up_left, down_right = padded[:, :height, :width], padded[:, 2:, 2:]
    centred = predict_with_flip(model, images, batch_size)
    shifted = predict_with_flip(model, up_left, batch_size) + predict_with_flip(model, down_right, batch_size)
    return centred / 2 + shifted / 4


def predict(model: keras.Model, images: np.ndarray, batch_size: int = 512) -> np.ndarray:
    """Probabilidades de cada clase, forma ``(N, 10)``."""
    return np.asarray(model.predict(images, batch_size=batch_size, verbose=0))


def save_model(model: keras.Model, path: Path) -> Path:
    """Guarda el modelo en formato Keras, sin el estado del optimizador (≈13 MB el final).

    Se escribe en un temporal y se renombra: nunca queda un ``.keras`` a medias.
    """
    inference_copy = model.__class__.from_config(model.get_config())  # sin compilar: sin optimizador
    inference_copy.set_weights(model.get_weights())
    return replace_atomically(path, inference_copy.save)
