/* test_safetensors.c - the safetensors reader and weight binding.
 *
 * Files are written here byte by byte (the format is simple enough to
 * write independently of the reader): a valid file with every float dtype
 * read back to known values, then one corruption per check of the reader,
 * each of which must fail with a message naming the file (and the tensor
 * where there is one).  Then binding: a small network gets its weights
 * from a file; missing, extra, mis-shaped and non-float tensors are all
 * listed by name with both shapes, and num_batches_tracked is ignored. */
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "front_resnet.h"
#include "safetensors.h"
#include "testutil.h"

static char dir[4096];

/* Writes 8-byte length + header + data; returns the path. */
static const char *write_raw(const char *name, const char *header, size_t hlen, const void *data, size_t dlen) {
  static char path[4400];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *f = fopen(path, "wb");
  unsigned char len[8];
  for (int i = 0; i < 8; i++) len[i] = (unsigned char)((uint64_t)hlen >> (8 * i));
  fwrite(len, 1, 8, f);
  fwrite(header, 1, hlen, f);
  if (dlen) fwrite(data, 1, dlen, f);
  fclose(f);
  return path;
}

static const char *write_st(const char *name, const char *header, const void *data, size_t dlen) {
  return write_raw(name, header, strlen(header), data, dlen);
}

/* st_open must fail and the message contain each of the NULL-ended needles */
static void expect_fail(const char *path, ...) {
  Graph *g = ir_graph_new("t", "t");
  StFile st;
  char err[1024] = "";
  int rc = st_open(g, path, &st, err, sizeof err);
  CU_ASSERT_EQUAL(rc, -1);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, path));
  va_list ap;
  va_start(ap, path);
  for (const char *n; (n = va_arg(ap, const char *)) != NULL;) {
    if (!strstr(err, n)) fprintf(stderr, "expected \"%s\" in: %s\n", n, err);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, n));
  }
  va_end(ap);
  CU_ASSERT_PTR_NULL(st.f);
  ir_graph_free(g);
}

static void test_valid_file(void) {
  /* a: F32 [2,3]; h: F16 [4]; b: BF16 [2]; d: F64 [3]; n: I64 []; e: F32 [0] */
  unsigned char data[24 + 8 + 4 + 24 + 8];
  float a[6] = {1, -2, 3.5f, 0, 1e-3f, -7};
  uint16_t h[4] = {0x3C00, 0xC100, 0x3800, 0x7BFF};   /* 1, -2.5, 0.5, 65504 */
  uint16_t b[2] = {0x3F80, 0xC040};                   /* 1, -3 */
  double d[3] = {0.25, -1e10, 3.0};
  int64_t n = 7;
  memcpy(data, a, 24);
  memcpy(data + 24, h, 8);
  memcpy(data + 32, b, 4);
  memcpy(data + 36, d, 24);
  memcpy(data + 60, &n, 8);
  const char *hdr =
    "{\"__metadata__\":{\"format\":\"pt\",\"note\":\"caf\\u00e9 \\ud83d\\ude00\"},"
    "\"a\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,24]},"
    "\"h\":{\"shape\":[4],\"dtype\":\"F16\",\"data_offsets\":[24,32]},"
    "\"b\":{\"dtype\":\"BF16\",\"shape\":[2],\"data_offsets\":[32,36]},"
    "\"d\":{\"dtype\":\"F64\",\"shape\":[3],\"data_offsets\":[36,60]},"
    "\"n\":{\"dtype\":\"I64\",\"shape\":[],\"data_offsets\":[60,68]},"
    "\"e\\u0301\":{\"dtype\":\"F32\",\"shape\":[0, 5],\"data_offsets\":[68,68]}}   ";
  const char *p = write_st("valid.safetensors", hdr, data, sizeof data);
  Graph *g = ir_graph_new("t", "t");
  StFile st;
  char err[1024];
  int rc = st_open(g, p, &st, err, sizeof err);
  if (rc) fprintf(stderr, "%s\n", err);
  CU_ASSERT_EQUAL_FATAL(rc, 0);
  CU_ASSERT_EQUAL(st.n, 6);
  CU_ASSERT_EQUAL(st.data_size, sizeof data);
  const StTensor *ta = st_find(&st, "a");
  CU_ASSERT_PTR_NOT_NULL_FATAL(ta);
  CU_ASSERT_EQUAL(ta->rank, 2);
  CU_ASSERT_EQUAL(ta->dims[1], 3);
  float out[8];
  CU_ASSERT_EQUAL(st_read_f32(&st, ta, out, err, sizeof err), 0);
  CU_ASSERT_EQUAL(memcmp(out, a, 24), 0);
  CU_ASSERT_EQUAL(st_read_f32(&st, st_find(&st, "h"), out, err, sizeof err), 0);
  CU_ASSERT_EQUAL(out[0], 1.0f);
  CU_ASSERT_EQUAL(out[1], -2.5f);
  CU_ASSERT_EQUAL(out[2], 0.5f);
  CU_ASSERT_EQUAL(out[3], 65504.0f);
  CU_ASSERT_EQUAL(st_read_f32(&st, st_find(&st, "b"), out, err, sizeof err), 0);
  CU_ASSERT_EQUAL(out[0], 1.0f);
  CU_ASSERT_EQUAL(out[1], -3.0f);
  CU_ASSERT_EQUAL(st_read_f32(&st, st_find(&st, "d"), out, err, sizeof err), 0);
  CU_ASSERT_EQUAL(out[0], 0.25f);
  CU_ASSERT_EQUAL(out[1], -1e10f);
  const StTensor *tn = st_find(&st, "n");
  CU_ASSERT_EQUAL(tn->rank, 0);
  CU_ASSERT_EQUAL(st_read_f32(&st, tn, out, err, sizeof err), -1);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "'n' has dtype I64"));
  CU_ASSERT_PTR_NOT_NULL(st_find(&st, "e\xcc\x81"));                  /* \u0301 in UTF-8 */
  CU_ASSERT_PTR_NULL(st_find(&st, "__metadata__"));
  st_close(&st);
  ir_graph_free(g);
}

static void test_corrupt_files(void) {
  float z[8] = {0};
  char big[4400];
  /* the 8-byte length */
  const char *p = write_raw("short.safetensors", "", 0, NULL, 0);
  FILE *f = fopen(p, "wb");
  fwrite("abc", 1, 3, f);
  fclose(f);
  expect_fail(p, "too short", NULL);
  p = write_raw("hl_big.safetensors", "{}", 2, NULL, 0);
  f = fopen(p, "r+b");
  unsigned char l[8] = {0xff, 0xff, 0, 0, 0, 0, 0, 0};
  fwrite(l, 1, 8, f);
  fclose(f);
  expect_fail(p, "header length 65535 is more than the 2 bytes", NULL);
  /* one header each, then dlen zero bytes of data: the message must hold
   * want[0] (and want[1]) */
  static const struct { const char *file, *header; size_t dlen; const char *want[2]; } bad[] = {
    /* JSON */
    {"j1.safetensors", "[1,2]", 0, {"not a JSON object"}},
    {"j2.safetensors", "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]}",
     8, {"invalid JSON header", "expected '}'"}},
    {"j3.safetensors", "{} x", 0, {"text after the header"}},
    {"j4.safetensors", "{\"a\\q\":{}}", 0, {"unknown escape"}},
    {"j5.safetensors", "{\"a\nb\":{}}", 0, {"control character"}},
    {"j6.safetensors", "{\"abc", 0, {"unterminated string"}},
    {"j7.safetensors", "{\"a\\ud800\":{}}", 0, {"unpaired surrogate"}},
    {"j8.safetensors", "{\"\xff\":{}}", 0, {"invalid UTF-8"}},
    /* tensors */
    {"t1.safetensors", "{\"w\":{\"dtype\":\"F17\",\"shape\":[2],\"data_offsets\":[0,8]}}",
     8, {"tensor 'w' has unknown dtype 'F17'"}},
    {"t2.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[-2],\"data_offsets\":[0,8]}}",
     8, {"must not be negative"}},
    {"t3.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,16]}}",
     8, {"tensor 'w' has data_offsets [0, 16] beyond the 8 bytes of data"}},
    {"t4.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,0]}}",
     8, {"tensor 'w'", "end before they begin"}},
    {"t5.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[2,3],\"data_offsets\":[0,20]}}",
     20, {"tensor 'w' (F32[2,3]) needs 24 bytes but its data_offsets [0, 20] hold 20"}},
    {"t6.safetensors",
     "{\"u\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
     "\"v\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, {"tensors 'u' and 'v' overlap"}},
    {"t7.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}",
     8, {"bytes 0..4 of the data belong to no tensor"}},
    {"t8.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}",
     8, {"bytes 4..8 at the end"}},
    {"t9.safetensors",
     "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
     "\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, {"tensor 'w' is listed twice"}},
    {"t10.safetensors", "{\"w\":{\"dtype\":\"F32\",\"data_offsets\":[0,4]}}", 4, {"tensor 'w' has no shape"}},
    {"t11.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4],\"x\":1}}",
     4, {"tensor 'w' has an unknown field 'x'"}},
    {"t12.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}",
     4, {"tensor 'w' has more than 8 dimensions"}},
    {"t13.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1099511627776,1099511627776],\"data_offsets\":[0,4]}}",
     4, {"tensor 'w' is too large"}},
    {"t14.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}",
     4, {"leading zero"}},
    {"t15.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1.0],\"data_offsets\":[0,4]}}",
     4, {"must be an integer"}},
    {"t16.safetensors", "{\"\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, {"empty name"}},
    {"t17.safetensors", "{\"w\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,99999999999999999999]}}",
     4, {"too large"}},
    {"t18.safetensors", "{}", 4, {"4 bytes of data but no tensor"}},
    {"m2.safetensors", "{\"__metadata__\":[]}", 0, {"__metadata__ must be an object"}},
  };
  for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
    expect_fail(write_st(bad[i].file, bad[i].header, z, bad[i].dlen), bad[i].want[0], bad[i].want[1], NULL);
  /* a NUL in the header (which write_st would cut there) */
  expect_fail(write_raw("j9.safetensors", "{\"a\0\":{}}", 8, NULL, 0), "NUL byte", NULL);
  /* metadata nested beyond the limit */
  char deep[400];
  snprintf(deep, sizeof deep, "{\"__metadata__\":{\"k\":%.*s1%.*s}}", 40,
           "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", 40, "]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]");
  expect_fail(write_st("m1.safetensors", deep, NULL, 0), "nested too deeply", NULL);
  snprintf(big, sizeof big, "%s/absent.safetensors", dir);
  expect_fail(big, "cannot open", NULL);
}

/* ---- binding ----------------------------------------------------------- */

static const char *net =
  "network tiny : input[3, 8, 8] {\n"
  "  stem conv3x3(4) bn relu\n"
  "  head global_avgpool fc(2)\n"
  "}\n";

typedef struct T { const char *name, *dtype; int rank; int64_t dims[4]; } T;

/* Writes a safetensors file with tensors filled with i*0.5 + k (k: index). */
static const char *write_tensors(const char *fname, const T *t, int n) {
  char hdr[4096];
  size_t k = 0, off = 0;
  static unsigned char data[1 << 16];
  k += (size_t)snprintf(hdr + k, sizeof hdr - k, "{");
  for (int i = 0; i < n; i++) {
    int64_t numel = 1;
    for (int d = 0; d < t[i].rank; d++) numel *= t[i].dims[d];
    size_t es = strcmp(t[i].dtype, "F16") == 0 ? 2 : strcmp(t[i].dtype, "I64") == 0 ? 8 : 4;
    for (int64_t e = 0; e < numel; e++) {
      float v = (float)e * 0.5f + (float)i;
      if (es == 4) memcpy(data + off + (size_t)e * 4, &v, 4);
      else if (es == 8) { int64_t q = e; memcpy(data + off + (size_t)e * 8, &q, 8); }
      else { uint16_t hv = 0x3C00; memcpy(data + off + (size_t)e * 2, &hv, 2); }
    }
    k += (size_t)snprintf(hdr + k, sizeof hdr - k, "%s\"%s\":{\"dtype\":\"%s\",\"shape\":[", i ? "," : "",
                          t[i].name, t[i].dtype);
    for (int d = 0; d < t[i].rank; d++)
      k += (size_t)snprintf(hdr + k, sizeof hdr - k, "%s%lld", d ? "," : "", (long long)t[i].dims[d]);
    size_t nb = (size_t)numel * es;
    k += (size_t)snprintf(hdr + k, sizeof hdr - k, "],\"data_offsets\":[%zu,%zu]}", off, off + nb);
    off += nb;
  }
  snprintf(hdr + k, sizeof hdr - k, "}");
  return write_st(fname, hdr, data, off);
}

static const T good[] = {
  {"conv1.weight", "F32", 4, {4, 3, 3, 3}}, {"bn1.weight", "F32", 1, {4}}, {"bn1.bias", "F32", 1, {4}},
  {"bn1.running_mean", "F32", 1, {4}},     {"bn1.running_var", "F32", 1, {4}},
  {"bn1.num_batches_tracked", "I64", 0, {0}}, {"fc.weight", "F16", 2, {2, 4}}, {"fc.bias", "F32", 1, {2}},
};

static Graph *load_with(const char *weights, char **errout) {
  ResnetOptions o = {0};
  o.weights = weights;
  rn_capture_begin();
  Graph *g = resnet_load_buffer(net, strlen(net), "tiny.resnet", &o);
  *errout = rn_capture_end();
  return g;
}

static void test_binding(void) {
  char *err;
  Graph *g = load_with(write_tensors("good.safetensors", good, 8), &err);
  if (!g) fprintf(stderr, "%s", err);
  CU_ASSERT_PTR_NOT_NULL_FATAL(g);
  const float *w = ir_find_tensor(g, "conv1.weight")->data;
  CU_ASSERT_EQUAL(w[0], 0.0f);
  CU_ASSERT_EQUAL(w[107], 53.5f);
  const float *var = ir_find_tensor(g, "bn1.running_var")->data;
  CU_ASSERT_EQUAL(var[3], 4 + 1.5f);
  const float *fw = ir_find_tensor(g, "fc.weight")->data;
  CU_ASSERT_EQUAL(fw[7], 1.0f);                      /* F16 0x3C00 */
  ir_graph_free(g);
  free(err);

  /* missing, extra, mis-shaped, not float: all listed at once */
  T bad[8];
  memcpy(bad, good, sizeof bad);
  bad[4].name = "bn1.running_varr";                  /* running_var missing, this one extra */
  bad[6].dims[0] = 3;                                /* fc.weight [3,4] */
  bad[7].dtype = "I64";                              /* fc.bias not float */
  g = load_with(write_tensors("bad.safetensors", bad, 8), &err);
  CU_ASSERT_PTR_NULL(g);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "tiny.resnet: error: the weights in "));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "do not fit network 'tiny': 1 missing, 1 extra, 1 of another shape"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "  missing: bn1.running_var [4] (in the network, not in the file)"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "  extra:   bn1.running_varr [4] (in the file, not in the network)"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "  shape:   fc.weight is [2,4] in the network but [3,4] in the file"));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "  dtype:   fc.bias is I64 in the file"));
  CU_ASSERT_PTR_NULL(strstr(err, "num_batches_tracked"));
  ir_graph_free(g);
  free(err);

  /* a corrupt file: the reader's message, prefixed by the model */
  char hdr[] = "{\"conv1.weight\":{\"dtype\":\"F32\",\"shape\":[4,3,3,3],\"data_offsets\":[0,4]}}";
  g = load_with(write_st("corrupt.safetensors", hdr, "abcd", 4), &err);
  CU_ASSERT_PTR_NULL(g);
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "tiny.resnet: error: cannot read the weights: "));
  CU_ASSERT_PTR_NOT_NULL(strstr(err, "corrupt.safetensors: tensor 'conv1.weight' (F32[4,3,3,3]) needs 432 bytes"));
  free(err);
}

int main(void) {
  snprintf(dir, sizeof dir, "%s", rn_tmpdir("safetensors"));
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("safetensors", NULL, NULL);
  CU_add_test(s, "a valid file: every float dtype, metadata, escapes", test_valid_file);
  CU_add_test(s, "corrupt files: one per check", test_corrupt_files);
  CU_add_test(s, "binding weights: values, and every mismatch listed", test_binding);
  return rn_run_tests();
}
