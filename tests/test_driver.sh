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

# every element type --check decodes (float16 with subnormals, bfloat16,
# signed and unsigned integers, float64): a model of Casts, its outputs
# written by the driver, then references with one element moved; the
# figure the driver must print is computed here with Python's struct
if /usr/bin/python3 -c 'import onnx' 2>/dev/null; then
  /usr/bin/python3 - "$t" <<'PY'
import sys
from onnx import helper as h, TensorProto as T, save
outs = [('h', T.FLOAT16, 'x'), ('b', T.BFLOAT16, 'x'), ('u', T.UINT8, 'x'), ('d', T.DOUBLE, 'y'),
        ('i', T.INT16, 'y'), ('l', T.INT64, 'y')]
g = h.make_graph([h.make_node('Cast', [src], [n], to=ty) for n, ty, src in outs], 'casts',
                 [h.make_tensor_value_info(v, T.FLOAT, [2, 3]) for v in 'xy'],
                 [h.make_tensor_value_info(n, ty, [2, 3]) for n, ty, _ in outs])
save(h.make_model(g, opset_imports=[h.make_opsetid('', 13)]), sys.argv[1] + '/casts.onnx')
PY
  "$r" "$t/casts.onnx" -o "$t/k" >/dev/null && make -s -C "$t/k" >"$t/make.log" 2>&1 ||
    { say_fail "casts: build"; cat "$t/make.log"; }
  python3 - "$t" <<'PY' || fail=1
import struct, subprocess, sys
t = sys.argv[1]
fmt = {'h': 'e', 'b': 'H', 'u': 'B', 'd': 'd', 'i': 'h', 'l': 'q'}
x = [0.5, 2.75, 1e-6, 250.0, 7.0, 3e-7]          # 1e-6, 3e-7: float16 subnormals
y = [-300.7, 5.2, -1.5, 40000.9, -2.0, 17.0]
open(t + '/x.bin', 'wb').write(struct.pack('<6f', *x))
open(t + '/y.bin', 'wb').write(struct.pack('<6f', *y))
names = list(fmt)
outs = [t + '/o_' + n for n in names]
drv = [t + '/k/casts', t + '/x.bin', t + '/y.bin']
subprocess.run(drv + outs, check=True)
def decode(n, raw):
    v = struct.unpack('<6' + fmt[n], raw)
    if n == 'b':   # bfloat16: the upper half of a float32
        v = [struct.unpack('<f', struct.pack('<I', b << 16))[0] for b in v]
    return list(v)
bad = 0
for k, n in enumerate(names):
    raw = open(outs[k], 'rb').read()
    out = decode(n, raw)
    # one element moved: the subnormal of h, the negative int16, ...
    j = {'h': 2, 'b': 1, 'u': 3, 'd': 0, 'i': 0, 'l': 4}[n]
    bits = list(struct.unpack('<6' + fmt[n], raw))
    bits[j] = {'h': out[j] * 3, 'b': bits[j] + 5, 'u': bits[j] - 9, 'd': out[j] * 1.5,
               'i': bits[j] - 10, 'l': bits[j] + 1000}[n]
    refraw = struct.pack('<6' + fmt[n], *bits)
    ref = decode(n, refraw)
    want = max(abs(a - b) for a, b in zip(out, ref)) / max(abs(v) for v in ref)
    refs = list(outs)
    refs[k] = t + '/r_' + n
    open(refs[k], 'wb').write(refraw)
    p = subprocess.run(drv[:1] + ['--check', '--tol', '0'] + drv[1:] + refs, capture_output=True, text=True)
    line = [l for l in p.stdout.splitlines() if "put '%s'" % n in l]
    got = float(line[0].split(' = ')[1].split()[0]) if line else float('nan')
    others_ok = sum(l.endswith(': ok') for l in p.stdout.splitlines()) == len(names) - 1
    if p.returncode != 1 or not abs(got - want) <= 0.01 * want or not others_ok:
        print('FAIL dtype %s: exit %d, printed %g, expected %g\n%s' % (n, p.returncode, got, want, p.stdout))
        bad = 1
    else:
        print('ok   dtype %s (%g)' % (n, want))
sys.exit(bad)
PY
else
  echo "skip dtypes: /usr/bin/python3 lacks onnx"
fi

[ $fail = 0 ] && echo "driver: all checks passed"
exit $fail
