#!/usr/bin/env bash
# test_bad_inputs.sh - the catalogue of hostile inputs (tests/bad-inputs/).
#
# usage: tests/test_bad_inputs.sh BUILD_DIR [SHARED_DIR]
#
# Every tests/bad-inputs/KIND/NAME.expected is one case: the exact stderr
# resnetc must print.  The input is the sibling NAME.* file, or, when
# NAME.args exists, the arguments listed there (files relative to the case
# folder), or, when NAME.gen exists (an input too big to commit), the file
# NAME.KIND that the script NAME.gen writes now into a scratch folder.
# resnetc runs in the case (or scratch) folder as
#     resnetc [ARGS | NAME.ext] -o TMP/out
# and must:
#   - exit with status 1, print exactly the expected stderr, whose one
#     "error:" line names the file (and the node, or line:column);
#   - leave TMP/out absent or empty, and the case folder unchanged (no
#     temporary file left behind);
#   - for a case whose expected stderr holds only warnings: exit 0, print
#     exactly them, and write the output.
# Under an ASan build LeakSanitizer makes a leak fail the exit status; in
# other builds a sample of cases (VALGRIND below) also runs under valgrind's
# memcheck with --leak-check=full, where any error or leak fails the test.
set -u
build=$(cd "$1" && pwd)
here=$(cd "$(dirname "$0")" && pwd)
resnetc=$build/resnetc
[ -x "$resnetc" ] || { echo "skipped: $resnetc not built"; exit 77; }
if ! "$resnetc" --version >/dev/null 2>&1; then
  echo "skipped: resnetc has no command line yet"; exit 77
fi
# the cases that also run under valgrind (slow: keep the list short)
VALGRIND="onnx/truncated onnx/deep_nesting onnx/cycle onnx/external_short onnx/fold_too_big
  onnx/kernel_larger_than_input onnx/unsupported_op onnx/nan_weights onnx/gather_out_of_range
  resnet/unterminated_comment resnet/self_recursive_block resnet/syntax_error
  safetensors/header_past_end safetensors/overlapping_offsets"
use_valgrind=1
if ! command -v valgrind >/dev/null; then
  echo "note: valgrind not installed: the memcheck sample is not run"; use_valgrind=0
elif grep -q '^RN_SANITIZE:STRING=.' "$build/CMakeCache.txt" 2>/dev/null; then
  use_valgrind=0   # sanitizer build: LeakSanitizer checks every case instead
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
pass=0 fail=0 vg=0
failed() { echo "FAIL $case: $*"; ok=0; }

for exp in "$here"/bad-inputs/*/*.expected; do
  dir=$(dirname "$exp")
  name=$(basename "$exp" .expected)
  case=$(basename "$dir")/$name
  ok=1
  rundir=$dir
  if [ -f "$dir/$name.gen" ]; then   # too big to commit: written now
    kind=$(basename "$dir")
    rundir=$tmp/gen
    rm -rf "$rundir" && mkdir -p "$rundir"
    if ! bash "$dir/$name.gen" "$rundir/$name.$kind"; then
      failed "$name.gen failed"; fail=$((fail + 1)); continue
    fi
    args=("$name.$kind")
  elif [ -f "$dir/$name.args" ]; then
    read -r -a args < "$dir/$name.args"
  else
    inputs=()
    for f in "$dir/$name".*; do
      case $f in *.expected|*.args|*.gen) ;; *) inputs+=("$(basename "$f")") ;; esac
    done
    if [ ${#inputs[@]} -ne 1 ]; then
      failed "expected one input file, found ${#inputs[@]}"; fail=$((fail + 1)); continue
    fi
    args=("${inputs[0]}")
  fi
  before=$(ls -A "$rundir")
  out=$tmp/out
  rm -rf "$out"
  (cd "$rundir" && exec "$resnetc" "${args[@]}" -o "$out") >"$tmp/stdout" 2>"$tmp/stderr"
  rc=$?
  after=$(ls -A "$rundir")
  warn_only=0
  grep -q ': error: ' "$exp" || warn_only=1
  if ! cmp -s "$exp" "$tmp/stderr"; then
    failed "stderr differs:"; diff "$exp" "$tmp/stderr" | sed 's/^/    /' | head -8
  fi
  if [ $warn_only = 1 ]; then
    [ $rc = 0 ] || { failed "exit status $rc, expected 0 (warnings only)"; }
    [ -n "$(ls -A "$out" 2>/dev/null)" ] || { failed "no output written"; }
  else
    [ $rc = 1 ] || { failed "exit status $rc, expected 1"; }
    n=$(grep -c ': error: ' "$tmp/stderr")
    [ "$n" = 1 ] || { failed "$n error lines, expected one"; }
    [ -z "$(ls -A "$out" 2>/dev/null)" ] || { failed "output left behind: $(ls -A "$out" | head -3)"; }
  fi
  [ "$before" = "$after" ] || { failed "files left in the case folder: $(comm -13 <(echo "$before") <(echo "$after"))"; }
  if [ $ok = 1 ] && [ $use_valgrind = 1 ] && [[ " $(echo $VALGRIND) " == *" $case "* ]]; then
    rm -rf "$out"
    (cd "$rundir" && exec valgrind -q --leak-check=full --errors-for-leak-kinds=definite,indirect \
        --error-exitcode=3 "$resnetc" "${args[@]}" -o "$out") >/dev/null 2>"$tmp/vg"
    vrc=$?
    if [ $vrc = 3 ] || [ $vrc -gt 128 ]; then
      failed "valgrind (status $vrc):"; grep '==' "$tmp/vg" | head -20 | sed 's/^/    /'
    fi
    vg=$((vg + 1))
    rm -rf "$out"
  fi
  if [ $ok = 1 ]; then pass=$((pass + 1)); else fail=$((fail + 1)); fi
done
echo "bad inputs: $((pass + fail)) cases ($vg also under valgrind)"
echo "$pass passed, $fail failed"
[ $fail = 0 ]
