#!/usr/bin/env bash
# bench/run.sh [bench.py options] - the benchmark command: installs ONNX
# Runtime for Node.js into bench/node_modules (npm, --ignore-scripts: its CPU
# library is bundled; the install script would fetch GPU files), builds
# resnetc if needed, runs bench/bench.py, which writes BENCHMARKS.md.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -d bench/node_modules/onnxruntime-node ] ||
  (cd bench && npm install --ignore-scripts --no-audit --no-fund onnxruntime-node >/dev/null)
[ -x build/resnetc ] || { cmake -S . -B build >/dev/null && cmake --build build -j"$(nproc)" --target resnetc; }
exec /usr/bin/python3 bench/bench.py "$@"
