/* safetensors reader/writer: round trips, determinism, the model-facing
 * checks (expect, read_f32, unused tensors) and every kind of bad file,
 * each asserting what the error message says. */
#include "io_test.h"

#include <stdint.h>

static char *dir;

/* A file of 8-byte length + header + data_len bytes of data (value i). */
static const char *make_raw(const char *name, const char *header, size_t data_len) {
  const char *p = t_path(dir, name);
  size_t hl = strlen(header);
  size_t n = 8 + hl + data_len;
  unsigned char *b = calloc(1, n);
  for (int i = 0; i < 8; i++)
    b[i] = (unsigned char)((uint64_t)hl >> (8 * i));
  memcpy(b + 8, header, hl);
  for (size_t i = 0; i < data_len; i++)
    b[8 + hl + i] = (unsigned char)i;
  t_write(p, b, n);
  free(b);
  return p;
}

/* Opens a raw-built file and expects failure mentioning all needles. */
#define BAD(name, header, data_len, ...)                                           \
  do {                                                                             \
    RtSafetensors *st_ = (RtSafetensors *)1;                                       \
    CHECK_ERR(rt_st_open(&st_, make_raw(name, header, data_len), &ERR),            \
              RT_ERR_FORMAT, name, __VA_ARGS__);                                   \
    CHECK(st_ == NULL);                                                            \
  } while (0)

static void test_roundtrip(void) {
  RtStWriter *w;
  CHECK_OK(rt_stw_new(&w, &ERR));
  float k[3 * 3 * 1 * 2];
  for (int i = 0; i < 18; i++)
    k[i] = (float)i * 0.5f - 3.0f;
  float b[2] = {1.5f, -2.25f};
  int64_t rng[4] = {1, -2, INT64_MAX, INT64_MIN};
  uint8_t flags[3] = {0, 1, 255};
  float scalar = 42.0f;
  CHECK_OK(rt_stw_add_f32(w, "conv_1.kernel", 4, (int64_t[]){3, 3, 1, 2}, k, &ERR));
  CHECK_OK(rt_stw_add_f32(w, "conv_1.bias", 1, (int64_t[]){2}, b, &ERR));
  CHECK_OK(rt_stw_add(w, "rng_state", RT_DT_I64, 1, (int64_t[]){4}, rng, &ERR));
  CHECK_OK(rt_stw_add(w, "flags", RT_DT_U8, 1, (int64_t[]){3}, flags, &ERR));
  CHECK_OK(rt_stw_add_f32(w, "step", 0, NULL, &scalar, &ERR));
  CHECK_OK(rt_stw_add_f32(w, "empty", 2, (int64_t[]){0, 5}, NULL, &ERR));
  CHECK_OK(rt_stw_set_metadata(w, "format", "pt", &ERR));
  CHECK_OK(rt_stw_set_metadata(w, "netc", "draft", &ERR));
  CHECK_OK(rt_stw_set_metadata(w, "netc", "0.1 \"quoted\" \\ \n", &ERR));
  CHECK_ERR(rt_stw_add_f32(w, "conv_1.bias", 1, (int64_t[]){2}, b, &ERR), RT_ERR_ARG,
            "'conv_1.bias' added twice");
  CHECK_ERR(rt_stw_add_f32(w, "neg", 1, (int64_t[]){-1}, b, &ERR), RT_ERR_ARG, "'neg'",
            "invalid dimension");
  CHECK_ERR(rt_stw_add_f32(w, "__metadata__", 1, (int64_t[]){2}, b, &ERR), RT_ERR_ARG,
            "invalid tensor name");
  const char *path = t_path(dir, "model.safetensors");
  CHECK_OK(rt_stw_write(w, path, &ERR));

  /* Deterministic: another writer with a different insertion order gives
   * the same bytes. */
  RtStWriter *w2;
  CHECK_OK(rt_stw_new(&w2, &ERR));
  CHECK_OK(rt_stw_set_metadata(w2, "netc", "0.1 \"quoted\" \\ \n", &ERR));
  CHECK_OK(rt_stw_add_f32(w2, "empty", 2, (int64_t[]){0, 5}, NULL, &ERR));
  CHECK_OK(rt_stw_add_f32(w2, "step", 0, NULL, &scalar, &ERR));
  CHECK_OK(rt_stw_add(w2, "flags", RT_DT_U8, 1, (int64_t[]){3}, flags, &ERR));
  CHECK_OK(rt_stw_add(w2, "rng_state", RT_DT_I64, 1, (int64_t[]){4}, rng, &ERR));
  CHECK_OK(rt_stw_add_f32(w2, "conv_1.bias", 1, (int64_t[]){2}, b, &ERR));
  CHECK_OK(rt_stw_add_f32(w2, "conv_1.kernel", 4, (int64_t[]){3, 3, 1, 2}, k, &ERR));
  CHECK_OK(rt_stw_set_metadata(w2, "format", "pt", &ERR));
  const char *path2 = t_path(dir, "model2.safetensors");
  CHECK_OK(rt_stw_write(w2, path2, &ERR));
  size_t n1, n2;
  unsigned char *b1 = t_slurp(path, &n1), *b2 = t_slurp(path2, &n2);
  CHECK(b1 && b2 && n1 == n2 && memcmp(b1, b2, n1) == 0);
  /* Header padded so the data section starts 8-aligned. */
  uint64_t hl = 0;
  for (int i = 7; i >= 0; i--)
    hl = hl << 8 | b1[i];
  CHECK(hl % 8 == 0);
  CHECK(memcmp(b1 + 8, "{\"__metadata__\":{\"format\":\"pt\",", 31) == 0);
  free(b1);
  free(b2);
  rt_stw_free(w2);

  RtSafetensors *st;
  CHECK_OK(rt_st_open(&st, path, &ERR));
  if (!st) {
    rt_stw_free(w);
    return;
  }
  CHECK(rt_st_count(st) == 6);
  /* Sorted by name. */
  CHECK(strcmp(rt_st_at(st, 0)->name, "conv_1.bias") == 0);
  CHECK(strcmp(rt_st_at(st, 5)->name, "step") == 0);
  CHECK(rt_st_at(st, 6) == NULL);
  CHECK(rt_st_metadata_count(st) == 2);
  CHECK(strcmp(rt_st_metadata_get(st, "format"), "pt") == 0);
  CHECK(strcmp(rt_st_metadata_get(st, "netc"), "0.1 \"quoted\" \\ \n") == 0);
  CHECK(rt_st_metadata_get(st, "nope") == NULL);
  const char *mk, *mv;
  rt_st_metadata_at(st, 0, &mk, &mv);
  CHECK(strcmp(mk, "format") == 0 && strcmp(mv, "pt") == 0);

  float kk[18];
  CHECK_OK(rt_st_read_f32(st, "conv_1.kernel", 4, (int64_t[]){3, 3, 1, 2}, kk, 18, &ERR));
  CHECK(memcmp(kk, k, sizeof k) == 0);
  float bb[2];
  CHECK_OK(rt_st_read_f32(st, "conv_1.bias", 1, (int64_t[]){2}, bb, 2, &ERR));
  CHECK(bb[0] == 1.5f && bb[1] == -2.25f);
  float s1;
  CHECK_OK(rt_st_read_f32(st, "step", 0, NULL, &s1, 1, &ERR));
  CHECK(s1 == 42.0f);
  const RtStTensor *t = rt_st_find(st, "rng_state");
  CHECK(t && t->dtype == RT_DT_I64 && t->ndim == 1 && t->shape[0] == 4 && t->nbytes == 32);
  if (t) {
    int64_t r2[4];
    memcpy(r2, t->data, 32);
    CHECK(memcmp(r2, rng, 32) == 0);
  }
  t = rt_st_find(st, "empty");
  CHECK(t && t->numel == 0 && t->nbytes == 0 && t->ndim == 2 && t->shape[1] == 5);

  /* The model checks: wrong shape, wrong dtype, missing tensor, count. */
  CHECK_ERR(rt_st_read_f32(st, "conv_1.kernel", 4, (int64_t[]){3, 3, 1, 4}, kk, 18, &ERR),
            RT_ERR_MISMATCH,
            "model.safetensors: tensor 'conv_1.kernel': shape [3,3,1,2] but the model "
            "expects [3,3,1,4]");
  CHECK_ERR(rt_st_read_f32(st, "conv_1.kernel", 2, (int64_t[]){9, 2}, kk, 18, &ERR),
            RT_ERR_MISMATCH, "shape [3,3,1,2] but the model expects [9,2]");
  CHECK_ERR(rt_st_read_f32(st, "rng_state", 1, (int64_t[]){4}, kk, 4, &ERR), RT_ERR_MISMATCH,
            "model.safetensors: tensor 'rng_state': dtype I64 but the model expects F32");
  CHECK_ERR(rt_st_read_f32(st, "conv_2.kernel", 1, (int64_t[]){4}, kk, 4, &ERR),
            RT_ERR_MISMATCH, "model.safetensors: tensor 'conv_2.kernel' is missing",
            "F32 [4]", "6 tensors");
  CHECK_ERR(rt_st_read_f32(st, "conv_1.bias", 1, (int64_t[]){2}, bb, 3, &ERR), RT_ERR_ARG,
            "destination holds 3 floats but the tensor has 2");
  CHECK_OK(rt_st_expect(st, "flags", RT_DT_U8, 1, (int64_t[]){3}, &t, &ERR));
  CHECK(t && memcmp(t->data, flags, 3) == 0);

  /* Used: conv_1.kernel, conv_1.bias, step, flags. Unused: empty, rng_state. */
  CHECK(rt_st_unused_count(st) == 2);
  CHECK(rt_st_is_used(st, 0) && !rt_st_is_used(st, 2));
  CHECK_ERR(rt_st_check_all_used(st, &ERR), RT_ERR_MISMATCH,
            "model.safetensors: 2 tensors not used by the model: 'empty', 'rng_state'");
  rt_st_mark_used(st, "rng_state");
  rt_st_mark_used(st, "no-such-tensor");
  CHECK_ERR(rt_st_check_all_used(st, &ERR), RT_ERR_MISMATCH,
            "1 tensor not used by the model: 'empty'");
  rt_st_mark_used(st, "empty");
  CHECK_OK(rt_st_check_all_used(st, &ERR));
  rt_st_close(st);

  /* The same bytes through the memory API. */
  size_t n;
  unsigned char *mem = t_slurp(path, &n);
  CHECK_OK(rt_st_open_memory(&st, mem, n, "mem.safetensors", &ERR));
  CHECK(st && rt_st_count(st) == 6 && strcmp(rt_st_label(st), "mem.safetensors") == 0);
  rt_st_close(st);
  /* Truncated by one byte: the last tensor's data runs out. */
  CHECK_ERR(rt_st_open_memory(&st, mem, n - 1, "cut.safetensors", &ERR), RT_ERR_FORMAT,
            "cut.safetensors: tensor", "run past the end of the data section");
  /* Truncated inside the header. */
  CHECK_ERR(rt_st_open_memory(&st, mem, 40, NULL, &ERR), RT_ERR_FORMAT,
            "<memory>: header length", "runs past the end of the file (40 bytes");
  free(mem);
  rt_stw_free(w);
}

static void test_empty_file_set(void) {
  RtStWriter *w;
  CHECK_OK(rt_stw_new(&w, &ERR));
  const char *p = t_path(dir, "none.safetensors");
  CHECK_OK(rt_stw_write(w, p, &ERR));
  rt_stw_free(w);
  RtSafetensors *st;
  CHECK_OK(rt_st_open(&st, p, &ERR));
  CHECK(st && rt_st_count(st) == 0 && rt_st_unused_count(st) == 0);
  rt_st_close(st);
}

static void test_bad_files(void) {
  RtSafetensors *st;
  CHECK_ERR(rt_st_open(&st, t_path(dir, "missing.safetensors"), &ERR), RT_ERR_IO,
            "missing.safetensors: cannot open: No such file or directory");
  CHECK_ERR(rt_st_open(&st, dir, &ERR), RT_ERR_IO, "not a regular file");
  t_write(t_path(dir, "short.safetensors"), "\x05\0\0", 3);
  CHECK_ERR(rt_st_open(&st, t_path(dir, "short.safetensors"), &ERR), RT_ERR_FORMAT,
            "short.safetensors: file is 3 bytes, too short for the 8-byte header length");

  /* Header length past the end of the file. */
  {
    unsigned char b[16] = {0xe8, 0x03, 0, 0, 0, 0, 0, 0, '{', '}'};
    t_write(t_path(dir, "hlen.safetensors"), b, 10);
    CHECK_ERR(rt_st_open(&st, t_path(dir, "hlen.safetensors"), &ERR), RT_ERR_FORMAT,
              "hlen.safetensors: header length 1000 (bytes 0-7) runs past the end of the file "
              "(10 bytes");
    unsigned char h[8] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
    t_write(t_path(dir, "hlen2.safetensors"), h, 8);
    CHECK_ERR(rt_st_open(&st, t_path(dir, "hlen2.safetensors"), &ERR), RT_ERR_FORMAT,
              "header length 18446744073709551615");
  }
  /* An absurd header length inside a (sparse, in-memory) big buffer. */
  {
    size_t big = (size_t)101 * 1000 * 1000;
    unsigned char *b = calloc(1, big);
    uint64_t hl = big - 8;
    for (int i = 0; i < 8; i++)
      b[i] = (unsigned char)(hl >> (8 * i));
    CHECK_ERR(rt_st_open_memory(&st, b, big, "big.safetensors", &ERR), RT_ERR_FORMAT,
              "big.safetensors: header length 100999992 is absurd");
    free(b);
  }

  BAD("json.safetensors", "{\"a\": {\"dtype\": \"F32\",, }", 0, "not valid JSON",
      "error near byte 31 of the file");
  BAD("array.safetensors", "[1, 2, 3]", 0, "header is an array, expected a JSON object");
  BAD("string.safetensors", "\"hello\"", 0, "header is a string");
  BAD("trail.safetensors", "{} x", 0, "extra bytes after the JSON object at byte 11");
  {
    const char h[] = "{}\0 ";
    unsigned char b[8 + sizeof h - 1] = {sizeof h - 1};
    memcpy(b + 8, h, sizeof h - 1);
    t_write(t_path(dir, "nul2.safetensors"), b, sizeof b);
    CHECK_ERR(rt_st_open(&st, t_path(dir, "nul2.safetensors"), &ERR), RT_ERR_FORMAT,
              "header contains a NUL byte at byte 10");
  }
  BAD("entry.safetensors", "{\"w\": [1]}", 0, "tensor 'w': header entry is an array");
  BAD("nodtype.safetensors", "{\"w\": {\"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
      "tensor 'w': missing field 'dtype'");
  BAD("noshape.safetensors", "{\"w\": {\"dtype\": \"F32\", \"data_offsets\": [0, 4]}}", 4,
      "tensor 'w': missing field 'shape'");
  BAD("nooffs.safetensors", "{\"w\": {\"dtype\": \"F32\", \"shape\": [1]}}", 4,
      "tensor 'w': missing field 'data_offsets'");
  BAD("dtype.safetensors",
      "{\"w\": {\"dtype\": \"F128\", \"shape\": [1], \"data_offsets\": [0, 16]}}", 16,
      "tensor 'w': unknown dtype \"F128\"");
  BAD("dtype2.safetensors",
      "{\"w\": {\"dtype\": 32, \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
      "tensor 'w': dtype is a number, expected a string");
  BAD("dupfield.safetensors",
      "{\"w\": {\"dtype\": \"F32\", \"dtype\": \"F64\", \"shape\": [1], \"data_offsets\": [0, 4]}}",
      4, "tensor 'w': field 'dtype' appears twice");
  BAD("shape.safetensors",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [2, -1], \"data_offsets\": [0, 4]}}", 4,
      "tensor 'w': shape[1] is not a non-negative integer");
  BAD("shape2.safetensors",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1.5], \"data_offsets\": [0, 4]}}", 4,
      "shape[0] is not a non-negative integer");
  BAD("shape3.safetensors",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": \"[1]\", \"data_offsets\": [0, 4]}}", 4,
      "tensor 'w': shape is a string, expected an array");
  BAD("shape4.safetensors",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1e300], \"data_offsets\": [0, 4]}}", 4,
      "shape[0] is not a non-negative integer");
  BAD("overflow.safetensors",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [4294967296, 4294967296], "
      "\"data_offsets\": [0, 4]}}", 4,
      "tensor 'w': shape [4294967296,4294967296]: element count overflows 64 bits");
  BAD("overflow2.safetensors",
      "{\"w\": {\"dtype\": \"F64\", \"shape\": [4294967296, 1073741824], "
      "\"data_offsets\": [0, 4]}}", 4, "byte size overflows 64 bits");
  BAD("rank.safetensors",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1,1,1,1,1,1,1,1,1], \"data_offsets\": [0, 4]}}",
      4, "shape has 9 dimensions, more than the 8 supported");
  BAD("offs.safetensors",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4, 8]}}", 4,
      "data_offsets must be an array [begin, end]");
  BAD("offs2.safetensors",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, \"4\"]}}", 4,
      "data_offsets must hold two non-negative integers");
  BAD("backwards.safetensors",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 0]}}", 4,
      "data_offsets [4,0] end before they begin");
  BAD("range.safetensors",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 4,
      "tensor 'w': data_offsets [0,8] run past the end of the data section (4 bytes)");
  BAD("size.safetensors",
      "{\"w\": {\"dtype\": \"F32\", \"shape\": [3], \"data_offsets\": [0, 8]}}", 8,
      "tensor 'w': data_offsets [0,8] hold 8 bytes but F32 [3] needs 12");
  BAD("overlap.safetensors",
      "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
      " \"b\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [4, 12]}}", 12,
      "tensor 'b': data_offsets [4,12] overlap tensor 'a' [0,8]");
  BAD("same.safetensors",
      "{\"a\": {\"dtype\": \"F32\", \"shape\": [2], \"data_offsets\": [0, 8]},"
      " \"b\": {\"dtype\": \"I32\", \"shape\": [2], \"data_offsets\": [0, 8]}}", 8,
      "data_offsets [0,8] overlap tensor");
  BAD("gap.safetensors",
      "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
      " \"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [8, 12]}}", 12,
      "bytes [4,8) of the data section belong to no tensor (gap before tensor 'b')");
  BAD("tail.safetensors",
      "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 10,
      "6 bytes after the last tensor's data");
  BAD("nodata.safetensors", "{}", 4, "4 bytes of data but no tensors");
  BAD("dup.safetensors",
      "{\"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]},"
      " \"a\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8]}}", 8,
      "tensor 'a' appears twice in the header");
  BAD("emptyname.safetensors",
      "{\"\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [0, 4]}}", 4,
      "tensor with an empty name");
  /* Names are shown escaped (one line) and cut when long. */
  BAD("esc.safetensors",
      "{\"a\\nb'c\": {\"dtype\": \"F128\", \"shape\": [1], \"data_offsets\": [0, 16]}}", 16,
      "tensor 'a\\x0ab\\x27c': unknown dtype \"F128\"");
  {
    char h[1200];
    snprintf(h, sizeof h, "{\"%0400d\": {\"dtype\": \"F32\", \"shape\": [2], "
             "\"data_offsets\": [0, 4]}}", 7);
    BAD("long.safetensors", h, 4, "tensor '0000000000", "...': data_offsets [0,4] hold 4 bytes "
        "but F32 [2] needs 8");
  }
  BAD("meta.safetensors", "{\"__metadata__\": {\"a\": 1}}", 0,
      "__metadata__ entry 'a' is a number, expected a string");
  BAD("meta2.safetensors", "{\"__metadata__\": [\"a\"]}", 0,
      "__metadata__ is an array, expected an object");
  BAD("meta3.safetensors", "{\"__metadata__\": {}, \"__metadata__\": {}}", 0,
      "__metadata__ appears twice");
  BAD("meta4.safetensors", "{\"__metadata__\": {\"k\": \"1\", \"k\": \"2\"}}", 0,
      "__metadata__ key 'k' appears twice");

  /* Valid oddities: unknown fields are tolerated, whitespace padding too,
   * zero-sized tensors may sit anywhere on a boundary. */
  const char *p = make_raw("odd.safetensors",
                           "{\"b\": {\"dtype\": \"F32\", \"shape\": [1], \"data_offsets\": [4, 8],"
                           " \"note\": [1,2]}, \"z\": {\"dtype\": \"F32\", \"shape\": [0, 3],"
                           " \"data_offsets\": [4, 4]}, \"a\": {\"dtype\": \"U8\", \"shape\":"
                           " [2, 2], \"data_offsets\": [0, 4]}}    \n  ", 8);
  CHECK_OK(rt_st_open(&st, p, &ERR));
  if (st) {
    const RtStTensor *t = rt_st_find(st, "b");
    CHECK(t && t->offset == 4 && t->data[0] == 4);
    rt_st_close(st);
  }
}

int main(void) {
  dir = t_mkdtemp();
  test_roundtrip();
  test_empty_file_set();
  test_bad_files();
  t_rmtree(dir);
  free(dir);
  return t_finish("test_safetensors");
}
