/* NumPy .npy: the writer's bytes match what numpy.save writes, round trips,
 * the other dtypes and versions the reader accepts, and bad files. */
#include "io_test.h"

#include <stdint.h>

static char *dir;

/* Builds a .npy with the given version and header dict, followed by data. */
static const char *make_npy(const char *name, int major, const char *dict, const void *data,
                            size_t n) {
  unsigned char b[4096];
  size_t pre = major == 1 ? 10 : 12, dl = strlen(dict);
  memcpy(b, "\x93NUMPY", 6);
  b[6] = (unsigned char)major;
  b[7] = 0;
  size_t hl = dl + 1;
  for (size_t i = 0; i < pre - 8; i++)
    b[8 + i] = (unsigned char)(hl >> (8 * i));
  memcpy(b + pre, dict, dl);
  b[pre + dl] = '\n';
  memcpy(b + pre + hl, data, n);
  const char *p = t_path(dir, name);
  t_write(p, b, pre + hl + n);
  return p;
}

static void test_numpy_bytes(void) {
  /* np.save("a.npy", np.arange(6, dtype="<f4").reshape(2, 3)) */
  unsigned char want[128 + 24];
  const char *dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
  memcpy(want, "\x93NUMPY\x01\x00\x76\x00", 10);
  memset(want + 10, ' ', 118);
  memcpy(want + 10, dict, strlen(dict));
  want[127] = '\n';
  float v[6] = {0, 1, 2, 3, 4, 5};
  memcpy(want + 128, v, 24); /* host is little-endian on every target we test */
  const char *p = t_path(dir, "a.npy");
  CHECK_OK(rt_npy_save_f32(p, v, 2, (int64_t[]){2, 3}, &ERR));
  size_t n;
  unsigned char *got = t_slurp(p, &n);
  CHECK(got && n == sizeof want && memcmp(got, want, n) == 0);
  free(got);

  RtArray a;
  CHECK_OK(rt_npy_load(p, &a, &ERR));
  CHECK(a.ndim == 2 && a.shape[0] == 2 && a.shape[1] == 3 && a.numel == 6);
  CHECK(a.data && memcmp(a.data, v, 24) == 0);
  rt_array_free(&a);
  CHECK(a.data == NULL);

  /* 1-D arrays are written "(5,)", scalars "()". */
  CHECK_OK(rt_npy_save_f32(p, v, 1, (int64_t[]){5}, &ERR));
  got = t_slurp(p, &n);
  CHECK(got && strstr((char *)got + 10, "'shape': (5,), }") != NULL);
  free(got);
  CHECK_OK(rt_npy_load(p, &a, &ERR));
  CHECK(a.ndim == 1 && a.shape[0] == 5 && a.data[4] == 4.0f);
  rt_array_free(&a);
  CHECK_OK(rt_npy_save_f32(p, v + 3, 0, NULL, &ERR));
  CHECK_OK(rt_npy_load(p, &a, &ERR));
  CHECK(a.ndim == 0 && a.numel == 1 && a.data[0] == 3.0f);
  rt_array_free(&a);
  CHECK_OK(rt_npy_save_f32(p, NULL, 3, (int64_t[]){2, 0, 4}, &ERR));
  CHECK_OK(rt_npy_load(p, &a, &ERR));
  CHECK(a.ndim == 3 && a.numel == 0 && a.shape[2] == 4);
  rt_array_free(&a);
}

static void test_other_dtypes(void) {
  RtArray a;
  double d[3] = {0.5, -1.25, 1e30};
  CHECK_OK(rt_npy_load(make_npy("f8.npy", 1, "{'descr': '<f8', 'fortran_order': False, "
                                "'shape': (3,), }", d, sizeof d), &a, &ERR));
  CHECK(a.numel == 3 && a.data[0] == 0.5f && a.data[1] == -1.25f && a.data[2] == 1e30f);
  rt_array_free(&a);
  uint8_t u[4] = {0, 1, 128, 255};
  CHECK_OK(rt_npy_load(make_npy("u1.npy", 1, "{'descr': '|u1', 'fortran_order': False, "
                                "'shape': (2, 2), }", u, 4), &a, &ERR));
  CHECK(a.numel == 4 && a.data[2] == 128.0f && a.data[3] == 255.0f);
  rt_array_free(&a);
  /* Version 2.0 (4-byte header length), keys in another order, double
   * quotes, no trailing comma, Python 2 longs. */
  float f[2] = {7, 8};
  CHECK_OK(rt_npy_load(make_npy("v2.npy", 2, "{\"shape\": (1L, 2L), \"fortran_order\": False,"
                                " \"descr\": \"<f4\"}", f, 8), &a, &ERR));
  CHECK(a.ndim == 2 && a.shape[1] == 2 && a.data[1] == 8.0f);
  rt_array_free(&a);
  CHECK_OK(rt_npy_load(make_npy("v3.npy", 3, "{'descr': '<f4', 'fortran_order': False, "
                                "'shape': (2,)}", f, 8), &a, &ERR));
  rt_array_free(&a);
  /* The memory API. */
  size_t n;
  unsigned char *b = t_slurp(t_path(dir, "u1.npy"), &n);
  CHECK_OK(rt_npy_load_memory(b, n, "mem.npy", &a, &ERR));
  CHECK(a.numel == 4);
  rt_array_free(&a);
  CHECK_ERR(rt_npy_load_memory(b, n - 1, "mem.npy", &a, &ERR), RT_ERR_FORMAT,
            "mem.npy: data is 3 bytes", "need 4 (truncated file?)");
  free(b);
}

static void test_bad(void) {
  RtArray a;
  float f[6] = {0};
  CHECK_ERR(rt_npy_load(t_path(dir, "none.npy"), &a, &ERR), RT_ERR_IO, "none.npy: cannot open");
  t_write(t_path(dir, "magic.npy"), "PK\3\4 not numpy at all", 22);
  CHECK_ERR(rt_npy_load(t_path(dir, "magic.npy"), &a, &ERR), RT_ERR_FORMAT,
            "magic.npy: not a .npy file");
  CHECK_ERR(rt_npy_load(make_npy("fortran.npy", 1, "{'descr': '<f4', 'fortran_order': True, "
                                 "'shape': (2, 3), }", f, 24), &a, &ERR),
            RT_ERR_FORMAT, "fortran.npy: fortran_order is True; only C-order");
  CHECK(a.data == NULL);
  CHECK_ERR(rt_npy_load(make_npy("be.npy", 1, "{'descr': '>f4', 'fortran_order': False, "
                                 "'shape': (2, 3), }", f, 24), &a, &ERR),
            RT_ERR_FORMAT, "be.npy: dtype '>f4' is not supported");
  CHECK_ERR(rt_npy_load(make_npy("rec.npy", 1, "{'descr': [('a', '<f4')], 'fortran_order': "
                                 "False, 'shape': (2,), }", f, 8), &a, &ERR),
            RT_ERR_FORMAT, "rec.npy: bad header", "structured dtypes are not supported");
  CHECK_ERR(rt_npy_load(make_npy("short.npy", 1, "{'descr': '<f4', 'fortran_order': False, "
                                 "'shape': (2, 3), }", f, 20), &a, &ERR),
            RT_ERR_FORMAT, "short.npy: data is 20 bytes", "need 24 (truncated file?)");
  CHECK_ERR(rt_npy_load(make_npy("long.npy", 1, "{'descr': '<f4', 'fortran_order': False, "
                                 "'shape': (5,), }", f, 24), &a, &ERR),
            RT_ERR_FORMAT, "long.npy: data is 24 bytes", "need 20");
  CHECK_ERR(rt_npy_load(make_npy("key.npy", 1, "{'descr': '<f4', 'fortran_order': False, "
                                 "'shape': (5,), 'extra': 1}", f, 20), &a, &ERR),
            RT_ERR_FORMAT, "key.npy: header has an unknown key 'extra'");
  CHECK_ERR(rt_npy_load(make_npy("noshape.npy", 1, "{'descr': '<f4', 'fortran_order': False}",
                                 f, 4), &a, &ERR),
            RT_ERR_FORMAT, "noshape.npy: bad header", "missing key 'shape'");
  CHECK_ERR(rt_npy_load(make_npy("neg.npy", 1, "{'descr': '<f4', 'fortran_order': False, "
                                 "'shape': (-1,)}", f, 4), &a, &ERR),
            RT_ERR_FORMAT, "neg.npy: bad header (byte 61)", "non-negative integers");
  CHECK_ERR(rt_npy_load(make_npy("ov.npy", 1, "{'descr': '<f4', 'fortran_order': False, "
                                 "'shape': (4294967296, 4294967296, 4)}", f, 4), &a, &ERR),
            RT_ERR_FORMAT, "ov.npy: shape element count overflows");
  CHECK_ERR(rt_npy_load(make_npy("v4.npy", 4, "{}", f, 0), &a, &ERR), RT_ERR_FORMAT,
            "v4.npy: .npy format version 4.0 is not supported");
  {
    unsigned char b[16] = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, 0xff, 0x00, '{', '}'};
    t_write(t_path(dir, "hl.npy"), b, 12);
    CHECK_ERR(rt_npy_load(t_path(dir, "hl.npy"), &a, &ERR), RT_ERR_FORMAT,
              "hl.npy: header length 255 (byte 8) runs past the end of the file (12 bytes)");
  }
  CHECK_ERR(rt_npy_save_f32(t_path(dir, "x.npy"), f, 1, (int64_t[]){-3}, &ERR), RT_ERR_ARG,
            "invalid dimension 0 (-3)");
}

int main(void) {
  dir = t_mkdtemp();
  test_numpy_bytes();
  test_other_dtypes();
  test_bad();
  t_rmtree(dir);
  free(dir);
  return t_finish("test_npy");
}
