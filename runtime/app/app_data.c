/* app_data.c: the data `train` reads. Finds the training set (IDX as MNIST
 * and Fashion-MNIST ship, CIFAR-10 binary batches, or a folder of PNGs with
 * one sub-folder per class) and its test split, loads both as bytes, checks
 * them against the model, and turns one image into the model's input. */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "app_internal.h"

#define FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"

/* A PNG folder has at most this many classes (labels are bytes). */
enum { MAX_CLASSES = 256 };

static bool ends_with_ci(const char *s, const char *suffix) {
  size_t n = strlen(s), k = strlen(suffix);
  return n >= k && !strcasecmp(s + n - k, suffix);
}

static int cmp_str(const void *x, const void *y) {
  return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A growing list of malloc'd strings. */
typedef struct StrList {
  char **v;
  size_t n, cap;
} StrList;

static bool list_push(StrList *l, const char *s) {
  if (l->n == l->cap) {
    size_t cap = l->cap ? l->cap * 2 : 16;
    char **v = realloc(l->v, cap * sizeof *v);
    if (!v)
      return false;
    l->v = v;
    l->cap = cap;
  }
  l->v[l->n] = strdup(s);
  return l->v[l->n++] != NULL;
}

static void list_free(StrList *l) {
  for (size_t i = 0; i < l->n; i++)
    free(l->v[i]);
  free(l->v);
  memset(l, 0, sizeof *l);
}

/* The entries of dir, sorted by name (bytes), hidden ones skipped: sub-
 * directories when dirs, else files ending in .png. */
static int list_dir(const AppArgs *a, const char *dir, bool dirs, StrList *out) {
  DIR *d = opendir(dir);
  if (!d)
    return app_fail(a, APP_EXIT_DATA, "%s: cannot open: %s", dir, strerror(errno));
  struct dirent *e;
  char p[APP_PATH_CAP];
  int rc = APP_EXIT_OK;
  while (!rc && (e = readdir(d))) {
    if (e->d_name[0] == '.')
      continue;
    if ((size_t)snprintf(p, sizeof p, "%s/%s", dir, e->d_name) >= sizeof p)
      continue;
    if (dirs ? app_is_dir(p) : (app_is_file(p) && ends_with_ci(e->d_name, ".png")))
      if (!list_push(out, e->d_name))
        rc = app_fail(a, APP_EXIT_DATA, "out of memory");
  }
  closedir(d);
  if (out->n)
    qsort(out->v, out->n, sizeof *out->v, cmp_str);
  return rc;
}

/* True when dir has a sub-folder holding a PNG: the look of a PNG folder. */
static bool looks_like_folder(const AppArgs *a, const char *dir) {
  StrList sub = {0};
  bool yes = false;
  if (list_dir(a, dir, true, &sub) == APP_EXIT_OK) {
    char p[APP_PATH_CAP];
    for (size_t i = 0; !yes && i < sub.n; i++) {
      snprintf(p, sizeof p, "%s/%s", dir, sub.v[i]);
      DIR *d = opendir(p);
      struct dirent *e;
      while (d && !yes && (e = readdir(d)))
        yes = e->d_name[0] != '.' && ends_with_ci(e->d_name, ".png");
      if (d)
        closedir(d);
    }
  }
  list_free(&sub);
  return yes;
}

/* Loads a PNG folder: one sub-folder per class, classes numbered in the
 * sorted order of their names; every image converted to the model's
 * channels and resized to its height and width, stored as bytes. */
static int load_folder(const AppArgs *a, const NetcModel *m, const char *dir, RtDataset *out) {
  memset(out, 0, sizeof *out);
  int h, w, c;
  char sb[64];
  if (!app_input_image_shape(m, &h, &w, &c))
    return app_fail(a, APP_EXIT_DATA, "%s: a folder of PNGs, but the model's input %s is not an image", dir,
                    app_shape_str(sb, sizeof sb, m->input_rank, m->input_shape));
  StrList classes = {0}, files = {0};
  int rc = list_dir(a, dir, true, &classes);
  uint8_t *cls = NULL;
  if (!rc && classes.n == 0)
    rc = app_fail(a, APP_EXIT_DATA, "%s: no class sub-folders", dir);
  if (!rc && classes.n > MAX_CLASSES)
    rc = app_fail(a, APP_EXIT_DATA, "%s: %zu class sub-folders, at most %d", dir, classes.n, MAX_CLASSES);
  /* Every file's path, with its class. */
  size_t cls_cap = 0;
  char p[APP_PATH_CAP];
  for (size_t k = 0; !rc && k < classes.n; k++) {
    StrList f = {0};
    snprintf(p, sizeof p, "%s/%s", dir, classes.v[k]);
    rc = list_dir(a, p, false, &f);
    if (!rc && f.n == 0)
      rc = app_fail(a, APP_EXIT_DATA, "%s: class folder '%s' holds no .png file", dir, classes.v[k]);
    for (size_t i = 0; !rc && i < f.n; i++) {
      snprintf(p, sizeof p, "%s/%s/%s", dir, classes.v[k], f.v[i]);
      if (!list_push(&files, p)) {
        rc = app_fail(a, APP_EXIT_DATA, "out of memory");
        break;
      }
      if (files.n > cls_cap) {
        cls_cap = files.cap;
        uint8_t *nc = realloc(cls, cls_cap);
        if (!nc) {
          rc = app_fail(a, APP_EXIT_DATA, "out of memory");
          break;
        }
        cls = nc;
      }
      cls[files.n - 1] = (uint8_t)k;
    }
    list_free(&f);
  }
  size_t ib = (size_t)h * w * c;
  float *px = NULL;
  if (!rc) {
    out->images = malloc(files.n * ib);
    out->labels = malloc(files.n);
    px = malloc(ib * sizeof(float));
    if (!out->images || !out->labels || !px)
      rc = app_fail(a, APP_EXIT_DATA, "out of memory for %zu images", files.n);
  }
  RtError err = {{0}};
  for (size_t i = 0; !rc && i < files.n; i++) {
    if (rt_png_load_for_model(files.v[i], h, w, c, px, &err) != RT_OK) {
      rc = app_fail(a, APP_EXIT_DATA, "%s", err.msg);
      break;
    }
    uint8_t *o = out->images + i * ib;
    for (size_t k = 0; k < ib; k++) {
      float v = px[k] * 255.0f + 0.5f;
      o[k] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
    }
    out->labels[i] = cls[i];
  }
  if (!rc) {
    out->n = files.n;
    out->h = h;
    out->w = w;
    out->c = c;
  } else {
    rt_dataset_free(out);
  }
  free(px);
  free(cls);
  list_free(&files);
  list_free(&classes);
  return rc;
}

/* The data set's path: --data, else the train section's, else
 * Fashion-MNIST for a 28x28x1 input. */
static int pick_path(const AppArgs *a, const NetcModel *m, const char **path) {
  int h, w, c;
  *path = a->data;
  if (!*path && m->data_path)
    *path = m->data_path;
  else if (!*path && m->data == NETC_DATA_MNIST)
    return app_fail(a, APP_EXIT_USAGE, "the model trains on MNIST but names no directory; give --data");
  else if (!*path && m->data == NETC_DATA_FOLDER)
    return app_fail(a, APP_EXIT_USAGE, "the model trains on a folder of PNGs but names none; give --data");
  else if (!*path && (m->data == NETC_DATA_FASHION_MNIST || m->input_size == 784 ||
                      (app_input_image_shape(m, &h, &w, &c) && h == 28 && w == 28 && c == 1)))
    *path = FASHION_MNIST_DIR;
  if (!*path)
    return app_fail(a, APP_EXIT_USAGE,
                    "no data set: give --data (an IDX, CIFAR-10 or PNG-folder directory, or a file)");
  if (strlen(*path) >= APP_PATH_CAP - 64)
    return app_fail(a, APP_EXIT_USAGE, "--data: path too long");
  return APP_EXIT_OK;
}

/* Loads the splits found at path into d. */
static int load_splits(const AppArgs *a, const NetcModel *m, const char *path, AppData *d) {
  RtError err = {{0}};
  char t[APP_PATH_CAP], tl[APP_PATH_CAP];
  snprintf(d->path, sizeof d->path, "%s", path);
  if (app_is_dir(path)) {
    snprintf(t, sizeof t, "%s/data_batch_1.bin", path);
    if (m->data == NETC_DATA_CIFAR10 || app_is_file(t)) {
      d->kind = "CIFAR-10";
      if (rt_cifar10_load(path, RT_CIFAR_TRAIN, &d->train, &err) != RT_OK)
        return app_fail(a, APP_EXIT_DATA, "%s", err.msg);
      snprintf(d->test_path, sizeof d->test_path, "%s/test_batch.bin", path);
      if (app_is_file(d->test_path) && rt_cifar10_load(path, RT_CIFAR_TEST, &d->test, &err) != RT_OK)
        return app_fail(a, APP_EXIT_DATA, "%s", err.msg);
      return APP_EXIT_OK;
    }
    if (m->data != NETC_DATA_FOLDER && app_find_plain_or_gz(t, path, "train-images-idx3-ubyte")) {
      d->kind = "IDX";
      if (!app_find_plain_or_gz(d->labels_path, path, "train-labels-idx1-ubyte"))
        return app_fail(a, APP_EXIT_DATA, "%s: train-labels-idx1-ubyte[.gz] is missing", path);
      if (rt_idx_load_pair(t, d->labels_path, &d->train, &err) != RT_OK)
        return app_fail(a, APP_EXIT_DATA, "%s", err.msg);
      if (app_find_plain_or_gz(d->test_path, path, "t10k-images-idx3-ubyte") &&
          app_find_plain_or_gz(tl, path, "t10k-labels-idx1-ubyte") &&
          rt_idx_load_pair(d->test_path, tl, &d->test, &err) != RT_OK)
        return app_fail(a, APP_EXIT_DATA, "%s", err.msg);
      return APP_EXIT_OK;
    }
    char tr[APP_PATH_CAP];
    snprintf(tr, sizeof tr, "%s/train", path);
    snprintf(t, sizeof t, "%s/test", path);
    bool split = app_is_dir(tr) && app_is_dir(t) && looks_like_folder(a, tr);
    if (m->data == NETC_DATA_FOLDER || split || looks_like_folder(a, path)) {
      d->kind = "PNG folder";
      int rc = load_folder(a, m, split ? tr : path, &d->train);
      if (rc)
        return rc;
      if (split) {
        snprintf(d->path, sizeof d->path, "%s", tr);
        snprintf(d->test_path, sizeof d->test_path, "%s", t);
        return load_folder(a, m, t, &d->test);
      }
      return APP_EXIT_OK;
    }
    return app_fail(a, APP_EXIT_DATA,
                    "%s: no training set here (looked for data_batch_1.bin, train-images-idx3-ubyte[.gz] "
                    "and sub-folders of PNGs)%s",
                    path, !strcmp(path, FASHION_MNIST_DIR) ? "; apt-get install dataset-fashion-mnist" : "");
  }
  if (!app_is_file(path))
    return app_fail(a, APP_EXIT_DATA, "%s: no such file or directory", path);
  if (m->data == NETC_DATA_CIFAR10 || ends_with_ci(path, ".bin")) {
    d->kind = "CIFAR-10";
    if (rt_cifar10_load(path, RT_CIFAR_TRAIN, &d->train, &err) != RT_OK)
      return app_fail(a, APP_EXIT_DATA, "%s", err.msg);
    return APP_EXIT_OK;
  }
  d->kind = "IDX";
  if (m->data == NETC_DATA_IDX && m->data_path2 && !a->data)
    snprintf(d->labels_path, sizeof d->labels_path, "%s", m->data_path2);
  else if (!app_idx_labels_for(d->labels_path, path))
    return app_fail(a, APP_EXIT_DATA, "%s: cannot find its labels file by name (images-idx3 -> labels-idx1)",
                    path);
  if (rt_idx_load_pair(path, d->labels_path, &d->train, &err) != RT_OK)
    return app_fail(a, APP_EXIT_DATA, "%s", err.msg);
  return APP_EXIT_OK;
}

/* Checks one split against the model: images that fit its input, labels
 * below its outputs. */
static int check_split(const AppArgs *a, const NetcModel *m, const RtDataset *ds, const char *path,
                       const char *labels_path) {
  int h, w, c;
  char mb[64];
  bool image = app_input_image_shape(m, &h, &w, &c);
  if (ds->n == 0 || !ds->labels)
    return app_fail(a, APP_EXIT_DATA, "%s: no labelled images", path);
  if (rt_dataset_image_bytes(ds) != m->input_size && !image)
    return app_fail(a, APP_EXIT_DATA, "%s: images are %dx%dx%d, the model's input is %s (%zu values)", path, ds->h,
                    ds->w, ds->c, app_shape_str(mb, sizeof mb, m->input_rank, m->input_shape), m->input_size);
  int out_n = (int)m->output_size;
  for (size_t i = 0; i < ds->n; i++) {
    int lab = ds->labels[i];
    if ((out_n == 1 && lab > 1) || (out_n > 1 && lab >= out_n))
      return app_fail(a, APP_EXIT_DATA, "%s: record %zu: label %d, but the model has %d output%s",
                      labels_path && *labels_path ? labels_path : path, i, lab, out_n,
                      out_n == 1 ? " (a binary classifier: labels 0 and 1)" : "s");
  }
  return APP_EXIT_OK;
}

int app_data_load(const AppArgs *a, const NetcModel *m, AppData *d) {
  memset(d, 0, sizeof *d);
  const char *path;
  int rc = pick_path(a, m, &path);
  if (!rc)
    rc = load_splits(a, m, path, d);
  if (!rc)
    rc = check_split(a, m, &d->train, d->path, d->labels_path);
  if (!rc && d->test.n)
    rc = check_split(a, m, &d->test, d->test_path, NULL);
  /* --limit: the first N images of each split. */
  if (!rc && a->limit) {
    if ((size_t)a->limit < d->train.n)
      d->train.n = (size_t)a->limit;
    if ((size_t)a->limit < d->test.n)
      d->test.n = (size_t)a->limit;
  }
  if (rc)
    app_data_free(d);
  return rc;
}

void app_data_free(AppData *d) {
  rt_dataset_free(&d->train);
  rt_dataset_free(&d->test);
}

int app_data_image(const AppArgs *a, const NetcModel *m, const RtDataset *ds, size_t i, float *x, float *tmp) {
  size_t ib = rt_dataset_image_bytes(ds);
  const uint8_t *px = ds->images + i * ib;
  int h, w, c;
  bool image = app_input_image_shape(m, &h, &w, &c);
  bool same = m->input_rank == 3 ? (h == ds->h && w == ds->w && c == ds->c) : ib == m->input_size;
  if (same || !image) {
    for (size_t k = 0; k < ib; k++)
      x[k] = px[k] * (1.0f / 255.0f);
    return APP_EXIT_OK;
  }
  for (size_t k = 0; k < ib; k++)
    tmp[k] = px[k] * (1.0f / 255.0f);
  RtImage img = {ds->h, ds->w, ds->c, tmp};
  RtError err = {{0}};
  if (rt_image_to_model(&img, h, w, c, x, &err) != RT_OK)
    return app_fail(a, APP_EXIT_DATA, "image %zu: %s", i, err.msg);
  return APP_EXIT_OK;
}
