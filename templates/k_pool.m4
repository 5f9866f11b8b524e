m4_dnl k_pool.m4 - MaxPool, AveragePool, GlobalMaxPool, GlobalAveragePool:
m4_dnl the scalar reference kernels.
m4_dnl
m4_dnl RN_POOL__scalar: one windowed pool layer, 1-D and 2-D arriving as 3-D
m4_dnl with unit leading dims.  Parameters (P_*):
m4_dnl   T                  element type (float, double, int8_t, uint8_t...)
m4_dnl   KIND               max or avg
m4_dnl   N C                batch, channels
m4_dnl   ID IH IW, OD OH OW input and output spatial dims
m4_dnl   KD KH KW, STRD STRH STRW, DILD DILH DILW   window, strides, dilations
m4_dnl   PADD PADH PADW     leading pads; PEND PENH PENW trailing pads
m4_dnl   CIP                avg: 1 counts the pad positions (count_include_pad)
m4_dnl   HAS_IDX SORD       max: also write Indices (int64), in row-major
m4_dnl                      (SORD 0) or column-major (SORD 1) order
m4_dnl   INIT               max: the identity (-INFINITY, or the type's minimum)
m4_dnl Windows are clipped to the input; a position outside contributes
m4_dnl nothing.  With CIP the divisor counts the window positions inside the
m4_dnl padded extent [-pad, in + pad_end) instead.  Indices are flat offsets
m4_dnl into x (batch and channel included), as ONNX defines them.
m4_define(<:RN_POOL__scalar:>, <:RN_ONEOF(<:KIND:>, <:max:>, <:avg:>)
/* P_KIND<::>Pool: x [N][C][ID][IH][IW] -> y [N][C][OD][OH][OW] */
static void RN_FNAME<::>(const P_T *restrict x, P_T *restrict y, int64_t *restrict idx)
{
  RN_ENUM(N, C, ID, IH, IW, OD, OH, OW, KD, KH, KW, STRD, STRH, STRW)
  RN_ENUM(PADD, PADH, PADW, PEND, PENH, PENW, DILD, DILH, DILW, CIP, HAS_IDX, SORD)
  int nc, od, oh, ow, kd, kh, kw;
  for (nc = 0; nc < N * C; nc++) {
    const P_T *xp = x + nc * (ID * IH * IW);
    for (od = 0; od < OD; od++)
      for (oh = 0; oh < OH; oh++)
        for (ow = 0; ow < OW; ow++) {
          const int d0 = od * STRD - PADD, h0 = oh * STRH - PADH, w0 = ow * STRW - PADW;
          const int yo = ((nc * OD + od) * OH + oh) * OW + ow;
m4_ifelse(P_KIND, <:max:>, <:m4_dnl
          P_T m = P_INIT;
          int mi = -1;
          for (kd = 0; kd < KD; kd++) {
            const int id = d0 + kd * DILD;
            if (id < 0 || id >= ID)
              continue;
            for (kh = 0; kh < KH; kh++) {
              const int ih = h0 + kh * DILH;
              if (ih < 0 || ih >= IH)
                continue;
              for (kw = 0; kw < KW; kw++) {
                const int iw = w0 + kw * DILW;
                P_T v;
                if (iw < 0 || iw >= IW)
                  continue;
                v = xp[(id * IH + ih) * IW + iw];
                if (mi < 0 || v > m) {
                  m = v;
                  mi = SORD ? (iw * IH + ih) * ID + id : (id * IH + ih) * IW + iw;
                }
              }
            }
          }
          y[yo] = m;
          if (HAS_IDX)
            idx[yo] = (int64_t)nc * (ID * IH * IW) + (mi < 0 ? 0 : mi);
:>, <:m4_dnl
          P_T s = 0;
          int cnt = 0;
          for (kd = 0; kd < KD; kd++) {
            const int id = d0 + kd * DILD;
            if (id < 0 || id >= ID)
              continue;
            for (kh = 0; kh < KH; kh++) {
              const int ih = h0 + kh * DILH;
              if (ih < 0 || ih >= IH)
                continue;
              for (kw = 0; kw < KW; kw++) {
                const int iw = w0 + kw * DILW;
                if (iw < 0 || iw >= IW)
                  continue;
                s += xp[(id * IH + ih) * IW + iw];
                cnt++;
              }
            }
          }
          if (CIP) {
            /* positions inside the padded extent, per dimension */
            int cd = 0, ch = 0, cw = 0;
            for (kd = 0; kd < KD; kd++)
              cd += d0 + kd * DILD >= -PADD && d0 + kd * DILD < ID + PEND;
            for (kh = 0; kh < KH; kh++)
              ch += h0 + kh * DILH >= -PADH && h0 + kh * DILH < IH + PENH;
            for (kw = 0; kw < KW; kw++)
              cw += w0 + kw * DILW >= -PADW && w0 + kw * DILW < IW + PENW;
            cnt = cd * ch * cw;
          }
          y[yo] = cnt ? s / (P_T)cnt : 0;
:>)m4_dnl
        }
  }
m4_ifelse(P_KIND, <:avg:>, <:  (void)idx;
:>)m4_dnl
}
:>)
m4_dnl
m4_dnl RN_GPOOL__scalar: GlobalMaxPool / GlobalAveragePool over S spatial
m4_dnl positions of each of N*C planes.  P_T, P_KIND (max, avg), P_NC, P_S.
m4_define(<:RN_GPOOL__scalar:>, <:RN_ONEOF(<:KIND:>, <:max:>, <:avg:>)
/* Global P_KIND<::>Pool: x [NC][S] -> y [NC] */
static void RN_FNAME<::>(const P_T *restrict x, P_T *restrict y)
{
  RN_ENUM(NC, S)
  int i, j;
  for (i = 0; i < NC; i++) {
    const P_T *xp = x + i * S;
m4_ifelse(P_KIND, <:max:>, <:m4_dnl
    P_T m = xp[0];
    for (j = 1; j < S; j++)
      if (xp[j] > m || xp[j] != xp[j])
        m = xp[j];
    y[i] = m;
:>, <:m4_dnl
    P_T s = 0;
    for (j = 0; j < S; j++)
      s += xp[j];
    y[i] = s / S;
:>)m4_dnl
  }
}
:>)
