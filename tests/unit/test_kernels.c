/*
 * test_kernels.c - every fast-kernel variant against a naive reference.
 *
 * Conv cases: random shapes (channels 1-80, sizes 1-20, kernels 1-7,
 * strides 1-3, pads 0-3 on each side, plain and blocked input, weight
 * groups 1-4, every epilogue), forced register tiles that sweep the tile
 * edges (output width below, equal to, above and a multiple of the tile;
 * channel blocks likewise; one input block per cache chunk so partial sums
 * pass through y), the shape classes of ResNet-18/50 and the CIFAR ResNets,
 * in-place residuals and the option-A residual view.  Then pooling (max, average with and without the
 * pads counted, ceil mode, global), fully connected layers (N around the
 * 64-output step, transB or not, alpha) and the layout reorders.
 *
 * Every case is expanded through templates/ by the compiler's own code
 * (k*_params + kern_expand, with the emitter's common.m4), all into one C
 * file, which is then compiled
 * once per ISA (portable, AVX2, AVX-512, and NEON with aarch64-linux-gnu-gcc
 * run under qemu-aarch64) with -std=c99 -Wall -Wextra -Wpedantic -Werror and
 * run by tests/kernels/harness.c, which puts guard pages and guard bytes
 * around every buffer and runs each kernel twice.
 *
 * The references are naive loops in double on plain NCHW data, written
 * here, with their own blocking.  The data are small
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

/* One kernel under test: its expansion, its buffers in the kernel's own
 * layout (the last one is the output), and the expected output. */
typedef struct Case {
  char name[160];
  const char *tmpl, *op;
  char *params;           /* RN_KERNEL parameters */
  char *calls;            /* or: RN_KERNEL lines (tmpl a comma list) */
  char call[64];          /* arguments of the call, from a[] and y */
  int nbuf;
  size_t n[6];
  float *buf[6];
  int inplace;            /* the input buffer that y aliases, or -1 */
  float *expect;
  double tol;             /* max |error| / max(1, max |expect|) */
  const char *note;
} Case;

#define MAXCASES 200
/* The Winograd error bounds, normwise (max |error| / max |reference|): the
 * transforms round where the direct conv does not, more so for F(4x4),
 * whose matrices hold 1/24 and 8 (measured: see BENCHMARKS.md). */
#define WINO4_TOL 4e-5
#define WINO2_TOL 4e-6
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

/* Small integers (exact sums), or reals in [-1, 1]. */
static float value(int real) {
  if (real) return (float)rnd(2001) / 1000.0f - 1.0f;
  return (float)((int)rnd(7) - 3);
}
static float *values(size_t n, int real) {
  float *p = malloc(n * sizeof *p + 1);
  for (size_t i = 0; i < n; i++) p[i] = value(real);
  return p;
}

static double act(Act a, double v) {
  switch (a) {
  case ACT_RELU: return v > 0 ? v : 0;
  case ACT_CLIP: return v < -2.5 ? -2.5 : v > 7.25 ? 7.25 : v;
  case ACT_LEAKYRELU: return v < 0 ? v * 0.125 : v;
  default: return v;
  }
}

/* plain [c][hw] -> blocked [ceil(c/ib)][hw][ib], zero padded */
static float *to_blocked(const float *x, int c, int hw, int ib) {
  size_t n = (size_t)cdiv(c, ib) * hw * ib;
  float *y = calloc(n + 1, sizeof *y);
  for (int i = 0; i < c; i++)
    for (int p = 0; p < hw; p++) y[((size_t)(i / ib) * hw + p) * ib + i % ib] = x[(size_t)i * hw + p];
  return y;
}

static Case *new_case(const char *tmpl, const char *op, const char *kname) {
  if (ncases == MAXCASES) return NULL;
  Case *k = &cases[ncases];
  memset(k, 0, sizeof *k);
  snprintf(k->name, sizeof k->name, "k%d_%s", ncases, kname);
  k->tmpl = tmpl;
  k->op = op;
  k->inplace = -1;
  ncases++;
  return k;
}

static char *params_of(void (*fn)(FILE *, const void *), const void *arg) {
  char *p = NULL;
  size_t len = 0;
  FILE *m = open_memstream(&p, &len);
  fn(m, arg);
  fclose(m);
  return p;
}

/* ---- conv --------------------------------------------------------------- */

static const KTile *conv_force;
static void conv_pre(FILE *f, const void *c) { kconv_params(f, c, KISA_ALL, conv_force); }

static void add_conv(const KConv *c, const KTile *force, int inplace, int real) {
  char kname[140];
  kconv_name(c, kname, sizeof kname);
  Case *k = new_case("k_conv_nchwc.m4", "CONVB", kname);
  if (!k) return;
  int ocp = cdiv(c->cout, 16) * 16, hw = c->oh * c->ow;
  float *x = values((size_t)c->cin * c->h * c->w, real);
  float *w = values((size_t)c->cout * c->cin * c->kh * c->kw, real);
  float *b = values((size_t)c->cout, real);
  /* the residual: y's shape, or the option-A view's tensor */
  int rv = c->res == 2, rcp = cdiv(c->rc, 16) * 16, rhw = c->rh * c->rw;
  size_t nr = rv ? (size_t)c->rc * rhw : (size_t)c->cout * hw;
  float *r = values(nr, real);
  double *ref = calloc((size_t)ocp * hw, sizeof *ref);
  for (int o = 0; o < ocp; o++)
    for (int oy = 0; oy < c->oh; oy++)
      for (int ox = 0; ox < c->ow; ox++) {
        double s = 0;
        if (o < c->cout) {
          s = b[o];
          for (int i = 0; i < c->cin; i++)
            for (int ky = 0; ky < c->kh; ky++)
              for (int kx = 0; kx < c->kw; kx++) {
                int iy = oy * c->sh - c->pt + ky, ix = ox * c->sw - c->pl + kx;
                if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w) continue;
                s += (double)x[((size_t)i * c->h + iy) * c->w + ix] *
                     w[(((size_t)o * c->cin + i) * c->kh + ky) * c->kw + kx];
              }
          if (c->res == 1) s += r[(size_t)o * hw + oy * c->ow + ox];
          if (rv && o - c->rc0 >= 0 && o - c->rc0 < c->rc)
            s += r[(size_t)(o - c->rc0) * rhw + (c->rsh + oy * c->rth) * c->rw + c->rsw + ox * c->rtw];
        }
        ref[(size_t)o * hw + oy * c->ow + ox] = act(c->act, s);
      }
  conv_force = force;
  k->params = params_of(conv_pre, c);
  k->note = force ? "forced tile" : rv ? "residual view" : "auto tile";
  snprintf(k->call, sizeof k->call, "a[0], a[1], a[2], a[3], y");
  k->nbuf = 5;
  k->buf[0] = to_blocked(x, c->cin, c->h * c->w, c->ib);
  k->n[0] = kconv_x_floats(c);
  k->n[1] = kconv_w_floats(c);
  k->buf[1] = malloc(k->n[1] * 4);
  pack_conv_nchwc(w, c->cout, c->cin, c->kh, c->kw, c->ib, kconv_wgroup(c), k->buf[1]);
  k->n[2] = pack_bias_floats(c->cout);
  k->buf[2] = malloc(k->n[2] * 4);
  pack_bias(b, c->cout, k->buf[2]);
  k->n[3] = rv ? (size_t)rcp * rhw : c->res ? (size_t)ocp * hw : 1;
  k->buf[3] = rv ? to_blocked(r, c->rc, rhw, 16) : c->res ? to_blocked(r, c->cout, hw, 16) : calloc(1, 4);
  k->n[4] = (size_t)ocp * hw;
  k->inplace = inplace && c->res == 1 ? 3 : -1;
  float *e = malloc((size_t)ocp * hw * 4);
  for (size_t i = 0; i < (size_t)ocp * hw; i++) e[i] = (float)ref[i];
  k->expect = to_blocked(e, ocp, hw, 16);
  k->tol = real ? 1e-5 : 0;
  free(e); free(ref); free(x); free(w); free(b); free(r);
}

/* Winograd F(m x m, 3x3) of conv c: the GEMM kernel and the Winograd one,
 * against the naive conv in double.  The data are reals in [-1, 1]; the
 * error bound is normwise: max |y - ref| <= tol * max |ref|. */
static void add_wino(const KConv *c, int m, double tol) {
  char kname[140], gname[200];
  kwino_name(c, m, kname, sizeof kname);
  Case *k = new_case("k_conv_nchwc.m4,k_wino_nchwc.m4", "WINO", kname);
  if (!k) return;
  int t = kwino_tiles(c, m), ocp = cdiv(c->cout, 16) * 16, hw = c->oh * c->ow;
  KConv g = kwino_gemm(c, m, t);
  snprintf(gname, sizeof gname, "%s_gemm", k->name);
  char *gp = NULL, *wp = NULL, *calls = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&gp, &len);
  kconv_params(f, &g, KISA_ALL, NULL);
  fclose(f);
  f = open_memstream(&wp, &len);
  kwino_params(f, c, m, t, gname, 1);
  fclose(f);
  f = open_memstream(&calls, &len);
  fprintf(f, "RN_KERNEL(<:CONVB:>, <:%s:>, <:1:>, <:%s:>)m4_dnl\nRN_KERNEL(<:WINO:>, <:%s:>, <:1:>, <:%s:>)m4_dnl\n",
          gname, gp, k->name, wp);
  fclose(f);
  free(gp);
  free(wp);
  k->calls = calls;
  float *x = values((size_t)c->cin * c->h * c->w, 1), *w = values((size_t)c->cout * c->cin * 9, 1);
  float *b = values((size_t)c->cout, 1), *r = values((size_t)c->cout * hw, 1);
  double *ref = calloc((size_t)ocp * hw, sizeof *ref);
  for (int o = 0; o < ocp; o++)
    for (int oy = 0; oy < c->oh; oy++)
      for (int ox = 0; ox < c->ow; ox++) {
        double sum = 0;
        if (o < c->cout) {
          sum = b[o];
          for (int i = 0; i < c->cin; i++)
            for (int ky = 0; ky < 3; ky++)
              for (int kx = 0; kx < 3; kx++) {
                int iy = oy - c->pt + ky, ix = ox - c->pl + kx;
                if (iy < 0 || iy >= c->h || ix < 0 || ix >= c->w) continue;
                sum += (double)x[((size_t)i * c->h + iy) * c->w + ix] * w[(((size_t)o * c->cin + i) * 3 + ky) * 3 + kx];
              }
          if (c->res) sum += r[(size_t)o * hw + oy * c->ow + ox];
        }
        ref[(size_t)o * hw + oy * c->ow + ox] = act(c->act, sum);
      }
  k->note = m == 4 ? "winograd F(4x4,3x3)" : "winograd F(2x2,3x3)";
  snprintf(k->call, sizeof k->call, "a[0], a[1], a[2], a[3], y, (float *)a[4]");
  k->nbuf = 6;
  k->buf[0] = to_blocked(x, c->cin, c->h * c->w, 16);
  k->n[0] = kconv_x_floats(c);
  int wg = kconv_wgroup(&g);
  k->n[1] = pack_winograd_floats(c->cout, c->cin, m, wg);
  k->buf[1] = malloc(k->n[1] * 4);
  float *tmp = malloc(sizeof(float) * (size_t)(m + 2) * (m + 2) * c->cout * c->cin);
  pack_winograd(w, c->cout, c->cin, m, wg, tmp, k->buf[1]);
  free(tmp);
  k->n[2] = pack_bias_floats(c->cout);
  k->buf[2] = malloc(k->n[2] * 4);
  pack_bias(b, c->cout, k->buf[2]);
  k->n[3] = c->res ? (size_t)ocp * hw : 1;
  k->buf[3] = c->res ? to_blocked(r, c->cout, hw, 16) : calloc(1, 4);
  k->n[4] = kwino_scratch_floats(c, m, t);
  k->buf[4] = calloc(k->n[4], 4);
  k->n[5] = (size_t)ocp * hw;
  float *e = malloc((size_t)ocp * hw * 4);
  for (size_t i = 0; i < (size_t)ocp * hw; i++) e[i] = (float)ref[i];
  k->expect = to_blocked(e, ocp, hw, 16);
  k->tol = tol;
  free(e); free(ref); free(x); free(w); free(b); free(r);
}

/* A strided 1x1 conv through k_sub_nchwc.m4: the case add_conv makes for
 * c (same data and reference), run as the stride-1 kernel on the
 * subsampled input, which gets a scratch buffer before y. */
static void add_sub(const KConv *c, int inplace) {
  add_conv(c, NULL, inplace, 0);
  Case *k = &cases[ncases - 1];
  KConv g = ksub_gemm(c);
  char gname[200], *gp = NULL, *sp = NULL, *calls = NULL;
  size_t len = 0;
  snprintf(gname, sizeof gname, "%s_gemm", k->name);
  FILE *f = open_memstream(&gp, &len);
  kconv_params(f, &g, KISA_ALL, NULL);
  fclose(f);
  f = open_memstream(&sp, &len);
  ksub_params(f, c, gname, 1);
  fclose(f);
  f = open_memstream(&calls, &len);
  fprintf(f, "RN_KERNEL(<:CONVB:>, <:%s:>, <:1:>, <:%s:>)m4_dnl\nRN_KERNEL(<:CONVSUB:>, <:%s:>, <:1:>, <:%s:>)m4_dnl\n",
          gname, gp, k->name, sp);
  fclose(f);
  free(gp);
  free(sp);
  k->calls = calls;
  k->tmpl = "k_conv_nchwc.m4,k_sub_nchwc.m4";
  k->op = "CONVSUB";
  k->note = "subsample + 1x1";
  snprintf(k->call, sizeof k->call, "a[0], a[1], a[2], a[3], y, (float *)a[4]");
  k->buf[5] = k->buf[4];
  k->n[5] = k->n[4];
  k->n[4] = ksub_scratch_floats(c);
  k->buf[4] = calloc(k->n[4], 4);
  k->nbuf = 6;
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

/* ---- pooling ------------------------------------------------------------ */

static void pool_pre(FILE *f, const void *p) { kpool_params(f, p); }

static void add_pool(const KPool *p) {
  char kname[140];
  kpool_name(p, kname, sizeof kname);
  Case *k = new_case("k_pool_nchwc.m4", "POOLB", kname);
  if (!k) return;
  int hw = p->h * p->w, ohw = p->oh * p->ow, cp = cdiv(p->c, 16) * 16;
  float *x = values((size_t)p->c * hw, 0), *e = calloc((size_t)cp * ohw, 4);
  for (int c = 0; c < cp; c++)
    for (int oy = 0; oy < p->oh; oy++)
      for (int ox = 0; ox < p->ow; ox++) {
        double m = -INFINITY, s = 0;
        int n = 0;
        for (int ky = 0; ky < p->kh; ky++)
          for (int kx = 0; kx < p->kw; kx++) {
            int iy = oy * p->sh - p->pt + ky, ix = ox * p->sw - p->pl + kx;
            if (iy < p->h + p->pb && ix < p->w + p->pr && p->count_pad) n++;
            if (iy < 0 || iy >= p->h || ix < 0 || ix >= p->w) continue;
            double v = c < p->c ? x[(size_t)c * hw + iy * p->w + ix] : 0;
            if (v > m) m = v;
            s += v;
            if (!p->count_pad) n++;
          }
        e[(size_t)c * ohw + oy * p->ow + ox] = (float)(p->max ? m : n ? s / n : 0);
      }
  k->params = params_of(pool_pre, p);
  k->note = p->max ? "max" : "avg";
  snprintf(k->call, sizeof k->call, "a[0], y");
  k->nbuf = 2;
  k->buf[0] = to_blocked(x, p->c, hw, 16);
  k->n[0] = (size_t)cp * hw;
  k->n[1] = (size_t)cp * ohw;
  k->expect = to_blocked(e, cp, ohw, 16);
  k->tol = p->max ? 0 : 1e-6;
  free(x); free(e);
}

/* ONNX pool output size, floor or ceil mode (a window starts in the image) */
static KPool pool(int c, int h, int w, int kh, int kw, int sh, int sw, int pt, int pl, int pb,
                  int pr, int ceil_mode, int max, int cip) {
  KPool p;
  memset(&p, 0, sizeof p);
  p.c = c; p.h = h; p.w = w; p.kh = kh; p.kw = kw; p.sh = sh; p.sw = sw;
  p.pt = pt; p.pl = pl; p.pb = pb; p.pr = pr; p.max = max; p.count_pad = cip;
  int nh = h + pt + pb - kh, nw = w + pl + pr - kw;
  p.oh = (ceil_mode ? cdiv(nh, sh) : nh / sh) + 1;
  p.ow = (ceil_mode ? cdiv(nw, sw) : nw / sw) + 1;
  if (ceil_mode && (p.oh - 1) * sh >= h + pt) p.oh--;
  if (ceil_mode && (p.ow - 1) * sw >= w + pl) p.ow--;
  return p;
}

/* ---- fully connected ---------------------------------------------------- */

static void fc_pre(FILE *f, const void *c) { kfc_params(f, c); }

static void add_fc(const KFc *c, int trans_b, float alpha, int inplace) {
  char kname[140];
  kfc_name(c, kname, sizeof kname);
  Case *k = new_case("k_fc.m4", "FC", kname);
  if (!k) return;
  float *x = values((size_t)c->k, 0), *w = values((size_t)c->k * c->n, 0);
  float *b = values((size_t)c->n, 0), *r = values((size_t)c->n, 0);
  k->expect = malloc((size_t)c->n * 4 + 1);
  for (int j = 0; j < c->n; j++) {
    double s = 0;
    for (int i = 0; i < c->k; i++)
      s += (double)x[i] * (trans_b ? w[(size_t)j * c->k + i] : w[(size_t)i * c->n + j]);
    s = alpha * s + b[j] + (c->res ? r[j] : 0);
    k->expect[j] = (float)act(c->act, s);
  }
  k->params = params_of(fc_pre, c);
  k->note = trans_b ? "transB" : "B";
  snprintf(k->call, sizeof k->call, "a[0], a[1], a[2], a[3], y");
  k->nbuf = 5;
  k->buf[0] = x;
  k->n[0] = (size_t)c->k;
  k->n[1] = pack_fc_floats(c->n, c->k);
  k->buf[1] = malloc(k->n[1] * 4);
  pack_fc(w, c->n, c->k, trans_b, alpha, k->buf[1]);
  k->n[2] = pack_bias_floats(c->n);
  k->buf[2] = malloc(k->n[2] * 4);
  pack_bias(b, c->n, k->buf[2]);
  k->n[3] = c->res ? (size_t)c->n : 1;
  k->buf[3] = c->res ? r : calloc(1, 4);
  if (!c->res) free(r);
  k->n[4] = (size_t)c->n;
  k->inplace = inplace && c->res ? 3 : -1;
  k->tol = 0;
  free(w); free(b);
}

/* ---- reorders ----------------------------------------------------------- */

typedef struct RArg { int c, hw, to; } RArg;
static void reorder_pre(FILE *f, const void *a) {
  const RArg *r = a;
  kreorder_params(f, r->c, r->hw, r->to);
}

static void add_reorder(int c, int hw, int to) {
  char kname[140];
  kreorder_name(c, hw, to, kname, sizeof kname);
  Case *k = new_case("k_reorder_nchwc.m4", "REORDER", kname);
  if (!k) return;
  RArg a = {c, hw, to};
  size_t nb = (size_t)cdiv(c, 16) * 16 * hw;
  float *x = values((size_t)c * hw, 1);
  k->params = params_of(reorder_pre, &a);
  k->note = to ? "to blocked" : "to plain";
  snprintf(k->call, sizeof k->call, "a[0], y");
  k->nbuf = 2;
  if (to) {
    k->buf[0] = x;
    k->n[0] = (size_t)c * hw;
    k->n[1] = nb;
    k->expect = to_blocked(x, c, hw, 16);
  } else {
    k->buf[0] = to_blocked(x, c, hw, 16);
    k->n[0] = nb;
    k->n[1] = (size_t)c * hw;
    k->expect = x;
  }
  k->tol = 0;
}

static void build_cases(void) {
  const char *seed = getenv("RN_KERNEL_SEED");
  if (seed) rng = strtoull(seed, NULL, 0);
  /* 1. conv, random shapes */
  for (int n = 0; n < 28;) {
    int ib = rnd(4) == 0 ? 1 : 16;
    int cin = ib == 1 ? 1 + rnd(4) : 1 + rnd(40), cout = 1 + rnd(n % 5 == 0 ? 80 : 40);
    int h = 1 + rnd(20), w = 1 + rnd(20), kh = 1 + rnd(n % 7 == 0 ? 7 : 5), kw = 1 + rnd(5);
    int sh = 1 + rnd(3), sw = 1 + rnd(3);
    int pt = rnd(4), pl = rnd(4), pb = rnd(4), pr = rnd(4);
    if (h + pt + pb < kh || w + pl + pr < kw) continue;
    KConv c = conv(ib, cin, cout, h, w, kh, kw, sh, sw, pt, pl, pb, pr, rnd(2), (Act)rnd(4));
    c.wg = 1 + rnd(4);
    add_conv(&c, NULL, rnd(3) == 0, n % 8 == 3);
    n++;
  }
  /* 2. conv, forced tiles of 2 blocks x 4 pixels, one or two input blocks
   * per chunk (partial sums pass through y): widths below, equal to, above
   * and a multiple of the tile, channel blocks likewise; 3x3 pad 1 (edges
   * on both sides) and 1x1 (none); the weight prefetch forced on (1 or 2
   * lines every 1-3 iterations: it must not change a result) */
  static const int widths[] = {3, 4, 5, 8};
  static const int couts[] = {16, 32, 53};
  for (size_t i = 0; i < sizeof widths / sizeof *widths; i++)
    for (size_t j = 0; j < sizeof couts / sizeof *couts; j++) {
      KTile t = {2, 4, (i + j) % 2 ? 1 : 2, 0, 0, 0, (int)(i + j) % 3, 1 + (int)i % 3};
      KConv c = conv(16, 40, couts[j], 3, widths[i], 3, 3, 1, 1, 1, 1, 1, 1, (int)(i + j) % 2,
                     ACT_RELU);
      c.wg = j == 2 ? 4 : 2;
      add_conv(&c, &t, (int)j == 1, 0);
      if (j == 0) {
        KConv d = conv(16, 33, couts[i % 3], 2, widths[i], 1, 1, 1, 2, 0, 0, 0, 0, 1, ACT_NONE);
        add_conv(&d, &t, 0, 0);
      }
    }
  /* 3. conv, the shape classes of ResNet-18/50 and the CIFAR ResNets
   * (reduced where the class does not depend on the size) */
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
    add_conv(&s[i], NULL, s[i].res && i % 2 == 0, i == 2 || i == 7);
  /* conv with the option-A shortcut of the CIFAR ResNets read through its
   * view: r has half the channels at twice the size, channel offset 8 (not
   * a block boundary), or other offsets, starts and steps; forced tiles
   * too, so the view meets partial sums.  Cases 6 to 8: offset and count
   * multiples of 16 (whole blocks of r or zeros, read as vectors: 32 -> 64
   * channels as in the CIFAR nets, zeros above, a view that skips r's
   * first block) */
  for (int i = 0; i < 9; i++) {
    static const int brc[] = {32, 16, 48}, brc0[] = {16, 0, -16};
    KConv c = conv(16, 16 + 8 * i, i == 6 ? 64 : 32, 8 + i, 8 + i, 3, 3, 1, 1, 1, 1, 1, 1, 2,
                   i % 2 ? ACT_RELU : ACT_NONE);
    c.rc = i >= 6 ? brc[i - 6] : i == 5 ? 40 : 16 + 3 * i;
    c.rc0 = i >= 6 ? brc0[i - 6] : i == 0 ? 8 : i == 1 ? 0 : i == 2 ? -5 : 3 * i;
    c.rth = c.rtw = 1 + i % 3;
    c.rsh = i % 2;
    c.rsw = i / 2 % 2;
    c.rh = c.rsh + (c.oh - 1) * c.rth + 1 + i % 2;
    c.rw = c.rsw + (c.ow - 1) * c.rtw + 1;
    KTile t = {1, 3, 1, 0, 0, 0, 0, 0};
    add_conv(&c, i >= 4 && i != 6 ? &t : NULL, 0, i == 3);
  }
  /* 3a. strided 1x1 convs as subsample + stride 1: ResNet's downsampling
   * (stride 2, odd and even sizes), unequal strides, a residual in place,
   * odd channel counts */
  {
    KConv d[] = {
      conv(16, 64, 128, 14, 14, 1, 1, 2, 2, 0, 0, 0, 0, 0, ACT_NONE),
      conv(16, 40, 53, 9, 11, 1, 1, 2, 3, 0, 0, 0, 0, 1, ACT_RELU),
      conv(16, 17, 32, 7, 7, 1, 1, 3, 1, 0, 0, 0, 0, 1, ACT_NONE),
      conv(16, 256, 512, 6, 6, 1, 1, 2, 2, 0, 0, 0, 0, 0, ACT_RELU),
    };
    for (size_t i = 0; i < sizeof d / sizeof *d; i++) {
      if (!ksub_applies(&d[i])) abort();   /* the cases are of its class */
      add_sub(&d[i], i == 1);
    }
  }
  /* 3b. Winograd: F(4x4) and F(2x2) on sizes below, equal to, above and a
   * multiple of the tile (edge tiles cut), odd channels, several chunks of
   * tiles, residual and activations */
  {
    static const int wsz[][8] = {{16, 16, 8, 8, 1, 1, 1, 1},    {20, 33, 7, 9, 1, 1, 1, 1},
                                 {32, 16, 13, 12, 1, 1, 1, 1},  {64, 64, 14, 14, 1, 1, 1, 1},
                                 {16, 48, 4, 5, 2, 0, 1, 2},    {48, 17, 3, 2, 1, 1, 0, 1},
                                 {32, 32, 30, 28, 1, 1, 1, 1}};
    for (int i = 0; i < 7; i++)
      for (int m = 2; m <= 4; m += 2) {
        const int *q = wsz[i];
        KConv c = conv(16, q[0], q[1], q[2], q[3], 3, 3, 1, 1, q[4], q[5], q[6], q[7], i % 2, (Act)(i % 4));
        add_wino(&c, m, m == 4 ? WINO4_TOL : WINO2_TOL);
      }
  }
  /* 4. pooling: ResNet maxpool, ceil mode, asymmetric pads, averages with
   * and without the pads counted, global pools */
  KPool p[] = {
    pool(64, 24, 24, 3, 3, 2, 2, 1, 1, 1, 1, 0, 1, 0),
    pool(20, 9, 11, 3, 2, 2, 3, 1, 0, 2, 1, 1, 1, 0),
    pool(33, 7, 8, 2, 3, 1, 2, 0, 1, 1, 0, 0, 0, 0),
    pool(33, 7, 8, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 1),
    pool(5, 6, 5, 2, 2, 2, 2, 0, 0, 0, 0, 1, 0, 1),
    pool(512, 7, 7, 7, 7, 1, 1, 0, 0, 0, 0, 0, 0, 0),
    pool(40, 8, 3, 8, 3, 1, 1, 0, 0, 0, 0, 0, 1, 0),
    /* no window inside the image (no interior rows or columns), and an
     * interior of one column between wide borders */
    pool(17, 3, 4, 5, 5, 1, 2, 2, 2, 2, 2, 0, 0, 1),
    pool(16, 5, 7, 3, 5, 2, 1, 2, 3, 2, 3, 0, 0, 0),
    pool(48, 14, 13, 3, 3, 2, 2, 1, 1, 1, 1, 1, 0, 0),
  };
  for (size_t i = 0; i < sizeof p / sizeof *p; i++) add_pool(&p[i]);
  /* 5. fully connected: N below, equal to and above the 4-block step, odd K */
  static const int fk[] = {64, 17, 512, 1};
  static const int fn[] = {10, 64, 1000, 70};
  for (int i = 0; i < 4; i++) {
    KFc f = {fk[i], fn[i], i % 2, (Act)(i % 4), -2.5f, 7.25f, 0.125f};
    add_fc(&f, i != 1, i == 2 ? 0.5f : 1.0f, i == 3);
  }
  /* 6. reorders */
  add_reorder(3, 50, 1);
  add_reorder(64, 9, 1);
  add_reorder(21, 5, 0);
  add_reorder(512, 1, 0);
}

static void write_case(FILE *f, const Case *k) {
  int32_t hdr[3 + 6] = {0, k->nbuf, k->inplace};
  for (int i = 0; i < k->nbuf; i++) hdr[3 + i] = (int32_t)k->n[i];
  fwrite(hdr, 4, 3 + (size_t)k->nbuf, f);
  for (int i = 0; i < k->nbuf - 1; i++) fwrite(k->buf[i], 4, k->n[i], f);
  /* the output starts as NaN: the kernel must write all of it */
  float nan = NAN;
  for (size_t i = 0; i < k->n[k->nbuf - 1]; i++) fwrite(&nan, 4, 1, f);
}

static int suite_init(void) {
  build_cases();
  dir = rn_tmpdir("kernels");
  char path[4200];
  snprintf(path, sizeof path, "%s/kern.c", dir);
  FILE *f = fopen(path, "w");
  if (!f) return -1;
  fprintf(f, "/* kernels under test */\n#include <math.h>\n#include <stddef.h>\n");
  for (int i = 0; i < ncases; i++)
    if (cases[i].calls ? kern_expand_calls(f, rn_source_path("templates"), cases[i].tmpl, cases[i].calls)
                       : kern_expand(f, rn_source_path("templates"), cases[i].tmpl, cases[i].op, cases[i].name,
                                     cases[i].params)) {
      fclose(f);
      return -1;
    }
  fprintf(f, "struct kcase_fn { const char *name; void (*run)(const float *const *a, float *y); };\n");
  for (int i = 0; i < ncases; i++)
    fprintf(f, "static void run%d(const float *const *a, float *y) { %s__simd_1(%s); }\n", i,
            cases[i].name, cases[i].call);
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
    for (int j = 0; j < cases[i].nbuf; j++) free(cases[i].buf[j]);
    free(cases[i].expect);
    free(cases[i].params);
    free(cases[i].calls);
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
    size_t ny = k->n[k->nbuf - 1];
    if ((off + ny) * 4 > len) { CU_FAIL("short output"); break; }
    const float *y = out + off;
    double maxref = 0, err = 0;
    size_t where = 0;
    for (size_t j = 0; j < ny; j++) {
      double a = y[j], b = k->expect[j];
      if (fabs(b) > maxref) maxref = fabs(b);
      double d = a == b ? 0 : fabs(a - b);
      if (d != d) d = INFINITY;
      if (d > err) { err = d; where = j; }
    }
    double tol = k->tol * (maxref > 1 ? maxref : 1);
    if (k->calls && getenv("RN_KERNEL_VERBOSE"))
      fprintf(stderr, "%s: %s: max error %.3g of max |ref| %.3g (%.3g)\n", tag, k->name, err, maxref,
              err / (maxref > 1 ? maxref : 1));
    if (err > tol && nbad++ < 10)
      fprintf(stderr, "%s: %s (%s): max error %g at element %zu (tol %g)\n", tag, k->name, k->note,
              err, where, tol);
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
  CU_add_test(s, "portable C", test_scalar);
  CU_add_test(s, "AVX2", test_avx2);
  CU_add_test(s, "AVX-512", test_avx512);
  CU_add_test(s, "NEON under qemu", test_neon);
  CU_add_test(s, "clang -Werror", test_clang);
  return rn_run_tests();
}
