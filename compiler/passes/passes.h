/*
 * passes.h - the optimiser: a list of passes run in order (see passes.c).
 *
 * Each pass is a function from IR to IR, in a file of its own:
 *   cleanup   dead nodes, no-op nodes (Identity, inference Dropout, ...),
 *             view chains collapsed                          (cleanup.c)
 *   fold_bn   BatchNormalization folded into the weights of the Conv/Gemm
 *             before it, or of the Conv after it             (fold_bn.c)
 *   fuse      activations, residual Add, option-A shortcut, BN on a
 *             residual sum and Flatten->Gemm fused into the Conv/Gemm
 *             epilogue                                        (fuse.c)
 *   layout    channel-blocked (NCHW16c) activations for the fast kernels,
 *             reorders where blocked meets plain            (layout.c)
 *   plan      static memory plan: Tensor.offset, Tensor.alias,
 *             Graph.arena_bytes                               (plan.c)
 * passes_run() runs the first four by opt_level or --passes, then always
 * the planner.  report.c prints the --report table and --plan-svg drawing.
 */
#ifndef RESNETC_PASSES_H
#define RESNETC_PASSES_H
#include <stdio.h>
#include "ir.h"

/* Statistics of one pass run: a few labelled counters ("removed 12,
 * fused 9"), plus the node counts around it. */
#define PASS_MAX_COUNTERS 8
typedef struct PassStats {
  const char *pass;
  int nodes_before, nodes_after;
  double seconds;           /* wall time of the pass (resnetc -v) */
  int ncounters;
  const char *what[PASS_MAX_COUNTERS];
  long count[PASS_MAX_COUNTERS];
} PassStats;
/* Adds n to the counter labelled what (created at 0); st may be NULL. */
void pass_count(PassStats *st, const char *what, long n);

/* Statistics of a whole passes_run(): one entry per pass that ran. */
#define PASS_MAX_RUNS 16
typedef struct PassLog {
  int nruns;
  PassStats runs[PASS_MAX_RUNS];
} PassLog;

typedef struct PassOptions {
  int opt_level;            /* 0: none, 2: all (default) */
  const char *only;         /* --passes=a,b: comma list, NULL: by opt_level */
  const char *dump_after;   /* --dump-ir-after=PASS, NULL: none */
  FILE *dump_file;          /* where dumps go (NULL: stdout) */
  int verify;               /* run ir_verify between passes */
  PassLog *log;             /* receives per-pass statistics (NULL: none) */
} PassOptions;

/* Runs the selected passes, then the memory planner (always: the emitter
 * needs offsets).  ir_fail()s on a usage error (an unknown pass name, the
 * message lists the known ones); a graph that fails ir_verify after a pass
 * is an internal error naming the pass. */
void passes_run(Graph *g, const PassOptions *o);
/* The names of the passes, in the order they run, NULL-terminated. */
extern const char *const pass_names[];
/* Prints the statistics of a run, one line per pass. */
void passes_print_log(const PassLog *log, FILE *f);

/* ---- the passes ------------------------------------------------------- */
void pass_cleanup(Graph *g, PassStats *st);
void pass_fold_bn(Graph *g, PassStats *st);
void pass_fuse(Graph *g, PassStats *st);
void pass_layout(Graph *g, PassStats *st);
void pass_plan(Graph *g, PassStats *st);

/* ---- the memory plan (plan.c) ----------------------------------------- */
typedef struct PlanSummary {
  int64_t arena_bytes;      /* the arena the plan needs (end of the highest
                               block) */
  int64_t lower_bound_bytes;/* the largest sum of the blocks live at one
                               step: no placement can do better */
  int64_t naive_bytes;      /* every planned intermediate in its own place */
  int nblocks;              /* storage blocks (after aliases and in-place) */
} PlanSummary;

/* Live range of every tensor, as steps (node indices in execution order):
 * first[t->id] = step that writes it, last[t->id] = last step that reads
 * it or one of its aliases; -1 for tensors the plan does not place (inputs,
 * constants, outputs, aliases).  Arrays of g->ntensors, caller-allocated. */
void plan_live_ranges(Graph *g, int *first, int *last);
/* Recomputes the three numbers from a planned graph (report, tests). */
void plan_summary(Graph *g, PlanSummary *s);
/* The bytes a tensor occupies in the arena: its size rounded up to 64,
 * counting the channel padding of a blocked layout. */
int64_t plan_tensor_bytes(const Tensor *t);

/* ---- report (report.c) ------------------------------------------------ */
/* "Conv(+residual,+relu)": the op and what is fused into it. */
char *report_node_str(const Node *n, char *buf, size_t size);
/* The ops in order as one line, "Conv Conv(+residual,+relu) Gemm". */
char *report_op_sequence(Graph *g);   /* allocated from g */
/* Multiply-adds of one node (0 for ops without). */
int64_t report_node_macs(const Node *n);
/* The --report table: one row per node (op, fused ops, output shape,
 * multiply-adds, arena offset and size), then the pass statistics when log
 * is non-NULL, ending with the line
 *   arena_bytes=A lower_bound_bytes=L naive_bytes=N */
void report_print(Graph *g, const PassLog *log, FILE *f);
/* --plan-svg FILE: the memory plan drawn as SVG (step across, offset down,
 * one labelled rectangle per block).  Written to path.tmp, then renamed.
 * Its first comment names the resnetc version and command_line (may be
 * NULL).  Returns 0, or -1 after printing one error line. */
int report_plan_svg(Graph *g, const char *path, const char *command_line);
#endif
