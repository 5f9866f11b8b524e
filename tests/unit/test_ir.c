/* test_ir.c - unit tests of the IR core: building, toposort, relink,
 * sweep, verifier, errors. */
#define _GNU_SOURCE   /* open_memstream */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "ir.h"
#include "testutil.h"

static Graph *small_graph(void) {
  /* x -> Relu -> r -> Add(r, c) -> y */
  Graph *g = ir_graph_new("t", "t.onnx");
  int64_t d[2] = {2, 3};
  Tensor *x = ir_tensor(g, "x", DT_FLOAT, 2, d);
  ir_add_input(g, x);
  float cv[6] = {1, 2, 3, 4, 5, 6};
  Tensor *c = ir_const(g, "c", DT_FLOAT, 2, d, cv, 0);
  Tensor *r = ir_tensor(g, "r", DT_FLOAT, 2, d);
  Tensor *y = ir_tensor(g, "y", DT_FLOAT, 2, d);
  Tensor *in1[1] = {x}, *in2[2] = {r, c};
  ir_node(g, OP_RELU, "relu", 1, in1, 1, &r);
  ir_node(g, OP_ADD, "add", 2, in2, 1, &y);
  ir_add_output(g, y);
  ir_relink(g);
  return g;
}

static void test_build_and_verify(void) {
  Graph *g = small_graph();
  CU_ASSERT_EQUAL(ir_verify(g, "test"), 0);
  CU_ASSERT_EQUAL(ir_numel(g->tensors[0]), 6);
  CU_ASSERT_PTR_EQUAL(ir_find_tensor(g, "r")->producer, g->nodes[0]);
  CU_ASSERT_EQUAL(ir_find_tensor(g, "r")->nconsumers, 1);
  CU_ASSERT_EQUAL(op_from_onnx("BatchNormalization"), OP_BATCHNORM);
  CU_ASSERT_EQUAL(op_from_onnx("NoSuchOp"), -1);
  ir_graph_free(g);
}

static void test_toposort_reorders(void) {
  Graph *g = small_graph();
  Node *t = g->nodes[0];
  g->nodes[0] = g->nodes[1];
  g->nodes[1] = t;
  ir_relink(g);
  ir_quiet = 1;
  CU_ASSERT_NOT_EQUAL(ir_verify(g, "swap"), 0);   /* add reads r before relu */
  ir_quiet = 0;
  IrTry tr;
  if (ir_try_begin(&tr)) { CU_FAIL("toposort failed"); }
  else { ir_toposort(g); ir_try_end(&tr); }
  CU_ASSERT_EQUAL(g->nodes[0]->op, OP_RELU);
  CU_ASSERT_EQUAL(ir_verify(g, "toposort"), 0);
  ir_graph_free(g);
}

static void test_cycle_fails(void) {
  Graph *g = small_graph();
  g->nodes[0]->in[0] = ir_find_tensor(g, "y");   /* relu reads add's output */
  ir_current_graph = g;
  ir_quiet = 1;
  IrTry tr;
  int failed = 0;
  if (ir_try_begin(&tr)) failed = 1;
  else { ir_toposort(g); ir_try_end(&tr); }
  ir_quiet = 0;
  CU_ASSERT_EQUAL(failed, 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(tr.msg, "cycle"));
  ir_graph_free(g);
}

static void test_sweep_drops_dead(void) {
  Graph *g = small_graph();
  Tensor *r = ir_find_tensor(g, "r");
  ir_replace_uses(g, r, ir_find_tensor(g, "x"));  /* bypass the relu */
  g->nodes[0]->dead = 1;
  ir_sweep(g);
  CU_ASSERT_EQUAL(g->nnodes, 1);
  CU_ASSERT_PTR_NULL(ir_find_tensor(g, "r"));
  CU_ASSERT_EQUAL(ir_verify(g, "sweep"), 0);
  ir_graph_free(g);
}

static void test_duplicate_names_refused(void) {
  Graph *g = small_graph();
  ir_find_tensor(g, "c")->name = ir_strdup(g, "r");
  /* the verifier prints its message to stderr: expected here */
  CU_ASSERT_NOT_EQUAL(ir_verify(g, "rename"), 0);
  ir_graph_free(g);
}

static long max_rss_kb(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

/* Passes relink after every rewrite: a relink must not take new memory
 * from the graph's arena each time (it once did, 64+ bytes per tensor per
 * relink, and a 1000-block network ran out of memory in the optimiser). */
static void test_relink_does_not_grow(void) {
  Graph *g = small_graph();
  long before = max_rss_kb();
  for (int i = 0; i < 300000; i++) ir_relink(g);
  long grown = max_rss_kb() - before;
  CU_ASSERT(grown < 16 * 1024);    /* would be ~100 MB */
  CU_ASSERT_EQUAL(ir_find_tensor(g, "r")->nconsumers, 1);
  CU_ASSERT_EQUAL(ir_verify(g, "relink"), 0);
  ir_graph_free(g);
}

static void test_numel_overflow(void) {
  Graph *g = ir_graph_new("t", "t");
  int64_t d[3] = {INT64_C(1) << 40, INT64_C(1) << 40, 4};
  Tensor *t = ir_tensor(g, "big", DT_FLOAT, 3, d);
  CU_ASSERT_EQUAL(ir_numel(t), -1);
  CU_ASSERT_EQUAL(ir_bytes(t), -1);
  ir_graph_free(g);
}

/* --dump-ir shows what a node does: both pad ends labelled, the values of
 * small integer constants (Slice starts, Pad pads, Squeeze axes), Pad's
 * mode, scalars; not long float vectors. */
static void test_print_readable(void) {
  Graph *g = ir_graph_new("t", "t.onnx");
  int64_t dx[4] = {1, 2, 8, 8}, dw[4] = {2, 2, 3, 3}, dy[4] = {1, 2, 10, 12};
  Tensor *x = ir_tensor(g, "x", DT_FLOAT, 4, dx);
  ir_add_input(g, x);
  float wv[36] = {0}, bv[2] = {0.5f, 0.25f};
  int64_t db[1] = {2};
  Tensor *w = ir_const(g, "w", DT_FLOAT, 4, dw, wv, 0);
  Tensor *b = ir_const(g, "bias", DT_FLOAT, 1, db, bv, 0);
  Tensor *y = ir_tensor(g, "y", DT_FLOAT, 4, dy);
  Tensor *cin[3] = {x, w, b};
  Node *c = ir_node(g, OP_CONV, "conv", 3, cin, 1, &y);
  c->a.nsp = 2;
  for (int i = 0; i < 2; i++) c->a.kernel[i] = 3, c->a.stride[i] = 1, c->a.dilation[i] = 1;
  c->a.pad_begin[0] = 1, c->a.pad_begin[1] = 2, c->a.pad_end[0] = 3, c->a.pad_end[1] = 4;
  c->a.group = 1;
  Tensor *pads = ir_const_i64(g, "pads", 8, (const int64_t[]){0, 0, 1, 1, 0, 0, 2, 2});
  Tensor *pv = ir_const_scalar_f32(g, "pv", 0.5f);
  Tensor *p = ir_tensor(g, "p", DT_FLOAT, 4, (const int64_t[]){1, 2, 13, 15});
  Tensor *pin[3] = {y, pads, pv};
  Node *pn = ir_node(g, OP_PAD, "pad", 3, pin, 1, &p);
  pn->a.pad_mode = PM_REFLECT;
  Tensor *axes = ir_const_i64(g, "axes", 1, (const int64_t[]){0});
  Tensor *q = ir_tensor(g, "q", DT_FLOAT, 3, (const int64_t[]){2, 13, 15});
  Tensor *qin[2] = {p, axes};
  ir_node(g, OP_SQUEEZE, "sq", 2, qin, 1, &q);
  ir_add_output(g, q);
  ir_relink(g);
  char *text = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&text, &len);
  ir_print(g, f);
  fclose(f);
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "pads_begin=[1,2] pads_end=[3,4]"));
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "const %pads:int64[8]{0,0,1,1,0,0,2,2}, const %pv:float32[]{0.5}) mode=reflect"));
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "const %axes:int64[1]{0})"));
  CU_ASSERT_PTR_NOT_NULL(strstr(text, "const %bias:float32[2])"));     /* a vector: no values */
  CU_ASSERT_PTR_NULL(strstr(text, " =["));
  if (!strstr(text, "const %pv:float32[]{0.5}) mode=reflect")) fputs(text, stderr);
  free(text);
  ir_graph_free(g);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("ir", NULL, NULL);
  CU_add_test(s, "build and verify", test_build_and_verify);
  CU_add_test(s, "toposort reorders", test_toposort_reorders);
  CU_add_test(s, "cycle fails cleanly", test_cycle_fails);
  CU_add_test(s, "sweep drops dead nodes", test_sweep_drops_dead);
  CU_add_test(s, "numel overflow", test_numel_overflow);
  CU_add_test(s, "duplicate tensor names refused", test_duplicate_names_refused);
  CU_add_test(s, "relink takes no arena memory", test_relink_does_not_grow);
  CU_add_test(s, "print is readable", test_print_readable);
  return rn_run_tests();
}
