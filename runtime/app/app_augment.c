/* app_augment.c: random transformations of training images, as Keras'
 * ImageDataGenerator makes them (horizontal_flip, width/height_shift_range,
 * rotation_range), with zero fill. The three make one affine map, sampled
 * once, bilinearly: a flip or a whole-pixel shift alone moves pixels
 * exactly. Every draw comes from the caller's stream, so an image's
 * transformation depends only on that stream's seed. */
#include <math.h>
#include <string.h>

#include "app_internal.h"

/* The value at (y, x) of channel ch, 0 outside the image. */
static float pixel(const float *img, int h, int w, int c, int y, int x, int ch) {
  if (y < 0 || y >= h || x < 0 || x >= w)
    return 0.0f;
  return img[((size_t)y * w + x) * c + ch];
}

void app_augment(const NetcTrainConfig *cfg, float *img, float *tmp, int h, int w, int c, uint64_t *rng) {
  bool flip = false;
  int dx = 0, dy = 0;
  double angle = 0;
  for (int i = 0; i < cfg->naugment && i < NETC_MAX_AUGMENT; i++) {
    double amount = cfg->augment[i].amount;
    switch (cfg->augment[i].kind) {
    case NETC_AUG_HFLIP:
      flip = app_rng_uniform(rng) < 0.5;
      break;
    case NETC_AUG_SHIFT: {
      /* Up to amount * size pixels each way, every whole shift equally likely. */
      int kx = (int)floor(fabs(amount) * w + 1e-9), ky = (int)floor(fabs(amount) * h + 1e-9);
      dx = (int)floor(app_rng_uniform(rng) * (2 * kx + 1)) - kx;
      dy = (int)floor(app_rng_uniform(rng) * (2 * ky + 1)) - ky;
      break;
    }
    case NETC_AUG_ROTATE:
      angle = (2.0 * app_rng_uniform(rng) - 1.0) * fabs(amount) * (3.14159265358979323846 / 180.0);
      break;
    }
  }
  if (!flip && !dx && !dy && angle == 0)
    return;
  size_t n = (size_t)h * w * c;
  memcpy(tmp, img, n * sizeof(float));
  double cy = (h - 1) * 0.5, cx = (w - 1) * 0.5;
  double cs = cos(angle), sn = sin(angle);
  for (int y = 0; y < h; y++) {
    for (int x = 0; x < w; x++) {
      /* Output (y, x) comes from the source point: undo the shift, then the
       * rotation about the centre, then the flip. */
      double py = y - dy - cy, px = x - dx - cx;
      double sy = cs * py - sn * px + cy, sx = sn * py + cs * px + cx;
      if (flip)
        sx = (w - 1) - sx;
      float *o = img + ((size_t)y * w + x) * c;
      double fy = floor(sy), fx = floor(sx);
      double ty = sy - fy, tx = sx - fx;
      /* Exact source pixels (no rotation) need no interpolation. */
      if (fabs(ty) < 1e-9 && fabs(tx) < 1e-9) {
        for (int ch = 0; ch < c; ch++)
          o[ch] = pixel(tmp, h, w, c, (int)fy, (int)fx, ch);
        continue;
      }
      if (fy < -2 || fy > h + 1 || fx < -2 || fx > w + 1) {
        for (int ch = 0; ch < c; ch++)
          o[ch] = 0.0f;
        continue;
      }
      int y0 = (int)fy, x0 = (int)fx;
      for (int ch = 0; ch < c; ch++) {
        double v = (1 - ty) * ((1 - tx) * pixel(tmp, h, w, c, y0, x0, ch) + tx * pixel(tmp, h, w, c, y0, x0 + 1, ch)) +
                   ty * ((1 - tx) * pixel(tmp, h, w, c, y0 + 1, x0, ch) + tx * pixel(tmp, h, w, c, y0 + 1, x0 + 1, ch));
        o[ch] = (float)v;
      }
    }
  }
}
