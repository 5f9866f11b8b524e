/*
 * test_onnx_node_c.c - the ONNX backend node tests through generated C.
 *
 * For every case of onnx-tests/{node,pytorch-converted,pytorch-operator}
 * whose ops resnetc supports: onnx_load, bind the inputs of
 * test_data_set_0 (inputs that decide shapes, such as Reshape's shape or
 * Slice's starts, are frozen to constants, since resnetc compiles static
 * shapes), shape_infer_and_fold, passes_run -O2, emit_c, then compile and
 * run the generated C and compare with output_N.pb at the upstream
 * tolerance |got-ref| <= 1e-7 + 1e-3*|ref| (integers exact, NaN matches
 * NaN).  All cases compile into one program (emit_harness.h: one parallel
 * make, gcc with ASan+UBSan, clang -Werror as a second compiler's check).
 * One line per case, then "N passed, N failed, N skipped" with the reason
 * of each skip.  Of the light/ model-zoo networks SqueezeNet and
 * ShuffleNet run too (input x[i] = i/n, as upstream); ResNet-50 is in
 * test_emit_models, the others are too large for CI.  Without ../shared
 * the program exits 77 (skipped).
 */
#include <stdio.h>
#include <sys/time.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "emit_harness.h"
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

typedef struct NodeCase {
  const OnnxCase *oc;    /* node/test_add */
  Graph *ref;            /* holds the inputs and reference outputs */
  Tensor **in, **out;
  int nin, nout;
  int state;             /* 0 pending, 1 emitted, 2 skipped, 3 failed */
  char why[300];
} NodeCase;

/* ---- one case: load, bind, fold, optimise, emit ------------------------------------ */

static Graph *prepare(NodeCase *c, EhCase *ec, const char *outdir) {
  char path[5000];
  OnnxOptions o = {1, 0};
  Graph *volatile g = onnx_load(oc_model_path(c->oc, path, sizeof path), &o);
  if (!g) {
    snprintf(c->why, sizeof c->why, "onnx_load failed");
    c->state = 3;
    return NULL;
  }
  c->ref = ir_graph_new("ref", "ref");
  IrTry t;
  if (ir_try_begin(&t)) {
    snprintf(c->why, sizeof c->why, "%.280s", t.msg);
    c->state = 3;
    ir_graph_free(g);
    return NULL;
  }
  c->in = ir_alloc(c->ref, sizeof(Tensor *) * (size_t)(g->ninputs + 1));
  int nfrozen = 0;
  c->nin = oc_bind_inputs(g, c->ref, c->oc, c->in, &nfrozen);
  shape_infer_and_fold(g, 0);
  PassOptions po = {2, NULL, NULL, NULL, 1, NULL};
  passes_run(g, &po);
  c->nout = g->noutputs;
  c->out = ir_alloc(c->ref, sizeof(Tensor *) * (size_t)(g->noutputs + 1));
  for (int i = 0; i < g->noutputs; i++) {
    c->out[i] = onnx_read_tensor_file(c->ref, oc_data_path(c->oc, "output", i, path, sizeof path));
    Tensor *y = g->outputs[i];
    if (c->out[i]->dtype != y->dtype || ir_numel(c->out[i]) != ir_numel(y))
      ir_fail("output %d is %s of %lld elements, output_%d.pb %s of %lld", i, dtype_name(y->dtype),
              (long long)ir_numel(y), i, dtype_name(c->out[i]->dtype), (long long)ir_numel(c->out[i]));
  }
  ir_try_end(&t);
  ec->g = g;
  if (eh_emit(outdir, ec, WEIGHTS_AUTO) != 0) {
    snprintf(c->why, sizeof c->why, "emit_c failed");
    c->state = 3;
    return g;
  }
  c->state = 1;
  return g;
}

/* two model-zoo networks of light/ small enough to run under ASan in CI
 * (SqueezeNet: Concat, ShuffleNet: Reshape/Transpose at full scale); the
 * rest is run by hand (see the report) or by test_emit_models */
static int light_runs(const char *name) {
  return !strcmp(name, "light/light_squeezenet") || !strcmp(name, "light/light_shufflenet");
}

static void test_node_cases(void) {
  OnnxCases *cases = oc_open();
  if (!cases) {
    rn_skip("../shared/onnx-tests is absent");
    return;
  }
  NodeCase *cs = calloc((size_t)cases->n + 1, sizeof *cs);
  int n = 0;
  for (int k = 0; k < cases->n; k++)
    if (!cases->c[k].light || light_runs(cases->c[k].name)) cs[n++].oc = &cases->c[k];
  const char *dir = rn_tmpdir("onnx_node_c");
  char outdir[1024];
  snprintf(outdir, sizeof outdir, "%s", dir);
  EhCase *ec = calloc((size_t)n + 1, sizeof *ec);
  double t0 = now_s();
  ir_quiet = !getenv("RN_VERBOSE");
  for (int k = 0; k < n; k++) {
    NodeCase *c = &cs[k];
    snprintf(ec[k].name, sizeof ec[k].name, "c%d", k);
    const char *bad = oc_unsupported_op(c->oc);
    if (bad) {
      c->state = 2;
      snprintf(c->why, sizeof c->why, "op %s is not in ops.def", bad);
      continue;
    }
    prepare(c, &ec[k], outdir);
  }
  ir_quiet = 0;
  double t1 = now_s();
  eh_write_build_mode(outdir, ec, n, EH_CLANG_SYNTAX);
  CU_ASSERT_EQUAL(eh_build(outdir), 0);
  double t2 = now_s();
  int np = 0, nf = 0, ns = 0;
  for (int k = 0; k < n; k++) {
    NodeCase *c = &cs[k];
    if (c->state == 1) {
      void *outs[64] = {0}, *ins[64];
      for (int i = 0; i < c->nin && i < 64; i++) ins[i] = c->in[i]->data;
      int st = c->nin <= 64 && c->nout <= 64 ? eh_run(outdir, "harness_gcc", &ec[k], ins, outs) : -1;
      if (st != 0) {
        c->state = 3;
        snprintf(c->why, sizeof c->why, "the generated program failed (exit status %d)", st);
      }
      for (int i = 0; i < c->nout && c->state == 1; i++) {
        char why[200];
        Tensor *y = ec[k].g->outputs[i];
        int64_t bad = eh_compare(y->dtype, outs[i], c->out[i]->data, ir_numel(y), 1e-3, 1e-7, why, sizeof why);
        if (bad) {
          c->state = 3;
          snprintf(c->why, sizeof c->why, "output %d: %lld values off, %s", i, (long long)bad, why);
        }
      }
      for (int i = 0; i < c->nout && i < 64; i++) free(outs[i]);
    }
    if (c->state == 1) {
      printf("\n  pass %s", c->oc->name);
      np++;
    } else if (c->state == 2) {
      printf("\n  skip %s: %s", c->oc->name, c->why);
      ns++;
    } else {
      printf("\n  FAIL %s: %s", c->oc->name, c->why);
      nf++;
    }
    ir_graph_free(ec[k].g);
    ir_graph_free(c->ref);
  }
  printf("\n  %d passed, %d failed, %d skipped (load+emit %.1f s, make %.1f s, run %.1f s)\n", np, nf, ns,
         t1 - t0, t2 - t1, now_s() - t2);
  CU_ASSERT_EQUAL(nf, 0);
  CU_ASSERT(np > 200);
  free(ec);
  free(cs);
  oc_close(cases);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("onnx_node_c", NULL, NULL);
  CU_add_test(s, "ONNX backend node tests through generated C", test_node_cases);
  return rn_run_tests();
}
