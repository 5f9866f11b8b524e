/*
 * main.c - the resnetc command line.
 *
 * The pipeline, in order (each stage is its own module):
 *
 *   front end      front_onnx.c (.onnx) or front_resnet.c (.resnet)
 *   shape.c/fold.c shape inference and constant folding
 *   passes/        the optimiser (passes.c lists the passes in order)
 *   emit.c         IR -> C through the m4 templates in templates/
 *
 * Exit status: 0 success, 1 bad input (one "FILE: error: ..." line on
 * stderr, nothing written), 2 bad usage.
 *
 * -v reports each stage on stderr as it ends, with its wall time: what the
 * front end read, shape inference, every pass with what it changed (the
 * PassLog the passes fill), the memory plan, the emitter's NAME_ARENA_BYTES
 * and NAME_WEIGHTS_BYTES (from EmitResult: the header's own figures) and
 * each file written.  -q prints errors only; it wins over -v.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "dot.h"
#include "emit.h"
#include "kernels.h"
#include "front_onnx.h"
#include "front_resnet.h"
#include "ir.h"
#include "passes.h"
#include "progress.h"
#include "shape.h"
#include "summary.h"

static const char usage_text[] =
"usage: resnetc [options] MODEL\n"
"\n"
"Compiles a residual network to standalone C99: MODEL is an ONNX file (.onnx)\n"
"or a network in the .resnet language (.resnet).  Writes DIR/NAME.h, NAME.c,\n"
"the weights, a driver NAME_main.c and a Makefile: `make -C DIR` builds DIR/NAME.\n"
"\n"
"Output:\n"
"  -o, --output DIR        output folder (default: generated/NAME)\n"
"  -n, --name NAME         C prefix of every generated symbol, a C identifier\n"
"                          (default: the model file's name, made one)\n"
"  --target LIST           SIMD bodies emitted in the fast kernels, chosen when\n"
"                          the generated C is compiled: a comma list of\n"
"                          avx512, avx2, neon, x86-64 (both x86), aarch64, all\n"
"                          (default), scalar (portable C only, always there)\n"
"  --winograd MODE         stride-1 3x3 convs: auto (default: F(4x4,3x3) with\n"
"                          64+ channels and 24x24+ outputs), off, f2 or f4\n"
"                          (F(2x2,3x3) or F(4x4,3x3) wherever possible)\n"
"  --weights-mode MODE     embed: weights in C source; blob: NAME.weights file\n"
"                          loaded by the caller; auto (default): embed small\n"
"                          models, blob for large ones\n"
"Front end:\n"
"  --weights FILE          (.resnet) bind the weights from a safetensors file\n"
"                          or an ONNX file's initializers\n"
"  --random-weights SEED   (.resnet) He-initialised random weights from SEED,\n"
"                          for benchmarks\n"
"  --batch N               value of a dynamic batch dimension (default 1); an\n"
"                          error if no input's batch can be N\n"
"  --max-memory BYTES      refuse a model whose weights, folded constants or\n"
"                          activation arena exceed BYTES (suffixes K, M, G;\n"
"                          default 4G)\n"
"Optimiser:\n"
"  -O0, -O2                no optimisation, or all passes (default -O2); the\n"
"                          only two levels\n"
"  --passes=LIST           run only the comma-separated passes in LIST\n"
"  --dump-ir               print the IR after shape inference and folding\n"
"  --dump-ir-after=PASS    print the IR after the pass PASS\n"
"                          (a dump writes no C unless -o is given too)\n"
"Reports:\n"
"  --report                print a per-layer table (op, fused ops, shape,\n"
"                          multiply-adds, arena offset and size), the pass\n"
"                          statistics and the line\n"
"                          arena_bytes=A lower_bound_bytes=L naive_bytes=N\n"
"  --plan-svg FILE         draw the memory plan as SVG\n"
"  --dot FILE              write the optimised graph for Graphviz\n"
"  --summary               print a per-layer table (output shape, parameters,\n"
"                          multiply-adds) and totals, then stop\n"
"  --emit-onnx FILE        write the network as an ONNX model\n"
"  --no-emit               stop after the optimiser (with --report, --dot...)\n"
"Other:\n"
"  -q, --quiet             print errors only (wins over -v)\n"
"  -v, --verbose           report each stage on stderr as it ends, with its\n"
"                          time: load, shape inference, each pass and what it\n"
"                          changed, the memory plan, emit (NAME_ARENA_BYTES,\n"
"                          NAME_WEIGHTS_BYTES) and every file written\n"
"  --version               print the version and exit\n"
"  -h, --help              print this help and exit\n";

/* Second half of --help (C99 compilers need only take strings of 4095). */
static const char examples_text[] =
"\n"
"Examples:\n"
"  resnetc model.onnx -o out && make -C out && out/model in.bin logits.bin\n"
"      an ONNX model to C, built and run on a raw float32 input (NCHW)\n"
"  resnetc models/digits.resnet -o out\n"
"      a .resnet network whose 'weights' line names its safetensors file\n"
"  resnetc models/resnet50.resnet --weights resnet50.safetensors -o out\n"
"      a .resnet network, weights from a safetensors (or ONNX) file\n"
"  resnetc models/resnet18.resnet --random-weights 1 -o out\n"
"      seeded He-initialised weights, for benchmarks\n"
"  resnetc models/digits.resnet --weights-mode embed --target scalar -o fw\n"
"      for a microcontroller firmware: weights as const C source (flash),\n"
"      portable kernels only; cross-compile fw/digits.c fw/digits_weights.c\n"
"  resnetc model.onnx --target aarch64 -o arm\n"
"      NEON kernels only (and the portable ones), for a 64-bit Arm build\n"
"  resnetc model.onnx --no-emit --report --plan-svg plan.svg --dot graph.dot\n"
"      what the optimiser did: the per-layer table, the memory plan as SVG,\n"
"      the graph for Graphviz (dot -Tsvg graph.dot -o graph.svg)\n"
"  resnetc models/resnet50.resnet --summary\n"
"      layers, parameters and multiply-adds, without compiling\n"
"  resnetc model.onnx --dump-ir -O0 --no-emit\n"
"      the IR as read, before the optimiser\n"
"  resnetc -v models/digits.resnet -o out\n"
"      each stage with its time, the arena and every file written\n";

/* ---- -v: one line per stage ---------------------------------------------- */

static int verbose;         /* set once from the command line */

static double now_seconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* "resnetc: STAGE  12.3 ms  what": seconds < 0 leaves the time out. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static void stage(const char *name, double seconds, const char *fmt, ...) {
  if (!verbose) return;
  char t[32] = "";
  if (seconds >= 0) snprintf(t, sizeof t, "%9.1f ms", seconds * 1e3);
  fprintf(stderr, "resnetc: %-6s %12s  ", name, t);
  va_list ap;
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
}

/* "wrote PATH (N bytes)", the size as the file system has it. */
static void stage_wrote(const char *path) {
  struct stat st;
  if (stat(path, &st) == 0) stage("wrote", -1, "%s (%lld bytes)", path, (long long)st.st_size);
  else stage("wrote", -1, "%s", path);
}

/* Inputs or outputs as "name [1,3,224,224], ...". */
static void io_list(Tensor **t, int n, char *buf, size_t size) {
  size_t k = 0;
  buf[0] = 0;
  for (int i = 0; i < n && k + 1 < size; i++) {
    char sh[128];
    int w = snprintf(buf + k, size - k, "%s%s %s", i ? ", " : "", t[i]->name, ir_shape_str(t[i], sh, sizeof sh));
    if (w < 0) break;
    k += (size_t)w;
    if (k >= size) k = size - 1;
  }
}

typedef struct Cli {
  const char *model;
  const char *outdir;
  const char *name;
  WeightsMode wmode;
  int64_t batch;
  int batch_given;
  int64_t max_memory;
  PassOptions po;
  int dump_ir;
  int report, no_emit, summary;
  const char *plan_svg, *dot, *emit_onnx;
  const char *weights;
  int random_weights;
  unsigned long long seed;
  int quiet, verbose;
  unsigned isas;            /* --target: KIsa mask, 0 = all */
  int winograd;             /* --winograd: 0 auto, -1 off, 2, 4 */
} Cli;

static void usage_error(const char *fmt, const char *arg) {
  fputs("resnetc: ", stderr);
  fprintf(stderr, fmt, arg);
  fputs("\nTry 'resnetc --help'.\n", stderr);
  exit(2);
}

/* "123", "64K", "4G" -> bytes; -1 when malformed. */
static int64_t parse_size(const char *s) {
  char *end;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno || end == s || v < 0) return -1;
  int64_t mul = 1;
  if (*end == 'K' || *end == 'k') mul = 1 << 10, end++;
  else if (*end == 'M' || *end == 'm') mul = 1 << 20, end++;
  else if (*end == 'G' || *end == 'g') mul = (int64_t)1 << 30, end++;
  if (*end) return -1;
  if (v > INT64_MAX / mul) return -1;
  return v * mul;
}

/* Matches "--opt=VALUE" or "--opt VALUE"; returns the value or NULL. */
static const char *opt_value(int argc, char **argv, int *i, const char *opt) {
  size_t n = strlen(opt);
  const char *a = argv[*i];
  if (strncmp(a, opt, n) != 0) return NULL;
  if (a[n] == '=') return a + n + 1;
  if (a[n] != 0) return NULL;
  if (*i + 1 >= argc) usage_error("option '%s' needs a value", opt);
  return argv[++*i];
}

static int ends_with(const char *s, const char *suf) {
  size_t n = strlen(s), m = strlen(suf);
  return n >= m && strcmp(s + n - m, suf) == 0;
}

/* A C identifier of at most 64 characters (the prefix of every symbol). */
static int is_identifier(const char *s) {
  size_t n = strlen(s);
  if (n == 0 || n > 64 || (s[0] >= '0' && s[0] <= '9')) return 0;
  for (size_t i = 0; i < n; i++)
    if (!(s[i] == '_' || (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
          (s[i] >= '0' && s[i] <= '9')))
      return 0;
  return 1;
}

/* Is a name of the list (comma-separated unless single) no pass, or empty? */
static int unknown_pass(const char *list, int single) {
  for (const char *p = list;;) {
    size_t len = single ? strlen(p) : strcspn(p, ",");
    int ok = 0;
    for (int i = 0; pass_names[i] && len; i++)
      if (strlen(pass_names[i]) == len && !strncmp(pass_names[i], p, len)) ok = 1;
    if (!ok) return 1;
    if (!p[len]) return 0;
    p += len + 1;
  }
}

static void parse_args(int argc, char **argv, Cli *c) {
  memset(c, 0, sizeof *c);
  c->batch = 1;
  c->max_memory = (int64_t)4 << 30;
  c->po.opt_level = 2;
  c->po.dump_file = stdout;
#if !defined(NDEBUG) || defined(RN_VERIFY)
  c->po.verify = 1;     /* debug builds, or cmake -DRN_VERIFY=ON (CI) */
#endif
  for (int i = 1; i < argc; i++) {
    const char *a = argv[i], *v;
    if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
      fputs(usage_text, stdout);
      fputs(examples_text, stdout);
      exit(0);
    } else if (!strcmp(a, "--version")) {
      printf("resnetc %s\n", RESNETC_VERSION);
      exit(0);
    } else if (!strcmp(a, "-O0") || !strcmp(a, "-O2")) {
      c->po.opt_level = a[2] == '0' ? 0 : 2;
    } else if (!strncmp(a, "-O", 2)) {
      usage_error("unknown level '%s': resnetc has -O0 (no optimisation) and -O2 (all passes, "
                  "the default)", a);
    } else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
      c->quiet = 1;
    } else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
      c->verbose = 1;
    } else if (!strcmp(a, "--report")) {
      c->report = 1;
    } else if (!strcmp(a, "--summary")) {
      c->summary = 1;
    } else if ((v = opt_value(argc, argv, &i, "--emit-onnx"))) {
      c->emit_onnx = v;
    } else if ((v = opt_value(argc, argv, &i, "--weights"))) {
      c->weights = v;
    } else if ((v = opt_value(argc, argv, &i, "--random-weights"))) {
      char *end;
      errno = 0;
      c->seed = strtoull(v, &end, 10);
      if (errno || end == v || *end) usage_error("--random-weights needs an integer seed, not '%s'", v);
      c->random_weights = 1;
    } else if (!strcmp(a, "--no-emit")) {
      c->no_emit = 1;
    } else if ((v = opt_value(argc, argv, &i, "--plan-svg"))) {
      c->plan_svg = v;
    } else if ((v = opt_value(argc, argv, &i, "--dot"))) {
      c->dot = v;
    } else if (!strcmp(a, "--dump-ir")) {
      c->dump_ir = 1;
    } else if (!strcmp(a, "-o") || (v = opt_value(argc, argv, &i, "--output"))) {
      if (!strcmp(a, "-o")) {
        if (i + 1 >= argc) usage_error("option '%s' needs a value", "-o");
        v = argv[++i];
      }
      c->outdir = v;
    } else if (!strcmp(a, "-n") || (v = opt_value(argc, argv, &i, "--name"))) {
      if (!strcmp(a, "-n")) {
        if (i + 1 >= argc) usage_error("option '%s' needs a value", "-n");
        v = argv[++i];
      }
      c->name = v;
    } else if ((v = opt_value(argc, argv, &i, "--winograd"))) {
      if (!strcmp(v, "auto")) c->winograd = 0;
      else if (!strcmp(v, "off")) c->winograd = -1;
      else if (!strcmp(v, "f2")) c->winograd = 2;
      else if (!strcmp(v, "f4")) c->winograd = 4;
      else usage_error("--winograd must be auto, off, f2 or f4, not '%s'", v);
    } else if ((v = opt_value(argc, argv, &i, "--target"))) {
      int m = kisa_parse(v);
      if (m < 0) usage_error("--target: unknown name in '%s' (known: avx512, avx2, neon, x86-64, aarch64, all, scalar)", v);
      c->isas = (unsigned)m;
    } else if ((v = opt_value(argc, argv, &i, "--weights-mode"))) {
      if (!strcmp(v, "embed")) c->wmode = WEIGHTS_EMBED;
      else if (!strcmp(v, "blob")) c->wmode = WEIGHTS_BLOB;
      else if (!strcmp(v, "auto")) c->wmode = WEIGHTS_AUTO;
      else usage_error("--weights-mode must be embed, blob or auto, not '%s'", v);
    } else if ((v = opt_value(argc, argv, &i, "--batch"))) {
      int64_t b = parse_size(v);
      if (b < 1 || b > 1 << 20) usage_error("--batch needs a positive integer, not '%s'", v);
      c->batch = b;
      c->batch_given = 1;
    } else if ((v = opt_value(argc, argv, &i, "--max-memory"))) {
      c->max_memory = parse_size(v);
      if (c->max_memory <= 0) usage_error("--max-memory needs a size such as 512M, not '%s'", v);
    } else if ((v = opt_value(argc, argv, &i, "--passes"))) {
      c->po.only = v;
    } else if ((v = opt_value(argc, argv, &i, "--dump-ir-after"))) {
      c->po.dump_after = v;
    } else if (a[0] == '-' && a[1]) {
      usage_error("unknown option '%s'", a);
    } else {
      if (c->model) usage_error("more than one model given ('%s')", a);
      c->model = a;
    }
  }
  if (!c->model) usage_error("%s", "no model given");
  if (c->name && !is_identifier(c->name))
    usage_error("--name '%s' is not a C identifier (letters, digits and '_', not starting "
                "with a digit, at most 64 characters)", c->name);
  for (int k = 0; k < 2; k++) {
    const char *list = k ? c->po.dump_after : c->po.only;
    if (!list || !unknown_pass(list, k)) continue;
    char msg[512];
    size_t n = (size_t)snprintf(msg, sizeof msg, k ? "--dump-ir-after: unknown pass '%.200s' "
                                "(known passes:" : "--passes: unknown or empty pass name in "
                                "'%.200s' (known passes:", list);
    for (int i = 0; pass_names[i] && n < sizeof msg; i++)
      n += (size_t)snprintf(msg + n, sizeof msg - n, "%s %s", i ? "," : "", pass_names[i]);
    if (n < sizeof msg) snprintf(msg + n, sizeof msg - n, ")");
    usage_error("%s", msg);
  }
  /* a dump is for reading: it writes C only when asked where (-o) */
  if ((c->dump_ir || c->po.dump_after) && !c->outdir) c->no_emit = 1;
  if ((c->weights || c->random_weights) && !ends_with(c->model, ".resnet"))
    usage_error("%s", "--weights and --random-weights are for .resnet models (an ONNX file has its weights)");
  if (c->weights && c->random_weights)
    usage_error("%s", "--weights and --random-weights exclude each other");
}


/* The file name without folder and extension, made a C identifier. */
static char *default_name(const char *path) {
  const char *b = strrchr(path, '/');
  b = b ? b + 1 : path;
  size_t n = strcspn(b, ".");
  char *s = malloc(n + 2);
  if (!s) exit(1);
  size_t k = 0;
  if (n == 0 || (b[0] >= '0' && b[0] <= '9')) s[k++] = 'm';
  for (size_t i = 0; i < n; i++) {
    char ch = b[i];
    int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
    s[k++] = ok ? ch : '_';
  }
  s[k] = 0;
  return s;
}

static char *join_argv(int argc, char **argv) {
  size_t n = 1;
  for (int i = 0; i < argc; i++) n += strlen(argv[i]) + 1;
  char *s = malloc(n);
  if (!s) exit(1);
  s[0] = 0;
  for (int i = 0; i < argc; i++) {
    if (i) strcat(s, " ");
    /* the program's own path would make output depend on where it lives */
    strcat(s, i == 0 ? "resnetc" : argv[i]);
  }
  return s;
}

/* Shape inference, folding and the optimiser; 0, or 1 after an error
 * message.  Its own function, so that main's locals survive the longjmp. */
static int optimise(Graph *g, Cli *c, PassLog *log) {
  IrTry t;
  if (ir_try_begin(&t)) return 1;
  double t0 = now_seconds();
  shape_infer_and_fold(g, c->max_memory);
  if (verbose) {
    char in[512], out[512];
    io_list(g->inputs, g->ninputs, in, sizeof in);
    io_list(g->outputs, g->noutputs, out, sizeof out);
    stage("shape", now_seconds() - t0, "shape inference and constant folding: %d nodes; in: %s; out: %s",
          g->nnodes, in, out);
  }
  if (c->po.verify && ir_verify(g, "shape inference")) ir_die("invalid IR");
  if (c->dump_ir) ir_print(g, stdout);
  if (c->summary) {     /* the network as described: before optimisation */
    summary_print(g, stdout);
    ir_try_end(&t);
    return 2;
  }
  if (c->emit_onnx && onnx_save(g, c->emit_onnx) != 0) {
    ir_try_end(&t);
    return 1;
  }
  c->po.log = log;
  g->winograd = c->winograd;   /* the planner sizes the kernels' scratch from it */
  passes_run(g, &c->po);
  if (verbose) {
    if (c->po.opt_level == 0 && !c->po.only) stage("pass", -1, "none (-O0)");
    for (int i = 0; i < log->nruns; i++) {
      const PassStats *s = &log->runs[i];
      char what[512];
      size_t k = 0;
      what[0] = 0;
      for (int j = 0; j < s->ncounters && k < sizeof what; j++) {
        int w = snprintf(what + k, sizeof what - k, "%s %s %ld", j ? "," : ";", s->what[j], s->count[j]);
        if (w < 0) break;
        k += (size_t)w;
      }
      if (strcmp(s->pass, "plan") == 0) {
        /* its own figures, named as --report names them: the arena is
         * NAME_ARENA_BYTES, kernel scratch included */
        PlanSummary ps;
        plan_summary(g, &ps);
        stage("plan", s->seconds, "plan: nodes %d -> %d; activations %" PRId64 " bytes in %d blocks "
              "(lower bound %" PRId64 ", every tensor in its own place %" PRId64 ")", s->nodes_before,
              s->nodes_after, ps.arena_bytes, ps.nblocks, ps.lower_bound_bytes, ps.naive_bytes);
      } else {
        stage("pass", s->seconds, "%s: nodes %d -> %d%s", s->pass, s->nodes_before, s->nodes_after,
              s->ncounters ? what : "; no change");
      }
    }
  }
  if (c->po.verify) stage("verify", -1, "IR verified after shape inference and after every pass");
  /* the generated code needs the arena at run time: bounded like the weights */
  if (g->arena_bytes > c->max_memory)
    ir_fail("the model needs %" PRId64 " bytes of activation memory (its arena), more than the "
            "--max-memory limit of %" PRId64 " bytes", g->arena_bytes, c->max_memory);
  ir_try_end(&t);
  return 0;
}

int main(int argc, char **argv) {
  Cli c;
  parse_args(argc, argv, &c);
  double t_start = now_seconds();
  verbose = c.verbose && !c.quiet;
  ir_source = c.model;
  ir_quiet = 0;
  ir_no_warn = c.quiet;
  progress_init(c.quiet);     /* a progress line on a terminal only */

  int is_resnet = ends_with(c.model, ".resnet");
  Graph *g;
  if (is_resnet) {
    ResnetOptions ro = {0};
    ro.batch = c.batch;
    ro.weights = c.weights;
    ro.random_weights = c.random_weights;
    ro.seed = c.seed;
    ro.shapes_only = c.summary;
    ro.max_weight_bytes = c.max_memory;
    g = resnet_load(c.model, &ro);
  } else {
    OnnxOptions oo = {c.batch, c.max_memory};
    g = onnx_load(c.model, &oo);
  }
  if (!g) return 1;
  /* --batch N on a model whose batch is static (and not N) would be
   * silently ignored: a usage error, said before anything is written */
  int batch_ok = !c.batch_given || g->ninputs == 0;
  for (int i = 0; i < g->ninputs && !batch_ok; i++)
    batch_ok = g->inputs[i]->rank > 0 && g->inputs[i]->dims[0] == c.batch;
  if (!batch_ok) {
    const Tensor *t = g->inputs[0];
    fprintf(stderr, "resnetc: --batch %" PRId64 ": %s has no dynamic batch dimension (input '%s' "
            "is %s[", c.batch, c.model, t->name, dtype_name(t->dtype));
    for (int k = 0; k < t->rank; k++) fprintf(stderr, "%s%" PRId64, k ? "," : "", t->dims[k]);
    fprintf(stderr, "])\n");
    ir_graph_free(g);
    return 2;
  }
  if (verbose) {
    int64_t nconst = 0, cbytes = 0;
    for (int i = 0; i < g->ntensors; i++)
      if (g->tensors[i]->kind == TK_CONST) {
        int64_t n = ir_numel(g->tensors[i]);
        nconst++;
        if (n > 0) cbytes += n * (int64_t)dtype_size(g->tensors[i]->dtype);
      }
    char front[32] = ".resnet";
    if (!is_resnet) snprintf(front, sizeof front, "ONNX opset %d", g->opset);
    stage("load", now_seconds() - t_start, "%s (%s): %d nodes, %d input(s), %d output(s), %" PRId64
          " constants of %" PRId64 " bytes%s", c.model, front, g->nnodes, g->ninputs, g->noutputs, nconst,
          cbytes, is_resnet && c.random_weights ? " (random weights)" : "");
  }

  char *name = c.name ? strdup(c.name) : default_name(c.model);
  char *cmdline = join_argv(argc, argv);
  char *outdir = NULL;
  ir_current_graph = g;
  PassLog log;
  memset(&log, 0, sizeof log);
  int status = optimise(g, &c, &log);
  if (status == 2) {            /* --summary: nothing else to do */
    status = 0;
    c.no_emit = 1;
  }
  else if (status == 0 && c.emit_onnx && !c.report && !c.plan_svg && !c.dot && !c.outdir)
    c.no_emit = 1;              /* --emit-onnx alone converts, nothing more */
  if (status == 0) {
    if (c.report) report_print(g, &log, stdout);
    if (c.plan_svg) {
      if (report_plan_svg(g, c.plan_svg, cmdline) != 0) status = 1;
      else stage_wrote(c.plan_svg);
    }
    if (c.dot) {
      if (dot_write_file(g, c.dot, cmdline) != 0) status = 1;
      else stage_wrote(c.dot);
    }
  }
  if (status == 0 && c.emit_onnx) stage_wrote(c.emit_onnx);
  if (status == 0 && !c.no_emit) {
    if (c.outdir) outdir = strdup(c.outdir);
    else {
      outdir = malloc(strlen(name) + 16);
      if (outdir) sprintf(outdir, "generated/%s", name);
    }
    EmitOptions eo = {0};
    eo.outdir = outdir;
    eo.name = name;
    eo.weights = c.wmode;
    eo.command_line = cmdline;
    eo.isas = c.isas;
    EmitResult er;
    double t0 = now_seconds();
    status = emit_c_result(g, &eo, &er) == 0 ? 0 : 1;
    if (status == 0) {
      stage("emit", now_seconds() - t0, "C into %s: %s_ARENA_BYTES %" PRId64 " (the planned arena, kernel scratch "
            "included), %s_WEIGHTS_BYTES %" PRId64 " (%s)", outdir, name, er.arena_bytes, name, er.weights_bytes,
            er.embedded ? "embedded in C source" : "a blob file the caller loads");
      for (int i = 0; i < er.nfiles; i++) stage_wrote(er.files[i]);
    }
  }
  if (status == 0) stage("done", now_seconds() - t_start, "%s", c.model);
  ir_graph_free(g);
  free(name);
  free(cmdline);
  free(outdir);
  return status;
}
