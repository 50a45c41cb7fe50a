/* Softmax over the last axis (Keras Softmax / Dense(activation=softmax)),
 * one row per pixel. The row maximum is subtracted before exp so large
 * logits cannot overflow; the sum is kept in double so a long row of tiny
 * terms does not lose them. */
#include <math.h>

#include "kernels_internal.h"

static void softmax_row(float *o, const float *x, int n) {
  float mx = x[0];
  for (int j = 1; j < n; j++)
    mx = x[j] > mx ? x[j] : mx;
  double sum = 0.0;
  for (int j = 0; j < n; j++) {
    o[j] = expf(x[j] - mx);
    sum += o[j];
  }
  float inv = (float)(1.0 / sum); /* sum >= 1: the max's own term is 1 */
  for (int j = 0; j < n; j++)
    o[j] *= inv;
}

static void softmax_rows(float *out, const float *in, long rows, int in_cs,
                         int out_cs, int c, int parts) {
  long lo, hi;
  rtk_share(rows, parts, &lo, &hi);
  for (long r = lo; r < hi; r++)
    softmax_row(out + r * out_cs, in + r * in_cs, c);
}

RtStatus rt_softmax(const RtContext *ctx, float *out, const float *in,
                    const RtEltwise *d) {
  if (!out || !in || !d || d->n < 0 || d->h < 0 || d->w < 0 || d->c < 1)
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->c), out_cs = rtk_cs(d->out_cs, d->c);
  if (in_cs < d->c || out_cs < d->c)
    return RT_ERR_ARG;
  long rows = (long)d->n * d->h * d->w;
  int parts = rows * d->c > (1 << 14) ? rtk_threads(ctx) : 1;
  RTK_TEAM(ctx, parts,
           softmax_rows(out, in, rows, in_cs, out_cs, d->c, parts));
  return RT_OK;
}
