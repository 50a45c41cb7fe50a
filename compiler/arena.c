/* arena.c: the bump allocator and string map every compilation allocates
 * from. Freeing a compilation is freeing its arena: no per-node ownership. */
#include "netc.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

typedef struct Chunk {
  struct Chunk *next;
  size_t used, size;
  max_align_t data[];
} Chunk;

struct Arena {
  Chunk *head;
};

static void *xmalloc(size_t n) {
  void *p = malloc(n);
  if (!p) {
    fprintf(stderr, "netc: out of memory (%zu bytes)\n", n);
    exit(70);
  }
  return p;
}

_Noreturn void netc_internal_error(const char *file, int line, const char *what) {
  fprintf(stderr, "netc: internal compiler error at %s:%d: %s\n", file, line, what);
  fprintf(stderr, "netc: this is a bug in netc, not in your model; please report it\n");
  exit(70);
}

Arena *arena_new(void) {
  Arena *a = xmalloc(sizeof *a);
  a->head = NULL;
  return a;
}

void arena_free(Arena *a) {
  if (!a)
    return;
  for (Chunk *c = a->head, *next; c; c = next) {
    next = c->next;
    free(c);
  }
  free(a);
}

void *arena_alloc(Arena *a, size_t size) {
  size = (size + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
  if (size == 0)
    size = sizeof(max_align_t);
  Chunk *c = a->head;
  if (!c || c->size - c->used < size) {
    /* Large requests get a chunk of their own; small ones share 64 KiB. */
    size_t csize = size > 65536 ? size : 65536;
    c = xmalloc(sizeof(Chunk) + csize);
    c->size = csize;
    c->used = 0;
    c->next = a->head;
    a->head = c;
  }
  void *p = (char *)c->data + c->used;
  c->used += size;
  memset(p, 0, size);
  return p;
}

char *arena_strndup(Arena *a, const char *s, size_t n) {
  char *p = arena_alloc(a, n + 1);
  memcpy(p, s, n);
  p[n] = '\0';
  return p;
}

char *arena_strdup(Arena *a, const char *s) { return arena_strndup(a, s, strlen(s)); }

char *arena_printf(Arena *a, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(NULL, 0, fmt, ap);
  va_end(ap);
  NETC_ASSERT(n >= 0);
  char *p = arena_alloc(a, (size_t)n + 1);
  va_start(ap, fmt);
  vsnprintf(p, (size_t)n + 1, fmt, ap);
  va_end(ap);
  return p;
}

void *arena_grow(Arena *a, void *ptr, int *cap, int need, size_t elem) {
  if (need <= *cap)
    return ptr;
  int ncap = *cap ? *cap : 4;
  while (ncap < need)
    ncap *= 2;
  void *p = arena_alloc(a, (size_t)ncap * elem);
  if (ptr)
    memcpy(p, ptr, (size_t)*cap * elem);
  *cap = ncap;
  return p;
}

/* Open addressing with linear probing; entries also kept in insertion order
 * so that anything printed from a map is deterministic. */
typedef struct Entry {
  const char *key;
  void *value;
} Entry;

struct StrMap {
  Arena *arena;
  int *slots;       /* index into entries + 1; 0 = empty */
  int nslots;
  Entry *entries;
  int len, cap;
};

static uint32_t hash_str(const char *s) {
  uint32_t h = 2166136261u;  /* FNV-1a */
  for (; *s; s++)
    h = (h ^ (unsigned char)*s) * 16777619u;
  return h;
}

StrMap *strmap_new(Arena *a) {
  StrMap *m = arena_alloc(a, sizeof *m);
  m->arena = a;
  m->nslots = 16;
  m->slots = arena_alloc(a, sizeof(int) * (size_t)m->nslots);
  return m;
}

static int *find_slot(const StrMap *m, const char *key) {
  uint32_t i = hash_str(key) & (uint32_t)(m->nslots - 1);
  for (;; i = (i + 1) & (uint32_t)(m->nslots - 1)) {
    int *s = &m->slots[i];
    if (*s == 0 || strcmp(m->entries[*s - 1].key, key) == 0)
      return s;
  }
}

void *strmap_get(const StrMap *m, const char *key) {
  int *s = find_slot(m, key);
  return *s ? m->entries[*s - 1].value : NULL;
}

void strmap_put(StrMap *m, const char *key, void *value) {
  int *s = find_slot(m, key);
  if (*s) {
    m->entries[*s - 1].value = value;
    return;
  }
  m->entries = arena_grow(m->arena, m->entries, &m->cap, m->len + 1, sizeof(Entry));
  m->entries[m->len] = (Entry){key, value};
  *s = ++m->len;
  if (m->len * 2 > m->nslots) {
    m->nslots *= 2;
    m->slots = arena_alloc(m->arena, sizeof(int) * (size_t)m->nslots);
    for (int i = 0; i < m->len; i++)
      *find_slot(m, m->entries[i].key) = i + 1;
  }
}

int strmap_count(const StrMap *m) { return m->len; }

void strmap_each(const StrMap *m, void (*fn)(const char *, void *, void *), void *ctx) {
  for (int i = 0; i < m->len; i++)
    fn(m->entries[i].key, m->entries[i].value, ctx);
}
