/*
 * fuse.c - epilogue fusion: what follows a Conv or Gemm is computed while
 * its result is still in registers, instead of in another pass over memory.
 *
 * The epilogue (ir.h, Attrs.act) is  y = act(conv(x) + bias + residual),
 * plus an optional second output  y2 = post_act(y*scale[c] + shift[c]).
 * One walk in execution order rewrites, at each node:
 *
 *   Add(p, r)       p = out of a Conv/Gemm with nothing fused yet, read by
 *                   this Add only: the Conv gets in[3] = r, writes the
 *                   Add's output, and moves to the Add's place when r is
 *                   computed after it (so r is written before it is read).
 *                   r must have the output's shape, or (Conv) be an
 *                   option-A shortcut: a chain of Slice (spatial, positive
 *                   steps) and Pad (channels, zeros) of a tensor R, read in
 *                   place through Attrs.res_view, never materialised.
 *                   Add(p, c) with c a constant bias (per channel for Conv,
 *                   broadcast to [M,N] for Gemm) goes into the bias.
 *   Relu/Clip/LeakyRelu of such an output: Attrs.act (after the residual);
 *                   also of a BatchNormalization left standalone.
 *   BatchNormalization of a Conv output that fold_bn could not fold (its
 *                   input has other readers: a residual sum in a
 *                   pre-activation network): the Conv writes the BN result
 *                   as a second output (in[4] scale, in[5] shift), and an
 *                   activation of that output becomes Attrs.post_act
 *                   (also when it was fused into the standalone BN in an
 *                   earlier round, before the Conv became the BN's
 *                   producer: the order of rewrites must not matter).
 *   Flatten(axis 1) or Reshape to [d0, rest], read as A by a Gemm with
 *                   transA = 0: the Gemm reads the source directly (same
 *                   bytes; GlobalAveragePool -> Flatten -> Gemm becomes
 *                   GlobalAveragePool -> Gemm).
 *   MatMul of two matrices: a Gemm (then the rules above apply).
 *
 * Every fused intermediate was read by one node only and was no graph
 * output, so nothing else could see it.
 */
#include "passes.h"
#include "passutil.h"

#include <math.h>
#include <string.h>

static int is_host(const Node *p) { return p && (p->op == OP_CONV || p->op == OP_GEMM) && !p->dead; }

/* A host whose epilogue is still empty: act, residual, post output. */
static int host_plain(const Node *p) {
  return is_host(p) && p->nout == 1 && p->a.act == ACT_NONE && (p->nin < 4 || !p->in[3]) &&
         p->nin <= 4;
}

static int pos_of(Graph *g, const Node *n) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i] == n) return i;
  return -1;
}

/* n's output replaces out[k] of p; n goes. */
static void take_output(Graph *g, Node *p, int k, Node *n) {
  Tensor *outs[2];
  for (int j = 0; j < p->nout; j++) outs[j] = p->out[j];
  outs[k] = n->out[0];
  pu_set_outputs(g, p, p->nout, outs);
  n->dead = 1;
}

/* Input array of a host extended to at least nin slots (NULL filled). */
static void host_grow(Graph *g, Node *p, int nin) {
  if (p->nin >= nin) return;
  Tensor *in[6] = {0};
  for (int j = 0; j < p->nin; j++) in[j] = p->in[j];
  pu_set_inputs(g, p, nin, in);
}

/* ---- activations -------------------------------------------------------- */

/* The act of an activation node, 0 when it is not one we fuse. */
static int act_of(const Node *n, Act *act, double *lo, double *hi, double *alpha) {
  *lo = -INFINITY;
  *hi = INFINITY;
  *alpha = 0;
  switch (n->op) {
  case OP_RELU: *act = ACT_RELU; return 1;
  case OP_LEAKYRELU: *act = ACT_LEAKYRELU; *alpha = n->a.alpha; return 1;
  case OP_CLIP:
    for (int j = 1; j < n->nin && j < 3; j++) {
      const Tensor *b = n->in[j];
      if (!b) continue;
      if (!ir_is_const(b) || ir_numel(b) != 1 || !dtype_is_float(b->dtype)) return 0;
      if (j == 1) *lo = ir_get_f64(b, 0); else *hi = ir_get_f64(b, 0);
    }
    /* Clip is min(max(x, lo), hi): with lo > hi everything is hi, which
     * the epilogue's "x < lo ? lo : x > hi ? hi : x" gives for lo = hi */
    if (*lo > *hi) *lo = *hi;
    *act = ACT_CLIP;
    return 1;
  default: return 0;
  }
}

static int fuse_act(Graph *g, Node *n, PassStats *st) {
  Act act;
  double lo, hi, alpha;
  if (!act_of(n, &act, &lo, &hi, &alpha)) return 0;
  Tensor *x = n->in[0];
  Node *p = x->producer;
  if (!p || p->dead || pu_sole_consumer(x) != n || x->dtype != n->out[0]->dtype) return 0;
  if (p->op == OP_BATCHNORM && p->a.act == ACT_NONE) {
    /* a BN left standalone (its input comes from a Concat, a pool...):
     * at least the activation rides along */
    p->a.act = act;
    p->a.act_lo = lo;
    p->a.act_hi = hi;
    p->a.act_alpha = alpha;
    take_output(g, p, 0, n);
    pass_count(st, "activations", 1);
    return 1;
  }
  if (!is_host(p)) return 0;
  if (p->out[0] == x && p->nout == 1 && p->a.act == ACT_NONE) {
    p->a.act = act;
    p->a.act_lo = lo;
    p->a.act_hi = hi;
    p->a.act_alpha = alpha;
    take_output(g, p, 0, n);
    pass_count(st, "activations", 1);
    return 1;
  }
  if (p->nout == 2 && p->out[1] == x && p->a.post_act == ACT_NONE) {
    p->a.post_act = act;
    p->a.post_lo = lo;
    p->a.post_hi = hi;
    p->a.post_alpha = alpha;
    take_output(g, p, 1, n);
    pass_count(st, "activations", 1);
    return 1;
  }
  return 0;
}

/* ---- residual add ------------------------------------------------------- */

/* The option-A view of r: follows Slice/Pad nodes back from r to the
 * tensor they read, composing them into res_* fields of *a.  Returns the
 * source R, or NULL when the chain is not of that form.  The chain's
 * nodes are collected in chain[] (at most 8). */
static Tensor *option_a_source(Tensor *r, const Tensor *y, Attrs *a, Node **chain, int *nchain) {
  int rank = y->rank, nsp = rank - 2;
  if (rank < 3 || nsp > IR_MAX_SP || r->rank != rank || !ir_same_shape(r, y)) return NULL;
  /* walk back to the source, recording the nodes source-first */
  Node *nodes[8];
  int k = 0;
  Tensor *t = r;
  while (t->producer && (t->producer->op == OP_SLICE || t->producer->op == OP_PAD) && k < 8) {
    if (!pu_single_use(t)) break;
    nodes[k++] = t->producer;
    t = t->producer->in[0];
  }
  if (k == 0) return NULL;
  Tensor *src = t;
  if (src->rank != rank || src->dtype != y->dtype || src->layout != LAYOUT_PLAIN) return NULL;
  int64_t start[IR_MAX_SP], step[IR_MAX_SP], c0 = 0;
  for (int i = 0; i < nsp; i++) { start[i] = 0; step[i] = 1; }
  for (int q = k - 1; q >= 0; q--) {       /* source to r */
    Node *n = nodes[q];
    Tensor *in = n->in[0], *out = n->out[0];
    if (in->dims[0] != out->dims[0]) return NULL;          /* batch untouched */
    if (n->op == OP_PAD) {
      if (n->a.pad_mode != PM_CONSTANT) return NULL;
      if (n->nin > 2 && n->in[2] && !pu_const_zero(n->in[2])) return NULL;
      if (n->nin > 3 && n->in[3]) return NULL;               /* axes: keep it simple */
      Tensor *pads = n->nin > 1 ? n->in[1] : NULL;
      if (pads && (!ir_is_const(pads) || ir_numel(pads) != 2 * rank)) return NULL;
      for (int d = 0; d < rank && pads; d++) {
        int64_t b = ir_get_i64(pads, d), e = ir_get_i64(pads, rank + d);
        if (d == 1) {
          if (b < 0 || e < 0) return NULL;
          c0 += b;
        } else if (b || e) {
          return NULL;
        }
      }
      continue;
    }
    /* Slice(data, starts, ends, axes, steps) on spatial axes */
    if (in->dims[1] != out->dims[1]) return NULL;
    Tensor *st = n->in[1], *ax = n->nin > 3 ? n->in[3] : NULL, *sp = n->nin > 4 ? n->in[4] : NULL;
    if (!ir_is_const(st) || (ax && !ir_is_const(ax)) || (sp && !ir_is_const(sp))) return NULL;
    int64_t m = ir_numel(st);
    if ((ax && ir_numel(ax) != m) || (sp && ir_numel(sp) != m)) return NULL;
    int touched[IR_MAX_RANK] = {0};
    for (int64_t j = 0; j < m; j++) {
      int64_t axis = ax ? ir_get_i64(ax, j) : j;
      if (axis < 0) axis += rank;
      if (axis < 0 || axis >= rank || touched[axis]) return NULL;   /* axes repeat: refuse */
      int64_t s = ir_get_i64(st, j), stp = sp ? ir_get_i64(sp, j) : 1;
      int64_t dim = in->dims[axis];
      if (stp <= 0) return NULL;
      if (axis < 2) {
        /* a batch/channel "slice" that keeps everything is harmless */
        if (out->dims[axis] == dim && (s == 0 || s <= -dim) && stp == 1) {
          touched[axis] = 1;
          continue;
        }
        return NULL;
      }
      if (s < 0) s += dim;
      if (s < 0) s = 0;
      if (s > dim) s = dim;
      int i = (int)axis - 2;
      int64_t off = ir_mul_checked(s, step[i]), nstep = ir_mul_checked(stp, step[i]);
      if (off < 0 || nstep < 0 || start[i] > INT64_MAX - off) return NULL;   /* overflow */
      start[i] += off;
      step[i] = nstep;
      touched[axis] = 1;
    }
    for (int d = 2; d < rank; d++)
      if (!touched[d] && in->dims[d] != out->dims[d]) return NULL;
  }
  /* every spatial index read is inside src (Slice semantics promise it;
   * checked, since a wrong view reads out of bounds) */
  for (int i = 0; i < nsp; i++) {
    if (y->dims[2 + i] <= 0) continue;
    int64_t span = ir_mul_checked(y->dims[2 + i] - 1, step[i]);
    if (span < 0 || start[i] < 0 || start[i] >= src->dims[2 + i] || span >= src->dims[2 + i] - start[i])
      return NULL;
  }
  if (c0 < 0 || c0 + src->dims[1] > y->dims[1]) return NULL;
  a->res_view = 1;
  a->res_c0 = c0;
  for (int i = 0; i < IR_MAX_SP; i++) {
    a->res_start[i] = i < nsp ? start[i] : 0;
    a->res_step[i] = i < nsp ? step[i] : 1;
  }
  for (int q = 0; q < k; q++) chain[q] = nodes[q];
  *nchain = k;
  return src;
}

/* Conv + per-channel constant, Gemm + constant broadcast to [M,N]: into
 * the bias.  c is the constant operand, y the host's output. */
static int fuse_bias(Graph *g, Node *p, Node *add, Tensor *c) {
  Tensor *y = p->out[0], *z = add->out[0];
  if (c->dtype != DT_FLOAT || !ir_same_shape(y, z) || c->rank > y->rank) return 0;
  /* c's dims, right-aligned against y's */
  int off = y->rank - c->rank;
  for (int d = 0; d < c->rank; d++)
    if (c->dims[d] != 1 && c->dims[d] != y->dims[off + d]) return 0;
  if (p->op == OP_CONV) {
    Tensor *w = p->in[1], *b = p->nin > 2 ? p->in[2] : NULL;
    if (y->rank < 2 || (b && (b->dtype != DT_FLOAT || !ir_is_const(b)))) return 0;
    for (int d = 0; d < c->rank; d++)
      if (off + d != 1 && c->dims[d] != 1) return 0;       /* per channel only */
    int64_t C = y->dims[1];
    if (w->rank < 1 || w->dims[0] != C) return 0;
    /* c varies along the channels, or is one value for all */
    int chan_bcast = !(off <= 1 && c->dims[1 - off] == C && C != 1);
    Tensor *b2 = pu_const_f32(g, ir_fmt(g, "%s_bias", z->name), 1, &C);
    for (int64_t o = 0; o < C; o++) {
      double v = (b ? ir_get_f64(b, o) : 0.0) + ir_get_f64(c, chan_bcast ? 0 : o);
      float f = (float)v;
      memcpy((char *)b2->data + 4 * o, &f, 4);
    }
    host_grow(g, p, 3);
    p->in[2] = b2;
  } else {
    if (y->rank != 2) return 0;
    Tensor *C0 = p->nin > 2 ? p->in[2] : NULL;
    if (C0 && (C0->dtype != DT_FLOAT || !ir_is_const(C0) || C0->rank > 2)) return 0;
    int64_t M = y->dims[0], N = y->dims[1];
    /* the sum broadcasts like [M or 1, N or 1]; keep it [M,N] to be plain */
    int64_t d2[2] = {M, N};
    Tensor *c2 = pu_const_f32(g, ir_fmt(g, "%s_bias", z->name), 2, d2);
    for (int64_t m = 0; m < M; m++)
      for (int64_t j = 0; j < N; j++) {
        double v = 0;
        const Tensor *ts[2] = {C0, c};
        for (int q = 0; q < 2; q++) {
          const Tensor *t = ts[q];
          if (!t) continue;
          int64_t tm = t->rank == 2 ? t->dims[0] : 1, tn = t->rank >= 1 ? t->dims[t->rank - 1] : 1;
          double e = ir_get_f64(t, (tm == 1 ? 0 : m) * tn + (tn == 1 ? 0 : j));
          v += q == 0 ? p->a.beta * e : e;
        }
        float f = (float)v;
        memcpy((char *)c2->data + 4 * (m * N + j), &f, 4);
      }
    host_grow(g, p, 3);
    p->in[2] = c2;
    p->a.beta = 1.0;
  }
  take_output(g, p, 0, add);
  return 1;
}

static int fuse_add(Graph *g, Node *add, PassStats *st) {
  Tensor *z = add->out[0];
  if (!dtype_is_float(z->dtype)) return 0;
  for (int side = 0; side < 2; side++) {
    Tensor *u = add->in[side], *r = add->in[1 - side];
    Node *p = u->producer;
    if (!host_plain(p) || p->out[0] != u || pu_sole_consumer(u) != add) continue;
    if (!ir_same_shape(u, z) || u->dtype != z->dtype) continue;
    if (ir_is_const(r) && !ir_same_shape(r, z)) {
      if (fuse_bias(g, p, add, r)) {
        pass_count(st, "biases", 1);
        return 1;
      }
      continue;
    }
    Attrs va;
    memset(&va, 0, sizeof va);
    Node *chain[8];
    int nchain = 0;
    Tensor *res = NULL;
    if (ir_same_shape(r, z) && r->dtype == z->dtype) {
      res = r;
      if (p->op == OP_CONV) {
        Tensor *src = option_a_source(r, z, &va, chain, &nchain);
        if (src) res = src;
      }
    }
    if (!res) continue;
    /* the host must run after the residual is written */
    int pp = pos_of(g, p), pa = pos_of(g, add);
    int pr = res->producer ? pos_of(g, res->producer) : -1;
    if (nchain) {
      p->a.res_view = va.res_view;
      p->a.res_c0 = va.res_c0;
      memcpy(p->a.res_start, va.res_start, sizeof va.res_start);
      memcpy(p->a.res_step, va.res_step, sizeof va.res_step);
      for (int q = 0; q < nchain; q++) chain[q]->dead = 1;
      pass_count(st, "option-A shortcuts", 1);
    }
    host_grow(g, p, 4);
    p->in[3] = res;
    take_output(g, p, 0, add);
    if (pr > pp) pu_move_node(g, p, pa);
    pass_count(st, "residual adds", 1);
    return 1;
  }
  return 0;
}

/* ---- BatchNorm on a conv output read elsewhere too ---------------------- */

static int fuse_bn_post(Graph *g, Node *bn, PassStats *st) {
  Tensor *x = bn->in[0];
  Node *p = x->producer;
  if (!p || p->dead || p->op != OP_CONV || p->nout != 1 || p->out[0] != x || p->nin > 4) return 0;
  if (x->rank < 2 || x->layout != LAYOUT_PLAIN || x->dtype != DT_FLOAT) return 0;
  BnAffine a;
  if (!pu_bn_affine(g, bn, &a)) return 0;
  Tensor *sc = pu_const_f32(g, ir_fmt(g, "%s_scale", bn->out[0]->name), 1, &a.c);
  Tensor *sh = pu_const_f32(g, ir_fmt(g, "%s_shift", bn->out[0]->name), 1, &a.c);
  for (int64_t c = 0; c < a.c; c++) {
    float s = (float)a.s[c], t = (float)a.t[c];
    memcpy((char *)sc->data + 4 * c, &s, 4);
    memcpy((char *)sh->data + 4 * c, &t, 4);
  }
  host_grow(g, p, 6);
  p->in[4] = sc;
  p->in[5] = sh;
  /* an activation fused into the BN first (its Relu was reached before
   * the Conv became its producer) moves along into post_act */
  p->a.post_act = bn->a.act;
  p->a.post_lo = bn->a.act_lo;
  p->a.post_hi = bn->a.act_hi;
  p->a.post_alpha = bn->a.act_alpha;
  Tensor *outs[2] = {x, bn->out[0]};
  pu_set_outputs(g, p, 2, outs);
  bn->dead = 1;
  pass_count(st, "batchnorm epilogues", 1);
  return 1;
}

/* ---- Flatten -> Gemm, MatMul -> Gemm ------------------------------------ */

static int fuse_flatten_gemm(Graph *g, Node *v, PassStats *st) {
  Tensor *x = v->in[0], *y = v->out[0];
  Node *gm = pu_sole_consumer(y);
  if (!gm || gm->op != OP_GEMM || gm->in[0] != y || gm->a.trans_a) return 0;
  if (x->rank < 2 || y->rank != 2 || x->layout != LAYOUT_PLAIN || x->dtype != y->dtype) return 0;
  if (v->op == OP_FLATTEN && v->a.axis != 1) return 0;
  if (y->dims[0] != x->dims[0] || ir_numel(x) != ir_numel(y)) return 0;
  gm->in[0] = x;
  v->dead = 1;
  pass_count(st, "flatten into gemm", 1);
  return 1;
}

static int matmul_to_gemm(Node *n, PassStats *st) {
  if (n->in[0]->rank != 2 || n->in[1]->rank != 2 || n->out[0]->rank != 2) return 0;
  if (!dtype_is_float(n->out[0]->dtype)) return 0;
  n->op = OP_GEMM;
  ir_attrs_default(OP_GEMM, &n->a);
  pass_count(st, "matmul to gemm", 1);
  return 1;
}

static int fuse_one(Graph *g, Node *n, PassStats *st) {
  switch (n->op) {
  case OP_ADD: return fuse_add(g, n, st);
  case OP_RELU: case OP_CLIP: case OP_LEAKYRELU: return fuse_act(g, n, st);
  case OP_BATCHNORM: return fuse_bn_post(g, n, st);
  case OP_FLATTEN: case OP_RESHAPE: return fuse_flatten_gemm(g, n, st);
  case OP_MATMUL: return matmul_to_gemm(n, st);
  default: return 0;
  }
}

void pass_fuse(Graph *g, PassStats *st) {
  pu_rewrite(g, fuse_one, st);
}
