/* app_train.c: `train`, the training loop of a `netc build` executable.
 *
 * Per epoch: shuffle the training part, then for each batch (the last one
 * may be smaller, as in Keras) make the inputs (augmented, normalized),
 * run the model's train_step (forward in training mode, loss, gradients;
 * batch norm's moving statistics are updated inside it), then the
 * optimizer on every trainable tensor at the schedule's learning rate.
 * After the epoch: the validation set through the inference forward(),
 * the progress line, the CSV log, the plot, the checkpoint.
 *
 * Every random draw derives from (seed, stream, epoch, index): the shuffle
 * of epoch e, the augmentation of the i-th image of epoch e, the dropout
 * seed of step s of epoch e. Nothing is carried from one epoch to the next
 * but the weights, the optimizer state and the step counter, all of which
 * a checkpoint holds, so a resumed run repeats exactly what an
 * uninterrupted one does (bit for bit when the kernels are deterministic,
 * e.g. with one thread). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "app_internal.h"
#include "netc/train_kernels.h"

/* Keras' defaults, for a model compiled without a train section. */
static const NetcTrainConfig default_config = {
    .optimizer = NETC_OPT_ADAM,
    .lr = 0.001,
    .beta1 = 0.9,
    .beta2 = 0.999,
    .rho = 0.9,
    .epsilon = 1e-7,
    .schedule = NETC_SCHED_CONSTANT,
    .loss = NETC_LOSS_CROSS_ENTROPY,
    .batch = 32,
    .epochs = 1,
    .shuffle = 1,
    .checkpoint = NETC_CKPT_NONE,
};

/* The independent random streams. */
enum { STREAM_SHUFFLE = 1, STREAM_AUGMENT = 2, STREAM_DROPOUT = 3 };

/* Keras clips probabilities before the logarithm. */
#define LOSS_EPS 1e-7
/* Keras' featurewise_std_normalization divides by std + 1e-6. */
#define STD_EPS 1e-6f
/* Adagrad's accumulators start here (Keras' initial_accumulator_value). */
#define ADAGRAD_INIT 0.1f
/* Width of the progress bar, as Keras draws it. */
enum { BAR_WIDTH = 30 };

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* A 64-bit value of (seed, stream, epoch, index), each step a splitmix64
 * round, so nearby indices give unrelated values. */
static uint64_t derive(uint64_t seed, uint64_t stream, uint64_t epoch, uint64_t index) {
  uint64_t s = seed ^ (stream * 0xD1B54A32D192ED03ull);
  s = app_rng_next(&s) ^ epoch;
  s = app_rng_next(&s) ^ index;
  return app_rng_next(&s);
}

/* The learning rate of epoch index e (from 0) of `epochs`. */
static double schedule_lr(const NetcTrainConfig *c, int e, int epochs) {
  switch (c->schedule) {
  case NETC_SCHED_CONSTANT:
    return c->lr;
  case NETC_SCHED_STEP: {
    double f = 1.0;
    int after = -1;
    for (int i = 0; i < c->nsteps && i < NETC_MAX_STEPS; i++)
      if (e > c->step_epoch[i] && c->step_epoch[i] >= after) {
        after = c->step_epoch[i];
        f = c->step_factor[i];
      }
    return c->lr * f;
  }
  case NETC_SCHED_COSINE: {
    int period = c->cosine_epochs > 0 ? c->cosine_epochs : epochs;
    double x = e < period ? (double)e / period : 1.0;
    return c->lr * 0.5 * (1.0 + cos(3.14159265358979323846 * x));
  }
  }
  return c->lr;
}

/* The column of the history a checkpoint metric names, or -1. */
static int metric_col(const char *name) {
  static const struct {
    const char *name;
    int col;
  } names[] = {{"loss", HIST_LOSS}, {"acc", HIST_ACC}, {"accuracy", HIST_ACC}, {"val_loss", HIST_VAL_LOSS},
               {"val_acc", HIST_VAL_ACC}, {"val_accuracy", HIST_VAL_ACC}};
  for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
    if (!strcmp(name, names[i].name))
      return names[i].col;
  return -1;
}

/* The train section with the flags applied, checked. */
static int make_config(const AppArgs *a, const NetcModel *m, NetcTrainConfig *c) {
  *c = m->train ? *m->train : default_config;
  if (a->epochs)
    c->epochs = a->epochs;
  if (a->batch)
    c->batch = a->batch;
  if (a->lr > 0)
    c->lr = a->lr;
  if (a->validation >= 0)
    c->validation = a->validation;
  if (a->seed_given)
    c->seed = a->seed;
  const char *why = NULL;
  if (c->batch < 1 || c->batch > APP_MAX_BATCH)
    why = "batch out of 1..65536";
  else if (c->epochs < 1)
    why = "epochs below 1";
  else if (!(c->lr > 0) || !isfinite(c->lr))
    why = "the learning rate is not positive";
  else if (!(c->validation >= 0 && c->validation < 1))
    why = "validation is not a fraction in [0, 1)";
  else if (c->nsteps < 0 || c->nsteps > NETC_MAX_STEPS || c->naugment < 0 || c->naugment > NETC_MAX_AUGMENT)
    why = "nsteps or naugment out of range";
  else if (c->checkpoint == NETC_CKPT_EVERY && c->checkpoint_every < 1)
    why = "checkpoint every N epochs with N below 1";
  else if (c->checkpoint == NETC_CKPT_BEST && c->checkpoint_metric && metric_col(c->checkpoint_metric) < 0)
    why = "unknown checkpoint metric (loss, acc, val_loss, val_acc)";
  if (why)
    return app_fail(a, APP_EXIT_INTERNAL, "internal: the train settings of '%s' are inconsistent: %s",
                    m->name ? m->name : "?", why);
  return APP_EXIT_OK;
}

/* The directory part of path ("." when it has none), into out. */
static void dir_of(char *out, size_t cap, const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash)
    snprintf(out, cap, ".");
  else if (slash == path)
    snprintf(out, cap, "/");
  else
    snprintf(out, cap, "%.*s", (int)(slash - path), path);
}

/* A directory we can write into (made when missing and make, one level). */
static int writable_dir(const AppArgs *a, const char *dir, const char *what, bool make) {
  struct stat sb;
  if (stat(dir, &sb) != 0) {
    if (make && errno == ENOENT && mkdir(dir, 0777) == 0)
      return APP_EXIT_OK;
    return app_fail(a, APP_EXIT_DATA, "%s: cannot use it as %s: %s", dir, what, strerror(errno));
  }
  if (!S_ISDIR(sb.st_mode))
    return app_fail(a, APP_EXIT_DATA, "%s: not a directory (%s)", dir, what);
  if (access(dir, W_OK | X_OK) != 0)
    return app_fail(a, APP_EXIT_DATA, "%s: not writable (%s): %s", dir, what, strerror(errno));
  return APP_EXIT_OK;
}

/* Per-pixel mean and standard deviation (0..255 units) of images
 * [0, n) of ds as model inputs: the statistics of `standardize`. */
static int standardize_stats(const AppArgs *a, AppTrain *t, const RtDataset *ds, size_t n, float *x, float *tmp) {
  const NetcModel *m = t->m;
  size_t k = m->input_size;
  double *sum = calloc(k, sizeof(double)), *sq = calloc(k, sizeof(double));
  int rc = sum && sq ? APP_EXIT_OK : app_fail(a, APP_EXIT_DATA, "out of memory");
  for (size_t i = 0; !rc && i < n; i++) {
    rc = app_data_image(a, m, ds, i, x, tmp);
    for (size_t j = 0; !rc && j < k; j++) {
      double v = x[j] * 255.0;
      sum[j] += v;
      sq[j] += v * v;
    }
  }
  for (size_t j = 0; !rc && j < k; j++) {
    double mean = sum[j] / (double)n, var = sq[j] / (double)n - mean * mean;
    t->net.norm_mean[j] = (float)mean;
    t->net.norm_std[j] = (float)sqrt(var > 0 ? var : 0) + STD_EPS;
  }
  free(sum);
  free(sq);
  return rc;
}

/* The buffers of one run. */
typedef struct Bufs {
  float *x;         /* batch * input_size */
  void *targets;    /* int32 [batch] or float [batch, output_size] */
  float *y;         /* batch * output_size (inference) */
  float *tmp;       /* one image at the data's size */
  float *aug;       /* one input image */
  void *arena;      /* train_arena_bytes_per_image * batch */
  float *ws;        /* train_workspace_floats(batch) */
  size_t ws_floats;
  size_t *perm;     /* the training part's order */
} Bufs;

static void bufs_free(Bufs *b) {
  free(b->x);
  free(b->targets);
  free(b->y);
  free(b->tmp);
  free(b->aug);
  free(b->arena);
  free(b->ws);
  free(b->perm);
  memset(b, 0, sizeof *b);
}

/* Loss and accuracy of images [first, first + count) of ds through the
 * inference forward() (prepare() done by the caller). */
static int evaluate(const AppArgs *a, AppTrain *t, Bufs *b, const RtDataset *ds, size_t first, size_t count,
                    int cap, double *loss, double *acc) {
  const NetcModel *m = t->m;
  int out_n = (int)m->output_size;
  double lsum = 0;
  size_t correct = 0;
  int rc = APP_EXIT_OK;
  for (size_t s = 0; !rc && s < count; s += (size_t)cap) {
    int n = count - s < (size_t)cap ? (int)(count - s) : cap;
    for (int i = 0; !rc && i < n; i++) {
      float *xi = b->x + (size_t)i * m->input_size;
      rc = app_data_image(a, m, ds, first + s + (size_t)i, xi, b->tmp);
      if (!rc)
        app_normalize(&t->net, xi);
    }
    if (!rc)
      rc = app_net_forward(a, &t->net, b->x, b->y, n);
    for (int i = 0; !rc && i < n; i++) {
      const float *o = b->y + (size_t)i * m->output_size;
      int lab = ds->labels[first + s + (size_t)i];
      int pred = 0;
      if (out_n == 1)
        pred = o[0] >= 0.5f;
      else
        for (int k = 1; k < out_n; k++)
          if (o[k] > o[pred])
            pred = k;
      correct += pred == lab;
      if (t->cfg.loss == NETC_LOSS_MSE) {
        double e2 = 0;
        for (int k = 0; k < out_n; k++) {
          double want = out_n == 1 ? lab : k == lab;
          e2 += (o[k] - want) * (o[k] - want);
        }
        lsum += e2 / out_n;
      } else {
        double p = out_n == 1 ? (lab ? o[0] : 1.0 - o[0]) : o[lab];
        if (!(p >= LOSS_EPS))
          p = LOSS_EPS; /* NaN too */
        if (p > 1.0 - LOSS_EPS)
          p = 1.0 - LOSS_EPS;
        lsum -= log(p);
      }
    }
  }
  *loss = lsum / (double)count;
  *acc = (double)correct / (double)count;
  return rc;
}

/* One optimizer step on every trainable tensor. */
static void optimize(AppTrain *t, float lr) {
  const NetcModel *m = t->m;
  const NetcTrainConfig *c = &t->cfg;
  for (int i = 0; i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    if (!p->trainable)
      continue;
    float *w = t->net.params + p->offset, *g = t->grads + p->offset;
    float *s1 = t->opt1 + p->offset, *s2 = t->opt2 ? t->opt2 + p->offset : NULL;
    float wd = p->decay ? (float)c->weight_decay : 0.0f;
    switch (c->optimizer) {
    case NETC_OPT_SGD:
      rt_sgd_step(w, s1, g, p->count, lr, (float)c->momentum, c->nesterov, wd);
      break;
    case NETC_OPT_ADAM:
      rt_adam_step(w, s1, s2, g, p->count, lr, (float)c->beta1, (float)c->beta2, (float)c->epsilon, wd, t->step);
      break;
    case NETC_OPT_RMSPROP:
      rt_rmsprop_step(w, s1, g, p->count, lr, (float)c->rho, (float)c->epsilon, wd);
      break;
    case NETC_OPT_ADAGRAD:
      rt_adagrad_step(w, s1, g, p->count, lr, (float)c->epsilon, wd);
      break;
    }
  }
}

/* wd * sum(w^2) over the decayed tensors: the L2 term Keras adds to the
 * loss it reports. */
static double l2_term(const AppTrain *t) {
  if (!(t->cfg.weight_decay > 0))
    return 0;
  double s = 0;
  for (int i = 0; i < t->m->num_params; i++) {
    const NetcParam *p = &t->m->params[i];
    if (!p->decay)
      continue;
    const float *w = t->net.params + p->offset;
    for (size_t k = 0; k < p->count; k++)
      s += (double)w[k] * w[k];
  }
  return t->cfg.weight_decay * s;
}

/* The progress line: "  320/54000 [====>.....] - ETA: 3s - loss: ..." while
 * running, "54000/54000 [=====] - 18s - loss: ... - val_acc: ..." at the end. */
static void progress(size_t done, size_t total, double secs, double loss, double acc, bool final,
                     const double *val) {
  int width = snprintf(NULL, 0, "%zu", total);
  char bar[BAR_WIDTH + 1];
  int filled = total ? (int)((double)done / (double)total * BAR_WIDTH) : BAR_WIDTH;
  for (int i = 0; i < BAR_WIDTH; i++)
    bar[i] = i < filled ? '=' : '.';
  if (!final && filled > 0 && filled < BAR_WIDTH)
    bar[filled - 1] = '>';
  else if (!final && filled == 0)
    bar[0] = '>';
  bar[BAR_WIDTH] = '\0';
  if (final)
    printf("%*zu/%zu [%s] - %.0fs - loss: %.4f - acc: %.4f", width, done, total, bar, secs, loss, acc);
  else
    printf("\r%*zu/%zu [%s] - ETA: %.0fs - loss: %.4f - acc: %.4f", width, done, total, bar,
           done ? secs / (double)done * (double)(total - done) : 0.0, loss, acc);
  if (val)
    printf(" - val_loss: %.4f - val_acc: %.4f", val[0], val[1]);
  if (final)
    putchar('\n');
  fflush(stdout);
}

/* Appends one epoch's row to the history. */
static int hist_push(const AppArgs *a, AppTrain *t, const double *row) {
  if (t->epoch >= t->hist_cap) {
    int cap = t->hist_cap ? t->hist_cap * 2 : 16;
    while (cap <= t->epoch)
      cap *= 2;
    double *h = realloc(t->hist, (size_t)cap * HIST_COLS * sizeof(double));
    if (!h)
      return app_fail(a, APP_EXIT_DATA, "out of memory");
    t->hist = h;
    t->hist_cap = cap;
  }
  memcpy(t->hist + (size_t)t->epoch * HIST_COLS, row, HIST_COLS * sizeof(double));
  return APP_EXIT_OK;
}

static bool all_finite(const float *v, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!isfinite(v[i]))
      return false;
  return true;
}

/* Everything about one run that is not the training state. */
typedef struct Run {
  AppData data;
  size_t n_train, n_val;  /* the first n_train images train, the next n_val validate */
  const RtDataset *val;   /* where validation images are: the training set's tail, or the test split */
  size_t val_first;
  int batch;              /* the configured batch, at most n_train */
  int eval_cap;           /* images per inference forward() */
  char out[APP_PATH_CAP];
  char ckpt_dir[APP_PATH_CAP];
  char last_ckpt[APP_PATH_CAP]; /* the last good checkpoint, "" if none */
  int metric;             /* the best-checkpoint metric's history column */
  FILE *log;
  bool tty, augment;
  int img_h, img_w, img_c;
} Run;

/* Makes the inputs and targets of batch `s` of epoch e (n images). */
static int make_batch(const AppArgs *a, AppTrain *t, Run *r, Bufs *b, int e, size_t s, int n) {
  const NetcModel *m = t->m;
  for (int i = 0; i < n; i++) {
    size_t pos = s * (size_t)r->batch + (size_t)i;
    size_t idx = b->perm[pos];
    float *xi = b->x + (size_t)i * m->input_size;
    int rc = app_data_image(a, m, &r->data.train, idx, xi, b->tmp);
    if (rc)
      return rc;
    if (r->augment) {
      uint64_t rng = derive(t->seed, STREAM_AUGMENT, (uint64_t)e, pos);
      app_augment(&t->cfg, xi, b->aug, r->img_h, r->img_w, r->img_c, &rng);
    }
    app_normalize(&t->net, xi);
    int lab = r->data.train.labels[idx];
    if (t->cfg.loss == NETC_LOSS_MSE) {
      float *ti = (float *)b->targets + (size_t)i * m->output_size;
      for (size_t k = 0; k < m->output_size; k++)
        ti[k] = m->output_size == 1 ? (float)lab : (float)((int)k == lab);
    } else {
      ((int32_t *)b->targets)[i] = lab;
    }
  }
  return APP_EXIT_OK;
}

/* The checkpoint file for epoch e (1-based), into out; false when the
 * path is too long. */
static bool ckpt_name(char *out, const Run *r, const AppTrain *t, int e) {
  const char *name = t->m->name && *t->m->name ? t->m->name : "model";
  int k = 0;
  switch (t->cfg.checkpoint) {
  case NETC_CKPT_EVERY:
    k = snprintf(out, APP_PATH_CAP, "%s/%s.epoch%d.ckpt.safetensors", r->ckpt_dir, name, e);
    break;
  case NETC_CKPT_BEST:
    k = snprintf(out, APP_PATH_CAP, "%s/%s.best.ckpt.safetensors", r->ckpt_dir, name);
    break;
  case NETC_CKPT_NONE:
    k = snprintf(out, APP_PATH_CAP, "%s/%s.ckpt.safetensors", r->ckpt_dir, name);
    break;
  }
  return k > 0 && k < APP_PATH_CAP;
}

/* The checkpoint after epoch e (1-based), when one is due. */
static int checkpoint(const AppArgs *a, AppTrain *t, Run *r, int e, const double *row) {
  const NetcTrainConfig *c = &t->cfg;
  char path[APP_PATH_CAP];
  if (!ckpt_name(path, r, t, e))
    return app_fail(a, APP_EXIT_USAGE, "%s: the checkpoint directory's path is too long", r->ckpt_dir);
  switch (c->checkpoint) {
  case NETC_CKPT_NONE:
    if (!a->checkpoint_dir)
      return APP_EXIT_OK;
    break;
  case NETC_CKPT_EVERY:
    if (e % c->checkpoint_every)
      return APP_EXIT_OK;
    break;
  case NETC_CKPT_BEST: {
    double v = row[r->metric];
    bool lower = r->metric == HIST_LOSS || r->metric == HIST_VAL_LOSS;
    if (!isfinite(v) || (!isnan(t->best) && !(lower ? v < t->best : v > t->best)))
      return APP_EXIT_OK;
    if (!a->quiet) {
      static const char *const col_names[] = {"lr", "loss", "acc", "val_loss", "val_acc"};
      if (isnan(t->best))
        printf("%s: %.4f, saving %s\n", col_names[r->metric], v, path);
      else
        printf("%s improved from %.4f to %.4f, saving %s\n", col_names[r->metric], t->best, v, path);
    }
    t->best = v;
    break;
  }
  }
  int rc = app_ckpt_write(a, t, path, true, r->batch, r->n_train);
  if (!rc) {
    snprintf(r->last_ckpt, sizeof r->last_ckpt, "%s", path);
    if (!a->quiet && c->checkpoint != NETC_CKPT_BEST)
      printf("checkpoint: %s\n", path);
  }
  return rc;
}

/* Stops on a loss or weights that are no longer finite. */
static int diverged(const AppArgs *a, const Run *r, int e, int epochs, size_t s, size_t steps, const char *what) {
  if (r->tty && !a->quiet)
    putchar('\n');
  fflush(stdout);
  return app_fail(a, APP_EXIT_DATA, "epoch %d/%d, step %zu/%zu: %s: training diverged (a lower --lr may help); "
                  "the weights were not saved%s%s", e + 1, epochs, s + 1, steps, what,
                  *r->last_ckpt ? "; the last good checkpoint is " : "", r->last_ckpt);
}

/* The epochs from t->epoch to cfg.epochs. */
static int train_loop(const AppArgs *a, AppTrain *t, Run *r, Bufs *b) {
  const NetcModel *m = t->m;
  const NetcTrainConfig *c = &t->cfg;
  int epochs = c->epochs;
  size_t steps = (r->n_train + (size_t)r->batch - 1) / (size_t)r->batch;
  double prev_lr = NAN; /* printed at the first epoch of every run, then when it changes */
  int rc = APP_EXIT_OK;
  for (int e = (int)t->epoch; !rc && e < epochs; e++) {
    double lr = schedule_lr(c, e, epochs);
    if (!a->quiet && lr != prev_lr)
      printf("learning rate: %g\n", lr);
    prev_lr = lr;
    if (!a->quiet) {
      printf("Epoch %d/%d\n", e + 1, epochs);
      fflush(stdout);
    }
    double t0 = now_s(), shown = t0;
    for (size_t i = 0; i < r->n_train; i++)
      b->perm[i] = i;
    if (c->shuffle) {
      uint64_t rng = derive(t->seed, STREAM_SHUFFLE, (uint64_t)e, 0);
      for (size_t i = r->n_train - 1; i > 0; i--) {
        size_t j = (size_t)(app_rng_uniform(&rng) * (double)(i + 1));
        size_t tmp = b->perm[i];
        b->perm[i] = b->perm[j];
        b->perm[j] = tmp;
      }
    }
    double loss_sum = 0;
    size_t correct = 0, seen = 0;
    for (size_t s = 0; !rc && s < steps; s++) {
      int n = r->n_train - s * (size_t)r->batch < (size_t)r->batch ? (int)(r->n_train - s * (size_t)r->batch)
                                                                   : r->batch;
      rc = make_batch(a, t, r, b, e, s, n);
      if (rc)
        break;
      double ls = 0;
      int ok = 0;
      RtStatus st = m->train_step(&t->net.ctx, t->net.params, t->grads, b->arena, b->ws, b->ws_floats, b->x,
                                  b->targets, n, derive(t->seed, STREAM_DROPOUT, (uint64_t)e, s), &ls, &ok);
      if (st != RT_OK) {
        rc = app_fail(a, APP_EXIT_DATA, "epoch %d/%d, step %zu/%zu: train_step() of '%s' failed: %s", e + 1, epochs,
                      s + 1, steps, m->name, rt_status_name(st));
        break;
      }
      ls += l2_term(t) * n;
      if (!isfinite(ls)) {
        rc = diverged(a, r, e, epochs, s, steps, isnan(ls) ? "the loss is nan" : "the loss is infinite");
        break;
      }
      t->step++;
      optimize(t, (float)lr);
      loss_sum += ls;
      correct += (size_t)(ok > 0 ? ok : 0);
      seen += (size_t)n;
      double now = now_s();
      if (r->tty && !a->quiet && (now - shown > 0.1 || s + 1 == steps)) {
        shown = now;
        progress(seen, r->n_train, now - t0, loss_sum / seen, (double)correct / seen, false, NULL);
      }
    }
    if (rc)
      break;
    if (!all_finite(t->net.params, m->param_floats)) {
      rc = diverged(a, r, e, epochs, steps - 1, steps, "the weights are no longer finite");
      break;
    }
    double row[HIST_COLS] = {lr, loss_sum / seen, (double)correct / seen, NAN, NAN};
    if (r->n_val) {
      app_net_prepare(&t->net);
      rc = evaluate(a, t, b, r->val, r->val_first, r->n_val, r->eval_cap, &row[HIST_VAL_LOSS], &row[HIST_VAL_ACC]);
      if (rc)
        break;
    }
    double secs = now_s() - t0;
    if (!a->quiet) {
      if (r->tty)
        fputs("\r\033[K", stdout); /* the final line may be shorter than the bar's */
      progress(seen, r->n_train, secs, row[HIST_LOSS], row[HIST_ACC], true, r->n_val ? row + HIST_VAL_LOSS : NULL);
    }
    rc = hist_push(a, t, row);
    if (rc)
      break;
    t->epoch = e + 1;
    if (r->log) {
      fprintf(r->log, "%d,%.9g,%.6f,%.6f,", e + 1, lr, row[HIST_LOSS], row[HIST_ACC]);
      if (r->n_val)
        fprintf(r->log, "%.6f,%.6f,", row[HIST_VAL_LOSS], row[HIST_VAL_ACC]);
      else
        fprintf(r->log, ",,");
      fprintf(r->log, "%.3f\n", secs);
      if (fflush(r->log) != 0 || ferror(r->log))
        rc = app_fail(a, APP_EXIT_DATA, "%s: cannot write: %s", a->log, strerror(errno));
    }
    if (!rc && a->plot) {
      char title[256];
      snprintf(title, sizeof title, "%s: training curves", m->name ? m->name : "model");
      rc = app_plot_write(a, a->plot, title, t->hist, (int)t->epoch, r->n_val > 0);
    }
    if (!rc)
      rc = checkpoint(a, t, r, e + 1, row);
  }
  return rc;
}

/* Allocates the run's buffers. */
static int bufs_new(const AppArgs *a, const AppTrain *t, const Run *r, Bufs *b) {
  const NetcModel *m = t->m;
  size_t bsz = (size_t)(r->batch > r->eval_cap ? r->batch : r->eval_cap);
  size_t big = rt_dataset_image_bytes(&r->data.train);
  if (r->data.test.n && rt_dataset_image_bytes(&r->data.test) > big)
    big = rt_dataset_image_bytes(&r->data.test);
  size_t per = m->train_arena_bytes_per_image;
  if (per && (size_t)r->batch > (SIZE_MAX - 64) / per)
    return app_fail(a, APP_EXIT_USAGE, "batch %d: the training arena would overflow", r->batch);
  size_t arena = (per * (size_t)r->batch + 63) / 64 * 64;
  b->ws_floats = m->train_workspace_floats ? m->train_workspace_floats(r->batch) : 0;
  b->x = malloc(bsz * m->input_size * sizeof(float));
  b->targets = malloc((size_t)r->batch * (t->cfg.loss == NETC_LOSS_MSE ? m->output_size * sizeof(float)
                                                                        : sizeof(int32_t)));
  b->y = malloc((size_t)r->eval_cap * m->output_size * sizeof(float));
  b->tmp = malloc((big + 1) * sizeof(float));
  b->aug = malloc(m->input_size * sizeof(float));
  b->arena = aligned_alloc(64, arena ? arena : 64);
  b->ws = b->ws_floats ? aligned_alloc(64, (b->ws_floats * sizeof(float) + 63) / 64 * 64) : NULL;
  b->perm = malloc(r->n_train * sizeof(size_t));
  if (!b->x || !b->targets || !b->y || !b->tmp || !b->aug || !b->arena || (b->ws_floats && !b->ws) || !b->perm)
    return app_fail(a, APP_EXIT_DATA, "out of memory for batch %d (%zu training arena bytes, %zu workspace floats)",
                    r->batch, arena, b->ws_floats);
  return APP_EXIT_OK;
}

/* Starting weights and optimizer state: a checkpoint, a weights file or
 * Keras' initial values. */
static int start_state(const AppArgs *a, AppTrain *t) {
  const NetcModel *m = t->m;
  size_t n = m->param_floats ? m->param_floats : 1;
  t->grads = calloc(n, sizeof(float));
  t->opt1 = calloc(n, sizeof(float));
  t->opt2 = t->cfg.optimizer == NETC_OPT_ADAM ? calloc(n, sizeof(float)) : NULL;
  if (!t->grads || !t->opt1 || (t->cfg.optimizer == NETC_OPT_ADAM && !t->opt2))
    return app_fail(a, APP_EXIT_DATA, "out of memory for %zu parameters", m->param_floats);
  if (t->cfg.optimizer == NETC_OPT_ADAGRAD)
    for (size_t i = 0; i < m->param_floats; i++)
      t->opt1[i] = ADAGRAD_INIT;
  t->seed = t->cfg.seed;
  t->best = NAN;
  int rc;
  if (a->weights) {
    rc = app_net_load_weights(a, &t->net, a->weights);
  } else {
    rc = app_net_random_weights(a, &t->net, t->seed);
    if (!rc && a->resume) {
      rc = app_ckpt_read(a, t, a->resume);
      if (!rc && a->seed_given && a->seed != t->seed)
        app_warn(a, "%s: --seed %llu ignored: a resumed run keeps its checkpoint's seed %llu", a->resume,
                 (unsigned long long)a->seed, (unsigned long long)t->seed);
    }
  }
  return rc;
}

/* The data, the split, the statistics, the output paths: everything
 * before the first epoch. */
static int prepare_run(const AppArgs *a, AppTrain *t, Run *r, Bufs *b) {
  const NetcModel *m = t->m;
  const NetcTrainConfig *c = &t->cfg;
  const char *name = m->name && *m->name ? m->name : "model";
  if (a->output)
    snprintf(r->out, sizeof r->out, "%s", a->output);
  else
    snprintf(r->out, sizeof r->out, "%s.safetensors", name);
  if (a->checkpoint_dir)
    snprintf(r->ckpt_dir, sizeof r->ckpt_dir, "%s", a->checkpoint_dir);
  else
    dir_of(r->ckpt_dir, sizeof r->ckpt_dir, r->out);
  char out_dir[APP_PATH_CAP];
  dir_of(out_dir, sizeof out_dir, r->out);
  int rc = writable_dir(a, out_dir, "the output's directory", false);
  if (!rc && (c->checkpoint != NETC_CKPT_NONE || a->checkpoint_dir))
    rc = writable_dir(a, r->ckpt_dir, "the checkpoint directory", true);
  if (a->resume)
    snprintf(r->last_ckpt, sizeof r->last_ckpt, "%s", a->resume);
  if (!rc)
    rc = app_data_load(a, m, &r->data);
  if (rc)
    return rc;
  /* Keras' validation_split: the last fraction, before any shuffling. */
  size_t n = r->data.train.n;
  r->n_train = (size_t)((double)n * (1.0 - c->validation));
  if (r->n_train > n)
    r->n_train = n;
  r->n_val = n - r->n_train;
  if (r->n_train == 0)
    return app_fail(a, APP_EXIT_DATA, "%s: %zu images leave none to train on after validation %g", r->data.path, n,
                    c->validation);
  if (c->validation > 0 && r->n_val == 0)
    app_warn(a, "%s: validation %g of %zu images holds out none", r->data.path, c->validation, n);
  r->val = &r->data.train;
  r->val_first = r->n_train;
  if (a->validate_on_test || c->validate_on_test) {
    /* The book's validation_data=(test_x, test_y): the whole training
     * set trains, the test split validates. */
    if (!r->data.test.n)
      return app_fail(a, APP_EXIT_DATA, "%s: validation on the test split, but the data has no test split",
                      r->data.path);
    r->n_train = n;
    r->val = &r->data.test;
    r->val_first = 0;
    r->n_val = r->data.test.n;
  }
  r->batch = (size_t)c->batch < r->n_train ? c->batch : (int)r->n_train;
  r->eval_cap = r->batch;
  r->augment = c->naugment > 0;
  if (r->augment && !app_input_image_shape(m, &r->img_h, &r->img_w, &r->img_c)) {
    app_warn(a, "augmentation ignored: the model's input is not an image");
    r->augment = false;
  }
  r->metric = HIST_VAL_ACC;
  if (c->checkpoint == NETC_CKPT_BEST) {
    r->metric = metric_col(c->checkpoint_metric ? c->checkpoint_metric : "val_acc");
    if (!r->n_val && (r->metric == HIST_VAL_ACC || r->metric == HIST_VAL_LOSS)) {
      app_warn(a, "checkpoint best(%s) without a validation set: best training %s instead",
               c->checkpoint_metric ? c->checkpoint_metric : "val_acc", r->metric == HIST_VAL_ACC ? "acc" : "loss");
      r->metric = r->metric == HIST_VAL_ACC ? HIST_ACC : HIST_LOSS;
    }
  }
  rc = bufs_new(a, t, r, b);
  if (!rc)
    rc = app_net_reserve(a, &t->net, r->eval_cap);
  /* standardize: statistics of the training part, unless resumed (the
   * checkpoint holds those the run started with). */
  if (!rc && m->normalize == NETC_NORM_STANDARDIZE && !a->resume)
    rc = standardize_stats(a, t, &r->data.train, r->n_train, b->x, b->tmp);
  if (rc)
    return rc;
  if (a->log) {
    struct stat sb;
    bool append = a->resume && stat(a->log, &sb) == 0 && sb.st_size > 0;
    r->log = fopen(a->log, append ? "a" : "w");
    if (!r->log)
      return app_fail(a, APP_EXIT_DATA, "%s: cannot open: %s", a->log, strerror(errno));
    if (!append)
      fprintf(r->log, "epoch,lr,loss,acc,val_loss,val_acc,seconds\n");
  }
  if (a->resume && t->ckpt_batch && t->ckpt_batch != r->batch)
    app_warn(a, "%s: written with batch %lld, this run uses %d: it will not repeat the original run", a->resume,
             t->ckpt_batch, r->batch);
  if (a->resume && t->ckpt_images && t->ckpt_images != (long long)r->n_train)
    app_warn(a, "%s: written training on %lld images, this run has %zu: it will not repeat the original run",
             a->resume, t->ckpt_images, r->n_train);
  r->tty = isatty(fileno(stdout));
  if (!a->quiet) {
    const RtDataset *d = &r->data.train;
    printf("data: %s (%s, %zu images %dx%dx%d", r->data.path, r->data.kind, d->n, d->h, d->w, d->c);
    if (r->data.test.n)
      printf("; test split %s, %zu images", r->data.test_path, r->data.test.n);
    printf(")\n");
    printf("optimizer: %s, batch %d, %d epochs, seed %llu\n", app_optimizer_name(c->optimizer), r->batch, c->epochs,
           (unsigned long long)t->seed);
    if (a->resume)
      printf("resuming from %s at epoch %lld, step %lld\n", a->resume, (long long)t->epoch, (long long)t->step);
    if (r->n_val)
      printf("Train on %zu samples, validate on %zu samples\n", r->n_train, r->n_val);
    else
      printf("Train on %zu samples\n", r->n_train);
  }
  return APP_EXIT_OK;
}

int app_cmd_train(const AppArgs *a, const NetcModel *m) {
  if (!m->train_step)
    return app_fail(a, APP_EXIT_USAGE, "the network '%s' was built without training code (its train_step is "
                    "NULL); rebuild it with a netc that emits training", m->name ? m->name : "?");
  AppTrain t;
  memset(&t, 0, sizeof t);
  t.m = m;
  Run r;
  memset(&r, 0, sizeof r);
  Bufs b;
  memset(&b, 0, sizeof b);
  int rc = make_config(a, m, &t.cfg);
  if (!rc)
    rc = app_net_new(a, m, &t.net);
  if (rc)
    return rc;
  rc = start_state(a, &t);
  if (!rc)
    rc = prepare_run(a, &t, &r, &b);
  if (!rc && t.epoch >= t.cfg.epochs && !a->quiet)
    printf("nothing to train: %s is at epoch %lld of %d\n", a->resume, (long long)t.epoch, t.cfg.epochs);
  if (!rc)
    rc = train_loop(a, &t, &r, &b);
  if (r.log && fclose(r.log) != 0 && !rc)
    rc = app_fail(a, APP_EXIT_DATA, "%s: cannot write: %s", a->log, strerror(errno));
  if (!rc) {
    rc = app_ckpt_write(a, &t, r.out, false, r.batch, r.n_train);
    if (!rc)
      printf("saved %s (epoch %lld)\n", r.out, (long long)t.epoch);
  }
  if (!rc && r.data.test.n) {
    double loss, acc;
    app_net_prepare(&t.net);
    rc = evaluate(a, &t, &b, &r.data.test, 0, r.data.test.n, r.eval_cap, &loss, &acc);
    if (!rc) {
      printf("test loss: %.4f\n", loss);
      printf("test accuracy: %.4f\n", acc);
    }
  }
  bufs_free(&b);
  app_data_free(&r.data);
  free(t.grads);
  free(t.opt1);
  free(t.opt2);
  free(t.hist);
  app_net_free(&t.net);
  return rc;
}
