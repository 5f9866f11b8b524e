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

/* G of Lavin and Gray: F(2x2, 3x3) on points 0, 1, -1 (and infinity),
 * F(4x4, 3x3) on 0, 1, -1, 2, -2 (and infinity). */
static const double wino_g2[4][3] = {{1, 0, 0}, {0.5, 0.5, 0.5}, {0.5, -0.5, 0.5}, {0, 0, 1}};
static const double wino_g4[6][3] = {{1.0 / 4, 0, 0},
                                     {-1.0 / 6, -1.0 / 6, -1.0 / 6},
                                     {-1.0 / 6, 1.0 / 6, -1.0 / 6},
                                     {1.0 / 24, 1.0 / 12, 1.0 / 6},
                                     {1.0 / 24, -1.0 / 12, 1.0 / 6},
                                     {0, 0, 1}};

size_t pack_winograd_floats(int cout, int cin, int m, int g) {
  size_t a = (size_t)m + 2;
  return a * a * pack_conv_floats(cout, cin, 1, 1, BLK, g);
}

void pack_winograd(const float *w, int cout, int cin, int m, int g, float *u, float *out) {
  int a = m + 2;
  size_t nm = (size_t)cout * (size_t)cin, usz = pack_conv_floats(cout, cin, 1, 1, BLK, g);
  const double(*gm)[3] = m == 4 ? wino_g4 : wino_g2;
  for (size_t k = 0; k < nm; k++) {
    const float *f = w + k * 9;
    double t[6][3];
    for (int i = 0; i < a; i++)      /* t = G f */
      for (int j = 0; j < 3; j++)
        t[i][j] = gm[i][0] * f[j] + gm[i][1] * f[3 + j] + gm[i][2] * f[6 + j];
    for (int i = 0; i < a; i++)      /* U = t G^T */
      for (int j = 0; j < a; j++)
        u[(size_t)(i * a + j) * nm + k] = (float)(t[i][0] * gm[j][0] + t[i][1] * gm[j][1] + t[i][2] * gm[j][2]);
  }
  for (int p = 0; p < a * a; p++)
    pack_conv_nchwc(u + (size_t)p * nm, cout, cin, 1, 1, BLK, g, out + (size_t)p * usz);
}
