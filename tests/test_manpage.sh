#!/usr/bin/env bash
# test_manpage.sh BUILD_DIR - the manual page docs/resnetc.1 renders
# without warnings and documents every option that `resnetc --help` lists;
# --help has examples (at least 8: ONNX, .resnet with --weights and
# --random-weights, reports, firmware, --target), each also in the man
# page, and those that need only models/ run; --version names the version
# of the build.
set -uo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
man=$src/docs/resnetc.1
fail=0

if command -v groff >/dev/null; then
  w=$(groff -man -Tutf8 -ww -z "$man" 2>&1)
  if [ -n "$w" ]; then echo "FAIL: groff warns on resnetc.1:"; echo "$w"; fail=1; fi
else
  echo "note: groff absent, rendering not checked"
fi

help=$("$build/resnetc" --help 2>/dev/null)
if [ $? -ne 0 ] || [ -z "$help" ]; then
  echo "skipped: resnetc --help does not work yet (the CLI has not landed)"
  exit 77
fi

# every option of --help, in the man page (where '-' is written '\-')
plain=$(sed 's/\\-/-/g; s/\\f[BIRP]//g' "$man")
opts=$(printf '%s\n' "$help" | grep -oE '(^|[ ,])--?[A-Za-z0-9][A-Za-z0-9-]*' | sed 's/^[ ,]*//' | sort -u)
n=0
for o in $opts; do
  n=$((n + 1))
  if ! grep -qE -- "(^|[^A-Za-z0-9-])$o([^A-Za-z0-9-]|$)" <<<"$plain"; then
    echo "FAIL: option $o of --help is not in docs/resnetc.1"; fail=1
  fi
done
[ "$n" -ge 5 ] || { echo "FAIL: only $n options found in --help"; fail=1; }

# and the other way round, as a reminder only: the man page may document
# options that the CLI gains later
for o in $(printf '%s\n' "$plain" | grep -oE '^\.(B|BI|BR) +--?[A-Za-z0-9][A-Za-z0-9=-]*' | awk '{print $2}' | sed 's/=$//' | sort -u); do
  grep -qE -- "$o([^A-Za-z0-9-]|$)" <<<"$help" || echo "note: $o is in the man page, not in --help"
done

grep -qi '^examples' <<<"$help" || { echo "FAIL: --help has no Examples section"; fail=1; }

# the examples of --help: enough of them, covering the ways in, each one in
# the man page's EXAMPLES as the same command line; those that use only
# the bundled models run (from a scratch folder that sees models/)
examples=$(printf '%s\n' "$help" | sed -n '/^Examples:/,$p' | sed -n 's/^  \(resnetc .*\)$/\1/p')
nex=$(printf '%s\n' "$examples" | grep -c .)
[ "$nex" -ge 8 ] || { echo "FAIL: --help has $nex examples, expected at least 8"; fail=1; }
for want in '--weights ' '--random-weights' '--report' '--plan-svg' '--dot' '--weights-mode embed' '--target' '\.resnet' '\.onnx'; do
  grep -qE -- "$want" <<<"$examples" || { echo "FAIL: no example of --help uses $want"; fail=1; }
done
manex=$(sed -n '/^\.SH EXAMPLES/,/^\.SH /p' "$man" | sed 's/\\-/-/g; s/\\e/\\/g')
ex=$build/test-tmp/manpage-examples
rm -rf "$ex" && mkdir -p "$ex" && ln -s "$src/models" "$ex/models"
nrun=0
while IFS= read -r cmd; do
  grep -qxF -- "$cmd" <<<"$manex" || { echo "FAIL: example of --help not in resnetc.1's EXAMPLES: $cmd"; fail=1; }
  case "$cmd" in *model.onnx*|*resnet50.safetensors*|*'&&'*) continue ;; esac
  # shellcheck disable=SC2086
  if (cd "$ex" && set -f && "$build/resnetc" ${cmd#resnetc } >"$ex/run.log" 2>&1); then
    nrun=$((nrun + 1))
  else
    echo "FAIL: example of --help fails: $cmd"; sed 's/^/  /' "$ex/run.log" | head -5; fail=1
  fi
done <<<"$examples"
[ "$nrun" -ge 4 ] || { echo "FAIL: only $nrun examples of --help ran"; fail=1; }
[ -f "$ex/fw/digits_weights.c" ] || { echo "FAIL: the firmware example wrote no fw/digits_weights.c"; fail=1; }
ver=$("$build/resnetc" --version)
want=$(sed -n 's/^project(resnetc VERSION \([0-9.]*\).*/\1/p' "$src/CMakeLists.txt")
case "$ver" in
  *"$want"*) ;;
  *) echo "FAIL: --version says '$ver', CMakeLists.txt says $want"; fail=1 ;;
esac
grep -q "resnetc $want" "$man" || { echo "FAIL: resnetc.1 does not name version $want"; fail=1; }

[ $fail -eq 0 ] && echo "man page: $n options of --help documented, $nex examples in both, $nrun of them run"
exit $fail
