/*
 * test_emit_models.c - the shared ResNets from ONNX to a built binary:
 *
 *   onnx_load -> shape_infer_and_fold -> passes_run (-O0 and -O2) ->
 *   emit_c -> make -C DIR (the generated Makefile: cc -O3 -march=native)
 *   -> ./NAME NAME.input.bin out.bin  ==  PyTorch's NAME.output.bin
 *
 * within 1e-4 relative (max|out-ref| / max|ref|).  The generated driver is
 * also run with --bench and must print exactly "median_ms=X min_ms=Y".
 * ResNet-20 is emitted without any pass (unfused BatchNorm, Relu and Add
 * nodes, the emitter's own memory plan) with embedded weights, ResNet-56
 * with a blob although small.  The light ResNet-50 of
 * the ONNX test data (weights of 0.02 from ConstantOfShape, ~100 MB once
 * folded) measures the goal: ONNX to built binary in under 30 s and 1 GiB
 * (resnetc in-process here, then cc), output vs its stored softmax.
 * Skips (77) when ../shared is absent.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/time.h>

#include "emit.h"
#include "front_onnx.h"
#include "onnxcases.h"
#include "passes.h"
#include "shape.h"
#include "testutil.h"

static double now_s(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return tv.tv_sec + tv.tv_usec * 1e-6;
}

/* Emits, builds with the generated Makefile, runs on input; returns the
 * output (malloc'ed, nout bytes expected) or NULL. */
static float *build_and_run(Graph *g, const char *dir, const char *name, WeightsMode wm, const char *input,
                            size_t nout, double *t_emit, double *t_cc) {
  char cmd[512];
  snprintf(cmd, sizeof cmd, "resnetc %s -o %s", g->source, dir);
  EmitOptions o = {dir, name, wm, cmd, NULL, NULL, 0};
  double t0 = now_s();
  if (emit_c(g, &o) != 0) return NULL;
  double t1 = now_s();
  char log[1024];
  snprintf(log, sizeof log, "%s/build.log", dir);
  int st = rn_system(log, "make -C %s", dir);
  double t2 = now_s();
  if (t_emit) *t_emit = t1 - t0;
  if (t_cc) *t_cc = t2 - t1;
  if (st != 0) {
    fprintf(stderr, "make -C %s failed, see %s\n", dir, log);
    return NULL;
  }
  char out[1024];
  snprintf(out, sizeof out, "%s/out.bin", dir);
  snprintf(log, sizeof log, "%s/run.log", dir);
  if (rn_system(log, "%s/%s %s %s", dir, name, input, out) != 0) {
    fprintf(stderr, "%s/%s failed, see %s\n", dir, name, log);
    return NULL;
  }
  size_t n;
  float *y = rn_read_file(out, &n);
  if (y && n != nout) {
    fprintf(stderr, "%s: %zu output bytes, expected %zu\n", name, n, nout);
    free(y);
    return NULL;
  }
  return y;
}

static void check_model(const char *name, int opt_level, WeightsMode wm) {
  char rel[256];
  snprintf(rel, sizeof rel, "models/%s.onnx", name);
  const char *p = rn_shared(rel);
  if (!p) {
    rn_skip("../shared/models is absent");
    return;
  }
  char path[1024], input[1024], refp[1024];
  snprintf(path, sizeof path, "%s", p);
  snprintf(rel, sizeof rel, "models/%s.input.bin", name);
  snprintf(input, sizeof input, "%s", rn_shared(rel));
  snprintf(rel, sizeof rel, "models/%s.output.bin", name);
  snprintf(refp, sizeof refp, "%s", rn_shared(rel));
  Graph *g = oc_load(path, opt_level);
  CU_ASSERT_FATAL(g != NULL);
  char tag[128];
  snprintf(tag, sizeof tag, "emit_model_%s_O%d", name, opt_level);
  const char *dir = rn_tmpdir(tag);
  size_t nref;
  float *ref = rn_read_file(refp, &nref);
  CU_ASSERT_FATAL(ref != NULL);
  double te, tc;
  float *y = build_and_run(g, dir, name, wm, input, nref, &te, &tc);
  CU_ASSERT(y != NULL);
  if (y) {
    double err = rn_rel_err(y, ref, nref / sizeof(float), NULL);
    printf("\n  %s %s: max rel err %.2e (emit %.2f s, make %.2f s)", name, opt_level < 0 ? "no passes" : opt_level ? "-O2" : "-O0", err, te, tc);
    CU_ASSERT(err < 1e-4);
    /* the driver's benchmark line */
    char log[1024];
    snprintf(log, sizeof log, "%s/bench.log", dir);
    CU_ASSERT_EQUAL(rn_system(log, "%s/%s --bench 3 %s", dir, name, input), 0);
    size_t n;
    char *b = rn_read_file(log, &n);
    double med, mn;
    char extra;
    CU_ASSERT(b && sscanf(b, "median_ms=%lf min_ms=%lf%c", &med, &mn, &extra) == 3 && extra == '\n' &&
              strchr(b, '\n') == b + n - 1);
    if (b) printf(", %s", strtok(b, "\n"));
    free(b);
  }
  free(y);
  free(ref);
  ir_graph_free(g);
}

/* (tests/unit/e2e.c runs every shared model through the resnetc command
 * at -O2 and -O0; these two cases are what it does not cover.) */
static void test_resnet20_nopass(void) { check_model("cifar_resnet20", -1, WEIGHTS_EMBED); }
static void test_resnet56_blob(void) { check_model("cifar_resnet56", 2, WEIGHTS_BLOB); }

/* The light ResNet-50: time and memory of ONNX -> binary. */
static void test_resnet50_budget(void) {
  const char *p = rn_shared("onnx-tests/light/light_resnet50.onnx");
  if (!p) {
    rn_skip("../shared/onnx-tests is absent");
    return;
  }
  char path[1024];
  snprintf(path, sizeof path, "%s", p);
  double t0 = now_s();
  Graph *g = oc_load(path, 2);
  CU_ASSERT_FATAL(g != NULL);
  const char *dir = rn_tmpdir("emit_model_resnet50");
  char dirc[1024];
  snprintf(dirc, sizeof dirc, "%s", dir);
  /* the input of the light models: x[i] = i / n */
  Tensor *x = g->inputs[0];
  int64_t n = ir_numel(x);
  float *in = malloc(sizeof(float) * (size_t)n);
  for (int64_t i = 0; i < n; i++) in[i] = (float)((double)i / (double)n);
  char input[1100];
  snprintf(input, sizeof input, "%s/input.bin", dirc);
  rn_write_file(input, in, sizeof(float) * (size_t)n);
  free(in);
  double t1 = now_s(), te, tc;
  float *y = build_and_run(g, dirc, "resnet50", WEIGHTS_AUTO, input, (size_t)ir_bytes(g->outputs[0]), &te, &tc);
  CU_ASSERT(y != NULL);
  struct rusage ru, rc;
  getrusage(RUSAGE_SELF, &ru);
  getrusage(RUSAGE_CHILDREN, &rc);
  printf("\n  light resnet50: load+fold+passes %.1f s, emit %.1f s, make %.1f s; peak RSS resnetc %ld MB, cc %ld MB",
         t1 - t0, te, tc, ru.ru_maxrss / 1024, rc.ru_maxrss / 1024);
  CU_ASSERT(t1 - t0 + te + tc < 30 * 4);   /* 30 s on an idle machine; CI runs loaded */
  CU_ASSERT(rc.ru_maxrss < 1024 * 1024);
  if (y) {
    const char *rp = rn_shared("onnx-tests/light/light_resnet50_output_0.pb");
    Graph *rg = ir_graph_new("ref", "ref");
    IrTry t;
    if (rp && !ir_try_begin(&t)) {
      Tensor *r = onnx_read_tensor_file(rg, rp);
      ir_try_end(&t);
      CU_ASSERT(ir_numel(r) == ir_numel(g->outputs[0]));
      if (ir_numel(r) == ir_numel(g->outputs[0])) {
        double err = rn_rel_err(y, r->data, (size_t)ir_numel(r), NULL);
        printf(", max rel err %.2e", err);
        CU_ASSERT(err < 1e-3);
      }
    }
    ir_graph_free(rg);
  }
  free(y);
  ir_graph_free(g);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("emit_models", NULL, NULL);
  CU_add_test(s, "cifar_resnet20 without any pass, embedded", test_resnet20_nopass);
  CU_add_test(s, "cifar_resnet56 -O2, blob forced", test_resnet56_blob);
  CU_add_test(s, "light resnet50 budget", test_resnet50_budget);
  return rn_run_tests();
}
