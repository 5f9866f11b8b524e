/*
 * ir.h - the intermediate representation of resnetc.
 *
 * A Graph is a list of Nodes in execution order and the Tensors they read
 * and write.  Read this file top to bottom and you know the IR:
 *
 *   Tensor  a value: element type, static shape, layout, and where it lives
 *           (graph input, graph output, constant data, or the arena).
 *           Constants carry their data, row-major, little-endian.
 *   Node    one operation: op (from ops.def), inputs, outputs, Attrs.
 *   Graph   owns every node, tensor and byte the compiler allocates, in one
 *           arena: ir_graph_free() releases everything, also after an error.
 *
 * Errors: front ends and passes report bad input with ir_fail(), which
 * prints one line and longjmps to the innermost IR_TRY; the graph and its
 * arena are then freed by the caller.  Internal invariants use ir_die(),
 * which aborts with file:line (a bug in resnetc, never the user's fault).
 *
 * Conventions (the verifier checks them between passes):
 *   - nodes[] is topologically sorted: a node reads only graph inputs,
 *     constants and outputs of earlier nodes;
 *   - every tensor has at most one producer; Tensor.producer and the
 *     consumer lists are rebuilt by ir_relink() after a pass edits the graph;
 *   - shapes are static once shape inference ran (rank >= 0, dims >= 0).
 */
#ifndef RESNETC_IR_H
#define RESNETC_IR_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IR_MAX_RANK 8   /* the largest rank resnetc accepts */
#define IR_MAX_SP   3   /* spatial dimensions of conv and pools: 1-D to 3-D */

/* Element types, numbered as ONNX's TensorProto.DataType. */
typedef enum DType {
  DT_UNDEFINED = 0, DT_FLOAT = 1, DT_UINT8 = 2, DT_INT8 = 3, DT_UINT16 = 4,
  DT_INT16 = 5, DT_INT32 = 6, DT_INT64 = 7, DT_STRING = 8, DT_BOOL = 9,
  DT_FLOAT16 = 10, DT_DOUBLE = 11, DT_UINT32 = 12, DT_UINT64 = 13,
  DT_BFLOAT16 = 16
} DType;

size_t dtype_size(DType t);          /* bytes per element, 0 if unsupported */
const char *dtype_name(DType t);     /* "float32", "int64", ... */
const char *dtype_ctype(DType t);    /* "float", "int64_t", "uint16_t" (f16) */
int dtype_is_float(DType t);         /* float16/32/64, bfloat16 */

/* The ops, expanded from ops.def. */
enum { OPF_ELEMENTWISE = 1, OPF_BROADCAST = 2, OPF_ACTIVATION = 4,
       OPF_FOLDS_BN = 8, OPF_EPILOGUE = 16, OPF_VIEW = 32 };
typedef enum Op {
#define OP(e, onnx, imin, imax, omin, omax, flags) OP_##e,
#include "ops.def"
#undef OP
  OP_COUNT
} Op;

typedef struct OpInfo {
  const char *name;       /* ONNX op_type */
  int in_min, in_max;     /* in_max -1: variadic */
  int out_min, out_max;
  unsigned flags;
} OpInfo;
extern const OpInfo op_info[OP_COUNT];
int op_from_onnx(const char *op_type);   /* -1 when unknown */

/* Memory layouts.  PLAIN is row-major in the tensor's own dims (NCHW for
 * images).  Blocked layouts belong to the fast-kernel stage. */
typedef enum Layout { LAYOUT_PLAIN = 0, LAYOUT_NCHWC } Layout;

typedef enum TensorKind {
  TK_ACT = 0,     /* an intermediate, lives in the arena */
  TK_INPUT,       /* a graph input, caller memory */
  TK_CONST,       /* constant data: weights, folded values */
} TensorKind;

typedef struct Node Node;

typedef struct Tensor {
  char *name;            /* unique in the graph */
  int id;                /* index in Graph.tensors */
  TensorKind kind;
  int is_output;         /* a graph output (may also be TK_ACT) */
  DType dtype;
  int rank;              /* -1: not known yet */
  int64_t dims[IR_MAX_RANK];
  Layout layout;
  int block;             /* channel block of LAYOUT_NCHWC, else 0 */
  void *data;            /* TK_CONST: numel*dtype_size bytes, row-major */
  Node *producer;        /* NULL for inputs and constants */
  Node **consumers;      /* rebuilt by ir_relink() */
  int nconsumers;
  /* memory plan (set by the planner, compiler/passes/plan.c):
   * offset: byte offset in the arena of a TK_ACT tensor that is not a graph
   *   output (outputs live in caller memory), -1 when not planned.
   * alias: non-NULL when this tensor has no storage of its own: it is the
   *   same bytes as alias (a Reshape/Flatten/Squeeze/Unsqueeze/Identity/
   *   Dropout view on PLAIN layout).  alias is the root, never an alias
   *   itself; it may be an arena tensor (then offset == alias->offset), a
   *   graph output or a graph input (offset -1: use its pointer; a view of
   *   an input is only read).  Two arena tensors may also share an offset
   *   without alias: an element-wise op or a fused residual computed in
   *   place over an operand that dies at that node. */
  int64_t offset;
  struct Tensor *alias;
} Tensor;

/* Activation applied in an op's epilogue (set by the fusion pass). */
typedef enum Act { ACT_NONE = 0, ACT_RELU, ACT_CLIP, ACT_LEAKYRELU } Act;
typedef enum AutoPad { AP_NOTSET = 0, AP_SAME_UPPER, AP_SAME_LOWER, AP_VALID } AutoPad;
typedef enum PadMode { PM_CONSTANT = 0, PM_REFLECT, PM_EDGE, PM_WRAP } PadMode;

/* Typed attributes.  One struct for all ops: each op reads the fields it
 * documents here; the front ends fill defaults, so a field is always valid
 * for the ops that use it. */
typedef struct Attrs {
  /* Conv, MaxPool, AveragePool.  nsp = number of spatial dims (rank-2),
   * set by shape inference, which also turns auto_pad into explicit pads
   * and fills kernel[] from the weight shape for Conv. */
  int nsp;
  int64_t kernel[IR_MAX_SP], stride[IR_MAX_SP], dilation[IR_MAX_SP];
  int64_t pad_begin[IR_MAX_SP], pad_end[IR_MAX_SP];
  AutoPad auto_pad;
  int64_t group;               /* Conv */
  int ceil_mode;               /* pools */
  int count_include_pad;       /* AveragePool */
  int storage_order;           /* MaxPool Indices output */

  double alpha, beta;          /* Gemm alpha/beta, LeakyRelu alpha,
                                  HardSigmoid alpha/beta */
  double epsilon;              /* BatchNormalization */
  int trans_a, trans_b;        /* Gemm */
  int64_t axis;                /* Concat, Gather, Flatten, Softmax, LogSoftmax */
  int softmax_2d;              /* Softmax/LogSoftmax of opset < 13: coerce
                                  to 2-D at axis */
  int64_t perm[IR_MAX_RANK];   /* Transpose; nperm = 0: reverse */
  int nperm;
  DType to;                    /* Cast */
  int64_t start, end;          /* Shape (end = INT64_MAX: to the last) */
  int allowzero;               /* Reshape */
  PadMode pad_mode;            /* Pad */
  Tensor *value;               /* ConstantOfShape: 1-element constant, or
                                  NULL for float 0 */

  /* Fused epilogue, set by passes, read by the emitter:
   *   y = act(conv(x) + bias + residual)
   * residual: Node.in[3] of Conv/Gemm (NULL: none).  It has the shape of
   * y, unless res_view is set (Conv only): then it is read in place as the
   * option-A shortcut of CIFAR ResNets (a strided subsample whose channels
   * are zero-padded), never materialised: for y[n][c][p...] (p spatial)
   *   residual = R[n][c - res_c0][res_start[i] + p[i]*res_step[i]...]
   *              when 0 <= c - res_c0 < R.dims[1], else 0,
   * where R = in[3]; the fusion pass guarantees the spatial indices are in
   * range (res_step >= 1, res_start >= 0). */
  Act act;                     /* also on BatchNormalization: y = act(bn(x)) */
  double act_lo, act_hi, act_alpha;  /* CLIP bounds, LEAKYRELU slope */
  int res_view;
  int64_t res_c0;
  int64_t res_start[IR_MAX_SP], res_step[IR_MAX_SP];
  /* Second, normalised output (Conv only; the route for a BatchNorm that
   * cannot fold into weights, e.g. on a residual sum in pre-activation
   * networks): when Node.nout == 2,
   *   out[1][n][c][...] = post_act(y[n][c][...] * in[4][c] + in[5][c])
   * with y = out[0] as above; in[4] (scale) and in[5] (shift) are float
   * constants of shape [C].  post_lo/hi/alpha as act_lo/hi/alpha. */
  Act post_act;
  double post_lo, post_hi, post_alpha;
} Attrs;

struct Node {
  Op op;
  char *name;            /* ONNX node name, or "file:line:col" for .resnet */
  int id;                /* index in Graph.nodes */
  int nin, nout;
  Tensor **in;           /* in[i] NULL: an optional input left out */
  Tensor **out;
  Attrs a;
  int dead;              /* marked for removal by ir_sweep() */
  /* Kernel scratch, placed by the memory planner like a tensor live at
   * this node's step only (Winograd transforms, a strided 1x1's subsample;
   * kernels.h kconv_choose_node decides): scratch_bytes at arena offset
   * scratch_offset; 0 bytes: none. */
  int64_t scratch_bytes, scratch_offset;
};

typedef struct ArenaChunk ArenaChunk;

typedef struct Graph {
  char *name;            /* model name */
  char *source;          /* the file it came from (for messages) */
  int opset;             /* ai.onnx opset of an ONNX model, 0 otherwise */
  Node **nodes; int nnodes, cap_nodes;
  Tensor **tensors; int ntensors, cap_tensors;
  Tensor **inputs; int ninputs;    /* runtime inputs, in order */
  Tensor **outputs; int noutputs;  /* graph outputs, in order */
  ArenaChunk *chunks;              /* every allocation of this graph */
  /* ir_relink's consumer lists live in one buffer, reused by every relink
   * (passes relink after each rewrite: arena allocations would grow with
   * the square of the graph); freed with the graph */
  Node **linkbuf; size_t linkcap;
  /* tensors by name (open addressing, malloc'ed; an entry whose tensor
   * left the graph or was renamed is skipped by ir_find_tensor) */
  Tensor **names; size_t namecap, nnames;
  int64_t batch;                   /* value for symbolic batch dims (1) */
  int winograd;                    /* --winograd: 0 auto, -1 off, 2, 4; read
                                      by kconv_choose_node for the planner
                                      and the emitter */
  int64_t arena_bytes;             /* set by the memory planner */
  const char *note;                /* NULL, or a line for the header comment
                                      of the generated files (.resnet random
                                      weights say so); no commas (m4) */
} Graph;

/* ---- memory: everything belongs to a graph ---------------------------- */
Graph *ir_graph_new(const char *name, const char *source);
void ir_graph_free(Graph *g);
void *ir_alloc(Graph *g, size_t n);          /* zeroed; fails cleanly */
void *ir_realloc(Graph *g, void *p, size_t old, size_t n);
char *ir_strdup(Graph *g, const char *s);
char *ir_strndup(Graph *g, const char *s, size_t n);
char *ir_fmt(Graph *g, const char *fmt, ...);
/* n zeroed bytes outside any graph's arena, released with free(): scratch
 * that must not grow the arena; out of memory ends the process. */
void *ir_scratch(size_t n);

/* ---- building --------------------------------------------------------- */
Tensor *ir_tensor(Graph *g, const char *name, DType t, int rank, const int64_t *dims);
Tensor *ir_find_tensor(Graph *g, const char *name);  /* NULL if absent */
void ir_rename_tensor(Graph *g, Tensor *t, const char *name);
/* A constant; data (numel*size bytes) is copied, or taken when own != 0
 * (it must then be ir_alloc'ed from g). */
Tensor *ir_const(Graph *g, const char *name, DType t, int rank, const int64_t *dims,
                 const void *data, int own);
Tensor *ir_const_i64(Graph *g, const char *name, int n, const int64_t *v); /* 1-D */
Tensor *ir_const_scalar_f32(Graph *g, const char *name, float v);           /* 0-D */
char *ir_unique_name(Graph *g, const char *base);  /* base, base_1, ... */
Node *ir_node(Graph *g, Op op, const char *name, int nin, Tensor *const *in,
              int nout, Tensor *const *out);
void ir_attrs_default(Op op, Attrs *a);   /* the ONNX defaults of op */
void ir_add_input(Graph *g, Tensor *t);
void ir_add_output(Graph *g, Tensor *t);

/* ---- queries ---------------------------------------------------------- */
int64_t ir_numel(const Tensor *t);            /* product of dims; -1 unknown */
int64_t ir_bytes(const Tensor *t);            /* in memory: a blocked layout's
                                                 channels padded to the block */
int ir_is_const(const Tensor *t);
/* A blocked (LAYOUT_NCHWC) tensor of batch 1 and one pixel ([1,C,1,1]):
 * its first numel elements are the plain row-major tensor, so a reader of
 * numel elements (the classifier's Gemm after the global pool) needs no
 * layout change. */
int ir_plain_prefix(const Tensor *t);
int ir_same_shape(const Tensor *a, const Tensor *b);
/* overflow-checked helpers: return -1 on overflow of INT64_MAX */
int64_t ir_mul_checked(int64_t a, int64_t b);
/* Reads element i of a constant of any numeric dtype as int64 / double. */
int64_t ir_get_i64(const Tensor *t, int64_t i);
double ir_get_f64(const Tensor *t, int64_t i);
char *ir_shape_str(const Tensor *t, char *buf, size_t n);  /* "[1,3,224,224]" */

/* ---- editing ---------------------------------------------------------- */
void ir_relink(Graph *g);          /* rebuild producer/consumers, ids */
void ir_sweep(Graph *g);           /* drop dead nodes and unused tensors */
void ir_replace_uses(Graph *g, Tensor *from, Tensor *to);  /* in node inputs
                                      and graph outputs */
int ir_toposort(Graph *g);         /* stable; ir_fail()s on a cycle */

/* ---- checking and printing ------------------------------------------- */
/* Checks the invariants above; returns 0, or prints what is broken to
 * stderr and returns -1 (used between passes). */
int ir_verify(Graph *g, const char *after);
void ir_print(Graph *g, FILE *f);

/* ---- errors ----------------------------------------------------------- */
/* The innermost handler.  Use as:
 *     IrTry t; if (ir_try_begin(&t)) { ...error path...; }
 *     else { work; ir_try_end(&t); }
 * (the jump of a failure pops the handler: no ir_try_end on that path)
 */
typedef struct IrTry {
  jmp_buf jb;
  struct IrTry *prev;
  char msg[1024];        /* the message of the failure */
} IrTry;
#define ir_try_begin(t) (ir_try_push(t), setjmp((t)->jb))
void ir_try_push(IrTry *t);
void ir_try_end(IrTry *t);
/* Prints "PREFIX: error: message" (PREFIX: ir_source, or file:line:col of a
 * .resnet node) to stderr unless ir_quiet, then longjmps.  ir_fail_node
 * names the node of an ONNX model: "FILE: error: node 'NAME' (Op): message". */
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 1, 2)))
#endif
void ir_fail(const char *fmt, ...);
#if defined(__GNUC__)
__attribute__((noreturn, format(printf, 2, 3)))
#endif
void ir_fail_node(const Node *n, const char *fmt, ...);  /* names node + op */
#if defined(__GNUC__)
__attribute__((format(printf, 1, 2)))
#endif
void ir_warn(const char *fmt, ...);
/* Re-raises the failure caught by t to the next handler, with the same
 * message and without printing it again: for code that must free memory
 * of its own (malloc) before an error goes on. */
#if defined(__GNUC__)
__attribute__((noreturn))
#endif
void ir_rethrow(const IrTry *t);
#if defined(__GNUC__)
__attribute__((noreturn))
#endif
void ir_die_at(const char *file, int line, const char *msg);
#define ir_die(msg) ir_die_at(__FILE__, __LINE__, (msg))
#define IR_ASSERT(c) ((c) ? (void)0 : ir_die_at(__FILE__, __LINE__, #c))

extern int ir_quiet;               /* 1: ir_fail prints nothing (fuzzing) */
extern int ir_no_warn;             /* 1: warnings and notes are not printed (-q) */
/* Called before ir_fail/ir_warn print (NULL: nothing): the progress line
 * (progress.c) erases itself there, so a message never follows it. */
extern void (*ir_before_message)(void);
extern const char *ir_source;      /* file name used as message prefix */
extern Graph *ir_current_graph;    /* for ir_fail_node's prefix */

#endif
