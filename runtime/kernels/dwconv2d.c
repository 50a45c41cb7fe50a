/* Depthwise 2-D convolution (Keras DepthwiseConv2D, and Conv2D with
 * groups == channels), optionally reading its input through a max pool
 * and a pre-activation (the book's Unit: maxpool, then batch norm and ReLU
 * before the conv), and optionally followed by a 1x1 conv that reads its
 * output from a tile on the stack (rt_dwconv2d_pointwise, at the end).
 *
 * Each output channel sees one input channel, so there is no GEMM to be
 * had: per output pixel and tap, one vector multiply-add across 16
 * channels. The work is cut into items of (image, 16 channels, strip of
 * output columns, run of output rows). An item copies the input rows it
 * needs, 16 channels wide, into a small ring buffer on its stack: zero
 * columns where the padding is, the pool and the pre-activation applied
 * on the way in.
 * So each input value is transformed once per item (not once per tap),
 * the taps read L1 with no bounds checks, and a 3x3 kernel's 9 weight
 * vectors stay in registers along the whole row. Bias, residual and the
 * activation run on the accumulator before its store.
 *
 * Multiplier > 1 (rare) and kernels too large for the buffer take a plain
 * per-value path. */
#include <omp.h>
#include <string.h>

#include "kernels_internal.h"
#include "vec16.h"
#include "vec8x2.h"

enum {
  LANES = 16,
  RING_FLOATS = 8192, /* 32 KiB of input rows per item: L1 */
  MAX_TAPS = 64,      /* kernels up to 8x8 in the vector path */
  MIN_ITEM_ROWS = 4,  /* fewer rows per item re-read too many halo rows */
};

typedef struct DwKernels DwKernels;

typedef struct DwPlan {
  const DwKernels *kern; /* the vector kernels' variant */
  const RtDwConv2d *d;
  const RtPreact *pre; /* NULL: the input as it is */
  const RtEpilogue *ep;
  RtAct act;      /* ep's, and its alpha: LINEAR without ep */
  float alpha;
  long res_cs;    /* the residual's channel stride */
  int in_cs, out_cs, mult, oc;
  long out_pix0;  /* output pixel at out[0] (a fused kernel's tile) */
  int pool;       /* > 1: the input is read through a max pool (RtPreact) */
  int src_w;      /* the input's pixels per row: pre->src_w or d->w */
  long img_floats; /* one input image */
  int strip;      /* output columns per item */
  int ring_w;     /* buffer columns: input columns a strip reads */
  int row_chunk;  /* output rows per item */
  int ncb, nstrips, nchunks;
} DwPlan;

static float pre_apply(const RtPreact *pre, int ch, float x) {
  float s = pre->scale ? pre->scale[ch] : 1.0f;
  float t = pre->shift ? pre->shift[ch] : 0.0f;
  return rt_act_apply(pre->act, pre->alpha, x * s + t);
}

/* Pooled input pixel (iy, ix), channel ch, of image img: the max over its
 * pool x pool window. */
static float pooled(const DwPlan *p, const float *img, int iy, int ix, int ch) {
  const float *q = img + ((long)iy * p->pool * p->src_w + (long)ix * p->pool) * p->in_cs + ch;
  float m = q[0];
  for (int dy = 0; dy < p->pool; dy++)
    for (int dx = 0; dx < p->pool; dx++) {
      float v = q[((long)dy * p->src_w + dx) * p->in_cs];
      m = v > m ? v : m;
    }
  return m;
}

/* ---- The vector path (multiplier 1) --------------------------------------- */

/* The vector kernels (dwconv2d_parts.h) for 16-float vectors (AVX-512),
 * 8 (AVX2) and 4 (SSE2 and other targets), each where this build can run
 * it (kernels_internal.h, "Vector-width variants"). */
struct DwKernels {
  void (*fill_row)(float *restrict dst, const float *restrict img,
                   const DwPlan *p, int iy, int ix0, int c0, int cn,
                   const float *restrict s, const float *restrict t);
  void (*row_3x3)(float *restrict orow, const float *restrict resrow,
                  const float *const *rows, const float *restrict w, long ws,
                  const float *restrict bias, const DwPlan *p, int nx);
  void (*row_any)(float *restrict orow, const float *restrict resrow,
                  const float *const *rows, const float *restrict w, long ws,
                  const float *restrict bias, const DwPlan *p, int nx,
                  int cn);
  void (*small_fill)(float *restrict buf, const float *restrict img,
                     const DwPlan *p, int iy0, int rows);
  void (*small_conv)(float *out, const float *restrict buf,
                     const float *restrict kernel, const DwPlan *p, int b,
                     int oy0, int oy1, int rows);
};

#if RTK_HAS_WIDE
#define DW_NAME(f) f##_wide16
#define DW_ATTR RTK_WIDE_TARGET
#define DW_V Vec16
#define DW_VU Vec16u
#define DW_VI Vec16i
#define DW_W 16
#include "dwconv2d_parts.h"
#endif
#if RTK_HAS_NARROW
#define DW_NAME(f) f##_narrow8
#define DW_ATTR RTK_NARROW_TARGET
#define DW_V Vec8
#define DW_VU Vec8u
#define DW_VI Vec8i
#define DW_W 8
#include "dwconv2d_parts.h"
#endif
#if RTK_HAS_BASE
#define DW_NAME(f) f##_base4
#define DW_ATTR RTK_BASE_TARGET
#define DW_V Vec4
#define DW_VU Vec4u
#define DW_VI Vec4i
#define DW_W 4
#include "dwconv2d_parts.h"
#endif

static const DwKernels *dw_kernels(void) {
  int width = rtk_vec_width();
  (void)width;
#if RTK_HAS_WIDE
  if (width == 16)
    return &dw_kernels_wide16;
#endif
#if RTK_HAS_NARROW
  if (width == 8)
    return &dw_kernels_narrow8;
#endif
#if RTK_HAS_BASE
  return &dw_kernels_base4;
#else
  return NULL; /* unreachable: this build has that width */
#endif
}

/* Fills the plan's input geometry from d and pre; 0 when pre's pool does
 * not match d. */
static int dw_plan_input(DwPlan *p, const RtDwConv2d *d, const RtPreact *pre) {
  p->pool = pre && pre->pool > 1 ? pre->pool : 1;
  p->src_w = p->pool > 1 ? pre->src_w : d->w;
  int src_h = p->pool > 1 ? pre->src_h : d->h;
  if (p->pool > 1 && (src_h < p->pool || p->src_w < p->pool || (src_h - p->pool) / p->pool + 1 != d->h ||
                      (p->src_w - p->pool) / p->pool + 1 != d->w))
    return 0;
  p->img_floats = (long)src_h * p->src_w * p->in_cs;
  return 1;
}

/* One item: image b, channels [c0, c0 + cn), output columns
 * [ox0, ox0 + nx), output rows [oy0, oy1). */
static void dw_item(const DwPlan *p, float *out, const float *in,
                    const float *kernel, int b, int c0, int ox0, int nx,
                    int oy0, int oy1) {
  const RtDwConv2d *d = p->d;
  int cn = p->oc - c0 < LANES ? p->oc - c0 : LANES;
  int taps = d->kh * d->kw;
  float ring[RING_FLOATS];
  int ring_iy[MAX_TAPS]; /* input row each ring slot holds */
  /* A whole block reads weights, bias, scale and shift where they are (a
   * tap's 16 channels are contiguous in [kh, kw, c]); a partial one reads
   * copies padded with zeros. */
  float wpad[MAX_TAPS * LANES], bpad[LANES], spad[LANES], tpad[LANES];
  const float *w = kernel + c0, *bias = bpad, *s = spad, *t = tpad;
  long ws = p->oc;
  const float *bp = p->ep ? p->ep->bias : NULL;
  const float *sp = p->pre ? p->pre->scale : NULL;
  const float *tp = p->pre ? p->pre->shift : NULL;
  if (cn < LANES || !bp || !sp || !tp)
    for (int j = 0; j < LANES; j++) {
      bpad[j] = bp && j < cn ? bp[c0 + j] : 0.0f;
      spad[j] = sp && j < cn ? sp[c0 + j] : 1.0f;
      tpad[j] = tp && j < cn ? tp[c0 + j] : 0.0f;
    }
  if (cn == LANES) {
    bias = bp ? bp + c0 : bpad;
    s = sp ? sp + c0 : spad;
    t = tp ? tp + c0 : tpad;
  } else {
    for (int q = 0; q < taps; q++)
      for (int j = 0; j < LANES; j++)
        wpad[q * LANES + j] = j < cn ? kernel[(long)q * p->oc + c0 + j] : 0.0f;
    w = wpad;
    ws = LANES;
  }
  for (int k = 0; k < d->kh; k++)
    ring_iy[k] = -1 - d->pad_top - d->kh; /* holds nothing yet */
  const float *img = in + (long)b * p->img_floats;
  int ix0 = ox0 * d->sw - d->pad_left;
  long row_floats = (long)p->ring_w * LANES;
  /* Input row iy lives in ring slot iy mod kh; `first` is that of the
   * row's first tap, advanced by the stride without a division (two per
   * tap row were a tenth of an 8x8 map's time). */
  int iy0 = oy0 * d->sh - d->pad_top;
  int first = ((iy0 % d->kh) + d->kh) % d->kh, step = d->sh % d->kh;
  for (int oy = oy0; oy < oy1; oy++) {
    const float *rows[MAX_TAPS];
    for (int ky = 0; ky < d->kh; ky++) {
      int iy = oy * d->sh - d->pad_top + ky;
      int slot = first + ky < d->kh ? first + ky : first + ky - d->kh;
      float *r = ring + slot * row_floats;
      if (ring_iy[slot] != iy) {
        p->kern->fill_row(r, img, p, iy, ix0, c0, cn, s, t);
        ring_iy[slot] = iy;
      }
      rows[ky] = r;
    }
    first += step;
    if (first >= d->kh)
      first -= d->kh;
    long pix = ((long)b * d->oh + oy) * d->ow + ox0;
    const float *res = NULL;
    if (p->ep && p->ep->residual)
      res = p->ep->residual + pix * p->res_cs + c0;
    float *orow = out + (pix - p->out_pix0) * p->out_cs + c0;
    if (d->kh == 3 && d->kw == 3 && cn == LANES && vec_act_supported(p->act))
      p->kern->row_3x3(orow, res, rows, w, ws, bias, p, nx);
    else
      p->kern->row_any(orow, res, rows, w, ws, bias, p, nx, cn);
  }
}

/* ---- The plain path (multiplier > 1, huge kernels) ------------------------ */

/* Output pixel (b, oy, ox), all channels: output channel j reads input
 * channel j / mult. */
static void dw_pixel_plain(const DwPlan *p, float *out, const float *in,
                           const float *kernel, int b, int oy, int ox) {
  const RtDwConv2d *d = p->d;
  const float *img = in + (long)b * p->img_floats;
  long pix = ((long)b * d->oh + oy) * d->ow + ox;
  float *o = out + pix * p->out_cs;
  int iy0 = oy * d->sh - d->pad_top, ix0 = ox * d->sw - d->pad_left;
  for (int j = 0; j < p->oc; j++) {
    float acc = 0.0f;
    int ci = j / p->mult;
    for (int ky = 0; ky < d->kh; ky++) {
      int iy = iy0 + ky;
      if (iy < 0 || iy >= d->h)
        continue;
      for (int kx = 0; kx < d->kw; kx++) {
        int ix = ix0 + kx;
        if (ix < 0 || ix >= d->w)
          continue;
        float x = p->pool > 1 ? pooled(p, img, iy, ix, ci)
                              : img[((long)iy * d->w + ix) * p->in_cs + ci];
        if (p->pre)
          x = pre_apply(p->pre, ci, x);
        acc += x * kernel[(long)(ky * d->kw + kx) * p->oc + j];
      }
    }
    o[j] = acc;
  }
  rtk_epilogue_tile(o, p->out_cs, p->ep, pix, 0, 1, p->oc);
}

/* ---- Planning and threads ------------------------------------------------- */

/* Cuts the work into items: strips narrow enough for the ring buffer, and
 * runs of rows short enough that every thread gets a few items. Returns 0
 * when the vector path does not apply. */
static int dw_plan_items(DwPlan *p, int threads) {
  const RtDwConv2d *d = p->d;
  if (p->mult != 1 || d->kh * d->kw > MAX_TAPS)
    return 0;
  int max_ring_w = RING_FLOATS / (d->kh * LANES);
  int strip = (max_ring_w - d->kw) / d->sw + 1; /* output columns that fit */
  if (strip < 1)
    return 0;
  if (strip > d->ow)
    strip = d->ow;
  p->nstrips = (d->ow + strip - 1) / strip;
  p->strip = (d->ow + p->nstrips - 1) / p->nstrips; /* even strips */
  p->ring_w = (p->strip - 1) * d->sw + d->kw;
  p->ncb = (p->oc + LANES - 1) / LANES;
  long base = (long)d->n * p->ncb * p->nstrips;
  long want = 2L * threads; /* two items each: balance, few halo rows */
  int chunks = base >= want ? 1 : (int)((want + base - 1) / base);
  /* Rows rather than channels between threads where the rows allow it
   * (batch 1): the convolutions before and after split rows too, and a
   * thread then reads what it wrote itself (cross-core transfers made
   * whole networks up to 1.9x slower in measurement). */
  long pictures = (long)d->n * p->nstrips;
  if (pictures < threads && chunks < (threads + pictures - 1) / pictures)
    chunks = (int)((threads + pictures - 1) / pictures);
  int max_chunks = d->oh / MIN_ITEM_ROWS > 0 ? d->oh / MIN_ITEM_ROWS : 1;
  if (chunks > max_chunks)
    chunks = max_chunks;
  p->row_chunk = (d->oh + chunks - 1) / chunks;
  p->nchunks = (d->oh + p->row_chunk - 1) / p->row_chunk;
  return 1;
}

/* The plan of d read through pre, written with epilogue ep at channel
 * stride out_cs (0: dense); 0 when d, pre or out_cs do not hold up. */
static int dw_plan(DwPlan *p, const RtDwConv2d *d, const RtPreact *pre,
                   const RtEpilogue *ep, int out_cs) {
  if (!d || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1 || d->oh < 1 ||
      d->ow < 1 || d->kh < 1 || d->kw < 1 || d->sh < 1 || d->sw < 1 ||
      d->pad_top < 0 || d->pad_left < 0 || d->multiplier < 0)
    return 0;
  *p = (DwPlan){.kern = dw_kernels(), .d = d, .pre = pre, .ep = ep,
                .mult = d->multiplier ? d->multiplier : 1};
  p->oc = d->c * p->mult;
  p->in_cs = rtk_cs(d->in_cs, d->c);
  p->out_cs = rtk_cs(out_cs, p->oc);
  p->act = ep ? ep->act : RT_ACT_LINEAR;
  p->alpha = ep ? ep->alpha : 0.0f;
  p->res_cs = ep && ep->res_cs ? ep->res_cs : p->out_cs;
  return p->in_cs >= d->c && p->out_cs >= p->oc && dw_plan_input(p, d, pre);
}

/* Items of whole rows: one strip the output's width, all channel blocks. */
static void dw_plan_whole_rows(DwPlan *p) {
  const RtDwConv2d *d = p->d;
  p->strip = d->ow;
  p->nstrips = 1;
  p->ring_w = (d->ow - 1) * d->sw + d->kw;
  p->ncb = (p->oc + LANES - 1) / LANES;
}

/* Output rows per run of whole rows: at most cap, and few enough that all
 * `parts` threads get runs when the images are fewer than they are. */
static int dw_rows_per_run(const RtDwConv2d *d, int parts, int cap) {
  int rows = cap < d->oh ? cap : d->oh;
  if (parts > d->n) {
    int per_image = (parts + d->n - 1) / d->n;
    int want = (d->oh + per_image - 1) / per_image;
    if (want < rows)
      rows = want;
  }
  return rows;
}

/* ---- Whole rows at once (the fused depthwise + 1x1) ----------------------
 *
 * The items above take 16 channels at a time, so their row fills read one
 * 64-byte line of every pixel (1 KiB apart on a 256-channel map) and pay
 * their setup once per 16 channels and row: on mobilenet_mini's 4x4x256
 * maps that was 3.5 us for 37,000 multiply-adds (one thread), more than
 * the taps. Here a run of rows is
 * first read pixel by pixel, all channels at once, through the pool and
 * the pre-activation into a padded buffer, one plane of 16 channels after
 * another; then each plane is convolved with its nine weight vectors in
 * registers. For rows of up to 8 pixels, 3x3 kernels, multiplier 1, whole
 * 16-channel blocks and the activations VACT applies, fused with a 1x1
 * conv or alone (an 8x8x128 map 5.6 -> 4.2 us on one thread). Measured in
 * mobilenet_mini (two threads): its 4x4x256 layers 7% to 10% faster each,
 * the 8x8 ones 1% to 4% more; wider rows slower, as the items' eight-pixel
 * steps share their loads (16x16x64 layers 6% slower, 32x32x32 22%). */

enum {
  SMALL_FLOATS = 12288, /* the padded buffer: 48 KiB */
  SMALL_MAX_W = 8       /* output pixels a row */
};

static int dw_small_ok(const DwPlan *p) {
  const RtDwConv2d *d = p->d;
  const RtPreact *pre = p->pre;
  return d->ow <= SMALL_MAX_W && d->kh == 3 && d->kw == 3 && p->mult == 1 &&
         d->c % LANES == 0 &&
         vec_act_supported(p->act) && (!pre || vec_act_supported(pre->act)) &&
         (long)3 * p->ring_w * d->c <= SMALL_FLOATS;
}

/* Output rows [oy0, oy1) of image b, all channels, in runs whose input
 * rows fit the buffer. */
static void dw_small_rows(const DwPlan *p, float *out, const float *in,
                          const float *kernel, int b, int oy0, int oy1) {
  const RtDwConv2d *d = p->d;
  float buf[SMALL_FLOATS];
  long row_floats = (long)p->ring_w * d->c;
  int max_in = (int)(SMALL_FLOATS / row_floats); /* >= 3: dw_small_ok */
  int run = (max_in - d->kh) / d->sh + 1;
  int runs = (oy1 - oy0 + run - 1) / run;
  run = (oy1 - oy0 + runs - 1) / runs; /* even runs: fewer halo rows */
  const float *img = in + (long)b * p->img_floats;
  for (int y0 = oy0; y0 < oy1; y0 += run) {
    int y1 = y0 + run < oy1 ? y0 + run : oy1;
    int rows = (y1 - y0 - 1) * d->sh + d->kh;
    p->kern->small_fill(buf, img, p, y0 * d->sh - d->pad_top, rows);
    p->kern->small_conv(out, buf, kernel, p, b, y0, y1, rows);
  }
}

/* Channel blocks [0, ncb) of output rows [oy0, oy1) of image b, full
 * width. */
static void dw_rows(const DwPlan *p, float *out, const float *in,
                    const float *kernel, int b, int oy0, int oy1) {
  if (dw_small_ok(p)) {
    dw_small_rows(p, out, in, kernel, b, oy0, oy1);
    return;
  }
  for (int cb = 0; cb < p->ncb; cb++)
    dw_item(p, out, in, kernel, b, cb * LANES, 0, p->d->ow, oy0, oy1);
}

/* The calling thread's share of the pixels, one at a time (the path for
 * what the vector path does not take). */
static void dw_pixels_share(const DwPlan *p, float *out, const float *in,
                            const float *kernel, int parts) {
  const RtDwConv2d *d = p->d;
  long lo, hi, hw = (long)d->oh * d->ow;
  rtk_share(d->n * hw, parts, &lo, &hi);
  for (long q = lo; q < hi; q++)
    dw_pixel_plain(p, out, in, kernel, (int)(q / hw), (int)(q / d->ow % d->oh),
                   (int)(q % d->ow));
}

/* The calling thread's share of the items; channel blocks innermost, so a
 * thread's items are whole rows of pixels (see dw_plan_items). */
static void dw_items_share(const DwPlan *p, float *out, const float *in,
                           const float *kernel, int parts) {
  const RtDwConv2d *d = p->d;
  long lo, hi;
  rtk_share((long)d->n * p->ncb * p->nstrips * p->nchunks, parts, &lo, &hi);
  for (long it = lo; it < hi; it++) {
    long q = it;
    int cb = (int)(q % p->ncb);
    q /= p->ncb;
    int strip = (int)(q % p->nstrips);
    q /= p->nstrips;
    int chunk = (int)(q % p->nchunks);
    int b = (int)(q / p->nchunks);
    int ox0 = strip * p->strip, oy0 = chunk * p->row_chunk;
    int nx = d->ow - ox0 < p->strip ? d->ow - ox0 : p->strip;
    int oy1 = d->oh - oy0 < p->row_chunk ? d->oh : oy0 + p->row_chunk;
    dw_item(p, out, in, kernel, b, cb * LANES, ox0, nx, oy0, oy1);
  }
}

/* The calling thread's share of the runs of `rows` output rows of every
 * image, by the whole-row path. */
static void dw_small_share(const DwPlan *p, float *out, const float *in,
                           const float *kernel, int rows, int parts) {
  const RtDwConv2d *d = p->d;
  int runs = (d->oh + rows - 1) / rows;
  long lo, hi;
  rtk_share((long)d->n * runs, parts, &lo, &hi);
  for (long it = lo; it < hi; it++) {
    int b = (int)(it / runs), oy0 = (int)(it % runs) * rows;
    dw_small_rows(p, out, in, kernel, b, oy0, oy0 + rows < d->oh ? oy0 + rows : d->oh);
  }
}

RtStatus rt_dwconv2d_preact(const RtContext *ctx, float *out, const float *in,
                            const float *kernel, const RtPreact *pre,
                            const RtEpilogue *ep, const RtDwConv2d *d) {
  DwPlan p;
  if (!out || !in || !kernel || !dw_plan(&p, d, pre, ep, d ? d->out_cs : 0))
    return RT_ERR_ARG;
  long work = (long)d->n * d->oh * d->ow * p.oc * d->kh * d->kw;
  int parts = work > (1 << 15) ? rtk_threads(ctx) : 1;
  dw_plan_whole_rows(&p); /* for dw_small_ok; dw_plan_items replans */
  if (dw_small_ok(&p)) {
    int rows = dw_rows_per_run(d, parts, d->oh);
    RTK_TEAM(ctx, parts, dw_small_share(&p, out, in, kernel, rows, parts));
  } else if (dw_plan_items(&p, parts))
    RTK_TEAM(ctx, parts, dw_items_share(&p, out, in, kernel, parts));
  else
    RTK_TEAM(ctx, parts, dw_pixels_share(&p, out, in, kernel, parts));
  return RT_OK;
}

RtStatus rt_dwconv2d(const RtContext *ctx, float *out, const float *in,
                     const float *kernel, const RtEpilogue *ep,
                     const RtDwConv2d *d) {
  return rt_dwconv2d_preact(ctx, out, in, kernel, NULL, ep, d);
}

/* ---- Depthwise, then pointwise ------------------------------------------- */

enum {
  PW_TILE_FLOATS = 16384,  /* the depthwise output of one item: 64 KiB */
  PW_SPLIT_MIN_PIXELS = 32 /* per thread, to split rows (conv2d.c's rule) */
};

RtStatus rt_dwconv2d_pointwise(const RtContext *ctx, float *out,
                               const float *in, const float *dw_kernel,
                               const RtPreact *pre, const RtEpilogue *dw_ep,
                               const RtDwConv2d *d, const float *pw_packed,
                               const RtEpilogue *pw_ep, int oc, int out_cs) {
  return rt_dwconv2d_pointwise_shortcut(ctx, out, in, dw_kernel, pre, dw_ep, d,
                                        NULL, pw_packed, pw_ep, oc, out_cs);
}

/* Whether sc (NULL: no shortcut) has channels and reads inside its input
 * for every output pixel of d. */
static int shortcut_ok(const RtShortcut *sc, const RtDwConv2d *d) {
  return !sc || (sc->in && sc->c >= 1 && sc->sh >= 1 && sc->sw >= 1 &&
                 rtk_cs(sc->in_cs, sc->c) >= sc->c &&
                 (long)(d->oh - 1) * sc->sh < sc->h &&
                 (long)(d->ow - 1) * sc->sw < sc->w);
}

/* The shortcut's input pixels of output rows [oy0, oy1) of image b into
 * the tile after each pixel's ld - sc->c depthwise channels. */
static void shortcut_rows(const RtShortcut *sc, const RtDwConv2d *d,
                          float *tile, long ld, int b, int oy0, int oy1) {
  long cs = rtk_cs(sc->in_cs, sc->c);
  float *t = tile + ld - sc->c;
  for (int oy = oy0; oy < oy1; oy++) {
    const float *row =
        sc->in + ((long)b * sc->h + (long)oy * sc->sh) * sc->w * cs;
    for (int ox = 0; ox < d->ow; ox++, t += ld)
      memcpy(t, row + (long)ox * sc->sw * cs, (size_t)sc->c * sizeof *t);
  }
}

/* Few pixels: the calling thread computes the whole depthwise output (and
 * shortcut) into its tile and its share of the output channels from it. */
static void pw_cols_share(const DwPlan *p, float *out, const float *in,
                          const float *dw_kernel, const RtShortcut *sc,
                          const float *pw_packed, const RtEpilogue *pw_ep,
                          int oc, int out_cs, int k, int parts) {
  const RtDwConv2d *d = p->d;
  long lo, hi;
  if (!rtk_share((oc + GEMM_NR - 1) / GEMM_NR, parts, &lo, &hi))
    return;
  int c0 = (int)lo * GEMM_NR;
  int cols = (int)(hi * GEMM_NR < oc ? hi * GEMM_NR : oc) - c0;
  float tile[PW_TILE_FLOATS];
  for (int b = 0; b < d->n; b++) {
    float *t = tile + (long)b * d->oh * d->ow * k;
    dw_rows(p, tile, in, dw_kernel, b, 0, d->oh);
    if (sc)
      shortcut_rows(sc, d, t, k, b, 0, d->oh);
  }
  rtk_gemm_packed_ep(out + c0, out_cs, tile, k, pw_packed + (long)c0 * k,
                     (int)((long)d->n * d->oh * d->ow), cols, k, pw_ep, 0, c0);
}

/* The calling thread's share of the runs of `rows` output rows: depthwise
 * (and shortcut) into its tile, then the GEMM from it. */
static void pw_rows_share(const DwPlan *p, float *out, const float *in,
                          const float *dw_kernel, const RtShortcut *sc,
                          const float *pw_packed, const RtEpilogue *pw_ep,
                          int oc, int out_cs, int k, int rows, int parts) {
  const RtDwConv2d *d = p->d;
  int runs = (d->oh + rows - 1) / rows;
  long lo, hi;
  rtk_share((long)d->n * runs, parts, &lo, &hi);
  for (long it = lo; it < hi; it++) {
    int b = (int)(it / runs), oy0 = (int)(it % runs) * rows;
    int oy1 = oy0 + rows < d->oh ? oy0 + rows : d->oh;
    float tile[PW_TILE_FLOATS];
    DwPlan q = *p;
    q.out_pix0 = ((long)b * d->oh + oy0) * d->ow;
    dw_rows(&q, tile, in, dw_kernel, b, oy0, oy1);
    if (sc)
      shortcut_rows(sc, d, tile, k, b, oy0, oy1);
    rtk_gemm_packed_ep(out + q.out_pix0 * out_cs, out_cs, tile, k, pw_packed,
                       (oy1 - oy0) * d->ow, oc, k, pw_ep, q.out_pix0, 0);
  }
}

RtStatus rt_dwconv2d_pointwise_shortcut(
    const RtContext *ctx, float *out, const float *in, const float *dw_kernel,
    const RtPreact *pre, const RtEpilogue *dw_ep, const RtDwConv2d *d,
    const RtShortcut *sc, const float *pw_packed, const RtEpilogue *pw_ep,
    int oc, int out_cs) {
  DwPlan p; /* its output: the tile, k floats a pixel */
  if (!out || !in || !dw_kernel || !pw_packed || oc < 1 || !d ||
      (dw_ep && dw_ep->residual) || !shortcut_ok(sc, d))
    return RT_ERR_ARG;
  int c = d->c, k = c + (sc ? sc->c : 0);
  if (!dw_plan(&p, d, pre, dw_ep, k) || p.mult != 1)
    return RT_ERR_ARG;
  out_cs = rtk_cs(out_cs, oc);
  dw_plan_whole_rows(&p);
  long row_floats = (long)d->ow * k;
  if (out_cs < oc || d->kh * d->kw > MAX_TAPS ||
      (long)p.ring_w * d->kh * LANES > RING_FLOATS || row_floats > PW_TILE_FLOATS)
    return RT_ERR_ARG;
  int threads = rtk_threads(ctx);
  long work = (long)d->n * d->oh * d->ow * (c * d->kh * d->kw + (long)k * oc);
  int parallel = work > (1 << 15);
  long pixels = (long)d->n * d->oh * d->ow;
  if (parallel && threads > 1 && pixels < threads * PW_SPLIT_MIN_PIXELS &&
      pixels * k <= PW_TILE_FLOATS) {
    /* Few pixels (small maps at batch 1): rows split between threads
     * would leave each a sliver of the GEMM's 6-row blocks and make each
     * read all the weights. Every thread computes the whole depthwise
     * output instead (a few thousand values) and a share of the output
     * channels from it: no barrier, nothing read across cores. */
    RTK_TEAM(ctx, threads,
             pw_cols_share(&p, out, in, dw_kernel, sc, pw_packed, pw_ep, oc,
                           out_cs, k, threads));
    return RT_OK;
  }
  /* Rows per item: as many as the tile holds, but enough items for every
   * thread (rows, not channels, split: each thread reads back what it
   * wrote, and the next layer's rows are its own too). */
  int parts = parallel ? threads : 1;
  int rows = dw_rows_per_run(d, parts, (int)(PW_TILE_FLOATS / row_floats));
  RTK_TEAM(ctx, parts,
           pw_rows_share(&p, out, in, dw_kernel, sc, pw_packed, pw_ep, oc,
                         out_cs, k, rows, parts));
  return RT_OK;
}
