/*
 * emit_harness.h - building and running generated C in tests (test_emit.c,
 * test_onnx_node_c.c).  Header-only: each test program includes it once.
 *
 * Many models are compiled into ONE program, so a test compiles hundreds
 * of graphs with one parallel make instead of hundreds of links:
 *
 *   DIR/cK/cK.{h,c,...}   emit_c of case K, with C prefix cK
 *   DIR/harness.c         main(K, IN..., OUT...) calls cK_run
 *   DIR/Makefile          objects per compiler: harness_gcc (gcc, and
 *                         -fsanitize=address,undefined with exact-size
 *                         buffers), harness_clang (clang, guard bytes)
 *
 * Every object builds with -std=c99 -Wall -Wextra -Wpedantic -Werror.  The
 * harness checks that the generated code touches nothing but its buffers:
 * guard bytes before and after the arena, every input and every output
 * must be intact after the run, and the inputs unchanged.  Outputs and the
 * arena start filled with 0xff (NaN for floats), so an element the code
 * forgets to write shows up.
 */
#ifndef RESNETC_EMIT_HARNESS_H
#define RESNETC_EMIT_HARNESS_H
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "emit.h"
#include "ir.h"
#include "testutil.h"

typedef struct EhCase {
  char name[32];      /* C prefix and folder: c0, c1, ... */
  Graph *g;           /* the emitted graph: its inputs and outputs */
  int built;          /* emitted into DIR/name */
} EhCase;

/* Emits c->g into DIR/c->name.  Returns emit_c's result. */
static int eh_emit(const char *dir, EhCase *c, WeightsMode wm) {
  char out[1024], cmd[1200];
  snprintf(out, sizeof out, "%s/%s", dir, c->name);
  snprintf(cmd, sizeof cmd, "resnetc (test) -o %s", c->name);
  EmitOptions o = {out, c->name, wm, cmd, NULL, NULL, 0};
  c->built = emit_c(c->g, &o) == 0;
  return c->built ? 0 : -1;
}

static const char *eh_ctype(const Tensor *t) { return dtype_ctype(t->dtype); }

/* What eh_write_build's Makefile makes: harness_gcc always (gcc with
 * ASan and UBSan, exact-size buffers); harness_clang (clang, guard bytes)
 * or, with EH_CLANG_SYNTAX, only clang's warnings (-fsyntax-only). */
enum { EH_CLANG_RUN = 0, EH_CLANG_SYNTAX = 1 };

/* Writes DIR/harness.c and DIR/Makefile for the built cases. */
static void eh_write_build_mode(const char *dir, EhCase *cs, int n, int mode) {
  char path[2200];
  snprintf(path, sizeof path, "%s/harness.c", dir);
  FILE *f = fopen(path, "w");
  CU_ASSERT_FATAL(f != NULL);
  fprintf(f, "#define _POSIX_C_SOURCE 200809L\n#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n");
  for (int k = 0; k < n; k++)
    if (cs[k].built) fprintf(f, "#include \"%s/%s.h\"\n", cs[k].name, cs[k].name);
  fprintf(f, "typedef int (*RunFn)(void **in, void **out, void *arena);\n");
  for (int k = 0; k < n; k++) {
    if (!cs[k].built) continue;
    Graph *g = cs[k].g;
    fprintf(f, "static int r_%s(void **in, void **out, void *arena) {\n  (void)in; (void)out;\n  return %s_run(",
            cs[k].name, cs[k].name);
    for (int i = 0; i < g->ninputs; i++) fprintf(f, "(const %s *)in[%d], ", eh_ctype(g->inputs[i]), i);
    for (int i = 0; i < g->noutputs; i++) fprintf(f, "(%s *)out[%d], ", eh_ctype(g->outputs[i]), i);
    fprintf(f, "arena, NULL);\n}\n");
    fprintf(f, "static const size_t b_%s[] = {", cs[k].name);
    for (int i = 0; i < g->ninputs; i++) fprintf(f, "%s_IN%d_BYTES, ", cs[k].name, i);
    for (int i = 0; i < g->noutputs; i++) fprintf(f, "%s_OUT%d_BYTES, ", cs[k].name, i);
    fprintf(f, "0};\n");
  }
  fprintf(f, "static const struct { const char *name; RunFn run; int nin, nout; size_t arena; const size_t *bytes; } cases[] = {\n");
  for (int k = 0; k < n; k++) {
    if (!cs[k].built) continue;
    fprintf(f, "  {\"%s\", r_%s, %d, %d, %s_ARENA_BYTES, b_%s},\n", cs[k].name, cs[k].name, cs[k].g->ninputs,
            cs[k].g->noutputs, cs[k].name, cs[k].name);
  }
  fprintf(f, "  {0, 0, 0, 0, 0, 0}\n};\n");
  fputs(
      "#define GUARD 192\n"
      "#ifdef EH_ASAN\n"
      "/* exact sizes: the sanitizer catches any access outside a buffer */\n"
      "static unsigned char *get(size_t n, int fill) {\n"
      "  void *p = NULL;\n"
      "  if (posix_memalign(&p, 64, n ? n : 1)) exit(9);\n"
      "  memset(p, fill, n);\n"
      "  return p;\n"
      "}\n"
      "static int intact(unsigned char *p, size_t n) { (void)p; (void)n; return 1; }\n"
      "static void put(unsigned char *p) { free(p); }\n"
      "#else\n"
      "/* GUARD bytes of 0xa5 before and after every buffer */\n"
      "static unsigned char *bases[130], *ptrs[130];\n"
      "static int nbases;\n"
      "static unsigned char *get(size_t n, int fill) {\n"
      "  unsigned char *b = malloc(n + 2 * GUARD + 64), *p;\n"
      "  if (!b || nbases == 130) exit(9);\n"
      "  p = b + GUARD + (64 - (size_t)((unsigned long)(b + GUARD) % 64)) % 64;\n"
      "  memset(b, 0xa5, n + 2 * GUARD + 64);\n"
      "  memset(p, fill, n);\n"
      "  bases[nbases] = b;\n"
      "  ptrs[nbases++] = p;\n"
      "  return p;\n"
      "}\n"
      "static int intact(unsigned char *p, size_t n) {\n"
      "  int i;\n"
      "  for (i = 1; i <= GUARD; i++) if (p[-i] != 0xa5) return 0;\n"
      "  for (i = 0; i < GUARD; i++) if (p[n + (size_t)i] != 0xa5) return 0;\n"
      "  return 1;\n"
      "}\n"
      "static void put(unsigned char *p) { int i; for (i = 0; i < nbases; i++) if (ptrs[i] == p) free(bases[i]); }\n"
      "#endif\n"
      "int main(int argc, char **argv) {\n"
      "  int k, i, n = 0, st;\n"
      "  unsigned char *buf[64], *copy[64], *arena;\n"
      "  if (argc < 2) return 2;\n"
      "  for (k = 0; cases[k].name && strcmp(cases[k].name, argv[1]); k++) ;\n"
      "  if (!cases[k].name) return 2;\n"
      "  n = cases[k].nin + cases[k].nout;\n"
      "  if (argc != 2 + n || n > 64) return 2;\n"
      "  for (i = 0; i < n; i++) {\n"
      "    size_t b = cases[k].bytes[i];\n"
      "    buf[i] = get(b, 0xff);\n"
      "    copy[i] = NULL;\n"
      "    if (i < cases[k].nin) {\n"
      "      FILE *f = fopen(argv[2 + i], \"rb\");\n"
      "      if (!f || fread(buf[i], 1, b, f) != b) { fprintf(stderr, \"cannot read %s\\n\", argv[2 + i]); return 2; }\n"
      "      fclose(f);\n"
      "      copy[i] = malloc(b + 1);\n"
      "      memcpy(copy[i], buf[i], b);\n"
      "    }\n"
      "  }\n"
      "  arena = get(cases[k].arena, 0xff);\n"
      "  st = cases[k].run((void **)buf, (void **)(buf + cases[k].nin), arena);\n"
      "  if (st != 0) { fprintf(stderr, \"run status %d\\n\", st); return 4; }\n"
      "  if (!intact(arena, cases[k].arena)) { fprintf(stderr, \"arena guard bytes overwritten\\n\"); return 3; }\n"
      "  for (i = 0; i < n; i++) {\n"
      "    size_t b = cases[k].bytes[i];\n"
      "    if (!intact(buf[i], b)) { fprintf(stderr, \"guard bytes of buffer %d overwritten\\n\", i); return 3; }\n"
      "    if (copy[i] && memcmp(copy[i], buf[i], b)) { fprintf(stderr, \"input %d modified\\n\", i); return 5; }\n"
      "    if (i >= cases[k].nin) {\n"
      "      FILE *f = fopen(argv[2 + i], \"wb\");\n"
      "      if (!f || fwrite(buf[i], 1, b, f) != b || fclose(f)) return 6;\n"
      "    }\n"
      "    put(buf[i]);\n"
      "    free(copy[i]);\n"
      "  }\n"
      "  put(arena);\n"
      "  return 0;\n"
      "}\n", f);
  fclose(f);

  /* one translation unit per case: NAME.c and NAME_weights.c together */
  for (int k = 0; k < n; k++) {
    if (!cs[k].built) continue;
    char wc[2200];
    snprintf(wc, sizeof wc, "%s/%s/%s_weights.c", dir, cs[k].name, cs[k].name);
    FILE *t = fopen(wc, "r");
    if (t) fclose(t);
    snprintf(path, sizeof path, "%s/%s/all.c", dir, cs[k].name);
    FILE *u = fopen(path, "w");
    CU_ASSERT_FATAL(u != NULL);
    fprintf(u, "#include \"%s.c\"\n", cs[k].name);
    if (t) fprintf(u, "#include \"%s_weights.c\"\n", cs[k].name);
    fclose(u);
  }
  snprintf(path, sizeof path, "%s/Makefile", dir);
  f = fopen(path, "w");
  CU_ASSERT_FATAL(f != NULL);
  fprintf(f, "W = -std=c99 -Wall -Wextra -Wpedantic -Werror\n"
             "GCC_FLAGS = -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -DEH_ASAN\n"
             "CLANG_FLAGS = -O1\n");
  fprintf(f, "SRCS =");
  for (int k = 0; k < n; k++)
    if (cs[k].built) fprintf(f, " %s/all.c", cs[k].name);
  fprintf(f, " harness.c\n");
  if (mode == EH_CLANG_SYNTAX)
    fprintf(f, "all: harness_gcc $(SRCS:.c=.clang.ok)\n"
               "%%.clang.ok: %%.c\n\tclang $(W) -fsyntax-only $< && touch $@\n");
  else
    fprintf(f, "all: harness_gcc harness_clang\n"
               "harness_clang: $(SRCS:.c=.clang.o)\n\tclang $(CLANG_FLAGS) -o $@ $^ -lm\n"
               "%%.clang.o: %%.c\n\tclang $(W) $(CLANG_FLAGS) -c -o $@ $<\n");
  fprintf(f, "harness_gcc: $(SRCS:.c=.gcc.o)\n\tgcc $(GCC_FLAGS) -o $@ $^ -lm\n"
             "%%.gcc.o: %%.c\n\tgcc $(W) $(GCC_FLAGS) -c -o $@ $<\n");
  fclose(f);
}

static inline void eh_write_build(const char *dir, EhCase *cs, int n) {
  eh_write_build_mode(dir, cs, n, EH_CLANG_RUN);
}

/* Builds DIR (make -j2, log in DIR/build.log).  Returns make's status. */
static int eh_build(const char *dir) {
  char log[2200];
  snprintf(log, sizeof log, "%s/build.log", dir);
  int st = rn_system(log, "nice make -k -j2 -C %s all", dir);
  if (st != 0) {
    size_t n;
    char *t = rn_read_file(log, &n);
    if (t) {                 /* the first compiler errors */
      int shown = 0;
      for (char *line = strtok(t, "\n"); line && shown < 40; line = strtok(NULL, "\n"))
        if (strstr(line, "error") || strstr(line, "warning")) {
          fprintf(stderr, "%s\n", line);
          shown++;
        }
      free(t);
    }
  }
  return st;
}

/* Runs case c with program exe (harness_gcc or harness_clang) on the
 * inputs in[]; returns the exit status and malloc'ed outputs in out[]. */
static int eh_run(const char *dir, const char *exe, const EhCase *c, void *const *in, void **out) {
  Graph *g = c->g;
  char cmd[8192], p[2200];
  int k = snprintf(cmd, sizeof cmd, "%s/%s %s", dir, exe, c->name);
  for (int i = 0; i < g->ninputs; i++) {
    snprintf(p, sizeof p, "%s/%s/in%d.bin", dir, c->name, i);
    rn_write_file(p, in[i], (size_t)ir_bytes(g->inputs[i]));
    k += snprintf(cmd + k, sizeof cmd - (size_t)k, " %s", p);
  }
  for (int i = 0; i < g->noutputs; i++) {
    snprintf(p, sizeof p, "%s/%s/out%d.bin", dir, c->name, i);
    remove(p);
    k += snprintf(cmd + k, sizeof cmd - (size_t)k, " %s", p);
  }
  snprintf(p, sizeof p, "%s/%s/run.log", dir, c->name);
  int st = rn_system(p, "%s", cmd);
  for (int i = 0; i < g->noutputs; i++) {
    out[i] = NULL;
    if (st != 0) continue;
    snprintf(p, sizeof p, "%s/%s/out%d.bin", dir, c->name, i);
    size_t n;
    out[i] = rn_read_file(p, &n);
    if (out[i] && (int64_t)n != ir_bytes(g->outputs[i])) {
      free(out[i]);
      out[i] = NULL;
      st = 99;
    }
  }
  if (st != 0) {
    size_t n;
    char *t = rn_read_file(p, &n);
    if (t) {
      fprintf(stderr, "%s %s: %.*s", exe, c->name, (int)(n > 2000 ? 2000 : n), t);
      free(t);
    }
  }
  return st;
}

/* Element i of a buffer of dtype t as a double (float16 and bfloat16
 * widened exactly). */
static double eh_get(DType t, const void *p, int64_t i) {
  Tensor tmp;
  memset(&tmp, 0, sizeof tmp);
  tmp.dtype = t;
  tmp.data = (void *)p;
  return ir_get_f64(&tmp, i);
}

/* Compares n elements: integers exactly, floats with |a-b| <= atol +
 * rtol*|b| (NaN matches NaN).  Returns the number of mismatches, and
 * describes the first in why. */
static int64_t eh_compare(DType t, const void *got, const void *ref, int64_t n, double rtol, double atol,
                          char *why, size_t nwhy) {
  int64_t bad = 0;
  int isf = dtype_is_float(t);
  for (int64_t i = 0; i < n; i++) {
    int ok;
    double a = eh_get(t, got, i), b = eh_get(t, ref, i);
    if (isf) {
      ok = (a != a && b != b) || (a == b) || fabs(a - b) <= atol + rtol * fabs(b);
    } else {
      Tensor ta, tb;
      memset(&ta, 0, sizeof ta);
      memset(&tb, 0, sizeof tb);
      ta.dtype = tb.dtype = t;
      ta.data = (void *)got;
      tb.data = (void *)ref;
      ok = ir_get_i64(&ta, i) == ir_get_i64(&tb, i);
    }
    if (!ok && bad++ == 0 && why) snprintf(why, nwhy, "element %lld: got %.9g, expected %.9g", (long long)i, a, b);
  }
  return bad;
}
#endif
