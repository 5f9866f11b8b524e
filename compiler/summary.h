/* summary.h - `resnetc --summary`: per-layer table and totals of a graph. */
#ifndef RESNETC_SUMMARY_H
#define RESNETC_SUMMARY_H
#include <stdint.h>
#include <stdio.h>
#include "ir.h"

typedef struct SummaryTotals {
  int64_t params;     /* learned: conv and fc weights and biases, BN scale
                         and shift, constant operands of Add/Mul/... */
  int64_t buffers;    /* BatchNorm running mean and variance */
  int64_t macs;       /* multiply-accumulates of Conv, Gemm and MatMul */
  int64_t act_bytes;  /* sum of every activation's size (before planning) */
  int nodes;
  int convs, fcs;     /* Conv nodes, Gemm/MatMul nodes */
} SummaryTotals;

/* The totals of g, whose shapes must be known (after shape inference, or
 * straight from the .resnet front end).  Shared constants count once. */
void summary_compute(Graph *g, SummaryTotals *t);

/* MACs of one node (0 for ops without multiply-accumulates). */
int64_t summary_node_macs(const Node *n);

/* Prints the table (one row per node: layer, op, output shape, parameters,
 * multiply-adds) and the totals to f. */
void summary_print(Graph *g, FILE *f);
#endif
