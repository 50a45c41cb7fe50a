/* Gradients of the layers with weights: Conv2D (im2col tiles, one GEMM for
 * the kernel gradient and one for the column gradient per tile and group,
 * then col2im), DepthwiseConv2D (direct loops, split by channels) and
 * Dense (two GEMMs).
 *
 * Determinism: every parallel split below depends only on the sizes and
 * the thread count, never on scheduling. The kernel gradient of a conv is
 * a GEMM per block of its entries, each block summing the tiles in order;
 * col2im gives each thread whole input rows and walks the tile's output
 * pixels in order, so each input gradient is summed in the same order
 * whatever the thread count; the depthwise conv gives each thread whole
 * channels. */
#include <cblas.h>
#include <string.h>

#include "train_internal.h"

/* Workspace bound (floats) of the im2col / column-gradient tile: 8 MiB,
 * as the forward's. */
enum { WS_FLOATS = 1 << 21 };

typedef struct BwPlan {
  const RtConv2d *d;
  int in_cs, out_cs, groups;
  int cg, ocg; /* input / output channels per group */
  long k;      /* rows of a group's kernel: kh*kw*cg */
  long m;      /* output pixels: n*oh*ow */
  int direct;  /* 1x1, stride 1, unpadded: the input is the column matrix */
} BwPlan;

static int bw_plan(BwPlan *p, const RtConv2d *d) {
  if (!d || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1 || d->oh < 1 || d->ow < 1 || d->oc < 1 || d->kh < 1 ||
      d->kw < 1 || d->sh < 1 || d->sw < 1 || d->pad_top < 0 || d->pad_left < 0 || d->groups < 0)
    return 0;
  p->d = d;
  p->groups = d->groups ? d->groups : 1;
  p->in_cs = rtk_cs(d->in_cs, d->c);
  p->out_cs = rtk_cs(d->out_cs, d->oc);
  if (d->c % p->groups || d->oc % p->groups || p->in_cs < d->c || p->out_cs < d->oc)
    return 0;
  p->cg = d->c / p->groups;
  p->ocg = d->oc / p->groups;
  p->k = (long)d->kh * d->kw * p->cg;
  p->m = (long)d->n * d->oh * d->ow;
  p->direct = d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 && d->pad_top == 0 && d->pad_left == 0 &&
              d->oh == d->h && d->ow == d->w;
  return 1;
}

/* As in the forward: groups of one input channel are a depthwise conv. */
static int bw_is_depthwise(const BwPlan *p) { return p->groups > 1 && p->cg == 1; }

size_t rt_conv2d_backward_workspace_floats(const RtConv2d *d) {
  BwPlan p;
  if (!bw_plan(&p, d) || bw_is_depthwise(&p) || p.direct)
    return 0;
  long rows = WS_FLOATS / p.k;
  if (rows < 1)
    rows = 1;
  if (rows > p.m)
    rows = p.m;
  return (size_t)(rows * p.k);
}

/* Rows [m0, m0+rows) of group g's im2col matrix (row stride k), the
 * forward's layout: row m holds the kh*kw*cg inputs under output pixel m
 * in the order of the Keras kernel's first three axes. */
static void bw_im2col(float *col, const float *in, const BwPlan *p, long m0, long rows, int g) {
  const RtConv2d *d = p->d;
  long hw = (long)d->oh * d->ow;
  size_t cg = (size_t)p->cg;
  for (long r = 0; r < rows; r++) {
    long m = m0 + r, b = m / hw, rem = m - b * hw;
    int oy = (int)(rem / d->ow), ox = (int)(rem - (long)oy * d->ow);
    int iy0 = oy * d->sh - d->pad_top, ix0 = ox * d->sw - d->pad_left;
    const float *img = in + b * d->h * d->w * (long)p->in_cs + (long)g * p->cg;
    float *dst = col + r * p->k;
    for (int ky = 0; ky < d->kh; ky++) {
      int iy = iy0 + ky;
      for (int kx = 0; kx < d->kw; kx++, dst += cg) {
        int ix = ix0 + kx;
        if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w)
          memset(dst, 0, cg * sizeof *dst);
        else
          memcpy(dst, img + ((long)iy * d->w + ix) * p->in_cs, cg * sizeof *dst);
      }
    }
  }
}

RTK_CLONES
static void trk_conv_add_run(float *restrict dst, const float *restrict src, int n) {
RTK_SIMD
  for (int j = 0; j < n; j++)
    dst[j] += src[j];
}

/* Adds the column gradient of rows [m0, m0+rows) (row stride k) into din,
 * group g, but only into input rows R = b*h + iy with R0 <= R < R1: the
 * caller's threads own disjoint row ranges, and each walks the output
 * pixels in the same order. */
static void bw_col2im(float *din, const float *dcol, const BwPlan *p, long m0, long rows, int g, long R0,
                      long R1) {
  const RtConv2d *d = p->d;
  long hw = (long)d->oh * d->ow;
  for (long r = 0; r < rows; r++) {
    long m = m0 + r, b = m / hw, rem = m - b * hw;
    int oy = (int)(rem / d->ow), ox = (int)(rem - (long)oy * d->ow);
    int iy0 = oy * d->sh - d->pad_top, ix0 = ox * d->sw - d->pad_left;
    for (int ky = 0; ky < d->kh; ky++) {
      int iy = iy0 + ky;
      long R = b * d->h + iy;
      if (iy < 0 || iy >= d->h || R < R0 || R >= R1)
        continue;
      float *drow = din + R * d->w * (long)p->in_cs + (long)g * p->cg;
      const float *src = dcol + r * p->k + (long)ky * d->kw * p->cg;
      for (int kx = 0; kx < d->kw; kx++) {
        int ix = ix0 + kx;
        if (ix >= 0 && ix < d->w)
          trk_conv_add_run(drow + (long)ix * p->in_cs, src + (long)kx * p->cg, p->cg);
      }
    }
  }
}

/* Blocks of a k x n gradient (rows x columns) for `threads` threads:
 * rows first (16 at least), then columns in whole 16-float vectors. */
typedef struct Blocks {
  int nrb, ncb;
  long rb;
  int cb;
} Blocks;

static Blocks make_blocks(long k, int n, int threads) {
  Blocks b;
  b.rb = (k + threads - 1) / threads;
  if (b.rb < 16)
    b.rb = 16;
  b.nrb = (int)((k + b.rb - 1) / b.rb);
  b.ncb = 1;
  b.cb = n;
  if (b.nrb < threads && n > 16) {
    int want = (threads + b.nrb - 1) / b.nrb;
    int cb = (n + want - 1) / want;
    cb = (cb + 15) / 16 * 16;
    b.cb = cb;
    b.ncb = (n + cb - 1) / cb;
  }
  return b;
}

/* dkw[k, n] (row stride ldc) = beta * dkw + a^T x dout, a being
 * [rows, k] (row stride lda) and dout [rows, n] (row stride ldb), split
 * into blocks over the threads. */
static void grad_gemm_tn(int threads, float *dkw, int ldc, const float *a, long lda, const float *dout, int ldb,
                         long k, int n, long rows, float beta) {
  Blocks bl = make_blocks(k, n, threads);
  int nblocks = bl.nrb * bl.ncb;
#pragma omp parallel for num_threads(threads) schedule(static) if (nblocks > 1)
  for (int t = 0; t < nblocks; t++) {
    long r0 = (t / bl.ncb) * bl.rb;
    int c0 = (t % bl.ncb) * bl.cb;
    long nr = k - r0 < bl.rb ? k - r0 : bl.rb;
    int nc = n - c0 < bl.cb ? n - c0 : bl.cb;
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, (int)nr, nc, (int)rows, 1.0f, a + r0, (int)lda,
                dout + c0, ldb, beta, dkw + r0 * ldc + c0, ldc);
  }
}

/* c[rows, k] (row stride ldc) = beta * c + dout[rows, n] x w^T, w being
 * [k, n] (row stride ldw): the gradient at a GEMM's input, split by rows. */
static void grad_gemm_nt(int threads, float *c, long ldc, const float *dout, int ldd, const float *w, int ldw,
                         long rows, long k, int n, float beta) {
  long chunk = (rows + threads - 1) / threads;
  if (chunk < 1)
    chunk = 1;
  int nchunks = (int)((rows + chunk - 1) / chunk);
#pragma omp parallel for num_threads(threads) schedule(static) if (nchunks > 1)
  for (int t = 0; t < nchunks; t++) {
    long r0 = t * chunk, nr = rows - r0 < chunk ? rows - r0 : chunk;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)nr, (int)k, n, 1.0f, dout + r0 * ldd, ldd, w, ldw,
                beta, c + r0 * ldc, (int)ldc);
  }
}

/* dbias[k] = sum over rows of dout[r*cs + k]. */
static void bias_grad(int threads, float *dbias, const float *dout, long rows, int n, long cs) {
  double s[TRK_RCH];
  for (int c0 = 0; c0 < n; c0 += TRK_RCH) {
    int cn = n - c0 < TRK_RCH ? n - c0 : TRK_RCH;
    trk_colreduce(threads, TRK_SUM, s, NULL, rows, cn, dout + c0, cs, NULL, 0, NULL, NULL);
    for (int j = 0; j < cn; j++)
      dbias[c0 + j] = (float)s[j];
  }
}

RtStatus rt_conv2d_backward(const RtContext *ctx, float *din, float *dkernel, float *dbias, const float *dout,
                            const float *in, const float *kernel, int accumulate, const RtConv2d *d, float *ws,
                            size_t ws_floats) {
  BwPlan p;
  if (!dout || !in || !kernel || !bw_plan(&p, d) || (accumulate != 0 && accumulate != 1))
    return RT_ERR_ARG;
  if (bw_is_depthwise(&p)) {
    RtDwConv2d dw = {
        .n = d->n, .h = d->h, .w = d->w, .c = d->c, .in_cs = p.in_cs,
        .oh = d->oh, .ow = d->ow, .out_cs = p.out_cs,
        .kh = d->kh, .kw = d->kw, .sh = d->sh, .sw = d->sw,
        .pad_top = d->pad_top, .pad_left = d->pad_left,
        .multiplier = p.ocg,
    };
    return rt_dwconv2d_backward(ctx, din, dkernel, dbias, dout, in, kernel, accumulate, &dw);
  }
  if (!p.direct && (!ws || ws_floats < (size_t)p.k))
    return RT_ERR_ARG;
  rtk_blas_single();
  int threads = trk_threads_for(ctx, 2.0 * (double)p.m * (double)p.k * d->oc);
  int oc = d->oc;

  if (dbias)
    bias_grad(threads, dbias, dout, p.m, oc, p.out_cs);

  if (p.direct) {
    for (int g = 0; g < p.groups; g++) {
      const float *dout_g = dout + (long)g * p.ocg;
      if (dkernel)
        grad_gemm_tn(threads, dkernel + (long)g * p.ocg, oc, in + (long)g * p.cg, p.in_cs, dout_g, p.out_cs, p.k,
                     p.ocg, p.m, 0.0f);
      if (din)
        grad_gemm_nt(threads, din + (long)g * p.cg, p.in_cs, dout_g, p.out_cs, kernel + (long)g * p.ocg, oc, p.m,
                     p.k, p.ocg, accumulate ? 1.0f : 0.0f);
    }
    return RT_OK;
  }

  if (din && !accumulate)
    trk_zero_rows(threads, din, (long)d->n * d->h * d->w, d->c, p.in_cs);
  long tile = (long)(ws_floats / (size_t)p.k);
  if (tile > p.m)
    tile = p.m;
  long hw = (long)d->oh * d->ow;
  for (long m0 = 0; m0 < p.m; m0 += tile) {
    long rows = p.m - m0 < tile ? p.m - m0 : tile;
    long chunk = (rows + threads - 1) / threads;
    /* Input rows this tile's windows touch, for col2im's split. */
    long b0 = m0 / hw, oy0 = (m0 - b0 * hw) / d->ow;
    long b1 = (m0 + rows - 1) / hw, oy1 = (m0 + rows - 1 - b1 * hw) / d->ow;
    long iy_lo = oy0 * d->sh - d->pad_top, iy_hi = oy1 * d->sh - d->pad_top + d->kh;
    long R_lo = b0 * d->h + (iy_lo > 0 ? iy_lo : 0);
    long R_hi = b1 * d->h + (iy_hi < d->h ? iy_hi : d->h);
    long rspan = R_hi > R_lo ? R_hi - R_lo : 0;
    long rchunk = (rspan + threads - 1) / threads;
    for (int g = 0; g < p.groups; g++) {
      const float *dout_g = dout + m0 * p.out_cs + (long)g * p.ocg;
      if (dkernel) {
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
        for (int t = 0; t < threads; t++) {
          long r0 = t * chunk;
          if (r0 < rows)
            bw_im2col(ws + r0 * p.k, in, &p, m0 + r0, rows - r0 < chunk ? rows - r0 : chunk, g);
        }
        grad_gemm_tn(threads, dkernel + (long)g * p.ocg, oc, ws, p.k, dout_g, p.out_cs, p.k, p.ocg, rows,
                     m0 == 0 ? 0.0f : 1.0f);
      }
      if (din) {
        grad_gemm_nt(threads, ws, p.k, dout_g, p.out_cs, kernel + (long)g * p.ocg, oc, rows, p.k, p.ocg, 0.0f);
        if (rchunk > 0) {
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
          for (int t = 0; t < threads; t++) {
            long R0 = R_lo + t * rchunk, R1 = R0 + rchunk < R_hi ? R0 + rchunk : R_hi;
            if (R0 < R1)
              bw_col2im(din, ws, &p, m0, rows, g, R0, R1);
          }
        }
      }
    }
  }
  return RT_OK;
}

/* ---- Depthwise ---------------------------------------------------------- */

/* Double accumulators a thread keeps on its stack for its channels' kernel
 * and bias gradients (32 KiB): channels per block are chosen to fit. */
enum { DW_ACC = 4096 };

typedef struct DwBw {
  const RtDwConv2d *d;
  int in_cs, out_cs, mult, oc;
} DwBw;

/* One tap of one output pixel, channels [0, cn) of a block: the input
 * gradient dx[j] += sum_m g[j*mult+m] * w[j*mult+m]. */
RTK_CLONES
static void trk_dw_din_tap(float *restrict dx, const float *restrict g, const float *restrict w, int cn, int mult) {
  if (mult == 1) {
RTK_SIMD
    for (int j = 0; j < cn; j++)
      dx[j] += g[j] * w[j];
    return;
  }
  for (int j = 0; j < cn; j++) {
    float s = 0.0f;
    for (int m = 0; m < mult; m++)
      s += g[j * mult + m] * w[j * mult + m];
    dx[j] += s;
  }
}

/* The kernel gradient of one tap: a[j*mult+m] += g[j*mult+m] * x[j]. */
RTK_CLONES
static void trk_dw_dk_tap(double *restrict a, const float *restrict g, const float *restrict x, int cn, int mult) {
  if (mult == 1) {
RTK_SIMD
    for (int j = 0; j < cn; j++)
      a[j] += (double)g[j] * x[j];
    return;
  }
  for (int j = 0; j < cn; j++)
    for (int m = 0; m < mult; m++)
      a[j * mult + m] += (double)g[j * mult + m] * x[j];
}

static void trk_dw_dk_tap_float(float *a, const float *g, const float *x, int cn, int mult) {
  for (int j = 0; j < cn; j++)
    for (int m = 0; m < mult; m++)
      a[j * mult + m] += g[j * mult + m] * x[j];
}

/* Input channels [c0, c0+cn) over every output pixel. acc holds
 * kh*kw*cn*mult kernel sums then cn*mult bias sums, or is NULL when they
 * do not fit, in which case the float gradient accumulates in place. */
static void dw_block(const DwBw *p, float *din, float *dkernel, float *dbias, const float *dout, const float *in,
                     const float *kernel, int accumulate, int c0, int cn, double *acc) {
  const RtDwConv2d *d = p->d;
  int mult = p->mult, oc = p->oc, taps = d->kh * d->kw;
  long npix_in = (long)d->n * d->h * d->w;
  if (din && !accumulate)
    for (long q = 0; q < npix_in; q++)
      memset(din + q * p->in_cs + c0, 0, (size_t)cn * sizeof *din);
  long kn = (long)taps * cn * mult, bn = (long)cn * mult;
  if (acc) {
    memset(acc, 0, (size_t)(kn + bn) * sizeof *acc);
  } else {
    if (dkernel)
      for (int t = 0; t < taps; t++)
        memset(dkernel + (long)t * oc + (long)c0 * mult, 0, (size_t)bn * sizeof *dkernel);
    if (dbias)
      memset(dbias + (long)c0 * mult, 0, (size_t)bn * sizeof *dbias);
  }
  for (int b = 0; b < d->n; b++)
    for (int oy = 0; oy < d->oh; oy++)
      for (int ox = 0; ox < d->ow; ox++) {
        const float *g = dout + (((long)b * d->oh + oy) * d->ow + ox) * p->out_cs + (long)c0 * mult;
        if (dbias) {
          for (long j = 0; j < bn; j++) {
            if (acc)
              acc[kn + j] += g[j];
            else
              dbias[(long)c0 * mult + j] += g[j];
          }
        }
        int iy0 = oy * d->sh - d->pad_top, ix0 = ox * d->sw - d->pad_left;
        for (int ky = 0; ky < d->kh; ky++) {
          int iy = iy0 + ky;
          if (iy < 0 || iy >= d->h)
            continue;
          for (int kx = 0; kx < d->kw; kx++) {
            int ix = ix0 + kx;
            if (ix < 0 || ix >= d->w)
              continue;
            int t = ky * d->kw + kx;
            long ipix = ((long)b * d->h + iy) * d->w + ix;
            const float *x = in + ipix * p->in_cs + c0;
            const float *wk = kernel + (long)t * oc + (long)c0 * mult;
            if (din)
              trk_dw_din_tap(din + ipix * p->in_cs + c0, g, wk, cn, mult);
            if (dkernel) {
              if (acc)
                trk_dw_dk_tap(acc + (long)t * bn, g, x, cn, mult);
              else
                trk_dw_dk_tap_float(dkernel + (long)t * oc + (long)c0 * mult, g, x, cn, mult);
            }
          }
        }
      }
  if (acc) {
    if (dkernel)
      for (int t = 0; t < taps; t++)
        for (long j = 0; j < bn; j++)
          dkernel[(long)t * oc + (long)c0 * mult + j] = (float)acc[(long)t * bn + j];
    if (dbias)
      for (long j = 0; j < bn; j++)
        dbias[(long)c0 * mult + j] = (float)acc[kn + j];
  }
}

RtStatus rt_dwconv2d_backward(const RtContext *ctx, float *din, float *dkernel, float *dbias, const float *dout,
                              const float *in, const float *kernel, int accumulate, const RtDwConv2d *d) {
  if (!dout || !in || !kernel || !d || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1 || d->oh < 1 ||
      d->ow < 1 || d->kh < 1 || d->kw < 1 || d->sh < 1 || d->sw < 1 || d->pad_top < 0 || d->pad_left < 0 ||
      d->multiplier < 0 || (accumulate != 0 && accumulate != 1))
    return RT_ERR_ARG;
  DwBw p = {.d = d, .mult = d->multiplier ? d->multiplier : 1};
  p.oc = d->c * p.mult;
  p.in_cs = rtk_cs(d->in_cs, d->c);
  p.out_cs = rtk_cs(d->out_cs, p.oc);
  if (p.in_cs < d->c || p.out_cs < p.oc)
    return RT_ERR_ARG;
  long per_ch = (long)(d->kh * d->kw + 1) * p.mult; /* accumulators per input channel */
  int threads = trk_threads_for(ctx, (double)d->n * d->oh * d->ow * p.oc * d->kh * d->kw * 2);
  int cb = (d->c + threads - 1) / threads;
  if (cb >= 16)
    cb = (cb + 15) / 16 * 16;
  int fits = per_ch <= DW_ACC;
  if (fits && cb * per_ch > DW_ACC)
    cb = (int)(DW_ACC / per_ch);
  int nb = (d->c + cb - 1) / cb;
#pragma omp parallel for num_threads(threads) schedule(static) if (nb > 1)
  for (int bk = 0; bk < nb; bk++) {
    double acc[DW_ACC];
    int c0 = bk * cb, cn = d->c - c0 < cb ? d->c - c0 : cb;
    dw_block(&p, din, dkernel, dbias, dout, in, kernel, accumulate, c0, cn, fits ? acc : NULL);
  }
  return RT_OK;
}

/* ---- Dense --------------------------------------------------------------- */

RtStatus rt_dense_backward(const RtContext *ctx, float *din, float *dkernel, float *dbias, const float *dout,
                           const float *in, const float *kernel, int accumulate, const RtDense *d) {
  if (!dout || !in || !kernel || !d || d->rows < 1 || d->in < 1 || d->out < 1 ||
      (accumulate != 0 && accumulate != 1))
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->in), out_cs = rtk_cs(d->out_cs, d->out);
  if (in_cs < d->in || out_cs < d->out)
    return RT_ERR_ARG;
  rtk_blas_single();
  int threads = trk_threads_for(ctx, 2.0 * (double)d->rows * d->in * d->out / 32.0);
  if (dbias)
    bias_grad(threads, dbias, dout, d->rows, d->out, out_cs);
  if (dkernel)
    grad_gemm_tn(threads, dkernel, d->out, in, in_cs, dout, out_cs, d->in, d->out, d->rows, 0.0f);
  if (din)
    grad_gemm_nt(threads, din, in_cs, dout, out_cs, kernel, d->out, d->rows, d->in, d->out,
                 accumulate ? 1.0f : 0.0f);
  return RT_OK;
}
