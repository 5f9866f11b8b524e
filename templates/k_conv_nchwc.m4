m4_dnl k_conv_nchwc.m4 - direct convolution on channel-blocked activations.
m4_dnl
m4_dnl RN_CONVB__simd prints one static function for one Conv layer shape,
m4_dnl with one body per instruction set in an #if chain chosen when the
m4_dnl generated C is compiled:
m4_dnl
m4_dnl   #if 0 / #elif __AVX512F__ && __FMA__ / #elif __AVX2__ && __FMA__ /
m4_dnl   #elif __ARM_NEON && __aarch64__ / #else portable C / #endif
m4_dnl
m4_dnl so that the same file builds anywhere and runs the widest body the
m4_dnl compiler may use.  `resnetc --target` leaves bodies out (P_ISA_*).
m4_dnl The register tiles are chosen by kconv_params() (compiler/kernels.c)
m4_dnl from the layer's shape; this template only unrolls.
m4_dnl
m4_dnl Layouts (float32; channel counts padded to a multiple of 16 with zeros):
m4_dnl   x  input,  [ICB][H][W][IB]      IB = 16 (NCHW16c) or 1 (plain NCHW,
m4_dnl                                   the stem); ICB = ceil(CIN/IB)
m4_dnl   w  packed, [OCBP/WG][ICB][KH][KW][IB][WG][16] (pack_conv_nchwc,
m4_dnl                                   compiler/pack.c): groups of WG output
m4_dnl                                   blocks interleaved, so one step of a
m4_dnl                                   tile reads contiguous weights
m4_dnl   b  bias,   [OCBT*16], zero past COUT
m4_dnl   r  residual: as y (RV = 0; it may be y itself), or the option-A view
m4_dnl      of ir.h (RV = 1): r [RCB][RH][RW][16], NCHW16c of RC channels,
m4_dnl      residual of y[c][oy][ox] = r[c - RC0][RSH + oy*RTH][RSW + ox*RTW],
m4_dnl      0 where c - RC0 is not a channel of r
m4_dnl   y  output, [OCBT][OH][OW][16]   OCBT = ceil(COUT/16)
m4_dnl
m4_dnl   y = act(conv(x, w) + b + r)
m4_dnl
m4_dnl Method (the MLAS / oneDNN NCHWc direct convolution): a register tile
m4_dnl of TOCB output-channel blocks x TPX output pixels of one row
m4_dnl accumulates in vector registers.  Each step loads one packed weight
m4_dnl vector per 16/VL lanes of the tile and broadcasts one input scalar
m4_dnl per pixel: TOCB*16/VL loads and TPX broadcasts feed TOCB*16/VL*TPX
m4_dnl FMAs.  NEON instead loads four input channels per pixel and uses fmla
m4_dnl by lane.  Input channels are walked in chunks of ICC blocks so that
m4_dnl the packed weights of a chunk stay in cache; between chunks the
m4_dnl partial sums live in y.  Bias and residual seed the accumulators, so
m4_dnl r is read before y is first written (y may alias r), and the store is
m4_dnl the only place the activation is applied.
m4_dnl
m4_dnl Padding costs no branch in the inner loop.  Rows: the valid kernel
m4_dnl rows of an output row are the loop bounds kh0..kh1.  Columns: the
m4_dnl tiles of a row that touch the left or right padding (tiles [0,TL) and
m4_dnl [TR,NT)) are expanded here with their column known, and only the
m4_dnl (pixel, kernel column) products that read inside the image are
m4_dnl emitted; the tiles in between loop over all kernel columns.  The last
m4_dnl tile of a row may be narrower than TPX.
m4_dnl
m4_dnl Parameters (P_*):
m4_dnl   CIN COUT H W OH OW   channels and spatial sizes (1x1 stride-1 convs
m4_dnl                        arrive as one row of H*W pixels)
m4_dnl   KH KW SH SW PT PL    kernel, stride, top/left padding
m4_dnl   IB WG                input block (16 or 1), output blocks per group of w
m4_dnl   RES RV               residual: none / as y / option-A view, with
m4_dnl   RC RC0 RH RW RSH RSW RTH RTW   the view (see r above)
m4_dnl   ACT ACT_LO ACT_HI ACT_ALPHA    activation none|relu|clip|leakyrelu
m4_dnl   UNROLL               input channels per inner-loop iteration
m4_dnl   ISA_AVX512 ISA_AVX2 ISA_NEON   1: emit that body, with its tile
m4_dnl   <ISA>_OCB <ISA>_PX <ISA>_ICC <ISA>_TL <ISA>_TR <ISA>_NT <ISA>_PF <ISA>_PFK:
m4_dnl                        tile blocks and pixels, ic chunk in blocks, first
m4_dnl                        interior tile, end of the interior tiles, tiles
m4_dnl                        per row, weight lines prefetched (0: none) every
m4_dnl                        PFK iterations of the input-channel loop
m4_dnl   SCALAR_ICC           ic chunk of the portable body
m4_dnl
m4_dnl ---- derived constants (while one kernel is expanded) ----------------
m4_define(<:RN_CB_DERIVE:>, <:m4_dnl
m4_pushdef(<:RN_CB_ICB:>, m4_eval((P_CIN + P_IB - 1) / P_IB))m4_dnl
m4_pushdef(<:RN_CB_OCBT:>, m4_eval((P_COUT + 15) / 16))m4_dnl
m4_pushdef(<:RN_CB_WI:>, m4_eval(P_WG * 16))m4_dnl                   floats per input channel of w
m4_pushdef(<:RN_CB_WGS:>, m4_eval(RN_CB_ICB * P_KH * P_KW * P_IB * P_WG * 16))m4_dnl  per group of w
m4_pushdef(<:RN_CB_XCB:>, m4_eval(P_H * P_W * P_IB))m4_dnl           per input block
m4_pushdef(<:RN_CB_YCB:>, m4_eval(P_OH * P_OW * 16))m4_dnl           per output block
m4_pushdef(<:RN_CB_WTOT:>, m4_eval((RN_CB_OCBT + P_WG - 1) / P_WG * RN_CB_WGS))m4_dnl  all of w
:>)
m4_define(<:RN_CB_UNDERIVE:>, <:m4_popdef(<:RN_CB_ICB:>, <:RN_CB_OCBT:>, <:RN_CB_WI:>, <:RN_CB_WGS:>, <:RN_CB_XCB:>, <:RN_CB_YCB:>, <:RN_CB_WTOT:>):>)
m4_define(<:RN_CB_MIN:>, <:m4_ifelse(m4_eval(<:($1) < ($2):>), 1, <:$1:>, <:$2:>):>)
m4_dnl
m4_dnl ---- vector operations per ISA; the generic names dispatch on RN_CB_ISA
m4_define(<:RN_V_AVX512_T:>, <:__m512:>)m4_define(<:RN_V_AVX512_L:>, 16)
m4_define(<:RN_V_AVX512_LOAD:>, <:_mm512_loadu_ps($1):>)
m4_define(<:RN_V_AVX512_BCAST:>, <:_mm512_set1_ps($1):>)
m4_define(<:RN_V_AVX512_FMA:>, <:_mm512_fmadd_ps($2, $3, $1):>)
m4_define(<:RN_V_AVX512_ADD:>, <:_mm512_add_ps($1, $2):>)
m4_define(<:RN_V_AVX512_MAX:>, <:_mm512_max_ps($1, $2):>)
m4_define(<:RN_V_AVX512_MIN:>, <:_mm512_min_ps($1, $2):>)
m4_define(<:RN_V_AVX512_SET1:>, <:_mm512_set1_ps($1):>)
m4_define(<:RN_V_AVX512_STORE:>, <:_mm512_storeu_ps($1, $2):>)
m4_define(<:RN_V_AVX512_PF:>, <:_mm_prefetch((const char *)($1), _MM_HINT_T1):>)
m4_define(<:RN_V_AVX512_LEAKY:>, <:_mm512_mask_blend_ps(_mm512_cmp_ps_mask($1, _mm512_setzero_ps(), _CMP_LT_OQ), $1, _mm512_mul_ps($1, $2)):>)
m4_define(<:RN_V_AVX2_T:>, <:__m256:>)m4_define(<:RN_V_AVX2_L:>, 8)
m4_define(<:RN_V_AVX2_LOAD:>, <:_mm256_loadu_ps($1):>)
m4_define(<:RN_V_AVX2_BCAST:>, <:_mm256_broadcast_ss(&($1)):>)
m4_define(<:RN_V_AVX2_FMA:>, <:_mm256_fmadd_ps($2, $3, $1):>)
m4_define(<:RN_V_AVX2_ADD:>, <:_mm256_add_ps($1, $2):>)
m4_define(<:RN_V_AVX2_MAX:>, <:_mm256_max_ps($1, $2):>)
m4_define(<:RN_V_AVX2_MIN:>, <:_mm256_min_ps($1, $2):>)
m4_define(<:RN_V_AVX2_SET1:>, <:_mm256_set1_ps($1):>)
m4_define(<:RN_V_AVX2_STORE:>, <:_mm256_storeu_ps($1, $2):>)
m4_define(<:RN_V_AVX2_PF:>, <:_mm_prefetch((const char *)($1), _MM_HINT_T1):>)
m4_define(<:RN_V_AVX2_LEAKY:>, <:_mm256_blendv_ps($1, _mm256_mul_ps($1, $2), _mm256_cmp_ps($1, _mm256_setzero_ps(), _CMP_LT_OQ)):>)
m4_define(<:RN_V_NEON_T:>, <:float32x4_t:>)m4_define(<:RN_V_NEON_L:>, 4)
m4_define(<:RN_V_NEON_LOAD:>, <:vld1q_f32($1):>)
m4_define(<:RN_V_NEON_BCAST:>, <:vdupq_n_f32($1):>)
m4_define(<:RN_V_NEON_FMA:>, <:vfmaq_f32($1, $2, $3):>)
m4_define(<:RN_V_NEON_FMALANE:>, <:vfmaq_laneq_f32($1, $2, $3, $4):>)
m4_define(<:RN_V_NEON_ADD:>, <:vaddq_f32($1, $2):>)
m4_define(<:RN_V_NEON_MAX:>, <:vmaxq_f32($1, $2):>)
m4_define(<:RN_V_NEON_MIN:>, <:vminq_f32($1, $2):>)
m4_define(<:RN_V_NEON_SET1:>, <:vdupq_n_f32($1):>)
m4_define(<:RN_V_NEON_STORE:>, <:vst1q_f32($1, $2):>)
m4_define(<:RN_V_NEON_PF:>, <:__builtin_prefetch($1, 0, 2):>)
m4_define(<:RN_V_NEON_LEAKY:>, <:vbslq_f32(vcltq_f32($1, vdupq_n_f32(0.0f)), vmulq_f32($1, $2), $1):>)
m4_define(<:RN_VT:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_T:>):>)
m4_define(<:RN_VL:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_L:>):>)
m4_define(<:RN_VLOAD:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_LOAD:>, $@):>)
m4_define(<:RN_VBCAST:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_BCAST:>, $@):>)
m4_define(<:RN_VFMA:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_FMA:>, $@):>)
m4_define(<:RN_VFMALANE:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_FMALANE:>, $@):>)
m4_define(<:RN_VADD:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_ADD:>, $@):>)
m4_define(<:RN_VMAX:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_MAX:>, $@):>)
m4_define(<:RN_VMIN:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_MIN:>, $@):>)
m4_define(<:RN_VSET1:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_SET1:>, $@):>)
m4_define(<:RN_VSTORE:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_STORE:>, $@):>)
m4_define(<:RN_VLEAKY:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_LEAKY:>, $@):>)
m4_define(<:RN_VPF:>, <:m4_indir(<:RN_V_:>RN_CB_ISA<:_PF:>, $@):>)
m4_dnl
m4_dnl ---- the vector body -------------------------------------------------
m4_dnl Accumulator of vector v (0 .. NV-1) and pixel p: a<v>_<p>; weight
m4_dnl vector v: w<v>.  Vector v covers output block v/(16/VL), lanes
m4_dnl (v%(16/VL))*VL .. +VL-1; RN_CB_VOFF / RN_CB_YOFF are its offsets in w
m4_dnl (within the tile's group) and in y.
m4_define(<:RN_CB_ACC:>, <:a$1_$2:>)
m4_define(<:RN_CB_WV:>, <:w$1:>)
m4_define(<:RN_CB_BLK:>, <:m4_eval(($1) / (16 / RN_VL)):>)
m4_define(<:RN_CB_VOFF:>, <:m4_eval(RN_CB_BLK($1) / P_WG * RN_CB_WGS + RN_CB_BLK($1) % P_WG * 16 + ($1) % (16 / RN_VL) * RN_VL):>)
m4_define(<:RN_CB_YOFF:>, <:m4_eval(RN_CB_BLK($1) * RN_CB_YCB + ($1) % (16 / RN_VL) * RN_VL):>)
m4_dnl
m4_dnl RN_CB_PF: RN_TPF prefetches of the weight stream (see RN_CB_GROUP)
m4_dnl every RN_TPFK iterations of the input-channel loop of a step.
m4_define(<:RN_CB_PF1:>, <:RN_FOR(<:RN_Q:>, 0, RN_TPF, <:          if (pfo < pfe) { RN_VPF(w + pfo); pfo += 16; }
:>):>)
m4_define(<:RN_CB_PF:>, <:m4_ifelse(RN_TPF, 0, <::>, RN_TPFK, 1, <:RN_CB_PF1():>, <:          if (++pfc == RN_TPFK) {
            pfc = 0;
RN_CB_PF1()          }
:>):>)
m4_dnl RN_CB_STEP_BCAST(wptr, npx, VALID, XADDR, U): one kernel tap, all IB
m4_dnl input channels, in a loop unrolled U times.  XADDR(p, c) is the input
m4_dnl element of channel c (a C expression) for pixel p; VALID(p) is 1 when
m4_dnl pixel p reads inside the image.  Nothing when no pixel is valid.
m4_define(<:RN_CB_STEP_BCAST:>, <:m4_ifelse(RN_CB_ANY(<:$3:>, $2), 1, <:      {
        int i;
        for (i = 0; i < P_IB; i += $5) {
          const float *wi = $1 + i * RN_CB_WI;
RN_CB_PF()RN_FOR(<:RN_U:>, 0, $5, <:          {
RN_FOR(<:RN_V:>, 0, RN_NV, <:            const RN_VT RN_CB_WV(RN_V) = RN_VLOAD(wi + m4_eval(RN_CB_VOFF(RN_V) + RN_U * RN_CB_WI));
:>)RN_FOR(<:RN_P:>, 0, $2, <:m4_ifelse($3(RN_P), 1, <:            { const RN_VT bx = RN_VBCAST($4(RN_P, <:i + RN_U:>));
RN_FOR(<:RN_V:>, 0, RN_NV, <:              RN_CB_ACC(RN_V, RN_P) = RN_VFMA(RN_CB_ACC(RN_V, RN_P), RN_CB_WV(RN_V), bx);
:>)            }
:>):>)          }
:>)        }
      }
:>):>)
m4_dnl
m4_dnl RN_CB_STEP_LANE: NEON with IB a multiple of 4: one 4-channel load per
m4_dnl pixel, then fmla by lane; the loop steps over quads of channels.
m4_define(<:RN_CB_STEP_LANE:>, <:m4_ifelse(RN_CB_ANY(<:$3:>, $2), 1, <:      {
        int i;
        for (i = 0; i < P_IB; i += 4) {
          const float *wi = $1 + i * RN_CB_WI;
RN_CB_PF()RN_FOR(<:RN_P:>, 0, $2, <:m4_ifelse($3(RN_P), 1,
<:          const RN_VT xq<::>RN_P = vld1q_f32(&$4(RN_P, <:i:>));
:>):>)RN_FOR(<:RN_L:>, 0, 4, <:          {
RN_FOR(<:RN_V:>, 0, RN_NV, <:            const RN_VT RN_CB_WV(RN_V) = RN_VLOAD(wi + m4_eval(RN_CB_VOFF(RN_V) + RN_L * RN_CB_WI));
:>)RN_FOR(<:RN_P:>, 0, $2, <:m4_ifelse($3(RN_P), 1, <:RN_FOR(<:RN_V:>, 0, RN_NV,
<:            RN_CB_ACC(RN_V, RN_P) = RN_VFMALANE(RN_CB_ACC(RN_V, RN_P), RN_CB_WV(RN_V), xq<::>RN_P, RN_L);
:>):>):>)          }
:>)        }
      }
:>):>)
m4_dnl
m4_dnl RN_CB_ANY(VALID, npx): 1 when some pixel of the tile is valid
m4_define(<:RN_CB_ANY:>, <:m4_eval(0 RN_FOR(<:RN_P:>, 0, $2, <:|| $1(RN_P):>)):>)
m4_define(<:RN_CB_INT_VALID:>, 1)
m4_define(<:RN_CB_INT_XADDR:>, <:xk[m4_eval(($1) * P_SW * P_IB) + $2]:>)
m4_define(<:RN_CB_EDGE_COL:>, <:m4_eval(((RN_TOX0) + ($1)) * P_SW - P_PL + RN_KW):>)
m4_define(<:RN_CB_EDGE_VALID:>, <:m4_eval(RN_CB_EDGE_COL($1) >= 0 && RN_CB_EDGE_COL($1) < P_W):>)
m4_define(<:RN_CB_EDGE_XADDR:>, <:xr[m4_eval(RN_CB_EDGE_COL($1) * P_IB) + $2]:>)
m4_define(<:RN_CB_STEP:>, <:m4_ifelse(RN_CB_ISA<::>m4_eval(P_IB % 4), <:NEON0:>, <:RN_CB_STEP_LANE($@):>, <:RN_CB_STEP_BCAST($@):>):>)
m4_dnl
m4_dnl RN_CB_INIT(npx): accumulators = bias (+ residual)
m4_define(<:RN_CB_INIT:>, <:RN_FOR(<:RN_V:>, 0, RN_NV, <:        const RN_VT bv<::>RN_V = RN_VLOAD(b + ocb0 * 16 + m4_eval(RN_V * RN_VL));
RN_FOR(<:RN_P:>, 0, $1, <:m4_ifelse(P_RES<::>P_RV, 10, <:        RN_CB_ACC(RN_V, RN_P) = RN_VADD(bv<::>RN_V, RN_VLOAD(rb + (yt - y - yb) + m4_eval(RN_CB_YOFF(RN_V) + RN_P * 16)));
:>, P_RES<::>RN_CB_RFAST, 11, <:        RN_CB_ACC(RN_V, RN_P) = rp<::>RN_CB_BLK(RN_V) ? RN_VADD(bv<::>RN_V, RN_VLOAD(rp<::>RN_CB_BLK(RN_V) + m4_eval(RN_P * P_RTW * 16 + RN_V % (16 / RN_VL) * RN_VL))) : bv<::>RN_V;
:>, P_RES, 1, <:        RN_CB_ACC(RN_V, RN_P) = RN_VADD(bv<::>RN_V, RN_VLOAD(rv + m4_eval(RN_CB_BLK(RN_V) * 16 * RN_CB_TPX_CUR + RN_P * 16 + RN_V % (16 / RN_VL) * RN_VL)));
:>, <:        RN_CB_ACC(RN_V, RN_P) = bv<::>RN_V;
:>):>):>):>)
m4_dnl
m4_dnl RN_CB_GATHER(npx, ox0): the option-A residual of the tile.  When the
m4_dnl view's channel offset and count are multiples of 16 (32 -> 64 channels
m4_dnl padded 16 each side, say), every output block is one whole block of r
m4_dnl or zeros: rp<j> points at block j's first pixel (NULL: zeros) and
m4_dnl RN_CB_INIT loads vectors from it.  Otherwise the residual is gathered
m4_dnl into rv [nocb][npx][16] (zero where the channel is outside r).
m4_define(<:RN_CB_RFAST:>, <:m4_eval(P_RC0 % 16 == 0 && P_RC % 16 == 0):>)
m4_define(<:RN_CB_GATHER:>, <:m4_ifelse(RN_CB_RFAST, 1, <:RN_FOR(<:RN_RJ:>, 0, m4_eval(RN_NV / (16 / RN_VL)), <:m4_dnl
        const int rcb<::>RN_RJ = ocb0 + RN_RJ - m4_eval(P_RC0 / 16);
        const float *rp<::>RN_RJ = rcb<::>RN_RJ >= 0 && rcb<::>RN_RJ < m4_eval(P_RC / 16) ? r + (((size_t)rcb<::>RN_RJ * P_RH +
            P_RSH + oy * P_RTH) * P_RW + P_RSW + (size_t)($2) * P_RTW) * 16 : NULL;
:>):>, <:m4_dnl
        float rv[m4_eval(RN_NV / (16 / RN_VL) * $1 * 16)];
        {
          int j, p, o;
          for (j = 0; j < m4_eval(RN_NV / (16 / RN_VL)); j++)
            for (p = 0; p < $1; p++)
              for (o = 0; o < 16; o++) {
                const int c = (ocb0 + j) * 16 + o - P_RC0;
                rv[(j * $1 + p) * 16 + o] = c >= 0 && c < P_RC ? r[(((size_t)(c / 16) * P_RH + P_RSH + oy * P_RTH) * P_RW +
                    P_RSW + ((size_t)($2) + p) * P_RTW) * 16 + c % 16] : 0.0f;
              }
        }
:>):>)
m4_dnl
m4_dnl RN_CB_ACTV(v): the activation; RN_CB_STORE(npx, F): store F(acc)
m4_define(<:RN_CB_ACTV:>, <:m4_ifelse(P_ACT, <:relu:>, <:RN_VMAX($1, RN_VSET1(0.0f)):>, P_ACT, <:clip:>,
<:RN_VMIN(RN_VMAX($1, RN_VSET1(P_ACT_LO)), RN_VSET1(P_ACT_HI)):>, P_ACT, <:leakyrelu:>,
<:RN_VLEAKY($1, RN_VSET1(P_ACT_ALPHA)):>, <:$1:>):>)
m4_define(<:RN_CB_STORE:>, <:RN_FOR(<:RN_V:>, 0, RN_NV, <:RN_FOR(<:RN_P:>, 0, $1,
<:        RN_VSTORE(yt + m4_eval(RN_CB_YOFF(RN_V) + RN_P * 16), $2(RN_CB_ACC(RN_V, RN_P)));
:>):>):>)
m4_dnl
m4_dnl RN_CB_TILE(npx, ox0, edge): one register tile of NV vectors x npx
m4_dnl pixels at output column ox0 (a C expression; a number when edge = 1).
m4_define(<:RN_CB_TILE:>, <:m4_pushdef(<:RN_TOX0:>, <:$2:>)m4_pushdef(<:RN_CB_TPX_CUR:>, <:$1:>)    {
RN_FOR(<:RN_V:>, 0, RN_NV, <:RN_FOR(<:RN_P:>, 0, $1, <:      RN_VT RN_CB_ACC(RN_V, RN_P);
:>):>)m4_dnl
      float *yt = y + yb + (size_t)(oy * P_OW + ($2)) * 16;
      int icb;
m4_ifelse(RN_CB_SINGLE, 1, <:m4_ifelse(P_RES<::>P_RV, 11, <:RN_CB_GATHER($1, $2):>)RN_CB_INIT($1):>, <:      if (first) {
m4_ifelse(P_RES<::>P_RV, 11, <:RN_CB_GATHER($1, $2):>)RN_CB_INIT($1)      } else {
RN_FOR(<:RN_V:>, 0, RN_NV, <:RN_FOR(<:RN_P:>, 0, $1, <:        RN_CB_ACC(RN_V, RN_P) = RN_VLOAD(yt + m4_eval(RN_CB_YOFF(RN_V) + RN_P * 16));
:>):>)m4_dnl
      }
:>)m4_dnl
      for (icb = ic0; icb < ic1; icb++) {
        const float *xc = x + (size_t)icb * RN_CB_XCB;
        const float *wc = wg + (size_t)icb * m4_eval(P_KH * P_KW * P_IB * RN_CB_WI);
        int kh;
        for (kh = kh0; kh < kh1; kh++) {
          const float *xr = xc + (size_t)(oy * P_SH - P_PT + kh) * m4_eval(P_W * P_IB);
          const float *wr = wc + kh * m4_eval(P_KW * P_IB * RN_CB_WI);
          (void)xr; (void)wr;
m4_ifelse($3, 0, <:m4_dnl
          const float *xk = xr + (($2) * P_SW - P_PL) * P_IB;
          int kw;
          for (kw = 0; kw < P_KW; kw++, xk += P_IB) {
            const float *wk = wr + kw * m4_eval(P_IB * RN_CB_WI);
RN_CB_STEP(<:wk:>, $1, <:RN_CB_INT_VALID:>, <:RN_CB_INT_XADDR:>, m4_ifelse(m4_eval(P_IB % P_UNROLL), 0, P_UNROLL, 1))m4_dnl
          }
:>, <:RN_FOR(<:RN_KW:>, 0, P_KW, <:RN_CB_STEP(<:(wr + m4_eval(RN_KW * P_IB * RN_CB_WI)):>, $1, <:RN_CB_EDGE_VALID:>, <:RN_CB_EDGE_XADDR:>, 1)m4_dnl
:>):>)m4_dnl
        }
      }
m4_ifelse(RN_CB_SINGLE<::>P_ACT, 1<::>P_ACT, <:RN_CB_STORE($1, <:RN_CB_ACTV:>):>, P_ACT, <:none:>, <:RN_CB_STORE($1, <::>):>, <:      if (last) {
RN_CB_STORE($1, <:RN_CB_ACTV:>)      } else {
RN_CB_STORE($1, <::>)      }
:>)m4_dnl
    }
m4_popdef(<:RN_TOX0:>, <:RN_CB_TPX_CUR:>):>)
m4_dnl
m4_dnl RN_CB_EDGE(t, npx): 1 when tile t of width npx touches the padding
m4_define(<:RN_CB_EDGE:>, <:m4_eval($1 * RN_TPX * P_SW - P_PL < 0 || ($1 * RN_TPX + $2 - 1) * P_SW - P_PL + P_KW > P_W):>)
m4_dnl
m4_dnl RN_CB_GROUP(nocb): all output rows for one group of nocb channel
m4_dnl blocks starting at block ocb0 (a C variable).
m4_define(<:RN_CB_GROUP:>, <:m4_pushdef(<:RN_NV:>, m4_eval($1 * 16 / RN_VL))m4_pushdef(<:RN_CB_SINGLE:>, m4_eval(RN_TICC >= RN_CB_ICB))m4_dnl
  {
    const float *wg = w + (size_t)(ocb0 / P_WG) * RN_CB_WGS + (size_t)(ocb0 % P_WG) * 16;
    const size_t yb = (size_t)ocb0 * RN_CB_YCB;
m4_ifelse(P_RES<::>P_RV, 10, <:    const float *rb = r + yb;
:>)m4_dnl
    int ic0;
    for (ic0 = 0; ic0 < RN_CB_ICB; ic0 += RN_TICC) {
      const int ic1 = ic0 + RN_TICC < RN_CB_ICB ? ic0 + RN_TICC : RN_CB_ICB;
m4_ifelse(RN_CB_SINGLE, 1, <::>, <:      const int first = ic0 == 0, last = ic1 == RN_CB_ICB;
      (void)first; (void)last;
:>)m4_dnl
m4_ifelse(RN_TPF, 0, <::>, <:      /* the weights that follow this chunk in memory (the next chunk, or
       * the next group's first): prefetched into L2 while this one is
       * computed, RN_TPF line(s) every RN_TPFK input-channel iteration(s), so that a layer whose
       * weights come from memory streams them at an even pace instead of
       * stalling at the start of every chunk */
      size_t pfo = (size_t)(wg - w) + (size_t)ic1 * m4_eval(P_KH * P_KW * P_IB * RN_CB_WI);
      const size_t pfe = pfo + m4_eval(RN_TICC * P_KH * P_KW * P_IB * RN_CB_WI) < RN_CB_WTOT ?
          pfo + m4_eval(RN_TICC * P_KH * P_KW * P_IB * RN_CB_WI) : RN_CB_WTOT;
m4_ifelse(RN_TPFK, 1, <::>, <:      int pfc = 0;
:>)m4_dnl
:>)m4_dnl
      int oy;
      for (oy = 0; oy < P_OH; oy++) {
        const int kh0 = oy * P_SH - P_PT < 0 ? P_PT - oy * P_SH : 0;
        const int kh1 = oy * P_SH - P_PT + P_KH > P_H ? P_H - oy * P_SH + P_PT : P_KH;
RN_FOR(<:RN_T:>, 0, RN_TTL, <:m4_pushdef(<:RN_CB_W_:>, RN_CB_MIN(m4_eval(P_OW - RN_T * RN_TPX), RN_TPX))m4_dnl
RN_CB_TILE(RN_CB_W_, m4_eval(RN_T * RN_TPX), RN_CB_EDGE(RN_T, RN_CB_W_))m4_popdef(<:RN_CB_W_:>):>)m4_dnl
m4_ifelse(m4_eval(RN_TTR > RN_TTL), 1, <:        {
          int t;
          for (t = RN_TTL; t < RN_TTR; t++)
RN_CB_TILE(RN_TPX, <:t * RN_TPX:>, 0)m4_dnl
        }
:>)m4_dnl
RN_FOR(<:RN_T:>, m4_ifelse(m4_eval(RN_TTR > RN_TTL), 1, RN_TTR, RN_TTL), RN_TNT, <:m4_pushdef(<:RN_CB_W_:>, RN_CB_MIN(m4_eval(P_OW - RN_T * RN_TPX), RN_TPX))m4_dnl
RN_CB_TILE(RN_CB_W_, m4_eval(RN_T * RN_TPX), RN_CB_EDGE(RN_T, RN_CB_W_))m4_popdef(<:RN_CB_W_:>):>)m4_dnl
      }
    }
  }
m4_popdef(<:RN_NV:>, <:RN_CB_SINGLE:>):>)
m4_dnl
m4_dnl RN_CB_VEC_BODY(isa): the function for one vector ISA.
m4_define(<:RN_CB_VEC_BODY:>, <:m4_pushdef(<:RN_CB_ISA:>, <:$1:>)m4_dnl
m4_pushdef(<:RN_TOCB:>, RN_PV($1<:_OCB:>))m4_pushdef(<:RN_TPX:>, RN_PV($1<:_PX:>))m4_dnl
m4_pushdef(<:RN_TICC:>, RN_PV($1<:_ICC:>))m4_pushdef(<:RN_TTL:>, RN_PV($1<:_TL:>))m4_dnl
m4_pushdef(<:RN_TTR:>, RN_PV($1<:_TR:>))m4_pushdef(<:RN_TNT:>, RN_PV($1<:_NT:>))m4_dnl
m4_pushdef(<:RN_TPF:>, RN_PV($1<:_PF:>))m4_pushdef(<:RN_TPFK:>, RN_PV($1<:_PFK:>))m4_dnl
/* tile: RN_TOCB blocks x RN_TPX pixels, RN_TICC input blocks per chunk, prefetch RN_TPF/RN_TPFK */
RN_NOINLINE<::>static void RN_FNAME<::>(const float *restrict x, const float *restrict w,
    const float *restrict b, const float *r, float *y)
{
  int ocb0;
m4_ifelse(P_RES, 1, <::>, <:  (void)r;
:>)m4_dnl
  for (ocb0 = 0; ocb0 + RN_TOCB <= RN_CB_OCBT; ocb0 += RN_TOCB)
RN_CB_GROUP(RN_TOCB)m4_dnl
m4_ifelse(m4_eval(RN_CB_OCBT % RN_TOCB), 0, <::>, <:  ocb0 = m4_eval(RN_CB_OCBT - RN_CB_OCBT % RN_TOCB);
RN_CB_GROUP(m4_eval(RN_CB_OCBT % RN_TOCB)):>)m4_dnl
}
m4_popdef(<:RN_TOCB:>, <:RN_TPX:>, <:RN_TICC:>, <:RN_TTL:>, <:RN_TTR:>, <:RN_TNT:>, <:RN_TPF:>, <:RN_TPFK:>, <:RN_CB_ISA:>):>)
m4_dnl
m4_dnl ---- the portable body ------------------------------------------------
m4_dnl Plain loops over one output pixel and 16 channels; compilers vectorise
m4_dnl the innermost loop.  Kernel columns are clipped by loop bounds.
m4_define(<:RN_CB_SCALAR_BODY:>, <:RN_NOINLINE<::>static void RN_FNAME<::>(const float *restrict x, const float *restrict w,
    const float *restrict b, const float *r, float *y)
{
  int ocb, ic0, oy, ox, o;
m4_ifelse(P_RES, 1, <::>, <:  (void)r;
:>)m4_dnl
  for (ocb = 0; ocb < RN_CB_OCBT; ocb++)
  for (ic0 = 0; ic0 < RN_CB_ICB; ic0 += P_SCALAR_ICC) {
    const int ic1 = ic0 + P_SCALAR_ICC < RN_CB_ICB ? ic0 + P_SCALAR_ICC : RN_CB_ICB;
    for (oy = 0; oy < P_OH; oy++) {
      const int kh0 = oy * P_SH - P_PT < 0 ? P_PT - oy * P_SH : 0;
      const int kh1 = oy * P_SH - P_PT + P_KH > P_H ? P_H - oy * P_SH + P_PT : P_KH;
      for (ox = 0; ox < P_OW; ox++) {
        const int kw0 = ox * P_SW - P_PL < 0 ? P_PL - ox * P_SW : 0;
        const int kw1 = ox * P_SW - P_PL + P_KW > P_W ? P_W - ox * P_SW + P_PL : P_KW;
        float *yp = y + ((size_t)(ocb * P_OH + oy) * P_OW + ox) * 16;
        float acc[16];
        int icb, kh, kw, i;
        if (ic0 == 0)
          for (o = 0; o < 16; o++) {
            acc[o] = b[ocb * 16 + o];
m4_ifelse(P_RES<::>P_RV, 10, <:            acc[o] += r[yp - y + o];
:>, P_RES, 1, <:            {
              const int c = ocb * 16 + o - P_RC0;
              if (c >= 0 && c < P_RC)
                acc[o] += r[(((size_t)(c / 16) * P_RH + P_RSH + oy * P_RTH) * P_RW + P_RSW + (size_t)ox * P_RTW) * 16 + c % 16];
            }
:>)m4_dnl
          }
        else
          for (o = 0; o < 16; o++) acc[o] = yp[o];
        for (icb = ic0; icb < ic1; icb++)
        for (kh = kh0; kh < kh1; kh++)
        for (kw = kw0; kw < kw1; kw++) {
          const float *xp = x + ((size_t)(icb * P_H + oy * P_SH - P_PT + kh) * P_W + ox * P_SW - P_PL + kw) * P_IB;
          const float *wp = w + (size_t)(ocb / P_WG) * RN_CB_WGS + (((size_t)icb * P_KH + kh) * P_KW + kw) * m4_eval(P_IB * RN_CB_WI) + (size_t)(ocb % P_WG) * 16;
          for (i = 0; i < P_IB; i++) {
            const float xv = xp[i];
            for (o = 0; o < 16; o++) acc[o] += xv * wp[i * RN_CB_WI + o];
          }
        }
        if (ic1 < RN_CB_ICB) {
          for (o = 0; o < 16; o++) yp[o] = acc[o];
          continue;
        }
        for (o = 0; o < 16; o++) {
          float v = acc[o];
          RN_ACT(<:v:>)
          yp[o] = v;
        }
      }
    }
  }
}
:>)
m4_dnl
m4_define(<:RN_CONVB__simd:>, <:RN_NEED(CIN, COUT, H, W, OH, OW, KH, KW, SH, SW, PT, PL, IB, WG, RES, RV, UNROLL, SCALAR_ICC)m4_dnl
RN_ONEOF(<:IB:>, <:16:>, <:1:>)RN_CB_DERIVE()RN_HELPER(<:noinline:>)m4_dnl
/* Direct convolution P_CIN -> P_COUT, P_KH<:x:>P_KW stride P_SH<:x:>P_SW pad P_PT<:,:>P_PL,
 * P_H<:x:>P_W -> P_OH<:x:>P_OW, NCHW16c (input block P_IB), epilogue bias<::>m4_ifelse(P_RES, 1, <: + residual:>)<::>m4_ifelse(P_ACT, <:none:>, <::>, <: + P_ACT:>).
 * One body per ISA, chosen when this file is compiled (templates/k_conv_nchwc.m4). */
#if 0
m4_ifelse(P_ISA_AVX512, 1, <:#elif defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>
RN_CB_VEC_BODY(<:AVX512:>):>)m4_dnl
m4_ifelse(P_ISA_AVX2, 1, <:#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
RN_CB_VEC_BODY(<:AVX2:>):>)m4_dnl
m4_ifelse(P_ISA_NEON, 1, <:#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
RN_CB_VEC_BODY(<:NEON:>):>)m4_dnl
#else
RN_CB_SCALAR_BODY()m4_dnl
#endif
RN_CB_UNDERIVE()m4_dnl
:>)
m4_dnl When the ISA preference (EmitOptions.isa) has no simd: the portable
m4_dnl body alone.
m4_define(<:RN_CONVB__scalar:>, <:m4_pushdef(<:P_ISA_AVX512:>, 0)m4_pushdef(<:P_ISA_AVX2:>, 0)m4_dnl
m4_pushdef(<:P_ISA_NEON:>, 0)RN_CONVB__simd()m4_popdef(<:P_ISA_AVX512:>, <:P_ISA_AVX2:>, <:P_ISA_NEON:>):>)
