#!/usr/bin/env bash
# gallery.sh [--check] [BUILD_DIR] [MODELS_DIR] - renders the README's
# pictures from the real tool output, into docs/img/:
#   resnet18-graph.svg   resnetc --dot, rendered by Graphviz (dot -Tsvg)
#   resnet18-plan.svg    resnetc --plan-svg (the static memory plan)
#   resnet18-report.txt  resnetc --report (the table)
#   digits-graph.svg     the quick start's network, models/digits.resnet, and
#   digits-plan.svg      its memory plan
# and the excerpt of resnet18-report.txt that the README shows (between
# <!-- report-excerpt begin/end -->: the first rows, the last rows, the
# totals and the arena line).
#
# --check writes nothing: it renders into a scratch folder and exits 1,
# listing what differs, when docs/img or the README excerpt is not what the
# tool makes now (tests/test_gallery.sh).  Rerun without --check after a
# change to the optimiser, the plan, dot.c or report.c, and commit docs/img
# and README.md.
#
# Needs graphviz (dot) and ResNet-18 as ONNX (MODELS_DIR/resnet18.onnx,
# default ../shared/models; tools/export_models.py writes it).
# RN_GALLERY_IMG and RN_README name other targets (the test's self-check).
set -euo pipefail
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$src/build}" && pwd)
models=${2:-$src/../shared/models}
img=${RN_GALLERY_IMG:-$src/docs/img}
readme=${RN_README:-$src/README.md}
resnetc=$build/resnetc
command -v dot >/dev/null || { echo "gallery.sh: graphviz is not installed (apt-get install graphviz)" >&2; exit 2; }
[ -f "$models/resnet18.onnx" ] || { echo "gallery.sh: no $models/resnet18.onnx" >&2; exit 2; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
out=$tmp/img
mkdir -p "$out"

# Run in a scratch folder on relative names: the command line recorded in
# each picture names no folder of this machine.
ln -s "$models/resnet18.onnx" "$tmp/resnet18.onnx"
cp "$src/models/digits.resnet" "$src/models/digits.safetensors" "$tmp/"
(
  cd "$tmp"
  "$resnetc" resnet18.onnx --no-emit --report --dot resnet18.dot --plan-svg resnet18-plan.svg >report.txt
  dot -Tsvg resnet18.dot -o "$out/resnet18-graph.svg"
  cp resnet18-plan.svg "$out/resnet18-plan.svg"
  cp report.txt "$out/resnet18-report.txt"
  "$resnetc" digits.resnet --no-emit --dot digits.dot --plan-svg digits-plan.svg
  dot -Tsvg digits.dot -o "$out/digits-graph.svg"
  cp digits-plan.svg "$out/digits-plan.svg"
)

# The README's excerpt: the table's header and first 5 rows, "...", its
# last 3 rows and totals, and the arena line.
rep=$out/resnet18-report.txt
last=$(grep -n '^total multiply-adds' "$rep" | cut -d: -f1)
[ -n "$last" ] || { echo "gallery.sh: no 'total multiply-adds' line in resnetc --report" >&2; exit 2; }
{
  echo '```'
  head -6 "$rep"
  echo '...'
  sed -n "$((last - 3)),${last}p" "$rep"
  grep '^arena_bytes=' "$rep"
  echo '```'
} >"$tmp/excerpt"
grep -q '^<!-- report-excerpt begin -->$' "$readme" ||
  { echo "gallery.sh: $readme has no <!-- report-excerpt begin/end --> markers" >&2; exit 2; }
newreadme=$(awk -v f="$tmp/excerpt" '
  /^<!-- report-excerpt begin -->$/ { print; while ((getline l < f) > 0) print l; skip = 1; next }
  /^<!-- report-excerpt end -->$/ { skip = 0 }
  !skip { print }' "$readme")

if [ $check = 1 ]; then
  bad=0
  for f in "$out"/*; do
    b=$(basename "$f")
    if ! cmp -s "$f" "$img/$b"; then
      echo "docs/img/$b differs from what the tool makes now:"
      diff "$img/$b" "$f" 2>&1 | head -8 | sed 's/^/  /' || true
      bad=1
    fi
  done
  if [ "$newreadme" != "$(cat "$readme")" ]; then
    echo "README.md's --report excerpt differs from resnetc --report now:"
    diff <(cat "$readme") <(printf '%s\n' "$newreadme") | head -12 | sed 's/^/  /' || true
    bad=1
  fi
  if [ $bad = 1 ]; then
    echo "refresh with: tools/gallery.sh $build $models   (then commit docs/img and README.md)"
    exit 1
  fi
  echo "gallery: docs/img and the README excerpt are what the tool makes now"
else
  mkdir -p "$img"
  cp "$out"/* "$img/"
  printf '%s\n' "$newreadme" >"$readme.tmp" && mv "$readme.tmp" "$readme"
  ls -l "$img"
fi
