m4_dnl k_sub_nchwc.m4 - a strided 1x1 convolution as a subsample, then the
m4_dnl stride-1 1x1 kernel, on NCHW16c.
m4_dnl
m4_dnl RN_CONVSUB__simd prints one static function:
m4_dnl   s [CB][OH][OW][16] = x [CB][H][W][16] at rows oy*SH, columns ox*SW
m4_dnl   y = the 1x1 stride-1 kernel GEMM_BASE/GEMM_N of the same file (a
m4_dnl       CONVB kernel with this layer's weights, bias, residual and
m4_dnl       activation, over one row of OH*OW pixels) applied to s
m4_dnl Why: as one kernel the strided loads of the downsampling 1x1 convs of
m4_dnl ResNet skip every other pixel and row, so each register tile gathers
m4_dnl its inputs from twice the cache lines, and its rows are short (28,
m4_dnl 14, 7 pixels: ragged tiles); they ran at 50-60% of peak, the
m4_dnl stride-1 1x1 convs at 80-90%.  The copy moves a quarter of the input
m4_dnl once.  s is the layer's scratch in the arena, placed by the memory planner
m4_dnl (compiler/passes/plan.c) where nothing live at its step lies.
m4_dnl Parameters (P_*): C H W OH OW SH SW GEMM_BASE GEMM_N
m4_define(<:RN_CONVSUB__simd:>, <:RN_NEED(C, H, W, OH, OW, SH, SW, GEMM_BASE, GEMM_N)RN_HELPER(<:noinline:>)m4_dnl
/* 1x1 convolution stride P_SH<:x:>P_SW of P_C channels, P_H<:x:>P_W -> P_OH<:x:>P_OW, NCHW16c:
 * subsample into s, then the stride-1 kernel on s */
RN_NOINLINE<::>static void RN_FNAME<::>(const float *restrict x, const float *restrict w,
    const float *restrict b, const float *r, float *y, float *restrict s)
{
  RN_ENUM(C, H, W, OH, OW, SH, SW)
  enum { CB = (C + 15) / 16 };
  int cb, oy, ox, o;
  for (cb = 0; cb < CB; cb++)
    for (oy = 0; oy < OH; oy++)
      for (ox = 0; ox < OW; ox++) {
        const float *xp = x + (((size_t)cb * H + (size_t)oy * SH) * W + (size_t)ox * SW) * 16;
        float *sp = s + (((size_t)cb * OH + oy) * OW + ox) * 16;
        for (o = 0; o < 16; o++) sp[o] = xp[o];
      }
  RN_FN(P_GEMM_BASE, P_GEMM_N)(s, w, b, r, y);
}
:>)
m4_dnl One portable body: the kernel it calls holds the ISA bodies.
m4_define(<:RN_CONVSUB__scalar:>, m4_defn(<:RN_CONVSUB__simd:>))
