#include "testutil.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static int nskipped;

const char *rn_shared(const char *rel) {
  static char buf[4096];
  const char *env = getenv("RN_SHARED_DIR");
  snprintf(buf, sizeof buf, "%s/%s", env ? env : RN_SHARED_DIR, rel);
  struct stat st;
  return stat(buf, &st) == 0 ? buf : NULL;
}

const char *rn_source_path(const char *rel) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/%s", RN_SOURCE_DIR, rel);
  return buf;
}

void rn_skip(const char *why) {
  nskipped++;
  fprintf(stderr, "SKIPPED: %s\n", why);
}

int rn_run_tests(void) {
  CU_basic_set_mode(CU_BRM_VERBOSE);
  CU_basic_run_tests();
  unsigned nfail = CU_get_number_of_failures() + CU_get_number_of_tests_failed();
  unsigned nrun = CU_get_number_of_tests_run();
  unsigned nasserts = CU_get_number_of_asserts();
  CU_cleanup_registry();
  if (nfail) return 1;
  /* every test skipped (or none asserted anything): report skipped */
  if (nskipped && (nasserts == 0 || (unsigned)nskipped >= nrun)) return 77;
  return 0;
}

void *rn_read_file(const char *path, size_t *len) {
  FILE *f = fopen(path, "rb");
  if (!f) return NULL;
  if (fseek(f, 0, SEEK_END) != 0) { fclose(f); return NULL; }
  long n = ftell(f);
  rewind(f);
  char *p = malloc((size_t)n + 1);
  if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) { free(p); fclose(f); return NULL; }
  p[n] = 0;
  fclose(f);
  if (len) *len = (size_t)n;
  return p;
}

int rn_write_file(const char *path, const void *p, size_t len) {
  FILE *f = fopen(path, "wb");
  if (!f) return -1;
  size_t w = len ? fwrite(p, 1, len, f) : 0;   /* p may be NULL for an empty tensor */
  return fclose(f) == 0 && w == len ? 0 : -1;
}

int rn_system(const char *log, const char *fmt, ...) {
  char cmd[16384];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(cmd, sizeof cmd, fmt, ap);
  va_end(ap);
  char full[17000];
  if (log) snprintf(full, sizeof full, "( %s ) >%s 2>&1", cmd, log);
  else snprintf(full, sizeof full, "%s", cmd);
  int st = system(full);
  if (st == -1) return -1;
  return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

static FILE *cap_file;
static int cap_saved = -1;

void rn_capture_begin(void) {
  fflush(stderr);
  cap_saved = -1;
  if (getenv("RN_NO_CAPTURE") || !(cap_file = tmpfile())) return;
  cap_saved = dup(2);
  dup2(fileno(cap_file), 2);
}

char *rn_capture_end(void) {
  fflush(stderr);
  size_t n = 0, cap = 4096;
  char *s = malloc(cap);
  if (cap_saved < 0) { s[0] = 0; return s; }
  dup2(cap_saved, 2);
  close(cap_saved);
  cap_saved = -1;
  rewind(cap_file);
  for (size_t k; (k = fread(s + n, 1, cap - n - 1, cap_file)) > 0;) {
    n += k;
    if (n + 1 == cap) s = realloc(s, cap *= 2);
  }
  s[n] = 0;
  fclose(cap_file);
  cap_file = NULL;
  return s;
}

const char *rn_tmpdir(const char *tag) {
  static char buf[4096];
  snprintf(buf, sizeof buf, "%s/test-tmp/%s", RN_BINARY_DIR, tag);
  rn_system(NULL, "rm -rf '%s' && mkdir -p '%s'", buf, buf);
  return buf;
}

double rn_rel_err(const float *a, const float *b, size_t n, double *maxref) {
  double m = 0, e = 0;
  for (size_t i = 0; i < n; i++) {
    if (fabs(b[i]) > m) m = fabs(b[i]);
    double d = fabs((double)a[i] - b[i]);
    if (d > e || d != d) e = d != d ? INFINITY : d;
  }
  if (maxref) *maxref = m;
  return m > 0 ? e / m : e;
}
