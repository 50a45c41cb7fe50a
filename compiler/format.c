/* format.c: number formatting shared by the reports. */
#include "netc.h"

#include <inttypes.h>
#include <string.h>

char *fmt_thousands(int64_t v, char *buf, size_t size) {
  char digits[32];
  uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
  int n = snprintf(digits, sizeof digits, "%" PRIu64, u);
  char tmp[48];
  int j = 0;
  if (v < 0)
    tmp[j++] = '-';
  for (int i = 0; i < n; i++) {
    if (i > 0 && (n - i) % 3 == 0)
      tmp[j++] = ',';
    tmp[j++] = digits[i];
  }
  tmp[j] = '\0';
  snprintf(buf, size, "%s", tmp);
  return buf;
}

char *fmt_bytes(int64_t v, char *buf, size_t size) {
  static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double x = (double)v;
  int u = 0;
  while (x >= 1024.0 && u < 4) {
    x /= 1024.0;
    u++;
  }
  if (u == 0)
    snprintf(buf, size, "%" PRId64 " B", v);
  else
    snprintf(buf, size, "%.2f %s", x, units[u]);
  return buf;
}
