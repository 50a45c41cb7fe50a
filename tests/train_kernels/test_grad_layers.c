/* Gradient checks of the layers with weights (CTest label `grad`): conv
 * (strides 1 and 2, same and valid, even kernels, groups 2 and groups ==
 * c, 1x1 direct, tiny workspaces that force many tiles), depthwise conv
 * (multiplier 1 and 2), dense (vectors and the last axis of HxWxC); the
 * analytic din, dkernel and dbias of the float kernels against central
 * differences of the double reference of L = sum(r * out), r random. Each
 * runs with 1 and 4 threads; the larger cases are big enough to be split
 * across threads, and their finite differences are sampled. */
#include <stdio.h>
#include <stdlib.h>

#include "gradcheck.h"
#include "netc/train_kernels.h"
#include "ref_train.h"

/* ---- Conv ------------------------------------------------------------------ */

typedef struct ConvCase {
  const char *name;
  int n, h, w, c, oc, kh, kw, sh, sw, pad, groups, bias, in_extra, out_extra;
  long ws_rows; /* workspace in im2col rows; 0: the planned size */
  long every;   /* finite differences on every this-many pixels / kernel entries */
} ConvCase;

static const ConvCase conv_cases[] = {
    {"3x3-same-s1-bias", 1, 5, 6, 3, 4, 3, 3, 1, 1, PAD_SAME, 1, 1, 0, 0, 0, 1},
    {"3x3-valid-s2-strided", 3, 7, 6, 4, 5, 3, 3, 2, 2, PAD_VALID, 1, 0, 2, 3, 0, 1},
    {"2x2-same-s1-even", 2, 5, 5, 3, 2, 2, 2, 1, 1, PAD_SAME, 1, 1, 0, 0, 0, 1},
    {"4x3-same-s2", 1, 7, 8, 2, 3, 4, 3, 2, 2, PAD_SAME, 1, 1, 0, 0, 0, 1},
    {"3x3-same-groups2", 2, 6, 5, 4, 6, 3, 3, 1, 1, PAD_SAME, 2, 1, 1, 2, 0, 1},
    {"3x3-same-s2-groups=c", 3, 5, 5, 3, 6, 3, 3, 2, 2, PAD_SAME, 3, 1, 2, 1, 0, 1},
    {"1x1-direct-strided", 2, 4, 3, 5, 3, 1, 1, 1, 1, PAD_VALID, 1, 1, 3, 1, 0, 1},
    {"1x1-direct-groups2", 1, 3, 3, 4, 4, 1, 1, 1, 1, PAD_VALID, 2, 0, 0, 0, 0, 1},
    {"1x1-s2", 2, 5, 5, 3, 4, 1, 1, 2, 2, PAD_VALID, 1, 1, 0, 0, 0, 1},
    {"3x3-same-ws1row", 2, 5, 4, 3, 4, 3, 3, 1, 1, PAD_SAME, 1, 1, 0, 2, 1, 1},
    {"3x3-same-ws7rows-groups3", 2, 5, 4, 6, 3, 3, 3, 1, 1, PAD_SAME, 3, 0, 1, 0, 7, 1},
    {"3x3-same-threaded", 2, 12, 12, 8, 16, 3, 3, 1, 1, PAD_SAME, 1, 1, 2, 1, 50, 7},
    {"5x5-same-s2-threaded-groups2", 3, 11, 11, 8, 8, 5, 5, 2, 2, PAD_SAME, 2, 1, 0, 0, 0, 5},
    /* Shapes for the Winograd input gradient: odd sizes, valid padding,
     * more channels than one vector. */
    {"3x3-valid-s1-odd", 2, 7, 6, 5, 3, 3, 3, 1, 1, PAD_VALID, 1, 1, 1, 2, 0, 1},
    {"3x3-same-s1-wide", 1, 4, 5, 20, 18, 3, 3, 1, 1, PAD_SAME, 1, 1, 0, 0, 0, 4},
};

typedef struct ConvArg {
  RtConv2d d;
  double *in, *k, *b, *out;
  const float *r;
  size_t on;
  int out_cs;
} ConvArg;

static double conv_loss(void *p) {
  ConvArg *a = p;
  ref_train_conv2d(a->out, a->in, a->k, a->b, &a->d);
  return gc_dot(a->out, a->r, a->on, a->out_cs, a->d.oc);
}

static int test_conv(const ConvCase *cc, int threads, Rng *rng) {
  int oh, ow, pt, pl, fail = 0;
  out_size(cc->h, cc->kh, cc->sh, cc->pad, &oh, &pt);
  out_size(cc->w, cc->kw, cc->sw, cc->pad, &ow, &pl);
  int in_cs = cc->c + cc->in_extra, out_cs = cc->oc + cc->out_extra;
  RtConv2d d = {.n = cc->n, .h = cc->h, .w = cc->w, .c = cc->c, .in_cs = in_cs, .oh = oh, .ow = ow,
                .oc = cc->oc, .out_cs = out_cs, .kh = cc->kh, .kw = cc->kw, .sh = cc->sh, .sw = cc->sw,
                .pad_top = pt, .pad_left = pl, .groups = cc->groups};
  size_t in_n = (size_t)cc->n * cc->h * cc->w * in_cs, on = (size_t)cc->n * oh * ow * out_cs;
  size_t kn = (size_t)cc->kh * cc->kw * (cc->c / cc->groups) * cc->oc, k = kn / cc->oc;
  float *in = rand_buf(rng, in_n, -1, 1), *kernel = rand_buf(rng, kn, -1, 1);
  float *bias = rand_buf(rng, cc->oc, -1, 1), *r = rand_buf(rng, on, -1, 1);
  size_t wsn = cc->ws_rows ? (size_t)cc->ws_rows * k : rt_conv2d_backward_workspace_floats(&d);
  float *ws = malloc((wsn ? wsn : 1) * sizeof *ws);
  float *din = sentinel_buf(in_n), *dk = sentinel_buf(kn), *db = sentinel_buf(cc->oc);
  float *base = gc_rand_strided(rng, in_n, in_cs, cc->c, -1, 1), *din2 = gc_copy(base, in_n);
  RtContext ctx = {.num_threads = threads};
  char op[160];
  snprintf(op, sizeof op, "conv %s n%d %dx%dx%d->%dx%dx%d t%d", cc->name, cc->n, cc->h, cc->w, cc->c, oh, ow, cc->oc,
           threads);
  fail |= check_status(op, rt_conv2d_backward(&ctx, din, dk, cc->bias ? db : NULL, r, in, kernel, 0, &d, ws, wsn),
                       RT_OK);
  fail |= check_status(op, rt_conv2d_backward(&ctx, din2, NULL, NULL, r, in, kernel, 1, &d, ws, wsn), RT_OK);

  ConvArg a = {d, gc_to_double(in, in_n), gc_to_double(kernel, kn), cc->bias ? gc_to_double(bias, cc->oc) : NULL,
               gc_dbuf(on), r, on, out_cs};
  double *w_in = gc_dbuf(in_n), *w_k = gc_dbuf(kn), *w_b = gc_dbuf(cc->oc);
  gc_fd(w_in, a.in, in_n, in_cs, cc->c, cc->every, conv_loss, &a);
  gc_fd(w_k, a.k, kn, 1, 1, cc->every, conv_loss, &a);
  fail |= gc_compare(op, "din", din, w_in, NULL, in_n, in_cs, cc->c);
  fail |= gc_compare(op, "din accumulate", din2, w_in, base, in_n, in_cs, cc->c);
  fail |= gc_compare(op, "dkernel", dk, w_k, NULL, kn, (int)kn, (int)kn);
  if (cc->bias) {
    gc_fd(w_b, a.b, cc->oc, cc->oc, cc->oc, 1, conv_loss, &a);
    fail |= gc_compare(op, "dbias", db, w_b, NULL, cc->oc, cc->oc, cc->oc);
  } else {
    fail |= check_close("conv dbias untouched without bias", db, db, cc->oc, cc->oc);
  }
  /* 3x3 stride 1: the Winograd input gradient (and, through it, the same
   * kernel and bias gradients), fresh and accumulated, with both tiles. */
  for (int tile = 2; tile <= 4 && cc->kh == 3 && cc->kw == 3 && cc->sh == 1 && cc->sw == 1 && cc->groups == 1;
       tile += 2) {
    size_t wn = rt_conv2d_backward_winograd_workspace_floats(&d, tile);
    float *wws = malloc(wn * sizeof *wws);
    float *wdin = sentinel_buf(in_n), *wdk = sentinel_buf(kn), *wdb = sentinel_buf(cc->oc);
    float *wdin2 = gc_copy(base, in_n);
    char wop[200];
    snprintf(wop, sizeof wop, "%s winograd F%d", op, tile);
    fail |= check_status(wop, rt_conv2d_backward_winograd(&ctx, wdin, wdk, cc->bias ? wdb : NULL, r, in, kernel, 0,
                                                          &d, tile, wws, wn), RT_OK);
    fail |= check_status(wop, rt_conv2d_backward_winograd(&ctx, wdin2, NULL, NULL, r, in, kernel, 1, &d, tile, wws,
                                                          wn), RT_OK);
    fail |= gc_compare(wop, "din", wdin, w_in, NULL, in_n, in_cs, cc->c);
    fail |= gc_compare(wop, "din accumulate", wdin2, w_in, base, in_n, in_cs, cc->c);
    fail |= gc_compare(wop, "dkernel", wdk, w_k, NULL, kn, (int)kn, (int)kn);
    if (cc->bias)
      fail |= gc_compare(wop, "dbias", wdb, w_b, NULL, cc->oc, cc->oc, cc->oc);
    fail |= check_status("conv winograd: workspace too small",
                         rt_conv2d_backward_winograd(&ctx, wdin, wdk, NULL, r, in, kernel, 0, &d, tile, wws, 9),
                         RT_ERR_ARG);
    free(wws); free(wdin); free(wdk); free(wdb); free(wdin2);
  }
  /* A workspace below one im2col row is refused. */
  if (rt_conv2d_backward_workspace_floats(&d) > 0)
    fail |= check_status("conv: workspace below one row", rt_conv2d_backward(&ctx, din, dk, NULL, r, in, kernel,
                                                                             0, &d, ws, k - 1), RT_ERR_ARG);
  free(in); free(kernel); free(bias); free(r); free(ws); free(din); free(dk); free(db); free(base); free(din2);
  free(a.in); free(a.k); free(a.b); free(a.out); free(w_in); free(w_k); free(w_b);
  return fail;
}

/* ---- Depthwise conv ------------------------------------------------------------ */

typedef struct DwCase {
  const char *name;
  int n, h, w, c, mult, kh, kw, sh, sw, pad, bias, in_extra, out_extra;
  long every;
} DwCase;

static const DwCase dw_cases[] = {
    {"3x3-same-mult1", 2, 5, 6, 4, 1, 3, 3, 1, 1, PAD_SAME, 1, 0, 0, 1},
    {"3x3-valid-s2-mult2-strided", 3, 7, 7, 3, 2, 3, 3, 2, 2, PAD_VALID, 1, 2, 3, 1},
    {"2x2-same-s2-even", 1, 6, 5, 5, 1, 2, 2, 2, 2, PAD_SAME, 0, 0, 0, 1},
    {"3x3-same-threaded", 2, 10, 10, 40, 1, 3, 3, 1, 1, PAD_SAME, 1, 0, 0, 9},
    {"5x5-same-s2-mult2-threaded", 2, 9, 9, 20, 2, 5, 5, 2, 2, PAD_SAME, 1, 4, 0, 5},
};

typedef struct DwArg {
  RtDwConv2d d;
  double *in, *k, *b, *out;
  const float *r;
  size_t on;
  int out_cs, oc;
} DwArg;

static double dw_loss(void *p) {
  DwArg *a = p;
  ref_train_dwconv2d(a->out, a->in, a->k, a->b, &a->d);
  return gc_dot(a->out, a->r, a->on, a->out_cs, a->oc);
}

static int test_dw(const DwCase *cc, int threads, Rng *rng) {
  int oh, ow, pt, pl, fail = 0, oc = cc->c * cc->mult;
  out_size(cc->h, cc->kh, cc->sh, cc->pad, &oh, &pt);
  out_size(cc->w, cc->kw, cc->sw, cc->pad, &ow, &pl);
  int in_cs = cc->c + cc->in_extra, out_cs = oc + cc->out_extra;
  RtDwConv2d d = {.n = cc->n, .h = cc->h, .w = cc->w, .c = cc->c, .in_cs = in_cs, .oh = oh, .ow = ow,
                  .out_cs = out_cs, .kh = cc->kh, .kw = cc->kw, .sh = cc->sh, .sw = cc->sw, .pad_top = pt,
                  .pad_left = pl, .multiplier = cc->mult};
  size_t in_n = (size_t)cc->n * cc->h * cc->w * in_cs, on = (size_t)cc->n * oh * ow * out_cs;
  size_t kn = (size_t)cc->kh * cc->kw * oc;
  float *in = rand_buf(rng, in_n, -1, 1), *kernel = rand_buf(rng, kn, -1, 1);
  float *bias = rand_buf(rng, oc, -1, 1), *r = rand_buf(rng, on, -1, 1);
  float *din = sentinel_buf(in_n), *dk = sentinel_buf(kn), *db = sentinel_buf(oc);
  float *base = gc_rand_strided(rng, in_n, in_cs, cc->c, -1, 1), *din2 = gc_copy(base, in_n);
  RtContext ctx = {.num_threads = threads};
  char op[160];
  snprintf(op, sizeof op, "dwconv %s n%d %dx%dx%d->%dx%dx%d t%d", cc->name, cc->n, cc->h, cc->w, cc->c, oh, ow, oc,
           threads);
  fail |= check_status(op, rt_dwconv2d_backward(&ctx, din, dk, cc->bias ? db : NULL, r, in, kernel, 0, &d), RT_OK);
  fail |= check_status(op, rt_dwconv2d_backward(&ctx, din2, NULL, NULL, r, in, kernel, 1, &d), RT_OK);
  DwArg a = {d, gc_to_double(in, in_n), gc_to_double(kernel, kn), cc->bias ? gc_to_double(bias, oc) : NULL,
             gc_dbuf(on), r, on, out_cs, oc};
  double *w_in = gc_dbuf(in_n), *w_k = gc_dbuf(kn), *w_b = gc_dbuf(oc);
  gc_fd(w_in, a.in, in_n, in_cs, cc->c, cc->every, dw_loss, &a);
  gc_fd(w_k, a.k, kn, (int)kn, (int)kn, 1, dw_loss, &a);
  fail |= gc_compare(op, "din", din, w_in, NULL, in_n, in_cs, cc->c);
  fail |= gc_compare(op, "din accumulate", din2, w_in, base, in_n, in_cs, cc->c);
  fail |= gc_compare(op, "dkernel", dk, w_k, NULL, kn, (int)kn, (int)kn);
  if (cc->bias) {
    gc_fd(w_b, a.b, oc, oc, oc, 1, dw_loss, &a);
    fail |= gc_compare(op, "dbias", db, w_b, NULL, oc, oc, oc);
  }
  free(in); free(kernel); free(bias); free(r); free(din); free(dk); free(db); free(base); free(din2);
  free(a.in); free(a.k); free(a.b); free(a.out); free(w_in); free(w_k); free(w_b);
  return fail;
}

/* ---- Dense --------------------------------------------------------------------- */

typedef struct DenseCase {
  const char *name;
  int rows, in, out, bias, in_extra, out_extra;
  long every;
} DenseCase;

static const DenseCase dense_cases[] = {
    {"vector-batch3", 3, 7, 5, 1, 0, 0, 1},
    {"vector-batch1", 1, 9, 4, 0, 0, 0, 1},
    {"last-axis-2x3x4", 24, 6, 5, 1, 2, 2, 1},
    {"threaded", 160, 100, 80, 1, 0, 3, 11},
};

typedef struct DenseArg {
  RtDense d;
  double *in, *k, *b, *out;
  const float *r;
  size_t on;
} DenseArg;

static double dense_loss(void *p) {
  DenseArg *a = p;
  ref_train_dense(a->out, a->in, a->k, a->b, &a->d);
  return gc_dot(a->out, a->r, a->on, a->d.out_cs, a->d.out);
}

static int test_dense(const DenseCase *cc, int threads, Rng *rng) {
  int fail = 0, in_cs = cc->in + cc->in_extra, out_cs = cc->out + cc->out_extra;
  RtDense d = {.rows = cc->rows, .in = cc->in, .out = cc->out, .in_cs = in_cs, .out_cs = out_cs};
  size_t in_n = (size_t)cc->rows * in_cs, on = (size_t)cc->rows * out_cs, kn = (size_t)cc->in * cc->out;
  float *in = rand_buf(rng, in_n, -1, 1), *kernel = rand_buf(rng, kn, -1, 1);
  float *bias = rand_buf(rng, cc->out, -1, 1), *r = rand_buf(rng, on, -1, 1);
  float *din = sentinel_buf(in_n), *dk = sentinel_buf(kn), *db = sentinel_buf(cc->out);
  float *base = gc_rand_strided(rng, in_n, in_cs, cc->in, -1, 1), *din2 = gc_copy(base, in_n);
  RtContext ctx = {.num_threads = threads};
  char op[160];
  snprintf(op, sizeof op, "dense %s %dx%d->%d t%d", cc->name, cc->rows, cc->in, cc->out, threads);
  fail |= check_status(op, rt_dense_backward(&ctx, din, dk, cc->bias ? db : NULL, r, in, kernel, 0, &d), RT_OK);
  fail |= check_status(op, rt_dense_backward(&ctx, din2, NULL, NULL, r, in, kernel, 1, &d), RT_OK);
  DenseArg a = {d, gc_to_double(in, in_n), gc_to_double(kernel, kn),
                cc->bias ? gc_to_double(bias, cc->out) : NULL, gc_dbuf(on), r, on};
  double *w_in = gc_dbuf(in_n), *w_k = gc_dbuf(kn), *w_b = gc_dbuf(cc->out);
  gc_fd(w_in, a.in, in_n, in_cs, cc->in, cc->every, dense_loss, &a);
  gc_fd(w_k, a.k, kn, 1, 1, cc->every, dense_loss, &a);
  fail |= gc_compare(op, "din", din, w_in, NULL, in_n, in_cs, cc->in);
  fail |= gc_compare(op, "din accumulate", din2, w_in, base, in_n, in_cs, cc->in);
  fail |= gc_compare(op, "dkernel", dk, w_k, NULL, kn, (int)kn, (int)kn);
  if (cc->bias) {
    gc_fd(w_b, a.b, cc->out, cc->out, cc->out, 1, dense_loss, &a);
    fail |= gc_compare(op, "dbias", db, w_b, NULL, cc->out, cc->out, cc->out);
  }
  free(in); free(kernel); free(bias); free(r); free(din); free(dk); free(db); free(base); free(din2);
  free(a.in); free(a.k); free(a.b); free(a.out); free(w_in); free(w_k); free(w_b);
  return fail;
}

static int test_args(void) {
  int fail = 0;
  RtContext ctx = {.num_threads = 1};
  float x[16] = {0};
  RtConv2d d = {.n = 1, .h = 2, .w = 2, .c = 1, .oh = 2, .ow = 2, .oc = 1, .kh = 1, .kw = 1, .sh = 1, .sw = 1};
  fail |= check_status("conv: NULL dout", rt_conv2d_backward(&ctx, x, x, x, NULL, x, x, 0, &d, NULL, 0), RT_ERR_ARG);
  fail |= check_status("conv: accumulate 2", rt_conv2d_backward(&ctx, x, x, x, x, x, x, 2, &d, NULL, 0), RT_ERR_ARG);
  d.groups = 3;
  fail |= check_status("conv: groups not dividing c", rt_conv2d_backward(&ctx, x, x, x, x, x, x, 0, &d, NULL, 0),
                       RT_ERR_ARG);
  RtDense dd = {.rows = 1, .in = 2, .out = 2, .in_cs = 1};
  fail |= check_status("dense: in_cs < in", rt_dense_backward(&ctx, x, x, x, x, x, x, 0, &dd), RT_ERR_ARG);
  RtDwConv2d dw = {.n = 1, .h = 2, .w = 2, .c = 1, .oh = 2, .ow = 2, .kh = 1, .kw = 1, .sh = 0, .sw = 1};
  fail |= check_status("dwconv: stride 0", rt_dwconv2d_backward(&ctx, x, x, x, x, x, x, 0, &dw), RT_ERR_ARG);
  return fail;
}

int main(void) {
  Rng rng;
  rng_seed(&rng, 20240611);
  int fail = test_args();
  static const int threads[] = {1, 4};
  for (int t = 0; t < 2; t++) {
    for (size_t i = 0; i < sizeof conv_cases / sizeof *conv_cases; i++)
      fail |= test_conv(&conv_cases[i], threads[t], &rng);
    for (size_t i = 0; i < sizeof dw_cases / sizeof *dw_cases; i++)
      fail |= test_dw(&dw_cases[i], threads[t], &rng);
    for (size_t i = 0; i < sizeof dense_cases / sizeof *dense_cases; i++)
      fail |= test_dense(&dense_cases[i], threads[t], &rng);
  }
  gc_summary();
  if (fail) {
    fprintf(stderr, "test_grad_layers: FAILED\n");
    return 1;
  }
  printf("test_grad_layers: all passed\n");
  return 0;
}
