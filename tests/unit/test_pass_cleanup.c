/* test_pass_cleanup.c - the clean-up pass on small graphs: no-ops and dead
 * nodes go, graph outputs keep their names, and the reference evaluator
 * gives the same outputs before and after. */
#include "passtest.h"

static Tensor *like(Graph *g, const char *name, const Tensor *x) { return pt_t(g, name, x->rank, x->dims); }

/* Identity and inference Dropout disappear */
static void test_identity_dropout(void) {
  Graph *g = ir_graph_new("id", "t");
  Tensor *x = pt_input4(g, "x", 1, 2, 3, 3);
  Tensor *a = like(g, "a", x), *b = like(g, "b", x), *c = like(g, "c", x), *y = like(g, "y", x);
  pt_unary(g, OP_IDENTITY, x, a);
  pt_unary(g, OP_RELU, a, b);
  Tensor *ratio = ir_const_scalar_f32(g, "ratio", 0.5f);
  Tensor *din[2] = {b, ratio};
  ir_node(g, OP_DROPOUT, "drop", 2, din, 1, &c);
  pt_unary(g, OP_SIGMOID, c, y);
  ir_add_output(g, y);
  CU_ASSERT(pt_check_pass(g, pass_cleanup, 0));
  PT_SEQ(g, "Relu Sigmoid");
  ir_graph_free(g);
}

/* a Dropout whose mask is read: the mask becomes a constant of ones */
static void test_dropout_mask(void) {
  Graph *g = ir_graph_new("mask", "t");
  Tensor *x = pt_input4(g, "x", 1, 2, 2, 2);
  Tensor *d = like(g, "d", x), *m = ir_tensor(g, "m", DT_BOOL, 4, x->dims), *y = like(g, "y", x);
  Tensor *mf = like(g, "mf", x);
  Tensor *outs[2] = {d, m};
  ir_node(g, OP_DROPOUT, "drop", 1, &x, 2, outs);
  Node *cast = pt_unary(g, OP_CAST, m, mf);
  cast->a.to = DT_FLOAT;
  pt_binary(g, OP_MUL, d, mf, y);
  ir_add_output(g, y);
  CU_ASSERT(pt_check_pass(g, pass_cleanup, 0));
  CU_ASSERT_EQUAL(pt_count_op(g, OP_DROPOUT), 0);
  ir_graph_free(g);
}

/* an Identity writing a graph output from a graph input stays (a copy);
 * from a computed value, the producer writes the output directly */
static void test_identity_outputs(void) {
  Graph *g = ir_graph_new("io", "t");
  Tensor *x = pt_input4(g, "x", 1, 1, 2, 2), *y = like(g, "y", x);
  Tensor *r = like(g, "r", x), *z = like(g, "z", x);
  pt_unary(g, OP_IDENTITY, x, y);
  pt_unary(g, OP_RELU, x, r);
  pt_unary(g, OP_IDENTITY, r, z);
  ir_add_output(g, y);
  ir_add_output(g, z);
  CU_ASSERT(pt_check_pass(g, pass_cleanup, 0));
  PT_SEQ(g, "Identity Relu");
  CU_ASSERT_STRING_EQUAL(g->outputs[0]->name, "y");
  CU_ASSERT_STRING_EQUAL(g->outputs[1]->name, "z");
  CU_ASSERT_PTR_EQUAL(g->outputs[1]->producer, g->nodes[1]);
  ir_graph_free(g);

  /* a constant output through Identity, and the same value output twice */
  g = ir_graph_new("io2", "t");
  x = pt_input4(g, "x", 1, 1, 2, 2);
  int64_t d1 = 3;
  Tensor *c = pt_rconst(g, "c", 1, &d1, -1, 1), *cy = pt_t(g, "cy", 1, &d1);
  r = like(g, "r", x);
  Tensor *o1 = like(g, "o1", x), *o2 = like(g, "o2", x);
  pt_unary(g, OP_IDENTITY, c, cy);
  pt_unary(g, OP_RELU, x, r);
  pt_unary(g, OP_IDENTITY, r, o1);
  pt_unary(g, OP_IDENTITY, o1, o2);
  ir_add_output(g, cy);
  ir_add_output(g, o1);
  ir_add_output(g, o2);
  CU_ASSERT(pt_check_pass(g, pass_cleanup, 0));
  PT_SEQ(g, "Identity Relu Identity");
  ir_graph_free(g);
}

/* Flatten -> Reshape -> Unsqueeze collapse into one Reshape of the source */
static void test_view_chain(void) {
  Graph *g = ir_graph_new("views", "t");
  Tensor *x = pt_input4(g, "x", 2, 3, 2, 2);
  int64_t fd[2] = {2, 12}, rd[2] = {4, 6}, ud[3] = {4, 1, 6}, sh[2] = {4, 6}, ax = 1;
  Tensor *s = like(g, "s", x), *f = pt_t(g, "f", 2, fd), *r = pt_t(g, "r", 2, rd);
  Tensor *u = pt_t(g, "u", 3, ud), *y = pt_t(g, "y", 3, ud);
  pt_unary(g, OP_SIGMOID, x, s);
  pt_unary(g, OP_FLATTEN, s, f)->a.axis = 1;
  pt_binary(g, OP_RESHAPE, f, ir_const_i64(g, "shape", 2, sh), r);
  pt_binary(g, OP_UNSQUEEZE, r, ir_const_i64(g, "axes", 1, &ax), u);
  pt_unary(g, OP_RELU, u, y);
  ir_add_output(g, y);
  CU_ASSERT(pt_check_pass(g, pass_cleanup, 0));
  PT_SEQ(g, "Sigmoid Reshape Relu");
  CU_ASSERT_PTR_EQUAL(g->nodes[1]->in[0], g->nodes[0]->out[0]);
  ir_graph_free(g);
}

/* element-wise no-ops; a Mul by ones that broadcasts is not one */
static void test_noops(void) {
  Graph *g = ir_graph_new("noops", "t");
  Tensor *x = pt_input4(g, "x", 1, 2, 3, 3);
  int64_t cd[4] = {1, 2, 1, 1}, zero8[8] = {0}, perm[4] = {0, 1, 2, 3};
  Tensor *t1 = like(g, "t1", x), *t2 = like(g, "t2", x), *t3 = like(g, "t3", x), *t4 = like(g, "t4", x);
  Tensor *t5 = like(g, "t5", x), *t6 = like(g, "t6", x), *t7 = like(g, "t7", x), *t8 = like(g, "t8", x);
  pt_binary(g, OP_ADD, x, pt_fconst(g, "zero", 4, cd, 0), t1);
  pt_binary(g, OP_MUL, pt_fconst(g, "one", 0, NULL, 1), t1, t2);
  Node *tr = pt_unary(g, OP_TRANSPOSE, t2, t3);
  memcpy(tr->a.perm, perm, sizeof perm);
  tr->a.nperm = 4;
  pt_unary(g, OP_CAST, t3, t4)->a.to = DT_FLOAT;
  pt_binary(g, OP_PAD, t4, ir_const_i64(g, "pads", 8, zero8), t5);
  {
    int64_t st[2] = {0, 0}, en[2] = {INT64_MAX, 3}, axes[2] = {2, 3};
    Tensor *in[4] = {t5, ir_const_i64(g, "st", 2, st), ir_const_i64(g, "en", 2, en),
                     ir_const_i64(g, "axes", 2, axes)};
    ir_node(g, OP_SLICE, "slice", 4, in, 1, &t6);
  }
  ir_node(g, OP_CONCAT, "cat", 1, &t6, 1, &t7)->a.axis = 1;
  pt_binary(g, OP_DIV, t7, pt_fconst(g, "one", 1, cd + 3, 1), t8);
  int64_t bd[5] = {2, 1, 2, 3, 3};
  Tensor *y = pt_t(g, "y", 5, bd);     /* Mul by ones of [2,1,1,1,1]: broadcast */
  int64_t od[5] = {2, 1, 1, 1, 1};
  pt_binary(g, OP_MUL, t8, pt_fconst(g, "ones", 5, od, 1), y);
  ir_add_output(g, y);
  CU_ASSERT(pt_check_pass(g, pass_cleanup, 0));
  PT_SEQ(g, "Mul");
  ir_graph_free(g);
}

/* dead nodes go, Sum of two is Add, unread MaxPool indices dropped */
static void test_dead_and_rewrites(void) {
  Graph *g = ir_graph_new("dead", "t");
  Tensor *x = pt_input4(g, "x", 1, 2, 4, 4);
  Tensor *a = like(g, "a", x), *b = like(g, "b", x), *s = like(g, "s", x);
  int64_t pd[4] = {1, 2, 2, 2};
  Tensor *mp = pt_t(g, "mp", 4, pd), *idx = ir_tensor(g, "idx", DT_INT64, 4, pd);
  pt_unary(g, OP_RELU, x, a);
  pt_unary(g, OP_SIGMOID, a, b);            /* dead */
  Tensor *in[2] = {x, a};
  ir_node(g, OP_SUM, "sum", 2, in, 1, &s);
  Tensor *outs[2] = {mp, idx};
  Node *p = ir_node(g, OP_MAXPOOL, "pool", 1, &s, 2, outs);
  p->a.nsp = 2;
  p->a.kernel[0] = p->a.kernel[1] = 2;
  p->a.stride[0] = p->a.stride[1] = 2;
  ir_add_output(g, mp);
  CU_ASSERT(pt_check_pass(g, pass_cleanup, 0));
  PT_SEQ(g, "Relu Add MaxPool");
  CU_ASSERT_EQUAL(g->nodes[2]->nout, 1);
  CU_ASSERT_PTR_NULL(ir_find_tensor(g, "b"));
  CU_ASSERT_PTR_NULL(ir_find_tensor(g, "idx"));
  ir_graph_free(g);
}

/* an Identity of a constant goes, then the Relu reading it is folded */
static void test_constant_fold(void) {
  Graph *g = ir_graph_new("fold", "t");
  Tensor *x = pt_input4(g, "x", 1, 2, 2, 2);
  int64_t cd[4] = {1, 2, 1, 1};
  Tensor *c = pt_rconst(g, "c", 4, cd, -1, 1), *ci = pt_t(g, "ci", 4, cd), *cr = pt_t(g, "cr", 4, cd);
  Tensor *y = like(g, "y", x);
  pt_unary(g, OP_IDENTITY, c, ci);
  pt_unary(g, OP_RELU, ci, cr);
  pt_binary(g, OP_ADD, x, cr, y);
  ir_add_output(g, y);
  CU_ASSERT(pt_check_pass(g, pass_cleanup, 0));
  PT_SEQ(g, "Add");
  CU_ASSERT(ir_is_const(g->nodes[0]->in[1]));
  ir_graph_free(g);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("pass_cleanup", NULL, NULL);
  CU_add_test(s, "identity and dropout", test_identity_dropout);
  CU_add_test(s, "dropout mask", test_dropout_mask);
  CU_add_test(s, "identity and graph outputs", test_identity_outputs);
  CU_add_test(s, "view chain", test_view_chain);
  CU_add_test(s, "no-ops", test_noops);
  CU_add_test(s, "dead nodes and rewrites", test_dead_and_rewrites);
  CU_add_test(s, "constant folding", test_constant_fold);
  return rn_run_tests();
}
