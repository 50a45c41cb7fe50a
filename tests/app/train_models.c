/* The hand-written training models of train_models.h: a parameter table,
 * the train section's settings, forward() for inference and train_step()
 * with its gradients written out as plain loops. */
#include "train_models.h"

#include <math.h>
#include <string.h>

/* Keras clips probabilities before the logarithm. */
#define EPS 1e-7

/* probs[out] = softmax(x W + b) for one row, accumulated in double. */
static void softmax_row(float *probs, const float *x, const float *W, const float *b, int in, int out) {
  double z[16], mx = -INFINITY, sum = 0;
  for (int k = 0; k < out; k++) {
    double s = b[k];
    for (int i = 0; i < in; i++)
      s += (double)x[i] * W[i * out + k];
    z[k] = s;
    if (s > mx)
      mx = s;
  }
  for (int k = 0; k < out; k++)
    sum += (z[k] = exp(z[k] - mx));
  for (int k = 0; k < out; k++)
    probs[k] = (float)(z[k] / sum);
}

/* The dense softmax head of both models in training: the loss of the rows
 * x [batch, in] (cross-entropy against int32 labels, or the mean squared
 * error against float targets [batch, out]) and dW, db of its mean. */
static void head_step(float *dW, float *db, const float *W, const float *b, const float *x, int in, int out,
                      const void *targets, int batch, int mse, float *probs, double *loss_sum, int *correct) {
  double loss = 0;
  int right = 0;
  memset(dW, 0, (size_t)in * out * sizeof(float));
  memset(db, 0, (size_t)out * sizeof(float));
  for (int n = 0; n < batch; n++) {
    const float *xn = x + (size_t)n * in;
    float *p = probs + (size_t)n * out;
    softmax_row(p, xn, W, b, in, out);
    int pred = 0;
    for (int k = 1; k < out; k++)
      if (p[k] > p[pred])
        pred = k;
    double dz[16];
    if (mse) {
      const float *t = (const float *)targets + (size_t)n * out;
      double dp[16], dot = 0, e2 = 0;
      int lab = 0;
      for (int k = 0; k < out; k++) {
        e2 += ((double)p[k] - t[k]) * ((double)p[k] - t[k]);
        dp[k] = 2.0 * ((double)p[k] - t[k]) / ((double)batch * out);
        dot += dp[k] * p[k];
        if (t[k] > t[lab])
          lab = k;
      }
      loss += e2 / out;
      right += pred == lab;
      for (int k = 0; k < out; k++)
        dz[k] = p[k] * (dp[k] - dot);
    } else {
      int lab = ((const int32_t *)targets)[n];
      double pl = p[lab] < EPS ? EPS : p[lab] > 1 ? 1 : p[lab];
      loss -= log(pl);
      right += pred == lab;
      for (int k = 0; k < out; k++)
        dz[k] = ((double)p[k] - (k == lab)) / batch;
    }
    for (int k = 0; k < out; k++)
      db[k] += (float)dz[k];
    for (int i = 0; i < in; i++)
      for (int k = 0; k < out; k++)
        dW[i * out + k] += (float)(xn[i] * dz[k]);
  }
  *loss_sum = loss;
  *correct = right;
}

static size_t no_ws(int batch) {
  (void)batch;
  return 0;
}

/* ---- softmax: 784 -> dense(10, softmax) -------------------------------------- */

static const NetcParam softmax_params[] = {
    /* name, rank, shape, offset, count, init, fan_in, fan_out, trainable, decay */
    {"dense.kernel", 2, {784, 10}, 0, 7840, NETC_INIT_GLOROT_UNIFORM, 784, 10, 1, 1},
    {"dense.bias", 1, {10}, 7840, 10, NETC_INIT_ZEROS, 0, 0, 1, 0},
};

static const NetcTrainConfig softmax_train = {
    .optimizer = NETC_OPT_ADAM,
    .lr = 0.01,
    .beta1 = 0.9,
    .beta2 = 0.999,
    .rho = 0.9,
    .epsilon = 1e-7,
    .schedule = NETC_SCHED_CONSTANT,
    .loss = NETC_LOSS_CROSS_ENTROPY,
    .batch = 32,
    .epochs = 2,
    .shuffle = 1,
    .checkpoint = NETC_CKPT_EVERY,
    .checkpoint_every = 1,
};

static void softmax_prepare(float *c, const float *p) {
  memcpy(c, p, 7850 * sizeof(float));
}

static RtStatus softmax_forward(const RtContext *ctx, const float *w, void *arena, float *ws, size_t ws_floats,
                                const float *input, float *output, int batch) {
  for (int n = 0; n < batch; n++)
    softmax_row(output + (size_t)n * 10, input + (size_t)n * 784, w, w + 7840, 784, 10);
  return RT_OK;
}

static RtStatus softmax_step_any(float *params, float *grads, void *arena, const float *input, const void *targets,
                                 int batch, double *loss_sum, int *correct, int mse) {
  head_step(grads, grads + 7840, params, params + 7840, input, 784, 10, targets, batch, mse, (float *)arena,
            loss_sum, correct);
  return RT_OK;
}

static RtStatus softmax_step(const RtContext *ctx, float *params, float *grads, void *arena, float *ws,
                             size_t ws_floats, const float *input, const void *targets, int batch, uint64_t seed,
                             double *loss_sum, int *correct) {
  return softmax_step_any(params, grads, arena, input, targets, batch, loss_sum, correct, 0);
}

RtStatus test_softmax_step_mse(const RtContext *ctx, float *params, float *grads, void *arena, float *ws,
                               size_t ws_floats, const float *input, const void *targets, int batch, uint64_t seed,
                               double *loss_sum, int *correct) {
  return softmax_step_any(params, grads, arena, input, targets, batch, loss_sum, correct, 1);
}

const NetcModel netc_test_softmax = {
    .name = "test_softmax",
    .source = "tests/app/train_models.c",
    .netc_version = "0.1.0",
    .input_rank = 1,
    .input_shape = {784},
    .output_rank = 1,
    .output_shape = {10},
    .input_size = 784,
    .output_size = 10,
    .params = softmax_params,
    .num_params = 2,
    .param_floats = 7850,
    .compute_floats = 7850,
    .total_params = 7850,
    .trainable_params = 7850,
    .macs_per_image = 7840,
    .arena_bytes_per_image = 0,
    .prepare = softmax_prepare,
    .workspace_floats = no_ws,
    .forward = softmax_forward,
    .normalize = NETC_NORM_SCALE,
    .data = NETC_DATA_FASHION_MNIST,
    .train = &softmax_train,
    .train_arena_bytes_per_image = 10 * sizeof(float),
    .train_workspace_floats = no_ws,
    .train_step = softmax_step,
    .source_hash = "0123456789abcdef",
};

/* ---- bnnet: 8x8x1 -> centre (moving mean) -> dropout -> dense(3, softmax) ----- */

enum { BN_IN = 64, BN_OUT = 3, BN_W = 64, BN_B = 256, BN_PARAMS = 259 };
#define BN_MOMENTUM 0.9f
#define BN_RATE 0.25f

static const NetcParam bnnet_params[] = {
    {"centre.moving_mean", 3, {8, 8, 1}, 0, 64, NETC_INIT_ZEROS, 0, 0, 0, 0},
    {"out.kernel", 2, {64, 3}, BN_W, 192, NETC_INIT_GLOROT_UNIFORM, 64, 3, 1, 1},
    {"out.bias", 1, {3}, BN_B, 3, NETC_INIT_ZEROS, 0, 0, 1, 0},
};

static const NetcTrainConfig bnnet_train = {
    .optimizer = NETC_OPT_SGD,
    .lr = 0.05,
    .momentum = 0.9,
    .nesterov = 1,
    .beta1 = 0.9,
    .beta2 = 0.999,
    .rho = 0.9,
    .epsilon = 1e-7,
    .weight_decay = 1e-4,
    .schedule = NETC_SCHED_STEP,
    .nsteps = 1,
    .step_epoch = {1},
    .step_factor = {0.5},
    .loss = NETC_LOSS_CROSS_ENTROPY,
    .batch = 16,
    .epochs = 3,
    .validation = 0.25,
    .shuffle = 1,
    .seed = 5,
    .naugment = 3,
    .augment = {{NETC_AUG_HFLIP, 0}, {NETC_AUG_SHIFT, 0.125}, {NETC_AUG_ROTATE, 10}},
    .checkpoint = NETC_CKPT_BEST,
    .checkpoint_metric = "val_acc",
};

static void bnnet_prepare(float *c, const float *p) {
  memcpy(c, p, BN_PARAMS * sizeof(float));
}

static RtStatus bnnet_forward(const RtContext *ctx, const float *w, void *arena, float *ws, size_t ws_floats,
                              const float *input, float *output, int batch) {
  float h[BN_IN];
  for (int n = 0; n < batch; n++) {
    for (int j = 0; j < BN_IN; j++)
      h[j] = input[(size_t)n * BN_IN + j] - w[j];
    softmax_row(output + (size_t)n * BN_OUT, h, w + BN_W, w + BN_B, BN_IN, BN_OUT);
  }
  return RT_OK;
}

/* Keeps element i of the dropout draw of seed with probability 1 - rate. */
static int keep(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return (double)(z >> 11) * (1.0 / 9007199254740992.0) >= BN_RATE;
}

static RtStatus bnnet_step_any(float *params, float *grads, void *arena, const float *input, const void *targets,
                               int batch, uint64_t seed, double *loss_sum, int *correct, int mse) {
  float *h = (float *)arena;                  /* [batch, 64] */
  float *probs = h + (size_t)batch * BN_IN;   /* [batch, 3] */
  /* Centre on the batch mean; the moving mean follows it, as batch norm's. */
  for (int j = 0; j < BN_IN; j++) {
    double m = 0;
    for (int n = 0; n < batch; n++)
      m += input[(size_t)n * BN_IN + j];
    m /= batch;
    for (int n = 0; n < batch; n++) {
      size_t i = (size_t)n * BN_IN + j;
      h[i] = keep(seed, i) ? (float)((input[i] - m) / (1.0 - BN_RATE)) : 0.0f;
    }
    params[j] = params[j] * BN_MOMENTUM + (float)m * (1.0f - BN_MOMENTUM);
  }
  memset(grads, 0, BN_IN * sizeof(float));
  head_step(grads + BN_W, grads + BN_B, params + BN_W, params + BN_B, h, BN_IN, BN_OUT, targets, batch, mse, probs,
            loss_sum, correct);
  return RT_OK;
}

static RtStatus bnnet_step(const RtContext *ctx, float *params, float *grads, void *arena, float *ws,
                           size_t ws_floats, const float *input, const void *targets, int batch, uint64_t seed,
                           double *loss_sum, int *correct) {
  return bnnet_step_any(params, grads, arena, input, targets, batch, seed, loss_sum, correct, 0);
}

RtStatus test_bnnet_step_mse(const RtContext *ctx, float *params, float *grads, void *arena, float *ws,
                             size_t ws_floats, const float *input, const void *targets, int batch, uint64_t seed,
                             double *loss_sum, int *correct) {
  return bnnet_step_any(params, grads, arena, input, targets, batch, seed, loss_sum, correct, 1);
}

const NetcModel netc_test_bnnet = {
    .name = "test_bnnet",
    .source = "tests/app/train_models.c",
    .netc_version = "0.1.0",
    .input_rank = 3,
    .input_shape = {8, 8, 1},
    .output_rank = 1,
    .output_shape = {3},
    .input_size = 64,
    .output_size = 3,
    .params = bnnet_params,
    .num_params = 3,
    .param_floats = BN_PARAMS,
    .compute_floats = BN_PARAMS,
    .total_params = BN_PARAMS,
    .trainable_params = 195,
    .macs_per_image = 192,
    .arena_bytes_per_image = 0,
    .prepare = bnnet_prepare,
    .workspace_floats = no_ws,
    .forward = bnnet_forward,
    .normalize = NETC_NORM_STANDARDIZE,
    .data = NETC_DATA_NONE,
    .train = &bnnet_train,
    .train_arena_bytes_per_image = (BN_IN + BN_OUT) * sizeof(float),
    .train_workspace_floats = no_ws,
    .train_step = bnnet_step,
    .source_hash = "fedcba9876543210",
};

const NetcModel *test_train_model_by_name(const char *name) {
  if (!strcmp(name, "softmax"))
    return &netc_test_softmax;
  if (!strcmp(name, "bnnet"))
    return &netc_test_bnnet;
  return NULL;
}
