/*
 * fts_oom_test.c - every allocation of build, open, parse, search, count
 * and match is made to fail in turn: each failure must come back as
 * INFINO_ERR_NOMEM with nothing leaked (ASan checks leaks), and the same
 * call must succeed once allocation works again.
 */
#include "fts_oracle.h"

static struct corpus corpus;
static uint8_t *region;
static size_t region_len;

static int setup(void **state)
{
    (void)state;
    test_seed();
    corpus_random(&corpus, 600, 200, true, 200);
    region_build(&corpus, 0, corpus.n, 0, &region, &region_len, NULL, NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    mem_free(region);
    corpus_free(&corpus);
    return 0;
}

static infino_status build_once(size_t budget, const char *dir)
{
    struct fts_writer_opts opts = {budget, dir, NULL, false};
    struct fts_writer *w = NULL;
    struct store_sink *sink = NULL;
    struct buf sum = {0};
    uint8_t *data = NULL;
    size_t len;
    infino_status st;

    CHECK(fts_writer_new(&w, &opts));
    for (uint32_t d = 0; d < corpus.n; d++)
        if (corpus.docs[d] != NULL)
            CHECK(fts_writer_add(w, d, corpus.docs[d], corpus.lens[d]));
    CHECK(store_sink_open_memory(&sink, "oom"));
    CHECK(fts_writer_finish(w, sink, corpus.n, NULL, &sum));
    st = store_sink_take_memory(sink, &data, &len);
    sink = NULL;
    CHECK(st);
    assert_int_equal(len, region_len);
    assert_memory_equal(data, region, len);
fail:
    store_sink_abort(sink);
    fts_writer_free(w);
    buf_free(&sum);
    mem_free(data);
    return st;
}

/* Runs fn with the n-th allocation failing, n = 1, 2, ... until it
 * succeeds; returns how many failures were injected. */
static int fail_each(infino_status (*fn)(void *), void *arg)
{
    int n;

    for (n = 1;; n++) {
        infino_status st;
        mem_fail_after(n);
        st = fn(arg);
        mem_fail_reset();
        if (st == INFINO_OK)
            break;
        if (st != INFINO_ERR_NOMEM)
            fail_msg("allocation %d: status %d (%s)", n, st, err_last());
    }
    assert_true(n > 1);
    return n - 1;
}

static infino_status build_memory(void *arg)
{
    (void)arg;
    return build_once(0, NULL);
}

static infino_status build_spill(void *arg)
{
    return build_once(8192, arg);
}

static void test_fts_oom__build(void **state)
{
    char dir[256];
    (void)state;

    fprintf(stderr, "# in memory: %d failure points\n",
            fail_each(build_memory, NULL));
    test_tmpdir(dir, sizeof dir, "fts-oom");
    fprintf(stderr, "# spilling: %d failure points\n",
            fail_each(build_spill, dir));
}

static infino_status open_close(void *arg)
{
    struct fts_reader *r;
    infino_status st;

    (void)arg;
    st = fts_reader_open(&r, region, region_len, "oom", FTS_OPEN_VERIFY_CRC);
    fts_reader_close(st == INFINO_OK ? r : NULL);
    return st;
}

struct qrun {
    const char *text;
    enum fts_mode mode;
    roaring_bitmap_t *del;
};

static infino_status query_all(void *arg)
{
    const struct qrun *qr = arg;
    struct fts_reader *r = NULL;
    struct fts_query *q = NULL;
    struct fts_doc_ids ids = {0};
    struct fts_hit hits[20];
    uint64_t df[FTS_MAX_QUERY_TERMS] = {0}, count;
    struct fts_global_stats gs;
    struct fts_search_opts so = {20, qr->mode, 0, qr->del, 0, NULL};
    size_t n;
    infino_status st;

    CHECK(fts_reader_open(&r, region, region_len, "oom", 0));
    CHECK(fts_query_parse(&q, NULL, qr->text, strlen(qr->text)));
    CHECK(fts_query_add_local_df(df, r, q));
    gs.n_docs = fts_reader_n_docs(r);
    gs.avgdl = (double)fts_reader_total_tokens(r) / gs.n_docs;
    gs.df = df;
    gs.sim = NULL;
    CHECK(fts_search(hits, &n, r, q, &gs, &so));
    CHECK(fts_count(&count, r, q, qr->mode, qr->del));
    CHECK(fts_match(&ids, r, q, qr->mode, qr->del));
    assert_int_equal(ids.n, count);
    CHECK(fts_exact_candidates(&ids, r, NULL, corpus.vocab[1],
                               strlen(corpus.vocab[1]), qr->del));
fail:
    fts_doc_ids_free(&ids);
    fts_query_free(q);
    fts_reader_close(r);
    return st;
}

static void test_fts_oom__open(void **state)
{
    (void)state;
    fail_each(open_close, NULL);
}

static void test_fts_oom__queries(void **state)
{
    struct qrun runs[4];
    char text[256];
    (void)state;

    snprintf(text, sizeof text, "%s %s %s -%s", corpus.vocab[0],
             corpus.vocab[1], corpus.vocab[2], corpus.vocab[5]);
    runs[0] = (struct qrun){text, FTS_MODE_OR, NULL};
    runs[1] = (struct qrun){text, FTS_MODE_AND, NULL};
    runs[2] = (struct qrun){corpus.vocab[0], FTS_MODE_OR, NULL};
    runs[3] = (struct qrun){text, FTS_MODE_OR, roaring_bitmap_create()};
    for (uint32_t d = 0; d < corpus.n; d += 3)
        roaring_bitmap_add(runs[3].del, d);
    for (size_t i = 0; i < 4; i++)
        fprintf(stderr, "# query %zu: %d failure points\n", i,
                fail_each(query_all, &runs[i]));
    roaring_bitmap_free(runs[3].del);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fts_oom__build),
        cmocka_unit_test(test_fts_oom__open),
        cmocka_unit_test(test_fts_oom__queries),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
