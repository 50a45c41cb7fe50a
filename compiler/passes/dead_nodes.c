/* dead_nodes.c: drops layers that no output depends on (inputs stay: they
 * are the model's interface even when unused). */
#include "pass_util.h"

#include <string.h>

int pass_dead_nodes(Graph *g) {
  if (g->nnodes == 0)
    return 0;
  bool *live = calloc((size_t)g->nnodes, sizeof(bool));
  NETC_ASSERT(live);
  for (int i = 0; i < g->noutputs; i++)
    live[g->outputs[i]->id] = true;
  for (int i = g->nnodes - 1; i >= 0; i--) {
    Node *n = g->nodes[i];
    if (!live[i] && n->op != OP_INPUT)
      continue;
    live[i] = true;
    for (int j = 0; j < n->ninputs; j++)
      live[n->inputs[j]->id] = true;
    if (n->residual)
      live[n->residual->id] = true;
  }
  int changes = 0;
  for (int i = 0; i < g->nnodes; i++)
    if (!live[i]) {
      g->nodes[i]->dead = true;
      changes++;
    }
  free(live);
  graph_compact(g);
  return changes;
}
