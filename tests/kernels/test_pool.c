/* Max, average and global pooling against the reference: valid and 'same'
 * windows (TensorFlow's border rule: padded positions skipped, averages
 * divided by the real count), even and odd sizes at stride 2, windows
 * larger and smaller than the stride, explicit padding, 1x1 images,
 * channel counts that are not a multiple of the vector block, strided
 * input and output slices, batch 1 and 7, 1 to 3 threads. */
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "reference.h"

typedef struct PoolCase {
  const char *name;
  int n, h, w, c, kh, kw, sh, sw, pad_h, pad_w, in_extra, out_off, out_extra;
} PoolCase;

/* pre (NULL: none): an average pool through a batch norm and this
 * activation (rt_avgpool2d_preact), against the reference pool of the
 * reference channel-affine map. */
static int run_pool(const PoolCase *t, int is_max, const RtAct *pre, int threads, Rng *rng) {
  RtPool2d d = {.n = t->n, .h = t->h, .w = t->w, .c = t->c, .kh = t->kh,
                .kw = t->kw, .sh = t->sh, .sw = t->sw};
  out_size(t->h, t->kh, t->sh, t->pad_h, &d.oh, &d.pad_top);
  out_size(t->w, t->kw, t->sw, t->pad_w, &d.ow, &d.pad_left);
  d.in_cs = t->c + t->in_extra;
  d.out_cs = t->c + t->out_off + t->out_extra;
  /* All-negative inputs in half the cases: a max that let a padded zero
   * win would show. */
  float lo = rng_uniform(rng, 0, 1) < 0.5f ? -2.0f : -1.0f;
  float hi = lo < -1.5f ? -0.5f : 1.0f;
  float *in = rand_buf(rng, (long)t->n * t->h * t->w * d.in_cs, lo, hi);
  long n = (long)t->n * d.oh * d.ow * d.out_cs;
  float *got = sentinel_buf(n), *want = sentinel_buf(n);
  RtContext ctx = {.num_threads = threads};
  RtStatus st;
  float *scale = NULL, *shift = NULL, *mapped = NULL;
  if (pre) {
    scale = rand_buf(rng, t->c, 0.5f, 1.5f), shift = rand_buf(rng, t->c, -0.5f, 0.5f);
    mapped = rand_buf(rng, (long)t->n * t->h * t->w * d.in_cs, 0, 1);
    RtEltwise ed = {t->n, t->h, t->w, t->c, d.in_cs, d.in_cs};
    RtEpilogue ep = {NULL, NULL, *pre, 0.1f, 0};
    ref_channel_affine(mapped, in, scale, shift, &ep, &ed);
    ref_avgpool2d(want + t->out_off, mapped, &d);
    RtPreact pa = {scale, shift, *pre, 0.1f, 0, 0, 0};
    st = rt_avgpool2d_preact(&ctx, got + t->out_off, in, &pa, &d);
  } else if (is_max) {
    ref_maxpool2d(want + t->out_off, in, &d);
    st = rt_maxpool2d(&ctx, got + t->out_off, in, &d);
  } else {
    ref_avgpool2d(want + t->out_off, in, &d);
    st = rt_avgpool2d(&ctx, got + t->out_off, in, &d);
  }
  char what[200];
  snprintf(what, sizeof what, "%s%s%s %s %dx%dx%dx%d -> %dx%d k%dx%d s%dx%d, %d threads",
           is_max ? "maxpool" : "avgpool", pre ? " through bn + " : "", pre ? act_name(*pre) : "", t->name, t->n,
           t->h, t->w, t->c, d.oh, d.ow, t->kh, t->kw, t->sh, t->sw, threads);
  int fail = check_status(what, st, RT_OK);
  if (!fail)
    fail = check_close(what, got, want, n, d.out_cs);
  free(in), free(got), free(want), free(scale), free(shift), free(mapped);
  return fail;
}

static int run_global(int n, int h, int w, int c, int in_extra, int out_off,
                      int out_extra, int is_max, int threads, Rng *rng) {
  RtEltwise d = {.n = n, .h = h, .w = w, .c = c, .in_cs = c + in_extra,
                 .out_cs = c + out_off + out_extra};
  float *in = rand_buf(rng, (long)n * h * w * d.in_cs, -1, 1);
  long len = (long)n * d.out_cs;
  float *got = sentinel_buf(len), *want = sentinel_buf(len);
  RtContext ctx = {.num_threads = threads};
  RtStatus st;
  if (is_max) {
    ref_global_maxpool(want + out_off, in, &d);
    st = rt_global_maxpool(&ctx, got + out_off, in, &d);
  } else {
    ref_global_avgpool(want + out_off, in, &d);
    st = rt_global_avgpool(&ctx, got + out_off, in, &d);
  }
  char what[200];
  snprintf(what, sizeof what, "%s %dx%dx%dx%d (cs %d -> %d), %d threads",
           is_max ? "global_maxpool" : "global_avgpool", n, h, w, c, d.in_cs,
           d.out_cs, threads);
  int fail = check_status(what, st, RT_OK);
  if (!fail)
    fail = check_close(what, got, want, len, d.out_cs);
  free(in), free(got), free(want);
  return fail;
}

#define V PAD_VALID
#define S PAD_SAME
#define E PAD_EXPLICIT

static const PoolCase cases[] = {
    /* name          n   h   w   c kh kw sh sw ph pw ie oo oe */
    {"2x2-even",     2,  8,  8, 16, 2, 2, 2, 2, V, V, 0, 0, 0},
    {"2x2-odd",      2,  9,  9, 16, 2, 2, 2, 2, V, V, 0, 0, 0},
    {"2x2-odd-same", 2,  9,  7, 16, 2, 2, 2, 2, S, S, 0, 0, 0},
    {"3x3-s2-same-even", 7, 8, 8, 70, 3, 3, 2, 2, S, S, 0, 0, 0},
    {"3x3-s2-same-odd",  1, 9, 9, 70, 3, 3, 2, 2, S, S, 0, 0, 0},
    {"3x3-s1-same",  2,  6,  5, 3, 3, 3, 1, 1, S, S, 0, 0, 0},
    {"3x3-s2-valid", 2, 11, 10, 5, 3, 3, 2, 2, V, V, 0, 0, 0},
    {"k2-s3",        1, 10, 11, 4, 2, 2, 3, 3, V, V, 0, 0, 0},
    {"k4-same",      1,  9, 10, 4, 4, 4, 2, 2, S, S, 0, 0, 0},
    {"explicit",     2,  6,  7, 6, 3, 2, 2, 1, E(1), E(1), 0, 0, 0},
    {"1x1-image",    1,  1,  1, 7, 2, 2, 2, 2, S, S, 0, 0, 0},
    {"1x1-image-k3", 3,  1,  1, 7, 3, 3, 1, 1, S, S, 0, 0, 0},
    {"global-as-pool", 2, 4, 4, 130, 4, 4, 4, 4, V, V, 0, 0, 0},
    {"slices",       2,  8,  8, 20, 3, 3, 2, 2, S, S, 6, 4, 9},
};

int main(void) {
  Rng rng;
  rng_seed(&rng, 7);
  int fails = 0;
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    for (int threads = 1; threads <= 3; threads++)
      for (int is_max = 0; is_max <= 1; is_max++)
        fails += run_pool(&cases[i], is_max, NULL, threads, &rng);
  static const RtAct pre_acts[] = {RT_ACT_RELU, RT_ACT_LINEAR, RT_ACT_LEAKY_RELU, RT_ACT_TANH};
  for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
    fails += run_pool(&cases[i], 0, &pre_acts[i % 4], 1 + (int)(i % 3), &rng);
  for (int is_max = 0; is_max <= 1; is_max++)
    for (int threads = 1; threads <= 3; threads += 2) {
      fails += run_global(1, 1, 1, 5, 0, 0, 0, is_max, threads, &rng);
      fails += run_global(7, 8, 8, 70, 0, 0, 0, is_max, threads, &rng);
      fails += run_global(2, 32, 32, 64, 0, 0, 0, is_max, threads, &rng);
      fails += run_global(3, 5, 6, 130, 7, 3, 4, is_max, threads, &rng);
    }
  RtContext ctx = {.num_threads = 1};
  float buf[16];
  RtPool2d bad = {.n = 1, .h = 2, .w = 2, .c = 1, .oh = 1, .ow = 1, .kh = 2,
                  .kw = 2, .sh = 2, .sw = 2, .out_cs = -1};
  fails += check_status("maxpool bad out_cs", rt_maxpool2d(&ctx, buf, buf, &bad), RT_ERR_ARG);
  RtPool2d ok = bad;
  ok.out_cs = 0;
  RtPreact pooled = {NULL, NULL, RT_ACT_RELU, 0.0f, 2, 4, 4};
  fails += check_status("avgpool through a pooled pre-activation", rt_avgpool2d_preact(&ctx, buf, buf, &pooled, &ok),
                        RT_ERR_ARG);
  fails += check_status("avgpool_preact without one", rt_avgpool2d_preact(&ctx, buf, buf, NULL, &ok), RT_ERR_ARG);
  RtEltwise gbad = {.n = 1, .h = 0, .w = 2, .c = 1};
  fails += check_status("global pool empty image", rt_global_avgpool(&ctx, buf, buf, &gbad), RT_ERR_ARG);
  if (fails)
    fprintf(stderr, "%d checks FAILED\n", fails);
  else
    printf("all pooling checks passed\n");
  return fails ? 1 : 0;
}
