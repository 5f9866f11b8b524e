#!/usr/bin/env bash
# Installs, from Debian's archive, whatever resnetc's build and tests need and
# this machine lacks.  Uses apt-get as root, or sudo when not root.
#   tools/install-deps.sh          build + test dependencies
#   tools/install-deps.sh --build  only what building resnetc needs
#   tools/install-deps.sh --torch  build + PyTorch (python3-torch,
#                                  -torchvision, -onnx), to export ONNX
#                                  models with tools/export_models.py
# Why each package is needed: README.md, "Dependencies".
set -euo pipefail
build_pkgs="build-essential cmake flex bison m4 libprotobuf-c-dev protobuf-c-compiler libonnx-dev"
torch_pkgs="python3-torch python3-torchvision python3-onnx"
test_pkgs="libcunit1-dev clang graphviz file libclang-rt-14-dev $torch_pkgs
  libxml2-utils valgrind gcc-aarch64-linux-gnu qemu-user gcc-arm-none-eabi libnewlib-arm-none-eabi"
case "${1:-}" in
  "") pkgs="$build_pkgs $test_pkgs" ;;
  --build) pkgs="$build_pkgs" ;;
  --torch) pkgs="$build_pkgs $torch_pkgs" ;;
  *) echo "usage: tools/install-deps.sh [--build | --torch]" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
updated=""
if [ -n "$missing" ]; then
  echo "installing:$missing"
  $SUDO apt-get update -qq
  updated=1
  # shellcheck disable=SC2086
  $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi

# ONNX Runtime, the tests' second oracle (tests/test_emit_onnx_ort.sh) and
# the benchmark's peer: the npm package onnxruntime-node in
# bench/node_modules, for the full test set.  Node.js and npm come from
# Debian when the machine has neither (a Node.js from elsewhere, with its
# own npm, is used as it is).  Best effort: offline, or on any failure, the
# tests that need ONNX Runtime say skipped.
[ -z "${1:-}" ] || exit 0
bench="$(cd "$(dirname "$0")/../bench" && pwd)"
if ! command -v npm >/dev/null 2>&1; then
  [ -n "$updated" ] || $SUDO apt-get update -qq || true
  $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null 2>&1 ||
    echo "note: could not install nodejs and npm: the ONNX Runtime tests will skip"
fi
if command -v npm >/dev/null 2>&1 &&
   ! NODE_PATH="$bench/node_modules" node -e "require('onnxruntime-node')" >/dev/null 2>&1; then
  (cd "$bench" && npm install --ignore-scripts --no-audit --no-fund >/dev/null 2>&1) ||
    echo "note: could not install onnxruntime-node (offline?): the ONNX Runtime tests will skip"
fi
