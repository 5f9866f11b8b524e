/* front_onnx.h - the ONNX front end: ModelProto (protobuf-c) -> IR, and back. */
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
 * Accepts ai.onnx opsets 1..25 and IR versions up to 13.  Shapes of node
 * outputs are left to shape inference (rank -1; graph outputs carry the
 * dtype/shape declared in the model when it is static, as a hint).
 * Returns NULL after printing one "FILE: error: ..." line on bad input.
 * Sets ir_current_graph (the new graph, or NULL) and ir_source (a copy of
 * path / name, valid until the next load).
 * External data is read relative to the folder of path (of name for a
 * buffer). */
Graph *onnx_load(const char *path, const OnnxOptions *o);
Graph *onnx_load_buffer(const void *buf, size_t len, const char *name, const OnnxOptions *o);

/* Reads one serialized TensorProto (a test-data .pb file) as a constant of g
 * (named after the proto's name, made unique; "tensor" when empty).
 * ir_fail()s on bad input (call inside IR_TRY), naming path as the file
 * (ir_source stays so after an error; on success it is restored). */
Tensor *onnx_read_tensor_file(Graph *g, const char *path);

/* Writes g as an ONNX ModelProto: IR version 7, ai.onnx opset 13 (14 when
 * a node needs it: 8/16-bit integer arithmetic, integer Relu, allowzero),
 * initializers as raw_data, attributes in their opset-13 form; fused
 * epilogues (Attrs.act, the residual input and its option-A view, Conv's
 * second normalised output) and forms that opset 13 lacks (HardSwish,
 * coerced Softmax, Shape start/end, Pad axes) are written as equivalent
 * standard nodes.  Best called after shape inference (graph outputs then
 * carry their shapes, which onnx.checker requires).  The file is written
 * whole or not at all.  Returns 0, or -1 after printing one
 * "PATH: error: ..." line. */
int onnx_save(Graph *g, const char *path);
#endif
