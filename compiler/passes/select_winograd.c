/* select_winograd.c: picks the convolutions that run by Winograd's
 * F(2x2, 3x3) (runtime/kernels/conv_winograd.c) instead of im2col + GEMM:
 * 3x3, stride 1, ungrouped, with at least WINOGRAD_MIN_CHANNELS input and
 * output channels. The kernel is 1.4x to 2.2x faster than im2col on the
 * book's 3x3 layers from 4x4x256 to 32x32x32, at batch 1 and 32, but
 * slower below 16 channels (the 1- and 3-channel stems), where the
 * transforms cost more than the multiplications they save (measured with
 * tests/kernels/bench_conv on Zen 4, 2026-11-25). The choice is a
 * property of the layer's shape, fixed at compile time, so the emitted
 * code names one kernel per layer. */
#include "pass_util.h"

enum { WINOGRAD_MIN_CHANNELS = 16 };

bool pass_winograd_pays(const Node *n) {
  const Attrs *a = &n->attr;
  if (n->op != OP_CONV || a->kernel[0] != 3 || a->kernel[1] != 3 || a->stride[0] != 1 || a->stride[1] != 1 ||
      a->groups > 1)
    return false;
  int64_t cin = n->inputs[0]->shape.d[n->inputs[0]->shape.rank - 1];
  int64_t cout = n->shape.d[n->shape.rank - 1];
  return cin >= WINOGRAD_MIN_CHANNELS && cout >= WINOGRAD_MIN_CHANNELS;
}

int pass_select_winograd(Graph *g) {
  int changes = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (!n->dead && !n->winograd && pass_winograd_pays(n)) {
      n->winograd = true;
      changes++;
    }
  }
  return changes;
}
