/* fold_bn.c: a batch norm right after a convolution or dense layer is an
 * affine map per output channel, so at inference it folds into that layer's
 * kernel and bias (prepare() does the arithmetic at load time, with
 * rt_bn_fold and rt_fold_affine). The producer must feed only the batch
 * norm, and apply nothing after its sum: no activation, no residual. */
#include "pass_util.h"

int pass_fold_bn(Graph *g) {
  int changes = 0;
  int *uses = pass_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *bn = g->nodes[i];
    if (bn->op != OP_BN || bn->dead)
      continue;
    Node *p = bn->inputs[0];
    bool foldable = (p->op == OP_CONV || p->op == OP_DWCONV || p->op == OP_SEPCONV || p->op == OP_DENSE) &&
                    uses[p->id] == 1 && p->attr.act == ACT_LINEAR && !p->residual && !p->bn_folded &&
                    bn->attr.act == ACT_LINEAR && !bn->residual;
    if (!foldable)
      continue;
    p->bn_folded = bn;
    pass_bypass(g, bn, p);
    uses[p->id] = uses[bn->id];
    changes++;
  }
  free(uses);
  graph_compact(g);
  return changes;
}
