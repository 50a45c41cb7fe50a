/* app_eval.c: `eval`, accuracy and cross-entropy over a labelled test set
 * (IDX as MNIST and Fashion-MNIST ship, or CIFAR-10 binary batches). */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "app_internal.h"

enum { DEFAULT_EVAL_BATCH = 32, PATH_CAP = 4096 };

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
/* Keras clips probabilities to [eps, 1 - eps] before the logarithm. */
#define LOSS_EPS 1e-7

/* Where the test set is. */
typedef struct EvalSource {
  bool cifar;                 /* CIFAR-10 binary, else IDX */
  char path[PATH_CAP];        /* CIFAR: directory or file; IDX: images */
  char labels[PATH_CAP];      /* IDX labels */
} EvalSource;

static bool ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcmp(s + n - k, suffix);
}


/* Which data set: --data, else the model's train section, else
 * Fashion-MNIST for a 28x28x1 input. Only usage errors here; whether the
 * files are there is locate_source's business, after the weights. */
static int pick_source(const AppArgs *a, const NetcModel *m, const char **pathp, const char **labelsp) {
  const char *path = a->data;
  const char *labels = a->labels;
  int h, w, c;
  if (!path && m->data == NETC_DATA_IDX && m->data_path) {
    path = m->data_path;
    if (!labels)
      labels = m->data_path2;
  } else if (!path && m->data_path) {
    path = m->data_path;
  } else if (!path && m->data == NETC_DATA_FOLDER) {
    return app_fail(a, APP_EXIT_USAGE, "the model's data set is a folder of PNGs, which eval does not read; "
                    "give --data (IDX or CIFAR-10)");
  } else if (!path && m->data == NETC_DATA_MNIST) {
    return app_fail(a, APP_EXIT_USAGE, "the model was trained on MNIST but names no directory; give --data");
  } else if (!path && (m->data == NETC_DATA_FASHION_MNIST || m->input_size == 784 ||
                       (app_input_image_shape(m, &h, &w, &c) && h == 28 && w == 28 && c == 1))) {
    path = FASHION_MNIST_DIR;
  }
  if (!path)
    return app_fail(a, APP_EXIT_USAGE, "no data set: give --data (an IDX or CIFAR-10 directory or file)");
  if (strlen(path) >= PATH_CAP - 32 || (labels && strlen(labels) >= PATH_CAP))
    return app_fail(a, APP_EXIT_USAGE, "--data or --labels: path too long");
  *pathp = path;
  *labelsp = labels;
  return APP_EXIT_OK;
}

/* Finds the files of the data set at path. */
static int locate_source(const AppArgs *a, const NetcModel *m, const char *path, const char *labels,
                         EvalSource *src) {
  memset(src, 0, sizeof *src);
  if (app_is_dir(path)) {
    char t[PATH_CAP];
    snprintf(t, sizeof t, "%s/test_batch.bin", path);
    if (m->data == NETC_DATA_CIFAR10 || app_is_file(t)) {
      src->cifar = true;
      snprintf(src->path, PATH_CAP, "%s", path);
      return APP_EXIT_OK;
    }
    if (!app_find_plain_or_gz(src->path, path, "t10k-images-idx3-ubyte"))
      return app_fail(a, APP_EXIT_DATA, "%s: no test set here (looked for test_batch.bin and "
                      "t10k-images-idx3-ubyte[.gz])%s", path,
                      !strcmp(path, FASHION_MNIST_DIR) ? "; apt-get install dataset-fashion-mnist" : "");
    if (labels)
      snprintf(src->labels, PATH_CAP, "%s", labels);
    else if (!app_find_plain_or_gz(src->labels, path, "t10k-labels-idx1-ubyte"))
      return app_fail(a, APP_EXIT_DATA, "%s: t10k-labels-idx1-ubyte[.gz] is missing", path);
    return APP_EXIT_OK;
  }
  if (!app_is_file(path))
    return app_fail(a, APP_EXIT_DATA, "%s: no such file or directory", path);
  snprintf(src->path, PATH_CAP, "%s", path);
  if (m->data == NETC_DATA_CIFAR10 || ends_with(path, ".bin")) {
    src->cifar = true;
    return APP_EXIT_OK;
  }
  if (labels)
    snprintf(src->labels, PATH_CAP, "%s", labels);
  else if (!app_idx_labels_for(src->labels, path))
    return app_fail(a, APP_EXIT_DATA, "%s: cannot find its labels file by name; give --labels", path);
  return APP_EXIT_OK;
}

/* Turns images [first, first+n) of ds into network inputs in x. */
static int make_inputs(const AppArgs *a, const AppNet *net, const RtDataset *ds, size_t first, int n,
                       bool resize, float *x, float *tmp) {
  const NetcModel *m = net->m;
  size_t ib = rt_dataset_image_bytes(ds);
  for (int i = 0; i < n; i++) {
    const uint8_t *px = ds->images + (first + (size_t)i) * ib;
    float *xi = x + (size_t)i * m->input_size;
    if (!resize) {
      for (size_t k = 0; k < ib; k++)
        xi[k] = px[k] * (1.0f / 255.0f);
    } else {
      int h, w, c;
      app_input_image_shape(m, &h, &w, &c);
      for (size_t k = 0; k < ib; k++)
        tmp[k] = px[k] * (1.0f / 255.0f);
      RtImage img = {ds->h, ds->w, ds->c, tmp};
      RtError err = {{0}};
      if (rt_image_to_model(&img, h, w, c, xi, &err) != RT_OK)
        return app_fail(a, APP_EXIT_DATA, "image %zu: %s", first + (size_t)i, err.msg);
    }
    app_normalize(net, xi);
  }
  return APP_EXIT_OK;
}

int app_cmd_eval(const AppArgs *a, const NetcModel *m) {
  const char *path = NULL, *labels = NULL;
  int rc = pick_source(a, m, &path, &labels);
  if (rc)
    return rc;
  AppNet net;
  rc = app_net_new(a, m, &net);
  if (rc)
    return rc;
  EvalSource src;
  rc = app_net_load_weights(a, &net, a->weights);
  if (!rc)
    rc = locate_source(a, m, path, labels, &src);
  RtDataset ds = {0};
  RtError err = {{0}};
  const char *shown = src.path;
  if (!rc) {
    RtStatus s = src.cifar ? rt_cifar10_load(src.path, RT_CIFAR_TEST, &ds, &err)
                           : rt_idx_load_pair(src.path, src.labels, &ds, &err);
    if (s != RT_OK)
      rc = app_fail(a, APP_EXIT_DATA, "%s", err.msg);
    else if (ds.n == 0 || !ds.labels)
      rc = app_fail(a, APP_EXIT_DATA, "%s: no labelled images", shown);
  }
  /* Reshape when the sizes agree (784 <- 28x28x1), resize an image input
   * of another size, refuse the rest. */
  bool resize = false;
  char mb[64];
  app_shape_str(mb, sizeof mb, m->input_rank, m->input_shape);
  if (!rc) {
    int h, w, c;
    bool image = app_input_image_shape(m, &h, &w, &c);
    size_t ib = rt_dataset_image_bytes(&ds);
    if (m->input_rank == 3)
      resize = !(h == ds.h && w == ds.w && c == ds.c);
    else
      resize = ib != m->input_size;
    if (resize && !image)
      rc = app_fail(a, APP_EXIT_DATA, "%s: images are %dx%dx%d, the model's input is %s (%zu values)", shown,
                    ds.h, ds.w, ds.c, mb, m->input_size);
  }
  size_t count = ds.n;
  if (!rc && a->limit && (size_t)a->limit < count)
    count = (size_t)a->limit;
  int out_n = (int)m->output_size;
  for (size_t i = 0; !rc && i < count; i++) {
    int lab = ds.labels[i];
    if ((out_n == 1 && lab > 1) || (out_n > 1 && lab >= out_n))
      rc = app_fail(a, APP_EXIT_DATA, "%s: record %zu: label %d, but the model has %d output%s", src.cifar ? shown : src.labels,
                    i, lab, out_n, out_n == 1 ? " (a binary classifier: labels 0 and 1)" : "s");
  }
  int batch = a->batch ? a->batch : DEFAULT_EVAL_BATCH;
  if (!rc && (size_t)batch > count)
    batch = (int)count;
  float *x = NULL, *y = NULL, *tmp = NULL;
  if (!rc) {
    app_net_prepare(&net);
    rc = app_net_reserve(a, &net, batch);
  }
  if (!rc) {
    x = malloc((size_t)batch * m->input_size * sizeof(float));
    y = malloc((size_t)batch * m->output_size * sizeof(float));
    tmp = malloc((rt_dataset_image_bytes(&ds) + 1) * sizeof(float));
    if (!x || !y || !tmp)
      rc = app_fail(a, APP_EXIT_DATA, "out of memory for batch %d", batch);
  }
  size_t correct = 0;
  double loss = 0;
  for (size_t first = 0; !rc && first < count; first += (size_t)batch) {
    int n = count - first < (size_t)batch ? (int)(count - first) : batch;
    rc = make_inputs(a, &net, &ds, first, n, resize, x, tmp);
    if (!rc)
      rc = app_net_forward(a, &net, x, y, n);
    for (int i = 0; !rc && i < n; i++) {
      const float *o = y + (size_t)i * m->output_size;
      int lab = ds.labels[first + (size_t)i];
      int pred;
      double p;
      if (out_n == 1) {
        pred = o[0] >= 0.5f;
        p = lab ? o[0] : 1.0 - o[0];
      } else {
        pred = 0;
        for (int k = 1; k < out_n; k++)
          if (o[k] > o[pred])
            pred = k;
        p = o[lab];
      }
      if (!(p >= LOSS_EPS))
        p = LOSS_EPS; /* NaN too */
      if (p > 1.0 - LOSS_EPS)
        p = 1.0 - LOSS_EPS;
      loss -= log(p);
      correct += pred == lab;
    }
  }
  if (!rc) {
    printf("data: %s (%s, %zu images %dx%dx%d%s)\n", shown, src.cifar ? "CIFAR-10" : "IDX", ds.n, ds.h, ds.w,
           ds.c, resize ? ", resized to the model's input" : "");
    printf("count: %zu\n", count);
    printf("loss: %.4f\n", loss / (double)count);
    printf("accuracy: %.4f\n", (double)correct / (double)count);
  }
  free(x);
  free(y);
  free(tmp);
  rt_dataset_free(&ds);
  app_net_free(&net);
  return rc;
}
