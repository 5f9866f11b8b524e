/* test_resnet_errors.c - every error class of the .resnet front end.
 *
 * tests/errors/resnet/NAME.resnet is a malformed file; NAME.expect lists,
 * one per line, text that the diagnostics must contain ("3:20: error:
 * unknown layer or block 'batchnrm'; did you mean 'bn'?"), and optionally
 *   count: N        the exact number of "error:" lines (several errors
 *                   per run, or exactly one where a cascade must not come)
 *   mode: weights   load as for compiling (weights required), not shapes only
 * The test also checks the form of every located diagnostic: the source
 * line follows, and the caret stands under the reported column. */
#include <dirent.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "front_resnet.h"
#include "testutil.h"

/* Runs resnet_load on path with stderr captured into a malloc'ed string. */
static char *load_capture(const char *path, const ResnetOptions *o, Graph **out) {
  rn_capture_begin();
  *out = resnet_load(path, o);
  return rn_capture_end();
}

/* Line n (1-based) of text, into buf. */
static int nth_line(const char *text, int n, char *buf, size_t size) {
  const char *s = text;
  for (int l = 1; l < n && s; l++) {
    s = strchr(s, '\n');
    if (s) s++;
  }
  if (!s) return -1;
  const char *e = strchr(s, '\n');
  size_t len = e ? (size_t)(e - s) : strlen(s);
  if (len >= size) len = size - 1;
  memcpy(buf, s, len);
  buf[len] = 0;
  return 0;
}

/* Every "path:L:C: error|note: ..." line must be followed by " L | <line L
 * of the source>" and a caret line with '^' at column C. */
static void check_carets(const char *path, const char *src, const char *out) {
  size_t plen = strlen(path);
  const char *s = out;
  while ((s = strstr(s, path)) != NULL) {
    int line, col, n = 0;
    if (sscanf(s + plen, ":%d:%d: %n", &line, &col, &n) != 2 || n == 0) { s += plen; continue; }
    const char *l1 = strchr(s, '\n');
    CU_ASSERT_PTR_NOT_NULL_FATAL(l1);
    char want[4096], got[4096], caret[4096];
    nth_line(src, line, want, sizeof want);
    if (nth_line(l1 + 1, 1, got, sizeof got) || nth_line(l1 + 1, 2, caret, sizeof caret)) {
      CU_FAIL("a diagnostic without its source line");
      return;
    }
    char prefix[32];
    snprintf(prefix, sizeof prefix, " %d | ", line);
    CU_ASSERT_EQUAL(strncmp(got, prefix, strlen(prefix)), 0);
    if (strlen(want) <= 160 && !strchr(want, '\t')) {
      /* the whole line is shown: it is the source line, and the caret
       * stands under column col (columns count UTF-8 characters) */
      int same = strcmp(got + strlen(prefix), want) == 0;
      int clean = 1;
      for (const unsigned char *p = (const unsigned char *)want; *p; p++) clean &= *p >= 32 && *p < 127;
      if (clean) CU_ASSERT(same);
      const char *bar = strstr(caret, "| ");
      CU_ASSERT_PTR_NOT_NULL_FATAL(bar);
      const char *hat = strchr(bar, '^');
      CU_ASSERT_PTR_NOT_NULL_FATAL(hat);
      if (hat - (bar + 2) != col - 1)
        fprintf(stderr, "caret at %d for column %d: %s\n", (int)(hat - (bar + 2)) + 1, col, caret);
      CU_ASSERT_EQUAL(hat - (bar + 2), col - 1);
    }
    s = l1;
  }
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

static void test_error_corpus(void) {
  const char *dir = rn_source_path("tests/errors/resnet");
  char dirbuf[4096];
  snprintf(dirbuf, sizeof dirbuf, "%s", dir);
  DIR *d = opendir(dirbuf);
  CU_ASSERT_PTR_NOT_NULL_FATAL(d);
  char *names[512];
  int n = 0;
  struct dirent *e;
  while ((e = readdir(d)) && n < 512) {
    size_t len = strlen(e->d_name);
    if (len > 7 && strcmp(e->d_name + len - 7, ".resnet") == 0) names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp_str);
  CU_ASSERT(n >= 20);
  int checked = 0;
  for (int i = 0; i < n; i++) {
    char path[4600], exp_path[4700];
    snprintf(path, sizeof path, "%s/%s", dirbuf, names[i]);
    snprintf(exp_path, sizeof exp_path, "%.*s.expect", (int)(strlen(path) - 7), path);
    char *expect = rn_read_file(exp_path, NULL);
    char *src = rn_read_file(path, NULL);
    if (!expect || !src) {
      fprintf(stderr, "%s: no .expect file\n", names[i]);
      CU_FAIL("an error file without its .expect");
      free(expect);
      free(src);
      continue;
    }
    ResnetOptions o = {0};
    o.shapes_only = strstr(expect, "mode: weights") == NULL;
    Graph *g;
    char *out = load_capture(path, &o, &g);
    if (g) fprintf(stderr, "%s: loaded without error\n", names[i]);
    CU_ASSERT_PTR_NULL(g);
    ir_graph_free(g);
    int errors = 0;
    for (const char *p = out; (p = strstr(p, ": error: ")) != NULL; p++) errors++;
    CU_ASSERT(errors >= 1);
    char *save = NULL;
    for (char *line = strtok_r(expect, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
      if (strncmp(line, "mode:", 5) == 0) continue;
      if (strncmp(line, "count:", 6) == 0) {
        int want = atoi(line + 6);
        if (errors != want) fprintf(stderr, "%s: %d errors, expected %d\n%s", names[i], errors, want, out);
        CU_ASSERT_EQUAL(errors, want);
        continue;
      }
      /* "L:C: ..." lines follow the file name */
      char full[4096];
      if (line[0] >= '0' && line[0] <= '9') snprintf(full, sizeof full, "%s:%s", path, line);
      else snprintf(full, sizeof full, "%s", line);
      if (!strstr(out, full)) fprintf(stderr, "%s: missing \"%s\" in:\n%s", names[i], line, out);
      CU_ASSERT_PTR_NOT_NULL(strstr(out, full));
    }
    check_carets(path, src, out);
    checked++;
    free(out);
    free(expect);
    free(src);
    free(names[i]);
  }
  CU_ASSERT_EQUAL(checked, n);
}

/* Hostile inputs made here (too big to commit): each must fail cleanly
 * with its message, in bounded time, without recursing on the input's
 * depth (a crash would end the test). */
static char *repeat(const char *head, const char *unit, int n, const char *tail) {
  size_t hl = strlen(head), ul = strlen(unit), tl = strlen(tail);
  char *s = malloc(hl + ul * (size_t)n + tl + 1);
  memcpy(s, head, hl);
  for (int i = 0; i < n; i++) memcpy(s + hl + ul * (size_t)i, unit, ul);
  memcpy(s + hl + ul * (size_t)n, tail, tl + 1);
  return s;
}

static void expect_hostile(char *src, size_t len, const char *needle) {
  ResnetOptions o = {0};
  o.shapes_only = 1;
  rn_capture_begin();
  Graph *g = resnet_load_buffer(src, len, "hostile.resnet", &o);
  char *out = rn_capture_end();
  CU_ASSERT_PTR_NULL(g);
  ir_graph_free(g);
  if (!strstr(out, needle)) fprintf(stderr, "expected \"%s\" in:\n%.2000s\n", needle, out);
  CU_ASSERT_PTR_NOT_NULL(strstr(out, needle));
  /* a diagnostic line stays readable whatever the input line's length */
  size_t longest = 0, cur = 0;
  for (const char *p = out; *p; p++) {
    cur = *p == '\n' ? 0 : cur + 1;
    if (cur > longest) longest = cur;
  }
  CU_ASSERT(longest < 400);
  free(out);
  free(src);
}

static void test_hostile(void) {
  char *s;
  /* 100000 nested parentheses, and unary operators */
  s = repeat("network n : input[3, 8, 8] { stem conv(", "(", 100000, "1, k=3) }");
  expect_hostile(s, strlen(s), "brackets nested more than 64 deep");
  s = repeat("let a = ", "-", 100000, "1\nnetwork n : input[3, 8, 8] { stem relu }");
  expect_hostile(s, strlen(s), "nested too deeply for the parser");
  s = repeat("let a = 1", "+1", 100000, "\nnetwork n : input[3, 8, 8] { stem relu }");
  expect_hostile(s, strlen(s), "expression nested more than 200 deep");
  s = repeat("network n : input[3, 8, 8] { stem ", "if 1 { ", 1000, "relu }");
  expect_hostile(s, strlen(s), "brackets nested more than 64 deep");
  /* a 1 MB line, an error at its end */
  s = repeat("network n : input[3, 8, 8] { stem relu", " ", 1 << 20, "nosuchlayer }");
  expect_hostile(s, strlen(s), "hostile.resnet:1:1048615: error: unknown layer or block 'nosuchlayer'");
  /* a 1 MB name, a 1 MB number */
  s = repeat("network n : input[3, 8, 8] { stem ", "a", 1 << 20, " }");
  expect_hostile(s, strlen(s), "token of 1048576 bytes is longer than the limit of 4096");
  s = repeat("network n : input[3, 8, 8] { stem conv(", "9", 1 << 20, ", k=3) }");
  expect_hostile(s, strlen(s), "is longer than the limit");
  /* an unterminated comment of 1 MB */
  s = repeat("network n : input[3, 8, 8] { stem relu } /*", "*", 1 << 20, "");
  expect_hostile(s, strlen(s), "hostile.resnet:1:42: error: unterminated comment");
  /* blocks doubling 40 times: 2^40 layers, stopped by the depth or layer limit */
  size_t cap = 1 << 16, k = 0;
  s = malloc(cap);
  k += (size_t)snprintf(s + k, cap - k, "block b0(c) { conv3x3(c) }\n");
  for (int i = 1; i <= 40; i++) k += (size_t)snprintf(s + k, cap - k, "block b%d(c) { b%d(c) b%d(c) }\n", i, i - 1, i - 1);
  snprintf(s + k, cap - k, "network n : input[3, 8, 8] { stage b40(4) }\n");
  expect_hostile(s, strlen(s), "blocks call each other more than 32 deep");
  k = 0;
  s = malloc(cap);
  k += (size_t)snprintf(s + k, cap - k, "block b0(c) { conv3x3(c) }\n");
  for (int i = 1; i <= 30; i++) k += (size_t)snprintf(s + k, cap - k, "block b%d(c) { b%d(c) b%d(c) }\n", i, i - 1, i - 1);
  snprintf(s + k, cap - k, "network n : input[3, 8, 8] { stage b30(4) }\n");
  expect_hostile(s, strlen(s), "the network has more than 100000 layers");
  /* a chain of 100000 blocks defined top down (a recursive walk of it
   * would overflow the stack), 20000 lets, 20000 blocks */
  cap = (size_t)8 << 20;
  k = 0;
  s = malloc(cap);
  for (int i = 100000; i >= 1; i--) k += (size_t)snprintf(s + k, cap - k, "block b%d(c) { b%d(c) }\n", i, i - 1);
  k += (size_t)snprintf(s + k, cap - k, "block b0(c) { conv3x3(c) }\nnetwork n : input[3, 8, 8] { stage b100000(4) }\n");
  expect_hostile(s, k, "blocks call each other more than 32 deep");
  k = 0;
  s = malloc(cap);
  for (int i = 0; i < 20000; i++) k += (size_t)snprintf(s + k, cap - k, "let a%d = %d\n", i, i);
  k += (size_t)snprintf(s + k, cap - k, "network n : input[3, 8, 8] { stem relu }\n");
  expect_hostile(s, k, "hostile.resnet:10001:1: error: more than 10000 names in one block or network");
  k = 0;
  s = malloc(cap);
  for (int i = 0; i < 20000; i++) k += (size_t)snprintf(s + k, cap - k, "block b%d { relu }\n", i);
  k += (size_t)snprintf(s + k, cap - k, "network n : input[3, 8, 8] { stem relu }\n");
  expect_hostile(s, k, "hostile.resnet:10001:7: error: more than 10000 blocks in one file");
  /* a billion blocks in a stage; a huge layer; a huge input */
  s = repeat("block b(c) { relu }\nnetwork n : input[3, 8, 8] { stage b(4) x(1000 * 1000 * 1000) }", "", 0, "");
  expect_hostile(s, strlen(s), "repeat count 1000000000 is more than the limit of 10000");
  s = repeat("network n : input[3, 8, 8] { stem conv(16777216, k=4096, pad=2048) }", "", 0, "");
  expect_hostile(s, strlen(s), "more than 2147483648 elements");
  s = repeat("network n : input[16777216, 16777216, 16777216] { stem relu }", "", 0, "");
  expect_hostile(s, strlen(s), "more than 2147483648 elements");
  /* NUL bytes and binary garbage */
  static const char nul[] = "network n : input[3, 8, 8] {\0 stem relu }";
  s = malloc(sizeof nul);
  memcpy(s, nul, sizeof nul);
  expect_hostile(s, sizeof nul - 1, "hostile.resnet:1:29: error: unexpected control character 0x00");
  s = malloc(4096);
  uint32_t r = 12345;
  for (int i = 0; i < 4096; i++) { r = r * 1103515245u + 12345u; s[i] = (char)(r >> 16); }
  expect_hostile(s, 4096, "hostile.resnet:");
  /* an empty file */
  s = repeat("", "", 0, "");
  expect_hostile(s, 0, "hostile.resnet: error: no network in this file");
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("resnet_errors", NULL, NULL);
  CU_add_test(s, "tests/errors/resnet: every error class", test_error_corpus);
  CU_add_test(s, "hostile inputs", test_hostile);
  return rn_run_tests();
}
