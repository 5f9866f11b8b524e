/*
 * fuzz_resnet.c - libFuzzer target: .resnet source -> IR -> shapes -> passes.
 *
 * One input is one .resnet source.  resnet_load_buffer parses it (flex +
 * bison), checks names and arguments, elaborates the network and binds
 * seeded random weights (He initialisation, so no file is read); when that
 * succeeds the graph goes through fz_pipeline (fuzz_common.h): shape
 * inference, the optimiser at -O2 with ir_verify, the printers, and the
 * differential check against the reference evaluator.  Refusals are fine
 * (ir_quiet = 1 silences their messages); a crash, sanitizer report,
 * ir_die, leak or miscompiled model is a bug.
 *
 * Weights are bounded to 2 MiB (ResnetOptions.max_weight_bytes, so
 * ResNet-20 passes, ResNet-56 and larger are refused once elaborated): a
 * run stays fast, and the front end still reads every seed whole.
 */
#include "front_resnet.h"
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  ir_quiet = getenv("RN_FUZZ_VERBOSE") == NULL;
  return 0;
}

static Graph *load(void *ctx) {
  const FzInput *in = ctx;
  ResnetOptions ro;
  memset(&ro, 0, sizeof ro);
  ro.random_weights = 1;
  ro.seed = 7;
  ro.batch = 1;
  ro.max_weight_bytes = (int64_t)2 << 20;
  return resnet_load_buffer((const char *)in->data, in->size, "fuzz.resnet", &ro);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FzInput in = {data, size};
  fz_load_and_run(load, &in);
  return 0;
}
