/* Plumbing shared by the training kernels: the deterministic per-channel
 * reductions behind every parameter gradient and batch statistic, and
 * zeroing of strided gradients. */
#include <omp.h>
#include <string.h>

#include "train_internal.h"

/* Below this many rows per thread a reduction is not worth splitting. */
enum { MIN_ROWS = 64 };

int trk_threads_for(const RtContext *ctx, double work) {
  int threads = rtk_threads(ctx);
  if (work < (double)(1 << 15))
    return 1;
  return threads;
}

/* One thread's rows [r0, r1); a separate function so that the loops are
 * plain and the compiler can vectorize the channel loop, 8 doubles at a
 * time in the AVX-512 clone (6% of a resnet_mini training step at the
 * baseline's 2). */
RTK_CLONES
static void colreduce_range(TrkReduce mode, double *restrict s1, double *restrict s2, long r0, long r1, int cn,
                            const float *a, long a_cs, const float *b, long b_cs, const float *p1,
                            const float *p2) {
  for (int k = 0; k < cn; k++) {
    s1[k] = 0.0;
    s2[k] = 0.0;
  }
  for (long r = r0; r < r1; r++) {
    const float *x = a + r * a_cs;
    const float *y = b ? b + r * b_cs : NULL;
    switch (mode) {
    case TRK_SUM:
      for (int k = 0; k < cn; k++)
        s1[k] += x[k];
      break;
    case TRK_MOMENTS:
      for (int k = 0; k < cn; k++) {
        double v = (double)x[k] - p1[k];
        s1[k] += v;
        s2[k] += v * v;
      }
      break;
    case TRK_BN_GRAD:
      for (int k = 0; k < cn; k++) {
        s1[k] += x[k];
        s2[k] += (double)x[k] * (((double)y[k] - p1[k]) * p2[k]);
      }
      break;
    case TRK_PRELU:
      for (int k = 0; k < cn; k++)
        s1[k] += y[k] > 0.0f ? 0.0 : (double)x[k] * y[k];
      break;
    case TRK_DOT:
      for (int k = 0; k < cn; k++)
        s1[k] += (double)x[k] * y[k];
      break;
    }
  }
}

void trk_colreduce(int threads, TrkReduce mode, double *s1, double *s2, long rows, int cn, const float *a, long a_cs,
                   const float *b, long b_cs, const float *p1, const float *p2) {
  double part[TRK_MAXT][2][TRK_RCH];
  double scratch[TRK_RCH];
  if (!s2)
    s2 = scratch;
  int t_use = threads < TRK_MAXT ? threads : TRK_MAXT;
  long by_rows = rows / MIN_ROWS;
  if (by_rows < t_use)
    t_use = by_rows < 1 ? 1 : (int)by_rows;
  if (t_use == 1) {
    colreduce_range(mode, s1, s2, 0, rows, cn, a, a_cs, b, b_cs, p1, p2);
    return;
  }
  long chunk = (rows + t_use - 1) / t_use;
#pragma omp parallel for num_threads(t_use) schedule(static)
  for (int t = 0; t < t_use; t++) {
    long r0 = t * chunk, r1 = r0 + chunk < rows ? r0 + chunk : rows;
    if (r0 > r1)
      r0 = r1;
    colreduce_range(mode, part[t][0], part[t][1], r0, r1, cn, a, a_cs, b, b_cs, p1, p2);
  }
  for (int k = 0; k < cn; k++) {
    double u = 0.0, v = 0.0;
    for (int t = 0; t < t_use; t++) {
      u += part[t][0][k];
      v += part[t][1][k];
    }
    s1[k] = u;
    s2[k] = v;
  }
}

void trk_zero_rows(int threads, float *dst, long rows, int c, long cs) {
  if (cs == c) {
    memset(dst, 0, (size_t)rows * (size_t)c * sizeof *dst);
    return;
  }
#pragma omp parallel for num_threads(threads) schedule(static) if (rows * c > (1 << 16))
  for (long r = 0; r < rows; r++)
    memset(dst + r * cs, 0, (size_t)c * sizeof *dst);
}
