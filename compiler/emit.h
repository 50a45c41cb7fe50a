/* emit.h: the indent-aware writer every code generator prints through, so
 * emitted files are laid out the same way everywhere. */
#ifndef NETC_EMIT_H
#define NETC_EMIT_H

#include "netc.h"

typedef struct Emitter {
  FILE *out;   /* NULL: nothing is written (a layout run that only counts) */
  int indent;  /* levels of two spaces */
} Emitter;

/* One line at the current indent. */
void em_line(Emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A line, then one more level of indent (for lines ending in '{'). */
void em_open(Emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* One level less, then a line (for lines starting with '}'). */
void em_close(Emitter *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void em_blank(Emitter *e);

/* Text safe inside a C comment: no comment terminator, no control bytes. */
char *em_comment_text(Arena *a, const char *s);
/* A C string literal (with its quotes) holding s exactly. */
char *em_string_literal(Arena *a, const char *s);
/* A float literal that reads back as the same float: 0.001f, 1.0f. */
char *em_float(Arena *a, double v);

#endif
