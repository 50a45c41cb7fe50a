/* fuse_preactivation.c: the book's pre-activation Unit puts a batch norm
 * and a ReLU before each depthwise or 3x3 convolution. A batch norm that
 * nothing precedes it can fold into (fold_bn.c) would otherwise be a pass
 * over memory of its own, writing a tensor that only the conv reads. When
 * that conv is its only reader, the conv reads the batch norm's input
 * instead and applies scale, shift and activation as it loads each value,
 * with the padding left zero as the batch norm's output would have had it:
 *
 * - a depthwise conv (rt_dwconv2d_preact) once per value and strip of
 *   rows, into the buffer its taps read;
 * - a Winograd conv (rt_conv2d_winograd_preact, so select_winograd runs
 *   first) in its input transform, once per value and block that reads it;
 * - an average pool (rt_avgpool2d_preact) once per value and window: the
 *   bn -> relu -> avgpool before a classifier (mobilenet_mini's head, a
 *   layer and a pass over memory fewer).
 *
 * GEMM convolutions do not take it: they would apply it in their im2col
 * or implicit GEMM rows, once per tap. */
#include "pass_util.h"

int pass_fuse_preactivation(Graph *g) {
  int changes = 0;
  int *uses = pass_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    bool maps_input = n->op == OP_DWCONV || (n->op == OP_CONV && n->winograd_tile) || n->op == OP_AVGPOOL;
    if (n->dead || !maps_input || n->preact)
      continue;
    Node *bn = n->inputs[0];
    bool fusable = bn->op == OP_BN && !bn->dead && uses[bn->id] == 1 && !pass_is_output(g, bn) &&
                   !bn->residual && bn->attr.act != ACT_SOFTMAX;
    if (!fusable)
      continue;
    n->preact = bn;
    pass_absorb_input(n, bn);
    changes++;
  }
  free(uses);
  graph_compact(g);
  return changes;
}
