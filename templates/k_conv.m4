m4_dnl k_conv.m4 - convolution: the scalar reference kernel.
m4_dnl
m4_dnl RN_CONV__scalar prints one function for one Conv layer shape.  1-D and
m4_dnl 2-D convolutions arrive as 3-D ones with unit leading dims (the
m4_dnl emitter also flattens 1x1/stride-1/unpadded convolutions to one long
m4_dnl row), so one loop nest serves all.  Parameters (P_*):
m4_dnl   T                  float or double
m4_dnl   N G                batch, groups
m4_dnl   IC ID IH IW        input channels and spatial dims
m4_dnl   OC OD OH OW        output channels and spatial dims
m4_dnl   KD KH KW           kernel
m4_dnl   STRD STRH STRW     strides
m4_dnl   PADD PADH PADW     leading pads (trailing pads only shape the output)
m4_dnl   DILD DILH DILW     dilations
m4_dnl   HAS_BIAS HAS_RES   0/1: bias b[OC], residual r
m4_dnl   RV                 0: r has y's shape; 1: r is read through the
m4_dnl                      option-A view of ir.h: r [N][RC][RD][RH][RW],
m4_dnl                      residual of y[n][c][p] = r[n][c - RC0][RS + p * RT]
m4_dnl                      per spatial dim (RSD.. starts, RTD.. steps), 0
m4_dnl                      where c - RC0 is not a channel of r
m4_dnl   ACT ACT_LO ACT_HI ACT_ALPHA   the fused activation (see RN_ACT)
m4_dnl   HAS_Y2 POST_ACT POST_LO POST_HI POST_ALPHA   second output
m4_dnl                      y2 = post_act(y * s2[oc] + t2[oc]) (a BatchNorm
m4_dnl                      that could not fold into the weights)
m4_dnl
m4_dnl Method: output channels go in blocks of OCB (8, 4, 2 or 1, dividing
m4_dnl the channels of a group).  For each output row (n, oc block, od, oh)
m4_dnl a tile of up to 512/OCB output pixels accumulates in a local array
m4_dnl acc[pixel][OCB]; for each input channel and tap the range of pixels
m4_dnl whose input lies inside the image is computed once, so the inner
m4_dnl loop has no bounds test: it broadcasts one input value to OCB
m4_dnl weights (a vector FMA once vectorised), so every input load feeds
m4_dnl OCB multiply-adds.  Bias starts the accumulator; residual and
m4_dnl activation are applied to it before the only store of y.
m4_define(<:RN_CONV_OCB:>, <:m4_ifelse(m4_eval((P_OC / P_G) % 8), 0, 8,
m4_eval((P_OC / P_G) % 4), 0, 4, m4_eval((P_OC / P_G) % 2), 0, 2, 1):>)
m4_define(<:RN_CONV__scalar:>, <:RN_ONEOF(<:T:>, <:float:>, <:double:>)m4_dnl
/* Convolution, y = act(conv(x, w) + b + r), activation P_ACT:
 *   x [N][IC][ID][IH][IW], w [OC][IC/G][KD][KH][KW], b [OC],
 *   y [N][OC][OD][OH][OW], r m4_ifelse(P_RV, 1, <:through the option-A view:>, <:as y:>)<::>m4_ifelse(P_HAS_Y2, 1, <:,
 *   y2 = P_POST_ACT (y * s2[oc] + t2[oc]):>) */
static void RN_FNAME<::>(const P_T *restrict x, const P_T *restrict w,
    const P_T *restrict b, const P_T *r, const P_T *restrict s2,
    const P_T *restrict t2, P_T *y, P_T *y2)
{
  RN_ENUM(N, G, IC, ID, IH, IW, OC, OD, OH, OW, KD, KH, KW)
  RN_ENUM(STRD, STRH, STRW, PADD, PADH, PADW, DILD, DILH, DILW, HAS_BIAS, HAS_RES, HAS_Y2)
  RN_ENUM(RV, RC0, RC, RD, RH, RW, RSD, RSH, RSW, RTD, RTH, RTW)
  enum { ICG = IC / G, OCG = OC / G, OCB = RN_CONV_OCB, TW = OW < 512 / OCB ? OW : 512 / OCB };
  enum { WOC = ICG * KD * KH * KW };   /* weights of one output channel */
  P_T acc[TW * OCB], wv[OCB];
  int n, oc0, od, oh, ow0, ow, ic, kd, kh, kw, j;
  for (n = 0; n < N; n++)
    for (oc0 = 0; oc0 < OC; oc0 += OCB) {
      const P_T *xg = x + (n * IC + oc0 / OCG * ICG) * (ID * IH * IW);
      const P_T *wo = w + oc0 * WOC;
      for (od = 0; od < OD; od++)
        for (oh = 0; oh < OH; oh++)
          for (ow0 = 0; ow0 < OW; ow0 += TW) {
            const int owe = ow0 + TW < OW ? ow0 + TW : OW;
            for (ow = 0; ow < TW; ow++)
              for (j = 0; j < OCB; j++)
                acc[ow * OCB + j] = HAS_BIAS ? b[oc0 + j] : 0;
            for (ic = 0; ic < ICG; ic++)
              for (kd = 0; kd < KD; kd++) {
                const int id = od * STRD - PADD + kd * DILD;
                if (id < 0 || id >= ID)
                  continue;
                for (kh = 0; kh < KH; kh++) {
                  const int ih = oh * STRH - PADH + kh * DILH;
                  const P_T *xr, *wr;
                  if (ih < 0 || ih >= IH)
                    continue;
                  xr = xg + ((ic * ID + id) * IH + ih) * IW;
                  wr = wo + ((ic * KD + kd) * KH + kh) * KW;
                  for (kw = 0; kw < KW; kw++) {
                    /* input column of output pixel ow: ow * STRW - t */
                    const int t = PADW - kw * DILW;
                    int lo = t <= 0 ? 0 : (t + STRW - 1) / STRW;
                    int hi = IW - 1 + t < 0 ? 0 : (IW - 1 + t) / STRW + 1;
                    if (lo < ow0)
                      lo = ow0;
                    if (hi > owe)
                      hi = owe;
                    for (j = 0; j < OCB; j++)
                      wv[j] = wr[j * WOC + kw];
                    for (ow = lo; ow < hi; ow++) {
                      const P_T xv = xr[ow * STRW - t];
                      P_T *a = acc + (ow - ow0) * OCB;
                      for (j = 0; j < OCB; j++)
                        a[j] += wv[j] * xv;
                    }
                  }
                }
              }
            for (j = 0; j < OCB; j++) {
              const int oc = oc0 + j;
              const int yrow = (((n * OC + oc) * OD + od) * OH + oh) * OW;
              /* the residual row: y's own row of r, or through the view */
              int rrow = -1;
              if (HAS_RES && !RV)
                rrow = yrow;
              if (HAS_RES && RV && oc - RC0 >= 0 && oc - RC0 < RC)
                rrow = (((n * RC + oc - RC0) * RD + RSD + od * RTD) * RH + RSH + oh * RTH) * RW + RSW;
              for (ow = ow0; ow < owe; ow++) {
                P_T v = acc[(ow - ow0) * OCB + j];
                if (HAS_RES && rrow >= 0)
                  v += r[rrow + (RV ? ow * RTW : ow)];
                RN_ACT(<:v:>)
                y[yrow + ow] = v;
                if (HAS_Y2) {
                  P_T v2 = v * s2[oc] + t2[oc];
                  RN_POST_ACT(<:v2:>)
                  y2[yrow + ow] = v2;
                }
              }
            }
          }
    }
}
:>)
