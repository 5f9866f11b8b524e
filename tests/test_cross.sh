#!/usr/bin/env bash
# test_cross.sh BUILD_DIR [SHARED_DIR] - the generated C builds for other
# targets and gives the same numbers there.
#
#   Cortex-M7 (arm-none-eabi-gcc, newlib, -mcpu=cortex-m7 -mfpu=fpv5-d16
#   -mfloat-abi=hard): the generated code of each model, weights embedded,
#   linked with tests/cross/m7_main.c (a static arena, no stdio) and
#   --specs=nosys.specs; reports flash (text+data) and RAM (data+bss,
#   the arena included) from arm-none-eabi-size, and the arena alone.
#
#   64-bit Arm (aarch64-linux-gnu-gcc -static, run under qemu-aarch64): the
#   generated driver NAME_main.c run on the model's input, its output
#   compared with the same code built and run on this machine:
#   max|arm - x86| / max|x86| <= 1e-5 (NEON and x86 kernels round
#   differently in the last bits).  Digits: the first 20 test images.
#
# Models: models/digits.resnet (inputs from examples/digits),
# SHARED_DIR/models/cifar_resnet20.onnx when present.  Writes the size table to BUILD_DIR/cross-sizes.txt, and checks
# that the README's Cortex-M7 table shows those figures
# (tools/readme-figures.sh --check; tools/readme-figures.sh BUILD_DIR
# refreshes it).
#
# A missing toolchain (tools/install-deps.sh installs gcc-arm-none-eabi,
# libnewlib-arm-none-eabi, gcc-aarch64-linux-gnu, qemu-user) or missing
# cifar_resnet20.onnx makes the test report skipped (77) once the rest has
# passed; with RN_REQUIRE_CROSS=1 (tools/test.sh, i.e. CI, which installs
# them) a missing toolchain is a failure.
set -uo pipefail
build=$(cd "$1" && pwd)
shared=${2:-}
src=$(cd "$(dirname "$0")/.." && pwd)
resnetc=$build/resnetc
if ! "$resnetc" --version >/dev/null 2>&1; then
  echo "skipped: resnetc --version fails (the CLI has not landed)"
  exit 77
fi
have_m7=0 have_a64=0
command -v arm-none-eabi-gcc >/dev/null && [ -f /usr/lib/arm-none-eabi/newlib/libc.a -o -d /usr/lib/arm-none-eabi/lib ] && have_m7=1
command -v aarch64-linux-gnu-gcc >/dev/null && command -v qemu-aarch64 >/dev/null && have_a64=1
missing=""
[ $have_m7 = 1 ] || missing="gcc-arm-none-eabi + libnewlib-arm-none-eabi (Cortex-M7)"
[ $have_a64 = 1 ] || missing="${missing:+$missing, }gcc-aarch64-linux-gnu + qemu-user (aarch64)"
if [ -n "$missing" ] && [ "${RN_REQUIRE_CROSS:-0}" = 1 ]; then
  echo "FAIL: RN_REQUIRE_CROSS=1 but not installed: $missing (tools/install-deps.sh installs them)"
  exit 1
fi
if [ $have_m7 = 0 ] && [ $have_a64 = 0 ]; then
  echo "skipped: not installed: $missing"
  exit 77
fi
partial=""      # what was not checked: the test then reports skipped, not passed
[ -z "$missing" ] || partial="not installed: $missing"

tmp=$build/test-tmp/cross
rm -rf "$tmp" && mkdir -p "$tmp" && cd "$tmp" || exit 1
fail=0
sizes=$tmp/sizes.txt
: >"$sizes"

d=$src/examples/digits
# name|resnetc arguments|input file|bytes per input|inputs to run
models="digits|$src/models/digits.resnet|$d/test_images.bin|256|20"
if [ -n "$shared" ] && [ -f "$shared/models/cifar_resnet20.onnx" ]; then
  models="$models
cifar_resnet20|$shared/models/cifar_resnet20.onnx|$shared/models/cifar_resnet20.input.bin|12288|1"
else
  partial="${partial:+$partial; }cifar_resnet20.onnx absent (no SHARED_DIR/models), digits only"
fi

# max|a-b|/max|b| over two raw float32 files, printed; exit 1 above TOL
cmp_f32() {
  paste <(od -An -v -f -w4 "$1") <(od -An -v -f -w4 "$2") | awk -v tol="$3" '
    { a = $1 + 0; b = $2 + 0; d = a - b; if (d < 0) d = -d; if (d > md) md = d;
      if (b < 0) b = -b; if (b > mr) mr = b; n++ }
    END { if (n == 0 || mr == 0) { print "empty"; exit 1 }
          r = md / mr; printf "%d values, max rel err %.3g\n", n, r; exit (r > tol) }'
}

while IFS='|' read -r name args input nbytes count; do
  [ -n "$name" ] || continue
  # shellcheck disable=SC2086
  if ! "$resnetc" -q $args --name "$name" --weights-mode embed -o "$name" >"$name.log" 2>&1; then
    echo "FAIL: resnetc $args:"; cat "$name.log"; fail=1; continue
  fi
  libsrc=$(ls "$name"/*.c | grep -v '_main\.c$')

  if [ $have_m7 = 1 ]; then
    m7="-mcpu=cortex-m7 -mfpu=fpv5-d16 -mfloat-abi=hard -mthumb"
    # shellcheck disable=SC2086
    if arm-none-eabi-gcc $m7 -O2 -std=c99 -Wall -Wextra -Werror -ffunction-sections -fdata-sections \
         -I"$name" -DRN_MODEL="$name" -DRN_MODEL_H="\"$name.h\"" \
         "$src/tests/cross/m7_main.c" $libsrc --specs=nosys.specs -Wl,--gc-sections -lm \
         -o "$name.m7.elf" >"$name.m7.log" 2>&1; then
      read -r text data bss _ < <(arm-none-eabi-size "$name.m7.elf" | tail -1)
      arena=$(grep -hoE "define ${name}_ARENA_BYTES +\(?[0-9]+" "$name/$name.h" | grep -oE '[0-9]+$')
      wbytes=$(grep -hoE "define ${name}_WEIGHTS_BYTES +\(?[0-9]+" "$name/$name.h" | grep -oE '[0-9]+$')
      printf '%-16s flash %8d B (weights %s B, code and libc %d B)   RAM %7d B (arena %s B)\n' \
        "$name" $((text + data)) "${wbytes:-?}" $((text + data - ${wbytes:-0})) $((data + bss)) "${arena:-?}" | tee -a "$sizes"
    else
      echo "FAIL: $name does not build for Cortex-M7:"; head -30 "$name.m7.log"; fail=1
    fi
  fi

  if [ $have_a64 = 1 ]; then
    # shellcheck disable=SC2086
    if ! cc -O2 -std=c99 -I"$name" "$name"/*.c -lm -o "$name.x86" >"$name.x86.log" 2>&1; then
      echo "FAIL: $name does not build natively:"; head -30 "$name.x86.log"; fail=1; continue
    fi
    # shellcheck disable=SC2086
    if ! aarch64-linux-gnu-gcc -O2 -std=c99 -static -I"$name" "$name"/*.c -lm -o "$name.a64" >"$name.a64.log" 2>&1; then
      echo "FAIL: $name does not build for aarch64:"; head -30 "$name.a64.log"; fail=1; continue
    fi
    : >"$name.x86.out"; : >"$name.a64.out"
    ok=1
    for i in $(seq 0 $((count - 1))); do
      dd if="$input" of="$name.in" bs="$nbytes" skip="$i" count=1 2>/dev/null
      "./$name.x86" "$name.in" "$name.x86.one" >/dev/null && cat "$name.x86.one" >>"$name.x86.out" || ok=0
      qemu-aarch64 "./$name.a64" "$name.in" "$name.a64.one" >/dev/null && cat "$name.a64.one" >>"$name.a64.out" || ok=0
    done
    [ $ok = 1 ] || { echo "FAIL: $name: a run failed (x86 or aarch64 under qemu)"; fail=1; continue; }
    if r=$(cmp_f32 "$name.a64.out" "$name.x86.out" 1e-5); then
      echo "aarch64 $name: $count input(s), $r"
    else
      echo "FAIL: aarch64 $name differs from x86: $r"; fail=1
    fi
  fi
done <<<"$models"

cp "$sizes" "$build/cross-sizes.txt"

# The README shows what was just measured.  The check itself is checked
# first: a copy of the README with one figure changed must be refused.
if [ $have_m7 = 1 ] && [ -s "$sizes" ]; then
  sed -E '/^<!-- cross-sizes begin -->$/,/^<!-- cross-sizes end -->$/ s/^(\| digits \| )([0-9])/\11\2/' \
    "$src/README.md" >"$tmp/README.stale.md"
  if RN_README=$tmp/README.stale.md "$src/tools/readme-figures.sh" --check "$build" >"$tmp/stale.log" 2>&1; then
    echo "FAIL: tools/readme-figures.sh --check accepts a README with a wrong digits figure"; fail=1
  fi
  "$src/tools/readme-figures.sh" --check "$build" || fail=1
fi

if [ $fail -ne 0 ]; then exit 1; fi
if [ -n "$partial" ]; then
  echo "skipped (the rest passed): $partial"
  exit 77
fi
echo "cross builds: ok"
