/* shape.c: shape inference, one rule per op. The elaborator calls
 * shape_infer_node on every layer as it is made, because the language can
 * ask a tensor's shape (channels(x)) while the graph is being built. Errors
 * say which shapes met and where each came from. */
#include "netc.h"

#include <inttypes.h>
#include <string.h>

/* Sizes beyond these are refused: they keep every product the cost model
 * forms far from int64 overflow, and no real network comes near them. */
#define MAX_DIM ((int64_t)1 << 30)
#define MAX_ELEMS ((int64_t)1 << 40)

void shape_note_origin(Diag *d, const Node *n) {
  char s[64];
  shape_str(&n->shape, s, sizeof s);
  if (n->op == OP_INPUT)
    diag_note(d, n->loc, "%s is the network input '%s', declared here", s, n->name);
  else
    diag_note(d, n->loc, "%s is the output of '%s' (%s), made here", s, n->name,
              op_keras_type(n->op));
  int shown = 0;
  for (const CallFrame *f = n->frame; f && shown < 3; f = f->parent, shown++)
    diag_note(d, f->call, "in block '%s', called here", f->block->name);
}

static bool check_size(Diag *d, Node *n) {
  int64_t e = 1;
  for (int i = 0; i < n->shape.rank; i++) {
    if (n->shape.d[i] < 1 || n->shape.d[i] > MAX_DIM || __builtin_mul_overflow(e, n->shape.d[i], &e) ||
        e > MAX_ELEMS) {
      char s[96];
      diag_error(d, n->loc, "%s: output shape %s is too large (at most %" PRId64 " per dimension, %" PRId64 " in all)",
                 op_name(n->op), shape_str(&n->shape, s, sizeof s), MAX_DIM, MAX_ELEMS);
      return false;
    }
  }
  return true;
}

static bool need_image(Diag *d, Node *n, const Node *in) {
  if (in->shape.rank == 3)
    return true;
  char s[64];
  diag_error(d, n->loc, "%s expects an image (HxWxC), but its input is %s%s",
             op_name(n->op), in->shape.rank == 1 ? "a vector " : "",
             shape_str(&in->shape, s, sizeof s));
  shape_note_origin(d, in);
  if (in->shape.rank == 1)
    diag_note(d, n->loc, "a vector has no height or width; convolutions and pooling "
                         "belong before flatten, global pooling or dense");
  return false;
}

/* Output size and padding along one axis; false when the window does not fit. */
static bool window_axis(Attrs *a, int axis, int64_t in, int64_t *out) {
  int64_t k = a->kernel[axis], s = a->stride[axis];
  int64_t *lo = &a->pad[axis * 2], *hi = &a->pad[axis * 2 + 1];
  switch (a->pad_mode) {
  case PAD_SAME: {
    /* TensorFlow's rule: out = ceil(in / s); the odd pixel of padding goes
     * at the bottom/right. */
    *out = (in + s - 1) / s;
    int64_t total = (*out - 1) * s + k - in;
    if (total < 0)
      total = 0;
    *lo = total / 2;
    *hi = total - *lo;
    return true;
  }
  case PAD_VALID:
    *lo = *hi = 0;
    break;
  case PAD_EXPLICIT:
    break;  /* as written: p, [ph, pw] or [top, bottom, left, right] */
  }
  int64_t span = in + *lo + *hi;
  if (span < k)
    return false;
  *out = (span - k) / s + 1;
  return true;
}

static bool window_op(Diag *d, Node *n, const Node *in, int64_t channels) {
  Attrs *a = &n->attr;
  int64_t oh = 0, ow = 0; /* set when window_axis succeeds; GCC at -march=haswell cannot tell */
  bool okh = window_axis(a, 0, in->shape.d[0], &oh);
  bool okw = window_axis(a, 1, in->shape.d[1], &ow);
  if (!okh || !okw) {
    char s[64];
    const char *what = op_category(n->op) == CAT_POOL ? "pool window" : "kernel";
    diag_error(d, n->loc, "%s: the %s %" PRId64 "x%" PRId64 " is larger than its %s input %s",
               op_name(n->op), what, a->kernel[0], a->kernel[1],
               a->pad_mode == PAD_VALID ? "unpadded" : "padded", shape_str(&in->shape, s, sizeof s));
    shape_note_origin(d, in);
    return false;
  }
  n->shape = (Shape){3, {oh, ow, channels}};
  return true;
}

static bool same_shape(const Shape *a, const Shape *b) {
  if (a->rank != b->rank)
    return false;
  for (int i = 0; i < a->rank; i++)
    if (a->d[i] != b->d[i])
      return false;
  return true;
}

static bool merge_error(Diag *d, Node *n, const Node *x, const Node *y, const char *what) {
  char s1[64], s2[64];
  diag_error(d, n->loc, "%s: %s %s and %s %s", op_name(n->op), what,
             shape_str(&x->shape, s1, sizeof s1), shape_str(&y->shape, s2, sizeof s2),
             n->op == OP_CONCAT ? "differ in height or width" : "differ");
  shape_note_origin(d, x);
  shape_note_origin(d, y);
  return false;
}

/* Multiply broadcasts a per-channel vector (C or 1x1xC) over HxWxC, as an SE
 * block scales feature maps. */
static bool broadcastable(const Shape *big, const Shape *small) {
  int64_t c = big->d[big->rank - 1];
  if (big->rank != 3)
    return false;
  if (small->rank == 1)
    return small->d[0] == c;
  return small->rank == 3 && small->d[0] == 1 && small->d[1] == 1 && small->d[2] == c;
}

static bool infer(Diag *d, Node *n) {
  Attrs *a = &n->attr;
  const Node *in = n->ninputs ? n->inputs[0] : NULL;
  switch (n->op) {
  case OP_INPUT:
    return true;  /* set by the elaborator from the declaration */
  case OP_DENSE:
    n->shape = in->shape;
    n->shape.d[n->shape.rank - 1] = a->units;
    return true;
  case OP_CONV: {
    if (!need_image(d, n, in))
      return false;
    int64_t c = in->shape.d[2];
    if (c % a->groups || a->filters % a->groups) {
      diag_error(d, n->loc, "conv: groups = %" PRId64 " must divide both the %" PRId64
                            " input channels and the %" PRId64 " filters",
                 a->groups, c, a->filters);
      shape_note_origin(d, in);
      return false;
    }
    return window_op(d, n, in, a->filters);
  }
  case OP_DWCONV:
    if (!need_image(d, n, in))
      return false;
    return window_op(d, n, in, in->shape.d[2] * a->multiplier);
  case OP_SEPCONV:
    if (!need_image(d, n, in))
      return false;
    return window_op(d, n, in, a->filters);
  case OP_MAXPOOL:
  case OP_AVGPOOL:
    if (!need_image(d, n, in))
      return false;
    return window_op(d, n, in, in->shape.d[2]);
  case OP_GLOBAL_AVGPOOL:
  case OP_GLOBAL_MAXPOOL:
    if (!need_image(d, n, in))
      return false;
    n->shape = (Shape){1, {in->shape.d[2]}};
    return true;
  case OP_FLATTEN:
    n->shape = (Shape){1, {shape_elems(&in->shape)}};
    return true;
  case OP_ZEROPAD:
    if (!need_image(d, n, in))
      return false;
    n->shape = (Shape){3, {in->shape.d[0] + a->pad[0] + a->pad[1], in->shape.d[1] + a->pad[2] + a->pad[3],
                           in->shape.d[2]}};
    return true;
  case OP_PRELU:
    if (a->shared_axes >> (in->shape.rank + 1)) {
      char s[64];
      diag_error(d, n->loc, "prelu: shared_axes names an axis beyond the %d axes of its input %s "
                            "(axes count from 1, the batch axis being 0)",
                 in->shape.rank, shape_str(&in->shape, s, sizeof s));
      return false;
    }
    n->shape = in->shape;
    return true;
  case OP_DROPOUT:
  case OP_BN:
  case OP_RELU:
  case OP_RELU6:
  case OP_SIGMOID:
  case OP_TANH:
  case OP_SOFTMAX:
  case OP_LINEAR:
  case OP_LEAKY_RELU:
  case OP_ELU:
  case OP_THRESHOLDED_RELU:
    n->shape = in->shape;
    return true;
  case OP_ADD:
    for (int i = 1; i < n->ninputs; i++)
      if (!same_shape(&in->shape, &n->inputs[i]->shape))
        return merge_error(d, n, in, n->inputs[i], "shapes");
    n->shape = in->shape;
    return true;
  case OP_MULTIPLY: {
    const Node *big = in;
    for (int i = 1; i < n->ninputs; i++)
      if (shape_elems(&n->inputs[i]->shape) > shape_elems(&big->shape))
        big = n->inputs[i];
    for (int i = 0; i < n->ninputs; i++) {
      const Node *x = n->inputs[i];
      if (!same_shape(&x->shape, &big->shape) && !broadcastable(&big->shape, &x->shape)) {
        merge_error(d, n, big, x, "shapes");
        diag_note(d, n->loc, "multiply takes equal shapes, or scales HxWxC by a per-channel C or 1x1xC");
        return false;
      }
    }
    n->shape = big->shape;
    return true;
  }
  case OP_CONCAT: {
    int64_t c = 0;
    for (int i = 0; i < n->ninputs; i++) {
      const Node *x = n->inputs[i];
      if (x->shape.rank != in->shape.rank)
        return merge_error(d, n, in, x, "shapes");
      for (int k = 0; k + 1 < x->shape.rank; k++)
        if (x->shape.d[k] != in->shape.d[k])
          return merge_error(d, n, in, x, "shapes");
      c += x->shape.d[x->shape.rank - 1];
    }
    n->shape = in->shape;
    n->shape.d[n->shape.rank - 1] = c;
    return true;
  }
  case OP_COUNT:
    break;
  }
  NETC_ASSERT(!"op without shape rule");
}

bool shape_infer_node(Diag *d, Node *n) {
  for (int i = 0; i < n->ninputs; i++)
    NETC_ASSERT(n->inputs[i]->shape.rank > 0);
  if (!infer(d, n))
    return false;
  return check_size(d, n);
}
