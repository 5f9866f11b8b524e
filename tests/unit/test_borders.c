/*
 * test_borders.c - the generated conv and pool code never reads or writes
 * outside its buffers at the padding borders, on any geometry.
 *
 * test_emit.c checks a hand-picked list of border cases; this test sweeps
 * seeded random geometries instead, biased towards the odd ones: images of
 * 1 to 9 pixels a side (1x1 often), kernels up to 5 and larger than the
 * input (the padding makes room), strides up to 5 and larger than the
 * kernel, dilations, asymmetric pads (pools: below the kernel, as ONNX
 * requires; conv: up to the window), ceil mode, count_include_pad, groups
 * and depthwise, batch 1 and 2, 1-D and 3-D now and then.  Half the
 * convolutions carry what the optimiser fuses into their epilogue (a
 * BatchNorm folded into the weights, a residual Add, a Relu), so the fused
 * code paths see the same borders.
 *
 * Each case is emitted after passes_run -O2 and built into one program by
 * emit_harness.h: with gcc, ASan and UBSan on exact-size buffers, and with
 * clang, GUARD bytes of 0xa5 before and after the arena, every input and
 * every output, which must stay untouched (the inputs unchanged).  Every
 * output must match eval_graph (shape.h), the naive reference evaluator,
 * run on the graph before any pass.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "emit_harness.h"
#include "passes.h"
#include "shape.h"
#include "testutil.h"

#define N_CONV 48
#define N_POOL 36
#define NCASES (N_CONV + N_POOL)

static unsigned rs = 20240611u;
static unsigned rnd(unsigned n) {   /* 0 .. n-1 */
  rs ^= rs << 13;
  rs ^= rs >> 17;
  rs ^= rs << 5;
  return rs % n;
}
static double urand(double lo, double hi) { return lo + (hi - lo) * (rnd(1u << 24) / 16777216.0); }

static Tensor *rconst(Graph *g, const char *name, int rank, const int64_t *dims, double lo, double hi) {
  Tensor *x = ir_tensor(g, ir_unique_name(g, name), DT_FLOAT, rank, dims);
  float *p = ir_alloc(g, (size_t)ir_bytes(x) + 4);
  for (int64_t i = 0; i < ir_numel(x); i++) p[i] = (float)urand(lo, hi);
  x->kind = TK_CONST;
  x->data = p;
  return x;
}

static Tensor *act(Graph *g, const char *name) {
  return ir_tensor(g, ir_unique_name(g, name), DT_FLOAT, -1, NULL);
}

/* One spatial geometry: sizes, kernel, stride, dilation, pads, such that
 * the window fits the padded input. */
typedef struct Geo {
  int nsp;
  int64_t x[3], k[3], s[3], d[3], pb[3], pe[3];
} Geo;

static int64_t small_size(void) {
  static const int64_t v[] = {1, 1, 2, 3, 4, 5, 6, 7, 9};
  return v[rnd(9)];
}

static void random_geo(Geo *G, int pool) {
  unsigned r = rnd(10);
  G->nsp = r == 0 ? 1 : r == 1 ? 3 : 2;
  for (int i = 0; i < G->nsp; i++) {
    for (;;) {
      G->x[i] = G->nsp == 3 ? 1 + rnd(4) : small_size();
      G->k[i] = 1 + rnd(5);
      G->s[i] = 1 + rnd(5);
      G->d[i] = rnd(4) == 0 ? 2 + rnd(2) : 1;
      int64_t maxpad = pool ? G->k[i] - 1 : G->d[i] * (G->k[i] - 1);
      G->pb[i] = rnd((unsigned)maxpad + 1);
      G->pe[i] = rnd((unsigned)maxpad + 1);
      if (G->d[i] * (G->k[i] - 1) + 1 <= G->x[i] + G->pb[i] + G->pe[i]) break;
    }
  }
}

static void set_geo(Attrs *a, const Geo *G) {
  for (int i = 0; i < G->nsp; i++) {
    a->kernel[i] = G->k[i];
    a->stride[i] = G->s[i];
    a->dilation[i] = G->d[i];
    a->pad_begin[i] = G->pb[i];
    a->pad_end[i] = G->pe[i];
  }
}

static const char *geo_str(const Geo *G, char *b, size_t n) {
  size_t o = 0;
  for (int i = 0; i < G->nsp && o < n; i++)
    o += (size_t)snprintf(b + o, n - o, "%s%lld k%lld s%lld d%lld p%lld,%lld", i ? " | " : "",
                          (long long)G->x[i], (long long)G->k[i], (long long)G->s[i],
                          (long long)G->d[i], (long long)G->pb[i], (long long)G->pe[i]);
  return b;
}

/* Case k: a convolution (k < N_CONV) or a pool, built from the random
 * stream; what[] describes it for failure messages. */
static Graph *make_case(int k, char *what, size_t nwhat) {
  Graph *g = ir_graph_new("borders", "borders.onnx");
  Geo G;
  char gs[200];
  int64_t xd[5];
  xd[0] = 1 + rnd(2);
  if (k < N_CONV) {
    random_geo(&G, 0);
    int64_t cin = 1 + rnd(6), group = 1, cout;
    unsigned gr = rnd(4);
    if (gr == 1) group = cin;                       /* depthwise */
    else if (gr == 2 && cin % 2 == 0) group = 2;
    cout = group * (1 + rnd(group == cin ? 2 : 4));
    xd[1] = cin;
    for (int i = 0; i < G.nsp; i++) xd[2 + i] = G.x[i];
    Tensor *x = ir_tensor(g, "x", DT_FLOAT, 2 + G.nsp, xd);
    ir_add_input(g, x);
    int64_t wd[5] = {cout, cin / group, 1, 1, 1};
    int64_t fan = cin / group;
    for (int i = 0; i < G.nsp; i++) { wd[2 + i] = G.k[i]; fan *= G.k[i]; }
    double r = 1.0 / sqrt((double)fan);
    int bias = (int)rnd(2), fused = (int)rnd(2);
    Tensor *in[3] = {x, rconst(g, "w", 2 + G.nsp, wd, -r, r),
                     bias ? rconst(g, "b", 1, &cout, -0.5, 0.5) : NULL};
    Tensor *y = act(g, "conv");
    Node *n = ir_node(g, OP_CONV, "conv", bias ? 3 : 2, in, 1, &y);
    n->a.group = group;
    set_geo(&n->a, &G);
    shape_infer_node(g, n);
    if (fused) {   /* BatchNorm, then a residual of y's shape added, then Relu */
      Tensor *bn_in[5] = {y, rconst(g, "s", 1, &cout, 0.5, 1.5), rconst(g, "sh", 1, &cout, -0.5, 0.5),
                          rconst(g, "m", 1, &cout, -0.5, 0.5), rconst(g, "v", 1, &cout, 0.5, 1.5)};
      Tensor *z = act(g, "bn");
      n = ir_node(g, OP_BATCHNORM, "bn", 5, bn_in, 1, &z);
      n->a.epsilon = 1e-5;
      shape_infer_node(g, n);
      Tensor *res = ir_tensor(g, "res", DT_FLOAT, z->rank, z->dims);
      ir_add_input(g, res);
      Tensor *add_in[2] = {z, res}, *s = act(g, "add");
      shape_infer_node(g, ir_node(g, OP_ADD, "add", 2, add_in, 1, &s));
      y = act(g, "relu");
      shape_infer_node(g, ir_node(g, OP_RELU, "relu", 1, &s, 1, &y));
    }
    ir_add_output(g, y);
    snprintf(what, nwhat, "conv x[%lld,%lld] %s group %lld cout %lld%s%s", (long long)xd[0],
             (long long)cin, geo_str(&G, gs, sizeof gs), (long long)group, (long long)cout,
             bias ? " bias" : "", fused ? " +bn+residual+relu" : "");
  } else {
    random_geo(&G, 1);
    int avg = (int)rnd(2);
    xd[1] = 1 + rnd(4);
    for (int i = 0; i < G.nsp; i++) xd[2 + i] = G.x[i];
    Tensor *x = ir_tensor(g, "x", DT_FLOAT, 2 + G.nsp, xd);
    ir_add_input(g, x);
    Tensor *y = act(g, "pool");
    Node *n = ir_node(g, avg ? OP_AVERAGEPOOL : OP_MAXPOOL, "pool", 1, &x, 1, &y);
    ir_attrs_default(n->op, &n->a);
    set_geo(&n->a, &G);
    if (avg && rnd(4) != 0)   /* AveragePool has dilations only since opset 19 */
      for (int i = 0; i < G.nsp; i++) n->a.dilation[i] = 1;
    n->a.ceil_mode = (int)rnd(2);
    n->a.count_include_pad = avg ? (int)rnd(2) : 0;
    shape_infer_node(g, n);
    ir_add_output(g, y);
    snprintf(what, nwhat, "%s x[%lld,%lld] %s%s%s", avg ? "avgpool" : "maxpool", (long long)xd[0],
             (long long)xd[1], geo_str(&G, gs, sizeof gs), n->a.ceil_mode ? " ceil" : "",
             n->a.count_include_pad ? " count_include_pad" : "");
  }
  return g;
}

static void test_borders(void) {
  const char *dir = rn_tmpdir("borders");
  EhCase *cs = calloc(NCASES, sizeof *cs);
  void ***ref = calloc(NCASES, sizeof *ref), ***in = calloc(NCASES, sizeof *in);
  char (*what)[300] = calloc(NCASES, sizeof *what);
  volatile int nrefused = 0;
  for (int k = 0; k < NCASES; k++) {
    snprintf(cs[k].name, sizeof cs[k].name, "b%d", k);
    for (volatile int attempt = 0; attempt < 50; attempt++) {
      Graph *volatile g = NULL;
      IrTry t;
      if (ir_try_begin(&t)) {   /* a geometry shape inference refuses: draw again */
        ir_graph_free(g);
        nrefused++;
        continue;
      }
      g = make_case(k, what[k], sizeof what[k]);
      shape_infer_and_fold(g, 0);
      in[k] = calloc((size_t)g->ninputs + 1, sizeof(void *));
      ref[k] = calloc((size_t)g->noutputs + 1, sizeof(void *));
      for (int i = 0; i < g->ninputs; i++) {
        int64_t n = ir_numel(g->inputs[i]);
        float *p = malloc((size_t)n * 4 + 4);
        for (int64_t j = 0; j < n; j++) p[j] = (float)urand(-2, 2);
        in[k][i] = p;
      }
      eval_graph(g, (const void *const *)in[k], ref[k]);
      PassOptions po = {2, NULL, NULL, NULL, 1, NULL};
      passes_run(g, &po);
      ir_try_end(&t);
      cs[k].g = g;
      break;
    }
    CU_ASSERT_PTR_NOT_NULL_FATAL(cs[k].g);
    if (eh_emit(dir, &cs[k], WEIGHTS_AUTO) != 0) {
      fprintf(stderr, "%s: emit failed\n", what[k]);
      CU_FAIL("emit_c failed");
    }
  }
  eh_write_build(dir, cs, NCASES);
  CU_ASSERT_EQUAL_FATAL(eh_build(dir), 0);
  int nrun = 0;
  for (int k = 0; k < NCASES; k++) {
    if (!cs[k].built) continue;
    Graph *g = cs[k].g;
    for (int cc = 0; cc < 2; cc++) {
      void *out[4];
      int st = eh_run(dir, cc ? "harness_clang" : "harness_gcc", &cs[k], in[k], out);
      if (st != 0) {
        fprintf(stderr, "%s (%s): exit status %d%s\n", what[k], cc ? "clang, guard bytes" : "gcc, ASan",
                st, st == 3 ? " (guard bytes overwritten)" : "");
        CU_FAIL("generated program failed");
        continue;
      }
      nrun++;
      for (int i = 0; i < g->noutputs; i++) {
        char why[200] = "";
        Tensor *y = g->outputs[i];
        if (eh_compare(y->dtype, out[i], ref[k][i], ir_numel(y), 1e-4, 1e-5, why, sizeof why)) {
          fprintf(stderr, "%s (%s): %s\n", what[k], cc ? "clang" : "gcc", why);
          CU_FAIL("output differs from eval_graph");
        }
        free(out[i]);
      }
    }
  }
  CU_ASSERT_EQUAL(nrun, 2 * NCASES);
  for (int k = 0; k < NCASES; k++) {
    for (int i = 0; in[k] && in[k][i]; i++) free(in[k][i]);
    for (int i = 0; ref[k] && ref[k][i]; i++) free(ref[k][i]);
    free(in[k]);
    free(ref[k]);
    ir_graph_free(cs[k].g);
  }
  free(cs); free(ref); free(in); free(what);
  if (nrefused) printf("(%d geometries refused by shape inference were drawn again)\n", nrefused);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("borders", NULL, NULL);
  CU_add_test(s, "random conv/pool geometries: guard bytes, ASan, vs eval_graph", test_borders);
  return rn_run_tests();
}
