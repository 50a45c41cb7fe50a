/* Gradients of pooling: max (routed to the window's first maximum, found
 * again from the input), average (spread over the window's real inputs,
 * TensorFlow 'same' semantics), and their global forms.
 *
 * Windows overlap when the stride is smaller than the window, so the
 * threads split images and channel blocks, never windows: each input
 * gradient is summed by one thread in output order, whatever the thread
 * count. */
#include <string.h>

#include "train_internal.h"

enum { CB = 64 }; /* channels per block, as in the forward (pool.c) */

typedef struct PoolBw {
  const RtPool2d *d;
  int in_cs, out_cs;
} PoolBw;

static int poolbw_plan(PoolBw *p, const RtPool2d *d) {
  if (!d || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1 || d->oh < 1 || d->ow < 1 || d->kh < 1 || d->kw < 1 ||
      d->sh < 1 || d->sw < 1 || d->pad_top < 0 || d->pad_left < 0)
    return 0;
  p->d = d;
  p->in_cs = rtk_cs(d->in_cs, d->c);
  p->out_cs = rtk_cs(d->out_cs, d->c);
  return p->in_cs >= d->c && p->out_cs >= d->c;
}

/* Image b, channels [c0, c0+cn). */
static void pool_bw_block(const PoolBw *p, float *din, const float *dout, const float *in, int is_max,
                          int accumulate, int b, int c0, int cn) {
  const RtPool2d *d = p->d;
  float *dimg = din + (long)b * d->h * d->w * p->in_cs + c0;
  const float *img = in ? in + (long)b * d->h * d->w * p->in_cs + c0 : NULL;
  if (!accumulate)
    for (long q = 0; q < (long)d->h * d->w; q++)
      memset(dimg + q * p->in_cs, 0, (size_t)cn * sizeof *dimg);
  for (int oy = 0; oy < d->oh; oy++) {
    int iy0 = oy * d->sh - d->pad_top;
    int ky_lo = iy0 < 0 ? -iy0 : 0;
    int ky_hi = d->h - iy0 < d->kh ? d->h - iy0 : d->kh;
    for (int ox = 0; ox < d->ow; ox++) {
      int ix0 = ox * d->sw - d->pad_left;
      int kx_lo = ix0 < 0 ? -ix0 : 0;
      int kx_hi = d->w - ix0 < d->kw ? d->w - ix0 : d->kw;
      if (ky_hi <= ky_lo || kx_hi <= kx_lo)
        continue; /* a window of padding only: its output is a constant 0 */
      const float *g = dout + (((long)b * d->oh + oy) * d->ow + ox) * p->out_cs + c0;
      if (is_max) {
        /* The forward's scan keeps the first value above all earlier
         * ones: the first maximum in window order. Channels side by side
         * so the compares vectorize. */
        float best[CB];
        int at[CB];
        const float *x0 = img + ((long)(iy0 + ky_lo) * d->w + ix0 + kx_lo) * p->in_cs;
        for (int j = 0; j < cn; j++) {
          best[j] = x0[j];
          at[j] = 0;
        }
        int kw_n = kx_hi - kx_lo;
        for (int ky = ky_lo; ky < ky_hi; ky++)
          for (int kx = kx_lo; kx < kx_hi; kx++) {
            const float *x = img + ((long)(iy0 + ky) * d->w + ix0 + kx) * p->in_cs;
            int tap = (ky - ky_lo) * kw_n + (kx - kx_lo);
            for (int j = 0; j < cn; j++) {
              int gt = x[j] > best[j];
              best[j] = gt ? x[j] : best[j];
              at[j] = gt ? tap : at[j];
            }
          }
        for (int j = 0; j < cn; j++) {
          int ky = ky_lo + at[j] / kw_n, kx = kx_lo + at[j] % kw_n;
          dimg[((long)(iy0 + ky) * d->w + ix0 + kx) * p->in_cs + j] += g[j];
        }
      } else {
        float inv = 1.0f / (float)((ky_hi - ky_lo) * (kx_hi - kx_lo));
        for (int ky = ky_lo; ky < ky_hi; ky++)
          for (int kx = kx_lo; kx < kx_hi; kx++) {
            float *dx = dimg + ((long)(iy0 + ky) * d->w + ix0 + kx) * p->in_cs;
            for (int j = 0; j < cn; j++)
              dx[j] += g[j] * inv;
          }
      }
    }
  }
}

static RtStatus pool_bw(const RtContext *ctx, float *din, const float *dout, const float *in, int accumulate,
                        const RtPool2d *d, int is_max) {
  PoolBw p;
  if (!din || !dout || (is_max && !in) || !poolbw_plan(&p, d) || (accumulate != 0 && accumulate != 1))
    return RT_ERR_ARG;
  int ncb = (d->c + CB - 1) / CB;
  long jobs = (long)d->n * ncb;
  int threads = trk_threads_for(ctx, (double)d->n * d->oh * d->ow * d->c * d->kh * d->kw);
#pragma omp parallel for num_threads(threads) schedule(static) if (jobs > 1)
  for (long t = 0; t < jobs; t++) {
    int b = (int)(t / ncb), c0 = (int)(t % ncb) * CB;
    pool_bw_block(&p, din, dout, in, is_max, accumulate, b, c0, d->c - c0 < CB ? d->c - c0 : CB);
  }
  return RT_OK;
}

RtStatus rt_maxpool2d_backward(const RtContext *ctx, float *din, const float *dout, const float *in,
                               int accumulate, const RtPool2d *d) {
  return pool_bw(ctx, din, dout, in, accumulate, d, 1);
}

RtStatus rt_avgpool2d_backward(const RtContext *ctx, float *din, const float *dout, int accumulate,
                               const RtPool2d *d) {
  return pool_bw(ctx, din, dout, NULL, accumulate, d, 0);
}

static RtStatus global_bw(const RtContext *ctx, float *din, const float *dout, const float *in, int accumulate,
                          const RtEltwise *d, int is_max) {
  if (!din || !dout || (is_max && !in) || !d || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1 ||
      (accumulate != 0 && accumulate != 1))
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->c), out_cs = rtk_cs(d->out_cs, d->c);
  if (in_cs < d->c || out_cs < d->c)
    return RT_ERR_ARG;
  long pixels = (long)d->h * d->w;
  int ncb = (d->c + CB - 1) / CB;
  long jobs = (long)d->n * ncb;
  int threads = trk_threads_for(ctx, (double)d->n * pixels * d->c);
  /* The forward divides the double sum by the pixel count; its derivative
   * in float is 1/pixels, rounded once. */
  float inv = (float)(1.0 / (double)pixels);
#pragma omp parallel for num_threads(threads) schedule(static) if (jobs > 1)
  for (long t = 0; t < jobs; t++) {
    int b = (int)(t / ncb), c0 = (int)(t % ncb) * CB, cn = d->c - c0 < CB ? d->c - c0 : CB;
    float *dimg = din + (long)b * pixels * in_cs + c0;
    const float *g = dout + (long)b * out_cs + c0;
    if (!is_max) {
      for (long q = 0; q < pixels; q++)
        for (int j = 0; j < cn; j++)
          dimg[q * in_cs + j] = (accumulate ? dimg[q * in_cs + j] : 0.0f) + g[j] * inv;
      continue;
    }
    const float *img = in + (long)b * pixels * in_cs + c0;
    if (!accumulate)
      for (long q = 0; q < pixels; q++)
        memset(dimg + q * in_cs, 0, (size_t)cn * sizeof *dimg);
    for (int j = 0; j < cn; j++) {
      long at = 0; /* the first maximum, as the forward keeps it */
      for (long q = 1; q < pixels; q++)
        if (img[q * in_cs + j] > img[at * in_cs + j])
          at = q;
      dimg[at * in_cs + j] += g[j];
    }
  }
  return RT_OK;
}

RtStatus rt_global_avgpool_backward(const RtContext *ctx, float *din, const float *dout, int accumulate,
                                    const RtEltwise *d) {
  return global_bw(ctx, din, dout, NULL, accumulate, d, 0);
}

RtStatus rt_global_maxpool_backward(const RtContext *ctx, float *din, const float *dout, const float *in,
                                    int accumulate, const RtEltwise *d) {
  return global_bw(ctx, din, dout, in, accumulate, d, 1);
}
