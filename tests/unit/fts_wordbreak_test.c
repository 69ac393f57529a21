/*
 * fts_wordbreak_test.c - word boundaries against Unicode's conformance
 * file, and the analysis settings (fts_analysis.c) with the analyzers
 * they configure.
 *
 * The conformance data is auxiliary/WordBreakTest.txt of the Unicode
 * Character Database version the table was generated from (Debian's
 * unicode-data package, installed by scripts/setup.sh, puts it under
 * /usr/share/unicode; INFINO_UCD_DIR overrides). Each line lists code
 * points with "÷" (boundary) or "×" (no boundary) between them.
 */
#include "index/fts/fts_int.h"
#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"
#include "util/rd.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#define assert_ok(x) assert_int_equal((x), INFINO_OK)
#define MAX_CPS 64

static void test_fts_wordbreak__unicode_conformance(void **state)
{
    const char *dir = getenv("INFINO_UCD_DIR");
    char path[512], line[4096];
    size_t n_lines = 0, n_bad = 0;
    FILE *f;
    (void)state;

    snprintf(path, sizeof path, "%s/auxiliary/WordBreakTest.txt",
             dir ? dir : "/usr/share/unicode");
    f = fopen(path, "r");
    if (f == NULL)
        fail_msg("%s: cannot open (install Debian's unicode-data, or set "
                 "INFINO_UCD_DIR)", path);
    while (fgets(line, sizeof line, f) != NULL) {
        int32_t cps[MAX_CPS];
        uint8_t cls[MAX_CPS];
        bool brk[MAX_CPS + 1]; /* brk[i]: a boundary before cps[i] */
        size_t n = 0;
        char *p = line, *hash = strchr(line, '#');

        if (hash != NULL)
            *hash = '\0';
        while (*p != '\0') {
            if (strncmp(p, "\xc3\xb7", 2) == 0) { /* ÷ */
                brk[n] = true;
                p += 2;
            } else if (strncmp(p, "\xc3\x97", 2) == 0) { /* × */
                brk[n] = false;
                p += 2;
            } else if ((*p >= '0' && *p <= '9') || (*p >= 'A' && *p <= 'F')) {
                assert_true(n < MAX_CPS);
                cps[n++] = (int32_t)strtol(p, &p, 16);
            } else {
                p++;
            }
        }
        if (n == 0)
            continue;
        n_lines++;
        for (size_t i = 0; i < n; i++)
            cls[i] = fts_wb_class(cps[i]);
        for (size_t s = 0, e; s < n; s = e) {
            e = fts_wb_next(cls, n, s);
            for (size_t i = s + 1; i < e; i++)
                if (brk[i]) {
                    n_bad++;
                    print_message("missed boundary before %zu: %s\n", i,
                                  line);
                }
            if (e < n && !brk[e]) {
                n_bad++;
                print_message("extra boundary before %zu: %s\n", e, line);
            }
        }
    }
    fclose(f);
    assert_true(n_lines > 1500); /* Unicode 15: 1,823 cases */
    assert_int_equal(n_bad, 0);
}

struct toks {
    char v[32][64];
    size_t n;
};

static infino_status collect(const uint8_t *t, size_t len, void *payload)
{
    struct toks *ts = payload;

    assert_true(ts->n < 32 && len < 64);
    memcpy(ts->v[ts->n], t, len);
    ts->v[ts->n++][len] = '\0';
    return INFINO_OK;
}

static void tokens_are(const struct fts_analysis *a, const char *text, ...)
{
    struct fts_tokenizer *tk;
    struct toks ts = {.n = 0};
    va_list ap;
    size_t i = 0;
    const char *want;

    assert_ok(fts_tokenizer_new(&tk, a));
    assert_ok(fts_tokenize(tk, text, strlen(text), collect, &ts));
    fts_tokenizer_free(tk);
    va_start(ap, text);
    while ((want = va_arg(ap, const char *)) != NULL) {
        assert_true(i < ts.n);
        assert_string_equal(ts.v[i], want);
        i++;
    }
    va_end(ap);
    assert_int_equal(ts.n, i);
}

static void test_fts_wordbreak__analyzers(void **state)
{
    struct fts_analysis a = {0};
    const char *own[] = {"Zap", "zap", "x"};
    (void)state;

    /* alnum: the old tokens */
    tokens_are(&a, "Don't 3.14 user_name", "don", "t", "3", "14", "user",
               "name", NULL);
    a.base = FTS_BASE_STANDARD;
    tokens_are(&a, "Don't 3.14 user_name... 'quoted'", "don't", "3.14",
               "user_name", "quoted", NULL);
    tokens_are(&a, "e-mail a.b: c", "e", "mail", "a.b", "c", NULL);
    tokens_are(&a, "\xe6\x97\xa5\xe6\x9c\xac", "\xe6\x97\xa5",
               "\xe6\x9c\xac", NULL); /* 日本: one ideograph each */
    a.stop_lang = (uint8_t)fts_lang_id("english");
    a.stemmer = (uint8_t)fts_lang_id("English");
    tokens_are(&a, "The runners were running into walls", "runner", "were",
               "run", "wall", NULL);
    assert_ok(fts_analysis_set_stop_words(&a, own, 3));
    assert_int_equal(a.stop_lang, FTS_STOP_USER);
    assert_int_equal(a.n_stop_words, 2); /* casefolded, unique */
    tokens_are(&a, "zap the ZAPS", "the", "zap", NULL); /* stemmed after */
    fts_analysis_free(&a);
    a.base = FTS_BASE_STANDARD;
    {
        const char *two[] = {"two words"};
        assert_int_equal(fts_analysis_set_stop_words(&a, two, 1),
                         INFINO_ERR_INVALID);
        assert_non_null(strstr(err_last(), "'two words'"));
    }
    assert_int_equal(fts_lang_id("klingon"), 0);
    assert_null(fts_lang_name(0));
    assert_null(fts_lang_name(FTS_N_LANGS + 1));
}

static void test_fts_wordbreak__analysis_records(void **state)
{
    struct fts_analysis a = {.base = FTS_BASE_STANDARD}, b;
    struct fts_analysis_id ia, ib;
    const char *own[] = {"beta", "alpha"};
    struct buf e = {0};
    struct rd r;
    (void)state;

    /* every built-in list is sorted bytewise, as the lookup needs */
    for (unsigned l = 1; l <= FTS_N_LANGS; l++) {
        const char *const *w;
        size_t n;
        fts_builtin_stop_words(l, &w, &n);
        assert_true(fts_lang_has_stopwords(l) == (n > 0));
        for (size_t i = 1; i < n; i++)
            assert_true(strcmp(w[i - 1], w[i]) < 0);
    }
    assert_ok(fts_analysis_set_stop_words(&a, own, 2));
    a.stemmer = 7;
    assert_ok(fts_analysis_encode(&e, &a));
    r = rd_make(e.data, e.len);
    assert_ok(fts_analysis_decode(&b, &r));
    assert_int_equal(rd_left(&r), 0);
    assert_true(fts_analysis_equal(&a, &b));
    fts_analysis_id_of(&ia, &a);
    fts_analysis_id_of(&ib, &b);
    assert_true(fts_analysis_id_equal(&ia, &ib));
    assert_int_not_equal(ia.stop_crc, 0);
    fts_analysis_free(&b);
    /* corruption is an error, never a crash: every truncation, and a
     * stop language without a list */
    for (size_t cut = 0; cut < e.len; cut++) {
        r = rd_make(e.data, cut);
        assert_int_equal(fts_analysis_decode(&b, &r), INFINO_ERR_CORRUPT);
    }
    e.data[2] = 2; /* armenian: no built-in list */
    r = rd_make(e.data, e.len);
    assert_int_equal(fts_analysis_decode(&b, &r), INFINO_ERR_CORRUPT);
    fts_analysis_free(&a);
    fts_analysis_free(&b);
    buf_free(&e);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fts_wordbreak__unicode_conformance),
        cmocka_unit_test(test_fts_wordbreak__analyzers),
        cmocka_unit_test(test_fts_wordbreak__analysis_records),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
