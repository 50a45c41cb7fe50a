/* Gradient checks of pooling (CTest label `grad`): max and average pools
 * (valid and same, strides below the window so that windows overlap,
 * batch 1 and 3, odd sizes, channel strides), global average and max;
 * ties routed to the first maximum as the forward keeps it. */
#include <stdio.h>
#include <stdlib.h>

#include "gradcheck.h"
#include "netc/train_kernels.h"
#include "ref_train.h"

/* n floats in [-1, 1) at least 2/n apart, in random order: a max pool's
 * winner is then never within the finite-difference step of a runner-up. */
static float *distinct_buf(Rng *rng, size_t n) {
  float *p = malloc((n ? n : 1) * sizeof *p);
  for (size_t i = 0; i < n; i++)
    p[i] = -1.0f + 2.0f * ((float)i + 0.5f) / (float)n;
  for (size_t i = n; i > 1; i--) {
    size_t j = (size_t)rng_uniform(rng, 0.0f, (float)i);
    if (j >= i)
      j = i - 1;
    float t = p[i - 1];
    p[i - 1] = p[j];
    p[j] = t;
  }
  return p;
}

typedef struct PoolCase {
  const char *name;
  int n, h, w, c, kh, kw, sh, sw, pad, in_extra, out_extra;
  long every;
} PoolCase;

static const PoolCase pool_cases[] = {
    {"2x2-s2-valid", 1, 6, 6, 3, 2, 2, 2, 2, PAD_VALID, 0, 0, 1},
    {"3x3-s2-valid-overlap-odd", 3, 7, 5, 2, 3, 3, 2, 2, PAD_VALID, 1, 2, 1},
    {"3x3-s1-same", 2, 5, 6, 3, 3, 3, 1, 1, PAD_SAME, 0, 3, 1},
    {"3x3-s2-same-strided", 3, 7, 7, 4, 3, 3, 2, 2, PAD_SAME, 2, 1, 1},
    {"2x3-s1-same-even", 1, 5, 4, 2, 2, 3, 1, 1, PAD_SAME, 0, 0, 1},
    {"3x3-s2-same-threaded", 4, 16, 16, 40, 3, 3, 2, 2, PAD_SAME, 0, 0, 61},
};

typedef struct PoolArg {
  RtPool2d d;
  int is_max;
  double *in, *out;
  const float *r;
  size_t on;
} PoolArg;

static double pool_loss(void *p) {
  PoolArg *a = p;
  if (a->is_max)
    ref_train_maxpool2d(a->out, a->in, &a->d);
  else
    ref_train_avgpool2d(a->out, a->in, &a->d);
  return gc_dot(a->out, a->r, a->on, a->d.out_cs, a->d.c);
}

static int test_pool(const PoolCase *pc, int is_max, int threads, Rng *rng) {
  int oh, ow, pt, pl, fail = 0;
  out_size(pc->h, pc->kh, pc->sh, pc->pad, &oh, &pt);
  out_size(pc->w, pc->kw, pc->sw, pc->pad, &ow, &pl);
  int in_cs = pc->c + pc->in_extra, out_cs = pc->c + pc->out_extra;
  RtPool2d d = {.n = pc->n, .h = pc->h, .w = pc->w, .c = pc->c, .in_cs = in_cs, .oh = oh, .ow = ow,
                .out_cs = out_cs, .kh = pc->kh, .kw = pc->kw, .sh = pc->sh, .sw = pc->sw, .pad_top = pt,
                .pad_left = pl};
  size_t in_n = (size_t)pc->n * pc->h * pc->w * in_cs, on = (size_t)pc->n * oh * ow * out_cs;
  float *in = distinct_buf(rng, in_n), *r = rand_buf(rng, on, -1, 1);
  float *din = sentinel_buf(in_n);
  float *base = gc_rand_strided(rng, in_n, in_cs, pc->c, -1, 1), *din2 = gc_copy(base, in_n);
  RtContext ctx = {.num_threads = threads};
  char op[160];
  snprintf(op, sizeof op, "%s %s n%d %dx%dx%d->%dx%d t%d", is_max ? "maxpool" : "avgpool", pc->name, pc->n, pc->h,
           pc->w, pc->c, oh, ow, threads);
  if (is_max) {
    fail |= check_status(op, rt_maxpool2d_backward(&ctx, din, r, in, 0, &d), RT_OK);
    fail |= check_status(op, rt_maxpool2d_backward(&ctx, din2, r, in, 1, &d), RT_OK);
  } else {
    fail |= check_status(op, rt_avgpool2d_backward(&ctx, din, r, 0, &d), RT_OK);
    fail |= check_status(op, rt_avgpool2d_backward(&ctx, din2, r, 1, &d), RT_OK);
  }
  PoolArg a = {d, is_max, gc_to_double(in, in_n), gc_dbuf(on), r, on};
  double *want = gc_dbuf(in_n);
  gc_fd(want, a.in, in_n, in_cs, pc->c, pc->every, pool_loss, &a);
  fail |= gc_compare(op, "din", din, want, NULL, in_n, in_cs, pc->c);
  fail |= gc_compare(op, "din accumulate", din2, want, base, in_n, in_cs, pc->c);
  free(in); free(r); free(din); free(base); free(din2); free(a.in); free(a.out); free(want);
  return fail;
}

typedef struct GlobalArg {
  RtEltwise d;
  int is_max;
  double *in, *out;
  const float *r;
  size_t on;
} GlobalArg;

static double global_loss(void *p) {
  GlobalArg *a = p;
  if (a->is_max)
    ref_train_global_maxpool(a->out, a->in, &a->d);
  else
    ref_train_global_avgpool(a->out, a->in, &a->d);
  return gc_dot(a->out, a->r, a->on, a->d.out_cs, a->d.c);
}

static int test_global(int n, int h, int w, int c, int in_extra, int out_extra, long every, int is_max, int threads,
                       Rng *rng) {
  int fail = 0, in_cs = c + in_extra, out_cs = c + out_extra;
  RtEltwise d = {.n = n, .h = h, .w = w, .c = c, .in_cs = in_cs, .out_cs = out_cs};
  size_t in_n = (size_t)n * h * w * in_cs, on = (size_t)n * out_cs;
  float *in = distinct_buf(rng, in_n), *r = rand_buf(rng, on, -1, 1);
  float *din = sentinel_buf(in_n);
  float *base = gc_rand_strided(rng, in_n, in_cs, c, -1, 1), *din2 = gc_copy(base, in_n);
  RtContext ctx = {.num_threads = threads};
  char op[160];
  snprintf(op, sizeof op, "%s n%d %dx%dx%d (cs %d->%d) t%d", is_max ? "global_maxpool" : "global_avgpool", n, h, w,
           c, in_cs, out_cs, threads);
  if (is_max) {
    fail |= check_status(op, rt_global_maxpool_backward(&ctx, din, r, in, 0, &d), RT_OK);
    fail |= check_status(op, rt_global_maxpool_backward(&ctx, din2, r, in, 1, &d), RT_OK);
  } else {
    fail |= check_status(op, rt_global_avgpool_backward(&ctx, din, r, 0, &d), RT_OK);
    fail |= check_status(op, rt_global_avgpool_backward(&ctx, din2, r, 1, &d), RT_OK);
  }
  GlobalArg a = {d, is_max, gc_to_double(in, in_n), gc_dbuf(on), r, on};
  double *want = gc_dbuf(in_n);
  gc_fd(want, a.in, in_n, in_cs, c, every, global_loss, &a);
  fail |= gc_compare(op, "din", din, want, NULL, in_n, in_cs, c);
  fail |= gc_compare(op, "din accumulate", din2, want, base, in_n, in_cs, c);
  free(in); free(r); free(din); free(base); free(din2); free(a.in); free(a.out); free(want);
  return fail;
}

/* Equal values: the forward keeps the first maximum in window order, and
 * the gradient must go there and nowhere else. */
static int test_ties(void) {
  int fail = 0;
  RtContext ctx = {.num_threads = 1};
  float in[8] = {1, 1, 1, 2, 0.5f, 0.25f, 2, 2}; /* one image 2x4x1 */
  float g[2] = {3, 5}, din[8];
  RtPool2d d = {.n = 1, .h = 2, .w = 4, .c = 1, .oh = 1, .ow = 2, .kh = 2, .kw = 2, .sh = 2, .sw = 2};
  fail |= check_status("maxpool ties", rt_maxpool2d_backward(&ctx, din, g, in, 0, &d), RT_OK);
  const float want[8] = {3, 0, 0, 5, 0, 0, 0, 0};
  fail |= check_close("maxpool ties go to the first maximum", din, want, 8, 4);
  RtEltwise e = {.n = 1, .h = 2, .w = 4, .c = 1};
  float in2[8] = {0, 2, 1, 2, 2, 0, 0, 0}, g2[1] = {7};
  fail |= check_status("global_maxpool ties", rt_global_maxpool_backward(&ctx, din, g2, in2, 0, &e), RT_OK);
  const float want2[8] = {0, 7, 0, 0, 0, 0, 0, 0};
  fail |= check_close("global_maxpool ties go to the first maximum", din, want2, 8, 1);
  fail |= check_status("maxpool: NULL in", rt_maxpool2d_backward(&ctx, din, g, NULL, 0, &d), RT_ERR_ARG);
  fail |= check_status("avgpool: NULL din", rt_avgpool2d_backward(&ctx, NULL, g, 0, &d), RT_ERR_ARG);
  return fail;
}

int main(void) {
  Rng rng;
  rng_seed(&rng, 777);
  int fail = test_ties();
  static const int threads[] = {1, 4};
  for (int t = 0; t < 2; t++) {
    for (int is_max = 0; is_max < 2; is_max++) {
      for (size_t i = 0; i < sizeof pool_cases / sizeof *pool_cases; i++)
        fail |= test_pool(&pool_cases[i], is_max, threads[t], &rng);
      fail |= test_global(1, 3, 5, 4, 0, 0, 1, is_max, threads[t], &rng);
      fail |= test_global(3, 4, 3, 5, 2, 3, 1, is_max, threads[t], &rng);
      fail |= test_global(2, 1, 1, 6, 0, 0, 1, is_max, threads[t], &rng);
      fail |= test_global(8, 12, 12, 40, 0, 0, 37, is_max, threads[t], &rng);
    }
  }
  gc_summary();
  if (fail) {
    fprintf(stderr, "test_grad_pool: FAILED\n");
    return 1;
  }
  printf("test_grad_pool: all passed\n");
  return 0;
}
