/* util/gotemplate_lex.h — private to src/util/gotemplate*.c: the tokens of Go's
 * text/template lexer (its lex.go), which gotemplate_parse.c reads. */
#pragma once
#include <stdbool.h>
#include <stddef.h>

enum tok
{
  T_ERROR,
  T_BOOL,
  T_CHAR, /* printable ASCII: a grab bag for ',' and friends */
  T_CHARCONST,
  T_COMPLEX,
  T_ASSIGN,
  T_DECLARE,
  T_EOF,
  T_FIELD,
  T_IDENT,
  T_LDELIM,
  T_LPAREN,
  T_NUMBER,
  T_PIPE,
  T_RAWSTRING,
  T_RDELIM,
  T_RPAREN,
  T_SPACE,
  T_STRING,
  T_TEXT,
  T_VAR,
  T_KEYWORD, /* keywords follow */
  T_BLOCK,
  T_BREAK,
  T_CONTINUE,
  T_DOT,
  T_DEFINE,
  T_ELSE,
  T_END,
  T_IF,
  T_NIL,
  T_RANGE,
  T_TEMPLATE,
  T_WITH,
};

struct token
{
  enum tok typ;
  size_t pos, len; /* the token's bytes in the text */
  char *msg;       /* T_ERROR: the message */
};

struct lexer
{
  const char *s;
  size_t n, pos, start;
  int paren;
  struct token *toks;
  size_t ntoks, cap;
  bool done;
};

/* Splits l->s[0..n) into l->toks, ending with T_EOF or a T_ERROR (its msg set). */
void gt_lex_all (struct lexer *l);
