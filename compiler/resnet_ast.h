/*
 * resnet_ast.h - the parse tree of the .resnet language, shared by the
 * flex scanner (grammar/resnet.l), the bison parser (grammar/resnet.y) and
 * the front end (front_resnet.c).  docs/language.md describes the language.
 *
 * Every node lives in the arena of the graph being built (ir_alloc), so an
 * error anywhere frees the whole tree with the graph: nothing to free by
 * hand, nothing to leak.  Every node carries the source location of the
 * construct it stands for, which diagnostics print as file:line:col with the
 * source line and a caret.
 */
#ifndef RESNETC_RESNET_AST_H
#define RESNETC_RESNET_AST_H

#include <stdint.h>
#include "ir.h"

/* A source span: 1-based line and column (in bytes) of its first character,
 * and its length on that line (for the ^~~~ underline). */
typedef struct Loc { int line, col, len; } Loc;

/* ---- expressions: numbers only ---------------------------------------- */
typedef enum ExprKind { EX_INT, EX_FLOAT, EX_VAR, EX_BIN, EX_NEG, EX_NOT } ExprKind;
/* binary operators: the characters + - * / %, and these */
enum { BIN_EQ = 256, BIN_NE, BIN_LE, BIN_GE, BIN_AND, BIN_OR };

typedef struct Expr {
  ExprKind kind;
  Loc loc;
  int depth;               /* of the tree below: bounded by RN_MAX_EXPR_DEPTH */
  int op;                  /* EX_BIN */
  int64_t i;               /* EX_INT */
  double f;                /* EX_FLOAT */
  const char *name;        /* EX_VAR */
  struct Expr *a, *b;
} Expr;

/* ---- calls: conv3x3(c, stride=2) -------------------------------------- */
typedef struct Arg {
  Loc loc;
  const char *key;         /* NULL: positional */
  Loc key_loc;
  Expr *e;
  struct Arg *next;
} Arg;

typedef struct Param {
  Loc loc;
  const char *name;
  Expr *def;               /* NULL: required */
  struct Param *next;
} Param;

/* ---- sequences: the items of a block body, stem or head --------------- */
typedef enum StmtKind {
  ST_CALL,                 /* a layer or block: name(args) @name */
  ST_ADD,                  /* add(branch) */
  ST_AS,                   /* as NAME: names the current value */
  ST_LET,                  /* let NAME = expr */
  ST_IF                    /* if expr { seq } else { seq } */
} StmtKind;

/* where the branch of add(...) starts */
typedef enum SrcKind { SRC_SHORTCUT, SRC_IN, SRC_NAME } SrcKind;

typedef struct Stmt {
  StmtKind kind;
  Loc loc;
  struct Stmt *next;
  /* ST_CALL */
  const char *name;        /* also ST_AS / ST_LET: the name bound */
  Arg *args;
  int has_parens;
  const char *at;          /* @name, NULL: the default name */
  Loc at_loc;
  /* ST_ADD */
  SrcKind src;
  const char *src_name;    /* SRC_NAME; SRC_SHORTCUT: 'from NAME' or NULL */
  Loc src_loc;
  struct Stmt *branch;     /* layers after the source (SRC_IN, SRC_NAME) */
  struct Stmt *via;        /* SRC_SHORTCUT: the projection, NULL: default */
  int has_via;
  /* ST_LET, ST_IF */
  Expr *e;
  struct Stmt *then, *els;
} Stmt;

/* ---- definitions ------------------------------------------------------- */
typedef struct Block {
  Loc loc;                 /* of the name */
  const char *name;
  Param *params;
  Stmt *body;
  struct Block *next;
  int mark;                /* cycle detection: 0 new, 1 on stack, 2 done */
  int height;              /* blocks nested in it, itself included (mark 2) */
  int bad_params;          /* a parameter declared twice: calls unchecked */
} Block;

typedef struct StageItem {
  Loc loc;
  Stmt *call;              /* an ST_CALL of a block */
  Expr *repeat;            /* NULL: once */
  Loc repeat_loc;
  struct StageItem *next;
} StageItem;

typedef enum NetKind { NI_STEM, NI_STAGE, NI_HEAD, NI_SHORTCUT, NI_WEIGHTS,
                       NI_BLOCK_NAMES, NI_LET } NetKind;

typedef struct NetItem {
  NetKind kind;
  Loc loc;
  Stmt *seq;               /* NI_STEM, NI_HEAD, NI_LET (one ST_LET) */
  StageItem *stage;        /* NI_STAGE */
  const char *str;         /* NI_SHORTCUT letter, NI_WEIGHTS path, NI_BLOCK_NAMES */
  Loc str_loc;
  struct NetItem *next;
} NetItem;

typedef struct Network {
  Loc loc;
  const char *name;
  Arg *input;              /* input[3, 224, 224] */
  Loc input_loc;
  NetItem *items;
  struct Network *next;
} Network;

typedef struct BrokenName {  /* a block whose definition did not parse */
  const char *name;
  struct BrokenName *next;
} BrokenName;

/* ---- the parser's state ------------------------------------------------ */
#define RN_MAX_ERRORS 20     /* then "too many errors" and stop */
#define RN_MAX_NESTING 64    /* brackets and braces */
#define RN_MAX_TOKEN 4096    /* bytes in one identifier, number or string */
#define RN_MAX_EXPR_DEPTH 200 /* operators nested in one expression */
#define RN_MAX_CALL_DEPTH 32 /* blocks calling blocks */
#define RN_MAX_NAMES 10000   /* lets, values and blocks in one scope */

typedef struct Parser {
  Graph *g;                /* owns every allocation */
  const char *file;        /* for messages */
  const char *src;         /* the source text (for the caret lines) */
  size_t len;
  int nerrors;
  int fatal;               /* stop parsing (nesting, too many errors) */
  int depth;               /* current bracket nesting: ( [ { */
  int braces;              /* current brace nesting: { (error recovery) */
  /* the scanner's position: line and column of the next byte */
  int line, col;
  char last_tok[64];       /* text of the last token, for "near 'x'" */
  /* results */
  Block *blocks, **blocks_tail;
  Network *nets, **nets_tail;
  Stmt *lets, **lets_tail;  /* top-level let */
  BrokenName *broken;
  void *block_index;       /* name -> Block, built by the checker */
} Parser;

/* Reports "file:line:col: error: ..." with the source line and a caret;
 * counts errors and sets P->fatal after RN_MAX_ERRORS. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void rn_error(Parser *P, Loc loc, const char *fmt, ...);
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void rn_note(Parser *P, Loc loc, const char *fmt, ...);

/* the bison entry point (prefix rn) */
int rnparse(Parser *P, void *scanner);
#endif
