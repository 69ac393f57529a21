/*
 * fts_index_test.c - writer, serializer and reader against the brute-force
 * reference: term statistics, postings, prefix iteration, doc lengths;
 * spilled builds byte-identical to in-memory ones; damaged regions never
 * crash; writer misuse is refused.
 */
#include "fts_oracle.h"

#include "index/fts/fts_int.h"
#include "util/crc32c.h"

struct plist {
    uint32_t docs[1 << 16], tfs[1 << 16];
    size_t n;
};

static infino_status collect_posting(uint32_t doc, uint32_t tf, void *payload)
{
    struct plist *p = payload;

    assert_true(p->n < (1 << 16));
    p->docs[p->n] = doc;
    p->tfs[p->n] = tf;
    p->n++;
    return INFINO_OK;
}

struct tlist {
    uint8_t (*t)[FTS_MAX_TOKEN_LEN];
    size_t *len;
    size_t n, cap;
    struct fts_term_info *info;
};

static infino_status collect_term(const uint8_t *t, size_t len,
                                  const struct fts_term_info *info,
                                  void *payload)
{
    struct tlist *l = payload;

    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 64;
        l->t = mem_realloc(l->t, l->cap * sizeof *l->t);
        l->len = mem_realloc(l->len, l->cap * sizeof *l->len);
        l->info = mem_realloc(l->info, l->cap * sizeof *l->info);
    }
    memcpy(l->t[l->n], t, len);
    l->len[l->n] = len;
    l->info[l->n] = *info;
    l->n++;
    return INFINO_OK;
}

static void tlist_free(struct tlist *l)
{
    mem_free(l->t);
    mem_free(l->len);
    mem_free(l->info);
    memset(l, 0, sizeof *l);
}

/* Everything the reader says about region r agrees with oracle o. */
static void check_against_oracle(const struct fts_reader *r,
                                 const struct oracle *o)
{
    static struct plist p;
    struct tlist all = {0};

    assert_int_equal(fts_reader_n_docs(r), o->n_docs);
    assert_int_equal(fts_reader_n_terms(r), o->n_terms);
    assert_int_equal(fts_reader_total_tokens(r), o->total);
    for (uint32_t d = 0; d < o->n_docs; d++)
        assert_int_equal(fts_reader_doc_len(r, d), o->dl[d]);
    for (size_t i = 0; i < o->n_terms; i++) {
        const struct oterm *t = &o->terms[i];
        struct fts_term_info ti;
        assert_ok(fts_reader_lookup(&ti, r, t->t, t->len));
        assert_int_equal(ti.df, t->df);
        assert_int_equal(ti.total_tf, t->total_tf);
        p.n = 0;
        assert_ok(fts_reader_postings(r, &ti, collect_posting, &p));
        assert_int_equal(p.n, t->df);
        assert_memory_equal(p.docs, t->docs, t->df * sizeof(uint32_t));
        assert_memory_equal(p.tfs, t->tfs, t->df * sizeof(uint32_t));
    }
    /* all terms, in order */
    assert_ok(fts_reader_prefix(r, NULL, 0, collect_term, &all));
    assert_int_equal(all.n, o->n_terms);
    for (size_t i = 0; i < all.n; i++) {
        assert_int_equal(all.len[i], o->terms[i].len);
        assert_memory_equal(all.t[i], o->terms[i].t, all.len[i]);
        assert_int_equal(all.info[i].df, o->terms[i].df);
    }
    /* prefixes of existing terms, and of random bytes */
    for (int k = 0; k < 50 && o->n_terms > 0; k++) {
        const struct oterm *t = &o->terms[test_rand() % o->n_terms];
        uint8_t pre[8];
        size_t n = 1 + test_rand() % (t->len < 4 ? t->len : 4), want = 0;
        struct tlist got = {0};

        memcpy(pre, t->t, n);
        if (k % 5 == 4)
            pre[n - 1] = (uint8_t)test_rand();
        for (size_t i = 0; i < o->n_terms; i++)
            if (o->terms[i].len >= n && memcmp(o->terms[i].t, pre, n) == 0)
                want++;
        assert_ok(fts_reader_prefix(r, pre, n, collect_term, &got));
        assert_int_equal(got.n, want);
        for (size_t i = 0; i < got.n; i++)
            assert_memory_equal(got.t[i], pre, n);
        tlist_free(&got);
    }
    /* absent terms */
    {
        struct fts_term_info ti;
        assert_int_equal(fts_reader_lookup(&ti, r, (const uint8_t *)"~~", 2),
                         INFINO_ERR_NOTFOUND);
        assert_int_equal(fts_reader_lookup(&ti, r, (const uint8_t *)"", 0),
                         INFINO_ERR_NOTFOUND);
    }
    tlist_free(&all);
}

static void test_fts_index__small_known(void **state)
{
    const char *docs[] = {"the quick brown fox", "", "the lazy dog", NULL,
                          "Quick quick QUICK"};
    struct fts_writer *w;
    struct store_sink *sink;
    struct fts_reader *r;
    struct fts_term_info ti;
    struct fts_region_info info;
    static struct plist p;
    uint8_t *data;
    size_t len;
    (void)state;

    assert_ok(fts_writer_new(&w, NULL));
    for (uint32_t d = 0; d < 5; d++)
        if (docs[d] != NULL)
            assert_ok(fts_writer_add(w, d, docs[d], strlen(docs[d])));
    assert_ok(store_sink_open_memory(&sink, "t"));
    assert_ok(fts_writer_finish(w, sink, 6, &info, NULL));
    assert_ok(store_sink_take_memory(sink, &data, &len));
    fts_writer_free(w);
    assert_int_equal(info.len, len);
    assert_int_equal(info.n_docs, 6);
    assert_int_equal(info.n_terms, 6);
    assert_int_equal(info.total_tokens, 10);
    assert_int_equal(info.n_runs, 0);

    assert_ok(fts_reader_open(&r, data, len, "small", FTS_OPEN_VERIFY_CRC));
    assert_int_equal(fts_reader_n_docs(r), 6);
    assert_int_equal(fts_reader_doc_len(r, 0), 4);
    assert_int_equal(fts_reader_doc_len(r, 1), 0);
    assert_int_equal(fts_reader_doc_len(r, 4), 3);
    assert_int_equal(fts_reader_doc_len(r, 5), 0);
    assert_ok(fts_reader_lookup(&ti, r, (const uint8_t *)"quick", 5));
    assert_int_equal(ti.df, 2);
    assert_int_equal(ti.total_tf, 4);
    p.n = 0;
    assert_ok(fts_reader_postings(r, &ti, collect_posting, &p));
    assert_int_equal(p.n, 2);
    assert_int_equal(p.docs[0], 0);
    assert_int_equal(p.tfs[0], 1);
    assert_int_equal(p.docs[1], 4);
    assert_int_equal(p.tfs[1], 3);
    assert_ok(fts_reader_lookup(&ti, r, (const uint8_t *)"fox", 3));
    assert_int_equal(ti.df, 1);
    assert_int_equal(fts_reader_lookup(&ti, r, (const uint8_t *)"cat", 3),
                     INFINO_ERR_NOTFOUND);
    fts_reader_close(r);
    mem_free(data);
}

static void test_fts_index__random_corpora_match_oracle(void **state)
{
    (void)state;
    test_seed();
    for (int iter = 0; iter < 40; iter++) {
        struct corpus c;
        struct oracle o;
        struct fts_reader *r;
        uint8_t *data;
        size_t len;
        uint32_t n = (uint32_t)(test_rand() % (iter < 5 ? 3 : 3000));

        corpus_random(&c, n, 1 + test_rand() % 3000, iter % 2 == 0,
                      iter % 7 == 0 ? 3000 : 300);
        oracle_build(&o, &c, 0, n);
        region_build(&c, 0, n, iter % 3 == 0 ? 16384 : 0, &data, &len, NULL,
                     NULL);
        assert_ok(fts_reader_open(&r, data, len, "rand", FTS_OPEN_VERIFY_CRC));
        check_against_oracle(r, &o);
        fts_reader_close(r);
        mem_free(data);
        oracle_free(&o);
        corpus_free(&c);
    }
}

/* Dense terms: a term in every doc (zero-bit gaps), tf up to thousands,
 * long lists over several full blocks and a short tail. */
static void test_fts_index__dense_and_heavy_terms(void **state)
{
    struct corpus c = {0};
    struct oracle o;
    struct fts_reader *r;
    uint8_t *data;
    size_t len;
    (void)state;

    test_seed();
    c.n = 20000;
    c.docs = mem_calloc(c.n, sizeof *c.docs);
    c.lens = mem_calloc(c.n, sizeof *c.lens);
    for (uint32_t d = 0; d < c.n; d++) {
        struct buf b = {0};
        buf_append_str(&b, "every ");
        if (d % 3 == 0)
            buf_append_str(&b, "third ");
        if (d % 1000 == 7)
            for (int i = 0; i < 3000; i++)
                buf_append_str(&b, "heavy ");
        if (d == 19999 || d == 0)
            buf_append_str(&b, "ends ");
        buf_printf(&b, "id%u", d);
        buf_put_u8(&b, 0);
        c.lens[d] = b.len - 1;
        c.docs[d] = (char *)buf_detach(&b, NULL);
    }
    oracle_build(&o, &c, 0, c.n);
    region_build(&c, 0, c.n, 0, &data, &len, NULL, NULL);
    assert_ok(fts_reader_open(&r, data, len, "dense", FTS_OPEN_VERIFY_CRC));
    check_against_oracle(r, &o);
    fts_reader_close(r);
    mem_free(data);
    oracle_free(&o);
    corpus_free(&c);
}

/* A tiny budget forces many runs; the merged region must be the same
 * bytes as the in-memory build. */
static void test_fts_index__spill_is_byte_identical(void **state)
{
    (void)state;
    test_seed();
    for (int iter = 0; iter < 12; iter++) {
        struct corpus c;
        struct fts_region_info a_info, b_info;
        struct buf a_sum = {0}, b_sum = {0};
        uint8_t *a, *b;
        size_t a_len, b_len;
        uint32_t n = 500 + (uint32_t)(test_rand() % 3000);
        size_t budget = (size_t)4096 << (iter % 4);

        corpus_random(&c, n, 10 + test_rand() % 5000, iter % 2, 500);
        region_build(&c, 0, n, 0, &a, &a_len, &a_info, &a_sum);
        region_build(&c, 0, n, budget, &b, &b_len, &b_info, &b_sum);
        assert_int_equal(a_info.n_runs, 0);
        if (b_info.n_runs <= 1)
            fail_msg("iter %d budget %zu: %u runs", iter, budget,
                     b_info.n_runs);
        assert_int_equal(a_len, b_len);
        assert_memory_equal(a, b, a_len);
        assert_int_equal(a_sum.len, b_sum.len);
        assert_memory_equal(a_sum.data, b_sum.data, a_sum.len);
        mem_free(a);
        mem_free(b);
        buf_free(&a_sum);
        buf_free(&b_sum);
        corpus_free(&c);
    }
}

static void test_fts_index__empty_regions(void **state)
{
    struct corpus c = {0};
    char *empty[3] = {NULL, (char *)"", (char *)"!!! ..."};
    size_t lens[3] = {0, 0, 7};
    (void)state;

    c.docs = empty;
    c.lens = lens;
    for (uint32_t n = 0; n <= 3; n++) {
        struct fts_reader *r;
        struct fts_term_info ti;
        struct tlist l = {0};
        uint8_t *data;
        size_t len;

        c.n = n;
        region_build(&c, 0, n, 0, &data, &len, NULL, NULL);
        assert_ok(fts_reader_open(&r, data, len, "empty",
                                  FTS_OPEN_VERIFY_CRC));
        assert_int_equal(fts_reader_n_docs(r), n);
        assert_int_equal(fts_reader_n_terms(r), 0);
        assert_int_equal(fts_reader_lookup(&ti, r, (const uint8_t *)"a", 1),
                         INFINO_ERR_NOTFOUND);
        assert_ok(fts_reader_prefix(r, NULL, 0, collect_term, &l));
        assert_int_equal(l.n, 0);
        fts_reader_close(r);
        mem_free(data);
    }
}

static void test_fts_index__writer_misuse(void **state)
{
    struct fts_writer *w;
    struct store_sink *sink;
    (void)state;

    assert_ok(fts_writer_new(&w, NULL));
    assert_ok(fts_writer_add(w, 3, "a", 1));
    assert_int_equal(fts_writer_add(w, 3, "b", 1), INFINO_ERR_INVALID);
    assert_int_equal(fts_writer_add(w, 2, "b", 1), INFINO_ERR_INVALID);
    assert_int_equal(fts_writer_add(w, UINT32_MAX, "b", 1),
                     INFINO_ERR_INVALID);
    assert_ok(fts_writer_add(w, 4, "b", 1));
    assert_ok(store_sink_open_memory(&sink, "t"));
    assert_int_equal(fts_writer_finish(w, sink, 4, NULL, NULL),
                     INFINO_ERR_INVALID);
    assert_int_equal(fts_writer_add(w, 9, "b", 1), INFINO_ERR_INVALID);
    store_sink_abort(sink);
    fts_writer_free(w);
}

static void fix_crc(uint8_t *data, size_t len)
{
    store_u32le(data + len - 4, crc32c(data, len - 4));
}

static infino_status walk_term(const uint8_t *t, size_t len,
                               const struct fts_term_info *info, void *payload)
{
    const struct fts_reader *r = payload;
    static struct plist p;
    infino_status st;

    (void)t;
    (void)len;
    p.n = 0;
    st = fts_reader_postings(r, info, collect_posting, &p);
    assert_true(st == INFINO_OK || st == INFINO_ERR_CORRUPT);
    return INFINO_OK;
}

/* Damaged bytes with a correct CRC: every call returns OK or CORRUPT,
 * never crashes or reads outside the region (ASan watches). */
static void test_fts_index__damage_never_crashes(void **state)
{
    struct corpus c;
    uint8_t *good, *bad;
    size_t len;
    int n_open = 0;
    (void)state;

    test_seed();
    corpus_random(&c, 700, 300, true, 400);
    region_build(&c, 0, c.n, 0, &good, &len, NULL, NULL);
    bad = mem_alloc(len);
    for (int iter = 0; iter < 3000; iter++) {
        struct fts_reader *r;
        size_t n = len;
        infino_status st;

        memcpy(bad, good, len);
        switch (iter % 4) {
        case 0: /* flip a few random bits */
            for (int k = 0; k < 1 + iter % 5; k++)
                bad[test_rand() % len] ^= (uint8_t)(1u << (test_rand() % 8));
            break;
        case 1: /* a random 32-bit value somewhere */
            store_u32le(bad + test_rand() % (len - 4), (uint32_t)test_rand());
            break;
        case 2: /* small values into the trailer or index */
            store_u32le(bad + len - 128 + test_rand() % 120,
                        (uint32_t)(test_rand() % 1000));
            break;
        default: /* truncation keeps the trailer */
            n = len - 1 - test_rand() % (len / 2);
            memmove(bad + 16, bad + len - n + 16, n - 16);
            break;
        }
        fix_crc(bad, n);
        st = fts_reader_open(&r, bad, n, "damaged", FTS_OPEN_VERIFY_CRC);
        assert_true(st == INFINO_OK || st == INFINO_ERR_CORRUPT ||
                    st == INFINO_ERR_UNSUPPORTED);
        if (st != INFINO_OK)
            continue;
        n_open++;
        st = fts_reader_prefix(r, NULL, 0, walk_term, r);
        assert_true(st == INFINO_OK || st == INFINO_ERR_CORRUPT);
        for (size_t v = 0; v < c.n_vocab; v += 7) {
            struct fts_term_info ti;
            st = fts_reader_lookup(&ti, r, (const uint8_t *)c.vocab[v],
                                   strlen(c.vocab[v]));
            assert_true(st == INFINO_OK || st == INFINO_ERR_CORRUPT ||
                        st == INFINO_ERR_NOTFOUND);
        }
        fts_reader_close(r);
    }
    /* some damage lands in postings, leaving the region openable */
    assert_true(n_open > 100);
    /* without the CRC fix-up, damage is caught at open */
    memcpy(bad, good, len);
    bad[len / 2] ^= 1;
    {
        struct fts_reader *r;
        assert_int_equal(fts_reader_open(&r, bad, len, "sf-7:body",
                                         FTS_OPEN_VERIFY_CRC),
                         INFINO_ERR_CORRUPT);
        assert_non_null(strstr(err_last(), "sf-7:body"));
        assert_non_null(strstr(err_last(), "checksum"));
    }
    mem_free(bad);
    mem_free(good);
    corpus_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fts_index__small_known),
        cmocka_unit_test(test_fts_index__random_corpora_match_oracle),
        cmocka_unit_test(test_fts_index__dense_and_heavy_terms),
        cmocka_unit_test(test_fts_index__spill_is_byte_identical),
        cmocka_unit_test(test_fts_index__empty_regions),
        cmocka_unit_test(test_fts_index__writer_misuse),
        cmocka_unit_test(test_fts_index__damage_never_crashes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
