/* select_winograd.c: picks the convolutions that run by Winograd's minimal
 * filtering (runtime/kernels/conv_winograd.c) instead of a GEMM, and the
 * tile: 3x3, stride 1, ungrouped, with at least WINOGRAD_MIN_CHANNELS input
 * and output channels; F(4x4, 3x3) on maps of 8x8 and more, F(2x2, 3x3)
 * below. Measured on Zen 4 with tests/kernels/bench_conv, 2026-11-25:
 * F(2x2) is 1.4x to 2.2x faster than im2col + GEMM on the book's 3x3
 * layers from 4x4x256 to 32x32x32 at batch 1 and 32, F(4x4) another 1.1x
 * to 2x on maps of 8x8 and more, but 2x slower than F(2x2) on 4x4 maps
 * (one block per image, most of it padding); both are slower than the GEMM
 * below 16 channels (the 1- and 3-channel stems), where the transforms
 * cost more than the multiplications they save. The choice is a property
 * of the layer's shape, fixed at compile time, so the emitted code names
 * one kernel per layer. */
#include "pass_util.h"

enum { WINOGRAD_MIN_CHANNELS = 16, WINOGRAD_F4_MIN_SIZE = 8 };

int pass_winograd_tile(const Node *n) {
  const Attrs *a = &n->attr;
  if (n->op != OP_CONV || a->kernel[0] != 3 || a->kernel[1] != 3 || a->stride[0] != 1 || a->stride[1] != 1 ||
      a->groups > 1)
    return 0;
  int64_t cin = n->inputs[0]->shape.d[n->inputs[0]->shape.rank - 1];
  int64_t cout = n->shape.d[n->shape.rank - 1];
  if (cin < WINOGRAD_MIN_CHANNELS || cout < WINOGRAD_MIN_CHANNELS)
    return 0;
  return n->shape.d[0] >= WINOGRAD_F4_MIN_SIZE && n->shape.d[1] >= WINOGRAD_F4_MIN_SIZE ? 4 : 2;
}

int pass_select_winograd(Graph *g) {
  int changes = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    int tile = n->dead ? 0 : pass_winograd_tile(n);
    if (tile && n->winograd_tile != tile) {
      n->winograd_tile = tile;
      changes++;
    }
  }
  return changes;
}
