/* Pooling: max and average over windows (Keras MaxPooling2D /
 * AveragePooling2D), and global average / max over each image (Keras
 * GlobalAveragePooling2D / GlobalMaxPooling2D). Windows follow TensorFlow:
 * padded positions never win a max and are not counted in an average, so
 * a 'same' average at the border divides by the number of real inputs. A
 * window with no real input at all (only possible with explicit padding
 * wider than the window) yields 0. */
#include <float.h>
#include <string.h>

#include "kernels_internal.h"

enum { CB = 64 }; /* channels per register block, as in dwconv2d.c */

typedef struct PoolPlan {
  const RtPool2d *d;
  const RtPreact *pre; /* NULL: the input as it is */
  int in_cs, out_cs;
} PoolPlan;

static int pool_plan(PoolPlan *p, const RtPool2d *d) {
  if (!d || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1 || d->oh < 1 ||
      d->ow < 1 || d->kh < 1 || d->kw < 1 || d->sh < 1 || d->sw < 1 ||
      d->pad_top < 0 || d->pad_left < 0)
    return 0;
  p->d = d;
  p->pre = NULL;
  p->in_cs = rtk_cs(d->in_cs, d->c);
  p->out_cs = rtk_cs(d->out_cs, d->c);
  return p->in_cs >= d->c && p->out_cs >= d->c;
}

RTK_CLONES
static void pool_block(float *restrict o, const float *restrict img,
                       const PoolPlan *p, int is_max, int iy0, int ix0,
                       int ky_lo, int ky_hi, int kx_lo, int kx_hi, int c0,
                       int cn) {
  const RtPool2d *d = p->d;
  const RtPreact *pre = p->pre;
  float acc[CB], mapped[CB], sc[CB], sh[CB];
  float init = is_max ? -FLT_MAX : 0.0f;
  for (int j = 0; j < cn; j++)
    acc[j] = init;
  if (pre)
    for (int j = 0; j < cn; j++) {
      sc[j] = pre->scale ? pre->scale[c0 + j] : 1.0f;
      sh[j] = pre->shift ? pre->shift[c0 + j] : 0.0f;
    }
  for (int ky = ky_lo; ky < ky_hi; ky++) {
    for (int kx = kx_lo; kx < kx_hi; kx++) {
      const float *restrict x =
          img + ((long)(iy0 + ky) * d->w + ix0 + kx) * p->in_cs + c0;
      if (pre) { /* the batch norm and activation before the pool */
RTK_SIMD
        for (int j = 0; j < cn; j++)
          mapped[j] = x[j] * sc[j] + sh[j];
        if (pre->act == RT_ACT_RELU) {
RTK_SIMD
          for (int j = 0; j < cn; j++)
            mapped[j] = mapped[j] > 0.0f ? mapped[j] : 0.0f;
        } else { /* (not rtk_act_inplace: clang 14 cannot link one
                  * target_clones function calling another file's) */
          for (int j = 0; j < cn; j++)
            mapped[j] = rt_act_apply(pre->act, pre->alpha, mapped[j]);
        }
        x = mapped;
      }
      if (is_max) {
RTK_SIMD
        for (int j = 0; j < cn; j++)
          acc[j] = x[j] > acc[j] ? x[j] : acc[j];
      } else {
RTK_SIMD
        for (int j = 0; j < cn; j++)
          acc[j] += x[j];
      }
    }
  }
  int count = (ky_hi - ky_lo) * (kx_hi - kx_lo);
  if (ky_hi <= ky_lo || kx_hi <= kx_lo) {
    memset(o + c0, 0, (size_t)cn * sizeof *o);
  } else if (is_max) {
    memcpy(o + c0, acc, (size_t)cn * sizeof *o);
  } else {
    float inv = 1.0f / (float)count;
RTK_SIMD
    for (int j = 0; j < cn; j++)
      o[c0 + j] = acc[j] * inv;
  }
}

static void pool_row(const PoolPlan *p, float *out, const float *in,
                     int is_max, int b, int oy) {
  const RtPool2d *d = p->d;
  const float *img = in + (long)b * d->h * d->w * p->in_cs;
  float *orow = out + ((long)b * d->oh + oy) * d->ow * p->out_cs;
  int iy0 = oy * d->sh - d->pad_top;
  int ky_lo = iy0 < 0 ? -iy0 : 0;
  int ky_hi = d->h - iy0 < d->kh ? d->h - iy0 : d->kh;
  for (int ox = 0; ox < d->ow; ox++) {
    int ix0 = ox * d->sw - d->pad_left;
    int kx_lo = ix0 < 0 ? -ix0 : 0;
    int kx_hi = d->w - ix0 < d->kw ? d->w - ix0 : d->kw;
    for (int c0 = 0; c0 < d->c; c0 += CB)
      pool_block(orow + (long)ox * p->out_cs, img, p, is_max, iy0, ix0, ky_lo,
                 ky_hi, kx_lo, kx_hi, c0, d->c - c0 < CB ? d->c - c0 : CB);
  }
}

/* The calling thread's share of the output rows of every image. */
static void pool_rows(const PoolPlan *p, float *out, const float *in,
                      int is_max, int parts) {
  const RtPool2d *d = p->d;
  long lo, hi;
  rtk_share((long)d->n * d->oh, parts, &lo, &hi);
  for (long r = lo; r < hi; r++)
    pool_row(p, out, in, is_max, (int)(r / d->oh), (int)(r % d->oh));
}

static RtStatus pool2d(const RtContext *ctx, float *out, const float *in,
                       const RtPreact *pre, const RtPool2d *d, int is_max) {
  PoolPlan p;
  if (!out || !in || !pool_plan(&p, d) || (pre && pre->pool > 1))
    return RT_ERR_ARG;
  p.pre = pre;
  long work = (long)d->n * d->oh * d->ow * d->c * d->kh * d->kw;
  int parts = work > (1 << 12) ? rtk_threads(ctx) : 1;
  RTK_TEAM(ctx, parts, pool_rows(&p, out, in, is_max, parts));
  return RT_OK;
}

RtStatus rt_maxpool2d(const RtContext *ctx, float *out, const float *in,
                      const RtPool2d *d) {
  return pool2d(ctx, out, in, NULL, d, 1);
}

RtStatus rt_avgpool2d(const RtContext *ctx, float *out, const float *in,
                      const RtPool2d *d) {
  return pool2d(ctx, out, in, NULL, d, 0);
}

RtStatus rt_avgpool2d_preact(const RtContext *ctx, float *out, const float *in,
                             const RtPreact *pre, const RtPool2d *d) {
  if (!pre)
    return RT_ERR_ARG;
  return pool2d(ctx, out, in, pre, d, 0);
}

/* One image, channels [c0, c0+cn). Averages accumulate in double: a
 * global pool sums up to thousands of values, and the mean of activations
 * near zero would otherwise carry the float rounding of the whole sum. */
RTK_CLONES
static void global_block(float *restrict o, const float *restrict img,
                         long pixels, int in_cs, int is_max, int c0, int cn) {
  if (is_max) {
    float acc[CB];
    for (int j = 0; j < cn; j++)
      acc[j] = -FLT_MAX;
    for (long q = 0; q < pixels; q++) {
      const float *restrict x = img + q * in_cs + c0;
RTK_SIMD
      for (int j = 0; j < cn; j++)
        acc[j] = x[j] > acc[j] ? x[j] : acc[j];
    }
    memcpy(o + c0, acc, (size_t)cn * sizeof *o);
  } else {
    double acc[CB];
    for (int j = 0; j < cn; j++)
      acc[j] = 0.0;
    for (long q = 0; q < pixels; q++) {
      const float *restrict x = img + q * in_cs + c0;
RTK_SIMD
      for (int j = 0; j < cn; j++)
        acc[j] += x[j];
    }
    for (int j = 0; j < cn; j++)
      o[c0 + j] = (float)(acc[j] / (double)pixels);
  }
}

/* The calling thread's share of the (image, channel block) pairs. */
static void global_items(float *out, const float *in, const RtEltwise *d,
                         long pixels, int in_cs, int out_cs, int is_max,
                         int parts) {
  int nb = (d->c + CB - 1) / CB;
  long lo, hi;
  rtk_share((long)d->n * nb, parts, &lo, &hi);
  for (long t = lo; t < hi; t++) {
    long b = t / nb;
    int c0 = (int)(t % nb) * CB;
    global_block(out + b * out_cs, in + b * pixels * in_cs, pixels, in_cs,
                 is_max, c0, d->c - c0 < CB ? d->c - c0 : CB);
  }
}

static RtStatus global_pool(const RtContext *ctx, float *out, const float *in,
                            const RtEltwise *d, int is_max) {
  if (!out || !in || !d || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1)
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->c), out_cs = rtk_cs(d->out_cs, d->c);
  if (in_cs < d->c || out_cs < d->c)
    return RT_ERR_ARG;
  long pixels = (long)d->h * d->w;
  int nb = (d->c + CB - 1) / CB;
  long items = (long)d->n * nb; /* (image, channel block) pairs */
  int parts = items * pixels * CB > (1 << 15) ? rtk_threads(ctx) : 1;
  RTK_TEAM(ctx, parts,
           global_items(out, in, d, pixels, in_cs, out_cs, is_max, parts));
  return RT_OK;
}

RtStatus rt_global_avgpool(const RtContext *ctx, float *out, const float *in,
                           const RtEltwise *d) {
  return global_pool(ctx, out, in, d, 0);
}

RtStatus rt_global_maxpool(const RtContext *ctx, float *out, const float *in,
                           const RtEltwise *d) {
  return global_pool(ctx, out, in, d, 1);
}
