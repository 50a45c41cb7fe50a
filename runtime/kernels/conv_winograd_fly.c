/* Winograd's GEMMs for few blocks, with the kernel transformed as it is
 * read: conv_winograd.c's path for small maps at batch 1 (and 2 for
 * F(2x2)).
 *
 * Why: with a handful of blocks a GEMM does 16 x blocks multiply-adds per
 * channel pair and reads the pair's 16 transformed floats U for them,
 * once; at batch 1 resnet_mini's 4x4x256 layers (4 blocks, 4.2 MB of U
 * each, 25 MB a forward pass with the rest) wait on memory, not on their
 * FMAs: 0.10-0.11 ms a layer in the model, two threads, against 0.063 ms
 * for the same layer alone with its U in L3 (Zen 4, 2026-11-26). The
 * kernel itself is 9 floats a pair, and U follows from it with adds:
 *
 *   U = G g G^T,  G = D H,  D = diag(1, 1/2, 1/2, 1),
 *
 *   H = | 1  0  0 |     so U = D (H g H^T) D, and U[r][s] = d_r d_s W[r][s]
 *       | 1  1  1 |     for W = H g H^T, whose rows need only adds. The
 *       | 1 -1  1 |     d_r d_s (1, 1/2 or 1/4: exact) scale each sum of
 *       | 0  0  1 |     W[r][s] V[r][s] when it is stored.
 *
 * F(4x4) the same way (wino_fly_blocks.h: H has 2 and 4 there, and D's
 * 1/4, -1/6 and 1/24 round): its 36 floats a pair came from memory at
 * batch 1 for 36 x 4 multiply-adds on resnet_mini's and cifar_bn_cnn's
 * 8x8x128 layers (13 MB a forward pass in resnet_mini), which now take
 * 0.067-0.074 ms instead of 0.095-0.13 on two threads (slow phase);
 * resnet_mini 3% to 7% faster, cifar_bn_cnn 8% on one thread and 20% on
 * two (paired). Alone, with U in cache, the layer is as fast either way.
 *
 * The sums are those of the GEMMs on U up to float rounding (the same
 * operations, in another order). The kernel is laid out at load for the
 * passes (rt_winograd_fly_kernel): each 16-channel vector's taps, input
 * channel by input channel, so that a pass reads one stream. Read where it
 * lies in Keras' layout [3][3][c][oc], nine streams 1 KiB apart, the
 * layer ran at half the speed of the GEMMs on U. */
#include <string.h>

#include "kernels_internal.h"
#include "vec16.h"

/* The 16-float variant only. Built for AVX2 (8 floats, 16 registers: 8
 * accumulators, two blocks a pass), the path ran a 4x4x256 layer at half
 * the speed of the GEMMs on U (0.27 against 0.13 ms, one thread, Zen 4):
 * each pass's 9 loads and 9 adds then serve 8 FMAs instead of 16. */
#if RTK_HAS_WIDE
#define WF_NAME(f) f##_wide16
#define WF_ATTR RTK_WIDE_TARGET
#define WF_V Vec16
#define WF_VU Vec16u
#define WF_W 16
#define WF_NB 4
#include "wino_fly_blocks.h"

int rtk_wino_fly_here(void) { return rtk_vec_width() == 16; }

void rtk_wino2_fly(const RtkWinoFly *f, int co0, int co1) {
  wino2_fly_wide16(f, co0, co1);
}

void rtk_wino4_fly(const RtkWinoFly *f, int co0, int co1) {
  wino4_fly_wide16(f, co0, co1);
}
#else
int rtk_wino_fly_here(void) { return 0; }

void rtk_wino2_fly(const RtkWinoFly *f, int co0, int co1) {
  (void)f, (void)co0, (void)co1; /* rtk_wino_fly_here() is 0 */
}

void rtk_wino4_fly(const RtkWinoFly *f, int co0, int co1) {
  (void)f, (void)co0, (void)co1;
}
#endif

size_t rt_winograd_fly_kernel_floats(int c, int oc) {
  if (c < 1 || oc < 1 || oc % RTK_FLY_LANES)
    return 0;
  return (size_t)c * oc * 9;
}

RtStatus rt_winograd_fly_kernel(float *fly, const float *kernel, int c,
                                int oc) {
  if (!fly || !kernel || !rt_winograd_fly_kernel_floats(c, oc))
    return RT_ERR_ARG;
  long kplane = (long)c * oc; /* kernel[y][x] to the next tap */
  for (int co = 0; co < oc; co += RTK_FLY_LANES)
    for (int ci = 0; ci < c; ci++)
      for (int tap = 0; tap < 9; tap++, fly += RTK_FLY_LANES)
        memcpy(fly, kernel + tap * kplane + (long)ci * oc + co,
               RTK_FLY_LANES * sizeof *fly);
  return RT_OK;
}
