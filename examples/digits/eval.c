/*
 * eval.c - runs the digits network compiled by resnetc on the test split
 * and compares it with PyTorch.
 *
 *   resnetc ../../models/digits.resnet -o gen   (weights: models/digits.safetensors)
 *   cc -O2 -Igen eval.c gen/digits.c gen/digits_weights.c -lm -o digits_eval
 *   ./digits_eval [DATA_DIR]
 *
 * DATA_DIR (default: the folder of this file, as given at build time by
 * -DDIGITS_DATA_DIR, else ".") holds what train.py wrote:
 *   test_images.bin        float32 [N,1,8,8], pixels in [0,1]
 *   test_labels.bin        uint8 [N], the true digit
 *   torch_predictions.bin  uint8 [N], PyTorch's argmax for each image
 * Prints the accuracy of the C build next to PyTorch's and whether every
 * per-image prediction is identical; exits 1 when one differs (or a file is
 * missing), 0 otherwise.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "digits.h"

#ifndef DIGITS_DATA_DIR
#define DIGITS_DATA_DIR "."
#endif
#define PIXELS digits_IN0_NUMEL    /* 1x1x8x8 */
#define CLASSES digits_OUT0_NUMEL  /* 1x10 */

/* The model's working memory: one static arena, as on a microcontroller,
 * digits_ALIGN-aligned by hand (C99 has no alignas). */
static unsigned char arena_space[digits_ARENA_BYTES + digits_ALIGN];

static void *read_all(const char *dir, const char *name, size_t *len) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "rb");
  if (!f) {
    fprintf(stderr, "digits_eval: cannot open %s\n", path);
    return NULL;
  }
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  void *p = malloc(n > 0 ? (size_t)n : 1);
  if (!p || fread(p, 1, (size_t)n, f) != (size_t)n) {
    fprintf(stderr, "digits_eval: cannot read %s\n", path);
    free(p);
    fclose(f);
    return NULL;
  }
  fclose(f);
  *len = (size_t)n;
  return p;
}

static int argmax(const float *v, int n) {
  int best = 0;
  for (int i = 1; i < n; i++)
    if (v[i] > v[best]) best = i;
  return best;
}

int main(int argc, char **argv) {
  const char *dir = argc > 1 ? argv[1] : DIGITS_DATA_DIR;
  size_t nimg, nlab, npred;
  float *images = read_all(dir, "test_images.bin", &nimg);
  unsigned char *labels = read_all(dir, "test_labels.bin", &nlab);
  unsigned char *torch = read_all(dir, "torch_predictions.bin", &npred);
  if (!images || !labels || !torch) return 1;
  size_t n = nlab;
  if (nimg != n * PIXELS * sizeof(float) || npred != n || n == 0) {
    fprintf(stderr, "digits_eval: %s: the test files do not agree in size\n", dir);
    return 1;
  }

  void *arena = arena_space + (digits_ALIGN - (uintptr_t)arena_space % digits_ALIGN) % digits_ALIGN;
  size_t correct = 0, torch_correct = 0, same = 0;
  for (size_t i = 0; i < n; i++) {
    float logits[CLASSES];
    /* weights NULL: the ones compiled into digits_weights.c */
    int rc = digits_run(images + i * PIXELS, logits, arena, NULL);
    if (rc != 0) {
      fprintf(stderr, "digits_eval: digits_run failed with status %d\n", rc);
      return 1;
    }
    int p = argmax(logits, CLASSES);
    correct += p == labels[i];
    torch_correct += torch[i] == labels[i];
    if (p == torch[i]) same++;
    else fprintf(stderr, "image %zu: C predicts %d, PyTorch %d (label %d)\n", i, p, torch[i], labels[i]);
  }
  printf("digits: accuracy %.2f%% (%zu/%zu) with the C build, %.2f%% (%zu/%zu) with PyTorch\n",
         100.0 * (double)correct / (double)n, correct, n,
         100.0 * (double)torch_correct / (double)n, torch_correct, n);
  printf("predictions identical to PyTorch: %s (%zu/%zu)\n", same == n ? "yes" : "no", same, n);
  free(images);
  free(labels);
  free(torch);
  return same == n ? 0 : 1;
}
