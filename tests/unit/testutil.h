/*
 * testutil.h - what every CUnit test program of resnetc shares.
 *
 * A test program registers suites, then returns rn_run_tests(), which runs
 * them and returns 0 (all passed), 1 (a failure) or 77 (everything was
 * skipped because its data is absent; ctest then reports "skipped").
 * Tests that need ../shared call rn_shared(path) and, when it is NULL,
 * rn_skip("why") and return: a skipped test never counts as passed.
 */
#ifndef RESNETC_TESTUTIL_H
#define RESNETC_TESTUTIL_H
#include <CUnit/Basic.h>
#include <CUnit/CUnit.h>
#include <stddef.h>
#include <stdint.h>

/* Path of a file or folder under the shared test data, NULL if absent.
 * The result is a static buffer, valid until the next call. */
const char *rn_shared(const char *rel);
const char *rn_source_path(const char *rel);   /* under the source tree */
void rn_skip(const char *why);                  /* counts a skipped test */
int rn_run_tests(void);                         /* runs the registry */

/* Reads a whole file; NULL if it cannot.  Caller frees. */
void *rn_read_file(const char *path, size_t *len);
int rn_write_file(const char *path, const void *p, size_t len);
/* Runs a shell command, output to LOG (NULL: inherit); returns the exit status. */
int rn_system(const char *log, const char *fmt, ...);
/* A fresh temporary directory under the build tree. */
const char *rn_tmpdir(const char *tag);
/* Captures what is written to stderr (fd 2) from rn_capture_begin to
 * rn_capture_end, which returns it malloc'ed (caller frees).  With
 * RN_NO_CAPTURE set, stderr is left alone (to watch a test) and the
 * capture is empty. */
void rn_capture_begin(void);
char *rn_capture_end(void);
/* max|a-b| / max|b| (b the reference); also max|b| into *maxref if non-NULL */
double rn_rel_err(const float *a, const float *b, size_t n, double *maxref);
#endif
