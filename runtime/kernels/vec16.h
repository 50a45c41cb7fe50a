/* 16-float vectors for hand-vectorized kernels: GCC/clang vector
 * extensions, which the AVX-512 clone of a function (RTK_CLONES) turns into
 * one zmm register each, the AVX2 clone into two ymm, the baseline into
 * four xmm. Vec16u is the same vector at any float's alignment (channel
 * rows need not be 64-byte aligned) and may alias floats. Loads and stores
 * are macros rather than inline functions: a function taking or returning
 * a 64-byte vector would have an ABI that depends on the clone. */
#ifndef NETC_VEC16_H
#define NETC_VEC16_H

typedef float Vec16 __attribute__((vector_size(64)));
typedef float Vec16u __attribute__((vector_size(64), aligned(4), may_alias));

#define VLOAD(p) (*(const Vec16u *)(p))
#define VSTORE(p, x) (*(Vec16u *)(p) = (x))

#endif /* NETC_VEC16_H */
