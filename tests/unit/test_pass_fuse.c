/* test_pass_fuse.c - epilogue fusion on small graphs: same outputs before
 * and after (reference evaluator), and the expected op sequence. */
#include <stdint.h>

#include "passtest.h"

static void fold_then_fuse(Graph *g, PassStats *st) {
  pass_fold_bn(g, st);
  pass_fuse(g, st);
}

static Tensor *relu(Graph *g, Tensor *x) {
  Tensor *y = pt_t(g, "relu", x->rank, x->dims);
  pt_unary(g, OP_RELU, x, y);
  return y;
}

static Tensor *add(Graph *g, Tensor *a, Tensor *b) {
  Tensor *y = pt_t(g, "add", a->rank, a->dims);
  pt_binary(g, OP_ADD, a, b, y);
  return y;
}

/* Conv + Relu / Clip / LeakyRelu */
static void test_conv_act(void) {
  const char *want[4] = {"Conv(+relu)", "Conv(+clip)", "Conv(+leakyrelu)", "Conv(+clip)"};
  for (int v = 0; v < 4; v++) {
    Graph *g = ir_graph_new("act", "t");
    Tensor *x = pt_input4(g, "x", 1, 3, 6, 6), *c;
    pt_conv(g, x, 5, 3, 1, 1, 1, 1, &c);
    Tensor *y = pt_t(g, "y", 4, c->dims);
    if (v == 0) pt_unary(g, OP_RELU, c, y);
    else if (v == 1) {
      Tensor *in[3] = {c, ir_const_scalar_f32(g, "lo", -0.1f), ir_const_scalar_f32(g, "hi", 0.2f)};
      ir_node(g, OP_CLIP, "clip", 3, in, 1, &y);
    } else if (v == 2) {
      pt_unary(g, OP_LEAKYRELU, c, y)->a.alpha = 0.3;
    } else {      /* min above max: everything is max */
      Tensor *in[3] = {c, ir_const_scalar_f32(g, "lo", 0.3f), ir_const_scalar_f32(g, "hi", -0.2f)};
      ir_node(g, OP_CLIP, "clip", 3, in, 1, &y);
    }
    ir_add_output(g, y);
    CU_ASSERT(pt_check_pass(g, pass_fuse, 1e-5));
    PT_SEQ(g, want[v]);
    CU_ASSERT_STRING_EQUAL(g->outputs[0]->name, "y");
    ir_graph_free(g);
  }
}

/* basic block: Conv BN Relu Conv BN Add(identity) Relu */
static void test_basic_block(void) {
  Graph *g = ir_graph_new("block", "t");
  Tensor *x = pt_input4(g, "x", 2, 4, 6, 6), *s, *c1, *b1, *c2, *b2;
  pt_conv(g, x, 4, 3, 1, 1, 1, 1, &s);
  Tensor *r0 = relu(g, s);
  pt_conv(g, r0, 4, 3, 1, 1, 1, 0, &c1);
  pt_bn(g, c1, &b1);
  pt_conv(g, relu(g, b1), 4, 3, 1, 1, 1, 0, &c2);
  pt_bn(g, c2, &b2);
  Tensor *y = relu(g, add(g, b2, r0));
  ir_add_output(g, y);
  CU_ASSERT(pt_check_pass(g, fold_then_fuse, 1e-5));
  PT_SEQ(g, "Conv(+relu) Conv(+relu) Conv(+residual,+relu)");
  CU_ASSERT_EQUAL(pt_count_op(g, OP_BATCHNORM) + pt_count_op(g, OP_ADD) + pt_count_op(g, OP_RELU), 0);
  ir_graph_free(g);
}

/* projection shortcut computed after the main branch: the host conv moves
 * after it (the residual is written before it is read) */
static void test_projection_block(void) {
  Graph *g = ir_graph_new("proj", "t");
  Tensor *x = pt_input4(g, "x", 1, 4, 8, 8), *c1, *c2, *ds;
  pt_conv(g, x, 8, 3, 2, 1, 1, 1, &c1);
  pt_conv(g, relu(g, c1), 8, 3, 1, 1, 1, 1, &c2);
  pt_conv(g, x, 8, 1, 2, 0, 1, 1, &ds);
  Tensor *y = relu(g, add(g, c2, ds));
  ir_add_output(g, y);
  CU_ASSERT(pt_check_pass(g, pass_fuse, 1e-5));
  PT_SEQ(g, "Conv(+relu) Conv Conv(+residual,+relu)");
  /* the host is the 3x3 conv of the main branch, reading the 1x1 output */
  Node *last = g->nodes[2];
  CU_ASSERT_EQUAL(last->a.kernel[0], 3);
  CU_ASSERT_PTR_EQUAL(last->in[3], g->nodes[1]->out[0]);
  ir_graph_free(g);
}

/* option-A shortcut: Slice(H, step 2), Slice(W, step 2), Pad(channels)
 * read in place by the conv's epilogue, never materialised */
static Tensor *slice(Graph *g, Tensor *x, int64_t axis, int64_t start, int64_t step) {
  int64_t d[IR_MAX_RANK];
  memcpy(d, x->dims, sizeof d);
  int64_t s0 = start < 0 ? start + x->dims[axis] : start;
  d[axis] = (x->dims[axis] - s0 + step - 1) / step;
  Tensor *y = pt_t(g, "slice", x->rank, d);
  int64_t e = INT64_MAX;
  Tensor *in[5] = {x, ir_const_i64(g, "starts", 1, &start), ir_const_i64(g, "ends", 1, &e),
                   ir_const_i64(g, "axes", 1, &axis), ir_const_i64(g, "steps", 1, &step)};
  ir_node(g, OP_SLICE, y->name, 5, in, 1, &y);
  return y;
}

static Tensor *pad_channels(Graph *g, Tensor *x, int64_t before, int64_t after) {
  int64_t d[4] = {x->dims[0], x->dims[1] + before + after, x->dims[2], x->dims[3]};
  Tensor *y = pt_t(g, "pad", 4, d);
  int64_t p[8] = {0, before, 0, 0, 0, after, 0, 0};
  Tensor *in[2] = {x, ir_const_i64(g, "pads", 8, p)};
  ir_node(g, OP_PAD, y->name, 2, in, 1, &y);
  return y;
}

static void test_option_a(void) {
  for (int v = 0; v < 3; v++) {
    Graph *g = ir_graph_new("optA", "t");
    Tensor *x = pt_input4(g, "x", 2, 4, 8, 7), *s, *c1, *c2;
    pt_conv(g, x, 4, 3, 1, 1, 1, 1, &s);
    Tensor *r0 = relu(g, s);
    pt_conv(g, r0, 8, 3, 2, 1, 1, 1, &c1);
    pt_conv(g, relu(g, c1), 8, 3, 1, 1, 1, 1, &c2);
    Tensor *sc;
    if (v == 0)       /* the CIFAR form: x[:, :, ::2, ::2] padded by 2+2 channels */
      sc = pad_channels(g, slice(g, slice(g, r0, 2, 0, 2), 3, 0, 2), 2, 2);
    else if (v == 1)  /* pad first, odd offsets, uneven channel pads */
      sc = slice(g, slice(g, pad_channels(g, r0, 3, 1), 3, 0, 2), 2, 1, 2);
    else              /* two pads, one slice per axis, starts from the end */
      sc = pad_channels(g, slice(g, slice(g, pad_channels(g, r0, 1, 0), 2, -7, 2), 3, 0, 2), 0, 3);
    IR_ASSERT(sc->dims[1] == 8 && sc->dims[2] == c2->dims[2] && sc->dims[3] == c2->dims[3]);
    Tensor *y = relu(g, add(g, c2, sc));
    ir_add_output(g, y);
    CU_ASSERT(pt_check_pass(g, pass_fuse, 1e-5));
    PT_SEQ(g, "Conv(+relu) Conv(+relu) Conv(+residual_view,+relu)");
    Node *h = g->nodes[2];
    CU_ASSERT_PTR_EQUAL(h->in[3], g->nodes[0]->out[0]);
    CU_ASSERT_EQUAL(h->a.res_view, 1);
    ir_graph_free(g);
  }
}

/* a shortcut whose slice is read elsewhere too is materialised up to
 * there; a Pad of non-zero value is not a zero-padded shortcut */
static void test_option_a_limits(void) {
  Graph *g = ir_graph_new("optA2", "t");
  Tensor *x = pt_input4(g, "x", 1, 4, 8, 8), *c1, *c2;
  pt_conv(g, x, 8, 3, 2, 1, 1, 1, &c1);
  pt_conv(g, relu(g, c1), 8, 3, 1, 1, 1, 1, &c2);
  Tensor *sl = slice(g, slice(g, x, 2, 0, 2), 3, 0, 2);
  Tensor *pd = pad_channels(g, sl, 2, 2);
  Node *p = pd->producer;
  Tensor *in[3] = {p->in[0], p->in[1], ir_const_scalar_f32(g, "one", 1.0f)};
  p->in = ir_alloc(g, sizeof in + sizeof(Tensor *));
  memcpy(p->in, in, sizeof in);
  p->nin = 3;
  Tensor *y = relu(g, add(g, c2, pd));
  ir_add_output(g, y);
  ir_add_output(g, sl);
  CU_ASSERT(pt_check_pass(g, pass_fuse, 1e-5));
  PT_SEQ(g, "Conv(+relu) Slice Slice Pad Conv(+residual,+relu)");
  ir_graph_free(g);
}

/* fusion only when the intermediate has one reader and is no output */
static void test_no_fusion_when_shared(void) {
  Graph *g = ir_graph_new("shared", "t");
  Tensor *x = pt_input4(g, "x", 1, 3, 4, 4), *c, *d;
  pt_conv(g, x, 3, 1, 1, 0, 1, 1, &c);
  Tensor *r = relu(g, c);
  pt_conv(g, x, 3, 1, 1, 0, 1, 1, &d);
  Tensor *s = add(g, d, c);      /* c read twice: the relu can't take it */
  ir_add_output(g, r);
  ir_add_output(g, s);
  ir_add_output(g, d);           /* d is an output: the add can't take it */
  CU_ASSERT(pt_check_pass(g, pass_fuse, 1e-5));
  PT_SEQ(g, "Conv Relu Conv Add");
  ir_graph_free(g);
}

/* pre-activation network: BN on residual sums can't fold into weights;
 * the conv producing the sum writes the normalised value as out[1] */
static void test_preactivation(void) {
  Graph *g = ir_graph_new("preact", "t");
  Tensor *x = pt_input4(g, "x", 2, 4, 6, 6), *s0, *b1, *c1, *b2, *c2, *b3, *c3, *b4;
  pt_conv(g, x, 4, 3, 1, 1, 1, 0, &s0);
  pt_bn(g, s0, &b1);
  pt_conv(g, relu(g, b1), 4, 3, 1, 1, 1, 0, &c1);
  pt_bn(g, c1, &b2);
  pt_conv(g, relu(g, b2), 4, 3, 1, 1, 1, 0, &c2);
  Tensor *s1 = add(g, c2, s0);
  pt_bn(g, s1, &b3);
  pt_conv(g, relu(g, b3), 4, 3, 1, 1, 1, 0, &c3);
  Tensor *s2 = add(g, c3, s1);
  pt_bn(g, s2, &b4);
  Tensor *gp = pt_t4(g, "gap", 2, 4, 1, 1);
  pt_unary(g, OP_GLOBALAVERAGEPOOL, relu(g, b4), gp);
  int64_t fd[2] = {2, 4};
  Tensor *fl = pt_t(g, "flat", 2, fd), *y;
  pt_unary(g, OP_FLATTEN, gp, fl)->a.axis = 1;
  pt_gemm(g, fl, 3, 1, 1, &y);
  ir_add_output(g, y);
  CU_ASSERT(pt_check_pass(g, fold_then_fuse, 1e-5));
  PT_SEQ(g, "Conv(+bn_relu) Conv(+relu) Conv(+residual,+bn_relu) Conv(+residual,+bn_relu) "
            "GlobalAveragePool Gemm(+flatten)");
  CU_ASSERT_EQUAL(pt_count_op(g, OP_BATCHNORM) + pt_count_op(g, OP_ADD) + pt_count_op(g, OP_RELU), 0);
  ir_graph_free(g);
}

/* MatMul + Add(bias) + Relu becomes one Gemm; Conv + per-channel constant
 * goes into the bias */
static void test_bias(void) {
  Graph *g = ir_graph_new("mm", "t");
  int64_t ad[2] = {3, 5}, bd[2] = {5, 4}, yd[2] = {3, 4}, n = 4;
  Tensor *a = pt_t(g, "a", 2, ad), *m = pt_t(g, "m", 2, yd);
  ir_add_input(g, a);
  pt_binary(g, OP_MATMUL, a, pt_rconst(g, "B", 2, bd, -1, 1), m);
  Tensor *y = relu(g, add(g, m, pt_rconst(g, "bias", 1, &n, -1, 1)));
  ir_add_output(g, y);
  CU_ASSERT(pt_check_pass(g, pass_fuse, 1e-5));
  PT_SEQ(g, "Gemm(+relu)");
  ir_graph_free(g);

  g = ir_graph_new("convbias", "t");
  Tensor *x = pt_input4(g, "x", 1, 3, 5, 5), *c;
  pt_conv(g, x, 4, 3, 1, 1, 1, 1, &c);
  int64_t cd[3] = {4, 1, 1};
  Tensor *z = pt_t(g, "z", 4, c->dims);
  pt_binary(g, OP_ADD, pt_rconst(g, "cb", 3, cd, -1, 1), c, z);
  y = relu(g, z);
  ir_add_output(g, y);
  CU_ASSERT(pt_check_pass(g, pass_fuse, 1e-5));
  PT_SEQ(g, "Conv(+relu)");
  ir_graph_free(g);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("pass_fuse", NULL, NULL);
  CU_add_test(s, "conv + activation", test_conv_act);
  CU_add_test(s, "basic block", test_basic_block);
  CU_add_test(s, "projection block", test_projection_block);
  CU_add_test(s, "option-A shortcut", test_option_a);
  CU_add_test(s, "option-A limits", test_option_a_limits);
  CU_add_test(s, "no fusion when shared", test_no_fusion_when_shared);
  CU_add_test(s, "pre-activation", test_preactivation);
  CU_add_test(s, "bias", test_bias);
  return rn_run_tests();
}
