/* Activations: the scalar definition every kernel follows, the in-place
 * row loops, the fused epilogue that producers run on their output tiles
 * while those are still in cache, and the stand-alone activation layer. */
#include <math.h>

#include "kernels_internal.h"

float rt_act_apply(RtAct act, float alpha, float x) {
  switch (act) {
  case RT_ACT_LINEAR: return x;
  case RT_ACT_RELU: return x > 0.0f ? x : 0.0f;
  case RT_ACT_RELU6: return x > 0.0f ? (x < 6.0f ? x : 6.0f) : 0.0f;
  case RT_ACT_SIGMOID: return 1.0f / (1.0f + expf(-x)); /* exp overflow -> 0 */
  case RT_ACT_TANH: return tanhf(x);
  case RT_ACT_LEAKY_RELU: return x > 0.0f ? x : alpha * x;
  case RT_ACT_ELU: return x > 0.0f ? x : alpha * expm1f(x); /* exact near 0 */
  case RT_ACT_THRESHOLDED_RELU: return x > alpha ? x : 0.0f;
  }
  return x;
}

/* The piecewise-linear activations get loops the compiler vectorizes; the
 * transcendental ones call libm per value (glibc offers vector exp only
 * under -ffast-math, which a numeric library should not assume). */
RTK_CLONES
void rtk_act_inplace(float *x, long n, RtAct act, float alpha) {
  switch (act) {
  case RT_ACT_LINEAR:
    return;
  case RT_ACT_RELU:
RTK_SIMD
    for (long i = 0; i < n; i++)
      x[i] = x[i] > 0.0f ? x[i] : 0.0f;
    return;
  case RT_ACT_RELU6:
RTK_SIMD
    for (long i = 0; i < n; i++)
      x[i] = x[i] > 0.0f ? (x[i] < 6.0f ? x[i] : 6.0f) : 0.0f;
    return;
  case RT_ACT_LEAKY_RELU:
RTK_SIMD
    for (long i = 0; i < n; i++)
      x[i] = x[i] > 0.0f ? x[i] : alpha * x[i];
    return;
  case RT_ACT_THRESHOLDED_RELU:
RTK_SIMD
    for (long i = 0; i < n; i++)
      x[i] = x[i] > alpha ? x[i] : 0.0f;
    return;
  case RT_ACT_SIGMOID:
  case RT_ACT_TANH:
  case RT_ACT_ELU:
    for (long i = 0; i < n; i++)
      x[i] = rt_act_apply(act, alpha, x[i]);
    return;
  }
}

int rtk_epilogue_is_identity(const RtEpilogue *ep) {
  return !ep || (!ep->bias && !ep->residual && ep->act == RT_ACT_LINEAR);
}

RTK_CLONES
static void epi_add_row(float *restrict o, const float *restrict a, int n) {
RTK_SIMD
  for (int j = 0; j < n; j++)
    o[j] += a[j];
}

RTK_CLONES
static void epi_add2_row(float *restrict o, const float *restrict a,
                     const float *restrict b, int n) {
  /* (o + bias) + residual: the order the epilogue promises. */
RTK_SIMD
  for (int j = 0; j < n; j++)
    o[j] = (o[j] + a[j]) + b[j];
}

void rtk_epilogue_tile(float *tile, int out_cs, const RtEpilogue *ep,
                       long row0, int col0, long rows, int cols) {
  if (rtk_epilogue_is_identity(ep))
    return;
  const float *bias = ep->bias ? ep->bias + col0 : NULL;
  long res_cs = ep->res_cs ? ep->res_cs : out_cs;
  for (long r = 0; r < rows; r++) {
    float *o = tile + r * out_cs;
    const float *res =
        ep->residual ? ep->residual + (row0 + r) * res_cs + col0 : NULL;
    if (bias && res)
      epi_add2_row(o, bias, res, cols);
    else if (bias)
      epi_add_row(o, bias, cols);
    else if (res)
      epi_add_row(o, res, cols);
    rtk_act_inplace(o, cols, ep->act, ep->alpha);
  }
}

enum { ACT_CHUNK = 1 << 14 };

/* The calling thread's share: of chunks of the flat range when the tensor
 * is dense, else of pixels. */
static void act_items(float *out, const float *in, RtAct act, float alpha,
                      const RtEltwise *d, int in_cs, int out_cs, int parts) {
  long pixels = (long)d->n * d->h * d->w, lo, hi;
  if (in_cs == d->c && out_cs == d->c) {
    long total = pixels * d->c;
    rtk_share((total + ACT_CHUNK - 1) / ACT_CHUNK, parts, &lo, &hi);
    for (long q = lo; q < hi; q++) {
      long i0 = q * ACT_CHUNK;
      long len = total - i0 < ACT_CHUNK ? total - i0 : ACT_CHUNK;
      if (out != in)
        for (long i = 0; i < len; i++)
          out[i0 + i] = in[i0 + i];
      rtk_act_inplace(out + i0, len, act, alpha);
    }
    return;
  }
  rtk_share(pixels, parts, &lo, &hi);
  for (long p = lo; p < hi; p++) {
    float *o = out + p * out_cs;
    const float *x = in + p * in_cs;
    if (o != x)
      for (int k = 0; k < d->c; k++)
        o[k] = x[k];
    rtk_act_inplace(o, d->c, act, alpha);
  }
}

RtStatus rt_activation(const RtContext *ctx, float *out, const float *in,
                       RtAct act, float alpha, const RtEltwise *d) {
  if (!out || !in || !d || d->n < 0 || d->h < 0 || d->w < 0 || d->c < 0)
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->c), out_cs = rtk_cs(d->out_cs, d->c);
  if (in_cs < d->c || out_cs < d->c)
    return RT_ERR_ARG;
  /* Dense tensors split in large chunks of one flat range. */
  long total = (long)d->n * d->h * d->w * d->c;
  int parts = total > ACT_CHUNK ? rtk_threads(ctx) : 1;
  RTK_TEAM(ctx, parts,
           act_items(out, in, act, alpha, d, in_cs, out_cs, parts));
  return RT_OK;
}
