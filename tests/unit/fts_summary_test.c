/*
 * fts_summary_test.c - the term summary: no false negatives, about 1%
 * false positives, prefix ranges, query pruning, and rejection of damaged
 * bytes.
 */
#include "fts_oracle.h"

#include "index/fts/fts_int.h"

static void test_fts_summary__bloom_rates(void **state)
{
    (void)state;
    test_seed();
    for (int iter = 0; iter < 4; iter++) {
        struct corpus c;
        struct oracle o;
        struct buf sum = {0};
        struct fts_summary s;
        uint8_t *data;
        size_t len, n_fp = 0, n_probe = 200000;
        const uint8_t *rs;
        size_t rs_len;
        struct fts_reader *r;

        corpus_random(&c, 3000, 2000 + 8000 * (size_t)iter, false, 100);
        oracle_build(&o, &c, 0, c.n);
        region_build(&c, 0, c.n, 0, &data, &len, NULL, &sum);
        assert_ok(fts_summary_open(&s, sum.data, sum.len));
        assert_int_equal(s.n_terms, o.n_terms);
        /* the region carries the same bytes */
        assert_ok(fts_reader_open(&r, data, len, "sum", 0));
        rs = fts_reader_summary(r, &rs_len);
        assert_int_equal(rs_len, sum.len);
        assert_memory_equal(rs, sum.data, sum.len);
        fts_reader_close(r);
        for (size_t i = 0; i < o.n_terms; i++)
            assert_true(fts_summary_may_contain(&s, o.terms[i].t,
                                                o.terms[i].len));
        for (size_t i = 0; i < n_probe; i++) {
            char probe[32];
            int n = snprintf(probe, sizeof probe, "#%zu-%d", i, iter);
            n_fp += fts_summary_may_contain(&s, (const uint8_t *)probe,
                                            (size_t)n);
        }
        /* 10 bits and 7 probes per term: ~1% expected */
        fprintf(stderr, "# %llu terms, %zu bytes: %.3f%% false positives\n",
                (unsigned long long)o.n_terms, sum.len,
                100.0 * (double)n_fp / (double)n_probe);
        assert_true(n_fp < n_probe * 15 / 1000);
        assert_true(n_fp > 0);
        buf_free(&sum);
        mem_free(data);
        oracle_free(&o);
        corpus_free(&c);
    }
}

static void test_fts_summary__prefix_and_queries(void **state)
{
    const char *docs[] = {"banana bandana", "cherry", "apple"};
    size_t lens[3] = {14, 6, 5};
    struct corpus c = {(char **)docs, lens, 3, NULL, 0, NULL};
    struct buf sum = {0};
    struct fts_summary s;
    struct fts_query *q;
    uint8_t *data;
    size_t len;
    (void)state;

    region_build(&c, 0, 3, 0, &data, &len, NULL, &sum);
    assert_ok(fts_summary_open(&s, sum.data, sum.len));
    assert_int_equal(s.min_len, 5);
    assert_memory_equal(s.min_term, "apple", 5);
    assert_memory_equal(s.max_term, "cherry", 6);
#define PREFIX(p)                                                              \
    fts_summary_may_contain_prefix(&s, (const uint8_t *)p, strlen(p))
    assert_true(PREFIX("a"));
    assert_true(PREFIX("app"));
    assert_true(PREFIX("apple"));
    assert_true(PREFIX("ba"));
    assert_true(PREFIX("cherry"));
    assert_true(PREFIX(""));
    assert_false(PREFIX("aa"));
    assert_true(PREFIX("bz")); /* inside the range: cannot be excluded */
    assert_false(PREFIX("0"));
    assert_false(PREFIX("cherryz"));
    assert_false(PREFIX("d"));
#undef PREFIX
    assert_ok(fts_query_parse(&q, NULL, "apple cherry", 12));
    assert_true(fts_summary_may_match(&s, q, FTS_MODE_AND));
    fts_query_free(q);
    /* one absent term: OR may match, AND cannot (barring a 1% collision) */
    assert_ok(fts_query_parse(&q, NULL, "apple zzzyyyxxx -banana", 23));
    assert_true(fts_summary_may_match(&s, q, FTS_MODE_OR));
    assert_false(fts_summary_may_match(&s, q, FTS_MODE_AND));
    fts_query_free(q);
    assert_ok(fts_query_parse(&q, NULL, "", 0));
    assert_false(fts_summary_may_match(&s, q, FTS_MODE_OR));
    fts_query_free(q);
    buf_free(&sum);
    mem_free(data);
}

static void test_fts_summary__damaged_bytes(void **state)
{
    const char *docs[] = {"one two three four five six seven"};
    size_t lens[1] = {33};
    struct corpus c = {(char **)docs, lens, 1, NULL, 0, NULL};
    struct buf sum = {0};
    struct fts_summary s;
    uint8_t *data, *bad;
    size_t len;
    (void)state;

    test_seed();
    region_build(&c, 0, 1, 0, &data, &len, NULL, &sum);
    bad = mem_alloc(sum.len);
    for (size_t n = 0; n < sum.len; n++) /* every truncation */
        assert_int_equal(fts_summary_open(&s, sum.data, n),
                         INFINO_ERR_CORRUPT);
    for (int iter = 0; iter < 5000; iter++) {
        infino_status st;
        memcpy(bad, sum.data, sum.len);
        bad[test_rand() % 24] ^= (uint8_t)(1u << (test_rand() % 8));
        st = fts_summary_open(&s, bad, sum.len);
        assert_true(st == INFINO_OK || st == INFINO_ERR_CORRUPT);
        if (st == INFINO_OK) /* then every byte it points to is inside */
            (void)fts_summary_may_contain(&s, (const uint8_t *)"x", 1);
    }
    mem_free(bad);
    buf_free(&sum);
    mem_free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fts_summary__bloom_rates),
        cmocka_unit_test(test_fts_summary__prefix_and_queries),
        cmocka_unit_test(test_fts_summary__damaged_bytes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
