/* front_onnx.h - the ONNX front end: ModelProto (protobuf-c) -> IR. */
#ifndef RESNETC_FRONT_ONNX_H
#define RESNETC_FRONT_ONNX_H
#include <stddef.h>
#include "ir.h"

typedef struct OnnxOptions {
  int64_t batch;        /* value for a symbolic/dynamic batch dim (default 1) */
  int64_t max_bytes;    /* refuse a model whose constants exceed this (0: no limit) */
} OnnxOptions;

/* Reads an ONNX file into a new graph: initializers and Constant nodes
 * become TK_CONST tensors, graph inputs that are not initializers become
 * TK_INPUT, attributes are normalised to the IR's newest-opset form.
 * Returns NULL after printing one "FILE: error: ..." line on bad input. */
Graph *onnx_load(const char *path, const OnnxOptions *o);
Graph *onnx_load_buffer(const void *buf, size_t len, const char *name, const OnnxOptions *o);

/* Reads one serialized TensorProto (a test-data .pb file) as a constant of g.
 * ir_fail()s on bad input (call inside IR_TRY). */
Tensor *onnx_read_tensor_file(Graph *g, const char *path);
#endif
