# Las dos órdenes del curso: `make run` (ejecuta los cuadernos) y `make test` (los tests).
# Cada una crea el entorno virtual .venv si no existe.

VENV   ?= .venv
PYTHON ?= python3
PY     := $(VENV)/bin/python
PERFIL ?= rapido
READY  := $(VENV)/.instalado
# Las versiones de las ejecuciones guardadas; vacío (make CONSTRAINTS= …) para las más recientes.
CONSTRAINTS ?= constraints.txt

.PHONY: run test test-fast lab summary benchmark lint format clean device-bundle device-dry-run

$(READY): pyproject.toml $(CONSTRAINTS)
	$(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet $(if $(CONSTRAINTS),-c $(CONSTRAINTS)) -e ".[tensorflow,jax,dev,lab]"
	touch $@

## Ejecuta el curso (PERFIL=rapido por defecto; PERFIL=completo regenera los cuadernos).
run: $(READY)
	$(PY) -m cifar_lib ejecutar --perfil $(PERFIL) $(PASOS)

## Todos los tests con TensorFlow y, después, con JAX los rápidos de lo que depende del backend
## (el aumento, las redes, el entrenamiento y la predicción; datos, tablas y figuras son NumPy).
JAX_TESTS := tests/test_augmentation.py tests/test_models.py tests/test_training.py tests/test_cli.py
## Los tests se reparten entre los núcleos (pytest-xdist, hasta 4 procesos): en 2 núcleos, un 27 % menos.
XDIST := --numprocesses=auto --maxprocesses=4
test: $(READY)
	$(PY) -m pytest $(XDIST)
	KERAS_BACKEND=jax $(PY) -m pytest $(XDIST) -m "not slow and not real_data" -q $(JAX_TESTS)

## Solo los tests rápidos (sin ejecutar cuadernos).
test-fast: $(READY)
	$(PY) -m pytest -m "not slow and not real_data"

## Abre JupyterLab en la carpeta de cuadernos.
lab: $(READY)
	$(VENV)/bin/jupyter lab notebooks/

summary: $(READY)
	$(PY) -m cifar_lib resumen

benchmark: $(READY)
	$(PY) benchmarks/benchmark.py

lint: $(READY)
	$(VENV)/bin/ruff check cifar_lib tests benchmarks notebooks
	$(VENV)/bin/ruff format --check cifar_lib tests benchmarks

format: $(READY)
	$(VENV)/bin/ruff format cifar_lib tests benchmarks
	$(VENV)/bin/ruff check --fix cifar_lib tests benchmarks

## Construye .device/ para la máquina con acelerador (ruedas, copia JPEG de CIFAR-10 y run.sh).
device-bundle:
	bash device/build_bundle.sh

## Ensaya .device/run.sh en esta CPU (Python 3.12, solo los paquetes de la máquina con acelerador).
device-dry-run:
	bash device/dry_run.sh

clean:
	rm -rf salidas checkpoints .pytest_cache
