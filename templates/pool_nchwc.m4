m4_divert(-1)
# pool_nchwc.m4 - pooling on channel-blocked activations (NCHW16c).
#
# Expanded with m4 -P after a prelude from kpool_prelude()
# (compiler/kernels.c).  One expansion is one static C function:
#
#   static void KNAME(const float *restrict x, float *restrict y)
#
#   x [CB][H][W][16] -> y [CB][OH][OW][16],  CB = ceil(C/16)
#
# MODE max | avg (MaxPool, AveragePool; a kernel of H x W with no padding
# is GlobalMaxPool / GlobalAveragePool).  The window of an output pixel is
# clipped to the image by loop bounds computed per row and column, so the
# inner loop has no branch; the 16 channels of a block are the innermost,
# contiguous loop, which compilers vectorise on every ISA.  These ops move
# memory rather than compute, so one portable body serves every target.
#
# AveragePool divides by the number of window elements inside the image,
# or, with COUNT_PAD = 1, inside the padded image (PB/PR bottom/right pads,
# as ONNX: a ceil_mode window is cut at the padded border).
#
# Parameters: KNAME C H W OH OW KH KW SH SW PT PL PB PR MODE COUNT_PAD
# Comments in this file avoid the apostrophe: it closes an m4 quote.
m4_define(`CB', m4_eval((C + 15) / 16))
m4_divert(0)m4_dnl
/* KNAME: MODE`'pool KH`'x`'KW/SH`'x`'SW pad PT,PL,PB,PR on C x H x W -> OH x OW, NCHW16c.
 * Generated from templates/pool_nchwc.m4, do not edit. */
#include <math.h>
static void KNAME`'(const float *restrict x, float *restrict y)
{
  int cb, oy, ox, ky, kx, o;
  for (cb = 0; cb < CB; cb++)
  for (oy = 0; oy < OH; oy++) {
    const int y0 = oy * SH - PT, ky0 = y0 < 0 ? -y0 : 0;
    const int ky1 = y0 + KH > H ? H - y0 : KH;
    for (ox = 0; ox < OW; ox++) {
      const int x0 = ox * SW - PL, kx0 = x0 < 0 ? -x0 : 0;
      const int kx1 = x0 + KW > W ? W - x0 : KW;
      float acc[16];
      float *yp = y + (((size_t)cb * OH + oy) * OW + ox) * 16;
m4_ifelse(MODE, max, `m4_dnl
      for (o = 0; o < 16; o++) acc[o] = -INFINITY;
      for (ky = ky0; ky < ky1; ky++)
        for (kx = kx0; kx < kx1; kx++) {
          const float *xp = x + (((size_t)cb * H + y0 + ky) * W + x0 + kx) * 16;
          for (o = 0; o < 16; o++) acc[o] = xp[o] > acc[o] ? xp[o] : acc[o];
        }
      for (o = 0; o < 16; o++) yp[o] = acc[o];
', `m4_dnl
      for (o = 0; o < 16; o++) acc[o] = 0.0f;
      for (ky = ky0; ky < ky1; ky++)
        for (kx = kx0; kx < kx1; kx++) {
          const float *xp = x + (((size_t)cb * H + y0 + ky) * W + x0 + kx) * 16;
          for (o = 0; o < 16; o++) acc[o] += xp[o];
        }
      {
m4_ifelse(COUNT_PAD, 1, `m4_dnl
        const int ye = y0 + KH > H + PB ? H + PB : y0 + KH, xe = x0 + KW > W + PR ? W + PR : x0 + KW;
        const int n = (ye - y0) * (xe - x0);
', `m4_dnl
        const int n = (ky1 - ky0) * (kx1 - kx0);
')m4_dnl
        const float inv = n > 0 ? 1.0f / (float)n : 0.0f;
        for (o = 0; o < 16; o++) yp[o] = acc[o] * inv;
      }
')m4_dnl
    }
  }
}
