/*
 * eval.c - the reference evaluator: one naive kernel per op.
 *
 * These kernels define what every op of the IR computes.  The folder runs
 * them on constants (eval_node), the tests run whole graphs through them
 * (eval_graph) to check the optimiser's passes and the emitted C against an
 * independent reference, so they are written to be obviously right first:
 *
 *   - float math is done in double and rounded once to the output dtype
 *     (float16/bfloat16 round to nearest even, NaN and Inf kept);
 *   - integer math is exact in 64 bits and wraps to the output width;
 *     integer Div truncates toward zero, and x/0 gives 0 (never a trap);
 *   - float -> integer conversion truncates and saturates (NaN -> 0), so no
 *     input value is undefined behaviour.
 *
 * Shapes come from shape inference: a kernel reads its operands' dims from
 * the Tensor structs it is given and their values from Tensor.data.  The
 * evaluator gives kernels copies of the graph's tensors whose data points
 * at its own buffers, so the graph is never touched.
 *
 * Speed still matters (ResNet-18 through eval_graph in seconds): Conv
 * accumulates one output plane at a time in a double buffer, with the loop
 * over output columns innermost, so the hot loop is a contiguous
 * multiply-add that the compiler vectorises; Gemm and MatMul accumulate one
 * output row at a time the same way.
 *
 * Kernels see plain tensors only: eval_graph converts operands in the
 * blocked layout (LAYOUT_NCHWC) to plain copies around each kernel.
 *
 * Kernels allocate scratch memory through scr_alloc(); an error anywhere
 * (ir_fail longjmps out) is caught by the drivers, which free the scratch
 * and their buffers, then re-raise it with ir_rethrow().
 */
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "shape.h"
#include "shape_int.h"

#define I64 PRId64

/* ---- scratch memory ---------------------------------------------------- */

#define MAX_SCRATCH 16
static void *scratch[MAX_SCRATCH];
static int nscratch;

static void *scr_alloc(size_t n) {
  IR_ASSERT(nscratch < MAX_SCRATCH);
  void *p = malloc(n ? n : 1);
  if (!p) ir_fail("out of memory in the reference evaluator (%zu bytes)", n);
  scratch[nscratch++] = p;
  return p;
}

static void scr_free_all(void) {
  while (nscratch > 0) free(scratch[--nscratch]);
}

/* ---- element access ---------------------------------------------------- */

static double f16_to_f64(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  double v;
  if (e == 0) v = ldexp(m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = ldexp(m + 1024, e - 25);
  return (h & 0x8000) ? -v : v;
}

static double bf16_to_f64(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* Rounds x to the nearest value of a binary format with mbits explicit
 * mantissa bits and ebits exponent bits (IEEE layout), ties to even, and
 * returns its bit pattern.  Subnormals, overflow to Inf and NaN included.
 * x is rounded once, from double, so there is no double rounding for
 * float32 or float64 sources. */
static uint32_t f64_to_small(double x, int mbits, int ebits) {
  int bias = (1 << (ebits - 1)) - 1, emaxf = (1 << ebits) - 1;
  uint32_t sign = signbit(x) ? (uint32_t)1 << (mbits + ebits) : 0;
  uint32_t inf = (uint32_t)emaxf << mbits;
  if (isnan(x)) return sign | inf | ((uint32_t)1 << (mbits - 1));
  double a = fabs(x);
  if (isinf(a)) return sign | inf;
  if (a == 0) return sign;
  int e;
  frexp(a, &e);              /* a = f * 2^e, f in [0.5, 1) */
  int E = e - 1, emin = 1 - bias;
  if (E > bias) return sign | inf;
  if (E < emin) E = emin;    /* subnormal: fixed quantum 2^(emin-mbits) */
  double q = nearbyint(ldexp(a, mbits - E));   /* exact scaling, then RNE */
  uint32_t mi = (uint32_t)q;
  /* mi in [2^mbits, 2^(mbits+1)] for normals (a carry bumps the exponent
   * through the addition), [0, 2^mbits] in the subnormal range */
  uint32_t bits = (uint32_t)(E - emin) << mbits;
  bits += mi;
  if (bits >= inf) bits = inf;
  return sign | bits;
}

/* Element i as a double (integers exactly up to 2^53). */
static double ldf(const Tensor *t, int64_t i) {
  const char *p = (const char *)t->data;
  switch (t->dtype) {
  case DT_FLOAT: { float f; memcpy(&f, p + 4 * i, 4); return f; }
  case DT_DOUBLE: { double d; memcpy(&d, p + 8 * i, 8); return d; }
  case DT_FLOAT16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return f16_to_f64(h); }
  case DT_BFLOAT16: { uint16_t h; memcpy(&h, p + 2 * i, 2); return bf16_to_f64(h); }
  case DT_UINT64: { uint64_t v; memcpy(&v, p + 8 * i, 8); return (double)v; }
  default: return (double)ir_get_i64(t, i);
  }
}

/* Element i as int64 (sign- or zero-extended; uint64 as its bit pattern). */
static int64_t ldi(const Tensor *t, int64_t i) { return ir_get_i64(t, i); }

/* Stores the low bits of v (integer dtypes: wraps to the width). */
static void sti(Tensor *t, int64_t i, int64_t v) {
  char *p = (char *)t->data;
  uint64_t u = (uint64_t)v;
  switch (dtype_size(t->dtype)) {
  case 1: { uint8_t w = (uint8_t)u; if (t->dtype == DT_BOOL) w = u != 0; memcpy(p + i, &w, 1); break; }
  case 2: { uint16_t w = (uint16_t)u; memcpy(p + 2 * i, &w, 2); break; }
  case 4: { uint32_t w = (uint32_t)u; memcpy(p + 4 * i, &w, 4); break; }
  case 8: memcpy(p + 8 * i, &u, 8); break;
  default: ir_die("sti: bad dtype");
  }
}

static int dt_unsigned(DType t) {
  return t == DT_UINT8 || t == DT_UINT16 || t == DT_UINT32 || t == DT_UINT64 || t == DT_BOOL;
}

/* The range of an integer dtype, for saturating float -> int. */
static void int_range(DType t, double *lo, double *hi) {
  switch (t) {
  case DT_INT8: *lo = -128; *hi = 127; break;
  case DT_UINT8: *lo = 0; *hi = 255; break;
  case DT_INT16: *lo = -32768; *hi = 32767; break;
  case DT_UINT16: *lo = 0; *hi = 65535; break;
  case DT_INT32: *lo = -2147483648.0; *hi = 2147483647.0; break;
  case DT_UINT32: *lo = 0; *hi = 4294967295.0; break;
  case DT_UINT64: *lo = 0; *hi = 18446744073709551615.0; break;
  default: *lo = -9223372036854775808.0; *hi = 9223372036854775807.0; break;
  }
}

/* Stores a double: float dtypes round to nearest even; integer dtypes
 * truncate toward zero and saturate (NaN -> 0); bool is v != 0. */
static void stf(Tensor *t, int64_t i, double v) {
  char *p = (char *)t->data;
  switch (t->dtype) {
  case DT_FLOAT: { float f = (float)v; memcpy(p + 4 * i, &f, 4); return; }
  case DT_DOUBLE: memcpy(p + 8 * i, &v, 8); return;
  case DT_FLOAT16: { uint16_t h = (uint16_t)f64_to_small(v, 10, 5); memcpy(p + 2 * i, &h, 2); return; }
  case DT_BFLOAT16: { uint16_t h = (uint16_t)f64_to_small(v, 7, 8); memcpy(p + 2 * i, &h, 2); return; }
  case DT_BOOL: { uint8_t b = v != 0; p[i] = (char)b; return; }
  default: break;
  }
  double lo, hi;
  int_range(t->dtype, &lo, &hi);
  if (v != v) v = 0;
  v = trunc(v);
  if (t->dtype == DT_UINT64) {
    /* 2^64-1 is not a double: everything >= 2^64 saturates */
    uint64_t u = v <= 0 ? 0 : v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)v;
    memcpy(p + 8 * i, &u, 8);
    return;
  }
  int64_t w;
  if (v <= lo) w = (int64_t)lo;
  else if (v >= hi) w = t->dtype == DT_INT64 ? INT64_MAX : (int64_t)hi;
  else w = (int64_t)v;
  sti(t, i, w);
}

/* The whole tensor as doubles (scratch). */
static double *to_f64(const Tensor *t) {
  int64_t n = ir_numel(t);
  double *p = scr_alloc(sizeof(double) * (size_t)n);
  if (t->dtype == DT_FLOAT) {
    const float *f = t->data;
    for (int64_t i = 0; i < n; i++) p[i] = f[i];
  } else {
    for (int64_t i = 0; i < n; i++) p[i] = ldf(t, i);
  }
  return p;
}

static Tensor *opt(const Node *n, Tensor **in, int i) { return i < n->nin ? in[i] : NULL; }

static void row_major_strides(int rank, const int64_t *dims, int64_t *st) {
  int64_t s = 1;
  for (int d = rank - 1; d >= 0; d--) { st[d] = s; s *= dims[d]; }
}

/* Element strides of t seen as broadcast to the shape (r, dims): 0 where t
 * has no dimension or a dimension of 1. */
static void bcast_strides(const Tensor *t, int r, int64_t *st) {
  int64_t s = 1;
  for (int d = r - 1, k = t->rank - 1; d >= 0; d--, k--) {
    st[d] = (k >= 0 && t->dims[k] != 1) ? s : 0;
    if (k >= 0) s *= t->dims[k];
  }
}

/* Steps the row-major counter cnt over dims and moves the offsets of up
 * to two operands with their strides. */
static void step2(int r, const int64_t *dims, int64_t *cnt, const int64_t *sa, int64_t *oa,
                  const int64_t *sb, int64_t *ob) {
  for (int d = r - 1; d >= 0; d--) {
    if (++cnt[d] < dims[d]) { *oa += sa[d]; if (sb) *ob += sb[d]; return; }
    *oa -= sa[d] * (dims[d] - 1);
    if (sb) *ob -= sb[d] * (dims[d] - 1);
    cnt[d] = 0;
  }
}

/* The fused epilogue of Conv and Gemm. */
static double act(const Attrs *a, double v) {
  switch (a->act) {
  case ACT_NONE: return v;
  case ACT_RELU: return v > 0 ? v : 0;   /* NaN -> 0, as max(x, 0) */
  case ACT_CLIP: return v < a->act_lo ? a->act_lo : v > a->act_hi ? a->act_hi : v;
  case ACT_LEAKYRELU: return v < 0 ? v * a->act_alpha : v;
  }
  return v;
}

/* ---- convolution and pooling -------------------------------------------- */

/* Spatial geometry seen as 3-D: 1-D and 2-D ops get leading dims of 1. */
typedef struct Geo {
  int64_t in[3], out[3], k[3], s[3], d[3], pb[3], pe[3];
} Geo;

static void geo(const Attrs *a, const Tensor *x, const Tensor *y, Geo *g) {
  int nsp = x->rank - 2;
  for (int j = 0; j < 3; j++) {
    int i = j - (3 - nsp);
    if (i >= 0) {
      g->in[j] = x->dims[2 + i]; g->out[j] = y->dims[2 + i];
      g->k[j] = a->kernel[i]; g->s[j] = a->stride[i]; g->d[j] = a->dilation[i];
      g->pb[j] = a->pad_begin[i]; g->pe[j] = a->pad_end[i];
    } else {
      g->in[j] = g->out[j] = g->k[j] = g->s[j] = g->d[j] = 1;
      g->pb[j] = g->pe[j] = 0;
    }
  }
}

/* The second output's activation (Attrs.post_act). */
static double post_act(const Attrs *a, double v) {
  Attrs p = *a;
  p.act = a->post_act;
  p.act_lo = a->post_lo;
  p.act_hi = a->post_hi;
  p.act_alpha = a->post_alpha;
  return act(&p, v);
}

/* Index in R of the residual of output element o (flat over the spatial
 * dims) of image nb, channel m, or -1 for a zero: R has the output's shape,
 * or is read through the option-A view (Attrs.res_view in ir.h):
 *   R[nb][m - res_c0][res_start[i] + p[i]*res_step[i]...]. */
static int64_t residual_index(const Attrs *a, const Tensor *R, const Tensor *Y, int64_t nb,
                              int64_t m, int64_t o) {
  int64_t M = Y->dims[1], osz = ir_numel(Y) / (Y->dims[0] * M);
  if (!a->res_view) return (nb * M + m) * osz + o;
  int nsp = Y->rank - 2;
  int64_t c = m - a->res_c0, RC = R->dims[1];
  if (c < 0 || c >= RC) return -1;
  int64_t p[IR_MAX_SP], idx = nb * RC + c;
  for (int i = nsp - 1; i >= 0; i--) {      /* o -> output position p */
    p[i] = o % Y->dims[2 + i];
    o /= Y->dims[2 + i];
  }
  for (int i = 0; i < nsp; i++) idx = idx * R->dims[2 + i] + a->res_start[i] + p[i] * a->res_step[i];
  return idx;
}

/* acc[ow] += w * x[ow*stride + off] for ow in [lo, hi): the hot loop of
 * Conv.  Stride 1 is unrolled with restrict pointers so the compiler
 * vectorises it at -O2. */
static void conv_row(double *restrict acc, const double *restrict x, int64_t off, double w,
                     int64_t stride, int64_t lo, int64_t hi) {
  int64_t i = lo;
  if (stride == 1) {
    for (; i + 4 <= hi; i += 4) {
      acc[i] += w * x[i + off];
      acc[i + 1] += w * x[i + 1 + off];
      acc[i + 2] += w * x[i + 2 + off];
      acc[i + 3] += w * x[i + 3 + off];
    }
    for (; i < hi; i++) acc[i] += w * x[i + off];
  } else {
    for (; i < hi; i++) acc[i] += w * x[i * stride + off];
  }
}

/* Y[n,m,o] = act(sum_{c in group, k} W[m,c,k] X[n,c,o*s-p+k*d] + B[m] + R[n,m,o])
 * and, with a second output (Attrs.post_act), Y2 = post_act(Y*S[m] + T[m]) */
static void k_conv(const Node *n, Tensor **in, Tensor **out) {
  const Attrs *a = &n->a;
  Tensor *X = in[0], *W = in[1], *B = opt(n, in, 2), *R = opt(n, in, 3), *Y = out[0];
  Tensor *Y2 = n->nout > 1 ? out[1] : NULL, *S = opt(n, in, 4), *T = opt(n, in, 5);
  if (Y2 && (!S || !T)) ir_fail_node(n, "a second output needs a scale and a shift (in[4], in[5])");
  Geo g;
  geo(a, X, Y, &g);
  int64_t N = X->dims[0], C = X->dims[1], M = Y->dims[1], G = a->group;
  int64_t Cg = C / G, Mg = M / G;
  int64_t isz = g.in[0] * g.in[1] * g.in[2], osz = g.out[0] * g.out[1] * g.out[2];
  int64_t ksz = g.k[0] * g.k[1] * g.k[2], KW = g.k[2], OW = g.out[2];
  double *x = to_f64(X), *w = to_f64(W), *b = B ? to_f64(B) : NULL;
  double *acc = scr_alloc(sizeof(double) * (size_t)osz);
  int64_t *lo = scr_alloc(sizeof(int64_t) * (size_t)KW), *hi = scr_alloc(sizeof(int64_t) * (size_t)KW);
  /* output columns whose input column is inside the image, per kernel column */
  for (int64_t kw = 0; kw < KW; kw++) {
    int64_t l = 0, h = OW, off = kw * g.d[2] - g.pb[2];
    while (l < OW && l * g.s[2] + off < 0) l++;
    while (h > l && (h - 1) * g.s[2] + off >= g.in[2]) h--;
    lo[kw] = l;
    hi[kw] = h;
  }
  for (int64_t nb = 0; nb < N; nb++)
    for (int64_t m = 0; m < M; m++) {
      int64_t grp = m / Mg;
      memset(acc, 0, sizeof(double) * (size_t)osz);
      for (int64_t cc = 0; cc < Cg; cc++) {
        const double *xc = x + (nb * C + grp * Cg + cc) * isz;
        const double *wm = w + (m * Cg + cc) * ksz;
        for (int64_t kd = 0; kd < g.k[0]; kd++)
          for (int64_t od = 0; od < g.out[0]; od++) {
            int64_t iz = od * g.s[0] - g.pb[0] + kd * g.d[0];
            if (iz < 0 || iz >= g.in[0]) continue;
            for (int64_t kh = 0; kh < g.k[1]; kh++)
              for (int64_t oh = 0; oh < g.out[1]; oh++) {
                int64_t iy = oh * g.s[1] - g.pb[1] + kh * g.d[1];
                if (iy < 0 || iy >= g.in[1]) continue;
                const double *xrow = xc + (iz * g.in[1] + iy) * g.in[2];
                double *arow = acc + (od * g.out[1] + oh) * OW;
                for (int64_t kw = 0; kw < KW; kw++)
                  conv_row(arow, xrow, kw * g.d[2] - g.pb[2], wm[(kd * g.k[1] + kh) * KW + kw],
                           g.s[2], lo[kw], hi[kw]);
              }
          }
      }
      int64_t base = (nb * M + m) * osz;
      for (int64_t o = 0; o < osz; o++) {
        double v = acc[o] + (b ? b[m] : 0);
        if (R) {
          int64_t ri = residual_index(a, R, Y, nb, m, o);
          if (ri >= 0) v += ldf(R, ri);
        }
        stf(Y, base + o, act(a, v));
        if (Y2) stf(Y2, base + o, post_act(a, ldf(Y, base + o) * ldf(S, m) + ldf(T, m)));
      }
    }
}

/* MaxPool (with optional Indices) and AveragePool.  A window position is
 * "in the image" in [0, in), "in the padding" in [-pad_begin, in+pad_end);
 * positions beyond that (the overhang of ceil_mode) never count.
 * count_include_pad=1 divides by the positions in the padding range,
 * count_include_pad=0 by the positions in the image.  Per dimension, the
 * kernel taps landing in the image form a range [klo, khi), computed
 * directly, so a hostile kernel or padding of 10^9 costs nothing. */
static void tap_range(int64_t start, int64_t k, int64_t d, int64_t in, int64_t pe,
                      int64_t *klo, int64_t *khi, int64_t *npad) {
  /* taps t in [0,k): position start + t*d; start >= -pad_begin */
  int64_t lo = start >= 0 ? 0 : (-start - 1) / d + 1;
  int64_t hi = start >= in ? 0 : (in - 1 - start) / d + 1;
  int64_t hp = start >= in + pe ? 0 : (in + pe - 1 - start) / d + 1;
  if (hi > k) hi = k;
  if (hp > k) hp = k;
  *klo = lo < hi ? lo : hi;
  *khi = hi;
  *npad = hp;
}

static void k_pool(const Node *n, Tensor **in, Tensor **out) {
  const Attrs *a = &n->a;
  Tensor *X = in[0], *Y = out[0], *I = n->nout > 1 ? out[1] : NULL;
  int ismax = n->op == OP_MAXPOOL;
  Geo g;
  geo(a, X, Y, &g);
  int64_t NC = X->dims[0] * X->dims[1];
  int64_t isz = g.in[0] * g.in[1] * g.in[2], osz = g.out[0] * g.out[1] * g.out[2];
  double *x = to_f64(X);
  for (int64_t nc = 0; nc < NC; nc++) {
    const double *xc = x + nc * isz;
    int64_t o = nc * osz;
    for (int64_t od = 0; od < g.out[0]; od++)
      for (int64_t oh = 0; oh < g.out[1]; oh++)
        for (int64_t ow = 0; ow < g.out[2]; ow++, o++) {
          int64_t st[3] = {od * g.s[0] - g.pb[0], oh * g.s[1] - g.pb[1], ow * g.s[2] - g.pb[2]};
          int64_t lo[3], hi[3], np[3];
          for (int j = 0; j < 3; j++) tap_range(st[j], g.k[j], g.d[j], g.in[j], g.pe[j], &lo[j], &hi[j], &np[j]);
          double best = -INFINITY, sum = 0;
          int64_t arg = -1;
          for (int64_t kd = lo[0]; kd < hi[0]; kd++)
            for (int64_t kh = lo[1]; kh < hi[1]; kh++)
              for (int64_t kw = lo[2]; kw < hi[2]; kw++) {
                int64_t at = ((st[0] + kd * g.d[0]) * g.in[1] + st[1] + kh * g.d[1]) * g.in[2] +
                             st[2] + kw * g.d[2];
                double v = xc[at];
                if (ismax) {
                  if (arg < 0 || v > best) { best = v; arg = at; }
                } else {
                  sum += v;
                }
              }
          if (ismax) {
            stf(Y, o, best);
            if (I) {
              /* flat index into X; storage_order 1 counts the spatial
               * position column-major (first spatial dim fastest) */
              int64_t idx = 0;
              if (arg >= 0) {
                int64_t z = arg / (g.in[1] * g.in[2]), y = arg / g.in[2] % g.in[1], xx = arg % g.in[2];
                int64_t sp = a->storage_order ? xx * g.in[1] * g.in[0] + y * g.in[0] + z : arg;
                idx = nc * isz + sp;
              }
              sti(I, o, idx);
            }
          } else {
            int64_t cnt = a->count_include_pad ? np[0] * np[1] * np[2]
                                               : (hi[0] - lo[0]) * (hi[1] - lo[1]) * (hi[2] - lo[2]);
            stf(Y, o, cnt ? sum / (double)cnt : NAN);
          }
        }
  }
}

static void k_global_pool(const Node *n, Tensor **in, Tensor **out) {
  Tensor *X = in[0], *Y = out[0];
  int64_t NC = X->dims[0] * X->dims[1], sp = 1;
  for (int i = 2; i < X->rank; i++) sp *= X->dims[i];
  for (int64_t nc = 0; nc < NC; nc++) {
    double acc = n->op == OP_GLOBALMAXPOOL ? -INFINITY : 0;
    for (int64_t i = 0; i < sp; i++) {
      double v = ldf(X, nc * sp + i);
      if (n->op == OP_GLOBALMAXPOOL) { if (v > acc || v != v) acc = v; }
      else acc += v;
    }
    stf(Y, nc, n->op == OP_GLOBALMAXPOOL ? acc : sp ? acc / (double)sp : NAN);
  }
}

/* Y[n,c,...] = (X - mean[c]) / sqrt(var[c] + eps) * scale[c] + B[c] */
/* with the activation fused by the fuse pass (Attrs.act) */
static void k_batchnorm(const Node *n, Tensor **in, Tensor **out) {
  Tensor *X = in[0], *Y = out[0];
  int64_t C = X->dims[1], inner = 1, total = ir_numel(X);
  for (int i = 2; i < X->rank; i++) inner *= X->dims[i];
  for (int64_t c = 0; c < C; c++) {
    double k = ldf(in[1], c) / sqrt(ldf(in[4], c) + n->a.epsilon);
    double m = ldf(in[3], c), b = ldf(in[2], c);
    for (int64_t i = c * inner; i < total; i += C * inner)
      for (int64_t j = i; j < i + inner; j++) stf(Y, j, act(&n->a, (ldf(X, j) - m) * k + b));
  }
}

/* ---- elementwise ------------------------------------------------------- */

static void k_unary(const Node *n, Tensor **in, Tensor **out) {
  Tensor *X = in[0], *Y = out[0];
  int64_t total = ir_numel(X);
  double al = n->a.alpha, be = n->a.beta;
  if (n->op == OP_RELU && !dtype_is_float(X->dtype)) {
    for (int64_t i = 0; i < total; i++) {
      int64_t v = ldi(X, i);
      sti(Y, i, v > 0 ? v : 0);
    }
    return;
  }
  for (int64_t i = 0; i < total; i++) {
    double v = ldf(X, i), r = v;
    switch (n->op) {
    case OP_RELU: r = v > 0 ? v : v == v ? 0 : v; break;
    case OP_LEAKYRELU: r = v < 0 ? al * v : v; break;
    case OP_SIGMOID: r = v >= 0 ? 1 / (1 + exp(-v)) : exp(v) / (1 + exp(v)); break;
    case OP_HARDSIGMOID: r = fmax(0, fmin(1, al * v + be)); if (v != v) r = v; break;
    case OP_HARDSWISH: r = v * fmax(0, fmin(1, v / 6 + 0.5)); break;
    default: ir_die("k_unary: not a unary op");
    }
    stf(Y, i, r);
  }
}

/* y = min(max(x, lo), hi), in the input's own type */
static void k_clip(const Node *n, Tensor **in, Tensor **out) {
  Tensor *X = in[0], *Y = out[0], *L = opt(n, in, 1), *H = opt(n, in, 2);
  int64_t total = ir_numel(X);
  if (dtype_is_float(X->dtype)) {
    double lo = L ? ldf(L, 0) : -INFINITY, hi = H ? ldf(H, 0) : INFINITY;
    for (int64_t i = 0; i < total; i++) {
      double v = ldf(X, i);
      if (v < lo) v = lo;
      if (v > hi) v = hi;
      stf(Y, i, v);
    }
  } else if (X->dtype == DT_UINT64) {
    uint64_t lo = L ? (uint64_t)ldi(L, 0) : 0, hi = H ? (uint64_t)ldi(H, 0) : UINT64_MAX;
    for (int64_t i = 0; i < total; i++) {
      uint64_t v = (uint64_t)ldi(X, i);
      if (v < lo) v = lo;
      if (v > hi) v = hi;
      sti(Y, i, (int64_t)v);
    }
  } else {
    int64_t lo = L ? ldi(L, 0) : INT64_MIN, hi = H ? ldi(H, 0) : INT64_MAX;
    for (int64_t i = 0; i < total; i++) {
      int64_t v = ldi(X, i);
      if (v < lo) v = lo;
      if (v > hi) v = hi;
      sti(Y, i, v);
    }
  }
}

static double fbin(Op op, double a, double b) {
  switch (op) {
  case OP_ADD: case OP_SUM: return a + b;
  case OP_SUB: return a - b;
  case OP_MUL: return a * b;
  default: return a / b;      /* IEEE: x/0 is +-Inf or NaN */
  }
}

/* Integer arithmetic in 64 bits; add/sub/mul wrap (done unsigned, so no
 * signed overflow), division truncates toward zero and x/0 gives 0. */
static int64_t ibin(Op op, int64_t a, int64_t b, int uns) {
  switch (op) {
  case OP_ADD: case OP_SUM: return (int64_t)((uint64_t)a + (uint64_t)b);
  case OP_SUB: return (int64_t)((uint64_t)a - (uint64_t)b);
  case OP_MUL: return (int64_t)((uint64_t)a * (uint64_t)b);
  default:
    if (b == 0) return 0;
    if (uns) return (int64_t)((uint64_t)a / (uint64_t)b);
    if (a == INT64_MIN && b == -1) return INT64_MIN;
    return a / b;
  }
}

/* Add, Sub, Mul, Div with numpy broadcasting; Sum folds its inputs left
 * to right the same way (in double for floats, so it rounds once). */
static void k_binary(const Node *n, Tensor **in, Tensor **out) {
  Tensor *Y = out[0];
  int r = Y->rank, isf = dtype_is_float(Y->dtype), uns = dt_unsigned(Y->dtype);
  int64_t total = ir_numel(Y);
  int64_t sa[IR_MAX_RANK], sb[IR_MAX_RANK], cnt[IR_MAX_RANK];
  if (n->op != OP_SUM) {
    Tensor *A = in[0], *B = in[1];
    bcast_strides(A, r, sa);
    bcast_strides(B, r, sb);
    memset(cnt, 0, sizeof cnt);
    int64_t oa = 0, ob = 0;
    for (int64_t i = 0; i < total; i++) {
      if (isf) stf(Y, i, fbin(n->op, ldf(A, oa), ldf(B, ob)));
      else sti(Y, i, ibin(n->op, ldi(A, oa), ldi(B, ob), uns));
      step2(r, Y->dims, cnt, sa, &oa, sb, &ob);
    }
    return;
  }
  if (isf) {
    double *acc = scr_alloc(sizeof(double) * (size_t)total);
    for (int k = 0; k < n->nin; k++) {
      bcast_strides(in[k], r, sa);
      memset(cnt, 0, sizeof cnt);
      int64_t oa = 0;
      for (int64_t i = 0; i < total; i++) {
        double v = ldf(in[k], oa);
        acc[i] = k ? acc[i] + v : v;
        step2(r, Y->dims, cnt, sa, &oa, NULL, NULL);
      }
    }
    for (int64_t i = 0; i < total; i++) stf(Y, i, acc[i]);
  } else {
    for (int k = 0; k < n->nin; k++) {
      bcast_strides(in[k], r, sa);
      memset(cnt, 0, sizeof cnt);
      int64_t oa = 0;
      for (int64_t i = 0; i < total; i++) {
        int64_t v = ldi(in[k], oa);
        sti(Y, i, k ? ibin(OP_ADD, ldi(Y, i), v, uns) : v);
        step2(r, Y->dims, cnt, sa, &oa, NULL, NULL);
      }
    }
  }
}

/* ---- matrix products --------------------------------------------------- */

/* Y[M,N] = act(alpha * op(A)[M,K] op(B)[K,N] + beta * C + R); an A of rank
 * > 2 (transA = 0) is read as [dims[0], rest] (a Flatten fused away) */
static void k_gemm(const Node *n, Tensor **in, Tensor **out) {
  const Attrs *a = &n->a;
  Tensor *A = in[0], *B = in[1], *C = opt(n, in, 2), *R = opt(n, in, 3), *Y = out[0];
  int64_t M = Y->dims[0], N = Y->dims[1];
  int64_t K = a->trans_b ? B->dims[1] : B->dims[0];
  if (ir_numel(A) != M * K) ir_fail_node(n, "A has %" I64 " elements, not M*K = %" I64, ir_numel(A), M * K);
  double *pa = to_f64(A), *pb = to_f64(B), *pc = C ? to_f64(C) : NULL;
  double *acc = scr_alloc(sizeof(double) * (size_t)N);
  /* C broadcast: strides over (i, j), 0 where C has size 1 or no dim */
  int64_t ci = 0, cj = 0;
  if (C && C->rank == 2) { ci = C->dims[0] == 1 ? 0 : C->dims[1]; cj = C->dims[1] == 1 ? 0 : 1; }
  if (C && C->rank == 1) cj = C->dims[0] == 1 ? 0 : 1;
  for (int64_t i = 0; i < M; i++) {
    memset(acc, 0, sizeof(double) * (size_t)N);
    for (int64_t k = 0; k < K; k++) {
      double av = a->trans_a ? pa[k * M + i] : pa[i * K + k];
      if (a->trans_b)
        for (int64_t j = 0; j < N; j++) acc[j] += av * pb[j * K + k];
      else
        for (int64_t j = 0; j < N; j++) acc[j] += av * pb[k * N + j];
    }
    for (int64_t j = 0; j < N; j++) {
      double v = a->alpha * acc[j];
      if (pc) v += a->beta * pc[i * ci + j * cj];
      if (R) v += ldf(R, i * N + j);
      stf(Y, i * N + j, act(a, v));
    }
  }
}

/* numpy matmul: 1-D operands are promoted ([K] -> [1,K] on the left,
 * [K,1] on the right) and the promoted dim dropped again; batch dims
 * broadcast.  Floats accumulate in double, integers exactly with wrap. */
static void k_matmul(const Node *n, Tensor **in, Tensor **out) {
  Tensor *A = in[0], *B = in[1], *Y = out[0];
  int ra = A->rank, rb = B->rank;
  int64_t M = ra >= 2 ? A->dims[ra - 2] : 1, K = A->dims[ra - 1];
  int64_t N = rb >= 2 ? B->dims[rb - 1] : 1;
  int ba = ra > 2 ? ra - 2 : 0, bb = rb > 2 ? rb - 2 : 0;
  int br = ba > bb ? ba : bb;
  int64_t bd[IR_MAX_RANK], sa[IR_MAX_RANK], sb[IR_MAX_RANK], cnt[IR_MAX_RANK] = {0};
  for (int d = 0; d < br; d++) bd[d] = Y->dims[d];
  /* batch strides, in matrices */
  Tensor ta = *A, tb = *B;
  ta.rank = ba;
  tb.rank = bb;
  bcast_strides(&ta, br, sa);
  bcast_strides(&tb, br, sb);
  int64_t nbatch = 1;
  for (int d = 0; d < br; d++) nbatch *= bd[d];
  int isf = dtype_is_float(Y->dtype);
  double *pa = isf ? to_f64(A) : NULL, *pb = isf ? to_f64(B) : NULL;
  double *acc = scr_alloc(sizeof(double) * (size_t)N);
  int64_t *iacc = scr_alloc(sizeof(int64_t) * (size_t)N);
  int64_t oa = 0, ob = 0;
  for (int64_t bt = 0; bt < nbatch; bt++) {
    int64_t a0 = oa * M * K, b0 = ob * K * N, y0 = bt * M * N;
    for (int64_t i = 0; i < M; i++) {
      if (isf) {
        memset(acc, 0, sizeof(double) * (size_t)N);
        for (int64_t k = 0; k < K; k++) {
          double av = pa[a0 + i * K + k];
          const double *brow = pb + b0 + k * N;
          for (int64_t j = 0; j < N; j++) acc[j] += av * brow[j];
        }
        for (int64_t j = 0; j < N; j++) stf(Y, y0 + i * N + j, acc[j]);
      } else {
        memset(iacc, 0, sizeof(int64_t) * (size_t)N);
        for (int64_t k = 0; k < K; k++) {
          uint64_t av = (uint64_t)ldi(A, a0 + i * K + k);
          for (int64_t j = 0; j < N; j++)
            iacc[j] = (int64_t)((uint64_t)iacc[j] + av * (uint64_t)ldi(B, b0 + k * N + j));
        }
        for (int64_t j = 0; j < N; j++) sti(Y, y0 + i * N + j, iacc[j]);
      }
    }
    if (br) step2(br, bd, cnt, sa, &oa, sb, &ob);
  }
}

/* ---- softmax ----------------------------------------------------------- */

/* Softmax over axis (or, with softmax_2d, over all dims from axis on). */
static void k_softmax(const Node *n, Tensor **in, Tensor **out) {
  Tensor *X = in[0], *Y = out[0];
  int r = X->rank, ax = (int)(n->a.axis < 0 ? n->a.axis + r : n->a.axis);
  int64_t outer = 1, len = 1, inner = 1;
  for (int d = 0; d < ax; d++) outer *= X->dims[d];
  if (n->a.softmax_2d) {
    for (int d = ax; d < r; d++) len *= X->dims[d];
  } else {
    len = X->dims[ax];
    for (int d = ax + 1; d < r; d++) inner *= X->dims[d];
  }
  double *x = to_f64(X);
  int islog = n->op == OP_LOGSOFTMAX;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t in_ = 0; in_ < inner; in_++) {
      int64_t base = o * len * inner + in_;
      double mx = -INFINITY, sum = 0;
      for (int64_t k = 0; k < len; k++) mx = fmax(mx, x[base + k * inner]);
      for (int64_t k = 0; k < len; k++) sum += exp(x[base + k * inner] - mx);
      for (int64_t k = 0; k < len; k++) {
        double v = x[base + k * inner] - mx;
        stf(Y, base + k * inner, islog ? v - log(sum) : exp(v) / sum);
      }
    }
}

/* ---- data movement ----------------------------------------------------- */

static void k_copy(const Node *n, Tensor **in, Tensor **out) {
  int64_t b = ir_bytes(out[0]);
  if (b) memmove(out[0]->data, in[0]->data, (size_t)b);
  if (n->op == OP_DROPOUT && n->nout > 1 && out[1]) {
    int64_t m = ir_numel(out[1]);
    if (m) memset(out[1]->data, 1, (size_t)m);   /* inference: keep everything */
  }
}

static void k_transpose(const Node *n, Tensor **in, Tensor **out) {
  Tensor *X = in[0], *Y = out[0];
  int r = X->rank;
  size_t es = dtype_size(X->dtype);
  int64_t xs[IR_MAX_RANK], st[IR_MAX_RANK], cnt[IR_MAX_RANK] = {0};
  row_major_strides(r, X->dims, xs);
  for (int i = 0; i < r; i++) st[i] = xs[n->a.nperm ? n->a.perm[i] : r - 1 - i];
  int64_t total = ir_numel(Y), off = 0;
  for (int64_t i = 0; i < total; i++) {
    memcpy((char *)Y->data + (size_t)i * es, (const char *)X->data + (size_t)off * es, es);
    step2(r, Y->dims, cnt, st, &off, NULL, NULL);
  }
}

static void k_concat(const Node *n, Tensor **in, Tensor **out) {
  Tensor *Y = out[0];
  int r = Y->rank, ax = (int)(n->a.axis < 0 ? n->a.axis + r : n->a.axis);
  size_t es = dtype_size(Y->dtype);
  int64_t outer = 1, inner = 1;
  for (int d = 0; d < ax; d++) outer *= Y->dims[d];
  for (int d = ax + 1; d < r; d++) inner *= Y->dims[d];
  char *dst = Y->data;
  for (int64_t o = 0; o < outer; o++)
    for (int k = 0; k < n->nin; k++) {
      size_t chunk = (size_t)(in[k]->dims[ax] * inner) * es;
      if (chunk) memcpy(dst, (const char *)in[k]->data + (size_t)o * chunk, chunk);
      dst += chunk;
    }
}

static void k_slice(const Node *n, Tensor **in, Tensor **out) {
  Tensor *X = in[0], *Y = out[0];
  int r = X->rank;
  size_t es = dtype_size(X->dtype);
  int64_t start[IR_MAX_RANK], step[IR_MAX_RANK], len[IR_MAX_RANK];
  int64_t xs[IR_MAX_RANK], st[IR_MAX_RANK], cnt[IR_MAX_RANK] = {0}, off = 0;
  shape_slice_params(n, in, start, step, len);
  row_major_strides(r, X->dims, xs);
  for (int d = 0; d < r; d++) { st[d] = step[d] * xs[d]; off += start[d] * xs[d]; }
  int64_t total = ir_numel(Y);
  for (int64_t i = 0; i < total; i++) {
    memcpy((char *)Y->data + (size_t)i * es, (const char *)X->data + (size_t)off * es, es);
    step2(r, Y->dims, cnt, st, &off, NULL, NULL);
  }
}

/* Source index along one axis for output index i, or -1 for the constant. */
static int64_t pad_src(int64_t i, int64_t pb, int64_t dim, PadMode m) {
  int64_t j = i - pb;
  if (j >= 0 && j < dim) return j;
  switch (m) {
  case PM_CONSTANT: return -1;
  case PM_EDGE: return j < 0 ? 0 : dim - 1;
  case PM_WRAP: return ((j % dim) + dim) % dim;
  case PM_REFLECT: {
    if (dim == 1) return 0;
    int64_t p = 2 * (dim - 1);
    j = ((j % p) + p) % p;
    return j < dim ? j : p - j;
  }
  }
  return -1;
}

static void k_pad(const Node *n, Tensor **in, Tensor **out) {
  Tensor *X = in[0], *Y = out[0], *V = opt(n, in, 2);
  int r = X->rank;
  size_t es = dtype_size(X->dtype);
  int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK], xs[IR_MAX_RANK], cnt[IR_MAX_RANK] = {0};
  shape_pad_params(n, in, pb, pe);
  row_major_strides(r, X->dims, xs);
  char zero[8] = {0};
  const char *val = V ? (const char *)V->data : zero;
  int64_t total = ir_numel(Y);
  for (int64_t i = 0; i < total; i++) {
    int64_t off = 0;
    int inside = 1;
    for (int d = 0; d < r && inside; d++) {
      int64_t s = pad_src(cnt[d], pb[d], X->dims[d], n->a.pad_mode);
      if (s < 0) inside = 0;
      else off += s * xs[d];
    }
    memcpy((char *)Y->data + (size_t)i * es,
           inside ? (const char *)X->data + (size_t)off * es : val, es);
    for (int d = r - 1; d >= 0; d--) {
      if (++cnt[d] < Y->dims[d]) break;
      cnt[d] = 0;
    }
  }
}

static void k_gather(const Node *n, Tensor **in, Tensor **out) {
  Tensor *X = in[0], *Ix = in[1], *Y = out[0];
  int r = X->rank, ax = (int)(n->a.axis < 0 ? n->a.axis + r : n->a.axis);
  size_t es = dtype_size(X->dtype);
  int64_t outer = 1, inner = 1, dim = X->dims[ax], ni = ir_numel(Ix);
  for (int d = 0; d < ax; d++) outer *= X->dims[d];
  for (int d = ax + 1; d < r; d++) inner *= X->dims[d];
  size_t chunk = (size_t)inner * es;
  char *dst = Y->data;
  for (int64_t o = 0; o < outer; o++)
    for (int64_t k = 0; k < ni; k++) {
      int64_t v = ldi(Ix, k);
      if (v < -dim || v >= dim)
        ir_fail_node(n, "index %" I64 " is out of range for axis %d of size %" I64, v, ax, dim);
      if (v < 0) v += dim;
      if (chunk) memcpy(dst, (const char *)X->data + (size_t)((o * dim + v) * inner) * es, chunk);
      dst += chunk;
    }
}

static void k_constantofshape(const Node *n, Tensor **in, Tensor **out) {
  (void)in;
  Tensor *Y = out[0];
  size_t es = dtype_size(Y->dtype);
  float zero = 0;
  const void *v = n->a.value ? n->a.value->data : &zero;
  int64_t total = ir_numel(Y);
  for (int64_t i = 0; i < total; i++) memcpy((char *)Y->data + (size_t)i * es, v, es);
}

static void k_shape(const Node *n, Tensor **in, Tensor **out) {
  int64_t r = in[0]->rank, s = n->a.start;
  if (s < 0) s = s < -r ? 0 : s + r;
  if (s > r) s = r;
  int64_t cnt = ir_numel(out[0]);
  for (int64_t i = 0; i < cnt; i++) sti(out[0], i, in[0]->dims[s + i]);
}

/* Cast between any two supported dtypes: to float by rounding once from
 * the exact source value; to integers by wrapping (from integers) or by
 * truncating and saturating (from floats); to bool by != 0. */
static void k_cast(const Node *n, Tensor **in, Tensor **out) {
  (void)n;
  Tensor *X = in[0], *Y = out[0];
  int64_t total = ir_numel(X);
  DType s = X->dtype, d = Y->dtype;
  int sf = dtype_is_float(s), su = dt_unsigned(s);
  for (int64_t i = 0; i < total; i++) {
    if (sf) {
      stf(Y, i, ldf(X, i));
    } else if (d == DT_FLOAT) {
      /* straight from the integer: no double rounding through double */
      int64_t v = ldi(X, i);
      float f = su ? (float)(uint64_t)v : (float)v;
      memcpy((char *)Y->data + 4 * i, &f, 4);
    } else if (dtype_is_float(d)) {
      int64_t v = ldi(X, i);
      stf(Y, i, su ? (double)(uint64_t)v : (double)v);
    } else {
      sti(Y, i, ldi(X, i));
    }
  }
}

/* ---- dispatch ---------------------------------------------------------- */

static void run_kernel(const Node *n, Tensor **in, Tensor **out) {
  switch (n->op) {
  case OP_CONV: k_conv(n, in, out); break;
  case OP_BATCHNORM: k_batchnorm(n, in, out); break;
  case OP_RELU: case OP_LEAKYRELU: case OP_SIGMOID: case OP_HARDSIGMOID: case OP_HARDSWISH:
    k_unary(n, in, out); break;
  case OP_CLIP: k_clip(n, in, out); break;
  case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_SUM: k_binary(n, in, out); break;
  case OP_MAXPOOL: case OP_AVERAGEPOOL: k_pool(n, in, out); break;
  case OP_GLOBALAVERAGEPOOL: case OP_GLOBALMAXPOOL: k_global_pool(n, in, out); break;
  case OP_GEMM: k_gemm(n, in, out); break;
  case OP_MATMUL: k_matmul(n, in, out); break;
  case OP_FLATTEN: case OP_RESHAPE: case OP_IDENTITY: case OP_SQUEEZE: case OP_UNSQUEEZE:
  case OP_DROPOUT:
    k_copy(n, in, out); break;
  case OP_TRANSPOSE: k_transpose(n, in, out); break;
  case OP_CONCAT: k_concat(n, in, out); break;
  case OP_SLICE: k_slice(n, in, out); break;
  case OP_PAD: k_pad(n, in, out); break;
  case OP_SOFTMAX: case OP_LOGSOFTMAX: k_softmax(n, in, out); break;
  case OP_CONSTANTOFSHAPE: k_constantofshape(n, in, out); break;
  case OP_SHAPE: k_shape(n, in, out); break;
  case OP_GATHER: k_gather(n, in, out); break;
  case OP_CAST: k_cast(n, in, out); break;
  case OP_COUNT: ir_die("OP_COUNT is not an op");
  }
}

/* Runs the kernel; frees its scratch memory also when it fails. */
static void run_guarded(const Node *n, Tensor **in, Tensor **out) {
  IrTry t;
  if (ir_try_begin(&t)) {
    scr_free_all();
    ir_rethrow(&t);
  }
  run_kernel(n, in, out);
  ir_try_end(&t);
  scr_free_all();
}

/* What every kernel assumes of its operands.  Kernels see plain tensors;
 * eval_graph converts blocked ones around them (blocked_ok). */
static void check_operands(const Node *n, int blocked_ok) {
  for (int i = 0; i < n->nin + n->nout; i++) {
    const Tensor *t = i < n->nin ? n->in[i] : n->out[i - n->nin];
    if (!t) continue;
    if (t->rank < 0 || ir_bytes(t) < 0)
      ir_fail_node(n, "tensor '%s' has no static shape (run shape inference first)", t->name);
    if (t->layout != LAYOUT_PLAIN &&
        (!blocked_ok || t->layout != LAYOUT_NCHWC || t->block < 1 || t->rank < 2))
      ir_fail_node(n, "tensor '%s' has a layout the reference evaluator does not run here",
                   t->name);
  }
  if (n->op == OP_CONV && (n->a.nsp != n->in[0]->rank - 2 || n->a.group < 1))
    ir_fail_node(n, "Conv attributes are not resolved (run shape inference first)");
}

/* LAYOUT_NCHWC (blocked channels): dims stay logical [N,C,rest...]; the
 * memory is [N][ceil(C/b)][rest...][b] (nChw8c for b = 8), the channels
 * past C padding, written as zeros.  Bytes of t in its own layout: */
static int64_t layout_bytes(const Tensor *t) {
  if (t->layout != LAYOUT_NCHWC) return ir_bytes(t);
  int64_t b = t->block, cb = (t->dims[1] + b - 1) / b;
  return ir_mul_checked(ir_bytes(t) / (t->dims[1] ? t->dims[1] : 1), ir_mul_checked(cb, b));
}

/* Copies between plain (row-major) and blocked memory of t. */
static void blocked_copy(const Tensor *t, void *blocked, void *plain, int to_plain) {
  size_t es = dtype_size(t->dtype);
  int64_t N = t->dims[0], C = t->dims[1], b = t->block, cb = (C + b - 1) / b, R = 1;
  for (int i = 2; i < t->rank; i++) R *= t->dims[i];
  for (int64_t n = 0; n < N; n++)
    for (int64_t c = 0; c < C; c++)
      for (int64_t r = 0; r < R; r++) {
        char *p = (char *)plain + (size_t)((n * C + c) * R + r) * es;
        char *q = (char *)blocked + (size_t)(((n * cb + c / b) * R + r) * b + c % b) * es;
        if (to_plain) memcpy(p, q, es);
        else memcpy(q, p, es);
      }
}

void eval_node(Graph *g, Node *n) {
  check_operands(n, 0);
  for (int i = 0; i < n->nin; i++) {
    Tensor *t = n->in[i];
    if (t && !ir_is_const(t) && n->op != OP_SHAPE)
      ir_fail_node(n, "cannot evaluate at compile time: input '%s' is not a constant", t->name);
  }
  for (int i = 0; i < n->nout; i++) {
    Tensor *t = n->out[i];
    if (t) t->data = ir_alloc(g, (size_t)ir_bytes(t));
  }
  run_guarded(n, n->in, n->out);
  for (int i = 0; i < n->nout; i++)
    if (n->out[i]) n->out[i]->kind = TK_CONST;
}

/* ---- the whole graph --------------------------------------------------- */

typedef struct EvalState {
  void **buf;          /* data of every tensor, by id */
  char *own;           /* buf[i] is ours to free */
  int *last;           /* index of the last node reading tensor i */
  Tensor *views;       /* copies of the tensors of one node */
  Tensor **vin, **vout;
  void **tmp;          /* plain copies of blocked operands of one node */
  int ntmp;
  int ntensors;
} EvalState;

static void free_tmp(EvalState *s) {
  while (s->ntmp > 0) free(s->tmp[--s->ntmp]);
}

static void state_free(EvalState *s) {
  if (s->buf)
    for (int i = 0; i < s->ntensors; i++)
      if (s->own[i]) free(s->buf[i]);
  free(s->buf);
  free(s->own);
  free(s->last);
  free(s->views);
  free(s->vin);
  free(s->vout);
  if (s->tmp) free_tmp(s);
  free(s->tmp);
}

static void *xcalloc(size_t n, size_t sz) {
  void *p = calloc(n ? n : 1, sz ? sz : 1);
  if (!p) ir_fail("out of memory in the reference evaluator");
  return p;
}

static void eval_graph_run(Graph *g, EvalState *s, const void *const *in, void **out) {
  int nt = g->ntensors, maxio = 1;
  for (int i = 0; i < nt; i++)
    if (g->tensors[i]->id != i)
      ir_fail("eval_graph: tensor '%s' has a stale id (call ir_relink)", g->tensors[i]->name);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    check_operands(n, 1);
    if (n->nin + n->nout > maxio) maxio = n->nin + n->nout;
    for (int j = 0; j < n->nin + n->nout; j++) {
      Tensor *t = j < n->nin ? n->in[j] : n->out[j - n->nin];
      if (t && (t->id < 0 || t->id >= nt || g->tensors[t->id] != t))
        ir_fail_node(n, "tensor '%s' is not in the graph", t->name);
    }
  }
  s->ntensors = nt;
  s->buf = xcalloc((size_t)nt, sizeof *s->buf);
  s->own = xcalloc((size_t)nt, 1);
  s->last = xcalloc((size_t)nt, sizeof *s->last);
  s->views = xcalloc((size_t)maxio, sizeof *s->views);
  s->vin = xcalloc((size_t)maxio, sizeof *s->vin);
  s->vout = xcalloc((size_t)maxio, sizeof *s->vout);
  s->tmp = xcalloc((size_t)maxio, sizeof *s->tmp);
  for (int i = 0; i < nt; i++) {
    Tensor *t = g->tensors[i];
    s->last[i] = -1;
    if (t->kind == TK_CONST) s->buf[i] = t->data;
  }
  for (int i = 0; i < g->ninputs; i++) {
    if (!in[i] && ir_bytes(g->inputs[i]) > 0)
      ir_fail("eval_graph: no data for input '%s'", g->inputs[i]->name);
    s->buf[g->inputs[i]->id] = (void *)in[i];
  }
  for (int i = 0; i < g->nnodes; i++)
    for (int j = 0; j < g->nodes[i]->nin; j++)
      if (g->nodes[i]->in[j]) s->last[g->nodes[i]->in[j]->id] = i;
  for (int i = 0; i < g->noutputs; i++) s->last[g->outputs[i]->id] = g->nnodes;

  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    int k = 0;
    for (int j = 0; j < n->nin; j++) {
      Tensor *t = n->in[j];
      if (!t) { s->vin[j] = NULL; continue; }
      if (!s->buf[t->id] && ir_bytes(t) > 0)
        ir_fail_node(n, "reads '%s' before it is computed", t->name);
      s->views[k] = *t;
      s->views[k].data = s->buf[t->id];
      if (t->layout == LAYOUT_NCHWC) {     /* the kernel reads a plain copy */
        void *p = s->tmp[s->ntmp++] = malloc((size_t)ir_bytes(t) + 1);
        if (!p) ir_fail("out of memory in the reference evaluator");
        blocked_copy(t, s->buf[t->id], p, 1);
        s->views[k].data = p;
      }
      s->views[k].layout = LAYOUT_PLAIN;
      s->views[k].block = 0;
      s->vin[j] = &s->views[k++];
    }
    for (int j = 0; j < n->nout; j++) {
      Tensor *t = n->out[j];
      if (!t) { s->vout[j] = NULL; continue; }
      if (s->own[t->id]) ir_fail_node(n, "tensor '%s' is written twice", t->name);
      int64_t lb = layout_bytes(t);
      if (lb < 0) ir_fail_node(n, "tensor '%s' is too large", t->name);
      s->buf[t->id] = calloc(1, (size_t)lb + 1);
      if (!s->buf[t->id]) ir_fail("out of memory in the reference evaluator");
      s->own[t->id] = 1;
      s->views[k] = *t;
      s->views[k].data = s->buf[t->id];
      if (t->layout == LAYOUT_NCHWC) {     /* the kernel writes a plain copy */
        void *p = s->tmp[s->ntmp++] = malloc((size_t)ir_bytes(t) + 1);
        if (!p) ir_fail("out of memory in the reference evaluator");
        s->views[k].data = p;
      }
      s->views[k].layout = LAYOUT_PLAIN;
      s->views[k].block = 0;
      s->vout[j] = &s->views[k++];
    }
    run_guarded(n, s->vin, s->vout);
    for (int j = 0; j < n->nout; j++)
      if (n->out[j] && n->out[j]->layout == LAYOUT_NCHWC)
        blocked_copy(n->out[j], s->buf[n->out[j]->id], s->vout[j]->data, 0);
    free_tmp(s);
    /* free what no later node reads */
    for (int j = 0; j < n->nin + n->nout; j++) {
      Tensor *t = j < n->nin ? n->in[j] : n->out[j - n->nin];
      if (t && s->own[t->id] && s->last[t->id] <= i) {
        free(s->buf[t->id]);
        s->buf[t->id] = NULL;
        s->own[t->id] = 0;
      }
    }
  }
  for (int i = 0; i < g->noutputs; i++) {
    Tensor *t = g->outputs[i];
    int64_t b = layout_bytes(t);
    if (s->own[t->id]) {      /* hand our buffer over */
      out[i] = s->buf[t->id];
      s->own[t->id] = 0;
      continue;
    }
    if (b < 0 || (!s->buf[t->id] && b > 0))
      ir_fail("eval_graph: output '%s' is never computed", t->name);
    out[i] = malloc((size_t)b + 1);
    if (!out[i]) ir_fail("out of memory in the reference evaluator");
    if (b) memcpy(out[i], s->buf[t->id], (size_t)b);
  }
}

void eval_graph(Graph *g, const void *const *in, void **out) {
  for (int i = 0; i < g->noutputs; i++) out[i] = NULL;
  /* on the heap: its fields change between setjmp and longjmp */
  EvalState *s = calloc(1, sizeof *s);
  if (!s) ir_fail("out of memory in the reference evaluator");
  IrTry t;
  if (ir_try_begin(&t)) {
    state_free(s);
    free(s);
    for (int i = 0; i < g->noutputs; i++) { free(out[i]); out[i] = NULL; }
    ir_rethrow(&t);
  }
  eval_graph_run(g, s, in, out);
  ir_try_end(&t);
  state_free(s);
  free(s);
}
