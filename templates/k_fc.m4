m4_dnl k_fc.m4 - fully connected layer for one row (batch 1): a GEMV.
m4_dnl
m4_dnl RN_FC__simd prints one static function:
m4_dnl   x [K]          the input row (an NCHW16c tensor of 1x1 pixels is laid
m4_dnl                  out the same way)
m4_dnl   w [NB][K][16]  packed by pack_fc() (compiler/pack.c): 16 outputs
m4_dnl                  innermost, NB = ceil(N/16); alpha and transB folded in
m4_dnl   b [NB*16]      bias (beta * C), zero padded
m4_dnl   r [N]          residual (RES = 1), may be y
m4_dnl   y [N]          act(x . W + b + r)
m4_dnl The weights are read once, linearly: the layer is bound by memory
m4_dnl bandwidth, not arithmetic.  Four blocks of 16 outputs advance
m4_dnl together, each with two partial sums over the two halves of K, so that
m4_dnl eight independent chains hide the FMA latency; the 16-wide inner
m4_dnl loops are vectorised by the compiler on every ISA.
m4_dnl Parameters (P_*): K N RES ACT ACT_LO ACT_HI ACT_ALPHA
m4_define(<:RN_FC__simd:>, <:RN_NEED(K, N, RES)m4_dnl
/* Fully connected P_K -> P_N, epilogue bias<::>m4_ifelse(P_RES, 1, <: + residual:>)<::>m4_ifelse(P_ACT, <:none:>, <::>, <: + P_ACT:>) */
static void RN_FNAME<::>(const float *restrict x, const float *restrict w,
    const float *restrict b, const float *r, float *y)
{
  RN_ENUM(K, N)
  enum { NB = (N + 15) / 16, KH2 = K / 2 };
  int nb, j, k, o;
m4_ifelse(P_RES, 1, <::>, <:  (void)r;
:>)m4_dnl
  for (nb = 0; nb < NB; nb += 4) {
    const int nj = NB - nb < 4 ? NB - nb : 4;
    float a[4][16], c[4][16];
    for (j = 0; j < 4; j++)
      for (o = 0; o < 16; o++) a[j][o] = c[j][o] = 0.0f;
    {
      /* every output sums in the same order (two halves of K, added at
       * the end), whichever group it is in: equal columns of W give
       * bit-equal results */
      const float *w0 = w + (size_t)nb * K * 16;
      for (k = 0; k < KH2; k++) {
        const float xa = x[k], xc = x[k + KH2];
        for (j = 0; j < nj; j++)
          for (o = 0; o < 16; o++) {
            a[j][o] += xa * w0[((size_t)j * K + k) * 16 + o];
            c[j][o] += xc * w0[((size_t)j * K + k + KH2) * 16 + o];
          }
      }
      for (k = 2 * KH2; k < K; k++)
        for (j = 0; j < nj; j++)
          for (o = 0; o < 16; o++) a[j][o] += x[k] * w0[((size_t)j * K + k) * 16 + o];
    }
    for (j = 0; j < nj; j++)
      for (o = 0; o < 16; o++) {
        const int n = (nb + j) * 16 + o;
        float v;
        if (n >= N) break;
        v = a[j][o] + c[j][o] + b[n]m4_ifelse(P_RES, 1, <: + r[n]:>);
        RN_ACT(<:v:>)
        y[n] = v;
      }
  }
}
:>)
m4_dnl One portable body serves every ISA preference.
m4_define(<:RN_FC__scalar:>, m4_defn(<:RN_FC__simd:>))
