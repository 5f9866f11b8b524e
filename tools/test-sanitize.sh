#!/usr/bin/env bash
# The sanitizer job: builds resnetc and every test with
# -fsanitize=address,undefined (build-asan/, -fno-sanitize-recover: any
# report fails) and runs the whole ctest suite there.  LeakSanitizer is on,
# so a leak on any path - the refusals of tests/test_bad_inputs.sh included -
# fails its test.  Tests labelled "nosan" (too slow under the sanitizers,
# or meaningless there, e.g. timing) are left out; see tests/CMakeLists.txt.
# Extra arguments go to ctest.  CI runs it after tools/test.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install-deps.sh
cmake -S . -B build-asan -DRN_SANITIZE="address;undefined" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRN_VERIFY=ON >/dev/null
cmake --build build-asan -j"$(nproc)"
cd build-asan
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export RN_REQUIRE_CROSS=1   # tests/test_cross.sh: the toolchains installed above must be there
ctest --output-on-failure -j"$(nproc)" -LE nosan "$@"
