/* front_resnet.h - the .resnet language front end: source -> IR. */
#ifndef RESNETC_FRONT_RESNET_H
#define RESNETC_FRONT_RESNET_H
#include <stddef.h>
#include "ir.h"

typedef struct ResnetOptions {
  const char *weights;      /* --weights FILE (.safetensors or .onnx), NULL: from the file */
  int random_weights;       /* --random-weights SEED given */
  unsigned long long seed;
  int64_t batch;            /* the batch dimension (0: 1) */
  int shapes_only;          /* no weights: zeros (for --summary) */
  int64_t max_weight_bytes; /* refuse bigger networks (0: 2 GiB) */
} ResnetOptions;

/* Parses a .resnet file into a new graph with weights bound.  On bad input
 * prints "file:line:col: error: ..." with the source line and a caret
 * (several errors where recovery allows) and returns NULL. */
Graph *resnet_load(const char *path, const ResnetOptions *o);
Graph *resnet_load_buffer(const char *src, size_t len, const char *name, const ResnetOptions *o);
#endif
