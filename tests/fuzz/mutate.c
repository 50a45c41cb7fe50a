/* mutate.c: a deterministic mutation run over the examples and the error
 * cases: byte flips, insertions of language tokens, deletions, splices of
 * two files, truncations and duplications, each compiled in-process. It
 * complements the committed libFuzzer corpus with inputs that are new on
 * every change of the seeds, yet identical run to run. */
#define _POSIX_C_SOURCE 200809L
#include "netc.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

typedef struct Seed {
  char *data;
  size_t len;
} Seed;

static uint64_t rng_state = 0x9e3779b97f4a7c15u;
static uint64_t next_rand(void) {  /* xorshift64*: reproducible everywhere */
  rng_state ^= rng_state >> 12;
  rng_state ^= rng_state << 25;
  rng_state ^= rng_state >> 27;
  return rng_state * 2685821657736338717u;
}

static const char *const tokens[] = {"->", "(", ")", "[", "]", "{", "}", ",", "=", ":", "x", "0", "-1",
                                     "99999999999999999999", "1e308", "\"", "#", "\n", "block", "network",
                                     "return", "if", "else", "for", "in", "repeat", "true", "not", "conv",
                                     "dense", "concat", "relu", "+", "*", "/", "//", "%", "32x32x3",
                                     "channels(x)", "train", "unit", "input", "same", "0.5"};
enum { NTOKENS = sizeof tokens / sizeof tokens[0] };

static void load_dir(const char *dir, Seed *seeds, int *n, int cap) {
  DIR *d = opendir(dir);
  if (!d)
    return;
  for (struct dirent *e; (e = readdir(d)) && *n < cap;) {
    size_t l = strlen(e->d_name);
    if (l < 5 || strcmp(e->d_name + l - 4, ".net") != 0)
      continue;
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
    seeds[*n].data = read_file(path, &seeds[*n].len);
    if (seeds[*n].data)
      (*n)++;
  }
  closedir(d);
}

static int cmp_seed(const void *a, const void *b) {
  const Seed *x = a, *y = b;
  size_t n = x->len < y->len ? x->len : y->len;
  int c = memcmp(x->data, y->data, n);
  return c ? c : (x->len > y->len) - (x->len < y->len);
}

static size_t mutate_once(char *buf, size_t len, size_t cap, const Seed *other) {
  size_t pos = len ? next_rand() % len : 0;
  switch (next_rand() % 6) {
  case 0: /* flip a byte */
    if (len)
      buf[pos] = (char)(next_rand() & 0xff);
    return len;
  case 1: { /* insert a token */
    const char *t = tokens[next_rand() % NTOKENS];
    size_t tl = strlen(t);
    if (len + tl > cap)
      return len;
    memmove(buf + pos + tl, buf + pos, len - pos);
    memcpy(buf + pos, t, tl);
    return len + tl;
  }
  case 2: { /* delete a span */
    size_t n = len ? next_rand() % 16 : 0;
    if (pos + n > len)
      n = len - pos;
    memmove(buf + pos, buf + pos + n, len - pos - n);
    return len - n;
  }
  case 3: { /* splice in a piece of another file */
    if (!other->len)
      return len;
    size_t from = next_rand() % other->len, n = next_rand() % 200;
    if (from + n > other->len)
      n = other->len - from;
    if (len + n > cap)
      return len;
    memmove(buf + pos + n, buf + pos, len - pos);
    memcpy(buf + pos, other->data + from, n);
    return len + n;
  }
  case 4: /* truncate */
    return pos;
  default: { /* duplicate a span */
    size_t n = len ? next_rand() % 64 : 0;
    if (pos + n > len)
      n = len - pos;
    if (len + n > cap)
      return len;
    memmove(buf + pos + n, buf + pos, len - pos);
    return len + n;
  }
  }
}

int main(int argc, char **argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: mutate COUNT DIR...\n");
    return 2;
  }
  long count = strtol(argv[1], NULL, 10);
  Seed seeds[512];
  int n = 0;
  for (int i = 2; i < argc; i++)
    load_dir(argv[i], seeds, &n, 512);
  if (n == 0) {
    fprintf(stderr, "mutate: no .net seeds found\n");
    return 1;
  }
  qsort(seeds, (size_t)n, sizeof seeds[0], cmp_seed);  /* directory order varies */
  size_t cap = 1 << 20;
  char *buf = malloc(cap);
  if (!buf)
    return 1;
  for (long k = 0; k < count; k++) {
    const Seed *s = &seeds[k % n];
    size_t len = s->len < cap ? s->len : cap;
    memcpy(buf, s->data, len);
    int rounds = 1 + (int)(next_rand() % 8);
    for (int r = 0; r < rounds; r++)
      len = mutate_once(buf, len, cap, &seeds[next_rand() % n]);
    LLVMFuzzerTestOneInput((const uint8_t *)buf, len);
  }
  printf("compiled %ld mutants of %d seeds without a crash\n", count, n);
  free(buf);
  for (int i = 0; i < n; i++)
    free(seeds[i].data);
  return 0;
}
