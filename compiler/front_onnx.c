/*
 * front_onnx.c - the ONNX front end: a serialized ModelProto -> the IR.
 *
 * Method.  The file is mapped read-only, its wire format is pre-scanned
 * (pb_scan: structure and nesting depth, so a hostile file cannot overflow
 * the stack inside protobuf-c; the declared size of the constants, checked
 * against OnnxOptions.max_bytes), then protobuf-c unpacks it with an
 * allocator that draws from the graph's arena: an ir_fail() anywhere
 * longjmps out and ir_graph_free() releases everything, protobuf-c's
 * objects included.  protobuf-c copies each raw_data blob once into the
 * arena; the constants then point at those copies (no second copy), as do
 * float_data/int64_data/... when their layout already is the IR's.
 *
 * The graph is then built in passes over the GraphProto:
 *   1. initializers -> TK_CONST (typed, raw or external data, checked);
 *   2. graph.input entries that are not initializers -> TK_INPUT with a
 *      static shape (a symbolic dim 0 becomes OnnxOptions.batch);
 *   3. every node output gets its tensor (Constant nodes: their TK_CONST),
 *      so nodes may be listed in any order; duplicates are refused;
 *   4. each node becomes an IR Node: op from ops.def, inputs resolved,
 *      attributes checked against the op's attribute list for the model's
 *      opset and normalised to the IR's newest-opset form (attributes that
 *      later became inputs turn into constant inputs);
 *   5. graph outputs; ir_toposort() (which also reports cycles).
 * Names are resolved through a hash map local to the loader (the IR's
 * ir_find_tensor is a linear scan).
 *
 * Opset rule: an op is read in the form of its newest version <= the
 * model's ai.onnx opset.  Only the version boundaries where the form
 * changed matter here; they are written next to each op below.
 */
#include "front_onnx.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "onnx.pb-c.h"
#include "progress.h"

#define ONNX_MAX_OPSET 25     /* newest ai.onnx opset whose ops we know */
#define ONNX_MAX_IR 13        /* newest IR version */
#define PB_MAX_DEPTH 64       /* nesting of graphs/types in one model */

typedef Onnx__AttributeProto AttrP;
typedef Onnx__TensorProto TensorP;
typedef Onnx__NodeProto NodeP;
typedef Onnx__ValueInfoProto ValueInfoP;

enum {
  AT_UNDEF = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__UNDEFINED,
  AT_FLOAT = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOAT,
  AT_INT = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INT,
  AT_STRING = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRING,
  AT_TENSOR = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSOR,
  AT_GRAPH = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPH,
  AT_FLOATS = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__FLOATS,
  AT_INTS = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__INTS,
  AT_STRINGS = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__STRINGS,
  AT_TENSORS = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TENSORS,
  AT_GRAPHS = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__GRAPHS,
  AT_SPARSE = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSOR,
  AT_SPARSES = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__SPARSE_TENSORS,
  AT_TYPE = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTO,
  AT_TYPES = ONNX__ATTRIBUTE_PROTO__ATTRIBUTE_TYPE__TYPE_PROTOS,
};

/* ---- the loader state -------------------------------------------------- */

typedef struct Loader {
  Graph *g;
  const char *dir;              /* folder of the model (external data) */
  int opset;                    /* ai.onnx opset of the model */
  Onnx__GraphProto *gp;
  Tensor **tab;                 /* open-addressing map name -> tensor */
  size_t tab_cap, tab_n;
  ProtobufCAllocator pa;        /* protobuf-c allocations from the arena */
  size_t pb_bytes, pb_limit;
  int nbad;                     /* float constants holding NaN/Inf */
  const char *first_bad;
} Loader;

/* The node being read, for messages and attribute access. */
typedef struct NodeCtx {
  Loader *L;
  const NodeP *np;
  const char *name;             /* node name, else its first output */
  const char *op_type;
  Op op;
} NodeCtx;

/* ---- protobuf-c allocator ---------------------------------------------- */

/* protobuf-c may expand a hostile message a lot (a 2-byte empty submessage
 * costs a struct): the budget bounds what one file can make us allocate. */
static void *pb_alloc(void *ud, size_t n) {
  Loader *L = ud;
  size_t cost = n + 64;
  if (cost > L->pb_limit - L->pb_bytes) return NULL;
  L->pb_bytes += cost;
  return ir_alloc(L->g, n);
}

static void pb_free(void *ud, void *p) {
  (void)ud;
  (void)p;   /* the arena owns it */
}

static void loader_init(Loader *L, Graph *g, const char *dir, size_t len) {
  memset(L, 0, sizeof *L);
  L->g = g;
  L->dir = dir;
  L->pa.alloc = pb_alloc;
  L->pa.free = pb_free;
  L->pa.allocator_data = L;
  L->pb_limit = len > SIZE_MAX / 32 ? SIZE_MAX / 2 : 16 * len + ((size_t)256 << 20);
}

/* ---- wire-format pre-scan ---------------------------------------------- */

/* Message kinds on the recursive paths of onnx.proto, and TensorProto
 * (whose declared size the scan adds up).  Everything else is skipped as
 * an opaque length-delimited field (its nesting is bounded by the schema,
 * so protobuf-c's recursion there is bounded too). */
enum { M_MODEL, M_GRAPH, M_NODE, M_ATTR, M_VALUEINFO, M_TYPE, M_TYPESEQ,
       M_TYPEMAP, M_TYPEOPT, M_FUNC, M_TRAIN, M_TENSOR };

static int pb_child(int kind, uint64_t field) {
  switch (kind) {
  case M_MODEL: return field == 7 ? M_GRAPH : field == 25 ? M_FUNC : field == 20 ? M_TRAIN : -1;
  case M_GRAPH: return field == 1 ? M_NODE : (field >= 11 && field <= 13) ? M_VALUEINFO
                     : field == 5 ? M_TENSOR : -1;
  case M_NODE: return field == 5 ? M_ATTR : -1;
  case M_ATTR: return (field == 6 || field == 11) ? M_GRAPH : (field == 14 || field == 15) ? M_TYPE
                    : (field == 5 || field == 10) ? M_TENSOR : -1;
  case M_VALUEINFO: return field == 2 ? M_TYPE : -1;
  case M_TYPE: return field == 4 ? M_TYPESEQ : field == 5 ? M_TYPEMAP : field == 9 ? M_TYPEOPT : -1;
  case M_TYPESEQ: case M_TYPEOPT: return field == 1 ? M_TYPE : -1;
  case M_TYPEMAP: return field == 2 ? M_TYPE : -1;
  case M_FUNC: return field == 7 ? M_NODE : -1;
  case M_TRAIN: return (field == 1 || field == 2) ? M_GRAPH : -1;
  default: return -1;
  }
}

static int pb_varint(const uint8_t *p, size_t n, size_t *i, uint64_t *v) {
  uint64_t r = 0;
  for (int s = 0; s < 70; s += 7) {
    if (*i >= n) return -1;
    uint8_t b = p[(*i)++];
    r |= (uint64_t)(b & 0x7f) << s;
    if (!(b & 0x80)) { *v = r; return 0; }
  }
  return -1;
}

/* Saturating size arithmetic for the declared tensor sizes. */
static uint64_t sat_mul(uint64_t a, uint64_t b) {
  return a && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

/* 0 when p[0..n) is well-formed protobuf with at most PB_MAX_DEPTH levels
 * along the recursive paths, -1 otherwise.  Adds the declared byte size
 * (dims x element size) of every TensorProto of the graph (initializers,
 * tensor attributes) to *bytes, so a size limit is checked before
 * protobuf-c allocates anything. */
static int pb_scan(const uint8_t *p, size_t n, int kind, int depth, uint64_t *bytes) {
  if (depth > PB_MAX_DEPTH) return -1;
  size_t i = 0;
  uint64_t numel = 1, dtype = 0;
  while (i < n) {
    uint64_t key, v;
    if (pb_varint(p, n, &i, &key) || (key >> 3) == 0) return -1;
    switch (key & 7) {
    case 0:
      if (pb_varint(p, n, &i, &v)) return -1;
      if (kind == M_TENSOR && key >> 3 == 1) numel = sat_mul(numel, (int64_t)v < 0 ? 0 : v);
      if (kind == M_TENSOR && key >> 3 == 2) dtype = v;
      break;
    case 1: if (n - i < 8) return -1; i += 8; break;
    case 5: if (n - i < 4) return -1; i += 4; break;
    case 2: {
      if (pb_varint(p, n, &i, &v) || v > n - i) return -1;
      if (kind == M_TENSOR && key >> 3 == 1) {   /* packed dims */
        size_t j = i, e = i + (size_t)v;
        while (j < e) {
          uint64_t d;
          if (pb_varint(p, e, &j, &d)) return -1;
          numel = sat_mul(numel, (int64_t)d < 0 ? 0 : d);
        }
      }
      int ck = pb_child(kind, key >> 3);
      if (ck >= 0 && pb_scan(p + i, (size_t)v, ck, depth + 1, bytes)) return -1;
      i += (size_t)v;
      break;
    }
    default: return -1;   /* groups: not in ONNX */
    }
  }
  if (kind == M_TENSOR) {
    uint64_t sz = dtype <= DT_BFLOAT16 ? dtype_size((DType)dtype) : 0;
    uint64_t nb = sat_mul(numel, sz);
    *bytes = nb > UINT64_MAX - *bytes ? UINT64_MAX : *bytes + nb;
  }
  return 0;
}

/* ---- names -> tensors --------------------------------------------------- */

static uint64_t hash_str(const char *s) {
  uint64_t h = 1469598103934665603ull;   /* FNV-1a */
  while (*s) { h ^= (unsigned char)*s++; h *= 1099511628211ull; }
  return h;
}

static Tensor *lookup(const Loader *L, const char *name) {
  if (!L->tab_cap) return NULL;
  size_t m = L->tab_cap - 1;
  for (size_t i = (size_t)hash_str(name) & m;; i = (i + 1) & m) {
    Tensor *t = L->tab[i];
    if (!t) return NULL;
    if (strcmp(t->name, name) == 0) return t;
  }
}

static void insert(Loader *L, Tensor *t) {
  if (2 * (L->tab_n + 1) > L->tab_cap) {
    size_t nc = L->tab_cap ? 2 * L->tab_cap : 256;
    Tensor **nt = ir_alloc(L->g, sizeof *nt * nc);
    for (size_t j = 0; j < L->tab_cap; j++) {
      Tensor *x = L->tab[j];
      if (!x) continue;
      size_t i = (size_t)hash_str(x->name) & (nc - 1);
      while (nt[i]) i = (i + 1) & (nc - 1);
      nt[i] = x;
    }
    L->tab = nt;
    L->tab_cap = nc;
  }
  size_t m = L->tab_cap - 1, i = (size_t)hash_str(t->name) & m;
  while (L->tab[i]) i = (i + 1) & m;
  L->tab[i] = t;
  L->tab_n++;
}

static char *unique_name(Loader *L, const char *base) {
  if (!lookup(L, base)) return ir_strdup(L->g, base);
  for (int i = 1;; i++) {
    char *s = ir_fmt(L->g, "%s_%d", base, i);
    if (!lookup(L, s)) return s;
  }
}

/* A new constant named after base (made unique), registered in the map.
 * own: data is arena memory of the graph, taken as is. */
static Tensor *new_const(Loader *L, const char *base, DType t, int rank,
                         const int64_t *dims, const void *data, int own) {
  Tensor *x = ir_const(L->g, unique_name(L, base), t, rank, dims, data, own);
  insert(L, x);
  return x;
}

/* ---- element types ------------------------------------------------------ */

static const char *onnx_type_name(int64_t t) {
  static const char *const names[] = {
    "undefined", "float32", "uint8", "int8", "uint16", "int16", "int32",
    "int64", "string", "bool", "float16", "float64", "uint32", "uint64",
    "complex64", "complex128", "bfloat16", "float8e4m3fn", "float8e4m3fnuz",
    "float8e5m2", "float8e5m2fnuz", "uint4", "int4", "float4e2m1",
    "float8e8m0", "uint2", "int2"};
  if (t >= 0 && t < (int64_t)(sizeof names / sizeof names[0])) return names[t];
  return "unknown";
}

/* The DType of an ONNX element type, DT_UNDEFINED when resnetc has none. */
static DType dtype_of(int64_t t) {
  if (t < 1 || t > DT_BFLOAT16 || t == DT_STRING) return DT_UNDEFINED;
  return dtype_size((DType)t) ? (DType)t : DT_UNDEFINED;
}

/* ---- messages ----------------------------------------------------------- */

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 2, 3)))
#endif
static void fail_np(const NodeCtx *c, const char *fmt, ...) {
  char body[700];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  ir_fail("node '%s' (%s): %s", c->name, c->op_type, body);
}

static const char *np_name(const NodeP *np) {
  if (np->name && *np->name) return np->name;
  for (size_t i = 0; i < np->n_output; i++)
    if (np->output[i] && *np->output[i]) return np->output[i];
  return "(unnamed)";
}

static const char *attr_type_name(int t) {
  switch (t) {
  case AT_FLOAT: return "FLOAT"; case AT_INT: return "INT";
  case AT_STRING: return "STRING"; case AT_TENSOR: return "TENSOR";
  case AT_GRAPH: return "GRAPH"; case AT_FLOATS: return "FLOATS";
  case AT_INTS: return "INTS"; case AT_STRINGS: return "STRINGS";
  case AT_TENSORS: return "TENSORS"; case AT_GRAPHS: return "GRAPHS";
  case AT_SPARSE: return "SPARSE_TENSOR"; case AT_SPARSES: return "SPARSE_TENSORS";
  case AT_TYPE: return "TYPE_PROTO"; case AT_TYPES: return "TYPE_PROTOS";
  default: return "UNDEFINED";
  }
}

/* ---- tensors ------------------------------------------------------------ */

/* Checks the element type and dims of tp; returns the byte size. */
static int64_t tensor_shape(const TensorP *tp, const char *name, DType *dt, int *rank,
                            int64_t *dims) {
  if (!tp->has_data_type || tp->data_type == 0)
    ir_fail("tensor '%s' has no element type", name);
  *dt = dtype_of(tp->data_type);
  if (*dt == DT_UNDEFINED)
    ir_fail("tensor '%s' has element type %s (%d), which resnetc does not support",
            name, onnx_type_name(tp->data_type), (int)tp->data_type);
  if (tp->n_dims > IR_MAX_RANK)
    ir_fail("tensor '%s' has rank %zu, more than the %d supported", name, tp->n_dims, IR_MAX_RANK);
  *rank = (int)tp->n_dims;
  int64_t numel = 1;
  for (size_t i = 0; i < tp->n_dims; i++) {
    if (tp->dims[i] < 0)
      ir_fail("tensor '%s' has a negative dimension %" PRId64, name, tp->dims[i]);
    dims[i] = tp->dims[i];
    numel = ir_mul_checked(numel, tp->dims[i]);
    if (numel < 0) ir_fail("tensor '%s' has too many elements (its dimensions overflow)", name);
  }
  int64_t nb = ir_mul_checked(numel, (int64_t)dtype_size(*dt));
  if (nb < 0 || (uint64_t)nb > SIZE_MAX / 2)
    ir_fail("tensor '%s' has too many elements (its dimensions overflow)", name);
  return nb;
}

static int64_t parse_i64(const char *s, const char *tname, const char *key) {
  char *end;
  errno = 0;
  long long v = s && *s ? strtoll(s, &end, 10) : -1;
  if (!s || !*s || *end || errno || v < 0)
    ir_fail("tensor '%s': external data %s '%s' is not a non-negative integer", tname, key, s ? s : "");
  return v;
}

/* Reads nb bytes of external data.  Only paths inside the model's folder:
 * no absolute path, no '..' component. */
static void *read_external(Loader *L, const TensorP *tp, const char *name, int64_t nb) {
  const char *loc = NULL, *soff = NULL, *slen = NULL;
  for (size_t i = 0; i < tp->n_external_data; i++) {
    const Onnx__StringStringEntryProto *e = tp->external_data[i];
    if (!e->key) continue;
    if (!strcmp(e->key, "location")) loc = e->value;
    else if (!strcmp(e->key, "offset")) soff = e->value;
    else if (!strcmp(e->key, "length")) slen = e->value;
  }
  if (!loc || !*loc) ir_fail("tensor '%s' has external data without a location", name);
  if (loc[0] == '/' || loc[0] == '\\' || (isalpha((unsigned char)loc[0]) && loc[1] == ':'))
    ir_fail("tensor '%s': external data path '%s' is absolute; it must be relative to the model's folder",
            name, loc);
  for (const char *p = loc; *p;) {
    size_t k = strcspn(p, "/\\");
    if (k == 2 && p[0] == '.' && p[1] == '.')
      ir_fail("tensor '%s': external data path '%s' climbs out of the model's folder ('..')", name, loc);
    p += k;
    if (*p) p++;
  }
  int64_t off = soff ? parse_i64(soff, name, "offset") : 0;
  int64_t len = slen ? parse_i64(slen, name, "length") : -1;
  char *path = ir_fmt(L->g, "%s/%s", L->dir, loc);
  struct stat st;
  if (stat(path, &st) != 0)
    ir_fail("tensor '%s': cannot open external data file '%s': %s", name, loc, strerror(errno));
  if (!S_ISREG(st.st_mode))
    ir_fail("tensor '%s': external data file '%s' is not a regular file", name, loc);
  int64_t size = (int64_t)st.st_size;
  if (off > size)
    ir_fail("tensor '%s': external data offset %" PRId64 " is past the end of '%s' (%" PRId64 " bytes)",
            name, off, loc, size);
  if (len < 0) len = size - off;
  else if (len > size - off)
    ir_fail("tensor '%s': external data length %" PRId64 " at offset %" PRId64
            " goes past the end of '%s' (%" PRId64 " bytes)", name, len, off, loc, size);
  if (len != nb)
    ir_fail("tensor '%s': external data has %" PRId64 " bytes, its shape needs %" PRId64, name, len, nb);
  if (nb == 0) return NULL;
  void *buf = ir_alloc(L->g, (size_t)nb);   /* before fopen: no fd leaks */
  FILE *f = fopen(path, "rb");
  if (!f) ir_fail("tensor '%s': cannot open external data file '%s': %s", name, loc, strerror(errno));
  int ok = fseeko(f, (off_t)off, SEEK_SET) == 0 && fread(buf, 1, (size_t)nb, f) == (size_t)nb;
  fclose(f);
  if (!ok) ir_fail("tensor '%s': cannot read %" PRId64 " bytes of '%s'", name, nb, loc);
  return buf;
}

/* Values from the typed fields (float_data, int32_data, ...), converted to
 * the IR's packed little-endian layout.  Where the field already has that
 * layout its array is used directly (it lives in the arena). */
static void *typed_data(Loader *L, const TensorP *tp, const char *name, DType dt, int64_t numel) {
  size_t have;
  const char *field;
  switch (dt) {
  case DT_FLOAT: have = tp->n_float_data; field = "float_data"; break;
  case DT_DOUBLE: have = tp->n_double_data; field = "double_data"; break;
  case DT_INT64: have = tp->n_int64_data; field = "int64_data"; break;
  case DT_UINT32: case DT_UINT64: have = tp->n_uint64_data; field = "uint64_data"; break;
  default: have = tp->n_int32_data; field = "int32_data"; break;
  }
  if (numel == 0 && have == 0) return NULL;
  if (have == 0)
    ir_fail("tensor '%s' has no data (%s needs %" PRId64 " values in raw_data or %s)",
            name, dtype_name(dt), numel, field);
  if ((int64_t)have != numel)
    ir_fail("tensor '%s' has %zu values in %s, its shape needs %" PRId64, name, have, field, numel);
  size_t n = (size_t)numel;
  switch (dt) {
  case DT_FLOAT: return tp->float_data;
  case DT_DOUBLE: return tp->double_data;
  case DT_INT64: return tp->int64_data;
  case DT_INT32: return tp->int32_data;
  case DT_UINT64: return tp->uint64_data;
  case DT_UINT32: {
    uint32_t *d = ir_alloc(L->g, n * 4);
    for (size_t i = 0; i < n; i++) d[i] = (uint32_t)tp->uint64_data[i];
    return d;
  }
  case DT_INT8: case DT_UINT8: case DT_BOOL: {
    uint8_t *d = ir_alloc(L->g, n);
    for (size_t i = 0; i < n; i++)
      d[i] = dt == DT_BOOL ? tp->int32_data[i] != 0 : (uint8_t)tp->int32_data[i];
    return d;
  }
  default: {   /* int16, uint16, float16 and bfloat16 bit patterns */
    uint16_t *d = ir_alloc(L->g, n * 2);
    for (size_t i = 0; i < n; i++) d[i] = (uint16_t)tp->int32_data[i];
    return d;
  }
  }
}

/* Counts float constants holding NaN or Inf (one warning at the end). */
static void check_finite(Loader *L, const Tensor *t) {
  if (!dtype_is_float(t->dtype) || !t->data) return;
  int64_t n = ir_numel(t);
  int bad = 0;
  const uint8_t *p = t->data;
  switch (t->dtype) {
  case DT_FLOAT:
    for (int64_t i = 0; i < n; i++) {
      uint32_t u; memcpy(&u, p + 4 * i, 4);
      bad |= (u & 0x7f800000u) == 0x7f800000u;
    }
    break;
  case DT_DOUBLE:
    for (int64_t i = 0; i < n; i++) {
      uint64_t u; memcpy(&u, p + 8 * i, 8);
      bad |= (u & 0x7ff0000000000000ull) == 0x7ff0000000000000ull;
    }
    break;
  default: {
    uint16_t mask = t->dtype == DT_FLOAT16 ? 0x7c00 : 0x7f80;
    for (int64_t i = 0; i < n; i++) {
      uint16_t u; memcpy(&u, p + 2 * i, 2);
      bad |= (u & mask) == mask;
    }
  }
  }
  if (bad && L->nbad++ == 0) L->first_bad = t->name;
}

/* A TensorProto as a new constant named name (not registered). */
static Tensor *tensor_from_proto(Loader *L, const TensorP *tp, const char *name) {
  DType dt;
  int rank;
  int64_t dims[IR_MAX_RANK];
  int64_t nb = tensor_shape(tp, name, &dt, &rank, dims);
  int64_t numel = nb / (int64_t)dtype_size(dt);
  void *data;
  if (tp->segment) ir_fail("tensor '%s' is segmented, which resnetc does not support", name);
  if (tp->has_data_location && tp->data_location == ONNX__TENSOR_PROTO__DATA_LOCATION__EXTERNAL) {
    data = read_external(L, tp, name, nb);
  } else if (tp->has_data_location && tp->data_location != ONNX__TENSOR_PROTO__DATA_LOCATION__DEFAULT) {
    ir_fail("tensor '%s' has an unknown data_location %d", name, (int)tp->data_location);
  } else if (tp->has_raw_data) {
    if ((int64_t)tp->raw_data.len != nb)
      ir_fail("tensor '%s': raw_data has %zu bytes, its %s shape of %" PRId64
              " elements needs %" PRId64, name, tp->raw_data.len, dtype_name(dt), numel, nb);
    data = nb ? tp->raw_data.data : NULL;
  } else {
    data = typed_data(L, tp, name, dt, numel);
  }
  Tensor *t = ir_const(L->g, name, dt, rank, dims, data, 1);
  check_finite(L, t);
  return t;
}

/* ---- attributes --------------------------------------------------------- */

static int attr_type(const AttrP *a) {
  if (a->has_type && (int)a->type != AT_UNDEF) return (int)a->type;
  /* IR version 1 files may leave the type out: infer it from the field */
  if (a->n_floats) return AT_FLOATS;
  if (a->n_ints) return AT_INTS;
  if (a->n_strings) return AT_STRINGS;
  if (a->n_tensors) return AT_TENSORS;
  if (a->n_graphs) return AT_GRAPHS;
  if (a->t) return AT_TENSOR;
  if (a->g) return AT_GRAPH;
  if (a->sparse_tensor) return AT_SPARSE;
  if (a->has_f) return AT_FLOAT;
  if (a->has_i) return AT_INT;
  if (a->has_s) return AT_STRING;
  return AT_UNDEF;
}

static const AttrP *find_attr(const NodeCtx *c, const char *name) {
  for (size_t i = 0; i < c->np->n_attribute; i++)
    if (c->np->attribute[i]->name && !strcmp(c->np->attribute[i]->name, name))
      return c->np->attribute[i];
  return NULL;
}

/* The attribute name if present, checked to be of the given type. */
static const AttrP *get_attr(const NodeCtx *c, const char *name, int type) {
  const AttrP *a = find_attr(c, name);
  if (!a) return NULL;
  int t = attr_type(a);
  if (t != type)
    fail_np(c, "attribute '%s' must be of type %s, not %s", name, attr_type_name(type), attr_type_name(t));
  return a;
}

static int64_t attr_int(const NodeCtx *c, const char *name, int64_t def) {
  const AttrP *a = get_attr(c, name, AT_INT);
  return a ? a->i : def;
}

static int attr_bool(const NodeCtx *c, const char *name, int def) {
  int64_t v = attr_int(c, name, def);
  if (v != 0 && v != 1) fail_np(c, "attribute '%s' must be 0 or 1, not %" PRId64, name, v);
  return (int)v;
}

static double attr_float(const NodeCtx *c, const char *name, double def) {
  const AttrP *a = get_attr(c, name, AT_FLOAT);
  return a ? a->f : def;
}

/* A STRING attribute, NUL-terminated copy; def when absent. */
static const char *attr_str(const NodeCtx *c, const char *name, const char *def) {
  const AttrP *a = get_attr(c, name, AT_STRING);
  if (!a) return def;
  if (!a->s.len) return "";
  return ir_strndup(c->L->g, (const char *)a->s.data, a->s.len);
}

/* An INTS attribute: count (or -1 when absent) and values. */
static int64_t attr_ints(const NodeCtx *c, const char *name, const int64_t **v) {
  const AttrP *a = get_attr(c, name, AT_INTS);
  if (!a) return -1;
  *v = a->ints;
  return (int64_t)a->n_ints;
}

/* The attributes each op knows, with the opsets where they exist.  An
 * attribute outside this list (or outside its opsets) is refused: a silent
 * ignore could change the meaning of the model. */
typedef struct AttrSpec { const char *name; int since, until; } AttrSpec;
#define ALL 1, 999
static const AttrSpec *attr_specs(Op op) {
  static const AttrSpec conv[] = {{"auto_pad", ALL}, {"dilations", ALL}, {"group", ALL},
    {"kernel_shape", ALL}, {"pads", ALL}, {"strides", ALL}, {0, 0, 0}};
  static const AttrSpec bn[] = {{"epsilon", ALL}, {"momentum", ALL}, {"training_mode", 14, 999},
    {"is_test", 1, 6}, {"spatial", 1, 8}, {"consumed_inputs", 1, 5}, {0, 0, 0}};
  static const AttrSpec legacy[] = {{"consumed_inputs", 1, 5}, {0, 0, 0}};
  static const AttrSpec none[] = {{0, 0, 0}};
  static const AttrSpec clip[] = {{"min", 1, 10}, {"max", 1, 10}, {"consumed_inputs", 1, 5}, {0, 0, 0}};
  static const AttrSpec leaky[] = {{"alpha", ALL}, {"consumed_inputs", 1, 5}, {0, 0, 0}};
  static const AttrSpec hsig[] = {{"alpha", ALL}, {"beta", ALL}, {"consumed_inputs", 1, 5}, {0, 0, 0}};
  static const AttrSpec arith[] = {{"broadcast", 1, 6}, {"axis", 1, 6}, {"consumed_inputs", 1, 5}, {0, 0, 0}};
  static const AttrSpec maxpool[] = {{"auto_pad", ALL}, {"ceil_mode", 10, 999}, {"dilations", 10, 999},
    {"kernel_shape", ALL}, {"pads", ALL}, {"storage_order", 8, 999}, {"strides", ALL}, {0, 0, 0}};
  static const AttrSpec avgpool[] = {{"auto_pad", ALL}, {"ceil_mode", 10, 999},
    {"count_include_pad", 7, 999}, {"dilations", 19, 999}, {"kernel_shape", ALL}, {"pads", ALL},
    {"strides", ALL}, {0, 0, 0}};
  static const AttrSpec gemm[] = {{"alpha", ALL}, {"beta", ALL}, {"transA", ALL}, {"transB", ALL},
    {"broadcast", 1, 6}, {0, 0, 0}};
  static const AttrSpec axis[] = {{"axis", ALL}, {0, 0, 0}};
  static const AttrSpec reshape[] = {{"shape", 1, 4}, {"consumed_inputs", 1, 4},
    {"allowzero", 14, 999}, {0, 0, 0}};
  static const AttrSpec transpose[] = {{"perm", ALL}, {0, 0, 0}};
  static const AttrSpec slice[] = {{"starts", 1, 9}, {"ends", 1, 9}, {"axes", 1, 9}, {0, 0, 0}};
  static const AttrSpec pad[] = {{"mode", ALL}, {"pads", 2, 10}, {"paddings", 1, 1},
    {"value", 1, 10}, {0, 0, 0}};
  static const AttrSpec dropout[] = {{"ratio", 1, 11}, {"is_test", 1, 6}, {"seed", 12, 999},
    {"consumed_inputs", 1, 5}, {0, 0, 0}};
  static const AttrSpec cos[] = {{"value", ALL}, {0, 0, 0}};
  static const AttrSpec shape[] = {{"start", 15, 999}, {"end", 15, 999}, {0, 0, 0}};
  static const AttrSpec axes[] = {{"axes", 1, 12}, {0, 0, 0}};
  static const AttrSpec cast[] = {{"to", ALL}, {"saturate", 19, 999}, {"round_mode", 24, 999}, {0, 0, 0}};
  switch (op) {
  case OP_CONV: return conv;
  case OP_BATCHNORM: return bn;
  case OP_RELU: case OP_SIGMOID: case OP_SUM: return legacy;
  case OP_CLIP: return clip;
  case OP_LEAKYRELU: return leaky;
  case OP_HARDSIGMOID: return hsig;
  case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: return arith;
  case OP_MAXPOOL: return maxpool;
  case OP_AVERAGEPOOL: return avgpool;
  case OP_GEMM: return gemm;
  case OP_FLATTEN: case OP_CONCAT: case OP_GATHER: case OP_SOFTMAX: case OP_LOGSOFTMAX: return axis;
  case OP_RESHAPE: return reshape;
  case OP_TRANSPOSE: return transpose;
  case OP_SLICE: return slice;
  case OP_PAD: return pad;
  case OP_DROPOUT: return dropout;
  case OP_CONSTANTOFSHAPE: return cos;
  case OP_SHAPE: return shape;
  case OP_SQUEEZE: case OP_UNSQUEEZE: return axes;
  case OP_CAST: return cast;
  default: return none;
  }
}
#undef ALL

static void check_attr_names(const NodeCtx *c) {
  const AttrSpec *spec = attr_specs(c->op);
  for (size_t i = 0; i < c->np->n_attribute; i++) {
    const AttrP *a = c->np->attribute[i];
    const char *nm = a->name ? a->name : "";
    if (a->ref_attr_name && *a->ref_attr_name)
      fail_np(c, "attribute '%s' refers to a function attribute, which is only valid inside functions", nm);
    for (size_t j = 0; j < i; j++)
      if (c->np->attribute[j]->name && !strcmp(c->np->attribute[j]->name, nm))
        fail_np(c, "attribute '%s' is given twice", nm);
    const AttrSpec *s = spec;
    while (s->name && strcmp(s->name, nm)) s++;
    if (!s->name) {
      int t = attr_type(a);
      if (t == AT_GRAPH || t == AT_GRAPHS)
        fail_np(c, "attribute '%s' holds a subgraph; subgraphs are not supported", nm);
      fail_np(c, "unknown attribute '%s'", nm);
    }
    if (c->L->opset < s->since || c->L->opset > s->until)
      fail_np(c, "attribute '%s' is not part of %s in opset %d", nm, c->op_type, c->L->opset);
  }
}

/* Conv and pools: kernel_shape, strides, dilations, pads (ONNX order: all
 * begins, then all ends), auto_pad.  nsp comes from whichever list is given;
 * the lists must agree. */
static void conv_pool_attrs(const NodeCtx *c, Attrs *a, int pool) {
  int nsp = -1;
  const char *first = NULL;
  static const char *const names[] = {"kernel_shape", "strides", "dilations", "pads"};
  for (int k = 0; k < 4; k++) {
    const int64_t *v = NULL;
    int64_t n = attr_ints(c, names[k], &v);
    if (n < 0) {
      if (k == 0 && pool) fail_np(c, "missing required attribute 'kernel_shape'");
      continue;
    }
    if (n == 0) continue;
    int64_t ns = k == 3 ? n / 2 : n;
    if (k == 3 && n % 2) fail_np(c, "attribute 'pads' has %" PRId64 " values, not an even number", n);
    if (ns > IR_MAX_SP)
      fail_np(c, "attribute '%s' has %" PRId64 " spatial dimensions; at most %d are supported",
              names[k], ns, IR_MAX_SP);
    if (nsp >= 0 && ns != nsp)
      fail_np(c, "attribute '%s' is for %" PRId64 " spatial dimensions, '%s' for %d",
              names[k], ns, first, nsp);
    nsp = (int)ns;
    first = names[k];
    for (int64_t i = 0; i < n; i++) {
      int64_t lo = k == 3 ? 0 : 1;
      if (v[i] < lo || v[i] > ((int64_t)1 << 31))
        fail_np(c, "attribute '%s' has the invalid value %" PRId64, names[k], v[i]);
    }
    for (int i = 0; i < nsp; i++) {
      if (k == 0) a->kernel[i] = v[i];
      else if (k == 1) a->stride[i] = v[i];
      else if (k == 2) a->dilation[i] = v[i];
      else { a->pad_begin[i] = v[i]; a->pad_end[i] = v[i + nsp]; }
    }
  }
  a->nsp = nsp < 0 ? 0 : nsp;
  const char *ap = attr_str(c, "auto_pad", "NOTSET");
  if (!strcmp(ap, "NOTSET") || !*ap) a->auto_pad = AP_NOTSET;
  else if (!strcmp(ap, "SAME_UPPER")) a->auto_pad = AP_SAME_UPPER;
  else if (!strcmp(ap, "SAME_LOWER")) a->auto_pad = AP_SAME_LOWER;
  else if (!strcmp(ap, "VALID")) a->auto_pad = AP_VALID;
  else fail_np(c, "attribute 'auto_pad' is '%s', not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID", ap);
}

/* The rank of t if the loader can know it: inputs and constants, else a
 * value_info entry of the graph; -1 otherwise. */
static int known_rank(const Loader *L, const Tensor *t) {
  if (t->rank >= 0) return t->rank;
  const Onnx__GraphProto *gp = L->gp;
  for (size_t k = 0; k < 2; k++) {
    size_t n = k ? gp->n_output : gp->n_value_info;
    ValueInfoP **v = k ? gp->output : gp->value_info;
    for (size_t i = 0; i < n; i++)
      if (v[i]->name && !strcmp(v[i]->name, t->name) && v[i]->type &&
          v[i]->type->value_case == ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE &&
          v[i]->type->tensor_type->shape)
        return (int)v[i]->type->tensor_type->shape->n_dim;
  }
  return -1;
}

/* A scalar constant for an attribute turned input, in x's float type when
 * the loader knows it (double), else float32. */
static Tensor *scalar_const(const NodeCtx *c, const char *what, const Tensor *x, double v) {
  char *base = ir_fmt(c->L->g, "%s_%s", c->name, what);
  if (x && x->dtype == DT_DOUBLE) {
    double *d = ir_alloc(c->L->g, 8);
    *d = v;
    return new_const(c->L, base, DT_DOUBLE, 0, NULL, d, 1);
  }
  float *f = ir_alloc(c->L->g, 4);
  *f = (float)v;
  return new_const(c->L, base, DT_FLOAT, 0, NULL, f, 1);
}

static Tensor *ints_const(const NodeCtx *c, const char *what, const int64_t *v, int64_t n) {
  int64_t d = n;
  return new_const(c->L, ir_fmt(c->L->g, "%s_%s", c->name, what), DT_INT64, 1, &d, v, 0);
}

static DType cast_target(const NodeCtx *c) {
  const AttrP *a = find_attr(c, "to");
  if (!a) fail_np(c, "missing required attribute 'to'");
  int64_t to;
  int t = attr_type(a);
  if (t == AT_INT) to = a->i;
  else if (t == AT_STRING) {      /* Cast-1: the type's name */
    static const char *const nm[] = {"UNDEFINED", "FLOAT", "UINT8", "INT8", "UINT16", "INT16",
      "INT32", "INT64", "STRING", "BOOL", "FLOAT16", "DOUBLE", "UINT32", "UINT64",
      "COMPLEX64", "COMPLEX128", "BFLOAT16"};
    const char *s = attr_str(c, "to", "");
    to = -1;
    for (int i = 0; i < (int)(sizeof nm / sizeof nm[0]); i++)
      if (!strcmp(nm[i], s)) to = i;
    if (to < 0) fail_np(c, "attribute 'to' names the unknown type '%s'", s);
  } else {
    fail_np(c, "attribute 'to' must be of type INT, not %s", attr_type_name(t));
  }
  DType d = dtype_of(to);
  if (d == DT_UNDEFINED)
    fail_np(c, "cannot cast to %s (%" PRId64 "): resnetc does not support that element type",
            onnx_type_name(to), to);
  return d;
}

/* The attributes of the node into *a, in the IR's form; attributes of old
 * opsets that became inputs are appended to in[] (*nin updated). */
static void read_attrs(const NodeCtx *c, Attrs *a, Tensor **in, int *nin, int nout) {
  Loader *L = c->L;
  int v = L->opset;
  const int64_t *iv;
  int64_t n;
  check_attr_names(c);
  switch (c->op) {
  case OP_CONV:
    conv_pool_attrs(c, a, 0);
    a->group = attr_int(c, "group", 1);
    if (a->group < 1) fail_np(c, "attribute 'group' is %" PRId64 ", it must be at least 1", a->group);
    break;
  case OP_MAXPOOL:
    conv_pool_attrs(c, a, 1);
    a->ceil_mode = attr_bool(c, "ceil_mode", 0);
    a->storage_order = attr_bool(c, "storage_order", 0);
    break;
  case OP_AVERAGEPOOL:
    conv_pool_attrs(c, a, 1);
    a->ceil_mode = attr_bool(c, "ceil_mode", 0);
    a->count_include_pad = attr_bool(c, "count_include_pad", 0);
    break;
  case OP_GEMM:
    a->alpha = attr_float(c, "alpha", 1.0);
    a->beta = attr_float(c, "beta", 1.0);
    a->trans_a = attr_bool(c, "transA", 0);
    a->trans_b = attr_bool(c, "transB", 0);
    break;   /* the legacy 'broadcast' (< 7) matches numpy broadcasting */
  case OP_BATCHNORM:
    a->epsilon = attr_float(c, "epsilon", 1e-5);
    if (!(a->epsilon >= 0)) fail_np(c, "attribute 'epsilon' is negative");
    if (attr_bool(c, "training_mode", 0))
      fail_np(c, "training mode (training_mode=1) is not supported; export the model in eval mode");
    if (nout > 1)
      fail_np(c, "training mode (%d outputs, with running statistics) is not supported; export the "
              "model in eval mode", nout);
    if (!attr_bool(c, "spatial", 1))
      fail_np(c, "spatial=0 (statistics per activation) is not supported");
    (void)attr_int(c, "is_test", 0);
    break;
  case OP_LEAKYRELU: a->alpha = attr_float(c, "alpha", 0.01); break;
  case OP_HARDSIGMOID:
    a->alpha = attr_float(c, "alpha", 0.2);
    a->beta = attr_float(c, "beta", 0.5);
    break;
  case OP_FLATTEN: a->axis = attr_int(c, "axis", 1); break;
  case OP_GATHER: a->axis = attr_int(c, "axis", 0); break;
  case OP_CONCAT:
    if (!find_attr(c, "axis") && v >= 4) fail_np(c, "missing required attribute 'axis'");
    a->axis = attr_int(c, "axis", 1);
    break;
  case OP_SOFTMAX: case OP_LOGSOFTMAX:
    /* before opset 13: coerce to 2-D at axis (default 1) */
    a->softmax_2d = v < 13;
    a->axis = attr_int(c, "axis", v < 13 ? 1 : -1);
    break;
  case OP_TRANSPOSE:
    n = attr_ints(c, "perm", &iv);
    if (n > IR_MAX_RANK) fail_np(c, "attribute 'perm' has %" PRId64 " entries, more than the rank limit %d", n, IR_MAX_RANK);
    if (n > 0) {
      unsigned seen = 0;
      for (int64_t i = 0; i < n; i++) {
        if (iv[i] < 0 || iv[i] >= n || (seen >> iv[i] & 1))
          fail_np(c, "attribute 'perm' is not a permutation of 0..%" PRId64, n - 1);
        seen |= 1u << iv[i];
        a->perm[i] = iv[i];
      }
      a->nperm = (int)n;
    }
    break;
  case OP_CAST: a->to = cast_target(c); break;
  case OP_SHAPE:
    a->start = attr_int(c, "start", 0);
    a->end = attr_int(c, "end", INT64_MAX);
    break;
  case OP_CONSTANTOFSHAPE: {
    const AttrP *t = get_attr(c, "value", AT_TENSOR);
    if (t) {
      if (!t->t) fail_np(c, "attribute 'value' has no tensor");
      Tensor *x = tensor_from_proto(L, t->t, unique_name(L, ir_fmt(L->g, "%s_value", c->name)));
      insert(L, x);
      if (ir_numel(x) != 1)
        fail_np(c, "attribute 'value' must hold one element, not %" PRId64, ir_numel(x));
      a->value = x;
    }
    break;
  }
  case OP_RESHAPE:
    a->allowzero = attr_bool(c, "allowzero", 0);
    if (v < 5) {            /* Reshape-1: shape is an attribute */
      n = attr_ints(c, "shape", &iv);
      if (n < 0) fail_np(c, "missing required attribute 'shape'");
      in[(*nin)++] = ints_const(c, "shape", iv, n);
    }
    break;
  case OP_PAD: {
    const char *m = attr_str(c, "mode", "constant");
    if (!strcmp(m, "constant")) a->pad_mode = PM_CONSTANT;
    else if (!strcmp(m, "reflect")) a->pad_mode = PM_REFLECT;
    else if (!strcmp(m, "edge")) a->pad_mode = PM_EDGE;
    else if (!strcmp(m, "wrap")) a->pad_mode = PM_WRAP;
    else fail_np(c, "attribute 'mode' is '%s', not one of constant, reflect, edge, wrap", m);
    if (v < 11) {           /* Pad-1/2: pads (paddings) and value are attributes */
      const char *pn = v < 2 ? "paddings" : "pads";
      n = attr_ints(c, pn, &iv);
      if (n < 0) fail_np(c, "missing required attribute '%s'", pn);
      in[(*nin)++] = ints_const(c, "pads", iv, n);
      if (find_attr(c, "value"))
        in[(*nin)++] = scalar_const(c, "value", in[0], attr_float(c, "value", 0));
    }
    break;
  }
  case OP_CLIP:
    if (v < 11) {           /* Clip-1/6: min and max are attributes */
      const AttrP *lo = get_attr(c, "min", AT_FLOAT), *hi = get_attr(c, "max", AT_FLOAT);
      if (lo || hi) {
        in[1] = lo ? scalar_const(c, "min", in[0], lo->f) : NULL;
        in[2] = hi ? scalar_const(c, "max", in[0], hi->f) : NULL;
        *nin = hi ? 3 : 2;
      }
    }
    break;
  case OP_SQUEEZE: case OP_UNSQUEEZE:
    if (v < 13) {           /* axes is an attribute until opset 12 */
      n = attr_ints(c, "axes", &iv);
      if (n < 0 && c->op == OP_UNSQUEEZE) fail_np(c, "missing required attribute 'axes'");
      if (n >= 0) in[(*nin)++] = ints_const(c, "axes", iv, n);
    }
    break;
  case OP_SLICE:
    if (v < 10) {           /* Slice-1: starts, ends, axes are attributes */
      static const char *const nm[] = {"starts", "ends", "axes"};
      int64_t cnt[3];
      const int64_t *vals[3] = {NULL, NULL, NULL};
      for (int k = 0; k < 3; k++) {
        cnt[k] = attr_ints(c, nm[k], &vals[k]);
        if (cnt[k] < 0 && k < 2) fail_np(c, "missing required attribute '%s'", nm[k]);
        if (cnt[k] >= 0 && cnt[k] != cnt[0])
          fail_np(c, "attributes 'starts' and '%s' differ in length", nm[k]);
        if (cnt[k] >= 0) in[(*nin)++] = ints_const(c, nm[k], vals[k], cnt[k]);
      }
    }
    break;
  case OP_DROPOUT:
    if (v < 12) {           /* ratio is an attribute until opset 11 */
      if (find_attr(c, "ratio"))
        in[(*nin)++] = scalar_const(c, "ratio", NULL, attr_float(c, "ratio", 0.5));
      (void)attr_int(c, "is_test", 0);   /* inference: Dropout is the identity */
    } else if (*nin > 2 && in[2] && ir_is_const(in[2]) && ir_numel(in[2]) == 1 &&
               ir_get_i64(in[2], 0)) {
      fail_np(c, "training mode (training_mode=true) is not supported");
    }
    break;
  case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV:
    if (v < 7 && attr_int(c, "broadcast", 0) && find_attr(c, "axis") && *nin == 2) {
      /* legacy broadcast: B aligned at axis of A; numpy aligns at the end.
       * Pad B's shape with trailing 1s to get the same meaning. */
      int64_t axis = attr_int(c, "axis", 0);
      int ra = known_rank(L, in[0]), rb = known_rank(L, in[1]);
      if (ra < 0 || rb < 0)
        fail_np(c, "legacy broadcast with axis=%" PRId64 " needs the ranks of both inputs, which are unknown", axis);
      if (axis < 0) axis += ra;
      if (axis < 0 || axis + rb > ra) fail_np(c, "legacy broadcast axis %" PRId64 " does not fit the inputs", axis);
      int trail = ra - (int)axis - rb;
      if (trail > 0) {
        Tensor *b = in[1];
        if (!ir_is_const(b))
          fail_np(c, "legacy broadcast of the non-constant input '%s' along axis %" PRId64 " is not supported",
                  b->name, axis);
        int64_t d[IR_MAX_RANK];
        for (int i = 0; i < rb; i++) d[i] = b->dims[i];
        for (int i = rb; i < rb + trail; i++) d[i] = 1;
        in[1] = new_const(L, b->name, b->dtype, rb + trail, d, b->data, 1);
      }
    }
    break;
  default: break;
  }
}

/* The first ai.onnx opset that has the op. */
static int op_since(Op op) {
  switch (op) {
  case OP_HARDSWISH: return 14;
  case OP_CONSTANTOFSHAPE: return 9;
  default: return 1;
  }
}

/* ---- graph inputs and outputs ----------------------------------------- */

/* The tensor type of a value_info: dtype and shape.  strict (inputs):
 * everything must be known and static, with a dynamic dim 0 taking the
 * batch.  Otherwise (outputs) returns what is known, rank -1 if not all. */
static void value_type(Loader *L, const ValueInfoP *vi, int strict, DType *dt, int *rank,
                       int64_t *dims) {
  const char *nm = vi->name;
  *dt = DT_UNDEFINED;
  *rank = -1;
  const Onnx__TypeProto *tp = vi->type;
  if (!tp) {
    if (strict) ir_fail("input '%s' has no type", nm);
    return;
  }
  if (tp->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE) {
    if (strict || tp->value_case != ONNX__TYPE_PROTO__VALUE__NOT_SET)
      ir_fail("%s '%s' is not a tensor (sequences, maps, optionals and sparse tensors are not supported)",
              strict ? "input" : "output", nm);
    return;
  }
  const Onnx__TypeProto__Tensor *tt = tp->tensor_type;
  if (tt->has_elem_type && tt->elem_type) {
    *dt = dtype_of(tt->elem_type);
    if (*dt == DT_UNDEFINED)
      ir_fail("%s '%s' has element type %s (%d), which resnetc does not support",
              strict ? "input" : "output", nm, onnx_type_name(tt->elem_type), (int)tt->elem_type);
  } else if (strict) {
    ir_fail("input '%s' has no element type", nm);
  }
  if (!tt->shape) {
    if (strict) ir_fail("input '%s' has no shape (resnetc needs static input shapes)", nm);
    return;
  }
  if (tt->shape->n_dim > IR_MAX_RANK)
    ir_fail("%s '%s' has rank %zu, more than the %d supported", strict ? "input" : "output", nm,
            tt->shape->n_dim, IR_MAX_RANK);
  int64_t numel = 1;
  for (size_t i = 0; i < tt->shape->n_dim; i++) {
    const Onnx__TensorShapeProto__Dimension *d = tt->shape->dim[i];
    int known = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && d->dim_value >= 0;
    /* -1 is some exporters' spelling of a dynamic dim; other negatives are invalid */
    if (strict && d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE && !known &&
        d->dim_value != -1)
      ir_fail("input '%s' has a negative dimension %" PRId64 " (dimension %zu)", nm, d->dim_value, i);
    if (known) dims[i] = d->dim_value;
    else if (i == 0) dims[i] = L->g->batch;
    else if (strict) {
      const char *param = d->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_PARAM
                          ? d->dim_param : NULL;
      ir_fail("input '%s' has a dynamic dimension %zu%s%s%s; resnetc needs static shapes", nm, i,
              param ? " ('" : "", param ? param : "", param ? "')" : "");
    } else {
      return;   /* leave rank -1: shape inference fills it */
    }
    numel = ir_mul_checked(numel, ir_mul_checked(dims[i], (int64_t)dtype_size(*dt ? *dt : DT_FLOAT)));
    if (numel < 0)
      ir_fail("%s '%s' has too many elements (its dimensions overflow)", strict ? "input" : "output", nm);
  }
  *rank = (int)tt->shape->n_dim;
}

/* ---- the model ---------------------------------------------------------- */

static void check_name(const char *what, const char *name) {
  if (!name || !*name) ir_fail("%s has an empty name", what);
}

/* Describes an existing tensor for a "produced twice" message. */
static const char *what_is(const Loader *L, const Tensor *t) {
  (void)L;
  if (t->kind == TK_INPUT) return "a graph input";
  if (t->kind == TK_CONST) return "an initializer or constant";
  return "the output of another node";
}

/* A Constant node: its output as a TK_CONST. */
static void constant_node(Loader *L, const NodeCtx *c) {
  const NodeP *np = c->np;
  if (np->n_input) fail_np(c, "a Constant has no inputs, this one has %zu", np->n_input);
  if (np->n_output != 1 || !np->output[0] || !*np->output[0])
    fail_np(c, "a Constant has exactly one output");
  if (np->n_attribute != 1)
    fail_np(c, "a Constant has exactly one attribute (value, value_float, ...), this one has %zu",
            np->n_attribute);
  const AttrP *a = np->attribute[0];
  const char *an = a->name ? a->name : "";
  const char *out = np->output[0];
  Tensor *t = lookup(L, out);
  if (t) fail_np(c, "output '%s' is already %s (a tensor is produced twice)", out, what_is(L, t));
  int ty = attr_type(a);
  if (!strcmp(an, "value")) {
    if (ty != AT_TENSOR || !a->t) fail_np(c, "attribute 'value' must be of type TENSOR");
    t = tensor_from_proto(L, a->t, out);
  } else if (!strcmp(an, "value_float") || !strcmp(an, "value_floats")) {
    int many = an[11] == 's';
    if (ty != (many ? AT_FLOATS : AT_FLOAT))
      fail_np(c, "attribute '%s' must be of type %s", an, many ? "FLOATS" : "FLOAT");
    int64_t n = many ? (int64_t)a->n_floats : 1;
    t = ir_const(L->g, out, DT_FLOAT, many, &n, many ? a->floats : &a->f, 0);
  } else if (!strcmp(an, "value_int") || !strcmp(an, "value_ints")) {
    int many = an[9] == 's';
    if (ty != (many ? AT_INTS : AT_INT))
      fail_np(c, "attribute '%s' must be of type %s", an, many ? "INTS" : "INT");
    int64_t n = many ? (int64_t)a->n_ints : 1;
    t = ir_const(L->g, out, DT_INT64, many, &n, many ? a->ints : &a->i, 0);
  } else if (!strcmp(an, "value_string") || !strcmp(an, "value_strings")) {
    fail_np(c, "string constants are not supported");
  } else if (!strcmp(an, "sparse_value")) {
    fail_np(c, "sparse constants are not supported");
  } else {
    fail_np(c, "unknown attribute '%s'", an);
  }
  insert(L, t);
}

static void build(Loader *L, const Onnx__ModelProto *m) {
  Graph *g = L->g;
  if (m->has_ir_version && m->ir_version > ONNX_MAX_IR)
    ir_fail("IR version %" PRId64 " is newer than the newest supported (%d)", m->ir_version, ONNX_MAX_IR);
  /* the ai.onnx opset */
  int64_t opset = -1;
  for (size_t i = 0; i < m->n_opset_import; i++) {
    const Onnx__OperatorSetIdProto *os = m->opset_import[i];
    if (!os->domain || !*os->domain || !strcmp(os->domain, "ai.onnx"))
      opset = os->has_version ? os->version : 1;
  }
  if (opset < 0) {
    if (m->has_ir_version && m->ir_version >= 3)
      ir_fail("the model imports no ai.onnx opset (opset_import)");
    opset = 1;   /* IR 1-2: before opset_import, the first opset */
  }
  if (opset > ONNX_MAX_OPSET)
    ir_fail("opset %" PRId64 " (ai.onnx) is newer than the newest supported (%d)", opset, ONNX_MAX_OPSET);
  if (opset < 1) ir_fail("invalid ai.onnx opset %" PRId64, opset);
  L->opset = (int)opset;
  g->opset = (int)opset;
  const Onnx__GraphProto *gp = L->gp = m->graph;
  if (gp->n_sparse_initializer) ir_fail("sparse initializers are not supported");

  /* 1. initializers */
  int64_t nread = 0;
  progress_begin(ir_fmt(g, "reading %s", g->name), (int64_t)L->pb_bytes);  /* ~ the file size */
  for (size_t i = 0; i < gp->n_initializer; i++) {
    const TensorP *tp = gp->initializer[i];
    check_name("an initializer", tp->name);
    if (lookup(L, tp->name)) ir_fail("initializer '%s' is given twice", tp->name);
    Tensor *t = tensor_from_proto(L, tp, tp->name);
    insert(L, t);
    nread += ir_bytes(t) > 0 ? ir_bytes(t) : 0;
    progress_update(nread);
  }
  progress_end();

  /* 2. runtime inputs: graph.input entries that are not initializers */
  for (size_t i = 0; i < gp->n_input; i++) {
    const ValueInfoP *vi = gp->input[i];
    check_name("a graph input", vi->name);
    Tensor *t = lookup(L, vi->name);
    if (t && t->kind == TK_CONST) continue;   /* IR 3: initializers listed as inputs */
    if (t) ir_fail("graph input '%s' is listed twice", vi->name);
    DType dt;
    int rank;
    int64_t dims[IR_MAX_RANK];
    value_type(L, vi, 1, &dt, &rank, dims);
    t = ir_tensor(g, vi->name, dt, rank, dims);
    insert(L, t);
    ir_add_input(g, t);
  }

  /* 3. node outputs */
  for (size_t i = 0; i < gp->n_node; i++) {
    const NodeP *np = gp->node[i];
    NodeCtx c = {L, np, np_name(np), np->op_type ? np->op_type : "", (Op)0};
    if (np->domain && *np->domain && strcmp(np->domain, "ai.onnx"))
      fail_np(&c, "operator domain '%s' is not supported (only ai.onnx)", np->domain);
    if (!strcmp(c.op_type, "Constant")) {
      constant_node(L, &c);
      continue;
    }
    int op = op_from_onnx(c.op_type);
    if (op < 0) {
      if (!strcmp(c.op_type, "If") || !strcmp(c.op_type, "Loop") || !strcmp(c.op_type, "Scan"))
        fail_np(&c, "unsupported operator (control flow with subgraphs is not supported)");
      fail_np(&c, "unsupported operator");
    }
    for (size_t j = 0; j < np->n_output; j++) {
      const char *on = np->output[j];
      if (!on || !*on) continue;
      Tensor *t = lookup(L, on);
      if (t) fail_np(&c, "output '%s' is already %s (a tensor is produced twice)", on, what_is(L, t));
      insert(L, ir_tensor(g, on, DT_UNDEFINED, -1, NULL));
    }
  }

  /* 4. nodes */
  for (size_t i = 0; i < gp->n_node; i++) {
    const NodeP *np = gp->node[i];
    NodeCtx c = {L, np, np_name(np), np->op_type ? np->op_type : "", (Op)0};
    if (!strcmp(c.op_type, "Constant")) continue;
    c.op = (Op)op_from_onnx(c.op_type);
    const OpInfo *oi = &op_info[c.op];
    if (op_since(c.op) > L->opset)
      fail_np(&c, "the operator exists from opset %d, the model imports opset %d", op_since(c.op), L->opset);
    /* inputs: "" is an optional input left out (NULL) */
    int nin = (int)np->n_input;
    while (nin > 0 && (!np->input[nin - 1] || !*np->input[nin - 1])) nin--;
    Tensor **in = ir_alloc(g, sizeof *in * (size_t)(nin + 4));
    for (int j = 0; j < nin; j++) {
      const char *s = np->input[j];
      if (!s || !*s) continue;
      in[j] = lookup(L, s);
      if (!in[j])
        fail_np(&c, "input '%s' is not produced by any node, nor a graph input or initializer", s);
    }
    int nout = (int)np->n_output;
    while (nout > 0 && (!np->output[nout - 1] || !*np->output[nout - 1])) nout--;
    Tensor **out = ir_alloc(g, sizeof *out * (size_t)(nout + 1));
    for (int j = 0; j < nout; j++)
      out[j] = np->output[j] && *np->output[j] ? lookup(L, np->output[j]) : NULL;
    /* arity in the ONNX form of this opset */
    int lo = oi->in_min, hi = oi->in_max, ohi = oi->out_max;
    if (oi->flags & OPF_EPILOGUE) hi = 3, ohi = 1;   /* Conv/Gemm: more are internal */
    if ((c.op == OP_CLIP && L->opset < 11) || (c.op == OP_PAD && L->opset < 11) ||
        ((c.op == OP_SQUEEZE || c.op == OP_UNSQUEEZE) && L->opset < 13) ||
        (c.op == OP_DROPOUT && L->opset < 12) || (c.op == OP_SLICE && L->opset < 10) ||
        (c.op == OP_RESHAPE && L->opset < 5))
      lo = hi = 1;
    if (nin < lo || (hi >= 0 && nin > hi)) {
      if (hi == lo) fail_np(&c, "%d inputs given, opset %d expects %d", nin, L->opset, lo);
      if (hi < 0) fail_np(&c, "%d inputs given, opset %d expects at least %d", nin, L->opset, lo);
      fail_np(&c, "%d inputs given, opset %d expects %d to %d", nin, L->opset, lo, hi);
    }
    if (nout < 1 || (nout > ohi && c.op != OP_BATCHNORM))
      fail_np(&c, "%d outputs given, expected %d to %d", nout, oi->out_min, ohi);
    if (!out[0]) fail_np(&c, "its first output has no name");
    Attrs a;
    ir_attrs_default(c.op, &a);
    read_attrs(&c, &a, in, &nin, nout);
    for (int j = 0; j < oi->in_min && j < nin; j++)
      if (!in[j]) fail_np(&c, "input %d is required but empty", j);
    Node *n = ir_node(g, c.op, c.name, nin, in, nout, out);
    n->a = a;
  }

  /* 5. graph outputs */
  for (size_t i = 0; i < gp->n_output; i++) {
    const ValueInfoP *vi = gp->output[i];
    check_name("a graph output", vi->name);
    Tensor *t = lookup(L, vi->name);
    if (!t) ir_fail("graph output '%s' is not produced by any node", vi->name);
    if (t->is_output) ir_fail("graph output '%s' is listed twice", vi->name);
    DType dt;
    int rank;
    int64_t dims[IR_MAX_RANK];
    value_type(L, vi, 0, &dt, &rank, dims);
    if (t->kind == TK_ACT) {   /* a hint; shape inference has the last word */
      t->dtype = dt;
      t->rank = rank;
      for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
    }
    ir_add_output(g, t);
  }
  if (gp->n_output == 0) ir_fail("the graph has no outputs");

  ir_toposort(g);
  if (L->nbad)
    ir_warn("tensor '%s'%s contains NaN or Inf values", L->first_bad,
            L->nbad > 1 ? ir_fmt(g, " (and %d more constants)", L->nbad - 1) : "");
}

/* ir_source for this model: a copy that outlives the caller's string and
 * the graph (messages of later passes still name the file). */
static const char *source_name(const char *path) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s", path);
  return buf;
}

static char *dir_of(Graph *g, const char *path) {
  const char *s = path ? strrchr(path, '/') : NULL;
  if (!s) return ir_strdup(g, ".");
  if (s == path) return ir_strdup(g, "/");
  return ir_strndup(g, path, (size_t)(s - path));
}

static char *model_name(const char *path) {
  static char buf[256];
  const char *b = path ? strrchr(path, '/') : NULL;
  b = b ? b + 1 : path ? path : "model";
  snprintf(buf, sizeof buf, "%s", *b ? b : "model");
  char *dot = strrchr(buf, '.');
  if (dot && dot != buf) *dot = 0;
  return buf;
}

/* Parses and builds; inside the caller's IrTry. */
static void load_into(Graph *g, const uint8_t *buf, size_t len, const char *path, const OnnxOptions *o) {
  Loader L;
  loader_init(&L, g, dir_of(g, path), len);
  if (o && o->batch > 0) g->batch = o->batch;
  if (len == 0) ir_fail("not a valid ONNX model (empty file)");
  if (len > INT32_MAX)
    ir_fail("the model is larger than 2 GiB, the protobuf limit (store the weights as external data)");
  uint64_t bytes = 0;
  if (pb_scan(buf, len, M_MODEL, 0, &bytes)) ir_fail("not a valid ONNX model (protobuf parse failed)");
  if (o && o->max_bytes > 0 && bytes > (uint64_t)o->max_bytes)
    ir_fail("the model's constants exceed the limit of %" PRId64 " bytes", o->max_bytes);
  Onnx__ModelProto *m = onnx__model_proto__unpack(&L.pa, len, buf);
  if (!m) ir_fail("not a valid ONNX model (protobuf parse failed)");
  if (!m->graph) ir_fail("not a valid ONNX model (no graph)");
  build(&L, m);
}

Graph *onnx_load_buffer(const void *buf, size_t len, const char *name, const OnnxOptions *o) {
  IrTry t;
  Graph *volatile g = NULL;
  const char *src = source_name(name ? name : "<buffer>");
  ir_source = src;
  if (ir_try_begin(&t)) {
    ir_graph_free(g);
    ir_current_graph = NULL;
    ir_source = src;
    return NULL;
  }
  g = ir_graph_new(model_name(name), src);
  ir_current_graph = g;
  load_into(g, buf, len, name, o);
  ir_try_end(&t);
  ir_source = src;
  return g;
}

Graph *onnx_load(const char *path, const OnnxOptions *o) {
  IrTry t;
  Graph *volatile g = NULL;
  void *volatile map = NULL;
  void *volatile heap = NULL;
  volatile size_t maplen = 0;
  const char *src = source_name(path);
  ir_source = src;
  if (ir_try_begin(&t)) {
    if (map) munmap(map, maplen);
    free(heap);
    ir_graph_free(g);
    ir_current_graph = NULL;
    ir_source = src;
    return NULL;
  }
  g = ir_graph_new(model_name(path), path);
  ir_current_graph = g;
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  if (fd < 0) ir_fail("cannot open: %s", strerror(errno));
  struct stat st;
  if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    close(fd);
    ir_fail("cannot read: not a regular file");
  }
  size_t len = (size_t)st.st_size;
  const uint8_t *buf = NULL;
  if (len > 0 && len <= INT32_MAX) {
    void *p = mmap(NULL, len, PROT_READ, MAP_PRIVATE, fd, 0);
    if (p != MAP_FAILED) {
      map = p;
      maplen = len;
      buf = p;
    } else {                      /* a file system without mmap */
      heap = malloc(len);
      if (!heap) { close(fd); ir_fail("out of memory reading %zu bytes", len); }
      size_t got = 0;
      while (got < len) {
        ssize_t r = read(fd, (char *)heap + got, len - got);
        if (r <= 0) break;
        got += (size_t)r;
      }
      if (got < len) { close(fd); ir_fail("cannot read: %s", strerror(errno)); }
      buf = heap;
    }
  }
  close(fd);
  load_into(g, buf, len, path, o);
  if (map) munmap(map, maplen);
  free(heap);
  ir_try_end(&t);
  ir_source = src;
  return g;
}

Tensor *onnx_read_tensor_file(Graph *g, const char *path) {
  static char src[4096];
  const char *prev = ir_source;
  snprintf(src, sizeof src, "%s", path);
  ir_source = src;
  struct stat st;
  if (stat(path, &st) != 0) ir_fail("cannot open: %s", strerror(errno));
  if (!S_ISREG(st.st_mode)) ir_fail("cannot read: not a regular file");
  if (st.st_size > INT32_MAX) ir_fail("the tensor file is larger than 2 GiB");
  size_t len = (size_t)st.st_size;
  uint8_t *buf = ir_alloc(g, len);   /* before fopen: no fd leaks */
  FILE *f = fopen(path, "rb");
  if (!f) ir_fail("cannot open: %s", strerror(errno));
  size_t got = fread(buf, 1, len, f);
  fclose(f);
  if (got != len) ir_fail("cannot read %zu bytes", len);
  Loader L;
  loader_init(&L, g, dir_of(g, path), len);
  TensorP *tp = onnx__tensor_proto__unpack(&L.pa, len, buf);
  if (!tp) ir_fail("not a valid TensorProto (protobuf parse failed)");
  const char *nm = tp->name && *tp->name ? tp->name : "tensor";
  Tensor *t = tensor_from_proto(&L, tp, ir_unique_name(g, nm));
  ir_source = prev;
  return t;
}
