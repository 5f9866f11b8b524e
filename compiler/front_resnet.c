/*
 * front_resnet.c - the .resnet language: parse tree -> IR (see
 * docs/language.md for the language, resnet_ast.h for the tree).
 *
 * Three steps, each with its own kind of errors:
 *
 *  1. parse (grammar/resnet.l, resnet.y): syntax.  The parser recovers at
 *     the next definition, so one run reports several syntax errors.
 *  2. check: names and arguments, statically, over the whole file: unknown
 *     layers, blocks, parameters and variables (with the closest known name
 *     as a suggestion), duplicate definitions, missing or repeated
 *     arguments, blocks that call themselves (directly or through others:
 *     refused, since a network is finite), stage items that are not blocks.
 *     Every error is reported, up to RN_MAX_ERRORS.
 *  3. elaborate: run the network description, instantiating blocks, with
 *     numbers evaluated and every shape known as it is built, so a shape
 *     error ("the branch has 256 channels, the shortcut 64") points at the
 *     construct that caused it, with the chain of block calls that led
 *     there.  Elaboration stops at its first error.
 *
 * The graph uses only plain ONNX ops (Conv, BatchNormalization, Relu, Add,
 * MaxPool, AveragePool, GlobalAveragePool, Flatten, Gemm, Slice and Pad for
 * the zero-padded shortcut of option A), so the optimiser folds and fuses
 * it exactly as an imported ONNX model.  Every node is named "file:line:col"
 * after the construct that made it; every weight is named as in
 * torchvision's state_dict (conv1.weight, layer1.0.bn2.running_var,
 * layer2.0.downsample.0.weight, fc.bias), which is how weights are bound.
 *
 * Weights come from a safetensors file, an ONNX file's initializers, or a
 * seeded He initialisation; any missing, extra or mis-shaped tensor is
 * reported by name with both shapes.
 *
 * Bounds (hostile input): bracket nesting, expression depth, block call
 * depth, repeat counts, the number of layers, and the bytes of weights are
 * all limited, each with its own message; nothing here recurses deeper
 * than those limits, and every allocation belongs to the graph.
 */
#include "front_resnet.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "onnx.pb-c.h"
#include "resnet_ast.h"
#include "safetensors.h"
#define YYSTYPE RNSTYPE
#define YYLTYPE RNLTYPE
#include "resnet.tab.h"
#include "resnet.lex.h"

#define RN_MAX_REPEAT 10000          /* one stage item: basic(64) x10000 */
#define RN_MAX_LAYERS 100000         /* nodes in the graph */
#define RN_MAX_TENSOR ((int64_t)1 << 31)   /* elements of one tensor */
#define RN_MAX_WEIGHT_BYTES ((int64_t)2 << 30)   /* unless ResnetOptions says */
#define RN_MAX_DIM ((int64_t)1 << 24) /* any one channel count or size */

/* ======================================================================
 * Diagnostics
 * ====================================================================== */

/* The text of line `line` (1-based), its length in *n. */
static const char *line_text(const Parser *P, int line, size_t *n) {
  const char *s = P->src, *end = P->src + P->len;
  for (int l = 1; l < line && s < end; s++)
    if (*s == '\n') l++;
  const char *e = s;
  while (e < end && *e != '\n') e++;
  *n = (size_t)(e - s);
  return s;
}

/* Byte offset in a line of column col (columns count characters). */
static size_t col_to_byte(const char *s, size_t n, int col) {
  size_t i = 0;
  int c = 1;
  while (i < n && c < col) {
    i++;
    while (i < n && ((unsigned char)s[i] & 0xC0) == 0x80) i++;
    c++;
  }
  return i;
}

/* Prints the source line of loc and a caret under it:
 *      12 |   conv4(64) bn relu
 *         |   ^~~~~
 * Lines longer than 160 characters are shown as a window around the
 * column; control bytes are shown as '?'. */
static void show_line(const Parser *P, Loc loc) {
  if (!P->src || loc.line <= 0) return;
  size_t n;
  const char *s = line_text(P, loc.line, &n);
  size_t at = col_to_byte(s, n, loc.col);
  size_t from = 0, to = n;
  const size_t WIN = 160;
  if (n > WIN) {
    from = at > WIN / 2 ? at - WIN / 2 : 0;
    while (from > 0 && ((unsigned char)s[from] & 0xC0) == 0x80) from--;
    to = from + WIN < n ? from + WIN : n;
    while (to < n && ((unsigned char)s[to] & 0xC0) == 0x80) to++;
  }
  char num[16];
  int w = snprintf(num, sizeof num, "%d", loc.line);
  fprintf(stderr, " %s | %s", num, from ? "..." : "");
  for (size_t i = from; i < to; i++) {
    unsigned char c = (unsigned char)s[i];
    fputc(c == '\t' || c >= 32 ? (c == 127 ? '?' : c) : '?', stderr);
  }
  fprintf(stderr, "%s\n %*s | %s", to < n ? "..." : "", w, "", from ? "   " : "");
  for (size_t i = from; i < at && i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if ((c & 0xC0) == 0x80) continue;
    fputc(c == '\t' ? '\t' : ' ', stderr);
  }
  fputc('^', stderr);
  for (int i = 1; i < loc.len && i < 80; i++) fputc('~', stderr);
  fputc('\n', stderr);
}

static void vdiag(Parser *P, const char *kind, Loc loc, const char *fmt, va_list ap) {
  if (ir_quiet) return;
  char body[1200];
  vsnprintf(body, sizeof body, fmt, ap);
  if (loc.line > 0)
    fprintf(stderr, "%s:%d:%d: %s: %s\n", P->file, loc.line, loc.col, kind, body);
  else
    fprintf(stderr, "%s: %s: %s\n", P->file, kind, body);
  show_line(P, loc);
}

void rn_error(Parser *P, Loc loc, const char *fmt, ...) {
  if (P->fatal) return;
  if (++P->nerrors > RN_MAX_ERRORS) {
    if (!ir_quiet) fprintf(stderr, "%s: error: too many errors, stopping\n", P->file);
    P->fatal = 1;
    return;
  }
  va_list ap;
  va_start(ap, fmt);
  vdiag(P, "error", loc, fmt, ap);
  va_end(ap);
}

void rn_note(Parser *P, Loc loc, const char *fmt, ...) {
  if (P->fatal) return;
  va_list ap;
  va_start(ap, fmt);
  vdiag(P, "note", loc, fmt, ap);
  va_end(ap);
}

/* ---- closest name, for "did you mean" --------------------------------- */

/* Damerau-Levenshtein distance, ignoring case: 'BN' is 'bn', 'ReLU' is
 * 'relu' (the name is unknown, so it differs from the suggestion at least
 * in case). */
static int lower(int c) { return c >= 'A' && c <= 'Z' ? c + 32 : c; }

static int edit_distance(const char *a, const char *b) {
  size_t n = strlen(a), m = strlen(b);
  if (n > 40 || m > 40) return 1000;
  int d[41][41];
  for (size_t i = 0; i <= n; i++) d[i][0] = (int)i;
  for (size_t j = 0; j <= m; j++) d[0][j] = (int)j;
  for (size_t i = 1; i <= n; i++)
    for (size_t j = 1; j <= m; j++) {
      int c = d[i - 1][j - 1] + (lower(a[i - 1]) != lower(b[j - 1]));
      if (d[i - 1][j] + 1 < c) c = d[i - 1][j] + 1;
      if (d[i][j - 1] + 1 < c) c = d[i][j - 1] + 1;
      /* a transposition counts as one edit */
      if (i > 1 && j > 1 && lower(a[i - 1]) == lower(b[j - 2]) && lower(a[i - 2]) == lower(b[j - 1]) &&
          d[i - 2][j - 2] + 1 < c)
        c = d[i - 2][j - 2] + 1;
      d[i][j] = c;
    }
  return d[n][m];
}

typedef struct Suggest { const char *best; int dist; const char *name; } Suggest;

static void suggest_init(Suggest *s, const char *name) {
  s->best = NULL;
  s->dist = 1000;
  s->name = name;
}

static void suggest_try(Suggest *s, const char *cand) {
  if (!cand) return;
  int d = edit_distance(s->name, cand);
  int len = (int)strlen(s->name);
  int limit = len <= 3 ? 1 : len <= 6 ? 2 : 3;
  if (d <= limit && d < s->dist) { s->dist = d; s->best = cand; }
}

/* "; did you mean 'x'?" or "" (a static buffer per call site is enough) */
static const char *suggest_text(const Suggest *s, char *buf, size_t n) {
  if (!s->best) return "";
  snprintf(buf, n, "; did you mean '%s'?", s->best);
  return buf;
}

/* ======================================================================
 * Builtin layers
 * ====================================================================== */

typedef enum LKind {
  L_CONV, L_CONV1, L_CONV3, L_BN, L_RELU, L_MAXPOOL, L_AVGPOOL, L_GAP, L_GMP,
  L_FLATTEN, L_FC, L_SOFTMAX, L_IDENTITY, L_SUBSAMPLE, L_ZEROPAD
} LKind;

typedef struct BParam {
  const char *name, *alias;
  int required;
  double def;
  int is_float;                     /* a real (eps); else an integer */
} BParam;

#define MAXP 8
typedef struct Builtin {
  const char *name;
  LKind kind;
  int np;
  BParam p[MAXP];
} Builtin;

/* pad -1 and stride -1 stand for "derived" (see the layer code). */
static const Builtin builtins[] = {
  {"conv", L_CONV, 7, {{"out", NULL, 1, 0, 0}, {"k", "kernel", 1, 0, 0}, {"stride", "s", 0, 1, 0},
                       {"pad", "p", 0, -1, 0}, {"groups", "g", 0, 1, 0}, {"dilation", "d", 0, 1, 0},
                       {"bias", NULL, 0, 0, 0}}},
  {"conv1x1", L_CONV1, 4, {{"out", NULL, 1, 0, 0}, {"stride", "s", 0, 1, 0}, {"groups", "g", 0, 1, 0},
                           {"bias", NULL, 0, 0, 0}}},
  {"conv3x3", L_CONV3, 5, {{"out", NULL, 1, 0, 0}, {"stride", "s", 0, 1, 0}, {"groups", "g", 0, 1, 0},
                           {"dilation", "d", 0, 1, 0}, {"bias", NULL, 0, 0, 0}}},
  {"bn", L_BN, 1, {{"eps", NULL, 0, 1e-5, 1}}},
  {"relu", L_RELU, 0, {{0}}},
  {"maxpool", L_MAXPOOL, 4, {{"k", "kernel", 1, 0, 0}, {"stride", "s", 0, -1, 0}, {"pad", "p", 0, -1, 0},
                             {"ceil", NULL, 0, 0, 0}}},
  {"avgpool", L_AVGPOOL, 5, {{"k", "kernel", 1, 0, 0}, {"stride", "s", 0, -1, 0}, {"pad", "p", 0, -1, 0},
                             {"ceil", NULL, 0, 0, 0}, {"count_pad", NULL, 0, 0, 0}}},
  {"global_avgpool", L_GAP, 0, {{0}}},
  {"global_maxpool", L_GMP, 0, {{0}}},
  {"flatten", L_FLATTEN, 0, {{0}}},
  {"fc", L_FC, 2, {{"out", NULL, 1, 0, 0}, {"bias", NULL, 0, 1, 0}}},
  {"softmax", L_SOFTMAX, 0, {{0}}},
  {"identity", L_IDENTITY, 0, {{0}}},
  {"subsample", L_SUBSAMPLE, 1, {{"stride", "s", 1, 0, 0}}},
  {"zeropad", L_ZEROPAD, 1, {{"out", NULL, 1, 0, 0}}},
};
#define NBUILTINS ((int)(sizeof builtins / sizeof builtins[0]))

static const Builtin *find_builtin(const char *name) {
  for (int i = 0; i < NBUILTINS; i++)
    if (strcmp(builtins[i].name, name) == 0) return &builtins[i];
  return NULL;
}

/* what other frameworks call our layers, for "did you mean" */
static const char *const synonyms[][2] = {
  {"batchnorm", "bn"}, {"batchnorm2d", "bn"}, {"batch_norm", "bn"}, {"linear", "fc"},
  {"dense", "fc"}, {"gemm", "fc"}, {"conv2d", "conv"}, {"convolution", "conv"},
  {"maxpool2d", "maxpool"}, {"max_pool", "maxpool"}, {"avgpool2d", "avgpool"},
  {"avg_pool", "avgpool"}, {"gap", "global_avgpool"}, {"adaptive_avgpool", "global_avgpool"},
  {"avgpool_global", "global_avgpool"}, {"global_pool", "global_avgpool"}, {"pool", "maxpool"},
  {"activation", "relu"}, {"residual", "add"}, {"skip", "add"}, {"shortcut", "add"},
};

/* a string set/map in the arena (open addressing) */
typedef struct HEnt { const char *key; void *val; } HEnt;
typedef struct Hash { HEnt *e; size_t cap, n; } Hash;

static uint64_t hstr(const char *s) {
  uint64_t h = 1469598103934665603ull;
  for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211ull;
  return h;
}

static HEnt *hash_slot(Graph *g, Hash *h, const char *key) {
  if (2 * (h->n + 1) > h->cap) {
    size_t nc = h->cap ? 2 * h->cap : 256;
    HEnt *ne = ir_alloc(g, sizeof *ne * nc);
    for (size_t i = 0; i < h->cap; i++)
      if (h->e[i].key) {
        size_t j = hstr(h->e[i].key) & (nc - 1);
        while (ne[j].key) j = (j + 1) & (nc - 1);
        ne[j] = h->e[i];
      }
    h->e = ne;
    h->cap = nc;
  }
  size_t j = hstr(key) & (h->cap - 1);
  while (h->e[j].key && strcmp(h->e[j].key, key) != 0) j = (j + 1) & (h->cap - 1);
  return &h->e[j];
}

static void *hash_get(const Hash *h, const char *key) {
  if (!h->cap) return NULL;
  size_t j = hstr(key) & (h->cap - 1);
  while (h->e[j].key) {
    if (strcmp(h->e[j].key, key) == 0) return h->e[j].val;
    j = (j + 1) & (h->cap - 1);
  }
  return NULL;
}

static void hash_put(Graph *g, Hash *h, const char *key, void *val) {
  HEnt *e = hash_slot(g, h, key);
  if (!e->key) { e->key = key; h->n++; }
  e->val = val;
}

static Block *find_block(Parser *P, const char *name) {
  if (P->block_index) return hash_get(P->block_index, name);
  for (Block *b = P->blocks; b; b = b->next)
    if (strcmp(b->name, name) == 0) return b;
  return NULL;
}

static int is_broken(Parser *P, const char *name) {
  for (BrokenName *b = P->broken; b; b = b->next)
    if (strcmp(b->name, name) == 0) return 1;
  return 0;
}

/* ======================================================================
 * Step 2: the static check
 * ====================================================================== */

/* A name visible while checking: a number or a value (tensor). */
typedef struct Sym {
  const char *name;
  int is_value;
  struct Sym *next;
} Sym;

typedef struct Check {
  Parser *P;
  Sym *globals;
  int nnames;              /* names bound in the current scope */
} Check;

static Sym *sym_push(Parser *P, Sym *s, const char *name, int is_value) {
  Sym *n = ir_alloc(P->g, sizeof *n);
  n->name = name;
  n->is_value = is_value;
  n->next = s;
  return n;
}

static const Sym *sym_find(const Sym *s, const char *name) {
  for (; s; s = s->next)
    if (strcmp(s->name, name) == 0) return s;
  return NULL;
}

static void check_expr(Check *C, const Sym *env, const Expr *e) {
  if (!e || e->depth > RN_MAX_EXPR_DEPTH) return;   /* already reported */
  switch (e->kind) {
  case EX_INT: case EX_FLOAT: return;
  case EX_VAR: {
    const Sym *s = sym_find(env, e->name);
    if (!s) {
      Suggest sg;
      suggest_init(&sg, e->name);
      for (const Sym *t = env; t; t = t->next)
        if (!t->is_value) suggest_try(&sg, t->name);
      char b[200];
      rn_error(C->P, e->loc, "unknown name '%s'%s", e->name, suggest_text(&sg, b, sizeof b));
    } else if (s->is_value) {
      rn_error(C->P, e->loc, "'%s' is a value (a tensor named with 'as'), not a number", e->name);
    }
    return;
  }
  default:
    check_expr(C, env, e->a);
    check_expr(C, env, e->b);
  }
}

/* Checks the arguments of a call against a parameter list given as names
 * (with aliases) and whether each is required. */
static void check_args(Check *C, const Sym *env, const Stmt *call, const char *what, int np,
                       const char *const *names, const char *const *aliases, const int *required) {
  int given[MAXP > 64 ? MAXP : 64] = {0};
  int npos = 0;
  if (np > 64) np = 64;
  for (const Arg *a = call->args; a; a = a->next) {
    check_expr(C, env, a->e);
    int idx = -1;
    if (!a->key) {
      if (npos >= np) {
        rn_error(C->P, a->loc, "too many arguments: %s takes %d", what, np);
        return;
      }
      idx = npos++;
    } else {
      for (int i = 0; i < np; i++)
        if (strcmp(names[i], a->key) == 0 || (aliases && aliases[i] && strcmp(aliases[i], a->key) == 0))
          idx = i;
      if (idx < 0) {
        Suggest sg;
        suggest_init(&sg, a->key);
        for (int i = 0; i < np; i++) {
          suggest_try(&sg, names[i]);
          if (aliases) suggest_try(&sg, aliases[i]);
        }
        char b[200];
        rn_error(C->P, a->key_loc, "%s has no parameter '%s'%s", what, a->key,
                 suggest_text(&sg, b, sizeof b));
        continue;
      }
    }
    if (given[idx]) {
      rn_error(C->P, a->loc, "argument '%s' of %s is given twice", names[idx], what);
      continue;
    }
    given[idx] = 1;
  }
  for (int i = 0; i < np; i++)
    if (required[i] && !given[i])
      rn_error(C->P, call->loc, "%s needs argument '%s'", what, names[i]);
}

static void check_call(Check *C, const Sym *env, const Stmt *call) {
  const Builtin *b = find_builtin(call->name);
  if (b) {
    const char *names[MAXP], *aliases[MAXP];
    int req[MAXP];
    for (int i = 0; i < b->np; i++) {
      names[i] = b->p[i].name;
      aliases[i] = b->p[i].alias;
      req[i] = b->p[i].required;
    }
    char what[80];
    snprintf(what, sizeof what, "'%s'", b->name);
    check_args(C, env, call, what, b->np, names, aliases, req);
    return;
  }
  Block *bl = find_block(C->P, call->name);
  if (bl && bl->bad_params) {   /* reported at its definition */
    for (const Arg *a = call->args; a; a = a->next) check_expr(C, env, a->e);
    return;
  }
  if (bl) {
    int np = 0;
    for (Param *p = bl->params; p; p = p->next) np++;
    if (np > 64) {
      rn_error(C->P, bl->loc, "block '%s' has %d parameters, more than the limit of 64", bl->name, np);
      return;
    }
    const char *names[64];
    int req[64];
    int i = 0;
    for (Param *p = bl->params; p; p = p->next, i++) {
      names[i] = p->name;
      req[i] = p->def == NULL;
    }
    char what[300];
    snprintf(what, sizeof what, "block '%.200s'", bl->name);
    check_args(C, env, call, what, np, names, NULL, req);
    return;
  }
  if (is_broken(C->P, call->name)) return;    /* its definition had a syntax error */
  Suggest sg;
  suggest_init(&sg, call->name);
  for (int i = 0; i < NBUILTINS; i++) suggest_try(&sg, builtins[i].name);
  for (Block *k = C->P->blocks; k; k = k->next) suggest_try(&sg, k->name);
  /* names other frameworks use for our layers: batchnorm -> bn */
  const char *syn = NULL;
  int syn_dist = 1000;
  for (size_t i = 0; i < sizeof synonyms / sizeof synonyms[0]; i++) {
    int d = edit_distance(call->name, synonyms[i][0]);
    int len = (int)strlen(call->name);
    if (d <= (len <= 6 ? 1 : 2) && d < syn_dist) { syn_dist = d; syn = synonyms[i][1]; }
  }
  if (syn && (!sg.best || syn_dist < sg.dist)) sg.best = syn;
  char buf[200];
  rn_error(C->P, call->loc, "unknown layer or block '%s'%s", call->name, suggest_text(&sg, buf, sizeof buf));
  for (const Arg *a = call->args; a; a = a->next) check_expr(C, env, a->e);
}

static Sym *check_seq(Check *C, Sym *env, const Stmt *s, int in_block);
static int too_many_names(Check *C, Loc loc);

static void check_value_name(Check *C, const Sym *env, const char *name, Loc loc) {
  const Sym *s = sym_find(env, name);
  if (s && s->is_value) return;
  if (s) {
    rn_error(C->P, loc, "'%s' is a number, not a value (name a value with 'as %s')", name, name);
    return;
  }
  Suggest sg;
  suggest_init(&sg, name);
  for (const Sym *t = env; t; t = t->next)
    if (t->is_value) suggest_try(&sg, t->name);
  char b[200];
  rn_error(C->P, loc, "unknown value '%s'%s", name, suggest_text(&sg, b, sizeof b));
}

static Sym *check_seq(Check *C, Sym *env, const Stmt *s, int in_block) {
  for (; s; s = s->next) {
    switch (s->kind) {
    case ST_CALL: check_call(C, env, s); break;
    case ST_AS:
      if (!too_many_names(C, s->loc)) env = sym_push(C->P, env, s->name, 1);
      break;
    case ST_LET:
      check_expr(C, env, s->e);
      if (!too_many_names(C, s->loc)) env = sym_push(C->P, env, s->name, 0);
      break;
    case ST_IF:
      check_expr(C, env, s->e);
      /* names bound inside a branch stay visible after it; whether they
       * are set on the path taken is checked when it runs */
      env = check_seq(C, env, s->then, in_block);
      env = check_seq(C, env, s->els, in_block);
      break;
    case ST_ADD:
      if (s->src == SRC_NAME) check_value_name(C, env, s->src_name, s->src_loc);
      if (s->src == SRC_SHORTCUT && s->src_name) check_value_name(C, env, s->src_name, s->src_loc);
      check_seq(C, env, s->branch, in_block);
      check_seq(C, env, s->via, in_block);
      break;
    }
  }
  return env;
}

/* Depth-first search of the block call graph: a block that reaches itself
 * would describe an infinite network, and one whose calls nest deeper than
 * RN_MAX_CALL_DEPTH is refused too (which also bounds this recursion).
 * Block.height: the nesting below a block, itself included. */
static int block_height(Check *C, Block *b, int depth);

static int seq_height(Check *C, Block *b, const Stmt *s, int depth) {
  int h = 0;
  for (; s; s = s->next) {
    int k = 0;
    if (s->kind == ST_CALL) {
      Block *t = find_block(C->P, s->name);
      if (!t) continue;
      if (t->mark == 1) {
        if (t == b)
          rn_error(C->P, s->loc, "block '%s' calls itself: a network cannot be recursive", t->name);
        else
          rn_error(C->P, s->loc, "block '%s' calls '%s', which is still being defined through it: a network cannot be recursive",
                   b->name, t->name);
        return -1;
      }
      k = block_height(C, t, depth + 1);
      if (k < 0) return -1;
      if (k + 1 > RN_MAX_CALL_DEPTH) {
        rn_error(C->P, s->loc, "blocks call each other more than %d deep ('%s' nests %d blocks)",
                 RN_MAX_CALL_DEPTH, t->name, k);
        return -1;
      }
    } else if (s->kind == ST_IF) {
      int a = seq_height(C, b, s->then, depth), e = a < 0 ? -1 : seq_height(C, b, s->els, depth);
      if (a < 0 || e < 0) return -1;
      k = a > e ? a : e;
    } else if (s->kind == ST_ADD) {
      int a = seq_height(C, b, s->branch, depth), e = a < 0 ? -1 : seq_height(C, b, s->via, depth);
      if (a < 0 || e < 0) return -1;
      k = a > e ? a : e;
    }
    if (k > h) h = k;
  }
  return h;
}

static int block_height(Check *C, Block *b, int depth) {
  if (b->mark == 2) return b->height;
  if (depth > RN_MAX_CALL_DEPTH) {   /* unreachable: seq_height stops first */
    rn_error(C->P, b->loc, "blocks call each other more than %d deep", RN_MAX_CALL_DEPTH);
    return -1;
  }
  b->mark = 1;
  int h = seq_height(C, b, b->body, depth);
  if (h < 0) return -1;
  b->mark = 2;
  b->height = h + 1;
  return b->height;
}

/* Counts the names bound in one scope (lets, 'as', parameters), whose
 * lookups are linear: a scope of millions would be quadratic. */
static int too_many_names(Check *C, Loc loc) {
  if (++C->nnames == RN_MAX_NAMES + 1) {
    rn_error(C->P, loc, "more than %d names in one block or network", RN_MAX_NAMES);
    return 1;
  }
  return 0;
}

static void check_program(Parser *P) {
  Check C = {P, NULL, 0};
  /* the index of blocks by name (the first of duplicates) */
  Hash *index = ir_alloc(P->g, sizeof *index);
  int nblocks = 0;
  for (Block *b = P->blocks; b; b = b->next) {
    if (++nblocks == RN_MAX_NAMES + 1) rn_error(P, b->loc, "more than %d blocks in one file", RN_MAX_NAMES);
    if (!hash_get(index, b->name)) hash_put(P->g, index, b->name, b);
  }
  P->block_index = index;
  /* top-level lets, in order */
  for (Stmt *s = P->lets; s; s = s->next) {
    check_expr(&C, C.globals, s->e);
    if (find_builtin(s->name)) rn_error(P, s->loc, "'%s' is a builtin layer", s->name);
    if (!too_many_names(&C, s->loc)) C.globals = sym_push(P, C.globals, s->name, 0);
  }
  int nglobal = C.nnames;
  /* parameters declared twice (block a(c, c)), reported at the second one
   * before any body is checked: a call of such a block is not checked
   * against its parameters, which would only repeat the error */
  for (Block *b = P->blocks; b; b = b->next)
    for (Param *p = b->params; p; p = p->next)
      for (Param *q = b->params; q != p; q = q->next)
        if (strcmp(q->name, p->name) == 0) {
          rn_error(P, p->loc, "parameter '%s' of block '%s' is declared twice", p->name, b->name);
          rn_note(P, q->loc, "the first '%s' is here", q->name);
          b->bad_params = 1;
          break;
        }
  /* blocks: unique names, parameters, bodies */
  for (Block *b = P->blocks; b; b = b->next) {
    if (find_builtin(b->name)) {
      rn_error(P, b->loc, "block '%s' has the name of a builtin layer", b->name);
      continue;
    }
    Block *first = find_block(P, b->name);
    if (first != b) {
      rn_error(P, b->loc, "block '%s' is defined twice", b->name);
      rn_note(P, first->loc, "first defined here");
      continue;
    }
    Sym *env = C.globals;
    C.nnames = nglobal;
    int seen_default = 0;
    for (Param *p = b->params; p; p = p->next) {
      if (p->def) {
        check_expr(&C, env, p->def);
        seen_default = 1;
      } else if (seen_default) {
        rn_error(P, p->loc, "parameter '%s' without a default follows one with a default", p->name);
      }
      env = sym_push(P, env, p->name, 0);
    }
    check_seq(&C, env, b->body, 1);
  }
  for (Block *b = P->blocks; b; b = b->next)
    if (!b->mark && block_height(&C, b, 1) < 0) break;
  /* the network */
  if (!P->nets) {
    if (!P->nerrors) rn_error(P, (Loc){0, 0, 0}, "no network in this file (write 'network NAME : input[C, H, W] { ... }')");
    return;
  }
  for (Network *n = P->nets->next; n; n = n->next) {
    rn_error(P, n->loc, "a second network '%s' in one file", n->name);
    rn_note(P, P->nets->loc, "the first one is '%s'", P->nets->name);
  }
  Network *net = P->nets;
  for (Arg *a = net->input; a; a = a->next) {
    if (a->key) rn_error(P, a->loc, "input dimensions are written as input[C, H, W]");
    check_expr(&C, C.globals, a->e);
  }
  Sym *env = sym_push(P, C.globals, "in", 1);
  C.nnames = nglobal;
  for (NetItem *it = net->items; it; it = it->next) {
    if (it->kind == NI_STEM) env = check_seq(&C, env, it->seq, 0);
    if (it->kind == NI_STAGE)
      for (StageItem *si = it->stage; si; si = si->next) {
        if (find_builtin(si->call->name)) {
          rn_error(P, si->call->loc, "stage items are blocks, '%s' is a layer (put layers in a block, or before or after the stages)",
                   si->call->name);
          continue;
        }
        check_call(&C, env, si->call);
        if (si->repeat) check_expr(&C, env, si->repeat);
      }
  }
}

/* ======================================================================
 * Step 3: elaboration
 * ====================================================================== */

typedef struct Num { int isf; int64_t i; double f; } Num;

typedef struct Bind {
  const char *name;
  int is_value;
  Num n;
  Tensor *t;
  struct Bind *next;
} Bind;

/* Weight naming: a scope gives the prefix of the names of its layers.
 * Counted scopes (a block, the network) name layers by kind and count:
 * conv1, bn1, conv2, ...; fc, fc2; indexed scopes (a shortcut projection:
 * "downsample.") number every layer from 0, as nn.Sequential does. */
typedef struct Scope {
  const char *prefix;
  int indexed;
  int nconv, nbn, nfc, nidx;
} Scope;

typedef struct Frame {
  Bind *env;
  Tensor *in;
  Scope *scope;
  int depth;
  const Stmt *site;         /* the call that made this frame */
  const Block *block;
  struct Frame *parent;
} Frame;

typedef enum WRole { W_CONV, W_CONV_B, W_BN_SCALE, W_BN_BIAS, W_BN_MEAN, W_BN_VAR,
                     W_FC_W, W_FC_B } WRole;

typedef struct WSlot {
  Tensor *t;
  WRole role;
  int64_t fan_in;
  Loc loc;
} WSlot;

typedef struct Elab {
  Parser *P;
  Graph *g;
  jmp_buf jb;
  Network *net;
  char option;              /* shortcut option: 'A', 'B' or 'C' */
  const char *block_names;  /* template of stage block scopes */
  Loc block_names_loc;
  const char *weights;      /* the weights line, NULL if none */
  Loc weights_loc;
  int stage;                /* 1-based, 0 before the first */
  int64_t nblocks;          /* stage blocks so far (the {n} of templates) */
  int64_t weight_bytes;
  WSlot *slots;
  int nslots, cap_slots;
  Hash tnames;              /* every tensor name -> Tensor */
  Hash suffix;              /* base name -> last suffix used (tensor_name) */
  Hash wlocs;               /* weight layer name -> Loc* (duplicates) */
  Frame *frame;             /* innermost, for the notes of an error */
  Bind *globals;            /* top-level lets */
  int64_t max_weight_bytes;
} Elab;

#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 3, 4)))
#endif
static void el_error(Elab *E, Loc loc, const char *fmt, ...) {
  char body[1200];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  rn_error(E->P, loc, "%s", body);
  /* the chain of block calls that led here, innermost first */
  int k = 0;
  for (Frame *f = E->frame; f && f->site; f = f->parent) {
    if (++k > 4) {
      if (!ir_quiet) fprintf(stderr, "%s: note: ... and more calls\n", E->P->file);
      break;
    }
    rn_note(E->P, f->site->loc, "in block '%s' called here", f->block ? f->block->name : "?");
  }
  E->P->nerrors++;
  longjmp(E->jb, 1);
}

/* ---- numbers ------------------------------------------------------------ */

static double num_f(Num n) { return n.isf ? n.f : (double)n.i; }

static Num mk_int(int64_t v) { Num n = {0, v, 0}; return n; }
static Num mk_flt(double v) { Num n = {1, 0, v}; return n; }

static const Bind *bind_find(const Bind *b, const char *name) {
  for (; b; b = b->next)
    if (strcmp(b->name, name) == 0) return b;
  return NULL;
}

static Num eval(Elab *E, const Bind *env, const Expr *e) {
  switch (e->kind) {
  case EX_INT: return mk_int(e->i);
  case EX_FLOAT: return mk_flt(e->f);
  case EX_VAR: {
    const Bind *b = bind_find(env, e->name);
    if (!b) el_error(E, e->loc, "'%s' is not set here (it is set only on another branch of an 'if')", e->name);
    if (b->is_value) el_error(E, e->loc, "'%s' is a value, not a number", e->name);
    return b->n;
  }
  case EX_NEG: {
    Num a = eval(E, env, e->a);
    if (a.isf) return mk_flt(-a.f);
    if (a.i == INT64_MIN) el_error(E, e->loc, "integer overflow");
    return mk_int(-a.i);
  }
  case EX_NOT: {
    Num a = eval(E, env, e->a);
    return mk_int(num_f(a) == 0);
  }
  case EX_BIN: break;
  }
  if (e->op == BIN_AND || e->op == BIN_OR) {   /* short-circuit */
    int a = num_f(eval(E, env, e->a)) != 0;
    if (e->op == BIN_AND && !a) return mk_int(0);
    if (e->op == BIN_OR && a) return mk_int(1);
    return mk_int(num_f(eval(E, env, e->b)) != 0);
  }
  Num a = eval(E, env, e->a), b = eval(E, env, e->b);
  if (a.isf || b.isf) {
    double x = num_f(a), y = num_f(b), r;
    switch (e->op) {
    case '+': r = x + y; break;
    case '-': r = x - y; break;
    case '*': r = x * y; break;
    case '/':
      if (y == 0) el_error(E, e->loc, "division by zero");
      r = x / y;
      break;
    case '%':
      if (y == 0) el_error(E, e->loc, "division by zero");
      r = fmod(x, y);
      break;
    case '<': return mk_int(x < y);
    case '>': return mk_int(x > y);
    case BIN_LE: return mk_int(x <= y);
    case BIN_GE: return mk_int(x >= y);
    case BIN_EQ: return mk_int(x == y);
    case BIN_NE: return mk_int(x != y);
    default: ir_die("unknown operator");
    }
    if (!isfinite(r)) el_error(E, e->loc, "the result is not a finite number");
    return mk_flt(r);
  }
  int64_t x = a.i, y = b.i, r = 0;
  switch (e->op) {
  case '+':
    if (__builtin_add_overflow(x, y, &r)) el_error(E, e->loc, "integer overflow");
    return mk_int(r);
  case '-':
    if (__builtin_sub_overflow(x, y, &r)) el_error(E, e->loc, "integer overflow");
    return mk_int(r);
  case '*':
    if (__builtin_mul_overflow(x, y, &r)) el_error(E, e->loc, "integer overflow");
    return mk_int(r);
  case '/': case '%': {
    if (y == 0) el_error(E, e->loc, "division by zero");
    if (x == INT64_MIN && y == -1) el_error(E, e->loc, "integer overflow");
    /* floor division, as in Python: 7 / 2 == 3, -7 / 2 == -4 */
    int64_t q = x / y, m = x % y;
    if (m != 0 && ((m < 0) != (y < 0))) { q--; m += y; }
    return mk_int(e->op == '/' ? q : m);
  }
  case '<': return mk_int(x < y);
  case '>': return mk_int(x > y);
  case BIN_LE: return mk_int(x <= y);
  case BIN_GE: return mk_int(x >= y);
  case BIN_EQ: return mk_int(x == y);
  case BIN_NE: return mk_int(x != y);
  default: ir_die("unknown operator");
  }
}

/* ---- names ------------------------------------------------------------- */

/* A unique tensor name: base, base_1, base_2, ...  The next suffix of
 * each base is remembered, so n layers of one kind cost O(n). */
static const char *tensor_name(Elab *E, const char *base) {
  if (!hash_get(&E->tnames, base)) return ir_strdup(E->g, base);
  intptr_t i = (intptr_t)hash_get(&E->suffix, base);
  for (;;) {
    char *s = ir_fmt(E->g, "%s_%ld", base, (long)++i);
    if (!hash_get(&E->tnames, s)) {
      hash_put(E->g, &E->suffix, ir_strdup(E->g, base), (void *)i);
      return s;
    }
  }
}

/* A small int64 or float constant operand (Slice starts, Pad pads), named
 * through the hash: ir_const_i64's ir_unique_name scans the whole graph,
 * which is quadratic over a 1202-layer network. */
static Tensor *const_i64(Elab *E, const char *base, int n, const int64_t *v) {
  int64_t d = n;
  Tensor *t = ir_const(E->g, tensor_name(E, base), DT_INT64, 1, &d, v, 0);
  hash_put(E->g, &E->tnames, t->name, t);
  return t;
}

static Tensor *const_f32(Elab *E, const char *base, float v) {
  Tensor *t = ir_const(E->g, tensor_name(E, base), DT_FLOAT, 0, NULL, &v, 0);
  hash_put(E->g, &E->tnames, t->name, t);
  return t;
}

static Tensor *new_act(Elab *E, const char *base, int rank, const int64_t *dims, Loc loc) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    n = ir_mul_checked(n, dims[i]);
    if (n < 0 || n > RN_MAX_TENSOR) break;
  }
  if (n < 0 || n > RN_MAX_TENSOR)
    el_error(E, loc, "this layer's output would have more than %" PRId64 " elements", RN_MAX_TENSOR);
  const char *name = tensor_name(E, base);
  Tensor *t = ir_tensor(E->g, name, DT_FLOAT, rank, dims);
  hash_put(E->g, &E->tnames, t->name, t);
  return t;
}

/* The name of a layer with weights in the current scope ("layer1.0.conv2"). */
static const char *layer_name(Elab *E, Scope *s, const char *kind, const Stmt *call, Loc loc) {
  const char *local;
  if (call && call->at) local = call->at;
  else if (s->indexed) local = ir_fmt(E->g, "%d", s->nidx);
  else if (strcmp(kind, "conv") == 0) local = ir_fmt(E->g, "conv%d", ++s->nconv);
  else if (strcmp(kind, "bn") == 0) local = ir_fmt(E->g, "bn%d", ++s->nbn);
  else local = s->nfc++ ? ir_fmt(E->g, "fc%d", s->nfc) : "fc";
  if (s->indexed && !(call && call->at)) s->nidx++;
  const char *name = ir_fmt(E->g, "%s%s", s->prefix, local);
  Loc *first = hash_get(&E->wlocs, name);
  if (first) {
    rn_error(E->P, loc, "two layers are named '%s' (give one another name with @NAME)", name);
    rn_note(E->P, *first, "the first one is here");
    longjmp(E->jb, 1);
  }
  Loc *l = ir_alloc(E->g, sizeof *l);
  *l = loc;
  hash_put(E->g, &E->wlocs, name, l);
  return name;
}

/* Layers without weights still take an index in an indexed scope (the
 * pool of a ResNet-D shortcut is downsample.0, its conv downsample.1). */
static void skip_index(Scope *s) { if (s->indexed) s->nidx++; }

static Tensor *weight(Elab *E, const char *name, int rank, const int64_t *dims, WRole role,
                      int64_t fan_in, Loc loc) {
  int64_t n = 1;
  for (int i = 0; i < rank; i++) {
    n = ir_mul_checked(n, dims[i]);
    if (n < 0 || n > RN_MAX_TENSOR)
      el_error(E, loc, "the weights of this layer would have more than %" PRId64 " elements", RN_MAX_TENSOR);
  }
  E->weight_bytes += n * 4;
  if (E->weight_bytes > E->max_weight_bytes)
    el_error(E, loc, "the network has more than %" PRId64 " MiB of weights (the limit)",
             E->max_weight_bytes >> 20);
  if (hash_get(&E->tnames, name))
    el_error(E, loc, "the weight name '%s' is used twice", name);
  float *data = ir_alloc(E->g, (size_t)(n ? n : 1) * sizeof(float));
  Tensor *t = ir_const(E->g, name, DT_FLOAT, rank, dims, data, 1);
  hash_put(E->g, &E->tnames, t->name, t);
  if (E->nslots == E->cap_slots) {
    int nc = E->cap_slots ? 2 * E->cap_slots : 256;
    E->slots = ir_realloc(E->g, E->slots, sizeof *E->slots * (size_t)E->cap_slots,
                          sizeof *E->slots * (size_t)nc);
    E->cap_slots = nc;
  }
  WSlot *s = &E->slots[E->nslots++];
  s->t = t;
  s->role = role;
  s->fan_in = fan_in;
  s->loc = loc;
  return t;
}

static Node *node(Elab *E, Op op, Loc loc, int nin, Tensor *const *in, Tensor *out) {
  if (E->g->nnodes >= RN_MAX_LAYERS)
    el_error(E, loc, "the network has more than %d layers", RN_MAX_LAYERS);
  return ir_node(E->g, op, ir_fmt(E->g, "%s:%d:%d", E->P->file, loc.line, loc.col), nin, in, 1, &out);
}

static char *shape_text(Elab *E, const Tensor *t) {
  /* [C, H, W] without the batch, as the user writes shapes */
  char buf[200];
  size_t k = 0;
  k += (size_t)snprintf(buf + k, sizeof buf - k, "[");
  for (int i = 1; i < t->rank && k < sizeof buf; i++)
    k += (size_t)snprintf(buf + k, sizeof buf - k, "%s%" PRId64, i > 1 ? ", " : "", t->dims[i]);
  if (k < sizeof buf) snprintf(buf + k, sizeof buf - k, "]");
  return ir_strdup(E->g, buf);
}

/* ---- layers ------------------------------------------------------------ */

/* Argument values of a builtin call, by parameter index. */
typedef struct Vals { Num v[MAXP]; Loc loc[MAXP]; } Vals;

static int64_t int_arg(Elab *E, const Builtin *b, const Vals *v, int i, int64_t lo, int64_t hi) {
  Num n = v->v[i];
  int64_t x;
  if (n.isf) {
    if (n.f != floor(n.f) || !(fabs(n.f) < 9e18))
      el_error(E, v->loc[i], "'%s' of %s must be a whole number, not %g", b->p[i].name, b->name, n.f);
    x = (int64_t)n.f;
  } else {
    x = n.i;
  }
  if (x < lo || x > hi)
    el_error(E, v->loc[i], "'%s' of %s is %" PRId64 "; it must be %s%" PRId64 "%s%" PRId64,
             b->p[i].name, b->name, x, hi == INT64_MAX ? "at least " : "between ", lo,
             hi == INT64_MAX ? "" : " and ", hi == INT64_MAX ? (int64_t)0 : hi);
  return x;
}

static void need_rank(Elab *E, const Tensor *x, const char *what, Loc loc) {
  if (x->rank != 4)
    el_error(E, loc, "%s needs an image [C, H, W]; its input is %s (after a flatten or fc?)", what,
             shape_text(E, x));
}

/* Output size of a window: floor or ceil of (n + pads - d(k-1) - 1)/s + 1. */
static int64_t window_out(Elab *E, int64_t n, int64_t k, int64_t s, int64_t pb, int64_t pe,
                          int64_t d, int ceil_mode, const char *what, Loc loc) {
  int64_t span = d * (k - 1) + 1;
  int64_t avail = n + pb + pe;
  if (avail < span)
    el_error(E, loc, "%s: the window (%" PRId64 " wide) is larger than the padded input (%" PRId64 ")",
             what, span, avail);
  int64_t o = ceil_mode ? (avail - span + s - 1) / s + 1 : (avail - span) / s + 1;
  /* ONNX and PyTorch: with ceil_mode, the last window must start inside
   * the input or the left padding */
  if (ceil_mode && (o - 1) * s >= n + pb) o--;
  return o;
}

static Tensor *L_conv(Elab *E, Frame *F, const Stmt *call, Tensor *x, int64_t out, int64_t k,
                      int64_t stride, int64_t pad, int64_t groups, int64_t dil, int bias,
                      const char *what) {
  Loc loc = call->loc;
  need_rank(E, x, what, loc);
  int64_t cin = x->dims[1];
  if (cin % groups)
    el_error(E, loc, "%s: %" PRId64 " input channels do not split into %" PRId64 " groups", what, cin, groups);
  if (out % groups)
    el_error(E, loc, "%s: %" PRId64 " output channels do not split into %" PRId64 " groups", what, out, groups);
  if (pad < 0) pad = (k - 1) / 2 * dil;
  int64_t ho = window_out(E, x->dims[2], k, stride, pad, pad, dil, 0, what, loc);
  int64_t wo = window_out(E, x->dims[3], k, stride, pad, pad, dil, 0, what, loc);
  const char *name = layer_name(E, F->scope, "conv", call, loc);
  int64_t wd[4] = {out, cin / groups, k, k};
  int64_t fan_in = cin / groups * k * k;
  Tensor *in[3];
  in[0] = x;
  in[1] = weight(E, ir_fmt(E->g, "%s.weight", name), 4, wd, W_CONV, fan_in, loc);
  in[2] = bias ? weight(E, ir_fmt(E->g, "%s.bias", name), 1, &out, W_CONV_B, fan_in, loc) : NULL;
  int64_t od[4] = {x->dims[0], out, ho, wo};
  Tensor *y = new_act(E, name, 4, od, loc);
  Node *n = node(E, OP_CONV, loc, bias ? 3 : 2, in, y);
  n->a.nsp = 2;
  for (int i = 0; i < 2; i++) {
    n->a.kernel[i] = k;
    n->a.stride[i] = stride;
    n->a.dilation[i] = dil;
    n->a.pad_begin[i] = n->a.pad_end[i] = pad;
  }
  n->a.group = groups;
  return y;
}

static Tensor *L_bn(Elab *E, Frame *F, const Stmt *call, Tensor *x, double eps, Loc loc) {
  if (x->rank < 2) el_error(E, loc, "bn needs channels; its input is %s", shape_text(E, x));
  if (!(eps > 0 && eps < 1)) el_error(E, loc, "bn: eps must be between 0 and 1, not %g", eps);
  const char *name = layer_name(E, F->scope, "bn", call, loc);
  int64_t c = x->dims[1];
  Tensor *in[5];
  in[0] = x;
  in[1] = weight(E, ir_fmt(E->g, "%s.weight", name), 1, &c, W_BN_SCALE, c, loc);
  in[2] = weight(E, ir_fmt(E->g, "%s.bias", name), 1, &c, W_BN_BIAS, c, loc);
  in[3] = weight(E, ir_fmt(E->g, "%s.running_mean", name), 1, &c, W_BN_MEAN, c, loc);
  in[4] = weight(E, ir_fmt(E->g, "%s.running_var", name), 1, &c, W_BN_VAR, c, loc);
  Tensor *y = new_act(E, name, x->rank, x->dims, loc);
  Node *n = node(E, OP_BATCHNORM, loc, 5, in, y);
  n->a.epsilon = eps;
  return y;
}

static const char *act_name(Elab *E, Frame *F, const char *kind) {
  return ir_fmt(E->g, "%s%s", F->scope->prefix, kind);
}

static Tensor *L_unary(Elab *E, Frame *F, Op op, const char *kind, Tensor *x, Loc loc) {
  Tensor *y = new_act(E, act_name(E, F, kind), x->rank, x->dims, loc);
  node(E, op, loc, 1, &x, y);
  return y;
}

static Tensor *L_pool(Elab *E, Frame *F, Op op, const char *what, Tensor *x, int64_t k, int64_t s,
                      int64_t pad, int ceil_mode, int count_pad, Loc loc) {
  need_rank(E, x, what, loc);
  if (s == 0) el_error(E, loc, "%s: the stride is 0; it must be at least 1 (leave it out for the window's size)", what);
  if (s < 0) s = k;
  if (pad < 0) pad = (k - 1) / 2;
  if (pad > k / 2)
    el_error(E, loc, "%s: padding %" PRId64 " is more than half the window (%" PRId64 ")", what, pad, k);
  skip_index(F->scope);
  if (op == OP_AVERAGEPOOL && k == 1 && s == 1 && pad == 0) return x;   /* the identity */
  int64_t ho = window_out(E, x->dims[2], k, s, pad, pad, 1, ceil_mode, what, loc);
  int64_t wo = window_out(E, x->dims[3], k, s, pad, pad, 1, ceil_mode, what, loc);
  int64_t od[4] = {x->dims[0], x->dims[1], ho, wo};
  Tensor *y = new_act(E, act_name(E, F, what), 4, od, loc);
  Node *n = node(E, op, loc, 1, &x, y);
  n->a.nsp = 2;
  for (int i = 0; i < 2; i++) {
    n->a.kernel[i] = k;
    n->a.stride[i] = s;
    n->a.pad_begin[i] = n->a.pad_end[i] = pad;
  }
  n->a.ceil_mode = ceil_mode;
  n->a.count_include_pad = count_pad;
  return y;
}

static Tensor *L_global(Elab *E, Frame *F, Op op, const char *what, Tensor *x, Loc loc) {
  need_rank(E, x, what, loc);
  int64_t od[4] = {x->dims[0], x->dims[1], 1, 1};
  Tensor *y = new_act(E, act_name(E, F, what), 4, od, loc);
  node(E, op, loc, 1, &x, y);
  return y;
}

static Tensor *L_flatten(Elab *E, Frame *F, Tensor *x, Loc loc) {
  if (x->rank == 2) return x;
  int64_t f = 1;
  for (int i = 1; i < x->rank; i++) f *= x->dims[i];
  int64_t od[2] = {x->dims[0], f};
  Tensor *y = new_act(E, act_name(E, F, "flatten"), 2, od, loc);
  Node *n = node(E, OP_FLATTEN, loc, 1, &x, y);
  n->a.axis = 1;
  return y;
}

static Tensor *L_fc(Elab *E, Frame *F, const Stmt *call, Tensor *x, int64_t out, int bias) {
  Loc loc = call->loc;
  x = L_flatten(E, F, x, loc);
  int64_t in_f = x->dims[1];
  const char *name = layer_name(E, F->scope, "fc", call, loc);
  int64_t wd[2] = {out, in_f};
  Tensor *in[3];
  in[0] = x;
  in[1] = weight(E, ir_fmt(E->g, "%s.weight", name), 2, wd, W_FC_W, in_f, loc);
  in[2] = bias ? weight(E, ir_fmt(E->g, "%s.bias", name), 1, &out, W_FC_B, in_f, loc) : NULL;
  int64_t od[2] = {x->dims[0], out};
  Tensor *y = new_act(E, name, 2, od, loc);
  Node *n = node(E, OP_GEMM, loc, bias ? 3 : 2, in, y);
  n->a.trans_b = 1;
  return y;
}

/* x[:, :, ::s, ::s] as an ONNX Slice */
static Tensor *L_subsample(Elab *E, Frame *F, Tensor *x, int64_t s, Loc loc) {
  need_rank(E, x, "subsample", loc);
  skip_index(F->scope);
  if (s == 1) return x;
  int64_t starts[2] = {0, 0}, ends[2] = {INT64_MAX, INT64_MAX}, axes[2] = {2, 3}, steps[2] = {s, s};
  Tensor *in[5] = {x, const_i64(E, "starts", 2, starts), const_i64(E, "ends", 2, ends),
                   const_i64(E, "axes", 2, axes), const_i64(E, "steps", 2, steps)};
  int64_t od[4] = {x->dims[0], x->dims[1], (x->dims[2] + s - 1) / s, (x->dims[3] + s - 1) / s};
  Tensor *y = new_act(E, act_name(E, F, "subsample"), 4, od, loc);
  node(E, OP_SLICE, loc, 5, in, y);
  return y;
}

/* zero channels added to reach `out`, split evenly before and after (the
 * option-A shortcut of the CIFAR ResNets: F.pad(x, (0,0,0,0,p/2,p-p/2))) */
static Tensor *L_zeropad(Elab *E, Frame *F, Tensor *x, int64_t out, Loc loc) {
  if (x->rank < 2) el_error(E, loc, "zeropad needs channels; its input is %s", shape_text(E, x));
  int64_t c = x->dims[1];
  skip_index(F->scope);
  if (out < c)
    el_error(E, loc, "zero-padding cannot reduce %" PRId64 " channels to %" PRId64, c, out);
  if (out == c) return x;
  int64_t p = out - c;
  int64_t pads[2 * IR_MAX_RANK] = {0};
  pads[1] = p / 2;
  pads[x->rank + 1] = p - p / 2;
  Tensor *in[3] = {x, const_i64(E, "pads", 2 * x->rank, pads), const_f32(E, "zero", 0.0f)};
  int64_t od[IR_MAX_RANK];
  memcpy(od, x->dims, sizeof od);
  od[1] = out;
  Tensor *y = new_act(E, act_name(E, F, "zeropad"), x->rank, od, loc);
  node(E, OP_PAD, loc, 3, in, y);
  return y;
}

/* Binds the arguments of a builtin call to values. */
static void builtin_args(Elab *E, const Bind *env, const Builtin *b, const Stmt *call, Vals *v) {
  int given[MAXP] = {0};
  for (int i = 0; i < b->np; i++) {
    v->v[i] = b->p[i].is_float ? mk_flt(b->p[i].def) : mk_int((int64_t)b->p[i].def);
    v->loc[i] = call->loc;
  }
  int pos = 0;
  for (const Arg *a = call->args; a; a = a->next) {
    int idx = -1;
    if (!a->key) idx = pos++;
    else
      for (int i = 0; i < b->np; i++)
        if (strcmp(b->p[i].name, a->key) == 0 || (b->p[i].alias && strcmp(b->p[i].alias, a->key) == 0))
          idx = i;
    IR_ASSERT(idx >= 0 && idx < b->np);   /* the checker saw to it */
    v->v[idx] = eval(E, env, a->e);
    v->loc[idx] = a->e->loc;
    given[idx] = 1;
  }
  for (int i = 0; i < b->np; i++) IR_ASSERT(given[i] || !b->p[i].required);
}

static Tensor *call_builtin(Elab *E, Frame *F, const Builtin *b, const Stmt *call, Tensor *x) {
  Vals v;
  builtin_args(E, F->env, b, call, &v);
  Loc loc = call->loc;
  const int64_t BIG = RN_MAX_DIM, K = 4096;
  switch (b->kind) {
  case L_CONV:
    return L_conv(E, F, call, x, int_arg(E, b, &v, 0, 1, BIG), int_arg(E, b, &v, 1, 1, K),
                  int_arg(E, b, &v, 2, 1, K), int_arg(E, b, &v, 3, -1, K), int_arg(E, b, &v, 4, 1, BIG),
                  int_arg(E, b, &v, 5, 1, K), (int)int_arg(E, b, &v, 6, 0, 1), "conv");
  case L_CONV1:
    return L_conv(E, F, call, x, int_arg(E, b, &v, 0, 1, BIG), 1, int_arg(E, b, &v, 1, 1, K), 0,
                  int_arg(E, b, &v, 2, 1, BIG), 1, (int)int_arg(E, b, &v, 3, 0, 1), "conv1x1");
  case L_CONV3:
    return L_conv(E, F, call, x, int_arg(E, b, &v, 0, 1, BIG), 3, int_arg(E, b, &v, 1, 1, K), -1,
                  int_arg(E, b, &v, 2, 1, BIG), int_arg(E, b, &v, 3, 1, K),
                  (int)int_arg(E, b, &v, 4, 0, 1), "conv3x3");
  case L_BN: return L_bn(E, F, call, x, num_f(v.v[0]), loc);
  case L_RELU: skip_index(F->scope); return L_unary(E, F, OP_RELU, "relu", x, loc);
  case L_SOFTMAX: {
    skip_index(F->scope);
    Tensor *y = L_unary(E, F, OP_SOFTMAX, "softmax", x, loc);
    y->producer->a.axis = 1;
    return y;
  }
  case L_IDENTITY: skip_index(F->scope); return x;
  case L_MAXPOOL:
    return L_pool(E, F, OP_MAXPOOL, "maxpool", x, int_arg(E, b, &v, 0, 1, K), int_arg(E, b, &v, 1, -1, K),
                  int_arg(E, b, &v, 2, -1, K), (int)int_arg(E, b, &v, 3, 0, 1), 0, loc);
  case L_AVGPOOL:
    return L_pool(E, F, OP_AVERAGEPOOL, "avgpool", x, int_arg(E, b, &v, 0, 1, K),
                  int_arg(E, b, &v, 1, -1, K), int_arg(E, b, &v, 2, -1, K),
                  (int)int_arg(E, b, &v, 3, 0, 1), (int)int_arg(E, b, &v, 4, 0, 1), loc);
  case L_GAP: skip_index(F->scope); return L_global(E, F, OP_GLOBALAVERAGEPOOL, "global_avgpool", x, loc);
  case L_GMP: skip_index(F->scope); return L_global(E, F, OP_GLOBALMAXPOOL, "global_maxpool", x, loc);
  case L_FLATTEN: skip_index(F->scope); return L_flatten(E, F, x, loc);
  case L_FC: return L_fc(E, F, call, x, int_arg(E, b, &v, 0, 1, BIG), (int)int_arg(E, b, &v, 1, 0, 1));
  case L_SUBSAMPLE: return L_subsample(E, F, x, int_arg(E, b, &v, 0, 1, K), loc);
  case L_ZEROPAD: return L_zeropad(E, F, x, int_arg(E, b, &v, 0, 1, BIG), loc);
  }
  ir_die("unknown builtin");
}

/* ---- blocks, sequences, shortcuts -------------------------------------- */

static Tensor *exec_seq(Elab *E, Frame *F, const Stmt *s, Tensor *x);

/* Calls block bl on x.  scope: the scope of its layers (a fresh one for a
 * stage block or a block called with @name, else the caller's, so helper
 * blocks do not change weight names).  first_only_stride: a repetition
 * after the first of a stage item, whose 'stride' is 1. */
static Tensor *call_block(Elab *E, Frame *F, Block *bl, const Stmt *call, Tensor *x, Scope *scope,
                          int stride_one) {
  if (F->depth + 1 > RN_MAX_CALL_DEPTH)
    el_error(E, call->loc, "blocks call each other more than %d deep", RN_MAX_CALL_DEPTH);
  Frame nf = {NULL, x, scope, F->depth + 1, call, bl, F};
  Frame *saved = E->frame;      /* restored on return: nf dies with us */
  /* a block sees the top-level lets and its parameters (lexical scope) */
  Bind *env = E->globals;
  /* bind arguments: positional, then keywords, then defaults in order
   * (a default may use the parameters before it) */
  int np = 0;
  for (Param *p = bl->params; p; p = p->next) np++;
  const Expr *argv[64] = {0};
  int pos = 0;
  for (const Arg *a = call->args; a; a = a->next) {
    int idx = -1, i = 0;
    if (!a->key) idx = pos++;
    else
      for (Param *p = bl->params; p; p = p->next, i++)
        if (strcmp(p->name, a->key) == 0) idx = i;
    IR_ASSERT(idx >= 0 && idx < np);
    argv[idx] = a->e;
  }
  int i = 0;
  for (Param *p = bl->params; p; p = p->next, i++) {
    Bind *b = ir_alloc(E->g, sizeof *b);
    b->name = p->name;
    if (stride_one && strcmp(p->name, "stride") == 0) b->n = mk_int(1);
    else if (argv[i]) b->n = eval(E, F->env, argv[i]);
    else {
      E->frame = &nf;
      b->n = eval(E, env, p->def);
    }
    b->next = env;
    env = b;
  }
  nf.env = env;
  E->frame = &nf;
  Tensor *y = exec_seq(E, &nf, bl->body, x);
  E->frame = saved;
  return y;
}

static Tensor *value_of(Elab *E, Frame *F, const char *name, Loc loc) {
  const Bind *b = bind_find(F->env, name);
  if (!b) el_error(E, loc, "'%s' is not set here (it is set only on another branch of an 'if')", name);
  IR_ASSERT(b->is_value);
  return b->t;
}

/* The stride that maps a spatial size n onto m (ceil(n/s) == m), 0 if none. */
static int64_t stride_for(int64_t n, int64_t m) {
  if (m <= 0 || m > n) return 0;
  if (m == n) return 1;
  for (int64_t s = n / m; s <= n / m + 1 && s <= n; s++)
    if (s > 0 && (n + s - 1) / s == m) return s;
  return 0;
}

static Tensor *do_add(Elab *E, Frame *F, const Stmt *st, Tensor *x) {
  Tensor *sc;
  const char *from = "the block's input";
  if (st->src == SRC_SHORTCUT) {
    Tensor *src = st->src_name ? value_of(E, F, st->src_name, st->src_loc) : F->in;
    if (st->src_name) from = ir_fmt(E->g, "'%s'", st->src_name);
    if (src->rank != x->rank || src->rank != 4) {
      if (!ir_same_shape(src, x))
        el_error(E, st->loc, "the shortcut from %s is %s but the branch is %s", from, shape_text(E, src),
                 shape_text(E, x));
    }
    int differs = !ir_same_shape(src, x);
    char opt = E->option;
    if (!differs && opt != 'C') {
      sc = src;
    } else {
      int64_t s = stride_for(src->dims[2], x->dims[2]);
      int64_t s2 = stride_for(src->dims[3], x->dims[3]);
      if (!s || s != s2)
        el_error(E, st->loc, "the shortcut cannot map %s onto %s: the size does not shrink by a whole stride",
                 shape_text(E, src), shape_text(E, x));
      Scope ds = {ir_fmt(E->g, "%sdownsample.", F->scope->prefix), 1, 0, 0, 0, 0};
      if (opt == 'A') {
        if (x->dims[1] < src->dims[1])
          el_error(E, st->loc, "shortcut option A pads channels with zeros; it cannot go from %" PRId64
                   " to %" PRId64 " channels", src->dims[1], x->dims[1]);
        Frame nf = *F;
        nf.scope = &ds;
        sc = L_subsample(E, &nf, src, s, st->loc);
        sc = L_zeropad(E, &nf, sc, x->dims[1], st->loc);
      } else if (st->has_via) {
        Frame nf = *F;
        nf.scope = &ds;
        nf.in = src;
        sc = exec_seq(E, &nf, st->via, src);
        if (!ir_same_shape(sc, x))
          el_error(E, st->loc, "the shortcut projection gives %s but the branch is %s", shape_text(E, sc),
                   shape_text(E, x));
      } else {
        /* the projection of option B/C: 1x1 conv with the stride, then BN */
        Frame nf = *F;
        nf.scope = &ds;
        Stmt fake = *st;
        fake.at = NULL;
        sc = L_conv(E, &nf, &fake, src, x->dims[1], 1, s, 0, 1, 1, 0, "the shortcut projection");
        sc = L_bn(E, &nf, &fake, sc, 1e-5, st->loc);
      }
    }
  } else {
    Tensor *src = st->src == SRC_IN ? F->in : value_of(E, F, st->src_name, st->src_loc);
    if (st->src == SRC_NAME) from = ir_fmt(E->g, "'%s'", st->src_name);
    sc = exec_seq(E, F, st->branch, src);
  }
  if (!ir_same_shape(sc, x)) {
    if (sc->rank == 4 && x->rank == 4 && sc->dims[1] != x->dims[1])
      el_error(E, st->loc, "add: the branch has %" PRId64 " channels %s but the residual from %s has %" PRId64
               " channels %s", x->dims[1], shape_text(E, x), from, sc->dims[1], shape_text(E, sc));
    el_error(E, st->loc, "add: the branch is %s but the residual from %s is %s", shape_text(E, x), from,
             shape_text(E, sc));
  }
  Tensor *y = new_act(E, act_name(E, F, "add"), x->rank, x->dims, st->loc);
  Tensor *in[2] = {x, sc};
  node(E, OP_ADD, st->loc, 2, in, y);
  skip_index(F->scope);
  return y;
}

static Tensor *exec_seq(Elab *E, Frame *F, const Stmt *s, Tensor *x) {
  for (; s; s = s->next) {
    switch (s->kind) {
    case ST_CALL: {
      const Builtin *b = find_builtin(s->name);
      if (b) { x = call_builtin(E, F, b, s, x); break; }
      Block *bl = find_block(E->P, s->name);
      IR_ASSERT(bl);
      Scope *sc = F->scope;
      if (s->at) {
        sc = ir_alloc(E->g, sizeof *sc);
        sc->prefix = ir_fmt(E->g, "%s%s.", F->scope->prefix, s->at);
      }
      x = call_block(E, F, bl, s, x, sc, 0);
      break;
    }
    case ST_ADD: x = do_add(E, F, s, x); break;
    case ST_AS: {
      Bind *b = ir_alloc(E->g, sizeof *b);
      b->name = s->name;
      b->is_value = 1;
      b->t = x;
      b->next = F->env;
      F->env = b;
      break;
    }
    case ST_LET: {
      Bind *b = ir_alloc(E->g, sizeof *b);
      b->name = s->name;
      b->n = eval(E, F->env, s->e);
      b->next = F->env;
      F->env = b;
      break;
    }
    case ST_IF:
      x = exec_seq(E, F, num_f(eval(E, F->env, s->e)) != 0 ? s->then : s->els, x);
      break;
    }
  }
  return x;
}

/* "layer{stage}.{i}" -> "layer2.0" */
static const char *expand_template(Elab *E, const char *tpl, Loc loc, int64_t i) {
  size_t cap = strlen(tpl) + 64;
  char *out = ir_alloc(E->g, cap * 4);
  size_t k = 0;
  for (const char *p = tpl; *p;) {
    if (*p == '{') {
      const char *q = strchr(p, '}');
      if (!q) el_error(E, loc, "unclosed '{' in the name template \"%s\"", tpl);
      size_t n = (size_t)(q - p - 1);
      int64_t v;
      if (n == 5 && strncmp(p + 1, "stage", 5) == 0) v = E->stage;
      else if (n == 1 && p[1] == 'i') v = i;
      else if (n == 1 && p[1] == 'n') v = E->nblocks;
      else
        el_error(E, loc, "unknown placeholder '%.*s' in the name template (use {stage}, {i} or {n})",
                 (int)(n > 40 ? 40 : n), p + 1);
      k += (size_t)snprintf(out + k, cap * 4 - k, "%" PRId64, v);
      p = q + 1;
    } else {
      if (k + 2 < cap * 4) out[k++] = *p;
      p++;
    }
  }
  out[k] = 0;
  return out;
}

static Tensor *exec_stage(Elab *E, Frame *F, const NetItem *it, Tensor *x) {
  E->stage++;
  int64_t i = 0;
  for (const StageItem *si = it->stage; si; si = si->next) {
    int64_t n = 1;
    if (si->repeat) {
      Num r = eval(E, F->env, si->repeat);
      if (r.isf) el_error(E, si->repeat_loc, "a repeat count must be a whole number");
      n = r.i;
      if (n < 1) el_error(E, si->repeat_loc, "a repeat count must be at least 1, not %" PRId64, n);
      if (n > RN_MAX_REPEAT)
        el_error(E, si->repeat_loc, "repeat count %" PRId64 " is more than the limit of %d", n, RN_MAX_REPEAT);
    }
    Block *bl = find_block(E->P, si->call->name);
    IR_ASSERT(bl);
    for (int64_t r = 0; r < n; r++, i++) {
      const char *tpl = si->call->at ? si->call->at : E->block_names ? E->block_names : "layer{stage}.{i}";
      Loc tl = si->call->at ? si->call->at_loc : E->block_names ? E->block_names_loc : si->loc;
      Scope *sc = ir_alloc(E->g, sizeof *sc);
      sc->prefix = ir_fmt(E->g, "%s.", expand_template(E, tpl, tl, i));
      Stmt call = *si->call;
      call.at = NULL;
      x = call_block(E, F, bl, &call, x, sc, r > 0);
      E->nblocks++;
    }
  }
  return x;
}

static void elaborate(Elab *E, const ResnetOptions *o) {
  Parser *P = E->P;
  Network *net = E->net;
  Graph *g = E->g;
  E->option = 'B';
  /* network-wide settings */
  const NetItem *seen[3] = {0};
  for (NetItem *it = net->items; it; it = it->next) {
    int k = it->kind == NI_SHORTCUT ? 0 : it->kind == NI_WEIGHTS ? 1 : it->kind == NI_BLOCK_NAMES ? 2 : -1;
    if (k < 0) continue;
    if (seen[k]) {
      rn_error(P, it->loc, "'%s' is given twice", k == 0 ? "shortcut" : k == 1 ? "weights" : "block_names");
      rn_note(P, seen[k]->loc, "the first one is here");
      longjmp(E->jb, 1);
    }
    seen[k] = it;
    if (k == 0) {
      if (strlen(it->str) != 1 || !strchr("ABC", it->str[0]))
        el_error(E, it->str_loc, "unknown shortcut option '%s': A (zero-padded identity), B (projection where the shape changes) or C (projection everywhere)",
                 it->str);
      E->option = it->str[0];
    } else if (k == 1) {
      E->weights = it->str;
      E->weights_loc = it->str_loc;
    } else {
      E->block_names = it->str;
      E->block_names_loc = it->str_loc;
    }
  }
  /* globals: top-level lets */
  Bind *env = NULL;
  Frame top = {NULL, NULL, NULL, 0, NULL, NULL, NULL};
  for (Stmt *s = P->lets; s; s = s->next) {
    Bind *b = ir_alloc(g, sizeof *b);
    b->name = s->name;
    b->n = eval(E, env, s->e);
    b->next = env;
    env = b;
  }
  E->globals = env;
  /* the input: [batch, dims...] */
  int64_t dims[IR_MAX_RANK];
  int rank = 1;
  dims[0] = o && o->batch > 0 ? o->batch : 1;
  for (Arg *a = net->input; a; a = a->next) {
    Num v = eval(E, env, a->e);
    if (rank == 4) el_error(E, a->loc, "the input has at most 3 dimensions: [C, H, W] (the batch is set when compiling)");
    if (v.isf || v.i < 1 || v.i > RN_MAX_DIM)
      el_error(E, a->loc, "an input dimension must be a whole number between 1 and %" PRId64, RN_MAX_DIM);
    dims[rank++] = v.i;
  }
  if (rank == 1) el_error(E, net->input_loc, "the input needs its dimensions: input[C, H, W]");
  g->batch = dims[0];
  Tensor *in = new_act(E, "input", rank, dims, net->input_loc);
  ir_add_input(g, in);
  hash_put(g, &E->tnames, "output", in);     /* reserved for the result */
  Scope root = {"", 0, 0, 0, 0, 0};
  top.env = ir_alloc(g, sizeof(Bind));
  top.env->name = "in";
  top.env->is_value = 1;
  top.env->t = in;
  top.env->next = env;
  top.in = in;
  top.scope = &root;
  E->frame = &top;
  Tensor *x = in;
  for (NetItem *it = net->items; it; it = it->next) {
    if (it->kind == NI_STEM) x = exec_seq(E, &top, it->seq, x);
    else if (it->kind == NI_STAGE) x = exec_stage(E, &top, it, x);
  }
  if (x == in) el_error(E, net->loc, "network '%s' has no layers", net->name);
  /* the result is called "output" */
  ir_rename_tensor(g, x, "output");
  ir_add_output(g, x);
  ir_relink(g);
}

/* ======================================================================
 * Weights
 * ====================================================================== */

/* One tensor offered by a weights file. */
typedef struct WSrc {
  const char *name;
  int rank;
  int64_t dims[IR_MAX_RANK];
  const char *dtype;
  const StTensor *st;       /* safetensors: read on demand */
  float *data;              /* ONNX: converted already */
  int used;
} WSrc;

static int ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

static void dims_text(char *buf, size_t n, int rank, const int64_t *d) {
  Tensor t;
  memset(&t, 0, sizeof t);
  t.rank = rank;
  memcpy(t.dims, d, sizeof t.dims);
  ir_shape_str(&t, buf, n);
}

/* Is input i of an ONNX node of type op an operand that configures the op
 * (Slice starts/ends/axes/steps, Pad pads and constant value, a shape, axes,
 * Clip bounds, Resize scales) rather than data?  An initializer read only
 * there is no weight: resnetc's own --emit-onnx writes option A's
 * Slice/Pad operands as initializers, and they must not count as extra. */
static int config_input(const char *op, size_t i) {
  static const struct { const char *op; size_t from; } t[] = {
    {"Slice", 1}, {"Pad", 1}, {"Reshape", 1}, {"Expand", 1}, {"Tile", 1}, {"Squeeze", 1},
    {"Unsqueeze", 1}, {"Clip", 1}, {"Resize", 1}, {"Upsample", 1}, {"ReduceMean", 1},
    {"ReduceSum", 1}, {"ReduceMax", 1}, {"ReduceMin", 1}, {"Split", 1}, {"TopK", 1},
    {"ConstantOfShape", 0}, {"Range", 0}, {"OneHot", 1}, {"Gather", 1},
  };
  for (size_t k = 0; k < sizeof t / sizeof t[0]; k++)
    if (strcmp(op, t[k].op) == 0) return i >= t[k].from;
  return 0;
}

/* Reads the initializers of an ONNX file as float32 sources; those read
 * only as configuring operands (config_input) are left out. */
static int onnx_sources(Graph *g, const char *path, WSrc **out, int *nout, char *err, size_t errlen) {
  FILE *f = fopen(path, "rb");
  if (!f) { snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno)); return -1; }
  if (fseeko(f, 0, SEEK_END) != 0) { fclose(f); snprintf(err, errlen, "%s: cannot read", path); return -1; }
  off_t size = ftello(f);
  rewind(f);
  if (size <= 0 || (uint64_t)size > ((uint64_t)4 << 30)) {
    fclose(f);
    snprintf(err, errlen, "%s: not an ONNX file of a readable size", path);
    return -1;
  }
  unsigned char *buf = malloc((size_t)size);
  if (!buf || fread(buf, 1, (size_t)size, f) != (size_t)size) {
    free(buf);
    fclose(f);
    snprintf(err, errlen, "%s: cannot read", path);
    return -1;
  }
  fclose(f);
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, (size_t)size, buf);
  free(buf);
  if (!m || !m->graph) {
    if (m) onnx__model_proto__free_unpacked(m, NULL);
    snprintf(err, errlen, "%s: not a valid ONNX model (protobuf decoding failed)", path);
    return -1;
  }
  int rc = 0;
  size_t n = m->graph->n_initializer;
  WSrc *ws = ir_alloc(g, sizeof *ws * (n + 1));
  /* per initializer name: 1 read as data somewhere, 2 only as configuration */
  Hash use = {0};
  for (size_t i = 0; i < m->graph->n_node; i++) {
    const Onnx__NodeProto *nd = m->graph->node[i];
    for (size_t j = 0; j < nd->n_input; j++) {
      const char *in = nd->input[j];
      if (!in || !*in) continue;
      int cfg = nd->op_type && config_input(nd->op_type, j);
      intptr_t was = (intptr_t)hash_get(&use, in);
      if (was != 1) hash_put(g, &use, ir_strdup(g, in), (void *)(intptr_t)(cfg ? 2 : 1));
    }
  }
  int k = 0;
  for (size_t i = 0; i < n && rc == 0; i++) {
    Onnx__TensorProto *t = m->graph->initializer[i];
    if (!t->name || t->n_dims > IR_MAX_RANK) continue;
    if ((intptr_t)hash_get(&use, t->name) == 2) continue;
    WSrc *w = &ws[k];
    w->name = ir_strdup(g, t->name);
    w->rank = (int)t->n_dims;
    int64_t numel = 1;
    for (size_t d = 0; d < t->n_dims; d++) {
      w->dims[d] = t->dims[d];
      numel = t->dims[d] < 0 ? -1 : ir_mul_checked(numel, t->dims[d]);
      if (numel < 0 || numel > RN_MAX_TENSOR) break;
    }
    if (numel < 0 || numel > RN_MAX_TENSOR) {
      snprintf(err, errlen, "%s: initializer '%s' has an invalid shape", path, t->name);
      rc = -1;
      break;
    }
    int dt = t->data_type;
    if (dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT && dt != ONNX__TENSOR_PROTO__DATA_TYPE__DOUBLE &&
        dt != ONNX__TENSOR_PROTO__DATA_TYPE__FLOAT16 && dt != ONNX__TENSOR_PROTO__DATA_TYPE__BFLOAT16) {
      w->dtype = "int";          /* offered, but not as weights */
      k++;
      continue;
    }
    w->dtype = dt == 1 ? "F32" : dt == 11 ? "F64" : dt == 10 ? "F16" : "BF16";
    float *d = ir_alloc(g, sizeof(float) * (size_t)(numel ? numel : 1));
    size_t esz = dt == 1 ? 4 : dt == 11 ? 8 : 2;
    if (t->has_raw_data) {
      if (t->raw_data.len != (size_t)numel * esz) {
        snprintf(err, errlen, "%s: initializer '%s' holds %zu bytes of data, its shape needs %zu", path,
                 t->name, t->raw_data.len, (size_t)numel * esz);
        rc = -1;
        break;
      }
      const unsigned char *p = t->raw_data.data;
      for (int64_t e = 0; e < numel; e++, p += esz) {
        if (esz == 4) {
          uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
          memcpy(&d[e], &u, 4);
        } else if (esz == 8) {
          uint64_t u = 0;
          for (int b = 7; b >= 0; b--) u = u << 8 | p[b];
          double v;
          memcpy(&v, &u, 8);
          d[e] = (float)v;
        } else {
          uint16_t h = (uint16_t)(p[0] | p[1] << 8);
          d[e] = dt == 10 ? st_half_to_float(h) : st_bf16_to_float(h);
        }
      }
    } else {
      size_t have = dt == 1 ? t->n_float_data : dt == 11 ? t->n_double_data : t->n_int32_data;
      if (have != (size_t)numel) {
        snprintf(err, errlen, "%s: initializer '%s' holds %zu values, its shape needs %" PRId64, path, t->name,
                 have, numel);
        rc = -1;
        break;
      }
      for (int64_t e = 0; e < numel; e++)
        d[e] = dt == 1 ? t->float_data[e] : dt == 11 ? (float)t->double_data[e]
             : dt == 10 ? st_half_to_float((uint16_t)t->int32_data[e])
                        : st_bf16_to_float((uint16_t)t->int32_data[e]);
    }
    w->data = d;
    k++;
  }
  onnx__model_proto__free_unpacked(m, NULL);
  *out = ws;
  *nout = k;
  return rc;
}

/* A reproducible generator: splitmix64, and Box-Muller for normals. */
static uint64_t rng_next(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double rng_unit(uint64_t *s) { return ((double)(rng_next(s) >> 11) + 0.5) / 9007199254740992.0; }

static double rng_normal(uint64_t *s) {
  double u = rng_unit(s), v = rng_unit(s);
  return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* He initialisation (He et al. 2015, "Delving deep into rectifiers"): conv
 * weights N(0, 2/fan_in); BatchNorm the identity (scale 1, shift 0, mean 0,
 * variance 1); fc weights and biases U(-1/sqrt(fan_in), 1/sqrt(fan_in)) as
 * PyTorch's nn.Linear; conv biases 0. */
static void random_weights(Elab *E, unsigned long long seed) {
  uint64_t s = seed;
  for (int i = 0; i < E->nslots; i++) {
    WSlot *w = &E->slots[i];
    float *d = w->t->data;
    int64_t n = ir_numel(w->t);
    double std = sqrt(2.0 / (double)(w->fan_in > 0 ? w->fan_in : 1));
    double bound = 1.0 / sqrt((double)(w->fan_in > 0 ? w->fan_in : 1));
    for (int64_t k = 0; k < n; k++) {
      switch (w->role) {
      case W_CONV: d[k] = (float)(std * rng_normal(&s)); break;
      case W_BN_SCALE: case W_BN_VAR: d[k] = 1.0f; break;
      case W_FC_W: case W_FC_B: d[k] = (float)(bound * (2 * rng_unit(&s) - 1)); break;
      default: d[k] = 0.0f; break;
      }
    }
  }
}

typedef struct LoadCtx {      /* what must be released on any exit */
  StFile st;
  void *scanner;
} LoadCtx;

/* Binds every weight slot from path (safetensors or ONNX).  Reports all
 * missing, extra and mis-shaped tensors at once. */
static int bind_file(Elab *E, LoadCtx *ctx, const char *path, Loc at) {
  Parser *P = E->P;
  Graph *g = E->g;
  char err[1024];
  WSrc *src = NULL;
  int nsrc = 0;
  /* the format: safetensors starts with a length then '{'; ONNX is protobuf */
  int is_st = ends_with(path, ".safetensors");
  if (!is_st && !ends_with(path, ".onnx")) {
    FILE *f = fopen(path, "rb");
    unsigned char h[9];
    if (f && fread(h, 1, 9, f) == 9 && h[8] == '{') is_st = 1;
    if (f) fclose(f);
  }
  if (is_st) {
    if (st_open(g, path, &ctx->st, err, sizeof err)) {
      rn_error(P, at, "cannot read the weights: %s", err);
      return -1;
    }
    src = ir_alloc(g, sizeof *src * (size_t)(ctx->st.n + 1));
    for (int i = 0; i < ctx->st.n; i++) {
      const StTensor *t = &ctx->st.t[i];
      src[i].name = t->name;
      src[i].rank = t->rank;
      memcpy(src[i].dims, t->dims, sizeof src[i].dims);
      src[i].dtype = t->dtype_name;
      src[i].st = t;
    }
    nsrc = ctx->st.n;
  } else if (onnx_sources(g, path, &src, &nsrc, err, sizeof err)) {
    rn_error(P, at, "cannot read the weights: %s", err);
    return -1;
  }
  Hash h = {0};
  for (int i = 0; i < nsrc; i++) hash_put(g, &h, src[i].name, &src[i]);
  /* match */
  int nmiss = 0, nshape = 0, nextra = 0, ntype = 0;
  for (int i = 0; i < E->nslots; i++) {
    WSrc *w = hash_get(&h, E->slots[i].t->name);
    Tensor *t = E->slots[i].t;
    if (!w) { nmiss++; continue; }
    w->used = 1;
    int same = w->rank == t->rank;
    for (int d = 0; same && d < t->rank; d++) same = w->dims[d] == t->dims[d];
    if (!same) nshape++;
    else if (strcmp(w->dtype, "F32") && strcmp(w->dtype, "F16") && strcmp(w->dtype, "BF16") &&
             strcmp(w->dtype, "F64"))
      ntype++;
  }
  for (int i = 0; i < nsrc; i++)
    if (!src[i].used && !ends_with(src[i].name, "num_batches_tracked")) nextra++;
  if (nmiss || nshape || nextra || ntype) {
    rn_error(P, at, "the weights in '%s' do not fit network '%s': %d missing, %d extra, %d of another shape%s",
             path, E->net->name, nmiss, nextra, nshape, ntype ? ", some not floating point" : "");
    if (!ir_quiet) {
      /* up to 12 of each kind, then how many more */
      const int MAXK = 12;
      int shown[4] = {0};
      char a[160], b[160];
      for (int i = 0; i < E->nslots; i++) {
        Tensor *t = E->slots[i].t;
        WSrc *w = hash_get(&h, t->name);
        dims_text(a, sizeof a, t->rank, t->dims);
        if (!w) {
          if (shown[0]++ < MAXK) fprintf(stderr, "  missing: %s %s (in the network, not in the file)\n", t->name, a);
          continue;
        }
        dims_text(b, sizeof b, w->rank, w->dims);
        if (strcmp(a, b) != 0) {
          if (shown[1]++ < MAXK)
            fprintf(stderr, "  shape:   %s is %s in the network but %s in the file\n", t->name, a, b);
        } else if (strcmp(w->dtype, "F32") && strcmp(w->dtype, "F16") && strcmp(w->dtype, "BF16") &&
                   strcmp(w->dtype, "F64")) {
          if (shown[2]++ < MAXK)
            fprintf(stderr, "  dtype:   %s is %s in the file; weights must be F32, F16, BF16 or F64\n", t->name,
                    w->dtype);
        }
      }
      for (int i = 0; i < nsrc; i++)
        if (!src[i].used && !ends_with(src[i].name, "num_batches_tracked")) {
          dims_text(b, sizeof b, src[i].rank, src[i].dims);
          if (shown[3]++ < MAXK) fprintf(stderr, "  extra:   %s %s (in the file, not in the network)\n", src[i].name, b);
        }
      static const char *const kind[4] = {"missing", "of another shape", "of another dtype", "extra"};
      for (int k = 0; k < 4; k++)
        if (shown[k] > MAXK) fprintf(stderr, "  ... and %d more %s\n", shown[k] - MAXK, kind[k]);
    }
    return -1;
  }
  for (int i = 0; i < E->nslots; i++) {
    Tensor *t = E->slots[i].t;
    WSrc *w = hash_get(&h, t->name);
    if (w->st) {
      if (st_read_f32(&ctx->st, w->st, t->data, err, sizeof err)) {
        rn_error(P, at, "cannot read the weights: %s", err);
        return -1;
      }
    } else {
      memcpy(t->data, w->data, sizeof(float) * (size_t)ir_numel(t));
    }
  }
  st_close(&ctx->st);
  /* NaN or Inf in weights is legal but makes the outputs so: warned, as
   * the ONNX front end does */
  int nbad = 0;
  const char *first = NULL;
  for (int i = 0; i < E->nslots; i++) {
    const Tensor *t = E->slots[i].t;
    const float *d = t->data;
    for (int64_t k = 0, n = ir_numel(t); k < n; k++)
      if (!isfinite(d[k])) {
        if (nbad++ == 0) first = t->name;
        break;
      }
  }
  if (nbad && !ir_quiet) {
    if (nbad > 1)
      fprintf(stderr, "%s: warning: weight '%s' (and %d more) in '%s' contains NaN or Inf values\n",
              P->file, first, nbad - 1, path);
    else
      fprintf(stderr, "%s: warning: weight '%s' in '%s' contains NaN or Inf values\n", P->file,
              first, path);
  }
  return 0;
}

/* A path relative to the directory of the .resnet file. */
static const char *relative_to(Graph *g, const char *file, const char *path) {
  if (path[0] == '/') return path;
  const char *slash = strrchr(file, '/');
  if (!slash) return path;
  return ir_fmt(g, "%.*s/%s", (int)(slash - file), file, path);
}

/* ======================================================================
 * Entry points
 * ====================================================================== */

/* Checks that the whole source is UTF-8; reports the first bad byte. */
static int check_utf8(Parser *P) {
  const unsigned char *s = (const unsigned char *)P->src;
  int line = 1, col = 1;
  for (size_t i = 0; i < P->len;) {
    unsigned c = s[i];
    int len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
            : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    int ok = len > 0 && i + (size_t)len <= P->len;
    for (int k = 1; ok && k < len; k++) ok = (s[i + k] & 0xC0) == 0x80;
    if (ok && len == 3) {
      unsigned v = (c & 0x0F) << 12 | (s[i + 1] & 0x3F) << 6 | (s[i + 2] & 0x3F);
      ok = v >= 0x800 && (v < 0xD800 || v > 0xDFFF);
    }
    if (ok && len == 4) {
      unsigned v = (c & 0x07) << 18 | (s[i + 1] & 0x3F) << 12 | (s[i + 2] & 0x3F) << 6 | (s[i + 3] & 0x3F);
      ok = v >= 0x10000 && v <= 0x10FFFF;
    }
    if (!ok) {
      rn_error(P, (Loc){line, col, 1}, "invalid UTF-8 byte 0x%02X: a .resnet file is UTF-8 text", c);
      return -1;
    }
    if (c == '\n') { line++; col = 1; }
    else col++;
    i += (size_t)len;
  }
  return 0;
}

/* The steps after the parser's setup; el_error() lands here.  Returns 1
 * when the graph is complete with its weights. */
static int load_steps(Elab *E, LoadCtx *ctx, const ResnetOptions *o) {
  Parser *P = E->P;
  if (setjmp(E->jb) != 0) return 0;
  if (check_utf8(P) == 0) {
    if (rnlex_init_extra(P, &ctx->scanner) != 0) ir_fail("cannot start the scanner");
    rn_scan_bytes(P->src, (int)P->len, ctx->scanner);
    rnparse(P, ctx->scanner);
    rnlex_destroy(ctx->scanner);
    ctx->scanner = NULL;
  }
  /* names are checked only in a file that parsed: after a syntax or
   * lexical error they would mostly report its echoes */
  if (!P->fatal && !P->nerrors) check_program(P);
  if (P->nerrors) return 0;
  E->net = P->nets;
  E->g->name = ir_strdup(E->g, E->net->name);
  elaborate(E, o);
  /* weights: --weights, else --random-weights, else the file's line */
  int rc = 0;
  if (o && o->shapes_only) rc = 0;
  else if (o && o->weights) rc = bind_file(E, ctx, o->weights, (Loc){0, 0, 0});
  else if (o && o->random_weights) {
    random_weights(E, o->seed);
    E->g->note = ir_fmt(E->g, "Weights: random (He initialisation; seed %llu) and not trained: "
                        "the outputs are meaningless (for benchmarks only).", o->seed);
    if (!ir_quiet && !ir_no_warn)
      fprintf(stderr, "%s: note: the weights are random (He initialisation, seed %llu), not trained: "
              "outputs are meaningless, for benchmarks only\n", P->file, o->seed);
  } else if (E->weights) {
    /* a downloaded .resnet must not make resnetc read any file it names:
     * only files in its own folder (as ONNX external data); --weights, the
     * user's own choice, may name any file */
    const char *w = E->weights, *why = NULL;
    if (w[0] == '/' || w[0] == '\\' || (((w[0] | 32) >= 'a' && (w[0] | 32) <= 'z') && w[1] == ':'))
      why = "is absolute";
    for (const char *p = w; !why && *p;) {
      size_t k = strcspn(p, "/\\");
      if (k == 2 && p[0] == '.' && p[1] == '.') why = "climbs out of the file's folder ('..')";
      p += k;
      if (*p) p++;
    }
    if (why) {
      rn_error(P, E->weights_loc, "the weights path '%s' %s: a .resnet file may only name weights in "
               "its own folder (give --weights FILE for another one)", w, why);
      rc = -1;
    } else {
      rc = bind_file(E, ctx, relative_to(E->g, P->file, w), E->weights_loc);
    }
  }
  else {
    rn_error(P, E->net->loc, "network '%s' has no weights: give --weights FILE, --random-weights SEED, "
             "or a 'weights \"FILE\"' line", E->net->name);
    rc = -1;
  }
  return rc == 0 && P->nerrors == 0;
}

/* load_steps inside an IR_TRY: ir_fail (out of memory) lands here. */
static int load_protected(Elab *E, LoadCtx *ctx, const ResnetOptions *o) {
  IrTry t;
  if (ir_try_begin(&t)) return 0;     /* reported by ir_fail; t is popped */
  int ok = load_steps(E, ctx, o);
  ir_try_end(&t);
  return ok;
}

Graph *resnet_load_buffer(const char *src, size_t len, const char *name, const ResnetOptions *o) {
  if (!name) name = "<input>";
  if (len > ((size_t)1 << 30)) {
    fprintf(stderr, "%s: error: the file is larger than 1 GiB\n", name);
    return NULL;
  }
  Graph *g = ir_graph_new("model", name);
  LoadCtx *ctx = calloc(1, sizeof *ctx);
  Parser *P = calloc(1, sizeof *P);
  Elab *E = calloc(1, sizeof *E);
  if (!ctx || !P || !E) {
    fprintf(stderr, "%s: error: out of memory\n", name);
    free(ctx); free(P); free(E);
    ir_graph_free(g);
    return NULL;
  }
  const char *saved_source = ir_source;
  Graph *saved_graph = ir_current_graph;
  ir_source = g->source;
  ir_current_graph = g;
  P->g = g;
  P->file = g->source;
  P->src = src;
  P->len = len;
  P->line = P->col = 1;
  P->blocks_tail = &P->blocks;
  P->nets_tail = &P->nets;
  P->lets_tail = &P->lets;
  E->P = P;
  E->g = g;
  E->max_weight_bytes = o && o->max_weight_bytes > 0 ? o->max_weight_bytes : RN_MAX_WEIGHT_BYTES;
  int ok = load_protected(E, ctx, o);
  if (ctx->scanner) rnlex_destroy(ctx->scanner);
  st_close(&ctx->st);
  free(ctx);
  free(P);
  free(E);
  ir_source = saved_source;
  ir_current_graph = saved_graph;
  if (!ok) {
    ir_graph_free(g);
    return NULL;
  }
  ir_current_graph = g;
  return g;
}

Graph *resnet_load(const char *path, const ResnetOptions *o) {
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "%s: error: cannot open: %s\n", path, strerror(errno));
    return NULL;
  }
  size_t cap = 1 << 16, n = 0;
  char *buf = malloc(cap);
  const size_t LIMIT = (size_t)64 << 20;
  while (buf) {
    if (n == cap) {
      if (cap >= LIMIT) {
        fprintf(stderr, "%s: error: the file is larger than 64 MiB\n", path);
        free(buf);
        fclose(f);
        return NULL;
      }
      char *nb = realloc(buf, cap * 2);
      if (!nb) { free(buf); buf = NULL; break; }
      buf = nb;
      cap *= 2;
    }
    size_t k = fread(buf + n, 1, cap - n, f);
    n += k;
    if (k == 0) break;
  }
  int bad = ferror(f);
  fclose(f);
  if (!buf || bad) {
    fprintf(stderr, "%s: error: cannot read\n", path);
    free(buf);
    return NULL;
  }
  Graph *g = resnet_load_buffer(buf, n, path, o);
  free(buf);
  return g;
}
