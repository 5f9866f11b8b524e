/*
 * test_e2e.c - end to end: ONNX ResNets -> resnetc -> C -> cc -> run, and the
 * logits compared with PyTorch's (max|out - ref| / max|ref| <= 1e-4).
 *
 * Models: ../shared/models (cifar_resnet20, cifar_plain20, cifar_resnet56,
 * resnet18, exported by PyTorch with their input and output), and
 * torchvision resnet34 and resnet50, exported into the build tree by
 * tools/export_models.py with Debian's python3-torch when they are not there
 * yet.  A model whose data is absent is skipped, never passed.
 *
 * One ctest test per model and option (tests/CMakeLists.txt).
 * Each model is compiled at -O2 (the default) and the small ones also at
 * -O0: both must match the reference (the optimiser may not change results).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "testutil.h"

#define TOL 1e-4

static double now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return tv.tv_sec + tv.tv_usec * 1e-6;
}

/* Folder holding NAME.onnx/.input.bin/.output.bin, or NULL (skip). */
static const char *model_dir(const char *name) {
  static char buf[4096];
  char rel[256];
  snprintf(rel, sizeof rel, "models/%s.onnx", name);
  if (rn_shared(rel)) {
    snprintf(buf, sizeof buf, "%s", rn_shared("models"));
    return buf;
  }
  snprintf(buf, sizeof buf, "%s/models", RN_BINARY_DIR);
  char path[4400];
  snprintf(path, sizeof path, "%s/%s.onnx", buf, name);
  FILE *f = fopen(path, "rb");
  if (f) { fclose(f); return buf; }
  /* export it with PyTorch, if this machine has it */
  if (rn_system("/dev/null", "/usr/bin/python3 -c 'import torch, torchvision, onnx'") != 0)
    return NULL;
  fprintf(stderr, "exporting %s with PyTorch into %s\n", name, buf);
  /* under a lock: parallel tests may want the same model */
  if (rn_system(NULL, "mkdir -p %s && flock %s/.export.lock sh -c "
                "'test -f %s || /usr/bin/python3 %s %s %s >/dev/null 2>&1'",
                buf, buf, path, rn_source_path("tools/export_models.py"), buf, name) != 0)
    return NULL;
  f = fopen(path, "rb");
  if (!f) return NULL;
  fclose(f);
  return buf;
}

static void run_model(const char *name, const char *opt) {
  const char *d = model_dir(name);
  if (!d) {
    char why[300];
    snprintf(why, sizeof why, "%s: model data absent (no ../shared/models and no PyTorch)", name);
    rn_skip(why);
    return;
  }
  char dir[4096], tag[128], out[4200], log[4200];
  snprintf(dir, sizeof dir, "%s", d);
  snprintf(tag, sizeof tag, "e2e_%s%s", name, opt);
  const char *tmp = rn_tmpdir(tag);
  char tmpdir[4096];
  snprintf(tmpdir, sizeof tmpdir, "%s", tmp);
  snprintf(log, sizeof log, "%s/log.txt", tmpdir);

  double t0 = now();
  int rc = rn_system(log, "%s %s/%s.onnx %s -o %s/c --name %s", RN_RESNETC, dir, name, opt,
                     tmpdir, name);
  double t1 = now();
  CU_ASSERT_EQUAL_FATAL(rc, 0);
  rc = rn_system(log, "make -s -C %s/c", tmpdir);
  double t2 = now();
  CU_ASSERT_EQUAL_FATAL(rc, 0);
  snprintf(out, sizeof out, "%s/out.bin", tmpdir);
  rc = rn_system(log, "%s/c/%s %s/%s.input.bin %s", tmpdir, name, dir, name, out);
  CU_ASSERT_EQUAL_FATAL(rc, 0);

  char refpath[4200];
  snprintf(refpath, sizeof refpath, "%s/%s.output.bin", dir, name);
  size_t n_out = 0, n_ref = 0;
  float *o = rn_read_file(out, &n_out), *r = rn_read_file(refpath, &n_ref);
  CU_ASSERT_PTR_NOT_NULL(o);
  CU_ASSERT_PTR_NOT_NULL(r);
  CU_ASSERT_EQUAL(n_out, n_ref);
  if (o && r && n_out == n_ref) {
    double maxref;
    double e = rn_rel_err(o, r, n_ref / 4, &maxref);
    printf("\n  %-16s %-4s rel_err %.2e (max|ref| %.3g)  resnetc %.1f s, cc %.1f s  ",
           name, *opt ? opt : "-O2", e, maxref, t1 - t0, t2 - t1);
    CU_ASSERT(e <= TOL);
  }
  free(o);
  free(r);
  rn_system(NULL, "rm -rf %s/c/*.weights %s/c/*.o", tmpdir, tmpdir);
}

static const char *arg_model, *arg_opt;
static void t_model(void) { run_model(arg_model, arg_opt); }

/* usage: e2e MODEL [OPT]   (one ctest test per model and option) */
int main(int argc, char **argv) {
  if (argc < 2) {
    fprintf(stderr, "usage: e2e MODEL [-O0]\n");
    return 2;
  }
  arg_model = argv[1];
  arg_opt = argc > 2 ? argv[2] : "";
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("e2e", NULL, NULL);
  CU_add_test(s, arg_model, t_model);
  return rn_run_tests();
}
