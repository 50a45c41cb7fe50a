/* Gradients of the per-pixel and element-wise ops: activations (from
 * their outputs), softmax, PReLU, the strided copy/accumulate that add,
 * concat and flatten need, the squeeze-excitation multiply, zero padding;
 * and dropout in training mode with its counter-based mask. */
#include <math.h>
#include <string.h>

#include "train_internal.h"

static int elt_ok(const RtEltwise *d, int *in_cs, int *out_cs) {
  if (!d || d->n < 0 || d->h < 0 || d->w < 0 || d->c < 0)
    return 0;
  *in_cs = rtk_cs(d->in_cs, d->c);
  *out_cs = rtk_cs(d->out_cs, d->c);
  return *in_cs >= d->c && *out_cs >= d->c;
}

static int acc_ok(int accumulate) { return accumulate == 0 || accumulate == 1; }

/* act'(x) from y = act(x). */
static inline float act_deriv(RtAct act, float alpha, float y) {
  switch (act) {
  case RT_ACT_LINEAR: return 1.0f;
  case RT_ACT_RELU: return y > 0.0f ? 1.0f : 0.0f;
  case RT_ACT_RELU6: return y > 0.0f && y < 6.0f ? 1.0f : 0.0f;
  case RT_ACT_SIGMOID: return y * (1.0f - y);
  case RT_ACT_TANH: return 1.0f - y * y;
  case RT_ACT_LEAKY_RELU: return y > 0.0f ? 1.0f : alpha;
  case RT_ACT_ELU: return y > 0.0f ? 1.0f : y + alpha;
  case RT_ACT_THRESHOLDED_RELU: return y > alpha ? 1.0f : 0.0f;
  }
  return 1.0f;
}

/* No restrict: din may be dout. */
RTK_CLONES
static void trk_act_bw_row(float *dx, const float *dy, const float *y, int n, RtAct act, float alpha,
                           int accumulate) {
  /* ReLU, by far the most common, as a loop the compiler vectorizes (the
   * generic one calls act_deriv's switch per element: 8% of a mnist_cnn
   * training step in perf). */
  if (act == RT_ACT_RELU && !accumulate) {
    /* Both loads unconditional, so that it becomes a vector blend; dx may
     * be dy itself, element for element, which simd allows. */
RTK_SIMD
    for (int j = 0; j < n; j++) {
      float g = dy[j];
      dx[j] = y[j] > 0.0f ? g : 0.0f;
    }
    return;
  }
  if (accumulate) {
    for (int j = 0; j < n; j++)
      dx[j] += dy[j] * act_deriv(act, alpha, y[j]);
  } else {
    for (int j = 0; j < n; j++)
      dx[j] = dy[j] * act_deriv(act, alpha, y[j]);
  }
}

RtStatus rt_activation_backward(const RtContext *ctx, float *din, const float *dout, const float *out, RtAct act,
                                float alpha, int accumulate, const RtEltwise *d) {
  int in_cs, out_cs;
  if (!din || !dout || !out || !elt_ok(d, &in_cs, &out_cs) || !acc_ok(accumulate))
    return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  int threads = trk_threads_for(ctx, (double)pixels * d->c);
  if (in_cs == d->c && out_cs == d->c) {
    long total = pixels * d->c, chunk = 1 << 14, chunks = (total + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) schedule(static) if (chunks > 1 && threads > 1)
    for (long q = 0; q < chunks; q++) {
      long i0 = q * chunk, len = total - i0 < chunk ? total - i0 : chunk;
      trk_act_bw_row(din + i0, dout + i0, out + i0, (int)len, act, alpha, accumulate);
    }
    return RT_OK;
  }
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (long q = 0; q < pixels; q++)
    trk_act_bw_row(din + q * in_cs, dout + q * out_cs, out + q * out_cs, d->c, act, alpha, accumulate);
  return RT_OK;
}

RtStatus rt_softmax_backward(const RtContext *ctx, float *din, const float *dout, const float *out,
                             int accumulate, const RtEltwise *d) {
  int in_cs, out_cs;
  if (!din || !dout || !out || !elt_ok(d, &in_cs, &out_cs) || !acc_ok(accumulate))
    return RT_ERR_ARG;
  long rows = (long)d->n * d->h * d->w;
  int threads = trk_threads_for(ctx, (double)rows * d->c);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (long r = 0; r < rows; r++) {
    const float *g = dout + r * out_cs, *y = out + r * out_cs;
    float *dx = din + r * in_cs;
    double dot = 0.0;
    for (int j = 0; j < d->c; j++)
      dot += (double)g[j] * y[j];
    float s = (float)dot;
    for (int j = 0; j < d->c; j++) {
      float v = y[j] * (g[j] - s);
      dx[j] = accumulate ? dx[j] + v : v;
    }
  }
  return RT_OK;
}

RtStatus rt_prelu_backward(const RtContext *ctx, float *din, float *dalpha, const float *dout, const float *in,
                           const float *alpha, int accumulate, const RtPRelu *d) {
  if (!dout || !in || !alpha || !d || d->n < 1 || d->h < 1 || d->w < 1 || d->c < 1 || !acc_ok(accumulate))
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->c), out_cs = rtk_cs(d->out_cs, d->c);
  if (in_cs < d->c || out_cs < d->c || (d->alpha_h != 1 && d->alpha_h != d->h) ||
      (d->alpha_w != 1 && d->alpha_w != d->w) || (d->alpha_c != 1 && d->alpha_c != d->c))
    return RT_ERR_ARG;
  long hw = (long)d->h * d->w, pixels = d->n * hw;
  long a_step = d->alpha_c == 1 ? 0 : 1;
  int threads = trk_threads_for(ctx, (double)pixels * d->c);
  if (din) {
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (long q = 0; q < pixels; q++) {
      long yx = q % hw;
      long y = d->alpha_h == 1 ? 0 : yx / d->w, x = d->alpha_w == 1 ? 0 : yx % d->w;
      const float *a = alpha + (y * d->alpha_w + x) * d->alpha_c;
      const float *g = dout + q * out_cs, *xin = in + q * in_cs;
      float *dx = din + q * in_cs;
      for (int j = 0; j < d->c; j++) {
        float v = xin[j] > 0.0f ? g[j] : g[j] * a[j * a_step];
        dx[j] = accumulate ? dx[j] + v : v;
      }
    }
  }
  if (!dalpha)
    return RT_OK;
  if (d->alpha_h == 1 && d->alpha_w == 1) {
    /* One slope per channel (shared_axes=[1, 2]) or a single one: a column
     * reduction over every pixel. */
    double s[TRK_RCH], total = 0.0;
    for (int c0 = 0; c0 < d->c; c0 += TRK_RCH) {
      int cn = d->c - c0 < TRK_RCH ? d->c - c0 : TRK_RCH;
      trk_colreduce(threads, TRK_PRELU, s, NULL, pixels, cn, dout + c0, out_cs, in + c0, in_cs, NULL, NULL);
      for (int j = 0; j < cn; j++) {
        if (d->alpha_c == 1)
          total += s[j];
        else
          dalpha[c0 + j] = (float)s[j];
      }
    }
    if (d->alpha_c == 1)
      dalpha[0] = (float)total;
    return RT_OK;
  }
  /* Slopes that vary over the image: one sum per slope, each by one thread
   * over the batch (and the channels when they are shared). */
  long na = (long)d->alpha_h * d->alpha_w * d->alpha_c;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (long ai = 0; ai < na; ai++) {
    int ak = (int)(ai % d->alpha_c);
    long axy = ai / d->alpha_c;
    int ay = (int)(axy / d->alpha_w), ax = (int)(axy % d->alpha_w);
    int y0 = d->alpha_h == 1 ? 0 : ay, y1 = d->alpha_h == 1 ? d->h : ay + 1;
    int x0 = d->alpha_w == 1 ? 0 : ax, x1 = d->alpha_w == 1 ? d->w : ax + 1;
    int k0 = d->alpha_c == 1 ? 0 : ak, k1 = d->alpha_c == 1 ? d->c : ak + 1;
    double s = 0.0;
    for (int b = 0; b < d->n; b++)
      for (int y = y0; y < y1; y++)
        for (int x = x0; x < x1; x++) {
          long q = ((long)b * d->h + y) * d->w + x;
          for (int k = k0; k < k1; k++) {
            float xv = in[q * in_cs + k];
            if (!(xv > 0.0f))
              s += (double)dout[q * out_cs + k] * xv;
          }
        }
    dalpha[ai] = (float)s;
  }
  return RT_OK;
}

RtStatus rt_accumulate(const RtContext *ctx, float *dst, const float *src, int accumulate, const RtEltwise *d) {
  int in_cs, out_cs;
  if (!dst || !src || !elt_ok(d, &in_cs, &out_cs) || !acc_ok(accumulate))
    return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  int threads = trk_threads_for(ctx, (double)pixels * d->c);
  if (in_cs == d->c && out_cs == d->c) {
    long total = pixels * d->c, chunk = 1 << 14, chunks = (total + chunk - 1) / chunk;
#pragma omp parallel for num_threads(threads) schedule(static) if (chunks > 1 && threads > 1)
    for (long q = 0; q < chunks; q++) {
      long i0 = q * chunk, len = total - i0 < chunk ? total - i0 : chunk;
      if (!accumulate) {
        if (dst != src)
          memcpy(dst + i0, src + i0, (size_t)len * sizeof *dst);
      } else {
        for (long i = i0; i < i0 + len; i++)
          dst[i] += src[i];
      }
    }
    return RT_OK;
  }
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (long q = 0; q < pixels; q++) {
    float *o = dst + q * out_cs;
    const float *x = src + q * in_cs;
    if (accumulate) {
      for (int j = 0; j < d->c; j++)
        o[j] += x[j];
    } else if (o != x) {
      memcpy(o, x, (size_t)d->c * sizeof *o);
    }
  }
  return RT_OK;
}

RtStatus rt_mul_channel_backward(const RtContext *ctx, float *din, float *ds, const float *dout, const float *in,
                                 const float *s, int s_cs, int accumulate, const RtEltwise *d) {
  int in_cs, out_cs;
  if (!dout || !in || !s || s_cs < 0 || !elt_ok(d, &in_cs, &out_cs) || !acc_ok(accumulate))
    return RT_ERR_ARG;
  s_cs = rtk_cs(s_cs, d->c);
  if (s_cs < d->c)
    return RT_ERR_ARG;
  long hw = (long)d->h * d->w, pixels = d->n * hw;
  int threads = trk_threads_for(ctx, (double)pixels * d->c);
  if (din) {
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (long q = 0; q < pixels; q++) {
      const float *g = dout + q * out_cs, *sv = s + (q / hw) * s_cs;
      float *dx = din + q * in_cs;
      for (int j = 0; j < d->c; j++) {
        float v = g[j] * sv[j];
        dx[j] = accumulate ? dx[j] + v : v;
      }
    }
  }
  if (!ds)
    return RT_OK;
  if (d->n >= threads || hw < 1024) {
    /* Many images (or small ones): one image per thread at a time. */
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
    for (int b = 0; b < d->n; b++) {
      for (int c0 = 0; c0 < d->c; c0 += TRK_RCH) {
        int cn = d->c - c0 < TRK_RCH ? d->c - c0 : TRK_RCH;
        double acc[TRK_RCH] = {0};
        for (long q = b * hw; q < (b + 1) * hw; q++) {
          const float *g = dout + q * out_cs + c0, *x = in + q * in_cs + c0;
          for (int j = 0; j < cn; j++)
            acc[j] += (double)g[j] * x[j];
        }
        float *o = ds + (long)b * s_cs + c0;
        for (int j = 0; j < cn; j++)
          o[j] = accumulate ? o[j] + (float)acc[j] : (float)acc[j];
      }
    }
    return RT_OK;
  }
  for (int b = 0; b < d->n; b++)
    for (int c0 = 0; c0 < d->c; c0 += TRK_RCH) {
      int cn = d->c - c0 < TRK_RCH ? d->c - c0 : TRK_RCH;
      double acc[TRK_RCH];
      trk_colreduce(threads, TRK_DOT, acc, NULL, hw, cn, dout + b * hw * out_cs + c0, out_cs,
                    in + b * hw * in_cs + c0, in_cs, NULL, NULL);
      float *o = ds + (long)b * s_cs + c0;
      for (int j = 0; j < cn; j++)
        o[j] = accumulate ? o[j] + (float)acc[j] : (float)acc[j];
    }
  return RT_OK;
}

RtStatus rt_zeropad_backward(const RtContext *ctx, float *din, const float *dout, int accumulate, const RtPad *d) {
  if (!din || !dout || !d || d->n < 0 || d->h < 0 || d->w < 0 || d->c < 0 || d->top < 0 || d->bottom < 0 ||
      d->left < 0 || d->right < 0 || !acc_ok(accumulate))
    return RT_ERR_ARG;
  int in_cs = rtk_cs(d->in_cs, d->c), out_cs = rtk_cs(d->out_cs, d->c);
  if (in_cs < d->c || out_cs < d->c)
    return RT_ERR_ARG;
  int oh = d->top + d->h + d->bottom, ow = d->left + d->w + d->right;
  long rows = (long)d->n * d->h;
  int threads = trk_threads_for(ctx, (double)rows * d->w * d->c);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (long r = 0; r < rows; r++) {
    long b = r / d->h, iy = r % d->h;
    const float *g = dout + ((b * oh + iy + d->top) * ow + d->left) * out_cs;
    float *dx = din + r * d->w * in_cs;
    for (int ix = 0; ix < d->w; ix++, g += out_cs, dx += in_cs) {
      if (accumulate)
        for (int j = 0; j < d->c; j++)
          dx[j] += g[j];
      else
        memcpy(dx, g, (size_t)d->c * sizeof *dx);
    }
  }
  return RT_OK;
}

/* ---- Dropout -------------------------------------------------------------- */

/* The i-th output of SplitMix64 seeded with `seed` (Steele, Lea and Flood
 * 2014): a counter-based generator, so element i's draw needs no state
 * and no order. */
static inline uint64_t splitmix64_at(uint64_t seed, uint64_t i) {
  uint64_t z = seed + (i + 1) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static int rate_ok(float rate) { return rate >= 0.0f && rate < 1.0f; }

RtStatus rt_dropout_train(const RtContext *ctx, float *out, uint8_t *mask, const float *in, float rate,
                          uint64_t seed, const RtEltwise *d) {
  int in_cs, out_cs;
  if (!out || !mask || !in || !elt_ok(d, &in_cs, &out_cs) || !rate_ok(rate))
    return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  int threads = trk_threads_for(ctx, (double)pixels * d->c);
  /* Keras: x * (1 / (1 - rate)), then times the 0/1 mask; a value is kept
   * when its uniform draw in [0, 1) is >= rate. */
  float scale = 1.0f / (1.0f - rate);
  double r = rate;
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (long q = 0; q < pixels; q++) {
    const float *x = in + q * in_cs;
    float *o = out + q * out_cs;
    uint8_t *mk = mask + q * d->c;
    for (int j = 0; j < d->c; j++) {
      uint64_t z = splitmix64_at(seed, (uint64_t)q * (uint64_t)d->c + (uint64_t)j);
      int keep = (double)(z >> 40) * 0x1p-24 >= r;
      mk[j] = (uint8_t)keep;
      o[j] = (x[j] * scale) * (float)keep;
    }
  }
  return RT_OK;
}

RtStatus rt_dropout_backward(const RtContext *ctx, float *din, const float *dout, const uint8_t *mask, float rate,
                             int accumulate, const RtEltwise *d) {
  int in_cs, out_cs;
  if (!din || !dout || !mask || !elt_ok(d, &in_cs, &out_cs) || !rate_ok(rate) || !acc_ok(accumulate))
    return RT_ERR_ARG;
  long pixels = (long)d->n * d->h * d->w;
  int threads = trk_threads_for(ctx, (double)pixels * d->c);
  float scale = 1.0f / (1.0f - rate);
#pragma omp parallel for num_threads(threads) schedule(static) if (threads > 1)
  for (long q = 0; q < pixels; q++) {
    const float *g = dout + q * out_cs;
    const uint8_t *mk = mask + q * d->c;
    float *dx = din + q * in_cs;
    for (int j = 0; j < d->c; j++) {
      float v = (g[j] * scale) * (float)mk[j];
      dx[j] = accumulate ? dx[j] + v : v;
    }
  }
  return RT_OK;
}
