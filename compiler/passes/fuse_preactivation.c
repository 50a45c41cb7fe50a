/* fuse_preactivation.c: the book's pre-activation Unit puts a batch norm
 * and a ReLU before each depthwise convolution. A batch norm that nothing
 * precedes it can fold into (fold_bn.c) would otherwise be a pass over
 * memory of its own, writing a tensor that only the depthwise conv reads.
 * When that conv is its only reader, the conv reads the batch norm's input
 * instead and applies scale, shift and activation as it loads each value
 * (rt_dwconv2d_preact: once per value and strip of rows, into the buffer
 * its taps read, with the padding left zero as the batch norm's output
 * would have had it).
 *
 * Only depthwise convs take it: their kernel buffers whole input rows,
 * which is where the map costs nothing extra. A GEMM convolution would
 * have to apply it in its im2col, once per tap. */
#include "pass_util.h"

int pass_fuse_preactivation(Graph *g) {
  int changes = 0;
  int *uses = pass_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead || n->op != OP_DWCONV || n->preact)
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
