/* Channel concatenation by copying (Keras Concatenate), for when a
 * producer could not write straight into its slice of the concat buffer,
 * and the strided copy it is made of. */
#include <string.h>

#include "kernels_internal.h"

/* The calling thread's share of the pixels; a dense copy (which may
 * overlap: memmove) is thread 0's alone. */
static void copy_pixels(float *out, const float *in, const RtEltwise *d,
                        int in_cs, int out_cs, int parts) {
  long pixels = (long)d->n * d->h * d->w, lo, hi;
  if (in_cs == d->c && out_cs == d->c) {
    if (omp_get_thread_num() == 0)
      memmove(out, in, (size_t)pixels * d->c * sizeof *out);
    return;
  }
  rtk_share(pixels, parts, &lo, &hi);
  for (long q = lo; q < hi; q++)
    memcpy(out + q * out_cs, in + q * in_cs, (size_t)d->c * sizeof *out);
}

RtStatus rt_copy(const RtContext *ctx, float *out, const float *in,
                 const RtEltwise *d) {
  if (!out || !in || !d || d->n < 0 || d->h < 0 || d->w < 0 || d->c < 0)
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->c), out_cs = rtk_cs(d->out_cs, d->c);
  if (in_cs < d->c || out_cs < d->c)
    return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  int dense = in_cs == d->c && out_cs == d->c;
  int parts = !dense && pixels * d->c > (1 << 16) ? rtk_threads(ctx) : 1;
  RTK_TEAM(ctx, parts, copy_pixels(out, in, d, in_cs, out_cs, parts));
  return RT_OK;
}

/* The calling thread's share of the pixels, each written whole, once. */
static void concat_pixels(float *out, const float *const *ins,
                          const int *chans, int count, long pixels, int out_cs,
                          int parts) {
  long lo, hi;
  rtk_share(pixels, parts, &lo, &hi);
  for (long q = lo; q < hi; q++) {
    float *o = out + q * out_cs;
    for (int i = 0; i < count; i++) {
      memcpy(o, ins[i] + q * chans[i], (size_t)chans[i] * sizeof *o);
      o += chans[i];
    }
  }
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
  int parts = pixels * total > (1 << 16) ? rtk_threads(ctx) : 1;
  RTK_TEAM(ctx, parts,
           concat_pixels(out, ins, chans, count, pixels, out_cs, parts));
  return RT_OK;
}
