/*
 * sql_lex.h - a small SQL lexer: just enough to see where quotes, quoted
 * identifiers, comments and parentheses are, so predicates can be checked
 * for shape and search calls can be found in a query's text without being
 * fooled by what is inside a string.
 */
#ifndef INFINO_SQL_LEX_H
#define INFINO_SQL_LEX_H

#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>

enum sql_tok {
    SQL_TOK_END = 0,
    SQL_TOK_WORD,    /* identifier or keyword, unquoted */
    SQL_TOK_QIDENT,  /* "quoted", `quoted` or [bracketed] identifier */
    SQL_TOK_STRING,  /* 'string literal' */
    SQL_TOK_NUMBER,
    SQL_TOK_PUNCT,   /* one character: ( ) , ; + ... */
    SQL_TOK_ERROR,   /* an unterminated quote or comment */
};

struct sql_token {
    enum sql_tok kind;
    const char *p; /* start, including quotes */
    size_t n;      /* length, including quotes */
};

/* Returns the token at *pos (skipping whitespace and comments) and moves
 * *pos past it. */
struct sql_token sql_lex(const char **pos);

/* The unquoted content of a string literal or quoted identifier, with
 * doubled quotes collapsed, into out (cap bytes, NUL-terminated). false
 * when it does not fit. */
bool sql_unquote(char *out, size_t cap, const struct sql_token *t);

/* Copies `sql` to `out` (NUL-terminated), quoting every number literal
 * SQLite would read inexactly: integers outside int64 and decimals of
 * more than 15 significant digits (SQLite reads both as a double and
 * turns a double into text with 15 digits). As text they compare exactly
 * with decimal, uint64 and timestamp columns (their collations compare by
 * value) and still convert to numbers for other columns. A unary sign
 * before such a literal goes inside the quotes. */
infino_status sql_quote_wide_numbers(struct buf *out, const char *sql);

#endif
