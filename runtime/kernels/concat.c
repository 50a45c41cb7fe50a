/* Channel concatenation by copying (Keras Concatenate), for when a
 * producer could not write straight into its slice of the concat buffer,
 * and the strided copy it is made of. */
#include <string.h>

#include "kernels_internal.h"

RtStatus rt_copy(const RtContext *ctx, float *out, const float *in,
                 const RtEltwise *d) {
  if (!out || !in || !d || d->n < 0 || d->h < 0 || d->w < 0 || d->c < 0)
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->c), out_cs = rtk_cs(d->out_cs, d->c);
  if (in_cs < d->c || out_cs < d->c)
    return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  if (in_cs == d->c && out_cs == d->c) {
    memmove(out, in, (size_t)pixels * d->c * sizeof *out);
    return RT_OK;
  }
  int threads = rtk_threads(ctx);
#pragma omp parallel for num_threads(threads) schedule(static) if (pixels * d->c > (1 << 16))
  for (long q = 0; q < pixels; q++)
    memcpy(out + q * out_cs, in + q * in_cs, (size_t)d->c * sizeof *out);
  return RT_OK;
}

RtStatus rt_concat(const RtContext *ctx, float *out, const float *const *ins,
                   const int *chans, int count, const RtEltwise *d) {
  if (!out || !ins || !chans || count < 1 || !d || d->n < 0 || d->h < 0 ||
      d->w < 0)
    return RT_ERR_ARG;
  long total = 0;
  for (int i = 0; i < count; i++) {
    if (!ins[i] || chans[i] < 0)
      return RT_ERR_ARG;
    total += chans[i];
  }
  int out_cs = rtk_cs(d->out_cs, (int)total);
  if (out_cs < total)
    return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  int threads = rtk_threads(ctx);
  /* Pixel-major, so each output pixel is written whole, once. */
#pragma omp parallel for num_threads(threads) schedule(static) if (pixels * total > (1 << 16))
  for (long q = 0; q < pixels; q++) {
    float *o = out + q * out_cs;
    for (int i = 0; i < count; i++) {
      memcpy(o, ins[i] + q * chans[i], (size_t)chans[i] * sizeof *o);
      o += chans[i];
    }
  }
  return RT_OK;
}
