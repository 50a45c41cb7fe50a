/* The real Fashion-MNIST files (Debian's dataset-fashion-mnist package puts
 * them in /usr/share/datasets/fashion-mnist/ as *-idx?-ubyte.gz). Skips with
 * 77 when they are absent. NETC_FASHION_MNIST_DIR overrides the directory. */
#include "io_test.h"

#include <stdint.h>

int main(void) {
  const char *d = getenv("NETC_FASHION_MNIST_DIR");
  if (!d || !*d)
    d = "/usr/share/datasets/fashion-mnist";
  char ti[1024], tl[1024], vi[1024], vl[1024];
  snprintf(ti, sizeof ti, "%s/train-images-idx3-ubyte.gz", d);
  snprintf(tl, sizeof tl, "%s/train-labels-idx1-ubyte.gz", d);
  snprintf(vi, sizeof vi, "%s/t10k-images-idx3-ubyte.gz", d);
  snprintf(vl, sizeof vl, "%s/t10k-labels-idx1-ubyte.gz", d);
  if (access(ti, R_OK) || access(tl, R_OK) || access(vi, R_OK) || access(vl, R_OK)) {
    printf("Fashion-MNIST not found in %s (apt-get install dataset-fashion-mnist); skipping\n", d);
    return 77;
  }
  struct {
    const char *img, *lab;
    size_t n;
  } sets[2] = {{ti, tl, 60000}, {vi, vl, 10000}};
  for (int s = 0; s < 2; s++) {
    RtDataset ds;
    CHECK_OK(rt_idx_load_pair(sets[s].img, sets[s].lab, &ds, &ERR));
    CHECK(ds.n == sets[s].n && ds.h == 28 && ds.w == 28 && ds.c == 1);
    if (!ds.images)
      continue;
    /* Fashion-MNIST is balanced: n/10 images of each class. */
    size_t per[10] = {0}, bad = 0;
    for (size_t i = 0; i < ds.n; i++) {
      if (ds.labels[i] < 10)
        per[ds.labels[i]]++;
      else
        bad++;
    }
    CHECK(bad == 0);
    for (int c = 0; c < 10; c++)
      CHECK(per[c] == sets[s].n / 10);
    /* The first item of both splits is an ankle boot (class 9); images use
     * the whole 0..255 range. */
    CHECK(ds.labels[0] == 9);
    uint8_t lo = 255, hi = 0;
    for (size_t i = 0; i < 28 * 28; i++) {
      lo = ds.images[i] < lo ? ds.images[i] : lo;
      hi = ds.images[i] > hi ? ds.images[i] : hi;
    }
    CHECK(lo == 0 && hi == 255);
    float f[28 * 28];
    CHECK_OK(rt_dataset_images_f32(&ds, ds.n - 1, 1, 1.0f / 255, f, &ERR));
    rt_dataset_free(&ds);
  }
  /* Mismatched pair: train images with test labels. */
  RtDataset ds;
  CHECK_ERR(rt_idx_load_pair(ti, vl, &ds, &ERR), RT_ERR_MISMATCH,
            "t10k-labels-idx1-ubyte.gz: 10000 labels, but", "has 60000 images");
  return t_finish("test_fashion_mnist");
}
