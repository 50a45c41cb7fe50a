/* The register kernels of gemm_packed.c, written once for a vector of GB_W
 * floats and included once per variant (kernels_internal.h, "Vector-width
 * variants"); no include guard on purpose. A block is GEMM_MR rows by
 * GB_NR = 2 * GB_W columns of one packed panel, 12 accumulators: the whole
 * 32-column panel for 16-float vectors (zmm), half of it for 8-float ones
 * (12 of AVX2's 16 ymm registers, where a whole panel, 24, would spill), a
 * quarter for 4-float ones (xmm). The panel's row stride stays GEMM_NR
 * either way.
 *
 * The includer defines:
 *   GB_NAME(f)  the variant's name for f (names must be unique, even
 *               static: see RTK_CLONES);
 *   GB_ATTR     the variant's target attribute;
 *   GB_V, GB_VU, GB_VI  the vector type, its unaligned may_alias twin and
 *               its integer twin; GB_W its lanes;
 *   GB_TWO_PANEL  1 to build the two-panel tail kernel (gemm_block_two_panel);
 * this file undefines them at its end. */

#define GB_NR (2 * GB_W)
#define GB_LOAD(p) (*(const GB_VU *)(p))
#define GB_STORE(p, x) (*(GB_VU *)(p) = (x))

/* One GEMM_MR x GB_NR block of C: rows a##r of A (r < 6; rows past m
 * repeat the last real one), panel bp, into c (ldc), storing `rows` rows
 * and `cols` columns. The K loop and the store are macros shared by the
 * row-major and the implicit block. */
#define ROW(r)                                                              \
  GB_V c##r##0 = {0}, c##r##1 = {0};                                        \
  const float *a##r
#define FMA(r)                                                              \
  do {                                                                      \
    float s_ = a##r[kk];                                                    \
    c##r##0 += b0 * s_;                                                     \
    c##r##1 += b1 * s_;                                                     \
  } while (0)
#define K_LOOP(len)                                                         \
  for (int kk = 0; kk < (len); kk++, bp += GEMM_NR) {                       \
    GB_V b0 = GB_LOAD(bp), b1 = GB_LOAD(bp + GB_W);                         \
    FMA(0);                                                                 \
    FMA(1);                                                                 \
    FMA(2);                                                                 \
    FMA(3);                                                                 \
    FMA(4);                                                                 \
    FMA(5);                                                                 \
  }
#define STORE_TO(r, x, dst, cols, e, bias0, bias1)                          \
  do {                                                                      \
    if (r < rows) {                                                         \
      float *cr = (dst) + (long)r * ldc;                                    \
      if (cols == GB_NR) {                                                  \
        if (add) {                                                          \
          x##r##0 += GB_LOAD(cr);                                           \
          x##r##1 += GB_LOAD(cr + GB_W);                                    \
        }                                                                   \
        if (e) {                                                            \
          x##r##0 += bias0;                                                 \
          x##r##1 += bias1;                                                 \
          if (e->res) {                                                     \
            const float *rr = e->res + (long)r * e->res_ld;                 \
            x##r##0 += GB_LOAD(rr);                                         \
            x##r##1 += GB_LOAD(rr + GB_W);                                  \
          }                                                                 \
          VACT_T(GB_V, GB_VI, x##r##0, e->act, alpha);                      \
          VACT_T(GB_V, GB_VI, x##r##1, e->act, alpha);                      \
        }                                                                   \
        GB_STORE(cr, x##r##0);                                              \
        GB_STORE(cr + GB_W, x##r##1);                                       \
      } else {                                                              \
        float tmp[GB_NR];                                                   \
        GB_STORE(tmp, x##r##0);                                             \
        GB_STORE(tmp + GB_W, x##r##1);                                      \
        for (int j = 0; j < cols; j++) {                                    \
          float v = add ? cr[j] + tmp[j] : tmp[j];                          \
          if (e) {                                                          \
            v += e->bias ? e->bias[j] : 0.0f;                               \
            if (e->res)                                                     \
              v += e->res[(long)r * e->res_ld + j];                         \
            v = rt_act_apply(e->act, e->alpha, v);                          \
          }                                                                 \
          cr[j] = v;                                                        \
        }                                                                   \
      }                                                                     \
    }                                                                       \
  } while (0)

#define STORE(r) STORE_TO(r, c, c, cols, e, bias0, bias1)

#define STORE_ALL()                                                         \
  do {                                                                      \
    GB_V bias0 = {0}, bias1 = {0};                                          \
    float alpha = e ? e->alpha : 0.0f;                                      \
    if (e && e->bias && cols == GB_NR) {                                    \
      bias0 = GB_LOAD(e->bias);                                             \
      bias1 = GB_LOAD(e->bias + GB_W);                                      \
    }                                                                       \
    STORE(0);                                                               \
    STORE(1);                                                               \
    STORE(2);                                                               \
    STORE(3);                                                               \
    STORE(4);                                                               \
    STORE(5);                                                               \
  } while (0)

/* A row-major: row r at a + r * lda. add: C += the block's product
 * instead of C = it. e: the epilogue to apply after (the last K block
 * only), its bias and residual already offset to this block's first row
 * and column, or NULL. */
GB_ATTR static void GB_NAME(gemm_block)(float *c, long ldc, const float *a,
                                        long lda, const float *bp, int k,
                                        int rows, int cols, int add,
                                        const GemmEpilogue *e) {
  ROW(0) = a;
  ROW(1) = a + (1 < rows ? 1 : rows - 1) * lda;
  ROW(2) = a + (2 < rows ? 2 : rows - 1) * lda;
  ROW(3) = a + (3 < rows ? 3 : rows - 1) * lda;
  ROW(4) = a + (4 < rows ? 4 : rows - 1) * lda;
  ROW(5) = a + (5 < rows ? 5 : rows - 1) * lda;
  K_LOOP(k);
  STORE_ALL();
}

/* The same with A's rows anywhere (GemmRows): row r's K values
 * [k0, k0 + kc) in runs of seglen floats, run s at arow[r] + aseg[r][s]. */
#define RUN(r) a##r = arow[r] + aseg[r][s] + off
GB_ATTR static void GB_NAME(gemm_block_rows)(float *c, long ldc,
                                             const float *const *arow,
                                             const long *const *aseg,
                                             int seglen, int k0,
                                             const float *bp, int kc, int rows,
                                             int cols, int add,
                                             const GemmEpilogue *e) {
  ROW(0);
  ROW(1);
  ROW(2);
  ROW(3);
  ROW(4);
  ROW(5);
  int s = k0 / seglen, off = k0 - s * seglen;
  for (int left = kc; left > 0; s++, off = 0) {
    int len = seglen - off < left ? seglen - off : left;
    left -= len;
    RUN(0);
    RUN(1);
    RUN(2);
    RUN(3);
    RUN(4);
    RUN(5);
    K_LOOP(len);
  }
  STORE_ALL();
}

#if GB_TWO_PANEL
/* The last 1 to GEMM_WIDE_MR rows of a GEMM (see gemm_run) take two
 * panels at once: 4 rows x 64 columns, 16 accumulators, instead of 6 x 32
 * with up to two thirds of the FMAs on repeated rows. bp0 and bp1: the two
 * panels' K blocks; cols1 columns of the second are stored, all of the
 * first. */
#define WFMA(r)                                                             \
  do {                                                                      \
    float s_ = a##r[kk];                                                    \
    c##r##0 += b0 * s_;                                                     \
    c##r##1 += b1 * s_;                                                     \
    d##r##0 += b2 * s_;                                                     \
    d##r##1 += b3 * s_;                                                     \
  } while (0)
#define WROW(r)                                                             \
  GB_V c##r##0 = {0}, c##r##1 = {0}, d##r##0 = {0}, d##r##1 = {0};          \
  const float *a##r = a + (r < rows ? r : rows - 1) * lda

GB_ATTR static void GB_NAME(gemm_block_two_panel)(float *c, long ldc,
                                             const float *a, long lda,
                                             const float *bp0,
                                             const float *bp1, int k, int rows,
                                             int cols1, int add,
                                             const GemmEpilogue *e) {
  WROW(0);
  WROW(1);
  WROW(2);
  WROW(3);
  for (int kk = 0; kk < k; kk++, bp0 += GEMM_NR, bp1 += GEMM_NR) {
    GB_V b0 = GB_LOAD(bp0), b1 = GB_LOAD(bp0 + GB_W);
    GB_V b2 = GB_LOAD(bp1), b3 = GB_LOAD(bp1 + GB_W);
    WFMA(0);
    WFMA(1);
    WFMA(2);
    WFMA(3);
  }
  float alpha = e ? e->alpha : 0.0f;
  /* The first panel: all its columns. */
  GB_V bias0 = {0}, bias1 = {0};
  if (e && e->bias) {
    bias0 = GB_LOAD(e->bias);
    bias1 = GB_LOAD(e->bias + GB_W);
  }
  STORE_TO(0, c, c, GB_NR, e, bias0, bias1);
  STORE_TO(1, c, c, GB_NR, e, bias0, bias1);
  STORE_TO(2, c, c, GB_NR, e, bias0, bias1);
  STORE_TO(3, c, c, GB_NR, e, bias0, bias1);
  /* The second: cols1 columns, its bias and residual GEMM_NR further. */
  GemmEpilogue e1;
  const GemmEpilogue *ep1 = NULL;
  if (e) {
    e1 = *e;
    e1.bias = e->bias ? e->bias + GEMM_NR : NULL;
    e1.res = e->res ? e->res + GEMM_NR : NULL;
    ep1 = &e1;
  }
  bias0 = bias1 = (GB_V){0};
  if (ep1 && ep1->bias && cols1 == GB_NR) {
    bias0 = GB_LOAD(ep1->bias);
    bias1 = GB_LOAD(ep1->bias + GB_W);
  }
  STORE_TO(0, d, c + GEMM_NR, cols1, ep1, bias0, bias1);
  STORE_TO(1, d, c + GEMM_NR, cols1, ep1, bias0, bias1);
  STORE_TO(2, d, c + GEMM_NR, cols1, ep1, bias0, bias1);
  STORE_TO(3, d, c + GEMM_NR, cols1, ep1, bias0, bias1);
}
#undef WFMA
#undef WROW
#endif /* GB_TWO_PANEL */

#undef GB_NR
#undef GB_LOAD
#undef GB_STORE
#undef ROW
#undef FMA
#undef K_LOOP
#undef STORE_TO
#undef STORE
#undef STORE_ALL
#undef RUN
#undef GB_NAME
#undef GB_ATTR
#undef GB_V
#undef GB_VU
#undef GB_VI
#undef GB_W
#undef GB_TWO_PANEL
