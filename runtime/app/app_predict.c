/* app_predict.c: `predict`, the network on one PNG image or on the rows of
 * an .npy array; prints the top classes and optionally writes the raw
 * output. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "app_internal.h"

enum { DEFAULT_NPY_BATCH = 64, MAX_VALUES_SHOWN = 32 };

typedef enum InputKind { IN_PNG, IN_NPY, IN_UNKNOWN } InputKind;

/* By content: the PNG signature or NumPy's magic; the extension otherwise
 * (so that a truncated file still gets the right loader's message). */
static InputKind input_kind(const char *path, const AppArgs *a, int *rc) {
  FILE *f = fopen(path, "rb");
  *rc = APP_EXIT_OK;
  if (!f) {
    *rc = app_fail(a, APP_EXIT_DATA, "%s: cannot open: %s", path, strerror(errno));
    return IN_UNKNOWN;
  }
  unsigned char h[8] = {0};
  size_t n = fread(h, 1, sizeof h, f);
  fclose(f);
  if (n >= 8 && !memcmp(h, "\x89PNG\r\n\x1a\n", 8))
    return IN_PNG;
  if (n >= 6 && !memcmp(h, "\x93NUMPY", 6))
    return IN_NPY;
  size_t len = strlen(path);
  if (len >= 4 && !strcasecmp(path + len - 4, ".png"))
    return IN_PNG;
  if (len >= 4 && !strcasecmp(path + len - 4, ".npy"))
    return IN_NPY;
  *rc = app_fail(a, APP_EXIT_DATA, "%s: neither a PNG image nor a NumPy .npy array", path);
  return IN_UNKNOWN;
}

/* Reads the input into *x (rows * input_size floats, malloc'd). */
static int load_input(const AppArgs *a, const AppNet *net, float **x, int *rows) {
  const NetcModel *m = net->m;
  char sb[64];
  int rc;
  *x = NULL;
  *rows = 0;
  InputKind kind = input_kind(a->input, a, &rc);
  if (rc)
    return rc;
  RtError err = {{0}};
  if (kind == IN_PNG) {
    int h, w, c;
    if (!app_input_image_shape(m, &h, &w, &c))
      return app_fail(a, APP_EXIT_DATA, "%s: the model's input %s is not an image; give an .npy", a->input,
                      app_shape_str(sb, sizeof sb, m->input_rank, m->input_shape));
    float *v = malloc(m->input_size * sizeof(float));
    if (!v)
      return app_fail(a, APP_EXIT_DATA, "out of memory");
    if (rt_png_load_for_model(a->input, h, w, c, v, &err) != RT_OK) {
      free(v);
      return app_fail(a, APP_EXIT_DATA, "%s", err.msg);
    }
    app_normalize(net, v);
    *x = v;
    *rows = 1;
    return APP_EXIT_OK;
  }
  RtArray arr = {0};
  if (rt_npy_load(a->input, &arr, &err) != RT_OK)
    return app_fail(a, APP_EXIT_DATA, "%s", err.msg);
  size_t inner = 1;
  for (int i = 1; i < arr.ndim; i++)
    inner *= (size_t)arr.shape[i];
  size_t n;
  if (arr.ndim >= 2 && inner == m->input_size)
    n = (size_t)arr.shape[0];
  else if (arr.numel == m->input_size)
    n = 1;
  else {
    char ab[160];
    size_t k = 0;
    for (int i = 0; i < arr.ndim && k < sizeof ab; i++)
      k += (size_t)snprintf(ab + k, sizeof ab - k, "%s%lld", i ? "," : "", (long long)arr.shape[i]);
    if (arr.ndim == 0)
      snprintf(ab, sizeof ab, "scalar");
    rt_array_free(&arr);
    app_shape_str(sb, sizeof sb, m->input_rank, m->input_shape);
    return app_fail(a, APP_EXIT_DATA, "%s: shape [%s] does not fit the model's input %s (%zu values), "
                    "with or without a leading batch dimension", a->input, ab, sb, m->input_size);
  }
  if (n == 0 || n > 100000000) {
    rt_array_free(&arr);
    return app_fail(a, APP_EXIT_DATA, "%s: %zu rows; expected 1 or more", a->input, n);
  }
  *x = arr.data; /* rt_array_free would only free data */
  *rows = (int)n;
  return APP_EXIT_OK;
}

/* Whether class ia ranks before class ib. */
static bool ranks_before(const float *v, int ia, int ib) {
  return v[ia] != v[ib] ? v[ia] > v[ib] : ia < ib;
}

/* Indices of the k largest values (ties: the lower index first), by a
 * partial selection sort: k is small. */
static void top_k(const float *v, int n, int k, int *idx) {
  for (int i = 0; i < n; i++)
    idx[i] = i;
  for (int i = 0; i < k; i++) {
    int best = i;
    for (int j = i + 1; j < n; j++)
      if (ranks_before(v, idx[j], idx[best]))
        best = j;
    int t = idx[i];
    idx[i] = idx[best];
    idx[best] = t;
  }
}

static void print_row(const AppArgs *a, const NetcModel *m, const float *out, int row, int *idx) {
  int n = (int)m->output_size;
  if (app_is_probability(out, m->output_size)) {
    int k = a->top < n ? a->top : n;
    top_k(out, n, k, idx);
    printf("%s[%d]: top %d of %d classes\n", a->input, row, k, n);
    for (int i = 0; i < k; i++)
      printf("  class %d: %.6f\n", idx[i], (double)out[idx[i]]);
  } else {
    int k = n < MAX_VALUES_SHOWN ? n : MAX_VALUES_SHOWN;
    printf("%s[%d]: %d output values\n", a->input, row, n);
    for (int i = 0; i < k; i++)
      printf("  value %d: %.6g\n", i, (double)out[i]);
    if (k < n)
      printf("  ... %d more (use --output)\n", n - k);
  }
}

int app_cmd_predict(const AppArgs *a, const NetcModel *m) {
  AppNet net;
  int rc = app_net_new(a, m, &net);
  if (rc)
    return rc;
  float *x = NULL, *y = NULL;
  int *idx = NULL;
  int rows = 0;
  rc = app_net_load_weights(a, &net, a->weights);
  if (!rc)
    rc = load_input(a, &net, &x, &rows);
  int chunk = a->batch ? a->batch : DEFAULT_NPY_BATCH;
  if (chunk > rows)
    chunk = rows;
  if (!rc) {
    app_net_prepare(&net);
    rc = app_net_reserve(a, &net, chunk);
  }
  if (!rc) {
    y = malloc((size_t)rows * m->output_size * sizeof(float));
    idx = malloc(m->output_size * sizeof(int));
    if (!y || !idx)
      rc = app_fail(a, APP_EXIT_DATA, "out of memory for %d outputs", rows);
  }
  for (int r = 0; !rc && r < rows; r += chunk) {
    int n = rows - r < chunk ? rows - r : chunk;
    rc = app_net_forward(a, &net, x + (size_t)r * m->input_size, y + (size_t)r * m->output_size, n);
  }
  for (int r = 0; !rc && r < rows; r++)
    print_row(a, m, y + (size_t)r * m->output_size, r, idx);
  if (!rc && a->output) {
    int64_t shape[4] = {rows};
    int ndim = 1;
    for (int k = 0; k < m->output_rank && k < 3; k++)
      shape[ndim++] = m->output_shape[k];
    if (m->output_rank < 1)
      shape[ndim++] = (int64_t)m->output_size;
    RtError err = {{0}};
    if (rt_npy_save_f32(a->output, y, ndim, shape, &err) != RT_OK)
      rc = app_fail(a, APP_EXIT_DATA, "%s", err.msg);
  }
  free(x);
  free(y);
  free(idx);
  app_net_free(&net);
  return rc;
}
