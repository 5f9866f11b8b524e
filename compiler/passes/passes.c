/*
 * passes.c - the pass manager: the visible list of passes, run in order.
 *
 * Like QBE's main.c, the order of the optimiser is the table below: read
 * it and you know what -O2 does.  -O0 runs none of them; --passes=a,b
 * runs exactly the named ones (still in table order, so a list cannot ask
 * for fuse before fold_bn).  The memory planner is not optional: the
 * emitter needs offsets, so it runs last whatever was selected.
 *
 * Between passes, when PassOptions.verify is set (debug builds), the IR
 * is checked with ir_verify(); a failure is a bug in the pass that just
 * ran, reported as an internal error naming it.
 */
#include "passes.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

typedef struct Pass {
  const char *name;
  void (*run)(Graph *g, PassStats *st);
  int min_level;        /* the lowest opt_level that runs it; 0: always */
  const char *what;     /* one line for the usage message */
} Pass;

static const Pass passes[] = {
  {"cleanup", pass_cleanup, 1, "dead and no-op nodes, view chains"},
  {"fold_bn", pass_fold_bn, 1, "BatchNormalization into Conv/Gemm weights"},
  {"fuse",    pass_fuse,    1, "activations, residual adds, BN epilogues into Conv/Gemm"},
  {"cleanup", pass_cleanup, 1, "(again: what fusion left unused)"},
  {"layout",  pass_layout,  1, "NCHW16c layouts for the fast kernels"},
  {"plan",    pass_plan,    0, "static memory plan (always runs)"},
};
#define NPASSES ((int)(sizeof passes / sizeof passes[0]))

const char *const pass_names[] = {"cleanup", "fold_bn", "fuse", "layout", "plan", NULL};

void pass_count(PassStats *st, const char *what, long n) {
  if (!st || n == 0) return;
  for (int i = 0; i < st->ncounters; i++)
    if (strcmp(st->what[i], what) == 0) { st->count[i] += n; return; }
  if (st->ncounters == PASS_MAX_COUNTERS) ir_die("too many pass counters");
  st->what[st->ncounters] = what;
  st->count[st->ncounters++] = n;
}

static int known(const char *name, size_t len) {
  for (int i = 0; pass_names[i]; i++)
    if (strlen(pass_names[i]) == len && strncmp(pass_names[i], name, len) == 0) return 1;
  return 0;
}

static const char *known_list(void) {
  static char buf[256];
  buf[0] = 0;
  for (int i = 0; pass_names[i]; i++) {
    if (i) strcat(buf, ", ");
    strcat(buf, pass_names[i]);
  }
  return buf;
}

/* Is name in the comma list? */
static int in_list(const char *list, const char *name) {
  size_t n = strlen(name);
  for (const char *p = list; *p;) {
    const char *e = strchr(p, ',');
    size_t len = e ? (size_t)(e - p) : strlen(p);
    if (len == n && strncmp(p, name, n) == 0) return 1;
    p += len + (e ? 1 : 0);
  }
  return 0;
}

/* Usage errors first: nothing runs when a name is wrong. */
static void check_names(const PassOptions *o) {
  if (o->only) {
    for (const char *p = o->only; *p;) {
      const char *e = strchr(p, ',');
      size_t len = e ? (size_t)(e - p) : strlen(p);
      if (len == 0) ir_fail("--passes: empty pass name in '%s' (known passes: %s)", o->only, known_list());
      if (!known(p, len))
        ir_fail("--passes: unknown pass '%.*s' (known passes: %s)", (int)len, p, known_list());
      p += len + (e ? 1 : 0);
      if (e && !*p) ir_fail("--passes: empty pass name in '%s' (known passes: %s)", o->only, known_list());
    }
  }
  if (o->dump_after && !known(o->dump_after, strlen(o->dump_after)))
    ir_fail("--dump-ir-after: unknown pass '%s' (known passes: %s)", o->dump_after, known_list());
}

void passes_run(Graph *g, const PassOptions *o) {
  PassOptions def = {2, NULL, NULL, NULL, 0, NULL};
  if (!o) o = &def;
  check_names(o);
  ir_current_graph = g;
  FILE *dump = o->dump_file ? o->dump_file : stdout;
  if (o->log) o->log->nruns = 0;
  for (int i = 0; i < NPASSES; i++) {
    const Pass *p = &passes[i];
    int run = p->min_level == 0 ||
              (o->only ? in_list(o->only, p->name) : o->opt_level >= p->min_level);
    if (!run) continue;
    PassStats local, *st = &local;
    if (o->log && o->log->nruns < PASS_MAX_RUNS) st = &o->log->runs[o->log->nruns++];
    memset(st, 0, sizeof *st);
    st->pass = p->name;
    st->nodes_before = g->nnodes;
    double t0 = now_seconds();
    p->run(g, st);
    st->seconds = now_seconds() - t0;
    st->nodes_after = g->nnodes;
    if (o->verify && ir_verify(g, p->name) != 0) {
      fprintf(stderr, "resnetc: internal error: pass '%s' left an invalid graph\n", p->name);
      abort();
    }
    if (o->dump_after && strcmp(o->dump_after, p->name) == 0) {
      fprintf(dump, "# IR after %s\n", p->name);
      ir_print(g, dump);
    }
  }
}

void passes_print_log(const PassLog *log, FILE *f) {
  if (!log) return;
  for (int i = 0; i < log->nruns; i++) {
    const PassStats *s = &log->runs[i];
    fprintf(f, "pass %-8s nodes %d -> %d", s->pass, s->nodes_before, s->nodes_after);
    for (int j = 0; j < s->ncounters; j++)
      fprintf(f, "%s %s %ld", j ? "," : ":", s->what[j], s->count[j]);
    fputc('\n', f);
  }
}
