#!/usr/bin/env bash
# test_verbose.sh BUILD_DIR - resnetc -v reports every stage, -q silences
# everything but errors.
#
# -v on models/digits.resnet must print, on stderr only and in this order,
# the stages load, shape, pass (one line per pass run), plan, emit, wrote
# (one line per file), done, the timed ones with "ms"; and its figures must
# agree with sources that do not come from -v:
#   - the passes named are those --passes=nosuch lists as known, each one;
#   - node counts chain: shape inference's count is the first pass's
#     "before", each pass's "after" the next one's "before", the last one
#     the node count of --report;
#   - fold_bn folded as many BatchNorms as --dump-ir -O0 shows;
#   - NAME_ARENA_BYTES and NAME_WEIGHTS_BYTES are the generated header's;
#   - the files listed are the files in the output folder, with their sizes.
# -O0 runs no optional pass; -q prints nothing on success (where a random
# weights note is otherwise printed), and still the error on bad input; a
# run without -v or -q prints nothing on a successful compile.
set -uo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
r=$build/resnetc
t=$(mktemp -d "$build/test-verbose.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail=0
bad() { echo "FAIL: $*"; fail=1; }
m=$src/models/digits.resnet

if ! "$r" -v "$m" -o "$t/v" >"$t/out" 2>"$t/err"; then
  bad "resnetc -v $m failed:"; cat "$t/err"; exit 1
fi
echo "== resnetc -v models/digits.resnet"
cat "$t/err"
[ -s "$t/out" ] && bad "-v wrote to stdout"
grep -qv '^resnetc: ' "$t/err" && bad "a line of -v does not start with 'resnetc: '"
stages=$(awk '{print $2}' "$t/err" | uniq | tr '\n' ' ')
# a build that verifies the IR between passes (RN_VERIFY, debug) says so
# after the plan; test_cli checks that line
want="load shape pass plan emit wrote done "
grep -qE '^RN_VERIFY:BOOL=ON|^CMAKE_BUILD_TYPE:STRING=Debug' "$build/CMakeCache.txt" 2>/dev/null &&
  want="load shape pass plan verify emit wrote done "
[ "$stages" = "$want" ] || bad "stages in order '$stages', expected '$want'"
for s in load shape pass plan emit done; do
  grep "^resnetc: $s " "$t/err" | grep -qE ' [0-9]+\.[0-9] ms ' || bad "stage $s has no time in ms"
done

# the passes: each known one ran (digits at -O2), nothing else
known=$("$r" "$m" --passes=nosuch --no-emit 2>&1 | sed -n 's/.*known passes: \([a-z_, ]*\)).*/\1/p' | tr -d ' ' | tr ',' '\n' | sort -u)
[ -n "$known" ] || bad "--passes=nosuch lists no known passes"
ran=$(sed -nE 's/^resnetc: (pass|plan) +[0-9.]+ ms  ([a-z_]+): nodes .*/\2/p' "$t/err" | sort -u)
[ "$known" = "$ran" ] || bad "passes reported: $(echo $ran), known: $(echo $known)"

# node counts chain from shape inference to the --report table
counts=$( (sed -nE 's/^resnetc: shape .*: ([0-9]+) nodes;.*/\1/p' "$t/err"
           sed -nE 's/^resnetc: (pass|plan) +[0-9.]+ ms  [a-z_]+: nodes ([0-9]+) -> ([0-9]+).*/\2 \3/p' "$t/err") | tr '\n' ' ')
"$r" "$m" --report --no-emit >"$t/report" 2>&1 || bad "--report"
final=$(sed -nE 's/^total multiply-adds [0-9]+, ([0-9]+) nodes$/\1/p' "$t/report")
set -- $counts
prev=$1; shift
[ $# -ge 2 ] || bad "no pass node counts in -v"
while [ $# -ge 2 ]; do
  [ "$1" = "$prev" ] || bad "a pass starts with $1 nodes, the stage before ended with $prev"
  prev=$2; shift 2
done
[ -n "$final" ] && [ "$prev" = "$final" ] || bad "-v ends with $prev nodes, --report counts '$final'"

# fold_bn: every BatchNormalization of the unoptimised graph
nbn=$("$r" "$m" --dump-ir -O0 --no-emit 2>/dev/null | grep -c 'BatchNormalization')
folded=$(grep -E '^resnetc: pass .* fold_bn: ' "$t/err" | grep -oE 'folded into (producer|consumer) [0-9]+' | awk '{s += $NF} END {print s + 0}')
[ "$nbn" -gt 0 ] && [ "$folded" = "$nbn" ] || bad "fold_bn reports $folded folded, --dump-ir -O0 shows $nbn BatchNormalization"

# the header's figures
h=$t/v/digits.h
for k in ARENA_BYTES WEIGHTS_BYTES; do
  want=$(grep -oE "define digits_$k +\(?[0-9]+" "$h" | grep -oE '[0-9]+$')
  got=$(grep -oE "digits_$k [0-9]+" "$t/err" | grep -oE '[0-9]+$')
  [ -n "$want" ] && [ "$got" = "$want" ] || bad "-v says digits_$k '$got', the header '$want'"
done

# the files written: those in the folder, sizes as on disk
listed=$(sed -nE 's/^resnetc: wrote +(.*) \(([0-9]+) bytes\)$/\1 \2/p' "$t/err" | sort)
ondisk=$(for f in "$t/v"/*; do echo "$f $(stat -c %s "$f")"; done | sort)
[ -n "$listed" ] && [ "$listed" = "$ondisk" ] || { bad "files listed by -v differ from the folder:"; diff <(echo "$listed") <(echo "$ondisk"); }

# the ONNX front end names itself; -O0 runs no optional pass
"$r" -v "$src/examples/digits/digits.onnx" -O0 --no-emit >/dev/null 2>"$t/err0" || bad "-v -O0 on digits.onnx"
grep -qE '^resnetc: load .*\(ONNX opset [0-9]+\)' "$t/err0" || bad "-v on ONNX does not name the opset"
grep -qE '^resnetc: pass .* none \(-O0\)' "$t/err0" || bad "-v -O0 does not say no pass ran"
grep -qE '^resnetc: pass .*: nodes' "$t/err0" && bad "-v -O0 lists a pass"
grep -qE '^resnetc: plan .* plan: nodes' "$t/err0" || bad "-v -O0 does not show the planner"
grep -qE '^resnetc: (emit|wrote)' "$t/err0" && bad "-v --no-emit reports an emit"

# -q: nothing but errors
printf 'network n : input[3, 8, 8] {\n  stem conv(4, k=3) bn relu\n  head global_avgpool fc(2)\n}\n' >"$t/tiny.resnet"
"$r" "$t/tiny.resnet" --random-weights 3 -o "$t/q0" >/dev/null 2>"$t/q0.err" || bad "tiny.resnet --random-weights"
[ -s "$t/q0.err" ] || bad "no note about random weights without -q (the -q check below would prove nothing)"
"$r" -q -v "$t/tiny.resnet" --random-weights 3 -o "$t/q1" >"$t/q1.out" 2>"$t/q1.err" || bad "-q -v tiny.resnet"
[ -s "$t/q1.err" ] && { bad "-q -v printed on stderr:"; cat "$t/q1.err"; }
[ -s "$t/q1.out" ] && bad "-q -v printed on stdout"
"$r" -q "$t/nope.resnet" -o "$t/q2" >/dev/null 2>"$t/q2.err"
[ $? = 1 ] && grep -q "nope.resnet: error: " "$t/q2.err" || bad "-q hides the error on a missing file"
"$r" "$m" -o "$t/plain" >/dev/null 2>"$t/plain.err" || bad "plain compile"
[ -s "$t/plain.err" ] && { bad "a plain compile printed on stderr (not a terminal):"; cat "$t/plain.err"; }

[ $fail = 0 ] && echo "verbose and quiet: ok"
exit $fail
