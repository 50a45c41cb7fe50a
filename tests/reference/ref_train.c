/* Double-precision reference forwards for the gradient checks: see
 * ref_train.h. */
#include "ref_train.h"

#include <math.h>

#include "reference.h"

static int cs_or(int cs, int c) { return cs ? cs : c; }

void ref_train_conv2d(double *out, const double *in, const double *kernel, const double *bias, const RtConv2d *d) {
  int groups = d->groups ? d->groups : 1;
  int cg = d->c / groups, ocg = d->oc / groups;
  int in_cs = cs_or(d->in_cs, d->c), out_cs = cs_or(d->out_cs, d->oc);
  for (int b = 0; b < d->n; b++)
    for (int oy = 0; oy < d->oh; oy++)
      for (int ox = 0; ox < d->ow; ox++)
        for (int co = 0; co < d->oc; co++) {
          int g = co / ocg;
          double acc = bias ? bias[co] : 0.0;
          for (int ky = 0; ky < d->kh; ky++)
            for (int kx = 0; kx < d->kw; kx++) {
              int iy = oy * d->sh - d->pad_top + ky, ix = ox * d->sw - d->pad_left + kx;
              if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w)
                continue;
              for (int ci = 0; ci < cg; ci++)
                acc += in[(((long)b * d->h + iy) * d->w + ix) * in_cs + g * cg + ci] *
                       kernel[(((long)ky * d->kw + kx) * cg + ci) * d->oc + co];
            }
          out[(((long)b * d->oh + oy) * d->ow + ox) * out_cs + co] = acc;
        }
}

void ref_train_dwconv2d(double *out, const double *in, const double *kernel, const double *bias,
                        const RtDwConv2d *d) {
  int mult = d->multiplier ? d->multiplier : 1, oc = d->c * mult;
  int in_cs = cs_or(d->in_cs, d->c), out_cs = cs_or(d->out_cs, oc);
  for (int b = 0; b < d->n; b++)
    for (int oy = 0; oy < d->oh; oy++)
      for (int ox = 0; ox < d->ow; ox++)
        for (int ci = 0; ci < d->c; ci++)
          for (int m = 0; m < mult; m++) {
            int co = ci * mult + m;
            double acc = bias ? bias[co] : 0.0;
            for (int ky = 0; ky < d->kh; ky++)
              for (int kx = 0; kx < d->kw; kx++) {
                int iy = oy * d->sh - d->pad_top + ky, ix = ox * d->sw - d->pad_left + kx;
                if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w)
                  continue;
                acc += in[(((long)b * d->h + iy) * d->w + ix) * in_cs + ci] *
                       kernel[(((long)ky * d->kw + kx) * d->c + ci) * mult + m];
              }
            out[(((long)b * d->oh + oy) * d->ow + ox) * out_cs + co] = acc;
          }
}

void ref_train_dense(double *out, const double *in, const double *kernel, const double *bias, const RtDense *d) {
  int in_cs = cs_or(d->in_cs, d->in), out_cs = cs_or(d->out_cs, d->out);
  for (long r = 0; r < d->rows; r++)
    for (int j = 0; j < d->out; j++) {
      double acc = bias ? bias[j] : 0.0;
      for (int i = 0; i < d->in; i++)
        acc += in[r * in_cs + i] * kernel[(long)i * d->out + j];
      out[r * out_cs + j] = acc;
    }
}

/* Max or average over the real inputs of each window (TensorFlow 'same':
 * padding never wins a max and is not counted); 0 for an empty window. */
static void pool(double *out, const double *in, const RtPool2d *d, int is_max) {
  int in_cs = cs_or(d->in_cs, d->c), out_cs = cs_or(d->out_cs, d->c);
  for (int b = 0; b < d->n; b++)
    for (int oy = 0; oy < d->oh; oy++)
      for (int ox = 0; ox < d->ow; ox++)
        for (int k = 0; k < d->c; k++) {
          double acc = is_max ? -INFINITY : 0.0;
          int count = 0;
          for (int ky = 0; ky < d->kh; ky++)
            for (int kx = 0; kx < d->kw; kx++) {
              int iy = oy * d->sh - d->pad_top + ky, ix = ox * d->sw - d->pad_left + kx;
              if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w)
                continue;
              double x = in[(((long)b * d->h + iy) * d->w + ix) * in_cs + k];
              acc = is_max ? (x > acc ? x : acc) : acc + x;
              count++;
            }
          double v = count == 0 ? 0.0 : is_max ? acc : acc / count;
          out[(((long)b * d->oh + oy) * d->ow + ox) * out_cs + k] = v;
        }
}

void ref_train_maxpool2d(double *out, const double *in, const RtPool2d *d) { pool(out, in, d, 1); }
void ref_train_avgpool2d(double *out, const double *in, const RtPool2d *d) { pool(out, in, d, 0); }

static void global_pool(double *out, const double *in, const RtEltwise *d, int is_max) {
  int in_cs = cs_or(d->in_cs, d->c), out_cs = cs_or(d->out_cs, d->c);
  long hw = (long)d->h * d->w;
  for (int b = 0; b < d->n; b++)
    for (int k = 0; k < d->c; k++) {
      double acc = is_max ? -INFINITY : 0.0;
      for (long q = 0; q < hw; q++) {
        double x = in[((long)b * hw + q) * in_cs + k];
        acc = is_max ? (x > acc ? x : acc) : acc + x;
      }
      out[(long)b * out_cs + k] = is_max ? acc : acc / hw;
    }
}

void ref_train_global_avgpool(double *out, const double *in, const RtEltwise *d) { global_pool(out, in, d, 0); }
void ref_train_global_maxpool(double *out, const double *in, const RtEltwise *d) { global_pool(out, in, d, 1); }

void ref_train_batchnorm(double *out, double *mean, double *var, const double *in, const double *gamma,
                         const double *beta, double eps, const RtEltwise *d) {
  int in_cs = cs_or(d->in_cs, d->c), out_cs = cs_or(d->out_cs, d->c);
  long pixels = (long)d->n * d->h * d->w;
  for (int k = 0; k < d->c; k++) {
    double mu = 0.0, v = 0.0;
    for (long q = 0; q < pixels; q++)
      mu += in[q * in_cs + k];
    mu /= pixels;
    for (long q = 0; q < pixels; q++) {
      double t = in[q * in_cs + k] - mu;
      v += t * t;
    }
    v /= pixels;
    if (mean)
      mean[k] = mu;
    if (var)
      var[k] = v;
    double inv = 1.0 / sqrt(v + eps);
    for (long q = 0; q < pixels; q++)
      out[q * out_cs + k] = (in[q * in_cs + k] - mu) * inv * (gamma ? gamma[k] : 1.0) + (beta ? beta[k] : 0.0);
  }
}

void ref_train_activation(double *out, const double *in, RtAct act, double alpha, const RtEltwise *d) {
  int in_cs = cs_or(d->in_cs, d->c), out_cs = cs_or(d->out_cs, d->c);
  long pixels = (long)d->n * d->h * d->w;
  for (long q = 0; q < pixels; q++)
    for (int k = 0; k < d->c; k++)
      out[q * out_cs + k] = ref_act(act, alpha, in[q * in_cs + k]);
}

void ref_train_softmax(double *out, const double *in, const RtEltwise *d) {
  int in_cs = cs_or(d->in_cs, d->c), out_cs = cs_or(d->out_cs, d->c);
  long rows = (long)d->n * d->h * d->w;
  for (long r = 0; r < rows; r++) {
    const double *x = in + r * in_cs;
    double mx = x[0], sum = 0.0;
    for (int k = 1; k < d->c; k++)
      mx = x[k] > mx ? x[k] : mx;
    for (int k = 0; k < d->c; k++)
      sum += exp(x[k] - mx);
    for (int k = 0; k < d->c; k++)
      out[r * out_cs + k] = exp(x[k] - mx) / sum;
  }
}

void ref_train_prelu(double *out, const double *in, const double *alpha, const RtPRelu *d) {
  int in_cs = cs_or(d->in_cs, d->c), out_cs = cs_or(d->out_cs, d->c);
  for (int b = 0; b < d->n; b++)
    for (int y = 0; y < d->h; y++)
      for (int x = 0; x < d->w; x++) {
        long q = ((long)b * d->h + y) * d->w + x;
        for (int k = 0; k < d->c; k++) {
          int ay = d->alpha_h == 1 ? 0 : y, ax = d->alpha_w == 1 ? 0 : x, ak = d->alpha_c == 1 ? 0 : k;
          double a = alpha[((long)ay * d->alpha_w + ax) * d->alpha_c + ak];
          double v = in[q * in_cs + k];
          out[q * out_cs + k] = v > 0 ? v : a * v;
        }
      }
}

void ref_train_mul_channel(double *out, const double *in, const double *s, int s_cs, const RtEltwise *d) {
  int in_cs = cs_or(d->in_cs, d->c), out_cs = cs_or(d->out_cs, d->c);
  s_cs = cs_or(s_cs, d->c);
  long hw = (long)d->h * d->w;
  for (int b = 0; b < d->n; b++)
    for (long q = b * hw; q < (b + 1) * hw; q++)
      for (int k = 0; k < d->c; k++)
        out[q * out_cs + k] = in[q * in_cs + k] * s[(long)b * s_cs + k];
}

void ref_train_zeropad(double *out, const double *in, const RtPad *d) {
  int in_cs = cs_or(d->in_cs, d->c), out_cs = cs_or(d->out_cs, d->c);
  int oh = d->top + d->h + d->bottom, ow = d->left + d->w + d->right;
  for (int b = 0; b < d->n; b++)
    for (int oy = 0; oy < oh; oy++)
      for (int ox = 0; ox < ow; ox++)
        for (int k = 0; k < d->c; k++) {
          int iy = oy - d->top, ix = ox - d->left;
          double v = iy < 0 || iy >= d->h || ix < 0 || ix >= d->w
                         ? 0.0
                         : in[(((long)b * d->h + iy) * d->w + ix) * in_cs + k];
          out[(((long)b * oh + oy) * ow + ox) * out_cs + k] = v;
        }
}

void ref_train_dropout(double *out, const double *in, const uint8_t *mask, double rate, const RtEltwise *d) {
  int in_cs = cs_or(d->in_cs, d->c), out_cs = cs_or(d->out_cs, d->c);
  long pixels = (long)d->n * d->h * d->w;
  for (long q = 0; q < pixels; q++)
    for (int k = 0; k < d->c; k++)
      out[q * out_cs + k] = mask[q * d->c + k] ? in[q * in_cs + k] / (1.0 - rate) : 0.0;
}

double ref_train_softmax_xent(const double *logits, const int32_t *labels, int n, int classes) {
  double loss = 0.0;
  for (int r = 0; r < n; r++) {
    const double *x = logits + (long)r * classes;
    double mx = x[0], sum = 0.0;
    for (int k = 1; k < classes; k++)
      mx = x[k] > mx ? x[k] : mx;
    for (int k = 0; k < classes; k++)
      sum += exp(x[k] - mx);
    loss += log(sum) - (x[labels[r]] - mx);
  }
  return loss / n;
}

double ref_train_mse(const double *out, const double *target, int n, int size) {
  double loss = 0.0;
  for (int r = 0; r < n; r++) {
    double row = 0.0;
    for (int j = 0; j < size; j++) {
      double t = out[(long)r * size + j] - target[(long)r * size + j];
      row += t * t;
    }
    loss += row / size;
  }
  return loss;
}
