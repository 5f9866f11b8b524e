m4_dnl k_reorder_nchwc.m4 - layout changes between plain NCHW and NCHW16c.
m4_dnl
m4_dnl RN_REORDER__simd prints one static function, x -> y:
m4_dnl   DIR to:   x [C][HW] -> y [CB][HW][16], channels C .. CB*16-1 zero
m4_dnl             (the blocked kernels rely on zero pad channels)
m4_dnl   DIR from: x [CB][HW][16] -> y [C][HW]
m4_dnl (batch 1).  The layout pass (compiler/passes/layout.c) puts one where
m4_dnl a blocked tensor meets a layer that needs the plain layout (Flatten,
m4_dnl graph outputs...), or the reverse.
m4_dnl Parameters (P_*): C HW DIR
m4_define(<:RN_REORDER__simd:>, <:RN_NEED(C, HW)RN_ONEOF(<:DIR:>, <:to:>, <:from:>)m4_dnl
/* Reorder P_C channels x P_HW pixels, NCHW m4_ifelse(P_DIR, <:to:>, <:-> NCHW16c:>, <:<- NCHW16c:>) */
static void RN_FNAME<::>(const float *restrict x, float *restrict y)
{
  RN_ENUM(C, HW)
  enum { CB = (C + 15) / 16 };
  int cb, p, o;
  for (cb = 0; cb < CB; cb++) {
    const int n = C - cb * 16 < 16 ? C - cb * 16 : 16;
    for (p = 0; p < HW; p++) {
m4_ifelse(P_DIR, <:to:>, <:m4_dnl
      float *yp = y + ((size_t)cb * HW + p) * 16;
      for (o = 0; o < n; o++) yp[o] = x[(size_t)(cb * 16 + o) * HW + p];
      for (; o < 16; o++) yp[o] = 0.0f;
:>, <:m4_dnl
      const float *xp = x + ((size_t)cb * HW + p) * 16;
      for (o = 0; o < n; o++) y[(size_t)(cb * 16 + o) * HW + p] = xp[o];
:>)m4_dnl
    }
  }
}
:>)
m4_dnl One portable body serves every ISA preference.
m4_define(<:RN_REORDER__scalar:>, m4_defn(<:RN_REORDER__simd:>))
