/* Runtime-wide kernel plumbing: thread counts, teams and the OpenBLAS
 * threading guard. */
#include <cblas.h>
#include <omp.h>
#include <string.h>

#include "kernels_internal.h"

int rtk_threads(const RtContext *ctx) {
  if (rtk_in_team(ctx))
    return omp_get_num_threads();
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

/* The floats per vector of the kernels OpenBLAS (0.3.21's core names) runs
 * under core `name`; 4 for the SSE ones and any name not listed. */
static int blas_core_width(const char *name) {
  static const char *const wide[] = {"SkylakeX", "Cooperlake", "SapphireRapids"};
  static const char *const narrow[] = {"Haswell", "Zen"};
  for (size_t i = 0; i < sizeof wide / sizeof *wide; i++)
    if (!strcmp(name, wide[i]))
      return 16;
  for (size_t i = 0; i < sizeof narrow / sizeof *narrow; i++)
    if (!strcmp(name, narrow[i]))
      return 8;
  return 4;
}

const char *rt_blas_coretype(void) {
  const char *name = openblas_get_corename();
  return name ? name : "unknown";
}

const char *rt_blas_better_coretype(void) {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (!__builtin_cpu_supports("avx2") || !__builtin_cpu_supports("fma"))
    return NULL;
  /* Only a core without 8-float FMA kernels counts as wrong: an AVX2 core
   * on an AVX-512 CPU (Zen 4 gets "Zen") has the FMA throughput of the
   * AVX-512 one on such CPUs, within a few percent. */
  if (blas_core_width(rt_blas_coretype()) >= 8)
    return NULL;
  int wide = __builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
             __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
             __builtin_cpu_supports("avx512cd");
  return wide ? "SkylakeX" : "Haswell";
#else
  return NULL;
#endif
}

RtStatus rt_team_run(const RtContext *ctx,
                     RtStatus (*body)(const RtContext *ctx, void *arg),
                     void *arg) {
  if (!ctx || !body)
    return RT_ERR_ARG;
  RtContext team = *ctx;
  team.team = 1;
  int threads = rtk_threads(ctx);
  /* Before the team: its threads would race to set it. */
  rtk_blas_single();
  RtStatus status = RT_OK;
#pragma omp parallel num_threads(threads > 1 ? threads : 1)
  {
    RtStatus s = body(&team, arg);
    if (omp_get_thread_num() == 0)
      status = s;
  }
  return status;
}

void rt_layer_done(const RtContext *ctx, int layer) {
  if (!ctx || !ctx->layer_done)
    return;
  if (!ctx->team) {
    ctx->layer_done(ctx->layer_arg, layer);
    return;
  }
  /* The layer's kernel ended in step; the others wait for the report so
   * that the next layer's time starts after it. */
  if (omp_get_thread_num() == 0)
    ctx->layer_done(ctx->layer_arg, layer);
#pragma omp barrier
}

#if RTK_HAS_WIDE + RTK_HAS_NARROW + RTK_HAS_BASE > 1
int rtk_vec_width(void) {
  /* The features RTK_CLONES' resolver tests for x86-64-v4, and AVX2 with
   * FMA. Called per GEMM; libgcc (or compiler-rt) has filled them in
   * before main, and __builtin_cpu_init returns at once after that. */
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512bw") &&
      __builtin_cpu_supports("avx512dq") && __builtin_cpu_supports("avx512vl") &&
      __builtin_cpu_supports("avx512cd"))
    return 16;
  if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
    return 8;
  return 4;
}
#endif

/* The variant rtk_vec_width picks, by the instruction set behind it. */
const char *rt_kernel_isa(void) {
#if RTK_HAS_WIDE + RTK_HAS_NARROW + RTK_HAS_BASE > 1
  int width = rtk_vec_width();
  return width == 16 ? "avx512" : width == 8 ? "avx2" : "x86-64";
#else /* one build for the compiler's target, no clones: its width */
  return RTK_HAS_WIDE     ? "avx512"
         : RTK_HAS_NARROW ? "avx2"
#if defined(__x86_64__)
                          : "x86-64";
#else
                          : "native";
#endif
#endif
}
