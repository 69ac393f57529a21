/*
 * fts_search_test.c - top-k BM25, count, token_match and exact_match
 * candidates against a brute-force oracle that scores every document of
 * random corpora (Zipf and uniform vocabularies, empty, long and Unicode
 * documents): thousands of random queries (1-10 terms, OR/AND, negatives,
 * deletions, k from 0 to beyond the matches, caller floors), on one region
 * and on corpora split into 1-20 regions with table-global statistics.
 * Long tokens match whole on both sides; exact_match takes any value; the
 * query term limit names the count.
 */
#include "fts_oracle.h"

#include <roaring/roaring.h>

#define MAX_Q 16

/* A random query over the corpus vocabulary (plus absent words). */
struct qspec {
    char text[2048];
    enum fts_mode mode;
};

static void random_query(struct qspec *qs, const struct corpus *c)
{
    size_t n_pos = 1 + test_rand() % 10, n_neg = test_rand() % 4 == 0
                                                     ? 1 + test_rand() % 2
                                                     : 0;
    size_t off = 0;

    qs->mode = test_rand() % 2 ? FTS_MODE_AND : FTS_MODE_OR;
    if (qs->mode == FTS_MODE_AND && n_pos > 3 && test_rand() % 2)
        n_pos = 1 + test_rand() % 3; /* AND over many terms rarely hits */
    for (size_t i = 0; i < n_pos + n_neg; i++) {
        const char *w = test_rand() % 15 == 0 ? "absentword"
                        : c->n_vocab == 0     ? "none"
                                              : c->vocab[pick_word(c)];
        off += (size_t)snprintf(qs->text + off, sizeof qs->text - off,
                                "%s%s ", i >= n_pos ? "-" : "", w);
    }
}

/* The query's positive/negative terms resolved in the oracle. */
struct oq {
    const struct oterm *pos[FTS_MAX_QUERY_TERMS];
    uint32_t mult[FTS_MAX_QUERY_TERMS]; /* occurrences in the query text */
    size_t n_pos;
    const struct oterm *neg[MAX_Q];
    size_t n_neg;
};

static void resolve(struct oq *oq, const struct oracle *o,
                    const struct fts_query *q)
{
    const struct fts_query *qq = q;

    oq->n_pos = fts_query_n_terms(qq);
    for (size_t i = 0; i < oq->n_pos; i++) {
        size_t len;
        const uint8_t *t = fts_query_term(qq, i, &len);
        oq->pos[i] = oracle_find(o, t, len);
        oq->mult[i] = 0;
    }
    oq->n_neg = 0;
}

/* Counts how often each positive term occurs among the tokens of the
 * text's positive chunks (a repeated word weighs as often as it occurs). */
static infino_status pos_tok(const uint8_t *t, size_t len, void *payload)
{
    void **pl = payload;
    struct oq *oq = pl[0];
    const struct fts_query *q = pl[1];

    for (size_t i = 0; i < oq->n_pos; i++) {
        size_t l;
        const uint8_t *qt = fts_query_term(q, i, &l);
        if (l == len && memcmp(qt, t, len) == 0)
            oq->mult[i]++;
    }
    return INFINO_OK;
}

static void resolve_mult(struct oq *oq, const struct fts_query *q,
                         const char *text)
{
    struct fts_tokenizer *tk;
    void *pl[2] = {oq, (void *)q};
    const char *p = text;

    assert_ok(fts_tokenizer_new(&tk, NULL));
    while (*p) {
        const char *e = strchr(p, ' ');
        if (e == NULL)
            e = p + strlen(p);
        if (!(*p == '-' && e - p > 1))
            assert_ok(fts_tokenize(tk, p, (size_t)(e - p), pos_tok, pl));
        p = *e ? e + 1 : e;
    }
    fts_tokenizer_free(tk);
    for (size_t i = 0; i < oq->n_pos; i++)
        assert_int_equal(oq->mult[i], fts_query_term_count(q, i));
}

/* Negatives are not exposed by the query API: re-tokenize the '-' chunks
 * of the text the plain way. */
static infino_status neg_tok(const uint8_t *t, size_t len, void *payload)
{
    void **pl = payload;
    struct oq *oq = pl[0];
    const struct oracle *o = pl[1];
    const struct oterm *ot = oracle_find(o, t, len);

    if (ot != NULL) {
        for (size_t i = 0; i < oq->n_neg; i++)
            if (oq->neg[i] == ot)
                return INFINO_OK;
        assert_true(oq->n_neg < MAX_Q);
        oq->neg[oq->n_neg++] = ot;
    }
    return INFINO_OK;
}

static void resolve_negatives(struct oq *oq, const struct oracle *o,
                              const char *text)
{
    struct fts_tokenizer *tk;
    void *pl[2] = {oq, (void *)o};
    const char *p = text;

    assert_ok(fts_tokenizer_new(&tk, NULL));
    while (*p) {
        const char *e = strchr(p, ' ');
        if (e == NULL)
            e = p + strlen(p);
        if (*p == '-' && e - p > 1)
            assert_ok(fts_tokenize(tk, p + 1, (size_t)(e - p - 1), neg_tok,
                                   pl));
        p = *e ? e + 1 : e;
    }
    fts_tokenizer_free(tk);
}

static bool oracle_matches(const struct oracle *o, const struct oq *oq,
                           enum fts_mode mode, uint32_t d,
                           const roaring_bitmap_t *del)
{
    size_t present = 0;

    if (oq->n_pos == 0)
        return false;
    if (del != NULL && roaring_bitmap_contains(del, d))
        return false;
    for (size_t j = 0; j < oq->n_neg; j++)
        if (oracle_tf(oq->neg[j], d) > 0)
            return false;
    for (size_t i = 0; i < oq->n_pos; i++)
        present += oracle_tf(oq->pos[i], d) > 0;
    (void)o;
    return mode == FTS_MODE_AND ? present == oq->n_pos : present > 0;
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return x < y ? -1 : x > y;
}

static int cmp_hit(const void *a, const void *b)
{
    const struct fts_hit *x = a, *y = b;

    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    return x->doc < y->doc ? -1 : x->doc > y->doc;
}

/* Brute-force top-k with global statistics; `base` shifts doc ids. */
static size_t oracle_topk(struct fts_hit *out, size_t cap,
                          const struct oracle *o, const struct oq *oq,
                          enum fts_mode mode, uint64_t n_docs, double avgdl,
                          const uint64_t *df, float floor,
                          const roaring_bitmap_t *del, uint32_t base)
{
    size_t n = 0;

    for (uint32_t d = 0; d < o->n_docs; d++) {
        int64_t q = 0;
        double plain = 0;
        float score;

        if (!oracle_matches(o, oq, mode, d, del))
            continue;
        for (size_t i = 0; i < oq->n_pos; i++) {
            uint32_t tf = oracle_tf(oq->pos[i], d);
            if (tf > 0) {
                q += oracle_q(n_docs, df[i], avgdl, tf, o->dl[d],
                              oq->mult[i]);
                plain += oq->mult[i] *
                         plain_bm25(n_docs, df[i], avgdl, tf, o->dl[d]);
            }
        }
        score = (float)((double)q / 1099511627776.0);
        /* the fixed-point sum is BM25 to well within 1e-5 */
        assert_true(fabs(score - plain) <= 1e-5 * plain + 1e-9);
        if (score < floor)
            continue;
        assert_true(n < cap);
        out[n].doc = base + d;
        out[n].score = score;
        n++;
    }
    qsort(out, n, sizeof *out, cmp_hit);
    return n;
}

static void check_hits(const struct fts_hit *got, size_t n_got,
                       const struct fts_hit *want, size_t n_want,
                       const char *query)
{
    if (n_got != n_want)
        fail_msg("query \"%s\": %zu hits, want %zu", query, n_got, n_want);
    for (size_t i = 0; i < n_got; i++)
        if (got[i].doc != want[i].doc || got[i].score != want[i].score)
            fail_msg("query \"%s\": hit %zu is (%u, %.9g), want (%u, %.9g)",
                     query, i, got[i].doc, (double)got[i].score, want[i].doc,
                     (double)want[i].score);
}

static roaring_bitmap_t *random_deletions(uint32_t n_docs)
{
    roaring_bitmap_t *del;
    uint64_t pct = test_rand() % 3 == 0 ? 0 : test_rand() % 40;

    if (pct == 0)
        return NULL;
    del = roaring_bitmap_create();
    for (uint32_t d = 0; d < n_docs; d++)
        if (test_rand() % 100 < pct)
            roaring_bitmap_add(del, d);
    return del;
}

/* roaring_bitmap_free(NULL) is not a no-op in every CRoaring version. */
static void del_free(roaring_bitmap_t *b)
{
    if (b != NULL)
        roaring_bitmap_free(b);
}

static size_t random_k(uint32_t n_docs)
{
    static const size_t ks[] = {0, 1, 2, 3, 5, 10, 10, 10, 20, 100, 1000};
    uint64_t r = test_rand() % 12;

    return r < 11 ? ks[r] : n_docs + 10;
}

/* Runs `n_queries` random queries on corpus c as one region. */
static void run_single_region(const struct corpus *c, int n_queries,
                              size_t budget)
{
    struct oracle o;
    struct fts_reader *r;
    uint8_t *data;
    size_t len;
    struct fts_hit *got, *want;
    size_t cap = c->n + 16;

    oracle_build(&o, c, 0, c->n);
    region_build(c, 0, c->n, budget, &data, &len, NULL, NULL);
    assert_ok(fts_reader_open(&r, data, len, "one", FTS_OPEN_VERIFY_CRC));
    got = mem_alloc(cap * sizeof *got);
    want = mem_alloc(cap * sizeof *want);
    for (int qi = 0; qi < n_queries; qi++) {
        struct qspec qs;
        struct fts_query *q;
        struct oq oq;
        uint64_t df[FTS_MAX_QUERY_TERMS] = {0}, count;
        struct fts_global_stats gs;
        struct fts_search_opts so = {0};
        struct fts_doc_ids ids = {0};
        roaring_bitmap_t *del = random_deletions(c->n);
        size_t n_got, n_want, n_all, m;
        float floor = 0;
        struct fts_term_stats *stats = NULL;

        random_query(&qs, c);
        assert_ok(fts_query_parse(&q, NULL, qs.text, strlen(qs.text)));
        resolve(&oq, &o, q);
        resolve_mult(&oq, q, qs.text);
        resolve_negatives(&oq, &o, qs.text);
        assert_ok(fts_query_add_local_df(df, r, q));
        for (size_t i = 0; i < oq.n_pos; i++)
            assert_int_equal(df[i], oq.pos[i] ? oq.pos[i]->df : 0);
        gs.n_docs = o.n_docs;
        gs.avgdl = o.n_docs && o.total ? (double)o.total / o.n_docs : 1.0;
        gs.df = df;
        gs.sim = NULL;

        /* all matches, to pick floors and check count/match */
        n_all = oracle_topk(want, cap, &o, &oq, qs.mode, gs.n_docs, gs.avgdl,
                            df, 0, del, 0);
        /* the terms looked up once: the same df, a bound above every
         * match (0 only when nothing can match) */
        {
            size_t nt = fts_query_n_terms(q);
            uint64_t df2[FTS_MAX_QUERY_TERMS] = {0};
            float b;
            bool none = qs.mode == FTS_MODE_AND ? nt == 0 : true;

            stats = mem_calloc(nt + 1, sizeof *stats);
            assert_ok(fts_query_lookup(stats, r, q));
            fts_term_stats_add_df(df2, stats, nt);
            assert_memory_equal(df, df2, nt * sizeof *df);
            for (size_t i = 0; i < nt; i++) {
                if (qs.mode == FTS_MODE_AND && stats[i].info.df == 0)
                    none = true;
                if (qs.mode != FTS_MODE_AND && stats[i].info.df > 0)
                    none = false;
            }
            b = fts_query_bound(stats, q, &gs, qs.mode);
            assert_true(none ? b == 0 : b > 0);
            for (size_t i = 0; i < n_all; i++)
                assert_true(want[i].score <= b);
        }
        if (n_all > 0 && test_rand() % 4 == 0)
            floor = want[test_rand() % n_all].score;
        so.k = random_k(c->n);
        so.mode = qs.mode;
        so.min_score = floor;
        so.deleted = del;
        n_want = oracle_topk(want, cap, &o, &oq, qs.mode, gs.n_docs, gs.avgdl,
                             df, floor, del, 0);
        if (n_want > so.k)
            n_want = so.k;
        assert_ok(fts_search(got, &n_got, r, q, &gs, &so));
        check_hits(got, n_got, want, n_want, qs.text);
        /* with the terms looked up beforehand: the same */
        so.terms = stats;
        assert_ok(fts_search(got, &n_got, r, q, &gs, &so));
        check_hits(got, n_got, want, n_want, qs.text);
        so.terms = NULL;
        mem_free(stats);
        stats = NULL;
        /* cut into doc-id ranges searched on the thread pool: the same */
        so.parts = 2 + test_rand() % 4;
        assert_ok(fts_search(got, &n_got, r, q, &gs, &so));
        check_hits(got, n_got, want, n_want, qs.text);
        so.parts = 0;

        assert_ok(fts_count(&count, r, q, qs.mode, del));
        assert_int_equal(count, n_all);
        assert_ok(fts_match(&ids, r, q, qs.mode, del));
        assert_int_equal(ids.n, n_all);
        m = 0;
        for (uint32_t d = 0; d < o.n_docs; d++)
            if (oracle_matches(&o, &oq, qs.mode, d, del))
                assert_int_equal(ids.ids[m++], d);
        fts_doc_ids_free(&ids);
        fts_query_free(q);
        del_free(del);
    }
    mem_free(got);
    mem_free(want);
    fts_reader_close(r);
    mem_free(data);
    oracle_free(&o);
}

static void test_fts_search__random_single_region(void **state)
{
    (void)state;
    test_seed();
    for (int iter = 0; iter < 30; iter++) {
        struct corpus c;
        uint32_t n = (uint32_t)(test_rand() % (iter < 3 ? 5 : 4000));
        size_t vocab = 1 + test_rand() % (iter % 3 == 0 ? 20 : 3000);

        if (iter == 3 || iter == 4) { /* terms in >= 4096 docs */
            n = 9000;
            vocab = 3 + iter;
        }

        corpus_random(&c, n, vocab, iter % 2 == 0, iter % 5 == 0 ? 2000 : 200);
        run_single_region(&c, 120, iter % 4 == 0 ? 8192 : 0);
        corpus_free(&c);
    }
}

/* Split into 1-20 regions: sum the local stats, search each region with
 * the running global k-th score as its floor, merge; the result must be
 * the single-corpus brute force exactly. */
static void test_fts_search__multi_region_global_stats(void **state)
{
    (void)state;
    test_seed();
    for (int iter = 0; iter < 20; iter++) {
        struct corpus c;
        struct oracle whole;
        struct fts_reader *rs[20];
        uint8_t *data[20];
        uint32_t cut[21];
        size_t lens[20], n_regions = 1 + test_rand() % 20;
        uint32_t n = (uint32_t)(test_rand() % 3000);
        struct fts_hit *got, *want, *merged;
        size_t cap;

        corpus_random(&c, n, 1 + test_rand() % 2000, iter % 2, 300);
        oracle_build(&whole, &c, 0, n);
        cut[0] = 0;
        cut[n_regions] = n;
        for (size_t i = 1; i < n_regions; i++)
            cut[i] = (uint32_t)(test_rand() % (n + 1));
        qsort(cut + 1, n_regions - 1, sizeof *cut, cmp_u32);
        for (size_t i = 0; i < n_regions; i++) {
            region_build(&c, cut[i], cut[i + 1], 0, &data[i], &lens[i], NULL,
                         NULL);
            assert_ok(fts_reader_open(&rs[i], data[i], lens[i], "part", 0));
        }
        cap = n + 16;
        got = mem_alloc(cap * sizeof *got);
        want = mem_alloc(cap * sizeof *want);
        merged = mem_alloc((cap + 16) * sizeof *merged);
        for (int qi = 0; qi < 60; qi++) {
            struct qspec qs;
            struct fts_query *q;
            struct oq oq;
            uint64_t df[FTS_MAX_QUERY_TERMS] = {0}, total = 0, n_docs = 0;
            uint64_t count = 0;
            struct fts_global_stats gs;
            struct fts_search_opts so = {0};
            roaring_bitmap_t *del = random_deletions(n);
            size_t n_want, n_merged = 0, k = random_k(n);

            random_query(&qs, &c);
            assert_ok(fts_query_parse(&q, NULL, qs.text, strlen(qs.text)));
            for (size_t i = 0; i < n_regions; i++) {
                assert_ok(fts_query_add_local_df(df, rs[i], q));
                n_docs += fts_reader_n_docs(rs[i]);
                total += fts_reader_total_tokens(rs[i]);
            }
            resolve(&oq, &whole, q);
            resolve_mult(&oq, q, qs.text);
            resolve_negatives(&oq, &whole, qs.text);
            for (size_t i = 0; i < oq.n_pos; i++)
                assert_int_equal(df[i], oq.pos[i] ? oq.pos[i]->df : 0);
            gs.n_docs = n_docs;
            gs.avgdl = n_docs && total ? (double)total / n_docs : 1.0;
            gs.df = df;
            gs.sim = NULL;
            n_want = oracle_topk(want, cap, &whole, &oq, qs.mode, n_docs,
                                 gs.avgdl, df, 0, del, 0);
            if (n_want > k)
                n_want = k;

            for (size_t i = 0; i < n_regions; i++) {
                roaring_bitmap_t *ldel = NULL;
                size_t n_got;
                uint64_t cnt;
                if (del != NULL) {
                    ldel = roaring_bitmap_create();
                    for (uint32_t d = cut[i]; d < cut[i + 1]; d++)
                        if (roaring_bitmap_contains(del, d))
                            roaring_bitmap_add(ldel, d - cut[i]);
                }
                so.k = k;
                so.mode = qs.mode;
                so.deleted = ldel;
                so.min_score = n_merged >= k && k > 0
                                   ? merged[k - 1].score
                                   : 0;
                assert_ok(fts_search(got, &n_got, rs[i], q, &gs, &so));
                for (size_t j = 0; j < n_got; j++) {
                    merged[n_merged] = got[j];
                    merged[n_merged++].doc += cut[i];
                }
                qsort(merged, n_merged, sizeof *merged, cmp_hit);
                if (n_merged > k)
                    n_merged = k;
                assert_ok(fts_count(&cnt, rs[i], q, qs.mode, ldel));
                count += cnt;
                del_free(ldel);
            }
            check_hits(merged, n_merged, want, n_want, qs.text);
            n_want = oracle_topk(want, cap, &whole, &oq, qs.mode, n_docs,
                                 gs.avgdl, df, 0, del, 0);
            assert_int_equal(count, n_want);
            fts_query_free(q);
            del_free(del);
        }
        for (size_t i = 0; i < n_regions; i++) {
            fts_reader_close(rs[i]);
            mem_free(data[i]);
        }
        mem_free(got);
        mem_free(want);
        mem_free(merged);
        oracle_free(&whole);
        corpus_free(&c);
    }
}

/* exact_match candidates: every doc holding all of the value's tokens
 * with the same token count, and certainly every doc equal to it. */
static void test_fts_search__exact_candidates(void **state)
{
    (void)state;
    test_seed();
    for (int iter = 0; iter < 10; iter++) {
        struct corpus c;
        struct oracle o;
        struct fts_reader *r;
        struct fts_tokenizer *tk;
        uint8_t *data;
        size_t len;
        uint32_t n = 1 + (uint32_t)(test_rand() % 2000);

        corpus_random(&c, n, 1 + test_rand() % 50, true, 30);
        oracle_build(&o, &c, 0, n);
        region_build(&c, 0, n, 0, &data, &len, NULL, NULL);
        assert_ok(fts_reader_open(&r, data, len, "exact", 0));
        assert_ok(fts_tokenizer_new(&tk, NULL));
        for (int qi = 0; qi < 100; qi++) {
            uint32_t src = (uint32_t)(test_rand() % n);
            const char *value = c.docs[src] ? c.docs[src] : "";
            struct fts_doc_ids ids = {0};
            roaring_bitmap_t *del = random_deletions(n);
            struct occ_list l = {0};
            uint32_t one_dl[2] = {0, 0};
            size_t m = 0;

            if (qi % 10 == 0)
                value = "!!";
            /* the value's tokens, via the oracle's own collector */
            l.dl = one_dl;
            assert_ok(fts_tokenize(tk, value, strlen(value), oracle_tok, &l));
            assert_ok(fts_exact_candidates(&ids, r, NULL, value, strlen(value),
                                           del));
            for (uint32_t d = 0; d < n; d++) {
                bool all = o.dl[d] == l.n;
                if (del != NULL && roaring_bitmap_contains(del, d))
                    continue;
                for (size_t i = 0; i < l.n && all; i++)
                    all = oracle_tf(oracle_find(&o, l.v[i].t, l.v[i].len),
                                    d) > 0;
                if (!all)
                    continue;
                assert_true(m < ids.n);
                assert_int_equal(ids.ids[m++], d);
            }
            assert_int_equal(m, ids.n);
            /* equal text is always a candidate */
            for (uint32_t d = 0; d < n; d++) {
                const char *t = c.docs[d] ? c.docs[d] : "";
                bool in = false;
                if (strcmp(t, value) != 0 ||
                    (del != NULL && roaring_bitmap_contains(del, d)))
                    continue;
                for (size_t i = 0; i < ids.n; i++)
                    in |= ids.ids[i] == d;
                assert_true(in);
            }
            for (size_t i = 0; i < l.n; i++)
                mem_free(l.v[i].t);
            mem_free(l.v);
            fts_doc_ids_free(&ids);
            del_free(del);
        }
        fts_tokenizer_free(tk);
        fts_reader_close(r);
        mem_free(data);
        oracle_free(&o);
        corpus_free(&c);
    }
}

static void search_text(const struct fts_reader *r, const char *text,
                        enum fts_mode mode, struct fts_hit *out, size_t *n)
{
    struct fts_query *q;
    uint64_t df[FTS_MAX_QUERY_TERMS] = {0};
    struct fts_global_stats gs = {fts_reader_n_docs(r), 0, df, NULL};
    struct fts_search_opts so = {10, mode, 0, NULL, 0, NULL};

    gs.avgdl = (double)fts_reader_total_tokens(r) / fts_reader_n_docs(r);
    assert_ok(fts_query_parse(&q, NULL, text, strlen(text)));
    assert_ok(fts_query_add_local_df(df, r, q));
    assert_ok(fts_search(out, n, r, q, &gs, &so));
    fts_query_free(q);
}

static void test_fts_search__query_semantics(void **state)
{
    const char *docs[] = {"the quick brown fox", "the lazy dog",
                          "a quick dog", "Caf\xc3\xa9 au lait",
                          "cafe\xcc\x81 noir"};
    struct corpus c = {(char **)docs, NULL, 5, NULL, 0, NULL};
    size_t lens[5];
    struct fts_reader *r;
    struct fts_query *q;
    struct fts_hit a[10], b[10];
    size_t na, nb, len;
    uint64_t count;
    uint8_t *data;
    (void)state;

    for (int i = 0; i < 5; i++)
        lens[i] = strlen(docs[i]);
    c.lens = lens;
    region_build(&c, 0, 5, 0, &data, &len, NULL, NULL);
    assert_ok(fts_reader_open(&r, data, len, "sem", FTS_OPEN_VERIFY_CRC));

    /* only negatives: refused with upstream's message */
    assert_int_equal(fts_query_parse(&q, NULL, "-fox -dog", 9), INFINO_ERR_INVALID);
    assert_string_equal(err_last(), "query has only negated terms; at least "
                                    "one positive term is required");
    /* no tokens: nothing */
    search_text(r, "  !!! - ", FTS_MODE_OR, a, &na);
    assert_int_equal(na, 0);
    assert_ok(fts_query_parse(&q, NULL, "", 0));
    assert_ok(fts_count(&count, r, q, FTS_MODE_OR, NULL));
    assert_int_equal(count, 0);
    fts_query_free(q);
    /* order and case do not matter; repeating every term doubles every
     * score (exactly: the weight doubles before rounding to 2^-40) */
    search_text(r, "quick dog", FTS_MODE_OR, a, &na);
    search_text(r, "dog QUICK", FTS_MODE_OR, b, &nb);
    assert_int_equal(na, 3);
    assert_int_equal(na, nb);
    assert_memory_equal(a, b, na * sizeof *a);
    search_text(r, "DOG quick quick dog", FTS_MODE_OR, b, &nb);
    assert_int_equal(na, nb);
    for (size_t i = 0; i < na; i++) {
        assert_int_equal(a[i].doc, b[i].doc);
        assert_true(fabsf(b[i].score - 2 * a[i].score) <=
                    1e-6f * b[i].score);
    }
    /* negation */
    search_text(r, "quick -fox", FTS_MODE_OR, a, &na);
    assert_int_equal(na, 1);
    assert_int_equal(a[0].doc, 2);
    search_text(r, "dog -lazy-fox", FTS_MODE_OR, a, &na);
    assert_int_equal(na, 1);
    assert_int_equal(a[0].doc, 2);
    /* AND */
    search_text(r, "quick dog", FTS_MODE_AND, a, &na);
    assert_int_equal(na, 1);
    assert_int_equal(a[0].doc, 2);
    search_text(r, "quick absent", FTS_MODE_AND, a, &na);
    assert_int_equal(na, 0);
    /* composed and decomposed forms match each other */
    search_text(r, "CAF\xc3\x89", FTS_MODE_OR, a, &na);
    assert_int_equal(na, 2);
    /* a term both wanted and negated matches nothing */
    search_text(r, "fox -fox", FTS_MODE_OR, a, &na);
    assert_int_equal(na, 0);
    /* the query API: sorted, unique terms */
    assert_ok(fts_query_parse(&q, NULL, "b a b -c", 8));
    assert_int_equal(fts_query_n_terms(q), 2);
    assert_int_equal(fts_query_n_negatives(q), 1);
    assert_memory_equal(fts_query_term(q, 0, &len), "a", 1);
    assert_memory_equal(fts_query_term(q, 1, &len), "b", 1);
    fts_query_free(q);
    /* inconsistent global statistics are the caller's error */
    {
        struct fts_search_opts so = {10, FTS_MODE_OR, 0, NULL, 0, NULL};
        uint64_t df[1] = {0};
        struct fts_global_stats gs = {5, 3.0, df, NULL};
        assert_ok(fts_query_parse(&q, NULL, "fox", 3));
        assert_int_equal(fts_search(a, &na, r, q, &gs, &so),
                         INFINO_ERR_INVALID);
        df[0] = 1;
        gs.avgdl = 0;
        assert_int_equal(fts_search(a, &na, r, q, &gs, &so),
                         INFINO_ERR_INVALID);
        fts_query_free(q);
    }
    fts_reader_close(r);
    mem_free(data);
}

/* A floor above every possible score returns nothing, without error. */
static void test_fts_search__floor_skips_region(void **state)
{
    struct corpus c;
    struct fts_reader *r;
    struct fts_query *q;
    struct fts_hit hits[10];
    uint64_t df[FTS_MAX_QUERY_TERMS] = {0};
    struct fts_global_stats gs;
    struct fts_search_opts so = {10, FTS_MODE_OR, 0, NULL, 0, NULL};
    size_t n, len;
    uint8_t *data;
    (void)state;

    test_seed();
    corpus_random(&c, 1000, 50, true, 100);
    region_build(&c, 0, c.n, 0, &data, &len, NULL, NULL);
    assert_ok(fts_reader_open(&r, data, len, "floor", 0));
    assert_ok(fts_query_parse(&q, NULL, c.vocab[0], strlen(c.vocab[0])));
    assert_ok(fts_query_add_local_df(df, r, q));
    gs.n_docs = fts_reader_n_docs(r);
    gs.avgdl = (double)fts_reader_total_tokens(r) / gs.n_docs;
    gs.df = df;
    gs.sim = NULL;
    assert_ok(fts_search(hits, &n, r, q, &gs, &so));
    assert_true(n > 0);
    so.min_score = hits[0].score;
    assert_ok(fts_search(hits, &n, r, q, &gs, &so));
    assert_true(n >= 1); /* the best one survives its own score */
    so.min_score = hits[0].score * 1.0001f + 1e-6f;
    assert_ok(fts_search(hits, &n, r, q, &gs, &so));
    assert_int_equal(n, 0);
    fts_query_free(q);
    fts_reader_close(r);
    mem_free(data);
    corpus_free(&c);
}

/* ---- long tokens, any exact value, the term limit ------------------------ */

static char *repeat(const char *unit, size_t times, const char *tail)
{
    struct buf b = {0};

    for (size_t i = 0; i < times; i++)
        buf_append_str(&b, unit);
    buf_append_str(&b, tail);
    buf_put_u8(&b, 0);
    return (char *)buf_detach(&b, NULL);
}

/* Docs matching `text` under fts_match, count and top-k (all three must
 * agree), as a bitmask over the first 32 docs. */
static uint32_t matching(const struct fts_reader *r, const char *text,
                         size_t text_len)
{
    struct fts_query *q;
    struct fts_doc_ids ids = {0};
    struct fts_hit hits[32];
    uint64_t df[1] = {0}, count;
    struct fts_global_stats gs = {fts_reader_n_docs(r), 1.0, df, NULL};
    struct fts_search_opts so = {32, FTS_MODE_OR, 0, NULL, 0, NULL};
    uint32_t mask = 0, top = 0;
    size_t n;

    gs.avgdl = (double)fts_reader_total_tokens(r) / fts_reader_n_docs(r);
    assert_ok(fts_query_parse(&q, NULL, text, text_len));
    assert_int_equal(fts_query_n_terms(q), 1);
    assert_ok(fts_match(&ids, r, q, FTS_MODE_OR, NULL));
    assert_ok(fts_count(&count, r, q, FTS_MODE_OR, NULL));
    assert_int_equal(count, ids.n);
    for (size_t i = 0; i < ids.n; i++)
        mask |= 1u << ids.ids[i];
    assert_ok(fts_query_add_local_df(df, r, q));
    if (df[0] > 0) {
        assert_ok(fts_search(hits, &n, r, q, &gs, &so));
        for (size_t i = 0; i < n; i++)
            top |= 1u << hits[i].doc;
        assert_int_equal(top, mask);
    }
    fts_doc_ids_free(&ids);
    fts_query_free(q);
    return mask;
}

static uint32_t exact(const struct fts_reader *r, const char *value,
                      size_t len)
{
    struct fts_doc_ids ids = {0};
    uint32_t mask = 0;

    assert_ok(fts_exact_candidates(&ids, r, NULL, value, len, NULL));
    for (size_t i = 0; i < ids.n; i++) {
        assert_true(i == 0 || ids.ids[i] > ids.ids[i - 1]);
        mask |= 1u << ids.ids[i];
    }
    fts_doc_ids_free(&ids);
    return mask;
}

/* Tokens were cut at 255 bytes, so 'a' * 255 + 'zzz' matched both
 * 'a' * 300 and 'a' * 255 + 'b' * 45. Now every side compares whole
 * tokens: top-k, count, match and exact candidates. */
static void test_fts_search__long_tokens_match_whole(void **state)
{
    char *docs[6] = {
        repeat("a", 300, ""), repeat("a", 255, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"),
        repeat("A", 255, " other"), repeat("\xc3\x89", 200, ""),
        repeat("q", 100000, ""), repeat("q", 100001, "")};
    size_t lens[6];
    struct corpus c = {docs, lens, 6, NULL, 0, NULL};
    char *zzz = repeat("a", 255, "zzz"), *up = repeat("A", 255, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB");
    char *e_low = repeat("\xc3\xa9", 200, ""), *e_cut = repeat("\xc3\xa9", 127, "");
    struct fts_reader *r;
    uint8_t *data;
    size_t len;
    (void)state;

    for (int i = 0; i < 6; i++)
        lens[i] = strlen(docs[i]);
    region_build(&c, 0, 6, 0, &data, &len, NULL, NULL);
    assert_ok(fts_reader_open(&r, data, len, "long", FTS_OPEN_VERIFY_CRC));
    assert_int_equal(matching(r, zzz, strlen(zzz)), 0);
    assert_int_equal(matching(r, docs[0], lens[0]), 1u << 0);
    assert_int_equal(matching(r, up, strlen(up)), 1u << 1);
    assert_int_equal(matching(r, docs[2], 255), 1u << 2);
    assert_int_equal(matching(r, e_low, strlen(e_low)), 1u << 3);
    assert_int_equal(matching(r, e_cut, strlen(e_cut)), 0);
    assert_int_equal(matching(r, docs[4], lens[4]), 1u << 4);
    assert_int_equal(matching(r, docs[5], lens[5]), 1u << 5);
    assert_int_equal(matching(r, docs[5], 99999), 0);
    assert_int_equal(exact(r, zzz, strlen(zzz)), 0);
    assert_int_equal(exact(r, docs[0], lens[0]), 1u << 0);
    assert_int_equal(exact(r, docs[1], lens[1]), 1u << 1);
    assert_int_equal(exact(r, docs[4], lens[4]), 1u << 4);
    fts_reader_close(r);
    mem_free(data);
    for (int i = 0; i < 6; i++)
        mem_free(docs[i]);
    mem_free(zzz);
    mem_free(up);
    mem_free(e_low);
    mem_free(e_cut);
}

/* exact_match candidates exist for any value: more distinct words than a
 * query may hold, repeated words, none at all, NUL bytes. */
static void test_fts_search__exact_any_value(void **state)
{
    struct buf big = {0}, other = {0}, miss = {0}, hundred = {0};
    char *docs[10];
    size_t lens[10];
    struct corpus c = {docs, lens, 10, NULL, 0, NULL};
    struct fts_reader *r;
    uint8_t *data;
    size_t len;
    (void)state;

    for (int i = 0; i < 10000; i++) {
        buf_printf(&big, "%sw%d", i ? " " : "", i);
        buf_printf(&other, "%sw%d", i ? " " : "", i < 9999 ? i : 77777);
        buf_printf(&miss, "%sw%d", i ? " " : "", i != 5000 ? i : 88888);
    }
    for (int i = 0; i < 100; i++)
        buf_printf(&hundred, "%sv%d", i ? "  " : "", i);
    buf_put_u8(&big, 0);
    buf_put_u8(&other, 0);
    buf_put_u8(&miss, 0);
    buf_put_u8(&hundred, 0);
    docs[0] = (char *)big.data;
    docs[1] = (char *)other.data;
    docs[2] = (char *)"rep rep rep";
    docs[3] = (char *)"rep rep";
    docs[4] = (char *)"";
    docs[5] = (char *)"   ";
    docs[6] = NULL;
    docs[7] = (char *)hundred.data;
    docs[8] = (char *)"nul\0tail"; /* a NUL separates like a space */
    docs[9] = (char *)"nul";
    for (int i = 0; i < 10; i++)
        lens[i] = docs[i] ? strlen(docs[i]) : 0;
    lens[8] = 8;
    region_build(&c, 0, 10, 0, &data, &len, NULL, NULL);
    assert_ok(fts_reader_open(&r, data, len, "exact", 0));
    assert_int_equal(exact(r, docs[0], lens[0]), 1u << 0);
    assert_int_equal(exact(r, docs[1], lens[1]), 1u << 1);
    /* a word the region lacks: nothing can match */
    assert_int_equal(exact(r, (char *)miss.data, miss.len - 1), 0);
    /* the same words in another order are still candidates (verified
     * later against the text) */
    assert_int_equal(exact(r, "w1 w0", 5), 0);
    assert_int_equal(exact(r, docs[2], lens[2]), 1u << 2);
    assert_int_equal(exact(r, docs[3], lens[3]), 1u << 3);
    assert_int_equal(exact(r, "", 0), 1u << 4 | 1u << 5 | 1u << 6);
    assert_int_equal(exact(r, " \t ", 3), 1u << 4 | 1u << 5 | 1u << 6);
    assert_int_equal(exact(r, docs[7], lens[7]), 1u << 7);
    assert_int_equal(exact(r, "nul\0tail", 8), 1u << 8);
    assert_int_equal(exact(r, "nul tail", 8), 1u << 8);
    assert_int_equal(exact(r, "nul", 3), 1u << 9);
    fts_reader_close(r);
    mem_free(data);
    buf_free(&big);
    buf_free(&other);
    buf_free(&miss);
    buf_free(&hundred);
}

/* A query holds at most FTS_MAX_QUERY_TERMS distinct terms; the error
 * says how many it had. Repeats count once. */
static void test_fts_search__query_term_limit(void **state)
{
    struct buf b = {0};
    struct fts_query *q;
    char want[128];
    (void)state;

    for (int i = 0; i < FTS_MAX_QUERY_TERMS; i++)
        buf_printf(&b, "t%d t%d ", i, i % 7);
    assert_ok(fts_query_parse(&q, NULL, (char *)b.data, b.len));
    assert_int_equal(fts_query_n_terms(q), FTS_MAX_QUERY_TERMS);
    fts_query_free(q);
    buf_printf(&b, "one more");
    assert_int_equal(fts_query_parse(&q, NULL, (char *)b.data, b.len),
                     INFINO_ERR_INVALID);
    snprintf(want, sizeof want, "query has %d distinct terms; at most %d "
             "are allowed", FTS_MAX_QUERY_TERMS + 2, FTS_MAX_QUERY_TERMS);
    assert_string_equal(err_last(), want);
    buf_reset(&b);
    buf_printf(&b, "x");
    for (int i = 0; i <= FTS_MAX_QUERY_TERMS; i++)
        buf_printf(&b, " -n%d", i);
    assert_int_equal(fts_query_parse(&q, NULL, (char *)b.data, b.len),
                     INFINO_ERR_INVALID);
    snprintf(want, sizeof want, "query has %d distinct negated terms; at "
             "most %d are allowed", FTS_MAX_QUERY_TERMS + 1,
             FTS_MAX_QUERY_TERMS);
    assert_string_equal(err_last(), want);
    /* built term by term, the limit holds at search time */
    {
        const char *doc = "t1";
        size_t doc_len = 2, len;
        struct corpus c = {(char **)&doc, &doc_len, 1, NULL, 0, NULL};
        struct fts_doc_ids ids = {0};
        struct fts_reader *r;
        uint64_t count;
        uint8_t *data;

        region_build(&c, 0, 1, 0, &data, &len, NULL, NULL);
        assert_ok(fts_reader_open(&r, data, len, "lim", 0));
        buf_reset(&b);
        for (int i = 0; i <= FTS_MAX_QUERY_TERMS; i++)
            buf_printf(&b, "t%d ", i);
        assert_ok(fts_query_new(&q, NULL));
        assert_ok(fts_query_add_text(q, (char *)b.data, b.len, false));
        assert_int_equal(fts_query_n_terms(q), FTS_MAX_QUERY_TERMS + 1);
        assert_int_equal(fts_count(&count, r, q, FTS_MODE_OR, NULL),
                         INFINO_ERR_INVALID);
        assert_int_equal(fts_match(&ids, r, q, FTS_MODE_OR, NULL),
                         INFINO_ERR_INVALID);
        /* the same words as an exact-match value are fine */
        assert_ok(fts_exact_candidates(&ids, r, NULL, b.data, b.len, NULL));
        assert_int_equal(ids.n, 0);
        fts_query_free(q);
        fts_reader_close(r);
        mem_free(data);
    }
    buf_free(&b);
}

/* Terms added in several steps merge into one sorted, unique set. */
static void test_fts_search__query_building(void **state)
{
    struct fts_query *q;
    size_t len;
    const uint8_t *t;
    (void)state;

    assert_ok(fts_query_new(&q, NULL));
    assert_ok(fts_query_add_text(q, "m c c x", 7, false));
    assert_ok(fts_query_add_term(q, (const uint8_t *)"d", 1, false));
    assert_ok(fts_query_add_text(q, "a x z d", 7, false));
    assert_ok(fts_query_add_text(q, "n m", 3, true));
    assert_int_equal(fts_query_add_term(q, (const uint8_t *)"", 0, false),
                     INFINO_ERR_INVALID);
    assert_int_equal(fts_query_n_terms(q), 6);
    assert_int_equal(fts_query_n_negatives(q), 2);
    for (size_t i = 0; i < 6; i++) {
        t = fts_query_term(q, i, &len);
        assert_int_equal(len, 1);
        assert_int_equal(t[0], "acdmxz"[i]);
    }
    fts_query_free(q);
    /* allocation failure while merging leaves the query as it was */
    assert_ok(fts_query_new(&q, NULL));
    assert_ok(fts_query_add_text(q, "b d", 3, false));
    for (int fail = 1; fail < 64; fail++) {
        infino_status st;
        mem_fail_after(fail);
        st = fts_query_add_text(q, "a b c e", 7, false);
        mem_fail_reset();
        if (st == INFINO_OK)
            break;
        assert_int_equal(st, INFINO_ERR_NOMEM);
        assert_int_equal(fts_query_n_terms(q), 2);
    }
    assert_int_equal(fts_query_n_terms(q), 5);
    fts_query_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fts_search__random_single_region),
        cmocka_unit_test(test_fts_search__multi_region_global_stats),
        cmocka_unit_test(test_fts_search__exact_candidates),
        cmocka_unit_test(test_fts_search__query_semantics),
        cmocka_unit_test(test_fts_search__floor_skips_region),
        cmocka_unit_test(test_fts_search__long_tokens_match_whole),
        cmocka_unit_test(test_fts_search__exact_any_value),
        cmocka_unit_test(test_fts_search__query_term_limit),
        cmocka_unit_test(test_fts_search__query_building),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
