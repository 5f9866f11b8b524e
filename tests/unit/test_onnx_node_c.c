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
#include <dirent.h>
#include <stdio.h>
#include <sys/time.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "emit_harness.h"
#include "front_onnx.h"
#include "passes.h"
#include "shape.h"
#include "testutil.h"

#define MAX_CASES 512

static double now_s(void) {
  struct timeval tv;
  gettimeofday(&tv, NULL);
  return tv.tv_sec + tv.tv_usec * 1e-6;
}

typedef struct NodeCase {
  char path[512];        /* node/test_add */
  Graph *ref;            /* holds the inputs and reference outputs */
  Tensor **in, **out;
  int nin, nout;
  int state;             /* 0 pending, 1 emitted, 2 skipped, 3 failed */
  char why[300];
} NodeCase;

/* ---- the manifest ---------------------------------------------------------------- */

/* The ops of a case from MANIFEST.tsv, or NULL. */
static char *manifest_ops(const char *manifest, const char *name, char *buf, size_t n) {
  size_t ln = strlen(name);
  for (const char *p = manifest; p && *p;) {
    const char *eol = strchr(p, '\n');
    if (!strncmp(p, name, ln) && p[ln] == '\t') {
      const char *o = p + ln + 1, *e = strchr(o, '\t');
      if (!e || (eol && e > eol)) return NULL;
      size_t k = (size_t)(e - o) < n - 1 ? (size_t)(e - o) : n - 1;
      memcpy(buf, o, k);
      buf[k] = 0;
      return buf;
    }
    p = eol ? eol + 1 : NULL;
  }
  return NULL;
}

static const char *unsupported_op(char *ops) {
  for (char *tok = strtok(ops, ","); tok; tok = strtok(NULL, ","))
    if (strcmp(tok, "Constant") && op_from_onnx(tok) < 0) return tok;
  return NULL;
}

/* Inputs that decide output shapes, frozen to the test's values. */
static int is_shape_param(const Node *n, int slot) {
  switch (n->op) {
  case OP_RESHAPE: case OP_SQUEEZE: case OP_UNSQUEEZE: return slot == 1;
  case OP_SLICE: return slot >= 1;
  case OP_PAD: return slot == 1 || slot == 3;
  case OP_CONSTANTOFSHAPE: return slot == 0;
  case OP_DROPOUT: return slot == 2;
  default: return 0;
  }
}

static int freezes(Graph *g, const Tensor *t) {
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i]->nin; j++)
      if (g->nodes[i]->in[j] == t && is_shape_param(g->nodes[i], j)) return 1;
  return 0;
}

/* ---- one case: load, bind, fold, optimise, emit ------------------------------------ */

static Graph *prepare(const char *root, NodeCase *c, EhCase *ec, const char *outdir) {
  char path[1024];
  int light = strncmp(c->path, "light/", 6) == 0;
  if (light) snprintf(path, sizeof path, "%s/%s.onnx", root, c->path);
  else snprintf(path, sizeof path, "%s/%s/model.onnx", root, c->path);
  OnnxOptions o = {1, 0};
  Graph *volatile g = onnx_load(path, &o);
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
  int nrun = 0;
  for (int i = 0; i < g->ninputs; i++) {
    Tensor *x, *gi = g->inputs[i];
    if (light) {
      /* the light models' input (onnx-tests/README.md): x[i] = i / n */
      x = ir_tensor(c->ref, gi->name, gi->dtype, gi->rank, gi->dims);
      int64_t ne = ir_numel(x);
      float *d = ir_alloc(c->ref, sizeof(float) * (size_t)(ne + 1));
      for (int64_t k = 0; k < ne; k++) d[k] = (float)((double)k / (double)ne);
      x->kind = TK_CONST;
      x->data = d;
    } else {
      snprintf(path, sizeof path, "%s/%s/test_data_set_0/input_%d.pb", root, c->path, i);
      x = onnx_read_tensor_file(c->ref, path);
    }
    if (x->dtype != gi->dtype || ir_numel(x) != ir_numel(gi))
      ir_fail("input_%d.pb does not match graph input '%s'", i, gi->name);
    if (freezes(g, gi)) {
      gi->kind = TK_CONST;
      gi->data = ir_alloc(g, (size_t)ir_bytes(x) + 1);
      memcpy(gi->data, x->data, (size_t)ir_bytes(x));
      continue;
    }
    c->in[nrun] = x;
    g->inputs[nrun++] = gi;
  }
  g->ninputs = c->nin = nrun;
  shape_infer_and_fold(g, 0);
  PassOptions po = {2, NULL, NULL, NULL, 1, NULL};
  passes_run(g, &po);
  c->nout = g->noutputs;
  c->out = ir_alloc(c->ref, sizeof(Tensor *) * (size_t)(g->noutputs + 1));
  for (int i = 0; i < g->noutputs; i++) {
    if (light) snprintf(path, sizeof path, "%s/%s_output_%d.pb", root, c->path, i);
    else snprintf(path, sizeof path, "%s/%s/test_data_set_0/output_%d.pb", root, c->path, i);
    c->out[i] = onnx_read_tensor_file(c->ref, path);
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

static int cmp_case(const void *a, const void *b) {
  return strcmp(((const NodeCase *)a)->path, ((const NodeCase *)b)->path);
}

static void test_node_cases(void) {
  const char *r = rn_shared("onnx-tests");
  if (!r) {
    rn_skip("../shared/onnx-tests is absent");
    return;
  }
  char root[1024];
  snprintf(root, sizeof root, "%s", r);
  char mpath[1100];
  snprintf(mpath, sizeof mpath, "%s/MANIFEST.tsv", root);
  size_t mlen;
  char *manifest = rn_read_file(mpath, &mlen);
  CU_ASSERT_FATAL(manifest != NULL);
  NodeCase *cs = calloc(MAX_CASES, sizeof *cs);
  int n = 0;
  static const char *folders[] = {"node", "pytorch-converted", "pytorch-operator"};
  for (int f = 0; f < 3; f++) {
    char d[1100];
    snprintf(d, sizeof d, "%s/%s", root, folders[f]);
    DIR *dp = opendir(d);
    if (!dp) continue;
    struct dirent *de;
    while ((de = readdir(dp)) != NULL && n < MAX_CASES) {
      if (de->d_name[0] == '.') continue;
      snprintf(cs[n].path, sizeof cs[n].path, "%s/%s", folders[f], de->d_name);
      n++;
    }
    closedir(dp);
  }
  /* two model-zoo networks of light/ small enough to run under ASan in CI
   * (SqueezeNet: Concat, ShuffleNet: Reshape/Transpose at full scale); the
   * rest is run by hand (see the report) or by test_emit_models */
  snprintf(cs[n++].path, sizeof cs[0].path, "light/light_squeezenet");
  snprintf(cs[n++].path, sizeof cs[0].path, "light/light_shufflenet");
  qsort(cs, (size_t)n, sizeof *cs, cmp_case);
  const char *dir = rn_tmpdir("onnx_node_c");
  char outdir[1024];
  snprintf(outdir, sizeof outdir, "%s", dir);
  EhCase *ec = calloc((size_t)n + 1, sizeof *ec);
  double t0 = now_s();
  ir_quiet = !getenv("RN_VERBOSE");
  for (int k = 0; k < n; k++) {
    NodeCase *c = &cs[k];
    char ops[1024];
    snprintf(ec[k].name, sizeof ec[k].name, "c%d", k);
    if (!manifest_ops(manifest, c->path, ops, sizeof ops)) {
      c->state = 2;
      snprintf(c->why, sizeof c->why, "not in MANIFEST.tsv");
      continue;
    }
    const char *bad = unsupported_op(ops);
    if (bad) {
      c->state = 2;
      snprintf(c->why, sizeof c->why, "op %s is not in ops.def", bad);
      continue;
    }
    prepare(root, c, &ec[k], outdir);
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
      printf("\n  pass %s", c->path);
      np++;
    } else if (c->state == 2) {
      printf("\n  skip %s: %s", c->path, c->why);
      ns++;
    } else {
      printf("\n  FAIL %s: %s", c->path, c->why);
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
  free(manifest);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("onnx_node_c", NULL, NULL);
  CU_add_test(s, "ONNX backend node tests through generated C", test_node_cases);
  return rn_run_tests();
}
