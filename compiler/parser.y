/* parser.y: the grammar of the .net language (pure, with byte-range
 * locations). Actions only build the AST; meaning is given by elaborate.c.
 * All memory comes from the compilation's arena, so error recovery needs no
 * %destructor: discarded values are freed with the arena. */
%code requires {
#include "netc.h"
typedef void *yyscan_t;
struct ParseCtx;
}

%code provides {
int netc_yylex(NETC_YYSTYPE *lvalp, SrcLoc *llocp, yyscan_t scanner);
}

%code {
#include "parse_ctx.h"

#include <string.h>

#define A (pc->arena)

/* Locations are merged byte ranges; an empty rule sits at the end of what
 * precedes it. */
#define YYLLOC_DEFAULT(Cur, Rhs, N)                                        \
  do {                                                                     \
    if (N) {                                                               \
      (Cur) = loc_span(YYRHSLOC(Rhs, 1), YYRHSLOC(Rhs, N));                \
    } else {                                                               \
      (Cur).file = YYRHSLOC(Rhs, 0).file;                                  \
      (Cur).begin = (Cur).end = YYRHSLOC(Rhs, 0).end;                      \
    }                                                                      \
  } while (0)

static void netc_yyerror(SrcLoc *loc, yyscan_t scanner, struct ParseCtx *pc, const char *msg);
static Ast *binop(struct ParseCtx *pc, BinOp op, Ast *l, Ast *r, SrcLoc loc);
static Ast *shape_literal(struct ParseCtx *pc, const char *text, SrcLoc loc);
static void add_block(struct ParseCtx *pc, BlockDef *b);
static void push_param(struct ParseCtx *pc, Param p);
static BlockDef *new_block(struct ParseCtx *pc, const char *name, SrcLoc loc, bool network);
}

%define api.pure full
%define api.prefix {netc_yy}
%define api.location.type {SrcLoc}
%define parse.error custom
%locations
%expect 0
%param {yyscan_t scanner}
%parse-param {struct ParseCtx *pc}

%union {
  int64_t i;
  double r;
  char *s;
  Ast *ast;
  AstList list;
  BlockDef *block;
}

%token BLOCK "'block'" NETWORK "'network'" TRAIN "'train'" RETURN "'return'"
%token IF "'if'" ELSE "'else'" FOR "'for'" IN "'in'" REPEAT "'repeat'"
%token AND "'and'" OR "'or'" NOT "'not'"
%token ARROW "'->'" FLOORDIV "'//'" EQ "'=='" NE "'!='" LE "'<='" GE "'>='"
%token <i> INT "integer" BOOL "boolean"
%token <r> REAL "real number"
%token <s> IDENT "identifier" STRING "string" SHAPE "shape"

%type <ast> expr postfix primary arg stmt if_stmt named_or_expr
%type <list> stmts body args arglist list_items map_items exprs else_part
%type <block> block_head

%precedence ARROW
%left OR
%left AND
%precedence NOT
%nonassoc EQ NE '<' LE '>' GE
%left '+' '-'
%left '*' '/' FLOORDIV '%'
%precedence UMINUS

%%

/* file := item* */
file
  : %empty
  | file item
  ;

/* item := block_head body | 'train' '{' (IDENT '=' expr)* '}' */
item
  : block_head body          { $1->body = $2; add_block(pc, $1); }
  | TRAIN '{' train_items '}' {
      if (pc->prog->has_train) {
        diag_error(pc->diag, @1, "a second 'train' section");
        diag_note(pc->diag, pc->prog->train_loc, "the first is here");
      }
      pc->prog->has_train = true;
      pc->prog->train_loc = @1;
    }
  | error '}'                { yyerrok; }
  ;

/* block_head := ('block' | 'network') IDENT '(' params ')' */
block_head
  : BLOCK IDENT '(' { pc->nparams = 0; } params ')'    { $$ = new_block(pc, $2, @2, false); }
  | NETWORK IDENT '(' { pc->nparams = 0; } params ')'  { $$ = new_block(pc, $2, @2, true); }
  ;

/* params := (param (',' param)* ','?)? ; collected into the pending block */
params
  : %empty
  | paramlist
  | paramlist ','
  ;
paramlist
  : param
  | paramlist ',' param
  ;
/* param := IDENT | IDENT '=' expr | IDENT ':' expr */
param
  : IDENT            { push_param(pc, (Param){$1, @1, NULL, NULL}); }
  | IDENT '=' expr   { push_param(pc, (Param){$1, @1, $3, NULL}); }
  | IDENT ':' expr   { push_param(pc, (Param){$1, @1, NULL, $3}); }
  ;

train_items
  : %empty
  | train_items IDENT '=' expr {
      Program *p = pc->prog;
      p->train = arena_grow(A, p->train, &p->cap_train, p->ntrain + 1, sizeof(TrainItem));
      p->train[p->ntrain++] = (TrainItem){$2, @2, $4};
    }
  | train_items ';'
  ;

/* body := '{' stmt* '}' */
body
  : '{' stmts '}'   { $$ = $2; }
  ;

stmts
  : %empty          { $$ = (AstList){0}; }
  | stmts stmt      { $$ = $1; if ($2) ast_push(A, &$$, $2); }
  | stmts ';'       { $$ = $1; }
  ;

/* stmt := IDENT '=' expr | if_stmt | 'for' IDENT 'in' expr body
 *       | 'repeat' expr body | 'return' expr (',' expr)* */
stmt
  : IDENT '=' expr {
      $$ = ast_new(A, AST_ASSIGN, @$);
      $$->str = $1; $$->str_loc = @1; $$->lhs = $3;
    }
  | if_stmt
  | FOR IDENT IN expr body {
      $$ = ast_new(A, AST_FOR, @$);
      $$->str = $2; $$->str_loc = @2; $$->lhs = $4; $$->body = $5;
    }
  | REPEAT expr body {
      $$ = ast_new(A, AST_REPEAT, @$);
      $$->lhs = $2; $$->body = $3;
    }
  | RETURN exprs {
      $$ = ast_new(A, AST_RETURN, @$);
      $$->kids = $2;
    }
  ;

/* if_stmt := 'if' expr body ('else' (if_stmt | body))? */
if_stmt
  : IF expr body else_part {
      $$ = ast_new(A, AST_IF, @$);
      $$->lhs = $2; $$->body = $3; $$->els = $4;
    }
  ;
else_part
  : %empty          { $$ = (AstList){0}; }
  | ELSE body       { $$ = $2; }
  | ELSE if_stmt    { $$ = (AstList){0}; ast_push(A, &$$, $2); }
  ;

exprs
  : expr            { $$ = (AstList){0}; ast_push(A, &$$, $1); }
  | exprs ',' expr  { $$ = $1; ast_push(A, &$$, $3); }
  ;

/* expr := expr '->' IDENT ('(' args ')')? | expr binop expr | unop expr | postfix */
expr
  : expr ARROW IDENT {
      /* A piped call is shown from the layer's name: `conv(...)` in
       * `x -> conv(...)`, not the whole chain before it. */
      $$ = ast_new(A, AST_CALL, @3);
      $$->str = $3; $$->str_loc = @3; $$->piped = true;
      ast_push(A, &$$->kids, $1);
    }
  | expr ARROW IDENT '(' args ')' {
      $$ = ast_new(A, AST_CALL, loc_span(@3, @6));
      $$->str = $3; $$->str_loc = @3; $$->piped = true;
      $$->kids = $5;
      ast_prepend(A, &$$->kids, $1);
    }
  | expr OR expr        { $$ = binop(pc, OPR_OR, $1, $3, @2); }
  | expr AND expr       { $$ = binop(pc, OPR_AND, $1, $3, @2); }
  | NOT expr            { $$ = binop(pc, OPR_NOT, $2, NULL, @$); }
  | expr EQ expr        { $$ = binop(pc, OPR_EQ, $1, $3, @2); }
  | expr NE expr        { $$ = binop(pc, OPR_NE, $1, $3, @2); }
  | expr '<' expr       { $$ = binop(pc, OPR_LT, $1, $3, @2); }
  | expr LE expr        { $$ = binop(pc, OPR_LE, $1, $3, @2); }
  | expr '>' expr       { $$ = binop(pc, OPR_GT, $1, $3, @2); }
  | expr GE expr        { $$ = binop(pc, OPR_GE, $1, $3, @2); }
  | expr '+' expr       { $$ = binop(pc, OPR_ADD, $1, $3, @2); }
  | expr '-' expr       { $$ = binop(pc, OPR_SUB, $1, $3, @2); }
  | expr '*' expr       { $$ = binop(pc, OPR_MUL, $1, $3, @2); }
  | expr '/' expr       { $$ = binop(pc, OPR_DIV, $1, $3, @2); }
  | expr FLOORDIV expr  { $$ = binop(pc, OPR_FLOORDIV, $1, $3, @2); }
  | expr '%' expr       { $$ = binop(pc, OPR_MOD, $1, $3, @2); }
  | '-' expr %prec UMINUS { $$ = binop(pc, OPR_NEG, $2, NULL, @$); }
  | postfix
  ;

/* postfix := primary ('[' expr ']')* */
postfix
  : primary
  | postfix '[' expr ']' {
      $$ = ast_new(A, AST_INDEX, @$);
      $$->lhs = $1; $$->rhs = $3;
    }
  ;

/* primary := literal | IDENT | IDENT '(' args ')' | '(' expr ')'
 *          | '[' (expr (',' expr)*)? ']' | '[' expr ':' expr (',' ...)* ']' */
primary
  : INT     { $$ = ast_new(A, AST_INT, @$); $$->ival = $1; }
  | REAL    { $$ = ast_new(A, AST_REAL, @$); $$->rval = $1; }
  | BOOL    { $$ = ast_new(A, AST_BOOL, @$); $$->ival = $1; }
  | STRING  { $$ = ast_new(A, AST_STR, @$); $$->str = $1; }
  | SHAPE   { $$ = shape_literal(pc, $1, @$); }
  | IDENT   { $$ = ast_new(A, AST_IDENT, @$); $$->str = $1; $$->str_loc = @$; }
  | IDENT '(' args ')' {
      $$ = ast_new(A, AST_CALL, @$);
      $$->str = $1; $$->str_loc = @1; $$->kids = $3;
    }
  | '(' expr ')'                { $$ = $2; $$->loc = @$; }
  | '[' ']'                     { $$ = ast_new(A, AST_LIST, @$); }
  | '[' list_items opt_comma ']' { $$ = ast_new(A, AST_LIST, @$); $$->kids = $2; }
  | '[' map_items opt_comma ']'  { $$ = ast_new(A, AST_MAP, @$); $$->kids = $2; }
  ;

opt_comma
  : %empty
  | ','
  ;

list_items
  : expr                  { $$ = (AstList){0}; ast_push(A, &$$, $1); }
  | list_items ',' expr   { $$ = $1; ast_push(A, &$$, $3); }
  ;

map_items
  : expr ':' expr                 { $$ = (AstList){0}; ast_push(A, &$$, $1); ast_push(A, &$$, $3); }
  | map_items ',' expr ':' expr   { $$ = $1; ast_push(A, &$$, $3); ast_push(A, &$$, $5); }
  ;

/* args := (arg (',' arg)* ','?)? ; arg := expr | IDENT '=' expr */
args
  : %empty            { $$ = (AstList){0}; }
  | arglist opt_comma { $$ = $1; }
  ;
arglist
  : arg               { $$ = (AstList){0}; ast_push(A, &$$, $1); }
  | arglist ',' arg   { $$ = $1; ast_push(A, &$$, $3); }
  ;
arg
  : named_or_expr
  ;
named_or_expr
  : expr
  | IDENT '=' expr {
      $$ = ast_new(A, AST_NAMED, @$);
      $$->str = $1; $$->str_loc = @1; $$->lhs = $3;
    }
  ;

%%

static Ast *binop(struct ParseCtx *pc, BinOp op, Ast *l, Ast *r, SrcLoc loc) {
  Ast *n = ast_new(A, r ? AST_BINOP : AST_UNOP, r ? loc_span(l->loc, r->loc) : loc);
  n->op = op;
  n->lhs = l;
  n->rhs = r;
  /* Point binary-operator errors at the operator's operands as a whole, but
   * remember the operator itself for messages that need it. */
  n->str_loc = loc;
  return n;
}

static Ast *shape_literal(struct ParseCtx *pc, const char *text, SrcLoc loc) {
  Ast *n = ast_new(A, AST_SHAPE, loc);
  const char *p = text;
  while (*p) {
    int64_t v = 0;
    bool overflow = false;
    const char *start = p;
    for (; *p >= '0' && *p <= '9'; p++)
      if (__builtin_mul_overflow(v, 10, &v) || __builtin_add_overflow(v, *p - '0', &v))
        overflow = true;
    SrcLoc dl = {loc.file, loc.begin + (uint32_t)(start - text), loc.begin + (uint32_t)(p - text)};
    if (overflow)
      diag_error(pc->diag, dl, "shape dimension is too large");
    Ast *d = ast_new(A, AST_INT, dl);
    d->ival = overflow ? 0 : v;
    ast_push(A, &n->kids, d);
    if (*p == 'x')
      p++;
  }
  return n;
}

static void push_param(struct ParseCtx *pc, Param p) {
  pc->params = arena_grow(A, pc->params, &pc->cap_params, pc->nparams + 1, sizeof(Param));
  pc->params[pc->nparams++] = p;
}

static BlockDef *new_block(struct ParseCtx *pc, const char *name, SrcLoc loc, bool network) {
  BlockDef *b = arena_alloc(A, sizeof *b);
  b->name = name;
  b->loc = loc;
  b->is_network = network;
  b->nparams = pc->nparams;
  b->params = arena_alloc(A, sizeof(Param) * (size_t)(pc->nparams ? pc->nparams : 1));
  if (pc->nparams)
    memcpy(b->params, pc->params, sizeof(Param) * (size_t)pc->nparams);
  pc->nparams = 0;
  return b;
}

static void add_block(struct ParseCtx *pc, BlockDef *b) {
  Program *p = pc->prog;
  for (int i = 0; i < p->nblocks; i++) {
    if (strcmp(p->blocks[i]->name, b->name) == 0) {
      diag_error(pc->diag, b->loc, "'%s' is defined twice", b->name);
      diag_note(pc->diag, p->blocks[i]->loc, "the first definition is here");
      return;
    }
  }
  if (b->is_network && p->network) {
    diag_error(pc->diag, b->loc, "a file holds one network, and '%s' is a second one", b->name);
    diag_note(pc->diag, p->network->loc, "the first network is '%s', here", p->network->name);
    return;
  }
  if (b->is_network)
    p->network = b;
  p->blocks = arena_grow(A, p->blocks, &p->cap_blocks, p->nblocks + 1, sizeof(BlockDef *));
  p->blocks[p->nblocks++] = b;
}

/* Bison writes aliases with their quotes ("'->'"); show them bare. */
static const char *token_display(yysymbol_kind_t sym) {
  const char *name = yysymbol_name(sym);
  return name[0] == '"' ? name + 1 : name;
}

static int token_display_len(yysymbol_kind_t sym) {
  const char *name = yysymbol_name(sym);
  int n = (int)strlen(name);
  return name[0] == '"' ? n - 2 : n;
}

static int yyreport_syntax_error(const yypcontext_t *ctx, yyscan_t scanner, struct ParseCtx *pc) {
  (void)scanner;
  if (pc->too_deep || diag_stop(pc->diag))
    return 0;
  SrcLoc loc = *yypcontext_location(ctx);
  yysymbol_kind_t tok = yypcontext_token(ctx);
  yysymbol_kind_t expected[6];
  int n = yypcontext_expected_tokens(ctx, expected, 6);
  char exp[256] = "";
  if (n > 0 && n <= 5) {
    size_t len = 0;
    for (int i = 0; i < n; i++) {
      len += (size_t)snprintf(exp + len, sizeof exp - len, "%s%.*s",
                              i == 0 ? "; expected " : i == n - 1 ? " or " : ", ",
                              token_display_len(expected[i]), token_display(expected[i]));
      if (len >= sizeof exp)
        break;
    }
  }
  if (tok == YYSYMBOL_YYEOF) {
    diag_error(pc->diag, loc, "unexpected end of file%s", exp);
    if (pc->nopen > 0)
      diag_note(pc->diag, pc->open[pc->nopen - 1], "unclosed bracket opened here");
  } else {
    const SrcFile *f = &pc->diag->files[loc.file];
    int len = (int)(loc.end - loc.begin);
    if (len > 40)
      len = 40;
    if (tok == YYSYMBOL_IDENT || tok == YYSYMBOL_INT || tok == YYSYMBOL_REAL ||
        tok == YYSYMBOL_STRING || tok == YYSYMBOL_SHAPE || tok == YYSYMBOL_BOOL)
      diag_error(pc->diag, loc, "unexpected %.*s '%.*s'%s", token_display_len(tok),
                 token_display(tok), len, f->text + loc.begin, exp);
    else
      diag_error(pc->diag, loc, "unexpected %.*s%s", token_display_len(tok), token_display(tok), exp);
  }
  return 0;
}

static void netc_yyerror(SrcLoc *loc, yyscan_t scanner, struct ParseCtx *pc, const char *msg) {
  (void)scanner;
  if (pc->too_deep)
    return;
  /* Bison's only other message is stack exhaustion. */
  if (strstr(msg, "exhausted"))
    diag_error(pc->diag, *loc, "expression nested too deeply");
  else
    diag_error(pc->diag, *loc, "%s", msg);
}
