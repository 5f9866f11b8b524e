m4_dnl k_gemm.m4 - Gemm and MatMul: the scalar reference kernels.
m4_dnl
m4_dnl RN_GEMM__scalar: y = act(ALPHA * op(a) op(b) + BETA * c + r), with
m4_dnl   T                 float or double
m4_dnl   M N K             y [M][N]; op(a) [M][K]; op(b) [K][N]
m4_dnl   TA TB             0/1: a is stored [K][M] / b is stored [N][K]
m4_dnl   HAS_C CSM CSN     bias c, read as c[m * CSM + n * CSN] (strides 0
m4_dnl                     broadcast a scalar, a row or a column)
m4_dnl   ALPHA BETA        literals of type T
m4_dnl   HAS_RES           residual r [M][N] (the fused shortcut)
m4_dnl   ACT ...           the fused activation (see RN_ACT)
m4_dnl Method: a row of up to 256 outputs accumulates locally.  b [K][N]:
m4_dnl rank-1 updates along contiguous rows of b (vectorises); b [N][K]:
m4_dnl one dot product per output.  The epilogue runs on the accumulator.
m4_define(<:RN_GEMM__scalar:>, <:RN_ONEOF(<:T:>, <:float:>, <:double:>)m4_dnl
RN_ONEOF(<:ACT:>, <:none:>, <:relu:>, <:clip:>, <:leakyrelu:>)
/* Gemm: y [M][N] = act(ALPHA * a b + BETA * c + r), P_ACT */
static void RN_FNAME<::>(const P_T *restrict a, const P_T *restrict b,
    const P_T *restrict c, const P_T *r, P_T *y)
{
  RN_ENUM(M, N, K, TA, TB, HAS_C, CSM, CSN, HAS_RES)
  enum { TN = N < 256 ? N : 256 };
  P_T acc[TN];
  int m, n0, n, k;
  for (m = 0; m < M; m++)
    for (n0 = 0; n0 < N; n0 += TN) {
      const int ne = n0 + TN < N ? n0 + TN : N;
      if (TB) {
        for (n = n0; n < ne; n++) {
          P_T s = 0;
          for (k = 0; k < K; k++)
            s += a[TA ? k * M + m : m * K + k] * b[n * K + k];
          acc[n - n0] = s;
        }
      } else {
        for (n = 0; n < TN; n++)
          acc[n] = 0;
        for (k = 0; k < K; k++) {
          const P_T av = a[TA ? k * M + m : m * K + k];
          const P_T *br = b + k * N;
          for (n = n0; n < ne; n++)
            acc[n - n0] += av * br[n];
        }
      }
      for (n = n0; n < ne; n++) {
        P_T v = P_ALPHA * acc[n - n0];
        if (HAS_C)
          v += P_BETA * c[m * CSM + n * CSN];
        if (HAS_RES)
          v += r[m * N + n];
        RN_ACT(<:v:>)
        y[m * N + n] = v;
      }
    }
}
:>)
m4_dnl
m4_dnl RN_MATMUL__scalar: numpy matmul, y[b] [M][N] = a[b] [M][K] b[b] [K][N]
m4_dnl for every batch index b over R (collapsed, broadcast) batch dims:
m4_dnl   T, M N K, R, D0.. (batch dims), SA0.. SB0.. SY0.. (batch strides in
m4_dnl   elements; 0 where an operand is broadcast), AT the accumulator type
m4_dnl   (T for floats; for integers the unsigned type of T's width, so sums
m4_dnl   and products wrap instead of overflowing).
m4_define(<:RN_MATMUL__scalar:>, <:
/* MatMul: y [batch][M][N] = a [batch][M][K] b [batch][K][N] */
static void RN_FNAME<::>(const P_T *restrict a, const P_T *restrict b, P_T *restrict y)
{
  RN_ENUM(M, N, K)
  RN_ENUM_ARRAY(<:D:>, P_R)
  RN_ENUM_ARRAY(<:SA:>, P_R)
  RN_ENUM_ARRAY(<:SB:>, P_R)
  RN_ENUM_ARRAY(<:SY:>, P_R)
  enum { TN = N < 256 ? N : 256 };
  P_AT acc[TN];
  int m, n0, n, k;
  RN_IDX_DECL(P_R)
  RN_LOOPS(P_R){
    const P_T *ab = a + RN_OFF(<:SA:>, P_R);
    const P_T *bb = b + RN_OFF(<:SB:>, P_R);
    P_T *yb = y + RN_OFF(<:SY:>, P_R);
    for (m = 0; m < M; m++)
      for (n0 = 0; n0 < N; n0 += TN) {
        const int ne = n0 + TN < N ? n0 + TN : N;
        for (n = 0; n < TN; n++)
          acc[n] = 0;
        for (k = 0; k < K; k++) {
          const P_AT av = (P_AT)ab[m * K + k];
          const P_T *br = bb + k * N;
          for (n = n0; n < ne; n++)
            acc[n - n0] += av * (P_AT)br[n];
        }
        for (n = n0; n < ne; n++)
          yb[m * N + n] = (P_T)acc[n - n0];
      }
  }
}
:>)
