/* Reference per-pixel and element-wise ops. */
#include <math.h>

#include "ref_internal.h"

static long pixels_of(const RtEltwise *d) { return (long)d->n * d->h * d->w; }

void ref_batchnorm(float *out, const float *in, const float *gamma,
                   const float *beta, const float *mean, const float *var,
                   float eps, const RtEpilogue *ep, const RtEltwise *d) {
  int in_cs = ref_cs(d->in_cs, d->c), out_cs = ref_cs(d->out_cs, d->c);
  for (long p = 0; p < pixels_of(d); p++)
    for (int k = 0; k < d->c; k++) {
      double v = (in[p * in_cs + k] - (double)mean[k]) /
                 sqrt((double)var[k] + eps);
      v = v * (gamma ? gamma[k] : 1.0) + (beta ? beta[k] : 0.0);
      out[p * out_cs + k] = ref_finish(v, ep, p, k, out_cs);
    }
}

void ref_channel_affine(float *out, const float *in, const float *scale,
                        const float *shift, const RtEpilogue *ep,
                        const RtEltwise *d) {
  int in_cs = ref_cs(d->in_cs, d->c), out_cs = ref_cs(d->out_cs, d->c);
  for (long p = 0; p < pixels_of(d); p++)
    for (int k = 0; k < d->c; k++) {
      double v = (double)in[p * in_cs + k] * (scale ? scale[k] : 1.0) +
                 (shift ? shift[k] : 0.0);
      out[p * out_cs + k] = ref_finish(v, ep, p, k, out_cs);
    }
}

void ref_add(float *out, const float *const *ins, int count,
             const RtEpilogue *ep, const RtEltwise *d) {
  int in_cs = ref_cs(d->in_cs, d->c), out_cs = ref_cs(d->out_cs, d->c);
  for (long p = 0; p < pixels_of(d); p++)
    for (int k = 0; k < d->c; k++) {
      double v = 0;
      for (int i = 0; i < count; i++)
        v += ins[i][p * in_cs + k];
      out[p * out_cs + k] = ref_finish(v, ep, p, k, out_cs);
    }
}

void ref_mul_channel(float *out, const float *in, const float *s, int s_cs,
                     const RtEpilogue *ep, const RtEltwise *d) {
  int in_cs = ref_cs(d->in_cs, d->c), out_cs = ref_cs(d->out_cs, d->c);
  s_cs = ref_cs(s_cs, d->c);
  long hw = (long)d->h * d->w;
  for (long p = 0; p < pixels_of(d); p++)
    for (int k = 0; k < d->c; k++) {
      double v = (double)in[p * in_cs + k] * s[(p / hw) * s_cs + k];
      out[p * out_cs + k] = ref_finish(v, ep, p, k, out_cs);
    }
}

void ref_activation(float *out, const float *in, RtAct act, float alpha,
                    const RtEltwise *d) {
  int in_cs = ref_cs(d->in_cs, d->c), out_cs = ref_cs(d->out_cs, d->c);
  for (long p = 0; p < pixels_of(d); p++)
    for (int k = 0; k < d->c; k++)
      out[p * out_cs + k] = (float)ref_act(act, alpha, in[p * in_cs + k]);
}

void ref_softmax(float *out, const float *in, const RtEltwise *d) {
  int in_cs = ref_cs(d->in_cs, d->c), out_cs = ref_cs(d->out_cs, d->c);
  for (long p = 0; p < pixels_of(d); p++) {
    const float *x = in + p * in_cs;
    double mx = x[0], sum = 0;
    for (int k = 1; k < d->c; k++)
      mx = x[k] > mx ? x[k] : mx;
    for (int k = 0; k < d->c; k++)
      sum += exp(x[k] - mx);
    for (int k = 0; k < d->c; k++)
      out[p * out_cs + k] = (float)(exp(x[k] - mx) / sum);
  }
}

void ref_prelu(float *out, const float *in, const float *alpha,
               const RtPRelu *d) {
  int in_cs = ref_cs(d->in_cs, d->c), out_cs = ref_cs(d->out_cs, d->c);
  for (int b = 0; b < d->n; b++)
    for (int y = 0; y < d->h; y++)
      for (int x = 0; x < d->w; x++) {
        long p = ((long)b * d->h + y) * d->w + x;
        for (int k = 0; k < d->c; k++) {
          int ay = d->alpha_h == 1 ? 0 : y, ax = d->alpha_w == 1 ? 0 : x;
          int ak = d->alpha_c == 1 ? 0 : k;
          double a = alpha[((long)ay * d->alpha_w + ax) * d->alpha_c + ak];
          double v = in[p * in_cs + k];
          out[p * out_cs + k] = (float)(v > 0 ? v : a * v);
        }
      }
}

void ref_concat(float *out, const float *const *ins, const int *chans,
                int count, const RtEltwise *d) {
  int total = 0;
  for (int i = 0; i < count; i++)
    total += chans[i];
  int out_cs = ref_cs(d->out_cs, total);
  for (long p = 0; p < pixels_of(d); p++) {
    int off = 0;
    for (int i = 0; i < count; i++) {
      for (int k = 0; k < chans[i]; k++)
        out[p * out_cs + off + k] = ins[i][p * chans[i] + k];
      off += chans[i];
    }
  }
}

void ref_zeropad(float *out, const float *in, const RtPad *d) {
  int in_cs = ref_cs(d->in_cs, d->c), out_cs = ref_cs(d->out_cs, d->c);
  int oh = d->top + d->h + d->bottom, ow = d->left + d->w + d->right;
  for (int b = 0; b < d->n; b++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        for (int k = 0; k < d->c; k++) {
          int iy = oy - d->top, ix = ox - d->left;
          float v = 0;
          if (iy >= 0 && iy < d->h && ix >= 0 && ix < d->w)
            v = in[(((long)b * d->h + iy) * d->w + ix) * in_cs + k];
          out[(((long)b * oh + oy) * ow + ox) * out_cs + k] = v;
        }
}
