m4_dnl main_c.m4 - NAME_main.c, a command-line driver for the model.
m4_dnl RN_MAIN prints the whole file from the facts (see common.m4).
m4_define(<:RN_IO_MAIN_TABLE:>, <:  {"$1", "$9", "$5[m4_translit(<:$6:>, <: :>)]", $8},
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
 *m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <:
 * The weights are compiled in (RN_MODEL<:_weights.c:>).:>, <:
 * The weights are read from RN_MODEL<:.weights:> next to the program, or
 * from the file given with --weights FILE before the other arguments.:>)
 * The driver uses stdio and malloc; the model itself (RN_MODEL.c) does not.
 */
#define _POSIX_C_SOURCE 200809L
#include "RN_MODEL.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define NIO (RN_MODEL<:_NUM_INPUTS:> + RN_MODEL<:_NUM_OUTPUTS:>)

static const struct io {
  const char *dir, *name, *type;
  size_t bytes;
} ios[NIO + 1] = {
RN_FOREACH_IO(<:RN_IO_MAIN_TABLE:>)m4_dnl
  {0, 0, 0, 0}
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

static int run(void **buf, void *arena, const void *weights)
{
  return RN_MODEL<:_run:>(RN_FOREACH_IO(<:RN_IO_MAIN_ARG:>)arena, weights);
}

static void usage(void)
{
  int i;
  fprintf(stderr, "usage: %s [--weights FILE] IN.bin... OUT.bin...\n"
                  "       %s [--weights FILE] --bench N IN.bin...\n", prog, prog);
  for (i = 0; i < NIO; i++)
    fprintf(stderr, "  %sput '%s': %s, %lu bytes\n", ios[i].dir, ios[i].name, ios[i].type,
            (unsigned long)ios[i].bytes);
  exit(2);
}

int main(int argc, char **argv)
{
  void *buf[NIO + 1], *base[NIO + 2], *arena;
  const void *weights = NULL;
  void *wbase = NULL;
  long bench = -1;
  int i, a = 1, nfiles, st;
m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <:  const char *wpath = NULL;
:>, <:  const char *wpath = NULL;
  char *wdefault = NULL;
:>)m4_dnl

  if (argc > 0 && argv[0][0])
    prog = argv[0];
  if (a + 1 < argc && strcmp(argv[a], "--weights") == 0) {
    wpath = argv[a + 1];
    a += 2;
  }
  if (a + 1 < argc && strcmp(argv[a], "--bench") == 0) {
    char *end;
    bench = strtol(argv[a + 1], &end, 10);
    if (*end || bench < 1)
      usage();
    a += 2;
  }
  nfiles = argc - a;
  if (nfiles != (bench >= 0 ? RN_MODEL<:_NUM_INPUTS:> : NIO))
    usage();
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
  free(base[NIO]);
  free(wbase);
m4_ifelse(RN_WEIGHTS_EMBEDDED, 1, <::>, <:  free(wdefault);
:>)m4_dnl
  return st != 0;
}
:>)
