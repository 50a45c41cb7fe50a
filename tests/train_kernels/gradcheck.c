/* Gradient-check helpers: see gradcheck.h. */
#include "gradcheck.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void gc_fd(double *want, double *x, size_t n, int cs, int c, long every, GcLoss f, void *arg) {
  for (size_t i = 0; i < n; i++) {
    want[i] = NAN;
    if ((int)(i % (size_t)cs) >= c || (long)(i / (size_t)cs) % every != 0)
      continue;
    double x0 = x[i];
    x[i] = x0 + GC_STEP;
    double lp = f(arg);
    x[i] = x0 - GC_STEP;
    double lm = f(arg);
    x[i] = x0;
    want[i] = (lp - lm) / (2 * GC_STEP);
  }
}

typedef struct Worst {
  char op[32];
  double err;
} Worst;

/* Test-only bookkeeping for the summary line of each executable. */
static Worst worst[64];
static int nworst;

static void note_worst(const char *op, double err) {
  char key[32];
  size_t len = strcspn(op, " ");
  if (len >= sizeof key)
    len = sizeof key - 1;
  memcpy(key, op, len);
  key[len] = 0;
  for (int i = 0; i < nworst; i++)
    if (!strcmp(worst[i].op, key)) {
      if (err > worst[i].err)
        worst[i].err = err;
      return;
    }
  if (nworst < 64) {
    strcpy(worst[nworst].op, key);
    worst[nworst++].err = err;
  }
}

void gc_summary(void) {
  printf("max gradient error per op:\n");
  for (int i = 0; i < nworst; i++)
    printf("  %-20s %.3g\n", worst[i].op, worst[i].err);
}

int gc_compare(const char *op, const char *what, const float *got, const double *want, const float *base, size_t n,
               int cs, int c) {
  double maxw = 0;
  for (size_t i = 0; i < n; i++)
    if ((int)(i % (size_t)cs) < c && !isnan(want[i])) {
      double w = want[i] + (base ? base[i] : 0.0);
      if (fabs(w) > maxw)
        maxw = fabs(w);
    }
  double floor_ = GC_FLOOR * maxw > 1e-12 ? GC_FLOOR * maxw : 1e-12;
  double max_err = 0;
  size_t bad = 0, checked = 0;
  for (size_t i = 0; i < n; i++) {
    int fail;
    double err = 0, w = 0;
    if ((int)(i % (size_t)cs) >= c) {
      float s = SENTINEL;
      fail = memcmp(&got[i], &s, sizeof s) != 0;
      err = fail ? INFINITY : 0;
    } else if (isnan(want[i])) {
      continue;
    } else {
      w = want[i] + (base ? base[i] : 0.0);
      double den = fabs(w) > floor_ ? fabs(w) : floor_;
      err = fabs((double)got[i] - w) / den;
      fail = !(err <= GC_TOL);
      if (isnan(err))
        err = INFINITY;
      checked++;
    }
    if (err > max_err)
      max_err = err;
    if (fail) {
      if (bad < 5)
        fprintf(stderr, "  %s %s: mismatch at [%zu] (row %zu, channel %zu): got %.8g, want %.8g%s\n", op, what, i,
                i / (size_t)cs, i % (size_t)cs, got[i], w,
                (int)(i % (size_t)cs) >= c ? " (must be left untouched)" : "");
      bad++;
    }
  }
  note_worst(op, max_err);
  if (bad || checked == 0) {
    fprintf(stderr, "FAIL %s %s: %zu of %zu values off (%zu compared), max error %.3g\n", op, what, bad, n, checked,
            max_err);
    return 1;
  }
  printf("ok   %s %s (%zu compared, max error %.2g)\n", op, what, checked, max_err);
  return 0;
}

double *gc_to_double(const float *x, size_t n) {
  double *p = malloc((n ? n : 1) * sizeof *p);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  for (size_t i = 0; i < n; i++)
    p[i] = x[i];
  return p;
}

double *gc_dbuf(size_t n) {
  double *p = calloc(n ? n : 1, sizeof *p);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  return p;
}

double gc_dot(const double *out, const float *r, size_t n, int cs, int c) {
  double s = 0;
  for (size_t i = 0; i < n; i++)
    if ((int)(i % (size_t)cs) < c)
      s += out[i] * r[i];
  return s;
}

float *gc_rand_strided(Rng *rng, size_t n, int cs, int c, float lo, float hi) {
  float *p = sentinel_buf(n);
  for (size_t i = 0; i < n; i++)
    if ((int)(i % (size_t)cs) < c)
      p[i] = rng_uniform(rng, lo, hi);
  return p;
}

float *gc_copy(const float *x, size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  memcpy(p, x, n * sizeof *p);
  return p;
}
