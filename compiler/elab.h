/* elab.h: state shared by the elaborator's two files: elaborate.c
 * (statements, expressions, blocks) and elab_layer.c (layer calls). */
#ifndef NETC_ELAB_H
#define NETC_ELAB_H

#include "netc.h"

typedef struct Elab {
  Arena *a;
  Diag *d;
  const Program *prog;
  const ElabLimits *lim;
  Graph *g;
  StrMap *blocks;           /* name -> BlockDef* */
  const CallFrame *frame;   /* innermost block call */
  int64_t steps;
  int depth;
  bool config;              /* in `train`: unknown words and calls are settings */
  bool abort;               /* a limit was hit: unwind without more errors */
} Elab;

Value *val_new(Elab *e, ValKind kind, SrcLoc loc);
Value *val_error(Elab *e);

/* Arguments of a call, evaluated: positional ones, then `key = value` ones. */
typedef struct CallArgs {
  Value **pos;
  int npos;
  const char **keys;
  SrcLoc *key_locs;
  Value **kvals;
  int nkeys;
} CallArgs;

/* Makes the layer `op` from evaluated arguments (elab_layer.c). */
Value *elab_layer(Elab *e, OpKind op, const Ast *call, CallArgs *args);
/* Makes an add or multiply of tensors written with `+` / `*`. */
Value *elab_merge(Elab *e, OpKind op, SrcLoc loc, Value *l, Value *r);

#endif
