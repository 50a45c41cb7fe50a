/* IDX (MNIST format) loading, plain and gzip: round trips and every way a
 * file can lie about its size. Files are built here byte by byte. */
#include "io_test.h"

#include <stdint.h>
#include <zlib.h>

static char *dir;

/* Header + data of an IDX file into b; returns its length. dims has ndim
 * entries; data_len bytes of data with value (i * 7) & 0xff follow. */
static size_t idx_bytes(unsigned char *b, uint32_t magic, const uint32_t *dims, int ndim,
                        size_t data_len) {
  size_t k = 0;
  for (int s = 24; s >= 0; s -= 8)
    b[k++] = (unsigned char)(magic >> s);
  for (int d = 0; d < ndim; d++)
    for (int s = 24; s >= 0; s -= 8)
      b[k++] = (unsigned char)(dims[d] >> s);
  for (size_t i = 0; i < data_len; i++)
    b[k++] = (unsigned char)((i * 7) & 0xff);
  return k;
}

static const char *write_plain(const char *name, const unsigned char *b, size_t n) {
  const char *p = t_path(dir, name);
  t_write(p, b, n);
  return p;
}

static const char *write_gz(const char *name, const unsigned char *b, size_t n) {
  const char *p = t_path(dir, name);
  gzFile gz = gzopen(p, "wb");
  if (!gz || gzwrite(gz, b, (unsigned)n) != (int)n || gzclose(gz) != Z_OK) {
    fprintf(stderr, "cannot write %s\n", p);
    exit(2);
  }
  return p;
}

static unsigned char buf[1 << 16];

static void test_roundtrip(void) {
  const uint32_t idims[3] = {5, 4, 3};
  size_t n = idx_bytes(buf, 0x803, idims, 3, 60);
  for (int gz = 0; gz < 2; gz++) {
    const char *ip = gz ? write_gz("img.gz", buf, n) : write_plain("img", buf, n);
    RtDataset ds;
    CHECK_OK(rt_idx_load_images(ip, &ds, &ERR));
    CHECK(ds.n == 5 && ds.h == 4 && ds.w == 3 && ds.c == 1 && ds.labels == NULL);
    CHECK(ds.images && ds.images[59] == (59 * 7 & 0xff) && rt_dataset_image_bytes(&ds) == 12);
    float f[24];
    CHECK_OK(rt_dataset_images_f32(&ds, 3, 2, 1.0f / 255, f, &ERR));
    CHECK(f[0] == (float)(36 * 7 & 0xff) * (1.0f / 255));
    CHECK_ERR(rt_dataset_images_f32(&ds, 4, 2, 1.0f, f, &ERR), RT_ERR_ARG,
              "images [4,6) are out of range (the dataset has 5)");
    rt_dataset_free(&ds);
    CHECK(ds.images == NULL && ds.n == 0);
  }
  const uint32_t ldims[1] = {5};
  unsigned char lb[64];
  size_t ln = idx_bytes(lb, 0x801, ldims, 1, 5);
  const char *lp = write_gz("lab.gz", lb, ln);
  uint8_t *labels;
  size_t nl;
  CHECK_OK(rt_idx_load_labels(lp, &labels, &nl, &ERR));
  CHECK(nl == 5 && labels[4] == 28);
  free(labels);
  RtDataset ds;
  CHECK_OK(rt_idx_load_pair(t_path(dir, "img"), lp, &ds, &ERR));
  CHECK(ds.n == 5 && ds.labels && ds.labels[1] == 7);
  rt_dataset_free(&ds);

  /* A pair whose counts differ. */
  const uint32_t l4[1] = {4};
  ln = idx_bytes(lb, 0x801, l4, 1, 4);
  const char *lp4 = write_plain("lab4", lb, ln);
  CHECK_ERR(rt_idx_load_pair(t_path(dir, "img"), lp4, &ds, &ERR), RT_ERR_MISMATCH,
            "lab4: 4 labels, but", "img has 5 images");
  CHECK(ds.images == NULL);
}

static void test_bad(void) {
  RtDataset ds;
  const uint32_t idims[3] = {5, 4, 3};
  size_t n = idx_bytes(buf, 0x803, idims, 3, 60);

  CHECK_ERR(rt_idx_load_images(t_path(dir, "nope.gz"), &ds, &ERR), RT_ERR_IO,
            "nope.gz: cannot open: No such file or directory");
  /* Plain file one byte short / one byte long. */
  CHECK_ERR(rt_idx_load_images(write_plain("short", buf, n - 1), &ds, &ERR), RT_ERR_FORMAT,
            "short: file is 75 bytes but its IDX header (image count 5) needs 76 (truncated?)");
  CHECK_ERR(rt_idx_load_images(write_plain("long", buf, n + 1), &ds, &ERR), RT_ERR_FORMAT,
            "long: file is 77 bytes", "needs 76 (trailing bytes)");
  /* gzip whose content is one byte short, one byte long. */
  CHECK_ERR(rt_idx_load_images(write_gz("short.gz", buf, n - 1), &ds, &ERR), RT_ERR_FORMAT,
            "short.gz: only 59 of 60 bytes of image data could be read (up to byte 75 of the "
            "uncompressed file): end of file");
  CHECK_ERR(rt_idx_load_images(write_gz("long.gz", buf, n + 1), &ds, &ERR), RT_ERR_FORMAT,
            "long.gz: extra data after the 76 bytes its IDX header declares");
  /* A gzip file cut short: zlib reports the broken stream. */
  {
    static unsigned char big[20016];
    const uint32_t d[3] = {20, 100, 10};
    size_t bn = idx_bytes(big, 0x803, d, 3, 20000);
    const char *p = write_gz("cut.gz", big, bn);
    size_t gn;
    unsigned char *g = t_slurp(p, &gn);
    p = write_plain("cut.gz", g, gn / 2);
    free(g);
    CHECK_ERR(rt_idx_load_images(p, &ds, &ERR), RT_ERR_FORMAT, "cut.gz: only",
              "of 20000 bytes of image data", "the gzip stream is truncated (unexpected end of file)");
    /* Corrupt the compressed stream in the middle. */
    g = t_slurp(write_gz("bad.gz", big, bn), &gn);
    for (size_t i = gn / 2; i < gn / 2 + 16; i++)
      g[i] ^= 0x5a;
    p = write_plain("bad.gz", g, gn);
    free(g);
    CHECK_ERR(rt_idx_load_images(p, &ds, &ERR), RT_ERR_FORMAT, "bad.gz: only",
              "the gzip data is corrupt");
  }
  /* Magic problems. */
  CHECK_ERR(rt_idx_load_images(write_plain("tiny", buf, 3), &ds, &ERR), RT_ERR_FORMAT,
            "tiny: only 3 of the 4 IDX magic bytes could be read: end of file");
  CHECK_ERR(rt_idx_load_images(write_plain("png", (const unsigned char *)"\x89PNG\r\n\x1a\n", 8),
                               &ds, &ERR),
            RT_ERR_FORMAT, "png: not an IDX file (magic bytes 89 50 4E 47; expected 0x00000803");
  {
    unsigned char lb[64];
    const uint32_t ld[1] = {5};
    size_t ln = idx_bytes(lb, 0x801, ld, 1, 5);
    CHECK_ERR(rt_idx_load_images(write_plain("labels", lb, ln), &ds, &ERR), RT_ERR_FORMAT,
              "labels: IDX magic 0x00000801 has 1 dimensions, but an IDX image file "
              "(0x00000803) has 3");
    uint8_t *l;
    size_t nl;
    CHECK_ERR(rt_idx_load_labels(write_plain("images", buf, n), &l, &nl, &ERR), RT_ERR_FORMAT,
              "images: IDX magic 0x00000803 has 3 dimensions, but an IDX label file");
  }
  {
    unsigned char fb[32];
    const uint32_t d[3] = {1, 1, 1};
    size_t fn = idx_bytes(fb, 0x0D03, d, 3, 4);
    CHECK_ERR(rt_idx_load_images(write_plain("float", fb, fn), &ds, &ERR), RT_ERR_FORMAT,
              "float: IDX element type 0x0D is not supported");
  }
  /* Header inside the dimensions; zero rows; a lying huge header in a
   * small gzip (must fail on the short read, not by allocating). */
  CHECK_ERR(rt_idx_load_images(write_plain("dims", buf, 9), &ds, &ERR), RT_ERR_FORMAT,
            "dims: only 9 of the 16 IDX header bytes could be read");
  {
    unsigned char zb[32];
    const uint32_t d[3] = {2, 0, 3};
    size_t zn = idx_bytes(zb, 0x803, d, 3, 0);
    CHECK_ERR(rt_idx_load_images(write_plain("zero", zb, zn), &ds, &ERR), RT_ERR_FORMAT,
              "zero: IDX dimension 1 is 0 (byte 8)");
    const uint32_t h[3] = {0xffffffffu, 28, 28};
    zn = idx_bytes(zb, 0x803, h, 3, 10);
    CHECK_ERR(rt_idx_load_images(write_gz("huge.gz", zb, zn), &ds, &ERR), RT_ERR_FORMAT,
              "huge.gz: only 10 of 3367254359280 bytes of image data");
    const uint32_t o[3] = {0xffffffffu, 0xffffffu, 0xffffu};
    zn = idx_bytes(zb, 0x803, o, 3, 0);
    CHECK_ERR(rt_idx_load_images(write_gz("ov.gz", zb, zn), &ds, &ERR), RT_ERR_FORMAT,
              "ov.gz: IDX");
  }
  CHECK(ds.images == NULL);
}

int main(void) {
  dir = t_mkdtemp();
  test_roundtrip();
  test_bad();
  t_rmtree(dir);
  free(dir);
  return t_finish("test_idx");
}
