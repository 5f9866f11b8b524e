m4_dnl model_c.m4 - NAME.c: the layer functions and NAME_run.
m4_dnl
m4_dnl The emitter writes RN_C_BEGIN, then one RN_KERNEL per distinct layer
m4_dnl function (see common.m4), then RN_RUN_BEGIN, one RN_CALL or RN_COPY
m4_dnl per node in execution order, and RN_RUN_END.
m4_dnl   RN_CALL(<:comment:>, <:base:>, <:n:>, <:args:>, <:kind:>, <:flops:>):
m4_dnl     calls kernel (base, n); kind status: it returns nonzero on bad
m4_dnl     data; flops: the layer's floating-point operations (profile).
m4_dnl   RN_COPY(<:comment:>, <:dst:>, <:src:>, <:bytes:>): a memcpy.
m4_dnl Pointer arguments are expressions over the run's parameters, A (the
m4_dnl arena) and W (the weights after the blob header).
m4_define(<:RN_C_BEGIN:>, <:RN_FILE_COMMENT(<:c:>, <:.c:>)
/*
 * The network as a list of calls to layer functions.  Each function is
 * specialised to one layer shape: every dimension, stride, pad and trip
 * count is an enum constant, so the compiler unrolls and vectorises.
 * Function names say dtype, op, shape class, fused epilogue and ISA
 * (rn_f32_conv2d_k3s1_relu__scalar_1).  Activations live in the caller's
 * arena at offsets fixed at compile time, weights in one blob.
 */
#include "RN_MODEL.h"

#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
RN_PROFILE_CODE()m4_dnl
:>)
m4_dnl
m4_dnl The per-layer profile, compiled in with -D<::>RN_MODEL_UC<:_PROFILE:> (make
m4_dnl profile): every call is timed with clock() (processor time, so a busy
m4_dnl machine distorts it less), and RN_MODEL<:_profile_report:>() prints per
m4_dnl layer the calls, mean and best time, GFLOP/s and % of the single-core
m4_dnl FMA peak (both from the mean), the peak measured on the spot with the
m4_dnl widest vector ISA compiled for.  On a shared machine whose speed comes
m4_dnl and goes, the best call against the peak (a best of 20 too) compares
m4_dnl like with like.
m4_dnl Only this build has writable globals and stdio.
m4_define(<:RN_PROF:>, <:RN_MODEL_UC<:_PROFILE:>:>)
m4_define(<:RN_PROFILE_CODE:>, <:
#ifdef RN_PROF
#include <stdio.h>
#include <time.h>
#define RN_MODEL<:_PROF_MAX:> 4096
static struct {
  const char *what;
  double flops, sec, best;
  long calls;
} RN_MODEL<:_prof:>[RN_MODEL<:_PROF_MAX:>];

static void RN_MODEL<:_prof_add:>(int i, const char *what, double flops, clock_t t)
{
  if (i >= RN_MODEL<:_PROF_MAX:>)
    return;
  RN_MODEL<:_prof:>[i].what = what;
  RN_MODEL<:_prof:>[i].flops = flops;
  RN_MODEL<:_prof:>[i].sec += (double)t / CLOCKS_PER_SEC;
  if (!RN_MODEL<:_prof:>[i].calls || (double)t / CLOCKS_PER_SEC < RN_MODEL<:_prof:>[i].best)
    RN_MODEL<:_prof:>[i].best = (double)t / CLOCKS_PER_SEC;
  RN_MODEL<:_prof:>[i].calls++;
}

#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>
typedef __m512 rn_pv;
#define RN_PV_LANES 16
#define RN_PV_SET(x) _mm512_set1_ps(x)
#define RN_PV_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define RN_PV_SUM(a) _mm512_reduce_add_ps(a)
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
typedef __m256 rn_pv;
#define RN_PV_LANES 8
#define RN_PV_SET(x) _mm256_set1_ps(x)
#define RN_PV_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
#define RN_PV_SUM(a) _mm256_cvtss_f32(a)
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
typedef float32x4_t rn_pv;
#define RN_PV_LANES 4
#define RN_PV_SET(x) vdupq_n_f32(x)
#define RN_PV_FMA(a, b, c) vfmaq_f32(c, a, b)
#define RN_PV_SUM(a) vgetq_lane_f32(a, 0)
#else
typedef float rn_pv;
#define RN_PV_LANES 1
#define RN_PV_SET(x) (x)
#define RN_PV_FMA(a, b, c) ((a) * (b) + (c))
#define RN_PV_SUM(a) (a)
#endif

/* The single-core FMA peak in GFLOP/s: 16 independent chains, best of 20. */
static double RN_MODEL<:_prof_peak:>(void)
{
  double best = 0;
  int rep, i, j;
  for (rep = 0; rep < 20; rep++) {
    rn_pv a[16], m = RN_PV_SET(0.999999f), c = RN_PV_SET(1e-7f);
    clock_t t;
    double sec;
    float sink = 0;
    for (j = 0; j < 16; j++)
      a[j] = RN_PV_SET((float)j);
    t = clock();
    for (i = 0; i < 200000; i++)
      for (j = 0; j < 16; j++)
        a[j] = RN_PV_FMA(a[j], m, c);
    sec = (double)(clock() - t) / CLOCKS_PER_SEC;
    for (j = 0; j < 16; j++)
      sink += RN_PV_SUM(a[j]);
    if (sec > 0 && sink == sink && 2.0 * RN_PV_LANES * 16 * 200000 / sec / 1e9 > best)
      best = 2.0 * RN_PV_LANES * 16 * 200000 / sec / 1e9;
  }
  return best;
}

void RN_MODEL<:_profile_report:>(void)
{
  double peak = RN_MODEL<:_prof_peak:>(), total = 0, flops = 0;
  int i;
  printf("profile of RN_MODEL: per layer, mean over its calls (and the best call); "
         "peak %.1f GFLOP/s (%d-lane FMA)\n", peak, RN_PV_LANES);
  printf("%4s %9s %9s %8s %6s %6s  %s\n", "#", "ms", "best ms", "GFLOP/s", "%peak", "calls", "layer");
  for (i = 0; i < RN_MODEL<:_PROF_MAX:>; i++) {
    double ms;
    if (!RN_MODEL<:_prof:>[i].calls)
      continue;
    ms = 1e3 * RN_MODEL<:_prof:>[i].sec / RN_MODEL<:_prof:>[i].calls;
    total += ms;
    flops += RN_MODEL<:_prof:>[i].flops;
    if (RN_MODEL<:_prof:>[i].flops > 0 && ms > 0)
      printf("%4d %9.3f %9.3f %8.1f %5.1f%% %6ld  %s\n", i, ms, 1e3 * RN_MODEL<:_prof:>[i].best,
             RN_MODEL<:_prof:>[i].flops / ms / 1e6, 100 * RN_MODEL<:_prof:>[i].flops / ms / 1e6 / peak,
             RN_MODEL<:_prof:>[i].calls, RN_MODEL<:_prof:>[i].what);
    else
      printf("%4d %9.3f %9.3f %8s %6s %6ld  %s\n", i, ms, 1e3 * RN_MODEL<:_prof:>[i].best, "-", "-",
             RN_MODEL<:_prof:>[i].calls, RN_MODEL<:_prof:>[i].what);
  }
  if (total > 0)
    printf("total %.3f ms, %.1f GFLOP/s, %.1f%% of peak\n", total, flops / total / 1e6,
           100 * flops / total / 1e6 / peak);
}
#define RN_MODEL<:_PROF_CALL:>(i, what, flops, call) \
  do { \
    const clock_t rn_t0 = clock(); \
    call; \
    RN_MODEL<:_prof_add:>(i, what, flops, clock() - rn_t0); \
  } while (0)
#else
#define RN_MODEL<:_PROF_CALL:>(i, what, flops, call) call
#endif
:>)
m4_define(<:RN_IO_CHECK:>, <:m4_ifelse(<:$7:>, <:0:>, <::>, <:  if (!$3)
    return RN_MODEL<:_ERR_NULL:>;
:>):>)
m4_define(<:RN_IO_VOID:>, <:  (void)$3;
:>)
m4_define(<:RN_RUN_BEGIN:>, <:
/* The first bytes of the weights blob: magic, size and hash. */
static const unsigned char RN_MODEL<:_weights_header:>[24] = {
  RN_WEIGHTS_HEADER
};

int RN_MODEL<:_run:>(RN_RUN_PARAMS)
{
  unsigned char *const A = (unsigned char *)arena;
  const unsigned char *W = (const unsigned char *)weights;
  const uint32_t one = 1;
  unsigned char first;
  int status = 0;

  memcpy(&first, &one, 1);
  if (first != 1)
    return RN_MODEL<:_ERR_ENDIAN:>;
RN_FOREACH_IO(<:RN_IO_CHECK:>)m4_dnl
  if (!A && RN_MODEL<:_ARENA_BYTES:> > 0)
    return RN_MODEL<:_ERR_NULL:>;
m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <:  if (!W)
    W = RN_MODEL<:_weights_embedded:>.bytes;
:>, <:  if (!W)
    return RN_MODEL<:_ERR_NULL:>;
:>)m4_dnl
  if ((uintptr_t)A % RN_MODEL<:_ALIGN:> != 0 || (uintptr_t)W % RN_MODEL<:_ALIGN:> != 0)
    return RN_MODEL<:_ERR_ALIGN:>;
  if (memcmp(W, RN_MODEL<:_weights_header:>, sizeof RN_MODEL<:_weights_header:>) != 0)
    return RN_MODEL<:_ERR_WEIGHTS:>;
  W += 64;
  (void)A;
  (void)W;
RN_FOREACH_IO(<:RN_IO_VOID:>)m4_dnl
m4_define(<:RN_PROF_N:>, 0)m4_dnl
:>)
m4_define(<:RN_CALL:>, <:
  /* $1 */
  RN_MODEL<:_PROF_CALL:>(RN_PROF_N, "$1", m4_ifelse(<:$6:>, <::>, 0, <:$6:>).0,
    m4_ifelse(<:$5:>, <:status:>, <:status |= :>)RN_FN(<:$2:>, <:$3:>)($4));m4_dnl
m4_define(<:RN_PROF_N:>, m4_incr(RN_PROF_N))
:>)
m4_define(<:RN_COPY:>, <:
  /* $1 */
  RN_MODEL<:_PROF_CALL:>(RN_PROF_N, "$1", 0.0, memcpy($2, $3, $4));m4_dnl
m4_define(<:RN_PROF_N:>, m4_incr(RN_PROF_N))
:>)
m4_define(<:RN_RUN_END:>, <:
  return status ? RN_MODEL<:_ERR_INDEX:> : RN_MODEL<:_OK:>;
}
:>)
