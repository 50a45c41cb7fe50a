/* Optimizer steps as tf.keras (Keras 2) applies them, one tensor at a
 * time, element by element in float. Each update follows TensorFlow's
 * training kernels (ApplyKerasMomentum, ApplyAdam, the RMSprop update of
 * Keras' OptimizerV2 without momentum, ApplyAdagradV2), so that a step
 * matches Keras' up to float rounding. The loops are single-threaded:
 * they stream each tensor once and run at memory speed. */
#include <math.h>

#include "train_internal.h"

/* The gradient with Keras' l2(wd) regularizer: d(wd * w^2)/dw = 2 wd w. */
static inline float decayed(float g, float w, float wd) { return wd != 0.0f ? g + 2.0f * wd * w : g; }

void rt_sgd_step(float *w, float *velocity, const float *g, size_t count, float lr, float momentum, int nesterov,
                 float wd) {
  if (!velocity || momentum == 0.0f) {
    /* ApplyGradientDescent (Keras uses it when momentum is 0). */
    for (size_t i = 0; i < count; i++)
      w[i] -= lr * decayed(g[i], w[i], wd);
    return;
  }
  for (size_t i = 0; i < count; i++) {
    float gi = decayed(g[i], w[i], wd);
    float v = velocity[i] * momentum - lr * gi;
    velocity[i] = v;
    w[i] += nesterov ? v * momentum - lr * gi : v;
  }
}

void rt_adam_step(float *w, float *m, float *v, const float *g, size_t count, float lr, float beta1, float beta2,
                  float eps, float wd, int64_t t) {
  if (t < 1)
    t = 1;
  /* lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t), in double from the
   * float hyperparameters (Keras computes the powers in float; the
   * difference is a rounding of lr_t). */
  double b1t = pow((double)beta1, (double)t), b2t = pow((double)beta2, (double)t);
  float lr_t = (float)((double)lr * sqrt(1.0 - b2t) / (1.0 - b1t));
  float one_b1 = 1.0f - beta1, one_b2 = 1.0f - beta2;
  for (size_t i = 0; i < count; i++) {
    float gi = decayed(g[i], w[i], wd);
    float mi = m[i] + (gi - m[i]) * one_b1;
    float vi = v[i] + (gi * gi - v[i]) * one_b2;
    m[i] = mi;
    v[i] = vi;
    w[i] -= lr_t * mi / (sqrtf(vi) + eps);
  }
}

void rt_rmsprop_step(float *w, float *ms, const float *g, size_t count, float lr, float rho, float eps, float wd) {
  float one_rho = 1.0f - rho;
  for (size_t i = 0; i < count; i++) {
    float gi = decayed(g[i], w[i], wd);
    float s = rho * ms[i] + one_rho * (gi * gi);
    ms[i] = s;
    w[i] -= lr * gi / (sqrtf(s) + eps);
  }
}

void rt_adagrad_step(float *w, float *acc, const float *g, size_t count, float lr, float eps, float wd) {
  for (size_t i = 0; i < count; i++) {
    float gi = decayed(g[i], w[i], wd);
    float a = acc[i] + gi * gi;
    acc[i] = a;
    w[i] -= lr * gi / (sqrtf(a) + eps);
  }
}
