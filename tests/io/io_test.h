/* Tiny test harness shared by the tests/io programs: checks that count
 * failures instead of aborting, error-message assertions, and scratch
 * directories. Header-only so each test is one C file. */
#ifndef NETC_IO_TEST_H
#define NETC_IO_TEST_H

#define _POSIX_C_SOURCE 200809L

#include <dirent.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "netc/io.h"

/* The error slot every test passes; tests are single-threaded. */
static RtError ERR;
static int t_failures;
static int t_checks;

#define CHECK(cond)                                                                \
  do {                                                                             \
    t_checks++;                                                                    \
    if (!(cond)) {                                                                 \
      t_failures++;                                                                \
      fprintf(stderr, "%s:%d: CHECK failed: %s\n", __FILE__, __LINE__, #cond);     \
    }                                                                              \
  } while (0)

/* Asserts success and prints the message otherwise. */
#define CHECK_OK(expr)                                                             \
  do {                                                                             \
    t_checks++;                                                                    \
    RtStatus s_ = (expr);                                                          \
    if (s_ != RT_OK) {                                                             \
      t_failures++;                                                                \
      fprintf(stderr, "%s:%d: %s failed: %s\n", __FILE__, __LINE__, #expr, ERR.msg);\
    }                                                                              \
  } while (0)

/* Checks a failing call: its status and that err->msg holds every needle
 * (a NULL-terminated list). Prints the message either way, so that a run
 * of the test shows what users would read. */
static inline void check_err_at(const char *file, int line, RtStatus got, RtStatus want,
                         const RtError *err, ...) {
  t_checks++;
  bool ok = got == want;
  if (!ok)
    fprintf(stderr, "%s:%d: status %s, want %s\n", file, line, rt_status_name(got),
            rt_status_name(want));
  va_list ap;
  va_start(ap, err);
  for (const char *needle; (needle = va_arg(ap, const char *));)
    if (!strstr(err->msg, needle)) {
      fprintf(stderr, "%s:%d: message lacks \"%s\"\n", file, line, needle);
      ok = false;
    }
  va_end(ap);
  if (!ok)
    t_failures++;
  fprintf(stderr, "  %s %s\n", ok ? "ok:" : "BAD:", err->msg);
}
#define CHECK_ERR(expr, want, ...)                                                 \
  check_err_at(__FILE__, __LINE__, (expr), (want), &ERR, __VA_ARGS__, (const char *)NULL)

static inline int t_finish(const char *name) {
  printf("%s: %d checks, %d failed\n", name, t_checks, t_failures);
  return t_failures ? 1 : 0;
}

/* A fresh scratch directory under $TMPDIR (or /tmp); malloc'd path. */
static inline char *t_mkdtemp(void) {
  const char *base = getenv("TMPDIR");
  if (!base || !*base)
    base = "/tmp";
  size_t n = strlen(base) + 32;
  char *p = malloc(n);
  snprintf(p, n, "%s/netc-io-XXXXXX", base);
  if (!mkdtemp(p)) {
    perror("mkdtemp");
    exit(2);
  }
  return p;
}

/* dir/name in a static rotating buffer (tests only). */
static inline const char *t_path(const char *dir, const char *name) {
  static char bufs[8][1024];
  static int k;
  char *b = bufs[k++ % 8];
  snprintf(b, sizeof bufs[0], "%s/%s", dir, name);
  return b;
}

static inline void t_write(const char *path, const void *data, size_t n) {
  FILE *f = fopen(path, "wb");
  if (!f || (n && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
    perror(path);
    exit(2);
  }
}

/* The whole file, malloc'd; *n its size. NULL if it cannot be read. */
static inline unsigned char *t_slurp(const char *path, size_t *n) {
  *n = 0;
  FILE *f = fopen(path, "rb");
  if (!f)
    return NULL;
  fseek(f, 0, SEEK_END);
  long sz = ftell(f);
  fseek(f, 0, SEEK_SET);
  unsigned char *b = malloc((size_t)sz + 1);
  *n = fread(b, 1, (size_t)sz, f);
  fclose(f);
  return b;
}

static inline size_t t_count_entries(const char *dir) {
  DIR *d = opendir(dir);
  size_t n = 0;
  if (!d)
    return 0;
  for (struct dirent *e; (e = readdir(d));)
    if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
      n++;
  closedir(d);
  return n;
}

/* Removes a scratch directory and everything in it (one level of
 * subdirectories, which is all the tests make). */
static inline void t_rmtree(const char *dir) {
  DIR *d = opendir(dir);
  if (d) {
    for (struct dirent *e; (e = readdir(d));) {
      if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
        continue;
      size_t n = strlen(dir) + strlen(e->d_name) + 2;
      char *p = malloc(n);
      snprintf(p, n, "%s/%s", dir, e->d_name);
      struct stat st;
      if (lstat(p, &st) == 0 && S_ISDIR(st.st_mode))
        t_rmtree(p);
      else
        unlink(p);
      free(p);
    }
    closedir(d);
  }
  rmdir(dir);
}

#endif /* NETC_IO_TEST_H */
