/* remove_dropout.c: dropout is the identity at inference, and so is an
 * explicit `linear` activation; readers take the layer's input instead. */
#include "pass_util.h"

int pass_remove_dropout(Graph *g) {
  int changes = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->op != OP_DROPOUT && n->op != OP_LINEAR)
      continue;
    /* A network that returns the dropout itself keeps it: the output must
     * stay a node of its own, distinct from the input. */
    if (pass_is_output(g, n) && n->inputs[0]->op == OP_INPUT)
      continue;
    pass_bypass(g, n, n->inputs[0]);
    changes++;
  }
  graph_compact(g);
  return changes;
}
