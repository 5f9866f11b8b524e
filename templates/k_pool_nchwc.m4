m4_dnl k_pool_nchwc.m4 - pooling on channel-blocked activations (NCHW16c).
m4_dnl
m4_dnl RN_POOLB__simd prints one static function for one pooling layer:
m4_dnl   x [CB][H][W][16] -> y [CB][OH][OW][16],  CB = ceil(C/16)
m4_dnl KIND max or avg (MaxPool, AveragePool; a window of the whole image
m4_dnl without padding is GlobalMaxPool / GlobalAveragePool).  The window of
m4_dnl an output pixel is clipped to the image by loop bounds computed per
m4_dnl row and column, so the inner loop has no branch; the 16 channels of a
m4_dnl block are the innermost, contiguous loop, which compilers vectorise
m4_dnl on every ISA.  These layers move memory rather than compute, so one
m4_dnl portable body serves every target.  AveragePool divides by the number
m4_dnl of window positions inside the image, or with CIP = 1 inside the
m4_dnl padded image [-pad, size + pad_end) (as ONNX, also in ceil mode).
m4_dnl Parameters (P_*): C H W OH OW KH KW SH SW PT PL PB PR KIND CIP
m4_dnl
m4_dnl Speed: the rows and columns whose window lies inside the image (all
m4_dnl but a pad-wide border) run a second copy of the body whose window
m4_dnl loops have constant bounds (KH x KW), which compilers unroll into
m4_dnl straight vector max/add instructions over the 16 lanes; only the
m4_dnl border pixels compute clipped bounds (ResNet's 3x3/2 max pool on
m4_dnl 64x112x112: 0.74 ms with the clipped loop everywhere, 4x faster so).
m4_dnl RN_PB_PIXEL(ky0, ky1, kx0, kx1, off): one output pixel, window rows
m4_dnl [ky0, ky1) and columns [kx0, kx1); off, a size_t expression, is the
m4_dnl offset in x of the window's top-left input (row y0, column x0),
m4_dnl wrapping modulo SIZE_MAX+1 when that lies in the padding.  The lane
m4_dnl loop is outermost and the window loops inside it: so compilers
m4_dnl vectorise over the 16 lanes (with the window loops outside, they
m4_dnl unroll the lanes into scalars instead).
m4_define(<:RN_PB_PIXEL:>, <:      {
        float *yp = y + (((size_t)cb * OH + oy) * OW + ox) * 16;
        const size_t xo = ($5);
m4_ifelse(P_KIND, <:avg:>, <:m4_dnl
m4_ifelse(P_CIP, 1, <:m4_dnl
        const int ye = y0 + KH > H + PB ? H + PB : y0 + KH, xe = x0 + KW > W + PR ? W + PR : x0 + KW;
        const int n = (ye - y0) * (xe - x0);
:>, <:m4_dnl
        const int n = (($2) - ($1)) * (($4) - ($3));
:>)m4_dnl
        const float inv = n > 0 ? 1.0f / (float)n : 0.0f;
:>)m4_dnl
        for (o = 0; o < 16; o++) {
          float m = m4_ifelse(P_KIND, <:max:>, <:-INFINITY:>, <:0.0f:>);
          for (ky = $1; ky < $2; ky++)
            for (kx = $3; kx < $4; kx++) {
              const float v = x[xo + ((size_t)ky * W + kx) * 16 + o];
              m4_ifelse(P_KIND, <:max:>, <:m = v > m ? v : m;:>, <:m += v;:>)
            }
          yp[o] = m4_ifelse(P_KIND, <:max:>, <:m:>, <:m * inv:>);
        }
      }
:>)
m4_dnl The border pixel: bounds clipped to the image.  The window's
m4_dnl top-left may lie outside the image, so the offset is taken from the
m4_dnl first valid row and column (no pointer before x is formed).
m4_define(<:RN_PB_BORDER:>, <:    {
      const int x0 = ox * SW - PL, kx0 = x0 < 0 ? -x0 : 0;
      const int kx1 = x0 + KW > W ? W - x0 : KW;
      (void)x0;
RN_PB_PIXEL(<:ky0:>, <:ky1:>, <:kx0:>, <:kx1:>, <:(((size_t)cb * H + (size_t)(y0 + ky0)) * W + (size_t)(x0 + kx0)) * 16 - ((size_t)ky0 * W + (size_t)kx0) * 16:>)m4_dnl
    }
:>)
m4_dnl RN_PB_IN0(pad, stride, size, k, out) / RN_PB_IN1(...): the first
m4_dnl output and the end of the outputs whose window [o*stride - pad,
m4_dnl + k) lies inside [0, size); RN_PB_NONE: 1 when no output does (then
m4_dnl the interior copy is left out, and with it comparisons that
m4_dnl compilers would flag as constant).
m4_define(<:RN_PB_MIN:>, <:m4_ifelse(m4_eval(<:($1) < ($2):>), 1, <:$1:>, <:$2:>):>)
m4_define(<:RN_PB_IN1:>, <:RN_PB_MIN(m4_ifelse(m4_eval(<:$3 + $1 - $4 >= 0:>), 1, <:m4_eval(<:($3 + $1 - $4) / $2 + 1:>):>, 0), <:$5:>):>)
m4_define(<:RN_PB_IN0:>, <:RN_PB_MIN(m4_eval(<:($1 + $2 - 1) / $2:>), RN_PB_IN1($@)):>)
m4_define(<:RN_PB_NONE:>, <:m4_eval(RN_PB_IN0(P_PT, P_SH, P_H, P_KH, P_OH) >= RN_PB_IN1(P_PT, P_SH, P_H, P_KH, P_OH) ||
RN_PB_IN0(P_PL, P_SW, P_W, P_KW, P_OW) >= RN_PB_IN1(P_PL, P_SW, P_W, P_KW, P_OW)):>)
m4_define(<:RN_POOLB__simd:>, <:RN_NEED(C, H, W, OH, OW, KH, KW, SH, SW, PT, PL, PB, PR, CIP)RN_HELPER(<:noinline:>)m4_dnl
RN_ONEOF(<:KIND:>, <:max:>, <:avg:>)m4_dnl
/* P_KIND<::>pool P_KH<:x:>P_KW stride P_SH<:x:>P_SW pad P_PT<:,:>P_PL<:,:>P_PB<:,:>P_PR on NCHW16c:
 *   x [m4_eval((P_C + 15) / 16)][P_H][P_W][16] -> y [m4_eval((P_C + 15) / 16)][P_OH][P_OW][16] */
RN_NOINLINE<::>static void RN_FNAME<::>(const float *restrict x, float *restrict y)
{
  RN_ENUM(C, H, W, OH, OW, KH, KW, SH, SW, PT, PL, PB, PR)
  /* outputs whose window lies inside the image: rows [OY0, OY1), columns
   * [OX0, OX1) (computed by the template: RN_PB_IN) */
  enum { CB = (C + 15) / 16, OY0 = RN_PB_IN0(P_PT, P_SH, P_H, P_KH, P_OH), OY1 = RN_PB_IN1(P_PT, P_SH, P_H, P_KH, P_OH),
         OX0 = RN_PB_IN0(P_PL, P_SW, P_W, P_KW, P_OW), OX1 = RN_PB_IN1(P_PL, P_SW, P_W, P_KW, P_OW) };
  int cb, oy, ox, ky, kx, o;
  (void)PB; (void)PR;
  for (cb = 0; cb < CB; cb++)
  for (oy = 0; oy < OH; oy++) {
    const int y0 = oy * SH - PT, ky0 = y0 < 0 ? -y0 : 0;
    const int ky1 = y0 + KH > H ? H - y0 : KH;
m4_ifelse(RN_PB_NONE, 1, <:m4_dnl
    for (ox = 0; ox < OW; ox++)
RN_PB_BORDER()m4_dnl
:>, <:m4_dnl
    if (oy < OY0 || oy >= OY1) {
      for (ox = 0; ox < OW; ox++)
RN_PB_BORDER()m4_dnl
      continue;
    }
    for (ox = 0; ox < OX0; ox++)
RN_PB_BORDER()m4_dnl
    for (; ox < OX1; ox++) {
      const int x0 = ox * SW - PL;
      (void)x0;
RN_PB_PIXEL(<:0:>, <:KH:>, <:0:>, <:KW:>, <:(((size_t)cb * H + (size_t)y0) * W + (size_t)x0) * 16:>)m4_dnl
    }
    for (; ox < OW; ox++)
RN_PB_BORDER()m4_dnl
:>)m4_dnl
  }
}
:>)
m4_dnl One portable body serves every ISA preference.
m4_define(<:RN_POOLB__scalar:>, m4_defn(<:RN_POOLB__simd:>))
