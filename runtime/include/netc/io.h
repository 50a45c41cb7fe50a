/* netc runtime file I/O: the loaders and writers that emitted programs and
 * their tests use for weights (safetensors), arrays (NumPy .npy), datasets
 * (IDX/MNIST, CIFAR-10 binary batches) and images (PNG).
 *
 * Conventions shared by every function here:
 *  - Each returns an RtStatus; RT_OK (0) means success. On failure it writes
 *    one line into the caller's RtError naming the file, the place (tensor
 *    name, byte offset, record index) and the problem, and leaves every output
 *    argument empty (NULL / zero), so there is nothing to free.
 *  - The runtime never prints and never exits; the caller decides what to do
 *    with err->msg.
 *  - No global mutable state: any number of threads may use distinct objects.
 *  - Memory a function returns belongs to the caller unless said otherwise;
 *    each comment names the function that frees it.
 *  - Writers are atomic: they write a temporary file in the target's
 *    directory, flush and fsync it, then rename it over the target, so the
 *    target is either the old file or the complete new one, never a torn one.
 */
#ifndef NETC_IO_H
#define NETC_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Status and errors ------------------------------------------------- */

typedef enum RtStatus {
  RT_OK = 0,       /* success */
  RT_ERR_IO,       /* open/read/write/rename failed (errno text in the message) */
  RT_ERR_FORMAT,   /* the file is malformed: bad magic, bad header, lying sizes */
  RT_ERR_MISMATCH, /* well-formed, but not what the model expects */
  RT_ERR_NOMEM,    /* out of memory */
  RT_ERR_ARG,      /* the caller passed an invalid argument */
} RtStatus;

#ifndef NETC_RT_ERROR_DEFINED
#define NETC_RT_ERROR_DEFINED
/* A caller-provided error slot; msg is always NUL-terminated after a failing
 * call. On success it is left as it was. */
typedef struct RtError {
  char msg[512];
} RtError;
#endif

/* A short name for a status ("ok", "I/O error", ...); static storage. */
const char *rt_status_name(RtStatus s);

/* Largest tensor/array rank the loaders accept. */
#define RT_MAX_DIMS 8

/* ---- Element types ------------------------------------------------------ */

/* The safetensors dtypes. F32 is what models compute with; the others can be
 * listed, checked and read as raw bytes (checkpoint extras such as an RNG
 * state or a step counter). */
typedef enum RtDtype {
  RT_DT_BOOL,    /* "BOOL", 1 byte */
  RT_DT_U8,      /* "U8" */
  RT_DT_I8,      /* "I8" */
  RT_DT_F8_E4M3, /* "F8_E4M3", 1 byte */
  RT_DT_F8_E5M2, /* "F8_E5M2", 1 byte */
  RT_DT_I16,     /* "I16" */
  RT_DT_U16,     /* "U16" */
  RT_DT_F16,     /* "F16" */
  RT_DT_BF16,    /* "BF16" */
  RT_DT_I32,     /* "I32" */
  RT_DT_U32,     /* "U32" */
  RT_DT_F32,     /* "F32" */
  RT_DT_F64,     /* "F64" */
  RT_DT_I64,     /* "I64" */
  RT_DT_U64,     /* "U64" */
  RT_DT_COUNT_,  /* number of dtypes; not a dtype */
} RtDtype;

/* "F32" etc.; static storage. "?" for an out-of-range value. */
const char *rt_dtype_name(RtDtype dt);
/* Bytes per element (1, 2, 4 or 8); 0 for an out-of-range value. */
size_t rt_dtype_size(RtDtype dt);
/* Parses "F32" etc.; false if the name is not a safetensors dtype. */
bool rt_dtype_from_name(const char *name, RtDtype *out);

/* ---- safetensors reader ------------------------------------------------- */

/* One tensor of an opened file. Owned by the RtSafetensors it came from and
 * valid until rt_st_close(). */
typedef struct RtStTensor {
  const char *name;
  RtDtype dtype;
  int ndim;                    /* 0 for a scalar */
  int64_t shape[RT_MAX_DIMS];  /* shape[0..ndim) */
  uint64_t numel;              /* product of shape (1 for a scalar) */
  uint64_t nbytes;             /* numel * rt_dtype_size(dtype) */
  uint64_t offset;             /* data_offsets[0], relative to the data section */
  const uint8_t *data;         /* raw little-endian bytes; may be unaligned:
                                  use rt_st_read_f32() or memcpy */
} RtStTensor;

typedef struct RtSafetensors RtSafetensors;

/* Reads and validates a whole .safetensors file: header length, JSON,
 * every field, dtypes, shapes, offsets (in range, matching dtype*shape,
 * not overlapping, covering the data section with no gap), duplicate names,
 * __metadata__ (string -> string). On success *out owns a copy of the file;
 * free it with rt_st_close(). */
RtStatus rt_st_open(RtSafetensors **out, const char *path, RtError *err);

/* The same from a memory buffer (copied; the caller keeps ownership of buf).
 * label names the source in error messages (e.g. a file name); NULL means
 * "<memory>". */
RtStatus rt_st_open_memory(RtSafetensors **out, const void *buf, size_t len,
                           const char *label, RtError *err);

/* Frees everything rt_st_open* allocated. NULL is fine. */
void rt_st_close(RtSafetensors *st);

/* The file name or label used in messages; owned by st. */
const char *rt_st_label(const RtSafetensors *st);

/* Tensors, sorted by name (byte order). i < rt_st_count(st). */
size_t rt_st_count(const RtSafetensors *st);
const RtStTensor *rt_st_at(const RtSafetensors *st, size_t i);

/* The tensor named name, or NULL. Does not mark it used. */
const RtStTensor *rt_st_find(const RtSafetensors *st, const char *name);

/* __metadata__ entries, sorted by key. The strings are owned by st. */
size_t rt_st_metadata_count(const RtSafetensors *st);
void rt_st_metadata_at(const RtSafetensors *st, size_t i, const char **key,
                       const char **value);
/* The value for key, or NULL when absent. */
const char *rt_st_metadata_get(const RtSafetensors *st, const char *key);

/* Checks that the file has a tensor `name` of dtype `dt` and shape
 * shape[0..ndim), marks it used, and returns it in *out (may be NULL).
 * Errors read like
 *   "w.safetensors: tensor 'conv_1.kernel': shape [3,3,3,32] but the model
 *    expects [3,3,3,64]"
 * and RT_ERR_MISMATCH is returned for a missing tensor, wrong dtype or shape. */
RtStatus rt_st_expect(RtSafetensors *st, const char *name, RtDtype dt, int ndim,
                      const int64_t *shape, const RtStTensor **out, RtError *err);

/* rt_st_expect(.., RT_DT_F32, ..) then copies the values (converted to host
 * byte order) into dst, which holds exactly `count` floats (count must equal
 * the tensor's numel). */
RtStatus rt_st_read_f32(RtSafetensors *st, const char *name, int ndim,
                        const int64_t *shape, float *dst, size_t count,
                        RtError *err);

/* Marks a tensor used without checking it (e.g. a checkpoint extra read
 * through rt_st_find). Unknown names are ignored. */
void rt_st_mark_used(RtSafetensors *st, const char *name);
bool rt_st_is_used(const RtSafetensors *st, size_t i);
/* How many tensors nobody marked used; list them with rt_st_at/rt_st_is_used. */
size_t rt_st_unused_count(const RtSafetensors *st);
/* RT_OK when every tensor was used; otherwise RT_ERR_MISMATCH and a message
 * listing the unused names ("w.safetensors: 2 tensors not used by the model:
 * 'a', 'b'"), truncated with "..." if long. */
RtStatus rt_st_check_all_used(const RtSafetensors *st, RtError *err);

/* ---- safetensors writer ------------------------------------------------- */

typedef struct RtStWriter RtStWriter;

/* A new, empty set of tensors. Free with rt_stw_free(). */
RtStatus rt_stw_new(RtStWriter **out, RtError *err);
void rt_stw_free(RtStWriter *w);

/* Adds a tensor; the bytes (numel * dtype size, little-endian) are copied.
 * Fails on a duplicate or empty name, a rank above RT_MAX_DIMS or a negative
 * dimension. */
RtStatus rt_stw_add(RtStWriter *w, const char *name, RtDtype dt, int ndim,
                    const int64_t *shape, const void *data, RtError *err);
/* The same for host floats (converted to little-endian if need be). */
RtStatus rt_stw_add_f32(RtStWriter *w, const char *name, int ndim,
                        const int64_t *shape, const float *data, RtError *err);
/* Sets (or replaces) a __metadata__ entry; both strings are copied. */
RtStatus rt_stw_set_metadata(RtStWriter *w, const char *key, const char *value,
                             RtError *err);

/* Writes the file atomically. The output is deterministic: metadata keys and
 * tensors sorted by name, data laid out in that order, header padded with
 * spaces to a multiple of 8 bytes. w is unchanged and can be written again. */
RtStatus rt_stw_write(const RtStWriter *w, const char *path, RtError *err);

/* ---- NumPy .npy ---------------------------------------------------------- */

/* A float array; data holds numel floats in C order. Free with
 * rt_array_free() (which frees data and zeroes the struct). */
typedef struct RtArray {
  float *data;
  int ndim;
  int64_t shape[RT_MAX_DIMS];
  size_t numel;
} RtArray;

void rt_array_free(RtArray *a);

/* Loads a .npy file (format versions 1.0, 2.0 and 3.0) of dtype '<f4',
 * '<f8' or '|u1' (converted to float; u1 keeps its 0..255 values) in C
 * order. fortran_order True, other dtypes and truncated data are errors. */
RtStatus rt_npy_load(const char *path, RtArray *out, RtError *err);
RtStatus rt_npy_load_memory(const void *buf, size_t len, const char *label,
                            RtArray *out, RtError *err);

/* Writes float32 data as a version 1.0 '<f4' C-order .npy, atomically. */
RtStatus rt_npy_save_f32(const char *path, const float *data, int ndim,
                         const int64_t *shape, RtError *err);

/* ---- Datasets: IDX (MNIST, Fashion-MNIST) and CIFAR-10 ------------------- */

/* n images of h x w x c bytes each, NHWC, with one label each (labels may be
 * NULL for an image-only IDX file). Free with rt_dataset_free(). */
typedef struct RtDataset {
  size_t n;
  int h, w, c;
  uint8_t *images; /* n*h*w*c bytes */
  uint8_t *labels; /* n bytes, or NULL */
} RtDataset;

void rt_dataset_free(RtDataset *ds);

/* Bytes in one image (h*w*c). */
size_t rt_dataset_image_bytes(const RtDataset *ds);

/* Converts count images starting at `first` to floats: out = byte * scale
 * (scale 1/255.0f gives [0,1]). out holds count * h*w*c floats. */
RtStatus rt_dataset_images_f32(const RtDataset *ds, size_t first, size_t count,
                               float scale, float *out, RtError *err);

/* Reads an IDX image file (magic 0x00000803: uint8 [n, rows, cols]) into
 * ds->images with c = 1, labels NULL. The file may be plain or gzip (read
 * through zlib either way; a .gz that ends early or holds extra bytes is an
 * error). */
RtStatus rt_idx_load_images(const char *path, RtDataset *out, RtError *err);
/* Reads an IDX label file (magic 0x00000801: uint8 [n]). *labels is malloc'd
 * (free() it); *n is its length. */
RtStatus rt_idx_load_labels(const char *path, uint8_t **labels, size_t *n,
                            RtError *err);
/* Both, checking that the counts agree. */
RtStatus rt_idx_load_pair(const char *images_path, const char *labels_path,
                          RtDataset *out, RtError *err);

/* Which CIFAR-10 split to load from a directory. */
typedef enum RtCifarSplit {
  RT_CIFAR_TRAIN, /* data_batch_1.bin .. data_batch_5.bin */
  RT_CIFAR_TEST,  /* test_batch.bin */
} RtCifarSplit;

/* Loads CIFAR-10 binary records (1 label byte, then 1024 R, 1024 G, 1024 B
 * bytes of a 32x32 image) into NHWC 32x32x3. path is either a directory
 * holding the batch files of `split`, or a single batch file (split is then
 * ignored). Each file's size must be a multiple of 3073 and every label < 10. */
RtStatus rt_cifar10_load(const char *path, RtCifarSplit split, RtDataset *out,
                         RtError *err);

/* ---- Images: PNG ------------------------------------------------------- */

/* A float image, h x w x c (HWC, row-major), values in [0,1]. Free with
 * rt_image_free(). */
typedef struct RtImage {
  int h, w, c;
  float *data;
} RtImage;

void rt_image_free(RtImage *img);

/* Loads any PNG (gray, gray+alpha, RGB, RGBA, palette with or without
 * transparency, 1..16-bit, interlaced). c is 1 (gray), 2 (gray+alpha),
 * 3 (RGB) or 4 (RGBA); a palette or tRNS chunk expands to RGB(A). Images
 * above 32768 pixels on a side or 2^26 (64 M) pixels in all are refused. */
RtStatus rt_png_load(const char *path, RtImage *out, RtError *err);
RtStatus rt_png_load_memory(const void *buf, size_t len, const char *label,
                            RtImage *out, RtError *err);

/* Converts img to c channels (1 or 3) and resizes it to h x w with bilinear
 * interpolation (half-pixel centres, edges clamped: PyTorch's
 * align_corners=False without antialiasing). Alpha is dropped; RGB -> gray
 * uses 0.299 R + 0.587 G + 0.114 B; gray -> RGB repeats the value.
 * out holds h*w*c floats. */
RtStatus rt_image_to_model(const RtImage *img, int h, int w, int c, float *out,
                           RtError *err);

/* rt_png_load then rt_image_to_model. */
RtStatus rt_png_load_for_model(const char *path, int h, int w, int c,
                               float *out, RtError *err);

/* Writes an 8-bit (bit_depth 8, pixels are uint8_t) or 16-bit (bit_depth 16,
 * pixels are host uint16_t) PNG of h x w x c, c in 1..4 (gray, gray+alpha,
 * RGB, RGBA), atomically. */
RtStatus rt_png_save(const char *path, const void *pixels, int h, int w, int c,
                     int bit_depth, RtError *err);

#ifdef __cplusplus
}
#endif

#endif /* NETC_IO_H */
