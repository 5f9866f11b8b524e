/* dot.h - the optimised graph as Graphviz DOT (resnetc --dot FILE). */
#ifndef RESNETC_DOT_H
#define RESNETC_DOT_H
#include <stdio.h>
#include "ir.h"

/* Writes g as a DOT digraph: one box per node (op, kernel, channels, fused
 * epilogue, source name), one ellipse per graph input and output, edges
 * labelled with tensor shapes.  Residual shortcuts (the shorter input of
 * every Add/Sum, the residual input of a fused Conv/Gemm, and the
 * projection nodes on such a shortcut) are drawn in red.  Names from the
 * model are escaped, so any input gives valid DOT.  Deterministic: the
 * same graph gives the same bytes. */
void dot_write(Graph *g, FILE *f);

/* dot_write into PATH, first line a comment naming the resnetc version and
 * COMMAND_LINE (NULL: none).  Writes PATH.tmp and renames it, so a failure
 * leaves nothing half-written.  Returns 0, or -1 after printing one
 * "PATH: error: ..." line. */
int dot_write_file(Graph *g, const char *path, const char *command_line);
#endif
