"""Línea de órdenes del curso, ``python -m cifar_lib``: ``ejecutar``, ``resumen`` y ``predecir`` (``-h`` las explica)."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from cifar_lib.config import PROFILES, ConfigError, project_root
from cifar_lib.predict import DEFAULT_MODELS, PredictionError, default_model, predict_files


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m cifar_lib",
        description="CIFAR-10 con redes neuronales: ejecutar el curso, ver resultados y predecir.",
    )
    commands = parser.add_subparsers(dest="command", metavar="ORDEN", title="órdenes")
    run = commands.add_parser(
        "ejecutar",
        help="ejecuta los cuadernos con papermill y muestra la tabla resumen",
        description="Ejecuta los cuadernos en orden. Solo el perfil «completo» con sus propios ajustes "
        "reescribe notebooks/, results/, figures/ y models/ (con otra semilla, su registro va a results/ y lo "
        "demás a salidas/semillaN/); cualquier otra ejecución escribe en salidas/, o en --destino si se da.",
    )
    run.add_argument(
        "pasos", nargs="*", type=int, metavar="PASO", help="pasos (1–8); todos si no se indica ninguno"
    )
    profiles = "; ".join(f"{p.name}: {p.description}" for p in PROFILES.values())
    run.add_argument(
        "--perfil", choices=list(PROFILES), help=f"{profiles} (por defecto, CIFAR_PROFILE o completo)"
    )
    run.add_argument("--destino", type=Path, help="carpeta para cuadernos, resultados, figuras y modelos")
    run.add_argument(
        "--semillas", nargs="+", type=int, metavar="SEMILLA",
        help="ejecuta cada paso con cada semilla; si incluyes la de por defecto (42), va la última y su "
        "cuaderno muestra la tabla de todas, p. ej. --semillas 7 123 42",
    )  # fmt: skip
    run.add_argument("-p", "--parametro", nargs=2, action="append", metavar=("NOMBRE", "VALOR"),
                     help="valor para la celda de parámetros, p. ej. -p EPOCHS 5 (se puede repetir)")  # fmt: skip

    summary = commands.add_parser("resumen", help="imprime la tabla de resultados frente al informe")
    summary.add_argument("--resultados", type=Path, help="carpeta de resultados (por defecto results/)")
    summary.add_argument("--readme", action="store_true", help="escribe además la tabla en README.md")
    summary.add_argument("--figuras", action="store_true", help="regenera además figures/comparacion.png")

    predict = commands.add_parser("predecir", help="clasifica imágenes con el mejor modelo guardado")
    predict.add_argument("imagenes", nargs="+", type=Path, metavar="IMAGEN", help="archivos PNG o JPEG")
    defaults = ", ".join(path.as_posix() for path in DEFAULT_MODELS)
    predict.add_argument(
        "--modelo", type=Path, help=f"modelo Keras (por defecto, el primero que exista de: {defaults})"
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
                    args.pasos, args.perfil, args.destino, parse_parameters(args.parametro), args.semillas
                )
            except NotebookFailure as failure:
                print(f"\nError: {failure}", file=sys.stderr)
                return 1
        elif args.command == "resumen":
            from cifar_lib import results

            folder = args.resultados or project_root() / "results"
            print(results.summary_table(folder))
            epoch_seconds = results.benchmark_epoch_seconds(project_root() / results.BENCHMARK)
            costs = results.cost_rows(results.load_runs(folder), epoch_seconds)
            if costs:
                print("\nEn una misma CPU, la del benchmark:\n" + results.render_table(costs))
            if args.readme:
                readme = project_root() / "README.md"
                results.replace_section(readme, "resultados", results.summary_table(folder, markdown=True))
                if costs:
                    results.replace_section(readme, "coste", results.render_table(costs, markdown=True))
                print("\nTablas actualizadas en README.md")
            if args.figuras:
                from cifar_lib.plots import compare_runs

                target = project_root() / "figures" / "comparacion.png"
                compare_runs(results.complete_runs(results.load_runs(folder)), save_to=target)
                print(f"\nFigura guardada en figures/{target.name} (solo las ejecuciones completas)")
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
