/* 16 floats as two 8-float halves: the lanes of a Vec16 (vec16.h) in a
 * form GCC keeps in registers without AVX-512 too. GCC 12 has no register
 * for a 64-byte generic vector on AVX2 and keeps every Vec16 in memory
 * there (a 4-accumulator loop: a stack load and store per FMA); with
 * 32-byte halves its AVX2 clone is plain vbroadcastss / vfmadd231ps ymm.
 * Measured on conv_stem.c: the AVX2 build 25x to 30x faster, the AVX-512
 * clone (ymm pairs on Zen 4, whose zmm FMAs are two ymm ones) 2% to 7%
 * faster. Kernels move from Vec16 to this one by one (README.md, "Known
 * problem").
 *
 * Macros, not inline functions: a function taking or returning a vector
 * would have an ABI that depends on the clone (and GCC rejects it in the
 * baseline clone with -Werror=psabi). */
#ifndef NETC_VEC8X2_H
#define NETC_VEC8X2_H

#include "vec16.h" /* VACT_T */

typedef float Vec8 __attribute__((vector_size(32)));
typedef float Vec8u __attribute__((vector_size(32), aligned(4), may_alias));
typedef int Vec8i __attribute__((vector_size(32)));
/* And the 4-float vector of the baseline variants (kernels_internal.h). */
typedef float Vec4 __attribute__((vector_size(16)));
typedef float Vec4u __attribute__((vector_size(16), aligned(4), may_alias));
typedef int Vec4i __attribute__((vector_size(16)));
#define V4LOAD(p) (*(const Vec4u *)(p))
#define V4STORE(p, x) (*(Vec4u *)(p) = (x))
typedef struct Vec16x2 {
  Vec8 lo, hi;
} Vec16x2;

#define V8LOAD(p) (*(const Vec8u *)(p))
#define V8STORE(p, x) (*(Vec8u *)(p) = (x))

/* v = the 16 floats at p; the 16 floats at p = v. */
#define V2LOAD(v, p)                                                           \
  do {                                                                         \
    (v).lo = V8LOAD(p);                                                        \
    (v).hi = V8LOAD((p) + 8);                                                  \
  } while (0)
#define V2STORE(p, v)                                                          \
  do {                                                                         \
    V8STORE(p, (v).lo);                                                        \
    V8STORE((p) + 8, (v).hi);                                                  \
  } while (0)

/* acc += b * s for a scalar s; acc += the 16 floats at p. */
#define V2FMA(acc, b, s)                                                       \
  do {                                                                         \
    (acc).lo += (b).lo * (s);                                                  \
    (acc).hi += (b).hi * (s);                                                  \
  } while (0)
#define V2ADD_AT(acc, p)                                                       \
  do {                                                                         \
    (acc).lo += V8LOAD(p);                                                     \
    (acc).hi += V8LOAD((p) + 8);                                               \
  } while (0)

/* v = act(v) on one half, as VACT (vec16.h). */
#define V8ACT(v, act, alpha) VACT_T(Vec8, Vec8i, v, act, alpha)
#define V2ACT(v, act, alpha)                                                   \
  do {                                                                         \
    V8ACT((v).lo, act, alpha);                                                 \
    V8ACT((v).hi, act, alpha);                                                 \
  } while (0)

#endif /* NETC_VEC8X2_H */
