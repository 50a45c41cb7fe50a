/* CIFAR-10 binary batches: a directory of small batch files written here in
 * the exact format, the planar -> NHWC conversion, and bad files. */
#include "io_test.h"

#include <stdint.h>

enum { REC = 3073 };

static char *dir;

/* Record r of batch b: label (b + r) % 10, pixel (y, x) of channel ch is
 * (b * 31 + r * 7 + ch * 50 + y * 3 + x) & 0xff. */
static uint8_t pix(int b, int r, int ch, int y, int x) {
  return (uint8_t)((b * 31 + r * 7 + ch * 50 + y * 3 + x) & 0xff);
}

static void write_batch(const char *path, int b, int records) {
  uint8_t *buf = malloc((size_t)records * REC);
  for (int r = 0; r < records; r++) {
    uint8_t *rec = buf + (size_t)r * REC;
    rec[0] = (uint8_t)((b + r) % 10);
    for (int ch = 0; ch < 3; ch++)
      for (int y = 0; y < 32; y++)
        for (int x = 0; x < 32; x++)
          rec[1 + ch * 1024 + y * 32 + x] = pix(b, r, ch, y, x);
  }
  t_write(path, buf, (size_t)records * REC);
  free(buf);
}

static bool check_image(const RtDataset *ds, size_t i, int b, int r) {
  const uint8_t *img = ds->images + i * 3072;
  for (int y = 0; y < 32; y++)
    for (int x = 0; x < 32; x++)
      for (int ch = 0; ch < 3; ch++)
        if (img[(y * 32 + x) * 3 + ch] != pix(b, r, ch, y, x))
          return false;
  return ds->labels[i] == (b + r) % 10;
}

int main(void) {
  dir = t_mkdtemp();
  char name[64];
  for (int b = 1; b <= 5; b++) {
    snprintf(name, sizeof name, "data_batch_%d.bin", b);
    write_batch(t_path(dir, name), b, b + 1); /* 2..6 records: 20 in all */
  }
  write_batch(t_path(dir, "test_batch.bin"), 0, 3);

  RtDataset ds;
  CHECK_OK(rt_cifar10_load(dir, RT_CIFAR_TRAIN, &ds, &ERR));
  CHECK(ds.n == 20 && ds.h == 32 && ds.w == 32 && ds.c == 3);
  if (ds.images) {
    CHECK(check_image(&ds, 0, 1, 0));
    CHECK(check_image(&ds, 1, 1, 1));
    CHECK(check_image(&ds, 2, 2, 0));
    CHECK(check_image(&ds, 19, 5, 5));
    float f[3072];
    CHECK_OK(rt_dataset_images_f32(&ds, 19, 1, 1.0f, f, &ERR));
    CHECK(f[3 * 33 + 2] == (float)pix(5, 5, 2, 1, 1));
  }
  rt_dataset_free(&ds);
  CHECK_OK(rt_cifar10_load(dir, RT_CIFAR_TEST, &ds, &ERR));
  CHECK(ds.n == 3 && check_image(&ds, 2, 0, 2));
  rt_dataset_free(&ds);
  /* A single file; the split is ignored. */
  CHECK_OK(rt_cifar10_load(t_path(dir, "data_batch_3.bin"), RT_CIFAR_TEST, &ds, &ERR));
  CHECK(ds.n == 4 && check_image(&ds, 3, 3, 3));
  rt_dataset_free(&ds);

  /* Bad files. */
  const char *p = t_path(dir, "bad.bin");
  write_batch(p, 0, 2);
  if (truncate(p, 2 * REC - 100) != 0)
    perror("truncate");
  CHECK_ERR(rt_cifar10_load(p, RT_CIFAR_TRAIN, &ds, &ERR), RT_ERR_FORMAT,
            "bad.bin: size 6046 is not a multiple of the 3073-byte record (1 whole records and "
            "2973 bytes left over; truncated?)");
  write_batch(p, 0, 3);
  {
    FILE *f = fopen(p, "r+b");
    fseek(f, 2 * REC, SEEK_SET);
    fputc(10, f);
    fclose(f);
  }
  CHECK_ERR(rt_cifar10_load(p, RT_CIFAR_TRAIN, &ds, &ERR), RT_ERR_FORMAT,
            "bad.bin: record 2 (byte 6146): label 10 is not below 10");
  t_write(p, "", 0);
  CHECK_ERR(rt_cifar10_load(p, RT_CIFAR_TRAIN, &ds, &ERR), RT_ERR_FORMAT, "bad.bin: file is empty");
  CHECK_ERR(rt_cifar10_load(t_path(dir, "nope"), RT_CIFAR_TRAIN, &ds, &ERR), RT_ERR_IO,
            "nope: cannot open: No such file or directory");
  /* A directory missing one batch. */
  unlink(t_path(dir, "data_batch_4.bin"));
  CHECK_ERR(rt_cifar10_load(dir, RT_CIFAR_TRAIN, &ds, &ERR), RT_ERR_IO,
            "/data_batch_4.bin: cannot open: No such file or directory");
  CHECK(ds.images == NULL && ds.n == 0);

  t_rmtree(dir);
  free(dir);
  return t_finish("test_cifar");
}
