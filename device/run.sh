#!/usr/bin/env bash
# El curso entero en la máquina con acelerador (una H200, JAX, sin TensorFlow), en una sola orden.
#
# Uso, desde la raíz del proyecto, con .device/ (make device-bundle) al lado:
#     bash .device/run.sh [PERFIL]          # PERFIL: completo (por defecto) o prueba
#
# Partes, de la más valiosa a la menos, cada una con el tiempo que quede:
#   1. instala las ruedas de .device/ruedas sin red y comprueba en segundos que Keras ve la GPU;
#   2. todos los cuadernos con el perfil elegido (el paso 6 con sus 100 épocas), en float32
#      como el informe, sobre la copia JPEG de CIFAR-10 (la que cabe en el viaje); cada
#      cuaderno terminado queda guardado aunque no dé tiempo a los siguientes;
#   3. el benchmark en el dispositivo (imágenes/s de cada paso y el aumento de datos): el
#      completo si quedan 150 s, si no el rápido.
# Lo que vuelve va a $OUT (o a una carpeta temporal si no existe): curso.tar.gz (cuadernos,
# resultados, figuras y benchmark), los modelos y registro.txt, el registro de todo.
#
# Variables: TIME_LIMIT_S (segundos en total, 480 por defecto: deja sitio a un segundo intento en
# 15 minutos), WHEELS_DIR (carpeta de ruedas), CIFAR_NO_GPU=1 (ensayo en la CPU: no exige GPU).
set -uo pipefail

perfil="${1:-completo}"
bundle="$(cd "$(dirname "$0")" && pwd)"
start=$(date +%s)
limit="${TIME_LIMIT_S:-480}"
OUT="${OUT:-$(mktemp -d)}"
mkdir -p "$OUT"
log="$OUT/registro.txt"
destino="salidas/dispositivo"
export PYTHONUNBUFFERED=1 KERAS_BACKEND=jax TF_CPP_MIN_LOG_LEVEL=3 MPLBACKEND=Agg
export CIFAR10_PATH="$bundle/cifar10-jpeg.tar.gz"
export CIFAR_CACHE="${CIFAR_CACHE:-/tmp/cifar_cache}"

say() { echo "[$(($(date +%s) - start)) s] $*" | tee -a "$log"; }
left() { echo $((limit - ($(date +%s) - start))); }
# Ejecuta una parte con el tiempo que quede menos un margen para empaquetar; su salida, en vivo.
part() {
  local name="$1" reserve="$2"; shift 2
  local budget=$(($(left) - reserve))
  if [ "$budget" -lt 20 ]; then say "sin tiempo para: $name"; return 1; fi
  say "empieza: $name (hasta $budget s)"
  timeout --signal=INT --kill-after=20 "$budget" "$@" 2>&1 | tee -a "$log"
  local status=${PIPESTATUS[0]}
  say "termina: $name (código $status)"
  return "$status"
}

pack() {
  say "empaquetando en $OUT"
  mkdir -p "$destino"
  tar czf "$OUT/curso.tar.gz" --exclude='*.keras' "$destino" 2>>"$log"
  for model in "$destino"/models/*.keras; do
    [ -f "$model" ] && cp "$model" "$OUT/$(basename "$model")"
  done
  ls -la "$OUT" | tee -a "$log"
}
trap pack EXIT

say "perfil $perfil, límite $limit s, salida en $OUT"
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade \
  --target /tmp/site "${WHEELS_DIR:-$bundle/ruedas}"/*.whl 2>&1 | tee -a "$log"
[ "${PIPESTATUS[0]}" -eq 0 ] || { say "ERROR: no se pudieron instalar las ruedas"; exit 2; }
export PYTHONPATH="/tmp/site:$PWD${PYTHONPATH:+:$PYTHONPATH}"
say "ruedas instaladas"

python3 - <<'PY' 2>&1 | tee -a "$log"
import os, sys
import jax, keras
devices = jax.devices()
print(f"Keras {keras.__version__}, backend {keras.config.backend()}, JAX {jax.__version__}: {devices}")
if devices[0].platform != "gpu" and os.environ.get("CIFAR_NO_GPU") != "1":
    sys.exit("ERROR: JAX no ve ninguna GPU; se para aquí para no gastar el tiempo del acelerador en la CPU.")
PY
[ "${PIPESTATUS[0]}" -eq 0 ] || exit 3

mkdir -p "$destino/benchmark"
part "cuadernos, perfil $perfil" 45 python3 -m cifar_lib ejecutar --perfil "$perfil" --destino "$destino"
rapido="--rapido"
[ "$perfil" = "completo" ] && [ "$(left)" -ge 150 ] && rapido=""
part "benchmark" 25 python3 benchmarks/benchmark.py $rapido --salida "$destino/benchmark"
say "fin"
