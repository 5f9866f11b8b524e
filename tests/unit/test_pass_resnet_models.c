/* test_pass_resnet_models.c - every network of the models folder (.resnet) through the
 * -O2 pipeline (resnet_load, shapes only -> shape_infer_and_fold ->
 * passes_run, the IR verified between passes), and what the optimiser
 * promises on each (issue 4):
 *   - no BatchNormalization is left: it folds into weights, or (on a
 *     residual sum of a pre-activation network) becomes a Conv's second,
 *     normalised output, never a separate pass over memory;
 *   - no standalone Add or Relu (residual and activation in the epilogue);
 *   - the arena is within 5% of the lower bound of the same plan (the
 *     lower bound counts the kernels' scratch at its step, see plan.c);
 *   - ResNet-18 and the other networks whose every conv runs blocked have
 *     no Identity (layout reorder) left: the classifier reads the blocked
 *     global pool directly.
 * Weights of zeros: the structure, not the values, decides all this; the
 * values are checked by the end-to-end tests.  The list of files is read
 * from the folder, so a new model is covered without editing this test. */
#include <dirent.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "front_resnet.h"
#include "passes.h"
#include "shape.h"
#include "testutil.h"
#include "optimise.h"

static int count(Graph *g, Op op) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++) k += g->nodes[i]->op == op;
  return k;
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Networks with a layer the blocked kernels do not run (grouped convs of
 * ResNeXt; the two-output convs of the pre-activation network) keep layout
 * reorders around it; every other model must have none. */
static int reorders_expected(const char *file) {
  return strstr(file, "resnext") != NULL || strstr(file, "preact") != NULL;
}

static void check_model(const char *dir, const char *file) {
  char path[4400];
  snprintf(path, sizeof path, "%s/%s", dir, file);
  ResnetOptions ro;
  memset(&ro, 0, sizeof ro);
  ro.shapes_only = 1;                 /* weights of zeros, BN variance 1 */
  Graph *g = resnet_load(path, &ro);
  if (!g) {
    fprintf(stderr, "%s: does not load\n", file);
    CU_FAIL("a models/*.resnet file does not load");
    return;
  }
  if (rn_optimise(g, file)) {
    ir_graph_free(g);
    return;
  }

  int nbn = count(g, OP_BATCHNORM), nadd = count(g, OP_ADD), nrelu = count(g, OP_RELU);
  int nid = count(g, OP_IDENTITY);
  PlanSummary s;
  plan_summary(g, &s);
  fprintf(stderr, "%-28s nodes %4d BN %d Add %d Relu %d Identity %2d arena %9" PRId64 " lower bound %9" PRId64
          " (+%.2f%%)\n", file, g->nnodes, nbn, nadd, nrelu, nid, s.arena_bytes, s.lower_bound_bytes,
          s.lower_bound_bytes ? 100.0 * (double)(s.arena_bytes - s.lower_bound_bytes) / (double)s.lower_bound_bytes : 0.0);
  CU_ASSERT_EQUAL(nbn, 0);
  CU_ASSERT_EQUAL(nadd, 0);
  CU_ASSERT_EQUAL(nrelu, 0);
  if (!reorders_expected(file)) CU_ASSERT_EQUAL(nid, 0);
  CU_ASSERT(s.lower_bound_bytes > 0);
  CU_ASSERT(s.arena_bytes >= s.lower_bound_bytes);
  CU_ASSERT(s.arena_bytes <= s.lower_bound_bytes + s.lower_bound_bytes / 20);
  CU_ASSERT_EQUAL(s.arena_bytes, g->arena_bytes);
  ir_graph_free(g);
}

static void test_all_models(void) {
  const char *dir = rn_source_path("models");
  char dirbuf[4096];
  snprintf(dirbuf, sizeof dirbuf, "%s", dir);
  DIR *d = opendir(dirbuf);
  CU_ASSERT_PTR_NOT_NULL_FATAL(d);
  char *names[256];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 256) {
    size_t len = strlen(e->d_name);
    if (len > 7 && strcmp(e->d_name + len - 7, ".resnet") == 0) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof *names, cmp_str);
  CU_ASSERT(n >= 20);                 /* the zoo is there */
  for (int i = 0; i < n; i++) {
    check_model(dirbuf, names[i]);
    free(names[i]);
  }
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("pass_resnet_models", NULL, NULL);
  CU_add_test(s, "models/*.resnet at -O2", test_all_models);
  return rn_run_tests();
}
