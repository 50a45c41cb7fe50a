/* test_twice.c: the compiler keeps no global state, so compiling the same
 * model twice in one process gives identical reports (the fuzzer relies on
 * this, and so will any tool that embeds netc). */
#include "netc.h"

#include <stdlib.h>
#include <string.h>

static char *report_of(const char *path, const char *text, size_t len) {
  bool ok;
  Compilation *c = compile_source(path, text, len, stderr, 1, &ok);
  char *json = ok ? report_json(c) : NULL;
  compilation_free(c);
  return json;
}

int main(int argc, char **argv) {
  if (argc != 2) {
    fprintf(stderr, "usage: test_twice FILE.net\n");
    return 2;
  }
  size_t len;
  char *text = read_file(argv[1], &len);
  if (!text) {
    perror(argv[1]);
    return 1;
  }
  char *a = report_of(argv[1], text, len);
  char *b = report_of(argv[1], text, len);
  int rc = !a || !b || strcmp(a, b) != 0;
  printf("%s: two compilations %s\n", argv[1], rc ? "DIFFER" : "agree");
  free(a);
  free(b);
  free(text);
  return rc;
}
