/* libFuzzer target for the safetensors reader: any byte string goes through
 * rt_st_open_memory, and whatever loads must hold together (every tensor's
 * bytes in bounds, sizes consistent, the model-facing checks behaving).
 * A broken invariant aborts so that the fuzzer keeps the input.
 * Built as a fuzzer with NETC_FUZZ=ON under clang, and always linked into
 * fuzz_replay (tests/io/fuzz_replay.c) to replay the seed corpus. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "netc/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void require(int cond) {
  if (!cond)
    abort();
}

/* The message must be a non-empty, NUL-terminated line naming the source. */
static void check_msg(const RtError *err) {
  require(memchr(err->msg, '\0', sizeof err->msg) != NULL);
  require(strncmp(err->msg, "fuzz.safetensors", 16) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  RtError err;
  memset(&err, 0, sizeof err);
  RtSafetensors *st = (RtSafetensors *)&err; /* must be reset to NULL on failure */
  if (rt_st_open_memory(&st, data, size, "fuzz.safetensors", &err) != RT_OK) {
    require(st == NULL);
    check_msg(&err);
    return 0;
  }
  size_t n = rt_st_count(st);
  uint64_t covered = 0;
  unsigned sum = 0;
  for (size_t i = 0; i < n; i++) {
    const RtStTensor *t = rt_st_at(st, i);
    require(t && t->name && *t->name);
    require(i == 0 || strcmp(rt_st_at(st, i - 1)->name, t->name) < 0);
    require(rt_st_find(st, t->name) == t);
    require(t->ndim >= 0 && t->ndim <= RT_MAX_DIMS);
    uint64_t numel = 1;
    for (int d = 0; d < t->ndim; d++) {
      require(t->shape[d] >= 0);
      numel *= (uint64_t)t->shape[d];
    }
    require(numel == t->numel);
    require(t->nbytes == t->numel * rt_dtype_size(t->dtype));
    /* Touch every byte: ASan flags anything out of the buffer. */
    for (uint64_t k = 0; k < t->nbytes; k++)
      sum += t->data[k];
    covered += t->nbytes;
  }
  require(covered + 8 <= size);
  for (size_t i = 0; i < rt_st_metadata_count(st); i++) {
    const char *k, *v;
    rt_st_metadata_at(st, i, &k, &v);
    require(k && v && rt_st_metadata_get(st, k) == v);
  }
  if (n > 0) {
    const RtStTensor *t = rt_st_at(st, n / 2);
    /* Its own dtype and shape pass; one more dimension fails. */
    const RtStTensor *got = NULL;
    require(rt_st_expect(st, t->name, t->dtype, t->ndim, t->shape, &got, &err) == RT_OK);
    require(got == t);
    if (t->ndim < RT_MAX_DIMS) {
      int64_t shape[RT_MAX_DIMS + 1];
      memcpy(shape, t->shape, sizeof t->shape);
      shape[t->ndim] = 1;
      require(rt_st_expect(st, t->name, t->dtype, t->ndim + 1, shape, NULL, &err) ==
              RT_ERR_MISMATCH);
      check_msg(&err);
    }
    if (t->dtype == RT_DT_F32 && t->numel <= (1u << 20)) {
      float *f = malloc(t->numel ? (size_t)t->numel * sizeof(float) : 1);
      require(f != NULL);
      require(rt_st_read_f32(st, t->name, t->ndim, t->shape, f, (size_t)t->numel, &err) == RT_OK);
      free(f);
    }
    require(rt_st_expect(st, "\x01no such tensor", RT_DT_F32, 0, NULL, NULL, &err) ==
            RT_ERR_MISMATCH);
    check_msg(&err);
  }
  RtStatus s = rt_st_check_all_used(st, &err);
  require((s == RT_OK) == (rt_st_unused_count(st) == 0));
  if (s != RT_OK)
    check_msg(&err);
  rt_st_close(st);
  return (int)(sum & 0); /* keep the reads */
}
