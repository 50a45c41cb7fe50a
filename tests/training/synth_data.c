/* synth_data: writes a small learnable data set for the training smoke test.
 *
 *   synth_data idx DIR N H W     IDX pair DIR/train-images-idx3-ubyte and
 *                                DIR/train-labels-idx1-ubyte (one channel)
 *   synth_data cifar FILE N      one CIFAR-10 batch file (32x32x3 records)
 *
 * Image i has label i % 10; its pixels are a per-class pattern (class k
 * brightens the k-th band of rows and one colour channel) plus a little
 * deterministic noise, so that any of the examples can fit it in a few
 * epochs and its training loss falls. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A little noise from a linear congruential generator, the caller's state. */
static unsigned noise(uint32_t *rng) {
  *rng = *rng * 1664525u + 1013904223u;
  return (*rng >> 24) & 31u;
}

static unsigned pixel(uint32_t *rng, int label, int y, int x, int c, int h, int w, int ch) {
  int band = y * 10 / h;
  unsigned v = noise(rng);
  if (band == label) v += 160u;
  if (ch > 1 && c == label % ch) v += 40u;
  if ((x * 10 / w) == (9 - label)) v += 40u;
  return v > 255u ? 255u : v;
}

static void be32(FILE *f, uint32_t v) {
  unsigned char b[4] = {(unsigned char)(v >> 24), (unsigned char)(v >> 16), (unsigned char)(v >> 8),
                        (unsigned char)v};
  fwrite(b, 1, 4, f);
}

static FILE *open_or_die(const char *path) {
  FILE *f = fopen(path, "wb");
  if (!f) {
    perror(path);
    exit(1);
  }
  return f;
}

static void close_or_die(FILE *f, const char *path) {
  if (ferror(f) || fclose(f) != 0) {
    fprintf(stderr, "synth_data: cannot write %s\n", path);
    exit(1);
  }
}

static void write_idx(const char *dir, int n, int h, int w) {
  uint32_t rng = 12345u;
  char path[4096];
  snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", dir);
  FILE *f = open_or_die(path);
  be32(f, 0x00000803u);
  be32(f, (uint32_t)n);
  be32(f, (uint32_t)h);
  be32(f, (uint32_t)w);
  for (int i = 0; i < n; i++)
    for (int y = 0; y < h; y++)
      for (int x = 0; x < w; x++) fputc((int)pixel(&rng, i % 10, y, x, 0, h, w, 1), f);
  close_or_die(f, path);
  snprintf(path, sizeof path, "%s/train-labels-idx1-ubyte", dir);
  f = open_or_die(path);
  be32(f, 0x00000801u);
  be32(f, (uint32_t)n);
  for (int i = 0; i < n; i++) fputc(i % 10, f);
  close_or_die(f, path);
}

static void write_cifar(const char *path, int n) {
  uint32_t rng = 12345u;
  FILE *f = open_or_die(path);
  for (int i = 0; i < n; i++) {
    fputc(i % 10, f);
    for (int c = 0; c < 3; c++) /* planar: R plane, G plane, B plane */
      for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++) fputc((int)pixel(&rng, i % 10, y, x, c, 32, 32, 3), f);
  }
  close_or_die(f, path);
}

int main(int argc, char **argv) {
  if (argc == 6 && strcmp(argv[1], "idx") == 0) {
    write_idx(argv[2], atoi(argv[3]), atoi(argv[4]), atoi(argv[5]));
    return 0;
  }
  if (argc == 4 && strcmp(argv[1], "cifar") == 0) {
    write_cifar(argv[2], atoi(argv[3]));
    return 0;
  }
  fprintf(stderr, "usage: synth_data idx DIR N H W | synth_data cifar FILE N\n");
  return 2;
}
