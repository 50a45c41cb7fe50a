/* The narrower vectors of the kernels' 8- and 4-float variants
 * (kernels_internal.h, "Vector-width variants"), and 16 floats as two
 * 8-float halves: the lanes of a Vec16 (vec16.h) in a form GCC keeps in
 * registers on AVX2, where it keeps a 64-byte generic vector in memory (a
 * load and a store per FMA). The stem kernel and the narrow dense heads'
 * AVX2 twins hold their sums so; on conv_stem.c the halves made GCC's AVX2
 * build 25x to 30x faster and its AVX-512 clone (ymm pairs on Zen 4,
 * whose zmm FMAs are two ymm ones) 2% to 7% faster.
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
#define V8LOAD(p) (*(const Vec8u *)(p))
#define V8STORE(p, x) (*(Vec8u *)(p) = (x))

typedef float Vec4 __attribute__((vector_size(16)));
typedef float Vec4u __attribute__((vector_size(16), aligned(4), may_alias));
typedef int Vec4i __attribute__((vector_size(16)));
#define V4LOAD(p) (*(const Vec4u *)(p))
#define V4STORE(p, x) (*(Vec4u *)(p) = (x))

typedef struct Vec16x2 {
  Vec8 lo, hi;
} Vec16x2;

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
