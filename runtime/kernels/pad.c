/* Zero padding (Keras ZeroPadding2D): the border rows and columns are
 * zeroed and the interior copied, each output pixel written once. */
#include <string.h>

#include "kernels_internal.h"

/* The calling thread's share of the output rows. */
static void pad_rows(float *out, const float *in, const RtPad *d, int in_cs,
                     int out_cs, int parts) {
  int oh = d->top + d->h + d->bottom, ow = d->left + d->w + d->right;
  size_t cb = (size_t)d->c * sizeof *out;
  long lo, hi;
  rtk_share((long)d->n * oh, parts, &lo, &hi);
  for (long r = lo; r < hi; r++) {
    long b = r / oh;
    int oy = (int)(r % oh), iy = oy - d->top;
    float *o = out + r * ow * out_cs;
    if (iy < 0 || iy >= d->h) {
      for (int ox = 0; ox < ow; ox++, o += out_cs)
        memset(o, 0, cb);
      continue;
    }
    const float *x = in + (b * d->h + iy) * d->w * in_cs;
    for (int ox = 0; ox < ow; ox++, o += out_cs) {
      int ix = ox - d->left;
      if (ix < 0 || ix >= d->w)
        memset(o, 0, cb);
      else
        memcpy(o, x + (long)ix * in_cs, cb);
    }
  }
}

RtStatus rt_zeropad(const RtContext *ctx, float *out, const float *in,
                    const RtPad *d) {
  if (!out || !in || !d || d->n < 0 || d->h < 0 || d->w < 0 || d->c < 0 ||
      d->top < 0 || d->bottom < 0 || d->left < 0 || d->right < 0)
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->c), out_cs = rtk_cs(d->out_cs, d->c);
  if (in_cs < d->c || out_cs < d->c)
    return RT_ERR_ARG;
  int oh = d->top + d->h + d->bottom, ow = d->left + d->w + d->right;
  int parts = (long)d->n * oh * ow * d->c > (1 << 16) ? rtk_threads(ctx) : 1;
  RTK_TEAM(ctx, parts, pad_rows(out, in, d, in_cs, out_cs, parts));
  return RT_OK;
}
