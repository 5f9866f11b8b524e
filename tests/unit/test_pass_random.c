/* test_pass_random.c - seeded random residual networks through -O2.
 *
 * Each graph mixes what the passes rewrite - convs (grouped, strided,
 * padded), BatchNorms before and after convs, activations, residual adds,
 * option-A shortcuts (Slice + Pad), pre-activation blocks, per-channel
 * Mul/Add, concats, pools, Identity/Dropout, a GAP -> Flatten -> Gemm head,
 * sometimes an intermediate as an extra graph output - and the reference
 * evaluator must give the same outputs before and after the whole pipeline
 * (1e-5 relative), with the IR verified after every pass. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "shape.h"
#include "testutil.h"

static unsigned seed;
static unsigned rnd(unsigned n) {
  seed = seed * 1103515245u + 12345u;
  return (seed >> 16) % n;
}
static double rndf(double lo, double hi) { return lo + (hi - lo) * rnd(65536) / 65536.0; }

static Tensor *fresh(Graph *g) { return ir_tensor(g, ir_unique_name(g, "t"), DT_FLOAT, -1, NULL); }

static Tensor *rconst(Graph *g, int rank, const int64_t *d, double lo, double hi) {
  Tensor *t = ir_tensor(g, ir_unique_name(g, "c"), DT_FLOAT, rank, d);
  t->kind = TK_CONST;
  int64_t n = ir_numel(t);
  float *p = ir_alloc(g, sizeof(float) * (size_t)(n + 1));
  for (int64_t i = 0; i < n; i++) p[i] = (float)rndf(lo, hi);
  t->data = p;
  return t;
}

static Node *mk(Graph *g, Op op, int nin, Tensor **in) {
  Tensor *y = fresh(g);
  Node *n = ir_node(g, op, y->name, nin, in, 1, &y);
  return n;
}

static Tensor *done(Graph *g, Node *n) {
  shape_infer_node(g, n);
  return n->out[0];
}

static Tensor *conv(Graph *g, Tensor *x, int64_t cout, int k, int stride, int pad, int group) {
  int64_t wd[4] = {cout, x->dims[1] / group, k, k};
  double r = 1.0 / sqrt((double)(wd[1] * k * k));
  int64_t bd = cout;
  Tensor *in[3] = {x, rconst(g, 4, wd, -r, r), rnd(2) ? rconst(g, 1, &bd, -0.3, 0.3) : NULL};
  Node *n = mk(g, OP_CONV, in[2] ? 3 : 2, in);
  n->a.group = group;
  for (int i = 0; i < 2; i++) {
    n->a.stride[i] = stride;
    n->a.pad_begin[i] = n->a.pad_end[i] = pad;
  }
  return done(g, n);
}

static Tensor *bn(Graph *g, Tensor *x) {
  int64_t c = x->dims[1];
  Tensor *in[5] = {x, rconst(g, 1, &c, 0.5, 1.5), rconst(g, 1, &c, -0.5, 0.5),
                   rconst(g, 1, &c, -0.5, 0.5), rconst(g, 1, &c, 0.5, 1.5)};
  Node *n = mk(g, OP_BATCHNORM, 5, in);
  n->a.epsilon = 1e-5;
  return done(g, n);
}

static Tensor *act(Graph *g, Tensor *x) {
  switch (rnd(4)) {
  case 0: case 1: return done(g, mk(g, OP_RELU, 1, &x));
  case 2: {
    Node *n = mk(g, OP_LEAKYRELU, 1, &x);
    n->a.alpha = 0.1;
    return done(g, n);
  }
  default: {
    Tensor *in[3] = {x, ir_const_scalar_f32(g, "lo", rnd(2) ? 0.0f : -0.5f), ir_const_scalar_f32(g, "hi", 0.6f)};
    return done(g, mk(g, OP_CLIP, 3, in));
  }
  }
}

static Tensor *add(Graph *g, Tensor *a, Tensor *b) {
  Tensor *in[2] = {a, b};
  if (rnd(2)) { in[0] = b; in[1] = a; }
  return done(g, mk(g, OP_ADD, 2, in));
}

static Tensor *slice_step2(Graph *g, Tensor *x, int64_t axis) {
  int64_t s = 0, e = INT64_MAX, st = 2;
  Tensor *in[5] = {x, ir_const_i64(g, "s", 1, &s), ir_const_i64(g, "e", 1, &e),
                   ir_const_i64(g, "a", 1, &axis), ir_const_i64(g, "st", 1, &st)};
  return done(g, mk(g, OP_SLICE, 5, in));
}

static Tensor *pad_channels(Graph *g, Tensor *x, int64_t p) {
  int64_t pads[8] = {0, p, 0, 0, 0, p, 0, 0};
  Tensor *in[2] = {x, ir_const_i64(g, "pads", 8, pads)};
  return done(g, mk(g, OP_PAD, 2, in));
}

static Tensor *pick(Tensor **pool, int np) { return pool[np - 1 - (int)rnd(np < 4 ? (unsigned)np : 4u)]; }

/* one random graph into g (ir_fail()s when shape inference refuses it) */
static void build(Graph *g, unsigned s) {
  seed = s;
  ir_current_graph = g;
  Tensor *pool[128];
  int np = 0;
  int64_t xd[4] = {1 + rnd(2), 1 + rnd(4), 5 + rnd(8), 5 + rnd(8)};
  Tensor *x = ir_tensor(g, "x", DT_FLOAT, 4, xd);
  ir_add_input(g, x);
  pool[np++] = x;
  int nsteps = 4 + (int)rnd(14);
  for (int i = 0; i < nsteps && np < 120; i++) {
    Tensor *t = pick(pool, np), *y = NULL;
    int64_t C = t->dims[1], H = t->dims[2], W = t->dims[3];
    switch (rnd(13)) {
    case 0: case 1: {
      int64_t cout = 2 * (1 + rnd(4));
      int group = (C % 2 == 0 && rnd(3) == 0) ? 2 : 1;
      int k = rnd(2) ? 3 : 1, st = (H >= 4 && W >= 4 && rnd(3) == 0) ? 2 : 1;
      y = conv(g, t, cout, k, st, k == 3 ? (int)rnd(2) : 0, group);
      if (rnd(2)) y = bn(g, y);
      if (rnd(2)) y = act(g, y);
      break;
    }
    case 2: y = bn(g, t); break;
    case 3: y = act(g, t); break;
    case 4: case 5: {   /* basic residual block */
      Tensor *c = conv(g, t, C, 3, 1, 1, 1);
      if (rnd(2)) c = bn(g, c);
      if (rnd(2)) c = conv(g, act(g, c), C, 3, 1, 1, 1);
      y = add(g, c, t);
      if (rnd(3)) y = act(g, y);
      break;
    }
    case 6: {           /* option-A downsampling block */
      if (H < 2 || W < 2) break;
      int64_t p = 1 + rnd(2);
      Tensor *c = bn(g, conv(g, t, C + 2 * p, 3, 2, 1, 1));
      Tensor *sc = pad_channels(g, slice_step2(g, slice_step2(g, t, 2), 3), p);
      y = act(g, add(g, c, sc));
      break;
    }
    case 7: {           /* per-channel Mul or Add */
      int64_t cd[3] = {C, 1, 1};
      Tensor *in[2] = {t, rconst(g, 3, cd, 0.5, 1.5)};
      y = done(g, mk(g, rnd(2) ? OP_MUL : OP_ADD, 2, in));
      break;
    }
    case 8: {           /* concat with a tensor of the same N, H, W */
      for (int q = np - 1; q >= 0; q--) {
        Tensor *u = pool[q];
        if (u != t && u->dims[0] == t->dims[0] && u->dims[2] == H && u->dims[3] == W) {
          Tensor *in[2] = {t, u};
          Node *n = mk(g, OP_CONCAT, 2, in);
          n->a.axis = 1;
          y = done(g, n);
          break;
        }
      }
      break;
    }
    case 9:
      if (H >= 2 && W >= 2) {
        Node *n = mk(g, OP_MAXPOOL, 1, &t);
        n->a.kernel[0] = n->a.kernel[1] = 2;
        n->a.stride[0] = n->a.stride[1] = 2;
        y = done(g, n);
      }
      break;
    case 10: y = done(g, mk(g, rnd(2) ? OP_IDENTITY : OP_DROPOUT, 1, &t)); break;
    case 11: {          /* pre-activation block: BN on a value read twice */
      Tensor *c = conv(g, act(g, bn(g, t)), C, 3, 1, 1, 1);
      y = add(g, c, t);
      break;
    }
    default: {          /* BN after a residual sum */
      y = bn(g, add(g, conv(g, t, C, 1, 1, 0, 1), t));
      break;
    }
    }
    if (y) pool[np++] = y;
  }
  Tensor *t = pool[np - 1];
  Tensor *gp = done(g, mk(g, OP_GLOBALAVERAGEPOOL, 1, &t));
  Node *fl = mk(g, OP_FLATTEN, 1, &gp);
  fl->a.axis = 1;
  Tensor *f = done(g, fl);
  int64_t bd[2] = {5, f->dims[1]}, cb = 5;
  Tensor *in[3] = {f, rconst(g, 2, bd, -0.5, 0.5), rconst(g, 1, &cb, -0.5, 0.5)};
  Node *gm = mk(g, OP_GEMM, 3, in);
  gm->a.trans_b = 1;
  Tensor *out = done(g, gm);
  if (rnd(3) == 0) out = bn(g, out);
  ir_add_output(g, out);
  if (rnd(3) == 0 && np > 1) ir_add_output(g, pool[1 + rnd((unsigned)np - 1)]);
  ir_relink(g);
}

static void test_random_networks(void) {
  volatile int nrun = 0, nbad = 0, nfused = 0, nview = 0, npost = 0, nres = 0;
  for (volatile unsigned s = 1; s <= 300; s++) {
    IrTry t;
    Graph *g = ir_graph_new("random", "t");
    ir_quiet = 1;
    if (ir_try_begin(&t)) {
      ir_quiet = 0;
      ir_graph_free(g);
      continue;
    }
    build(g, s);
    ir_try_end(&t);
    ir_quiet = 0;
    int64_t n = ir_numel(g->inputs[0]);
    float *in = malloc(sizeof(float) * (size_t)n);
    for (int64_t i = 0; i < n; i++) in[i] = (float)rndf(-1, 1);
    const void *ins[1] = {in};
    void *before[2] = {0}, *after[2] = {0};
    int no = g->noutputs;
    volatile int ok = 1;
    int64_t numel[2] = {ir_numel(g->outputs[0]), no > 1 ? ir_numel(g->outputs[no - 1]) : 0};
    int nodes_before = g->nnodes;
    if (ir_try_begin(&t)) {
      fprintf(stderr, "graph %u: %s\n", s, t.msg);
      ok = 0;
    } else {
      eval_graph(g, ins, before);
      PassOptions o = {2, NULL, NULL, NULL, 1, NULL};
      passes_run(g, &o);
      if (s % 4 == 0) passes_run(g, &o);     /* again: a no-op, still valid */
      eval_graph(g, ins, after);
      ir_try_end(&t);
    }
    for (int i = 0; ok && i < no; i++) {
      double e = rn_rel_err(after[i], before[i], (size_t)numel[i], NULL);
      if (!(e <= 1e-5)) {
        fprintf(stderr, "graph %u: output %d differs by %g after -O2\n", s, i, e);
        ok = 0;
      }
    }
    nrun++;
    nbad += !ok;
    nfused += g->nnodes < nodes_before;
    for (int i = 0; i < g->nnodes; i++) {
      Node *nd = g->nodes[i];
      nview += nd->op == OP_CONV && nd->a.res_view;
      npost += nd->op == OP_CONV && nd->nout == 2;
      nres += nd->op == OP_CONV && nd->nin > 3 && nd->in[3];
    }
    for (int i = 0; i < no; i++) { free(before[i]); free(after[i]); }
    free(in);
    ir_graph_free(g);
  }
  fprintf(stderr, "  %d random networks, %d changed by -O2, %d differ; fused: %d residuals "
          "(%d option-A views), %d BN epilogues\n", nrun, nfused, nbad, nres, nview, npost);
  CU_ASSERT_EQUAL(nbad, 0);
  CU_ASSERT(nrun >= 250);
  CU_ASSERT(nfused >= nrun / 2);
  CU_ASSERT(nview >= 20 && npost >= 20 && nres >= 100);   /* the generator reaches them */
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("pass_random", NULL, NULL);
  CU_add_test(s, "random networks", test_random_networks);
  return rn_run_tests();
}
