/* Losses of a training step: the fused softmax + sparse categorical
 * cross-entropy, and mean squared error. Sums run serially in double:
 * they are a few thousand values per batch, and a serial sum is the same
 * whatever the thread count. */
#include <math.h>

#include "train_internal.h"

RtStatus rt_softmax_xent(const RtContext *ctx, float *dlogits, double *loss_sum, int *correct, const float *probs,
                         const int32_t *labels, int n, int classes) {
  (void)ctx;
  if (!probs || !labels || n < 1 || classes < 1)
    return RT_ERR_ARG;
  for (int r = 0; r < n; r++)
    if (labels[r] < 0 || labels[r] >= classes)
      return RT_ERR_ARG;
  /* Keras clips probabilities to [eps, 1 - eps] with eps = 1e-7 in float
   * before the log (backend.epsilon()). */
  const float lo = 1e-7f, hi = 1.0f - 1e-7f;
  double loss = 0.0;
  int hits = 0;
  float inv_n = 1.0f / (float)n;
  for (int r = 0; r < n; r++) {
    const float *p = probs + (long)r * classes;
    int y = labels[r], best = 0;
    for (int j = 1; j < classes; j++)
      if (p[j] > p[best])
        best = j;
    hits += best == y;
    float py = p[y] < lo ? lo : p[y] > hi ? hi : p[y];
    loss -= log((double)py);
    if (dlogits) {
      float *g = dlogits + (long)r * classes;
      for (int j = 0; j < classes; j++)
        g[j] = (p[j] - (j == y ? 1.0f : 0.0f)) * inv_n;
    }
  }
  if (loss_sum)
    *loss_sum = loss;
  if (correct)
    *correct = hits;
  return RT_OK;
}

RtStatus rt_mse(const RtContext *ctx, float *dout, double *loss_sum, const float *out, const float *target, int n,
                int size) {
  (void)ctx;
  if (!out || !target || n < 1 || size < 1)
    return RT_ERR_ARG;
  float scale = (float)(2.0 / ((double)n * size));
  double loss = 0.0;
  for (int r = 0; r < n; r++) {
    double row = 0.0;
    for (int j = 0; j < size; j++) {
      long i = (long)r * size + j;
      float diff = out[i] - target[i];
      row += (double)diff * diff;
      if (dout)
        dout[i] = diff * scale;
    }
    loss += row / size;
  }
  if (loss_sum)
    *loss_sum = loss;
  return RT_OK;
}
