/* The hand-written models of app_models.h, written the way the emitter is
 * meant to write them: a parameter table, prepare() that folds batch norm,
 * forward() as a straight run of kernel calls on a planned arena. */
#include "app_models.h"

#include <string.h>

/* ---- dense: 784 -> dense(10, softmax) --------------------------------------- */

static const NetcParam dense_params[] = {
    /* name, rank, shape, offset, count, init, fan_in, fan_out, trainable */
    {"dense.kernel", 2, {784, 10}, 0, 7840, NETC_INIT_GLOROT_UNIFORM, 784, 10, 1, 1},
    {"dense.bias", 1, {10}, 7840, 10, NETC_INIT_ZEROS, 0, 0, 1, 0},
};

static void dense_prepare(float *compute, const float *params) {
  memcpy(compute, params, 7850 * sizeof(float));
}

static size_t dense_ws(int batch) {
  (void)batch;
  return 0;
}

static RtStatus dense_forward(const RtContext *ctx, const float *w, void *arena, float *ws, size_t ws_floats,
                              const float *input, float *output, int batch) {
  float *logits = (float *)arena; /* [batch, 10] at offset 0 */
  RtEpilogue ep = {.bias = w + 7840};
  RtDense d = {.rows = batch, .in = 784, .out = 10};
  RtStatus s = rt_dense(ctx, logits, input, w, &ep, &d);
  if (s)
    return s;
  RtEltwise e = {.n = batch, .h = 1, .w = 1, .c = 10};
  return rt_softmax(ctx, output, logits, &e);
}

const NetcModel netc_test_dense = {
    .name = "test_dense",
    .source = "tests/app/app_models.c",
    .netc_version = "0.1.0",
    .input_rank = 1,
    .input_shape = {784},
    .output_rank = 1,
    .output_shape = {10},
    .input_size = 784,
    .output_size = 10,
    .params = dense_params,
    .num_params = 2,
    .param_floats = 7850,
    .compute_floats = 7850,
    .total_params = 7850,
    .trainable_params = 7850,
    .macs_per_image = 7840,
    .arena_bytes_per_image = 40,
    .naive_bytes_per_image = 80,
    .prepare = dense_prepare,
    .workspace_floats = dense_ws,
    .forward = dense_forward,
    .summary = "test_dense: dense 784 -> 10, softmax\nTotal params: 7,850\n",
    .normalize = NETC_NORM_SCALE,
    .data = NETC_DATA_FASHION_MNIST,
};

/* ---- conv: 8x8x3 -> conv 3x3x4 same -> bn -> relu -> gap -> dense(3) -------- */

static const NetcParam conv_params[] = {
    {"conv.kernel", 4, {3, 3, 3, 4}, 0, 108, NETC_INIT_GLOROT_UNIFORM, 27, 36, 1, 1},
    {"conv.bias", 1, {4}, 108, 4, NETC_INIT_ZEROS, 0, 0, 1, 0},
    {"bn.gamma", 1, {4}, 112, 4, NETC_INIT_ONES, 0, 0, 1, 0},
    {"bn.beta", 1, {4}, 116, 4, NETC_INIT_ZEROS, 0, 0, 1, 0},
    {"bn.moving_mean", 1, {4}, 120, 4, NETC_INIT_ZEROS, 0, 0, 0, 0},
    {"bn.moving_variance", 1, {4}, 124, 4, NETC_INIT_ONES, 0, 0, 0, 0},
    {"dense.kernel", 2, {4, 3}, 128, 12, NETC_INIT_GLOROT_UNIFORM, 4, 3, 1, 1},
    {"dense.bias", 1, {3}, 140, 3, NETC_INIT_ZEROS, 0, 0, 1, 0},
};

/* compute: conv kernel [0,108) and bias [108,112) with bn folded in,
 * dense kernel [112,124) and bias [124,127). */
static void conv_prepare(float *c, const float *p) {
  float scale[4], shift[4];
  memcpy(c, p, 112 * sizeof(float));
  rt_bn_fold(scale, shift, p + 112, p + 116, p + 120, p + 124, 1e-3f, 4);
  rt_fold_affine(c, c + 108, scale, shift, 27, 4);
  memcpy(c + 112, p + 128, 15 * sizeof(float));
}

static RtConv2d conv_desc(int batch) {
  RtConv2d d = {.n = batch, .h = 8, .w = 8, .c = 3, .oh = 8, .ow = 8, .oc = 4,
                .kh = 3, .kw = 3, .sh = 1, .sw = 1, .pad_top = 1, .pad_left = 1};
  return d;
}

static size_t conv_ws(int batch) {
  RtConv2d d = conv_desc(batch);
  return rt_conv2d_workspace_floats(&d);
}

static RtStatus conv_forward(const RtContext *ctx, const float *w, void *arena, float *ws, size_t ws_floats,
                             const float *input, float *output, int batch) {
  float *a = (float *)arena;
  float *act = a;                        /* [batch, 8, 8, 4] */
  float *pooled = a + (size_t)batch * 256; /* [batch, 4] */
  float *logits = pooled + (size_t)batch * 4; /* [batch, 3] */
  RtConv2d cd = conv_desc(batch);
  RtEpilogue cep = {.bias = w + 108, .act = RT_ACT_RELU};
  RtStatus s = rt_conv2d(ctx, act, input, w, &cep, &cd, ws, ws_floats);
  if (s)
    return s;
  RtEltwise g = {.n = batch, .h = 8, .w = 8, .c = 4};
  if ((s = rt_global_avgpool(ctx, pooled, act, &g)))
    return s;
  RtEpilogue dep = {.bias = w + 124};
  RtDense dd = {.rows = batch, .in = 4, .out = 3};
  if ((s = rt_dense(ctx, logits, pooled, w + 112, &dep, &dd)))
    return s;
  RtEltwise e = {.n = batch, .h = 1, .w = 1, .c = 3};
  return rt_softmax(ctx, output, logits, &e);
}

const NetcModel netc_test_conv = {
    .name = "test_conv",
    .source = "tests/app/app_models.c",
    .netc_version = "0.1.0",
    .input_rank = 3,
    .input_shape = {8, 8, 3},
    .output_rank = 1,
    .output_shape = {3},
    .input_size = 192,
    .output_size = 3,
    .params = conv_params,
    .num_params = 8,
    .param_floats = 143,
    .compute_floats = 127,
    .total_params = 143,
    .trainable_params = 135,
    .macs_per_image = 6924,
    .arena_bytes_per_image = (256 + 4 + 3) * 4,
    .naive_bytes_per_image = (192 + 256 + 4 + 3 + 3) * 4,
    .prepare = conv_prepare,
    .workspace_floats = conv_ws,
    .forward = conv_forward,
    .summary = NULL,
    .normalize = NETC_NORM_SYMMETRIC,
    .data = NETC_DATA_NONE,
};

/* ---- linear: 4 -> dense(3), no activation ------------------------------------ */

static const NetcParam linear_params[] = {
    {"out.kernel", 2, {4, 3}, 0, 12, NETC_INIT_GLOROT_UNIFORM, 4, 3, 1, 1},
    {"out.bias", 1, {3}, 12, 3, NETC_INIT_ZEROS, 0, 0, 1, 0},
};

static void linear_prepare(float *c, const float *p) {
  memcpy(c, p, 15 * sizeof(float));
}

static RtStatus linear_forward(const RtContext *ctx, const float *w, void *arena, float *ws, size_t ws_floats,
                               const float *input, float *output, int batch) {
  RtEpilogue ep = {.bias = w + 12};
  RtDense d = {.rows = batch, .in = 4, .out = 3};
  return rt_dense(ctx, output, input, w, &ep, &d);
}

const NetcModel netc_test_linear = {
    .name = "test_linear",
    .source = "tests/app/app_models.c",
    .netc_version = "0.1.0",
    .input_rank = 1,
    .input_shape = {4},
    .output_rank = 1,
    .output_shape = {3},
    .input_size = 4,
    .output_size = 3,
    .params = linear_params,
    .num_params = 2,
    .param_floats = 15,
    .compute_floats = 15,
    .total_params = 15,
    .trainable_params = 15,
    .macs_per_image = 12,
    .arena_bytes_per_image = 0,
    .naive_bytes_per_image = 28,
    .prepare = linear_prepare,
    .workspace_floats = dense_ws,
    .forward = linear_forward,
    .summary = "test_linear: dense 4 -> 3\n",
    .normalize = NETC_NORM_STANDARDIZE,
    .data = NETC_DATA_NONE,
};

const NetcModel *test_model_by_name(const char *name) {
  if (!strcmp(name, "dense"))
    return &netc_test_dense;
  if (!strcmp(name, "conv"))
    return &netc_test_conv;
  if (!strcmp(name, "linear"))
    return &netc_test_linear;
  return NULL;
}
