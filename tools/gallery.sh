#!/usr/bin/env bash
# gallery.sh [BUILD_DIR] [MODELS_DIR] - renders the README's pictures from
# the real tool output, into docs/img/:
#   resnet18-graph.svg   resnetc --dot, rendered by Graphviz (dot -Tsvg)
#   resnet18-plan.svg    resnetc --plan-svg (the static memory plan)
#   resnet18-report.txt  resnetc --report (the table)
#   digits-graph.svg     the example network of examples/digits
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

# Relative paths, run from the models folder: the command line recorded in
# the pictures names no folder of this machine.
(cd "$models" && "$resnetc" -q resnet18.onnx -o "$tmp/r18" --report \
   --dot "$tmp/resnet18.dot" --plan-svg "$tmp/resnet18-plan.svg") >"$tmp/report.txt"
dot -Tsvg "$tmp/resnet18.dot" -o "$img/resnet18-graph.svg"
cp "$tmp/resnet18-plan.svg" "$img/resnet18-plan.svg"
cp "$tmp/report.txt" "$img/resnet18-report.txt"

d=examples/digits
(cd "$src" && "$resnetc" -q "$d/digits.resnet" --weights "$d/digits.safetensors" \
   --name digits -o "$tmp/digits" --dot "$tmp/digits.dot")
dot -Tsvg "$tmp/digits.dot" -o "$img/digits-graph.svg"
ls -l "$img"
