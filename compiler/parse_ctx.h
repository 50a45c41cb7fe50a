/* parse_ctx.h: state shared by the scanner (lexer.l) and the parser
 * (parser.y) for one file. Nothing here outlives parse_program. */
#ifndef NETC_PARSE_CTX_H
#define NETC_PARSE_CTX_H

#include "netc.h"

/* Deeper bracket nesting than this is refused by the scanner, so that no
 * later recursive phase can run out of stack on a pathological file. */
enum { MAX_NESTING = 200 };

typedef struct ParseCtx {
  Arena *arena;
  Diag *diag;
  int file;
  Program *prog;
  uint32_t offset;              /* scanner position in the file */
  SrcLoc open[MAX_NESTING];     /* unclosed brackets, innermost last */
  int nopen;
  Param *params;                /* parameters of the block being parsed */
  int nparams, cap_params;
  bool too_deep;                /* nesting limit hit: stop quietly */
} ParseCtx;

#endif
