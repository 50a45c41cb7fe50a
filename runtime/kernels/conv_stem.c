/* Direct convolution for convs whose output values take few multiply-adds
 * each (K = kh*kw*cin up to STEM_MAX_K): stems, a 3x3 conv on the 1 or 3
 * channels of an image, and strided 1x1 convs such as resnet_mini's
 * shortcuts.
 *
 * Why not the implicit GEMM (conv2d.c): at K = 9 or 27 a 6 x 32 register
 * block does 108 or 324 FMAs, and its row tables, runs of 3 or 9 taps and
 * epilogue cost as much again. mnist_cnn's stem ran at 38% of the SGEMM
 * peak and the 3-channel stems at 51% to 55% inside the models (batch 64,
 * 2 threads), where every other conv layer but the strided 1x1 ones (40%
 * to 64%, im2col's copy of every pixel and a GEMM of K = 32 or 64) ran at
 * 60% or more.
 *
 * How: a thread takes a band of output rows, copies the input rows under
 * it into a zero-padded window on its stack (the padding is the window's
 * zeros: no border case, no tables), then computes blocks of up to
 * STEM_PX_WIDE (AVX-512) or STEM_PX_NARROW (AVX2) pixels of one output row by one packed panel of 32 channels in
 * registers, per tap two kernel vectors loaded and one input value
 * broadcast per pixel. Convs with nothing to pad whose kernel rows are
 * runs in the input (stem_in_place) read their taps in place instead.
 * The sums start at the bias; residual and piecewise-linear activation
 * are applied before the store. The kernel is
 * the packed B of rt_conv2d_pack_kernel (gemm_packed.c's panels). This
 * file is compiled with -ffp-contract=fast: acc += b * s is one FMA. */
#include <string.h>

#include "kernels_internal.h"
#include "vec16.h"
#include "vec8x2.h"

/* Pixels a block takes, by 32 channels. With AVX-512, STEM_PX_WIDE: 24
 * zmm sums of 32's registers. With AVX2 (16 registers of 8 floats),
 * STEM_PX_NARROW, each sum two 8-float halves, 12 registers:
 * cifar_bn_cnn's stem in the AVX2 build 0.47-0.79 ms -> 0.42-0.45 against
 * blocks of 8 (batch 8, one thread; 2 or 4 pixels: 0.46-0.56, 0.48-0.51).
 * The window (on the stack) holds at least kh input rows. */
enum {
  STEM_MAX_K = 64,
  STEM_PX_WIDE = 12, /* stem_block.h's SB_PX below */
  STEM_PX_NARROW = 3,
  STEM_WINDOW_FLOATS = 8192
};

typedef struct Stem {
  const RtConv2d *d;
  float *out;
  const float *in, *packed;
  const RtEpilogue *ep;
  int in_cs, out_cs;
  int in_place;    /* taps read in the input, no window (stem_in_place) */
  int wp;          /* window columns: (ow - 1) * sw + kw */
  long row_floats; /* one row of the window (wp * c) or input (w * in_cs) */
  long step;       /* floats from one output pixel's taps to the next's */
  int band;        /* output rows per window */
  int wide;        /* the 16-float blocks (rtk_vec_width() 16) */
  int max_px;      /* pixels per block: STEM_PX_WIDE or STEM_PX_NARROW */
  int vec_act;     /* the activation is applied in registers */
  /* The bias of the last panel, padded with zeros to GEMM_NR (all of it
   * zeros when there is no bias): full panels read ep->bias in place. */
  float bias_tail[GEMM_NR];
} Stem;

/* The epilogue of one block, offset to its first pixel and channel. */
typedef struct StemEpilogue {
  const float *bias; /* GEMM_NR floats (a partial panel's padded copy) */
  const float *res;
  long res_ld;
  RtAct act; /* RT_ACT_LINEAR when applied after the store */
  float alpha;
} StemEpilogue;

/* Whether d's taps can be read where they lie in the input: no padding,
 * every tap inside, and each kernel row of a pixel one run (dense
 * channels, or one tap per kernel row): the strided 1x1 convs of
 * resnet_mini's shortcuts, whose input a window would copy whole for a
 * quarter of its pixels. */
static int stem_in_place(const RtConv2d *d) {
  return d->pad_top == 0 && d->pad_left == 0 &&
         (long)(d->oh - 1) * d->sh + d->kh <= d->h &&
         (long)(d->ow - 1) * d->sw + d->kw <= d->w &&
         (d->kw == 1 || rtk_cs(d->in_cs, d->c) == d->c);
}

int rtk_conv_stem_fits(const RtConv2d *d) {
  long k = (long)d->kh * d->kw * d->c;
  long wp = (long)(d->ow - 1) * d->sw + d->kw;
  /* conv2d.c's GEMM on the input itself: nothing to copy or skip. */
  int gemm_in_place = d->kh == 1 && d->kw == 1 && d->sh == 1 &&
                      d->sw == 1 && d->pad_top == 0 && d->pad_left == 0 &&
                      d->oh == d->h && d->ow == d->w;
  /* Its sums are 8-float halves (vec8x2.h), which GCC keeps in memory
   * where vectors are 4 floats: the GEMM's 4-float variant does better
   * there. */
  if ((d->groups != 0 && d->groups != 1) || k > STEM_MAX_K ||
      gemm_in_place || rtk_vec_width() < 8)
    return 0;
  return stem_in_place(d) || (long)d->kh * wp * d->c <= STEM_WINDOW_FLOATS;
}

/* The input rows under output rows [oy0, oy0 + rows) of one image into
 * win: window column x is input column x - pad_left, zero outside. */
static void stem_window(float *win, const float *img, const Stem *s, int oy0,
                        int rows) {
  const RtConv2d *d = s->d;
  const size_t c = (size_t)d->c;
  int iy0 = oy0 * d->sh - d->pad_top, nrows = (rows - 1) * d->sh + d->kh;
  /* Window columns that hold input columns: [x_lo, x_hi). */
  int x_lo = d->pad_left < s->wp ? d->pad_left : s->wp;
  int x_hi = d->pad_left + d->w < s->wp ? d->pad_left + d->w : s->wp;
  for (int y = 0; y < nrows; y++) {
    float *dst = win + y * s->row_floats;
    int iy = iy0 + y;
    if (iy < 0 || iy >= d->h) {
      memset(dst, 0, (size_t)s->row_floats * sizeof *dst);
      continue;
    }
    const float *src = img + (long)iy * d->w * s->in_cs;
    memset(dst, 0, x_lo * c * sizeof *dst);
    if ((size_t)s->in_cs == c) {
      memcpy(dst + x_lo * c, src, (size_t)(x_hi - x_lo) * c * sizeof *dst);
    } else {
      for (int x = x_lo; x < x_hi; x++, src += s->in_cs)
        memcpy(dst + x * c, src, c * sizeof *dst);
    }
    memset(dst + x_hi * c, 0, (size_t)(s->wp - x_hi) * c * sizeof *dst);
  }
}

/* stem_block, the register kernel, per vector width (stem_block.h): for
 * AVX-512 16-float sums, one zmm each; elsewhere 8-float halves
 * (vec8x2.h), which GCC keeps in registers on AVX2 too. The halves were
 * as fast on Zen 4, whose zmm FMAs are two ymm ones, and half as fast on
 * an Emerald Rapids Xeon, whose two FMA ports take zmm: mnist_cnn's stem
 * there ran at 38% of the SGEMM peak. */
#define SB_NAME(f) f
#define SB_ATTR RTK_CLONES
#define SB_T Vec16x2
#define SB_PX 3
#define SB_LOAD(v, p) V2LOAD(v, p)
#define SB_STORE(p, v) V2STORE(p, v)
#define SB_FMA(acc, b, s) V2FMA(acc, b, s)
#define SB_ADD_AT(acc, p) V2ADD_AT(acc, p)
#define SB_ACT(v, act, alpha) V2ACT(v, act, alpha)
#include "stem_block.h"

#if RTK_HAS_WIDE
#define SB_NAME(f) f##_wide
#define SB_ATTR RTK_WIDE_TARGET
#define SB_T Vec16
#define SB_PX 12
#define SB_LOAD(v, p) ((v) = VLOAD(p))
#define SB_STORE(p, v) VSTORE(p, v)
#define SB_FMA(acc, b, s) ((acc) += (b) * (s))
#define SB_ADD_AT(acc, p) ((acc) += VLOAD(p))
#define SB_ACT(v, act, alpha) VACT(v, act, alpha)
#include "stem_block.h"
#endif

typedef void StemBlockFn(float *, long, const float *, long, long,
                         const float *, int, int, const StemEpilogue *);
static StemBlockFn *const stem_blocks[STEM_PX_NARROW + 1] = {
    NULL, stem_block_1, stem_block_2, stem_block_3};
#if RTK_HAS_WIDE
static StemBlockFn *const stem_blocks_wide[STEM_PX_WIDE + 1] = {
    NULL,               stem_block_1_wide,  stem_block_2_wide,
    stem_block_3_wide,  stem_block_4_wide,  stem_block_5_wide,
    stem_block_6_wide,  stem_block_7_wide,  stem_block_8_wide,
    stem_block_9_wide,  stem_block_10_wide, stem_block_11_wide,
    stem_block_12_wide};
#else
#define stem_blocks_wide stem_blocks /* never picked: rtk_vec_width() < 16 */
#endif

/* Output row `pix0 / ow` (pix0: its first pixel's index in the output)
 * from its taps' rows at src (the window's, or the input's in place). The
 * row's pixels go in blocks as even as s->max_px allows (28 pixels by 12:
 * 9, 9, 10, not 12 + 12 + 4). */
static void stem_row(float *out, const float *src, const Stem *s, long pix0) {
  const RtConv2d *d = s->d;
  const RtEpilogue *ep = s->ep;
  const int k = d->kh * d->kw * d->c, run = d->kw * d->c;
  const long step = s->step;
  const long res_ld = ep && ep->residual ? (ep->res_cs ? ep->res_cs
                                                       : s->out_cs) : 0;
  int blocks = (d->ow + s->max_px - 1) / s->max_px;
  for (int b = 0, ox = 0; b < blocks; b++) {
    int px = (d->ow - ox) / (blocks - b); /* the wider blocks last */
    for (int p0 = 0; p0 < d->oc; p0 += GEMM_NR) {
      int cols = d->oc - p0 < GEMM_NR ? d->oc - p0 : GEMM_NR;
      StemEpilogue e = {
          .bias = cols == GEMM_NR && ep && ep->bias ? ep->bias + p0
                                                    : s->bias_tail,
          .res = res_ld ? ep->residual + (pix0 + ox) * res_ld + p0 : NULL,
          .res_ld = res_ld,
          .act = ep && s->vec_act ? ep->act : RT_ACT_LINEAR,
          .alpha = ep ? ep->alpha : 0.0f};
      /* A partial panel goes through tmp (the block stores whole panels),
       * its residual and then activation added after: a residual row may
       * end with the panel's last channel. */
      int whole = cols == GEMM_NR;
      if (!whole && e.res) {
        e.res = NULL;
        e.act = RT_ACT_LINEAR;
      }
      float tmp[STEM_PX_WIDE * GEMM_NR];
      float *dst = out + ox * s->out_cs + p0;
      (s->wide ? stem_blocks_wide : stem_blocks)[px](whole ? dst : tmp, whole ? s->out_cs : GEMM_NR,
                      src + ox * step, step, s->row_floats,
                      s->packed + (long)p0 * k, d->kh, run, &e);
      if (whole)
        continue;
      for (int r = 0; r < px; r++)
        memcpy(dst + r * s->out_cs, tmp + r * GEMM_NR,
               (size_t)cols * sizeof *dst);
      if (ep && ep->residual) {
        RtEpilogue rest = {.residual = ep->residual,
                           .act = s->vec_act ? ep->act : RT_ACT_LINEAR,
                           .alpha = ep->alpha, .res_cs = ep->res_cs};
        rtk_epilogue_tile(dst, s->out_cs, &rest, pix0 + ox, p0, px, cols);
      }
    }
    ox += px;
  }
  if (ep && !s->vec_act) { /* sigmoid and the like, per value */
    RtEpilogue act = {.act = ep->act, .alpha = ep->alpha};
    rtk_epilogue_tile(out, s->out_cs, &act, pix0, 0, d->ow, d->oc);
  }
}

/* The calling thread's share of the output rows: in place, or in bands
 * through the window. */
static void stem_share(const Stem *s, int parts) {
  const RtConv2d *d = s->d;
  long lo, hi;
  rtk_share((long)d->n * d->oh, parts, &lo, &hi);
  if (s->in_place) {
    for (long u = lo; u < hi; u++) {
      long b = u / d->oh, oy = u - b * d->oh;
      const float *src = s->in + (b * d->h + oy * d->sh) * s->row_floats;
      stem_row(s->out + u * d->ow * s->out_cs, src, s, u * d->ow);
    }
    return;
  }
  float win[STEM_WINDOW_FLOATS];
  for (long u = lo; u < hi;) {
    long b = u / d->oh;
    int oy = (int)(u - b * d->oh), rows = s->band;
    if (rows > d->oh - oy)
      rows = d->oh - oy;
    if (rows > hi - u)
      rows = (int)(hi - u);
    stem_window(win, s->in + b * d->h * d->w * s->in_cs, s, oy, rows);
    for (int r = 0; r < rows; r++) {
      long pix0 = (b * d->oh + oy + r) * d->ow;
      stem_row(s->out + pix0 * s->out_cs, win + r * d->sh * s->row_floats,
               s, pix0);
    }
    u += rows;
  }
}

void rtk_conv_stem(const RtContext *ctx, float *out, const float *in,
                   const float *packed, const RtEpilogue *ep,
                   const RtConv2d *d, int threads) {
  Stem s = {.d = d, .out = out, .in = in, .packed = packed, .ep = ep,
            .in_cs = rtk_cs(d->in_cs, d->c), .out_cs = rtk_cs(d->out_cs, d->oc),
            .wp = (d->ow - 1) * d->sw + d->kw,
            .wide = rtk_vec_width() >= 16,
            .vec_act = !ep || vec_act_supported(ep->act)};
  s.max_px = s.wide ? STEM_PX_WIDE : STEM_PX_NARROW;
  s.in_place = stem_in_place(d);
  s.row_floats = s.in_place ? (long)d->w * s.in_cs : (long)s.wp * d->c;
  s.step = (long)d->sw * (s.in_place ? s.in_cs : d->c);
  /* bias_tail: zeros from the initializer, then the last panel's bias. */
  int tail0 = d->oc - d->oc % GEMM_NR;
  if (ep && ep->bias && tail0 < d->oc)
    memcpy(s.bias_tail, ep->bias + tail0,
           (size_t)(d->oc - tail0) * sizeof *s.bias_tail);
  /* As many output rows as the window holds, kh input rows and sh more
   * per row (rtk_conv_stem_fits: at least one). */
  if (!s.in_place) {
    s.band = (int)((STEM_WINDOW_FLOATS / s.row_floats - d->kh) / d->sh + 1);
    if (s.band > d->oh)
      s.band = d->oh;
  }
  long rows = (long)d->n * d->oh;
  if (threads > rows)
    threads = (int)rows;
  RTK_TEAM(ctx, threads, stem_share(&s, threads));
}
