/* app_net.c: what every command shares around one model: the seeded random
 * stream and Keras' initial values, the check of a weights file against the
 * model's parameters, the buffers forward() runs in, and the mapping of
 * pixels to network inputs. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "app_internal.h"

uint64_t app_rng_next(uint64_t *state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

double app_rng_uniform(uint64_t *state) {
  return (double)(app_rng_next(state) >> 11) * (1.0 / 9007199254740992.0);
}

static uint64_t fnv1a64(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

/* Keras' fans when the descriptor leaves them out: the last axis is the
 * output, the one before the input, the rest the receptive field. */
static void param_fans(const NetcParam *p, double *fan_in, double *fan_out) {
  if (p->fan_in > 0 || p->fan_out > 0) {
    *fan_in = p->fan_in;
    *fan_out = p->fan_out;
    return;
  }
  if (p->rank < 1) {
    *fan_in = *fan_out = 1;
  } else if (p->rank == 1) {
    *fan_in = *fan_out = p->shape[0];
  } else {
    double field = 1;
    for (int i = 0; i < p->rank - 2; i++)
      field *= p->shape[i];
    *fan_in = field * p->shape[p->rank - 2];
    *fan_out = field * p->shape[p->rank - 1];
  }
}

void app_init_params(const NetcModel *m, uint64_t seed, float *params) {
  memset(params, 0, m->param_floats * sizeof(float));
  for (int i = 0; i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    float *v = params + p->offset;
    switch (p->init) {
    case NETC_INIT_ZEROS:
      break;
    case NETC_INIT_ONES:
      for (size_t k = 0; k < p->count; k++)
        v[k] = 1.0f;
      break;
    case NETC_INIT_GLOROT_UNIFORM: {
      double fi, fo;
      param_fans(p, &fi, &fo);
      double limit = sqrt(6.0 / (fi + fo > 0 ? fi + fo : 1));
      uint64_t state = seed ^ fnv1a64(p->name);
      for (size_t k = 0; k < p->count; k++)
        v[k] = (float)((2.0 * app_rng_uniform(&state) - 1.0) * limit);
      break;
    }
    }
  }
}

int app_check_model(const AppArgs *a, const NetcModel *m) {
  const char *why = NULL;
  const char *pname = "";
  if (!m->forward || !m->prepare || !m->workspace_floats)
    why = "forward, prepare or workspace_floats is NULL";
  else if (m->input_size == 0 || m->output_size == 0)
    why = "input_size or output_size is 0";
  else if (m->num_params < 0 || (m->num_params > 0 && !m->params))
    why = "params is NULL";
  else if (m->input_rank < 1 || m->input_rank > 3 || m->output_rank < 1 || m->output_rank > 3)
    why = "input or output rank out of 1..3";
  for (int io = 0; !why && io < 2; io++) {
    const int *s = io ? m->output_shape : m->input_shape;
    size_t n = 1;
    for (int k = 0; k < (io ? m->output_rank : m->input_rank); k++)
      n *= s[k] > 0 ? (size_t)s[k] : 0;
    if (n != (io ? m->output_size : m->input_size))
      why = io ? "output_shape does not multiply to output_size" : "input_shape does not multiply to input_size";
  }
  for (int i = 0; !why && i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    pname = p->name ? p->name : "?";
    size_t n = 1;
    if (!p->name || !*p->name)
      why = "a parameter has no name";
    else if (p->rank < 0 || p->rank > 4)
      why = "rank out of 0..4";
    for (int k = 0; !why && k < p->rank; k++) {
      if (p->shape[k] < 1)
        why = "a dimension below 1";
      n *= (size_t)p->shape[k];
    }
    if (!why && n != p->count)
      why = "count is not the product of the shape";
    else if (!why && (p->offset > m->param_floats || p->count > m->param_floats - p->offset))
      why = "offset + count beyond param_floats";
  }
  if (!why)
    return APP_EXIT_OK;
  return app_fail(a, APP_EXIT_INTERNAL, "internal: the model descriptor of '%s' is inconsistent%s%s%s: %s",
                  m->name ? m->name : "?", *pname ? " (parameter '" : "", pname, *pname ? "')" : "", why);
}

/* Allocations of at least one float, so that a zero-sized block is not
 * mistaken for a failure, on a cache line: the compute block's tensors sit
 * at 64-byte offsets so that the kernels' 16-float loads of packed weights
 * never straddle two lines. */
static float *alloc_floats(size_t n) {
  size_t bytes = ((n ? n : 1) * sizeof(float) + 63) / 64 * 64;
  return aligned_alloc(64, bytes);
}

int app_net_new(const AppArgs *a, const NetcModel *m, AppNet *net) {
  memset(net, 0, sizeof *net);
  net->m = m;
  net->ctx.num_threads = a->threads;
  net->params = alloc_floats(m->param_floats);
  net->compute = alloc_floats(m->compute_floats);
  if (!net->params || !net->compute) {
    app_net_free(net);
    return app_fail(a, APP_EXIT_DATA, "out of memory for %zu parameter and %zu compute floats",
                    m->param_floats, m->compute_floats);
  }
  memset(net->params, 0, (m->param_floats ? m->param_floats : 1) * sizeof(float));
  memset(net->compute, 0, (m->compute_floats ? m->compute_floats : 1) * sizeof(float));
  return APP_EXIT_OK;
}

void app_net_free(AppNet *net) {
  free(net->params);
  free(net->compute);
  if (net->norm_owned) {
    free(net->norm_mean);
    free(net->norm_std);
  }
  free(net->arena);
  free(net->ws);
  memset(net, 0, sizeof *net);
}

static const NetcParam *find_param(const NetcModel *m, const char *name) {
  for (int i = 0; i < m->num_params; i++)
    if (!strcmp(m->params[i].name, name))
      return &m->params[i];
  return NULL;
}

/* Points norm_mean/norm_std at the model's own statistics parameters when
 * it has them, or allocates them (mean 0, std 1). */
static int norm_setup(const AppArgs *a, AppNet *net, bool *from_params) {
  const NetcModel *m = net->m;
  *from_params = false;
  if (m->normalize != NETC_NORM_STANDARDIZE)
    return APP_EXIT_OK;
  const NetcParam *pm = find_param(m, APP_NORM_MEAN), *ps = find_param(m, APP_NORM_STD);
  if (pm && ps && pm->count == m->input_size && ps->count == m->input_size) {
    net->norm_mean = net->params + pm->offset;
    net->norm_std = net->params + ps->offset;
    *from_params = true;
    return APP_EXIT_OK;
  }
  net->norm_owned = true;
  net->norm_mean = alloc_floats(m->input_size);
  net->norm_std = alloc_floats(m->input_size);
  if (!net->norm_mean || !net->norm_std)
    return app_fail(a, APP_EXIT_DATA, "out of memory");
  for (size_t i = 0; i < m->input_size; i++) {
    net->norm_mean[i] = 0.0f;
    net->norm_std[i] = 1.0f;
  }
  return APP_EXIT_OK;
}

int app_net_load_weights(const AppArgs *a, AppNet *net, const char *path) {
  const NetcModel *m = net->m;
  RtError err = {{0}};
  RtSafetensors *st = NULL;
  if (rt_st_open(&st, path, &err) != RT_OK)
    return app_fail(a, APP_EXIT_DATA, "%s", err.msg);
  int bad = 0;
  enum { MAX_SHOWN = 20 };
  for (int i = 0; i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    int64_t shape[4];
    for (int k = 0; k < p->rank; k++)
      shape[k] = p->shape[k];
    if (rt_st_read_f32(st, p->name, p->rank, shape, net->params + p->offset, p->count, &err) != RT_OK) {
      if (bad++ < MAX_SHOWN)
        app_fail(a, APP_EXIT_DATA, "%s", err.msg);
    }
  }
  bool from_params = false;
  int rc = norm_setup(a, net, &from_params);
  if (!rc && m->normalize == NETC_NORM_STANDARDIZE && !from_params) {
    int64_t shape[3];
    for (int k = 0; k < m->input_rank && k < 3; k++)
      shape[k] = m->input_shape[k];
    if (rt_st_read_f32(st, APP_NORM_MEAN, m->input_rank, shape, net->norm_mean, m->input_size,
                       &err) != RT_OK &&
        bad++ < MAX_SHOWN)
      app_fail(a, APP_EXIT_DATA, "%s (the model normalizes with 'standardize')", err.msg);
    if (rt_st_read_f32(st, APP_NORM_STD, m->input_rank, shape, net->norm_std, m->input_size,
                       &err) != RT_OK &&
        bad++ < MAX_SHOWN)
      app_fail(a, APP_EXIT_DATA, "%s (the model normalizes with 'standardize')", err.msg);
    for (size_t i = 0; i < m->input_size && !bad; i++)
      if (!(net->norm_std[i] > 0.0f) || !isfinite(net->norm_mean[i])) {
        app_fail(a, APP_EXIT_DATA, "%s: tensor '%s': element %zu is %g; a standard deviation must be positive",
                 path, APP_NORM_STD, i, (double)net->norm_std[i]);
        bad++;
        break;
      }
  }
  /* A tensor of the model's that was there but wrong has had its message;
   * it is not also "unused". */
  for (int i = 0; i < m->num_params; i++)
    rt_st_mark_used(st, m->params[i].name);
  if (m->normalize == NETC_NORM_STANDARDIZE) {
    rt_st_mark_used(st, APP_NORM_MEAN);
    rt_st_mark_used(st, APP_NORM_STD);
  }
  if (rt_st_check_all_used(st, &err) != RT_OK) {
    app_fail(a, APP_EXIT_DATA, "%s", err.msg);
    bad++;
  }
  if (bad > MAX_SHOWN)
    app_fail(a, APP_EXIT_DATA, "%s: %d more problems not shown", path, bad - MAX_SHOWN);
  const char *mname = rt_st_metadata_get(st, "model");
  if (!bad && mname && m->name && strcmp(mname, m->name))
    app_warn(a, "%s: written for model '%s', this is '%s' (the tensors match)", path, mname, m->name);
  rt_st_close(st);
  if (rc)
    return rc;
  return bad ? APP_EXIT_DATA : APP_EXIT_OK;
}

int app_net_random_weights(const AppArgs *a, AppNet *net, uint64_t seed) {
  app_init_params(net->m, seed, net->params);
  bool from_params;
  return norm_setup(a, net, &from_params);
}

void app_net_prepare(AppNet *net) {
  net->m->prepare(net->compute, net->params);
}

int app_net_reserve(const AppArgs *a, AppNet *net, int cap) {
  const NetcModel *m = net->m;
  if (cap <= net->cap)
    return APP_EXIT_OK;
  free(net->arena);
  free(net->ws);
  net->arena = NULL;
  net->ws = NULL;
  net->cap = 0;
  size_t per = m->arena_bytes_per_image;
  if (cap < 1 || cap > APP_MAX_BATCH || (per && (size_t)cap > (SIZE_MAX - 64) / per))
    return app_fail(a, APP_EXIT_USAGE, "batch %d: the arena would overflow", cap);
  size_t bytes = (per * (size_t)cap + 63) / 64 * 64;
  net->arena = aligned_alloc(64, bytes ? bytes : 64);
  net->ws_floats = m->workspace_floats(cap);
  net->ws = net->ws_floats ? aligned_alloc(64, (net->ws_floats * sizeof(float) + 63) / 64 * 64) : NULL;
  if (!net->arena || (net->ws_floats && !net->ws))
    return app_fail(a, APP_EXIT_DATA, "out of memory for batch %d (%zu arena bytes, %zu workspace floats)",
                    cap, bytes, net->ws_floats);
  net->cap = cap;
  return APP_EXIT_OK;
}

int app_net_forward(const AppArgs *a, AppNet *net, const float *in, float *out, int n) {
  if (n < 1 || n > net->cap)
    return app_fail(a, APP_EXIT_INTERNAL, "internal: batch %d outside 1..%d", n, net->cap);
  RtStatus s = net->m->forward(&net->ctx, net->compute, net->arena, net->ws, net->ws_floats, in, out, n);
  if (s != RT_OK)
    return app_fail(a, APP_EXIT_DATA, "forward() of '%s' failed at batch %d: %s", net->m->name, n,
                    rt_status_name(s));
  return APP_EXIT_OK;
}

void app_normalize(const AppNet *net, float *x) {
  const NetcModel *m = net->m;
  size_t n = m->input_size;
  switch (m->normalize) {
  case NETC_NORM_SCALE:
    break;
  case NETC_NORM_NONE:
    for (size_t i = 0; i < n; i++)
      x[i] *= 255.0f;
    break;
  case NETC_NORM_SYMMETRIC:
    for (size_t i = 0; i < n; i++)
      x[i] = x[i] * 2.0f - 1.0f;
    break;
  case NETC_NORM_STANDARDIZE:
    for (size_t i = 0; i < n; i++)
      x[i] = (x[i] * 255.0f - net->norm_mean[i]) / net->norm_std[i];
    break;
  }
}

static int isqrt_exact(size_t n) {
  size_t s = (size_t)sqrt((double)n);
  while (s * s > n)
    s--;
  while ((s + 1) * (s + 1) <= n)
    s++;
  return s * s == n && s <= 32768 ? (int)s : 0;
}

bool app_input_image_shape(const NetcModel *m, int *h, int *w, int *c) {
  if (m->input_rank == 3) {
    *h = m->input_shape[0];
    *w = m->input_shape[1];
    *c = m->input_shape[2];
    return *c == 1 || *c == 3;
  }
  int s = isqrt_exact(m->input_size);
  if (s) {
    *h = *w = s;
    *c = 1;
    return true;
  }
  if (m->input_size % 3 == 0 && (s = isqrt_exact(m->input_size / 3))) {
    *h = *w = s;
    *c = 3;
    return true;
  }
  return false;
}

bool app_is_probability(const float *out, size_t n) {
  double sum = 0;
  for (size_t i = 0; i < n; i++) {
    if (!isfinite(out[i]) || out[i] < -1e-6f || out[i] > 1.0f + 1e-6f)
      return false;
    sum += out[i];
  }
  return n > 1 && fabs(sum - 1.0) <= 1e-3;
}

const char *app_shape_str(char *buf, size_t cap, int rank, const int *shape) {
  size_t k = 0;
  buf[0] = '\0';
  for (int i = 0; i < rank && k < cap; i++)
    k += (size_t)snprintf(buf + k, cap - k, "%s%d", i ? "x" : "", shape[i]);
  if (rank == 0)
    snprintf(buf, cap, "scalar");
  return buf;
}
