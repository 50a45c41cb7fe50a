/* Element-wise combinations of tensors: n-ary add (Keras Add, residual
 * joins) and the per-image channel scaling of squeeze-excitation (Keras
 * Multiply of HxWxC by C), both with the producer epilogue fused. Work is
 * split into blocks of pixels; each block is combined and then finished by
 * the epilogue while it is in L1/L2. */
#include "kernels_internal.h"

enum { PIX_BLOCK = 64 };

static int eltwise_ok(const RtEltwise *d, int *in_cs, int *out_cs) {
  if (!d || d->n < 0 || d->h < 0 || d->w < 0 || d->c < 0)
    return 0;
  *in_cs = rtk_cs(d->in_cs, d->c);
  *out_cs = rtk_cs(d->out_cs, d->c);
  return *in_cs >= d->c && *out_cs >= d->c;
}

/* No restrict here: out may be the very same array as an input (each
 * element is read before it is written, at the same index). */
RTK_CLONES
static void elt_add_row(float *o, const float *a, const float *b, int n) {
RTK_SIMD
  for (int j = 0; j < n; j++)
    o[j] = a[j] + b[j];
}

RTK_CLONES
static void elt_acc_row(float *o, const float *a, int n) {
RTK_SIMD
  for (int j = 0; j < n; j++)
    o[j] += a[j];
}

RTK_CLONES
static void elt_mul_row(float *o, const float *a, const float *s, int n) {
RTK_SIMD
  for (int j = 0; j < n; j++)
    o[j] = a[j] * s[j];
}

/* The calling thread's share of the blocks of pixels. */
static void add_blocks(float *out, const float *const *ins, int count,
                       const RtEpilogue *ep, const RtEltwise *d, int in_cs,
                       int out_cs, int parts) {
  long pixels = (long)d->n * d->h * d->w;
  long lo, hi;
  rtk_share((pixels + PIX_BLOCK - 1) / PIX_BLOCK, parts, &lo, &hi);
  for (long bk = lo; bk < hi; bk++) {
    long p0 = bk * PIX_BLOCK;
    long np = pixels - p0 < PIX_BLOCK ? pixels - p0 : PIX_BLOCK;
    for (long q = p0; q < p0 + np; q++) {
      float *o = out + q * out_cs;
      long off = q * in_cs;
      if (count == 1) {
        if (o != ins[0] + off)
          for (int j = 0; j < d->c; j++)
            o[j] = ins[0][off + j];
        continue;
      }
      elt_add_row(o, ins[0] + off, ins[1] + off, d->c);
      for (int i = 2; i < count; i++)
        elt_acc_row(o, ins[i] + off, d->c);
    }
    rtk_epilogue_tile(out + p0 * out_cs, out_cs, ep, p0, 0, np, d->c);
  }
}

RtStatus rt_add(const RtContext *ctx, float *out, const float *const *ins,
                int count, const RtEpilogue *ep, const RtEltwise *d) {
  int in_cs, out_cs;
  if (!out || !ins || count < 1 || !eltwise_ok(d, &in_cs, &out_cs))
    return RT_ERR_ARG;
  for (int i = 0; i < count; i++)
    if (!ins[i])
      return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  int parts = pixels * d->c > (1 << 12) ? rtk_threads(ctx) : 1;
  RTK_TEAM(ctx, parts,
           add_blocks(out, ins, count, ep, d, in_cs, out_cs, parts));
  return RT_OK;
}

/* The calling thread's share of the blocks of pixels. */
static void mul_blocks(float *out, const float *in, const float *s, int s_cs,
                       const RtEpilogue *ep, const RtEltwise *d, int in_cs,
                       int out_cs, int parts) {
  long hw = (long)d->h * d->w, pixels = d->n * hw;
  long lo, hi;
  rtk_share((pixels + PIX_BLOCK - 1) / PIX_BLOCK, parts, &lo, &hi);
  for (long bk = lo; bk < hi; bk++) {
    long p0 = bk * PIX_BLOCK;
    long np = pixels - p0 < PIX_BLOCK ? pixels - p0 : PIX_BLOCK;
    for (long q = p0; q < p0 + np; q++)
      elt_mul_row(out + q * out_cs, in + q * in_cs, s + (q / hw) * s_cs, d->c);
    rtk_epilogue_tile(out + p0 * out_cs, out_cs, ep, p0, 0, np, d->c);
  }
}

RtStatus rt_mul_channel(const RtContext *ctx, float *out, const float *in,
                        const float *s, int s_cs, const RtEpilogue *ep,
                        const RtEltwise *d) {
  int in_cs, out_cs;
  if (!out || !in || !s || s_cs < 0 || !eltwise_ok(d, &in_cs, &out_cs))
    return RT_ERR_ARG;
  s_cs = rtk_cs(s_cs, d->c);
  if (s_cs < d->c)
    return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  int parts = pixels * d->c > (1 << 12) ? rtk_threads(ctx) : 1;
  RTK_TEAM(ctx, parts,
           mul_blocks(out, in, s, s_cs, ep, d, in_cs, out_cs, parts));
  return RT_OK;
}
