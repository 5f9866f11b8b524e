/*
 * kbench.c - microbenchmark of the generated conv kernels on the shape
 * classes of ResNet-18/50 (224x224) and the CIFAR ResNets (32x32).
 *
 * Expands templates/k_conv_nchwc.m4 for every shape through the compiler's
 * own code (as the emitter does), writes one C file with a timing loop,
 * builds it with $CC (default cc) -O3 -march=native and runs it.  Prints
 * per shape the minimum time over the rounds, GFLOP/s and % of the FMA
 * peak measured in the same process.
 *
 * Variants (--tile, --unroll, each repeatable) are compiled side by side
 * and run interleaved, one call of each per round, so that they are
 * compared under the same load; on a shared machine only such
 * comparisons mean something.  Timing uses thread CPU time (peak.h).
 *
 * usage: kbench [--filter SUBSTR] [--tile OCB,PX[,ICC[,PF[,PFK]]]]... [--unroll N]...
 *               [--wg G] [--isa LIST] [--cflags FLAGS] [--rounds N] [--keep DIR]
 *               [--cold]
 * --cold writes 64 MB before every call, so that weights and activations
 * come from memory, as in a network whose weights exceed the caches.
 * Not a test: numbers depend on the machine and its load.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels.h"

typedef struct Shape { const char *net; int cin, cout, hw, k, s, n; } Shape;

/* net, cin, cout, input size, kernel, stride, count in the net(s) */
static const Shape shapes[] = {
  {"r18/50 stem", 3, 64, 224, 7, 2, 1},
  {"r18/50", 64, 64, 56, 3, 1, 4 + 3},
  {"r18/50", 128, 128, 28, 3, 1, 3 + 3},
  {"r18/50", 256, 256, 14, 3, 1, 3 + 5},
  {"r18/50", 512, 512, 7, 3, 1, 3 + 2},
  {"r18", 64, 128, 56, 3, 2, 1},
  {"r18", 128, 256, 28, 3, 2, 1},
  {"r18", 256, 512, 14, 3, 2, 1},
  {"r50", 128, 128, 56, 3, 2, 1},
  {"r50", 256, 256, 28, 3, 2, 1},
  {"r50", 512, 512, 14, 3, 2, 1},
  {"r18", 64, 128, 56, 1, 2, 1},
  {"r18", 128, 256, 28, 1, 2, 1},
  {"r18", 256, 512, 14, 1, 2, 1},
  {"r50", 64, 64, 56, 1, 1, 1},
  {"r50", 64, 256, 56, 1, 1, 4},
  {"r50", 256, 64, 56, 1, 1, 2},
  {"r50", 256, 128, 56, 1, 1, 1},
  {"r50", 256, 512, 56, 1, 2, 1},
  {"r50", 128, 512, 28, 1, 1, 4},
  {"r50", 512, 128, 28, 1, 1, 3},
  {"r50", 512, 256, 28, 1, 1, 1},
  {"r50", 512, 1024, 28, 1, 2, 1},
  {"r50", 256, 1024, 14, 1, 1, 6},
  {"r50", 1024, 256, 14, 1, 1, 5},
  {"r50", 1024, 512, 14, 1, 1, 1},
  {"r50", 1024, 2048, 14, 1, 2, 1},
  {"r50", 512, 2048, 7, 1, 1, 3},
  {"r50", 2048, 512, 7, 1, 1, 2},
  {"cifar stem", 3, 16, 32, 3, 1, 1},
  {"cifar", 16, 16, 32, 3, 1, 18},
  {"cifar", 16, 32, 32, 3, 2, 1},
  {"cifar", 32, 32, 16, 3, 1, 17},
  {"cifar", 32, 64, 16, 3, 2, 1},
  {"cifar", 64, 64, 8, 3, 1, 17},
};
#define NSHAPES (int)(sizeof shapes / sizeof shapes[0])
#define MAXV 16

static int force_wg;

static KConv shape_conv(const Shape *s) {
  KConv c;
  memset(&c, 0, sizeof c);
  c.cin = s->cin; c.cout = s->cout; c.h = c.w = s->hw; c.kh = c.kw = s->k;
  c.sh = c.sw = s->s; c.pt = c.pl = s->k / 2;
  c.oh = c.ow = (s->hw + 2 * c.pt - s->k) / s->s + 1;
  c.ib = s->cin < 16 ? 1 : 16;
  c.act = ACT_RELU;
  c.wg = force_wg;
  return c;
}

int main(int argc, char **argv) {
  const char *filter = NULL, *cflags = "-O3 -march=native", *keep = NULL, *cc = getenv("CC");
  int ntile = 0, nunroll = 0, rounds = 40, wg = 0, cold = 0;
  int unrolls[MAXV];
  unsigned isas = KISA_ALL;
  KTile tiles[MAXV];
  for (int i = 1; i < argc; i++) {
    if (!strcmp(argv[i], "--filter") && i + 1 < argc) filter = argv[++i];
    else if (!strcmp(argv[i], "--tile") && i + 1 < argc && ntile < MAXV) {
      KTile *t = &tiles[ntile];
      memset(t, 0, sizeof *t);
      if (sscanf(argv[++i], "%d,%d,%d,%d,%d", &t->ocb, &t->px, &t->icc, &t->pf, &t->pfk) >= 2) ntile++;
    } else if (!strcmp(argv[i], "--unroll") && i + 1 < argc && nunroll < MAXV)
      unrolls[nunroll++] = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--isa") && i + 1 < argc) isas = (unsigned)kisa_parse(argv[++i]);
    else if (!strcmp(argv[i], "--cflags") && i + 1 < argc) cflags = argv[++i];
    else if (!strcmp(argv[i], "--rounds") && i + 1 < argc) rounds = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--wg") && i + 1 < argc) wg = atoi(argv[++i]);
    else if (!strcmp(argv[i], "--keep") && i + 1 < argc) keep = argv[++i];
    else if (!strcmp(argv[i], "--cold")) cold = 1;
    else {
      fprintf(stderr, "usage: kbench [--filter S] [--tile OCB,PX[,ICC]]... [--unroll N]... "
                      "[--isa L] [--cflags F] [--rounds N] [--keep DIR]\n");
      return 2;
    }
  }
  if (!cc) cc = "cc";
  force_wg = wg;
  int nvar = (ntile ? ntile : 1) * (nunroll ? nunroll : 1);
  char dir[4096], cmd[16384], path[4200];
  if (keep) snprintf(dir, sizeof dir, "%s", keep);
  else snprintf(dir, sizeof dir, "/tmp/kbench-%d", (int)getpid());
  snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
  if (system(cmd) != 0) return 1;
  snprintf(path, sizeof path, "%s/kb.c", dir);
  FILE *f = fopen(path, "w");
  if (!f) { perror(path); return 1; }
  fprintf(f, "#define _POSIX_C_SOURCE 200809L\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
             "#define COLD %d\nstatic char *evict;\n"
             "#include \"%s/bench/peak.h\"\n"
             "typedef void (*kfn)(const float *, const float *, const float *, const float *, float *);\n",
          cold, RN_SOURCE_DIR);
  int used[NSHAPES];
  for (int i = 0; i < NSHAPES; i++) {
    KConv c = shape_conv(&shapes[i]);
    char name[200];
    kconv_name(&c, name, sizeof name);
    used[i] = !filter || strstr(name, filter) || strstr(shapes[i].net, filter);
    if (!used[i]) continue;
    for (int v = 0; v < nvar; v++) {
      char *par = NULL, vname[240];
      size_t len = 0;
      FILE *m = open_memstream(&par, &len);
      snprintf(vname, sizeof vname, "%s_v%d", name, v);
      c.unroll = nunroll ? unrolls[v / (ntile ? ntile : 1)] : 0;
      kconv_params(m, &c, isas, ntile ? &tiles[v % ntile] : NULL);
      fclose(m);
      if (kern_expand(f, RN_SOURCE_DIR "/templates", "k_conv_nchwc.m4", "CONVB", vname, par)) return 1;
      free(par);
    }
  }
  fprintf(f, "static void run(const char *net, const char *name, const char *const *var, const kfn *fn,\n"
             "  int nvar, size_t nx, size_t nw, size_t ny, int nb, double flops, int count, double peak,\n"
             "  double *total) {\n"
             "  float *x = aligned_alloc(64, nx * 4 + 64), *w = aligned_alloc(64, nw * 4 + 64);\n"
             "  float *y = aligned_alloc(64, ny * 4 + 64), *b = aligned_alloc(64, nb * 4 + 64);\n"
             "  double best[%d]; size_t i; int r, v;\n"
             "  for (i = 0; i < nx; i++) x[i] = (float)(i %% 7) - 3;\n"
             "  for (i = 0; i < nw; i++) w[i] = (float)(i %% 5) * 0.01f;\n"
             "  for (i = 0; i < (size_t)nb; i++) b[i] = 0;\n"
             "  for (v = 0; v < nvar; v++) best[v] = 1e9;\n"
             "  for (r = 0; r < %d; r++) for (v = 0; v < nvar; v++) {\n"
             "    if (COLD) { if (!evict) evict = malloc(64 << 20); memset(evict, r + v, 64 << 20); }\n"
             "    double t = pk_now(); fn[v](x, w, b, NULL, y); t = pk_now() - t;\n"
             "    if (t < best[v]) best[v] = t; }\n"
             "  for (v = 0; v < nvar; v++)\n"
             "    printf(\"%%-13s %%-36s %%-10s %%8.3f %%7.1f %%5.1f%%%%\\n\", v ? \"\" : net, v ? \"\" : name, var[v],\n"
             "           best[v] * 1e3, flops / best[v] / 1e9, 100 * flops / best[v] / 1e9 / peak);\n"
             "  *total += best[0] * count;\n"
             "  free(x); free(w); free(y); free(b);\n}\n",
          nvar, rounds);
  fprintf(f, "int main(void) {\n  double peak = peak_gflops(0.5), total = 0;\n"
             "  printf(\"isa %%s, peak %%.1f GFLOP/s\\n\", PK_ISA, peak);\n"
             "  printf(\"%%-13s %%-36s %%-10s %%8s %%7s %%6s\\n\", \"net x count\", \"kernel\", \"variant\", \"ms\", \"GFLOP/s\", \"%%peak\");\n");
  for (int i = 0; i < NSHAPES; i++) {
    if (!used[i]) continue;
    const Shape *s = &shapes[i];
    KConv c = shape_conv(s);
    char name[200];
    kconv_name(&c, name, sizeof name);
    fprintf(f, "  {\n    static const char *const var[] = {");
    for (int v = 0; v < nvar; v++) {
      KTile t;
      if (ntile) { t = tiles[v % ntile]; kconv_tile_finish(&c, &t); }
      else kconv_tile(&c, KISA_AVX512, &t);
      fprintf(f, "\"%dx%d/%d/%d:%d u%d\", ", t.ocb, t.px, t.icc, t.pf, t.pfk, nunroll ? unrolls[v / (ntile ? ntile : 1)] : 4);
    }
    fprintf(f, "};\n    static const kfn fn[] = {");
    for (int v = 0; v < nvar; v++) fprintf(f, "%s_v%d__simd_1, ", name, v);
    fprintf(f, "};\n    run(\"%s x%d\", \"%s\", var, fn, %d, %zu, %zu, %zu, %d, %.1f, %d, peak, &total);\n  }\n",
            s->net, s->n, name, nvar, kconv_x_floats(&c), kconv_w_floats(&c), kconv_y_floats(&c),
            (c.cout + 15) / 16 * 16, (double)kconv_flops(&c), s->n);
  }
  fprintf(f, "  printf(\"sum of first variants x count: %%.3f ms\\n\", total * 1e3);\n  return 0;\n}\n");
  fclose(f);
  snprintf(cmd, sizeof cmd, "%s %s -std=gnu11 -o %s/kb %s/kb.c && %s/kb", cc, cflags, dir, dir, dir);
  int rc = system(cmd);
  if (!keep) {
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    if (system(cmd) != 0) return 1;
  }
  return rc == 0 ? 0 : 1;
}
