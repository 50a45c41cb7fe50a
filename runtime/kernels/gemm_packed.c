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
 * The register kernel (gemm_blocks.h) computes 6 rows x 32 columns of C
 * per step with AVX-512, 12 accumulators of 16 floats, the panel's two
 * vectors loaded and each A value broadcast once per k; with AVX2, whose
 * 16 registers would not hold that, 6 rows x 16 columns, half a panel,
 * and without AVX2 6 x 8 (kernels_internal.h, "Vector-width variants"). K
 * is cut into blocks of GEMM_KC so that a panel's block (GEMM_KC x 32
 * floats, 32 KiB) stays in L1 while all row blocks stream past it; later
 * K blocks add into C. This file is compiled with -ffp-contract=fast so
 * that acc += b * a becomes one FMA (ISO C mode would otherwise forbid
 * the contraction). */
#include <string.h>

#include "kernels_internal.h"
#include "vec16.h"
#include "vec8x2.h"

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

/* The register kernels for 16-float vectors (AVX-512), 8 (AVX2) and 4
 * (SSE2 and other targets), each where this build can run it
 * (kernels_internal.h, "Vector-width variants"). */
#if RTK_HAS_WIDE
#define GB_NAME(f) f##_wide16
#define GB_ATTR RTK_WIDE_TARGET
#define GB_V Vec16
#define GB_VU Vec16u
#define GB_VI Vec16i
#define GB_W 16
#define GB_TWO_PANEL 1
#include "gemm_blocks.h"
#endif
#if RTK_HAS_NARROW
#define GB_NAME(f) f##_narrow8
#define GB_ATTR RTK_NARROW_TARGET
#define GB_V Vec8
#define GB_VU Vec8u
#define GB_VI Vec8i
#define GB_W 8
#define GB_TWO_PANEL 0
#include "gemm_blocks.h"
#endif
#if RTK_HAS_BASE
#define GB_NAME(f) f##_base4
#define GB_ATTR RTK_BASE_TARGET
#define GB_V Vec4
#define GB_VU Vec4u
#define GB_VI Vec4i
#define GB_W 4
#define GB_TWO_PANEL 0
#include "gemm_blocks.h"
#endif

/* One variant's kernels: a block is GEMM_MR rows by nr columns of a
 * panel; two_panel is NULL where the variant has no two-panel tail. */
typedef struct GemmKernels {
  void (*block)(float *c, long ldc, const float *a, long lda, const float *bp,
                int k, int rows, int cols, int add, const GemmEpilogue *e);
  void (*block_rows)(float *c, long ldc, const float *const *arow,
                     const long *const *aseg, int seglen, int k0,
                     const float *bp, int kc, int rows, int cols, int add,
                     const GemmEpilogue *e);
  void (*two_panel)(float *c, long ldc, const float *a, long lda,
                    const float *bp0, const float *bp1, int k, int rows,
                    int cols1, int add, const GemmEpilogue *e);
  int nr; /* a block's columns */
} GemmKernels;

static GemmKernels gemm_kernels(void) {
  int width = rtk_vec_width();
  (void)width;
#if RTK_HAS_WIDE
  if (width == 16)
    return (GemmKernels){gemm_block_wide16, gemm_block_rows_wide16,
                         gemm_block_two_panel_wide16, 2 * 16};
#endif
#if RTK_HAS_NARROW
  if (width == 8)
    return (GemmKernels){gemm_block_narrow8, gemm_block_rows_narrow8, NULL,
                         2 * 8};
#endif
#if RTK_HAS_BASE
  return (GemmKernels){gemm_block_base4, gemm_block_rows_base4, NULL, 2 * 4};
#else
  return (GemmKernels){0}; /* unreachable: this build has that width */
#endif
}

enum { GEMM_WIDE_MR = 4 };

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
 * GEMM_WIDE_MR rows to the two-panel kernel where the variant has one,
 * run from the even panel of each pair: the Winograd GEMMs of 16 blocks
 * (6 + 6 + 4 rows) gained 5% in resnet_mini. A of GEMM_MR rows or fewer
 * keeps the one-panel kernel: alone, two panels would stream B from
 * memory as two interleaved runs, which made the 4-row GEMMs of
 * resnet_mini's 8x8 layers 15% to 28% slower with their B cold (2
 * threads, Zen 4 VM), though 1.4x faster with B in cache. A variant whose
 * block is narrower than the panel takes the panel's column blocks one
 * after the other for each block of rows, which reads those rows of A
 * from L1 the second time: cifar_bn_cnn's AVX2 build 10% faster than with
 * each column block over all the rows (batch 8, one thread, paired; a K
 * block of 128 instead of 256 changed nothing). */
static void gemm_run(float *c, long ldc, const float *a, long lda,
                     const GemmRows *rows_a, const float *bp, int m, int n,
                     int k, const RtEpilogue *ep, long row0, int col0) {
  GemmKernels kern = gemm_kernels();
  int fused = !rtk_epilogue_is_identity(ep) && vec_act_supported(ep->act);
  long res_ld = fused && ep->residual ? (ep->res_cs ? ep->res_cs : ldc) : 0;
  int tail = rows_a || !kern.two_panel ? 0 : m % GEMM_MR;
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
      for (int i0 = 0; i0 < rows_end; i0 += GEMM_MR) {
        int rows = rows_end - i0 < GEMM_MR ? rows_end - i0 : GEMM_MR;
        const float *arow[GEMM_MR];
        const long *aseg[GEMM_MR];
        for (int r = 0; rows_a && r < GEMM_MR; r++) {
          long i = i0 + (r < rows ? r : rows - 1);
          arow[r] = rows_a->row[i];
          aseg[r] = rows_a->seg[i];
        }
        for (int j0 = 0; j0 < cols; j0 += kern.nr) {
          int bcols = cols - j0 < kern.nr ? cols - j0 : kern.nr;
          const float *bk = bp + (long)k0 * GEMM_NR + j0;
          GemmEpilogue e;
          if (fused && last)
            e = block_epilogue(ep, res_ld, row0, col0, i0, p0 + j0);
          float *cb = c + (long)i0 * ldc + p0 + j0;
          const GemmEpilogue *eb = fused && last ? &e : NULL;
          if (!rows_a)
            kern.block(cb, ldc, a + (long)i0 * lda + k0, lda, bk, kc, rows,
                       bcols, k0 > 0, eb);
          else
            kern.block_rows(cb, ldc, arow, aseg, rows_a->seglen, k0, bk, kc,
                            rows, bcols, k0 > 0, eb);
        }
      }
      if (pair) {
        int cols1 = n - p0 - GEMM_NR < GEMM_NR ? n - p0 - GEMM_NR : GEMM_NR;
        const float *bk = bp + (long)k0 * GEMM_NR;
        GemmEpilogue e;
        if (fused && last)
          e = block_epilogue(ep, res_ld, row0, col0, main_rows, p0);
        kern.two_panel(c + (long)main_rows * ldc + p0, ldc,
                       a + (long)main_rows * lda + k0, lda, bk, bk + panel, kc,
                       tail, cols1, k0 > 0, fused && last ? &e : NULL);
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
