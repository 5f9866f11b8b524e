#!/usr/bin/env bash
# test_generated_sanitize.sh - the generated C of every end-to-end model runs
# clean under the sanitizers and under valgrind's memcheck.
#
# usage: tests/test_generated_sanitize.sh BUILD_DIR [SHARED_DIR]
#
# For each model of the end-to-end tests (../shared/models: cifar_resnet20,
# cifar_plain20, cifar_resnet56, resnet18; resnet34 and resnet50 exported
# into BUILD_DIR/models by PyTorch, as tests/unit/e2e.c does; the digits
# example in .resnet), resnetc compiles it (-O2; cifar_resnet20 also -O0)
# and its own Makefile builds it twice:
#   - gcc -O1 -fsanitize=address,undefined -fno-sanitize-recover=all: any
#     undefined behaviour (overflow, misaligned or out-of-bounds access, bad
#     shift) or an access outside a buffer the driver allocated aborts;
#   - gcc -O2 -mavx2 -mfma (what valgrind 3.19 decodes; no AVX-512), run
#     under valgrind --error-exitcode=3: any read of uninitialised memory,
#     invalid access or leak fails.
# Both runs must also give the reference logits (max|out-ref|/max|ref| <=
# 1e-3), so the run checked is a real one.  Models whose data is absent are
# skipped (said so); when none is present the test is skipped.
set -u
build=$(cd "$1" && pwd)
shared=${2:-$build/../../shared}
here=$(cd "$(dirname "$0")/.." && pwd)
resnetc=$build/resnetc
"$resnetc" --version >/dev/null 2>&1 || { echo "skipped: resnetc not built"; exit 77; }
command -v valgrind >/dev/null || { echo "skipped: valgrind is not installed"; exit 77; }
if grep -q '^RN_SANITIZE:STRING=.' "$build/CMakeCache.txt" 2>/dev/null; then
  # the compiler under ASan is slow, and valgrind checks the generated code, not it
  echo "skipped: sanitizer build (the generated code is checked in the ordinary build)"; exit 77
fi
tmp=$build/test-tmp/generated_sanitize
rm -rf "$tmp" && mkdir -p "$tmp"
pass=0 fail=0 ran=0

# model folder (NAME.onnx, NAME.input.bin, NAME.output.bin) or empty
model_dir() {
  if [ -f "$shared/models/$1.onnx" ]; then echo "$shared/models"; return; fi
  # exported by PyTorch (again when the script changed); status 77: no PyTorch
  "$here/tools/export_cached.sh" "$build/models" "$1" && echo "$build/models"
}

compare() {   # OUT REF: relative max error <= 1e-3
  python3 - "$1" "$2" <<'PY'
import struct, sys
a = open(sys.argv[1], 'rb').read(); b = open(sys.argv[2], 'rb').read()
if len(a) != len(b): sys.exit('size %d, expected %d' % (len(a), len(b)))
x = struct.unpack('<%df' % (len(a) // 4), a); y = struct.unpack('<%df' % (len(b) // 4), b)
m = max(abs(v) for v in y) or 1.0
e = max(abs(p - q) for p, q in zip(x, y)) / m
if not e <= 1e-3: sys.exit('relative error %g' % e)
PY
}

check() {   # LABEL MODEL_FILE INPUT REF [resnetc options...]
  local label=$1 model=$2 input=$3 ref=$4
  shift 4
  local d=$tmp/$label ok=1 t0=$SECONDS
  ran=$((ran + 1))
  if ! "$resnetc" "$model" "$@" -n m -o "$d" 2>"$tmp/$label.log"; then
    echo "FAIL $label: resnetc: $(head -3 "$tmp/$label.log")"; fail=$((fail + 1)); return
  fi
  cp -r "$d" "$d-vg"
  if ! make -s -C "$d" CC=gcc CFLAGS="-O1 -g -std=c99 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer" \
       LDFLAGS="-fsanitize=address,undefined" >"$tmp/$label.build" 2>&1; then
    echo "FAIL $label: sanitizer build:"; head -20 "$tmp/$label.build"; fail=$((fail + 1)); return
  fi
  if ! ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 "$d/m" "$input" "$d/out.bin" 2>"$tmp/$label.san"; then
    echo "FAIL $label: under ASan+UBSan:"; head -20 "$tmp/$label.san"; ok=0
  elif ! why=$(compare "$d/out.bin" "$ref" 2>&1); then
    echo "FAIL $label: ASan+UBSan run: $why"; ok=0
  fi
  if ! make -s -C "$d-vg" CC=gcc CFLAGS="-O2 -g -std=c99 -mavx2 -mfma" >"$tmp/$label.build" 2>&1; then
    echo "FAIL $label: valgrind build:"; head -20 "$tmp/$label.build"; fail=$((fail + 1)); return
  fi
  valgrind -q --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=definite,indirect \
      "$d-vg/m" "$input" "$d-vg/out.bin" 2>"$tmp/$label.vg"
  local rc=$?
  if [ $rc != 0 ]; then
    echo "FAIL $label: valgrind memcheck (status $rc):"; head -30 "$tmp/$label.vg"; ok=0
  elif ! why=$(compare "$d-vg/out.bin" "$ref" 2>&1); then
    echo "FAIL $label: valgrind run: $why"; ok=0
  fi
  if [ $ok = 1 ]; then pass=$((pass + 1)); echo "ok   $label ($((SECONDS - t0)) s)"; else fail=$((fail + 1)); fi
  rm -rf "$d" "$d-vg"
}

# One job per model, as many at once as there are cores (the big ones are
# slow under valgrind); each writes its verdict to $tmp/LABEL.result.
jobs=$(nproc)
run() {   # LABEL ARGS...: check in the background, output kept apart
  while [ "$(jobs -rp | wc -l)" -ge "$jobs" ]; do wait -n; done
  ( pass=0 fail=0 ran=0; check "$@" >"$tmp/$1.out" 2>&1; echo "$pass $fail" >"$tmp/$1.result" ) &
  labels+=("$1")
}
labels=()
for spec in resnet50 resnet34 resnet18 cifar_resnet56 cifar_resnet20 cifar_resnet20:-O0 cifar_plain20; do
  name=${spec%%:*}
  opt=; [ "$spec" != "$name" ] && opt=${spec#*:}
  dir=$(model_dir "$name"); st=$?
  if [ $st = 77 ]; then echo "skip $spec: no model data"; continue; fi
  if [ $st != 0 ]; then echo "FAIL $spec: its export failed"; fail=$((fail + 1)); continue; fi
  run "$name$opt" "$dir/$name.onnx" "$dir/$name.input.bin" "$dir/$name.output.bin" $opt
done

# the digits model (models/digits.resnet, its safetensors weights beside
# it): its first test image against PyTorch's logits for it
ex=$here/examples/digits
head -c 256 "$ex/test_images.bin" >"$tmp/digits.in"      # one 1x8x8 float image
head -c 40 "$ex/torch_logits.bin" >"$tmp/digits.ref"      # its 10 logits
run digits "$here/models/digits.resnet" "$tmp/digits.in" "$tmp/digits.ref"
wait
for l in "${labels[@]}"; do
  cat "$tmp/$l.out"
  read -r p f <"$tmp/$l.result" 2>/dev/null || { p=0; f=1; }
  pass=$((pass + p)) fail=$((fail + f)) ran=$((ran + 1))
done

echo "generated code under sanitizers and valgrind: $ran models"
[ $ran = 0 ] && [ $fail = 0 ] && { echo "skipped: no model data"; exit 77; }
echo "$pass passed, $fail failed"
[ $fail = 0 ]
