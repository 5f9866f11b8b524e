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

/* w [cout][cin][kh][kw] (ONNX OIHW) -> [ceil(cout/16)][ceil(cin/ib)][kh][kw][ib][16]
 * out holds pack_conv_floats() floats. */
size_t pack_conv_floats(int cout, int cin, int kh, int kw, int ib);
void pack_conv_nchwc(const float *w, int cout, int cin, int kh, int kw, int ib, float *out);

/* b [cout] (NULL: zeros) -> [ceil(cout/16)*16] */
size_t pack_bias_floats(int cout);
void pack_bias(const float *b, int cout, float *out);
#endif
