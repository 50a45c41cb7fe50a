/* CIFAR-10 binary batches: records of 1 label byte followed by a 32x32
 * image stored channel-planar (1024 R, 1024 G, 1024 B bytes, each plane
 * row-major). We return NHWC, the layout the rest of netc uses. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io_internal.h"

enum {
  CIFAR_SIDE = 32,
  CIFAR_PLANE = CIFAR_SIDE * CIFAR_SIDE,
  CIFAR_IMAGE = 3 * CIFAR_PLANE,
  CIFAR_RECORD = 1 + CIFAR_IMAGE,
  CIFAR_CLASSES = 10,
};

/* Checks one file's bytes; returns its record count in *n. */
static RtStatus check_batch(const char *path, const uint8_t *buf, size_t len, size_t *n,
                            RtError *err) {
  if (len == 0)
    return rt_fail(err, RT_ERR_FORMAT, "%s: file is empty (expected records of %d bytes)", path,
                   CIFAR_RECORD);
  if (len % CIFAR_RECORD != 0)
    return rt_fail(err, RT_ERR_FORMAT, "%s: size %zu is not a multiple of the %d-byte record "
                   "(%zu whole records and %zu bytes left over; truncated?)", path, len,
                   CIFAR_RECORD, len / CIFAR_RECORD, len % CIFAR_RECORD);
  *n = len / CIFAR_RECORD;
  for (size_t r = 0; r < *n; r++) {
    uint8_t label = buf[r * CIFAR_RECORD];
    if (label >= CIFAR_CLASSES)
      return rt_fail(err, RT_ERR_FORMAT, "%s: record %zu (byte %zu): label %u is not below %d",
                     path, r, r * CIFAR_RECORD, label, CIFAR_CLASSES);
  }
  return RT_OK;
}

/* Appends the records of buf to ds (images/labels already sized). */
static void unpack(RtDataset *ds, size_t at, const uint8_t *buf, size_t n) {
  for (size_t r = 0; r < n; r++) {
    const uint8_t *rec = buf + r * CIFAR_RECORD;
    uint8_t *img = ds->images + (at + r) * CIFAR_IMAGE;
    ds->labels[at + r] = rec[0];
    for (int p = 0; p < CIFAR_PLANE; p++)
      for (int ch = 0; ch < 3; ch++)
        img[3 * p + ch] = rec[1 + ch * CIFAR_PLANE + p];
  }
}

RtStatus rt_cifar10_load(const char *path, RtCifarSplit split, RtDataset *out, RtError *err) {
  char eb[128];
  if (!out || !path)
    return rt_fail(err, RT_ERR_ARG, "rt_cifar10_load: NULL argument");
  memset(out, 0, sizeof *out);
  struct stat st;
  if (stat(path, &st) != 0)
    return rt_fail(err, RT_ERR_IO, "%s: cannot open: %s", path, rt_errno_text(errno, eb, sizeof eb));
  static const char *const train[] = {"data_batch_1.bin", "data_batch_2.bin", "data_batch_3.bin",
                                      "data_batch_4.bin", "data_batch_5.bin"};
  static const char *const test[] = {"test_batch.bin"};
  const char *const *names = NULL;
  size_t nfiles = 1;
  bool is_dir = S_ISDIR(st.st_mode);
  if (is_dir) {
    if (split != RT_CIFAR_TRAIN && split != RT_CIFAR_TEST)
      return rt_fail(err, RT_ERR_ARG, "%s: invalid CIFAR split %d", path, (int)split);
    names = split == RT_CIFAR_TRAIN ? train : test;
    nfiles = split == RT_CIFAR_TRAIN ? 5 : 1;
  }
  uint8_t *bufs[5] = {0};
  size_t lens[5] = {0}, counts[5] = {0}, total = 0;
  char *paths[5] = {0};
  RtStatus s = RT_OK;
  for (size_t f = 0; f < nfiles && s == RT_OK; f++) {
    if (is_dir) {
      size_t need = strlen(path) + 1 + strlen(names[f]) + 1;
      paths[f] = malloc(need);
      if (!paths[f]) {
        s = rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", path);
        break;
      }
      snprintf(paths[f], need, "%s/%s", path, names[f]);
    }
    const char *fp = is_dir ? paths[f] : path;
    s = rt_read_file(fp, &bufs[f], &lens[f], err);
    if (s == RT_OK)
      s = check_batch(fp, bufs[f], lens[f], &counts[f], err);
    total += counts[f];
  }
  if (s == RT_OK) {
    out->images = malloc(total * CIFAR_IMAGE);
    out->labels = malloc(total);
    if (!out->images || !out->labels)
      s = rt_fail(err, RT_ERR_NOMEM, "%s: out of memory for %zu images", path, total);
  }
  if (s == RT_OK) {
    size_t at = 0;
    for (size_t f = 0; f < nfiles; f++) {
      unpack(out, at, bufs[f], counts[f]);
      at += counts[f];
    }
    out->n = total;
    out->h = out->w = CIFAR_SIDE;
    out->c = 3;
  } else {
    rt_dataset_free(out);
  }
  for (size_t f = 0; f < nfiles; f++) {
    free(bufs[f]);
    free(paths[f]);
  }
  return s;
}
