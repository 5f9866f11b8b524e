/*
 * pack.c - weight packing for the fast kernels (see pack.h).
 *
 * Direct conv, NCHWc: the kernel holds a tile of output-channel blocks in
 * registers and, for one input channel of one kernel tap, loads one
 * 16-wide vector of output-channel weights per block.  So the innermost
 * dimension is 16 output channels, then the ib input channels of a block,
 * then the g output blocks of a group (the blocks one register tile holds),
 * then the ib input channels of a block, kernel columns, rows, input
 * blocks, and groups outermost: one step of the kernel reads g*16
 * contiguous floats and the whole tile streams linearly.  With g = 1 this
 * is OIhw16i16o (ib = 16), or Ohwi16o for the plain-NCHW stem (ib = 1).
 */
#include "pack.h"

#include <string.h>

#define BLK 16

static size_t cdiv(size_t a, size_t b) { return (a + b - 1) / b; }

size_t pack_conv_floats(int cout, int cin, int kh, int kw, int ib, int g) {
  return cdiv(cdiv((size_t)cout, BLK), (size_t)g) * (size_t)g * cdiv((size_t)cin, (size_t)ib) *
         (size_t)kh * (size_t)kw * (size_t)ib * BLK;
}

void pack_conv_nchwc(const float *w, int cout, int cin, int kh, int kw, int ib, int g, float *out) {
  size_t ocbt = cdiv((size_t)cout, BLK), icb = cdiv((size_t)cin, (size_t)ib), G = (size_t)g;
  memset(out, 0, pack_conv_floats(cout, cin, kh, kw, ib, g) * sizeof *out);
  for (size_t ob = 0; ob < ocbt; ob++)
    for (size_t cb = 0; cb < icb; cb++)
      for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++)
          for (int i = 0; i < ib; i++)
            for (int o = 0; o < BLK; o++) {
              size_t oc = ob * BLK + (size_t)o, ic = cb * (size_t)ib + (size_t)i;
              if (oc >= (size_t)cout || ic >= (size_t)cin) continue;
              size_t dst = (((((ob / G * icb + cb) * (size_t)kh + (size_t)y) * (size_t)kw +
                               (size_t)x) * (size_t)ib + (size_t)i) * G + ob % G) * BLK + (size_t)o;
              out[dst] = w[((oc * (size_t)cin + ic) * (size_t)kh + (size_t)y) * (size_t)kw + (size_t)x];
            }
}

size_t pack_bias_floats(int cout) { return cdiv((size_t)cout, BLK) * BLK; }

void pack_bias(const float *b, int cout, float *out) {
  memset(out, 0, pack_bias_floats(cout) * sizeof *out);
  if (b) memcpy(out, b, (size_t)cout * sizeof *out);
}

size_t pack_fc_floats(int n, int k) { return cdiv((size_t)n, BLK) * (size_t)k * BLK; }

void pack_fc(const float *w, int n, int k, int trans_b, float alpha, float *out) {
  size_t nb = cdiv((size_t)n, BLK);
  memset(out, 0, pack_fc_floats(n, k) * sizeof *out);
  for (size_t b = 0; b < nb; b++)
    for (size_t j = 0; j < (size_t)k; j++)
      for (size_t o = 0; o < BLK; o++) {
        size_t col = b * BLK + o;
        if (col >= (size_t)n) break;
        float v = trans_b ? w[col * (size_t)k + j] : w[j * (size_t)n + col];
        out[(b * (size_t)k + j) * BLK + o] = alpha * v;
      }
}
