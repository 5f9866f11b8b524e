/*
 * onnx_save.c - the IR written back as an ONNX model (resnetc --emit-onnx).
 *
 * Method.  The IR is mapped node by node onto a protobuf-c ModelProto of
 * IR version 7 and ai.onnx opset 13 (14 when a node needs it: arithmetic
 * on 8/16-bit integers, Relu on integers, Reshape allowzero with a 0 in
 * the shape; see needed_opset): constants become initializers whose
 * raw_data points at the IR's own bytes (nothing is copied), attributes are
 * written in their opset-13 form.  Where the IR holds more than one ONNX
 * op can say, the node is written as a short chain of standard nodes with
 * generated intermediate names ("<name>__N"):
 *   - a fused epilogue of Conv/Gemm: + residual (Add; the strided,
 *     channel-padded shortcut view as Slice + Pad), then the activation
 *     (Relu, Clip, LeakyRelu); Conv's second, normalised output as
 *     Mul + Add + activation;
 *   - HardSwish (opset 14) as x * HardSigmoid(x, 1/6, 1/2) at opset 13;
 *   - Softmax/LogSoftmax of opset < 13 (coerced to 2-D) as Flatten,
 *     Softmax(axis 1), Reshape to Shape(x), unless the axis is the last;
 *   - Shape with start/end (opset 15) as Shape + Slice;
 *   - Pad with an axes input (opset 18) as Pad with full-rank pads;
 *   - Gemm whose A has rank > 2 (a Flatten the fusion pass removed) with
 *     the Flatten put back.
 * Blocked activation layouts are written as the plain tensors they hold.
 * What opset 13/14 cannot express (blocked constants, Pad 'wrap',
 * AveragePool dilations, internal ops) is
 * refused with a message naming the node.  The file is packed straight to
 * a temporary file next to the target and renamed: written whole or not at
 * all.  All protobuf-c structs are allocated from the graph's arena.
 */
#include "front_onnx.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx.pb-c.h"

#define SAVE_IR 7

typedef struct Vec { void **v; size_t n, cap; } Vec;

typedef struct Saver {
  Graph *g;
  int opset;              /* 13, or 14 when the graph needs it */
  Vec nodes, inits, vinfo;
  int tmpn;
  /* node names written so far (open addressing; cap a power of 2) */
  const char **names;
  size_t ncap, nnames;
} Saver;

static void vpush(Graph *g, Vec *v, void *x) {
  if (v->n == v->cap) {
    size_t nc = v->cap ? 2 * v->cap : 64;
    v->v = ir_realloc(g, v->v, sizeof(void *) * v->cap, sizeof(void *) * nc);
    v->cap = nc;
  }
  v->v[v->n++] = x;
}

/* A name no IR tensor has, for an intermediate of an expansion. */
static const char *fresh(Saver *s, const char *base) {
  for (;;) {
    char *nm = ir_fmt(s->g, "%s__%d", base, ++s->tmpn);
    if (!ir_find_tensor(s->g, nm)) return nm;
  }
}

/* Node names.  ONNX Runtime refuses a model with two nodes of one name,
 * so every name written goes through unique_node_name: base, or base_2,
 * base_3, ... when base is taken.  A node of the .resnet front end is named
 * after its source position (file:line:col, for error messages), which
 * repeats for every instance of a block and holds the file's path: its
 * ONNX name is its output tensor's name instead, the layer path the summary
 * shows (layer1.0.conv1, layer2.0.downsample.0, layer1.1.relu_1), and the
 * position, without the folder, goes to the node's doc_string.  A node that
 * an IR node expands into is named "<label>/<op>" (layer1.0.conv2/add). */
static uint64_t name_hash(const char *p) {
  uint64_t h = 1469598103934665603ull;
  for (; *p; p++) h = (h ^ (unsigned char)*p) * 1099511628211ull;
  return h;
}

static int name_taken(const Saver *s, const char *nm) {
  if (!s->ncap) return 0;
  for (size_t j = name_hash(nm) & (s->ncap - 1); s->names[j]; j = (j + 1) & (s->ncap - 1))
    if (strcmp(s->names[j], nm) == 0) return 1;
  return 0;
}

static void name_add(Saver *s, const char *nm) {
  if (2 * (s->nnames + 1) > s->ncap) {
    size_t nc = s->ncap ? 2 * s->ncap : 256;
    const char **ne = ir_alloc(s->g, sizeof *ne * nc);
    for (size_t i = 0; i < s->ncap; i++)
      if (s->names[i]) {
        size_t j = name_hash(s->names[i]) & (nc - 1);
        while (ne[j]) j = (j + 1) & (nc - 1);
        ne[j] = s->names[i];
      }
    s->names = ne;
    s->ncap = nc;
  }
  size_t j = name_hash(nm) & (s->ncap - 1);
  while (s->names[j]) j = (j + 1) & (s->ncap - 1);
  s->names[j] = nm;
  s->nnames++;
}

static const char *unique_node_name(Saver *s, const char *base) {
  const char *nm = base;
  for (long k = 2; name_taken(s, nm); k++) nm = ir_fmt(s->g, "%s_%ld", base, k);
  name_add(s, nm);
  return nm;
}

/* Is n named after a .resnet source position? */
static int source_named(const Saver *s, const Node *n) {
  return !s->g->opset && n->name && strchr(n->name, ':');
}

/* The name an IR node's ONNX node is given (before unique_node_name): its
 * own, or for a .resnet node its weight's layer (conv1.weight: conv1; the
 * fc writes the graph output), else its output's name. */
static const char *label(const Saver *s, const Node *n) {
  if (n->name && *n->name && !source_named(s, n)) return n->name;
  for (int j = 1; j < n->nin; j++) {
    const Tensor *t = n->in[j];
    size_t len = t && t->kind == TK_CONST && t->name ? strlen(t->name) : 0;
    if (len > 7 && strcmp(t->name + len - 7, ".weight") == 0)
      return ir_strndup(s->g, t->name, len - 7);
  }
  if (n->nout && n->out[0] && n->out[0]->name && *n->out[0]->name) return n->out[0]->name;
  return op_info[n->op].name ? op_info[n->op].name : "node";
}

static const char *part(Saver *s, const Node *n, const char *what) {
  return ir_fmt(s->g, "%s/%s", label(s, n), what);
}

/* ---- protobuf objects ----------------------------------------------------- */

static Onnx__TensorProto *tensor_proto(Saver *s, const char *name, DType dt, int rank,
                                       const int64_t *dims, const void *data, int64_t bytes) {
  Onnx__TensorProto *tp = ir_alloc(s->g, sizeof *tp);
  onnx__tensor_proto__init(tp);
  tp->name = (char *)name;
  tp->has_data_type = 1;
  tp->data_type = dt;
  tp->n_dims = (size_t)rank;
  tp->dims = ir_alloc(s->g, sizeof(int64_t) * (size_t)(rank + 1));
  for (int i = 0; i < rank; i++) tp->dims[i] = dims[i];
  tp->has_raw_data = 1;
  tp->raw_data.len = (size_t)bytes;
  tp->raw_data.data = (uint8_t *)data;
  return tp;
}

static Onnx__TensorProto *const_proto(Saver *s, const Tensor *t) {
  return tensor_proto(s, t->name, t->dtype, t->rank, t->dims, t->data, ir_bytes(t));
}

/* A new initializer; returns its name. */
static const char *add_init(Saver *s, const char *base, DType dt, int rank, const int64_t *dims,
                            const void *data, int64_t bytes) {
  const char *nm = fresh(s, base);
  vpush(s->g, &s->inits, tensor_proto(s, nm, dt, rank, dims, data, bytes));
  return nm;
}

static const char *add_i64(Saver *s, const char *base, int n, const int64_t *v) {
  int64_t d = n;
  int64_t *copy = ir_alloc(s->g, sizeof(int64_t) * (size_t)(n + 1));
  memcpy(copy, v, sizeof(int64_t) * (size_t)n);
  return add_init(s, base, DT_INT64, 1, &d, copy, 8 * (int64_t)n);
}

/* A scalar of a float type (float32, float64). */
static const char *add_scalar(Saver *s, const char *base, DType dt, double v) {
  if (dt == DT_DOUBLE) {
    double *p = ir_alloc(s->g, 8);
    *p = v;
    return add_init(s, base, DT_DOUBLE, 0, NULL, p, 8);
  }
  float *p = ir_alloc(s->g, 4);
  *p = (float)v;
  return add_init(s, base, DT_FLOAT, 0, NULL, p, 4);
}

static Onnx__ValueInfoProto *value_info(Saver *s, const Tensor *t) {
  Onnx__ValueInfoProto *vi = ir_alloc(s->g, sizeof *vi);
  onnx__value_info_proto__init(vi);
  vi->name = t->name;
  if (t->dtype == DT_UNDEFINED) return vi;
  Onnx__TypeProto *tp = ir_alloc(s->g, sizeof *tp);
  onnx__type_proto__init(tp);
  Onnx__TypeProto__Tensor *tt = ir_alloc(s->g, sizeof *tt);
  onnx__type_proto__tensor__init(tt);
  tt->has_elem_type = 1;
  tt->elem_type = t->dtype;
  if (t->rank >= 0) {
    Onnx__TensorShapeProto *sh = ir_alloc(s->g, sizeof *sh);
    onnx__tensor_shape_proto__init(sh);
    sh->n_dim = (size_t)t->rank;
    sh->dim = ir_alloc(s->g, sizeof *sh->dim * (size_t)(t->rank + 1));
    for (int i = 0; i < t->rank; i++) {
      Onnx__TensorShapeProto__Dimension *d = ir_alloc(s->g, sizeof *d);
      onnx__tensor_shape_proto__dimension__init(d);
      d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
      d->dim_value = t->dims[i];
      sh->dim[i] = d;
    }
    tt->shape = sh;
  }
  tp->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  tp->tensor_type = tt;
  vi->type = tp;
  return vi;
}

static Onnx__NodeProto *node(Saver *s, const char *op, const char *name, int nin,
                             const char *const *in, const char *out) {
  Onnx__NodeProto *np = ir_alloc(s->g, sizeof *np);
  onnx__node_proto__init(np);
  np->op_type = (char *)op;
  np->name = (char *)unique_node_name(s, name);
  np->n_input = (size_t)nin;
  np->input = ir_alloc(s->g, sizeof(char *) * (size_t)(nin + 1));
  for (int i = 0; i < nin; i++) np->input[i] = (char *)(in[i] ? in[i] : "");
  np->n_output = 1;
  np->output = ir_alloc(s->g, sizeof(char *) * 2);
  np->output[0] = (char *)out;
  vpush(s->g, &s->nodes, np);
  return np;
}

static Onnx__AttributeProto *attr(Saver *s, Onnx__NodeProto *np, const char *name,
                                  Onnx__AttributeProto__AttributeType type) {
  Onnx__AttributeProto *a = ir_alloc(s->g, sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = (char *)name;
  a->has_type = 1;
  a->type = type;
  np->attribute = ir_realloc(s->g, np->attribute, sizeof(void *) * np->n_attribute,
                             sizeof(void *) * (np->n_attribute + 1));
  np->attribute[np->n_attribute++] = a;
  return a;
}

static void attr_i(Saver *s, Onnx__NodeProto *np, const char *name, int64_t v) {
  Onnx__AttributeProto *a = attr(s, np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
}

static void attr_f(Saver *s, Onnx__NodeProto *np, const char *name, double v) {
  Onnx__AttributeProto *a = attr(s, np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = (float)v;
}

static void attr_s(Saver *s, Onnx__NodeProto *np, const char *name, const char *v) {
  Onnx__AttributeProto *a = attr(s, np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = 1;
  a->s.data = (uint8_t *)v;
  a->s.len = strlen(v);
}

static void attr_ints(Saver *s, Onnx__NodeProto *np, const char *name, int n, const int64_t *v) {
  Onnx__AttributeProto *a = attr(s, np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->n_ints = (size_t)n;
  a->ints = ir_alloc(s->g, sizeof(int64_t) * (size_t)(n + 1));
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
}

/* ---- nodes ------------------------------------------------------------------ */

static const char *tname(const Tensor *t) { return t ? t->name : ""; }

/* Conv and pools: kernel_shape, strides, pads (begins, then ends),
 * dilations, auto_pad. */
static void spatial_attrs(Saver *s, Onnx__NodeProto *np, const Node *n, int dilations) {
  const Attrs *a = &n->a;
  int k = a->nsp;
  if (k > 0) {
    int have_kernel = 1;
    for (int i = 0; i < k; i++) have_kernel &= a->kernel[i] > 0;
    if (have_kernel) attr_ints(s, np, "kernel_shape", k, a->kernel);
    attr_ints(s, np, "strides", k, a->stride);
    if (a->auto_pad == AP_NOTSET) {
      int64_t p[2 * IR_MAX_SP];
      for (int i = 0; i < k; i++) { p[i] = a->pad_begin[i]; p[i + k] = a->pad_end[i]; }
      attr_ints(s, np, "pads", 2 * k, p);
    }
    if (dilations) attr_ints(s, np, "dilations", k, a->dilation);
  }
  static const char *const ap[] = {"NOTSET", "SAME_UPPER", "SAME_LOWER", "VALID"};
  if (a->auto_pad != AP_NOTSET) attr_s(s, np, "auto_pad", ap[a->auto_pad]);
}

/* An activation from src to dst. */
static void act_node(Saver *s, const Node *n, Act act, double lo, double hi, double alpha,
                     const char *src, const char *dst, DType dt) {
  const char *nm = part(s, n, act == ACT_RELU ? "relu" : act == ACT_LEAKYRELU ? "leakyrelu" : "clip");
  if (act == ACT_RELU) {
    node(s, "Relu", nm, 1, &src, dst);
  } else if (act == ACT_LEAKYRELU) {
    attr_f(s, node(s, "LeakyRelu", nm, 1, &src, dst), "alpha", alpha);
  } else if (act == ACT_CLIP) {
    DType st = dt == DT_DOUBLE ? DT_DOUBLE : DT_FLOAT;
    const char *in[3] = {src, add_scalar(s, "clip_min", st, lo), add_scalar(s, "clip_max", st, hi)};
    node(s, "Clip", nm, 3, in, dst);
  } else {
    ir_fail_node(n, "cannot write its fused activation (%d) as ONNX", (int)act);
  }
}

/* The residual of a Conv with res_view: R[n][c - c0][start + p*step],
 * zero outside R's channels, as Slice (strided subsample) + Pad (channels). */
static const char *residual_view(Saver *s, const Node *n) {
  const Attrs *a = &n->a;
  const Tensor *r = n->in[3], *y = n->out[0];
  int k = y->rank - 2;
  if (k < 1 || k > IR_MAX_SP || r->rank != y->rank)
    ir_fail_node(n, "cannot write its residual view as ONNX (shapes unknown)");
  int64_t st[IR_MAX_SP], en[IR_MAX_SP], ax[IR_MAX_SP], sp[IR_MAX_SP];
  for (int i = 0; i < k; i++) {
    st[i] = a->res_start[i];
    sp[i] = a->res_step[i];
    en[i] = a->res_start[i] + (y->dims[2 + i] - 1) * a->res_step[i] + 1;
    ax[i] = 2 + i;
  }
  const char *sin[5] = {r->name, add_i64(s, "starts", k, st), add_i64(s, "ends", k, en),
                        add_i64(s, "axes", k, ax), add_i64(s, "steps", k, sp)};
  const char *sliced = fresh(s, r->name);
  node(s, "Slice", part(s, n, "slice"), 5, sin, sliced);
  int64_t after = y->dims[1] - a->res_c0 - r->dims[1];
  if (a->res_c0 == 0 && after == 0) return sliced;
  int64_t pads[2 * IR_MAX_RANK] = {0};
  pads[1] = a->res_c0;
  pads[y->rank + 1] = after;
  const char *pin[2] = {sliced, add_i64(s, "pads", 2 * y->rank, pads)};
  const char *padded = fresh(s, r->name);
  node(s, "Pad", part(s, n, "pad"), 2, pin, padded);
  return padded;
}

/* [C] per-channel constant as [C,1,...,1] for broadcasting over y. */
static const char *channel_const(Saver *s, const Node *n, const Tensor *c, int rank) {
  if (!ir_is_const(c) || c->rank != 1)
    ir_fail_node(n, "cannot write its normalised output as ONNX (scale/shift not constant vectors)");
  int64_t d[IR_MAX_RANK];
  d[0] = c->dims[0];
  for (int i = 1; i < rank - 1; i++) d[i] = 1;
  return add_init(s, c->name, c->dtype, rank - 1, d, c->data, ir_bytes(c));
}

/* Writes the base op of n into out; returns the NodeProto for attributes. */
static Onnx__NodeProto *base_node(Saver *s, const Node *n, int nin, const char *out) {
  const char *in[16];
  const char **inp = in;
  if (nin > 16) inp = ir_alloc(s->g, sizeof(char *) * (size_t)nin);
  for (int i = 0; i < nin; i++) inp[i] = tname(n->in[i]);
  while (nin > 0 && !*inp[nin - 1]) nin--;
  return node(s, op_info[n->op].name, label(s, n), nin, inp, out);
}

static int small_int(const Tensor *t) {
  return t && (t->dtype == DT_INT8 || t->dtype == DT_UINT8 || t->dtype == DT_INT16 ||
               t->dtype == DT_UINT16);
}

/* Opset 13, unless a node needs a form of opset 14: arithmetic on 8/16-bit
 * integers (Add-14...), Relu on integers (Relu-14), Reshape allowzero with
 * a 0 in the shape.  Opset 14 changes nothing else that is written here. */
static int needed_opset(const Graph *g) {
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    const Tensor *x = n->nin ? n->in[0] : NULL, *y = n->out[0];
    switch (n->op) {
    case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
      if (small_int(x) || small_int(n->in[1]) || small_int(y)) return 14;
      break;
    case OP_RELU:
      if ((x && x->dtype != DT_UNDEFINED && !dtype_is_float(x->dtype)) ||
          (y->dtype != DT_UNDEFINED && !dtype_is_float(y->dtype)))
        return 14;
      break;
    case OP_RESHAPE:
      if (n->a.allowzero) {
        const Tensor *sh = n->in[1];
        if (!ir_is_const(sh)) return 14;
        for (int64_t k = 0; k < ir_numel(sh); k++)
          if (ir_get_i64(sh, k) == 0) return 14;
      }
      break;
    default: break;
    }
  }
  return 13;
}

static void write_node(Saver *s, const Node *n) {
  Graph *g = s->g;
  const Attrs *a = &n->a;
  const char *y = n->out[0]->name;
  DType dt = n->out[0]->dtype;
  if (!op_info[n->op].name) ir_fail_node(n, "an internal op cannot be written as ONNX");
  /* a blocked layout (passes/layout.c) is physical only: the values, and
   * so the ONNX graph, are those of the plain tensor; a layout change is
   * an Identity */
  int residual = (n->op == OP_CONV || n->op == OP_GEMM) && n->nin > 3 && n->in[3];
  int post = n->op == OP_CONV && n->nout > 1 && n->out[1];
  int steps = residual + (a->act != ACT_NONE);
  /* the base op writes y, or the head of the epilogue chain */
  const char *cur = steps ? fresh(s, y) : y;
  Onnx__NodeProto *np;
  switch (n->op) {
  case OP_CONV:
    np = base_node(s, n, n->nin < 3 ? n->nin : 3, cur);
    spatial_attrs(s, np, n, 1);
    if (a->group != 1) attr_i(s, np, "group", a->group);
    break;
  case OP_GEMM: {
    const char *in[3] = {tname(n->in[0]), tname(n->in[1]), n->nin > 2 ? tname(n->in[2]) : ""};
    if (n->in[0]->rank > 2 && !a->trans_a) {   /* the removed Flatten, put back */
      const char *f = fresh(s, in[0]);
      attr_i(s, node(s, "Flatten", part(s, n, "flatten"), 1, in, f), "axis", 1);
      in[0] = f;
    }
    np = node(s, "Gemm", label(s, n), *in[2] ? 3 : 2, in, cur);
    attr_f(s, np, "alpha", a->alpha);
    attr_f(s, np, "beta", a->beta);
    attr_i(s, np, "transA", a->trans_a);
    attr_i(s, np, "transB", a->trans_b);
    break;
  }
  case OP_MAXPOOL:
    np = base_node(s, n, n->nin, cur);
    spatial_attrs(s, np, n, 1);
    if (a->ceil_mode) attr_i(s, np, "ceil_mode", 1);
    if (a->storage_order) attr_i(s, np, "storage_order", 1);
    break;
  case OP_AVERAGEPOOL:
    for (int i = 0; i < a->nsp; i++)
      if (a->dilation[i] != 1) ir_fail_node(n, "AveragePool dilations need opset 19; cannot write as opset 13");
    np = base_node(s, n, n->nin, cur);
    spatial_attrs(s, np, n, 0);
    if (a->ceil_mode) attr_i(s, np, "ceil_mode", 1);
    attr_i(s, np, "count_include_pad", a->count_include_pad);
    break;
  case OP_BATCHNORM:
    attr_f(s, base_node(s, n, n->nin, cur), "epsilon", a->epsilon);
    break;
  case OP_LEAKYRELU:
    attr_f(s, base_node(s, n, n->nin, cur), "alpha", a->alpha);
    break;
  case OP_HARDSIGMOID:
    np = base_node(s, n, n->nin, cur);
    attr_f(s, np, "alpha", a->alpha);
    attr_f(s, np, "beta", a->beta);
    break;
  case OP_HARDSWISH: {   /* opset 14; for 13: x * HardSigmoid(x, 1/6, 1/2) */
    if (s->opset >= 14) {
      base_node(s, n, n->nin, cur);
      break;
    }
    const char *x = tname(n->in[0]), *h = fresh(s, y);
    np = node(s, "HardSigmoid", part(s, n, "hardsigmoid"), 1, &x, h);
    attr_f(s, np, "alpha", 1.0 / 6);
    attr_f(s, np, "beta", 0.5);
    const char *in[2] = {x, h};
    node(s, "Mul", label(s, n), 2, in, cur);
    break;
  }
  case OP_FLATTEN: case OP_CONCAT: case OP_GATHER:
    attr_i(s, base_node(s, n, n->nin, cur), "axis", a->axis);
    break;
  case OP_SOFTMAX: case OP_LOGSOFTMAX: {
    int r = n->in[0]->rank;
    int64_t ax = a->axis < 0 && r >= 0 ? a->axis + r : a->axis;
    if (!a->softmax_2d || (r >= 0 && ax == r - 1)) {
      attr_i(s, base_node(s, n, n->nin, cur), "axis", a->softmax_2d ? ax : a->axis);
      break;
    }
    /* opset < 13 semantics: over the 2-D coercion at axis */
    const char *x = tname(n->in[0]), *f = fresh(s, y), *sm = fresh(s, y), *sh = fresh(s, y);
    attr_i(s, node(s, "Flatten", part(s, n, "flatten"), 1, &x, f), "axis", a->axis);
    attr_i(s, node(s, op_info[n->op].name, label(s, n), 1, &f, sm), "axis", 1);
    node(s, "Shape", part(s, n, "shape"), 1, &x, sh);
    const char *in[2] = {sm, sh};
    node(s, "Reshape", part(s, n, "reshape"), 2, in, cur);
    break;
  }
  case OP_TRANSPOSE:
    np = base_node(s, n, n->nin, cur);
    if (a->nperm) attr_ints(s, np, "perm", a->nperm, a->perm);
    break;
  case OP_CAST:
    attr_i(s, base_node(s, n, n->nin, cur), "to", a->to);
    break;
  case OP_SHAPE:
    if (a->start == 0 && a->end == INT64_MAX) {
      base_node(s, n, n->nin, cur);
    } else {   /* opset 15 start/end: Shape + Slice, which clamps alike */
      const char *sh = fresh(s, y);
      base_node(s, n, n->nin, sh);
      int64_t zero = 0;
      const char *in[4] = {sh, add_i64(s, "start", 1, &a->start), add_i64(s, "end", 1, &a->end),
                           add_i64(s, "axes", 1, &zero)};
      node(s, "Slice", part(s, n, "slice"), 4, in, cur);
    }
    break;
  case OP_RESHAPE:
    np = base_node(s, n, n->nin, cur);
    if (a->allowzero && s->opset >= 14) attr_i(s, np, "allowzero", 1);
    break;
  case OP_PAD: {
    static const char *const modes[] = {"constant", "reflect", "edge", "wrap"};
    if (a->pad_mode == PM_WRAP) ir_fail_node(n, "Pad mode 'wrap' needs opset 19; cannot write as opset 13");
    int nin = n->nin < 3 ? n->nin : 3;
    const char *in[3] = {tname(n->in[0]), nin > 1 ? tname(n->in[1]) : "", nin > 2 ? tname(n->in[2]) : ""};
    if (n->nin > 3 && n->in[3]) {   /* axes (opset 18): expand to all axes */
      const Tensor *ax = n->in[3], *p = n->in[1];
      int r = n->in[0]->rank;
      int64_t k = ir_numel(ax);
      if (!ir_is_const(ax) || !ir_is_const(p) || ir_numel(p) != 2 * k)
        ir_fail_node(n, "Pad with non-constant axes or pads inputs cannot be written as opset 13");
      if (r < 0)
        ir_fail_node(n, "Pad with an axes input needs the input's rank (run shape inference first)");
      int64_t full[2 * IR_MAX_RANK] = {0};
      for (int64_t i = 0; i < k; i++) {
        int64_t x = ir_get_i64(ax, i);
        if (x < 0) x += r;
        if (x < 0 || x >= r) ir_fail_node(n, "Pad axis %" PRId64 " out of range", x);
        full[x] = ir_get_i64(p, i);
        full[x + r] = ir_get_i64(p, i + k);
      }
      in[1] = add_i64(s, "pads", 2 * r, full);
    }
    while (nin > 1 && !*in[nin - 1]) nin--;
    np = node(s, "Pad", label(s, n), nin, in, cur);
    attr_s(s, np, "mode", modes[a->pad_mode]);
    break;
  }
  case OP_CONSTANTOFSHAPE:
    np = base_node(s, n, n->nin, cur);
    if (a->value) {
      Onnx__AttributeProto *at = attr(s, np, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
      at->t = const_proto(s, a->value);
    }
    break;
  default:
    base_node(s, n, n->nin, cur);
    break;
  }
  /* extra outputs (MaxPool indices, Dropout mask) of the base op */
  if (n->op == OP_MAXPOOL || n->op == OP_DROPOUT) {
    Onnx__NodeProto *b = s->nodes.v[s->nodes.n - 1];
    int nout = n->nout;
    while (nout > 1 && !n->out[nout - 1]) nout--;
    b->n_output = (size_t)nout;
    b->output = ir_alloc(g, sizeof(char *) * (size_t)(nout + 1));
    b->output[0] = (char *)cur;
    for (int i = 1; i < nout; i++) b->output[i] = (char *)tname(n->out[i]);
  }
  /* the epilogue: + residual, activation */
  if (residual) {
    const char *r = n->in[3]->name;
    if (a->res_view) r = residual_view(s, n);
    const char *dst = a->act != ACT_NONE ? fresh(s, y) : y;
    const char *in[2] = {cur, r};
    node(s, "Add", part(s, n, "add"), 2, in, dst);
    cur = dst;
  }
  if (a->act != ACT_NONE) act_node(s, n, a->act, a->act_lo, a->act_hi, a->act_alpha, cur, y, dt);
  if (post) {   /* out[1] = post_act(y * scale + shift), per channel */
    int r = n->out[0]->rank;
    if (r < 2) ir_fail_node(n, "cannot write its normalised output as ONNX (shape unknown)");
    const char *in[2] = {y, channel_const(s, n, n->in[4], r)};
    const char *m = fresh(s, n->out[1]->name);
    node(s, "Mul", part(s, n, "mul"), 2, in, m);
    const char *dst = a->post_act != ACT_NONE ? fresh(s, n->out[1]->name) : n->out[1]->name;
    const char *in2[2] = {m, channel_const(s, n, n->in[5], r)};
    node(s, "Add", part(s, n, "add"), 2, in2, dst);
    if (a->post_act != ACT_NONE)
      act_node(s, n, a->post_act, a->post_lo, a->post_hi, a->post_alpha, dst, n->out[1]->name, dt);
  }
}

/* ---- the model ------------------------------------------------------------- */

typedef struct FileBuf {
  ProtobufCBuffer base;
  FILE *f;
  int err;
} FileBuf;

static void fb_append(ProtobufCBuffer *b, size_t len, const uint8_t *data) {
  FileBuf *fb = (FileBuf *)b;
  if (!fb->err && len && fwrite(data, 1, len, fb->f) != len) fb->err = errno ? errno : EIO;
}

static Onnx__ModelProto *build_model(Saver *s) {
  Graph *g = s->g;
  ir_relink(g);
  Onnx__GraphProto *gp = ir_alloc(g, sizeof *gp);
  onnx__graph_proto__init(gp);
  gp->name = g->name;
  Vec inputs = {0}, outputs = {0};
  for (int i = 0; i < g->ninputs; i++) {
    const Tensor *t = g->inputs[i];
    if (t->rank < 0 || t->dtype == DT_UNDEFINED)
      ir_fail("input '%s' has no known type and shape; cannot write it as ONNX", t->name);
    vpush(g, &inputs, value_info(s, t));
  }
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    size_t first = s->nodes.n;
    write_node(s, n);
    if (!source_named(s, n)) continue;
    /* "resnet18.resnet:7:3": the position, not the folder (the file is
     * the same wherever the checkout lives) */
    const char *slash = strrchr(n->name, '/');
    char *doc = ir_strdup(g, slash ? slash + 1 : n->name);
    for (size_t k = first; k < s->nodes.n; k++) ((Onnx__NodeProto *)s->nodes.v[k])->doc_string = doc;
  }
  /* constants read by nodes (or by an expansion) become initializers;
   * a constant graph output becomes a Constant node (it needs a producer) */
  char *used = ir_alloc(g, (size_t)g->ntensors + 1);
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    int nin = n->op == OP_CONV && n->nin > 4 ? 4 : n->nin;   /* scale/shift: reshaped copies */
    for (int j = 0; j < nin; j++)
      if (n->in[j]) used[n->in[j]->id] = 1;
  }
  for (int i = 0; i < g->noutputs; i++) {
    Tensor *t = g->outputs[i];
    if (t->kind == TK_CONST && !used[t->id]) {
      Onnx__NodeProto *np = node(s, "Constant", t->name, 0, NULL, t->name);
      Onnx__AttributeProto *at = attr(s, np, "value", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
      at->t = const_proto(s, t);
    }
    vpush(g, &outputs, value_info(s, t));
  }
  Vec inits = {0};
  for (int i = 0; i < g->ntensors; i++) {
    Tensor *t = g->tensors[i];
    if (t->kind != TK_CONST || !used[i]) continue;
    if (t->layout != LAYOUT_PLAIN) ir_fail("constant '%s' has a blocked layout, which ONNX cannot express", t->name);
    vpush(g, &inits, const_proto(s, t));
  }
  for (size_t i = 0; i < s->inits.n; i++) vpush(g, &inits, s->inits.v[i]);
  for (int i = 0; i < g->ntensors; i++) {
    Tensor *t = g->tensors[i];
    if (t->kind == TK_ACT && !t->is_output && t->rank >= 0 && t->dtype != DT_UNDEFINED && t->producer)
      vpush(g, &s->vinfo, value_info(s, t));
  }
  gp->n_node = s->nodes.n;
  gp->node = (Onnx__NodeProto **)s->nodes.v;
  gp->n_initializer = inits.n;
  gp->initializer = (Onnx__TensorProto **)inits.v;
  gp->n_input = inputs.n;
  gp->input = (Onnx__ValueInfoProto **)inputs.v;
  gp->n_output = outputs.n;
  gp->output = (Onnx__ValueInfoProto **)outputs.v;
  gp->n_value_info = s->vinfo.n;
  gp->value_info = (Onnx__ValueInfoProto **)s->vinfo.v;

  Onnx__ModelProto *m = ir_alloc(g, sizeof *m);
  onnx__model_proto__init(m);
  m->has_ir_version = 1;
  m->ir_version = SAVE_IR;
  m->producer_name = (char *)"resnetc";
  m->producer_version = (char *)RESNETC_VERSION;
  Onnx__OperatorSetIdProto *os = ir_alloc(g, sizeof *os);
  onnx__operator_set_id_proto__init(os);
  os->domain = (char *)"";
  os->has_version = 1;
  os->version = s->opset;
  m->n_opset_import = 1;
  m->opset_import = ir_alloc(g, sizeof *m->opset_import);
  m->opset_import[0] = os;
  m->graph = gp;
  return m;
}

int onnx_save(Graph *g, const char *path) {
  static char src[4096];
  const char *prev = ir_source;
  snprintf(src, sizeof src, "%s", path);
  ir_source = src;
  IrTry t;
  FILE *volatile f = NULL;
  char *volatile tmp = NULL;
  if (ir_try_begin(&t)) {
    if (f) fclose(f);
    if (tmp) unlink(tmp);
    free(tmp);
    ir_source = prev;
    return -1;
  }
  Saver s;
  memset(&s, 0, sizeof s);
  s.g = g;
  s.opset = needed_opset(g);
  Onnx__ModelProto *m = build_model(&s);
  size_t tl = strlen(path) + 16;
  tmp = malloc(tl);
  if (!tmp) ir_fail("out of memory");
  snprintf(tmp, tl, "%s.tmpXXXXXX", path);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    free(tmp);
    tmp = NULL;
    ir_fail("cannot write: %s", strerror(errno));
  }
  mode_t um = umask(0);   /* mkstemp makes 0600: give the usual mode */
  umask(um);
  fchmod(fd, 0666 & ~um);
  f = fdopen(fd, "wb");
  if (!f) {
    close(fd);
    ir_fail("cannot write: %s", strerror(errno));
  }
  setvbuf(f, NULL, _IOFBF, (size_t)1 << 20);
  FileBuf fb = {{fb_append}, f, 0};
  errno = 0;
  onnx__model_proto__pack_to_buffer(m, &fb.base);
  int err = fb.err;
  if (fflush(f) != 0 && !err) err = errno ? errno : EIO;
  if (fclose(f) != 0 && !err) err = errno ? errno : EIO;
  f = NULL;
  if (err) ir_fail("cannot write: %s", strerror(err));
  if (rename(tmp, path) != 0) ir_fail("cannot write: %s", strerror(errno));
  free(tmp);
  tmp = NULL;
  ir_try_end(&t);
  ir_source = prev;
  return 0;
}
