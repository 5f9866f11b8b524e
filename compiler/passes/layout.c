/*
 * layout.c - the layout pass: channel-blocked activations (NCHW16c) for the
 * fast kernels of compiler/kernels.h.
 *
 * A tensor of layout LAYOUT_NCHWC, block 16, holds [N=1][ceil(C/16)][H][W][16]
 * floats, the channels past C zero.  The layout is physical only: values,
 * shapes and the reference evaluator are unchanged, and a layout change is
 * an Identity node between two tensors of different layouts (a copy the
 * emitter lowers to a reorder kernel).
 *
 * Method, in execution order:
 *  1. Every Conv the blocked kernel handles (2-D, group 1, dilation 1, one
 *     output, batch 1, float, constant weights and bias) writes a blocked
 *     tensor, unless its channels would grow by more than half when padded
 *     to the block (3 -> 16: the memory, not the speed, decides there).  It reads its input in either layout: blocked, or plain NCHW
 *     as input blocks of one channel (the stem reads the network input
 *     directly, no reorder).  Its residual must be blocked.
 *  2. Layers that work on any channel-blocked tensor follow their input:
 *     MaxPool, AveragePool, the global pools, Relu/Clip/LeakyRelu/Sigmoid/
 *     HardSigmoid/HardSwish, and Add/Sub/Mul/Sum of same-shape operands
 *     (no broadcast; not Div, which would compute 0/0 in the pad channels).
 *     They run blocked when all their image inputs are blocked.
 *  3. Everything else reads plain tensors: an Identity converting a blocked
 *     tensor to plain is inserted once, after its producer, and shared by
 *     all plain readers.  Not for the A of a Gemm (transA 0) reading a
 *     blocked [1,C,1,1] (the global pool before the classifier): its first
 *     C floats are the plain tensor (ir_plain_prefix), so a ResNet needs
 *     no reorder at all.  A graph
 *     output stays plain: its producer writes a blocked copy and an
 *     Identity fills the output.
 * The pad channels of a blocked tensor are zero at a conv's input (weights
 * and bias are zero-padded, Relu/Add keep zeros); layers in 2 may leave
 * other finite values there, which every kernel ignores (the conv weights
 * of pad channels are zero).
 *
 * The pass runs at -O2 after fusion and before the memory planner, which
 * sizes blocked tensors with their padding (plan_tensor_bytes).
 */
#include "passes.h"
#include "passutil.h"

#include <string.h>

#define BLOCK 16   /* kernels.h KERN_BLOCK: the same block for every ISA */

/* A float image of batch 1 that lives in memory (not a constant). */
static int image(const Tensor *t) {
  if (!t || t->kind == TK_CONST || t->rank != 4 || t->dtype != DT_FLOAT || t->dims[0] != 1) return 0;
  for (int i = 1; i < 4; i++)
    if (t->dims[i] < 1 || t->dims[i] > (1 << 24)) return 0;
  return 1;
}

static int const_float(const Tensor *t, int64_t n) {
  return t && t->kind == TK_CONST && t->dtype == DT_FLOAT && t->data && (n < 0 || ir_numel(t) == n);
}

/* Is padding c channels to the block cheap enough (at most half again)?
 * Few channels would multiply the activation memory (3 -> 16). */
static int worth_blocking(int64_t c) { return (c + BLOCK - 1) / BLOCK * BLOCK * 2 <= 3 * c; }

/* Does the blocked direct convolution handle Conv node n? */
static int conv_ok(const Node *n) {
  const Tensor *x = n->in[0], *w = n->in[1], *y = n->out[0];
  if (n->op != OP_CONV || n->nout != 1 || n->a.nsp != 2 || n->a.group != 1) return 0;
  if (!image(y) || !worth_blocking(y->dims[1])) return 0;
  if (n->a.dilation[0] != 1 || n->a.dilation[1] != 1) return 0;
  if (!image(x) || !image(y) || !const_float(w, -1) || w->rank != 4) return 0;
  if (w->dims[0] != y->dims[1] || w->dims[1] != x->dims[1]) return 0;
  if (n->nin > 2 && n->in[2] && !const_float(n->in[2], y->dims[1])) return 0;
  if (n->nin > 4 && (n->in[4] || (n->nin > 5 && n->in[5]))) return 0;   /* second output */
  for (int i = 0; i < 2; i++)
    if (n->a.kernel[i] < 1 || n->a.stride[i] < 1 || n->a.pad_begin[i] < 0 || n->a.pad_begin[i] > 4096)
      return 0;
  if (n->nin > 3 && n->in[3]) {
    const Tensor *r = n->in[3];
    if (!image(r)) return 0;
    if (!n->a.res_view && !ir_same_shape(r, y)) return 0;
  }
  return 1;
}

/* Layers that run on blocked tensors when their image inputs are blocked. */
static int follows(const Node *n) {
  switch (n->op) {
  case OP_MAXPOOL: case OP_AVERAGEPOOL:
    return n->nout == 1 && n->a.nsp == 2 && n->a.dilation[0] == 1 && n->a.dilation[1] == 1 &&
           image(n->in[0]) && image(n->out[0]);
  case OP_GLOBALAVERAGEPOOL: case OP_GLOBALMAXPOOL:
    return image(n->in[0]) && image(n->out[0]);
  case OP_RELU: case OP_LEAKYRELU: case OP_SIGMOID: case OP_HARDSIGMOID: case OP_HARDSWISH:
    return image(n->in[0]) && image(n->out[0]);
  case OP_CLIP:
    if (!image(n->in[0]) || !image(n->out[0])) return 0;
    for (int j = 1; j < n->nin; j++)
      if (n->in[j] && (n->in[j]->kind != TK_CONST || ir_numel(n->in[j]) != 1)) return 0;
    return 1;
  case OP_ADD: case OP_SUB: case OP_MUL: case OP_SUM:
    if (!image(n->out[0])) return 0;
    for (int j = 0; j < n->nin; j++)
      if (!image(n->in[j]) || !ir_same_shape(n->in[j], n->out[0])) return 0;
    return 1;
  default:
    return 0;
  }
}

static int blocked(const Tensor *t) { return t && t->layout == LAYOUT_NCHWC; }

static void set_blocked(Tensor *t) {
  t->layout = LAYOUT_NCHWC;
  t->block = BLOCK;
}

/* Inserts y = Identity(x) right after x's producer (first when x has none). */
static Node *insert_copy(Graph *g, Tensor *x, Tensor *y) {
  Tensor *in[1] = {x}, *out[1] = {y};
  Node *n = ir_node(g, OP_IDENTITY, ir_unique_name(g, "reorder"), 1, in, 1, out);
  ir_attrs_default(OP_IDENTITY, &n->a);
  int pos = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (x->producer && g->nodes[i] == x->producer) pos = i + 1;
  pu_move_node(g, n, pos);
  return n;
}

/* The copy of t in the other layout, made once (cache[t->id]). */
static Tensor *converted(Graph *g, Tensor *t, Tensor **cache) {
  if (cache[t->id]) return cache[t->id];
  Tensor *c = ir_tensor(g, ir_unique_name(g, ir_fmt(g, "%s%s", t->name, blocked(t) ? "_nchw" : "_nchw16c")),
                        t->dtype, t->rank, t->dims);
  if (!blocked(t)) set_blocked(c);
  insert_copy(g, t, c);
  cache[t->id] = c;
  return c;
}

void pass_layout(Graph *g, PassStats *st) {
  ir_relink(g);
  int nn = g->nnodes;
  Node **order = ir_alloc(g, sizeof *order * (size_t)(nn + 1));
  char *isconv = ir_alloc(g, (size_t)nn + 1), *runs = ir_alloc(g, (size_t)nn + 1);
  if (nn) memcpy(order, g->nodes, sizeof *order * (size_t)nn);

  /* 1 and 2: which layers run blocked, in execution order */
  long nblocked = 0;
  for (int i = 0; i < nn; i++) {
    Node *n = order[i];
    if (conv_ok(n)) {
      isconv[i] = runs[i] = 1;
    } else if (follows(n)) {
      runs[i] = 1;
      for (int j = 0; j < n->nin; j++)
        if (image(n->in[j]) && !blocked(n->in[j])) runs[i] = 0;
    }
    if (runs[i]) {
      set_blocked(n->out[0]);
      nblocked++;
    }
  }
  if (!nblocked) return;

  /* graph outputs stay plain: the producer writes a blocked copy */
  long nreorder = 0;
  for (int i = 0; i < g->noutputs; i++) {
    Tensor *t = g->outputs[i];
    if (!blocked(t) || !t->producer) continue;
    Tensor *b = ir_tensor(g, ir_unique_name(g, ir_fmt(g, "%s_nchw16c", t->name)), t->dtype, t->rank, t->dims);
    set_blocked(b);
    Node *p = t->producer;
    for (int j = 0; j < p->nout; j++)
      if (p->out[j] == t) p->out[j] = b;
    for (int k = 0; k < nn; k++)
      for (int j = 0; j < order[k]->nin; j++)
        if (order[k]->in[j] == t) order[k]->in[j] = b;
    t->layout = LAYOUT_PLAIN;
    t->block = 0;
    ir_relink(g);
    insert_copy(g, b, t);
    ir_relink(g);
    nreorder++;
  }

  /* 3: every input in the layout its reader needs */
  Tensor **to_plain = ir_alloc(g, sizeof *to_plain * (size_t)(g->ntensors + 1));
  Tensor **to_blk = ir_alloc(g, sizeof *to_blk * (size_t)(g->ntensors + 1));
  for (int i = 0; i < nn; i++) {
    Node *n = order[i];
    for (int j = 0; j < n->nin; j++) {
      Tensor *t = n->in[j];
      if (!t || t->kind == TK_CONST) continue;
      int want;   /* 1 blocked, 0 plain, -1 either */
      if (isconv[i]) want = j == 0 ? -1 : j == 3 ? 1 : -1;
      else if (runs[i]) want = image(t) ? 1 : -1;
      else want = 0;
      if (want < 0 || want == blocked(t)) continue;
      /* the classifier reads the blocked global pool as it is: one pixel,
       * the channels in order (ir_plain_prefix), no reorder */
      if (n->op == OP_GEMM && j == 0 && !n->a.trans_a && ir_plain_prefix(t)) continue;
      int before = g->ntensors;
      n->in[j] = converted(g, t, want ? to_blk : to_plain);
      if (g->ntensors != before) {
        nreorder++;
        ir_relink(g);
      }
    }
  }
  ir_relink(g);
  pass_count(st, "blocked", nblocked);
  pass_count(st, "reorders", nreorder);
}
