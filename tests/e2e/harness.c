/* End-to-end test of emitted C: runs every variant of one network (the
 * same .net emitted with different inference passes, see e2e.h) on seeded
 * random weights and inputs, at batch 1 and batch 3, and compares every
 * output with the reference interpreter (tests/reference/interp.c) run on
 * the ORIGINAL graph of the `netc report --json` file.
 *
 * Besides the values it checks that the planner and the descriptor are
 * honest:
 *  - the arena, the workspace, the compute-weight block and the output are
 *    filled with NaN before use, so a read of anything not written first
 *    shows up as a non-finite (or wrong) output;
 *  - guard bytes after the arena, the workspace and the output must be
 *    untouched, and the input must be left as it was;
 *  - every variant lists the same Keras tensors, which tile the parameter
 *    block exactly, and the reference uses every one of them.
 *
 * Error measure, for output value `got` against the reference `want`
 * (computed and kept in double), with `rms` the root mean square of the
 * whole reference output (every image):
 *     err = |got - want| / max(|want|, 0.1 * rms)
 * a relative error, which becomes an absolute one (relative to the
 * output's scale) for values far below that scale. Float32 rounding of a
 * dot product is relative to the sum of its terms' sizes, not to the
 * result: a conv output that cancels to 1e-3 of its typical size carries
 * an error of the typical size's order, so a plain relative error would
 * flag rounding (conv_arith, a linear network, does that). For softmax
 * outputs the floor is about 0.01-0.03, so tiny probabilities are still
 * checked to about 1e-6 absolute. Tolerance 1e-4: float32 storage and
 * accumulation through a few dozen layers, BN folding and another
 * summation order (GEMM tiles) stay around 1e-5; a wrong tap, channel,
 * offset or epsilon is orders of magnitude above it.
 *
 * Usage: e2e_harness REPORT.json [--batches 1,3] [--seed N]
 * Exit 0 when every variant agrees, 1 otherwise. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "e2e.h"
#include "interp.h"

#define TOLERANCE 1e-4
#define FLOOR_RMS 0.1   /* the floor of the error's denominator, times rms */
#define GUARD 256          /* bytes checked after each buffer */
#define GUARD_BYTE 0xA5
#define MAX_BATCHES 4
#define MAX_REPORTED 10    /* mismatches printed on failure */

/* ---- Seeded random numbers: the value of a tensor depends only on the
 * seed and its Keras name, so every variant gets the same weights whatever
 * its parameter offsets. ---------------------------------------------------- */

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static double uniform(uint64_t *s, double lo, double hi) {
  return lo + (hi - lo) * ((double)(splitmix64(s) >> 11) / 9007199254740992.0);
}

static uint64_t fnv1a(const char *s) {
  uint64_t h = 0xcbf29ce484222325ull;
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
  return h;
}

static int ends_with(const char *s, const char *suffix) {
  size_t n = strlen(s), m = strlen(suffix);
  return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Fills one tensor. Kernels: U(-1, 1) * sqrt(3 / fan_in), variance
 * 1/fan_in, so a layer keeps its input's scale (ReLU halves it): activations
 * stay of order 1 through plain stacks and residual sums alike, and softmax
 * outputs do not saturate. BN statistics are deliberately not the identity,
 * so that folding them wrongly shows. */
static int fill_tensor(const RefNet *net, const NetcParam *p, float *dst, uint64_t seed) {
  uint64_t s = seed ^ fnv1a(p->name);
  double lo, hi;
  int fan = ref_net_fan_in(net, p->name);
  if (fan > 0)
    lo = -sqrt(3.0 / fan), hi = -lo;
  else if (ends_with(p->name, ".bias"))
    lo = -0.2, hi = 0.2;
  else if (ends_with(p->name, ".gamma") || ends_with(p->name, ".moving_variance"))
    lo = 0.5, hi = 1.5;
  else if (ends_with(p->name, ".beta") || ends_with(p->name, ".moving_mean"))
    lo = -0.5, hi = 0.5;
  else if (ends_with(p->name, ".alpha"))
    lo = 0.05, hi = 0.5;
  else {
    fprintf(stderr, "  tensor '%s': no rule to fill it\n", p->name);
    return 0;
  }
  for (size_t i = 0; i < p->count; i++)
    dst[i] = (float)uniform(&s, lo, hi);
  return 1;
}

/* ---- Parameter lookup for the reference ------------------------------------ */

typedef struct Lookup {
  const NetcModel *m;
  const float *block;
  int *used;
} Lookup;

static const float *lookup_param(void *user, const char *name, int *rank, int shape[4]) {
  Lookup *lk = user;
  for (int i = 0; i < lk->m->num_params; i++) {
    const NetcParam *p = &lk->m->params[i];
    if (strcmp(p->name, name) == 0) {
      *rank = p->rank;
      memcpy(shape, p->shape, 4 * sizeof(int));
      lk->used[i]++;
      return lk->block + p->offset;
    }
  }
  return NULL;
}

/* ---- Checks of the descriptor --------------------------------------------- */

static int check_params(const NetcModel *m, const NetcModel *first, const char *vname) {
  int ok = 1;
  size_t total = 0;
  char *covered = calloc(m->param_floats + 1, 1);
  for (int i = 0; i < m->num_params && covered; i++) {
    const NetcParam *p = &m->params[i];
    size_t count = 1;
    for (int d = 0; d < p->rank; d++)
      count *= (size_t)p->shape[d];
    if (count != p->count || p->offset + p->count > m->param_floats) {
      fprintf(stderr, "  [%s] tensor '%s': count %zu, shape gives %zu, offset %zu of %zu\n", vname, p->name,
              p->count, count, p->offset, m->param_floats);
      ok = 0;
      continue;
    }
    for (size_t k = p->offset; k < p->offset + p->count; k++) {
      if (covered[k]++ && ok) {
        fprintf(stderr, "  [%s] tensor '%s' overlaps another at float %zu\n", vname, p->name, k);
        ok = 0;
      }
    }
    total += p->count;
  }
  free(covered);
  if (total != m->param_floats || (int64_t)total != m->total_params) {
    fprintf(stderr, "  [%s] tensors hold %zu floats; param_floats %zu, total_params %lld\n", vname, total,
            m->param_floats, (long long)m->total_params);
    ok = 0;
  }
  if (m != first) {
    int same = m->num_params == first->num_params;
    for (int i = 0; same && i < m->num_params; i++)
      same = strcmp(m->params[i].name, first->params[i].name) == 0 && m->params[i].rank == first->params[i].rank &&
             memcmp(m->params[i].shape, first->params[i].shape, sizeof m->params[i].shape) == 0;
    if (!same) {
      fprintf(stderr, "  [%s] lists other tensors than [%s]\n", vname, e2e_variants[0].name);
      ok = 0;
    }
  }
  return ok;
}

/* The per-layer MACs (`bench --layers`) count every MAC of the report
 * once: whatever a pass fused into a layer, its MACs moved with it. */
static int check_layer_macs(const NetcModel *m, const char *vname) {
  if (!m->layer_macs || m->num_layers < 1) {
    fprintf(stderr, "  [%s] lists no MACs per layer\n", vname);
    return 0;
  }
  int64_t sum = 0;
  for (int l = 0; l < m->num_layers; l++) {
    if (m->layer_macs[l] < 0) {
      fprintf(stderr, "  [%s] layer '%s' has %lld MACs\n", vname, m->layer_names[l], (long long)m->layer_macs[l]);
      return 0;
    }
    sum += m->layer_macs[l];
  }
  if (sum != m->macs_per_image) {
    fprintf(stderr, "  [%s] its layers' MACs sum to %lld, the report says %lld\n", vname, (long long)sum,
            (long long)m->macs_per_image);
    return 0;
  }
  return 1;
}

/* ---- Buffers with NaN contents and guard bytes ----------------------------- */

/* 64-byte aligned, `bytes` of 0xFF (every float a NaN) then GUARD bytes of
 * GUARD_BYTE. */
static void *guarded_alloc(size_t bytes) {
  size_t total = (bytes + GUARD + 63) / 64 * 64;
  unsigned char *p = aligned_alloc(64, total);
  if (!p)
    return NULL;
  memset(p, 0xFF, bytes);
  memset(p + bytes, GUARD_BYTE, total - bytes);
  return p;
}

static int guard_intact(const void *buf, size_t bytes, const char *what, const char *vname, int batch) {
  const unsigned char *p = buf;
  for (size_t i = 0; i < GUARD; i++)
    if (p[bytes + i] != GUARD_BYTE) {
      fprintf(stderr, "  [%s] batch %d: wrote %zu bytes past the end of the %s (%zu bytes)\n", vname, batch, i,
              what, bytes);
      return 0;
    }
  return 1;
}

/* ---- One variant at one batch size ----------------------------------------- */

static int run_variant(const E2eVariant *v, const float *compute, const float *input, const double *want,
                       double floor, int batch, double *max_err_out) {
  const NetcModel *m = v->model;
  size_t arena_bytes = m->arena_bytes_per_image * (size_t)batch;
  size_t ws_floats = m->workspace_floats(batch);
  size_t out_n = m->output_size * (size_t)batch, in_n = m->input_size * (size_t)batch;
  void *arena = guarded_alloc(arena_bytes);
  float *ws = guarded_alloc(ws_floats * sizeof(float));
  float *out = guarded_alloc(out_n * sizeof(float));
  float *in = malloc(in_n * sizeof(float));
  int ok = arena && ws && out && in;
  if (!ok) {
    fprintf(stderr, "  [%s] out of memory\n", v->name);
    goto done;
  }
  memcpy(in, input, in_n * sizeof(float));
  const RtContext ctx = {.num_threads = 0};
  RtStatus st = m->forward(&ctx, compute, arena, ws, ws_floats, in, out, batch);
  if (st != RT_OK) {
    fprintf(stderr, "  [%s] batch %d: forward returned status %d\n", v->name, batch, (int)st);
    ok = 0;
    goto done;
  }
  ok &= guard_intact(arena, arena_bytes, "arena", v->name, batch);
  ok &= guard_intact(ws, ws_floats * sizeof(float), "workspace", v->name, batch);
  ok &= guard_intact(out, out_n * sizeof(float), "output", v->name, batch);
  if (memcmp(in, input, in_n * sizeof(float)) != 0) {
    fprintf(stderr, "  [%s] batch %d: forward changed its input\n", v->name, batch);
    ok = 0;
  }
  double max_err = 0;
  size_t at = 0, bad = 0;
  for (size_t i = 0; i < out_n; i++) {
    double err = isfinite(out[i]) ? fabs(out[i] - want[i]) / fmax(fabs(want[i]), floor) : INFINITY;
    if (err > max_err || (err == INFINITY && max_err < INFINITY))
      max_err = err, at = i;
    if (!(err <= TOLERANCE) && bad++ < MAX_REPORTED)
      fprintf(stderr, "  [%s] batch %d: image %zu output %zu: got %.9g, want %.9g (err %.3g)%s\n", v->name, batch,
              i / m->output_size, i % m->output_size, out[i], want[i], err,
              isfinite(out[i]) ? "" : ": not finite, an unwritten buffer was read?");
  }
  if (bad) {
    fprintf(stderr, "  [%s] batch %d: %zu of %zu outputs off by more than %g\n", v->name, batch, bad, out_n,
            TOLERANCE);
    ok = 0;
  }
  printf("  %-20s batch %d: max err %.3g (output %zu: got %.9g, want %.9g)%s\n", v->name, batch, max_err, at,
         out_n ? out[at] : 0.0, out_n ? want[at] : 0.0, ok ? "" : "  FAIL");
  *max_err_out = max_err;
done:
  free(arena);
  free(ws);
  free(out);
  free(in);
  return ok;
}

int main(int argc, char **argv) {
  const char *json_path = NULL;
  int batches[MAX_BATCHES] = {1, 3}, nbatches = 2;
  uint64_t seed = 20240601;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--batches") == 0 && i + 1 < argc) {
      nbatches = 0;
      for (char *s = argv[++i]; *s && nbatches < MAX_BATCHES;) {
        batches[nbatches++] = (int)strtol(s, &s, 10);
        if (*s == ',')
          s++;
      }
    } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed = strtoull(argv[++i], NULL, 10);
    } else {
      json_path = argv[i];
    }
  }
  if (!json_path) {
    fprintf(stderr, "usage: %s REPORT.json [--batches 1,3] [--seed N]\n", argv[0]);
    return 2;
  }
  char err[512] = "";
  RefNet *net = ref_net_load_file(json_path, err, sizeof err);
  if (!net) {
    fprintf(stderr, "%s: %s\n", json_path, err);
    return 1;
  }
  const NetcModel *m0 = e2e_variants[0].model;
  printf("%s: %d variants, %zu parameters, arena %zu bytes per image, chunks of %d images\n", ref_net_name(net),
         e2e_num_variants, m0->param_floats, m0->arena_bytes_per_image, m0->batch_chunk);
  int ok = 1;
  if (ref_net_num_inputs(net) != 1 || ref_net_num_outputs(net) != 1) {
    fprintf(stderr, "  %d inputs and %d outputs: forward() takes one of each\n", ref_net_num_inputs(net),
            ref_net_num_outputs(net));
    ref_net_free(net);
    return 1;
  }
  for (int v = 0; v < e2e_num_variants; v++) {
    const NetcModel *m = e2e_variants[v].model;
    ok &= check_params(m, m0, e2e_variants[v].name);
    ok &= check_layer_macs(m, e2e_variants[v].name);
    if (m->batch_chunk < 1) {
      fprintf(stderr, "  [%s] batch_chunk %d\n", e2e_variants[v].name, m->batch_chunk);
      ok = 0;
    }
    if (m->input_size != ref_net_input_size(net, 0) || m->output_size != ref_net_output_size(net, 0)) {
      fprintf(stderr, "  [%s] input/output sizes %zu/%zu, the report's %zu/%zu\n", e2e_variants[v].name,
              m->input_size, m->output_size, ref_net_input_size(net, 0), ref_net_output_size(net, 0));
      ok = 0;
    }
  }
  if (!ok) {
    ref_net_free(net);
    return 1;
  }

  /* Inputs: the largest batch; a smaller batch runs its first images. */
  int most = 1;
  for (int i = 0; i < nbatches; i++)
    most = batches[i] > most ? batches[i] : most;
  size_t in_n = m0->input_size * (size_t)most, out_n = m0->output_size * (size_t)most;
  float *input = malloc(in_n * sizeof(float));
  double *want = malloc(out_n * sizeof(double));
  float *params = malloc(m0->param_floats * sizeof(float) + 1);
  int *used = calloc((size_t)m0->num_params + 1, sizeof(int));
  uint64_t s = seed;
  for (size_t i = 0; input && i < in_n; i++)
    input[i] = (float)uniform(&s, -1, 1);
  for (int i = 0; params && i < m0->num_params; i++)
    ok &= fill_tensor(net, &m0->params[i], params + m0->params[i].offset, seed);

  Lookup lk = {m0, params, used};
  const float *ins[1] = {input};
  double *outs[1] = {want};
  if (ok && ref_net_run(net, lookup_param, &lk, ins, outs, most, err, sizeof err) != 0) {
    fprintf(stderr, "  reference: %s\n", err);
    ok = 0;
  }
  for (int i = 0; ok && i < m0->num_params; i++)
    if (!used[i]) {
      fprintf(stderr, "  tensor '%s' is not used by the reference\n", m0->params[i].name);
      ok = 0;
    }
  double wmin = INFINITY, wmax = -INFINITY, sq = 0;
  for (size_t i = 0; ok && i < out_n; i++)
    wmin = fmin(wmin, want[i]), wmax = fmax(wmax, want[i]), sq += want[i] * want[i];
  double floor = fmax(FLOOR_RMS * sqrt(sq / (double)(out_n ? out_n : 1)), 1e-30);
  if (ok)
    printf("  reference outputs in [%.4g, %.4g], error floor %.3g\n", wmin, wmax, floor);

  /* Every variant runs, even after one fails, so that the output shows
   * which passes are involved. */
  double worst = 0;
  int setup_ok = ok;
  for (int v = 0; setup_ok && v < e2e_num_variants; v++) {
    const NetcModel *m = e2e_variants[v].model;
    float *p = malloc(m->param_floats * sizeof(float) + 1);
    float *compute = guarded_alloc(m->compute_floats * sizeof(float));
    if (!p || !compute) {
      fprintf(stderr, "  out of memory\n");
      free(p);
      free(compute);
      ok = setup_ok = 0;
      break;
    }
    for (int i = 0; i < m->num_params; i++)
      fill_tensor(net, &m->params[i], p + m->params[i].offset, seed);
    m->prepare(compute, p);
    free(p);
    if (!guard_intact(compute, m->compute_floats * sizeof(float), "compute weights", e2e_variants[v].name, 0))
      ok = 0;
    for (int b = 0; b < nbatches; b++) {
      double e = 0;
      ok &= run_variant(&e2e_variants[v], compute, input, want, floor, batches[b], &e);
      worst = fmax(worst, e);
    }
    free(compute);
  }
  printf("%s: %s, max err %.3g (tolerance %g)\n", ref_net_name(net), ok ? "ok" : "FAILED", worst, TOLERANCE);
  free(input);
  free(want);
  free(params);
  free(used);
  ref_net_free(net);
  return ok ? 0 : 1;
}
