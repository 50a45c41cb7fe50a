/* Optimizer steps (CTest label `grad`): one step of each optimizer against
 * values worked out by hand from the Keras formulas, then several steps
 * against the same formulas in double (Adam's bias correction at t = 1, 2,
 * 3), with and without L2 weight decay. The float kernels differ from the
 * double recursion by float rounding: 1e-6 relative on O(1) weights. */
#include <math.h>
#include <stdio.h>

#include "netc/train_kernels.h"

enum { N = 4 };

static int expect(const char *what, const float *got, const double *want, int n, double tol) {
  int fail = 0;
  double max_err = 0;
  for (int i = 0; i < n; i++) {
    double err = fabs(got[i] - want[i]) / (fabs(want[i]) > 1 ? fabs(want[i]) : 1);
    if (err > max_err || isnan(err))
      max_err = isnan(err) ? INFINITY : err;
    if (!(err <= tol)) {
      fprintf(stderr, "  %s: [%d] got %.9g, want %.9g\n", what, i, got[i], want[i]);
      fail = 1;
    }
  }
  if (fail)
    fprintf(stderr, "FAIL %s (max error %.3g)\n", what, max_err);
  else
    printf("ok   %s (max error %.2g)\n", what, max_err);
  return fail;
}

static const float w0[N] = {1.0f, -2.0f, 0.5f, 0.0f};
static const float grads[3][N] = {{0.1f, 0.2f, -0.3f, 0.0f}, {-0.2f, 0.4f, 0.1f, 1e-3f}, {0.05f, -0.1f, 0.2f, -2.0f}};

static int test_sgd(void) {
  int fail = 0;
  float w[N], v[N];
  double want[N];
  /* Plain SGD, lr 0.1: w - 0.1 g. */
  for (int i = 0; i < N; i++)
    w[i] = w0[i];
  rt_sgd_step(w, NULL, grads[0], N, 0.1f, 0.0f, 0, 0.0f);
  const double plain[N] = {1.0 - 0.01, -2.0 - 0.02, 0.5 + 0.03, 0.0};
  fail |= expect("sgd: one step by hand", w, plain, N, 1e-7);
  /* With l2(0.01): g + 0.02 w. */
  for (int i = 0; i < N; i++)
    w[i] = w0[i];
  rt_sgd_step(w, NULL, grads[0], N, 0.1f, 0.0f, 0, 0.01f);
  const double decay[N] = {1.0 - 0.1 * (0.1 + 0.02), -2.0 - 0.1 * (0.2 - 0.04), 0.5 - 0.1 * (-0.3 + 0.01), 0.0};
  fail |= expect("sgd + weight decay: one step by hand", w, decay, N, 1e-7);
  /* Momentum 0.9 (and Nesterov), three steps against the recursion. */
  for (int nesterov = 0; nesterov < 2; nesterov++) {
    double dw[N], dv[N];
    for (int i = 0; i < N; i++) {
      w[i] = w0[i];
      v[i] = 0.0f;
      dw[i] = w0[i];
      dv[i] = 0.0;
    }
    for (int t = 0; t < 3; t++) {
      rt_sgd_step(w, v, grads[t], N, 0.1f, 0.9f, nesterov, 0.001f);
      for (int i = 0; i < N; i++) {
        double g = grads[t][i] + 2 * 0.001 * dw[i];
        dv[i] = 0.9 * dv[i] - 0.1 * g;
        dw[i] += nesterov ? 0.9 * dv[i] - 0.1 * g : dv[i];
      }
      if (t == 0) {
        /* First step by hand: v = -0.1 g; w += v (Nesterov: w += 0.9 v - 0.1 g = -0.19 g). */
        double g0 = 0.1 + 2 * 0.001 * 1.0;
        double hand = 1.0 + (nesterov ? -0.19 * g0 : -0.1 * g0);
        fail |= expect(nesterov ? "sgd nesterov: first step by hand" : "sgd momentum: first step by hand", w, &hand,
                       1, 1e-7);
      }
    }
    fail |= expect(nesterov ? "sgd nesterov: 3 steps" : "sgd momentum: 3 steps", w, dw, N, 1e-6);
    for (int i = 0; i < N; i++)
      want[i] = dv[i];
    fail |= expect(nesterov ? "sgd nesterov: velocity" : "sgd momentum: velocity", v, want, N, 1e-6);
  }
  return fail;
}

static int test_adam(void) {
  int fail = 0;
  float w[N], m[N], v[N];
  double dw[N], dm[N], dv[N];
  const double lr = 0.01, b1 = 0.9, b2 = 0.999, eps = 1e-7;
  for (int i = 0; i < N; i++) {
    w[i] = w0[i];
    m[i] = v[i] = 0.0f;
    dw[i] = w0[i];
    dm[i] = dv[i] = 0.0;
  }
  for (int t = 1; t <= 3; t++) {
    rt_adam_step(w, m, v, grads[t - 1], N, (float)lr, (float)b1, (float)b2, (float)eps, 0.0f, t);
    double lr_t = lr * sqrt(1 - pow(b2, t)) / (1 - pow(b1, t));
    for (int i = 0; i < N; i++) {
      double g = grads[t - 1][i];
      dm[i] = b1 * dm[i] + (1 - b1) * g;
      dv[i] = b2 * dv[i] + (1 - b2) * g * g;
      dw[i] -= lr_t * dm[i] / (sqrt(dv[i]) + eps);
    }
    if (t == 1) {
      /* Step 1 by hand: m = 0.1 g, v = 0.001 g^2, lr_1 = lr sqrt(0.001) / 0.1,
       * so the step is lr * g / (|g| + eps / sqrt(0.001)): ~lr * sign(g),
       * and 0 for g = 0. */
      const double hand[N] = {1.0 - lr * 0.1 / (0.1 + eps / sqrt(0.001)), -2.0 - lr * 0.2 / (0.2 + eps / sqrt(0.001)),
                              0.5 + lr * 0.3 / (0.3 + eps / sqrt(0.001)), 0.0};
      fail |= expect("adam: step 1 by hand (bias correction)", w, hand, N, 1e-6);
    }
    char what[64];
    snprintf(what, sizeof what, "adam: w after step %d", t);
    fail |= expect(what, w, dw, N, 1e-6);
    snprintf(what, sizeof what, "adam: m after step %d", t);
    fail |= expect(what, m, dm, N, 1e-6);
    snprintf(what, sizeof what, "adam: v after step %d", t);
    fail |= expect(what, v, dv, N, 1e-6);
  }
  /* Weight decay enters the moments as g + 2 wd w. */
  float wd_w[1] = {2.0f}, wd_m[1] = {0}, wd_v[1] = {0}, wd_g[1] = {0.0f};
  rt_adam_step(wd_w, wd_m, wd_v, wd_g, 1, 0.001f, 0.9f, 0.999f, 1e-7f, 0.05f, 1);
  double g = 2 * 0.05 * 2.0, hand = 2.0 - 0.001 * g / (g + 1e-7 / sqrt(0.001));
  fail |= expect("adam + weight decay: step 1 by hand", wd_w, &hand, 1, 1e-6);
  return fail;
}

static int test_rmsprop_adagrad(void) {
  int fail = 0;
  float w[N], s[N];
  double dw[N], ds[N];
  const double lr = 0.01, rho = 0.9, eps = 1e-7, wd = 0.002;
  for (int i = 0; i < N; i++) {
    w[i] = w0[i];
    s[i] = 0.0f;
    dw[i] = w0[i];
    ds[i] = 0.0;
  }
  for (int t = 0; t < 3; t++) {
    rt_rmsprop_step(w, s, grads[t], N, (float)lr, (float)rho, (float)eps, (float)wd);
    for (int i = 0; i < N; i++) {
      double g = grads[t][i] + 2 * wd * dw[i];
      ds[i] = rho * ds[i] + (1 - rho) * g * g;
      dw[i] -= lr * g / (sqrt(ds[i]) + eps);
    }
    if (t == 0) {
      /* ms = 0.1 g^2: the first step is lr * g / (sqrt(0.1) |g| + eps). */
      double g0 = 0.1 + 2 * wd * 1.0, hand = 1.0 - lr * g0 / (sqrt(0.1) * g0 + eps);
      fail |= expect("rmsprop: step 1 by hand", w, &hand, 1, 1e-6);
    }
  }
  fail |= expect("rmsprop: 3 steps", w, dw, N, 1e-6);
  fail |= expect("rmsprop: mean square", s, ds, N, 1e-6);

  /* Adagrad from Keras' initial accumulator 0.1. */
  for (int i = 0; i < N; i++) {
    w[i] = w0[i];
    s[i] = 0.1f;
    dw[i] = w0[i];
    ds[i] = (double)0.1f;
  }
  for (int t = 0; t < 3; t++) {
    rt_adagrad_step(w, s, grads[t], N, (float)lr, (float)eps, 0.0f);
    for (int i = 0; i < N; i++) {
      double g = grads[t][i];
      ds[i] += g * g;
      dw[i] -= lr * g / (sqrt(ds[i]) + eps);
    }
    if (t == 0) {
      double hand = 1.0 - lr * 0.1 / (sqrt(0.1 + 0.01) + eps);
      fail |= expect("adagrad: step 1 by hand (accumulator from 0.1)", w, &hand, 1, 1e-6);
    }
  }
  fail |= expect("adagrad: 3 steps", w, dw, N, 1e-6);
  fail |= expect("adagrad: accumulator", s, ds, N, 1e-6);
  return fail;
}

int main(void) {
  int fail = test_sgd() | test_adam() | test_rmsprop_adagrad();
  if (fail) {
    fprintf(stderr, "test_optim: FAILED\n");
    return 1;
  }
  printf("test_optim: all passed\n");
  return 0;
}
