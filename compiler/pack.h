/*
 * pack.h - weight packing for the fast kernels, run at compile time.
 *
 * Every packer writes the order in which the kernel's inner loop reads, so
 * the generated code streams its weights linearly.  Channel counts are
 * padded to the block with zeros.
 */
#ifndef RESNETC_PACK_H
#define RESNETC_PACK_H
#include <stddef.h>

/* w [cout][cin][kh][kw] (ONNX OIHW) ->
 *   [ceil(ocb/g)][ceil(cin/ib)][kh][kw][ib][g][16],  ocb = ceil(cout/16):
 * groups of g output blocks interleaved (kconv_wgroup() gives g).
 * out holds pack_conv_floats() floats. */
size_t pack_conv_floats(int cout, int cin, int kh, int kw, int ib, int g);
void pack_conv_nchwc(const float *w, int cout, int cin, int kh, int kw, int ib, int g, float *out);

/* b [cout] (NULL: zeros) -> [ceil(cout/16)*16] */
size_t pack_bias_floats(int cout);
void pack_bias(const float *b, int cout, float *out);
/* Winograd F(m x m, 3 x 3), m = 2 or 4: w [cout][cin][3][3] -> U = G g G^T
 * per (oc, ic), computed in double, then each of the (m+2)^2 matrices
 * U[p] [cout][cin] packed as a 1x1 conv (pack_conv_nchwc, ib 16, group g),
 * one after the other, pack_winograd_floats() in all. */
size_t pack_winograd_floats(int cout, int cin, int m, int g);
/* tmp: (m+2)^2 * cout * cin floats of scratch */
void pack_winograd(const float *w, int cout, int cin, int m, int g, float *tmp, float *out);

/* Fully connected: W is [n][k] when trans_b, else [k][n] (ONNX Gemm B);
 * out [ceil(n/16)][k][16] holds pack_fc_floats() floats, alpha folded in. */
size_t pack_fc_floats(int n, int k);
void pack_fc(const float *w, int n, int k, int trans_b, float alpha, float *out);
#endif
