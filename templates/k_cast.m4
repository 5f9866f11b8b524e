m4_dnl k_cast.m4 - Cast between every element type: the scalar reference.
m4_dnl
m4_dnl RN_CAST__scalar: y[i] = (TO) x[i] over NUMEL elements.  TI, TO: the C
m4_dnl types; FROM, TOK: the short dtype names (f32 f64 f16 bf16 s8 u8 s16
m4_dnl u16 s32 u32 s64 u64 b8).  float16 and bfloat16 are uint16_t bit
m4_dnl patterns: they widen exactly to float and narrow from double with
m4_dnl round-to-nearest-even (one rounding, also from double).  Floats go to
m4_dnl integers truncated and saturated (NaN gives 0), so no conversion is
m4_dnl undefined behaviour; integers wrap as numpy's astype does.
m4_define(<:RN_HELPER_f16_in:>, <:
/* float16 bits -> float, exactly. */
static float rn_f16_to_f32(uint16_t h)
{
  const int e = (h >> 10) & 31, m = h & 1023;
  const float v = e == 0 ? ldexpf((float)m, -24)
                : e == 31 ? (m ? NAN : INFINITY) : ldexpf((float)(m + 1024), e - 25);
  return (h & 0x8000) ? -v : v;
}
:>)
m4_define(<:RN_HELPER_f16_out:>, <:
/* double -> float16 bits, rounded to nearest even once; overflow gives
 * infinity, NaN stays NaN. */
static uint16_t rn_f64_to_f16(double x)
{
  const uint16_t s = signbit(x) ? 0x8000 : 0;
  double a = fabs(x), q;
  int e;
  if (x != x)
    return (uint16_t)(s | 0x7e00);
  if (a >= 65520.0)
    return (uint16_t)(s | 0x7c00);
  if (a < 0x1p-14)                         /* subnormal: units of 2^-24 */
    return (uint16_t)(s | (uint16_t)nearbyint(a * 0x1p24));
  q = nearbyint(frexp(a, &e) * 2048.0);    /* a = q * 2^(e-11), q in [1024, 2048] */
  if (q == 2048.0) {
    q = 1024.0;
    e++;
  }
  if (e + 14 >= 31)
    return (uint16_t)(s | 0x7c00);
  return (uint16_t)(s | (e + 14) << 10 | ((int)q - 1024));
}
:>)
m4_define(<:RN_HELPER_bf16_in:>, <:
/* bfloat16 bits -> float: the top half of a float. */
static float rn_bf16_to_f32(uint16_t h)
{
  const uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, sizeof f);
  return f;
}
:>)
m4_define(<:RN_HELPER_bf16_out:>, <:
/* double -> bfloat16 bits, rounded to nearest even once, NaN stays NaN. */
static uint16_t rn_f64_to_bf16(double x)
{
  const uint16_t s = signbit(x) ? 0x8000 : 0;
  double a = fabs(x), q;
  int e;
  if (x != x)
    return (uint16_t)(s | 0x7fc0);
  if (a >= 0x1.ffp127)
    return (uint16_t)(s | 0x7f80);
  if (a < 0x1p-126)                        /* subnormal: units of 2^-133 */
    return (uint16_t)(s | (uint16_t)nearbyint(a * 0x1p133));
  q = nearbyint(frexp(a, &e) * 256.0);     /* a = q * 2^(e-8), q in [128, 256] */
  if (q == 256.0) {
    q = 128.0;
    e++;
  }
  if (e + 126 >= 255)
    return (uint16_t)(s | 0x7f80);
  return (uint16_t)(s | (e + 126) << 7 | ((int)q - 128));
}
:>)
m4_dnl RN_DEF_SAT(k, type, lo, min, hi, max): rn_sat_k(double), truncating.
m4_define(<:RN_DEF_SAT:>, <:m4_define(<:RN_HELPER_sat_$1:>, <:
static $2 rn_sat_$1(double v)
{
  return v != v ? 0 : v <= $3 ? $4 : v >= $5 ? $6 : ($2)v;
}
:>):>)
RN_DEF_SAT(<:s8:>, <:int8_t:>, <:-128.0:>, <:INT8_MIN:>, <:127.0:>, <:INT8_MAX:>)m4_dnl
RN_DEF_SAT(<:u8:>, <:uint8_t:>, <:0.0:>, <:0:>, <:255.0:>, <:UINT8_MAX:>)m4_dnl
RN_DEF_SAT(<:s16:>, <:int16_t:>, <:-32768.0:>, <:INT16_MIN:>, <:32767.0:>, <:INT16_MAX:>)m4_dnl
RN_DEF_SAT(<:u16:>, <:uint16_t:>, <:0.0:>, <:0:>, <:65535.0:>, <:UINT16_MAX:>)m4_dnl
RN_DEF_SAT(<:s32:>, <:int32_t:>, <:-2147483648.0:>, <:INT32_MIN:>, <:2147483647.0:>, <:INT32_MAX:>)m4_dnl
RN_DEF_SAT(<:u32:>, <:uint32_t:>, <:0.0:>, <:0:>, <:4294967295.0:>, <:UINT32_MAX:>)m4_dnl
RN_DEF_SAT(<:s64:>, <:int64_t:>, <:-0x1p63:>, <:INT64_MIN:>, <:0x1p63:>, <:INT64_MAX:>)m4_dnl
RN_DEF_SAT(<:u64:>, <:uint64_t:>, <:0.0:>, <:0:>, <:0x1p64:>, <:UINT64_MAX:>)m4_dnl
m4_dnl
m4_dnl RN_CAST_WIDE(v): x[i] as a value of a standard C type (float16 and
m4_dnl bfloat16 widened to float); RN_CAST_EXPR: the converted element.
m4_define(<:RN_CAST_WIDE:>, <:m4_ifelse(P_FROM, <:f16:>, <:rn_f16_to_f32($1):>,
P_FROM, <:bf16:>, <:rn_bf16_to_f32($1):>, <:$1:>):>)
m4_define(<:RN_CAST_ISFLOAT:>, <:m4_ifelse(P_FROM, <:f32:>, 1, P_FROM, <:f64:>, 1, P_FROM, <:f16:>, 1, P_FROM, <:bf16:>, 1, 0):>)
m4_define(<:RN_CAST_EXPR:>, <:m4_ifelse(P_FROM, P_TOK, <:x[i]:>,
P_TOK, <:f16:>, <:rn_f64_to_f16((double)RN_CAST_WIDE(<:x[i]:>)):>,
P_TOK, <:bf16:>, <:rn_f64_to_bf16((double)RN_CAST_WIDE(<:x[i]:>)):>,
P_TOK, <:b8:>, <:(uint8_t)(RN_CAST_WIDE(<:x[i]:>) != 0):>,
P_TOK, <:f32:>, <:(float)RN_CAST_WIDE(<:x[i]:>):>,
P_TOK, <:f64:>, <:(double)RN_CAST_WIDE(<:x[i]:>):>,
RN_CAST_ISFLOAT, 1, <:rn_sat_:>P_TOK<:((double)RN_CAST_WIDE(<:x[i]:>)):>,
<:(P_TO)x[i]:>):>)
m4_define(<:RN_CAST__scalar:>, <:m4_dnl
m4_ifelse(P_FROM, <:f16:>, <:RN_HELPER(<:f16_in:>):>, P_FROM, <:bf16:>, <:RN_HELPER(<:bf16_in:>):>)m4_dnl
m4_ifelse(P_TOK, <:f16:>, <:RN_HELPER(<:f16_out:>):>, P_TOK, <:bf16:>, <:RN_HELPER(<:bf16_out:>):>)m4_dnl
m4_ifelse(m4_ifelse(P_FROM, P_TOK, 0, RN_CAST_ISFLOAT), 1,
<:m4_ifelse(RN_ONEOF_(P_TOK, s8, u8, s16, u16, s32, u32, s64, u64), 1, <:RN_HELPER(<:sat_:>P_TOK):>):>)
/* Cast P_FROM -> P_TOK */
static void RN_FNAME<::>(const P_TI *restrict x, P_TO *restrict y)
{
  RN_ENUM(NUMEL)
  int i;
  for (i = 0; i < NUMEL; i++)
    y[i] = RN_CAST_EXPR;
}
:>)
