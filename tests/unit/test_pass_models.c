/* test_pass_models.c - the whole -O2 pipeline on the shared ResNets:
 * onnx_load -> shape_infer_and_fold -> passes_run, then
 *   - no BatchNormalization, Add, Relu, Flatten or Identity (layout reorder)
 *     node is left (and, for the CIFAR
 *     option-A networks, no Slice or Pad: the shortcut is read in place);
 *   - eval_graph's output equals PyTorch's (NAME.output.bin) within 1e-4
 *     relative (max|out-ref| / max|ref|);
 *   - the memory plan is valid and within 5% of its lower bound.
 * The plan numbers are printed for the report. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front_onnx.h"
#include "onnxcases.h"
#include "passes.h"
#include "shape.h"
#include "testutil.h"

static Graph *load(const char *name, int opt_level) {
  char rel[256];
  snprintf(rel, sizeof rel, "models/%s.onnx", name);
  const char *path = rn_shared(rel);
  if (!path) return NULL;
  return oc_load(path, opt_level);
}

static int count(Graph *g, Op op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++) k += g->nodes[i]->op == op;
  return k;
}

/* eval on NAME.input.bin; returns max rel error vs NAME.output.bin, or -1 */
static double check_output(Graph *g, const char *name) {
  char rel[256];
  size_t nin = 0, nout = 0;
  snprintf(rel, sizeof rel, "models/%s.input.bin", name);
  void *in = rn_read_file(rn_shared(rel), &nin);
  snprintf(rel, sizeof rel, "models/%s.output.bin", name);
  void *ref = rn_read_file(rn_shared(rel), &nout);
  double err = -1;
  if (in && ref && g->ninputs == 1 && g->noutputs == 1 &&
      (int64_t)nin == ir_bytes(g->inputs[0]) && (int64_t)nout == ir_bytes(g->outputs[0])) {
    void *out[1] = {NULL};
    const void *ins[1] = {in};
    IrTry t;
    if (!ir_try_begin(&t)) {
      eval_graph(g, ins, out);
      ir_try_end(&t);
      err = rn_rel_err(out[0], ref, nout / 4, NULL);
    }
    free(out[0]);
  }
  free(in);
  free(ref);
  return err;
}

static void run_model(const char *name, int option_a) {
  Graph *g = load(name, 2);
  if (!g) {
    char rel[256];
    snprintf(rel, sizeof rel, "models/%s.onnx", name);
    if (!rn_shared(rel)) { rn_skip(name); return; }
    CU_FAIL("loading or optimising the model failed");
    return;
  }
  CU_ASSERT_EQUAL(count(g, OP_BATCHNORM), 0);
  CU_ASSERT_EQUAL(count(g, OP_ADD), 0);
  CU_ASSERT_EQUAL(count(g, OP_RELU), 0);
  /* every conv runs blocked and the classifier reads the blocked global
   * pool directly: no layout reorder (Identity) anywhere */
  CU_ASSERT_EQUAL(count(g, OP_IDENTITY), 0);
  CU_ASSERT_EQUAL(count(g, OP_FLATTEN), 0);
  if (option_a) {
    CU_ASSERT_EQUAL(count(g, OP_SLICE), 0);
    CU_ASSERT_EQUAL(count(g, OP_PAD), 0);
  }
  double err = check_output(g, name);
  fprintf(stderr, "%s: %d nodes, output error %.3g\n", name, g->nnodes, err);
  CU_ASSERT(err >= 0 && err <= 1e-4);
  PlanSummary s;
  plan_summary(g, &s);
  fprintf(stderr, "%s: arena_bytes=%" PRId64 " lower_bound_bytes=%" PRId64 " naive_bytes=%" PRId64 "\n",
          name, s.arena_bytes, s.lower_bound_bytes, s.naive_bytes);
  CU_ASSERT(s.arena_bytes >= s.lower_bound_bytes);
  CU_ASSERT(s.arena_bytes <= s.lower_bound_bytes + s.lower_bound_bytes / 20);
  CU_ASSERT_EQUAL(s.arena_bytes, g->arena_bytes);
  ir_graph_free(g);
}

static void test_cifar_resnet20(void) { run_model("cifar_resnet20", 1); }
static void test_cifar_resnet56(void) { run_model("cifar_resnet56", 1); }
static void test_cifar_plain20(void) { run_model("cifar_plain20", 0); }
static void test_resnet18(void) { run_model("resnet18", 0); }

/* -O0 computes the same (the passes change nothing observable) */
static void test_o0_same(void) {
  Graph *g = load("cifar_resnet20", 0);
  if (!g) { rn_skip("cifar_resnet20"); return; }
  CU_ASSERT(count(g, OP_BATCHNORM) > 0);
  double err = check_output(g, "cifar_resnet20");
  CU_ASSERT(err >= 0 && err <= 1e-4);
  ir_graph_free(g);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("pass_models", NULL, NULL);
  CU_add_test(s, "cifar_resnet20", test_cifar_resnet20);
  CU_add_test(s, "cifar_resnet56", test_cifar_resnet56);
  CU_add_test(s, "cifar_plain20", test_cifar_plain20);
  CU_add_test(s, "resnet18", test_resnet18);
  CU_add_test(s, "-O0 gives the same", test_o0_same);
  return rn_run_tests();
}
