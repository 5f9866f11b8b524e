/*
 * fold_bn.c - BatchNormalization (and other per-channel affine maps)
 * folded into the weights of a neighbour.
 *
 * At inference BN is a per-channel affine map, y = x*s[c] + t[c] with
 *   s = gamma / sqrt(var + eps),  t = beta - mean*s        (in double),
 * and so are Mul, Div, Add and Sub by a constant that varies along the
 * channel axis (dim 1) only (Caffe2 exports BN as BN + Mul + Add).  An
 * affine map costs nothing when a linear op next to it absorbs it:
 *
 *  A. Conv -> affine (the conv's output read by it only, no epilogue yet):
 *       W'[o,...] = W[o,...]*s[o],  b'[o] = b[o]*s[o] + t[o]
 *     Gemm -> affine likewise per output column j of Y = alpha*A*B + beta*C:
 *       B'[.,j] = B[.,j]*s[j],  C'[.,j] = beta*C[.,j]*s[j] + t[j]
 *
 *  B. affine -> Conv (its output read only as in[0] of Convs, or as A of
 *     Gemms with transA = 0): conv(x*s + t) = conv_{W*s}(x) + sum W*t, so
 *       W'[o,i,...] = W[o,i,...]*s[c(o,i)],
 *       b'[o] = b[o] + sum_{i,k} W[o,i,k]*t[c(o,i)]
 *     with c(o,i) the input channel of group (o / (Cout/group)).  This is
 *     exact only when the conv pads nothing: a padded position reads 0
 *     where the original read the affine's output 0, i.e. x = -t/s, which a
 *     plain zero-padded conv cannot express.  Before a padded conv the map
 *     is therefore folded only when every t[c] is 0 (a pure scale);
 *     otherwise a BN is left to the fuse pass, which computes it in the
 *     epilogue of the Conv that produces its input (out[1], see
 *     Attrs.post_act in ir.h).  A BN that no Conv produces the input of
 *     (a graph input, a Concat, a pool) stays a node; fuse gives it the
 *     activation after it (Attrs.act).
 *
 *  C. affine -> affine (the first read by the second only): one map,
 *     s = s1*s2, t = t1*s2 + t2, written as a BatchNormalization
 *     (gamma = s, beta = t, mean = 0, var = 1, epsilon = 0), which A, B or
 *     the fuse pass may then take.
 *
 * New weights are new constants (a weight may be shared); the old ones are
 * swept when unused.  Only float32 weights and activations are rewritten.
 */
#include "passes.h"
#include "passutil.h"

#include <math.h>

#include <string.h>

typedef BnAffine Affine;

/* The per-channel constant c of an element-wise op on x (rank >= 2, C
 * channels), broadcast along dim 1 only: c's value for channel k, in v.
 * Returns 0 when c is not of that form. */
static int channel_const(const Tensor *c, const Tensor *x, double *v, int64_t C) {
  if (!ir_is_const(c) || !dtype_is_float(c->dtype) || c->rank > x->rank) return 0;
  int off = x->rank - c->rank, per_channel = 0;
  for (int d = 0; d < c->rank; d++) {
    if (c->dims[d] == 1) continue;
    if (off + d != 1 || c->dims[d] != C) return 0;
    per_channel = 1;
  }
  for (int64_t k = 0; k < C; k++) v[k] = ir_get_f64(c, per_channel ? k : 0);
  return 1;
}

/* The affine map of node n (BN, or Mul/Div/Add/Sub by a per-channel
 * constant), and the tensor it maps in *xp; 0 when n is not one. */
static int node_affine(Graph *g, const Node *n, Affine *a, Tensor **xp) {
  Tensor *y = n->nout ? n->out[0] : NULL;
  if (!y || y->dtype != DT_FLOAT || y->rank < 2) return 0;
  if (n->op == OP_BATCHNORM) {
    *xp = n->in[0];
    return n->a.act == ACT_NONE && pu_bn_affine(g, n, a);   /* y = act(bn(x)) is not affine */
  }
  if (n->op != OP_MUL && n->op != OP_DIV && n->op != OP_ADD && n->op != OP_SUB) return 0;
  int side = ir_is_const(n->in[0]) ? 1 : 0;        /* the operand that is x */
  Tensor *x = n->in[side], *c = n->in[1 - side];
  if (ir_is_const(x) || x->dtype != DT_FLOAT || !ir_same_shape(x, y)) return 0;
  if (side == 1 && n->op == OP_DIV) return 0;      /* c / x is not affine */
  int64_t C = y->dims[1];
  double *v = ir_alloc(g, sizeof(double) * (size_t)(C + 1));
  if (!channel_const(c, x, v, C)) return 0;
  a->c = C;
  a->s = ir_alloc(g, sizeof(double) * (size_t)(C + 1));
  a->t = ir_alloc(g, sizeof(double) * (size_t)(C + 1));
  a->mean = a->beta = NULL;
  for (int64_t k = 0; k < C; k++) {
    double s = 1, t = 0;
    switch (n->op) {
    case OP_MUL: s = v[k]; break;
    case OP_DIV: if (v[k] == 0) return 0; s = 1.0 / v[k]; break;
    case OP_ADD: t = v[k]; break;
    default: if (side == 0) t = -v[k]; else { s = -1; t = v[k]; } break;   /* SUB */
    }
    if (!isfinite(s) || !isfinite(t)) return 0;
    a->s[k] = s;
    a->t[k] = t;
  }
  *xp = x;
  return 1;
}

static int is_f32_const(const Tensor *t) { return ir_is_const(t) && t->dtype == DT_FLOAT; }

static float rd(const Tensor *t, int64_t i) {
  float f;
  memcpy(&f, (const char *)t->data + 4 * i, 4);
  return f;
}
static void wr(Tensor *t, int64_t i, double v) {
  float f = (float)v;
  memcpy((char *)t->data + 4 * i, &f, 4);
}

static Tensor *copy_f32(Graph *g, const Tensor *w, const char *suffix) {
  size_t ln = strlen(w->name), ls = strlen(suffix);
  int has = ln >= ls && strcmp(w->name + ln - ls, suffix) == 0;   /* no "_bn_bn" */
  Tensor *n = pu_const_f32(g, has ? w->name : ir_fmt(g, "%s%s", w->name, suffix), w->rank, w->dims);
  memcpy(n->data, w->data, (size_t)ir_bytes(w));
  return n;
}

/* ---- A: Conv -> BN ------------------------------------------------------ */

static int conv_plain(const Node *cv) {
  return cv->op == OP_CONV && cv->nout == 1 && (cv->nin < 4 || !cv->in[3]) &&
         cv->nin <= 4 && cv->a.act == ACT_NONE;
}

static int fold_into_conv_before(Graph *g, Node *cv, Node *bn, const Affine *a) {
  Tensor *w = cv->in[1], *b = cv->nin > 2 ? cv->in[2] : NULL;
  if (!is_f32_const(w) || (b && !is_f32_const(b)) || w->rank < 1 || w->dims[0] != a->c ||
      a->c <= 0)
    return 0;
  if (b && ir_numel(b) != a->c) return 0;
  Tensor *w2 = copy_f32(g, w, "_bn");
  int64_t per = ir_numel(w) / a->c;
  for (int64_t o = 0; o < a->c; o++)
    for (int64_t k = 0; k < per; k++) wr(w2, o * per + k, (double)rd(w, o * per + k) * a->s[o]);
  int64_t cd = a->c;
  Tensor *b2 = pu_const_f32(g, ir_fmt(g, "%s_bias", cv->out[0]->name), 1, &cd);
  for (int64_t o = 0; o < a->c; o++)
    wr(b2, o, (b ? (double)rd(b, o) : 0.0) * a->s[o] + a->t[o]);
  Tensor *in[3] = {cv->in[0], w2, b2};
  pu_set_inputs(g, cv, 3, in);
  Tensor *y = bn->out[0];
  pu_set_outputs(g, cv, 1, &y);
  bn->dead = 1;
  return 1;
}

/* Y = alpha*A*B + beta*C, Y [M,N]: column j scaled by s[j]. */
static int fold_into_gemm_before(Graph *g, Node *gm, Node *bn, const Affine *a) {
  Tensor *B = gm->in[1], *C = gm->nin > 2 ? gm->in[2] : NULL, *y = gm->out[0];
  if (gm->nout != 1 || (gm->nin > 3 && gm->in[3]) || gm->a.act != ACT_NONE) return 0;
  if (!is_f32_const(B) || B->rank != 2 || (C && !is_f32_const(C)) || y->rank != 2) return 0;
  int64_t M = y->dims[0], N = y->dims[1];
  if (N != a->c) return 0;
  int64_t K = gm->a.trans_b ? B->dims[1] : B->dims[0];
  if ((gm->a.trans_b ? B->dims[0] : B->dims[1]) != N) return 0;
  /* C broadcasts to [M,N] (unidirectionally); the result is [N] unless C
   * varies along M. */
  int rows = 0;
  if (C) {
    if (C->rank > 2) return 0;
    int64_t cm = C->rank == 2 ? C->dims[0] : 1, cn = C->rank >= 1 ? C->dims[C->rank - 1] : 1;
    if ((cm != 1 && cm != M) || (cn != 1 && cn != N)) return 0;
    rows = cm == M && M != 1;
  }
  Tensor *B2 = copy_f32(g, B, "_bn");
  for (int64_t k = 0; k < K; k++)
    for (int64_t j = 0; j < N; j++) {
      int64_t i = gm->a.trans_b ? j * K + k : k * N + j;
      wr(B2, i, (double)rd(B, i) * a->s[j]);
    }
  int64_t d2[2] = {M, N};
  Tensor *C2 = rows ? pu_const_f32(g, ir_fmt(g, "%s_bias", y->name), 2, d2)
                    : pu_const_f32(g, ir_fmt(g, "%s_bias", y->name), 1, &d2[1]);
  for (int64_t m = 0; m < (rows ? M : 1); m++)
    for (int64_t j = 0; j < N; j++) {
      double c = 0;
      if (C) {
        int64_t cm = C->rank == 2 ? C->dims[0] : 1, cn = C->rank >= 1 ? C->dims[C->rank - 1] : 1;
        c = rd(C, (cm == 1 ? 0 : m) * cn + (cn == 1 ? 0 : j));
      }
      wr(C2, m * N + j, gm->a.beta * c * a->s[j] + a->t[j]);
    }
  Tensor *in[3] = {gm->in[0], B2, C2};
  pu_set_inputs(g, gm, 3, in);
  gm->a.beta = 1.0;
  Tensor *out = bn->out[0];
  pu_set_outputs(g, gm, 1, &out);
  bn->dead = 1;
  return 1;
}

/* ---- B: BN -> Conv / Gemm ---------------------------------------------- */

static int pads_zero(const Node *cv) {
  const Attrs *a = &cv->a;
  if (a->nsp <= 0) return 0;     /* shape inference did not run: unknown */
  if (a->auto_pad == AP_SAME_UPPER || a->auto_pad == AP_SAME_LOWER) return 0;
  for (int i = 0; i < a->nsp; i++)
    if (a->pad_begin[i] || a->pad_end[i]) return 0;
  return 1;
}

static int shift_zero(const Affine *a) {
  for (int64_t c = 0; c < a->c; c++)
    if (a->t[c] != 0) return 0;
  return 1;
}

/* Can consumer n absorb the BN whose output is x?  0: no; 1: yes. */
static int can_absorb_after(const Node *n, const Tensor *x, const Affine *a) {
  for (int j = 1; j < n->nin; j++)
    if (n->in[j] == x) return 0;           /* x as a weight or residual */
  if (n->in[0] != x) return 0;
  if (n->op == OP_CONV) {
    if (n->nout != 1 || n->nin > 3) return 0;
    Tensor *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    if (!is_f32_const(w) || (b && !is_f32_const(b)) || w->rank < 2 || ir_numel(w) <= 0) return 0;
    if (x->dims[1] != a->c || w->dims[1] * n->a.group != a->c) return 0;
    if (b && ir_numel(b) != w->dims[0]) return 0;
    return pads_zero(n) || shift_zero(a);
  }
  if (n->op == OP_GEMM) {
    Tensor *B = n->in[1], *C = n->nin > 2 ? n->in[2] : NULL, *y = n->out[0];
    if (n->nout != 1 || n->nin > 3 || n->a.trans_a || x->rank != 2) return 0;
    if (!is_f32_const(B) || B->rank != 2 || (C && !is_f32_const(C)) || y->rank != 2) return 0;
    int64_t K = n->a.trans_b ? B->dims[1] : B->dims[0];
    if (K != a->c) return 0;
    if (C && (C->rank > 2 || (C->rank >= 1 && C->dims[C->rank - 1] != 1 &&
                              C->dims[C->rank - 1] != y->dims[1])))
      return 0;
    if (C && C->rank == 2 && C->dims[0] != 1 && C->dims[0] != y->dims[0]) return 0;
    return 1;
  }
  return 0;
}

static void absorb_conv_after(Graph *g, Node *cv, Tensor *src, const Affine *a) {
  Tensor *w = cv->in[1], *b = cv->nin > 2 ? cv->in[2] : NULL;
  int64_t cout = w->dims[0], cig = w->dims[1], grp = cv->a.group;
  int64_t per = ir_numel(w) / (cout * cig);   /* kernel taps */
  int64_t opg = cout / grp;
  Tensor *w2 = copy_f32(g, w, "_bn");
  Tensor *b2 = pu_const_f32(g, ir_fmt(g, "%s_bias", cv->out[0]->name), 1, &cout);
  for (int64_t o = 0; o < cout; o++) {
    double acc = b ? (double)rd(b, o) : 0.0;
    for (int64_t i = 0; i < cig; i++) {
      int64_t c = (o / opg) * cig + i;
      for (int64_t k = 0; k < per; k++) {
        int64_t idx = (o * cig + i) * per + k;
        double wv = rd(w, idx);
        acc += wv * a->t[c];
        wr(w2, idx, wv * a->s[c]);
      }
    }
    wr(b2, o, acc);
  }
  Tensor *in[3] = {src, w2, b2};
  pu_set_inputs(g, cv, 3, in);
}

/* Y = alpha*(A*s + t)*B + beta*C = alpha*A*(s.B) + (beta*C + alpha*t.B) */
static void absorb_gemm_after(Graph *g, Node *gm, Tensor *src, const Affine *a) {
  Tensor *B = gm->in[1], *C = gm->nin > 2 ? gm->in[2] : NULL, *y = gm->out[0];
  int64_t K = a->c, N = y->dims[1], M = y->dims[0];
  Tensor *B2 = copy_f32(g, B, "_bn");
  double *tb = ir_alloc(g, sizeof(double) * (size_t)(N + 1));
  for (int64_t k = 0; k < K; k++)
    for (int64_t j = 0; j < N; j++) {
      int64_t i = gm->a.trans_b ? j * K + k : k * N + j;
      double bv = rd(B, i);
      tb[j] += a->t[k] * bv;
      wr(B2, i, bv * a->s[k]);
    }
  int rows = C && C->rank == 2 && C->dims[0] == M && M != 1;
  int64_t d2[2] = {M, N};
  Tensor *C2 = rows ? pu_const_f32(g, ir_fmt(g, "%s_bias", y->name), 2, d2)
                    : pu_const_f32(g, ir_fmt(g, "%s_bias", y->name), 1, &d2[1]);
  for (int64_t m = 0; m < (rows ? M : 1); m++)
    for (int64_t j = 0; j < N; j++) {
      double c = 0;
      if (C) {
        int64_t cm = C->rank == 2 ? C->dims[0] : 1, cn = C->rank >= 1 ? C->dims[C->rank - 1] : 1;
        c = rd(C, (cm == 1 ? 0 : m) * cn + (cn == 1 ? 0 : j));
      }
      wr(C2, m * N + j, gm->a.beta * c + gm->a.alpha * tb[j]);
    }
  Tensor *in[3] = {src, B2, C2};
  pu_set_inputs(g, gm, 3, in);
  gm->a.beta = 1.0;
}

static int fold_into_after(Graph *g, Node *bn, Tensor *x, const Affine *a) {
  Tensor *y = bn->out[0];
  if (y->is_output || y->nconsumers == 0 || y->kind != TK_ACT) return 0;
  for (int i = 0; i < y->nconsumers; i++)
    if (!can_absorb_after(y->consumers[i], y, a)) return 0;
  for (int i = 0; i < y->nconsumers; i++) {
    Node *n = y->consumers[i];
    if (n->op == OP_CONV) absorb_conv_after(g, n, x, a);
    else absorb_gemm_after(g, n, x, a);
  }
  bn->dead = 1;
  return 1;
}

/* C: the affine n2 after the affine n1 (read by n2 only) becomes one BN
 * node in n1's place, writing n2's output. */
static void merge(Graph *g, Node *n1, const Affine *a1, Tensor *x1, Node *n2, const Affine *a2) {
  int64_t C = a1->c;
  Tensor *gm = pu_const_f32(g, ir_fmt(g, "%s_scale", n2->out[0]->name), 1, &C);
  Tensor *bt = pu_const_f32(g, ir_fmt(g, "%s_shift", n2->out[0]->name), 1, &C);
  Tensor *mn = pu_const_f32(g, ir_fmt(g, "%s_mean", n2->out[0]->name), 1, &C);
  Tensor *vr = pu_const_f32(g, ir_fmt(g, "%s_var", n2->out[0]->name), 1, &C);
  for (int64_t k = 0; k < C; k++) {
    wr(gm, k, a1->s[k] * a2->s[k]);
    wr(bt, k, a1->t[k] * a2->s[k] + a2->t[k]);
    wr(vr, k, 1.0);
  }
  Tensor *in[5] = {x1, gm, bt, mn, vr};
  n1->op = OP_BATCHNORM;
  ir_attrs_default(OP_BATCHNORM, &n1->a);
  n1->a.epsilon = 0;
  pu_set_inputs(g, n1, 5, in);
  Tensor *y = n2->out[0];
  pu_set_outputs(g, n1, 1, &y);
  n2->dead = 1;
}

/* Folds the affine node n where it can: 0 nothing done, 1 n went, 2 the
 * next map merged into n (look at n again). */
static int fold_node(Graph *g, Node *n, PassStats *st) {
  Affine a;
  Tensor *x;
  if (!node_affine(g, n, &a, &x)) return 0;
  Node *p = x->producer;
  if (p && !p->dead && pu_sole_consumer(x) == n) {
    int done = 0;
    if (conv_plain(p)) done = fold_into_conv_before(g, p, n, &a);
    else if (p->op == OP_GEMM) done = fold_into_gemm_before(g, p, n, &a);
    if (done) {
      pass_count(st, n->op == OP_BATCHNORM ? "folded into producer" : "affine into producer", 1);
      return 1;
    }
  }
  if (fold_into_after(g, n, x, &a)) {
    pass_count(st, n->op == OP_BATCHNORM ? "folded into consumer" : "affine into consumer", 1);
    return 1;
  }
  /* the next affine, if it reads n only, merges into n */
  Tensor *y = n->out[0];
  Node *q = pu_sole_consumer(y);
  Affine b;
  Tensor *qx;
  if (q && node_affine(g, q, &b, &qx) && qx == y && b.c == a.c) {
    merge(g, n, &a, x, q, &b);
    pass_count(st, "affine maps merged", 1);
    return 2;
  }
  return 0;
}

/* Mul/Add... alone stay what they are: only a BN, or a map that folds or
 * merges, is rewritten (fold_node returns 2 when the node it was offered
 * became another that may fold again: pu_rewrite offers it next round) */
void pass_fold_bn(Graph *g, PassStats *st) {
  pu_rewrite(g, fold_node, st);
}
