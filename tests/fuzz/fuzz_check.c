/* fuzz_check.c: the libFuzzer target for `netc check` and `netc report`:
 * any bytes go through the whole front end (scanner, parser, elaborator,
 * shape inference, cost model) and, when they form a model, through every
 * report writer. Each input is compiled twice, as the compiler must keep no
 * state between compilations. */
#include "netc.h"

#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  for (int round = 0; round < 2; round++) {
    bool ok;
    Compilation *c = compile_source("fuzz.net", (const char *)data, size, NULL, 1 + round, &ok);
    if (ok) {
      FILE *sink = fopen("/dev/null", "w");
      if (sink) {
        report_table(sink, c, REPORT_TEXT);
        report_table(sink, c, REPORT_MARKDOWN);
        graph_write_dot(sink, c);
        fclose(sink);
      }
      free(report_json(c));
    }
    compilation_free(c);
  }
  return 0;
}
