/* shape.h - shape inference, constant folding and the reference evaluator. */
#ifndef RESNETC_SHAPE_H
#define RESNETC_SHAPE_H
#include "ir.h"

/* Infers the dtype and static shape of every output of n from its inputs
 * (which must already be known), resolving auto_pad and defaults into
 * explicit Attrs.  ir_fail_node()s when the shapes do not fit. */
void shape_infer_node(Graph *g, Node *n);

/* Walks the graph in order: infers shapes, and evaluates every node whose
 * inputs are all constant (and Shape of a known shape), replacing its outputs
 * by constants, so exporter noise (Shape, Gather, Unsqueeze, Concat, Cast,
 * ConstantOfShape, Reshape of constants...) disappears.  Then sweeps dead
 * nodes.  max_fold_bytes bounds the size of one folded tensor and the sum
 * of all folded tensors (0: default). */
void shape_infer_and_fold(Graph *g, int64_t max_fold_bytes);

/* The reference evaluator: computes every output of n from constant
 * inputs, in the IR's exact semantics (float math in double, rounded to
 * the output dtype).  Outputs become TK_CONST with data.  Used by the
 * folder, and by tests as an independent naive reference. */
void eval_node(Graph *g, Node *n);

/* Runs the whole graph with the reference evaluator (no mutation of g):
 * in[i] points at the data of graph input i, out[i] receives a malloc'ed
 * buffer with graph output i (caller frees).  Honours the fused epilogue
 * fields of Conv/Gemm (Attrs.act, residual in[3]) and any internal op, so
 * passes are tested by comparing eval_graph before and after them.
 * Every buffer is in its tensor's own layout: LAYOUT_NCHWC (block b) is
 * [N][ceil(C/b)][rest...][b], the channels past C zero.
 * ir_fail()s on error. */
void eval_graph(Graph *g, const void *const *in, void **out);
#endif
