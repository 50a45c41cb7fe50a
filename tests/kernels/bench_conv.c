/* Conv benchmark (built, not run as a test): GFLOP/s of a few conv shapes
 * through rt_conv2d (OpenBLAS), rt_conv2d_packed (netc's GEMM on a kernel
 * packed beforehand) and, for 3x3 stride-1 shapes, rt_conv2d_winograd with
 * tiles 2 and 4 (its rate counted in the direct convolution's FLOPs, so
 * "effective"), against
 * the SGEMM peak of the same machine measured in the same run, median of
 * repeats.
 *
 *   bench_conv [threads] [batch] [name filter]
 *
 * The reference SGEMM: T OpenMP threads each running a one-thread 1024^3
 * SGEMM (how the kernels use OpenBLAS; OpenBLAS's own threading, printed
 * once for comparison, was slower here). It is timed alternately with
 * every conv repeat, so that both see the same machine when other
 * processes share the cores, and the fraction reported is the median of
 * the per-repeat ratios. On a machine shared with other busy processes,
 * run multi-threaded small batches with OMP_WAIT_POLICY=passive: spinning
 * at a barrier while the other thread is descheduled cost 10-50x at
 * batch 1 in measurement. */
#include <cblas.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netc/kernels.h"

enum { REPS = 7 };

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *t, int n) {
  qsort(t, n, sizeof *t, cmp_double);
  return t[n / 2];
}

static float *fill(size_t n) {
  float *p = malloc(n * sizeof *p);
  if (!p) {
    fprintf(stderr, "out of memory\n");
    exit(2);
  }
  unsigned s = 12345;
  for (size_t i = 0; i < n; i++) {
    s = s * 1103515245u + 12345u;
    p[i] = (float)((s >> 9) & 0xffff) / 65536.0f - 0.5f;
  }
  return p;
}

static double peak_openblas(int threads, int n) {
  float *a = fill((size_t)n * n), *b = fill((size_t)n * n), *c = fill((size_t)n * n);
  openblas_set_num_threads(threads);
  double t[REPS];
  for (int r = -1; r < REPS; r++) {
    double t0 = omp_get_wtime();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, a, n,
                b, n, 0.0f, c, n);
    if (r >= 0)
      t[r] = omp_get_wtime() - t0;
  }
  free(a), free(b), free(c);
  openblas_set_num_threads(1);
  return 2.0 * n * n * n / median(t, REPS) / 1e9;
}

/* The reference GEMM: each of T OpenMP threads runs a one-thread square
 * SGEMM of its own (OpenBLAS's own threading measured slower here). */
typedef struct Gemm {
  int n, threads;
  float *a, *b, *c;
} Gemm;

static double gemm_seconds(const Gemm *g) {
  double t0 = omp_get_wtime();
  int n = g->n;
#pragma omp parallel num_threads(g->threads)
  cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1.0f, g->a,
              n, g->b, n, 0.0f, g->c + (size_t)omp_get_thread_num() * n * n, n);
  return omp_get_wtime() - t0;
}

static double gemm_flops(const Gemm *g) {
  return 2.0 * g->n * g->n * g->n * g->threads;
}

typedef struct Shape {
  const char *name;
  int h, w, c, oc, k, s, groups;
} Shape;

/* Times the conv and the reference GEMM alternately, so both see the same
 * machine (other processes share these cores), and reports the median
 * conv rate, the median GEMM rate and the median of per-repeat ratios. */
/* path: 0 rt_conv2d, 1 rt_conv2d_packed, 2 or 4 rt_conv2d_winograd with
 * that tile. */
static void bench(const RtContext *ctx, const Gemm *g, const Shape *sh,
                  int batch, int path) {
  int winograd = path >= 2 ? path : 0;
  int pad = sh->k / 2; /* 'same' for odd kernels */
  RtConv2d d = {.n = batch, .h = sh->h, .w = sh->w, .c = sh->c,
                .oh = (sh->h + 2 * pad - sh->k) / sh->s + 1,
                .ow = (sh->w + 2 * pad - sh->k) / sh->s + 1, .oc = sh->oc,
                .kh = sh->k, .kw = sh->k, .sh = sh->s, .sw = sh->s,
                .pad_top = pad, .pad_left = pad, .groups = sh->groups};
  int gr = sh->groups ? sh->groups : 1;
  float *in = fill((size_t)batch * sh->h * sh->w * sh->c);
  float *kernel = fill((size_t)sh->k * sh->k * (sh->c / gr) * sh->oc);
  float *bias = fill(sh->oc);
  float *out = fill((size_t)batch * d.oh * d.ow * sh->oc);
  size_t wsn = winograd ? rt_conv2d_winograd_workspace_floats(&d, winograd)
                        : rt_conv2d_workspace_floats(&d);
  float *ws = wsn ? fill(wsn) : NULL;
  float *u = NULL;
  int k = sh->k * sh->k * (sh->c / gr);
  if (winograd) {
    u = fill(rt_winograd_kernel_floats(sh->c, sh->oc, winograd));
    rt_winograd_kernel(u, kernel, sh->c, sh->oc, winograd);
  } else if (path == 1) {
    u = fill(rt_conv2d_packed_kernel_floats(k, sh->oc, gr));
    rt_conv2d_pack_kernel(u, kernel, k, sh->oc, gr);
  }
  RtEpilogue ep = {.bias = bias, .act = RT_ACT_RELU};
  double flops = 2.0 * batch * d.oh * d.ow * sh->oc * sh->k * sh->k * (sh->c / gr);
  double conv_rate[REPS], gemm_rate[REPS], ratio[REPS];
  for (int r = -1; r < REPS; r++) {
    double tg = gemm_seconds(g);
    double t0 = omp_get_wtime();
    RtStatus st = winograd    ? rt_conv2d_winograd(ctx, out, in, u, NULL, &ep, &d, winograd, ws, wsn)
                  : path == 1 ? rt_conv2d_packed(ctx, out, in, u, &ep, &d, ws, wsn)
                              : rt_conv2d(ctx, out, in, kernel, &ep, &d, ws, wsn);
    if (st != RT_OK) {
      fprintf(stderr, "rt_conv2d failed on %s\n", sh->name);
      exit(1);
    }
    double tc = omp_get_wtime() - t0;
    if (r >= 0) {
      conv_rate[r] = flops / tc / 1e9;
      gemm_rate[r] = gemm_flops(g) / tg / 1e9;
      ratio[r] = conv_rate[r] / gemm_rate[r];
    }
  }
  printf("%-30s %-9s %9.1f %9.1f %7.0f%%\n", sh->name,
         winograd == 2 ? "F(2x2)" : winograd == 4 ? "F(4x4)" : path == 1 ? "packed" : "openblas", median(conv_rate, REPS),
         median(gemm_rate, REPS), 100 * median(ratio, REPS));
  free(in), free(kernel), free(bias), free(out), free(ws), free(u);
}

int main(int argc, char **argv) {
  int threads = argc > 1 ? atoi(argv[1]) : omp_get_max_threads();
  int batch = argc > 2 ? atoi(argv[2]) : 64;
  const char *filter = argc > 3 ? argv[3] : NULL; /* shapes whose name has it */
  if (threads < 1 || batch < 1) {
    fprintf(stderr, "usage: bench_conv [threads] [batch] [name filter]\n");
    return 2;
  }
  printf("threads %d, batch %d, OpenBLAS %s\n", threads, batch,
         openblas_get_corename());
  printf("SGEMM 2048^3 with OpenBLAS's own %d threads: %.1f GFLOP/s\n", threads,
         peak_openblas(threads, 2048));
  Gemm g = {.n = 1024, .threads = threads};
  g.a = fill((size_t)g.n * g.n);
  g.b = fill((size_t)g.n * g.n);
  g.c = fill((size_t)g.n * g.n * threads);
  static const Shape shapes[] = {
      {"28x28x64->64 3x3", 28, 28, 64, 64, 3, 1, 1},
      {"14x14x128->128 3x3", 14, 14, 128, 128, 3, 1, 1},
      {"4x4x256->256 3x3", 4, 4, 256, 256, 3, 1, 1},
      {"32x32x64->64 3x3", 32, 32, 64, 64, 3, 1, 1},
      {"32x32x32->32 3x3", 32, 32, 32, 32, 3, 1, 1},
      {"16x16x128->128 3x3", 16, 16, 128, 128, 3, 1, 1},
      {"8x8x256->256 3x3", 8, 8, 256, 256, 3, 1, 1},
      {"32x32x64->64 3x3 s2", 32, 32, 64, 64, 3, 2, 1},
      {"32x32x3->32 3x3 (first)", 32, 32, 3, 32, 3, 1, 1},
      {"32x32x3->64 3x3 (first)", 32, 32, 3, 64, 3, 1, 1},
      {"32x32x32->64 1x1 s2", 32, 32, 32, 64, 1, 2, 1},
      {"16x16x64->128 1x1 s2", 16, 16, 64, 128, 1, 2, 1},
      {"32x32x64->128 1x1", 32, 32, 64, 128, 1, 1, 1},
      {"16x16x128->128 3x3 g4", 16, 16, 128, 128, 3, 1, 4},
      {"32x32x64 depthwise 3x3", 32, 32, 64, 64, 3, 1, 64},
  };
  RtContext ctx = {.num_threads = threads};
  printf("reference: %d threads x one-thread SGEMM %d^3, run alternately with "
         "each conv\n", threads, g.n);
  printf("%-30s %-9s %9s %9s %8s\n", "conv (same, bias+relu)", "path",
         "GFLOP/s", "SGEMM", "of SGEMM");
  for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
    const Shape *sh = &shapes[i];
    if (filter && !strstr(sh->name, filter))
      continue;
    bench(&ctx, &g, sh, batch, 0);
    int dw = sh->groups > 1 && sh->c / sh->groups == 1;
    if (!dw)
      bench(&ctx, &g, sh, batch, 1);
    if (sh->k == 3 && sh->s == 1 && sh->groups <= 1) {
      bench(&ctx, &g, sh, batch, 2);
      bench(&ctx, &g, sh, batch, 4);
    }
  }
  free(g.a), free(g.b), free(g.c);
  return 0;
}
