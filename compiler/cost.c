/* cost.c: the cost model behind the report. Conventions (docs/report.md):
 * MACs count the multiply-accumulates of dense and convolution layers, as
 * the book does (FLOPs = 2 x MACs); bias, batch norm, activations, pooling,
 * merges and softmax are counted apart as element-wise operations, so no
 * cost is hidden. Parameters follow Keras' model.summary(). */
#include "netc.h"

#include <stdlib.h>

/* Saturating arithmetic: shape.c bounds every tensor, but products of
 * several bounded factors could still pass int64 on absurd input. */
static int64_t mul(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_mul_overflow(a, b, &r) ? INT64_MAX : r;
}

static int64_t add(int64_t a, int64_t b) {
  int64_t r;
  return __builtin_add_overflow(a, b, &r) ? INT64_MAX : r;
}

static int64_t act_ops(Act act, int64_t elems) {
  switch (act) {
  case ACT_LINEAR: return 0;
  case ACT_SOFTMAX: return mul(3, elems);  /* exp, sum, divide */
  case ACT_RELU:
  case ACT_RELU6:
  case ACT_SIGMOID:
  case ACT_TANH:
  case ACT_LEAKY_RELU:
  case ACT_ELU:
  case ACT_THRESHOLDED_RELU: return elems;
  }
  return elems;
}

static void cost_node(Node *n) {
  const Attrs *a = &n->attr;
  const Shape *in = n->ninputs ? &n->inputs[0]->shape : NULL;
  int64_t out = shape_elems(&n->shape);
  int64_t k = mul(a->kernel[0], a->kernel[1]);
  n->params = n->trainable = n->macs = n->eltwise = 0;
  switch (n->op) {
  case OP_INPUT:
  case OP_FLATTEN:
  case OP_DROPOUT:     /* identity at inference */
  case OP_ZEROPAD:
  case OP_CONCAT:      /* a copy at worst, free when producers write in place */
  case OP_LINEAR:
    break;
  case OP_DENSE: {
    int64_t cin = in->d[in->rank - 1];
    n->params = add(mul(cin, a->units), a->bias ? a->units : 0);
    n->macs = mul(shape_elems(in), a->units);
    break;
  }
  case OP_CONV: {
    int64_t cin = in->d[2] / a->groups;
    n->params = add(mul(mul(k, cin), a->filters), a->bias ? a->filters : 0);
    n->macs = mul(out, mul(k, cin));
    break;
  }
  case OP_DWCONV:
    n->params = add(mul(k, n->shape.d[2]), a->bias ? n->shape.d[2] : 0);
    n->macs = mul(out, k);
    break;
  case OP_SEPCONV: {
    int64_t mid = mul(in->d[2], a->multiplier);  /* depthwise output channels */
    int64_t pixels = mul(n->shape.d[0], n->shape.d[1]);
    n->params = add(add(mul(k, mid), mul(mid, a->filters)), a->bias ? a->filters : 0);
    n->macs = add(mul(mul(pixels, mid), k), mul(mul(pixels, mid), a->filters));
    break;
  }
  case OP_BN: {
    int64_t c = n->shape.d[n->shape.rank - 1];
    n->params = mul(4, c);
    n->trainable = mul(2, c);   /* gamma, beta; moving mean and variance are not */
    n->eltwise = mul(2, out);   /* scale and shift once folded */
    break;
  }
  case OP_PRELU: {
    int64_t p = 1;
    for (int i = 0; i < n->shape.rank; i++)
      if (!(a->shared_axes & (1 << (i + 1))))
        p = mul(p, n->shape.d[i]);
    n->params = p;
    n->eltwise = out;
    break;
  }
  case OP_MAXPOOL:
  case OP_AVGPOOL:
    n->eltwise = mul(out, k);
    break;
  case OP_GLOBAL_AVGPOOL:
  case OP_GLOBAL_MAXPOOL:
    n->eltwise = shape_elems(in);
    break;
  case OP_ADD:
  case OP_MULTIPLY:
    n->eltwise = mul(out, n->ninputs - 1);
    break;
  case OP_RELU:
  case OP_RELU6:
  case OP_SIGMOID:
  case OP_TANH:
  case OP_SOFTMAX:
  case OP_LEAKY_RELU:
  case OP_ELU:
  case OP_THRESHOLDED_RELU: {
    Act act = ACT_LINEAR;
    op_as_activation(n->op, &act);
    n->eltwise = act_ops(act, out);
    break;
  }
  case OP_COUNT:
    NETC_ASSERT(!"op without cost rule");
  }
  if (op_category(n->op) == CAT_MAC)
    n->eltwise = add(add(n->eltwise, a->bias ? out : 0), act_ops(a->act, out));
  if (n->op != OP_BN)
    n->trainable = n->params;
}

/* Peak of the bytes held by live tensors when layers run in graph order: a
 * tensor lives from the layer making it to its last reader (outputs to the
 * end). The static memory planner can only do better with in-place reuse. */
static int64_t peak_bytes(const Graph *g, int batch) {
  int n = g->nnodes;
  /* last[j]: the step after which tensor j dies; dying[i]: a list through
   * next[] of the tensors that die after step i. */
  int *last = malloc(sizeof(int) * (size_t)(3 * n + 1));
  NETC_ASSERT(last);
  int *dying = last + n, *next = last + 2 * n;
  for (int i = 0; i < n; i++) {
    last[i] = i;
    dying[i] = -1;
  }
  for (int i = 0; i < n; i++)
    for (int j = 0; j < g->nodes[i]->ninputs; j++)
      last[g->nodes[i]->inputs[j]->id] = i;
  for (int i = 0; i < g->noutputs; i++)
    last[g->outputs[i]->id] = n;
  for (int j = 0; j < n; j++)
    if (last[j] < n) {
      next[j] = dying[last[j]];
      dying[last[j]] = j;
    }
  int64_t live = 0, peak = 0;
  for (int i = 0; i < n; i++) {
    live = add(live, mul(mul(shape_elems(&g->nodes[i]->shape), batch), 4));
    if (live > peak)
      peak = live;
    for (int j = dying[i]; j >= 0; j = next[j])
      live -= mul(mul(shape_elems(&g->nodes[j]->shape), batch), 4);
  }
  free(last);
  return peak;
}

void cost_graph(Graph *g, int batch, Totals *t) {
  *t = (Totals){.batch = batch};
  for (int i = 0; i < g->nnodes; i++) {
    Node *n = g->nodes[i];
    cost_node(n);
    n->macs = mul(n->macs, batch);
    n->eltwise = mul(n->eltwise, batch);
    t->params = add(t->params, n->params);
    t->trainable = add(t->trainable, n->trainable);
    t->macs = add(t->macs, n->macs);
    t->eltwise = add(t->eltwise, n->eltwise);
    t->activation_bytes = add(t->activation_bytes, mul(mul(shape_elems(&n->shape), batch), 4));
  }
  t->non_trainable = t->params - t->trainable;
  t->weight_bytes = mul(t->params, 4);
  t->peak_activation_bytes = peak_bytes(g, batch);
}
