/* Determinism (CTest label `grad`): with 2 threads, every kernel that
 * reduces over the batch into a parameter gradient (conv in each of its
 * paths, depthwise conv, dense, batch norm, PReLU) and the multiply's gate
 * gradient give bit-identical results when run twice, into buffers that
 * held different garbage; and the 1-thread results agree with them to
 * float rounding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "netc/train_kernels.h"

typedef struct Outs {
  float *a, *b, *c, *d;
  size_t na, nb, nc, nd;
} Outs;

static void outs_alloc(Outs *o, size_t na, size_t nb, size_t nc, size_t nd, float fill) {
  o->na = na; o->nb = nb; o->nc = nc; o->nd = nd;
  o->a = malloc((na ? na : 1) * sizeof(float));
  o->b = malloc((nb ? nb : 1) * sizeof(float));
  o->c = malloc((nc ? nc : 1) * sizeof(float));
  o->d = malloc((nd ? nd : 1) * sizeof(float));
  for (size_t i = 0; i < na; i++) o->a[i] = fill;
  for (size_t i = 0; i < nb; i++) o->b[i] = fill;
  for (size_t i = 0; i < nc; i++) o->c[i] = fill;
  for (size_t i = 0; i < nd; i++) o->d[i] = fill;
}

static void outs_free(Outs *o) { free(o->a); free(o->b); free(o->c); free(o->d); }

static int same_bits(const char *what, const Outs *x, const Outs *y) {
  if (memcmp(x->a, y->a, x->na * sizeof(float)) || memcmp(x->b, y->b, x->nb * sizeof(float)) ||
      memcmp(x->c, y->c, x->nc * sizeof(float)) || memcmp(x->d, y->d, x->nd * sizeof(float))) {
    fprintf(stderr, "FAIL %s: two runs with 2 threads differ\n", what);
    return 1;
  }
  printf("ok   %s: bit-identical with 2 threads\n", what);
  return 0;
}

static int close_all(const char *what, const Outs *x, const Outs *y) {
  char buf[200];
  int fail = 0;
  snprintf(buf, sizeof buf, "%s: 1 vs 2 threads (a)", what);
  fail |= check_close(buf, x->a, y->a, x->na, 1);
  snprintf(buf, sizeof buf, "%s: 1 vs 2 threads (b)", what);
  fail |= check_close(buf, x->b, y->b, x->nb, 1);
  snprintf(buf, sizeof buf, "%s: 1 vs 2 threads (c)", what);
  fail |= check_close(buf, x->c, y->c, x->nc, 1);
  snprintf(buf, sizeof buf, "%s: 1 vs 2 threads (d)", what);
  fail |= check_close(buf, x->d, y->d, x->nd, 1);
  return fail;
}

/* One op, run into three sets of outputs: 2 threads twice (different
 * initial garbage), 1 thread once. */
typedef void (*RunFn)(int threads, Outs *o, void *arg);

static int check_op(const char *what, RunFn run, void *arg, size_t na, size_t nb, size_t nc, size_t nd) {
  Outs x, y, z;
  outs_alloc(&x, na, nb, nc, nd, 1.0f);
  outs_alloc(&y, na, nb, nc, nd, -7.0f);
  outs_alloc(&z, na, nb, nc, nd, 3.0f);
  run(2, &x, arg);
  run(2, &y, arg);
  run(1, &z, arg);
  int fail = same_bits(what, &x, &y) | close_all(what, &z, &x);
  outs_free(&x); outs_free(&y); outs_free(&z);
  return fail;
}

typedef struct Data {
  float *in, *dout, *kernel, *gamma, *ws, *mean, *invstd, *alpha, *gate;
  size_t ws_floats;
  RtConv2d conv;
  RtDwConv2d dw;
  RtDense dense;
  RtEltwise elt;
  RtPRelu prelu;
} Data;

static void run_conv(int threads, Outs *o, void *p) {
  Data *d = p;
  RtContext ctx = {.num_threads = threads};
  if (rt_conv2d_backward(&ctx, o->a, o->b, o->c, d->dout, d->in, d->kernel, 0, &d->conv, d->ws, d->ws_floats))
    o->a[0] = -1e30f;
}

static void run_dw(int threads, Outs *o, void *p) {
  Data *d = p;
  RtContext ctx = {.num_threads = threads};
  if (rt_dwconv2d_backward(&ctx, o->a, o->b, o->c, d->dout, d->in, d->kernel, 0, &d->dw))
    o->a[0] = -1e30f;
}

static void run_dense(int threads, Outs *o, void *p) {
  Data *d = p;
  RtContext ctx = {.num_threads = threads};
  if (rt_dense_backward(&ctx, o->a, o->b, o->c, d->dout, d->in, d->kernel, 0, &d->dense))
    o->a[0] = -1e30f;
}

static void run_bn(int threads, Outs *o, void *p) {
  Data *d = p;
  RtContext ctx = {.num_threads = threads};
  /* a: din, b: dgamma, c: dbeta, d: the saved mean then 1/std */
  size_t c = (size_t)d->elt.c;
  float *out = malloc((size_t)d->elt.n * d->elt.h * d->elt.w * c * sizeof *out);
  if (rt_batchnorm_train(&ctx, out, o->d, o->d + c, NULL, NULL, d->in, d->gamma, NULL, 0.99f, 1e-3f, NULL,
                         &d->elt) ||
      rt_batchnorm_backward(&ctx, o->a, o->b, o->c, d->dout, d->in, d->gamma, o->d, o->d + c, 0, &d->elt))
    o->a[0] = -1e30f;
  free(out);
}

static void run_prelu(int threads, Outs *o, void *p) {
  Data *d = p;
  RtContext ctx = {.num_threads = threads};
  if (rt_prelu_backward(&ctx, o->a, o->b, d->dout, d->in, d->alpha, 0, &d->prelu))
    o->a[0] = -1e30f;
}

static void run_mul(int threads, Outs *o, void *p) {
  Data *d = p;
  RtContext ctx = {.num_threads = threads};
  if (rt_mul_channel_backward(&ctx, o->a, o->b, d->dout, d->in, d->gate, 0, 0, &d->elt))
    o->a[0] = -1e30f;
}

int main(void) {
  Rng rng;
  rng_seed(&rng, 99);
  int fail = 0;
  /* Big enough that every kernel splits its work. */
  int n = 4, h = 16, w = 16, c = 32, oc = 48;
  size_t in_n = (size_t)n * h * w * c, out_n = (size_t)n * h * w * oc;
  Data d = {0};
  size_t big = (size_t)64 * 64 * c; /* the multiply's single large image */
  d.in = rand_buf(&rng, in_n > big ? in_n : big, -1, 1);
  d.dout = rand_buf(&rng, out_n > big ? out_n : big, -1, 1);
  d.kernel = rand_buf(&rng, (size_t)5 * 5 * c * oc, -1, 1);
  d.gamma = rand_buf(&rng, c, 0.5f, 1.5f);
  d.alpha = rand_buf(&rng, (size_t)h * w * c, -0.5f, 0.5f);
  d.gate = rand_buf(&rng, (size_t)n * c, 0, 1);

  const struct {
    const char *name;
    int k, s, groups;
    long ws_rows;
  } convs[] = {
      {"conv 3x3 (several tiles)", 3, 1, 1, 100},
      {"conv 5x5 stride 2 groups 2", 5, 2, 2, 0},
      {"conv 1x1 direct", 1, 1, 1, 0},
      {"conv groups == c", 3, 1, c, 0},
  };
  for (size_t i = 0; i < sizeof convs / sizeof *convs; i++) {
    int oh = (h + convs[i].s - 1) / convs[i].s, ow = (w + convs[i].s - 1) / convs[i].s;
    int occ = convs[i].groups == c ? c : oc;
    int pad = ((oh - 1) * convs[i].s + convs[i].k - h) / 2;
    d.conv = (RtConv2d){.n = n, .h = h, .w = w, .c = c, .oh = oh, .ow = ow, .oc = occ, .kh = convs[i].k,
                        .kw = convs[i].k, .sh = convs[i].s, .sw = convs[i].s, .pad_top = pad < 0 ? 0 : pad,
                        .pad_left = pad < 0 ? 0 : pad, .groups = convs[i].groups};
    size_t k = (size_t)convs[i].k * convs[i].k * (c / convs[i].groups);
    d.ws_floats = convs[i].ws_rows ? convs[i].ws_rows * k : rt_conv2d_backward_workspace_floats(&d.conv);
    d.ws = malloc((d.ws_floats ? d.ws_floats : 1) * sizeof *d.ws);
    fail |= check_op(convs[i].name, run_conv, &d, in_n, k * occ, occ, 0);
    free(d.ws);
  }
  d.dw = (RtDwConv2d){.n = n, .h = h, .w = w, .c = c, .oh = h, .ow = w, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .pad_top = 1, .pad_left = 1, .multiplier = 1};
  fail |= check_op("dwconv 3x3", run_dw, &d, in_n, (size_t)9 * c, c, 0);
  d.dense = (RtDense){.rows = n * h * w, .in = c, .out = oc};
  fail |= check_op("dense on the last axis", run_dense, &d, in_n, (size_t)c * oc, oc, 0);
  d.elt = (RtEltwise){.n = n, .h = h, .w = w, .c = c};
  fail |= check_op("batchnorm train + backward", run_bn, &d, in_n, c, c, 2 * (size_t)c);
  d.prelu = (RtPRelu){.n = n, .h = h, .w = w, .c = c, .alpha_h = 1, .alpha_w = 1, .alpha_c = c};
  fail |= check_op("prelu per channel", run_prelu, &d, in_n, c, 0, 0);
  d.prelu = (RtPRelu){.n = n, .h = h, .w = w, .c = c, .alpha_h = h, .alpha_w = w, .alpha_c = c};
  fail |= check_op("prelu per value", run_prelu, &d, in_n, (size_t)h * w * c, 0, 0);
  d.elt = (RtEltwise){.n = 1, .h = 64, .w = 64, .c = c}; /* one big image: ds split over pixels */
  fail |= check_op("mul_channel gate gradient", run_mul, &d, big, c, 0, 0);
  free(d.in); free(d.dout); free(d.kernel); free(d.gamma); free(d.alpha); free(d.gate);
  if (fail) {
    fprintf(stderr, "test_determinism: FAILED\n");
    return 1;
  }
  printf("test_determinism: all passed\n");
  return 0;
}
