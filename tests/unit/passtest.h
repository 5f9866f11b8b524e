/*
 * passtest.h - what the pass tests (test_pass_*.c) share: building small
 * graphs with random weights, and the differential check
 *
 *   eval_graph(before) == eval_graph(after the pass)   (1e-5 relative)
 *
 * on seeded random inputs, plus ir_verify after the pass.  The reference
 * evaluator (shape.h) is independent of the passes, so a pass that changes
 * what the graph computes fails here.  Header-only: each test program
 * includes it once.
 */
#ifndef RESNETC_PASSTEST_H
#define RESNETC_PASSTEST_H
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "shape.h"
#include "testutil.h"

static unsigned pt_seed = 1;
static inline double pt_rand(double lo, double hi) {
  pt_seed = pt_seed * 1664525u + 1013904223u;
  return lo + (hi - lo) * ((pt_seed >> 8) / 16777216.0);
}

static inline Tensor *pt_t(Graph *g, const char *name, int rank, const int64_t *dims) {
  return ir_tensor(g, ir_unique_name(g, name), DT_FLOAT, rank, dims);
}

static inline Tensor *pt_t4(Graph *g, const char *name, int64_t n, int64_t c, int64_t h, int64_t w) {
  int64_t d[4] = {n, c, h, w};
  return pt_t(g, name, 4, d);
}

static inline Tensor *pt_input4(Graph *g, const char *name, int64_t n, int64_t c, int64_t h, int64_t w) {
  Tensor *t = pt_t4(g, name, n, c, h, w);
  ir_add_input(g, t);
  return t;
}

/* a float constant, uniform in [lo, hi) */
static inline Tensor *pt_rconst(Graph *g, const char *name, int rank, const int64_t *dims, double lo,
                         double hi) {
  Tensor *t = ir_tensor(g, ir_unique_name(g, name), DT_FLOAT, rank, dims);
  t->kind = TK_CONST;
  int64_t n = ir_numel(t);
  float *p = ir_alloc(g, sizeof(float) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) p[i] = (float)pt_rand(lo, hi);
  t->data = p;
  return t;
}

static inline Tensor *pt_fconst(Graph *g, const char *name, int rank, const int64_t *dims, float v) {
  Tensor *t = pt_rconst(g, name, rank, dims, 0, 0);
  int64_t n = ir_numel(t);
  for (int64_t i = 0; i < n; i++) ((float *)t->data)[i] = v;
  return t;
}

static inline Node *pt_unary(Graph *g, Op op, Tensor *x, Tensor *y) {
  return ir_node(g, op, y->name, 1, &x, 1, &y);
}

static inline Node *pt_binary(Graph *g, Op op, Tensor *a, Tensor *b, Tensor *y) {
  Tensor *in[2] = {a, b};
  return ir_node(g, op, y->name, 2, in, 1, &y);
}

/* Conv of x (N,C,H,W) to cout channels, k x k, stride, pad, group;
 * creates and returns the output tensor in *yp. */
static inline Node *pt_conv(Graph *g, Tensor *x, int64_t cout, int k, int stride, int pad, int group,
                     int bias, Tensor **yp) {
  int64_t oh = (x->dims[2] + 2 * pad - k) / stride + 1, ow = (x->dims[3] + 2 * pad - k) / stride + 1;
  Tensor *y = pt_t4(g, "conv", x->dims[0], cout, oh, ow);
  int64_t wd[4] = {cout, x->dims[1] / group, k, k};
  double r = 1.0 / sqrt((double)(wd[1] * k * k));
  Tensor *w = pt_rconst(g, "w", 4, wd, -r, r);
  Tensor *b = bias ? pt_rconst(g, "b", 1, &cout, -0.5, 0.5) : NULL;
  Tensor *in[3] = {x, w, b};
  Node *n = ir_node(g, OP_CONV, y->name, bias ? 3 : 2, in, 1, &y);
  n->a.nsp = 2;
  n->a.group = group;
  for (int i = 0; i < 2; i++) {
    n->a.kernel[i] = k;
    n->a.stride[i] = stride;
    n->a.pad_begin[i] = n->a.pad_end[i] = pad;
  }
  *yp = y;
  return n;
}

/* BatchNormalization of x with random statistics */
static inline Node *pt_bn(Graph *g, Tensor *x, Tensor **yp) {
  int64_t c = x->dims[1];
  Tensor *y = pt_t(g, "bn", x->rank, x->dims);
  Tensor *in[5] = {x, pt_rconst(g, "gamma", 1, &c, 0.5, 1.5), pt_rconst(g, "beta", 1, &c, -0.5, 0.5),
                   pt_rconst(g, "mean", 1, &c, -0.5, 0.5), pt_rconst(g, "var", 1, &c, 0.5, 1.5)};
  Node *n = ir_node(g, OP_BATCHNORM, y->name, 5, in, 1, &y);
  n->a.epsilon = 1e-5;
  *yp = y;
  return n;
}

/* Gemm y[M,N] = A[M,K] * B (+C) */
static inline Node *pt_gemm(Graph *g, Tensor *a, int64_t n, int trans_b, int bias, Tensor **yp) {
  int64_t k = a->dims[1];
  int64_t bd[2] = {trans_b ? n : k, trans_b ? k : n}, yd[2] = {a->dims[0], n};
  Tensor *y = pt_t(g, "gemm", 2, yd);
  Tensor *in[3] = {a, pt_rconst(g, "B", 2, bd, -0.5, 0.5), bias ? pt_rconst(g, "C", 1, &n, -0.5, 0.5) : NULL};
  Node *nd = ir_node(g, OP_GEMM, y->name, bias ? 3 : 2, in, 1, &y);
  nd->a.trans_b = trans_b;
  *yp = y;
  return nd;
}

static inline int pt_count_op(Graph *g, Op op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++) k += g->nodes[i]->op == op;
  return k;
}

/* Runs eval_graph on the seeded random inputs; caller frees outs[i]. */
static inline int pt_eval(Graph *g, unsigned seed, void **outs) {
  void *ins[16] = {0};
  IR_ASSERT(g->ninputs <= 16 && g->noutputs <= 16);
  unsigned saved = pt_seed;
  pt_seed = seed;
  for (int i = 0; i < g->ninputs; i++) {
    int64_t n = ir_numel(g->inputs[i]);
    float *p = malloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t j = 0; j < n; j++) p[j] = (float)pt_rand(-1, 1);
    ins[i] = p;
  }
  pt_seed = saved;
  IrTry t;
  int ok = 1;
  if (ir_try_begin(&t)) ok = 0;
  else {
    eval_graph(g, (const void *const *)ins, outs);
    ir_try_end(&t);
  }
  for (int i = 0; i < g->ninputs; i++) free(ins[i]);
  return ok;
}

/* Runs pass on g and checks: the IR verifies, and every output equals the
 * output before the pass within tol (relative to the largest |ref|).
 * Returns 1 when all held. */
static inline int pt_check_pass(Graph *g, void (*pass)(Graph *, PassStats *), double tol) {
  ir_current_graph = g;
  ir_relink(g);
  if (ir_verify(g, "test graph") != 0) { CU_FAIL("the test graph is invalid"); return 0; }
  void *before[16] = {0}, *after[16] = {0};
  if (!pt_eval(g, 77, before)) { CU_FAIL("eval before the pass failed"); return 0; }
  int no = g->noutputs, ok = 1;
  int64_t numel[16];
  for (int i = 0; i < no; i++) numel[i] = ir_numel(g->outputs[i]);
  IrTry t;
  if (ir_try_begin(&t)) { CU_FAIL("the pass failed"); ok = 0; }
  else {
    pass(g, NULL);
    ir_try_end(&t);
  }
  if (ok && ir_verify(g, "the pass") != 0) { CU_FAIL("IR invalid after the pass"); ok = 0; }
  if (ok && g->noutputs != no) { CU_FAIL("the pass changed the outputs"); ok = 0; }
  if (ok && !pt_eval(g, 77, after)) { CU_FAIL("eval after the pass failed"); ok = 0; }
  for (int i = 0; ok && i < no; i++) {
    if (ir_numel(g->outputs[i]) != numel[i]) { CU_FAIL("output size changed"); ok = 0; break; }
    double e = rn_rel_err(after[i], before[i], (size_t)numel[i], NULL);
    if (!(e <= tol)) {
      fprintf(stderr, "output %d differs after the pass: %g relative\n", i, e);
      CU_FAIL("outputs differ after the pass");
      ok = 0;
    }
  }
  for (int i = 0; i < no; i++) { free(before[i]); free(after[i]); }
  return ok;
}

/* The op sequence must be exactly want. */
#define PT_SEQ(g, want)                                                       \
  do {                                                                        \
    const char *seq_ = report_op_sequence(g);                                 \
    if (strcmp(seq_, (want)) != 0)                                            \
      fprintf(stderr, "op sequence:\n  got  %s\n  want %s\n", seq_, (want));  \
    CU_ASSERT_STRING_EQUAL(seq_, (want));                                     \
  } while (0)
#endif
