"""Gráficas del curso, con títulos y ejes en español.

Cada función devuelve su ``matplotlib.figure.Figure`` (el cuaderno la muestra)
y, si se le da ``save_to``, la guarda además como PNG.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import seaborn as sns
from matplotlib.lines import Line2D
from matplotlib.ticker import FuncFormatter, LogLocator, MaxNLocator

from cifar_lib.config import REPORT_STEPS, decimal
from cifar_lib.data import CLASS_NAMES_ES
from cifar_lib.files import replace_atomically
from cifar_lib.results import (
    benchmark_epoch_seconds,
    by_run,
    confusion_counts,
    mean_and_spread,
    same_machine_seconds,
)

sns.set_theme(style="whitegrid", context="notebook")


def _finish(figure: plt.Figure, title: str, save_to: str | Path | None) -> plt.Figure:
    """Pone el título, ajusta los márgenes y, si hay ``save_to``, guarda la figura como PNG."""
    if title:
        figure.suptitle(title)
    figure.tight_layout()
    if save_to is not None:
        replace_atomically(
            save_to, lambda path: figure.savefig(path, dpi=110, bbox_inches="tight", format="png")
        )
    return figure


def spanish_ticks(axis, percent: bool = False) -> None:
    """Números del eje y con coma decimal (``0,5``; ``48 %`` si ``percent``) y épocas enteras en el x."""
    if percent:
        axis.yaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{decimal(value, 0)} %"))
    else:
        axis.yaxis.set_major_formatter(
            FuncFormatter(lambda value, _: decimal(value, 1).rstrip("0").rstrip(","))
        )
    axis.xaxis.set_major_locator(MaxNLocator(integer=True))


def learning_curves(
    history: dict, title: str = "", previous: dict | None = None, previous_label: str = "", save_to=None
) -> plt.Figure:
    """Pérdida y precisión (en %) por época, entrenamiento frente a validación.

    La precisión de validación de ``previous`` (el paso anterior) va en gris. Si la
    pérdida de la primera época aplastaría el resto de la curva, queda fuera del eje.
    """
    figure, (loss_axis, accuracy_axis) = plt.subplots(1, 2, figsize=(11, 4))
    epochs = np.arange(1, len(history["loss"]) + 1)
    for axis, key, scale in ((loss_axis, "loss", 1), (accuracy_axis, "accuracy", 100)):
        axis.plot(epochs, scale * np.asarray(history[key]), "o-", label="entrenamiento", markersize=3)
        if f"val_{key}" in history:
            axis.plot(
                epochs, scale * np.asarray(history[f"val_{key}"]), "o-", label="validación", markersize=3
            )
    if previous and "val_accuracy" in previous:
        earlier = 100 * np.asarray(previous["val_accuracy"])
        accuracy_axis.plot(
            np.arange(1, len(earlier) + 1), earlier, "--", color="gray", label=f"validación, {previous_label}"
        )
    later = [v for key in ("loss", "val_loss") for v in history.get(key, [])[1:]]
    if later and max(history["loss"][0], history.get("val_loss", [0])[0]) > 2 * max(later):
        loss_axis.set_ylim(0, 1.15 * max(later))  # la primera época, fuera del eje
    loss_axis.set(title="Pérdida (entropía cruzada)", xlabel="época", ylabel="pérdida")
    accuracy_axis.set(title="Precisión", xlabel="época", ylabel="precisión (%)")
    for axis, percent in ((loss_axis, False), (accuracy_axis, True)):
        spanish_ticks(axis, percent)
        axis.legend()
    return _finish(figure, title or "Curvas de aprendizaje", save_to)


def image_grid(
    images: np.ndarray,
    labels: np.ndarray,
    columns: int = 8,
    title: str = "",
    save_to=None,
) -> plt.Figure:
    """Una cuadrícula de imágenes con el nombre de su clase debajo."""
    rows = int(np.ceil(len(images) / columns))
    figure, axes = plt.subplots(rows, columns, figsize=(1.5 * columns, 1.7 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, image, label in zip(axes.flat, images, labels):
        axis.imshow(np.clip(image, 0, 1) if image.dtype.kind == "f" else image)
        axis.set_title(CLASS_NAMES_ES[int(label)], fontsize=9)
    return _finish(figure, title, save_to)


def predictions(
    images: np.ndarray,
    probabilities: np.ndarray,
    true_labels: np.ndarray,
    title: str = "",
    save_to=None,
) -> plt.Figure:
    """Cada imagen junto a las probabilidades que le da el modelo.

    La barra de la clase predicha va en verde si acierta y en rojo si falla; la
    clase verdadera se marca con su nombre en negrita.
    """
    count = len(images)
    figure, axes = plt.subplots(
        count, 2, figsize=(8, 2.3 * count), squeeze=False, gridspec_kw={"width_ratios": [1, 3]}
    )
    positions = np.arange(len(CLASS_NAMES_ES))
    for (image_axis, bar_axis), image, probs, truth in zip(axes, images, probabilities, true_labels):
        predicted = int(np.argmax(probs))
        image_axis.imshow(np.clip(image, 0, 1))
        image_axis.axis("off")
        image_axis.set_title(
            f"{CLASS_NAMES_ES[predicted]} ({decimal(100 * probs[predicted], 0)} %)",
            fontsize=10,
            color="green" if predicted == truth else "red",
        )
        colors = ["#bbbbbb"] * len(CLASS_NAMES_ES)
        colors[predicted] = "green" if predicted == truth else "red"
        bar_axis.barh(positions, probs, color=colors)
        bar_axis.set_xlim(0, 1)
        bar_axis.set_yticks(positions, CLASS_NAMES_ES, fontsize=9)
        bar_axis.xaxis.set_major_formatter(FuncFormatter(lambda value, _: f"{decimal(100 * value, 0)} %"))
        bar_axis.invert_yaxis()
        bar_axis.get_yticklabels()[int(truth)].set_fontweight("bold")
    axes[-1][1].set_xlabel("confianza")
    return _finish(figure, title or "Predicciones (en negrita, la clase verdadera)", save_to)


def confusion_matrix(
    true_labels: np.ndarray,
    predicted_labels: np.ndarray,
    title: str = "",
    save_to=None,
) -> plt.Figure:
    """Matriz de confusión normalizada por fila: qué clase predice el modelo para cada clase real."""
    counts = confusion_counts(true_labels, predicted_labels, len(CLASS_NAMES_ES))
    totals = counts.sum(axis=1, keepdims=True)
    normalized = np.divide(counts, totals, out=np.zeros_like(counts, dtype=float), where=totals > 0)
    figure, axis = plt.subplots(figsize=(8, 6.5))
    sns.heatmap(
        100 * normalized,
        annot=True,
        fmt=".0f",
        cmap="Blues",
        vmin=0,
        vmax=100,
        xticklabels=CLASS_NAMES_ES,
        yticklabels=CLASS_NAMES_ES,
        cbar_kws={"label": "% de las imágenes de la clase real"},
        ax=axis,
        annot_kws={"fontsize": 8},
    )
    axis.set_xlabel("clase predicha")
    axis.set_ylabel("clase real")
    axis.set_title(title or "Matriz de confusión en test")
    return _finish(figure, "", save_to)


def confident_mistakes(
    images: np.ndarray,
    probabilities: np.ndarray,
    true_labels: np.ndarray,
    count: int = 12,
    save_to=None,
) -> plt.Figure:
    """Los errores en los que el modelo estaba más seguro: «predicho (confianza) / real»."""
    predicted = probabilities.argmax(axis=1)
    wrong = np.flatnonzero(predicted != true_labels)
    worst = wrong[np.argsort(probabilities[wrong, predicted[wrong]])[::-1][:count]]
    columns = min(6, max(len(worst), 1))
    rows = max(int(np.ceil(len(worst) / columns)), 1)
    figure, axes = plt.subplots(rows, columns, figsize=(2.4 * columns, 3.2 * rows), squeeze=False)
    for axis in axes.flat:
        axis.axis("off")
    for axis, index in zip(axes.flat, worst):
        axis.imshow(np.clip(images[index], 0, 1))
        guess = int(predicted[index])
        axis.set_title(
            f"{CLASS_NAMES_ES[guess]} ({decimal(100 * probabilities[index, guess], 0)} %)\nreal: {CLASS_NAMES_ES[int(true_labels[index])]}",
            fontsize=9,
        )
    return _finish(figure, "Los errores cometidos con más seguridad", save_to)


def compare_runs(runs: list[dict], save_to=None, epoch_seconds: dict[int, float] | None = None) -> plt.Figure:
    """Las ejecuciones lado a lado: precisión frente a parámetros y a tiempo, y curvas de validación.

    Un punto por ejecución, con la precisión en test de más vistas que se midió; con varias semillas,
    su media, con una barra de ± una desviación típica (la curva es la de la semilla por defecto). La
    que no es del perfil completo lleva su etiqueta al lado (``06_final (personalizado)``).
    El tiempo es el de una misma CPU, la del benchmark (``epoch_seconds``, por defecto el de
    :func:`cifar_lib.results.benchmark_epoch_seconds`); sin benchmark, el medido en cada ejecución.
    Los cuadernos 07 y 08, más allá del informe, van con rombos y líneas discontinuas.
    """
    epoch_seconds = benchmark_epoch_seconds() if epoch_seconds is None else epoch_seconds
    figure, (by_params, by_time, curves) = plt.subplots(1, 3, figsize=(17, 5.5))
    for position, (record, seeds) in enumerate(by_run(runs)):
        accuracy, spread = (100 * value for value in mean_and_spread(seeds))
        label = record["run"]
        if record["label"] != "completo":
            label += f" ({record['label']})"
        beyond = record["step"] not in REPORT_STEPS
        style = {"marker": "D" if beyond else "o", "s": 50, "color": f"C{position % 10}"}
        seconds = same_machine_seconds(record, epoch_seconds) if epoch_seconds else record["train_seconds"]
        offset = (6, 6) if position % 2 == 0 else (6, -14)  # etiquetas vecinas, una arriba y otra abajo
        for axis, x in ((by_params, record["params"]), (by_time, None if seconds is None else seconds / 60)):
            if x is not None:
                axis.scatter(x, accuracy, **style)
                if spread:
                    axis.errorbar(x, accuracy, yerr=spread, color=style["color"], capsize=4, linewidth=1.2)
                axis.annotate(label, (x, accuracy), textcoords="offset points", xytext=offset, fontsize=11)
        history = 100 * np.asarray(record.get("history", {}).get("val_accuracy", []))
        curves.plot(np.arange(1, len(history) + 1), history, "--" if beyond else "-", marker=style["marker"],
                    markersize=2, color=style["color"], label=label)  # fmt: skip
    where = "en la CPU del benchmark" if epoch_seconds else "medido en cada ejecución"
    by_params.set(xscale="log", xlabel="parámetros (escala logarítmica)", title="Precisión frente a tamaño")
    by_time.set(xscale="log", xlabel=f"minutos de entrenamiento {where} (escala logarítmica)")
    by_time.set_title("Precisión frente a tiempo")
    for axis in (by_params, by_time):
        axis.set_ylabel("precisión en test (%)")
        axis.xaxis.set_major_formatter(
            FuncFormatter(lambda value, _: decimal(value, 0) if value >= 1 else decimal(value, 1))
        )
    by_params.legend(
        handles=[Line2D([], [], marker="o", linestyle="", color="gray", label="pasos del informe"),
                 Line2D([], [], marker="D", linestyle="", color="gray", label="más allá del informe")],
        fontsize=10, loc="lower right",
    )  # fmt: skip
    curves.set(
        title="Precisión de validación por época", xlabel="época", ylabel="precisión de validación (%)"
    )
    curves.legend(fontsize=10)
    for axis in (by_params, by_time, curves):
        spanish_ticks(axis, percent=True)
    by_params.xaxis.set_major_locator(LogLocator())
    by_time.xaxis.set_major_locator(LogLocator())
    return _finish(figure, "", save_to)
