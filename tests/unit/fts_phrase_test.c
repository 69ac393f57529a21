/*
 * fts_phrase_test.c - phrase queries: fts_phrase_count on hand-made texts
 * (stop words keep their positions, overlaps count, case and punctuation
 * do not matter), fts_eval_phrased against a brute force over random
 * corpora of a six-word vocabulary (so that phrases recur) with negated
 * terms and phrases, deletions and both modes, scores compared bit for bit
 * with fts.h's formula; the plain-query entry points refuse a query with
 * phrases; and every allocation of a phrase search fails in turn without
 * a leak.
 */
#include "fts_oracle.h"

#include <roaring/roaring.h>

static infino_status count_in(uint32_t *pf, const struct fts_analysis *an,
                              const char *query, const char *text)
{
    struct fts_query *q = NULL;
    struct fts_phrase_matcher *m = NULL;
    infino_status st;

    CHECK(fts_query_parse(&q, an, query, strlen(query)));
    assert_int_equal(fts_query_n_phrases(q), 1);
    CHECK(fts_phrase_matcher_new(&m, an));
    CHECK(fts_phrase_count(pf, m, q, 0, text, strlen(text)));
fail:
    fts_phrase_matcher_free(m);
    fts_query_free(q);
    return st;
}

static uint32_t pf_of(const struct fts_analysis *an, const char *query,
                      const char *text)
{
    uint32_t pf = 99;

    assert_ok(count_in(&pf, an, query, text));
    return pf;
}

static void test_fts_phrase__count(void **state)
{
    struct fts_analysis plain = {.base = FTS_BASE_STANDARD};
    struct fts_analysis stop = {.base = FTS_BASE_STANDARD,
                                .stop_lang = (uint8_t)fts_lang_id("english")};
    struct fts_query *q;
    (void)state;

    assert_int_equal(pf_of(&plain, "\"quick brown\"", "The Quick, BROWN fox"), 1);
    assert_int_equal(pf_of(&plain, "\"quick brown\"", "brown quick"), 0);
    assert_int_equal(pf_of(&plain, "\"x x\"", "x x x"), 2); /* overlaps */
    assert_int_equal(pf_of(&plain, "\"a b c\"", "a b a b c a b c"), 2);
    assert_int_equal(pf_of(&plain, "\"a b\"", ""), 0);
    /* stop words are dropped but keep their positions */
    assert_int_equal(pf_of(&stop, "\"king of the hill\"",
                           "the king of the hill, and king of the hill"), 2);
    assert_int_equal(pf_of(&stop, "\"king hill\"", "king of the hill"), 0);
    assert_int_equal(pf_of(&stop, "\"king of hill\"", "king of the hill"), 0);
    assert_int_equal(pf_of(&stop, "\"king a hill\"", "king of hill"), 1);
    /* a quoted single token is a term, an empty or stop-word-only phrase
     * nothing, an unbalanced quote plain text */
    {
        const char *t = "\"fox\" \"the\" \"\" \"dog cat";
        assert_ok(fts_query_parse(&q, &stop, t, strlen(t)));
    }
    assert_int_equal(fts_query_n_phrases(q), 0);
    assert_int_equal(fts_query_n_terms(q), 3);
    fts_query_free(q);
    /* only negated clauses, a negated phrase included, are refused */
    assert_int_equal(fts_query_parse(&q, &plain, "-\"a b\" -c",
                                     strlen("-\"a b\" -c")),
                     INFINO_ERR_INVALID);
}

/* ---- against a brute force ------------------------------------------------ */

static struct corpus corpus;
static uint8_t *region;
static size_t region_len;

/* Doc d's tokens as vocabulary indexes (the corpus separators never join
 * words, and there are no stop words: positions are indexes). */
struct doc_words {
    size_t *w;
    size_t n, cap;
};

static infino_status word_tok(const uint8_t *t, size_t len, void *payload)
{
    struct doc_words *dw = payload;

    for (size_t i = 0; i < corpus.n_vocab; i++)
        if (strlen(corpus.vocab[i]) == len &&
            memcmp(corpus.vocab[i], t, len) == 0) {
            assert_false(MEM_RESERVE(dw->w, dw->cap, dw->n + 1));
            dw->w[dw->n++] = i;
            return INFINO_OK;
        }
    fail_msg("token is not a vocabulary word");
    return INFINO_OK;
}

static struct doc_words *words;

/* Six ASCII words joined by the corpus separators; some ids skipped. */
static void corpus_small(struct corpus *c, uint32_t n)
{
    static const char *const vocab[] = {"red", "blue", "fox", "dog", "sky",
                                        "sea"};
    static const char *const seps[] = {" ", ", ", "-", "/", ". ", "\n"};

    memset(c, 0, sizeof *c);
    c->n = n;
    c->n_vocab = sizeof vocab / sizeof *vocab;
    c->vocab = mem_calloc(c->n_vocab, sizeof *c->vocab);
    for (size_t i = 0; i < c->n_vocab; i++)
        c->vocab[i] = mem_strdup(vocab[i]);
    c->docs = mem_calloc(n, sizeof *c->docs);
    c->lens = mem_calloc(n, sizeof *c->lens);
    for (uint32_t d = 0; d < n; d++) {
        size_t len = (size_t)(test_rand() % 24);
        struct buf b = {0};
        if (test_rand() % 25 == 0)
            continue; /* a skipped id */
        for (size_t i = 0; i < len; i++) {
            if (i > 0)
                buf_append_str(&b, seps[test_rand() % 6]);
            buf_append_str(&b, vocab[test_rand() % c->n_vocab]);
        }
        buf_put_u8(&b, 0);
        c->lens[d] = b.len - 1;
        c->docs[d] = (char *)buf_detach(&b, NULL);
    }
}

static int setup(void **state)
{
    struct fts_tokenizer *tk;
    (void)state;
    test_seed();
    corpus_small(&corpus, 500);
    region_build(&corpus, 0, corpus.n, 0, &region, &region_len, NULL, NULL);
    words = mem_calloc(corpus.n, sizeof *words);
    assert_ok(fts_tokenizer_new(&tk, NULL));
    for (uint32_t d = 0; d < corpus.n; d++)
        if (corpus.docs[d] != NULL)
            assert_ok(fts_tokenize(tk, corpus.docs[d], corpus.lens[d],
                                   word_tok, &words[d]));
    fts_tokenizer_free(tk);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (uint32_t d = 0; d < corpus.n; d++)
        mem_free(words[d].w);
    mem_free(words);
    mem_free(region);
    corpus_free(&corpus);
    return 0;
}

/* A query clause: a word or a phrase of words, maybe negated. */
struct clause {
    size_t w[3];
    size_t n;
    bool negative;
};

static uint32_t brute_pf(uint32_t d, const struct clause *c)
{
    const struct doc_words *dw = &words[d];
    uint32_t pf = 0;

    for (size_t i = 0; i + c->n <= dw->n; i++) {
        size_t k = 0;
        while (k < c->n && dw->w[i + k] == c->w[k])
            k++;
        pf += k == c->n;
    }
    return pf;
}

struct verify {
    struct fts_phrase_matcher *m;
    const struct fts_query *q;
    int calls;
};

static infino_status verify_texts(void *payload, size_t phrase,
                                  const uint32_t *docs, size_t n,
                                  uint32_t *pf)
{
    struct verify *v = payload;

    v->calls++;
    for (size_t i = 0; i < n; i++) {
        infino_status st;
        assert_true(i == 0 || docs[i] > docs[i - 1]);
        if (corpus.docs[docs[i]] == NULL)
            continue; /* pf stays 0 */
        st = fts_phrase_count(&pf[i], v->m, v->q, phrase,
                              corpus.docs[docs[i]], corpus.lens[docs[i]]);
        if (st != INFINO_OK)
            return st;
    }
    return INFINO_OK;
}

static int by_rank(const void *a, const void *b)
{
    const struct fts_hit *x = a, *y = b;

    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return (x->doc > y->doc) - (x->doc < y->doc);
}

static void test_fts_phrase__brute_force(void **state)
{
    struct fts_hit *expect = mem_calloc(corpus.n, sizeof *expect);
    struct fts_reader *r;
    struct oracle o;
    int with_phrases = 0;
    (void)state;

    assert_ok(fts_reader_open(&r, region, region_len, "phrase", 0));
    oracle_build(&o, &corpus, 0, corpus.n);
    for (int it = 0; it < 400; it++) {
        struct clause cl[4];
        size_t n_cl = 1 + test_rand() % 3, off = 0;
        char text[256];
        enum fts_mode mode = test_rand() % 3 ? FTS_MODE_OR : FTS_MODE_AND;
        roaring_bitmap_t *del = test_rand() % 3 ? NULL : roaring_bitmap_create();
        struct fts_query *q;
        uint64_t df[16] = {0};
        struct fts_global_stats gs;
        struct fts_phrased_opts po;
        struct verify v = {0};
        struct fts_hit *hits;
        size_t n_hits, pos_clauses = 0, h = 0;
        infino_status st;

        for (uint32_t d = 0; del && d < corpus.n; d += 1 + test_rand() % 7)
            roaring_bitmap_add(del, d);
        for (size_t i = 0; i < n_cl; i++) {
            cl[i].n = test_rand() % 3 ? 2 + test_rand() % 2 : 1;
            cl[i].negative = i > 0 && test_rand() % 4 == 0;
            for (size_t k = 0; k < cl[i].n; k++)
                cl[i].w[k] = test_rand() % corpus.n_vocab;
            /* a word named twice weighs once with m = 2 (fts.h), which
             * rounds differently from two clauses: keep words distinct */
            for (size_t j = 0; cl[i].n == 1 && j < i; j++)
                if (cl[j].n == 1 && cl[j].w[0] == cl[i].w[0]) {
                    cl[i].w[0] = (cl[i].w[0] + 1) % corpus.n_vocab;
                    j = (size_t)-1; /* check every earlier clause again */
                }
            pos_clauses += !cl[i].negative;
            off += (size_t)snprintf(text + off, sizeof text - off, "%s%s",
                                    cl[i].negative ? "-" : "",
                                    cl[i].n > 1 ? "\"" : "");
            for (size_t k = 0; k < cl[i].n; k++)
                off += (size_t)snprintf(text + off, sizeof text - off, "%s%s",
                                        k ? " " : "",
                                        corpus.vocab[cl[i].w[k]]);
            off += (size_t)snprintf(text + off, sizeof text - off, "%s ",
                                    cl[i].n > 1 ? "\"" : "");
        }
        assert_ok(fts_query_parse(&q, NULL, text, off));
        assert_ok(fts_query_add_local_df(df, r, q));
        gs.n_docs = fts_reader_n_scored_docs(r);
        gs.avgdl = (double)fts_reader_total_tokens(r) / (double)gs.n_docs;
        gs.df = df;
        gs.sim = NULL;
        if (fts_query_n_phrases(q) > 0) {
            uint64_t c;
            struct fts_doc_ids ids = {0};
            struct fts_search_opts so = {5, mode, 0, NULL, 0, NULL};
            struct fts_hit top[5];
            size_t nt;
            assert_int_equal(fts_count(&c, r, q, mode, NULL),
                             INFINO_ERR_INVALID);
            assert_int_equal(fts_match(&ids, r, q, mode, NULL),
                             INFINO_ERR_INVALID);
            assert_int_equal(fts_search(top, &nt, r, q, &gs, &so),
                             INFINO_ERR_INVALID);
        }
        assert_ok(fts_phrase_matcher_new(&v.m, NULL));
        v.q = q;
        po = (struct fts_phrased_opts){0, mode, del, verify_texts, &v};
        st = fts_eval_phrased(&hits, &n_hits, r, q, &gs, &po);
        assert_ok(st);
        for (uint32_t d = 0; d < corpus.n; d++) {
            int64_t want = 0;
            size_t hit = 0;
            bool out = del && roaring_bitmap_contains(del, d);
            for (size_t i = 0; i < n_cl && !out; i++) {
                uint32_t pf = brute_pf(d, &cl[i]);
                if (cl[i].negative) {
                    out = pf > 0;
                    continue;
                }
                if (pf == 0)
                    continue;
                hit++;
                for (size_t k = 0; k < cl[i].n; k++) {
                    const char *w = corpus.vocab[cl[i].w[k]];
                    const struct oterm *t =
                        oracle_find(&o, (const uint8_t *)w, strlen(w));
                    want += oracle_q(gs.n_docs, t->df, gs.avgdl, pf,
                                     o.dl[d], 1);
                }
            }
            if (out || hit == 0 || (mode == FTS_MODE_AND && hit < pos_clauses))
                continue;
            expect[h].doc = d;
            expect[h].score = (float)((double)want / 1099511627776.0);
            assert_true(h < n_hits);
            assert_int_equal(hits[h].doc, d);
            assert_true(hits[h].score == expect[h].score);
            h++;
        }
        assert_int_equal(h, n_hits);
        mem_free(hits);
        /* the best k, verified by bound: the same as the sorted matches */
        qsort(expect, h, sizeof *expect, by_rank);
        po.k = 1 + test_rand() % (test_rand() % 2 ? 5 : 200);
        assert_ok(fts_eval_phrased(&hits, &n_hits, r, q, &gs, &po));
        assert_int_equal(n_hits, h < po.k ? h : po.k);
        for (size_t i = 0; i < n_hits; i++) {
            if (hits[i].doc != expect[i].doc)
                fprintf(stderr, "# %s k=%zu mode %d: at %zu got %u %.9g, "
                        "want %u %.9g\n", text, po.k, (int)mode, i,
                        hits[i].doc, (double)hits[i].score, expect[i].doc,
                        (double)expect[i].score);
            assert_int_equal(hits[i].doc, expect[i].doc);
            assert_true(hits[i].score == expect[i].score);
        }
        with_phrases += n_hits > 0 && v.calls > 0;
        mem_free(hits);
        fts_phrase_matcher_free(v.m);
        fts_query_free(q);
        if (del != NULL)
            roaring_bitmap_free(del);
    }
    assert_true(with_phrases > 50);
    mem_free(expect);
    oracle_free(&o);
    fts_reader_close(r);
}

/* ---- allocation failures --------------------------------------------------- */

static size_t oom_k; /* 0: every match; else the top-k path */

static infino_status phrase_search(void *arg)
{
    const char *text = arg;
    struct fts_reader *r = NULL;
    struct fts_query *q = NULL;
    struct verify v = {0};
    struct fts_hit *hits = NULL;
    uint64_t df[16] = {0};
    struct fts_global_stats gs;
    struct fts_phrased_opts po;
    size_t n;
    infino_status st;

    CHECK(fts_reader_open(&r, region, region_len, "oom", 0));
    CHECK(fts_query_parse(&q, NULL, text, strlen(text)));
    CHECK(fts_query_add_local_df(df, r, q));
    CHECK(fts_phrase_matcher_new(&v.m, NULL));
    v.q = q;
    gs = (struct fts_global_stats){fts_reader_n_scored_docs(r), 10.0, df,
                                   NULL};
    po = (struct fts_phrased_opts){oom_k, FTS_MODE_OR, NULL, verify_texts,
                                   &v};
    CHECK(fts_eval_phrased(&hits, &n, r, q, &gs, &po));
fail:
    mem_free(hits);
    fts_phrase_matcher_free(v.m);
    fts_query_free(q);
    fts_reader_close(r);
    return st;
}

static void test_fts_phrase__oom(void **state)
{
    char text[128];
    int n;
    (void)state;

    snprintf(text, sizeof text, "\"%s %s\" %s -\"%s %s\"", corpus.vocab[0],
             corpus.vocab[1], corpus.vocab[2], corpus.vocab[3],
             corpus.vocab[4]);
    for (oom_k = 0; oom_k <= 3; oom_k += 3) {
        for (n = 1;; n++) {
            infino_status st;
            mem_fail_after(n);
            st = phrase_search(text);
            mem_fail_reset();
            if (st == INFINO_OK)
                break;
            if (st != INFINO_ERR_NOMEM)
                fail_msg("allocation %d: status %d (%s)", n, st, err_last());
        }
        fprintf(stderr, "# k %zu: %d failure points\n", oom_k, n - 1);
        assert_true(n > 5);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fts_phrase__count),
        cmocka_unit_test(test_fts_phrase__brute_force),
        cmocka_unit_test(test_fts_phrase__oom),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
