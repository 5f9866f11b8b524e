#!/usr/bin/env bash
# test_gallery.sh BUILD_DIR [SHARED_DIR] - the README's pictures and report
# excerpt are what the tool makes now: tools/gallery.sh --check renders
# ResNet-18 (SHARED_DIR/models/resnet18.onnx) and models/digits.resnet again
# into a scratch folder and compares with docs/img/ and the README (it
# prints the command that refreshes them).  The check is itself checked on
# a copy of docs/img with one picture changed and on a README whose excerpt
# lost a row: both must be refused.  Skipped when graphviz (dot) or
# resnet18.onnx is missing (tools/install-deps.sh installs graphviz).
set -uo pipefail
build=$(cd "$1" && pwd)
shared=${2:-}
src=$(cd "$(dirname "$0")/.." && pwd)
if ! command -v dot >/dev/null; then
  echo "skipped: graphviz (dot) is not installed"; exit 77
fi
if [ -z "$shared" ] || [ ! -f "$shared/models/resnet18.onnx" ]; then
  echo "skipped: no SHARED_DIR/models/resnet18.onnx"; exit 77
fi
fail=0
tmp=$build/test-tmp/gallery
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1

cp -r "$src/docs/img" "$tmp/img"
sed -i 's/ naive / naive  /' "$tmp/img/resnet18-plan.svg"
if RN_GALLERY_IMG=$tmp/img "$src/tools/gallery.sh" --check "$build" "$shared/models" >"$tmp/self1.log" 2>&1; then
  echo "FAIL: gallery.sh --check accepts a changed resnet18-plan.svg"; fail=1
fi
sed '/^<!-- report-excerpt begin -->$/,/^<!-- report-excerpt end -->$/ { /^1 /d }' "$src/README.md" >"$tmp/README.md"
if RN_README=$tmp/README.md "$src/tools/gallery.sh" --check "$build" "$shared/models" >"$tmp/self2.log" 2>&1; then
  echo "FAIL: gallery.sh --check accepts a README excerpt without row 1"; fail=1
fi

"$src/tools/gallery.sh" --check "$build" "$shared/models" || fail=1
exit $fail
