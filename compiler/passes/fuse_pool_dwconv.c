/* fuse_pool_dwconv.c: the book's mobile Unit that changes width starts
 * with maxpool(x, 2), and only its batch norm and depthwise conv read the
 * pooled map. As a layer of its own the pool is a pass over memory and a
 * meeting of the threads, for a map the depthwise conv then copies into
 * its row buffers anyway. When the depthwise conv is its only reader, the
 * conv reads the pool's input instead and takes the max of each window as
 * it fills its buffers, before its pre-activation (RtPreact.pool).
 *
 * Only non-overlapping max pools without padding (pool size = stride,
 * 'valid', Keras' MaxPooling2D(n) default) qualify. Run after
 * fuse_preactivation, so that a batch norm between pool and conv has
 * already moved into the conv. */
#include "pass_util.h"

static bool plain_pool(const Node *p) {
  const Attrs *a = &p->attr;
  return p->op == OP_MAXPOOL && p->shape.rank == 3 && a->kernel[0] == a->kernel[1] && a->kernel[0] > 1 &&
         a->stride[0] == a->kernel[0] && a->stride[1] == a->kernel[1] && a->pad[0] == 0 && a->pad[1] == 0 &&
         a->pad[2] == 0 && a->pad[3] == 0;
}

int pass_fuse_pool_dwconv(Graph *g) {
  int changes = 0;
  int *uses = pass_uses(g);
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead || n->op != OP_DWCONV || n->pool_before)
      continue;
    Node *pool = n->inputs[0];
    if (pool->dead || !plain_pool(pool) || uses[pool->id] != 1 || pass_is_output(g, pool) || pool->residual ||
        pool->attr.act != ACT_LINEAR)
      continue;
    n->pool_before = pool;
    pass_absorb_input(n, pool);
    changes++;
  }
  free(uses);
  graph_compact(g);
  return changes;
}
