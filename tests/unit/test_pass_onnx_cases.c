/* test_pass_onnx_cases.c - the optimiser on every ONNX test case we load:
 * the reference evaluator gives the same outputs on the case's own inputs
 * before and after -O2 (passes are semantics-preserving on graphs we did
 * not write), the IR verifies after each pass, and the plan is valid.  The
 * light/ model-zoo networks (weights from ConstantOfShape) are too slow to
 * evaluate here; they go through the passes, and their BatchNorms must
 * fold away where they follow a Conv. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "front_onnx.h"
#include "onnxcases.h"
#include "passes.h"
#include "shape.h"
#include "testutil.h"

/* max |a-b| / max(|b|, tiny) over float outputs, exact for the others;
 * NaN matches NaN.  Returns 1 when they agree within tol. */
static int same_output(const Tensor *t, const void *a, const void *b, double tol) {
  int64_t n = ir_numel(t);
  if (!dtype_is_float(t->dtype)) return memcmp(a, b, (size_t)ir_bytes(t)) == 0;
  Tensor va = *t, vb = *t;
  va.data = (void *)a;
  vb.data = (void *)b;
  double maxref = 0, maxdiff = 0;
  for (int64_t i = 0; i < n; i++) {
    double x = ir_get_f64(&va, i), y = ir_get_f64(&vb, i);
    if (isnan(x) || isnan(y)) {
      if (isnan(x) != isnan(y)) return 0;
      continue;
    }
    if (isinf(x) || isinf(y)) {
      if (x != y) return 0;
      continue;
    }
    if (fabs(y) > maxref) maxref = fabs(y);
    if (fabs(x - y) > maxdiff) maxdiff = fabs(x - y);
  }
  return maxdiff <= tol * (maxref > 1e-30 ? maxref : 1e-30);
}

static int count(Graph *g, Op op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++) k += g->nodes[i]->op == op;
  return k;
}

/* one node/ or pytorch-* case: 1 checked, 0 not applicable, -1 failed */
static int run_case(const OnnxCase *c) {
  char path[5000];
  const char *name = c->name;
  int nin = c->ninputs;
  ir_quiet = 1;
  Graph *g = onnx_load(oc_model_path(c, path, sizeof path), NULL);
  ir_quiet = 0;
  if (!g) return 0;                    /* unsupported: test_onnx's business */
  void *ins[16] = {0}, *before[16] = {0}, *after[16] = {0};
  volatile int ok = 0;
  int no = g->noutputs;
  IrTry t;
  ir_quiet = 1;
  if (ir_try_begin(&t)) {
    ir_quiet = 0;
    ir_graph_free(g);
    return 0;                          /* shape inference refused it */
  }
  shape_infer_and_fold(g, 0);
  for (int i = 0; i < nin && i < 16; i++) {
    ins[i] = onnx_read_tensor_file(g, oc_data_path(c, "input", i, path, sizeof path))->data;
  }
  eval_graph(g, (const void *const *)ins, before);
  ir_try_end(&t);
  ir_quiet = 0;
  if (nin > 16 || no > 16) { ir_graph_free(g); return 0; }

  if (ir_try_begin(&t)) {
    fprintf(stderr, "%s: %s\n", name, t.msg);
    ok = -1;
  } else {
    PassOptions o = {2, NULL, NULL, NULL, 1, NULL};
    passes_run(g, &o);
    eval_graph(g, (const void *const *)ins, after);
    ir_try_end(&t);
    ok = 1;
    for (int i = 0; i < no; i++) {
      if (!same_output(g->outputs[i], after[i], before[i], 1e-5)) {
        fprintf(stderr, "%s: output %d differs after -O2\n", name, i);
        ok = -1;
      }
    }
  }
  for (int i = 0; i < no; i++) { free(before[i]); free(after[i]); }
  ir_graph_free(g);
  return ok;
}

static void test_cases(void) {
  OnnxCases *cs = oc_open();
  if (!cs) { rn_skip("../shared/onnx-tests absent"); return; }
  int nrun = 0, nfail = 0;
  for (int k = 0; k < cs->n; k++) {
    if (cs->c[k].light) continue;      /* test_light_models */
    int r = run_case(&cs->c[k]);
    nrun += r != 0;
    nfail += r < 0;
  }
  oc_close(cs);
  fprintf(stderr, "  %d cases through -O2, %d differ\n", nrun, nfail);
  CU_ASSERT_EQUAL(nfail, 0);
  CU_ASSERT(nrun > 200);
}

static void test_light_models(void) {
  const char *r = rn_shared("onnx-tests/light");
  if (!r) { rn_skip("../shared/onnx-tests/light absent"); return; }
  char root[4096];
  snprintf(root, sizeof root, "%s", r);
  const char *models[] = {"resnet50", "densenet121", "inception_v1", "inception_v2", "shufflenet",
                          "squeezenet", "vgg19", "bvlc_alexnet", "zfnet512"};
  int nok = 0;
  for (int m = 0; m < 9; m++) {
    char path[4300];
    snprintf(path, sizeof path, "%s/light_%s.onnx", root, models[m]);
    ir_quiet = 1;
    Graph *g = onnx_load(path, NULL);
    ir_quiet = 0;
    if (!g) continue;                  /* LRN... not supported */
    IrTry t;
    if (ir_try_begin(&t)) {
      fprintf(stderr, "light_%s: %s\n", models[m], t.msg);
      ir_graph_free(g);
      continue;
    }
    shape_infer_and_fold(g, 0);
    int nbn = count(g, OP_BATCHNORM);
    PassLog log;
    PassOptions o = {2, NULL, NULL, NULL, 1, &log};
    passes_run(g, &o);
    ir_try_end(&t);
    PlanSummary s;
    plan_summary(g, &s);
    fprintf(stderr, "  light_%s: %d -> %d nodes, BN %d -> %d, arena %lld (bound %lld, naive %lld)\n",
            models[m], log.runs[0].nodes_before, g->nnodes, nbn, count(g, OP_BATCHNORM),
            (long long)s.arena_bytes, (long long)s.lower_bound_bytes, (long long)s.naive_bytes);
    CU_ASSERT(s.arena_bytes >= s.lower_bound_bytes && s.arena_bytes <= s.naive_bytes);
    CU_ASSERT(s.arena_bytes <= s.lower_bound_bytes + s.lower_bound_bytes / 20);
    if (!strcmp(models[m], "resnet50")) {
      CU_ASSERT_EQUAL(count(g, OP_BATCHNORM), 0);
      CU_ASSERT_EQUAL(count(g, OP_SUM) + count(g, OP_ADD), 0);
      CU_ASSERT_EQUAL(count(g, OP_RELU), 0);
    }
    nok++;
    ir_graph_free(g);
  }
  CU_ASSERT(nok >= 5);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("pass_onnx_cases", NULL, NULL);
  CU_add_test(s, "node and pytorch cases", test_cases);
  CU_add_test(s, "light models", test_light_models);
  return rn_run_tests();
}
