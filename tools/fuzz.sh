#!/usr/bin/env bash
# Builds the libFuzzer targets (build-fuzz/, clang, ASan+UBSan) and fuzzes
# each for a while, from a seed corpus built at run time (tests/fuzz/
# make_seeds.py: ../shared and the project's models, nothing copied into the
# repository).  A crash, leak, timeout or out-of-memory stops the run with
# exit status 1; the input is left in build-fuzz/fuzz/artifacts/ (add it to
# tests/fuzz/regress/TARGET/ once fixed).
#   tools/fuzz.sh                 every target, 20 s each (the CI smoke run)
#   tools/fuzz.sh -t 1800 onnx    one target, 30 minutes, niced
# The corpus grows in build-fuzz/fuzz/TARGET-corpus/ across runs.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=20
while getopts t: o; do
  case $o in
    t) secs=$OPTARG ;;
    *) echo "usage: tools/fuzz.sh [-t SECONDS] [TARGET...]" >&2; exit 2 ;;
  esac
done
shift $((OPTIND - 1))
shared=$(cd .. && pwd)/shared
B=build-fuzz
[ "${CI:-}" = true ] && tools/install-deps.sh
CC=clang cmake -S . -B $B -DRN_FUZZ=ON -DRN_TESTS=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build $B -j"$(nproc)" >/dev/null
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
  echo "fuzz: $t for ${secs}s ($(ls "$seeds" | wc -l) seeds, $(ls "$corpus" | wc -l) in corpus), log $log"
  if ASAN_OPTIONS=detect_leaks=1 nice -n 19 "$bin" "${dict[@]}" -max_total_time="$secs" \
       -timeout=60 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$B/fuzz/artifacts/$t-" "$corpus" "$seeds" >"$log" 2>&1; then
    grep -E '^#[0-9]+[[:space:]]+DONE' "$log" | tail -1 || true
  else
    status=1
    echo "fuzz: $t FAILED:" >&2
    grep -E 'ERROR|SUMMARY|internal error|Test unit written' "$log" | head -10 >&2
  fi
done
exit $status
