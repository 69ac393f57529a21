/*
 * sql_lex.c - the SQL lexer (sql_lex.h), following SQLite's lexical rules
 * for quotes ('', "", ``, []) and comments (-- and C-style).
 */
#include "sql_lex.h"

#include <ctype.h>
#include <string.h>

static bool is_word_char(char c)
{
    return isalnum((unsigned char)c) || c == '_' || c == '$' ||
           (unsigned char)c >= 0x80;
}

struct sql_token sql_lex(const char **pos)
{
    const char *p = *pos;
    struct sql_token t = {SQL_TOK_END, p, 0};

    for (;;) { /* whitespace and comments */
        while (*p && isspace((unsigned char)*p))
            p++;
        if (p[0] == '-' && p[1] == '-') {
            while (*p && *p != '\n')
                p++;
            continue;
        }
        if (p[0] == '/' && p[1] == '*') {
            const char *end = strstr(p + 2, "*/");
            if (end == NULL) {
                t.kind = SQL_TOK_ERROR;
                t.p = p;
                t.n = strlen(p);
                *pos = p + t.n;
                return t;
            }
            p = end + 2;
            continue;
        }
        break;
    }
    t.p = p;
    if (*p == '\0') {
        *pos = p;
        return t;
    }
    if (*p == '\'' || *p == '"' || *p == '`' || *p == '[') {
        char close = *p == '[' ? ']' : *p;
        const char *q = p + 1;
        for (;;) {
            if (*q == '\0') {
                t.kind = SQL_TOK_ERROR;
                t.n = (size_t)(q - p);
                *pos = q;
                return t;
            }
            if (*q == close) {
                if (close != ']' && q[1] == close) {
                    q += 2; /* doubled quote */
                    continue;
                }
                break;
            }
            q++;
        }
        t.kind = *p == '\'' ? SQL_TOK_STRING : SQL_TOK_QIDENT;
        t.n = (size_t)(q + 1 - p);
        *pos = q + 1;
        return t;
    }
    if (isdigit((unsigned char)*p) ||
        (*p == '.' && isdigit((unsigned char)p[1]))) {
        const char *q = p;
        while (isalnum((unsigned char)*q) || *q == '.' ||
               ((*q == '+' || *q == '-') && (q[-1] == 'e' || q[-1] == 'E')))
            q++;
        t.kind = SQL_TOK_NUMBER;
        t.n = (size_t)(q - p);
        *pos = q;
        return t;
    }
    if (is_word_char(*p)) {
        const char *q = p;
        while (is_word_char(*q))
            q++;
        t.kind = SQL_TOK_WORD;
        t.n = (size_t)(q - p);
        *pos = q;
        return t;
    }
    t.kind = SQL_TOK_PUNCT;
    t.n = 1;
    *pos = p + 1;
    return t;
}

bool sql_unquote(char *out, size_t cap, const struct sql_token *t)
{
    size_t o = 0;
    const char *p = t->p, *end = t->p + t->n;
    char close;

    if (t->kind != SQL_TOK_STRING && t->kind != SQL_TOK_QIDENT) {
        if (t->n >= cap)
            return false;
        memcpy(out, t->p, t->n);
        out[t->n] = '\0';
        return true;
    }
    close = *p == '[' ? ']' : *p;
    for (p++, end--; p < end; p++) {
        if (*p == close && close != ']')
            p++; /* the first of a doubled quote */
        if (o + 1 >= cap)
            return false;
        out[o++] = *p;
    }
    out[o] = '\0';
    return true;
}
