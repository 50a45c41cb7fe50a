/* The register kernel of conv_winograd_fly.c, written once for a vector of
 * WF_W floats and included once per variant (kernels_internal.h,
 * "Vector-width variants"); no include guard on purpose.
 *
 * One pass sums, over every input channel, the products for the four
 * positions xi = 4r .. 4r + 3 of row r of the 4 x 4 transform and up to
 * WF_NB blocks: 4 x WF_NB accumulators of one output-channel vector (16 of
 * AVX-512's 32 registers; 8 of the 16 that AVX2 and SSE2 have). The row
 * of W = H g H^T it needs is made from the kernel's taps as they are
 * loaded (conv_winograd_fly.c has the algebra): 3 loads and 3 adds for
 * rows 0 and 3, 9 loads and 9 adds for rows 1 and 2, against 4 x WF_NB
 * FMAs. The taps of a channel pair's 16-channel vector lie together
 * (rt_winograd_fly_kernel), so that a pass streams through memory.
 *
 * The includer defines:
 *   WF_NAME(f)  the variant's name for f (unique even when static: see
 *               RTK_CLONES);
 *   WF_ATTR     the variant's target attribute;
 *   WF_V, WF_VU  the vector type and its unaligned may_alias twin; WF_W its
 *               lanes;
 *   WF_NB       blocks per pass, 2 or 4;
 * this file undefines them at its end. */

#define WF_LOAD(p) (*(const WF_VU *)(p))
#define WF_STORE(p, x) (*(WF_VU *)(p) = (x))

/* Row r (0..3) of M for blocks [b0, b0 + nb) at output channel co: r and
 * nb are constants in every instance below, so that the loops unroll and
 * the sums stay in registers. next: the next vector's part of the kernel
 * (NULL: none), which the passes after row 1's fetch into L2 meanwhile,
 * a third of its lines each: row 1's pass would otherwise wait on memory
 * while the others leave it idle. */
static inline __attribute__((always_inline)) void
WF_NAME(fly_pass)(const RtkWinoFly *f, int co, int b0, const float *next,
                  const int r, const int nb) {
  const long tap = RTK_FLY_LANES; /* rt_winograd_fly_kernel's layout */
  const float *g = f->fly + (long)(co / RTK_FLY_LANES) * f->c * RTK_FLY_PAIR +
                   co % RTK_FLY_LANES;
  const int third = r == 2 ? 0 : r == 0 ? 3 : 6; /* next's taps to fetch */
  const float *vs[4];
  WF_V acc[4][WF_NB];
#pragma GCC unroll 4
  for (int s = 0; s < 4; s++) {
    vs[s] = f->v + (4 * r + s) * f->vplane + (long)b0 * f->c;
#pragma GCC unroll 4
    for (int b = 0; b < nb; b++)
      acc[s][b] = (WF_V){0};
  }
  for (int ci = 0; ci < f->c; ci++, g += RTK_FLY_PAIR) {
    if (r != 1 && next) {
      const float *n = next + (long)ci * RTK_FLY_PAIR + third * tap;
      __builtin_prefetch(n, 0, 2);
      __builtin_prefetch(n + tap, 0, 2);
      __builtin_prefetch(n + 2 * tap, 0, 2);
    }
    WF_V h0, h1, h2; /* row r of H g */
    if (r == 0) {
      h0 = WF_LOAD(g);
      h1 = WF_LOAD(g + tap);
      h2 = WF_LOAD(g + 2 * tap);
    } else if (r == 3) {
      h0 = WF_LOAD(g + 6 * tap);
      h1 = WF_LOAD(g + 7 * tap);
      h2 = WF_LOAD(g + 8 * tap);
    } else {
      WF_V o0 = WF_LOAD(g) + WF_LOAD(g + 6 * tap);
      WF_V o1 = WF_LOAD(g + tap) + WF_LOAD(g + 7 * tap);
      WF_V o2 = WF_LOAD(g + 2 * tap) + WF_LOAD(g + 8 * tap);
      WF_V m0 = WF_LOAD(g + 3 * tap), m1 = WF_LOAD(g + 4 * tap);
      WF_V m2 = WF_LOAD(g + 5 * tap);
      h0 = r == 1 ? o0 + m0 : o0 - m0;
      h1 = r == 1 ? o1 + m1 : o1 - m1;
      h2 = r == 1 ? o2 + m2 : o2 - m2;
    }
    WF_V ends = h0 + h2;
    WF_V w[4] = {h0, ends + h1, ends - h1, h2}; /* row r of H g H^T */
#pragma GCC unroll 4
    for (int s = 0; s < 4; s++)
#pragma GCC unroll 4
      for (int b = 0; b < nb; b++)
        acc[s][b] += w[s] * vs[s][(long)b * f->c + ci];
  }
  /* U = D W D, D = diag(1, 1/2, 1/2, 1): the halves G has and H lacks */
  const float dr = r == 1 || r == 2 ? 0.5f : 1.0f;
#pragma GCC unroll 4
  for (int s = 0; s < 4; s++) {
    const float scale = s == 1 || s == 2 ? 0.5f * dr : dr;
#pragma GCC unroll 4
    for (int b = 0; b < nb; b++)
      WF_STORE(f->m + (4 * r + s) * f->mplane + (long)(b0 + b) * f->oc + co,
               acc[s][b] * scale);
  }
}

#define WF_CASE(r, nb)                                                       \
  case (r) * 8 + (nb):                                                       \
    WF_NAME(fly_pass)(f, co, b0, next, r, nb);                               \
    break
#if WF_NB > 2
#define WF_CASES_WIDE(r) WF_CASE(r, 3); WF_CASE(r, 4)
#else
#define WF_CASES_WIDE(r)
#endif
#define WF_CASES(r)                                                          \
  WF_CASE(r, 1);                                                             \
  WF_CASE(r, 2);                                                             \
  WF_CASES_WIDE(r)

/* M for output channels [co0, co1), every block: see rtk_wino2_fly. */
WF_ATTR static void WF_NAME(wino2_fly)(const RtkWinoFly *f, int co0,
                                       int co1) {
  /* Row 1 first: it reads all 9 taps, one stream through the vector's
   * part of the kernel from memory; the other rows find it in L2. */
  static const int rows[4] = {1, 2, 0, 3};
  for (int co = co0; co < co1; co += WF_W) {
    /* the next 16-channel vector's kernel, after this one's last part */
    int last = co % RTK_FLY_LANES + WF_W == RTK_FLY_LANES && co + WF_W < co1;
    const float *next =
        last ? f->fly + (long)((co + WF_W) / RTK_FLY_LANES) * f->c * RTK_FLY_PAIR
             : NULL;
    for (int i = 0; i < 4; i++)
      for (int r = rows[i], b0 = 0; b0 < f->blocks; b0 += WF_NB) {
        int nb = f->blocks - b0 < WF_NB ? f->blocks - b0 : WF_NB;
        switch (r * 8 + nb) {
          WF_CASES(0);
          WF_CASES(1);
          WF_CASES(2);
          WF_CASES(3);
        default:
          break;
        }
      }
  }
}

#undef WF_CASES
#undef WF_CASES_WIDE
#undef WF_CASE
#undef WF_LOAD
#undef WF_STORE
#undef WF_NAME
#undef WF_ATTR
#undef WF_V
#undef WF_VU
#undef WF_W
#undef WF_NB
