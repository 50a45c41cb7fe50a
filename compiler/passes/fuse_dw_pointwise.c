/* fuse_dw_pointwise.c: the book's mobile Unit and Keras' separable
 * convolution are a depthwise conv whose output only a 1x1 conv reads. Run
 * as two layers, the depthwise output makes a round trip through memory
 * (at batch 64 a tensor of megabytes) and the threads meet once more in
 * between. Fused, the 1x1 conv takes the depthwise conv along
 * (Node.dw_before) and rt_dwconv2d_pointwise computes it run of rows by
 * run of rows into a tile on the stack that the GEMM reads straight back.
 *
 * The depthwise conv may carry what the earlier passes gave it (a folded
 * batch norm, a pre-activation, an activation) but no residual; the
 * runtime's tile and buffers bound the shapes: multiplier 1, kernels up to
 * 8x8, one output row of at most 16384 floats (RT_ERR_ARG otherwise;
 * rt_dwconv2d_pointwise in runtime/include/netc/kernels.h). */
#include "pass_util.h"

enum { TILE_FLOATS = 16384, MAX_TAPS = 64, RING_FLOATS = 8192, LANES = 16 };

static bool pointwise(const Node *n) {
  const Attrs *a = &n->attr;
  return n->op == OP_CONV && a->kernel[0] == 1 && a->kernel[1] == 1 && a->stride[0] == 1 && a->stride[1] == 1 &&
         a->pad[0] == 0 && a->pad[1] == 0 && a->pad[2] == 0 && a->pad[3] == 0 && a->groups <= 1 &&
         !n->winograd_tile && !n->dw_before;
}

bool pass_dw_tile_fits(const Attrs *a, int64_t ow, int64_t c) {
  int64_t ring_w = (ow - 1) * a->stride[1] + a->kernel[1];
  return a->multiplier <= 1 && a->kernel[0] * a->kernel[1] <= MAX_TAPS && ow * c <= TILE_FLOATS &&
         ring_w * a->kernel[0] * LANES <= RING_FLOATS;
}

bool pass_sepconv_fuses(const Node *n) {
  return n->op == OP_SEPCONV && n->shape.rank == 3 && n->attr.multiplier <= 1 &&
         pass_dw_tile_fits(&n->attr, n->shape.d[1], n->inputs[0]->shape.d[2]);
}

int pass_fuse_dw_pointwise(Graph *g) {
  int changes = 0;
  int *uses = pass_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead || !pointwise(n))
      continue;
    Node *dw = n->inputs[0];
    bool fusable = dw->op == OP_DWCONV && !dw->dead && uses[dw->id] == 1 && !pass_is_output(g, dw) &&
                   !dw->residual && dw->attr.act != ACT_SOFTMAX && dw->shape.rank == 3 &&
                   pass_dw_tile_fits(&dw->attr, dw->shape.d[1], dw->shape.d[2]);
    if (!fusable)
      continue;
    n->dw_before = dw;
    pass_absorb_input(n, dw);
    changes++;
  }
  free(uses);
  graph_compact(g);
  return changes;
}
