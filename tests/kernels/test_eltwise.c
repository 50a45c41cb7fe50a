/* Per-pixel and element-wise kernels against the reference: batch norm
 * (and its fold into conv weights), channel affine, n-ary add with the
 * epilogue (and in place), squeeze-excitation multiply, every activation
 * (in place and strided), softmax (large logits, one channel, long rows),
 * PReLU with each kind of shared axes, concat and copy, zero padding. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "reference.h"

/* A shape with strides, and buffers for it. out_off is where the op's
 * slice starts inside out_cs channels. */
typedef struct Shape {
  int n, h, w, c, in_extra, out_off, out_extra;
} Shape;

static const Shape shapes[] = {
    {1, 1, 1, 1, 0, 0, 0},    /* a single value */
    {1, 1, 1, 1000, 0, 0, 0}, /* a classifier's logits */
    {7, 5, 3, 70, 0, 0, 0},   /* channels not a multiple of a vector */
    {2, 9, 8, 64, 0, 0, 0},
    {2, 4, 6, 20, 5, 3, 7},   /* read from / written into wider buffers */
    {1, 40, 40, 33, 0, 0, 0}, /* big enough to be split across threads */
    {1, 4, 4, 520, 0, 0, 0},  /* few pixels, many channels */
    {2, 3, 3, 300, 5, 3, 7},  /* the same, in wider buffers */
    /* Dense maps of few channels, as one run per block of pixels with the
     * scale repeated to whole vectors (affine_blocks): an image's 3
     * channels over several blocks, 24 and 5 channels with a partial last
     * pattern. */
    {3, 32, 32, 3, 0, 0, 0},
    {2, 5, 7, 24, 0, 0, 0},
    {1, 11, 13, 5, 0, 0, 0},
};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

static RtEltwise desc(const Shape *s) {
  RtEltwise d = {.n = s->n, .h = s->h, .w = s->w, .c = s->c,
                 .in_cs = s->c + s->in_extra,
                 .out_cs = s->c + s->out_off + s->out_extra};
  return d;
}

static long pixels(const Shape *s) { return (long)s->n * s->h * s->w; }

static int finish(const char *op, const Shape *s, int threads, RtStatus st,
                  const float *got, const float *want, const RtEltwise *d) {
  char what[200];
  snprintf(what, sizeof what, "%s %dx%dx%dx%d (cs %d -> %d), %d threads", op,
           s->n, s->h, s->w, s->c, d->in_cs, d->out_cs, threads);
  int fail = check_status(what, st, RT_OK);
  if (!fail)
    fail = check_close(what, got, want, pixels(s) * d->out_cs, d->out_cs);
  return fail;
}

static int test_batchnorm(const Shape *s, int threads, Rng *rng) {
  RtEltwise d = desc(s);
  long on = pixels(s) * d.out_cs;
  float *in = rand_buf(rng, pixels(s) * d.in_cs, -2, 2);
  float *gamma = rand_buf(rng, s->c, 0.5f, 1.5f);
  float *beta = rand_buf(rng, s->c, -0.5f, 0.5f);
  float *mean = rand_buf(rng, s->c, -0.5f, 0.5f);
  float *var = rand_buf(rng, s->c, 0.1f, 2.0f);
  float *res = rand_buf(rng, on, -1, 1);
  float *scale = malloc(s->c * sizeof *scale), *shift = malloc(s->c * sizeof *shift);
  RtContext ctx = {.num_threads = threads};
  int fail = 0;
  for (int variant = 0; variant < 3; variant++) {
    /* 0: full BN + relu; 1: no gamma/beta + residual + elu; 2: folded. */
    RtEpilogue ep = {.act = variant == 1 ? RT_ACT_ELU : RT_ACT_RELU,
                     .alpha = 1.0f,
                     .residual = variant == 1 ? res + s->out_off : NULL};
    const float *g = variant == 1 ? NULL : gamma, *b = variant == 1 ? NULL : beta;
    float *got = sentinel_buf(on), *want = sentinel_buf(on);
    ref_batchnorm(want + s->out_off, in, g, b, mean, var, 1e-3f, &ep, &d);
    RtStatus st;
    if (variant < 2) {
      st = rt_batchnorm(&ctx, got + s->out_off, in, g, b, mean, var, 1e-3f, &ep, &d);
    } else {
      rt_bn_fold(scale, shift, g, b, mean, var, 1e-3f, s->c);
      st = rt_channel_affine(&ctx, got + s->out_off, in, scale, shift, &ep, &d);
    }
    fail |= finish(variant == 2 ? "bn_fold+channel_affine" : "batchnorm", s,
                   threads, st, got, want, &d);
    free(got), free(want);
  }
  /* In place. */
  if (s->in_extra == 0 && s->out_off == 0 && s->out_extra == 0) {
    float *x = malloc(pixels(s) * s->c * sizeof *x), *want = sentinel_buf(pixels(s) * s->c);
    memcpy(x, in, pixels(s) * s->c * sizeof *x);
    ref_batchnorm(want, in, gamma, beta, mean, var, 1e-3f, NULL, &d);
    RtStatus st = rt_batchnorm(&ctx, x, x, gamma, beta, mean, var, 1e-3f, NULL, &d);
    fail |= finish("batchnorm in place", s, threads, st, x, want, &d);
    free(x), free(want);
  }
  free(in), free(gamma), free(beta), free(mean), free(var), free(res);
  free(scale), free(shift);
  return fail;
}

/* Folding BN into a conv's weights gives the conv-then-BN result. */
static int test_fold_conv(Rng *rng) {
  RtConv2d d = {.n = 2, .h = 6, .w = 6, .c = 5, .oh = 6, .ow = 6, .oc = 12,
                .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pad_top = 1, .pad_left = 1};
  long kn = 3 * 3 * 5 * 12, on = 2 * 6 * 6 * 12;
  float *in = rand_buf(rng, 2 * 6 * 6 * 5, -1, 1);
  float *kernel = rand_buf(rng, kn, -0.3f, 0.3f);
  float *bias = rand_buf(rng, 12, -0.5f, 0.5f);
  float *gamma = rand_buf(rng, 12, 0.5f, 1.5f), *beta = rand_buf(rng, 12, -0.5f, 0.5f);
  float *mean = rand_buf(rng, 12, -0.5f, 0.5f), *var = rand_buf(rng, 12, 0.1f, 2.0f);
  float *mid = sentinel_buf(on), *want = sentinel_buf(on), *got = sentinel_buf(on);
  RtEpilogue ep = {.bias = bias};
  ref_conv2d(mid, in, kernel, &ep, &d);
  RtEltwise ed = {.n = 2, .h = 6, .w = 6, .c = 12};
  RtEpilogue relu = {.act = RT_ACT_RELU};
  ref_batchnorm(want, mid, gamma, beta, mean, var, 1e-3f, &relu, &ed);
  float scale[12], shift[12];
  rt_bn_fold(scale, shift, gamma, beta, mean, var, 1e-3f, 12);
  rt_fold_affine(kernel, bias, scale, shift, 3 * 3 * 5, 12);
  RtEpilogue fused = {.bias = bias, .act = RT_ACT_RELU};
  size_t wsn = rt_conv2d_workspace_floats(&d);
  float *ws = malloc(wsn * sizeof *ws);
  RtContext ctx = {.num_threads = 2};
  RtStatus st = rt_conv2d(&ctx, got, in, kernel, &fused, &d, ws, wsn);
  int fail = check_status("conv with folded bn", st, RT_OK);
  fail |= check_close("conv with folded bn", got, want, on, 12);
  free(in), free(kernel), free(bias), free(gamma), free(beta), free(mean);
  free(var), free(mid), free(want), free(got), free(ws);
  return fail;
}

static int test_add(const Shape *s, int threads, Rng *rng) {
  RtEltwise d = desc(s);
  long inn = pixels(s) * d.in_cs, on = pixels(s) * d.out_cs;
  float *a = rand_buf(rng, inn, -1, 1), *b = rand_buf(rng, inn, -1, 1);
  float *c = rand_buf(rng, inn, -1, 1);
  float *bias = rand_buf(rng, s->c, -1, 1), *res = rand_buf(rng, on, -1, 1);
  RtContext ctx = {.num_threads = threads};
  int fail = 0;
  for (int count = 1; count <= 3; count++) {
    const float *ins[3] = {a, b, c};
    RtEpilogue ep = {.bias = count == 3 ? bias : NULL,
                     .residual = count >= 2 ? res + s->out_off : NULL,
                     .act = count == 2 ? RT_ACT_RELU : RT_ACT_LINEAR};
    float *got = sentinel_buf(on), *want = sentinel_buf(on);
    ref_add(want + s->out_off, ins, count, &ep, &d);
    RtStatus st = rt_add(&ctx, got + s->out_off, ins, count, &ep, &d);
    char op[32];
    snprintf(op, sizeof op, "add x%d", count);
    fail |= finish(op, s, threads, st, got, want, &d);
    free(got), free(want);
  }
  if (s->in_extra == 0 && s->out_off == 0 && s->out_extra == 0) {
    /* In place into the second input (the residual branch's buffer). */
    float *want = sentinel_buf(on), *x = malloc(inn * sizeof *x);
    memcpy(x, b, inn * sizeof *x);
    const float *ins[2] = {a, x};
    RtEpilogue ep = {.act = RT_ACT_RELU};
    ref_add(want, ins, 2, &ep, &d);
    RtStatus st = rt_add(&ctx, x, ins, 2, &ep, &d);
    fail |= finish("add in place", s, threads, st, x, want, &d);
    free(want), free(x);
  }
  free(a), free(b), free(c), free(bias), free(res);
  return fail;
}

static int test_mul_channel(const Shape *s, int threads, Rng *rng) {
  RtEltwise d = desc(s);
  long on = pixels(s) * d.out_cs;
  int s_cs = s->c + 2;
  float *in = rand_buf(rng, pixels(s) * d.in_cs, -1, 1);
  float *sc = rand_buf(rng, (long)s->n * s_cs, 0, 1);
  float *bias = rand_buf(rng, s->c, -1, 1);
  RtEpilogue ep = {.bias = bias, .act = RT_ACT_RELU6};
  float *got = sentinel_buf(on), *want = sentinel_buf(on);
  RtContext ctx = {.num_threads = threads};
  ref_mul_channel(want + s->out_off, in, sc, s_cs, &ep, &d);
  RtStatus st = rt_mul_channel(&ctx, got + s->out_off, in, sc, s_cs, &ep, &d);
  int fail = finish("mul_channel", s, threads, st, got, want, &d);
  free(in), free(sc), free(bias), free(got), free(want);
  return fail;
}

static int test_activation(const Shape *s, int threads, Rng *rng) {
  RtEltwise d = desc(s);
  long inn = pixels(s) * d.in_cs, on = pixels(s) * d.out_cs;
  float *in = rand_buf(rng, inn, -8, 8); /* past relu6's 6 and tanh's knee */
  RtContext ctx = {.num_threads = threads};
  int fail = 0;
  for (int a = RT_ACT_LINEAR; a <= RT_ACT_THRESHOLDED_RELU; a++) {
    float alpha = a == RT_ACT_THRESHOLDED_RELU ? 1.0f : 0.3f;
    float *got = sentinel_buf(on), *want = sentinel_buf(on);
    ref_activation(want + s->out_off, in, (RtAct)a, alpha, &d);
    RtStatus st = rt_activation(&ctx, got + s->out_off, in, (RtAct)a, alpha, &d);
    char op[64];
    snprintf(op, sizeof op, "activation %s", act_name((RtAct)a));
    fail |= finish(op, s, threads, st, got, want, &d);
    if (s->in_extra == 0 && s->out_off == 0 && s->out_extra == 0) {
      memcpy(got, in, inn * sizeof *got);
      st = rt_activation(&ctx, got, got, (RtAct)a, alpha, &d);
      snprintf(op, sizeof op, "activation %s in place", act_name((RtAct)a));
      fail |= finish(op, s, threads, st, got, want, &d);
    }
    free(got), free(want);
  }
  free(in);
  return fail;
}

static int test_softmax(const Shape *s, int threads, Rng *rng) {
  RtEltwise d = desc(s);
  long on = pixels(s) * d.out_cs;
  /* Logits in the hundreds: exp without the max subtracted would overflow. */
  float *in = rand_buf(rng, pixels(s) * d.in_cs, -300, 300);
  float *got = sentinel_buf(on), *want = sentinel_buf(on);
  RtContext ctx = {.num_threads = threads};
  ref_softmax(want + s->out_off, in, &d);
  RtStatus st = rt_softmax(&ctx, got + s->out_off, in, &d);
  int fail = finish("softmax (logits +-300)", s, threads, st, got, want, &d);
  free(in);
  in = rand_buf(rng, pixels(s) * d.in_cs, -3, 3);
  ref_softmax(want + s->out_off, in, &d);
  st = rt_softmax(&ctx, got + s->out_off, in, &d);
  fail |= finish("softmax", s, threads, st, got, want, &d);
  free(in), free(got), free(want);
  return fail;
}

static int test_prelu(const Shape *s, int threads, Rng *rng) {
  RtContext ctx = {.num_threads = threads};
  int fail = 0;
  for (int shared = 0; shared < 4; shared++) {
    /* 0: none shared; 1: [1,2] (per channel); 2: [1,2,3]; 3: [3] */
    RtPRelu d = {.n = s->n, .h = s->h, .w = s->w, .c = s->c,
                 .in_cs = s->c + s->in_extra,
                 .out_cs = s->c + s->out_off + s->out_extra,
                 .alpha_h = shared == 1 || shared == 2 ? 1 : s->h,
                 .alpha_w = shared == 1 || shared == 2 ? 1 : s->w,
                 .alpha_c = shared >= 2 ? 1 : s->c};
    long on = pixels(s) * d.out_cs;
    float *in = rand_buf(rng, pixels(s) * d.in_cs, -1, 1);
    float *alpha = rand_buf(rng, (long)d.alpha_h * d.alpha_w * d.alpha_c, 0, 0.5f);
    float *got = sentinel_buf(on), *want = sentinel_buf(on);
    ref_prelu(want + s->out_off, in, alpha, &d);
    RtStatus st = rt_prelu(&ctx, got + s->out_off, in, alpha, &d);
    RtEltwise ed = desc(s);
    char op[64];
    snprintf(op, sizeof op, "prelu alpha %dx%dx%d", d.alpha_h, d.alpha_w, d.alpha_c);
    fail |= finish(op, s, threads, st, got, want, &ed);
    free(in), free(alpha), free(got), free(want);
  }
  return fail;
}

static int test_concat_pad(const Shape *s, int threads, Rng *rng) {
  RtContext ctx = {.num_threads = threads};
  int fail = 0;
  RtEltwise d = desc(s);
  /* Copy into a slice. */
  long on = pixels(s) * d.out_cs;
  float *in = rand_buf(rng, pixels(s) * d.in_cs, -1, 1);
  float *got = sentinel_buf(on), *want = sentinel_buf(on);
  ref_activation(want + s->out_off, in, RT_ACT_LINEAR, 0, &d);
  RtStatus st = rt_copy(&ctx, got + s->out_off, in, &d);
  fail |= finish("copy", s, threads, st, got, want, &d);
  free(got), free(want), free(in);
  /* Three inputs into a buffer with spare channels on both sides. */
  int chans[3] = {s->c, 1, 5}, total = s->c + 6, out_cs = total + s->out_off + s->out_extra;
  float *a = rand_buf(rng, pixels(s) * chans[0], -1, 1);
  float *b = rand_buf(rng, pixels(s) * chans[1], -1, 1);
  float *c = rand_buf(rng, pixels(s) * chans[2], -1, 1);
  const float *ins[3] = {a, b, c};
  RtEltwise cd = {.n = s->n, .h = s->h, .w = s->w, .out_cs = out_cs};
  on = pixels(s) * out_cs;
  got = sentinel_buf(on), want = sentinel_buf(on);
  ref_concat(want + s->out_off, ins, chans, 3, &cd);
  st = rt_concat(&ctx, got + s->out_off, ins, chans, 3, &cd);
  cd.c = total;
  cd.in_cs = total;
  fail |= finish("concat", s, threads, st, got, want, &cd);
  free(got), free(want), free(a), free(b), free(c);
  /* Asymmetric zero padding. */
  RtPad pd = {.n = s->n, .h = s->h, .w = s->w, .c = s->c, .in_cs = d.in_cs,
              .out_cs = d.out_cs, .top = 1, .bottom = 2, .left = 0, .right = 3};
  long opix = (long)s->n * (s->h + 3) * (s->w + 3);
  in = rand_buf(rng, pixels(s) * d.in_cs, -1, 1);
  got = sentinel_buf(opix * d.out_cs), want = sentinel_buf(opix * d.out_cs);
  ref_zeropad(want + s->out_off, in, &pd);
  st = rt_zeropad(&ctx, got + s->out_off, in, &pd);
  char what[100];
  snprintf(what, sizeof what, "zeropad 1,2,0,3 %dx%dx%dx%d, %d threads", s->n,
           s->h, s->w, s->c, threads);
  fail |= check_status(what, st, RT_OK) ||
          check_close(what, got, want, opix * d.out_cs, d.out_cs);
  free(in), free(got), free(want);
  return fail;
}

int main(void) {
  Rng rng;
  rng_seed(&rng, 99);
  int fails = 0;
  for (int i = 0; i < NSHAPES; i++)
    for (int threads = 1; threads <= 3; threads++) {
      fails += test_batchnorm(&shapes[i], threads, &rng);
      fails += test_add(&shapes[i], threads, &rng);
      fails += test_mul_channel(&shapes[i], threads, &rng);
      fails += test_activation(&shapes[i], threads, &rng);
      fails += test_softmax(&shapes[i], threads, &rng);
      fails += test_prelu(&shapes[i], threads, &rng);
      fails += test_concat_pad(&shapes[i], threads, &rng);
    }
  fails += test_fold_conv(&rng);
  RtContext ctx = {.num_threads = 1};
  float buf[8];
  RtEltwise d = {.n = 1, .h = 1, .w = 1, .c = 2, .in_cs = 1};
  fails += check_status("add in_cs < c", rt_add(&ctx, buf, (const float *const[]){buf}, 1, NULL, &d), RT_ERR_ARG);
  RtPRelu pd = {.n = 1, .h = 2, .w = 2, .c = 2, .alpha_h = 2, .alpha_w = 3, .alpha_c = 2};
  fails += check_status("prelu bad alpha shape", rt_prelu(&ctx, buf, buf, buf, &pd), RT_ERR_ARG);
  if (fails)
    fprintf(stderr, "%d checks FAILED\n", fails);
  else
    printf("all element-wise checks passed\n");
  return fails ? 1 : 0;
}
