/* PNG loading: every colour type and depth (written with rt_png_save, or
 * with libpng directly for palette, 1-bit, tRNS and interlaced images),
 * conversion to the model's channels and size, and broken files. */
#include "io_test.h"

#include <math.h>
#include <setjmp.h>
#include <stdint.h>

#include <png.h>
#include <zlib.h>

static char *dir;

/* Writes a PNG with libpng directly: rows are packed as PNG expects them. */
static void raw_png(const char *path, int w, int h, int color, int depth, int interlace,
                    const png_color *pal, int npal, const png_byte *trns, int ntrns,
                    const png_color_16 *trns_color, const uint8_t *packed, size_t rowbytes) {
  FILE *f = fopen(path, "wb");
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
  png_infop info = png_create_info_struct(png);
  if (!f || !png || !info || setjmp(png_jmpbuf(png))) {
    fprintf(stderr, "cannot write %s\n", path);
    exit(2);
  }
  png_init_io(png, f);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, color, interlace,
               PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  if (pal)
    png_set_PLTE(png, info, pal, npal);
  if (trns || trns_color)
    png_set_tRNS(png, info, trns, ntrns, trns_color);
  png_write_info(png, info);
  png_bytep *rows = malloc(sizeof(png_bytep) * (size_t)h);
  for (int y = 0; y < h; y++)
    rows[y] = (png_bytep)packed + (size_t)y * rowbytes;
  png_write_image(png, rows);
  png_write_end(png, NULL);
  png_destroy_write_struct(&png, &info);
  free(rows);
  fclose(f);
}

static bool near(float a, float b) { return fabsf(a - b) < 1e-6f; }

static void test_formats(void) {
  enum { W = 7, H = 5 };
  RtImage img;
  for (int c = 1; c <= 4; c++) {
    uint8_t px[W * H * 4];
    uint16_t px16[W * H * 4];
    for (int i = 0; i < W * H * c; i++) {
      px[i] = (uint8_t)(i * 37 + c);
      px16[i] = (uint16_t)(i * 4099 + c);
    }
    const char *p = t_path(dir, "c.png");
    CHECK_OK(rt_png_save(p, px, H, W, c, 8, &ERR));
    CHECK_OK(rt_png_load(p, &img, &ERR));
    CHECK(img.h == H && img.w == W && img.c == c);
    bool same = img.data != NULL;
    for (int i = 0; same && i < W * H * c; i++)
      same = img.data[i] == px[i] / 255.0f;
    CHECK(same);
    rt_image_free(&img);
    CHECK_OK(rt_png_save(p, px16, H, W, c, 16, &ERR));
    CHECK_OK(rt_png_load(p, &img, &ERR));
    CHECK(img.h == H && img.w == W && img.c == c);
    same = img.data != NULL;
    for (int i = 0; same && i < W * H * c; i++)
      same = img.data[i] == (float)px16[i] / 65535.0f;
    CHECK(same);
    rt_image_free(&img);
  }

  /* 2-bit palette, 3 entries, with and without transparency. Pixels
   * (packed 4 per byte, first pixel in the high bits): 0 1 2 1. */
  png_color pal[3] = {{255, 0, 0}, {0, 255, 0}, {10, 20, 30}};
  png_byte alpha[3] = {255, 128, 0};
  uint8_t packed[2] = {0x19, 0x19}; /* 00 01 10 01 */
  const char *p = t_path(dir, "pal.png");
  raw_png(p, 4, 2, PNG_COLOR_TYPE_PALETTE, 2, PNG_INTERLACE_NONE, pal, 3, NULL, 0, NULL, packed, 1);
  CHECK_OK(rt_png_load(p, &img, &ERR));
  CHECK(img.c == 3 && img.w == 4 && img.h == 2);
  if (img.data)
    CHECK(img.data[0] == 1.0f && img.data[4] == 1.0f && near(img.data[6], 10 / 255.0f) &&
          near(img.data[8], 30 / 255.0f));
  rt_image_free(&img);
  raw_png(p, 4, 2, PNG_COLOR_TYPE_PALETTE, 2, PNG_INTERLACE_NONE, pal, 3, alpha, 3, NULL, packed,
          1);
  CHECK_OK(rt_png_load(p, &img, &ERR));
  CHECK(img.c == 4);
  if (img.data)
    CHECK(img.data[3] == 1.0f && near(img.data[7], 128 / 255.0f) && img.data[11] == 0.0f);
  rt_image_free(&img);

  /* 1-bit gray: 1 0 1 1 0 0 0 1 -> 0xB1. */
  uint8_t bits = 0xB1;
  p = t_path(dir, "bits.png");
  raw_png(p, 8, 1, PNG_COLOR_TYPE_GRAY, 1, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, NULL, &bits, 1);
  CHECK_OK(rt_png_load(p, &img, &ERR));
  CHECK(img.c == 1 && img.w == 8);
  if (img.data)
    CHECK(img.data[0] == 1.0f && img.data[1] == 0.0f && img.data[7] == 1.0f);
  rt_image_free(&img);

  /* 8-bit gray with a tRNS colour key: value 7 becomes transparent. */
  uint8_t g[3] = {7, 8, 7};
  png_color_16 key = {.gray = 7};
  p = t_path(dir, "key.png");
  raw_png(p, 3, 1, PNG_COLOR_TYPE_GRAY, 8, PNG_INTERLACE_NONE, NULL, 0, NULL, 0, &key, g, 3);
  CHECK_OK(rt_png_load(p, &img, &ERR));
  CHECK(img.c == 2);
  if (img.data)
    CHECK(img.data[1] == 0.0f && img.data[3] == 1.0f && img.data[5] == 0.0f);
  rt_image_free(&img);

  /* Interlaced (Adam7) RGB. */
  uint8_t rgb[9 * 9 * 3];
  for (int i = 0; i < 9 * 9 * 3; i++)
    rgb[i] = (uint8_t)(i * 13);
  p = t_path(dir, "adam7.png");
  raw_png(p, 9, 9, PNG_COLOR_TYPE_RGB, 8, PNG_INTERLACE_ADAM7, NULL, 0, NULL, 0, NULL, rgb, 27);
  CHECK_OK(rt_png_load(p, &img, &ERR));
  CHECK(img.c == 3 && img.w == 9 && img.h == 9);
  bool same = img.data != NULL;
  for (int i = 0; same && i < 9 * 9 * 3; i++)
    same = img.data[i] == rgb[i] / 255.0f;
  CHECK(same);
  rt_image_free(&img);
}

static void test_to_model(void) {
  /* 2x2 gray [[0, 1], [1, 0]] upsampled to 4x4 with half-pixel centres:
   * rows and columns sample at -0.25 (clamped to 0), 0.25, 0.75, 1.25
   * (clamped to 1). */
  float g[4] = {0, 1, 1, 0};
  RtImage img = {.h = 2, .w = 2, .c = 1, .data = g};
  float out[4 * 4 * 3];
  CHECK_OK(rt_image_to_model(&img, 4, 4, 1, out, &ERR));
  const float w4[4] = {0, 0.25f, 0.75f, 1};
  bool ok = true;
  for (int y = 0; y < 4; y++)
    for (int x = 0; x < 4; x++) {
      float want = (1 - w4[y]) * w4[x] + w4[y] * (1 - w4[x]);
      ok = ok && near(out[y * 4 + x], want);
    }
  CHECK(ok);
  /* Same size is the identity; gray -> RGB repeats. */
  CHECK_OK(rt_image_to_model(&img, 2, 2, 3, out, &ERR));
  CHECK(out[0] == 0 && out[3] == 1 && out[4] == 1 && out[5] == 1 && out[11] == 0);
  /* 4x4 -> 2x2 samples at 0.5 and 2.5: the mean of each 2x2 block here. */
  float big[16];
  for (int i = 0; i < 16; i++)
    big[i] = (float)i;
  RtImage bimg = {.h = 4, .w = 4, .c = 1, .data = big};
  CHECK_OK(rt_image_to_model(&bimg, 2, 2, 1, out, &ERR));
  CHECK(near(out[0], 2.5f) && near(out[1], 4.5f) && near(out[2], 10.5f) && near(out[3], 12.5f));
  /* RGBA -> gray uses BT.601 weights and ignores alpha; RGBA -> RGB drops it. */
  float rgba[4] = {1, 0.5f, 0.25f, 0.1f};
  RtImage cimg = {.h = 1, .w = 1, .c = 4, .data = rgba};
  CHECK_OK(rt_image_to_model(&cimg, 1, 1, 1, out, &ERR));
  CHECK(near(out[0], 0.299f + 0.587f * 0.5f + 0.114f * 0.25f));
  CHECK_OK(rt_image_to_model(&cimg, 3, 2, 3, out, &ERR));
  CHECK(out[0] == 1 && out[1] == 0.5f && out[2] == 0.25f && out[15] == 1 && out[17] == 0.25f);
  CHECK_ERR(rt_image_to_model(&cimg, 3, 2, 2, out, &ERR), RT_ERR_ARG,
            "the model wants 2 channels; only 1 and 3 are supported");
  CHECK_ERR(rt_image_to_model(&cimg, 0, 2, 3, out, &ERR), RT_ERR_ARG, "invalid model size 0x2");

  /* The convenience path. */
  uint8_t px[2 * 2 * 3] = {255, 0, 0, 0, 255, 0, 0, 0, 255, 255, 255, 255};
  const char *p = t_path(dir, "m.png");
  CHECK_OK(rt_png_save(p, px, 2, 2, 3, 8, &ERR));
  CHECK_OK(rt_png_load_for_model(p, 1, 1, 3, out, &ERR));
  CHECK(near(out[0], 0.5f) && near(out[1], 0.5f) && near(out[2], 0.5f));
  CHECK_ERR(rt_png_load_for_model(p, 1, 1, 4, out, &ERR), RT_ERR_ARG,
            "m.png: rt_image_to_model: the model wants 4 channels");
}

static void test_bad(void) {
  RtImage img;
  uint8_t px[16 * 16 * 3];
  for (size_t i = 0; i < sizeof px; i++)
    px[i] = (uint8_t)(i * 131);
  const char *good = t_path(dir, "good.png");
  CHECK_OK(rt_png_save(good, px, 16, 16, 3, 8, &ERR));
  size_t n;
  unsigned char *b = t_slurp(good, &n);

  CHECK_ERR(rt_png_load(t_path(dir, "none.png"), &img, &ERR), RT_ERR_IO,
            "none.png: cannot open: No such file or directory");
  const char *p = t_path(dir, "text.png");
  t_write(p, "this is not a picture", 21);
  CHECK_ERR(rt_png_load(p, &img, &ERR), RT_ERR_FORMAT, "text.png: not a PNG file (bad signature)");
  t_write(p, "", 0);
  CHECK_ERR(rt_png_load(p, &img, &ERR), RT_ERR_FORMAT, "text.png: not a PNG file");
  /* Cut after the signature, inside IHDR, in the middle of IDAT. */
  CHECK_ERR(rt_png_load_memory(b, 8, "sig.png", &img, &ERR), RT_ERR_FORMAT,
            "sig.png: corrupt PNG: file ends early (truncated PNG)");
  CHECK_ERR(rt_png_load_memory(b, 20, "ihdr.png", &img, &ERR), RT_ERR_FORMAT,
            "ihdr.png: corrupt PNG: file ends early");
  CHECK_ERR(rt_png_load_memory(b, n / 2, "half.png", &img, &ERR), RT_ERR_FORMAT,
            "half.png: corrupt PNG:");
  CHECK_ERR(rt_png_load_memory(b, n - 12, "noiend.png", &img, &ERR), RT_ERR_FORMAT,
            "noiend.png: corrupt PNG: file ends early");
  /* A flipped bit in IHDR's width breaks its CRC. */
  unsigned char *c = malloc(n);
  memcpy(c, b, n);
  c[18] ^= 0x01;
  CHECK_ERR(rt_png_load_memory(c, n, "crc.png", &img, &ERR), RT_ERR_FORMAT,
            "crc.png: corrupt PNG: IHDR: CRC error");
  /* Garbage in the compressed data: zlib fails before the chunk's CRC is
   * checked, and the message says which chunk. */
  memcpy(c, b, n);
  for (size_t i = 50; i < 60 && i < n; i++)
    c[i] ^= 0xff;
  CHECK_ERR(rt_png_load_memory(c, n, "idat.png", &img, &ERR), RT_ERR_FORMAT, "idat.png: corrupt PNG:");
  CHECK(img.data == NULL);
  /* A valid IHDR (CRC fixed) claiming 20000x20000: refused before any
   * allocation. */
  memcpy(c, b, n);
  c[16] = 0, c[17] = 0, c[18] = 0x4e, c[19] = 0x20;
  c[20] = 0, c[21] = 0, c[22] = 0x4e, c[23] = 0x20;
  uLong crc = crc32(0, c + 12, 17);
  c[29] = (unsigned char)(crc >> 24), c[30] = (unsigned char)(crc >> 16);
  c[31] = (unsigned char)(crc >> 8), c[32] = (unsigned char)crc;
  CHECK_ERR(rt_png_load_memory(c, n, "huge.png", &img, &ERR), RT_ERR_FORMAT,
            "huge.png: corrupt PNG: image is 20000x20000, more than the 67108864 pixels "
            "supported");
  free(c);
  free(b);
  CHECK_ERR(rt_png_save(t_path(dir, "x.png"), px, 4, 4, 5, 8, &ERR), RT_ERR_ARG,
            "invalid arguments (4x4x5, 8-bit)");
  CHECK_ERR(rt_png_save(t_path(dir, "nodir/x.png"), px, 4, 4, 3, 8, &ERR), RT_ERR_IO,
            "nodir/x.png: cannot create temporary file");
}

int main(void) {
  dir = t_mkdtemp();
  test_formats();
  test_to_model();
  test_bad();
  t_rmtree(dir);
  free(dir);
  return t_finish("test_png");
}
