/* grad_check.c: the training step netc emits for a whole network, checked
 * against central finite differences of its own loss. The per-op checks
 * (tests/train_kernels) compare each kernel's gradient with differences of
 * a double-precision reference; this one checks the wiring the compiler
 * generates around them: every layer's gradient step present, reading the
 * right tensors, adding into shared gradients where a tensor feeds several
 * layers, the fused loss. The step runs in float, so the differences use a
 * step of 1e-2 relative to the weight and a tolerance to match (see
 * TOLERANCE); a wrong or missing gradient is off by far more.
 *
 * Then the same directional derivatives against central differences in
 * double precision: the loss of the reference interpreter in training
 * mode (tests/reference/interp.c: batch statistics, netc's dropout masks)
 * on the network's JSON report, along directions that follow the analytic
 * gradient, with a step of 1e-6 relative to the weights (larger steps
 * measured curvature and ReLU kinks: 0.5% off at 1e-4 on resnet_mini,
 * 1e-4 at 1e-6); the analytic gradients must agree to DOUBLE_TOLERANCE. */
#include "interp.h"
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
/* The double-precision check: step, tolerance and the seed the step runs
 * with (its dropout masks). */
#define DOUBLE_STEP 1e-6
#define DOUBLE_TOLERANCE 2e-3
enum { STEP_SEED = 7 };

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
  RtContext ctx = {.num_threads = 1};
  double loss = 0;
  int correct = 0;
  if (m->train_step(&ctx, work, grads, arena, ws, wsf, input, targets, BATCH, STEP_SEED, &loss, &correct) != RT_OK) {
    fprintf(stderr, "FAIL: train_step returned an error\n");
    exit(1);
  }
  return loss / BATCH;  /* the step's gradients are those of the mean loss */
}

/* The parameter block as the interpreter asks for it, by Keras name. */
typedef struct ParamSource {
  const NetcModel *m;
  const float *params;
} ParamSource;

static const float *param_by_name(void *user, const char *name, int *rank, int shape[4]) {
  const ParamSource *src = user;
  for (int i = 0; i < src->m->num_params; i++) {
    const NetcParam *p = &src->m->params[i];
    if (strcmp(p->name, name) == 0) {
      *rank = p->rank;
      for (int k = 0; k < p->rank; k++)
        shape[k] = p->shape[k];
      return src->params + p->offset;
    }
  }
  return NULL;
}

/* The mean cross-entropy of the batch, in double, from the reference's
 * probabilities. */
static double ref_loss(const RefNet *net, const NetcModel *m, const float *params, const float *input,
                       const int32_t *labels, double *probs) {
  ParamSource src = {m, params};
  const float *ins[1] = {input};
  double *outs[1] = {probs};
  char err[300];
  if (ref_net_run_train(net, param_by_name, &src, ins, outs, BATCH, STEP_SEED, err, sizeof err) != 0) {
    fprintf(stderr, "FAIL: reference interpreter: %s\n", err);
    exit(1);
  }
  double loss = 0;
  for (int b = 0; b < BATCH; b++)
    loss -= log(probs[(size_t)b * m->output_size + (size_t)labels[b]]);
  return loss / BATCH;
}

/* The double-precision check of every sampled tensor; returns failures. */
static int double_check(const NetcModel *m, const char *report, float *params, const float *grads,
                        const float *input, const void *targets, int stride) {
  if (m->train->loss != NETC_LOSS_CROSS_ENTROPY) {
    fprintf(stderr, "FAIL: the double-precision check handles cross-entropy models only\n");
    return 1;
  }
  char err[300];
  RefNet *net = ref_net_load_file(report, err, sizeof err);
  if (!net) {
    fprintf(stderr, "FAIL: cannot load the report %s: %s\n", report, err);
    return 1;
  }
  double *probs = malloc(m->output_size * BATCH * sizeof(double));
  float *base = malloc(m->param_floats * sizeof(float));
  float *dir = malloc(m->param_floats * sizeof(float));
  if (!probs || !base || !dir)
    exit(1);
  memcpy(base, params, m->param_floats * sizeof(float));
  /* Directions along the analytic gradient itself, each component scaled
   * by a random factor in [0.5, 1.5): <gradient, v> is then a sum of
   * positive terms, so the float rounding of the gradient does not get
   * amplified by cancellation (as with random signs), and a wrong
   * component still moves the difference. Scaled so that a step moves the
   * tensor by DOUBLE_STEP relative to its typical weight. Tensors whose
   * gradient is a millionth of the largest one's are float noise (a bias
   * followed by batch norm has none at all) and are not judged. */
  double most = 0;
  int seen = 0;
  for (int i = 0; i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    if (!p->trainable)
      continue;
    double g2 = 0;
    for (size_t k = 0; k < p->count; k++)
      g2 += (double)grads[p->offset + k] * grads[p->offset + k];
    most = fmax(most, sqrt(g2 / (double)p->count));
  }
  int checked = 0, bad = 0, kinked = 0, flat = 0;
  double worst = 0;
  for (int i = 0; i < m->num_params; i++) {
    const NetcParam *p = &m->params[i];
    if (!p->trainable || seen++ % stride)
      continue;
    double g2 = 0, w2 = 0;
    for (size_t k = 0; k < p->count; k++) {
      g2 += (double)grads[p->offset + k] * grads[p->offset + k];
      w2 += fmax(fabs(base[p->offset + k]), 0.1) * fmax(fabs(base[p->offset + k]), 0.1);
    }
    double grms = sqrt(g2 / (double)p->count);
    if (grms < 1e-6 * most) {
      flat++;
      continue;
    }
    double to_w = sqrt(w2 / (double)p->count) / grms;
    for (size_t k = 0; k < p->count; k++)
      dir[k] = (float)((double)grads[p->offset + k] * (0.5 + uniform()) * to_w);
    double an[2], fd[2];
    for (int half = 0; half < 2; half++) {
      double h = (half ? 0.5 : 1.0) * DOUBLE_STEP, l[2];
      an[half] = 0;
      for (int sign = 0; sign < 2; sign++) {
        for (size_t k = 0; k < p->count; k++)
          params[p->offset + k] = (float)(base[p->offset + k] + (sign ? -h : h) * dir[k]);
        if (sign == 0)
          for (size_t k = 0; k < p->count; k++)
            an[half] += (double)grads[p->offset + k] * ((double)params[p->offset + k] - base[p->offset + k]);
        else
          for (size_t k = 0; k < p->count; k++)
            an[half] -= (double)grads[p->offset + k] * ((double)params[p->offset + k] - base[p->offset + k]);
        l[sign] = ref_loss(net, m, params, input, targets, probs);
      }
      fd[half] = l[0] - l[1];
      an[half] /= 2 * h;
      fd[half] /= 2 * h;
    }
    memcpy(params + p->offset, base + p->offset, p->count * sizeof(float));
    double scale = fmax(fabs(fd[0]), fabs(an[0]));
    /* The two step sizes agree unless a kink lies within the step. */
    if (fabs(fd[0] - fd[1]) > 0.1 * scale) {
      kinked++;
      continue;
    }
    double err_rel = fabs(fd[0] - an[0]) / scale;
    checked++;
    worst = fmax(worst, err_rel);
    if (err_rel > DOUBLE_TOLERANCE) {
      bad++;
      fprintf(stderr, "  %s: <gradient, v> %.9g, double finite difference %.9g (rel err %.3g)\n", p->name, an[0],
              fd[0], err_rel);
    }
  }
  printf("%s, double precision: %d tensors checked, %d beyond %.2g, worst rel err %.3g; skipped: %d not smooth at "
         "the step, %d without gradient\n",
         m->name, checked, bad, DOUBLE_TOLERANCE, worst, kinked, flat);
  free(probs);
  free(base);
  free(dir);
  ref_net_free(net);
  if (checked < MIN_CHECKED) {
    fprintf(stderr, "FAIL: no tensor could be judged in double precision\n");
    return 1;
  }
  return bad;
}

int main(int argc, char **argv) {
  const NetcModel *m = &GRAD_MODEL;
  if (argc != 2) {
    fprintf(stderr, "usage: %s REPORT.json (netc report --json of the same .net file)\n", argv[0]);
    return 2;
  }
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
  ok &= double_check(m, argv[1], params, grads, input, targets, stride) == 0;
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
