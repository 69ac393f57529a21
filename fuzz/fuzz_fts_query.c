/*
 * fuzz_fts_query.c - the tokenizer and query parser on arbitrary bytes.
 * Checks the tokenizer's promises: tokens are non-empty valid UTF-8 (never
 * cut, however long), tokenizing the tokens again yields them unchanged,
 * and ASCII input gives exactly the lowercased [A-Za-z0-9] runs.
 * Seeds: tests/tools/fts_fuzz_seeds.c.
 */
#include "index/fts/fts.h"
#include "util/buf.h"

#include <stdlib.h>
#include <string.h>

struct toks {
    struct buf joined; /* tokens, each followed by ' ' */
    size_t n;
};

static int valid_utf8(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint8_t c = p[i];
        size_t l = c < 0x80 ? 1 : c >= 0xc2 && c < 0xe0 ? 2
                   : c >= 0xe0 && c < 0xf0               ? 3
                   : c >= 0xf0 && c < 0xf5               ? 4
                                                         : 0;
        if (l == 0 || i + l > n)
            return 0;
        for (size_t j = 1; j < l; j++)
            if ((p[i + j] & 0xc0) != 0x80)
                return 0;
        i += l;
    }
    return 1;
}

static infino_status collect(const uint8_t *t, size_t len, void *payload)
{
    struct toks *ts = payload;

    if (len == 0 || !valid_utf8(t, len) ||
        memchr(t, ' ', len) != NULL)
        abort();
    ts->n++;
    if (buf_append(&ts->joined, t, len) != INFINO_OK ||
        buf_put_u8(&ts->joined, ' ') != INFINO_OK)
        return INFINO_ERR_NOMEM;
    return INFINO_OK;
}

static int is_alnum(uint8_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
           (c >= 'A' && c <= 'Z');
}

/* The ASCII rule, written out plainly. */
static void ascii_reference(struct buf *out, const uint8_t *p, size_t n)
{
    size_t i = 0;

    while (i < n) {
        while (i < n && !is_alnum(p[i]))
            i++;
        if (i == n)
            break;
        while (i < n && is_alnum(p[i])) {
            uint8_t c = p[i++];
            (void)buf_put_u8(out, c >= 'A' && c <= 'Z' ? c + 32 : c);
        }
        (void)buf_put_u8(out, ' ');
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct fts_tokenizer *tk;
    struct fts_query *q;
    struct toks a = {{0}, 0}, b = {{0}, 0};
    int ascii = 1;

    if (fts_query_parse(&q, NULL, (const char *)data, size) == INFINO_OK)
        fts_query_free(q);
    if (fts_tokenizer_new(&tk, NULL) != INFINO_OK)
        return 0;
    if (fts_tokenize(tk, data, size, collect, &a) == INFINO_OK &&
        fts_tokenize(tk, a.joined.data, a.joined.len, collect, &b) ==
            INFINO_OK) {
        if (a.n != b.n || a.joined.len != b.joined.len ||
            (a.joined.len &&
             memcmp(a.joined.data, b.joined.data, a.joined.len) != 0))
            abort(); /* not idempotent */
        for (size_t i = 0; i < size; i++)
            ascii &= data[i] < 0x80;
        if (ascii) {
            struct buf ref = {0};
            ascii_reference(&ref, data, size);
            if (ref.len != a.joined.len ||
                (ref.len && memcmp(ref.data, a.joined.data, ref.len) != 0))
                abort();
            buf_free(&ref);
        }
    }
    buf_free(&a.joined);
    buf_free(&b.joined);
    fts_tokenizer_free(tk);

    /* The input as a text searched for phrases: any bytes are counted
     * without a crash, and an occurrence needs every token, so a text
     * with fewer tokens than a phrase holds none. */
    {
        static const char phrases[] = "\"a b\" \"c of the d\" \"e e\"";
        struct fts_analysis an = {.base = FTS_BASE_STANDARD, .stop_lang = 7};
        struct fts_phrase_matcher *m = NULL;
        if (fts_query_parse(&q, &an, phrases, sizeof phrases - 1) ==
            INFINO_OK) {
            if (fts_phrase_matcher_new(&m, &an) == INFINO_OK)
                for (size_t i = 0; i < fts_query_n_phrases(q); i++) {
                    uint32_t pf;
                    if (fts_phrase_count(&pf, m, q, i, data, size) ==
                            INFINO_OK &&
                        pf > size / 2)
                        abort();
                }
            fts_phrase_matcher_free(m);
            fts_query_free(q);
        }
    }

    /* The standard analyzer (UAX #29 words) with stop words and a stemmer:
     * any bytes tokenize without a crash, and every token is non-empty
     * UTF-8 (collect checks nothing more; the C suite checks the words). */
    {
        struct fts_analysis an = {.base = FTS_BASE_STANDARD,
                                  .stemmer = 7, .stop_lang = 7};
        struct toks c = {{0}, 0};
        if (fts_query_parse(&q, &an, (const char *)data, size) == INFINO_OK)
            fts_query_free(q);
        if (fts_tokenizer_new(&tk, &an) == INFINO_OK) {
            (void)fts_tokenize(tk, data, size, collect, &c);
            fts_tokenizer_free(tk);
        }
        buf_free(&c.joined);
    }
    return 0;
}
