/*
 * fuzz_replay.c - runs a fuzz target on files, without libFuzzer.
 *
 * Linked with one fuzz_*.c in ordinary builds (gcc or clang, with or
 * without sanitizers): each argument is a file, or a folder whose files are
 * all run, in sorted order.  ctest runs it on the committed regression
 * inputs and seeds (tests/fuzz/regress/TARGET/, tests/fuzz/seeds/TARGET/),
 * so every crash the fuzzer ever found stays fixed in every build, also
 * under the sanitizer job.  Exit 0 when every input ran through; a bug
 * crashes or aborts as it did under the fuzzer.
 */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_file(const char *path) {
  FILE *f = fopen(path, "rb");
  if (!f) { fprintf(stderr, "%s: cannot open\n", path); return 1; }
  size_t cap = 1 << 16, len = 0;
  uint8_t *buf = malloc(cap);
  size_t r;
  while (buf && (r = fread(buf + len, 1, cap - len, f)) > 0) {
    len += r;
    if (len == cap) {
      uint8_t *nb = realloc(buf, cap *= 2);
      if (!nb) { free(buf); buf = NULL; }
      buf = nb;
    }
  }
  fclose(f);
  if (!buf) { fprintf(stderr, "%s: out of memory\n", path); return 1; }
  /* an exact-size copy, so ASan sees reads past the input's end */
  uint8_t *exact = malloc(len ? len : 1);
  if (!exact) { free(buf); return 1; }
  memcpy(exact, buf, len);
  free(buf);
  LLVMFuzzerTestOneInput(exact, len);
  free(exact);
  return 0;
}

static int cmp(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(int argc, char **argv) {
  LLVMFuzzerInitialize(&argc, &argv);
  int bad = 0, count = 0;
  for (int i = 1; i < argc; i++) {
    struct stat st;
    if (stat(argv[i], &st) != 0) { fprintf(stderr, "%s: missing\n", argv[i]); bad = 1; continue; }
    if (!S_ISDIR(st.st_mode)) { bad |= run_file(argv[i]); count++; continue; }
    DIR *d = opendir(argv[i]);
    if (!d) { bad = 1; continue; }
    char **names = NULL;
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d))) {
      if (e->d_name[0] == '.') continue;
      char **nn = realloc(names, (n + 1) * sizeof *names);
      if (!nn) break;
      names = nn;
      size_t l = strlen(argv[i]) + strlen(e->d_name) + 2;
      names[n] = malloc(l);
      snprintf(names[n++], l, "%s/%s", argv[i], e->d_name);
    }
    closedir(d);
    if (n) qsort(names, n, sizeof *names, cmp);
    for (size_t k = 0; k < n; k++) {
      if (getenv("RN_REPLAY_VERBOSE")) fprintf(stderr, "replay %s\n", names[k]);
      bad |= run_file(names[k]);
      count++;
      free(names[k]);
    }
    free(names);
  }
  printf("%d inputs replayed\n", count);
  return bad;
}
