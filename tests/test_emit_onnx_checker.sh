#!/usr/bin/env bash
# test_emit_onnx_checker.sh BUILD_DIR [SHARED_DIR] - the ONNX files that
# `resnetc --emit-onnx` writes from models/*.resnet pass onnx.checker
# (full_check: types and shapes inferred by ONNX itself), and their node
# names are unique (ONNX Runtime refuses duplicates), never empty, and hold
# no path or source position: they are the torchvision layer paths
# (layer1.0.conv1), as the weights are.  Needs Debian's python3-onnx
# (/usr/bin/python3); skipped (77) without it.
set -uo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
resnetc=$build/resnetc
py=/usr/bin/python3
if ! [ -x "$py" ] || ! "$py" -c 'import onnx' >/dev/null 2>&1; then
  echo "SKIPPED: python3-onnx is absent"; exit 77
fi
tmp=$build/test-tmp/emit_onnx_checker
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1
fail=0
models="resnet18 cifar_resnet20 cifar_plain20 resnet50_v1_5 resnet50_d preact_resnet50 resnext50_32x4d resnet34_a resnet34_c"
for m in $models; do
  [ -f "$src/models/$m.resnet" ] || { echo "FAIL: models/$m.resnet is missing"; fail=1; continue; }
  # by absolute path: a path must not leak into the file
  if ! nice "$resnetc" -q "$src/models/$m.resnet" --random-weights 3 --emit-onnx "$tmp/$m.onnx" >"$tmp/$m.log" 2>&1; then
    echo "FAIL $m: resnetc --emit-onnx:"; cat "$tmp/$m.log"; fail=1; continue
  fi
  "$py" - "$tmp/$m.onnx" "$src" "$m" <<'PY' || fail=1
import collections, sys
import onnx
path, srcdir, name = sys.argv[1:4]
m = onnx.load(path)
onnx.checker.check_model(m, full_check=True)
names = [n.name for n in m.graph.node]
bad = []
dup = [k for k, v in collections.Counter(names).items() if v > 1]
if dup: bad.append("duplicate node names: %s" % dup[:5])
if any(not k for k in names): bad.append("a node without a name")
for n in m.graph.node:
    for text in (n.name, n.doc_string):
        if srcdir in text or "models/" in text:
            bad.append("a path in node %r: %r" % (n.name, text)); break
    if ":" in n.name or ".resnet" in n.name:
        bad.append("a source position as node name: %r" % n.name)
convs = [n.name for n in m.graph.node if n.op_type == "Conv"]
inits = {i.name for i in m.graph.initializer}
# each conv is named after its weight (conv1.weight -> conv1)
for n in m.graph.node:
    if n.op_type == "Conv" and n.input[1] != n.name + ".weight":
        bad.append("conv %r reads %r" % (n.name, n.input[1])); break
if bad:
    print("FAIL %s: %s" % (name, "; ".join(bad[:4])))
    sys.exit(1)
print("ok   %s: onnx.checker (full) passes, %d nodes, unique names (%s ... %s)" %
      (name, len(names), names[0], names[-1]))
PY
done
exit $fail
