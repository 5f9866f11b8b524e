/*
 * e2e.c - end to end: ONNX ResNets -> resnetc -> C -> cc -> run, and the
 * logits compared with PyTorch's (max|out - ref| / max|ref| <= 1e-4).
 *
 *   e2e MODEL [RESNETC_OPTION...]            a model of ../shared/models
 *   e2e --export SPEC[,SPEC...] [OPTION...]  models exported by PyTorch
 *
 * ../shared/models holds cifar_resnet20, cifar_plain20, cifar_resnet56 and
 * resnet18 with their input and output; when it is absent those tests are
 * skipped (never passed on a substitute).  --export models (torchvision
 * resnet34 and resnet50, the CIFAR nets at other opsets, with a dynamic
 * batch) come from tools/export_models.py through tools/export_cached.sh,
 * which keeps them in the build tree until the script changes: skipped
 * when Debian's python3-torch is absent, FAILED with the exporter's
 * messages when the export itself fails.  A SPEC with batch=B is compiled
 * with --batch B and compared with PyTorch's output for batch B.
 *
 * Each model is compiled at -O2 (the default) and the small ones also at
 * -O0 (tests/CMakeLists.txt): both must match the reference (the optimiser
 * may not change results).  The driver's own --check must agree.  At -O2
 * (no option given) the --report of the same compilation must also show
 * what the optimiser promises (issue 4): no BatchNormalization, Add or Relu
 * layer left, and the arena of the generated header (NAME_ARENA_BYTES)
 * equal to the report's arena_bytes and within 5% of lower_bound_bytes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

#include "testutil.h"

#define TOL 1e-4

static double now(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return tv.tv_sec + tv.tv_usec * 1e-6;
}

static void print_log(const char *log) {
  size_t n = 0;
  char *s = rn_read_file(log, &n);
  if (s) fprintf(stderr, "\n--- %s\n%.*s---\n", log, (int)n, s);
  free(s);
}

static const char *arg_opts = "";   /* resnetc options of every run */

/* The optimiser's promises, read from the --report of the -O2 build in
 * tmpdir (report.txt) and the header it wrote (c/NAME.h). */
static void check_report(const char *tmpdir, const char *name) {
  char path[4400], line[1024];
  snprintf(path, sizeof path, "%s/report.txt", tmpdir);
  FILE *f = fopen(path, "r");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  int bad = 0;
  long long arena = -1, lb = -1, naive = -1;
  while (fgets(line, sizeof line, f)) {
    int step, off = 0;
    char op[64];
    /* a table row: "12   Conv(+residual,+relu)   [1,64,56,56] ..." */
    if (sscanf(line, "%d %63s%n", &step, op, &off) == 2 && off > 0) {
      char *paren = strchr(op, '(');
      if (paren) *paren = 0;
      if (!strcmp(op, "BatchNormalization") || !strcmp(op, "Add") || !strcmp(op, "Relu")) {
        printf("\n  left after -O2: %s", line);
        bad++;
      }
    }
    sscanf(line, "arena_bytes=%lld lower_bound_bytes=%lld naive_bytes=%lld", &arena, &lb, &naive);
  }
  fclose(f);
  CU_ASSERT_EQUAL(bad, 0);
  CU_ASSERT(arena > 0 && lb > 0 && arena >= lb && arena * 100 <= lb * 105);
  snprintf(path, sizeof path, "%s/c/%s.h", tmpdir, name);
  f = fopen(path, "r");
  CU_ASSERT_PTR_NOT_NULL_FATAL(f);
  char want[300];
  snprintf(want, sizeof want, "#define %s_ARENA_BYTES %%lld", name);
  long long hdr = -1;
  while (fgets(line, sizeof line, f))
    if (sscanf(line, want, &hdr) == 1) break;
  fclose(f);
  printf("\n  %-30s header arena %lld, report arena_bytes %lld, lower bound %lld", name, hdr, arena, lb);
  CU_ASSERT_EQUAL(hdr, arena);
}
static char model_folder[4096];     /* where the .onnx/.input.bin/.output.bin are */
static const char *skip_why;        /* non-NULL: no data, every model skipped */

/* Exports SPECS (comma list) into the build tree; sets skip_why or fails. */
static int prepare_exports(const char *specs) {
  snprintf(model_folder, sizeof model_folder, "%s/models", RN_BINARY_DIR);
  char args[4096], log[4200];
  snprintf(args, sizeof args, "%s", specs);
  for (char *p = args; *p; p++)
    if (*p == ',') *p = ' ';
  snprintf(log, sizeof log, "%s/e2e-export-%d.log", RN_BINARY_DIR, (int)getpid());
  int rc = rn_system(log, "%s %s %s", rn_source_path("tools/export_cached.sh"), model_folder, args);
  if (rc == 77) {
    skip_why = "no PyTorch: /usr/bin/python3 lacks torch, torchvision or onnx";
  } else if (rc != 0) {
    print_log(log);
    fprintf(stderr, "e2e: the export of %s failed (exit %d) with PyTorch installed\n", specs, rc);
  }
  remove(log);
  return rc == 0 || rc == 77;
}

/* "cifar_resnet20:opset=17:batch=2" -> stem cifar_resnet20_opset17_batch2, batch 2 */
static void spec_stem(const char *spec, char *stem, size_t n, long *batch) {
  size_t k = 0;
  for (const char *p = spec; *p && k + 1 < n; p++)
    if (*p != '=') stem[k++] = *p == ':' ? '_' : *p;
  stem[k] = 0;
  const char *b = strstr(spec, ":batch=");
  *batch = b ? strtol(b + 7, NULL, 10) : 1;
}

static void run_model(const char *spec) {
  if (skip_why) {
    char why[600];
    snprintf(why, sizeof why, "%s: model data absent (%s)", spec, skip_why);
    rn_skip(why);
    return;
  }
  char name[256], tag[300], out[4200], log[4200], opts[1024];
  long batch;
  spec_stem(spec, name, sizeof name, &batch);
  snprintf(opts, sizeof opts, "%s", arg_opts);
  if (batch != 1) snprintf(opts + strlen(opts), sizeof opts - strlen(opts), " --batch %ld", batch);
  const char *dir = model_folder;
  snprintf(tag, sizeof tag, "e2e_%s%s", name, arg_opts);
  for (char *p = tag; *p; p++)
    if (*p == ' ') *p = '_';
  const char *tmp = rn_tmpdir(tag);
  char tmpdir[4096];
  snprintf(tmpdir, sizeof tmpdir, "%s", tmp);
  snprintf(log, sizeof log, "%s/log.txt", tmpdir);

  double t0 = now();
  int rc = rn_system(log, "%s %s/%s.onnx %s -o %s/c --name %s --report >%s/report.txt", RN_RESNETC, dir,
                     name, opts, tmpdir, name, tmpdir);
  double t1 = now();
  if (rc) print_log(log);
  CU_ASSERT_EQUAL_FATAL(rc, 0);
  if (!*opts) check_report(tmpdir, name);
  rc = rn_system(log, "make -s -C %s/c", tmpdir);
  double t2 = now();
  if (rc) print_log(log);
  CU_ASSERT_EQUAL_FATAL(rc, 0);
  snprintf(out, sizeof out, "%s/out.bin", tmpdir);
  rc = rn_system(log, "%s/c/%s %s/%s.input.bin %s", tmpdir, name, dir, name, out);
  if (rc) print_log(log);
  CU_ASSERT_EQUAL_FATAL(rc, 0);

  char refpath[4400];
  snprintf(refpath, sizeof refpath, "%s/%s.output.bin", dir, name);
  size_t n_out = 0, n_ref = 0;
  float *o = rn_read_file(out, &n_out), *r = rn_read_file(refpath, &n_ref);
  CU_ASSERT_PTR_NOT_NULL(o);
  CU_ASSERT_PTR_NOT_NULL(r);
  CU_ASSERT_EQUAL(n_out, n_ref);
  if (o && r && n_out == n_ref) {
    double maxref;
    double e = rn_rel_err(o, r, n_ref / 4, &maxref);
    printf("\n  %-30s %-10s rel_err %.2e (max|ref| %.3g)  resnetc %.1f s, cc %.1f s  ",
           name, *opts ? opts : "-O2", e, maxref, t1 - t0, t2 - t1);
    CU_ASSERT(e <= TOL);
    /* the driver's --check: the same verdict and figure, to print precision */
    rc = rn_system(log, "%s/c/%s --check %s/%s.input.bin %s", tmpdir, name, dir, name, refpath);
    size_t n = 0;
    char *text = rn_read_file(log, &n);
    const char *at = text ? strstr(text, "max|out-ref|/max|ref| = ") : NULL;
    double shown = at ? strtod(at + 24, NULL) : -1;
    if (rc != (e <= TOL ? 0 : 1) || !(shown >= 0.99 * e - 1e-12 && shown <= 1.01 * e + 1e-12))
      print_log(log);
    CU_ASSERT_EQUAL(rc, e <= TOL ? 0 : 1);
    CU_ASSERT(shown >= 0.99 * e - 1e-12 && shown <= 1.01 * e + 1e-12);
    free(text);
  }
  free(o);
  free(r);
  rn_system(NULL, "rm -rf %s/c/*.weights %s/c/*.o", tmpdir, tmpdir);
}

static const char *specs[64];
static int nspecs, cur;
static void t_model(void) { run_model(specs[cur++]); }

int main(int argc, char **argv) {
  int a = 1, exported = 0;
  if (a < argc && !strcmp(argv[a], "--export")) exported = 1, a++;
  if (a >= argc) {
    fprintf(stderr, "usage: e2e [--export] SPEC[,SPEC...] [RESNETC_OPTION...]\n");
    return 2;
  }
  static char list[4096], opts[1024];
  snprintf(list, sizeof list, "%s", argv[a++]);
  for (; a < argc; a++)
    snprintf(opts + strlen(opts), sizeof opts - strlen(opts), "%s%s", *opts ? " " : "", argv[a]);
  arg_opts = opts;
  for (char *p = strtok(list, ","); p && nspecs < 64; p = strtok(NULL, ",")) specs[nspecs++] = p;
  if (exported) {
    char all[4096];
    snprintf(all, sizeof all, "%s", argv[exported ? 2 : 1]);
    if (!prepare_exports(all)) return 1;
  } else {
    for (int i = 0; i < nspecs && !skip_why; i++) {
      char rel[300];
      snprintf(rel, sizeof rel, "models/%s.onnx", specs[i]);
      if (!rn_shared(rel)) skip_why = "no ../shared/models";
    }
    if (!skip_why) snprintf(model_folder, sizeof model_folder, "%s", rn_shared("models"));
  }
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("e2e", NULL, NULL);
  for (int i = 0; i < nspecs; i++) CU_add_test(s, specs[i], t_model);
  return rn_run_tests();
}
