/*
 * resnet.y - the grammar of the .resnet language (bison, pure, LALR(1)).
 *
 * The parser only builds the tree (resnet_ast.h) in the graph's arena;
 * names, arguments, recursion and shapes are checked by front_resnet.c.
 *
 *   file      := { block | network | let | ';' }
 *   block     := 'block' NAME [ '(' params ')' ] '{' seq '}'
 *   network   := 'network' NAME ':' 'input' '[' args ']' '{' { netitem } '}'
 *   netitem   := item | 'stem' | 'head' | 'stage' stageitem { ',' stageitem }
 *              | 'shortcut' NAME | 'weights' STRING | 'block_names' STRING
 *   stageitem := call [ xN | x( expr ) ]
 *   seq       := { item }
 *   item      := call | 'add' '(' branch ')' | 'as' NAME | 'let' NAME '=' expr
 *              | 'if' expr '{' seq '}' [ 'else' ( '{' seq '}' | if ) ] | ';'
 *   call      := NAME [ '(' args ')' ] [ '@' ( NAME | STRING ) ]
 *   branch    := 'shortcut' [ 'from' NAME ] [ 'via' seq ] | 'in' seq | NAME seq
 *   args      := [ arg { ',' arg } [','] ],  arg := expr | NAME '=' expr
 *
 * Lists are built backwards (O(1) per item, whatever the length of the
 * file) and reversed once where they end.
 *
 * Error recovery: a syntax error inside a block or a network skips to the
 * brace that closes it (counting braces) and parsing goes on with the next
 * definition, so one run reports the errors of several definitions.
 */
%define api.pure full
%define api.prefix {rn}
%define parse.error custom
%define parse.lac full
%locations
%parse-param {Parser *P} {void *scanner}
%lex-param {void *scanner}

%code requires {
#include "resnet_ast.h"
}

%code {
#include <string.h>

int rnlex(RNSTYPE *lval, RNLTYPE *lloc, void *scanner);
static void rnerror(RNLTYPE *l, Parser *P, void *scanner, const char *msg);
static void skip_to_depth(Parser *P, void *scanner, int depth);

static Loc L(RNLTYPE l) {
  Loc r = {l.first_line, l.first_column, 1};
  if (l.last_line == l.first_line && l.last_column > l.first_column)
    r.len = l.last_column - l.first_column;
  return r;
}

static void *mk(Parser *P, size_t n) { return ir_alloc(P->g, n); }

static Expr *ex(Parser *P, ExprKind k, RNLTYPE l, Expr *a, Expr *b, int op) {
  Expr *e = mk(P, sizeof *e);
  e->kind = k;
  e->loc = L(l);
  e->a = a;
  e->b = b;
  e->op = op;
  int da = a ? a->depth : 0, db = b ? b->depth : 0;
  e->depth = 1 + (da > db ? da : db);
  if (e->depth == RN_MAX_EXPR_DEPTH + 1)
    rn_error(P, e->loc, "expression nested more than %d deep", RN_MAX_EXPR_DEPTH);
  return e;
}

static Expr *bin(Parser *P, RNLTYPE l, int op, Expr *a, Expr *b) {
  Expr *e = ex(P, EX_BIN, l, a, b, op);
  return e;
}

static Stmt *st(Parser *P, StmtKind k, RNLTYPE l) {
  Stmt *s = mk(P, sizeof *s);
  s->kind = k;
  s->loc = L(l);
  return s;
}

static Stmt *rev_stmt(Stmt *s) {
  Stmt *r = NULL;
  while (s) { Stmt *n = s->next; s->next = r; r = s; s = n; }
  return r;
}
static Arg *rev_arg(Arg *s) {
  Arg *r = NULL;
  while (s) { Arg *n = s->next; s->next = r; r = s; s = n; }
  return r;
}
static Param *rev_param(Param *s) {
  Param *r = NULL;
  while (s) { Param *n = s->next; s->next = r; r = s; s = n; }
  return r;
}
static StageItem *rev_stage(StageItem *s) {
  StageItem *r = NULL;
  while (s) { StageItem *n = s->next; s->next = r; r = s; s = n; }
  return r;
}
static NetItem *rev_net(NetItem *s) {
  NetItem *r = NULL;
  while (s) { NetItem *n = s->next; s->next = r; r = s; s = n; }
  return r;
}

static NetItem *ni(Parser *P, NetKind k, RNLTYPE l) {
  NetItem *n = mk(P, sizeof *n);
  n->kind = k;
  n->loc = L(l);
  return n;
}

static void broken(Parser *P, const char *name) {
  BrokenName *b = mk(P, sizeof *b);
  b->name = name;
  b->next = P->broken;
  P->broken = b;
}
}

%union {
  int64_t i;
  double f;
  const char *s;
  Expr *e;
  Arg *arg;
  Param *param;
  Stmt *st;
  StageItem *si;
  NetItem *ni;
}

%token <s> IDENT "name"
%token <s> STRING "string"
%token <i> INT "integer"
%token <f> FLOAT "number"
%token <i> REPEAT "repeat count"
%token REPEATX "'x('"
%token BLOCK "'block'" NETWORK "'network'" INPUT "'input'" STEM "'stem'"
%token STAGE "'stage'" HEAD "'head'" SHORTCUT "'shortcut'" WEIGHTS "'weights'"
%token BLOCK_NAMES "'block_names'" LET "'let'" IF "'if'" ELSE "'else'"
%token AS "'as'" IN "'in'" FROM "'from'" VIA "'via'" ADD "'add'"
%token EQ "'=='" NE "'!='" LE "'<='" GE "'>='" AND "'and'" OR "'or'" NOT "'not'"

%left OR
%left AND
%precedence NOT '!'
%nonassoc EQ NE '<' '>' LE GE
%left '+' '-'
%left '*' '/' '%'
%precedence UMINUS

%type <e> expr
%type <arg> args args_opt arg
%type <param> params params_opt param
%type <st> seq item call if_stmt else_opt branch_seq
%type <si> stage_items stage_item
%type <ni> net_items net_item
%type <s> at_name

%%

file
  : %empty
  | file top
  ;

top
  : block_def
  | network_def
  | LET IDENT '=' expr {
      Stmt *s = st(P, ST_LET, @1);
      s->name = $2;
      s->e = $4;
      *P->lets_tail = s;
      P->lets_tail = &s->next;
    }
  | ';'
  | BLOCK IDENT error '}'   { broken(P, $2); skip_to_depth(P, scanner, 0); yyerrok; }
  | BLOCK error '}'         { skip_to_depth(P, scanner, 0); yyerrok; }
  | NETWORK error '}'       { skip_to_depth(P, scanner, 0); yyerrok; }
  | error '}'               { skip_to_depth(P, scanner, 0); yyerrok; }
  ;

block_def
  : BLOCK IDENT '(' params_opt ')' '{' seq '}' {
      Block *b = mk(P, sizeof *b);
      b->loc = L(@2);
      b->name = $2;
      b->params = rev_param($4);
      b->body = rev_stmt($7);
      *P->blocks_tail = b;
      P->blocks_tail = &b->next;
    }
  | BLOCK IDENT '{' seq '}' {
      Block *b = mk(P, sizeof *b);
      b->loc = L(@2);
      b->name = $2;
      b->body = rev_stmt($4);
      *P->blocks_tail = b;
      P->blocks_tail = &b->next;
    }
  ;

params_opt
  : %empty          { $$ = NULL; }
  | params          { $$ = $1; }
  | params ','      { $$ = $1; }
  ;

params
  : param                 { $$ = $1; }
  | params ',' param      { $3->next = $1; $$ = $3; }
  ;

param
  : IDENT {
      $$ = mk(P, sizeof *$$);
      $$->loc = L(@1);
      $$->name = $1;
    }
  | IDENT '=' expr {
      $$ = mk(P, sizeof *$$);
      $$->loc = L(@1);
      $$->name = $1;
      $$->def = $3;
    }
  ;

network_def
  : NETWORK IDENT ':' INPUT '[' args_opt ']' '{' net_items '}' {
      Network *n = mk(P, sizeof *n);
      n->loc = L(@2);
      n->name = $2;
      n->input = rev_arg($6);
      n->input_loc = L(@4);
      n->items = rev_net($9);
      *P->nets_tail = n;
      P->nets_tail = &n->next;
    }
  ;

net_items
  : %empty                { $$ = NULL; }
  | net_items net_item    { if ($2) { $2->next = $1; $$ = $2; } else $$ = $1; }
  ;

net_item
  : item {
      if ($1) {
        $$ = ni(P, NI_STEM, @1);
        $$->seq = $1;
      } else $$ = NULL;
    }
  | STEM                  { $$ = NULL; }
  | HEAD                  { $$ = NULL; }
  | STAGE stage_items     { $$ = ni(P, NI_STAGE, @1); $$->stage = rev_stage($2); }
  | SHORTCUT IDENT        { $$ = ni(P, NI_SHORTCUT, @1); $$->str = $2; $$->str_loc = L(@2); }
  | WEIGHTS STRING        { $$ = ni(P, NI_WEIGHTS, @1); $$->str = $2; $$->str_loc = L(@2); }
  | BLOCK_NAMES STRING    { $$ = ni(P, NI_BLOCK_NAMES, @1); $$->str = $2; $$->str_loc = L(@2); }
  ;

stage_items
  : stage_item                      { $$ = $1; }
  | stage_items ',' stage_item      { $3->next = $1; $$ = $3; }
  ;

stage_item
  : call {
      $$ = mk(P, sizeof *$$);
      $$->loc = L(@1);
      $$->call = $1;
    }
  | call REPEAT {
      $$ = mk(P, sizeof *$$);
      $$->loc = L(@1);
      $$->call = $1;
      $$->repeat = ex(P, EX_INT, @2, NULL, NULL, 0);
      $$->repeat->i = $2;
      $$->repeat_loc = L(@2);
    }
  | call REPEATX expr ')' {
      $$ = mk(P, sizeof *$$);
      $$->loc = L(@1);
      $$->call = $1;
      $$->repeat = $3;
      $$->repeat_loc = L(@3);
    }
  ;

seq
  : %empty          { $$ = NULL; }
  | seq item        { if ($2) { $2->next = $1; $$ = $2; } else $$ = $1; }
  ;

item
  : call            { $$ = $1; }
  | ADD '(' branch_seq ')' { $$ = $3; $$->loc = L(@1); }
  | AS IDENT        { $$ = st(P, ST_AS, @2); $$->name = $2; }
  | LET IDENT '=' expr { $$ = st(P, ST_LET, @2); $$->name = $2; $$->e = $4; }
  | if_stmt         { $$ = $1; }
  | ';'             { $$ = NULL; }
  ;

if_stmt
  : IF expr '{' seq '}' else_opt {
      $$ = st(P, ST_IF, @1);
      $$->e = $2;
      $$->then = rev_stmt($4);
      $$->els = $6;
    }
  ;

else_opt
  : %empty                  { $$ = NULL; }
  | ELSE '{' seq '}'        { $$ = rev_stmt($3); }
  | ELSE if_stmt            { $$ = $2; }
  ;

branch_seq
  : SHORTCUT {
      $$ = st(P, ST_ADD, @1);
      $$->src = SRC_SHORTCUT;
    }
  | SHORTCUT FROM IDENT {
      $$ = st(P, ST_ADD, @1);
      $$->src = SRC_SHORTCUT;
      $$->src_name = $3;
      $$->src_loc = L(@3);
    }
  | SHORTCUT VIA seq {
      $$ = st(P, ST_ADD, @1);
      $$->src = SRC_SHORTCUT;
      $$->via = rev_stmt($3);
      $$->has_via = 1;
    }
  | SHORTCUT FROM IDENT VIA seq {
      $$ = st(P, ST_ADD, @1);
      $$->src = SRC_SHORTCUT;
      $$->src_name = $3;
      $$->src_loc = L(@3);
      $$->via = rev_stmt($5);
      $$->has_via = 1;
    }
  | IN seq {
      $$ = st(P, ST_ADD, @1);
      $$->src = SRC_IN;
      $$->src_loc = L(@1);
      $$->branch = rev_stmt($2);
    }
  | IDENT seq {
      $$ = st(P, ST_ADD, @1);
      $$->src = SRC_NAME;
      $$->src_name = $1;
      $$->src_loc = L(@1);
      $$->branch = rev_stmt($2);
    }
  ;

call
  : IDENT at_name {
      $$ = st(P, ST_CALL, @1);
      $$->name = $1;
      $$->at = $2;
      $$->at_loc = L(@2);
    }
  | IDENT '(' args_opt ')' at_name {
      $$ = st(P, ST_CALL, @1);
      $$->name = $1;
      $$->args = rev_arg($3);
      $$->has_parens = 1;
      $$->at = $5;
      $$->at_loc = L(@5);
    }
  ;

at_name
  : %empty          { $$ = NULL; }
  | '@' IDENT       { $$ = $2; }
  | '@' STRING      { $$ = $2; }
  ;

args_opt
  : %empty          { $$ = NULL; }
  | args            { $$ = $1; }
  | args ','        { $$ = $1; }
  ;

args
  : arg             { $$ = $1; }
  | args ',' arg    { $3->next = $1; $$ = $3; }
  ;

arg
  : expr {
      $$ = mk(P, sizeof *$$);
      $$->loc = $1->loc;
      $$->e = $1;
    }
  | IDENT '=' expr {
      $$ = mk(P, sizeof *$$);
      $$->loc = L(@1);
      $$->key = $1;
      $$->key_loc = L(@1);
      $$->e = $3;
    }
  ;

expr
  : INT             { $$ = ex(P, EX_INT, @1, NULL, NULL, 0); $$->i = $1; }
  | FLOAT           { $$ = ex(P, EX_FLOAT, @1, NULL, NULL, 0); $$->f = $1; }
  | IDENT           { $$ = ex(P, EX_VAR, @1, NULL, NULL, 0); $$->name = $1; }
  | '(' expr ')'    { $$ = $2; }
  | expr '+' expr   { $$ = bin(P, @2, '+', $1, $3); }
  | expr '-' expr   { $$ = bin(P, @2, '-', $1, $3); }
  | expr '*' expr   { $$ = bin(P, @2, '*', $1, $3); }
  | expr '/' expr   { $$ = bin(P, @2, '/', $1, $3); }
  | expr '%' expr   { $$ = bin(P, @2, '%', $1, $3); }
  | expr '<' expr   { $$ = bin(P, @2, '<', $1, $3); }
  | expr '>' expr   { $$ = bin(P, @2, '>', $1, $3); }
  | expr LE expr    { $$ = bin(P, @2, BIN_LE, $1, $3); }
  | expr GE expr    { $$ = bin(P, @2, BIN_GE, $1, $3); }
  | expr EQ expr    { $$ = bin(P, @2, BIN_EQ, $1, $3); }
  | expr NE expr    { $$ = bin(P, @2, BIN_NE, $1, $3); }
  | expr AND expr   { $$ = bin(P, @2, BIN_AND, $1, $3); }
  | expr OR expr    { $$ = bin(P, @2, BIN_OR, $1, $3); }
  | '-' expr %prec UMINUS { $$ = ex(P, EX_NEG, @1, $2, NULL, 0); }
  | '+' expr %prec UMINUS { $$ = $2; }
  | NOT expr        { $$ = ex(P, EX_NOT, @1, $2, NULL, 0); }
  | '!' expr        { $$ = ex(P, EX_NOT, @1, $2, NULL, 0); }
  ;

%%

/* Reads and drops tokens until the brace nesting is back at depth (the
 * brace that closes the definition where the error happened), or the end.
 * Parentheses are not counted: an unclosed one is a common error. */
static void skip_to_depth(Parser *P, void *scanner, int depth) {
  RNSTYPE v;
  RNLTYPE l;
  while (P->braces > depth && !P->fatal)
    if (rnlex(&v, &l, scanner) == 0) break;
  P->depth = P->braces;
}

static const char *tok_name(yysymbol_kind_t k, char *buf, size_t n) {
  const char *s = yysymbol_name(k);
  if (k == YYSYMBOL_YYEOF) return "end of file";
  if (s[0] == '"') {                     /* "'block'" -> 'block' */
    size_t len = strlen(s);
    snprintf(buf, n, "%.*s", (int)(len - 2), s + 1);
    return buf;
  }
  return s;
}

static int is_operator(yysymbol_kind_t k) {
  static const char *const ops[] = {"'+'", "'-'", "'*'", "'/'", "'%'", "'<'", "'>'", "'=='",
                                    "'!='", "'<='", "'>='", "'and'", "'or'"};
  const char *s = yysymbol_name(k);
  for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
    if (strcmp(s, ops[i]) == 0) return 1;
  return 0;
}

/* "unexpected name 'bn', expected ',' or ')' or an operator": the
 * alternatives, with the operators that could continue an expression
 * folded into one word, and nothing when they are too many to help. */
static int yyreport_syntax_error(const yypcontext_t *ctx, Parser *P, void *scanner) {
  (void)scanner;
  if (P->fatal) return 0;
  yysymbol_kind_t expected[40];
  int n = yypcontext_expected_tokens(ctx, expected, 40);
  yysymbol_kind_t la = yypcontext_token(ctx);
  char msg[512], b[64];
  size_t k = 0;
  if (la == YYSYMBOL_YYEOF)
    k += (size_t)snprintf(msg + k, sizeof msg - k, "unexpected end of file");
  else if (la == YYSYMBOL_IDENT || la == YYSYMBOL_INT || la == YYSYMBOL_FLOAT ||
           la == YYSYMBOL_STRING || la == YYSYMBOL_REPEAT)
    k += (size_t)snprintf(msg + k, sizeof msg - k, "unexpected %s '%s'",
                          tok_name(la, b, sizeof b), P->last_tok);
  else
    k += (size_t)snprintf(msg + k, sizeof msg - k, "unexpected %s", tok_name(la, b, sizeof b));
  /* where a number may come, say "an expression" for all its starts */
  int expr = 0;
  for (int i = 0; i < n; i++) expr |= expected[i] == YYSYMBOL_INT;
  yysymbol_kind_t keep[40];
  int nk = 0, ops = 0;
  for (int i = 0; i < n; i++) {
    yysymbol_kind_t e = expected[i];
    const char *nm = yysymbol_name(e);
    int starts_expr = e == YYSYMBOL_INT || e == YYSYMBOL_FLOAT || e == YYSYMBOL_IDENT ||
                      e == YYSYMBOL_NOT || strcmp(nm, "'('") == 0 || strcmp(nm, "'!'") == 0 ||
                      strcmp(nm, "'-'") == 0 || strcmp(nm, "'+'") == 0;
    if (expr && starts_expr) continue;
    if (is_operator(e)) ops = 1;
    else keep[nk++] = e;
  }
  if (expr) {
    /* "an expression" first */
    for (int i = nk; i > 0; i--) keep[i] = keep[i - 1];
    keep[0] = YYSYMBOL_YYUNDEF;
    nk++;
  }
  if (n > 0 && nk <= 4) {
    k += (size_t)snprintf(msg + k, sizeof msg - k, ", expected ");
    for (int i = 0; i < nk && k < sizeof msg; i++)
      k += (size_t)snprintf(msg + k, sizeof msg - k, "%s%s", i == 0 ? "" : (i == nk - 1 && !ops) ? " or " : ", ",
                            keep[i] == YYSYMBOL_YYUNDEF ? "an expression" : tok_name(keep[i], b, sizeof b));
    if (ops && k < sizeof msg) k += (size_t)snprintf(msg + k, sizeof msg - k, "%san operator", nk ? " or " : "");
  }
  /* a keyword where a name may stand (block stage(c) {...}): say why */
  const char *ls = yysymbol_name(la);
  int keyword = ls[0] == '\'' && ls[1] >= 'a' && ls[1] <= 'z';   /* 'stage', 'in', 'and' */
  int want_name = 0;
  for (int i = 0; i < n; i++) want_name |= expected[i] == YYSYMBOL_IDENT;
  if (keyword && want_name && k < sizeof msg)
    snprintf(msg + k, sizeof msg - k, " (%s is a keyword of the language: it cannot be a name)",
             tok_name(la, b, sizeof b));
  rn_error(P, L(*yypcontext_location(ctx)), "%s", msg);
  return 0;
}

static void rnerror(RNLTYPE *l, Parser *P, void *scanner, const char *msg) {
  (void)scanner;
  if (P->fatal) return;
  if (strcmp(msg, "memory exhausted") == 0) {
    rn_error(P, L(*l), "the file is nested too deeply for the parser");
    P->fatal = 1;
    return;
  }
  rn_error(P, L(*l), "%s", msg);
}
