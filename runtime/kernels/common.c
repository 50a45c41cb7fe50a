/* Runtime-wide kernel plumbing: thread counts and the OpenBLAS threading
 * guard. */
#include <cblas.h>
#include <omp.h>

#include "kernels_internal.h"

int rtk_threads(const RtContext *ctx) {
  if (ctx && ctx->num_threads > 0)
    return ctx->num_threads;
  return omp_get_max_threads();
}

void rtk_blas_single(void) {
  /* OpenBLAS (the pthread build) would otherwise start its own pool for
   * every call made from our OpenMP threads: both pools spin on the same
   * cores and large GEMMs ran at half speed in measurement. Tiles per
   * thread with a one-thread GEMM each kept every core at full speed. */
  if (openblas_get_num_threads() != 1)
    openblas_set_num_threads(1);
}
