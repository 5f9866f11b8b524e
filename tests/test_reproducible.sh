#!/usr/bin/env bash
# test_reproducible.sh BUILD_DIR [SHARED_DIR] - the same command run twice
# writes byte-identical files (no time stamps, no addresses, no hash-order
# output), and every generated file starts with a comment that names the
# resnetc version and the command line that made it.
#
# Models: the digits network of examples/digits (ONNX, and .resnet with its
# safetensors once the language front end has it), the CIFAR ResNet-20 from
# SHARED_DIR/models when present; weights embedded and as a blob.
set -uo pipefail
build=$(cd "$1" && pwd)
shared=${2:-}
src=$(cd "$(dirname "$0")/.." && pwd)
resnetc=$build/resnetc
if ! "$resnetc" --version >/dev/null 2>&1; then
  echo "skipped: resnetc --version fails (the CLI has not landed)"
  exit 77
fi
version=$("$resnetc" --version | awk '{print $NF}')
tmp=$build/test-tmp/reproducible
rm -rf "$tmp" && mkdir -p "$tmp" && cd "$tmp" || exit 1

fail=0 ncases=0 nfiles=0
# run NAME ARGS...: resnetc ARGS -o NAME twice, compare
run() {
  local name=$1; shift
  ncases=$((ncases + 1))
  if ! "$resnetc" -q "$@" -o "$name" >"$name.log" 2>&1; then
    echo "FAIL: resnetc $* -o $name:"; cat "$name.log"; fail=1; return
  fi
  mv "$name" "$name.first"
  "$resnetc" -q "$@" -o "$name" >>"$name.log" 2>&1
  if ! diff -r -q "$name.first" "$name" >/dev/null; then
    echo "FAIL: resnetc $* differs between two runs:"
    diff -r -q "$name.first" "$name" | head -5
    fail=1
  fi
  local f head
  for f in $(cd "$name" && find . -type f | sort); do
    nfiles=$((nfiles + 1))
    case "$f" in *.weights|*.bin) continue ;; esac   # raw data, no comment syntax
    head=$(head -c 2000 "$name/$f")
    case "$head" in
      "/*"*|"//"*|"#"*) ;;
      *) echo "FAIL: $name/$f does not start with a comment"; fail=1; continue ;;
    esac
    grep -q "resnetc $version" <<<"$head" ||
      { echo "FAIL: $name/$f: first comment does not name resnetc $version"; fail=1; }
    # the command line, as typed (program name normalised to resnetc)
    grep -qF -- "$*" <<<"$head" ||
      { echo "FAIL: $name/$f: first comment lacks the command line '$*'"; fail=1; }
  done
}

d=$src/examples/digits
run digits_embed "$d/digits.onnx" --name digits --weights-mode embed
run digits_blob "$d/digits.onnx" --name digits --weights-mode blob
run digits_resnet "$src/models/digits.resnet"
if [ -n "$shared" ] && [ -f "$shared/models/cifar_resnet20.onnx" ]; then
  run r20 "$shared/models/cifar_resnet20.onnx" -O2
  run r20_o0 "$shared/models/cifar_resnet20.onnx" -O0
else
  echo "note: cifar_resnet20.onnx absent, checked the digits model only"
fi
# a .resnet model in two folders, once named by its absolute path: the
# files are the same but for the command line (which holds the path as
# typed), the path is nowhere else (the layer comments name file:line:col
# without the folder), and the header says the weights are random
mkdir -p abs/models rel/models
cp "$src/models/cifar_resnet20.resnet" abs/models/
cp "$src/models/cifar_resnet20.resnet" rel/models/
if "$resnetc" -q "$tmp/abs/models/cifar_resnet20.resnet" --random-weights 5 -o abs/out >abs.log 2>&1 &&
   (cd rel && "$resnetc" -q models/cifar_resnet20.resnet --random-weights 5 -o out) >rel.log 2>&1; then
  ncases=$((ncases + 1))
  for f in $(cd abs/out && find . -type f | sort); do
    case "$f" in *.weights) cmp -s "abs/out/$f" "rel/out/$f" || { echo "FAIL: $f differs between folders"; fail=1; }; continue ;; esac
    diff <(grep -v 'Command line:' "abs/out/$f") <(grep -v 'Command line:' "rel/out/$f") >/dev/null ||
      { echo "FAIL: $f differs between a model in two folders:"; diff <(grep -v 'Command line:' "abs/out/$f") <(grep -v 'Command line:' "rel/out/$f") | head -4; fail=1; }
    if grep -v 'Command line:' "abs/out/$f" | grep -qF "$tmp"; then
      echo "FAIL: $f holds the model's folder outside the command line:"; grep -v 'Command line:' "abs/out/$f" | grep -F "$tmp" | head -2; fail=1
    fi
    head -c 2000 "abs/out/$f" | grep -q 'Weights: random (He initialisation; seed 5)' ||
      { echo "FAIL: $f: the header does not say the weights are random"; fail=1; }
  done
  "$resnetc" -q "$tmp/abs/models/cifar_resnet20.resnet" --random-weights 5 --weights-mode embed -o abs/emb >>abs.log 2>&1
  head -c 2000 abs/emb/cifar_resnet20_weights.c | grep -q 'Weights: random' ||
    { echo "FAIL: the embedded weights do not say they are random"; fail=1; }
else
  echo "FAIL: the .resnet model did not compile:"; cat abs.log rel.log; fail=1
fi
# --weights FILE: no note about random weights
if "$resnetc" -q "$d/digits.resnet" -o digits_note >note.log 2>&1 && grep -q 'Weights: random' digits_note/*.h; then
  echo "FAIL: trained weights called random"; fail=1
fi

# the pictures are generated files too
if "$resnetc" -q "$d/digits.onnx" --name digits --no-emit --dot g.dot --plan-svg p.svg >dot.log 2>&1; then
  mv g.dot g1.dot && mv p.svg p1.svg
  "$resnetc" -q "$d/digits.onnx" --name digits --no-emit --dot g.dot --plan-svg p.svg >>dot.log 2>&1
  cmp -s g1.dot g.dot || { echo "FAIL: --dot output differs between two runs"; fail=1; }
  cmp -s p1.svg p.svg || { echo "FAIL: --plan-svg output differs between two runs"; fail=1; }
  grep -q "resnetc $version" <<<"$(head -1 g1.dot)" || { echo "FAIL: the .dot file does not name the version"; fail=1; }
  grep -q "resnetc $version" <<<"$(head -3 p1.svg)" || { echo "FAIL: the plan SVG does not name the resnetc version"; fail=1; }
else
  echo "note: resnetc has no --dot/--plan-svg/--no-emit yet"; cat dot.log
fi

[ $fail -eq 0 ] && echo "reproducible: $ncases commands, $nfiles files byte-identical, headers checked"
exit $fail
