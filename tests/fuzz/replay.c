/* replay.c: feeds files to LLVMFuzzerTestOneInput without libFuzzer, so the
 * committed corpus runs in every build (under ASan/UBSan in the sanitizer
 * configuration). Arguments are files or directories. */
#define _POSIX_C_SOURCE 200809L
#include "netc.h"

#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int run_path(const char *path) {
  struct stat st;
  if (stat(path, &st) != 0) {
    perror(path);
    return -1;
  }
  if (S_ISDIR(st.st_mode)) {
    DIR *d = opendir(path);
    if (!d) {
      perror(path);
      return -1;
    }
    int n = 0;
    for (struct dirent *e; (e = readdir(d));) {
      if (e->d_name[0] == '.')
        continue;
      char sub[4096];
      snprintf(sub, sizeof sub, "%s/%s", path, e->d_name);
      int k = run_path(sub);
      if (k < 0) {
        closedir(d);
        return -1;
      }
      n += k;
    }
    closedir(d);
    return n;
  }
  size_t len;
  char *data = read_file(path, &len);
  if (!data) {
    perror(path);
    return -1;
  }
  LLVMFuzzerTestOneInput((const uint8_t *)data, len);
  free(data);
  return 1;
}

int main(int argc, char **argv) {
  int total = 0;
  for (int i = 1; i < argc; i++) {
    int n = run_path(argv[i]);
    if (n < 0)
      return 1;
    total += n;
  }
  printf("replayed %d inputs without a crash\n", total);
  return total > 0 ? 0 : 1;
}
