/* test_arith.c: the book's convolution-arithmetic chapter, computed by netc.
 * Each case is a small model and the figures the chapter derives by hand
 * (see docs/report.md for the one slip the book makes). */
#include "netc.h"

#include <inttypes.h>
#include <string.h>

static int failures;

static const Node *find(const Compilation *c, const char *name) {
  for (int i = 0; i < c->graph->nnodes; i++)
    if (strcmp(c->graph->nodes[i]->name, name) == 0)
      return c->graph->nodes[i];
  return NULL;
}

static Compilation *compile(const char *src) {
  bool ok;
  Compilation *c = compile_source("arith.net", src, strlen(src), stderr, 1, &ok);
  if (!ok) {
    fprintf(stderr, "FAIL: does not compile:\n%s\n", src);
    failures++;
    compilation_free(c);
    return NULL;
  }
  return c;
}

static void expect(const char *what, int64_t got, int64_t want) {
  if (got != want) {
    fprintf(stderr, "FAIL: %s: got %" PRId64 ", want %" PRId64 "\n", what, got, want);
    failures++;
  } else {
    printf("ok: %s = %" PRId64 "\n", what, got);
  }
}

static void layer_macs(const char *src, const char *layer, int64_t want) {
  Compilation *c = compile(src);
  if (!c)
    return;
  const Node *n = find(c, layer);
  if (!n) {
    fprintf(stderr, "FAIL: no layer %s\n", layer);
    failures++;
  } else {
    expect(layer, n->macs, want);
  }
  compilation_free(c);
}

int main(void) {
  /* Efficiency chapter, on a 112x112x32 feature map. */
  layer_macs("network m(input: 112x112x32) { return input -> dwconv(3, pad = same, name = \"dw\") }",
             "dw", 3612672);
  layer_macs("network m(input: 112x112x32) { return input -> conv(32, 1, name = \"pw\") }", "pw", 12845056);
  layer_macs("network m(input: 112x112x32) { return input -> conv(32, 3, pad = same, name = \"std\") }", "std",
             115605504);
  const char *bottleneck =
      "network m(input: 112x112x32) {\n"
      "  x = input -> conv(16, 1, name = \"squeeze\")\n"
      "  return x -> conv(32, 3, pad = same, name = \"expand\")\n"
      "}\n";
  layer_macs(bottleneck, "squeeze", 6422528);
  layer_macs(bottleneck, "expand", 57802752);
  /* Depthwise separable on 56x56x64: 3*3*56*56*64. */
  layer_macs("network m(input: 56x56x64) { return input -> dwconv(3, pad = same, name = \"dw\") }", "dw",
             1806336);

  /* The arithmetic chapter's two-layer network. The book prints 28,387,584
   * for the first layer (it multiplies by 6, not 64): the right figure is
   * 3*3*3*222*222*64 = 85,162,752. */
  const char *two =
      "network m(input: 224x224x3) {\n"
      "  x = input -> conv(64, 3, name = \"first\")\n"
      "  return x -> conv(64, 4, stride = 2, pad = 1, name = \"second\")\n"
      "}\n";
  layer_macs(two, "first", 85162752);
  layer_macs(two, "second", 807469056);
  Compilation *c = compile(two);
  if (c) {
    expect("two-layer total MACs", c->totals.macs, 892631808);
    expect("second layer output height", find(c, "second")->shape.d[0], 111);
    compilation_free(c);
  }

  /* Dense: 100 inputs, 64 units = 6,400 MACs; 256 units on 100 inputs =
   * 256 * (100 + 1) = 25,856 parameters. */
  layer_macs("network m(input: 100) { return input -> dense(64, name = \"fc\") }", "fc", 6400);
  c = compile("network m(input: 100) { return input -> dense(256, name = \"fc\") }");
  if (c) {
    expect("dense 100->256 params", find(c, "fc")->params, 25856);
    compilation_free(c);
  }
  /* Conv parameters K*K*Cin*Cout (the chapter leaves the bias out). */
  c = compile("network m(input: 224x224x128) { return input -> conv(256, 3, bias = false, name = \"c\") }");
  if (c) {
    expect("conv 3x3 128->256 params", find(c, "c")->params, 294912);
    compilation_free(c);
  }
  /* 'same' padding with an even kernel: TensorFlow pads the extra row and
   * column at the bottom and right. */
  c = compile("network m(input: 7x8x1) { return input -> conv(1, 4, stride = 2, pad = same, name = \"c\") }");
  if (c) {
    const Node *n = find(c, "c");
    expect("same/even: out height", n->shape.d[0], 4);
    expect("same/even: out width", n->shape.d[1], 4);
    expect("same/even: pad top", n->attr.pad[0], 1);
    expect("same/even: pad bottom", n->attr.pad[1], 2);
    expect("same/even: pad left", n->attr.pad[2], 1);
    expect("same/even: pad right", n->attr.pad[3], 1);
    compilation_free(c);
  }
  /* BatchNormalization: 4 per channel, of which 2 are not trainable. */
  c = compile("network m(input: 8x8x16) { return input -> bn }");
  if (c) {
    expect("bn params", c->totals.params, 64);
    expect("bn non-trainable", c->totals.non_trainable, 32);
    compilation_free(c);
  }
  /* Grouped convolution: Cin/groups per filter. */
  c = compile("network m(input: 8x8x64) { return input -> conv(128, 3, groups = 32, name = \"g\") }");
  if (c) {
    expect("grouped conv params", find(c, "g")->params, 3 * 3 * 2 * 128 + 128);
    expect("grouped conv MACs", find(c, "g")->macs, 6 * 6 * 128 * 3 * 3 * 2);
    compilation_free(c);
  }
  /* SeparableConv2D: depthwise + pointwise + bias. */
  c = compile("network m(input: 16x16x32) { return input -> sepconv(64, 3, pad = same, name = \"s\") }");
  if (c) {
    expect("sepconv params", find(c, "s")->params, 3 * 3 * 32 + 32 * 64 + 64);
    expect("sepconv MACs", find(c, "s")->macs, 16 * 16 * 32 * 9 + 16 * 16 * 32 * 64);
    compilation_free(c);
  }
  if (failures)
    fprintf(stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
