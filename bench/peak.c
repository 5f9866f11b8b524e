/* peak.c - prints the measured single-core FMA peak (see peak.h).
 * Build: cc -O2 -march=native bench/peak.c -o peak */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include "peak.h"
int main(void) {
  printf("%s %.1f GFLOP/s\n", PK_ISA, peak_gflops(1.0));
  return 0;
}
