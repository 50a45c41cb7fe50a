/* conv_stem.c's register kernel, written over a 16-float sum type and
 * included once per form of it (conv_stem.c says which and why); no
 * include guard on purpose.
 *
 * One block: px pixels (a compile-time constant in each instance) of one
 * output row by the GEMM_NR channels of one packed panel, all stored. Per
 * tap two kernel vectors are loaded and one input value per pixel is
 * broadcast; the sums start at the bias, and residual and piecewise-linear
 * activation are applied before the store.
 *
 * The includer defines:
 *   SB_NAME(f)   the form's name for f (unique even when static: see
 *                RTK_CLONES);
 *   SB_ATTR      its target attribute;
 *   SB_T         the sum type, 16 floats;
 *   SB_PX        the most pixels a block takes: 3, 8 or 12 (a literal:
 *                the instances up to it are made);
 *   SB_LOAD(v, p), SB_STORE(p, v), SB_FMA(acc, b, s) (acc += b * s for a
 *   scalar s), SB_ADD_AT(acc, p) (acc += the 16 floats at p) and
 *   SB_ACT(v, act, alpha) (as VACT);
 * this file undefines them at its end. */

/* Residual and activation on pixel r's sums. */
#define SB_FINISH(r)                                                        \
  do {                                                                      \
    if (e->res) {                                                           \
      SB_ADD_AT(acc0[r], e->res + (r) * e->res_ld);                         \
      SB_ADD_AT(acc1[r], e->res + (r) * e->res_ld + 16);                    \
    }                                                                       \
    SB_ACT(acc0[r], e->act, e->alpha);                                      \
    SB_ACT(acc1[r], e->act, e->alpha);                                      \
  } while (0)

/* Pixel r's taps start at a + r * step; kernel row ky's run of `run` taps
 * is row_floats further per ky. */
static inline __attribute__((always_inline)) void
SB_NAME(stem_block)(float *out, long out_cs, const float *a, long step,
                    long row_floats, const float *bp, int kh, int run,
                    const StemEpilogue *e, const int px) {
  SB_T acc0[SB_PX], acc1[SB_PX], bias0, bias1;
  SB_LOAD(bias0, e->bias);
  SB_LOAD(bias1, e->bias + 16);
#pragma GCC unroll 12
  for (int r = 0; r < px; r++) {
    acc0[r] = bias0;
    acc1[r] = bias1;
  }
  for (int ky = 0; ky < kh; ky++, a += row_floats) {
    for (int j = 0; j < run; j++, bp += GEMM_NR) {
      SB_T b0, b1;
      SB_LOAD(b0, bp);
      SB_LOAD(b1, bp + 16);
#pragma GCC unroll 12
      for (int r = 0; r < px; r++) {
        float v = a[r * step + j];
        SB_FMA(acc0[r], b0, v);
        SB_FMA(acc1[r], b1, v);
      }
    }
  }
#pragma GCC unroll 12
  for (int r = 0; r < px; r++) {
    SB_FINISH(r);
    SB_STORE(out + r * out_cs, acc0[r]);
    SB_STORE(out + r * out_cs + 16, acc1[r]);
  }
}

/* One instance per block width: the pixel loops unroll, the sums stay in
 * registers. */
#define SB_BLOCK(n)                                                         \
  SB_ATTR static void SB_NAME(stem_block_##n)(                              \
      float *out, long out_cs, const float *a, long step, long row_floats,  \
      const float *bp, int kh, int run, const StemEpilogue *e) {            \
    SB_NAME(stem_block)(out, out_cs, a, step, row_floats, bp, kh, run, e,  \
                        n);                                                 \
  }
SB_BLOCK(1)
SB_BLOCK(2)
SB_BLOCK(3)
#if SB_PX > 3
SB_BLOCK(4)
SB_BLOCK(5)
SB_BLOCK(6)
SB_BLOCK(7)
SB_BLOCK(8)
#endif
#if SB_PX > 8
SB_BLOCK(9)
SB_BLOCK(10)
SB_BLOCK(11)
SB_BLOCK(12)
#endif

#undef SB_BLOCK
#undef SB_PX
#undef SB_FINISH
#undef SB_NAME
#undef SB_ATTR
#undef SB_T
#undef SB_LOAD
#undef SB_STORE
#undef SB_FMA
#undef SB_ADD_AT
#undef SB_ACT
