/* Private helpers shared by the kernel files: thread counts, the OpenBLAS
 * threading guard, instruction-set clones and the fused epilogue. Not
 * installed; emitted code sees only netc/kernels.h. */
#ifndef NETC_KERNELS_INTERNAL_H
#define NETC_KERNELS_INTERNAL_H

#include <omp.h>
#include <stddef.h>

#include "netc/kernels.h"

/* The build targets baseline x86-64 (SSE2) so that one library runs
 * everywhere. Hot loops that the compiler vectorizes are cloned for AVX2
 * and AVX-512 and picked at load time (ifunc), which is where the 4x-8x
 * wider registers pay. Functions with this attribute must not contain an
 * OpenMP parallel region (its outlined body would not inherit the target):
 * call them from one instead. Their names must be unique across the
 * library even when static: clang 14 gives a static clone's resolver an
 * external symbol name. */
#if defined(__x86_64__) && defined(__linux__) && !defined(NETC_NO_CLONES)
#define RTK_CLONES \
  __attribute__((target_clones("arch=x86-64-v4", "arch=x86-64-v3", "default")))
#else
#define RTK_CLONES
#endif

/* ---- Vector-width variants -------------------------------------------------
 * A register kernel's blocking depends on the register file: AVX-512 has
 * 32 registers of 16 floats, AVX2 16 of 8, SSE2 16 of 4. And GCC keeps a
 * generic vector wider than the target's registers in memory (a load and
 * a store per FMA, some 20x to 35x slower), so one source cannot serve
 * them all through clones. Kernels that care are written once over a
 * vector type and built per width: 16 floats (RTK_WIDE_TARGET: AVX-512),
 * 8 (RTK_NARROW_TARGET: AVX2 and FMA, exactly what rtk_vec_width tests,
 * not all of x86-64-v3) and 4 (RTK_BASE_TARGET: baseline x86-64, or any
 * other target), each where this build can run it (RTK_HAS_WIDE,
 * RTK_HAS_NARROW, RTK_HAS_BASE); rtk_vec_width() says which to call.
 * Without clones the build's own target decides. */
#if defined(__x86_64__) && defined(__linux__) && !defined(NETC_NO_CLONES)
#define RTK_WIDE_TARGET __attribute__((target("arch=x86-64-v4")))
#define RTK_NARROW_TARGET __attribute__((target("avx2,fma")))
#define RTK_BASE_TARGET
#define RTK_HAS_WIDE 1
#define RTK_HAS_NARROW 1
#define RTK_HAS_BASE 1
#elif defined(__AVX512F__)
#define RTK_WIDE_TARGET
#define RTK_HAS_WIDE 1
#define RTK_HAS_NARROW 0
#define RTK_HAS_BASE 0
#elif defined(__AVX2__) && defined(__FMA__)
#define RTK_NARROW_TARGET
#define RTK_HAS_WIDE 0
#define RTK_HAS_NARROW 1
#define RTK_HAS_BASE 0
#else
#define RTK_BASE_TARGET
#define RTK_HAS_WIDE 0
#define RTK_HAS_NARROW 0
#define RTK_HAS_BASE 1
#endif

/* The floats per vector of the variant to call: 16 where this CPU runs
 * RTK_CLONES' x86-64-v4 clone (the same features its resolver tests), 8
 * where it has AVX2 and FMA, else 4; or the one width a build without
 * clones has. Also a cheap test inside a clone: the v4 clone runs exactly
 * where it is 16, so a branch on it leaves the other clones' 16-float
 * code dead. */
#if RTK_HAS_WIDE + RTK_HAS_NARROW + RTK_HAS_BASE > 1
int rtk_vec_width(void);
#else
static inline int rtk_vec_width(void) {
  return RTK_HAS_WIDE ? 16 : RTK_HAS_NARROW ? 8 : 4;
}
#endif

/* `#pragma omp simd` on loops we want vectorized whatever the cost model
 * says. Dropped under clang's AddressSanitizer, whose instrumentation
 * makes the loops unvectorizable and clang then warns (an error with
 * -Werror) that it could not honor the pragma. */
#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RTK_NO_SIMD_PRAGMA 1
#endif
#endif
#ifdef RTK_NO_SIMD_PRAGMA
#define RTK_SIMD
#else
#define RTK_SIMD _Pragma("omp simd")
#endif

/* ---- Teams ----------------------------------------------------------------
 * A kernel's work is a function that every thread of a team calls: it takes
 * the calling thread's share (rtk_share), and RTK_TEAM returns with the
 * team in step, so that whatever runs next may read what every thread
 * wrote. The team is the caller's when ctx->team (rt_team_run: one team for
 * a whole forward pass), else one that RTK_TEAM starts for the call. */

/* Threads of the team: the current team's inside rt_team_run, else
 * ctx->num_threads, or the OpenMP default when that is <= 0. */
int rtk_threads(const RtContext *ctx);

/* Whether ctx is a team's (rt_team_run): see RtContext.team. */
static inline int rtk_in_team(const RtContext *ctx) { return ctx && ctx->team; }

/* [*lo, *hi): the calling thread's share of n items when the first `parts`
 * threads of its team split them in contiguous runs (schedule(static)'s
 * split, so a thread gets the same rows from layer to layer); empty for
 * the threads after them. Returns whether the share is not empty. */
static inline int rtk_share(long n, int parts, long *lo, long *hi) {
  int t = omp_get_thread_num(), size = omp_get_num_threads();
  if (parts > size) /* OpenMP may give fewer threads than asked */
    parts = size;
  if (parts < 1 || t >= parts) {
    *lo = *hi = 0;
    return 0;
  }
  long q = n / parts, r = n % parts;
  *lo = t * q + (t < r ? t : r);
  *hi = *lo + q + (t < r);
  return *hi > *lo;
}

/* Runs `call` on every thread of the team and returns with the team in
 * step: on the caller's team when ctx->team, then a barrier; else on a team
 * of `threads` started here, whose end is the barrier. Even a team of one
 * is started: inside it the caller is thread 0 of 1, whichever region of
 * its own it may be in. */
#define RTK_TEAM(ctx, threads, call)                                       \
  do {                                                                     \
    const int rtk_team_threads_ = (threads) > 1 ? (threads) : 1;           \
    if (rtk_in_team(ctx)) {                                                \
      call;                                                                \
      _Pragma("omp barrier")                                               \
    } else {                                                               \
      _Pragma("omp parallel num_threads(rtk_team_threads_)") { call; }     \
    }                                                                      \
  } while (0)

/* The barrier between the phases of a kernel's work function. */
#define RTK_SYNC()                                                         \
  do {                                                                     \
    _Pragma("omp barrier")                                                 \
  } while (0)

/* Makes OpenBLAS single-threaded (our OpenMP threads call it in parallel);
 * a no-op once it is, which rt_team_run makes sure of before its team
 * starts: the team's threads then only read the setting. */
void rtk_blas_single(void);

/* True when the epilogue does nothing at all. */
int rtk_epilogue_is_identity(const RtEpilogue *ep);

/* Applies ep (may be NULL) in place to the tile of rows x cols outputs
 * whose first value, pixel row0 and channel col0 of the output tensor, is at
 * tile (row stride out_cs). bias and residual are indexed by row0/col0, so
 * callers pass any tile of one output without pointer games. */
void rtk_epilogue_tile(float *tile, int out_cs, const RtEpilogue *ep,
                       long row0, int col0, long rows, int cols);

/* In place: x[0..n) = act(x). */
void rtk_act_inplace(float *x, long n, RtAct act, float alpha);

/* The packed-B GEMM (gemm_packed.c): C[m x n] = A[m x k] x B, with B
 * packed once by rtk_gemm_pack_b into panels of GEMM_NR columns
 * (rtk_gemm_packed_floats(k, n) floats; element (kk, j) of B lands at
 * (j / GEMM_NR) * k * GEMM_NR + kk * GEMM_NR + j % GEMM_NR, padding zero).
 * Single-threaded: callers split the rows among their threads. */
enum { GEMM_MR = 6, GEMM_NR = 32, GEMM_KC = 256 };
size_t rtk_gemm_packed_floats(int k, int n);
void rtk_gemm_pack_b(float *bp, const float *b, long ldb, int k, int n);
void rtk_gemm_packed(float *c, long ldc, const float *a, long lda,
                     const float *bp, int m, int n, int k);
/* The same, then ep (may be NULL) on C as rtk_epilogue_tile would apply it
 * to the tile at output pixel row0, channel col0 (ldc is the output's
 * channel stride): bias, residual and piecewise-linear activations in
 * registers before the store, the others in a pass after. */
void rtk_gemm_packed_ep(float *c, long ldc, const float *a, long lda,
                        const float *bp, int m, int n, int k,
                        const RtEpilogue *ep, long row0, int col0);
/* The same with A's rows anywhere: row i's K values are runs of seglen
 * floats, run s at row[i] + seg[i][s]. A convolution's implicit GEMM
 * (conv2d.c): a pixel's kernel rows read in place in the input. */
typedef struct GemmRows {
  const float *const *row;
  const long *const *seg;
  int seglen;
} GemmRows;
void rtk_gemm_packed_rows_ep(float *c, long ldc, const GemmRows *a,
                             const float *bp, int m, int n, int k,
                             const RtEpilogue *ep, long row0, int col0);

/* The direct convolution of stems and strided 1x1 convs (conv_stem.c):
 * whether it takes d (one group, K = kh*kw*c of 64 or less, not a 1x1
 * stride-1 conv with nothing to pad, its window fits or it needs none),
 * and the conv with the kernel packed as for the GEMM above. */
int rtk_conv_stem_fits(const RtConv2d *d);
void rtk_conv_stem(const RtContext *ctx, float *out, const float *in,
                   const float *packed, const RtEpilogue *ep,
                   const RtConv2d *d, int threads);

/* Winograd F(2x2, 3x3)'s 16 GEMMs with the kernel transformed as it is
 * read (conv_winograd_fly.c), for few blocks:
 *   M[xi] (blocks x oc) = V[xi] (blocks x c) x U[xi] (c x oc), xi < 16,
 * U = G g G^T made on the way from fly, the kernel as
 * rt_winograd_fly_kernel lays it out: for each vector of RTK_FLY_LANES
 * output channels, for each input channel, the 9 taps (RTK_FLY_PAIR
 * floats). */
enum { RTK_FLY_LANES = 16, RTK_FLY_PAIR = 9 * RTK_FLY_LANES };
/* Input channels a run of the fly passes takes before the next run, M
 * holding the sums between runs: every pass re-reads its taps, which for
 * 32 channels (18 KiB, and V's part) stay in L1 instead of coming from L2.
 * An 8x8x128 F(4x4) layer at batch 1, kernel from L3: 0.105 -> 0.082 ms on
 * one thread, 0.076 -> 0.065 on two; 4x4x256 F(2x2) 0.17 -> 0.16 and 0.102
 * -> 0.096 (runs of 16: about half the gain; 64: as 32). Emerald Rapids. */
enum { RTK_FLY_CHUNK = 32 };
typedef struct RtkWinoFly {
  float *m;            /* M[xi][b][co] at m + xi * mplane + b * oc + co */
  long mplane;
  const float *v;      /* V[xi][b][ci] at v + xi * vplane + b * c + ci */
  long vplane;
  const float *fly;
  int c, oc, blocks;
} RtkWinoFly;
/* M's output channels [co0, co1): multiples of 16 (oc too). Only where
 * rtk_wino_fly_here(): on CPUs with 16-float vectors. */
void rtk_wino2_fly(const RtkWinoFly *f, int co0, int co1);
int rtk_wino_fly_here(void);
/* The same for F(4x4, 3x3): 36 GEMMs, M and V of 36 positions. */
void rtk_wino4_fly(const RtkWinoFly *f, int co0, int co1);

/* The fly kernel of output channel co's vector, at co's lane. */
static inline const float *rtk_fly_at(const RtkWinoFly *f, int co) {
  return f->fly + (long)(co / RTK_FLY_LANES) * f->c * RTK_FLY_PAIR +
         co % RTK_FLY_LANES;
}

/* A stride argument of 0 means the dense default. */
static inline int rtk_cs(int cs, int c) { return cs == 0 ? c : cs; }

#endif /* NETC_KERNELS_INTERNAL_H */
