/*
 * sql_lex.c - the SQL lexer (sql_lex.h), following SQLite's lexical rules
 * for quotes ('', "", ``, []) and comments (-- and C-style).
 */
#include "sql_lex.h"

#include "util/err.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

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

/* ---- literals SQLite would round ---------------------------------------- */

/* Whether a NUMBER token is a decimal literal SQLite reads inexactly. */
static bool wide_number(const char *p, size_t n)
{
    size_t i = 0, digits = 0, first = 0, last = 0;
    bool point = false, exp = false;

    for (; i < n; i++) {
        char c = p[i];
        if (c >= '0' && c <= '9') {
            if (exp)
                continue;
            digits++;
            if (c != '0') {
                if (first == 0)
                    first = digits;
                last = digits;
            }
        } else if (c == '.' && !point && !exp) {
            point = true;
        } else if ((c == 'e' || c == 'E') && !exp) {
            exp = true;
            if (i + 1 < n && (p[i + 1] == '+' || p[i + 1] == '-'))
                i++;
        } else {
            return false; /* hex, or not a number SQLite accepts */
        }
    }
    if (first == 0)
        return false; /* zero */
    if (!point && !exp) {
        /* an integer: exact while it fits int64 */
        static const char max[] = "9223372036854775807";
        size_t sig = digits - first + 1;
        const char *d = p + (n - sig);
        return sig > 19 || (sig == 19 && memcmp(d, max, 19) > 0);
    }
    return last - first + 1 > 15;
}

/* Whether a token ends an operand, so a '-' after it is binary. */
static bool ends_operand(const struct sql_token *t)
{
    static const char *const kw[] = {
        "and", "or", "not", "is", "in", "like", "glob", "between", "when",
        "then", "else", "case", "select", "where", "having", "on", "by",
        "limit", "offset", "values", "escape", "match", "regexp", "distinct",
        "all", "return", "returning"};

    switch (t->kind) {
    case SQL_TOK_NUMBER:
    case SQL_TOK_STRING:
    case SQL_TOK_QIDENT:
        return true;
    case SQL_TOK_PUNCT:
        return *t->p == ')';
    case SQL_TOK_WORD:
        for (size_t k = 0; k < sizeof kw / sizeof kw[0]; k++)
            if (strlen(kw[k]) == t->n && strncasecmp(kw[k], t->p, t->n) == 0)
                return false;
        return true;
    default:
        return false;
    }
}

infino_status sql_quote_wide_numbers(struct buf *out, const char *sql)
{
    const char *p = sql, *copied = sql;
    struct sql_token prev2 = {SQL_TOK_END, sql, 0}, prev = prev2;
    infino_status st = INFINO_OK;

    for (;;) {
        struct sql_token t = sql_lex(&p);
        const char *from;
        if (t.kind == SQL_TOK_END || t.kind == SQL_TOK_ERROR)
            break;
        if (t.kind == SQL_TOK_NUMBER && wide_number(t.p, t.n)) {
            bool sign = prev.kind == SQL_TOK_PUNCT &&
                        (*prev.p == '-' || *prev.p == '+') &&
                        !ends_operand(&prev2);
            from = sign ? prev.p : t.p;
            CHECK(buf_append(out, copied, (size_t)(from - copied)));
            CHECK(buf_put_u8(out, '\''));
            if (sign && *prev.p == '-')
                CHECK(buf_put_u8(out, '-'));
            CHECK(buf_append(out, t.p, t.n));
            CHECK(buf_put_u8(out, '\''));
            copied = t.p + t.n;
        }
        prev2 = prev;
        prev = t;
    }
    CHECK(buf_append_str(out, copied));
    CHECK(buf_put_u8(out, 0));
fail:
    return st;
}
