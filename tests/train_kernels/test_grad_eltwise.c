/* Gradient checks of the per-pixel ops and losses (CTest label `grad`):
 * batch norm in training mode (through the batch statistics), every
 * activation (away from its kinks), softmax, PReLU (each kind of shared
 * axes), the squeeze-excitation multiply (per channel and per element),
 * zero padding, dropout (the saved mask times the scale), the fused
 * softmax + cross-entropy and MSE; plus exact checks of rt_accumulate. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gradcheck.h"
#include "netc/train_kernels.h"
#include "ref_train.h"

typedef struct Shape {
  int n, h, w, c, in_extra, out_extra;
  long every;
} Shape;

static const Shape shapes[] = {
    {1, 3, 4, 5, 0, 0, 1},    /* batch 1, odd sizes */
    {3, 2, 3, 4, 2, 3, 1},    /* batch 3, read from / written to wider buffers */
    {6, 1, 1, 7, 0, 1, 1},    /* vectors */
    {4, 8, 8, 70, 1, 0, 23},  /* more than one 64-channel chunk, threaded */
};
enum { NSHAPES = sizeof shapes / sizeof shapes[0] };

static long npix(const Shape *s) { return (long)s->n * s->h * s->w; }

static RtEltwise desc(const Shape *s) {
  RtEltwise d = {.n = s->n, .h = s->h, .w = s->w, .c = s->c, .in_cs = s->c + s->in_extra,
                 .out_cs = s->c + s->out_extra};
  return d;
}

static void label(char *buf, size_t size, const char *op, const Shape *s, int threads) {
  snprintf(buf, size, "%s n%d %dx%dx%d (cs %d->%d) t%d", op, s->n, s->h, s->w, s->c, s->c + s->in_extra,
           s->c + s->out_extra, threads);
}

/* ---- Batch norm -------------------------------------------------------------- */

typedef struct BnArg {
  RtEltwise d;
  double *in, *gamma, *beta, *out, eps;
  const float *r;
  size_t on;
} BnArg;

static double bn_loss(void *p) {
  BnArg *a = p;
  ref_train_batchnorm(a->out, NULL, NULL, a->in, a->gamma, a->beta, a->eps, &a->d);
  return gc_dot(a->out, a->r, a->on, a->d.out_cs, a->d.c);
}

static int test_bn(const Shape *s, int affine, int threads, Rng *rng) {
  RtEltwise d = desc(s);
  int fail = 0, c = s->c;
  size_t in_n = npix(s) * d.in_cs, on = npix(s) * d.out_cs;
  /* An offset mean and a spread unlike 1, as activations have. */
  float *in = rand_buf(rng, in_n, -0.5f, 2.5f), *r = rand_buf(rng, on, -1, 1);
  float *gamma = rand_buf(rng, c, 0.5f, 1.5f), *beta = rand_buf(rng, c, -0.5f, 0.5f);
  float *out = sentinel_buf(on), *mean = sentinel_buf(c), *invstd = sentinel_buf(c);
  float *din = sentinel_buf(in_n), *dg = sentinel_buf(c), *dbeta = sentinel_buf(c);
  float *base = gc_rand_strided(rng, in_n, d.in_cs, c, -1, 1), *din2 = gc_copy(base, in_n);
  float eps = 1e-3f;
  RtContext ctx = {.num_threads = threads};
  char op[160];
  label(op, sizeof op, affine ? "batchnorm" : "batchnorm no-affine", s, threads);
  fail |= check_status(op, rt_batchnorm_train(&ctx, out, mean, invstd, NULL, NULL, in, affine ? gamma : NULL,
                                              affine ? beta : NULL, 0.99f, eps, NULL, &d), RT_OK);
  fail |= check_status(op, rt_batchnorm_backward(&ctx, din, affine ? dg : NULL, affine ? dbeta : NULL, r, in,
                                                 affine ? gamma : NULL, mean, invstd, 0, &d), RT_OK);
  fail |= check_status(op, rt_batchnorm_backward(&ctx, din2, NULL, NULL, r, in, affine ? gamma : NULL, mean, invstd,
                                                 1, &d), RT_OK);
  BnArg a = {d, gc_to_double(in, in_n), affine ? gc_to_double(gamma, c) : NULL,
             affine ? gc_to_double(beta, c) : NULL, gc_dbuf(on), eps, r, on};
  double *w_in = gc_dbuf(in_n), *w_g = gc_dbuf(c), *w_b = gc_dbuf(c);
  gc_fd(w_in, a.in, in_n, d.in_cs, c, s->every, bn_loss, &a);
  fail |= gc_compare(op, "din", din, w_in, NULL, in_n, d.in_cs, c);
  fail |= gc_compare(op, "din accumulate", din2, w_in, base, in_n, d.in_cs, c);
  if (affine) {
    gc_fd(w_g, a.gamma, c, c, c, 1, bn_loss, &a);
    gc_fd(w_b, a.beta, c, c, c, 1, bn_loss, &a);
    fail |= gc_compare(op, "dgamma", dg, w_g, NULL, c, c, c);
    fail |= gc_compare(op, "dbeta", dbeta, w_b, NULL, c, c, c);
  }
  free(in); free(r); free(gamma); free(beta); free(out); free(mean); free(invstd); free(din); free(dg);
  free(dbeta); free(base); free(din2); free(a.in); free(a.gamma); free(a.beta); free(a.out); free(w_in);
  free(w_g); free(w_b);
  return fail;
}

/* ---- Activations and softmax ---------------------------------------------------- */

typedef struct ActArg {
  RtEltwise d;
  RtAct act;
  double alpha, *in, *out;
  const float *r;
  size_t on;
  int softmax;
} ActArg;

static double act_loss(void *p) {
  ActArg *a = p;
  if (a->softmax)
    ref_train_softmax(a->out, a->in, &a->d);
  else
    ref_train_activation(a->out, a->in, a->act, a->alpha, &a->d);
  return gc_dot(a->out, a->r, a->on, a->d.out_cs, a->d.c);
}

/* Moves x at least 0.01 away from the kinks of act, where the derivative
 * jumps and a finite difference means nothing. */
static float off_kink(RtAct act, float alpha, float x) {
  float kinks[2] = {0.0f, 0.0f};
  int nk = 0;
  switch (act) {
  case RT_ACT_RELU: case RT_ACT_LEAKY_RELU: case RT_ACT_ELU: kinks[nk++] = 0.0f; break;
  case RT_ACT_RELU6: kinks[nk++] = 0.0f; kinks[nk++] = 6.0f; break;
  case RT_ACT_THRESHOLDED_RELU: kinks[nk++] = alpha; break;
  case RT_ACT_LINEAR: case RT_ACT_SIGMOID: case RT_ACT_TANH: break;
  }
  for (int i = 0; i < nk; i++)
    if (fabsf(x - kinks[i]) < 0.01f)
      x = kinks[i] + (x < kinks[i] ? -0.01f : 0.01f);
  return x;
}

static int test_act(const Shape *s, RtAct act, float alpha, int softmax, int threads, Rng *rng) {
  RtEltwise d = desc(s);
  int fail = 0, c = s->c;
  size_t in_n = npix(s) * d.in_cs, on = npix(s) * d.out_cs;
  float lo = act == RT_ACT_RELU6 ? -3.0f : -2.0f, hi = act == RT_ACT_RELU6 ? 8.0f : 2.0f;
  float *in = rand_buf(rng, in_n, softmax ? -4.0f : lo, softmax ? 4.0f : hi);
  for (size_t i = 0; i < in_n; i++)
    in[i] = off_kink(act, alpha, in[i]);
  float *r = rand_buf(rng, on, -1, 1), *y = sentinel_buf(on), *din = sentinel_buf(in_n);
  float *base = gc_rand_strided(rng, in_n, d.in_cs, c, -1, 1), *din2 = gc_copy(base, in_n);
  RtContext ctx = {.num_threads = threads};
  char op[160], name[64];
  snprintf(name, sizeof name, "%s", softmax ? "softmax" : act_name(act));
  label(op, sizeof op, name, s, threads);
  if (softmax) {
    fail |= check_status(op, rt_softmax(&ctx, y, in, &d), RT_OK);
    fail |= check_status(op, rt_softmax_backward(&ctx, din, r, y, 0, &d), RT_OK);
    fail |= check_status(op, rt_softmax_backward(&ctx, din2, r, y, 1, &d), RT_OK);
  } else {
    fail |= check_status(op, rt_activation(&ctx, y, in, act, alpha, &d), RT_OK);
    fail |= check_status(op, rt_activation_backward(&ctx, din, r, y, act, alpha, 0, &d), RT_OK);
    fail |= check_status(op, rt_activation_backward(&ctx, din2, r, y, act, alpha, 1, &d), RT_OK);
  }
  ActArg a = {d, act, alpha, gc_to_double(in, in_n), gc_dbuf(on), r, on, softmax};
  double *want = gc_dbuf(in_n);
  gc_fd(want, a.in, in_n, d.in_cs, c, s->every, act_loss, &a);
  fail |= gc_compare(op, "din", din, want, NULL, in_n, d.in_cs, c);
  fail |= gc_compare(op, "din accumulate", din2, want, base, in_n, d.in_cs, c);
  if (d.in_cs == d.out_cs && !softmax) {
    /* In place: din = dout. */
    float *g = gc_copy(r, on);
    for (size_t i = 0; i < on; i++)
      if ((int)(i % d.out_cs) >= c)
        g[i] = SENTINEL; /* channels outside the op's: must stay untouched */
    fail |= check_status(op, rt_activation_backward(&ctx, g, g, y, act, alpha, 0, &d), RT_OK);
    fail |= gc_compare(op, "din in place", g, want, NULL, in_n, d.in_cs, c);
    free(g);
  }
  free(in); free(r); free(y); free(din); free(base); free(din2); free(a.in); free(a.out); free(want);
  return fail;
}

/* ---- PReLU ------------------------------------------------------------------------ */

typedef struct PreluArg {
  RtPRelu d;
  double *in, *alpha, *out;
  const float *r;
  size_t on;
} PreluArg;

static double prelu_loss(void *p) {
  PreluArg *a = p;
  ref_train_prelu(a->out, a->in, a->alpha, &a->d);
  return gc_dot(a->out, a->r, a->on, a->d.out_cs, a->d.c);
}

static int test_prelu(const Shape *s, int share_hw, int share_c, int share_h_only, int threads, Rng *rng) {
  int fail = 0, c = s->c;
  RtPRelu d = {.n = s->n, .h = s->h, .w = s->w, .c = c, .in_cs = c + s->in_extra, .out_cs = c + s->out_extra,
               .alpha_h = share_hw || share_h_only ? 1 : s->h, .alpha_w = share_hw ? 1 : s->w,
               .alpha_c = share_c ? 1 : c};
  size_t in_n = npix(s) * d.in_cs, on = npix(s) * d.out_cs;
  size_t an = (size_t)d.alpha_h * d.alpha_w * d.alpha_c;
  float *in = rand_buf(rng, in_n, -2, 2);
  for (size_t i = 0; i < in_n; i++)
    in[i] = off_kink(RT_ACT_RELU, 0, in[i]);
  float *alpha = rand_buf(rng, an, -0.5f, 0.5f), *r = rand_buf(rng, on, -1, 1);
  float *din = sentinel_buf(in_n), *da = sentinel_buf(an);
  float *base = gc_rand_strided(rng, in_n, d.in_cs, c, -1, 1), *din2 = gc_copy(base, in_n);
  RtContext ctx = {.num_threads = threads};
  char op[160], name[64];
  snprintf(name, sizeof name, "prelu alpha%dx%dx%d", d.alpha_h, d.alpha_w, d.alpha_c);
  label(op, sizeof op, name, s, threads);
  fail |= check_status(op, rt_prelu_backward(&ctx, din, da, r, in, alpha, 0, &d), RT_OK);
  fail |= check_status(op, rt_prelu_backward(&ctx, din2, NULL, r, in, alpha, 1, &d), RT_OK);
  PreluArg a = {d, gc_to_double(in, in_n), gc_to_double(alpha, an), gc_dbuf(on), r, on};
  double *w_in = gc_dbuf(in_n), *w_a = gc_dbuf(an);
  gc_fd(w_in, a.in, in_n, d.in_cs, c, s->every, prelu_loss, &a);
  gc_fd(w_a, a.alpha, an, 1, 1, an > 64 ? s->every : 1, prelu_loss, &a);
  fail |= gc_compare(op, "din", din, w_in, NULL, in_n, d.in_cs, c);
  fail |= gc_compare(op, "din accumulate", din2, w_in, base, in_n, d.in_cs, c);
  fail |= gc_compare(op, "dalpha", da, w_a, NULL, an, (int)an, (int)an);
  free(in); free(alpha); free(r); free(din); free(da); free(base); free(din2); free(a.in); free(a.alpha);
  free(a.out); free(w_in); free(w_a);
  return fail;
}

/* ---- Multiply by a per-channel (or per-element) gate ------------------------------- */

typedef struct MulArg {
  RtEltwise d;
  double *in, *s, *out;
  int s_cs;
  const float *r;
  size_t on;
} MulArg;

static double mul_loss(void *p) {
  MulArg *a = p;
  ref_train_mul_channel(a->out, a->in, a->s, a->s_cs, &a->d);
  return gc_dot(a->out, a->r, a->on, a->d.out_cs, a->d.c);
}

static int test_mul(const Shape *s, int per_element, int threads, Rng *rng) {
  int fail = 0, c = s->c;
  Shape sh = *s;
  if (per_element) { /* every pixel its own gate: n = pixels, h = w = 1 */
    sh.n = s->n * s->h * s->w;
    sh.h = sh.w = 1;
  }
  RtEltwise d = desc(&sh);
  int s_cs = c + 2;
  size_t in_n = npix(&sh) * d.in_cs, on = npix(&sh) * d.out_cs, sn = (size_t)sh.n * s_cs;
  float *in = rand_buf(rng, in_n, -1, 1), *gate = gc_rand_strided(rng, sn, s_cs, c, 0, 1);
  float *r = rand_buf(rng, on, -1, 1), *din = sentinel_buf(in_n), *ds = sentinel_buf(sn);
  float *base = gc_rand_strided(rng, in_n, d.in_cs, c, -1, 1), *din2 = gc_copy(base, in_n);
  float *sbase = gc_rand_strided(rng, sn, s_cs, c, -1, 1), *ds2 = gc_copy(sbase, sn);
  RtContext ctx = {.num_threads = threads};
  char op[160];
  label(op, sizeof op, per_element ? "mul_channel per-element" : "mul_channel", &sh, threads);
  fail |= check_status(op, rt_mul_channel_backward(&ctx, din, ds, r, in, gate, s_cs, 0, &d), RT_OK);
  fail |= check_status(op, rt_mul_channel_backward(&ctx, din2, ds2, r, in, gate, s_cs, 1, &d), RT_OK);
  MulArg a = {d, gc_to_double(in, in_n), gc_to_double(gate, sn), gc_dbuf(on), s_cs, r, on};
  double *w_in = gc_dbuf(in_n), *w_s = gc_dbuf(sn);
  gc_fd(w_in, a.in, in_n, d.in_cs, c, s->every, mul_loss, &a);
  gc_fd(w_s, a.s, sn, s_cs, c, 1, mul_loss, &a);
  fail |= gc_compare(op, "din", din, w_in, NULL, in_n, d.in_cs, c);
  fail |= gc_compare(op, "din accumulate", din2, w_in, base, in_n, d.in_cs, c);
  fail |= gc_compare(op, "ds", ds, w_s, NULL, sn, s_cs, c);
  fail |= gc_compare(op, "ds accumulate", ds2, w_s, sbase, sn, s_cs, c);
  free(in); free(gate); free(r); free(din); free(ds); free(base); free(din2); free(sbase); free(ds2);
  free(a.in); free(a.s); free(a.out); free(w_in); free(w_s);
  return fail;
}

/* ---- Zero padding ---------------------------------------------------------------- */

typedef struct PadArg {
  RtPad d;
  double *in, *out;
  const float *r;
  size_t on;
} PadArg;

static double pad_loss(void *p) {
  PadArg *a = p;
  ref_train_zeropad(a->out, a->in, &a->d);
  return gc_dot(a->out, a->r, a->on, a->d.out_cs, a->d.c);
}

static int test_zeropad(const Shape *s, int threads, Rng *rng) {
  int fail = 0, c = s->c;
  RtPad d = {.n = s->n, .h = s->h, .w = s->w, .c = c, .in_cs = c + s->in_extra, .out_cs = c + s->out_extra,
             .top = 1, .bottom = 2, .left = 0, .right = 3};
  int oh = s->h + 3, ow = s->w + 3;
  size_t in_n = npix(s) * d.in_cs, on = (size_t)s->n * oh * ow * d.out_cs;
  float *in = rand_buf(rng, in_n, -1, 1), *r = rand_buf(rng, on, -1, 1), *din = sentinel_buf(in_n);
  float *base = gc_rand_strided(rng, in_n, d.in_cs, c, -1, 1), *din2 = gc_copy(base, in_n);
  RtContext ctx = {.num_threads = threads};
  char op[160];
  label(op, sizeof op, "zeropad", s, threads);
  fail |= check_status(op, rt_zeropad_backward(&ctx, din, r, 0, &d), RT_OK);
  fail |= check_status(op, rt_zeropad_backward(&ctx, din2, r, 1, &d), RT_OK);
  PadArg a = {d, gc_to_double(in, in_n), gc_dbuf(on), r, on};
  double *want = gc_dbuf(in_n);
  gc_fd(want, a.in, in_n, d.in_cs, c, s->every, pad_loss, &a);
  fail |= gc_compare(op, "din", din, want, NULL, in_n, d.in_cs, c);
  fail |= gc_compare(op, "din accumulate", din2, want, base, in_n, d.in_cs, c);
  free(in); free(r); free(din); free(base); free(din2); free(a.in); free(a.out); free(want);
  return fail;
}

/* ---- Dropout ----------------------------------------------------------------------- */

typedef struct DropArg {
  RtEltwise d;
  double *in, *out, rate;
  const uint8_t *mask;
  const float *r;
  size_t on;
} DropArg;

static double drop_loss(void *p) {
  DropArg *a = p;
  ref_train_dropout(a->out, a->in, a->mask, a->rate, &a->d);
  return gc_dot(a->out, a->r, a->on, a->d.out_cs, a->d.c);
}

static int test_dropout(const Shape *s, float rate, int threads, Rng *rng) {
  RtEltwise d = desc(s);
  int fail = 0, c = s->c;
  size_t in_n = npix(s) * d.in_cs, on = npix(s) * d.out_cs, mn = npix(s) * c;
  float *in = rand_buf(rng, in_n, -1, 1), *r = rand_buf(rng, on, -1, 1);
  float *out = sentinel_buf(on), *din = sentinel_buf(in_n);
  float *base = gc_rand_strided(rng, in_n, d.in_cs, c, -1, 1), *din2 = gc_copy(base, in_n);
  uint8_t *mask = malloc(mn ? mn : 1);
  RtContext ctx = {.num_threads = threads};
  char op[160], name[64];
  snprintf(name, sizeof name, "dropout %.2f", rate);
  label(op, sizeof op, name, s, threads);
  fail |= check_status(op, rt_dropout_train(&ctx, out, mask, in, rate, 42, &d), RT_OK);
  fail |= check_status(op, rt_dropout_backward(&ctx, din, r, mask, rate, 0, &d), RT_OK);
  fail |= check_status(op, rt_dropout_backward(&ctx, din2, r, mask, rate, 1, &d), RT_OK);
  DropArg a = {d, gc_to_double(in, in_n), gc_dbuf(on), rate, mask, r, on};
  double *want = gc_dbuf(in_n);
  gc_fd(want, a.in, in_n, d.in_cs, c, s->every, drop_loss, &a);
  fail |= gc_compare(op, "din", din, want, NULL, in_n, d.in_cs, c);
  fail |= gc_compare(op, "din accumulate", din2, want, base, in_n, d.in_cs, c);
  free(in); free(r); free(out); free(din); free(base); free(din2); free(mask); free(a.in); free(a.out);
  free(want);
  return fail;
}

/* ---- Accumulate --------------------------------------------------------------------- */

static int test_accumulate(const Shape *s, int threads, Rng *rng) {
  RtEltwise d = desc(s);
  int fail = 0, c = s->c;
  size_t in_n = npix(s) * d.in_cs, on = npix(s) * d.out_cs;
  float *src = rand_buf(rng, in_n, -1, 1), *dst = sentinel_buf(on);
  float *base = gc_rand_strided(rng, on, d.out_cs, c, -1, 1), *dst2 = gc_copy(base, on);
  float *want = gc_copy(base, on), *want2 = gc_copy(base, on);
  for (long q = 0; q < npix(s); q++)
    for (int k = 0; k < c; k++) {
      want[q * d.out_cs + k] = src[q * d.in_cs + k];
      want2[q * d.out_cs + k] = base[q * d.out_cs + k] + src[q * d.in_cs + k];
    }
  for (size_t i = 0; i < on; i++)
    if ((int)(i % d.out_cs) >= c)
      want[i] = SENTINEL;
  RtContext ctx = {.num_threads = threads};
  char op[160];
  label(op, sizeof op, "accumulate", s, threads);
  fail |= check_status(op, rt_accumulate(&ctx, dst, src, 0, &d), RT_OK);
  fail |= check_status(op, rt_accumulate(&ctx, dst2, src, 1, &d), RT_OK);
  fail |= check_close(op, dst, want, on, d.out_cs);
  fail |= check_close(op, dst2, want2, on, d.out_cs);
  for (size_t i = 0; i < on; i++) /* a copy and a float add are exact */
    if ((int)(i % d.out_cs) < c && (dst[i] != want[i] || dst2[i] != want2[i])) {
      fprintf(stderr, "FAIL %s: not exact at [%zu]\n", op, i);
      fail = 1;
      break;
    }
  free(src); free(dst); free(base); free(dst2); free(want); free(want2);
  return fail;
}

/* ---- Losses ---------------------------------------------------------------------------- */

typedef struct XentArg {
  double *logits;
  const int32_t *labels;
  int n, classes;
} XentArg;

static double xent_loss(void *p) {
  XentArg *a = p;
  return ref_train_softmax_xent(a->logits, a->labels, a->n, a->classes);
}

static int test_xent(int n, int classes, int threads, Rng *rng) {
  int fail = 0;
  size_t len = (size_t)n * classes;
  float *logits = rand_buf(rng, len, -3, 3), *probs = sentinel_buf(len), *dl = sentinel_buf(len);
  int32_t *labels = malloc(n * sizeof *labels);
  for (int i = 0; i < n; i++) {
    labels[i] = (int32_t)rng_uniform(rng, 0, (float)classes);
    if (labels[i] >= classes)
      labels[i] = classes - 1;
  }
  RtContext ctx = {.num_threads = threads};
  RtEltwise d = {.n = n, .h = 1, .w = 1, .c = classes};
  char op[160];
  snprintf(op, sizeof op, "softmax_xent n%d classes %d t%d", n, classes, threads);
  double loss = 0;
  int correct = -1;
  fail |= check_status(op, rt_softmax(&ctx, probs, logits, &d), RT_OK);
  fail |= check_status(op, rt_softmax_xent(&ctx, dl, &loss, &correct, probs, labels, n, classes), RT_OK);
  XentArg a = {gc_to_double(logits, len), labels, n, classes};
  double *want = gc_dbuf(len);
  gc_fd(want, a.logits, len, classes, classes, 1, xent_loss, &a);
  fail |= gc_compare(op, "dlogits", dl, want, NULL, len, classes, classes);
  /* The summed loss against the double reference: the float softmax's
   * relative error (~1e-7) is all that separates them. */
  double ref = ref_train_softmax_xent(a.logits, labels, n, classes) * n;
  if (!(fabs(loss - ref) <= 1e-5 * fabs(ref))) {
    fprintf(stderr, "FAIL %s: loss_sum %.9g, want %.9g\n", op, loss, ref);
    fail = 1;
  }
  int want_correct = 0;
  for (int i = 0; i < n; i++) {
    int best = 0;
    for (int j = 1; j < classes; j++)
      if (logits[(long)i * classes + j] > logits[(long)i * classes + best])
        best = j;
    want_correct += best == labels[i];
  }
  if (correct != want_correct) {
    fprintf(stderr, "FAIL %s: correct %d, want %d\n", op, correct, want_correct);
    fail = 1;
  }
  free(logits); free(probs); free(dl); free(labels); free(a.logits); free(want);
  return fail;
}

static int test_xent_edges(void) {
  int fail = 0;
  RtContext ctx = {.num_threads = 1};
  /* p[label] = 0 is clamped to 1e-7 (Keras' epsilon) and p = 1 to 1 - 1e-7. */
  float probs[4] = {0.0f, 1.0f, 1.0f, 0.0f}, dl[4];
  int32_t labels[2] = {0, 0};
  double loss = 0;
  int correct = -1;
  fail |= check_status("softmax_xent clamp", rt_softmax_xent(&ctx, dl, &loss, &correct, probs, labels, 2, 2), RT_OK);
  double want = -log((double)1e-7f) - log((double)(1.0f - 1e-7f));
  if (!(fabs(loss - want) < 1e-9 * want) || correct != 1) {
    fprintf(stderr, "FAIL softmax_xent clamp: loss %.9g correct %d, want %.9g and 1\n", loss, correct, want);
    fail = 1;
  }
  const float want_dl[4] = {-0.5f, 0.5f, 0.0f, 0.0f};
  fail |= check_close("softmax_xent clamp: the gradient is not clamped", dl, want_dl, 4, 2);
  labels[1] = 2;
  fail |= check_status("softmax_xent: label out of range", rt_softmax_xent(&ctx, dl, &loss, &correct, probs,
                                                                          labels, 2, 2), RT_ERR_ARG);
  labels[1] = -1;
  fail |= check_status("softmax_xent: negative label", rt_softmax_xent(&ctx, dl, &loss, &correct, probs, labels,
                                                                      2, 2), RT_ERR_ARG);
  return fail;
}

typedef struct MseArg {
  double *out, *target;
  int n, size;
} MseArg;

static double mse_loss(void *p) {
  MseArg *a = p;
  return ref_train_mse(a->out, a->target, a->n, a->size) / a->n;
}

static int test_mse(int n, int size, Rng *rng) {
  int fail = 0;
  size_t len = (size_t)n * size;
  float *out = rand_buf(rng, len, -2, 2), *target = rand_buf(rng, len, -2, 2), *dout = sentinel_buf(len);
  RtContext ctx = {.num_threads = 1};
  char op[160];
  snprintf(op, sizeof op, "mse n%d size %d", n, size);
  double loss = 0;
  fail |= check_status(op, rt_mse(&ctx, dout, &loss, out, target, n, size), RT_OK);
  MseArg a = {gc_to_double(out, len), gc_to_double(target, len), n, size};
  double *want = gc_dbuf(len);
  gc_fd(want, a.out, len, size, size, 1, mse_loss, &a);
  fail |= gc_compare(op, "dout", dout, want, NULL, len, size, size);
  double ref = ref_train_mse(a.out, a.target, n, size);
  if (!(fabs(loss - ref) <= 1e-6 * fabs(ref))) {
    fprintf(stderr, "FAIL %s: loss_sum %.9g, want %.9g\n", op, loss, ref);
    fail = 1;
  }
  free(out); free(target); free(dout); free(a.out); free(a.target); free(want);
  return fail;
}

int main(void) {
  Rng rng;
  rng_seed(&rng, 31337);
  int fail = test_xent_edges();
  static const RtAct acts[] = {RT_ACT_LINEAR, RT_ACT_RELU, RT_ACT_RELU6, RT_ACT_SIGMOID,
                               RT_ACT_TANH, RT_ACT_LEAKY_RELU, RT_ACT_ELU, RT_ACT_THRESHOLDED_RELU};
  static const float alphas[] = {0, 0, 0, 0, 0, 0.2f, 1.3f, 0.4f};
  static const int threads[] = {1, 4};
  for (int t = 0; t < 2; t++) {
    int th = threads[t];
    for (int i = 0; i < NSHAPES; i++) {
      const Shape *s = &shapes[i];
      fail |= test_bn(s, 1, th, &rng);
      fail |= test_bn(s, 0, th, &rng);
      for (size_t a = 0; a < sizeof acts / sizeof *acts; a++)
        fail |= test_act(s, acts[a], alphas[a], 0, th, &rng);
      fail |= test_act(s, RT_ACT_LINEAR, 0, 1, th, &rng);
      fail |= test_prelu(s, 1, 0, 0, th, &rng); /* shared_axes=[1, 2]: a slope per channel */
      fail |= test_prelu(s, 0, 0, 0, th, &rng); /* a slope per value */
      fail |= test_prelu(s, 1, 1, 0, th, &rng); /* one slope */
      fail |= test_prelu(s, 0, 0, 1, th, &rng); /* shared_axes=[1]: a slope per column and channel */
      fail |= test_mul(s, 0, th, &rng);
      fail |= test_mul(s, 1, th, &rng);
      fail |= test_zeropad(s, th, &rng);
      fail |= test_dropout(s, 0.3f, th, &rng);
      fail |= test_dropout(s, 0.0f, th, &rng);
      fail |= test_accumulate(s, th, &rng);
    }
    fail |= test_xent(1, 10, th, &rng);
    fail |= test_xent(5, 7, th, &rng);
  }
  fail |= test_mse(1, 6, &rng);
  fail |= test_mse(4, 9, &rng);
  gc_summary();
  if (fail) {
    fprintf(stderr, "test_grad_eltwise: FAILED\n");
    return 1;
  }
  printf("test_grad_eltwise: all passed\n");
  return 0;
}
