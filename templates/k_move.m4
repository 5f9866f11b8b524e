m4_dnl k_move.m4 - data movement: Transpose, Slice, Pad, Concat, Gather and
m4_dnl constant fills.  Scalar reference kernels; T is the tensor's element
m4_dnl type (float, int64_t, uint16_t for float16...): values are copied,
m4_dnl never converted.
m4_dnl
m4_dnl RN_STRIDED__scalar: y (contiguous) = x[BASE + sum_d i_d * S_d] over R
m4_dnl dims D0.. (output order): Transpose (permuted strides) and Slice
m4_dnl (start offset BASE, strides times steps, negative for reversed
m4_dnl steps).  SY0.. are y's strides.
m4_define(<:RN_STRIDED__scalar:>, <:
/* strided copy (Transpose, Slice): y[i] = x[BASE + sum i_d * S_d] */
static void RN_FNAME<::>(const P_T *restrict x, P_T *restrict y)
{
  RN_ENUM(BASE)
  RN_ENUM_ARRAY(<:D:>, P_R)
  RN_ENUM_ARRAY(<:S:>, P_R)
  RN_ENUM_ARRAY(<:SY:>, P_R)
  RN_IDX_DECL(P_R)
  RN_LOOPS(P_R)
    y[RN_OFF(<:SY:>, P_R)] = x[BASE + RN_OFF(<:S:>, P_R)];
}
:>)
m4_dnl
m4_dnl RN_PAD__scalar: y [D0..] from x [I0..] padded by B0.. leading
m4_dnl elements per dim (negative: cropped); x's strides S0.., y's SY0...
m4_dnl MODE 0 constant (the value *val, or 0 when val is NULL), 1 reflect,
m4_dnl 2 edge, 3 wrap.  rn_pad_src maps an output coordinate to the input
m4_dnl one (-1: a constant position).
m4_define(<:RN_HELPER_pad:>, <:
/* Input coordinate of padded coordinate j in a dim of n elements, or -1
 * where the constant value goes.  mode: 0 constant, 1 reflect, 2 edge,
 * 3 wrap (ONNX Pad). */
static int rn_pad_src(int j, int n, int mode)
{
  if (j >= 0 && j < n)
    return j;
  if (mode == 0 || n == 0)
    return -1;
  if (mode == 2)
    return j < 0 ? 0 : n - 1;
  if (mode == 3)
    return (j % n + n) % n;
  if (n == 1)
    return 0;
  j = (j % (2 * n - 2) + (2 * n - 2)) % (2 * n - 2);
  return j < n ? j : 2 * n - 2 - j;
}
:>)
m4_define(<:RN_PAD__scalar:>, <:RN_HELPER(<:pad:>)
/* Pad, mode P_MODE (0 constant, 1 reflect, 2 edge, 3 wrap) */
static void RN_FNAME<::>(const P_T *restrict x, const P_T *restrict val, P_T *restrict y)
{
  RN_ENUM(MODE)
  RN_ENUM_ARRAY(<:D:>, P_R)
  RN_ENUM_ARRAY(<:I:>, P_R)
  RN_ENUM_ARRAY(<:B:>, P_R)
  RN_ENUM_ARRAY(<:S:>, P_R)
  RN_ENUM_ARRAY(<:SY:>, P_R)
  const P_T v = val ? *val : 0;
  RN_IDX_DECL(P_R)
RN_FOR(<:RN_k:>, 0, P_R, <:  <:for (i:>RN_k<: = 0; i:>RN_k<: < D:>RN_k<:; i:>RN_k<:++) {
    const int j:>RN_k<: = rn_pad_src(i:>RN_k<: - B:>RN_k<:, I:>RN_k<:, MODE);
:>:>)m4_dnl
    y[RN_OFF(<:SY:>, P_R)] = RN_FOR(<:RN_k:>, 0, P_R, <:<:j:>RN_k<: < 0 || :>:>)0 ? v : x[RN_FOR(<:RN_k:>, 0, P_R, <:<:j:>RN_k<: * S:>RN_k<: + :>:>)0];
RN_FOR(<:RN_k:>, 0, P_R, <:<:  }
:>:>)m4_dnl
}
:>)
m4_dnl
m4_dnl RN_ROWCOPY__scalar: one input of Concat: OUTER rows of CH elements
m4_dnl go to y + o * YROW + OFF.
m4_define(<:RN_ROWCOPY__scalar:>, <:
/* Concat, one input: rows of CH elements into rows of YROW at OFF */
static void RN_FNAME<::>(const P_T *restrict x, P_T *restrict y)
{
  RN_ENUM(OUTER, CH, YROW, OFF)
  int o;
  for (o = 0; o < OUTER; o++)
    memcpy(y + o * YROW + OFF, x + o * CH, CH * sizeof *y);
}
:>)
m4_dnl
m4_dnl RN_GATHER__scalar: y [OUTER][NI][INNER] = x [OUTER][AX][INNER] at
m4_dnl indices ind [NI] (type IT, negative counts from the end).  An index
m4_dnl out of range yields zeros and a nonzero return (the run returns
m4_dnl NAME_ERR_INDEX): no read outside x, whatever the data.
m4_define(<:RN_GATHER__scalar:>, <:
/* Gather: y [OUTER][NI][INNER] = x [OUTER][AX][INNER] at ind */
static int RN_FNAME<::>(const P_T *restrict x, const P_IT *restrict ind, P_T *restrict y)
{
  RN_ENUM(OUTER, AX, INNER, NI)
  int o, j, bad = 0;
  for (o = 0; o < OUTER; o++)
    for (j = 0; j < NI; j++) {
      int64_t k = (int64_t)ind[j];
      P_T *yp = y + (o * NI + j) * INNER;
      if (k < 0)
        k += AX;
      if (k < 0 || k >= AX) {
        memset(yp, 0, INNER * sizeof *y);
        bad = 1;
      } else {
        memcpy(yp, x + (o * AX + (int)k) * INNER, INNER * sizeof *y);
      }
    }
  return bad;
}
:>)
m4_dnl
m4_dnl RN_FILL__scalar: y[i] = VALUE for NUMEL elements (Dropout's mask,
m4_dnl ConstantOfShape left unfolded).  RN_VALUES__scalar: y = the list
m4_dnl VALUES (Shape left unfolded).
m4_define(<:RN_FILL__scalar:>, <:
/* fill: y[i] = P_VALUE */
static void RN_FNAME<::>(P_T *y)
{
  RN_ENUM(NUMEL)
  int i;
  for (i = 0; i < NUMEL; i++)
    y[i] = P_VALUE;
}
:>)
m4_define(<:RN_VALUES__scalar:>, <:
/* constant values */
static void RN_FNAME<::>(P_T *y)
{
  static const P_T v[] = {P_VALUES};
  memcpy(y, v, sizeof v);
}
:>)
