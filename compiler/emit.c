/*
 * emit.c - the C emitter: an IR graph (shapes inferred, constants folded,
 * memory planned) -> standalone C99 through the m4 templates of templates/.
 *
 * Method.  The emitter decides WHAT to compute and WHERE every tensor lives;
 * the templates decide HOW the C looks.
 *
 *   1. Storage.  Every tensor gets a home: a graph input or output (caller
 *      buffers, passed to NAME_run), the weights blob (constants, at 64-byte
 *      aligned offsets in order of first use), or the arena (TK_ACT, at
 *      Tensor.offset from the memory planner).  Tensor.alias makes a tensor
 *      share the home of another (views).  A graph output always lives in
 *      its caller buffer: the node producing it writes there directly.  When
 *      the planner left an offset at -1 (-O0), every arena tensor gets a
 *      simple non-overlapping plan here; a given plan is checked (two tensors
 *      alive together must not share bytes) so a planner bug cannot corrupt
 *      memory silently.
 *   2. Lowering.  Each node becomes one macro call per distinct kernel
 *      specialisation, RN_KERNEL(<:OP:>, <:base:>, <:n:>, <:K,<:v:>,...:>),
 *      carrying every shape, stride, pad and trip count as a constant, and
 *      one RN_CALL in the run function with the pointer of each operand.
 *      Kernel names say dtype, op, shape class and epilogue
 *      (rn_f32_conv2d_k3s1_relu); the template adds the ISA and the number
 *      (rn_f32_conv2d_k3s1_relu__scalar_1).  Identical layers share a kernel.
 *      Shapes are canonicalised on the way: 1-D/2-D convolutions and pools
 *      become 3-D ones with unit dims, broadcasts and permutations are
 *      collapsed to the fewest dims.
 *   3. Files.  For each output file one m4 input is built (common.m4, the
 *      file's templates, the model facts, the calls) and piped through
 *      `m4 -P`.  Weights are streamed by the emitter (a blob, or a string
 *      literal inside the template's prologue and epilogue).  Everything is
 *      written under NAME.tmp names and renamed at the end, so an error
 *      leaves nothing half-written.  Output is deterministic.
 *
 * Errors: unsupported ops, dtypes or shapes are the user's input: ir_fail
 * / ir_fail_node, caught here, one line, emit_c returns -1.  A broken memory
 * plan is a resnetc bug: ir_die.
 */
#include "emit.h"
#include "progress.h"
#include "kernels.h"
#include "passes.h"
#include "pack.h"
#include "shape_int.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef RESNETC_VERSION
#define RESNETC_VERSION "unknown"
#endif
#ifndef M4_PROGRAM
#define M4_PROGRAM "m4"
#endif

/* The templates compiled into resnetc (tools/embed.cmake). */
struct rn_embedded_file { const char *name; const char *text; size_t len; };
extern const struct rn_embedded_file rn_templates[];

/* WEIGHTS_AUTO embeds weights up to this size and writes a blob above it:
 * gcc needs ~0.09 s of CPU and ~12 MB of memory per MB of embedded string
 * (docs/weights.md), so 16 MB keeps an embedded build near 1.5 s and
 * 200 MB; ImageNet-sized networks get a blob. */
#define EMBED_MAX_BYTES ((int64_t)16 << 20)

#define ALIGN 64                    /* arena, weights, blob header */
#define HEADER_BYTES 64
#define MAX_ELEMS ((int64_t)INT_MAX) /* generated code indexes with int */

/* ---- growable text, allocated in the graph's arena ---------------------- */

typedef struct Buf {
  Graph *g;
  char *p;
  size_t n, cap;
} Buf;

static void bput(Buf *b, const char *s, size_t n) {
  if (b->n + n + 1 > b->cap) {
    size_t nc = b->cap ? b->cap * 2 : 4096;
    while (nc < b->n + n + 1) nc *= 2;
    b->p = ir_realloc(b->g, b->p, b->cap, nc);
    b->cap = nc;
  }
  memcpy(b->p + b->n, s, n);
  b->n += n;
  b->p[b->n] = 0;
}

static void bputs(Buf *b, const char *s) { bput(b, s, strlen(s)); }

#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
static void bprintf(Buf *b, const char *fmt, ...) {
  char small[512];
  va_list ap, aq;
  va_start(ap, fmt);
  va_copy(aq, ap);
  int n = vsnprintf(small, sizeof small, fmt, ap);
  va_end(ap);
  if (n < (int)sizeof small) {
    bput(b, small, (size_t)n);
  } else {
    char *big = ir_alloc(b->g, (size_t)n + 1);
    vsnprintf(big, (size_t)n + 1, fmt, aq);
    bput(b, big, (size_t)n);
  }
  va_end(aq);
}

/* ---- the emitter's state ------------------------------------------------- */

typedef enum { S_NONE = 0, S_IN, S_OUT, S_ARENA, S_WEIGHT } SKind;

typedef struct Kern {          /* one distinct kernel specialisation */
  const char *op, *base, *params;
  int n;                       /* number among kernels of the same base */
} Kern;

#define MAX_FILES 16

typedef struct Emitter {
  Graph *g;
  const EmitOptions *o;
  const char *name, *name_uc;  /* C prefix, upper-cased */
  const char *isas;            /* RN_ISAS: "avx2, scalar" */
  const char *outdir;
  int embed;                   /* weights compiled in */
  /* storage, per tensor id; root: the tensor whose home this one shares */
  Tensor **root;
  SKind *sk;
  int *sidx;                   /* input / output number */
  int64_t *soff;               /* arena or weights offset */
  int64_t arena_bytes;
  int64_t wdata_bytes;         /* weights after the header */
  unsigned char header[64];    /* the blob header, once computed */
  int header_done;
  Tensor **wlist;              /* constants in the blob, by offset */
  int nw, capw;
  char **in_cname, **out_cname;
  /* lowering */
  Node *cur;
  Kern *kerns;
  int nkerns, capk;
  Buf kdefs, calls;
  /* files: tmp[i] is renamed to dst[i] at the end; scratch[] removed */
  char *tmp[MAX_FILES], *dst[MAX_FILES];
  int nfiles;
  char *scratch[MAX_FILES];
  int nscratch;
  /* blocked layouts: packed weights and bias per Conv node id, ISA bodies */
  Tensor **packw, **packb;
  unsigned kisas;
  /* Winograd: m (0: direct) and tiles per chunk per Conv node id; the
   * arena offset of each node's kernel scratch (Winograd, strided 1x1),
   * placed by the memory planner (Node.scratch_offset) */
  int *wino_m, *wino_t;
  int64_t *scratch_at;
  int64_t scratch_extra;       /* scratch the plan did not place: above it */
} Emitter;

/* ---- small helpers --------------------------------------------------------- */

static int64_t round_up(int64_t v, int64_t a) { return (v + a - 1) / a * a; }

static int64_t prod(const int64_t *d, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; i++) p *= d[i];
  return p;
}

/* Short dtype names for kernel names and the Cast template. */
static const char *dt_abbr(DType t) {
  switch (t) {
  case DT_FLOAT: return "f32"; case DT_DOUBLE: return "f64";
  case DT_FLOAT16: return "f16"; case DT_BFLOAT16: return "bf16";
  case DT_INT8: return "s8"; case DT_UINT8: return "u8";
  case DT_INT16: return "s16"; case DT_UINT16: return "u16";
  case DT_INT32: return "s32"; case DT_UINT32: return "u32";
  case DT_INT64: return "s64"; case DT_UINT64: return "u64";
  case DT_BOOL: return "b8";
  default: return NULL;
  }
}

static int dt_is_int(DType t) {
  return t == DT_INT8 || t == DT_UINT8 || t == DT_INT16 || t == DT_UINT16 ||
         t == DT_INT32 || t == DT_UINT32 || t == DT_INT64 || t == DT_UINT64;
}
static int dt_is_signed(DType t) {
  return t == DT_INT8 || t == DT_INT16 || t == DT_INT32 || t == DT_INT64;
}
static int dt_is_real(DType t) { return t == DT_FLOAT || t == DT_DOUBLE; }

/* Text from the user (names, command line) made safe for a C comment, a C
 * string literal and m4: printable ASCII without '"', backslash, '?'
 * (trigraphs), '$' or '`', no comment delimiters, no m4 quote (<: :>),
 * and no word that could name an m4 macro (m4_..., RN_..., P_...). */
static char *safe_text(Graph *g, const char *s, size_t max) {
  if (!s) s = "";
  size_t n = strlen(s);
  if (n > max) n = max;
  char *d = ir_alloc(g, n + 4);
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c < 32 || c > 126 || strchr("\"\\?$`", c)) c = c == '\t' || c == '\n' ? ' ' : '_';
    if (c == '*' && k > 0 && d[k - 1] == '/') c = '_';
    if (c == '/' && k > 0 && d[k - 1] == '*') c = '_';
    if (c == ':' && k > 0 && d[k - 1] == '<') c = '_';     /* the m4 quotes <: :> */
    if (c == '>' && k > 0 && d[k - 1] == ':') c = '_';
    d[k++] = (char)c;
  }
  if (k > 0 && d[k - 1] == '<') d[k - 1] = '_';          /* then <:...<:> */
  d[k] = 0;
  if (strlen(s) > max) strcpy(d + k, "...");
  /* break words that m4 could take for its macros */
  for (size_t i = 0; d[i]; i++) {
    int start = i == 0 || !(isalnum((unsigned char)d[i - 1]) || d[i - 1] == '_');
    if (!start) continue;
    if (strncmp(d + i, "m4_", 3) == 0) d[i + 2] = '-';
    else if (strncmp(d + i, "RN_", 3) == 0) d[i + 2] = '-';
    else if (strncmp(d + i, "P_", 2) == 0) d[i + 1] = '-';
  }
  return d;
}

/* A C identifier made of s: [A-Za-z0-9_], others become '_'. */
static char *c_ident(Graph *g, const char *s, size_t max) {
  size_t n = strlen(s);
  if (n > max) n = max;
  char *d = ir_alloc(g, n + 2);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    d[i] = (char)(isalnum(c) && c < 128 ? c : '_');
  }
  d[n] = 0;
  return d;
}

/* A float literal of type t (float or double) for value v. */
static const char *flit(Emitter *e, double v, DType t) {
  char b[64];
  if (t == DT_FLOAT) v = (double)(float)v;
  if (isnan(v)) return "NAN";
  if (isinf(v)) return v > 0 ? "INFINITY" : "-INFINITY";
  snprintf(b, sizeof b, t == DT_FLOAT ? "%.9g" : "%.17g", v);
  if (!strpbrk(b, ".e")) strcat(b, ".0");
  if (t == DT_FLOAT) strcat(b, "f");
  return ir_strdup(e->g, b);
}

/* An integer literal of type t (any integer dtype) holding bits v. */
static const char *ilit(Emitter *e, int64_t v, DType t) {
  if (t == DT_UINT64) return ir_fmt(e->g, "UINT64_C(%" PRIu64 ")", (uint64_t)v);
  if (t == DT_INT64) {
    if (v == INT64_MIN) return "INT64_MIN";
    return ir_fmt(e->g, "INT64_C(%" PRId64 ")", v);
  }
  if (t == DT_UINT32) return ir_fmt(e->g, "%" PRIu32 "u", (uint32_t)v);
  if (t == DT_INT32 && v == INT32_MIN) return "INT32_MIN";
  return ir_fmt(e->g, "%" PRId64, v);
}

/* A literal of dtype t for element 0 of constant c (ConstantOfShape's value). */
static const char *value_lit(Emitter *e, const Tensor *c, DType t) {
  if (!c) return t == DT_FLOAT || t == DT_DOUBLE ? flit(e, 0, t) : "0";
  if (t == DT_FLOAT || t == DT_DOUBLE) return flit(e, ir_get_f64(c, 0), t);
  if (t == DT_FLOAT16 || t == DT_BFLOAT16) {
    uint16_t h;
    if (c->dtype != t) ir_fail_node(e->cur, "the fill value must be %s", dtype_name(t));
    memcpy(&h, c->data, 2);
    return ir_fmt(e->g, "%u", (unsigned)h);
  }
  return ilit(e, ir_get_i64(c, 0), t);
}

static char *shape_str(Graph *g, const Tensor *t) {
  char b[256];
  return ir_strdup(g, ir_shape_str(t, b, sizeof b));
}

/* ---- storage ---------------------------------------------------------------- */

static Tensor *resolve_root(Emitter *e, Tensor *t) {
  int steps = 0;
  while (t->kind == TK_ACT && !t->is_output && t->alias) {
    t = t->alias;
    if (++steps > e->g->ntensors) ir_die("alias cycle");
  }
  return t;
}

static void add_weight(Emitter *e, Tensor *t) {
  if (e->soff[t->id] >= 0) return;
  int64_t nb = ir_bytes(t);
  e->wdata_bytes = round_up(e->wdata_bytes, ALIGN);
  e->soff[t->id] = e->wdata_bytes;
  e->wdata_bytes += nb;
  if (e->nw == e->capw) {
    int nc = e->capw ? 2 * e->capw : 64;
    e->wlist = ir_realloc(e->g, e->wlist, sizeof *e->wlist * (size_t)e->capw,
                          sizeof *e->wlist * (size_t)nc);
    e->capw = nc;
  }
  e->wlist[e->nw++] = t;
}

/* C expression of a pointer to tensor t as element type ct (NULL: t's own),
 * writable or not. */
static const char *ptr(Emitter *e, Tensor *t, const char *ct, int wr) {
  if (!t) return "NULL";
  const char *own = dtype_ctype(t->dtype);
  if (!ct) ct = own;
  Tensor *r = e->root[t->id];
  const char *q = wr ? "" : "const ";
  switch (e->sk[r->id]) {
  case S_IN:
    if (wr) ir_die("a node writes into a graph input");
    return strcmp(ct, dtype_ctype(r->dtype)) == 0 ? e->in_cname[e->sidx[r->id]]
           : ir_fmt(e->g, "(const %s *)%s", ct, e->in_cname[e->sidx[r->id]]);
  case S_OUT:
    return strcmp(ct, dtype_ctype(r->dtype)) == 0 ? e->out_cname[e->sidx[r->id]]
           : ir_fmt(e->g, "(%s%s *)%s", q, ct, e->out_cname[e->sidx[r->id]]);
  case S_ARENA:
    return ir_fmt(e->g, "(%s%s *)(A + %" PRId64 ")", q, ct, e->soff[r->id]);
  case S_WEIGHT:
    if (wr) ir_die("a node writes into a constant");
    add_weight(e, r);
    return ir_fmt(e->g, "(const %s *)(W + %" PRId64 ")", ct, e->soff[r->id]);
  default:
    ir_die("tensor without storage");
  }
}

/* Do tensors a and b live in the same bytes? */
static int same_home(Emitter *e, Tensor *a, Tensor *b) {
  Tensor *ra = e->root[a->id], *rb = e->root[b->id];
  if (ra == rb) return 1;
  SKind k = e->sk[ra->id];
  if (k != e->sk[rb->id]) return 0;
  if (k == S_ARENA) return e->soff[ra->id] == e->soff[rb->id];
  return 0;
}

/* Ops whose kernels may write their output over an input of the same size
 * and offset (each element is read before it is written). */
static int inplace_ok(const Node *n, const Tensor *in) {
  if (n->op == OP_CAST) return 0;              /* its kernel is restrict */
  if (op_info[n->op].flags & OPF_ELEMENTWISE) return 1;
  switch (n->op) {
  case OP_BATCHNORM: case OP_SOFTMAX: case OP_LOGSOFTMAX:
  case OP_IDENTITY: case OP_DROPOUT: case OP_RESHAPE: case OP_FLATTEN:
  case OP_SQUEEZE: case OP_UNSQUEEZE:
    return n->in[0] == in;
  case OP_CONV: case OP_GEMM:
    return n->nin > 3 && n->in[3] == in;       /* the residual */
  default:
    return 0;
  }
}

static const int64_t *sort_soff;   /* qsort has no context argument */
static int cmp_soff(const void *a, const void *b) {
  int64_t x = sort_soff[*(const int *)a], y = sort_soff[*(const int *)b];
  if (x != y) return x < y ? -1 : 1;
  return *(const int *)a - *(const int *)b;
}

static void plan_storage(Emitter *e) {
  Graph *g = e->g;
  int nt = g->ntensors;
  e->root = ir_alloc(g, sizeof *e->root * (size_t)(nt + 1));
  e->sk = ir_alloc(g, sizeof *e->sk * (size_t)(nt + 1));
  e->sidx = ir_alloc(g, sizeof *e->sidx * (size_t)(nt + 1));
  e->soff = ir_alloc(g, sizeof *e->soff * (size_t)(nt + 1));
  for (int i = 0; i < nt; i++) {
    Tensor *t = g->tensors[i];
    e->soff[i] = -1;
    if (t->kind == TK_CONST) e->sk[i] = S_WEIGHT;
  }
  for (int i = 0; i < g->ninputs; i++) {
    e->sk[g->inputs[i]->id] = S_IN;
    e->sidx[g->inputs[i]->id] = i;
  }
  for (int i = 0; i < g->noutputs; i++) {
    Tensor *t = g->outputs[i];
    if (t->kind == TK_ACT && e->sk[t->id] == S_NONE) {
      e->sk[t->id] = S_OUT;
      e->sidx[t->id] = i;
    }
  }
  for (int i = 0; i < nt; i++) {
    Tensor *t = g->tensors[i];
    e->root[i] = resolve_root(e, t);
    if (t->kind == TK_ACT && e->sk[i] == S_NONE && e->root[i] == t && t->producer) {
      e->sk[i] = S_ARENA;
      e->soff[i] = t->offset;
    }
  }

  /* a node whose output shares an input's memory through alias must be
   * a view or safe in place */
  for (int k = 0; k < g->nnodes; k++) {
    Node *n = g->nodes[k];
    for (int j = 0; j < n->nout; j++)
      for (int i = 0; n->out[j] && i < n->nin; i++)
        if (n->in[i] && e->root[n->out[j]->id] == e->root[n->in[i]->id] && !inplace_ok(n, n->in[i])) {
          char msg[600];
          snprintf(msg, sizeof msg, "memory plan: node '%.200s' (%s) writes over its input '%.200s'", n->name,
                   op_info[n->op].name, n->in[i]->name);
          ir_die_at(__FILE__, __LINE__, msg);
        }
  }

  /* the arena: roots with a home there.  Tensors the planner left at -1
   * (-O0 without a planner, or added after it ran) get a slot each above
   * the planned ones. */
  int64_t top = g->arena_bytes > 0 ? g->arena_bytes : 0;
  for (int i = 0; i < nt; i++) {
    Tensor *t = g->tensors[i];
    if (e->sk[i] != S_ARENA || t->offset < 0) continue;
    if (t->offset % (int64_t)dtype_size(t->dtype))
      ir_die("memory plan: a tensor offset is not aligned to its element size");
    if (t->offset + ir_bytes(t) > top) top = t->offset + ir_bytes(t);
  }
  for (int i = 0; i < nt; i++) {
    if (e->sk[i] != S_ARENA || e->soff[i] >= 0) continue;
    top = round_up(top, ALIGN);
    e->soff[i] = top;
    top += ir_bytes(g->tensors[i]);
  }
  e->arena_bytes = round_up(top, ALIGN);

  /* Check the plan: arena tensors alive at the same time must not share
   * bytes, except an in-place update of the same slot at the one node where
   * the input dies and the output is born.  Lifetime: producer .. last
   * reader, through views. */
  int *def = ir_alloc(g, sizeof(int) * (size_t)(nt + 1));
  int *last = ir_alloc(g, sizeof(int) * (size_t)(nt + 1));
  for (int i = 0; i < nt; i++) def[i] = last[i] = -1;
  for (int k = 0; k < g->nnodes; k++) {
    Node *n = g->nodes[k];
    for (int j = 0; j < n->nin; j++)
      if (n->in[j]) last[e->root[n->in[j]->id]->id] = k;
    for (int j = 0; j < n->nout; j++)
      if (n->out[j]) {
        int r = e->root[n->out[j]->id]->id;
        if (def[r] < 0) def[r] = k;
        if (last[r] < k) last[r] = k;
      }
  }
  /* sorted by offset, each tensor meets only those starting inside it */
  int *ids = ir_alloc(g, sizeof(int) * (size_t)(nt + 1));
  int64_t *nb = ir_alloc(g, sizeof(int64_t) * (size_t)(nt + 1));
  int na = 0;
  for (int i = 0; i < nt; i++) {
    nb[i] = ir_bytes(g->tensors[i]);
    if (e->sk[i] == S_ARENA && nb[i] > 0 && def[i] >= 0) ids[na++] = i;
  }
  sort_soff = e->soff;
  qsort(ids, (size_t)na, sizeof *ids, cmp_soff);
  for (int x = 0; x < na; x++)
    for (int y = x + 1; y < na && e->soff[ids[y]] < e->soff[ids[x]] + nb[ids[x]]; y++) {
      int a = ids[x], b = ids[y];
      int64_t a0 = e->soff[a], a1 = a0 + nb[a];
      int64_t b0 = e->soff[b], b1 = b0 + nb[b];
      if (a1 <= b0 || b1 <= a0) continue;
      if (last[a] < def[b] || last[b] < def[a]) continue;
      int ok = 0;
      if (a0 == b0 && a1 == b1) {
        int early = def[a] <= def[b] ? a : b, late = early == a ? b : a;
        if (last[early] == def[late]) {
          Node *n = g->nodes[def[late]];
          for (int j = 0; j < n->nin; j++)
            if (n->in[j] && e->root[n->in[j]->id]->id == early && inplace_ok(n, n->in[j])) ok = 1;
        }
      }
      if (!ok) {
        char msg[600];
        snprintf(msg, sizeof msg, "memory plan: '%.200s' and '%.200s' are alive together and share arena bytes",
                 g->tensors[a]->name, g->tensors[b]->name);
        ir_die_at(__FILE__, __LINE__, msg);
      }
    }
  /* a node's kernel scratch (pack_blocked) shares no byte with a tensor
   * alive at its step */
  for (int k = 0; k < g->nnodes; k++) {
    Node *n = g->nodes[k];
    int64_t s0 = e->scratch_at ? e->scratch_at[n->id] : -1, s1 = s0 + n->scratch_bytes;
    if (s0 < 0) continue;
    if (s1 > e->arena_bytes) ir_die("memory plan: a kernel scratch lies outside the arena");
    for (int i = 0; i < nt; i++) {
      if (e->sk[i] != S_ARENA || nb[i] <= 0 || def[i] < 0 || def[i] > k || last[i] < k) continue;
      if (e->soff[i] < s1 && s0 < e->soff[i] + nb[i]) {
        char msg[600];
        snprintf(msg, sizeof msg, "memory plan: the kernel scratch of '%.200s' overlaps '%.200s'", n->name,
                 g->tensors[i]->name);
        ir_die_at(__FILE__, __LINE__, msg);
      }
    }
  }
}

/* ---- kernels and calls ------------------------------------------------------- */

typedef struct KS {            /* a kernel specialisation being built */
  const char *op;
  char base[192];
  Buf p;                       /* "K,<:v:>,K,<:v:>" */
} KS;

#if defined(__GNUC__)
__attribute__((format(printf, 4, 5)))
#endif
static void ks_init(Emitter *e, KS *k, const char *op, const char *fmt, ...) {
  memset(k, 0, sizeof *k);
  k->op = op;
  k->p.g = e->g;
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(k->base, sizeof k->base, fmt, ap);
  va_end(ap);
}

static void kv(KS *k, const char *key, const char *val) {
  bprintf(&k->p, "%s%s,<:%s:>", k->p.n ? "," : "", key, val);
}

/* What a kernel parameter means, for messages: the user never sees the
 * templates' names (STRH, PADW...). */
static const char *param_meaning(const char *key) {
  static const struct { const char *prefix, *what; } tab[] = {
    {"STR", "a stride"}, {"PAD", "a begin pad"}, {"PEN", "an end pad"},
    {"DIL", "a dilation"}, {"KD", "the kernel depth"}, {"KH", "the kernel height"},
    {"KW", "the kernel width"}, {"ID", "the input depth"}, {"IH", "the input height"},
    {"IW", "the input width"}, {"OD", "the output depth"}, {"OH", "the output height"},
    {"OW", "the output width"}, {"IC", "the input channels"}, {"OC", "the output channels"},
    {"NUMEL", "an element count"}, {"N", "the batch or a dimension"},
  };
  for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
    if (strncmp(key, tab[i].prefix, strlen(tab[i].prefix)) == 0) return tab[i].what;
  return "a dimension or index";
}

static void ki(Emitter *e, KS *k, const char *key, int64_t v) {
  if (v > INT_MAX || v < -(int64_t)INT_MAX)
    ir_fail_node(e->cur, "%s, %" PRId64 ", is too large for the generated code (at most %d)",
                 param_meaning(key), v, INT_MAX);
  char b[32];
  snprintf(b, sizeof b, "%" PRId64, v);
  kv(k, key, b);
}

static void ki_arr(Emitter *e, KS *k, const char *key, const int64_t *v, int n) {
  char name[32];
  for (int i = 0; i < n; i++) {
    snprintf(name, sizeof name, "%s%d", key, i);
    ki(e, k, name, v[i]);
  }
}

/* Appends one argument to a call's argument list. */
static void arg(Buf *a, const char *expr) {
  if (a->n) bputs(a, ", ");
  bputs(a, expr);
}

static const char *node_comment(Emitter *e, Node *n) {
  Buf c = {e->g, 0, 0, 0};
  /* a .resnet node is named file:line:col: the file without its folder,
   * so that the generated code does not depend on where the model lives */
  const char *nm = n->name ? n->name : "";
  const char *slash = !e->g->opset && strchr(nm, ':') ? strrchr(nm, '/') : NULL;
  bprintf(&c, "%d %s '%s':", n->id, op_info[n->op].name, slash ? slash + 1 : nm);
  for (int j = 0; j < n->nin; j++)
    if (n->in[j]) bprintf(&c, " %s%s", j ? "" : "", shape_str(e->g, n->in[j]));
  bputs(&c, " ->");
  for (int j = 0; j < n->nout; j++)
    if (n->out[j]) bprintf(&c, " %s", shape_str(e->g, n->out[j]));
  return safe_text(e->g, c.p, 300);
}

/* Registers the kernel (once per distinct specialisation) and appends the
 * call.  kind: "" or "status" (the kernel returns nonzero on bad data). */
/* Registers the kernel specialisation k once (RN_KERNEL in kdefs) and
 * returns it; a kernel called only by another kernel (the Winograd GEMM)
 * is defined this way without a call. */
static Kern *define_kernel(Emitter *e, KS *k) {
  Kern *kn = NULL;
  int n = 1;
  for (int i = 0; i < e->nkerns; i++) {
    Kern *q = &e->kerns[i];
    if (strcmp(q->base, k->base) != 0) continue;
    if (strcmp(q->op, k->op) == 0 && strcmp(q->params, k->p.p ? k->p.p : "") == 0) {
      kn = q;
      break;
    }
    n++;
  }
  if (!kn) {
    if (e->nkerns == e->capk) {
      int nc = e->capk ? 2 * e->capk : 64;
      e->kerns = ir_realloc(e->g, e->kerns, sizeof *e->kerns * (size_t)e->capk,
                            sizeof *e->kerns * (size_t)nc);
      e->capk = nc;
    }
    kn = &e->kerns[e->nkerns++];
    kn->op = k->op;
    kn->base = ir_strdup(e->g, k->base);
    kn->params = k->p.p ? k->p.p : "";
    kn->n = n;
    bprintf(&e->kdefs, "RN_KERNEL(<:%s:>, <:%s:>, <:%d:>, <:%s:>)m4_dnl\n", kn->op, kn->base,
            kn->n, kn->params);
  }
  return kn;
}

static void call(Emitter *e, KS *k, Buf *args, const char *kind) {
  Kern *kn = define_kernel(e, k);
  /* the layer's floating-point operations, for the profile build */
  bprintf(&e->calls, "RN_CALL(<:%s:>, <:%s:>, <:%d:>, <:%s:>, <:%s:>, <:%" PRId64 ":>)m4_dnl\n",
          node_comment(e, e->cur), kn->base, kn->n, args->p ? args->p : "", kind,
          2 * report_node_macs(e->cur));
}

static void copy_call(Emitter *e, Tensor *dst, Tensor *src, int64_t src_elem_off, int64_t bytes) {
  if (bytes <= 0) return;
  if (src_elem_off == 0 && same_home(e, dst, src)) return;
  const char *s = ptr(e, src, NULL, 0);
  if (src_elem_off) s = ir_fmt(e->g, "%s + %" PRId64, s, src_elem_off);
  bprintf(&e->calls, "RN_COPY(<:%s:>, <:%s:>, <:%s:>, <:%" PRId64 ":>)m4_dnl\n",
          node_comment(e, e->cur), ptr(e, dst, NULL, 1), s, bytes);
}

/* ---- shape helpers ------------------------------------------------------------ */

static void strides_of(const Tensor *t, int64_t *s) {
  int64_t acc = 1;
  for (int i = t->rank - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= t->dims[i];
  }
}

/* Collapses loops over dims d[0..r) with nops stride vectors st[k][..]:
 * drops size-1 dims and merges d into d+1 where every operand is contiguous
 * across them.  Returns the new rank. */
static int collapse(int r, int64_t *d, int nops, int64_t st[][IR_MAX_RANK]) {
  int64_t nd[IR_MAX_RANK], ns[4][IR_MAX_RANK];
  int k = 0;
  for (int i = 0; i < r; i++) {
    if (d[i] == 1) continue;
    if (k > 0) {
      int merge = 1;
      for (int o = 0; o < nops; o++)
        if (ns[o][k - 1] != st[o][i] * d[i]) merge = 0;
      if (merge) {
        nd[k - 1] *= d[i];
        for (int o = 0; o < nops; o++) ns[o][k - 1] = st[o][i];
        continue;
      }
    }
    nd[k] = d[i];
    for (int o = 0; o < nops; o++) ns[o][k] = st[o][i];
    k++;
  }
  for (int i = 0; i < k; i++) {
    d[i] = nd[i];
    for (int o = 0; o < nops; o++) st[o][i] = ns[o][i];
  }
  return k;
}

static int64_t norm_axis(Emitter *e, int64_t axis, int rank) {
  if (axis < -rank || axis >= (rank ? rank : 1)) ir_fail_node(e->cur, "axis %" PRId64 " is out of range for rank %d", axis, rank);
  return axis < 0 ? axis + rank : axis;
}

static void need_dtype(Emitter *e, Tensor *t, int ok, const char *what) {
  if (!ok) ir_fail_node(e->cur, "%s of type %s is not supported%s%s", op_info[e->cur->op].name,
                        dtype_name(t->dtype), what ? " " : "", what ? what : "");
}

static void need_const(Emitter *e, Tensor *t, const char *what) {
  if (t && !ir_is_const(t))
    ir_fail_node(e->cur, "%s must be a constant (resnetc compiles static shapes)", what);
}

static const char *act_name(Act a) {
  switch (a) {
  case ACT_RELU: return "relu";
  case ACT_CLIP: return "clip";
  case ACT_LEAKYRELU: return "leakyrelu";
  default: return "none";
  }
}

static void act_params(Emitter *e, KS *k, const Attrs *a, DType t) {
  kv(k, "ACT", act_name(a->act));
  kv(k, "ACT_LO", flit(e, a->act == ACT_CLIP ? a->act_lo : 0, t));
  kv(k, "ACT_HI", flit(e, a->act == ACT_CLIP ? a->act_hi : 0, t));
  kv(k, "ACT_ALPHA", flit(e, a->act == ACT_LEAKYRELU ? a->act_alpha : 0, t));
}

static const char *act_suffix(const Attrs *a) {
  return a->act == ACT_NONE ? "" : a->act == ACT_RELU ? "_relu" : a->act == ACT_CLIP ? "_clip" : "_lrelu";
}

/* "3" when all n values equal, else "3x1x1". */
static const char *dims_tag(Emitter *e, const int64_t *v, int n) {
  Buf b = {e->g, 0, 0, 0};
  int same = 1;
  for (int i = 1; i < n; i++) same &= v[i] == v[0];
  for (int i = 0; i < (same ? 1 : n); i++) bprintf(&b, "%s%" PRId64, i ? "x" : "", v[i]);
  return b.p;
}

/* ---- lowering, one function per op family ------------------------------------ */

/* Spatial geometry of Conv and the pools, as 3-D (leading unit dims). */
typedef struct Geo {
  int nsp;
  int64_t in[3], out[3], k[3], s[3], pb[3], pe[3], d[3];
} Geo;

static void geometry(Emitter *e, Node *n, const Tensor *x, const Tensor *y, const int64_t *kernel, Geo *G) {
  const Attrs *a = &n->a;
  int nsp = x->rank - 2;
  if (nsp < 1 || nsp > 3) ir_fail_node(n, "input of rank %d: 1 to 3 spatial dims are supported", x->rank);
  if (y->rank != x->rank) ir_fail_node(n, "output rank %d differs from the input's %d", y->rank, x->rank);
  G->nsp = nsp;
  for (int i = 0; i < 3; i++) {
    int j = i - (3 - nsp);   /* spatial index, < 0 for the unit dims */
    if (j < 0) {
      G->in[i] = G->out[i] = G->k[i] = G->s[i] = G->d[i] = 1;
      G->pb[i] = G->pe[i] = 0;
      continue;
    }
    G->in[i] = x->dims[2 + j];
    G->out[i] = y->dims[2 + j];
    G->k[i] = kernel[j];
    G->s[i] = a->stride[j];
    G->d[i] = a->dilation[j];
    G->pb[i] = a->pad_begin[j];
    G->pe[i] = a->pad_end[j];
    if (G->k[i] < 1 || G->s[i] < 1 || G->d[i] < 1 || G->pb[i] < 0 || G->pe[i] < 0)
      ir_fail_node(n, "kernel, strides and dilations must be >= 1 and pads >= 0");
  }
}

static void geo_params(Emitter *e, KS *k, const Geo *G) {
  static const char *in[3] = {"ID", "IH", "IW"}, *out[3] = {"OD", "OH", "OW"},
                    *kk[3] = {"KD", "KH", "KW"}, *s[3] = {"STRD", "STRH", "STRW"},
                    *pb[3] = {"PADD", "PADH", "PADW"}, *pe[3] = {"PEND", "PENH", "PENW"},
                    *d[3] = {"DILD", "DILH", "DILW"};
  for (int i = 0; i < 3; i++) {
    ki(e, k, in[i], G->in[i]);
    ki(e, k, out[i], G->out[i]);
    ki(e, k, kk[i], G->k[i]);
    ki(e, k, s[i], G->s[i]);
    ki(e, k, pb[i], G->pb[i]);
    ki(e, k, pe[i], G->pe[i]);
    ki(e, k, d[i], G->d[i]);
  }
}

static void lower_conv(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL,
         *r = n->nin > 3 ? n->in[3] : NULL, *y = n->out[0];
  Tensor *y2 = n->nout > 1 ? n->out[1] : NULL, *s2 = n->nin > 4 ? n->in[4] : NULL,
         *t2 = n->nin > 5 ? n->in[5] : NULL;
  const Attrs *at = &n->a;
  need_dtype(e, x, dt_is_real(x->dtype), NULL);
  if (w->dtype != x->dtype || y->dtype != x->dtype || (b && b->dtype != x->dtype) || (r && r->dtype != x->dtype))
    ir_fail_node(n, "operands of different element types");
  if (y2 && (!s2 || !t2 || !ir_same_shape(y2, y) || y2->dtype != y->dtype || s2->dtype != y->dtype ||
             t2->dtype != y->dtype || ir_numel(s2) != y->dims[1] || ir_numel(t2) != y->dims[1]))
    ir_fail_node(n, "the second output needs a scale and a shift of %" PRId64 " elements and the output's shape",
                 y->dims[1]);
  if (w->rank != x->rank) ir_fail_node(n, "weight rank %d differs from the input's %d", w->rank, x->rank);
  Geo G;
  geometry(e, n, x, y, w->dims + 2, &G);
  int64_t N = x->dims[0], IC = x->dims[1], OC = w->dims[0], grp = n->a.group;
  if (grp < 1 || IC % grp || OC % grp || w->dims[1] != IC / grp)
    ir_fail_node(n, "%" PRId64 " input channels, weight %s and group %" PRId64 " do not fit", IC,
                 shape_str(e->g, w), grp);
  if (y->dims[0] != N || y->dims[1] != OC) ir_fail_node(n, "output shape %s does not fit", shape_str(e->g, y));
  for (int i = 0; i < 3; i++) {
    int64_t o = shape_window_out(G.in[i], G.k[i], G.s[i], G.d[i], G.pb[i], G.pe[i], 0);
    if (o != G.out[i]) ir_fail_node(n, "output shape %s does not match the convolution (%" PRId64 " expected)", shape_str(e->g, y), o);
  }
  if (b && ir_numel(b) != OC) ir_fail_node(n, "bias %s does not have %" PRId64 " elements", shape_str(e->g, b), OC);
  /* the residual: y's shape, or the option-A view (ir.h, Attrs.res_view) */
  int rv = r && at->res_view;
  int64_t rdim[3] = {1, 1, 1}, rs[3] = {0, 0, 0}, rt[3] = {1, 1, 1}, rc = 0;
  if (r && !rv && !ir_same_shape(r, y))
    ir_fail_node(n, "residual %s differs from the output %s", shape_str(e->g, r), shape_str(e->g, y));
  if (rv) {
    if (r->rank != y->rank || r->dims[0] != N) ir_fail_node(n, "residual view of %s does not fit", shape_str(e->g, r));
    rc = r->dims[1];
    for (int i = 0; i < G.nsp; i++) {
      int j = 3 - G.nsp + i;
      rdim[j] = r->dims[2 + i];
      rs[j] = at->res_start[i];
      rt[j] = at->res_step[i];
      if (rs[j] < 0 || rt[j] < 1 || (G.out[j] > 0 && rs[j] + (G.out[j] - 1) * rt[j] >= rdim[j]))
        ir_fail_node(n, "residual view reads outside %s", shape_str(e->g, r));
    }
  }

  int64_t kk[3], ss[3], dd[3];
  int dil = 0;
  for (int i = 0; i < G.nsp; i++) {
    kk[i] = G.k[3 - G.nsp + i];
    ss[i] = G.s[3 - G.nsp + i];
    dd[i] = G.d[3 - G.nsp + i];
    dil |= dd[i] != 1;
  }
  const char *grp_tag = grp == 1 ? "" : grp == IC && grp == OC ? "_dw" : "_g";
  KS k;
  ks_init(e, &k, "CONV", "rn_%s_conv%dd_k%ss%s%s%s%s%s%s%s", dt_abbr(x->dtype), G.nsp, dims_tag(e, kk, G.nsp),
          dims_tag(e, ss, G.nsp), dil ? "d" : "", dil ? dims_tag(e, dd, G.nsp) : "", grp_tag,
          r ? (rv ? "_resview" : "_res") : "", act_suffix(&n->a), y2 ? "_bn" : "");
  /* 1x1, stride 1, unpadded: the spatial dims are one long row */
  int pointwise = !rv;
  for (int i = 0; i < 3; i++) pointwise &= G.k[i] == 1 && G.s[i] == 1 && G.pb[i] == 0 && G.pe[i] == 0;
  if (pointwise) {
    int64_t s = G.in[0] * G.in[1] * G.in[2];
    for (int i = 0; i < 3; i++) G.in[i] = G.out[i] = 1;
    G.in[2] = G.out[2] = s;
  }
  kv(&k, "T", dtype_ctype(x->dtype));
  ki(e, &k, "N", N);
  ki(e, &k, "G", grp);
  ki(e, &k, "IC", IC);
  ki(e, &k, "OC", OC);
  geo_params(e, &k, &G);
  ki(e, &k, "HAS_BIAS", b != NULL);
  ki(e, &k, "HAS_RES", r != NULL);
  ki(e, &k, "HAS_Y2", y2 != NULL);
  ki(e, &k, "RV", rv);
  ki(e, &k, "RC0", rv ? at->res_c0 : 0);
  ki(e, &k, "RC", rc);
  static const char *rdn[3] = {"RD", "RH", "RW"}, *rsn[3] = {"RSD", "RSH", "RSW"}, *rtn[3] = {"RTD", "RTH", "RTW"};
  for (int i = 0; i < 3; i++) {
    ki(e, &k, rdn[i], rdim[i]);
    ki(e, &k, rsn[i], rs[i]);
    ki(e, &k, rtn[i], rt[i]);
  }
  act_params(e, &k, at, x->dtype);
  kv(&k, "POST_ACT", act_name(y2 ? at->post_act : ACT_NONE));
  kv(&k, "POST_LO", flit(e, y2 && at->post_act == ACT_CLIP ? at->post_lo : 0, x->dtype));
  kv(&k, "POST_HI", flit(e, y2 && at->post_act == ACT_CLIP ? at->post_hi : 0, x->dtype));
  kv(&k, "POST_ALPHA", flit(e, y2 && at->post_act == ACT_LEAKYRELU ? at->post_alpha : 0, x->dtype));
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, x, NULL, 0));
  arg(&a, ptr(e, w, NULL, 0));
  arg(&a, ptr(e, b, NULL, 0));
  arg(&a, ptr(e, r, NULL, 0));
  arg(&a, ptr(e, y2 ? s2 : NULL, NULL, 0));
  arg(&a, ptr(e, y2 ? t2 : NULL, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  arg(&a, ptr(e, y2, NULL, 1));
  call(e, &k, &a, "");
}

static void lower_pool(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0], *ix = n->nout > 1 ? n->out[1] : NULL;
  int max = n->op == OP_MAXPOOL;
  if (max) need_dtype(e, x, dt_is_real(x->dtype) || dt_is_int(x->dtype), NULL);
  else need_dtype(e, x, dt_is_real(x->dtype), NULL);
  if (y->dtype != x->dtype) ir_fail_node(n, "output type differs from the input's");
  if (ix && (ix->dtype != DT_INT64 || !ir_same_shape(ix, y))) ir_fail_node(n, "Indices must be int64 of the output's shape");
  Geo G;
  geometry(e, n, x, y, n->a.kernel, &G);
  if (y->dims[0] != x->dims[0] || y->dims[1] != x->dims[1]) ir_fail_node(n, "output shape %s does not fit", shape_str(e->g, y));
  int64_t kk[3], ss[3];
  for (int i = 0; i < G.nsp; i++) {
    kk[i] = G.k[3 - G.nsp + i];
    ss[i] = G.s[3 - G.nsp + i];
  }
  KS k;
  ks_init(e, &k, "POOL", "rn_%s_%spool%dd_k%ss%s%s", dt_abbr(x->dtype), max ? "max" : "avg", G.nsp,
          dims_tag(e, kk, G.nsp), dims_tag(e, ss, G.nsp), ix ? "_idx" : "");
  kv(&k, "T", dtype_ctype(x->dtype));
  kv(&k, "KIND", max ? "max" : "avg");
  ki(e, &k, "N", x->dims[0]);
  ki(e, &k, "C", x->dims[1]);
  geo_params(e, &k, &G);
  ki(e, &k, "CIP", !max && n->a.count_include_pad);
  ki(e, &k, "HAS_IDX", ix != NULL);
  ki(e, &k, "SORD", max && n->a.storage_order);
  const char *init = "0";
  if (max) {
    switch (x->dtype) {
    case DT_FLOAT: case DT_DOUBLE: init = "-INFINITY"; break;
    case DT_INT8: init = "INT8_MIN"; break;
    case DT_INT16: init = "INT16_MIN"; break;
    case DT_INT32: init = "INT32_MIN"; break;
    case DT_INT64: init = "INT64_MIN"; break;
    default: init = "0"; break;
    }
  }
  kv(&k, "INIT", init);
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, x, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  arg(&a, ptr(e, ix, NULL, 1));
  call(e, &k, &a, "");
}

static void lower_gpool(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  int max = n->op == OP_GLOBALMAXPOOL;
  need_dtype(e, x, dt_is_real(x->dtype), NULL);
  if (x->rank < 2) ir_fail_node(n, "input of rank %d, 2 or more expected", x->rank);
  int64_t S = prod(x->dims, 2, x->rank);
  if (S == 0) ir_fail_node(n, "pooling over an empty image");
  if (ir_numel(y) != x->dims[0] * x->dims[1] || y->dtype != x->dtype)
    ir_fail_node(n, "output %s does not match", shape_str(e->g, y));
  KS k;
  ks_init(e, &k, "GPOOL", "rn_%s_global%spool", dt_abbr(x->dtype), max ? "max" : "avg");
  kv(&k, "T", dtype_ctype(x->dtype));
  kv(&k, "KIND", max ? "max" : "avg");
  ki(e, &k, "NC", x->dims[0] * x->dims[1]);
  ki(e, &k, "S", S);
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, x, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

static void lower_gemm(Emitter *e, Node *n) {
  Tensor *A = n->in[0], *B = n->in[1], *C = n->nin > 2 ? n->in[2] : NULL,
         *r = n->nin > 3 ? n->in[3] : NULL, *y = n->out[0];
  need_dtype(e, A, dt_is_real(A->dtype), NULL);
  if (A->rank < 2 || (A->rank > 2 && n->a.trans_a) || B->rank != 2) ir_fail_node(n, "Gemm needs 2-D operands");
  if (B->dtype != A->dtype || y->dtype != A->dtype || (C && C->dtype != A->dtype) || (r && r->dtype != A->dtype))
    ir_fail_node(n, "operands of different element types");
  int ta = n->a.trans_a != 0, tb = n->a.trans_b != 0;
  /* an A of rank > 2 (transA = 0) is read as [dims[0], the rest] (ops.def) */
  int64_t M = A->dims[ta], K = ta ? A->dims[0] : prod(A->dims, 1, A->rank), K2 = B->dims[tb], N = B->dims[1 - tb];
  if (K != K2 || y->rank != 2 || y->dims[0] != M || y->dims[1] != N)
    ir_fail_node(n, "shapes %s, %s -> %s do not fit", shape_str(e->g, A), shape_str(e->g, B), shape_str(e->g, y));
  int64_t csm = 0, csn = 0;
  if (C && ir_numel(C) == 0) C = NULL;
  if (C) {
    int64_t c0 = C->rank == 2 ? C->dims[0] : 1, c1 = C->rank >= 1 ? C->dims[C->rank - 1] : 1;
    if (C->rank > 2 || (c0 != 1 && c0 != M) || (c1 != 1 && c1 != N))
      ir_fail_node(n, "bias %s does not broadcast to [%" PRId64 ",%" PRId64 "]", shape_str(e->g, C), M, N);
    csn = c1 == 1 ? 0 : 1;
    csm = c0 == 1 ? 0 : c1;
  }
  if (r && !ir_same_shape(r, y)) ir_fail_node(n, "residual %s differs from the output %s", shape_str(e->g, r), shape_str(e->g, y));
  KS k;
  ks_init(e, &k, "GEMM", "rn_%s_gemm_%s%s%s%s", dt_abbr(A->dtype), ta ? "t" : "n", tb ? "t" : "n",
          r ? "_res" : "", act_suffix(&n->a));
  kv(&k, "T", dtype_ctype(A->dtype));
  ki(e, &k, "M", M);
  ki(e, &k, "N", N);
  ki(e, &k, "K", K);
  ki(e, &k, "TA", ta);
  ki(e, &k, "TB", tb);
  ki(e, &k, "HAS_C", C != NULL);
  ki(e, &k, "CSM", csm);
  ki(e, &k, "CSN", csn);
  kv(&k, "ALPHA", flit(e, n->a.alpha, A->dtype));
  kv(&k, "BETA", flit(e, n->a.beta, A->dtype));
  ki(e, &k, "HAS_RES", r != NULL);
  act_params(e, &k, &n->a, A->dtype);
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, A, NULL, 0));
  arg(&a, ptr(e, B, NULL, 0));
  arg(&a, ptr(e, C, NULL, 0));
  arg(&a, ptr(e, r, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

static void lower_matmul(Emitter *e, Node *n) {
  Tensor *A = n->in[0], *B = n->in[1], *y = n->out[0];
  need_dtype(e, A, dt_is_real(A->dtype) || dt_is_int(A->dtype), NULL);
  if (B->dtype != A->dtype || y->dtype != A->dtype) ir_fail_node(n, "operands of different element types");
  if (A->rank < 1 || B->rank < 1) ir_fail_node(n, "MatMul of a scalar");
  int64_t M = A->rank == 1 ? 1 : A->dims[A->rank - 2], K = A->dims[A->rank - 1];
  int64_t K2 = B->rank == 1 ? B->dims[0] : B->dims[B->rank - 2], N = B->rank == 1 ? 1 : B->dims[B->rank - 1];
  if (K != K2) ir_fail_node(n, "shapes %s and %s do not fit", shape_str(e->g, A), shape_str(e->g, B));
  int ba = A->rank > 2 ? A->rank - 2 : 0, bb = B->rank > 2 ? B->rank - 2 : 0;
  int R = ba > bb ? ba : bb;
  int64_t d[IR_MAX_RANK], st[3][IR_MAX_RANK];
  int64_t sa = M * K, sb = K * N, sy = M * N;
  for (int i = R - 1; i >= 0; i--) {   /* right-aligned batch dims */
    int ia = i - (R - ba), ib = i - (R - bb);
    int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
    if (da != db && da != 1 && db != 1) ir_fail_node(n, "batch dims of %s and %s do not broadcast", shape_str(e->g, A), shape_str(e->g, B));
    d[i] = da > db ? da : db;
    st[0][i] = da == 1 ? 0 : sa;
    st[1][i] = db == 1 ? 0 : sb;
    st[2][i] = sy;
    sa *= da;
    sb *= db;
    sy *= d[i];
  }
  if (sy != ir_numel(y)) ir_fail_node(n, "output %s does not match", shape_str(e->g, y));
  R = collapse(R, d, 3, st);
  KS k;
  ks_init(e, &k, "MATMUL", "rn_%s_matmul%s", dt_abbr(A->dtype), R ? "_batch" : "");
  kv(&k, "T", dtype_ctype(A->dtype));
  kv(&k, "AT", dt_is_real(A->dtype) ? dtype_ctype(A->dtype) : dtype_size(A->dtype) == 8 ? "uint64_t" : "uint32_t");
  ki(e, &k, "M", M);
  ki(e, &k, "N", N);
  ki(e, &k, "K", K);
  ki(e, &k, "R", R);
  ki_arr(e, &k, "D", d, R);
  ki_arr(e, &k, "SA", st[0], R);
  ki_arr(e, &k, "SB", st[1], R);
  ki_arr(e, &k, "SY", st[2], R);
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, A, NULL, 0));
  arg(&a, ptr(e, B, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

/* y = a OP b with broadcasting; a or b may be y itself (Sum's chain). */
static void binary(Emitter *e, const char *opk, Tensor *A, Tensor *B, Tensor *y) {
  Node *n = e->cur;
  DType t = y->dtype;
  need_dtype(e, y, dt_is_real(t) || dt_is_int(t), NULL);
  if (A->dtype != t || B->dtype != t) ir_fail_node(n, "operands of different element types");
  int R = y->rank;
  int64_t d[IR_MAX_RANK], st[3][IR_MAX_RANK], sa[IR_MAX_RANK], sb[IR_MAX_RANK], sy[IR_MAX_RANK];
  strides_of(A, sa);
  strides_of(B, sb);
  strides_of(y, sy);
  if (A->rank > R || B->rank > R) ir_fail_node(n, "output rank is smaller than an input's");
  for (int i = 0; i < R; i++) {
    int ia = i - (R - A->rank), ib = i - (R - B->rank);
    int64_t da = ia >= 0 ? A->dims[ia] : 1, db = ib >= 0 ? B->dims[ib] : 1;
    d[i] = y->dims[i];
    if ((da != d[i] && da != 1) || (db != d[i] && db != 1))
      ir_fail_node(n, "%s and %s do not broadcast to %s", shape_str(e->g, A), shape_str(e->g, B), shape_str(e->g, y));
    st[0][i] = da == 1 ? 0 : sa[ia];
    st[1][i] = db == 1 ? 0 : sb[ib];
    st[2][i] = sy[i];
  }
  int bcast = !ir_same_shape(A, y) || !ir_same_shape(B, y);
  R = collapse(R, d, 3, st);
  KS k;
  ks_init(e, &k, "BINARY", "rn_%s_%s%s", dt_abbr(t), opk, bcast ? "_bcast" : "");
  kv(&k, "T", dtype_ctype(t));
  kv(&k, "OPK", opk);
  kv(&k, "KINDT", dt_is_real(t) ? "float" : dt_is_signed(t) ? "signed" : "unsigned");
  kv(&k, "UT", dtype_size(t) == 8 ? "uint64_t" : "uint32_t");
  ki(e, &k, "R", R);
  ki_arr(e, &k, "D", d, R);
  ki_arr(e, &k, "SA", st[0], R);
  ki_arr(e, &k, "SB", st[1], R);
  ki_arr(e, &k, "SY", st[2], R);
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, A, NULL, 0));
  arg(&a, ptr(e, B, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

static void lower_binary(Emitter *e, Node *n) {
  static const char *names[] = {"add", "sub", "mul", "div"};
  int i = n->op == OP_ADD ? 0 : n->op == OP_SUB ? 1 : n->op == OP_MUL ? 2 : 3;
  binary(e, names[i], n->in[0], n->in[1], n->out[0]);
}

static void lower_sum(Emitter *e, Node *n) {
  Tensor *y = n->out[0];
  int live = 0;
  for (int j = 0; j < n->nin; j++) live += n->in[j] != NULL;
  if (live == 0) ir_fail_node(n, "Sum without inputs");
  if (live == 1) {
    Tensor *x = NULL;
    for (int j = 0; j < n->nin; j++) if (n->in[j]) x = n->in[j];
    if (!ir_same_shape(x, y) || x->dtype != y->dtype) ir_fail_node(n, "a single input must have the output's shape");
    copy_call(e, y, x, 0, ir_bytes(y));
    return;
  }
  /* y = x0 + x1; y += x2 ...  An input computed in place into y (the
   * planner may give y the slot of an input that dies here) goes first, so
   * it is read before y is written. */
  Tensor *order[64];
  int k = 0;
  if (n->nin > 64) ir_fail_node(n, "Sum of more than 64 inputs");
  for (int j = 0; j < n->nin; j++)
    if (n->in[j] && same_home(e, n->in[j], y)) order[k++] = n->in[j];
  if (k > 1) ir_die("memory plan: two inputs of Sum share the output's memory");
  for (int j = 0; j < n->nin; j++)
    if (n->in[j] && !same_home(e, n->in[j], y)) order[k++] = n->in[j];
  binary(e, "add", order[0], order[1], y);
  for (int j = 2; j < k; j++) binary(e, "add", y, order[j], y);
}

static void lower_unary(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  const char *opk = n->op == OP_RELU ? "relu" : n->op == OP_LEAKYRELU ? "leakyrelu"
                    : n->op == OP_SIGMOID ? "sigmoid" : n->op == OP_HARDSIGMOID ? "hardsigmoid" : "hardswish";
  if (n->op == OP_RELU) need_dtype(e, x, dt_is_real(x->dtype) || dt_is_signed(x->dtype), NULL);
  else need_dtype(e, x, dt_is_real(x->dtype), NULL);
  if (!ir_same_shape(x, y) || x->dtype != y->dtype) ir_fail_node(n, "output differs from the input in shape or type");
  KS k;
  ks_init(e, &k, "UNARY", "rn_%s_%s", dt_abbr(x->dtype), opk);
  kv(&k, "T", dtype_ctype(x->dtype));
  kv(&k, "OPK", opk);
  ki(e, &k, "NUMEL", ir_numel(x));
  double alpha = n->a.alpha, beta = n->a.beta;
  kv(&k, "ALPHA", dt_is_real(x->dtype) ? flit(e, alpha, x->dtype) : "0");
  kv(&k, "BETA", dt_is_real(x->dtype) ? flit(e, beta, x->dtype) : "0");
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, x, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

static void lower_clip(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  Tensor *lo = n->nin > 1 ? n->in[1] : NULL, *hi = n->nin > 2 ? n->in[2] : NULL;
  DType t = x->dtype;
  need_dtype(e, x, dt_is_real(t) || dt_is_int(t), NULL);
  if (!ir_same_shape(x, y) || y->dtype != t) ir_fail_node(n, "output differs from the input in shape or type");
  if (lo && ir_numel(lo) == 0) lo = NULL;
  if (hi && ir_numel(hi) == 0) hi = NULL;
  if ((lo && (lo->dtype != t || ir_numel(lo) != 1)) || (hi && (hi->dtype != t || ir_numel(hi) != 1)))
    ir_fail_node(n, "min and max must be scalars of the input's type");
  const char *L, *H;
  switch (t) {
  case DT_FLOAT: case DT_DOUBLE: L = "-INFINITY"; H = "INFINITY"; break;
  case DT_INT8: L = "INT8_MIN"; H = "INT8_MAX"; break;
  case DT_INT16: L = "INT16_MIN"; H = "INT16_MAX"; break;
  case DT_INT32: L = "INT32_MIN"; H = "INT32_MAX"; break;
  case DT_INT64: L = "INT64_MIN"; H = "INT64_MAX"; break;
  case DT_UINT8: L = "0"; H = "UINT8_MAX"; break;
  case DT_UINT16: L = "0"; H = "UINT16_MAX"; break;
  case DT_UINT32: L = "0"; H = "UINT32_MAX"; break;
  default: L = "0"; H = "UINT64_MAX"; break;
  }
  KS k;
  ks_init(e, &k, "CLIP", "rn_%s_clip", dt_abbr(t));
  kv(&k, "T", dtype_ctype(t));
  ki(e, &k, "NUMEL", ir_numel(x));
  kv(&k, "LO", L);
  kv(&k, "HI", H);
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, x, NULL, 0));
  arg(&a, ptr(e, lo, NULL, 0));
  arg(&a, ptr(e, hi, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

static void lower_batchnorm(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  need_dtype(e, x, dt_is_real(x->dtype), NULL);
  if (x->rank < 2) ir_fail_node(n, "input of rank %d, 2 or more expected", x->rank);
  int64_t C = x->dims[1];
  for (int j = 1; j < 5; j++)
    if (!n->in[j] || ir_numel(n->in[j]) != C || n->in[j]->dtype != x->dtype)
      ir_fail_node(n, "scale, bias, mean and variance must have %" PRId64 " elements of the input's type", C);
  if (!ir_same_shape(x, y) || y->dtype != x->dtype) ir_fail_node(n, "output differs from the input");
  KS k;
  ks_init(e, &k, "BATCHNORM", "rn_%s_batchnorm%s", dt_abbr(x->dtype), act_suffix(&n->a));
  kv(&k, "T", dtype_ctype(x->dtype));
  act_params(e, &k, &n->a, x->dtype);
  ki(e, &k, "N", x->dims[0]);
  ki(e, &k, "C", C);
  ki(e, &k, "S", prod(x->dims, 2, x->rank));
  kv(&k, "EPS", flit(e, n->a.epsilon, DT_DOUBLE));
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, x, NULL, 0));
  for (int j = 1; j < 5; j++) arg(&a, ptr(e, n->in[j], NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

static void lower_softmax(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  need_dtype(e, x, dt_is_real(x->dtype), NULL);
  if (!ir_same_shape(x, y) || y->dtype != x->dtype) ir_fail_node(n, "output differs from the input");
  int r = x->rank;
  int64_t ax = norm_axis(e, n->a.axis, r);
  int64_t outer = prod(x->dims, 0, (int)ax), L, inner;
  if (r == 0) { outer = 1; L = 1; inner = 1; }
  else if (n->a.softmax_2d) { L = prod(x->dims, (int)ax, r); inner = 1; }
  else { L = x->dims[ax]; inner = prod(x->dims, (int)ax + 1, r); }
  int log = n->op == OP_LOGSOFTMAX;
  KS k;
  ks_init(e, &k, "SOFTMAX", "rn_%s_%s", dt_abbr(x->dtype), log ? "logsoftmax" : "softmax");
  kv(&k, "T", dtype_ctype(x->dtype));
  ki(e, &k, "OUTER", outer);
  ki(e, &k, "L", L);
  ki(e, &k, "INNER", inner);
  ki(e, &k, "LOG", log);
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, x, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

/* Views and copies: no code when input and output share memory. */
static void lower_copy(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  if (ir_bytes(x) != ir_bytes(y) || x->dtype != y->dtype)
    ir_fail_node(n, "output %s %s does not hold the input %s %s", dtype_name(y->dtype), shape_str(e->g, y),
                 dtype_name(x->dtype), shape_str(e->g, x));
  copy_call(e, y, x, 0, ir_bytes(y));
  if (n->op == OP_DROPOUT && n->nout > 1 && n->out[1] && ir_numel(n->out[1]) > 0) {
    Tensor *m = n->out[1];          /* inference: the mask keeps everything */
    KS k;
    ks_init(e, &k, "FILL", "rn_%s_fill", dt_abbr(m->dtype));
    kv(&k, "T", dtype_ctype(m->dtype));
    ki(e, &k, "NUMEL", ir_numel(m));
    kv(&k, "VALUE", "1");
    Buf a = {e->g, 0, 0, 0};
    arg(&a, ptr(e, m, NULL, 1));
    call(e, &k, &a, "");
  }
}

/* y (contiguous, dims d) = x[base + sum i_d * st_d]: Transpose and Slice. */
static void strided(Emitter *e, Tensor *x, Tensor *y, int r, int64_t *d, int64_t *st, int64_t base, const char *what) {
  int64_t s2[2][IR_MAX_RANK], sy[IR_MAX_RANK];
  int64_t acc = 1;
  for (int i = r - 1; i >= 0; i--) {
    sy[i] = acc;
    acc *= d[i];
  }
  for (int i = 0; i < r; i++) {
    s2[0][i] = st[i];
    s2[1][i] = sy[i];
  }
  r = collapse(r, d, 2, s2);
  if (r == 0 || (r == 1 && s2[0][0] == 1)) {
    copy_call(e, y, x, base, ir_bytes(y));
    return;
  }
  KS k;
  ks_init(e, &k, "STRIDED", "rn_%s_%s", dt_abbr(x->dtype), what);
  kv(&k, "T", dtype_ctype(x->dtype));
  ki(e, &k, "BASE", base);
  ki(e, &k, "R", r);
  ki_arr(e, &k, "D", d, r);
  ki_arr(e, &k, "S", s2[0], r);
  ki_arr(e, &k, "SY", s2[1], r);
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, x, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

static void lower_transpose(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  int r = x->rank;
  int64_t perm[IR_MAX_RANK], sx[IR_MAX_RANK], d[IR_MAX_RANK], st[IR_MAX_RANK];
  int seen[IR_MAX_RANK] = {0};
  if (n->a.nperm && n->a.nperm != r) ir_fail_node(n, "perm has %d entries for rank %d", n->a.nperm, r);
  for (int i = 0; i < r; i++) {
    perm[i] = n->a.nperm ? n->a.perm[i] : r - 1 - i;
    if (perm[i] < 0) perm[i] += r;
    if (perm[i] < 0 || perm[i] >= r || seen[perm[i]]++) ir_fail_node(n, "perm is not a permutation");
  }
  strides_of(x, sx);
  if (y->rank != r || y->dtype != x->dtype) ir_fail_node(n, "output does not match");
  for (int i = 0; i < r; i++) {
    d[i] = x->dims[perm[i]];
    st[i] = sx[perm[i]];
    if (y->dims[i] != d[i]) ir_fail_node(n, "output %s does not match the permutation", shape_str(e->g, y));
  }
  strided(e, x, y, r, d, st, 0, "transpose");
}

static void lower_slice(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  for (int j = 1; j < n->nin; j++) need_const(e, n->in[j], "starts, ends, axes and steps");
  int r = x->rank;
  int64_t start[IR_MAX_RANK], step[IR_MAX_RANK], cnt[IR_MAX_RANK], sx[IR_MAX_RANK];
  shape_slice_params(n, n->in, start, step, cnt);   /* as shape inference reads them */
  strides_of(x, sx);
  int64_t base = 0;
  if (y->rank != r || y->dtype != x->dtype) ir_fail_node(n, "output does not match the slice");
  for (int i = 0; i < r; i++) {
    if (y->dims[i] != cnt[i]) ir_fail_node(n, "output %s does not match the slice", shape_str(e->g, y));
    base += start[i] * sx[i];
    sx[i] *= step[i];
  }
  strided(e, x, y, r, cnt, sx, base, "slice");
}

static void lower_pad(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  Tensor *tp = n->nin > 1 ? n->in[1] : NULL, *tv = n->nin > 2 ? n->in[2] : NULL, *ta = n->nin > 3 ? n->in[3] : NULL;
  if (!tp) ir_fail_node(n, "Pad without pads");
  need_const(e, tp, "pads");
  need_const(e, ta, "axes");
  int r = x->rank;
  int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK], sx[IR_MAX_RANK], sy[IR_MAX_RANK];
  shape_pad_params(n, n->in, pb, pe);               /* as shape inference reads them */
  if (tv && ir_numel(tv) == 0) tv = NULL;
  if (tv && (ir_numel(tv) != 1 || tv->dtype != x->dtype)) ir_fail_node(n, "the constant value must be one element of the input's type");
  if (y->rank != r || y->dtype != x->dtype) ir_fail_node(n, "output does not match");
  int mode = n->a.pad_mode == PM_REFLECT ? 1 : n->a.pad_mode == PM_EDGE ? 2 : n->a.pad_mode == PM_WRAP ? 3 : 0;
  for (int i = 0; i < r; i++) {
    if (y->dims[i] != x->dims[i] + pb[i] + pe[i]) ir_fail_node(n, "output %s does not match the pads", shape_str(e->g, y));
    if (mode && x->dims[i] == 0 && y->dims[i] > 0) ir_fail_node(n, "cannot pad an empty dim in this mode");
    if (pb[i] > INT_MAX / 2 || pb[i] < -(INT_MAX / 2)) ir_fail_node(n, "pads too large");
  }
  strides_of(x, sx);
  strides_of(y, sy);
  static const char *mname[] = {"constant", "reflect", "edge", "wrap"};
  KS k;
  ks_init(e, &k, "PAD", "rn_%s_pad%dd_%s", dt_abbr(x->dtype), r, mname[mode]);
  kv(&k, "T", dtype_ctype(x->dtype));
  ki(e, &k, "MODE", mode);
  ki(e, &k, "R", r);
  ki_arr(e, &k, "D", y->dims, r);
  ki_arr(e, &k, "I", x->dims, r);
  ki_arr(e, &k, "B", pb, r);
  ki_arr(e, &k, "S", sx, r);
  ki_arr(e, &k, "SY", sy, r);
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, x, NULL, 0));
  arg(&a, ptr(e, tv, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

static void lower_concat(Emitter *e, Node *n) {
  Tensor *y = n->out[0];
  int r = y->rank;
  int64_t ax = norm_axis(e, n->a.axis, r);
  int64_t outer = prod(y->dims, 0, (int)ax), inner = prod(y->dims, (int)ax + 1, r), off = 0;
  for (int j = 0; j < n->nin; j++) {
    Tensor *x = n->in[j];
    if (!x) continue;
    if (x->rank != r || x->dtype != y->dtype) ir_fail_node(n, "input %d does not match the output", j);
    for (int i = 0; i < r; i++)
      if (i != ax && x->dims[i] != y->dims[i]) ir_fail_node(n, "input %d %s does not match the output %s", j, shape_str(e->g, x), shape_str(e->g, y));
    int64_t ch = x->dims[ax] * inner;
    if (off + ch > y->dims[ax] * inner) ir_fail_node(n, "inputs exceed the output");
    if (ch > 0 && outer > 0) {
      KS k;
      ks_init(e, &k, "ROWCOPY", "rn_%s_concat", dt_abbr(y->dtype));
      kv(&k, "T", dtype_ctype(y->dtype));
      ki(e, &k, "OUTER", outer);
      ki(e, &k, "CH", ch);
      ki(e, &k, "YROW", y->dims[ax] * inner);
      ki(e, &k, "OFF", off);
      Buf a = {e->g, 0, 0, 0};
      arg(&a, ptr(e, x, NULL, 0));
      arg(&a, ptr(e, y, NULL, 1));
      call(e, &k, &a, "");
    }
    off += ch;
  }
  if (off != y->dims[ax] * inner) ir_fail_node(n, "inputs do not fill the output");
}

static void lower_gather(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *ind = n->in[1], *y = n->out[0];
  if (ind->dtype != DT_INT32 && ind->dtype != DT_INT64) ir_fail_node(n, "indices must be int32 or int64");
  int r = x->rank;
  if (r < 1) ir_fail_node(n, "Gather from a scalar");
  int64_t ax = norm_axis(e, n->a.axis, r);
  int64_t outer = prod(x->dims, 0, (int)ax), inner = prod(x->dims, (int)ax + 1, r), ni = ir_numel(ind);
  if (ir_numel(y) != outer * ni * inner || y->dtype != x->dtype) ir_fail_node(n, "output %s does not match", shape_str(e->g, y));
  KS k;
  ks_init(e, &k, "GATHER", "rn_%s_gather", dt_abbr(x->dtype));
  kv(&k, "T", dtype_ctype(x->dtype));
  kv(&k, "IT", dtype_ctype(ind->dtype));
  ki(e, &k, "OUTER", outer);
  ki(e, &k, "AX", x->dims[ax]);
  ki(e, &k, "INNER", inner);
  ki(e, &k, "NI", ni);
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, x, NULL, 0));
  arg(&a, ptr(e, ind, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "status");
}

static void lower_cast(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  if (!dt_abbr(x->dtype) || !dt_abbr(y->dtype)) ir_fail_node(n, "Cast from %s to %s is not supported", dtype_name(x->dtype), dtype_name(y->dtype));
  if (!ir_same_shape(x, y)) ir_fail_node(n, "output shape differs");
  if (x->dtype == y->dtype) {
    copy_call(e, y, x, 0, ir_bytes(y));
    return;
  }
  KS k;
  ks_init(e, &k, "CAST", "rn_cast_%s_%s", dt_abbr(x->dtype), dt_abbr(y->dtype));
  kv(&k, "TI", dtype_ctype(x->dtype));
  kv(&k, "TO", dtype_ctype(y->dtype));
  kv(&k, "FROM", dt_abbr(x->dtype));
  kv(&k, "TOK", dt_abbr(y->dtype));
  ki(e, &k, "NUMEL", ir_numel(x));
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, x, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

/* Shape and ConstantOfShape normally fold away; emitted as fills if not. */
static void lower_shape(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  if (y->dtype != DT_INT64) ir_fail_node(n, "Shape output must be int64");
  int r = x->rank;
  int64_t s = n->a.start, en = n->a.end;
  if (s < 0) s += r;
  if (en < 0) en += r;
  s = s < 0 ? 0 : s > r ? r : s;
  en = en < 0 ? 0 : en > r ? r : en;
  if (ir_numel(y) != (en > s ? en - s : 0)) ir_fail_node(n, "output %s does not match", shape_str(e->g, y));
  Buf v = {e->g, 0, 0, 0};
  for (int64_t i = s; i < en; i++) bprintf(&v, "%sINT64_C(%" PRId64 ")", i > s ? ", " : "", x->dims[i]);
  KS k;
  ks_init(e, &k, "VALUES", "rn_s64_shape");
  kv(&k, "T", "int64_t");
  kv(&k, "VALUES", v.p);
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

static void lower_constantofshape(Emitter *e, Node *n) {
  Tensor *y = n->out[0];
  if (!dt_abbr(y->dtype)) ir_fail_node(n, "output type %s is not supported", dtype_name(y->dtype));
  KS k;
  ks_init(e, &k, "FILL", "rn_%s_fill", dt_abbr(y->dtype));
  kv(&k, "T", dtype_ctype(y->dtype));
  ki(e, &k, "NUMEL", ir_numel(y));
  kv(&k, "VALUE", value_lit(e, n->a.value, y->dtype));
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

/* ---- blocked layouts (NCHW16c): the fast kernels ---------------------------------
 *
 * The layout pass (passes/layout.c) marks tensors LAYOUT_NCHWC; every node
 * touching one is lowered here to the kernels of compiler/kernels.h, whose
 * templates (k_conv_nchwc.m4, k_pool_nchwc.m4, k_reorder_nchwc.m4) carry the
 * ISA tag simd: one body per instruction set, chosen by the C compiler's
 * predefined macros, narrowed by EmitOptions.isas (--target).  Conv weights
 * are packed here, at compile time, into new constants (pack.c) in the
 * order the kernel's inner loop reads them. */

static int is_blocked(const Tensor *t) { return t && t->layout == LAYOUT_NCHWC; }

/* A kernel's m4 parameters: a k*_params printer of kernels.h writes them
 * to kmem_open's stream, kmem_text keeps them in the graph's arena. */
typedef struct KMem { char *buf; size_t len; FILE *f; } KMem;

static FILE *kmem_open(KMem *m) {
  m->buf = NULL;
  m->len = 0;
  m->f = open_memstream(&m->buf, &m->len);
  if (!m->f) ir_fail("out of memory");
  return m->f;
}

static const char *kmem_text(Emitter *e, KMem *m) {
  if (fclose(m->f) != 0) ir_fail("out of memory");
  const char *p = ir_strdup(e->g, m->buf);
  free(m->buf);
  return p;
}

/* Calls a kernel of node n that reads weights packed at compile time (the
 * blocked convs, the FC): (x, packed weights, bias, residual, y), then the
 * node's kernel scratch in the arena when it uses it. */
static void call_packed(Emitter *e, Node *n, KS *k, int scratch) {
  Tensor *r = n->nin > 3 ? n->in[3] : NULL;
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, n->in[0], NULL, 0));
  arg(&a, ptr(e, e->packw[n->id], NULL, 0));
  arg(&a, ptr(e, e->packb[n->id], NULL, 0));
  arg(&a, ptr(e, r, NULL, 0));
  arg(&a, ptr(e, n->out[0], NULL, 1));
  if (scratch) {
    IR_ASSERT(e->scratch_at[n->id] >= 0);
    arg(&a, ir_fmt(e->g, "(float *)(A + %" PRId64 ")", e->scratch_at[n->id]));
  }
  call(e, k, &a, "");
}

/* A node the layout pass made run blocked: a Conv writing a blocked tensor. */
static int blocked_conv(const Node *n) { return n->op == OP_CONV && is_blocked(n->out[0]); }

/* A Gemm of one row with constant weights: the fully connected layer of a
 * classifier, run by k_fc.m4 (a GEMV reading packed weights once). */
static int fc_ok(const Node *n) {
  if (n->op != OP_GEMM || n->nout != 1) return 0;
  const Tensor *A = n->in[0], *B = n->in[1], *C = n->nin > 2 ? n->in[2] : NULL, *r = n->nin > 3 ? n->in[3] : NULL;
  const Tensor *y = n->out[0];
  if (A->dtype != DT_FLOAT || B->dtype != DT_FLOAT || y->dtype != DT_FLOAT || n->a.trans_a) return 0;
  if (A->rank < 2 || A->dims[0] != 1 || B->rank != 2 || !ir_is_const(B) || !B->data) return 0;
  if (y->rank != 2 || y->dims[0] != 1 || y->dims[1] < 1 || y->dims[1] > INT_MAX / 16) return 0;
  int64_t K = prod(A->dims, 1, A->rank), N = y->dims[1];
  if (K < 1 || K > INT_MAX / 16 || B->dims[n->a.trans_b] != K || B->dims[1 - n->a.trans_b] != N) return 0;
  if (C && ir_numel(C) > 0 && (!ir_is_const(C) || !C->data || C->dtype != DT_FLOAT ||
                               (ir_numel(C) != 1 && ir_numel(C) != N) || C->rank > 2)) return 0;
  if (r && (r->dtype != DT_FLOAT || !ir_same_shape(r, y))) return 0;
  return 1;
}

static void pack_fc_node(Emitter *e, Node *n) {
  Graph *g = e->g;
  Tensor *B = n->in[1], *C = n->nin > 2 ? n->in[2] : NULL, *y = n->out[0];
  int N = (int)y->dims[1], K = (int)(ir_numel(n->in[0]));
  int64_t nw = (int64_t)pack_fc_floats(N, K), nb = (int64_t)pack_bias_floats(N);
  float *pw = ir_alloc(g, (size_t)nw * sizeof(float)), *pb = ir_alloc(g, (size_t)nb * sizeof(float));
  pack_fc(B->data, N, K, n->a.trans_b, (float)n->a.alpha, pw);
  if (C && ir_numel(C) > 0)
    for (int j = 0; j < N; j++)
      pb[j] = (float)(n->a.beta * ((const float *)C->data)[ir_numel(C) == 1 ? 0 : j]);
  e->packw[n->id] = ir_const(g, ir_unique_name(g, ir_fmt(g, "%s_packed", B->name)), DT_FLOAT, 1, &nw, pw, 1);
  e->packb[n->id] = ir_const(g, ir_unique_name(g, ir_fmt(g, "%s_bias_packed", B->name)), DT_FLOAT, 1, &nb, pb, 1);
}

static void lower_fc(Emitter *e, Node *n) {
  Tensor *r = n->nin > 3 ? n->in[3] : NULL;
  KFc c;
  memset(&c, 0, sizeof c);
  c.k = (int)ir_numel(n->in[0]);
  c.n = (int)n->out[0]->dims[1];
  c.res = r != NULL;
  c.act = n->a.act;
  c.act_lo = (float)n->a.act_lo;
  c.act_hi = (float)n->a.act_hi;
  c.act_alpha = (float)n->a.act_alpha;
  char name[200];
  kfc_name(&c, name, sizeof name);
  KS k;
  ks_init(e, &k, "FC", "rn_f32_%s", name);
  KMem km;
  kfc_params(kmem_open(&km), &c);
  bputs(&k.p, kmem_text(e, &km));
  call_packed(e, n, &k, 0);
}

static void pack_blocked(Emitter *e) {
  Graph *g = e->g;
  int nn = g->nnodes;
  e->packw = ir_alloc(g, sizeof *e->packw * (size_t)(nn + 1));
  e->packb = ir_alloc(g, sizeof *e->packb * (size_t)(nn + 1));
  e->wino_m = ir_alloc(g, sizeof *e->wino_m * (size_t)(nn + 1));
  e->wino_t = ir_alloc(g, sizeof *e->wino_t * (size_t)(nn + 1));
  e->scratch_at = ir_alloc(g, sizeof *e->scratch_at * (size_t)(nn + 1));
  for (int i = 0; i < nn; i++) {
    e->scratch_at[i] = -1;
    Node *n = g->nodes[i];
    if (fc_ok(n) && (e->kisas & ~KISA_SCALAR)) {
      e->cur = n;
      pack_fc_node(e, n);
      continue;
    }
    if (!blocked_conv(n)) continue;
    e->cur = n;
    KConv c;
    int m, t;
    int64_t sb;
    /* the kernel choice the memory planner made its scratch for */
    if (kconv_choose_node(n, g->winograd, &c, &m, &t, &sb) != 1)
      ir_fail_node(n, "this convolution cannot run on the blocked layout");
    if (sb > 0) {
      if (n->scratch_bytes >= sb && n->scratch_offset >= 0) {
        e->scratch_at[n->id] = n->scratch_offset;
      } else {                 /* planned without it: above the plan */
        e->scratch_at[n->id] = -2;
        if (sb > e->scratch_extra) e->scratch_extra = sb;
      }
    }
    Tensor *w = n->in[1], *b = n->nin > 2 ? n->in[2] : NULL;
    int64_t nw, nb = (int64_t)pack_bias_floats(c.cout);
    float *pw, *pb = ir_alloc(g, (size_t)nb * sizeof(float));
    if (m) {
      /* Winograd: G g G^T at compile time, packed for the GEMM kernel */
      KConv gm = kwino_gemm(&c, m, t);
      nw = (int64_t)pack_winograd_floats(c.cout, c.cin, m, kconv_wgroup(&gm));
      pw = ir_alloc(g, (size_t)nw * sizeof(float));
      float *tmp = ir_alloc(g, sizeof(float) * (size_t)(m + 2) * (size_t)(m + 2) * (size_t)c.cout * (size_t)c.cin);
      pack_winograd(w->data, c.cout, c.cin, m, kconv_wgroup(&gm), tmp, pw);
      e->wino_m[n->id] = m;
      e->wino_t[n->id] = t;
    } else {
      nw = (int64_t)pack_conv_floats(c.cout, c.cin, c.kh, c.kw, c.ib, kconv_wgroup(&c));
      pw = ir_alloc(g, (size_t)nw * sizeof(float));
      pack_conv_nchwc(w->data, c.cout, c.cin, c.kh, c.kw, c.ib, kconv_wgroup(&c), pw);
    }
    pack_bias(b ? b->data : NULL, c.cout, pb);
    e->packw[n->id] = ir_const(g, ir_unique_name(g, ir_fmt(g, "%s_packed", w->name)), DT_FLOAT, 1, &nw, pw, 1);
    e->packb[n->id] = ir_const(g, ir_unique_name(g, ir_fmt(g, "%s_bias_packed", w->name)), DT_FLOAT, 1, &nb, pb, 1);
  }
}

/* The C text of a kernel's parameters from one of kernels.c's *_params. */
/* The blocked 1x1 conv that Winograd and the strided 1x1 path call on
 * their scratch: a kernel defined only, named rn_f32_NAME. */
static Kern *define_inner_conv(Emitter *e, const KConv *gm, const char *name) {
  KS k;
  ks_init(e, &k, "CONVB", "rn_f32_%s", name);
  KMem km;
  kconv_params(kmem_open(&km), gm, e->kisas, NULL);
  bputs(&k.p, kmem_text(e, &km));
  return define_kernel(e, &k);
}

/* Winograd: the GEMM kernel (a blocked 1x1 conv over a chunk of tiles),
 * defined only, then the Winograd kernel that calls it; its scratch where
 * the memory planner put it. */
static void lower_wino(Emitter *e, Node *n, const KConv *c) {
  int m = e->wino_m[n->id], t = e->wino_t[n->id];
  KConv gm = kwino_gemm(c, m, t);
  char name[200];
  kconv_name(&gm, name, sizeof name);
  Kern *gemm = define_inner_conv(e, &gm, ir_fmt(e->g, "wgemm_%s", name + 4));
  kwino_name(c, m, name, sizeof name);
  KS k;
  ks_init(e, &k, "WINO", "rn_f32_%s", name);
  KMem km;
  kwino_params(kmem_open(&km), c, m, t, gemm->base, gemm->n);
  bputs(&k.p, kmem_text(e, &km));
  call_packed(e, n, &k, 1);
}

/* A strided 1x1 conv: the stride-1 kernel over the subsampled input,
 * defined only, then the subsampling kernel that calls it; the subsample
 * lives in the node's planned scratch (as Winograd's). */
static void lower_sub(Emitter *e, Node *n, const KConv *c) {
  KConv gm = ksub_gemm(c);
  char name[200];
  kconv_name(&gm, name, sizeof name);
  Kern *gemm = define_inner_conv(e, &gm, name);
  ksub_name(c, name, sizeof name);
  KS k;
  ks_init(e, &k, "CONVSUB", "rn_f32_%s", name);
  KMem km;
  ksub_params(kmem_open(&km), c, gemm->base, gemm->n);
  bputs(&k.p, kmem_text(e, &km));
  call_packed(e, n, &k, 1);
}

static void lower_convb(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *r = n->nin > 3 ? n->in[3] : NULL, *y = n->out[0];
  const Attrs *at = &n->a;
  KConv c;
  if (kconv_from_node(n, is_blocked(x) ? KERN_BLOCK : 1, &c) != 0)
    ir_fail_node(n, "this convolution cannot run on the blocked layout");
  if (r && !is_blocked(r)) ir_die("layout pass: a blocked conv with a plain residual");
  if (r && at->res_view) {
    c.res = 2;
    c.rc = (int)r->dims[1];
    c.rc0 = (int)at->res_c0;
    c.rh = (int)r->dims[2];
    c.rw = (int)r->dims[3];
    c.rsh = (int)at->res_start[0];
    c.rsw = (int)at->res_start[1];
    c.rth = (int)at->res_step[0];
    c.rtw = (int)at->res_step[1];
    if (c.rsh < 0 || c.rsw < 0 || c.rth < 1 || c.rtw < 1 || c.rsh + (int64_t)(c.oh - 1) * c.rth >= c.rh ||
        c.rsw + (int64_t)(c.ow - 1) * c.rtw >= c.rw || r->dims[1] > INT_MAX || at->res_c0 > INT_MAX ||
        at->res_c0 < -(int64_t)INT_MAX)
      ir_fail_node(n, "residual view reads outside %s", shape_str(e->g, r));
  } else if (r && !ir_same_shape(r, y)) {
    ir_fail_node(n, "residual %s differs from the output %s", shape_str(e->g, r), shape_str(e->g, y));
  }
  if (e->wino_m[n->id]) {
    lower_wino(e, n, &c);
    return;
  }
  if (ksub_applies(&c)) {
    lower_sub(e, n, &c);
    return;
  }
  char name[200];
  kconv_name(&c, name, sizeof name);
  KS k;
  ks_init(e, &k, "CONVB", "rn_f32_%s", name);
  KMem km;
  kconv_params(kmem_open(&km), &c, e->kisas, NULL);
  bputs(&k.p, kmem_text(e, &km));
  call_packed(e, n, &k, 0);
}

static void lower_poolb(Emitter *e, Node *n) {
  KPool p;
  if (kpool_from_node(n, &p) != 0) ir_fail_node(n, "this pooling cannot run on the blocked layout");
  char name[200];
  kpool_name(&p, name, sizeof name);
  KS k;
  ks_init(e, &k, "POOLB", "rn_f32_%s", name);
  KMem km;
  kpool_params(kmem_open(&km), &p);
  bputs(&k.p, kmem_text(e, &km));
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, n->in[0], NULL, 0));
  arg(&a, ptr(e, n->out[0], NULL, 1));
  call(e, &k, &a, "");
}

static void lower_reorder(Emitter *e, Node *n) {
  Tensor *x = n->in[0], *y = n->out[0];
  if (!ir_same_shape(x, y) || x->dtype != DT_FLOAT || y->dtype != DT_FLOAT)
    ir_fail_node(n, "a layout change needs equal shapes");
  int to = is_blocked(y), c = (int)x->dims[1], hw = (int)(x->dims[2] * x->dims[3]);
  char name[200];
  kreorder_name(c, hw, to, name, sizeof name);
  KS k;
  ks_init(e, &k, "REORDER", "rn_f32_%s", name);
  KMem km;
  kreorder_params(kmem_open(&km), c, hw, to);
  bputs(&k.p, kmem_text(e, &km));
  Buf a = {e->g, 0, 0, 0};
  arg(&a, ptr(e, x, NULL, 0));
  arg(&a, ptr(e, y, NULL, 1));
  call(e, &k, &a, "");
}

static void lower_node(Emitter *e, Node *n);

/* Element-wise layers on blocked operands of one shape: the plain kernels
 * over the padded channel count (the positions match one to one). */
static void lower_eltwise_blocked(Emitter *e, Node *n) {
  Tensor *ts[16];
  int64_t saved[16];
  int k = 0;
  for (int j = -1; j < n->nin && k < 16; j++) {
    Tensor *t = j < 0 ? n->out[0] : n->in[j];
    if (!is_blocked(t)) continue;
    int dup = 0;
    for (int i = 0; i < k; i++) dup |= ts[i] == t;
    if (dup) continue;
    ts[k] = t;
    saved[k] = t->dims[1];
    t->dims[1] = (t->dims[1] + KERN_BLOCK - 1) / KERN_BLOCK * KERN_BLOCK;
    k++;
  }
  Layout lay = n->out[0]->layout;
  for (int i = 0; i < k; i++) ts[i]->layout = LAYOUT_PLAIN;   /* the plain lowering sees the padded tensor */
  lower_node(e, n);
  for (int i = 0; i < k; i++) {
    ts[i]->dims[1] = saved[i];
    ts[i]->layout = lay;
  }
}

/* Lowers n when it touches a blocked tensor or is a packed FC; returns 0
 * otherwise. */
static int lower_blocked(Emitter *e, Node *n) {
  if (n->op == OP_GEMM && e->packw[n->id]) {
    lower_fc(e, n);
    return 1;
  }
  int any = 0;
  for (int j = 0; j < n->nin; j++) any |= is_blocked(n->in[j]);
  for (int j = 0; j < n->nout; j++) any |= is_blocked(n->out[j]);
  if (!any) return 0;
  switch (n->op) {
  case OP_GEMM:
    /* A = the blocked global pool [1,C,1,1]: its first C floats are the
     * plain A the Gemm kernel reads (layout.c) */
    if (is_blocked(n->out[0]) || n->a.trans_a || !ir_plain_prefix(n->in[0])) break;
    for (int j = 1; j < n->nin; j++)
      if (is_blocked(n->in[j])) ir_fail_node(n, "this layer cannot read or write a blocked layout");
    return 0;
  case OP_CONV:
    if (!blocked_conv(n)) break;
    lower_convb(e, n);
    return 1;
  case OP_MAXPOOL: case OP_AVERAGEPOOL: case OP_GLOBALAVERAGEPOOL: case OP_GLOBALMAXPOOL:
    if (!is_blocked(n->in[0]) || !is_blocked(n->out[0])) break;
    lower_poolb(e, n);
    return 1;
  case OP_IDENTITY:
    if (is_blocked(n->in[0]) == is_blocked(n->out[0])) return 0;   /* a copy of the padded bytes */
    lower_reorder(e, n);
    return 1;
  case OP_RELU: case OP_LEAKYRELU: case OP_SIGMOID: case OP_HARDSIGMOID: case OP_HARDSWISH:
  case OP_CLIP: case OP_ADD: case OP_SUB: case OP_MUL: case OP_SUM:
    if (!is_blocked(n->out[0])) break;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] && ir_numel(n->in[j]) != 1 && (!is_blocked(n->in[j]) || !ir_same_shape(n->in[j], n->out[0])))
        ir_fail_node(n, "blocked operands of different shapes");
    lower_eltwise_blocked(e, n);
    return 1;
  default:
    break;
  }
  ir_fail_node(n, "this layer cannot read or write a blocked layout");
}

static void lower_node(Emitter *e, Node *n) {
  e->cur = n;
  int64_t out_elems = 0;
  for (int j = 0; j < n->nout; j++)
    if (n->out[j]) out_elems += ir_numel(n->out[j]);
  if (out_elems == 0) return;               /* empty outputs: nothing to do */
  if (lower_blocked(e, n)) return;
  switch (n->op) {
  case OP_CONV: lower_conv(e, n); break;
  case OP_BATCHNORM: lower_batchnorm(e, n); break;
  case OP_RELU: case OP_LEAKYRELU: case OP_SIGMOID: case OP_HARDSIGMOID: case OP_HARDSWISH:
    lower_unary(e, n); break;
  case OP_CLIP: lower_clip(e, n); break;
  case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: lower_binary(e, n); break;
  case OP_SUM: lower_sum(e, n); break;
  case OP_MAXPOOL: case OP_AVERAGEPOOL: lower_pool(e, n); break;
  case OP_GLOBALAVERAGEPOOL: case OP_GLOBALMAXPOOL: lower_gpool(e, n); break;
  case OP_GEMM: lower_gemm(e, n); break;
  case OP_MATMUL: lower_matmul(e, n); break;
  case OP_FLATTEN: case OP_RESHAPE: case OP_IDENTITY: case OP_SQUEEZE: case OP_UNSQUEEZE:
  case OP_DROPOUT:
    lower_copy(e, n); break;
  case OP_TRANSPOSE: lower_transpose(e, n); break;
  case OP_CONCAT: lower_concat(e, n); break;
  case OP_SLICE: lower_slice(e, n); break;
  case OP_PAD: lower_pad(e, n); break;
  case OP_SOFTMAX: case OP_LOGSOFTMAX: lower_softmax(e, n); break;
  case OP_GATHER: lower_gather(e, n); break;
  case OP_CAST: lower_cast(e, n); break;
  case OP_SHAPE: lower_shape(e, n); break;
  case OP_CONSTANTOFSHAPE: lower_constantofshape(e, n); break;
  default:
    ir_fail_node(n, "the C emitter has no kernel for this op");
  }
}

/* ---- checks before lowering ---------------------------------------------------- */

static void check_graph(Emitter *e) {
  Graph *g = e->g;
  for (int i = 0; i < g->ntensors; i++) {
    Tensor *t = g->tensors[i];
    if (t->rank < 0) ir_fail("tensor '%s' has no static shape (run shape inference first)", t->name);
    if (!dtype_ctype(t->dtype) || dtype_size(t->dtype) == 0)
      ir_fail("tensor '%s' has element type %s, which the C emitter does not support", t->name, dtype_name(t->dtype));
    int64_t ne = ir_numel(t);
    if (ne < 0 || ne > MAX_ELEMS)
      ir_fail("tensor '%s' %s has more than %" PRId64 " elements", t->name, shape_str(g, t), MAX_ELEMS);
    if (t->layout != LAYOUT_PLAIN &&
        (t->layout != LAYOUT_NCHWC || t->block != KERN_BLOCK || t->rank != 4 || t->dims[0] != 1 ||
         t->dtype != DT_FLOAT || t->kind == TK_CONST))
      ir_fail("tensor '%s' has a blocked layout the emitter does not support", t->name);
    if (t->kind == TK_CONST && !t->data && ne > 0) ir_fail("constant '%s' has no data", t->name);
  }
  if (g->noutputs == 0) ir_fail("the graph has no outputs");
}

/* ---- files ------------------------------------------------------------------------ */

static void mkdir_p(Emitter *e, const char *dir) {
  char *p = ir_strdup(e->g, dir);
  for (char *s = p + 1; *s; s++) {
    if (*s != '/') continue;
    *s = 0;
    if (mkdir(p, 0777) != 0 && errno != EEXIST) ir_fail("cannot create directory %s: %s", p, strerror(errno));
    *s = '/';
  }
  if (mkdir(p, 0777) != 0 && errno != EEXIST) ir_fail("cannot create directory %s: %s", p, strerror(errno));
  struct stat st;
  if (stat(p, &st) != 0 || !S_ISDIR(st.st_mode)) ir_fail("%s is not a directory", p);
}

/* Registers OUTDIR/final, written first as OUTDIR/final.tmpPID (two
 * resnetc writing one folder do not mix their files).  Returns the
 * temporary path. */
static char *new_file(Emitter *e, const char *final) {
  IR_ASSERT(e->nfiles < MAX_FILES);
  e->dst[e->nfiles] = ir_fmt(e->g, "%s/%s", e->outdir, final);
  e->tmp[e->nfiles] = ir_fmt(e->g, "%s/%s.tmp%ld", e->outdir, final, (long)getpid());
  return e->tmp[e->nfiles++];
}

static char *new_scratch(Emitter *e, const char *name) {
  IR_ASSERT(e->nscratch < MAX_FILES);
  return e->scratch[e->nscratch++] = ir_fmt(e->g, "%s/.%s.%ld", e->outdir, name, (long)getpid());
}

static void write_file(const char *path, const void *p, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f) ir_fail("cannot write %s: %s", path, strerror(errno));
  size_t w = fwrite(p, 1, n, f);
  if (fclose(f) != 0 || w != n) ir_fail("cannot write %s: %s", path, strerror(errno));
}

static char *read_whole(Emitter *e, const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) ir_fail("cannot read %s: %s", path, strerror(errno));
  Buf b = {e->g, 0, 0, 0};
  char chunk[65536];
  size_t k;
  while ((k = fread(chunk, 1, sizeof chunk, f)) > 0) bput(&b, chunk, k);
  int err = ferror(f);
  fclose(f);
  if (err) ir_fail("cannot read %s", path);
  *len = b.n;
  return b.p ? b.p : ir_strdup(e->g, "");
}

/* The text of template `name`: from template_dir, or compiled in. */
static const char *template_text(Emitter *e, const char *name, size_t *len) {
  if (e->o->template_dir) return read_whole(e, ir_fmt(e->g, "%s/%s", e->o->template_dir, name), len);
  for (const struct rn_embedded_file *f = rn_templates; f->name; f++)
    if (strcmp(f->name, name) == 0) {
      *len = f->len;
      return f->text;
    }
  ir_fail("template %s is missing from this resnetc", name);
}

static void add_template(Emitter *e, Buf *b, const char *name) {
  size_t len;
  const char *t = template_text(e, name, &len);
  bput(b, t, len);
  if (len && t[len - 1] != '\n') bputs(b, "\n");
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Every kernel template (k_*.m4), in name order. */
static void add_kernel_templates(Emitter *e, Buf *b) {
  if (!e->o->template_dir) {
    for (const struct rn_embedded_file *f = rn_templates; f->name; f++)
      if (strncmp(f->name, "k_", 2) == 0) add_template(e, b, f->name);
    return;
  }
  DIR *d = opendir(e->o->template_dir);
  if (!d) ir_fail("cannot read template folder %s: %s", e->o->template_dir, strerror(errno));
  char **names = NULL;
  int n = 0, cap = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t l = strlen(de->d_name);
    if (strncmp(de->d_name, "k_", 2) != 0 || l < 4 || strcmp(de->d_name + l - 3, ".m4") != 0) continue;
    if (n == cap) {
      int nc = cap ? 2 * cap : 32;
      names = ir_realloc(e->g, names, sizeof *names * (size_t)cap, sizeof *names * (size_t)nc);
      cap = nc;
    }
    names[n++] = ir_strdup(e->g, de->d_name);
  }
  closedir(d);
  if (n) qsort(names, (size_t)n, sizeof *names, cmp_str);
  for (int i = 0; i < n; i++) add_template(e, b, names[i]);
}

/* Runs `m4 -P in` with stdout to out; fails unless m4 exits with 0. */
static void run_m4(Emitter *e, const char *in, const char *out, const char *what) {
  fflush(NULL);
  int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) ir_fail("cannot write %s: %s", out, strerror(errno));
  pid_t pid = fork();
  if (pid < 0) {
    close(fd);
    ir_fail("cannot run m4: %s", strerror(errno));
  }
  if (pid == 0) {
    dup2(fd, 1);
    close(fd);
    execl(M4_PROGRAM, "m4", "-P", in, (char *)NULL);
    execlp("m4", "m4", "-P", in, (char *)NULL);
    fprintf(stderr, "resnetc: cannot run m4 (%s, or m4 on PATH)\n", M4_PROGRAM);
    _exit(127);
  }
  close(fd);
  int st;
  while (waitpid(pid, &st, 0) < 0)
    if (errno != EINTR) ir_fail("waiting for m4: %s", strerror(errno));
  if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
    ir_fail("m4 failed on the templates of %s (%s %d)", what, WIFEXITED(st) ? "exit status" : "signal",
            WIFEXITED(st) ? WEXITSTATUS(st) : WTERMSIG(st));
  (void)e;
}

static void m4_define_str(Buf *b, const char *name, const char *val) {
  bprintf(b, "m4_define(<:%s:>, <:%s:>)m4_dnl\n", name, val);
}

static void m4_define_i64(Buf *b, const char *name, int64_t v) {
  bprintf(b, "m4_define(<:%s:>, <:%" PRId64 ":>)m4_dnl\n", name, v);
}

static uint64_t fnv1a(uint64_t h, const void *p, size_t n) {
  const unsigned char *s = p;
  for (size_t i = 0; i < n; i++) {
    h ^= s[i];
    h *= 1099511628211ull;
  }
  return h;
}

static void header_bytes(Emitter *e, unsigned char *h) {
  static const unsigned char zeros[ALIGN];
  if (e->header_done) {           /* hashing 100 MB once is enough */
    memcpy(h, e->header, HEADER_BYTES);
    return;
  }
  uint64_t hash = 14695981039346656037ull, total = (uint64_t)(HEADER_BYTES + e->wdata_bytes);
  int64_t pos = 0;
  for (int i = 0; i < e->nw; i++) {
    Tensor *t = e->wlist[i];
    hash = fnv1a(hash, zeros, (size_t)(e->soff[t->id] - pos));
    hash = fnv1a(hash, t->data, (size_t)ir_bytes(t));
    pos = e->soff[t->id] + ir_bytes(t);
  }
  memset(h, 0, HEADER_BYTES);
  memcpy(h, "RESNETCW", 8);
  for (int i = 0; i < 8; i++) {
    h[8 + i] = (unsigned char)(total >> (8 * i));
    h[16 + i] = (unsigned char)(hash >> (8 * i));
  }
  memcpy(e->header, h, HEADER_BYTES);
  e->header_done = 1;
}

/* Facts about the model every template sees (common.m4 lists them). */
static void facts(Emitter *e, Buf *b) {
  Graph *g = e->g;
  m4_define_str(b, "RN_MODEL", e->name);
  m4_define_str(b, "RN_MODEL_UC", e->name_uc);
  m4_define_str(b, "RN_VERSION", safe_text(g, RESNETC_VERSION, 40));
  m4_define_str(b, "RN_CMDLINE", safe_text(g, e->o->command_line ? e->o->command_line : "(not recorded)", 2000));
  m4_define_i64(b, "RN_HAS_NOTE", g->note && *g->note);
  m4_define_str(b, "RN_NOTE", g->note ? safe_text(g, g->note, 300) : "");
  const char *src = g->source && *g->source ? g->source : "(memory)";
  const char *slash = strrchr(src, '/');
  m4_define_str(b, "RN_SOURCE", safe_text(g, slash ? slash + 1 : src, 200));
  m4_define_str(b, "RN_ISAS", e->isas);
  m4_define_i64(b, "RN_ARENA_BYTES", e->arena_bytes);
  m4_define_i64(b, "RN_WEIGHTS_BYTES", HEADER_BYTES + e->wdata_bytes);
  m4_define_i64(b, "RN_WEIGHTS_EMBEDDED", e->embed);
  unsigned char h[HEADER_BYTES];
  header_bytes(e, h);
  Buf hb = {g, 0, 0, 0};
  for (int i = 0; i < 24; i++) bprintf(&hb, "%s0x%02x", i ? ", " : "", h[i]);
  m4_define_str(b, "RN_WEIGHTS_HEADER", hb.p);
  m4_define_i64(b, "RN_NIN", g->ninputs);
  m4_define_i64(b, "RN_NOUT", g->noutputs);
  bputs(b, "m4_define(<:RN_IOS:>, <:");
  for (int dir = 0; dir < 2; dir++) {
    int n = dir ? g->noutputs : g->ninputs;
    for (int i = 0; i < n; i++) {
      Tensor *t = dir ? g->outputs[i] : g->inputs[i];
      Buf dims = {g, 0, 0, 0};
      for (int k = 0; k < t->rank; k++) bprintf(&dims, "%s%" PRId64, k ? ", " : "", t->dims[k]);
      bprintf(b, "RN_IO(<:%s:>, <:%d:>, <:%s:>, <:%s:>, <:%s:>, <:%s:>, <:%" PRId64 ":>, <:%" PRId64 ":>, <:%s:>)",
              dir ? "out" : "in", i, dir ? e->out_cname[i] : e->in_cname[i], dtype_ctype(t->dtype),
              dtype_name(t->dtype), dims.p ? dims.p : "", ir_numel(t), ir_bytes(t), safe_text(g, t->name, 120));
    }
  }
  bputs(b, ":>)m4_dnl\n");
  bputs(b, "m4_divert(0)m4_dnl\n");   /* common.m4 silenced the definitions */
}

/* Every text file comes from ONE m4 run: the input holds common.m4, all
 * templates, the facts, then per file a marker line and the macro calls
 * that print it; the output is split at the markers.  (One m4 process per
 * model, not five.)  A marker cannot occur in the templates' output: it is
 * written by the emitter only, outside any macro. */
#define MARK "@@RN_FILE@@ "

static void add_section(Buf *b, const char *file, const char *calls) {
  bprintf(b, "<:" MARK "%s:>\n", file);   /* quoted: never expanded */
  bputs(b, calls);
}

/* Writes text[0..n) to a new output file OUTDIR/final. */
static void write_output(Emitter *e, const char *final, const char *text, size_t n) {
  write_file(new_file(e, final), text, n);
}

/* The weights: NAME.weights raw, or NAME_weights.c from the template's
 * frame (prologue, a data line, epilogue) with the data streamed in. */
/* Streams the weights: pad to each tensor's offset, then its bytes. */
typedef void (*SinkFn)(void *ctx, const unsigned char *p, size_t n);

static void stream_weights(Emitter *e, SinkFn sink, void *ctx) {
  static const unsigned char zeros[ALIGN];
  unsigned char h[HEADER_BYTES];
  header_bytes(e, h);
  sink(ctx, h, HEADER_BYTES);
  int64_t pos = 0;
  Tensor *last = e->nw ? e->wlist[e->nw - 1] : NULL;
  progress_begin(ir_fmt(e->g, "writing the weights of %s", e->name),
                 last ? e->soff[last->id] + ir_bytes(last) : 0);
  for (int i = 0; i < e->nw; i++) {
    Tensor *t = e->wlist[i];
    sink(ctx, zeros, (size_t)(e->soff[t->id] - pos));
    sink(ctx, t->data, (size_t)ir_bytes(t));
    pos = e->soff[t->id] + ir_bytes(t);
    progress_update(pos);
  }
  progress_end();
}

typedef struct FileSink {
  FILE *f;
  int col;                     /* string mode: bytes on the current line */
  int bad;
} FileSink;

static void sink_raw(void *ctx, const unsigned char *p, size_t n) {
  FileSink *s = ctx;
  if (n && fwrite(p, 1, n, s->f) != n) s->bad = 1;
}

/* The weights as C string literals, 4096 bytes per line: printable bytes
 * as themselves, the others (and '"', '\\', '?', no trigraphs) as three-digit
 * octal escapes, which never swallow a following digit.  gcc and clang read
 * this form fastest and in the least memory (docs/weights.md). */
#define STR_LINE 4096
static void sink_string(void *ctx, const unsigned char *p, size_t n) {
  FileSink *s = ctx;
  char line[STR_LINE * 4 + 8];
  size_t k = 0;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = p[i];
    if (s->col == 0) line[k++] = '"';
    if (c >= 32 && c < 127 && c != '"' && c != '\\' && c != '?') {
      line[k++] = (char)c;
    } else {
      line[k++] = '\\';
      line[k++] = (char)('0' + (c >> 6));
      line[k++] = (char)('0' + ((c >> 3) & 7));
      line[k++] = (char)('0' + (c & 7));
    }
    if (++s->col == STR_LINE) {
      line[k++] = '"';
      line[k++] = '\n';
      s->col = 0;
    }
    if (k > sizeof line - 8 || i + 1 == n) {
      if (fwrite(line, 1, k, s->f) != k) s->bad = 1;
      k = 0;
    }
  }
}

static void write_weights(Emitter *e, char *frame) {
  if (!e->embed) {
    char *path = new_file(e, ir_fmt(e->g, "%s.weights", e->name));
    FileSink s = {fopen(path, "wb"), 0, 0};
    if (!s.f) ir_fail("cannot write %s: %s", path, strerror(errno));
    stream_weights(e, sink_raw, &s);
    if (fclose(s.f) != 0 || s.bad) ir_fail("cannot write %s", path);
    return;
  }
  /* the template's prologue and epilogue around the data line */
  char *text = frame;
  char *mark = strstr(text, "@@RN_WEIGHTS_DATA@@\n");
  if (!mark) ir_fail("template weights_c.m4 lost its data line");
  char *path = new_file(e, ir_fmt(e->g, "%s_weights.c", e->name));
  FileSink s = {fopen(path, "wb"), 0, 0};
  if (!s.f) ir_fail("cannot write %s: %s", path, strerror(errno));
  if (fwrite(text, 1, (size_t)(mark - text), s.f) != (size_t)(mark - text)) s.bad = 1;
  stream_weights(e, sink_string, &s);
  if (s.col) fputs("\"\n", s.f);
  const char *rest = mark + strlen("@@RN_WEIGHTS_DATA@@\n");
  if (fputs(rest, s.f) < 0) s.bad = 1;
  if (fclose(s.f) != 0 || s.bad) ir_fail("cannot write %s", path);
}

/* ---- the entry point ------------------------------------------------------------ */

static void io_names(Emitter *e) {
  Graph *g = e->g;
  e->in_cname = ir_alloc(g, sizeof(char *) * (size_t)(g->ninputs + 1));
  e->out_cname = ir_alloc(g, sizeof(char *) * (size_t)(g->noutputs + 1));
  for (int dir = 0; dir < 2; dir++) {
    int n = dir ? g->noutputs : g->ninputs;
    char **names = dir ? e->out_cname : e->in_cname;
    for (int i = 0; i < n; i++) {
      Tensor *t = dir ? g->outputs[i] : g->inputs[i];
      char *base = ir_fmt(g, "%s_%s", dir ? "out" : "in", c_ident(g, t->name, 48));
      char *nm = base;
      for (int k = 2;; k++) {          /* unique after sanitising */
        int clash = 0;
        for (int j = 0; j < i; j++) clash |= strcmp(names[j], nm) == 0;
        if (!clash) break;
        nm = ir_fmt(g, "%s_%d", base, k);
      }
      names[i] = nm;
    }
  }
}

/* RN_ISAS from EmitOptions.isa: names of [a-z0-9_], scalar last. */
static void choose_isas(Emitter *e) {
  /* simd: the fast kernels of kernels.h (k_*_nchwc.m4, k_fc.m4), one body
   * per ISA chosen when the C is compiled; the other layers fall back to
   * scalar */
  const char *want = e->o->isa && *e->o->isa ? e->o->isa : "simd";
  Buf b = {e->g, 0, 0, 0};
  int has_scalar = 0;
  for (const char *p = want; *p;) {
    size_t n = strcspn(p, ",");
    if (n == 0 || n > 32) ir_fail("bad ISA list '%s'", want);
    for (size_t i = 0; i < n; i++)
      if (!islower((unsigned char)p[i]) && !isdigit((unsigned char)p[i]) && p[i] != '_')
        ir_fail("bad ISA name in '%s' (lower-case letters, digits, '_')", want);
    has_scalar |= n == 6 && strncmp(p, "scalar", 6) == 0;
    bprintf(&b, "%s%.*s", b.n ? ", " : "", (int)n, p);
    p += n;
    if (*p == ',') p++;
  }
  if (!has_scalar) bputs(&b, ", scalar");
  e->isas = b.p;
}

static void choose_name(Emitter *e) {
  Graph *g = e->g;
  const char *want = e->o->name && *e->o->name ? e->o->name : g->name && *g->name ? g->name : "model";
  char *n = c_ident(g, want, 48);
  if (isdigit((unsigned char)n[0])) n = ir_fmt(g, "m_%s", n);
  /* the m4 macro namespaces of the templates (common.m4) */
  if (strncmp(n, "m4", 2) == 0 || strncmp(n, "RN", 2) == 0 || strncmp(n, "P_", 2) == 0 || strcmp(n, "P") == 0)
    n = ir_fmt(g, "net_%s", n);
  e->name = n;
  char *uc = ir_strdup(g, n);
  for (char *p = uc; *p; p++) *p = (char)toupper((unsigned char)*p);
  e->name_uc = uc;
}

static void output_copies(Emitter *e) {
  Graph *g = e->g;
  e->cur = NULL;
  for (int i = 0; i < g->noutputs; i++) {
    Tensor *t = g->outputs[i];
    int first = i;
    for (int j = 0; j < i; j++)
      if (g->outputs[j] == t) { first = j; break; }
    if (ir_bytes(t) == 0) continue;
    const char *src;
    if (first != i) src = e->out_cname[first];
    else if (t->kind == TK_INPUT || t->kind == TK_CONST) src = ptr(e, t, NULL, 0);
    else continue;                    /* written by its producer */
    bprintf(&e->calls, "RN_COPY(<:output %d '%s'%s:>, <:%s:>, <:%s:>, <:%" PRId64 ":>)m4_dnl\n", i,
            safe_text(g, t->name, 120), t->kind == TK_CONST ? " (a constant)" : " (a copy)",
            e->out_cname[i], src, ir_bytes(t));
  }
}

int emit_c(Graph *g, const EmitOptions *o) { return emit_c_result(g, o, NULL); }

int emit_c_result(Graph *g, const EmitOptions *o, EmitResult *result) {
  Emitter *volatile ep = NULL;
  IrTry t;
  int rc = 0;
  Graph *saved = ir_current_graph;
  ir_current_graph = g;
  if (ir_try_begin(&t)) {
    rc = -1;
  } else {
    Emitter *e = ir_alloc(g, sizeof *e);
    ep = e;
    e->g = g;
    e->o = o;
    e->kdefs.g = e->calls.g = g;
    if (!o || !o->outdir || !*o->outdir) ir_fail("no output folder given");
    e->outdir = o->outdir;
    choose_name(e);
    choose_isas(e);
    ir_relink(g);
    check_graph(e);
    io_names(e);
    e->kisas = o->isas ? o->isas | KISA_SCALAR : KISA_ALL;
    pack_blocked(e);
    plan_storage(e);
    /* kernel scratch the planner did not place (a graph planned before
     * its layout or kernel choice changed): one shared slot above the
     * plan.  After the planner of -O2, none: the header's arena is the
     * planned one. */
    if (e->scratch_extra) {
      int64_t off = round_up(e->arena_bytes, ALIGN);
      for (int i = 0; i < g->nnodes; i++)
        if (e->scratch_at[i] == -2) e->scratch_at[i] = off;
      e->arena_bytes = off + round_up(e->scratch_extra, ALIGN);
    }
    for (int i = 0; i < g->nnodes; i++) lower_node(e, g->nodes[i]);
    output_copies(e);
    for (int i = 0; i < g->noutputs; i++)      /* the header lists every output */
      if (g->outputs[i]->kind == TK_CONST) add_weight(e, g->outputs[i]);
    e->embed = o->weights == WEIGHTS_EMBED ||
               (o->weights == WEIGHTS_AUTO && e->wdata_bytes <= EMBED_MAX_BYTES);

    mkdir_p(e, e->outdir);
    const char *nm = e->name;
    static const char *tmpls[] = {"model_h.m4", "model_c.m4", "main_c.m4", "makefile.m4", "weights_c.m4"};
    Buf in = {g, 0, 0, 0};
    add_template(e, &in, "common.m4");
    add_kernel_templates(e, &in);
    for (int i = 0; i < 5; i++) add_template(e, &in, tmpls[i]);
    facts(e, &in);
    Buf body = {g, 0, 0, 0};
    bputs(&body, "RN_C_BEGIN()m4_dnl\n");
    if (e->kdefs.p) bputs(&body, e->kdefs.p);
    bputs(&body, "RN_RUN_BEGIN()m4_dnl\n");
    if (e->calls.p) bputs(&body, e->calls.p);
    bputs(&body, "RN_RUN_END()m4_dnl\n");
    const char *files[5] = {ir_fmt(g, "%s.h", nm), ir_fmt(g, "%s.c", nm), ir_fmt(g, "%s_main.c", nm), "Makefile",
                            "weights frame"};
    add_section(&in, files[0], "RN_HEADER()");
    add_section(&in, files[1], body.p);
    add_section(&in, files[2], "RN_MAIN()");
    add_section(&in, files[3], "RN_MAKEFILE()");
    add_section(&in, files[4], "RN_WEIGHTS_BEGIN()@@RN_WEIGHTS_DATA@@\nRN_WEIGHTS_END()");
    char *m4in = new_scratch(e, ir_fmt(g, "%s.m4", nm)), *m4out = new_scratch(e, ir_fmt(g, "%s.m4.out", nm));
    write_file(m4in, in.p, in.n);
    run_m4(e, m4in, m4out, nm);
    size_t len;
    char *text = read_whole(e, m4out, &len), *frame = NULL;
    /* split at the markers, in the order written */
    char *pos = strstr(text, MARK);
    if (!pos) ir_fail("the templates printed no file");
    for (int i = 0; i < 5; i++) {
      char *want = ir_fmt(g, MARK "%s\n", files[i]);
      if (strncmp(pos, want, strlen(want)) != 0) ir_fail("the templates lost the section of %s", files[i]);
      char *start = pos + strlen(want), *next = strstr(start, MARK);
      char *end = next ? next : text + len;
      if (i < 4) write_output(e, files[i], start, (size_t)(end - start));
      else frame = ir_strndup(g, start, (size_t)(end - start));
      pos = next;
    }
    write_weights(e, frame);

    /* all written: move into place, drop the other weights form */
    for (int i = 0; i < e->nfiles; i++)
      if (rename(e->tmp[i], e->dst[i]) != 0)
        ir_fail("cannot rename %s to %s: %s", e->tmp[i], e->dst[i], strerror(errno));
    if (result) {
      EmitResult *r = result;
      memset(r, 0, sizeof *r);
      r->arena_bytes = e->arena_bytes;
      r->weights_bytes = HEADER_BYTES + e->wdata_bytes;
      r->embedded = e->embed;
      for (int i = 0; i < e->nfiles && i < EMIT_MAX_RESULT_FILES; i++) r->files[r->nfiles++] = e->dst[i];
    }
    e->nfiles = 0;
    remove(ir_fmt(g, "%s/%s", e->outdir, e->embed ? ir_fmt(g, "%s.weights", nm) : ir_fmt(g, "%s_weights.c", nm)));
  }
  if (rc == 0) ir_try_end(&t);    /* a failure already popped the handler */
  Emitter *e = ep;
  if (e) {
    for (int i = 0; i < e->nfiles; i++) remove(e->tmp[i]);
    if (!getenv("RESNETC_KEEP_M4"))
      for (int i = 0; i < e->nscratch; i++) remove(e->scratch[i]);
  }
  ir_current_graph = saved;
  return rc;
}
