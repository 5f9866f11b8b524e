/*
 * shape.c - shape inference: one rule per op of ops.def.
 *
 * shape_infer_node() gives every output of a node its dtype and static
 * shape, computed from the inputs' shapes (and, where ONNX makes a shape
 * depend on values - Reshape's shape, Slice's starts, Pad's pads,
 * ConstantOfShape, Squeeze/Unsqueeze axes - from constant inputs; such an
 * input computed at run time is an error, since resnetc compiles static
 * shapes only).  Along the way it normalises Attrs so later stages read one
 * form: auto_pad becomes explicit pad_begin/pad_end, nsp is set, Conv's
 * kernel[] is taken from the weight.
 *
 * Everything comes from untrusted files, so every rule validates before it
 * computes: counts and presence of inputs, dtypes, ranks, axis ranges,
 * channel counts against group, broadcast compatibility, and every product
 * or sum of dims through overflow-checked helpers.  Strides, kernels and
 * dilations below 1 are refused before anything divides by them.  Errors
 * go through ir_fail_node() with both sides of the mismatch spelled out,
 * e.g. "expects 64 input channels (weight [128,64,3,3], group 1), got 32".
 *
 * Adding an op: a rule_x() here and a k_x() in eval.c, each with its case
 * in the switch of shape_infer_node() / run_kernel().  Neither switch has a
 * default, so -Wswitch (part of -Wall, an error with -Werror) names any op
 * of ops.def left without one.
 */
#include "shape.h"

#include <inttypes.h>
#include <string.h>

#include "shape_int.h"

#define I64 PRId64

/* ---- small helpers ------------------------------------------------------ */

static Tensor *opt_in(const Node *n, int i) { return i < n->nin ? n->in[i] : NULL; }

/* Shapes for messages: a few rotating buffers, so one message can show
 * several shapes. */
static const char *dims_str(int rank, const int64_t *d) {
  static char buf[6][160];
  static int k;
  char *b = buf[k++ % 6];
  size_t o = 0;
  o += (size_t)snprintf(b, 160, "[");
  for (int i = 0; i < rank && o < 150; i++)
    o += (size_t)snprintf(b + o, 160 - o, "%s%" I64, i ? "," : "", d[i]);
  snprintf(b + o, 160 - o, "]");
  return b;
}
static const char *shp(const Tensor *t) { return dims_str(t->rank, t->dims); }

static int64_t add_ck(const Node *n, int64_t a, int64_t b, const char *what) {
  if ((b > 0 && a > INT64_MAX - b) || (b < 0 && a < INT64_MIN - b))
    ir_fail_node(n, "%s overflows 64 bits", what);
  return a + b;
}

static int64_t mul_ck(const Node *n, int64_t a, int64_t b, const char *what) {
  int64_t r = ir_mul_checked(a, b);
  if (r < 0) ir_fail_node(n, "%s overflows 64 bits (%" I64 " x %" I64 ")", what, a, b);
  return r;
}

static int64_t prod(const Node *n, const int64_t *d, int from, int to) {
  int64_t p = 1;
  for (int i = from; i < to; i++) p = mul_ck(n, p, d[i], "the number of elements");
  return p;
}

static int dtype_ok(DType t) { return t != DT_STRING && dtype_size(t) != 0; }
static int dtype_is_int(DType t) { return dtype_ok(t) && !dtype_is_float(t) && t != DT_BOOL; }
static int dtype_is_signed_int(DType t) {
  return t == DT_INT8 || t == DT_INT16 || t == DT_INT32 || t == DT_INT64;
}

static void need_float(const Node *n, const Tensor *t, const char *role) {
  if (!dtype_is_float(t->dtype))
    ir_fail_node(n, "%s '%s' has type %s; this op needs float16, bfloat16, float32 or float64",
                 role, t->name, dtype_name(t->dtype));
}

static void need_numeric(const Node *n, const Tensor *t, const char *role) {
  if (!dtype_is_float(t->dtype) && !dtype_is_int(t->dtype))
    ir_fail_node(n, "%s '%s' has type %s; this op needs a number type", role, t->name,
                 dtype_name(t->dtype));
}

static void need_same_dtype(const Node *n, const Tensor *a, const Tensor *b) {
  if (a->dtype != b->dtype)
    ir_fail_node(n, "input '%s' is %s but input '%s' is %s; they must have the same type",
                 a->name, dtype_name(a->dtype), b->name, dtype_name(b->dtype));
}

static void need_const(const Node *n, const Tensor *t, const char *what) {
  if (!ir_is_const(t))
    ir_fail_node(n, "%s '%s' must be a constant: it is computed at run time, and resnetc "
                 "compiles static shapes only", what, t->name);
}

static int norm_axis(const Node *n, int64_t axis, int rank, const char *what) {
  if (axis < -(int64_t)rank || axis >= rank)
    ir_fail_node(n, "%s %" I64 " is out of range for rank %d (allowed %d..%d)", what, axis,
                 rank, -rank, rank - 1);
  return (int)(axis < 0 ? axis + rank : axis);
}

/* Sets output i (skipped when left out).  Checks the rank and that the
 * byte size fits in 64 bits. */
static void set_out(const Node *n, int i, DType dt, int rank, const int64_t *dims) {
  if (i >= n->nout || !n->out[i]) return;
  Tensor *t = n->out[i];
  if (rank > IR_MAX_RANK)
    ir_fail_node(n, "output '%s' would have rank %d, more than the %d supported", t->name,
                 rank, IR_MAX_RANK);
  int64_t e = (int64_t)dtype_size(dt);
  for (int k = 0; k < rank; k++) {
    if (dims[k] < 0)
      ir_fail_node(n, "output '%s' would have a negative dimension %s", t->name,
                   dims_str(rank, dims));
    e = ir_mul_checked(e, dims[k]);
    if (e < 0)
      ir_fail_node(n, "output '%s' of shape %s is too large (its size overflows 64 bits)",
                   t->name, dims_str(rank, dims));
  }
  /* a graph output may carry the shape the model declares: a different
   * one means the model (or a rule here) is wrong, worth a word */
  if (t->is_output && t->rank >= 0 && t->dtype != DT_UNDEFINED &&
      (t->dtype != dt || t->rank != rank ||
       (rank && memcmp(t->dims, dims, sizeof(int64_t) * (size_t)rank)))) {
    char had[160];
    snprintf(had, sizeof had, "%s", shp(t));
    ir_warn("output '%s' is declared as %s%s but computes %s%s", t->name,
            dtype_name(t->dtype), had, dtype_name(dt), dims_str(rank, dims));
  }
  t->dtype = dt;
  t->rank = rank;
  for (int k = 0; k < rank; k++) t->dims[k] = dims[k];
  for (int k = rank; k < IR_MAX_RANK; k++) t->dims[k] = 0;
}

static void set_out_like(const Node *n, int i, const Tensor *x) {
  set_out(n, i, x->dtype, x->rank, x->dims);
}

/* ---- shared with eval.c ------------------------------------------------- */

int shape_const_ints(const Node *n, const Tensor *t, const char *what, int64_t *v, int max) {
  if (t->dtype != DT_INT64 && t->dtype != DT_INT32)
    ir_fail_node(n, "%s '%s' must be int64 or int32, not %s", what, t->name,
                 dtype_name(t->dtype));
  if (t->rank > 1)
    ir_fail_node(n, "%s '%s' must be 1-D, not of shape %s", what, t->name, shp(t));
  int64_t cnt = ir_numel(t);
  if (cnt < 0 || cnt > max)
    ir_fail_node(n, "%s '%s' has %" I64 " values, more than the %d allowed here", what,
                 t->name, cnt, max);
  if (cnt > 0 && !t->data) ir_fail_node(n, "%s '%s' has no data", what, t->name);
  for (int64_t i = 0; i < cnt; i++) v[i] = ir_get_i64(t, i);
  return (int)cnt;
}

int shape_broadcast(int ra, const int64_t *da, int rb, const int64_t *db, int64_t *out) {
  int r = ra > rb ? ra : rb;
  for (int i = 0; i < r; i++) {
    int ia = i - (r - ra), ib = i - (r - rb);
    int64_t a = ia >= 0 ? da[ia] : 1, b = ib >= 0 ? db[ib] : 1;
    if (a == b || b == 1) out[i] = a;
    else if (a == 1) out[i] = b;
    else return -1;
  }
  return r;
}

int64_t shape_window_out(int64_t in, int64_t k, int64_t s, int64_t d, int64_t pb,
                         int64_t pe, int ceil_mode) {
  /* callers checked k, s, d >= 1 and that nothing overflows */
  int64_t keff = (k - 1) * d + 1;
  int64_t span = in + pb + pe - keff;       /* >= 0 */
  int64_t out = span / s + 1;
  if (ceil_mode && span % s) {
    out++;
    /* the last window must start inside the input or the leading pad
     * (PyTorch's and ONNX's rule), else it is dropped */
    if ((out - 1) * s >= in + pb) out--;
  }
  return out;
}

void shape_slice_params(const Node *n, Tensor *const *in, int64_t *start, int64_t *step,
                        int64_t *len) {
  const Tensor *x = in[0];
  int r = x->rank;
  int64_t st[IR_MAX_RANK], en[IR_MAX_RANK], ax[IR_MAX_RANK], sp[IR_MAX_RANK];
  int ns = shape_const_ints(n, in[1], "Slice starts", st, IR_MAX_RANK);
  int ne = shape_const_ints(n, in[2], "Slice ends", en, IR_MAX_RANK);
  if (ns != ne)
    ir_fail_node(n, "Slice has %d starts but %d ends", ns, ne);
  Tensor *axes = n->nin > 3 ? in[3] : NULL, *steps = n->nin > 4 ? in[4] : NULL;
  if (axes) {
    if (shape_const_ints(n, axes, "Slice axes", ax, IR_MAX_RANK) != ns)
      ir_fail_node(n, "Slice has %d starts but %" I64 " axes", ns, ir_numel(axes));
  } else {
    if (ns > r) ir_fail_node(n, "Slice has %d starts for an input of rank %d", ns, r);
    for (int i = 0; i < ns; i++) ax[i] = i;
  }
  if (steps) {
    if (shape_const_ints(n, steps, "Slice steps", sp, IR_MAX_RANK) != ns)
      ir_fail_node(n, "Slice has %d starts but %" I64 " steps", ns, ir_numel(steps));
  } else {
    for (int i = 0; i < ns; i++) sp[i] = 1;
  }
  int seen[IR_MAX_RANK] = {0};
  for (int d = 0; d < r; d++) { start[d] = 0; step[d] = 1; len[d] = x->dims[d]; }
  for (int i = 0; i < ns; i++) {
    int a = norm_axis(n, ax[i], r, "Slice axis");
    if (seen[a]) ir_fail_node(n, "Slice axis %d appears twice", a);
    seen[a] = 1;
    int64_t dim = x->dims[a], s = sp[i], b = st[i], e = en[i];
    if (s == 0) ir_fail_node(n, "Slice step on axis %d is 0", a);
    if (s == INT64_MIN) s = -INT64_MAX;     /* only the sign and magnitude matter */
    /* ONNX: negative indices count from the end, then clamp: [0,dim] for
     * positive steps, [0,dim-1] (starts) and [-1,dim-1] (ends) for negative
     * ones (the spec's rule, as ONNX Runtime; numpy would make a start
     * below -dim an empty slice) */
    if (b < 0) b = b < -dim ? -1 : b + dim;
    if (e < 0) e = e < -dim ? -1 : e + dim;
    int64_t cnt;
    if (s > 0) {
      if (b < 0) b = 0;
      if (b > dim) b = dim;
      if (e < 0) e = 0;
      if (e > dim) e = dim;
      cnt = e > b ? (e - b - 1) / s + 1 : 0;
    } else {
      if (b < 0) b = 0;
      if (b > dim - 1) b = dim - 1;
      if (e < -1) e = -1;
      if (e > dim - 1) e = dim - 1;
      cnt = b > e ? (b - e - 1) / (-s) + 1 : 0;
    }
    if (cnt == 0) b = 0;
    /* a step taken at most once is never applied: 1, so that kernels may
     * multiply it by a stride (a step of 2^61 over one element would
     * overflow there) */
    if (cnt <= 1) s = 1;
    start[a] = b;
    step[a] = s;
    len[a] = cnt;
  }
}

void shape_pad_params(const Node *n, Tensor *const *in, int64_t *pb, int64_t *pe) {
  const Tensor *x = in[0];
  int r = x->rank;
  Tensor *pads = n->nin > 1 ? in[1] : NULL, *axes = n->nin > 3 ? in[3] : NULL;
  for (int d = 0; d < r; d++) pb[d] = pe[d] = 0;
  if (!pads) return;
  int64_t p[2 * IR_MAX_RANK], ax[IR_MAX_RANK];
  int np = shape_const_ints(n, pads, "Pad pads", p, 2 * IR_MAX_RANK);
  int na;
  if (axes) {
    na = shape_const_ints(n, axes, "Pad axes", ax, IR_MAX_RANK);
  } else {
    na = r;
    for (int i = 0; i < r; i++) ax[i] = i;
  }
  if (np != 2 * na)
    ir_fail_node(n, "Pad has %d pads for %d axes (needs 2 per axis: all begins, then all ends)",
                 np, na);
  int seen[IR_MAX_RANK] = {0};
  for (int i = 0; i < na; i++) {
    int a = norm_axis(n, ax[i], r, "Pad axis");
    if (seen[a]) ir_fail_node(n, "Pad axis %d appears twice", a);
    seen[a] = 1;
    pb[a] = p[i];
    pe[a] = p[i + na];
  }
}

/* ---- per-op rules ------------------------------------------------------- */

/* Conv and pools: nsp, explicit pads, output spatial sizes into od[]. */
static void window_rule(Node *n, const Tensor *x, int64_t *od) {
  Attrs *a = &n->a;
  int nsp = x->rank - 2;
  if (nsp < 1 || nsp > IR_MAX_SP)
    ir_fail_node(n, "input '%s' has shape %s: expected [N,C,...] with 1 to %d spatial "
                 "dimensions", x->name, shp(x), IR_MAX_SP);
  if (a->nsp && a->nsp != nsp)
    ir_fail_node(n, "the attributes describe %d spatial dimensions but input '%s' %s has %d",
                 a->nsp, x->name, shp(x), nsp);
  for (int i = 0; i < nsp; i++) {
    int64_t k = a->kernel[i], s = a->stride[i], d = a->dilation[i];
    if (k < 1) ir_fail_node(n, "kernel size %" I64 " in spatial dimension %d (must be >= 1)", k, i);
    if (s < 1) ir_fail_node(n, "stride %" I64 " in spatial dimension %d (must be >= 1)", s, i);
    if (d < 1) ir_fail_node(n, "dilation %" I64 " in spatial dimension %d (must be >= 1)", d, i);
    int64_t keff = add_ck(n, mul_ck(n, k - 1, d, "the dilated kernel"), 1, "the dilated kernel");
    int64_t in = x->dims[2 + i];
    if (a->auto_pad == AP_SAME_UPPER || a->auto_pad == AP_SAME_LOWER) {
      int64_t out = in / s + (in % s != 0);
      int64_t need = out > 0 ? add_ck(n, mul_ck(n, out - 1, s, "the padding"), keff, "the padding") - in : 0;
      if (need < 0) need = 0;
      int64_t small = need / 2, big = need - small;
      a->pad_begin[i] = a->auto_pad == AP_SAME_UPPER ? small : big;
      a->pad_end[i] = a->auto_pad == AP_SAME_UPPER ? big : small;
    } else if (a->auto_pad == AP_VALID) {
      a->pad_begin[i] = a->pad_end[i] = 0;
    }
    int64_t pb = a->pad_begin[i], pe = a->pad_end[i];
    if (pb < 0 || pe < 0)
      ir_fail_node(n, "negative padding %" I64 ",%" I64 " in spatial dimension %d", pb, pe, i);
    int64_t padded = add_ck(n, add_ck(n, in, pb, "the padded input"), pe, "the padded input");
    if (padded < keff)
      ir_fail_node(n, "the window (kernel %" I64 ", dilation %" I64 ") spans %" I64
                   " elements, larger than spatial dimension %d of input '%s' %s with its "
                   "padding (%" I64 ")", k, d, keff, i, x->name, shp(x), padded);
    int cm = n->op == OP_CONV ? 0 : a->ceil_mode;
    od[i] = shape_window_out(in, k, s, d, pb, pe, cm);
  }
  for (int i = nsp; i < IR_MAX_SP; i++) {
    a->kernel[i] = 0;
    a->pad_begin[i] = a->pad_end[i] = 0;
    a->stride[i] = a->dilation[i] = 1;
  }
  a->nsp = nsp;
  a->auto_pad = AP_NOTSET;
}

static void rule_conv(Node *n) {
  Tensor *x = n->in[0], *w = n->in[1], *b = opt_in(n, 2), *res = opt_in(n, 3);
  Attrs *a = &n->a;
  need_float(n, x, "input");
  need_same_dtype(n, x, w);
  if (x->rank < 3 || x->rank > 2 + IR_MAX_SP)
    ir_fail_node(n, "input '%s' has shape %s: expected [N,C,...] with 1 to %d spatial "
                 "dimensions", x->name, shp(x), IR_MAX_SP);
  if (w->rank != x->rank)
    ir_fail_node(n, "weight '%s' %s has rank %d but input '%s' %s has rank %d", w->name,
                 shp(w), w->rank, x->name, shp(x), x->rank);
  int nsp = x->rank - 2;
  if (a->group < 1) ir_fail_node(n, "group is %" I64 " (must be >= 1)", a->group);
  int64_t c = x->dims[1], m = w->dims[0];
  int64_t cin = mul_ck(n, w->dims[1], a->group, "the input channels");
  if (cin != c)
    ir_fail_node(n, "expects %" I64 " input channels (weight %s, group %" I64 "), got %" I64
                 " (input '%s' %s)", cin, shp(w), a->group, c, x->name, shp(x));
  if (m % a->group)
    ir_fail_node(n, "weight %s has %" I64 " output channels, not a multiple of group %" I64,
                 shp(w), m, a->group);
  for (int i = 0; i < nsp; i++) {
    if (a->kernel[i] && a->kernel[i] != w->dims[2 + i])
      ir_fail_node(n, "kernel_shape %s does not match the weight '%s' %s",
                   dims_str(nsp, a->kernel), w->name, shp(w));
    a->kernel[i] = w->dims[2 + i];
  }
  if (b) {
    need_same_dtype(n, x, b);
    if (b->rank != 1 || b->dims[0] != m)
      ir_fail_node(n, "bias '%s' has shape %s; expected [%" I64 "] (one per output channel)",
                   b->name, shp(b), m);
  }
  int64_t od[IR_MAX_RANK];
  od[0] = x->dims[0];
  od[1] = m;
  window_rule(n, x, od + 2);
  if (res) {
    need_same_dtype(n, x, res);
    if (!a->res_view) {
      if (res->rank != x->rank || memcmp(res->dims, od, sizeof(int64_t) * (size_t)x->rank))
        ir_fail_node(n, "residual '%s' %s does not match the output shape %s", res->name,
                     shp(res), dims_str(x->rank, od));
    } else {
      /* the option-A view (ir.h): every strided index must be inside R */
      if (res->rank != x->rank || res->dims[0] != od[0])
        ir_fail_node(n, "residual view of '%s' %s does not fit the output shape %s",
                     res->name, shp(res), dims_str(x->rank, od));
      for (int i = 0; i < nsp; i++) {
        int64_t st = a->res_start[i], sp = a->res_step[i], o = od[2 + i];
        int64_t last = o ? add_ck(n, st, mul_ck(n, o - 1, sp, "the residual view"), "the residual view") : 0;
        if (st < 0 || sp < 1 || (o && last >= res->dims[2 + i]))
          ir_fail_node(n, "residual view of '%s' %s (start %" I64 ", step %" I64 ") leaves "
                       "spatial dimension %d for output %s", res->name, shp(res), st, sp, i,
                       dims_str(x->rank, od));
      }
    }
  } else if (a->res_view) {
    ir_fail_node(n, "a residual view without a residual input");
  }
  set_out(n, 0, x->dtype, x->rank, od);
  /* the second, normalised output (Attrs.post_act): scale in[4], shift in[5] */
  Tensor *sc = opt_in(n, 4), *sh = opt_in(n, 5);
  if (n->nout > 1 && n->out[1]) {
    if (!sc || !sh) ir_fail_node(n, "a second output needs a scale and a shift (in[4], in[5])");
    set_out(n, 1, x->dtype, x->rank, od);
  }
  for (int i = 0; i < 2; i++) {
    Tensor *p = i ? sh : sc;
    if (!p) continue;
    need_float(n, p, i ? "shift" : "scale");
    if (p->rank != 1 || p->dims[0] != m)
      ir_fail_node(n, "%s '%s' has shape %s; expected [%" I64 "]", i ? "shift" : "scale",
                   p->name, shp(p), m);
  }
}

static void rule_pool(Node *n) {
  Tensor *x = n->in[0];
  if (n->op == OP_MAXPOOL) {
    if (!dtype_is_float(x->dtype) && x->dtype != DT_INT8 && x->dtype != DT_UINT8)
      ir_fail_node(n, "input '%s' has type %s; MaxPool takes float, int8 or uint8", x->name,
                   dtype_name(x->dtype));
  } else {
    need_float(n, x, "input");
  }
  if (n->op == OP_MAXPOOL && n->a.storage_order != 0 && n->a.storage_order != 1)
    ir_fail_node(n, "storage_order is %d (must be 0 or 1)", n->a.storage_order);
  int64_t od[IR_MAX_RANK];
  if (x->rank >= 2) { od[0] = x->dims[0]; od[1] = x->dims[1]; }
  window_rule(n, x, od + 2);
  set_out(n, 0, x->dtype, x->rank, od);
  set_out(n, 1, DT_INT64, x->rank, od);
}

static void rule_global_pool(Node *n) {
  Tensor *x = n->in[0];
  need_float(n, x, "input");
  if (x->rank < 2)
    ir_fail_node(n, "input '%s' has shape %s: expected [N,C,...]", x->name, shp(x));
  int64_t od[IR_MAX_RANK];
  for (int i = 0; i < x->rank; i++) od[i] = i < 2 ? x->dims[i] : 1;
  set_out(n, 0, x->dtype, x->rank, od);
}

static void rule_batchnorm(Node *n) {
  Tensor *x = n->in[0];
  need_float(n, x, "input");
  if (x->rank < 2)
    ir_fail_node(n, "input '%s' has shape %s: expected [N,C,...]", x->name, shp(x));
  static const char *role[5] = {"", "scale", "bias", "mean", "var"};
  for (int i = 1; i < 5; i++) {
    Tensor *p = n->in[i];
    need_float(n, p, role[i]);
    if (p->rank != 1 || p->dims[0] != x->dims[1])
      ir_fail_node(n, "%s '%s' has shape %s; expected [%" I64 "] for input '%s' %s", role[i],
                   p->name, shp(p), x->dims[1], x->name, shp(x));
  }
  set_out_like(n, 0, x);
}

static void rule_unary(Node *n) {
  Tensor *x = n->in[0];
  if (n->op == OP_RELU) {
    if (!dtype_is_float(x->dtype) && !dtype_is_signed_int(x->dtype))
      ir_fail_node(n, "input '%s' has type %s; Relu takes float or signed integer types",
                   x->name, dtype_name(x->dtype));
  } else {
    need_float(n, x, "input");
  }
  set_out_like(n, 0, x);
}

static void rule_clip(Node *n) {
  Tensor *x = n->in[0];
  need_numeric(n, x, "input");
  for (int i = 1; i < 3; i++) {
    Tensor *b = opt_in(n, i);
    if (!b) continue;
    need_same_dtype(n, x, b);
    if (ir_numel(b) != 1)
      ir_fail_node(n, "Clip %s '%s' has shape %s; expected a scalar", i == 1 ? "min" : "max",
                   b->name, shp(b));
  }
  set_out_like(n, 0, x);
}

static void rule_binary(Node *n) {
  Tensor *x = n->in[0];
  int64_t od[IR_MAX_RANK];
  int r = x->rank;
  memcpy(od, x->dims, sizeof od);
  need_numeric(n, x, "input");
  for (int i = 1; i < n->nin; i++) {
    Tensor *y = n->in[i];
    if (!y) ir_fail_node(n, "input %d is missing", i);
    need_same_dtype(n, x, y);
    int64_t t[IR_MAX_RANK];
    char before[160];
    snprintf(before, sizeof before, "%s", dims_str(r, od));
    r = shape_broadcast(r, od, y->rank, y->dims, t);
    if (r < 0)
      ir_fail_node(n, "cannot broadcast %s with input '%s' %s", before, y->name, shp(y));
    memcpy(od, t, sizeof od);
  }
  set_out(n, 0, x->dtype, r, od);
}

static void rule_gemm(Node *n) {
  Tensor *A = n->in[0], *B = n->in[1], *C = opt_in(n, 2), *res = opt_in(n, 3);
  need_float(n, A, "input");
  need_same_dtype(n, A, B);
  /* an A of rank > 2 with transA = 0 is read as [dims[0], rest] (a fused
   * Flatten, see ops.def) */
  int flatA = A->rank > 2 && !n->a.trans_a;
  if ((A->rank != 2 && !flatA) || B->rank != 2)
    ir_fail_node(n, "inputs '%s' %s and '%s' %s must both be 2-D", A->name, shp(A), B->name,
                 shp(B));
  int64_t M = n->a.trans_a ? A->dims[1] : A->dims[0];
  int64_t K = n->a.trans_a ? A->dims[0] : flatA ? prod(n, A->dims, 1, A->rank) : A->dims[1];
  int64_t K2 = n->a.trans_b ? B->dims[1] : B->dims[0];
  int64_t N = n->a.trans_b ? B->dims[0] : B->dims[1];
  if (K != K2)
    ir_fail_node(n, "A '%s' %s (transA %d) has K=%" I64 " but B '%s' %s (transB %d) has K=%" I64,
                 A->name, shp(A), n->a.trans_a, K, B->name, shp(B), n->a.trans_b, K2);
  int64_t od[2] = {M, N};
  if (C) {
    need_same_dtype(n, A, C);
    int ok = C->rank <= 2;
    for (int i = 0; ok && i < C->rank; i++) {
      int64_t want = od[2 - C->rank + i];
      ok = C->dims[i] == want || C->dims[i] == 1;
    }
    if (!ok)
      ir_fail_node(n, "C '%s' %s does not broadcast to the output [%" I64 ",%" I64 "]",
                   C->name, shp(C), M, N);
  }
  if (res) {
    need_same_dtype(n, A, res);
    if (res->rank != 2 || res->dims[0] != M || res->dims[1] != N)
      ir_fail_node(n, "residual '%s' %s does not match the output [%" I64 ",%" I64 "]",
                   res->name, shp(res), M, N);
  }
  set_out(n, 0, A->dtype, 2, od);
}

static void rule_matmul(Node *n) {
  Tensor *A = n->in[0], *B = n->in[1];
  if (!dtype_is_float(A->dtype) && A->dtype != DT_INT32 && A->dtype != DT_INT64 &&
      A->dtype != DT_UINT32 && A->dtype != DT_UINT64)
    ir_fail_node(n, "input '%s' has type %s; MatMul takes float, int32, int64, uint32 or uint64",
                 A->name, dtype_name(A->dtype));
  need_same_dtype(n, A, B);
  if (A->rank < 1 || B->rank < 1)
    ir_fail_node(n, "MatMul inputs must have rank >= 1 ('%s' %s, '%s' %s)", A->name, shp(A),
                 B->name, shp(B));
  int64_t K = A->dims[A->rank - 1];
  int64_t K2 = B->rank == 1 ? B->dims[0] : B->dims[B->rank - 2];
  if (K != K2)
    ir_fail_node(n, "'%s' %s has %" I64 " columns but '%s' %s has %" I64 " rows", A->name,
                 shp(A), K, B->name, shp(B), K2);
  int ba = A->rank > 2 ? A->rank - 2 : 0, bb = B->rank > 2 ? B->rank - 2 : 0;
  int64_t od[IR_MAX_RANK + 2];
  int r = shape_broadcast(ba, A->dims, bb, B->dims, od);
  if (r < 0)
    ir_fail_node(n, "the batch dimensions of '%s' %s and '%s' %s do not broadcast", A->name,
                 shp(A), B->name, shp(B));
  if (A->rank >= 2) od[r++] = A->dims[A->rank - 2];
  if (B->rank >= 2) od[r++] = B->dims[B->rank - 1];
  set_out(n, 0, A->dtype, r, od);
}

static void rule_flatten(Node *n) {
  Tensor *x = n->in[0];
  int64_t ax = n->a.axis;
  if (ax < -(int64_t)x->rank || ax > x->rank)
    ir_fail_node(n, "axis %" I64 " is out of range for rank %d (allowed %d..%d)", ax, x->rank,
                 -x->rank, x->rank);
  int a = (int)(ax < 0 ? ax + x->rank : ax);
  int64_t od[2] = {prod(n, x->dims, 0, a), prod(n, x->dims, a, x->rank)};
  set_out(n, 0, x->dtype, 2, od);
}

static void rule_reshape(Node *n) {
  Tensor *x = n->in[0], *s = n->in[1];
  need_const(n, s, "the shape input");
  int64_t v[IR_MAX_RANK], od[IR_MAX_RANK];
  if (s->rank != 1)
    ir_fail_node(n, "the shape input '%s' must be 1-D, not %s", s->name, shp(s));
  if (s->dtype != DT_INT64)
    ir_fail_node(n, "the shape input '%s' must be int64, not %s", s->name, dtype_name(s->dtype));
  if (s->dims[0] > IR_MAX_RANK)
    ir_fail_node(n, "the shape input '%s' has %" I64 " dimensions, more than the %d supported",
                 s->name, s->dims[0], IR_MAX_RANK);
  int r = shape_const_ints(n, s, "the shape input", v, IR_MAX_RANK);
  int64_t total = ir_numel(x), known = 1;
  int minus = -1, zero = 0;
  for (int i = 0; i < r; i++) {
    if (v[i] == -1) {
      if (minus >= 0) ir_fail_node(n, "the shape %s has more than one -1", dims_str(r, v));
      minus = i;
      continue;
    }
    if (v[i] < -1) ir_fail_node(n, "the shape %s has a negative dimension", dims_str(r, v));
    if (v[i] == 0 && !n->a.allowzero) {
      if (i >= x->rank)
        ir_fail_node(n, "the shape %s copies dimension %d (a 0) from input '%s' %s, which has "
                     "no such dimension", dims_str(r, v), i, x->name, shp(x));
      od[i] = x->dims[i];
    } else {
      if (v[i] == 0) zero = 1;
      od[i] = v[i];
    }
    known = mul_ck(n, known, od[i], "the shape");
  }
  if (minus >= 0) {
    if (zero)
      ir_fail_node(n, "the shape %s has both -1 and 0 with allowzero=1", dims_str(r, v));
    if (known == 0 || total % known)
      ir_fail_node(n, "cannot reshape input '%s' %s (%" I64 " elements) to %s", x->name,
                   shp(x), total, dims_str(r, v));
    od[minus] = total / known;
  } else if (known != total) {
    ir_fail_node(n, "cannot reshape input '%s' %s (%" I64 " elements) to %s (%" I64
                 " elements)", x->name, shp(x), total, dims_str(r, od), known);
  }
  set_out(n, 0, x->dtype, r, od);
}

static void rule_transpose(Node *n) {
  Tensor *x = n->in[0];
  Attrs *a = &n->a;
  int64_t od[IR_MAX_RANK];
  if (a->nperm == 0) {
    for (int i = 0; i < x->rank; i++) od[i] = x->dims[x->rank - 1 - i];
  } else {
    if (a->nperm != x->rank)
      ir_fail_node(n, "perm %s has %d entries but input '%s' %s has rank %d",
                   dims_str(a->nperm, a->perm), a->nperm, x->name, shp(x), x->rank);
    int seen[IR_MAX_RANK] = {0};
    for (int i = 0; i < x->rank; i++) {
      int64_t p = a->perm[i];
      if (p < 0 || p >= x->rank || seen[p])
        ir_fail_node(n, "perm %s is not a permutation of 0..%d", dims_str(a->nperm, a->perm),
                     x->rank - 1);
      seen[p] = 1;
      od[i] = x->dims[p];
    }
  }
  set_out(n, 0, x->dtype, x->rank, od);
}

static void rule_concat(Node *n) {
  Tensor *x = n->in[0];
  int ax = norm_axis(n, n->a.axis, x->rank, "axis");
  int64_t od[IR_MAX_RANK];
  memcpy(od, x->dims, sizeof od);
  for (int i = 1; i < n->nin; i++) {
    Tensor *y = n->in[i];
    if (!y) ir_fail_node(n, "input %d is missing", i);
    need_same_dtype(n, x, y);
    int ok = y->rank == x->rank;
    for (int d = 0; ok && d < x->rank; d++) ok = d == ax || y->dims[d] == x->dims[d];
    if (!ok)
      ir_fail_node(n, "input '%s' %s does not fit input '%s' %s (they may differ on axis %d "
                   "only)", y->name, shp(y), x->name, shp(x), ax);
    od[ax] = add_ck(n, od[ax], y->dims[ax], "the concatenated dimension");
  }
  set_out(n, 0, x->dtype, x->rank, od);
}

static void rule_slice(Node *n) {
  Tensor *x = n->in[0];
  for (int i = 1; i < n->nin && i < 5; i++)
    if (n->in[i]) need_const(n, n->in[i], i == 1 ? "starts" : i == 2 ? "ends" : i == 3 ? "axes" : "steps");
  int64_t st[IR_MAX_RANK], sp[IR_MAX_RANK], len[IR_MAX_RANK];
  shape_slice_params(n, n->in, st, sp, len);
  set_out(n, 0, x->dtype, x->rank, len);
}

static void rule_pad(Node *n) {
  Tensor *x = n->in[0], *pads = opt_in(n, 1), *val = opt_in(n, 2), *axes = opt_in(n, 3);
  if (pads) need_const(n, pads, "pads");
  if (axes) need_const(n, axes, "axes");
  if (val) {
    need_same_dtype(n, x, val);
    if (ir_numel(val) != 1)
      ir_fail_node(n, "constant_value '%s' %s must be a scalar", val->name, shp(val));
  }
  if ((unsigned)n->a.pad_mode > PM_WRAP) ir_fail_node(n, "unknown pad mode %d", (int)n->a.pad_mode);
  int64_t pb[IR_MAX_RANK], pe[IR_MAX_RANK], od[IR_MAX_RANK];
  shape_pad_params(n, n->in, pb, pe);
  for (int d = 0; d < x->rank; d++) {
    od[d] = add_ck(n, add_ck(n, x->dims[d], pb[d], "the padded size"), pe[d], "the padded size");
    if (od[d] < 0)
      ir_fail_node(n, "pads %" I64 ",%" I64 " on axis %d leave a negative size for input '%s' %s",
                   pb[d], pe[d], d, x->name, shp(x));
    if (n->a.pad_mode != PM_CONSTANT && (pb[d] > 0 || pe[d] > 0) && x->dims[d] == 0)
      ir_fail_node(n, "cannot pad the empty axis %d of input '%s' %s in %s mode", d, x->name,
                   shp(x), n->a.pad_mode == PM_REFLECT ? "reflect" : n->a.pad_mode == PM_EDGE ? "edge" : "wrap");
  }
  set_out(n, 0, x->dtype, x->rank, od);
}

static void rule_dropout(Node *n) {
  Tensor *x = n->in[0], *ratio = opt_in(n, 1), *train = opt_in(n, 2);
  need_float(n, x, "input");
  if (ratio && ir_numel(ratio) != 1)
    ir_fail_node(n, "ratio '%s' %s must be a scalar", ratio->name, shp(ratio));
  if (train) {
    need_const(n, train, "training_mode");
    if (ir_numel(train) != 1)
      ir_fail_node(n, "training_mode '%s' %s must be a scalar", train->name, shp(train));
    if (ir_get_i64(train, 0))
      ir_fail_node(n, "training_mode is true; resnetc compiles inference only");
  }
  set_out_like(n, 0, x);
  set_out(n, 1, DT_BOOL, x->rank, x->dims);
}

static void rule_softmax(Node *n) {
  Tensor *x = n->in[0];
  need_float(n, x, "input");
  if (x->rank < 1) ir_fail_node(n, "input '%s' is a scalar; softmax needs rank >= 1", x->name);
  norm_axis(n, n->a.axis, x->rank, "axis");
  set_out_like(n, 0, x);
}

static void rule_constantofshape(Node *n) {
  Tensor *s = n->in[0], *v = n->a.value;
  need_const(n, s, "the shape input");
  if (s->dtype != DT_INT64) ir_fail_node(n, "the shape input '%s' must be int64", s->name);
  if (s->rank != 1) ir_fail_node(n, "the shape input '%s' %s must be 1-D", s->name, shp(s));
  int64_t od[IR_MAX_RANK];
  if (s->dims[0] > IR_MAX_RANK)
    ir_fail_node(n, "the shape input '%s' has %" I64 " dimensions, more than the %d supported",
                 s->name, s->dims[0], IR_MAX_RANK);
  int r = shape_const_ints(n, s, "the shape input", od, IR_MAX_RANK);
  for (int i = 0; i < r; i++)
    if (od[i] < 0) ir_fail_node(n, "the shape %s has a negative dimension", dims_str(r, od));
  DType dt = DT_FLOAT;
  if (v) {
    if (!ir_is_const(v) || ir_numel(v) != 1 || !dtype_ok(v->dtype))
      ir_fail_node(n, "the value attribute must be a one-element numeric tensor");
    dt = v->dtype;
  }
  set_out(n, 0, dt, r, od);
}

static void rule_shape(Node *n) {
  Tensor *x = n->in[0];
  int64_t r = x->rank, s = n->a.start, e = n->a.end;
  if (s < 0) s = s < -r ? 0 : s + r;
  if (e < 0) e = e < -r ? 0 : e + r;
  if (s > r) s = r;
  if (e > r) e = r;
  int64_t od[1] = {e > s ? e - s : 0};
  set_out(n, 0, DT_INT64, 1, od);
}

static void rule_gather(Node *n) {
  Tensor *x = n->in[0], *idx = n->in[1];
  if (idx->dtype != DT_INT64 && idx->dtype != DT_INT32)
    ir_fail_node(n, "indices '%s' must be int32 or int64, not %s", idx->name,
                 dtype_name(idx->dtype));
  if (x->rank < 1) ir_fail_node(n, "data '%s' is a scalar; Gather needs rank >= 1", x->name);
  int ax = norm_axis(n, n->a.axis, x->rank, "axis");
  int r = x->rank - 1 + idx->rank;
  if (r > IR_MAX_RANK)
    ir_fail_node(n, "the output would have rank %d, more than the %d supported", r, IR_MAX_RANK);
  int64_t od[IR_MAX_RANK];
  int k = 0;
  for (int i = 0; i < ax; i++) od[k++] = x->dims[i];
  for (int i = 0; i < idx->rank; i++) od[k++] = idx->dims[i];
  for (int i = ax + 1; i < x->rank; i++) od[k++] = x->dims[i];
  if (ir_is_const(idx)) {
    int64_t cnt = ir_numel(idx), dim = x->dims[ax];
    for (int64_t i = 0; i < cnt; i++) {
      int64_t v = ir_get_i64(idx, i);
      if (v < -dim || v >= dim)
        ir_fail_node(n, "index %" I64 " is out of range for axis %d of data '%s' %s", v, ax,
                     x->name, shp(x));
    }
  }
  set_out(n, 0, x->dtype, r, od);
}

static void rule_squeeze(Node *n) {
  Tensor *x = n->in[0], *axes = opt_in(n, 1);
  int64_t od[IR_MAX_RANK];
  int drop[IR_MAX_RANK] = {0}, r = 0;
  if (axes) {
    need_const(n, axes, "axes");
    int64_t v[IR_MAX_RANK];
    int na = shape_const_ints(n, axes, "axes", v, IR_MAX_RANK);
    for (int i = 0; i < na; i++) {
      int a = norm_axis(n, v[i], x->rank, "axis");
      if (drop[a]) ir_fail_node(n, "axis %d appears twice", a);
      if (x->dims[a] != 1)
        ir_fail_node(n, "cannot squeeze axis %d of input '%s' %s: its size is not 1", a,
                     x->name, shp(x));
      drop[a] = 1;
    }
  } else {
    for (int i = 0; i < x->rank; i++) drop[i] = x->dims[i] == 1;
  }
  for (int i = 0; i < x->rank; i++)
    if (!drop[i]) od[r++] = x->dims[i];
  set_out(n, 0, x->dtype, r, od);
}

static void rule_unsqueeze(Node *n) {
  Tensor *x = n->in[0], *axes = opt_in(n, 1);
  if (!axes) ir_fail_node(n, "Unsqueeze needs axes");
  need_const(n, axes, "axes");
  int64_t v[IR_MAX_RANK], od[IR_MAX_RANK];
  int na = shape_const_ints(n, axes, "axes", v, IR_MAX_RANK);
  int r = x->rank + na;
  if (r > IR_MAX_RANK)
    ir_fail_node(n, "the output would have rank %d, more than the %d supported", r, IR_MAX_RANK);
  int ins[IR_MAX_RANK] = {0};
  for (int i = 0; i < na; i++) {
    int a = norm_axis(n, v[i], r, "axis");
    if (ins[a]) ir_fail_node(n, "axis %d appears twice", a);
    ins[a] = 1;
  }
  for (int i = 0, k = 0; i < r; i++) od[i] = ins[i] ? 1 : x->dims[k++];
  set_out(n, 0, x->dtype, r, od);
}

static void rule_cast(Node *n) {
  Tensor *x = n->in[0];
  if (!dtype_ok(n->a.to) || n->a.to == DT_UNDEFINED)
    ir_fail_node(n, "cannot cast to type %s (%d)", dtype_name(n->a.to), (int)n->a.to);
  set_out(n, 0, n->a.to, x->rank, x->dims);
}

/* ---- the driver --------------------------------------------------------- */

void shape_infer_node(Graph *g, Node *n) {
  (void)g;
  const OpInfo *oi = &op_info[n->op];
  if (n->nin < oi->in_min || (oi->in_max >= 0 && n->nin > oi->in_max))
    ir_fail_node(n, "has %d inputs; %s takes %d to %d", n->nin, oi->name, oi->in_min,
                 oi->in_max);
  if (n->nout < oi->out_min || n->nout > oi->out_max)
    ir_fail_node(n, "has %d outputs; %s gives %d to %d", n->nout, oi->name, oi->out_min,
                 oi->out_max);
  if (!n->out[0]) ir_fail_node(n, "its first output is missing");
  for (int i = 0; i < n->nin; i++) {
    Tensor *t = n->in[i];
    if (!t) {
      if (i < oi->in_min) ir_fail_node(n, "required input %d is missing", i);
      continue;
    }
    if (t->rank < 0)
      ir_fail_node(n, "input '%s' has an unknown shape (is the graph sorted?)", t->name);
    if (!dtype_ok(t->dtype))
      ir_fail_node(n, "input '%s' has type %s, which resnetc does not support", t->name,
                   dtype_name(t->dtype));
    for (int k = 0; k < t->rank; k++)
      if (t->dims[k] < 0)
        ir_fail_node(n, "input '%s' has a negative dimension %s", t->name, shp(t));
    if (ir_bytes(t) < 0)
      ir_fail_node(n, "input '%s' of shape %s is too large", t->name, shp(t));
  }
  switch (n->op) {
  case OP_CONV: rule_conv(n); break;
  case OP_BATCHNORM: rule_batchnorm(n); break;
  case OP_RELU: case OP_LEAKYRELU: case OP_SIGMOID: case OP_HARDSIGMOID: case OP_HARDSWISH:
    rule_unary(n); break;
  case OP_CLIP: rule_clip(n); break;
  case OP_ADD: case OP_SUB: case OP_MUL: case OP_DIV: case OP_SUM: rule_binary(n); break;
  case OP_MAXPOOL: case OP_AVERAGEPOOL: rule_pool(n); break;
  case OP_GLOBALAVERAGEPOOL: case OP_GLOBALMAXPOOL: rule_global_pool(n); break;
  case OP_GEMM: rule_gemm(n); break;
  case OP_MATMUL: rule_matmul(n); break;
  case OP_FLATTEN: rule_flatten(n); break;
  case OP_RESHAPE: rule_reshape(n); break;
  case OP_TRANSPOSE: rule_transpose(n); break;
  case OP_CONCAT: rule_concat(n); break;
  case OP_SLICE: rule_slice(n); break;
  case OP_PAD: rule_pad(n); break;
  case OP_IDENTITY: set_out_like(n, 0, n->in[0]); break;
  case OP_DROPOUT: rule_dropout(n); break;
  case OP_SOFTMAX: case OP_LOGSOFTMAX: rule_softmax(n); break;
  case OP_CONSTANTOFSHAPE: rule_constantofshape(n); break;
  case OP_SHAPE: rule_shape(n); break;
  case OP_GATHER: rule_gather(n); break;
  case OP_SQUEEZE: rule_squeeze(n); break;
  case OP_UNSQUEEZE: rule_unsqueeze(n); break;
  case OP_CAST: rule_cast(n); break;
  case OP_COUNT: ir_die("OP_COUNT is not an op");
  }
}
