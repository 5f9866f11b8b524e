#!/usr/bin/env bash
# Installs, from Debian's archive, whatever resnetc's build and tests need and
# this machine lacks.  Uses apt-get as root, or sudo when not root.
#   tools/install-deps.sh          build + test dependencies
#   tools/install-deps.sh --build  only what building resnetc needs
set -euo pipefail
build_pkgs="build-essential cmake flex bison m4 libprotobuf-c-dev protobuf-c-compiler libonnx-dev"
test_pkgs="libcunit1-dev clang graphviz file libclang-rt-14-dev python3-torch python3-torchvision python3-onnx
  libxml2-utils valgrind gcc-aarch64-linux-gnu qemu-user gcc-arm-none-eabi libnewlib-arm-none-eabi"
pkgs="$build_pkgs"
[ "${1:-}" = "--build" ] || pkgs="$pkgs $test_pkgs"

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
