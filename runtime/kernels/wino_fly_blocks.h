/* The register kernels of conv_winograd_fly.c, written over a vector of
 * WF_W floats as the other kernels with variants are (kernels_internal.h,
 * "Vector-width variants"); included for the 16-float variant only
 * (conv_winograd_fly.c says why), and kept in this form for a variant of
 * another width that pays (aarch64's 32 registers); no include guard on
 * purpose.
 *
 * F(2x2): one pass sums, over every input channel, the products for the
 * four positions xi = 4r .. 4r + 3 of row r of the 4 x 4 transform and up
 * to WF_NB blocks: 4 x WF_NB accumulators of one output-channel vector (16
 * of AVX-512's 32 registers). The row of W = H g H^T it needs is made from
 * the kernel's taps as they are loaded (conv_winograd_fly.c has the
 * algebra): 3 loads and 3 adds for rows 0 and 3, 9 loads and 9 adds for
 * rows 1 and 2, against 4 x WF_NB FMAs. F(4x4) (fly_pass6, below) takes
 * half a row of its 6 x 6 transform a pass. The taps of a channel pair's
 * 16-channel vector lie together (rt_winograd_fly_kernel), so that a pass
 * streams through memory; the passes run over RTK_FLY_CHUNK input channels
 * at a time, adding to M from the second run on.
 *
 * The includer defines:
 *   WF_NAME(f)  the variant's name for f (unique even when static: see
 *               RTK_CLONES);
 *   WF_ATTR     the variant's target attribute;
 *   WF_V, WF_VU  the vector type and its unaligned may_alias twin; WF_W its
 *               lanes;
 *   WF_NB       blocks per pass: 4 (the switches' cases assume it);
 * this file undefines them at its end. */

#define WF_LOAD(p) (*(const WF_VU *)(p))
#define WF_STORE(p, x) (*(WF_VU *)(p) = (x))

/* The start of a pass over positions xi0 .. xi0 + npos - 1 and blocks
 * [b0, b0 + nb) at output channel co: each position's V and M, and its
 * sums, 0 on the first run of input channels (ci0 0), else M's partial
 * sums of the runs before. */
static inline __attribute__((always_inline)) void
WF_NAME(fly_sums_start)(const RtkWinoFly *f, int xi0, const int npos, int co,
                        int b0, int ci0, const int nb, const float **vs,
                        float **ms, WF_V (*acc)[WF_NB]) {
#pragma GCC unroll 4
  for (int s = 0; s < npos; s++) {
    vs[s] = f->v + (xi0 + s) * f->vplane + (long)b0 * f->c;
    ms[s] = f->m + (xi0 + s) * f->mplane + (long)b0 * f->oc + co;
#pragma GCC unroll 4
    for (int b = 0; b < nb; b++)
      if (ci0)
        acc[s][b] = WF_LOAD(ms[s] + (long)b * f->oc);
      else
        acc[s][b] = (WF_V){0};
  }
}

/* The end of a pass: the sums into M, times position s's scale[s] (D's
 * factors, on the last run only). */
static inline __attribute__((always_inline)) void
WF_NAME(fly_sums_store)(float *const *ms, WF_V (*acc)[WF_NB],
                        const float *scale, const int npos, const int nb,
                        int oc) {
#pragma GCC unroll 4
  for (int s = 0; s < npos; s++)
#pragma GCC unroll 4
    for (int b = 0; b < nb; b++)
      WF_STORE(ms[s] + (long)b * oc, acc[s][b] * scale[s]);
}

/* The end of the run of input channels from ci0. */
static inline int WF_NAME(fly_run_end)(const RtkWinoFly *f, int ci0) {
  return f->c - ci0 < RTK_FLY_CHUNK ? f->c : ci0 + RTK_FLY_CHUNK;
}

/* Row r (0..3) of M for blocks [b0, b0 + nb) at output channel co: r and
 * nb are constants in every instance below, so that the loops unroll and
 * the sums stay in registers. next: the next vector's part of the kernel
 * (NULL: none), which the passes after row 1's fetch into L2 meanwhile,
 * a third of its lines each: row 1's pass would otherwise wait on memory
 * while the others leave it idle. */
static inline __attribute__((always_inline)) void
WF_NAME(fly_pass)(const RtkWinoFly *f, int co, int b0, const float *next,
                  int ci0, int ci1, const int r, const int nb) {
  const long tap = RTK_FLY_LANES; /* rt_winograd_fly_kernel's layout */
  const float *g = rtk_fly_at(f, co) + (long)ci0 * RTK_FLY_PAIR;
  const int third = r == 2 ? 0 : r == 0 ? 3 : 6; /* next's taps to fetch */
  const int last = ci1 == f->c;
  const float *vs[4];
  float *ms[4];
  WF_V acc[4][WF_NB];
  WF_NAME(fly_sums_start)(f, 4 * r, 4, co, b0, ci0, nb, vs, ms, acc);
  for (int ci = ci0; ci < ci1; ci++, g += RTK_FLY_PAIR) {
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
  /* U = D W D, D = diag(1, 1/2, 1/2, 1): the halves G has and H lacks,
   * once the sums are whole */
  const float dr = r == 1 || r == 2 ? 0.5f : 1.0f;
  float scale[4];
#pragma GCC unroll 4
  for (int s = 0; s < 4; s++)
    scale[s] = !last ? 1.0f : s == 1 || s == 2 ? 0.5f * dr : dr;
  WF_NAME(fly_sums_store)(ms, acc, scale, 4, nb, f->oc);
}

/* The next 16-channel vector's kernel after co's vector, once co is its
 * last part (NULL: none, or not yet). */
static inline const float *WF_NAME(fly_next)(const RtkWinoFly *f, int co,
                                             int co1) {
  int last = co % RTK_FLY_LANES + WF_W == RTK_FLY_LANES && co + WF_W < co1;
  return last ? rtk_fly_at(f, co + WF_W) : NULL;
}

#define WF_CASE(r, nb)                                                       \
  case (r) * 8 + (nb):                                                       \
    WF_NAME(fly_pass)(f, co, b0, next, ci0, ci1, r, nb);                     \
    break
#define WF_CASES(r)                                                          \
  WF_CASE(r, 1);                                                             \
  WF_CASE(r, 2);                                                             \
  WF_CASE(r, 3);                                                             \
  WF_CASE(r, 4)

/* M for output channels [co0, co1), every block: see rtk_wino2_fly. */
WF_ATTR static void WF_NAME(wino2_fly)(const RtkWinoFly *f, int co0,
                                       int co1) {
  /* Row 1 first: it reads all 9 taps, one stream through the vector's
   * part of the kernel from memory; the other rows find it in L2. */
  static const int rows[4] = {1, 2, 0, 3};
  for (int co = co0; co < co1; co += WF_W) {
    const float *next = WF_NAME(fly_next)(f, co, co1);
    for (int ci0 = 0; ci0 < f->c; ci0 += RTK_FLY_CHUNK) {
      int ci1 = WF_NAME(fly_run_end)(f, ci0);
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
}

/* F(4x4): G = D H with D = diag(1/4, -1/6, -1/6, 1/24, 1/24, 1) and
 *
 *   H = | 1  0  0 |  rows 0 and 5 one kernel row, 1 and 2 (g0 + g2) +- g1,
 *       | 1  1  1 |  3 and 4 (g0 + 4 g2) +- 2 g1; the same combinations of
 *       | 1 -1  1 |  a row of H g give its row of W = H g H^T.
 *       | 1  2  4 |
 *       | 1 -2  4 |
 *       | 0  0  1 |
 *
 * A pass holds half a row of W (positions 6r + 3 half .. + 2) for up to
 * WF_NB blocks: 12 accumulators. pf: a tap of next to fetch (-1: none). */
static inline __attribute__((always_inline)) void
WF_NAME(fly_pass6)(const RtkWinoFly *f, int co, int b0, const float *next,
                   int pf, int ci0, int ci1, const int r, const int half,
                   const int nb) {
  const long tap = RTK_FLY_LANES;
  const float *g = rtk_fly_at(f, co) + (long)ci0 * RTK_FLY_PAIR;
  const int last = ci1 == f->c;
  const float *vs[3];
  float *ms[3];
  WF_V acc[3][WF_NB];
  WF_NAME(fly_sums_start)(f, 6 * r + 3 * half, 3, co, b0, ci0, nb, vs, ms, acc);
  for (int ci = ci0; ci < ci1; ci++, g += RTK_FLY_PAIR) {
    if (pf >= 0)
      __builtin_prefetch(next + (long)ci * RTK_FLY_PAIR + pf * tap, 0, 2);
    WF_V h0, h1, h2; /* row r of H g */
    if (r == 0 || r == 5) {
      const float *row = g + (r == 0 ? 0 : 6) * tap;
      h0 = WF_LOAD(row);
      h1 = WF_LOAD(row + tap);
      h2 = WF_LOAD(row + 2 * tap);
    } else {
      const float four = r >= 3 ? 4.0f : 1.0f;
      const float one = r == 1 ? 1.0f : r == 2 ? -1.0f : r == 3 ? 2.0f : -2.0f;
      h0 = WF_LOAD(g) + WF_LOAD(g + 6 * tap) * four + WF_LOAD(g + 3 * tap) * one;
      h1 = WF_LOAD(g + tap) + WF_LOAD(g + 7 * tap) * four +
           WF_LOAD(g + 4 * tap) * one;
      h2 = WF_LOAD(g + 2 * tap) + WF_LOAD(g + 8 * tap) * four +
           WF_LOAD(g + 5 * tap) * one;
    }
    WF_V w[3];
    if (half == 0) {
      WF_V ends = h0 + h2;
      w[0] = h0;
      w[1] = ends + h1;
      w[2] = ends - h1;
    } else {
      WF_V ends = h0 + h2 * 4.0f, twice = h1 + h1;
      w[0] = ends + twice;
      w[1] = ends - twice;
      w[2] = h2;
    }
#pragma GCC unroll 3
    for (int s = 0; s < 3; s++)
#pragma GCC unroll 4
      for (int b = 0; b < nb; b++)
        acc[s][b] += w[s] * vs[s][(long)b * f->c + ci];
  }
  static const float d[6] = {1.0f / 4, -1.0f / 6, -1.0f / 6,
                             1.0f / 24, 1.0f / 24, 1.0f};
  float scale[3];
#pragma GCC unroll 3
  for (int s = 0; s < 3; s++)
    scale[s] = last ? d[r] * d[3 * half + s] : 1.0f;
  WF_NAME(fly_sums_store)(ms, acc, scale, 3, nb, f->oc);
}

#define WF_CASE6(r, half, nb)                                                \
  case ((r) * 2 + (half)) * 8 + (nb):                                        \
    WF_NAME(fly_pass6)(f, co, b0, next, pf, ci0, ci1, r, half, nb);          \
    break
#define WF_CASES6(r, half)                                                   \
  WF_CASE6(r, half, 1);                                                      \
  WF_CASE6(r, half, 2);                                                      \
  WF_CASE6(r, half, 3);                                                      \
  WF_CASE6(r, half, 4)
#define WF_ROW6(r) WF_CASES6(r, 0); WF_CASES6(r, 1)

/* The same for F(4x4): see rtk_wino4_fly. Row 1's first half reads all 9
 * taps; the next nine passes fetch one tap each of the next vector. */
WF_ATTR static void WF_NAME(wino4_fly)(const RtkWinoFly *f, int co0,
                                       int co1) {
  static const int passes[12] = {2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 10, 11};
  for (int co = co0; co < co1; co += WF_W) {
    const float *next = WF_NAME(fly_next)(f, co, co1);
    for (int ci0 = 0; ci0 < f->c; ci0 += RTK_FLY_CHUNK) {
      int ci1 = WF_NAME(fly_run_end)(f, ci0);
      for (int i = 0; i < 12; i++) {
        int pf = next && i >= 1 && i <= 9 ? i - 1 : -1;
        for (int b0 = 0; b0 < f->blocks; b0 += WF_NB) {
          int nb = f->blocks - b0 < WF_NB ? f->blocks - b0 : WF_NB;
          switch (passes[i] * 8 + nb) {
            WF_ROW6(0);
            WF_ROW6(1);
            WF_ROW6(2);
            WF_ROW6(3);
            WF_ROW6(4);
            WF_ROW6(5);
          default:
            break;
          }
        }
      }
    }
  }
}

#undef WF_ROW6
#undef WF_CASES6
#undef WF_CASE6
#undef WF_CASES
#undef WF_CASE
#undef WF_LOAD
#undef WF_STORE
#undef WF_NAME
#undef WF_ATTR
#undef WF_V
#undef WF_VU
#undef WF_W
#undef WF_NB
