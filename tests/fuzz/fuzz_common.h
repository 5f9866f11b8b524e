/*
 * fuzz_common.h - what the fuzz targets share (header-only: each target
 * includes it once).
 *
 * fz_pipeline(g, reload, ctx): the stages after a front end, as resnetc
 * runs them: shape inference and folding, ir_verify, the optimiser at -O2
 * with ir_verify after every pass, then the --report table and DOT (to
 * /dev/null: they read every name and attribute the input brought).  Then
 * the differential check: when the optimised graph is small (inputs and
 * outputs of at most 64 Ki elements, every tensor too, at most 4 M
 * multiply-adds), reload(ctx) builds the same graph again, it is only
 * shape-inferred, both run through the reference evaluator (eval_graph) on
 * the same deterministic inputs, and every float output must agree within
 * 1e-3 of the largest magnitude of the reference output.  Outputs holding
 * NaN or Inf, or beyond 1e30, are not compared: there the rounding of the
 * folded weights legitimately differs.  The optimiser must not change what
 * a model computes, whatever the model.  Any disagreement aborts: the
 * fuzzer reports it as a crash.  The caller frees g.
 */
#ifndef RESNETC_FUZZ_COMMON_H
#define RESNETC_FUZZ_COMMON_H
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dot.h"
#include "ir.h"
#include "passes.h"
#include "shape.h"

#define FZ_MAX_FOLD ((int64_t)1 << 20)
#define FZ_DIFF_MAX_ELEMS ((int64_t)1 << 16)
#define FZ_DIFF_MAX_MACS ((int64_t)4 << 20)
/* the unoptimised graph still holds the nodes the passes remove as dead:
 * a dead node's output may be huge while the outputs are tiny */
#define FZ_DIFF_MAX_BYTES ((int64_t)64 << 20)

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Is the optimised graph small enough to run twice through eval_graph? */
static int fz_small_enough(Graph *g) {
  int64_t elems = 0, macs = 0;
  for (int i = 0; i < g->ninputs; i++) elems += ir_numel(g->inputs[i]);
  for (int i = 0; i < g->noutputs; i++) elems += ir_numel(g->outputs[i]);
  if (elems > FZ_DIFF_MAX_ELEMS) return 0;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    for (int j = 0; j < n->nout; j++)
      if (n->out[j] && ir_numel(n->out[j]) > FZ_DIFF_MAX_ELEMS) return 0;
    int64_t m = report_node_macs(n);
    if (m < 0 || m > FZ_DIFF_MAX_MACS - macs) return 0;
    macs += m;
  }
  return 1;
}

/* Deterministic input data: floats in [-1, 1], integers 0..2, bools 0/1. */
static void *fz_make_input(const Tensor *t, unsigned seed) {
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
static int fz_run(Graph *g, void **in, void **out) {
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

/* Whether output k of g is too sensitive for the differential check to
 * mean anything: inputs scaled by 1 + 2^-20 (a few ulps, the size of the
 * rounding differences the passes may make) move it by more than a tenth of
 * the check's tolerance.  Deep ReLU nets with random weights are chaotic
 * (CIFAR-style blocks of 1 channel: -O0 against -O2 differ by 2e-7 at 10
 * blocks, 1e-4 at 100, 30% at 200), and no exact rewrite can match them. */
static int fz_ill_conditioned(Graph *g, const float *x, int k, double tol) {
  int n_in = g->ninputs, bad = 1;
  void **in2 = calloc((size_t)n_in + 1, sizeof *in2), **o3 = calloc((size_t)g->noutputs + 1, sizeof *o3);
  if (!in2 || !o3) goto done;
  for (int i = 0; i < n_in; i++) {   /* the check's inputs, scaled */
    const Tensor *t = g->inputs[i];
    if (!(in2[i] = fz_make_input(t, (unsigned)i))) goto done;
    if (t->dtype == DT_FLOAT)
      for (int64_t j = 0; j < ir_numel(t); j++) ((float *)in2[i])[j] *= 1.0f + 0x1p-20f;
  }
  if (fz_run(g, in2, o3) == 0) {
    const float *z = o3[k];
    double d = 0;
    for (int64_t j = 0; j < ir_numel(g->outputs[k]); j++) {
      double e = isfinite(z[j]) ? fabs((double)x[j] - z[j]) : INFINITY;
      if (e > d) d = e;
    }
    bad = d > tol / 10;
  }
done:
  for (int i = 0; in2 && i < n_in; i++) free(in2[i]);
  for (int i = 0; o3 && i < g->noutputs; i++) free(o3[i]);
  free(in2);
  free(o3);
  return bad;
}

static void fz_differential(Graph *opt, Graph *(*reload)(void *), void *ctx) {
  Graph *ref = reload(ctx);
  if (!ref) abort();   /* it loaded once: it must load again */
  IrTry t;
  if (ir_try_begin(&t)) abort();   /* shape inference succeeded once */
  shape_infer_and_fold(ref, FZ_MAX_FOLD);
  ir_try_end(&t);
  if (ref->ninputs != opt->ninputs || ref->noutputs != opt->noutputs) abort();
  int64_t total = 0;
  for (int i = 0; i < ref->ntensors; i++) {
    int64_t b = ir_bytes(ref->tensors[i]);
    if (b < 0 || (total += b) > FZ_DIFF_MAX_BYTES) { ir_graph_free(ref); return; }
  }
  int n_in = ref->ninputs, n_out = ref->noutputs;
  void **in = calloc((size_t)n_in + 1, sizeof *in);
  void **o1 = calloc((size_t)n_out + 1, sizeof *o1), **o2 = calloc((size_t)n_out + 1, sizeof *o2);
  int ok = in && o1 && o2;
  for (int i = 0; ok && i < n_in; i++) {
    const Tensor *a = ref->inputs[i], *b = opt->inputs[i];
    if (a->dtype != b->dtype || !ir_same_shape(a, b)) abort();
    in[i] = fz_make_input(a, (unsigned)i);
    ok = in[i] != NULL;
  }
  if (ok && fz_run(ref, in, o1) == 0 && fz_run(opt, in, o2) == 0) {
    for (int k = 0; k < n_out; k++) {
      const Tensor *a = ref->outputs[k], *b = opt->outputs[k];
      if (a->dtype != b->dtype || !ir_same_shape(a, b)) abort();
      if (a->dtype != DT_FLOAT) continue;
      int64_t n = ir_numel(a);
      const float *x = o1[k], *y = o2[k];
      double big = 0;
      int skip = 0;
      for (int64_t i = 0; i < n; i++) {
        if (!isfinite(x[i]) || !isfinite(y[i]) || fabs(x[i]) > 1e30 || fabs(y[i]) > 1e30) skip = 1;
        else if (fabs(x[i]) > big) big = fabs(x[i]);
      }
      double tol = 1e-3 * (1 + big);
      for (int64_t i = 0; !skip && i < n; i++)
        if (fabs((double)x[i] - y[i]) > tol) {
          if (fz_ill_conditioned(ref, x, k, tol)) break;
          fprintf(stderr, "fuzz: output %d element %ld: %g before the passes, %g after\n", k,
                  (long)i, x[i], y[i]);
          abort();
        }
    }
  }
  for (int i = 0; in && i < n_in; i++) free(in[i]);
  for (int k = 0; o1 && o2 && k < n_out; k++) { free(o1[k]); free(o2[k]); }
  free(in); free(o1); free(o2);
  ir_graph_free(ref);
}

static void fz_pipeline(Graph *g, Graph *(*reload)(void *), void *ctx) {
  IrTry t;
  if (ir_try_begin(&t)) return;   /* a refusal: fine */
  shape_infer_and_fold(g, FZ_MAX_FOLD);
  if (ir_verify(g, "shape inference") != 0) abort();
  PassOptions po = {2, NULL, NULL, NULL, 1, NULL};
  passes_run(g, &po);
  ir_try_end(&t);   /* a failure popped the handler itself */
  FILE *sink = fopen("/dev/null", "w");
  if (sink) {
    report_print(g, NULL, sink);
    dot_write(g, sink);
    fclose(sink);
  }
  if (fz_small_enough(g)) {
    if (getenv("RN_FUZZ_VERBOSE")) fprintf(stderr, "fuzz: differential check\n");
    fz_differential(g, reload, ctx);
  }
}

/* One fuzz input, as the front end's load(ctx) reads it: a refusal is
 * fine; a graph goes through fz_pipeline, which reloads it the same way. */
typedef struct FzInput { const uint8_t *data; size_t size; } FzInput;

static void fz_load_and_run(Graph *(*load)(void *), void *ctx) {
  Graph *g = load(ctx);
  if (!g) return;
  fz_pipeline(g, load, ctx);
  ir_graph_free(g);
  ir_current_graph = NULL;
}
#endif
