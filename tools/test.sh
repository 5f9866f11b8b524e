#!/usr/bin/env bash
# Builds resnetc and runs the whole test suite: unit tests, the ONNX backend
# node tests, the end-to-end ResNets.  This is what CI runs (.ci/run).
# Test data is read from ../shared when present; tests without data report
# "skipped".  RN_VERIFY=ON: resnetc checks the IR after every pass (as a
# debug build would), so every model the tests compile checks every pass.
# Options: any extra arguments go to ctest (e.g. -R e2e).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build -DRN_TESTS=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRN_VERIFY=ON >/dev/null   # tests on: quickstart.sh may have configured build/ without
cmake --build build -j"$(nproc)"
cd build
export RN_REQUIRE_CROSS=1   # tests/test_cross.sh: the cross toolchains installed above must be there
ctest --output-on-failure -j"$(nproc)" "$@"
