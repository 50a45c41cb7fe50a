/* app_ckpt.c: the files `train` writes, through the runtime's atomic
 * safetensors writer (a temporary file renamed over the target, so a file
 * is the old one or the complete new one).
 *
 * The trained weights: the Keras tensors (`dense.kernel`, ...), plus
 * `normalize.mean` and `normalize.std` for a model that standardizes, and
 * metadata (format "netc-weights", model, netc_version, source_hash,
 * optimizer, epochs, seed). A checkpoint adds what resuming needs:
 *   opt.<slot>.<tensor>  F32, the optimizer state of each trainable tensor,
 *                        its shape: sgd `velocity`; adam `m` and `v`;
 *                        rmsprop `ms`; adagrad `acc`
 *   train.epoch          I64 scalar, epochs completed
 *   train.step           I64 scalar, optimizer steps taken (Adam's t)
 *   train.seed           U64 scalar: with the epoch, the whole random state
 *                        (every draw derives from seed, epoch and step)
 *   train.best           F64 scalar, the best value of the checkpoint metric
 *   train.history        F64 [epochs, 5]: lr, loss, acc, val_loss, val_acc
 * and metadata format "netc-checkpoint". Integers and floats little-endian.
 * Metadata batch and train_images let a resumed run warn when it would not
 * repeat the original one. */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_internal.h"

#define FORMAT_WEIGHTS "netc-weights"
#define FORMAT_CKPT "netc-checkpoint"
/* Problems shown before "N more problems". */
enum { MAX_SHOWN = 20 };

const char *app_optimizer_name(NetcOptimizer o) {
  switch (o) {
  case NETC_OPT_SGD: return "sgd";
  case NETC_OPT_ADAM: return "adam";
  case NETC_OPT_RMSPROP: return "rmsprop";
  case NETC_OPT_ADAGRAD: return "adagrad";
  }
  return "?";
}

/* The optimizer's state slots: names and buffers. */
static int opt_slots(const AppTrain *t, const char **names, float **bufs) {
  switch (t->cfg.optimizer) {
  case NETC_OPT_SGD: names[0] = "velocity"; break;
  case NETC_OPT_ADAM: names[0] = "m"; names[1] = "v"; break;
  case NETC_OPT_RMSPROP: names[0] = "ms"; break;
  case NETC_OPT_ADAGRAD: names[0] = "acc"; break;
  }
  bufs[0] = t->opt1;
  bufs[1] = t->opt2;
  return t->cfg.optimizer == NETC_OPT_ADAM ? 2 : 1;
}

static void put_le64(uint8_t *p, uint64_t x) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(x >> (8 * i));
}

static uint64_t get_le64(const uint8_t *p) {
  uint64_t x = 0;
  for (int i = 0; i < 8; i++)
    x |= (uint64_t)p[i] << (8 * i);
  return x;
}

static uint64_t f64_bits(double d) {
  uint64_t u;
  memcpy(&u, &d, sizeof u);
  return u;
}

static double bits_f64(uint64_t u) {
  double d;
  memcpy(&d, &u, sizeof d);
  return d;
}

static void param_shape(const NetcParam *p, int64_t *shape) {
  for (int k = 0; k < p->rank; k++)
    shape[k] = p->shape[k];
}

static void input_shape(const NetcModel *m, int64_t *shape) {
  for (int k = 0; k < m->input_rank && k < 3; k++)
    shape[k] = m->input_shape[k];
}

int app_ckpt_write(const AppArgs *a, const AppTrain *t, const char *path, bool state, int batch, size_t images) {
  const NetcModel *m = t->m;
  RtError err = {{0}};
  RtStWriter *w = NULL;
  if (rt_stw_new(&w, &err) != RT_OK)
    return app_fail(a, APP_EXIT_DATA, "%s", err.msg);
  RtStatus s = RT_OK;
  int64_t shape[4];
  char name[512];
  for (int i = 0; !s && i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    param_shape(p, shape);
    s = rt_stw_add_f32(w, p->name, p->rank, shape, t->net.params + p->offset, &err);
  }
  if (!s && m->normalize == NETC_NORM_STANDARDIZE && t->net.norm_owned) {
    input_shape(m, shape);
    s = rt_stw_add_f32(w, APP_NORM_MEAN, m->input_rank, shape, t->net.norm_mean, &err);
    if (!s)
      s = rt_stw_add_f32(w, APP_NORM_STD, m->input_rank, shape, t->net.norm_std, &err);
  }
  uint8_t *hist = NULL;
  if (!s && state) {
    const char *slot[2];
    float *buf[2];
    int nslots = opt_slots(t, slot, buf);
    for (int k = 0; !s && k < nslots; k++)
      for (int i = 0; !s && i < m->num_params; i++) {
        const NetcParam *p = &m->params[i];
        if (!p->trainable)
          continue;
        snprintf(name, sizeof name, "opt.%s.%s", slot[k], p->name);
        param_shape(p, shape);
        s = rt_stw_add_f32(w, name, p->rank, shape, buf[k] + p->offset, &err);
      }
    uint8_t b[8];
    put_le64(b, (uint64_t)t->epoch);
    if (!s)
      s = rt_stw_add(w, "train.epoch", RT_DT_I64, 0, NULL, b, &err);
    put_le64(b, (uint64_t)t->step);
    if (!s)
      s = rt_stw_add(w, "train.step", RT_DT_I64, 0, NULL, b, &err);
    put_le64(b, t->seed);
    if (!s)
      s = rt_stw_add(w, "train.seed", RT_DT_U64, 0, NULL, b, &err);
    put_le64(b, f64_bits(t->best));
    if (!s)
      s = rt_stw_add(w, "train.best", RT_DT_F64, 0, NULL, b, &err);
    size_t nh = (size_t)t->epoch * HIST_COLS;
    if (!s && nh) {
      hist = malloc(nh * 8);
      if (!hist) {
        s = RT_ERR_NOMEM;
        snprintf(err.msg, sizeof err.msg, "out of memory");
      } else {
        for (size_t k = 0; k < nh; k++)
          put_le64(hist + 8 * k, f64_bits(t->hist[k]));
        int64_t hs[2] = {t->epoch, HIST_COLS};
        s = rt_stw_add(w, "train.history", RT_DT_F64, 2, hs, hist, &err);
      }
    }
  }
  char num[32], seed[32], bs[32], ni[32];
  snprintf(num, sizeof num, "%" PRId64, t->epoch);
  snprintf(seed, sizeof seed, "%" PRIu64, t->seed);
  snprintf(bs, sizeof bs, "%d", batch);
  snprintf(ni, sizeof ni, "%zu", images);
  const char *meta[][2] = {
      {"format", state ? FORMAT_CKPT : FORMAT_WEIGHTS},
      {"model", m->name ? m->name : ""},
      {"netc_version", m->netc_version ? m->netc_version : ""},
      {"source_hash", m->source_hash ? m->source_hash : ""},
      {"optimizer", app_optimizer_name(t->cfg.optimizer)},
      {"epochs", num},
      {"seed", seed},
      {"batch", bs},
      {"train_images", ni},
  };
  for (size_t k = 0; !s && k < sizeof meta / sizeof meta[0]; k++)
    s = rt_stw_set_metadata(w, meta[k][0], meta[k][1], &err);
  if (!s)
    s = rt_stw_write(w, path, &err);
  free(hist);
  rt_stw_free(w);
  if (s)
    return app_fail(a, APP_EXIT_DATA, "%s%s%s", strncmp(err.msg, path, strlen(path)) ? path : "",
                    strncmp(err.msg, path, strlen(path)) ? ": " : "", err.msg);
  return APP_EXIT_OK;
}

/* Reads a scalar of dtype dt (8 bytes) into *out; counts a problem. */
static void read_scalar(const AppArgs *a, RtSafetensors *st, const char *name, RtDtype dt, uint64_t *out,
                        int *bad) {
  const RtStTensor *t = NULL;
  RtError err = {{0}};
  if (rt_st_expect(st, name, dt, 0, NULL, &t, &err) != RT_OK) {
    if ((*bad)++ < MAX_SHOWN)
      app_fail(a, APP_EXIT_DATA, "%s", err.msg);
    return;
  }
  *out = get_le64(t->data);
}

/* Reads an F32 tensor of p's shape into dst and checks it is finite. */
static void read_tensor(const AppArgs *a, RtSafetensors *st, const char *path, const char *name, int rank,
                        const int64_t *shape, float *dst, size_t count, int *bad) {
  RtError err = {{0}};
  if (rt_st_read_f32(st, name, rank, shape, dst, count, &err) != RT_OK) {
    if ((*bad)++ < MAX_SHOWN)
      app_fail(a, APP_EXIT_DATA, "%s", err.msg);
    return;
  }
  for (size_t k = 0; k < count; k++)
    if (!isfinite(dst[k])) {
      if ((*bad)++ < MAX_SHOWN)
        app_fail(a, APP_EXIT_DATA, "%s: tensor '%s': element %zu is %g", path, name, k, (double)dst[k]);
      return;
    }
}

int app_ckpt_read(const AppArgs *a, AppTrain *t, const char *path) {
  const NetcModel *m = t->m;
  RtError err = {{0}};
  RtSafetensors *st = NULL;
  if (rt_st_open(&st, path, &err) != RT_OK)
    return app_fail(a, APP_EXIT_DATA, "%s", err.msg);
  /* Whose checkpoint, and of which optimizer, before any tensor. */
  const char *format = rt_st_metadata_get(st, "format");
  const char *hash = rt_st_metadata_get(st, "source_hash");
  const char *opt = rt_st_metadata_get(st, "optimizer");
  const char *mname = rt_st_metadata_get(st, "model");
  int rc = APP_EXIT_OK;
  if (!format || strcmp(format, FORMAT_CKPT))
    rc = app_fail(a, APP_EXIT_DATA, "%s: not a training checkpoint (its metadata has no format '%s'); "
                  "to start from these weights, use --weights", path, FORMAT_CKPT);
  else if (m->source_hash && *m->source_hash && (!hash || strcmp(hash, m->source_hash)))
    rc = app_fail(a, APP_EXIT_DATA, "%s: a checkpoint of another model: source hash %s (model '%s'), "
                  "this model's is %s (%s)", path, hash && *hash ? hash : "none", mname ? mname : "?",
                  m->source_hash, m->source ? m->source : "?");
  else if (mname && m->name && strcmp(mname, m->name))
    rc = app_fail(a, APP_EXIT_DATA, "%s: a checkpoint of model '%s', this is '%s'", path, mname, m->name);
  else if (!opt || strcmp(opt, app_optimizer_name(t->cfg.optimizer)))
    rc = app_fail(a, APP_EXIT_DATA, "%s: optimizer '%s' in the checkpoint, but this run uses '%s'", path,
                  opt ? opt : "none", app_optimizer_name(t->cfg.optimizer));
  if (rc) {
    rt_st_close(st);
    return rc;
  }
  int bad = 0;
  int64_t shape[4];
  char name[512];
  for (int i = 0; i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    param_shape(p, shape);
    read_tensor(a, st, path, p->name, p->rank, shape, t->net.params + p->offset, p->count, &bad);
  }
  if (m->normalize == NETC_NORM_STANDARDIZE && t->net.norm_owned) {
    input_shape(m, shape);
    read_tensor(a, st, path, APP_NORM_MEAN, m->input_rank, shape, t->net.norm_mean, m->input_size, &bad);
    read_tensor(a, st, path, APP_NORM_STD, m->input_rank, shape, t->net.norm_std, m->input_size, &bad);
  }
  const char *slot[2];
  float *buf[2];
  int nslots = opt_slots(t, slot, buf);
  for (int k = 0; k < nslots; k++)
    for (int i = 0; i < m->num_params; i++) {
      const NetcParam *p = &m->params[i];
      if (!p->trainable)
        continue;
      snprintf(name, sizeof name, "opt.%s.%s", slot[k], p->name);
      param_shape(p, shape);
      read_tensor(a, st, path, name, p->rank, shape, buf[k] + p->offset, p->count, &bad);
    }
  uint64_t epoch = 0, step = 0, seed = 0, best = f64_bits(NAN);
  read_scalar(a, st, "train.epoch", RT_DT_I64, &epoch, &bad);
  read_scalar(a, st, "train.step", RT_DT_I64, &step, &bad);
  read_scalar(a, st, "train.seed", RT_DT_U64, &seed, &bad);
  read_scalar(a, st, "train.best", RT_DT_F64, &best, &bad);
  if (!bad && (epoch > 1000000 || step > (uint64_t)INT64_MAX / 2)) {
    app_fail(a, APP_EXIT_DATA, "%s: train.epoch %" PRIu64 " or train.step %" PRIu64 " out of range", path, epoch,
             step);
    bad++;
  }
  if (!bad && epoch > 0) {
    int64_t hs[2] = {(int64_t)epoch, HIST_COLS};
    const RtStTensor *h = NULL;
    if (rt_st_expect(st, "train.history", RT_DT_F64, 2, hs, &h, &err) != RT_OK) {
      app_fail(a, APP_EXIT_DATA, "%s", err.msg);
      bad++;
    } else {
      double *v = realloc(t->hist, (size_t)epoch * HIST_COLS * sizeof(double));
      if (!v) {
        bad++;
        app_fail(a, APP_EXIT_DATA, "out of memory");
      } else {
        t->hist = v;
        t->hist_cap = (int)epoch;
        for (size_t k = 0; k < (size_t)epoch * HIST_COLS; k++)
          v[k] = bits_f64(get_le64(h->data + 8 * k));
      }
    }
  }
  if (rt_st_check_all_used(st, &err) != RT_OK) {
    if (bad++ < MAX_SHOWN)
      app_fail(a, APP_EXIT_DATA, "%s", err.msg);
  }
  if (bad > MAX_SHOWN)
    app_fail(a, APP_EXIT_DATA, "%s: %d more problems not shown", path, bad - MAX_SHOWN);
  if (bad) {
    rt_st_close(st);
    return APP_EXIT_DATA;
  }
  const char *bs = rt_st_metadata_get(st, "batch"), *ni = rt_st_metadata_get(st, "train_images");
  t->ckpt_batch = bs ? atoll(bs) : 0;
  t->ckpt_images = ni ? atoll(ni) : 0;
  t->epoch = (int64_t)epoch;
  t->step = (int64_t)step;
  t->seed = seed;
  t->best = bits_f64(best);
  rt_st_close(st);
  return APP_EXIT_OK;
}
