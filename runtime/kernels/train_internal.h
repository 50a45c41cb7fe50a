/* Private helpers of the training kernels (train_*.c): the deterministic
 * per-channel reductions that parameter gradients and batch statistics
 * are made of. Not installed. */
#ifndef NETC_TRAIN_INTERNAL_H
#define NETC_TRAIN_INTERNAL_H

#include "kernels_internal.h"
#include "netc/train_kernels.h"

/* Channels one reduction call handles, and the most threads whose partial
 * sums it keeps (on the stack: TRK_MAXT * 2 * TRK_RCH doubles, 32 KiB). */
enum { TRK_RCH = 64, TRK_MAXT = 32 };

/* What trk_colreduce sums over the rows r, for each channel k of the
 * chunk (a[r*a_cs + k], b[r*b_cs + k], p1[k], p2[k]):
 *  - TRK_SUM:     s1 = sum a                                (bias grads)
 *  - TRK_MOMENTS: s1 = sum (a - p1), s2 = sum (a - p1)^2    (p1 a shift)
 *  - TRK_BN_GRAD: s1 = sum a, s2 = sum a * (b - p1) * p2    (dy, x, mean, invstd)
 *  - TRK_PRELU:   s1 = sum (b > 0 ? 0 : a * b)              (dy, x)
 *  - TRK_DOT:     s1 = sum a * b */
typedef enum TrkReduce {
  TRK_SUM,     /* column sums */
  TRK_MOMENTS, /* shifted first and second moments */
  TRK_BN_GRAD, /* batch-norm backward sums */
  TRK_PRELU,   /* PReLU slope gradient */
  TRK_DOT,     /* products */
} TrkReduce;

/* Sums over rows [0, rows) of channels [0, cn) (cn <= TRK_RCH) into s1 and
 * s2 (s2 may be NULL unless the mode writes it), in double. The rows are
 * split into one fixed range per thread and the partial sums added in
 * thread order, so the result depends on the thread count but never on
 * scheduling. Callers pass pointers already advanced to their first
 * channel. Must not be called from inside a parallel region. */
void trk_colreduce(int threads, TrkReduce mode, double *s1, double *s2, long rows, int cn, const float *a, long a_cs,
                   const float *b, long b_cs, const float *p1, const float *p2);

/* Threads worth using for `work` simple float operations: a team costs
 * more than small jobs. */
int trk_threads_for(const RtContext *ctx, double work);

/* dst[r*cs + k] = 0 for k < c, rows r < rows (a gradient that is
 * overwritten before it is accumulated into). */
void trk_zero_rows(int threads, float *dst, long rows, int c, long cs);

#endif
