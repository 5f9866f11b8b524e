/*
 * harness.c - runs generated kernels on data written by a test, with
 * guard pages around every buffer.
 *
 * Included at the end of a generated file that defines
 *   static const struct kcase_fn kern_table[]; and NKERN,
 * one entry per kernel.  Usage: harness IN OUT.  IN holds, per kernel, a
 * header of int32 {kind, nbuf, inplace, n[0..nbuf-1]} and then the buffers
 * in order (float32); the last buffer is the output (its data in IN is
 * only used to seed an in-place residual).  OUT receives each output.
 *
 * Every buffer is placed twice: once ending at a PROT_NONE page (over-reads
 * and over-writes fault) with 64 guard bytes before it, once starting right
 * after a PROT_NONE page with 64 guard bytes after it.  The guard bytes
 * must survive, and both runs must give bit-identical outputs.
 * Exit status: 0 ok, 1 a guard or determinism failure, 2 bad input.
 */
#define _DEFAULT_SOURCE 1
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#define GUARD 64
#define MAXBUF 8

typedef struct Region { unsigned char *map; size_t maplen; float *p; unsigned char *guard; } Region;

static const unsigned char sentinel = 0xA5;

static Region place(size_t nfloats, int at_end) {
  size_t pg = (size_t)sysconf(_SC_PAGESIZE), bytes = nfloats * sizeof(float);
  size_t body = (bytes + GUARD + pg - 1) / pg * pg;
  Region r;
  r.maplen = body + 2 * pg;
  r.map = mmap(NULL, r.maplen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (r.map == MAP_FAILED) { perror("mmap"); exit(2); }
  mprotect(r.map, pg, PROT_NONE);
  mprotect(r.map + pg + body, pg, PROT_NONE);
  memset(r.map + pg, sentinel, body);
  if (at_end) {
    r.p = (float *)(r.map + pg + body - bytes);
    r.guard = (unsigned char *)r.p - GUARD;
  } else {
    r.p = (float *)(r.map + pg);
    r.guard = r.map + pg + bytes;
  }
  return r;
}

static int guard_ok(const Region *r) {
  for (int i = 0; i < GUARD; i++)
    if (r->guard[i] != sentinel) return 0;
  return 1;
}

int main(int argc, char **argv) {
  if (argc != 3) { fprintf(stderr, "usage: harness IN OUT\n"); return 2; }
  FILE *in = fopen(argv[1], "rb"), *out = fopen(argv[2], "wb");
  if (!in || !out) { perror("open"); return 2; }
  int bad = 0;
  for (int k = 0; k < NKERN; k++) {
    int32_t hdr[3 + MAXBUF];
    if (fread(hdr, sizeof(int32_t), 3, in) != 3) { fprintf(stderr, "short input\n"); return 2; }
    int nbuf = hdr[1], inplace = hdr[2];
    if (nbuf < 1 || nbuf > MAXBUF || fread(hdr + 3, sizeof(int32_t), (size_t)nbuf, in) != (size_t)nbuf) {
      fprintf(stderr, "bad header\n");
      return 2;
    }
    float *data[MAXBUF];
    for (int i = 0; i < nbuf; i++) {
      data[i] = malloc((size_t)hdr[3 + i] * sizeof(float) + 1);
      if (!data[i] || fread(data[i], sizeof(float), (size_t)hdr[3 + i], in) != (size_t)hdr[3 + i]) {
        fprintf(stderr, "short data\n");
        return 2;
      }
    }
    float *result[2];
    for (int run = 0; run < 2; run++) {
      Region reg[MAXBUF];
      const float *arg[MAXBUF];
      for (int i = 0; i < nbuf; i++) {
        reg[i] = place((size_t)hdr[3 + i], run == 0);
        memcpy(reg[i].p, data[i], (size_t)hdr[3 + i] * sizeof(float));
        arg[i] = reg[i].p;
      }
      float *y = reg[nbuf - 1].p;
      if (inplace >= 0) {   /* output aliases buffer `inplace` */
        memcpy(y, data[inplace], (size_t)hdr[3 + inplace] * sizeof(float));
        arg[inplace] = y;
      }
      kern_table[k].run(arg, y);
      for (int i = 0; i < nbuf; i++)
        if (!guard_ok(&reg[i])) {
          fprintf(stderr, "kernel %d (%s): guard bytes of buffer %d overwritten (run %d)\n", k,
                  kern_table[k].name, i, run);
          bad = 1;
        }
      result[run] = malloc((size_t)hdr[3 + nbuf - 1] * sizeof(float) + 1);
      memcpy(result[run], y, (size_t)hdr[3 + nbuf - 1] * sizeof(float));
      for (int i = 0; i < nbuf; i++) munmap(reg[i].map, reg[i].maplen);
    }
    size_t ny = (size_t)hdr[3 + nbuf - 1];
    if (memcmp(result[0], result[1], ny * sizeof(float)) != 0) {
      fprintf(stderr, "kernel %d (%s): two runs differ\n", k, kern_table[k].name);
      bad = 1;
    }
    fwrite(result[0], sizeof(float), ny, out);
    for (int i = 0; i < nbuf; i++) free(data[i]);
    free(result[0]);
    free(result[1]);
  }
  fclose(in);
  if (fclose(out) != 0) return 2;
  return bad;
}
