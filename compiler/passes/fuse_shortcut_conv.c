/* fuse_shortcut_conv.c: a residual unit that pools (the book's mobile
 * Unit with pool = true) adds a strided 1x1 conv of its input, the
 * shortcut, to the 1x1 conv that ends its main path. After fuse_residual
 * and fuse_dw_pointwise the shortcut is a layer of its own whose output
 * only that fused 1x1 conv reads, as its residual: a tensor written, read
 * back, and one more layer at which the threads meet.
 *
 * Both are 1x1 convs into the same output pixels, so the shortcut's
 * multiplications are more rows of the fused conv's GEMM: each output
 * pixel reads, beside its depthwise output, the shortcut's input pixel at
 * (y * stride, x * stride), and the kernel is the pointwise kernel's rows
 * then the shortcut's (rt_dwconv2d_pointwise_shortcut). The fused conv
 * takes the shortcut along (Node.shortcut) in place of its residual; the
 * biases add up at load.
 *
 * The shortcut must read the tensor the fused conv reads (its max pool's
 * or depthwise conv's input) and be a plain linear 1x1 conv without
 * padding, groups or a residual of its own; the tile bounds the channels
 * (pass_dw_tile_fits with both kernels' input channels). */
#include "pass_util.h"

static bool plain_1x1(const Node *r) {
  const Attrs *a = &r->attr;
  return r->op == OP_CONV && a->kernel[0] == 1 && a->kernel[1] == 1 && a->groups <= 1 && a->pad[0] == 0 &&
         a->pad[1] == 0 && a->pad[2] == 0 && a->pad[3] == 0 && a->act == ACT_LINEAR && !r->residual &&
         !r->dw_before && !r->preact && !r->winograd_tile && !r->shortcut && r->shape.rank == 3;
}

int pass_fuse_shortcut_conv(Graph *g) {
  int changes = 0;
  int *uses = pass_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead || n->op != OP_CONV || !n->dw_before || n->shortcut || !n->residual)
      continue;
    Node *r = n->residual;
    const Node *dw = n->dw_before;
    bool fusable = !r->dead && plain_1x1(r) && uses[r->id] == 1 && !pass_is_output(g, r) &&
                   r->inputs[0] == n->inputs[0] &&
                   pass_dw_tile_fits(&dw->attr, dw->shape.d[1], dw->shape.d[2] + r->inputs[0]->shape.d[2]);
    if (!fusable)
      continue;
    n->shortcut = r;
    n->residual = NULL;
    r->dead = true;
    changes++;
  }
  free(uses);
  graph_compact(g);
  return changes;
}
