/*
 * passutil.h - small helpers the passes share (not part of the interface).
 *
 * They assume consumer lists are current (ir_relink after each edit that
 * the next query depends on).
 */
#ifndef RESNETC_PASSUTIL_H
#define RESNETC_PASSUTIL_H
#include "ir.h"
#include "passes.h"

/* Number of input slots of all nodes that read t (a node reading t twice
 * counts twice). */
int pu_nuses(const Tensor *t);
/* t is an arena intermediate read by exactly one input slot of one node
 * and not a graph output: a value a fusion may make disappear. */
int pu_single_use(const Tensor *t);
/* The only consumer of t when pu_single_use(t), else NULL. */
Node *pu_sole_consumer(const Tensor *t);
/* Is t a float constant whose every element equals v? */
int pu_const_all(const Tensor *t, double v);
/* Is every element of a constant zero (any numeric dtype)? */
int pu_const_zero(const Tensor *t);
/* A new float32 constant with zeroed data, named base (made unique). */
Tensor *pu_const_f32(Graph *g, const char *base, int rank, const int64_t *dims);
/* Makes node n disappear: every reader of out reads in instead (same
 * dtype and shape).  When out is a graph output its name must survive:
 * in's producer then writes out directly, or, when in is a graph input,
 * a constant, another graph output, or has no producer, n stays as an
 * Identity (a copy).  Returns 1 when n was removed (marked dead). */
int pu_bypass(Graph *g, Node *n, Tensor *in, Tensor *out);
/* Sets the inputs of n to the nin given (reallocating the array). */
void pu_set_inputs(Graph *g, Node *n, int nin, Tensor *const *in);
/* Sets the outputs of n. */
void pu_set_outputs(Graph *g, Node *n, int nout, Tensor *const *out);
/* The inference affine map of a BatchNormalization node,
 *   y = x*s[c] + t[c],  s = gamma/sqrt(var + eps),  t = beta - mean*s,
 * in double.  Returns 0 when its parameters are not constants of C (=
 * dims[1] of its input) elements or var + eps is not positive.  The
 * arrays come from g's arena; mean and beta may be NULL.  An activation the
 * fusion pass attached to the BN (Attrs.act) is not part of the map: the
 * caller checks it. */
typedef struct BnAffine {
  int64_t c;
  double *s, *t, *mean, *beta;
} BnAffine;
int pu_bn_affine(Graph *g, const Node *bn, BnAffine *a);
/* Applies fn to every live node, repeatedly, until no call changes the
 * graph (fn returns non-zero when it rewrote), then sweeps.  It replaces
 * the walk that swept and relinked after every rewrite (quadratic: a
 * 12000-layer network spent two minutes in the optimiser).  Rewrites run
 * in rounds over one relink: a rewrite may read and change the graph
 * within PU_REWRITE_RADIUS hops of its node (node - tensor - node is one
 * hop); after it, every node within 2 radii + 2 of it waits for the next
 * round, so each rewrite sees links as current as a relink would give.
 * Nodes that fn creates are first offered in the next round. */
#define PU_REWRITE_RADIUS 10
typedef int (*PuRewriteFn)(Graph *g, Node *n, PassStats *st);
void pu_rewrite(Graph *g, PuRewriteFn fn, PassStats *st);
/* Moves node n to index pos in g->nodes (shifting the ones between);
 * ids are renumbered by the next ir_relink. */
void pu_move_node(Graph *g, Node *n, int pos);
#endif
