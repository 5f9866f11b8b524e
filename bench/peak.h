/*
 * peak.h - the single-core FMA peak of the machine, measured.
 *
 * 24 independent accumulators (enough for 2 FMA pipes x latency <= 12)
 * each get a chain of fused multiply-adds; the widest vector ISA the
 * compiler targets is used (AVX-512, AVX2+FMA, NEON, else scalar), the
 * same macros the generated kernels use, so "% of peak" compares like with
 * like.  Include in one C file; call peak_gflops(seconds).
 */
#ifndef RESNETC_BENCH_PEAK_H
#define RESNETC_BENCH_PEAK_H
#include <time.h>

#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>
#define PK_ISA "avx512"
#define PK_LANES 16
typedef __m512 pk_v;
#define PK_SET(x) _mm512_set1_ps(x)
#define PK_FMA(a, b, c) _mm512_fmadd_ps(a, b, c)
#define PK_SUM(a) _mm512_reduce_add_ps(a)
#elif defined(__AVX2__) && defined(__FMA__)
#include <immintrin.h>
#define PK_ISA "avx2"
#define PK_LANES 8
typedef __m256 pk_v;
#define PK_SET(x) _mm256_set1_ps(x)
#define PK_FMA(a, b, c) _mm256_fmadd_ps(a, b, c)
static float pk_sum8(__m256 a) { float t[8]; int i; float s = 0; _mm256_storeu_ps(t, a); for (i = 0; i < 8; i++) s += t[i]; return s; }
#define PK_SUM(a) pk_sum8(a)
#elif defined(__ARM_NEON) && defined(__aarch64__)
#include <arm_neon.h>
#define PK_ISA "neon"
#define PK_LANES 4
typedef float32x4_t pk_v;
#define PK_SET(x) vdupq_n_f32(x)
#define PK_FMA(a, b, c) vfmaq_f32(c, a, b)
#define PK_SUM(a) vaddvq_f32(a)
#else
#define PK_ISA "scalar"
#define PK_LANES 1
typedef float pk_v;
#define PK_SET(x) (x)
#define PK_FMA(a, b, c) ((a) * (b) + (c))
#define PK_SUM(a) (a)
#endif

/* Thread CPU time by default: on a shared machine it leaves out the time
 * the thread waited for a core.  -DPK_WALL measures wall-clock time. */
static double pk_now(void) {
  struct timespec t;
#if defined(PK_WALL) || !defined(CLOCK_THREAD_CPUTIME_ID)
  clock_gettime(CLOCK_MONOTONIC, &t);
#else
  clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
#endif
  return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

volatile float pk_sink;

/* Best of several runs of about `seconds` in total; GFLOP/s (2 per FMA lane). */
static double peak_gflops(double seconds) {
  double best = 0;
  long n = 1 << 16;
  int rep;
  for (rep = 0; rep < 40; rep++) {
    pk_v a0 = PK_SET(0), a1 = PK_SET(1), a2 = PK_SET(2), a3 = PK_SET(3), a4 = PK_SET(4), a5 = PK_SET(5);
    pk_v a6 = PK_SET(6), a7 = PK_SET(7), a8 = PK_SET(8), a9 = PK_SET(9), a10 = PK_SET(10), a11 = PK_SET(11);
    pk_v a12 = PK_SET(12), a13 = PK_SET(13), a14 = PK_SET(14), a15 = PK_SET(15), a16 = PK_SET(16), a17 = PK_SET(17);
    pk_v a18 = PK_SET(18), a19 = PK_SET(19), a20 = PK_SET(20), a21 = PK_SET(21), a22 = PK_SET(22), a23 = PK_SET(23);
    const pk_v m = PK_SET(0.999999f), c = PK_SET(1e-7f);
    long i;
    double t = pk_now();
    for (i = 0; i < n; i++) {
      a0 = PK_FMA(a0, m, c); a1 = PK_FMA(a1, m, c); a2 = PK_FMA(a2, m, c); a3 = PK_FMA(a3, m, c);
      a4 = PK_FMA(a4, m, c); a5 = PK_FMA(a5, m, c); a6 = PK_FMA(a6, m, c); a7 = PK_FMA(a7, m, c);
      a8 = PK_FMA(a8, m, c); a9 = PK_FMA(a9, m, c); a10 = PK_FMA(a10, m, c); a11 = PK_FMA(a11, m, c);
      a12 = PK_FMA(a12, m, c); a13 = PK_FMA(a13, m, c); a14 = PK_FMA(a14, m, c); a15 = PK_FMA(a15, m, c);
      a16 = PK_FMA(a16, m, c); a17 = PK_FMA(a17, m, c); a18 = PK_FMA(a18, m, c); a19 = PK_FMA(a19, m, c);
      a20 = PK_FMA(a20, m, c); a21 = PK_FMA(a21, m, c); a22 = PK_FMA(a22, m, c); a23 = PK_FMA(a23, m, c);
    }
    t = pk_now() - t;
    pk_sink = PK_SUM(a0) + PK_SUM(a1) + PK_SUM(a2) + PK_SUM(a3) + PK_SUM(a4) + PK_SUM(a5) + PK_SUM(a6) +
              PK_SUM(a7) + PK_SUM(a8) + PK_SUM(a9) + PK_SUM(a10) + PK_SUM(a11) + PK_SUM(a12) +
              PK_SUM(a13) + PK_SUM(a14) + PK_SUM(a15) + PK_SUM(a16) + PK_SUM(a17) + PK_SUM(a18) +
              PK_SUM(a19) + PK_SUM(a20) + PK_SUM(a21) + PK_SUM(a22) + PK_SUM(a23);
    if (t > 0) {
      double g = 24.0 * 2 * PK_LANES * (double)n / t / 1e9;
      if (g > best) best = g;
      if (t < seconds / 40) n *= 2;
    }
  }
  return best;
}
#endif
