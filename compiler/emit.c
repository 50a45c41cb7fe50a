/* emit.c: the indent-aware writer and the escaping of everything a .net
 * file can put into emitted source. Names from a model never become C
 * identifiers; they appear only in comments and string literals, escaped
 * here, so a layer named `x; system("...")` cannot inject code. */
#include "emit.h"

#include <math.h>
#include <stdarg.h>
#include <string.h>

static void vline(Emitter *e, const char *fmt, va_list ap) {
  if (!e->out) /* laying out without writing */
    return;
  for (int i = 0; i < e->indent; i++)
    fputs("  ", e->out);
  vfprintf(e->out, fmt, ap);
  fputc('\n', e->out);
}

void em_line(Emitter *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vline(e, fmt, ap);
  va_end(ap);
}

void em_open(Emitter *e, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  vline(e, fmt, ap);
  va_end(ap);
  e->indent++;
}

void em_close(Emitter *e, const char *fmt, ...) {
  e->indent--;
  NETC_ASSERT(e->indent >= 0);
  va_list ap;
  va_start(ap, fmt);
  vline(e, fmt, ap);
  va_end(ap);
}

void em_blank(Emitter *e) {
  if (e->out)
    fputc('\n', e->out);
}

char *em_comment_text(Arena *a, const char *s) {
  size_t n = strlen(s);
  char *out = arena_alloc(a, n + 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    out[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    /* Neither "*" "/" (closes the comment) nor "/" "*" (nested opener, a
     * -Wcomment warning) may survive. */
    if (i > 0 && ((out[i - 1] == '*' && out[i] == '/') || (out[i - 1] == '/' && out[i] == '*')))
      out[i] = '_';
  }
  return out;
}

char *em_string_literal(Arena *a, const char *s) {
  size_t n = strlen(s);
  char *out = arena_alloc(a, 4 * n + 3), *p = out;
  *p++ = '"';
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') {
      *p++ = '\\';
      *p++ = (char)c;
    } else if (c < 0x20 || c >= 0x7f || c == '?') {
      /* Octal, always three digits: a following digit cannot join it; '?'
       * escaped so that no trigraph can form. */
      p += sprintf(p, "\\%03o", c);
    } else {
      *p++ = (char)c;
    }
  }
  *p++ = '"';
  *p = '\0';
  return out;
}

char *em_float(Arena *a, double v) {
  NETC_ASSERT(isfinite(v));
  char buf[64];
  snprintf(buf, sizeof buf, "%.9g", (double)(float)v);
  if (!strpbrk(buf, ".e"))
    strcat(buf, ".0");
  return arena_printf(a, "%sf", buf);
}
