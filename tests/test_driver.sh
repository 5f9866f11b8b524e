#!/usr/bin/env bash
# test_driver.sh BUILD_DIR - the generated driver's command line (NAME_main.c):
# --help (exit 0), usage errors (exit 2), and --check, which compares each
# output with a reference file.  The expected error figures are computed
# here, independently, from references perturbed by known amounts: a
# mismatch must exit 1, a reference of the wrong size must be refused, NaN
# must not pass.
set -uo pipefail
build=$(cd "$1" && pwd)
r=$build/resnetc
t=$(mktemp -d "$build/test-driver.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail=0
say_fail() { echo "FAIL $*"; fail=1; }
run() {  # run NAME WANT_STATUS OUT_REGEX -- command...: stdout+stderr must match
  local name=$1 want=$2 re=$3; shift 4
  "$@" >"$t/out" 2>&1
  local got=$?
  if [ "$got" != "$want" ]; then
    say_fail "$name: exit $got, expected $want"; sed 's/^/  /' "$t/out" | head -8; return
  fi
  if [ -n "$re" ] && ! grep -qE -- "$re" "$t/out"; then
    say_fail "$name: output does not match /$re/:"; sed 's/^/  /' "$t/out" | head -8; return
  fi
  echo "ok   $name"
}

# a small network, random weights, a random input
printf 'network tiny : input[3, 8, 8] {\n  stem conv(4, k=3) bn relu\n  head global_avgpool fc(5)\n}\n' >"$t/tiny.resnet"
"$r" "$t/tiny.resnet" --random-weights 3 --weights-mode blob -o "$t/c" >/dev/null 2>&1 || { echo "FAIL resnetc"; exit 1; }
make -s -C "$t/c" >"$t/make.log" 2>&1 || { echo "FAIL make"; cat "$t/make.log"; exit 1; }
d=$t/c/tiny
python3 -c "
import struct, random
random.seed(5)
open('$t/in.bin', 'wb').write(struct.pack('<192f', *[random.uniform(-1, 1) for _ in range(192)]))"

run help 0 '^usage: .*tiny \[--weights FILE\] IN.bin... OUT.bin...' -- "$d" --help
grep -q -- "--check \[--tol T\] IN.bin... REF.bin..." "$t/out" || say_fail "help: no --check line"
grep -q "output 'output': float32\[1,5\], 20 bytes" "$t/out" || say_fail "help: no output line"
run bad-option 2 '^usage:' -- "$d" --frobnicate "$t/in.bin" "$t/o.bin"
run too-few 2 '^usage:' -- "$d" --check "$t/in.bin"
run bench-and-check 2 '^usage:' -- "$d" --check --bench 3 "$t/in.bin"
run bad-tol 2 '^usage:' -- "$d" --check --tol x "$t/in.bin" "$t/in.bin"
run plain 0 '' -- "$d" "$t/in.bin" "$t/out.bin"

# references: the output itself, and copies with one logit moved by a known
# amount; the relative error the driver must print is computed here
python3 - "$t" <<'PY'
import struct, sys
t = sys.argv[1]
out = list(struct.unpack('<5f', open(t + '/out.bin', 'rb').read()))
m = max(abs(v) for v in out)
def write(name, vals):
    open('%s/%s.bin' % (t, name), 'wb').write(struct.pack('<%df' % len(vals), *vals))
# the driver measures against max|ref|, of the perturbed reference
for name, k, delta in (('near', 2, 1e-6 * m), ('far', 4, 0.01 * m)):
    ref = list(out)
    ref[k] = struct.unpack('<f', struct.pack('<f', ref[k] + delta))[0]
    write(name, ref)
    err = abs(out[k] - ref[k]) / max(abs(v) for v in ref)
    open('%s/%s.expect' % (t, name), 'w').write('%.6g\n' % err)
write('nan', out[:3] + [float('nan')] + out[4:])
write('zero', [0.0] * 5)
write('short', out[:4])
open('%s/maxabs.expect' % t, 'w').write('%.6g\n' % max(abs(v) for v in out))
PY

figure() { sed -n 's/.*max|out-ref|\/max|ref| = \([^ ]*\).*/\1/p' "$t/out"; }
close() {  # close GOT WANT: within 1% (the driver prints 3 digits)
  python3 -c "import sys; g, w = float('$1' or 'nan'), float('$2'); sys.exit(not abs(g - w) <= 0.01 * w)"
}
run self 0 "output 'output' vs .*out.bin: max\|out-ref\|/max\|ref\| = 0 \(tolerance 0.0001\): ok" -- "$d" --check "$t/in.bin" "$t/out.bin"
run near 0 ': ok$' -- "$d" --check "$t/in.bin" "$t/near.bin"
close "$(figure)" "$(cat "$t/near.expect")" || say_fail "near: printed $(figure), expected $(cat "$t/near.expect")"
run far 1 ': FAILED$' -- "$d" --check "$t/in.bin" "$t/far.bin"
close "$(figure)" "$(cat "$t/far.expect")" || say_fail "far: printed $(figure), expected $(cat "$t/far.expect")"
run far-tol 0 '\(tolerance 0.05\): ok$' -- "$d" --check --tol 0.05 "$t/in.bin" "$t/far.bin"
run near-tol 1 ': FAILED$' -- "$d" --tol 1e-9 --check "$t/in.bin" "$t/near.bin"
run nan 1 '= inf .*FAILED$' -- "$d" --check "$t/in.bin" "$t/nan.bin"
run zero 1 'reference all zero: absolute.*FAILED$' -- "$d" --check "$t/in.bin" "$t/zero.bin"
close "$(figure)" "$(cat "$t/maxabs.expect")" || say_fail "zero: printed $(figure), expected $(cat "$t/maxabs.expect")"
run short 1 'short.bin: expected 20 bytes \(reference of output .output., float32\[1,5\]\), got 16' -- "$d" --check "$t/in.bin" "$t/short.bin"
run weights-flag 0 ': ok$' -- "$d" --weights "$t/c/tiny.weights" --check "$t/in.bin" "$t/out.bin"

[ $fail = 0 ] && echo "driver: all checks passed"
exit $fail
