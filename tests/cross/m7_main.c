/*
 * m7_main.c - the smallest firmware that runs a generated network, to
 * measure what it needs on a Cortex-M7: weights and code in flash, one
 * static arena plus the input and output buffers in RAM, no heap, no stdio.
 * Built by tests/test_cross.sh with -DRN_MODEL=name -DRN_MODEL_H="name.h"
 * and --specs=nosys.specs.
 */
#include RN_MODEL_H

#define RN_CAT_(a, b) a##b
#define RN_CAT(a, b) RN_CAT_(a, b)
#define RN_SYM(s) RN_CAT(RN_MODEL, s)

static unsigned char arena[RN_SYM(_ARENA_BYTES) + 1] __attribute__((aligned(64)));
static float input[RN_SYM(_INPUT_SIZE)];
static float output[RN_SYM(_OUTPUT_SIZE)];

int main(void) {
  /* volatile: the result must be computed, not folded away */
  volatile float sink;
  for (;;) {
    if (RN_SYM(_run)(input, output, arena) != 0) return 1;
    sink = output[0];
    (void)sink;
  }
}
