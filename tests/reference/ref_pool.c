/* Reference pooling, TensorFlow semantics: padded positions are skipped
 * (never the max, not counted in the mean); an empty window gives 0. */
#include "ref_internal.h"

static void pool(float *out, const float *in, const RtPool2d *d, int is_max) {
  int in_cs = ref_cs(d->in_cs, d->c), out_cs = ref_cs(d->out_cs, d->c);
  for (int b = 0; b < d->n; b++)
    for (int oy = 0; oy < d->oh; oy++)
      for (int ox = 0; ox < d->ow; ox++)
        for (int k = 0; k < d->c; k++) {
          double acc = 0;
          int count = 0;
          for (int ky = 0; ky < d->kh; ky++)
            for (int kx = 0; kx < d->kw; kx++) {
              int iy = oy * d->sh - d->pad_top + ky;
              int ix = ox * d->sw - d->pad_left + kx;
              if (iy < 0 || iy >= d->h || ix < 0 || ix >= d->w)
                continue;
              double x = in[(((long)b * d->h + iy) * d->w + ix) * in_cs + k];
              if (is_max)
                acc = count == 0 || x > acc ? x : acc;
              else
                acc += x;
              count++;
            }
          double v = count == 0 ? 0 : is_max ? acc : acc / count;
          out[(((long)b * d->oh + oy) * d->ow + ox) * out_cs + k] = (float)v;
        }
}

void ref_maxpool2d(float *out, const float *in, const RtPool2d *d) {
  pool(out, in, d, 1);
}

void ref_avgpool2d(float *out, const float *in, const RtPool2d *d) {
  pool(out, in, d, 0);
}

static void global(float *out, const float *in, const RtEltwise *d,
                   int is_max) {
  int in_cs = ref_cs(d->in_cs, d->c), out_cs = ref_cs(d->out_cs, d->c);
  long hw = (long)d->h * d->w;
  for (int b = 0; b < d->n; b++)
    for (int k = 0; k < d->c; k++) {
      double acc = is_max ? in[b * hw * in_cs + k] : 0;
      for (long q = 0; q < hw; q++) {
        double x = in[(b * hw + q) * in_cs + k];
        if (is_max)
          acc = x > acc ? x : acc;
        else
          acc += x;
      }
      out[(long)b * out_cs + k] = (float)(is_max ? acc : acc / hw);
    }
}

void ref_global_avgpool(float *out, const float *in, const RtEltwise *d) {
  global(out, in, d, 0);
}

void ref_global_maxpool(float *out, const float *in, const RtEltwise *d) {
  global(out, in, d, 1);
}
