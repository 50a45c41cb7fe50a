/* Dense (Keras Dense): out[rows, out] = in[rows, in] x kernel[in, out],
 * bias and activation fused. At batch sizes that give every thread a
 * block of rows the threads split the rows; otherwise (batch 1 inference,
 * the usual case for a classifier head) they split the output columns,
 * which splits the weight matrix, the part that dominates the traffic. A
 * head of at most 16 outputs has too few columns to split: the threads
 * split its input dimension instead (dense_k_share), and a kernel of ours
 * (dense_narrow) replaces OpenBLAS, whose SGEMV runs it as short axpys;
 * at several rows the threads split the rows (dense_narrow_rows). Each
 * narrow kernel has a twin on 8-float halves for AVX2; without AVX2 the
 * heads go to OpenBLAS (kernels_internal.h, "Vector-width variants"). */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "kernels_internal.h"
#include "vec16.h"
#include "vec8x2.h"

/* Rows per thread below which splitting rows stops paying; the outputs of
 * a narrow head (one 16-float vector: dense_narrow). */
enum { MIN_ROWS = 32, NARROW_OUT = 16 };

/* The kernel rows of a narrow head whose 16-float vector stays inside w
 * (kk * ldw + 16 <= (k - 1) * ldw + n); the rest go through
 * narrow_padded_row. */
static long narrow_safe_rows(int k, int n, long ldw) {
  long safe = k - (16 - n + ldw - 1) / ldw;
  return safe < 0 ? 0 : safe;
}

/* Kernel row kk's n floats, zero-padded to 16. */
static void narrow_padded_row(float row[16], const float *w, long ldw, long kk,
                              int n) {
  memset(row, 0, 16 * sizeof *row);
  memcpy(row, w + kk * ldw, (size_t)n * sizeof *row);
}

/* out[0, n) = x[0, k) x w[k, ldw] columns [0, n), for n <= 16: a head of
 * a few classes (mnist_cnn's 25088 x 10). cblas_sgemv runs that as 25088
 * axpys of 10 floats, 8.7 GFLOP/s at batch 1; here each input value
 * multiplies a vector read from its row of w, 16 floats that run into the
 * next row (their lanes past n are dropped), eight rows in flight. The
 * last rows, whose vector would run past w, go through a padded copy. */
RTK_CLONES
static void dense_narrow(float *out, const float *x, const float *w, long ldw,
                         int k, int n) {
  Vec16 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, a4 = {0}, a5 = {0}, a6 = {0},
        a7 = {0};
  long safe = narrow_safe_rows(k, n, ldw), kk = 0;
  for (; kk + 8 <= safe; kk += 8) {
    const float *r = w + kk * ldw;
    a0 += VLOAD(r) * x[kk];
    a1 += VLOAD(r + ldw) * x[kk + 1];
    a2 += VLOAD(r + 2 * ldw) * x[kk + 2];
    a3 += VLOAD(r + 3 * ldw) * x[kk + 3];
    a4 += VLOAD(r + 4 * ldw) * x[kk + 4];
    a5 += VLOAD(r + 5 * ldw) * x[kk + 5];
    a6 += VLOAD(r + 6 * ldw) * x[kk + 6];
    a7 += VLOAD(r + 7 * ldw) * x[kk + 7];
  }
  for (; kk < k; kk++) {
    float row[16];
    narrow_padded_row(row, w, ldw, kk, n);
    a0 += VLOAD(row) * x[kk];
  }
  float sum[16];
  VSTORE(sum, ((a0 + a1) + (a2 + a3)) + ((a4 + a5) + (a6 + a7)));
  for (int j = 0; j < n; j++)
    out[j] = sum[j];
}

/* dense_narrow for AVX2 (kernels_internal.h): the 16 lanes
 * as two 8-float halves, four rows in flight (8 of AVX2's 16 registers). */
RTK_CLONES
static void dense_narrow_x2(float *out, const float *x, const float *w,
                            long ldw, int k, int n) {
  Vec16x2 a0 = {0}, a1 = {0}, a2 = {0}, a3 = {0}, v;
  long safe = narrow_safe_rows(k, n, ldw), kk = 0;
  for (; kk + 4 <= safe; kk += 4) {
    const float *r = w + kk * ldw;
    V2LOAD(v, r);
    V2FMA(a0, v, x[kk]);
    V2LOAD(v, r + ldw);
    V2FMA(a1, v, x[kk + 1]);
    V2LOAD(v, r + 2 * ldw);
    V2FMA(a2, v, x[kk + 2]);
    V2LOAD(v, r + 3 * ldw);
    V2FMA(a3, v, x[kk + 3]);
  }
  for (; kk < k; kk++) {
    float row[16];
    narrow_padded_row(row, w, ldw, kk, n);
    V2LOAD(v, row);
    V2FMA(a0, v, x[kk]);
  }
  a0.lo += a1.lo + (a2.lo + a3.lo);
  a0.hi += a1.hi + (a2.hi + a3.hi);
  float sum[16];
  V2STORE(sum, a0);
  for (int j = 0; j < n; j++)
    out[j] = sum[j];
}

/* The same for rows x[r] = x + r * ldx (rows <= NARROW_ROWS) at once, into
 * out + r * ldo: each vector of w is read once for all rows, two input
 * values per row in flight. A chunk of 8 images through mnist_cnn's head
 * ran as a single-threaded cblas_sgemm of N = 10 at 8% of the peak. */
enum { NARROW_ROWS = 4 };
RTK_CLONES
static void dense_narrow_rows(float *out, long ldo, const float *x, long ldx,
                              const float *w, long ldw, int k, int n,
                              int rows) {
  Vec16 a[NARROW_ROWS][2] = {{{0}}};
  long safe = narrow_safe_rows(k, n, ldw), kk = 0;
  for (; kk + 2 <= safe; kk += 2) {
    const Vec16 w0 = VLOAD(w + kk * ldw), w1 = VLOAD(w + (kk + 1) * ldw);
#pragma GCC unroll 4
    for (int r = 0; r < NARROW_ROWS; r++) {
      if (r < rows) {
        a[r][0] += w0 * x[r * ldx + kk];
        a[r][1] += w1 * x[r * ldx + kk + 1];
      }
    }
  }
  for (; kk < k; kk++) {
    float row[16];
    narrow_padded_row(row, w, ldw, kk, n);
    for (int r = 0; r < rows; r++)
      a[r][0] += VLOAD(row) * x[r * ldx + kk];
  }
  for (int r = 0; r < rows; r++) {
    float sum[16];
    VSTORE(sum, a[r][0] + a[r][1]);
    for (int j = 0; j < n; j++)
      out[r * ldo + j] = sum[j];
  }
}

/* dense_narrow_rows for AVX2: one input value per row in
 * flight (8 ymm accumulators). */
RTK_CLONES
static void dense_narrow_rows_x2(float *out, long ldo, const float *x,
                                 long ldx, const float *w, long ldw, int k,
                                 int n, int rows) {
  Vec16x2 a[NARROW_ROWS] = {0}, v;
  long safe = narrow_safe_rows(k, n, ldw), kk = 0;
  for (; kk < safe; kk++) {
    V2LOAD(v, w + kk * ldw);
#pragma GCC unroll 4
    for (int r = 0; r < NARROW_ROWS; r++)
      if (r < rows)
        V2FMA(a[r], v, x[r * ldx + kk]);
  }
  for (; kk < k; kk++) {
    float row[16];
    narrow_padded_row(row, w, ldw, kk, n);
    V2LOAD(v, row);
    for (int r = 0; r < rows; r++)
      V2FMA(a[r], v, x[r * ldx + kk]);
  }
  for (int r = 0; r < rows; r++) {
    float sum[16];
    V2STORE(sum, a[r]);
    for (int j = 0; j < n; j++)
      out[r * ldo + j] = sum[j];
  }
}

/* A narrow head's kernels for this CPU's vectors (rtk_vec_width): the
 * 16-float ones, their twins on 8-float halves, or OpenBLAS where vectors
 * are 4 floats (the halves would live in memory there). One row: */
static void narrow_one(float *out, const float *x, const float *w, long ldw,
                       int k, int n, int width) {
  if (width >= 16)
    dense_narrow(out, x, w, ldw, k, n);
  else if (width >= 8)
    dense_narrow_x2(out, x, w, ldw, k, n);
  else
    cblas_sgemv(CblasRowMajor, CblasTrans, k, n, 1.0f, w, ldw, x, 1, 0.0f,
                out, 1);
}

/* Up to NARROW_ROWS rows: */
static void narrow_rows(float *out, long ldo, const float *x, long ldx,
                        const float *w, long ldw, int k, int n, int rows,
                        int width) {
  if (width >= 16)
    dense_narrow_rows(out, ldo, x, ldx, w, ldw, k, n, rows);
  else if (width >= 8)
    dense_narrow_rows_x2(out, ldo, x, ldx, w, ldw, k, n, rows);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rows, n, k, 1.0f,
                x, ldx, w, ldw, 0.0f, out, ldo);
}

static void dense_block(float *out, const float *in, const float *kernel,
                        const RtEpilogue *ep, const RtDense *d, int in_cs,
                        int out_cs, long r0, long rows, int c0, int cols) {
  float *c = out + r0 * out_cs + c0;
  int width = rtk_vec_width();
  if (cols <= NARROW_OUT && rows == 1) {
    narrow_one(c, in + r0 * in_cs, kernel + c0, d->out, d->in, cols, width);
  } else if (cols <= NARROW_OUT) {
    for (long r = 0; r < rows; r += NARROW_ROWS)
      narrow_rows(c + r * out_cs, out_cs, in + (r0 + r) * in_cs, in_cs,
                  kernel + c0, d->out, d->in, cols,
                  rows - r < NARROW_ROWS ? (int)(rows - r) : NARROW_ROWS,
                  width);
  } else if (rows == 1)
    cblas_sgemv(CblasRowMajor, CblasTrans, d->in, cols, 1.0f, kernel + c0,
                d->out, in + r0 * in_cs, 1, 0.0f, c, 1);
  else
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)rows, cols,
                d->in, 1.0f, in + r0 * in_cs, in_cs, kernel + c0, d->out, 0.0f,
                c, out_cs);
  rtk_epilogue_tile(c, out_cs, ep, r0, c0, rows, cols);
}

/* The calling thread's block: of rows, or of columns (whole 16-float
 * vectors) when the rows are too few to split. */
static void dense_share(float *out, const float *in, const float *kernel,
                        const RtEpilogue *ep, const RtDense *d, int in_cs,
                        int out_cs, int by_rows, int parts) {
  long lo, hi;
  if (by_rows) {
    if (rtk_share(d->rows, parts, &lo, &hi))
      dense_block(out, in, kernel, ep, d, in_cs, out_cs, lo, hi - lo, 0,
                  d->out);
    return;
  }
  long vectors = (d->out + 15) / 16;
  if (rtk_share(vectors, parts, &lo, &hi)) {
    int c0 = (int)lo * 16;
    int cols = (int)(hi * 16 < d->out ? hi * 16 : d->out) - c0;
    dense_block(out, in, kernel, ep, d, in_cs, out_cs, 0, d->rows, c0, cols);
  }
}

/* One input row into at most 16 outputs, its K split between the
 * threads: each sums its share of the kernel's rows, then the threads add
 * their sums into out one after another, in thread order (a barrier each),
 * and the last applies the epilogue. mnist_cnn's 25088 x 10 head: each
 * thread streams half of its 1 MB of weights. Every thread of the team
 * passes the same barriers, those past `parts` with no share. */
static void dense_k_share(float *out, const float *in, const float *kernel,
                          const RtEpilogue *ep, const RtDense *d, int parts) {
  long lo, hi;
  int mine = rtk_share(d->in, parts, &lo, &hi);
  float part[16];
  if (mine)
    narrow_one(part, in + lo, kernel + lo * d->out, d->out, (int)(hi - lo),
               d->out, rtk_vec_width());
  int t = omp_get_thread_num(), size = omp_get_num_threads();
  for (int s = 0; s < size; s++) {
    if (s == t && mine) {
      for (int j = 0; j < d->out; j++)
        out[j] = lo == 0 ? part[j] : out[j] + part[j];
      if (hi == d->in)
        rtk_epilogue_tile(out, d->out, ep, 0, 0, 1, d->out);
    }
    if (s + 1 < size)
      RTK_SYNC();
  }
}

/* Inputs per row from which a narrow head (dense_k_share) splits its K. */
enum { K_SPLIT_MIN = 4096 };

RtStatus rt_dense(const RtContext *ctx, float *out, const float *in,
                  const float *kernel, const RtEpilogue *ep, const RtDense *d) {
  if (!out || !in || !kernel || !d || d->rows < 1 || d->in < 1 || d->out < 1)
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->in), out_cs = rtk_cs(d->out_cs, d->out);
  if (in_cs < d->in || out_cs < d->out)
    return RT_ERR_ARG;
  rtk_blas_single();
  int threads = rtk_threads(ctx);
  if (threads > 1 && d->rows == 1 && d->out <= NARROW_OUT && d->in >= K_SPLIT_MIN) {
    RTK_TEAM(ctx, threads, dense_k_share(out, in, kernel, ep, d, threads));
    return RT_OK;
  }
  double flops = 2.0 * d->rows * d->in * d->out;
  if (flops < 1e6)
    threads = 1; /* a thread team costs more than this */
  /* A narrow head has one column block: rows are all there is to split. */
  int by_rows = d->rows >= (long)threads * (d->out <= NARROW_OUT ? 1 : MIN_ROWS);
  RTK_TEAM(ctx, threads,
           dense_share(out, in, kernel, ep, d, in_cs, out_cs, by_rows, threads));
  return RT_OK;
}
