/* test_pass_layout.c - the layout pass on small graphs: the same outputs
 * before and after (reference evaluator), the layouts it chose, and where
 * it put the layout changes (Identity nodes). */
#include <stdint.h>

#include "passtest.h"
#include "passutil.h"

static Tensor *unary(Graph *g, Op op, Tensor *x) {
  Tensor *y = pt_t(g, op_info[op].name, x->rank, x->dims);
  pt_unary(g, op, x, y);
  return y;
}

static int nchwc(const Tensor *t) { return t->layout == LAYOUT_NCHWC && t->block == 16; }

/* A ResNet-like chain: stem on the plain input, relu, maxpool, conv, add,
 * relu, global pool, flatten, gemm: blocked up to the pool, one layout
 * change before Flatten. */
static void test_resnet_chain(void) {
  Graph *g = ir_graph_new("chain", "t");
  Tensor *x = pt_input4(g, "x", 1, 3, 15, 13), *s, *c, *p, *f, *y;
  pt_conv(g, x, 32, 3, 2, 1, 1, 1, &s);
  Tensor *r = unary(g, OP_RELU, s);
  p = pt_t4(g, "pool", 1, 32, 4, 4);
  Node *mp = pt_unary(g, OP_MAXPOOL, r, p);
  mp->a.nsp = 2;
  for (int i = 0; i < 2; i++) {
    mp->a.kernel[i] = 3;
    mp->a.stride[i] = 2;
    mp->a.pad_begin[i] = mp->a.pad_end[i] = 1;
  }
  pt_conv(g, p, 32, 3, 1, 1, 1, 1, &c);
  Tensor *a = pt_t(g, "add", 4, c->dims);
  pt_binary(g, OP_ADD, c, p, a);
  Tensor *q = unary(g, OP_RELU, a);
  Tensor *gp = pt_t4(g, "gap", 1, 32, 1, 1);
  pt_unary(g, OP_GLOBALAVERAGEPOOL, q, gp);
  int64_t fd[2] = {1, 32};
  f = pt_t(g, "flat", 2, fd);
  pt_unary(g, OP_FLATTEN, gp, f)->a.axis = 1;
  pt_gemm(g, f, 10, 1, 1, &y);
  ir_add_output(g, y);
  CU_ASSERT(pt_check_pass(g, pass_layout, 1e-6));
  PT_SEQ(g, "Conv Relu MaxPool Conv Add Relu GlobalAveragePool Identity Flatten Gemm");
  CU_ASSERT(!nchwc(x));
  CU_ASSERT(nchwc(s) && nchwc(r) && nchwc(p) && nchwc(c) && nchwc(a) && nchwc(q) && nchwc(gp));
  CU_ASSERT(!nchwc(f) && !nchwc(y));
  CU_ASSERT_EQUAL(pt_count_op(g, OP_IDENTITY), 1);
  ir_graph_free(g);
}

/* Few channels stay plain (3 -> 16 would multiply the memory); 24 -> 32 is
 * blocked. */
static void test_few_channels(void) {
  static const int64_t chans[] = {3, 8, 10, 11, 24, 40};
  static const int blocked[] = {0, 0, 0, 1, 1, 1};
  for (int i = 0; i < 6; i++) {
    Graph *g = ir_graph_new("few", "t");
    Tensor *x = pt_input4(g, "x", 1, 5, 6, 6), *c;
    pt_conv(g, x, chans[i], 1, 1, 0, 1, 1, &c);
    Tensor *y = unary(g, OP_RELU, c);
    Tensor *z = unary(g, OP_SIGMOID, y);
    ir_add_output(g, z);
    CU_ASSERT(pt_check_pass(g, pass_layout, 1e-6));
    CU_ASSERT_EQUAL(nchwc(c), blocked[i]);
    CU_ASSERT_EQUAL(nchwc(y), blocked[i]);
    CU_ASSERT(!nchwc(g->outputs[0]));
    ir_graph_free(g);
  }
}

/* A blocked result that is a graph output: the output keeps its name and
 * the plain layout, filled by an Identity from a blocked copy; a second,
 * plain reader of a blocked tensor shares one layout change. */
static void test_outputs_and_shared_change(void) {
  Graph *g = ir_graph_new("out", "t");
  Tensor *x = pt_input4(g, "x", 1, 16, 5, 5), *c;
  pt_conv(g, x, 16, 3, 1, 1, 1, 1, &c);
  Tensor *y = unary(g, OP_RELU, c);
  ir_add_output(g, y);
  int64_t pd[4] = {1, 16, 5, 5};
  Tensor *t1 = pt_t(g, "tr", 4, pd), *t2 = pt_t(g, "dv", 4, pd);
  Node *tr = pt_unary(g, OP_TRANSPOSE, c, t1);
  tr->a.nperm = 4;
  tr->a.perm[0] = 0;
  tr->a.perm[1] = 1;
  tr->a.perm[2] = 3;
  tr->a.perm[3] = 2;
  pt_binary(g, OP_DIV, c, pt_fconst(g, "two", 4, pd, 2.0f), t2);
  ir_add_output(g, t1);
  ir_add_output(g, t2);
  const char *yname = y->name;
  CU_ASSERT(pt_check_pass(g, pass_layout, 1e-6));
  CU_ASSERT(g->outputs[0] == y);
  CU_ASSERT_STRING_EQUAL(g->outputs[0]->name, yname);
  CU_ASSERT(!nchwc(g->outputs[0]) && !nchwc(g->outputs[1]) && !nchwc(g->outputs[2]));
  CU_ASSERT(nchwc(c));
  /* one change for c (Transpose and Div share it), one for the output */
  CU_ASSERT_EQUAL(pt_count_op(g, OP_IDENTITY), 2);
  ir_graph_free(g);
}

/* A fused residual that is plain (here a graph input) is changed to the
 * blocked layout; a conv reads a plain input of many channels directly. */
static void test_residual_layout(void) {
  Graph *g = ir_graph_new("res", "t");
  Tensor *x = pt_input4(g, "x", 1, 32, 6, 6), *r = pt_input4(g, "r", 1, 32, 6, 6), *c;
  Node *cv = pt_conv(g, x, 32, 3, 1, 1, 1, 1, &c);
  Tensor *in[4] = {cv->in[0], cv->in[1], cv->in[2], r};
  pu_set_inputs(g, cv, 4, in);
  cv->a.act = ACT_RELU;
  Tensor *y = unary(g, OP_SIGMOID, c);
  ir_add_output(g, y);
  CU_ASSERT(pt_check_pass(g, pass_layout, 1e-6));
  CU_ASSERT(nchwc(c));
  CU_ASSERT(nchwc(cv->in[3]) && cv->in[3] != r);
  CU_ASSERT(cv->in[0] == x);
  PT_SEQ(g, "Identity Conv(+residual,+relu) Sigmoid Identity");
  ir_graph_free(g);
}

/* Layers the blocked kernels do not run (grouped conv, broadcasting Mul)
 * read plain copies; the ones after them start plain again. */
static void test_unsupported_neighbours(void) {
  Graph *g = ir_graph_new("mix", "t");
  Tensor *x = pt_input4(g, "x", 1, 32, 6, 6), *a, *b;
  pt_conv(g, x, 32, 3, 1, 1, 1, 1, &a);
  pt_conv(g, a, 32, 3, 1, 1, 4, 1, &b);        /* grouped: plain */
  int64_t sd[4] = {1, 32, 1, 1};
  Tensor *m = pt_t(g, "mul", 4, b->dims);
  pt_binary(g, OP_MUL, b, pt_rconst(g, "s", 4, sd, 0.5, 1.5), m);
  ir_add_output(g, m);
  CU_ASSERT(pt_check_pass(g, pass_layout, 1e-6));
  CU_ASSERT(nchwc(a) && !nchwc(b) && !nchwc(m));
  PT_SEQ(g, "Conv Identity Conv Mul");
  ir_graph_free(g);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("layout", NULL, NULL);
  CU_add_test(s, "resnet chain", test_resnet_chain);
  CU_add_test(s, "few channels stay plain", test_few_channels);
  CU_add_test(s, "outputs and a shared change", test_outputs_and_shared_change);
  CU_add_test(s, "residual layout", test_residual_layout);
  CU_add_test(s, "unsupported neighbours", test_unsupported_neighbours);
  return rn_run_tests();
}
