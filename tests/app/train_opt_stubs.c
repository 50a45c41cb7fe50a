/* TEMPORARY, test-only: Keras' optimizer updates, linked into the training
 * test executables only while runtime/kernels has no rt_*_step of its own
 * (tests/app/CMakeLists.txt looks for them). Never part of the runtime;
 * delete once the real kernels land. Formulas as train_kernels.h states
 * them (L2 decay added to the gradient as 2 * wd * w). */
#include <math.h>
#include <stddef.h>

#include "netc/train_kernels.h"

void rt_sgd_step(float *w, float *velocity, const float *g, size_t count, float lr, float momentum, int nesterov,
                 float wd) {
  for (size_t i = 0; i < count; i++) {
    float gi = g[i] + 2.0f * wd * w[i];
    float v = momentum * velocity[i] - lr * gi;
    velocity[i] = v;
    w[i] += nesterov ? momentum * v - lr * gi : v;
  }
}

void rt_adam_step(float *w, float *m, float *v, const float *g, size_t count, float lr, float beta1, float beta2,
                  float eps, float wd, int64_t t) {
  double a = lr * sqrt(1.0 - pow(beta2, (double)t)) / (1.0 - pow(beta1, (double)t));
  for (size_t i = 0; i < count; i++) {
    float gi = g[i] + 2.0f * wd * w[i];
    m[i] = beta1 * m[i] + (1.0f - beta1) * gi;
    v[i] = beta2 * v[i] + (1.0f - beta2) * gi * gi;
    w[i] -= (float)(a * m[i] / (sqrt(v[i]) + eps));
  }
}

void rt_rmsprop_step(float *w, float *ms, const float *g, size_t count, float lr, float rho, float eps, float wd) {
  for (size_t i = 0; i < count; i++) {
    float gi = g[i] + 2.0f * wd * w[i];
    ms[i] = rho * ms[i] + (1.0f - rho) * gi * gi;
    w[i] -= lr * gi / (sqrtf(ms[i]) + eps);
  }
}

void rt_adagrad_step(float *w, float *acc, const float *g, size_t count, float lr, float eps, float wd) {
  for (size_t i = 0; i < count; i++) {
    float gi = g[i] + 2.0f * wd * w[i];
    acc[i] += gi * gi;
    w[i] -= lr * gi / (sqrtf(acc[i]) + eps);
  }
}
