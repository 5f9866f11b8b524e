/*
 * nodegraph.h - building small graphs node by node in C, as test_shape and
 * test_eval do: one graph at a time in the file's static g (fresh() starts
 * a new one and makes it ir_current_graph), inputs, and nodes whose
 * outputs are fresh tensors of unknown shape for shape inference to fill.
 *
 *   fresh();
 *   Tensor *x = input("x", DT_FLOAT, 4, D(1, 3, 8, 8));
 *   Node *n = NODE(OP_RELU, 1, x);          // 1 output, inputs x
 *
 * Header-only: each test program includes it once.
 */
#ifndef RESNETC_NODEGRAPH_H
#define RESNETC_NODEGRAPH_H
#include <stdint.h>
#include <stdio.h>

#include "ir.h"

#define D(...) ((const int64_t[]){__VA_ARGS__})

static Graph *g;

static void fresh(void) {
  if (g) ir_graph_free(g);
  g = ir_graph_new("t", "t.onnx");
  g->opset = 17;
  ir_current_graph = g;
}

static Tensor *input(const char *name, DType dt, int rank, const int64_t *d) {
  Tensor *t = ir_tensor(g, name, dt, rank, d);
  ir_add_input(g, t);
  return t;
}

/* A node with fresh output tensors of unknown shape (at most 4). */
static Node *node(Op op, int nin, Tensor *const *in, int nout) {
  Tensor *out[4];
  static int k;
  for (int i = 0; i < nout; i++) {
    char nm[32];
    snprintf(nm, sizeof nm, "o%d", k++);
    out[i] = ir_tensor(g, nm, DT_UNDEFINED, -1, NULL);
  }
  char nm[32];
  snprintf(nm, sizeof nm, "n%d", k++);
  return ir_node(g, op, nm, nin, in, nout, out);
}

#define NODE(op, nout, ...) node((op), (int)(sizeof((Tensor *[]){__VA_ARGS__}) / sizeof(Tensor *)), \
                                 (Tensor *[]){__VA_ARGS__}, (nout))

#endif
