/* test_passes.c: each inference pass alone, on a small model built for it:
 * what it removes, what it fuses, and what it must leave alone. (That the
 * numbers do not change is checked end to end in tests/e2e, with and
 * without each pass, against the reference interpreter.) */
#include "netc.h"

#include <string.h>

static int failures;

#define CHECK(cond, ...)                                                        \
  do {                                                                          \
    if (!(cond)) {                                                              \
      fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);                     \
      fprintf(stderr, __VA_ARGS__);                                             \
      fputc('\n', stderr);                                                      \
      failures++;                                                               \
    }                                                                           \
  } while (0)

static Compilation *compile(const char *src) {
  bool ok;
  Compilation *c = compile_source("pass.net", src, strlen(src), stderr, 1, &ok);
  if (!ok) {
    fprintf(stderr, "FAIL: does not compile:\n%s\n", src);
    failures++;
    compilation_free(c);
    return NULL;
  }
  return c;
}

static Node *find(Graph *g, const char *name) {
  for (int i = 0; i < g->nnodes; i++)
    if (strcmp(g->nodes[i]->name, name) == 0)
      return g->nodes[i];
  return NULL;
}

static int count_op(const Graph *g, OpKind op) {
  int n = 0;
  for (int i = 0; i < g->nnodes; i++)
    n += g->nodes[i]->op == op;
  return n;
}

static void test_remove_dropout(void) {
  Compilation *c = compile("network m(input: 16) {\n"
                           "  x = input -> dense(8) -> dropout(0.5) -> linear\n"
                           "  return x -> dense(4)\n}\n");
  if (!c)
    return;
  Graph *g = graph_clone(c->arena, c->graph);
  int n = pass_remove_dropout(g);
  CHECK(n == 2, "remove_dropout removed %d layers, want 2", n);
  CHECK(count_op(g, OP_DROPOUT) == 0 && count_op(g, OP_LINEAR) == 0, "dropout/linear left");
  CHECK(find(g, "dense_1")->inputs[0] == find(g, "dense"), "dense_1 does not read dense");
  CHECK(c->graph->nnodes == 5, "the original graph changed (%d nodes)", c->graph->nnodes);
  compilation_free(c);
}

static void test_fold_bn(void) {
  Compilation *c = compile("network m(input: 8x8x3) {\n"
                           "  a = input -> conv(4, 3, pad = same) -> bn\n"           /* folds */
                           "  b = input -> conv(4, 3, pad = same, activation = relu) -> bn\n"  /* act first: no */
                           "  p = input -> conv(4, 3, pad = same, name = \"shared\")\n"
                           "  q = p -> bn\n"                                            /* p read twice: no */
                           "  return concat(a, b, q, p)\n}\n");
  if (!c)
    return;
  Graph *g = graph_clone(c->arena, c->graph);
  int n = pass_fold_bn(g);
  CHECK(n == 1, "fold_bn folded %d, want 1", n);
  CHECK(find(g, "conv")->bn_folded && strcmp(find(g, "conv")->bn_folded->name, "bn") == 0, "bn not folded into conv");
  CHECK(!find(g, "conv_1")->bn_folded, "folded across an activation");
  CHECK(!find(g, "shared")->bn_folded, "folded into a layer with two readers");
  CHECK(count_op(g, OP_BN) == 2, "%d batch norms left, want 2", count_op(g, OP_BN));
  compilation_free(c);
}

static void test_fuse_residual(void) {
  Compilation *c = compile("network m(input: 8x8x4) {\n"
                           "  x = input -> conv(4, 3, pad = same)\n"
                           "  y = x -> conv(4, 3, pad = same, name = \"late\")\n"
                           "  return x + y\n}\n");
  if (!c)
    return;
  Graph *g = graph_clone(c->arena, c->graph);
  int n = pass_fuse_residual(g);
  Node *late = find(g, "late");
  CHECK(n == 1, "fuse_residual fused %d, want 1", n);
  CHECK(late && late->residual == find(g, "conv"), "the later conv does not carry the earlier one as residual");
  CHECK(count_op(g, OP_ADD) == 0, "add left");
  CHECK(g->outputs[0] == late, "the output is not the fused conv");
  compilation_free(c);
}

static void test_fuse_activation(void) {
  Compilation *c = compile("network m(input: 8x8x4) {\n"
                           "  x = input -> bn -> relu -> conv(4, 3, pad = same)\n"   /* pre-activation */
                           "  y = x -> maxpool(2) -> relu\n"                          /* pool: no epilogue */
                           "  return y -> flatten -> dense(3) -> softmax\n}\n");     /* softmax: its own kernel */
  if (!c)
    return;
  Graph *g = graph_clone(c->arena, c->graph);
  int n = pass_fuse_activation(g);
  CHECK(n == 1, "fuse_activation fused %d, want 1", n);
  CHECK(find(g, "bn")->attr.act == ACT_RELU, "bn does not apply relu");
  CHECK(find(g, "conv")->inputs[0] == find(g, "bn"), "conv does not read bn directly");
  CHECK(count_op(g, OP_RELU) == 1, "the relu after the pool was fused");
  CHECK(count_op(g, OP_SOFTMAX) == 1, "softmax was fused");
  compilation_free(c);
}

static void test_fuse_preactivation(void) {
  Compilation *c = compile("network m(input: 8x8x16) {\n"
                           "  a = input -> bn -> relu -> dwconv(3, pad = same)\n"        /* fuses */
                           "  b = input -> bn -> relu -> conv(16, 1)\n"                  /* a GEMM conv: no */
                           "  w = input -> bn -> relu -> conv(16, 3, pad = same)\n"      /* Winograd: fuses */
                           "  p = input -> bn(name = \"shared\")\n"
                           "  q = p -> dwconv(3, pad = same)\n"                           /* p read twice: no */
                           "  v = input -> bn -> relu -> avgpool(2, stride = 1, pad = same)\n" /* fuses */
                           "  m = input -> bn -> relu -> maxpool(2, stride = 1, pad = same)\n" /* a max: no */
                           "  return concat(a, b, w, q, p, v, m)\n}\n");
  if (!c)
    return;
  Graph *g = graph_clone(c->arena, c->graph);
  pass_fuse_activation(g);
  pass_select_winograd(g);
  int n = pass_fuse_preactivation(g);
  CHECK(n == 3, "fuse_preactivation fused %d, want 3", n);
  Node *dw = find(g, "dwconv");
  CHECK(dw && dw->preact && strcmp(dw->preact->name, "bn") == 0, "bn not moved into dwconv's input");
  CHECK(dw && dw->preact->attr.act == ACT_RELU, "the relu was not carried along");
  CHECK(dw && dw->inputs[0] == g->inputs[0], "dwconv does not read the input directly");
  CHECK(!find(g, "bn"), "the fused bn is still a layer");
  CHECK(!find(g, "dwconv_1")->preact, "fused a batch norm with two readers");
  CHECK(!find(g, "conv")->preact, "fused into a GEMM convolution");
  Node *wino = find(g, "conv_1");
  CHECK(wino && wino->winograd_tile && wino->preact && strcmp(wino->preact->name, "bn_2") == 0,
        "bn_2 not moved into the Winograd conv's input");
  CHECK(wino && wino->inputs[0] == g->inputs[0], "the Winograd conv does not read the input directly");
  Node *avg = find(g, "avgpool");
  CHECK(avg && avg->preact && avg->preact->attr.act == ACT_RELU && avg->inputs[0] == g->inputs[0],
        "the batch norm and relu not moved into the average pool's input");
  CHECK(!find(g, "maxpool")->preact, "fused into a max pool");
  CHECK(count_op(g, OP_BN) == 3, "%d batch norms left, want 3", count_op(g, OP_BN));
  compilation_free(c);
}

static void test_fuse_dw_pointwise(void) {
  Compilation *c = compile("network m(input: 8x8x16) {\n"
                           "  a = input -> bn -> relu -> dwconv(3, pad = same) -> conv(8, 1)\n" /* fuses */
                           "  b = input -> dwconv(3, pad = same, name = \"twice\")\n"
                           "  c = b -> conv(8, 1)\n"                                          /* b read twice: no */
                           "  d = input -> dwconv(3, pad = same) -> conv(8, 3, pad = same)\n" /* 3x3: no */
                           "  e = input -> dwconv(3, pad = same, multiplier = 2) -> conv(8, 1)\n" /* no */
                           "  return concat(a, b, c, d, e)\n}\n");
  if (!c)
    return;
  Graph *g = graph_clone(c->arena, c->graph);
  pass_fuse_activation(g);
  pass_fuse_preactivation(g);
  int n = pass_fuse_dw_pointwise(g);
  CHECK(n == 1, "fuse_dw_pointwise fused %d, want 1", n);
  Node *pw = find(g, "conv");
  CHECK(pw && pw->dw_before && strcmp(pw->dw_before->name, "dwconv") == 0, "dwconv not taken into conv");
  CHECK(pw && pw->dw_before->preact, "the depthwise conv lost its pre-activation");
  CHECK(pw && pw->inputs[0] == g->inputs[0], "conv does not read the input directly");
  CHECK(!find(g, "dwconv"), "the fused dwconv is still a layer");
  CHECK(find(g, "twice") && !find(g, "conv_1")->dw_before, "fused a depthwise conv with two readers");
  CHECK(!find(g, "conv_2")->dw_before, "fused into a 3x3 conv");
  CHECK(!find(g, "conv_3")->dw_before, "fused a depthwise multiplier of 2");
  compilation_free(c);
}

static void test_fuse_pool_dwconv(void) {
  Compilation *c = compile("network m(input: 8x8x16) {\n"
                           "  a = input -> maxpool(2) -> bn -> relu -> dwconv(3, pad = same)\n" /* fuses */
                           "  b = input -> maxpool(3, stride = 2) -> dwconv(3, pad = same)\n"   /* overlapping: no */
                           "  p = input -> maxpool(2, name = \"shared\")\n"
                           "  q = p -> dwconv(3, pad = same)\n"                                /* p read twice: no */
                           "  r = input -> avgpool(2) -> dwconv(3, pad = same)\n"              /* average: no */
                           "  return concat(a, q, p, r) -> flatten -> concat(b -> flatten)\n}\n");
  if (!c)
    return;
  Graph *g = graph_clone(c->arena, c->graph);
  pass_fuse_activation(g);
  pass_fuse_preactivation(g);
  int n = pass_fuse_pool_dwconv(g);
  CHECK(n == 1, "fuse_pool_dwconv fused %d, want 1", n);
  Node *dw = find(g, "dwconv");
  CHECK(dw && dw->pool_before && strcmp(dw->pool_before->name, "maxpool") == 0, "maxpool not taken into dwconv");
  CHECK(dw && dw->preact, "the depthwise conv lost its pre-activation");
  CHECK(dw && dw->inputs[0] == g->inputs[0], "dwconv does not read the input directly");
  CHECK(!find(g, "maxpool"), "the fused maxpool is still a layer");
  CHECK(!find(g, "dwconv_1")->pool_before, "fused an overlapping pool");
  CHECK(!find(g, "dwconv_2")->pool_before, "fused a pool with two readers");
  CHECK(!find(g, "dwconv_3")->pool_before, "fused an average pool");
  compilation_free(c);
}

static void test_fuse_shortcut_conv(void) {
  Compilation *c = compile("block unit(x, f, sc_kernel) {\n"
                           "  res = conv(x, f, sc_kernel, stride = 2, pad = same)\n"
                           "  out = maxpool(x, 2) -> bn -> relu -> dwconv(3, pad = same) -> bn -> relu -> conv(f, 1)\n"
                           "  return res + out\n}\n"
                           "network m(input: 8x8x16) {\n"
                           "  a = unit(input, 24, 1)\n" /* fuses */
                           "  return unit(a, 32, 3)\n}\n"); /* a 3x3 shortcut: no */
  if (!c)
    return;
  Graph *g = graph_clone(c->arena, c->graph);
  PassOptions o = pass_options_all();
  o.fuse_shortcut = false;
  passes_run_inference(g, &o);
  int convs = count_op(g, OP_CONV);
  int n = pass_fuse_shortcut_conv(g);
  CHECK(n == 1, "fuse_shortcut_conv fused %d, want 1", n);
  CHECK(count_op(g, OP_CONV) == convs - 1, "%d convs left, want %d", count_op(g, OP_CONV), convs - 1);
  Node *pw = find(g, "conv_1"), *pw2 = find(g, "conv_3");
  CHECK(pw && pw->dw_before && pw->shortcut && strcmp(pw->shortcut->name, "conv") == 0,
        "the 1x1 shortcut not taken into the fused conv");
  CHECK(pw && !pw->residual, "the fused conv still adds a residual");
  CHECK(!find(g, "conv"), "the fused shortcut is still a layer");
  CHECK(pw2 && !pw2->shortcut && pw2->residual && strcmp(pw2->residual->name, "conv_2") == 0,
        "the 3x3 shortcut was taken, or its residual lost");
  compilation_free(c);
}

static void test_dead_nodes(void) {
  Compilation *c = compile("network m(input: 16) {\n  return input -> dense(4)\n}\n");
  if (!c)
    return;
  Graph *g = graph_clone(c->arena, c->graph);
  /* Add a layer nothing reads, as a pass might leave behind. */
  Node *in = g->nodes[0];
  Node *orphan = graph_add(c->arena, g, &c->diag, OP_RELU, &in, 1, "orphan", NO_LOC, NULL);
  orphan->shape = in->shape;
  int n = pass_dead_nodes(g);
  CHECK(n == 1, "dead_nodes removed %d, want 1", n);
  CHECK(g->nnodes == 2, "%d nodes left, want 2", g->nnodes);
  compilation_free(c);
}

static void test_select_winograd(void) {
  Compilation *c = compile("network m(input: 8x8x3) {\n"
                           "  x = input -> conv(16, 3, pad = same, name = \"stem\")\n"       /* 3 channels in */
                           "  x = x -> conv(16, 3, pad = same, name = \"w3\")\n"             /* picked */
                           "  x = x -> conv(16, 3, stride = 2, pad = same, name = \"s2\")\n"  /* stride 2 */
                           "  x = x -> conv(16, 3, pad = same, groups = 2, name = \"g2\")\n" /* grouped */
                           "  x = x -> conv(16, 1, name = \"k1\")\n"                         /* 1x1 */
                           "  x = x -> conv(16, 3, pad = same, name = \"small\")\n"          /* 4x4: F(2x2) */
                           "  x = x -> conv(8, 3, pad = valid, name = \"narrow\")\n"         /* 8 channels out */
                           "  return x -> flatten -> dense(3)\n}\n");
  if (!c)
    return;
  Graph *g = graph_clone(c->arena, c->graph);
  int n = pass_select_winograd(g);
  CHECK(n == 2, "select_winograd picked %d convs, want 2", n);
  CHECK(find(g, "small")->winograd_tile == 2, "the 2x2 conv did not get F(2x2)");
  CHECK(find(g, "w3")->winograd_tile == 4, "the 8x8 16->16 3x3 stride-1 conv did not get F(4x4)");
  CHECK(!find(g, "stem")->winograd_tile && !find(g, "s2")->winograd_tile && !find(g, "g2")->winograd_tile &&
            !find(g, "k1")->winograd_tile && !find(g, "narrow")->winograd_tile,
        "a conv Winograd does not pay for was picked");
  CHECK(pass_select_winograd(g) == 0, "a second run changed something");
  compilation_free(c);
}

static void test_pipeline_resnet_unit(void) {
  /* The book's pre-activation unit: bn-relu computed once, the residual
   * add carried by the second conv. */
  Compilation *c = compile("block unit(x, f) {\n"
                           "  out = x -> bn -> relu -> conv(f, 3, pad = same)\n"
                           "  out = out -> bn -> relu -> conv(f, 3, pad = same)\n"
                           "  return x + out\n}\n"
                           "network m(input: 8x8x8) {\n  return unit(input, 8) -> dropout(0.2)\n}\n");
  if (!c)
    return;
  Graph *g = graph_clone(c->arena, c->graph);
  PassOptions all = pass_options_all();
  passes_run_inference(g, &all);
  /* input, bn+relu, conv (second bn folded in, relu fused), conv + input. */
  CHECK(g->nnodes == 4, "%d layers after passes, want 4", g->nnodes);
  CHECK(g->nodes[1]->op == OP_BN && g->nodes[1]->attr.act == ACT_RELU, "the first bn does not apply relu");
  CHECK(g->nodes[2]->bn_folded && g->nodes[2]->attr.act == ACT_RELU, "the second bn is not folded into conv");
  CHECK(count_op(g, OP_RELU) == 0 && count_op(g, OP_ADD) == 0 && count_op(g, OP_DROPOUT) == 0,
        "relu, add or dropout left");
  CHECK(g->outputs[0]->residual == g->nodes[0], "the last conv does not add the unit's input");
  compilation_free(c);
}

int main(void) {
  test_remove_dropout();
  test_fold_bn();
  test_fuse_residual();
  test_fuse_activation();
  test_fuse_preactivation();
  test_fuse_pool_dwconv();
  test_fuse_dw_pointwise();
  test_fuse_shortcut_conv();
  test_dead_nodes();
  test_select_winograd();
  test_pipeline_resnet_unit();
  if (failures)
    fprintf(stderr, "%d failure(s)\n", failures);
  else
    printf("all pass tests passed\n");
  return failures ? 1 : 0;
}
