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
m4_define(<:RN_POOLB__simd:>, <:RN_NEED(C, H, W, OH, OW, KH, KW, SH, SW, PT, PL, PB, PR, CIP)m4_dnl
RN_ONEOF(<:KIND:>, <:max:>, <:avg:>)m4_dnl
/* P_KIND<::>pool P_KH<:x:>P_KW stride P_SH<:x:>P_SW pad P_PT<:,:>P_PL<:,:>P_PB<:,:>P_PR on NCHW16c:
 *   x [m4_eval((P_C + 15) / 16)][P_H][P_W][16] -> y [m4_eval((P_C + 15) / 16)][P_OH][P_OW][16] */
static void RN_FNAME<::>(const float *restrict x, float *restrict y)
{
  RN_ENUM(C, H, W, OH, OW, KH, KW, SH, SW, PT, PL, PB, PR)
  enum { CB = (C + 15) / 16 };
  int cb, oy, ox, ky, kx, o;
  (void)PB; (void)PR;
  for (cb = 0; cb < CB; cb++)
  for (oy = 0; oy < OH; oy++) {
    const int y0 = oy * SH - PT, ky0 = y0 < 0 ? -y0 : 0;
    const int ky1 = y0 + KH > H ? H - y0 : KH;
    for (ox = 0; ox < OW; ox++) {
      const int x0 = ox * SW - PL, kx0 = x0 < 0 ? -x0 : 0;
      const int kx1 = x0 + KW > W ? W - x0 : KW;
      float acc[16];
      float *yp = y + (((size_t)cb * OH + oy) * OW + ox) * 16;
m4_ifelse(P_KIND, <:max:>, <:m4_dnl
      for (o = 0; o < 16; o++) acc[o] = -INFINITY;
      for (ky = ky0; ky < ky1; ky++)
        for (kx = kx0; kx < kx1; kx++) {
          const float *xp = x + (((size_t)cb * H + y0 + ky) * W + x0 + kx) * 16;
          for (o = 0; o < 16; o++) acc[o] = xp[o] > acc[o] ? xp[o] : acc[o];
        }
      for (o = 0; o < 16; o++) yp[o] = acc[o];
:>, <:m4_dnl
      for (o = 0; o < 16; o++) acc[o] = 0.0f;
      for (ky = ky0; ky < ky1; ky++)
        for (kx = kx0; kx < kx1; kx++) {
          const float *xp = x + (((size_t)cb * H + y0 + ky) * W + x0 + kx) * 16;
          for (o = 0; o < 16; o++) acc[o] += xp[o];
        }
      {
m4_ifelse(P_CIP, 1, <:m4_dnl
        const int ye = y0 + KH > H + PB ? H + PB : y0 + KH, xe = x0 + KW > W + PR ? W + PR : x0 + KW;
        const int n = (ye - y0) * (xe - x0);
:>, <:m4_dnl
        const int n = (ky1 - ky0) * (kx1 - kx0);
:>)m4_dnl
        const float inv = n > 0 ? 1.0f / (float)n : 0.0f;
        for (o = 0; o < 16; o++) yp[o] = acc[o] * inv;
      }
:>)m4_dnl
    }
  }
}
:>)
m4_dnl One portable body serves every ISA preference.
m4_define(<:RN_POOLB__scalar:>, m4_defn(<:RN_POOLB__simd:>))
