/* progress.h - a progress line on a terminal for long work (reading a large
 * model, writing embedded weights); silent when stderr is not a terminal.
 *
 *   progress_init(quiet);                      once, from the CLI
 *   progress_begin("reading resnet50.onnx", total_bytes);
 *   progress_update(done_bytes);               as often as you like
 *   progress_end();                            erases the line
 *
 * Work below PROGRESS_MIN_BYTES, or finished within half a second, prints
 * nothing, so small models stay silent even on a terminal. */
#ifndef RESNETC_PROGRESS_H
#define RESNETC_PROGRESS_H
#include <stdint.h>
#include <stdio.h>

#define PROGRESS_MIN_BYTES ((int64_t)16 << 20)

/* Enables progress when stderr is a terminal and quiet is 0. */
void progress_init(int quiet);
/* For tests: draw on f as if it were a terminal (enabled != 0), with the
 * given clock in seconds (NULL: the real one) and no minimum size. */
void progress_init_for_test(FILE *f, int enabled, double (*clock)(void));
/* 1 when progress lines are drawn. */
int progress_enabled(void);
void progress_begin(const char *what, int64_t total);
void progress_update(int64_t done);
void progress_end(void);
#endif
