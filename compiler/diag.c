/* diag.c: compiler diagnostics in the gcc/clang format:
 *   model.net:12:9: error: add: shapes 16x16x64 and 32x32x32 differ
 *      12 |     return res + out
 *         |            ^~~~~~~~~
 * Locations are byte ranges; line and column are computed here, when a
 * message is printed, by scanning the file. */
#include "netc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* Source lines longer than this are shown as a window around the caret, so
 * a 10 MB line does not become a 10 MB message. */
enum { LINE_WINDOW = 120 };

void diag_init(Diag *d, FILE *out) {
  memset(d, 0, sizeof *d);
  d->out = out;
  d->max_errors = 20;
}

int diag_add_file(Diag *d, const char *name, const char *text, size_t len) {
  NETC_ASSERT(d->nfiles < (int)(sizeof d->files / sizeof d->files[0]));
  d->files[d->nfiles] = (SrcFile){name, text, len};
  return d->nfiles++;
}

bool diag_stop(const Diag *d) { return d->errors >= d->max_errors; }

SrcLoc loc_span(SrcLoc a, SrcLoc b) {
  if (a.file < 0)
    return b;
  if (b.file != a.file)
    return a;
  SrcLoc r = a;
  if (b.begin < r.begin)
    r.begin = b.begin;
  if (b.end > r.end)
    r.end = b.end;
  return r;
}

void diag_line_col(const Diag *d, SrcLoc loc, int *line, int *col) {
  *line = 0;
  *col = 0;
  if (loc.file < 0 || loc.file >= d->nfiles)
    return;
  const SrcFile *f = &d->files[loc.file];
  size_t off = loc.begin < f->len ? loc.begin : f->len;
  int ln = 1;
  size_t bol = 0;
  for (size_t i = 0; i < off; i++)
    if (f->text[i] == '\n') {
      ln++;
      bol = i + 1;
    }
  *line = ln;
  *col = (int)(off - bol) + 1;
}

static void put_visible(FILE *out, char c) {
  /* Control bytes and non-ASCII bytes would garble a terminal; a '?' keeps
   * the caret aligned. */
  unsigned char u = (unsigned char)c;
  fputc(u == '\t' ? ' ' : (u < 0x20 || u >= 0x7f) ? '?' : c, out);
}

static void print_excerpt(Diag *d, SrcLoc loc, int line) {
  const SrcFile *f = &d->files[loc.file];
  size_t off = loc.begin < f->len ? loc.begin : f->len;
  size_t bol = off, eol = off;
  while (bol > 0 && f->text[bol - 1] != '\n')
    bol--;
  while (eol < f->len && f->text[eol] != '\n')
    eol++;
  size_t end = loc.end < eol ? loc.end : eol;
  if (end <= off)
    end = off + 1;
  /* The window shown: the whole line, or LINE_WINDOW bytes around the caret. */
  size_t from = bol, to = eol;
  bool cut_left = false, cut_right = false;
  if (eol - bol > LINE_WINDOW) {
    from = off > bol + LINE_WINDOW / 3 ? off - LINE_WINDOW / 3 : bol;
    to = from + LINE_WINDOW < eol ? from + LINE_WINDOW : eol;
    cut_left = from > bol;
    cut_right = to < eol;
    if (end > to)
      end = to > off ? to : off + 1;
  }
  fprintf(d->out, "%5d | %s", line, cut_left ? "..." : "");
  for (size_t i = from; i < to; i++)
    put_visible(d->out, f->text[i]);
  fprintf(d->out, "%s\n      | %s", cut_right ? "..." : "", cut_left ? "   " : "");
  for (size_t i = from; i < off; i++)
    fputc(' ', d->out);
  fputc('^', d->out);
  for (size_t i = off + 1; i < end; i++)
    fputc('~', d->out);
  fputc('\n', d->out);
}

static void vreport(Diag *d, SrcLoc loc, const char *kind, const char *fmt, va_list ap) {
  if (!d->out)
    return;
  if (loc.file >= 0 && loc.file < d->nfiles) {
    int line, col;
    diag_line_col(d, loc, &line, &col);
    fprintf(d->out, "%s:%d:%d: %s: ", d->files[loc.file].name, line, col, kind);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
    print_excerpt(d, loc, line);
  } else {
    fprintf(d->out, "netc: %s: ", kind);
    vfprintf(d->out, fmt, ap);
    fputc('\n', d->out);
  }
}

void diag_error(Diag *d, SrcLoc loc, const char *fmt, ...) {
  if (diag_stop(d))
    return;
  va_list ap;
  va_start(ap, fmt);
  vreport(d, loc, "error", fmt, ap);
  va_end(ap);
  if (++d->errors == d->max_errors && d->out)
    fprintf(d->out, "netc: fatal: too many errors (%d), stopping now\n", d->errors);
}

void diag_warning(Diag *d, SrcLoc loc, const char *fmt, ...) {
  if (diag_stop(d))
    return;
  va_list ap;
  va_start(ap, fmt);
  vreport(d, loc, "warning", fmt, ap);
  va_end(ap);
  d->warnings++;
}

void diag_note(Diag *d, SrcLoc loc, const char *fmt, ...) {
  if (diag_stop(d))
    return;
  va_list ap;
  va_start(ap, fmt);
  vreport(d, loc, "note", fmt, ap);
  va_end(ap);
}

/* Levenshtein distance, capped: names are short. */
static int edit_distance(const char *a, const char *b) {
  size_t la = strlen(a), lb = strlen(b);
  if (la > 64 || lb > 64)
    return 1000;
  int row[65];
  for (size_t j = 0; j <= lb; j++)
    row[j] = (int)j;
  for (size_t i = 1; i <= la; i++) {
    int prev = row[0];
    row[0] = (int)i;
    for (size_t j = 1; j <= lb; j++) {
      int cur = row[j];
      int sub = prev + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
      int best = row[j] + 1 < row[j - 1] + 1 ? row[j] + 1 : row[j - 1] + 1;
      row[j] = sub < best ? sub : best;
      prev = cur;
    }
  }
  return row[lb];
}

const char *suggest_closest(const char *name, const char *const *cands, int n) {
  const char *best = NULL;
  int best_d = 1000;
  int limit = (int)strlen(name) / 3 + 1;
  if (limit > 3)
    limit = 3;
  for (int i = 0; i < n; i++) {
    if (!cands[i] || strcmp(cands[i], name) == 0)
      continue;
    int dist = edit_distance(name, cands[i]);
    if (dist < best_d) {
      best_d = dist;
      best = cands[i];
    }
  }
  return best_d <= limit ? best : NULL;
}
