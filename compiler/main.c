/* main.c - the resnetc command line (placeholder until the driver lands). */
#include <stdio.h>
int main(void) { fprintf(stderr, "resnetc: not yet\n"); return 2; }
