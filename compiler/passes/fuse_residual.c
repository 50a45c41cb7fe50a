/* fuse_residual.c: add(a, b) where b is a convolution or dense layer read
 * by nothing else becomes b's epilogue: b adds a to each output value as it
 * stores it, and the separate pass over memory disappears. b must be the
 * later of the two, so that a exists when b runs. */
#include "pass_util.h"

static bool can_carry(const Node *p, const int *uses) {
  return (p->op == OP_CONV || p->op == OP_DWCONV || p->op == OP_SEPCONV || p->op == OP_DENSE) &&
         uses[p->id] == 1 && !p->residual && p->attr.act == ACT_LINEAR;
}

int pass_fuse_residual(Graph *g) {
  int changes = 0;
  int *uses = pass_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *add = g->nodes[i];
    if (add->op != OP_ADD || add->ninputs != 2 || add->dead || add->residual)
      continue;
    Node *a = add->inputs[0], *b = add->inputs[1];
    if (a->id > b->id) {
      Node *t = a;
      a = b;
      b = t;
    }
    if (!can_carry(b, uses) || a == b)
      continue;
    b->residual = a;
    b->attr.act = add->attr.act;  /* whatever the add applied, after the sum */
    b->attr.alpha = add->attr.alpha;
    pass_bypass(g, add, b);
    uses[b->id] = uses[add->id];
    changes++;
  }
  free(uses);
  graph_compact(g);
  return changes;
}
