/*
 * fuzz_sql_lex.c - the SQL lexer on arbitrary text: every token must lie
 * inside the input, and unquoting must stay in bounds.
 */
#include "sql/sql_lex.h"
#include "util/alloc.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = mem_alloc(size + 1), out[64];
    const char *p;

    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    p = text;
    for (;;) {
        struct sql_token t = sql_lex(&p);
        if (t.p < text || t.p + t.n > text + strlen(text) + 1 || p < t.p)
            __builtin_trap();
        if (t.kind == SQL_TOK_END || t.kind == SQL_TOK_ERROR)
            break;
        (void)sql_unquote(out, sizeof out, &t);
    }
    mem_free(text);
    return 0;
}
