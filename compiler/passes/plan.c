/*
 * plan.c - the static memory planner: every intermediate gets a fixed
 * byte offset in one arena, sized at compile time (NAME_ARENA_BYTES).
 *
 * Method:
 *  1. Views.  A Reshape/Flatten/Squeeze/Unsqueeze/Identity/Dropout on
 *     PLAIN layout that writes no graph output stores nothing: its output
 *     becomes an alias of its source's root (Tensor.alias), and the root
 *     stays live until the alias's last reader.
 *  2. Liveness over the execution order: a tensor is live from the step
 *     (node index) that writes it to the last step that reads it or one of
 *     its aliases.
 *  3. In place.  When an element-wise node (not Cast), a standalone
 *     BatchNormalization, or a Conv/Gemm adding a
 *     same-shape residual in its epilogue, reads an operand (of the output's
 *     size and shape) that dies at that node, the output takes the
 *     operand's storage: element i is read before element i is written,
 *     and nothing else reads the operand afterwards.  Never when the node
 *     reads the same storage through another, non-element-wise input (a
 *     conv reading x both as data and as residual).  Tensors sharing
 *     storage form one block: [first, last] steps, the largest size.
 *  4. Placement, greedy by size with best fit: blocks sorted by size
 *     (largest first); each takes the smallest gap, between the blocks
 *     already placed that are live at the same time, that holds it, or the
 *     top of them.  Offsets and sizes are multiples of 64 bytes.  A few
 *     orders are tried (size; size then length of life; start), then a
 *     seeded hill climb moves blocks within the best order, until the
 *     arena meets the lower bound or a work budget runs out.  (On
 *     DenseNet's growing concatenations the plain size order is 5-11%
 *     above the bound; the climb meets it.)
 *
 *  Kernel scratch.  A blocked conv that runs as Winograd, or a strided
 *  1x1 over a subsample of its input, needs scratch memory during its own
 *  step (kconv_choose_node in kernels.c decides, for the planner and the
 *  emitter alike).  It is one more block, live at that step only: placed
 *  like a tensor, counted in the lower bound (it is live memory then; not
 *  in the naive sum, which adds up the intermediate tensors), so the
 *  arena of the generated header is the arena planned here.
 *
 *  5. Order.  Before all this, a memory-aware list schedule (among the
 *     ready nodes, the one that grows the live bytes least) is tried; it is
 *     kept when it lowers the bound, e.g. ShuffleNet's branches, -7%.
 *
 * Three numbers judge the plan: the arena it needs; the lower bound, the
 * largest sum of the blocks live at one step (no placement can beat it);
 * and the naive sum of all intermediates.  Graph inputs and outputs live in
 * caller memory and are not planned (offset -1).  Runs at every -O level.
 */
#include "kernels.h"
#include "passes.h"
#include "passutil.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN 64

int64_t plan_tensor_bytes(const Tensor *t) {
  if (t->rank < 0 || dtype_size(t->dtype) == 0) return -1;   /* shape inference did not run */
  int64_t n = 1;
  for (int i = 0; i < t->rank; i++) {
    int64_t d = t->dims[i];
    if (i == 1 && t->layout == LAYOUT_NCHWC && t->block > 0)
      d = (d + t->block - 1) / t->block * t->block;   /* channels padded to the block */
    n = ir_mul_checked(n, d);
  }
  n = ir_mul_checked(n, (int64_t)dtype_size(t->dtype));
  if (n < 0 || n > INT64_MAX - ALIGN) return -1;
  return (n + ALIGN - 1) / ALIGN * ALIGN;
}

/* Is t stored in the arena (by itself, not as a view)? */
static int arena_tensor(const Tensor *t) {
  return t && t->kind == TK_ACT && !t->is_output && !t->alias && t->producer;
}

static int is_view_node(const Node *n) {
  switch (n->op) {
  case OP_RESHAPE: case OP_FLATTEN: case OP_SQUEEZE: case OP_UNSQUEEZE:
  case OP_IDENTITY: case OP_DROPOUT:
    break;
  default:
    return 0;
  }
  Tensor *x = n->in[0], *y = n->out[0];
  if (n->op == OP_DROPOUT && n->nin > 2 && n->in[2] && !pu_const_zero(n->in[2])) return 0;
  return x && y && y->kind == TK_ACT && !y->is_output && (x->kind == TK_ACT || x->kind == TK_INPUT) &&
         x->layout == LAYOUT_PLAIN && y->layout == LAYOUT_PLAIN && x->dtype == y->dtype &&
         ir_numel(x) == ir_numel(y) && ir_numel(x) >= 0;
}

static Tensor *root(Tensor *t) { return t->alias ? t->alias : t; }

/* The arena bytes of node n's kernel scratch (0: none). */
static int64_t scratch_need(const Graph *g, const Node *n) {
  KConv c;
  int m, t;
  int64_t sb;
  if (kconv_choose_node(n, g->winograd, &c, &m, &t, &sb) != 1 || sb <= 0) return 0;
  if (sb > INT64_MAX - ALIGN) return -1;
  return (sb + ALIGN - 1) / ALIGN * ALIGN;
}

/* Sets Tensor.alias of every view output (clearing old plans first). */
static void set_aliases(Graph *g) {
  for (int i = 0; i < g->ntensors; i++) {
    g->tensors[i]->alias = NULL;
    g->tensors[i]->offset = -1;
  }
  for (int i = 0; i < g->nnodes; i++) {
    g->nodes[i]->scratch_bytes = 0;
    g->nodes[i]->scratch_offset = -1;
  }
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (is_view_node(n)) n->out[0]->alias = root(n->in[0]);
  }
}

/* first/last step of each tensor's storage root (aliases fold into their
 * root).  Arrays indexed by tensor id. */
static void live(Graph *g, int *first, int *last) {
  for (int i = 0; i < g->ntensors; i++) first[i] = last[i] = -1;
  for (int s = 0; s < g->nnodes; s++) {
    Node *n = g->nodes[s];
    for (int j = 0; j < n->nout; j++) {
      Tensor *t = n->out[j];
      if (t && arena_tensor(t)) first[t->id] = last[t->id] = s;
    }
    for (int j = 0; j < n->nin; j++) {
      Tensor *t = n->in[j];
      if (!t) continue;
      Tensor *r = root(t);
      if (arena_tensor(r) && last[r->id] < s) last[r->id] = s;
    }
  }
}

void plan_live_ranges(Graph *g, int *first, int *last) {
  ir_relink(g);
  live(g, first, last);
}

typedef struct Block {
  int first, last;
  int64_t size, offset;
} Block;

/* May out (written by n at step s) take the storage of operand o? */
static int in_place_ok(const Node *n, int s, const Tensor *out, Tensor *o, const int *last,
                       int opslot) {
  Tensor *r = root(o);
  if (!arena_tensor(r) || last[r->id] != s) return 0;
  if (!ir_same_shape(o, out) || dtype_size(o->dtype) != dtype_size(out->dtype)) return 0;
  if (o->layout != out->layout || o->block != out->block) return 0;
  if (plan_tensor_bytes(r) != plan_tensor_bytes(out)) return 0;
  int ew = (op_info[n->op].flags & OPF_ELEMENTWISE) != 0;
  for (int j = 0; j < n->nin; j++) {
    Tensor *t = n->in[j];
    if (!t || j == opslot || root(t) != r) continue;
    /* the same storage read through another input: fine only element-wise
     * at the same positions */
    if (!ew || !ir_same_shape(t, out)) return 0;
  }
  return 1;
}

/* The operand slot n may compute out[0] over, or -1. */
static int in_place_slot(const Node *n, int s, const int *last) {
  Tensor *out = n->out[0];
  if (!out || !arena_tensor(out)) return -1;
  /* (Cast converts between types: its kernels may read and write
   * through restrict pointers, so it never works in place) */
  if ((op_info[n->op].flags & OPF_ELEMENTWISE) && n->op != OP_CAST) {
    for (int j = 0; j < n->nin; j++)
      if (n->in[j] && in_place_ok(n, s, out, n->in[j], last, j)) return j;
    return -1;
  }
  if (n->op == OP_BATCHNORM && in_place_ok(n, s, out, n->in[0], last, 0))
    return 0;                /* per channel, element by element */
  if ((n->op == OP_CONV || n->op == OP_GEMM) && n->nin > 3 && n->in[3] && !n->a.res_view &&
      in_place_ok(n, s, out, n->in[3], last, 3))
    return 3;
  return -1;
}

/* Places blocks in the given order; returns the arena size. */
static int64_t place(Block *b, int nb, const int *order, int *placed_idx) {
  int64_t arena = 0;
  int nplaced = 0;
  /* scratch: the placed blocks overlapping in time, sorted by offset */
  int *ov = malloc(sizeof(int) * (size_t)(nb + 1));
  if (!ov) ir_fail("out of memory");
  for (int k = 0; k < nb; k++) {
    Block *x = &b[order[k]];
    int nov = 0;
    for (int q = 0; q < nplaced; q++) {
      Block *y = &b[placed_idx[q]];
      if (y->first <= x->last && x->first <= y->last && y->size > 0) {
        /* insertion by offset */
        int p = nov++;
        while (p > 0 && b[ov[p - 1]].offset > y->offset) { ov[p] = ov[p - 1]; p--; }
        ov[p] = placed_idx[q];
      }
    }
    int64_t best = -1, best_gap = INT64_MAX, pos = 0;
    for (int q = 0; q <= nov; q++) {
      int64_t end = q < nov ? b[ov[q]].offset : INT64_MAX;
      if (end - pos >= x->size && end != INT64_MAX && end - pos < best_gap) {
        best = pos;
        best_gap = end - pos;
      }
      if (q < nov && b[ov[q]].offset + b[ov[q]].size > pos) pos = b[ov[q]].offset + b[ov[q]].size;
    }
    x->offset = best >= 0 ? best : pos;     /* a gap, or on top */
    if (x->offset + x->size > arena) arena = x->offset + x->size;
    placed_idx[nplaced++] = order[k];
  }
  free(ov);
  return arena;
}

static const Block *sort_blocks;
static int sort_mode;
static int cmp_blocks(const void *pa, const void *pb) {
  const Block *a = &sort_blocks[*(const int *)pa], *b = &sort_blocks[*(const int *)pb];
  if (sort_mode == 2) {                    /* by start, then size */
    if (a->first != b->first) return a->first < b->first ? -1 : 1;
  }
  if (a->size != b->size) return a->size > b->size ? -1 : 1;
  if (sort_mode == 1) {                    /* longer lives first */
    int la = a->last - a->first, lb = b->last - b->first;
    if (la != lb) return la > lb ? -1 : 1;
  }
  if (a->first != b->first) return a->first < b->first ? -1 : 1;
  return *(const int *)pa - *(const int *)pb;
}

/* Plans g in its current order.  With bound_only, stops after the
 * liveness and returns the lower bound (offsets not set). */
static int64_t plan_order(Graph *g, PassStats *st, int bound_only) {
  ir_relink(g);
  set_aliases(g);
  int nt = g->ntensors;
  int *first = ir_alloc(g, sizeof(int) * (size_t)(nt + 1));
  int *last = ir_alloc(g, sizeof(int) * (size_t)(nt + 1));
  int *blk = ir_alloc(g, sizeof(int) * (size_t)(nt + 1));   /* tensor -> block */
  live(g, first, last);
  Block *b = ir_alloc(g, sizeof(Block) * (size_t)(nt + g->nnodes + 1));
  int *sblk = ir_alloc(g, sizeof(int) * (size_t)(g->nnodes + 1));   /* step -> scratch block */
  int nb = 0;
  int64_t naive = 0, total = 0;   /* total: naive + scratch, bounds every offset */
  int ninplace = 0, naliases = 0;
  for (int i = 0; i < nt; i++) {
    blk[i] = -1;
    if (g->tensors[i]->alias) naliases++;
  }
  for (int s = 0; s < g->nnodes; s++) {
    Node *n = g->nodes[s];
    int slot = in_place_slot(n, s, last);
    int64_t sc = scratch_need(g, n);
    sblk[s] = -1;
    if (sc < 0 || sc > INT64_MAX / 2 - total) ir_fail_node(n, "cannot plan its kernel scratch: too large");
    if (sc > 0) {
      total += sc;
      b[nb].first = b[nb].last = s;
      b[nb].size = sc;
      b[nb].offset = -1;
      sblk[s] = nb++;
    }
    for (int j = 0; j < n->nout; j++) {
      Tensor *t = n->out[j];
      if (!t || !arena_tensor(t)) continue;
      int64_t sz = plan_tensor_bytes(t);
      if (sz < 0 || sz > INT64_MAX / 2 - total)   /* every offset stays below the sum */
        ir_fail("cannot plan tensor '%s': its size is unknown or too large", t->name);
      naive += sz;
      total += sz;
      if (j == 0 && slot >= 0) {
        int ob = blk[root(n->in[slot])->id];
        IR_ASSERT(ob >= 0 && b[ob].last == s);
        b[ob].last = last[t->id];
        blk[t->id] = ob;
        ninplace++;
        continue;
      }
      b[nb].first = first[t->id];
      b[nb].last = last[t->id];
      b[nb].size = sz;
      b[nb].offset = -1;
      blk[t->id] = nb++;
    }
  }
  /* the lower bound: the most bytes live at one step */
  int64_t *live_sum = ir_alloc(g, sizeof(int64_t) * (size_t)(g->nnodes + 1));
  for (int k = 0; k < nb; k++)
    for (int st2 = b[k].first; st2 <= b[k].last; st2++) live_sum[st2] += b[k].size;
  int64_t lower = 0;
  for (int st2 = 0; st2 < g->nnodes; st2++)
    if (live_sum[st2] > lower) lower = live_sum[st2];
  if (bound_only) return lower;
  /* Placement orders: by size, by size then length of life, by start;
   * then a seeded hill climb from the best of them: a few blocks of the
   * best order move to other places in it, and the new order is kept when
   * its arena is no larger.  It stops when the arena meets the lower bound
   * or a budget of about 1e8 block comparisons is spent.  Deterministic. */
  int *order = ir_alloc(g, sizeof(int) * (size_t)(nb + 1));
  int *best_order = ir_alloc(g, sizeof(int) * (size_t)(nb + 1));
  int *scratch = ir_alloc(g, sizeof(int) * (size_t)(nb + 1));
  int64_t *best_off = ir_alloc(g, sizeof(int64_t) * (size_t)(nb + 1));
  int64_t best = -1;
  int tries = 3 + (nb > 0 ? (int)(100000000 / ((int64_t)nb * nb + 1)) : 0);
  if (tries > 3 + 2000) tries = 3 + 2000;
  unsigned seed = 12345;
  for (int mode = 0; mode < tries && best != lower; mode++) {
    if (mode < 3) {
      for (int k = 0; k < nb; k++) order[k] = k;
      sort_blocks = b;
      sort_mode = mode;
      qsort(order, (size_t)nb, sizeof(int), cmp_blocks);
    } else {
      memcpy(order, best_order, sizeof(int) * (size_t)nb);
      int moves = 1 + (int)((seed >> 16) % 4);
      for (int m = 0; m < moves && nb > 1; m++) {
        seed = seed * 1103515245u + 12345u;
        int from = (int)((seed >> 8) % (unsigned)nb);
        seed = seed * 1103515245u + 12345u;
        int to = (int)((seed >> 8) % (unsigned)nb);
        int v = order[from];
        if (from < to) memmove(&order[from], &order[from + 1], sizeof(int) * (size_t)(to - from));
        else memmove(&order[to + 1], &order[to], sizeof(int) * (size_t)(from - to));
        order[to] = v;
      }
    }
    int64_t a = place(b, nb, order, scratch);
    if (best < 0 || a <= best) {
      best = a;
      memcpy(best_order, order, sizeof(int) * (size_t)nb);
      for (int k = 0; k < nb; k++) best_off[k] = b[k].offset;
    }
  }
  for (int k = 0; k < nb; k++) b[k].offset = best_off[k];
  for (int i = 0; i < nt; i++) {
    Tensor *t = g->tensors[i];
    if (blk[i] >= 0) t->offset = b[blk[i]].offset;
  }
  for (int i = 0; i < nt; i++) {
    Tensor *t = g->tensors[i];
    if (t->alias && blk[t->alias->id] >= 0) t->offset = t->alias->offset;
  }
  for (int s = 0; s < g->nnodes; s++)
    if (sblk[s] >= 0) {
      g->nodes[s]->scratch_bytes = b[sblk[s]].size;
      g->nodes[s]->scratch_offset = b[sblk[s]].offset;
    }
  g->arena_bytes = best < 0 ? 0 : best;
  pass_count(st, "blocks", nb);
  pass_count(st, "in place", ninplace);
  pass_count(st, "aliases", naliases);
  pass_count(st, "arena bytes", (long)g->arena_bytes);
  pass_count(st, "naive bytes", (long)naive);
  pass_count(st, "lower bound bytes", (long)lower);
  return lower;
}

/* Memory-aware list scheduling: among the nodes whose inputs are ready,
 * run the one that grows the live bytes least (its new arena outputs minus
 * the arena inputs it reads last), the earliest in the current order on a
 * tie.  Returns 1 when the order changed. */
static int reorder_for_memory(Graph *g) {
  ir_relink(g);
  set_aliases(g);
  int n = g->nnodes, nt = g->ntensors;
  int *left = ir_alloc(g, sizeof(int) * (size_t)(nt + 1));     /* readers not yet run */
  int *indeg = ir_alloc(g, sizeof(int) * (size_t)(n + 1));
  char *done = ir_alloc(g, (size_t)n + 1);
  Node **order = ir_alloc(g, sizeof(Node *) * (size_t)(n + 1));
  for (int i = 0; i < n; i++) {
    Node *nd = g->nodes[i];
    for (int j = 0; j < nd->nin; j++) {
      Tensor *t = nd->in[j];
      if (!t) continue;
      int dup = 0;
      for (int k = 0; k < j; k++) dup |= nd->in[k] && root(nd->in[k]) == root(t);
      if (!dup) left[root(t)->id]++;
      dup = 0;
      for (int k = 0; k < j; k++) dup |= nd->in[k] == t;
      if (!dup && t->producer) indeg[i]++;
    }
  }
  int changed = 0;
  for (int k = 0; k < n; k++) {
    int pick = -1;
    int64_t best = 0;
    for (int i = 0; i < n; i++) {
      if (done[i] || indeg[i]) continue;
      Node *nd = g->nodes[i];
      int64_t d = 0;
      for (int j = 0; j < nd->nout; j++)
        if (nd->out[j] && arena_tensor(nd->out[j])) d += plan_tensor_bytes(nd->out[j]);
      for (int j = 0; j < nd->nin; j++) {
        Tensor *t = nd->in[j];
        if (!t || !arena_tensor(root(t))) continue;
        int dup = 0;
        for (int q = 0; q < j; q++) dup |= nd->in[q] && root(nd->in[q]) == root(t);
        if (!dup && left[root(t)->id] == 1) d -= plan_tensor_bytes(root(t));
      }
      if (pick < 0 || d < best) { pick = i; best = d; }
    }
    IR_ASSERT(pick >= 0);
    Node *nd = g->nodes[pick];
    done[pick] = 1;
    changed |= pick != k;
    order[k] = nd;
    for (int j = 0; j < nd->nin; j++) {
      Tensor *t = nd->in[j];
      if (!t) continue;
      int dup = 0;
      for (int q = 0; q < j; q++) dup |= nd->in[q] && root(nd->in[q]) == root(t);
      if (!dup) left[root(t)->id]--;
    }
    for (int j = 0; j < nd->nout; j++) {
      Tensor *t = nd->out[j];
      if (!t) continue;
      for (int c = 0; c < t->nconsumers; c++) {
        Node *u = t->consumers[c];
        for (int q = 0; q < u->nin; q++) {
          if (u->in[q] != t) continue;
          int dup = 0;
          for (int r = 0; r < q; r++) dup |= u->in[r] == t;
          if (!dup) indeg[u->id]--;
        }
      }
    }
  }
  memcpy(g->nodes, order, sizeof(Node *) * (size_t)n);
  ir_relink(g);
  return changed;
}

/* Plans the current order, or a memory-aware reordering of it when that
 * lowers the bound (the placement then meets the bound, or nearly). */
void pass_plan(Graph *g, PassStats *st) {
  int64_t b0 = plan_order(g, NULL, 1);
  int n = g->nnodes;
  Node **orig = ir_alloc(g, sizeof(Node *) * (size_t)(n + 1));
  if (n) memcpy(orig, g->nodes, sizeof(Node *) * (size_t)n);  /* g->nodes is NULL when everything folded */
  if (n > 2 && reorder_for_memory(g)) {
    if (plan_order(g, NULL, 1) < b0) {
      pass_count(st, "reordered for memory", 1);
    } else {
      memcpy(g->nodes, orig, sizeof(Node *) * (size_t)n);
      ir_relink(g);
    }
  }
  plan_order(g, st, 0);
}

void plan_summary(Graph *g, PlanSummary *s) {
  ir_relink(g);
  int nt = g->ntensors, ns = g->nnodes;
  int *first = ir_alloc(g, sizeof(int) * (size_t)(nt + 1));
  int *last = ir_alloc(g, sizeof(int) * (size_t)(nt + 1));
  live(g, first, last);
  memset(s, 0, sizeof *s);
  /* per step: the union of the byte ranges of the live tensors (in-place
   * pairs overlap exactly, so they count once) */
  int64_t (*iv)[2] = ir_alloc(g, sizeof *iv * (size_t)(nt + 2));
  for (int i = 0; i < nt; i++) {
    Tensor *t = g->tensors[i];
    if (first[i] < 0 || t->offset < 0) continue;
    int64_t sz = plan_tensor_bytes(t);
    s->naive_bytes += sz;
    if (t->offset + sz > s->arena_bytes) s->arena_bytes = t->offset + sz;
    int dup = 0;
    for (int j = 0; j < i && !dup; j++)
      dup = first[j] >= 0 && g->tensors[j]->offset == t->offset && last[j] == first[i];
    if (!dup) s->nblocks++;
  }
  for (int step = 0; step < ns; step++) {     /* kernel scratch */
    const Node *n = g->nodes[step];
    if (n->scratch_bytes <= 0 || n->scratch_offset < 0) continue;
    s->nblocks++;
    if (n->scratch_offset + n->scratch_bytes > s->arena_bytes) s->arena_bytes = n->scratch_offset + n->scratch_bytes;
  }
  for (int step = 0; step < ns; step++) {
    int k = 0;
    for (int i = 0; i < nt; i++) {
      Tensor *t = g->tensors[i];
      if (first[i] < 0 || t->offset < 0 || first[i] > step || last[i] < step) continue;
      iv[k][0] = t->offset;
      iv[k][1] = t->offset + plan_tensor_bytes(t);
      k++;
    }
    const Node *sn = g->nodes[step];
    if (sn->scratch_bytes > 0 && sn->scratch_offset >= 0) {
      iv[k][0] = sn->scratch_offset;
      iv[k][1] = sn->scratch_offset + sn->scratch_bytes;
      k++;
    }
    /* sort by start (insertion: few live tensors) and measure the union */
    for (int a = 1; a < k; a++)
      for (int c = a; c > 0 && iv[c - 1][0] > iv[c][0]; c--) {
        int64_t x0 = iv[c][0], x1 = iv[c][1];
        iv[c][0] = iv[c - 1][0]; iv[c][1] = iv[c - 1][1];
        iv[c - 1][0] = x0; iv[c - 1][1] = x1;
      }
    int64_t sum = 0, hi = 0;
    for (int a = 0; a < k; a++) {
      int64_t lo = iv[a][0] > hi ? iv[a][0] : hi;
      if (iv[a][1] > lo) sum += iv[a][1] - lo;
      if (iv[a][1] > hi) hi = iv[a][1];
    }
    if (sum > s->lower_bound_bytes) s->lower_bound_bytes = sum;
  }
  if (g->arena_bytes > s->arena_bytes) s->arena_bytes = g->arena_bytes;
}
