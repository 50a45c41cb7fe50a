/* Training-mode forwards against the reference (CTest label `kernels`):
 * batch norm with batch statistics (output, saved mean and 1/std, the
 * fused epilogue, Keras' moving averages with the unbiased variance), and
 * dropout (exact inverted scaling, the documented SplitMix64 mask, the
 * same mask for every thread count, the drop rate). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gradcheck.h"
#include "netc/train_kernels.h"
#include "ref_train.h"

static int near(const char *what, double got, double want, double tol) {
  double err = fabs(got - want) / (fabs(want) > 1 ? fabs(want) : 1);
  if (!(err <= tol)) {
    fprintf(stderr, "FAIL %s: got %.9g, want %.9g (error %.3g > %.3g)\n", what, got, want, err, tol);
    return 1;
  }
  return 0;
}

/* Batch norm over a random tensor: everything against the double
 * reference on the same float input (CHECK_TOL: float rounding of
 * O(1) values). */
static int test_bn_forward(int n, int h, int w, int c, int in_extra, int out_extra, float offset, int threads,
                           Rng *rng) {
  int fail = 0, in_cs = c + in_extra, out_cs = c + out_extra;
  RtEltwise d = {.n = n, .h = h, .w = w, .c = c, .in_cs = in_cs, .out_cs = out_cs};
  long pixels = (long)n * h * w;
  size_t in_n = pixels * in_cs, on = pixels * out_cs;
  float *in = rand_buf(rng, in_n, offset - 1.5f, offset + 0.5f);
  float *gamma = rand_buf(rng, c, 0.5f, 1.5f), *beta = rand_buf(rng, c, -0.5f, 0.5f);
  float *res = rand_buf(rng, on, -1, 1);
  float *mm = rand_buf(rng, c, -1, 1), *mv = rand_buf(rng, c, 0.5f, 2.0f);
  float *mm0 = gc_copy(mm, c), *mv0 = gc_copy(mv, c);
  float *out = sentinel_buf(on), *mean = sentinel_buf(c), *invstd = sentinel_buf(c);
  float eps = 1e-3f, momentum = 0.99f;
  RtEpilogue ep = {.residual = res, .act = RT_ACT_RELU};
  RtContext ctx = {.num_threads = threads};
  char op[160];
  snprintf(op, sizeof op, "batchnorm_train n%d %dx%dx%d (cs %d->%d) offset %g t%d", n, h, w, c, in_cs, out_cs,
           offset, threads);
  fail |= check_status(op, rt_batchnorm_train(&ctx, out, mean, invstd, mm, mv, in, gamma, beta, momentum, eps,
                                              &ep, &d), RT_OK);
  double *din = gc_to_double(in, in_n), *dg = gc_to_double(gamma, c), *db = gc_to_double(beta, c);
  double *dout = gc_dbuf(on), *rmean = gc_dbuf(c), *rvar = gc_dbuf(c);
  ref_train_batchnorm(dout, rmean, rvar, din, dg, db, eps, &d);
  float *want = sentinel_buf(on);
  for (long q = 0; q < pixels; q++)
    for (int k = 0; k < c; k++) {
      double v = dout[q * out_cs + k] + res[q * out_cs + k];
      want[q * out_cs + k] = (float)(v > 0 ? v : 0);
    }
  char what[400];
  snprintf(what, sizeof what, "%s: relu(bn + residual)", op);
  fail |= check_close(what, out, want, on, out_cs);
  double bessel = pixels > 1 ? (double)pixels / (pixels - 1) : 1.0;
  for (int k = 0; k < c; k++) {
    snprintf(what, sizeof what, "%s: mean[%d]", op, k);
    fail |= near(what, mean[k], rmean[k], 1e-6);
    snprintf(what, sizeof what, "%s: invstd[%d]", op, k);
    fail |= near(what, invstd[k], 1 / sqrt(rvar[k] + eps), 1e-5);
    snprintf(what, sizeof what, "%s: moving_mean[%d]", op, k);
    fail |= near(what, mm[k], mm0[k] * (double)momentum + rmean[k] * (1 - (double)momentum), 1e-6);
    snprintf(what, sizeof what, "%s: moving_var[%d] (unbiased batch variance)", op, k);
    fail |= near(what, mv[k], mv0[k] * (double)momentum + rvar[k] * bessel * (1 - (double)momentum), 1e-6);
  }
  if (!fail)
    printf("ok   %s\n", op);
  free(in); free(gamma); free(beta); free(res); free(mm); free(mv); free(mm0); free(mv0); free(out); free(mean);
  free(invstd); free(din); free(dg); free(db); free(dout); free(rmean); free(rvar); free(want);
  return fail;
}

/* The moving averages by hand: values 1, 2, 3, 4 have mean 2.5, biased
 * variance 1.25 and unbiased variance 5/3; Keras moves the variance toward
 * the unbiased one. */
static int test_bn_moving_by_hand(void) {
  int fail = 0;
  RtContext ctx = {.num_threads = 1};
  RtEltwise d = {.n = 2, .h = 1, .w = 2, .c = 1};
  float in[4] = {1, 2, 3, 4}, out[4], mean, invstd, mm = 0.0f, mv = 1.0f;
  fail |= check_status("batchnorm_train by hand", rt_batchnorm_train(&ctx, out, &mean, &invstd, &mm, &mv, in, NULL,
                                                                     NULL, 0.9f, 0.0f, NULL, &d), RT_OK);
  fail |= near("by hand: mean", mean, 2.5, 1e-7);
  fail |= near("by hand: invstd (biased variance)", invstd, 1 / sqrt(1.25), 1e-7);
  fail |= near("by hand: moving_mean = 0.9 * 0 + 0.1 * 2.5", mm, 0.25, 1e-7);
  fail |= near("by hand: moving_var = 0.9 * 1 + 0.1 * 5/3", mv, 0.9 + 0.1 * 5.0 / 3.0, 1e-7);
  fail |= near("by hand: out[0]", out[0], -1.5 / sqrt(1.25), 1e-6);
  /* Ten more steps on the same batch: moving -> batch statistics. */
  for (int i = 0; i < 10; i++)
    rt_batchnorm_train(&ctx, out, &mean, &invstd, &mm, &mv, in, NULL, NULL, 0.9f, 0.0f, NULL, &d);
  double f = pow(0.9, 11);
  fail |= near("by hand: moving_mean after 11 steps", mm, 2.5 * (1 - f), 1e-6);
  fail |= near("by hand: moving_var after 11 steps", mv, f * 1.0 + (1 - f) * 5.0 / 3.0, 1e-6);
  /* One value per channel: no Bessel correction (TensorFlow floors
   * n - 1 at 1), variance 0. */
  RtEltwise d1 = {.n = 1, .h = 1, .w = 1, .c = 1};
  float x1 = 3.0f, o1, m1, s1, mm1 = 1.0f, mv1 = 1.0f;
  fail |= check_status("batchnorm_train one value", rt_batchnorm_train(&ctx, &o1, &m1, &s1, &mm1, &mv1, &x1, NULL,
                                                                       NULL, 0.5f, 1e-3f, NULL, &d1), RT_OK);
  fail |= near("one value: out", o1, 0.0, 1e-7);
  fail |= near("one value: moving_var", mv1, 0.5, 1e-7);
  fail |= near("one value: moving_mean", mm1, 2.0, 1e-7);
  fail |= check_status("batchnorm_train: momentum > 1", rt_batchnorm_train(&ctx, out, &mean, &invstd, &mm, &mv, in,
                                                                           NULL, NULL, 1.5f, 0.0f, NULL, &d),
                       RT_ERR_ARG);
  if (!fail)
    printf("ok   batchnorm moving averages by hand\n");
  return fail;
}

/* The documented generator, written out again. */
static uint64_t splitmix(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int test_dropout_forward(Rng *rng) {
  int fail = 0;
  int n = 4, h = 20, w = 25, c = 50, in_cs = 53, out_cs = 51;
  RtEltwise d = {.n = n, .h = h, .w = w, .c = c, .in_cs = in_cs, .out_cs = out_cs};
  long pixels = (long)n * h * w;
  size_t in_n = pixels * in_cs, on = pixels * out_cs, mn = pixels * c;
  float *in = rand_buf(rng, in_n, -1, 1);
  float *out1 = sentinel_buf(on), *out4 = sentinel_buf(on), *out_s = sentinel_buf(on);
  uint8_t *m1 = malloc(mn), *m4 = malloc(mn), *ms = malloc(mn);
  float rate = 0.25f;
  RtContext c1 = {.num_threads = 1}, c4 = {.num_threads = 4};
  fail |= check_status("dropout_train t1", rt_dropout_train(&c1, out1, m1, in, rate, 1234, &d), RT_OK);
  fail |= check_status("dropout_train t4", rt_dropout_train(&c4, out4, m4, in, rate, 1234, &d), RT_OK);
  fail |= check_status("dropout_train other seed", rt_dropout_train(&c4, out_s, ms, in, rate, 1235, &d), RT_OK);
  if (memcmp(m1, m4, mn) || memcmp(out1, out4, on * sizeof *out1)) {
    fprintf(stderr, "FAIL dropout: mask or output differ between 1 and 4 threads\n");
    fail = 1;
  }
  long kept = 0, same = 0, bad = 0;
  float scale = 1.0f / (1.0f - rate);
  for (long q = 0; q < pixels; q++)
    for (int k = 0; k < out_cs; k++) {
      float o = out1[q * out_cs + k];
      if (k >= c) {
        bad += memcmp(&o, &(float){SENTINEL}, sizeof o) != 0;
        continue;
      }
      long i = q * c + k;
      int keep = (double)(splitmix(1234, (uint64_t)i) >> 40) * 0x1p-24 >= rate;
      bad += m1[i] != keep;
      bad += o != (keep ? in[q * in_cs + k] * scale : 0.0f);
      kept += keep;
      same += m1[i] == ms[i];
    }
  if (bad) {
    fprintf(stderr, "FAIL dropout: %ld values differ from the documented mask and scaling\n", bad);
    fail = 1;
  }
  /* The kept fraction is binomial: 100000 draws, sigma ~0.0014. */
  double frac = (double)kept / (double)mn;
  fail |= near("dropout: kept fraction ~ 1 - rate", frac, 1 - rate, 0.01);
  /* Another seed: masks agree only by chance (0.75^2 + 0.25^2 = 0.625). */
  fail |= near("dropout: another seed gives another mask", (double)same / (double)mn, 0.625, 0.02);
  /* Rate 0: everything kept, out == in exactly. */
  fail |= check_status("dropout_train rate 0", rt_dropout_train(&c4, out_s, ms, in, 0.0f, 9, &d), RT_OK);
  for (long q = 0; q < pixels; q++)
    for (int k = 0; k < c; k++)
      if (out_s[q * out_cs + k] != in[q * in_cs + k] || !ms[q * c + k]) {
        fprintf(stderr, "FAIL dropout rate 0 changed a value\n");
        fail = 1;
        q = pixels;
        break;
      }
  fail |= check_status("dropout_train rate 1", rt_dropout_train(&c1, out1, m1, in, 1.0f, 1, &d), RT_ERR_ARG);
  fail |= check_status("dropout_train rate < 0", rt_dropout_train(&c1, out1, m1, in, -0.1f, 1, &d), RT_ERR_ARG);
  if (!fail)
    printf("ok   dropout forward (mask, scale, threads, seeds, rate %.2f: kept %.4f)\n", rate, frac);
  free(in); free(out1); free(out4); free(out_s); free(m1); free(m4); free(ms);
  return fail;
}

int main(void) {
  Rng rng;
  rng_seed(&rng, 4242);
  int fail = test_bn_moving_by_hand();
  static const int threads[] = {1, 4};
  for (int t = 0; t < 2; t++) {
    fail |= test_bn_forward(1, 3, 4, 5, 0, 0, 0.0f, threads[t], &rng);
    fail |= test_bn_forward(3, 2, 3, 4, 2, 3, 0.0f, threads[t], &rng);
    fail |= test_bn_forward(6, 1, 1, 7, 0, 1, 0.0f, threads[t], &rng);
    fail |= test_bn_forward(8, 16, 16, 70, 0, 0, 0.0f, threads[t], &rng);
    /* A mean far from 0 against a spread of 1: the moments are taken
     * about a shift and the mean subtracted before scaling, so the
     * variance and the output keep their digits (100 rather than more:
     * the float input itself then carries ~4e-6 of rounding). */
    fail |= test_bn_forward(4, 8, 8, 9, 0, 0, 100.0f, threads[t], &rng);
  }
  fail |= test_dropout_forward(&rng);
  if (fail) {
    fprintf(stderr, "test_train_forward: FAILED\n");
    return 1;
  }
  printf("test_train_forward: all passed\n");
  return 0;
}
