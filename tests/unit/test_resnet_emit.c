/* test_resnet_emit.c - .resnet files all the way to a built binary, through
 * the real command line:
 *
 *   resnetc models/M.resnet --weights M.safetensors --emit-onnx M.onnx -o D
 *   make -C D && D/M input.bin out.bin
 *
 * whose output must be PyTorch's within 1e-4 (max|out - ref| / max|ref|),
 * for cifar_resnet20 (option A shortcuts), resnet18 and resnet50_v1_5
 * (weights and reference from tools/export_safetensors.py).  And:
 *   - the round trip: the ONNX file the same command wrote (--emit-onnx),
 *     compiled by `resnetc M.onnx`, gives the direct build's output
 *     (within 1e-5) and PyTorch's; its node names are unique and hold no
 *     path (ONNX Runtime refuses duplicates; tests/test_emit_onnx_ort.sh
 *     runs the files in ONNX Runtime);
 *   - the network takes its weights back from its own ONNX export
 *     (`--weights M.onnx`): the same tensors, bit for bit, as from the
 *     safetensors file (option A's Slice/Pad operands are no weights);
 *   - two front ends, one result: the DSL ResNet-18 and torchvision's own
 *     ONNX export of the same model with the same weights, each compiled to
 *     C, agree within 1e-5.
 *   - -O0 gives PyTorch's output and -O2's (within 1e-4) for cifar_resnet20
 *     and resnet18, and for the digits example (its committed weights and
 *     PyTorch logits: that case runs without PyTorch).
 * Skips (77) when PyTorch is absent. */
#include <stdlib.h>
#include <string.h>

#include "front_resnet.h"
#include "onnx.pb-c.h"
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

/* make in dir, run dir/name on input: the output floats (malloc'ed) or
 * NULL (a message said why) */
static float *build_and_run(const char *dir, const char *name, const char *input, size_t nfloats) {
  char log[4200], out[4200];
  snprintf(log, sizeof log, "%s/build.log", dir);
  if (rn_system(log, "nice make -s -C %s", dir) != 0) {
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
    fprintf(stderr, "%s: %zu bytes, expected %zu\n", out, n, nfloats * sizeof(float));
    free(y);
    return NULL;
  }
  rn_system(NULL, "rm -f %s/*.o %s/*.weights", dir, dir);
  return y;
}

/* resnetc ARGS -o dir (args already formatted), then build_and_run */
static float *compile_and_run(const char *what, const char *args, const char *dir, const char *name,
                              const char *input, size_t n) {
  char log[4200];
  snprintf(log, sizeof log, "%s.log", dir);
  if (rn_system(log, "rm -rf %s && %s -q %s -o %s -n %s", dir, RN_RESNETC, args, dir, name) != 0) {
    fprintf(stderr, "%s: resnetc %s failed: see %s\n", what, args, log);
    return NULL;
  }
  return build_and_run(dir, name, input, n);
}

static void check(const char *what, const float *y, const char *refpath, size_t n, double tol) {
  size_t nb;
  float *r = rn_read_file(refpath, &nb);
  CU_ASSERT_PTR_NOT_NULL_FATAL(r);
  CU_ASSERT_EQUAL_FATAL(nb, n * sizeof(float));
  double e = rn_rel_err(y, r, n, NULL);
  printf("\n  %-44s rel err %.2e", what, e);
  CU_ASSERT(e <= tol);
  free(r);
}

static void agree(const char *what, const float *a, const float *b, size_t n, double tol) {
  double e = rn_rel_err(a, b, n, NULL);
  printf("\n  %-44s rel err %.2e", what, e);
  CU_ASSERT(e <= tol);
}

/* The node names of an ONNX file: unique, not empty, no path and no
 * source position; each Conv named after its weight. */
static void check_node_names(const char *path, const char *model) {
  size_t len;
  unsigned char *buf = rn_read_file(path, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(buf);
  Onnx__ModelProto *m = onnx__model_proto__unpack(NULL, len, buf);
  free(buf);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m);
  CU_ASSERT_PTR_NOT_NULL_FATAL(m->graph);
  const Onnx__GraphProto *g = m->graph;
  int dups = 0, paths = 0, convs = 0, named_convs = 0;
  for (size_t i = 0; i < g->n_node; i++) {
    const char *a = g->node[i]->name ? g->node[i]->name : "";
    const char *doc = g->node[i]->doc_string ? g->node[i]->doc_string : "";
    CU_ASSERT(*a != 0);
    for (size_t j = 0; j < i; j++) dups += strcmp(a, g->node[j]->name ? g->node[j]->name : "") == 0;
    paths += strchr(a, ':') || strstr(a, ".resnet") || strstr(a, model) || strchr(doc, '/');
    if (strcmp(g->node[i]->op_type, "Conv") == 0) {
      convs++;
      size_t k = strlen(a);
      const char *w = g->node[i]->input[1];
      named_convs += strncmp(w, a, k) == 0 && strcmp(w + k, ".weight") == 0;
    }
  }
  printf("\n  %-44s %zu nodes, %d duplicate names, %d with a path", "--emit-onnx node names", g->n_node, dups,
         paths);
  CU_ASSERT_EQUAL(dups, 0);
  CU_ASSERT_EQUAL(paths, 0);
  CU_ASSERT(convs > 0);
  CU_ASSERT_EQUAL(named_convs, convs);
  onnx__model_proto__free_unpacked(m, NULL);
}

/* The weights bound from the network's own ONNX export are those of the
 * safetensors file, bit for bit. */
static void check_own_export_as_weights(const char *model, const char *st, const char *onnx) {
  ResnetOptions o = {0};
  o.weights = st;
  Graph *a = resnet_load(model, &o);
  o.weights = onnx;
  Graph *b = resnet_load(model, &o);
  CU_ASSERT_PTR_NOT_NULL(a);
  CU_ASSERT_PTR_NOT_NULL(b);
  if (a && b) {
    int nconst = 0, same = 0;
    for (int i = 0; i < a->ntensors; i++) {
      Tensor *t = a->tensors[i];
      if (t->kind != TK_CONST || t->dtype != DT_FLOAT) continue;   /* weights, BN statistics */
      Tensor *u = ir_find_tensor(b, t->name);
      nconst++;
      same += u && ir_bytes(u) == ir_bytes(t) && memcmp(u->data, t->data, (size_t)ir_bytes(t)) == 0;
    }
    printf("\n  %-44s %d of %d weights identical", "weights from its own --emit-onnx file", same, nconst);
    CU_ASSERT(nconst > 0);
    CU_ASSERT_EQUAL(same, nconst);
  }
  ir_graph_free(a);
  ir_graph_free(b);
  /* and the command line takes it */
  CU_ASSERT_EQUAL(rn_system("/dev/null", "%s -q %s --weights %s --no-emit", RN_RESNETC, model, onnx), 0);
}

enum { ROUNDTRIP = 1, TORCH_ONNX = 2, LEVELS = 4 };

static void run_model(const char *model, int what) {
  const char *d = lang_weights_dir();
  if (!d) {
    rn_skip("PyTorch (python3-torch, python3-torchvision) is absent");
    return;
  }
  char w[4400], in[4400], ref[4400], rel[256], src[4096], onnx[4400], args[16000], tag[200], dir[4096];
  snprintf(w, sizeof w, "%s/%s.safetensors", d, model);
  snprintf(in, sizeof in, "%s/%s.input.bin", d, model);
  snprintf(ref, sizeof ref, "%s/%s.output.bin", d, model);
  snprintf(rel, sizeof rel, "models/%s.resnet", model);
  snprintf(src, sizeof src, "%s", rn_source_path(rel));
  size_t nref;
  float *r = rn_read_file(ref, &nref);
  CU_ASSERT_PTR_NOT_NULL_FATAL(r);
  free(r);
  size_t n = nref / sizeof(float);

  /* .resnet -> C, and -> ONNX, in one command */
  snprintf(tag, sizeof tag, "resnet_emit_%s", model);
  snprintf(dir, sizeof dir, "%s", rn_tmpdir(tag));
  snprintf(onnx, sizeof onnx, "%s.onnx", dir);
  if (what & ROUNDTRIP) snprintf(args, sizeof args, "%s --weights %s --emit-onnx %s", src, w, onnx);
  else snprintf(args, sizeof args, "%s --weights %s", src, w);
  char what_[200];
  snprintf(what_, sizeof what_, "%s.resnet -> C", model);
  float *y = compile_and_run(what_, args, dir, model, in, n);
  CU_ASSERT_PTR_NOT_NULL_FATAL(y);
  check(what_, y, ref, n, TOL);

  if (what & ROUNDTRIP) {
    check_node_names(onnx, src);
    snprintf(tag, sizeof tag, "resnet_emit_%s_via_onnx", model);
    snprintf(dir, sizeof dir, "%s", rn_tmpdir(tag));
    snprintf(what_, sizeof what_, "%s.resnet -> ONNX -> C", model);
    float *z = compile_and_run(what_, onnx, dir, model, in, n);
    CU_ASSERT_PTR_NOT_NULL(z);
    if (z) {
      check(what_, z, ref, n, TOL);
      agree("  ... against .resnet -> C", z, y, n, 1e-5);
    }
    free(z);
    check_own_export_as_weights(src, w, onnx);
  }
  if (what & LEVELS) {
    /* -O0 (no pass: plain kernels, BN as its own layer) gives the
     * reference and the -O2 build's output */
    snprintf(tag, sizeof tag, "resnet_emit_%s_O0", model);
    snprintf(dir, sizeof dir, "%s", rn_tmpdir(tag));
    snprintf(args, sizeof args, "%s --weights %s -O0", src, w);
    snprintf(what_, sizeof what_, "%s.resnet -O0 -> C", model);
    float *z = compile_and_run(what_, args, dir, model, in, n);
    CU_ASSERT_PTR_NOT_NULL(z);
    if (z) {
      check(what_, z, ref, n, TOL);
      agree("  ... against -O2", z, y, n, TOL);
    }
    free(z);
  }
  if (what & TORCH_ONNX) {
    /* torchvision's export of the same model with the same weights */
    char tonnx[4400];
    snprintf(tonnx, sizeof tonnx, "%s/%s.onnx", d, model);
    snprintf(tag, sizeof tag, "resnet_emit_%s_torch_onnx", model);
    snprintf(dir, sizeof dir, "%s", rn_tmpdir(tag));
    snprintf(what_, sizeof what_, "PyTorch's %s.onnx -> C", model);
    float *z = compile_and_run(what_, tonnx, dir, model, in, n);
    CU_ASSERT_PTR_NOT_NULL(z);
    if (z) {
      check(what_, z, ref, n, TOL);
      agree("  ... against the .resnet -> C", z, y, n, 1e-5);
    }
    free(z);
  }
  free(y);
}

/* The digits example at -O0 and -O2 (committed weights; the first test
 * image, PyTorch's logits for it as the reference): runs without PyTorch. */
static void test_digits_levels(void) {
  char src[4400], w[4400], in[4400], ref[4400], args[9000], dir[4096];
  snprintf(src, sizeof src, "%s", rn_source_path("models/digits.resnet"));
  snprintf(w, sizeof w, "%s", rn_source_path("models/digits.safetensors"));
  size_t ni = 0, nl = 0;
  float *imgs = rn_read_file(rn_source_path("examples/digits/test_images.bin"), &ni);
  float *logits = rn_read_file(rn_source_path("examples/digits/torch_logits.bin"), &nl);
  CU_ASSERT_FATAL(imgs && logits && ni >= 64 * sizeof(float) && nl >= 10 * sizeof(float));
  const char *d = rn_tmpdir("resnet_emit_digits_data");
  snprintf(in, sizeof in, "%s/input.bin", d);
  snprintf(ref, sizeof ref, "%s/output.bin", d);
  FILE *f = fopen(in, "wb");
  CU_ASSERT_FATAL(f && fwrite(imgs, sizeof(float), 64, f) == 64 && fclose(f) == 0);
  f = fopen(ref, "wb");
  CU_ASSERT_FATAL(f && fwrite(logits, sizeof(float), 10, f) == 10 && fclose(f) == 0);
  free(imgs);
  free(logits);
  float *y[2];
  for (int k = 0; k < 2; k++) {
    char what[100];
    snprintf(what, sizeof what, "digits.resnet -O%d -> C", k ? 2 : 0);
    snprintf(dir, sizeof dir, "%s", rn_tmpdir(k ? "resnet_emit_digits_O2" : "resnet_emit_digits_O0"));
    snprintf(args, sizeof args, "%s --weights %s -O%d", src, w, k ? 2 : 0);
    y[k] = compile_and_run(what, args, dir, "digits", in, 10);
    CU_ASSERT_PTR_NOT_NULL(y[k]);
    if (y[k]) check(what, y[k], ref, 10, TOL);
  }
  if (y[0] && y[1]) agree("  ... -O2 against -O0", y[1], y[0], 10, TOL);
  free(y[0]);
  free(y[1]);
}

static void test_cifar_resnet20(void) { run_model("cifar_resnet20", ROUNDTRIP | LEVELS); }
static void test_resnet18(void) { run_model("resnet18", ROUNDTRIP | TORCH_ONNX | LEVELS); }
static void test_resnet50_v1_5(void) { run_model("resnet50_v1_5", 0); }

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("resnet_emit", NULL, NULL);
  CU_add_test(s, "cifar_resnet20: .resnet -> C and -> ONNX -> C", test_cifar_resnet20);
  CU_add_test(s, "resnet18: .resnet -> C, -> ONNX -> C, PyTorch's ONNX -> C", test_resnet18);
  CU_add_test(s, "resnet50_v1_5: .resnet -> C", test_resnet50_v1_5);
  CU_add_test(s, "digits: .resnet -O0 and -O2 -> C", test_digits_levels);
  return rn_run_tests();
}
