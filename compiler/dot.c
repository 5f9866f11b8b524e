/*
 * dot.c - the optimised graph as Graphviz DOT, for `resnetc --dot FILE`.
 *
 * Method.  Every live node becomes a box whose label says what it computes
 * (op, kernel and stride, input->output channels, the fused epilogue) and
 * where it came from (the model's node name; for .resnet models the output
 * tensor's name and the file:line:col of the layer); graph
 * inputs and outputs become ellipses; an edge per tensor use, labelled with
 * the tensor's shape.  Constants (weights, folded values) are not drawn:
 * they would bury the network; their shapes show as channel counts.
 *
 * Residual branches.  A block's shortcut is the SHORTER of the paths that
 * meet again at an Add (or at the residual input of a Conv/Gemm whose
 * epilogue the shortcut-fusion pass extended).  depth(t), the longest chain
 * of nodes from a graph input to tensor t, tells them apart without knowing
 * the exporter's node order: at Add(a, b) the input of smaller depth is the
 * shortcut.  From there we walk back through single-input nodes whose
 * output only this shortcut reads (a projection: 1x1 Conv, maybe a
 * BatchNorm before folding) up to the fork; those nodes and edges are drawn
 * red, main-path edges get a high weight so that dot keeps the main path
 * straight and bends the shortcuts around it.
 *
 * Names from the model are untrusted: every byte outside printable ASCII
 * becomes '?', quotes and backslashes are escaped, long names are cut, so
 * any model gives a file that dot accepts.
 */
#include "dot.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define NAME_MAX_SHOWN 48   /* longer node names are cut with "..." */

/* Writes s as the inside of a DOT "string". */
static void put_escaped(FILE *f, const char *s, size_t max) {
  size_t n = strlen(s);
  int cut = n > max;
  if (cut) n = max - 3;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') { fputc('\\', f); fputc(c, f); }
    else if (c < 0x20 || c >= 0x7f) fputc('?', f);
    else fputc(c, f);
  }
  if (cut) fputs("...", f);
}

static const char *op_name(Op op) {
  const char *s = op_info[op].name;
  return s ? s : "internal";
}

/* "[1,64,56,56]" without the leading batch 1, which every tensor has:
 * "64x56x56". */
static void put_shape(FILE *f, const Tensor *t) {
  if (t->rank < 0) { fputs("?", f); return; }
  int from = t->rank >= 2 && t->dims[0] == 1 ? 1 : 0;
  if (t->rank == 0) fputs("scalar", f);
  for (int i = from; i < t->rank; i++) fprintf(f, "%s%" PRId64, i > from ? "x" : "", t->dims[i]);
}

static void put_ints(FILE *f, const int64_t *v, int n, const char *sep) {
  for (int i = 0; i < n; i++) fprintf(f, "%s%" PRId64, i ? sep : "", v[i]);
}

static int all_one(const int64_t *v, int n) {
  for (int i = 0; i < n; i++) if (v[i] != 1) return 0;
  return 1;
}

/* "2" when every spatial dim has the same value, else "2x1" */
static void put_compact(FILE *f, const int64_t *v, int n) {
  int same = 1;
  for (int i = 1; i < n; i++) same &= v[i] == v[0];
  put_ints(f, v, same ? 1 : n, "x");
}

/* The first label line: "Conv 3x3 /2", "MaxPool 3x3 /2", "Gemm", "Add". */
static void put_op_line(FILE *f, const Node *n) {
  const Attrs *a = &n->a;
  fputs(op_name(n->op), f);
  if ((n->op == OP_CONV || n->op == OP_MAXPOOL || n->op == OP_AVERAGEPOOL) && a->nsp > 0) {
    fputc(' ', f);
    put_ints(f, a->kernel, a->nsp, "x");
    if (!all_one(a->stride, a->nsp)) { fputs(" /", f); put_compact(f, a->stride, a->nsp); }
    if (!all_one(a->dilation, a->nsp)) { fputs(" dil ", f); put_compact(f, a->dilation, a->nsp); }
    if (n->op == OP_CONV && a->group > 1) fprintf(f, " g%" PRId64, a->group);
  }
}

/* The second line: channels from the weight, "64->128". */
static void put_channels(FILE *f, const Node *n) {
  const Tensor *w = n->nin > 1 ? n->in[1] : NULL;
  if (!w || w->rank < 2) return;
  if (n->op == OP_CONV) {
    int64_t g = n->a.group > 0 ? n->a.group : 1;
    fprintf(f, "\\n%" PRId64 "->%" PRId64, w->dims[1] * g, w->dims[0]);
  } else if (n->op == OP_GEMM) {
    int64_t k = n->a.trans_b ? w->dims[1] : w->dims[0];
    int64_t m = n->a.trans_b ? w->dims[0] : w->dims[1];
    fprintf(f, "\\n%" PRId64 "->%" PRId64, k, m);
  }
}

static void put_epilogue(FILE *f, const Node *n) {
  const Attrs *a = &n->a;
  int res = (n->op == OP_CONV || n->op == OP_GEMM) && n->nin > 3 && n->in[3];
  if (!res && a->act == ACT_NONE) return;
  fputs("\\n", f);
  if (res) fputs("+ shortcut", f);
  if (a->act == ACT_RELU) fputs(res ? ", ReLU" : "+ ReLU", f);
  else if (a->act == ACT_CLIP) fprintf(f, "%sClip(%g,%g)", res ? ", " : "+ ", a->act_lo, a->act_hi);
  else if (a->act == ACT_LEAKYRELU) fprintf(f, "%sLeakyRelu(%g)", res ? ", " : "+ ", a->act_alpha);
}

static const char *fill_of(const Node *n) {
  switch (n->op) {
  case OP_CONV: return "#dbe8f6";
  case OP_GEMM: case OP_MATMUL: return "#e6dcf2";
  case OP_MAXPOOL: case OP_AVERAGEPOOL: case OP_GLOBALAVERAGEPOOL: case OP_GLOBALMAXPOOL:
    return "#dcefdc";
  case OP_ADD: case OP_SUM: return "#fbe3c8";
  case OP_BATCHNORM: return "#f6f0c8";
  default: break;
  }
  if (op_info[n->op].flags & OPF_ACTIVATION) return "#f3f3f3";
  if (op_info[n->op].flags & OPF_VIEW) return "#eeeeee";
  return "#ffffff";
}

/* Marks the shortcut that ends in input SLOT of node N: the edge itself,
 * then back through the projection nodes up to the fork. */
static void mark_shortcut(Graph *g, Node *n, int slot, char **edge, char *node) {
  edge[n->id][slot] = 1;
  Tensor *t = n->in[slot];
  for (int guard = 0; guard < g->nnodes && t && t->producer; guard++) {
    Node *p = t->producer;
    int is_out = t->is_output, nvar = 0, vslot = -1;
    if (t->nconsumers != 1 || is_out || p->nout != 1 || node[p->id]) return;
    for (int j = 0; j < p->nin; j++)
      if (p->in[j] && p->in[j]->kind != TK_CONST) nvar++, vslot = j;
    if (nvar != 1) return;
    node[p->id] = 1;
    edge[p->id][vslot] = 1;
    t = p->in[vslot];
  }
}

void dot_write(Graph *g, FILE *f) {
  ir_relink(g);
  int nn = g->nnodes, nt = g->ntensors;
  /* depth[t]: longest chain of nodes from a graph input to tensor t */
  int *depth = ir_alloc(g, sizeof(int) * (size_t)(nt + 1));
  char *short_node = ir_alloc(g, (size_t)nn + 1);
  char **short_edge = ir_alloc(g, sizeof(char *) * (size_t)(nn + 1));
  for (int i = 0; i < nn; i++) {
    Node *n = g->nodes[i];
    short_edge[i] = ir_alloc(g, (size_t)n->nin + 1);
    int d = 0;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] && n->in[j]->kind != TK_CONST && depth[n->in[j]->id] > d) d = depth[n->in[j]->id];
    for (int j = 0; j < n->nout; j++) if (n->out[j]) depth[n->out[j]->id] = d + 1;
  }
  for (int i = 0; i < nn; i++) {
    Node *n = g->nodes[i];
    if ((n->op == OP_CONV || n->op == OP_GEMM) && n->nin > 3 && n->in[3]) {
      mark_shortcut(g, n, 3, short_edge, short_node);
    } else if (n->op == OP_ADD || n->op == OP_SUM) {
      int dmax = -1, dmin = -1;
      for (int j = 0; j < n->nin; j++) {
        Tensor *t = n->in[j];
        if (!t || t->kind == TK_CONST) continue;
        if (dmax < 0 || depth[t->id] > dmax) dmax = depth[t->id];
        if (dmin < 0 || depth[t->id] < dmin) dmin = depth[t->id];
      }
      if (dmin == dmax) continue;   /* symmetric branches: no shortcut */
      for (int j = 0; j < n->nin; j++) {
        Tensor *t = n->in[j];
        if (t && t->kind != TK_CONST && depth[t->id] < dmax) mark_shortcut(g, n, j, short_edge, short_node);
      }
    }
  }

  fputs("digraph \"", f);
  put_escaped(f, g->name ? g->name : "model", NAME_MAX_SHOWN);
  fputs("\" {\n", f);
  fputs("  rankdir=TB; nodesep=0.25; ranksep=0.3;\n"
        "  node [shape=box, style=\"rounded,filled\", fontname=\"Helvetica\", fontsize=10,"
        " penwidth=0.8, margin=\"0.12,0.04\"];\n"
        "  edge [fontname=\"Helvetica\", fontsize=8, color=\"#606060\", arrowsize=0.6];\n", f);

  for (int i = 0; i < g->ninputs; i++) {
    Tensor *t = g->inputs[i];
    fprintf(f, "  in%d [shape=ellipse, fillcolor=\"#d9f2d9\", label=\"", i);
    put_escaped(f, t->name, NAME_MAX_SHOWN);
    fputs("\\n", f);
    put_shape(f, t);
    fputs("\"];\n", f);
  }
  for (int i = 0; i < nn; i++) {
    Node *n = g->nodes[i];
    fprintf(f, "  n%d [fillcolor=\"%s\"%s, label=\"", i, fill_of(n),
            short_node[i] ? ", color=\"#c0392b\", penwidth=1.6" : "");
    put_op_line(f, n);
    put_channels(f, n);
    put_epilogue(f, n);
    /* ONNX: the node's name.  .resnet (opset 0): names are source
     * locations, so the output tensor's name ("layer2.0.relu") comes first */
    if (!g->opset && n->nout > 0 && n->out[0]) {
      fputs("\\n", f);
      put_escaped(f, n->out[0]->name, NAME_MAX_SHOWN);
    }
    if (n->name && *n->name) {
      fputs("\\n", f);
      put_escaped(f, n->name, NAME_MAX_SHOWN);
    }
    fputs("\", tooltip=\"", f);
    for (int j = 0; j < n->nout; j++) {
      Tensor *t = n->out[j];
      if (!t) continue;
      put_escaped(f, t->name, NAME_MAX_SHOWN);
      if (t->offset >= 0) fprintf(f, " @ arena+%" PRId64, t->offset);
      fprintf(f, " (%" PRId64 " bytes) ", ir_bytes(t));
    }
    fputs("\"];\n", f);
  }
  for (int i = 0; i < g->noutputs; i++) {
    Tensor *t = g->outputs[i];
    fprintf(f, "  out%d [shape=ellipse, fillcolor=\"#f6d5d5\", label=\"", i);
    put_escaped(f, t->name, NAME_MAX_SHOWN);
    fputs("\\n", f);
    put_shape(f, t);
    fputs("\"];\n", f);
  }

  /* edges: from the producer (or the graph input) of each variable input */
  for (int i = 0; i < nn; i++) {
    Node *n = g->nodes[i];
    for (int j = 0; j < n->nin; j++) {
      Tensor *t = n->in[j];
      if (!t || t->kind == TK_CONST) continue;
      if (t->producer) fprintf(f, "  n%d -> n%d", t->producer->id, i);
      else {
        int k = 0;
        while (k < g->ninputs && g->inputs[k] != t) k++;
        if (k == g->ninputs) continue;   /* not produced, not an input: verifier's job */
        fprintf(f, "  in%d -> n%d", k, i);
      }
      fputs(" [label=\"", f);
      put_shape(f, t);
      if (short_edge[i][j])
        fputs("\", color=\"#c0392b\", fontcolor=\"#c0392b\", penwidth=1.8, weight=1];\n", f);
      else
        fputs("\", weight=8];\n", f);
    }
  }
  for (int i = 0; i < g->noutputs; i++) {
    Tensor *t = g->outputs[i];
    if (t->producer) fprintf(f, "  n%d -> out%d;\n", t->producer->id, i);
    else {
      for (int k = 0; k < g->ninputs; k++)
        if (g->inputs[k] == t) fprintf(f, "  in%d -> out%d;\n", k, i);
    }
  }
  fputs("}\n", f);
}

int dot_write_file(Graph *g, const char *path, const char *command_line) {
  size_t n = strlen(path);
  char *tmp = malloc(n + 5);
  if (!tmp) {
    fprintf(stderr, "%s: error: out of memory\n", path);
    return -1;
  }
  memcpy(tmp, path, n);
  memcpy(tmp + n, ".tmp", 5);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    fprintf(stderr, "%s: error: cannot write: %s\n", path, strerror(errno));
    free(tmp);
    return -1;
  }
  fprintf(f, "// Generated by resnetc %s", RESNETC_VERSION);
  if (command_line) {
    fputs(": ", f);
    for (const char *s = command_line; *s; s++) fputc(*s == '\n' || *s == '\r' ? ' ' : *s, f);
  }
  fputs("\n// Render: dot -Tsvg FILE -o graph.svg\n", f);
  IrTry t;
  volatile int failed = 0;
  if (ir_try_begin(&t)) failed = 1;
  else { dot_write(g, f); ir_try_end(&t); }
  if (ferror(f)) failed = 2;
  if (fclose(f) != 0) failed = 2;
  if (!failed && rename(tmp, path) != 0) failed = 2;
  if (failed) {
    if (failed == 2) fprintf(stderr, "%s: error: cannot write: %s\n", path, strerror(errno));
    remove(tmp);
    free(tmp);
    return -1;
  }
  free(tmp);
  return 0;
}
