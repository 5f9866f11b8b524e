m4_dnl k_eltwise.m4 - elementwise ops: the scalar reference kernels.
m4_dnl
m4_dnl All of them run in place too (y may equal x): each element is read
m4_dnl before it is written and nothing is restrict-qualified.
m4_dnl
m4_dnl RN_UNARY__scalar: y[i] = f(x[i]) over NUMEL elements.
m4_dnl   T, NUMEL, OPK (relu leakyrelu sigmoid hardsigmoid hardswish),
m4_dnl   ALPHA BETA (literals of type T, for leakyrelu and hardsigmoid)
m4_define(<:RN_UNARY_BODY:>, <:m4_ifelse(P_OPK, <:relu:>, <:y[i] = v < 0 ? 0 : v;:>,
P_OPK, <:leakyrelu:>, <:y[i] = v < 0 ? v * P_ALPHA : v;:>,
P_OPK, <:sigmoid:>, <:y[i] = 1 / (1 + RN_MATH(<:exp:>)(-v));:>,
P_OPK, <:hardsigmoid:>, <:const P_T t = P_ALPHA * v + P_BETA;
    y[i] = t < 0 ? 0 : t > 1 ? 1 : t;:>,
P_OPK, <:hardswish:>, <:const P_T t = v / 6 + (P_T)0.5;
    y[i] = v * (t < 0 ? 0 : t > 1 ? 1 : t);:>,
<:RN_FAIL(<:unknown unary op :>P_OPK):>):>)
m4_define(<:RN_UNARY__scalar:>, <:RN_ONEOF(<:OPK:>, <:relu:>, <:leakyrelu:>, <:sigmoid:>, <:hardsigmoid:>, <:hardswish:>)
/* P_OPK: y[i] = f(x[i]) */
static void RN_FNAME<::>(const P_T *x, P_T *y)
{
  RN_ENUM(NUMEL)
  int i;
  for (i = 0; i < NUMEL; i++) {
    const P_T v = x[i];
    RN_UNARY_BODY
  }
}
:>)
m4_dnl
m4_dnl RN_CLIP__scalar: y[i] = min(max(x[i], lo), hi) with lo = *lo_p, hi =
m4_dnl *hi_p, or LO / HI (the type's limits) when the pointer is NULL.
m4_define(<:RN_CLIP__scalar:>, <:
/* Clip: y[i] = min(max(x[i], lo), hi) */
static void RN_FNAME<::>(const P_T *x, const P_T *lo_p, const P_T *hi_p, P_T *y)
{
  RN_ENUM(NUMEL)
  const P_T lo = lo_p ? *lo_p : P_LO, hi = hi_p ? *hi_p : P_HI;
  int i;
  for (i = 0; i < NUMEL; i++) {
    P_T v = x[i];
    v = v < lo ? lo : v;
    y[i] = v > hi ? hi : v;
  }
}
:>)
m4_dnl
m4_dnl RN_BINARY__scalar: y = a OP b with numpy broadcasting, over R
m4_dnl (collapsed) dims D0.. with element strides SA.., SB.. (0: broadcast)
m4_dnl and SY.. (y is contiguous).  T, OPK (add sub mul div), KINDT (float,
m4_dnl signed, unsigned), UT (the unsigned type integer math wraps in:
m4_dnl no signed overflow, no division by zero: x / 0 gives 0).
m4_define(<:RN_BINARY_EXPR:>, <:m4_ifelse(P_KINDT, <:float:>, <:m4_ifelse(P_OPK, <:add:>, <:u + v:>,
  P_OPK, <:sub:>, <:u - v:>, P_OPK, <:mul:>, <:u * v:>, <:u / v:>):>,
P_OPK, <:add:>, <:(P_T)((P_UT)u + (P_UT)v):>,
P_OPK, <:sub:>, <:(P_T)((P_UT)u - (P_UT)v):>,
P_OPK, <:mul:>, <:(P_T)((P_UT)u * (P_UT)v):>,
P_KINDT, <:signed:>, <:v == 0 ? 0 : v == -1 ? (P_T)(0 - (P_UT)u) : u / v:>,
<:v == 0 ? 0 : u / v:>):>)
m4_define(<:RN_BINARY__scalar:>, <:RN_ONEOF(<:OPK:>, <:add:>, <:sub:>, <:mul:>, <:div:>)m4_dnl
RN_ONEOF(<:KINDT:>, <:float:>, <:signed:>, <:unsigned:>)
/* P_OPK: y = a P_OPK b, broadcast */
static void RN_FNAME<::>(const P_T *a, const P_T *b, P_T *y)
{
  RN_ENUM_ARRAY(<:D:>, P_R)
  RN_ENUM_ARRAY(<:SA:>, P_R)
  RN_ENUM_ARRAY(<:SB:>, P_R)
  RN_ENUM_ARRAY(<:SY:>, P_R)
  RN_IDX_DECL(P_R)
  RN_LOOPS(P_R){
    const P_T u = a[RN_OFF(<:SA:>, P_R)], v = b[RN_OFF(<:SB:>, P_R)];
    y[RN_OFF(<:SY:>, P_R)] = RN_BINARY_EXPR;
  }
}
:>)
m4_dnl
m4_dnl RN_BATCHNORM__scalar: y = act((x - mean) / sqrt(var + EPS) * s + bias)
m4_dnl per channel, x [N][C][S].  T, N, C, S, EPS (a literal), ACT... (the
m4_dnl activation fused onto a standalone BatchNormalization, see RN_ACT).
m4_define(<:RN_BATCHNORM__scalar:>, <:RN_ONEOF(<:T:>, <:float:>, <:double:>)
/* BatchNormalization (inference), activation P_ACT: x, y [N][C][S] */
static void RN_FNAME<::>(const P_T *x, const P_T *s, const P_T *bias,
    const P_T *mean, const P_T *var, P_T *y)
{
  RN_ENUM(N, C, S)
  int n, c, i;
  for (n = 0; n < N; n++)
    for (c = 0; c < C; c++) {
      const P_T k = (P_T)(s[c] / sqrt((double)var[c] + P_EPS));
      const P_T d = bias[c] - mean[c] * k;
      const int o = (n * C + c) * S;
      for (i = 0; i < S; i++) {
        P_T v = x[o + i] * k + d;
        RN_ACT(<:v:>)
        y[o + i] = v;
      }
    }
}
:>)
m4_dnl
m4_dnl RN_SOFTMAX__scalar: softmax (LOG 0) or log-softmax (LOG 1) along the
m4_dnl middle dim of x [OUTER][L][INNER], stabilised by the maximum.
m4_define(<:RN_SOFTMAX__scalar:>, <:RN_ONEOF(<:T:>, <:float:>, <:double:>)
/* m4_ifelse(P_LOG, 1, <:LogSoftmax:>, <:Softmax:>): x, y [OUTER][L][INNER] along L */
static void RN_FNAME<::>(const P_T *x, P_T *y)
{
  RN_ENUM(OUTER, L, INNER, LOG)
  int o, j, l;
  for (o = 0; o < OUTER; o++)
    for (j = 0; j < INNER; j++) {
      const P_T *xp = x + o * (L * INNER) + j;
      P_T *yp = y + o * (L * INNER) + j;
      P_T m = xp[0], s = 0;
      for (l = 1; l < L; l++)
        if (xp[l * INNER] > m)
          m = xp[l * INNER];
      if (LOG) {
        for (l = 0; l < L; l++)
          s += RN_MATH(<:exp:>)(xp[l * INNER] - m);
        s = m + RN_MATH(<:log:>)(s);
        for (l = 0; l < L; l++)
          yp[l * INNER] = xp[l * INNER] - s;
      } else {
        for (l = 0; l < L; l++) {
          const P_T e = RN_MATH(<:exp:>)(xp[l * INNER] - m);
          yp[l * INNER] = e;
          s += e;
        }
        for (l = 0; l < L; l++)
          yp[l * INNER] /= s;
      }
    }
}
:>)
