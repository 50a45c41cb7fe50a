/* Depthwise 2-D convolution (Keras DepthwiseConv2D, and Conv2D with
 * groups == channels). Each output channel sees one input channel, so
 * there is no GEMM to be had: the kernel walks output pixels and, for each
 * tap, does one vector multiply-add across a block of channels, which is
 * contiguous in both the NHWC input and the [kh, kw, c, mult] kernel. */
#include <string.h>

#include "kernels_internal.h"

/* Channels per accumulator block: 64 floats are four AVX-512 or eight AVX2
 * registers, which stay in registers across all taps of a pixel. The
 * accumulators are GCC/clang vector-extension values (not arrays) so that
 * they do stay in registers; memcpy does the unaligned loads. */
enum { CB = 64 };

typedef float V16 __attribute__((vector_size(64)));

typedef struct DwPlan {
  const RtDwConv2d *d;
  int in_cs, out_cs, mult, oc;
} DwPlan;

/* acc += x[0..16) * w[0..16). A macro: a function passing V16 by value
 * would change ABI between the clones. */
#define MAC16(acc, x, w)                                                       \
  do {                                                                         \
    V16 xv_, wv_;                                                              \
    memcpy(&xv_, (x), sizeof xv_);                                             \
    memcpy(&wv_, (w), sizeof wv_);                                             \
    (acc) += xv_ * wv_;                                                        \
  } while (0)

/* Multiplier 1: channels [c0, c0+cn) of output pixel o. */
RTK_CLONES
static void dw_block_mult1(float *restrict o, const float *restrict img,
                           const float *restrict kernel, const DwPlan *p,
                           int iy0, int ix0, int ky_lo, int ky_hi, int kx_lo,
                           int kx_hi, int c0, int cn) {
  const RtDwConv2d *d = p->d;
  long row_step = (long)d->w * p->in_cs;
  const float *x0 = img + ((long)iy0 * d->w + ix0) * p->in_cs + c0;
  const float *w0 = kernel + c0;
  if (cn == CB) {
    V16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0};
    for (int ky = ky_lo; ky < ky_hi; ky++) {
      const float *x = x0 + ky * row_step + (long)kx_lo * p->in_cs;
      const float *wk = w0 + (long)(ky * d->kw + kx_lo) * p->oc;
      for (int kx = kx_lo; kx < kx_hi; kx++, x += p->in_cs, wk += p->oc) {
        MAC16(a0, x, wk);
        MAC16(a1, x + 16, wk + 16);
        MAC16(a2, x + 32, wk + 32);
        MAC16(a3, x + 48, wk + 48);
      }
    }
    memcpy(o + c0, &a0, sizeof a0);
    memcpy(o + c0 + 16, &a1, sizeof a1);
    memcpy(o + c0 + 32, &a2, sizeof a2);
    memcpy(o + c0 + 48, &a3, sizeof a3);
    return;
  }
  int j = 0;
  for (; j + 16 <= cn; j += 16) {
    V16 a = {0};
    for (int ky = ky_lo; ky < ky_hi; ky++) {
      const float *x = x0 + ky * row_step + (long)kx_lo * p->in_cs + j;
      const float *wk = w0 + (long)(ky * d->kw + kx_lo) * p->oc + j;
      for (int kx = kx_lo; kx < kx_hi; kx++, x += p->in_cs, wk += p->oc)
        MAC16(a, x, wk);
    }
    memcpy(o + c0 + j, &a, sizeof a);
  }
  for (; j < cn; j++) {
    float a = 0.0f;
    for (int ky = ky_lo; ky < ky_hi; ky++)
      for (int kx = kx_lo; kx < kx_hi; kx++)
        a += x0[ky * row_step + (long)kx * p->in_cs + j] *
             w0[(long)(ky * d->kw + kx) * p->oc + j];
    o[c0 + j] = a;
  }
}

/* Multiplier > 1 (rare): output channel j reads input channel j / mult. */
static void dw_block_mult(float *restrict o, const float *restrict img,
                          const float *restrict kernel, const DwPlan *p,
                          int iy0, int ix0, int ky_lo, int ky_hi, int kx_lo,
                          int kx_hi, int c0, int cn) {
  const RtDwConv2d *d = p->d;
  float acc[CB];
  for (int j = 0; j < cn; j++)
    acc[j] = 0.0f;
  for (int ky = ky_lo; ky < ky_hi; ky++) {
    for (int kx = kx_lo; kx < kx_hi; kx++) {
      const float *x = img + ((long)(iy0 + ky) * d->w + ix0 + kx) * p->in_cs;
      const float *wk = kernel + (long)(ky * d->kw + kx) * p->oc + c0;
      for (int j = 0; j < cn; j++)
        acc[j] += x[(c0 + j) / p->mult] * wk[j];
    }
  }
  memcpy(o + c0, acc, (size_t)cn * sizeof *o);
}

/* One output row (image b, row oy), then its epilogue while it is in L1. */
static void dw_row(const DwPlan *p, float *out, const float *in,
                   const float *kernel, const RtEpilogue *ep, int b, int oy) {
  const RtDwConv2d *d = p->d;
  const float *img = in + (long)b * d->h * d->w * p->in_cs;
  long row0 = ((long)b * d->oh + oy) * d->ow;
  float *orow = out + row0 * p->out_cs;
  int iy0 = oy * d->sh - d->pad_top;
  int ky_lo = iy0 < 0 ? -iy0 : 0;
  int ky_hi = d->h - iy0 < d->kh ? d->h - iy0 : d->kh;
  for (int ox = 0; ox < d->ow; ox++) {
    int ix0 = ox * d->sw - d->pad_left;
    int kx_lo = ix0 < 0 ? -ix0 : 0;
    int kx_hi = d->w - ix0 < d->kw ? d->w - ix0 : d->kw;
    float *o = orow + (long)ox * p->out_cs;
    for (int c0 = 0; c0 < p->oc; c0 += CB) {
      int cn = p->oc - c0 < CB ? p->oc - c0 : CB;
      if (p->mult == 1)
        dw_block_mult1(o, img, kernel, p, iy0, ix0, ky_lo, ky_hi, kx_lo, kx_hi,
                       c0, cn);
      else
        dw_block_mult(o, img, kernel, p, iy0, ix0, ky_lo, ky_hi, kx_lo, kx_hi,
                      c0, cn);
    }
  }
  rtk_epilogue_tile(orow, p->out_cs, ep, row0, 0, d->ow, p->oc);
}

RtStatus rt_dwconv2d(const RtContext *ctx, float *out, const float *in,
                     const float *kernel, const RtEpilogue *ep,
                     const RtDwConv2d *d) {
  if (!out || !in || !kernel || !d || d->n < 1 || d->h < 1 || d->w < 1 ||
      d->c < 1 || d->oh < 1 || d->ow < 1 || d->kh < 1 || d->kw < 1 ||
      d->sh < 1 || d->sw < 1 || d->pad_top < 0 || d->pad_left < 0 ||
      d->multiplier < 0)
    return RT_ERR_ARG;
  DwPlan p = {.d = d, .mult = d->multiplier ? d->multiplier : 1};
  p.oc = d->c * p.mult;
  p.in_cs = rtk_cs(d->in_cs, d->c);
  p.out_cs = rtk_cs(d->out_cs, p.oc);
  if (p.in_cs < d->c || p.out_cs < p.oc)
    return RT_ERR_ARG;
  long rows = (long)d->n * d->oh;
  long work = rows * d->ow * p.oc * d->kh * d->kw;
  int threads = rtk_threads(ctx);
#pragma omp parallel for num_threads(threads) schedule(static) if (work > (1 << 15))
  for (long r = 0; r < rows; r++)
    dw_row(&p, out, in, kernel, ep, (int)(r / d->oh), (int)(r % d->oh));
  return RT_OK;
}
