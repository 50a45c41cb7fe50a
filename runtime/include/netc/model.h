/* netc/model.h: what `netc emit --target c` generates for a network, as seen
 * by the code that runs it (the `netc build` executable's driver, or a user's
 * own program).
 *
 * A model has two weight blocks:
 *  - the *parameters*: the Keras tensors, as stored in a safetensors file
 *    (`<layer>.kernel`, `<layer>.bias`, `<layer>.gamma`, ...), each at an
 *    offset of one float block, in Keras layouts;
 *  - the *compute weights*: what the kernels read, made once from the
 *    parameters by prepare() (batch norm folded into the preceding layer,
 *    missing biases as zeros, BN as per-channel scale and shift).
 * Activations live in one arena of arena_bytes_per_image * batch bytes,
 * planned at compile time: every tensor has a fixed offset (per image, times
 * the batch), so forward() allocates nothing.
 *
 * The generated code keeps no global mutable state: everything it writes is
 * passed in. Several models and several threads can share one process. */
#ifndef NETC_MODEL_H
#define NETC_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "netc/kernels.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How `model init` fills a parameter (Keras defaults). */
typedef enum NetcInit {
  NETC_INIT_ZEROS,          /* biases, beta, moving mean, PReLU alpha */
  NETC_INIT_ONES,           /* gamma, moving variance */
  NETC_INIT_GLOROT_UNIFORM, /* kernels: U(-l, l), l = sqrt(6 / (fan_in + fan_out)) */
} NetcInit;

/* One Keras tensor of the weights file. */
typedef struct NetcParam {
  const char *name;     /* "conv_1.kernel" */
  int rank;
  int shape[4];         /* Keras layout */
  size_t offset;        /* in floats, into the parameter block */
  size_t count;         /* product of shape */
  NetcInit init;
  int fan_in, fan_out;  /* for NETC_INIT_GLOROT_UNIFORM */
  int trainable;        /* 0 for BN moving statistics */
  int decay;            /* 1: weight decay applies (kernels; not biases, BN, PReLU) */
} NetcParam;

/* How raw pixels (0..255) become the network's input, from the `train`
 * section's `normalize` (scale when it has none). */
typedef enum NetcNormalize {
  NETC_NORM_SCALE,        /* x / 255 */
  NETC_NORM_NONE,         /* x */
  NETC_NORM_SYMMETRIC,    /* x / 127.5 - 1 (the book's [-1, 1]) */
  NETC_NORM_STANDARDIZE,  /* (x - mean) / std per pixel, statistics in the weights file */
} NetcNormalize;

/* The data set named by the `train` section, the default of `eval`/`train`. */
typedef enum NetcData {
  NETC_DATA_NONE,
  NETC_DATA_MNIST,          /* IDX files in data_path */
  NETC_DATA_FASHION_MNIST,  /* IDX files in data_path, default /usr/share/datasets/fashion-mnist */
  NETC_DATA_CIFAR10,        /* CIFAR-10 binary batches in data_path */
  NETC_DATA_IDX,            /* data_path: images file, data_path2: labels file */
  NETC_DATA_FOLDER,         /* PNGs in one sub-folder per class */
} NetcData;

/* ---- Training -------------------------------------------------------------- */

typedef enum NetcLoss { NETC_LOSS_CROSS_ENTROPY, NETC_LOSS_MSE } NetcLoss;
typedef enum NetcOptimizer { NETC_OPT_SGD, NETC_OPT_ADAM, NETC_OPT_RMSPROP, NETC_OPT_ADAGRAD } NetcOptimizer;
typedef enum NetcSchedule { NETC_SCHED_CONSTANT, NETC_SCHED_STEP, NETC_SCHED_COSINE } NetcSchedule;
typedef enum NetcAugmentKind { NETC_AUG_HFLIP, NETC_AUG_SHIFT, NETC_AUG_ROTATE } NetcAugmentKind;
typedef enum NetcCheckpoint { NETC_CKPT_NONE, NETC_CKPT_BEST, NETC_CKPT_EVERY } NetcCheckpoint;

#define NETC_MAX_STEPS 16
#define NETC_MAX_AUGMENT 8

/* The `train` section of the .net file, with Keras' defaults for what it
 * leaves out; the executable's flags override it. */
typedef struct NetcTrainConfig {
  NetcOptimizer optimizer;
  double lr;                   /* initial learning rate (the schedule's lr0 if it names one) */
  double momentum;             /* sgd */
  int nesterov;                /* sgd */
  double beta1, beta2;         /* adam */
  double rho;                  /* rmsprop */
  double epsilon;              /* adam, rmsprop, adagrad */
  double weight_decay;         /* L2 factor on kernels: loss += wd * sum(w^2) */
  NetcSchedule schedule;
  int nsteps;                  /* step: for epoch index e > step_epoch[i], lr = lr0 * step_factor[i] (largest i) */
  int step_epoch[NETC_MAX_STEPS];
  double step_factor[NETC_MAX_STEPS];
  int cosine_epochs;           /* cosine: period in epochs (0: all epochs) */
  NetcLoss loss;
  int batch, epochs;
  double validation;           /* fraction of the training set held out (0: none) */
  int validate_on_test;        /* validate on the test split instead (Keras' validation_data) */
  int shuffle;
  uint64_t seed;
  int naugment;
  struct {
    NetcAugmentKind kind;
    double amount;             /* shift: fraction of the size; rotate: degrees */
  } augment[NETC_MAX_AUGMENT];
  NetcCheckpoint checkpoint;
  const char *checkpoint_metric;  /* best: "val_acc", "val_loss", "acc", "loss" */
  int checkpoint_every;           /* every: epochs */
} NetcTrainConfig;

typedef struct NetcModel {
  const char *name;          /* the network's name in the .net file */
  const char *source;        /* the .net file it was compiled from */
  const char *netc_version;

  /* The first input and first output, without the batch dimension (NHWC);
   * `rank` 1 for a vector, 3 for an image. */
  int input_rank, input_shape[3];
  int output_rank, output_shape[3];
  size_t input_size, output_size;  /* floats per image */

  const NetcParam *params;
  int num_params;
  size_t param_floats;             /* size of the parameter block */
  size_t compute_floats;           /* size of the compute-weight block */
  int64_t total_params, trainable_params;
  int64_t macs_per_image;          /* the report's MACs at batch 1 */

  size_t arena_bytes_per_image;    /* the planned arena, per image */
  size_t naive_bytes_per_image;    /* every tensor its own buffer, for comparison */

  /* Fills compute[0 .. compute_floats) from params[0 .. param_floats). */
  void (*prepare)(float *compute, const float *params);

  /* Floats of scratch forward() needs at this batch size (im2col tiles). */
  size_t (*workspace_floats)(int batch);

  /* Runs the network on `batch` images: input [batch, input_size] ->
   * output [batch, output_size]. arena holds arena_bytes_per_image * batch
   * bytes, 64-byte aligned; ws holds workspace_floats(batch) floats.
   * input is read in place and never written, output may be written
   * before the last layer: the two must not overlap each other or the
   * arena. Returns RT_OK, or the first kernel's error status. */
  RtStatus (*forward)(const RtContext *ctx, const float *compute, void *arena, float *ws, size_t ws_floats,
                      const float *input, float *output, int batch);

  const char *summary;             /* the text of `netc report` */

  /* forward()'s layers after the inference passes (folded and fused ones
   * are gone), in the order it runs them; RtContext.layer_done reports
   * their indices. */
  const char *const *layer_names;
  /* Each layer's MACs per image, those of the layers fused into it
   * included (a depthwise conv run before a 1x1, a shortcut conv in its
   * GEMM); they sum to macs_per_image unless dead layers were removed. */
  const int64_t *layer_macs;
  /* forward() runs larger batches in even chunks of at most this many
   * images (0: whole), so that activations stay in cache. */
  int batch_chunk;
  int num_layers;

  NetcNormalize normalize;
  NetcData data;                   /* from `train { data = ... }` */
  const char *data_path;           /* NULL: the data set's default */
  const char *data_path2;

  /* Training. The step works on the Keras tensors directly (no folding):
   * forward in training mode (batch norm on batch statistics, its moving
   * averages updated in `params`; dropout masks drawn from `seed`), the
   * loss, then every gradient into grads[0 .. param_floats), overwritten.
   * targets: int32 class labels [batch] for cross-entropy, float
   * [batch, output_size] for mse. Returns the loss summed over the batch
   * and the number of correct predictions (cross-entropy). */
  const NetcTrainConfig *train;    /* the train section's settings (defaults if absent) */
  size_t train_arena_bytes_per_image;
  size_t (*train_workspace_floats)(int batch);
  RtStatus (*train_step)(const RtContext *ctx, float *params, float *grads, void *arena, float *ws,
                         size_t ws_floats, const float *input, const void *targets, int batch, uint64_t seed,
                         double *loss_sum, int *correct);
  const char *source_hash;         /* FNV-1a 64 of the .net text, hex: checkpoints name it */
} NetcModel;

#ifdef __cplusplus
}
#endif

#endif /* NETC_MODEL_H */
