/*
 * fuzz_safetensors.c - libFuzzer target: safetensors bytes -> header ->
 * tensors -> weights bound to a network.
 *
 * One input is one safetensors file.  It is written to an in-memory file
 * (a memfd, reached through a symlink w.safetensors to its /proc/self/fd
 * path, so nothing touches the disk) and read the two ways resnetc reads
 * weights:
 *   1. st_open (header length against the file size, the JSON header
 *      parsed and validated), then st_read_f32 of every tensor of at most
 *      1 Mi elements whose dtype converts to float32, then st_close;
 *   2. resnet_load_buffer of a fixed small network (a 3x3 convolution with
 *      BatchNorm, global average pooling, a 2-way classifier) with the file
 *      as its weights: binding checks names, shapes and dtypes; a network
 *      that binds goes through fz_pipeline (fuzz_common.h), where hostile
 *      weight values (NaN, Inf, 1e38, denormals) meet the folding passes and
 *      the differential check.
 * A refusal is fine; a crash, sanitizer report, leak, ir_die, fd leak or
 * miscompiled model is a bug.
 */
#define _GNU_SOURCE
#include <sys/mman.h>
#include <unistd.h>

#include "front_resnet.h"
#include "fuzz_common.h"
#include "safetensors.h"

static const char net[] =
    "network tiny : input[3, 8, 8] {\n"
    "  stem conv3x3(4) bn relu\n"
    "  head global_avgpool fc(2)\n"
    "}\n";

static int memfd = -1;
static char dir[64], path[96];

static void remove_scratch(void) {
  unlink(path);
  rmdir(dir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  (void)argc;
  (void)argv;
  ir_quiet = getenv("RN_FUZZ_VERBOSE") == NULL;
  memfd = memfd_create("fuzz.safetensors", MFD_CLOEXEC);
  if (memfd < 0) { perror("memfd_create"); abort(); }
  /* the front end picks the weight format by extension: a symlink named
   * .safetensors to the memfd */
  snprintf(dir, sizeof dir, "/tmp/rn-fuzz-st-XXXXXX");
  if (!mkdtemp(dir)) { perror("mkdtemp"); abort(); }
  char target[64];
  snprintf(target, sizeof target, "/proc/self/fd/%d", memfd);
  snprintf(path, sizeof path, "%s/w.safetensors", dir);
  if (symlink(target, path) != 0) { perror("symlink"); abort(); }
  atexit(remove_scratch);
  return 0;
}

static Graph *load(void *ctx) {
  (void)ctx;
  ResnetOptions ro;
  memset(&ro, 0, sizeof ro);
  ro.weights = path;
  ro.batch = 1;
  ro.max_weight_bytes = (int64_t)16 << 20;
  return resnet_load_buffer(net, sizeof net - 1, "tiny.resnet", &ro);
}

static void read_all(void) {
  Graph *g = ir_graph_new("st", "fuzz.safetensors");
  IrTry t;
  StFile st;
  char err[512];
  memset(&st, 0, sizeof st);
  if (ir_try_begin(&t)) {   /* only ir_alloc running out of memory longjmps */
    st_close(&st);
    ir_graph_free(g);
    return;
  }
  if (st_open(g, path, &st, err, sizeof err) == 0) {
    for (int i = 0; i < st.n; i++) {
      const StTensor *x = &st.t[i];
      if (st_find(&st, x->name) == NULL) abort();   /* every tensor is found by name */
      int64_t n = 1;
      for (int k = 0; k < x->rank; k++) n = ir_mul_checked(n, x->dims[k]);
      if (n < 0 || n > (1 << 20)) continue;
      if (x->dtype != DT_FLOAT && x->dtype != DT_FLOAT16 && x->dtype != DT_BFLOAT16 &&
          x->dtype != DT_DOUBLE)
        continue;
      float *dst = malloc((size_t)(n ? n : 1) * sizeof *dst);
      if (!dst) continue;
      (void)st_read_f32(&st, x, dst, err, sizeof err);
      free(dst);
    }
    st_close(&st);
  }
  ir_try_end(&t);
  ir_graph_free(g);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  if (ftruncate(memfd, 0) != 0 || pwrite(memfd, data, size, 0) != (ssize_t)size) abort();
  read_all();
  fz_load_and_run(load, NULL);
  return 0;
}
