/* elab_layer.c: turns a layer call, `conv(x, 32, 3, pad = same)`, into a
 * graph node: binds the arguments to the op's schema (ops.c), converts and
 * checks each value, then infers the node's shape. */
#include "elab.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

static bool as_positive_int(Elab *e, const char *op, const char *arg, Value *v, int64_t *out) {
  if (v->kind == V_INT && v->i > 0) {
    *out = v->i;
    return true;
  }
  diag_error(e->d, v->loc, "%s: '%s' must be a positive integer, not %s", op, arg,
             value_describe(e->a, v));
  return false;
}

/* An integer, a list of two, or a shape literal 1x7: one value per axis. */
static bool as_pair(Elab *e, const char *op, const char *arg, Value *v, int64_t out[2]) {
  if (v->kind == V_INT && v->i > 0) {
    out[0] = out[1] = v->i;
    return true;
  }
  if (v->kind == V_LIST && v->nitems == 2 && v->items[0]->kind == V_INT && v->items[0]->i > 0 &&
      v->items[1]->kind == V_INT && v->items[1]->i > 0) {
    out[0] = v->items[0]->i;
    out[1] = v->items[1]->i;
    return true;
  }
  diag_error(e->d, v->loc, "%s: '%s' must be a positive integer or a pair [h, w], not %s", op, arg,
             value_describe(e->a, v));
  return false;
}

static bool as_pad(Elab *e, const char *op, Value *v, Attrs *a) {
  if (v->kind == V_SYM && strcmp(v->s, "same") == 0) {
    a->pad_mode = PAD_SAME;
    return true;
  }
  if (v->kind == V_SYM && strcmp(v->s, "valid") == 0) {
    a->pad_mode = PAD_VALID;
    return true;
  }
  int64_t p[4];
  int n = 0;
  if (v->kind == V_INT) {
    p[0] = p[1] = p[2] = p[3] = v->i;
    n = 1;
  } else if (v->kind == V_LIST && (v->nitems == 2 || v->nitems == 4)) {
    n = v->nitems;
    for (int i = 0; i < n; i++)
      if (v->items[i]->kind != V_INT)
        n = 0;
    if (n == 2) {  /* [ph, pw] */
      p[0] = p[1] = v->items[0]->i;
      p[2] = p[3] = v->items[1]->i;
    } else if (n == 4) {  /* [top, bottom, left, right] */
      for (int i = 0; i < 4; i++)
        p[i] = v->items[i]->i;
    }
  }
  bool ok = n > 0;
  for (int i = 0; ok && i < 4; i++)
    ok = p[i] >= 0 && p[i] <= (1 << 20);
  if (!ok) {
    diag_error(e->d, v->loc, "%s: 'pad' must be same, valid, an integer, [h, w] or "
                             "[top, bottom, left, right], not %s",
               op, value_describe(e->a, v));
    return false;
  }
  a->pad_mode = PAD_EXPLICIT;
  memcpy(a->pad, p, sizeof p);
  return true;
}

static bool as_real(Elab *e, const char *op, const char *arg, Value *v, double lo, double hi, double *out) {
  double x = v->kind == V_INT ? (double)v->i : v->kind == V_REAL ? v->r : NAN;
  if (isfinite(x) && x >= lo && x <= hi) {
    *out = x;
    return true;
  }
  if (v->kind == V_INT || v->kind == V_REAL)
    diag_error(e->d, v->loc, "%s: '%s' must be between %g and %g, not %s", op, arg, lo, hi, value_str(e->a, v));
  else
    diag_error(e->d, v->loc, "%s: '%s' must be a number, not %s", op, arg,
               value_describe(e->a, v));
  return false;
}

static bool as_activation(Elab *e, const char *op, Value *v, Act *out) {
  OpKind k;
  if (v->kind == V_OP && op_as_activation(v->op, out))
    return true;
  if (v->kind == V_STR && op_lookup(v->s, &k) && op_as_activation(k, out))
    return true;
  diag_error(e->d, v->loc, "%s: 'activation' must be one of linear, relu, relu6, sigmoid, tanh, "
                           "softmax, leaky_relu, elu, thresholded_relu; not %s",
             op, value_describe(e->a, v));
  if (v->kind == V_OP && v->op == OP_PRELU)
    diag_note(e->d, v->loc, "prelu has weights of its own: apply it as a layer, x -> prelu");
  return false;
}

static bool as_axes(Elab *e, Value *v, int *mask) {
  Value *one[1] = {v};
  Value **items = v->kind == V_LIST ? v->items : one;
  int n = v->kind == V_LIST ? v->nitems : 1;
  *mask = 0;
  for (int i = 0; i < n; i++) {
    if (items[i]->kind != V_INT || items[i]->i < 1 || items[i]->i > 3) {
      diag_error(e->d, v->loc, "prelu: 'shared_axes' must list axes 1 to 3 (height, width, "
                               "channels), not %s", value_str(e->a, v));
      return false;
    }
    *mask |= 1 << items[i]->i;
  }
  return true;
}

/* Converts one argument into its attribute; false after reporting. */
static bool set_attr(Elab *e, OpKind op, const ArgSpec *spec, Value *v, Attrs *a, const char **name) {
  const char *o = op_name(op);
  switch (spec->field) {
  case F_UNITS: return as_positive_int(e, o, spec->name, v, &a->units);
  case F_FILTERS: return as_positive_int(e, o, spec->name, v, &a->filters);
  case F_GROUPS: return as_positive_int(e, o, spec->name, v, &a->groups);
  case F_MULTIPLIER: return as_positive_int(e, o, spec->name, v, &a->multiplier);
  case F_KERNEL: return as_pair(e, o, spec->name, v, a->kernel);
  case F_STRIDE: return as_pair(e, o, spec->name, v, a->stride);
  case F_PAD: return as_pad(e, o, v, a);
  case F_BIAS:
    if (v->kind == V_BOOL) {
      a->bias = v->i != 0;
      return true;
    }
    diag_error(e->d, v->loc, "%s: 'bias' must be true or false, not %s", o, value_str(e->a, v));
    return false;
  case F_ACTIVATION:
    if (!as_activation(e, o, v, &a->act))
      return false;
    /* Keras' activation functions' own defaults (not the layers'): the
     * leaky_relu function's slope is 0.2, where the LeakyReLU layer's is 0.3. */
    a->alpha = a->act == ACT_LEAKY_RELU ? 0.2 : a->act == ACT_ELU || a->act == ACT_THRESHOLDED_RELU ? 1.0 : 0.0;
    return true;
  case F_ALPHA: return as_real(e, o, spec->name, v, 0, 1e6, &a->alpha);
  case F_THETA: return as_real(e, o, spec->name, v, 0, 1e6, &a->alpha);
  case F_RATE:
    if (!as_real(e, o, spec->name, v, 0, 1, &a->rate))
      return false;
    if (a->rate >= 1) {
      diag_error(e->d, v->loc, "dropout: 'rate' must be below 1 (it is the fraction dropped)");
      return false;
    }
    return true;
  case F_MOMENTUM: return as_real(e, o, spec->name, v, 0, 1, &a->momentum);
  case F_EPSILON: return as_real(e, o, spec->name, v, 1e-12, 1, &a->epsilon);
  case F_SHARED_AXES: return as_axes(e, v, &a->shared_axes);
  case F_NAME:
    if (v->kind == V_STR && v->s[0]) {
      *name = v->s;
      return true;
    }
    diag_error(e->d, v->loc, "%s: 'name' must be a non-empty string, not %s", o, value_str(e->a, v));
    return false;
  }
  NETC_ASSERT(!"unhandled attribute field");
}

static void note_usage(Elab *e, OpKind op, SrcLoc loc) {
  int n;
  const ArgSpec *spec = op_args(op, &n);
  char buf[256];
  size_t len = (size_t)snprintf(buf, sizeof buf, "%s(%s", op_name(op), op_is_variadic(op) ? "a, b, ..." : "x");
  for (int i = 0; i < n && len < sizeof buf; i++)
    if (spec[i].field != F_NAME)
      len += (size_t)snprintf(buf + len, sizeof buf - len, spec[i].required ? ", %s" : ", %s = ...", spec[i].name);
  diag_note(e->d, loc, "usage: %s)", buf);
}

/* Gathers the tensors a layer reads: the first positional argument, or for
 * add/multiply/concat every positional tensor (or one list of them). */
static int take_tensors(Elab *e, OpKind op, const Ast *call, CallArgs *args, Node ***out) {
  const char *o = op_name(op);
  if (args->npos > 0 && args->pos[0]->kind == V_ERROR) {
    /* Already reported: skip the input(s) so the other arguments still get
     * checked. */
    if (op_is_variadic(op))
      args->npos = 0;
    else {
      args->pos++;
      args->npos--;
    }
    return -2;
  }
  if (args->npos == 0 || (args->pos[0]->kind != V_TENSOR && args->pos[0]->kind != V_LIST)) {
    diag_error(e->d, call->loc, "%s needs %s as its first argument%s%s", o,
               op_is_variadic(op) ? "tensors" : "a tensor",
               args->npos ? ", not " : "", args->npos ? value_str(e->a, args->pos[0]) : "");
    diag_note(e->d, call->loc, "write `x -> %s(...)` or `%s(x, ...)`", o, o);
    return -1;
  }
  if (!op_is_variadic(op)) {
    if (args->pos[0]->kind != V_TENSOR) {
      diag_error(e->d, args->pos[0]->loc, "%s needs a tensor as its first argument, not a list", o);
      return -1;
    }
    *out = arena_alloc(e->a, sizeof(Node *));
    (*out)[0] = args->pos[0]->node;
    args->pos++;
    args->npos--;
    return 1;
  }
  Value **items = args->pos;
  int n = args->npos;
  if (args->pos[0]->kind == V_LIST) {
    items = args->pos[0]->items;
    n = args->pos[0]->nitems;
    args->pos++;
    args->npos--;
  } else {
    args->pos += n;
    args->npos = 0;
  }
  if (n < 2) {
    diag_error(e->d, call->loc, "%s needs at least two tensors, got %d", o, n);
    return -1;
  }
  *out = arena_alloc(e->a, sizeof(Node *) * (size_t)n);
  for (int i = 0; i < n; i++) {
    if (items[i]->kind == V_ERROR)
      return -1;
    if (items[i]->kind != V_TENSOR) {
      diag_error(e->d, items[i]->loc, "%s: every input must be a tensor, not %s", o,
                 value_describe(e->a, items[i]));
      return -1;
    }
    (*out)[i] = items[i]->node;
  }
  return n;
}

static Value *make_node(Elab *e, OpKind op, Node **ins, int nins, const Attrs *attr, const char *name, SrcLoc loc) {
  if (e->g->nnodes >= e->lim->max_nodes) {
    diag_error(e->d, loc, "the network has more than %" PRId64 " layers; is a loop running away?",
               e->lim->max_nodes);
    e->abort = true;
    return val_error(e);
  }
  Node *n = graph_add(e->a, e->g, e->d, op, ins, nins, name, loc, e->frame);
  if (!n)
    return val_error(e);
  n->attr = *attr;
  if (!shape_infer_node(e->d, n))
    return val_error(e);  /* the node stays, shapeless, but nothing reads it */
  Value *v = val_new(e, V_TENSOR, loc);
  v->node = n;
  return v;
}

Value *elab_layer(Elab *e, OpKind op, const Ast *call, CallArgs *args) {
  Node **ins = NULL;
  int nins = take_tensors(e, op, call, args, &ins);
  if (nins == -1)
    return val_error(e);
  int nspec;
  const ArgSpec *spec = op_args(op, &nspec);
  Attrs attr;
  op_default_attrs(op, &attr);
  const char *name = NULL;
  bool ok = true, given[16] = {false};
  NETC_ASSERT(nspec <= 16);
  /* The name is accepted only as a keyword: a stray positional string is
   * more likely a mistake than a name. */
  int npositional = nspec - 1;
  if (args->npos > npositional) {
    diag_error(e->d, args->pos[npositional]->loc, "%s takes at most %d argument%s after its input, got %d",
               op_name(op), npositional, npositional == 1 ? "" : "s", args->npos);
    note_usage(e, op, call->str_loc);
    return val_error(e);
  }
  for (int i = 0; i < args->npos; i++) {
    given[i] = true;
    if (args->pos[i]->kind == V_ERROR)
      ok = false;  /* reported already */
    else
      ok &= set_attr(e, op, &spec[i], args->pos[i], &attr, &name);
  }
  for (int k = 0; k < args->nkeys; k++) {
    int i = 0;
    while (i < nspec && strcmp(spec[i].name, args->keys[k]) != 0)
      i++;
    if (i == nspec) {
      const char *cands[16];
      for (int j = 0; j < nspec; j++)
        cands[j] = spec[j].name;
      const char *hint = suggest_closest(args->keys[k], cands, nspec);
      diag_error(e->d, args->key_locs[k], "%s has no argument '%s'%s%s%s", op_name(op), args->keys[k],
                 hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
      note_usage(e, op, call->str_loc);
      ok = false;
      continue;
    }
    if (given[i]) {
      diag_error(e->d, args->key_locs[k], "%s: '%s' is given twice", op_name(op), spec[i].name);
      ok = false;
      continue;
    }
    given[i] = true;
    if (args->kvals[k]->kind == V_ERROR)
      ok = false;
    else
      ok &= set_attr(e, op, &spec[i], args->kvals[k], &attr, &name);
  }
  for (int i = 0; i < nspec; i++) {
    if (spec[i].required && !given[i]) {
      diag_error(e->d, call->loc, "%s: missing argument '%s'", op_name(op), spec[i].name);
      note_usage(e, op, call->str_loc);
      ok = false;
    }
  }
  if (!ok || nins < 0)
    return val_error(e);
  if ((op == OP_MAXPOOL || op == OP_AVGPOOL) && attr.stride[0] == 0) {
    attr.stride[0] = attr.kernel[0];  /* Keras: strides default to pool_size */
    attr.stride[1] = attr.kernel[1];
  }
  return make_node(e, op, ins, nins, &attr, name, call->loc);
}

Value *elab_merge(Elab *e, OpKind op, SrcLoc loc, Value *l, Value *r) {
  Node *ins[2] = {l->node, r->node};
  Attrs attr;
  op_default_attrs(op, &attr);
  return make_node(e, op, ins, 2, &attr, NULL, loc);
}
