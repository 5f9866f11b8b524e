/* passes.h - the optimiser: a list of passes run in order (see passes.c). */
#ifndef RESNETC_PASSES_H
#define RESNETC_PASSES_H
#include <stdio.h>
#include "ir.h"

typedef struct PassOptions {
  int opt_level;            /* 0: none, 2: all (default) */
  const char *only;         /* --passes=a,b: comma list, NULL: by opt_level */
  const char *dump_after;   /* --dump-ir-after=PASS, NULL: none */
  FILE *dump_file;          /* where dumps go (stdout) */
  int verify;               /* run ir_verify between passes */
} PassOptions;

/* Runs the selected passes, then the memory planner (always: the emitter
 * needs offsets).  ir_fail()s on error. */
void passes_run(Graph *g, const PassOptions *o);
#endif
