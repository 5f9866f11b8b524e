#!/usr/bin/env bash
# test_arena_header.sh BUILD_DIR SHARED_DIR - the arena of the generated
# header is the arena the memory planner made: NAME_ARENA_BYTES equals the
# arena_bytes of --report (and -v's figure), and is within 5% of
# lower_bound_bytes.  The kernels' scratch (Winograd transforms, the
# subsample of a strided 1x1) is planned like a tensor live at its step
# (plan.c), so it is inside both numbers, never added above the plan.
# Models: ResNet-18/50 and CIFAR ResNet-56 (.resnet, random weights: the
# shapes decide the plan), the digits example, the shared ONNX ResNet-18
# when present; every Winograd mode on ResNet-18 (each needs other scratch).
# And --plan-svg draws that plan readably: valid XML (xmllint), boxes
# labelled with layer names and sizes, an offset axis, one hatched box per
# kernel scratch row of the report.
set -uo pipefail
build=$1 shared=${2:-}
src=$(cd "$(dirname "$0")/.." && pwd)
r=$build/resnetc
t=$(mktemp -d "$build/test-arena.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail=0
check() {  # check TAG MODEL ARGS...
  local tag=$1 model=$2; shift 2
  if ! "$r" "$model" "$@" -v --report -o "$t/$tag" --name m >"$t/$tag.report" 2>"$t/$tag.err"; then
    echo "FAIL $tag: resnetc failed"; sed 's/^/  /' "$t/$tag.err" | head -5; fail=1; return
  fi
  local line hdr arena lb verbose
  line=$(tail -1 "$t/$tag.report")
  arena=$(sed -n 's/^arena_bytes=\([0-9]*\) .*/\1/p' <<<"$line")
  lb=$(sed -n 's/.* lower_bound_bytes=\([0-9]*\) .*/\1/p' <<<"$line")
  hdr=$(sed -n 's/^#define m_ARENA_BYTES \([0-9]*\).*/\1/p' "$t/$tag/m.h")
  verbose=$(sed -n 's/.* m_ARENA_BYTES \([0-9]*\) .*/\1/p' "$t/$tag.err")
  if [ -z "$arena" ] || [ -z "$lb" ] || [ -z "$hdr" ]; then
    echo "FAIL $tag: no numbers (report '$line', header '$hdr')"; fail=1; return
  fi
  if [ "$hdr" != "$arena" ]; then
    echo "FAIL $tag: header arena $hdr != report arena_bytes $arena"; fail=1; return
  fi
  if [ "$verbose" != "$arena" ]; then
    echo "FAIL $tag: -v says arena $verbose, report $arena"; fail=1; return
  fi
  if [ "$lb" -le 0 ] || [ $((arena * 100)) -gt $((lb * 105)) ] || [ "$arena" -lt "$lb" ]; then
    echo "FAIL $tag: arena $arena not within 5% above the lower bound $lb"; fail=1; return
  fi
  echo "ok   $tag: header arena $hdr = report arena_bytes, lower bound $lb"
  rm -rf "${t:?}/$tag"
}
rw=(--random-weights 1 --weights-mode blob)
check resnet18 "$src/models/resnet18.resnet" "${rw[@]}"
check resnet18-wino-off "$src/models/resnet18.resnet" "${rw[@]}" --winograd off
check resnet18-wino-f2 "$src/models/resnet18.resnet" "${rw[@]}" --winograd f2
check resnet50 "$src/models/resnet50.resnet" "${rw[@]}"
check cifar_resnet56 "$src/models/cifar_resnet56.resnet" "${rw[@]}"
check digits "$src/examples/digits/digits.onnx"
if [ -n "$shared" ] && [ -f "$shared/models/resnet18.onnx" ]; then
  check resnet18-onnx "$shared/models/resnet18.onnx" --weights-mode blob
else
  echo "note: $shared/models/resnet18.onnx absent, the ONNX ResNet-18 is not checked"
fi
# the drawing of ResNet-18's plan
if "$r" "$src/models/resnet18.resnet" --random-weights 1 -q --no-emit --report --plan-svg "$t/plan.svg" >"$t/plan.report" 2>"$t/plan.err"; then
  svg=$t/plan.svg
  nscratch=$(grep -c '^ *scratch ' "$t/plan.report")
  nhatch=$(grep -c 'fill="url(#scratch)"' "$svg")
  if command -v xmllint >/dev/null 2>&1 && ! xmllint --noout "$svg"; then
    echo "FAIL plan-svg: not valid XML"; fail=1
  elif [ "$nscratch" -lt 1 ] || [ "$nscratch" != "$nhatch" ]; then
    echo "FAIL plan-svg: $nhatch hatched scratch boxes, the report has $nscratch scratch rows"; fail=1
  elif ! grep -q '>layer1.0.relu</text>' "$svg" || ! grep -q '>784 KB</text>' "$svg" ||
       ! grep -q '>arena offset</text>' "$svg" || ! grep -q '>1 MB</text>' "$svg"; then
    echo "FAIL plan-svg: a layer label, a size, or the offset axis is missing"; fail=1
  else
    echo "ok   plan-svg: $nhatch kernel scratch boxes, layer labels, sizes, offset axis"
  fi
else
  echo "FAIL plan-svg: resnetc failed"; sed 's/^/  /' "$t/plan.err" | head -5; fail=1
fi
exit $fail
