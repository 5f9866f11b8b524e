/* passutil.c - helpers shared by the passes (see passutil.h). */
#include "passutil.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

int pu_nuses(const Tensor *t) {
  int k = 0;
  for (int i = 0; i < t->nconsumers; i++) {
    const Node *n = t->consumers[i];
    for (int j = 0; j < n->nin; j++) k += n->in[j] == t;
  }
  return k;
}

int pu_single_use(const Tensor *t) {
  return t && t->kind == TK_ACT && !t->is_output && t->nconsumers == 1 && pu_nuses(t) == 1;
}

Node *pu_sole_consumer(const Tensor *t) {
  return pu_single_use(t) ? t->consumers[0] : NULL;
}

int pu_const_all(const Tensor *t, double v) {
  if (!ir_is_const(t) || !dtype_is_float(t->dtype)) return 0;
  int64_t n = ir_numel(t);
  for (int64_t i = 0; i < n; i++)
    if (ir_get_f64(t, i) != v) return 0;
  return 1;
}

int pu_const_zero(const Tensor *t) {
  if (!ir_is_const(t) || dtype_size(t->dtype) == 0) return 0;
  int64_t n = ir_numel(t);
  for (int64_t i = 0; i < n; i++)
    if (ir_get_f64(t, i) != 0) return 0;
  return 1;
}

Tensor *pu_const_f32(Graph *g, const char *base, int rank, const int64_t *dims) {
  Tensor *t = ir_tensor(g, ir_unique_name(g, base), DT_FLOAT, rank, dims);
  t->kind = TK_CONST;
  int64_t nb = ir_bytes(t);
  if (nb < 0) ir_fail("constant '%s' is too large", t->name);
  t->data = ir_alloc(g, (size_t)nb);
  return t;
}

void pu_set_inputs(Graph *g, Node *n, int nin, Tensor *const *in) {
  Tensor **a = ir_alloc(g, sizeof(Tensor *) * (size_t)(nin + 1));
  for (int i = 0; i < nin; i++) a[i] = in[i];
  n->in = a;
  n->nin = nin;
}

void pu_set_outputs(Graph *g, Node *n, int nout, Tensor *const *out) {
  Tensor **a = ir_alloc(g, sizeof(Tensor *) * (size_t)(nout + 1));
  for (int i = 0; i < nout; i++) {
    a[i] = out[i];
    if (a[i]) a[i]->producer = n;
  }
  n->out = a;
  n->nout = nout;
}

/* Every input slot that reads from now reads to (graph outputs untouched). */
static void replace_reads(Graph *g, Tensor *from, Tensor *to, const Node *skip) {
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n == skip || n->dead) continue;
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] == from) n->in[j] = to;
  }
}

int pu_bypass(Graph *g, Node *n, Tensor *in, Tensor *out) {
  IR_ASSERT(in && out && in != out);
  if (!out->is_output) {
    replace_reads(g, out, in, n);
    n->dead = 1;
    return 1;
  }
  Node *p = in->producer;
  if (in->kind == TK_ACT && !in->is_output && p && !p->dead) {
    /* the producer writes the graph output itself */
    for (int j = 0; j < p->nout; j++)
      if (p->out[j] == in) p->out[j] = out;
    out->producer = p;
    replace_reads(g, in, out, n);
    in->producer = NULL;
    n->dead = 1;
    return 1;
  }
  /* a copy must stay: the output's bytes are not in's */
  if (n->op != OP_IDENTITY || n->nin != 1 || n->nout != 1 || n->in[0] != in) {
    n->op = OP_IDENTITY;
    ir_attrs_default(OP_IDENTITY, &n->a);
    pu_set_inputs(g, n, 1, &in);
    pu_set_outputs(g, n, 1, &out);
  }
  return 0;
}

void pu_move_node(Graph *g, Node *n, int pos) {
  int from = -1;
  for (int i = 0; i < g->nnodes; i++)
    if (g->nodes[i] == n) { from = i; break; }
  IR_ASSERT(from >= 0 && pos >= 0 && pos < g->nnodes);
  if (from < pos)
    memmove(&g->nodes[from], &g->nodes[from + 1], sizeof(Node *) * (size_t)(pos - from));
  else if (from > pos)
    memmove(&g->nodes[pos + 1], &g->nodes[pos], sizeof(Node *) * (size_t)(from - pos));
  g->nodes[pos] = n;
}

int pu_bn_affine(Graph *g, const Node *bn, BnAffine *a) {
  const Tensor *x = bn->in[0];
  if (bn->op != OP_BATCHNORM || x->rank < 2 || !dtype_is_float(x->dtype) ||
      x->dtype != bn->out[0]->dtype)
    return 0;
  int64_t c = x->dims[1];
  for (int i = 1; i <= 4; i++) {
    const Tensor *p = bn->in[i];
    if (!ir_is_const(p) || !dtype_is_float(p->dtype) || ir_numel(p) != c) return 0;
  }
  size_t nb = sizeof(double) * (size_t)(c + 1);
  a->c = c;
  a->s = ir_alloc(g, nb);
  a->t = ir_alloc(g, nb);
  a->mean = ir_alloc(g, nb);
  a->beta = ir_alloc(g, nb);
  for (int64_t i = 0; i < c; i++) {
    double gamma = ir_get_f64(bn->in[1], i), b = ir_get_f64(bn->in[2], i);
    double m = ir_get_f64(bn->in[3], i), v = ir_get_f64(bn->in[4], i);
    double d = v + bn->a.epsilon;
    if (!(d > 0) || !isfinite(d) || !isfinite(gamma) || !isfinite(b) || !isfinite(m))
      return 0;   /* left to the BatchNormalization kernel */
    a->s[i] = gamma / sqrt(d);
    a->t[i] = b - m * a->s[i];
    a->mean[i] = m;
    a->beta[i] = b;
  }
  return 1;
}

/* ---- rewriting in rounds ------------------------------------------------ */

/* Method.  One round: ir_sweep (which relinks), then a snapshot of the
 * live nodes and of each one's input and output tensors.  Walking the
 * snapshot in order, fn is offered every node that is not blocked; after a
 * rewrite at node n, a breadth-first walk over the snapshot graph (the
 * snapshot's tensors, their producer and consumer lists as the round's
 * relink left them: what fn may have changed since lies within the ball
 * anyway) blocks every node within 2 * PU_REWRITE_RADIUS + 2 hops of n.
 * Two rewrites of one round are then far enough apart that neither reads
 * what the other changed.  A walk that meets more than BALL_CAP nodes (a
 * tensor read by thousands) ends the round instead.  Rounds repeat until
 * one changes nothing; each costs linear time, and in a residual network
 * a few dozen rounds do all rewrites. */
#define BALL_CAP 4096

typedef struct Snap {
  Node **order;          /* the round's live nodes; ids 0..n-1 */
  int n;
  int *off;              /* node i's tensors: ts[off[i] .. off[i+1]) */
  Tensor **ts;
} Snap;

static int snap_index(const Snap *s, const Node *n) {
  return n && n->id >= 0 && n->id < s->n && s->order[n->id] == n ? n->id : -1;
}

/* Blocks the nodes within `radius` hops of node i; returns 0 when the
 * walk was cut at BALL_CAP. */
static int block_ball(const Snap *s, int i, int radius, int *mark, int stamp, char *blocked,
                      int *queue, int *depth) {
  int head = 0, tail = 0;
  queue[tail] = i; depth[tail++] = 0;
  mark[i] = stamp;
  while (head < tail) {
    int u = queue[head], d = depth[head++];
    blocked[u] = 1;
    if (d == radius) continue;
    for (int k = s->off[u]; k < s->off[u + 1]; k++) {
      const Tensor *t = s->ts[k];
      for (int c = -1; c < t->nconsumers; c++) {    /* -1: the producer */
        int v = snap_index(s, c < 0 ? t->producer : t->consumers[c]);
        if (v < 0 || mark[v] == stamp) continue;
        if (tail == BALL_CAP) return 0;
        mark[v] = stamp;
        queue[tail] = v; depth[tail++] = d + 1;
      }
    }
  }
  return 1;
}

typedef struct Round {
  Snap s;
  char *blocked;
  int *mark, *queue, *depth;
} Round;

/* One round over R (allocated); returns 1 when something changed. */
static int round_run(Graph *g, PuRewriteFn fn, PassStats *st, Round *R) {
  int changed = 0, stamp = 0;
  for (int i = 0; i < R->s.n; i++) {
    Node *n = R->s.order[i];
    if (R->blocked[i] || n->dead) continue;
    if (!fn(g, n, st)) continue;
    changed = 1;
    if (!block_ball(&R->s, i, 2 * PU_REWRITE_RADIUS + 2, R->mark, ++stamp, R->blocked, R->queue, R->depth))
      break;
  }
  return changed;
}

static void round_free(Round *R) {
  free(R->s.order); free(R->s.off); free(R->s.ts);
  free(R->blocked); free(R->mark); free(R->queue); free(R->depth);
}

/* round_run with its scratch memory freed when fn fails (ir_fail). */
static int round_protected(Graph *g, PuRewriteFn fn, PassStats *st, Round *R) {
  IrTry t;
  if (ir_try_begin(&t)) {
    round_free(R);
    ir_rethrow(&t);
  }
  int changed = round_run(g, fn, st, R);
  ir_try_end(&t);
  return changed;
}

void pu_rewrite(Graph *g, PuRewriteFn fn, PassStats *st) {
  for (;;) {
    ir_sweep(g);
    Round R;
    Snap *s = &R.s;
    s->n = g->nnodes;
    if (s->n == 0) return;
    s->order = ir_scratch(sizeof(Node *) * (size_t)s->n);
    s->off = ir_scratch(sizeof(int) * (size_t)(s->n + 1));
    size_t total = 0;
    for (int i = 0; i < s->n; i++) total += (size_t)g->nodes[i]->nin + (size_t)g->nodes[i]->nout;
    s->ts = ir_scratch(sizeof(Tensor *) * total);
    int k = 0;
    for (int i = 0; i < s->n; i++) {
      Node *n = s->order[i] = g->nodes[i];
      s->off[i] = k;
      for (int j = 0; j < n->nin; j++) if (n->in[j]) s->ts[k++] = n->in[j];
      for (int j = 0; j < n->nout; j++) if (n->out[j]) s->ts[k++] = n->out[j];
    }
    s->off[s->n] = k;
    R.blocked = ir_scratch((size_t)s->n);
    R.mark = ir_scratch(sizeof(int) * (size_t)s->n);
    R.queue = ir_scratch(sizeof(int) * BALL_CAP);
    R.depth = ir_scratch(sizeof(int) * BALL_CAP);
    int changed = round_protected(g, fn, st, &R);
    round_free(&R);
    if (!changed) break;
  }
  ir_sweep(g);
}
