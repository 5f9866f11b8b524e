m4_divert(-1)
# fc.m4 - fully connected layer for one row (batch 1): a GEMV.
#
# Expanded with m4 -P after a prelude from kfc_prelude()
# (compiler/kernels.c).  One static C function:
#
#   static void KNAME(const float *restrict x, const float *restrict w,
#                     const float *restrict b, const float *r, float *y)
#
#   x [K]          the input row (a flattened tensor; an NCHW16c tensor of
#                  1 x 1 pixels has this layout too)
#   w [NB][K][16]  packed by pack_fc() (compiler/pack.c): 16 outputs
#                  innermost, NB = ceil(N/16); alpha and transB are folded
#   b [NB*16]      beta * C, zero padded
#   r [N]          residual (RES = 1), may equal y
#   y [N]          act(x . W + b (+ r))
#
# The weights are read once, linearly: the layer is bound by memory
# bandwidth, not by arithmetic.  Four blocks of 16 outputs advance
# together, each with two partial sums over alternate halves of K, so that
# eight independent chains hide the FMA latency; the 16-wide inner loops
# are vectorised by the compiler on every ISA.
#
# Parameters: KNAME K N RES ACT ACT_LO ACT_HI ACT_ALPHA
# Comments in this file avoid the apostrophe: it closes an m4 quote.
m4_define(`NB', m4_eval((N + 15) / 16))
m4_define(`KH2', m4_eval(K / 2))
m4_define(`ACTS', `m4_ifelse(ACT, relu, `$1 = $1 > 0.0f ? $1 : 0.0f;', ACT, clip,
  `$1 = $1 < ACT_LO ? ACT_LO : $1 > ACT_HI ? ACT_HI : $1;', ACT, leaky,
  `$1 = $1 < 0.0f ? $1 * ACT_ALPHA : $1;', `')')
m4_divert(0)m4_dnl
/* KNAME: fully connected K -> N, epilogue bias`'m4_ifelse(RES, 1, ` + residual')`'m4_ifelse(ACT, none, `', ` + ACT').
 * Generated from templates/fc.m4, do not edit. */
static void KNAME`'(const float *restrict x, const float *restrict w,
    const float *restrict b, const float *r, float *y)
{
  int nb, j, k, o;
m4_ifelse(RES, 1, `', `  (void)r;
')m4_dnl
  for (nb = 0; nb < NB; nb += 4) {
    const int nj = NB - nb < 4 ? NB - nb : 4;
    float a[4][16], c[4][16];
    for (j = 0; j < 4; j++)
      for (o = 0; o < 16; o++) a[j][o] = c[j][o] = 0.0f;
    if (nj == 4) {
      const float *w0 = w + (size_t)nb * K * 16;
      for (k = 0; k < KH2; k++) {
        const float xa = x[k], xc = x[k + KH2];
        for (j = 0; j < 4; j++)
          for (o = 0; o < 16; o++) {
            a[j][o] += xa * w0[((size_t)j * K + k) * 16 + o];
            c[j][o] += xc * w0[((size_t)j * K + k + KH2) * 16 + o];
          }
      }
      for (k = 2 * KH2; k < K; k++)
        for (j = 0; j < 4; j++)
          for (o = 0; o < 16; o++) a[j][o] += x[k] * w0[((size_t)j * K + k) * 16 + o];
    } else {
      for (j = 0; j < nj; j++) {
        const float *wj = w + (size_t)(nb + j) * K * 16;
        for (k = 0; k < K; k++)
          for (o = 0; o < 16; o++) a[j][o] += x[k] * wj[(size_t)k * 16 + o];
      }
    }
    for (j = 0; j < nj; j++)
      for (o = 0; o < 16; o++) {
        const int n = (nb + j) * 16 + o;
        float v;
        if (n >= N) break;
        v = a[j][o] + c[j][o] + b[n]m4_ifelse(RES, 1, ` + r[n]');
        ACTS(`v')
        y[n] = v;
      }
  }
}
