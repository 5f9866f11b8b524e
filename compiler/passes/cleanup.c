/*
 * cleanup.c - the clean-up pass: what exporters leave and inference does
 * not need.
 *
 * Method: one walk in execution order rewrites or removes each node that
 * does nothing at inference time, then a backward walk removes nodes none
 * of whose outputs is read (dead code), then ir_sweep drops unused tensors
 * and constants.  Removed as no-ops (their output is their input):
 *   Identity; Dropout (inference: y = x, a read mask becomes a constant of
 *   ones); Reshape/Flatten/Squeeze/Unsqueeze to the same shape; Transpose
 *   by the identity permutation; Cast to the same type; Add/Sub of zeros
 *   and Mul/Div by ones that do not broadcast; Slice taking everything;
 *   Pad by zeros; a one-input Concat or Sum.
 * Folded: a node left with constant inputs only (an Identity of a
 *   constant removed before it...) is evaluated by the reference evaluator
 *   (eval_node) and its outputs become constants, unless it writes a graph
 *   output or its result would be larger than its inputs and 1 MiB.
 * Rewritten: a view of a view (Reshape(Flatten(x))...) reads x directly,
 *   as one Reshape to its static shape; a two-input Sum is an Add; an
 *   unread MaxPool Indices output is dropped.
 *
 * Graph outputs keep their tensor (its name is the API): when a no-op
 * writes one, the node before writes it instead; when that is impossible
 * (the value is a graph input, a constant or another output) the node
 * stays, as an Identity, a copy (pu_bypass).
 */
#include "passes.h"
#include "passutil.h"
#include "shape.h"

#include <string.h>

static int is_view(Op op) {
  return op == OP_RESHAPE || op == OP_FLATTEN || op == OP_SQUEEZE || op == OP_UNSQUEEZE;
}

static int same_type_shape(const Tensor *a, const Tensor *b) {
  return a && b && a->dtype == b->dtype && a->rank >= 0 && ir_same_shape(a, b) &&
         a->layout == b->layout && a->block == b->block;
}

/* Element-wise x op c is x when c is the neutral element and c does not
 * widen x's shape by broadcasting. */
static Tensor *neutral_operand(const Node *n) {
  double id = (n->op == OP_ADD || n->op == OP_SUB) ? 0.0 : 1.0;
  Tensor *a = n->in[0], *b = n->in[1], *y = n->out[0];
  if (pu_const_all(b, id) && same_type_shape(a, y)) return a;
  if ((n->op == OP_ADD || n->op == OP_MUL) && pu_const_all(a, id) && same_type_shape(b, y)) return b;
  return NULL;
}

static int perm_is_identity(const Node *n) {
  const Tensor *x = n->in[0];
  if (x->rank < 0) return 0;
  if (n->a.nperm == 0) return x->rank <= 1;    /* reversal */
  for (int i = 0; i < n->a.nperm; i++)
    if (n->a.perm[i] != i) return 0;
  return 1;
}

/* Slice with positive constant steps whose output has the input's shape
 * takes every element, in order. */
static int slice_is_identity(const Node *n) {
  if (!same_type_shape(n->in[0], n->out[0])) return 0;
  const Tensor *steps = n->nin > 4 ? n->in[4] : NULL;
  if (!steps) return 1;
  if (!ir_is_const(steps)) return 0;
  for (int64_t i = 0; i < ir_numel(steps); i++)
    if (ir_get_i64(steps, i) <= 0) return 0;
  return 1;
}

static int pad_is_identity(const Node *n) {
  if (!same_type_shape(n->in[0], n->out[0])) return 0;
  const Tensor *pads = n->nin > 1 ? n->in[1] : NULL;
  return pads == NULL || pu_const_zero(pads);
}

/* Dropout at inference is the identity, unless training_mode is (or may
 * be) true. */
static int dropout_is_identity(Graph *g, Node *n, PassStats *st) {
  Tensor *tm = n->nin > 2 ? n->in[2] : NULL;
  if (tm && !pu_const_zero(tm)) return 0;
  if (n->nout > 1 && n->out[1]) {
    Tensor *m = n->out[1];
    if (m->nconsumers || m->is_output) {
      /* the mask of an inference dropout keeps everything */
      if (m->rank < 0 || dtype_size(m->dtype) == 0) return 0;
      int64_t nb = ir_bytes(m);
      if (nb < 0) return 0;
      Tensor *c = ir_tensor(g, ir_unique_name(g, m->name), m->dtype, m->rank, m->dims);
      c->kind = TK_CONST;
      c->data = ir_alloc(g, (size_t)nb);
      int64_t k = ir_numel(m);
      for (int64_t i = 0; i < k; i++) {
        /* bool true is 1 in any integer width */
        ((unsigned char *)c->data)[i * (int64_t)dtype_size(m->dtype)] = 1;
      }
      if (m->is_output) return 0;   /* an output mask: keep the node */
      ir_replace_uses(g, m, c);
      pass_count(st, "masks", 1);
    }
  }
  return 1;
}

/* Rewrites view n (reading the output of another view) as one Reshape of
 * the first view's source. */
static int collapse_view(Graph *g, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  Node *p = x->producer;
  if (!p || p->dead || !(is_view(p->op) || p->op == OP_IDENTITY)) return 0;
  Tensor *src = p->in[0];
  if (src->rank < 0 || y->rank < 0 || src->layout != LAYOUT_PLAIN || y->layout != LAYOUT_PLAIN ||
      src->dtype != y->dtype)
    return 0;
  int64_t d[IR_MAX_RANK];
  for (int i = 0; i < y->rank; i++) d[i] = y->dims[i];
  Tensor *shape = ir_const_i64(g, "shape", y->rank, d);
  Tensor *in[2] = {src, shape};
  n->op = OP_RESHAPE;
  ir_attrs_default(OP_RESHAPE, &n->a);
  n->a.allowzero = 1;        /* the static dims, a 0 is a 0 */
  pu_set_inputs(g, n, 2, in);
  return 1;
}

/* Evaluates n now when all its inputs are constants (see the top). */
static int fold_constant(Graph *g, Node *n) {
  if (n->op == OP_SHAPE || n->nin == 0) return 0;
  int64_t in_bytes = 0, out_bytes = 0;
  for (int j = 0; j < n->nin; j++) {
    if (!n->in[j]) continue;
    if (!ir_is_const(n->in[j])) return 0;
    in_bytes += ir_bytes(n->in[j]);
  }
  for (int j = 0; j < n->nout; j++) {
    Tensor *t = n->out[j];
    if (!t) continue;
    int64_t b = ir_bytes(t);
    if (t->is_output || b < 0 || t->kind != TK_ACT) return 0;
    out_bytes += b;
  }
  if (out_bytes > in_bytes && out_bytes > ((int64_t)1 << 20)) return 0;
  eval_node(g, n);
  for (int j = 0; j < n->nout; j++)
    if (n->out[j]) n->out[j]->producer = NULL;
  n->dead = 1;
  return 1;
}

static void remove_dead(Graph *g, PassStats *st) {
  ir_relink(g);
  /* uses left per tensor, counted down as readers die */
  int *uses = ir_alloc(g, sizeof(int) * (size_t)(g->ntensors + 1));
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead) continue;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j]) uses[n->in[j]->id]++;
  }
  for (int i = g->nnodes - 1; i >= 0; i--) {
    Node *n = g->nodes[i];
    if (n->dead) continue;
    int live = 0;
    for (int j = 0; j < n->nout; j++) {
      Tensor *t = n->out[j];
      if (t && (uses[t->id] || t->is_output)) live = 1;
    }
    if (live) {
      /* an unread MaxPool Indices output is not computed */
      if (n->op == OP_MAXPOOL && n->nout == 2 && n->out[1] && !uses[n->out[1]->id] &&
          !n->out[1]->is_output) {
        n->out[1]->producer = NULL;
        n->nout = 1;
        pass_count(st, "outputs dropped", 1);
      }
      continue;
    }
    n->dead = 1;
    pass_count(st, "dead", 1);
    for (int j = 0; j < n->nin; j++)
      if (n->in[j]) uses[n->in[j]->id]--;
  }
}

void pass_cleanup(Graph *g, PassStats *st) {
  ir_relink(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead) continue;
    Tensor *x = n->nin ? n->in[0] : NULL, *y = n->nout ? n->out[0] : NULL;
    Tensor *keep = NULL;     /* non-NULL: n is a no-op, y is keep */
    switch (n->op) {
    case OP_IDENTITY:
      keep = x;
      break;
    case OP_DROPOUT:
      if (same_type_shape(x, y) && dropout_is_identity(g, n, st)) keep = x;
      break;
    case OP_RESHAPE: case OP_FLATTEN: case OP_SQUEEZE: case OP_UNSQUEEZE:
      if (same_type_shape(x, y)) keep = x;
      else if (collapse_view(g, n)) pass_count(st, "views collapsed", 1);
      break;
    case OP_TRANSPOSE:
      if (same_type_shape(x, y) && perm_is_identity(n)) keep = x;
      break;
    case OP_CAST:
      if (same_type_shape(x, y)) keep = x;
      break;
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
      keep = neutral_operand(n);
      break;
    case OP_SLICE:
      if (slice_is_identity(n)) keep = x;
      break;
    case OP_PAD:
      if (pad_is_identity(n)) keep = x;
      break;
    case OP_CONCAT:
      if (n->nin == 1 && same_type_shape(x, y)) keep = x;
      break;
    case OP_SUM:
      if (n->nin == 1 && same_type_shape(x, y)) keep = x;
      else if (n->nin == 2) {
        n->op = OP_ADD;
        pass_count(st, "sum to add", 1);
      }
      break;
    default:
      break;
    }
    if (!keep && !n->dead && fold_constant(g, n)) {
      pass_count(st, "constants folded", 1);
      continue;
    }
    /* (consumer lists go stale here; nothing below reads them before
     * remove_dead relinks, and pu_bypass keeps producers current) */
    if (keep && keep != y && pu_bypass(g, n, keep, y)) pass_count(st, "no-ops removed", 1);
  }
  remove_dead(g, st);
  int before = g->ntensors;
  ir_sweep(g);
  pass_count(st, "tensors dropped", before - g->ntensors);
}
