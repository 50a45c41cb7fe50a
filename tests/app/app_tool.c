/* app_tool: the test data and independent checks that test_app.sh needs,
 * built on the runtime alone (not on netcapp, which is under test):
 *   png PATH H W C SEED                 random 8-bit PNG
 *   npy PATH SEED D0 [D1 ...]           random float32 .npy in [0, 1)
 *   ref MODEL W.safetensors INPUT OUT   the model's output on a PNG or
 *                                       .npy, computed here
 *   cmpnpy A B TOL                      same shape, max |a - b| <= TOL
 *   mkidx MODEL W DIR N SEED [gz]       an IDX test set whose labels are
 *                                       the model's argmax for even images
 *                                       and argmax+1 for odd ones; prints
 *                                       the loss/accuracy eval must give
 *   mkcifar MODEL W FILE N SEED         the same as a CIFAR-10 batch
 *   stedit IN OUT drop|reshape|add|f64 NAME   damage a weights file
 *   checkinit MODEL W SEED              every tensor is its Keras init
 *   jsoncheck FILE                      bench --json has every key
 *   first W NAME                        the first 3 values of a tensor
 *   mktrain idx|cifar|png DIR N NTEST CLASSES H W C SEED [gz]
 *                                       a linearly separable training set
 *                                       (and a test set of NTEST): class k
 *                                       is bright in the k-th band of rows
 *   stinfo FILE                         metadata and tensors, one a line
 *   stval FILE NAME                     every value of a tensor
 *   csvcheck FILE ROWS                  a train --log: header, ROWS rows
 *   svgcheck FILE                       well-formed XML with an <svg> root
 * Exit status 0 when the check holds, 1 (with a message) when not. */
#define _POSIX_C_SOURCE 200809L
#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#include "app_models.h"
#include "netc/io.h"

static int fail(const char *fmt, const char *a, const char *b) {
  fprintf(stderr, "app_tool: ");
  fprintf(stderr, fmt, a, b);
  fputc('\n', stderr);
  return 1;
}

static uint64_t rng(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

/* A loaded model: compute weights ready, buffers for up to cap images. */
typedef struct Ref {
  const NetcModel *m;
  float *params, *compute, *ws;
  void *arena;
  size_t ws_floats;
  int cap;
  float mean[4], std[4]; /* linear's standardization */
} Ref;

static int ref_open(Ref *r, const char *model, const char *weights, int cap) {
  memset(r, 0, sizeof *r);
  r->m = test_model_by_name(model);
  if (!r->m)
    return fail("unknown model '%s'%s", model, "");
  const NetcModel *m = r->m;
  RtError err;
  RtSafetensors *st;
  if (rt_st_open(&st, weights, &err))
    return fail("%s%s", err.msg, "");
  r->params = calloc(m->param_floats, sizeof(float));
  r->compute = calloc(m->compute_floats, sizeof(float));
  for (int i = 0; i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    int64_t sh[4];
    for (int k = 0; k < p->rank; k++)
      sh[k] = p->shape[k];
    if (rt_st_read_f32(st, p->name, p->rank, sh, r->params + p->offset, p->count, &err)) {
      rt_st_close(st);
      return fail("%s%s", err.msg, "");
    }
  }
  if (m->normalize == NETC_NORM_STANDARDIZE) {
    int64_t sh[1] = {4};
    if (rt_st_read_f32(st, "normalize.mean", 1, sh, r->mean, 4, &err) ||
        rt_st_read_f32(st, "normalize.std", 1, sh, r->std, 4, &err)) {
      rt_st_close(st);
      return fail("%s%s", err.msg, "");
    }
  }
  rt_st_close(st);
  m->prepare(r->compute, r->params);
  r->cap = cap;
  r->ws_floats = m->workspace_floats(cap);
  r->ws = malloc((r->ws_floats + 1) * sizeof(float));
  r->arena = aligned_alloc(64, (m->arena_bytes_per_image * (size_t)cap + 64) / 64 * 64);
  return 0;
}

static void ref_close(Ref *r) {
  free(r->params);
  free(r->compute);
  free(r->ws);
  free(r->arena);
}

/* One image of pixels in [0, 1] to the model's input, written out here
 * rather than shared with netcapp. */
static void ref_normalize(const Ref *r, float *x) {
  for (size_t i = 0; i < r->m->input_size; i++) {
    switch (r->m->normalize) {
    case NETC_NORM_SCALE: break;
    case NETC_NORM_NONE: x[i] = x[i] * 255; break;
    case NETC_NORM_SYMMETRIC: x[i] = x[i] / 0.5f - 1; break;
    case NETC_NORM_STANDARDIZE: x[i] = (x[i] * 255 - r->mean[i]) / r->std[i]; break;
    }
  }
}

static int ref_forward(Ref *r, const float *in, float *out, int n) {
  RtContext ctx = {.num_threads = 1};
  for (int b = 0; b < n; b++) {
    RtStatus s = r->m->forward(&ctx, r->compute, r->arena, r->ws, r->ws_floats,
                               in + (size_t)b * r->m->input_size, out + (size_t)b * r->m->output_size, 1);
    if (s)
      return fail("forward failed: %s%s", rt_status_name(s), "");
  }
  return 0;
}

static int cmd_png(char **v) {
  int h = atoi(v[1]), w = atoi(v[2]), c = atoi(v[3]);
  uint64_t s = strtoull(v[4], NULL, 0);
  size_t n = (size_t)h * w * c;
  uint8_t *px = malloc(n);
  for (size_t i = 0; i < n; i++)
    px[i] = (uint8_t)(rng(&s) >> 56);
  RtError err;
  int rc = rt_png_save(v[0], px, h, w, c, 8, &err) ? fail("%s%s", err.msg, "") : 0;
  free(px);
  return rc;
}

static int cmd_npy(int argc, char **v) {
  uint64_t s = strtoull(v[1], NULL, 0);
  int64_t shape[8];
  int nd = argc - 2;
  size_t n = 1;
  for (int i = 0; i < nd; i++)
    n *= (size_t)(shape[i] = atoll(v[2 + i]));
  float *d = malloc((n + 1) * sizeof(float));
  for (size_t i = 0; i < n; i++)
    d[i] = (float)((rng(&s) >> 40) * (1.0 / 16777216.0));
  RtError err;
  int rc = rt_npy_save_f32(v[0], d, nd, shape, &err) ? fail("%s%s", err.msg, "") : 0;
  free(d);
  return rc;
}

static int cmd_ref(char **v) {
  Ref r;
  if (ref_open(&r, v[0], v[1], 1))
    return 1;
  const NetcModel *m = r.m;
  RtError err;
  float *x = NULL;
  int n = 1;
  const char *in = v[2];
  size_t len = strlen(in);
  if (len > 4 && !strcmp(in + len - 4, ".png")) {
    x = malloc(m->input_size * sizeof(float));
    int h = m->input_rank == 3 ? m->input_shape[0] : (int)sqrt((double)m->input_size);
    int w = m->input_rank == 3 ? m->input_shape[1] : h;
    int c = m->input_rank == 3 ? m->input_shape[2] : 1;
    if (rt_png_load_for_model(in, h, w, c, x, &err))
      return fail("%s%s", err.msg, "");
    ref_normalize(&r, x);
  } else {
    RtArray a;
    if (rt_npy_load(in, &a, &err))
      return fail("%s%s", err.msg, "");
    x = a.data;
    n = (int)(a.numel / m->input_size);
  }
  float *y = malloc((size_t)n * m->output_size * sizeof(float));
  int rc = ref_forward(&r, x, y, n);
  int64_t shape[2] = {n, (int64_t)m->output_size};
  if (!rc && rt_npy_save_f32(v[3], y, 2, shape, &err))
    rc = fail("%s%s", err.msg, "");
  free(x);
  free(y);
  ref_close(&r);
  return rc;
}

static int cmd_cmpnpy(char **v) {
  RtArray a, b;
  RtError err;
  if (rt_npy_load(v[0], &a, &err) || rt_npy_load(v[1], &b, &err))
    return fail("%s%s", err.msg, "");
  double tol = atof(v[2]), worst = 0;
  if (a.ndim != b.ndim || memcmp(a.shape, b.shape, sizeof(int64_t) * (size_t)a.ndim))
    return fail("%s and %s differ in shape", v[0], v[1]);
  for (size_t i = 0; i < a.numel; i++)
    worst = fmax(worst, fabs((double)a.data[i] - b.data[i]));
  printf("max |difference| %.3g over %zu values\n", worst, a.numel);
  rt_array_free(&a);
  rt_array_free(&b);
  return worst <= tol ? 0 : fail("%s and %s differ beyond the tolerance", v[0], v[1]);
}

/* Writes big-endian u32. */
static void put32(uint8_t *p, uint32_t x) {
  p[0] = (uint8_t)(x >> 24);
  p[1] = (uint8_t)(x >> 16);
  p[2] = (uint8_t)(x >> 8);
  p[3] = (uint8_t)x;
}

static int write_file(const char *path, const void *buf, size_t n, int gz) {
  if (gz) {
    gzFile g = gzopen(path, "wb");
    if (!g || gzwrite(g, buf, (unsigned)n) != (int)n)
      return fail("cannot write %s%s", path, "");
    gzclose(g);
    return 0;
  }
  FILE *f = fopen(path, "wb");
  if (!f || fwrite(buf, 1, n, f) != n)
    return fail("cannot write %s%s", path, "");
  fclose(f);
  return 0;
}

/* Random images for model; labels as described at the top; prints the
 * expected eval lines. images: n * h*w*c bytes, HWC. For a model of
 * another input size, the images go through rt_image_to_model. */
static int make_labelled(Ref *r, uint8_t *images, uint8_t *labels, int n, int h, int w, int c, uint64_t s) {
  const NetcModel *m = r->m;
  size_t ib = (size_t)h * w * c;
  float *x = malloc(m->input_size * sizeof(float)), *y = malloc(m->output_size * sizeof(float));
  float *tmp = malloc(ib * sizeof(float));
  double loss = 0;
  int correct = 0;
  for (int i = 0; i < n; i++) {
    uint8_t *px = images + (size_t)i * ib;
    for (size_t k = 0; k < ib; k++)
      px[k] = (uint8_t)(rng(&s) >> 56);
    for (size_t k = 0; k < ib; k++)
      tmp[k] = px[k] / 255.0f;
    if (ib == m->input_size) {
      memcpy(x, tmp, ib * sizeof(float));
    } else {
      RtImage img = {h, w, c, tmp};
      RtError err;
      if (rt_image_to_model(&img, m->input_shape[0], m->input_shape[1], m->input_shape[2], x, &err))
        return fail("%s%s", err.msg, "");
    }
    ref_normalize(r, x);
    if (ref_forward(r, x, y, 1))
      return 1;
    int best = 0;
    for (int k = 1; k < (int)m->output_size; k++)
      if (y[k] > y[best])
        best = k;
    labels[i] = (uint8_t)(i % 2 ? (best + 1) % (int)m->output_size : best);
    double p = y[labels[i]];
    p = p < 1e-7 ? 1e-7 : p > 1 - 1e-7 ? 1 - 1e-7 : p;
    loss -= log(p);
    correct += labels[i] == best;
  }
  printf("count: %d\nloss: %.4f\naccuracy: %.4f\n", n, loss / n, (double)correct / n);
  free(x);
  free(y);
  free(tmp);
  return 0;
}

static int cmd_mkidx(int argc, char **v) {
  Ref r;
  if (ref_open(&r, v[0], v[1], 1))
    return 1;
  int n = atoi(v[3]), gz = argc > 5 && !strcmp(v[5], "gz");
  uint8_t *img = malloc(16 + (size_t)n * 784), *lab = malloc(8 + (size_t)n);
  put32(img, 0x803);
  put32(img + 4, (uint32_t)n);
  put32(img + 8, 28);
  put32(img + 12, 28);
  put32(lab, 0x801);
  put32(lab + 4, (uint32_t)n);
  int rc = make_labelled(&r, img + 16, lab + 8, n, 28, 28, 1, strtoull(v[4], NULL, 0));
  char p[4096];
  snprintf(p, sizeof p, "%s/t10k-images-idx3-ubyte%s", v[2], gz ? ".gz" : "");
  rc = rc || write_file(p, img, 16 + (size_t)n * 784, gz);
  snprintf(p, sizeof p, "%s/t10k-labels-idx1-ubyte%s", v[2], gz ? ".gz" : "");
  rc = rc || write_file(p, lab, 8 + (size_t)n, gz);
  free(img);
  free(lab);
  ref_close(&r);
  return rc;
}

static int cmd_mkcifar(char **v) {
  Ref r;
  if (ref_open(&r, v[0], v[1], 1))
    return 1;
  int n = atoi(v[3]);
  uint8_t *hwc = malloc((size_t)n * 3072), *lab = malloc((size_t)n), *rec = malloc((size_t)n * 3073);
  int rc = make_labelled(&r, hwc, lab, n, 32, 32, 3, strtoull(v[4], NULL, 0));
  for (int i = 0; i < n; i++) {
    uint8_t *o = rec + (size_t)i * 3073;
    o[0] = lab[i];
    for (int p = 0; p < 1024; p++)
      for (int ch = 0; ch < 3; ch++)
        o[1 + ch * 1024 + p] = hwc[(size_t)i * 3072 + (size_t)p * 3 + ch];
  }
  rc = rc || write_file(v[2], rec, (size_t)n * 3073, 0);
  free(hwc);
  free(lab);
  free(rec);
  ref_close(&r);
  return rc;
}

static int cmd_stedit(char **v) {
  RtError err;
  RtSafetensors *st;
  RtStWriter *w;
  if (rt_st_open(&st, v[0], &err) || rt_stw_new(&w, &err))
    return fail("%s%s", err.msg, "");
  const char *op = v[2], *name = v[3];
  for (size_t i = 0; i < rt_st_metadata_count(st); i++) {
    const char *k, *val;
    rt_st_metadata_at(st, i, &k, &val);
    rt_stw_set_metadata(w, k, val, &err);
  }
  for (size_t i = 0; i < rt_st_count(st); i++) {
    const RtStTensor *t = rt_st_at(st, i);
    int64_t shape[RT_MAX_DIMS];
    memcpy(shape, t->shape, sizeof shape);
    if (strcmp(t->name, name)) {
      rt_stw_add(w, t->name, t->dtype, t->ndim, shape, t->data, &err);
    } else if (!strcmp(op, "reshape")) {
      /* The same bytes, the first two axes merged, or a 1 appended. */
      if (t->ndim >= 2) {
        shape[1] *= shape[0];
        memmove(shape, shape + 1, sizeof(int64_t) * (size_t)(t->ndim - 1));
        rt_stw_add(w, t->name, t->dtype, t->ndim - 1, shape, t->data, &err);
      } else {
        shape[t->ndim] = 1;
        rt_stw_add(w, t->name, t->dtype, t->ndim + 1, shape, t->data, &err);
      }
    } else if (!strcmp(op, "f64")) {
      double *d = malloc(t->numel * sizeof(double));
      for (uint64_t k = 0; k < t->numel; k++) {
        float f;
        memcpy(&f, t->data + 4 * k, 4);
        d[k] = f;
      }
      rt_stw_add(w, t->name, RT_DT_F64, t->ndim, shape, d, &err);
      free(d);
    } else if (strcmp(op, "drop")) {
      return fail("unknown edit '%s'%s", op, "");
    }
  }
  if (!strcmp(op, "add")) {
    float z[2] = {0, 0};
    int64_t shape[1] = {2};
    rt_stw_add_f32(w, name, 1, shape, z, &err);
  }
  int rc = rt_stw_write(w, v[1], &err) ? fail("%s%s", err.msg, "") : 0;
  rt_stw_free(w);
  rt_st_close(st);
  return rc;
}

static int cmd_checkinit(char **v) {
  const NetcModel *m = test_model_by_name(v[0]);
  RtError err;
  RtSafetensors *st;
  if (!m)
    return fail("unknown model '%s'%s", v[0], "");
  if (rt_st_open(&st, v[1], &err))
    return fail("%s%s", err.msg, "");
  int rc = 0;
  const char *meta_model = rt_st_metadata_get(st, "model"), *meta_seed = rt_st_metadata_get(st, "seed");
  if (!meta_model || strcmp(meta_model, m->name) || !meta_seed || strcmp(meta_seed, v[2]) ||
      !rt_st_metadata_get(st, "netc_version"))
    rc = fail("%s: metadata model/seed/netc_version missing or wrong%s", v[1], "");
  for (int i = 0; i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    int64_t sh[4];
    for (int k = 0; k < p->rank; k++)
      sh[k] = p->shape[k];
    float *d = malloc(p->count * sizeof(float));
    if (rt_st_read_f32(st, p->name, p->rank, sh, d, p->count, &err)) {
      free(d);
      rc = fail("%s%s", err.msg, "");
      continue;
    }
    double lim = sqrt(6.0 / (p->fan_in + p->fan_out)), lo = 1e9, hi = -1e9, sum = 0;
    for (size_t k = 0; k < p->count; k++) {
      lo = fmin(lo, d[k]);
      hi = fmax(hi, d[k]);
      sum += d[k];
    }
    switch (p->init) {
    case NETC_INIT_ZEROS:
      if (lo != 0 || hi != 0)
        rc = fail("%s: '%s' is not all zeros", v[1], p->name);
      break;
    case NETC_INIT_ONES:
      if (lo != 1 || hi != 1)
        rc = fail("%s: '%s' is not all ones", v[1], p->name);
      break;
    case NETC_INIT_GLOROT_UNIFORM:
      /* In range, spread over it, centred (loosely: 12 values can lean). */
      if (lo < -lim || hi > lim || hi - lo < lim * (p->count > 100 ? 1.9 : 0.5) ||
          fabs(sum / p->count) > lim * (p->count > 100 ? 0.05 : 0.6))
        rc = fail("%s: '%s' does not look like U(-l, l)", v[1], p->name);
      break;
    }
    free(d);
  }
  if (rt_st_check_all_used(st, &err) && m->normalize != NETC_NORM_STANDARDIZE)
    rc = fail("%s%s", err.msg, "");
  rt_st_close(st);
  return rc;
}

static int cmd_jsoncheck(char **v) {
  FILE *f = fopen(v[0], "rb");
  if (!f)
    return fail("cannot open %s%s", v[0], "");
  char buf[8192];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  cJSON *o = cJSON_Parse(buf);
  if (!o || !cJSON_IsObject(o))
    return fail("%s: not one JSON object: %s", v[0], buf);
  static const char *const positive[] = {"batch", "threads", "runs", "macs_per_image", "images_per_s",
                                         "gflops", "sgemm_gflops", "sgemm_threads", "fraction_of_peak"};
  int rc = 0;
  for (size_t i = 0; i < sizeof positive / sizeof *positive; i++) {
    cJSON *x = cJSON_GetObjectItemCaseSensitive(o, positive[i]);
    if (!cJSON_IsNumber(x) || !(x->valuedouble > 0))
      rc = fail("%s: '%s' missing or not positive", v[0], positive[i]);
  }
  cJSON *lat = cJSON_GetObjectItemCaseSensitive(o, "latency_ms");
  static const char *const q[] = {"min", "p25", "median", "p75", "max"};
  double prev = 0;
  for (int i = 0; i < 5; i++) {
    cJSON *x = cJSON_GetObjectItemCaseSensitive(lat, q[i]);
    if (!cJSON_IsNumber(x) || !(x->valuedouble > 0) || x->valuedouble < prev)
      rc = fail("%s: latency_ms.%s missing, not positive or out of order", v[0], q[i]);
    else
      prev = x->valuedouble;
  }
  cJSON *runs = cJSON_GetObjectItemCaseSensitive(o, "runs");
  if (cJSON_IsNumber(runs) && runs->valueint != 3)
    rc = fail("%s: runs is not 3%s", v[0], "");
  if (!cJSON_IsString(cJSON_GetObjectItemCaseSensitive(o, "model")))
    rc = fail("%s: 'model' missing%s", v[0], "");
  cJSON_Delete(o);
  return rc;
}

static int cmd_first(char **v) {
  RtError err;
  RtSafetensors *st;
  if (rt_st_open(&st, v[0], &err))
    return fail("%s%s", err.msg, "");
  const RtStTensor *t = rt_st_find(st, v[1]);
  if (!t || t->dtype != RT_DT_F32 || t->numel < 3) {
    rt_st_close(st);
    return fail("%s: no F32 tensor '%s' of 3 values or more", v[0], v[1]);
  }
  for (int k = 0; k < 3; k++) {
    float f;
    memcpy(&f, t->data + 4 * k, 4);
    printf("%s%.9g", k ? " " : "", (double)f);
  }
  printf("\n");
  rt_st_close(st);
  return 0;
}

/* One pixel of the separable pattern: bright in the class's band of rows,
 * dark elsewhere, with noise. */
static uint8_t pattern(int y, int cls, int classes, int h, uint64_t *s) {
  int band = y * classes / h;
  unsigned r = (unsigned)(rng(s) >> 56);
  return (uint8_t)(band == cls ? 170 + r % 86 : r % 80);
}

/* n images h x w x c (HWC) and labels i % classes. */
static void make_pattern(uint8_t *img, uint8_t *lab, int n, int classes, int h, int w, int c, uint64_t seed) {
  uint64_t s = seed;
  for (int i = 0; i < n; i++) {
    lab[i] = (uint8_t)(i % classes);
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w * c; x++)
        img[((size_t)i * h + y) * w * c + x] = pattern(y, lab[i], classes, h, &s);
  }
}

static int mktrain_split(const char *fmt, const char *dir, const char *split, int n, int classes, int h, int w,
                         int c, uint64_t seed, int gz) {
  if (n <= 0)
    return 0;
  uint8_t *img = malloc((size_t)n * h * w * c), *lab = malloc((size_t)n);
  char p[4096];
  int rc = 0;
  make_pattern(img, lab, n, classes, h, w, c, seed);
  int test = !strcmp(split, "test");
  if (!strcmp(fmt, "idx")) {
    uint8_t *fi = malloc(16 + (size_t)n * h * w), *fl = malloc(8 + (size_t)n);
    put32(fi, 0x803);
    put32(fi + 4, (uint32_t)n);
    put32(fi + 8, (uint32_t)h);
    put32(fi + 12, (uint32_t)w);
    put32(fl, 0x801);
    put32(fl + 4, (uint32_t)n);
    memcpy(fi + 16, img, (size_t)n * h * w);
    memcpy(fl + 8, lab, (size_t)n);
    snprintf(p, sizeof p, "%s/%s-images-idx3-ubyte%s", dir, test ? "t10k" : "train", gz ? ".gz" : "");
    rc = write_file(p, fi, 16 + (size_t)n * h * w, gz);
    snprintf(p, sizeof p, "%s/%s-labels-idx1-ubyte%s", dir, test ? "t10k" : "train", gz ? ".gz" : "");
    rc = rc || write_file(p, fl, 8 + (size_t)n, gz);
    free(fi);
    free(fl);
  } else if (!strcmp(fmt, "cifar")) {
    /* 32x32x3 records; the training set split over the five batches. */
    uint8_t *rec = malloc((size_t)n * 3073);
    for (int i = 0; i < n; i++) {
      uint8_t *o = rec + (size_t)i * 3073;
      o[0] = lab[i];
      for (int q = 0; q < 1024; q++)
        for (int ch = 0; ch < 3; ch++)
          o[1 + ch * 1024 + q] = img[(size_t)i * 3072 + (size_t)q * 3 + ch];
    }
    if (test) {
      snprintf(p, sizeof p, "%s/test_batch.bin", dir);
      rc = write_file(p, rec, (size_t)n * 3073, 0);
    } else {
      for (int b = 0; b < 5 && !rc; b++) {
        int lo = n * b / 5, hi = n * (b + 1) / 5;
        snprintf(p, sizeof p, "%s/data_batch_%d.bin", dir, b + 1);
        rc = write_file(p, rec + (size_t)lo * 3073, (size_t)(hi - lo) * 3073, 0);
      }
    }
    free(rec);
  } else {
    RtError err;
    snprintf(p, sizeof p, "%s/%s", dir, split);
    mkdir(p, 0777);
    for (int k = 0; k < classes; k++) {
      snprintf(p, sizeof p, "%s/%s/k%d", dir, split, k);
      mkdir(p, 0777);
    }
    for (int i = 0; i < n && !rc; i++) {
      snprintf(p, sizeof p, "%s/%s/k%d/%05d.png", dir, split, lab[i], i);
      if (rt_png_save(p, img + (size_t)i * h * w * c, h, w, c, 8, &err))
        rc = fail("%s%s", err.msg, "");
    }
  }
  free(img);
  free(lab);
  return rc;
}

static int cmd_mktrain(int argc, char **v) {
  const char *fmt = v[0], *dir = v[1];
  int n = atoi(v[2]), nt = atoi(v[3]), classes = atoi(v[4]), h = atoi(v[5]), w = atoi(v[6]), c = atoi(v[7]);
  uint64_t seed = strtoull(v[8], NULL, 0);
  int gz = argc > 9 && !strcmp(v[9], "gz");
  if (!strcmp(fmt, "cifar"))
    h = w = 32, c = 3;
  return mktrain_split(fmt, dir, "train", n, classes, h, w, c, seed, gz) ||
         mktrain_split(fmt, dir, "test", nt, classes, h, w, c, seed + 1, gz);
}

static int cmd_stinfo(char **v) {
  RtError err;
  RtSafetensors *st;
  if (rt_st_open(&st, v[0], &err))
    return fail("%s%s", err.msg, "");
  for (size_t i = 0; i < rt_st_metadata_count(st); i++) {
    const char *k, *val;
    rt_st_metadata_at(st, i, &k, &val);
    printf("meta %s=%s\n", k, val);
  }
  for (size_t i = 0; i < rt_st_count(st); i++) {
    const RtStTensor *t = rt_st_at(st, i);
    printf("tensor %s %s [", t->name, rt_dtype_name(t->dtype));
    for (int d = 0; d < t->ndim; d++)
      printf("%s%lld", d ? "," : "", (long long)t->shape[d]);
    printf("]\n");
  }
  rt_st_close(st);
  return 0;
}

static int cmd_stval(char **v) {
  RtError err;
  RtSafetensors *st;
  if (rt_st_open(&st, v[0], &err))
    return fail("%s%s", err.msg, "");
  const RtStTensor *t = rt_st_find(st, v[1]);
  if (!t) {
    rt_st_close(st);
    return fail("%s: no tensor '%s'", v[0], v[1]);
  }
  for (uint64_t k = 0; k < t->numel; k++) {
    const uint8_t *d = t->data + k * rt_dtype_size(t->dtype);
    uint64_t u = 0;
    for (size_t b = 0; b < rt_dtype_size(t->dtype); b++)
      u |= (uint64_t)d[b] << (8 * b);
    if (k)
      putchar(' ');
    switch (t->dtype) {
    case RT_DT_F32: {
      uint32_t u32 = (uint32_t)u;
      float f;
      memcpy(&f, &u32, 4);
      printf("%.9g", (double)f);
      break;
    }
    case RT_DT_F64: {
      double f;
      memcpy(&f, &u, 8);
      printf("%.17g", f);
      break;
    }
    case RT_DT_I64: printf("%lld", (long long)u); break;
    default: printf("%llu", (unsigned long long)u); break;
    }
  }
  printf("\n");
  rt_st_close(st);
  return 0;
}

/* A number, or (empty) when allowed. */
static int csv_field_ok(const char *f, int may_be_empty) {
  if (!*f)
    return may_be_empty;
  char *end;
  double x = strtod(f, &end);
  return !*end && isfinite(x);
}

static int cmd_csvcheck(char **v) {
  FILE *f = fopen(v[0], "r");
  if (!f)
    return fail("cannot open %s%s", v[0], "");
  char line[1024];
  int rows = 0, rc = 0;
  if (!fgets(line, sizeof line, f) || strcmp(line, "epoch,lr,loss,acc,val_loss,val_acc,seconds\n"))
    rc = fail("%s: bad header: %s", v[0], line);
  while (!rc && fgets(line, sizeof line, f)) {
    char *fields[8];
    int nf = 0;
    line[strcspn(line, "\n")] = 0;
    for (char *p = line; nf < 8;) {
      fields[nf++] = p;
      char *comma = strchr(p, ',');
      if (!comma)
        break;
      *comma = 0;
      p = comma + 1;
    }
    rows++;
    if (nf != 7 || atoi(fields[0]) != rows)
      rc = fail("%s: row %s is not 7 fields with the epoch number", v[0], fields[0]);
    for (int k = 1; !rc && k < 7; k++)
      if (!csv_field_ok(fields[k], k == 4 || k == 5))
        rc = fail("%s: a field of row %s is not a number", v[0], fields[0]);
  }
  fclose(f);
  if (!rc && rows != atoi(v[1]))
    rc = fail("%s: not %s rows", v[0], v[1]);
  return rc;
}

/* Tags balance (a small check for machines without xmllint). */
static int cmd_svgcheck(char **v) {
  FILE *f = fopen(v[0], "rb");
  if (!f)
    return fail("cannot open %s%s", v[0], "");
  static char buf[1 << 20];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = 0;
  if (strncmp(buf, "<?xml", 5) || !strstr(buf, "<svg ") || !strstr(buf, "</svg>"))
    return fail("%s: no XML declaration or <svg> root%s", v[0], "");
  char stack[64][32];
  int depth = 0;
  for (char *p = strchr(buf + 1, '<'); p; p = strchr(p + 1, '<')) {
    char *end = strchr(p, '>');
    if (!end)
      return fail("%s: unterminated tag%s", v[0], "");
    if (p[1] == '/') {
      size_t len = strcspn(p + 2, " >");
      if (!depth || strncmp(stack[depth - 1], p + 2, len) || stack[depth - 1][len])
        return fail("%s: mismatched </%s>", v[0], p + 2);
      depth--;
    } else if (end[-1] != '/') {
      size_t len = strcspn(p + 1, " >");
      if (depth == 64 || len >= 32)
        return fail("%s: too deep%s", v[0], "");
      memcpy(stack[depth], p + 1, len);
      stack[depth++][len] = 0;
    }
  }
  return depth ? fail("%s: %s not closed", v[0], stack[depth - 1]) : 0;
}

int main(int argc, char **argv) {
  if (argc < 2)
    return fail("usage: app_tool COMMAND ARGS (see the source)%s%s", "", "");
  const char *c = argv[1];
  char **v = argv + 2;
  int n = argc - 2;
  if (!strcmp(c, "png") && n == 5) return cmd_png(v);
  if (!strcmp(c, "npy") && n >= 3) return cmd_npy(n, v);
  if (!strcmp(c, "ref") && n == 4) return cmd_ref(v);
  if (!strcmp(c, "cmpnpy") && n == 3) return cmd_cmpnpy(v);
  if (!strcmp(c, "mkidx") && (n == 5 || n == 6)) return cmd_mkidx(n, v);
  if (!strcmp(c, "mkcifar") && n == 5) return cmd_mkcifar(v);
  if (!strcmp(c, "stedit") && n == 4) return cmd_stedit(v);
  if (!strcmp(c, "checkinit") && n == 3) return cmd_checkinit(v);
  if (!strcmp(c, "jsoncheck") && n == 1) return cmd_jsoncheck(v);
  if (!strcmp(c, "first") && n == 2) return cmd_first(v);
  if (!strcmp(c, "mktrain") && (n == 9 || n == 10)) return cmd_mktrain(n, v);
  if (!strcmp(c, "stinfo") && n == 1) return cmd_stinfo(v);
  if (!strcmp(c, "stval") && n == 2) return cmd_stval(v);
  if (!strcmp(c, "csvcheck") && n == 2) return cmd_csvcheck(v);
  if (!strcmp(c, "svgcheck") && n == 1) return cmd_svgcheck(v);
  return fail("bad command or arguments: %s%s", c, "");
}
