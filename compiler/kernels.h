/*
 * kernels.h - the fast kernels: shape classes, register tiles per ISA, and
 * the expansion of their m4 templates (templates/conv_nchwc.m4 ...).
 *
 * The emitter describes one layer with a KConv, asks kconv_name() for the
 * kernel name (layers of equal shape share it), passes kconv_params() to
 * its RN_KERNEL(<:CONVB:>, ...) call of templates/k_conv_nchwc.m4, and packs
 * the weights with pack.h.  The register tile of every ISA is chosen here,
 * at compile time, from the layer's shape (kconv_tile), so the template
 * only unrolls.  The kernels carry the ISA tag "simd": each holds one body
 * per ISA, chosen by the C compiler's predefined macros.
 *
 * Layout decision: the channel block is 16 for every ISA (NCHW16c), so one
 * generated file, one packed weight array and one memory plan serve every
 * target; AVX2 handles a block as two 8-lane halves and NEON as four
 * 4-lane quarters.  Channel counts are padded to a multiple of 16 with
 * zeros (weights, bias and activations), which keeps the pad channels zero
 * through every layer.
 */
#ifndef RESNETC_KERNELS_H
#define RESNETC_KERNELS_H
#include <stddef.h>
#include <stdio.h>
#include "ir.h"

#define KERN_BLOCK 16   /* channel block of LAYOUT_NCHWC, every ISA */

/* Instruction sets that bodies are generated for (a bit mask). */
typedef enum KIsa {
  KISA_SCALAR = 1,   /* portable C, always emitted (the reference) */
  KISA_AVX2 = 2,     /* __AVX2__ && __FMA__ */
  KISA_AVX512 = 4,   /* __AVX512F__ */
  KISA_NEON = 8,     /* __ARM_NEON && __aarch64__ */
  KISA_ALL = 15
} KIsa;
const char *kisa_name(KIsa isa);   /* "scalar", "avx2", "avx512", "neon" */
/* Parses a --target list "avx512,avx2" (or "all", "native"...) into a
 * mask; scalar is always included.  Returns -1 on an unknown name. */
int kisa_parse(const char *list);

/* One direct convolution, NCHW16c (or plain NCHW input when ib = 1). */
typedef struct KConv {
  int cin, cout;         /* real channel counts (padded to 16 in memory) */
  int h, w, oh, ow;      /* input and output size */
  int kh, kw, sh, sw;    /* kernel and stride; dilation 1, group 1 */
  int pt, pl;            /* top and left padding; bottom/right follow */
  int ib;                /* input block: 16, or 1 for plain NCHW input */
  int res;               /* 0: none, 1: y = act(conv + b + r), r as y;
                            2: r through the option-A view (ir.h) */
  int rc, rc0, rh, rw, rsh, rsw, rth, rtw;   /* the view, res = 2 */
  Act act;               /* ACT_NONE, ACT_RELU, ACT_CLIP, ACT_LEAKYRELU */
  float act_lo, act_hi, act_alpha;
  int wg;                /* output blocks per packed weight group, 0: auto */
  int unroll;            /* input channels per inner iteration, 0: auto */
} KConv;

/* A register tile: ocb channel blocks x px pixels of one output row;
 * icc input blocks per cache chunk; tiles [tl, tr) of a row are interior
 * (touch no padding), nt tiles per row; pf weight lines of the next chunk
 * prefetched every pfk iterations of the input-channel loop (pf 0: none). */
typedef struct KTile { int ocb, px, icc, tl, tr, nt, pf, pfk; } KTile;

/* Describes a conv for kconv_* from its shape; returns 0, or -1 when the
 * fast path does not apply (dilation, groups, not 2-D...). */
int kconv_from_node(const Node *n, int ib, KConv *c);
/* Output blocks per group of the packed weights (pack_conv_nchwc's g):
 * the same for every ISA, since one weight array serves them all. */
int kconv_wgroup(const KConv *c);
/* 1x1 stride-1 unpadded convs are run as one row of h*w pixels. */
KConv kconv_canonical(const KConv *c);
void kconv_tile(const KConv *c, KIsa isa, KTile *t);
/* Completes a tile whose ocb and px are set: icc (when <= 0), pf and pfk
 * (when pf is 0; pf -1 gives none) and the interior range. */
void kconv_tile_finish(const KConv *c, KTile *t);
/* "conv3x3s1p1_64_64_56x56_relu_res": op, shape class, epilogue. */
void kconv_name(const KConv *c, char *buf, size_t n);
/* The RN_KERNEL parameters of templates/k_conv_nchwc.m4 ("K,<:v:>,...").
 * isas: the bodies to emit; force, if not NULL, imposes ocb/px/icc on every
 * ISA (tests sweep tile edges). */
void kconv_params(FILE *f, const KConv *c, unsigned isas, const KTile *force);
int64_t kconv_flops(const KConv *c);   /* 2 * MACs, real channels */

/* Sizes in floats of the blocked tensors of a conv. */
size_t kconv_x_floats(const KConv *c);
size_t kconv_w_floats(const KConv *c);
size_t kconv_y_floats(const KConv *c);

/* Pooling on NCHW16c (templates/pool_nchwc.m4): MaxPool, AveragePool, and
 * the global ones (a kernel of the whole image, no padding). */
typedef struct KPool {
  int c, h, w, oh, ow, kh, kw, sh, sw;
  int pt, pl, pb, pr;
  int max;               /* 1: max, 0: average */
  int count_pad;         /* average: divide by the window inside the pads */
} KPool;
int kpool_from_node(const Node *n, KPool *p);   /* -1: not supported */
void kpool_name(const KPool *p, char *buf, size_t n);
void kpool_params(FILE *f, const KPool *p);    /* templates/k_pool_nchwc.m4 */

/* Fully connected, one row (templates/fc.m4): y[n] = act(x . W + b (+ r)). */
typedef struct KFc {
  int k, n, res;
  Act act;
  float act_lo, act_hi, act_alpha;
} KFc;
void kfc_name(const KFc *f, char *buf, size_t n);
void kfc_params(FILE *f, const KFc *c);        /* templates/k_fc.m4 */

/* Layout change of c channels x hw pixels (templates/reorder_nchwc.m4):
 * to = 1: NCHW -> NCHW16c, 0: NCHW16c -> NCHW. */
void kreorder_name(int c, int hw, int to, char *buf, size_t n);
void kreorder_params(FILE *f, int c, int hw, int to);   /* k_reorder_nchwc.m4 */

/* Winograd F(m x m, 3 x 3) for stride-1 3x3 convs (templates/k_wino_nchwc.m4):
 * per chunk of t tiles, an input transform, (m+2)^2 GEMMs that are the
 * blocked 1x1 conv kwino_gemm() over t "pixels", an output transform. */
/* m for conv c (0: direct): mode -1 off, 0 auto (the rule in kernels.c),
 * 2 or 4 forced where the conv qualifies. */
int kwino_choose(const KConv *c, int mode);
int kwino_tiles(const KConv *c, int m);             /* t: tiles per chunk */
KConv kwino_gemm(const KConv *c, int m, int t);     /* the GEMM, as a conv */
size_t kwino_scratch_floats(const KConv *c, int m, int t);
void kwino_name(const KConv *c, int m, char *buf, size_t n);
void kwino_params(FILE *f, const KConv *c, int m, int t, const char *gemm_base, int gemm_n);

/* Strided 1x1 convs without padding (templates/k_sub_nchwc.m4): a
 * subsample of the input into scratch, then the stride-1 1x1 kernel
 * ksub_gemm() over one row of oh*ow pixels (its weights packed as c's). */
int ksub_applies(const KConv *c);
KConv ksub_gemm(const KConv *c);
size_t ksub_scratch_floats(const KConv *c);
void ksub_name(const KConv *c, char *buf, size_t n);
void ksub_params(FILE *f, const KConv *c, const char *gemm_base, int gemm_n);

/* The kernel a Conv node runs and the scratch it needs, decided once for
 * the memory planner (passes/plan.c, which gives the scratch a place in
 * the arena live at the node's step only) and the emitter (which calls
 * that kernel): one rule, so the plan and the code agree.  n runs blocked
 * when the layout pass gave it a blocked output.  winograd is the
 * --winograd mode (Graph.winograd).  Fills *c (res 2 for an option-A view)
 * and returns 1 for a blocked conv, with *m the Winograd tile (0: direct),
 * *t its tiles per chunk and *scratch_bytes the kernel's scratch (0: none;
 * Winograd's transforms, or the subsampled input of a strided 1x1);
 * returns 0 for any other node, -1 when the blocked kernel cannot run it. */
int kconv_choose_node(const Node *n, int winograd, KConv *c, int *m, int *t, int64_t *scratch_bytes);

/* Expands one kernel outside the emitter (tests, benchmarks): common.m4
 * and template_name (embedded, or from dir when not NULL) through m4 -P,
 * with RN_KERNEL(op, base, 1, params); appends the C to out.  The function
 * is named base__simd_1.  Returns 0, or -1 after printing one error line. */
int kern_expand(FILE *out, const char *dir, const char *template_name, const char *op,
                const char *base, const char *params);
/* The same for several kernels: templates, a comma list of template files;
 * calls, RN_KERNEL(...) lines. */
int kern_expand_calls(FILE *out, const char *dir, const char *templates, const char *calls);
#endif
