/*
 * fold.c - shape inference over the whole graph, and constant folding.
 *
 * One walk in node order (the graph is topologically sorted, so every
 * input's shape is known when its reader is reached): infer the node's
 * output shapes, then, if every input present is a constant - or the node
 * is a Shape, whose output depends on the (static) input shape only -
 * evaluate it with the reference evaluator and turn its outputs into
 * constants.  Folded nodes are marked dead and swept at the end, together
 * with the constants only they read.
 *
 * Because folding happens in the same walk, a constant made by one node
 * is seen as a constant by the next: chains the PyTorch exporter writes
 * (Shape -> Gather -> Unsqueeze -> Concat -> Reshape, the option-A shortcut's
 * Slice + Pad with computed pads, ConstantOfShape weights) collapse in one
 * pass.  Nodes on run-time data (Reshape of an activation...) keep their
 * node; their shapes are simply resolved.
 *
 * One folded tensor, and the sum of all of them, are bounded by
 * max_fold_bytes (default 1 GiB): beyond it the fold is refused with an
 * error before anything is allocated, so hostile ConstantOfShape nodes
 * cannot make the compiler allocate terabytes, alone or together.
 */
#include <inttypes.h>
#include <string.h>

#include "shape.h"

#define DEFAULT_MAX_FOLD_BYTES ((int64_t)1 << 30)

static int foldable(const Node *n) {
  if (n->op == OP_SHAPE) return 1;
  for (int i = 0; i < n->nin; i++)
    if (n->in[i] && !ir_is_const(n->in[i])) return 0;
  return 1;
}

/* A BatchNormalization whose constant variance + epsilon is not positive in
 * some channel computes NaN or Inf there (1/sqrt of it): legal ONNX, so a
 * warning, not an error - but never silently. */
static void warn_bn_variance(const Node *n) {
  const Tensor *v = n->nin > 4 ? n->in[4] : NULL;
  if (!v || !ir_is_const(v) || !v->data) return;
  int64_t c = ir_numel(v), bad = 0;
  for (int64_t i = 0; i < c; i++)
    if (!(ir_get_f64(v, i) + n->a.epsilon > 0)) bad++;
  if (!bad) return;
  const Graph *g = ir_current_graph;
  if (g && !g->opset && strchr(n->name, ':')) {   /* .resnet: "file:line:col: warning: ..." */
    const char *src = ir_source;
    ir_source = n->name;
    ir_warn("BatchNormalization: variance + epsilon is not positive in %" PRId64 " of %" PRId64
            " channels: the output is NaN or Inf there", bad, c);
    ir_source = src;
    return;
  }
  ir_warn("node '%s' (BatchNormalization): variance + epsilon is not positive in %" PRId64
          " of %" PRId64 " channels: the output is NaN or Inf there", n->name, bad, c);
}

void shape_infer_and_fold(Graph *g, int64_t max_fold_bytes) {
  if (max_fold_bytes <= 0) max_fold_bytes = DEFAULT_MAX_FOLD_BYTES;
  ir_current_graph = g;     /* messages name nodes of this graph */
  int64_t total = 0;   /* bytes of every folded constant so far: they all stay
                          allocated in the arena, so the limit bounds the sum */
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead) continue;
    shape_infer_node(g, n);
    if (n->op == OP_BATCHNORM) warn_bn_variance(n);
    if (!foldable(n)) continue;
    for (int j = 0; j < n->nout; j++) {
      Tensor *t = n->out[j];
      if (!t) continue;
      int64_t b = ir_bytes(t);
      if (b < 0 || b > max_fold_bytes)
        ir_fail_node(n, "folding this node would make a constant '%s' of %" PRId64
                     " bytes, more than the limit of %" PRId64 " bytes", t->name, b,
                     max_fold_bytes);
      if (b > max_fold_bytes - total)
        ir_fail_node(n, "folding this node would bring the folded constants to %" PRId64
                     " bytes, more than the limit of %" PRId64 " bytes", total + b,
                     max_fold_bytes);
      total += b;
    }
    eval_node(g, n);
    n->dead = 1;
  }
  ir_sweep(g);
}
