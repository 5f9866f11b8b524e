/*
 * progress.c - one self-erasing progress line on stderr, for work that takes
 * long enough for a person to wonder (a 250 MB model read, 100 MB of
 * weights written as C).
 *
 * Method: progress_update() is cheap (a compare) and may be called per
 * tensor or per row; the line is redrawn at most every 0.1 s, and only
 * after the work has run for 0.5 s, so short runs print nothing.  It is
 * drawn with '\r' and erased with spaces at the end, so the terminal is
 * left as it was.  When stderr is not a terminal (CI logs, pipes) or with
 * -q, nothing is ever printed: scripts see errors only.
 */
#include "progress.h"

#include "ir.h"

#include <string.h>
#include <time.h>
#include <unistd.h>

static struct {
  FILE *f;                /* NULL: disabled */
  double (*clock)(void);
  int64_t min_total;
  char what[64];
  int64_t total, next;    /* next: the done count at which to look again */
  double start, last;
  int shown, width;       /* a line is on screen; its length */
} P;

static double real_clock(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Erases the line before an error or warning is printed; the next update
 * draws it again. */
static void clear_line(void) {
  if (!P.f || !P.shown) return;
  fputc('\r', P.f);
  for (int i = 0; i < P.width; i++) fputc(' ', P.f);
  fputc('\r', P.f);
  fflush(P.f);
  P.shown = 0;
  P.last = 0;   /* redraw at the next update */
}

void progress_init(int quiet) {
  memset(&P, 0, sizeof P);
  P.clock = real_clock;
  P.min_total = PROGRESS_MIN_BYTES;
  P.f = !quiet && isatty(fileno(stderr)) ? stderr : NULL;
  ir_before_message = P.f ? clear_line : NULL;
}

void progress_init_for_test(FILE *f, int enabled, double (*clock)(void)) {
  memset(&P, 0, sizeof P);
  P.clock = clock ? clock : real_clock;
  P.min_total = 0;
  P.f = enabled ? f : NULL;
  ir_before_message = P.f ? clear_line : NULL;
}

int progress_enabled(void) { return P.f != NULL; }

void progress_begin(const char *what, int64_t total) {
  if (!P.f) return;
  progress_end();
  size_t n = strlen(what);
  if (n >= sizeof P.what) n = sizeof P.what - 1;
  memcpy(P.what, what, n);
  P.what[n] = 0;
  P.total = total > 0 ? total : 0;
  P.start = P.last = P.clock();
  /* below the minimum size: never look again */
  P.next = P.total < P.min_total ? INT64_MAX : 0;
}

static void human(char *buf, size_t n, int64_t b) {
  if (b >= (int64_t)1 << 30) snprintf(buf, n, "%.1f GB", b / 1073741824.0);
  else if (b >= 1 << 20) snprintf(buf, n, "%.1f MB", b / 1048576.0);
  else snprintf(buf, n, "%.0f kB", b / 1024.0);
}

void progress_update(int64_t done) {
  if (!P.f || done < P.next) return;
  /* look at the clock about every 1/1000 of the work */
  P.next = done + (P.total / 1000 > 0 ? P.total / 1000 : 1);
  double now = P.clock();
  if (now - P.start < 0.5 || now - P.last < 0.1) return;
  P.last = now;
  char a[32], b[32];
  human(a, sizeof a, done);
  human(b, sizeof b, P.total);
  int pct = P.total ? (int)(100.0 * (double)done / (double)P.total) : 0;
  if (pct > 100) pct = 100;
  char bar[21];
  for (int i = 0; i < 20; i++) bar[i] = i < pct / 5 ? '#' : '.';
  bar[20] = 0;
  int w = fprintf(P.f, "\r%s [%s] %3d%% %s of %s", P.what, bar, pct, a, b) - 1;
  for (int i = w; i < P.width; i++) fputc(' ', P.f);
  if (w > P.width) P.width = w;
  fflush(P.f);
  P.shown = 1;
}

void progress_end(void) {
  clear_line();
  P.width = 0;
  P.next = INT64_MAX;
}
