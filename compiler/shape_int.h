/*
 * shape_int.h - helpers shared by shape inference (shape.c), the folder
 * (fold.c) and the reference evaluator (eval.c).  Not a public interface.
 *
 * The parameter inputs of Slice, Pad, Squeeze and Unsqueeze decide output
 * shapes, so shape inference requires them to be constants.  The evaluator
 * then reads the same numbers again through these functions, which keeps
 * the two in agreement by construction.  Every function takes the node's
 * inputs as an array (in[i] NULL when left out) so the evaluator can pass
 * views whose data points at its own buffers.
 */
#ifndef RESNETC_SHAPE_INT_H
#define RESNETC_SHAPE_INT_H
#include "ir.h"

/* Slice: for every dimension d of in[0], the first index start[d], the
 * step[d] and the number of elements len[d] (dimensions not sliced: 0, 1,
 * dims[d]).  Validates the parameters (ir_fail_node). */
void shape_slice_params(const Node *n, Tensor *const *in, int64_t *start,
                        int64_t *step, int64_t *len);

/* Pad: pads before/after every dimension of in[0] (negative: crop). */
void shape_pad_params(const Node *n, Tensor *const *in, int64_t *pb, int64_t *pe);

/* Reads the 0-D or 1-D integer constant t (int32 or int64) into v; at most
 * max values; returns how many.  what names t in messages. */
int shape_const_ints(const Node *n, const Tensor *t, const char *what,
                     int64_t *v, int max);

/* numpy broadcast of two shapes into out; returns the rank or -1. */
int shape_broadcast(int ra, const int64_t *da, int rb, const int64_t *db, int64_t *out);

/* The output size of a conv/pool window along one dimension. */
int64_t shape_window_out(int64_t in, int64_t k, int64_t s, int64_t d,
                         int64_t pb, int64_t pe, int ceil_mode);
#endif
