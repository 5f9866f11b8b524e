/*
 * test_kernels.c - every fast-kernel variant against a naive reference.
 *
 * Cases: random shapes (channels 1-40, sizes 1-20, kernels 1-7, strides
 * 1-3, pads 0-3 on each side, plain and blocked input, every epilogue),
 * forced register tiles that sweep the tile edges (output width below,
 * equal to, above and a multiple of the tile; channel blocks likewise; one
 * input block per cache chunk so partial sums pass through y), the shape
 * classes of ResNet-18/50 and the CIFAR ResNets, and in-place residuals.
 *
 * Every case is expanded through templates/ by the compiler's own code
 * (kconv_prelude + kern_m4), all into one C file, which is then compiled
 * once per ISA (portable, AVX2, AVX-512, and NEON with aarch64-linux-gnu-gcc
 * run under qemu-aarch64) with -std=c99 -Wall -Wextra -Wpedantic -Werror and
 * run by tests/kernels/harness.c, which puts guard pages and guard bytes
 * around every buffer and runs each kernel twice.
 *
 * The reference is a naive convolution in double on plain NCHW data,
 * written here, with its own blocking and unblocking.  The data are small
 * integers, so every sum is exact in float32 whatever the order, and the
 * outputs must match bit for bit (the benchdnn method); a few cases use
 * real-valued data with a relative tolerance of 1e-5.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "kernels.h"
#include "pack.h"
#include "testutil.h"

typedef struct Case {
  KConv c;
  int pb, pr;           /* bottom/right pads (only for the reference) */
  KTile force;
  int forced, inplace, realdata;
  char name[160];
  float *x, *w, *b, *r; /* plain NCHW, OIHW, [cout], [cout][oh][ow] */
  float *ref;           /* [ceil(cout/16)*16][oh][ow], pad channels too */
} Case;

#define MAXCASES 160
static Case cases[MAXCASES];
static int ncases;
static const char *dir;        /* work folder */
static int setup_ok;

static unsigned long long rng = 0x9E3779B97F4A7C15ULL;
static unsigned rnd(unsigned n) {
  rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
  return (unsigned)(rng >> 33) % n;
}
static int cdiv(int a, int b) { return (a + b - 1) / b; }

static float value(const Case *k) {
  if (k->realdata) return (float)rnd(2001) / 1000.0f - 1.0f;
  return (float)((int)rnd(7) - 3);
}

static float act(const KConv *c, double v) {
  switch (c->act) {
  case ACT_RELU: return (float)(v > 0 ? v : 0);
  case ACT_CLIP: return (float)(v < c->act_lo ? c->act_lo : v > c->act_hi ? c->act_hi : v);
  case ACT_LEAKYRELU: return (float)(v < 0 ? v * c->act_alpha : v);
  default: return (float)v;
  }
}

/* Fills the data and computes the reference of case k. */
static void make_case(Case *k) {
  KConv *c = &k->c;
  size_t nx = (size_t)c->cin * c->h * c->w, nw = (size_t)c->cout * c->cin * c->kh * c->kw;
  size_t ny = (size_t)c->cout * c->oh * c->ow, ocp = (size_t)cdiv(c->cout, 16) * 16;
  k->x = malloc(nx * 4);
  k->w = malloc(nw * 4);
  k->b = malloc((size_t)c->cout * 4);
  k->r = malloc(ny * 4);
  k->ref = calloc(ocp * c->oh * c->ow, 4);
  for (size_t i = 0; i < nx; i++) k->x[i] = value(k);
  for (size_t i = 0; i < nw; i++) k->w[i] = value(k);
  for (int i = 0; i < c->cout; i++) k->b[i] = value(k);
  for (size_t i = 0; i < ny; i++) k->r[i] = value(k);
  for (size_t o = 0; o < ocp; o++)
    for (int oy = 0; oy < c->oh; oy++)
      for (int ox = 0; ox < c->ow; ox++) {
        double s = 0;
        if ((int)o < c->cout) {
          s = k->b[o];
          for (int i = 0; i < c->cin; i++)
            for (int ky = 0; ky < c->kh; ky++)
              for (int kx = 0; kx < c->kw; kx++) {
                int iy = oy * c->sh - c->pt + ky, ix = ox * c->sw - c->pl + kx;
                if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w) continue;
                s += (double)k->x[((size_t)i * c->h + iy) * c->w + ix] *
                     k->w[(((size_t)o * c->cin + i) * c->kh + ky) * c->kw + kx];
              }
          if (c->res) s += k->r[((size_t)o * c->oh + oy) * c->ow + ox];
        }
        k->ref[(o * c->oh + oy) * c->ow + ox] = act(c, s);
      }
}

static int add_case(const KConv *c, int pb, int pr, const KTile *force, int inplace, int realdata) {
  if (ncases == MAXCASES) return -1;
  Case *k = &cases[ncases];
  memset(k, 0, sizeof *k);
  k->c = *c;
  k->pb = pb;
  k->pr = pr;
  if (force) { k->force = *force; k->forced = 1; }
  k->inplace = inplace && c->res;
  k->realdata = realdata;
  snprintf(k->name, sizeof k->name, "k%d_", ncases);
  kconv_name(c, k->name + strlen(k->name), sizeof k->name - strlen(k->name));
  make_case(k);
  return ncases++;
}

/* A conv of the given shape; oh/ow from the pads. */
static KConv conv(int ib, int cin, int cout, int h, int w, int kh, int kw, int sh, int sw,
                  int pt, int pl, int pb, int pr, int res, Act a) {
  KConv c;
  memset(&c, 0, sizeof c);
  c.ib = ib; c.cin = cin; c.cout = cout; c.h = h; c.w = w;
  c.kh = kh; c.kw = kw; c.sh = sh; c.sw = sw; c.pt = pt; c.pl = pl;
  c.oh = (h + pt + pb - kh) / sh + 1;
  c.ow = (w + pl + pr - kw) / sw + 1;
  c.res = res;
  c.act = a;
  c.act_lo = -2.5f;
  c.act_hi = 7.25f;
  c.act_alpha = 0.125f;
  return c;
}

static void build_cases(void) {
  const char *seed = getenv("RN_KERNEL_SEED");
  if (seed) rng = strtoull(seed, NULL, 0);
  /* 1. random shapes */
  for (int n = 0; n < 28;) {
    int ib = rnd(4) == 0 ? 1 : 16;
    int cin = ib == 1 ? 1 + rnd(4) : 1 + rnd(40), cout = 1 + rnd(n % 5 == 0 ? 80 : 40);
    int h = 1 + rnd(20), w = 1 + rnd(20), kh = 1 + rnd(n % 7 == 0 ? 7 : 5), kw = 1 + rnd(5);
    int sh = 1 + rnd(3), sw = 1 + rnd(3);
    int pt = rnd(4), pl = rnd(4), pb = rnd(4), pr = rnd(4);
    if (h + pt + pb < kh || w + pl + pr < kw) continue;
    KConv c = conv(ib, cin, cout, h, w, kh, kw, sh, sw, pt, pl, pb, pr, rnd(2),
                   (Act)rnd(4));
    add_case(&c, pb, pr, NULL, rnd(3) == 0, n % 8 == 3);
    n++;
  }
  /* 2. forced tiles of 2 blocks x 4 pixels, one input block per chunk:
   * widths below, equal to, above and a multiple of the tile, channel
   * blocks likewise; 3x3 pad 1 (edges both sides) and 1x1 (none) */
  static const int widths[] = {3, 4, 5, 8};
  static const int couts[] = {16, 32, 53};
  for (size_t i = 0; i < sizeof widths / sizeof *widths; i++)
    for (size_t j = 0; j < sizeof couts / sizeof *couts; j++) {
      KTile t = {2, 4, (i + j) % 2 ? 1 : 2, 0, 0, 0};
      KConv c = conv(16, 40, couts[j], 3, widths[i], 3, 3, 1, 1, 1, 1, 1, 1, (int)(i + j) % 2,
                     ACT_RELU);
      add_case(&c, 1, 1, &t, (int)j == 1, 0);
      if (j == 0) {
        KConv d = conv(16, 33, couts[i % 4], 2, widths[i], 1, 1, 1, 2, 0, 0, 0, 0, 1, ACT_NONE);
        add_case(&d, 0, 0, &t, 0, 0);
      }
    }
  /* 3. the shape classes of ResNet-18/50 and the CIFAR ResNets (reduced
   * spatially where the class does not depend on it) */
  KConv s[] = {
    conv(1, 3, 64, 30, 30, 7, 7, 2, 2, 3, 3, 3, 3, 0, ACT_RELU),      /* stem */
    conv(1, 3, 16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 0, ACT_RELU),      /* CIFAR stem */
    conv(16, 64, 64, 14, 14, 3, 3, 1, 1, 1, 1, 1, 1, 1, ACT_RELU),    /* 3x3 s1 */
    conv(16, 16, 64, 56, 56, 3, 3, 1, 1, 1, 1, 1, 1, 0, ACT_RELU),    /* 3x3 s1, 56 wide */
    conv(16, 128, 512, 7, 7, 3, 3, 1, 1, 1, 1, 1, 1, 1, ACT_RELU),    /* 3x3 s1, 7 wide */
    conv(16, 64, 128, 15, 15, 3, 3, 2, 2, 1, 1, 1, 1, 0, ACT_RELU),   /* 3x3 s2 odd */
    conv(16, 32, 128, 28, 28, 3, 3, 2, 2, 1, 1, 1, 1, 0, ACT_RELU),   /* 3x3 s2 */
    conv(16, 64, 256, 14, 14, 1, 1, 1, 1, 0, 0, 0, 0, 1, ACT_RELU),   /* 1x1 s1 */
    conv(16, 32, 64, 56, 56, 1, 1, 1, 1, 0, 0, 0, 0, 0, ACT_RELU),    /* 1x1 s1, 56 */
    conv(16, 128, 256, 14, 14, 1, 1, 2, 2, 0, 0, 0, 0, 0, ACT_NONE),  /* 1x1 s2 */
    conv(16, 512, 128, 7, 7, 1, 1, 1, 1, 0, 0, 0, 0, 1, ACT_RELU),    /* 1x1, 7x7 */
    conv(16, 16, 16, 32, 32, 3, 3, 1, 1, 1, 1, 1, 1, 1, ACT_RELU),    /* CIFAR 3x3 */
    conv(16, 32, 64, 16, 16, 3, 3, 2, 2, 1, 1, 1, 1, 0, ACT_RELU),    /* CIFAR s2 */
  };
  for (size_t i = 0; i < sizeof s / sizeof *s; i++)
    add_case(&s[i], s[i].pt, s[i].pl, NULL, s[i].res && i % 2 == 0, i == 2 || i == 7);
}

/* Blocked input, packed weights and bias, blocked residual, for case k. */
static void write_case(FILE *f, const Case *k) {
  const KConv *c = &k->c;
  int icb = cdiv(c->cin, c->ib), ocbt = cdiv(c->cout, 16);
  int32_t nb[5];
  nb[0] = (int32_t)((size_t)icb * c->h * c->w * c->ib);
  nb[1] = (int32_t)pack_conv_floats(c->cout, c->cin, c->kh, c->kw, c->ib);
  nb[2] = (int32_t)pack_bias_floats(c->cout);
  nb[3] = c->res ? ocbt * 16 * c->oh * c->ow : 1;
  nb[4] = ocbt * 16 * c->oh * c->ow;
  int32_t hdr[3] = {0, 5, k->inplace ? 3 : -1};
  fwrite(hdr, 4, 3, f);
  fwrite(nb, 4, 5, f);
  float *xb = calloc((size_t)nb[0], 4), *wp = malloc((size_t)nb[1] * 4);
  float *bp = malloc((size_t)nb[2] * 4), *rb = calloc((size_t)nb[3], 4);
  float *yb = calloc((size_t)nb[4], 4);
  for (int i = 0; i < c->cin; i++)
    for (int y = 0; y < c->h; y++)
      for (int x = 0; x < c->w; x++)
        xb[(((size_t)(i / c->ib) * c->h + y) * c->w + x) * c->ib + i % c->ib] =
            k->x[((size_t)i * c->h + y) * c->w + x];
  pack_conv_nchwc(k->w, c->cout, c->cin, c->kh, c->kw, c->ib, wp);
  pack_bias(k->b, c->cout, bp);
  if (c->res)
    for (int o = 0; o < c->cout; o++)
      for (int i = 0; i < c->oh * c->ow; i++)
        rb[((size_t)(o / 16) * c->oh * c->ow + i) * 16 + o % 16] = k->r[(size_t)o * c->oh * c->ow + i];
  for (int i = 0; i < nb[4]; i++) yb[i] = NAN;   /* the kernel must write all */
  fwrite(xb, 4, (size_t)nb[0], f);
  fwrite(wp, 4, (size_t)nb[1], f);
  fwrite(bp, 4, (size_t)nb[2], f);
  fwrite(rb, 4, (size_t)nb[3], f);
  fwrite(yb, 4, (size_t)nb[4], f);
  free(xb); free(wp); free(bp); free(rb); free(yb);
}

static int suite_init(void) {
  build_cases();
  dir = rn_tmpdir("kernels");
  char path[4200];
  snprintf(path, sizeof path, "%s/kern.c", dir);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fprintf(f, "/* kernels under test */\n#include <stddef.h>\n");
  for (int i = 0; i < ncases; i++) {
    char *pre = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&pre, &len);
    kconv_prelude(m, &cases[i].c, cases[i].name, KISA_ALL, cases[i].forced ? &cases[i].force : NULL);
    fclose(m);
    int rc = kern_m4("conv_nchwc.m4", rn_source_path("templates"), pre, f);
    free(pre);
    if (rc) { fclose(f); return -1; }
  }
  fprintf(f, "struct kcase_fn { const char *name; void (*run)(const float *const *a, float *y); };\n");
  for (int i = 0; i < ncases; i++)
    fprintf(f, "static void run%d(const float *const *a, float *y) { %s(a[0], a[1], a[2], a[3], y); }\n",
            i, cases[i].name);
  fprintf(f, "static const struct kcase_fn kern_table[] = {\n");
  for (int i = 0; i < ncases; i++) fprintf(f, "  {\"%s\", run%d},\n", cases[i].name, i);
  fprintf(f, "};\n#define NKERN %d\n#include \"%s\"\n", ncases,
          rn_source_path("tests/kernels/harness.c"));
  if (fclose(f) != 0) return -1;
  snprintf(path, sizeof path, "%s/in.bin", dir);
  f = fopen(path, "wb");
  if (!f) return -1;
  for (int i = 0; i < ncases; i++) write_case(f, &cases[i]);
  if (fclose(f) != 0) return -1;
  setup_ok = 1;
  return 0;
}

static int suite_clean(void) {
  for (int i = 0; i < ncases; i++) {
    free(cases[i].x); free(cases[i].w); free(cases[i].b); free(cases[i].r); free(cases[i].ref);
  }
  return 0;
}

#define CFLAGS "-std=c99 -O2 -Wall -Wextra -Wpedantic -Werror -D_DEFAULT_SOURCE"

/* Compiles kern.c with cc + flags into bin, runs it (under runner), and
 * compares every output with the reference. */
static void check_isa(const char *tag, const char *cc, const char *flags, const char *runner) {
  CU_ASSERT_FATAL(setup_ok);
  char log[4200];
  snprintf(log, sizeof log, "%s/%s.log", dir, tag);
  int rc = rn_system(log, "%s " CFLAGS " %s -o %s/%s %s/kern.c -lm", cc, flags, dir, tag, dir);
  if (rc != 0) fprintf(stderr, "compile %s failed, see %s\n", tag, log);
  CU_ASSERT_EQUAL_FATAL(rc, 0);
  rc = rn_system(log, "%s %s/%s %s/in.bin %s/%s.out", runner, dir, tag, dir, dir, tag);
  if (rc != 0) fprintf(stderr, "run %s failed (%d), see %s\n", tag, rc, log);
  CU_ASSERT_EQUAL(rc, 0);
  char path[4200];
  snprintf(path, sizeof path, "%s/%s.out", dir, tag);
  size_t len;
  float *out = rn_read_file(path, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(out);
  size_t off = 0;
  int nbad = 0;
  for (int i = 0; i < ncases; i++) {
    const Case *k = &cases[i];
    const KConv *c = &k->c;
    int ocbt = cdiv(c->cout, 16);
    size_t ny = (size_t)ocbt * 16 * c->oh * c->ow, hw = (size_t)c->oh * c->ow;
    if ((off + ny) * 4 > len) { CU_FAIL("short output"); break; }
    const float *y = out + off;
    double maxref = 0, err = 0;
    size_t where = 0;
    for (size_t o = 0; o < (size_t)ocbt * 16; o++)
      for (size_t p = 0; p < hw; p++) {
        double a = y[((o / 16) * hw + p) * 16 + o % 16], b = k->ref[o * hw + p];
        if (fabs(b) > maxref) maxref = fabs(b);
        double d = a == b ? 0 : fabs(a - b);
        if (d != d) d = INFINITY;
        if (d > err) { err = d; where = o * hw + p; }
      }
    double tol = k->realdata ? 1e-5 * (maxref > 1 ? maxref : 1) : 0;
    if (err > tol) {
      if (nbad++ < 10)
        fprintf(stderr, "%s: %s (%s): max error %g at channel %zu pixel %zu (tol %g)\n", tag,
                k->name, k->forced ? "forced tile" : "auto tile", err, where / hw, where % hw, tol);
    }
    off += ny;
  }
  CU_ASSERT_EQUAL(nbad, 0);
  free(out);
}

static void test_scalar(void) { check_isa("scalar", "cc", "", ""); }

static void test_avx2(void) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma")) {
    rn_skip("no AVX2+FMA on this machine");
    return;
  }
  check_isa("avx2", "cc", "-mavx2 -mfma", "");
}

static void test_avx512(void) {
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx512f")) {
    rn_skip("no AVX-512F on this machine");
    return;
  }
  check_isa("avx512", "cc", "-mavx512f -mfma", "");
}

static void test_neon(void) {
  if (rn_system("/dev/null", "command -v aarch64-linux-gnu-gcc && command -v qemu-aarch64") != 0) {
    rn_skip("aarch64-linux-gnu-gcc or qemu-aarch64 absent");
    return;
  }
  check_isa("neon", "aarch64-linux-gnu-gcc", "-static", "qemu-aarch64");
}

/* The generated code is clean under clang as well (syntax and warnings). */
static void test_clang(void) {
  CU_ASSERT_FATAL(setup_ok);
  if (rn_system("/dev/null", "command -v clang") != 0) {
    rn_skip("clang absent");
    return;
  }
  static const char *flags[] = {"", "-mavx2 -mfma", "-mavx512f -mfma",
                                "--target=aarch64-linux-gnu -march=armv8-a"};
  for (int i = 0; i < 4; i++) {
    char log[4200];
    snprintf(log, sizeof log, "%s/clang%d.log", dir, i);
    /* aarch64: only when its headers are there */
    if (i == 3 && rn_system("/dev/null", "test -d /usr/aarch64-linux-gnu/include") != 0) continue;
    int rc = rn_system(log, "clang " CFLAGS " %s %s -fsyntax-only %s/kern.c", flags[i],
                       i == 3 ? "-isystem /usr/aarch64-linux-gnu/include" : "", dir);
    if (rc) fprintf(stderr, "clang %s failed, see %s\n", flags[i], log);
    CU_ASSERT_EQUAL(rc, 0);
  }
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("kernels", suite_init, suite_clean);
  CU_add_test(s, "conv: portable C", test_scalar);
  CU_add_test(s, "conv: AVX2", test_avx2);
  CU_add_test(s, "conv: AVX-512", test_avx512);
  CU_add_test(s, "conv: NEON under qemu", test_neon);
  CU_add_test(s, "conv: clang -Werror", test_clang);
  return rn_run_tests();
}
