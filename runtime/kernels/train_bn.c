/* Batch normalization in training mode: batch statistics (forward), the
 * moving averages Keras keeps, and the gradient through the statistics.
 *
 * Per-channel sums go through trk_colreduce (double, per-thread partial
 * sums added in a fixed order); the element-wise passes split pixels. */
#include <math.h>

#include "train_internal.h"

enum { PIX_BLOCK = 128 };

static int bn_desc_ok(const RtEltwise *d, int *in_cs, int *out_cs) {
  if (!d || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1)
    return 0;
  *in_cs = rtk_cs(d->in_cs, d->c);
  *out_cs = rtk_cs(d->out_cs, d->c);
  return *in_cs >= d->c && *out_cs >= d->c;
}

/* o = (x - mean) * sc + beta: subtracting the mean first keeps the digits
 * of activations whose mean is large against their spread, which
 * x * sc + (beta - mean * sc) would cancel away. */
RTK_CLONES
static void trk_bn_affine_row(float *restrict o, const float *restrict x, const float *restrict mean,
                              const float *restrict sc, const float *restrict sh, int n) {
RTK_SIMD
  for (int j = 0; j < n; j++)
    o[j] = (x[j] - mean[j]) * sc[j] + sh[j];
}

RtStatus rt_batchnorm_train(const RtContext *ctx, float *out, float *save_mean, float *save_invstd,
                            float *moving_mean, float *moving_var, const float *in, const float *gamma,
                            const float *beta, float momentum, float eps, const RtEpilogue *ep, const RtEltwise *d) {
  int in_cs, out_cs;
  if (!out || !save_mean || !save_invstd || !in || !bn_desc_ok(d, &in_cs, &out_cs) || !(eps >= 0.0f) ||
      !(momentum >= 0.0f && momentum <= 1.0f))
    return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  int threads = trk_threads_for(ctx, (double)pixels * d->c);
  /* Keras (TensorFlow's fused batch norm, the path of every 4-D input)
   * moves the variance toward the batch variance with Bessel's
   * correction, n/(n-1), and 1 when n is 1 (TensorFlow's rest_size - 1
   * floored at 1). */
  double bessel = pixels > 1 ? (double)pixels / (double)(pixels - 1) : 1.0;
  double s1[TRK_RCH], s2[TRK_RCH];
  for (int c0 = 0; c0 < d->c; c0 += TRK_RCH) {
    int cn = d->c - c0 < TRK_RCH ? d->c - c0 : TRK_RCH;
    /* Moments about the first pixel's value: no cancellation when the
     * mean is large against the spread. */
    float shift[TRK_RCH];
    for (int j = 0; j < cn; j++)
      shift[j] = in[c0 + j];
    trk_colreduce(threads, TRK_MOMENTS, s1, s2, pixels, cn, in + c0, in_cs, NULL, 0, shift, NULL);
    for (int j = 0; j < cn; j++) {
      double dm = s1[j] / (double)pixels;
      double mean = shift[j] + dm;
      double var = s2[j] / (double)pixels - dm * dm;
      if (var < 0.0)
        var = 0.0;
      int k = c0 + j;
      save_mean[k] = (float)mean;
      save_invstd[k] = (float)(1.0 / sqrt(var + (double)eps));
      if (moving_mean)
        moving_mean[k] = moving_mean[k] * momentum + (float)mean * (1.0f - momentum);
      if (moving_var)
        moving_var[k] = moving_var[k] * momentum + (float)(var * bessel) * (1.0f - momentum);
    }
  }
  long blocks = (pixels + PIX_BLOCK - 1) / PIX_BLOCK;
#pragma omp parallel for num_threads(threads) schedule(static) if (blocks > 1 && threads > 1)
  for (long bk = 0; bk < blocks; bk++) {
    long p0 = bk * PIX_BLOCK, np = pixels - p0 < PIX_BLOCK ? pixels - p0 : PIX_BLOCK;
    float sc[TRK_RCH], sh[TRK_RCH];
    for (int c0 = 0; c0 < d->c; c0 += TRK_RCH) {
      int cn = d->c - c0 < TRK_RCH ? d->c - c0 : TRK_RCH;
      for (int j = 0; j < cn; j++) {
        int k = c0 + j;
        double s = (double)(gamma ? gamma[k] : 1.0f) * save_invstd[k];
        sc[j] = (float)s;
        sh[j] = beta ? beta[k] : 0.0f;
      }
      for (long q = p0; q < p0 + np; q++)
        trk_bn_affine_row(out + q * out_cs + c0, in + q * in_cs + c0, save_mean + c0, sc, sh, cn);
    }
    rtk_epilogue_tile(out + p0 * out_cs, out_cs, ep, p0, 0, np, d->c);
  }
  return RT_OK;
}

/* din = a * dy + b + e * (x - mean), the batch norm's input gradient with
 * its per-channel coefficients folded. */
RTK_CLONES
static void trk_bn_grad_row(float *restrict dx, const float *restrict dy, const float *restrict x,
                            const float *restrict a, const float *restrict b, const float *restrict e,
                            const float *restrict mean, int n, int accumulate) {
  if (accumulate) {
RTK_SIMD
    for (int j = 0; j < n; j++)
      dx[j] += a[j] * dy[j] + b[j] + e[j] * (x[j] - mean[j]);
  } else {
RTK_SIMD
    for (int j = 0; j < n; j++)
      dx[j] = a[j] * dy[j] + b[j] + e[j] * (x[j] - mean[j]);
  }
}

RtStatus rt_batchnorm_backward(const RtContext *ctx, float *din, float *dgamma, float *dbeta, const float *dout,
                               const float *in, const float *gamma, const float *save_mean,
                               const float *save_invstd, int accumulate, const RtEltwise *d) {
  int in_cs, out_cs;
  if (!dout || !in || !save_mean || !save_invstd || !bn_desc_ok(d, &in_cs, &out_cs) ||
      (accumulate != 0 && accumulate != 1))
    return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  int threads = trk_threads_for(ctx, (double)pixels * d->c);
  long blocks = (pixels + PIX_BLOCK - 1) / PIX_BLOCK;
  double s1[TRK_RCH], s2[TRK_RCH];
  for (int c0 = 0; c0 < d->c; c0 += TRK_RCH) {
    int cn = d->c - c0 < TRK_RCH ? d->c - c0 : TRK_RCH;
    /* s1 = sum dy (dbeta), s2 = sum dy * xhat (dgamma). */
    trk_colreduce(threads, TRK_BN_GRAD, s1, s2, pixels, cn, dout + c0, out_cs, in + c0, in_cs, save_mean + c0,
                  save_invstd + c0);
    float a[TRK_RCH], b[TRK_RCH], e[TRK_RCH];
    for (int j = 0; j < cn; j++) {
      int k = c0 + j;
      if (dbeta)
        dbeta[k] = (float)s1[j];
      if (dgamma)
        dgamma[k] = (float)s2[j];
      /* din = gamma * invstd * (dy - mean(dy) - xhat * mean(dy * xhat)). */
      double g = (double)(gamma ? gamma[k] : 1.0f) * save_invstd[k];
      a[j] = (float)g;
      b[j] = (float)(-g * s1[j] / (double)pixels);
      e[j] = (float)(-g * s2[j] / (double)pixels * save_invstd[k]);
    }
    if (!din)
      continue;
#pragma omp parallel for num_threads(threads) schedule(static) if (blocks > 1 && threads > 1)
    for (long bk = 0; bk < blocks; bk++) {
      long p0 = bk * PIX_BLOCK, p1 = p0 + PIX_BLOCK < pixels ? p0 + PIX_BLOCK : pixels;
      for (long q = p0; q < p1; q++)
        trk_bn_grad_row(din + q * in_cs + c0, dout + q * out_cs + c0, in + q * in_cs + c0, a, b, e,
                        save_mean + c0, cn, accumulate);
    }
  }
  return RT_OK;
}
