/* app_plot.c: the training curves as a standalone SVG, written by hand (no
 * library): two panels, loss and accuracy against the epoch, training as a
 * solid line and validation dashed, with axes, ticks, grid and a legend.
 * Written to a temporary file renamed over the target, so a browser that
 * reloads it during training never sees half a picture. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "app_internal.h"

enum { PANEL_W = 420, PANEL_H = 300, MARGIN_L = 64, MARGIN_R = 28, MARGIN_T = 56, MARGIN_B = 48 };

#define COLOR_TRAIN "#1f77b4"
#define COLOR_VAL "#ff7f0e"

/* A tick step of 1, 2 or 5 times a power of ten giving about n ticks. */
static double nice_step(double span, int n) {
  double raw = span / n;
  double p = pow(10.0, floor(log10(raw)));
  double f = raw / p;
  return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * p;
}

/* Text with XML's five special characters escaped. */
static void put_escaped(FILE *f, const char *s) {
  for (; *s; s++) {
    switch (*s) {
    case '&': fputs("&amp;", f); break;
    case '<': fputs("&lt;", f); break;
    case '>': fputs("&gt;", f); break;
    case '"': fputs("&quot;", f); break;
    case '\'': fputs("&apos;", f); break;
    default: fputc(*s, f); break;
    }
  }
}

/* One panel at (x0, y0): columns col_train and col_val of hist. */
static void panel(FILE *f, int x0, int y0, const char *label, const double *hist, int n, int col_train,
                  int col_val, bool has_val, bool unit) {
  int pw = PANEL_W - MARGIN_L - MARGIN_R, ph = PANEL_H - MARGIN_T - MARGIN_B;
  int left = x0 + MARGIN_L, top = y0 + MARGIN_T, bottom = top + ph;
  /* Y range: [0, 1] for accuracy, else from 0 (or the minimum, when below)
   * to the largest finite value. */
  double lo = 0, hi = unit ? 1 : 0;
  for (int e = 0; e < n; e++)
    for (int k = 0; k < 2; k++) {
      double v = hist[e * HIST_COLS + (k ? col_val : col_train)];
      if ((k && !has_val) || !isfinite(v))
        continue;
      if (v > hi)
        hi = v;
      if (v < lo)
        lo = v;
    }
  if (!unit)
    hi = hi > 0 ? hi * 1.05 : 1;
  if (hi <= lo)
    hi = lo + 1;
  double ystep = nice_step(hi - lo, 5);
  hi = ceil(hi / ystep - 1e-9) * ystep;
  double xmax = n > 1 ? n : 2;
  double xstep = nice_step(xmax - 1 > 0 ? xmax - 1 : 1, 8);
  if (xstep < 1)
    xstep = 1;
#define PX(e) (left + ((e) - 1.0) / (xmax - 1.0) * pw)
#define PY(v) (bottom - ((v) - lo) / (hi - lo) * ph)
  fprintf(f, "<g font-family=\"sans-serif\" font-size=\"12\">\n");
  fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"14\" font-weight=\"bold\">%s</text>\n", left, y0 + 22, label);
  /* Grid and y ticks. */
  for (double v = lo; v <= hi + ystep * 1e-6; v += ystep) {
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"#e0e0e0\"/>\n", left, PY(v), left + pw,
            PY(v));
    fprintf(f, "<line x1=\"%d\" y1=\"%.1f\" x2=\"%d\" y2=\"%.1f\" stroke=\"black\"/>\n", left - 4, PY(v), left,
            PY(v));
    fprintf(f, "<text x=\"%d\" y=\"%.1f\" text-anchor=\"end\">%g</text>\n", left - 7, PY(v) + 4,
            fabs(v) < ystep * 1e-6 ? 0.0 : v);
  }
  /* X ticks at whole epochs. */
  for (double e = 1; e <= xmax + 1e-9; e += xstep) {
    fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" stroke=\"black\"/>\n", PX(e), bottom, PX(e),
            bottom + 4);
    fprintf(f, "<text x=\"%.1f\" y=\"%d\" text-anchor=\"middle\">%g</text>\n", PX(e), bottom + 17, e);
  }
  /* Axes and their labels. */
  fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left, top, left, bottom);
  fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"black\"/>\n", left, bottom, left + pw, bottom);
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\">epoch</text>\n", left + pw / 2, bottom + 36);
  fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"middle\" transform=\"rotate(-90 %d %d)\">%s</text>\n",
          x0 + 16, top + ph / 2, x0 + 16, top + ph / 2, label);
  /* The curves, each a polyline with a dot per epoch. */
  for (int k = 0; k < 2; k++) {
    if (k && !has_val)
      continue;
    int col = k ? col_val : col_train;
    const char *color = k ? COLOR_VAL : COLOR_TRAIN;
    fprintf(f, "<polyline fill=\"none\" stroke=\"%s\" stroke-width=\"2\"%s points=\"", color,
            k ? " stroke-dasharray=\"6 4\"" : "");
    for (int e = 0; e < n; e++) {
      double v = hist[e * HIST_COLS + col];
      if (isfinite(v))
        fprintf(f, "%.1f,%.1f ", PX(e + 1.0), PY(v));
    }
    fprintf(f, "\"/>\n");
    for (int e = 0; e < n; e++) {
      double v = hist[e * HIST_COLS + col];
      if (isfinite(v))
        fprintf(f, "<circle cx=\"%.1f\" cy=\"%.1f\" r=\"3\" fill=\"%s\"><title>epoch %d: %.4f</title></circle>\n",
                PX(e + 1.0), PY(v), color, e + 1, v);
    }
  }
  /* Legend at the right, where the curves rarely are: at the top for the
   * loss (it falls), at the bottom for the accuracy (it rises). */
  int lx = left + pw - 120, ly = unit ? bottom - (has_val ? 36 : 20) - 4 + 12 : y0 + 36;
  fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"120\" height=\"%d\" fill=\"white\" stroke=\"#b0b0b0\"/>\n", lx,
          ly - 12, has_val ? 36 : 20);
  fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\"/>\n", lx + 6, ly - 2,
          lx + 30, ly - 2, COLOR_TRAIN);
  fprintf(f, "<text x=\"%d\" y=\"%d\">training</text>\n", lx + 36, ly + 2);
  if (has_val) {
    fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" stroke-width=\"2\" "
            "stroke-dasharray=\"6 4\"/>\n", lx + 6, ly + 14, lx + 30, ly + 14, COLOR_VAL);
    fprintf(f, "<text x=\"%d\" y=\"%d\">validation</text>\n", lx + 36, ly + 18);
  }
  fprintf(f, "</g>\n");
#undef PX
#undef PY
}

int app_plot_write(const AppArgs *a, const char *path, const char *title, const double *hist, int n,
                   bool has_val) {
  size_t len = strlen(path);
  char *tmp = malloc(len + 16);
  if (!tmp)
    return app_fail(a, APP_EXIT_DATA, "out of memory");
  memcpy(tmp, path, len);
  memcpy(tmp + len, ".tmp-XXXXXX", 12);
  int fd = mkstemp(tmp);
  if (fd < 0) {
    int e = errno;
    free(tmp);
    return app_fail(a, APP_EXIT_DATA, "%s: cannot create a temporary file beside it: %s", path, strerror(e));
  }
  FILE *f = fdopen(fd, "w");
  if (!f) {
    int e = errno;
    close(fd);
    unlink(tmp);
    free(tmp);
    return app_fail(a, APP_EXIT_DATA, "%s: %s", path, strerror(e));
  }
  int w = 2 * PANEL_W, h = PANEL_H + 24;
  fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
  fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n", w, h,
          w, h);
  fprintf(f, "<title>");
  put_escaped(f, title);
  fprintf(f, "</title>\n<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
  fprintf(f, "<text x=\"%d\" y=\"18\" font-family=\"sans-serif\" font-size=\"15\" text-anchor=\"middle\">", w / 2);
  put_escaped(f, title);
  fprintf(f, "</text>\n");
  panel(f, 0, 16, "loss", hist, n, HIST_LOSS, HIST_VAL_LOSS, has_val, false);
  panel(f, PANEL_W, 16, "accuracy", hist, n, HIST_ACC, HIST_VAL_ACC, has_val, true);
  fprintf(f, "</svg>\n");
  bool ok = !ferror(f);
  ok = fclose(f) == 0 && ok;
  if (!ok || rename(tmp, path) != 0) {
    int e = errno;
    unlink(tmp);
    free(tmp);
    return app_fail(a, APP_EXIT_DATA, "%s: cannot write: %s", path, strerror(e));
  }
  free(tmp);
  return APP_EXIT_OK;
}
