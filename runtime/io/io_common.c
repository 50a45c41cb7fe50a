/* Shared pieces of the runtime's file I/O: error formatting, whole-file
 * reads, the atomic writer (temp file + fsync + rename) and byte order. */
#define _POSIX_C_SOURCE 200809L

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_internal.h"

const char *rt_status_name(RtStatus s) {
  switch (s) {
  case RT_OK: return "ok";
  case RT_ERR_IO: return "I/O error";
  case RT_ERR_FORMAT: return "malformed file";
  case RT_ERR_MISMATCH: return "mismatch";
  case RT_ERR_NOMEM: return "out of memory";
  case RT_ERR_ARG: return "invalid argument";
  }
  return "unknown status";
}

RtStatus rt_fail(RtError *err, RtStatus s, const char *fmt, ...) {
  if (err) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof err->msg, fmt, ap);
    va_end(ap);
  }
  return s;
}

const char *rt_errno_text(int errnum, char *buf, size_t size) {
  /* _POSIX_C_SOURCE selects the XSI strerror_r, which returns int. */
  if (strerror_r(errnum, buf, size) != 0)
    snprintf(buf, size, "error %d", errnum);
  return buf;
}

RtStatus rt_read_file(const char *path, uint8_t **data, size_t *len, RtError *err) {
  char eb[128];
  *data = NULL;
  *len = 0;
  if (!path)
    return rt_fail(err, RT_ERR_ARG, "no file name given");
  FILE *f = fopen(path, "rb");
  if (!f)
    return rt_fail(err, RT_ERR_IO, "%s: cannot open: %s", path,
                   rt_errno_text(errno, eb, sizeof eb));
  struct stat st;
  if (fstat(fileno(f), &st) != 0) {
    int e = errno;
    fclose(f);
    return rt_fail(err, RT_ERR_IO, "%s: cannot stat: %s", path, rt_errno_text(e, eb, sizeof eb));
  }
  if (!S_ISREG(st.st_mode)) {
    fclose(f);
    return rt_fail(err, RT_ERR_IO, "%s: not a regular file", path);
  }
  if ((uint64_t)st.st_size >= (uint64_t)SIZE_MAX) {
    fclose(f);
    return rt_fail(err, RT_ERR_NOMEM, "%s: file too large (%lld bytes)", path,
                   (long long)st.st_size);
  }
  size_t n = (size_t)st.st_size;
  uint8_t *buf = malloc(n + 1);
  if (!buf) {
    fclose(f);
    return rt_fail(err, RT_ERR_NOMEM, "%s: out of memory reading %zu bytes", path, n);
  }
  size_t got = fread(buf, 1, n, f);
  if (got != n) {
    int e = ferror(f) ? errno : 0;
    fclose(f);
    free(buf);
    if (e)
      return rt_fail(err, RT_ERR_IO, "%s: read failed at byte %zu: %s", path, got,
                     rt_errno_text(e, eb, sizeof eb));
    return rt_fail(err, RT_ERR_IO, "%s: file shrank while reading (%zu of %zu bytes)",
                   path, got, n);
  }
  fclose(f);
  *data = buf;
  *len = n;
  return RT_OK;
}

bool rt_fwrite_all(FILE *f, const void *p, size_t n) {
  return n == 0 || fwrite(p, 1, n, f) == n;
}

/* The directory part of path ("." when there is none); malloc'd. */
static char *dir_of(const char *path) {
  const char *slash = strrchr(path, '/');
  if (!slash) {
    char *d = malloc(2);
    if (d) memcpy(d, ".", 2);
    return d;
  }
  size_t n = slash == path ? 1 : (size_t)(slash - path);
  char *d = malloc(n + 1);
  if (d) {
    memcpy(d, path, n);
    d[n] = '\0';
  }
  return d;
}

RtStatus rt_atomic_write(const char *path, RtBodyFn body, void *ctx, RtError *err) {
  char eb[128];
  if (!path || !*path)
    return rt_fail(err, RT_ERR_ARG, "no output file name given");
  size_t plen = strlen(path);
  static const char suffix[] = ".tmp-XXXXXX";
  char *tmp = malloc(plen + sizeof suffix);
  if (!tmp)
    return rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", path);
  memcpy(tmp, path, plen);
  memcpy(tmp + plen, suffix, sizeof suffix);

  mode_t mode = 0644;
  struct stat old;
  if (stat(path, &old) == 0 && S_ISREG(old.st_mode))
    mode = old.st_mode & 07777;

  int fd = mkstemp(tmp);
  if (fd < 0) {
    RtStatus s = rt_fail(err, RT_ERR_IO, "%s: cannot create temporary file %s: %s", path,
                         tmp, rt_errno_text(errno, eb, sizeof eb));
    free(tmp);
    return s;
  }
  FILE *f = fdopen(fd, "wb");
  if (!f) {
    int e = errno;
    close(fd);
    unlink(tmp);
    free(tmp);
    return rt_fail(err, RT_ERR_IO, "%s: fdopen failed: %s", path, rt_errno_text(e, eb, sizeof eb));
  }
  const char *step = NULL;
  int e = 0;
  errno = 0;
  if (!body(f, ctx)) {
    step = "write";
    e = errno ? errno : EIO;
  } else if (fflush(f) != 0) {
    step = "write";
    e = errno;
  } else if (fchmod(fd, mode) != 0) {
    step = "chmod";
    e = errno;
  } else if (fsync(fd) != 0) {
    step = "fsync";
    e = errno;
  }
  if (fclose(f) != 0 && !step) {
    step = "close";
    e = errno;
  }
  if (!step && rename(tmp, path) != 0) {
    step = "rename";
    e = errno;
  }
  if (step) {
    unlink(tmp);
    RtStatus s = rt_fail(err, RT_ERR_IO, "%s: %s of temporary file %s failed: %s "
                         "(the target was left unchanged)", path, step, tmp,
                         rt_errno_text(e, eb, sizeof eb));
    free(tmp);
    return s;
  }
  free(tmp);
  /* Make the rename itself durable. Best effort: some file systems refuse
   * fsync on a directory, and the data is already safely in place. */
  char *dir = dir_of(path);
  if (dir) {
    int dfd = open(dir, O_RDONLY);
    if (dfd >= 0) {
      (void)fsync(dfd);
      close(dfd);
    }
    free(dir);
  }
  return RT_OK;
}

bool rt_host_is_little_endian(void) {
  const uint16_t one = 1;
  uint8_t b;
  memcpy(&b, &one, 1);
  return b == 1;
}

uint64_t rt_load_le64(const uint8_t *p) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; i--)
    v = (v << 8) | p[i];
  return v;
}

uint32_t rt_load_le32(const uint8_t *p) {
  return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

uint16_t rt_load_le16(const uint8_t *p) {
  return (uint16_t)(p[0] | p[1] << 8);
}

uint32_t rt_load_be32(const uint8_t *p) {
  return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

void rt_store_le64(uint8_t *p, uint64_t v) {
  for (int i = 0; i < 8; i++)
    p[i] = (uint8_t)(v >> (8 * i));
}

void rt_bswap_elems(void *p, size_t n, size_t size) {
  uint8_t *b = p;
  for (size_t i = 0; i < n; i++, b += size)
    for (size_t j = 0; j < size / 2; j++) {
      uint8_t t = b[j];
      b[j] = b[size - 1 - j];
      b[size - 1 - j] = t;
    }
}

bool rt_mul_u64(uint64_t a, uint64_t b, uint64_t *out) {
  if (a != 0 && b > UINT64_MAX / a)
    return false;
  *out = a * b;
  return true;
}
