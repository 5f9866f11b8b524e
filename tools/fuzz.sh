#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/, clang, ASan+UBSan) and fuzzes
# each for a while, from a seed corpus built at run time (tests/fuzz/
# make_seeds.py: ../shared and the project's models, nothing copied into the
# repository).  A crash, leak, timeout or out-of-memory stops the run with
# exit status 1; the input is left in build-fuzz/fuzz/artifacts/ (add it to
# tests/fuzz/regress/TARGET/ once fixed).
#   tools/fuzz.sh                 every target, 20 s each (the CI smoke run)
#   tools/fuzz.sh -t 1800 onnx    one target, 30 minutes, niced
#   tools/fuzz.sh -c 1800 onnx    one target until it has had 30 CPU-minutes
#                                 (in slices of 5 minutes: on a shared machine
#                                 a niced run gets a fraction of a core); the
#                                 totals (CPU time, executions, coverage) are
#                                 printed at the end, and appended to
#                                 build-fuzz/fuzz/TARGET.summary
# The corpus grows in build-fuzz/fuzz/TARGET-corpus/ across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=20 cpu=0
# libFuzzer's timeout per input is wall-clock time: a long run, niced on a
# shared machine, gets a sliver of a core, and an input of one CPU-second
# (the largest seeds under ASan) can take a minute
timeout=60
while getopts t:c: o; do
  case $o in
    t) secs=$OPTARG ;;
    c) cpu=$OPTARG timeout=300 ;;
    *) echo "usage: tools/fuzz.sh [-t SECONDS | -c CPU_SECONDS] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
shared=$(cd .. && pwd)/shared
B=build-fuzz
[ "${CI:-}" = true ] && tools/install-deps.sh
# one build at a time: two fuzz.sh started together (one per core) share it
mkdir -p $B
(
  flock 9
  CC=clang cmake -S . -B $B -DRN_FUZZ=ON -DRN_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null &&
    cmake --build $B -j"$(nproc)" >/dev/null
) 9>"$B/.build.lock"
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in $B/tests/fuzz/fuzz_*; do targets+=("${f##*/fuzz_}"); done
fi
mkdir -p $B/fuzz/artifacts
status=0
for t in "${targets[@]}"; do
  bin=$B/tests/fuzz/fuzz_$t
  [ -x "$bin" ] || { echo "fuzz: no target '$t'" >&2; exit 2; }
  seeds=$B/fuzz/$t-seeds corpus=$B/fuzz/$t-corpus
  rm -rf "$seeds"
  mkdir -p "$seeds" "$corpus"
  if ! /usr/bin/python3 tests/fuzz/make_seeds.py "$t" "$seeds" "$shared" >/dev/null; then
    echo "fuzz: seeds for $t: only the committed ones (make_seeds.py failed)" >&2
    cp tests/fuzz/seeds/"$t"/* "$seeds"/ 2>/dev/null || true
  fi
  dict=()
  [ -f tests/fuzz/$t.dict ] && dict=(-dict=tests/fuzz/$t.dict)
  log=$B/fuzz/$t.log
  # one libFuzzer run of $1 seconds (wall); adds its CPU time (user+sys of
  # the waited-for children, in clock ticks) to $used, its executions to $execs
  run_slice() {
    local t0 t1
    t0=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
    ASAN_OPTIONS=detect_leaks=1 nice -n 19 "$bin" "${dict[@]}" -max_total_time="$1" \
       -timeout=$timeout -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$B/fuzz/artifacts/$t-" "$corpus" "$seeds" >"$log" 2>&1 || return 1
    t1=$(awk '{print $14+$15+$16+$17}' /proc/$$/stat)
    used=$((used + t1 - t0))
    execs=$((execs + $(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)))
  }
  used=0 execs=0 hz=$(getconf CLK_TCK)
  if [ "$cpu" -gt 0 ]; then
    echo "fuzz: $t until ${cpu} CPU-seconds ($(ls "$seeds" | wc -l) seeds, $(ls "$corpus" | wc -l) in corpus), log $log"
    ok=1
    while [ $((used / hz)) -lt "$cpu" ]; do
      run_slice 300 || { ok=0; break; }
    done
  else
    echo "fuzz: $t for ${secs}s ($(ls "$seeds" | wc -l) seeds, $(ls "$corpus" | wc -l) in corpus), log $log"
    ok=1
    run_slice "$secs" || ok=0
  fi
  if [ $ok = 1 ]; then
    cov=$(grep -oE 'cov: [0-9]+ ft: [0-9]+' "$log" | tail -1)
    line="fuzz: $t: $((used / hz)) CPU-seconds, $execs executions, $cov, corpus $(ls "$corpus" | wc -l) inputs, no failure"
    echo "$line"
    [ "$cpu" -gt 0 ] && echo "$(date -u +%F) $line" >>"$B/fuzz/$t.summary"
  else
    status=1
    echo "fuzz: $t FAILED:" >&2
    grep -E 'ERROR|SUMMARY|internal error|Test unit written' "$log" | head -10 >&2
  fi
done
exit $status
