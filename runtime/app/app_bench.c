/* app_bench.c: `bench`, the latency of forward() on random input and the
 * achieved GFLOP/s as a fraction of this machine's SGEMM peak, measured in
 * the same process with the same thread count. */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <cjson/cJSON.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "app_internal.h"

enum { DEFAULT_RUNS = 20, DEFAULT_WARMUP = 3, PEAK_N = 1024, PEAK_TRIES = 5 };

static double now_s(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static int cmp_double(const void *pa, const void *pb) {
  double x = *(const double *)pa, y = *(const double *)pb;
  return (x > y) - (x < y);
}

/* The q-quantile of sorted v[0..n) with linear interpolation (NumPy's
 * default). */
static double quantile(const double *v, int n, double q) {
  double pos = q * (n - 1);
  int lo = (int)pos;
  if (lo >= n - 1)
    return v[n - 1];
  return v[lo] + (pos - lo) * (v[lo + 1] - v[lo]);
}

/* The machine's SGEMM peak on `threads` threads, in GFLOP/s (0 when memory
 * is short): the better of two ways to use the cores, each the best of
 * PEAK_TRIES runs of 1024^3 products: OpenBLAS's own threading on one
 * product, and one single-threaded product per OpenMP thread at once,
 * which is how the convolution kernels call OpenBLAS (and measured faster
 * here). OpenBLAS' thread count is restored after. */
static double sgemm_peak(int threads) {
  size_t nn = (size_t)PEAK_N * PEAK_N;
  int t_count = threads > 0 ? threads : 1;
  float *A = malloc(nn * sizeof(float)), *B = malloc(nn * sizeof(float));
  float *C = malloc(nn * sizeof(float) * (size_t)t_count);
  double best = 0;
  if (A && B && C) {
    for (size_t i = 0; i < nn; i++) {
      A[i] = (float)(i % 17) * 0.01f;
      B[i] = (float)(i % 13) * 0.01f;
    }
    int before = openblas_get_num_threads();
    for (int mode = 0; mode < 2; mode++) {
      openblas_set_num_threads(mode == 0 ? t_count : 1);
      for (int t = 0; t <= PEAK_TRIES; t++) {
        double t0 = now_s();
        if (mode == 0) {
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, PEAK_N, PEAK_N, PEAK_N, 1.0f, A, PEAK_N, B, PEAK_N,
                      0.0f, C, PEAK_N);
        } else {
#pragma omp parallel num_threads(t_count)
          cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, PEAK_N, PEAK_N, PEAK_N, 1.0f, A, PEAK_N, B, PEAK_N,
                      0.0f, C + (size_t)omp_get_thread_num() * nn, PEAK_N);
        }
        double dt = now_s() - t0;
        double g = 2.0 * PEAK_N * PEAK_N * (double)PEAK_N * (mode == 0 ? 1 : t_count) / dt * 1e-9;
        if (t > 0 && g > best) /* try 0 warms the threads up */
          best = g;
      }
    }
    openblas_set_num_threads(before);
  }
  free(A);
  free(B);
  free(C);
  return best;
}

/* Per-layer timing: forward() calls back after each layer, and the time
 * since the previous call (or the start) is that layer's. */
typedef struct LayerClock {
  double *row; /* this run's time per layer */
  double last;
  int n;
} LayerClock;

static void layer_done(void *arg, int layer) {
  LayerClock *lc = arg;
  double t = now_s();
  if (layer >= 0 && layer < lc->n)
    lc->row[layer] += t - lc->last;
  lc->last = t;
}

/* runs more runs with the layer clock: med[l] = the median over runs of
 * layer l's time. */
static int time_layers(const AppArgs *a, AppNet *net, const float *x, float *y, int batch, int runs,
                       double *med) {
  int n = net->m->num_layers;
  double *t = calloc((size_t)runs * (size_t)n, sizeof(double));
  double *col = malloc((size_t)runs * sizeof(double));
  if (!t || !col) {
    free(t);
    free(col);
    return app_fail(a, APP_EXIT_DATA, "out of memory for %d x %d layer times", runs, n);
  }
  LayerClock lc = {.n = n};
  net->ctx.layer_done = layer_done;
  net->ctx.layer_arg = &lc;
  int rc = APP_EXIT_OK;
  for (int r = 0; !rc && r < runs; r++) {
    lc.row = t + (size_t)r * n;
    lc.last = now_s();
    rc = app_net_forward(a, net, x, y, batch);
  }
  net->ctx.layer_done = NULL;
  net->ctx.layer_arg = NULL;
  for (int l = 0; !rc && l < n; l++) {
    for (int r = 0; r < runs; r++)
      col[r] = t[(size_t)r * n + l];
    qsort(col, (size_t)runs, sizeof(double), cmp_double);
    med[l] = quantile(col, runs, 0.5);
  }
  free(t);
  free(col);
  return rc;
}

/* Layer l's GFLOP/s (2 FLOPs a MAC) at `batch` images in `seconds`; 0
 * when the model lists no MACs per layer or the layer has none. */
static double layer_gflops(const NetcModel *m, int l, int batch, double seconds) {
  if (!m->layer_macs || m->layer_macs[l] <= 0 || seconds <= 0)
    return 0;
  return 2.0 * (double)m->layer_macs[l] * batch / seconds * 1e-9;
}

int app_cmd_bench(const AppArgs *a, const NetcModel *m) {
  int batch = a->batch ? a->batch : 1;
  int runs = a->runs ? a->runs : DEFAULT_RUNS;
  int warmup = a->warmup >= 0 ? a->warmup : DEFAULT_WARMUP;
  AppNet net;
  int rc = app_net_new(a, m, &net);
  if (rc)
    return rc;
  rc = a->weights ? app_net_load_weights(a, &net, a->weights) : app_net_random_weights(a, &net, a->seed);
  float *x = NULL, *y = NULL;
  double *times = NULL, *layer_ms = NULL;
  if (!rc && a->layers && (!m->layer_names || m->num_layers < 1))
    rc = app_fail(a, APP_EXIT_USAGE, "--layers: '%s' has no list of layers (emitted by a netc older than --layers?)",
                  m->name ? m->name : "?");
  if (!rc) {
    app_net_prepare(&net);
    rc = app_net_reserve(a, &net, batch);
  }
  if (!rc) {
    x = malloc((size_t)batch * m->input_size * sizeof(float));
    y = malloc((size_t)batch * m->output_size * sizeof(float));
    times = malloc((size_t)runs * sizeof(double));
    if (!x || !y || !times)
      rc = app_fail(a, APP_EXIT_DATA, "out of memory for batch %d", batch);
  }
  if (!rc) {
    uint64_t state = a->seed ^ 0x5EEDBE7C4ull;
    for (int b = 0; b < batch; b++) {
      float *xb = x + (size_t)b * m->input_size;
      for (size_t i = 0; i < m->input_size; i++)
        xb[i] = (float)app_rng_uniform(&state);
      app_normalize(&net, xb);
    }
  }
  for (int r = 0; !rc && r < warmup; r++)
    rc = app_net_forward(a, &net, x, y, batch);
  for (int r = 0; !rc && r < runs; r++) {
    double t0 = now_s();
    rc = app_net_forward(a, &net, x, y, batch);
    times[r] = now_s() - t0;
  }
  if (!rc && a->layers) {
    layer_ms = malloc((size_t)m->num_layers * sizeof(double));
    rc = layer_ms ? time_layers(a, &net, x, y, batch, runs, layer_ms)
                  : app_fail(a, APP_EXIT_DATA, "out of memory for %d layer times", m->num_layers);
  }
  if (rc)
    goto done;
  qsort(times, (size_t)runs, sizeof(double), cmp_double);
  double layer_sum = 0;
  for (int l = 0; layer_ms && l < m->num_layers; l++)
    layer_sum += layer_ms[l];
  double med = quantile(times, runs, 0.5), q1 = quantile(times, runs, 0.25), q3 = quantile(times, runs, 0.75);
  double tmin = times[0], tmax = times[runs - 1];
  int threads = a->threads ? a->threads : omp_get_max_threads();
  int peak_threads = threads;
  const char *ob = getenv("OPENBLAS_NUM_THREADS");
  if (!a->threads && ob && atoi(ob) > 0)
    peak_threads = atoi(ob);
  double peak = sgemm_peak(peak_threads);
  const char *better = rt_blas_better_coretype();
  if (better) /* OPENBLAS_CORETYPE set by hand, else app_blas_restart saw to it */
    app_warn(a, "OpenBLAS runs its %s kernels, narrower than this CPU's: the SGEMM peak is understated "
             "(OPENBLAS_CORETYPE=%s fits it)", rt_blas_coretype(), better);
  double flop = 2.0 * (double)m->macs_per_image * batch;
  double gflops = med > 0 ? flop / med * 1e-9 : 0;
  double ips = med > 0 ? batch / med : 0;
  double frac = peak > 0 ? gflops / peak : 0;
  if (a->json) {
    cJSON *o = cJSON_CreateObject(), *lat = cJSON_CreateObject();
    if (!o || !lat) {
      cJSON_Delete(o);
      cJSON_Delete(lat);
      rc = app_fail(a, APP_EXIT_DATA, "out of memory");
      goto done;
    }
    cJSON_AddStringToObject(o, "model", m->name ? m->name : "");
    cJSON_AddStringToObject(o, "weights", a->weights ? a->weights : "random");
    cJSON_AddNumberToObject(o, "batch", batch);
    cJSON_AddNumberToObject(o, "batch_chunk", m->batch_chunk);
    cJSON_AddStringToObject(o, "kernel_isa", rt_kernel_isa());
    cJSON_AddNumberToObject(o, "threads", threads);
    cJSON_AddNumberToObject(o, "runs", runs);
    cJSON_AddNumberToObject(o, "warmup", warmup);
    cJSON_AddNumberToObject(o, "macs_per_image", (double)m->macs_per_image);
    cJSON_AddNumberToObject(lat, "median", med * 1e3);
    cJSON_AddNumberToObject(lat, "min", tmin * 1e3);
    cJSON_AddNumberToObject(lat, "p25", q1 * 1e3);
    cJSON_AddNumberToObject(lat, "p75", q3 * 1e3);
    cJSON_AddNumberToObject(lat, "max", tmax * 1e3);
    cJSON_AddItemToObject(o, "latency_ms", lat);
    cJSON_AddNumberToObject(o, "images_per_s", ips);
    cJSON_AddNumberToObject(o, "gflops", gflops);
    cJSON_AddNumberToObject(o, "sgemm_gflops", peak);
    cJSON_AddNumberToObject(o, "sgemm_threads", peak_threads);
    cJSON_AddStringToObject(o, "blas_coretype", rt_blas_coretype());
    cJSON_AddNumberToObject(o, "fraction_of_peak", frac);
    if (layer_ms) {
      cJSON *ls = cJSON_AddArrayToObject(o, "layers");
      for (int l = 0; ls && l < m->num_layers; l++) {
        cJSON *e = cJSON_CreateObject();
        if (!e)
          break;
        cJSON_AddStringToObject(e, "name", m->layer_names[l]);
        cJSON_AddNumberToObject(e, "median_ms", layer_ms[l] * 1e3);
        double g = layer_gflops(m, l, batch, layer_ms[l]);
        if (m->layer_macs)
          cJSON_AddNumberToObject(e, "macs_per_image", (double)m->layer_macs[l]);
        if (g > 0) {
          cJSON_AddNumberToObject(e, "gflops", g);
          cJSON_AddNumberToObject(e, "fraction_of_peak", peak > 0 ? g / peak : 0);
        }
        cJSON_AddItemToArray(ls, e);
      }
    }
    char *s = cJSON_PrintUnformatted(o);
    cJSON_Delete(o);
    if (!s) {
      rc = app_fail(a, APP_EXIT_DATA, "out of memory");
      goto done;
    }
    printf("%s\n", s);
    cJSON_free(s);
  } else {
    printf("model: %s, batch %d", m->name ? m->name : "?", batch);
    if (m->batch_chunk > 0 && batch > m->batch_chunk) /* forward()'s, see NetcModel.batch_chunk */
      printf(" (forward() runs it in chunks of at most %d)", m->batch_chunk);
    printf(", %d thread%s, %d runs after %d warm-up\n", threads, threads == 1 ? "" : "s", runs, warmup);
    printf("kernels: %s\n", rt_kernel_isa());
    printf("latency: median %.4f ms (min %.4f, p25 %.4f, p75 %.4f, max %.4f ms)\n", med * 1e3, tmin * 1e3,
           q1 * 1e3, q3 * 1e3, tmax * 1e3);
    printf("throughput: %.1f images/s\n", ips);
    printf("compute: %.3f GFLOP/s (%.4g GFLOP per run)\n", gflops, flop * 1e-9);
    printf("sgemm peak: %.3f GFLOP/s (%dx%dx%d, %d thread%s, best of %d, OpenBLAS %s kernels)\n", peak, PEAK_N,
           PEAK_N, PEAK_N, peak_threads, peak_threads == 1 ? "" : "s", PEAK_TRIES, rt_blas_coretype());
    printf("fraction of peak: %.4f\n", frac);
    if (layer_ms) {
      printf("layers: median per layer over %d more runs (their sum %.4f ms)\n", runs, layer_sum * 1e3);
      printf("%10s %7s %9s %8s  %s\n", "ms", "share", "GFLOP/s", "of peak", "layer");
      for (int l = 0; l < m->num_layers; l++) {
        printf("%10.4f %6.1f%%", layer_ms[l] * 1e3, layer_sum > 0 ? 100 * layer_ms[l] / layer_sum : 0.0);
        double g = layer_gflops(m, l, batch, layer_ms[l]);
        if (g > 0)
          printf(" %9.2f %7.1f%%", g, peak > 0 ? 100 * g / peak : 0.0);
        else /* no MACs (pool, flatten, softmax, ...): its speed is bytes, not FLOPs */
          printf(" %9s %8s", "-", "-");
        printf("  %s\n", m->layer_names[l]);
      }
    }
  }
done:
  free(x);
  free(y);
  free(times);
  free(layer_ms);
  app_net_free(&net);
  return rc;
}
