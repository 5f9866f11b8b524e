/*
 * report.c - what the optimiser did, for people: the --report table and
 * the --plan-svg drawing of the memory plan.
 *
 * The table has one row per node in execution order: the op and what is
 * fused into it, the output shape, multiply-adds, and where the output
 * lives (arena offset and bytes, "view" for an alias, "out" for a graph
 * output), and below a node whose kernel needs scratch (Winograd, a
 * strided 1x1) a "scratch" row with its planned offset and bytes.  It ends with the pass statistics and the three plan numbers
 * on one line that scripts grep:
 *   arena_bytes=A lower_bound_bytes=L naive_bytes=N
 *
 * The SVG puts steps (nodes) across and arena offsets down, with an
 * offset axis in bytes: each planned tensor is a rectangle from the step
 * that writes it to the last step that reads it, as tall as its bytes,
 * labelled (when it fits) with the name of the layer that writes it and
 * its size, the details in a tooltip.  Each kernel scratch the planner
 * placed (Winograd, strided 1x1) is a hatched box at its step.
 */
#include "passes.h"

#ifndef RESNETC_VERSION
#define RESNETC_VERSION "unknown"
#endif

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *act_name(Act a) {
  switch (a) {
  case ACT_RELU: return "relu";
  case ACT_CLIP: return "clip";
  case ACT_LEAKYRELU: return "leakyrelu";
  default: return "";
  }
}

static const char *op_name(Op op) {
  return op_info[op].name ? op_info[op].name : "(internal)";
}

char *report_node_str(const Node *n, char *buf, size_t size) {
  size_t k = (size_t)snprintf(buf, size, "%s", op_name(n->op));
  const char *parts[6];
  int np = 0;
  char post[32];
  if ((n->op == OP_CONV || n->op == OP_GEMM) && n->nin > 3 && n->in[3])
    parts[np++] = n->a.res_view ? "+residual_view" : "+residual";
  if (n->a.act != ACT_NONE && (n->op == OP_CONV || n->op == OP_GEMM || n->op == OP_BATCHNORM)) {
    static const char *names[] = {"", "+relu", "+clip", "+leakyrelu"};
    parts[np++] = names[n->a.act];
  }
  if (n->op == OP_CONV && n->nout == 2) {
    snprintf(post, sizeof post, "+bn%s%s", n->a.post_act ? "_" : "", act_name(n->a.post_act));
    parts[np++] = post;
  }
  if (n->op == OP_GEMM && n->in[0] && n->in[0]->rank > 2) parts[np++] = "+flatten";
  for (int i = 0; i < np && k < size; i++)
    k += (size_t)snprintf(buf + k, size - k, "%s%s", i ? "," : "(", parts[i]);
  if (np && k < size) snprintf(buf + k, size - k, ")");
  return buf;
}

char *report_op_sequence(Graph *g) {
  size_t cap = 64 * (size_t)(g->nnodes + 1), k = 0;
  char *s = ir_alloc(g, cap);
  char one[128];
  for (int i = 0; i < g->nnodes; i++)
    k += (size_t)snprintf(s + k, cap - k, "%s%s", i ? " " : "", report_node_str(g->nodes[i], one, sizeof one));
  return s;
}

int64_t report_node_macs(const Node *n) {
  const Tensor *y = n->nout ? n->out[0] : NULL;
  if (!y || y->rank < 0) return 0;
  if (n->op == OP_CONV) {
    const Tensor *w = n->in[1];
    if (w->rank < 1 || w->dims[0] <= 0) return 0;
    return ir_mul_checked(ir_numel(y), ir_numel(w) / w->dims[0]);
  }
  if (n->op == OP_GEMM || n->op == OP_MATMUL) {
    const Tensor *b = n->in[1];
    if (b->rank < 2) return 0;
    int64_t k = (n->op == OP_GEMM && n->a.trans_b) ? b->dims[b->rank - 1] : b->dims[b->rank - 2];
    return ir_mul_checked(ir_numel(y), k);
  }
  return 0;
}

void report_print(Graph *g, const PassLog *log, FILE *f) {
  PlanSummary ps;
  plan_summary(g, &ps);
  fprintf(f, "%-4s %-34s %-20s %12s %10s %10s  %s\n", "#", "op", "output", "MACs", "offset",
          "bytes", "tensor");
  int64_t macs = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    char op[128], sh[160], off[32], bytes[32];
    report_node_str(n, op, sizeof op);
    for (int j = 0; j < n->nout; j++) {
      Tensor *t = n->out[j];
      if (!t) continue;
      ir_shape_str(t, sh, sizeof sh);
      if (t->is_output) {
        snprintf(off, sizeof off, "out");
        snprintf(bytes, sizeof bytes, "%" PRId64, ir_bytes(t));
      } else if (t->alias) {
        snprintf(off, sizeof off, "view");
        snprintf(bytes, sizeof bytes, "-");
      } else if (t->offset >= 0) {
        snprintf(off, sizeof off, "%" PRId64, t->offset);
        snprintf(bytes, sizeof bytes, "%" PRId64, plan_tensor_bytes(t));
      } else {
        snprintf(off, sizeof off, "-");
        snprintf(bytes, sizeof bytes, "-");
      }
      int64_t m = j == 0 ? report_node_macs(n) : 0;
      macs += m;
      fprintf(f, "%-4d %-34s %-20s %12" PRId64 " %10s %10s  %s\n", i, j == 0 ? op : "",
              sh, m, off, bytes, t->name);
    }
    if (n->scratch_bytes > 0 && n->scratch_offset >= 0)   /* planned like a tensor (plan.c) */
      fprintf(f, "%-4s %-34s %-20s %12s %10" PRId64 " %10" PRId64 "  (kernel scratch, this step only)\n", "",
              "  scratch", "", "", n->scratch_offset, n->scratch_bytes);
  }
  fprintf(f, "total multiply-adds %" PRId64 ", %d nodes\n", macs, g->nnodes);
  passes_print_log(log, f);
  fprintf(f, "arena_bytes=%" PRId64 " lower_bound_bytes=%" PRId64 " naive_bytes=%" PRId64 "\n",
          ps.arena_bytes, ps.lower_bound_bytes, ps.naive_bytes);
}

/* ---- SVG ------------------------------------------------------------------ */

static void xml_text(FILE *f, const char *s) {
  for (; *s; s++) {
    unsigned char c = (unsigned char)*s;
    switch (c) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&apos;", f); break;
    default:
      /* control characters are not allowed in XML 1.0; non-ASCII bytes
       * are replaced too, so a cut or malformed UTF-8 name stays valid */
      if ((c < 0x20 && c != '\t' && c != '\n') || c >= 0x80) fputc('?', f);
      else fputc(c, f);
    }
  }
}

/* A readable name for the layer that writes a tensor: the producing
 * node's name without the ONNX exporter's scaffolding ("/layer4/layer4.1/
 * conv2/Conv" -> "layer4.1/conv2": the trailing op type and a scope that
 * the next one repeats are dropped).  .resnet nodes are named by their
 * source position ("file:3:5"): their tensors carry the layer names
 * ("layer1.0.relu"), used instead, as for tensors without a producer. */
static void layer_label(const Tensor *t, char *buf, size_t size) {
  const Node *n = t->producer;
  const char *nm = n && n->name && *n->name && !strchr(n->name, ':') ? n->name : t->name;
  char seg[16][96];
  int k = 0;
  for (const char *p = nm; *p && k < 16;) {
    while (*p == '/') p++;
    size_t len = strcspn(p, "/");
    if (len == 0) break;
    snprintf(seg[k], sizeof seg[k], "%.*s", (int)(len < 95 ? len : 95), p);
    k++;
    p += len;
  }
  if (k > 1 && op_from_onnx(seg[k - 1]) >= 0) k--;     /* ".../Conv" */
  buf[0] = 0;
  size_t used = 0;
  for (int i = 0; i < k; i++) {
    if (i + 1 < k && strncmp(seg[i + 1], seg[i], strlen(seg[i])) == 0) continue;  /* "layer4/layer4.1" */
    int w = snprintf(buf + used, size - used, "%s%s", used ? "/" : "", seg[i]);
    if (w < 0 || (size_t)w >= size - used) break;
    used += (size_t)w;
  }
  if (!buf[0]) snprintf(buf, size, "%s", nm);
}

/* "392 KB", "1.5 MB", "960 B" */
static void human_bytes(int64_t b, char *buf, size_t size) {
  double mb = (double)b / (1024.0 * 1024.0), kb = (double)b / 1024.0;
  if (b >= 10 * 1024 * 1024 || (b >= 1024 * 1024 && b % (1024 * 1024) == 0)) snprintf(buf, size, "%.0f MB", mb);
  else if (b >= 1024 * 1024) snprintf(buf, size, "%.1f MB", mb);
  else if (b >= 1024) snprintf(buf, size, "%.0f KB", kb);
  else snprintf(buf, size, "%" PRId64 " B", b);
}

/* A label inside a box of width rw (about 6 px a character); a long one
 * (cut != 0) is cut at the front, where layer names repeat their scope,
 * marked with "..", unless too little would be left to read. */
static void box_text(FILE *f, double x, double y, double rw, const char *text, int cut_ok) {
  size_t len = strlen(text), fit = rw > 6 ? (size_t)((rw - 4) / 7.0) : 0;
  if (len > fit && (!cut_ok || fit < 8)) return;
  char cut[128];
  if (len > fit) {
    if (fit >= sizeof cut) fit = sizeof cut - 1;
    snprintf(cut, sizeof cut, "..%s", text + len - (fit - 2));
    text = cut;
  }
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x, y);
  xml_text(f, text);
  fprintf(f, "</text>");
}

int report_plan_svg(Graph *g, const char *path, const char *command_line) {
  PlanSummary ps;
  plan_summary(g, &ps);
  int nt = g->ntensors, ns = g->nnodes > 0 ? g->nnodes : 1;
  int *first = ir_alloc(g, sizeof(int) * (size_t)(nt + 1));
  int *last = ir_alloc(g, sizeof(int) * (size_t)(nt + 1));
  plan_live_ranges(g, first, last);
  char *tmp = ir_fmt(g, "%s.tmp", path);
  FILE *f = fopen(tmp, "w");
  if (!f) {
    if (!ir_quiet) fprintf(stderr, "%s: error: cannot write: %s\n", path, strerror(errno));
    return -1;
  }
  const double left = 78, top = 70, plot_h = 720;
  double stepw = 1200.0 / ns;
  if (stepw < 6) stepw = 6;
  if (stepw > 60) stepw = 60;
  double arena = ps.arena_bytes > 0 ? (double)ps.arena_bytes : 1;
  double scale = plot_h / arena;
  double w = left + stepw * ns + 20, h = top + plot_h + 56;
  if (w < 760) w = 760;      /* room for the title and legend */
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  /* what made it, as the .dot and the generated C say (the command line
   * in <desc>: an XML comment may not hold the "--" of its options) */
  fprintf(f, "<!-- Generated by resnetc %s -->\n", RESNETC_VERSION);
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%.0f\" height=\"%.0f\" "
             "viewBox=\"0 0 %.0f %.0f\" font-family=\"sans-serif\" font-size=\"10\">\n", w, h, w, h);
  fprintf(f, "<title>memory plan of ");
  xml_text(f, g->name);
  fprintf(f, "</title>\n");
  if (command_line) {
    fprintf(f, "<desc>resnetc %s: ", RESNETC_VERSION);
    xml_text(f, command_line);
    fprintf(f, "</desc>\n");
  }
  /* hatching for kernel scratch */
  fprintf(f, "<defs><pattern id=\"scratch\" width=\"6\" height=\"6\" patternUnits=\"userSpaceOnUse\" "
             "patternTransform=\"rotate(45)\"><rect width=\"6\" height=\"6\" fill=\"#eee\"/>"
             "<line x1=\"0\" y1=\"0\" x2=\"0\" y2=\"6\" stroke=\"#888\" stroke-width=\"2\"/></pattern></defs>\n");
  char ha[32], hl[32], hn[32];
  human_bytes(ps.arena_bytes, ha, sizeof ha);
  human_bytes(ps.lower_bound_bytes, hl, sizeof hl);
  human_bytes(ps.naive_bytes, hn, sizeof hn);
  fprintf(f, "<text x=\"%.0f\" y=\"20\" font-size=\"13\">", left);
  xml_text(f, g->name);
  fprintf(f, ": arena %" PRId64 " bytes (%s), lower bound %" PRId64 " (%s), naive %" PRId64 " (%s)</text>\n",
          ps.arena_bytes, ha, ps.lower_bound_bytes, hl, ps.naive_bytes, hn);
  fprintf(f, "<text x=\"%.0f\" y=\"38\" fill=\"#444\">each box: a tensor, from the step that writes it "
             "to the last that reads it, at its arena offset,</text>\n"
             "<text x=\"%.0f\" y=\"52\" fill=\"#444\">labelled with the layer that writes it and its size; "
             "hatched: a kernel&apos;s scratch (Winograd, strided 1x1) during its step</text>\n",
          left, left);
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f4f4f4\" stroke=\"#888\"/>\n",
          left, top, stepw * ns, plot_h);
  /* the offset axis: about 8 ticks at 1, 2 or 5 times a power of ten of
   * bytes, KB or MB (as the labels count them), and the arena's end */
  double base = arena >= 2.0 * 1024 * 1024 ? 1024.0 * 1024 : arena >= 2.0 * 1024 ? 1024.0 : 1.0;
  double raw = arena / 8 / base, unit = 1;
  while (unit * 10 <= raw) unit *= 10;
  while (unit > raw && unit * base > 64) unit /= 10;
  double tick = (raw <= unit ? unit : raw <= 2 * unit ? 2 * unit : raw <= 5 * unit ? 5 * unit : 10 * unit) * base;
  for (double o = 0; o < arena && (o == 0 || (arena - o) * scale >= 14); o += tick) {
    char hb[32];
    double y = top + o * scale;
    human_bytes((int64_t)o, hb, sizeof hb);
    fprintf(f, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#ccc\" stroke-width=\"0.5\"/>"
               "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n",
            left - 4, y, left + stepw * ns, y, left - 6, y + 3, (int64_t)o == 0 ? "0" : hb);
  }
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>\n", left - 6, top + plot_h + 3, ha);
  fprintf(f, "<text x=\"12\" y=\"%.1f\" transform=\"rotate(-90 12 %.1f)\" text-anchor=\"middle\" "
             "fill=\"#444\">arena offset</text>\n", top + plot_h / 2, top + plot_h / 2);
  /* the steps along the bottom: index, and the node as a tooltip */
  int every = stepw >= 14 ? 1 : (int)(14 / stepw) + 1;
  for (int i = 0; i < g->nnodes; i++) {
    char op[128];
    double x = left + i * stepw;
    fprintf(f, "<g><title>step %d: ", i);
    xml_text(f, report_node_str(g->nodes[i], op, sizeof op));
    fprintf(f, " ");
    xml_text(f, g->nodes[i]->name);
    fprintf(f, "</title><rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"12\" fill=\"%s\"/>",
            x, top + plot_h + 2, stepw, i % 2 ? "#ddd" : "#eee");
    if (i % every == 0) fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">%d</text>", x + 1, top + plot_h + 24, i);
    fprintf(f, "</g>\n");
  }
  fprintf(f, "<text x=\"%.1f\" y=\"%.1f\" fill=\"#444\">step (node in execution order)</text>\n", left,
          top + plot_h + 40);
  static const char *colors[] = {"#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3",
                                 "#fdb462", "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd"};
  for (int i = 0; i < nt; i++) {
    Tensor *t = g->tensors[i];
    if (first[i] < 0 || t->offset < 0) continue;
    double x = left + first[i] * stepw, rw = (last[i] - first[i] + 1) * stepw;
    double y = top + (double)t->offset * scale, rh = (double)plan_tensor_bytes(t) * scale;
    if (rh < 2) rh = 2;      /* small tensors stay visible */
    char label[200], hb[32], op[128];
    layer_label(t, label, sizeof label);
    human_bytes(plan_tensor_bytes(t), hb, sizeof hb);
    fprintf(f, "<g><title>");
    xml_text(f, label);
    fprintf(f, " (");
    xml_text(f, t->producer ? report_node_str(t->producer, op, sizeof op) : "input");
    fprintf(f, "): tensor ");
    xml_text(f, t->name);
    fprintf(f, ", offset %" PRId64 ", %" PRId64 " bytes, steps %d-%d</title>", t->offset,
            plan_tensor_bytes(t), first[i], last[i]);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
               "stroke=\"#333\" stroke-width=\"0.5\"/>",
            x, y, rw, rh, colors[i % 10]);
    if (rh >= 24) {          /* name, then size */
      box_text(f, x + 2, y + 10, rw, label, 1);
      box_text(f, x + 2, y + 21, rw, hb, 0);
    } else if (rh >= 11) {
      char both[260];
      snprintf(both, sizeof both, "%s %s", label, hb);
      box_text(f, x + 2, y + 10, rw, (size_t)((rw - 4) / 7.0) >= strlen(both) ? both : label, 1);
    }
    fprintf(f, "</g>\n");
  }
  for (int i = 0; i < g->nnodes; i++) {       /* kernel scratch */
    const Node *n = g->nodes[i];
    if (n->scratch_bytes <= 0 || n->scratch_offset < 0) continue;
    double x = left + i * stepw, y = top + (double)n->scratch_offset * scale;
    double rh = (double)n->scratch_bytes * scale;
    if (rh < 2) rh = 2;
    char hb[32], op[128];
    human_bytes(n->scratch_bytes, hb, sizeof hb);
    fprintf(f, "<g><title>kernel scratch of step %d (", i);
    xml_text(f, report_node_str(n, op, sizeof op));
    fprintf(f, " ");
    xml_text(f, n->name);
    fprintf(f, "): offset %" PRId64 ", %" PRId64 " bytes</title>", n->scratch_offset, n->scratch_bytes);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"url(#scratch)\" "
               "stroke=\"#333\" stroke-width=\"0.5\"/>", x, y, stepw, rh);
    if (rh >= 24 && stepw >= 30) {
      box_text(f, x + 2, y + 10, stepw, "scratch", 0);
      box_text(f, x + 2, y + 21, stepw, hb, 0);
    }
    fprintf(f, "</g>\n");
  }
  fprintf(f, "</svg>\n");
  int bad = ferror(f);
  if (fclose(f) != 0) bad = 1;
  if (bad || rename(tmp, path) != 0) {
    if (!ir_quiet) fprintf(stderr, "%s: error: cannot write: %s\n", path, strerror(errno));
    remove(tmp);
    return -1;
  }
  return 0;
}
