/* fuse_activation.c: an activation whose input is a layer with an epilogue
 * (conv, dense, batch norm, add, multiply) and read by nothing else is
 * applied by that layer as it stores each value. This is also what makes a
 * pre-activation unit (bn -> relu -> conv) cost one pass over memory for
 * bn+relu, computed once per element rather than inside the convolution. */
#include "pass_util.h"

int pass_fuse_activation(Graph *g) {
  int changes = 0;
  int *uses = pass_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    Act act;
    /* softmax needs a whole row and prelu has weights: kernels of their own. */
    if (n->dead || n->op == OP_SOFTMAX || !op_as_activation(n->op, &act))
      continue;
    Node *p = n->inputs[0];
    if (!pass_has_epilogue(p->op) || uses[p->id] != 1 || p->attr.act != ACT_LINEAR)
      continue;
    p->attr.act = act;
    p->attr.alpha = n->attr.alpha;
    pass_bypass(g, n, p);
    uses[p->id] = uses[n->id];
    changes++;
  }
  free(uses);
  graph_compact(g);
  return changes;
}
