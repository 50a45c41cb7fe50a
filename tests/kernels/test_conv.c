/* Convolution, depthwise convolution and dense kernels against the
 * reference, over the shapes where indexing goes wrong: 1x1 images, kernels
 * larger than the stride and smaller, even and odd sizes at stride 2,
 * 'same' with even kernels (extra padding at the bottom/right), explicit
 * padding, groups, multipliers, batch 1 and 7, strided input, output
 * written into a slice of a wider (concat) buffer, every activation, the
 * residual epilogue, small workspaces and 1 to 3 threads. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "netc/train_kernels.h"
#include "reference.h"

typedef struct ConvCase {
  const char *name;
  int n, h, w, c, oc, kh, kw, sh, sw;
  int pad_h, pad_w;  /* PAD_VALID, PAD_SAME or PAD_EXPLICIT(p) */
  int groups;
  int in_extra;      /* in_cs = c + in_extra */
  int out_off, out_extra; /* slice [out_off, out_off+oc) of out_cs channels */
  int bias, residual;
  RtAct act;
} ConvCase;

/* WS_FLY_ONE: for the _FLY algorithms on a few blocks, only the workspace
 * of the kernel-copy path with one V for all threads (conv_winograd.c's
 * fly_ws_floats(p, threads, 0)), which takes the call then too: u stays all
 * NaN. With the planned workspace each thread of several has a V its own. */
enum { WS_FULL, WS_MIN, WS_ODD, WS_FLY_ONE };
/* rt_conv2d, rt_conv2d_winograd, rt_conv2d_winograd_train, rt_conv2d_packed,
 * rt_conv2d_winograd_preact (through a random scale and shift, then ReLU,
 * leaky ReLU or tanh, against the reference conv of the reference map),
 * and the two Winograd calls given rt_winograd_fly_kernel's copy too (_FLY) */
enum { ALGO_GEMM, ALGO_WINOGRAD, ALGO_WINOGRAD_TRAIN, ALGO_PACKED, ALGO_WINOGRAD_PREACT,
       ALGO_WINOGRAD_FLY, ALGO_WINOGRAD_PREACT_FLY };
static const RtAct preact_acts[] = {RT_ACT_RELU, RT_ACT_LEAKY_RELU, RT_ACT_TANH};

static int winograd_applies(const ConvCase *t) {
  return t->kh == 3 && t->kw == 3 && t->sh == 1 && t->sw == 1 && t->groups <= 1;
}

/* Whether F(2x2) given the fly kernel reads only it (kernels.h: "a few
 * blocks", AVX-512; conv_winograd.c's FLY_MAX_BLOCKS, FLY4_MAX_BLOCKS; RTK_FLY_LANES)
 * with the planned workspace: u is then all NaN, so that only that path
 * passes. */
static int winograd_fly_applies(const RtConv2d *d, int tile) {
  long blocks = (long)d->n * ((d->oh + tile - 1) / tile) * ((d->ow + tile - 1) / tile);
  return blocks <= (tile == 2 ? 8 : 4) && d->oc % 16 == 0 && strcmp(rt_kernel_isa(), "avx512") == 0;
}

static int run_conv_algo(const ConvCase *t, int threads, int ws_mode, int algo, int tile, Rng *rng) {
  RtConv2d d = {.n = t->n, .h = t->h, .w = t->w, .c = t->c, .oc = t->oc,
                .kh = t->kh, .kw = t->kw, .sh = t->sh, .sw = t->sw,
                .groups = t->groups};
  out_size(t->h, t->kh, t->sh, t->pad_h, &d.oh, &d.pad_top);
  out_size(t->w, t->kw, t->sw, t->pad_w, &d.ow, &d.pad_left);
  d.in_cs = t->c + t->in_extra;
  d.out_cs = t->oc + t->out_off + t->out_extra;
  int g = t->groups ? t->groups : 1;
  long in_n = (long)t->n * t->h * t->w * d.in_cs;
  long out_pix = (long)t->n * d.oh * d.ow;
  long k_n = (long)t->kh * t->kw * (t->c / g) * t->oc;
  float fan = 1.0f / sqrtf((float)(t->kh * t->kw * (t->c / g)));
  float *in = rand_buf(rng, in_n, -1, 1);
  float *kernel = rand_buf(rng, k_n, -fan, fan);
  float *bias = rand_buf(rng, t->oc, -0.5f, 0.5f);
  int res_cs = t->oc + 3;
  float *res = rand_buf(rng, out_pix * res_cs, -1, 1);
  RtEpilogue ep = {.bias = t->bias ? bias : NULL,
                   .residual = t->residual ? res : NULL,
                   .act = t->act, .alpha = 0.3f, .res_cs = res_cs};
  float *got = sentinel_buf(out_pix * d.out_cs);
  float *want = sentinel_buf(out_pix * d.out_cs);
  int fly = algo == ALGO_WINOGRAD_FLY || algo == ALGO_WINOGRAD_PREACT_FLY;
  int wino = algo == ALGO_WINOGRAD || algo == ALGO_WINOGRAD_TRAIN || algo == ALGO_WINOGRAD_PREACT || fly;
  size_t ws_n = algo == ALGO_WINOGRAD_TRAIN ? rt_conv2d_winograd_train_workspace_floats(&d, tile)
                : wino                    ? rt_conv2d_winograd_workspace_floats(&d, tile)
                                          : rt_conv2d_workspace_floats(&d);
  size_t ws_min = wino ? rt_conv2d_winograd_workspace_min_floats(&d, tile) : rt_conv2d_workspace_min_floats(&d);
  if (algo == ALGO_WINOGRAD_TRAIN)
    ws_min += ws_n - rt_conv2d_winograd_workspace_floats(&d, tile); /* + the transformed kernel */
  if (ws_mode == WS_FLY_ONE) {
    long xi = (tile + 2) * (tile + 2);
    long blocks = (long)d.n * ((d.oh + tile - 1) / tile) * ((d.ow + tile - 1) / tile);
    ws_n = (size_t)((threads + xi * blocks) * (long)(d.c + d.oc));
  }
  if (ws_mode == WS_MIN)
    ws_n = ws_min;
  else if (ws_mode == WS_ODD && ws_n)
    ws_n = ws_min * 5 + 3;
  float *ws = ws_n ? malloc(ws_n * sizeof *ws) : NULL;
  float *u = NULL, *fly_k = NULL;

  RtContext ctx = {.num_threads = threads};
  float *scale = rand_buf(rng, t->c, -1.5f, 1.5f), *shift = rand_buf(rng, t->c, -0.5f, 0.5f);
  RtPreact pre = {.scale = scale, .shift = shift, .act = preact_acts[(t->c + threads) % 3], .alpha = 0.2f};
  float *mapped = NULL;
  if (algo == ALGO_WINOGRAD_PREACT || algo == ALGO_WINOGRAD_PREACT_FLY) {
    mapped = sentinel_buf(in_n);
    RtEltwise e = {.n = t->n, .h = t->h, .w = t->w, .c = t->c, .in_cs = d.in_cs, .out_cs = d.in_cs};
    RtEpilogue pre_ep = {.act = pre.act, .alpha = pre.alpha};
    ref_channel_affine(mapped, in, scale, shift, &pre_ep, &e);
  }
  ref_conv2d(want + t->out_off, mapped ? mapped : in, kernel, &ep, &d);
  RtStatus st;
  if (algo == ALGO_PACKED) {
    int kk = t->kh * t->kw * (t->c / g);
    u = malloc(rt_conv2d_packed_kernel_floats(kk, t->oc, g) * sizeof *u);
    st = rt_conv2d_pack_kernel(u, kernel, kk, t->oc, g);
    if (st == RT_OK)
      st = rt_conv2d_packed(&ctx, got + t->out_off, in, u, &ep, &d, ws, ws_n);
  } else if (algo == ALGO_WINOGRAD_TRAIN) {
    st = rt_conv2d_winograd_train(&ctx, got + t->out_off, in, kernel, &ep, &d, tile, ws, ws_n);
  } else if (wino) {
    size_t u_n = rt_winograd_kernel_floats(t->c, t->oc, tile);
    u = malloc(u_n * sizeof *u);
    st = rt_winograd_kernel(u, kernel, t->c, t->oc, tile);
    size_t fly_n = fly ? rt_winograd_fly_kernel_floats(t->c, t->oc) : 0;
    if (fly_n) { /* 0 where oc is not a multiple of 16: fly stays NULL */
      fly_k = malloc(fly_n * sizeof *fly_k);
      if (st == RT_OK)
        st = rt_winograd_fly_kernel(fly_k, kernel, t->c, t->oc);
      if ((ws_mode == WS_FULL || ws_mode == WS_FLY_ONE) && winograd_fly_applies(&d, tile))
        for (size_t i = 0; i < u_n; i++)
          u[i] = NAN;
    }
    if (st == RT_OK)
      st = mapped ? rt_conv2d_winograd_preact(&ctx, got + t->out_off, in, u, fly_k, &pre, &ep, &d, tile, ws, ws_n)
                  : rt_conv2d_winograd(&ctx, got + t->out_off, in, u, fly_k, &ep, &d, tile, ws, ws_n);
  } else {
    st = rt_conv2d(&ctx, got + t->out_off, in, kernel, &ep, &d, ws, ws_n);
  }
  char what[200];
  snprintf(what, sizeof what,
           "conv%s%s %s %dx%dx%dx%d -> %dx%dx%d k%dx%d s%dx%d g%d %s%s%s%s%s, %d threads, ws %zu",
           algo == ALGO_WINOGRAD_TRAIN ? " winograd-train" : fly ? " winograd-kernel" : wino ? " winograd"
           : algo == ALGO_PACKED       ? " packed"
                                       : "",
           wino ? (tile == 2 ? " F2" : " F4") : "", t->name, t->n, t->h, t->w, t->c, d.oh, d.ow, t->oc, t->kh, t->kw,
           t->sh, t->sw, g, act_name(t->act), t->bias ? "+bias" : "",
           t->residual ? "+res" : "", mapped ? ", preact " : "", mapped ? act_name(pre.act) : "", threads, ws_n);
  int fail = check_status(what, st, RT_OK);
  if (!fail)
    fail = check_close(what, got, want, out_pix * d.out_cs, d.out_cs);
  free(in), free(kernel), free(bias), free(res), free(got), free(want), free(ws), free(u), free(fly_k);
  free(scale), free(shift), free(mapped);
  return fail;
}

/* Every conv case through rt_conv2d and, but the depthwise-shaped ones,
 * rt_conv2d_packed; the 3x3 stride-1 ones through the Winograd paths as
 * well. */
static int run_conv(const ConvCase *t, int threads, int ws_mode, Rng *rng) {
  if (ws_mode == WS_FLY_ONE) {
    int fails = 0;
    if (winograd_applies(t))
      for (int tile = 2; tile <= 4; tile += 2) {
        fails += run_conv_algo(t, threads, ws_mode, ALGO_WINOGRAD_FLY, tile, rng);
        fails += run_conv_algo(t, threads, ws_mode, ALGO_WINOGRAD_PREACT_FLY, tile, rng);
      }
    return fails;
  }
  int fails = run_conv_algo(t, threads, ws_mode, ALGO_GEMM, 0, rng);
  int g = t->groups ? t->groups : 1;
  if (!(g > 1 && t->c / g == 1))
    fails += run_conv_algo(t, threads, ws_mode, ALGO_PACKED, 0, rng);
  if (winograd_applies(t))
    for (int tile = 2; tile <= 4; tile += 2) {
      fails += run_conv_algo(t, threads, ws_mode, ALGO_WINOGRAD, tile, rng);
      fails += run_conv_algo(t, threads, ws_mode, ALGO_WINOGRAD_TRAIN, tile, rng);
      fails += run_conv_algo(t, threads, ws_mode, ALGO_WINOGRAD_PREACT, tile, rng);
      fails += run_conv_algo(t, threads, ws_mode, ALGO_WINOGRAD_FLY, tile, rng);
      fails += run_conv_algo(t, threads, ws_mode, ALGO_WINOGRAD_PREACT_FLY, tile, rng);
    }
  return fails;
}

typedef struct DwCase {
  const char *name;
  int n, h, w, c, mult, kh, kw, sh, sw, pad_h, pad_w;
  int in_extra, out_off, out_extra;
  int bias, residual;
  RtAct act;
} DwCase;

/* pre_act < 0: a plain depthwise conv; otherwise through a pre-activation
 * (random scale and shift, then pre_act), checked against the reference
 * conv of the reference channel-affine map of the input. */
static int run_dw(const DwCase *t, int threads, int pre_act, Rng *rng) {
  RtDwConv2d d = {.n = t->n, .h = t->h, .w = t->w, .c = t->c,
                  .kh = t->kh, .kw = t->kw, .sh = t->sh, .sw = t->sw,
                  .multiplier = t->mult};
  out_size(t->h, t->kh, t->sh, t->pad_h, &d.oh, &d.pad_top);
  out_size(t->w, t->kw, t->sw, t->pad_w, &d.ow, &d.pad_left);
  int oc = t->c * t->mult;
  d.in_cs = t->c + t->in_extra;
  d.out_cs = oc + t->out_off + t->out_extra;
  long out_pix = (long)t->n * d.oh * d.ow;
  float *in = rand_buf(rng, (long)t->n * t->h * t->w * d.in_cs, -1, 1);
  float *kernel = rand_buf(rng, (long)t->kh * t->kw * oc, -0.5f, 0.5f);
  float *bias = rand_buf(rng, oc, -0.5f, 0.5f);
  float *res = rand_buf(rng, out_pix * d.out_cs, -1, 1);
  /* res_cs 0: the residual is laid out like the output, slice included. */
  RtEpilogue ep = {.bias = t->bias ? bias : NULL,
                   .residual = t->residual ? res + t->out_off : NULL,
                   .act = t->act, .alpha = 0.7f};
  float *got = sentinel_buf(out_pix * d.out_cs);
  float *want = sentinel_buf(out_pix * d.out_cs);
  RtContext ctx = {.num_threads = threads};
  float *scale = rand_buf(rng, t->c, 0.5f, 1.5f);
  float *shift = rand_buf(rng, t->c, -0.5f, 0.5f);
  RtPreact pre = {.scale = scale, .shift = shift, .act = pre_act < 0 ? RT_ACT_LINEAR : (RtAct)pre_act, .alpha = 0.2f};
  float *mapped = NULL;
  if (pre_act >= 0) {
    long in_n = (long)t->n * t->h * t->w * d.in_cs;
    mapped = sentinel_buf(in_n);
    RtEltwise e = {.n = t->n, .h = t->h, .w = t->w, .c = t->c,
                   .in_cs = d.in_cs, .out_cs = d.in_cs};
    RtEpilogue pre_ep = {.act = pre.act, .alpha = pre.alpha};
    ref_channel_affine(mapped, in, scale, shift, &pre_ep, &e);
  }
  ref_dwconv2d(want + t->out_off, mapped ? mapped : in, kernel, &ep, &d);
  RtStatus st = pre_act < 0
                    ? rt_dwconv2d(&ctx, got + t->out_off, in, kernel, &ep, &d)
                    : rt_dwconv2d_preact(&ctx, got + t->out_off, in, kernel,
                                         &pre, &ep, &d);
  char what[240];
  snprintf(what, sizeof what,
           "dwconv %s %dx%dx%dx%d -> %dx%dx%d k%dx%d s%dx%d %s%s%s%s%s, %d threads",
           t->name, t->n, t->h, t->w, t->c, d.oh, d.ow, oc, t->kh, t->kw, t->sh,
           t->sw, act_name(t->act), t->bias ? "+bias" : "",
           t->residual ? "+res" : "", pre_act < 0 ? "" : ", preact ",
           pre_act < 0 ? "" : act_name(pre.act), threads);
  int fail = check_status(what, st, RT_OK);
  if (!fail)
    fail = check_close(what, got, want, out_pix * d.out_cs, d.out_cs);
  free(in), free(kernel), free(bias), free(res), free(got), free(want);
  free(scale), free(shift), free(mapped);
  return fail;
}

/* rt_dwconv2d_pointwise: a depthwise conv (through a pre-activation, with
 * bias and an activation) and a 1x1 conv to oc channels (bias, residual,
 * activation, into a channel slice), against the reference dwconv of the
 * reference channel-affine map, then the reference conv. With sc_c > 0,
 * rt_dwconv2d_pointwise_shortcut: a 1x1 conv of stride sc_s from another
 * tensor (sc_c channels of sc_c + 1) added, against the reference conv of
 * that tensor as the pointwise conv's residual. */
typedef struct DwPwCase {
  const char *name;
  int n, h, w, c, oc, k, s, pad;
  int in_extra, out_off, out_extra;
  RtAct act; /* of the pointwise conv */
  int sc_c, sc_s;
} DwPwCase;

static int run_dw_pw(const DwPwCase *t, int threads, Rng *rng) {
  RtDwConv2d d = {.n = t->n, .h = t->h, .w = t->w, .c = t->c, .kh = t->k,
                  .kw = t->k, .sh = t->s, .sw = t->s, .multiplier = 1};
  out_size(t->h, t->k, t->s, t->pad, &d.oh, &d.pad_top);
  out_size(t->w, t->k, t->s, t->pad, &d.ow, &d.pad_left);
  d.in_cs = t->c + t->in_extra;
  int out_cs = t->oc + t->out_off + t->out_extra;
  long in_n = (long)t->n * t->h * t->w * d.in_cs, pix = (long)t->n * d.oh * d.ow;
  float *in = rand_buf(rng, in_n, -1, 1);
  float *dk = rand_buf(rng, (long)t->k * t->k * t->c, -0.5f, 0.5f);
  float *db = rand_buf(rng, t->c, -0.5f, 0.5f);
  float *scale = rand_buf(rng, t->c, 0.5f, 1.5f);
  float *shift = rand_buf(rng, t->c, -0.5f, 0.5f);
  float fan = 1.0f / sqrtf((float)t->c);
  float *pk = rand_buf(rng, (long)t->c * t->oc, -fan, fan);
  float *pb = rand_buf(rng, t->oc, -0.5f, 0.5f);
  float *res = rand_buf(rng, pix * t->oc, -1, 1);
  float *packed = malloc(rt_conv2d_packed_kernel_floats(t->c, t->oc, 1) * sizeof *packed);
  float *mapped = sentinel_buf(in_n), *mid = sentinel_buf(pix * t->c);
  float *got = sentinel_buf(pix * out_cs), *want = sentinel_buf(pix * out_cs);
  RtPreact pre = {.scale = scale, .shift = shift, .act = RT_ACT_RELU};
  RtEpilogue dep = {.bias = db, .act = RT_ACT_RELU6};
  RtEpilogue pep = {.bias = pb, .residual = res, .res_cs = t->oc, .act = t->act, .alpha = 0.3f};
  RtEltwise e = {.n = t->n, .h = t->h, .w = t->w, .c = t->c, .in_cs = d.in_cs, .out_cs = d.in_cs};
  RtEpilogue pre_ep = {.act = RT_ACT_RELU};
  ref_channel_affine(mapped, in, scale, shift, &pre_ep, &e);
  RtDwConv2d dref = d;
  dref.out_cs = t->c;
  ref_dwconv2d(mid, mapped, dk, &dep, &dref);
  RtConv2d pw = {.n = t->n, .h = d.oh, .w = d.ow, .c = t->c, .oh = d.oh, .ow = d.ow, .oc = t->oc,
                 .out_cs = out_cs, .kh = 1, .kw = 1, .sh = 1, .sw = 1};
  /* The shortcut: its conv's output, plus res, is the reference's residual. */
  RtShortcut sc = {.h = d.oh * t->sc_s, .w = d.ow * t->sc_s + 1, .c = t->sc_c, .in_cs = t->sc_c + 1,
                   .sh = t->sc_s, .sw = t->sc_s};
  float *sk = NULL, *scout = NULL, *both = NULL;
  if (t->sc_c) {
    sc.in = rand_buf(rng, (long)t->n * sc.h * sc.w * sc.in_cs, -1, 1);
    sk = rand_buf(rng, (long)t->sc_c * t->oc, -fan, fan);
    scout = sentinel_buf(pix * t->oc);
    RtConv2d scd = {.n = t->n, .h = sc.h, .w = sc.w, .c = t->sc_c, .in_cs = sc.in_cs, .oh = d.oh, .ow = d.ow,
                    .oc = t->oc, .kh = 1, .kw = 1, .sh = t->sc_s, .sw = t->sc_s};
    RtEpilogue sep = {.residual = res, .res_cs = t->oc};
    ref_conv2d(scout, sc.in, sk, &sep, &scd);
    pep.residual = scout;
    ref_conv2d(want + t->out_off, mid, pk, &pep, &pw);
    pep.residual = res;
    /* the runtime's kernel: the pointwise rows, then the shortcut's */
    both = malloc((size_t)(t->c + t->sc_c) * t->oc * sizeof *both);
    memcpy(both, pk, (size_t)t->c * t->oc * sizeof *both);
    memcpy(both + (long)t->c * t->oc, sk, (size_t)t->sc_c * t->oc * sizeof *both);
    free(packed);
    packed = malloc(rt_conv2d_packed_kernel_floats(t->c + t->sc_c, t->oc, 1) * sizeof *packed);
  } else {
    ref_conv2d(want + t->out_off, mid, pk, &pep, &pw);
  }
  RtContext ctx = {.num_threads = threads};
  RtStatus st = rt_conv2d_pack_kernel(packed, both ? both : pk, t->c + t->sc_c, t->oc, 1);
  if (st == RT_OK && t->sc_c)
    st = rt_dwconv2d_pointwise_shortcut(&ctx, got + t->out_off, in, dk, &pre, &dep, &d, &sc, packed, &pep, t->oc,
                                        out_cs);
  else if (st == RT_OK)
    st = rt_dwconv2d_pointwise(&ctx, got + t->out_off, in, dk, &pre, &dep, &d, packed, &pep, t->oc, out_cs);
  char what[200];
  snprintf(what, sizeof what, "dw+pw %s %dx%dx%dx%d -> %dx%dx%d -> %d k%d s%d %s%s, %d threads", t->name, t->n, t->h,
           t->w, t->c, d.oh, d.ow, t->c, t->oc, t->k, t->s, act_name(t->act), t->sc_c ? " +shortcut" : "", threads);
  int fail = check_status(what, st, RT_OK);
  if (!fail)
    fail = check_close(what, got, want, pix * out_cs, out_cs);
  free(in), free(dk), free(db), free(scale), free(shift), free(pk), free(pb), free(res), free(packed);
  free(mapped), free(mid), free(got), free(want);
  free((float *)sc.in), free(sk), free(scout), free(both);
  return fail;
}

static const DwPwCase dw_pw_cases[] = {
    /* name          n   h   w    c   oc  k  s  pad        ie oo oe act               sc_c sc_s */
    {"1x1-image",    1,  1,  1,  16,  16, 3, 1, PAD_SAME,  0, 0, 0, RT_ACT_LINEAR,      0, 0},
    {"unit-32",      1, 32, 32,  32,  32, 3, 1, PAD_SAME,  0, 0, 0, RT_ACT_RELU,        0, 0},
    {"unit-4x4",     1,  4,  4, 256, 256, 3, 1, PAD_SAME,  0, 0, 0, RT_ACT_LINEAR,      0, 0},
    {"odd",          7,  5,  7,  20,  40, 3, 1, PAD_SAME,  3, 2, 5, RT_ACT_RELU,        0, 0},
    {"s2-valid",     2,  9,  8,  33,  70, 3, 2, PAD_VALID, 0, 0, 0, RT_ACT_TANH,        0, 0},
    {"k5",           2, 11, 10,  17,   9, 5, 1, PAD_SAME,  1, 0, 0, RT_ACT_LEAKY_RELU,  0, 0},
    {"many-rows",    3, 40, 12,  48,  32, 3, 1, PAD_SAME,  0, 4, 0, RT_ACT_RELU6,       0, 0},
    /* rows of up to 4 pixels (dwconv2d.c's whole-row path): strided with
     * slices at batch 7, and more rows than its buffer holds at once */
    {"narrow-s2",    7,  3,  7,  32,  40, 3, 2, PAD_SAME,  3, 2, 5, RT_ACT_RELU,        0, 0},
    {"narrow-runs",  2, 12,  4, 256,  32, 3, 1, PAD_SAME,  0, 0, 0, RT_ACT_RELU6,       0, 0},
    /* the shortcut: mobilenet's strided unit by rows and by columns
     * (4x4), odd channel counts, batch 7 */
    {"sc-unit-16",   1, 16, 16,  32,  64, 3, 1, PAD_SAME,  0, 0, 0, RT_ACT_LINEAR,     32, 2},
    {"sc-unit-4x4",  1,  4,  4, 128, 256, 3, 1, PAD_SAME,  0, 0, 0, RT_ACT_LINEAR,    128, 2},
    {"sc-odd",       7,  5,  7,  20,  40, 3, 1, PAD_SAME,  3, 2, 5, RT_ACT_RELU,       13, 3},
    {"sc-stride1",   2,  6,  6,  16,  24, 3, 1, PAD_SAME,  0, 0, 0, RT_ACT_LINEAR,     16, 1},
};

/* A depthwise conv reading its input through a max pool (RtPreact.pool),
 * with and without a batch norm and ReLU after the pool, alone and fused
 * with a 1x1 conv (multiplier 1), against the reference pool, map and
 * convs. */
typedef struct DwPoolCase {
  const char *name;
  int n, sh, sw, c, in_extra, pool, k, s, mult;
} DwPoolCase;

static int run_dw_pool(const DwPoolCase *t, int threads, int mapped_too, Rng *rng) {
  int ph = (t->sh - t->pool) / t->pool + 1, pw = (t->sw - t->pool) / t->pool + 1, oc = t->c * t->mult;
  int in_cs = t->c + t->in_extra;
  RtDwConv2d d = {.n = t->n, .h = ph, .w = pw, .c = t->c, .in_cs = in_cs, .kh = t->k, .kw = t->k, .sh = t->s,
                  .sw = t->s, .multiplier = t->mult};
  out_size(ph, t->k, t->s, PAD_SAME, &d.oh, &d.pad_top);
  out_size(pw, t->k, t->s, PAD_SAME, &d.ow, &d.pad_left);
  long src_n = (long)t->n * t->sh * t->sw * in_cs, pooled_n = (long)t->n * ph * pw * t->c;
  long pix = (long)t->n * d.oh * d.ow;
  float *src = rand_buf(rng, src_n, -1, 1);
  float *kernel = rand_buf(rng, (long)t->k * t->k * oc, -0.5f, 0.5f);
  float *bias = rand_buf(rng, oc, -0.5f, 0.5f);
  float *scale = rand_buf(rng, t->c, 0.5f, 1.5f), *shift = rand_buf(rng, t->c, -0.5f, 0.5f);
  float *pk = rand_buf(rng, (long)oc * 24, -0.3f, 0.3f), *pb = rand_buf(rng, 24, -0.5f, 0.5f);
  float *pooled = sentinel_buf(pooled_n), *mapped = sentinel_buf(pooled_n), *mid = sentinel_buf(pix * oc);
  float *got = sentinel_buf(pix * oc), *want = sentinel_buf(pix * oc);
  float *got2 = sentinel_buf(pix * 24), *want2 = sentinel_buf(pix * 24);
  float *packed = malloc(rt_conv2d_packed_kernel_floats(oc, 24, 1) * sizeof *packed);
  RtPool2d pd = {.n = t->n, .h = t->sh, .w = t->sw, .c = t->c, .in_cs = in_cs, .oh = ph, .ow = pw,
                 .kh = t->pool, .kw = t->pool, .sh = t->pool, .sw = t->pool};
  ref_maxpool2d(pooled, src, &pd);
  RtPreact pre = {.act = RT_ACT_LINEAR, .pool = t->pool, .src_h = t->sh, .src_w = t->sw};
  const float *conv_in = pooled;
  if (mapped_too) {
    pre = (RtPreact){scale, shift, RT_ACT_RELU, 0.0f, t->pool, t->sh, t->sw};
    RtEltwise e = {.n = t->n, .h = ph, .w = pw, .c = t->c};
    RtEpilogue pre_ep = {.act = RT_ACT_RELU};
    ref_channel_affine(mapped, pooled, scale, shift, &pre_ep, &e);
    conv_in = mapped;
  }
  RtEpilogue ep = {.bias = bias, .act = RT_ACT_RELU};
  RtDwConv2d dref = d;
  dref.in_cs = t->c;
  ref_dwconv2d(want, conv_in, kernel, &ep, &dref);
  RtContext ctx = {.num_threads = threads};
  char what[200];
  snprintf(what, sizeof what, "dwconv through pool %s %dx%dx%dx%d pool %d%s, %d threads", t->name, t->n, t->sh,
           t->sw, t->c, t->pool, mapped_too ? " + bn relu" : "", threads);
  int fail = check_status(what, rt_dwconv2d_preact(&ctx, got, src, kernel, &pre, &ep, &d), RT_OK);
  if (!fail)
    fail = check_close(what, got, want, pix * oc, oc);
  if (t->mult == 1) { /* the same fused with a 1x1 conv to 24 channels */
    RtConv2d pwd = {.n = t->n, .h = d.oh, .w = d.ow, .c = oc, .oh = d.oh, .ow = d.ow, .oc = 24,
                    .kh = 1, .kw = 1, .sh = 1, .sw = 1};
    RtEpilogue pep = {.bias = pb};
    ref_conv2d(want2, want, pk, &pep, &pwd);
    RtStatus st = rt_conv2d_pack_kernel(packed, pk, oc, 24, 1);
    if (st == RT_OK)
      st = rt_dwconv2d_pointwise(&ctx, got2, src, kernel, &pre, &ep, &d, packed, &pep, 24, 0);
    snprintf(what, sizeof what, "dw+pw through pool %s pool %d%s, %d threads", t->name, t->pool,
             mapped_too ? " + bn relu" : "", threads);
    int f2 = check_status(what, st, RT_OK);
    if (!f2)
      f2 = check_close(what, got2, want2, pix * 24, 24);
    fail += f2;
  }
  free(src), free(kernel), free(bias), free(scale), free(shift), free(pk), free(pb), free(pooled);
  free(mapped), free(mid), free(got), free(want), free(got2), free(want2), free(packed);
  return fail;
}

static const DwPoolCase dw_pool_cases[] = {
    {"unit",     1, 32, 32, 32, 0, 2, 3, 1, 1},
    {"odd",      2,  9,  7, 20, 3, 2, 3, 1, 1}, /* floor: the last row and column unread */
    {"pool3-s2", 1, 12, 13, 16, 0, 3, 3, 2, 1},
    {"mult2",    2,  8,  8, 12, 0, 2, 3, 1, 2}, /* the plain path */
};

typedef struct DenseCase {
  const char *name;
  int rows, in, out, in_extra, out_off, out_extra, bias, residual;
  RtAct act;
} DenseCase;

static int run_dense(const DenseCase *t, int threads, Rng *rng) {
  RtDense d = {.rows = t->rows, .in = t->in, .out = t->out,
               .in_cs = t->in + t->in_extra,
               .out_cs = t->out + t->out_off + t->out_extra};
  float fan = 1.0f / sqrtf((float)t->in);
  float *in = rand_buf(rng, (long)t->rows * d.in_cs, -1, 1);
  float *kernel = rand_buf(rng, (long)t->in * t->out, -fan, fan);
  float *bias = rand_buf(rng, t->out, -0.5f, 0.5f);
  float *res = rand_buf(rng, (long)t->rows * t->out, -1, 1);
  RtEpilogue ep = {.bias = t->bias ? bias : NULL,
                   .residual = t->residual ? res : NULL,
                   .act = t->act, .alpha = 0.2f, .res_cs = t->out};
  long n = (long)t->rows * d.out_cs;
  float *got = sentinel_buf(n), *want = sentinel_buf(n);
  RtContext ctx = {.num_threads = threads};
  ref_dense(want + t->out_off, in, kernel, &ep, &d);
  RtStatus st = rt_dense(&ctx, got + t->out_off, in, kernel, &ep, &d);
  char what[200];
  snprintf(what, sizeof what, "dense %s %dx%d -> %d %s%s%s, %d threads",
           t->name, t->rows, t->in, t->out, act_name(t->act),
           t->bias ? "+bias" : "", t->residual ? "+res" : "", threads);
  int fail = check_status(what, st, RT_OK);
  if (!fail)
    fail = check_close(what, got, want, n, d.out_cs);
  free(in), free(kernel), free(bias), free(res), free(got), free(want);
  return fail;
}

#define V PAD_VALID
#define S PAD_SAME
#define E PAD_EXPLICIT
#define L RT_ACT_LINEAR
#define R RT_ACT_RELU

static const ConvCase conv_cases[] = {
    /* name            n   h   w   c  oc kh kw sh sw ph pw  g  ie oo oe  b  r  act */
    {"1x1-image-1x1",  1,  1,  1,  5,  7, 1, 1, 1, 1, V, V, 1, 0, 0, 0, 1, 0, L},
    {"1x1-image-same", 1,  1,  1,  5,  7, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 0, R},
    {"first-layer",    2, 32, 32,  3, 16, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 0, R},
    /* Stems: kernel rows of 3 to 10 floats, copied by vectors that run
     * past them (im2col's copy_run) and the rows' inside pixels skipped
     * (inside_columns): one channel, a stride on odd sizes, 5x5 valid and
     * padded with two columns of padding each side. */
    {"stem-1ch",       3, 28, 28,  1, 64, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 0, R},
    {"stem-s2-odd",    2, 15, 17,  3, 24, 3, 3, 2, 2, S, S, 1, 0, 0, 0, 1, 1, L},
    {"stem-5x5-valid", 1, 12, 11,  2, 16, 5, 5, 1, 1, V, V, 1, 0, 0, 0, 1, 0, R},
    {"stem-5x5-pad2",  2,  9, 10,  2, 40, 5, 5, 1, 1, E(2), E(2), 1, 0, 0, 0, 1, 0, L},
    /* conv_stem.c's direct kernel (K <= 32): channel strides and an
     * output slice with a residual over a partial panel; a row of one
     * pixel; a kernel as large as its stride; a window of one output row
     * (700 columns); 1000 columns, past the window (the GEMM instead). */
    {"stem-slices",    2,  9,  9,  3, 40, 3, 3, 1, 1, S, S, 1, 5, 7, 11, 1, 1, R},
    {"stem-1x1-image", 7,  1,  1,  2, 33, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 1, R},
    {"stem-k2-s2",     3,  8, 11,  3, 64, 2, 2, 2, 2, V, V, 1, 0, 0, 0, 0, 0, R},
    {"stem-wide",      1,  3, 700, 3, 16, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 0, R},
    {"stem-too-wide",  1,  2, 1000, 3, 8, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 0, L},
    /* ... and with the taps read in place (nothing to pad): a strided 1x1
     * conv from a wider buffer, and a valid 3x3 one whose channel stride
     * needs the window after all. */
    {"1x1-s2-slices",  2,  9,  9, 12, 40, 1, 1, 2, 2, V, V, 1, 5, 7, 11, 1, 1, R},
    {"stem-valid-cs",  2,  8,  9,  3, 24, 3, 3, 1, 1, V, V, 1, 2, 0, 0, 1, 0, L},
    {"cin1",           3, 28, 28,  1,  8, 5, 5, 1, 1, V, V, 1, 0, 0, 0, 1, 0, R},
    {"s2-even",        2,  8,  8, 16, 24, 3, 3, 2, 2, S, S, 1, 0, 0, 0, 1, 0, L},
    {"s2-odd",         2,  9,  9, 16, 24, 3, 3, 2, 2, S, S, 1, 0, 0, 0, 1, 0, L},
    {"s2-odd-valid",   2,  9,  7, 16, 24, 3, 3, 2, 2, V, V, 1, 0, 0, 0, 1, 0, L},
    {"even-k-same",    2,  7,  7,  6, 10, 2, 2, 1, 1, S, S, 1, 0, 0, 0, 1, 0, L},
    {"k4-s2-same",     1,  9, 10,  4,  5, 4, 4, 2, 2, S, S, 1, 0, 0, 0, 0, 0, L},
    {"k5x3-explicit",  2, 11,  6,  5,  9, 5, 3, 2, 1, E(2), E(1), 1, 0, 0, 0, 1, 0, L},
    {"k5-s2-valid",    1, 13, 13,  8,  8, 5, 5, 2, 2, V, V, 1, 0, 0, 0, 1, 0, L},
    {"1x1-s2",         7,  9,  8, 16, 32, 1, 1, 2, 2, V, V, 1, 0, 0, 0, 0, 0, L},
    {"k2-s3",          1, 10, 11,  4,  6, 2, 2, 3, 3, V, V, 1, 0, 0, 0, 1, 0, L},
    {"1x1-direct",     7,  5,  5, 32, 48, 1, 1, 1, 1, V, V, 1, 0, 0, 0, 1, 0, R},
    {"1x1-pad",        1,  4,  4,  8,  8, 1, 1, 1, 1, E(1), E(1), 1, 0, 0, 0, 1, 0, L},
    {"groups2",        2,  8,  8, 16, 32, 3, 3, 1, 1, S, S, 2, 0, 0, 0, 1, 0, R},
    {"groups4-1x1",    3,  6,  6, 16,  8, 1, 1, 1, 1, V, V, 4, 0, 0, 0, 1, 0, L},
    {"groups=cin",     2,  8,  8, 16, 16, 3, 3, 1, 1, S, S, 16, 0, 0, 0, 1, 0, R},
    {"groups=cin-m2",  2,  8,  7, 12, 24, 3, 3, 2, 2, S, S, 12, 0, 0, 0, 1, 0, L},
    {"slices",         2,  9,  9, 12, 20, 3, 3, 1, 1, S, S, 1, 5, 7, 11, 1, 1, R},
    {"slices-1x1",     2,  9,  9, 12, 20, 1, 1, 1, 1, V, V, 1, 5, 7, 11, 1, 1, R},
    {"slices-groups",  2,  6,  6, 12, 20, 3, 3, 1, 1, S, S, 2, 4, 3, 1, 1, 1, L},
    {"batch7-tiles",   7, 16, 16, 32, 64, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 1, R},
    {"batch1-small",   1,  4,  4, 64, 96, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 1, R},
    {"deep-k",         2,  4,  4, 256, 40, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 0, L},
    /* Winograd's 2x2 output blocks: odd sizes (a partial last block),
     * valid and explicit padding, 1- and 2-pixel images. */
    {"3x3-odd",        3,  7,  5,  9, 11, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 1, R},
    {"3x3-valid-odd",  2,  9,  6,  8, 17, 3, 3, 1, 1, V, V, 1, 0, 0, 0, 1, 0, L},
    {"3x3-explicit2",  1,  5,  6,  4,  6, 3, 3, 1, 1, E(2), E(2), 1, 0, 0, 0, 1, 0, L},
    {"3x3-1x2",        2,  1,  2, 16, 16, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 1, R},
    {"3x3-many",       2, 28, 28, 64, 64, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 0, R},
    {"3x3-slices-odd", 1, 11, 13, 20, 36, 3, 3, 1, 1, S, S, 1, 3, 5, 2, 1, 1, R},
    /* F(2x2) given the fly kernel, a few blocks (it is read, not U): a
     * partial last block row and column in slices with a residual; 8
     * blocks (the most) of 256 channels; one block of a 1x1 image; */
    {"fly-slices-odd", 1,  3,  5, 20, 48, 3, 3, 1, 1, S, S, 1, 3, 5, 2, 1, 1, R},
    {"fly-8-blocks",   2,  4,  4, 256, 32, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 0, L},
    {"fly-1x1-image",  1,  1,  1,  7, 16, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 0, 1, R},
    /* ... input channels in runs of RTK_FLY_CHUNK (32) and a partial one */
    {"fly-chunk-tail", 1,  4,  4, 72, 32, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 1, L},
    /* Packed GEMM: K past one 256-deep block, columns past one 32-wide
     * panel with a partial last one, grouped panels. */
    {"deep-k-s2",      3,  9,  9, 70, 75, 3, 3, 2, 2, S, S, 1, 0, 0, 0, 1, 1, R},
    {"1x1-k300",       2,  5,  6, 300, 40, 1, 1, 1, 1, V, V, 1, 0, 0, 0, 1, 0, L},
    {"groups3-wide",   2,  6,  6, 48, 99, 3, 3, 2, 2, S, S, 3, 0, 0, 0, 1, 0, R},
    /* The implicit GEMM: runs of one tap (slices, groups) past the most it
     * takes (9x9 = 81 runs: im2col instead), runs split by the 256-deep K
     * blocks (3 x 3 x 100 = 900 per kernel row), interior pixels only
     * (valid) and border pixels only (a 2x2 image under a 3x3 kernel). */
    {"k9-slices",      1, 12, 12,  4,  8, 9, 9, 1, 1, S, S, 1, 2, 0, 0, 1, 0, L},
    {"k9-groups",      1, 10, 10,  8,  8, 9, 9, 1, 1, S, S, 2, 0, 0, 0, 1, 0, R},
    {"runs-past-kc",   1,  7,  6, 300, 33, 3, 3, 2, 1, V, S, 1, 0, 0, 0, 1, 1, R},
    {"border-only",    2,  2,  2, 16, 32, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 0, L},
    /* The last 1 to 4 rows of a GEMM by the two-panel kernel: a pair and
     * a partial panel alone (80 columns), a pair with a partial second
     * panel (40), a pair exactly (64); K past one block; the Winograd GEMMs
     * of few blocks shared by panel pairs (16x16 by F(4x4): 16 rows). */
    {"tail4-pair-alone", 1, 2, 5, 300, 80, 1, 1, 1, 1, V, V, 1, 3, 5, 2, 1, 1, R},
    {"tail3-pair-part",  1, 3, 3, 20, 40, 1, 1, 1, 1, V, V, 1, 0, 0, 0, 1, 1, L},
    {"tail1-pair",       1, 7, 1, 33, 64, 1, 1, 1, 1, V, V, 1, 0, 2, 1, 0, 1, R},
    {"wino-shared-tail", 1, 16, 16, 24, 72, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 1, R},
};

static const DwCase dw_cases[] = {
    /* name          n   h   w   c  m kh kw sh sw ph pw ie oo oe  b  r act */
    {"1x1-image",    1,  1,  1,  5, 1, 3, 3, 1, 1, S, S, 0, 0, 0, 1, 0, L},
    {"3x3-same",     2,  8,  8, 32, 1, 3, 3, 1, 1, S, S, 0, 0, 0, 1, 0, R},
    {"s2-even",      2,  8,  8, 70, 1, 3, 3, 2, 2, S, S, 0, 0, 0, 1, 0, L},
    {"s2-odd",       7,  9,  9, 70, 1, 3, 3, 2, 2, S, S, 0, 0, 0, 1, 0, L},
    {"k5-valid",     1, 11, 12, 17, 1, 5, 5, 1, 1, V, V, 0, 0, 0, 0, 0, L},
    {"k4-same",      1,  9,  9, 8,  1, 4, 4, 2, 2, S, S, 0, 0, 0, 1, 0, L},
    {"explicit",     2,  6,  7, 9,  1, 3, 5, 1, 2, E(2), E(1), 0, 0, 0, 1, 0, L},
    {"mult2",        2,  7,  7, 12, 2, 3, 3, 1, 1, S, S, 0, 0, 0, 1, 0, L},
    {"mult3-s2",     1,  8,  9, 40, 3, 3, 3, 2, 2, S, S, 0, 0, 0, 1, 0, R},
    {"slices-res",   2,  8,  8, 72, 1, 3, 3, 1, 1, S, S, 3, 5, 2, 1, 1, RT_ACT_RELU6},
    /* rows of up to 8 pixels (the whole-row path) with slices, a residual
     * and a stride */
    {"narrow-res-s2", 7,  9,  9, 64, 1, 3, 3, 2, 2, S, S, 5, 3, 4, 1, 1, RT_ACT_LEAKY_RELU},
    /* Wider than one ring buffer: strips of columns, uneven. */
    {"strips",       1,  5, 300, 16, 1, 3, 3, 1, 1, S, S, 0, 0, 0, 1, 0, R},
    {"strips-s2-k7", 1, 12, 200, 20, 1, 7, 7, 2, 2, S, S, 0, 0, 0, 1, 1, L},
    /* 9x9 taps: past the vector path's limit. */
    {"k9",           2, 10, 10, 17, 1, 9, 9, 1, 1, S, S, 0, 0, 0, 1, 1, R},
    /* Batch 1, many rows: runs of rows shared among threads. */
    {"rows",         1, 32, 32, 32, 1, 3, 3, 1, 1, S, S, 0, 0, 0, 1, 1, R},
};

static const DenseCase dense_cases[] = {
    /* name       rows   in  out ie oo oe  b  r act */
    {"batch1",       1, 300, 70, 0, 0, 0, 1, 0, L},
    {"batch1-wide",  1, 512, 1000, 0, 0, 0, 1, 0, RT_ACT_RELU},
    {"batch1-head",  1, 256, 10, 3, 2, 4, 1, 1, RT_ACT_RELU},
    {"batch7",       7,  64, 10, 0, 0, 0, 1, 0, L},
    {"rows",       300,  33, 48, 0, 0, 0, 1, 1, R},
    {"slices",       7,  20, 30, 4, 6, 5, 1, 1, RT_ACT_TANH},
    {"slices-rows", 130,  20, 30, 4, 6, 5, 0, 1, L},
    {"in1",          5,   1,  3, 0, 0, 0, 1, 0, L},
    /* Heads of up to 16 outputs (dense_narrow, and dense_narrow_rows for
     * up to 4 rows at once, the threads splitting the rows): vectors that
     * run into the next kernel row, the last rows through a padded copy
     * (one output: the last 15 rows), fewer rows than the unroll, row
     * counts that leave 1 to 3 in the last group, an odd K. */
    {"narrow-1",     1,  37,  1, 0, 0, 0, 1, 0, L},
    {"narrow-10",    2, 1001, 10, 3, 2, 4, 1, 1, R},
    {"narrow-16",    3, 129, 16, 0, 0, 0, 0, 0, RT_ACT_TANH},
    {"narrow-k3",    4,   3,  5, 1, 1, 1, 1, 1, L},
    {"narrow-rows5", 5, 1001, 10, 3, 2, 4, 1, 1, R},
    {"narrow-rows8", 8, 25088, 10, 0, 0, 0, 1, 0, L},
    {"narrow-rows11", 11, 77, 16, 2, 0, 3, 0, 1, RT_ACT_TANH},
    {"narrow-rows7-1", 7, 40, 1, 0, 0, 0, 1, 0, L},
    /* One row of 4096 inputs or more: K split between the threads, their
     * sums added in turn (dense_k_share). */
    {"narrow-ksplit", 1, 25088, 10, 3, 2, 4, 1, 1, R},
    {"narrow-ksplit-odd", 1, 4099, 3, 0, 0, 0, 1, 0, L},
};

static int error_cases(void) {
  RtContext ctx = {.num_threads = 1};
  float buf[64] = {0};
  RtConv2d d = {.n = 1, .h = 4, .w = 4, .c = 2, .oh = 2, .ow = 2, .oc = 2,
                .kh = 3, .kw = 3, .sh = 1, .sw = 1};
  int fail = 0;
  fail |= check_status("conv NULL input", rt_conv2d(&ctx, buf, NULL, buf, NULL, &d, buf, 64), RT_ERR_ARG);
  fail |= check_status("conv no workspace", rt_conv2d(&ctx, buf, buf, buf, NULL, &d, NULL, 0), RT_ERR_ARG);
  fail |= check_status("conv small workspace", rt_conv2d(&ctx, buf, buf, buf, NULL, &d, buf, 17), RT_ERR_ARG);
  RtConv2d bad = d;
  bad.groups = 3;
  fail |= check_status("conv groups not dividing", rt_conv2d(&ctx, buf, buf, buf, NULL, &bad, buf, 64), RT_ERR_ARG);
  bad = d;
  bad.out_cs = 1;
  fail |= check_status("conv out_cs < oc", rt_conv2d(&ctx, buf, buf, buf, NULL, &bad, buf, 64), RT_ERR_ARG);
  fail |= check_status("winograd small workspace",
                       rt_conv2d_winograd(&ctx, buf, buf, buf, NULL, NULL, &d, 2, buf,
                                          rt_conv2d_winograd_workspace_min_floats(&d, 2) - 1),
                       RT_ERR_ARG);
  fail |= check_status("winograd no workspace", rt_conv2d_winograd(&ctx, buf, buf, buf, NULL, NULL, &d, 2, NULL, 64),
                       RT_ERR_ARG);
  fail |= check_status("winograd tile 3", rt_conv2d_winograd(&ctx, buf, buf, buf, NULL, NULL, &d, 3, buf, 64), RT_ERR_ARG);
  fail |= check_status("fly kernel, oc not a multiple of 16", rt_winograd_fly_kernel(buf, buf, 4, 24), RT_ERR_ARG);
  fail |= check_status("fly kernel, NULL kernel", rt_winograd_fly_kernel(buf, NULL, 4, 32), RT_ERR_ARG);
  fail |= check_status("fly kernel, no channels", rt_winograd_fly_kernel(buf, buf, 0, 32), RT_ERR_ARG);
  if (rt_winograd_fly_kernel_floats(4, 24) != 0 || rt_winograd_fly_kernel_floats(4, 32) != 9 * 4 * 32) {
    printf("FAIL rt_winograd_fly_kernel_floats: %zu for oc 24, %zu for oc 32\n", rt_winograd_fly_kernel_floats(4, 24),
           rt_winograd_fly_kernel_floats(4, 32));
    fail = 1;
  }
  RtPreact pooled = {.act = RT_ACT_RELU, .pool = 2, .src_h = 8, .src_w = 8};
  fail |= check_status("winograd preact with a pool",
                       rt_conv2d_winograd_preact(&ctx, buf, buf, buf, NULL, &pooled, NULL, &d, 2, buf, 64), RT_ERR_ARG);
  fail |= check_status("packed NULL kernel", rt_conv2d_packed(&ctx, buf, buf, NULL, NULL, &d, buf, 64), RT_ERR_ARG);
  RtConv2d dwshape = {.n = 1, .h = 4, .w = 4, .c = 2, .oh = 4, .ow = 4, .oc = 2, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                      .pad_top = 1, .pad_left = 1, .groups = 2};
  fail |= check_status("packed depthwise-shaped", rt_conv2d_packed(&ctx, buf, buf, buf, NULL, &dwshape, buf, 64),
                       RT_ERR_ARG);
  fail |= check_status("pack: groups not dividing", rt_conv2d_pack_kernel(buf, buf, 9, 4, 3), RT_ERR_ARG);
  bad = d;
  bad.sh = 2;
  fail |= check_status("winograd stride 2", rt_conv2d_winograd(&ctx, buf, buf, buf, NULL, NULL, &bad, 2, buf, 64), RT_ERR_ARG);
  bad = d;
  bad.kw = 5;
  fail |= check_status("winograd 3x5 kernel", rt_conv2d_winograd(&ctx, buf, buf, buf, NULL, NULL, &bad, 2, buf, 64),
                       RT_ERR_ARG);
  RtDense dd = {.rows = 0, .in = 2, .out = 2};
  fail |= check_status("dense no rows", rt_dense(&ctx, buf, buf, buf, NULL, &dd), RT_ERR_ARG);
  RtDwConv2d dw = {.n = 1, .h = 4, .w = 4, .c = 2, .oh = 2, .ow = 2, .kh = 3,
                   .kw = 3, .sh = 0, .sw = 1};
  fail |= check_status("dwconv stride 0", rt_dwconv2d(&ctx, buf, buf, buf, NULL, &dw), RT_ERR_ARG);
  RtDwConv2d dw2 = {.n = 1, .h = 2, .w = 2, .c = 2, .oh = 2, .ow = 2, .kh = 1, .kw = 1, .sh = 1, .sw = 1};
  RtPreact pool_pre = {.pool = 2, .src_h = 5, .src_w = 4}; /* pools 5 rows to 2, not to d.h = 3 */
  dw2.h = 3;
  dw2.oh = 3;
  fail |= check_status("dwconv pool size mismatch", rt_dwconv2d_preact(&ctx, buf, buf, buf, &pool_pre, NULL, &dw2),
                       RT_ERR_ARG);
  RtDwConv2d dwp = {.n = 1, .h = 4, .w = 4, .c = 2, .oh = 4, .ow = 4, .kh = 3, .kw = 3, .sh = 1, .sw = 1,
                    .pad_top = 1, .pad_left = 1, .multiplier = 2};
  fail |= check_status("dw+pw multiplier 2", rt_dwconv2d_pointwise(&ctx, buf, buf, buf, NULL, NULL, &dwp, buf, NULL, 2, 0),
                       RT_ERR_ARG);
  dwp.multiplier = 1;
  RtEpilogue with_res = {.residual = buf};
  fail |= check_status("dw+pw residual in the depthwise part",
                       rt_dwconv2d_pointwise(&ctx, buf, buf, buf, NULL, &with_res, &dwp, buf, NULL, 2, 0), RT_ERR_ARG);
  RtShortcut short_sc = {.in = buf, .h = 3, .w = 8, .c = 2, .sh = 2, .sw = 2}; /* rows 0, 2, 4 of 3 */
  fail |= check_status("dw+pw shortcut past its input",
                       rt_dwconv2d_pointwise_shortcut(&ctx, buf, buf, buf, NULL, NULL, &dwp, &short_sc, buf, NULL, 2, 0),
                       RT_ERR_ARG);
  short_sc.h = 8;
  short_sc.c = 0;
  fail |= check_status("dw+pw shortcut of no channels",
                       rt_dwconv2d_pointwise_shortcut(&ctx, buf, buf, buf, NULL, NULL, &dwp, &short_sc, buf, NULL, 2, 0),
                       RT_ERR_ARG);
  dwp.c = 4096; /* a row of 4 x 4096 floats: past the tile */
  dwp.w = dwp.ow = 5;
  fail |= check_status("dw+pw row past the tile", rt_dwconv2d_pointwise(&ctx, buf, buf, buf, NULL, NULL, &dwp, buf, NULL, 2, 0),
                       RT_ERR_ARG);
  return fail;
}

int main(void) {
  Rng rng;
  rng_seed(&rng, 42);
  int fails = 0;
  for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++)
    for (int threads = 1; threads <= 3; threads++)
      fails += run_conv(&conv_cases[i], threads, WS_FULL, &rng);
  /* Small workspaces: one im2col row per tile, and an odd size. */
  for (size_t i = 0; i < sizeof conv_cases / sizeof conv_cases[0]; i++) {
    fails += run_conv(&conv_cases[i], 2, WS_MIN, &rng);
    fails += run_conv(&conv_cases[i], 3, WS_ODD, &rng);
    fails += run_conv(&conv_cases[i], 2, WS_FLY_ONE, &rng);
    fails += run_conv(&conv_cases[i], 3, WS_FLY_ONE, &rng);
  }
  /* Every activation, with bias and residual: 40 output channels are one
   * whole GEMM panel (the epilogue in registers) and a partial one (the
   * GEMM's and the stem's, act-stem), 20
   * channels a whole depthwise vector and a partial one. */
  for (int a = RT_ACT_LINEAR; a <= RT_ACT_THRESHOLDED_RELU; a++) {
    ConvCase t = {"act", 2, 6, 6, 8, 40, 3, 3, 1, 1, S, S, 1, 0, 0, 0, 1, 1, (RtAct)a};
    fails += run_conv(&t, 2, WS_FULL, &rng);
    ConvCase t1 = {"act-1x1", 2, 6, 6, 8, 40, 1, 1, 1, 1, V, V, 1, 5, 3, 2, 1, 1, (RtAct)a};
    fails += run_conv(&t1, 2, WS_FULL, &rng);
    ConvCase t2 = {"act-stem", 2, 6, 7, 3, 40, 3, 3, 1, 1, S, S, 1, 2, 3, 2, 1, 1, (RtAct)a};
    fails += run_conv(&t2, 2, WS_FULL, &rng);
    DwCase u = {"act", 2, 6, 6, 20, 1, 3, 3, 1, 1, S, S, 0, 0, 0, 1, 1, (RtAct)a};
    fails += run_dw(&u, 2, -1, &rng);
    fails += run_dw(&u, 2, a, &rng); /* the same activation before, too */
    DenseCase v = {"act", 5, 16, 24, 0, 0, 0, 1, 1, (RtAct)a};
    fails += run_dense(&v, 2, &rng);
  }
  for (size_t i = 0; i < sizeof dw_cases / sizeof dw_cases[0]; i++)
    for (int threads = 1; threads <= 3; threads++) {
      fails += run_dw(&dw_cases[i], threads, -1, &rng);
      fails += run_dw(&dw_cases[i], threads, RT_ACT_RELU, &rng);
    }
  for (size_t i = 0; i < sizeof dw_pool_cases / sizeof dw_pool_cases[0]; i++)
    for (int threads = 1; threads <= 3; threads += 2) {
      fails += run_dw_pool(&dw_pool_cases[i], threads, 0, &rng);
      fails += run_dw_pool(&dw_pool_cases[i], threads, 1, &rng);
    }
  for (size_t i = 0; i < sizeof dw_pw_cases / sizeof dw_pw_cases[0]; i++)
    for (int threads = 1; threads <= 3; threads++)
      fails += run_dw_pw(&dw_pw_cases[i], threads, &rng);
  for (size_t i = 0; i < sizeof dense_cases / sizeof dense_cases[0]; i++)
    for (int threads = 1; threads <= 3; threads++)
      fails += run_dense(&dense_cases[i], threads, &rng);
  fails += error_cases();
  if (fails)
    fprintf(stderr, "%d checks FAILED\n", fails);
  else
    printf("all conv/dwconv/dense checks passed\n");
  return fails ? 1 : 0;
}
