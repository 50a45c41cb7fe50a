/* Batch normalization at inference: the fold into a per-channel affine
 * map (for the compiler to merge into a producer's weights), and the
 * stand-alone layer for a batch norm that cannot be folded (one after a
 * relu, or before a conv in a pre-activation block), with its following
 * activation fused. */
#include <math.h>

#include "kernels_internal.h"

void rt_bn_fold(float *scale, float *shift, const float *gamma,
                const float *beta, const float *mean, const float *var,
                float eps, int c) {
  for (int k = 0; k < c; k++) {
    /* In double so the folded weights carry no more rounding than the
     * float result itself. */
    double s = (gamma ? gamma[k] : 1.0) / sqrt((double)var[k] + eps);
    scale[k] = (float)s;
    shift[k] = (float)((beta ? beta[k] : 0.0) - mean[k] * s);
  }
}

void rt_fold_affine(float *kernel, float *bias, const float *scale,
                    const float *shift, size_t rows, int oc) {
  for (size_t r = 0; r < rows; r++)
    for (int k = 0; k < oc; k++)
      kernel[r * oc + k] *= scale[k];
  for (int k = 0; k < oc; k++)
    bias[k] = bias[k] * scale[k] + (shift ? shift[k] : 0.0f);
}

/* Where a chunk's scale and shift come from: given, or from BN stats. */
typedef struct AffineSrc {
  const float *scale, *shift;                   /* given (may be NULL) */
  const float *gamma, *beta, *mean, *var;       /* batch norm, mean != NULL */
  float eps;
} AffineSrc;

/* Channels per chunk: the scale/shift of a chunk live on the stack, so
 * nothing is allocated; 256 covers most layers in one chunk. */
enum { CHUNK = 256, PIX_BLOCK = 128 };

static void affine_chunk(const AffineSrc *s, int c0, int cn, float *sc,
                         float *sh) {
  if (s->mean) {
    rt_bn_fold(sc, sh, s->gamma ? s->gamma + c0 : NULL,
               s->beta ? s->beta + c0 : NULL, s->mean + c0, s->var + c0,
               s->eps, cn);
    return;
  }
  for (int j = 0; j < cn; j++) {
    sc[j] = s->scale ? s->scale[c0 + j] : 1.0f;
    sh[j] = s->shift ? s->shift[c0 + j] : 0.0f;
  }
}

RTK_CLONES
static void affine_row(float *restrict o, const float *restrict x,
                       const float *restrict sc, const float *restrict sh,
                       int n) {
RTK_SIMD
  for (int j = 0; j < n; j++)
    o[j] = x[j] * sc[j] + sh[j];
}

/* The floats after which a dense tensor's channel pattern and the 16-float
 * vectors line up again: lcm(c, 16). */
static int pattern_floats(int c) {
  int a = c, b = 16;
  while (b) {
    int t = a % b;
    a = b;
    b = t;
  }
  return c / a * 16;
}

/* The calling thread's share of the blocks of pixels. A dense tensor of
 * few channels (an image's 3) goes as one run of values per block, with
 * scale and shift repeated over pattern_floats: a call per pixel of 3
 * floats made the bn -> relu before cifar_bn_cnn's stem cost 11 us per
 * image, a third of the stem conv. */
static void affine_blocks(float *out, const float *in, const AffineSrc *s,
                          const RtEpilogue *ep, const RtEltwise *d, int in_cs,
                          int out_cs, int parts) {
  long pixels = (long)d->n * d->h * d->w;
  int period = pattern_floats(d->c);
  int flat = in_cs == d->c && out_cs == d->c && period <= CHUNK;
  int flat_act = flat && ep && !ep->bias && !ep->residual;
  long lo, hi;
  if (!rtk_share((pixels + PIX_BLOCK - 1) / PIX_BLOCK, parts, &lo, &hi))
    return;
  float sc[CHUNK], sh[CHUNK];
  if (flat) { /* the pattern once: every block starts on a whole pixel */
    affine_chunk(s, 0, d->c, sc, sh);
    for (int j = d->c; j < period; j++) {
      sc[j] = sc[j - d->c];
      sh[j] = sh[j - d->c];
    }
  }
  for (long bk = lo; bk < hi; bk++) {
    long p0 = bk * PIX_BLOCK;
    long np = pixels - p0 < PIX_BLOCK ? pixels - p0 : PIX_BLOCK;
    if (flat) {
      long n = np * d->c;
      float *o = out + p0 * d->c;
      const float *x = in + p0 * d->c;
      for (long i = 0; i < n; i += period)
        affine_row(o + i, x + i, sc, sh, n - i < period ? (int)(n - i) : period);
      if (flat_act) { /* the block's values as one row */
        RtEpilogue act = {.act = ep->act, .alpha = ep->alpha};
        rtk_epilogue_tile(o, (int)n, &act, 0, 0, 1, (int)n);
        continue;
      }
    } else {
      for (int c0 = 0; c0 < d->c; c0 += CHUNK) {
        int cn = d->c - c0 < CHUNK ? d->c - c0 : CHUNK;
        affine_chunk(s, c0, cn, sc, sh);
        for (long q = p0; q < p0 + np; q++)
          affine_row(out + q * out_cs + c0, in + q * in_cs + c0, sc, sh, cn);
      }
    }
    rtk_epilogue_tile(out + p0 * out_cs, out_cs, ep, p0, 0, np, d->c);
  }
}

static RtStatus affine(const RtContext *ctx, float *out, const float *in,
                       const AffineSrc *s, const RtEpilogue *ep,
                       const RtEltwise *d) {
  if (!out || !in || !d || d->n < 0 || d->h < 0 || d->w < 0 || d->c < 0)
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->c), out_cs = rtk_cs(d->out_cs, d->c);
  if (in_cs < d->c || out_cs < d->c)
    return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  int parts = pixels * d->c > (1 << 12) ? rtk_threads(ctx) : 1;
  RTK_TEAM(ctx, parts, affine_blocks(out, in, s, ep, d, in_cs, out_cs, parts));
  return RT_OK;
}

RtStatus rt_channel_affine(const RtContext *ctx, float *out, const float *in,
                           const float *scale, const float *shift,
                           const RtEpilogue *ep, const RtEltwise *d) {
  AffineSrc s = {.scale = scale, .shift = shift};
  return affine(ctx, out, in, &s, ep, d);
}

RtStatus rt_batchnorm(const RtContext *ctx, float *out, const float *in,
                      const float *gamma, const float *beta, const float *mean,
                      const float *var, float eps, const RtEpilogue *ep,
                      const RtEltwise *d) {
  if (!mean || !var)
    return RT_ERR_ARG;
  AffineSrc s = {.gamma = gamma, .beta = beta, .mean = mean, .var = var,
                 .eps = eps};
  return affine(ctx, out, in, &s, ep, d);
}
