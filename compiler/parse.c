/* parse.c: runs the scanner and parser over one file. */
#include "netc.h"
#include "parse_ctx.h"
#include "parser.h"
#define YYSTYPE NETC_YYSTYPE
#define YYLTYPE NETC_YYLTYPE
#include "lexer.h"

bool parse_program(Arena *a, Diag *d, int file, Program *prog) {
  ParseCtx pc = {.arena = a, .diag = d, .file = file, .prog = prog};
  yyscan_t scanner;
  if (netc_yylex_init_extra(&pc, &scanner) != 0)
    NETC_ASSERT(!"cannot create scanner");
  const SrcFile *f = &d->files[file];
  YY_BUFFER_STATE buf = netc_yy_scan_bytes(f->text, (int)f->len, scanner);
  int errors_before = d->errors;
  int rc = netc_yyparse(scanner, &pc);
  netc_yy_delete_buffer(buf, scanner);
  netc_yylex_destroy(scanner);
  return rc == 0 && d->errors == errors_before;
}
