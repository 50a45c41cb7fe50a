/* Unit test of app_augment (runtime/app/app_augment.c), netcapp's random
 * flips, shifts and rotations of training images: a flip alone mirrors
 * exactly or not at all, about half the time; a shift alone translates by
 * whole pixels with zero fill, every shift in range occurring; a rotation
 * keeps the centre of a constant image and zeroes far corners; the same
 * stream gives the same image. Exit 0 when every check holds. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "app_internal.h"

enum { H = 8, W = 8, C = 2, N = H * W * C };

static int failures;

static void check(int ok, const char *what) {
  if (!ok) {
    fprintf(stderr, "test_augment: FAIL: %s\n", what);
    failures++;
  }
}

static void ramp(float *img) {
  for (int i = 0; i < N; i++)
    img[i] = (float)(i + 1);
}

int main(void) {
  float img[N], tmp[N], ref[N];
  NetcTrainConfig cfg;

  /* Flip alone. */
  memset(&cfg, 0, sizeof cfg);
  cfg.naugment = 1;
  cfg.augment[0].kind = NETC_AUG_HFLIP;
  int flipped = 0;
  for (uint64_t s = 0; s < 400; s++) {
    uint64_t rng = s * 7919;
    ramp(img);
    ramp(ref);
    app_augment(&cfg, img, tmp, H, W, C, &rng);
    int same = !memcmp(img, ref, sizeof img), mirror = 1;
    for (int y = 0; y < H; y++)
      for (int x = 0; x < W; x++)
        for (int c = 0; c < C; c++)
          mirror &= img[(y * W + x) * C + c] == ref[(y * W + (W - 1 - x)) * C + c];
    check(same != mirror, "a flip is exactly the image or its mirror");
    flipped += mirror;
  }
  check(flipped > 150 && flipped < 250, "flips happen about half the time");

  /* Shift alone: up to 0.25 * 8 = 2 pixels each way. */
  cfg.augment[0].kind = NETC_AUG_SHIFT;
  cfg.augment[0].amount = 0.25;
  int seen[5][5] = {{0}};
  for (uint64_t s = 0; s < 1000; s++) {
    uint64_t rng = s * 104729 + 1;
    ramp(img);
    ramp(ref);
    app_augment(&cfg, img, tmp, H, W, C, &rng);
    int found = 0;
    for (int dy = -2; dy <= 2 && !found; dy++)
      for (int dx = -2; dx <= 2 && !found; dx++) {
        int ok = 1;
        for (int y = 0; y < H; y++)
          for (int x = 0; x < W; x++)
            for (int c = 0; c < C; c++) {
              int sy = y - dy, sx = x - dx;
              float want = sy < 0 || sy >= H || sx < 0 || sx >= W ? 0.0f : ref[(sy * W + sx) * C + c];
              ok &= img[(y * W + x) * C + c] == want;
            }
        if (ok) {
          found = 1;
          seen[dy + 2][dx + 2]++;
        }
      }
    check(found, "a shift is a whole-pixel translation of at most 2 with zero fill");
  }
  for (int i = 0; i < 25; i++)
    check(seen[i / 5][i % 5] > 10, "every shift in range occurs");

  /* Rotation alone, up to 45 degrees, of a constant image. */
  cfg.augment[0].kind = NETC_AUG_ROTATE;
  cfg.augment[0].amount = 45;
  int corner_zeroed = 0;
  for (uint64_t s = 0; s < 200; s++) {
    uint64_t rng = s + 99;
    for (int i = 0; i < N; i++)
      img[i] = 1.0f;
    app_augment(&cfg, img, tmp, H, W, C, &rng);
    int ok = 1;
    for (int i = 0; i < N; i++)
      ok &= img[i] >= -1e-6f && img[i] <= 1.0f + 1e-6f;
    check(ok, "a rotation of a constant image stays within [0, 1]");
    check(fabsf(img[((H / 2) * W + W / 2) * C] - 1.0f) < 1e-5f, "a rotation keeps the centre");
    corner_zeroed += img[0] < 0.5f;
  }
  check(corner_zeroed > 50, "large rotations bring zeros into the corners");

  /* All three, twice from the same stream: the same image. */
  cfg.naugment = 3;
  cfg.augment[0].kind = NETC_AUG_HFLIP;
  cfg.augment[1].kind = NETC_AUG_SHIFT;
  cfg.augment[1].amount = 0.125;
  cfg.augment[2].kind = NETC_AUG_ROTATE;
  cfg.augment[2].amount = 10;
  uint64_t r1 = 12345, r2 = 12345;
  ramp(img);
  ramp(ref);
  app_augment(&cfg, img, tmp, H, W, C, &r1);
  app_augment(&cfg, ref, tmp, H, W, C, &r2);
  check(!memcmp(img, ref, sizeof img) && r1 == r2, "the same stream gives the same image");

  if (!failures)
    printf("test_augment: all checks passed\n");
  return failures ? 1 : 0;
}
