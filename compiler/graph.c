/* graph.c: the graph IR every later phase reads: nodes in topological order
 * (an input always precedes its consumers), one output tensor per node. */
#include "netc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

Graph *graph_new(Arena *a, const char *name) {
  Graph *g = arena_alloc(a, sizeof *g);
  g->name = name;
  g->names = strmap_new(a);
  g->name_counters = strmap_new(a);
  return g;
}

/* Keras names layers by kind with a counter: conv, conv_1, conv_2. A derived
 * name skips any name the user already took. */
static const char *derive_name(Arena *a, Graph *g, OpKind op) {
  const char *base = op_name(op);
  intptr_t next = (intptr_t)strmap_get(g->name_counters, base);
  for (;; next++) {
    const char *cand = next == 0 ? base : arena_printf(a, "%s_%" PRIdPTR, base, next);
    if (!strmap_get(g->names, cand)) {
      strmap_put(g->name_counters, base, (void *)(next + 1));
      return cand;
    }
  }
}

Node *graph_add(Arena *a, Graph *g, Diag *d, OpKind op, Node **inputs, int ninputs,
                const char *name, SrcLoc loc, const CallFrame *frame) {
  if (name) {
    Node *prev = strmap_get(g->names, name);
    if (prev) {
      diag_error(d, loc, "a layer named '%s' exists already", name);
      diag_note(d, prev->loc, "'%s' was defined here", name);
      if (frame)
        diag_note(d, frame->call, "names given inside a block repeat on every call; "
                                  "build them from the block's arguments, e.g. \"conv\" + f");
      return NULL;
    }
  }
  Node *n = arena_alloc(a, sizeof *n);
  n->id = g->nnodes;
  n->op = op;
  n->user_named = name != NULL;
  n->name = name ? name : derive_name(a, g, op);
  n->loc = loc;
  n->frame = frame;
  n->ninputs = ninputs;
  n->inputs = arena_alloc(a, sizeof(Node *) * (size_t)(ninputs ? ninputs : 1));
  if (ninputs)
    memcpy(n->inputs, inputs, sizeof(Node *) * (size_t)ninputs);
  op_default_attrs(op, &n->attr);
  strmap_put(g->names, n->name, n);
  g->nodes = arena_grow(a, g->nodes, &g->cap_nodes, g->nnodes + 1, sizeof(Node *));
  g->nodes[g->nnodes++] = n;
  return n;
}

void graph_count_uses(const Graph *g, int *uses) {
  memset(uses, 0, sizeof(int) * (size_t)g->nnodes);
  for (int i = 0; i < g->nnodes; i++) {
    for (int j = 0; j < g->nodes[i]->ninputs; j++)
      uses[g->nodes[i]->inputs[j]->id]++;
    if (g->nodes[i]->residual)
      uses[g->nodes[i]->residual->id]++;
  }
  /* An output is read by the caller. */
  for (int i = 0; i < g->noutputs; i++)
    uses[g->outputs[i]->id]++;
}

void graph_prune_unused(Graph *g, Diag *d) {
  if (g->nnodes == 0)
    return;
  bool *live = calloc((size_t)g->nnodes, sizeof(bool));
  NETC_ASSERT(live);
  for (int i = 0; i < g->noutputs; i++)
    live[g->outputs[i]->id] = true;
  for (int i = 0; i < g->ninputs; i++)
    live[g->inputs[i]->id] = true;  /* an unused input is still an input */
  /* Reverse topological order: a node is live when a live node reads it. */
  for (int i = g->nnodes - 1; i >= 0; i--)
    if (live[i])
      for (int j = 0; j < g->nodes[i]->ninputs; j++)
        live[g->nodes[i]->inputs[j]->id] = true;
  int k = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (!live[i]) {
      diag_warning(d, n->loc, "the result of '%s' (%s) is never used; the layer is dropped",
                   n->name, op_keras_type(n->op));
      continue;
    }
    n->id = k;
    g->nodes[k++] = n;
  }
  g->nnodes = k;
  free(live);
}

int64_t shape_elems(const Shape *s) {
  int64_t e = 1;
  for (int i = 0; i < s->rank; i++)
    e *= s->d[i];
  return e;
}

char *shape_str(const Shape *s, char *buf, size_t size) {
  size_t len = 0;
  buf[0] = '\0';
  for (int i = 0; i < s->rank && len < size; i++)
    len += (size_t)snprintf(buf + len, size - len, i ? "x%" PRId64 : "%" PRId64, s->d[i]);
  return buf;
}

void graph_replace_uses(Graph *g, Node *old, Node *new_node) {
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    for (int j = 0; j < n->ninputs; j++)
      if (n->inputs[j] == old)
        n->inputs[j] = new_node;
    if (n->residual == old)
      n->residual = new_node;
  }
  for (int i = 0; i < g->noutputs; i++)
    if (g->outputs[i] == old)
      g->outputs[i] = new_node;
}

void graph_compact(Graph *g) {
  int k = 0;
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    if (n->dead)
      continue;
    n->id = k;
    g->nodes[k++] = n;
  }
  g->nnodes = k;
}

Graph *graph_clone(Arena *a, const Graph *g) {
  Graph *c = graph_new(a, g->name);
  c->nnodes = c->cap_nodes = g->nnodes;
  c->nodes = arena_alloc(a, sizeof(Node *) * (size_t)(g->nnodes ? g->nnodes : 1));
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = arena_alloc(a, sizeof *n);
    *n = *g->nodes[i];
    NETC_ASSERT(n->id == i);
    n->inputs = arena_alloc(a, sizeof(Node *) * (size_t)(n->ninputs ? n->ninputs : 1));
    for (int j = 0; j < n->ninputs; j++)
      n->inputs[j] = c->nodes[g->nodes[i]->inputs[j]->id];
    if (n->residual)
      n->residual = c->nodes[n->residual->id];
    c->nodes[i] = n;
    strmap_put(c->names, n->name, n);
  }
  c->ninputs = g->ninputs;
  c->inputs = arena_alloc(a, sizeof(Node *) * (size_t)(g->ninputs ? g->ninputs : 1));
  for (int i = 0; i < g->ninputs; i++)
    c->inputs[i] = c->nodes[g->inputs[i]->id];
  c->noutputs = g->noutputs;
  c->outputs = arena_alloc(a, sizeof(Node *) * (size_t)(g->noutputs ? g->noutputs : 1));
  for (int i = 0; i < g->noutputs; i++)
    c->outputs[i] = c->nodes[g->outputs[i]->id];
  return c;
}
