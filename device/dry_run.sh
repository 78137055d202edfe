#!/usr/bin/env bash
# Ensayo de .device/run.sh en esta CPU: un entorno nuevo con Python 3.12 y solo lo que ya hay en
# la máquina con acelerador (JAX en CPU, NumPy, SciPy, matplotlib, seaborn, pandas, Pillow, h5py,
# rich, ml-dtypes y las dependencias de las ruedas que allí ya están), más las ruedas del paquete. Perfil «prueba», de principio a fin, empaquetado
# incluido (en una carpeta temporal si OUT no existe).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d .device ] || { echo "Falta .device/: ejecuta antes make device-bundle." >&2; exit 1; }
python312="${PYTHON312:-}"
if [ -z "$python312" ]; then
  for candidate in python3.12 "$HOME"/.pyenv/versions/3.12*/bin/python3.12 /usr/bin/python3.12; do
    if "$candidate" -c "import venv" >/dev/null 2>&1; then python312="$candidate"; break; fi
  done
fi
[ -n "$python312" ] || {
  echo "El ensayo necesita Python 3.12 (el de la máquina con acelerador): indica PYTHON312=/ruta/python3.12." >&2
  exit 1
}
venv=.device-venv
if [ ! -f "$venv/.listo" ]; then
  rm -rf "$venv"
  "$python312" -m venv "$venv"
  "$venv/bin/python" -m pip install --quiet --upgrade pip
  # Lo que ya hay allí y el curso usa (directamente o a través de las ruedas del paquete).
  "$venv/bin/python" -m pip install --quiet jax numpy scipy matplotlib seaborn pandas pillow h5py rich \
    ml-dtypes absl-py aiohttp attrs click packaging psutil pygments python-dateutil pyyaml requests tqdm \
    typing-extensions
  touch "$venv/.listo"
fi
export OUT="${OUT:-$(mktemp -d)}"
PATH="$(pwd)/$venv/bin:$PATH" CIFAR_NO_GPU=1 CIFAR_CACHE="$(mktemp -d)" TIME_LIMIT_S="${TIME_LIMIT_S:-900}" \
  bash .device/run.sh prueba
echo
echo "Ensayo terminado; lo que volvería del acelerador está en $OUT:"
ls -la "$OUT"
for expected in curso.tar.gz registro.txt final.keras; do
  [ -s "$OUT/$expected" ] || { echo "Falta $expected en $OUT" >&2; exit 1; }
done
contents="$(tar tzf "$OUT/curso.tar.gz")"
for expected in results/05.json results/07.json notebooks/06_aumento_de_datos.ipynb figures/comparacion.png; do
  grep -q "salidas/dispositivo/$expected" <<<"$contents" || { echo "Falta $expected en curso.tar.gz" >&2; exit 1; }
done
if grep -q "ERROR" "$OUT/registro.txt"; then echo "El registro tiene errores" >&2; exit 1; fi
echo "Ensayo correcto."
