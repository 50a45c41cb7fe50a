/* elaborate.c: runs the network definition once, at compile time. Blocks,
 * loops and conditionals unfold; every layer call becomes a graph node
 * (elab_layer.c) whose shape is known as soon as it is made. What remains is
 * a plain graph: backends never see the language. */
#include "elab.h"

#include <inttypes.h>
#include <math.h>
#include <string.h>

typedef enum Flow { FLOW_NEXT, FLOW_RETURN, FLOW_ABORT } Flow;

static const char *const builtin_names[] = {"channels", "height", "width", "range", "len", "min", "max"};
enum { NBUILTINS = sizeof builtin_names / sizeof builtin_names[0] };
static const char *const word_names[] = {"same", "valid"};

Value *val_new(Elab *e, ValKind kind, SrcLoc loc) {
  Value *v = arena_alloc(e->a, sizeof *v);
  v->kind = kind;
  v->loc = loc;
  return v;
}

Value *val_error(Elab *e) { return val_new(e, V_ERROR, NO_LOC); }

static Value *val_int(Elab *e, int64_t i, SrcLoc loc) {
  Value *v = val_new(e, V_INT, loc);
  v->i = i;
  return v;
}

static Value *val_real(Elab *e, double r, SrcLoc loc) {
  Value *v = val_new(e, V_REAL, loc);
  v->r = r;
  return v;
}

static Value *val_bool(Elab *e, bool b, SrcLoc loc) {
  Value *v = val_new(e, V_BOOL, loc);
  v->i = b;
  return v;
}

/* Counts work and depth, so that no input can make elaboration run for
 * ever or recurse off the stack. */
static bool tick(Elab *e, SrcLoc loc) {
  if (e->abort || diag_stop(e->d)) {
    e->abort = true;
    return false;
  }
  if (++e->steps > e->lim->max_steps) {
    diag_error(e->d, loc, "elaboration did not finish within %" PRId64 " steps; is a loop running away?",
               e->lim->max_steps);
    e->abort = true;
    return false;
  }
  return true;
}

static bool enter(Elab *e, SrcLoc loc) {
  if (e->depth >= e->lim->max_depth) {
    diag_error(e->d, loc, "expressions or block calls nest more than %d deep", e->lim->max_depth);
    e->abort = true;
    return false;
  }
  e->depth++;
  return true;
}

static Value *eval(Elab *e, StrMap *scope, const Ast *n);
static Flow exec_list(Elab *e, StrMap *scope, const AstList *body, Value **ret);

typedef struct Names {
  const char *v[256];
  int n;
} Names;

static void collect_name(const char *key, void *value, void *ctx) {
  (void)value;
  Names *names = ctx;
  if (names->n < 256)
    names->v[names->n++] = key;
}

static void unknown_name(Elab *e, StrMap *scope, const char *name, SrcLoc loc, bool call) {
  Names c = {.n = 0};
  if (scope)
    strmap_each(scope, collect_name, &c);
  c.n += op_all_names(c.v + c.n, 256 - c.n - NBUILTINS - 2);
  for (int i = 0; i < e->prog->nblocks && c.n < 256 - NBUILTINS - 2; i++)
    if (!e->prog->blocks[i]->is_network)
      c.v[c.n++] = e->prog->blocks[i]->name;
  for (int i = 0; i < NBUILTINS; i++)
    c.v[c.n++] = builtin_names[i];
  if (!call) {
    c.v[c.n++] = word_names[0];
    c.v[c.n++] = word_names[1];
  }
  const char *hint = suggest_closest(name, c.v, c.n);
  const char *what = call ? "layer or block" : "name";
  if (hint)
    diag_error(e->d, loc, "unknown %s '%s'; did you mean '%s'?", what, name, hint);
  else
    diag_error(e->d, loc, "unknown %s '%s'", what, name);
}

/* ------------------------------------------------------------ identifiers */

static Value *eval_ident(Elab *e, StrMap *scope, const Ast *n) {
  Value *v = scope ? strmap_get(scope, n->str) : NULL;
  if (v)
    return v;
  OpKind op;
  if (op_lookup(n->str, &op)) {
    v = val_new(e, V_OP, n->loc);
    v->op = op;
    return v;
  }
  bool word = strcmp(n->str, "same") == 0 || strcmp(n->str, "valid") == 0;
  if (word || e->config) {
    v = val_new(e, V_SYM, n->loc);
    v->s = n->str;
    return v;
  }
  if (strmap_get(e->blocks, n->str)) {
    diag_error(e->d, n->loc, "'%s' is a block; call it: %s(...) or x -> %s(...)", n->str, n->str, n->str);
    return val_error(e);
  }
  unknown_name(e, scope, n->str, n->loc, false);
  return val_error(e);
}

/* ------------------------------------------------------------ operators */

static bool is_num(const Value *v) { return v->kind == V_INT || v->kind == V_REAL; }
static double num(const Value *v) { return v->kind == V_INT ? (double)v->i : v->r; }

static const char *binop_text(BinOp op) {
  static const char *const t[] = {"+", "-", "*", "/", "//", "%", "==", "!=", "<", "<=", ">", ">=",
                                  "and", "or", "-", "not"};
  return t[op];
}

static const char *describe(Elab *e, const Value *v) { return value_describe(e->a, v); }

static Value *type_error(Elab *e, const Ast *n, const Value *l, const Value *r) {
  if (r)
    diag_error(e->d, n->str_loc, "cannot apply '%s' to %s and %s", binop_text(n->op), describe(e, l),
               describe(e, r));
  else
    diag_error(e->d, n->loc, "cannot apply '%s' to %s", binop_text(n->op), describe(e, l));
  if (l->kind == V_TENSOR || (r && r->kind == V_TENSOR))
    diag_note(e->d, n->str_loc, "on tensors, '+' adds and '*' multiplies; other arithmetic is for numbers");
  return val_error(e);
}

static Value *overflow(Elab *e, const Ast *n) {
  diag_error(e->d, n->str_loc, "integer overflow in '%s'", binop_text(n->op));
  return val_error(e);
}

static Value *str_concat(Elab *e, const Ast *n, const Value *l, const Value *r) {
  const char *a = l->kind == V_STR ? l->s : value_str(e->a, l);
  const char *b = r->kind == V_STR ? r->s : value_str(e->a, r);
  size_t la = strlen(a), lb = strlen(b);
  if (la + lb > (1u << 20)) {
    diag_error(e->d, n->str_loc, "string longer than 1 MiB");
    return val_error(e);
  }
  Value *v = val_new(e, V_STR, n->loc);
  char *s = arena_alloc(e->a, la + lb + 1);
  memcpy(s, a, la);
  memcpy(s + la, b, lb);
  v->s = s;
  return v;
}

static bool equal_values(const Value *l, const Value *r) {
  if (is_num(l) && is_num(r))
    return num(l) == num(r);
  if (l->kind != r->kind)
    return false;
  switch (l->kind) {
  case V_BOOL: return l->i == r->i;
  case V_STR:
  case V_SYM: return strcmp(l->s, r->s) == 0;
  case V_OP: return l->op == r->op;
  case V_TENSOR: return l->node == r->node;
  case V_LIST:
    if (l->nitems != r->nitems)
      return false;
    for (int i = 0; i < l->nitems; i++)
      if (!equal_values(l->items[i], r->items[i]))
        return false;
    return true;
  default: return false;
  }
}

static Value *eval_arith(Elab *e, const Ast *n, Value *l, Value *r) {
  if (l->kind == V_INT && r->kind == V_INT) {
    int64_t a = l->i, b = r->i, out = 0;
    switch (n->op) {
    case OPR_ADD: if (__builtin_add_overflow(a, b, &out)) return overflow(e, n); break;
    case OPR_SUB: if (__builtin_sub_overflow(a, b, &out)) return overflow(e, n); break;
    case OPR_MUL: if (__builtin_mul_overflow(a, b, &out)) return overflow(e, n); break;
    case OPR_DIV:
    case OPR_FLOORDIV:
    case OPR_MOD:
      if (b == 0) {
        diag_error(e->d, n->str_loc, "division by zero");
        return val_error(e);
      }
      if (a == INT64_MIN && b == -1)
        return overflow(e, n);
      /* `/` stays an integer when it divides exactly (channels(x) / 16),
       * else it is a real (5 / 32); `//` and `%` floor, as in Python. */
      if (n->op == OPR_DIV && a % b != 0)
        return val_real(e, (double)a / (double)b, n->loc);
      out = a / b;
      if (n->op == OPR_MOD) {
        out = a % b;
        if (out != 0 && ((out < 0) != (b < 0)))
          out += b;
      } else if (a % b != 0 && ((a < 0) != (b < 0))) {
        out -= 1;
      }
      break;
    default: NETC_ASSERT(!"not arithmetic");
    }
    return val_int(e, out, n->loc);
  }
  double a = num(l), b = num(r), out = 0;
  switch (n->op) {
  case OPR_ADD: out = a + b; break;
  case OPR_SUB: out = a - b; break;
  case OPR_MUL: out = a * b; break;
  case OPR_DIV:
  case OPR_FLOORDIV:
  case OPR_MOD:
    if (b == 0) {
      diag_error(e->d, n->str_loc, "division by zero");
      return val_error(e);
    }
    out = n->op == OPR_DIV ? a / b : n->op == OPR_FLOORDIV ? floor(a / b) : a - b * floor(a / b);
    break;
  default: NETC_ASSERT(!"not arithmetic");
  }
  if (!isfinite(out)) {
    diag_error(e->d, n->str_loc, "'%s' overflows", binop_text(n->op));
    return val_error(e);
  }
  return val_real(e, out, n->loc);
}

static Value *eval_binop(Elab *e, StrMap *scope, const Ast *n) {
  Value *l = eval(e, scope, n->lhs);
  if (l->kind == V_ERROR)
    return l;
  /* `and` / `or` short-circuit, so `i > 0 and xs[i - 1] ...` is safe. */
  if (n->op == OPR_AND || n->op == OPR_OR) {
    if (l->kind != V_BOOL) {
      diag_error(e->d, n->lhs->loc, "'%s' needs booleans, not %s", binop_text(n->op),
                 value_describe(e->a, l));
      return val_error(e);
    }
    if ((n->op == OPR_AND) != (l->i != 0))
      return val_bool(e, l->i != 0, n->loc);
    Value *r = eval(e, scope, n->rhs);
    if (r->kind == V_ERROR)
      return r;
    if (r->kind != V_BOOL) {
      diag_error(e->d, n->rhs->loc, "'%s' needs booleans, not %s", binop_text(n->op),
                 value_describe(e->a, r));
      return val_error(e);
    }
    return val_bool(e, r->i != 0, n->loc);
  }
  Value *r = eval(e, scope, n->rhs);
  if (r->kind == V_ERROR)
    return r;
  switch (n->op) {
  case OPR_ADD:
    if (l->kind == V_TENSOR && r->kind == V_TENSOR)
      return elab_merge(e, OP_ADD, n->loc, l, r);
    if (l->kind == V_STR || r->kind == V_STR)
      return str_concat(e, n, l, r);
    if (l->kind == V_LIST && r->kind == V_LIST) {
      Value *v = val_new(e, V_LIST, n->loc);
      v->nitems = l->nitems + r->nitems;
      v->items = arena_alloc(e->a, sizeof(Value *) * (size_t)(v->nitems + 1));
      memcpy(v->items, l->items, sizeof(Value *) * (size_t)l->nitems);
      memcpy(v->items + l->nitems, r->items, sizeof(Value *) * (size_t)r->nitems);
      return v;
    }
    break;
  case OPR_MUL:
    if (l->kind == V_TENSOR && r->kind == V_TENSOR)
      return elab_merge(e, OP_MULTIPLY, n->loc, l, r);
    break;
  case OPR_EQ:
  case OPR_NE:
    return val_bool(e, equal_values(l, r) == (n->op == OPR_EQ), n->loc);
  case OPR_LT:
  case OPR_LE:
  case OPR_GT:
  case OPR_GE:
    if (is_num(l) && is_num(r)) {
      double a = num(l), b = num(r);
      bool res = n->op == OPR_LT ? a < b : n->op == OPR_LE ? a <= b : n->op == OPR_GT ? a > b : a >= b;
      return val_bool(e, res, n->loc);
    }
    return type_error(e, n, l, r);
  default:
    break;
  }
  if (is_num(l) && is_num(r))
    return eval_arith(e, n, l, r);
  return type_error(e, n, l, r);
}

static Value *eval_unop(Elab *e, StrMap *scope, const Ast *n) {
  Value *v = eval(e, scope, n->lhs);
  if (v->kind == V_ERROR)
    return v;
  if (n->op == OPR_NOT) {
    if (v->kind == V_BOOL)
      return val_bool(e, !v->i, n->loc);
  } else if (v->kind == V_INT && v->i != INT64_MIN) {
    return val_int(e, -v->i, n->loc);
  } else if (v->kind == V_REAL) {
    return val_real(e, -v->r, n->loc);
  }
  return type_error(e, n, v, NULL);
}

static Value *eval_index(Elab *e, StrMap *scope, const Ast *n) {
  Value *l = eval(e, scope, n->lhs);
  Value *i = eval(e, scope, n->rhs);
  if (l->kind == V_ERROR || i->kind == V_ERROR)
    return val_error(e);
  if (l->kind != V_LIST) {
    diag_error(e->d, n->lhs->loc, "only lists can be indexed, not %s", value_describe(e->a, l));
    return val_error(e);
  }
  if (i->kind != V_INT) {
    diag_error(e->d, n->rhs->loc, "a list index must be an integer, not %s", value_str(e->a, i));
    return val_error(e);
  }
  int64_t k = i->i < 0 ? i->i + l->nitems : i->i;
  if (k < 0 || k >= l->nitems) {
    diag_error(e->d, n->rhs->loc, "index %" PRId64 " is out of range for a list of %d", i->i, l->nitems);
    return val_error(e);
  }
  return l->items[k];
}

/* ------------------------------------------------------------ calls */

static bool eval_args(Elab *e, StrMap *scope, const Ast *call, CallArgs *out) {
  int n = call->kids.len;
  *out = (CallArgs){0};
  out->pos = arena_alloc(e->a, sizeof(Value *) * (size_t)(n + 1));
  out->keys = arena_alloc(e->a, sizeof(char *) * (size_t)(n + 1));
  out->key_locs = arena_alloc(e->a, sizeof(SrcLoc) * (size_t)(n + 1));
  out->kvals = arena_alloc(e->a, sizeof(Value *) * (size_t)(n + 1));
  bool ok = true;
  for (int i = 0; i < n; i++) {
    const Ast *k = call->kids.items[i];
    if (k->kind == AST_NAMED) {
      for (int j = 0; j < out->nkeys; j++) {
        if (strcmp(out->keys[j], k->str) == 0) {
          diag_error(e->d, k->str_loc, "argument '%s' is given twice", k->str);
          ok = false;
        }
      }
      out->keys[out->nkeys] = k->str;
      out->key_locs[out->nkeys] = k->str_loc;
      out->kvals[out->nkeys++] = eval(e, scope, k->lhs);
    } else {
      if (out->nkeys > 0) {
        diag_error(e->d, k->loc, "a positional argument cannot follow a named one");
        ok = false;
      }
      out->pos[out->npos++] = eval(e, scope, k);
    }
  }
  for (int i = 0; i < out->npos; i++)
    ok &= out->pos[i]->kind != V_ERROR;
  for (int i = 0; i < out->nkeys; i++)
    ok &= out->kvals[i]->kind != V_ERROR;
  return ok && !e->abort;
}

static Value *need_tensor(Elab *e, const Ast *call, CallArgs *args) {
  if (args->npos == 1 && args->nkeys == 0 && args->pos[0]->kind == V_TENSOR)
    return args->pos[0];
  diag_error(e->d, call->loc, "%s(x) takes one tensor", call->str);
  return NULL;
}

static Value *eval_builtin(Elab *e, int which, const Ast *call, CallArgs *args) {
  const char *name = builtin_names[which];
  switch (which) {
  case 0: /* channels */
  case 1: /* height */
  case 2: { /* width */
    Value *t = need_tensor(e, call, args);
    if (!t)
      return val_error(e);
    const Shape *s = &t->node->shape;
    if (which != 0 && s->rank != 3) {
      char b[64];
      diag_error(e->d, call->loc, "%s: the tensor %s has no %s (it is not an image HxWxC)", name,
                 shape_str(s, b, sizeof b), name);
      return val_error(e);
    }
    return val_int(e, which == 0 ? s->d[s->rank - 1] : s->d[which - 1], call->loc);
  }
  case 3: { /* range */
    int64_t lo = 0, hi = 0;
    bool ok = args->nkeys == 0 && (args->npos == 1 || args->npos == 2);
    for (int i = 0; ok && i < args->npos; i++)
      ok = args->pos[i]->kind == V_INT;
    if (!ok) {
      diag_error(e->d, call->loc, "range takes one or two integers: range(n) or range(a, b)");
      return val_error(e);
    }
    if (args->npos == 1)
      hi = args->pos[0]->i;
    else {
      lo = args->pos[0]->i;
      hi = args->pos[1]->i;
    }
    if (hi > lo && hi - lo > 1000000) {
      diag_error(e->d, call->loc, "range of more than 1,000,000 numbers");
      return val_error(e);
    }
    Value *v = val_new(e, V_LIST, call->loc);
    v->nitems = hi > lo ? (int)(hi - lo) : 0;
    v->items = arena_alloc(e->a, sizeof(Value *) * (size_t)(v->nitems + 1));
    for (int i = 0; i < v->nitems; i++)
      v->items[i] = val_int(e, lo + i, call->loc);
    return v;
  }
  case 4: /* len */
    if (args->npos == 1 && args->nkeys == 0 && args->pos[0]->kind == V_LIST)
      return val_int(e, args->pos[0]->nitems, call->loc);
    if (args->npos == 1 && args->nkeys == 0 && args->pos[0]->kind == V_STR)
      return val_int(e, (int64_t)strlen(args->pos[0]->s), call->loc);
    diag_error(e->d, call->loc, "len takes one list or string");
    return val_error(e);
  case 5: /* min */
  case 6: { /* max */
    Value **items = args->pos;
    int n = args->npos;
    if (n == 1 && items[0]->kind == V_LIST) {
      n = items[0]->nitems;
      items = items[0]->items;
    }
    Value *best = NULL;
    for (int i = 0; i < n; i++) {
      if (!is_num(items[i])) {
        best = NULL;
        break;
      }
      if (!best || (which == 5 ? num(items[i]) < num(best) : num(items[i]) > num(best)))
        best = items[i];
    }
    if (!best || args->nkeys) {
      diag_error(e->d, call->loc, "%s takes numbers, or one list of numbers", name);
      return val_error(e);
    }
    return best;
  }
  }
  NETC_ASSERT(!"unknown builtin");
}

static Value *call_block(Elab *e, const BlockDef *b, const Ast *call, CallArgs *args) {
  for (const CallFrame *f = e->frame; f; f = f->parent) {
    if (f->block == b) {
      diag_error(e->d, call->str_loc, "block '%s' calls itself; a network must unfold to a fixed graph, "
                                      "so recursion is not allowed", b->name);
      for (const CallFrame *g = e->frame; g; g = g->parent) {
        diag_note(e->d, g->call, "'%s' is called here", g->block->name);
        if (g == f)
          break;
      }
      return val_error(e);
    }
  }
  StrMap *scope = strmap_new(e->a);
  bool ok = true;
  if (args->npos > b->nparams) {
    diag_error(e->d, args->pos[b->nparams]->loc, "block '%s' takes %d argument%s, got %d", b->name,
               b->nparams, b->nparams == 1 ? "" : "s", args->npos);
    diag_note(e->d, b->loc, "'%s' is defined here", b->name);
    return val_error(e);
  }
  Value **bound = arena_alloc(e->a, sizeof(Value *) * (size_t)(b->nparams + 1));
  for (int i = 0; i < args->npos; i++)
    bound[i] = args->pos[i];
  for (int k = 0; k < args->nkeys; k++) {
    int i = 0;
    while (i < b->nparams && strcmp(b->params[i].name, args->keys[k]) != 0)
      i++;
    if (i == b->nparams) {
      const char *cands[64];
      int n = 0;
      for (int j = 0; j < b->nparams && n < 64; j++)
        cands[n++] = b->params[j].name;
      const char *hint = suggest_closest(args->keys[k], cands, n);
      diag_error(e->d, args->key_locs[k], "block '%s' has no parameter '%s'%s%s%s", b->name, args->keys[k],
                 hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
      diag_note(e->d, b->loc, "'%s' is defined here", b->name);
      ok = false;
    } else if (bound[i]) {
      diag_error(e->d, args->key_locs[k], "parameter '%s' of block '%s' is given twice", args->keys[k], b->name);
      ok = false;
    } else {
      bound[i] = args->kvals[k];
    }
  }
  if (!ok)
    return val_error(e);
  CallFrame *frame = arena_alloc(e->a, sizeof *frame);
  *frame = (CallFrame){b, call->str_loc, e->frame, e->frame ? e->frame->depth + 1 : 1};
  const CallFrame *saved = e->frame;
  e->frame = frame;
  for (int i = 0; i < b->nparams; i++) {
    Value *v = bound[i];
    if (!v && b->params[i].deflt)
      v = eval(e, scope, b->params[i].deflt);  /* defaults see earlier parameters */
    if (!v) {
      diag_error(e->d, call->loc, "block '%s': missing argument '%s'", b->name, b->params[i].name);
      diag_note(e->d, b->params[i].loc, "'%s' is declared here", b->params[i].name);
      ok = false;
      continue;
    }
    strmap_put(scope, b->params[i].name, v);
  }
  Value *ret = NULL;
  Flow flow = ok ? exec_list(e, scope, &b->body, &ret) : FLOW_ABORT;
  e->frame = saved;
  if (flow == FLOW_RETURN)
    return ret;
  if (flow == FLOW_NEXT) {
    diag_error(e->d, b->loc, "block '%s' ends without 'return'", b->name);
    diag_note(e->d, call->str_loc, "called here");
  }
  return val_error(e);
}

static Value *config_call(Elab *e, const Ast *call, CallArgs *args) {
  Value *v = val_new(e, V_CALL, call->loc);
  v->s = call->str;
  v->items = args->pos;
  v->nitems = args->npos;
  v->keys = args->keys;
  v->kvals = args->kvals;
  v->nkeys = args->nkeys;
  return v;
}

static bool is_builtin(const char *name, int *which) {
  for (int i = 0; i < NBUILTINS; i++)
    if (strcmp(name, builtin_names[i]) == 0) {
      *which = i;
      return true;
    }
  return false;
}

static Value *eval_call(Elab *e, StrMap *scope, const Ast *call) {
  CallArgs args;
  bool args_ok = eval_args(e, scope, call, &args);
  if (e->abort)
    return val_error(e);
  /* The callee is resolved even when an argument failed, so that one run
   * reports a misspelt layer too. */
  Value *var = scope ? strmap_get(scope, call->str) : NULL;
  const BlockDef *b = strmap_get(e->blocks, call->str);
  OpKind op;
  int builtin;
  if (var && var->kind == V_OP) {
    /* A variable holding a layer (act = relu; x -> act) calls that layer. */
    return elab_layer(e, var->op, call, &args);
  }
  if (var) {
    diag_error(e->d, call->str_loc, "'%s' is a %s, not a layer or block", call->str, value_kind_name(var->kind));
    return val_error(e);
  }
  if (b)
    return args_ok ? call_block(e, b, call, &args) : val_error(e);
  if (op_lookup(call->str, &op) && !e->config)
    return elab_layer(e, op, call, &args);  /* checks its keywords even after an error */
  if (is_builtin(call->str, &builtin))
    return args_ok ? eval_builtin(e, builtin, call, &args) : val_error(e);
  if (e->config)
    return args_ok ? config_call(e, call, &args) : val_error(e);
  if (strcmp(call->str, "input") == 0) {
    diag_error(e->d, call->str_loc, "inputs are declared as network parameters, e.g. network m(input: 32x32x3)");
    return val_error(e);
  }
  unknown_name(e, scope, call->str, call->str_loc, true);
  return val_error(e);
}

/* ------------------------------------------------------------ expressions */

static Value *eval_list(Elab *e, StrMap *scope, const Ast *n, ValKind kind) {
  Value *v = val_new(e, kind, n->loc);
  v->nitems = n->kids.len;
  v->items = arena_alloc(e->a, sizeof(Value *) * (size_t)(v->nitems + 1));
  for (int i = 0; i < v->nitems; i++) {
    v->items[i] = eval(e, scope, n->kids.items[i]);
    if (v->items[i]->kind == V_ERROR)
      return v->items[i];
  }
  return v;
}

static Value *eval(Elab *e, StrMap *scope, const Ast *n) {
  if (!tick(e, n->loc) || !enter(e, n->loc))
    return val_error(e);
  Value *v = NULL;
  switch (n->kind) {
  case AST_INT: v = val_int(e, n->ival, n->loc); break;
  case AST_REAL: v = val_real(e, n->rval, n->loc); break;
  case AST_BOOL: v = val_bool(e, n->ival != 0, n->loc); break;
  case AST_STR:
    v = val_new(e, V_STR, n->loc);
    v->s = n->str;
    break;
  case AST_SHAPE:
  case AST_LIST: v = eval_list(e, scope, n, V_LIST); break;
  case AST_MAP: v = eval_list(e, scope, n, V_MAP); break;
  case AST_IDENT: v = eval_ident(e, scope, n); break;
  case AST_CALL: v = eval_call(e, scope, n); break;
  case AST_BINOP: v = eval_binop(e, scope, n); break;
  case AST_UNOP: v = eval_unop(e, scope, n); break;
  case AST_INDEX: v = eval_index(e, scope, n); break;
  case AST_NAMED:
  case AST_ASSIGN:
  case AST_IF:
  case AST_FOR:
  case AST_REPEAT:
  case AST_RETURN: NETC_ASSERT(!"statement in expression position");
  }
  e->depth--;
  return v;
}

/* ------------------------------------------------------------ statements */

static Value *make_return(Elab *e, StrMap *scope, const Ast *n) {
  if (n->kids.len == 1)
    return eval(e, scope, n->kids.items[0]);
  Value *v = val_new(e, V_LIST, n->loc);
  v->nitems = n->kids.len;
  v->items = arena_alloc(e->a, sizeof(Value *) * (size_t)v->nitems);
  for (int i = 0; i < v->nitems; i++)
    v->items[i] = eval(e, scope, n->kids.items[i]);
  return v;
}

static Flow exec(Elab *e, StrMap *scope, const Ast *n, Value **ret) {
  if (!tick(e, n->loc))
    return FLOW_ABORT;
  switch (n->kind) {
  case AST_ASSIGN:
    strmap_put(scope, n->str, eval(e, scope, n->lhs));
    return e->abort ? FLOW_ABORT : FLOW_NEXT;
  case AST_RETURN:
    *ret = make_return(e, scope, n);
    return e->abort ? FLOW_ABORT : FLOW_RETURN;
  case AST_IF: {
    Value *c = eval(e, scope, n->lhs);
    if (c->kind == V_ERROR)
      return e->abort ? FLOW_ABORT : FLOW_NEXT;  /* skip both branches */
    if (c->kind != V_BOOL) {
      diag_error(e->d, n->lhs->loc, "the condition of 'if' must be a boolean, not %s",
                 value_describe(e->a, c));
      return FLOW_NEXT;
    }
    return exec_list(e, scope, c->i ? &n->body : &n->els, ret);
  }
  case AST_FOR: {
    Value *l = eval(e, scope, n->lhs);
    if (l->kind == V_ERROR)
      return e->abort ? FLOW_ABORT : FLOW_NEXT;
    if (l->kind != V_LIST) {
      diag_error(e->d, n->lhs->loc, "'for' loops over a list, not %s", value_describe(e->a, l));
      if (l->kind == V_INT)
        diag_note(e->d, n->lhs->loc, "to count, write range(%" PRId64 ") or use repeat", l->i);
      return FLOW_NEXT;
    }
    for (int i = 0; i < l->nitems; i++) {
      strmap_put(scope, n->str, l->items[i]);
      Flow f = exec_list(e, scope, &n->body, ret);
      if (f != FLOW_NEXT)
        return f;
    }
    return FLOW_NEXT;
  }
  case AST_REPEAT: {
    Value *c = eval(e, scope, n->lhs);
    if (c->kind == V_ERROR)
      return e->abort ? FLOW_ABORT : FLOW_NEXT;
    if (c->kind != V_INT || c->i < 0) {
      diag_error(e->d, n->lhs->loc, "'repeat' needs a count of zero or more, not %s",
                 value_describe(e->a, c));
      return FLOW_NEXT;
    }
    for (int64_t i = 0; i < c->i; i++) {
      Flow f = exec_list(e, scope, &n->body, ret);
      if (f != FLOW_NEXT)
        return f;
    }
    return FLOW_NEXT;
  }
  default:
    NETC_ASSERT(!"expression in statement position");
  }
}

static Flow exec_list(Elab *e, StrMap *scope, const AstList *body, Value **ret) {
  for (int i = 0; i < body->len; i++) {
    Flow f = exec(e, scope, body->items[i], ret);
    if (f != FLOW_NEXT)
      return f;
  }
  return FLOW_NEXT;
}

/* ------------------------------------------------------------ network */

static bool declare_input(Elab *e, StrMap *scope, const Param *p) {
  Value *v = eval(e, scope, p->shape);
  if (v->kind == V_ERROR)
    return false;
  Shape s = {0};
  if (v->kind == V_INT) {
    s.rank = 1;
    s.d[0] = v->i;
  } else if (v->kind == V_LIST && v->nitems >= 1 && v->nitems <= 3) {
    s.rank = v->nitems;
    for (int i = 0; i < s.rank; i++)
      s.d[i] = v->items[i]->kind == V_INT ? v->items[i]->i : 0;
  }
  bool ok = s.rank > 0;
  for (int i = 0; i < s.rank; i++)
    ok &= s.d[i] > 0;
  if (!ok) {
    diag_error(e->d, p->shape->loc, "input '%s' needs a shape of 1 to 3 positive dimensions "
                                    "(32x32x3, 28x28x1 or 784), not %s",
               p->name, value_str(e->a, v));
    return false;
  }
  Node *n = graph_add(e->a, e->g, e->d, OP_INPUT, NULL, 0, p->name, p->loc, NULL);
  if (!n)
    return false;
  n->shape = s;
  if (!shape_infer_node(e->d, n))
    return false;
  e->g->inputs = arena_grow(e->a, e->g->inputs, &(int){e->g->ninputs}, e->g->ninputs + 1, sizeof(Node *));
  e->g->inputs[e->g->ninputs++] = n;
  Value *t = val_new(e, V_TENSOR, p->loc);
  t->node = n;
  strmap_put(scope, p->name, t);
  return true;
}

static void add_output(Elab *e, Value *v) {
  if (v->kind == V_ERROR)
    return;
  if (v->kind == V_LIST) {
    for (int i = 0; i < v->nitems; i++)
      add_output(e, v->items[i]);
    return;
  }
  if (v->kind != V_TENSOR) {
    diag_error(e->d, v->loc, "a network returns tensors, not %s", value_describe(e->a, v));
    return;
  }
  e->g->outputs = arena_grow(e->a, e->g->outputs, &(int){e->g->noutputs}, e->g->noutputs + 1, sizeof(Node *));
  e->g->outputs[e->g->noutputs++] = v->node;
}

static void run_network(Elab *e, const BlockDef *net) {
  StrMap *scope = strmap_new(e->a);
  bool declared_input = false;
  for (int i = 0; i < net->nparams; i++) {
    const Param *p = &net->params[i];
    if (p->shape) {
      declared_input = true;
      if (!declare_input(e, scope, p))
        strmap_put(scope, p->name, val_error(e));  /* reported; no cascade */
    } else if (p->deflt) {
      strmap_put(scope, p->name, eval(e, scope, p->deflt));
    } else {
      diag_error(e->d, p->loc, "network parameter '%s' needs a shape (%s: 32x32x3) or a value (%s = 10)",
                 p->name, p->name, p->name);
      strmap_put(scope, p->name, val_error(e));
    }
  }
  if (!declared_input && !e->abort) {
    diag_error(e->d, net->loc, "network '%s' has no input; declare one as a parameter, e.g. (input: 32x32x3)",
               net->name);
    return;
  }
  Value *ret = NULL;
  Flow f = exec_list(e, scope, &net->body, &ret);
  if (f == FLOW_NEXT)
    diag_error(e->d, net->loc, "network '%s' ends without 'return'", net->name);
  if (f == FLOW_RETURN)
    add_output(e, ret);
}

static void run_train(Elab *e, TrainConfig *train) {
  train->present = e->prog->has_train;
  train->items = strmap_new(e->a);
  e->config = true;
  for (int i = 0; i < e->prog->ntrain && !e->abort; i++) {
    const TrainItem *it = &e->prog->train[i];
    if (strmap_get(train->items, it->key)) {
      diag_error(e->d, it->loc, "'%s' is set twice in the train section", it->key);
      continue;
    }
    Value *v = eval(e, NULL, it->value);
    if (v->kind != V_ERROR)
      strmap_put(train->items, it->key, v);
  }
  e->config = false;
}

bool elaborate(Arena *a, Diag *d, const Program *prog, const ElabLimits *lim, Graph **out, TrainConfig *train) {
  int errors = d->errors;
  Elab e = {.a = a, .d = d, .prog = prog, .lim = lim, .blocks = strmap_new(a)};
  for (int i = 0; i < prog->nblocks; i++)
    if (!prog->blocks[i]->is_network)
      strmap_put(e.blocks, prog->blocks[i]->name, (void *)prog->blocks[i]);
  *out = NULL;
  train->items = strmap_new(a);
  if (!prog->network) {
    diag_error(d, (SrcLoc){0, 0, 0}, "no network is defined; a model needs one: "
                                     "network NAME(input: SHAPE) { ... return ... }");
    return false;
  }
  e.g = graph_new(a, prog->network->name);
  run_network(&e, prog->network);
  run_train(&e, train);
  if (d->errors == errors)
    graph_prune_unused(e.g, d);
  *out = e.g;
  return d->errors == errors;
}
