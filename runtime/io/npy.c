/* NumPy .npy reader and writer.
 *
 * Format: "\x93NUMPY", major and minor version bytes, a header length
 * (little-endian u16 for 1.0, u32 for 2.0 and 3.0), then a Python dict
 * literal such as {'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }
 * padded with spaces and ended by '\n', then the raw data. The dict has a
 * fixed, tiny grammar, so it is parsed by hand here:
 *   dict  = '{' [ entry { ',' entry } [ ',' ] ] '}'
 *   entry = str ':' ( str | 'True' | 'False' | tuple )
 *   tuple = '(' [ int { ',' int } [ ',' ] ] ')'
 */
#include <stdlib.h>
#include <string.h>

#include "io_internal.h"

void rt_array_free(RtArray *a) {
  if (!a)
    return;
  free(a->data);
  memset(a, 0, sizeof *a);
}

typedef struct Cursor {
  const char *p, *end;
} Cursor;

static void skip_ws(Cursor *c) {
  while (c->p < c->end && (*c->p == ' ' || *c->p == '\t' || *c->p == '\n' || *c->p == '\r'))
    c->p++;
}

static bool eat(Cursor *c, char ch) {
  skip_ws(c);
  if (c->p < c->end && *c->p == ch) {
    c->p++;
    return true;
  }
  return false;
}

/* A quoted Python string without escapes, copied into buf. */
static bool parse_str(Cursor *c, char *buf, size_t size) {
  skip_ws(c);
  if (c->p >= c->end || (*c->p != '\'' && *c->p != '"'))
    return false;
  char q = *c->p++;
  size_t n = 0;
  while (c->p < c->end && *c->p != q) {
    /* No escapes or control characters: numpy never writes them, and
     * keys end up in one-line error messages. */
    if (*c->p == '\\' || (unsigned char)*c->p < 0x20 || n + 1 >= size)
      return false;
    buf[n++] = *c->p++;
  }
  if (c->p >= c->end)
    return false;
  c->p++;
  buf[n] = '\0';
  return true;
}

static bool parse_word(Cursor *c, const char *w) {
  skip_ws(c);
  size_t n = strlen(w);
  if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
    return false;
  c->p += n;
  return true;
}

/* The shape tuple; false with *why set on a syntax error. */
static bool parse_shape(Cursor *c, int *ndim, int64_t *shape, const char **why) {
  *ndim = 0;
  if (!eat(c, '(')) {
    *why = "'shape' is not a tuple";
    return false;
  }
  for (;;) {
    if (eat(c, ')'))
      return true;
    skip_ws(c);
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') {
      *why = "'shape' holds something other than non-negative integers";
      return false;
    }
    if (*ndim == RT_MAX_DIMS) {
      *why = "'shape' has more dimensions than supported (8)";
      return false;
    }
    int64_t v = 0;
    while (c->p < c->end && *c->p >= '0' && *c->p <= '9') {
      if (v > (INT64_MAX - 9) / 10) {
        *why = "a dimension of 'shape' is too large";
        return false;
      }
      v = v * 10 + (*c->p++ - '0');
    }
    /* Python 2 wrote longs as "3L". */
    if (c->p < c->end && *c->p == 'L')
      c->p++;
    shape[(*ndim)++] = v;
    if (eat(c, ','))
      continue;
    if (eat(c, ')'))
      return true;
    *why = "'shape' tuple is malformed";
    return false;
  }
}

typedef enum NpyKind {
  NPY_F4, /* '<f4' */
  NPY_F8, /* '<f8' */
  NPY_U1, /* '|u1' */
} NpyKind;

RtStatus rt_npy_load_memory(const void *vbuf, size_t len, const char *label, RtArray *out,
                            RtError *err) {
  const char *L = label ? label : "<memory>";
  if (!out)
    return rt_fail(err, RT_ERR_ARG, "%s: output array is NULL", L);
  memset(out, 0, sizeof *out);
  const uint8_t *buf = vbuf;
  if (!buf && len)
    return rt_fail(err, RT_ERR_ARG, "%s: buffer is NULL", L);
  if (len < 10 || memcmp(buf, "\x93NUMPY", 6) != 0)
    return rt_fail(err, RT_ERR_FORMAT, "%s: not a .npy file (missing the \\x93NUMPY magic)", L);
  int major = buf[6], minor = buf[7];
  size_t hlen, hstart;
  if (major == 1) {
    hlen = rt_load_le16(buf + 8);
    hstart = 10;
  } else if (major == 2 || major == 3) {
    if (len < 12)
      return rt_fail(err, RT_ERR_FORMAT, "%s: file ends inside the header length", L);
    hlen = rt_load_le32(buf + 8);
    hstart = 12;
  } else {
    return rt_fail(err, RT_ERR_FORMAT, "%s: .npy format version %d.%d is not supported (1.0, "
                   "2.0 and 3.0 are)", L, major, minor);
  }
  if (hlen > len - hstart)
    return rt_fail(err, RT_ERR_FORMAT, "%s: header length %zu (byte 8) runs past the end of the "
                   "file (%zu bytes)", L, hlen, len);
  Cursor c = {(const char *)buf + hstart, (const char *)buf + hstart + hlen};
  char descr[32] = "";
  bool have_descr = false, have_fortran = false, have_shape = false, fortran = false;
  int ndim = 0;
  int64_t shape[RT_MAX_DIMS] = {0};
  const char *why = NULL;
  if (!eat(&c, '{'))
    why = "header is not a dict";
  while (!why) {
    char key[32];
    if (eat(&c, '}'))
      break;
    if (!parse_str(&c, key, sizeof key)) {
      why = "expected a quoted key";
      break;
    }
    if (!eat(&c, ':')) {
      why = "expected ':' after a key";
      break;
    }
    if (strcmp(key, "descr") == 0) {
      if (!parse_str(&c, descr, sizeof descr))
        why = "'descr' is not a simple dtype string (structured dtypes are not supported)";
      have_descr = true;
    } else if (strcmp(key, "fortran_order") == 0) {
      if (parse_word(&c, "True"))
        fortran = true;
      else if (!parse_word(&c, "False"))
        why = "'fortran_order' is neither True nor False";
      have_fortran = true;
    } else if (strcmp(key, "shape") == 0) {
      parse_shape(&c, &ndim, shape, &why);
      have_shape = true;
    } else {
      return rt_fail(err, RT_ERR_FORMAT, "%s: header has an unknown key '%s'", L, key);
    }
    if (why)
      break;
    if (!eat(&c, ',')) {
      if (!eat(&c, '}'))
        why = "expected ',' or '}' in the header dict";
      break;
    }
  }
  if (!why) {
    skip_ws(&c);
    if (c.p != c.end)
      why = "extra text after the header dict";
    else if (!have_descr || !have_fortran || !have_shape)
      why = !have_descr ? "missing key 'descr'" : !have_fortran ? "missing key 'fortran_order'"
                                                                 : "missing key 'shape'";
  }
  if (why)
    return rt_fail(err, RT_ERR_FORMAT, "%s: bad header (byte %zu): %s", L,
                   hstart + (size_t)(c.p - ((const char *)buf + hstart)), why);
  if (fortran)
    return rt_fail(err, RT_ERR_FORMAT, "%s: fortran_order is True; only C-order arrays are "
                   "supported (save with np.ascontiguousarray)", L);
  NpyKind kind;
  size_t isz;
  if (strcmp(descr, "<f4") == 0) {
    kind = NPY_F4;
    isz = 4;
  } else if (strcmp(descr, "<f8") == 0) {
    kind = NPY_F8;
    isz = 8;
  } else if (strcmp(descr, "|u1") == 0 || strcmp(descr, "<u1") == 0) {
    kind = NPY_U1;
    isz = 1;
  } else {
    return rt_fail(err, RT_ERR_FORMAT, "%s: dtype '%s' is not supported (use '<f4', '<f8' or "
                   "'|u1')", L, descr);
  }
  uint64_t numel = 1, nbytes;
  for (int d = 0; d < ndim; d++)
    if (!rt_mul_u64(numel, (uint64_t)shape[d], &numel))
      return rt_fail(err, RT_ERR_FORMAT, "%s: shape element count overflows", L);
  size_t data_at = hstart + hlen, have = len - data_at;
  if (!rt_mul_u64(numel, isz, &nbytes) || nbytes != have)
    return rt_fail(err, RT_ERR_FORMAT, "%s: data is %zu bytes (from byte %zu) but shape and "
                   "dtype '%s' need %llu%s", L, have, data_at, descr,
                   (unsigned long long)nbytes, nbytes > have ? " (truncated file?)" : "");
  size_t n = (size_t)numel;
  float *data = malloc(n ? n * sizeof(float) : 1);
  if (!data)
    return rt_fail(err, RT_ERR_NOMEM, "%s: out of memory for %zu floats", L, n);
  const uint8_t *src = buf + data_at;
  for (size_t i = 0; i < n; i++) {
    switch (kind) {
    case NPY_F4: {
      uint32_t u = rt_load_le32(src + 4 * i);
      memcpy(&data[i], &u, 4);
      break;
    }
    case NPY_F8: {
      uint64_t u = rt_load_le64(src + 8 * i);
      double dv;
      memcpy(&dv, &u, 8);
      data[i] = (float)dv;
      break;
    }
    case NPY_U1:
      data[i] = (float)src[i];
      break;
    }
  }
  out->data = data;
  out->ndim = ndim;
  memcpy(out->shape, shape, sizeof shape);
  out->numel = n;
  return RT_OK;
}

RtStatus rt_npy_load(const char *path, RtArray *out, RtError *err) {
  if (out)
    memset(out, 0, sizeof *out);
  uint8_t *buf;
  size_t len;
  RtStatus s = rt_read_file(path, &buf, &len, err);
  if (s != RT_OK)
    return s;
  s = rt_npy_load_memory(buf, len, path, out, err);
  free(buf);
  return s;
}

typedef struct NpyJob {
  const char *header;
  size_t header_len;
  const float *data;
  size_t n;
} NpyJob;

static bool npy_body(FILE *f, void *ctx) {
  const NpyJob *j = ctx;
  if (!rt_fwrite_all(f, j->header, j->header_len))
    return false;
  uint8_t chunk[4096];
  for (size_t i = 0; i < j->n;) {
    size_t k = 0;
    for (; k < sizeof chunk / 4 && i < j->n; k++, i++) {
      uint32_t u;
      memcpy(&u, &j->data[i], 4);
      chunk[4 * k] = (uint8_t)u;
      chunk[4 * k + 1] = (uint8_t)(u >> 8);
      chunk[4 * k + 2] = (uint8_t)(u >> 16);
      chunk[4 * k + 3] = (uint8_t)(u >> 24);
    }
    if (!rt_fwrite_all(f, chunk, 4 * k))
      return false;
  }
  return true;
}

RtStatus rt_npy_save_f32(const char *path, const float *data, int ndim, const int64_t *shape,
                         RtError *err) {
  const char *L = path ? path : "<null>";
  if (!path || ndim < 0 || ndim > RT_MAX_DIMS || (ndim && !shape))
    return rt_fail(err, RT_ERR_ARG, "%s: rt_npy_save_f32: invalid arguments", L);
  uint64_t numel = 1;
  char dict[400];
  size_t k = (size_t)snprintf(dict, sizeof dict,
                              "{'descr': '<f4', 'fortran_order': False, 'shape': (");
  for (int d = 0; d < ndim; d++) {
    if (shape[d] < 0 || !rt_mul_u64(numel, (uint64_t)shape[d], &numel))
      return rt_fail(err, RT_ERR_ARG, "%s: invalid dimension %d (%lld)", L, d,
                     (long long)shape[d]);
    k += (size_t)snprintf(dict + k, sizeof dict - k, "%lld%s", (long long)shape[d],
                          ndim == 1 ? "," : d + 1 < ndim ? ", " : "");
  }
  k += (size_t)snprintf(dict + k, sizeof dict - k, "), }");
  if (numel && !data)
    return rt_fail(err, RT_ERR_ARG, "%s: data is NULL", L);
  if (numel > SIZE_MAX / 4)
    return rt_fail(err, RT_ERR_ARG, "%s: array too large", L);
  /* Pad so that magic + length + dict + '\n' is a multiple of 64, as numpy does. */
  size_t total = (10 + k + 1 + 63) / 64 * 64;
  char header[512];
  memcpy(header, "\x93NUMPY\x01\x00", 8);
  size_t hl = total - 10;
  header[8] = (char)(hl & 0xff);
  header[9] = (char)(hl >> 8);
  memcpy(header + 10, dict, k);
  memset(header + 10 + k, ' ', total - 10 - k - 1);
  header[total - 1] = '\n';
  NpyJob job = {header, total, data, (size_t)numel};
  return rt_atomic_write(path, npy_body, &job, err);
}
