/* 2-D convolution (Keras Conv2D, with groups): GEMM on the input for 1x1
 * stride-1 convs, im2col tiles + GEMM for everything else, and the
 * depthwise kernel when every group is one input channel.
 *
 * Output pixels are the GEMM's rows: out[m, :] = col[m, :] x kernel, where
 * row m of col holds the kh*kw*cin/groups inputs under output pixel m, in
 * exactly the order of the Keras kernel's first three axes, so the kernel
 * is the GEMM's B matrix as it is stored (row stride oc, one column block
 * per group).
 *
 * rt_conv2d_packed runs the same paths with the kernel packed at load
 * (rt_conv2d_pack_kernel) for netc's register GEMM (gemm_packed.c) instead
 * of OpenBLAS, which repacks B in every call: at the small GEMMs of batch 1
 * and of 1x1 and stem convolutions that repacking and the call overhead
 * dominated. With a packed kernel, convolutions whose pixels read their
 * input in several runs (the kernel rows of a 3x3 conv) skip im2col: the
 * implicit GEMM reads each inside pixel's runs in place and copies only
 * the pixels on the border (conv_plan_implicit). Packed convolutions with
 * few multiply-adds per output value (the stems: K = 9 or 27) take the
 * direct kernel of conv_stem.c instead. */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "kernels_internal.h"
#include "vec16.h"

/* im2col tile a thread works on, in floats: 512 KiB of col (plus the output
 * rows it produces) stays in a core's L2 while the GEMM packs and reads
 * it. Measured on Zen 4 with OpenBLAS 0.3.21: 128- to 512-row tiles of a
 * K = 576 GEMM all ran at ~97% of the core's large-GEMM speed, and larger
 * tiles that spill L2 lose the im2col writes' locality. */
enum { TILE_FLOATS = 1 << 17, TILE_MAX_ROWS = 1024, TILE_MIN_ROWS = 64 };

/* Output pixels per thread from which threads split rows rather than
 * output channels. Rows keep each thread on the pixels it wrote in the
 * layer before (cross-core transfers of whole tensors cost up to 2x at
 * batch 1 in measurement), but fewer than about 32 rows waste too much of
 * the GEMM's 6-row register block. */
enum { ROW_SPLIT_MIN_ROWS = 32 };

/* Upper bound on the planned workspace (floats): 8 MiB. */
enum { WS_FLOATS = 1 << 21 };

/* Runs per pixel the implicit GEMM handles (kernel rows, or taps when the
 * input's channels are not dense); larger kernels take im2col. */
enum { MAX_RUNS = 64 };

typedef struct ConvPlan {
  const RtConv2d *d;
  int in_cs, out_cs, groups;
  int cg, ocg;   /* input / output channels per group */
  long k;        /* GEMM depth: kh*kw*cg */
  long m;        /* GEMM rows: n*oh*ow output pixels */
  int direct;    /* 1x1, stride 1, unpadded: the input is the GEMM's A */
  const float *packed; /* the kernel packed per group, or NULL: OpenBLAS */
  long gplane;         /* packed floats per group */
  /* The implicit GEMM (packed kernels only): a pixel's K values are nseg
   * runs of seglen floats, run s at run_in[s] from its first tap in the
   * input, or at run_col[s] in its im2col row. Pixels whose taps all lie
   * inside the image are read in place; only the border is copied. */
  int implicit, nseg, seglen;
  long run_in[MAX_RUNS], run_col[MAX_RUNS];
} ConvPlan;

static int conv_plan(ConvPlan *p, const RtConv2d *d) {
  if (!d || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1 || d->oh < 1 ||
      d->ow < 1 || d->oc < 1 || d->kh < 1 || d->kw < 1 || d->sh < 1 ||
      d->sw < 1 || d->pad_top < 0 || d->pad_left < 0 || d->groups < 0)
    return 0;
  p->d = d;
  p->groups = d->groups ? d->groups : 1;
  p->in_cs = rtk_cs(d->in_cs, d->c);
  p->out_cs = rtk_cs(d->out_cs, d->oc);
  if (d->c % p->groups || d->oc % p->groups || p->in_cs < d->c ||
      p->out_cs < d->oc)
    return 0;
  p->cg = d->c / p->groups;
  p->ocg = d->oc / p->groups;
  p->k = (long)d->kh * d->kw * p->cg;
  p->m = (long)d->n * d->oh * d->ow;
  p->direct = d->kh == 1 && d->kw == 1 && d->sh == 1 && d->sw == 1 &&
              d->pad_top == 0 && d->pad_left == 0 && d->oh == d->h &&
              d->ow == d->w;
  p->packed = NULL;
  p->gplane = (long)rtk_gemm_packed_floats((int)p->k, p->ocg);
  p->implicit = 0;
  return 1;
}

/* Switches p to the implicit GEMM where it pays: a packed kernel, not the
 * direct case, and a pixel's K values in 2 to MAX_RUNS runs. A run is a
 * whole kernel row (kw * cg floats) when the input's channels are dense,
 * one tap's cg floats otherwise. One run (a strided 1x1 conv) is copied
 * whole by im2col at about the cost of the implicit GEMM's row tables
 * (measured on mobilenet_mini); from the stem on, im2col's many small
 * copies cost more (the 3-channel stem: 10% of its time). */
static void conv_plan_implicit(ConvPlan *p) {
  const RtConv2d *d = p->d;
  int rows_dense = p->in_cs == p->cg;
  p->nseg = rows_dense ? d->kh : d->kh * d->kw;
  if (!p->packed || p->direct || p->nseg < 2 || p->nseg > MAX_RUNS)
    return;
  p->implicit = 1;
  p->seglen = rows_dense ? d->kw * p->cg : p->cg;
  for (int s = 0; s < p->nseg; s++) {
    int ky = rows_dense ? s : s / d->kw, kx = rows_dense ? 0 : s % d->kw;
    p->run_in[s] = ((long)ky * d->w + kx) * p->in_cs;
    p->run_col[s] = (long)s * p->seglen;
  }
}

/* An output pixel, advanced one at a time in row-major order: two
 * divisions per pixel cost a third of a stem conv's im2col (perf). */
typedef struct PixelCursor {
  long b;
  int oy, ox;
} PixelCursor;

static PixelCursor pixel_at(const RtConv2d *d, long m) {
  long hw = (long)d->oh * d->ow, b = m / hw, rem = m - b * hw;
  int oy = (int)(rem / d->ow);
  return (PixelCursor){b, oy, (int)(rem - (long)oy * d->ow)};
}

static void pixel_next(const RtConv2d *d, PixelCursor *q) {
  if (++q->ox == d->ow) {
    q->ox = 0;
    if (++q->oy == d->oh) {
      q->oy = 0;
      q->b++;
    }
  }
}

/* True when every tap of the pixel lies inside the image. */
static int pixel_inside(const RtConv2d *d, const PixelCursor *q) {
  int iy0 = q->oy * d->sh - d->pad_top, ix0 = q->ox * d->sw - d->pad_left;
  return iy0 >= 0 && iy0 + d->kh <= d->h && ix0 >= 0 && ix0 + d->kw <= d->w;
}

/* The end of the output columns whose taps all lie inside the image's
 * columns: those from the first inside one up to (not including) it. */
static int inside_columns_end(const RtConv2d *d) {
  int b = d->w - d->kw + d->pad_left >= 0
              ? (d->w - d->kw + d->pad_left) / d->sw + 1 : 0;
  return b < d->ow ? b : d->ow;
}

/* How many pixels from q on, at most `left`, lie inside the image along
 * q's output row (0 when q does not): a row's inside pixels are taken in
 * one step, where testing each one cost more than copying the border. */
static long inside_run(const RtConv2d *d, const PixelCursor *q, int end,
                       long left) {
  if (!pixel_inside(d, q))
    return 0;
  return end - q->ox < left ? end - q->ox : left;
}

/* Groups of one input channel each are a depthwise conv with multiplier
 * oc/c, and the Keras kernels agree: [kh, kw, 1, c*mult] and
 * [kh, kw, c, mult] are the same floats in the same order. */
static int conv_is_depthwise(const ConvPlan *p) {
  return p->groups > 1 && p->cg == 1;
}

size_t rt_conv2d_workspace_min_floats(const RtConv2d *d) {
  ConvPlan p;
  if (!conv_plan(&p, d) || conv_is_depthwise(&p) || p.direct)
    return 0;
  return (size_t)p.k;
}

size_t rt_conv2d_workspace_floats(const RtConv2d *d) {
  ConvPlan p;
  if (!conv_plan(&p, d) || conv_is_depthwise(&p) || p.direct)
    return 0;
  long rows = WS_FLOATS / p.k;
  if (rows < 1)
    rows = 1;
  if (rows > p.m)
    rows = p.m;
  return (size_t)(rows * p.k);
}

/* n floats from src to dst. Up to 32 floats as one or two vector moves
 * that may run past n: over floats of dst that later copies of the same
 * im2col rows write (dst_end bounds it), from floats of the input before
 * src_end. memcpy's call per kernel row (9 floats in a 3-channel stem)
 * cost more than the stem's GEMM. (Not a loop: GCC turns a loop of vector
 * copies back into a call to memmove.) */
static inline void copy_run(float *restrict dst, const float *restrict src,
                            size_t n, const float *dst_end,
                            const float *src_end) {
  size_t vec = n <= 16 ? 16 : 32;
  if (n <= 32 && dst + vec <= dst_end && src + vec <= src_end) {
    VSTORE(dst, VLOAD(src));
    if (n > 16)
      VSTORE(dst + 16, VLOAD(src + 16));
  } else {
    memcpy(dst, src, n * sizeof *dst);
  }
}

/* n zeros at dst, the same way. */
static inline void zero_run(float *dst, size_t n, const float *dst_end) {
  const Vec16 zero = {0};
  size_t vec = n <= 16 ? 16 : 32;
  if (n <= 32 && dst + vec <= dst_end) {
    VSTORE(dst, zero);
    if (n > 16)
      VSTORE(dst + 16, zero);
  } else {
    memset(dst, 0, n * sizeof *dst);
  }
}

/* Rows [m0, m0+rows) of the im2col matrix of group g into col (row stride
 * k); with border_only, only the rows of pixels with a tap outside the
 * image (the implicit GEMM reads the others in place). Out-of-image taps
 * are zeros; runs of taps inside the image are copied, and when the
 * input is dense a whole kernel row (kw*cg floats) is one run. Rows are
 * written in order, each run's zeros and copy after the run before: a
 * copy that runs past its run (copy_run) is overwritten by what follows. */
RTK_CLONES
static void im2col(float *col, const float *in, const ConvPlan *p, long m0,
                   long rows, int g, int border_only) {
  /* Locals, not p's fields: the vector stores may alias anything, and
   * the compiler would read every field again after each. */
  const RtConv2d d = *p->d;
  const long k = p->k, in_cs = p->in_cs;
  const size_t cg = (size_t)p->cg, run_floats = (size_t)d.kw * cg;
  const int dense = (size_t)in_cs == cg;
  const float *col_end = col + rows * k;
  const float *in_end = in + (long)d.n * d.h * d.w * in_cs;
  const int in_end_x = inside_columns_end(&d);
  PixelCursor q = pixel_at(&d, m0);
  for (long r = 0; r < rows; r++, pixel_next(&d, &q)) {
    long skip = border_only ? inside_run(&d, &q, in_end_x, rows - r) : 0;
    if (skip) { /* the implicit GEMM reads these in place */
      r += skip - 1;
      q.ox += (int)skip - 1; /* pixel_next takes the last step */
      continue;
    }
    int iy0 = q.oy * d.sh - d.pad_top, ix0 = q.ox * d.sw - d.pad_left;
    int kx_lo = ix0 < 0 ? -ix0 : 0;
    int kx_hi = d.w - ix0 < d.kw ? d.w - ix0 : d.kw;
    const float *img = in + q.b * d.h * d.w * in_cs + (long)g * (long)cg;
    float *dst = col + r * k;
    for (int ky = 0; ky < d.kh; ky++, dst += run_floats) {
      int iy = iy0 + ky;
      if (iy < 0 || iy >= d.h || kx_lo >= kx_hi) {
        zero_run(dst, run_floats, col_end);
        continue;
      }
      if (kx_lo > 0)
        zero_run(dst, kx_lo * cg, col_end);
      const float *src = img + ((long)iy * d.w + ix0 + kx_lo) * in_cs;
      if (dense) {
        copy_run(dst + kx_lo * cg, src, (size_t)(kx_hi - kx_lo) * cg, col_end,
                 in_end);
      } else {
        for (int kx = kx_lo; kx < kx_hi; kx++, src += in_cs)
          memcpy(dst + kx * cg, src, cg * sizeof *dst);
      }
      if (kx_hi < d.kw)
        zero_run(dst + kx_hi * cg, (size_t)(d.kw - kx_hi) * cg, col_end);
    }
  }
}

/* The implicit GEMM's A for output pixels [m0, m0+rows) of group g: each
 * row at the pixel's first tap in the input, or, for a border pixel, at
 * its im2col row col + r*k (im2col with border_only wrote it). */
static void implicit_rows(const float **row, const long **seg, const float *col,
                          const float *in, const ConvPlan *p, long m0,
                          long rows, int g) {
  const RtConv2d d = *p->d; /* in registers: see im2col */
  const long in_cs = p->in_cs, k = p->k;
  const long *run_in = p->run_in, *run_col = p->run_col;
  const float *in_g = in + (long)g * p->cg;
  const int in_end_x = inside_columns_end(&d);
  const long step = (long)d.sw * in_cs;
  PixelCursor q = pixel_at(&d, m0);
  for (long r = 0; r < rows; r++, pixel_next(&d, &q)) {
    long n = inside_run(&d, &q, in_end_x, rows - r);
    if (n) { /* inside pixels, one step apart in the input */
      int iy0 = q.oy * d.sh - d.pad_top, ix0 = q.ox * d.sw - d.pad_left;
      const float *a = in_g + ((q.b * d.h + iy0) * d.w + ix0) * in_cs;
      for (long j = 0; j < n; j++, a += step) {
        row[r + j] = a;
        seg[r + j] = run_in;
      }
      r += n - 1;
      q.ox += (int)n - 1; /* pixel_next takes the last step */
      continue;
    }
    row[r] = col + r * k;
    seg[r] = run_col;
  }
}

/* One GEMM: output rows [m0, m0+rows), columns [col0, col0+cols) of group
 * g, from A (the im2col tile or the input itself, row stride lda; or the
 * implicit GEMM's rows when ra is not NULL), with the epilogue (in the
 * packed GEMM's registers, or on the block while it is in cache). */
static void conv_gemm(const ConvPlan *p, float *out, const float *a, long lda,
                      const GemmRows *ra, const float *kernel,
                      const RtEpilogue *ep, long m0, long rows, int g,
                      int col0, int cols) {
  int oc0 = g * p->ocg + col0;
  float *c = out + m0 * p->out_cs + oc0;
  if (p->packed) { /* col0 is a multiple of GEMM_NR: whole panels */
    const float *bp = p->packed + g * p->gplane + (long)col0 * p->k;
    if (ra)
      rtk_gemm_packed_rows_ep(c, p->out_cs, ra, bp, (int)rows, cols,
                              (int)p->k, ep, m0, oc0);
    else
      rtk_gemm_packed_ep(c, p->out_cs, a, lda, bp, (int)rows, cols,
                         (int)p->k, ep, m0, oc0);
    return;
  }
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, cols,
              (int)p->k, 1.0f, a, (int)lda, kernel + oc0, p->d->oc, 0.0f, c,
              p->out_cs);
  rtk_epilogue_tile(c, p->out_cs, ep, m0, oc0, rows, cols);
}

/* A of one row tile: the direct conv's input, the im2col tile in col, or
 * the implicit GEMM's rows (tables of TILE_MAX_ROWS entries, the border
 * copied into col). */
typedef struct TileA {
  const float *a;
  long lda;
  GemmRows rows;
  int implicit;
} TileA;

/* Fills t for rows [m0, m0+rows) of group g; copies (im2col or the
 * implicit GEMM's border) only when copy is set, for callers whose
 * threads share one copy. */
static void tile_a(TileA *t, const float **row, const long **seg, float *col,
                   const float *in, const ConvPlan *p, long m0, long rows,
                   int g, int copy) {
  t->implicit = p->implicit;
  if (p->direct) {
    t->a = in + m0 * p->in_cs + (long)g * p->cg;
    t->lda = p->in_cs;
  } else if (p->implicit) {
    if (copy)
      im2col(col, in, p, m0, rows, g, 1);
    implicit_rows(row, seg, col, in, p, m0, rows, g);
    t->rows = (GemmRows){.row = row, .seg = seg, .seglen = p->seglen};
  } else {
    if (copy)
      im2col(col, in, p, m0, rows, g, 0);
    t->a = col;
    t->lda = p->k;
  }
}

/* Enough output pixels for every thread: each takes whole row tiles (its
 * own slice of ws), so im2col, GEMM and epilogue of a tile all run on one
 * core out of its cache. */
static void row_tiles_share(const ConvPlan *p, float *out, const float *in,
                            const float *kernel, const RtEpilogue *ep,
                            float *ws, int parts, long tile, long ntiles) {
  float *col = p->direct ? NULL : ws + (long)omp_get_thread_num() * tile * p->k;
  const float *row[TILE_MAX_ROWS];
  const long *seg[TILE_MAX_ROWS];
  long lo, hi;
  rtk_share(ntiles, parts, &lo, &hi);
  for (long t = lo; t < hi; t++) {
    long m0 = t * tile, rows = p->m - m0 < tile ? p->m - m0 : tile;
    for (int g = 0; g < p->groups; g++) {
      TileA a;
      tile_a(&a, row, seg, col, in, p, m0, rows, g, 1);
      conv_gemm(p, out, a.a, a.lda, a.implicit ? &a.rows : NULL, kernel, ep,
                m0, rows, g, 0, p->ocg);
    }
  }
}

static void conv_row_tiles(const RtContext *ctx, const ConvPlan *p, float *out,
                           const float *in, const float *kernel,
                           const RtEpilogue *ep, float *ws, int threads,
                           long tile) {
  long ntiles = (p->m + tile - 1) / tile;
  ntiles = (ntiles + threads - 1) / threads * threads; /* equal shares */
  tile = (p->m + ntiles - 1) / ntiles;
  ntiles = (p->m + tile - 1) / tile;
  RTK_TEAM(ctx, threads,
           row_tiles_share(p, out, in, kernel, ep, ws, threads, tile, ntiles));
}

/* Few output pixels (small images at batch 1): threads share each row tile
 * and split the output channels instead. */
static void col_blocks_share(const ConvPlan *p, float *out, const float *in,
                             const float *kernel, const RtEpilogue *ep,
                             float *ws, int parts, long tile, int bw, int nb) {
  const float *row[TILE_MAX_ROWS];
  const long *seg[TILE_MAX_ROWS];
  long lo, hi;
  for (long m0 = 0; m0 < p->m; m0 += tile) {
    long rows = p->m - m0 < tile ? p->m - m0 : tile;
    for (int g = 0; g < p->groups; g++) {
      if (!p->direct) { /* the threads copy a share of rows each */
        if (rtk_share(rows, parts, &lo, &hi))
          im2col(ws + lo * p->k, in, p, m0 + lo, hi - lo, g, p->implicit);
        RTK_SYNC();
      }
      TileA a;
      tile_a(&a, row, seg, ws, in, p, m0, rows, g, 0);
      for (rtk_share(nb, parts, &lo, &hi); lo < hi; lo++) {
        int c0 = (int)lo * bw, cols = p->ocg - c0 < bw ? p->ocg - c0 : bw;
        conv_gemm(p, out, a.a, a.lda, a.implicit ? &a.rows : NULL, kernel, ep,
                  m0, rows, g, c0, cols);
      }
      /* Before the next im2col overwrites ws (RTK_TEAM ends the last) */
      if (m0 + tile < p->m || g + 1 < p->groups)
        RTK_SYNC();
    }
  }
}

static void conv_col_blocks(const RtContext *ctx, const ConvPlan *p,
                            float *out, const float *in, const float *kernel,
                            const RtEpilogue *ep, float *ws, int threads,
                            long tile) {
  /* Blocks of whole 16-float vectors, or of whole panels when packed. */
  int unit = p->packed ? GEMM_NR : 16;
  int nb = (p->ocg + unit - 1) / unit;
  if (nb > threads)
    nb = threads;
  int bw = (p->ocg + nb - 1) / nb;
  bw = (bw + unit - 1) / unit * unit;
  nb = (p->ocg + bw - 1) / bw;
  if (tile > TILE_MAX_ROWS)
    tile = TILE_MAX_ROWS;
  RTK_TEAM(ctx, threads,
           col_blocks_share(p, out, in, kernel, ep, ws, threads, tile, bw, nb));
}

size_t rt_conv2d_packed_kernel_floats(int k, int oc, int groups) {
  if (k < 1 || oc < 1 || groups < 1 || oc % groups)
    return 0;
  return (size_t)groups * rtk_gemm_packed_floats(k, oc / groups);
}

RtStatus rt_conv2d_pack_kernel(float *packed, const float *kernel, int k,
                               int oc, int groups) {
  if (!packed || !kernel || !rt_conv2d_packed_kernel_floats(k, oc, groups))
    return RT_ERR_ARG;
  int ocg = oc / groups;
  long gplane = (long)rtk_gemm_packed_floats(k, ocg);
  for (int g = 0; g < groups; g++)
    rtk_gemm_pack_b(packed + g * gplane, kernel + (long)g * ocg, oc, k, ocg);
  return RT_OK;
}

static RtStatus conv_run(const RtContext *ctx, float *out, const float *in,
                         const float *kernel, const float *packed,
                         const RtEpilogue *ep, const RtConv2d *d, float *ws,
                         size_t ws_floats);

RtStatus rt_conv2d(const RtContext *ctx, float *out, const float *in,
                   const float *kernel, const RtEpilogue *ep, const RtConv2d *d,
                   float *ws, size_t ws_floats) {
  if (!kernel)
    return RT_ERR_ARG;
  return conv_run(ctx, out, in, kernel, NULL, ep, d, ws, ws_floats);
}

RtStatus rt_conv2d_packed(const RtContext *ctx, float *out, const float *in,
                          const float *packed, const RtEpilogue *ep,
                          const RtConv2d *d, float *ws, size_t ws_floats) {
  if (!packed)
    return RT_ERR_ARG;
  return conv_run(ctx, out, in, NULL, packed, ep, d, ws, ws_floats);
}

static RtStatus conv_run(const RtContext *ctx, float *out, const float *in,
                         const float *kernel, const float *packed,
                         const RtEpilogue *ep, const RtConv2d *d, float *ws,
                         size_t ws_floats) {
  ConvPlan p;
  if (!out || !in || !conv_plan(&p, d))
    return RT_ERR_ARG;
  p.packed = packed;
  conv_plan_implicit(&p);
  if (conv_is_depthwise(&p)) {
    if (!kernel) /* a depthwise-shaped conv has nothing to pack */
      return RT_ERR_ARG;
    RtDwConv2d dw = {
        .n = d->n, .h = d->h, .w = d->w, .c = d->c, .in_cs = p.in_cs,
        .oh = d->oh, .ow = d->ow, .out_cs = p.out_cs,
        .kh = d->kh, .kw = d->kw, .sh = d->sh, .sw = d->sw,
        .pad_top = d->pad_top, .pad_left = d->pad_left,
        .multiplier = p.ocg,
    };
    return rt_dwconv2d(ctx, out, in, kernel, ep, &dw);
  }
  int threads = rtk_threads(ctx);
  if (packed && rtk_conv_stem_fits(d)) { /* after depthwise: one group */
    rtk_conv_stem(ctx, out, in, packed, ep, d, threads);
    return RT_OK;
  }
  long slots = p.m; /* im2col rows the workspace holds */
  if (!p.direct) {
    if (!ws || ws_floats < (size_t)p.k)
      return RT_ERR_ARG;
    slots = (long)(ws_floats / (size_t)p.k);
  }
  if (!packed)
    rtk_blas_single();

  long tile = TILE_FLOATS / p.k;
  if (tile > TILE_MAX_ROWS)
    tile = TILE_MAX_ROWS;
  if (tile < TILE_MIN_ROWS)
    tile = TILE_MIN_ROWS;
  if (p.m < (long)threads * ROW_SPLIT_MIN_ROWS && threads > 1) {
    conv_col_blocks(ctx, &p, out, in, kernel, ep, ws, threads,
                    slots < p.m ? slots : p.m);
    return RT_OK;
  }
  if (slots < threads)
    threads = (int)slots;
  if (tile > slots / threads)
    tile = slots / threads;
  conv_row_tiles(ctx, &p, out, in, kernel, ep, ws, threads, tile);
  return RT_OK;
}
