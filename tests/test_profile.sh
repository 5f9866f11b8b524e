#!/usr/bin/env bash
# test_profile.sh BUILD_DIR [SHARED_DIR] - the per-layer profile of the
# generated code (`make profile`): it builds warning-free, computes the same
# output as the plain driver, times every layer on every call, and its
# GFLOP/s agree with the multiply-adds this script works out from the
# shapes the profile prints (2 x K x C/groups x kh x kw x OH x OW per conv),
# not from the compiler's own count.
set -uo pipefail
build=$1
r=$build/resnetc
t=$(mktemp -d "$build/test-profile.XXXXXX")
trap 'rm -rf "$t"' EXIT
fail=0
die() { echo "FAIL $*"; fail=1; }

# layers big enough (0.01 to 0.2 GFLOP) for the timer's microseconds to be
# precise to about 1%; strided, 1x1 and grouped convs among them
cat >"$t/p.resnet" <<'EOF'
block basic(c, stride=1) {
  conv3x3(c, stride) bn relu
  conv3x3(c) bn
  add(shortcut) relu
}
block grouped(c) {
  conv1x1(c) bn relu
  conv3x3(c, groups=8) bn relu
  conv1x1(c) bn
  add(shortcut) relu
}
network p : input[16, 48, 48] {
  stem  conv3x3(64) bn relu
  stage basic(64) x1
  stage basic(128, stride=2) x1
  stage grouped(128) x1
  head  global_avgpool fc(10)
}
EOF
"$r" "$t/p.resnet" --random-weights 3 --winograd off -q -o "$t/p" || { echo "FAIL resnetc"; exit 1; }
flags="-O2 -march=native -std=c99 -Wall -Wextra -Wpedantic -Werror"
make -s -C "$t/p" CFLAGS="$flags" p profile >"$t/make.log" 2>&1 || { cat "$t/make.log"; echo "FAIL make profile"; exit 1; }
echo "ok   make profile (-Wall -Wextra -Wpedantic -Werror)"

head -c $((16 * 48 * 48 * 4)) /dev/urandom >"$t/in.bin"
"$t/p/p" "$t/in.bin" "$t/out.bin" || die "the plain driver failed"
"$t/p/p_profile" "$t/in.bin" "$t/out-prof.bin" >"$t/prof1.txt" || die "the profile driver failed"
cmp -s "$t/out.bin" "$t/out-prof.bin" && echo "ok   same output as the plain driver" ||
  die "the profile build computes another output"

runs=4
"$t/p/p_profile" --bench $runs "$t/in.bin" >"$t/prof.txt" || die "p_profile --bench failed"
# one line per node of the emitted graph, as --report counts them
nodes=$("$r" "$t/p.resnet" --random-weights 3 --winograd off --report --no-emit 2>/dev/null | grep -cE "^ *[0-9]+ ")
/usr/bin/awk -v runs=$runs -v nodes="$nodes" '
  /^profile of p: / { for (i = 1; i <= NF; i++) if ($i == "peak") peak = $(i + 1); next }
  /^ *[0-9]+ +[0-9.]+ +[0-9.]+ / {
    n++; ms = $2; best = $3; calls = $6; sum += ms
    if (calls != runs + 1) { printf "FAIL layer %s: %d calls, expected %d\n", $1, calls, runs + 1; bad = 1 }
    if (best > ms * 1.0001 + 0.0005) { printf "FAIL layer %s: best %s above mean %s\n", $1, best, ms; bad = 1 }
    if ($0 ~ / Conv /) {
      # [1,C,H,W] [K,Cg,kh,kw] ... -> [1,K,OH,OW]
      match($0, /: \[[0-9,]+\] \[[0-9,]+\]/); split(substr($0, RSTART + 3, RLENGTH - 3), s, /[^0-9]+/)
      match($0, /-> \[[0-9,]+\]/); split(substr($0, RSTART + 4, RLENGTH - 5), o, ",")
      want = 2 * s[5] * s[6] * s[7] * s[8] * o[3] * o[4]
      got = $4 * ms * 1e6
      if (got < want * 0.98 || got > want * 1.02) {
        printf "FAIL layer %s: GFLOP/s x ms = %.0f flops, the shapes give %.0f\n", $1, got, want; bad = 1 }
      pct = $5; sub(/%/, "", pct); pct += 0
      if (pct < 0.98 * 100 * $4 / peak || pct > 1.02 * 100 * $4 / peak + 0.1) {
        printf "FAIL layer %s: %s%% of peak, GFLOP/s / peak = %.1f%%\n", $1, pct, 100 * $4 / peak; bad = 1 }
      convs++
    }
  }
  /^total / { total = $2 }
  END {
    if (n != nodes) { printf "FAIL %d layers profiled, the report has %d nodes\n", n, nodes; bad = 1 }
    if (convs < 6) { printf "FAIL %d conv layers, expected at least 6\n", convs; bad = 1 }
    if (!(peak > 0)) { print "FAIL no peak in the header"; bad = 1 }
    if (total < sum - 0.01 || total > sum + 0.01) { printf "FAIL total %s ms, layers sum to %.3f\n", total, sum; bad = 1 }
    if (!bad) printf "ok   %d layers, %d convs: calls, flops, %% of peak and total agree\n", n, convs
    exit bad
  }' "$t/prof.txt" || { fail=1; sed 's/^/  /' "$t/prof.txt"; }
exit $fail
