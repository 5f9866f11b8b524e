/*
 * onnxcases.h - the ONNX backend test cases of ../shared/onnx-tests, as the
 * tests that run them (test_onnx, test_eval_onnx_node, test_onnx_node_c,
 * test_pass_onnx_cases) see them.
 *
 * MANIFEST.tsv (onnx-tests/README.md) lists every case, one line each: name
 * (node/test_add, light/light_resnet50), op types in order of first use,
 * opset, runtime inputs, outputs.  oc_open reads it into cases sorted by
 * name; the manifest is the reference for which ops a case needs.  A
 * node/ or pytorch-* case is a folder: model.onnx and
 * test_data_set_0/{input,output}_N.pb.  A light/ model-zoo network is
 * NAME.onnx and NAME_output_0.pb, its input x[k] = k / n (the README).
 *
 * resnetc compiles static shapes, so where a case feeds a shape-deciding
 * input (Reshape's shape, Slice's starts...) as a graph input, the tests
 * freeze it: it becomes a constant holding the test's values before
 * folding, as a user would pass it (oc_bind_inputs).
 *
 * Also here: oc_load, a model file through onnx_load, folding and the
 * passes, for the tests of whole models.
 */
#ifndef RESNETC_ONNXCASES_H
#define RESNETC_ONNXCASES_H
#include "ir.h"

typedef struct OnnxCase {
  const char *name;     /* node/test_add, light/light_squeezenet */
  const char *root;     /* the onnx-tests folder */
  const char **op;      /* op types, as MANIFEST.tsv lists them */
  int nops;
  int opset, ninputs, noutputs;
  int light;            /* a light/ network: no input files */
} OnnxCase;

typedef struct OnnxCases {
  OnnxCase *c;          /* sorted by name */
  int n;
  char *text;           /* the manifest, which the strings point into */
  char root[4096];
} OnnxCases;

/* The cases of MANIFEST.tsv; NULL when ../shared/onnx-tests is absent (the
 * caller then rn_skip()s).  An unreadable manifest is a fatal CUnit
 * failure, so call it from a test function. */
OnnxCases *oc_open(void);
void oc_close(OnnxCases *cs);

/* The first op of the case that is not in ops.def (Constant aside: the
 * front end folds it), NULL when resnetc supports them all. */
const char *oc_unsupported_op(const OnnxCase *c);

/* Paths of the case's files, written into buf: the model, and input or
 * output I of test_data_set_0 (what: "input" or "output").  A light/
 * network has no input file: NULL. */
const char *oc_model_path(const OnnxCase *c, char *buf, size_t n);
const char *oc_data_path(const OnnxCase *c, const char *what, int i, char *buf, size_t n);

/* 1 when input SLOT of node N decides output shapes (Reshape's shape,
 * Slice's starts, Pad's pads...); 1 when some node of g reads t so. */
int oc_is_shape_param(const Node *n, int slot);
int oc_freezes(const Graph *g, const Tensor *t);

/* Binds the inputs of g (loaded from c) to the case's values, read into
 * INTO (g itself, or a graph kept for the reference): the shape-deciding
 * ones become constants of g holding their values; the others stay graph
 * inputs, moved to the front of g->inputs, their values into run[] (room
 * for g->ninputs).  Returns how many stay; *nfrozen counts the others.
 * ir_fail when a value's dtype or size does not match its input. */
int oc_bind_inputs(Graph *g, Graph *into, const OnnxCase *c, Tensor **run, int *nfrozen);

/* An ONNX model through the pipeline: onnx_load (batch 1),
 * shape_infer_and_fold, then passes_run at -O opt_level (< 0: no passes);
 * NULL when a stage refuses it (its message printed unless ir_quiet). */
Graph *oc_load(const char *path, int opt_level);

#endif
