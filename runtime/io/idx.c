/* IDX dataset files (MNIST, Fashion-MNIST) and the RtDataset helpers.
 *
 * Format: a 4-byte magic 0x00 0x00 TYPE NDIM (TYPE 0x08 = unsigned byte),
 * NDIM big-endian u32 dimensions, then the data. Images are 0x00000803
 * [n, rows, cols], labels 0x00000801 [n]. Files are read through zlib's gz*
 * functions, which read plain and gzip files alike. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <zlib.h>

#include "io_internal.h"

void rt_dataset_free(RtDataset *ds) {
  if (!ds)
    return;
  free(ds->images);
  free(ds->labels);
  memset(ds, 0, sizeof *ds);
}

size_t rt_dataset_image_bytes(const RtDataset *ds) {
  return (size_t)ds->h * (size_t)ds->w * (size_t)ds->c;
}

RtStatus rt_dataset_images_f32(const RtDataset *ds, size_t first, size_t count, float scale,
                               float *out, RtError *err) {
  if (!ds || (count && !out))
    return rt_fail(err, RT_ERR_ARG, "rt_dataset_images_f32: NULL argument");
  if (first > ds->n || count > ds->n - first)
    return rt_fail(err, RT_ERR_ARG, "rt_dataset_images_f32: images [%zu,%zu) are out of range "
                   "(the dataset has %zu)", first, first + count, ds->n);
  size_t per = rt_dataset_image_bytes(ds);
  const uint8_t *src = ds->images + first * per;
  for (size_t i = 0; i < count * per; i++)
    out[i] = (float)src[i] * scale;
  return RT_OK;
}

/* Why a gz read came up short: the gzip stream is truncated or corrupt,
 * a read error, or the (uncompressed) data simply ended. */
static const char *gz_why(gzFile gz, char *buf, size_t size) {
  int zerr = Z_OK;
  const char *m = gzerror(gz, &zerr);
  /* zlib prefixes its message with the path; we name the file ourselves. */
  const char *colon = m ? strstr(m, ": ") : NULL;
  const char *text = colon ? colon + 2 : m ? m : "";
  switch (zerr) {
  case Z_ERRNO:
    return rt_errno_text(errno, buf, size);
  case Z_BUF_ERROR:
    snprintf(buf, size, "the gzip stream is truncated (%s)", text);
    return buf;
  case Z_DATA_ERROR:
    snprintf(buf, size, "the gzip data is corrupt (%s)", text);
    return buf;
  case Z_MEM_ERROR:
    return "out of memory";
  default:
    return "end of file";
  }
}

/* Reads exactly n bytes into p; false on a short read or an error. *got is
 * how many bytes arrived. */
static bool gz_read_all(gzFile gz, void *p, size_t n, size_t *got) {
  *got = 0;
  while (*got < n) {
    size_t want = n - *got;
    if (want > (1u << 30))
      want = 1u << 30;
    int r = gzread(gz, (uint8_t *)p + *got, (unsigned)want);
    if (r <= 0)
      return false;
    *got += (size_t)r;
  }
  return true;
}

/* Reads an IDX file of unsigned bytes with `want_ndim` dimensions and magic
 * `want_magic`. what is "image" or "label" for messages. */
static RtStatus idx_read(const char *path, uint32_t want_magic, const char *what,
                         uint32_t *dims, uint8_t **data, size_t *count, RtError *err) {
  char eb[160];
  *data = NULL;
  *count = 0;
  if (!path)
    return rt_fail(err, RT_ERR_ARG, "no IDX file name given");
  int want_ndim = (int)(want_magic & 0xff);
  struct stat st;
  if (stat(path, &st) != 0)
    return rt_fail(err, RT_ERR_IO, "%s: cannot open: %s", path, rt_errno_text(errno, eb, sizeof eb));
  if (!S_ISREG(st.st_mode))
    return rt_fail(err, RT_ERR_IO, "%s: not a regular file", path);
  errno = 0;
  gzFile gz = gzopen(path, "rb");
  if (!gz)
    return rt_fail(err, RT_ERR_IO, "%s: cannot open: %s", path,
                   errno ? rt_errno_text(errno, eb, sizeof eb) : "out of memory");
  RtStatus s = RT_OK;
  uint8_t *buf = NULL;
  uint8_t head[4 + 4 * 3];
  size_t head_len = 4 + 4 * (size_t)want_ndim, got;
  if (!gz_read_all(gz, head, 4, &got)) {
    s = rt_fail(err, RT_ERR_FORMAT, "%s: only %zu of the 4 IDX magic bytes could be read: %s",
                path, got, gz_why(gz, eb, sizeof eb));
    goto done;
  }
  uint32_t magic = rt_load_be32(head);
  if (magic != want_magic) {
    if (head[0] || head[1])
      s = rt_fail(err, RT_ERR_FORMAT, "%s: not an IDX file (magic bytes %02X %02X %02X %02X; "
                  "expected 0x%08X for an IDX %s file)", path, head[0], head[1], head[2], head[3],
                  want_magic, what);
    else if (head[2] != 0x08)
      s = rt_fail(err, RT_ERR_FORMAT, "%s: IDX element type 0x%02X is not supported (only "
                  "unsigned bytes, 0x08; magic 0x%08X)", path, head[2], magic);
    else
      s = rt_fail(err, RT_ERR_FORMAT, "%s: IDX magic 0x%08X has %d dimensions, but an IDX %s "
                  "file (0x%08X) has %d", path, magic, head[3], what, want_magic, want_ndim);
    goto done;
  }
  if (!gz_read_all(gz, head + 4, head_len - 4, &got)) {
    s = rt_fail(err, RT_ERR_FORMAT, "%s: only %zu of the %zu IDX header bytes could be read: "
                "%s", path, 4 + got, head_len, gz_why(gz, eb, sizeof eb));
    goto done;
  }
  uint64_t total = 1;
  for (int d = 0; d < want_ndim; d++) {
    dims[d] = rt_load_be32(head + 4 + 4 * d);
    if (d > 0 && (dims[d] == 0 || dims[d] > INT_MAX)) {
      s = rt_fail(err, RT_ERR_FORMAT, "%s: IDX dimension %d is %u (byte %d)", path, d, dims[d],
                  4 + 4 * d);
      goto done;
    }
    if (!rt_mul_u64(total, dims[d], &total)) {
      s = rt_fail(err, RT_ERR_FORMAT, "%s: IDX dimensions overflow 64 bits", path);
      goto done;
    }
  }
  if (want_ndim == 3 && (uint64_t)dims[1] * dims[2] > (uint64_t)INT_MAX) {
    s = rt_fail(err, RT_ERR_FORMAT, "%s: IDX image size %ux%u is absurd", path, dims[1], dims[2]);
    goto done;
  }
  if (total >= SIZE_MAX) {
    s = rt_fail(err, RT_ERR_FORMAT, "%s: IDX dimensions need %llu bytes, too many", path,
                (unsigned long long)total);
    goto done;
  }
  if (gzdirect(gz)) {
    /* A plain file: its length must match the header exactly. */
    uint64_t need = head_len + total;
    if ((uint64_t)st.st_size != need) {
      s = rt_fail(err, RT_ERR_FORMAT, "%s: file is %lld bytes but its IDX header (%s count %u) "
                  "needs %llu%s", path, (long long)st.st_size, what, dims[0],
                  (unsigned long long)need,
                  (uint64_t)st.st_size < need ? " (truncated?)" : " (trailing bytes)");
      goto done;
    }
  }
  /* Grow the buffer as data arrives so that a small .gz with a lying header
   * cannot make us allocate gigabytes up front. */
  size_t n = (size_t)total, cap = n < (1u << 24) ? n : (1u << 24), have = 0;
  buf = malloc(cap ? cap : 1);
  if (!buf) {
    s = rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", path);
    goto done;
  }
  while (have < n) {
    if (have == cap) {
      size_t nc = cap > n / 2 ? n : cap * 2;
      uint8_t *nb = realloc(buf, nc);
      if (!nb) {
        s = rt_fail(err, RT_ERR_NOMEM, "%s: out of memory for %zu bytes", path, nc);
        goto done;
      }
      buf = nb;
      cap = nc;
    }
    size_t chunk;
    bool ok = gz_read_all(gz, buf + have, cap - have, &chunk);
    have += chunk;
    if (!ok) {
      s = rt_fail(err, RT_ERR_FORMAT, "%s: only %zu of %zu bytes of %s data could be read "
                  "(up to byte %zu of the uncompressed file): %s", path, have, n, what,
                  head_len + have, gz_why(gz, eb, sizeof eb));
      goto done;
    }
  }
  uint8_t extra;
  int r = gzread(gz, &extra, 1);
  if (r > 0) {
    s = rt_fail(err, RT_ERR_FORMAT, "%s: extra data after the %zu bytes its IDX header declares",
                path, head_len + n);
    goto done;
  }
  if (r < 0) {
    s = rt_fail(err, RT_ERR_FORMAT, "%s: error after the data: %s", path,
                gz_why(gz, eb, sizeof eb));
    goto done;
  }
  *data = buf;
  *count = n;
  buf = NULL;
done:
  free(buf);
  gzclose(gz);
  return s;
}

RtStatus rt_idx_load_images(const char *path, RtDataset *out, RtError *err) {
  if (!out)
    return rt_fail(err, RT_ERR_ARG, "rt_idx_load_images: out is NULL");
  memset(out, 0, sizeof *out);
  uint32_t dims[3];
  uint8_t *data;
  size_t n;
  RtStatus s = idx_read(path, 0x00000803u, "image", dims, &data, &n, err);
  if (s != RT_OK)
    return s;
  out->n = dims[0];
  out->h = (int)dims[1];
  out->w = (int)dims[2];
  out->c = 1;
  out->images = data;
  return RT_OK;
}

RtStatus rt_idx_load_labels(const char *path, uint8_t **labels, size_t *n, RtError *err) {
  if (!labels || !n)
    return rt_fail(err, RT_ERR_ARG, "rt_idx_load_labels: NULL output");
  uint32_t dims[1];
  return idx_read(path, 0x00000801u, "label", dims, labels, n, err);
}

RtStatus rt_idx_load_pair(const char *images_path, const char *labels_path, RtDataset *out,
                          RtError *err) {
  RtStatus s = rt_idx_load_images(images_path, out, err);
  if (s != RT_OK)
    return s;
  uint8_t *labels;
  size_t n;
  s = rt_idx_load_labels(labels_path, &labels, &n, err);
  if (s != RT_OK) {
    rt_dataset_free(out);
    return s;
  }
  if (n != out->n) {
    s = rt_fail(err, RT_ERR_MISMATCH, "%s: %zu labels, but %s has %zu images", labels_path, n,
                images_path, out->n);
    free(labels);
    rt_dataset_free(out);
    return s;
  }
  out->labels = labels;
  return RT_OK;
}
