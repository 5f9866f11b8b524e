/* test_pass_manager.c - the pass list: -O levels, --passes, unknown names,
 * --dump-ir-after, statistics, the --report table and the --plan-svg
 * drawing (checked with xmllint when it is installed). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "passes.h"
#include "testutil.h"

/* x -> Conv -> BN -> Relu -> Identity -> Flatten -> y */
static Graph *small(void) {
  Graph *g = ir_graph_new("small<&>", "t");
  int64_t xd[4] = {1, 2, 4, 4}, wd[4] = {3, 2, 1, 1}, c3 = 3, yd[2] = {1, 48};
  Tensor *x = ir_tensor(g, "x", DT_FLOAT, 4, xd);
  ir_add_input(g, x);
  float w[6] = {1, -1, 0.5f, 2, -0.25f, 1}, one[3] = {1, 1, 1}, zero[3] = {0, 0, 0};
  Tensor *wt = ir_const(g, "w", DT_FLOAT, 4, wd, w, 0);
  int64_t cd[4] = {1, 3, 4, 4};
  Tensor *c = ir_tensor(g, "c", DT_FLOAT, 4, cd), *b = ir_tensor(g, "b", DT_FLOAT, 4, cd);
  Tensor *r = ir_tensor(g, "r", DT_FLOAT, 4, cd), *i = ir_tensor(g, "i", DT_FLOAT, 4, cd);
  Tensor *y = ir_tensor(g, "y", DT_FLOAT, 2, yd);
  Tensor *cin[2] = {x, wt};
  Node *cv = ir_node(g, OP_CONV, "conv", 2, cin, 1, &c);
  cv->a.nsp = 2;
  cv->a.kernel[0] = cv->a.kernel[1] = 1;
  Tensor *bin[5] = {c, ir_const(g, "g", DT_FLOAT, 1, &c3, one, 0), ir_const(g, "be", DT_FLOAT, 1, &c3, zero, 0),
                    ir_const(g, "m", DT_FLOAT, 1, &c3, zero, 0), ir_const(g, "v", DT_FLOAT, 1, &c3, one, 0)};
  ir_node(g, OP_BATCHNORM, "bn", 5, bin, 1, &b);
  ir_node(g, OP_RELU, "relu", 1, &b, 1, &r);
  ir_node(g, OP_IDENTITY, "id", 1, &r, 1, &i);
  ir_node(g, OP_FLATTEN, "flat", 1, &i, 1, &y)->a.axis = 1;
  ir_add_output(g, y);
  ir_relink(g);
  return g;
}

static int run(Graph *g, const PassOptions *o, char *msg, size_t n) {
  IrTry t;
  volatile int failed = 0;
  ir_quiet = 1;
  if (ir_try_begin(&t)) {
    failed = 1;
    if (msg) snprintf(msg, n, "%s", t.msg);
  } else {
    passes_run(g, o);
    ir_try_end(&t);
  }
  ir_quiet = 0;
  return failed;
}

static void test_levels(void) {
  Graph *g = small();
  PassOptions o = {0, NULL, NULL, NULL, 1, NULL};
  CU_ASSERT_EQUAL(run(g, &o, NULL, 0), 0);
  CU_ASSERT_EQUAL(g->nnodes, 5);             /* -O0: nothing changes */
  CU_ASSERT(g->arena_bytes > 0);             /* but the plan is made */
  CU_ASSERT(ir_find_tensor(g, "c")->offset >= 0);
  ir_graph_free(g);

  g = small();
  PassLog log;
  o.opt_level = 2;
  o.log = &log;
  CU_ASSERT_EQUAL(run(g, &o, NULL, 0), 0);
  CU_ASSERT_STRING_EQUAL(report_op_sequence(g), "Conv(+relu) Flatten");
  CU_ASSERT_EQUAL(log.nruns, 6);
  CU_ASSERT_STRING_EQUAL(log.runs[0].pass, "cleanup");
  CU_ASSERT_STRING_EQUAL(log.runs[4].pass, "layout");
  CU_ASSERT_STRING_EQUAL(log.runs[5].pass, "plan");
  CU_ASSERT_EQUAL(log.runs[0].nodes_before, 5);
  CU_ASSERT_EQUAL(log.runs[0].nodes_after, 4);   /* the Identity went */
  ir_graph_free(g);
}

static void test_only(void) {
  Graph *g = small();
  PassOptions o = {2, "fold_bn", NULL, NULL, 1, NULL};
  CU_ASSERT_EQUAL(run(g, &o, NULL, 0), 0);
  CU_ASSERT_STRING_EQUAL(report_op_sequence(g), "Conv Relu Identity Flatten");
  ir_graph_free(g);

  g = small();
  o.only = "fuse,cleanup";
  CU_ASSERT_EQUAL(run(g, &o, NULL, 0), 0);
  /* no fold: the BN stays, the Relu can't reach the conv */
  CU_ASSERT_STRING_EQUAL(report_op_sequence(g), "Conv(+bn_relu) Flatten");
  ir_graph_free(g);
}

static void test_unknown_names(void) {
  char msg[1024];
  Graph *g = small();
  PassOptions o = {2, "cleanup,foldbn", NULL, NULL, 1, NULL};
  CU_ASSERT_EQUAL(run(g, &o, msg, sizeof msg), 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "unknown pass 'foldbn'"));
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "cleanup, fold_bn, fuse, layout, plan"));
  CU_ASSERT_EQUAL(g->nnodes, 5);              /* nothing ran */
  o.only = "cleanup,";
  CU_ASSERT_EQUAL(run(g, &o, msg, sizeof msg), 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "empty pass name"));
  o.only = NULL;
  o.dump_after = "fusion";
  CU_ASSERT_EQUAL(run(g, &o, msg, sizeof msg), 1);
  CU_ASSERT_PTR_NOT_NULL(strstr(msg, "unknown pass 'fusion'"));
  ir_graph_free(g);
}

static void test_dump_after(void) {
  Graph *g = small();
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  PassOptions o = {2, NULL, "fold_bn", f, 1, NULL};
  CU_ASSERT_EQUAL(run(g, &o, NULL, 0), 0);
  fclose(f);
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "# IR after fold_bn"));
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "= Relu("));          /* not fused yet */
  CU_ASSERT_PTR_NULL(strstr(buf, "BatchNormalization"));   /* folded */
  free(buf);
  ir_graph_free(g);
}

static void test_report_and_svg(void) {
  Graph *g = small();
  PassLog log;
  PassOptions o = {2, NULL, NULL, NULL, 1, &log};
  CU_ASSERT_EQUAL(run(g, &o, NULL, 0), 0);
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  report_print(g, &log, f);
  fclose(f);
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "Conv(+relu)"));
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, "pass fold_bn"));
  /* 1x2 -> 3 channels 4x4: 48 outputs, 2 multiply-adds each */
  CU_ASSERT_PTR_NOT_NULL(strstr(buf, " 96 "));
  /* last line: the three numbers (the arena holds the conv output: the
   * flatten writes the graph output, a copy) */
  char *lastline = strstr(buf, "arena_bytes=");
  CU_ASSERT_PTR_NOT_NULL(lastline);
  if (lastline)
    CU_ASSERT_STRING_EQUAL(lastline, "arena_bytes=192 lower_bound_bytes=192 naive_bytes=192\n");
  free(buf);

  const char *dir = rn_tmpdir("plan_svg");
  char path[4096];
  snprintf(path, sizeof path, "%s/plan.svg", dir);
  CU_ASSERT_EQUAL(report_plan_svg(g, path, NULL), 0);
  size_t n = 0;
  char *svg = rn_read_file(path, &n);
  CU_ASSERT_PTR_NOT_NULL(svg);
  if (svg) {
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<svg"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "small&lt;&amp;&gt;"));
    CU_ASSERT_PTR_NOT_NULL(strstr(svg, "<rect"));
  }
  free(svg);
  if (rn_system(NULL, "command -v xmllint >/dev/null 2>&1") == 0) {
    CU_ASSERT_EQUAL(rn_system(NULL, "xmllint --noout '%s'", path), 0);
  } else {
    rn_skip("xmllint not installed (apt-get install libxml2-utils): SVG not validated");
  }
  /* an unwritable path: one error, nothing left behind */
  snprintf(path, sizeof path, "%s/no/such/dir/plan.svg", dir);
  ir_quiet = 1;
  CU_ASSERT_EQUAL(report_plan_svg(g, path, NULL), -1);
  ir_quiet = 0;
  ir_graph_free(g);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("pass_manager", NULL, NULL);
  CU_add_test(s, "opt levels", test_levels);
  CU_add_test(s, "only", test_only);
  CU_add_test(s, "unknown names", test_unknown_names);
  CU_add_test(s, "dump after", test_dump_after);
  CU_add_test(s, "report and svg", test_report_and_svg);
  return rn_run_tests();
}
