/* autodiff.c: the backward graph of a training step. Reverse-mode
 * differentiation over the forward graph: every layer gets one gradient
 * step, run in reverse graph order, that turns the gradient at its output
 * into gradients at its inputs and its parameters (the kernels are in
 * runtime/include/netc/train_kernels.h). This file decides what the steps
 * compute and where their tensors live; codegen_c_train.c prints them. */
#include "netc.h"

#include <stdlib.h>
#include <string.h>

#define ALIGN 64

static int64_t aligned(int64_t bytes) { return (bytes + ALIGN - 1) / ALIGN * ALIGN; }

static bool has_params(OpKind op) {
  return op == OP_CONV || op == OP_DWCONV || op == OP_SEPCONV || op == OP_DENSE || op == OP_BN || op == OP_PRELU;
}

static int64_t channels(const Node *n) { return n->shape.d[n->shape.rank - 1]; }

/* A growing list of buffers with lifetimes, in training-step time. */
typedef struct Buffers {
  int64_t *size;
  int *first, *last;
  int n, cap;
} Buffers;

static int add_buffer(Arena *a, Buffers *b, int64_t bytes, int first, int last) {
  int cap = b->cap;
  b->size = arena_grow(a, b->size, &cap, b->n + 1, sizeof(int64_t));
  cap = b->cap;
  b->first = arena_grow(a, b->first, &cap, b->n + 1, sizeof(int));
  cap = b->cap;
  b->last = arena_grow(a, b->last, &cap, b->n + 1, sizeof(int));
  b->cap = cap;
  b->size[b->n] = aligned(bytes);
  b->first[b->n] = first;
  b->last[b->n] = last;
  return b->n++;
}

static bool check_loss(Diag *d, const Graph *g, LossKind loss) {
  const Node *out = g->outputs[0];
  if (loss == LOSS_MSE)
    return true;
  bool softmax = out->op == OP_SOFTMAX || (op_category(out->op) == CAT_MAC && out->attr.act == ACT_SOFTMAX) ||
                 ((out->op == OP_ADD || out->op == OP_MULTIPLY) && out->attr.act == ACT_SOFTMAX);
  if (!softmax) {
    diag_error(d, out->loc, "loss = cross_entropy needs probabilities, but the network's output '%s' (%s) is not "
                            "a softmax", out->name, op_keras_type(out->op));
    diag_note(d, out->loc, "end the network with -> softmax, or dense(classes, activation = softmax)");
    return false;
  }
  for (int i = 0; i < g->nnodes; i++) {
    const Node *n = g->nodes[i];
    if (n != out && op_category(n->op) == CAT_MAC && n->attr.act == ACT_SOFTMAX) {
      diag_error(d, n->loc, "training: a softmax activation inside the network is not supported yet; "
                            "apply it as a layer of its own (-> softmax)");
      return false;
    }
  }
  return true;
}

TrainPlan *autodiff(Arena *a, Diag *d, const Graph *g, LossKind loss) {
  if (g->noutputs < 1 || !check_loss(d, g, loss))
    return NULL;
  int n = g->nnodes;
  TrainPlan *t = arena_alloc(a, sizeof *t);
  t->g = g;
  t->loss = loss;
  t->out = g->outputs[0];
  t->needs_grad = arena_alloc(a, sizeof(bool) * (size_t)(n + 1));
  t->accumulate = arena_alloc(a, sizeof(bool *) * (size_t)(n + 1));
  t->act = arena_alloc(a, sizeof(int64_t) * (size_t)(n + 1));
  t->grad = arena_alloc(a, sizeof(int64_t) * (size_t)(n + 1));
  t->save = arena_alloc(a, sizeof(int64_t) * (size_t)(n + 1));
  t->save_grad = arena_alloc(a, sizeof(int64_t) * (size_t)(n + 1));

  /* Forward: a tensor needs a gradient when a parameter lies before it. */
  for (int i = 0; i < n; i++) {
    const Node *nd = g->nodes[i];
    bool need = has_params(nd->op);
    for (int j = 0; j < nd->ninputs; j++)
      need |= t->needs_grad[nd->inputs[j]->id];
    t->needs_grad[i] = need && nd->op != OP_INPUT;
  }
  /* Backward runs consumers from last to first: the last consumer of a
   * tensor writes its gradient, earlier ones add to it. */
  bool *written = arena_alloc(a, sizeof(bool) * (size_t)(n + 1));
  written[t->out->id] = true;  /* by the loss, before any gradient step */
  for (int i = n - 1; i >= 0; i--) {
    const Node *nd = g->nodes[i];
    t->accumulate[i] = arena_alloc(a, sizeof(bool) * (size_t)(nd->ninputs + 1));
    if (!t->needs_grad[i])
      continue;
    for (int j = 0; j < nd->ninputs; j++) {
      int in = nd->inputs[j]->id;
      t->accumulate[i][j] = written[in];
      if (t->needs_grad[in])
        written[in] = true;
    }
  }

  /* Lifetimes in step time: forward i at step i, the loss at n, the
   * gradient step of node i at 2n - i. A forward output is kept until its
   * own gradient step (activation gradients are computed from outputs;
   * weight gradients read inputs, whose steps come later still). */
  Buffers b = {0};
  int *act_id = arena_alloc(a, sizeof(int) * (size_t)(n + 1));
  int *grad_id = arena_alloc(a, sizeof(int) * (size_t)(n + 1));
  int *save_id = arena_alloc(a, sizeof(int) * (size_t)(n + 1));
  int *save_grad_id = arena_alloc(a, sizeof(int) * (size_t)(n + 1));
  for (int i = 0; i < n; i++) {
    const Node *nd = g->nodes[i];
    int64_t bytes = shape_elems(&nd->shape) * 4;
    int last_read = 2 * n - i;
    act_id[i] = add_buffer(a, &b, bytes, i, last_read);
    grad_id[i] = save_id[i] = save_grad_id[i] = -1;
    if (t->needs_grad[i]) {
      /* Written first by the loss (the output) or by the gradient step of
       * its last consumer, which comes first in backward order. */
      int first_write = nd == t->out ? n : 2 * n;
      for (int j = i + 1; j < n; j++)
        for (int k = 0; k < g->nodes[j]->ninputs; k++)
          if (g->nodes[j]->inputs[k] == nd && 2 * n - j < first_write)
            first_write = 2 * n - j;
      grad_id[i] = add_buffer(a, &b, bytes, first_write, 2 * n - i);
    }
    switch (nd->op) {
    case OP_BN:
      save_id[i] = add_buffer(a, &b, 2 * channels(nd) * 4, i, 2 * n - i);
      break;
    case OP_DROPOUT:
      save_id[i] = add_buffer(a, &b, shape_elems(&nd->shape), i, 2 * n - i);
      break;
    case OP_SEPCONV: {
      int64_t mid = nd->shape.d[0] * nd->shape.d[1] * nd->inputs[0]->shape.d[2] * nd->attr.multiplier * 4;
      save_id[i] = add_buffer(a, &b, mid, i, 2 * n - i);
      save_grad_id[i] = add_buffer(a, &b, mid, 2 * n - i, 2 * n - i);
      break;
    }
    default:
      break;
    }
  }
  int64_t *offset = arena_alloc(a, sizeof(int64_t) * (size_t)(b.n + 1));
  t->arena_bytes = plan_pack(b.size, b.first, b.last, b.n, offset);
  for (int i = 0; i < n; i++) {
    t->act[i] = offset[act_id[i]];
    t->grad[i] = grad_id[i] >= 0 ? offset[grad_id[i]] : -1;
    t->save[i] = save_id[i] >= 0 ? offset[save_id[i]] : -1;
    t->save_grad[i] = save_grad_id[i] >= 0 ? offset[save_grad_id[i]] : -1;
  }
  return t;
}
