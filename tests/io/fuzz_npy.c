/* libFuzzer target for the .npy reader (rt_npy_load_memory): whatever loads
 * must have a consistent shape and readable data. See fuzz_safetensors.c. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netc/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Every float is read into this, so ASan sees each access. */
static volatile float sink;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  RtError err;
  RtArray a;
  if (rt_npy_load_memory(data, size, "fuzz.npy", &a, &err) != RT_OK) {
    if (a.data || !memchr(err.msg, '\0', sizeof err.msg) || strncmp(err.msg, "fuzz.npy", 8))
      abort();
    return 0;
  }
  size_t numel = 1;
  for (int d = 0; d < a.ndim; d++)
    numel *= (size_t)a.shape[d];
  if (numel != a.numel || a.ndim < 0 || a.ndim > RT_MAX_DIMS || !a.data)
    abort();
  for (size_t i = 0; i < a.numel; i++)
    sink = a.data[i];
  rt_array_free(&a);
  return 0;
}
