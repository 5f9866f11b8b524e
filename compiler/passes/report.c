/*
 * report.c - what the optimiser did, for people: the --report table and
 * the --plan-svg drawing of the memory plan.
 *
 * The table has one row per node in execution order: the op and what is
 * fused into it, the output shape, multiply-adds, and where the output
 * lives (arena offset and bytes, "view" for an alias, "out" for a graph
 * output).  It ends with the pass statistics and the three plan numbers
 * on one line that scripts grep:
 *   arena_bytes=A lower_bound_bytes=L naive_bytes=N
 *
 * The SVG puts steps (nodes) across and arena offsets down: each planned
 * tensor is a rectangle from the step that writes it to the last step
 * that reads it, as tall as its bytes, with its name as a tooltip and,
 * when it fits, as a label.
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
  const double left = 60, top = 40, plot_h = 720;
  double stepw = 1200.0 / ns;
  if (stepw < 6) stepw = 6;
  if (stepw > 40) stepw = 40;
  double arena = ps.arena_bytes > 0 ? (double)ps.arena_bytes : 1;
  double scale = plot_h / arena;
  double w = left + stepw * ns + 20, h = top + plot_h + 40;
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
  fprintf(f, "<text x=\"%.0f\" y=\"20\" font-size=\"13\">", left);
  xml_text(f, g->name);
  fprintf(f, ": arena %" PRId64 " bytes, lower bound %" PRId64 ", naive %" PRId64
             " (steps across, offset down)</text>\n",
          ps.arena_bytes, ps.lower_bound_bytes, ps.naive_bytes);
  fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#f4f4f4\" stroke=\"#888\"/>\n",
          left, top, stepw * ns, plot_h);
  fprintf(f, "<text x=\"4\" y=\"%.1f\">0</text>\n", top + 10);
  fprintf(f, "<text x=\"4\" y=\"%.1f\">%" PRId64 "</text>\n", top + plot_h, ps.arena_bytes);
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
  static const char *colors[] = {"#8dd3c7", "#ffffb3", "#bebada", "#fb8072", "#80b1d3",
                                 "#fdb462", "#b3de69", "#fccde5", "#d9d9d9", "#bc80bd"};
  for (int i = 0; i < nt; i++) {
    Tensor *t = g->tensors[i];
    if (first[i] < 0 || t->offset < 0) continue;
    double x = left + first[i] * stepw, rw = (last[i] - first[i] + 1) * stepw;
    double y = top + (double)t->offset * scale, rh = (double)plan_tensor_bytes(t) * scale;
    if (rh < 1) rh = 1;
    fprintf(f, "<g><title>");
    xml_text(f, t->name);
    fprintf(f, ": offset %" PRId64 ", %" PRId64 " bytes, steps %d-%d</title>", t->offset,
            plan_tensor_bytes(t), first[i], last[i]);
    fprintf(f, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"%s\" "
               "stroke=\"#333\" stroke-width=\"0.5\"/>",
            x, y, rw, rh, colors[i % 10]);
    if (rh >= 11 && rw >= 30) {
      fprintf(f, "<text x=\"%.1f\" y=\"%.1f\">", x + 2, y + 10);
      const char *nm = t->name;
      size_t len = strlen(nm), fit = (size_t)(rw / 6);
      char shortname[64];
      if (len > fit && fit < sizeof shortname) {
        /* the end of a long name says more ("/layer2/.../Relu_output_0") */
        snprintf(shortname, sizeof shortname, "%s", nm + len - fit);
        nm = shortname;
      }
      xml_text(f, nm);
      fprintf(f, "</text>");
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
