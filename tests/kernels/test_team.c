/* test_team: every kernel an emitted forward() calls, run the way forward()
 * runs it (every thread of one team calls it, rt_team_run), must write
 * exactly what it writes when it starts as many threads of its own: bit
 * for bit, since it makes the same plan and each output value is computed
 * by the same code whichever thread takes it. Teams of 1, 2, 3 and 5
 * threads (more threads than some kernels have work for), on shapes that
 * take each kernel's threading paths. The
 * kernels' values themselves are tested against the reference in
 * test_conv, test_pool and test_eltwise.
 *
 * Also: a kernel's error status reaches rt_team_run's caller; rt_layer_done
 * reports each layer once from a team; a forward pass run by each thread
 * of a region of the caller's own (nested: a team of one) is right. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <omp.h>

#include "check.h"

/* floats: inputs, outputs, kernels, workspace */
enum { BUF = 1 << 18, OUT = 1 << 18, KBUF = 1 << 20, WS = 1 << 20 };

/* Random inputs and weights every case draws on, and the prepared
 * (packed, transformed) kernels it made before the runs. */
typedef struct Data {
  float *in, *in2, *in3, *kernel, *kernel2, *vec, *vec2, *vec3;
  float *packed, *u, *ws, *out;
} Data;

typedef struct Case {
  const char *name;
  void (*prepare)(Data *dt); /* may be NULL */
  RtStatus (*run)(const RtContext *ctx, Data *dt);
} Case;

/* ---- The cases ---------------------------------------------------------- */

static RtEpilogue relu_bias(const Data *dt) {
  return (RtEpilogue){dt->vec, NULL, RT_ACT_RELU, 0.0f, 0};
}

/* Packed GEMM conv over many pixels: row tiles per thread. */
static const RtConv2d conv_rows = {2, 16, 16, 8, 8, 16, 16, 16, 16, 3, 3, 1, 1, 1, 1, 1};
/* Few pixels: threads split the output channels. */
static const RtConv2d conv_cols = {1, 4, 4, 16, 16, 4, 4, 96, 96, 3, 3, 1, 1, 1, 1, 1};
/* im2col + OpenBLAS, strided, grouped. */
static const RtConv2d conv_blas = {1, 13, 11, 6, 6, 6, 5, 8, 8, 3, 3, 2, 2, 0, 0, 2};
/* Winograd: 16 blocks, a thread's own at 2 threads, shared at 3 and 5. */
static const RtConv2d conv_wino = {1, 16, 16, 16, 16, 16, 16, 24, 24, 3, 3, 1, 1, 1, 1, 1};
/* F(2x2) given the fly kernel: 4 blocks, 3 output-channel vectors (fewer
 * than 5 threads). */
static const RtConv2d conv_fly = {1, 4, 4, 32, 32, 4, 4, 48, 48, 3, 3, 1, 1, 1, 1, 1};

static void pack(Data *dt, const RtConv2d *d) {
  int k = d->kh * d->kw * d->c / (d->groups ? d->groups : 1);
  rt_conv2d_pack_kernel(dt->packed, dt->kernel, k, d->oc, d->groups ? d->groups : 1);
}
static void prep_conv_rows(Data *dt) { pack(dt, &conv_rows); }
static void prep_conv_cols(Data *dt) { pack(dt, &conv_cols); }
static void prep_wino(Data *dt) { rt_winograd_kernel(dt->u, dt->kernel, 16, 24, 4); }
static void prep_wino2(Data *dt) { rt_winograd_kernel(dt->u, dt->kernel, 16, 24, 2); }
static void prep_fly(Data *dt) {
  rt_winograd_kernel(dt->u, dt->kernel, 32, 48, 2);
  rt_winograd_fly_kernel(dt->packed, dt->kernel, 32, 48);
}

static RtStatus run_conv_rows(const RtContext *ctx, Data *dt) {
  RtEpilogue ep = relu_bias(dt);
  return rt_conv2d_packed(ctx, dt->out, dt->in, dt->packed, &ep, &conv_rows, dt->ws, WS);
}
static RtStatus run_conv_cols(const RtContext *ctx, Data *dt) {
  RtEpilogue ep = {dt->vec, dt->in2, RT_ACT_LINEAR, 0.0f, 0};
  return rt_conv2d_packed(ctx, dt->out, dt->in, dt->packed, &ep, &conv_cols, dt->ws, WS);
}
static RtStatus run_conv_blas(const RtContext *ctx, Data *dt) {
  RtEpilogue ep = relu_bias(dt);
  return rt_conv2d(ctx, dt->out, dt->in, dt->kernel, &ep, &conv_blas, dt->ws, WS);
}
static RtStatus run_wino(const RtContext *ctx, Data *dt) {
  RtEpilogue ep = relu_bias(dt);
  return rt_conv2d_winograd(ctx, dt->out, dt->in, dt->u, NULL, &ep, &conv_wino, 4, dt->ws, WS);
}
static RtStatus run_wino_preact(const RtContext *ctx, Data *dt) {
  RtPreact pre = {dt->vec2, dt->vec3, RT_ACT_RELU, 0.0f, 0, 0, 0};
  RtEpilogue ep = {dt->vec, dt->in2, RT_ACT_LINEAR, 0.0f, 0};
  return rt_conv2d_winograd_preact(ctx, dt->out, dt->in, dt->u, NULL, &pre, &ep, &conv_wino, 2, dt->ws, WS);
}
static RtStatus run_wino_fly(const RtContext *ctx, Data *dt) {
  RtPreact pre = {dt->vec2, dt->vec3, RT_ACT_RELU, 0.0f, 0, 0, 0};
  RtEpilogue ep = {dt->vec, dt->in2, RT_ACT_RELU, 0.0f, 0};
  return rt_conv2d_winograd_preact(ctx, dt->out, dt->in, dt->u, dt->packed, &pre, &ep, &conv_fly, 2, dt->ws, WS);
}

/* Depthwise: 16-channel items of rows; multiplier 2 takes the per-pixel
 * path. */
static RtStatus run_dw(const RtContext *ctx, Data *dt) {
  const RtDwConv2d d = {2, 16, 16, 32, 32, 16, 16, 32, 3, 3, 1, 1, 1, 1, 1};
  RtPreact pre = {dt->vec2, dt->vec3, RT_ACT_RELU, 0.0f, 0, 0, 0};
  RtEpilogue ep = relu_bias(dt);
  return rt_dwconv2d_preact(ctx, dt->out, dt->in, dt->kernel, &pre, &ep, &d);
}
static RtStatus run_dw_mult(const RtContext *ctx, Data *dt) {
  const RtDwConv2d d = {1, 15, 15, 12, 12, 8, 8, 24, 3, 3, 2, 2, 1, 1, 2};
  RtEpilogue ep = relu_bias(dt);
  return rt_dwconv2d(ctx, dt->out, dt->in, dt->kernel, &ep, &d);
}

/* Depthwise then 1x1: runs of rows per thread (16x16), or every thread
 * the whole depthwise and a share of the channels (4x4, with a strided
 * shortcut in the GEMM). */
static void prep_dw_pw_rows(Data *dt) { rt_conv2d_pack_kernel(dt->packed, dt->kernel2, 32, 48, 1); }
static void prep_dw_pw_cols(Data *dt) { rt_conv2d_pack_kernel(dt->packed, dt->kernel2, 64 + 16, 96, 1); }
static RtStatus run_dw_pw_rows(const RtContext *ctx, Data *dt) {
  const RtDwConv2d d = {1, 16, 16, 32, 32, 16, 16, 32, 3, 3, 1, 1, 1, 1, 1};
  RtPreact pre = {dt->vec2, dt->vec3, RT_ACT_RELU, 0.0f, 0, 0, 0};
  RtEpilogue dw_ep = {dt->vec3, NULL, RT_ACT_RELU, 0.0f, 0};
  RtEpilogue ep = {dt->vec, dt->in2, RT_ACT_LINEAR, 0.0f, 0};
  return rt_dwconv2d_pointwise(ctx, dt->out, dt->in, dt->kernel, &pre, &dw_ep, &d, dt->packed, &ep, 48, 0);
}
static RtStatus run_dw_pw_cols(const RtContext *ctx, Data *dt) {
  const RtDwConv2d d = {1, 4, 4, 64, 64, 4, 4, 64, 3, 3, 1, 1, 1, 1, 1};
  RtEpilogue dw_ep = {dt->vec3, NULL, RT_ACT_RELU, 0.0f, 0};
  RtEpilogue ep = {dt->vec, NULL, RT_ACT_RELU, 0.0f, 0};
  RtShortcut sc = {dt->in3, 8, 8, 16, 16, 2, 2};
  return rt_dwconv2d_pointwise_shortcut(ctx, dt->out, dt->in, dt->kernel, NULL, &dw_ep, &d, &sc, dt->packed, &ep,
                                        96, 0);
}

static RtStatus run_maxpool(const RtContext *ctx, Data *dt) {
  const RtPool2d d = {2, 10, 10, 24, 24, 5, 5, 24, 2, 2, 2, 2, 0, 0};
  return rt_maxpool2d(ctx, dt->out, dt->in, &d);
}
static RtStatus run_avgpool(const RtContext *ctx, Data *dt) {
  const RtPool2d d = {1, 12, 12, 20, 20, 12, 12, 20, 3, 3, 1, 1, 1, 1};
  return rt_avgpool2d(ctx, dt->out, dt->in, &d);
}
static RtStatus run_global(const RtContext *ctx, Data *dt) {
  const RtEltwise d = {3, 30, 30, 40, 40, 40};
  return rt_global_avgpool(ctx, dt->out, dt->in, &d);
}

static RtStatus run_dense_rows(const RtContext *ctx, Data *dt) {
  const RtDense d = {100, 64, 40, 64, 40};
  RtEpilogue ep = relu_bias(dt);
  return rt_dense(ctx, dt->out, dt->in, dt->kernel, &ep, &d);
}
static RtStatus run_dense_k(const RtContext *ctx, Data *dt) {
  const RtDense d = {1, 5000, 10, 5000, 10}; /* a narrow head: K split, sums chained */
  RtEpilogue ep = relu_bias(dt);
  return rt_dense(ctx, dt->out, dt->in, dt->kernel, &ep, &d);
}
static RtStatus run_dense_cols(const RtContext *ctx, Data *dt) {
  const RtDense d = {1, 600, 1000, 600, 1000}; /* > 1e6 FLOPs: split */
  RtEpilogue ep = {NULL, NULL, RT_ACT_RELU, 0.0f, 0};
  return rt_dense(ctx, dt->out, dt->in, dt->kernel, &ep, &d);
}

static RtStatus run_softmax(const RtContext *ctx, Data *dt) {
  const RtEltwise d = {3, 10, 10, 100, 100, 100};
  return rt_softmax(ctx, dt->out, dt->in, &d);
}
static RtStatus run_add(const RtContext *ctx, Data *dt) {
  const RtEltwise d = {1, 20, 20, 24, 24, 32};
  const float *ins[3] = {dt->in, dt->in2, dt->in3};
  RtEpilogue ep = {NULL, NULL, RT_ACT_RELU, 0.0f, 0};
  return rt_add(ctx, dt->out, ins, 3, &ep, &d);
}
static RtStatus run_mul(const RtContext *ctx, Data *dt) {
  const RtEltwise d = {2, 12, 12, 24, 24, 24};
  return rt_mul_channel(ctx, dt->out, dt->in, dt->vec, 24, NULL, &d);
}
static RtStatus run_affine(const RtContext *ctx, Data *dt) {
  const RtEltwise d = {1, 16, 16, 40, 48, 40};
  RtEpilogue ep = {NULL, NULL, RT_ACT_RELU, 0.0f, 0};
  return rt_channel_affine(ctx, dt->out, dt->in, dt->vec, dt->vec2, &ep, &d);
}
/* Few pixels, many channels (the classifier head of a small map). */
static RtStatus run_affine_few(const RtContext *ctx, Data *dt) {
  const RtEltwise d = {1, 4, 4, 256, 256, 256};
  RtEpilogue ep = {NULL, NULL, RT_ACT_RELU, 0.0f, 0};
  return rt_channel_affine(ctx, dt->out, dt->in, dt->vec, dt->vec2, &ep, &d);
}
static RtStatus run_avgpool_few(const RtContext *ctx, Data *dt) {
  const RtPool2d d = {1, 4, 4, 200, 200, 1, 1, 200, 4, 4, 4, 4, 0, 0};
  return rt_avgpool2d(ctx, dt->out, dt->in, &d);
}
static RtStatus run_act_dense(const RtContext *ctx, Data *dt) {
  const RtEltwise d = {1, 40, 40, 24, 24, 24};
  return rt_activation(ctx, dt->out, dt->in, RT_ACT_TANH, 0.0f, &d);
}
static RtStatus run_act_strided(const RtContext *ctx, Data *dt) {
  const RtEltwise d = {1, 32, 32, 20, 24, 22};
  return rt_activation(ctx, dt->out, dt->in, RT_ACT_LEAKY_RELU, 0.1f, &d);
}
static RtStatus run_copy(const RtContext *ctx, Data *dt) {
  const RtEltwise d = {1, 48, 48, 40, 48, 56};
  return rt_copy(ctx, dt->out, dt->in, &d);
}
static RtStatus run_copy_dense(const RtContext *ctx, Data *dt) {
  const RtEltwise d = {1, 32, 32, 40, 40, 40};
  return rt_copy(ctx, dt->out, dt->in, &d);
}
static RtStatus run_concat(const RtContext *ctx, Data *dt) {
  const RtEltwise d = {1, 32, 32, 0, 0, 0};
  const float *ins[3] = {dt->in, dt->in2, dt->in3};
  const int chans[3] = {24, 8, 40};
  return rt_concat(ctx, dt->out, ins, chans, 3, &d);
}
static RtStatus run_prelu(const RtContext *ctx, Data *dt) {
  const RtPRelu d = {1, 32, 32, 40, 40, 40, 1, 1, 40};
  return rt_prelu(ctx, dt->out, dt->in, dt->vec, &d);
}
static RtStatus run_pad(const RtContext *ctx, Data *dt) {
  const RtPad d = {1, 40, 40, 64, 64, 64, 1, 2, 2, 1};
  return rt_zeropad(ctx, dt->out, dt->in, &d);
}

static const Case cases[] = {
    {"conv packed, row tiles", prep_conv_rows, run_conv_rows},
    {"conv packed, column blocks", prep_conv_cols, run_conv_cols},
    {"conv im2col + BLAS, grouped", NULL, run_conv_blas},
    {"winograd F4", prep_wino, run_wino},
    {"winograd F2 pre-activation", prep_wino2, run_wino_preact},
    {"winograd F2 from the fly kernel", prep_fly, run_wino_fly},
    {"depthwise items", NULL, run_dw},
    {"depthwise multiplier 2", NULL, run_dw_mult},
    {"depthwise + 1x1, rows", prep_dw_pw_rows, run_dw_pw_rows},
    {"depthwise + 1x1 + shortcut, columns", prep_dw_pw_cols, run_dw_pw_cols},
    {"maxpool", NULL, run_maxpool},
    {"avgpool same", NULL, run_avgpool},
    {"global avgpool", NULL, run_global},
    {"dense, rows", NULL, run_dense_rows},
    {"dense, columns", NULL, run_dense_cols},
    {"dense, narrow head", NULL, run_dense_k},
    {"softmax", NULL, run_softmax},
    {"add 3", NULL, run_add},
    {"mul channel", NULL, run_mul},
    {"channel affine", NULL, run_affine},
    {"channel affine, few pixels", NULL, run_affine_few},
    {"avgpool to one pixel", NULL, run_avgpool_few},
    {"activation dense", NULL, run_act_dense},
    {"activation strided", NULL, run_act_strided},
    {"copy strided", NULL, run_copy},
    {"copy dense", NULL, run_copy_dense},
    {"concat", NULL, run_concat},
    {"prelu", NULL, run_prelu},
    {"zeropad", NULL, run_pad},
};

/* ---- The harness -------------------------------------------------------- */

typedef struct TeamCall {
  const Case *c;
  Data *dt;
} TeamCall;

static RtStatus team_body(const RtContext *ctx, void *arg) {
  const TeamCall *tc = arg;
  return tc->c->run(ctx, tc->dt);
}

static void sentinel_fill(float *b, size_t n) {
  for (size_t i = 0; i < n; i++)
    b[i] = SENTINEL;
}

/* check_status without the "ok" line: run_case prints one per case. */
static int status_is(const char *what, int team, RtStatus got, RtStatus want) {
  if (got == want)
    return 0;
  printf("FAIL %s, %d threads: status %d, expected %d\n", what, team, (int)got, (int)want);
  return 1;
}

static int run_case(const Case *c, Data *dt, float *want) {
  int fails = 0;
  if (c->prepare)
    c->prepare(dt);
  static const int teams[] = {1, 2, 3, 5};
  for (size_t t = 0; t < sizeof teams / sizeof *teams; t++) {
    RtContext ctx = {.num_threads = teams[t]};
    sentinel_fill(dt->out, OUT);
    fails += status_is(c->name, teams[t], c->run(&ctx, dt), RT_OK);
    memcpy(want, dt->out, OUT * sizeof *want);
    sentinel_fill(dt->out, OUT);
    TeamCall tc = {c, dt};
    fails += status_is(c->name, teams[t], rt_team_run(&ctx, team_body, &tc), RT_OK);
    if (memcmp(dt->out, want, OUT * sizeof *want)) {
      size_t i = 0;
      while (dt->out[i] == want[i] || (dt->out[i] != dt->out[i] && want[i] != want[i]))
        i++;
      printf("FAIL %s, team of %d: float %zu is %g, %g on threads of its own\n", c->name, teams[t], i,
             dt->out[i], want[i]);
      fails++;
    }
  }
  if (!fails)
    printf("ok   %s\n", c->name);
  return fails;
}

/* A kernel's RT_ERR_ARG from every thread of the team reaches the caller. */
static RtStatus bad_body(const RtContext *ctx, void *arg) {
  Data *dt = arg;
  const RtEltwise d = {1, 4, 4, 8, 4, 8}; /* in_cs < c */
  return rt_softmax(ctx, dt->out, dt->in, &d);
}

typedef struct Reports {
  int calls[4];
} Reports;

static void count_layer(void *arg, int layer) {
  Reports *r = arg;
  r->calls[layer]++; /* thread 0 alone: no race */
}

static RtStatus layers_body(const RtContext *ctx, void *arg) {
  Data *dt = arg;
  const RtEltwise d = {1, 32, 32, 24, 24, 24};
  for (int layer = 0; layer < 4; layer++) {
    RtStatus s = rt_activation(ctx, dt->out, dt->in, RT_ACT_RELU, 0.0f, &d);
    if (s != RT_OK)
      return s;
    rt_layer_done(ctx, layer);
  }
  return RT_OK;
}

static int team_plumbing(Data *dt) {
  int fails = 0;
  RtContext ctx = {.num_threads = 3};
  fails += check_status("team: a kernel's error", rt_team_run(&ctx, bad_body, dt), RT_ERR_ARG);
  fails += check_status("team: no body", rt_team_run(&ctx, NULL, dt), RT_ERR_ARG);
  Reports r = {{0}};
  ctx.layer_done = count_layer;
  ctx.layer_arg = &r;
  fails += check_status("team: layers", rt_team_run(&ctx, layers_body, dt), RT_OK);
  for (int i = 0; i < 4; i++)
    if (r.calls[i] != 1) {
      printf("FAIL team: layer %d reported %d times, not once\n", i, r.calls[i]);
      fails++;
    }
  if (!fails)
    printf("ok   team: errors and layer reports\n");
  return fails;
}

/* rt_team_run inside a parallel region of the caller's (each of its
 * threads a forward pass of its own): a team of one each, every value
 * still computed. */
static int nested(Data *dt, const float *want_dw) {
  enum { THREADS = 3 };
  size_t n = 2 * 16 * 16 * 32; /* run_dw's output */
  float *outs = malloc(THREADS * n * sizeof *outs);
  int fails = 0;
  if (!outs)
    return 1;
#pragma omp parallel num_threads(THREADS) reduction(+ : fails)
  {
    Data mine = *dt;
    mine.out = outs + (size_t)omp_get_thread_num() * n;
    Case c = {"nested", NULL, run_dw};
    TeamCall tc = {&c, &mine};
    RtContext ctx = {.num_threads = 2};
    if (rt_team_run(&ctx, team_body, &tc) != RT_OK)
      fails++;
  }
  for (int t = 0; t < THREADS; t++)
    if (memcmp(outs + (size_t)t * n, want_dw, n * sizeof *outs)) {
      printf("FAIL nested: thread %d's forward differs\n", t);
      fails++;
    }
  free(outs);
  if (!fails)
    printf("ok   team inside a region of the caller's\n");
  return fails;
}

int main(void) {
  Rng rng;
  rng_seed(&rng, 7);
  Data dt = {
      .in = rand_buf(&rng, BUF, -1, 1), .in2 = rand_buf(&rng, BUF, -1, 1),
      .in3 = rand_buf(&rng, BUF, -1, 1), .kernel = rand_buf(&rng, KBUF, -0.5f, 0.5f),
      .kernel2 = rand_buf(&rng, KBUF, -0.5f, 0.5f), .vec = rand_buf(&rng, 1024, -1, 1),
      .vec2 = rand_buf(&rng, 1024, 0.5f, 1.5f), .vec3 = rand_buf(&rng, 1024, -0.5f, 0.5f),
      .packed = calloc(KBUF, sizeof(float)), .u = calloc(KBUF, sizeof(float)),
      .ws = calloc(WS, sizeof(float)), .out = malloc(OUT * sizeof(float)),
  };
  float *want = malloc(OUT * sizeof *want);
  if (!dt.in || !dt.in2 || !dt.in3 || !dt.kernel || !dt.kernel2 || !dt.vec || !dt.vec2 || !dt.vec3 || !dt.packed ||
      !dt.u || !dt.ws || !dt.out || !want) {
    printf("FAIL out of memory\n");
    return 1;
  }
  int fails = 0;
  for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
    fails += run_case(&cases[i], &dt, want);
  /* want holds the last case's; the depthwise case again, on one thread */
  RtContext alone = {.num_threads = 1};
  sentinel_fill(dt.out, OUT);
  fails += check_status("depthwise alone", run_dw(&alone, &dt), RT_OK);
  memcpy(want, dt.out, OUT * sizeof *want);
  fails += nested(&dt, want);
  fails += team_plumbing(&dt);
  free(dt.in), free(dt.in2), free(dt.in3), free(dt.kernel), free(dt.kernel2);
  free(dt.vec), free(dt.vec2), free(dt.vec3), free(dt.packed), free(dt.u), free(dt.ws), free(dt.out);
  free(want);
  printf(fails ? "%d FAILED\n" : "all passed\n", fails);
  return fails != 0;
}
