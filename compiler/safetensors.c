/*
 * safetensors.c - the safetensors reader (see safetensors.h).
 *
 * Method: read the 8-byte length, check it against the file size (and the
 * format's 100 MB header limit), read the header into the arena, parse it
 * with a small recursive-descent JSON parser that accepts exactly the
 * shape of a safetensors header (an object of tensor objects plus an
 * optional "__metadata__" object of strings), then check the byte ranges:
 * sorted by offset they must tile the data section exactly.  Data is read
 * tensor by tensor with fseek/fread, so a 250 MB file never sits twice in
 * memory.
 */
#include "safetensors.h"

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ST_MAX_HEADER ((uint64_t)100 << 20)   /* the format's own limit */
#define ST_MAX_DEPTH 32                       /* JSON nesting in metadata */

/* ---- dtypes ------------------------------------------------------------ */

static const struct { const char *name; DType dt; int size; } dtypes[] = {
  {"F64", DT_DOUBLE, 8}, {"F32", DT_FLOAT, 4}, {"F16", DT_FLOAT16, 2},
  {"BF16", DT_BFLOAT16, 2}, {"I64", DT_INT64, 8}, {"I32", DT_INT32, 4},
  {"I16", DT_INT16, 2}, {"I8", DT_INT8, 1}, {"U64", DT_UINT64, 8},
  {"U32", DT_UINT32, 4}, {"U16", DT_UINT16, 2}, {"U8", DT_UINT8, 1},
  {"BOOL", DT_BOOL, 1}, {"F8_E4M3", DT_UNDEFINED, 1}, {"F8_E5M2", DT_UNDEFINED, 1},
};

float st_half_to_float(uint16_t h) {
  int e = (h >> 10) & 31, m = h & 1023;
  float v;
  if (e == 0) v = ldexpf((float)m, -24);
  else if (e == 31) v = m ? NAN : INFINITY;
  else v = ldexpf((float)(m + 1024), e - 25);
  return (h & 0x8000) ? -v : v;
}

float st_bf16_to_float(uint16_t h) {
  uint32_t u = (uint32_t)h << 16;
  float f;
  memcpy(&f, &u, 4);
  return f;
}

/* ---- the JSON parser ---------------------------------------------------- */

typedef struct J {
  Graph *g;
  const char *name;        /* file, for messages */
  const char *s, *end, *start;
  char *err;
  size_t errlen;
  int failed;
} J;

static int jfail(J *j, const char *fmt, ...) {
  if (j->failed) return -1;
  j->failed = 1;
  char body[600];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(body, sizeof body, fmt, ap);
  va_end(ap);
  snprintf(j->err, j->errlen, "%s: %s", j->name, body);
  return -1;
}

static int jat(J *j, const char *fmt, const char *what) {
  /* a syntax error, located by its byte offset in the header */
  long off = (long)(j->s - j->start);
  char buf[200];
  snprintf(buf, sizeof buf, fmt, what);
  return jfail(j, "invalid JSON header at byte %ld: %s", off + 8, buf);
}

static void ws(J *j) {
  while (j->s < j->end && (*j->s == ' ' || *j->s == '\t' || *j->s == '\n' || *j->s == '\r'))
    j->s++;
}

static int expect(J *j, char c) {
  ws(j);
  if (j->s >= j->end) { char b[2] = {c, 0}; return jat(j, "expected '%s', found the end", b); }
  if (*j->s != c) {
    char b[40];
    snprintf(b, sizeof b, "'%c', found '%c'", c, (*j->s >= 32 && *j->s < 127) ? *j->s : '?');
    return jat(j, "expected %s", b);
  }
  j->s++;
  return 0;
}

static int put_utf8(char *d, uint32_t c) {
  if (c < 0x80) { d[0] = (char)c; return 1; }
  if (c < 0x800) { d[0] = (char)(0xC0 | c >> 6); d[1] = (char)(0x80 | (c & 63)); return 2; }
  if (c < 0x10000) {
    d[0] = (char)(0xE0 | c >> 12); d[1] = (char)(0x80 | ((c >> 6) & 63));
    d[2] = (char)(0x80 | (c & 63)); return 3;
  }
  d[0] = (char)(0xF0 | c >> 18); d[1] = (char)(0x80 | ((c >> 12) & 63));
  d[2] = (char)(0x80 | ((c >> 6) & 63)); d[3] = (char)(0x80 | (c & 63));
  return 4;
}

static int hex4(J *j, uint32_t *v) {
  if (j->end - j->s < 4) return jat(j, "%s", "truncated \\u escape");
  *v = 0;
  for (int i = 0; i < 4; i++) {
    char c = j->s[i];
    int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
          : c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;
    if (d < 0) return jat(j, "%s", "bad \\u escape");
    *v = *v << 4 | (uint32_t)d;
  }
  j->s += 4;
  return 0;
}

/* A JSON string into the arena (UTF-8, NUL-free). */
static int jstring(J *j, const char **out) {
  ws(j);
  if (j->s >= j->end || *j->s != '"') return jat(j, "%s", "expected a string");
  j->s++;
  const char *p = j->s;
  size_t cap = 0;
  while (p < j->end && *p != '"') { if (*p == '\\') p++; p++; cap++; }
  if (p >= j->end) return jat(j, "%s", "unterminated string");
  char *d = ir_alloc(j->g, cap * 4 + 1);
  size_t k = 0;
  while (*j->s != '"') {
    unsigned char c = (unsigned char)*j->s;
    if (c < 0x20) return jat(j, "%s", "control character in a string");
    if (c == '\\') {
      j->s++;
      char e = *j->s++;
      uint32_t u;
      switch (e) {
      case '"': d[k++] = '"'; break;
      case '\\': d[k++] = '\\'; break;
      case '/': d[k++] = '/'; break;
      case 'b': d[k++] = '\b'; break;
      case 'f': d[k++] = '\f'; break;
      case 'n': d[k++] = '\n'; break;
      case 'r': d[k++] = '\r'; break;
      case 't': d[k++] = '\t'; break;
      case 'u':
        if (hex4(j, &u)) return -1;
        if (u >= 0xD800 && u < 0xDC00) {       /* a surrogate pair */
          uint32_t lo;
          if (j->end - j->s < 6 || j->s[0] != '\\' || j->s[1] != 'u')
            return jat(j, "%s", "unpaired surrogate in \\u escape");
          j->s += 2;
          if (hex4(j, &lo)) return -1;
          if (lo < 0xDC00 || lo > 0xDFFF) return jat(j, "%s", "unpaired surrogate in \\u escape");
          u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
        } else if (u >= 0xDC00 && u <= 0xDFFF) {
          return jat(j, "%s", "unpaired surrogate in \\u escape");
        }
        if (u == 0) return jat(j, "%s", "NUL character in a string");
        k += (size_t)put_utf8(d + k, u);
        break;
      default: return jat(j, "%s", "unknown escape in a string");
      }
      continue;
    }
    /* raw bytes must be valid UTF-8 */
    int len = c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3
            : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (!len || j->end - j->s < len) return jat(j, "%s", "invalid UTF-8 in a string");
    for (int i = 1; i < len; i++)
      if (((unsigned char)j->s[i] & 0xC0) != 0x80) return jat(j, "%s", "invalid UTF-8 in a string");
    memcpy(d + k, j->s, (size_t)len);
    k += (size_t)len;
    j->s += len;
  }
  j->s++;
  d[k] = 0;
  *out = d;
  return 0;
}

/* A non-negative integer (no sign, fraction or exponent: shapes and
 * offsets are counts). */
static int juint(J *j, uint64_t *v, const char *what) {
  ws(j);
  const char *p = j->s;
  if (p >= j->end || *p < '0' || *p > '9') {
    if (p < j->end && *p == '-') return jat(j, "%s must not be negative", what);
    return jat(j, "expected an integer for %s", what);
  }
  if (*p == '0' && p + 1 < j->end && p[1] >= '0' && p[1] <= '9')
    return jat(j, "%s has a leading zero", what);
  uint64_t x = 0;
  while (p < j->end && *p >= '0' && *p <= '9') {
    unsigned d = (unsigned)(*p - '0');
    if (x > (UINT64_MAX - d) / 10 || x * 10 + d > (uint64_t)INT64_MAX)
      return jat(j, "%s is too large", what);
    x = x * 10 + d;
    p++;
  }
  if (p < j->end && (*p == '.' || *p == 'e' || *p == 'E'))
    return jat(j, "%s must be an integer", what);
  j->s = p;
  *v = x;
  return 0;
}

/* Skips any JSON value (metadata), bounded in depth. */
static int jskip(J *j, int depth) {
  if (depth > ST_MAX_DEPTH) return jat(j, "%s", "nested too deeply");
  ws(j);
  if (j->s >= j->end) return jat(j, "%s", "expected a value, found the end");
  char c = *j->s;
  if (c == '"') { const char *s; return jstring(j, &s); }
  if (c == '{' || c == '[') {
    char close = c == '{' ? '}' : ']';
    j->s++;
    ws(j);
    if (j->s < j->end && *j->s == close) { j->s++; return 0; }
    for (;;) {
      if (c == '{') {
        const char *k;
        if (jstring(j, &k) || expect(j, ':')) return -1;
      }
      if (jskip(j, depth + 1)) return -1;
      ws(j);
      if (j->s < j->end && *j->s == ',') { j->s++; continue; }
      return expect(j, close);
    }
  }
  static const char *const lits[] = {"true", "false", "null"};
  for (int i = 0; i < 3; i++) {
    size_t n = strlen(lits[i]);
    if ((size_t)(j->end - j->s) >= n && memcmp(j->s, lits[i], n) == 0) { j->s += n; return 0; }
  }
  if (c == '-' || (c >= '0' && c <= '9')) {   /* any JSON number */
    const char *p = j->s;
    if (*p == '-') p++;
    if (p >= j->end || *p < '0' || *p > '9') return jat(j, "%s", "bad number");
    while (p < j->end && ((*p >= '0' && *p <= '9') || *p == '.' || *p == 'e' || *p == 'E' ||
                          *p == '+' || *p == '-'))
      p++;
    j->s = p;
    return 0;
  }
  return jat(j, "%s", "expected a value");
}

static int tensor_obj(J *j, StTensor *t, uint64_t data_size) {
  int have_dtype = 0, have_shape = 0, have_off = 0;
  if (expect(j, '{')) return -1;
  ws(j);
  if (j->s < j->end && *j->s == '}') {
    j->s++;
    return jfail(j, "tensor '%s' has no dtype, shape or data_offsets", t->name);
  }
  for (;;) {
    const char *key;
    if (jstring(j, &key) || expect(j, ':')) return -1;
    if (strcmp(key, "dtype") == 0) {
      if (have_dtype++) return jfail(j, "tensor '%s' has two dtype fields", t->name);
      const char *d;
      if (jstring(j, &d)) return -1;
      size_t i;
      for (i = 0; i < sizeof dtypes / sizeof dtypes[0]; i++)
        if (strcmp(d, dtypes[i].name) == 0) break;
      if (i == sizeof dtypes / sizeof dtypes[0])
        return jfail(j, "tensor '%s' has unknown dtype '%.40s'", t->name, d);
      t->dtype_name = dtypes[i].name;
      t->dtype = dtypes[i].dt;
      t->elem_size = dtypes[i].size;
    } else if (strcmp(key, "shape") == 0) {
      if (have_shape++) return jfail(j, "tensor '%s' has two shape fields", t->name);
      if (expect(j, '[')) return -1;
      ws(j);
      t->rank = 0;
      if (j->s < j->end && *j->s == ']') j->s++;
      else
        for (;;) {
          uint64_t v;
          if (juint(j, &v, "a dimension")) return -1;
          if (t->rank == IR_MAX_RANK)
            return jfail(j, "tensor '%s' has more than %d dimensions", t->name, IR_MAX_RANK);
          t->dims[t->rank++] = (int64_t)v;
          ws(j);
          if (j->s < j->end && *j->s == ',') { j->s++; continue; }
          if (expect(j, ']')) return -1;
          break;
        }
    } else if (strcmp(key, "data_offsets") == 0) {
      if (have_off++) return jfail(j, "tensor '%s' has two data_offsets fields", t->name);
      if (expect(j, '[') || juint(j, &t->begin, "an offset") || expect(j, ',') ||
          juint(j, &t->end, "an offset") || expect(j, ']'))
        return -1;
    } else {
      return jfail(j, "tensor '%s' has an unknown field '%.40s'", t->name, key);
    }
    ws(j);
    if (j->s < j->end && *j->s == ',') { j->s++; continue; }
    if (expect(j, '}')) return -1;
    break;
  }
  if (!have_dtype) return jfail(j, "tensor '%s' has no dtype", t->name);
  if (!have_shape) return jfail(j, "tensor '%s' has no shape", t->name);
  if (!have_off) return jfail(j, "tensor '%s' has no data_offsets", t->name);
  /* size = product(shape) * dtype size, without overflow */
  uint64_t n = (uint64_t)t->elem_size;
  for (int i = 0; i < t->rank; i++) {
    if (t->dims[i] && n > (uint64_t)INT64_MAX / (uint64_t)t->dims[i])
      return jfail(j, "tensor '%s' is too large", t->name);
    n *= (uint64_t)t->dims[i];
  }
  if (t->begin > t->end)
    return jfail(j, "tensor '%s' has data_offsets [%llu, %llu] that end before they begin",
                 t->name, (unsigned long long)t->begin, (unsigned long long)t->end);
  if (t->end > data_size)
    return jfail(j, "tensor '%s' has data_offsets [%llu, %llu] beyond the %llu bytes of data",
                 t->name, (unsigned long long)t->begin, (unsigned long long)t->end,
                 (unsigned long long)data_size);
  if (t->end - t->begin != n) {
    char sh[160];
    Tensor tmp;
    memset(&tmp, 0, sizeof tmp);
    tmp.rank = t->rank;
    memcpy(tmp.dims, t->dims, sizeof tmp.dims);
    return jfail(j, "tensor '%s' (%s%s) needs %llu bytes but its data_offsets [%llu, %llu] hold %llu",
                 t->name, t->dtype_name, ir_shape_str(&tmp, sh, sizeof sh), (unsigned long long)n,
                 (unsigned long long)t->begin, (unsigned long long)t->end,
                 (unsigned long long)(t->end - t->begin));
  }
  return 0;
}

static int cmp_begin(const void *a, const void *b) {
  const StTensor *const *x = a, *const *y = b;
  if ((*x)->begin != (*y)->begin) return (*x)->begin < (*y)->begin ? -1 : 1;
  if ((*x)->end != (*y)->end) return (*x)->end < (*y)->end ? -1 : 1;
  return 0;
}

static int cmp_name(const void *a, const void *b) {
  const StTensor *const *x = a, *const *y = b;
  return strcmp((*x)->name, (*y)->name);
}

int st_parse_header(Graph *g, const char *name, const char *json, size_t len,
                    uint64_t data_size, StFile *st, char *err, size_t errlen) {
  J j = {g, name, json, json + len, json, err, errlen, 0};
  st->n = 0;
  st->t = NULL;
  st->data_size = data_size;
  ws(&j);
  if (j.s >= j.end || *j.s != '{') return jat(&j, "%s", "the header is not a JSON object");
  j.s++;
  /* count entries generously: each needs at least one ':' */
  size_t cap = 1;
  for (const char *p = json; p < j.end; p++) cap += *p == ':';
  StTensor *ts = ir_alloc(g, sizeof *ts * cap);
  int n = 0, have_meta = 0;
  ws(&j);
  if (j.s < j.end && *j.s == '}') j.s++;
  else
    for (;;) {
      const char *key;
      if (jstring(&j, &key) || expect(&j, ':')) return -1;
      if (strcmp(key, "__metadata__") == 0) {
        if (have_meta++) return jfail(&j, "two __metadata__ entries");
        ws(&j);
        if (j.s >= j.end || *j.s != '{') return jat(&j, "%s", "__metadata__ must be an object");
        if (jskip(&j, 0)) return -1;
      } else {
        if ((size_t)n >= cap) return jat(&j, "%s", "too many entries");
        StTensor *t = &ts[n++];
        t->name = key;
        if (!*key) return jfail(&j, "a tensor has an empty name");
        if (tensor_obj(&j, t, data_size)) return -1;
      }
      ws(&j);
      if (j.s < j.end && *j.s == ',') { j.s++; continue; }
      if (expect(&j, '}')) return -1;
      break;
    }
  ws(&j);
  if (j.s != j.end) return jat(&j, "%s", "text after the header object");

  if (n > 0) {
    StTensor **v = ir_alloc(g, sizeof *v * (size_t)n);
    for (int i = 0; i < n; i++) v[i] = &ts[i];
    qsort(v, (size_t)n, sizeof *v, cmp_name);
    for (int i = 1; i < n; i++)
      if (strcmp(v[i]->name, v[i - 1]->name) == 0)
        return jfail(&j, "tensor '%s' is listed twice", v[i]->name);
    /* the byte ranges must tile [0, data_size) */
    qsort(v, (size_t)n, sizeof *v, cmp_begin);
    uint64_t at = 0;
    for (int i = 0; i < n; i++) {
      if (v[i]->begin == v[i]->end) continue;     /* empty tensors sit anywhere */
      if (v[i]->begin < at) {
        const StTensor *o = NULL;
        for (int k = i - 1; k >= 0; k--)
          if (v[k]->end > v[i]->begin && v[k]->begin != v[k]->end) { o = v[k]; break; }
        return jfail(&j, "tensors '%s' and '%s' overlap (bytes %llu..%llu and %llu..%llu)",
                     o ? o->name : "?", v[i]->name,
                     (unsigned long long)(o ? o->begin : 0), (unsigned long long)(o ? o->end : 0),
                     (unsigned long long)v[i]->begin, (unsigned long long)v[i]->end);
      }
      if (v[i]->begin > at)
        return jfail(&j, "bytes %llu..%llu of the data belong to no tensor (before '%s')",
                     (unsigned long long)at, (unsigned long long)v[i]->begin, v[i]->name);
      at = v[i]->end;
    }
    if (at != data_size)
      return jfail(&j, "bytes %llu..%llu at the end of the data belong to no tensor",
                   (unsigned long long)at, (unsigned long long)data_size);
  } else if (data_size != 0) {
    return jfail(&j, "%llu bytes of data but no tensor", (unsigned long long)data_size);
  }
  st->n = n;
  st->t = ts;
  return 0;
}

int st_open(Graph *g, const char *path, StFile *st, char *err, size_t errlen) {
  memset(st, 0, sizeof *st);
  st->path = path;
  FILE *f = fopen(path, "rb");
  if (!f) {
    snprintf(err, errlen, "%s: cannot open: %s", path, strerror(errno));
    return -1;
  }
  struct stat sb;
  if (fstat(fileno(f), &sb) != 0 || !S_ISREG(sb.st_mode)) {
    snprintf(err, errlen, "%s: not a regular file", path);
    fclose(f);
    return -1;
  }
  uint64_t size = (uint64_t)sb.st_size;
  unsigned char lb[8];
  if (size < 8 || fread(lb, 1, 8, f) != 8) {
    snprintf(err, errlen, "%s: too short for a safetensors file (%llu bytes, the header length alone takes 8)",
             path, (unsigned long long)size);
    fclose(f);
    return -1;
  }
  uint64_t hl = 0;
  for (int i = 7; i >= 0; i--) hl = hl << 8 | lb[i];
  if (hl > size - 8) {
    snprintf(err, errlen, "%s: the header length %llu is more than the %llu bytes that follow it",
             path, (unsigned long long)hl, (unsigned long long)(size - 8));
    fclose(f);
    return -1;
  }
  if (hl > ST_MAX_HEADER) {
    snprintf(err, errlen, "%s: the header length %llu is more than the format's limit of 100 MB",
             path, (unsigned long long)hl);
    fclose(f);
    return -1;
  }
  if (hl < 2) {
    snprintf(err, errlen, "%s: the header length %llu is too short for a JSON object", path,
             (unsigned long long)hl);
    fclose(f);
    return -1;
  }
  char *json = ir_alloc(g, (size_t)hl + 1);
  if (fread(json, 1, (size_t)hl, f) != (size_t)hl) {
    snprintf(err, errlen, "%s: cannot read the header", path);
    fclose(f);
    return -1;
  }
  if (memchr(json, 0, (size_t)hl)) {
    snprintf(err, errlen, "%s: the header contains a NUL byte", path);
    fclose(f);
    return -1;
  }
  if (st_parse_header(g, path, json, (size_t)hl, size - 8 - hl, st, err, errlen)) {
    fclose(f);
    return -1;
  }
  st->path = path;
  st->f = f;
  st->data_start = 8 + hl;
  st->data_size = size - 8 - hl;
  return 0;
}

const StTensor *st_find(const StFile *st, const char *name) {
  for (int i = 0; i < st->n; i++)
    if (strcmp(st->t[i].name, name) == 0) return &st->t[i];
  return NULL;
}

int st_read_f32(StFile *st, const StTensor *t, float *dst, char *err, size_t errlen) {
  if (t->dtype != DT_FLOAT && t->dtype != DT_FLOAT16 && t->dtype != DT_BFLOAT16 &&
      t->dtype != DT_DOUBLE) {
    snprintf(err, errlen, "%s: tensor '%s' has dtype %s; weights must be F32, F16, BF16 or F64",
             st->path, t->name, t->dtype_name);
    return -1;
  }
  uint64_t nbytes = t->end - t->begin;
  uint64_t n = nbytes / (uint64_t)t->elem_size;
  if (!st->f || fseeko(st->f, (off_t)(st->data_start + t->begin), SEEK_SET) != 0) {
    snprintf(err, errlen, "%s: cannot seek to tensor '%s'", st->path, t->name);
    return -1;
  }
  /* read in slices through a small buffer, converting as we go */
  unsigned char buf[1 << 14];
  uint64_t done = 0;
  while (done < n) {
    uint64_t k = (sizeof buf) / (uint64_t)t->elem_size;
    if (k > n - done) k = n - done;
    size_t want = (size_t)(k * (uint64_t)t->elem_size);
    if (fread(buf, 1, want, st->f) != want) {
      snprintf(err, errlen, "%s: cannot read the data of tensor '%s' (file truncated?)", st->path,
               t->name);
      return -1;
    }
    for (uint64_t i = 0; i < k; i++) {
      const unsigned char *p = buf + i * (uint64_t)t->elem_size;
      float v;
      switch (t->dtype) {
      case DT_FLOAT: {
        uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
        memcpy(&v, &u, 4);
        break;
      }
      case DT_DOUBLE: {
        uint64_t u = 0;
        for (int b = 7; b >= 0; b--) u = u << 8 | p[b];
        double d;
        memcpy(&d, &u, 8);
        v = (float)d;
        break;
      }
      case DT_FLOAT16: v = st_half_to_float((uint16_t)(p[0] | p[1] << 8)); break;
      default: v = st_bf16_to_float((uint16_t)(p[0] | p[1] << 8)); break;
      }
      dst[done + i] = v;
    }
    done += k;
  }
  return 0;
}

void st_close(StFile *st) {
  if (st->f) fclose(st->f);
  st->f = NULL;
}
