/* pass_util.h: small helpers shared by the inference passes. */
#ifndef NETC_PASS_UTIL_H
#define NETC_PASS_UTIL_H

#include "netc.h"

#include <stdlib.h>

/* Readers of each node (inputs, residuals and graph outputs), by node id.
 * Caller frees. */
static inline int *pass_uses(const Graph *g) {
  int *uses = malloc(sizeof(int) * (size_t)(g->nnodes ? g->nnodes : 1));
  NETC_ASSERT(uses);
  graph_count_uses(g, uses);
  return uses;
}

static inline bool pass_is_output(const Graph *g, const Node *n) {
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == n)
      return true;
  return false;
}

/* Layers whose kernels take an RtEpilogue (bias, residual, activation). */
static inline bool pass_has_epilogue(OpKind op) {
  return op == OP_CONV || op == OP_DWCONV || op == OP_SEPCONV || op == OP_DENSE || op == OP_BN ||
         op == OP_ADD || op == OP_MULTIPLY;
}

/* Replaces `n` by `by` everywhere and marks it dead. */
static inline void pass_bypass(Graph *g, Node *n, Node *by) {
  graph_replace_uses(g, n, by);
  n->dead = true;
}

/* n takes over its first input, `producer`, which it will compute itself
 * from the producer's own input (a fusion that keeps the producer in one
 * of n's fields): n reads that input instead, the producer leaves the
 * graph. */
static inline void pass_absorb_input(Node *n, Node *producer) {
  n->inputs[0] = producer->inputs[0];
  producer->dead = true;
}

#endif
