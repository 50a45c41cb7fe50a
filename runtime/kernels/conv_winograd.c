/* 3x3 stride-1 convolution by Winograd's minimal filtering, F(2x2, 3x3)
 * and F(4x4, 3x3) (Lavin and Gray, "Fast Algorithms for Convolutional
 * Neural Networks", 2016): each m x m block of outputs (m = the tile, 2 or
 * 4) comes from an a x a block of inputs (a = m + 2) with a^2
 * multiplications per channel pair instead of 9 m^2: 2.25x fewer for
 * F(2x2), 4x fewer for F(4x4). The multiplications of all blocks are a^2
 * independent GEMMs (gemm_packed.c, with U packed at load),
 *
 *   M[xi] (blocks x oc) = V[xi] (blocks x c) x U[xi] (c x oc),  xi < a^2,
 *
 * between the transformed inputs V = B^T d B and the transformed kernel
 * U = G g G^T, which rt_winograd_kernel() computes once, at load. The
 * outputs are A^T M A, then the usual epilogue.
 *
 * F(2x2, 3x3), interpolation points 0, 1, -1:
 *
 *   B^T = | 1  0 -1  0 |    G = |  1    0    0  |    A^T = | 1  1  1  0 |
 *         | 0  1  1  0 |        | 1/2  1/2  1/2 |          | 0  1 -1 -1 |
 *         | 0 -1  1  0 |        | 1/2 -1/2  1/2 |
 *         | 0  1  0 -1 |        |  0    0    1  |
 *
 * F(4x4, 3x3), points 0, 1, -1, 2, -2:
 *
 *   B^T = | 4  0 -5  0  1  0 |   G = |  1/4     0     0  |   A^T = | 1  1  1  1  1  0 |
 *         | 0 -4 -4  1  1  0 |       | -1/6  -1/6  -1/6  |         | 0  1 -1  2 -2  0 |
 *         | 0  4 -4 -1  1  0 |       | -1/6   1/6  -1/6  |         | 0  1  1  4  4  0 |
 *         | 0 -2 -1  2  1  0 |       | 1/24  1/12   1/6  |         | 0  1 -1  8 -8  1 |
 *         | 0  2 -1 -2  1  0 |       | 1/24 -1/12   1/6  |
 *         | 0  4  0 -5  0  1 |       |   0     0     1   |
 *
 * The transforms run over the channels, which are contiguous in NHWC, 16
 * at a time. Each thread takes chunks of blocks, small enough that its V
 * and M stay in its core's cache between the transforms and the GEMMs.
 * Float rounding: F(2x2) stays at the direct convolution's level, F(4x4)
 * is about 10 times larger (relative errors of a few 1e-6 on 256-channel
 * sums); the end-to-end tests compare both with the double reference. The
 * larger tile wastes work on the partial blocks of small maps, so the
 * compiler picks F(4x4) for maps of 8x8 and more. */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "kernels_internal.h"
#include "netc/train_kernels.h"
#include "vec16.h"
#include "vec8x2.h"

enum {
  MAX_A = 6,                  /* a = tile + 2 */
  /* V + M per thread chunk: 1 MiB, a Zen 4 core's L2. At batch 64 in
   * chunks of 8 images, 4 MiB chunks pushed the layers' activations out of
   * L2: mnist_cnn 4% faster with 1 MiB, cifar_bn_cnn and resnet_mini
   * within 1.5% either way at batch 1 and 64 (paired, 2 threads). */
  CHUNK_FLOATS = 1 << 18,
  WINO_WS_FLOATS = 1 << 21,   /* planned workspace cap: 8 MiB */
};

typedef struct WinoPlan {
  const RtConv2d *d;
  const RtPreact *pre; /* NULL: the input as it is */
  int in_cs, out_cs;
  int m, a, xi;      /* output tile, input tile (m + 2), a * a */
  int bh, bw;        /* m x m output blocks per column / row */
  long blocks;       /* n * bh * bw */
  long block_floats; /* V and M floats of one block: xi * (c + oc) */
  int width;         /* the CPU's vector floats: rtk_vec_width() */
} WinoPlan;

static int tile_ok(int tile) { return tile == 2 || tile == 4; }

static int wino_plan(WinoPlan *p, const RtConv2d *d, int tile) {
  if (!d || !tile_ok(tile) || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1 ||
      d->oh < 1 || d->ow < 1 || d->oc < 1 || d->kh != 3 || d->kw != 3 ||
      d->sh != 1 || d->sw != 1 || d->pad_top < 0 || d->pad_left < 0 ||
      d->groups > 1 || d->groups < 0)
    return 0;
  p->d = d;
  p->pre = NULL;
  p->in_cs = rtk_cs(d->in_cs, d->c);
  p->out_cs = rtk_cs(d->out_cs, d->oc);
  if (p->in_cs < d->c || p->out_cs < d->oc)
    return 0;
  p->m = tile;
  p->a = tile + 2;
  p->xi = p->a * p->a;
  p->bh = (d->oh + tile - 1) / tile;
  p->bw = (d->ow + tile - 1) / tile;
  p->blocks = (long)d->n * p->bh * p->bw;
  p->block_floats = (long)p->xi * (d->c + d->oc);
  p->width = rtk_vec_width();
  return 1;
}

/* Transforms run on as many channels at a time as the CPU's vectors hold
 * (rtk_vec_width: kernels_internal.h, "Vector-width variants"), then on
 * narrower vectors, then on the tail one float at a time, all through the
 * same macros. A vector wider than the registers would live in memory in
 * GCC's code for the narrower clones. */
enum { VL16 = 16, VL8 = 8, VL4 = 4 };
#define SLOAD(p) (*(p))
#define SSTORE(p, x) (*(p) = (x))

/* BODY(T, TI, LOAD, STORE, ...) at channel k of n, on vectors of 16, 8,
 * then 4 floats as far as width (the CPU's: rtk_vec_width) allows, each
 * advancing k by its lanes; BY_VECTORS_THEN_FLOATS then one float at a
 * time to n. T is the vector (or float), TI its integer twin. */
#define BY_VECTORS(k, n, width, BODY, ...)                                 \
  do {                                                                     \
    for (; (width) >= VL16 && (k) + VL16 <= (n); (k) += VL16)              \
      BODY(Vec16, Vec16i, VLOAD, VSTORE, __VA_ARGS__);                     \
    for (; (width) >= VL8 && (k) + VL8 <= (n); (k) += VL8)                 \
      BODY(Vec8, Vec8i, V8LOAD, V8STORE, __VA_ARGS__);                     \
    for (; (k) + VL4 <= (n); (k) += VL4)                                   \
      BODY(Vec4, Vec4i, V4LOAD, V4STORE, __VA_ARGS__);                     \
  } while (0)
#define BY_VECTORS_THEN_FLOATS(k, n, width, BODY, ...)                     \
  do {                                                                     \
    BY_VECTORS(k, n, width, BODY, __VA_ARGS__);                            \
    for (; (k) < (n); (k)++)                                               \
      BODY(float, int, SLOAD, SSTORE, __VA_ARGS__);                        \
  } while (0)

size_t rt_winograd_kernel_floats(int c, int oc, int tile) {
  if (c < 1 || oc < 1 || !tile_ok(tile))
    return 0;
  return (size_t)((tile + 2) * (tile + 2)) * rtk_gemm_packed_floats(c, oc);
}

/* The 1-D kernel transforms: t[0..a) = G g for g0, g1, g2. */
#define G4(t, g0, g1, g2)                                                  \
  do {                                                                     \
    t[0] = g0;                                                             \
    t[1] = 0.5f * (g0 + g1 + g2);                                          \
    t[2] = 0.5f * (g0 - g1 + g2);                                          \
    t[3] = g2;                                                             \
  } while (0)
#define G6(t, g0, g1, g2)                                                  \
  do {                                                                     \
    t[0] = g0 * (1.0f / 4);                                                \
    t[1] = (g0 + g1 + g2) * (-1.0f / 6);                                   \
    t[2] = (g0 - g1 + g2) * (-1.0f / 6);                                   \
    t[3] = g0 * (1.0f / 24) + g1 * (1.0f / 12) + g2 * (1.0f / 6);          \
    t[4] = g0 * (1.0f / 24) - g1 * (1.0f / 12) + g2 * (1.0f / 6);          \
    t[5] = g2;                                                             \
  } while (0)

/* U = G g G^T for one vector of output channels at co: g[y][x] loaded from
 * kernel + (y * 3 + x) * kplane, U[xi] stored at u + xi * plane. */
#define WINO_KERNEL(T, LOAD, STORE, A, G)                                  \
  do {                                                                     \
    T g[3][3], t[A][3], row[A];                                            \
    for (int y = 0; y < 3; y++)                                            \
      for (int x = 0; x < 3; x++)                                          \
        g[y][x] = LOAD(src + (y * 3 + x) * kplane);                        \
    for (int x = 0; x < 3; x++) { /* t = G g, column by column */         \
      T col[A];                                                            \
      G(col, g[0][x], g[1][x], g[2][x]);                                   \
      for (int y = 0; y < A; y++)                                          \
        t[y][x] = col[y];                                                  \
    }                                                                      \
    for (int y = 0; y < A; y++) { /* U = t G^T, row by row */             \
      G(row, t[y][0], t[y][1], t[y][2]);                                   \
      for (int x = 0; x < A; x++)                                          \
        STORE(dst + (long)(y * A + x) * plane, row[x]);                    \
    }                                                                      \
  } while (0)

/* WINO_KERNEL for the lanes of T from output channel co of input
 * channel ci on. */
#define WINO_KERNEL_AT(T, TI, LOAD, STORE, A, G)                           \
  do {                                                                     \
    const float *src = kernel + (long)ci * oc + co;                        \
    float *dst = u + (long)(co / GEMM_NR) * c * GEMM_NR +                  \
                 (long)ci * GEMM_NR + co % GEMM_NR;                        \
    WINO_KERNEL(T, LOAD, STORE, A, G);                                     \
  } while (0)

/* U[xi] = (G g G^T)[xi] for g = kernel[., ., ci, co], each U[xi] (c x oc)
 * packed for rtk_gemm_packed (output channel co of row ci at panel
 * co / GEMM_NR, offset co % GEMM_NR): 16, 8 or 4 output channels at a
 * time, which never straddle a panel. Runs at load, and in every training step. */
RTK_CLONES static void wino_kernel_rows(float *u, const float *kernel, int c,
                                        int oc, int tile) {
  long plane = (long)rtk_gemm_packed_floats(c, oc), kplane = (long)c * oc;
  int width = rtk_vec_width();
  memset(u, 0, (size_t)((tile + 2) * (tile + 2) * plane) * sizeof *u);
  for (int ci = 0; ci < c; ci++) {
    int co = 0;
    if (tile == 2)
      BY_VECTORS_THEN_FLOATS(co, oc, width, WINO_KERNEL_AT, 4, G4);
    else
      BY_VECTORS_THEN_FLOATS(co, oc, width, WINO_KERNEL_AT, 6, G6);
  }
}

RtStatus rt_winograd_kernel(float *u, const float *kernel, int c, int oc,
                            int tile) {
  if (!u || !kernel || c < 1 || oc < 1 || !tile_ok(tile))
    return RT_ERR_ARG;
  wino_kernel_rows(u, kernel, c, oc, tile);
  return RT_OK;
}

size_t rt_conv2d_winograd_workspace_min_floats(const RtConv2d *d, int tile) {
  WinoPlan p;
  if (!wino_plan(&p, d, tile))
    return 0;
  return (size_t)(p.block_floats + d->c + d->oc);
}

/* Blocks the planned workspace holds: as many as fit WINO_WS_FLOATS, at
 * least one, at most all. */
static long planned_blocks(const WinoPlan *p) {
  long blocks = WINO_WS_FLOATS / p->block_floats;
  if (blocks < 1)
    blocks = 1;
  return blocks > p->blocks ? p->blocks : blocks;
}

size_t rt_conv2d_winograd_workspace_floats(const RtConv2d *d, int tile) {
  WinoPlan p;
  if (!wino_plan(&p, d, tile))
    return 0;
  /* Plus a zero row and a discard row for each of up to 8 threads. */
  return (size_t)(planned_blocks(&p) * p.block_floats + 8L * (d->c + d->oc));
}

/* 1-D transforms of a column: o[] from i[] (B^T for the inputs, A^T for the
 * outputs). */
#define BT4(o, i)                                                          \
  do {                                                                     \
    o[0] = i[0] - i[2];                                                    \
    o[1] = i[1] + i[2];                                                    \
    o[2] = i[2] - i[1];                                                    \
    o[3] = i[1] - i[3];                                                    \
  } while (0)
/* F(4x4)'s, with their common terms computed once and the products
 * contracted into FMAs (CMakeLists.txt: -ffp-contract=fast): 14
 * operations for BT6 instead of 22, 10 for AT6 instead of 15; the input
 * transform was a tenth of resnet_mini's time (perf). */
#define BT6(o, i)                                                          \
  do {                                                                     \
    __typeof__(i[0]) p_ = i[4] - i[2], q_ = i[3] - i[1];                   \
    __typeof__(i[0]) r_ = i[3] + i[4], s_ = i[1] + i[2];                   \
    __typeof__(i[0]) u_ = i[4] - i[3], v_ = i[1] - i[2];                   \
    o[0] = i[4] - 5.0f * i[2] + 4.0f * i[0];                               \
    o[1] = r_ - 4.0f * s_;                                                 \
    o[2] = u_ + 4.0f * v_;                                                 \
    o[3] = p_ + 2.0f * q_;                                                 \
    o[4] = p_ - 2.0f * q_;                                                 \
    o[5] = i[5] - 5.0f * i[3] + 4.0f * i[1];                               \
  } while (0)
#define AT4(o, i)                                                          \
  do {                                                                     \
    o[0] = i[0] + i[1] + i[2];                                             \
    o[1] = i[1] - i[2] - i[3];                                             \
  } while (0)
#define AT6(o, i)                                                          \
  do {                                                                     \
    __typeof__(i[0]) p_ = i[1] + i[2], q_ = i[1] - i[2];                   \
    __typeof__(i[0]) r_ = i[3] + i[4], s_ = i[3] - i[4];                   \
    o[0] = i[0] + p_ + r_;                                                 \
    o[1] = q_ + 2.0f * s_;                                                 \
    o[2] = p_ + 4.0f * r_;                                                 \
    o[3] = q_ + i[5] + 8.0f * s_;                                          \
  } while (0)

/* V = B^T d B for one channel vector at k: d from the a x a pixels px[],
 * V[xi] stored at v + xi * plane + k. */
#define WINO_INPUT(T, TI, LOAD, STORE, LOADPX, A, BT)                      \
  do {                                                                     \
    T col[A], t[A][A], row[A], out[A];                                     \
    for (int x = 0; x < A; x++) { /* t = B^T d, column by column */       \
      for (int y = 0; y < A; y++)                                          \
        LOADPX(T, TI, LOAD, col[y], y * A + x);                            \
      BT(out, col);                                                        \
      for (int y = 0; y < A; y++)                                          \
        t[y][x] = out[y];                                                  \
    }                                                                      \
    for (int y = 0; y < A; y++) { /* V = t B, row by row */               \
      for (int x = 0; x < A; x++)                                          \
        row[x] = t[y][x];                                                  \
      BT(out, row);                                                        \
      for (int x = 0; x < A; x++)                                          \
        STORE(v + (y * A + x) * plane + k, out[x]);                        \
    }                                                                      \
  } while (0)

/* Y = A^T M A for one channel vector at k: M[xi] at m + xi * plane + k,
 * the M x M outputs to the pixels px[]. */
#define WINO_OUTPUT(T, TI, LOAD, STORE, A, M, AT)                          \
  do {                                                                     \
    T col[A], t[M][A], row[A], out[A];                                     \
    for (int x = 0; x < A; x++) { /* t = A^T M, column by column */       \
      for (int y = 0; y < A; y++)                                          \
        col[y] = LOAD(m + (y * A + x) * plane + k);                        \
      AT(out, col);                                                        \
      for (int y = 0; y < M; y++)                                          \
        t[y][x] = out[y];                                                  \
    }                                                                      \
    for (int y = 0; y < M; y++) { /* Y = t A, row by row */               \
      for (int x = 0; x < A; x++)                                          \
        row[x] = t[y][x];                                                  \
      AT(out, row);                                                        \
      for (int x = 0; x < M; x++)                                          \
        STORE(px[y * M + x] + k, out[x]);                                  \
    }                                                                      \
  } while (0)

/* Pixel i's channel k (one float, or a vector of T from k on) into dst:
 * as it is, or through the pre-activation, whose scale and shift at k
 * are in sv and tv (sc and sh for one float). inside[i] is -1 (all bits)
 * for a pixel in the image, 0 for padding, which stays zero as in the
 * mapped tensor. */
#define PLAIN(T, TI, LOAD, dst, i) ((dst) = LOAD(px[i] + k))
#define PRE_V(T, TI, LOAD, dst, i)                                         \
  do {                                                                     \
    const T z_ = {0};                                                      \
    T x_ = LOAD(px[i] + k) * sv + tv;                                      \
    if (relu)                                                              \
      x_ = VSELECT_T(T, TI, x_ > z_, x_, z_);                              \
    else                                                                   \
      VACT_T(T, TI, x_, pre->act, pre->alpha);                             \
    (dst) = (T)((TI)x_ & ((TI){0} + inside[i]));                           \
  } while (0)
#define PRE_S(T, TI, LOAD, dst, i)                                         \
  ((dst) = inside[i] ? rt_act_apply(pre->act, pre->alpha,                  \
                                       px[i][k] * (sc ? sc[k] : 1.0f) +    \
                                           (sh ? sh[k] : 0.0f))            \
                        : 0.0f)
/* The pre-activated input for a vector at k: its scale and shift loaded. */
#define INPUT_PRE_V(T, TI, LOAD, STORE, A, BT)                             \
  do {                                                                     \
    T sv = LOAD(sc + k), tv = LOAD(sh + k);                                \
    WINO_INPUT(T, TI, LOAD, STORE, PRE_V, A, BT);                          \
  } while (0)
#define INPUT_PLAIN(T, TI, LOAD, STORE, A, BT)                             \
  WINO_INPUT(T, TI, LOAD, STORE, PLAIN, A, BT)

/* One block's input transform: px[0..a*a) are its pixels (c channels each;
 * a zero row when outside the image); pre (may be NULL) the map applied
 * to them, with its scale and shift in sc and sh. */
#define WINO_INPUT_BLOCK(A, BT)                                            \
  do {                                                                     \
    int k = 0;                                                             \
    if (!pre) {                                                            \
      BY_VECTORS_THEN_FLOATS(k, c, width, INPUT_PLAIN, A, BT);             \
      return;                                                              \
    }                                                                      \
    int relu = pre->act == RT_ACT_RELU;                                    \
    if (sc && sh && vec_act_supported(pre->act))                           \
      BY_VECTORS(k, c, width, INPUT_PRE_V, A, BT);                         \
    for (; k < c; k++)                                                     \
      WINO_INPUT(float, int, SLOAD, SSTORE, PRE_S, A, BT);                 \
  } while (0)

RTK_CLONES static void wino_input_block2(float *restrict v, long plane,
                                         const float *const *px, int c,
                                         const RtPreact *pre, const float *sc,
                                         const float *sh, const int *inside,
                                         int width) {
  WINO_INPUT_BLOCK(4, BT4);
}

RTK_CLONES static void wino_input_block4(float *restrict v, long plane,
                                         const float *const *px, int c,
                                         const RtPreact *pre, const float *sc,
                                         const float *sh, const int *inside,
                                         int width) {
  WINO_INPUT_BLOCK(6, BT6);
}

/* One block's output transform into px[0..m*m) (a discard row when
 * outside the output). */
RTK_CLONES static void wino_output_block2(float *const *px,
                                          const float *restrict m, long plane,
                                          int oc, int width) {
  int k = 0;
  BY_VECTORS_THEN_FLOATS(k, oc, width, WINO_OUTPUT, 4, 2, AT4);
}

RTK_CLONES static void wino_output_block4(float *const *px,
                                          const float *restrict m, long plane,
                                          int oc, int width) {
  int k = 0;
  BY_VECTORS_THEN_FLOATS(k, oc, width, WINO_OUTPUT, 6, 4, AT6);
}

/* Where block blk lies: its image, and the first output row and column
 * of its m x m tile. */
static long block_origin(const WinoPlan *p, long blk, int *oy0, int *ox0) {
  long per_image = (long)p->bh * p->bw, img = blk / per_image;
  long r = blk - img * per_image;
  *oy0 = p->m * (int)(r / p->bw);
  *ox0 = p->m * (int)(r % p->bw);
  return img;
}

/* Block blk's input transform into v (V[xi] at v + xi * vplane). */
static void wino_in(const WinoPlan *p, const float *in, long blk, float *v,
                    long vplane, const float *zero) {
  const RtConv2d *d = p->d;
  int a = p->a, iy0, ix0;
  long img = block_origin(p, blk, &iy0, &ix0);
  iy0 -= d->pad_top;
  ix0 -= d->pad_left;
  const float *base = in + img * d->h * d->w * (long)p->in_cs;
  const float *px[MAX_A * MAX_A];
  int inside[MAX_A * MAX_A];
  for (int y = 0; y < a; y++)
    for (int x = 0; x < a; x++) {
      int iy = iy0 + y, ix = ix0 + x;
      int in_image = iy >= 0 && iy < d->h && ix >= 0 && ix < d->w;
      px[y * a + x] =
          in_image ? base + ((long)iy * d->w + ix) * p->in_cs : zero;
      inside[y * a + x] = -in_image;
    }
  const RtPreact *pre = p->pre;
  const float *sc = pre ? pre->scale : NULL, *sh = pre ? pre->shift : NULL;
  if (p->m == 2)
    wino_input_block2(v, vplane, px, d->c, pre, sc, sh, inside, p->width);
  else
    wino_input_block4(v, vplane, px, d->c, pre, sc, sh, inside, p->width);
}

/* Block blk's output transform from m (M[xi] at m + xi * mplane), then the
 * epilogue on its pixels: output channels [co0, co0 + n), m at co0. */
static void wino_out_channels(const WinoPlan *p, float *out,
                              const RtEpilogue *ep, long blk, const float *m,
                              long mplane, float *discard, int co0, int n) {
  const RtConv2d *d = p->d;
  int t = p->m, oy0, ox0;
  long img = block_origin(p, blk, &oy0, &ox0);
  long pix0 = (img * d->oh + oy0) * d->ow + ox0; /* output pixel index */
  float *px[4 * 4];
  for (int y = 0; y < t; y++)
    for (int x = 0; x < t; x++)
      px[y * t + x] = (oy0 + y < d->oh && ox0 + x < d->ow
                           ? out + (pix0 + (long)y * d->ow + x) * p->out_cs
                           : discard) + co0;
  if (t == 2)
    wino_output_block2(px, m, mplane, n, p->width);
  else
    wino_output_block4(px, m, mplane, n, p->width);
  int cols = d->ow - ox0 < t ? d->ow - ox0 : t;
  for (int y = 0; y < t && oy0 + y < d->oh; y++)
    rtk_epilogue_tile(px[y * t], p->out_cs, ep, pix0 + (long)y * d->ow, co0,
                      cols, n);
}

/* The same for all output channels. */
static void wino_out(const WinoPlan *p, float *out, const RtEpilogue *ep,
                     long blk, const float *m, long mplane, float *discard) {
  wino_out_channels(p, out, ep, blk, m, mplane, discard, 0, p->d->oc);
}

/* Blocks [b0, b0+cnt) on one thread: transform, a^2 GEMMs, inverse
 * transform, epilogue. v, m: this thread's chunk; zero: c zeros; discard:
 * oc floats. */
static void wino_chunk(const WinoPlan *p, float *out, const float *in,
                       const float *u, const RtEpilogue *ep, long b0, long cnt,
                       float *v, float *m, const float *zero, float *discard) {
  const RtConv2d *d = p->d;
  long vplane = cnt * d->c, mplane = cnt * d->oc;
  for (long j = 0; j < cnt; j++)
    wino_in(p, in, b0 + j, v + j * d->c, vplane, zero);
  long uplane = (long)rtk_gemm_packed_floats(d->c, d->oc);
  for (int xi = 0; xi < p->xi; xi++)
    rtk_gemm_packed(m + xi * mplane, d->oc, v + xi * vplane, d->c,
                    u + xi * uplane, (int)cnt, d->oc, d->c);
  for (long j = 0; j < cnt; j++)
    wino_out(p, out, ep, b0 + j, m + j * d->oc, mplane, discard);
}

/* Few blocks (small maps at batch 1): split among threads, each would get
 * a GEMM of a handful of rows, most of its 6-row register block wasted.
 * Instead all threads share each chunk: the transforms split by blocks,
 * the GEMMs by (xi, pair of 32-column panels). ws: c zeros, a discard row per
 * thread, then V and M of the chunk. */
enum {
  SHARED_BELOW_BLOCKS = 4 * GEMM_MR, /* blocks per thread */
  OWN_MIN_BLOCKS = 8,                /* blocks per thread, and ... */
  OWN_MAX_U_FLOATS = 1 << 18         /* ... a U of at most 1 MiB: own blocks */
};

/* Whether the threads share each chunk (wino_shared) rather than take
 * blocks of their own. Shared, the blocks' transforms cross cores twice
 * (V to the GEMMs, M back), but each core reads only its share of the
 * transformed kernel U. With 8 or more blocks a thread (6 + 2 GEMM rows)
 * and a U that fits next to them in a core's L2, own blocks win: resnet_
 * mini's 16x16x64 layers (16 blocks, U 576 KiB) 14% faster; mnist_cnn's
 * 14x14x128 (16 blocks, U 2.3 MiB) 6% slower that way, so it stays shared
 * (2 threads, Zen 4 VM). */
static int wino_shares(const WinoPlan *p, int threads) {
  if (threads < 2 || p->blocks >= (long)threads * SHARED_BELOW_BLOCKS)
    return 0;
  long u_floats = (long)p->xi * p->d->c * p->d->oc;
  return p->blocks < (long)threads * OWN_MIN_BLOCKS || u_floats > OWN_MAX_U_FLOATS;
}

/* The calling thread's part of wino_shared: its share of each chunk's
 * input transforms, GEMMs and output transforms in turn. */
static void shared_share(const WinoPlan *p, float *out, const float *in,
                         const float *u, const RtEpilogue *ep, int parts,
                         float *ws, long head, long chunk) {
  const RtConv2d *d = p->d;
  int t = omp_get_thread_num();
  /* a zero row and a discard row of its own (t < parts: wino_shared's) */
  float *zero = ws + (long)t * (d->c + d->oc), *discard = zero + d->c;
  if (t < parts)
    memset(zero, 0, (size_t)d->c * sizeof *zero);
  float *v = ws + head, *m = v + chunk * d->c * (long)p->xi;
  /* GEMM items: pairs of panels, which the GEMM's kernel for short A
   * takes at once */
  int unit = 2 * GEMM_NR, units = (d->oc + unit - 1) / unit;
  long uplane = (long)rtk_gemm_packed_floats(d->c, d->oc);
  long lo, hi;
  for (long b0 = 0; b0 < p->blocks; b0 += chunk) {
    long cnt = p->blocks - b0 < chunk ? p->blocks - b0 : chunk;
    long vplane = cnt * d->c, mplane = cnt * d->oc;
    for (rtk_share(cnt, parts, &lo, &hi); lo < hi; lo++)
      wino_in(p, in, b0 + lo, v + lo * d->c, vplane, zero);
    RTK_SYNC();
    for (rtk_share((long)p->xi * units, parts, &lo, &hi); lo < hi; lo++) {
      int xi = (int)(lo / units), c0 = (int)(lo % units) * unit;
      int cols = d->oc - c0 < unit ? d->oc - c0 : unit;
      rtk_gemm_packed(m + xi * mplane + c0, d->oc, v + xi * vplane, d->c,
                      u + xi * uplane + (long)c0 * d->c, (int)cnt, cols, d->c);
    }
    RTK_SYNC();
    /* No barrier after: the next chunk's transforms write V, which this
     * chunk's GEMMs (done at the barrier above) read, and its GEMMs write
     * M only after the barrier that follows them, when every thread is
     * past this loop. RTK_TEAM ends the last. */
    for (rtk_share(cnt, parts, &lo, &hi); lo < hi; lo++)
      wino_out(p, out, ep, b0 + lo, m + lo * d->oc, mplane, discard);
  }
}

static int wino_shared(const RtContext *ctx, const WinoPlan *p, float *out,
                       const float *in, const float *u, const RtEpilogue *ep,
                       int threads, float *ws, size_t ws_floats) {
  const RtConv2d *d = p->d;
  long head = (long)threads * (d->c + d->oc);
  long chunk = ((long)ws_floats - head) / p->block_floats;
  if (chunk < 1)
    return 0;
  if (chunk > p->blocks)
    chunk = p->blocks;
  RTK_TEAM(ctx, threads,
           shared_share(p, out, in, u, ep, threads, ws, head, chunk));
  return 1;
}

/* The calling thread's chunks of blocks, in its own slice of ws. */
static void own_share(const WinoPlan *p, float *out, const float *in,
                      const float *u, const RtEpilogue *ep, int parts,
                      float *ws, long per_thread, long chunk, long nchunks) {
  const RtConv2d *d = p->d;
  long lo, hi;
  if (!rtk_share(nchunks, parts, &lo, &hi))
    return;
  float *mine = ws + (long)omp_get_thread_num() * per_thread;
  float *zero = mine, *discard = mine + d->c;
  float *v = discard + d->oc, *m = v + chunk * d->c * (long)p->xi;
  memset(zero, 0, (size_t)d->c * sizeof *zero);
  for (long q = lo; q < hi; q++) {
    long b0 = q * chunk, cnt = p->blocks - b0 < chunk ? p->blocks - b0 : chunk;
    wino_chunk(p, out, in, u, ep, b0, cnt, v, m, zero, discard);
  }
}

/* ---- Few blocks: the kernel transformed as it is read ------------------ */

/* Blocks up to which F(2x2) and F(4x4) read the kernel
 * (rt_winograd_fly_kernel's copy, conv_winograd_fly.c) rather than U:
 * resnet_mini's 4x4x256 layers at batch 1 (4 blocks) and 2 (8), its
 * 8x8x128 ones at batch 1 (4). Mirrored by the compiler (codegen_c.c:
 * WINOGRAD_FLY_MAX_BLOCKS, WINOGRAD_FLY4_MAX_BLOCKS), which makes the copy
 * for those layers. */
enum { FLY_MAX_BLOCKS = 8, FLY4_MAX_BLOCKS = 4 };

/* Floats of wino_fly's workspace: per thread a zero row and a discard
 * row, M of every block, then V of every block: one V that the threads
 * fill and read together (own = 0), or one for each thread (own = 1). */
static long fly_ws_floats(const WinoPlan *p, int threads, int own) {
  long v = (long)p->xi * p->blocks * p->d->c;
  long m = (long)p->xi * p->blocks * p->d->oc;
  return (long)threads * (p->d->c + p->d->oc) + m + (own ? threads : 1) * v;
}

/* Whether wino_fly takes the call, and with which V. */
typedef enum { FLY_NO, FLY_ONE_V, FLY_OWN_V } FlyMode;
static FlyMode fly_fits(const WinoPlan *p, const float *fly, int threads,
                        size_t ws_floats) {
  if (!fly || p->blocks > (p->m == 2 ? FLY_MAX_BLOCKS : FLY4_MAX_BLOCKS) ||
      !rtk_wino_fly_here() || p->d->oc % RTK_FLY_LANES)
    return FLY_NO;
  if (threads > 1 && (size_t)fly_ws_floats(p, threads, 1) <= ws_floats)
    return FLY_OWN_V;
  return (size_t)fly_ws_floats(p, threads, 0) <= ws_floats ? FLY_ONE_V
                                                           : FLY_NO;
}

/* The calling thread's part of wino_fly: the GEMMs from the kernel and the
 * output transforms of its share of the output channels, all blocks, on
 * the input transforms of every block. With own (V per thread) it makes
 * them all itself and never waits on the other threads; without, the
 * threads share the transforms and wait for each other before the GEMMs.
 * A thread's own V cost it the few microseconds of the other threads'
 * blocks and made resnet_mini at batch 1 on two threads 6% to 8% faster
 * (1.24-1.28 against 1.35-1.37 ms, three pairs, Emerald Rapids VM); a
 * layer alone ran as fast either way, so the V read from the other core's
 * cache is the likelier cause than the barrier. */
static void fly_share(const WinoPlan *p, float *out, const float *in,
                      const float *fly, const RtEpilogue *ep, int parts,
                      float *ws, int own) {
  const RtConv2d *d = p->d;
  int t = omp_get_thread_num();
  float *zero = ws + (long)t * (d->c + d->oc), *discard = zero + d->c;
  if (t < parts)
    memset(zero, 0, (size_t)d->c * sizeof *zero);
  long vplane = p->blocks * d->c, mplane = p->blocks * d->oc, lo, hi;
  float *m = ws + (long)parts * (d->c + d->oc);
  float *v = m + p->xi * mplane + (own ? t * p->xi * vplane : 0);
  if (own) {
    if (!rtk_share(d->oc / RTK_FLY_LANES, parts, &lo, &hi))
      return;
    for (long b = 0; b < p->blocks; b++)
      wino_in(p, in, b, v + b * d->c, vplane, zero);
  } else {
    for (rtk_share(p->blocks, parts, &lo, &hi); lo < hi; lo++)
      wino_in(p, in, lo, v + lo * d->c, vplane, zero);
    RTK_SYNC();
    if (!rtk_share(d->oc / RTK_FLY_LANES, parts, &lo, &hi))
      return;
  }
  int co0 = (int)lo * RTK_FLY_LANES, co1 = (int)hi * RTK_FLY_LANES;
  RtkWinoFly f = {m, mplane, v, vplane, fly, d->c, d->oc, (int)p->blocks};
  if (p->m == 2)
    rtk_wino2_fly(&f, co0, co1);
  else
    rtk_wino4_fly(&f, co0, co1);
  for (long b = 0; b < p->blocks; b++)
    wino_out_channels(p, out, ep, b, m + b * d->oc + co0, mplane, discard,
                      co0, co1 - co0);
}

/* ---- Entry points ------------------------------------------------------- */

RtStatus rt_conv2d_winograd(const RtContext *ctx, float *out, const float *in,
                            const float *u, const float *fly,
                            const RtEpilogue *ep, const RtConv2d *d, int tile,
                            float *ws, size_t ws_floats) {
  return rt_conv2d_winograd_preact(ctx, out, in, u, fly, NULL, ep, d, tile,
                                   ws, ws_floats);
}

RtStatus rt_conv2d_winograd_preact(const RtContext *ctx, float *out,
                                   const float *in, const float *u,
                                   const float *fly, const RtPreact *pre,
                                   const RtEpilogue *ep, const RtConv2d *d,
                                   int tile, float *ws, size_t ws_floats) {
  WinoPlan p;
  if (!out || !in || !u || !ws || !wino_plan(&p, d, tile) ||
      (pre && pre->pool > 1))
    return RT_ERR_ARG;
  p.pre = pre;
  long extra = (long)d->c + d->oc; /* zero row + discard row */
  if (ws_floats < (size_t)(p.block_floats + extra))
    return RT_ERR_ARG;
  int threads = rtk_threads(ctx);
  FlyMode fly_mode = fly_fits(&p, fly, threads, ws_floats);
  if (fly_mode != FLY_NO) {
    RTK_TEAM(ctx, threads,
             fly_share(&p, out, in, fly, ep, threads, ws, fly_mode == FLY_OWN_V));
    return RT_OK;
  }
  if (wino_shares(&p, threads) &&
      wino_shared(ctx, &p, out, in, u, ep, threads, ws, ws_floats))
    return RT_OK;
  if (threads > p.blocks)
    threads = (int)p.blocks;
  long per_thread = (long)(ws_floats / (size_t)threads);
  while (threads > 1 && per_thread < p.block_floats + extra)
    per_thread = (long)(ws_floats / (size_t)--threads);
  /* Blocks per chunk: what fits the thread's workspace and cache, and
   * equal shares so that no thread waits on a short last chunk. */
  long chunk = (per_thread - extra) / p.block_floats;
  long fit = CHUNK_FLOATS / p.block_floats;
  if (chunk > fit)
    chunk = fit > 0 ? fit : 1;
  long nchunks = (p.blocks + chunk - 1) / chunk;
  nchunks = (nchunks + threads - 1) / threads * threads;
  chunk = (p.blocks + nchunks - 1) / nchunks;
  nchunks = (p.blocks + chunk - 1) / chunk;
  RTK_TEAM(ctx, threads,
           own_share(&p, out, in, u, ep, threads, ws, per_thread, chunk,
                     nchunks));
  return RT_OK;
}

/* ---- Training: the kernel changes every step ----------------------------- */

/* Floats of the transformed kernel, rounded to whole 64-byte lines so that
 * the workspace after it stays aligned. */
static long kernel_ws_floats(int c, int oc, int tile) {
  return ((long)rt_winograd_kernel_floats(c, oc, tile) + 15) / 16 * 16;
}

size_t rt_conv2d_winograd_train_workspace_floats(const RtConv2d *d, int tile) {
  WinoPlan p;
  if (!wino_plan(&p, d, tile))
    return 0;
  return (size_t)kernel_ws_floats(d->c, d->oc, tile) +
         rt_conv2d_winograd_workspace_floats(d, tile);
}

RtStatus rt_conv2d_winograd_train(const RtContext *ctx, float *out,
                                  const float *in, const float *kernel,
                                  const RtEpilogue *ep, const RtConv2d *d,
                                  int tile, float *ws, size_t ws_floats) {
  WinoPlan p;
  if (!out || !in || !kernel || !ws || !wino_plan(&p, d, tile))
    return RT_ERR_ARG;
  long kf = kernel_ws_floats(d->c, d->oc, tile);
  if (ws_floats < (size_t)kf + rt_conv2d_winograd_workspace_min_floats(d, tile))
    return RT_ERR_ARG;
  wino_kernel_rows(ws, kernel, d->c, d->oc, tile);
  return rt_conv2d_winograd(ctx, out, in, ws, NULL, ep, d, tile, ws + kf,
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

/* ---- The kernel gradient by Winograd ---------------------------------------
 *
 * The adjoint of the forward pass: with dM = A dY A^T for each block's
 * output gradient dY (zero outside the output), the gradient of the
 * transformed kernel is dU[xi] (c x oc) = sum over blocks of V[xi]^T dM[xi],
 * a^2 GEMMs that sum over the blocks (OpenBLAS; both operands change every
 * step), and the kernel's own is dg = G^T dU G. 4x (F(4x4)) or 2.25x
 * (F(2x2)) fewer multiplications than im2col^T x dout. */

/* 1-D adjoints: o[0..a) = A i for i[0..m) (the output transform's), and
 * g[0..3) = G^T t for t[0..a) (the kernel transform's). */
#define A4ADJ(o, i)                                                        \
  do {                                                                     \
    o[0] = i[0];                                                           \
    o[1] = i[0] + i[1];                                                    \
    o[2] = i[0] - i[1];                                                    \
    o[3] = -i[1];                                                          \
  } while (0)
#define A6ADJ(o, i)                                                        \
  do {                                                                     \
    o[0] = i[0];                                                           \
    o[1] = i[0] + i[1] + i[2] + i[3];                                      \
    o[2] = i[0] - i[1] + i[2] - i[3];                                      \
    o[3] = i[0] + 2.0f * i[1] + 4.0f * i[2] + 8.0f * i[3];                 \
    o[4] = i[0] - 2.0f * i[1] + 4.0f * i[2] - 8.0f * i[3];                 \
    o[5] = i[3];                                                           \
  } while (0)
#define G4ADJ(g, t)                                                        \
  do {                                                                     \
    g[0] = t[0] + 0.5f * (t[1] + t[2]);                                    \
    g[1] = 0.5f * (t[1] - t[2]);                                           \
    g[2] = 0.5f * (t[1] + t[2]) + t[3];                                    \
  } while (0)
#define G6ADJ(g, t)                                                        \
  do {                                                                     \
    g[0] = t[0] * (1.0f / 4) - (t[1] + t[2]) * (1.0f / 6) +                \
           (t[3] + t[4]) * (1.0f / 24);                                    \
    g[1] = (t[2] - t[1]) * (1.0f / 6) + (t[3] - t[4]) * (1.0f / 12);       \
    g[2] = (t[3] + t[4] - t[1] - t[2]) * (1.0f / 6) + t[5];                \
  } while (0)

/* dM = A dY A^T for one channel vector at k: dY from the m x m pixels
 * px[], dM[xi] stored at dm + xi * plane + k. */
#define WINO_DOUT(T, TI, LOAD, STORE, A, M, ADJ)                           \
  do {                                                                     \
    T col[M], t[A][M], out[A];                                             \
    for (int x = 0; x < M; x++) { /* t = A dY, column by column */        \
      for (int y = 0; y < M; y++)                                          \
        col[y] = LOAD(px[y * M + x] + k);                                  \
      ADJ(out, col);                                                       \
      for (int y = 0; y < A; y++)                                          \
        t[y][x] = out[y];                                                  \
    }                                                                      \
    for (int y = 0; y < A; y++) { /* dM = t A^T, row by row */            \
      ADJ(out, t[y]);                                                      \
      for (int x = 0; x < A; x++)                                          \
        STORE(dm + (y * A + x) * plane + k, out[x]);                       \
    }                                                                      \
  } while (0)

RTK_CLONES static void wino_dout_block2(float *restrict dm, long plane,
                                        const float *const *px, int oc,
                                        int width) {
  int k = 0;
  BY_VECTORS_THEN_FLOATS(k, oc, width, WINO_DOUT, 4, 2, A4ADJ);
}

RTK_CLONES static void wino_dout_block4(float *restrict dm, long plane,
                                        const float *const *px, int oc,
                                        int width) {
  int k = 0;
  BY_VECTORS_THEN_FLOATS(k, oc, width, WINO_DOUT, 6, 4, A6ADJ);
}

/* Block blk's dM from dout (channel stride out_cs; zero outside). */
static void wino_dout(const WinoPlan *p, const float *dout, long blk,
                      float *dm, long mplane, const float *zero) {
  const RtConv2d *d = p->d;
  int t = p->m, oy0, ox0;
  long img = block_origin(p, blk, &oy0, &ox0);
  long pix0 = (img * d->oh + oy0) * d->ow + ox0;
  const float *px[4 * 4];
  for (int y = 0; y < t; y++)
    for (int x = 0; x < t; x++)
      px[y * t + x] = oy0 + y < d->oh && ox0 + x < d->ow
                          ? dout + (pix0 + (long)y * d->ow + x) * p->out_cs
                          : zero;
  if (t == 2)
    wino_dout_block2(dm, mplane, px, d->oc, p->width);
  else
    wino_dout_block4(dm, mplane, px, d->oc, p->width);
}

/* dkernel[., ., ci, co] = G^T dU[., ci, co] G for one input channel. */
#define WINO_DG(T, TI, LOAD, STORE, A, ADJ)                                \
  do {                                                                     \
    T col[A], s[3][A], g[3];                                               \
    for (int x = 0; x < A; x++) { /* s = G^T dU, column by column */      \
      for (int y = 0; y < A; y++)                                          \
        col[y] = LOAD(du + (long)(y * A + x) * plane + co);                \
      ADJ(g, col);                                                         \
      for (int y = 0; y < 3; y++)                                          \
        s[y][x] = g[y];                                                    \
    }                                                                      \
    for (int y = 0; y < 3; y++) { /* dg = s G, row by row */              \
      ADJ(g, s[y]);                                                        \
      for (int x = 0; x < 3; x++)                                          \
        STORE(dk + (long)(y * 3 + x) * plane + co, g[x]);                  \
    }                                                                      \
  } while (0)

RTK_CLONES static void wino_dkernel_row(float *dk, const float *du, long plane,
                                        int oc, int tile, int width) {
  int co = 0;
  if (tile == 2)
    BY_VECTORS_THEN_FLOATS(co, oc, width, WINO_DG, 4, G4ADJ);
  else
    BY_VECTORS_THEN_FLOATS(co, oc, width, WINO_DG, 6, G6ADJ);
}

/* wino_dkernel's zero row: as long as the longer of a pixel's input and
 * output channels, for the inputs and dout outside the image. */
static long dkernel_zero_floats(const RtConv2d *d) {
  return d->c > d->oc ? d->c : d->oc;
}

/* Workspace of wino_dkernel before its blocks: dU and the zero row. */
static long dkernel_head(const WinoPlan *p) {
  const RtConv2d *d = p->d;
  long du = ((long)p->xi * d->c * d->oc + 15) / 16 * 16;
  return du + dkernel_zero_floats(d);
}

static void wino_dkernel(const WinoPlan *p, float *dkernel, const float *dout,
                         const float *in, int threads, float *ws,
                         size_t ws_floats) {
  const RtConv2d *d = p->d;
  long plane = (long)d->c * d->oc, head = dkernel_head(p);
  long chunk = ((long)ws_floats - head) / p->block_floats;
  if (chunk > p->blocks)
    chunk = p->blocks;
  long zn = dkernel_zero_floats(d);
  float *du = ws, *zero = ws + head - zn;
  float *v = ws + head, *dm = v + chunk * d->c * (long)p->xi;
  memset(zero, 0, (size_t)zn * sizeof *zero);
  rtk_blas_single();
#pragma omp parallel num_threads(threads)
  {
    for (long b0 = 0; b0 < p->blocks; b0 += chunk) {
      long cnt = p->blocks - b0 < chunk ? p->blocks - b0 : chunk;
      long vplane = cnt * d->c, mplane = cnt * d->oc;
#pragma omp for schedule(static)
      for (long j = 0; j < cnt; j++) {
        wino_in(p, in, b0 + j, v + j * d->c, vplane, zero);
        wino_dout(p, dout, b0 + j, dm + j * d->oc, mplane, zero);
      }
#pragma omp for schedule(static)
      for (int xi = 0; xi < p->xi; xi++)
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d->c, d->oc,
                    (int)cnt, 1.0f, v + xi * vplane, d->c, dm + xi * mplane,
                    d->oc, b0 == 0 ? 0.0f : 1.0f, du + xi * plane, d->oc);
    }
#pragma omp for schedule(static)
    for (int ci = 0; ci < d->c; ci++)
      wino_dkernel_row(dkernel + (long)ci * d->oc, du + (long)ci * d->oc,
                       plane, d->oc, p->m, p->width);
  }
}

size_t rt_conv2d_backward_winograd_workspace_floats(const RtConv2d *d,
                                                   int tile) {
  size_t gemm = rt_conv2d_backward_workspace_floats(d);
  WinoPlan p;
  RtConv2d t;
  if (!wino_plan(&p, d, tile) || !transposed_conv(&t, d))
    return gemm;
  size_t wino = (size_t)kernel_ws_floats(d->oc, d->c, tile) +
                (size_t)9 * d->c * d->oc +
                rt_conv2d_winograd_workspace_floats(&t, tile);
  size_t dk = (size_t)(dkernel_head(&p) + planned_blocks(&p) * p.block_floats);
  if (dk > wino)
    wino = dk;
  return wino > gemm ? wino : gemm;
}

RtStatus rt_conv2d_backward_winograd(const RtContext *ctx, float *din,
                                     float *dkernel, float *dbias,
                                     const float *dout, const float *in,
                                     const float *kernel, int accumulate,
                                     const RtConv2d *d, int tile, float *ws,
                                     size_t ws_floats) {
  WinoPlan p;
  RtConv2d t;
  if (!wino_plan(&p, d, tile) || !transposed_conv(&t, d))
    return rt_conv2d_backward(ctx, din, dkernel, dbias, dout, in, kernel,
                              accumulate, d, ws, ws_floats);
  if (!dout || !in || !kernel || !ws || (accumulate != 0 && accumulate != 1))
    return RT_ERR_ARG;
  RtStatus st = RT_OK;
  if (dbias) /* column sums of dout: rt_conv2d_backward's */
    st = rt_conv2d_backward(ctx, NULL, NULL, dbias, dout, in, kernel, 0, d, ws,
                            ws_floats);
  if (st == RT_OK && dkernel) {
    if ((long)ws_floats >= dkernel_head(&p) + p.block_floats)
      wino_dkernel(&p, dkernel, dout, in, rtk_threads(ctx), ws, ws_floats);
    else
      st = rt_conv2d_backward(ctx, NULL, dkernel, NULL, dout, in, kernel, 0, d,
                              ws, ws_floats);
  }
  if (st != RT_OK || !din)
    return st;
  /* Adding into din would need a second buffer: GEMM does it in place. */
  long kf = kernel_ws_floats(d->oc, d->c, tile), turned = (long)9 * d->c * d->oc;
  if (accumulate ||
      ws_floats < (size_t)(kf + turned) + rt_conv2d_winograd_workspace_min_floats(&t, tile))
    return rt_conv2d_backward(ctx, din, NULL, NULL, dout, in, kernel,
                              accumulate, d, ws, ws_floats);
  turn_kernel(ws + kf, kernel, d->c, d->oc);
  wino_kernel_rows(ws, ws + kf, d->oc, d->c, tile);
  return rt_conv2d_winograd(ctx, din, dout, ws, NULL, NULL, &t, tile, ws + kf,
                            ws_floats - (size_t)kf);
}
