/* Test helpers: see check.h. */
#include "check.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void rng_seed(Rng *r, unsigned long long seed) {
  r->s = seed * 0x9E3779B97F4A7C15ull + 1;
}

float rng_uniform(Rng *r, float lo, float hi) {
  /* xorshift64*: plenty for test data, identical on every platform. */
  r->s ^= r->s >> 12;
  r->s ^= r->s << 25;
  r->s ^= r->s >> 27;
  unsigned long long x = r->s * 2685821657736338717ull;
  return lo + (hi - lo) * (float)((x >> 40) * (1.0 / 16777216.0));
}

float *rand_buf(Rng *r, size_t n, float lo, float hi) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  for (size_t i = 0; i < n; i++)
    p[i] = rng_uniform(r, lo, hi);
  return p;
}

float *sentinel_buf(size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  for (size_t i = 0; i < n; i++)
    p[i] = SENTINEL;
  return p;
}

int check_close(const char *what, const float *got, const float *want,
                size_t n, int cs) {
  double max_err = 0;
  size_t max_at = 0, bad = 0;
  for (size_t i = 0; i < n; i++) {
    int fail;
    double err = 0;
    if (want[i] == SENTINEL) {
      fail = memcmp(&got[i], &want[i], sizeof got[i]) != 0;
      err = fail ? INFINITY : 0;
    } else {
      double den = fabs(want[i]) > 1 ? fabs(want[i]) : 1;
      err = fabs((double)got[i] - want[i]) / den;
      fail = !(err <= CHECK_TOL); /* NaN fails */
      if (isnan(err))
        err = INFINITY;
    }
    if (err > max_err || (fail && bad == 0)) {
      max_err = err;
      max_at = i;
    }
    if (fail) {
      if (bad < 5)
        fprintf(stderr,
                "  %s: mismatch at [%zu] (pixel %zu, channel %zu): got %.8g, "
                "want %.8g%s\n",
                what, i, i / cs, i % cs, got[i], want[i],
                want[i] == SENTINEL ? " (must be left untouched)" : "");
      bad++;
    }
  }
  if (bad) {
    fprintf(stderr, "FAIL %s: %zu of %zu values off, max error %.3g at [%zu]\n",
            what, bad, n, max_err, max_at);
    return 1;
  }
  printf("ok   %s (max error %.2g)\n", what, max_err);
  return 0;
}

int check_status(const char *what, RtStatus got, RtStatus want) {
  if (got == want) {
    printf("ok   %s (status %d)\n", what, (int)got);
    return 0;
  }
  fprintf(stderr, "FAIL %s: status %d, want %d\n", what, (int)got, (int)want);
  return 1;
}

const char *act_name(RtAct act) {
  switch (act) {
  case RT_ACT_LINEAR: return "linear";
  case RT_ACT_RELU: return "relu";
  case RT_ACT_RELU6: return "relu6";
  case RT_ACT_SIGMOID: return "sigmoid";
  case RT_ACT_TANH: return "tanh";
  case RT_ACT_LEAKY_RELU: return "leaky_relu";
  case RT_ACT_ELU: return "elu";
  case RT_ACT_THRESHOLDED_RELU: return "thresholded_relu";
  }
  return "?";
}

void out_size(int in, int k, int s, int pad, int *out, int *pad_before) {
  if (pad == PAD_VALID) {
    *out = (in - k) / s + 1;
    *pad_before = 0;
  } else if (pad == PAD_SAME) {
    /* TensorFlow: ceil(in / s) outputs; the total padding is split with
     * the extra row/column at the bottom/right. */
    *out = (in + s - 1) / s;
    int total = (*out - 1) * s + k - in;
    if (total < 0)
      total = 0;
    *pad_before = total / 2;
  } else {
    int p = pad - 1;
    *out = (in + 2 * p - k) / s + 1;
    *pad_before = p;
  }
}
