/*
 * onnxcases.c - the ONNX backend test cases of ../shared/onnx-tests (see
 * onnxcases.h).  The manifest is read once and cut in place: its tabs,
 * commas and newlines become NULs, and the cases point into it.
 */
#include "onnxcases.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front_onnx.h"
#include "passes.h"
#include "shape.h"
#include "testutil.h"

static int cmp_case(const void *a, const void *b) {
  return strcmp(((const OnnxCase *)a)->name, ((const OnnxCase *)b)->name);
}

/* Cuts the next FIELD of a line at SEP (or at the line's end) and returns
 * it; *p moves past it.  NULL when the line has no field left. */
static char *field(char **p, char sep) {
  char *s = *p;
  if (!s) return NULL;
  char *e = strchr(s, sep);
  if (e) { *e = 0; *p = e + 1; }
  else *p = NULL;
  return s;
}

/* A manifest line: name, ops, opset, inputs, outputs (, size): 1 when it
 * has them all. */
static int parse_line(char *line, OnnxCase *c) {
  char *p = line, *f[5];
  for (int k = 0; k < 5; k++)
    if (!(f[k] = field(&p, '\t')) || !*f[k]) return 0;
  char *end[3];
  c->name = f[0];
  c->opset = (int)strtol(f[2], &end[0], 10);
  c->ninputs = (int)strtol(f[3], &end[1], 10);
  c->noutputs = (int)strtol(f[4], &end[2], 10);
  if (end[0] == f[2] || end[1] == f[3] || end[2] == f[4]) return 0;
  c->light = !strncmp(c->name, "light/", 6);
  c->nops = 1;
  for (const char *s = f[1]; *s; s++) c->nops += *s == ',';
  c->op = malloc(sizeof *c->op * (size_t)c->nops);
  p = f[1];
  for (int k = 0; k < c->nops; k++) c->op[k] = field(&p, ',');
  return 1;
}

OnnxCases *oc_open(void) {
  const char *r = rn_shared("onnx-tests");
  if (!r) return NULL;
  OnnxCases *cs = calloc(1, sizeof *cs);
  snprintf(cs->root, sizeof cs->root, "%s", r);
  char mpath[4200];
  snprintf(mpath, sizeof mpath, "%s/MANIFEST.tsv", cs->root);
  char *text = rn_read_file(mpath, NULL);
  if (!text) free(cs);
  CU_ASSERT_PTR_NOT_NULL_FATAL(text);
  cs->text = text;
  int nlines = 1;
  for (const char *s = cs->text; *s; s++) nlines += *s == '\n';
  cs->c = calloc((size_t)nlines, sizeof *cs->c);
  char *p = cs->text;
  for (char *line; (line = field(&p, '\n'));) {
    OnnxCase *c = &cs->c[cs->n];
    c->root = cs->root;
    cs->n += parse_line(line, c);
  }
  qsort(cs->c, (size_t)cs->n, sizeof *cs->c, cmp_case);
  return cs;
}

void oc_close(OnnxCases *cs) {
  if (!cs) return;
  for (int i = 0; i < cs->n; i++) free(cs->c[i].op);
  free(cs->c);
  free(cs->text);
  free(cs);
}

const char *oc_unsupported_op(const OnnxCase *c) {
  for (int k = 0; k < c->nops; k++)
    if (strcmp(c->op[k], "Constant") && op_from_onnx(c->op[k]) < 0) return c->op[k];
  return NULL;
}

const char *oc_model_path(const OnnxCase *c, char *buf, size_t n) {
  snprintf(buf, n, c->light ? "%s/%s.onnx" : "%s/%s/model.onnx", c->root, c->name);
  return buf;
}

const char *oc_data_path(const OnnxCase *c, const char *what, int i, char *buf, size_t n) {
  if (c->light && !strcmp(what, "input")) return NULL;
  if (c->light) snprintf(buf, n, "%s/%s_%s_%d.pb", c->root, c->name, what, i);
  else snprintf(buf, n, "%s/%s/test_data_set_0/%s_%d.pb", c->root, c->name, what, i);
  return buf;
}

int oc_is_shape_param(const Node *n, int slot) {
  switch (n->op) {
  case OP_RESHAPE: case OP_SQUEEZE: case OP_UNSQUEEZE: return slot == 1;
  case OP_SLICE: return slot >= 1;
  case OP_PAD: return slot == 1 || slot == 3;
  case OP_CONSTANTOFSHAPE: return slot == 0;
  case OP_DROPOUT: return slot == 2;
  default: return 0;
  }
}

int oc_freezes(const Graph *g, const Tensor *t) {
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i]->nin; j++)
      if (g->nodes[i]->in[j] == t && oc_is_shape_param(g->nodes[i], j)) return 1;
  return 0;
}

/* Input I of the case, read into INTO: its input_I.pb, or for a light/
 * network x[k] = k / n (float) shaped as the graph input gi. */
static Tensor *case_input(Graph *into, const OnnxCase *c, int i, const Tensor *gi) {
  char path[5000];
  if (oc_data_path(c, "input", i, path, sizeof path)) return onnx_read_tensor_file(into, path);
  Tensor *x = ir_tensor(into, gi->name, gi->dtype, gi->rank, gi->dims);
  int64_t ne = ir_numel(x);
  float *d = ir_alloc(into, sizeof(float) * (size_t)(ne + 1));
  for (int64_t k = 0; k < ne; k++) d[k] = (float)((double)k / (double)ne);
  x->kind = TK_CONST;
  x->data = d;
  return x;
}

int oc_bind_inputs(Graph *g, Graph *into, const OnnxCase *c, Tensor **run, int *nfrozen) {
  int nrun = 0;
  for (int i = 0; i < g->ninputs; i++) {
    Tensor *gi = g->inputs[i], *x = case_input(into, c, i, gi);
    if (x->dtype != gi->dtype || ir_numel(x) != ir_numel(gi))
      ir_fail("input_%d.pb does not match graph input '%s'", i, gi->name);
    if (oc_freezes(g, gi)) {
      gi->kind = TK_CONST;
      gi->data = ir_alloc(g, (size_t)ir_bytes(x) + 1);
      memcpy(gi->data, x->data, (size_t)ir_bytes(x));
      ++*nfrozen;
      continue;
    }
    run[nrun] = x;
    g->inputs[nrun++] = gi;
  }
  g->ninputs = nrun;
  return nrun;
}

Graph *oc_load(const char *path, int opt_level) {
  OnnxOptions oo = {1, 0};
  Graph *volatile g = onnx_load(path, &oo);
  if (!g) return NULL;
  IrTry t;
  if (ir_try_begin(&t)) {
    ir_graph_free(g);
    return NULL;
  }
  shape_infer_and_fold(g, 0);
  if (opt_level >= 0) {
    PassOptions po = {opt_level, NULL, NULL, NULL, 1, NULL};
    passes_run(g, &po);
  }
  ir_try_end(&t);
  return g;
}
