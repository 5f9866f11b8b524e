/* test_pass_plan.c - the memory planner on small graphs built here.
 *
 * Every plan is checked by an independent validator: two tensors live at
 * the same step never share bytes, unless one is computed in place over
 * the other at that very step by an element-wise node (or a same-shape
 * fused residual) that reads it there for the last time; offsets are
 * 64-byte aligned; everything fits in Graph.arena_bytes; views alias their
 * source.  Liveness is recomputed here from the node lists, not taken from
 * the planner. */
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "testutil.h"

static Tensor *act(Graph *g, const char *name, int64_t c, int64_t h, int64_t w) {
  int64_t d[4] = {1, c, h, w};
  return ir_tensor(g, name, DT_FLOAT, 4, d);
}

static Node *unary(Graph *g, Op op, Tensor *x, Tensor *y) {
  return ir_node(g, op, y->name, 1, &x, 1, &y);
}

static Node *binary(Graph *g, Op op, Tensor *a, Tensor *b, Tensor *y) {
  Tensor *in[2] = {a, b};
  return ir_node(g, op, y->name, 2, in, 1, &y);
}

static Node *conv(Graph *g, Tensor *x, Tensor *y, Tensor *res) {
  int64_t wd[4] = {y->dims[1], x->dims[1], 3, 3};
  float *w = calloc((size_t)(wd[0] * wd[1] * 9), sizeof(float));
  Tensor *wt = ir_const(g, ir_unique_name(g, "w"), DT_FLOAT, 4, wd, w, 0);
  free(w);
  Tensor *in[4] = {x, wt, NULL, res};
  Node *n = ir_node(g, OP_CONV, y->name, res ? 4 : 2, in, 1, &y);
  n->a.nsp = 2;
  for (int i = 0; i < 2; i++) {
    n->a.kernel[i] = 3;
    n->a.pad_begin[i] = n->a.pad_end[i] = 1;
  }
  return n;
}

/* the root storage of t */
static Tensor *root(Tensor *t) { return t->alias ? t->alias : t; }

/* Validates the plan of g; returns the number of problems (printed). */
static int validate(Graph *g) {
  int bad = 0, nt = g->ntensors;
  int *first = calloc((size_t)nt + 1, sizeof(int)), *last = calloc((size_t)nt + 1, sizeof(int));
  for (int i = 0; i < nt; i++) first[i] = last[i] = -1;
  for (int s = 0; s < g->nnodes; s++) {
    Node *n = g->nodes[s];
    for (int j = 0; j < n->nout; j++) {
      Tensor *t = n->out[j];
      if (!t) continue;
      if (t->alias) {
        Node *v = n;
        if (!(v->op == OP_RESHAPE || v->op == OP_FLATTEN || v->op == OP_IDENTITY ||
              v->op == OP_SQUEEZE || v->op == OP_UNSQUEEZE || v->op == OP_DROPOUT) ||
            root(v->in[0]) != t->alias || t->alias->alias) {
          fprintf(stderr, "bad alias %s\n", t->name);
          bad++;
        }
        if (t->alias->offset != t->offset) { fprintf(stderr, "alias offset %s\n", t->name); bad++; }
        continue;
      }
      if (t->kind == TK_ACT && !t->is_output) {
        if (t->offset < 0 || t->offset % 64) { fprintf(stderr, "offset of %s\n", t->name); bad++; }
        if (t->offset + ir_bytes(t) > g->arena_bytes) { fprintf(stderr, "%s beyond arena\n", t->name); bad++; }
        first[t->id] = last[t->id] = s;
      } else if (t->offset != -1) {
        fprintf(stderr, "%s (input/output) has an offset\n", t->name);
        bad++;
      }
    }
    for (int j = 0; j < n->nin; j++) {
      Tensor *t = n->in[j];
      if (t && first[root(t)->id] >= 0) last[root(t)->id] = s;
    }
  }
  for (int a = 0; a < nt; a++)
    for (int b = a + 1; b < nt; b++) {
      if (first[a] < 0 || first[b] < 0) continue;
      if (first[a] > last[b] || first[b] > last[a]) continue;    /* not live together */
      Tensor *ta = g->tensors[a], *tb = g->tensors[b];
      int64_t ea = ta->offset + ir_bytes(ta), eb = tb->offset + ir_bytes(tb);
      if (ta->offset >= eb || tb->offset >= ea || !ir_bytes(ta) || !ir_bytes(tb)) continue;
      /* overlapping bytes: must be in place, the later written over the
       * earlier at the step where the earlier is read for the last time */
      Tensor *e = first[a] <= first[b] ? ta : tb, *l = e == ta ? tb : ta;
      int ok = ta->offset == tb->offset && last[e->id] == first[l->id];
      if (ok) {
        Node *p = l->producer;
        int reads = 0;
        for (int j = 0; j < p->nin; j++) reads |= p->in[j] && root(p->in[j]) == e;
        ok = reads && ((op_info[p->op].flags & OPF_ELEMENTWISE && p->op != OP_CAST) ||
                       (p->op == OP_BATCHNORM && root(p->in[0]) == e) ||
                       ((p->op == OP_CONV || p->op == OP_GEMM) && p->nin > 3 && p->in[3] &&
                        root(p->in[3]) == e &&
                        root(p->in[0]) != e && !p->a.res_view));
      }
      if (!ok) {
        fprintf(stderr, "overlap: %s [%d,%d]@%lld and %s [%d,%d]@%lld\n", ta->name, first[a],
                last[a], (long long)ta->offset, tb->name, first[b], last[b], (long long)tb->offset);
        bad++;
      }
    }
  free(first);
  free(last);
  return bad;
}

static void run_plan(Graph *g) {
  ir_relink(g);
  CU_ASSERT_EQUAL_FATAL(ir_verify(g, "build"), 0);
  IrTry t;
  if (ir_try_begin(&t)) { CU_FAIL("plan failed"); return; }
  pass_plan(g, NULL);
  ir_try_end(&t);
  CU_ASSERT_EQUAL(ir_verify(g, "plan"), 0);
  CU_ASSERT_EQUAL(validate(g), 0);
}

/* x -> relu -> relu -> relu -> relu -> y: one block, computed in place */
static void test_chain_in_place(void) {
  Graph *g = ir_graph_new("chain", "t");
  Tensor *x = act(g, "x", 4, 8, 8);
  ir_add_input(g, x);
  Tensor *prev = x;
  for (int i = 0; i < 3; i++) {
    Tensor *t = act(g, ir_fmt(g, "t%d", i), 4, 8, 8);
    unary(g, OP_RELU, prev, t);
    prev = t;
  }
  Tensor *y = act(g, "y", 4, 8, 8);
  unary(g, OP_SIGMOID, prev, y);
  ir_add_output(g, y);
  run_plan(g);
  CU_ASSERT_EQUAL(g->arena_bytes, 4 * 8 * 8 * 4);
  CU_ASSERT_EQUAL(ir_find_tensor(g, "t0")->offset, ir_find_tensor(g, "t2")->offset);
  CU_ASSERT_EQUAL(y->offset, -1);
  CU_ASSERT_EQUAL(x->offset, -1);
  PlanSummary s;
  plan_summary(g, &s);
  CU_ASSERT_EQUAL(s.arena_bytes, 1024);
  CU_ASSERT_EQUAL(s.lower_bound_bytes, 1024);
  CU_ASSERT_EQUAL(s.naive_bytes, 3 * 1024);
  ir_graph_free(g);
}

/* a value read again later cannot be overwritten in place */
static void test_no_in_place_when_read_later(void) {
  Graph *g = ir_graph_new("fork", "t");
  Tensor *x = act(g, "x", 2, 4, 4), *a = act(g, "a", 2, 4, 4), *b = act(g, "b", 2, 4, 4);
  Tensor *c = act(g, "c", 2, 4, 4), *y = act(g, "y", 2, 4, 4);
  ir_add_input(g, x);
  unary(g, OP_SIGMOID, x, a);
  unary(g, OP_RELU, a, b);        /* a still read by the add: b needs its own place */
  binary(g, OP_ADD, a, b, c);     /* both die here: c over one of them */
  unary(g, OP_RELU, c, y);
  ir_add_output(g, y);
  run_plan(g);
  CU_ASSERT_NOT_EQUAL(a->offset, b->offset);
  CU_ASSERT(c->offset == a->offset || c->offset == b->offset);
  CU_ASSERT_EQUAL(g->arena_bytes, 2 * 128);
  ir_graph_free(g);
}

/* views alias their source and keep it alive */
static void test_views_alias(void) {
  Graph *g = ir_graph_new("views", "t");
  Tensor *x = act(g, "x", 8, 2, 2), *a = act(g, "a", 8, 2, 2);
  int64_t d2[2] = {1, 32};
  Tensor *f = ir_tensor(g, "f", DT_FLOAT, 2, d2), *r = ir_tensor(g, "r", DT_FLOAT, 2, d2);
  Tensor *fx = ir_tensor(g, "fx", DT_FLOAT, 2, d2), *y = ir_tensor(g, "y", DT_FLOAT, 2, d2);
  ir_add_input(g, x);
  unary(g, OP_SIGMOID, x, a);
  Node *fl = unary(g, OP_FLATTEN, a, f);
  fl->a.axis = 1;
  unary(g, OP_FLATTEN, x, fx)->a.axis = 1;       /* a view of the input */
  unary(g, OP_RELU, f, r);
  binary(g, OP_ADD, r, fx, y);
  ir_add_output(g, y);
  run_plan(g);
  CU_ASSERT_PTR_EQUAL(f->alias, a);
  CU_ASSERT_EQUAL(f->offset, a->offset);
  CU_ASSERT_PTR_EQUAL(fx->alias, x);
  CU_ASSERT_EQUAL(fx->offset, -1);
  /* r may overwrite a (through its view f): a dies at the relu */
  CU_ASSERT_EQUAL(r->offset, a->offset);
  CU_ASSERT_EQUAL(g->arena_bytes, 128);
  ir_graph_free(g);
}

/* a conv reading x both as data and as residual must not write over x */
static void test_conv_residual_in_place(void) {
  Graph *g = ir_graph_new("res", "t");
  Tensor *x = act(g, "x", 4, 6, 6), *a = act(g, "a", 4, 6, 6), *b = act(g, "b", 4, 6, 6);
  Tensor *c = act(g, "c", 4, 6, 6), *y = act(g, "y", 4, 6, 6);
  ir_add_input(g, x);
  unary(g, OP_SIGMOID, x, a);
  conv(g, a, b, NULL);
  conv(g, b, c, a)->a.act = ACT_RELU;     /* a dies here: c over a */
  conv(g, c, y, c);                       /* reads c twice: no in place */
  ir_add_output(g, y);
  run_plan(g);
  CU_ASSERT_EQUAL(c->offset, a->offset);
  ir_graph_free(g);

  g = ir_graph_new("res2", "t");
  x = act(g, "x", 4, 6, 6);
  a = act(g, "a", 4, 6, 6);
  b = act(g, "b", 4, 6, 6);
  y = act(g, "y", 4, 6, 6);
  ir_add_input(g, x);
  unary(g, OP_SIGMOID, x, a);
  conv(g, a, b, a);                       /* conv(a) + a: b needs its own place */
  unary(g, OP_RELU, b, y);
  ir_add_output(g, y);
  run_plan(g);
  CU_ASSERT_NOT_EQUAL(a->offset, b->offset);
  ir_graph_free(g);
}

/* Seeded random DAGs of element-wise ops, convs and concats of various
 * sizes: always valid, arena between the lower bound and the naive sum. */
static void test_random_graphs(void) {
  unsigned seed = 12345;
  for (int iter = 0; iter < 200; iter++) {
    Graph *g = ir_graph_new("rand", "t");
    Tensor *pool[64];
    int np = 0;
    Tensor *x = act(g, "x", 4, 4, 4);
    ir_add_input(g, x);
    pool[np++] = x;
    int nn = 4 + (int)((seed = seed * 1103515245u + 12345u) >> 16) % 40;
    for (int i = 0; i < nn && np < 64; i++) {
      unsigned r = (seed = seed * 1103515245u + 12345u) >> 16;
      Tensor *s1 = pool[np - 1 - (int)(r % (unsigned)(np < 6 ? np : 6))];
      int64_t c = s1->dims[1];
      Tensor *t;
      switch ((r >> 4) % 5) {
      case 0:
        t = act(g, ir_fmt(g, "r%d", i), c, 4, 4);
        unary(g, OP_RELU, s1, t);
        break;
      case 1: {
        Tensor *s2 = pool[(r >> 8) % (unsigned)np];
        if (s2->dims[1] != c) s2 = s1;
        t = act(g, ir_fmt(g, "a%d", i), c, 4, 4);
        binary(g, OP_ADD, s1, s2, t);
        break;
      }
      case 2:
        t = act(g, ir_fmt(g, "c%d", i), 1 + (int64_t)((r >> 9) % 16), 4, 4);
        conv(g, s1, t, NULL);
        break;
      case 3: {
        Tensor *res = pool[(r >> 8) % (unsigned)np];
        t = act(g, ir_fmt(g, "k%d", i), res->dims[1], 4, 4);
        conv(g, s1, t, res);
        break;
      }
      default: {
        Tensor *s2 = pool[(r >> 8) % (unsigned)np];
        t = act(g, ir_fmt(g, "j%d", i), c + s2->dims[1], 4, 4);
        Tensor *in[2] = {s1, s2};
        ir_node(g, OP_CONCAT, t->name, 2, in, 1, &t)->a.axis = 1;
        break;
      }
      }
      pool[np++] = t;
    }
    ir_add_output(g, pool[np - 1]);
    run_plan(g);
    PlanSummary s;
    plan_summary(g, &s);
    CU_ASSERT(s.lower_bound_bytes <= s.arena_bytes);
    CU_ASSERT(s.arena_bytes <= s.naive_bytes);
    CU_ASSERT_EQUAL(s.arena_bytes, g->arena_bytes);
    ir_graph_free(g);
  }
}

/* re-planning a planned graph gives the same arena (offsets reset) */
static void test_replan(void) {
  Graph *g = ir_graph_new("replan", "t");
  Tensor *x = act(g, "x", 4, 8, 8), *a = act(g, "a", 8, 8, 8), *b = act(g, "b", 4, 8, 8);
  Tensor *y = act(g, "y", 4, 8, 8);
  ir_add_input(g, x);
  conv(g, x, a, NULL);
  conv(g, a, b, NULL);
  binary(g, OP_ADD, b, x, y);
  ir_add_output(g, y);
  run_plan(g);
  int64_t arena = g->arena_bytes;
  run_plan(g);
  CU_ASSERT_EQUAL(g->arena_bytes, arena);
  CU_ASSERT_EQUAL(arena, 8 * 64 * 4 + 4 * 64 * 4);
  ir_graph_free(g);
}

/* a standalone BN works in place; a Cast never does (restrict kernels) */
static void test_bn_cast_in_place(void) {
  Graph *g = ir_graph_new("bncast", "t");
  Tensor *x = act(g, "x", 2, 4, 4), *a = act(g, "a", 2, 4, 4), *b = act(g, "b", 2, 4, 4);
  int64_t d[4] = {1, 2, 4, 4}, c2 = 2;
  Tensor *c = ir_tensor(g, "c", DT_INT32, 4, d), *y = ir_tensor(g, "y", DT_INT32, 4, d);
  ir_add_input(g, x);
  unary(g, OP_SIGMOID, x, a);
  float one[2] = {1, 1}, zero[2] = {0, 0};
  Tensor *in[5] = {a, ir_const(g, "g", DT_FLOAT, 1, &c2, one, 0), ir_const(g, "be", DT_FLOAT, 1, &c2, zero, 0),
                   ir_const(g, "m", DT_FLOAT, 1, &c2, zero, 0), ir_const(g, "v", DT_FLOAT, 1, &c2, one, 0)};
  ir_node(g, OP_BATCHNORM, "bn", 5, in, 1, &b);
  unary(g, OP_CAST, b, c)->a.to = DT_INT32;
  unary(g, OP_RELU, c, y);
  ir_add_output(g, y);
  run_plan(g);
  CU_ASSERT_EQUAL(a->offset, b->offset);
  CU_ASSERT_NOT_EQUAL(b->offset, c->offset);
  ir_graph_free(g);
}

/* two branches, each a big then a small tensor: running one branch to
 * its end before the other lowers the peak; the planner reorders */
static void test_reorder(void) {
  Graph *g = ir_graph_new("branches", "t");
  Tensor *x = act(g, "x", 1, 8, 8), *a1 = act(g, "a1", 16, 8, 8), *b1 = act(g, "b1", 16, 8, 8);
  Tensor *a2 = act(g, "a2", 1, 8, 8), *b2 = act(g, "b2", 1, 8, 8), *y = act(g, "y", 1, 8, 8);
  ir_add_input(g, x);
  conv(g, x, a1, NULL);
  conv(g, x, b1, NULL);
  conv(g, a1, a2, NULL);
  conv(g, b1, b2, NULL);
  binary(g, OP_ADD, a2, b2, y);
  ir_add_output(g, y);
  PassStats st;
  memset(&st, 0, sizeof st);
  ir_relink(g);
  IrTry t;
  if (ir_try_begin(&t)) { CU_FAIL("plan failed"); ir_graph_free(g); return; }
  pass_plan(g, &st);
  ir_try_end(&t);
  CU_ASSERT_EQUAL(ir_verify(g, "plan"), 0);
  CU_ASSERT_EQUAL(validate(g), 0);
  /* a1, a2 before b1: the big tensors never live together */
  CU_ASSERT_PTR_EQUAL(g->nodes[1]->out[0], a2);
  CU_ASSERT_EQUAL(g->arena_bytes, 16 * 64 * 4 + 2 * 64 * 4);
  ir_graph_free(g);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("pass_plan", NULL, NULL);
  CU_add_test(s, "chain in place", test_chain_in_place);
  CU_add_test(s, "no in place when read later", test_no_in_place_when_read_later);
  CU_add_test(s, "views alias", test_views_alias);
  CU_add_test(s, "conv residual in place", test_conv_residual_in_place);
  CU_add_test(s, "random graphs", test_random_graphs);
  CU_add_test(s, "replan", test_replan);
  CU_add_test(s, "bn and cast in place", test_bn_cast_in_place);
  CU_add_test(s, "reorder for memory", test_reorder);
  return rn_run_tests();
}
