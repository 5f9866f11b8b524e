/*
 * summary.c - the per-layer table of `resnetc --summary` and its totals.
 *
 * Counting rules (those of the papers, and of torchvision's numbers):
 *   multiply-adds  Conv: output elements x (input channels / groups) x
 *                  kernel area; Gemm: M x N x K; MatMul: output elements x
 *                  K.  BatchNorm, ReLU, pooling and additions are not
 *                  counted (He et al. count "multiply-adds" of the
 *                  convolutions and the fc layer: Table 1's FLOPs).
 *   parameters     the learned tensors: Conv and Gemm weights and biases,
 *                  BatchNorm scale and shift, and constant float operands
 *                  of elementwise ops.  BatchNorm's running mean and
 *                  variance are buffers, counted apart (torchvision's
 *                  parameter counts leave them out too).
 * A constant read by several nodes counts once, at its first reader.
 * The graph needs static shapes (the .resnet front end gives them; ONNX
 * graphs get them from shape inference).
 */
#include "summary.h"

#include <inttypes.h>
#include <string.h>

int64_t summary_node_macs(const Node *n) {
  const Tensor *y = n->nout ? n->out[0] : NULL;
  if (!y || y->rank < 0) return 0;
  int64_t out = ir_numel(y);
  switch (n->op) {
  case OP_CONV: {
    const Tensor *w = n->in[1];
    if (!w || w->rank < 3) return 0;
    int64_t k = 1;
    for (int i = 1; i < w->rank; i++) k *= w->dims[i];   /* Cin/g x kernel */
    return out * k;
  }
  case OP_GEMM: {
    const Tensor *a = n->in[0];
    if (!a || a->rank != 2) return 0;
    int64_t k = n->a.trans_a ? a->dims[0] : a->dims[1];
    return out * k;
  }
  case OP_MATMUL: {
    const Tensor *a = n->in[0];
    if (!a || a->rank < 1) return 0;
    return out * a->dims[a->rank - 1];
  }
  default: return 0;
  }
}

/* Is input i of n a learned parameter (1), a buffer (2), or neither (0)? */
static int input_role(const Node *n, int i) {
  const Tensor *t = n->in[i];
  if (!t || t->kind != TK_CONST || !dtype_is_float(t->dtype)) return 0;
  switch (n->op) {
  case OP_CONV: case OP_GEMM: return i >= 1 && i <= 2 ? 1 : 0;
  case OP_MATMUL: return 1;
  case OP_BATCHNORM: return i == 1 || i == 2 ? 1 : i >= 3 ? 2 : 0;
  default:
    return (op_info[n->op].flags & OPF_BROADCAST) ? 1 : 0;
  }
}

/* Walks g, calling row() for each node with its own counts. */
typedef void (*RowFn)(void *ctx, const Node *n, int64_t params, int64_t macs);

static void walk(Graph *g, SummaryTotals *t, RowFn row, void *ctx) {
  memset(t, 0, sizeof *t);
  char *seen = ir_alloc(g, (size_t)g->ntensors + 1);
  for (int i = 0; i < g->ntensors; i++) g->tensors[i]->id = i;
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    int64_t p = 0;
    for (int j = 0; j < n->nin; j++) {
      int r = input_role(n, j);
      if (!r || seen[n->in[j]->id]) continue;
      seen[n->in[j]->id] = 1;
      int64_t k = ir_numel(n->in[j]);
      if (k < 0) continue;
      if (r == 1) p += k;
      else t->buffers += k;
    }
    int64_t m = summary_node_macs(n);
    t->params += p;
    t->macs += m;
    t->nodes++;
    if (n->op == OP_CONV) t->convs++;
    if (n->op == OP_GEMM || n->op == OP_MATMUL) t->fcs++;
    for (int j = 0; j < n->nout; j++)
      if (n->out[j] && n->out[j]->kind == TK_ACT && ir_bytes(n->out[j]) > 0)
        t->act_bytes += ir_bytes(n->out[j]);
    if (row) row(ctx, n, p, m);
  }
}

void summary_compute(Graph *g, SummaryTotals *t) { walk(g, t, NULL, NULL); }

/* 1234567 -> "1,234,567" */
static const char *commas(int64_t v, char *buf, size_t n) {
  char tmp[32];
  int len = snprintf(tmp, sizeof tmp, "%" PRId64, v < 0 ? -v : v);
  size_t k = 0;
  if (v < 0 && k + 1 < n) buf[k++] = '-';
  for (int i = 0; i < len && k + 2 < n; i++) {
    buf[k++] = tmp[i];
    if ((len - i - 1) % 3 == 0 && i != len - 1) buf[k++] = ',';
  }
  buf[k] = 0;
  return buf;
}

/* The layer column: the weight's name without ".weight" (conv1,
 * layer1.0.conv2, fc), else the output tensor's name. */
static const char *layer_label(const Node *n, char *buf, size_t size) {
  for (int j = 1; j < n->nin; j++) {
    const Tensor *t = n->in[j];
    if (!t || t->kind != TK_CONST || !t->name) continue;
    size_t len = strlen(t->name);
    if (len > 7 && strcmp(t->name + len - 7, ".weight") == 0) {
      snprintf(buf, size, "%.*s", (int)(len - 7), t->name);
      return buf;
    }
  }
  snprintf(buf, size, "%s", n->nout && n->out[0] ? n->out[0]->name : n->name);
  return buf;
}

static void print_row(void *ctx, const Node *n, int64_t params, int64_t macs) {
  FILE *f = ctx;
  char lab[64], sh[96], p[32], m[32];
  layer_label(n, lab, sizeof lab);
  ir_shape_str(n->out[0], sh, sizeof sh);
  fprintf(f, "%5d  %-28.28s %-20s %-18s %12s %15s\n", n->id, lab, op_info[n->op].name, sh,
          params ? commas(params, p, sizeof p) : "", macs ? commas(macs, m, sizeof m) : "");
}

void summary_print(Graph *g, FILE *f) {
  char a[96], b[96];
  fprintf(f, "%s", g->name);
  for (int i = 0; i < g->ninputs; i++) fprintf(f, "%s%s", i ? ", " : ": ", ir_shape_str(g->inputs[i], a, sizeof a));
  fprintf(f, " ->");
  for (int i = 0; i < g->noutputs; i++) fprintf(f, " %s", ir_shape_str(g->outputs[i], b, sizeof b));
  fprintf(f, "\n\n%5s  %-28s %-20s %-18s %12s %15s\n", "#", "layer", "op", "output", "params", "mult-adds");
  SummaryTotals t;
  for (int i = 0; i < g->nnodes; i++) g->nodes[i]->id = i;
  walk(g, &t, print_row, f);
  char p[32], bf[32], m[32], ab[32];
  fprintf(f, "\ntotal: %s parameters (%.2fM)", commas(t.params, p, sizeof p), (double)t.params / 1e6);
  if (t.buffers) fprintf(f, " + %s BatchNorm statistics", commas(t.buffers, bf, sizeof bf));
  fprintf(f, "\n       %s multiply-adds (%.2e)\n", commas(t.macs, m, sizeof m), (double)t.macs);
  fprintf(f, "       %d nodes: %d convolutions, %d fully connected; activations %s bytes (unplanned)\n",
          t.nodes, t.convs, t.fcs, commas(t.act_bytes, ab, sizeof ab));
}
