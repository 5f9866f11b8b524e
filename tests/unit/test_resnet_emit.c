/* test_resnet_emit.c - .resnet files all the way to a built binary:
 *
 *   resnet_load (weights from tools/export_safetensors.py) ->
 *   shape_infer_and_fold -> passes_run -> emit_c -> make -> ./NAME
 *
 * whose output must be PyTorch's within 1e-4 (max|out - ref| / max|ref|),
 * for cifar_resnet20 (option A shortcuts) and resnet18.  And the round trip
 * through ONNX: the .resnet graph written with onnx_save, read back with
 * onnx_load and compiled the same way must give the output of the direct
 * build (and PyTorch's).  Skips (77) when PyTorch is absent. */
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "front_onnx.h"
#include "front_resnet.h"
#include "passes.h"
#include "shape.h"
#include "testutil.h"

#define TOL 1e-4

/* tools/export_safetensors.py's folder in the build tree, exported now if
 * absent (under a lock: tests run in parallel); NULL without PyTorch. */
static const char *lang_weights_dir(void) {
  static char dir[4096];
  snprintf(dir, sizeof dir, "%s/lang-weights", RN_BINARY_DIR);
  char p[4400];
  snprintf(p, sizeof p, "%s/cifar_resnet20.safetensors", dir);
  FILE *f = fopen(p, "rb");
  if (f) { fclose(f); return dir; }
  if (rn_system("/dev/null", "/usr/bin/python3 -c 'import torch, torchvision, onnx'") != 0) return NULL;
  if (rn_system(NULL, "mkdir -p %s && flock %s/.export.lock sh -c "
                "'test -f %s/cifar_resnet20.safetensors || /usr/bin/python3 %s %s resnet18 resnet50_v1_5 cifar_resnet20 >/dev/null 2>&1'",
                dir, dir, dir, rn_source_path("tools/export_safetensors.py"), dir) != 0)
    return NULL;
  f = fopen(p, "rb");
  if (!f) return NULL;
  fclose(f);
  return dir;
}

static int optimise(Graph *g) {
  IrTry t;
  if (ir_try_begin(&t)) return -1;
  shape_infer_and_fold(g, 0);
  PassOptions po;
  memset(&po, 0, sizeof po);
  po.opt_level = 2;
  po.verify = 1;
  passes_run(g, &po);
  ir_try_end(&t);
  return 0;
}

/* emit, make, run on input: the output floats (malloc'ed) or NULL */
static float *build_and_run(Graph *g, const char *tag, const char *name, const char *input, size_t nfloats) {
  char dir[4096];
  snprintf(dir, sizeof dir, "%s", rn_tmpdir(tag));
  EmitOptions o;
  memset(&o, 0, sizeof o);
  o.outdir = dir;
  o.name = name;
  o.weights = WEIGHTS_AUTO;
  o.command_line = "test_resnet_emit";
  if (emit_c(g, &o) != 0) return NULL;
  char log[4200], out[4200];
  snprintf(log, sizeof log, "%s/build.log", dir);
  if (rn_system(log, "make -s -C %s", dir) != 0) {
    fprintf(stderr, "make failed: see %s\n", log);
    return NULL;
  }
  snprintf(out, sizeof out, "%s/out.bin", dir);
  if (rn_system(log, "%s/%s %s %s", dir, name, input, out) != 0) {
    fprintf(stderr, "run failed: see %s\n", log);
    return NULL;
  }
  size_t n;
  float *y = rn_read_file(out, &n);
  if (y && n != nfloats * sizeof(float)) {
    free(y);
    return NULL;
  }
  rn_system(NULL, "rm -f %s/*.o %s/*.weights", dir, dir);
  return y;
}

static Graph *load_dsl(const char *model, const char *weights) {
  char rel[256];
  snprintf(rel, sizeof rel, "models/%s.resnet", model);
  ResnetOptions o = {0};
  o.weights = weights;
  return resnet_load(rn_source_path(rel), &o);
}

static void check(const char *what, const float *y, const char *refpath, size_t n, double tol) {
  size_t nb;
  float *r = rn_read_file(refpath, &nb);
  CU_ASSERT_PTR_NOT_NULL_FATAL(r);
  CU_ASSERT_EQUAL_FATAL(nb, n * sizeof(float));
  double e = rn_rel_err(y, r, n, NULL);
  printf("\n  %-40s rel err %.2e", what, e);
  CU_ASSERT(e <= tol);
  free(r);
}

static void run_model(const char *model, int roundtrip) {
  const char *d = lang_weights_dir();
  if (!d) {
    rn_skip("PyTorch (python3-torch, python3-torchvision) is absent");
    return;
  }
  char w[4400], in[4400], ref[4400], tag[200], what[200];
  snprintf(w, sizeof w, "%s/%s.safetensors", d, model);
  snprintf(in, sizeof in, "%s/%s.input.bin", d, model);
  snprintf(ref, sizeof ref, "%s/%s.output.bin", d, model);
  Graph *g = load_dsl(model, w);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  size_t n = (size_t)ir_numel(g->outputs[0]);
  char onnx[4400];
  snprintf(tag, sizeof tag, "resnet_emit_%s_onnx", model);
  snprintf(onnx, sizeof onnx, "%s/%s.onnx", rn_tmpdir(tag), model);
  if (roundtrip) CU_ASSERT_EQUAL(onnx_save(g, onnx), 0);
  CU_ASSERT_EQUAL_FATAL(optimise(g), 0);
  snprintf(tag, sizeof tag, "resnet_emit_%s", model);
  float *y = build_and_run(g, tag, model, in, n);
  CU_ASSERT_PTR_NOT_NULL(y);
  snprintf(what, sizeof what, "%s.resnet -> C", model);
  if (y) check(what, y, ref, n, TOL);
  ir_graph_free(g);
  if (roundtrip && y) {
    OnnxOptions oo = {1, 0};
    Graph *h = onnx_load(onnx, &oo);
    CU_ASSERT_PTR_NOT_NULL_FATAL(h);
    CU_ASSERT_EQUAL_FATAL(optimise(h), 0);
    snprintf(tag, sizeof tag, "resnet_emit_%s_via_onnx", model);
    float *z = build_and_run(h, tag, model, in, n);
    CU_ASSERT_PTR_NOT_NULL(z);
    if (z) {
      snprintf(what, sizeof what, "%s.resnet -> ONNX -> C", model);
      check(what, z, ref, n, TOL);
      double e = rn_rel_err(z, y, n, NULL);
      printf("\n  %-40s rel err %.2e", "  ... against .resnet -> C", e);
      CU_ASSERT(e <= 1e-5);
    }
    free(z);
    ir_graph_free(h);
  }
  free(y);
}

static void test_cifar_resnet20(void) { run_model("cifar_resnet20", 1); }
static void test_resnet18(void) { run_model("resnet18", 0); }

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("resnet_emit", NULL, NULL);
  CU_add_test(s, "cifar_resnet20: .resnet -> C and -> ONNX -> C", test_cifar_resnet20);
  CU_add_test(s, "resnet18: .resnet -> C", test_resnet18);
  return rn_run_tests();
}
