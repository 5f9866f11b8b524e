/*
 * ir.c - building, editing, checking and printing the IR (see ir.h).
 *
 * All memory of a graph comes from a chain of chunks owned by the graph, so
 * an error anywhere (ir_fail longjmps out) leaks nothing: the caller frees
 * the graph.  Large blocks (weights) get a chunk of their own.
 */
#include "ir.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

const OpInfo op_info[OP_COUNT] = {
#define OP(e, onnx, imin, imax, omin, omax, flags) {onnx, imin, imax, omin, omax, flags},
#include "ops.def"
#undef OP
};

int op_from_onnx(const char *op_type) {
  for (int i = 0; i < OP_COUNT; i++)
    if (op_info[i].name && strcmp(op_info[i].name, op_type) == 0) return i;
  return -1;
}

/* ---- dtypes ------------------------------------------------------------ */

size_t dtype_size(DType t) {
  switch (t) {
  case DT_FLOAT: case DT_INT32: case DT_UINT32: return 4;
  case DT_UINT8: case DT_INT8: case DT_BOOL: return 1;
  case DT_UINT16: case DT_INT16: case DT_FLOAT16: case DT_BFLOAT16: return 2;
  case DT_INT64: case DT_UINT64: case DT_DOUBLE: return 8;
  default: return 0;
  }
}

const char *dtype_name(DType t) {
  switch (t) {
  case DT_FLOAT: return "float32"; case DT_UINT8: return "uint8";
  case DT_INT8: return "int8"; case DT_UINT16: return "uint16";
  case DT_INT16: return "int16"; case DT_INT32: return "int32";
  case DT_INT64: return "int64"; case DT_STRING: return "string";
  case DT_BOOL: return "bool"; case DT_FLOAT16: return "float16";
  case DT_DOUBLE: return "float64"; case DT_UINT32: return "uint32";
  case DT_UINT64: return "uint64"; case DT_BFLOAT16: return "bfloat16";
  default: return "undefined";
  }
}

const char *dtype_ctype(DType t) {
  switch (t) {
  case DT_FLOAT: return "float"; case DT_UINT8: return "uint8_t";
  case DT_INT8: return "int8_t"; case DT_UINT16: return "uint16_t";
  case DT_INT16: return "int16_t"; case DT_INT32: return "int32_t";
  case DT_INT64: return "int64_t"; case DT_BOOL: return "uint8_t";
  case DT_FLOAT16: return "uint16_t"; case DT_DOUBLE: return "double";
  case DT_UINT32: return "uint32_t"; case DT_UINT64: return "uint64_t";
  case DT_BFLOAT16: return "uint16_t";
  default: return NULL;
  }
}

int dtype_is_float(DType t) {
  return t == DT_FLOAT || t == DT_DOUBLE || t == DT_FLOAT16 || t == DT_BFLOAT16;
}

/* ---- errors ------------------------------------------------------------ */

int ir_quiet = 0;
int ir_no_warn = 0;
const char *ir_source = "resnetc";
Graph *ir_current_graph = NULL;
void (*ir_before_message)(void) = NULL;
static IrTry *try_top = NULL;

void ir_try_push(IrTry *t) {
  t->prev = try_top;
  t->msg[0] = 0;
  try_top = t;
}

void ir_try_end(IrTry *t) {
  IR_ASSERT(try_top == t);
  try_top = t->prev;
}

#if defined(__GNUC__)
__attribute__((noreturn))
#endif
static void vfail(const char *prefix, const char *fmt, va_list ap) {
  char body[900];
  vsnprintf(body, sizeof body, fmt, ap);
  IrTry *t = try_top;
  char *dst = t ? t->msg : body;
  if (t) snprintf(t->msg, sizeof t->msg, "%s: error: %s", prefix, body);
  if (!ir_quiet && ir_before_message) ir_before_message();
  if (!ir_quiet) fprintf(stderr, "%s\n", t ? dst : body);
  if (!t) {
    fprintf(stderr, "resnetc: internal error: ir_fail outside IR_TRY\n");
    abort();
  }
  try_top = t->prev;      /* the handler is popped by the jump */
  longjmp(t->jb, 1);
}

void ir_fail(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(ir_source, fmt, ap);
}

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 2, 3)))
#endif
static void failf(const char *prefix, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vfail(prefix, fmt, ap);
}

/* ONNX: "FILE: error: node 'NAME' (Op): msg";  .resnet: "file:l:c: error: msg" */
void ir_fail_node(const Node *n, const char *fmt, ...) {
  char body[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  if (n && n->name && ir_current_graph && !ir_current_graph->opset && strchr(n->name, ':'))
    failf(n->name, "%s", body);   /* .resnet: file:l:c */
  if (n)
    failf(ir_source, "node '%s' (%s): %s", n->name && *n->name ? n->name : "(unnamed)",
          op_info[n->op].name ? op_info[n->op].name : "internal", body);
  failf(ir_source, "%s", body);
}

void ir_rethrow(const IrTry *caught) {
  IrTry *t = try_top;
  if (!t) {
    fprintf(stderr, "resnetc: internal error: ir_rethrow outside IR_TRY\n");
    abort();
  }
  if (t != caught) snprintf(t->msg, sizeof t->msg, "%s", caught->msg);
  try_top = t->prev;
  longjmp(t->jb, 1);
}

void ir_warn(const char *fmt, ...) {
  if (ir_quiet || ir_no_warn) return;
  if (ir_before_message) ir_before_message();
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: warning: ", ir_source);
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
}

void ir_die_at(const char *file, int line, const char *msg) {
  fprintf(stderr, "resnetc: internal error at %s:%d: %s\n", file, line, msg);
  abort();
}

/* ---- memory ------------------------------------------------------------ */

struct ArenaChunk {
  ArenaChunk *next;
  size_t used, cap;
  max_align_t align_[1];   /* data follows, maximally aligned */
};

#define CHUNK_BYTES ((size_t)1 << 16)

Graph *ir_graph_new(const char *name, const char *source) {
  Graph *g = calloc(1, sizeof *g);
  if (!g) { fprintf(stderr, "resnetc: out of memory\n"); exit(1); }
  g->batch = 1;
  g->name = ir_strdup(g, name ? name : "model");
  g->source = ir_strdup(g, source ? source : "");
  return g;
}

void ir_graph_free(Graph *g) {
  if (!g) return;
  if (ir_current_graph == g) ir_current_graph = NULL;
  for (ArenaChunk *c = g->chunks, *n; c; c = n) {
    n = c->next;
    free(c);
  }
  free(g->linkbuf);
  free(g->names);
  free(g);
}

static char *chunk_data(ArenaChunk *c) { return (char *)c->align_; }

void *ir_alloc(Graph *g, size_t n) {
  n = (n + 63) & ~(size_t)63;     /* 64-byte granules keep weights aligned */
  if (n == 0) n = 64;
  ArenaChunk *c = g->chunks;
  if (!c || c->cap - c->used < n) {
    size_t cap = n > CHUNK_BYTES / 4 ? n : CHUNK_BYTES;
    ArenaChunk *nc = malloc(sizeof *nc + cap + 64);
    if (!nc) ir_fail("out of memory (allocating %zu bytes)", n);
    nc->cap = cap;
    /* start the data on a 64-byte boundary */
    uintptr_t base = (uintptr_t)chunk_data(nc);
    nc->used = (size_t)(((base + 63) & ~(uintptr_t)63) - base);
    if (c && n > CHUNK_BYTES / 4) {   /* a big block: keep the current chunk */
      nc->next = c->next;
      c->next = nc;
    } else {
      nc->next = c;
      g->chunks = nc;
    }
    c = nc;
  }
  void *p = chunk_data(c) + c->used;
  c->used += n;
  memset(p, 0, n);
  return p;
}

void *ir_realloc(Graph *g, void *p, size_t old, size_t n) {
  if (n <= old) return p;
  void *q = ir_alloc(g, n);
  if (old) memcpy(q, p, old);
  return q;
}

char *ir_strndup(Graph *g, const char *s, size_t n) {
  char *d = ir_alloc(g, n + 1);
  memcpy(d, s, n);
  d[n] = 0;
  return d;
}

char *ir_strdup(Graph *g, const char *s) { return ir_strndup(g, s, strlen(s)); }

char *ir_fmt(Graph *g, const char *fmt, ...) {
  va_list ap, aq;
  va_start(ap, fmt);
  va_copy(aq, ap);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  char *s = ir_alloc(g, (size_t)n + 1);
  vsnprintf(s, (size_t)n + 1, fmt, aq);
  va_end(aq);
  return s;
}

/* ---- building ---------------------------------------------------------- */

#define GROW(g, arr, n, cap)                                                  \
  do {                                                                        \
    if ((n) == (cap)) {                                                       \
      int nc_ = (cap) ? 2 * (cap) : 16;                                       \
      (arr) = ir_realloc((g), (arr), sizeof *(arr) * (size_t)(cap),           \
                         sizeof *(arr) * (size_t)nc_);                        \
      (cap) = nc_;                                                            \
    }                                                                         \
  } while (0)

static uint64_t name_hash(const char *s) {
  uint64_t h = 1469598103934665603u;    /* FNV-1a */
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
  return h;
}

static void names_put(Graph *g, Tensor *t) {
  if (2 * (g->nnames + 1) > g->namecap) {
    size_t cap = g->namecap ? 2 * g->namecap : 256;
    Tensor **nt = ir_scratch(cap * sizeof *nt);
    size_t kept = 0;
    for (size_t i = 0; i < g->namecap; i++) {
      Tensor *u = g->names[i];
      /* drop the entries of tensors that left the graph */
      if (!u || u->id < 0 || u->id >= g->ntensors || g->tensors[u->id] != u) continue;
      size_t h = (size_t)name_hash(u->name) & (cap - 1);
      while (nt[h]) h = (h + 1) & (cap - 1);
      nt[h] = u;
      kept++;
    }
    free(g->names);
    g->names = nt;
    g->namecap = cap;
    g->nnames = kept;
  }
  size_t h = (size_t)name_hash(t->name) & (g->namecap - 1);
  while (g->names[h]) h = (h + 1) & (g->namecap - 1);
  g->names[h] = t;
  g->nnames++;
}

Tensor *ir_find_tensor(Graph *g, const char *name) {
  if (!g->namecap) return NULL;
  size_t h = (size_t)name_hash(name) & (g->namecap - 1);
  Tensor *found = NULL;
  for (; g->names[h]; h = (h + 1) & (g->namecap - 1)) {
    Tensor *t = g->names[h];
    if (t->id >= 0 && t->id < g->ntensors && g->tensors[t->id] == t && strcmp(t->name, name) == 0)
      found = t;    /* the latest, as the linear scan from the end found */
  }
  return found;
}

void ir_rename_tensor(Graph *g, Tensor *t, const char *name) {
  t->name = ir_strdup(g, name);
  names_put(g, t);
}

Tensor *ir_tensor(Graph *g, const char *name, DType t, int rank, const int64_t *dims) {
  if (rank > IR_MAX_RANK) ir_fail("tensor '%s' has rank %d, more than the %d supported", name, rank, IR_MAX_RANK);
  Tensor *x = ir_alloc(g, sizeof *x);
  x->name = ir_strdup(g, name);
  x->dtype = t;
  x->rank = rank;
  for (int i = 0; i < rank && dims; i++) x->dims[i] = dims[i];
  x->offset = -1;
  GROW(g, g->tensors, g->ntensors, g->cap_tensors);
  x->id = g->ntensors;
  g->tensors[g->ntensors++] = x;
  names_put(g, x);
  return x;
}

int64_t ir_mul_checked(int64_t a, int64_t b) {
  if (a < 0 || b < 0) return -1;
  if (a != 0 && b > INT64_MAX / a) return -1;
  return a * b;
}

int64_t ir_numel(const Tensor *t) {
  if (t->rank < 0) return -1;
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) {
    n = ir_mul_checked(n, t->dims[i]);
    if (n < 0) return -1;
  }
  return n;
}

int64_t ir_bytes(const Tensor *t) {
  int64_t n = ir_numel(t);
  if (n > 0 && t->layout == LAYOUT_NCHWC && t->block > 0 && t->rank >= 2 && t->dims[1] > 0) {
    /* the physical size: channels padded to the block */
    int64_t c = (t->dims[1] + t->block - 1) / t->block * t->block;
    n = ir_mul_checked(n / t->dims[1], c);
  }
  return n < 0 ? -1 : ir_mul_checked(n, (int64_t)dtype_size(t->dtype));
}

int ir_plain_prefix(const Tensor *t) {
  if (!t || t->layout != LAYOUT_NCHWC || t->rank < 2 || t->dims[0] != 1) return 0;
  for (int i = 2; i < t->rank; i++)     /* [1][C/b][1...][b]: channel c at c */
    if (t->dims[i] != 1) return 0;
  return 1;
}

Tensor *ir_const(Graph *g, const char *name, DType t, int rank, const int64_t *dims,
                 const void *data, int own) {
  Tensor *x = ir_tensor(g, name, t, rank, dims);
  x->kind = TK_CONST;
  int64_t nb = ir_bytes(x);
  if (nb < 0 || dtype_size(t) == 0) ir_fail("constant '%s' has an invalid size", name);
  if (own) x->data = (void *)data;
  else {
    x->data = ir_alloc(g, (size_t)nb);
    if (nb) memcpy(x->data, data, (size_t)nb);
  }
  return x;
}

Tensor *ir_const_i64(Graph *g, const char *name, int n, const int64_t *v) {
  int64_t d = n;
  return ir_const(g, ir_unique_name(g, name), DT_INT64, 1, &d, v, 0);
}

Tensor *ir_const_scalar_f32(Graph *g, const char *name, float v) {
  return ir_const(g, ir_unique_name(g, name), DT_FLOAT, 0, NULL, &v, 0);
}

char *ir_unique_name(Graph *g, const char *base) {
  if (!ir_find_tensor(g, base)) return ir_strdup(g, base);
  for (int i = 1;; i++) {
    char *s = ir_fmt(g, "%s_%d", base, i);
    if (!ir_find_tensor(g, s)) return s;
  }
}

void ir_attrs_default(Op op, Attrs *a) {
  memset(a, 0, sizeof *a);
  for (int i = 0; i < IR_MAX_SP; i++) {
    a->kernel[i] = 0;
    a->stride[i] = 1;
    a->dilation[i] = 1;
  }
  a->group = 1;
  a->alpha = 1.0;
  a->beta = 1.0;
  a->epsilon = 1e-5;
  a->axis = 0;
  a->start = 0;
  a->end = INT64_MAX;
  a->to = DT_FLOAT;
  switch (op) {
  case OP_LEAKYRELU: a->alpha = 0.01; break;
  case OP_HARDSIGMOID: a->alpha = 0.2; a->beta = 0.5; break;
  case OP_FLATTEN: a->axis = 1; break;
  case OP_SOFTMAX: case OP_LOGSOFTMAX: a->axis = -1; break;
  default: break;
  }
}

Node *ir_node(Graph *g, Op op, const char *name, int nin, Tensor *const *in,
              int nout, Tensor *const *out) {
  Node *n = ir_alloc(g, sizeof *n);
  n->op = op;
  n->name = ir_strdup(g, name ? name : "");
  n->nin = nin;
  n->nout = nout;
  n->in = ir_alloc(g, sizeof(Tensor *) * (size_t)(nin + 1));
  n->out = ir_alloc(g, sizeof(Tensor *) * (size_t)(nout + 1));
  for (int i = 0; i < nin; i++) n->in[i] = in ? in[i] : NULL;
  for (int i = 0; i < nout; i++) {
    n->out[i] = out ? out[i] : NULL;
    if (n->out[i]) n->out[i]->producer = n;
  }
  ir_attrs_default(op, &n->a);
  GROW(g, g->nodes, g->nnodes, g->cap_nodes);
  n->id = g->nnodes;
  g->nodes[g->nnodes++] = n;
  return n;
}

void ir_add_input(Graph *g, Tensor *t) {
  t->kind = TK_INPUT;
  g->inputs = ir_realloc(g, g->inputs, sizeof(Tensor *) * (size_t)g->ninputs,
                         sizeof(Tensor *) * (size_t)(g->ninputs + 1));
  g->inputs[g->ninputs++] = t;
}

void ir_add_output(Graph *g, Tensor *t) {
  t->is_output = 1;
  g->outputs = ir_realloc(g, g->outputs, sizeof(Tensor *) * (size_t)g->noutputs,
                          sizeof(Tensor *) * (size_t)(g->noutputs + 1));
  g->outputs[g->noutputs++] = t;
}

/* ---- queries ----------------------------------------------------------- */

int ir_is_const(const Tensor *t) { return t && t->kind == TK_CONST; }

int ir_same_shape(const Tensor *a, const Tensor *b) {
  if (a->rank != b->rank) return 0;
  for (int i = 0; i < a->rank; i++)
    if (a->dims[i] != b->dims[i]) return 0;
  return 1;
}

static uint32_t rd32(const void *p) { uint32_t v; memcpy(&v, p, 4); return v; }

static double half_to_double(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 0) v = ldexp(m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = ldexp(m + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

double ir_get_f64(const Tensor *t, int64_t i) {
  const char *p = (const char *)t->data + (size_t)i * dtype_size(t->dtype);
  switch (t->dtype) {
  case DT_FLOAT: { float f; memcpy(&f, p, 4); return f; }
  case DT_DOUBLE: { double d; memcpy(&d, p, 8); return d; }
  case DT_FLOAT16: { uint16_t h; memcpy(&h, p, 2); return half_to_double(h); }
  case DT_BFLOAT16: { uint16_t h; memcpy(&h, p, 2); uint32_t u = (uint32_t)h << 16;
                      float f; memcpy(&f, &u, 4); return f; }
  case DT_UINT64: { uint64_t v; memcpy(&v, p, 8); return (double)v; }
  default: return (double)ir_get_i64(t, i);
  }
}

int64_t ir_get_i64(const Tensor *t, int64_t i) {
  const char *p = (const char *)t->data + (size_t)i * dtype_size(t->dtype);
  switch (t->dtype) {
  case DT_INT64: case DT_UINT64: { int64_t v; memcpy(&v, p, 8); return v; }
  case DT_INT32: return (int32_t)rd32(p);
  case DT_UINT32: return rd32(p);
  case DT_INT16: { int16_t v; memcpy(&v, p, 2); return v; }
  case DT_UINT16: { uint16_t v; memcpy(&v, p, 2); return v; }
  case DT_INT8: return *(const int8_t *)p;
  case DT_UINT8: case DT_BOOL: return *(const uint8_t *)p;
  default: {
    double d = ir_get_f64(t, i);
    if (!(d > -9.2e18 && d < 9.2e18)) return 0;
    return (int64_t)d;
  }
  }
}

char *ir_shape_str(const Tensor *t, char *buf, size_t n) {
  if (t->rank < 0) { snprintf(buf, n, "[?]"); return buf; }
  size_t k = 0;
  k += (size_t)snprintf(buf + k, n - k, "[");
  for (int i = 0; i < t->rank && k < n; i++)
    k += (size_t)snprintf(buf + k, n - k, "%s%" PRId64, i ? "," : "", t->dims[i]);
  if (k < n) snprintf(buf + k, n - k, "]");
  return buf;
}

/* ---- editing ----------------------------------------------------------- */

void *ir_scratch(size_t n) {
  void *p = calloc(n ? n : 1, 1);
  if (!p) { fprintf(stderr, "resnetc: out of memory\n"); exit(1); }
  return p;
}

void ir_relink(Graph *g) {
  for (int i = 0; i < g->ntensors; i++) {
    Tensor *t = g->tensors[i];
    t->id = i;
    t->producer = NULL;
    t->nconsumers = 0;
    t->consumers = NULL;
  }
  int *cnt = ir_scratch(sizeof(int) * (size_t)g->ntensors);
  size_t total = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    n->id = i;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j]) { cnt[n->in[j]->id]++; total++; }
    for (int j = 0; j < n->nout; j++)
      if (n->out[j]) n->out[j]->producer = n;
  }
  if (total > g->linkcap) {
    size_t cap = total + total / 2 + 16;
    Node **b = realloc(g->linkbuf, sizeof(Node *) * cap);
    if (!b) { fprintf(stderr, "resnetc: out of memory\n"); exit(1); }
    g->linkbuf = b;
    g->linkcap = cap;
  }
  size_t off = 0;
  for (int i = 0; i < g->ntensors; i++) {
    Tensor *t = g->tensors[i];
    if (cnt[i]) t->consumers = g->linkbuf + off;
    off += (size_t)cnt[i];
  }
  free(cnt);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    for (int j = 0; j < n->nin; j++) {
      Tensor *t = n->in[j];
      if (!t) continue;
      /* a node reading the same tensor twice is listed once */
      int seen = 0;
      for (int k = 0; k < t->nconsumers; k++) seen |= t->consumers[k] == n;
      if (!seen) t->consumers[t->nconsumers++] = n;
    }
  }
}

void ir_sweep(Graph *g) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (!g->nodes[i]->dead) g->nodes[k++] = g->nodes[i];
  g->nnodes = k;
  /* keep tensors that a live node, a graph input or output refers to */
  char *used = ir_scratch((size_t)g->ntensors);
  for (int i = 0; i < g->ntensors; i++) g->tensors[i]->id = i;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    for (int j = 0; j < n->nin; j++) if (n->in[j]) used[n->in[j]->id] = 1;
    for (int j = 0; j < n->nout; j++) if (n->out[j]) used[n->out[j]->id] = 1;
    if (n->a.value) used[n->a.value->id] = 1;
  }
  for (int i = 0; i < g->ninputs; i++) used[g->inputs[i]->id] = 1;
  for (int i = 0; i < g->noutputs; i++) used[g->outputs[i]->id] = 1;
  k = 0;
  for (int i = 0; i < g->ntensors; i++)
    if (used[i]) g->tensors[k++] = g->tensors[i];
  free(used);
  g->ntensors = k;
  ir_relink(g);
}

void ir_replace_uses(Graph *g, Tensor *from, Tensor *to) {
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] == from) n->in[j] = to;
  }
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == from) {
      g->outputs[i] = to;
      from->is_output = 0;
      to->is_output = 1;
    }
}

/* Kahn's algorithm, choosing the ready node that came first in the current
 * order, so an already sorted graph keeps its order. */
int ir_toposort(Graph *g) {
  ir_relink(g);
  int n = g->nnodes;
  int *indeg = ir_alloc(g, sizeof(int) * (size_t)(n + 1));
  for (int i = 0; i < n; i++) {
    Node *nd = g->nodes[i];
    for (int j = 0; j < nd->nin; j++) {
      Tensor *t = nd->in[j];
      if (t && t->producer) {
        int dup = 0;    /* count each producer once per input slot */
        for (int k = 0; k < j; k++) dup |= nd->in[k] == t;
        if (!dup) indeg[i]++;
      }
    }
  }
  Node **order = ir_alloc(g, sizeof(Node *) * (size_t)(n + 1));
  char *done = ir_alloc(g, (size_t)n + 1);
  int k = 0;
  /* O(n^2) in the worst case but each step resumes at the lowest ready
   * index; graphs are at most a few thousand nodes. */
  int lo = 0;
  while (k < n) {
    int pick = -1;
    for (int i = lo; i < n; i++)
      if (!done[i] && indeg[i] == 0) { pick = i; break; }
    if (pick < 0) {
      for (int i = 0; i < n; i++)
        if (!done[i]) ir_fail_node(g->nodes[i], "the graph has a cycle through this node");
    }
    done[pick] = 1;
    Node *nd = g->nodes[pick];
    order[k++] = nd;
    int newlo = n;
    for (int j = 0; j < nd->nout; j++) {
      Tensor *t = nd->out[j];
      if (!t) continue;
      for (int c = 0; c < t->nconsumers; c++) {
        Node *u = t->consumers[c];
        for (int q = 0; q < u->nin; q++) {
          if (u->in[q] != t) continue;
          int dup = 0;
          for (int r = 0; r < q; r++) dup |= u->in[r] == t;
          if (!dup) {
            indeg[u->id]--;
            if (indeg[u->id] == 0 && u->id < newlo) newlo = u->id;
          }
        }
      }
    }
    lo = newlo < pick ? newlo : lo;
    while (lo < n && done[lo]) lo++;
  }
  if (n) memcpy(g->nodes, order, sizeof(Node *) * (size_t)n);
  ir_relink(g);
  return 0;
}

/* ---- verifier ---------------------------------------------------------- */

static int vfailf(const char *after, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "resnetc: internal error: IR invalid after %s: ", after ? after : "?");
  vfprintf(stderr, fmt, ap);
  fputc('\n', stderr);
  va_end(ap);
  return -1;
}

static int cmp_names(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int ir_verify(Graph *g, const char *after) {
  char *defined = ir_alloc(g, (size_t)g->ntensors + 1);
  for (int i = 0; i < g->ntensors; i++) {
    Tensor *t = g->tensors[i];
    if (t->id != i) return vfailf(after, "tensor '%s' has id %d at index %d (call ir_relink)", t->name, t->id, i);
    if (t->kind == TK_CONST) {
      if (!t->data && ir_bytes(t) > 0) return vfailf(after, "constant '%s' has no data", t->name);
      defined[i] = 1;
    }
    if (t->kind == TK_INPUT) defined[i] = 1;
  }
  /* duplicate names: sorted, neighbours compared (n log n: models of
   * thousands of layers are verified between every pass) */
  if (g->ntensors > 1) {
    const char **names = ir_alloc(g, sizeof *names * (size_t)g->ntensors);
    for (int i = 0; i < g->ntensors; i++) names[i] = g->tensors[i]->name;
    qsort(names, (size_t)g->ntensors, sizeof *names, cmp_names);
    for (int i = 1; i < g->ntensors; i++)
      if (strcmp(names[i - 1], names[i]) == 0)
        return vfailf(after, "two tensors are named '%s'", names[i]);
  }
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    const OpInfo *oi = &op_info[n->op];
    if ((unsigned)n->op >= OP_COUNT) return vfailf(after, "node %d has op %d", i, n->op);
    if (n->dead) return vfailf(after, "dead node '%s' left in the graph (call ir_sweep)", n->name);
    if (n->nin < oi->in_min || (oi->in_max >= 0 && n->nin > oi->in_max))
      return vfailf(after, "node '%s' (%s) has %d inputs", n->name, oi->name, n->nin);
    if (n->nout < oi->out_min || n->nout > oi->out_max)
      return vfailf(after, "node '%s' (%s) has %d outputs", n->name, oi->name, n->nout);
    for (int j = 0; j < n->nin; j++) {
      Tensor *t = n->in[j];
      if (!t) continue;
      if (t->id < 0 || t->id >= g->ntensors || g->tensors[t->id] != t)
        return vfailf(after, "node '%s' reads a tensor that is not in the graph", n->name);
      if (!defined[t->id])
        return vfailf(after, "node '%s' reads '%s' before it is written", n->name, t->name);
    }
    for (int j = 0; j < n->nout; j++) {
      Tensor *t = n->out[j];
      if (!t) continue;
      if (g->tensors[t->id] != t) return vfailf(after, "node '%s' writes a tensor that is not in the graph", n->name);
      if (defined[t->id]) return vfailf(after, "tensor '%s' is written twice", t->name);
      if (t->producer != n) return vfailf(after, "tensor '%s' has a stale producer", t->name);
      defined[t->id] = 1;
    }
  }
  for (int i = 0; i < g->noutputs; i++)
    if (!defined[g->outputs[i]->id])
      return vfailf(after, "graph output '%s' is never written", g->outputs[i]->name);
  return 0;
}

/* ---- printer ----------------------------------------------------------- */

static void print_tensor_ref(FILE *f, const Tensor *t) {
  char sh[160];
  if (!t) { fputs("_", f); return; }
  fprintf(f, "%%%s:%s%s", t->name, dtype_name(t->dtype), ir_shape_str(t, sh, sizeof sh));
  if (t->layout == LAYOUT_NCHWC) fprintf(f, "@nchw%dc", t->block);
}

static void print_ints(FILE *f, const char *name, const int64_t *v, int n) {
  fprintf(f, " %s=[", name);
  for (int i = 0; i < n; i++) fprintf(f, "%s%" PRId64, i ? "," : "", v[i]);
  fputc(']', f);
}

/* The values of a small constant, "{1,2,3}": what a Slice, Pad, Reshape or
 * Squeeze does is in its constant inputs (starts, pads, shape, axes), up to
 * 16 integers; a scalar of any type (a Pad value, Clip bounds) too.  Real
 * vectors (BatchNorm parameters, biases) would drown the graph: not shown. */
static void print_values(FILE *f, const Tensor *t) {
  int64_t n = ir_numel(t);
  if (!t->data || t->rank < 0 || n > 16 || (n > 1 && dtype_is_float(t->dtype))) return;
  fputc('{', f);
  for (int64_t i = 0; i < n; i++) {
    const unsigned char *p = (const unsigned char *)t->data + i * (int64_t)dtype_size(t->dtype);
    if (i) fputc(',', f);
    switch (t->dtype) {
    case DT_FLOAT: { float v; memcpy(&v, p, 4); fprintf(f, "%g", v); break; }
    case DT_DOUBLE: { double v; memcpy(&v, p, 8); fprintf(f, "%g", v); break; }
    case DT_INT64: { int64_t v; memcpy(&v, p, 8); fprintf(f, "%" PRId64, v); break; }
    case DT_UINT64: { uint64_t v; memcpy(&v, p, 8); fprintf(f, "%" PRIu64, v); break; }
    case DT_INT32: { int32_t v; memcpy(&v, p, 4); fprintf(f, "%" PRId32, v); break; }
    case DT_UINT32: { uint32_t v; memcpy(&v, p, 4); fprintf(f, "%" PRIu32, v); break; }
    case DT_INT16: { int16_t v; memcpy(&v, p, 2); fprintf(f, "%d", v); break; }
    case DT_UINT16: { uint16_t v; memcpy(&v, p, 2); fprintf(f, "%u", v); break; }
    case DT_INT8: fprintf(f, "%d", (int)(int8_t)*p); break;
    case DT_UINT8: case DT_BOOL: fprintf(f, "%u", *p); break;
    default: fputc('?', f); break;   /* float16, bfloat16: shown as their shape only */
    }
  }
  fputc('}', f);
}

static void print_attrs(FILE *f, const Node *n) {
  const Attrs *a = &n->a;
  switch (n->op) {
  case OP_CONV: case OP_MAXPOOL: case OP_AVERAGEPOOL:
    if (a->nsp) {
      print_ints(f, "kernel", a->kernel, a->nsp);
      print_ints(f, "stride", a->stride, a->nsp);
      print_ints(f, "pads_begin", a->pad_begin, a->nsp);
      print_ints(f, "pads_end", a->pad_end, a->nsp);
      print_ints(f, "dilation", a->dilation, a->nsp);
    }
    if (n->op == OP_CONV && a->group != 1) fprintf(f, " group=%" PRId64, a->group);
    if (a->ceil_mode) fputs(" ceil_mode", f);
    if (n->op == OP_AVERAGEPOOL) fprintf(f, " count_include_pad=%d", a->count_include_pad);
    break;
  case OP_GEMM:
    fprintf(f, " alpha=%g beta=%g transA=%d transB=%d", a->alpha, a->beta, a->trans_a, a->trans_b);
    break;
  case OP_LEAKYRELU: fprintf(f, " alpha=%g", a->alpha); break;
  case OP_HARDSIGMOID: fprintf(f, " alpha=%g beta=%g", a->alpha, a->beta); break;
  case OP_BATCHNORM: fprintf(f, " epsilon=%g", a->epsilon); break;
  case OP_CONCAT: case OP_GATHER: case OP_FLATTEN:
    fprintf(f, " axis=%" PRId64, a->axis); break;
  case OP_SOFTMAX: case OP_LOGSOFTMAX:
    fprintf(f, " axis=%" PRId64 "%s", a->axis, a->softmax_2d ? " coerce_2d" : ""); break;
  case OP_TRANSPOSE: if (a->nperm) print_ints(f, "perm", a->perm, a->nperm); break;
  case OP_CAST: fprintf(f, " to=%s", dtype_name(a->to)); break;
  case OP_PAD: {
    static const char *const modes[] = {"constant", "reflect", "edge", "wrap"};
    fprintf(f, " mode=%s", modes[a->pad_mode]);
    break;
  }
  case OP_RESHAPE: if (a->allowzero) fputs(" allowzero", f); break;
  case OP_SHAPE:
    if (a->start != 0 || a->end != INT64_MAX) {
      fprintf(f, " start=%" PRId64, a->start);
      if (a->end != INT64_MAX) fprintf(f, " end=%" PRId64, a->end);
    }
    break;
  case OP_CONSTANTOFSHAPE:
    fputs(" value=", f);
    if (a->value) print_values(f, a->value);
    else fputs("{0}", f);
    break;
  default: break;
  }
  if (a->act == ACT_RELU) fputs(" +relu", f);
  else if (a->act == ACT_CLIP) fprintf(f, " +clip(%g,%g)", a->act_lo, a->act_hi);
  else if (a->act == ACT_LEAKYRELU) fprintf(f, " +leakyrelu(%g)", a->act_alpha);
  if (a->res_view && a->nsp > 0) {
    fprintf(f, " residual_view(c0=%" PRId64, a->res_c0);
    print_ints(f, "start", a->res_start, a->nsp);
    print_ints(f, "step", a->res_step, a->nsp);
    fputc(')', f);
  }
  if (n->nout > 1 && (n->op == OP_CONV || n->op == OP_GEMM)) {
    fputs(" out1=affine", f);
    if (a->post_act == ACT_RELU) fputs("+relu", f);
    else if (a->post_act == ACT_CLIP) fprintf(f, "+clip(%g,%g)", a->post_lo, a->post_hi);
    else if (a->post_act == ACT_LEAKYRELU) fprintf(f, "+leakyrelu(%g)", a->post_alpha);
  }
}

void ir_print(Graph *g, FILE *f) {
  fprintf(f, "graph %s  # %d nodes, %d tensors\n", g->name, g->nnodes, g->ntensors);
  for (int i = 0; i < g->ninputs; i++) {
    fputs("  input ", f);
    print_tensor_ref(f, g->inputs[i]);
    fputc('\n', f);
  }
  int64_t wbytes = 0, nconst = 0;
  for (int i = 0; i < g->ntensors; i++)
    if (g->tensors[i]->kind == TK_CONST) { wbytes += ir_bytes(g->tensors[i]); nconst++; }
  fprintf(f, "  # %" PRId64 " constants, %" PRId64 " bytes\n", nconst, wbytes);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    fputs("  ", f);
    for (int j = 0; j < n->nout; j++) {
      if (j) fputs(", ", f);
      print_tensor_ref(f, n->out[j]);
    }
    fprintf(f, " = %s(", op_info[n->op].name);
    for (int j = 0; j < n->nin; j++) {
      if (j) fputs(", ", f);
      if (n->in[j] && n->in[j]->kind == TK_CONST) fputs("const ", f);
      print_tensor_ref(f, n->in[j]);
      if (n->in[j] && n->in[j]->kind == TK_CONST) print_values(f, n->in[j]);
    }
    fputc(')', f);
    print_attrs(f, n);
    if (n->name && *n->name) fprintf(f, "  # %s", n->name);
    fputc('\n', f);
  }
  for (int i = 0; i < g->noutputs; i++) {
    fputs("  output ", f);
    print_tensor_ref(f, g->outputs[i]);
    fputc('\n', f);
  }
}
