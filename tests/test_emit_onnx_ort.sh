#!/usr/bin/env bash
# test_emit_onnx_ort.sh BUILD_DIR [SHARED_DIR] - `resnetc --emit-onnx` files
# run in ONNX Runtime and compute what the C generated from the same .resnet
# file computes (within 1e-4, max|out - ref| / max|ref|).
#
# One resnetc command writes both, from models/resnet18.resnet and
# models/cifar_resnet20.resnet (option A: Slice + Pad) with seeded random
# weights; ONNX Runtime is onnxruntime-node (npm), found through NODE_PATH,
# then bench/node_modules (tools/install-deps.sh installs it there).
# Skipped (77) without node or onnxruntime-node.
set -uo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
resnetc=$build/resnetc
check=$src/tests/tools/ort_check.js
export NODE_PATH=${NODE_PATH:+$NODE_PATH:}$src/bench/node_modules
if ! command -v node >/dev/null 2>&1; then
  echo "SKIPPED: node is absent"; exit 77
fi
if ! node "$check" probe >/dev/null 2>&1; then
  echo "SKIPPED: onnxruntime-node is absent (tools/install-deps.sh, or: cd bench && npm install --ignore-scripts)"
  exit 77
fi
tmp=$build/test-tmp/emit_onnx_ort
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1
fail=0
# model C,H,W
for spec in cifar_resnet20:3,32,32 resnet18:3,224,224; do
  m=${spec%%:*} shape=${spec#*:}
  # the model as the user names it: relative to the checkout
  if ! (cd "$src" && nice "$resnetc" -q "models/$m.resnet" --random-weights 11 --emit-onnx "$tmp/$m.onnx" \
        -o "$tmp/$m") >"$tmp/$m.log" 2>&1; then
    echo "FAIL $m: resnetc:"; cat "$tmp/$m.log"; fail=1; continue
  fi
  if ! nice make -s -C "$tmp/$m" >>"$tmp/$m.log" 2>&1; then
    echo "FAIL $m: the generated C does not build:"; tail -5 "$tmp/$m.log"; fail=1; continue
  fi
  node "$check" input "$shape" "$tmp/$m.in.bin" &&
    "$tmp/$m/$m" "$tmp/$m.in.bin" "$tmp/$m.c.bin" >>"$tmp/$m.log" 2>&1 ||
    { echo "FAIL $m: the generated program did not run"; fail=1; continue; }
  node "$check" run "$tmp/$m.onnx" "$tmp/$m.in.bin" "$shape" "$tmp/$m.c.bin" 1e-4 || fail=1
  rm -rf "$tmp/$m"/*.o "$tmp/$m"/*.weights
done
exit $fail
