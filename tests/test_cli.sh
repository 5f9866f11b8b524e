#!/usr/bin/env bash
# test_cli.sh BUILD_DIR SHARED_DIR - the command line's contract: exit status
# 0 on success, 1 on bad input (one "FILE: error: ..." line, nothing
# written), 2 on bad usage; --help, --version; .resnet and ONNX both.
set -uo pipefail
build=$(cd "$1" && pwd)
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
# a build configured with -DRN_VERIFY=ON (CI: tools/test.sh) or a debug
# build checks the IR between passes, and -v says so
if grep -qE '^RN_VERIFY:BOOL=ON|^CMAKE_BUILD_TYPE:STRING=Debug' "$build/CMakeCache.txt" 2>/dev/null; then
  check verify-between-passes 0 'IR verified after shape inference and after every pass' -- \
    "$r" "$t/tiny.resnet" --random-weights 7 -v --no-emit
fi
for f in tiny.h tiny.c tiny_main.c Makefile; do
  [ -f "$t/o3/$f" ] || { echo "FAIL resnet-random: $f not written"; fail=1; }
done
# usage errors are exit 2, whatever the model
check bad-pass 2 "--passes: unknown or empty pass name in 'nosuch'" -- "$r" "$t/tiny.resnet" --random-weights 7 --passes=nosuch --no-emit
check empty-pass 2 'unknown or empty pass' -- "$r" "$t/tiny.resnet" --random-weights 7 --passes=cleanup,,fuse --no-emit
check bad-dump-after 2 "--dump-ir-after: unknown pass 'nosuch'" -- "$r" "$t/tiny.resnet" --random-weights 7 --dump-ir-after=nosuch
check level-O3 2 "unknown level '-O3'" -- "$r" -O3 "$t/tiny.resnet" --random-weights 7
check level-O1 2 "unknown level '-O1'" -- "$r" -O1 "$t/tiny.resnet" --random-weights 7
check name-space 2 "--name 'bad name' is not a C identifier" -- "$r" "$t/tiny.resnet" --random-weights 7 --name 'bad name' -o "$t/o5"
check name-digit 2 "not a C identifier" -- "$r" "$t/tiny.resnet" --random-weights 7 --name 9lives -o "$t/o5"
[ -e "$t/o5" ] && { echo "FAIL name: output folder created"; fail=1; }
check name-ok 0 '' -- "$r" "$t/tiny.resnet" --random-weights 7 --name _Tiny_9 -o "$t/o6"
[ -f "$t/o6/_Tiny_9.h" ] || { echo "FAIL name-ok: _Tiny_9.h not written"; fail=1; }
# --batch N: applied to .resnet (no batch in the description) and to a
# dynamic ONNX batch; an error (2) on a static ONNX batch that is not N
check emit-onnx 0 '' -- "$r" "$t/tiny.resnet" --random-weights 7 --emit-onnx "$t/static.onnx"
check batch-static 2 "--batch 3: .*static.onnx has no dynamic batch dimension \(input '.*' is float32\[1,3,8,8\]\)" -- "$r" "$t/static.onnx" --batch 3 -o "$t/o7"
[ -e "$t/o7" ] && { echo "FAIL batch-static: output folder created"; fail=1; }
check batch-static-same 0 '' -- "$r" "$t/static.onnx" --batch 1 --no-emit
check batch-resnet 0 '' -- "$r" "$t/tiny.resnet" --random-weights 7 --batch 3 -o "$t/o8"
grep -q '_IN0_SHAPE {3, 3, 8, 8}' "$t/o8/tiny.h" || { echo "FAIL batch-resnet: no batch 3 in tiny.h"; fail=1; }
# a dump writes no C unless -o is given
mkdir "$t/cwd"
check dump-no-write 0 '' -- sh -c "cd '$t/cwd' && '$r' '$t/tiny.resnet' --random-weights 7 --dump-ir"
grep -q '^graph ' "$t/out" || { echo "FAIL dump-no-write: no IR printed"; fail=1; }
[ -z "$(ls -A "$t/cwd")" ] || { echo "FAIL dump-no-write: wrote $(ls -A "$t/cwd")"; fail=1; }
check dump-with-o 0 '' -- "$r" "$t/tiny.resnet" --random-weights 7 --dump-ir-after=fuse -o "$t/o9"
[ -f "$t/o9/tiny.c" ] || { echo "FAIL dump-with-o: tiny.c not written"; fail=1; }
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
else
  echo "skip report/dump-ir: $m absent"
fi
[ $fail = 0 ] && echo "cli: all checks passed"
exit $fail
