/* 16-float vectors for hand-vectorized kernels: GCC/clang vector
 * extensions, which the AVX-512 clone of a function (RTK_CLONES) turns into
 * one zmm register each, the AVX2 clone into two ymm, the baseline into
 * four xmm. Vec16u is the same vector at any float's alignment (channel
 * rows need not be 64-byte aligned) and may alias floats. Loads and stores
 * are macros rather than inline functions: a function taking or returning
 * a 64-byte vector would have an ABI that depends on the clone. */
#ifndef NETC_VEC16_H
#define NETC_VEC16_H

#include "netc/kernels.h"

typedef float Vec16 __attribute__((vector_size(64)));
typedef float Vec16u __attribute__((vector_size(64), aligned(4), may_alias));

#define VLOAD(p) (*(const Vec16u *)(p))
#define VSTORE(p, x) (*(Vec16u *)(p) = (x))

/* Lane-wise select by a comparison's mask (all ones or all zeros per
 * lane), with bit operations: GCC and clang both allow those in C, where
 * clang has no vector ?:. The _T forms take the vector type T and its
 * integer twin TI (vec8x2.h uses them on 8-float halves). */
typedef int Vec16i __attribute__((vector_size(64)));
#define VSELECT_T(T, TI, mask, a, b) ((T)(((TI)(a) & (mask)) | ((TI)(b) & ~(mask))))
#define VSELECT(mask, a, b) VSELECT_T(Vec16, Vec16i, mask, a, b)

/* v = act(v) for the piecewise-linear activations (vec_act_supported);
 * the others leave v alone and the caller applies them per value. */
#define VACT_T(T, TI, v, act, alpha)                                           \
  do {                                                                         \
    const T zero_ = {0};                                                       \
    switch (act) {                                                             \
    case RT_ACT_RELU:                                                          \
      (v) = VSELECT_T(T, TI, (v) > zero_, (v), zero_);                         \
      break;                                                                   \
    case RT_ACT_RELU6: {                                                       \
      const T six_ = zero_ + 6.0f;                                             \
      (v) = VSELECT_T(T, TI, (v) > zero_, (v), zero_);                         \
      (v) = VSELECT_T(T, TI, (v) < six_, (v), six_);                           \
      break;                                                                   \
    }                                                                          \
    case RT_ACT_LEAKY_RELU:                                                    \
      (v) = VSELECT_T(T, TI, (v) > zero_, (v), (v) * (alpha));                 \
      break;                                                                   \
    case RT_ACT_THRESHOLDED_RELU:                                              \
      (v) = VSELECT_T(T, TI, (v) > zero_ + (alpha), (v), zero_);               \
      break;                                                                   \
    default:                                                                   \
      break;                                                                   \
    }                                                                          \
  } while (0)
#define VACT(v, act, alpha) VACT_T(Vec16, Vec16i, v, act, alpha)

/* True for the activations VACT applies. */
static inline int vec_act_supported(RtAct act) {
  return act == RT_ACT_LINEAR || act == RT_ACT_RELU || act == RT_ACT_RELU6 ||
         act == RT_ACT_LEAKY_RELU || act == RT_ACT_THRESHOLDED_RELU;
}

#endif /* NETC_VEC16_H */
