#!/bin/sh
# No build system at all: compile the generated files with cc, link, run.
#   examples/bare-cc/build.sh [RESNETC]     (default: resnetc on PATH)
# Every command is printed; each one is what you would type by hand.
set -eux
cd "$(dirname "$0")"
RESNETC=${1:-resnetc}
"$RESNETC" ../../models/digits.resnet --weights-mode embed -o gen
cd gen
for f in *.c; do
  case "$f" in *_main.c) continue ;; esac   # resnetc's demo driver: we bring our own main
  cc -O2 -c "$f"
done
cc -O2 -I. -c ../../digits/eval.c
cc -o ../digits_eval *.o -lm
cd ..
./digits_eval ../digits
