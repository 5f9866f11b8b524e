/* test_shape.c - shape inference and constant folding on small graphs built
 * in C: the shape rule of each op, auto_pad, broadcasting, the error
 * messages on bad input (checked by substring), overflow, and folding of the
 * exporter's Shape -> Gather -> Unsqueeze -> Concat -> Reshape chain. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "nodegraph.h"
#include "shape.h"
#include "testutil.h"

static Tensor *cf(const char *name, int rank, const int64_t *d) {   /* float const, 0.5 */
  int64_t n = 1;
  for (int i = 0; i < rank; i++) n *= d[i];
  float *v = ir_alloc(g, sizeof(float) * (size_t)(n ? n : 1));
  for (int64_t i = 0; i < n; i++) v[i] = 0.5f;
  return ir_const(g, name, DT_FLOAT, rank, d, v, 1);
}

static Tensor *ci(const char *name, int n, const int64_t *v) { return ir_const_i64(g, name, n, v); }

/* Runs shape inference on n, or when n is NULL shape_infer_and_fold on all
 * of g (constants up to maxb bytes); returns 0, or 1 when it failed with a
 * message containing want (a failure without it is a test failure). */
static int shape_run(Node *n, int64_t maxb, const char *want) {
  IrTry t;
  ir_quiet = 1;
  if (ir_try_begin(&t)) {
    ir_quiet = 0;
    if (!want || !strstr(t.msg, want)) {
      fprintf(stderr, "\n  unexpected error: %s\n  (wanted: %s)\n", t.msg, want ? want : "none");
      CU_FAIL("unexpected message");
    }
    return 1;
  }
  if (n) shape_infer_node(g, n);
  else shape_infer_and_fold(g, maxb);
  ir_try_end(&t);
  ir_quiet = 0;
  if (want) {
    fprintf(stderr, "\n  no error, wanted: %s\n", want);
    CU_FAIL("expected an error");
  }
  return 0;
}

static int infer(Node *n, const char *want) { return shape_run(n, 0, want); }
static int fold(int64_t maxb, const char *want) { return shape_run(NULL, maxb, want); }

static int shape_is(const Tensor *t, int rank, const int64_t *d) {
  char a[160], b[160];
  Tensor tmp;
  tmp.rank = rank;
  for (int i = 0; i < rank; i++) tmp.dims[i] = d[i];
  if (t->rank == rank && (rank == 0 || memcmp(t->dims, d, sizeof(int64_t) * (size_t)rank) == 0))
    return 1;
  fprintf(stderr, "\n  shape %s, expected %s\n", ir_shape_str(t, a, sizeof a),
          ir_shape_str(&tmp, b, sizeof b));
  return 0;
}

/* ---- Conv ------------------------------------------------------------- */

static void test_conv_basic(void) {
  fresh();
  Tensor *x = input("x", DT_FLOAT, 4, D(1, 3, 8, 8));
  Node *n = NODE(OP_CONV, 1, x, cf("w", 4, D(4, 3, 3, 3)), cf("b", 1, D(4)));
  n->a.pad_begin[0] = n->a.pad_begin[1] = n->a.pad_end[0] = n->a.pad_end[1] = 1;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 4, D(1, 4, 8, 8)));
  CU_ASSERT_EQUAL(n->out[0]->dtype, DT_FLOAT);
  CU_ASSERT_EQUAL(n->a.nsp, 2);
  CU_ASSERT_EQUAL(n->a.kernel[0], 3);
  CU_ASSERT_EQUAL(n->a.kernel[1], 3);

  /* strided, dilated, grouped, 1-D and 3-D */
  fresh();
  x = input("x", DT_FLOAT, 4, D(2, 8, 11, 10));
  n = NODE(OP_CONV, 1, x, cf("w", 4, D(6, 4, 3, 2)));
  n->a.group = 2;
  n->a.stride[0] = 2; n->a.stride[1] = 3;
  n->a.dilation[0] = 2;
  CU_ASSERT_FALSE(infer(n, NULL));
  /* H: (11 - 5)/2 + 1 = 4; W: (10 - 2)/3 + 1 = 3 */
  CU_ASSERT(shape_is(n->out[0], 4, D(2, 6, 4, 3)));

  fresh();
  x = input("x", DT_FLOAT, 3, D(1, 2, 9));
  n = NODE(OP_CONV, 1, x, cf("w", 3, D(5, 2, 4)));
  n->a.pad_begin[0] = 2;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 3, D(1, 5, 8)));
  CU_ASSERT_EQUAL(n->a.nsp, 1);

  fresh();
  x = input("x", DT_FLOAT, 5, D(1, 1, 4, 5, 6));
  n = NODE(OP_CONV, 1, x, cf("w", 5, D(2, 1, 2, 2, 2)));
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 5, D(1, 2, 3, 4, 5)));
}

static void test_auto_pad(void) {
  /* in 8, k 3, s 2: out 4, total pad (4-1)*2+3-8 = 1 */
  AutoPad modes[2] = {AP_SAME_UPPER, AP_SAME_LOWER};
  for (int m = 0; m < 2; m++) {
    fresh();
    Tensor *x = input("x", DT_FLOAT, 4, D(1, 1, 8, 7));
    Node *n = NODE(OP_CONV, 1, x, cf("w", 4, D(1, 1, 3, 3)));
    n->a.auto_pad = modes[m];
    n->a.stride[0] = n->a.stride[1] = 2;
    CU_ASSERT_FALSE(infer(n, NULL));
    CU_ASSERT(shape_is(n->out[0], 4, D(1, 1, 4, 4)));
    /* H: total 1 (upper: 0,1; lower: 1,0); W in 7: out 4, total 2 -> 1,1 */
    CU_ASSERT_EQUAL(n->a.pad_begin[0], m == 0 ? 0 : 1);
    CU_ASSERT_EQUAL(n->a.pad_end[0], m == 0 ? 1 : 0);
    CU_ASSERT_EQUAL(n->a.pad_begin[1], 1);
    CU_ASSERT_EQUAL(n->a.pad_end[1], 1);
    CU_ASSERT_EQUAL(n->a.auto_pad, AP_NOTSET);
  }
  /* VALID ignores explicit pads; SAME on a pool with dilation */
  fresh();
  Tensor *x = input("x", DT_FLOAT, 4, D(1, 1, 5, 5));
  Node *n = NODE(OP_MAXPOOL, 1, x);
  n->a.kernel[0] = n->a.kernel[1] = 2;
  n->a.pad_begin[0] = 3;
  n->a.auto_pad = AP_VALID;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 4, D(1, 1, 4, 4)));
  CU_ASSERT_EQUAL(n->a.pad_begin[0], 0);

  fresh();
  x = input("x", DT_FLOAT, 3, D(1, 1, 10));
  n = NODE(OP_AVERAGEPOOL, 1, x);
  n->a.kernel[0] = 3;
  n->a.dilation[0] = 2;
  n->a.auto_pad = AP_SAME_UPPER;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 3, D(1, 1, 10)));
  CU_ASSERT_EQUAL(n->a.pad_begin[0], 2);    /* effective kernel 5: total 4 */
  CU_ASSERT_EQUAL(n->a.pad_end[0], 2);
}

static void test_conv_errors(void) {
  fresh();
  Tensor *x = input("x", DT_FLOAT, 4, D(1, 32, 56, 56));
  Node *n = NODE(OP_CONV, 1, x, cf("w", 4, D(128, 64, 3, 3)));
  infer(n, "expects 64 input channels (weight [128,64,3,3], group 1), got 32");

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 6, 8, 8));
  n = NODE(OP_CONV, 1, x, cf("w", 4, D(5, 2, 3, 3)));
  n->a.group = 3;
  infer(n, "not a multiple of group 3");

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 6, 8, 8));
  n = NODE(OP_CONV, 1, x, cf("w", 4, D(4, 6, 3, 3)));
  n->a.group = 0;
  infer(n, "group is 0");

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 8, 8));
  n = NODE(OP_CONV, 1, x, cf("w", 4, D(4, 3, 3, 3)));
  n->a.stride[1] = 0;
  infer(n, "stride 0");

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 8, 8));
  n = NODE(OP_CONV, 1, x, cf("w", 4, D(4, 3, 3, 3)));
  n->a.dilation[0] = -1;
  infer(n, "dilation -1");

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 8, 8));
  n = NODE(OP_CONV, 1, x, cf("w", 4, D(4, 3, 3, 3)));
  n->a.pad_end[0] = INT64_MAX;
  infer(n, "overflows");

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 8, 8));
  n = NODE(OP_CONV, 1, x, cf("w", 4, D(4, 3, 3, 3)));
  n->a.dilation[0] = INT64_MAX / 2 + 7;
  infer(n, "overflows");

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 2, 8));
  n = NODE(OP_CONV, 1, x, cf("w", 4, D(4, 3, 3, 3)));
  infer(n, "larger than");

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 8, 8));
  n = NODE(OP_CONV, 1, x, cf("w", 4, D(4, 3, 3, 3)), cf("b", 1, D(5)));
  infer(n, "expected [4]");

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 8, 8));
  n = NODE(OP_CONV, 1, x, cf("w", 4, D(4, 3, 3, 3)));
  n->a.kernel[0] = 5;
  n->a.kernel[1] = 5;
  infer(n, "kernel_shape [5,5] does not match");

  fresh();
  x = input("x", DT_INT32, 4, D(1, 3, 8, 8));
  n = NODE(OP_CONV, 1, x, cf("w", 4, D(4, 3, 3, 3)));
  infer(n, "int32");

  fresh();
  x = input("x", DT_FLOAT, 2, D(3, 8));
  n = NODE(OP_CONV, 1, x, cf("w", 2, D(4, 3)));
  infer(n, "spatial");

  /* a residual must match the output */
  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 8, 8));
  Tensor *r = input("r", DT_FLOAT, 4, D(1, 4, 8, 7));
  n = NODE(OP_CONV, 1, x, cf("w", 4, D(4, 3, 3, 3)), NULL, r);
  n->a.pad_begin[0] = n->a.pad_begin[1] = n->a.pad_end[0] = n->a.pad_end[1] = 1;
  infer(n, "residual 'r' [1,4,8,7] does not match the output shape [1,4,8,8]");
}

/* The internal forms the fusion pass makes (ir.h): the option-A residual
 * view, the second normalised output, Gemm reading a flattened A. */
static void test_fused_forms(void) {
  fresh();
  Tensor *x = input("x", DT_FLOAT, 4, D(1, 16, 8, 8));
  Tensor *r = input("r", DT_FLOAT, 4, D(1, 16, 16, 16));
  Node *n = NODE(OP_CONV, 2, x, cf("w", 4, D(32, 16, 3, 3)), NULL, r, cf("s", 1, D(32)),
                 cf("t", 1, D(32)));
  for (int i = 0; i < 2; i++) {
    n->a.pad_begin[i] = n->a.pad_end[i] = 1;
    n->a.res_start[i] = 0;
    n->a.res_step[i] = 2;
  }
  n->a.res_view = 1;
  n->a.res_c0 = 8;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 4, D(1, 32, 8, 8)));
  CU_ASSERT(shape_is(n->out[1], 4, D(1, 32, 8, 8)));
  n->a.res_start[1] = 1;     /* 1 + 7*2 = 15: still inside */
  CU_ASSERT_FALSE(infer(n, NULL));
  n->a.res_start[1] = 2;     /* 2 + 7*2 = 16: outside */
  infer(n, "leaves spatial dimension 1");
  n->a.res_start[1] = 0;
  n->in[5] = cf("t2", 1, D(16));
  infer(n, "shift 't2' has shape [16]; expected [32]");
  n->in[5] = NULL;
  infer(n, "needs a scale and a shift");

  fresh();
  x = input("x", DT_FLOAT, 4, D(2, 512, 1, 1));
  n = NODE(OP_GEMM, 1, x, cf("w", 2, D(10, 512)), cf("b", 1, D(10)));
  n->a.trans_b = 1;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 2, D(2, 10)));
  n->a.trans_a = 1;
  infer(n, "must both be 2-D");
}

/* ---- pools ------------------------------------------------------------- */

static void test_pools(void) {
  fresh();
  Tensor *x = input("x", DT_FLOAT, 4, D(1, 2, 112, 112));
  Node *n = NODE(OP_MAXPOOL, 2, x);
  n->a.kernel[0] = n->a.kernel[1] = 3;
  n->a.stride[0] = n->a.stride[1] = 2;
  n->a.pad_begin[0] = n->a.pad_begin[1] = n->a.pad_end[0] = n->a.pad_end[1] = 1;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 4, D(1, 2, 56, 56)));
  CU_ASSERT(shape_is(n->out[1], 4, D(1, 2, 56, 56)));
  CU_ASSERT_EQUAL(n->out[1]->dtype, DT_INT64);

  /* ceil_mode: in 5, k 2, s 2 -> 3; with pad 1: (6-2)/2+1 = 3, ceil 4 but
   * the 4th window would start at 6 >= 5+1 (in the end padding): 3 */
  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 1, 5, 5));
  n = NODE(OP_AVERAGEPOOL, 1, x);
  n->a.kernel[0] = n->a.kernel[1] = 2;
  n->a.stride[0] = n->a.stride[1] = 2;
  n->a.ceil_mode = 1;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 4, D(1, 1, 3, 3)));
  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 1, 5, 5));
  n = NODE(OP_AVERAGEPOOL, 1, x);
  n->a.kernel[0] = n->a.kernel[1] = 2;
  n->a.stride[0] = n->a.stride[1] = 2;
  n->a.pad_begin[0] = n->a.pad_begin[1] = 1;
  n->a.pad_end[0] = n->a.pad_end[1] = 1;
  n->a.ceil_mode = 1;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 4, D(1, 1, 3, 3)));

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 1, 5, 5));
  n = NODE(OP_MAXPOOL, 1, x);
  infer(n, "kernel size 0");

  fresh();
  x = input("x", DT_INT32, 4, D(1, 1, 5, 5));
  n = NODE(OP_MAXPOOL, 1, x);
  n->a.kernel[0] = n->a.kernel[1] = 2;
  infer(n, "MaxPool takes float, int8 or uint8");

  fresh();
  x = input("x", DT_FLOAT, 5, D(2, 3, 4, 5, 6));
  n = NODE(OP_GLOBALAVERAGEPOOL, 1, x);
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 5, D(2, 3, 1, 1, 1)));
}

/* ---- elementwise and broadcasting -------------------------------------- */

static void test_broadcast(void) {
  fresh();
  Tensor *a = input("a", DT_FLOAT, 3, D(3, 1, 5)), *b = input("b", DT_FLOAT, 2, D(4, 1));
  Node *n = NODE(OP_ADD, 1, a, b);
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 3, D(3, 4, 5)));

  fresh();
  a = input("a", DT_INT16, 2, D(3, 4));
  b = input("b", DT_INT16, 0, NULL);
  n = NODE(OP_DIV, 1, a, b);
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 2, D(3, 4)));
  CU_ASSERT_EQUAL(n->out[0]->dtype, DT_INT16);

  /* a size-1 dim broadcasts against 0 */
  fresh();
  a = input("a", DT_FLOAT, 2, D(0, 4));
  b = input("b", DT_FLOAT, 2, D(1, 4));
  n = NODE(OP_MUL, 1, a, b);
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 2, D(0, 4)));

  fresh();
  a = input("a", DT_FLOAT, 2, D(3, 4));
  b = input("b", DT_FLOAT, 1, D(5));
  infer(NODE(OP_SUB, 1, a, b), "cannot broadcast [3,4] with input 'b' [5]");

  fresh();
  a = input("a", DT_FLOAT, 2, D(3, 4));
  b = input("b", DT_INT64, 1, D(4));
  infer(NODE(OP_ADD, 1, a, b), "same type");

  fresh();
  a = input("a", DT_FLOAT, 3, D(2, 1, 4));
  b = input("b", DT_FLOAT, 2, D(3, 1));
  Tensor *c = input("c", DT_FLOAT, 1, D(1));
  n = NODE(OP_SUM, 1, a, b, c);
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 3, D(2, 3, 4)));

  fresh();
  a = input("a", DT_BOOL, 1, D(3));
  infer(NODE(OP_ADD, 1, a, a), "bool");

  fresh();
  a = input("a", DT_INT32, 1, D(3));
  infer(NODE(OP_SIGMOID, 1, a), "int32");
  fresh();
  a = input("a", DT_INT32, 1, D(3));
  CU_ASSERT_FALSE(infer(NODE(OP_RELU, 1, a), NULL));
  fresh();
  a = input("a", DT_FLOAT, 1, D(3));
  infer(NODE(OP_CLIP, 1, a, input("lo", DT_FLOAT, 1, D(2))), "expected a scalar");
}

/* ---- matrix ops -------------------------------------------------------- */

static void test_matrix(void) {
  fresh();
  Tensor *a = input("a", DT_FLOAT, 2, D(7, 3)), *b = input("b", DT_FLOAT, 2, D(5, 7));
  Node *n = NODE(OP_GEMM, 1, a, b, cf("c", 0, NULL));
  n->a.trans_a = 1;
  n->a.trans_b = 1;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 2, D(3, 5)));

  fresh();
  a = input("a", DT_FLOAT, 2, D(2, 3));
  b = input("b", DT_FLOAT, 2, D(3, 4));
  infer(NODE(OP_GEMM, 1, a, b, cf("c", 1, D(3))), "does not broadcast to the output [2,4]");
  fresh();
  a = input("a", DT_FLOAT, 2, D(2, 3));
  b = input("b", DT_FLOAT, 2, D(4, 4));
  infer(NODE(OP_GEMM, 1, a, b), "K=3");

  struct { int ra; int64_t da[4]; int rb; int64_t db[4]; int ro; int64_t dout[4]; } mm[] = {
    {1, {3}, 1, {3}, 0, {0}},
    {1, {3}, 3, {2, 3, 4}, 2, {2, 4}},
    {4, {2, 1, 5, 3}, 1, {3}, 3, {2, 1, 5}},
    {3, {2, 5, 3}, 4, {4, 1, 3, 6}, 4, {4, 2, 5, 6}},
    {2, {5, 3}, 2, {3, 6}, 2, {5, 6}},
  };
  for (size_t i = 0; i < sizeof mm / sizeof mm[0]; i++) {
    fresh();
    a = input("a", DT_FLOAT, mm[i].ra, mm[i].da);
    b = input("b", DT_FLOAT, mm[i].rb, mm[i].db);
    n = NODE(OP_MATMUL, 1, a, b);
    CU_ASSERT_FALSE(infer(n, NULL));
    CU_ASSERT(shape_is(n->out[0], mm[i].ro, mm[i].dout));
  }
  fresh();
  a = input("a", DT_FLOAT, 3, D(2, 5, 3));
  b = input("b", DT_FLOAT, 3, D(3, 3, 6));
  infer(NODE(OP_MATMUL, 1, a, b), "do not broadcast");
}

/* ---- data movement ----------------------------------------------------- */

static void test_reshape(void) {
  fresh();
  Tensor *x = input("x", DT_FLOAT, 4, D(2, 3, 4, 5));
  Node *n = NODE(OP_RESHAPE, 1, x, ci("s", 3, D(0, -1, 5)));
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 3, D(2, 12, 5)));

  fresh();
  x = input("x", DT_FLOAT, 2, D(0, 3));
  n = NODE(OP_RESHAPE, 1, x, ci("s", 2, D(3, 0)));
  n->a.allowzero = 1;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 2, D(3, 0)));

  fresh();
  x = input("x", DT_FLOAT, 2, D(4, 3));
  infer(NODE(OP_RESHAPE, 1, x, ci("s", 2, D(5, -1))), "cannot reshape input 'x' [4,3]");
  fresh();
  x = input("x", DT_FLOAT, 2, D(4, 3));
  infer(NODE(OP_RESHAPE, 1, x, ci("s", 2, D(-1, -1))), "more than one -1");
  fresh();
  x = input("x", DT_FLOAT, 2, D(4, 3));
  infer(NODE(OP_RESHAPE, 1, x, input("s", DT_INT64, 1, D(2))), "must be a constant");
  fresh();
  x = input("x", DT_FLOAT, 2, D(4, 3));
  infer(NODE(OP_RESHAPE, 1, x, ci("s", 1, D(-3))), "negative");
  fresh();
  x = input("x", DT_FLOAT, 1, D(0));
  infer(NODE(OP_RESHAPE, 1, x, ci("s", 2, D(-1, 0))), "copies dimension 1");

  fresh();
  x = input("x", DT_FLOAT, 4, D(2, 3, 4, 5));
  n = NODE(OP_FLATTEN, 1, x);
  n->a.axis = -1;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 2, D(24, 5)));
  fresh();
  x = input("x", DT_FLOAT, 4, D(2, 3, 4, 5));
  n = NODE(OP_FLATTEN, 1, x);
  n->a.axis = 4;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 2, D(120, 1)));
  fresh();
  x = input("x", DT_FLOAT, 4, D(2, 3, 4, 5));
  n = NODE(OP_FLATTEN, 1, x);
  n->a.axis = 5;
  infer(n, "axis 5 is out of range for rank 4");
}

static void test_slice_pad(void) {
  fresh();
  Tensor *x = input("x", DT_FLOAT, 3, D(10, 8, 6));
  /* axis 0: 9 down to (excl) 1 step -3 -> 9,6,3 ; axis -1: -100..100 -> all 6;
   * axis 1: start 20 clamps to 8 -> empty */
  Node *n = NODE(OP_SLICE, 1, x, ci("st", 3, D(-1, -100, 20)), ci("en", 3, D(1, 100, 30)),
                 ci("ax", 3, D(0, -1, 1)), ci("sp", 3, D(-3, 1, 1)));
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 3, D(3, 0, 6)));

  fresh();
  x = input("x", DT_FLOAT, 1, D(5));
  n = NODE(OP_SLICE, 1, x, ci("st", 1, D(INT64_MAX)), ci("en", 1, D(INT64_MIN)), NULL,
           ci("sp", 1, D(-1)));
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 1, D(5)));

  /* negative step, start below -dim: clamped to 0 (the spec, not numpy) */
  fresh();
  x = input("x", DT_FLOAT, 1, D(5));
  n = NODE(OP_SLICE, 1, x, ci("st", 1, D(-10)), ci("en", 1, D(-10)), NULL, ci("sp", 1, D(-1)));
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 1, D(1)));
  fresh();
  x = input("x", DT_FLOAT, 1, D(0));
  n = NODE(OP_SLICE, 1, x, ci("st", 1, D(-1)), ci("en", 1, D(-10)), NULL, ci("sp", 1, D(-1)));
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 1, D(0)));

  fresh();
  x = input("x", DT_FLOAT, 1, D(5));
  infer(NODE(OP_SLICE, 1, x, ci("st", 1, D(0)), ci("en", 1, D(3)), NULL, ci("sp", 1, D(0))),
        "step on axis 0 is 0");
  fresh();
  x = input("x", DT_FLOAT, 1, D(5));
  infer(NODE(OP_SLICE, 1, x, ci("st", 2, D(0, 0)), ci("en", 2, D(3, 3)), ci("ax", 2, D(0, -1))),
        "appears twice");
  fresh();
  x = input("x", DT_FLOAT, 1, D(5));
  infer(NODE(OP_SLICE, 1, x, input("st", DT_INT64, 1, D(1)), ci("en", 1, D(3))),
        "must be a constant");

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 16, 8, 8));
  n = NODE(OP_PAD, 1, x, ci("p", 8, D(0, 8, 0, -1, 0, 8, 0, 2)));
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 4, D(1, 32, 8, 9)));
  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 16, 8, 8));
  n = NODE(OP_PAD, 1, x, ci("p", 4, D(1, 2, 3, 4)), NULL, ci("ax", 2, D(-1, 1)));
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 4, D(1, 22, 8, 12)));
  fresh();
  x = input("x", DT_FLOAT, 2, D(3, 3));
  infer(NODE(OP_PAD, 1, x, ci("p", 4, D(0, -2, 0, -2))), "negative size");
  fresh();
  x = input("x", DT_FLOAT, 2, D(3, 3));
  infer(NODE(OP_PAD, 1, x, ci("p", 3, D(0, 0, 0))), "3 pads for 2 axes");
  fresh();
  x = input("x", DT_FLOAT, 2, D(0, 3));
  n = NODE(OP_PAD, 1, x, ci("p", 4, D(1, 0, 1, 0)));
  n->a.pad_mode = PM_REFLECT;
  infer(n, "cannot pad the empty axis 0");
}

static void test_misc_shapes(void) {
  fresh();
  Tensor *x = input("x", DT_FLOAT, 3, D(2, 3, 4));
  Node *n = NODE(OP_TRANSPOSE, 1, x);
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 3, D(4, 3, 2)));
  fresh();
  x = input("x", DT_FLOAT, 3, D(2, 3, 4));
  n = NODE(OP_TRANSPOSE, 1, x);
  n->a.nperm = 3;
  n->a.perm[0] = 1; n->a.perm[1] = 2; n->a.perm[2] = 0;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 3, D(3, 4, 2)));
  n->a.perm[2] = 1;
  infer(n, "not a permutation");

  fresh();
  x = input("x", DT_FLOAT, 3, D(2, 3, 4));
  n = NODE(OP_CONCAT, 1, x, input("y", DT_FLOAT, 3, D(2, 5, 4)), x);
  n->a.axis = -2;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 3, D(2, 11, 4)));
  fresh();
  x = input("x", DT_FLOAT, 3, D(2, 3, 4));
  n = NODE(OP_CONCAT, 1, x, input("y", DT_FLOAT, 3, D(2, 5, 4)));
  infer(n, "may differ on axis 0 only");

  fresh();
  x = input("x", DT_FLOAT, 3, D(5, 6, 7));
  n = NODE(OP_GATHER, 1, x, input("i", DT_INT64, 2, D(2, 3)));
  n->a.axis = 1;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 4, D(5, 2, 3, 7)));
  fresh();
  x = input("x", DT_FLOAT, 3, D(5, 6, 7));
  n = NODE(OP_GATHER, 1, x, ci("i", 2, D(-6, 6)));
  n->a.axis = 1;
  infer(n, "index 6 is out of range");

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 1, 5));
  n = NODE(OP_SQUEEZE, 1, x);
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 2, D(3, 5)));
  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 1, 5));
  n = NODE(OP_SQUEEZE, 1, x, ci("a", 1, D(-2)));
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 3, D(1, 3, 5)));
  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 1, 5));
  infer(NODE(OP_SQUEEZE, 1, x, ci("a", 1, D(1))), "its size is not 1");

  fresh();
  x = input("x", DT_FLOAT, 2, D(3, 5));
  n = NODE(OP_UNSQUEEZE, 1, x, ci("a", 3, D(-1, 0, 3)));
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 5, D(1, 3, 5, 1, 1)));
  fresh();
  x = input("x", DT_FLOAT, 7, D(1, 1, 1, 1, 1, 1, 1));
  infer(NODE(OP_UNSQUEEZE, 1, x, ci("a", 2, D(0, 1))), "rank 9");

  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 1, 5));
  n = NODE(OP_SHAPE, 1, x);
  n->a.start = -3;
  n->a.end = -1;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT(shape_is(n->out[0], 1, D(2)));
  CU_ASSERT_EQUAL(n->out[0]->dtype, DT_INT64);

  fresh();
  x = input("x", DT_FLOAT, 2, D(3, 4));
  n = NODE(OP_SOFTMAX, 1, x);
  n->a.axis = -3;
  infer(n, "axis -3 is out of range for rank 2");

  fresh();
  x = input("x", DT_FLOAT, 2, D(3, 4));
  n = NODE(OP_DROPOUT, 2, x);
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT_EQUAL(n->out[1]->dtype, DT_BOOL);
  CU_ASSERT(shape_is(n->out[1], 2, D(3, 4)));

  fresh();
  x = input("x", DT_FLOAT, 2, D(3, 4));
  n = NODE(OP_CAST, 1, x);
  n->a.to = DT_BFLOAT16;
  CU_ASSERT_FALSE(infer(n, NULL));
  CU_ASSERT_EQUAL(n->out[0]->dtype, DT_BFLOAT16);
  n->a.to = DT_STRING;
  infer(n, "cannot cast");
}

static void test_overflow(void) {
  /* a ConstantOfShape whose size overflows 64 bits */
  fresh();
  Node *n = NODE(OP_CONSTANTOFSHAPE, 1, ci("s", 3, D(1LL << 30, 1LL << 30, 1LL << 30)));
  infer(n, "too large");
  fresh();
  n = NODE(OP_CONSTANTOFSHAPE, 1, ci("s", 2, D(3, -1)));
  infer(n, "negative");
  fresh();
  Tensor *x = input("x", DT_FLOAT, 2, D(1LL << 40, 1LL << 22));
  infer(NODE(OP_RELU, 1, x), "too large");
  /* a negative dim on an input */
  fresh();
  x = input("x", DT_FLOAT, 2, D(3, -2));
  infer(NODE(OP_RELU, 1, x), "negative dimension");
  /* concat sum overflow */
  fresh();
  x = input("x", DT_UINT8, 1, D(INT64_MAX / 2 + 1));
  n = NODE(OP_CONCAT, 1, x, x);
  infer(n, "overflows");
  /* missing input, wrong arity */
  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 4, 4));
  infer(NODE(OP_CONV, 1, x, NULL), "required input 1 is missing");
  fresh();
  x = input("x", DT_FLOAT, 4, D(1, 3, 4, 4));
  infer(NODE(OP_RELU, 1, x, x), "has 2 inputs");
  fresh();
  x = ir_tensor(g, "x", DT_FLOAT, -1, NULL);
  infer(NODE(OP_RELU, 1, x), "unknown shape");
}

/* ---- folding ----------------------------------------------------------- */

static void test_fold_shape_chain(void) {
  /* y = Reshape(x, Concat(Unsqueeze(Gather(Shape(x), 0), [0]), [-1])) */
  fresh();
  Tensor *x = input("x", DT_FLOAT, 3, D(2, 3, 4));
  Node *sh = NODE(OP_SHAPE, 1, x);
  Node *ga = NODE(OP_GATHER, 1, sh->out[0], ir_const(g, "zero", DT_INT64, 0, NULL, D(0), 0));
  Node *un = NODE(OP_UNSQUEEZE, 1, ga->out[0], ci("ax", 1, D(0)));
  Node *cc = NODE(OP_CONCAT, 1, un->out[0], ci("m1", 1, D(-1)));
  Node *rs = NODE(OP_RESHAPE, 1, x, cc->out[0]);
  Node *re = NODE(OP_RELU, 1, rs->out[0]);
  ir_add_output(g, re->out[0]);
  ir_relink(g);
  CU_ASSERT_FALSE(fold(0, NULL));
  CU_ASSERT_EQUAL(g->nnodes, 2);
  CU_ASSERT_EQUAL(g->nodes[0]->op, OP_RESHAPE);
  CU_ASSERT_EQUAL(g->nodes[1]->op, OP_RELU);
  Tensor *s = g->nodes[0]->in[1];
  CU_ASSERT(ir_is_const(s));
  CU_ASSERT(shape_is(s, 1, D(2)));
  CU_ASSERT_EQUAL(ir_get_i64(s, 0), 2);
  CU_ASSERT_EQUAL(ir_get_i64(s, 1), -1);
  CU_ASSERT(shape_is(g->nodes[1]->out[0], 2, D(2, 12)));
  CU_ASSERT_EQUAL(ir_verify(g, "fold"), 0);
  /* the intermediate constants are gone */
  CU_ASSERT_PTR_NULL(ir_find_tensor(g, "zero"));
  CU_ASSERT_EQUAL(g->ntensors, 4);    /* x, the shape, the reshaped, y */
}

static void test_fold_option_a(void) {
  /* The CIFAR option-A shortcut: x[:, :, ::2, ::2] zero-padded from 16 to
   * 32 channels, with pads computed from constants (Concat, Reshape,
   * Slice, Transpose, Cast), on a constant x: everything folds. */
  fresh();
  int64_t n = 1 * 16 * 4 * 4;
  float xv[256];
  for (int i = 0; i < n; i++) xv[i] = (float)i;
  Tensor *x = ir_const(g, "x", DT_FLOAT, 4, D(1, 16, 4, 4), xv, 0);
  Node *s1 = NODE(OP_SLICE, 1, x, ci("a", 1, D(0)), ci("b", 1, D(INT64_MAX)), ci("c", 1, D(2)),
                  ci("d", 1, D(2)));
  Node *s2 = NODE(OP_SLICE, 1, s1->out[0], ci("a2", 1, D(0)), ci("b2", 1, D(INT64_MAX)),
                  ci("c2", 1, D(3)), ci("d2", 1, D(2)));
  Node *cos = NODE(OP_CONSTANTOFSHAPE, 1, ci("cs", 1, D(2)));
  cos->a.value = ir_const(g, "zv", DT_INT64, 1, D(1), D(0), 0);
  Node *cat = NODE(OP_CONCAT, 1, ci("p6", 6, D(0, 0, 0, 0, 8, 8)), cos->out[0]);
  Node *rs = NODE(OP_RESHAPE, 1, cat->out[0], ci("sh", 2, D(-1, 2)));
  Node *sl = NODE(OP_SLICE, 1, rs->out[0], ci("a3", 1, D(-1)), ci("b3", 1, D(INT64_MIN)),
                  ci("c3", 1, D(0)), ci("d3", 1, D(-1)));
  Node *tr = NODE(OP_TRANSPOSE, 1, sl->out[0]);
  Node *rs2 = NODE(OP_RESHAPE, 1, tr->out[0], ci("m1", 1, D(-1)));
  Node *ca = NODE(OP_CAST, 1, rs2->out[0]);
  ca->a.to = DT_INT64;
  Node *pad = NODE(OP_PAD, 1, s2->out[0], ca->out[0]);
  ir_add_output(g, pad->out[0]);
  ir_relink(g);
  CU_ASSERT_FALSE(fold(0, NULL));
  CU_ASSERT_EQUAL(g->nnodes, 0);
  Tensor *y = g->outputs[0];
  CU_ASSERT(ir_is_const(y));
  CU_ASSERT(shape_is(y, 4, D(1, 32, 2, 2)));
  /* channels 8..23 hold x[:, 0..15, ::2, ::2], the rest are 0 */
  int bad = 0;
  const float *yv = y->data;
  for (int c = 0; c < 32; c++)
    for (int h = 0; h < 2; h++)
      for (int w = 0; w < 2; w++) {
        float want = c >= 8 && c < 24 ? xv[((c - 8) * 4 + 2 * h) * 4 + 2 * w] : 0.0f;
        bad += yv[(c * 2 + h) * 2 + w] != want;
      }
  CU_ASSERT_EQUAL(bad, 0);
}

static void test_fold_limits(void) {
  fresh();
  Node *n = NODE(OP_CONSTANTOFSHAPE, 1, ci("s", 2, D(1000, 1000)));
  ir_add_output(g, n->out[0]);
  ir_relink(g);
  fold(1000, "4000000 bytes, more than the limit of 1000 bytes");

  /* non-constant data stays a node, its shape resolved */
  fresh();
  Tensor *x = input("x", DT_FLOAT, 2, D(3, 4));
  Node *id = NODE(OP_IDENTITY, 1, x);
  Node *un = NODE(OP_UNSQUEEZE, 1, id->out[0], ci("a", 1, D(0)));
  Node *fl = NODE(OP_FLATTEN, 1, un->out[0]);
  ir_add_output(g, fl->out[0]);
  ir_relink(g);
  CU_ASSERT_FALSE(fold(0, NULL));
  CU_ASSERT_EQUAL(g->nnodes, 3);
  CU_ASSERT(shape_is(g->outputs[0], 2, D(1, 12)));

  /* a constant graph output made by folding */
  fresh();
  x = input("x", DT_FLOAT, 2, D(3, 4));
  Node *sh = NODE(OP_SHAPE, 1, x);
  ir_add_output(g, sh->out[0]);
  ir_relink(g);
  CU_ASSERT_FALSE(fold(0, NULL));
  CU_ASSERT_EQUAL(g->nnodes, 0);
  CU_ASSERT(ir_is_const(g->outputs[0]));
  CU_ASSERT_EQUAL(ir_get_i64(g->outputs[0], 1), 4);
  CU_ASSERT_EQUAL(ir_verify(g, "fold"), 0);
}

/* ---- hostile input ------------------------------------------------------ */

static uint32_t fz_seed = 7;
static int64_t fz(int64_t n) {   /* in [0, n) */
  fz_seed = fz_seed * 1664525u + 1013904223u;
  return (int64_t)((fz_seed >> 8) % (uint32_t)n);
}
static int64_t fz_val(void) {     /* small, or at the edges of int64 */
  static const int64_t edge[] = {0, 1, 2, 3, -1, -2, INT64_MAX, INT64_MIN, (int64_t)1 << 40,
                                 INT64_MAX / 2 + 1};
  return fz(4) ? fz(5) - 1 : edge[fz(10)];
}

static Tensor *fz_tensor(int i) {
  static const DType dts[] = {DT_FLOAT, DT_FLOAT, DT_INT64, DT_INT64, DT_INT32, DT_UINT8,
                              DT_FLOAT16, DT_BOOL, DT_DOUBLE, DT_INT8};
  DType dt = dts[fz(10)];
  int rank = (int)fz(6);
  int64_t d[8];
  for (int k = 0; k < rank; k++) d[k] = fz(8) ? fz(4) + 1 : fz(2) ? 0 : fz(40);
  char nm[16];
  snprintf(nm, sizeof nm, "in%d", i);
  Tensor *t = ir_tensor(g, nm, dt, rank, d);
  int64_t n = ir_numel(t);
  if (n < 0 || n > 4096) return NULL;
  if (fz(2)) {
    ir_add_input(g, t);
    return t;
  }
  t->kind = TK_CONST;
  size_t es = dtype_size(dt);
  unsigned char *p = ir_alloc(g, (size_t)n * es + 1);
  for (int64_t k = 0; k < n; k++) {
    int64_t v = fz_val();
    if (dt == DT_FLOAT) { float f = (float)v; memcpy(p + k * 4, &f, 4); }
    else if (dt == DT_DOUBLE) { double f = (double)v; memcpy(p + k * 8, &f, 8); }
    else memcpy(p + (size_t)k * es, &v, es);     /* the low bytes */
  }
  t->data = p;
  return t;
}

/* Random ops with random (often absurd) attributes and inputs: shape
 * inference and folding must fail cleanly or succeed, and a graph that
 * passes must then run through eval_graph without a crash (ASan/UBSan
 * builds check the rest). */
static void fz_run(void) {
  static void *ins[8], *outs[8];
  for (int j = 0; j < g->ntensors; j++)
    if (ir_bytes(g->tensors[j]) > (1 << 20)) return;
  for (int j = 0; j < g->ninputs; j++) ins[j] = calloc(1, (size_t)ir_bytes(g->inputs[j]) + 1);
  /* sometimes with blocked (NCHWC) outputs */
  for (int j = 0; j < g->nnodes; j++)
    for (int k = 0; k < g->nodes[j]->nout; k++) {
      Tensor *o = g->nodes[j]->out[k];
      if (o && o->rank >= 2 && fz(3) == 0) { o->layout = LAYOUT_NCHWC; o->block = (int)fz(9) + 1; }
    }
  IrTry t;
  if (!ir_try_begin(&t)) {
    eval_graph(g, (const void *const *)ins, outs);
    ir_try_end(&t);
    for (int j = 0; j < g->noutputs; j++) free(outs[j]);
  }
  for (int j = 0; j < g->ninputs; j++) free(ins[j]);
}

static void test_hostile(void) {
  volatile int ok = 0, failed = 0;
  const char *env = getenv("RN_FUZZ_ITERS");    /* longer runs by hand */
  int iters = env ? atoi(env) : 4000;
  for (volatile int it = 0; it < iters; it++) {
    fresh();
    Op op = (Op)fz(OP_COUNT);
    const OpInfo *oi = &op_info[op];
    int nin = oi->in_min + (int)fz((oi->in_max < 0 ? oi->in_min + 3 : oi->in_max) - oi->in_min + 1);
    int nout = oi->out_min + (int)fz(oi->out_max - oi->out_min + 1);
    Tensor *in[8] = {0};
    int bad = 0;
    for (int i = 0; i < nin; i++) {
      if (i >= oi->in_min && fz(4) == 0) continue;
      in[i] = fz_tensor(i);
      if (!in[i]) bad = 1;
    }
    if (bad) continue;
    Node *n = node(op, nin, in, nout);
    Attrs *a = &n->a;
    for (int k = 0; k < IR_MAX_SP; k++) {
      if (fz(3) == 0) a->kernel[k] = fz_val();
      if (fz(3) == 0) a->stride[k] = fz_val();
      if (fz(3) == 0) a->dilation[k] = fz_val();
      if (fz(3) == 0) a->pad_begin[k] = fz_val();
      if (fz(3) == 0) a->pad_end[k] = fz_val();
      a->res_start[k] = fz_val();
      a->res_step[k] = fz_val();
    }
    if (fz(4) == 0) a->nsp = (int)fz(5);
    a->auto_pad = (AutoPad)fz(4);
    if (fz(3) == 0) a->group = fz_val();
    a->ceil_mode = (int)fz(2);
    a->count_include_pad = (int)fz(2);
    a->storage_order = (int)fz(3);
    a->trans_a = (int)fz(2);
    a->trans_b = (int)fz(2);
    a->axis = fz(3) ? fz(9) - 4 : fz_val();
    a->softmax_2d = (int)fz(2);
    a->nperm = (int)fz(6);
    for (int k = 0; k < a->nperm; k++) a->perm[k] = fz(6);
    a->to = (DType)fz(18);
    a->start = fz(2) ? fz(7) - 3 : fz_val();
    a->end = fz(2) ? fz(7) - 3 : fz_val();
    a->allowzero = (int)fz(2);
    a->pad_mode = (PadMode)fz(5);
    a->act = (Act)fz(4);
    a->res_view = (int)fz(4) == 0;
    a->res_c0 = fz_val();
    if (op == OP_CONSTANTOFSHAPE && fz(2)) a->value = fz_tensor(7);
    for (int j = 0; j < nout; j++) ir_add_output(g, n->out[j]);
    ir_relink(g);
    IrTry t;
    ir_quiet = 1;
    if (ir_try_begin(&t)) {
      ir_quiet = 0;
      failed++;
      continue;
    }
    shape_infer_and_fold(g, 1 << 20);
    fz_run();
    ir_try_end(&t);
    ir_quiet = 0;
    ok++;
  }
  printf("(%d accepted, %d refused) ", ok, failed);
  CU_ASSERT(ok > 100);
  CU_ASSERT(failed > 100);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("shape", NULL, NULL);
  CU_add_test(s, "conv", test_conv_basic);
  CU_add_test(s, "auto_pad", test_auto_pad);
  CU_add_test(s, "conv errors", test_conv_errors);
  CU_add_test(s, "fused forms", test_fused_forms);
  CU_add_test(s, "pools", test_pools);
  CU_add_test(s, "broadcast", test_broadcast);
  CU_add_test(s, "matrix", test_matrix);
  CU_add_test(s, "reshape/flatten", test_reshape);
  CU_add_test(s, "slice/pad", test_slice_pad);
  CU_add_test(s, "misc", test_misc_shapes);
  CU_add_test(s, "overflow and arity", test_overflow);
  CU_add_test(s, "hostile attributes", test_hostile);
  CU_pSuite f = CU_add_suite("fold", NULL, NULL);
  CU_add_test(f, "shape chain", test_fold_shape_chain);
  CU_add_test(f, "option-A shortcut", test_fold_option_a);
  CU_add_test(f, "limits and non-constants", test_fold_limits);
  int r = rn_run_tests();
  if (g) ir_graph_free(g);
  return r;
}
