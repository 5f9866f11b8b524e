/*
 * test_emit.c - the C emitter against the reference evaluator.
 *
 * Small graphs are built in C (every op, the dtypes the ONNX tests use,
 * conv/pool border cases: 1x1 images, kernels larger than the input with
 * padding, strides larger than the kernel, asymmetric pads, dilations,
 * groups), shape-inferred, and each is emitted twice: as built (-O0: no
 * passes, the emitter's own fallback memory plan) and after passes_run
 * -O2 (BatchNorm folding, fused epilogues, the planner's in-place arena).
 * All of them compile into one program with gcc (ASan + UBSan, exact-size
 * buffers) and with clang (guard bytes around every buffer), both with
 * -std=c99 -Wall -Wextra -Wpedantic -Werror, and run on seeded random
 * inputs; the outputs must match eval_graph (shape.h), an independent naive
 * interpreter in double precision.  Further tests check the generated
 * files themselves: byte-identical on a second run, the header's API, the
 * driver and Makefile, both weight forms, hostile names, and errors.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "emit.h"
#include "emit_harness.h"
#include "passes.h"
#include "shape.h"
#include "testutil.h"

/* ---- random data ------------------------------------------------------------- */

static unsigned seed = 12345;
static double urand(double lo, double hi) {
  seed = seed * 1664525u + 1013904223u;
  return lo + (hi - lo) * ((seed >> 8) / 16777216.0);
}

/* Fills n elements of dtype t: floats in [lo, hi), integers in [lo, hi]. */
static void fill(DType t, void *p, int64_t n, double lo, double hi) {
  for (int64_t i = 0; i < n; i++) {
    double v = urand(lo, hi);
    switch (t) {
    case DT_FLOAT: ((float *)p)[i] = (float)v; break;
    case DT_DOUBLE: ((double *)p)[i] = v; break;
    case DT_INT8: ((int8_t *)p)[i] = (int8_t)floor(v); break;
    case DT_UINT8: case DT_BOOL: ((uint8_t *)p)[i] = (uint8_t)floor(v); break;
    case DT_INT16: ((int16_t *)p)[i] = (int16_t)floor(v); break;
    case DT_UINT16: ((uint16_t *)p)[i] = (uint16_t)floor(v); break;
    case DT_INT32: ((int32_t *)p)[i] = (int32_t)floor(v); break;
    case DT_UINT32: ((uint32_t *)p)[i] = (uint32_t)floor(v); break;
    case DT_INT64: ((int64_t *)p)[i] = (int64_t)floor(v); break;
    case DT_UINT64: ((uint64_t *)p)[i] = (uint64_t)floor(v); break;
    case DT_FLOAT16: case DT_BFLOAT16: {
      /* random bit patterns of finite values */
      uint16_t h = (uint16_t)(urand(0, 65536));
      if (t == DT_FLOAT16 && ((h >> 10) & 31) == 31) h ^= 0x4000;
      if (t == DT_BFLOAT16 && ((h >> 7) & 255) == 255) h ^= 0x4000;
      ((uint16_t *)p)[i] = h;
      break;
    }
    default: break;
    }
  }
}

static double range_lo(DType t) {
  switch (t) {
  case DT_UINT8: case DT_UINT16: case DT_UINT32: case DT_UINT64: case DT_BOOL: return 0;
  case DT_FLOAT: case DT_DOUBLE: return -2;
  default: return -100;
  }
}
static double range_hi(DType t) {
  switch (t) {
  case DT_BOOL: return 1.999;
  case DT_FLOAT: case DT_DOUBLE: return 2;
  default: return 100;
  }
}

/* ---- building graphs ------------------------------------------------------------ */

static Tensor *T(Graph *g, const char *name, DType t) {
  return ir_tensor(g, ir_unique_name(g, name), t, -1, NULL);
}

static Tensor *input(Graph *g, const char *name, DType t, int rank, const int64_t *dims) {
  Tensor *x = ir_tensor(g, ir_unique_name(g, name), t, rank, dims);
  ir_add_input(g, x);
  return x;
}

static Tensor *rconst(Graph *g, const char *name, DType t, int rank, const int64_t *dims, double lo, double hi) {
  Tensor *x = ir_tensor(g, ir_unique_name(g, name), t, rank, dims);
  int64_t n = ir_numel(x);
  void *p = ir_alloc(g, (size_t)ir_bytes(x) + 8);
  fill(t, p, n, lo, hi);
  x->kind = TK_CONST;
  x->data = p;
  return x;
}

static inline Tensor *iconst(Graph *g, int n, const int64_t *v) { return ir_const_i64(g, "k", n, v); }

static Node *node(Graph *g, Op op, int nin, Tensor **in, Tensor *y) {
  return ir_node(g, op, y->name, nin, in, 1, &y);
}

/* Infers the shapes of the last node (builders set its attributes first). */
static Tensor *done(Graph *g, Tensor *y) {
  shape_infer_node(g, g->nodes[g->nnodes - 1]);
  return y;
}

static Tensor *op1(Graph *g, Op op, Tensor *x) {
  Tensor *y = T(g, op_info[op].name, x->dtype);
  node(g, op, 1, &x, y);
  return done(g, y);
}

static Tensor *op2(Graph *g, Op op, Tensor *a, Tensor *b) {
  Tensor *y = T(g, op_info[op].name, a->dtype), *in[2] = {a, b};
  node(g, op, 2, in, y);
  return done(g, y);
}

typedef struct ConvSpec {
  int nsp;
  int64_t k[3], s[3], d[3], pb[3], pe[3];
  int64_t cout, group;
  int bias;
} ConvSpec;

static Tensor *conv(Graph *g, Tensor *x, const ConvSpec *c, Node **np) {
  int64_t wd[5] = {c->cout, x->dims[1] / c->group, 1, 1, 1};
  int64_t fan = wd[1];
  for (int i = 0; i < c->nsp; i++) {
    wd[2 + i] = c->k[i];
    fan *= c->k[i];
  }
  double r = 1.0 / sqrt((double)fan);
  Tensor *w = rconst(g, "w", x->dtype, 2 + c->nsp, wd, -r, r);
  Tensor *b = c->bias ? rconst(g, "b", x->dtype, 1, &c->cout, -0.5, 0.5) : NULL;
  Tensor *y = T(g, "conv", x->dtype), *in[3] = {x, w, b};
  Node *n = node(g, OP_CONV, c->bias ? 3 : 2, in, y);
  n->a.group = c->group;
  for (int i = 0; i < c->nsp; i++) {
    n->a.kernel[i] = c->k[i];
    n->a.stride[i] = c->s[i] ? c->s[i] : 1;
    n->a.dilation[i] = c->d[i] ? c->d[i] : 1;
    n->a.pad_begin[i] = c->pb[i];
    n->a.pad_end[i] = c->pe[i];
  }
  if (np) *np = n;
  return done(g, y);
}

static inline Tensor *pool(Graph *g, Op op, Tensor *x, int nsp, const int64_t *k, const int64_t *s, const int64_t *pb,
                    const int64_t *pe, Node **np) {
  Tensor *y = T(g, "pool", x->dtype);
  Node *n = node(g, op, 1, &x, y);
  for (int i = 0; i < nsp; i++) {
    n->a.kernel[i] = k[i];
    n->a.stride[i] = s ? s[i] : 1;
    n->a.pad_begin[i] = pb ? pb[i] : 0;
    n->a.pad_end[i] = pe ? pe[i] : 0;
  }
  if (np) *np = n;
  return done(g, y);
}

static Graph *new_graph(const char *name) {
  Graph *g = ir_graph_new(name, "test.onnx");
  return g;
}

/* ---- the graphs -------------------------------------------------------------------- */

/* Conv geometry: 2-D unless nsp says otherwise. */
static Graph *g_conv(int nsp, const int64_t *xd, ConvSpec c, int act) {
  Graph *g = new_graph("conv");
  Tensor *x = input(g, "x", DT_FLOAT, 2 + nsp, xd);
  c.nsp = nsp;
  Tensor *y = conv(g, x, &c, NULL);
  if (act == 1) y = op1(g, OP_RELU, y);
  if (act == 2) {
    Tensor *lo = ir_const_scalar_f32(g, "lo", -0.1f), *hi = ir_const_scalar_f32(g, "hi", 0.2f);
    Tensor *z = T(g, "clip", DT_FLOAT), *in[3] = {y, lo, hi};
    node(g, OP_CLIP, 3, in, z);
    y = z;
  }
  if (act == 3) {
    Tensor *z = op1(g, OP_LEAKYRELU, y);
    z->producer->a.alpha = 0.1;
    y = z;
  }
  ir_add_output(g, y);
  return g;
}

/* A residual block: conv-bn-relu-conv-bn + x, relu, then the head:
 * global average pool, flatten, gemm, softmax. */
static Graph *g_resblock(void) {
  Graph *g = new_graph("block");
  int64_t xd[4] = {1, 8, 10, 10}, c8 = 8;
  Tensor *x = input(g, "x", DT_FLOAT, 4, xd);
  ConvSpec c = {2, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 8, 1, 0};
  Tensor *h = x;
  for (int i = 0; i < 2; i++) {
    h = conv(g, h, &c, NULL);
    Tensor *in[5] = {h, rconst(g, "s", DT_FLOAT, 1, &c8, 0.5, 1.5), rconst(g, "b", DT_FLOAT, 1, &c8, -0.5, 0.5),
                     rconst(g, "m", DT_FLOAT, 1, &c8, -0.5, 0.5), rconst(g, "v", DT_FLOAT, 1, &c8, 0.5, 2)};
    Tensor *bn = T(g, "bn", DT_FLOAT);
    node(g, OP_BATCHNORM, 5, in, bn);
    done(g, bn);
    h = i == 0 ? op1(g, OP_RELU, bn) : bn;
  }
  h = op1(g, OP_RELU, op2(g, OP_ADD, h, x));
  h = op1(g, OP_GLOBALAVERAGEPOOL, h);
  h = op1(g, OP_FLATTEN, h);
  int64_t wd[2] = {5, 8}, five = 5;
  Tensor *in[3] = {h, rconst(g, "fc", DT_FLOAT, 2, wd, -0.5, 0.5), rconst(g, "fcb", DT_FLOAT, 1, &five, -1, 1)};
  Tensor *z = T(g, "gemm", DT_FLOAT);
  Node *gm = node(g, OP_GEMM, 3, in, z);
  gm->a.trans_b = 1;
  done(g, z);
  Tensor *p = op1(g, OP_SOFTMAX, z);
  p->producer->a.axis = 1;
  ir_add_output(g, p);
  ir_add_output(g, z);
  return g;
}

typedef Graph *(*Factory)(int variant);

/* ---- the differential run -------------------------------------------------------- */

typedef struct Case {
  const char *what;
  Graph *(*make)(int v);
  int v;
  int both;           /* also emitted without any pass (fallback plan) */
} Case;

static Graph *f_conv(int v) {
  static const struct { int nsp; int64_t xd[5]; ConvSpec c; int act; } T_[] = {
      /* 3x3 stride 1 pad 1 + relu */
      {2, {1, 3, 9, 7}, {2, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 5, 1, 1}, 1},
      /* 1x1 image, 3x3 kernel, pad 1 */
      {2, {2, 4, 1, 1}, {2, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 3, 1, 1}, 0},
      /* kernel larger than the input, with padding */
      {2, {1, 2, 2, 3}, {2, {5, 5}, {1, 1}, {1, 1}, {2, 2}, {2, 2}, 3, 1, 1}, 0},
      /* stride larger than the kernel */
      {2, {1, 3, 11, 10}, {2, {2, 2}, {3, 4}, {1, 1}, {0, 0}, {0, 0}, 4, 1, 0}, 0},
      /* asymmetric pads */
      {2, {1, 2, 6, 5}, {2, {3, 2}, {2, 1}, {1, 1}, {0, 2}, {2, 0}, 3, 1, 1}, 2},
      /* dilation 2, groups 2 */
      {2, {1, 4, 9, 9}, {2, {3, 3}, {1, 2}, {2, 2}, {2, 1}, {1, 2}, 6, 2, 1}, 3},
      /* depthwise, stride 2 */
      {2, {1, 6, 8, 8}, {2, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 6, 6, 1}, 1},
      /* 1x1 pointwise (flattened), batch 2 */
      {2, {2, 16, 7, 7}, {2, {1, 1}, {1, 1}, {1, 1}, {0, 0}, {0, 0}, 8, 1, 1}, 1},
      /* 1x1 stride 2 (downsample shortcut) */
      {2, {1, 8, 7, 7}, {2, {1, 1}, {2, 2}, {1, 1}, {0, 0}, {0, 0}, 4, 1, 0}, 0},
      /* 7x7 stride 2 pad 3 (ResNet stem), wide image */
      {2, {1, 3, 20, 300}, {2, {7, 7}, {2, 2}, {1, 1}, {3, 3}, {3, 3}, 4, 1, 1}, 1},
      /* 1-D */
      {1, {2, 3, 17}, {1, {4}, {2}, {2}, {3}, {1}, 5, 1, 1}, 1},
      /* 3-D with groups */
      {3, {1, 4, 5, 6, 7}, {3, {3, 2, 3}, {1, 2, 1}, {1, 1, 2}, {1, 0, 2}, {1, 1, 0}, 4, 2, 1}, 0},
  };
  Graph *g = g_conv(T_[v].nsp, T_[v].xd, T_[v].c, T_[v].act);
  return g;
}
#define N_CONV 12

static Graph *f_block(int v) {
  (void)v;
  return g_resblock();
}

/* Pools: variant picks the geometry. */
static Graph *f_pool(int v) {
  static const struct {
    Op op; int nsp; int64_t xd[5], k[3], s[3], pb[3], pe[3], d[3]; int ceil, cip, idx, sord; DType t;
  } P[] = {
      /* ResNet stem: 3x3 stride 2 pad 1 */
      {OP_MAXPOOL, 2, {1, 3, 11, 12}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 0, 0, 0, 0, DT_FLOAT},
      /* ceil mode, asymmetric pads, Indices row-major */
      {OP_MAXPOOL, 2, {2, 2, 7, 8}, {3, 2}, {2, 3}, {0, 1}, {1, 0}, {1, 1}, 1, 0, 1, 0, DT_FLOAT},
      /* Indices column-major, dilation */
      {OP_MAXPOOL, 2, {1, 2, 9, 7}, {2, 3}, {1, 2}, {1, 0}, {0, 1}, {2, 1}, 0, 0, 1, 1, DT_FLOAT},
      /* kernel larger than the input, uint8 */
      {OP_MAXPOOL, 2, {1, 3, 2, 2}, {3, 3}, {1, 1}, {1, 1}, {1, 1}, {1, 1}, 0, 0, 0, 0, DT_UINT8},
      /* int8, 1-D */
      {OP_MAXPOOL, 1, {2, 3, 10}, {3}, {2}, {1}, {1}, {1}, 1, 0, 0, 0, DT_INT8},
      /* 3-D, double */
      {OP_MAXPOOL, 3, {1, 2, 5, 6, 4}, {2, 3, 2}, {2, 1, 2}, {0, 1, 1}, {1, 1, 0}, {1, 1, 1}, 1, 0, 1, 0, DT_DOUBLE},
      /* average, count_include_pad 0 and 1, ceil mode */
      {OP_AVERAGEPOOL, 2, {1, 3, 7, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1, 0, 0, 0, DT_FLOAT},
      {OP_AVERAGEPOOL, 2, {1, 3, 7, 7}, {3, 3}, {2, 2}, {1, 1}, {1, 1}, {1, 1}, 1, 1, 0, 0, DT_FLOAT},
      /* average with asymmetric pads, dilations, stride > kernel */
      {OP_AVERAGEPOOL, 2, {2, 2, 10, 9}, {2, 2}, {3, 4}, {1, 0}, {0, 2}, {2, 1}, 0, 1, 0, 0, DT_FLOAT},
      /* 1x1 image */
      {OP_AVERAGEPOOL, 2, {1, 4, 1, 1}, {2, 2}, {1, 1}, {1, 1}, {0, 0}, {1, 1}, 0, 0, 0, 0, DT_FLOAT},
      /* 1-D and 3-D average */
      {OP_AVERAGEPOOL, 1, {1, 2, 9}, {4}, {3}, {2}, {1}, {1}, 1, 1, 0, 0, DT_FLOAT},
      {OP_AVERAGEPOOL, 3, {1, 2, 4, 5, 6}, {2, 2, 3}, {2, 2, 2}, {0, 1, 1}, {1, 0, 1}, {1, 2, 1}, 1, 0, 0, 0, DT_DOUBLE},
  };
  Graph *g = new_graph("pool");
  Tensor *x = input(g, "x", P[v].t, 2 + P[v].nsp, P[v].xd);
  Tensor *y = T(g, "pool", P[v].t), *ix = P[v].idx ? T(g, "idx", DT_INT64) : NULL, *outs[2] = {y, ix};
  Node *n = ir_node(g, P[v].op, "pool", 1, &x, P[v].idx ? 2 : 1, outs);
  for (int i = 0; i < P[v].nsp; i++) {
    n->a.kernel[i] = P[v].k[i];
    n->a.stride[i] = P[v].s[i];
    n->a.pad_begin[i] = P[v].pb[i];
    n->a.pad_end[i] = P[v].pe[i];
    n->a.dilation[i] = P[v].d[i];
  }
  n->a.ceil_mode = P[v].ceil;
  n->a.count_include_pad = P[v].cip;
  n->a.storage_order = P[v].sord;
  ir_add_output(g, y);
  if (ix) ir_add_output(g, ix);
  return g;
}
#define N_POOL 12

/* Global pools, BatchNorm (not folded at -O0), Gemm forms, MatMul. */
static Graph *f_misc(int v) {
  Graph *g = new_graph("misc");
  int64_t xd[4] = {2, 3, 5, 4};
  switch (v) {
  case 0: case 1: {
    Tensor *x = input(g, "x", DT_FLOAT, 4, xd);
    ir_add_output(g, op1(g, v ? OP_GLOBALMAXPOOL : OP_GLOBALAVERAGEPOOL, x));
    break;
  }
  case 2: {   /* BatchNorm on a 3-D input, runtime statistics */
    int64_t d3[3] = {2, 4, 6}, c = 4;
    Tensor *in[5] = {input(g, "x", DT_FLOAT, 3, d3), input(g, "s", DT_FLOAT, 1, &c), input(g, "b", DT_FLOAT, 1, &c),
                     input(g, "m", DT_FLOAT, 1, &c), rconst(g, "v", DT_FLOAT, 1, &c, 0.2, 2)};
    Tensor *y = T(g, "bn", DT_FLOAT);
    node(g, OP_BATCHNORM, 5, in, y)->a.epsilon = 1e-3;
    ir_add_output(g, op1(g, OP_RELU, done(g, y)));   /* -O2 fuses the Relu into the BN */
    break;
  }
  default: {   /* Gemm: transposes, alpha/beta, bias broadcasts */
    static const struct { int ta, tb; double al, be; int crank; int64_t cd[2]; } G[] = {
        {0, 0, 1, 1, 1, {6, 0}}, {1, 0, 0.5, 2, 2, {4, 6}}, {0, 1, 1, 1, 2, {4, 1}},
        {1, 1, 2, 0.5, 0, {0, 0}}, {0, 0, 1, 1, -1, {0, 0}}, {0, 1, 1, 1, 2, {1, 6}},
    };
    int k = v - 3;
    int64_t ad[2] = {G[k].ta ? 5 : 4, G[k].ta ? 4 : 5}, bd[2] = {G[k].tb ? 6 : 5, G[k].tb ? 5 : 6};
    Tensor *a = input(g, "a", DT_FLOAT, 2, ad), *b = rconst(g, "b", DT_FLOAT, 2, bd, -1, 1);
    Tensor *c = G[k].crank >= 0 ? input(g, "c", DT_FLOAT, G[k].crank, G[k].cd) : NULL;
    Tensor *y = T(g, "gemm", DT_FLOAT), *in[3] = {a, b, c};
    Node *n = node(g, OP_GEMM, c ? 3 : 2, in, y);
    n->a.trans_a = G[k].ta;
    n->a.trans_b = G[k].tb;
    n->a.alpha = G[k].al;
    n->a.beta = G[k].be;
    ir_add_output(g, done(g, y));
    break;
  }
  }
  return g;
}
#define N_MISC 9

static Graph *f_matmul(int v) {
  static const struct { int ra, rb; int64_t ad[4], bd[4]; DType t; } M[] = {
      {2, 2, {3, 4}, {4, 5}, DT_FLOAT}, {3, 2, {2, 3, 4}, {4, 5}, DT_FLOAT}, {1, 3, {4}, {2, 4, 3}, DT_FLOAT},
      {4, 1, {2, 1, 3, 4}, {4}, DT_DOUBLE}, {4, 3, {2, 1, 3, 4}, {3, 4, 2}, DT_FLOAT}, {1, 1, {7}, {7}, DT_FLOAT},
      {3, 3, {2, 3, 4}, {1, 4, 5}, DT_INT32}, {2, 2, {3, 4}, {4, 2}, DT_UINT64}, {2, 3, {3, 4}, {2, 4, 2}, DT_INT64},
  };
  Graph *g = new_graph("matmul");
  Tensor *a = input(g, "a", M[v].t, M[v].ra, M[v].ad), *b = input(g, "b", M[v].t, M[v].rb, M[v].bd);
  ir_add_output(g, op2(g, OP_MATMUL, a, b));
  return g;
}
#define N_MATMUL 9

/* Binary ops over every numeric dtype, with broadcasting; Sum. */
static const DType bin_types[] = {DT_FLOAT, DT_DOUBLE, DT_INT8, DT_UINT8, DT_INT16, DT_UINT16,
                                  DT_INT32, DT_UINT32, DT_INT64, DT_UINT64};
static Graph *f_binary(int v) {
  Graph *g = new_graph("binary");
  DType t = bin_types[v % 10];
  int64_t ad[4] = {2, 3, 4, 5}, bd[3] = {3, 1, 5}, cd[1] = {5}, sd[1] = {1};
  Tensor *a = input(g, "a", t, 4, ad), *b = input(g, "b", t, 3, bd), *c = input(g, "c", t, 1, cd);
  Tensor *s0 = input(g, "s", t, 0, sd);
  ir_add_output(g, op2(g, OP_ADD, a, b));
  ir_add_output(g, op2(g, OP_SUB, c, a));
  ir_add_output(g, op2(g, OP_MUL, b, c));
  ir_add_output(g, op2(g, OP_DIV, a, c));         /* integer inputs include 0 */
  ir_add_output(g, op2(g, OP_DIV, s0, b));
  Tensor *in[3] = {a, b, c}, *y = T(g, "sum", t);
  node(g, OP_SUM, 3, in, y);
  ir_add_output(g, done(g, y));
  return g;
}
#define N_BINARY 10

/* Unary ops, Clip, Softmax, LogSoftmax. */
static Graph *f_unary(int v) {
  Graph *g = new_graph("unary");
  DType t = v == 1 ? DT_DOUBLE : DT_FLOAT;
  int64_t xd[3] = {2, 3, 7};
  if (v >= 2) {   /* Clip on integers, with and without bounds */
    t = v == 2 ? DT_INT8 : v == 3 ? DT_UINT16 : DT_INT64;
    Tensor *x = input(g, "x", t, 3, xd);
    Tensor *lo = input(g, "lo", t, 0, NULL), *hi = rconst(g, "hi", t, 0, NULL, 20, 30);
    Tensor *in[3] = {x, lo, hi}, *y = T(g, "clip", t), *z = T(g, "clip", t), *w = T(g, "clip", t);
    node(g, OP_CLIP, 3, in, y);
    ir_add_output(g, done(g, y));
    Tensor *in2[3] = {x, NULL, hi};
    node(g, OP_CLIP, 3, in2, z);
    ir_add_output(g, done(g, z));
    node(g, OP_CLIP, 1, in, w);
    ir_add_output(g, done(g, w));
    if (t != DT_UINT16) ir_add_output(g, op1(g, OP_RELU, x));
    return g;
  }
  Tensor *x = input(g, "x", t, 3, xd);
  ir_add_output(g, op1(g, OP_RELU, x));
  Tensor *l = op1(g, OP_LEAKYRELU, x);
  l->producer->a.alpha = 0.2;
  ir_add_output(g, l);
  ir_add_output(g, op1(g, OP_SIGMOID, x));
  Tensor *h = op1(g, OP_HARDSIGMOID, x);
  h->producer->a.alpha = 0.3;
  h->producer->a.beta = 0.4;
  ir_add_output(g, h);
  ir_add_output(g, op1(g, OP_HARDSWISH, x));
  Tensor *lo = rconst(g, "lo", t, 0, NULL, -0.5, -0.4), *in[3] = {x, lo, NULL}, *y = T(g, "clip", t);
  node(g, OP_CLIP, 3, in, y);
  ir_add_output(g, done(g, y));
  for (int ax = -1; ax < 3; ax++) {
    Tensor *sm = op1(g, ax % 2 ? OP_SOFTMAX : OP_LOGSOFTMAX, x);
    sm->producer->a.axis = ax;
    ir_add_output(g, sm);
  }
  Tensor *sm = op1(g, OP_SOFTMAX, x);   /* opset < 13: coerced to 2-D */
  sm->producer->a.axis = 1;
  sm->producer->a.softmax_2d = 1;
  ir_add_output(g, sm);
  return g;
}
#define N_UNARY 5

/* Data movement: Transpose, Concat, Slice, Pad, Gather, views. */
static Graph *f_move(int v) {
  Graph *g = new_graph("move");
  DType t = v == 0 ? DT_FLOAT : v == 1 ? DT_INT64 : v == 2 ? DT_UINT8 : DT_FLOAT16;
  int64_t xd[4] = {2, 3, 4, 5}, yd[4] = {2, 1, 4, 5};
  Tensor *x = input(g, "x", t, 4, xd), *x2 = input(g, "x2", t, 4, yd);
  /* Transpose: a permutation and the default reverse */
  Tensor *tr = op1(g, OP_TRANSPOSE, x);
  int64_t perm[4] = {0, 2, 3, 1};
  memcpy(tr->producer->a.perm, perm, sizeof perm);
  tr->producer->a.nperm = 4;
  shape_infer_node(g, tr->producer);
  ir_add_output(g, tr);
  ir_add_output(g, op1(g, OP_TRANSPOSE, x2));
  /* Concat on axis 1 and -1 */
  Tensor *in[3] = {x, x2, x}, *cc = T(g, "concat", t);
  node(g, OP_CONCAT, 3, in, cc)->a.axis = 1;
  ir_add_output(g, done(g, cc));
  Tensor *in2[2] = {x, x}, *cc2 = T(g, "concat", t);
  node(g, OP_CONCAT, 2, in2, cc2)->a.axis = -1;
  ir_add_output(g, done(g, cc2));
  /* Slice: negative steps, clamped ends, negative axes */
  int64_t st[3] = {-1, 1, 0}, en[3] = {-100, 100, 3}, ax[3] = {3, -3, 0}, sp[3] = {-2, 2, 1};
  Tensor *sin[5] = {x, iconst(g, 3, st), iconst(g, 3, en), iconst(g, 3, ax), iconst(g, 3, sp)}, *sl = T(g, "slice", t);
  node(g, OP_SLICE, 5, sin, sl);
  ir_add_output(g, done(g, sl));
  /* Pad: every mode, negative pads crop */
  for (int m = 0; m < 4; m++) {
    int64_t pads[8] = {0, 1, 2, -1, 1, 0, 3, 2};
    Tensor *pin[3] = {x, iconst(g, 8, pads), m == 0 ? rconst(g, "pv", t, 0, NULL, 1, 2) : NULL}, *pd = T(g, "pad", t);
    node(g, OP_PAD, m == 0 ? 3 : 2, pin, pd)->a.pad_mode = (PadMode)m;
    ir_add_output(g, done(g, pd));
  }
  /* Gather on axis 2 with negative indices, int32 and int64 */
  int64_t idd[2] = {2, 3};
  Tensor *gi = rconst(g, "gi", DT_INT64, 2, idd, -4, 3.99), *gin[2] = {x, gi}, *ga = T(g, "gather", t);
  node(g, OP_GATHER, 2, gin, ga)->a.axis = 2;
  ir_add_output(g, done(g, ga));
  Tensor *gi32 = input(g, "idx32", DT_INT32, 1, idd), *gin2[2] = {x, gi32}, *ga2 = T(g, "gather", t);
  node(g, OP_GATHER, 2, gin2, ga2)->a.axis = 0;
  ir_add_output(g, done(g, ga2));
  /* views: Flatten, Reshape, Squeeze, Unsqueeze, Identity */
  Tensor *fl = op1(g, OP_FLATTEN, x);
  int64_t shp[3] = {4, -1, 5};
  Tensor *rin[2] = {fl, iconst(g, 3, shp)}, *rs = T(g, "reshape", t);
  node(g, OP_RESHAPE, 2, rin, rs);
  done(g, rs);
  int64_t ax1 = 1;
  Tensor *sq_in[2] = {x2, iconst(g, 1, &ax1)}, *sq = T(g, "squeeze", t);
  node(g, OP_SQUEEZE, 2, sq_in, sq);
  done(g, sq);
  Tensor *us_in[2] = {sq, iconst(g, 1, &ax1)}, *us = T(g, "unsqueeze", t);
  node(g, OP_UNSQUEEZE, 2, us_in, us);
  done(g, us);
  ir_add_output(g, op1(g, OP_TRANSPOSE, rs));
  ir_add_output(g, op1(g, OP_IDENTITY, us));
  return g;
}
#define N_MOVE 4

/* Cast between every pair of a set of dtypes. */
static Graph *f_cast(int v) {
  static const DType ts[] = {DT_FLOAT, DT_DOUBLE, DT_FLOAT16, DT_BFLOAT16, DT_INT8, DT_UINT8, DT_INT32,
                             DT_INT64, DT_UINT64, DT_BOOL, DT_UINT16, DT_INT16, DT_UINT32};
  Graph *g = new_graph("cast");
  DType from = ts[v];
  int64_t xd[2] = {4, 25};
  Tensor *x = input(g, "x", from, 2, xd);
  for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
    Tensor *y = op1(g, OP_CAST, x);
    y->producer->a.to = ts[i];
    y->dtype = ts[i];
    shape_infer_node(g, y->producer);
    ir_add_output(g, y);
  }
  return g;
}
#define N_CAST 13

/* Outputs that are inputs, constants, repeated, or views of other outputs;
 * hostile names. */
static Graph *f_outputs(int v) {
  Graph *g = new_graph(v ? "m4_exit(1) $1 */ <:x:>" : "outs");
  int64_t xd[2] = {3, 4};
  Tensor *x = input(g, v ? "in put,\"quoted\" m4_dnl RN_MODEL */ ?" "?/ <:a:> $@ \\ <" : "x", DT_FLOAT, 2, xd);
  Tensor *r = op1(g, OP_RELU, x);
  if (v) r->producer->name = ir_strdup(g, "RN_CALL(`x') /* */ P_T");
  ir_add_output(g, r);
  ir_add_output(g, x);
  ir_add_output(g, rconst(g, "k", DT_FLOAT, 2, xd, -1, 1));
  ir_add_output(g, r);
  ir_add_output(g, op1(g, OP_FLATTEN, r));
  Tensor *sg = op1(g, OP_SIGMOID, op1(g, OP_IDENTITY, r));
  ir_add_output(g, sg);
  return g;
}
#define N_OUTPUTS 2

static const Case cases_[] = {
#define C(what, f, v) {what, f, v, f == f_conv || f == f_block || f == f_outputs || (f == f_misc && v == 2)}
    C("conv 3x3 relu", f_conv, 0), C("conv 1x1 image", f_conv, 1), C("conv kernel > input", f_conv, 2),
    C("conv stride > kernel", f_conv, 3), C("conv asymmetric pads clip", f_conv, 4),
    C("conv dilation groups leakyrelu", f_conv, 5), C("conv depthwise s2", f_conv, 6),
    C("conv 1x1 batch 2", f_conv, 7), C("conv 1x1 s2", f_conv, 8), C("conv stem wide", f_conv, 9),
    C("conv 1-D", f_conv, 10), C("conv 3-D groups", f_conv, 11), C("residual block", f_block, 0),
    C("maxpool stem", f_pool, 0), C("maxpool ceil indices", f_pool, 1), C("maxpool indices col-major", f_pool, 2),
    C("maxpool uint8 big kernel", f_pool, 3), C("maxpool int8 1-D", f_pool, 4), C("maxpool 3-D double", f_pool, 5),
    C("avgpool ceil", f_pool, 6), C("avgpool ceil count_include_pad", f_pool, 7), C("avgpool asym dil", f_pool, 8),
    C("avgpool 1x1 image", f_pool, 9), C("avgpool 1-D", f_pool, 10), C("avgpool 3-D double", f_pool, 11),
    C("global avg pool", f_misc, 0), C("global max pool", f_misc, 1), C("batchnorm runtime", f_misc, 2),
    C("gemm nn vector bias", f_misc, 3), C("gemm tn matrix bias", f_misc, 4), C("gemm nt column bias", f_misc, 5),
    C("gemm tt scalar bias", f_misc, 6), C("gemm no bias", f_misc, 7), C("gemm row bias", f_misc, 8),
    C("matmul 2d", f_matmul, 0), C("matmul 3d x 2d", f_matmul, 1), C("matmul 1d x 3d", f_matmul, 2),
    C("matmul 4d x 1d double", f_matmul, 3), C("matmul batch broadcast", f_matmul, 4), C("matmul 1d x 1d", f_matmul, 5),
    C("matmul int32", f_matmul, 6), C("matmul uint64", f_matmul, 7), C("matmul int64 broadcast", f_matmul, 8),
    C("binary float", f_binary, 0), C("binary double", f_binary, 1), C("binary int8", f_binary, 2),
    C("binary uint8", f_binary, 3), C("binary int16", f_binary, 4), C("binary uint16", f_binary, 5),
    C("binary int32", f_binary, 6), C("binary uint32", f_binary, 7), C("binary int64", f_binary, 8),
    C("binary uint64", f_binary, 9),
    C("unary float", f_unary, 0), C("unary double", f_unary, 1), C("clip int8", f_unary, 2),
    C("clip uint16", f_unary, 3), C("clip int64", f_unary, 4),
    C("move float", f_move, 0), C("move int64", f_move, 1), C("move uint8", f_move, 2), C("move float16", f_move, 3),
    C("cast from float", f_cast, 0), C("cast from double", f_cast, 1), C("cast from float16", f_cast, 2),
    C("cast from bfloat16", f_cast, 3), C("cast from int8", f_cast, 4), C("cast from uint8", f_cast, 5),
    C("cast from int32", f_cast, 6), C("cast from int64", f_cast, 7), C("cast from uint64", f_cast, 8),
    C("cast from bool", f_cast, 9), C("cast from uint16", f_cast, 10), C("cast from int16", f_cast, 11),
    C("cast from uint32", f_cast, 12),
    C("outputs: inputs, constants, repeats", f_outputs, 0), C("hostile names", f_outputs, 1),
#undef C
};
#define NCASES ((int)(sizeof cases_ / sizeof cases_[0]))

static void test_differential(void) {
  const char *dir = rn_tmpdir("emit_diff");
  /* case k runs cases_[ci[k]], after passes_run -O2 (opt 1) or without
   * any pass (opt 0: BatchNorm, Relu, Add as nodes, the emitter's plan) */
  int n = 0, ci[2 * NCASES], copt[2 * NCASES];
  for (int i = 0; i < NCASES; i++) {
    if (cases_[i].both) {
      ci[n] = i;
      copt[n++] = 0;
    }
    ci[n] = i;
    copt[n++] = 1;
  }
  EhCase *cs = calloc((size_t)n, sizeof *cs);
  void ***ref = calloc((size_t)n, sizeof *ref), ***in = calloc((size_t)n, sizeof *in);
  for (int k = 0; k < n; k++) {
    const Case *c = &cases_[ci[k]];
    int opt = copt[k];
    snprintf(cs[k].name, sizeof cs[k].name, "c%d", k);
    Graph *volatile g = NULL;
    IrTry t;
    if (ir_try_begin(&t)) {
      fprintf(stderr, "%s: %s\n", c->what, t.msg);
      CU_FAIL("building the graph failed");
      ir_graph_free(g);
      continue;
    }
    g = c->make(c->v);
    shape_infer_and_fold(g, 0);
    /* inputs and the reference, before any pass */
    seed = 1000u + (unsigned)ci[k];
    in[k] = calloc((size_t)g->ninputs + 1, sizeof(void *));
    ref[k] = calloc((size_t)g->noutputs + 1, sizeof(void *));
    for (int i = 0; i < g->ninputs; i++) {
      Tensor *x = g->inputs[i];
      in[k][i] = malloc((size_t)ir_bytes(x) + 8);
      if (strncmp(x->name, "idx", 3) == 0)   /* indices: in range, negative too */
        fill(x->dtype, in[k][i], ir_numel(x), -2, 1.99);
      else
        fill(x->dtype, in[k][i], ir_numel(x), range_lo(x->dtype), range_hi(x->dtype));
    }
    eval_graph(g, (const void *const *)in[k], ref[k]);
    if (opt) {
      PassOptions po = {2, NULL, NULL, NULL, 1, NULL};
      passes_run(g, &po);
    }
    ir_try_end(&t);
    cs[k].g = g;
    if (eh_emit(dir, &cs[k], WEIGHTS_AUTO) != 0) {
      fprintf(stderr, "%s (-O%d): emit failed\n", c->what, opt ? 2 : 0);
      CU_FAIL("emit_c failed");
    }
  }
  eh_write_build(dir, cs, n);
  CU_ASSERT_EQUAL_FATAL(eh_build(dir), 0);
  for (int k = 0; k < n; k++) {
    if (!cs[k].built) continue;
    const Case *c = &cases_[ci[k]];
    Graph *g = cs[k].g;
    for (int cc = 0; cc < 2; cc++) {
      void *out[16];
      int st = eh_run(dir, cc ? "harness_clang" : "harness_gcc", &cs[k], in[k], out);
      if (st != 0) {
        fprintf(stderr, "%s (-O%d, %s): exit status %d\n", c->what, copt[k] ? 2 : 0, cc ? "clang" : "gcc", st);
        CU_FAIL("generated program failed");
        continue;
      }
      for (int i = 0; i < g->noutputs; i++) {
        char why[200] = "";
        Tensor *y = g->outputs[i];
        int64_t bad = eh_compare(y->dtype, out[i], ref[k][i], ir_numel(y), 1e-4, 1e-5, why, sizeof why);
        if (bad) {
          fprintf(stderr, "%s (-O%d, %s) output %d: %lld wrong, %s\n", c->what, copt[k] ? 2 : 0, cc ? "clang" : "gcc",
                  i, (long long)bad, why);
          CU_FAIL("output differs from eval_graph");
        }
        free(out[i]);
      }
    }
  }
  for (int k = 0; k < n; k++) {
    if (cs[k].g) {
      for (int i = 0; i < cs[k].g->ninputs; i++) free(in[k][i]);
      for (int i = 0; i < cs[k].g->noutputs; i++) free(ref[k][i]);
    }
    free(in[k]);
    free(ref[k]);
    ir_graph_free(cs[k].g);
  }
  free(cs);
  free(in);
  free(ref);
}

/* ---- the files themselves ------------------------------------------------------ */

static Graph *built(Graph *(*make)(int), int v, int opt) {
  Graph *volatile g = NULL;
  seed = 42;                       /* the same weights every time */
  IrTry t;
  if (ir_try_begin(&t)) {
    ir_graph_free(g);
    return NULL;
  }
  g = make(v);
  shape_infer_and_fold(g, 0);
  if (opt) {
    PassOptions po = {2, NULL, NULL, NULL, 1, NULL};
    passes_run(g, &po);
  }
  ir_try_end(&t);
  return g;
}

static int emit_to(Graph *g, const char *dir, const char *name, WeightsMode wm, const char *tdir) {
  EmitOptions o = {dir, name, wm, "resnetc test.onnx -o out", tdir, NULL, 0};
  return emit_c(g, &o);
}

static int files_in(const char *dir) {
  char log[2200];
  struct stat st;
  if (stat(dir, &st) != 0) return 0;
  snprintf(log, sizeof log, "%s.ls", dir);
  rn_system(log, "ls -A %s", dir);
  size_t n;
  char *t = rn_read_file(log, &n);
  int k = 0;
  for (size_t i = 0; t && i < n; i++) k += t[i] == '\n';
  free(t);
  return k;
}

/* Same graph, same options: the same bytes; both weight forms. */
static void test_reproducible(void) {
  char a[1100], b[1100];
  snprintf(a, sizeof a, "%s", rn_tmpdir("emit_repro_a"));
  snprintf(b, sizeof b, "%s", rn_tmpdir("emit_repro_b"));
  for (int wm = WEIGHTS_EMBED; wm <= WEIGHTS_BLOB; wm++) {
    Graph *g1 = built(f_block, 0, 1), *g2 = built(f_block, 0, 1);
    CU_ASSERT_FATAL(g1 && g2);
    CU_ASSERT_EQUAL(emit_to(g1, a, "net", (WeightsMode)wm, NULL), 0);
    CU_ASSERT_EQUAL(emit_to(g2, b, "net", (WeightsMode)wm, NULL), 0);
    static const char *files[] = {"net.h", "net.c", "net_main.c", "Makefile", "net_weights.c", "net.weights"};
    for (int i = 0; i < 6; i++) {
      char pa[1200], pb[1200];
      snprintf(pa, sizeof pa, "%s/%s", a, files[i]);
      snprintf(pb, sizeof pb, "%s/%s", b, files[i]);
      size_t na, nb;
      char *ta = rn_read_file(pa, &na), *tb = rn_read_file(pb, &nb);
      int expect = i < 4 || (i == 4) == (wm == WEIGHTS_EMBED);
      CU_ASSERT_EQUAL(ta != NULL, expect);
      CU_ASSERT(!ta || (tb && na == nb && memcmp(ta, tb, na) == 0));
      if (ta && i < 5) {   /* every text file opens with the required comment */
        CU_ASSERT(strstr(ta, "generated by resnetc") != NULL && strstr(ta, "Generated, do not edit.") != NULL &&
                  strstr(ta, "Command line: resnetc test.onnx -o out") != NULL);
        CU_ASSERT(strstr(ta, ".tmp") == NULL);
      }
      free(ta);
      free(tb);
    }
    CU_ASSERT_EQUAL(files_in(a), wm == WEIGHTS_EMBED ? 5 : 5);   /* no temporary left */
    ir_graph_free(g1);
    ir_graph_free(g2);
  }
}

/* Unsupported input and broken templates: -1, one message, no file. */
static void test_errors(void) {
  char d[1100];
  snprintf(d, sizeof d, "%s", rn_tmpdir("emit_errors"));
  char out[1200];
  snprintf(out, sizeof out, "%s/out", d);
  ir_quiet = 1;
  /* Conv on int32: the emitter has no such kernel */
  Graph *g = ir_graph_new("bad", "bad.onnx");
  int64_t xd[4] = {1, 2, 3, 3}, wd[4] = {2, 2, 1, 1};
  Tensor *x = input(g, "x", DT_INT32, 4, xd), *w = rconst(g, "w", DT_INT32, 4, wd, -3, 3);
  Tensor *y = ir_tensor(g, "y", DT_INT32, 4, xd), *in[2] = {x, w};
  Node *n = ir_node(g, OP_CONV, "conv", 2, in, 1, &y);
  n->a.kernel[0] = n->a.kernel[1] = 1;
  n->a.nsp = 2;
  ir_add_output(g, y);
  CU_ASSERT_EQUAL(emit_to(g, out, "bad", WEIGHTS_AUTO, NULL), -1);
  CU_ASSERT_EQUAL(files_in(out), 0);
  ir_graph_free(g);
  /* a template that stops m4: nothing written either */
  char tdir[1200], cmd[3000];
  snprintf(tdir, sizeof tdir, "%s/templates", d);
  rn_system(NULL, "cp -r %s %s && echo 'm4_define(<:RN_CONV__scalar:>, <:RN_FAIL(<:broken:>):>)' > %s/k_zz_broken.m4",
            rn_source_path("templates"), tdir, tdir);
  g = built(f_conv, 0, 1);
  CU_ASSERT_FATAL(g != NULL);
  snprintf(cmd, sizeof cmd, "%s/out2", d);
  CU_ASSERT_EQUAL(emit_to(g, cmd, "c", WEIGHTS_AUTO, tdir), -1);
  CU_ASSERT_EQUAL(files_in(cmd), 0);
  /* the same folder without the broken template works */
  snprintf(cmd, sizeof cmd, "rm %s/k_zz_broken.m4", tdir);
  rn_system(NULL, "%s", cmd);
  snprintf(cmd, sizeof cmd, "%s/out2", d);
  CU_ASSERT_EQUAL(emit_to(g, cmd, "c", WEIGHTS_AUTO, tdir), 0);
  CU_ASSERT_EQUAL(files_in(cmd), 5);
  /* an output folder that is a file */
  char file[3100];
  snprintf(file, sizeof file, "%s/c.h", cmd);
  CU_ASSERT_EQUAL(emit_to(g, file, "c", WEIGHTS_AUTO, NULL), -1);
  ir_graph_free(g);
  ir_quiet = 0;
}

/* A memory plan where two live tensors share bytes is a resnetc bug: the
 * emitter refuses it (abort) rather than write code that corrupts data. */
static void test_bad_plan(void) {
  char d[1100];
  snprintf(d, sizeof d, "%s", rn_tmpdir("emit_bad_plan"));
  for (int variant = 0; variant < 2; variant++) {
    Graph *g = built(f_block, 0, 0);
    CU_ASSERT_FATAL(g != NULL);
    PassOptions po = {0, NULL, NULL, NULL, 1, NULL};
    passes_run(g, &po);          /* the planner only: BN, Relu, Add stay nodes */
    /* the first conv's output and the input of the Add (x) are both live;
     * give the first two arena tensors with overlapping lives one offset */
    Tensor *a = NULL, *b = NULL;
    for (int i = 0; i < g->nnodes && !b; i++) {
      Tensor *t = g->nodes[i]->out[0];
      if (t->kind != TK_ACT || t->is_output || t->alias || t->offset < 0) continue;
      if (!a) a = t;
      else if (g->nodes[i]->in[0] == a && variant == 0) b = t;   /* a dies here: in place ok? no: conv */
      else if (variant == 1 && i >= 3) b = t;
    }
    CU_ASSERT_FATAL(a && b);
    if (variant == 0) b->offset = a->offset + 64;  /* overlaps a while a is read */
    else b->offset = a->offset;
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
      int fd = open("/dev/null", O_WRONLY);
      dup2(fd, 2);
      EmitOptions o = {d, "bad", WEIGHTS_AUTO, "resnetc", NULL, NULL, 0};
      emit_c(g, &o);
      _exit(0);
    }
    int st = 0;
    waitpid(pid, &st, 0);
    CU_ASSERT(WIFSIGNALED(st) && WTERMSIG(st) == SIGABRT);
    ir_graph_free(g);
  }
}

/* EmitOptions.isa: a template for another ISA takes the layers its
 * predicate accepts, scalar the rest; unknown ISAs fall back to scalar. */
static void test_isa(void) {
  char d[1100], tdir[1200], out[1200], log[1300];
  snprintf(d, sizeof d, "%s", rn_tmpdir("emit_isa"));
  snprintf(tdir, sizeof tdir, "%s/templates", d);
  snprintf(out, sizeof out, "%s/out", d);
  snprintf(log, sizeof log, "%s/log", d);
  FILE *f;
  rn_system(NULL, "cp -r %s %s", rn_source_path("templates"), tdir);
  char kp[1300];
  snprintf(kp, sizeof kp, "%s/k_zz_testisa.m4", tdir);
  f = fopen(kp, "w");
  CU_ASSERT_FATAL(f != NULL);
  fputs("m4_define(<:RN_UNARY__testisa_OK:>, <:m4_ifelse(P_OPK, <:relu:>, 1, 0):>)\n"
        "m4_define(<:RN_UNARY__testisa:>, <:\n"
        "/* relu of the test ISA */\n"
        "static void RN_FNAME<::>(const P_T *x, P_T *y)\n{\n  RN_ENUM(NUMEL)\n  int i;\n"
        "  for (i = 0; i < NUMEL; i++)\n    y[i] = x[i] > 0 ? x[i] : 0;\n}\n:>)\n", f);
  fclose(f);
  Graph *g = built(f_unary, 0, 1);
  CU_ASSERT_FATAL(g != NULL);
  EmitOptions o = {out, "u", WEIGHTS_AUTO, "resnetc", tdir, "avx512f,testisa", 0};
  CU_ASSERT_EQUAL_FATAL(emit_c(g, &o), 0);
  char cp[1300];
  snprintf(cp, sizeof cp, "%s/u.c", out);
  size_t n;
  char *c = rn_read_file(cp, &n);
  CU_ASSERT(c && strstr(c, "rn_f32_relu__testisa_1(") && strstr(c, "rn_f32_sigmoid__scalar_1(") &&
            !strstr(c, "rn_f32_relu__scalar"));
  free(c);
  CU_ASSERT_EQUAL(rn_system(log, "cd %s && gcc -std=c99 -Wall -Wextra -Wpedantic -Werror -fsyntax-only u.c", out), 0);
  ir_quiet = 1;
  EmitOptions bad = {out, "u", WEIGHTS_AUTO, "resnetc", tdir, "avx2;rm -rf", 0};
  CU_ASSERT_EQUAL(emit_c(g, &bad), -1);
  ir_quiet = 0;
  ir_graph_free(g);
}

/* The driver and Makefile as a user meets them: builds with `make`, checks
 * file sizes, blob and embedded weights agree, a foreign blob is refused;
 * NAME.o holds no writable data. */
static void test_driver(void) {
  char d[1100];
  snprintf(d, sizeof d, "%s", rn_tmpdir("emit_driver"));
  char e[1200], b[1200], log[1300];
  snprintf(e, sizeof e, "%s/embed", d);
  snprintf(b, sizeof b, "%s/blob", d);
  Graph *g = built(f_block, 0, 1);
  CU_ASSERT_FATAL(g != NULL);
  CU_ASSERT_EQUAL_FATAL(emit_to(g, e, "net", WEIGHTS_EMBED, NULL), 0);
  CU_ASSERT_EQUAL_FATAL(emit_to(g, b, "net", WEIGHTS_BLOB, NULL), 0);
  snprintf(log, sizeof log, "%s/make.log", d);
  CU_ASSERT_EQUAL_FATAL(rn_system(log, "make -C %s CFLAGS='-O2 -std=c99 -Wall -Wextra -Wpedantic -Werror' && "
                                       "make -C %s CC=clang CFLAGS='-O2 -std=c99 -Wall -Wextra -Wpedantic -Werror'", e, b), 0);
  /* no writable globals in the model */
  CU_ASSERT_EQUAL(rn_system(log, "! nm -P %s/net.o %s/net.o | awk '$2 ~ /^[DdBbCGSs]$/' | grep .", e, b), 0);
  float x[800];
  seed = 7;
  fill(DT_FLOAT, x, 800, -1, 1);
  char in[1300], o1[1300], o2[1300], short_in[1300];
  snprintf(in, sizeof in, "%s/x.bin", d);
  snprintf(short_in, sizeof short_in, "%s/short.bin", d);
  rn_write_file(in, x, sizeof x);
  rn_write_file(short_in, x, sizeof x - 4);
  snprintf(o1, sizeof o1, "%s/o1.bin", d);
  snprintf(o2, sizeof o2, "%s/o2.bin", d);
  CU_ASSERT_EQUAL(rn_system(log, "%s/net %s %s %s.b && %s/net %s %s %s.b", e, in, o1, o1, b, in, o2, o2), 0);
  size_t n1, n2;
  char *r1 = rn_read_file(o1, &n1), *r2 = rn_read_file(o2, &n2);
  CU_ASSERT(r1 && r2 && n1 == 20 && n1 == n2 && memcmp(r1, r2, n1) == 0);
  free(r1);
  free(r2);
  /* a wrong input size: exit 1 and what was expected */
  CU_ASSERT_NOT_EQUAL(rn_system(log, "%s/net %s %s %s.b", e, short_in, o1, o1), 0);
  size_t nl;
  char *t = rn_read_file(log, &nl);
  CU_ASSERT(t && strstr(t, "expected 3200 bytes") && strstr(t, "float32[1,8,10,10]"));
  free(t);
  /* a blob whose header is not this model's (here: another hash) */
  CU_ASSERT_NOT_EQUAL(rn_system(log, "cp %s/net.weights %s/w2 && printf 'X' | dd of=%s/w2 bs=1 seek=20 conv=notrunc "
                                     "2>/dev/null; %s/net --weights %s/w2 %s %s %s.b", b, d, d, b, d, in, o2, o2), 0);
  t = rn_read_file(log, &nl);
  CU_ASSERT(t && strstr(t, "does not belong to this model"));
  free(t);
  /* --bench prints one line */
  CU_ASSERT_EQUAL(rn_system(log, "%s/net --bench 5 %s", e, in), 0);
  t = rn_read_file(log, &nl);
  double med, mn;
  CU_ASSERT(t && sscanf(t, "median_ms=%lf min_ms=%lf", &med, &mn) == 2 && strchr(t, '\n') == t + nl - 1);
  free(t);
  ir_graph_free(g);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("emit", NULL, NULL);
  CU_add_test(s, "generated C matches eval_graph", test_differential);
  CU_add_test(s, "same input, same bytes", test_reproducible);
  CU_add_test(s, "errors write nothing", test_errors);
  CU_add_test(s, "ISA selection by templates", test_isa);
  CU_add_test(s, "a broken memory plan is refused", test_bad_plan);
  CU_add_test(s, "driver, Makefile and both weight forms", test_driver);
  return rn_run_tests();
}
