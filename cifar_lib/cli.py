"""Línea de órdenes del curso: ``python -m cifar_lib …``.

Órdenes:

``ejecutar [--perfil P] [PASOS...]``
    Ejecuta los cuadernos (todos o los pasos dados) y muestra la tabla resumen.
``entrenar EJECUCIÓN [--perfil P] [-p NOMBRE VALOR]``
    Entrena la red de una ejecución del informe (p. ej. ``06_final``) sin abrir
    el cuaderno, con reanudación: si se interrumpe, la misma orden continúa.
    El cuaderno encuentra después el entrenamiento terminado y no lo repite.
``resumen [--resultados CARPETA]``
    Imprime la tabla resumen de los resultados guardados.
``predecir IMAGEN [IMAGEN...]``
    Clasifica imágenes con el mejor modelo guardado (el del cuaderno 07 o el del 06).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cifar_lib.config import PROFILES, ConfigError, project_root
from cifar_lib.predict import DEFAULT_MODELS, PredictionError, default_model, predict_files


def add_parameter_option(parser: argparse.ArgumentParser, help_text: str) -> None:
    """``-p NOMBRE VALOR`` (repetible), igual en ``ejecutar`` y en ``entrenar``."""
    parser.add_argument(
        "-p", "--parametro", nargs=2, action="append", metavar=("NOMBRE", "VALOR"), help=help_text
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cifar_lib",
        description="CIFAR-10 con redes neuronales: ejecutar el curso, ver resultados y predecir.",
    )
    commands = parser.add_subparsers(dest="command", metavar="ORDEN", title="órdenes")

    run = commands.add_parser(
        "ejecutar",
        help="ejecuta los cuadernos con papermill y muestra la tabla resumen",
        description=(
            "Ejecuta los cuadernos del curso en orden. Con el perfil «completo» "
            "reescribe notebooks/, results/ y figures/; con otro perfil escribe en "
            "salidas/<perfil>/ y deja intactas las salidas guardadas."
        ),
    )
    run.add_argument("pasos", nargs="*", type=int, metavar="PASO", help="pasos (1–7); todos si no se indica")
    run.add_argument(
        "--perfil",
        choices=list(PROFILES),
        default=None,
        help="tamaño de la ejecución: "
        + "; ".join(f"{p.name}: {p.description}" for p in PROFILES.values())
        + " (por defecto, la variable CIFAR_PROFILE o «completo»)",
    )
    run.add_argument(
        "--destino", type=Path, default=None, help="carpeta para cuadernos, resultados y figuras"
    )
    run.add_argument(
        "--precision-mixta",
        action="store_true",
        help="entrena en bf16, con los pesos en float32 (pensado para GPU)",
    )
    add_parameter_option(run, "valor para la celda de parámetros, p. ej. -p EPOCHS 5 (se puede repetir)")

    train = commands.add_parser(
        "entrenar",
        help="entrena una ejecución del informe en la terminal, con reanudación",
        description=(
            "Entrena la red de una ejecución del informe (pasos 1–6) con los mismos ajustes que su "
            "cuaderno y deja el resultado en su punto de control (en la caché del usuario). Si se "
            "interrumpe, la misma orden continúa desde la última época. Al ejecutar después el "
            "cuaderno, este carga el entrenamiento terminado en vez de repetirlo."
        ),
    )
    train.add_argument("ejecucion", metavar="EJECUCIÓN", help="p. ej. 01, 05, 06_final")
    train.add_argument(
        "--perfil", choices=list(PROFILES), default=None, help="perfil (por defecto, completo)"
    )
    add_parameter_option(
        train, "EPOCHS, BATCH_SIZE, SEED, PATIENCE, TRAIN_SAMPLES… como en la celda de parámetros"
    )

    summary = commands.add_parser("resumen", help="imprime la tabla de resultados frente al informe")
    summary.add_argument(
        "--resultados", type=Path, default=None, help="carpeta de resultados (por defecto results/)"
    )
    summary.add_argument("--readme", action="store_true", help="escribe además la tabla en README.md")
    summary.add_argument(
        "--figuras",
        action="store_true",
        help="regenera además figures/comparacion.png a partir de los resultados",
    )

    predict = commands.add_parser("predecir", help="clasifica imágenes con el mejor modelo guardado")
    predict.add_argument("imagenes", nargs="+", type=Path, metavar="IMAGEN", help="archivos PNG o JPEG")
    predict.add_argument(
        "--modelo",
        type=Path,
        default=None,
        help="modelo Keras (por defecto, el primero que exista de: "
        + ", ".join(path.as_posix() for path in DEFAULT_MODELS)
        + ")",
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    try:
        if args.command == "ejecutar":
            from cifar_lib.runner import NotebookFailure, parse_parameters, run_notebooks

            try:
                run_notebooks(
                    args.pasos,
                    args.perfil,
                    args.destino,
                    parse_parameters(args.parametro),
                    mixed_precision=args.precision_mixta,
                )
            except NotebookFailure as failure:
                print(f"\nError: {failure}", file=sys.stderr)
                return 1
        elif args.command == "entrenar":
            train_from_command_line(args.ejecucion, args.perfil, args.parametro)
        elif args.command == "resumen":
            from cifar_lib.results import load_runs, markdown_table, replace_section, summary_table

            folder = args.resultados or project_root() / "results"
            print(summary_table(folder))
            if args.readme:
                replace_section(project_root() / "README.md", "resultados", markdown_table(folder))
                print("\nTabla actualizada en README.md")
            if args.figuras:
                from cifar_lib.plots import compare_runs

                target = project_root() / "figures" / "comparacion.png"
                compare_runs(load_runs(folder), save_to=target)
                print(f"\nFigura guardada en figures/{target.name}")
        elif args.command == "predecir":
            try:
                predict_files(args.imagenes, args.modelo or default_model(project_root()))
            except PredictionError as error:
                print(f"Error: {error}", file=sys.stderr)
                return 1
    except (ConfigError, ValueError) as error:
        print(f"Error: {error}", file=sys.stderr)
        return 2
    return 0


def train_from_command_line(run: str, profile: str | None, pairs: list[list[str]] | None) -> None:
    """``entrenar``: valida los parámetros, carga los datos y entrena con reanudación."""
    from cifar_lib.config import check_run, percent, resolve_run
    from cifar_lib.runner import parse_parameters, reject_unknown_parameters

    if check_run(run).step > 6:
        raise ConfigError("«entrenar» sirve para las ejecuciones del informe (pasos 1 a 6).")
    parameters = parse_parameters(pairs)
    names = {"EPOCHS", "BATCH_SIZE", "SEED", "PATIENCE", "TRAIN_SAMPLES", "VAL_SAMPLES", "TEST_SAMPLES"}
    reject_unknown_parameters(parameters, names)
    run_config = resolve_run(run, profile, **{name.lower(): value for name, value in parameters.items()})

    from cifar_lib import data, training

    cifar = data.load_for_run(run_config)
    print(run_config.describe(), flush=True)
    print(cifar.describe(), flush=True)
    print(f"Punto de control: {run_config.checkpoint_dir}", flush=True)
    model, run_ = training.train_report_run(run_config, cifar)
    accuracy = training.evaluate(model, cifar)
    print(
        f"Terminado: {run_.epochs_run} épocas, mejor época {run_.best_epoch}, "
        f"precisión en test {percent(accuracy)}"
    )
