/* emit.h - the C emitter: IR -> standalone C through m4 templates. */
#ifndef RESNETC_EMIT_H
#define RESNETC_EMIT_H
#include "ir.h"

typedef enum WeightsMode { WEIGHTS_AUTO = 0, WEIGHTS_EMBED, WEIGHTS_BLOB } WeightsMode;

/* What emit_c wrote, for resnetc -v: the header's constants and the files
 * (paths allocated from the graph, valid until it is freed). */
#define EMIT_MAX_RESULT_FILES 8
typedef struct EmitResult {
  int64_t arena_bytes;     /* NAME_ARENA_BYTES: the plan plus kernel scratch */
  int64_t weights_bytes;   /* NAME_WEIGHTS_BYTES */
  int embedded;            /* weights compiled in (NAME_weights.c), else NAME.weights */
  int nfiles;
  const char *files[EMIT_MAX_RESULT_FILES];
} EmitResult;

typedef struct EmitOptions {
  const char *outdir;      /* folder to write (created if needed) */
  const char *name;        /* C prefix of every symbol: NAME_run, NAME_ARENA_BYTES */
  WeightsMode weights;
  const char *command_line;/* recorded in every generated file's header comment */
  const char *template_dir;/* NULL: the embedded templates */
  const char *isa;         /* ISA preference, comma-separated ("avx2,scalar"):
                              each layer gets the first ISA whose template has
                              a kernel for it; scalar is always the last
                              resort.  NULL or "": scalar only */
  unsigned isas;           /* KIsa mask (kernels.h) of the SIMD bodies the
                              fast kernels (ISA tag simd) hold; 0: all */
  /* (Winograd or not is Graph.winograd: the memory planner sizes the
     kernels' scratch from the same choice, kconv_choose_node) */
} EmitOptions;

/* Writes OUTDIR/NAME.h, NAME.c, the weights, NAME_main.c and Makefile.
 * Every file is written under a temporary name and renamed at the end, so
 * a failure leaves nothing half-written.  Returns 0, or -1 after printing
 * one error line. */
int emit_c(Graph *g, const EmitOptions *o);
/* The same, and on success fills *result (when not NULL). */
int emit_c_result(Graph *g, const EmitOptions *o, EmitResult *result);
#endif
