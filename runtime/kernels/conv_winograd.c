/* 3x3 stride-1 convolution by Winograd's minimal filtering, F(2x2, 3x3)
 * (Lavin and Gray, "Fast Algorithms for Convolutional Neural Networks",
 * 2016): each 2x2 block of outputs comes from a 4x4 block of inputs with 16
 * multiplications per channel pair instead of 36, 2.25x fewer. The
 * multiplications of all blocks are 16 independent GEMMs (gemm_packed.c,
 * with U packed at load),
 *
 *   M[xi] (blocks x oc) = V[xi] (blocks x c) x U[xi] (c x oc),  xi < 16,
 *
 * between the transformed inputs V = B^T d B and the transformed kernel
 * U = G g G^T, which rt_winograd_kernel() computes once, at load. The
 * outputs are A^T M A, then the usual epilogue.
 *
 *   B^T = | 1  0 -1  0 |    G = |  1    0    0  |    A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |        | 1/2  1/2  1/2 |          | 0  1 -1 -1 |
 *         | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
 *         | 0  1  0 -1 |        |  0    0    1  |
 *
 * The transforms are additions only; they run over the channels, which
 * are contiguous in NHWC, so they vectorize. Each thread takes chunks of
 * blocks, small enough that its V and M stay in its core's L2 between the
 * transforms and the GEMMs. F(2x2, 3x3) keeps float rounding close to the
 * direct convolution's (the larger F(4x4, 3x3) multiplies it by about 10);
 * the end-to-end tests compare it with the double-precision reference. */
#include <omp.h>
#include <string.h>

#include "kernels_internal.h"
#include "netc/train_kernels.h"
#include "vec16.h"

enum {
  WINO_XI = 16,               /* transformed positions: a 4x4 block */
  CHUNK_FLOATS = 1 << 20,     /* V + M per thread chunk: 512 KiB */
  WINO_WS_FLOATS = 1 << 21,   /* planned workspace cap: 8 MiB */
};

typedef struct WinoPlan {
  const RtConv2d *d;
  int in_cs, out_cs;
  int bh, bw;        /* 2x2 output blocks per column / row */
  long blocks;       /* n * bh * bw */
  long block_floats; /* V and M floats of one block: 16 * (c + oc) */
} WinoPlan;

static int wino_plan(WinoPlan *p, const RtConv2d *d) {
  if (!d || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1 || d->oh < 1 ||
      d->ow < 1 || d->oc < 1 || d->kh != 3 || d->kw != 3 || d->sh != 1 ||
      d->sw != 1 || d->pad_top < 0 || d->pad_left < 0 || d->groups > 1 ||
      d->groups < 0)
    return 0;
  p->d = d;
  p->in_cs = rtk_cs(d->in_cs, d->c);
  p->out_cs = rtk_cs(d->out_cs, d->oc);
  if (p->in_cs < d->c || p->out_cs < d->oc)
    return 0;
  p->bh = (d->oh + 1) / 2;
  p->bw = (d->ow + 1) / 2;
  p->blocks = (long)d->n * p->bh * p->bw;
  p->block_floats = (long)WINO_XI * (d->c + d->oc);
  return 1;
}

size_t rt_winograd_kernel_floats(int c, int oc) {
  return c < 1 || oc < 1 ? 0 : WINO_XI * rtk_gemm_packed_floats(c, oc);
}

/* U[xi] = (G g G^T)[xi] for g = kernel[., ., ci, co], each U[xi] (c x oc)
 * packed for rtk_gemm_packed. */
RTK_CLONES static void wino_kernel_rows(float *u, const float *kernel, int c,
                                        int oc) {
  long plane = (long)rtk_gemm_packed_floats(c, oc), kplane = (long)c * oc;
  memset(u, 0, (size_t)(WINO_XI * plane) * sizeof *u);
  for (int ci = 0; ci < c; ci++) {
    for (int co = 0; co < oc; co++) {
      float g[3][3], t[4][3];
      for (int y = 0; y < 3; y++)
        for (int x = 0; x < 3; x++)
          g[y][x] = kernel[(y * 3 + x) * kplane + (long)ci * oc + co];
      for (int x = 0; x < 3; x++) { /* t = G g */
        t[0][x] = g[0][x];
        t[1][x] = 0.5f * (g[0][x] + g[1][x] + g[2][x]);
        t[2][x] = 0.5f * (g[0][x] - g[1][x] + g[2][x]);
        t[3][x] = g[2][x];
      }
      for (int y = 0; y < 4; y++) { /* U = t G^T */
        float *row = u + (long)(y * 4) * plane +
                     (long)(co / GEMM_NR) * c * GEMM_NR + (long)ci * GEMM_NR +
                     co % GEMM_NR;
        row[0] = t[y][0];
        row[plane] = 0.5f * (t[y][0] + t[y][1] + t[y][2]);
        row[2 * plane] = 0.5f * (t[y][0] - t[y][1] + t[y][2]);
        row[3 * plane] = t[y][2];
      }
    }
  }
}

RtStatus rt_winograd_kernel(float *u, const float *kernel, int c, int oc) {
  if (!u || !kernel || c < 1 || oc < 1)
    return RT_ERR_ARG;
  wino_kernel_rows(u, kernel, c, oc);
  return RT_OK;
}

size_t rt_conv2d_winograd_workspace_min_floats(const RtConv2d *d) {
  WinoPlan p;
  if (!wino_plan(&p, d))
    return 0;
  return (size_t)(p.block_floats + d->c + d->oc);
}

size_t rt_conv2d_winograd_workspace_floats(const RtConv2d *d) {
  WinoPlan p;
  if (!wino_plan(&p, d))
    return 0;
  long blocks = WINO_WS_FLOATS / p.block_floats;
  if (blocks < 1)
    blocks = 1;
  if (blocks > p.blocks)
    blocks = p.blocks;
  /* Plus a zero row and a discard row for each of up to 8 threads. */
  return (size_t)(blocks * p.block_floats + 8L * (d->c + d->oc));
}

/* Transforms run on 16 channels at a time (vec16.h), then the tail. */
enum { VL = 16 };

/* B^T d B of one 4x4 block for one channel vector (also used with
 * single-float "vectors" for the tail channels, through the macro). */
#define WINO_INPUT(T, LOAD, STORE)                                          \
  do {                                                                      \
    T d0[4], d1[4], d2[4], d3[4];                                           \
    for (int x = 0; x < 4; x++) {                                           \
      d0[x] = LOAD(px[x] + k);                                              \
      d1[x] = LOAD(px[4 + x] + k);                                          \
      d2[x] = LOAD(px[8 + x] + k);                                          \
      d3[x] = LOAD(px[12 + x] + k);                                         \
    }                                                                       \
    T t[4][4];                                                              \
    for (int x = 0; x < 4; x++) { /* t = B^T d */                          \
      t[0][x] = d0[x] - d2[x];                                              \
      t[1][x] = d1[x] + d2[x];                                              \
      t[2][x] = d2[x] - d1[x];                                              \
      t[3][x] = d1[x] - d3[x];                                              \
    }                                                                       \
    for (int y = 0; y < 4; y++) { /* V = t B */                            \
      STORE(v + (y * 4 + 0) * plane + k, t[y][0] - t[y][2]);                \
      STORE(v + (y * 4 + 1) * plane + k, t[y][1] + t[y][2]);                \
      STORE(v + (y * 4 + 2) * plane + k, t[y][2] - t[y][1]);                \
      STORE(v + (y * 4 + 3) * plane + k, t[y][1] - t[y][3]);                \
    }                                                                       \
  } while (0)

#define SLOAD(p) (*(p))
#define SSTORE(p, x) (*(p) = (x))

/* V[xi][.] at v + xi * plane = (B^T d B)[xi] for the 4x4 input block whose
 * 16 pixels are px[0..15] (each c channels; a zero row when outside the
 * image). */
RTK_CLONES static void wino_input_block(float *restrict v, long plane,
                                        const float *const px[16], int c) {
  int k = 0;
  for (; k + VL <= c; k += VL)
    WINO_INPUT(Vec16, VLOAD, VSTORE);
  for (; k < c; k++)
    WINO_INPUT(float, SLOAD, SSTORE);
}

/* A^T M A: the 2x2 outputs of one block from M[xi][.] at m + xi * plane,
 * into the output pixels px[0..3] (a discard row when outside). */
#define WINO_OUTPUT(T, LOAD, STORE)                                         \
  do {                                                                      \
    T s[4][4], t[2][4];                                                     \
    for (int xi = 0; xi < 16; xi++)                                         \
      s[xi / 4][xi % 4] = LOAD(m + xi * plane + k);                         \
    for (int x = 0; x < 4; x++) { /* t = A^T M */                          \
      t[0][x] = s[0][x] + s[1][x] + s[2][x];                                \
      t[1][x] = s[1][x] - s[2][x] - s[3][x];                                \
    }                                                                       \
    for (int y = 0; y < 2; y++) { /* Y = t A */                            \
      STORE(px[y * 2 + 0] + k, t[y][0] + t[y][1] + t[y][2]);                \
      STORE(px[y * 2 + 1] + k, t[y][1] - t[y][2] - t[y][3]);                \
    }                                                                       \
  } while (0)

RTK_CLONES static void wino_output_block(float *const px[4],
                                         const float *restrict m, long plane,
                                         int oc) {
  int k = 0;
  for (; k + VL <= oc; k += VL)
    WINO_OUTPUT(Vec16, VLOAD, VSTORE);
  for (; k < oc; k++)
    WINO_OUTPUT(float, SLOAD, SSTORE);
}

/* Blocks [b0, b0+cnt): transform, 16 GEMMs, inverse transform, epilogue.
 * v, m: this thread's chunk; zero: c zeros; discard: oc floats. */
static void wino_chunk(const WinoPlan *p, float *out, const float *in,
                       const float *u, const RtEpilogue *ep, long b0, long cnt,
                       float *v, float *m, const float *zero, float *discard) {
  const RtConv2d *d = p->d;
  long per_image = (long)p->bh * p->bw;
  long vplane = cnt * d->c, mplane = cnt * d->oc;
  for (long j = 0; j < cnt; j++) {
    long blk = b0 + j, img = blk / per_image, r = blk - img * per_image;
    int by = (int)(r / p->bw), bx = (int)(r - (long)by * p->bw);
    int iy0 = 2 * by - d->pad_top, ix0 = 2 * bx - d->pad_left;
    const float *base = in + img * d->h * d->w * (long)p->in_cs;
    const float *px[16];
    for (int y = 0; y < 4; y++)
      for (int x = 0; x < 4; x++) {
        int iy = iy0 + y, ix = ix0 + x;
        px[y * 4 + x] = iy >= 0 && iy < d->h && ix >= 0 && ix < d->w
                            ? base + ((long)iy * d->w + ix) * p->in_cs
                            : zero;
      }
    wino_input_block(v + j * d->c, vplane, px, d->c);
  }
  long uplane = (long)rtk_gemm_packed_floats(d->c, d->oc);
  for (int xi = 0; xi < WINO_XI; xi++)
    rtk_gemm_packed(m + xi * mplane, d->oc, v + xi * vplane, d->c,
                    u + xi * uplane, (int)cnt, d->oc, d->c);
  for (long j = 0; j < cnt; j++) {
    long blk = b0 + j, img = blk / per_image, r = blk - img * per_image;
    int by = (int)(r / p->bw), bx = (int)(r - (long)by * p->bw);
    int oy0 = 2 * by, ox0 = 2 * bx;
    long pix0 = (img * d->oh + oy0) * d->ow + ox0; /* output pixel index */
    float *px[4];
    for (int y = 0; y < 2; y++)
      for (int x = 0; x < 2; x++)
        px[y * 2 + x] = oy0 + y < d->oh && ox0 + x < d->ow
                            ? out + (pix0 + (long)y * d->ow + x) * p->out_cs
                            : discard;
    wino_output_block(px, m + j * d->oc, mplane, d->oc);
    int cols = ox0 + 1 < d->ow ? 2 : 1;
    for (int y = 0; y < 2 && oy0 + y < d->oh; y++)
      rtk_epilogue_tile(px[y * 2], p->out_cs, ep, pix0 + (long)y * d->ow, 0,
                        cols, d->oc);
  }
}

RtStatus rt_conv2d_winograd(const RtContext *ctx, float *out, const float *in,
                            const float *u, const RtEpilogue *ep,
                            const RtConv2d *d, float *ws, size_t ws_floats) {
  WinoPlan p;
  if (!out || !in || !u || !ws || !wino_plan(&p, d))
    return RT_ERR_ARG;
  long extra = (long)d->c + d->oc; /* zero row + discard row */
  if (ws_floats < (size_t)(p.block_floats + extra))
    return RT_ERR_ARG;
  int threads = rtk_threads(ctx);
  if (threads > p.blocks)
    threads = (int)p.blocks;
  long per_thread = (long)(ws_floats / (size_t)threads);
  while (threads > 1 && per_thread < p.block_floats + extra)
    per_thread = (long)(ws_floats / (size_t)--threads);
  /* Blocks per chunk: what fits the thread's workspace and L2, and equal
   * shares so that no thread waits on a short last chunk. */
  long chunk = (per_thread - extra) / p.block_floats;
  long fit = CHUNK_FLOATS / p.block_floats;
  if (chunk > fit)
    chunk = fit > 0 ? fit : 1;
  long nchunks = (p.blocks + chunk - 1) / chunk;
  nchunks = (nchunks + threads - 1) / threads * threads;
  chunk = (p.blocks + nchunks - 1) / nchunks;
  nchunks = (p.blocks + chunk - 1) / chunk;
#pragma omp parallel num_threads(threads)
  {
    float *mine = ws + (long)omp_get_thread_num() * per_thread;
    float *zero = mine, *discard = mine + d->c;
    float *v = discard + d->oc, *m = v + chunk * d->c * (long)WINO_XI;
    memset(zero, 0, (size_t)d->c * sizeof *zero);
#pragma omp for schedule(static)
    for (long q = 0; q < nchunks; q++) {
      long b0 = q * chunk, cnt = p.blocks - b0 < chunk ? p.blocks - b0 : chunk;
      wino_chunk(&p, out, in, u, ep, b0, cnt, v, m, zero, discard);
    }
  }
  return RT_OK;
}

/* ---- Training: the kernel changes every step ----------------------------- */

/* Floats of the transformed kernel, rounded to whole 64-byte lines so that
 * the workspace after it stays aligned. */
static long kernel_ws_floats(int c, int oc) {
  return ((long)rt_winograd_kernel_floats(c, oc) + 15) / 16 * 16;
}

size_t rt_conv2d_winograd_train_workspace_floats(const RtConv2d *d) {
  WinoPlan p;
  if (!wino_plan(&p, d))
    return 0;
  return (size_t)kernel_ws_floats(d->c, d->oc) + rt_conv2d_winograd_workspace_floats(d);
}

RtStatus rt_conv2d_winograd_train(const RtContext *ctx, float *out,
                                  const float *in, const float *kernel,
                                  const RtEpilogue *ep, const RtConv2d *d,
                                  float *ws, size_t ws_floats) {
  WinoPlan p;
  if (!out || !in || !kernel || !ws || !wino_plan(&p, d))
    return RT_ERR_ARG;
  long kf = kernel_ws_floats(d->c, d->oc);
  if (ws_floats < (size_t)kf + rt_conv2d_winograd_workspace_min_floats(d))
    return RT_ERR_ARG;
  wino_kernel_rows(ws, kernel, d->c, d->oc);
  return rt_conv2d_winograd(ctx, out, in, ws, ep, d, ws + kf,
                            ws_floats - (size_t)kf);
}

/* The input gradient of a 3x3 stride-1 convolution is itself one: dout
 * correlated with the kernel turned by 180 degrees and its channel axes
 * swapped, w'[ky][kx][co][ci] = w[2-ky][2-kx][ci][co], padded by 2 - pad
 * so that din has the input's size. */
static int transposed_conv(RtConv2d *t, const RtConv2d *d) {
  int out_cs = rtk_cs(d->out_cs, d->oc), in_cs = rtk_cs(d->in_cs, d->c);
  *t = (RtConv2d){.n = d->n, .h = d->oh, .w = d->ow, .c = d->oc, .in_cs = out_cs,
                  .oh = d->h, .ow = d->w, .oc = d->c, .out_cs = in_cs,
                  .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                  .pad_top = 2 - d->pad_top, .pad_left = 2 - d->pad_left, .groups = 1};
  return t->pad_top >= 0 && t->pad_left >= 0;
}

static void turn_kernel(float *turned, const float *kernel, int c, int oc) {
  for (int ky = 0; ky < 3; ky++)
    for (int kx = 0; kx < 3; kx++) {
      const float *src = kernel + (long)((2 - ky) * 3 + (2 - kx)) * c * oc;
      float *dst = turned + (long)(ky * 3 + kx) * oc * c;
      for (int ci = 0; ci < c; ci++)
        for (int co = 0; co < oc; co++)
          dst[(long)co * c + ci] = src[(long)ci * oc + co];
    }
}

size_t rt_conv2d_backward_winograd_workspace_floats(const RtConv2d *d) {
  size_t gemm = rt_conv2d_backward_workspace_floats(d);
  WinoPlan p;
  RtConv2d t;
  if (!wino_plan(&p, d) || !transposed_conv(&t, d))
    return gemm;
  size_t wino = (size_t)kernel_ws_floats(d->oc, d->c) + (size_t)9 * d->c * d->oc +
                rt_conv2d_winograd_workspace_floats(&t);
  return wino > gemm ? wino : gemm;
}

RtStatus rt_conv2d_backward_winograd(const RtContext *ctx, float *din,
                                     float *dkernel, float *dbias,
                                     const float *dout, const float *in,
                                     const float *kernel, int accumulate,
                                     const RtConv2d *d, float *ws,
                                     size_t ws_floats) {
  WinoPlan p;
  RtConv2d t;
  /* Adding into din would need a second buffer: GEMM does it in place. */
  if (!din || accumulate || !wino_plan(&p, d) || !transposed_conv(&t, d))
    return rt_conv2d_backward(ctx, din, dkernel, dbias, dout, in, kernel,
                              accumulate, d, ws, ws_floats);
  if (!dout || !in || !kernel || !ws)
    return RT_ERR_ARG;
  long kf = kernel_ws_floats(d->oc, d->c), turned = (long)9 * d->c * d->oc;
  if (ws_floats < (size_t)(kf + turned) + rt_conv2d_winograd_workspace_min_floats(&t))
    return RT_ERR_ARG;
  if (dkernel || dbias) {
    RtStatus st = rt_conv2d_backward(ctx, NULL, dkernel, dbias, dout, in,
                                     kernel, 0, d, ws, ws_floats);
    if (st != RT_OK)
      return st;
  }
  turn_kernel(ws + kf, kernel, d->c, d->oc);
  wino_kernel_rows(ws, ws + kf, d->oc, d->c);
  return rt_conv2d_winograd(ctx, din, dout, ws, NULL, &t, ws + kf,
                            ws_floats - (size_t)kf);
}
