/* app_paths.c: finding data files on disk, shared by eval and train. */
#define _DEFAULT_SOURCE
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "app_internal.h"

bool app_is_dir(const char *p) {
  struct stat sb;
  return !stat(p, &sb) && S_ISDIR(sb.st_mode);
}

bool app_is_file(const char *p) {
  struct stat sb;
  return !stat(p, &sb) && S_ISREG(sb.st_mode);
}

bool app_find_plain_or_gz(char *out, const char *dir, const char *name) {
  snprintf(out, APP_PATH_CAP, "%s/%s", dir, name);
  if (app_is_file(out))
    return true;
  snprintf(out, APP_PATH_CAP, "%s/%s.gz", dir, name);
  return app_is_file(out);
}

bool app_idx_labels_for(char *out, const char *images) {
  const char *base = strrchr(images, '/');
  base = base ? base + 1 : images;
  static const char *const from[] = {"images-idx3", "images.idx3", "images"};
  static const char *const to[] = {"labels-idx1", "labels.idx1", "labels"};
  for (int i = 0; i < 3; i++) {
    const char *hit = strstr(base, from[i]);
    if (!hit)
      continue;
    snprintf(out, APP_PATH_CAP, "%.*s%s%s", (int)(hit - images), images, to[i], hit + strlen(from[i]));
    if (app_is_file(out))
      return true;
  }
  return false;
}
