/* libFuzzer target for the PNG loader (rt_png_load_memory, libpng behind
 * setjmp) and the resize/convert step. See fuzz_safetensors.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netc/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  /* Images that decode to more than 4 Mpixels are valid but slow under the
   * sanitizers; skip them by their IHDR (bytes 16..23). */
  if (size >= 24) {
    uint64_t w = (uint64_t)data[16] << 24 | data[17] << 16 | data[18] << 8 | data[19];
    uint64_t h = (uint64_t)data[20] << 24 | data[21] << 16 | data[22] << 8 | data[23];
    if (w * h > (1u << 22))
      return 0;
  }
  RtError err;
  RtImage img;
  if (rt_png_load_memory(data, size, "fuzz.png", &img, &err) != RT_OK) {
    if (img.data || !memchr(err.msg, '\0', sizeof err.msg) || strncmp(err.msg, "fuzz.png", 8))
      abort();
    return 0;
  }
  if (!img.data || img.h <= 0 || img.w <= 0 || img.c < 1 || img.c > 4)
    abort();
  size_t n = (size_t)img.h * img.w * img.c;
  for (size_t i = 0; i < n; i++)
    if (!(img.data[i] >= 0.0f && img.data[i] <= 1.0f))
      abort();
  float out[5 * 3 * 3];
  for (int c = 1; c <= 3; c += 2) {
    if (rt_image_to_model(&img, 5, 3, c, out, &err) != RT_OK)
      abort();
    for (int i = 0; i < 5 * 3 * c; i++)
      if (!(out[i] >= -1e-6f && out[i] <= 1.0f + 1e-6f))
        abort();
  }
  rt_image_free(&img);
  return 0;
}
