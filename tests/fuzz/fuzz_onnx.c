/*
 * fuzz_onnx.c - libFuzzer target: ONNX bytes -> IR -> shapes -> passes.
 *
 * One input is one serialized ModelProto.  It goes through what resnetc
 * does with a file before emitting code: onnx_load_buffer (wire-format
 * pre-scan, protobuf-c unpack into the arena, graph building), then, when
 * that succeeds, fz_pipeline (fuzz_common.h): shape inference with
 * constant folding, the optimiser at -O2 with ir_verify between passes, the
 * --report and DOT printers, and the differential check of the optimiser
 * against the reference evaluator.  A refusal is fine (it must come back
 * through ir_fail, printing nothing since ir_quiet = 1); anything else - a
 * sanitizer report, an ir_die, an abort, a graph that fails ir_verify, a
 * leak, a model the optimiser changes - is a bug.  The graph is freed on
 * every path.
 *
 * Bounds that keep a run fast and small, as resnetc's own defaults do for
 * a real file: constants at most 64 MiB declared (checked on the wire
 * before anything is allocated), folded constants at most 1 MiB (so the
 * light copies of ResNet-18/50 stop where their weights grow past that).
 *
 * External data resolves against a scratch folder made once per process
 * holding one 4 KiB file "w.bin", so both the refusals (absolute paths,
 * '..', missing files, short reads) and the success path are reachable.
 */
#include <unistd.h>

#include "front_onnx.h"
#include "fuzz_common.h"

#define FUZZ_MAX_BYTES ((int64_t)64 << 20)

static char model_path[64];
static char scratch_dir[64];

static void remove_scratch(void) {
  char path[80];
  snprintf(path, sizeof path, "%s/w.bin", scratch_dir);
  unlink(path);
  rmdir(scratch_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  ir_quiet = getenv("RN_FUZZ_VERBOSE") == NULL;
  char dir[] = "/tmp/rn-fuzz-onnx-XXXXXX";
  if (!mkdtemp(dir)) {
    snprintf(model_path, sizeof model_path, "/nonexistent/fuzz.onnx");
    return 0;
  }
  snprintf(scratch_dir, sizeof scratch_dir, "%s", dir);
  atexit(remove_scratch);
  char path[80];
  snprintf(path, sizeof path, "%s/w.bin", dir);
  FILE *f = fopen(path, "wb");
  if (f) {
    for (int i = 0; i < 4096; i++) fputc((i * 37) & 0x3f, f);   /* small finite floats */
    fclose(f);
  }
  snprintf(model_path, sizeof model_path, "%s/fuzz.onnx", dir);
  return 0;
}

static Graph *load(void *ctx) {
  const FzInput *in = ctx;
  OnnxOptions oo = {1, FUZZ_MAX_BYTES};
  return onnx_load_buffer(in->data, in->size, model_path, &oo);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  FzInput in = {data, size};
  fz_load_and_run(load, &in);
  return 0;
}
