/* test_dot.c - the Graphviz writer: residual shortcuts found and drawn red
 * (identity, projection, and fused into a Conv epilogue), labels, escaping
 * of hostile names, and, where Graphviz is installed, that dot accepts it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dot.h"
#include "ir.h"
#include "testutil.h"

#define RED "c0392b"

static Tensor *act(Graph *g, const char *name, int64_t c, int64_t hw) {
  int64_t d[4] = {1, c, hw, hw};
  return ir_tensor(g, name, DT_FLOAT, 4, d);
}

static Tensor *weight(Graph *g, const char *name, int64_t o, int64_t i, int64_t k) {
  int64_t d[4] = {o, i, k, k};
  float *w = ir_alloc(g, sizeof(float) * (size_t)(o * i * k * k));
  return ir_const(g, name, DT_FLOAT, 4, d, w, 1);
}

static Node *conv(Graph *g, const char *name, Tensor *x, Tensor *w, Tensor *y, int64_t k, int64_t s) {
  Tensor *in[2] = {x, w};
  Node *n = ir_node(g, OP_CONV, name, 2, in, 1, &y);
  n->a.nsp = 2;
  n->a.kernel[0] = n->a.kernel[1] = k;
  n->a.stride[0] = n->a.stride[1] = s;
  return n;
}

static Node *unary(Graph *g, Op op, const char *name, Tensor *x, Tensor *y) {
  return ir_node(g, op, name, 1, &x, 1, &y);
}

static Node *add(Graph *g, const char *name, Tensor *a, Tensor *b, Tensor *y) {
  Tensor *in[2] = {a, b};
  return ir_node(g, OP_ADD, name, 2, in, 1, &y);
}

/* Two basic blocks as an exporter writes them:
 *   x -> c1 -> r1 -> c2 --(+x)--> a1 -> r2          identity shortcut
 *   r2 -> c3/2 -> r3 -> c4 --(+ds(r2))--> a2 -> out  projection, ds LAST
 * node ids: 0 c1, 1 r1, 2 c2, 3 a1, 4 r2, 5 c3, 6 r3, 7 c4, 8 ds, 9 a2 */
static Graph *two_blocks(void) {
  Graph *g = ir_graph_new("two \"blocks\"", "t.onnx");
  Tensor *x = act(g, "x", 4, 8);
  ir_add_input(g, x);
  Tensor *t1 = act(g, "t1", 4, 8), *t2 = act(g, "t2", 4, 8), *t3 = act(g, "t3", 4, 8);
  Tensor *t4 = act(g, "t4", 4, 8), *t5 = act(g, "t5", 4, 8);
  conv(g, "c1", x, weight(g, "w1", 4, 4, 3), t1, 3, 1);
  unary(g, OP_RELU, "r1", t1, t2);
  conv(g, "c2", t2, weight(g, "w2", 4, 4, 3), t3, 3, 1);
  add(g, "a1", t3, x, t4);
  unary(g, OP_RELU, "r2", t4, t5);
  Tensor *u1 = act(g, "u1", 8, 4), *u2 = act(g, "u2", 8, 4), *u3 = act(g, "u3", 8, 4);
  Tensor *u4 = act(g, "u4", 8, 4), *y = act(g, "y", 8, 4);
  conv(g, "c3", t5, weight(g, "w3", 8, 4, 3), u1, 3, 2);
  unary(g, OP_RELU, "r3", u1, u2);
  conv(g, "c4", u2, weight(g, "w4", 8, 8, 3), u3, 3, 1);
  conv(g, "evil\"name\\\nend", t5, weight(g, "w5", 8, 4, 1), u4, 1, 2);
  add(g, "a2", u3, u4, y);
  ir_add_output(g, y);
  ir_relink(g);
  return g;
}

static char *render(Graph *g) {
  char *buf = NULL;
  size_t len = 0;
  FILE *f = open_memstream(&buf, &len);
  IrTry t;
  if (ir_try_begin(&t)) { CU_FAIL("dot_write failed"); }
  else { dot_write(g, f); ir_try_end(&t); }
  fclose(f);
  return buf;
}

/* The line that starts with "  PREFIX" (an edge "n2 -> n3 " or a node
 * "n8 ["), copied into a static buffer; "" when absent. */
static const char *line_of(const char *text, const char *prefix) {
  static char line[1024];
  char pat[128];
  snprintf(pat, sizeof pat, "\n  %s", prefix);
  const char *p = strstr(text, pat);
  line[0] = 0;
  if (!p) return line;
  p += 3;
  size_t n = strcspn(p, "\n");
  if (n >= sizeof line) n = sizeof line - 1;
  memcpy(line, p, n);
  line[n] = 0;
  return line;
}

static int is_red(const char *text, const char *prefix) {
  const char *l = line_of(text, prefix);
  CU_ASSERT_NOT_EQUAL(l[0], 0);   /* the line must exist */
  return strstr(l, RED) != NULL;
}

static void test_identity_and_projection_shortcuts(void) {
  Graph *g = two_blocks();
  char *s = render(g);
  /* identity: x straight into the add, main path c2 -> a1 not red */
  CU_ASSERT_TRUE(is_red(s, "in0 -> n3 "));
  CU_ASSERT_FALSE(is_red(s, "n2 -> n3 "));
  CU_ASSERT_FALSE(is_red(s, "in0 -> n0 "));
  /* projection: the 1x1 conv (node 8, written after the main path) is on
   * the shortcut, its edges too; the main path of that block is not */
  CU_ASSERT_TRUE(is_red(s, "n8 ["));
  CU_ASSERT_TRUE(is_red(s, "n4 -> n8 "));
  CU_ASSERT_TRUE(is_red(s, "n8 -> n9 "));
  CU_ASSERT_FALSE(is_red(s, "n7 -> n9 "));
  CU_ASSERT_FALSE(is_red(s, "n5 ["));
  CU_ASSERT_FALSE(is_red(s, "n4 -> n5 "));
  /* labels: kernel, stride, channels; shapes on edges without the batch */
  CU_ASSERT_PTR_NOT_NULL(strstr(line_of(s, "n5 ["), "Conv 3x3 /2\\n4->8"));
  CU_ASSERT_PTR_NOT_NULL(strstr(line_of(s, "n5 -> n6 "), "label=\"8x4x4\""));
  /* opset 0 (a .resnet model): the output tensor's name, then the node's */
  CU_ASSERT_PTR_NOT_NULL(strstr(line_of(s, "n5 ["), "4->8\\nu1\\nc3\""));
  CU_ASSERT_PTR_NOT_NULL(strstr(line_of(s, "n9 -> out0"), "n9 -> out0"));
  free(s);
  ir_graph_free(g);
}

static void test_escaping(void) {
  Graph *g = two_blocks();
  char *s = render(g);
  CU_ASSERT_PTR_NOT_NULL(strstr(s, "digraph \"two \\\"blocks\\\"\" {"));
  CU_ASSERT_PTR_NOT_NULL(strstr(line_of(s, "n8 ["), "evil\\\"name\\\\?end"));
  /* no raw newline inside any quoted string: every line has balanced
   * unescaped quotes */
  for (const char *p = s; *p;) {
    int q = 0;
    for (; *p && *p != '\n'; p++) {
      if (*p == '\\' && p[1]) { p++; continue; }
      if (*p == '"') q ^= 1;
    }
    CU_ASSERT_EQUAL(q, 0);
    if (*p) p++;
  }
  free(s);
  ir_graph_free(g);
}

/* After shortcut fusion the Add is gone: Conv carries the residual in
 * in[3] and a ReLU epilogue. */
static void test_fused_residual(void) {
  Graph *g = ir_graph_new("fused", "t.onnx");
  g->opset = 13;   /* ONNX: node names only */
  Tensor *x = act(g, "x", 4, 8);
  ir_add_input(g, x);
  Tensor *t1 = act(g, "t1", 4, 8), *y = act(g, "y", 4, 8);
  Node *c1 = conv(g, "c1", x, weight(g, "w1", 4, 4, 3), t1, 3, 1);
  c1->a.act = ACT_RELU;
  Tensor *in[4] = {t1, weight(g, "w2", 4, 4, 3), NULL, x};
  Node *c2 = ir_node(g, OP_CONV, "c2", 4, in, 1, &y);
  c2->a.nsp = 2;
  c2->a.kernel[0] = c2->a.kernel[1] = 3;
  c2->a.act = ACT_RELU;
  ir_add_output(g, y);
  ir_relink(g);
  char *s = render(g);
  CU_ASSERT_TRUE(is_red(s, "in0 -> n1 "));
  CU_ASSERT_FALSE(is_red(s, "n0 -> n1 "));
  CU_ASSERT_FALSE(is_red(s, "in0 -> n0 "));
  CU_ASSERT_PTR_NOT_NULL(strstr(line_of(s, "n1 ["), "+ shortcut, ReLU\\nc2\""));
  CU_ASSERT_PTR_NOT_NULL(strstr(line_of(s, "n0 ["), "+ ReLU"));
  free(s);
  ir_graph_free(g);
}

/* dot_write_file: header comment, and Graphviz accepts the file. */
static void test_file_and_graphviz(void) {
  Graph *g = two_blocks();
  const char *dir = rn_tmpdir("dot");
  char path[1024], svg[1024];
  snprintf(path, sizeof path, "%s/g.dot", dir);
  snprintf(svg, sizeof svg, "%s/g.svg", dir);
  CU_ASSERT_EQUAL(dot_write_file(g, path, "resnetc m.onnx --dot g.dot"), 0);
  size_t len;
  char *s = rn_read_file(path, &len);
  CU_ASSERT_PTR_NOT_NULL_FATAL(s);
  CU_ASSERT_EQUAL(strncmp(s, "// Generated by resnetc " RESNETC_VERSION ": resnetc m.onnx --dot g.dot\n",
                          strlen("// Generated by resnetc " RESNETC_VERSION ": resnetc m.onnx --dot g.dot\n")), 0);
  free(s);
  /* an unwritable path fails with a message and leaves nothing */
  char bad[1100];
  snprintf(bad, sizeof bad, "%s/no/such/dir/g.dot", dir);
  CU_ASSERT_EQUAL(dot_write_file(g, bad, NULL), -1);
  if (rn_system(NULL, "command -v dot >/dev/null 2>&1") == 0) {
    CU_ASSERT_EQUAL(rn_system(NULL, "dot -Tsvg '%s' -o '%s'", path, svg), 0);
    s = rn_read_file(svg, &len);
    CU_ASSERT_PTR_NOT_NULL(s);
    if (s) CU_ASSERT_PTR_NOT_NULL(strstr(s, "<svg"));
    free(s);
  } else {
    fprintf(stderr, "test_dot: graphviz absent, rendering not checked\n");
  }
  ir_graph_free(g);
}

int main(void) {
  CU_initialize_registry();
  CU_pSuite s = CU_add_suite("dot", NULL, NULL);
  CU_add_test(s, "identity and projection shortcuts", test_identity_and_projection_shortcuts);
  CU_add_test(s, "escaping of model names", test_escaping);
  CU_add_test(s, "fused residual epilogue", test_fused_residual);
  CU_add_test(s, "file header, graphviz accepts it", test_file_and_graphviz);
  return rn_run_tests();
}
