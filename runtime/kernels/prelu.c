/* Parametric ReLU (Keras PReLU): out = x > 0 ? x : alpha * x with a
 * learned alpha of shape [h, w, c] in which shared axes have size 1; the
 * usual case (shared_axes=[1, 2]) is one slope per channel. */
#include "kernels_internal.h"

RTK_CLONES
static void prelu_row(float *o, const float *x, const float *a, long a_step,
                      int n) {
  /* a_step is 1 (a slope per channel) or 0 (one slope for all channels).
   * No restrict: out may be the input itself. */
RTK_SIMD
  for (int j = 0; j < n; j++)
    o[j] = x[j] > 0.0f ? x[j] : a[j * a_step] * x[j];
}

/* The calling thread's share of the pixels. */
static void prelu_pixels(float *out, const float *in, const float *alpha,
                         const RtPRelu *d, int in_cs, int out_cs, int parts) {
  long hw = (long)d->h * d->w, lo, hi;
  long a_step = d->alpha_c == 1 ? 0 : 1;
  rtk_share(d->n * hw, parts, &lo, &hi);
  for (long q = lo; q < hi; q++) {
    long yx = q % hw;
    long y = d->alpha_h == 1 ? 0 : yx / d->w, x = d->alpha_w == 1 ? 0 : yx % d->w;
    const float *a = alpha + (y * d->alpha_w + x) * d->alpha_c;
    prelu_row(out + q * out_cs, in + q * in_cs, a, a_step, d->c);
  }
}

RtStatus rt_prelu(const RtContext *ctx, float *out, const float *in,
                  const float *alpha, const RtPRelu *d) {
  if (!out || !in || !alpha || !d || d->n < 0 || d->h < 0 || d->w < 0 ||
      d->c < 0)
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->c), out_cs = rtk_cs(d->out_cs, d->c);
  if (in_cs < d->c || out_cs < d->c ||
      (d->alpha_h != 1 && d->alpha_h != d->h) ||
      (d->alpha_w != 1 && d->alpha_w != d->w) ||
      (d->alpha_c != 1 && d->alpha_c != d->c))
    return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  int parts = pixels * d->c > (1 << 15) ? rtk_threads(ctx) : 1;
  RTK_TEAM(ctx, parts,
           prelu_pixels(out, in, alpha, d, in_cs, out_cs, parts));
  return RT_OK;
}
