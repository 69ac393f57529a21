/*
 * fts_tokenize_test.c - the tokenizer: ASCII against a plain reference
 * splitter, Unicode normalization cases, invalid UTF-8, truncation, and
 * idempotence on random Unicode text.
 */
#include "harness.h"

#include "index/fts/fts.h"
#include "util/alloc.h"

#include <ctype.h>

#define MAX_TOKS 4096

struct toks {
    size_t n;
    char *t[MAX_TOKS];
    size_t len[MAX_TOKS];
};

static infino_status collect(const uint8_t *tok, size_t len, void *payload)
{
    struct toks *ts = payload;

    assert_true(len > 0);
    assert_true(ts->n < MAX_TOKS);
    ts->t[ts->n] = mem_strndup((const char *)tok, len);
    ts->len[ts->n] = len;
    ts->n++;
    return INFINO_OK;
}

static void toks_free(struct toks *ts)
{
    for (size_t i = 0; i < ts->n; i++)
        mem_free(ts->t[i]);
    ts->n = 0;
}

static void tokenize(struct toks *ts, const char *s, size_t n)
{
    struct fts_tokenizer *tk;

    ts->n = 0;
    assert_ok(fts_tokenizer_new(&tk, NULL));
    assert_ok(fts_tokenize(tk, s, n, collect, ts));
    fts_tokenizer_free(tk);
}

/* Asserts that `text` yields exactly the NULL-terminated list. */
static void expect(const char *text, const char *const *want)
{
    struct toks ts;
    size_t n = 0;

    tokenize(&ts, text, strlen(text));
    while (want[n] != NULL)
        n++;
    if (ts.n != n)
        fail_msg("\"%s\": %zu tokens, want %zu", text, ts.n, n);
    for (size_t i = 0; i < n; i++)
        if (strcmp(ts.t[i], want[i]) != 0)
            fail_msg("\"%s\": token %zu is \"%s\", want \"%s\"", text, i,
                     ts.t[i], want[i]);
    toks_free(&ts);
}

#define EXPECT(text, ...)                                                      \
    do {                                                                       \
        const char *const want_[] = {__VA_ARGS__, NULL};                       \
        expect(text, want_);                                                   \
    } while (0)
#define EXPECT_NONE(text)                                                      \
    do {                                                                       \
        const char *const want_[] = {NULL};                                    \
        expect(text, want_);                                                   \
    } while (0)

static void test_fts_tokenize__ascii_basics(void **state)
{
    (void)state;
    EXPECT("Hello, World! foo_bar 123abc", "hello", "world", "foo", "bar",
           "123abc");
    EXPECT("  a  ", "a");
    EXPECT("e-mail x@y.com", "e", "mail", "x", "y", "com");
    EXPECT_NONE("");
    EXPECT_NONE(" \t\n!?-");
    EXPECT("MiXeD CaSe 42", "mixed", "case", "42");
}

/* Plain reference: ASCII-lowercased [A-Za-z0-9] runs, whole. */
static void test_fts_tokenize__ascii_matches_reference(void **state)
{
    char text[600];
    (void)state;

    test_seed();
    for (int iter = 0; iter < 3000; iter++) {
        size_t n = test_rand() % sizeof text;
        struct toks ts;
        size_t k = 0, i = 0;

        for (size_t j = 0; j < n; j++) {
            /* mostly letters, so long runs (past 255 bytes) happen */
            uint64_t r = test_rand();
            text[j] = (char)(r % 8 == 0 ? r % 128 : 'a' + r % 26);
            if (r % 97 == 0)
                text[j] = 'Z';
        }
        tokenize(&ts, text, n);
        while (i < n) {
            char ref[sizeof text];
            size_t m = 0;
            while (i < n && !isalnum((unsigned char)text[i]))
                i++;
            if (i == n)
                break;
            while (i < n && isalnum((unsigned char)text[i])) {
                ref[m++] = (char)tolower((unsigned char)text[i]);
                i++;
            }
            assert_true(k < ts.n);
            assert_int_equal(ts.len[k], m);
            assert_memory_equal(ts.t[k], ref, m);
            k++;
        }
        assert_int_equal(k, ts.n);
        toks_free(&ts);
    }
}

static void test_fts_tokenize__unicode_normalization(void **state)
{
    (void)state;
    /* composed, upper case, decomposed: all one token */
    EXPECT("Caf\xc3\xa9 CAF\xc3\x89 caf\xc3\xa9 cafe\xcc\x81", "caf\xc3\xa9",
           "caf\xc3\xa9", "caf\xc3\xa9", "caf\xc3\xa9");
    EXPECT("Stra\xc3\x9f" "e", "strasse");             /* ß folds to ss */
    EXPECT("\xef\xac\x81le", "file");                   /* fi ligature */
    /* fullwidth letters and digits */
    EXPECT("\xef\xbc\xa1\xef\xbc\xa2\xef\xbc\x91\xef\xbc\x92", "ab12");
    EXPECT("\xe2\x85\xab", "xii");                      /* Roman numeral XII */
    EXPECT("\xe2\x91\xa0 x", "1", "x");                 /* circled one */
    EXPECT("\xc2\xbd", "1", "2");                       /* ½ -> 1⁄2 */
    EXPECT("co\xc2\xad" "op", "coop"); /* soft hyphen ignored */
    EXPECT("\xce\xa3\xce\x8a\xce\xa3\xce\xa5\xce\xa6\xce\x9f\xce\xa3",
           "\xcf\x83\xce\xaf\xcf\x83\xcf\x85\xcf\x86\xce\xbf\xcf\x83");
    /* ΣΊΣΥΦΟΣ -> σίσυφοσ (case folding has no final sigma) */
}

static void test_fts_tokenize__scripts_and_digits(void **state)
{
    (void)state;
    /* CJK runs are single tokens; ideographic comma separates */
    EXPECT("\xe6\x9d\xb1\xe4\xba\xac\xe3\x80\x81\xe5\xa4\xa7\xe9\x98\xaa",
           "\xe6\x9d\xb1\xe4\xba\xac", "\xe5\xa4\xa7\xe9\x98\xaa");
    /* Latin + Cyrillic letters without a separator: one token */
    EXPECT("abc\xd0\x90\xd0\x91\xd0\x92", "abc\xd0\xb0\xd0\xb1\xd0\xb2");
    /* Arabic-Indic digits are digits (kept as they are) */
    EXPECT("x \xd9\xa3\xd9\xa4 y", "x", "\xd9\xa3\xd9\xa4", "y");
    /* Devanagari with vowel signs and virama stays one word */
    EXPECT("\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6"
           "\xe0\xa5\x80 \xe0\xa4\xad\xe0\xa4\xbe\xe0\xa4\xb7\xe0\xa4\xbe",
           "\xe0\xa4\xb9\xe0\xa4\xbf\xe0\xa4\xa8\xe0\xa5\x8d\xe0\xa4\xa6"
           "\xe0\xa5\x80",
           "\xe0\xa4\xad\xe0\xa4\xbe\xe0\xa4\xb7\xe0\xa4\xbe");
    /* a combining mark cannot start a token */
    EXPECT(" \xcc\x81x", "x");
    /* non-ASCII punctuation and symbols separate */
    EXPECT("a\xe2\x80\x94" "b\xe2\x82\xac" "c\xc2\xa0" "d", "a", "b", "c", "d");
}

static void test_fts_tokenize__invalid_utf8(void **state)
{
    (void)state;
    EXPECT("ab\xff" "cd", "ab", "cd");
    EXPECT_NONE("\xc3");
    EXPECT("caf\xc3", "caf");
    EXPECT("a\xc0\xaf" "b", "a", "b");         /* overlong '/' */
    EXPECT("a\xed\xa0\x80" "b", "a", "b");     /* surrogate */
    EXPECT("a\xf4\x90\x80\x80" "b", "a", "b"); /* above U+10FFFF */
    EXPECT("\xe9t\xe9", "t");                  /* Latin-1, not UTF-8 */
    EXPECT("x\xc3\xa9\x80y", "x\xc3\xa9", "y"); /* stray continuation */
}

/* Tokens are never cut (they were at 255 bytes): long runs come out
 * whole, ASCII and Unicode alike, across the switch to the heap buffer. */
static void test_fts_tokenize__long_tokens_whole(void **state)
{
    static char text[300000];
    char want[1000];
    struct toks ts;
    (void)state;

    memset(text, 'A', 300);
    tokenize(&ts, text, 300);
    assert_int_equal(ts.n, 1);
    assert_int_equal(ts.len[0], 300);
    memset(want, 'a', 300);
    assert_memory_equal(ts.t[0], want, 300);
    toks_free(&ts);

    /* 'a' * 255 + 'zzz' and 'a' * 255 + 'b' * 45 stay different */
    memset(text, 'a', 255);
    memcpy(text + 255, "zzz ", 4);
    memset(text + 259, 'a', 255);
    memset(text + 514, 'B', 45);
    tokenize(&ts, text, 559);
    assert_int_equal(ts.n, 2);
    assert_int_equal(ts.len[0], 258);
    assert_int_equal(ts.len[1], 300);
    assert_memory_equal(ts.t[0] + 255, "zzz", 3);
    assert_int_equal(ts.t[1][299], 'b');
    toks_free(&ts);

    /* 200 x "\u00c9" (2 bytes) case-folds to 200 x "\u00e9": 400 bytes,
     * then " ok"; an odd start puts a code point across byte 256 */
    text[0] = 'x';
    for (int i = 0; i < 200; i++)
        memcpy(text + 1 + 2 * i, "\xc3\x89", 2);
    memcpy(text + 401, " ok", 3);
    tokenize(&ts, text, 404);
    assert_int_equal(ts.n, 2);
    assert_int_equal(ts.len[0], 401);
    assert_int_equal(ts.t[0][0], 'x');
    for (int i = 0; i < 200; i++)
        assert_memory_equal(ts.t[0] + 1 + 2 * i, "\xc3\xa9", 2);
    assert_string_equal(ts.t[1], "ok");
    toks_free(&ts);

    /* 300 3-byte ideographs; then 300 x U+1D400 (4 bytes), which NFKC
     * maps to 'A' and case folding to 'a' */
    for (int i = 0; i < 300; i++)
        memcpy(text + 3 * i, "\xe6\x97\xa5", 3);
    tokenize(&ts, text, 900);
    assert_int_equal(ts.n, 1);
    assert_int_equal(ts.len[0], 900);
    assert_memory_equal(ts.t[0] + 897, "\xe6\x97\xa5", 3);
    toks_free(&ts);
    for (int i = 0; i < 300; i++)
        memcpy(text + 4 * i, "\xf0\x9d\x90\x80", 4);
    tokenize(&ts, text, 1200);
    assert_int_equal(ts.n, 1);
    assert_int_equal(ts.len[0], 300);
    memset(want, 'a', 300);
    assert_memory_equal(ts.t[0], want, 300);
    toks_free(&ts);

    /* a very long run, then a short token reusing the small buffer */
    memset(text, 'q', sizeof text - 3);
    memcpy(text + sizeof text - 3, " z", 2);
    tokenize(&ts, text, sizeof text - 1);
    assert_int_equal(ts.n, 2);
    assert_int_equal(ts.len[0], sizeof text - 3);
    assert_int_equal(ts.t[0][sizeof text - 4], 'q');
    assert_string_equal(ts.t[1], "z");
    toks_free(&ts);
}

/* Random Unicode text: every token is valid UTF-8, and tokenizing the
 * tokens again (joined by spaces) gives the same tokens. */
static void test_fts_tokenize__idempotent_on_random_unicode(void **state)
{
    static const char *const pieces[] = {
        "a", "Z", "9", " ", ",", "-", "\xc3\xa9", "e\xcc\x81", "\xc3\x9f",
        "\xe6\x97\xa5", "\xe3\x80\x81", "\xd0\x96", "\xe0\xa4\xbf",
        "\xe0\xa4\xb9", "\xcc\x81", "\xef\xac\x81", "\xe2\x85\xab",
        "\xc2\xad", "\xf0\x9f\x98\x80", "\xff", "\xc3", "\xed\xa0\x80",
        "\xd9\xa3", "\xe2\x80\x8d", "\xc7\x85", "\xe1\xba\x9e", "I",
        "\xc4\xb0", "\xef\xbc\xa1",
    };
    char text[2000], again[6000];
    (void)state;

    test_seed();
    for (int iter = 0; iter < 2000; iter++) {
        size_t n = 0, m = 0;
        struct toks a, b;
        int parts = (int)(test_rand() % 60);

        for (int i = 0; i < parts; i++) {
            const char *p =
                pieces[test_rand() % (sizeof pieces / sizeof *pieces)];
            size_t l = strlen(p);
            memcpy(text + n, p, l);
            n += l;
        }
        tokenize(&a, text, n);
        for (size_t i = 0; i < a.n; i++) {
            for (size_t j = 0; j < a.len[i];) {
                size_t l = 0;
                unsigned char c = (unsigned char)a.t[i][j];
                l = c < 0x80 ? 1 : c < 0xe0 ? 2 : c < 0xf0 ? 3 : 4;
                assert_true(c < 0x80 || c >= 0xc2);
                j += l;
                assert_true(j <= a.len[i]);
            }
            memcpy(again + m, a.t[i], a.len[i]);
            m += a.len[i];
            again[m++] = ' ';
        }
        tokenize(&b, again, m);
        assert_int_equal(a.n, b.n);
        for (size_t i = 0; i < a.n; i++)
            assert_string_equal(a.t[i], b.t[i]);
        toks_free(&a);
        toks_free(&b);
    }
}

static infino_status stop_at_second(const uint8_t *tok, size_t len,
                                    void *payload)
{
    int *n = payload;
    (void)tok;
    (void)len;
    return ++*n == 2 ? err_set(INFINO_ERR_IO, "stop") : INFINO_OK;
}

static void test_fts_tokenize__callback_error_stops(void **state)
{
    struct fts_tokenizer *tk;
    int n = 0;
    (void)state;

    assert_ok(fts_tokenizer_new(&tk, NULL));
    assert_int_equal(fts_tokenize(tk, "a b c d", 7, stop_at_second, &n),
                     INFINO_ERR_IO);
    assert_int_equal(n, 2);
    n = 0;
    assert_int_equal(fts_tokenize(tk, "\xc3\xa9 \xc3\xa9 x", 10,
                                  stop_at_second, &n),
                     INFINO_ERR_IO);
    assert_int_equal(n, 2);
    fts_tokenizer_free(tk);
}

static void test_fts_tokenize__allocation_failure(void **state)
{
    struct fts_tokenizer *tk;
    struct toks ts = {0};
    (void)state;

    mem_fail_after(1);
    assert_int_equal(fts_tokenizer_new(&tk, NULL), INFINO_ERR_NOMEM);
    mem_fail_reset();
    assert_ok(fts_tokenizer_new(&tk, NULL));
    /* the first non-ASCII text allocates the UTF-32 scratch */
    mem_fail_after(1);
    assert_int_equal(fts_tokenize(tk, "\xc3\xa9t\xc3\xa9", 5, collect, &ts),
                     INFINO_ERR_NOMEM);
    mem_fail_reset();
    assert_ok(fts_tokenize(tk, "\xc3\xa9t\xc3\xa9", 5, collect, &ts));
    assert_int_equal(ts.n, 1);
    toks_free(&ts);
    /* the first token longer than the fixed buffer allocates */
    {
        char text[1000];
        memset(text, 'w', sizeof text);
        mem_fail_after(1);
        assert_int_equal(fts_tokenize(tk, text, sizeof text, collect, &ts),
                         INFINO_ERR_NOMEM);
        mem_fail_reset();
        assert_ok(fts_tokenize(tk, text, sizeof text, collect, &ts));
        assert_int_equal(ts.n, 1);
        assert_int_equal(ts.len[0], sizeof text);
        toks_free(&ts);
    }
    fts_tokenizer_free(tk);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fts_tokenize__ascii_basics),
        cmocka_unit_test(test_fts_tokenize__ascii_matches_reference),
        cmocka_unit_test(test_fts_tokenize__unicode_normalization),
        cmocka_unit_test(test_fts_tokenize__scripts_and_digits),
        cmocka_unit_test(test_fts_tokenize__invalid_utf8),
        cmocka_unit_test(test_fts_tokenize__long_tokens_whole),
        cmocka_unit_test(test_fts_tokenize__idempotent_on_random_unicode),
        cmocka_unit_test(test_fts_tokenize__callback_error_stops),
        cmocka_unit_test(test_fts_tokenize__allocation_failure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
