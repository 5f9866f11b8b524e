/* test_progress.c - the progress line: drawn on a terminal after half a
 * second, at most every 0.1 s, erased at the end; nothing when disabled
 * (not a terminal, or -q) and nothing for short work. */
#define _XOPEN_SOURCE 700
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ir.h"
#include "progress.h"
#include "testutil.h"

static double fake_now;
static double fake_clock(void) { return fake_now; }

static char *capture_run(int enabled, double step, int64_t total, int n) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fake_now = 100.0;
  progress_init_for_test(f, enabled, fake_clock);
  progress_begin("reading big.onnx", total);
  for (int i = 1; i <= n; i++) {
    fake_now += step;
    progress_update(total / n * i);
  }
  progress_end();
  fclose(f);
  return buf;
}

static void test_draws_and_erases(void) {
  /* 100 steps of 0.05 s over 200 MB: 5 s of work */
  char *s = capture_run(1, 0.05, (int64_t)200 << 20, 100);
  CU_ASSERT_PTR_NOT_NULL(strstr(s, "reading big.onnx ["));
  CU_ASSERT_PTR_NOT_NULL(strstr(s, " 50% 100.0 MB of 200.0 MB"));
  CU_ASSERT_PTR_NULL(strstr(s, "  5%"));          /* before 0.5 s: nothing */
  CU_ASSERT_PTR_NULL(strstr(s, "\n"));            /* one line, redrawn with \r */
  /* redrawn at most every 0.1 s: at most 5 s / 0.1 s draws */
  int draws = 0;
  for (const char *p = s; (p = strstr(p, "reading")); p++) draws++;
  CU_ASSERT_TRUE(draws >= 20 && draws <= 50);
  /* erased: ends with \r, spaces, \r */
  size_t n = strlen(s);
  CU_ASSERT_TRUE(n > 2 && s[n - 1] == '\r' && s[n - 2] == ' ');
  free(s);
}

static void test_silent_when_disabled_or_short(void) {
  char *s = capture_run(0, 0.05, (int64_t)200 << 20, 100);
  CU_ASSERT_EQUAL(strlen(s), 0);
  free(s);
  s = capture_run(1, 0.001, (int64_t)200 << 20, 100);   /* 0.1 s of work */
  CU_ASSERT_EQUAL(strlen(s), 0);
  free(s);
}

/* An error or warning in the middle (ir_fail/ir_warn call the hook first)
 * erases the line, so the message starts at column 0; the work then goes
 * on drawing. */
static void test_message_erases_line(void) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  fake_now = 100.0;
  progress_init_for_test(f, 1, fake_clock);
  CU_ASSERT_PTR_NOT_NULL_FATAL(ir_before_message);
  int64_t total = (int64_t)100 << 20;
  progress_begin("writing", total);
  fake_now += 1.0;
  progress_update(total / 4);
  fflush(f);
  size_t drawn = len;
  ir_before_message();
  fputs("ERROR\n", f);
  fake_now += 1.0;
  progress_update(total / 2);
  progress_end();
  fclose(f);
  CU_ASSERT_TRUE(drawn > 0);
  char *e = strstr(buf, "ERROR\n");
  CU_ASSERT_PTR_NOT_NULL_FATAL(e);
  CU_ASSERT_TRUE(e > buf && e[-1] == '\r' && e[-2] == ' ');   /* erased just before */
  CU_ASSERT_PTR_NOT_NULL(strstr(e, " 50%"));                  /* drawn again after */
  free(buf);
  progress_init_for_test(NULL, 0, NULL);
  CU_ASSERT_PTR_NULL(ir_before_message);
}

/* progress_init looks at stderr: on for a terminal (a pseudo-terminal
 * here), off for a file, off with -q. */
static void test_terminal_detection(void) {
  fflush(stderr);
  int saved = dup(2);
  FILE *file = tmpfile();
  CU_ASSERT_PTR_NOT_NULL_FATAL(file);
  dup2(fileno(file), 2);
  progress_init(0);
  int on_file = progress_enabled();
  int pty = posix_openpt(O_RDWR | O_NOCTTY);
  int on_pty = -1, on_pty_quiet = -1;
  if (pty >= 0 && grantpt(pty) == 0 && unlockpt(pty) == 0) {
    int slave = open(ptsname(pty), O_RDWR | O_NOCTTY);
    if (slave >= 0) {
      dup2(slave, 2);
      progress_init(0);
      on_pty = progress_enabled();
      progress_init(1);
      on_pty_quiet = progress_enabled();
      close(slave);
    }
  }
  dup2(saved, 2);
  close(saved);
  fclose(file);
  if (pty >= 0) close(pty);
  CU_ASSERT_EQUAL(on_file, 0);
  if (on_pty < 0) {
    fprintf(stderr, "test_progress: no pseudo-terminal, terminal case not checked\n");
  } else {
    CU_ASSERT_EQUAL(on_pty, 1);
    CU_ASSERT_EQUAL(on_pty_quiet, 0);
  }
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("progress", NULL, NULL);
  CU_add_test(s, "draws on a terminal, erases at the end", test_draws_and_erases);
  CU_add_test(s, "silent when disabled or short", test_silent_when_disabled_or_short);
  CU_add_test(s, "an error message erases the line first", test_message_erases_line);
  CU_add_test(s, "on for a terminal only, off with -q", test_terminal_detection);
  return rn_run_tests();
}
