m4_dnl main_c.m4 - NAME_main.c, a command-line driver for the model.
m4_dnl RN_MAIN prints the whole file from the facts (see common.m4).
m4_define(<:RN_IO_MAIN_TABLE:>, <:  {"$1", "$9", "$5[m4_translit(<:$6:>, <: :>)]", "$5", $7, $8},
:>)
m4_define(<:RN_IO_MAIN_ARG:>, <:m4_ifelse(<:$1:>, <:in:>, <:(const $4 *)buf[$2]:>, <:($4 *)buf[RN_NIN + $2]:>), :>)
m4_define(<:RN_MAIN:>, <:RN_FILE_COMMENT(<:c:>, <:_main.c:>)
/*
 * Runs RN_MODEL on raw little-endian files, one per graph input then one
 * per graph output, in graph order:
 *
 *   RN_MODEL IN.bin... OUT.bin...        writes the outputs
 *   RN_MODEL --bench N IN.bin...         prints "median_ms=X min_ms=Y" over
 *                                        N timed runs after one warm-up
 *   RN_MODEL --check [--tol T] IN.bin... REF.bin...
 *                                        runs, then compares each output
 *                                        with its reference file: prints
 *                                        max|out-ref|/max|ref| per output;
 *                                        exit status 1 if one exceeds T
 *                                        (default 1e-4) or is not finite
 *m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <:
 * The weights are compiled in (RN_MODEL<:_weights.c:>).:>, <:
 * The weights are read from RN_MODEL<:.weights:> next to the program, or
 * from the file given with --weights FILE before the other arguments.:>)
 * The driver uses stdio and malloc; the model itself (RN_MODEL.c) does not.
 */
#define _POSIX_C_SOURCE 200809L
#include "RN_MODEL.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NIO (RN_MODEL<:_NUM_INPUTS:> + RN_MODEL<:_NUM_OUTPUTS:>)

static const struct io {
  const char *dir, *name, *type, *dtype;
  size_t numel, bytes;
} ios[NIO + 1] = {
RN_FOREACH_IO(<:RN_IO_MAIN_TABLE:>)m4_dnl
  {0, 0, 0, 0, 0, 0}
};

static const char *prog = "RN_MODEL";

/* A buffer of n bytes (at least 1) aligned to RN_MODEL<:_ALIGN:>, from
 * malloc; *base receives what to free. */
static void *alloc_aligned(size_t n, void **base)
{
  unsigned char *p = malloc(n + RN_MODEL<:_ALIGN:>);
  size_t pad;
  if (!p) {
    fprintf(stderr, "%s: out of memory (%lu bytes)\n", prog, (unsigned long)n);
    exit(1);
  }
  *base = p;
  pad = (size_t)(RN_MODEL<:_ALIGN:> - (size_t)((uintptr_t)p % RN_MODEL<:_ALIGN:>)) % RN_MODEL<:_ALIGN:>;
  memset(p + pad, 0, n);
  return p + pad;
}

/* Reads exactly n bytes of path into p, or says what it expected. */
static void read_exact(const char *path, void *p, size_t n, const char *what)
{
  FILE *f = fopen(path, "rb");
  size_t got;
  int extra;
  if (!f) {
    fprintf(stderr, "%s: cannot open %s (%s)\n", prog, path, what);
    exit(1);
  }
  got = fread(p, 1, n, f);
  extra = fgetc(f) != EOF;
  fclose(f);
  if (got != n || extra) {
    fprintf(stderr, "%s: %s: expected %lu bytes (%s), got %s%lu\n", prog, path,
            (unsigned long)n, what, extra ? "more than " : "", (unsigned long)got);
    exit(1);
  }
}

static void write_all(const char *path, const void *p, size_t n)
{
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
    fprintf(stderr, "%s: cannot write %s\n", prog, path);
    exit(1);
  }
}

static double now_ms(void)
{
#if defined(CLOCK_MONOTONIC)
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
#else
  return (double)clock() * 1e3 / CLOCKS_PER_SEC;
#endif
}

static int cmp_double(const void *a, const void *b)
{
  const double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

/* An IEEE half (float16) as a double: exact. */
static double half(unsigned h)
{
  const int e = (int)(h >> 10 & 31);
  double v = (double)(h & 1023) / 1024;
  int k;
  if (e == 31)
    v = v != 0 ? NAN : HUGE_VAL;
  else
    for (v = e ? 1 + v : v, k = e ? e - 15 : -14; k; k += k < 0 ? 1 : -1)
      v = k < 0 ? v / 2 : v * 2;
  return h & 0x8000 ? -v : v;
}

/* Element i, of size n bytes, of little-endian data of type dtype, as a
 * double (for --check). */
static double element(const char *dtype, const unsigned char *p, size_t n, size_t i)
{
  uint64_t u = 0;
  size_t k;
  p += n * i;
  for (k = 0; k < n; k++)
    u |= (uint64_t)p[k] << 8 * k;
  if (!strcmp(dtype, "float32") || !strcmp(dtype, "bfloat16")) {
    const uint32_t bits = (uint32_t)(n == 2 ? u << 16 : u);   /* bfloat16: the upper half */
    float f;
    memcpy(&f, &bits, 4);
    return f;
  }
  if (!strcmp(dtype, "float64")) {
    double d;
    memcpy(&d, &u, 8);
    return d;
  }
  if (!strcmp(dtype, "float16"))
    return half((unsigned)u);
  if (dtype[0] == 'i') {   /* int8 ... int64: sign-extend */
    if (n < 8 && u >> (8 * n - 1))
      u |= ~(uint64_t)0 << 8 * n;
    return (double)(int64_t)u;
  }
  return (double)u;        /* uint8 ... uint64, bool */
}

/* --check: max|out - ref| / max|ref| over output io (the absolute error
 * when the reference is all zeros; infinite when a value is NaN or
 * infinite and differs from its reference).  Prints one line; returns 1
 * if the error is within tol. */
static int check(const struct io *io, const void *out, const void *ref, const char *path,
                 double tol)
{
  const size_t size = io->bytes / (io->numel ? io->numel : 1);
  double maxref = 0, maxdiff = 0, e;
  size_t i;
  int ok;
  for (i = 0; i < io->numel; i++) {
    const double o = element(io->dtype, out, size, i), r = element(io->dtype, ref, size, i);
    const double d = o > r ? o - r : r - o;
    if ((r < 0 ? -r : r) > maxref && r - r == 0)   /* finite */
      maxref = r < 0 ? -r : r;
    if (o != r && !(d <= DBL_MAX))                 /* NaN or an infinity */
      maxdiff = HUGE_VAL;
    else if (o != r && d > maxdiff)
      maxdiff = d;
  }
  e = maxref > 0 ? maxdiff / maxref : maxdiff;
  ok = e <= tol;
  printf("%sput '%s' vs %s: max|out-ref|/max|ref| = %.3g%s (tolerance %.3g): %s\n", io->dir,
         io->name, path, e, maxref > 0 ? "" : " (reference all zero: absolute)", tol,
         ok ? "ok" : "FAILED");
  return ok;
}

static int run(void **buf, void *arena, const void *weights)
{
  return RN_MODEL<:_run:>(RN_FOREACH_IO(<:RN_IO_MAIN_ARG:>)arena, weights);
}

/* The usage message: on stdout with status 0 for --help, else on stderr
 * with status 2. */
static void usage(int status)
{
  FILE *f = status ? stderr : stdout;
  int i;
  fprintf(f, "usage: %s [--weights FILE] IN.bin... OUT.bin...     run, write the outputs\n"
             "       %s [--weights FILE] --check [--tol T] IN.bin... REF.bin...\n"
             "           run, compare each output with its reference: prints\n"
             "           max|out-ref|/max|ref|, exit status 1 above T (default 1e-4)\n"
             "       %s [--weights FILE] --bench N IN.bin...\n"
             "           N timed runs after a warm-up: prints median_ms=... min_ms=...\n"
             "Files are raw little-endian, one per input then one per output:\n", prog, prog, prog);
  for (i = 0; i < NIO; i++)
    fprintf(f, "  %sput '%s': %s, %lu bytes\n", ios[i].dir, ios[i].name, ios[i].type,
            (unsigned long)ios[i].bytes);
  exit(status);
}

int main(int argc, char **argv)
{
  void *buf[NIO + 1], *base[NIO + 2], *arena;
  void *refs[NIO + 1] = {0}, *refbase[NIO + 1] = {0};
  int mismatch = 0;
  const void *weights = NULL;
  void *wbase = NULL;
  long bench = -1;
  int check_refs = 0;
  double tol = 1e-4;
  int i, a = 1, nfiles, st;
m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <:  const char *wpath = NULL;
:>, <:  const char *wpath = NULL;
  char *wdefault = NULL;
:>)m4_dnl

  if (argc > 0 && argv[0][0])
    prog = argv[0];
  while (a < argc && argv[a][0] == '-' && argv[a][1] == '-') {
    char *end;
    if (!strcmp(argv[a], "--help"))
      usage(0);
    if (!strcmp(argv[a], "--check")) {
      check_refs = 1;
      a++;
      continue;
    }
    if (a + 1 >= argc)
      usage(2);
    if (!strcmp(argv[a], "--weights")) {
      wpath = argv[a + 1];
    } else if (!strcmp(argv[a], "--bench")) {
      bench = strtol(argv[a + 1], &end, 10);
      if (*end || bench < 1)
        usage(2);
    } else if (!strcmp(argv[a], "--tol")) {
      tol = strtod(argv[a + 1], &end);
      if (*end || !(tol >= 0))
        usage(2);
    } else {
      usage(2);
    }
    a += 2;
  }
  if (a < argc && !strcmp(argv[a], "-h"))
    usage(0);
  nfiles = argc - a;
  if (nfiles != (bench >= 0 ? RN_MODEL<:_NUM_INPUTS:> : NIO) || (bench >= 0 && check_refs))
    usage(2);
m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <::>, <:  if (!wpath) {
    /* RN_MODEL.weights in the program's directory */
    const char *slash = strrchr(argv[0], '/');
    size_t dir = slash ? (size_t)(slash - argv[0] + 1) : 0;
    wdefault = malloc(dir + sizeof "RN_MODEL.weights");
    if (!wdefault)
      return 1;
    memcpy(wdefault, argv[0], dir);
    strcpy(wdefault + dir, "RN_MODEL.weights");
    wpath = wdefault;
  }
:>)m4_dnl
  if (wpath) {
    void *w = alloc_aligned(RN_MODEL<:_WEIGHTS_BYTES:>, &wbase);
    read_exact(wpath, w, RN_MODEL<:_WEIGHTS_BYTES:>, "the weights of RN_MODEL");
    weights = w;
  }
  for (i = 0; i < NIO; i++) {
    char what[256];
    buf[i] = alloc_aligned(ios[i].bytes, &base[i]);
    sprintf(what, "%.60s '%.120s', %.60s", i < RN_MODEL<:_NUM_INPUTS:> ? "input" : "output",
            ios[i].name, ios[i].type);
    if (i < RN_MODEL<:_NUM_INPUTS:>)
      read_exact(argv[a + i], buf[i], ios[i].bytes, what);
  }
  if (check_refs) {   /* the references, read (and size-checked) before the run */
    for (i = RN_MODEL<:_NUM_INPUTS:>; i < NIO; i++) {
      char what[256];
      sprintf(what, "reference of output '%.120s', %.60s", ios[i].name, ios[i].type);
      refs[i] = alloc_aligned(ios[i].bytes, &refbase[i]);
      read_exact(argv[a + i], refs[i], ios[i].bytes, what);
    }
  }
  arena = alloc_aligned(RN_MODEL<:_ARENA_BYTES:>, &base[NIO]);
  if (bench >= 0) {
    double *t = malloc(sizeof *t * (size_t)bench);
    long k;
    if (!t)
      return 1;
    st = run(buf, arena, weights);
    for (k = 0; k < bench && st == 0; k++) {
      const double t0 = now_ms();
      st = run(buf, arena, weights);
      t[k] = now_ms() - t0;
    }
    if (st == 0) {
      qsort(t, (size_t)bench, sizeof *t, cmp_double);
      printf("median_ms=%.3f min_ms=%.3f\n",
             bench % 2 ? t[bench / 2] : (t[bench / 2 - 1] + t[bench / 2]) / 2, t[0]);
    }
    free(t);
  } else if (check_refs) {
    st = run(buf, arena, weights);
    if (st == 0)
      for (i = RN_MODEL<:_NUM_INPUTS:>; i < NIO; i++)
        if (!check(&ios[i], buf[i], refs[i], argv[a + i], tol))
          mismatch = 1;
  } else {
    st = run(buf, arena, weights);
    if (st == 0 || st == RN_MODEL<:_ERR_INDEX:>)
      for (i = RN_MODEL<:_NUM_INPUTS:>; i < NIO; i++)
        write_all(argv[a + i], buf[i], ios[i].bytes);
  }
#ifdef RN_MODEL_UC<:_PROFILE:>
  if (st == 0)
    RN_MODEL<:_profile_report:>();
#endif
  if (st != 0)
    fprintf(stderr, "%s: RN_MODEL<:_run:> failed with status %d (%s)\n", prog, st,
            st == 1 ? "a NULL pointer" : st == 2 ? "misaligned memory"
            : st == 3 ? "the weights file does not belong to this model"
            : st == 4 ? "big-endian host" : st == 5 ? "a Gather index out of range" : "?");
  for (i = 0; i < NIO; i++)
    free(base[i]);
  for (i = 0; i < NIO; i++)
    free(refbase[i]);
  free(base[NIO]);
  free(wbase);
m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <::>, <:  free(wdefault);
:>)m4_dnl
  return st != 0 || mismatch;
}
:>)
