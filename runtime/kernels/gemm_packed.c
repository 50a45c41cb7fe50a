/* A GEMM whose B matrix was packed once, at load, for its register
 * kernel: C[m x n] = A[m x k] x B[k x n], B given as panels of GEMM_NR
 * columns, each panel k rows of GEMM_NR contiguous floats (the last panel
 * zero-padded). A is row-major, or (rtk_gemm_packed_rows_ep) any rows
 * made of runs: a convolution's implicit GEMM reads a pixel's kernel rows
 * where they lie in the input, with no im2col copy.
 *
 * Why not cblas_sgemm: the Winograd convolution multiplies 16 small A
 * blocks (tens of rows) by 16 fixed weight matrices on every call, and
 * OpenBLAS packs B again in every call; at batch 1 on 8x8 and 16x16 maps
 * that packing took a third of the convolution's time (perf, Zen 4). With
 * B packed at load, the kernel streams each panel straight from cache.
 *
 * The register kernel computes GEMM_MR x GEMM_NR of C per step: 6 rows x
 * 32 columns, 12 accumulators of 16 floats (zmm registers in the AVX-512
 * clone; pairs of ymm in the AVX2 one), the panel's two vectors loaded and
 * each A value broadcast once per k. K is cut into blocks of GEMM_KC so
 * that a panel's block (GEMM_KC x 32 floats, 32 KiB) stays in L1 while all
 * row blocks stream past it; later K blocks add into C. This file is
 * compiled with
 * -ffp-contract=fast so that acc += b * a becomes one FMA (ISO C mode
 * would otherwise forbid the contraction). */
#include <string.h>

#include "kernels_internal.h"
#include "vec16.h"

/* The epilogue of one register block: bias at the block's first column,
 * residual at its first row and column. */
typedef struct GemmEpilogue {
  const float *bias, *res;
  long res_ld;
  RtAct act;
  float alpha;
} GemmEpilogue;

size_t rtk_gemm_packed_floats(int k, int n) {
  return (size_t)k * (size_t)((n + GEMM_NR - 1) / GEMM_NR) * GEMM_NR;
}

void rtk_gemm_pack_b(float *bp, const float *b, long ldb, int k, int n) {
  for (int p0 = 0; p0 < n; p0 += GEMM_NR) {
    int w = n - p0 < GEMM_NR ? n - p0 : GEMM_NR;
    for (int kk = 0; kk < k; kk++, bp += GEMM_NR) {
      memcpy(bp, b + kk * ldb + p0, (size_t)w * sizeof *bp);
      memset(bp + w, 0, (size_t)(GEMM_NR - w) * sizeof *bp);
    }
  }
}

/* One GEMM_MR x GEMM_NR block of C: rows a##r of A (r < 6; rows past m
 * repeat the last real one), panel bp, into c (ldc), storing `rows` rows
 * and `cols` columns. The K loop and the store are macros shared by the
 * row-major and the implicit block. */
#define ROW(r)                                                              \
  Vec16 c##r##0 = {0}, c##r##1 = {0};                                       \
  const float *a##r
#define FMA(r)                                                              \
  do {                                                                      \
    float s_ = a##r[kk];                                                    \
    c##r##0 += b0 * s_;                                                     \
    c##r##1 += b1 * s_;                                                     \
  } while (0)
#define K_LOOP(len)                                                         \
  for (int kk = 0; kk < (len); kk++, bp += GEMM_NR) {                       \
    Vec16 b0 = VLOAD(bp), b1 = VLOAD(bp + 16);                              \
    FMA(0);                                                                 \
    FMA(1);                                                                 \
    FMA(2);                                                                 \
    FMA(3);                                                                 \
    FMA(4);                                                                 \
    FMA(5);                                                                 \
  }
#define STORE_TO(r, x, dst, cols, e, bias0, bias1)                          \
  do {                                                                      \
    if (r < rows) {                                                         \
      float *cr = (dst) + (long)r * ldc;                                    \
      if (cols == GEMM_NR) {                                                \
        if (add) {                                                          \
          x##r##0 += VLOAD(cr);                                             \
          x##r##1 += VLOAD(cr + 16);                                        \
        }                                                                   \
        if (e) {                                                            \
          x##r##0 += bias0;                                                 \
          x##r##1 += bias1;                                                 \
          if (e->res) {                                                     \
            const float *rr = e->res + (long)r * e->res_ld;                 \
            x##r##0 += VLOAD(rr);                                           \
            x##r##1 += VLOAD(rr + 16);                                      \
          }                                                                 \
          VACT(x##r##0, e->act, alpha);                                     \
          VACT(x##r##1, e->act, alpha);                                     \
        }                                                                   \
        VSTORE(cr, x##r##0);                                                \
        VSTORE(cr + 16, x##r##1);                                           \
      } else {                                                              \
        float tmp[GEMM_NR];                                                 \
        VSTORE(tmp, x##r##0);                                               \
        VSTORE(tmp + 16, x##r##1);                                          \
        for (int j = 0; j < cols; j++) {                                    \
          float v = add ? cr[j] + tmp[j] : tmp[j];                          \
          if (e) {                                                          \
            v += e->bias ? e->bias[j] : 0.0f;                               \
            if (e->res)                                                     \
              v += e->res[(long)r * e->res_ld + j];                         \
            v = rt_act_apply(e->act, e->alpha, v);                          \
          }                                                                 \
          cr[j] = v;                                                        \
        }                                                                   \
      }                                                                     \
    }                                                                       \
  } while (0)

#define STORE(r) STORE_TO(r, c, c, cols, e, bias0, bias1)

#define STORE_ALL()                                                         \
  do {                                                                      \
    Vec16 bias0 = {0}, bias1 = {0};                                         \
    float alpha = e ? e->alpha : 0.0f;                                      \
    if (e && e->bias && cols == GEMM_NR) {                                  \
      bias0 = VLOAD(e->bias);                                               \
      bias1 = VLOAD(e->bias + 16);                                          \
    }                                                                       \
    STORE(0);                                                               \
    STORE(1);                                                               \
    STORE(2);                                                               \
    STORE(3);                                                               \
    STORE(4);                                                               \
    STORE(5);                                                               \
  } while (0)

/* A row-major: row r at a + r * lda. add: C += the block's product
 * instead of C = it. e: the epilogue to apply after (the last K block
 * only), its bias and residual already offset to this block's first row
 * and column, or NULL. */
RTK_CLONES static void gemm_block(float *c, long ldc, const float *a, long lda,
                                  const float *bp, int k, int rows, int cols,
                                  int add, const GemmEpilogue *e) {
  ROW(0) = a;
  ROW(1) = a + (1 < rows ? 1 : rows - 1) * lda;
  ROW(2) = a + (2 < rows ? 2 : rows - 1) * lda;
  ROW(3) = a + (3 < rows ? 3 : rows - 1) * lda;
  ROW(4) = a + (4 < rows ? 4 : rows - 1) * lda;
  ROW(5) = a + (5 < rows ? 5 : rows - 1) * lda;
  K_LOOP(k);
  STORE_ALL();
}

/* The last 1 to GEMM_WIDE_MR rows of a GEMM (see gemm_run) take two
 * panels at once: 4 rows x 64 columns, 16 accumulators, instead of 6 x 32
 * with up to two thirds of the FMAs on repeated rows. bp0 and bp1: the two
 * panels' K blocks; cols1 columns of the second are stored, all of the
 * first. */
#define WFMA(r)                                                             \
  do {                                                                      \
    float s_ = a##r[kk];                                                    \
    c##r##0 += b0 * s_;                                                     \
    c##r##1 += b1 * s_;                                                     \
    d##r##0 += b2 * s_;                                                     \
    d##r##1 += b3 * s_;                                                     \
  } while (0)
#define WROW(r)                                                             \
  Vec16 c##r##0 = {0}, c##r##1 = {0}, d##r##0 = {0}, d##r##1 = {0};         \
  const float *a##r = a + (r < rows ? r : rows - 1) * lda
enum { GEMM_WIDE_MR = 4 };

RTK_CLONES static void gemm_block_wide(float *c, long ldc, const float *a,
                                       long lda, const float *bp0,
                                       const float *bp1, int k, int rows,
                                       int cols1, int add,
                                       const GemmEpilogue *e) {
  WROW(0);
  WROW(1);
  WROW(2);
  WROW(3);
  for (int kk = 0; kk < k; kk++, bp0 += GEMM_NR, bp1 += GEMM_NR) {
    Vec16 b0 = VLOAD(bp0), b1 = VLOAD(bp0 + 16);
    Vec16 b2 = VLOAD(bp1), b3 = VLOAD(bp1 + 16);
    WFMA(0);
    WFMA(1);
    WFMA(2);
    WFMA(3);
  }
  float alpha = e ? e->alpha : 0.0f;
  /* The first panel: all its columns. */
  Vec16 bias0 = {0}, bias1 = {0};
  if (e && e->bias) {
    bias0 = VLOAD(e->bias);
    bias1 = VLOAD(e->bias + 16);
  }
  STORE_TO(0, c, c, GEMM_NR, e, bias0, bias1);
  STORE_TO(1, c, c, GEMM_NR, e, bias0, bias1);
  STORE_TO(2, c, c, GEMM_NR, e, bias0, bias1);
  STORE_TO(3, c, c, GEMM_NR, e, bias0, bias1);
  /* The second: cols1 columns, its bias and residual GEMM_NR further. */
  GemmEpilogue e1;
  const GemmEpilogue *ep1 = NULL;
  if (e) {
    e1 = *e;
    e1.bias = e->bias ? e->bias + GEMM_NR : NULL;
    e1.res = e->res ? e->res + GEMM_NR : NULL;
    ep1 = &e1;
  }
  bias0 = bias1 = (Vec16){0};
  if (ep1 && ep1->bias && cols1 == GEMM_NR) {
    bias0 = VLOAD(ep1->bias);
    bias1 = VLOAD(ep1->bias + 16);
  }
  STORE_TO(0, d, c + GEMM_NR, cols1, ep1, bias0, bias1);
  STORE_TO(1, d, c + GEMM_NR, cols1, ep1, bias0, bias1);
  STORE_TO(2, d, c + GEMM_NR, cols1, ep1, bias0, bias1);
  STORE_TO(3, d, c + GEMM_NR, cols1, ep1, bias0, bias1);
}

/* The same with A's rows anywhere (GemmRows): row r's K values
 * [k0, k0 + kc) in runs of seglen floats, run s at arow[r] + aseg[r][s]. */
#define RUN(r) a##r = arow[r] + aseg[r][s] + off
RTK_CLONES static void gemm_block_rows(float *c, long ldc,
                                       const float *const *arow,
                                       const long *const *aseg, int seglen,
                                       int k0, const float *bp, int kc,
                                       int rows, int cols, int add,
                                       const GemmEpilogue *e) {
  ROW(0);
  ROW(1);
  ROW(2);
  ROW(3);
  ROW(4);
  ROW(5);
  int s = k0 / seglen, off = k0 - s * seglen;
  for (int left = kc; left > 0; s++, off = 0) {
    int len = seglen - off < left ? seglen - off : left;
    left -= len;
    RUN(0);
    RUN(1);
    RUN(2);
    RUN(3);
    RUN(4);
    RUN(5);
    K_LOOP(len);
  }
  STORE_ALL();
}

/* The epilogue of the block at row i0, column p0 of this call's C. */
static GemmEpilogue block_epilogue(const RtEpilogue *ep, long res_ld,
                                   long row0, int col0, int i0, int p0) {
  long pix = row0 + i0;
  int ch = col0 + p0;
  return (GemmEpilogue){
      .bias = ep->bias ? ep->bias + ch : NULL,
      .res = ep->residual ? ep->residual + pix * res_ld + ch : NULL,
      .res_ld = res_ld, .act = ep->act, .alpha = ep->alpha};
}

/* A's rows are either row-major (a, lda; rows NULL) or given by rows.
 * Row-major A of more than GEMM_MR rows leaves a tail of at most
 * GEMM_WIDE_MR rows to the two-panel kernel, run from the even panel of
 * each pair: the Winograd GEMMs of 16 blocks (6 + 6 + 4 rows) gained 5%
 * in resnet_mini. A of GEMM_MR rows or fewer keeps the one-panel kernel:
 * alone, two panels would stream B from memory as two interleaved runs,
 * which made the 4-row GEMMs of resnet_mini's 8x8 layers 15% to 28%
 * slower with their B cold (2 threads, Zen 4 VM), though 1.4x faster with
 * B in cache. */
static void gemm_run(float *c, long ldc, const float *a, long lda,
                     const GemmRows *rows_a, const float *bp, int m, int n,
                     int k, const RtEpilogue *ep, long row0, int col0) {
  int fused = !rtk_epilogue_is_identity(ep) && vec_act_supported(ep->act);
  long res_ld = fused && ep->residual ? (ep->res_cs ? ep->res_cs : ldc) : 0;
  int tail = rows_a ? 0 : m % GEMM_MR;
  if (tail > GEMM_WIDE_MR || n <= GEMM_NR || m <= GEMM_MR)
    tail = 0;
  int main_rows = m - tail;
  long panel = (long)k * GEMM_NR;
  for (int p0 = 0; p0 < n; p0 += GEMM_NR, bp += panel) {
    int cols = n - p0 < GEMM_NR ? n - p0 : GEMM_NR;
    /* This panel's tail rows: with the next panel's (even panels), by
     * the two-panel pair before (odd), or alone (an even last panel). */
    int pair = tail && (p0 / GEMM_NR) % 2 == 0 && p0 + GEMM_NR < n;
    int alone = tail && (p0 / GEMM_NR) % 2 == 0 && !pair;
    int rows_end = alone ? m : main_rows;
    for (int k0 = 0; k0 < k; k0 += GEMM_KC) {
      int kc = k - k0 < GEMM_KC ? k - k0 : GEMM_KC;
      int last = k0 + kc == k;
      const float *bk = bp + (long)k0 * GEMM_NR;
      for (int i0 = 0; i0 < rows_end; i0 += GEMM_MR) {
        int rows = rows_end - i0 < GEMM_MR ? rows_end - i0 : GEMM_MR;
        GemmEpilogue e;
        if (fused && last)
          e = block_epilogue(ep, res_ld, row0, col0, i0, p0);
        float *cb = c + (long)i0 * ldc + p0;
        const GemmEpilogue *eb = fused && last ? &e : NULL;
        if (!rows_a) {
          gemm_block(cb, ldc, a + (long)i0 * lda + k0, lda, bk, kc, rows,
                     cols, k0 > 0, eb);
          continue;
        }
        const float *arow[GEMM_MR];
        const long *aseg[GEMM_MR];
        for (int r = 0; r < GEMM_MR; r++) {
          long i = i0 + (r < rows ? r : rows - 1);
          arow[r] = rows_a->row[i];
          aseg[r] = rows_a->seg[i];
        }
        gemm_block_rows(cb, ldc, arow, aseg, rows_a->seglen, k0, bk, kc, rows,
                        cols, k0 > 0, eb);
      }
      if (pair) {
        int cols1 = n - p0 - GEMM_NR < GEMM_NR ? n - p0 - GEMM_NR : GEMM_NR;
        GemmEpilogue e;
        if (fused && last)
          e = block_epilogue(ep, res_ld, row0, col0, main_rows, p0);
        gemm_block_wide(c + (long)main_rows * ldc + p0, ldc,
                        a + (long)main_rows * lda + k0, lda, bk, bk + panel,
                        kc, tail, cols1, k0 > 0, fused && last ? &e : NULL);
      }
    }
  }
  if (!fused)
    rtk_epilogue_tile(c, (int)ldc, ep, row0, col0, m, n);
}

void rtk_gemm_packed_ep(float *c, long ldc, const float *a, long lda,
                        const float *bp, int m, int n, int k,
                        const RtEpilogue *ep, long row0, int col0) {
  gemm_run(c, ldc, a, lda, NULL, bp, m, n, k, ep, row0, col0);
}

void rtk_gemm_packed_rows_ep(float *c, long ldc, const GemmRows *a,
                             const float *bp, int m, int n, int k,
                             const RtEpilogue *ep, long row0, int col0) {
  gemm_run(c, ldc, NULL, 0, a, bp, m, n, k, ep, row0, col0);
}

void rtk_gemm_packed(float *c, long ldc, const float *a, long lda,
                     const float *bp, int m, int n, int k) {
  rtk_gemm_packed_ep(c, ldc, a, lda, bp, m, n, k, NULL, 0, 0);
}
