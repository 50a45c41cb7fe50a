/* The vector kernels of dwconv2d.c, written once over a vector of DW_W
 * floats and included once per variant (kernels_internal.h, "Vector-width
 * variants"); no include guard on purpose. The buffers keep their
 * 16-channel columns (LANES) either way: a kernel takes a column's lanes
 * in parts of DW_W (FOR_PARTS: one part of 16 with AVX-512, two of 8
 * with AVX2, four of 4 otherwise), every vector load and store offset by the
 * part's first lane. The includer defines DW_NAME(f) (the variant's name
 * for f), DW_ATTR (its target attribute), DW_V, DW_VU, DW_VI (the vector,
 * its unaligned may_alias twin, its integer twin) and DW_W (its lanes),
 * and DwPlan, LANES, pre_apply and pooled; this file undefines its
 * parameters at its end. */

#define FOR_PARTS for (int h_ = 0; h_ < LANES; h_ += DW_W)
#define DLOAD(p) (*(const DW_VU *)((p) + h_))
#define DSTORE(p, x) (*(DW_VU *)((p) + h_) = (x))
#define DSELECT(mask, a, b) VSELECT_T(DW_V, DW_VI, mask, a, b)
#define DACT(v, act, alpha) VACT_T(DW_V, DW_VI, v, act, alpha)

/* Pooled input row iy, n columns from ix, channels [c0, c0 + cn) into o
 * (16 floats a column, zero past cn): each a max over its window. */
DW_ATTR
static void DW_NAME(dw_pool_row)(float *restrict o, const float *restrict img,
                                 const DwPlan *p, int iy, int ix, int n, int c0,
                                 int cn) {
  long cs = p->in_cs, row = (long)p->src_w * cs, step = (long)p->pool * cs;
  const float *q = img + ((long)iy * p->pool * p->src_w + (long)ix * p->pool) * cs + c0;
  for (int x = 0; x < n; x++, q += step) {
    if (cn == LANES) {
      FOR_PARTS {
        DW_V m = DLOAD(q);
        for (int dy = 0; dy < p->pool; dy++)
          for (int dx = 0; dx < p->pool; dx++) {
            DW_V v = DLOAD(q + dy * row + dx * cs);
            m = DSELECT(v > m, v, m);
          }
        DSTORE(o + x * LANES, m);
      }
    } else {
      for (int j = 0; j < LANES; j++)
        o[x * LANES + j] = j < cn ? pooled(p, img, iy, ix + x, c0 + j) : 0.0f;
    }
  }
}

/* Input row iy, columns [ix0, ix0 + p->ring_w), channels [c0, c0 + cn) of
 * image img into dst (ring_w x 16 floats): zero outside the image and past
 * cn, the pre-activation (scale s, shift t) applied inside. The columns
 * inside the image are one tight loop per case: with the bounds checks
 * and the activation's switch inside it, filling cost as much as the taps
 * (perf). */
DW_ATTR
static void DW_NAME(dw_fill_row)(float *restrict dst, const float *restrict img,
                                 const DwPlan *p, int iy, int ix0, int c0,
                                 int cn, const float *restrict s,
                                 const float *restrict t) {
  const RtDwConv2d *d = p->d;
  const RtPreact *pre = p->pre;
  int xa = ix0 < 0 ? -ix0 : 0, xb = d->w - ix0;
  if (xb > p->ring_w)
    xb = p->ring_w;
  const DW_V zero = {0};
  if (iy < 0 || iy >= d->h || xb <= xa) {
    FOR_PARTS {
      for (int x = 0; x < p->ring_w; x++)
        DSTORE(dst + x * LANES, zero);
    }
    return;
  }
  /* A column or two of padding: vector stores, where memset's call cost
   * as much as the copy on 8x8 maps (perf). */
  FOR_PARTS {
    for (int x = 0; x < xa; x++)
      DSTORE(dst + x * LANES, zero);
    for (int x = xb; x < p->ring_w; x++)
      DSTORE(dst + x * LANES, zero);
  }
  const float *src = img + ((long)iy * d->w + ix0 + xa) * p->in_cs + c0;
  float *o = dst + (long)xa * LANES;
  int n = xb - xa;
  long cs = p->in_cs;
  if (p->pool > 1) { /* pooled into the buffer, then mapped in place */
    DW_NAME(dw_pool_row)(o, img, p, iy, ix0 + xa, n, c0, cn);
    if (!pre->scale && !pre->shift && pre->act == RT_ACT_LINEAR)
      return;
    src = o;
    cs = LANES;
  }
  if (cn == LANES && !pre) {
    FOR_PARTS {
      for (int x = 0; x < n; x++)
        DSTORE(o + x * LANES, DLOAD(src + x * cs));
    }
  } else if (cn == LANES && pre->act == RT_ACT_RELU) {
    FOR_PARTS {
      const DW_V sv = DLOAD(s), tv = DLOAD(t);
      for (int x = 0; x < n; x++) {
        DW_V v = DLOAD(src + x * cs) * sv + tv;
        DSTORE(o + x * LANES, DSELECT(v > zero, v, zero));
      }
    }
  } else if (cn == LANES && vec_act_supported(pre->act)) {
    FOR_PARTS {
      const DW_V sv = DLOAD(s), tv = DLOAD(t);
      for (int x = 0; x < n; x++) {
        DW_V v = DLOAD(src + x * cs) * sv + tv;
        DACT(v, pre->act, pre->alpha);
        DSTORE(o + x * LANES, v);
      }
    }
  } else {
    for (int x = 0; x < n; x++)
      for (int j = 0; j < LANES; j++)
        o[x * LANES + j] =
            j < cn ? (pre ? pre_apply(pre, c0 + j, src[x * cs + j]) : src[x * cs + j])
                   : 0.0f;
  }
}

/* Bias added, then residual, activation and store of one accumulator, in
 * registers. */
#define DW_STORE_FAST(o, acc, res)                                             \
  do {                                                                         \
    if (res)                                                                   \
      (acc) += DLOAD(res);                                                     \
    DACT(acc, act, alpha);                                                     \
    DSTORE(o, acc);                                                            \
  } while (0)

/* 3x3 taps of output pixel x into acc (which holds the bias). */
#define DW_3X3(acc, x)                                                         \
  do {                                                                         \
    long o_ = (long)(x) * step;                                                \
    (acc) += DLOAD(r0 + o_) * w0;                                              \
    (acc) += DLOAD(r0 + o_ + 16) * w1;                                         \
    (acc) += DLOAD(r0 + o_ + 32) * w2;                                         \
    (acc) += DLOAD(r1 + o_) * w3;                                              \
    (acc) += DLOAD(r1 + o_ + 16) * w4;                                         \
    (acc) += DLOAD(r1 + o_ + 32) * w5;                                         \
    (acc) += DLOAD(r2 + o_) * w6;                                              \
    (acc) += DLOAD(r2 + o_ + 16) * w7;                                         \
    (acc) += DLOAD(r2 + o_ + 32) * w8;                                         \
  } while (0)

#define DW_PIXEL_OUT(acc, x)                                                   \
  DW_STORE_FAST(orow + (long)(x) * p->out_cs, acc,                             \
                resrow ? resrow + (long)(x) * res_cs : NULL)

/* One output row of a strip for a 3x3 kernel, 16 whole channels and an
 * activation VACT applies: rows[ky] is the buffered input row of tap row
 * ky, its column 0 the strip's first input column; the nine weight
 * vectors are at w, ws floats apart; bias is the bias vector. They stay in
 * registers; eight pixels at a time keep eight FMA chains in flight (one
 * chain is nine FMAs long, each waiting for the last). */
static inline __attribute__((always_inline)) void
DW_NAME(dw_row_3x3_step)(float *restrict orow, const float *restrict resrow,
                         const float *const *rows, const float *restrict w,
                         long ws, const float *restrict bias, const DwPlan *p,
                         int nx, long step) {
  RtAct act = p->act;
  float alpha = p->alpha;
  long res_cs = p->res_cs;
  FOR_PARTS {
    DW_V b = DLOAD(bias);
    DW_V w0 = DLOAD(w), w1 = DLOAD(w + ws), w2 = DLOAD(w + 2 * ws);
    DW_V w3 = DLOAD(w + 3 * ws), w4 = DLOAD(w + 4 * ws), w5 = DLOAD(w + 5 * ws);
    DW_V w6 = DLOAD(w + 6 * ws), w7 = DLOAD(w + 7 * ws), w8 = DLOAD(w + 8 * ws);
    const float *r0 = rows[0], *r1 = rows[1], *r2 = rows[2];
    int x = 0;
    for (; x + 8 <= nx; x += 8) {
      DW_V a0 = b, a1 = b, a2 = b, a3 = b, a4 = b, a5 = b, a6 = b, a7 = b;
      DW_3X3(a0, x);
      DW_3X3(a1, x + 1);
      DW_3X3(a2, x + 2);
      DW_3X3(a3, x + 3);
      DW_3X3(a4, x + 4);
      DW_3X3(a5, x + 5);
      DW_3X3(a6, x + 6);
      DW_3X3(a7, x + 7);
      DW_PIXEL_OUT(a0, x);
      DW_PIXEL_OUT(a1, x + 1);
      DW_PIXEL_OUT(a2, x + 2);
      DW_PIXEL_OUT(a3, x + 3);
      DW_PIXEL_OUT(a4, x + 4);
      DW_PIXEL_OUT(a5, x + 5);
      DW_PIXEL_OUT(a6, x + 6);
      DW_PIXEL_OUT(a7, x + 7);
    }
    for (; x + 2 <= nx; x += 2) {
      DW_V a0 = b, a1 = b;
      DW_3X3(a0, x);
      DW_3X3(a1, x + 1);
      DW_PIXEL_OUT(a0, x);
      DW_PIXEL_OUT(a1, x + 1);
    }
    if (x < nx) {
      DW_V a0 = b;
      DW_3X3(a0, x);
      DW_PIXEL_OUT(a0, x);
    }
  }
}

/* Stride 1 apart: with the step a constant, the eight pixels' taps share
 * their loads (10 columns a row, not 24). */
DW_ATTR
static void DW_NAME(dw_row_3x3)(float *restrict orow,
                                const float *restrict resrow,
                                const float *const *rows,
                                const float *restrict w, long ws,
                                const float *restrict bias, const DwPlan *p,
                                int nx) {
  if (p->d->sw == 1)
    DW_NAME(dw_row_3x3_step)(orow, resrow, rows, w, ws, bias, p, nx, LANES);
  else
    DW_NAME(dw_row_3x3_step)(orow, resrow, rows, w, ws, bias, p, nx,
                             (long)p->d->sw * LANES);
}

/* The same for any kernel, channel count and activation: one pixel at a
 * time, the epilogue per value. */
DW_ATTR
static void DW_NAME(dw_row_any)(float *restrict orow,
                                const float *restrict resrow,
                                const float *const *rows,
                                const float *restrict w, long ws,
                                const float *restrict bias, const DwPlan *p,
                                int nx, int cn) {
  const RtDwConv2d *d = p->d;
  for (int x = 0; x < nx; x++) {
    float v[LANES];
    FOR_PARTS {
      DW_V acc = DLOAD(bias);
      for (int ky = 0; ky < d->kh; ky++) {
        const float *r = rows[ky] + (long)x * d->sw * LANES;
        const float *wk = w + ky * d->kw * ws;
        for (int kx = 0; kx < d->kw; kx++)
          acc += DLOAD(r + kx * LANES) * DLOAD(wk + kx * ws);
      }
      DSTORE(v, acc);
    }
    float *o = orow + (long)x * p->out_cs;
    const float *res = resrow ? resrow + (long)x * p->res_cs : NULL;
    for (int j = 0; j < cn; j++)
      o[j] = rt_act_apply(p->act, p->alpha, res ? v[j] + res[j] : v[j]);
  }
}

/* Input rows [iy0, iy0 + rows) of image b, columns [-pad_left, ring_w -
 * pad_left), into planes of 16 channels: plane cb, row r, column x at
 * buf[((cb * rows + r) * ring_w + x) * 16]. Zero outside the image. */
DW_ATTR
static void DW_NAME(dw_small_fill)(float *restrict buf,
                                   const float *restrict img, const DwPlan *p,
                                   int iy0, int rows) {
  const RtDwConv2d *d = p->d;
  const RtPreact *pre = p->pre;
  long plane = (long)rows * p->ring_w * LANES;
  long cs = p->in_cs, src_row = (long)p->src_w * cs;
  const DW_V zero = {0};
  int relu_map = pre && pre->scale && pre->shift && pre->act == RT_ACT_RELU;
  for (int r = 0; r < rows; r++) {
    int iy = iy0 + r;
    for (int x = 0; x < p->ring_w; x++) {
      int ix = x - d->pad_left;
      float *o = buf + ((long)r * p->ring_w + x) * LANES;
      if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w) {
        for (int cb = 0; cb < p->ncb; cb++)
          FOR_PARTS DSTORE(o + cb * plane, zero);
        continue;
      }
      const float *q = img + ((long)iy * p->pool * p->src_w + (long)ix * p->pool) * cs;
      if (p->pool == 1 && relu_map) { /* the book's bn -> relu: no branches */
        for (int cb = 0; cb < p->ncb; cb++)
          FOR_PARTS {
            DW_V v = DLOAD(q + cb * LANES) * DLOAD(pre->scale + cb * LANES) +
                     DLOAD(pre->shift + cb * LANES);
            DSTORE(o + cb * plane, DSELECT(v > zero, v, zero));
          }
        continue;
      }
      for (int cb = 0; cb < p->ncb; cb++) FOR_PARTS {
        const float *qc = q + cb * LANES;
        DW_V v = DLOAD(qc);
        if (p->pool > 1)
          for (int dy = 0; dy < p->pool; dy++)
            for (int dx = 0; dx < p->pool; dx++) {
              DW_V u = DLOAD(qc + dy * src_row + dx * cs);
              v = DSELECT(u > v, u, v);
            }
        if (pre) {
          if (pre->scale)
            v *= DLOAD(pre->scale + cb * LANES);
          if (pre->shift)
            v += DLOAD(pre->shift + cb * LANES);
          DACT(v, pre->act, pre->alpha);
        }
        DSTORE(o + cb * plane, v);
      }
    }
  }
}

/* Output rows [oy0, oy1) of image b from the planes dw_small_fill made of
 * input rows from oy0 * sh - pad_top on. */
DW_ATTR
static void DW_NAME(dw_small_conv)(float *out, const float *restrict buf,
                                   const float *restrict kernel,
                                   const DwPlan *p, int b, int oy0, int oy1,
                                   int rows) {
  const RtDwConv2d *d = p->d;
  long plane = (long)rows * p->ring_w * LANES, rstride = (long)p->ring_w * LANES;
  long xstep = (long)d->sw * LANES, c = p->oc;
  const float *bias = p->ep ? p->ep->bias : NULL;
  const float *residual = p->ep ? p->ep->residual : NULL;
  RtAct act = p->act;
  float alpha = p->alpha;
  for (int cb = 0; cb < p->ncb; cb++) FOR_PARTS {
    const float *w = kernel + cb * LANES;
    const DW_V w0 = DLOAD(w), w1 = DLOAD(w + c), w2 = DLOAD(w + 2 * c);
    const DW_V w3 = DLOAD(w + 3 * c), w4 = DLOAD(w + 4 * c), w5 = DLOAD(w + 5 * c);
    const DW_V w6 = DLOAD(w + 6 * c), w7 = DLOAD(w + 7 * c), w8 = DLOAD(w + 8 * c);
    DW_V bv = {0};
    if (bias)
      bv = DLOAD(bias + cb * LANES);
    for (int oy = oy0; oy < oy1; oy++) {
      const float *r0 = buf + cb * plane + (long)(oy - oy0) * d->sh * rstride;
      const float *r1 = r0 + rstride, *r2 = r1 + rstride;
      long pix = ((long)b * d->oh + oy) * d->ow;
      float *o = out + (pix - p->out_pix0) * p->out_cs + cb * LANES;
      const float *res = residual ? residual + pix * p->res_cs + cb * LANES : NULL;
      for (int ox = 0; ox < d->ow; ox++, o += p->out_cs) {
        long x = ox * xstep;
        DW_V a = bv;
        a += DLOAD(r0 + x) * w0;
        a += DLOAD(r0 + x + LANES) * w1;
        a += DLOAD(r0 + x + 2 * LANES) * w2;
        a += DLOAD(r1 + x) * w3;
        a += DLOAD(r1 + x + LANES) * w4;
        a += DLOAD(r1 + x + 2 * LANES) * w5;
        a += DLOAD(r2 + x) * w6;
        a += DLOAD(r2 + x + LANES) * w7;
        a += DLOAD(r2 + x + 2 * LANES) * w8;
        if (res)
          a += DLOAD(res + (long)ox * p->res_cs);
        DACT(a, act, alpha);
        DSTORE(o, a);
      }
    }
  }
}

static const DwKernels DW_NAME(dw_kernels) = {
    DW_NAME(dw_fill_row), DW_NAME(dw_row_3x3), DW_NAME(dw_row_any),
    DW_NAME(dw_small_fill), DW_NAME(dw_small_conv)};

#undef FOR_PARTS
#undef DLOAD
#undef DSTORE
#undef DSELECT
#undef DACT
#undef DW_STORE_FAST
#undef DW_3X3
#undef DW_PIXEL_OUT
#undef DW_NAME
#undef DW_ATTR
#undef DW_V
#undef DW_VU
#undef DW_VI
#undef DW_W
