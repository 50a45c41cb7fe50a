/* PNG loading (any colour type and depth, through libpng's transforms),
 * conversion to the model's channels and size, and a PNG writer.
 *
 * libpng reports errors by longjmp. Our error callback records the message
 * in a context struct and jumps back to the setjmp in the caller; locals
 * changed after setjmp are volatile, and nothing else is done between the
 * jump and the cleanup. The warning callback swallows warnings: the runtime
 * never prints. */
#include <math.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

#include <png.h>

#include "io_internal.h"

/* Limits on what we decode: a few hundred bytes of PNG can claim a huge
 * image, and we allocate the whole image before libpng finds out whether
 * the data is there. 64 Mpixels is ample for a CNN input. */
#define PNG_MAX_SIDE 32768
#define PNG_MAX_PIXELS ((uint64_t)1 << 26)

void rt_image_free(RtImage *img) {
  if (!img)
    return;
  free(img->data);
  memset(img, 0, sizeof *img);
}

typedef struct PngCtx {
  const uint8_t *buf; /* reading: the file */
  size_t len, pos;
  uint8_t *out; /* writing: a growing buffer */
  size_t out_len, out_cap;
  RtImage img;   /* reading: the result */
  char msg[200]; /* libpng's error message */
} PngCtx;

static void on_error(png_structp png, png_const_charp msg) {
  PngCtx *c = png_get_error_ptr(png);
  snprintf(c->msg, sizeof c->msg, "%s", msg ? msg : "unknown libpng error");
  png_longjmp(png, 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
  (void)png;
  (void)msg;
}

static void on_read(png_structp png, png_bytep dst, size_t n) {
  PngCtx *c = png_get_io_ptr(png);
  if (n > c->len - c->pos)
    png_error(png, "file ends early (truncated PNG)");
  memcpy(dst, c->buf + c->pos, n);
  c->pos += n;
}

/* Decodes ctx->buf into ctx->img; false with ctx->msg set on failure. Kept
 * apart from rt_png_load_memory so that nothing but ctx lives across the
 * setjmp. */
static bool png_decode(PngCtx *ctx) {
  png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    if (png)
      png_destroy_read_struct(&png, NULL, NULL);
    snprintf(ctx->msg, sizeof ctx->msg, "out of memory (libpng)");
    return false;
  }
  uint8_t *volatile pixels = NULL;
  png_bytep *volatile rows = NULL;
  float *volatile data = NULL;
  if (setjmp(png_jmpbuf(png))) {
    free(pixels);
    free(rows);
    free(data);
    png_destroy_read_struct(&png, &info, NULL);
    return false;
  }
  png_set_read_fn(png, ctx, on_read);
  png_set_user_limits(png, PNG_MAX_SIDE, PNG_MAX_SIDE);
#ifdef FUZZING_BUILD_MODE_UNSAFE_FOR_PRODUCTION
  /* Mutated inputs almost never have valid CRCs; let the fuzzer past them. */
  png_set_crc_action(png, PNG_CRC_QUIET_USE, PNG_CRC_QUIET_USE);
#endif
  png_read_info(png, info);
  png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
  int color = png_get_color_type(png, info), depth = png_get_bit_depth(png, info);
  if ((uint64_t)w * h > PNG_MAX_PIXELS) {
    snprintf(ctx->msg, sizeof ctx->msg, "image is %ux%u, more than the %llu pixels supported",
             (unsigned)w, (unsigned)h, (unsigned long long)PNG_MAX_PIXELS);
    png_longjmp(png, 1);
  }
  if (color == PNG_COLOR_TYPE_PALETTE)
    png_set_palette_to_rgb(png);
  if (color == PNG_COLOR_TYPE_GRAY && depth < 8)
    png_set_expand_gray_1_2_4_to_8(png);
  if (png_get_valid(png, info, PNG_INFO_tRNS))
    png_set_tRNS_to_alpha(png);
  png_set_interlace_handling(png);
  png_read_update_info(png, info);
  int ch = png_get_channels(png, info), bd = png_get_bit_depth(png, info);
  size_t rowbytes = png_get_rowbytes(png, info);
  if ((bd != 8 && bd != 16) || ch < 1 || ch > 4 || rowbytes != (size_t)w * ch * (bd / 8))
    png_error(png, "unexpected pixel layout after transforms");
  pixels = malloc(rowbytes * h);
  rows = malloc(sizeof(png_bytep) * h);
  data = malloc(sizeof(float) * w * h * ch);
  if (!pixels || !rows || !data)
    png_error(png, "out of memory");
  for (png_uint_32 y = 0; y < h; y++)
    rows[y] = pixels + y * rowbytes;
  png_read_image(png, rows);
  png_read_end(png, NULL);
  size_t n = (size_t)w * h * ch;
  if (bd == 8)
    for (size_t i = 0; i < n; i++)
      data[i] = pixels[i] / 255.0f;
  else
    for (size_t i = 0; i < n; i++)
      data[i] = (float)(pixels[2 * i] << 8 | pixels[2 * i + 1]) / 65535.0f;
  ctx->img.data = data;
  ctx->img.h = (int)h;
  ctx->img.w = (int)w;
  ctx->img.c = ch;
  free(pixels);
  free(rows);
  png_destroy_read_struct(&png, &info, NULL);
  return true;
}

RtStatus rt_png_load_memory(const void *vbuf, size_t len, const char *label, RtImage *out,
                            RtError *err) {
  const char *L = label ? label : "<memory>";
  if (!out)
    return rt_fail(err, RT_ERR_ARG, "%s: output image is NULL", L);
  memset(out, 0, sizeof *out);
  const uint8_t *buf = vbuf;
  if (len < 8 || !buf || png_sig_cmp(buf, 0, 8) != 0)
    return rt_fail(err, RT_ERR_FORMAT, "%s: not a PNG file (bad signature)", L);
  /* On the heap: the callbacks change it between setjmp and longjmp, which
   * a local would not survive reliably. */
  PngCtx *ctx = calloc(1, sizeof *ctx);
  if (!ctx)
    return rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", L);
  ctx->buf = buf;
  ctx->len = len;
  RtStatus s = RT_OK;
  if (png_decode(ctx))
    *out = ctx->img;
  else
    s = rt_fail(err, RT_ERR_FORMAT, "%s: corrupt PNG: %s", L, ctx->msg);
  free(ctx);
  return s;
}

RtStatus rt_png_load(const char *path, RtImage *out, RtError *err) {
  if (out)
    memset(out, 0, sizeof *out);
  uint8_t *buf;
  size_t len;
  RtStatus s = rt_read_file(path, &buf, &len, err);
  if (s != RT_OK)
    return s;
  s = rt_png_load_memory(buf, len, path, out, err);
  free(buf);
  return s;
}

/* Channel c of pixel p of img, converted to `want` channels. */
static float sample(const RtImage *img, size_t p, int want, int c) {
  const float *px = img->data + p * (size_t)img->c;
  int have = img->c >= 3 ? 3 : 1; /* colour channels, alpha ignored */
  if (want == have)
    return px[c];
  if (want == 3) /* gray -> RGB */
    return px[0];
  return 0.299f * px[0] + 0.587f * px[1] + 0.114f * px[2]; /* RGB -> gray (BT.601) */
}

RtStatus rt_image_to_model(const RtImage *img, int h, int w, int c, float *out, RtError *err) {
  if (!img || !img->data || img->h <= 0 || img->w <= 0 || img->c < 1 || img->c > 4 || !out)
    return rt_fail(err, RT_ERR_ARG, "rt_image_to_model: invalid image or output");
  if (c != 1 && c != 3)
    return rt_fail(err, RT_ERR_ARG, "rt_image_to_model: the model wants %d channels; only 1 "
                   "and 3 are supported", c);
  if (h <= 0 || w <= 0 || h > PNG_MAX_SIDE || w > PNG_MAX_SIDE)
    return rt_fail(err, RT_ERR_ARG, "rt_image_to_model: invalid model size %dx%d", h, w);
  /* Half-pixel centres: output pixel i covers source coordinate
   * (i + 0.5) * in / out - 0.5, clamped to the image. */
  float sy = (float)img->h / (float)h, sx = (float)img->w / (float)w;
  for (int y = 0; y < h; y++) {
    float fy = ((float)y + 0.5f) * sy - 0.5f;
    if (fy < 0)
      fy = 0;
    int y0 = (int)fy;
    if (y0 > img->h - 1)
      y0 = img->h - 1;
    int y1 = y0 + 1 < img->h ? y0 + 1 : y0;
    float ty = fy - (float)y0;
    for (int x = 0; x < w; x++) {
      float fx = ((float)x + 0.5f) * sx - 0.5f;
      if (fx < 0)
        fx = 0;
      int x0 = (int)fx;
      if (x0 > img->w - 1)
        x0 = img->w - 1;
      int x1 = x0 + 1 < img->w ? x0 + 1 : x0;
      float tx = fx - (float)x0;
      size_t p00 = (size_t)y0 * img->w + x0, p01 = (size_t)y0 * img->w + x1;
      size_t p10 = (size_t)y1 * img->w + x0, p11 = (size_t)y1 * img->w + x1;
      for (int k = 0; k < c; k++) {
        float top = sample(img, p00, c, k) * (1 - tx) + sample(img, p01, c, k) * tx;
        float bot = sample(img, p10, c, k) * (1 - tx) + sample(img, p11, c, k) * tx;
        out[((size_t)y * w + x) * c + k] = top * (1 - ty) + bot * ty;
      }
    }
  }
  return RT_OK;
}

RtStatus rt_png_load_for_model(const char *path, int h, int w, int c, float *out,
                               RtError *err) {
  RtImage img;
  RtStatus s = rt_png_load(path, &img, err);
  if (s != RT_OK)
    return s;
  s = rt_image_to_model(&img, h, w, c, out, err);
  if (s != RT_OK) {
    /* Name the file: rt_image_to_model does not know it. */
    char inner[sizeof err->msg];
    if (err) {
      memcpy(inner, err->msg, sizeof inner);
      rt_fail(err, s, "%s: %s", path, inner);
    }
  }
  rt_image_free(&img);
  return s;
}

/* ---- Writer ------------------------------------------------------------- */

static void on_write(png_structp png, png_bytep src, size_t n) {
  PngCtx *c = png_get_io_ptr(png);
  if (n > c->out_cap - c->out_len) {
    size_t nc = c->out_cap ? c->out_cap : 4096;
    while (nc - c->out_len < n)
      nc *= 2;
    uint8_t *nb = realloc(c->out, nc);
    if (!nb)
      png_error(png, "out of memory");
    c->out = nb;
    c->out_cap = nc;
  }
  memcpy(c->out + c->out_len, src, n);
  c->out_len += n;
}

static void on_flush(png_structp png) { (void)png; }

typedef struct BufJob {
  const uint8_t *p;
  size_t n;
} BufJob;

static bool buf_body(FILE *f, void *ctx) {
  const BufJob *j = ctx;
  return rt_fwrite_all(f, j->p, j->n);
}

/* Encodes into ctx->out; false with ctx->msg set on failure. */
static bool png_encode(PngCtx *ctx, const void *vpixels, int h, int w, int c, int bit_depth) {
  static const int types[] = {PNG_COLOR_TYPE_GRAY, PNG_COLOR_TYPE_GRAY_ALPHA, PNG_COLOR_TYPE_RGB,
                              PNG_COLOR_TYPE_RGBA};
  png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, ctx, on_error, on_warning);
  png_infop info = png ? png_create_info_struct(png) : NULL;
  if (!info) {
    if (png)
      png_destroy_write_struct(&png, NULL);
    snprintf(ctx->msg, sizeof ctx->msg, "out of memory (libpng)");
    return false;
  }
  uint8_t *volatile row = NULL;
  if (setjmp(png_jmpbuf(png))) {
    free(row);
    png_destroy_write_struct(&png, &info);
    return false;
  }
  size_t bpc = (size_t)bit_depth / 8, rowbytes = (size_t)w * c * bpc;
  png_set_write_fn(png, ctx, on_write, on_flush);
  png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, bit_depth, types[c - 1],
               PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
  png_write_info(png, info);
  row = malloc(rowbytes);
  if (!row)
    png_error(png, "out of memory");
  for (int y = 0; y < h; y++) {
    if (bit_depth == 8) {
      memcpy(row, (const uint8_t *)vpixels + (size_t)y * rowbytes, rowbytes);
    } else {
      /* PNG stores 16-bit samples big-endian. */
      const uint16_t *src = (const uint16_t *)vpixels + (size_t)y * w * c;
      for (size_t i = 0; i < (size_t)w * c; i++) {
        row[2 * i] = (uint8_t)(src[i] >> 8);
        row[2 * i + 1] = (uint8_t)src[i];
      }
    }
    png_write_row(png, row);
  }
  png_write_end(png, NULL);
  free(row);
  png_destroy_write_struct(&png, &info);
  return true;
}

RtStatus rt_png_save(const char *path, const void *vpixels, int h, int w, int c, int bit_depth,
                     RtError *err) {
  const char *L = path ? path : "<null>";
  if (!path || !vpixels || h <= 0 || w <= 0 || h > PNG_MAX_SIDE || w > PNG_MAX_SIDE || c < 1 ||
      c > 4 || (bit_depth != 8 && bit_depth != 16))
    return rt_fail(err, RT_ERR_ARG, "%s: rt_png_save: invalid arguments (%dx%dx%d, %d-bit)", L,
                   h, w, c, bit_depth);
  PngCtx *ctx = calloc(1, sizeof *ctx); /* on the heap: see rt_png_load_memory */
  if (!ctx)
    return rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", L);
  RtStatus s;
  if (!png_encode(ctx, vpixels, h, w, c, bit_depth)) {
    s = rt_fail(err, RT_ERR_IO, "%s: PNG encoding failed: %s", L, ctx->msg);
  } else {
    BufJob job = {ctx->out, ctx->out_len};
    s = rt_atomic_write(path, buf_body, &job, err);
  }
  free(ctx->out);
  free(ctx);
  return s;
}
