#!/usr/bin/env bash
# export_cached.sh DIR SPEC... - the reference models of the tests, exported
# once by tools/export_models.py (same SPEC syntax: NAME[:opset=N][:batch=B])
# and kept in DIR (the build tree's models/).
#
# A model counts as exported only if DIR/STEM.stamp holds the checksum of
# the export_models.py that wrote it: editing the script (another model
# definition, seed or opset) re-exports every model on next use.  Parallel
# tests share DIR under a lock; the .onnx appears last, so a half-written
# export is never used.
#
# Exit status: 0 every model is there; 77 python3-torch, -torchvision or
# -onnx is missing (the caller reports skipped); 1 the export failed, with
# the exporter's own messages on stderr (a test must then fail, not skip).
set -uo pipefail
[ $# -ge 2 ] || { echo "usage: export_cached.sh DIR SPEC..." >&2; exit 2; }
dir=$1; shift
script=$(cd "$(dirname "$0")" && pwd)/export_models.py
py=/usr/bin/python3
mkdir -p "$dir" || exit 1
sum=$(sha256sum "$script" | cut -d' ' -f1) || exit 1

stem() { local s=${1//:/_}; echo "${s//=/}"; }
stale() {   # the SPECs whose export is absent or from another script
  local s t
  for s in "$@"; do
    t=$(stem "$s")
    [ -f "$dir/$t.onnx" ] && [ "$(cat "$dir/$t.stamp" 2>/dev/null)" = "$sum" ] || echo "$s"
  done
}

exec 9>"$dir/.export.lock"
flock 9
mapfile -t todo < <(stale "$@")
[ ${#todo[@]} = 0 ] && exit 0
if ! "$py" -c 'import torch, torchvision, onnx' 2>/dev/null; then   # (seconds: only when needed)
  echo "export_cached.sh: $py lacks torch, torchvision or onnx (tools/install-deps.sh --torch)" >&2
  exit 77
fi
for s in "${todo[@]}"; do rm -f "$dir/$(stem "$s")".{onnx,stamp}; done
echo "exporting ${todo[*]} with PyTorch into $dir" >&2
log=$dir/.export.log
if ! "$py" "$script" "$dir" "${todo[@]}" >"$log" 2>&1; then
  echo "export_cached.sh: tools/export_models.py failed for ${todo[*]}:" >&2
  cat "$log" >&2
  exit 1
fi
for s in "${todo[@]}"; do echo "$sum" >"$dir/$(stem "$s").stamp"; done
exit 0
