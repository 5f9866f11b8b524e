#!/usr/bin/env bash
# gallery.sh [BUILD_DIR] [MODELS_DIR] - renders the README's pictures from
# the real tool output, into docs/img/:
#   resnet18-graph.svg   resnetc --dot, rendered by Graphviz (dot -Tsvg)
#   resnet18-plan.svg    resnetc --plan-svg (the static memory plan)
#   resnet18-report.txt  resnetc --report (the table)
#   digits-graph.svg     the quick start's network, models/digits.resnet, and
#   digits-plan.svg      its memory plan
# Needs graphviz (apt-get install graphviz) and ResNet-18 as ONNX
# (MODELS_DIR/resnet18.onnx, default ../shared/models; tools/export_models.py
# writes it).  Rerun after a change to the optimiser or to dot.c, and commit
# docs/img.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
models=${2:-$src/../shared/models}
img=$src/docs/img
resnetc=$build/resnetc
command -v dot >/dev/null || { echo "gallery.sh: graphviz is not installed (apt-get install graphviz)" >&2; exit 1; }
[ -f "$models/resnet18.onnx" ] || { echo "gallery.sh: no $models/resnet18.onnx" >&2; exit 1; }
mkdir -p "$img"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# Run in a scratch folder on relative names: the command line recorded in
# each picture names no folder of this machine.
ln -s "$models/resnet18.onnx" "$tmp/resnet18.onnx"
cp "$src/models/digits.resnet" "$src/models/digits.safetensors" "$tmp/"
cd "$tmp"
"$resnetc" resnet18.onnx --no-emit --report --dot resnet18.dot --plan-svg resnet18-plan.svg >report.txt
dot -Tsvg resnet18.dot -o "$img/resnet18-graph.svg"
cp resnet18-plan.svg "$img/resnet18-plan.svg"
cp report.txt "$img/resnet18-report.txt"
"$resnetc" digits.resnet --no-emit --dot digits.dot --plan-svg digits-plan.svg
dot -Tsvg digits.dot -o "$img/digits-graph.svg"
cp digits-plan.svg "$img/digits-plan.svg"
ls -l "$img"
