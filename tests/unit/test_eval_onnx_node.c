/* test_eval_onnx_node.c - the reference evaluator against ground truth.
 *
 * 1. Every ONNX backend test case in onnx-tests/{node,pytorch-converted,
 *    pytorch-operator} whose ops resnetc supports: load model.onnx, fold,
 *    run eval_graph on input_N.pb, compare with output_N.pb at the upstream
 *    tolerance |got-ref| <= 1e-7 + 1e-3*|ref| (integers and bools exact,
 *    NaN matches NaN).  One line per case, then "N passed, N failed,
 *    N skipped".  Cases are skipped only for an op outside ops.def (named
 *    in MANIFEST.tsv) or for a reason listed in skip_list[] below.
 * 2. The four PyTorch-exported ResNets of models/ through
 *    shape_infer_and_fold + eval_graph against NAME.output.bin, within 1e-4
 *    of max|ref| (this checks the folding of the CIFAR option-A shortcut).
 * 3. The light/ model-zoo networks: their ConstantOfShape weights must fold
 *    away; the small ones are run and compared with their output_0.pb.
 * Without ../shared the program exits 77 (skipped).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "front_onnx.h"
#include "onnxcases.h"
#include "shape.h"
#include "testutil.h"

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Cases skipped on purpose, with the reason.  (Cases whose ops are not in
 * ops.def are skipped automatically, see MANIFEST.tsv.) */
static const struct { const char *name, *why; } skip_list[] = {
  {NULL, NULL},
};

/* ---- comparing tensors -------------------------------------------------- */

static double getf(const Tensor *t, const void *data, int64_t i) {
  Tensor v = *t;
  v.data = (void *)data;
  return ir_get_f64(&v, i);
}

/* 0 when got (data of t's dtype and shape) matches ref; else a reason in why. */
static int compare(const Tensor *t, const void *got, const Tensor *ref, char *why, size_t nw) {
  char a[160], b[160];
  if (t->dtype != ref->dtype) {
    snprintf(why, nw, "output '%s' is %s, reference %s", t->name, dtype_name(t->dtype),
             dtype_name(ref->dtype));
    return 1;
  }
  if (!ir_same_shape(t, ref)) {
    snprintf(why, nw, "output '%s' has shape %s, reference %s", t->name,
             ir_shape_str(t, a, sizeof a), ir_shape_str(ref, b, sizeof b));
    return 1;
  }
  int64_t n = ir_numel(t);
  if (!dtype_is_float(t->dtype)) {
    size_t es = dtype_size(t->dtype);
    for (int64_t i = 0; i < n; i++)
      if (memcmp((const char *)got + i * (int64_t)es, (const char *)ref->data + i * (int64_t)es, es)) {
        snprintf(why, nw, "output '%s'[%lld] = %.17g, reference %.17g", t->name, (long long)i,
                 getf(t, got, i), ir_get_f64(ref, i));
        return 1;
      }
    return 0;
  }
  int64_t nbad = 0, first = -1;
  double worst = 0;
  for (int64_t i = 0; i < n; i++) {
    double g = getf(t, got, i), r = ir_get_f64(ref, i);
    int ok;
    if (isnan(r)) ok = isnan(g);
    else if (isinf(r)) ok = g == r;
    else ok = fabs(g - r) <= 1e-7 + 1e-3 * fabs(r);
    if (!ok) {
      if (first < 0) first = i;
      nbad++;
      double e = fabs(g - r);
      if (!(e <= worst)) worst = e;
    }
  }
  if (nbad) {
    snprintf(why, nw, "output '%s': %lld of %lld values off, first [%lld] = %.9g, reference %.9g"
             " (worst abs error %.3g)", t->name, (long long)nbad, (long long)n, (long long)first,
             getf(t, got, first), ir_get_f64(ref, first), worst);
    return 1;
  }
  return 0;
}

/* ---- one case ----------------------------------------------------------- */

typedef enum { R_PASS, R_FAIL, R_SKIP } Result;

static Result run_case(const OnnxCase *c, char *why, size_t nw, int *frozen) {
  char path[5000];
  ir_quiet = !getenv("RN_VERBOSE");
  OnnxOptions o = {1, 0};
  Graph *g = onnx_load(oc_model_path(c, path, sizeof path), &o);
  if (!g) {
    snprintf(why, nw, "onnx_load failed");
    ir_quiet = 0;
    return R_FAIL;
  }
  Result res = R_FAIL;
  void **outs = calloc((size_t)g->noutputs + 1, sizeof *outs);
  const void **ins = calloc((size_t)g->ninputs + 1, sizeof *ins);
  Tensor **run = calloc((size_t)g->ninputs + 1, sizeof *run);
  IrTry t;
  if (ir_try_begin(&t)) {
    snprintf(why, nw, "%s", t.msg);
    res = R_FAIL;
    goto done;
  }
  /* read all inputs; freeze the shape-deciding ones */
  int nrun = oc_bind_inputs(g, g, c, run, frozen);
  for (int i = 0; i < nrun; i++) ins[i] = run[i]->data;
  shape_infer_and_fold(g, 0);
  if (ir_verify(g, "shape_infer_and_fold")) {
    ir_try_end(&t);
    snprintf(why, nw, "the IR is invalid after folding");
    res = R_FAIL;
    goto done;
  }
  eval_graph(g, ins, outs);
  res = R_PASS;
  for (int i = 0; i < g->noutputs; i++) {
    Tensor *ref = onnx_read_tensor_file(g, oc_data_path(c, "output", i, path, sizeof path));
    if (compare(g->outputs[i], outs[i], ref, why, nw)) { res = R_FAIL; break; }
  }
  ir_try_end(&t);
done:
  ir_quiet = 0;
  for (int i = 0; i < g->noutputs; i++) free(outs[i]);
  free(outs);
  free(ins);
  free(run);
  ir_graph_free(g);
  return res;
}

static void test_node_cases(void) {
  OnnxCases *cs = oc_open();
  if (!cs) { rn_skip("no onnx-tests data"); return; }
  int npass = 0, nfail = 0, nskip = 0;
  double t0 = now();
  for (int k = 0; k < cs->n; k++) {
    const OnnxCase *c = &cs->c[k];
    if (c->light) continue;                /* test_light */
    char why[1200] = "";
    const char *skip = NULL;
    for (size_t j = 0; skip_list[j].name; j++)
      if (!strcmp(skip_list[j].name, c->name)) skip = skip_list[j].why;
    const char *bad = NULL;
    if (!skip && (bad = oc_unsupported_op(c)))
      snprintf(why, sizeof why, "op %s is not supported", bad);
    if (skip || bad) {
      printf("SKIP %s: %s\n", c->name, skip ? skip : why);
      nskip++;
      continue;
    }
    int frozen = 0;
    Result r = run_case(c, why, sizeof why, &frozen);
    if (r == R_PASS) {
      npass++;
      printf("PASS %s%s\n", c->name, frozen ? " (shape inputs frozen to constants)" : "");
    }
    else { nfail++; printf("FAIL %s: %s\n", c->name, why); }
  }
  oc_close(cs);
  printf("onnx node tests: %d passed, %d failed, %d skipped (%.2f s)\n", npass, nfail, nskip,
         now() - t0);
  fflush(stdout);
  CU_ASSERT_EQUAL(nfail, 0);
  CU_ASSERT(npass > 200);
}

/* ---- whole models --------------------------------------------------------- */

/* Loads and folds; NULL (after a CU failure) on error. */
static Graph *load_fold(const char *path) {
  OnnxOptions o = {1, 0};
  Graph *g = onnx_load(path, &o);
  CU_ASSERT_PTR_NOT_NULL(g);
  if (!g) return NULL;
  IrTry t;
  if (ir_try_begin(&t)) {
    CU_FAIL("shape_infer_and_fold failed");
    ir_graph_free(g);
    return NULL;
  }
  shape_infer_and_fold(g, 0);
  ir_try_end(&t);
  CU_ASSERT_EQUAL(ir_verify(g, "fold"), 0);
  return g;
}

static int count_op(const Graph *g, Op op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++) k += g->nodes[i]->op == op;
  return k;
}

/* Runs g on in; returns the malloc'ed output 0, or NULL on failure. */
static float *run(Graph *g, const void *in) {
  void *out[8] = {0};
  IrTry t;
  if (g->noutputs > 8) return NULL;
  if (ir_try_begin(&t)) { CU_FAIL("eval_graph failed"); return NULL; }
  eval_graph(g, &in, out);
  ir_try_end(&t);
  for (int i = 1; i < g->noutputs; i++) free(out[i]);
  return out[0];
}

static void test_models(void) {
  static const char *names[] = {"cifar_plain20", "cifar_resnet20", "cifar_resnet56", "resnet18"};
  int ran = 0;
  for (int m = 0; m < 4; m++) {
    char p[4400], base[4096];
    const char *b = rn_shared("models");
    if (!b) break;
    snprintf(base, sizeof base, "%s/%s", b, names[m]);
    snprintf(p, sizeof p, "%s.onnx", base);
    double t0 = now();
    Graph *g = load_fold(p);
    if (!g) continue;
    /* folding leaves only compute: no shape arithmetic, no Slice/Pad/Cast */
    static const Op noise[] = {OP_SHAPE, OP_GATHER, OP_CONCAT, OP_CONSTANTOFSHAPE, OP_CAST,
                               OP_SLICE, OP_PAD, OP_UNSQUEEZE, OP_TRANSPOSE};
    for (size_t k = 0; k < sizeof noise / sizeof noise[0]; k++)
      if (count_op(g, noise[k]) && strcmp(names[m], "cifar_plain20")) {
        /* the option-A shortcut slices and pads an activation: that Slice
         * and Pad stay, everything computing their parameters folds */
        if (noise[k] == OP_SLICE || noise[k] == OP_PAD) continue;
        printf("%s: %d %s nodes left after folding\n", names[m], count_op(g, noise[k]),
               op_info[noise[k]].name);
        CU_FAIL("shape arithmetic left after folding");
      }
    snprintf(p, sizeof p, "%s.input.bin", base);
    size_t nin = 0, nref = 0;
    float *in = rn_read_file(p, &nin);
    snprintf(p, sizeof p, "%s.output.bin", base);
    float *ref = rn_read_file(p, &nref);
    CU_ASSERT_FATAL(in && ref);
    CU_ASSERT_EQUAL((int64_t)nin, ir_bytes(g->inputs[0]));
    CU_ASSERT_EQUAL((int64_t)nref, ir_bytes(g->outputs[0]));
    double t1 = now();
    float *out = run(g, in);
    if (out && (int64_t)nref == ir_bytes(g->outputs[0])) {
      double mx, e = rn_rel_err(out, ref, nref / 4, &mx);
      printf("%s: %d nodes, fold %.2f s, eval %.2f s, rel err %.3g (max|ref| %.3g)\n", names[m],
             g->nnodes, t1 - t0, now() - t1, e, mx);
      CU_ASSERT(e <= 1e-4);
      ran++;
    }
    free(out);
    free(in);
    free(ref);
    ir_graph_free(g);
  }
  if (!ran) rn_skip("no models");
}

static void test_light(void) {
  static const struct { const char *name; int run; } L[] = {
    {"bvlc_alexnet", 0}, {"densenet121", 0}, {"inception_v1", 0}, {"inception_v2", 0},
    {"resnet50", 0}, {"shufflenet", 1}, {"squeezenet", 1}, {"vgg19", 0}, {"zfnet512", 0},
  };
  const char *b0 = rn_shared("onnx-tests/light");
  if (!b0) { rn_skip("no light models"); return; }
  char base[4096];
  snprintf(base, sizeof base, "%s", b0);
  for (size_t m = 0; m < sizeof L / sizeof L[0]; m++) {
    char p[4400];
    snprintf(p, sizeof p, "%s/light_%s.onnx", base, L[m].name);
    ir_quiet = 1;
    OnnxOptions o = {1, 0};
    Graph *g = onnx_load(p, &o);
    ir_quiet = 0;
    if (!g) {   /* LRN: not an op of resnetc */
      printf("light_%s: not loaded (unsupported op)\n", L[m].name);
      continue;
    }
    ir_graph_free(g);
    double t0 = now();
    g = load_fold(p);
    if (!g) continue;
    CU_ASSERT_EQUAL(count_op(g, OP_CONSTANTOFSHAPE), 0);
    CU_ASSERT_EQUAL(count_op(g, OP_UNSQUEEZE), 0);
    printf("light_%s: %d nodes after folding (%.2f s)", L[m].name, g->nnodes, now() - t0);
    if (L[m].run) {
      int64_t n = ir_numel(g->inputs[0]);
      float *in = malloc(sizeof(float) * (size_t)n);
      for (int64_t i = 0; i < n; i++) in[i] = (float)((double)i / (double)n);
      double t1 = now();
      float *out = run(g, in);
      snprintf(p, sizeof p, "%s/light_%s_output_0.pb", base, L[m].name);
      IrTry t;
      if (out && !ir_try_begin(&t)) {
        Tensor *ref = onnx_read_tensor_file(g, p);
        char why[1200];
        int bad = compare(g->outputs[0], out, ref, why, sizeof why);
        ir_try_end(&t);
        printf(", eval %.2f s: %s", now() - t1, bad ? why : "matches");
        CU_ASSERT_FALSE(bad);
      } else {
        CU_FAIL("light model did not run");
      }
      free(out);
      free(in);
    }
    printf("\n");
    ir_graph_free(g);
  }
}

int main(void) {
  if (!rn_shared("onnx-tests") && !rn_shared("models")) {
    rn_skip("no ../shared test data");
    return 77;
  }
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("eval_onnx", NULL, NULL);
  CU_add_test(s, "node tests", test_node_cases);
  CU_add_test(s, "resnet models", test_models);
  CU_add_test(s, "light models", test_light);
  return rn_run_tests();
}
