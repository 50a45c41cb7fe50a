/* train_config.c: checks the `train` section (the book's compile/fit
 * settings) against its schema, so that a typo there is caught by
 * `netc check`, long before a training run would trip on it. */
#include "netc.h"

#include <math.h>
#include <string.h>

/* What a choice's arguments must be. */
typedef enum ArgKind { A_NUMBERS, A_PATHS, A_METRIC } ArgKind;

typedef struct Choice {
  const char *name;
  const char *const *args;   /* keyword arguments it accepts (NULL-terminated) */
  int max_positional;
  ArgKind kind;
} Choice;

static const char *const no_args[] = {NULL};
static const char *const path_args[] = {"path", NULL};
static const char *const idx_args[] = {"images", "labels", NULL};
static const char *const sgd_args[] = {"lr", "momentum", "nesterov", NULL};
static const char *const adam_args[] = {"lr", "beta1", "beta2", "epsilon", NULL};
static const char *const rms_args[] = {"lr", "rho", "epsilon", NULL};
static const char *const lr_args[] = {"lr", NULL};
static const char *const step_args[] = {"lr", "after", NULL};
static const char *const cosine_args[] = {"lr", "epochs", NULL};

static const Choice data_choices[] = {{"mnist", path_args, 1, A_PATHS}, {"fashion_mnist", path_args, 1, A_PATHS},
                                      {"cifar10", path_args, 1, A_PATHS}, {"idx", idx_args, 2, A_PATHS},
                                      {"folder", path_args, 1, A_PATHS}, {NULL, NULL, 0, A_PATHS}};
static const Choice norm_choices[] = {{"none", no_args, 0, A_NUMBERS}, {"scale", no_args, 0, A_NUMBERS}, {"symmetric", no_args, 0, A_NUMBERS},
                                      {"standardize", no_args, 0, A_NUMBERS}, {NULL, NULL, 0, A_NUMBERS}};
static const Choice aug_choices[] = {{"hflip", no_args, 0, A_NUMBERS}, {"shift", no_args, 1, A_NUMBERS}, {"rotate", no_args, 1, A_NUMBERS},
                                     {NULL, NULL, 0, A_NUMBERS}};
static const Choice opt_choices[] = {{"sgd", sgd_args, 1, A_NUMBERS}, {"adam", adam_args, 1, A_NUMBERS}, {"rmsprop", rms_args, 1, A_NUMBERS},
                                     {"adagrad", lr_args, 1, A_NUMBERS}, {NULL, NULL, 0, A_NUMBERS}};
static const Choice sched_choices[] = {{"constant", lr_args, 1, A_NUMBERS}, {"step", step_args, 2, A_NUMBERS},
                                       {"cosine", cosine_args, 2, A_NUMBERS}, {NULL, NULL, 0, A_NUMBERS}};
static const Choice loss_choices[] = {{"cross_entropy", no_args, 0, A_NUMBERS}, {"mse", no_args, 0, A_NUMBERS}, {NULL, NULL, 0, A_NUMBERS}};
static const Choice ckpt_choices[] = {{"best", no_args, 1, A_METRIC}, {"every", no_args, 1, A_NUMBERS},
                                      {NULL, NULL, 0, A_NUMBERS}};
static const char *const metrics[] = {"val_acc", "val_loss", "acc", "loss"};

typedef enum Kind { K_CHOICE, K_CHOICES, K_POS_INT, K_NONNEG_REAL, K_FRACTION_OR_DATA, K_BOOL, K_INT } Kind;

static const struct Key {
  const char *name;
  Kind kind;
  const Choice *choices;
} keys[] = {
    {"data", K_CHOICE, data_choices},        {"normalize", K_CHOICE, norm_choices},
    {"augment", K_CHOICES, aug_choices},     {"optimizer", K_CHOICE, opt_choices},
    {"weight_decay", K_NONNEG_REAL, NULL},   {"schedule", K_CHOICE, sched_choices},
    {"loss", K_CHOICE, loss_choices},        {"batch", K_POS_INT, NULL},
    {"epochs", K_POS_INT, NULL},             {"validation", K_FRACTION_OR_DATA, data_choices},
    {"checkpoint", K_CHOICE, ckpt_choices},  {"shuffle", K_BOOL, NULL},
    {"seed", K_INT, NULL},
};
enum { NKEYS = sizeof keys / sizeof keys[0] };

static bool is_number(const Value *v) { return v->kind == V_INT || v->kind == V_REAL; }

/* Settings take numbers (a map of them for step's `after`, a boolean for
 * nesterov), data sources take paths, best() takes a metric. */
static bool check_arg(Arena *a, Diag *d, const char *key, const Choice *c, const Value *v) {
  switch (c->kind) {
  case A_PATHS:
    if (v->kind == V_STR)
      return true;
    diag_error(d, v->loc, "%s: %s takes paths as strings, not %s", key, c->name, value_str(a, v));
    return false;
  case A_METRIC:
    for (int i = 0; i < 4; i++)
      if (v->kind == V_SYM && strcmp(v->s, metrics[i]) == 0)
        return true;
    diag_error(d, v->loc, "%s: %s takes a metric: val_acc, val_loss, acc or loss; not %s", key, c->name,
               value_str(a, v));
    return false;
  case A_NUMBERS:
    if (is_number(v) || v->kind == V_BOOL)
      return true;
    if (v->kind == V_MAP) {
      for (int i = 0; i < v->nitems; i++) {
        if (!is_number(v->items[i])) {
          diag_error(d, v->items[i]->loc, "%s: %s: a map of numbers is expected, not %s", key, c->name,
                     value_str(a, v->items[i]));
          return false;
        }
      }
      return true;
    }
    diag_error(d, v->loc, "%s: %s takes numbers, not %s", key, c->name, value_str(a, v));
    return false;
  }
  return false;
}

static bool check_choice(Arena *a, Diag *d, const char *key, const Value *v, const Choice *cs) {
  const char *name = v->kind == V_SYM || v->kind == V_CALL ? v->s : NULL;
  const Choice *c = cs;
  while (name && c->name && strcmp(c->name, name) != 0)
    c++;
  if (!name || !c->name) {
    const char *cands[16];
    int n = 0;
    char list[256] = "";
    size_t len = 0;
    for (const Choice *k = cs; k->name; k++) {
      cands[n++] = k->name;
      len += (size_t)snprintf(list + len, sizeof list - len, "%s%s", k == cs ? "" : ", ", k->name);
    }
    const char *hint = name ? suggest_closest(name, cands, n) : NULL;
    if (hint)
      diag_error(d, v->loc, "%s: unknown '%s'; did you mean '%s'?", key, name, hint);
    else
      diag_error(d, v->loc, "%s: expected one of %s, not %s", key, list, value_str(a, v));
    return false;
  }
  if (v->kind != V_CALL)
    return true;
  bool ok = true;
  for (int i = 0; i < v->nitems + v->nkeys; i++)
    ok &= check_arg(a, d, key, c, i < v->nitems ? v->items[i] : v->kvals[i - v->nitems]);
  if (v->nitems > c->max_positional) {
    diag_error(d, v->loc, "%s: %s takes at most %d positional argument%s", key, c->name, c->max_positional,
               c->max_positional == 1 ? "" : "s");
    ok = false;
  }
  for (int i = 0; i < v->nkeys; i++) {
    int j = 0;
    while (c->args[j] && strcmp(c->args[j], v->keys[i]) != 0)
      j++;
    if (!c->args[j]) {
      int n = 0;
      while (c->args[n])
        n++;
      const char *hint = suggest_closest(v->keys[i], (const char *const *)c->args, n);
      diag_error(d, v->kvals[i]->loc, "%s: %s has no argument '%s'%s%s%s", key, c->name, v->keys[i],
                 hint ? "; did you mean '" : "", hint ? hint : "", hint ? "'?" : "");
      ok = false;
    }
  }
  return ok;
}

static bool check_key(Arena *a, Diag *d, const struct Key *k, const Value *v) {
  switch (k->kind) {
  case K_CHOICE:
    return check_choice(a, d, k->name, v, k->choices);
  case K_CHOICES: {
    if (v->kind != V_LIST) {
      diag_error(d, v->loc, "%s: expected a list, e.g. [hflip, shift(0.1)]", k->name);
      return false;
    }
    bool ok = true;
    for (int i = 0; i < v->nitems; i++)
      ok &= check_choice(a, d, k->name, v->items[i], k->choices);
    return ok;
  }
  case K_POS_INT:
    if (v->kind == V_INT && v->i > 0)
      return true;
    diag_error(d, v->loc, "%s: expected a positive integer, not %s", k->name, value_str(a, v));
    return false;
  case K_INT:
    if (v->kind == V_INT)
      return true;
    diag_error(d, v->loc, "%s: expected an integer, not %s", k->name, value_str(a, v));
    return false;
  case K_BOOL:
    if (v->kind == V_BOOL)
      return true;
    diag_error(d, v->loc, "%s: expected true or false, not %s", k->name, value_str(a, v));
    return false;
  case K_NONNEG_REAL: {
    double x = v->kind == V_INT ? (double)v->i : v->kind == V_REAL ? v->r : -1;
    if (x >= 0 && isfinite(x))
      return true;
    diag_error(d, v->loc, "%s: expected a number of zero or more, not %s", k->name, value_str(a, v));
    return false;
  }
  case K_FRACTION_OR_DATA: {
    double x = v->kind == V_INT ? (double)v->i : v->kind == V_REAL ? v->r : -1;
    if (v->kind == V_CALL)
      return check_choice(a, d, k->name, v, k->choices);
    if (v->kind == V_SYM && strcmp(v->s, "test") == 0)
      return true;  /* the data set's test split, as Keras' validation_data */
    if (x >= 0 && x < 1)
      return true;
    diag_error(d, v->loc, "%s: expected a fraction in [0, 1), test, or a data source, not %s", k->name,
               value_str(a, v));
    return false;
  }
  }
  return false;
}

typedef struct CheckCtx {
  Arena *a;
  Diag *d;
  const Program *prog;
  bool ok;
} CheckCtx;

static void check_entry(const char *key, void *value, void *ctx) {
  CheckCtx *c = ctx;
  const Value *v = value;
  for (int i = 0; i < NKEYS; i++) {
    if (strcmp(keys[i].name, key) == 0) {
      c->ok &= check_key(c->a, c->d, &keys[i], v);
      return;
    }
  }
  const char *cands[NKEYS];
  for (int i = 0; i < NKEYS; i++)
    cands[i] = keys[i].name;
  const char *hint = suggest_closest(key, cands, NKEYS);
  SrcLoc at = v->loc;
  for (int i = 0; i < c->prog->ntrain; i++)
    if (strcmp(c->prog->train[i].key, key) == 0)
      at = c->prog->train[i].loc;
  if (hint)
    diag_error(c->d, at, "unknown train setting '%s'; did you mean '%s'?", key, hint);
  else
    diag_error(c->d, at, "unknown train setting '%s'", key);
  c->ok = false;
}

bool train_config_check(Arena *a, Diag *d, const Program *prog, const TrainConfig *t) {
  CheckCtx c = {a, d, prog, true};
  if (t->items)
    strmap_each(t->items, check_entry, &c);
  return c.ok;
}

/* ---- settings with defaults, for the backends ---- */

static double number(const Value *v, double dflt) {
  if (!v)
    return dflt;
  return v->kind == V_INT ? (double)v->i : v->kind == V_REAL ? v->r : dflt;
}

static const Value *item(const TrainConfig *t, const char *key) {
  return t->items ? strmap_get(t->items, key) : NULL;
}

/* A call's argument by keyword, else by position. */
static const Value *arg(const Value *call, const char *key, int pos) {
  if (!call || call->kind != V_CALL)
    return NULL;
  for (int i = 0; i < call->nkeys; i++)
    if (strcmp(call->keys[i], key) == 0)
      return call->kvals[i];
  return pos >= 0 && pos < call->nitems ? call->items[pos] : NULL;
}

static const char *word(const Value *v, const char *dflt) {
  return v && (v->kind == V_SYM || v->kind == V_CALL) ? v->s : dflt;
}

void train_settings(const TrainConfig *t, TrainSettings *o) {
  memset(o, 0, sizeof *o);
  /* Keras' defaults: SGD(0.01), batch 32, one epoch, cross-entropy. */
  const Value *opt = item(t, "optimizer");
  o->optimizer = word(opt, "sgd");
  bool adam = strcmp(o->optimizer, "adam") == 0, rms = strcmp(o->optimizer, "rmsprop") == 0;
  o->lr = number(arg(opt, "lr", 0), strcmp(o->optimizer, "sgd") == 0 ? 0.01 : 0.001);
  o->momentum = number(arg(opt, "momentum", -1), 0);
  const Value *nes = arg(opt, "nesterov", -1);
  o->nesterov = nes && nes->kind == V_BOOL && nes->i;
  o->beta1 = number(arg(opt, "beta1", -1), 0.9);
  o->beta2 = number(arg(opt, "beta2", -1), 0.999);
  o->rho = number(arg(opt, "rho", -1), 0.9);
  o->epsilon = number(arg(opt, "epsilon", -1), adam || rms ? 1e-7 : 1e-7);
  o->weight_decay = number(item(t, "weight_decay"), 0);
  const Value *sched = item(t, "schedule");
  o->schedule = word(sched, "constant");
  const Value *lr0 = arg(sched, "lr", 0);
  if (lr0)
    o->lr = number(lr0, o->lr);
  const Value *after = arg(sched, "after", 1);
  if (after && after->kind == V_MAP)
    for (int i = 0; i + 1 < after->nitems && o->nsteps < 16; i += 2) {
      o->step_epoch[o->nsteps] = (int)number(after->items[i], 0);
      o->step_factor[o->nsteps++] = number(after->items[i + 1], 1);
    }
  o->cosine_epochs = (int)number(arg(sched, "epochs", 1), 0);
  o->loss = strcmp(word(item(t, "loss"), "cross_entropy"), "mse") == 0 ? LOSS_MSE : LOSS_CROSS_ENTROPY;
  o->batch = (int)number(item(t, "batch"), 32);
  o->epochs = (int)number(item(t, "epochs"), 1);
  const Value *val = item(t, "validation");
  o->validation = val && val->kind != V_CALL ? number(val, 0) : 0;
  o->validate_on_test = val && val->kind == V_SYM && strcmp(val->s, "test") == 0;
  const Value *sh = item(t, "shuffle");
  o->shuffle = !sh || sh->kind != V_BOOL || sh->i;
  o->seed = (int64_t)number(item(t, "seed"), 0);
  const Value *aug = item(t, "augment");
  for (int i = 0; aug && aug->kind == V_LIST && i < aug->nitems && o->naugment < 8; i++) {
    o->augment[o->naugment] = word(aug->items[i], "hflip");
    o->augment_amount[o->naugment++] = number(arg(aug->items[i], "amount", 0), 0);
  }
  const Value *ck = item(t, "checkpoint");
  o->checkpoint = word(ck, "none");
  o->checkpoint_metric = word(arg(ck, "metric", 0), "val_acc");
  o->checkpoint_every = (int)number(arg(ck, "epochs", 0), 1);
}
