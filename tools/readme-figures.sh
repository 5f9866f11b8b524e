#!/usr/bin/env bash
# readme-figures.sh [--check] [BUILD_DIR] - the README's Cortex-M7 table
# from the sizes tests/test_cross.sh measured (BUILD_DIR/cross-sizes.txt,
# default build/).
#
#   tools/readme-figures.sh build           rewrites the rows of the models
#                                           measured, between the markers
#                                           <!-- cross-sizes begin/end -->
#   tools/readme-figures.sh --check build   changes nothing; exits 1 (and
#                                           prints old and new rows) when a
#                                           measured model's row differs
#
# One line of cross-sizes.txt per model, as test_cross writes it:
#   NAME flash F B (weights W B, code and libc C B) RAM R B (arena A B)
# becomes the row
#   | Label | F B (W + C) | R B (A B) |
# with thousands separators; Label is the model's README name (digits,
# CIFAR ResNet-20) or NAME.  Rows of models not measured in this run (no
# cifar_resnet20.onnx here, say) are left as they are: the check covers
# what was measured.
set -euo pipefail
check=0
if [ "${1:-}" = "--check" ]; then check=1; shift; fi
src=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$src/build}
sizes=$build/cross-sizes.txt
readme=${RN_README:-$src/README.md}
[ -f "$sizes" ] || { echo "readme-figures.sh: no $sizes (run tests/test_cross.sh first: ctest -R cross)" >&2; exit 2; }
grep -q '^<!-- cross-sizes begin -->$' "$readme" && grep -q '^<!-- cross-sizes end -->$' "$readme" ||
  { echo "readme-figures.sh: $readme has no <!-- cross-sizes begin/end --> markers" >&2; exit 2; }

# the rows measured, "Label<TAB>| Label | ... |"
rows=$(awk '
  function sep(n,   s) { s = ""; n = n ""; while (length(n) > 3) { s = "," substr(n, length(n) - 2) s; n = substr(n, 1, length(n) - 3) } return n s }
  $2 == "flash" && $13 == "RAM" {
    label = $1
    if (label == "cifar_resnet20") label = "CIFAR ResNet-20"
    printf "%s\t| %s | %s B (%s + %s) | %s B (%s B) |\n", label, label, sep($3), sep($6), sep($11), sep($14), sep($17)
  }' "$sizes")
[ -n "$rows" ] || { echo "readme-figures.sh: no sizes in $sizes" >&2; exit 2; }

# the table with those rows replaced (or added before the end marker)
new=$(awk -v rows="$rows" '
  BEGIN { n = split(rows, r, "\n"); for (i = 1; i <= n; i++) { split(r[i], f, "\t"); row[f[1]] = f[2]; order[i] = f[1] } }
  /^<!-- cross-sizes begin -->$/ { inside = 1; print; next }
  /^<!-- cross-sizes end -->$/ {
    for (i = 1; i <= n; i++) if (!(order[i] in done)) print row[order[i]]
    inside = 0; print; next }
  inside && /^\| / {
    split($0, c, "|"); label = c[2]; gsub(/^ +| +$/, "", label)
    if (label in row) { print row[label]; done[label] = 1; next } }
  { print }' "$readme")

if [ $check = 1 ]; then
  if [ "$new" != "$(cat "$readme")" ]; then
    echo "README.md's Cortex-M7 figures differ from this build's ($sizes):"
    diff <(cat "$readme") <(printf '%s\n' "$new") | grep '^[<>]' | sed 's/^</  README:  /; s/^>/  measured:/'  || true
    echo "refresh them with: tools/readme-figures.sh $build   (then commit README.md)"
    exit 1
  fi
  echo "README.md's Cortex-M7 figures match this build"
else
  printf '%s\n' "$new" >"$readme.tmp" && mv "$readme.tmp" "$readme"
  echo "README.md: Cortex-M7 figures from $sizes"
fi
