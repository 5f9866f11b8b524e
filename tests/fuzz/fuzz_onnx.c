/*
 * fuzz_onnx.c - libFuzzer target: ONNX bytes -> IR -> shapes -> passes.
 *
 * One input is one serialized ModelProto.  It goes through what resnetc
 * does with a file before emitting code: onnx_load_buffer (wire-format
 * pre-scan, protobuf-c unpack into the arena, graph building), then, when
 * that succeeds, shape inference with constant folding and the whole
 * optimiser at -O2 with ir_verify between passes.  A refusal is fine (it
 * must come back through ir_fail, printing nothing since ir_quiet = 1);
 * anything else - a sanitizer report, an ir_die, an abort, a graph that
 * fails ir_verify, a leak - is a bug.  The graph is freed on every path.
 * An optimised graph is also printed as the --report table and as DOT (to
 * /dev/null), which read every name and attribute the model brought.
 *
 * Differential check (the optimiser must not change what a model
 * computes): when the optimised model is small (inputs and outputs of at
 * most 64 Ki elements, at most 4 M multiply-adds), the same bytes are loaded
 * a second time and only shape-inferred, both graphs run through the
 * reference evaluator on the same pseudo-random inputs, and every float
 * output must agree within 1e-3 of the largest magnitude of the reference
 * output (outputs holding NaN or Inf, or beyond 1e30, are not compared:
 * there rounding differences of the folded weights are legitimate).
 *
 * Bounds that keep a run fast and small, as resnetc's own defaults do for
 * a real file: constants at most 64 MiB declared (checked on the wire
 * before anything is allocated), folded constants at most 1 MiB (so the light copies of
 * ResNet-18/50 stop where their weights grow past that: a run stays fast).
 *
 * External data resolves against a scratch folder made once per process
 * holding one 4 KiB file "w.bin", so both the refusals (absolute paths,
 * '..', missing files, short reads) and the success path are reachable.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "dot.h"
#include "front_onnx.h"
#include "passes.h"
#include "shape.h"

#define FUZZ_MAX_BYTES ((int64_t)64 << 20)
#define FUZZ_MAX_FOLD ((int64_t)1 << 20)
#define DIFF_MAX_ELEMS ((int64_t)1 << 16)
#define DIFF_MAX_MACS ((int64_t)4 << 20)

static char model_path[64];
static char scratch_dir[64];

static void remove_scratch(void) {
  char path[80];
  snprintf(path, sizeof path, "%s/w.bin", scratch_dir);
  unlink(path);
  rmdir(scratch_dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

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

/* Is the optimised graph small enough to run twice through eval_graph? */
static int small_enough(Graph *g) {
  int64_t elems = 0, macs = 0;
  for (int i = 0; i < g->ninputs; i++) elems += ir_numel(g->inputs[i]);
  for (int i = 0; i < g->noutputs; i++) elems += ir_numel(g->outputs[i]);
  if (elems > DIFF_MAX_ELEMS) return 0;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    for (int j = 0; j < n->nout; j++)
      if (n->out[j] && ir_numel(n->out[j]) > DIFF_MAX_ELEMS) return 0;
    int64_t m = report_node_macs(n);
    if (m < 0 || m > DIFF_MAX_MACS - macs) return 0;
    macs += m;
  }
  return 1;
}

/* Deterministic input data: floats in [-1, 1], integers 0..2, bools 0/1. */
static void *make_input(const Tensor *t, unsigned seed) {
  int64_t n = ir_numel(t);
  size_t es = dtype_size(t->dtype);
  uint8_t *p = calloc((size_t)(n ? n : 1), es ? es : 1);
  if (!p) return NULL;
  uint32_t s = 2463534242u ^ seed;
  for (int64_t i = 0; i < n; i++) {
    s ^= s << 13; s ^= s >> 17; s ^= s << 5;
    double f = (double)(s % 2001) / 1000.0 - 1.0;
    int64_t k = s % 3;
    switch (t->dtype) {
    case DT_FLOAT: { float v = (float)f; memcpy(p + 4 * i, &v, 4); break; }
    case DT_DOUBLE: memcpy(p + 8 * i, &f, 8); break;
    case DT_INT64: case DT_UINT64: memcpy(p + 8 * i, &k, 8); break;
    case DT_INT32: case DT_UINT32: { int32_t v = (int32_t)k; memcpy(p + 4 * i, &v, 4); break; }
    case DT_BOOL: p[i] = (uint8_t)(k & 1); break;
    default: if (es == 1) p[i] = (uint8_t)k; break;   /* 16-bit types: zeros */
    }
  }
  return p;
}

/* Runs g through eval_graph; 0 with outputs in out[], -1 if it refused. */
static int run(Graph *g, void **in, void **out) {
  IrTry t;
  for (int i = 0; i < g->noutputs; i++) out[i] = NULL;
  if (ir_try_begin(&t)) {
    for (int i = 0; i < g->noutputs; i++) { free(out[i]); out[i] = NULL; }
    return -1;
  }
  eval_graph(g, (const void *const *)in, out);
  ir_try_end(&t);
  return 0;
}

static void differential(const uint8_t *data, size_t size, Graph *opt) {
  OnnxOptions oo = {1, FUZZ_MAX_BYTES};
  Graph *ref = onnx_load_buffer(data, size, model_path, &oo);
  if (!ref) abort();   /* it loaded once: it must load again */
  IrTry t;
  if (ir_try_begin(&t)) abort();   /* shape inference succeeded once */
  shape_infer_and_fold(ref, FUZZ_MAX_FOLD);
  ir_try_end(&t);
  if (ref->ninputs != opt->ninputs || ref->noutputs != opt->noutputs) abort();
  int n_in = ref->ninputs, n_out = ref->noutputs;
  void **in = calloc((size_t)n_in + 1, sizeof *in);
  void **o1 = calloc((size_t)n_out + 1, sizeof *o1), **o2 = calloc((size_t)n_out + 1, sizeof *o2);
  int ok = in && o1 && o2;
  for (int i = 0; ok && i < n_in; i++) {
    const Tensor *a = ref->inputs[i], *b = opt->inputs[i];
    if (a->dtype != b->dtype || !ir_same_shape(a, b)) abort();
    in[i] = make_input(a, (unsigned)i);
    ok = in[i] != NULL;
  }
  if (ok && run(ref, in, o1) == 0 && run(opt, in, o2) == 0) {
    for (int k = 0; k < n_out; k++) {
      const Tensor *a = ref->outputs[k], *b = opt->outputs[k];
      if (a->dtype != b->dtype || !ir_same_shape(a, b)) abort();
      if (a->dtype != DT_FLOAT) continue;
      int64_t n = ir_numel(a);
      const float *x = o1[k], *y = o2[k];
      double big = 0;
      int skip = 0;
      for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]) || fabs(x[i]) > 1e30) skip = 1;
        else if (fabs(x[i]) > big) big = fabs(x[i]);
      }
      for (int64_t i = 0; !skip && i < n; i++)
        if (fabs((double)x[i] - y[i]) > 1e-3 * (1 + big)) {
          fprintf(stderr, "fuzz_onnx: output %d element %ld: %g before the passes, %g after\n",
                  k, (long)i, x[i], y[i]);
          abort();
        }
    }
  }
  for (int i = 0; in && i < n_in; i++) free(in[i]);
  for (int k = 0; o1 && o2 && k < n_out; k++) { free(o1[k]); free(o2[k]); }
  free(in); free(o1); free(o2);
  ir_graph_free(ref);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  OnnxOptions oo = {1, FUZZ_MAX_BYTES};
  Graph *g = onnx_load_buffer(data, size, model_path, &oo);
  if (!g) return 0;
  IrTry t;
  int ok = 0;
  if (!ir_try_begin(&t)) {
    shape_infer_and_fold(g, FUZZ_MAX_FOLD);
    if (ir_verify(g, "shape inference") != 0) abort();
    PassOptions po = {2, NULL, NULL, NULL, 1, NULL};
    passes_run(g, &po);
    ir_try_end(&t);   /* a failure popped the handler itself */
    ok = 1;
    /* what resnetc prints about a model: hostile names must come out safe */
    FILE *sink = fopen("/dev/null", "w");
    if (sink) {
      report_print(g, NULL, sink);
      dot_write(g, sink);
      fclose(sink);
    }
  }
  if (ok && small_enough(g)) {
    if (getenv("RN_FUZZ_VERBOSE")) fprintf(stderr, "fuzz_onnx: differential check\n");
    differential(data, size, g);
  }
  ir_graph_free(g);
  ir_current_graph = NULL;
  return 0;
}
