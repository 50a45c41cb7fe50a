/* Reference convolutions and dense: the defining sums, one output value
 * at a time. */
#include "ref_internal.h"

void ref_conv2d(float *out, const float *in, const float *kernel,
                const RtEpilogue *ep, const RtConv2d *d) {
  int groups = d->groups ? d->groups : 1;
  int cg = d->c / groups, ocg = d->oc / groups;
  int in_cs = ref_cs(d->in_cs, d->c), out_cs = ref_cs(d->out_cs, d->oc);
  for (int b = 0; b < d->n; b++)
    for (int oy = 0; oy < d->oh; oy++)
      for (int ox = 0; ox < d->ow; ox++) {
        long pixel = ((long)b * d->oh + oy) * d->ow + ox;
        for (int co = 0; co < d->oc; co++) {
          int g = co / ocg;
          double acc = 0;
          for (int ky = 0; ky < d->kh; ky++)
            for (int kx = 0; kx < d->kw; kx++) {
              int iy = oy * d->sh - d->pad_top + ky;
              int ix = ox * d->sw - d->pad_left + kx;
              if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w)
                continue; /* zero padding */
              for (int ci = 0; ci < cg; ci++) {
                double x = in[(((long)b * d->h + iy) * d->w + ix) * in_cs +
                              g * cg + ci];
                double wt = kernel[(((long)ky * d->kw + kx) * cg + ci) * d->oc + co];
                acc += x * wt;
              }
            }
          out[pixel * out_cs + co] = ref_finish(acc, ep, pixel, co, out_cs);
        }
      }
}

void ref_dwconv2d(float *out, const float *in, const float *kernel,
                  const RtEpilogue *ep, const RtDwConv2d *d) {
  int mult = d->multiplier ? d->multiplier : 1, oc = d->c * mult;
  int in_cs = ref_cs(d->in_cs, d->c), out_cs = ref_cs(d->out_cs, oc);
  for (int b = 0; b < d->n; b++)
    for (int oy = 0; oy < d->oh; oy++)
      for (int ox = 0; ox < d->ow; ox++) {
        long pixel = ((long)b * d->oh + oy) * d->ow + ox;
        for (int ci = 0; ci < d->c; ci++)
          for (int m = 0; m < mult; m++) {
            double acc = 0;
            for (int ky = 0; ky < d->kh; ky++)
              for (int kx = 0; kx < d->kw; kx++) {
                int iy = oy * d->sh - d->pad_top + ky;
                int ix = ox * d->sw - d->pad_left + kx;
                if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w)
                  continue;
                acc += (double)in[(((long)b * d->h + iy) * d->w + ix) * in_cs + ci] *
                       kernel[(((long)ky * d->kw + kx) * d->c + ci) * mult + m];
              }
            int co = ci * mult + m;
            out[pixel * out_cs + co] = ref_finish(acc, ep, pixel, co, out_cs);
          }
      }
}

void ref_dense(float *out, const float *in, const float *kernel,
               const RtEpilogue *ep, const RtDense *d) {
  int in_cs = ref_cs(d->in_cs, d->in), out_cs = ref_cs(d->out_cs, d->out);
  for (long r = 0; r < d->rows; r++)
    for (int j = 0; j < d->out; j++) {
      double acc = 0;
      for (int i = 0; i < d->in; i++)
        acc += (double)in[r * in_cs + i] * kernel[(long)i * d->out + j];
      out[r * out_cs + j] = ref_finish(acc, ep, r, j, out_cs);
    }
}
