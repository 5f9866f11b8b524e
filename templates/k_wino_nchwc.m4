m4_dnl k_wino_nchwc.m4 - Winograd convolution F(MxM, 3x3), stride 1, on NCHW16c.
m4_dnl
m4_dnl RN_WINO__simd prints one static function for one 3x3 stride-1 Conv:
m4_dnl
m4_dnl   x [ICB][H][W][16]   input (NCHW16c)
m4_dnl   u [A*A][...]        weights transformed at compile time, U = G g G^T
m4_dnl                       (in double), each of the A*A = (M+2)^2 matrices
m4_dnl                       packed for the blocked 1x1 kernel (pack_winograd)
m4_dnl   b [OCB*16]          bias
m4_dnl   r                   residual of y's shape and layout (RES = 1), may be y
m4_dnl   y [OCB][OH][OW][16] act(conv + b + r)
m4_dnl   s                   scratch of WSCRATCH floats in the arena (planned)
m4_dnl
m4_dnl Method (Lavin and Gray 2015): the output is cut into M x M tiles, each
m4_dnl computed from an A x A input patch (A = M + 2).  T tiles at a time:
m4_dnl  1. input transform V = B^T d B per tile and input block, into
m4_dnl     V[p][icb][t][16] (p = one of the A*A transform positions);
m4_dnl  2. for each p, the GEMM Mo[p] = V[p] . U[p] over input channels: the
m4_dnl     blocked 1x1 convolution of k_conv_nchwc.m4 over T "pixels", called
m4_dnl     by name (GEMM_BASE, GEMM_N: a CONVB kernel of the same file);
m4_dnl  3. output transform Y = A^T Mo A per tile and output block, plus bias,
m4_dnl     residual and activation, stored where the tile lies in the image.
m4_dnl The transforms are 16-lane loops the compiler vectorises; only the
m4_dnl non-zero terms of B^T and A^T are emitted.  F(4x4) does 36 multiplies
m4_dnl per 16 outputs (2.25 with F(2x2): 16 per 4) instead of 144 (36).
m4_dnl Input patches outside the image read zeros (a test per element of the
m4_dnl gather, outside the GEMM); tiles past the image edge are cut on store.
m4_dnl
m4_dnl Parameters (P_*): CIN COUT H W OH OW PT PL M T RES ACT ACT_LO ACT_HI
m4_dnl ACT_ALPHA GEMM_BASE GEMM_N USZ (floats per packed U matrix)
m4_dnl
m4_dnl B^T rows (input transform), as C over the macro $2(k) (row k of the
m4_dnl patch), assigned to $1(i).
m4_define(<:RN_W_BT4:>, <:m4_dnl
        $1(0) = 4.0f * $2(0) - 5.0f * $2(2) + $2(4);
        $1(1) = -4.0f * ($2(1) + $2(2)) + $2(3) + $2(4);
        $1(2) = 4.0f * ($2(1) - $2(2)) - $2(3) + $2(4);
        $1(3) = -2.0f * ($2(1) - $2(3)) - $2(2) + $2(4);
        $1(4) = 2.0f * ($2(1) - $2(3)) - $2(2) + $2(4);
        $1(5) = 4.0f * $2(1) - 5.0f * $2(3) + $2(5);
:>)
m4_define(<:RN_W_AT4:>, <:m4_dnl
        $1(0) = $2(0) + $2(1) + $2(2) + $2(3) + $2(4);
        $1(1) = $2(1) - $2(2) + 2.0f * ($2(3) - $2(4));
        $1(2) = $2(1) + $2(2) + 4.0f * ($2(3) + $2(4));
        $1(3) = $2(1) - $2(2) + 8.0f * ($2(3) - $2(4)) + $2(5);
:>)
m4_define(<:RN_W_BT2:>, <:m4_dnl
        $1(0) = $2(0) - $2(2);
        $1(1) = $2(1) + $2(2);
        $1(2) = $2(2) - $2(1);
        $1(3) = $2(1) - $2(3);
:>)
m4_define(<:RN_W_AT2:>, <:m4_dnl
        $1(0) = $2(0) + $2(1) + $2(2);
        $1(1) = $2(1) - $2(2) - $2(3);
:>)
m4_dnl index helpers for the loops over the other dimension (j) and lane (o)
m4_define(<:RN_W_D:>, <:d[$1][j][o]:>)
m4_define(<:RN_W_TC:>, <:tq[$1][j][o]:>)
m4_define(<:RN_W_TR:>, <:tq[j][$1][o]:>)
m4_define(<:RN_W_V:>, <:vq[j][$1][o]:>)
m4_define(<:RN_W_MC:>, <:mq[$1][j][o]:>)
m4_define(<:RN_W_OC:>, <:oq[$1][j][o]:>)
m4_define(<:RN_W_OR:>, <:oq[j][$1][o]:>)
m4_define(<:RN_W_Y:>, <:yq[j][$1][o]:>)
m4_dnl
m4_define(<:RN_WINO__simd:>, <:RN_NEED(CIN, COUT, H, W, OH, OW, PT, PL, M, T, RES, GEMM_BASE, GEMM_N, USZ)RN_HELPER(<:noinline:>)m4_dnl
RN_ONEOF(<:M:>, <:4:>, <:2:>)m4_dnl
m4_pushdef(<:RN_W_BT:>, m4_defn(<:RN_W_BT:>P_M))m4_pushdef(<:RN_W_AT:>, m4_defn(<:RN_W_AT:>P_M))m4_dnl
/* Winograd F(P_M<:x:>P_M, 3x3): P_CIN -> P_COUT, pad P_PT<:,:>P_PL, P_H<:x:>P_W -> P_OH<:x:>P_OW, NCHW16c,
 * P_T tiles at a time, epilogue bias<::>m4_ifelse(P_RES, 1, <: + residual:>)<::>m4_ifelse(P_ACT, <:none:>, <::>, <: + P_ACT:>). */
RN_NOINLINE<::>static void RN_FNAME<::>(const float *restrict x, const float *restrict u,
    const float *restrict b, const float *r, float *y, float *restrict s)
{
  RN_ENUM(CIN, COUT, H, W, OH, OW, PT, PL, M, T, USZ)
  enum { A = M + 2, P = A * A, ICB = (CIN + 15) / 16, OCB = (COUT + 15) / 16,
         TH = (OH + M - 1) / M, TW = (OW + M - 1) / M, NT = TH * TW };
  float *const V = s;                              /* [P][ICB][T][16] */
  float *const Mo = s + (size_t)P * ICB * T * 16;  /* [P][OCB][T][16] */
  float *const Z = Mo + (size_t)P * OCB * T * 16;  /* [OCB*16] zero bias */
  int t0, i, o;
m4_ifelse(P_RES, 1, <::>, <:  (void)r;
:>)m4_dnl
  for (i = 0; i < OCB * 16; i++) Z[i] = 0.0f;
  for (t0 = 0; t0 < NT; t0 += T) {
    const int nt = NT - t0 < T ? NT - t0 : T;
    int icb, ocb, tt, p, j;
    /* 1. input transform */
    for (icb = 0; icb < ICB; icb++)
      for (tt = 0; tt < T; tt++) {
        float d[A][A][16], tq[A][A][16], vq[A][A][16];
        const int ty = (t0 + tt) / TW, tx = (t0 + tt) % TW;
        const int y0 = ty * M - PT, x0 = tx * M - PL;
        const float *xb = x + (size_t)icb * H * W * 16;
        if (tt >= nt) {
          for (i = 0; i < A; i++) for (j = 0; j < A; j++) for (o = 0; o < 16; o++) d[i][j][o] = 0.0f;
        } else if (y0 >= 0 && x0 >= 0 && y0 + A <= H && x0 + A <= W) {
          for (i = 0; i < A; i++)
            for (j = 0; j < A; j++)
              for (o = 0; o < 16; o++) d[i][j][o] = xb[((size_t)(y0 + i) * W + x0 + j) * 16 + o];
        } else {
          for (i = 0; i < A; i++)
            for (j = 0; j < A; j++) {
              const int iy = y0 + i, ix = x0 + j;
              const int in = iy >= 0 && iy < H && ix >= 0 && ix < W;
              for (o = 0; o < 16; o++) d[i][j][o] = in ? xb[((size_t)iy * W + ix) * 16 + o] : 0.0f;
            }
        }
        for (j = 0; j < A; j++)
          for (o = 0; o < 16; o++) {
RN_W_BT(<:RN_W_TC:>, <:RN_W_D:>)m4_dnl
          }
        for (j = 0; j < A; j++)
          for (o = 0; o < 16; o++) {
RN_W_BT(<:RN_W_V:>, <:RN_W_TR:>)m4_dnl
          }
        for (i = 0; i < A; i++)
          for (j = 0; j < A; j++)
            for (o = 0; o < 16; o++)
              V[(((size_t)(i * A + j) * ICB + icb) * T + tt) * 16 + o] = vq[i][j][o];
      }
    /* 2. one GEMM per transform position: Mo[p] = V[p] . U[p] */
    for (p = 0; p < P; p++)
      RN_FN(P_GEMM_BASE, P_GEMM_N)(V + (size_t)p * ICB * T * 16, u + (size_t)p * USZ, Z, NULL,
                                   Mo + (size_t)p * OCB * T * 16);
    /* 3. output transform, bias, residual, activation */
    for (ocb = 0; ocb < OCB; ocb++)
      for (tt = 0; tt < nt; tt++) {
        float mq[A][A][16], oq[M][A][16], yq[M][M][16];
        const int ty = (t0 + tt) / TW, tx = (t0 + tt) % TW;
        for (i = 0; i < A; i++)
          for (j = 0; j < A; j++)
            for (o = 0; o < 16; o++) mq[i][j][o] = Mo[(((size_t)(i * A + j) * OCB + ocb) * T + tt) * 16 + o];
        for (j = 0; j < A; j++)
          for (o = 0; o < 16; o++) {
RN_W_AT(<:RN_W_OC:>, <:RN_W_MC:>)m4_dnl
          }
        for (j = 0; j < M; j++)
          for (o = 0; o < 16; o++) {
RN_W_AT(<:RN_W_Y:>, <:RN_W_OR:>)m4_dnl
          }
        for (i = 0; i < M; i++)
          for (j = 0; j < M; j++) {
            const int oy = ty * M + i, ox = tx * M + j;
            float *yp;
            if (oy >= OH || ox >= OW)
              continue;
            yp = y + (((size_t)ocb * OH + oy) * OW + ox) * 16;
            for (o = 0; o < 16; o++) {
              float v = yq[i][j][o] + b[ocb * 16 + o]m4_ifelse(P_RES, 1, <: + r[yp - y + o]:>);
              RN_ACT(<:v:>)
              yp[o] = v;
            }
          }
      }
  }
}
m4_popdef(<:RN_W_BT:>, <:RN_W_AT:>):>)
m4_define(<:RN_WINO__scalar:>, m4_defn(<:RN_WINO__simd:>))
