#!/usr/bin/env bash
# test_cli.sh BUILD_DIR SHARED_DIR - the command line's contract: exit status
# 0 on success, 1 on bad input (one "FILE: error: ..." line, nothing
# written), 2 on bad usage; --help, --version; .resnet and ONNX both.
set -uo pipefail
build=$1
src=$(cd "$(dirname "$0")/.." && pwd)
r=$build/resnetc
t=$(mktemp -d "$build/test-cli.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail=0
check() {  # check NAME WANT_STATUS STDERR_REGEX -- command...
  local name=$1 want=$2 re=$3; shift 4
  "$@" >"$t/out" 2>"$t/err"
  local got=$?
  if [ "$got" != "$want" ]; then
    echo "FAIL $name: exit $got, expected $want"; sed 's/^/  /' "$t/err" | head -5; fail=1; return
  fi
  if [ -n "$re" ] && ! grep -qE -- "$re" "$t/err"; then
    echo "FAIL $name: stderr does not match /$re/:"; sed 's/^/  /' "$t/err" | head -5; fail=1; return
  fi
  echo "ok   $name"
}

check help 0 '' -- "$r" --help
grep -q '^usage: resnetc' "$t/out" || { echo "FAIL help: no usage line"; fail=1; }
check version 0 '' -- "$r" --version
check no-model 2 'no model given' -- "$r"
check unknown-option 2 "unknown option '--frobnicate'" -- "$r" --frobnicate x.onnx
check two-models 2 'more than one model' -- "$r" a.onnx b.onnx
check bad-weights-mode 2 'weights-mode' -- "$r" --weights-mode fast x.onnx
check bad-batch 2 'batch' -- "$r" --batch 0 x.onnx
check missing-file 1 "^$t/nope.onnx: error: " -- "$r" "$t/nope.onnx" -o "$t/o1"
[ -e "$t/o1" ] && { echo "FAIL missing-file: output folder created"; fail=1; }
head -c 1000 /dev/urandom >"$t/garbage.onnx"
check garbage 1 "^$t/garbage.onnx: error: " -- "$r" "$t/garbage.onnx" -o "$t/o2"
[ "$(wc -l <"$t/err")" = 1 ] || { echo "FAIL garbage: more than one line on stderr"; fail=1; }
[ -e "$t/o2" ] && { echo "FAIL garbage: output folder created"; fail=1; }
printf 'network n : input[3, 8, 8] {\n  stem conv(4, k=3) bn relu\n  head global_avgpool fc(2)\n}\n' >"$t/tiny.resnet"
check resnet-random 0 'random' -- "$r" "$t/tiny.resnet" --random-weights 7 -o "$t/o3"
for f in tiny.h tiny.c tiny_main.c Makefile; do
  [ -f "$t/o3/$f" ] || { echo "FAIL resnet-random: $f not written"; fail=1; }
done
check resnet-needs-weights 1 'tiny.resnet' -- "$r" "$t/tiny.resnet" -o "$t/o4"
check weights-for-onnx 2 'for .resnet models' -- "$r" --random-weights 1 x.onnx
check summary 0 '' -- "$r" --summary "$src/models/resnet18.resnet"
grep -qE 'multiply-adds' "$t/out" || { echo "FAIL summary: no totals"; fail=1; }
m=${2:-}/models/cifar_resnet20.onnx
if [ -f "$m" ]; then
  check report 0 '' -- "$r" "$m" --report --no-emit
  grep -qE '^arena_bytes=[0-9]+ lower_bound_bytes=[0-9]+ naive_bytes=[0-9]+$' "$t/out" ||
    { echo "FAIL report: no arena_bytes line"; fail=1; }
  check dump-ir 0 '' -- "$r" "$m" --dump-ir -O0 --no-emit
  grep -q 'BatchNormalization' "$t/out" || { echo "FAIL dump-ir: no BatchNormalization at -O0"; fail=1; }
  check bad-pass 1 'unknown pass' -- "$r" "$m" --passes=nosuch --no-emit
else
  echo "skip report/dump-ir: $m absent"
fi
[ $fail = 0 ] && echo "cli: all checks passed"
exit $fail
