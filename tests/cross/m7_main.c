/*
 * m7_main.c - the smallest firmware that runs a generated network, to
 * measure what it needs on a Cortex-M7: code and weights in flash; one
 * static arena and the input and output buffers in RAM; no heap, no stdio.
 * Built by tests/test_cross.sh with -DRN_MODEL=name -DRN_MODEL_H='"name.h"'
 * and --specs=nosys.specs.
 */
#include <stdint.h>

#include RN_MODEL_H

#define RN_CAT_(a, b) a##b
#define RN_CAT(a, b) RN_CAT_(a, b)
#define RN_SYM(s) RN_CAT(RN_MODEL, s)

static unsigned char arena_space[RN_SYM(_ARENA_BYTES) + RN_SYM(_ALIGN)];
static RN_SYM(_IN0_TYPE) input[RN_SYM(_IN0_NUMEL)];
static RN_SYM(_OUT0_TYPE) output[RN_SYM(_OUT0_NUMEL)];

int main(void) {
  void *arena = arena_space + (RN_SYM(_ALIGN) - (uintptr_t)arena_space % RN_SYM(_ALIGN)) % RN_SYM(_ALIGN);
  volatile RN_SYM(_OUT0_TYPE) sink;   /* the result must be computed */
  for (;;) {
    if (RN_SYM(_run)(input, output, arena, 0) != 0) return 1;
    sink = output[0];
    (void)sink;
  }
}
