/* Helpers shared by the runtime's file I/O modules (runtime/io/): error
 * formatting, whole-file reads, byte-order helpers and the atomic writer.
 * Not installed; tests/io includes it to exercise the atomic writer. */
#ifndef NETC_IO_INTERNAL_H
#define NETC_IO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "netc/io.h"

#if defined(__GNUC__) || defined(__clang__)
#define RT_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define RT_PRINTF(f, a)
#endif

/* Formats err->msg (if err is not NULL) and returns s, so that failures read
 * `return rt_fail(err, RT_ERR_FORMAT, "%s: ...", label, ...);`. */
RtStatus rt_fail(RtError *err, RtStatus s, const char *fmt, ...) RT_PRINTF(3, 4);

/* strerror() without the shared static buffer: writes into buf. */
const char *rt_errno_text(int errnum, char *buf, size_t size);

/* Reads a whole regular file. *data is malloc'd (at least 1 byte even for an
 * empty file; the caller frees it), *len is its length. */
RtStatus rt_read_file(const char *path, uint8_t **data, size_t *len, RtError *err);

/* Writes the body of a file; returns false on failure with errno set. */
typedef bool (*RtBodyFn)(FILE *f, void *ctx);

/* Atomic replace: creates "<path>.tmp-XXXXXX" next to path, calls body,
 * fflush + fsync, renames it over path, fsyncs the directory. On any failure
 * the temporary file is removed and path is untouched. The new file gets the
 * old target's permission bits, or 0644 when there was no target. */
RtStatus rt_atomic_write(const char *path, RtBodyFn body, void *ctx, RtError *err);

/* fwrite of exactly n bytes; false on a short write. */
bool rt_fwrite_all(FILE *f, const void *p, size_t n);

bool rt_host_is_little_endian(void);
uint64_t rt_load_le64(const uint8_t *p);
uint32_t rt_load_le32(const uint8_t *p);
uint16_t rt_load_le16(const uint8_t *p);
uint32_t rt_load_be32(const uint8_t *p);
void rt_store_le64(uint8_t *p, uint64_t v);
/* Reverses each `size`-byte element of p[0..n*size) in place. */
void rt_bswap_elems(void *p, size_t n, size_t size);

/* a * b into *out; false on overflow. */
bool rt_mul_u64(uint64_t a, uint64_t b, uint64_t *out);

#endif /* NETC_IO_INTERNAL_H */
