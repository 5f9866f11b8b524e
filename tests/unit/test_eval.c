/* test_eval.c - the reference evaluator on small graphs built in C.
 *
 * Conv (1-D/2-D/3-D, groups, strides, dilations, pads, fused bias +
 * residual + activation), Gemm and MatMul are checked on seeded random
 * shapes against the direct formulas written out here, one output element
 * at a time.  Integer arithmetic, Cast (float16/bfloat16 bit patterns from
 * numpy/PyTorch, saturation, no double rounding), Pad modes (numpy.pad
 * results) and Softmax's two forms are checked against literal values.
 * Also: eval_graph leaves the graph untouched, and fails cleanly. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodegraph.h"
#include "shape.h"
#include "testutil.h"

static uint32_t seed = 12345;

static double rnd(void) {      /* uniform in [-1, 1) */
  seed = seed * 1664525u + 1013904223u;
  return (double)(seed >> 8) / (double)(1u << 23) - 1.0;
}
static int64_t irnd(int64_t lo, int64_t hi) {   /* in [lo, hi] */
  seed = seed * 1664525u + 1013904223u;
  return lo + (int64_t)((seed >> 8) % (uint32_t)(hi - lo + 1));
}

/* Infers + folds, then runs; returns output 0 (malloc'ed) or NULL with the
 * message in err. */
static char err[1024];
static void *run(const void *const *in) {
  void *out[4] = {0};
  IrTry t;
  ir_quiet = 1;
  err[0] = 0;
  if (ir_try_begin(&t)) {
    ir_quiet = 0;
    snprintf(err, sizeof err, "%s", t.msg);
    return NULL;
  }
  ir_relink(g);
  shape_infer_and_fold(g, 0);
  eval_graph(g, in, out);
  ir_try_end(&t);
  ir_quiet = 0;
  for (int i = 1; i < g->noutputs; i++) free(out[i]);
  return out[0];
}

static float *frand(int64_t n) {
  float *p = malloc(sizeof(float) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) p[i] = (float)rnd();
  return p;
}

static double act_ref(Act a, double lo, double hi, double al, double v) {
  switch (a) {
  case ACT_RELU: return v < 0 ? 0 : v;
  case ACT_CLIP: return v < lo ? lo : v > hi ? hi : v;
  case ACT_LEAKYRELU: return v < 0 ? al * v : v;
  default: return v;
  }
}

/* ---- Conv ---------------------------------------------------------------- */

static void test_conv_random(void) {
  int bad = 0, ran = 0;
  for (int trial = 0; trial < 60; trial++) {
    int nsp = (int)irnd(1, 3);
    int64_t N = irnd(1, 2), G = irnd(1, 3), Cg = irnd(1, 3), Mg = irnd(1, 3);
    int64_t C = G * Cg, M = G * Mg;
    int64_t in[3], k[3], s[3], dl[3], pb[3], pe[3], out[3];
    int ok = 1;
    for (int i = 0; i < nsp; i++) {
      in[i] = irnd(1, nsp == 3 ? 5 : 9);
      k[i] = irnd(1, 3); s[i] = irnd(1, 3); dl[i] = irnd(1, 2);
      pb[i] = irnd(0, 2); pe[i] = irnd(0, 2);
      int64_t keff = (k[i] - 1) * dl[i] + 1;
      if (in[i] + pb[i] + pe[i] < keff) ok = 0;
      else out[i] = (in[i] + pb[i] + pe[i] - keff) / s[i] + 1;
    }
    if (!ok) continue;
    fresh();
    int64_t xd[5] = {N, C}, wd[5] = {M, Cg}, od[5] = {N, M};
    for (int i = 0; i < nsp; i++) { xd[2 + i] = in[i]; wd[2 + i] = k[i]; od[2 + i] = out[i]; }
    int64_t nx = N * C, nw = M * Cg, no = N * M;
    for (int i = 0; i < nsp; i++) { nx *= in[i]; nw *= k[i]; no *= out[i]; }
    float *x = frand(nx), *w = frand(nw), *b = frand(M), *r = frand(no);
    int hasb = (int)irnd(0, 1), hasr = (int)irnd(0, 1);
    Act act = (Act)irnd(0, 3);
    Tensor *X = input("x", DT_FLOAT, 2 + nsp, xd);
    Tensor *R = hasr ? input("r", DT_FLOAT, 2 + nsp, od) : NULL;
    Tensor *W = ir_const(g, "w", DT_FLOAT, 2 + nsp, wd, w, 0);
    Tensor *B = hasb ? ir_const(g, "b", DT_FLOAT, 1, &M, b, 0) : NULL;
    Node *n = NODE(OP_CONV, 1, X, W, B, R);
    n->a.group = G;
    for (int i = 0; i < nsp; i++) {
      n->a.stride[i] = s[i]; n->a.dilation[i] = dl[i];
      n->a.pad_begin[i] = pb[i]; n->a.pad_end[i] = pe[i];
    }
    n->a.act = act;
    n->a.act_lo = -0.3; n->a.act_hi = 0.4; n->a.act_alpha = 0.125;
    ir_add_output(g, n->out[0]);
    const void *ins[2] = {x, r};
    float *y = run(ins);
    CU_ASSERT_PTR_NOT_NULL(y);
    if (y) {
      /* the direct formula, one output at a time; dims padded to 3-D */
      int64_t I[3] = {1, 1, 1}, O[3] = {1, 1, 1}, K[3] = {1, 1, 1}, S[3] = {1, 1, 1};
      int64_t L[3] = {1, 1, 1}, P[3] = {0, 0, 0};
      for (int i = 0; i < nsp; i++) {
        int j = 3 - nsp + i;
        I[j] = in[i]; O[j] = out[i]; K[j] = k[i]; S[j] = s[i]; L[j] = dl[i]; P[j] = pb[i];
      }
      double maxd = 0;
      int64_t o = 0;
      for (int64_t nb = 0; nb < N; nb++)
        for (int64_t m = 0; m < M; m++)
          for (int64_t a0 = 0; a0 < O[0]; a0++)
            for (int64_t a1 = 0; a1 < O[1]; a1++)
              for (int64_t a2 = 0; a2 < O[2]; a2++, o++) {
                double acc = hasb ? b[m] : 0;
                for (int64_t c = 0; c < Cg; c++)
                  for (int64_t k0 = 0; k0 < K[0]; k0++)
                    for (int64_t k1 = 0; k1 < K[1]; k1++)
                      for (int64_t k2 = 0; k2 < K[2]; k2++) {
                        int64_t z = a0 * S[0] - P[0] + k0 * L[0];
                        int64_t yy = a1 * S[1] - P[1] + k1 * L[1];
                        int64_t xx = a2 * S[2] - P[2] + k2 * L[2];
                        if (z < 0 || yy < 0 || xx < 0 || z >= I[0] || yy >= I[1] || xx >= I[2])
                          continue;
                        int64_t ci = (m / Mg) * Cg + c;
                        acc += (double)x[(((nb * C + ci) * I[0] + z) * I[1] + yy) * I[2] + xx] *
                               w[(((m * Cg + c) * K[0] + k0) * K[1] + k1) * K[2] + k2];
                      }
                if (hasr) acc += r[o];
                double want = act_ref(act, -0.3, 0.4, 0.125, acc);
                double dd = fabs(want - y[o]);
                if (dd > maxd) maxd = dd;
              }
      if (maxd > 1e-5) {
        bad++;
        printf("\n  conv trial %d (nsp %d, group %lld): max error %g\n", trial, nsp,
               (long long)G, maxd);
      }
      ran++;
    }
    free(y);
    free(x); free(w); free(b); free(r);
  }
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT(ran > 30);
}

/* ---- Gemm and MatMul ---------------------------------------------------- */

static void test_gemm_random(void) {
  static const int cshape[6][3] = {{-1, 0, 0}, {0, 0, 0}, {1, 0, 0}, {2, 1, 0}, {2, 0, 1}, {2, 0, 0}};
  int bad = 0;
  for (int trial = 0; trial < 36; trial++) {
    fresh();
    int64_t M = irnd(1, 6), N = irnd(1, 6), K = irnd(1, 7);
    int ta = (int)irnd(0, 1), tb = (int)irnd(0, 1), cs = trial % 6, hasr = (int)irnd(0, 1);
    double alpha = trial % 3 ? 0.5 : 1.0, beta = trial % 4 ? 2.0 : 1.0;
    Act act = (Act)irnd(0, 3);
    float *a = frand(M * K), *b = frand(K * N), *c = frand(M * N), *r = frand(M * N);
    Tensor *A = input("a", DT_FLOAT, 2, ta ? D(K, M) : D(M, K));
    Tensor *R = hasr ? input("r", DT_FLOAT, 2, D(M, N)) : NULL;
    Tensor *B = ir_const(g, "b", DT_FLOAT, 2, tb ? D(N, K) : D(K, N), b, 0);
    /* C: none, scalar, [N], [1,N], [M,1], [M,N] */
    int64_t cd[2];
    int crank = cshape[cs][0];
    if (cs == 2) cd[0] = N;
    if (cs == 3) { cd[0] = 1; cd[1] = N; }
    if (cs == 4) { cd[0] = M; cd[1] = 1; }
    if (cs == 5) { cd[0] = M; cd[1] = N; }
    Tensor *C = crank >= 0 ? ir_const(g, "c", DT_FLOAT, crank, cd, c, 0) : NULL;
    Node *n = NODE(OP_GEMM, 1, A, B, C, R);
    n->a.trans_a = ta; n->a.trans_b = tb; n->a.alpha = alpha; n->a.beta = beta;
    n->a.act = act; n->a.act_lo = -0.2; n->a.act_hi = 0.3; n->a.act_alpha = 0.25;
    ir_add_output(g, n->out[0]);
    const void *ins[2] = {a, r};
    float *y = run(ins);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    for (int64_t i = 0; i < M; i++)
      for (int64_t j = 0; j < N; j++) {
        double acc = 0;
        for (int64_t k = 0; k < K; k++)
          acc += (double)(ta ? a[k * M + i] : a[i * K + k]) * (tb ? b[j * K + k] : b[k * N + j]);
        acc *= alpha;
        if (cs == 1) acc += beta * c[0];
        if (cs == 2 || cs == 3) acc += beta * c[j];
        if (cs == 4) acc += beta * c[i];
        if (cs == 5) acc += beta * c[i * N + j];
        if (hasr) acc += r[i * N + j];
        acc = act_ref(act, -0.2, 0.3, 0.25, acc);
        if (fabs(acc - y[i * N + j]) > 1e-5) bad++;
      }
    free(y); free(a); free(b); free(c); free(r);
  }
  CU_ASSERT_EQUAL(bad, 0);
}

static void test_matmul(void) {
  struct { int ra; int64_t da[4]; int rb; int64_t db[4]; } mm[] = {
    {1, {3}, 1, {3}}, {1, {3}, 3, {2, 3, 4}}, {4, {2, 1, 5, 3}, 1, {3}},
    {3, {2, 5, 3}, 4, {4, 1, 3, 6}}, {2, {5, 3}, 2, {3, 6}}, {3, {1, 2, 3}, 2, {3, 2}},
  };
  for (size_t t = 0; t < sizeof mm / sizeof mm[0]; t++) {
    fresh();
    Tensor *A = input("a", DT_FLOAT, mm[t].ra, mm[t].da);
    Tensor *B = input("b", DT_FLOAT, mm[t].rb, mm[t].db);
    Node *n = NODE(OP_MATMUL, 1, A, B);
    ir_add_output(g, n->out[0]);
    float *a = frand(ir_numel(A)), *b = frand(ir_numel(B));
    const void *ins[2] = {a, b};
    float *y = run(ins);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    /* promote to rank 4: A [.., M, K], B [.., K, N], batch broadcast */
    int64_t ad[4] = {1, 1, 1, 1}, bd[4] = {1, 1, 1, 1};
    if (mm[t].ra == 1) ad[3] = mm[t].da[0];
    else for (int i = 0; i < mm[t].ra; i++) ad[4 - mm[t].ra + i] = mm[t].da[i];
    if (mm[t].rb == 1) bd[2] = mm[t].db[0];
    else for (int i = 0; i < mm[t].rb; i++) bd[4 - mm[t].rb + i] = mm[t].db[i];
    int64_t M = ad[2], K = ad[3], N = bd[3], o = 0;
    int bad = 0;
    for (int64_t p = 0; p < (ad[0] > bd[0] ? ad[0] : bd[0]); p++)
      for (int64_t q = 0; q < (ad[1] > bd[1] ? ad[1] : bd[1]); q++)
        for (int64_t i = 0; i < M; i++)
          for (int64_t j = 0; j < N; j++, o++) {
            int64_t pa = ad[0] == 1 ? 0 : p, qa = ad[1] == 1 ? 0 : q;
            int64_t pb = bd[0] == 1 ? 0 : p, qb = bd[1] == 1 ? 0 : q;
            double acc = 0;
            for (int64_t k = 0; k < K; k++)
              acc += (double)a[((pa * ad[1] + qa) * M + i) * K + k] *
                     b[((pb * bd[1] + qb) * K + k) * N + j];
            if (fabs(acc - y[o]) > 1e-5) bad++;
          }
    CU_ASSERT_EQUAL(o, ir_numel(g->outputs[0]));
    CU_ASSERT_EQUAL(bad, 0);
    free(y); free(a); free(b);
  }
  /* integers: exact, wrapping */
  fresh();
  Tensor *A = input("a", DT_INT64, 2, D(1, 2)), *B = input("b", DT_INT64, 2, D(2, 1));
  ir_add_output(g, NODE(OP_MATMUL, 1, A, B)->out[0]);
  int64_t av[2] = {INT64_MAX, 3}, bv[2] = {2, (int64_t)1 << 62};
  const void *ins[2] = {av, bv};
  int64_t *y = run(ins);
  CU_ASSERT_PTR_NOT_NULL_FATAL(y);
  CU_ASSERT_EQUAL((uint64_t)y[0], (uint64_t)INT64_MAX * 2u + 3u * ((uint64_t)1 << 62));
  free(y);
}

/* ---- integer arithmetic --------------------------------------------------- */

static void *binop(Op op, DType dt, int n, const void *a, const void *b) {
  fresh();
  Tensor *A = input("a", dt, 1, D(n)), *B = input("b", dt, 1, D(n));
  ir_add_output(g, NODE(op, 1, A, B)->out[0]);
  const void *ins[2] = {a, b};
  return run(ins);
}

static void test_integers(void) {
  int32_t a[6] = {7, -7, 7, -7, 5, INT32_MIN}, b[6] = {2, 2, -2, -2, 0, -1};
  int32_t *q = binop(OP_DIV, DT_INT32, 6, a, b);
  CU_ASSERT_PTR_NOT_NULL_FATAL(q);
  int32_t want[6] = {3, -3, -3, 3, 0, INT32_MIN};
  CU_ASSERT_EQUAL(memcmp(q, want, sizeof want), 0);
  free(q);

  int64_t la[2] = {INT64_MIN, 9}, lb[2] = {-1, 0};
  int64_t *lq = binop(OP_DIV, DT_INT64, 2, la, lb);
  CU_ASSERT_PTR_NOT_NULL_FATAL(lq);
  CU_ASSERT_EQUAL(lq[0], INT64_MIN);
  CU_ASSERT_EQUAL(lq[1], 0);
  free(lq);

  uint64_t ua[2] = {UINT64_MAX, 10}, ub[2] = {2, 3};
  uint64_t *uq = binop(OP_DIV, DT_UINT64, 2, ua, ub);
  CU_ASSERT_PTR_NOT_NULL_FATAL(uq);
  CU_ASSERT_EQUAL(uq[0], UINT64_MAX / 2);
  CU_ASSERT_EQUAL(uq[1], 3);
  free(uq);
  uq = binop(OP_MUL, DT_UINT64, 2, ua, ub);
  CU_ASSERT_EQUAL(uq[0], UINT64_MAX - 1);
  free(uq);

  int8_t ca[2] = {100, -100}, cb[2] = {100, -100};
  int8_t *cs = binop(OP_ADD, DT_INT8, 2, ca, cb);
  CU_ASSERT_PTR_NOT_NULL_FATAL(cs);
  CU_ASSERT_EQUAL(cs[0], -56);
  CU_ASSERT_EQUAL(cs[1], 56);
  free(cs);
  uint8_t ba[1] = {3}, bb[1] = {5};
  uint8_t *bs = binop(OP_SUB, DT_UINT8, 1, ba, bb);
  CU_ASSERT_EQUAL(bs[0], 254);
  free(bs);

  float fa[3] = {1, -1, 0}, fb[3] = {0, 0, 0};
  float *fq = binop(OP_DIV, DT_FLOAT, 3, fa, fb);
  CU_ASSERT_PTR_NOT_NULL_FATAL(fq);
  CU_ASSERT(isinf(fq[0]) && fq[0] > 0);
  CU_ASSERT(isinf(fq[1]) && fq[1] < 0);
  CU_ASSERT(isnan(fq[2]));
  free(fq);

  /* Sum of three with broadcasting, and integer Clip/Relu */
  fresh();
  Tensor *A = input("a", DT_INT16, 2, D(2, 1)), *B = input("b", DT_INT16, 1, D(3));
  Tensor *C = input("c", DT_INT16, 0, NULL);
  ir_add_output(g, NODE(OP_SUM, 1, A, B, C)->out[0]);
  int16_t av[2] = {10, 20}, bv[3] = {1, 2, 3}, cv[1] = {-100};
  const void *ins[3] = {av, bv, cv};
  int16_t *s = run(ins);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  int16_t sw[6] = {-89, -88, -87, -79, -78, -77};
  CU_ASSERT_EQUAL(memcmp(s, sw, sizeof sw), 0);
  free(s);

  fresh();
  A = input("a", DT_INT32, 1, D(4));
  int32_t lo = -2, hi = 3;
  Node *n = NODE(OP_CLIP, 1, A, ir_const(g, "lo", DT_INT32, 0, NULL, &lo, 0),
                 ir_const(g, "hi", DT_INT32, 0, NULL, &hi, 0));
  Node *rl = NODE(OP_RELU, 1, n->out[0]);
  ir_add_output(g, rl->out[0]);
  int32_t xv[4] = {-10, -1, 2, 10};
  const void *in1[1] = {xv};
  int32_t *cl = run(in1);
  CU_ASSERT_PTR_NOT_NULL_FATAL(cl);
  CU_ASSERT(cl[0] == 0 && cl[1] == 0 && cl[2] == 2 && cl[3] == 3);
  free(cl);
}

/* ---- Cast ---------------------------------------------------------------- */

static void *cast(DType from, DType to, int n, const void *x) {
  fresh();
  Tensor *X = input("x", from, 1, D(n));
  Node *c = NODE(OP_CAST, 1, X);
  c->a.to = to;
  ir_add_output(g, c->out[0]);
  const void *ins[1] = {x};
  return run(ins);
}

static void test_cast(void) {
  /* float64 -> float16; expected bits from numpy */
  double h[11] = {1 + 0x1p-11, 1 + 3 * 0x1p-11, 65504, 65520, 65519.99, 0x1p-24, 0x1p-25,
                  3 * 0x1p-26, 0x1p-25 * 1.0000001, -0.0, 1e-10};
  uint16_t hw[11] = {15360, 15362, 31743, 31744, 31743, 1, 0, 1, 1, 32768, 0};
  uint16_t *hb = cast(DT_DOUBLE, DT_FLOAT16, 11, h);
  CU_ASSERT_PTR_NOT_NULL_FATAL(hb);
  CU_ASSERT_EQUAL(memcmp(hb, hw, sizeof hw), 0);
  free(hb);
  /* float32 -> bfloat16; expected bits from PyTorch */
  float b[7] = {1 + 0x1p-8f, 1 + 3 * 0x1p-8f, 3.4e38f, 3.3961e38f, 1e-39f, -2.5f,
                1 + 0x1p-8f + 0x1p-20f};
  uint16_t bw[7] = {16256, 16258, 32640, 32639, 11, 49184, 16257};
  uint16_t *bb = cast(DT_FLOAT, DT_BFLOAT16, 7, b);
  CU_ASSERT_PTR_NOT_NULL_FATAL(bb);
  CU_ASSERT_EQUAL(memcmp(bb, bw, sizeof bw), 0);
  free(bb);
  /* NaN and Inf survive */
  float sp[3] = {NAN, INFINITY, -INFINITY};
  uint16_t *sh = cast(DT_FLOAT, DT_FLOAT16, 3, sp);
  CU_ASSERT((sh[0] & 0x7C00) == 0x7C00 && (sh[0] & 0x3FF) != 0);
  CU_ASSERT_EQUAL(sh[1], 0x7C00);
  CU_ASSERT_EQUAL(sh[2], 0xFC00);
  float *back = cast(DT_FLOAT16, DT_FLOAT, 3, sh);
  CU_ASSERT(isnan(back[0]) && back[1] == INFINITY && back[2] == -INFINITY);
  free(back);
  free(sh);
  uint16_t hx[2] = {0x3C01, 0x8001};
  float *hf = cast(DT_FLOAT16, DT_FLOAT, 2, hx);
  CU_ASSERT_EQUAL(hf[0], 1.0009765625f);
  CU_ASSERT_EQUAL(hf[1], -0x1p-24f);
  free(hf);
  /* float -> int: truncate, saturate, NaN -> 0 (no UB) */
  float fi[7] = {1e20f, -1e20f, NAN, 2.9f, -2.9f, 2147483647.0f, INFINITY};
  int32_t *iv = cast(DT_FLOAT, DT_INT32, 7, fi);
  int32_t iw[7] = {INT32_MAX, INT32_MIN, 0, 2, -2, INT32_MAX, INT32_MAX};
  CU_ASSERT_EQUAL(memcmp(iv, iw, sizeof iw), 0);
  free(iv);
  float fu[4] = {-3, 300, 255.9f, 1e30f};
  uint8_t *u8 = cast(DT_FLOAT, DT_UINT8, 4, fu);
  CU_ASSERT(u8[0] == 0 && u8[1] == 255 && u8[2] == 255 && u8[3] == 255);
  free(u8);
  uint64_t *u64 = cast(DT_FLOAT, DT_UINT64, 4, fu);
  CU_ASSERT(u64[0] == 0 && u64[1] == 300 && u64[3] == UINT64_MAX);
  free(u64);
  int64_t *i64 = cast(DT_FLOAT, DT_INT64, 4, fu);
  CU_ASSERT(i64[0] == -3 && i64[3] == INT64_MAX);
  free(i64);
  /* int64 -> float32 rounds once: 2^60 + 2^36 + 1 is above the midpoint */
  int64_t big[1] = {((int64_t)1 << 60) + ((int64_t)1 << 36) + 1};
  float *fb = cast(DT_INT64, DT_FLOAT, 1, big);
  CU_ASSERT_EQUAL(fb[0], 0x1p60f + 0x1p37f);
  free(fb);
  /* int -> int wraps; anything -> bool is != 0 */
  int32_t wr[2] = {300, -129};
  int8_t *w8 = cast(DT_INT32, DT_INT8, 2, wr);
  CU_ASSERT(w8[0] == 44 && w8[1] == 127);
  free(w8);
  float fz[4] = {0.0f, -0.0f, NAN, 2};
  uint8_t *bo = cast(DT_FLOAT, DT_BOOL, 4, fz);
  CU_ASSERT(bo[0] == 0 && bo[1] == 0 && bo[2] == 1 && bo[3] == 1);
  free(bo);
  uint8_t bl[2] = {0, 1};
  double *bd = cast(DT_BOOL, DT_DOUBLE, 2, bl);
  CU_ASSERT(bd[0] == 0 && bd[1] == 1);
  free(bd);
}

/* ---- Pad, Softmax ----------------------------------------------------------- */

static int32_t *pad1(PadMode m, int n, const int32_t *x, int64_t pb, int64_t pe, int32_t *val) {
  fresh();
  Tensor *X = input("x", DT_INT32, 1, D(n));
  Tensor *V = val ? ir_const(g, "v", DT_INT32, 0, NULL, val, 0) : NULL;
  Node *p = NODE(OP_PAD, 1, X, ir_const_i64(g, "p", 2, D(pb, pe)), V);
  p->a.pad_mode = m;
  ir_add_output(g, p->out[0]);
  const void *ins[1] = {x};
  return run(ins);
}

static void test_pad(void) {
  int32_t x[5] = {1, 2, 3, 4, 5};
  /* numpy.pad([1,2,3], (4,5), mode) */
  int32_t refl[12] = {1, 2, 3, 2, 1, 2, 3, 2, 1, 2, 3, 2};
  int32_t edge[12] = {1, 1, 1, 1, 1, 2, 3, 3, 3, 3, 3, 3};
  int32_t wrap[12] = {3, 1, 2, 3, 1, 2, 3, 1, 2, 3, 1, 2};
  int32_t cons[12] = {9, 9, 9, 9, 1, 2, 3, 9, 9, 9, 9, 9};
  int32_t nine = 9;
  int32_t *y = pad1(PM_REFLECT, 3, x, 4, 5, NULL);
  CU_ASSERT(y && !memcmp(y, refl, sizeof refl));
  free(y);
  y = pad1(PM_EDGE, 3, x, 4, 5, NULL);
  CU_ASSERT(y && !memcmp(y, edge, sizeof edge));
  free(y);
  y = pad1(PM_WRAP, 3, x, 4, 5, NULL);
  CU_ASSERT(y && !memcmp(y, wrap, sizeof wrap));
  free(y);
  y = pad1(PM_CONSTANT, 3, x, 4, 5, &nine);
  CU_ASSERT(y && !memcmp(y, cons, sizeof cons));
  free(y);
  /* negative pads crop */
  int32_t crop[6] = {2, 3, 4, 5, 5, 5};
  y = pad1(PM_EDGE, 5, x, -1, 2, NULL);
  CU_ASSERT(y && !memcmp(y, crop, sizeof crop));
  CU_ASSERT_EQUAL(ir_numel(g->outputs[0]), 6);
  free(y);
  /* 2-D reflect: numpy.pad(arange(1,7).reshape(2,3), ((1,2),(2,3)), 'reflect') */
  fresh();
  Tensor *X = input("x", DT_INT32, 2, D(2, 3));
  Node *p = NODE(OP_PAD, 1, X, ir_const_i64(g, "p", 4, D(1, 2, 2, 3)));
  p->a.pad_mode = PM_REFLECT;
  ir_add_output(g, p->out[0]);
  int32_t x2[6] = {1, 2, 3, 4, 5, 6};
  const void *ins[1] = {x2};
  y = run(ins);
  int32_t want[40] = {6, 5, 4, 5, 6, 5, 4, 5, 3, 2, 1, 2, 3, 2, 1, 2, 6, 5, 4, 5,
                      6, 5, 4, 5, 3, 2, 1, 2, 3, 2, 1, 2, 6, 5, 4, 5, 6, 5, 4, 5};
  CU_ASSERT(y && !memcmp(y, want, sizeof want));
  free(y);
}

static void test_softmax(void) {
  float x[24];
  for (int i = 0; i < 24; i++) x[i] = (float)(i % 7) * 0.5f - 1;
  for (int form = 0; form < 4; form++) {
    fresh();
    Tensor *X = input("x", DT_FLOAT, 3, D(2, 3, 4));
    Node *n = NODE(form < 2 ? OP_SOFTMAX : OP_LOGSOFTMAX, 1, X);
    n->a.axis = 1;
    n->a.softmax_2d = form % 2;
    ir_add_output(g, n->out[0]);
    const void *ins[1] = {x};
    float *y = run(ins);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    int bad = 0;
    for (int b = 0; b < 2; b++)
      for (int c = 0; c < 3; c++)
        for (int w = 0; w < 4; w++) {
          /* the 2-D form normalises over all 12 values of batch b, the
           * axis form over the 3 of (b, w) */
          double sum = 0;
          for (int c2 = 0; c2 < 3; c2++)
            for (int w2 = 0; w2 < 4; w2++)
              if (form % 2 || w2 == w) sum += exp(x[b * 12 + c2 * 4 + w2]);
          double v = x[b * 12 + c * 4 + w];
          double want = form < 2 ? exp(v) / sum : v - log(sum);
          bad += fabs(want - y[b * 12 + c * 4 + w]) > 1e-6;
        }
    CU_ASSERT_EQUAL(bad, 0);
    free(y);
  }
}

/* ---- eval_graph itself ----------------------------------------------------- */

static void test_graph_untouched_and_errors(void) {
  /* x -> Relu -> Gather(indices: input) -> y; plus Shape(x) as a 2nd output */
  fresh();
  Tensor *X = input("x", DT_FLOAT, 2, D(3, 2));
  Tensor *I = input("i", DT_INT64, 1, D(2));
  Node *r = NODE(OP_RELU, 1, X);
  Node *ga = NODE(OP_GATHER, 1, r->out[0], I);
  Node *sh = NODE(OP_SHAPE, 1, X);
  ir_add_output(g, ga->out[0]);
  ir_add_output(g, sh->out[0]);
  ir_add_output(g, X);
  ir_relink(g);
  IrTry t;
  if (ir_try_begin(&t)) { CU_FAIL("fold failed"); return; }
  shape_infer_and_fold(g, 0);
  ir_try_end(&t);
  CU_ASSERT_EQUAL(g->nnodes, 2);   /* Shape folded */
  int nn = g->nnodes, nt = g->ntensors;
  TensorKind kinds[16];
  void *datas[16];
  for (int i = 0; i < nt && i < 16; i++) { kinds[i] = g->tensors[i]->kind; datas[i] = g->tensors[i]->data; }
  float xv[6] = {-1, 2, 3, -4, 5, 6};
  int64_t iv[2] = {2, -3};
  const void *ins[2] = {xv, iv};
  void *out[3];
  if (ir_try_begin(&t)) { CU_FAIL("eval_graph failed"); return; }
  eval_graph(g, ins, out);
  ir_try_end(&t);
  float *y = out[0];
  CU_ASSERT(y[0] == 5 && y[1] == 6 && y[2] == 0 && y[3] == 2);
  int64_t *s = out[1];
  CU_ASSERT(s[0] == 3 && s[1] == 2);
  CU_ASSERT(out[2] != xv && !memcmp(out[2], xv, sizeof xv));
  for (int i = 0; i < 3; i++) free(out[i]);
  CU_ASSERT_EQUAL(g->nnodes, nn);
  CU_ASSERT_EQUAL(g->ntensors, nt);
  for (int i = 0; i < nt && i < 16; i++) {
    CU_ASSERT_EQUAL(g->tensors[i]->kind, kinds[i]);
    CU_ASSERT_PTR_EQUAL(g->tensors[i]->data, datas[i]);
  }
  /* a run-time index out of range: a clean failure, outputs NULL */
  iv[0] = 3;
  ir_quiet = 1;
  out[0] = out[1] = out[2] = (void *)1;
  int failed = 0;
  if (ir_try_begin(&t)) failed = 1;
  else { eval_graph(g, ins, out); ir_try_end(&t); }
  ir_quiet = 0;
  CU_ASSERT_EQUAL(failed, 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(t.msg, "index 3 is out of range for axis 0 of size 3"));
  CU_ASSERT_PTR_NOT_NULL(strstr(t.msg, "(Gather)"));
  CU_ASSERT(out[0] == NULL && out[1] == NULL && out[2] == NULL);
}

static void test_pools_small(void) {
  /* MaxPool on uint8 with pads, Indices row- and column-major, and an
   * AveragePool both ways on a 3x3 image of 1..9, kernel 2, pads 1 */
  uint8_t x[9] = {1, 2, 3, 4, 9, 6, 7, 8, 5};
  for (volatile int so = 0; so < 2; so++) {
    fresh();
    Tensor *X = input("x", DT_UINT8, 4, D(1, 1, 3, 3));
    Node *n = NODE(OP_MAXPOOL, 2, X);
    n->a.kernel[0] = n->a.kernel[1] = 2;
    n->a.pad_begin[0] = n->a.pad_begin[1] = n->a.pad_end[0] = n->a.pad_end[1] = 1;
    n->a.stride[0] = n->a.stride[1] = 2;
    n->a.storage_order = so;
    ir_add_output(g, n->out[0]);
    ir_add_output(g, n->out[1]);
    ir_relink(g);
    void *out[2];
    const void *ins[1] = {x};
    IrTry t;
    if (ir_try_begin(&t)) { CU_FAIL("maxpool failed"); return; }
    shape_infer_and_fold(g, 0);
    eval_graph(g, ins, out);
    ir_try_end(&t);
    uint8_t *y = out[0];
    int64_t *ix = out[1];
    /* windows: {1}, {2,3}, {4,7}, {9,6,8,5} */
    CU_ASSERT(y[0] == 1 && y[1] == 3 && y[2] == 7 && y[3] == 9);
    /* flat positions (row, col): (0,0) (0,2) (2,0) (1,1) */
    int64_t rm[4] = {0, 2, 6, 4}, cm[4] = {0, 6, 2, 4};
    CU_ASSERT_EQUAL(memcmp(ix, so ? cm : rm, sizeof rm), 0);
    free(out[0]);
    free(out[1]);
  }
  float xf[9] = {1, 2, 3, 4, 9, 6, 7, 8, 5};
  for (int cip = 0; cip < 2; cip++) {
    fresh();
    Tensor *X = input("x", DT_FLOAT, 4, D(1, 1, 3, 3));
    Node *n = NODE(OP_AVERAGEPOOL, 1, X);
    n->a.kernel[0] = n->a.kernel[1] = 2;
    n->a.pad_begin[0] = n->a.pad_begin[1] = n->a.pad_end[0] = n->a.pad_end[1] = 1;
    n->a.stride[0] = n->a.stride[1] = 2;
    n->a.count_include_pad = cip;
    ir_add_output(g, n->out[0]);
    const void *ins[1] = {xf};
    float *y = run(ins);
    CU_ASSERT_PTR_NOT_NULL_FATAL(y);
    float w0[4] = {1, 2.5f, 5.5f, 7}, w1[4] = {0.25f, 1.25f, 2.75f, 7};
    CU_ASSERT_EQUAL(memcmp(y, cip ? w1 : w0, sizeof w0), 0);
    free(y);
  }
}

/* Blocked activations (LAYOUT_NCHWC): the same graph run with a blocked
 * intermediate and a blocked output gives the same values, the output in
 * [N][C/b][H][W][b] with zero padding channels. */
static float *run_blocked(int blocked) {
  static float w[6 * 3 * 9], x[75];
  for (int i = 0; i < 162; i++) w[i] = (float)rnd();
  for (int i = 0; i < 75; i++) x[i] = (float)rnd();
  fresh();
  Tensor *X = input("x", DT_FLOAT, 4, D(1, 3, 5, 5));
  Node *c = NODE(OP_CONV, 1, X, ir_const(g, "w", DT_FLOAT, 4, D(6, 3, 3, 3), w, 0));
  c->a.pad_begin[0] = c->a.pad_begin[1] = c->a.pad_end[0] = c->a.pad_end[1] = 1;
  Node *r = NODE(OP_RELU, 1, c->out[0]);
  Node *a = NODE(OP_ADD, 1, r->out[0], c->out[0]);
  ir_add_output(g, a->out[0]);
  ir_relink(g);
  IrTry t;
  if (ir_try_begin(&t)) return NULL;
  shape_infer_and_fold(g, 0);
  if (blocked) {
    c->out[0]->layout = LAYOUT_NCHWC;
    c->out[0]->block = 4;
    a->out[0]->layout = LAYOUT_NCHWC;
    a->out[0]->block = 8;
  }
  const void *ins[1] = {x};
  void *out[1];
  eval_graph(g, ins, out);
  ir_try_end(&t);
  return out[0];
}

static void test_blocked_layout(void) {
  seed = 99;
  float *plain = run_blocked(0);
  seed = 99;
  float *y = run_blocked(1);
  CU_ASSERT_FATAL(plain && y);
  int bad = 0;
  for (int ch = 0; ch < 8; ch++)
    for (int p = 0; p < 25; p++) bad += y[p * 8 + ch] != (ch < 6 ? plain[ch * 25 + p] : 0.0f);
  CU_ASSERT_EQUAL(bad, 0);
  free(y);
  free(plain);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("eval", NULL, NULL);
  CU_add_test(s, "conv vs direct formula", test_conv_random);
  CU_add_test(s, "gemm vs direct formula", test_gemm_random);
  CU_add_test(s, "matmul", test_matmul);
  CU_add_test(s, "integer arithmetic", test_integers);
  CU_add_test(s, "cast", test_cast);
  CU_add_test(s, "pad", test_pad);
  CU_add_test(s, "softmax", test_softmax);
  CU_add_test(s, "pools", test_pools_small);
  CU_add_test(s, "eval_graph", test_graph_untouched_and_errors);
  CU_add_test(s, "blocked layout", test_blocked_layout);
  int r = rn_run_tests();
  if (g) ir_graph_free(g);
  return r;
}
