/* ast.c: constructors for the syntax tree the parser builds. */
#include "netc.h"

#include <string.h>

Ast *ast_new(Arena *a, AstKind kind, SrcLoc loc) {
  Ast *n = arena_alloc(a, sizeof *n);
  n->kind = kind;
  n->loc = loc;
  n->str_loc = loc;
  return n;
}

void ast_push(Arena *a, AstList *l, Ast *node) {
  l->items = arena_grow(a, l->items, &l->cap, l->len + 1, sizeof(Ast *));
  l->items[l->len++] = node;
}

void ast_prepend(Arena *a, AstList *l, Ast *node) {
  l->items = arena_grow(a, l->items, &l->cap, l->len + 1, sizeof(Ast *));
  memmove(l->items + 1, l->items, sizeof(Ast *) * (size_t)l->len);
  l->items[0] = node;
  l->len++;
}
