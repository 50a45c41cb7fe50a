/* Private declarations shared by the files of netcapp, the driver library
 * behind a `netc build` executable. One section per source file:
 *   app_main.c     command dispatch, flag parsing, help texts, `summary`
 *   app_net.c      the random stream, `init` values, weights checks, the
 *                  buffers one forward() needs, pixel normalization
 *   app_init.c     `init`
 *   app_predict.c  `predict`
 *   app_eval.c     `eval`
 *   app_bench.c    `bench`
 *   app_train.c    `train`: the loop, the learning rate, progress and log
 *   app_data.c     training data: IDX, CIFAR-10, PNG folders; inputs
 *   app_augment.c  random flips, shifts and rotations of training images
 *   app_ckpt.c     checkpoints and the trained weights file
 *   app_plot.c     the SVG of the training curves
 */
#ifndef NETC_APP_INTERNAL_H
#define NETC_APP_INTERNAL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "netc/app.h"

/* Exit codes (see netc/app.h). */
enum {
  APP_EXIT_OK = 0,       /* success */
  APP_EXIT_DATA = 1,     /* bad data, weights, or a failed kernel */
  APP_EXIT_USAGE = 2,    /* bad command line */
  APP_EXIT_INTERNAL = 3, /* the NetcModel descriptor is inconsistent */
};

/* Largest batch any command accepts: keeps arena sizes far from overflow. */
#define APP_MAX_BATCH 65536

/* Names of the tensors holding NETC_NORM_STANDARDIZE statistics (input
 * shape each), read from the weights file unless the model lists them as
 * parameters of its own. */
#define APP_NORM_MEAN "normalize.mean"
#define APP_NORM_STD "normalize.std"

/* ---- app_main.c ----------------------------------------------------------- */

/* The subcommands. */
typedef enum AppCmd {
  CMD_PREDICT, /* classify an image or an .npy batch */
  CMD_EVAL,    /* accuracy on a labelled set */
  CMD_INIT,    /* write Keras-default initial weights */
  CMD_BENCH,   /* time forward() */
  CMD_SUMMARY, /* print the model's report */
  CMD_TRAIN,   /* train the network */
  CMD_COUNT_,  /* number of commands; not a command */
} AppCmd;

/* The parsed command line; strings point into argv. */
typedef struct AppArgs {
  const char *prog;     /* basename of argv[0], for messages */
  const char *cmd_name; /* "predict", ... */
  AppCmd cmd;
  const char *input;    /* predict's positional INPUT */
  const char *weights;  /* --weights */
  const char *output;   /* --output / -o */
  const char *data;     /* --data */
  const char *labels;   /* --labels */
  int top;              /* --top (predict), default 5 */
  int batch;            /* --batch; 0 when not given */
  int limit;            /* --limit (eval); 0 when not given */
  int threads;          /* --threads; 0: the OpenMP default */
  int runs, warmup;     /* bench; warmup -1 when not given */
  uint64_t seed;        /* --seed */
  bool json;            /* bench --json */
  bool layers;          /* bench --layers */
  bool seed_given;
  /* train */
  int epochs;                 /* --epochs; 0 when not given */
  double lr;                  /* --lr; 0 when not given */
  double validation;          /* --validation; -1 when not given */
  bool validate_on_test;      /* --validate-on-test */
  const char *resume;         /* --resume CKPT */
  const char *checkpoint_dir; /* --checkpoint-dir */
  const char *log;            /* --log CSV */
  const char *plot;           /* --plot SVG */
  bool quiet;                 /* --quiet */
} AppArgs;

/* Prints "PROG CMD: error: MESSAGE" to stderr and returns code. */
int app_fail(const AppArgs *a, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* The same with "warning:"; no return value. */
void app_warn(const AppArgs *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/* ---- app_net.c ------------------------------------------------------------ */

/* splitmix64 (Steele, Lea, Flood 2014; the seeding generator of
 * xoshiro): one 64-bit state, deterministic on every machine. */
uint64_t app_rng_next(uint64_t *state);
/* A uniform double in [0, 1) from the top 53 bits of the next value. */
double app_rng_uniform(uint64_t *state);

/* Fills params[0 .. m->param_floats) with Keras' initial values: each
 * tensor from its own splitmix64 stream seeded with seed ^ FNV-1a(name), so
 * a tensor's values depend only on the seed and its name. */
void app_init_params(const NetcModel *m, uint64_t seed, float *params);

/* Checks the descriptor itself (offsets inside the block, counts matching
 * shapes, sizes non-zero). Returns APP_EXIT_OK or prints and returns
 * APP_EXIT_INTERNAL. */
int app_check_model(const AppArgs *a, const NetcModel *m);

/* The buffers that running a model needs; everything is owned here and
 * freed by app_net_free(). */
typedef struct AppNet {
  const NetcModel *m;
  RtContext ctx;
  float *params;     /* param_floats, Keras tensors */
  float *compute;    /* compute_floats, after prepare() */
  float *norm_mean;  /* input_size each, NETC_NORM_STANDARDIZE only; */
  float *norm_std;   /*   owned unless they point into params */
  bool norm_owned;
  void *arena;       /* arena_bytes_per_image * cap, 64-byte aligned */
  float *ws;         /* workspace_floats(cap) */
  size_t ws_floats;
  int cap;           /* the batch the arena and workspace were sized for */
} AppNet;

/* Zeroes net, allocates params and compute for m, with ctx.num_threads =
 * a->threads. Returns an exit code (prints on failure). */
int app_net_new(const AppArgs *a, const NetcModel *m, AppNet *net);
void app_net_free(AppNet *net);

/* Reads and checks every parameter of the weights file at path into
 * net->params: each NetcParam must be there, F32, with its shape; tensors
 * the model does not use are errors too. Every problem is printed (not
 * only the first). Returns an exit code. */
int app_net_load_weights(const AppArgs *a, AppNet *net, const char *path);
/* Random weights (app_init_params with seed) instead of a file. */
int app_net_random_weights(const AppArgs *a, AppNet *net, uint64_t seed);
/* Runs prepare() (after one of the two above). */
void app_net_prepare(AppNet *net);
/* Sizes the arena and workspace for batches up to cap. Exit code. */
int app_net_reserve(const AppArgs *a, AppNet *net, int cap);
/* forward() on n <= cap images. Exit code (prints on a kernel error). */
int app_net_forward(const AppArgs *a, AppNet *net, const float *in, float *out, int n);

/* Turns one image of pixel values in [0, 1] (input_size floats, the
 * model's layout) into the network's input per m->normalize. */
void app_normalize(const AppNet *net, float *x);

/* The model's input as an image: h, w, c from a rank-3 input, or a square
 * gray (s*s) or RGB (3*s*s) vector. False when the input is no image. */
bool app_input_image_shape(const NetcModel *m, int *h, int *w, int *c);

/* True when out[0..n) looks like a probability vector: finite values in
 * [0, 1] summing to 1 within 1e-3. */
bool app_is_probability(const float *out, size_t n);

/* "28x28x1" / "784": the model's input shape, into buf. */
const char *app_shape_str(char *buf, size_t cap, int rank, const int *shape);

/* app_blas.c: when OpenBLAS picked kernels narrower than this CPU's vectors
 * (rt_blas_better_coretype) and OPENBLAS_CORETYPE is not set, sets it and
 * starts this program again with the same argv; returns where there is
 * nothing to do or the restart failed. Call before anything is printed. */
void app_blas_restart(char **argv);

/* ---- commands --------------------------------------------------------------- */

int app_cmd_init(const AppArgs *a, const NetcModel *m);
int app_cmd_predict(const AppArgs *a, const NetcModel *m);
int app_cmd_eval(const AppArgs *a, const NetcModel *m);
int app_cmd_bench(const AppArgs *a, const NetcModel *m);
int app_cmd_train(const AppArgs *a, const NetcModel *m);

/* ---- app_data.c ------------------------------------------------------------ */

enum { APP_PATH_CAP = 4096 };

/* app_paths.c: data files on disk. */
bool app_is_dir(const char *p);
bool app_is_file(const char *p);
/* dir/name or dir/name.gz, whichever exists, into out (APP_PATH_CAP). */
bool app_find_plain_or_gz(char *out, const char *dir, const char *name);
/* The labels file next to an IDX images file: its name with "images-idx3"
 * (or "images") turned into "labels-idx1" (or "labels"), if it exists. */
bool app_idx_labels_for(char *out, const char *images);

/* The data `train` reads: the training set and, when there is one, the test
 * set, as bytes at their own size (a PNG folder is stored at the model's). */
typedef struct AppData {
  RtDataset train;
  RtDataset test;                 /* n == 0: no test split */
  const char *kind;               /* "IDX", "CIFAR-10", "PNG folder" */
  char path[APP_PATH_CAP];        /* what messages name */
  char test_path[APP_PATH_CAP];
  char labels_path[APP_PATH_CAP]; /* IDX: the training labels file */
} AppData;

/* Finds and loads the training data: --data, else the model's data set,
 * else Fashion-MNIST for a 28x28x1 input; the test split beside it (IDX
 * t10k-*, CIFAR-10 test_batch.bin, a PNG folder's test/ beside train/).
 * Checks the images fit the model's input and the labels its outputs.
 * Exit code; d is empty on failure. */
int app_data_load(const AppArgs *a, const NetcModel *m, AppData *d);
void app_data_free(AppData *d);

/* Image i of ds as the model's input in [0, 1] (reshaped, or converted
 * and resized as eval does), before normalization. tmp holds
 * rt_dataset_image_bytes(ds) floats. Exit code. */
int app_data_image(const AppArgs *a, const NetcModel *m, const RtDataset *ds, size_t i, float *x, float *tmp);

/* ---- app_augment.c --------------------------------------------------------- */

/* Applies cfg's augmentations to one image of pixel values (h x w x c,
 * HWC), drawing from rng: a horizontal flip with probability 1/2, a shift
 * of up to amount * size whole pixels each way, a rotation by an angle
 * uniform in [-deg, deg] about the centre with bilinear sampling; what
 * comes from outside the image is 0. tmp holds h*w*c floats. */
void app_augment(const NetcTrainConfig *cfg, float *img, float *tmp, int h, int w, int c, uint64_t *rng);

/* ---- app_ckpt.c ------------------------------------------------------------ */

/* Columns of a training history row. */
enum { HIST_LR, HIST_LOSS, HIST_ACC, HIST_VAL_LOSS, HIST_VAL_ACC, HIST_COLS };

/* Everything a run of `train` carries from epoch to epoch: what a
 * checkpoint holds. */
typedef struct AppTrain {
  const NetcModel *m;
  NetcTrainConfig cfg;  /* model->train with the flags applied */
  AppNet net;           /* params (Keras tensors), norm stats, inference buffers */
  float *grads;         /* param_floats */
  float *opt1, *opt2;   /* optimizer state, param_floats each: sgd velocity |
                           adam m, v | rmsprop mean square | adagrad sum */
  int64_t epoch;        /* epochs completed */
  int64_t step;         /* optimizer steps taken (Adam's t) */
  uint64_t seed;        /* every random draw derives from it (see app_train.c) */
  double best;          /* best value of the checkpoint metric; NaN: none yet */
  double *hist;         /* [epoch][HIST_COLS]; NaN where there is no validation */
  int hist_cap;
  long long ckpt_batch, ckpt_images; /* a resumed checkpoint's batch and training
                                        images (0: unknown), for a warning */
} AppTrain;

/* The name of an optimizer ("sgd", "adam", "rmsprop", "adagrad"). */
const char *app_optimizer_name(NetcOptimizer o);

/* Writes the weights (Keras names, normalize.* for standardize) and
 * metadata to path, atomically; with state, also the optimizer state,
 * epoch, step, seed, best metric and history: a checkpoint. batch and
 * images (the training part's size) go into the metadata. Exit code. */
int app_ckpt_write(const AppArgs *a, const AppTrain *t, const char *path, bool state, int batch, size_t images);

/* Reads a checkpoint written for this model (same source hash, optimizer
 * and shapes) into t: weights, optimizer state, counters, history. Every
 * problem is printed. Exit code. */
int app_ckpt_read(const AppArgs *a, AppTrain *t, const char *path);

/* ---- app_plot.c ------------------------------------------------------------ */

/* Writes the loss and accuracy curves of hist (n epochs; validation
 * columns when has_val) as a standalone SVG, atomically. Exit code. */
int app_plot_write(const AppArgs *a, const char *path, const char *title, const double *hist, int n,
                   bool has_val);

#endif /* NETC_APP_INTERNAL_H */
