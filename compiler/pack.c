/*
 * pack.c - weight packing for the fast kernels (see pack.h).
 *
 * Direct conv, NCHWc: the kernel holds a tile of output-channel blocks in
 * registers and, for one input channel of one kernel tap, loads one
 * 16-wide vector of output-channel weights per block.  So the innermost
 * dimension is 16 output channels, then the ib input channels of a block,
 * then kernel columns, rows, input blocks; output blocks outermost, so the
 * weights of one output block are contiguous (OIhw16i16o for ib = 16,
 * OIhw1i16o = Ohwi16o for the plain-NCHW stem).
 */
#include "pack.h"

#include <string.h>

#define BLK 16

static size_t cdiv(size_t a, size_t b) { return (a + b - 1) / b; }

size_t pack_conv_floats(int cout, int cin, int kh, int kw, int ib) {
  return cdiv((size_t)cout, BLK) * cdiv((size_t)cin, (size_t)ib) * (size_t)kh * (size_t)kw *
         (size_t)ib * BLK;
}

void pack_conv_nchwc(const float *w, int cout, int cin, int kh, int kw, int ib, float *out) {
  size_t ocbt = cdiv((size_t)cout, BLK), icb = cdiv((size_t)cin, (size_t)ib);
  memset(out, 0, pack_conv_floats(cout, cin, kh, kw, ib) * sizeof *out);
  for (size_t ob = 0; ob < ocbt; ob++)
    for (size_t cb = 0; cb < icb; cb++)
      for (int y = 0; y < kh; y++)
        for (int x = 0; x < kw; x++)
          for (int i = 0; i < ib; i++)
            for (int o = 0; o < BLK; o++) {
              size_t oc = ob * BLK + (size_t)o, ic = cb * (size_t)ib + (size_t)i;
              if (oc >= (size_t)cout || ic >= (size_t)cin) continue;
              size_t dst = ((((ob * icb + cb) * (size_t)kh + (size_t)y) * (size_t)kw + (size_t)x) *
                                (size_t)ib + (size_t)i) * BLK + (size_t)o;
              out[dst] = w[((oc * (size_t)cin + ic) * (size_t)kh + (size_t)y) * (size_t)kw + (size_t)x];
            }
}

size_t pack_bias_floats(int cout) { return cdiv((size_t)cout, BLK) * BLK; }

void pack_bias(const float *b, int cout, float *out) {
  memset(out, 0, pack_bias_floats(cout) * sizeof *out);
  if (b) memcpy(out, b, (size_t)cout * sizeof *out);
}
