m4_divert(-1)
# reorder_nchwc.m4 - layout changes between plain NCHW and NCHW16c.
#
# Expanded with m4 -P after a prelude from kreorder_prelude()
# (compiler/kernels.c).  One static C function:
#
#   static void KNAME(const float *restrict x, float *restrict y)
#
# DIR to:   x [C][HW] -> y [CB][HW][16], channels C .. CB*16-1 set to zero
#           (every kernel relies on zero pad channels)
# DIR from: x [CB][HW][16] -> y [C][HW]
#
# Used at the network input when the first layer is not the stem (the
# stem reads NCHW directly), and where a blocked tensor meets an op that
# needs the plain layout (Flatten of more than one pixel, graph outputs).
#
# Parameters: KNAME C HW DIR
# Comments in this file avoid the apostrophe: it closes an m4 quote.
m4_define(`CB', m4_eval((C + 15) / 16))
m4_divert(0)m4_dnl
/* KNAME: reorder C x HW, NCHW m4_ifelse(DIR, to, `-> NCHW16c', `<- NCHW16c').
 * Generated from templates/reorder_nchwc.m4, do not edit. */
static void KNAME`'(const float *restrict x, float *restrict y)
{
  int cb, p, o;
  for (cb = 0; cb < CB; cb++) {
    const int n = C - cb * 16 < 16 ? C - cb * 16 : 16;
    for (p = 0; p < HW; p++) {
m4_ifelse(DIR, to, `m4_dnl
      float *yp = y + ((size_t)cb * HW + p) * 16;
      for (o = 0; o < n; o++) yp[o] = x[(size_t)(cb * 16 + o) * HW + p];
      for (; o < 16; o++) yp[o] = 0.0f;
', `m4_dnl
      const float *xp = x + ((size_t)cb * HW + p) * 16;
      for (o = 0; o < n; o++) y[(size_t)(cb * 16 + o) * HW + p] = xp[o];
')m4_dnl
    }
  }
}
