#!/usr/bin/env bash
# test_install.sh BUILD_DIR - the ways into a user's project, from an
# installed resnetc, as a user would take them:
#   1. cmake --install into a fresh prefix (binary, man page, templates,
#      runtime, CMake package);
#   2. examples/cmake-consumer: find_package(resnetc) + resnetc_add_model(),
#      built and run; touching the model regenerates the C, a rebuild
#      without a change does not;
#   3. examples/makefile-consumer: the generated files copied into model/,
#      then plain make;
#   4. examples/bare-cc: cc -O2 -c of the generated files, no build system;
#   5. cpack -G DEB: the package lists usr/bin/resnetc, the man page and
#      the CMake package.
# Each consumer runs examples/digits/eval.c, which must print "predictions
# identical to PyTorch: yes".  The examples are copied to a temporary
# folder first: the source tree is never written.
set -uo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$(dirname "$0")/.." && pwd)
if ! "$build/resnetc" --version >/dev/null 2>&1; then
  echo "skipped: resnetc --version fails (the CLI has not landed)"
  exit 77
fi
if [ ! -f "$src/models/digits.resnet" ]; then
  echo "skipped: models/digits.resnet absent (the .resnet language has not landed)"
  exit 77
fi
if ! grep -qE -- '--weights[ =]' <<<"$("$build/resnetc" --help)"; then
  echo "skipped: resnetc has no --weights FILE option yet (resnetc_add_model's WEIGHTS needs it)"
  exit 77
fi
tmp=$build/test-tmp/install
rm -rf "$tmp" && mkdir -p "$tmp" || exit 1
prefix=$tmp/prefix
fail=0
step() { echo "== $*"; }
bad() { echo "FAIL: $*"; fail=1; }
# expect_yes LOG: the eval program's verdict
expect_yes() {
  grep -q "predictions identical to PyTorch: yes" "$1" || { bad "$2: no 'identical: yes'"; tail -20 "$1"; }
  grep -m1 "accuracy" "$1"
}

step "cmake --install"
if ! cmake --install "$build" --prefix "$prefix" >"$tmp/install.log" 2>&1; then
  bad "cmake --install"; tail -20 "$tmp/install.log"; exit 1
fi
for f in bin/resnetc share/man/man1/resnetc.1 lib/cmake/resnetc/resnetcConfig.cmake \
         lib/cmake/resnetc/resnetcConfigVersion.cmake lib/cmake/resnetc/resnetc.cmake; do
  [ -e "$prefix/$f" ] || bad "not installed: $f"
done
"$prefix/bin/resnetc" --version >/dev/null || bad "the installed resnetc does not run"

cp -r "$src/examples" "$tmp/examples"
mkdir -p "$tmp/models" && cp "$src/models/digits.resnet" "$src/models/digits.safetensors" "$tmp/models/"
ex=$tmp/examples
PATH=$prefix/bin:$PATH
export PATH

step "examples/cmake-consumer: find_package(resnetc), resnetc_add_model()"
cb=$tmp/cmake-consumer-build
if cmake -S "$ex/cmake-consumer" -B "$cb" -DCMAKE_PREFIX_PATH="$prefix" >"$tmp/cc-configure.log" 2>&1 &&
   cmake --build "$cb" >"$tmp/cc-build.log" 2>&1; then
  "$cb/digits_eval" >"$tmp/cc-run.log" 2>&1
  expect_yes "$tmp/cc-run.log" cmake-consumer
  grep -q "resnetc: compiling digits.resnet" "$tmp/cc-build.log" || bad "the first build did not run resnetc"
  # no change: no regeneration; a changed model: regeneration
  cmake --build "$cb" >"$tmp/cc-build2.log" 2>&1
  grep -q "resnetc: compiling" "$tmp/cc-build2.log" && bad "a rebuild without change ran resnetc again"
  sleep 1
  touch "$tmp/models/digits.resnet"
  cmake --build "$cb" >"$tmp/cc-build3.log" 2>&1 || bad "rebuild after touching the model"
  grep -q "resnetc: compiling digits.resnet" "$tmp/cc-build3.log" || bad "touching the model did not regenerate the C"
  sleep 1
  touch "$tmp/models/digits.safetensors"
  cmake --build "$cb" >"$tmp/cc-build4.log" 2>&1 || bad "rebuild after touching the weights"
  grep -q "resnetc: compiling digits.resnet" "$tmp/cc-build4.log" || bad "touching the weights did not regenerate the C"
else
  bad "cmake-consumer does not configure or build"; tail -30 "$tmp"/cc-*.log
fi

step "examples/makefile-consumer: generated files copied in, plain make"
mc=$ex/makefile-consumer
if resnetc -q "$tmp/models/digits.resnet" --weights-mode embed -o "$tmp/gen-copy" >"$tmp/mc.log" 2>&1; then
  mkdir -p "$mc/model" && cp "$tmp"/gen-copy/* "$mc/model/"
  # the Makefile must not need resnetc: hide it
  if env PATH=/usr/bin:/bin make -C "$mc" >>"$tmp/mc.log" 2>&1; then
    (cd "$mc" && ./digits_eval ../digits) >"$tmp/mc-run.log" 2>&1
    expect_yes "$tmp/mc-run.log" makefile-consumer
  else
    bad "makefile-consumer does not build"; tail -30 "$tmp/mc.log"
  fi
else
  bad "resnetc for makefile-consumer"; cat "$tmp/mc.log"
fi

step "examples/bare-cc: cc -O2 -c, no build system"
if sh "$ex/bare-cc/build.sh" "$prefix/bin/resnetc" >"$tmp/bare.log" 2>&1; then
  expect_yes "$tmp/bare.log" bare-cc
else
  bad "bare-cc"; tail -30 "$tmp/bare.log"
fi

step "cpack -G DEB"
if command -v dpkg-deb >/dev/null; then
  if (cd "$tmp" && cpack -G DEB --config "$build/CPackConfig.cmake" -B "$tmp/pkg") >"$tmp/cpack.log" 2>&1; then
    deb=$(ls "$tmp"/pkg/*.deb 2>/dev/null | head -1)
    if [ -z "$deb" ]; then bad "cpack made no .deb"; else
      dpkg-deb -c "$deb" >"$tmp/deb.txt"
      for f in ./usr/bin/resnetc ./usr/share/man/man1/resnetc.1 ./usr/lib/cmake/resnetc/resnetcConfig.cmake; do
        grep -q " $f\$" "$tmp/deb.txt" || bad "$(basename "$deb") lacks $f"
      done
      dpkg-deb -f "$deb" Package Version Depends
    fi
  else
    bad "cpack -G DEB"; tail -20 "$tmp/cpack.log"
  fi
else
  echo "note: dpkg-deb absent, the Debian package not checked"
fi

[ $fail -eq 0 ] && echo "install and consumers: ok"
exit $fail
