/* test_examples.c: every dsl-example compiles, and its parameter counts
 * equal the Keras figures written in its header:
 *   # keras: params 134,794 (trainable 134,794, non-trainable 0)
 * plus the acceptance figures of the ImageNet classics. */
#define _POSIX_C_SOURCE 200809L
#include "netc.h"

#include <dirent.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int failures;

static int64_t parse_grouped(const char **p) {
  int64_t v = 0;
  /* A comma groups digits only when a digit follows it. */
  while ((**p == ',' && (*p)[1] >= '0' && (*p)[1] <= '9') || (**p >= '0' && **p <= '9')) {
    if (**p != ',')
      v = v * 10 + (**p - '0');
    (*p)++;
  }
  return v;
}

static bool parse_keras_line(const char *text, int64_t *total, int64_t *trainable, int64_t *non) {
  const char *p = strstr(text, "# keras: params ");
  if (!p)
    return false;
  p += strlen("# keras: params ");
  *total = parse_grouped(&p);
  if (strncmp(p, " (trainable ", 12) != 0)
    return false;
  p += 12;
  *trainable = parse_grouped(&p);
  if (strncmp(p, ", non-trainable ", 16) != 0)
    return false;
  p += 16;
  *non = parse_grouped(&p);
  return *p == ')';
}

static void expect(const char *file, const char *what, int64_t got, int64_t want) {
  if (got == want)
    return;
  fprintf(stderr, "FAIL: %s: %s is %" PRId64 ", expected %" PRId64 "\n", file, what, got, want);
  failures++;
}

static void check_file(const char *dir, const char *name) {
  char path[4096];
  snprintf(path, sizeof path, "%s/%s", dir, name);
  size_t len;
  char *text = read_file(path, &len);
  if (!text) {
    fprintf(stderr, "FAIL: cannot read %s\n", path);
    failures++;
    return;
  }
  bool ok;
  Compilation *c = compile_source(path, text, len, stderr, 1, &ok);
  int64_t total, trainable, non;
  if (!ok) {
    fprintf(stderr, "FAIL: %s does not compile\n", path);
    failures++;
  } else if (!parse_keras_line(text, &total, &trainable, &non)) {
    fprintf(stderr, "FAIL: %s has no '# keras: params N (trainable T, non-trainable U)' line\n", path);
    failures++;
  } else {
    int before = failures;
    expect(name, "total params", c->totals.params, total);
    expect(name, "trainable params", c->totals.trainable, trainable);
    expect(name, "non-trainable params", c->totals.non_trainable, non);
    if (strcmp(name, "mnist_mlp.net") == 0)
      expect(name, "params (book: 134,794)", c->totals.params, 134794);
    if (strcmp(name, "vgg16.net") == 0) {
      expect(name, "params (Keras VGG16)", c->totals.params, 138357544);
      expect(name, "MACs", c->totals.macs, 15470264320);
    }
    if (strcmp(name, "vgg19.net") == 0)
      expect(name, "params (Keras VGG19)", c->totals.params, 143667240);
    if (failures == before)
      printf("ok: %-22s %" PRId64 " params, %" PRId64 " MACs\n", name, c->totals.params, c->totals.macs);
  }
  compilation_free(c);
  free(text);
}

static int cmp(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_examples DIR\n");
    return 2;
  }
  DIR *d = opendir(argv[1]);
  if (!d) {
    perror(argv[1]);
    return 1;
  }
  char *names[256];
  int n = 0;
  for (struct dirent *e; (e = readdir(d)) && n < 256;) {
    size_t l = strlen(e->d_name);
    if (l > 4 && strcmp(e->d_name + l - 4, ".net") == 0)
      names[n++] = strdup(e->d_name);
  }
  closedir(d);
  qsort(names, (size_t)n, sizeof names[0], cmp);
  static const char *const required[] = {"mnist_mlp.net", "mnist_cnn.net", "cifar_cnn.net", "cifar_bn_cnn.net",
                                         "resnet_mini.net", "mobilenet_mini.net", "bottleneck_mini.net",
                                         "se_resnet_mini.net", "densenet_mini.net", "resnext_mini.net",
                                         "inception_mini.net", "vgg16.net", "vgg19.net", "alexnet.net",
                                         "resnet18.net"};
  for (size_t r = 0; r < sizeof required / sizeof required[0]; r++) {
    bool found = false;
    for (int i = 0; i < n; i++)
      found |= strcmp(names[i], required[r]) == 0;
    if (!found) {
      fprintf(stderr, "FAIL: dsl-examples/%s is missing\n", required[r]);
      failures++;
    }
  }
  for (int i = 0; i < n; i++) {
    check_file(argv[1], names[i]);
    free(names[i]);
  }
  if (failures)
    fprintf(stderr, "%d failure(s)\n", failures);
  return failures ? 1 : 0;
}
