/* grad_check.c: the training step netc emits for a whole network, checked
 * against central finite differences of its own loss. The per-op checks
 * (tests/train_kernels) compare each kernel's gradient with differences of
 * a double-precision reference; this one checks the wiring the compiler
 * generates around them: every layer's gradient step present, reading the
 * right tensors, adding into shared gradients where a tensor feeds several
 * layers, the fused loss. The step runs in float, so the differences use a
 * step of 1e-2 relative to the weight and a tolerance to match (see
 * TOLERANCE); a wrong or missing gradient is off by far more. */
#include "netc/model.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

extern const NetcModel GRAD_MODEL;

/* Batch 2: batch norm needs two images for a variance; tensors checked per
 * model at most (an even sample of larger models'). */
enum { BATCH = 2, MAX_TENSORS = 24 };
#define STEP 5e-2
#define FLAT 1.5e-3
/* Tensors a model must have judged (agreeing) for the test to pass. */
#define MIN_CHECKED 1
/* Relative error allowed per tensor. Smooth networks agree to about 0.3%;
 * beyond that, each check also allows twice the disagreement between its
 * two step sizes (float rounding, curvature). A wiring error (a missing or
 * doubled contribution, a wrong slice) is off by order one. */
#define TOLERANCE 0.1

static uint64_t rng = 0x243f6a8885a308d3ull;
static double uniform(void) {
  rng ^= rng >> 12;
  rng ^= rng << 25;
  rng ^= rng >> 27;
  return (double)((rng * 2685821657736338717ull) >> 11) / 9007199254740992.0;
}

static double loss_at(const NetcModel *m, const float *params, float *work, float *grads, void *arena, float *ws,
                      size_t wsf, const float *input, const void *targets) {
  /* A fresh copy: the step updates batch norm's moving statistics. */
  memcpy(work, params, m->param_floats * sizeof(float));
  RtContext ctx = {1};
  double loss = 0;
  int correct = 0;
  if (m->train_step(&ctx, work, grads, arena, ws, wsf, input, targets, BATCH, 7, &loss, &correct) != RT_OK) {
    fprintf(stderr, "FAIL: train_step returned an error\n");
    exit(1);
  }
  return loss / BATCH;  /* the step's gradients are those of the mean loss */
}

int main(void) {
  const NetcModel *m = &GRAD_MODEL;
  if (!m->train_step) {
    fprintf(stderr, "FAIL: %s has no training step\n", m->name);
    return 1;
  }
  float *params = malloc(m->param_floats * sizeof(float));
  float *work = malloc(m->param_floats * sizeof(float));
  float *grads = malloc(m->param_floats * sizeof(float));
  float *scratch = malloc(m->param_floats * sizeof(float));
  size_t arena_bytes = (m->train_arena_bytes_per_image * BATCH + 63) / 64 * 64;
  void *arena = aligned_alloc(64, arena_bytes ? arena_bytes : 64);
  size_t wsf = m->train_workspace_floats(BATCH);
  float *ws = malloc((wsf ? wsf : 1) * sizeof(float));
  float *input = malloc(m->input_size * BATCH * sizeof(float));
  void *targets = malloc(m->output_size * BATCH * sizeof(float) + BATCH * sizeof(int32_t));
  if (!params || !work || !grads || !scratch || !arena || !ws || !input || !targets)
    return 1;
  /* Weights chosen so that pre-activations sit well away from ReLU's kink
   * at zero, on both sides: small kernels, and biases and BN shifts of
   * either sign with magnitude 0.4 to 1. A kink inside the difference step
   * would make the finite difference meaningless; away from them ReLU
   * networks are piecewise linear and the differences exact. */
  for (int i = 0; i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    for (size_t k = 0; k < p->count; k++) {
      double u = uniform() * 2 - 1, v;
      double away = (u < 0 ? -1 : 1) * (0.4 + 0.6 * fabs(u));
      if (p->init == NETC_INIT_GLOROT_UNIFORM)
        v = 0.25 * u * sqrt(3.0 / (p->fan_in > 0 ? p->fan_in : 1));
      else if (strstr(p->name, "gamma"))
        v = 0.2 + 0.1 * u;
      else if (strstr(p->name, "variance"))
        v = 1 + 0.3 * u;
      else if (strstr(p->name, "moving_mean"))
        v = 0.1 * u;
      else
        v = away;  /* biases, beta, PReLU slopes */
      params[p->offset + k] = (float)v;
    }
  }
  for (size_t i = 0; i < m->input_size * BATCH; i++)
    input[i] = (float)uniform();
  if (m->train->loss == NETC_LOSS_MSE) {
    for (size_t i = 0; i < m->output_size * BATCH; i++)
      ((float *)targets)[i] = (float)uniform();
  } else {
    for (int b = 0; b < BATCH; b++)
      ((int32_t *)targets)[b] = (int32_t)(uniform() * (double)m->output_size) % (int32_t)m->output_size;
  }
  loss_at(m, params, work, grads, arena, ws, wsf, input, targets);
  /* One check per tensor: the directional derivative along a random
   * direction over the whole tensor, <gradient, v>, against the central
   * difference (L(w + hv) - L(w - hv)) / 2h. A tensor-sized direction
   * averages out the ReLU and max-pool kinks a single weight can sit on,
   * and a wiring error (a gradient step missing, misplaced, or added where
   * it should overwrite) moves the whole tensor's gradient. Large models
   * check an evenly spaced sample of their tensors. */
  int trainable = 0;
  for (int i = 0; i < m->num_params; i++)
    trainable += m->params[i].trainable;
  int stride = trainable > MAX_TENSORS ? (trainable + MAX_TENSORS - 1) / MAX_TENSORS : 1;
  int checked = 0, bad = 0, kinked = 0, flat = 0, seen = 0;
  double worst = 0;
  float *dir = malloc(m->param_floats * sizeof(float));
  float *base = malloc(m->param_floats * sizeof(float));
  if (!dir || !base)
    return 1;
  memcpy(base, params, m->param_floats * sizeof(float));
  for (int i = 0; i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    if (!p->trainable || seen++ % stride)
      continue;
    double an = 0;
    for (size_t k = 0; k < p->count; k++) {
      dir[k] = (float)((uniform() * 2 - 1) * fmax(fabs(base[p->offset + k]), 0.1));
      an += (double)grads[p->offset + k] * dir[k];
    }
    double fd[2];
    for (int half = 0; half < 2; half++) {
      double h = (half ? 0.5 : 1.0) * STEP;
      double l[2];
      for (int sign = 0; sign < 2; sign++) {
        for (size_t k = 0; k < p->count; k++)
          params[p->offset + k] = (float)(base[p->offset + k] + (sign ? -h : h) * dir[k]);
        l[sign] = loss_at(m, params, work, scratch, arena, ws, wsf, input, targets);
      }
      fd[half] = (l[0] - l[1]) / (2 * h);
    }
    memcpy(params + p->offset, base + p->offset, p->count * sizeof(float));
    double scale = fmax(fabs(fd[0]), fabs(an));
    /* The loss is computed in float: about 1e-6 of its value is noise,
     * which the difference divides by the step. Directional derivatives
     * below FLAT are within that noise and cannot be judged. */
    if (scale < FLAT) {
      flat++;
      continue;
    }
    /* The two step sizes disagree by about as much as rounding and
     * curvature spoil the difference: that much more disagreement with the
     * analytic value is allowed. When they disagree by half the value, the
     * loss is not smooth at this scale along v (a kink): no verdict. */
    double unsure = fabs(fd[0] - fd[1]);
    if (unsure > 0.5 * scale) {
      kinked++;
      continue;
    }
    double err = fabs(fd[0] - an) / scale;
    checked++;
    if (err > worst)
      worst = err;
    if (fabs(fd[0] - an) > TOLERANCE * scale + 2 * unsure) {
      bad++;
      fprintf(stderr, "  %s: <gradient, v> %.6g, finite difference %.6g (rel err %.3g, differences agree to %.2g)\n",
              p->name, an, fd[0], err, unsure / scale);
    }
  }
  free(dir);
  free(base);
  printf("%s: %d tensors checked, %d beyond %.2g, worst rel err %.3g; skipped: %d not smooth at the step, "
         "%d within float noise\n",
         m->name, checked, bad, TOLERANCE, worst, kinked, flat);
  int ok = bad == 0 && checked >= MIN_CHECKED;
  free(params);
  free(work);
  free(grads);
  free(scratch);
  free(arena);
  free(ws);
  free(input);
  free(targets);
  if (!ok) {
    fprintf(stderr, "FAIL: %s gradients disagree with finite differences\n", m->name);
    return 1;
  }
  return 0;
}
