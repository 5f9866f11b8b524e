#!/usr/bin/env bash
# quickstart.sh - from a fresh Debian 12 checkout to a network you compiled
# yourself, in one command:
#   1. installs what building resnetc needs (tools/install-deps.sh --build);
#   2. builds resnetc in build/ (where the README's commands expect it;
#      tests off unless build/ was configured with them);
#   3. compiles models/digits.resnet, a small ResNet trained on the 8x8
#      handwritten digits (its weights: models/digits.safetensors), to C;
#   4. builds the generated C with cc and examples/digits/eval.c, runs it on
#      the 360 test images, and prints its accuracy next to PyTorch's.
# Exits non-zero if any step fails or a prediction differs from PyTorch's.
# CI (.ci/run) runs it first, as a user on a fresh machine would.
set -euo pipefail
cd "$(dirname "$0")/.."
b=build/quickstart
say() { printf '\n== %s\n' "$*"; }

say "installing build dependencies (Debian packages)"
tools/install-deps.sh --build

say "building resnetc"
[ -f build/CMakeCache.txt ] || cmake -S . -B build -DRN_TESTS=OFF -DCMAKE_BUILD_TYPE=Release >/dev/null
cmake --build build --target resnetc -j"$(nproc)" >/dev/null

model=models/digits.resnet
say "compiling $model to C"
set -x
build/resnetc "$model" --name digits -o "$b/digits"
cc -O2 -std=c99 -I"$b/digits" examples/digits/eval.c "$b/digits/digits.c" \
   "$b/digits/digits_weights.c" -lm -o "$b/digits_eval"
{ set +x; } 2>/dev/null
ls -l "$b/digits"

say "running the compiled network on the test split"
"$b/digits_eval" examples/digits
