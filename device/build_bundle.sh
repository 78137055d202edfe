#!/usr/bin/env bash
# Construye .device/ (ignorada por git): lo que viaja a la máquina con acelerador.
#   .device/ruedas/          las ruedas de device/requirements.txt para Python 3.12 (x86-64)
#   .device/cifar10-jpeg.tar.gz  la copia JPEG de CIFAR-10 (19,6 MB; la oficial no cabe)
#   .device/run.sh           la orden que se ejecuta allí (copia de device/run.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
jpeg="${CIFAR10_JPEG_PATH:-../shared/datasets/cifar10-jpeg.tar.gz}"
[ -f "$jpeg" ] || { echo "Falta la copia JPEG de CIFAR-10 ($jpeg): indica CIFAR10_JPEG_PATH." >&2; exit 1; }
python="${PYTHON:-python3}"
work=".device.tmp"
rm -rf "$work"
mkdir -p "$work/ruedas"
platforms=""
for tag in manylinux_2_28 manylinux_2_27 manylinux_2_26 manylinux_2_24 manylinux_2_17 manylinux2014 manylinux1; do
  platforms="$platforms --platform ${tag}_x86_64"
done
"$python" -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
  $platforms --platform any -d "$work/ruedas" -r device/requirements.txt
cp "$jpeg" "$work/cifar10-jpeg.tar.gz"
cp device/run.sh "$work/run.sh"
size=$(du -sm "$work" | cut -f1)
if [ "$size" -gt 45 ]; then
  echo "El paquete ocupa $size MiB, más de los 45 permitidos." >&2
  exit 1
fi
rm -rf .device
mv "$work" .device
echo ".device/ listo: $(ls .device/ruedas | wc -l) ruedas, $(du -sh .device | cut -f1) en total."
