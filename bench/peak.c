/* peak.c [SECONDS] - prints the measured single-core FMA peak (see peak.h),
 * a best of runs lasting about SECONDS (default 1) in all.
 * Build: cc -O2 -march=native bench/peak.c -o peak */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include "peak.h"
int main(int argc, char **argv) {
  double seconds = argc > 1 ? atof(argv[1]) : 1.0;
  printf("%s %.1f GFLOP/s\n", PK_ISA, peak_gflops(seconds > 0 ? seconds : 1.0));
  return 0;
}
