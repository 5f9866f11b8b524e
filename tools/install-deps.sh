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

# ONNX Runtime for the tests (tests/test_emit_onnx_ort.sh, bench/): the npm
# package onnxruntime-node into bench/node_modules, when node and npm are
# there and it is not yet; offline, the tests that need it skip
if [ -z "${1:-}" ] && command -v npm >/dev/null 2>&1 &&
   ! NODE_PATH="$(dirname "$0")/../bench/node_modules" node -e "require('onnxruntime-node')" >/dev/null 2>&1; then
  (cd "$(dirname "$0")/../bench" && npm install --ignore-scripts --no-audit --no-fund >/dev/null 2>&1) ||
    echo "note: could not install onnxruntime-node (offline?): the ONNX Runtime tests will skip"
fi

missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "installing:$missing"
SUDO=""
[ "$(id -u)" = 0 ] || SUDO=sudo
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
