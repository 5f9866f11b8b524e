m4_divert(-1)
# conv_nchwc.m4 - direct convolution on channel-blocked activations.
#
# Expanded with GNU m4 in prefix mode (m4 -P) after a prelude of
# m4_define lines written by kern_conv_prelude() (compiler/kernels.c),
# which also chooses the register tiles.  One expansion is one static C
# function, KNAME, with one body per instruction set in an #if chain:
#
#   #if 0 / #elif __AVX512F__ / #elif __AVX2__ && __FMA__ /
#   #elif __ARM_NEON && __aarch64__ / #else portable C / #endif
#
# so that the same generated file builds anywhere and runs the widest
# body the compiler is allowed to use.
#
# Layouts (float32, every channel count padded to a multiple of the block):
#   x  input,  [ICB][H][W][IB]        IB = 16 (NCHW16c) or 1 (plain NCHW, the
#                                     stem); ICB = ceil(CIN/IB)
#   w  packed, [OCBP/WG][ICB][KH][KW][IB][WG][16]   (pack_conv_nchwc,
#                                     compiler/pack.c): groups of WG output
#                                     blocks interleaved, so that one step of
#                                     a tile reads contiguous weights
#   b  bias,   [OCBT*16], zero past COUT
#   r  residual, same layout as y (only read when RES = 1; may equal y)
#   y  output, [OCBT][OH][OW][16]     OCBT = ceil(COUT/16)
#
#   y = act(conv(x, w) + b (+ r))
#
# The residual seeds the accumulators together with the bias, so r is read
# before y is first written and y may alias r (an in-place residual).
#
# Method (the MLAS / oneDNN NCHWc direct convolution): a register tile of
# TOCB output-channel blocks x TPX output pixels of one row accumulates in
# vector registers.  Each step loads one packed weight vector per channel
# block and broadcasts one input scalar per pixel: TOCB*16/VL loads and TPX
# broadcasts feed TOCB*16/VL*TPX FMAs.  NEON instead loads four input
# channels per pixel and uses fmla by lane.  Input channels are walked in
# chunks of ICC blocks so that the packed weights of a chunk stay in cache;
# between chunks the partial sums live in y.
#
# Padding costs no branch in the inner loop.  Rows: the valid kernel rows of
# an output row are the loop bounds kh0..kh1.  Columns: the tiles of a row
# that touch the left or right padding (tiles [0,TL) and [TR,NT)) are
# expanded at generation time with their column known, and only the
# (pixel, kernel column) products that read inside the image are emitted;
# the tiles in between run a plain loop over all kernel columns.  The last
# tile of a row may be narrower than TPX.
#
# Parameters (m4 macros; all integers are C int constants):
#   KNAME                 function name
#   CIN COUT H W OH OW    channels and spatial sizes
#   KH KW SH SW PT PL     kernel, stride, top/left padding (the bottom and
#                         right padding are implied by OH and OW)
#   IB                    input block: 16 or 1
#   WG                    output blocks per weight group (default 1); every
#                         tile width in blocks divides WG or is a multiple
#   RES                   1: add r before the activation
#   ACT                   none | relu | clip | leaky; ACT_LO ACT_HI ACT_ALPHA
#                         are C float literals for clip / leaky
#   ISAS                  for each of AVX512 AVX2 NEON present: ISA_<X> = 1
#                         and <X>_OCB <X>_PX <X>_ICC <X>_TL <X>_TR <X>_NT
#                         (oc blocks and pixels of the tile, ic chunk in
#                         blocks, first interior tile, end of the interior
#                         tiles, tiles per row)
#   SCALAR_ICC            ic chunk of the portable body
#   UNROLL                input channels per loop iteration (default 4)
#
# Comments in this file avoid the apostrophe: it closes an m4 quote.

# ---- helpers --------------------------------------------------------------
# RN_FOR(VAR, FROM, TO, BODY): BODY for VAR = FROM .. TO-1 (none if TO <= FROM)
m4_define(`RN_FOR', `m4_ifelse(m4_eval(($3) > ($2)), 1,
  `m4_pushdef(`$1', m4_eval($2))_RN_FOR(`$1', m4_eval($3), `$4')m4_popdef(`$1')')')
m4_define(`_RN_FOR', `$3`'m4_ifelse(m4_eval($1 + 1 < $2), 1,
  `m4_define(`$1', m4_incr($1))_RN_FOR(`$1', `$2', `$3')')')
m4_define(`RN_MIN', `m4_ifelse(m4_eval(($1) < ($2)), 1, `$1', `$2')')
m4_define(`RN_ERR', `m4_errprint(`conv_nchwc.m4: $1
')m4_m4exit(1)')

# ---- derived constants ----------------------------------------------------
m4_ifdef(`KNAME', `', `RN_ERR(`KNAME undefined')')
m4_ifelse(IB, 16, `', IB, 1, `', `RN_ERR(`IB must be 16 or 1')')
m4_define(`ICB', m4_eval((CIN + IB - 1) / IB))
m4_define(`OCBT', m4_eval((COUT + 15) / 16))
m4_ifdef(`WG', `', `m4_define(`WG', 1)')
m4_define(`OCBP', m4_eval((OCBT + WG - 1) / WG * WG))   # oc blocks, padded to groups
m4_define(`WI', m4_eval(WG * 16))                      # floats per input channel of w
m4_define(`WGS', m4_eval(ICB * KH * KW * IB * WI))     # floats per group of w
m4_define(`XCB', m4_eval(H * W * IB))                # floats per input block
m4_define(`YCB', m4_eval(OH * OW * 16))              # floats per output block
m4_ifdef(`UNROLL', `', `m4_define(`UNROLL', 4)')

# ---- per-ISA primitives ---------------------------------------------------
# <ISA>_<OP> are the operations of one ISA; the generic names dispatch on
# ISANAME, set while one body is expanded.
m4_define(`AVX512_VT', `__m512')m4_define(`AVX512_VL', 16)
m4_define(`AVX512_VLOAD', `_mm512_loadu_ps($1)')
m4_define(`AVX512_VBCAST', `_mm512_set1_ps($1)')
m4_define(`AVX512_VFMA', `_mm512_fmadd_ps($2, $3, $1)')
m4_define(`AVX512_VADD', `_mm512_add_ps($1, $2)')
m4_define(`AVX512_VMAX', `_mm512_max_ps($1, $2)')
m4_define(`AVX512_VMIN', `_mm512_min_ps($1, $2)')
m4_define(`AVX512_VSET1', `_mm512_set1_ps($1)')
m4_define(`AVX512_VSTORE', `_mm512_storeu_ps($1, $2)')
m4_define(`AVX512_VLEAKY', `_mm512_mask_blend_ps(_mm512_cmp_ps_mask($1, _mm512_setzero_ps(), _CMP_LT_OQ), $1, _mm512_mul_ps($1, $2))')

m4_define(`AVX2_VT', `__m256')m4_define(`AVX2_VL', 8)
m4_define(`AVX2_VLOAD', `_mm256_loadu_ps($1)')
m4_define(`AVX2_VBCAST', `_mm256_broadcast_ss(&($1))')
m4_define(`AVX2_VFMA', `_mm256_fmadd_ps($2, $3, $1)')
m4_define(`AVX2_VADD', `_mm256_add_ps($1, $2)')
m4_define(`AVX2_VMAX', `_mm256_max_ps($1, $2)')
m4_define(`AVX2_VMIN', `_mm256_min_ps($1, $2)')
m4_define(`AVX2_VSET1', `_mm256_set1_ps($1)')
m4_define(`AVX2_VSTORE', `_mm256_storeu_ps($1, $2)')
m4_define(`AVX2_VLEAKY', `_mm256_blendv_ps($1, _mm256_mul_ps($1, $2), _mm256_cmp_ps($1, _mm256_setzero_ps(), _CMP_LT_OQ))')

m4_define(`NEON_VT', `float32x4_t')m4_define(`NEON_VL', 4)
m4_define(`NEON_VLOAD', `vld1q_f32($1)')
m4_define(`NEON_VBCAST', `vdupq_n_f32($1)')
m4_define(`NEON_VFMA', `vfmaq_f32($1, $2, $3)')
m4_define(`NEON_VFMALANE', `vfmaq_laneq_f32($1, $2, $3, $4)')
m4_define(`NEON_VADD', `vaddq_f32($1, $2)')
m4_define(`NEON_VMAX', `vmaxq_f32($1, $2)')
m4_define(`NEON_VMIN', `vminq_f32($1, $2)')
m4_define(`NEON_VSET1', `vdupq_n_f32($1)')
m4_define(`NEON_VSTORE', `vst1q_f32($1, $2)')
m4_define(`NEON_VLEAKY', `vbslq_f32(vcltq_f32($1, vdupq_n_f32(0.0f)), vmulq_f32($1, $2), $1)')

m4_define(`VT', `m4_indir(ISANAME`_VT')')
m4_define(`VL', `m4_indir(ISANAME`_VL')')
m4_define(`VLOAD', `m4_indir(ISANAME`_VLOAD', $@)')
m4_define(`VBCAST', `m4_indir(ISANAME`_VBCAST', $@)')
m4_define(`VFMA', `m4_indir(ISANAME`_VFMA', $@)')
m4_define(`VFMALANE', `m4_indir(ISANAME`_VFMALANE', $@)')
m4_define(`VADD', `m4_indir(ISANAME`_VADD', $@)')
m4_define(`VMAX', `m4_indir(ISANAME`_VMAX', $@)')
m4_define(`VMIN', `m4_indir(ISANAME`_VMIN', $@)')
m4_define(`VSET1', `m4_indir(ISANAME`_VSET1', $@)')
m4_define(`VSTORE', `m4_indir(ISANAME`_VSTORE', $@)')
m4_define(`VLEAKY', `m4_indir(ISANAME`_VLEAKY', $@)')

# ---- the vector body ------------------------------------------------------
# Names: accumulator of vector v (0 .. NV-1) and pixel p: a<v>_<p>;
# weight vector v: w<v>; vector v covers output channel block v/(16/VL),
# lanes (v%(16/VL))*VL .. +VL-1.
m4_define(`ACC', `a$1_$2')
m4_define(`WV', `w$1')
m4_define(`VOFF', `m4_eval(($1) / (16 / VL) / WG * WGS + ($1) / (16 / VL) % WG * 16 + ($1) % (16 / VL) * VL)')   # in w
m4_define(`YOFF', `m4_eval(($1) / (16 / VL) * YCB + ($1) % (16 / VL) * VL)')    # in y

# STEP_BCAST(wptr, npx, VALID, XADDR, U): one kernel tap, all IB input
# channels, in a loop unrolled U times.  XADDR(p, c) is the input element
# of channel c (a C expression) for pixel p; VALID(p) is 1 when pixel p
# reads inside the image.  Nothing is emitted when no pixel is valid.
m4_define(`STEP_BCAST', `m4_ifelse(RN_ANY(`$3', $2), 1, `      {
        int i;
        for (i = 0; i < IB; i += $5) {
          const float *wi = $1 + i * WI;
RN_FOR(`RN_U', 0, $5, `          {
RN_FOR(`RN_V', 0, NV, `            const VT WV(RN_V) = VLOAD(wi + m4_eval(VOFF(RN_V) + RN_U * WI));
')RN_FOR(`RN_P', 0, $2, `m4_ifelse($3(RN_P), 1, `            { const VT bx = VBCAST($4(RN_P, `i + RN_U'));
RN_FOR(`RN_V', 0, NV, `              ACC(RN_V, RN_P) = VFMA(ACC(RN_V, RN_P), WV(RN_V), bx);
')            }
')')          }
')        }
      }
')')

# STEP_LANE: NEON with IB a multiple of 4: one 4-channel load per pixel,
# then fmla by lane; the loop steps over quads of input channels.
m4_define(`STEP_LANE', `m4_ifelse(RN_ANY(`$3', $2), 1, `      {
        int i;
        for (i = 0; i < IB; i += 4) {
          const float *wi = $1 + i * WI;
RN_FOR(`RN_P', 0, $2, `m4_ifelse($3(RN_P), 1,
`          const VT xq`'RN_P = vld1q_f32(&$4(RN_P, `i'));
')')RN_FOR(`RN_L', 0, 4, `          {
RN_FOR(`RN_V', 0, NV, `            const VT WV(RN_V) = VLOAD(wi + m4_eval(VOFF(RN_V) + RN_L * WI));
')RN_FOR(`RN_P', 0, $2, `m4_ifelse($3(RN_P), 1, `RN_FOR(`RN_V', 0, NV,
`            ACC(RN_V, RN_P) = VFMALANE(ACC(RN_V, RN_P), WV(RN_V), xq`'RN_P, RN_L);
')')')          }
')        }
      }
')')

# RN_ANY(VALID, npx): 1 when some pixel of the tile is valid
m4_define(`RN_ANY', `m4_eval(0 RN_FOR(`RN_P', 0, $2, `|| $1(RN_P)'))')

m4_define(`INT_VALID', 1)
m4_define(`INT_XADDR', `xk[m4_eval(($1) * SW * IB) + $2]')
m4_define(`EDGE_COL', `m4_eval(((TOX0) + ($1)) * SW - PL + RN_KW)')
m4_define(`EDGE_VALID', `m4_eval(EDGE_COL($1) >= 0 && EDGE_COL($1) < W)')
m4_define(`EDGE_XADDR', `xr[m4_eval(EDGE_COL($1) * IB) + $2]')
m4_define(`STEP', `m4_ifelse(ISANAME`'m4_eval(IB % 4), `NEON0', `STEP_LANE($@)', `STEP_BCAST($@)')')

# INIT_BIAS(npx): accumulators = bias (+ residual)
m4_define(`INIT_BIAS', `RN_FOR(`RN_V', 0, NV, `        const VT bv`'RN_V = VLOAD(b + ocb0 * 16 + m4_eval(RN_V * VL));
RN_FOR(`RN_P', 0, $1, `m4_ifelse(RES, 1, `        ACC(RN_V, RN_P) = VADD(bv`'RN_V, VLOAD(rb + (yt - y - yb) + m4_eval(YOFF(RN_V) + RN_P * 16)));
', `        ACC(RN_V, RN_P) = bv`'RN_V;
')')')')

# ACTV(v): the activation of the epilogue; STORE_ACT(npx, F): store F(acc)
m4_define(`ACTV', `m4_ifelse(ACT, relu, `VMAX($1, VSET1(0.0f))', ACT, clip,
  `VMIN(VMAX($1, VSET1(ACT_LO)), VSET1(ACT_HI))', ACT, leaky, `VLEAKY($1, VSET1(ACT_ALPHA))', `$1')')
m4_define(`STORE_ACT', `RN_FOR(`RN_V', 0, NV, `RN_FOR(`RN_P', 0, $1,
`        VSTORE(yt + m4_eval(YOFF(RN_V) + RN_P * 16), $2(ACC(RN_V, RN_P)));
')')')

# TILE(npx, ox0, edge): one register tile of NV vectors x npx pixels at
# output column ox0 (a C expression; a number when edge = 1).
m4_define(`TILE', `m4_pushdef(`TOX0', `$2')    {
RN_FOR(`RN_V', 0, NV, `RN_FOR(`RN_P', 0, $1, `      VT ACC(RN_V, RN_P);
')')m4_dnl
      float *yt = y + yb + (size_t)(oy * OW + ($2)) * 16;
      int icb;
m4_ifelse(SINGLE, 1, `INIT_BIAS($1)', `      if (first) {
INIT_BIAS($1)      } else {
RN_FOR(`RN_V', 0, NV, `RN_FOR(`RN_P', 0, $1, `        ACC(RN_V, RN_P) = VLOAD(yt + m4_eval(YOFF(RN_V) + RN_P * 16));
')')m4_dnl
      }
')m4_dnl
      for (icb = ic0; icb < ic1; icb++) {
        const float *xc = x + (size_t)icb * XCB;
        const float *wc = wg + (size_t)icb * m4_eval(KH * KW * IB * WI);
        int kh;
        for (kh = kh0; kh < kh1; kh++) {
          const float *xr = xc + (size_t)(oy * SH - PT + kh) * m4_eval(W * IB);
          const float *wr = wc + kh * m4_eval(KW * IB * WI);
          (void)xr; (void)wr;
m4_ifelse($3, 0, `m4_dnl
          const float *xk = xr + (($2) * SW - PL) * IB;
          int kw;
          for (kw = 0; kw < KW; kw++, xk += IB) {
            const float *wk = wr + kw * m4_eval(IB * WI);
STEP(`wk', $1, `INT_VALID', `INT_XADDR', m4_ifelse(m4_eval(IB % UNROLL), 0, UNROLL, 1))m4_dnl
          }
', `RN_FOR(`RN_KW', 0, KW, `STEP(`(wr + m4_eval(RN_KW * IB * WI))', $1, `EDGE_VALID', `EDGE_XADDR', 1)m4_dnl
')')m4_dnl
        }
      }
m4_ifelse(SINGLE`'ACT, 1`'ACT, `STORE_ACT($1, `ACTV')', ACT, none, `STORE_ACT($1, `')', `      if (last) {
STORE_ACT($1, `ACTV')      } else {
STORE_ACT($1, `')      }
')m4_dnl
    }
m4_popdef(`TOX0')')

# GROUP(nocb): all output rows for one group of nocb channel blocks starting
# at block ocb0 (a C variable).
m4_define(`GROUP', `m4_pushdef(`NV', m4_eval($1 * 16 / VL))m4_pushdef(`SINGLE', m4_eval(TICC >= ICB))m4_dnl
  {
    const float *wg = w + (size_t)(ocb0 / WG) * WGS + (size_t)(ocb0 % WG) * 16;
    const size_t yb = (size_t)ocb0 * YCB;
m4_ifelse(RES, 1, `    const float *rb = r + yb;
')m4_dnl
    int ic0;
    for (ic0 = 0; ic0 < ICB; ic0 += TICC) {
      const int ic1 = ic0 + TICC < ICB ? ic0 + TICC : ICB;
m4_ifelse(SINGLE, 1, `', `      const int first = ic0 == 0, last = ic1 == ICB;
      (void)last;
')m4_dnl
      int oy;
      for (oy = 0; oy < OH; oy++) {
        const int kh0 = oy * SH - PT < 0 ? PT - oy * SH : 0;
        const int kh1 = oy * SH - PT + KH > H ? H - oy * SH + PT : KH;
m4_dnl left edge tiles, interior loop, right edge tiles
RN_FOR(`RN_T', 0, TTL, `TILE(RN_MIN(m4_eval(OW - RN_T * TPX), TPX), m4_eval(RN_T * TPX), 1)')m4_dnl
m4_ifelse(m4_eval(TTR > TTL), 1, `        {
          int t;
          for (t = TTL; t < TTR; t++)
TILE(TPX, `t * TPX', 0)m4_dnl
        }
')m4_dnl
RN_FOR(`RN_T', m4_ifelse(m4_eval(TTR > TTL), 1, TTR, TTL), TNT, `TILE(RN_MIN(m4_eval(OW - RN_T * TPX), TPX), m4_eval(RN_T * TPX), 1)')m4_dnl
      }
    }
  }
m4_popdef(`NV', `SINGLE')')

# VEC_BODY(isa): the function for one vector ISA.
m4_define(`VEC_BODY', `m4_pushdef(`ISANAME', `$1')m4_dnl
m4_pushdef(`TOCB', $1_OCB)m4_pushdef(`TPX', $1_PX)m4_pushdef(`TICC', $1_ICC)m4_dnl
m4_pushdef(`TTL', $1_TL)m4_pushdef(`TTR', $1_TR)m4_pushdef(`TNT', $1_NT)m4_dnl
static void KNAME`'(const float *restrict x, const float *restrict w,
    const float *restrict b, const float *r, float *y)
{
  int ocb0;
m4_ifelse(RES, 1, `', `  (void)r;
')m4_dnl
  for (ocb0 = 0; ocb0 + TOCB <= OCBT; ocb0 += TOCB)
GROUP(TOCB)m4_dnl
m4_ifelse(m4_eval(OCBT % TOCB), 0, `', `  ocb0 = m4_eval(OCBT - OCBT % TOCB);
GROUP(m4_eval(OCBT % TOCB))')m4_dnl
}
m4_popdef(`TOCB', `TPX', `TICC', `TTL', `TTR', `TNT', `ISANAME')')

# ---- the portable body ----------------------------------------------------
# Plain loops over one output pixel and 16 channels; compilers vectorise
# the innermost loop.  Kernel columns are clipped by loop bounds.
m4_define(`SCALAR_BODY', `static void KNAME`'(const float *restrict x, const float *restrict w,
    const float *restrict b, const float *r, float *y)
{
  int ocb, ic0, oy, ox, o;
m4_ifelse(RES, 1, `', `  (void)r;
')m4_dnl
  for (ocb = 0; ocb < OCBT; ocb++)
  for (ic0 = 0; ic0 < ICB; ic0 += SCALAR_ICC) {
    const int ic1 = ic0 + SCALAR_ICC < ICB ? ic0 + SCALAR_ICC : ICB;
    for (oy = 0; oy < OH; oy++) {
      const int kh0 = oy * SH - PT < 0 ? PT - oy * SH : 0;
      const int kh1 = oy * SH - PT + KH > H ? H - oy * SH + PT : KH;
      for (ox = 0; ox < OW; ox++) {
        const int kw0 = ox * SW - PL < 0 ? PL - ox * SW : 0;
        const int kw1 = ox * SW - PL + KW > W ? W - ox * SW + PL : KW;
        float *yp = y + ((size_t)(ocb * OH + oy) * OW + ox) * 16;
        float acc[16];
        int icb, kh, kw, i;
        if (ic0 == 0)
          for (o = 0; o < 16; o++) acc[o] = b[ocb * 16 + o]m4_ifelse(RES, 1, ` + r[yp - y + o]');
        else
          for (o = 0; o < 16; o++) acc[o] = yp[o];
        for (icb = ic0; icb < ic1; icb++)
        for (kh = kh0; kh < kh1; kh++)
        for (kw = kw0; kw < kw1; kw++) {
          const float *xp = x + ((size_t)(icb * H + oy * SH - PT + kh) * W + ox * SW - PL + kw) * IB;
          const float *wp = w + (size_t)(ocb / WG) * WGS + (((size_t)icb * KH + kh) * KW + kw) * m4_eval(IB * WI) + (size_t)(ocb % WG) * 16;
          for (i = 0; i < IB; i++) {
            const float xv = xp[i];
            for (o = 0; o < 16; o++) acc[o] += xv * wp[i * WI + o];
          }
        }
        if (ic1 < ICB) {
          for (o = 0; o < 16; o++) yp[o] = acc[o];
          continue;
        }
        for (o = 0; o < 16; o++) {
          float v = acc[o];
m4_ifelse(ACT, relu, `          v = v > 0.0f ? v : 0.0f;
', ACT, clip, `          v = v < ACT_LO ? ACT_LO : v > ACT_HI ? ACT_HI : v;
', ACT, leaky, `          v = v < 0.0f ? v * ACT_ALPHA : v;
')m4_dnl
          yp[o] = v;
        }
      }
    }
  }
}
')
m4_divert(0)m4_dnl
/* KNAME: direct conv CIN->COUT KHxKW/SHxSW pad PT,PL, H x W -> OH x OW,
 * input block IB, epilogue bias`'m4_ifelse(RES, 1, ` + residual')`'m4_ifelse(ACT, none, `', ` + ACT').
 * Generated from templates/conv_nchwc.m4, do not edit. */
#if 0
m4_ifdef(`ISA_AVX512', `#elif defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>
VEC_BODY(`AVX512')')m4_dnl
m4_ifdef(`ISA_AVX2', `#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
VEC_BODY(`AVX2')')m4_dnl
m4_ifdef(`ISA_NEON', `#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
VEC_BODY(`NEON')')m4_dnl
#else
SCALAR_BODY`'m4_dnl
#endif
