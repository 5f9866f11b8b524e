/* test_onnx.c - unit tests of the ONNX front end (compiler/front_onnx.c)
 * and of onnx_save.
 *
 * Models are built in C with protobuf-c (the tb_* helpers), serialized and
 * loaded; the IR is checked against what the model says.  Error cases
 * assert that loading returns NULL and that the one printed line contains
 * the expected words.  Real files: every .onnx in ../shared/models and every
 * ONNX test case listed in ../shared/onnx-tests/MANIFEST.tsv (its op list
 * and input/output counts are the reference). */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <dirent.h>

#include "front_onnx.h"
#include "onnxcases.h"
#include "onnx.pb-c.h"
#include "passes.h"
#include "shape.h"
#include "testutil.h"

/* ---- building ModelProtos ---------------------------------------------- */

static void **pool;
static size_t npool, cap_pool;

static void *tb_new(size_t n) {
  void *p = calloc(1, n ? n : 1);
  if (npool == cap_pool) {
    cap_pool = cap_pool ? 2 * cap_pool : 256;
    pool = realloc(pool, cap_pool * sizeof *pool);
  }
  pool[npool++] = p;
  return p;
}

static void tb_free_all(void) {
  for (size_t i = 0; i < npool; i++) free(pool[i]);
  npool = 0;
}

static char *tb_str(const char *s) {
  char *d = tb_new(strlen(s) + 1);
  strcpy(d, s);
  return d;
}

static void *tb_append(void *arr, size_t n, size_t sz, const void *elem) {
  char *na = tb_new((n + 1) * sz);
  if (n) memcpy(na, arr, n * sz);
  memcpy(na + n * sz, elem, sz);
  return na;
}
#define APPEND(arr, n, val) ((arr) = tb_append((arr), (n), sizeof *(arr), &(val)), (n)++)

static Onnx__ModelProto *tb_model(int64_t opset) {
  Onnx__ModelProto *m = tb_new(sizeof *m);
  onnx__model_proto__init(m);
  m->has_ir_version = 1;
  m->ir_version = 8;
  Onnx__OperatorSetIdProto *os = tb_new(sizeof *os);
  onnx__operator_set_id_proto__init(os);
  os->domain = tb_str("");
  os->has_version = 1;
  os->version = opset;
  APPEND(m->opset_import, m->n_opset_import, os);
  m->graph = tb_new(sizeof *m->graph);
  onnx__graph_proto__init(m->graph);
  m->graph->name = tb_str("test");
  return m;
}

/* rank -1: no shape; a dim of -1: dim_param "N" */
static Onnx__ValueInfoProto *tb_vi(const char *name, int elem, int rank, const int64_t *dims) {
  Onnx__ValueInfoProto *vi = tb_new(sizeof *vi);
  onnx__value_info_proto__init(vi);
  vi->name = tb_str(name);
  vi->type = tb_new(sizeof *vi->type);
  onnx__type_proto__init(vi->type);
  vi->type->value_case = ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE;
  vi->type->tensor_type = tb_new(sizeof *vi->type->tensor_type);
  onnx__type_proto__tensor__init(vi->type->tensor_type);
  vi->type->tensor_type->has_elem_type = 1;
  vi->type->tensor_type->elem_type = elem;
  if (rank >= 0) {
    Onnx__TensorShapeProto *s = tb_new(sizeof *s);
    onnx__tensor_shape_proto__init(s);
    for (int i = 0; i < rank; i++) {
      Onnx__TensorShapeProto__Dimension *d = tb_new(sizeof *d);
      onnx__tensor_shape_proto__dimension__init(d);
      if (dims[i] >= 0) {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE;
        d->dim_value = dims[i];
      } else {
        d->value_case = ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM;
        d->dim_param = tb_str("N");
      }
      APPEND(s->dim, s->n_dim, d);
    }
    vi->type->tensor_type->shape = s;
  }
  return vi;
}

static void tb_input(Onnx__ModelProto *m, const char *name, int elem, int rank, const int64_t *dims) {
  Onnx__ValueInfoProto *vi = tb_vi(name, elem, rank, dims);
  APPEND(m->graph->input, m->graph->n_input, vi);
}

static void tb_output(Onnx__ModelProto *m, const char *name, int elem, int rank, const int64_t *dims) {
  Onnx__ValueInfoProto *vi = tb_vi(name, elem, rank, dims);
  APPEND(m->graph->output, m->graph->n_output, vi);
}

/* ins/outs: comma-separated names, empty entries kept ("x,,max") */
static void tb_names(const char *list, char ***arr, size_t *n) {
  if (!list) return;
  const char *p = list;
  for (;;) {
    size_t k = strcspn(p, ",");
    char *s = tb_new(k + 1);
    memcpy(s, p, k);
    APPEND(*arr, *n, s);
    if (!p[k]) break;
    p += k + 1;
  }
}

static Onnx__NodeProto *tb_node(Onnx__ModelProto *m, const char *op, const char *name,
                                const char *ins, const char *outs) {
  Onnx__NodeProto *np = tb_new(sizeof *np);
  onnx__node_proto__init(np);
  np->op_type = tb_str(op);
  np->name = tb_str(name);
  tb_names(ins, &np->input, &np->n_input);
  tb_names(outs, &np->output, &np->n_output);
  APPEND(m->graph->node, m->graph->n_node, np);
  return np;
}

static Onnx__AttributeProto *tb_attr(Onnx__NodeProto *np, const char *name, int type) {
  Onnx__AttributeProto *a = tb_new(sizeof *a);
  onnx__attribute_proto__init(a);
  a->name = tb_str(name);
  a->has_type = 1;
  a->type = (Onnx__AttributeProto__AttributeType)type;
  APPEND(np->attribute, np->n_attribute, a);
  return a;
}

static void tb_attr_i(Onnx__NodeProto *np, const char *name, int64_t v) {
  Onnx__AttributeProto *a = tb_attr(np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT);
  a->has_i = 1;
  a->i = v;
}

static void tb_attr_f(Onnx__NodeProto *np, const char *name, float v) {
  Onnx__AttributeProto *a = tb_attr(np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT);
  a->has_f = 1;
  a->f = v;
}

static void tb_attr_s(Onnx__NodeProto *np, const char *name, const char *v) {
  Onnx__AttributeProto *a = tb_attr(np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING);
  a->has_s = 1;
  a->s.data = (uint8_t *)tb_str(v);
  a->s.len = strlen(v);
}

static void tb_attr_ints(Onnx__NodeProto *np, const char *name, int n, const int64_t *v) {
  Onnx__AttributeProto *a = tb_attr(np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS);
  a->ints = tb_new(sizeof(int64_t) * (size_t)n);
  memcpy(a->ints, v, sizeof(int64_t) * (size_t)n);
  a->n_ints = (size_t)n;
}

static void tb_attr_floats(Onnx__NodeProto *np, const char *name, int n, const float *v) {
  Onnx__AttributeProto *a = tb_attr(np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS);
  a->floats = tb_new(sizeof(float) * (size_t)n);
  memcpy(a->floats, v, sizeof(float) * (size_t)n);
  a->n_floats = (size_t)n;
}

static void tb_attr_t(Onnx__NodeProto *np, const char *name, Onnx__TensorProto *t) {
  Onnx__AttributeProto *a = tb_attr(np, name, ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR);
  a->t = t;
}

/* A tensor with raw_data (raw NULL: no data field at all). */
static Onnx__TensorProto *tb_tensor(const char *name, int dtype, int rank, const int64_t *dims,
                                    const void *raw, size_t rawlen) {
  Onnx__TensorProto *t = tb_new(sizeof *t);
  onnx__tensor_proto__init(t);
  t->name = tb_str(name);
  t->has_data_type = 1;
  t->data_type = dtype;
  t->dims = tb_new(sizeof(int64_t) * (size_t)(rank + 1));
  for (int i = 0; i < rank; i++) t->dims[i] = dims[i];
  t->n_dims = (size_t)rank;
  if (raw) {
    t->has_raw_data = 1;
    t->raw_data.data = tb_new(rawlen);
    memcpy(t->raw_data.data, raw, rawlen);
    t->raw_data.len = rawlen;
  }
  return t;
}

static void tb_init(Onnx__ModelProto *m, Onnx__TensorProto *t) {
  APPEND(m->graph->initializer, m->graph->n_initializer, t);
}

static uint8_t *tb_pack(const Onnx__ModelProto *m, size_t *len) {
  *len = onnx__model_proto__get_packed_size(m);
  uint8_t *buf = tb_new(*len);
  onnx__model_proto__pack(m, buf);
  return buf;
}

/* ---- loading, with stderr captured ------------------------------------ */

/* stderr captured (testutil.h); the text stays valid until the next capture. */
static char *captured;

static void capture_begin(void) { rn_capture_begin(); }

static const char *capture_end(void) {
  free(captured);
  return captured = rn_capture_end();
}

static Graph *load_opts(const Onnx__ModelProto *m, const OnnxOptions *o) {
  size_t len;
  uint8_t *buf = tb_pack(m, &len);
  return onnx_load_buffer(buf, len, "test.onnx", o);
}

static Graph *load(const Onnx__ModelProto *m) {
  capture_begin();
  Graph *g = load_opts(m, NULL);
  const char *msg = capture_end();
  if (!g) fprintf(stderr, "unexpected load failure: %s", msg);
  CU_ASSERT_PTR_NOT_NULL(g);
  if (g) CU_ASSERT_EQUAL(ir_verify(g, "onnx_load"), 0);
  return g;
}

/* Loads a model that must fail; returns the printed message. */
static const char *load_fail_buf(const void *buf, size_t len, const char *name) {
  capture_begin();
  Graph *g = onnx_load_buffer(buf, len, name, NULL);
  const char *msg = capture_end();
  CU_ASSERT_PTR_NULL(g);
  ir_graph_free(g);
  return msg;
}

static const char *load_fail(const Onnx__ModelProto *m) {
  size_t len;
  uint8_t *buf = tb_pack(m, &len);
  return load_fail_buf(buf, len, "test.onnx");
}

#define ASSERT_HAS(msg, sub)                                                   \
  do {                                                                         \
    const char *m_ = (msg);                                                    \
    if (!strstr(m_, (sub))) fprintf(stderr, "\nmessage '%s' lacks '%s'\n", m_, (sub)); \
    CU_ASSERT_PTR_NOT_NULL(strstr(m_, (sub)));                                 \
  } while (0)

static Node *find_node(Graph *g, Op op) {
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i]->op == op) return g->nodes[i];
  return NULL;
}

static int count_op(Graph *g, Op op) {
  int n = 0;
  for (int i = 0; i < g->nnodes; i++) n += g->nodes[i]->op == op;
  return n;
}

static const int64_t D4[4] = {1, 3, 8, 8};

/* float x[1,3,8,8] -> one node OP named NAME reading INPUTS -> float
 * y[1,3,8,8]; the node into *np (if not NULL) for its attributes. */
static Onnx__ModelProto *tb_one_node(int64_t opset, const char *op, const char *name, const char *inputs,
                                     Onnx__NodeProto **np) {
  Onnx__ModelProto *m = tb_model(opset);
  tb_input(m, "x", 1, 4, D4);
  Onnx__NodeProto *n = tb_node(m, op, name, inputs, "y");
  tb_output(m, "y", 1, 4, D4);
  if (np) *np = n;
  return m;
}

/* x[1,3,8,8] -> Relu -> y, the smallest valid model */
static Onnx__ModelProto *relu_model(int64_t opset) { return tb_one_node(opset, "Relu", "r", "x", NULL); }

/* m must be refused with a message holding want; frees the models built. */
static void expect_fail(const Onnx__ModelProto *m, const char *want) {
  ASSERT_HAS(load_fail(m), want);
  tb_free_all();
}

/* ---- basic structure ---------------------------------------------------- */

static void test_conv_bn_relu(void) {
  Onnx__ModelProto *m = tb_model(13);
  int64_t xd[4] = {-1, 3, 8, 8}, wd[4] = {4, 3, 3, 3}, cd[1] = {4};
  float w[108], s[4] = {1, 2, 3, 4};
  for (int i = 0; i < 108; i++) w[i] = (float)i * 0.5f;
  tb_input(m, "x", 1, 4, xd);
  tb_init(m, tb_tensor("w", 1, 4, wd, w, sizeof w));
  tb_init(m, tb_tensor("s", 1, 1, cd, s, sizeof s));
  /* listed out of order: relu first */
  tb_node(m, "Relu", "relu", "b", "y");
  Onnx__NodeProto *c = tb_node(m, "Conv", "conv", "x,w", "c");
  int64_t k[2] = {3, 3}, st[2] = {2, 1}, p[4] = {1, 0, 2, 1}, dl[2] = {1, 2};
  tb_attr_ints(c, "kernel_shape", 2, k);
  tb_attr_ints(c, "strides", 2, st);
  tb_attr_ints(c, "pads", 4, p);
  tb_attr_ints(c, "dilations", 2, dl);
  tb_attr_i(c, "group", 1);
  Onnx__NodeProto *b = tb_node(m, "BatchNormalization", "bn", "c,s,s,s,s", "b");
  tb_attr_f(b, "epsilon", 1e-3f);
  tb_output(m, "y", 1, 4, xd);
  OnnxOptions o = {2, 0};
  capture_begin();
  Graph *g = load_opts(m, &o);
  capture_end();
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(ir_verify(g, "load"), 0);
  CU_ASSERT_EQUAL(g->opset, 13);
  CU_ASSERT_EQUAL(g->nnodes, 3);
  CU_ASSERT_EQUAL(g->nodes[0]->op, OP_CONV);        /* toposorted */
  CU_ASSERT_EQUAL(g->nodes[1]->op, OP_BATCHNORM);
  CU_ASSERT_EQUAL(g->nodes[2]->op, OP_RELU);
  CU_ASSERT_EQUAL(g->ninputs, 1);
  Tensor *x = g->inputs[0];
  CU_ASSERT_EQUAL(x->kind, TK_INPUT);
  CU_ASSERT_EQUAL(x->rank, 4);
  CU_ASSERT_EQUAL(x->dims[0], 2);                    /* batch from the options */
  CU_ASSERT_EQUAL(x->dims[3], 8);
  Node *cv = g->nodes[0];
  CU_ASSERT_STRING_EQUAL(cv->name, "conv");
  CU_ASSERT_EQUAL(cv->a.nsp, 2);
  CU_ASSERT_EQUAL(cv->a.kernel[0], 3);
  CU_ASSERT_EQUAL(cv->a.stride[0], 2);
  CU_ASSERT_EQUAL(cv->a.stride[1], 1);
  CU_ASSERT_EQUAL(cv->a.pad_begin[0], 1);
  CU_ASSERT_EQUAL(cv->a.pad_begin[1], 0);
  CU_ASSERT_EQUAL(cv->a.pad_end[0], 2);
  CU_ASSERT_EQUAL(cv->a.pad_end[1], 1);
  CU_ASSERT_EQUAL(cv->a.dilation[1], 2);
  CU_ASSERT_EQUAL(cv->a.group, 1);
  CU_ASSERT_EQUAL(cv->nin, 2);
  Tensor *wt = cv->in[1];
  CU_ASSERT_EQUAL(wt->kind, TK_CONST);
  CU_ASSERT_EQUAL(wt->rank, 4);
  CU_ASSERT_EQUAL(wt->dims[0], 4);
  CU_ASSERT_EQUAL(((float *)wt->data)[107], 53.5f);
  CU_ASSERT_DOUBLE_EQUAL(g->nodes[1]->a.epsilon, 1e-3, 1e-9);
  CU_ASSERT_EQUAL(g->noutputs, 1);
  CU_ASSERT_STRING_EQUAL(g->outputs[0]->name, "y");
  CU_ASSERT_EQUAL(g->outputs[0]->dims[0], 2);
  ir_graph_free(g);
  tb_free_all();
}

static void test_initializer_in_inputs_and_optional(void) {
  /* IR 3 style: the initializer is also a graph input; Clip(x, "", max) */
  Onnx__ModelProto *m = tb_model(13);
  m->ir_version = 3;
  int64_t d0[1] = {0};
  float mx = 6.0f;
  tb_input(m, "x", 1, 4, D4);
  tb_input(m, "max", 1, 0, d0);
  tb_init(m, tb_tensor("max", 1, 0, d0, &mx, 4));
  tb_node(m, "Clip", "clip", "x,,max", "y");
  tb_output(m, "y", 1, -1, NULL);
  Graph *g = load(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->ninputs, 1);
  Node *n = g->nodes[0];
  CU_ASSERT_EQUAL(n->nin, 3);
  CU_ASSERT_PTR_NULL(n->in[1]);
  CU_ASSERT_EQUAL(n->in[2]->kind, TK_CONST);
  CU_ASSERT_EQUAL(n->in[2]->rank, 0);                /* 0-d scalar */
  CU_ASSERT_EQUAL(ir_get_f64(n->in[2], 0), 6.0);
  CU_ASSERT_EQUAL(g->outputs[0]->rank, -1);          /* no shape given */
  ir_graph_free(g);
  tb_free_all();
}

static void test_typed_fields(void) {
  /* each typed field, and the bit-pattern types in int32_data */
  Onnx__ModelProto *m = tb_model(13);
  int64_t d3[1] = {3}, d0[1] = {0}, d2x0[2] = {2, 0};
  tb_input(m, "x", 1, 1, d3);
  Onnx__TensorProto *t;
  t = tb_tensor("f", 1, 1, d3, NULL, 0);
  float fv[3] = {1.5f, -2, 3};
  t->float_data = fv; t->n_float_data = 3;
  tb_init(m, t);
  int32_t iv[3] = {-1, 127, -128};
  t = tb_tensor("i8", 3, 1, d3, NULL, 0);
  t->int32_data = iv; t->n_int32_data = 3;
  tb_init(m, t);
  int32_t hv[3] = {0x3c00, 0xc000, 0x7c00};           /* 1, -2, inf in float16 */
  t = tb_tensor("h", 10, 1, d3, NULL, 0);
  t->int32_data = hv; t->n_int32_data = 3;
  tb_init(m, t);
  int32_t bv[3] = {0, 1, 5};
  t = tb_tensor("b", 9, 1, d3, NULL, 0);
  t->int32_data = bv; t->n_int32_data = 3;
  tb_init(m, t);
  int32_t sv[3] = {-300, 300, 65535};
  t = tb_tensor("u16", 4, 1, d3, NULL, 0);
  t->int32_data = sv; t->n_int32_data = 3;
  tb_init(m, t);
  int64_t lv[3] = {INT64_MIN, 0, INT64_MAX};
  t = tb_tensor("l", 7, 1, d3, NULL, 0);
  t->int64_data = lv; t->n_int64_data = 3;
  tb_init(m, t);
  double dv[3] = {0.1, 1e300, -3};
  t = tb_tensor("d", 11, 1, d3, NULL, 0);
  t->double_data = dv; t->n_double_data = 3;
  tb_init(m, t);
  uint64_t uv[3] = {1, 4294967295u, 7};
  t = tb_tensor("u32", 12, 1, d3, NULL, 0);
  t->uint64_data = uv; t->n_uint64_data = 3;
  tb_init(m, t);
  uint64_t u64[3] = {UINT64_MAX, 2, 3};
  t = tb_tensor("u64", 13, 1, d3, NULL, 0);
  t->uint64_data = u64; t->n_uint64_data = 3;
  tb_init(m, t);
  tb_init(m, tb_tensor("empty", 1, 1, d0, NULL, 0));          /* empty, no data */
  tb_init(m, tb_tensor("empty2", 1, 2, d2x0, "", 0));         /* empty raw_data */
  float sc = 2.5f;
  tb_init(m, tb_tensor("scalar", 1, 0, NULL, &sc, 4));
  tb_node(m, "Relu", "r", "x", "y");
  tb_output(m, "y", 1, 1, d3);
  capture_begin();
  Graph *g = load_opts(m, NULL);
  const char *msg = capture_end();
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  /* the float16 inf triggers the one NaN/Inf warning, naming the tensor */
  ASSERT_HAS(msg, "warning: tensor 'h' contains NaN or Inf");
  Tensor *x;
  x = ir_find_tensor(g, "f");
  CU_ASSERT(x && x->dtype == DT_FLOAT && ir_get_f64(x, 0) == 1.5 && ir_get_f64(x, 1) == -2);
  x = ir_find_tensor(g, "i8");
  CU_ASSERT(x && x->dtype == DT_INT8 && ir_get_i64(x, 0) == -1 && ir_get_i64(x, 1) == 127 &&
            ir_get_i64(x, 2) == -128);
  x = ir_find_tensor(g, "h");
  CU_ASSERT(x && x->dtype == DT_FLOAT16 && ir_get_f64(x, 0) == 1 && ir_get_f64(x, 1) == -2 &&
            isinf(ir_get_f64(x, 2)));
  x = ir_find_tensor(g, "b");
  CU_ASSERT(x && x->dtype == DT_BOOL && ir_get_i64(x, 0) == 0 && ir_get_i64(x, 2) == 1);
  x = ir_find_tensor(g, "u16");
  CU_ASSERT(x && x->dtype == DT_UINT16 && ir_get_i64(x, 1) == 300 && ir_get_i64(x, 2) == 65535);
  x = ir_find_tensor(g, "l");
  CU_ASSERT(x && x->dtype == DT_INT64 && ir_get_i64(x, 0) == INT64_MIN && ir_get_i64(x, 2) == INT64_MAX);
  x = ir_find_tensor(g, "d");
  CU_ASSERT(x && x->dtype == DT_DOUBLE && ir_get_f64(x, 1) == 1e300);
  x = ir_find_tensor(g, "u32");
  CU_ASSERT(x && x->dtype == DT_UINT32 && ir_get_i64(x, 1) == 4294967295LL);
  x = ir_find_tensor(g, "u64");
  CU_ASSERT(x && x->dtype == DT_UINT64 && ((uint64_t *)x->data)[0] == UINT64_MAX);
  x = ir_find_tensor(g, "empty");
  CU_ASSERT(x && x->rank == 1 && x->dims[0] == 0 && ir_numel(x) == 0);
  x = ir_find_tensor(g, "empty2");
  CU_ASSERT(x && x->rank == 2 && ir_numel(x) == 0);
  x = ir_find_tensor(g, "scalar");
  CU_ASSERT(x && x->rank == 0 && ir_numel(x) == 1 && ir_get_f64(x, 0) == 2.5);
  ir_graph_free(g);
  tb_free_all();
}

static void test_constant_nodes(void) {
  Onnx__ModelProto *m = tb_model(13);
  tb_input(m, "x", 1, 4, D4);
  int64_t d2[1] = {2};
  int64_t sh[2] = {1, -1};
  Onnx__NodeProto *c = tb_node(m, "Constant", "c1", NULL, "shape");
  tb_attr_t(c, "value", tb_tensor("ignored", 7, 1, d2, sh, sizeof sh));
  c = tb_node(m, "Constant", "c2", NULL, "f");
  tb_attr_f(c, "value_float", 0.25f);
  c = tb_node(m, "Constant", "c3", NULL, "fs");
  float fs[3] = {1, 2, 3};
  tb_attr_floats(c, "value_floats", 3, fs);
  c = tb_node(m, "Constant", "c4", NULL, "i");
  tb_attr_i(c, "value_int", -7);
  c = tb_node(m, "Constant", "c5", NULL, "is");
  tb_attr_ints(c, "value_ints", 2, sh);
  tb_node(m, "Reshape", "reshape", "x,shape", "r");
  tb_node(m, "Mul", "mul", "r,f", "m1");
  tb_node(m, "Add", "add", "m1,fs", "m2");
  tb_node(m, "Add", "add2", "m2,i", "m3");
  tb_node(m, "Reshape", "reshape2", "m3,is", "y");
  tb_output(m, "y", 1, -1, NULL);
  Graph *g = load(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->nnodes, 5);                     /* Constants are not nodes */
  Tensor *t = ir_find_tensor(g, "shape");
  CU_ASSERT(t && t->kind == TK_CONST && t->dtype == DT_INT64 && t->dims[0] == 2 &&
            ir_get_i64(t, 1) == -1);
  t = ir_find_tensor(g, "f");
  CU_ASSERT(t && t->dtype == DT_FLOAT && t->rank == 0 && ir_get_f64(t, 0) == 0.25);
  t = ir_find_tensor(g, "fs");
  CU_ASSERT(t && t->rank == 1 && t->dims[0] == 3 && ir_get_f64(t, 2) == 3);
  t = ir_find_tensor(g, "i");
  CU_ASSERT(t && t->dtype == DT_INT64 && t->rank == 0 && ir_get_i64(t, 0) == -7);
  t = ir_find_tensor(g, "is");
  CU_ASSERT(t && t->rank == 1 && t->dims[0] == 2);
  CU_ASSERT_PTR_NULL(ir_find_tensor(g, "ignored"));
  ir_graph_free(g);
  tb_free_all();

  /* string and sparse forms are refused clearly */
  m = tb_model(13);
  tb_input(m, "x", 1, 4, D4);
  c = tb_node(m, "Constant", "cs", NULL, "s");
  tb_attr_s(c, "value_string", "hello");
  tb_node(m, "Relu", "r", "x", "y");
  tb_output(m, "y", 1, 4, D4);
  ASSERT_HAS(load_fail(m), "node 'cs' (Constant): string constants are not supported");
  tb_free_all();
}

/* ---- attribute normalisation ------------------------------------------ */

static void test_old_opset_attrs_become_inputs(void) {
  /* opset 9: Clip(min,max attrs), Pad(pads,value), Unsqueeze/Squeeze(axes),
   * Dropout(ratio), Slice(starts,ends,axes) attrs -> constant inputs */
  Onnx__ModelProto *m = tb_model(9);
  tb_input(m, "x", 1, 4, D4);
  Onnx__NodeProto *n = tb_node(m, "Clip", "clip", "x", "a");
  tb_attr_f(n, "min", -1.5f);
  tb_attr_f(n, "max", 2.5f);
  n = tb_node(m, "Pad", "pad", "a", "b");
  int64_t pads[8] = {0, 0, 1, 2, 0, 0, 3, 4};
  tb_attr_ints(n, "pads", 8, pads);
  tb_attr_f(n, "value", 0.5f);
  tb_attr_s(n, "mode", "reflect");
  n = tb_node(m, "Unsqueeze", "unsq", "b", "c");
  int64_t ax[1] = {0};
  tb_attr_ints(n, "axes", 1, ax);
  n = tb_node(m, "Squeeze", "sq", "c", "d");
  tb_attr_ints(n, "axes", 1, ax);
  n = tb_node(m, "Dropout", "drop", "d", "e");
  tb_attr_f(n, "ratio", 0.25f);
  n = tb_node(m, "Slice", "slice", "e", "f");
  int64_t st[2] = {1, 0}, en[2] = {3, 5}, sa[2] = {2, 3};
  tb_attr_ints(n, "starts", 2, st);
  tb_attr_ints(n, "ends", 2, en);
  tb_attr_ints(n, "axes", 2, sa);
  n = tb_node(m, "Softmax", "sm", "f", "y");
  tb_output(m, "y", 1, -1, NULL);
  Graph *g = load(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Node *c = find_node(g, OP_CLIP);
  CU_ASSERT(c && c->nin == 3 && ir_is_const(c->in[1]) && ir_get_f64(c->in[1], 0) == -1.5 &&
            ir_get_f64(c->in[2], 0) == 2.5 && c->in[1]->rank == 0);
  Node *p = find_node(g, OP_PAD);
  CU_ASSERT(p && p->nin == 3 && p->in[1]->dtype == DT_INT64 && p->in[1]->dims[0] == 8 &&
            ir_get_i64(p->in[1], 3) == 2 && ir_get_i64(p->in[1], 7) == 4 &&
            ir_get_f64(p->in[2], 0) == 0.5 && p->a.pad_mode == PM_REFLECT);
  Node *u = find_node(g, OP_UNSQUEEZE);
  CU_ASSERT(u && u->nin == 2 && ir_get_i64(u->in[1], 0) == 0);
  Node *s = find_node(g, OP_SQUEEZE);
  CU_ASSERT(s && s->nin == 2 && s->in[1]->dtype == DT_INT64);
  Node *d = find_node(g, OP_DROPOUT);
  CU_ASSERT(d && d->nin == 2 && ir_get_f64(d->in[1], 0) == 0.25);
  Node *sl = find_node(g, OP_SLICE);
  CU_ASSERT(sl && sl->nin == 4 && ir_get_i64(sl->in[1], 0) == 1 && ir_get_i64(sl->in[2], 1) == 5 &&
            ir_get_i64(sl->in[3], 1) == 3);
  Node *sm = find_node(g, OP_SOFTMAX);
  CU_ASSERT(sm && sm->a.axis == 1 && sm->a.softmax_2d == 1);   /* opset < 13 */
  ir_graph_free(g);
  tb_free_all();

  /* opset 13: Softmax default axis -1, no coercion; Squeeze axes is an input */
  m = tb_model(13);
  tb_input(m, "x", 1, 4, D4);
  tb_node(m, "Softmax", "sm", "x", "y");
  tb_output(m, "y", 1, -1, NULL);
  g = load(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT(g->nodes[0]->a.axis == -1 && g->nodes[0]->a.softmax_2d == 0);
  ir_graph_free(g);
  tb_free_all();

  /* opset 13: axes as an attribute is no longer valid */
  m = tb_model(13);
  tb_input(m, "x", 1, 4, D4);
  n = tb_node(m, "Unsqueeze", "u", "x", "y");
  tb_attr_ints(n, "axes", 1, ax);
  tb_output(m, "y", 1, -1, NULL);
  ASSERT_HAS(load_fail(m), "node 'u' (Unsqueeze): attribute 'axes' is not part of Unsqueeze in opset 13");
  tb_free_all();
}

static void test_pool_gemm_cast_attrs(void) {
  Onnx__ModelProto *m = tb_model(22);
  tb_input(m, "x", 1, 4, D4);
  Onnx__NodeProto *n = tb_node(m, "MaxPool", "mp", "x", "a,idx");
  int64_t k[2] = {2, 2};
  tb_attr_ints(n, "kernel_shape", 2, k);
  tb_attr_s(n, "auto_pad", "SAME_LOWER");
  tb_attr_i(n, "ceil_mode", 1);
  tb_attr_i(n, "storage_order", 1);
  n = tb_node(m, "AveragePool", "ap", "a", "b");
  int64_t k3[1] = {3};
  tb_attr_ints(n, "kernel_shape", 1, k3);
  tb_attr_i(n, "count_include_pad", 1);
  n = tb_node(m, "Flatten", "fl", "b", "c");
  tb_attr_i(n, "axis", 2);
  n = tb_node(m, "Gemm", "gemm", "c,c", "d");
  tb_attr_f(n, "alpha", 0.25f);
  tb_attr_f(n, "beta", 0.5f);
  tb_attr_i(n, "transA", 1);
  tb_attr_i(n, "transB", 1);
  n = tb_node(m, "Transpose", "tr", "d", "e");
  int64_t perm[2] = {1, 0};
  tb_attr_ints(n, "perm", 2, perm);
  n = tb_node(m, "Cast", "cast", "e", "f");
  tb_attr_i(n, "to", 7);
  n = tb_node(m, "Shape", "shape", "f", "g");
  tb_attr_i(n, "start", 1);
  tb_attr_i(n, "end", -1);
  n = tb_node(m, "ConstantOfShape", "cos", "g", "h");
  int64_t one[1] = {1};
  int32_t v = 3;
  tb_attr_t(n, "value", tb_tensor("value", 6, 1, one, &v, 4));
  n = tb_node(m, "LeakyRelu", "lr", "h", "i");
  tb_attr_f(n, "alpha", 0.125f);
  n = tb_node(m, "HardSigmoid", "hs", "i", "j");
  n = tb_node(m, "Concat", "cat", "j,j,j", "y");
  tb_attr_i(n, "axis", -1);
  tb_output(m, "y", 1, -1, NULL);
  tb_output(m, "idx", 7, -1, NULL);
  Graph *g = load(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Node *x = find_node(g, OP_MAXPOOL);
  CU_ASSERT(x && x->nout == 2 && x->a.nsp == 2 && x->a.kernel[1] == 2 && x->a.auto_pad == AP_SAME_LOWER &&
            x->a.ceil_mode == 1 && x->a.storage_order == 1 && x->a.stride[0] == 1);
  x = find_node(g, OP_AVERAGEPOOL);
  CU_ASSERT(x && x->a.nsp == 1 && x->a.kernel[0] == 3 && x->a.count_include_pad == 1 && x->a.ceil_mode == 0);
  x = find_node(g, OP_FLATTEN);
  CU_ASSERT(x && x->a.axis == 2);
  x = find_node(g, OP_GEMM);
  CU_ASSERT(x && x->a.alpha == 0.25 && x->a.beta == 0.5 && x->a.trans_a == 1 && x->a.trans_b == 1);
  x = find_node(g, OP_TRANSPOSE);
  CU_ASSERT(x && x->a.nperm == 2 && x->a.perm[0] == 1);
  x = find_node(g, OP_CAST);
  CU_ASSERT(x && x->a.to == DT_INT64);
  x = find_node(g, OP_SHAPE);
  CU_ASSERT(x && x->a.start == 1 && x->a.end == -1);
  x = find_node(g, OP_CONSTANTOFSHAPE);
  CU_ASSERT(x && x->a.value && x->a.value->dtype == DT_INT32 && ir_get_i64(x->a.value, 0) == 3);
  x = find_node(g, OP_LEAKYRELU);
  CU_ASSERT(x && x->a.alpha == 0.125);
  x = find_node(g, OP_HARDSIGMOID);
  CU_ASSERT(x && fabs(x->a.alpha - 0.2) < 1e-9 && x->a.beta == 0.5);   /* defaults */
  x = find_node(g, OP_CONCAT);
  CU_ASSERT(x && x->a.axis == -1 && x->nin == 3);
  ir_graph_free(g);
  tb_free_all();
}

static void test_legacy_broadcast(void) {
  /* opset 6 Add with broadcast=1 axis=1: B[3] aligned at axis 1 of A[1,3,8,8]
   * becomes B[3,1,1] for numpy broadcasting */
  Onnx__ModelProto *m = tb_model(6);
  int64_t d3[1] = {3};
  float b[3] = {1, 2, 3};
  tb_input(m, "x", 1, 4, D4);
  tb_init(m, tb_tensor("b", 1, 1, d3, b, sizeof b));
  Onnx__NodeProto *n = tb_node(m, "Add", "add", "x,b", "y");
  tb_attr_i(n, "broadcast", 1);
  tb_attr_i(n, "axis", 1);
  tb_output(m, "y", 1, -1, NULL);
  Graph *g = load(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Tensor *t = g->nodes[0]->in[1];
  CU_ASSERT(t->rank == 3 && t->dims[0] == 3 && t->dims[1] == 1 && t->dims[2] == 1 && ir_get_f64(t, 2) == 3);
  ir_graph_free(g);
  tb_free_all();
}

/* ---- errors --------------------------------------------------------------- */

static void test_error_parse(void) {
  Onnx__ModelProto *m = tb_model(13);
  int64_t d[1] = {1000};
  float w[1000] = {0};
  tb_input(m, "x", 1, 1, d);
  tb_init(m, tb_tensor("w", 1, 1, d, w, sizeof w));
  tb_node(m, "Add", "add", "x,w", "y");
  tb_output(m, "y", 1, 1, d);
  size_t len;
  uint8_t *buf = tb_pack(m, &len);
  const char *msg = load_fail_buf(buf, len / 2, "trunc.onnx");
  ASSERT_HAS(msg, "trunc.onnx: error: not a valid ONNX model (protobuf parse failed)");
  static const char text[] = "this is certainly not an ONNX model\n";
  msg = load_fail_buf(text, sizeof text - 1, "text.onnx");
  ASSERT_HAS(msg, "text.onnx: error: not a valid ONNX model");
  uint8_t junk[64];
  for (int i = 0; i < 64; i++) junk[i] = (uint8_t)(0xff - i);
  ASSERT_HAS(load_fail_buf(junk, sizeof junk, "junk.onnx"), "junk.onnx: error: not a valid ONNX model");
  ASSERT_HAS(load_fail_buf("", 0, "empty.onnx"), "empty.onnx: error: not a valid ONNX model");
  /* deep nesting of sequence types: refused before protobuf-c recurses */
  size_t depth = 100000, n = 0;
  uint8_t *deep = tb_new(depth * 12 + 16);
  /* innermost first is awkward; build outside-in with fixed-size lengths:
   * each TypeProto{sequence_type(4){elem_type(1){...}}} as
   * 0x22 LEN5 0x0a LEN5 ..., lengths as 5-byte varints */
  for (size_t i = 0; i < depth; i++) {
    size_t rest = (depth - i - 1) * 12;
    deep[n++] = 0x22;
    for (int k = 0; k < 4; k++) deep[n++] = (uint8_t)(((rest + 6) >> (7 * k)) & 0x7f) | 0x80;
    deep[n++] = (uint8_t)((rest + 6) >> 28);
    deep[n++] = 0x0a;
    for (int k = 0; k < 4; k++) deep[n++] = (uint8_t)((rest >> (7 * k)) & 0x7f) | 0x80;
    deep[n++] = (uint8_t)(rest >> 28);
  }
  /* ModelProto{graph(7){input(11){type(2){...}}}} around it */
  uint8_t *full = tb_new(n + 64);
  size_t f = 0;
  size_t l2 = n, l11 = l2 + 6, l7 = l11 + 6;
  full[f++] = 0x3a; for (int k = 0; k < 4; k++) full[f++] = (uint8_t)((l7 >> (7 * k)) & 0x7f) | 0x80; full[f++] = (uint8_t)(l7 >> 28);
  full[f++] = 0x5a; for (int k = 0; k < 4; k++) full[f++] = (uint8_t)((l11 >> (7 * k)) & 0x7f) | 0x80; full[f++] = (uint8_t)(l11 >> 28);
  full[f++] = 0x12; for (int k = 0; k < 4; k++) full[f++] = (uint8_t)((l2 >> (7 * k)) & 0x7f) | 0x80; full[f++] = (uint8_t)(l2 >> 28);
  memcpy(full + f, deep, n);
  ASSERT_HAS(load_fail_buf(full, f + n, "deep.onnx"), "deep.onnx: error: not a valid ONNX model");
  tb_free_all();
}

static void test_error_tensors(void) {
  Onnx__ModelProto *m;
  int64_t d[2] = {2, 3};
  float w[6] = {0};
  /* raw_data size mismatch */
  m = relu_model(13);
  tb_init(m, tb_tensor("w", 1, 2, d, w, 20));
  ASSERT_HAS(load_fail(m), "test.onnx: error: tensor 'w': raw_data has 20 bytes");
  tb_free_all();
  /* negative dim */
  m = relu_model(13);
  int64_t nd[2] = {2, -3};
  tb_init(m, tb_tensor("w", 1, 2, nd, w, 24));
  ASSERT_HAS(load_fail(m), "tensor 'w' has a negative dimension -3");
  tb_free_all();
  /* dims whose product overflows */
  m = relu_model(13);
  int64_t od[3] = {INT64_C(1) << 40, INT64_C(1) << 30, 16};
  tb_init(m, tb_tensor("w", 1, 3, od, w, 24));
  ASSERT_HAS(load_fail(m), "tensor 'w' has too many elements");
  tb_free_all();
  m = relu_model(13);
  int64_t od2[2] = {INT64_C(1) << 31, INT64_C(1) << 31};   /* elements fit, bytes do not */
  tb_init(m, tb_tensor("w", 11, 2, od2, w, 24));
  ASSERT_HAS(load_fail(m), "tensor 'w' has too many elements");
  tb_free_all();
  /* unsupported element types */
  static const struct { int t; const char *name; } bad[] = {
    {8, "string"}, {14, "complex64"}, {15, "complex128"}, {17, "float8e4m3fn"}, {22, "int4"}, {99, "unknown"}};
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
    m = relu_model(13);
    tb_init(m, tb_tensor("w", bad[i].t, 2, d, w, 6));
    const char *msg = load_fail(m);
    ASSERT_HAS(msg, "tensor 'w' has element type");
    ASSERT_HAS(msg, bad[i].name);
    ASSERT_HAS(msg, "not support");
    tb_free_all();
  }
  /* typed field count mismatch */
  m = relu_model(13);
  Onnx__TensorProto *t = tb_tensor("w", 1, 2, d, NULL, 0);
  t->float_data = w;
  t->n_float_data = 5;
  tb_init(m, t);
  ASSERT_HAS(load_fail(m), "tensor 'w' has 5 values in float_data, its shape needs 6");
  tb_free_all();
  /* no data at all */
  m = relu_model(13);
  tb_init(m, tb_tensor("w", 1, 2, d, NULL, 0));
  ASSERT_HAS(load_fail(m), "tensor 'w' has no data");
  tb_free_all();
  /* max_bytes: refused before anything is converted */
  m = relu_model(13);
  tb_init(m, tb_tensor("w", 1, 2, d, w, 24));
  tb_init(m, tb_tensor("w2", 1, 2, d, w, 24));
  OnnxOptions o = {1, 40};
  capture_begin();
  Graph *g = load_opts(m, &o);
  const char *msg = capture_end();
  CU_ASSERT_PTR_NULL(g);
  ASSERT_HAS(msg, "constants exceed the limit of 40 bytes");
  o.max_bytes = 48;
  capture_begin();
  g = load_opts(m, &o);
  capture_end();
  CU_ASSERT_PTR_NOT_NULL(g);
  ir_graph_free(g);
  /* a Constant node's tensor counts too */
  Onnx__NodeProto *c = tb_node(m, "Constant", "big", NULL, "k");
  tb_attr_t(c, "value", tb_tensor("k", 1, 2, d, w, 24));
  capture_begin();
  g = load_opts(m, &o);
  msg = capture_end();
  CU_ASSERT_PTR_NULL(g);
  ASSERT_HAS(msg, "constants exceed the limit of 48 bytes");
  tb_free_all();
}

static void test_error_graph(void) {
  Onnx__ModelProto *m;
  /* dangling input */
  m = tb_one_node(13, "Add", "add", "x,nowhere", NULL);
  expect_fail(m, "test.onnx: error: node 'add' (Add): input 'nowhere' is not produced by any node");
  /* duplicate output */
  m = tb_model(13);
  tb_input(m, "x", 1, 4, D4);
  tb_node(m, "Relu", "r1", "x", "y");
  tb_node(m, "Sigmoid", "r2", "x", "y");
  tb_output(m, "y", 1, 4, D4);
  ASSERT_HAS(load_fail(m), "node 'r2' (Sigmoid): output 'y' is already the output of another node");
  tb_free_all();
  /* a node writing a graph input */
  m = tb_model(13);
  tb_input(m, "x", 1, 4, D4);
  tb_node(m, "Relu", "r1", "x", "x");
  tb_output(m, "x", 1, 4, D4);
  ASSERT_HAS(load_fail(m), "node 'r1' (Relu): output 'x' is already a graph input");
  tb_free_all();
  /* unsupported operator, subgraph operator, other domain */
  m = tb_one_node(13, "Tanh", "th", "x", NULL);
  expect_fail(m, "test.onnx: error: node 'th' (Tanh): unsupported operator");
  m = tb_one_node(13, "If", "if", "x", NULL);
  expect_fail(m, "node 'if' (If): unsupported operator (control flow");
  m = tb_model(13);
  tb_input(m, "x", 1, 4, D4);
  Onnx__NodeProto *n = tb_node(m, "Relu", "ms", "x", "y");
  n->domain = tb_str("com.microsoft");
  tb_output(m, "y", 1, 4, D4);
  ASSERT_HAS(load_fail(m), "node 'ms' (Relu): operator domain 'com.microsoft' is not supported");
  tb_free_all();
  /* opset too new, IR too new, op newer than the opset */
  ASSERT_HAS(load_fail(relu_model(26)), "test.onnx: error: opset 26 (ai.onnx) is newer than the newest supported (25)");
  m = relu_model(13);
  m->ir_version = 14;
  ASSERT_HAS(load_fail(m), "IR version 14 is newer");
  tb_free_all();
  m = tb_one_node(13, "HardSwish", "hs", "x", NULL);
  expect_fail(m, "node 'hs' (HardSwish): the operator exists from opset 14");
  /* a cycle (reported by the toposort) */
  m = tb_model(13);
  tb_input(m, "x", 1, 4, D4);
  tb_node(m, "Add", "a1", "x,b", "a");
  tb_node(m, "Relu", "a2", "a", "b");
  tb_output(m, "b", 1, 4, D4);
  const char *msg = load_fail(m);
  ASSERT_HAS(msg, "test.onnx: error: node 'a");
  ASSERT_HAS(msg, "cycle");
  tb_free_all();
  /* graph output nobody produces */
  m = relu_model(13);
  tb_output(m, "ghost", 1, 4, D4);
  ASSERT_HAS(load_fail(m), "graph output 'ghost' is not produced by any node");
  tb_free_all();
  /* input counts */
  m = tb_one_node(13, "Conv", "cv", "x", NULL);
  expect_fail(m, "node 'cv' (Conv): 1 inputs given, opset 13 expects 2 to 3");
  m = tb_one_node(13, "Conv", "cv", "x,x,x,x", NULL);
  expect_fail(m, "node 'cv' (Conv): 4 inputs given");
  m = tb_one_node(13, "Gemm", "gm", ",x", NULL);
  expect_fail(m, "node 'gm' (Gemm): input 0 is required but empty");
}

static void test_error_inputs(void) {
  Onnx__ModelProto *m = tb_model(13);
  int64_t d[4] = {-1, 3, -1, 8};
  tb_input(m, "x", 1, 4, d);
  tb_node(m, "Relu", "r", "x", "y");
  tb_output(m, "y", 1, 4, D4);
  ASSERT_HAS(load_fail(m), "test.onnx: error: input 'x' has a dynamic dimension 2 ('N')");
  tb_free_all();
  m = tb_model(13);
  tb_input(m, "x", 1, -1, NULL);
  tb_node(m, "Relu", "r", "x", "y");
  tb_output(m, "y", 1, 4, D4);
  ASSERT_HAS(load_fail(m), "input 'x' has no shape");
  tb_free_all();
  m = tb_model(13);
  tb_input(m, "x", 8, 4, D4);
  tb_node(m, "Relu", "r", "x", "y");
  tb_output(m, "y", 1, 4, D4);
  ASSERT_HAS(load_fail(m), "input 'x' has element type string");
  tb_free_all();
}

static void test_error_attrs(void) {
  Onnx__ModelProto *m;
  Onnx__NodeProto *n;
  int64_t k[2] = {3, 3};
  /* unknown attribute value */
  m = tb_one_node(13, "MaxPool", "mp", "x", &n);
  tb_attr_ints(n, "kernel_shape", 2, k);
  tb_attr_s(n, "auto_pad", "FOO");
  expect_fail(m, "node 'mp' (MaxPool): attribute 'auto_pad' is 'FOO', not one of NOTSET");
  /* wrong attribute type */
  m = tb_one_node(13, "MaxPool", "mp", "x", &n);
  tb_attr_f(n, "kernel_shape", 3);
  expect_fail(m, "attribute 'kernel_shape' must be of type INTS, not FLOAT");
  /* missing kernel_shape; bad stride; unknown attribute; mismatched lists */
  m = tb_one_node(13, "AveragePool", "ap", "x", NULL);
  expect_fail(m, "node 'ap' (AveragePool): missing required attribute 'kernel_shape'");
  m = tb_one_node(13, "MaxPool", "mp", "x", &n);
  tb_attr_ints(n, "kernel_shape", 2, k);
  int64_t s0[2] = {1, 0};
  tb_attr_ints(n, "strides", 2, s0);
  expect_fail(m, "attribute 'strides' has the invalid value 0");
  m = tb_one_node(13, "Relu", "r", "x", &n);
  tb_attr_i(n, "bogus", 1);
  expect_fail(m, "node 'r' (Relu): unknown attribute 'bogus'");
  m = tb_one_node(13, "MaxPool", "mp", "x", &n);
  tb_attr_ints(n, "kernel_shape", 2, k);
  int64_t p3[6] = {0, 0, 0, 0, 0, 0};
  tb_attr_ints(n, "pads", 6, p3);
  expect_fail(m, "attribute 'pads' is for 3 spatial dimensions, 'kernel_shape' for 2");
  /* BatchNormalization in training mode */
  m = tb_one_node(15, "BatchNormalization", "bn", "x,x,x,x,x", &n);
  tb_attr_i(n, "training_mode", 1);
  expect_fail(m, "node 'bn' (BatchNormalization): training mode");
  m = tb_model(6);
  tb_input(m, "x", 1, 4, D4);
  n = tb_node(m, "BatchNormalization", "bn", "x,x,x,x,x", "y,m,v,sm,sv");
  tb_attr_i(n, "is_test", 0);
  tb_output(m, "y", 1, 4, D4);
  ASSERT_HAS(load_fail(m), "node 'bn' (BatchNormalization): training mode");
  tb_free_all();
  /* Cast to an unsupported type; Pad mode */
  m = tb_one_node(13, "Cast", "c", "x", &n);
  tb_attr_i(n, "to", 8);
  expect_fail(m, "node 'c' (Cast): cannot cast to string");
  m = tb_model(13);
  tb_input(m, "x", 1, 4, D4);
  int64_t pd[8] = {0};
  tb_init(m, tb_tensor("p", 7, 1, (int64_t[]){8}, pd, sizeof pd));
  n = tb_node(m, "Pad", "pad", "x,p", "y");
  tb_attr_s(n, "mode", "mirror");
  tb_output(m, "y", 1, 4, D4);
  ASSERT_HAS(load_fail(m), "node 'pad' (Pad): attribute 'mode' is 'mirror'");
  tb_free_all();
  /* a subgraph attribute */
  m = tb_one_node(13, "Relu", "r", "x", &n);
  Onnx__AttributeProto *a = tb_attr(n, "body", ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH);
  a->g = tb_new(sizeof *a->g);
  onnx__graph_proto__init(a->g);
  expect_fail(m, "subgraphs are not supported");
}

/* ---- external data ----------------------------------------------------- */

static Onnx__TensorProto *ext_tensor(const char *loc, const char *off, const char *len) {
  int64_t d[1] = {4};
  Onnx__TensorProto *t = tb_tensor("w", 1, 1, d, NULL, 0);
  t->has_data_location = 1;
  t->data_location = ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL;
  const char *kv[3][2] = {{"location", loc}, {"offset", off}, {"length", len}};
  for (int i = 0; i < 3; i++) {
    if (!kv[i][1]) continue;
    Onnx__StringStringEntryProto *e = tb_new(sizeof *e);
    onnx__string_string_entry_proto__init(e);
    e->key = tb_str(kv[i][0]);
    e->value = tb_str(kv[i][1]);
    APPEND(t->external_data, t->n_external_data, e);
  }
  return t;
}

static const char *ext_load(const char *dir, Onnx__TensorProto *t, Graph **gp) {
  int64_t d[1] = {4};
  Onnx__ModelProto *m = tb_model(13);
  tb_input(m, "x", 1, 1, d);
  tb_init(m, t);
  tb_node(m, "Add", "add", "x,w", "y");
  tb_output(m, "y", 1, 1, d);
  size_t len;
  uint8_t *buf = tb_pack(m, &len);
  char path[4200];
  snprintf(path, sizeof path, "%s/model.onnx", dir);
  rn_write_file(path, buf, len);
  capture_begin();
  *gp = onnx_load(path, NULL);
  return capture_end();
}

static void test_external_data(void) {
  const char *tmp = rn_tmpdir("onnx_ext");
  char dir[4096], p[4200];
  snprintf(dir, sizeof dir, "%s", tmp);
  snprintf(p, sizeof p, "%s/sub", dir);
  rn_system(NULL, "mkdir -p '%s'", p);
  float data[6] = {9, 9, 1, 2, 3, 4};
  snprintf(p, sizeof p, "%s/sub/weights.bin", dir);
  rn_write_file(p, data, sizeof data);
  Graph *g;
  const char *msg = ext_load(dir, ext_tensor("sub/weights.bin", "8", "16"), &g);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Tensor *w = ir_find_tensor(g, "w");
  CU_ASSERT(w && w->kind == TK_CONST && ir_get_f64(w, 0) == 1 && ir_get_f64(w, 3) == 4);
  ir_graph_free(g);
  (void)msg;
  msg = ext_load(dir, ext_tensor("/etc/passwd", NULL, NULL), &g);
  CU_ASSERT_PTR_NULL(g);
  ASSERT_HAS(msg, "model.onnx: error: tensor 'w': external data path '/etc/passwd' is absolute");
  msg = ext_load(dir, ext_tensor("sub/../../secret.bin", NULL, NULL), &g);
  CU_ASSERT_PTR_NULL(g);
  ASSERT_HAS(msg, "external data path 'sub/../../secret.bin' climbs out of the model's folder");
  msg = ext_load(dir, ext_tensor("sub/weights.bin", "16", "16"), &g);
  CU_ASSERT_PTR_NULL(g);
  ASSERT_HAS(msg, "external data length 16 at offset 16 goes past the end");
  msg = ext_load(dir, ext_tensor("sub/weights.bin", "100", NULL), &g);
  CU_ASSERT_PTR_NULL(g);
  ASSERT_HAS(msg, "external data offset 100 is past the end");
  msg = ext_load(dir, ext_tensor("sub/weights.bin", "4", NULL), &g);   /* 20 bytes left, needs 16 */
  CU_ASSERT_PTR_NULL(g);
  ASSERT_HAS(msg, "external data has 20 bytes, its shape needs 16");
  msg = ext_load(dir, ext_tensor("sub/weights.bin", "-4", NULL), &g);
  CU_ASSERT_PTR_NULL(g);
  ASSERT_HAS(msg, "external data offset '-4' is not a non-negative integer");
  msg = ext_load(dir, ext_tensor("sub/missing.bin", NULL, NULL), &g);
  CU_ASSERT_PTR_NULL(g);
  ASSERT_HAS(msg, "cannot open external data file 'sub/missing.bin'");
  tb_free_all();
}

/* ---- real files ----------------------------------------------------------- */

static void test_shared_models(void) {
  const char *dirp = rn_shared("models");
  if (!dirp) { rn_skip("../shared/models absent"); return; }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", dirp);
  /* reference counts from the ONNX files (Python onnx): Constant nodes
   * become constants, not IR nodes; consts = initializers + Constant nodes
   * + ConstantOfShape 'value' tensors */
  static const struct { const char *name; int nodes, conv, bn, add, relu, consts; int64_t hw; } ref[] = {
    {"cifar_plain20", 60, 19, 19, 0, 19, 97, 32},
    {"cifar_resnet20", 89, 19, 19, 9, 19, 97 + 32 + 2, 32},
    {"cifar_resnet56", 215, 55, 55, 27, 55, 277 + 32 + 2, 32},
    {"resnet18", 69, 20, 20, 8, 17, 102, 224},
  };
  DIR *d = opendir(dir);
  CU_ASSERT_PTR_NOT_NULL_FATAL(d);
  struct dirent *e;
  int nfiles = 0;
  while ((e = readdir(d))) {
    size_t l = strlen(e->d_name);
    if (l < 6 || strcmp(e->d_name + l - 5, ".onnx")) continue;
    char path[8300];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    struct timespec t0, t1;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
    Graph *g = onnx_load(path, NULL);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
    double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
    CU_ASSERT_PTR_NOT_NULL(g);
    if (!g) continue;
    nfiles++;
    fprintf(stderr, "  %s: %d nodes, loaded in %.1f ms (CPU)\n", e->d_name, g->nnodes, ms);
    CU_ASSERT(ms < 2000);
    CU_ASSERT_EQUAL(ir_verify(g, "onnx_load"), 0);
    CU_ASSERT_EQUAL(g->ninputs, 1);
    Tensor *x = g->inputs[0];
    CU_ASSERT(x->rank == 4 && x->dims[0] == 1 && x->dims[1] == 3 && x->dims[2] == x->dims[3] && x->dtype == DT_FLOAT);
    CU_ASSERT(count_op(g, OP_CONV) > 0);
    CU_ASSERT_EQUAL(g->noutputs, 1);
    for (size_t i = 0; i < sizeof ref / sizeof ref[0]; i++) {
      if (strncmp(e->d_name, ref[i].name, l - 5) || strlen(ref[i].name) != l - 5) continue;
      CU_ASSERT_EQUAL(g->nnodes, ref[i].nodes);
      CU_ASSERT_EQUAL(count_op(g, OP_CONV), ref[i].conv);
      CU_ASSERT_EQUAL(count_op(g, OP_BATCHNORM), ref[i].bn);
      CU_ASSERT_EQUAL(count_op(g, OP_ADD), ref[i].add);
      CU_ASSERT_EQUAL(count_op(g, OP_RELU), ref[i].relu);
      CU_ASSERT_EQUAL(x->dims[2], ref[i].hw);
      int nc = 0;
      for (int k = 0; k < g->ntensors; k++) nc += g->tensors[k]->kind == TK_CONST;
      CU_ASSERT_EQUAL(nc, ref[i].consts);
    }
    ir_graph_free(g);
  }
  closedir(d);
  CU_ASSERT(nfiles > 0);
}

/* Every case of the ONNX test data: those whose ops are all in ops.def load
 * (with the MANIFEST's input/output counts, and test inputs whose dtype and
 * shape match the graph's), the others fail with "unsupported operator". */
static void test_onnx_test_cases(void) {
  OnnxCases *cs = oc_open();
  if (!cs) { rn_skip("../shared/onnx-tests absent"); return; }
  int nload = 0, nrefused = 0;
  for (int k = 0; k < cs->n; k++) {
    const OnnxCase *c = &cs->c[k];
    const char *name = c->name;
    char path[5000];
    oc_model_path(c, path, sizeof path);
    int supported = !oc_unsupported_op(c);
    capture_begin();
    Graph *g = onnx_load(path, NULL);
    const char *msg = capture_end();
    if (!supported) {
      CU_ASSERT_PTR_NULL(g);
      ASSERT_HAS(msg, "unsupported operator");
      ir_graph_free(g);
      nrefused++;
      continue;
    }
    if (!g) fprintf(stderr, "\n%s: %s", name, msg);
    CU_ASSERT_PTR_NOT_NULL(g);
    if (!g) continue;
    nload++;
    CU_ASSERT_EQUAL(ir_verify(g, name), 0);
    CU_ASSERT_EQUAL(g->opset, c->opset);
    CU_ASSERT_EQUAL(g->ninputs, c->ninputs);
    CU_ASSERT_EQUAL(g->noutputs, c->noutputs);
    for (int j = 0; j < c->nops; j++) {
      if (!strcmp(c->op[j], "Constant")) continue;
      int op = op_from_onnx(c->op[j]), found = 0;
      for (int i = 0; i < g->nnodes; i++) found |= (int)g->nodes[i]->op == op;
      if (!found) fprintf(stderr, "\n%s: no %s node\n", name, c->op[j]);
      CU_ASSERT(found);
    }
    for (volatile int i = 0; i < g->ninputs && !c->light; i++) {
      char pb[5200];
      oc_data_path(c, "input", i, pb, sizeof pb);
      IrTry t;
      if (ir_try_begin(&t)) {
        CU_FAIL("reading a test input failed");
        continue;
      }
      Tensor *x = onnx_read_tensor_file(g, pb);
      ir_try_end(&t);
      Tensor *in = g->inputs[i];
      CU_ASSERT_EQUAL(x->dtype, in->dtype);
      if (!ir_same_shape(x, in)) {
        char a[160], b[160];
        fprintf(stderr, "\n%s: input %d: %s vs %s\n", name, i, ir_shape_str(x, a, sizeof a),
                ir_shape_str(in, b, sizeof b));
      }
      CU_ASSERT(ir_same_shape(x, in));
    }
    ir_graph_free(g);
  }
  oc_close(cs);
  fprintf(stderr, "  %d cases loaded, %d refused (unsupported ops)\n", nload, nrefused);
  CU_ASSERT(nload > 300);
}

/* Attributes of a few real test cases, values read with Python onnx. */
static void test_onnx_case_attrs(void) {
  const char *r = rn_shared("onnx-tests");
  if (!r) { rn_skip("../shared/onnx-tests absent"); return; }
  char root[4096], path[4300];
  snprintf(root, sizeof root, "%s", r);
  Graph *g;
  Node *n;
#define LOAD(name) (snprintf(path, sizeof path, "%s/%s/model.onnx", root, name), onnx_load(path, NULL))
  g = LOAD("node/test_averagepool_2d_pads_count_include_pad");
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  n = g->nodes[0];
  CU_ASSERT(n->a.kernel[0] == 3 && n->a.pad_begin[1] == 2 && n->a.pad_end[1] == 2 && n->a.count_include_pad == 1);
  ir_graph_free(g);
  g = LOAD("node/test_gemm_all_attributes");
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  n = g->nodes[0];
  CU_ASSERT(n->a.alpha == 0.25 && fabs(n->a.beta - 0.35) < 1e-6 && n->a.trans_a && n->a.trans_b);
  ir_graph_free(g);
  g = LOAD("pytorch-operator/test_operator_clip");   /* opset 6: min/max attrs */
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  n = g->nodes[0];
  CU_ASSERT(n->nin == 3 && ir_get_f64(n->in[1], 0) == -0.5 && ir_get_f64(n->in[2], 0) == 0.5);
  ir_graph_free(g);
  g = LOAD("pytorch-converted/test_AvgPool1d");      /* Unsqueeze axes attr */
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  n = find_node(g, OP_UNSQUEEZE);
  CU_ASSERT(n && n->nin == 2 && ir_get_i64(n->in[1], 0) == 3);
  n = find_node(g, OP_AVERAGEPOOL);
  CU_ASSERT(n && n->a.kernel[0] == 2 && n->a.kernel[1] == 1 && n->a.stride[0] == 2 && n->a.count_include_pad == 0);
  ir_graph_free(g);
  g = LOAD("pytorch-converted/test_Conv2d_groups");
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  n = g->nodes[0];
  CU_ASSERT(n->nin == 3 && n->a.group == 2 && n->a.kernel[0] == 3 && n->a.kernel[1] == 2);
  ir_graph_free(g);
  g = LOAD("pytorch-operator/test_operator_pad");    /* opset 6: pads attr */
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  n = g->nodes[0];
  CU_ASSERT(n->nin == 2 && n->a.pad_mode == PM_REFLECT && ir_numel(n->in[1]) == 8 && ir_get_i64(n->in[1], 7) == 3);
  ir_graph_free(g);
  g = LOAD("node/test_maxpool_with_argmax_2d_precomputed_strides");
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  n = g->nodes[0];
  CU_ASSERT(n->nout == 2 && n->a.storage_order == 1 && n->a.stride[1] == 2);
  ir_graph_free(g);
  g = LOAD("node/test_averagepool_2d_same_upper");
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT(g->nodes[0]->a.auto_pad == AP_SAME_UPPER);
  ir_graph_free(g);
  g = LOAD("node/test_reshape_allowzero_reordered");
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT(g->nodes[0]->a.allowzero == 1 && g->inputs[0]->dims[0] == 0);
  ir_graph_free(g);
  g = LOAD("node/test_constantofshape_int_zeros");
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  n = g->nodes[0];
  CU_ASSERT(n->a.value && n->a.value->dtype == DT_INT32 && ir_get_i64(n->a.value, 0) == 0);
  ir_graph_free(g);
  g = LOAD("pytorch-converted/test_Softmax");
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT(g->nodes[0]->a.axis == 1 && g->nodes[0]->a.softmax_2d == 1);
  ir_graph_free(g);
#undef LOAD
}



/* A 100 MB model (ResNet-50 size) loads well under a second: weights are
 * copied once (by protobuf-c, into the arena), names resolved by hash. */
static void test_load_speed(void) {
  enum { NW = 25, N = 1 << 20 };
  float *w = malloc(sizeof(float) * N);
  CU_ASSERT_PTR_NOT_NULL_FATAL(w);
  for (int i = 0; i < N; i++) w[i] = (float)(i % 1000) / 1000.0f;
  int64_t d[1] = {N};
  Onnx__ModelProto *m = tb_model(13);
  tb_input(m, "x", 1, 1, d);
  char prev[32] = "x";
  for (int i = 0; i < NW; i++) {
    char wn[32], yn[32], ins[80];
    snprintf(wn, sizeof wn, "w%d", i);
    snprintf(yn, sizeof yn, i == NW - 1 ? "y" : "y%d", i);
    Onnx__TensorProto *t = tb_tensor(wn, 1, 1, d, NULL, 0);
    t->has_raw_data = 1;
    t->raw_data.data = (uint8_t *)w;     /* shared, not copied */
    t->raw_data.len = sizeof(float) * N;
    tb_init(m, t);
    snprintf(ins, sizeof ins, "%s,%s", prev, wn);
    tb_node(m, "Add", yn, ins, yn);
    snprintf(prev, sizeof prev, "%s", yn);
  }
  tb_output(m, "y", 1, 1, d);
  size_t len;
  uint8_t *buf = tb_pack(m, &len);
  CU_ASSERT(len > 100000000);
  /* CPU time (user + system: page faults included) of this process, so
   * other tests running in parallel (ctest -j) do not count */
  struct timespec t0, t1;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t0);
  Graph *g = onnx_load_buffer(buf, len, "big.onnx", NULL);
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t1);
  double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 + (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
  fprintf(stderr, "  %zu bytes loaded in %.1f ms (CPU)\n", len, ms);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  CU_ASSERT_EQUAL(g->nnodes, NW);
  Tensor *t = ir_find_tensor(g, "w24");
  CU_ASSERT(t && memcmp(t->data, w, sizeof(float) * N) == 0);
#if !defined(__SANITIZE_ADDRESS__)
  CU_ASSERT(ms < 1000);
#endif
  ir_graph_free(g);
  tb_free_all();
  free(w);
}

/* ---- onnx_save -------------------------------------------------------------- */

/* Saved files are checked by Python's onnx.checker (full check, with its
 * shape inference) in one batch at the end: one interpreter start. */
static char *to_check[64];
static int nto_check;

static void check_saved(const char *path) {
  if (nto_check < 64) to_check[nto_check++] = strdup(path);
}

static void test_saved_pass_onnx_checker(void) {
  if (!nto_check) return;
  if (rn_system("/dev/null", "/usr/bin/python3 -c 'import onnx'") != 0) {
    rn_skip("python3 onnx absent: onnx.checker not run on the saved models");
    return;
  }
  char dir[4096], list[4200], script[4200], log[4200];
  snprintf(dir, sizeof dir, "%s", rn_tmpdir("onnx_checker"));
  snprintf(list, sizeof list, "%s/files.txt", dir);
  snprintf(script, sizeof script, "%s/check.py", dir);
  snprintf(log, sizeof log, "%s/check.log", dir);
  FILE *f = fopen(list, "w");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  for (int i = 0; i < nto_check; i++) fprintf(f, "%s\n", to_check[i]);
  fclose(f);
  static const char py[] =
    "import onnx, sys\n"
    "bad = 0\n"
    "for p in open(sys.argv[1]).read().split('\\n'):\n"
    "    if not p: continue\n"
    "    try:\n"
    "        onnx.checker.check_model(onnx.load(p), full_check=True)\n"
    "    except Exception as e:\n"
    "        bad += 1\n"
    "        print(p, e)\n"
    "sys.exit(1 if bad else 0)\n";
  rn_write_file(script, py, sizeof py - 1);
  int r = rn_system(log, "/usr/bin/python3 '%s' '%s'", script, list);
  if (r) {
    char *txt = rn_read_file(log, NULL);
    fprintf(stderr, "\nonnx.checker:\n%s\n", txt ? txt : "");
    free(txt);
  }
  CU_ASSERT_EQUAL(r, 0);
  fprintf(stderr, "  onnx.checker accepted %d saved models\n", r ? 0 : nto_check);
  for (int i = 0; i < nto_check; i++) free(to_check[i]);
  nto_check = 0;
}

/* The same graph: nodes, attributes, tensor names, constants' bytes. */
static void assert_same_graph(Graph *a, Graph *b) {
  CU_ASSERT_EQUAL_FATAL(a->nnodes, b->nnodes);
  CU_ASSERT_EQUAL(a->ninputs, b->ninputs);
  CU_ASSERT_EQUAL(a->noutputs, b->noutputs);
  for (int i = 0; i < a->noutputs && i < b->noutputs; i++)
    CU_ASSERT_STRING_EQUAL(a->outputs[i]->name, b->outputs[i]->name);
  for (int i = 0; i < a->nnodes; i++) {
    Node *x = a->nodes[i], *y = b->nodes[i];
    CU_ASSERT_EQUAL(x->op, y->op);
    CU_ASSERT_EQUAL(x->nin, y->nin);
    CU_ASSERT_EQUAL(x->nout, y->nout);
    for (int j = 0; j < x->nin && j < y->nin; j++) {
      Tensor *p = x->in[j], *q = y->in[j];
      CU_ASSERT((p == NULL) == (q == NULL));
      if (!p || !q) continue;
      CU_ASSERT_STRING_EQUAL(p->name, q->name);
      CU_ASSERT_EQUAL(p->kind, q->kind);
      if (p->kind == TK_CONST && q->kind == TK_CONST) {
        CU_ASSERT(p->dtype == q->dtype && ir_same_shape(p, q));
        if (ir_bytes(p) == ir_bytes(q) && ir_bytes(p) > 0)
          CU_ASSERT_EQUAL(memcmp(p->data, q->data, (size_t)ir_bytes(p)), 0);
      }
    }
    const Attrs *u = &x->a, *v = &y->a;
    CU_ASSERT_EQUAL(u->nsp, v->nsp);
    for (int k = 0; k < u->nsp; k++)
      CU_ASSERT(u->kernel[k] == v->kernel[k] && u->stride[k] == v->stride[k] &&
                u->dilation[k] == v->dilation[k] && u->pad_begin[k] == v->pad_begin[k] &&
                u->pad_end[k] == v->pad_end[k]);
    CU_ASSERT(u->auto_pad == v->auto_pad && u->group == v->group && u->ceil_mode == v->ceil_mode &&
              u->count_include_pad == v->count_include_pad && u->storage_order == v->storage_order);
    CU_ASSERT(u->alpha == v->alpha && u->beta == v->beta && u->epsilon == v->epsilon);
    CU_ASSERT(u->trans_a == v->trans_a && u->trans_b == v->trans_b && u->axis == v->axis);
    CU_ASSERT(u->nperm == v->nperm && u->to == v->to && u->start == v->start && u->end == v->end);
    CU_ASSERT(u->allowzero == v->allowzero && u->pad_mode == v->pad_mode && u->softmax_2d == v->softmax_2d);
    CU_ASSERT((u->value == NULL) == (v->value == NULL));
  }
}

static Graph *save_and_reload(Graph *g, const char *tag) {
  char path[4200];
  snprintf(path, sizeof path, "%s/%s.onnx", rn_tmpdir(tag), tag);
  capture_begin();
  int r = onnx_save(g, path);
  const char *msg = capture_end();
  if (r) fprintf(stderr, "\nonnx_save: %s", msg);
  CU_ASSERT_EQUAL(r, 0);
  if (r) return NULL;
  check_saved(path);
  capture_begin();
  Graph *h = onnx_load(path, NULL);
  msg = capture_end();
  if (!h) fprintf(stderr, "\nreload: %s", msg);
  CU_ASSERT_PTR_NOT_NULL(h);
  return h;
}

/* load -> save -> load gives the same IR (attributes in opset-13 form). */
static void test_save_roundtrip_structure(void) {
  Onnx__ModelProto *m = tb_model(13);
  tb_input(m, "x", 1, 4, D4);
  int64_t wd[4] = {3, 1, 1, 1}, k[2] = {2, 2}, st[2] = {2, 1}, p[4] = {0, 1, 1, 0};
  float w[3] = {1, 2, 3};
  tb_init(m, tb_tensor("w", 1, 4, wd, w, sizeof w));
  Onnx__NodeProto *n = tb_node(m, "Conv", "conv", "x,w", "c");
  tb_attr_ints(n, "strides", 2, st);
  tb_attr_ints(n, "pads", 4, p);
  tb_attr_i(n, "group", 3);
  n = tb_node(m, "MaxPool", "mp", "c", "a,idx");
  tb_attr_ints(n, "kernel_shape", 2, k);
  tb_attr_s(n, "auto_pad", "SAME_UPPER");
  tb_attr_i(n, "storage_order", 1);
  n = tb_node(m, "AveragePool", "ap", "a", "b");
  tb_attr_ints(n, "kernel_shape", 2, k);
  tb_attr_i(n, "ceil_mode", 1);
  tb_attr_i(n, "count_include_pad", 1);
  n = tb_node(m, "LeakyRelu", "lr", "b", "d");
  tb_attr_f(n, "alpha", 0.125f);
  n = tb_node(m, "Softmax", "sm", "d", "e");
  tb_attr_i(n, "axis", 1);
  n = tb_node(m, "Transpose", "tr", "e", "f");
  int64_t perm[4] = {0, 2, 3, 1};
  tb_attr_ints(n, "perm", 4, perm);
  n = tb_node(m, "Flatten", "fl", "f", "g");
  tb_attr_i(n, "axis", 2);
  n = tb_node(m, "Cast", "cast", "g", "h");
  tb_attr_i(n, "to", 11);
  /* shapes worked out by hand (onnx.checker's shape inference checks them) */
  int64_t hd[2] = {4, 24}, id[4] = {1, 3, 5, 9};
  tb_output(m, "h", 11, 2, hd);
  tb_output(m, "idx", 7, 4, id);
  Graph *g = load(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Graph *h = save_and_reload(g, "save_struct");
  if (h) assert_same_graph(g, h);
  ir_graph_free(g);
  ir_graph_free(h);
  tb_free_all();
  const char *p20 = rn_shared("models/cifar_resnet20.onnx");
  if (!p20) { rn_skip("../shared/models absent"); return; }
  g = onnx_load(p20, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  h = save_and_reload(g, "save_r20");
  if (h) assert_same_graph(g, h);
  ir_graph_free(g);
  ir_graph_free(h);
}

/* The optimised IR (BN folded, epilogues fused, option-A shortcut views)
 * written as ONNX computes what PyTorch computed. */
static void save_optimised_one(const char *path, const char *name) {
  char inp[4200], outp[4200];
  snprintf(inp, sizeof inp, "%.*s.input.bin", (int)(strlen(path) - 5), path);
  snprintf(outp, sizeof outp, "%.*s.output.bin", (int)(strlen(path) - 5), path);
  Graph *g = onnx_load(path, NULL);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  IrTry t;
  if (ir_try_begin(&t)) {
    CU_FAIL("optimising failed");
    ir_graph_free(g);
    return;
  }
  shape_infer_and_fold(g, 0);
  PassOptions po;
  memset(&po, 0, sizeof po);
  po.opt_level = 2;
  passes_run(g, &po);
  ir_try_end(&t);
  int fused = 0;
  for (int k = 0; k < g->nnodes; k++) fused += g->nodes[k]->a.act != ACT_NONE;
  CU_ASSERT(fused > 0);
  Graph *h = save_and_reload(g, name);
  ir_graph_free(g);
  if (!h) return;
  size_t ilen, olen;
  float *x = rn_read_file(inp, &ilen), *ref = rn_read_file(outp, &olen);
  CU_ASSERT_PTR_NOT_NULL_FATAL(x);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ref);
  void *out[1] = {NULL};
  const void *in[1] = {x};
  if (ir_try_begin(&t)) {
    CU_FAIL("evaluating the saved model failed");
  } else {
    shape_infer_and_fold(h, 0);
    CU_ASSERT_EQUAL(ir_bytes(h->inputs[0]), (int64_t)ilen);
    CU_ASSERT_EQUAL(ir_bytes(h->outputs[0]), (int64_t)olen);
    eval_graph(h, in, out);
    ir_try_end(&t);
    double e = rn_rel_err(out[0], ref, olen / 4, NULL);
    fprintf(stderr, "  %s: saved optimised model vs PyTorch: rel err %.2g\n", name, e);
    CU_ASSERT(e < 1e-4);
  }
  free(out[0]);
  free(x);
  free(ref);
  ir_graph_free(h);
}

static void test_save_optimised_models(void) {
  static const char *const names[] = {"cifar_resnet20", "cifar_plain20"};
  int n = 0;
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
    char rel[256], path[4200];
    snprintf(rel, sizeof rel, "models/%s.onnx", names[i]);
    const char *p = rn_shared(rel);
    if (!p) continue;
    snprintf(path, sizeof path, "%s", p);
    n++;
    save_optimised_one(path, names[i]);
  }
  if (!n) rn_skip("../shared/models absent");
}

/* Forms opset 13 lacks, written as equivalent chains: the reloaded graph
 * computes what the original computes (reference evaluator on both). */
static void eval_compare(Graph *g, Graph *h, const char *what) {
  IrTry t;
  void *o1[4] = {0}, *o2[4] = {0};
  const void *in[4];
  float *buf[4] = {0};
  if (ir_try_begin(&t)) {
    CU_FAIL(what);
    return;
  }
  shape_infer_and_fold(g, 0);
  shape_infer_and_fold(h, 0);
  for (int i = 0; i < g->ninputs; i++) {
    int64_t n = ir_numel(g->inputs[i]);
    buf[i] = malloc(sizeof(float) * (size_t)(n + 1));
    for (int64_t k = 0; k < n; k++) buf[i][k] = (float)((k * 37 % 23) - 11) / 4.0f;
    in[i] = buf[i];
  }
  eval_graph(g, in, o1);
  eval_graph(h, in, o2);
  ir_try_end(&t);
  CU_ASSERT_EQUAL(g->noutputs, h->noutputs);
  for (int i = 0; i < g->noutputs; i++) {
    CU_ASSERT(ir_same_shape(g->outputs[i], h->outputs[i]) && g->outputs[i]->dtype == h->outputs[i]->dtype);
    int64_t nb = ir_bytes(g->outputs[i]);
    if (g->outputs[i]->dtype == DT_FLOAT) {
      double e = rn_rel_err(o2[i], o1[i], (size_t)nb / 4, NULL);
      if (e > 1e-6) fprintf(stderr, "\n%s: output %d rel err %g\n", what, i, e);
      CU_ASSERT(e <= 1e-6);
    } else {
      CU_ASSERT(nb == ir_bytes(h->outputs[i]) && memcmp(o1[i], o2[i], (size_t)nb) == 0);
    }
    free(o1[i]);
    free(o2[i]);
  }
  for (int i = 0; i < 4; i++) free(buf[i]);
}

static void test_save_expansions(void) {
  /* opset 11 Softmax/LogSoftmax coerced to 2-D at axis 1 of a rank-3 input */
  Onnx__ModelProto *m = tb_model(11);
  int64_t d3[3] = {2, 3, 4};
  tb_input(m, "x", 1, 3, d3);
  tb_node(m, "Softmax", "sm", "x", "y");
  Onnx__NodeProto *n = tb_node(m, "LogSoftmax", "lsm", "x", "z");
  tb_attr_i(n, "axis", 2);
  tb_output(m, "y", 1, 3, d3);
  tb_output(m, "z", 1, 3, d3);
  Graph *g = load(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  Graph *h = save_and_reload(g, "save_softmax");
  CU_ASSERT_PTR_NOT_NULL_FATAL(h);
  CU_ASSERT_EQUAL(count_op(h, OP_FLATTEN), 1);   /* the last-axis one stays plain */
  eval_compare(g, h, "softmax");
  ir_graph_free(g);
  ir_graph_free(h);
  tb_free_all();

  /* opset 18: HardSwish, Shape start/end, Pad with axes */
  m = tb_model(18);
  int64_t d4[4] = {1, 2, 3, 4}, two[1] = {2}, four[1] = {4};
  tb_input(m, "x", 1, 4, d4);
  int64_t pads[4] = {1, 0, 2, 3}, axes[2] = {-1, 2};
  tb_init(m, tb_tensor("pads", 7, 1, four, pads, sizeof pads));
  tb_init(m, tb_tensor("axes", 7, 1, two, axes, sizeof axes));
  n = tb_node(m, "Pad", "pad", "x,pads,,axes", "a");
  tb_attr_s(n, "mode", "edge");
  tb_node(m, "HardSwish", "hsw", "a", "y");
  n = tb_node(m, "Shape", "shape", "y", "s");
  tb_attr_i(n, "start", 1);
  tb_attr_i(n, "end", -1);
  int64_t yd[4] = {1, 2, 6, 7};
  tb_output(m, "y", 1, 4, yd);
  tb_output(m, "s", 7, 1, two);
  g = load(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  h = save_and_reload(g, "save_opset18");
  CU_ASSERT_PTR_NOT_NULL_FATAL(h);
  CU_ASSERT_EQUAL(h->opset, 13);
  CU_ASSERT_EQUAL(count_op(h, OP_HARDSWISH), 0);
  CU_ASSERT_EQUAL(count_op(h, OP_HARDSIGMOID), 1);
  eval_compare(g, h, "opset18");
  ir_graph_free(g);
  ir_graph_free(h);
  tb_free_all();

  /* int8 arithmetic exists from opset 14: the saved model says 14 */
  m = tb_model(14);
  int64_t d5[1] = {5};
  tb_input(m, "a", 3, 1, d5);
  tb_input(m, "b", 3, 1, d5);
  tb_node(m, "Add", "add", "a,b", "c");
  tb_output(m, "c", 3, 1, d5);
  g = load(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  h = save_and_reload(g, "save_int8");
  CU_ASSERT_PTR_NOT_NULL_FATAL(h);
  CU_ASSERT_EQUAL(h->opset, 14);
  ir_graph_free(g);
  ir_graph_free(h);
  tb_free_all();
}

/* A fused Conv, built by hand as the fusion pass leaves it: residual read
 * through the option-A view, clip, and a second normalised output.  The
 * saved ONNX (standard nodes) is checked against a naive computation of
 * the formulas in ir.h. */
static void test_save_fused_conv(void) {
  Graph *g = ir_graph_new("fused", "fused.onnx");
  g->opset = 13;
  int64_t xd[4] = {1, 4, 6, 6}, wd[4] = {8, 4, 3, 3}, yd[4] = {1, 8, 3, 3}, c8[1] = {8};
  float w[288], b[8], sc[8], sh[8];
  for (int i = 0; i < 288; i++) w[i] = (float)((i * 7 % 13) - 6) / 8.0f;
  for (int i = 0; i < 8; i++) { b[i] = (float)i / 4 - 1; sc[i] = 0.5f + (float)i / 8; sh[i] = (float)(i % 3) - 1; }
  Tensor *x = ir_tensor(g, "x", DT_FLOAT, 4, xd);
  ir_add_input(g, x);
  Tensor *in[6] = {x, ir_const(g, "w", DT_FLOAT, 4, wd, w, 0), ir_const(g, "b", DT_FLOAT, 1, c8, b, 0), x,
                   ir_const(g, "sc", DT_FLOAT, 1, c8, sc, 0), ir_const(g, "sh", DT_FLOAT, 1, c8, sh, 0)};
  Tensor *out[2] = {ir_tensor(g, "y", DT_FLOAT, 4, yd), ir_tensor(g, "z", DT_FLOAT, 4, yd)};
  Node *n = ir_node(g, OP_CONV, "conv", 6, in, 2, out);
  n->a.nsp = 2;
  for (int i = 0; i < 2; i++) {
    n->a.kernel[i] = 3; n->a.stride[i] = 2; n->a.pad_begin[i] = 1; n->a.pad_end[i] = 0;
    n->a.res_start[i] = 1; n->a.res_step[i] = 2;
  }
  n->a.res_view = 1;
  n->a.res_c0 = 2;
  n->a.act = ACT_CLIP; n->a.act_lo = -1; n->a.act_hi = 2;
  n->a.post_act = ACT_LEAKYRELU; n->a.post_alpha = 0.25;
  ir_add_output(g, out[0]);
  ir_add_output(g, out[1]);
  ir_relink(g);
  Graph *h = save_and_reload(g, "save_fused");
  ir_graph_free(g);
  CU_ASSERT_PTR_NOT_NULL_FATAL(h);
  float xv[144];
  for (int i = 0; i < 144; i++) xv[i] = (float)((i * 5 % 17) - 8) / 4.0f;
  /* naive: y = clip(conv + b + R), z = leakyrelu(y * sc + sh) */
  double yref[72], zref[72];
  for (int m = 0; m < 8; m++)
    for (int oh = 0; oh < 3; oh++)
      for (int ow = 0; ow < 3; ow++) {
        double acc = b[m];
        for (int c = 0; c < 4; c++)
          for (int kh = 0; kh < 3; kh++)
            for (int kw = 0; kw < 3; kw++) {
              int ih = oh * 2 - 1 + kh, iw = ow * 2 - 1 + kw;
              if (ih < 0 || ih >= 6 || iw < 0 || iw >= 6) continue;
              acc += (double)w[((m * 4 + c) * 3 + kh) * 3 + kw] * xv[(c * 6 + ih) * 6 + iw];
            }
        int rc = m - 2;
        if (rc >= 0 && rc < 4) acc += xv[(rc * 6 + 1 + oh * 2) * 6 + 1 + ow * 2];
        double y = acc < -1 ? -1 : acc > 2 ? 2 : acc;
        double z = y * sc[m] + sh[m];
        yref[(m * 3 + oh) * 3 + ow] = y;
        zref[(m * 3 + oh) * 3 + ow] = z < 0 ? 0.25 * z : z;
      }
  IrTry t;
  void *o[2] = {0};
  const void *iv[1] = {xv};
  if (ir_try_begin(&t)) {
    CU_FAIL("evaluating the saved fused conv failed");
  } else {
    shape_infer_and_fold(h, 0);
    eval_graph(h, iv, o);
    ir_try_end(&t);
    double e = 0;
    for (int i = 0; i < 72; i++) {
      e = fmax(e, fabs(((float *)o[0])[i] - yref[i]));
      e = fmax(e, fabs(((float *)o[1])[i] - zref[i]));
    }
    CU_ASSERT(e < 1e-5);
  }
  free(o[0]);
  free(o[1]);
  ir_graph_free(h);
}

static void test_save_errors(void) {
  Onnx__ModelProto *m = tb_model(19);
  int64_t d2[2] = {2, 3}, four[1] = {4};
  int64_t pads[4] = {1, 1, 1, 1};
  tb_input(m, "x", 1, 2, d2);
  tb_init(m, tb_tensor("pads", 7, 1, four, pads, sizeof pads));
  Onnx__NodeProto *n = tb_node(m, "Pad", "pad", "x,pads", "y");
  tb_attr_s(n, "mode", "wrap");
  tb_output(m, "y", 1, -1, NULL);
  Graph *g = load(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  char path[4200];
  snprintf(path, sizeof path, "%s/wrap.onnx", rn_tmpdir("save_err"));
  capture_begin();
  int r = onnx_save(g, path);
  const char *msg = capture_end();
  CU_ASSERT_EQUAL(r, -1);
  ASSERT_HAS(msg, "wrap.onnx: error: node 'pad' (Pad): Pad mode 'wrap' needs opset 19");
  CU_ASSERT_NOT_EQUAL(access(path, F_OK), 0);        /* nothing written */
  ir_graph_free(g);
  tb_free_all();
  m = relu_model(13);
  g = load(m);
  capture_begin();
  r = onnx_save(g, "/nonexistent-dir/x.onnx");
  msg = capture_end();
  CU_ASSERT_EQUAL(r, -1);
  ASSERT_HAS(msg, "/nonexistent-dir/x.onnx: error: cannot write");
  ir_graph_free(g);
  tb_free_all();
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("onnx", NULL, NULL);
  CU_add_test(s, "conv_bn_relu", test_conv_bn_relu);
  CU_add_test(s, "initializer_in_inputs_and_optional", test_initializer_in_inputs_and_optional);
  CU_add_test(s, "typed_fields", test_typed_fields);
  CU_add_test(s, "constant_nodes", test_constant_nodes);
  CU_add_test(s, "old_opset_attrs_become_inputs", test_old_opset_attrs_become_inputs);
  CU_add_test(s, "pool_gemm_cast_attrs", test_pool_gemm_cast_attrs);
  CU_add_test(s, "legacy_broadcast", test_legacy_broadcast);
  CU_add_test(s, "error_parse", test_error_parse);
  CU_add_test(s, "error_tensors", test_error_tensors);
  CU_add_test(s, "error_graph", test_error_graph);
  CU_add_test(s, "error_inputs", test_error_inputs);
  CU_add_test(s, "error_attrs", test_error_attrs);
  CU_add_test(s, "external_data", test_external_data);
  CU_add_test(s, "load_speed", test_load_speed);
  CU_add_test(s, "shared_models", test_shared_models);
  CU_add_test(s, "onnx_test_cases", test_onnx_test_cases);
  CU_add_test(s, "onnx_case_attrs", test_onnx_case_attrs);
  CU_add_test(s, "save_roundtrip_structure", test_save_roundtrip_structure);
  CU_add_test(s, "save_optimised_models", test_save_optimised_models);
  CU_add_test(s, "save_expansions", test_save_expansions);
  CU_add_test(s, "save_fused_conv", test_save_fused_conv);
  CU_add_test(s, "save_errors", test_save_errors);
  CU_add_test(s, "saved_pass_onnx_checker", test_saved_pass_onnx_checker);
  int r = rn_run_tests();
  free(pool);
  return r;
}
