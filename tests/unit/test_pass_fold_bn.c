/* test_pass_fold_bn.c - BatchNorm folding on small graphs: the reference
 * evaluator gives the same outputs before and after, and the BN is gone
 * exactly when folding is correct. */
#include "passtest.h"

/* x -> Conv -> BN -> Relu -> y, with and without bias, grouped */
static void test_conv_bn(void) {
  for (int variant = 0; variant < 4; variant++) {
    Graph *g = ir_graph_new("conv_bn", "t");
    Tensor *x = pt_input4(g, "x", 2, 4, 7, 6), *c, *b, *y = pt_t4(g, "y", 0, 0, 0, 0);
    int group = variant >= 2 ? 2 : 1;
    pt_conv(g, x, 6, 3, 1 + (variant & 1), 1, group, variant & 1, &c);
    pt_bn(g, c, &b);
    memcpy(y->dims, b->dims, sizeof y->dims);
    pt_unary(g, OP_RELU, b, y);
    ir_add_output(g, y);
    CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
    PT_SEQ(g, "Conv Relu");
    CU_ASSERT_EQUAL(g->nodes[0]->nin, 3);       /* a bias now */
    ir_graph_free(g);
  }
}

/* the conv output read elsewhere too: the weights cannot change */
static void test_conv_bn_shared_output(void) {
  Graph *g = ir_graph_new("shared", "t");
  Tensor *x = pt_input4(g, "x", 1, 3, 5, 5), *c, *b;
  pt_conv(g, x, 4, 3, 1, 1, 1, 1, &c);
  pt_bn(g, c, &b);
  ir_add_output(g, b);
  ir_add_output(g, c);
  CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
  CU_ASSERT_EQUAL(pt_count_op(g, OP_BATCHNORM), 1);
  ir_graph_free(g);
}

/* BN -> Conv without padding folds into the conv after it */
static void test_bn_conv_unpadded(void) {
  for (int group = 1; group <= 3; group += 2) {
    Graph *g = ir_graph_new("bn_conv", "t");
    Tensor *x = pt_input4(g, "x", 2, 6, 6, 6), *b, *c;
    pt_bn(g, x, &b);
    pt_conv(g, b, 9, 3, 1, 0, group, group == 1, &c);
    ir_add_output(g, c);
    CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
    PT_SEQ(g, "Conv");
    ir_graph_free(g);
  }
}

/* BN -> Conv with padding: the padded positions would need the value
 * -shift/scale, so folding is wrong and the BN stays (the fuse pass then
 * computes it in its producer's epilogue).  Folding it anyway changes the
 * border outputs: the second half checks that a naive fold is detected. */
static void test_bn_conv_padded_stays(void) {
  Graph *g = ir_graph_new("bn_pad", "t");
  Tensor *x = pt_input4(g, "x", 1, 3, 5, 5), *b, *c;
  pt_bn(g, x, &b);
  pt_conv(g, b, 4, 3, 1, 1, 1, 1, &c);
  ir_add_output(g, c);
  CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
  CU_ASSERT_EQUAL(pt_count_op(g, OP_BATCHNORM), 1);
  /* the naive fold, made by hand by removing the padding check: pretend
   * the conv pads nothing, fold, restore the pads: outputs must differ */
  void *ref[1] = {0}, *bad[1] = {0};
  CU_ASSERT(pt_eval(g, 5, ref));
  Node *cv = g->nodes[1];
  cv->a.pad_begin[0] = cv->a.pad_begin[1] = cv->a.pad_end[0] = cv->a.pad_end[1] = 0;
  pass_fold_bn(g, NULL);
  cv->a.pad_begin[0] = cv->a.pad_begin[1] = cv->a.pad_end[0] = cv->a.pad_end[1] = 1;
  CU_ASSERT_EQUAL(pt_count_op(g, OP_BATCHNORM), 0);
  CU_ASSERT(pt_eval(g, 5, bad));
  if (ref[0] && bad[0])
    CU_ASSERT(rn_rel_err(bad[0], ref[0], (size_t)ir_numel(g->outputs[0]), NULL) > 1e-3);
  free(ref[0]);
  free(bad[0]);
  ir_graph_free(g);
}

/* with a zero shift the padding is right, whatever the scale */
static void test_bn_conv_padded_zero_shift(void) {
  Graph *g = ir_graph_new("bn_pad0", "t");
  Tensor *x = pt_input4(g, "x", 1, 3, 5, 5), *b, *c;
  Node *bn = pt_bn(g, x, &b);
  /* mean = beta = 0: the shift beta - mean*scale is exactly 0 */
  for (int i = 0; i < 3; i++) {
    ((float *)bn->in[2]->data)[i] = 0;
    ((float *)bn->in[3]->data)[i] = 0;
  }
  pt_conv(g, b, 4, 3, 1, 1, 1, 0, &c);
  ir_add_output(g, c);
  CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
  PT_SEQ(g, "Conv");
  ir_graph_free(g);
}

/* BN read by a conv and by a relu: not every reader can absorb it */
static void test_bn_two_readers(void) {
  Graph *g = ir_graph_new("bn2", "t");
  Tensor *x = pt_input4(g, "x", 1, 3, 4, 4), *b, *c, *r = pt_t4(g, "r", 1, 3, 4, 4);
  pt_bn(g, x, &b);
  pt_conv(g, b, 4, 1, 1, 0, 1, 1, &c);
  pt_unary(g, OP_RELU, b, r);
  ir_add_output(g, c);
  ir_add_output(g, r);
  CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
  CU_ASSERT_EQUAL(pt_count_op(g, OP_BATCHNORM), 1);
  ir_graph_free(g);
}

/* BN read by two unpadded convs: both absorb it */
static void test_bn_two_convs(void) {
  Graph *g = ir_graph_new("bn2c", "t");
  Tensor *x = pt_input4(g, "x", 1, 4, 4, 4), *b, *c1, *c2;
  pt_bn(g, x, &b);
  pt_conv(g, b, 4, 1, 1, 0, 1, 1, &c1);
  pt_conv(g, b, 2, 3, 2, 0, 2, 0, &c2);
  ir_add_output(g, c1);
  ir_add_output(g, c2);
  CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
  PT_SEQ(g, "Conv Conv");
  ir_graph_free(g);
}

/* Gemm -> BN (BatchNorm1d after a Linear), all bias forms */
static void test_gemm_bn(void) {
  for (int v = 0; v < 6; v++) {
    Graph *g = ir_graph_new("gemm_bn", "t");
    int64_t ad[2] = {3, 5};
    Tensor *a = pt_t(g, "a", 2, ad), *y, *b;
    ir_add_input(g, a);
    Node *gm = pt_gemm(g, a, 4, v & 1, 0, &y);
    gm->a.alpha = 0.75;
    gm->a.beta = 1.5;
    if (v >= 2) {
      /* C of shape [N], [M,N], [M,1], [] */
      int64_t cd[2][2] = {{4, 0}, {3, 4}};
      Tensor *cc = v == 2 ? pt_rconst(g, "C", 1, cd[0], -1, 1)
                 : v == 3 ? pt_rconst(g, "C", 2, cd[1], -1, 1)
                 : v == 4 ? pt_rconst(g, "C", 2, (int64_t[2]){3, 1}, -1, 1)
                          : pt_rconst(g, "C", 0, NULL, -1, 1);
      Tensor *in[3] = {gm->in[0], gm->in[1], cc};
      gm->in = ir_alloc(g, sizeof in + sizeof(Tensor *));
      memcpy(gm->in, in, sizeof in);
      gm->nin = 3;
    }
    pt_bn(g, y, &b);
    ir_add_output(g, b);
    CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
    PT_SEQ(g, "Gemm");
    ir_graph_free(g);
  }
}

/* BN -> Gemm (transA = 0) folds into the weights after it */
static void test_bn_gemm(void) {
  for (int tb = 0; tb < 2; tb++) {
    Graph *g = ir_graph_new("bn_gemm", "t");
    int64_t ad[2] = {2, 6};
    Tensor *a = pt_t(g, "a", 2, ad), *b, *y;
    ir_add_input(g, a);
    pt_bn(g, a, &b);
    Node *gm = pt_gemm(g, b, 3, tb, 1, &y);
    gm->a.alpha = 2.0;
    gm->a.beta = 0.5;
    ir_add_output(g, y);
    CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
    PT_SEQ(g, "Gemm");
    ir_graph_free(g);
  }
}

/* a BN whose output is a graph output, after a conv: folds, the output
 * keeps its name */
static void test_output_name_kept(void) {
  Graph *g = ir_graph_new("outname", "t");
  Tensor *x = pt_input4(g, "x", 1, 2, 3, 3), *c, *b;
  pt_conv(g, x, 2, 1, 1, 0, 1, 0, &c);
  pt_bn(g, c, &b);
  ir_add_output(g, b);
  const char *name = b->name;
  CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
  CU_ASSERT_STRING_EQUAL(g->outputs[0]->name, name);
  PT_SEQ(g, "Conv");
  ir_graph_free(g);
}

static Tensor *chan_op(Graph *g, Op op, Tensor *x, int const_first, double lo, double hi) {
  int64_t cd[3] = {x->dims[1], 1, 1};
  Tensor *c = pt_rconst(g, "cc", 3, cd, lo, hi), *y = pt_t(g, "aff", x->rank, x->dims);
  if (const_first) pt_binary(g, op, c, x, y);
  else pt_binary(g, op, x, c, y);
  return y;
}

/* Caffe2's BN + Mul + Add after a conv: all into the weights */
static void test_conv_affine_chain(void) {
  Graph *g = ir_graph_new("caffe2", "t");
  Tensor *x = pt_input4(g, "x", 1, 3, 6, 6), *c, *b;
  pt_conv(g, x, 5, 3, 1, 1, 1, 1, &c);
  pt_bn(g, c, &b);
  Tensor *y = chan_op(g, OP_ADD, chan_op(g, OP_MUL, b, 1, 0.5, 2), 0, -1, 1);
  Tensor *r = pt_t(g, "r", 4, y->dims);
  pt_unary(g, OP_RELU, y, r);
  ir_add_output(g, r);
  CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
  PT_SEQ(g, "Conv Relu");
  ir_graph_free(g);
}

/* after a Concat: BN, Mul, Add merge into one BN; the Relu then rides on
 * it (fuse); the padded conv after cannot take it */
static void test_affine_merge(void) {
  Graph *g = ir_graph_new("merge", "t");
  Tensor *x = pt_input4(g, "x", 1, 2, 5, 5), *x2 = pt_input4(g, "x2", 1, 3, 5, 5);
  Tensor *cat = pt_t4(g, "cat", 1, 5, 5, 5), *b, *c;
  Tensor *in[2] = {x, x2};
  ir_node(g, OP_CONCAT, "cat", 2, in, 1, &cat)->a.axis = 1;
  pt_bn(g, cat, &b);
  Tensor *y = chan_op(g, OP_SUB, chan_op(g, OP_DIV, chan_op(g, OP_MUL, b, 0, 0.5, 2), 0, 0.5, 2), 1, -1, 1);
  Tensor *r = pt_t(g, "r", 4, y->dims);
  pt_unary(g, OP_RELU, y, r);
  pt_conv(g, r, 4, 3, 1, 1, 1, 1, &c);
  ir_add_output(g, c);
  CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
  PT_SEQ(g, "Concat BatchNormalization Relu Conv");
  CU_ASSERT(pt_check_pass(g, pass_fuse, 1e-5));
  PT_SEQ(g, "Concat BatchNormalization(+relu) Conv");
  ir_graph_free(g);
}

/* a pure scale (Mul, Div) folds into a padded conv after it: zero stays
 * zero; a shift (Add) does not; a constant that is not per channel is no
 * affine map */
static void test_scale_into_padded_conv(void) {
  Op ops[3] = {OP_MUL, OP_DIV, OP_ADD};
  const char *want[3] = {"Conv", "Conv", "Add Conv"};
  for (int v = 0; v < 3; v++) {
    Graph *g = ir_graph_new("scale", "t");
    Tensor *x = pt_input4(g, "x", 1, 3, 5, 5), *c;
    pt_conv(g, chan_op(g, ops[v], x, 0, 0.5, 2), 4, 3, 1, 1, 1, 1, &c);
    ir_add_output(g, c);
    CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
    PT_SEQ(g, want[v]);
    ir_graph_free(g);
  }
  Graph *g = ir_graph_new("rowscale", "t");
  Tensor *x = pt_input4(g, "x", 1, 3, 5, 5), *c, *y = pt_t4(g, "y", 1, 3, 5, 5);
  int64_t rd[4] = {1, 1, 5, 1};
  pt_binary(g, OP_MUL, x, pt_rconst(g, "rows", 4, rd, 0.5, 2), y);
  pt_conv(g, y, 4, 1, 1, 0, 1, 1, &c);
  ir_add_output(g, c);
  CU_ASSERT(pt_check_pass(g, pass_fold_bn, 1e-5));
  PT_SEQ(g, "Mul Conv");
  ir_graph_free(g);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("pass_fold_bn", NULL, NULL);
  CU_add_test(s, "conv bn", test_conv_bn);
  CU_add_test(s, "conv bn, conv output shared", test_conv_bn_shared_output);
  CU_add_test(s, "bn conv unpadded", test_bn_conv_unpadded);
  CU_add_test(s, "bn conv padded stays", test_bn_conv_padded_stays);
  CU_add_test(s, "bn conv padded, zero shift", test_bn_conv_padded_zero_shift);
  CU_add_test(s, "bn with two kinds of readers", test_bn_two_readers);
  CU_add_test(s, "bn read by two convs", test_bn_two_convs);
  CU_add_test(s, "gemm bn", test_gemm_bn);
  CU_add_test(s, "bn gemm", test_bn_gemm);
  CU_add_test(s, "output name kept", test_output_name_kept);
  CU_add_test(s, "conv + affine chain", test_conv_affine_chain);
  CU_add_test(s, "affine maps merge", test_affine_merge);
  CU_add_test(s, "scale into padded conv", test_scale_into_padded_conv);
  return rn_run_tests();
}
