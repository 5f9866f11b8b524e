/* test_resnet_weights.c - .resnet models with real weights against PyTorch.
 *
 * References, all from outside resnetc:
 *   - ../shared/models: PyTorch's ONNX exports of resnet18, cifar_resnet20
 *     and cifar_plain20 with their input and output.  The weights are bound
 *     from the ONNX initializers: models/resnet18.resnet as it is (torch
 *     keeps torchvision's names), the CIFAR nets through
 *     tests/lang/cifar_*_export_names.resnet, which map the export's names
 *     (stem.0, body.N.c1) with @names and block_names.
 *   - tools/export_safetensors.py (Debian's python3-torch, run here when
 *     its files are absent from the build tree): torchvision resnet18 and
 *     resnet50 (v1.5) and the CIFAR ResNet-20, seeded random weights and
 *     randomised BatchNorm statistics, as safetensors, with PyTorch's
 *     output; and resnet18.onnx, the same model exported to ONNX.
 * Outputs are computed with eval_graph (compiler/eval.c), the naive
 * reference evaluator, and must be within 1e-4 of PyTorch's
 * (max|out - ref| / max|ref|).  The C built from .resnet files is checked
 * in test_resnet_emit.c.  Tests without their data are skipped (77). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "front_onnx.h"
#include "front_resnet.h"
#include "passes.h"
#include "shape.h"
#include "summary.h"
#include "testutil.h"

#define TOL 1e-4

/* The folder of tools/export_safetensors.py's files, exporting them if
 * needed; NULL when PyTorch is absent. */
static const char *lang_weights_dir(void) {
  static char dir[4096];
  snprintf(dir, sizeof dir, "%s/lang-weights", RN_BINARY_DIR);
  const char *names[3] = {"resnet18", "resnet50_v1_5", "cifar_resnet20"};
  int have = 1;
  for (int i = 0; i < 3; i++) {
    char p[4400];
    snprintf(p, sizeof p, "%s/%s.safetensors", dir, names[i]);
    FILE *f = fopen(p, "rb");
    if (f) fclose(f);
    else have = 0;
  }
  if (have) return dir;
  if (rn_system("/dev/null", "/usr/bin/python3 -c 'import torch, torchvision, onnx'") != 0) return NULL;
  fprintf(stderr, "exporting PyTorch weights into %s\n", dir);
  if (rn_system(NULL, "mkdir -p %s && flock %s/.export.lock sh -c "
                "'test -f %s/cifar_resnet20.safetensors || /usr/bin/python3 %s %s resnet18 resnet50_v1_5 cifar_resnet20 >/dev/null 2>&1'",
                dir, dir, dir, rn_source_path("tools/export_safetensors.py"), dir) != 0)
    return NULL;
  char p[4400];
  snprintf(p, sizeof p, "%s/cifar_resnet20.safetensors", dir);
  FILE *f = fopen(p, "rb");
  if (!f) return NULL;
  fclose(f);
  return dir;
}

/* Loads model with weights and runs eval_graph on input; returns the
 * output (malloc'ed) and its float count. */
static float *run_dsl(const char *model, const char *weights, const char *input, size_t *n, Graph **keep) {
  ResnetOptions o = {0};
  o.weights = weights;
  Graph *g = resnet_load(model, &o);
  CU_ASSERT_PTR_NOT_NULL(g);
  if (!g) return NULL;
  size_t nin;
  float *x = rn_read_file(input, &nin);
  CU_ASSERT_PTR_NOT_NULL_FATAL(x);
  CU_ASSERT_EQUAL(nin, (size_t)ir_bytes(g->inputs[0]));
  const void *in[1] = {x};
  void *out[1] = {NULL};
  IrTry t;
  if (ir_try_begin(&t)) {
    CU_FAIL("eval_graph failed");
    free(x);
    ir_graph_free(g);
    return NULL;
  }
  eval_graph(g, in, out);
  ir_try_end(&t);
  *n = (size_t)ir_numel(g->outputs[0]);
  free(x);
  if (keep) *keep = g;
  else ir_graph_free(g);
  return out[0];
}

static double compare(const char *what, const float *y, size_t n, const char *refpath) {
  size_t nb;
  float *r = rn_read_file(refpath, &nb);
  CU_ASSERT_PTR_NOT_NULL_FATAL(r);
  CU_ASSERT_EQUAL_FATAL(nb, n * sizeof(float));
  double maxref, e = rn_rel_err(y, r, n, &maxref);
  printf("\n  %-44s rel err %.2e (max|ref| %.3g)", what, e, maxref);
  free(r);
  return e;
}

/* run_dsl, then compare with refpath: the relative error, or -1 when the
 * model did not run (a CUnit failure already). */
static double dsl_error(const char *what, const char *model, const char *weights, const char *input,
                        const char *refpath) {
  size_t n;
  float *y = run_dsl(model, weights, input, &n, NULL);
  if (!y) return -1;
  double e = compare(what, y, n, refpath);
  free(y);
  return e;
}

static void test_shared_onnx_initializers(void) {
  static const struct { const char *model, *data; } m[] = {
    {"models/resnet18.resnet", "resnet18"},
    {"tests/lang/cifar_resnet20_export_names.resnet", "cifar_resnet20"},
    {"tests/lang/cifar_plain20_export_names.resnet", "cifar_plain20"},
  };
  if (!rn_shared("models/resnet18.onnx")) {
    rn_skip("../shared/models is absent");
    return;
  }
  for (int i = 0; i < 3; i++) {
    char rel[256], onnx[4096], in[4096], ref[4096], model[4096];
    snprintf(rel, sizeof rel, "models/%s.onnx", m[i].data);
    snprintf(onnx, sizeof onnx, "%s", rn_shared(rel));
    snprintf(rel, sizeof rel, "models/%s.input.bin", m[i].data);
    snprintf(in, sizeof in, "%s", rn_shared(rel));
    snprintf(rel, sizeof rel, "models/%s.output.bin", m[i].data);
    snprintf(ref, sizeof ref, "%s", rn_shared(rel));
    snprintf(model, sizeof model, "%s", rn_source_path(m[i].model));
    char what[200];
    snprintf(what, sizeof what, "%s + ONNX weights", m[i].data);
    double e = dsl_error(what, model, onnx, in, ref);
    if (e >= 0) CU_ASSERT(e <= TOL);
  }
}

static void test_pytorch_safetensors(void) {
  const char *d = lang_weights_dir();
  if (!d) {
    rn_skip("PyTorch (python3-torch, python3-torchvision) is absent");
    return;
  }
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", d);
  const char *names[3] = {"cifar_resnet20", "resnet18", "resnet50_v1_5"};
  for (int i = 0; i < 3; i++) {
    char model[4096], w[4400], in[4400], ref[4400], rel[256];
    snprintf(rel, sizeof rel, "models/%s.resnet", names[i]);
    snprintf(model, sizeof model, "%s", rn_source_path(rel));
    snprintf(w, sizeof w, "%s/%s.safetensors", dir, names[i]);
    snprintf(in, sizeof in, "%s/%s.input.bin", dir, names[i]);
    snprintf(ref, sizeof ref, "%s/%s.output.bin", dir, names[i]);
    char what[200];
    snprintf(what, sizeof what, "%s + safetensors", names[i]);
    double e = dsl_error(what, model, w, in, ref);
    if (e >= 0) CU_ASSERT(e <= TOL);
  }
  /* the paper's v1 (stride on the 1x1) computes something else with the
   * same weights: the placement of the stride is real */
  char model[4096], w[4400], in[4400], ref[4400];
  snprintf(model, sizeof model, "%s", rn_source_path("models/resnet50.resnet"));
  snprintf(w, sizeof w, "%s/resnet50_v1_5.safetensors", dir);
  snprintf(in, sizeof in, "%s/resnet50_v1_5.input.bin", dir);
  snprintf(ref, sizeof ref, "%s/resnet50_v1_5.output.bin", dir);
  double e = dsl_error("resnet50 (v1) + torchvision's v1.5 weights", model, w, in, ref);
  if (e >= 0) CU_ASSERT(e > 1e-2);
}

/* The .resnet graph a and the ONNX graph b hold as many nodes of each op
 * (a difference is printed; when: "after the passes " or ""). */
static void assert_same_ops(const Graph *a, const Graph *b, const char *when) {
  int ca[OP_COUNT] = {0}, cb[OP_COUNT] = {0};
  for (int i = 0; i < a->nnodes; i++) ca[a->nodes[i]->op]++;
  for (int i = 0; i < b->nnodes; i++) cb[b->nodes[i]->op]++;
  for (int k = 0; k < OP_COUNT; k++) {
    if (ca[k] != cb[k]) fprintf(stderr, "%s: %d %sfrom .resnet, %d from ONNX\n", op_info[k].name, ca[k], when, cb[k]);
    CU_ASSERT_EQUAL(ca[k], cb[k]);
  }
}

/* The DSL ResNet-18 and the ONNX export of the same torchvision model with
 * the same weights: two front ends, one result. */
static void test_dsl_equals_onnx(void) {
  const char *d = lang_weights_dir();
  if (!d) {
    rn_skip("PyTorch (python3-torch, python3-torchvision) is absent");
    return;
  }
  char w[4400], in[4400], onnx[4400];
  snprintf(w, sizeof w, "%s/resnet18.safetensors", d);
  snprintf(in, sizeof in, "%s/resnet18.input.bin", d);
  snprintf(onnx, sizeof onnx, "%s/resnet18.onnx", d);
  size_t n;
  Graph *dsl = NULL;
  float *y = run_dsl(rn_source_path("models/resnet18.resnet"), w, in, &n, &dsl);
  CU_ASSERT_PTR_NOT_NULL_FATAL(y);
  OnnxOptions oo = {1, 0};
  Graph *volatile g = onnx_load(onnx, &oo);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  float *x = rn_read_file(in, NULL);
  const void *ins[1] = {x};
  void *outs[1] = {NULL};
  IrTry t;
  if (ir_try_begin(&t)) {
    CU_FAIL("the ONNX model did not evaluate");
  } else {
    shape_infer_and_fold(g, 0);
    eval_graph(g, ins, outs);
    ir_try_end(&t);
    CU_ASSERT_EQUAL(ir_numel(g->outputs[0]), (int64_t)n);
    double e = rn_rel_err(y, outs[0], n, NULL);
    printf("\n  %-44s rel err %.2e", "resnet18: .resnet vs ONNX front end", e);
    CU_ASSERT(e <= 1e-6);
    /* the same op sequence: both graphs hold the same multiset of ops */
    int cd[OP_COUNT] = {0}, co[OP_COUNT] = {0};
    for (int i = 0; i < dsl->nnodes; i++) cd[dsl->nodes[i]->op]++;
    for (int i = 0; i < g->nnodes; i++) co[g->nodes[i]->op]++;
    CU_ASSERT_EQUAL(cd[OP_CONV], co[OP_CONV]);
    CU_ASSERT_EQUAL(cd[OP_BATCHNORM], co[OP_BATCHNORM]);
    CU_ASSERT_EQUAL(cd[OP_ADD], co[OP_ADD]);
    CU_ASSERT_EQUAL(cd[OP_RELU], co[OP_RELU]);
    /* --summary counts the same for both */
    SummaryTotals td, to;
    summary_compute(dsl, &td);
    summary_compute(g, &to);
    CU_ASSERT_EQUAL(td.params, 11689512);
    CU_ASSERT_EQUAL(to.params, td.params);
    CU_ASSERT_EQUAL(to.buffers, td.buffers);
    CU_ASSERT_EQUAL(to.macs, td.macs);
    /* and the optimiser makes the same graph of both: same ops, same
     * count of each (BatchNorm folded, shortcuts fused the same way) */
    IrTry t2;
    if (ir_try_begin(&t2)) {
      CU_FAIL("passes failed");
    } else {
      PassOptions po;
      memset(&po, 0, sizeof po);
      po.opt_level = 2;
      po.verify = 1;
      shape_infer_and_fold(dsl, 0);
      passes_run(dsl, &po);
      passes_run(g, &po);
      ir_try_end(&t2);
      assert_same_ops(dsl, g, "after the passes ");
      int nbn = 0;
      for (int i = 0; i < dsl->nnodes; i++) nbn += dsl->nodes[i]->op == OP_BATCHNORM;
      CU_ASSERT_EQUAL(nbn, 0);
      CU_ASSERT_EQUAL(dsl->arena_bytes, g->arena_bytes);
    }
  }
  free(outs[0]);
  free(x);
  free(y);
  ir_graph_free(g);
  ir_graph_free(dsl);
}

/* Option A through both front ends: the shared PyTorch export of CIFAR
 * ResNet-20 (x[:, :, ::2, ::2] and F.pad become Slice and Pad with
 * Constant inputs) and the .resnet description optimise to the same graph. */
static void test_option_a_same_graph(void) {
  if (!rn_shared("models/cifar_resnet20.onnx")) {
    rn_skip("../shared/models is absent");
    return;
  }
  char onnx[4096];
  snprintf(onnx, sizeof onnx, "%s", rn_shared("models/cifar_resnet20.onnx"));
  ResnetOptions o = {0};
  o.weights = onnx;
  Graph *dsl = resnet_load(rn_source_path("tests/lang/cifar_resnet20_export_names.resnet"), &o);
  OnnxOptions oo = {1, 0};
  Graph *volatile g = onnx_load(onnx, &oo);
  CU_ASSERT_PTR_NOT_NULL_FATAL(dsl);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  IrTry t;
  if (ir_try_begin(&t)) {
    CU_FAIL("passes failed");
  } else {
    PassOptions po;
    memset(&po, 0, sizeof po);
    po.opt_level = 2;
    po.verify = 1;
    shape_infer_and_fold(dsl, 0);
    shape_infer_and_fold(g, 0);
    passes_run(dsl, &po);
    passes_run(g, &po);
    ir_try_end(&t);
    assert_same_ops(dsl, g, "");
    CU_ASSERT_EQUAL(dsl->arena_bytes, g->arena_bytes);
  }
  ir_graph_free(dsl);
  ir_graph_free(g);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("resnet_weights", NULL, NULL);
  CU_add_test(s, "weights from ../shared's ONNX initializers", test_shared_onnx_initializers);
  CU_add_test(s, "PyTorch weights as safetensors", test_pytorch_safetensors);
  CU_add_test(s, ".resnet and ONNX front ends agree", test_dsl_equals_onnx);
  CU_add_test(s, "option A: the same optimised graph as PyTorch's export", test_option_a_same_graph);
  return rn_run_tests();
}
