/*
 * kernels.c - shape classes and register tiles of the fast kernels, and
 * the m4 expansion of their templates (see kernels.h).
 *
 * Tile choice.  A tile of T channel blocks x P pixels keeps A = T*(16/VL)*P
 * accumulators in registers; each step (one input channel of one kernel
 * tap) loads T*(16/VL) weight vectors and broadcasts P input scalars
 * (NEON: P/4 quad loads, then fmla by lane).  We pick the (T, P) that fits
 * the register file and minimises the modelled cycles of the whole layer:
 *
 *   steps * max(FMAs / fma_ports, loads / load_ports, fma_latency)
 *
 * where steps counts the padded tiles, so a tile that divides the output
 * width and channel count wins over a larger one that wastes an edge.  At
 * least latency x ports independent accumulators are needed to hide the
 * FMA latency, which the max() expresses.  The input-channel chunk keeps a
 * chunk of packed weights (T blocks x chunk) within KERN_W_L1 bytes for
 * blocked input (L1), KERN_W_BUDGET for plain input (the part of L2 we
 * give to weights).
 */
#include "kernels.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

typedef struct IsaModel {
  KIsa isa;
  const char *m4;       /* prefix of the tile macros in the templates */
  int vl;               /* float lanes per vector */
  int regs;             /* vector registers */
  int fma_ports, load_ports, fma_lat;
} IsaModel;

static const IsaModel models[] = {
  {KISA_AVX512, "AVX512", 16, 32, 2, 2, 4},
  {KISA_AVX2, "AVX2", 8, 16, 2, 2, 4},
  {KISA_NEON, "NEON", 4, 32, 2, 2, 4},
};

#define KERN_W_BUDGET (256 * 1024)
/* Blocked input (ib = 16): the chunk is sized for L1 instead, so that every
 * tile of the chunk reads its weights from L1 (the partial sums pass
 * through y between chunks, a few loads and stores per tile).  Measured
 * with kbench: the 1x1 convs of ResNet-50 at 14x14, 1024 -> 256 channels,
 * 75% of peak with chunks of 64 blocks (256 KB), 87% with 4 (16 KB); 3x3
 * convs one block per chunk (18 KB at 2 blocks per tile): equal or better
 * everywhere, 512 channels at 7x7 71% -> 84%. */
#define KERN_W_L1 (16 * 1024)

const char *kisa_name(KIsa isa) {
  switch (isa) {
  case KISA_SCALAR: return "scalar";
  case KISA_AVX2: return "avx2";
  case KISA_AVX512: return "avx512";
  case KISA_NEON: return "neon";
  default: return "all";
  }
}

int kisa_parse(const char *list) {
  int mask = KISA_SCALAR;
  const char *p = list;
  while (*p) {
    size_t n = strcspn(p, ",");
    if (n == 3 && strncmp(p, "all", 3) == 0) mask |= KISA_ALL;
    else if (n == 6 && strncmp(p, "scalar", 6) == 0) mask |= KISA_SCALAR;
    else if (n == 8 && strncmp(p, "portable", 8) == 0) mask |= KISA_SCALAR;
    else if (n == 4 && strncmp(p, "avx2", 4) == 0) mask |= KISA_AVX2;
    else if (n == 6 && strncmp(p, "avx512", 6) == 0) mask |= KISA_AVX512;
    else if (n == 4 && strncmp(p, "neon", 4) == 0) mask |= KISA_NEON;
    else if (n == 6 && strncmp(p, "x86-64", 6) == 0) mask |= KISA_AVX2 | KISA_AVX512;
    else if (n == 7 && strncmp(p, "aarch64", 7) == 0) mask |= KISA_NEON;
    else return -1;
    p += n;
    if (*p == ',') p++;
  }
  return mask;
}

int kconv_from_node(const Node *n, int ib, KConv *c) {
  const Tensor *x = n->in[0], *w = n->in[1], *y = n->out[0];
  memset(c, 0, sizeof *c);
  if (n->op != OP_CONV || n->a.nsp != 2 || n->a.group != 1) return -1;
  if (n->a.dilation[0] != 1 || n->a.dilation[1] != 1) return -1;
  if (x->rank != 4 || w->rank != 4 || y->rank != 4 || x->dims[0] != 1) return -1;
  if (x->dtype != DT_FLOAT) return -1;
  for (int i = 1; i < 4; i++)
    if (x->dims[i] <= 0 || y->dims[i] <= 0 || w->dims[i] <= 0) return -1;
  c->cin = (int)x->dims[1];
  c->h = (int)x->dims[2];
  c->w = (int)x->dims[3];
  c->cout = (int)y->dims[1];
  c->oh = (int)y->dims[2];
  c->ow = (int)y->dims[3];
  c->kh = (int)n->a.kernel[0];
  c->kw = (int)n->a.kernel[1];
  c->sh = (int)n->a.stride[0];
  c->sw = (int)n->a.stride[1];
  c->pt = (int)n->a.pad_begin[0];
  c->pl = (int)n->a.pad_begin[1];
  c->ib = ib;
  c->res = n->nin > 3 && n->in[3] != NULL;
  c->act = n->a.act;
  c->act_lo = (float)n->a.act_lo;
  c->act_hi = (float)n->a.act_hi;
  c->act_alpha = (float)n->a.act_alpha;
  return 0;
}

KConv kconv_canonical(const KConv *c) {
  KConv k = *c;
  if (c->kh == 1 && c->kw == 1 && c->sh == 1 && c->sw == 1 && c->pt == 0 &&
      c->pl == 0 && c->oh == c->h && c->ow == c->w) {
    k.w = k.ow = c->h * c->w;
    k.h = k.oh = 1;
  }
  return k;
}

static int cdiv(int a, int b) { return (a + b - 1) / b; }
static int kconv_streams(const KConv *c);

#define KERN_WGROUP 2

int kconv_wgroup(const KConv *c) {
  int ocbt = cdiv(c->cout, KERN_BLOCK);
  int g = c->wg > 0 ? c->wg : KERN_WGROUP;
  return g < ocbt ? g : ocbt;
}

/* Modelled cycles of the layer for tile (t, p) on model m. */
static double tile_cost(const KConv *c, const IsaModel *m, int t, int p) {
  int nvb = KERN_BLOCK / m->vl;
  int ocbt = cdiv(c->cout, KERN_BLOCK);
  double nv = (double)t * nvb, fmas = nv * p;
  double loads = m->isa == KISA_NEON && c->ib % 4 == 0 ? nv + p / 4.0 : nv + p;
  /* A 1x1 kernel reads each input once per tile: its broadcasts miss L1
   * more (no reuse across taps), they cost as two loads.  Measured on the
   * 1x1 convs of ResNet-50 at 56x56 and 28x28: tile 4x6 at 83-91% of peak,
   * 2x14 at 73-80%. */
  if (c->kh * c->kw == 1) loads += m->isa == KISA_NEON && c->ib % 4 == 0 ? p / 4.0 : p;
  double step = fmas / m->fma_ports;
  if (loads / m->load_ports > step) step = loads / m->load_ports;
  if (m->fma_lat > step) step = m->fma_lat;
  step += 1.0;   /* address arithmetic, loop control: favours larger tiles */
  double tiles = (double)cdiv(ocbt, t) * c->oh * cdiv(c->ow, p);
  return tiles * step;
}

/* Registers a tile needs.  AVX-512 folds the broadcast into the FMA
 * (embedded broadcast), so accumulators and weights may fill all 32;
 * AVX2 keeps one broadcast register and may read weights from memory
 * operands; NEON holds one quad of inputs per pixel. */
static int tile_regs(const KConv *c, const IsaModel *m, int ib, int nv, int p) {
  /* With one input channel per block (plain NCHW input, the stem) a step
   * is one kernel tap, and the compilers keep the broadcast inputs of a
   * kernel row live across taps (stride 2: pixel p at tap k reads what
   * pixel p+1 reads at tap k-2): one more register per pixel, else they
   * spill (measured, 7x7/2 stem: tile 2x14 at 65% of peak, 2x8 at 93%). */
  int bc = ib == 1 ? p : 0;
  /* 1x1: the compilers hold the broadcast in a register of its own (it
   * feeds every vector of the pixel); 4x7 (33 registers) spilled */
  if (c->kh * c->kw == 1 && !bc) bc = 1;
  if (m->isa == KISA_AVX512) return nv * p + nv + bc;
  if (m->isa == KISA_AVX2) return nv * p + 2 + bc;
  if (ib % 4 == 0) return nv * p + p + 1;
  return nv * p + nv + 1 + bc;
}

void kconv_tile(const KConv *c0, KIsa isa, KTile *tile) {
  KConv c = kconv_canonical(c0);
  int ocbt = cdiv(c.cout, KERN_BLOCK);
  const IsaModel *m = NULL;
  for (size_t i = 0; i < sizeof models / sizeof models[0]; i++)
    if (models[i].isa == isa) m = &models[i];
  memset(tile, 0, sizeof *tile);
  if (!m) {   /* the portable body: one pixel, one block */
    tile->ocb = 1;
    tile->px = 1;
  } else {
    int nvb = KERN_BLOCK / m->vl;
    double best = 0;
    int g = kconv_wgroup(&c);
    for (int t = 1; t <= ocbt && t * nvb <= m->regs; t++)
      for (int p = 1; p <= c.ow && p <= 32; p++) {
        if (g % t != 0 && t % g != 0) continue;   /* tiles align with groups */
        if (t > 2 && kconv_streams(&c)) continue;
        if (tile_regs(&c, m, c.ib, t * nvb, p) > m->regs) continue;
        double cost = tile_cost(&c, m, t, p);
        /* ties: fewer, wider tiles (less loop overhead) */
        if (!tile->ocb || cost < best * 0.999) {
          best = cost;
          tile->ocb = t;
          tile->px = p;
        }
      }
  }
  tile->icc = 0;
  kconv_tile_finish(&c, tile);
}

/* Is c's weight stream the bound?  Its weights do not stay in L2 and each
 * weight serves few output pixels (64 or fewer: at most 32 FLOPs per byte,
 * near this class of machine's FLOPs per byte of memory bandwidth).  Such
 * layers (512 channels at 7x7) take tiles of at most 2 output blocks, so
 * that their chunks fit L1 (3x3: one input block, 18 KB) and the rows
 * after the first read their weights from L1, leaving the fill buffers to
 * the prefetch of the next chunk.  kbench --cold, 3x3 512 -> 512 at 7x7: tile
 * 4x7 in chunks of 7 blocks 2.18 ms, 2x7 in chunks of 1 with the spread
 * prefetch 2.00 ms. */
static int kconv_streams(const KConv *c) {
  return (double)kconv_w_floats(c) * 4 > KERN_W_BUDGET && (long)c->oh * c->ow <= 64;
}

/* Weights of a spatial (kh*kw > 1) conv up to KERN_PF_MIN are not
 * prefetched, of a 1x1 up to KERN_W_BUDGET.  In a network a layer's weights
 * are cold when it starts (the layers before it read theirs), so whether
 * they would fit L2 does not matter; below about an L1 they arrive with the
 * first tiles anyway.  Measured in the network (CIFAR-56, best of 900
 * alternating profile runs): the 64-channel 3x3 convs at 8x8 (147 KB of
 * weights) 12% faster prefetched, the 16 and 32-channel ones (9 and 37 KB)
 * unchanged.  The 1x1s, among them the GEMMs of Winograd whose per-position
 * weights the hardware streams back to back, showed no clear gain. */
#define KERN_PF_MIN (48 * 1024)

/* The prefetch of tile t (the template's <ISA>_PF, <ISA>_PFK): pf weight
 * lines of the next chunk every pfk iterations of the input-channel loop,
 * so that the next chunk arrives in L2 evenly over the current one; none
 * (pf 0) for weights up to KERN_PF_MIN (spatial) or KERN_W_BUDGET (1x1).  A chunk holds icc*kh*kw*ib*g
 * lines of 16 floats (g = kconv_wgroup); one pass over it runs, per output
 * row, kh*icc*kw steps per tile, each of ib/u iterations (u: the unroll,
 * for interior tiles of blocked input; edge tiles and plain input: 1).
 * Bursts cost: they hold the fill buffers that the current chunk's loads
 * need (2x7 tiles at 7x7: 1 line per iteration 2.00 ms, 2 per iteration
 * 2.22 ms). */
static void kconv_prefetch(const KConv *c, KTile *t) {
  t->pfk = 1;
  if ((double)kconv_w_floats(c) * 4 <= (c->kh * c->kw > 1 ? KERN_PF_MIN : KERN_W_BUDGET)) {
    t->pf = 0;
    return;
  }
  int u = c->ib == KERN_BLOCK ? (c->unroll > 0 ? c->unroll : 4) : 1;
  if (c->ib % u != 0) u = 1;
  long inner = t->tr - t->tl, edge = t->nt - inner;
  long iters = (long)c->oh * t->icc * c->kh * c->kw * (inner * (c->ib / u) + edge * c->ib);
  long lines = (long)t->icc * c->kh * c->kw * c->ib * kconv_wgroup(c);
  if (iters < 1) iters = 1;
  if (lines > iters) {
    t->pf = (int)((lines + iters - 1) / iters);
  } else {
    t->pf = 1;
    t->pfk = (int)(iters / lines);
  }
}

void kconv_tile_finish(const KConv *c0, KTile *tile) {
  KConv c = kconv_canonical(c0);
  int icb = cdiv(c.cin, c.ib);
  if (tile->icc <= 0) {
    long wblk = (long)tile->ocb * KERN_BLOCK * c.ib * c.kh * c.kw * 4;
    tile->icc = (int)((c.ib == KERN_BLOCK ? KERN_W_L1 : KERN_W_BUDGET) / wblk);
    if (tile->icc < 1) tile->icc = 1;
    if (tile->icc > icb) tile->icc = icb;
    /* balance the chunks: 5 blocks in chunks of 4 -> 3 + 2 */
    tile->icc = cdiv(icb, cdiv(icb, tile->icc));
  }
  if (tile->icc > icb) tile->icc = icb;
  int p = tile->px;
  tile->nt = cdiv(c.ow, p);
  tile->tl = tile->tr = -1;
  for (int t = 0; t < tile->nt; t++) {
    int ox0 = t * p;
    int inner = ox0 + p <= c.ow && ox0 * c.sw - c.pl >= 0 &&
                (ox0 + p - 1) * c.sw - c.pl + c.kw <= c.w;
    if (inner && tile->tl < 0) tile->tl = t;
    if (inner) tile->tr = t + 1;
  }
  if (tile->tl < 0) tile->tl = tile->tr = tile->nt;
  if (tile->pf < 0) {
    tile->pf = 0;
    tile->pfk = 1;
  } else if (tile->pf == 0) {
    kconv_prefetch(&c, tile);
  } else if (tile->pfk < 1) {
    tile->pfk = 1;
  }
}

static const char *act_name(Act a) {
  switch (a) {
  case ACT_RELU: return "relu";
  case ACT_CLIP: return "clip";
  case ACT_LEAKYRELU: return "leakyrelu";
  default: return "none";
  }
}

static void act_suffix(Act act, float lo, float hi, float alpha, char *buf, size_t n) {
  if (act == ACT_CLIP || act == ACT_LEAKYRELU) {
    unsigned h = 2166136261u;
    float v[3] = {lo, hi, alpha};
    const unsigned char *b = (const unsigned char *)v;
    for (size_t i = 0; i < sizeof v; i++) h = (h ^ b[i]) * 16777619u;
    snprintf(buf, n, "_%s%08x", act_name(act), h);
  } else if (act == ACT_RELU) {
    snprintf(buf, n, "_relu");
  } else {
    snprintf(buf, n, "%s", "");
  }
}

void kconv_name(const KConv *c, char *buf, size_t n) {
  char s[32], p[32];
  if (c->sh == c->sw) snprintf(s, sizeof s, "%d", c->sh);
  else snprintf(s, sizeof s, "%dx%d", c->sh, c->sw);
  if (c->pt == c->pl) snprintf(p, sizeof p, "%d", c->pt);
  else snprintf(p, sizeof p, "%dx%d", c->pt, c->pl);
  int m = snprintf(buf, n, "conv%dx%ds%sp%s_%s%d_%d_%dx%d", c->kh, c->kw, s, p,
                   c->ib == 1 ? "nchw" : "", c->cin, c->cout, c->h, c->w);
  /* the bottom/right padding is implied by the output size, which the
   * name carries when it differs from the symmetric one */
  int oh_sym = (c->h + 2 * c->pt - c->kh) / c->sh + 1;
  int ow_sym = (c->w + 2 * c->pl - c->kw) / c->sw + 1;
  if (m < 0 || (size_t)m >= n) return;
  if (c->oh != oh_sym || c->ow != ow_sym)
    m += snprintf(buf + m, n - (size_t)m, "_o%dx%d", c->oh, c->ow);
  if (m < 0 || (size_t)m >= n) return;
  if (c->res) m += snprintf(buf + m, n - (size_t)m, "_res");
  if (m < 0 || (size_t)m >= n) return;
  /* clip and leaky constants are part of the specialisation: hashed */
  act_suffix(c->act, c->act_lo, c->act_hi, c->act_alpha, buf + m, n - (size_t)m);
}

/* A C float literal, exact (hexadecimal); infinities become the largest
 * finite float, which clips every finite value the same way. */
static const char *flit(char *buf, size_t n, float v) {
  if (v != v) v = 0.0f;
  if (v > 3.4028234663852886e38f) v = 3.4028234663852886e38f;
  if (v < -3.4028234663852886e38f) v = -3.4028234663852886e38f;
  snprintf(buf, n, "%af", (double)v);
  return buf;
}

int64_t kconv_flops(const KConv *c) {
  return 2LL * c->cout * c->oh * c->ow * (int64_t)c->cin * c->kh * c->kw;
}

size_t kconv_x_floats(const KConv *c) {
  return (size_t)cdiv(c->cin, c->ib) * c->h * c->w * c->ib;
}
size_t kconv_w_floats(const KConv *c) {
  int g = kconv_wgroup(c);
  return (size_t)cdiv(cdiv(c->cout, KERN_BLOCK), g) * g * cdiv(c->cin, c->ib) * c->kh * c->kw *
         c->ib * KERN_BLOCK;
}
size_t kconv_y_floats(const KConv *c) {
  return (size_t)cdiv(c->cout, KERN_BLOCK) * c->oh * c->ow * KERN_BLOCK;
}

/* One parameter of the emitter's RN_KERNEL list: "K,<:v:>". */
static void kp(FILE *f, int *first, const char *key, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 4, 5)))
#endif
    ;
static void kp(FILE *f, int *first, const char *key, const char *fmt, ...) {
  va_list ap;
  fprintf(f, "%s%s,<:", *first ? "" : ",", key);
  va_start(ap, fmt);
  vfprintf(f, fmt, ap);
  va_end(ap);
  fputs(":>", f);
  *first = 0;
}

static void act_params(FILE *f, int *first, Act act, float lo, float hi, float alpha) {
  char l[40], h[40], a[40];
  kp(f, first, "ACT", "%s", act_name(act));
  kp(f, first, "ACT_LO", "%s", flit(l, sizeof l, act == ACT_CLIP ? lo : 0));
  kp(f, first, "ACT_HI", "%s", flit(h, sizeof h, act == ACT_CLIP ? hi : 0));
  kp(f, first, "ACT_ALPHA", "%s", flit(a, sizeof a, act == ACT_LEAKYRELU ? alpha : 0));
}

void kconv_params(FILE *f, const KConv *c0, unsigned isas, const KTile *force) {
  KConv c = kconv_canonical(c0);
  int first = 1;
  kp(f, &first, "CIN", "%d", c.cin);
  kp(f, &first, "COUT", "%d", c.cout);
  kp(f, &first, "H", "%d", c.h);
  kp(f, &first, "W", "%d", c.w);
  kp(f, &first, "OH", "%d", c.oh);
  kp(f, &first, "OW", "%d", c.ow);
  kp(f, &first, "KH", "%d", c.kh);
  kp(f, &first, "KW", "%d", c.kw);
  kp(f, &first, "SH", "%d", c.sh);
  kp(f, &first, "SW", "%d", c.sw);
  kp(f, &first, "PT", "%d", c.pt);
  kp(f, &first, "PL", "%d", c.pl);
  kp(f, &first, "IB", "%d", c.ib);
  kp(f, &first, "WG", "%d", kconv_wgroup(&c));
  kp(f, &first, "RES", "%d", c.res != 0);
  kp(f, &first, "RV", "%d", c.res == 2);
  kp(f, &first, "RC", "%d", c.rc);
  kp(f, &first, "RC0", "%d", c.rc0);
  kp(f, &first, "RH", "%d", c.rh);
  kp(f, &first, "RW", "%d", c.rw);
  kp(f, &first, "RSH", "%d", c.rsh);
  kp(f, &first, "RSW", "%d", c.rsw);
  kp(f, &first, "RTH", "%d", c.rth);
  kp(f, &first, "RTW", "%d", c.rtw);
  act_params(f, &first, c.act, c.act_lo, c.act_hi, c.act_alpha);
  kp(f, &first, "UNROLL", "%d", c.unroll > 0 ? c.unroll : 4);
  for (size_t i = 0; i < sizeof models / sizeof models[0]; i++) {
    const char *p = models[i].m4;
    char key[32];
    KTile t;
    snprintf(key, sizeof key, "ISA_%s", p);
    kp(f, &first, key, "%d", (isas & models[i].isa) != 0);
    if (!(isas & models[i].isa)) continue;
    if (force) {
      t = *force;
      kconv_tile_finish(&c, &t);
    } else {
      kconv_tile(&c, models[i].isa, &t);
    }
    const char *names[8] = {"OCB", "PX", "ICC", "TL", "TR", "NT", "PF", "PFK"};
    int vals[8] = {t.ocb, t.px, t.icc, t.tl, t.tr, t.nt, t.pf, t.pfk};
    for (int j = 0; j < 8; j++) {
      snprintf(key, sizeof key, "%s_%s", p, names[j]);
      kp(f, &first, key, "%d", vals[j]);
    }
  }
  KTile t;
  if (force) {
    t = *force;
    kconv_tile_finish(&c, &t);
  } else {
    kconv_tile(&c, KISA_SCALAR, &t);
  }
  kp(f, &first, "SCALAR_ICC", "%d", t.icc);
}

/* ---- pooling, fully connected, reorders --------------------------------- */

int kpool_from_node(const Node *n, KPool *p) {
  const Tensor *x = n->in[0], *y = n->out[0];
  memset(p, 0, sizeof *p);
  if (x->rank != 4 || y->rank != 4 || x->dims[0] != 1 || x->dtype != DT_FLOAT) return -1;
  p->c = (int)x->dims[1];
  p->h = (int)x->dims[2];
  p->w = (int)x->dims[3];
  p->oh = (int)y->dims[2];
  p->ow = (int)y->dims[3];
  switch (n->op) {
  case OP_GLOBALAVERAGEPOOL: case OP_GLOBALMAXPOOL:
    p->kh = p->h;
    p->kw = p->w;
    p->sh = p->sw = 1;
    p->max = n->op == OP_GLOBALMAXPOOL;
    return 0;
  case OP_MAXPOOL: case OP_AVERAGEPOOL:
    if (n->a.nsp != 2 || n->nout > 1) return -1;   /* no Indices output */
    if (n->a.dilation[0] > 1 || n->a.dilation[1] > 1) return -1;
    p->kh = (int)n->a.kernel[0];
    p->kw = (int)n->a.kernel[1];
    p->sh = (int)n->a.stride[0];
    p->sw = (int)n->a.stride[1];
    p->pt = (int)n->a.pad_begin[0];
    p->pl = (int)n->a.pad_begin[1];
    p->pb = (int)n->a.pad_end[0];
    p->pr = (int)n->a.pad_end[1];
    p->max = n->op == OP_MAXPOOL;
    p->count_pad = n->a.count_include_pad;
    return 0;
  default:
    return -1;
  }
}

void kpool_name(const KPool *p, char *buf, size_t n) {
  if (p->kh == p->h && p->kw == p->w && p->oh == 1 && p->ow == 1 && !p->pt && !p->pl)
    snprintf(buf, n, "global%spool_%d_%dx%d", p->max ? "max" : "avg", p->c, p->h, p->w);
  else
    snprintf(buf, n, "%spool%dx%ds%dx%dp%d%d%d%d%s_%d_%dx%d", p->max ? "max" : "avg", p->kh, p->kw,
             p->sh, p->sw, p->pt, p->pl, p->pb, p->pr, !p->max && p->count_pad ? "_cip" : "",
             p->c, p->h, p->w);
}

void kpool_params(FILE *f, const KPool *p) {
  int first = 1;
  kp(f, &first, "KIND", "%s", p->max ? "max" : "avg");
  kp(f, &first, "CIP", "%d", p->count_pad);
  kp(f, &first, "C", "%d", p->c);
  kp(f, &first, "H", "%d", p->h);
  kp(f, &first, "W", "%d", p->w);
  kp(f, &first, "OH", "%d", p->oh);
  kp(f, &first, "OW", "%d", p->ow);
  kp(f, &first, "KH", "%d", p->kh);
  kp(f, &first, "KW", "%d", p->kw);
  kp(f, &first, "SH", "%d", p->sh);
  kp(f, &first, "SW", "%d", p->sw);
  kp(f, &first, "PT", "%d", p->pt);
  kp(f, &first, "PL", "%d", p->pl);
  kp(f, &first, "PB", "%d", p->pb);
  kp(f, &first, "PR", "%d", p->pr);
}

void kfc_name(const KFc *c, char *buf, size_t n) {
  char a[40];
  act_suffix(c->act, c->act_lo, c->act_hi, c->act_alpha, a, sizeof a);
  snprintf(buf, n, "fc_%d_%d%s%s", c->k, c->n, c->res ? "_res" : "", a);
}

void kfc_params(FILE *f, const KFc *c) {
  int first = 1;
  kp(f, &first, "K", "%d", c->k);
  kp(f, &first, "N", "%d", c->n);
  kp(f, &first, "RES", "%d", c->res);
  act_params(f, &first, c->act, c->act_lo, c->act_hi, c->act_alpha);
}

void kreorder_name(int c, int hw, int to, char *buf, size_t n) {
  snprintf(buf, n, "reorder_%s_%d_%d", to ? "to16c" : "from16c", c, hw);
}

void kreorder_params(FILE *f, int c, int hw, int to) {
  int first = 1;
  kp(f, &first, "C", "%d", c);
  kp(f, &first, "HW", "%d", hw);
  kp(f, &first, "DIR", "%s", to ? "to" : "from");
}

/* ---- Winograd ------------------------------------------------------------ */

/* The rule of "auto", measured with the profile build on ResNet-18 and the
 * CIFAR ResNets: F(4x4) pays where both channel counts are 64 or more and
 * there are at least 36 tiles (an output of about 24x24).  With fewer
 * tiles each transformed weight (4x the direct ones) serves too few of
 * them, and the layer waits on memory (ResNet-18, 256 channels at 14x14:
 * no gain); with fewer channels the transforms cost more than the GEMMs
 * save (CIFAR, 16 channels at 32x32: 40% slower).  At 56x56 and 28x28
 * with 64 and 128 channels it runs 1.4-1.5x faster than the direct
 * convolution. */
int kwino_choose(const KConv *c, int mode) {
  if (mode < 0) return 0;
  if (c->kh != 3 || c->kw != 3 || c->sh != 1 || c->sw != 1 || c->ib != 16 || c->res == 2) return 0;
  if (c->oh < 1 || c->ow < 1) return 0;
  if (mode == 2 || mode == 4) return mode;
  int tiles = cdiv(c->oh, 4) * cdiv(c->ow, 4);
  if (c->cin < 64 || c->cout < 64 || tiles < 36) return 0;
  return 4;
}

#define KWINO_BUDGET (1536 * 1024)   /* bytes of V and Mo per chunk */

int kwino_tiles(const KConv *c, int m) {
  int a = m + 2, nt = cdiv(c->oh, m) * cdiv(c->ow, m);
  long per = (long)a * a * (cdiv(c->cin, 16) + cdiv(c->cout, 16)) * 16 * 4;
  int t = (int)(KWINO_BUDGET / per);
  if (t < 8) t = 8;
  if (t > nt) t = nt;
  return cdiv(nt, cdiv(nt, t));    /* equal chunks */
}

KConv kwino_gemm(const KConv *c, int m, int t) {
  KConv g;
  (void)m;
  memset(&g, 0, sizeof g);
  g.cin = c->cin;
  g.cout = c->cout;
  g.h = g.oh = 1;
  g.w = g.ow = t;
  g.kh = g.kw = g.sh = g.sw = 1;
  g.ib = 16;
  g.wg = c->wg;
  g.act = ACT_NONE;
  return g;
}

size_t kwino_scratch_floats(const KConv *c, int m, int t) {
  size_t a = (size_t)m + 2;
  return a * a * (size_t)t * 16 * (size_t)(cdiv(c->cin, 16) + cdiv(c->cout, 16)) + (size_t)cdiv(c->cout, 16) * 16;
}

void kwino_name(const KConv *c, int m, char *buf, size_t n) {
  char k[200];
  kconv_name(c, k, sizeof k);
  snprintf(buf, n, "wino%d_%s", m, k + 4);   /* "conv3x3s1p1_..." -> "wino4_3x3s1p1_..." */
}

void kwino_params(FILE *f, const KConv *c, int m, int t, const char *gemm_base, int gemm_n) {
  int first = 1;
  KConv g = kwino_gemm(c, m, t);
  kp(f, &first, "CIN", "%d", c->cin);
  kp(f, &first, "COUT", "%d", c->cout);
  kp(f, &first, "H", "%d", c->h);
  kp(f, &first, "W", "%d", c->w);
  kp(f, &first, "OH", "%d", c->oh);
  kp(f, &first, "OW", "%d", c->ow);
  kp(f, &first, "PT", "%d", c->pt);
  kp(f, &first, "PL", "%d", c->pl);
  kp(f, &first, "M", "%d", m);
  kp(f, &first, "T", "%d", t);
  kp(f, &first, "RES", "%d", c->res == 1);
  act_params(f, &first, c->act, c->act_lo, c->act_hi, c->act_alpha);
  kp(f, &first, "GEMM_BASE", "%s", gemm_base);
  kp(f, &first, "GEMM_N", "%d", gemm_n);
  kp(f, &first, "USZ", "%zu", kconv_w_floats(&g));
}

/* ---- strided 1x1 convs: subsample, then stride 1 ------------------------ */

int ksub_applies(const KConv *c) {
  return c->kh == 1 && c->kw == 1 && (c->sh > 1 || c->sw > 1) && c->pt == 0 && c->pl == 0 &&
         c->ib == KERN_BLOCK && c->res != 2 && (long)(c->oh - 1) * c->sh < c->h &&
         (long)(c->ow - 1) * c->sw < c->w;
}

KConv ksub_gemm(const KConv *c) {
  KConv g = *c;
  g.h = c->oh;
  g.w = c->ow;
  g.sh = g.sw = 1;
  return g;
}

size_t ksub_scratch_floats(const KConv *c) {
  return (size_t)cdiv(c->cin, KERN_BLOCK) * KERN_BLOCK * (size_t)c->oh * (size_t)c->ow;
}

void ksub_name(const KConv *c, char *buf, size_t n) {
  char k[200];
  kconv_name(c, k, sizeof k);
  snprintf(buf, n, "sub_%s", k);
}

void ksub_params(FILE *f, const KConv *c, const char *gemm_base, int gemm_n) {
  int first = 1;
  kp(f, &first, "C", "%d", c->cin);
  kp(f, &first, "H", "%d", c->h);
  kp(f, &first, "W", "%d", c->w);
  kp(f, &first, "OH", "%d", c->oh);
  kp(f, &first, "OW", "%d", c->ow);
  kp(f, &first, "SH", "%d", c->sh);
  kp(f, &first, "SW", "%d", c->sw);
  kp(f, &first, "GEMM_BASE", "%s", gemm_base);
  kp(f, &first, "GEMM_N", "%d", gemm_n);
}

int kconv_choose_node(const Node *n, int winograd, KConv *c, int *m, int *t, int64_t *scratch_bytes) {
  *m = *t = 0;
  *scratch_bytes = 0;
  memset(c, 0, sizeof *c);
  if (n->op != OP_CONV || n->nout < 1 || !n->out[0] || n->out[0]->layout != LAYOUT_NCHWC) return 0;
  if (kconv_from_node(n, n->in[0]->layout == LAYOUT_NCHWC ? KERN_BLOCK : 1, c) != 0) return -1;
  if (n->nin > 3 && n->in[3] && n->a.res_view) c->res = 2;
  *m = kwino_choose(c, winograd);
  if (*m) {
    *t = kwino_tiles(c, *m);
    *scratch_bytes = (int64_t)kwino_scratch_floats(c, *m, *t) * (int64_t)sizeof(float);
  } else if (ksub_applies(c)) {
    *scratch_bytes = (int64_t)ksub_scratch_floats(c) * (int64_t)sizeof(float);
  }
  return 1;
}

/* ---- m4 ------------------------------------------------------------------ */

struct rn_embedded_file { const char *name; const char *text; size_t len; };
extern const struct rn_embedded_file rn_templates[];

/* Appends template NAME (the embedded copy, or DIR/NAME) to f. */
static int template_text(FILE *f, const char *dir, const char *name) {
  if (!dir) {
    for (const struct rn_embedded_file *e = rn_templates; e->name; e++)
      if (strcmp(e->name, name) == 0) return fwrite(e->text, 1, e->len, f) == e->len ? 0 : -1;
    fprintf(stderr, "resnetc: error: no template %s\n", name);
    return -1;
  }
  char path[4096], buf[1 << 14];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  FILE *t = fopen(path, "rb");
  if (!t) {
    fprintf(stderr, "resnetc: error: cannot read template %s: %s\n", path, strerror(errno));
    return -1;
  }
  size_t k;
  int ok = 1;
  while ((k = fread(buf, 1, sizeof buf, t)) > 0)
    if (fwrite(buf, 1, k, f) != k) ok = 0;
  fclose(t);
  return ok ? 0 : -1;
}

int kern_expand(FILE *out, const char *dir, const char *template_name, const char *op,
                const char *base, const char *params) {
  size_t n = strlen(op) + strlen(base) + strlen(params) + 64;
  char *call = malloc(n);
  if (!call) return -1;
  snprintf(call, n, "RN_KERNEL(<:%s:>, <:%s:>, <:1:>, <:%s:>)m4_dnl\n", op, base, params);
  int rc = kern_expand_calls(out, dir, template_name, call);
  free(call);
  return rc;
}

int kern_expand_calls(FILE *out, const char *dir, const char *templates, const char *calls) {
  char tmp[] = "/tmp/resnetc-m4-XXXXXX";
  int rc = -1, fd = mkstemp(tmp);
  FILE *in = fd >= 0 ? fdopen(fd, "w") : NULL;
  if (!in) {
    fprintf(stderr, "resnetc: error: cannot create a temporary file: %s\n", strerror(errno));
    if (fd >= 0) { close(fd); unlink(tmp); }
    return -1;
  }
  int ok = template_text(in, dir, "common.m4") == 0;
  for (const char *p = templates; ok && *p;) {
    char name[256];
    size_t k = strcspn(p, ",");
    snprintf(name, sizeof name, "%.*s", (int)(k < 255 ? k : 255), p);
    ok = template_text(in, dir, name) == 0;
    p += k + (p[k] == ',');
  }
  fprintf(in, "m4_define(<:RN_ISAS:>, <:simd, scalar:>)m4_divert(0)m4_dnl\n%s", calls);
  ok = fclose(in) == 0 && ok;
  if (ok) {
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "%s -P %s", M4_PROGRAM, tmp);
    FILE *p = popen(cmd, "r");
    if (p) {
      char buf[1 << 14];
      size_t k;
      while ((k = fread(buf, 1, sizeof buf, p)) > 0)
        if (fwrite(buf, 1, k, out) != k) ok = 0;
      int st = pclose(p);
      if (st == 0 && ok) rc = 0;
      else fprintf(stderr, "resnetc: error: m4 failed on templates %s\n", templates);
    } else {
      fprintf(stderr, "resnetc: error: cannot run %s\n", M4_PROGRAM);
    }
  }
  unlink(tmp);
  return rc;
}
