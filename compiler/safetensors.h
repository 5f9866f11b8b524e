/*
 * safetensors.h - a reader of the safetensors format, in C, no library.
 *
 * The format: an 8-byte little-endian header length N, N bytes of JSON
 *   { "NAME": {"dtype": "F32", "shape": [64, 3, 7, 7],
 *              "data_offsets": [BEGIN, END]}, ...,
 *     "__metadata__": {"key": "value", ...} }
 * then the raw little-endian data; offsets are relative to the first byte
 * after the header.
 *
 * Everything is validated before a byte of data is read: the header length
 * against the file size, the JSON (own small parser: syntax, escapes,
 * UTF-8, duplicate keys, nesting), the dtypes, the shapes, offsets in range,
 * data size = product(shape) * dtype size, tensors not overlapping and
 * covering the data with no hole (the format requires it).  Errors name
 * the file and the tensor; the functions return -1 with the message in
 * err and never longjmp, except ir_alloc running out of memory.
 */
#ifndef RESNETC_SAFETENSORS_H
#define RESNETC_SAFETENSORS_H
#include <stdint.h>
#include <stdio.h>
#include "ir.h"

typedef struct StTensor {
  const char *name;
  const char *dtype_name;   /* as written in the file: "F32", "BF16", ... */
  DType dtype;              /* DT_UNDEFINED for the float8 types */
  int elem_size;            /* bytes per element */
  int rank;
  int64_t dims[IR_MAX_RANK];
  uint64_t begin, end;      /* byte range in the data section */
} StTensor;

typedef struct StFile {
  const char *path;
  FILE *f;                  /* open between st_open and st_close */
  uint64_t data_start;      /* 8 + header length */
  uint64_t data_size;
  int n;
  StTensor *t;              /* in file order */
} StFile;

/* Opens PATH and validates its header (allocating in g).  Returns 0, or -1
 * with "PATH: ..." in err (the file is then closed). */
int st_open(Graph *g, const char *path, StFile *st, char *err, size_t errlen);

/* Validates a header already in memory (json, len bytes) for a data section
 * of data_size bytes; fills st->n and st->t.  name prefixes the messages. */
int st_parse_header(Graph *g, const char *name, const char *json, size_t len,
                    uint64_t data_size, StFile *st, char *err, size_t errlen);

/* The tensor called name, NULL if absent. */
const StTensor *st_find(const StFile *st, const char *name);

/* Reads tensor t converted to float32 into dst (numel floats): F32, F16,
 * BF16 and F64 are read.  Returns 0, or -1 with a message. */
int st_read_f32(StFile *st, const StTensor *t, float *dst, char *err, size_t errlen);

void st_close(StFile *st);

/* float16 / bfloat16 bits to float (shared with the weight readers) */
float st_half_to_float(uint16_t h);
float st_bf16_to_float(uint16_t h);
#endif
