/* safetensors reader and writer.
 *
 * Format: an 8-byte little-endian header length N, N bytes of JSON mapping
 * each tensor name to {"dtype", "shape", "data_offsets": [begin, end]} (plus
 * an optional "__metadata__" string->string map), then the data section;
 * offsets are relative to its start. The reader trusts nothing: every field
 * is checked and the tensors must tile the data section exactly, as the
 * reference implementation requires. JSON goes through cJSON only. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "io_internal.h"

/* The reference implementation refuses headers above 100 MB too. */
#define ST_MAX_HEADER ((uint64_t)100 * 1000 * 1000)
/* Integers in the header are JSON numbers; cJSON stores doubles, exact up
 * to 2^53. Larger values cannot be trusted and no real file needs them. */
#define ST_MAX_INT 9007199254740992.0

static const struct {
  const char *name;
  size_t size;
} dtype_table[RT_DT_COUNT_] = {
    [RT_DT_BOOL] = {"BOOL", 1},       [RT_DT_U8] = {"U8", 1},
    [RT_DT_I8] = {"I8", 1},           [RT_DT_F8_E4M3] = {"F8_E4M3", 1},
    [RT_DT_F8_E5M2] = {"F8_E5M2", 1}, [RT_DT_I16] = {"I16", 2},
    [RT_DT_U16] = {"U16", 2},         [RT_DT_F16] = {"F16", 2},
    [RT_DT_BF16] = {"BF16", 2},       [RT_DT_I32] = {"I32", 4},
    [RT_DT_U32] = {"U32", 4},         [RT_DT_F32] = {"F32", 4},
    [RT_DT_F64] = {"F64", 8},         [RT_DT_I64] = {"I64", 8},
    [RT_DT_U64] = {"U64", 8},
};

const char *rt_dtype_name(RtDtype dt) {
  return (unsigned)dt < RT_DT_COUNT_ ? dtype_table[dt].name : "?";
}

size_t rt_dtype_size(RtDtype dt) {
  return (unsigned)dt < RT_DT_COUNT_ ? dtype_table[dt].size : 0;
}

bool rt_dtype_from_name(const char *name, RtDtype *out) {
  for (int i = 0; i < RT_DT_COUNT_; i++)
    if (strcmp(name, dtype_table[i].name) == 0) {
      *out = (RtDtype)i;
      return true;
    }
  return false;
}

/* "[3,3,3,32]" into buf. */
static const char *shape_str(char *buf, size_t size, int ndim, const int64_t *shape) {
  size_t n = 0;
  n += (size_t)snprintf(buf + n, size - n, "[");
  for (int i = 0; i < ndim && n < size; i++)
    n += (size_t)snprintf(buf + n, size - n, "%s%lld", i ? "," : "", (long long)shape[i]);
  if (n < size)
    snprintf(buf + n, size - n, "]");
  return buf;
}

/* A tensor name or key as shown in messages: control characters and quotes
 * escaped (\xNN) so the message stays one line, and long names cut with
 * "..." so the problem after them still fits in RtError. */
#define SHOWN_NAME 120
static const char *show(char *buf, size_t size, const char *name) {
  static const char hex[] = "0123456789abcdef";
  size_t k = 0;
  for (const unsigned char *p = (const unsigned char *)name; *p; p++) {
    bool esc = *p < 0x20 || *p == 0x7f || *p == '\'' || *p == '\\';
    if (k + (esc ? 4 : 1) + 4 > size) {
      memcpy(buf + k, "...", 4);
      return buf;
    }
    if (esc) {
      buf[k++] = '\\';
      buf[k++] = 'x';
      buf[k++] = hex[*p >> 4];
      buf[k++] = hex[*p & 15];
    } else {
      buf[k++] = (char)*p;
    }
  }
  buf[k] = '\0';
  return buf;
}

/* ---- Reader ------------------------------------------------------------- */

struct RtSafetensors {
  char *label;
  uint8_t *file; /* the whole file; tensors point into its data section */
  size_t file_len;
  RtStTensor *tensors; /* sorted by name */
  char **names;        /* names[i] is tensors[i].name */
  bool *used;
  size_t count;
  char **meta_keys, **meta_vals; /* sorted by key */
  size_t meta_count;
};

void rt_st_close(RtSafetensors *st) {
  if (!st)
    return;
  for (size_t i = 0; i < st->count; i++)
    free(st->names[i]);
  for (size_t i = 0; i < st->meta_count; i++) {
    free(st->meta_keys[i]);
    free(st->meta_vals[i]);
  }
  free(st->names);
  free(st->tensors);
  free(st->used);
  free(st->meta_keys);
  free(st->meta_vals);
  free(st->file);
  free(st->label);
  free(st);
}

static char *dup_str(const char *s) {
  size_t n = strlen(s) + 1;
  char *d = malloc(n);
  if (d)
    memcpy(d, s, n);
  return d;
}

static const char *json_type_name(const cJSON *j) {
  if (cJSON_IsObject(j)) return "an object";
  if (cJSON_IsArray(j)) return "an array";
  if (cJSON_IsString(j)) return "a string";
  if (cJSON_IsNumber(j)) return "a number";
  if (cJSON_IsBool(j)) return "a boolean";
  if (cJSON_IsNull(j)) return "null";
  return "invalid";
}

/* A JSON number that is a non-negative integer no larger than 2^53. */
static bool json_uint(const cJSON *j, uint64_t *out) {
  if (!cJSON_IsNumber(j))
    return false;
  double d = j->valuedouble;
  if (!isfinite(d) || d < 0 || d > ST_MAX_INT || floor(d) != d)
    return false;
  *out = (uint64_t)d;
  return true;
}

static int cmp_tensor_name(const void *a, const void *b) {
  return strcmp(((const RtStTensor *)a)->name, ((const RtStTensor *)b)->name);
}

/* Orders tensors by where their data starts, then ends. */
static int cmp_tensor_offset(const void *a, const void *b) {
  const RtStTensor *x = *(const RtStTensor *const *)a, *y = *(const RtStTensor *const *)b;
  if (x->offset != y->offset)
    return x->offset < y->offset ? -1 : 1;
  if (x->nbytes != y->nbytes)
    return x->nbytes < y->nbytes ? -1 : 1;
  return 0;
}

typedef struct MetaPair {
  char *key, *val;
} MetaPair;

static int cmp_meta(const void *a, const void *b) {
  return strcmp(((const MetaPair *)a)->key, ((const MetaPair *)b)->key);
}

/* Parses "__metadata__" into st. */
static RtStatus parse_metadata(RtSafetensors *st, const cJSON *meta, RtError *err) {
  const char *L = st->label;
  if (!cJSON_IsObject(meta))
    return rt_fail(err, RT_ERR_FORMAT, "%s: header: __metadata__ is %s, expected an object "
                   "of strings", L, json_type_name(meta));
  size_t n = (size_t)cJSON_GetArraySize(meta);
  if (n == 0)
    return RT_OK;
  MetaPair *pairs = calloc(n, sizeof *pairs);
  if (!pairs)
    return rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", L);
  size_t i = 0;
  RtStatus s = RT_OK;
  for (const cJSON *e = meta->child; e && i < n; e = e->next, i++) {
    if (!cJSON_IsString(e) || !e->valuestring) {
      char kn[SHOWN_NAME];
      s = rt_fail(err, RT_ERR_FORMAT, "%s: header: __metadata__ entry '%s' is %s, expected a "
                  "string", L, show(kn, sizeof kn, e->string ? e->string : ""),
                  json_type_name(e));
      break;
    }
    pairs[i].key = dup_str(e->string ? e->string : "");
    pairs[i].val = dup_str(e->valuestring);
    if (!pairs[i].key || !pairs[i].val) {
      i++;
      s = rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", L);
      break;
    }
  }
  if (s == RT_OK) {
    qsort(pairs, n, sizeof *pairs, cmp_meta);
    for (size_t k = 1; k < n; k++)
      if (strcmp(pairs[k - 1].key, pairs[k].key) == 0) {
        char kn[SHOWN_NAME];
        s = rt_fail(err, RT_ERR_FORMAT, "%s: header: __metadata__ key '%s' appears twice", L,
                    show(kn, sizeof kn, pairs[k].key));
        break;
      }
  }
  if (s == RT_OK) {
    st->meta_keys = malloc(n * sizeof(char *));
    st->meta_vals = malloc(n * sizeof(char *));
    if (!st->meta_keys || !st->meta_vals)
      s = rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", L);
  }
  if (s != RT_OK) {
    for (size_t k = 0; k < n; k++) {
      free(pairs[k].key);
      free(pairs[k].val);
    }
    free(pairs);
    return s;
  }
  for (size_t k = 0; k < n; k++) {
    st->meta_keys[k] = pairs[k].key;
    st->meta_vals[k] = pairs[k].val;
  }
  st->meta_count = n;
  free(pairs);
  return RT_OK;
}

/* Fills t (except name and data) from one header entry. */
static RtStatus parse_tensor_entry(const char *L, const char *raw_name, const cJSON *e,
                                   uint64_t data_len, RtStTensor *t, RtError *err) {
  char sb[256], name[SHOWN_NAME];
  show(name, sizeof name, raw_name);
  if (!cJSON_IsObject(e))
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': header entry is %s, expected an "
                   "object with dtype, shape and data_offsets", L, name, json_type_name(e));
  const cJSON *jdt = NULL, *jshape = NULL, *joff = NULL;
  for (const cJSON *f = e->child; f; f = f->next) {
    const cJSON **slot = NULL;
    if (f->string && strcmp(f->string, "dtype") == 0) slot = &jdt;
    else if (f->string && strcmp(f->string, "shape") == 0) slot = &jshape;
    else if (f->string && strcmp(f->string, "data_offsets") == 0) slot = &joff;
    if (!slot)
      continue; /* unknown fields are tolerated, as the reference reader does */
    if (*slot)
      return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': field '%s' appears twice", L, name,
                     f->string);
    *slot = f;
  }
  if (!jdt)
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': missing field 'dtype'", L, name);
  if (!jshape)
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': missing field 'shape'", L, name);
  if (!joff)
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': missing field 'data_offsets'", L, name);

  if (!cJSON_IsString(jdt) || !jdt->valuestring)
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': dtype is %s, expected a string such "
                   "as \"F32\"", L, name, json_type_name(jdt));
  if (!rt_dtype_from_name(jdt->valuestring, &t->dtype))
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': unknown dtype \"%.40s\"", L, name,
                   jdt->valuestring);

  if (!cJSON_IsArray(jshape))
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': shape is %s, expected an array of "
                   "integers", L, name, json_type_name(jshape));
  int ndim = cJSON_GetArraySize(jshape);
  if (ndim > RT_MAX_DIMS)
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': shape has %d dimensions, more than "
                   "the %d supported", L, name, ndim, RT_MAX_DIMS);
  t->ndim = ndim;
  uint64_t numel = 1;
  int d = 0;
  for (const cJSON *x = jshape->child; x; x = x->next, d++) {
    uint64_t v;
    if (!json_uint(x, &v))
      return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': shape[%d] is not a non-negative "
                     "integer", L, name, d);
    t->shape[d] = (int64_t)v;
    if (!rt_mul_u64(numel, v, &numel))
      return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': shape %s: element count "
                     "overflows 64 bits", L, name, shape_str(sb, sizeof sb, d + 1, t->shape));
  }
  t->numel = numel;
  if (!rt_mul_u64(numel, rt_dtype_size(t->dtype), &t->nbytes))
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': %s %s: byte size overflows 64 bits",
                   L, name, rt_dtype_name(t->dtype), shape_str(sb, sizeof sb, ndim, t->shape));

  if (!cJSON_IsArray(joff) || cJSON_GetArraySize(joff) != 2)
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': data_offsets must be an array "
                   "[begin, end]", L, name);
  uint64_t begin, end;
  if (!json_uint(joff->child, &begin) || !json_uint(joff->child->next, &end))
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': data_offsets must hold two "
                   "non-negative integers", L, name);
  if (end < begin)
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu,%llu] end before "
                   "they begin", L, name, (unsigned long long)begin, (unsigned long long)end);
  if (end > data_len)
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu,%llu] run past "
                   "the end of the data section (%llu bytes)", L, name,
                   (unsigned long long)begin, (unsigned long long)end,
                   (unsigned long long)data_len);
  if (end - begin != t->nbytes)
    return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu,%llu] hold %llu "
                   "bytes but %s %s needs %llu", L, name, (unsigned long long)begin,
                   (unsigned long long)end, (unsigned long long)(end - begin),
                   rt_dtype_name(t->dtype), shape_str(sb, sizeof sb, ndim, t->shape),
                   (unsigned long long)t->nbytes);
  t->offset = begin;
  return RT_OK;
}

/* Checks that the tensors tile [0, data_len) with no overlap and no gap. */
static RtStatus check_layout(const RtSafetensors *st, uint64_t data_len, RtError *err) {
  const char *L = st->label;
  if (st->count == 0) {
    if (data_len != 0)
      return rt_fail(err, RT_ERR_FORMAT, "%s: %llu bytes of data but no tensors in the header",
                     L, (unsigned long long)data_len);
    return RT_OK;
  }
  const RtStTensor **by_off = malloc(st->count * sizeof *by_off);
  if (!by_off)
    return rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", L);
  for (size_t i = 0; i < st->count; i++)
    by_off[i] = &st->tensors[i];
  qsort(by_off, st->count, sizeof *by_off, cmp_tensor_offset);
  RtStatus s = RT_OK;
  uint64_t pos = 0;
  const RtStTensor *prev = NULL;
  char qa[SHOWN_NAME], qb[SHOWN_NAME];
  for (size_t i = 0; i < st->count && s == RT_OK; i++) {
    const RtStTensor *t = by_off[i];
    if (t->offset < pos)
      s = rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s': data_offsets [%llu,%llu] overlap "
                  "tensor '%s' [%llu,%llu]", L, show(qa, sizeof qa, t->name),
                  (unsigned long long)t->offset, (unsigned long long)(t->offset + t->nbytes),
                  show(qb, sizeof qb, prev->name),
                  (unsigned long long)prev->offset,
                  (unsigned long long)(prev->offset + prev->nbytes));
    else if (t->offset > pos)
      s = rt_fail(err, RT_ERR_FORMAT, "%s: bytes [%llu,%llu) of the data section belong to no "
                  "tensor (gap before tensor '%s')", L, (unsigned long long)pos,
                  (unsigned long long)t->offset, show(qa, sizeof qa, t->name));
    pos = t->offset + t->nbytes;
    prev = t;
  }
  if (s == RT_OK && pos != data_len)
    s = rt_fail(err, RT_ERR_FORMAT, "%s: %llu bytes after the last tensor's data (the data "
                "section is %llu bytes, the tensors cover %llu)", L,
                (unsigned long long)(data_len - pos), (unsigned long long)data_len,
                (unsigned long long)pos);
  free(by_off);
  return s;
}

/* Parses st->file (already owned by st). */
static RtStatus parse_file(RtSafetensors *st, RtError *err) {
  const char *L = st->label;
  const uint8_t *buf = st->file;
  size_t len = st->file_len;
  if (len < 8)
    return rt_fail(err, RT_ERR_FORMAT, "%s: file is %zu bytes, too short for the 8-byte header "
                   "length", L, len);
  uint64_t hlen = rt_load_le64(buf);
  if (hlen > len - 8)
    return rt_fail(err, RT_ERR_FORMAT, "%s: header length %llu (bytes 0-7) runs past the end "
                   "of the file (%zu bytes, so at most %zu)", L, (unsigned long long)hlen, len,
                   len - 8);
  if (hlen > ST_MAX_HEADER)
    return rt_fail(err, RT_ERR_FORMAT, "%s: header length %llu is absurd (limit %llu bytes)", L,
                   (unsigned long long)hlen, (unsigned long long)ST_MAX_HEADER);
  if (hlen < 2)
    return rt_fail(err, RT_ERR_FORMAT, "%s: header length %llu is too short for a JSON "
                   "object", L, (unsigned long long)hlen);
  const char *json = (const char *)buf + 8;
  size_t jlen = (size_t)hlen;
  if (memchr(json, '\0', jlen))
    return rt_fail(err, RT_ERR_FORMAT, "%s: header contains a NUL byte at byte %zu", L,
                   8 + (size_t)((const char *)memchr(json, '\0', jlen) - json));
  const char *end = NULL;
  cJSON *root = cJSON_ParseWithLengthOpts(json, jlen, &end, 0);
  if (!root) {
    size_t at = end && end >= json && end <= json + jlen ? (size_t)(end - json) : 0;
    return rt_fail(err, RT_ERR_FORMAT, "%s: header is not valid JSON (error near byte %zu of "
                   "the file)", L, 8 + at);
  }
  /* Writers pad the header with spaces; anything else after the JSON is bad. */
  for (const char *p = end; p < json + jlen; p++)
    if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
      cJSON_Delete(root);
      return rt_fail(err, RT_ERR_FORMAT, "%s: header has extra bytes after the JSON object "
                     "at byte %zu", L, 8 + (size_t)(p - json));
    }
  if (!cJSON_IsObject(root)) {
    RtStatus s = rt_fail(err, RT_ERR_FORMAT, "%s: header is %s, expected a JSON object mapping "
                         "tensor names to entries", L, json_type_name(root));
    cJSON_Delete(root);
    return s;
  }
  uint64_t data_len = (uint64_t)(len - 8 - jlen);
  size_t n = 0;
  for (const cJSON *e = root->child; e; e = e->next)
    n++;
  RtStatus s = RT_OK;
  st->tensors = calloc(n ? n : 1, sizeof *st->tensors);
  st->names = calloc(n ? n : 1, sizeof *st->names);
  st->used = calloc(n ? n : 1, sizeof *st->used);
  if (!st->tensors || !st->names || !st->used)
    s = rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", L);
  bool seen_meta = false;
  for (const cJSON *e = root->child; e && s == RT_OK; e = e->next) {
    const char *name = e->string ? e->string : "";
    if (strcmp(name, "__metadata__") == 0) {
      if (seen_meta)
        s = rt_fail(err, RT_ERR_FORMAT, "%s: header: __metadata__ appears twice", L);
      else
        s = parse_metadata(st, e, err);
      seen_meta = true;
      continue;
    }
    if (!*name) {
      s = rt_fail(err, RT_ERR_FORMAT, "%s: header has a tensor with an empty name", L);
      break;
    }
    RtStTensor *t = &st->tensors[st->count];
    s = parse_tensor_entry(L, name, e, data_len, t, err);
    if (s != RT_OK)
      break;
    st->names[st->count] = dup_str(name);
    if (!st->names[st->count]) {
      s = rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", L);
      break;
    }
    t->name = st->names[st->count];
    t->data = buf + 8 + jlen + t->offset;
    st->count++;
  }
  cJSON_Delete(root);
  if (s != RT_OK)
    return s;
  qsort(st->tensors, st->count, sizeof *st->tensors, cmp_tensor_name);
  for (size_t i = 0; i < st->count; i++)
    st->names[i] = (char *)st->tensors[i].name; /* keep names[] parallel to tensors[] */
  for (size_t i = 1; i < st->count; i++)
    if (strcmp(st->tensors[i - 1].name, st->tensors[i].name) == 0) {
      char qn[SHOWN_NAME];
      return rt_fail(err, RT_ERR_FORMAT, "%s: tensor '%s' appears twice in the header", L,
                     show(qn, sizeof qn, st->tensors[i].name));
    }
  return check_layout(st, data_len, err);
}

/* Takes ownership of file (malloc'd) whatever happens. */
static RtStatus open_owned(RtSafetensors **out, uint8_t *file, size_t len, const char *label,
                           RtError *err) {
  *out = NULL;
  RtSafetensors *st = calloc(1, sizeof *st);
  char *lab = dup_str(label ? label : "<memory>");
  if (!st || !lab) {
    free(st);
    free(lab);
    free(file);
    return rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", label ? label : "<memory>");
  }
  st->label = lab;
  st->file = file;
  st->file_len = len;
  RtStatus s = parse_file(st, err);
  if (s != RT_OK) {
    rt_st_close(st);
    return s;
  }
  *out = st;
  return RT_OK;
}

RtStatus rt_st_open(RtSafetensors **out, const char *path, RtError *err) {
  if (!out)
    return rt_fail(err, RT_ERR_ARG, "rt_st_open: out is NULL");
  *out = NULL;
  uint8_t *file;
  size_t len;
  RtStatus s = rt_read_file(path, &file, &len, err);
  if (s != RT_OK)
    return s;
  return open_owned(out, file, len, path, err);
}

RtStatus rt_st_open_memory(RtSafetensors **out, const void *buf, size_t len, const char *label,
                           RtError *err) {
  if (!out)
    return rt_fail(err, RT_ERR_ARG, "rt_st_open_memory: out is NULL");
  *out = NULL;
  if (!buf && len)
    return rt_fail(err, RT_ERR_ARG, "rt_st_open_memory: buffer is NULL");
  uint8_t *copy = malloc(len ? len : 1);
  if (!copy)
    return rt_fail(err, RT_ERR_NOMEM, "%s: out of memory copying %zu bytes",
                   label ? label : "<memory>", len);
  if (len)
    memcpy(copy, buf, len);
  return open_owned(out, copy, len, label, err);
}

const char *rt_st_label(const RtSafetensors *st) { return st->label; }
size_t rt_st_count(const RtSafetensors *st) { return st->count; }

const RtStTensor *rt_st_at(const RtSafetensors *st, size_t i) {
  return i < st->count ? &st->tensors[i] : NULL;
}

static ptrdiff_t find_index(const RtSafetensors *st, const char *name) {
  size_t lo = 0, hi = st->count;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    int c = strcmp(name, st->tensors[mid].name);
    if (c == 0)
      return (ptrdiff_t)mid;
    if (c < 0)
      hi = mid;
    else
      lo = mid + 1;
  }
  return -1;
}

const RtStTensor *rt_st_find(const RtSafetensors *st, const char *name) {
  ptrdiff_t i = name ? find_index(st, name) : -1;
  return i < 0 ? NULL : &st->tensors[i];
}

size_t rt_st_metadata_count(const RtSafetensors *st) { return st->meta_count; }

void rt_st_metadata_at(const RtSafetensors *st, size_t i, const char **key, const char **value) {
  *key = i < st->meta_count ? st->meta_keys[i] : NULL;
  *value = i < st->meta_count ? st->meta_vals[i] : NULL;
}

const char *rt_st_metadata_get(const RtSafetensors *st, const char *key) {
  for (size_t i = 0; key && i < st->meta_count; i++)
    if (strcmp(st->meta_keys[i], key) == 0)
      return st->meta_vals[i];
  return NULL;
}

RtStatus rt_st_expect(RtSafetensors *st, const char *raw_name, RtDtype dt, int ndim,
                      const int64_t *shape, const RtStTensor **out, RtError *err) {
  char have[256], want[256], name[SHOWN_NAME];
  if (out)
    *out = NULL;
  if (!st || !raw_name || ndim < 0 || ndim > RT_MAX_DIMS || (ndim > 0 && !shape))
    return rt_fail(err, RT_ERR_ARG, "rt_st_expect: invalid arguments");
  show(name, sizeof name, raw_name);
  ptrdiff_t i = find_index(st, raw_name);
  if (i < 0)
    return rt_fail(err, RT_ERR_MISMATCH, "%s: tensor '%s' is missing (the model expects %s %s; "
                   "the file has %zu tensors)", st->label, name, rt_dtype_name(dt),
                   shape_str(want, sizeof want, ndim, shape), st->count);
  const RtStTensor *t = &st->tensors[i];
  if (t->dtype != dt)
    return rt_fail(err, RT_ERR_MISMATCH, "%s: tensor '%s': dtype %s but the model expects %s",
                   st->label, name, rt_dtype_name(t->dtype), rt_dtype_name(dt));
  bool same = t->ndim == ndim;
  for (int d = 0; same && d < ndim; d++)
    same = t->shape[d] == shape[d];
  if (!same)
    return rt_fail(err, RT_ERR_MISMATCH, "%s: tensor '%s': shape %s but the model expects %s",
                   st->label, name, shape_str(have, sizeof have, t->ndim, t->shape),
                   shape_str(want, sizeof want, ndim, shape));
  st->used[i] = true;
  if (out)
    *out = t;
  return RT_OK;
}

RtStatus rt_st_read_f32(RtSafetensors *st, const char *name, int ndim, const int64_t *shape,
                        float *dst, size_t count, RtError *err) {
  const RtStTensor *t;
  RtStatus s = rt_st_expect(st, name, RT_DT_F32, ndim, shape, &t, err);
  if (s != RT_OK)
    return s;
  if ((uint64_t)count != t->numel || (count && !dst)) {
    char qn[SHOWN_NAME];
    return rt_fail(err, RT_ERR_ARG, "%s: tensor '%s': destination holds %zu floats but the "
                   "tensor has %llu", st->label, show(qn, sizeof qn, name), count,
                   (unsigned long long)t->numel);
  }
  if (count) {
    memcpy(dst, t->data, count * sizeof(float));
    if (!rt_host_is_little_endian())
      rt_bswap_elems(dst, count, sizeof(float));
  }
  return RT_OK;
}

void rt_st_mark_used(RtSafetensors *st, const char *name) {
  ptrdiff_t i = name ? find_index(st, name) : -1;
  if (i >= 0)
    st->used[i] = true;
}

bool rt_st_is_used(const RtSafetensors *st, size_t i) {
  return i < st->count && st->used[i];
}

size_t rt_st_unused_count(const RtSafetensors *st) {
  size_t n = 0;
  for (size_t i = 0; i < st->count; i++)
    n += !st->used[i];
  return n;
}

RtStatus rt_st_check_all_used(const RtSafetensors *st, RtError *err) {
  size_t n = rt_st_unused_count(st);
  if (n == 0)
    return RT_OK;
  if (!err)
    return RT_ERR_MISMATCH;
  char *m = err->msg;
  size_t cap = sizeof err->msg, k;
  k = (size_t)snprintf(m, cap, "%s: %zu tensor%s not used by the model:", st->label, n,
                       n == 1 ? "" : "s");
  bool first = true;
  for (size_t i = 0; i < st->count && k < cap; i++) {
    if (st->used[i])
      continue;
    char name[SHOWN_NAME];
    show(name, sizeof name, st->tensors[i].name);
    /* Leave room for ", ..." so a long list still ends visibly cut. */
    if (k + strlen(name) + 8 >= cap) {
      snprintf(m + k, cap - k, " ...");
      break;
    }
    k += (size_t)snprintf(m + k, cap - k, "%s '%s'", first ? "" : ",", name);
    first = false;
  }
  return RT_ERR_MISMATCH;
}

/* ---- Writer ------------------------------------------------------------- */

typedef struct WEntry {
  char *name;
  RtDtype dtype;
  int ndim;
  int64_t shape[RT_MAX_DIMS];
  uint64_t nbytes;
  uint8_t *data;
} WEntry;

struct RtStWriter {
  WEntry *t;
  size_t count, cap;
  MetaPair *meta;
  size_t meta_count, meta_cap;
};

RtStatus rt_stw_new(RtStWriter **out, RtError *err) {
  if (!out)
    return rt_fail(err, RT_ERR_ARG, "rt_stw_new: out is NULL");
  *out = calloc(1, sizeof **out);
  return *out ? RT_OK : rt_fail(err, RT_ERR_NOMEM, "safetensors writer: out of memory");
}

void rt_stw_free(RtStWriter *w) {
  if (!w)
    return;
  for (size_t i = 0; i < w->count; i++) {
    free(w->t[i].name);
    free(w->t[i].data);
  }
  for (size_t i = 0; i < w->meta_count; i++) {
    free(w->meta[i].key);
    free(w->meta[i].val);
  }
  free(w->t);
  free(w->meta);
  free(w);
}

RtStatus rt_stw_add(RtStWriter *w, const char *name, RtDtype dt, int ndim, const int64_t *shape,
                    const void *data, RtError *err) {
  if (!w || !name)
    return rt_fail(err, RT_ERR_ARG, "rt_stw_add: writer or name is NULL");
  if (!*name || strcmp(name, "__metadata__") == 0)
    return rt_fail(err, RT_ERR_ARG, "safetensors writer: invalid tensor name '%s'", name);
  if ((unsigned)dt >= RT_DT_COUNT_)
    return rt_fail(err, RT_ERR_ARG, "safetensors writer: tensor '%s': invalid dtype %d", name,
                   (int)dt);
  if (ndim < 0 || ndim > RT_MAX_DIMS || (ndim && !shape))
    return rt_fail(err, RT_ERR_ARG, "safetensors writer: tensor '%s': rank %d is not in "
                   "0..%d", name, ndim, RT_MAX_DIMS);
  for (size_t i = 0; i < w->count; i++)
    if (strcmp(w->t[i].name, name) == 0)
      return rt_fail(err, RT_ERR_ARG, "safetensors writer: tensor '%s' added twice", name);
  uint64_t numel = 1, nbytes;
  for (int d = 0; d < ndim; d++)
    if (shape[d] < 0 || !rt_mul_u64(numel, (uint64_t)shape[d], &numel))
      return rt_fail(err, RT_ERR_ARG, "safetensors writer: tensor '%s': invalid dimension "
                     "%d (%lld)", name, d, (long long)shape[d]);
  if (!rt_mul_u64(numel, rt_dtype_size(dt), &nbytes) || nbytes >= SIZE_MAX)
    return rt_fail(err, RT_ERR_ARG, "safetensors writer: tensor '%s': too large", name);
  if (nbytes && !data)
    return rt_fail(err, RT_ERR_ARG, "safetensors writer: tensor '%s': data is NULL", name);
  if (w->count == w->cap) {
    size_t nc = w->cap ? 2 * w->cap : 16;
    WEntry *nt = realloc(w->t, nc * sizeof *nt);
    if (!nt)
      return rt_fail(err, RT_ERR_NOMEM, "safetensors writer: out of memory");
    w->t = nt;
    w->cap = nc;
  }
  WEntry e = {.dtype = dt, .ndim = ndim, .nbytes = nbytes};
  for (int d = 0; d < ndim; d++)
    e.shape[d] = shape[d];
  e.name = dup_str(name);
  e.data = malloc(nbytes ? (size_t)nbytes : 1);
  if (!e.name || !e.data) {
    free(e.name);
    free(e.data);
    return rt_fail(err, RT_ERR_NOMEM, "safetensors writer: tensor '%s': out of memory", name);
  }
  if (nbytes)
    memcpy(e.data, data, (size_t)nbytes);
  w->t[w->count++] = e;
  return RT_OK;
}

RtStatus rt_stw_add_f32(RtStWriter *w, const char *name, int ndim, const int64_t *shape,
                        const float *data, RtError *err) {
  RtStatus s = rt_stw_add(w, name, RT_DT_F32, ndim, shape, data, err);
  if (s == RT_OK && !rt_host_is_little_endian()) {
    WEntry *e = &w->t[w->count - 1];
    rt_bswap_elems(e->data, (size_t)(e->nbytes / 4), 4);
  }
  return s;
}

RtStatus rt_stw_set_metadata(RtStWriter *w, const char *key, const char *value, RtError *err) {
  if (!w || !key || !value)
    return rt_fail(err, RT_ERR_ARG, "rt_stw_set_metadata: NULL argument");
  char *v = dup_str(value);
  if (!v)
    return rt_fail(err, RT_ERR_NOMEM, "safetensors writer: out of memory");
  for (size_t i = 0; i < w->meta_count; i++)
    if (strcmp(w->meta[i].key, key) == 0) {
      free(w->meta[i].val);
      w->meta[i].val = v;
      return RT_OK;
    }
  if (w->meta_count == w->meta_cap) {
    size_t nc = w->meta_cap ? 2 * w->meta_cap : 8;
    MetaPair *nm = realloc(w->meta, nc * sizeof *nm);
    if (!nm) {
      free(v);
      return rt_fail(err, RT_ERR_NOMEM, "safetensors writer: out of memory");
    }
    w->meta = nm;
    w->meta_cap = nc;
  }
  char *k = dup_str(key);
  if (!k) {
    free(v);
    return rt_fail(err, RT_ERR_NOMEM, "safetensors writer: out of memory");
  }
  w->meta[w->meta_count++] = (MetaPair){k, v};
  return RT_OK;
}

static int cmp_wentry_ptr(const void *a, const void *b) {
  return strcmp((*(const WEntry *const *)a)->name, (*(const WEntry *const *)b)->name);
}

static int cmp_meta_ptr(const void *a, const void *b) {
  return strcmp((*(const MetaPair *const *)a)->key, (*(const MetaPair *const *)b)->key);
}

typedef struct WriteJob {
  const char *header; /* JSON text */
  size_t header_len;  /* including the space padding */
  const WEntry **order;
  size_t count;
} WriteJob;

static bool write_body(FILE *f, void *ctx) {
  const WriteJob *job = ctx;
  uint8_t lenbuf[8];
  rt_store_le64(lenbuf, job->header_len);
  if (!rt_fwrite_all(f, lenbuf, 8))
    return false;
  size_t jl = strlen(job->header);
  if (!rt_fwrite_all(f, job->header, jl))
    return false;
  for (size_t i = jl; i < job->header_len; i++)
    if (fputc(' ', f) == EOF)
      return false;
  for (size_t i = 0; i < job->count; i++)
    if (!rt_fwrite_all(f, job->order[i]->data, (size_t)job->order[i]->nbytes))
      return false;
  return true;
}

/* Builds the header JSON. Integers go in as raw text so they are printed
 * exactly (cJSON would print offsets beyond 2^31 through "%g"). */
static char *build_header(const RtStWriter *w, const WEntry **order, const MetaPair **morder) {
  cJSON *root = cJSON_CreateObject();
  if (!root)
    return NULL;
  bool ok = true;
  if (w->meta_count) {
    cJSON *m = cJSON_AddObjectToObject(root, "__metadata__");
    ok = m != NULL;
    for (size_t i = 0; ok && i < w->meta_count; i++)
      ok = cJSON_AddStringToObject(m, morder[i]->key, morder[i]->val) != NULL;
  }
  uint64_t off = 0;
  for (size_t i = 0; ok && i < w->count; i++) {
    const WEntry *e = order[i];
    char shape[RT_MAX_DIMS * 24 + 4], offs[64];
    shape_str(shape, sizeof shape, e->ndim, e->shape);
    snprintf(offs, sizeof offs, "[%llu,%llu]", (unsigned long long)off,
             (unsigned long long)(off + e->nbytes));
    off += e->nbytes;
    cJSON *o = cJSON_AddObjectToObject(root, e->name);
    ok = o && cJSON_AddStringToObject(o, "dtype", rt_dtype_name(e->dtype)) &&
         cJSON_AddRawToObject(o, "shape", shape) && cJSON_AddRawToObject(o, "data_offsets", offs);
  }
  char *text = ok ? cJSON_PrintUnformatted(root) : NULL;
  cJSON_Delete(root);
  return text;
}

RtStatus rt_stw_write(const RtStWriter *w, const char *path, RtError *err) {
  if (!w || !path)
    return rt_fail(err, RT_ERR_ARG, "rt_stw_write: writer or path is NULL");
  const WEntry **order = malloc((w->count ? w->count : 1) * sizeof *order);
  const MetaPair **morder = malloc((w->meta_count ? w->meta_count : 1) * sizeof *morder);
  if (!order || !morder) {
    free(order);
    free(morder);
    return rt_fail(err, RT_ERR_NOMEM, "%s: out of memory", path);
  }
  for (size_t i = 0; i < w->count; i++)
    order[i] = &w->t[i];
  for (size_t i = 0; i < w->meta_count; i++)
    morder[i] = &w->meta[i];
  qsort(order, w->count, sizeof *order, cmp_wentry_ptr);
  qsort(morder, w->meta_count, sizeof *morder, cmp_meta_ptr);
  char *header = build_header(w, order, morder);
  free(morder);
  if (!header) {
    free(order);
    return rt_fail(err, RT_ERR_NOMEM, "%s: out of memory building the header", path);
  }
  size_t jl = strlen(header);
  WriteJob job = {header, (jl + 7) / 8 * 8, order, w->count};
  RtStatus s = rt_atomic_write(path, write_body, &job, err);
  cJSON_free(header);
  free(order);
  return s;
}
