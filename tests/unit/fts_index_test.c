/*
 * fts_index_test.c - writer, serializer and reader against the brute-force
 * reference: term statistics, postings, prefix iteration, doc lengths;
 * spilled builds byte-identical to in-memory ones; damaged regions never
 * crash; writer misuse is refused. Terms of any length (past the old cut
 * at 255 bytes) round-trip whole, and version 1 regions still read.
 */
#include "fts_oracle.h"

#include "index/fts/fts_int.h"
#include "util/crc32c.h"
#include "util/rd.h"

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
    uint8_t **t; /* owned copies */
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
    l->t[l->n] = mem_alloc(len);
    memcpy(l->t[l->n], t, len);
    l->len[l->n] = len;
    l->info[l->n] = *info;
    l->n++;
    return INFINO_OK;
}

static void tlist_free(struct tlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        mem_free(l->t[i]);
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
        /* at most 16 KiB: a 500-doc corpus over 100+ words exceeds it
         * (32 KiB with 10 words did not always, so nothing spilled) */
        size_t budget = (size_t)4096 << (iter % 3);

        corpus_random(&c, n, 100 + test_rand() % 5000, iter % 2, 500);
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

/* Damages copies of the region `good` `iters` times, fixing the CRC:
 * every call returns OK or CORRUPT, never crashes or reads outside the
 * region (ASan watches). Returns how many damaged copies opened. */
static int damage_region(const uint8_t *good, size_t len,
                         const struct corpus *c, int iters)
{
    uint8_t *bad = mem_alloc(len);
    int n_open = 0;

    for (int iter = 0; iter < iters; iter++) {
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
        /* the chunk checks would catch it all: reach the decoders */
        st = fts_reader_open(&r, bad, n, "damaged",
                             FTS_OPEN_VERIFY_CRC | FTS_OPEN_NO_CHUNK_CRC);
        assert_true(st == INFINO_OK || st == INFINO_ERR_CORRUPT ||
                    st == INFINO_ERR_UNSUPPORTED);
        if (st != INFINO_OK)
            continue;
        n_open++;
        st = fts_reader_prefix(r, NULL, 0, walk_term, r);
        assert_true(st == INFINO_OK || st == INFINO_ERR_CORRUPT);
        for (size_t v = 0; v < c->n_vocab; v += 7) {
            struct fts_term_info ti;
            st = fts_reader_lookup(&ti, r, (const uint8_t *)c->vocab[v],
                                   strlen(c->vocab[v]));
            assert_true(st == INFINO_OK || st == INFINO_ERR_CORRUPT ||
                        st == INFINO_ERR_NOTFOUND);
        }
        fts_reader_close(r);
    }
    mem_free(bad);
    return n_open;
}

static void test_fts_index__damage_never_crashes(void **state)
{
    struct corpus c;
    uint8_t *good, *bad;
    size_t len;
    (void)state;

    test_seed();
    corpus_random(&c, 700, 300, true, 400);
    region_build(&c, 0, c.n, 0, &good, &len, NULL, NULL);
    /* some damage lands in postings, leaving the region openable */
    assert_true(damage_region(good, len, &c, 3000) > 100);
    /* without the CRC fix-up, damage is caught at open */
    bad = mem_alloc(len);
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

/* Walks everything a region holds: every dictionary block, every
 * postings record and block, the summary. CORRUPT from any call: *bad. */
static infino_status count_one(uint32_t doc, uint32_t tf, void *payload)
{
    (void)doc;
    (void)tf;
    ++*(uint64_t *)payload;
    return INFINO_OK;
}

static infino_status walk_all(const uint8_t *t, size_t len,
                              const struct fts_term_info *info, void *payload)
{
    uint64_t n = 0;
    infino_status st = fts_reader_postings(payload, info, count_one, &n);

    (void)t;
    (void)len;
    if (st == INFINO_OK)
        assert_int_equal(n, info->df);
    return st;
}

static bool walk_finds_damage(const uint8_t *data, size_t len)
{
    struct fts_reader *r;
    const uint8_t *sp;
    size_t sn;
    infino_status st = fts_reader_open(&r, data, len, "sf-9:body", 0);

    if (st == INFINO_OK)
        st = fts_reader_prefix(r, NULL, 0, walk_all, r);
    if (st == INFINO_OK)
        st = fts_reader_summary_verified(r, &sp, &sn);
    fts_reader_close(r);
    if (st != INFINO_OK) {
        assert_int_equal(st, INFINO_ERR_CORRUPT);
        assert_non_null(strstr(err_last(), "sf-9:body"));
    }
    return st != INFINO_OK;
}

/* Format 4: with no whole-region CRC checked at open, the per-chunk
 * checks still catch a flip anywhere in the region, at open (checks
 * section, trailer, header, block index, doc lengths) or when the flipped
 * chunk is first read; a lookup that reads other chunks only is not
 * failed by it. The corpus ends (bytewise) with "zz", in half the docs
 * with random tfs: its bit-packed blocks fill the last postings chunks
 * alone, so only the check before decoding a block can catch a flip
 * there. */
static void test_fts_index__chunk_checks_catch_every_flip(void **state)
{
    const uint32_t n = 200000;
    struct corpus c = {0};
    uint8_t *good, *bad;
    size_t len, post_len;
    (void)state;

    test_seed();
    c.n = n;
    c.docs = mem_calloc(n, sizeof *c.docs);
    c.lens = mem_calloc(n, sizeof *c.lens);
    for (uint32_t d = 0; d < n; d++) {
        char text[64];
        int m = snprintf(text, sizeof text, "w%u", (unsigned)(d % 40));
        if (test_rand() % 2)
            for (uint64_t k = test_rand() % 6; k < 6; k++)
                m += snprintf(text + m, sizeof text - (size_t)m, " zz");
        c.docs[d] = mem_strdup(text);
        c.lens[d] = (size_t)m;
    }
    region_build(&c, 0, n, 0, &good, &len, NULL, NULL);
    assert_int_equal(load_u32le(good + 8), 4);
    post_len = (size_t)load_u64le(good + len - FTS_TRAILER_LEN + TR_POST_LEN);
    assert_true(post_len > 6 * 16384); /* several chunks of postings */
    assert_false(walk_finds_damage(good, len));
    bad = mem_alloc(len);
    for (int iter = 0; iter < 200; iter++) {
        /* anywhere, or in the last 2 chunks of postings (zz's blocks) */
        size_t at = iter % 2 ? (size_t)(test_rand() % len)
                             : 16 + post_len - 1 -
                                   (size_t)(test_rand() % (2 * 16384));
        memcpy(bad, good, len);
        bad[at] ^= (uint8_t)(1u << (test_rand() % 8));
        if (!walk_finds_damage(bad, len))
            fail_msg("flip at %zu of %zu not caught", at, len);
    }
    /* a flip in the second chunk (postings only): a lookup, which reads
     * the dictionary, still answers (nothing verified the whole region) */
    memcpy(bad, good, len);
    bad[16384 + 100] ^= 1;
    {
        struct fts_reader *r;
        struct fts_term_info ti;
        assert_ok(fts_reader_open(&r, bad, len, "sf-9:body", 0));
        assert_ok(fts_reader_lookup(&ti, r, (const uint8_t *)"zz", 2));
        fts_reader_close(r);
    }
    mem_free(bad);
    mem_free(good);
    corpus_free(&c);
}

/* Pruning checks the summary's header, its extreme terms and the filter
 * block a term probes, not the whole filter: a flip in the probed block
 * is caught, one in a block of another chunk is not read (check() would
 * find it). 100,000 unique terms: a filter of about 8 chunks. */
static void test_fts_index__summary_checks_the_probed_block(void **state)
{
    const uint32_t n = 100000;
    struct corpus c = {0};
    struct fts_reader *r;
    struct fts_summary sum;
    struct fts_query *q = NULL;
    const uint8_t *sp;
    uint8_t *good, *bad;
    size_t len, sn, bits, blk = 0, other;
    char t[16];
    (void)state;

    c.n = n;
    c.docs = mem_calloc(n, sizeof *c.docs);
    c.lens = mem_calloc(n, sizeof *c.lens);
    for (uint32_t d = 0; d < n; d++) {
        char text[16];
        c.lens[d] = (size_t)snprintf(text, sizeof text, "t%u", (unsigned)d);
        c.docs[d] = mem_strdup(text);
    }
    region_build(&c, 0, n, 0, &good, &len, NULL, NULL);
    assert_ok(fts_reader_open(&r, good, len, "sf-9:body", 0));
    sp = fts_reader_summary(r, &sn);
    assert_ok(fts_summary_open(&sum, sp, sn));
    bits = (size_t)(sum.bits - good);
    assert_true(sn > 6 * 16384);
    /* a term whose block lies in a chunk after the summary's first */
    for (uint32_t d = 0; d < n; d++) {
        size_t tl = (size_t)snprintf(t, sizeof t, "t%u", (unsigned)d);
        blk = bits + fts_summary_block_offset(&sum, (const uint8_t *)t, tl);
        if ((blk >> 14) > (bits >> 14) + 1 &&
            (blk >> 14) < ((size_t)(sp - good + sn) >> 14) - 1)
            break;
    }
    assert_true((blk >> 14) > (bits >> 14) + 1);
    other = blk + 16384 + 64; /* another chunk of the filter */
    assert_ok(fts_query_new(&q, NULL));
    assert_ok(fts_query_add_term(q, (const uint8_t *)t, strlen(t), false));
    assert_ok(fts_reader_verify_summary_for(r, &sum, q));
    fts_reader_close(r);
    bad = mem_alloc(len);
    for (int k = 0; k < 3; k++) {
        memcpy(bad, good, len);
        bad[k == 0 ? blk + 5 : k == 1 ? bits - 2 : other] ^= 4;
        if (k == 1 && fts_reader_open(&r, bad, len, "sf-9:body", 0) ==
                          INFINO_ERR_CORRUPT)
            continue; /* the header's chunk holds doc lengths: open read it */
        if (k != 1)
            assert_ok(fts_reader_open(&r, bad, len, "sf-9:body", 0));
        sp = fts_reader_summary(r, &sn);
        assert_ok(fts_summary_open(&sum, sp, sn));
        if (k < 2)
            assert_int_equal(fts_reader_verify_summary_for(r, &sum, q),
                             INFINO_ERR_CORRUPT);
        else
            assert_ok(fts_reader_verify_summary_for(r, &sum, q));
        fts_reader_close(r);
    }
    fts_query_free(q);
    mem_free(bad);
    mem_free(good);
    corpus_free(&c);
}

/* ---- long terms ----------------------------------------------------------- */

static char *repeat(const char *unit, size_t times, const char *tail)
{
    struct buf b = {0};

    for (size_t i = 0; i < times; i++)
        buf_append_str(&b, unit);
    buf_append_str(&b, tail);
    buf_put_u8(&b, 0);
    return (char *)buf_detach(&b, NULL);
}

/* A corpus whose vocabulary mixes short words with families of long ones
 * sharing prefixes (cut around 127/128 and 255/256 bytes, where the
 * dictionary switches from u8 to 2-byte varints and from front-coded to
 * whole terms), long Unicode words and a few very long ones. */
static void corpus_long(struct corpus *c, uint32_t n, size_t max_long)
{
    static const size_t cuts[] = {1, 2, 16, 17, 127, 128, 129, 200,
                                  254, 255, 256, 257, 300, 399};
    size_t cap = 160, nv = 0;

    memset(c, 0, sizeof *c);
    c->vocab = mem_calloc(cap, sizeof *c->vocab);
    for (int f = 0; f < 4; f++) {
        char base[400];
        for (size_t i = 0; i < sizeof base; i++)
            base[i] = (char)('a' + test_rand() % (f == 0 ? 1 : 3));
        for (size_t k = 0; k < sizeof cuts / sizeof *cuts; k++) {
            size_t l = cuts[k], tail = test_rand() % 3 ? 0 : 1 + test_rand() % 50;
            char *w = mem_alloc(l + tail + 1);
            memcpy(w, base, l);
            for (size_t i = 0; i < tail; i++)
                w[l + i] = (char)('a' + test_rand() % 26);
            w[l + tail] = 0;
            c->vocab[nv++] = w;
        }
    }
    c->vocab[nv++] = repeat("a", 255, "zzz");
    c->vocab[nv++] = repeat("a", 255, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb");
    c->vocab[nv++] = repeat("\xc3\x89", 100, "");  /* 200 bytes folded */
    c->vocab[nv++] = repeat("\xc3\x89", 128, "x"); /* 257 */
    c->vocab[nv++] = repeat("\xe6\x97\xa5", 90, ""); /* 270 */
    c->vocab[nv++] = repeat("q", max_long, "");
    c->vocab[nv++] = repeat("q", max_long / 3, "r");
    while (nv < cap)
        c->vocab[nv++] = random_word();
    c->n_vocab = nv;
    c->n = n;
    c->docs = mem_calloc(n ? n : 1, sizeof *c->docs);
    c->lens = mem_calloc(n ? n : 1, sizeof *c->lens);
    for (uint32_t d = 0; d < n; d++) {
        struct buf b = {0};
        uint64_t words = test_rand() % 13;
        if (test_rand() % 20 == 0)
            continue;
        for (uint64_t i = 0; i < words; i++) {
            size_t v = test_rand() % nv;
            /* the very long words are rare */
            if (strlen(c->vocab[v]) > 1000 && test_rand() % 8)
                v = 0;
            buf_append_str(&b, i ? " " : "");
            buf_append_str(&b, c->vocab[v]);
        }
        buf_put_u8(&b, 0);
        c->lens[d] = b.len - 1;
        c->docs[d] = (char *)buf_detach(&b, NULL);
    }
}

static void lookup_absent(const struct fts_reader *r, const char *t)
{
    struct fts_term_info ti;

    assert_int_equal(fts_reader_lookup(&ti, r, (const uint8_t *)t,
                                       strlen(t)),
                     INFINO_ERR_NOTFOUND);
}

/* Long terms are indexed whole (they were cut at 255 bytes, so 'a' * 255
 * + 'zzz' found both 'a' * 300 and 'a' * 255 + 'b' * 45). */
static void test_fts_index__long_terms_whole(void **state)
{
    (void)state;
    test_seed();
    /* the example, checked by hand */
    {
        char *docs[3] = {repeat("a", 300, ""), repeat("A", 255, " x"),
                         repeat("a", 255, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
                                          "bbbbbbbbbb")};
        size_t lens[3] = {strlen(docs[0]), strlen(docs[1]), strlen(docs[2])};
        struct corpus c = {docs, lens, 3, NULL, 0, NULL};
        char *a300 = repeat("a", 300, ""), *zzz = repeat("a", 255, "zzz");
        char *a256 = repeat("a", 256, ""), *a255 = repeat("a", 255, "");
        struct fts_term_info ti;
        struct fts_reader *r;
        struct tlist l = {0};
        uint8_t *data;
        size_t len;

        region_build(&c, 0, 3, 0, &data, &len, NULL, NULL);
        assert_ok(fts_reader_open(&r, data, len, "aaa", FTS_OPEN_VERIFY_CRC));
        assert_int_equal(fts_reader_n_terms(r), 4); /* x, a*255, a*255b, a*300 */
        lookup_absent(r, zzz);
        lookup_absent(r, a256);
        assert_ok(fts_reader_lookup(&ti, r, (const uint8_t *)a300, 300));
        assert_int_equal(ti.df, 1);
        assert_int_equal(ti.inline_doc, 0);
        assert_ok(fts_reader_lookup(&ti, r, (const uint8_t *)a255, 255));
        assert_int_equal(ti.inline_doc, 1);
        assert_ok(fts_reader_lookup(&ti, r, (const uint8_t *)docs[2], 300));
        assert_int_equal(ti.inline_doc, 2);
        /* prefix iteration hands out whole terms */
        assert_ok(fts_reader_prefix(r, (const uint8_t *)a255, 255,
                                    collect_term, &l));
        assert_int_equal(l.n, 3);
        assert_int_equal(l.len[0], 255);
        assert_int_equal(l.len[1], 300);
        assert_memory_equal(l.t[1], a300, 300);
        assert_int_equal(l.len[2], 300);
        assert_memory_equal(l.t[2], docs[2], 300);
        tlist_free(&l);
        fts_reader_close(r);
        mem_free(data);
        for (int i = 0; i < 3; i++)
            mem_free(docs[i]);
        mem_free(a300);
        mem_free(zzz);
        mem_free(a256);
        mem_free(a255);
    }
    for (int iter = 0; iter < 6; iter++) {
        struct corpus c;
        struct oracle o;
        struct fts_reader *r;
        struct fts_region_info a_info, b_info;
        struct buf a_sum = {0}, b_sum = {0};
        struct fts_summary sum;
        uint8_t *a, *b;
        size_t a_len, b_len;
        uint32_t n = 200 + (uint32_t)(test_rand() % 1500);

        corpus_long(&c, n, iter == 0 ? 70000 : 600 + test_rand() % 5000);
        oracle_build(&o, &c, 0, n);
        region_build(&c, 0, n, 0, &a, &a_len, &a_info, &a_sum);
        region_build(&c, 0, n, 8192, &b, &b_len, &b_info, &b_sum);
        assert_true(b_info.n_runs > 1);
        assert_int_equal(a_len, b_len);
        assert_memory_equal(a, b, a_len);
        assert_int_equal(a_sum.len, b_sum.len);
        assert_memory_equal(a_sum.data, b_sum.data, a_sum.len);
        assert_ok(fts_reader_open(&r, a, a_len, "long", FTS_OPEN_VERIFY_CRC));
        check_against_oracle(r, &o);
        /* the summary keeps short extremes yet never rules out a term or
         * a prefix of one */
        assert_ok(fts_summary_open(&sum, a_sum.data, a_sum.len));
        assert_true(sum.min_len <= FTS_SUMMARY_MAX_TERM &&
                    sum.max_len <= FTS_SUMMARY_MAX_TERM);
        for (size_t i = 0; i < o.n_terms; i++) {
            const struct oterm *t = &o.terms[i];
            assert_true(fts_summary_may_contain(&sum, t->t, t->len));
            assert_true(fts_summary_may_contain_prefix(&sum, t->t, t->len));
            assert_true(
                fts_summary_may_contain_prefix(&sum, t->t, 1 + t->len / 2));
        }
        if (o.n_terms > 0 && o.terms[o.n_terms - 1].len > FTS_SUMMARY_MAX_TERM)
            assert_true(sum.max_cut);
        /* damage anywhere, long terms included, is refused cleanly */
        assert_true(damage_region(a, a_len, &c, 400) > 0);
        fts_reader_close(r);
        mem_free(a);
        mem_free(b);
        buf_free(&a_sum);
        buf_free(&b_sum);
        oracle_free(&o);
        corpus_free(&c);
    }
}

/* ---- version 1 ------------------------------------------------------------ */

/* Rewrites a version 2 region whose terms are at most 255 bytes in the
 * version 1 encoding (u8 suffix lengths), as the previous writer made
 * it: the dictionary shrinks, so the index, doc length and summary
 * sections move and the trailer and CRC are redone. Returns the length. */
static size_t to_version_1(uint8_t *out, const uint8_t *in, size_t len)
{
    const uint8_t *tr = in + len - FTS_TRAILER_LEN;
    uint64_t n_terms = load_u64le(tr + TR_N_TERMS);
    uint64_t dict_off = load_u64le(tr + TR_DICT_OFF);
    uint64_t dict_len = load_u64le(tr + TR_DICT_LEN);
    uint64_t index_off = load_u64le(tr + TR_INDEX_OFF);
    uint64_t index_len = load_u64le(tr + TR_INDEX_LEN);
    uint64_t tail_off = load_u64le(tr + TR_DL_OFF);
    /* doc lengths and summary; a version 4 input's checks section and
     * 24-byte index entries are left out */
    uint64_t tail_end =
        load_u64le(tr + TR_SUMMARY_OFF) + load_u64le(tr + TR_SUMMARY_LEN);
    size_t in_entry = load_u32le(in + 8) >= 4 ? FTS_INDEX_ENTRY_LEN_V4
                                              : FTS_INDEX_ENTRY_LEN;
    struct rd rd = rd_make(in + dict_off, (size_t)dict_len);
    size_t o = (size_t)dict_off, n_index = 0;
    uint64_t new_index[4096];
    uint8_t *otr;

    memcpy(out, in, (size_t)dict_off);
    store_u32le(out + 8, 1);
    for (uint64_t i = 0; i < n_terms; i++) {
        uint8_t pre = 0;
        uint64_t suf = 0, v;
        const uint8_t *p = NULL, *start;

        if (i % FTS_DICT_BLOCK_TERMS == 0) {
            assert_true(n_index < 4096);
            new_index[n_index++] = o - dict_off;
        }
        assert_int_equal(rd_u8(&rd, &pre), 0);
        assert_int_equal(rd_uvarint(&rd, &suf), 0);
        assert_true(pre + suf <= 255);
        out[o++] = pre;
        out[o++] = (uint8_t)suf;
        assert_int_equal(rd_bytes(&rd, (size_t)suf, &p), 0);
        memcpy(out + o, p, (size_t)suf);
        o += (size_t)suf;
        start = rd.p; /* df and the two varints after it, unchanged */
        for (int k = 0; k < 3; k++)
            assert_int_equal(rd_uvarint(&rd, &v), 0);
        memcpy(out + o, start, (size_t)(rd.p - start));
        o += (size_t)(rd.p - start);
    }
    assert_int_equal(rd_left(&rd), 0);
    assert_int_equal(n_index, index_len / in_entry);
    {
        uint64_t new_dict_len = o - dict_off, new_index_off = o;
        for (size_t b = 0; b < n_index; b++) {
            store_u64le(out + o, new_index[b]);
            memcpy(out + o + 8, in + index_off + b * in_entry + 8, 8);
            o += FTS_INDEX_ENTRY_LEN;
        }
        int64_t shift = (int64_t)o - (int64_t)tail_off;
        memcpy(out + o, in + tail_off, (size_t)(tail_end - tail_off));
        o += (size_t)(tail_end - tail_off);
        otr = out + o;
        memcpy(otr, tr, FTS_TRAILER_LEN);
        store_u64le(otr + TR_INDEX_LEN, n_index * FTS_INDEX_ENTRY_LEN);
        /* the version 1 writer set no summary flags */
        out[load_u64le(tr + TR_SUMMARY_OFF) + (uint64_t)shift + 15] = 0;
        store_u64le(otr + TR_DICT_LEN, new_dict_len);
        store_u64le(otr + TR_INDEX_OFF, new_index_off);
        store_u64le(otr + TR_DL_OFF,
                    (uint64_t)((int64_t)load_u64le(tr + TR_DL_OFF) + shift));
        store_u64le(otr + TR_SUMMARY_OFF,
                    (uint64_t)((int64_t)load_u64le(tr + TR_SUMMARY_OFF) +
                               shift));
        o += FTS_TRAILER_LEN;
    }
    fix_crc(out, o);
    return o;
}

/* Regions of format version 1 (u8 term lengths, before long terms) still
 * read: the same corpus in both encodings gives the same answers. */
static void test_fts_index__reads_version_1(void **state)
{
    (void)state;
    test_seed();
    for (int iter = 0; iter < 8; iter++) {
        struct corpus c;
        struct oracle o;
        struct fts_reader *r;
        uint8_t *v2, *v1;
        size_t v2_len, v1_len;
        uint32_t n = 50 + (uint32_t)(test_rand() % 1500);

        /* words of up to 255 bytes: the most version 1 could hold */
        corpus_long(&c, n, 255);
        for (size_t i = 0; i < c.n_vocab; i++)
            if (strlen(c.vocab[i]) > 255)
                c.vocab[i][255] = 0;
        for (uint32_t d = 0; d < n; d++) {
            struct buf b = {0};
            uint64_t words = test_rand() % 13;
            mem_free(c.docs[d]);
            for (uint64_t i = 0; i < words; i++) {
                buf_append_str(&b, i ? ", " : "");
                buf_append_str(&b, c.vocab[test_rand() % c.n_vocab]);
            }
            buf_put_u8(&b, 0);
            c.lens[d] = b.len - 1;
            c.docs[d] = (char *)buf_detach(&b, NULL);
        }
        oracle_build(&o, &c, 0, n);
        region_build(&c, 0, n, 0, &v2, &v2_len, NULL, NULL);
        v1 = mem_alloc(v2_len);
        v1_len = to_version_1(v1, v2, v2_len);
        assert_true(v1_len < v2_len); /* some suffixes took 2 bytes */
        assert_ok(fts_reader_open(&r, v1, v1_len, "v1", FTS_OPEN_VERIFY_CRC));
        check_against_oracle(r, &o);
        fts_reader_close(r);
        assert_true(damage_region(v1, v1_len, &c, 200) > 0);
        mem_free(v1);
        mem_free(v2);
        oracle_free(&o);
        corpus_free(&c);
    }
}

/* Version 1 stored long tokens cut to 255 bytes (at a code point
 * boundary); a whole term looked up there is cut the same way, so old
 * files find long tokens as they did until they are rewritten. */
static void test_fts_index__version_1_finds_cut_tokens(void **state)
{
    /* what the old writer stored for 'a' * 300 and 'É' * 200 */
    char *docs[2] = {repeat("a", 255, ""), repeat("\xc3\xa9", 127, "")};
    size_t lens[2] = {255, 254};
    struct corpus c = {docs, lens, 2, NULL, 0, NULL};
    char *a300 = repeat("a", 300, ""), *e200 = repeat("\xc3\xa9", 200, "");
    struct fts_term_info ti;
    struct fts_summary sum;
    struct fts_reader *r;
    const uint8_t *sp;
    uint8_t *v2, *v1;
    size_t v2_len, v1_len, sn;
    (void)state;

    region_build(&c, 0, 2, 0, &v2, &v2_len, NULL, NULL);
    v1 = mem_alloc(v2_len);
    v1_len = to_version_1(v1, v2, v2_len);
    assert_ok(fts_reader_open(&r, v1, v1_len, "v1", FTS_OPEN_VERIFY_CRC));
    assert_ok(fts_reader_lookup(&ti, r, (const uint8_t *)a300, 300));
    assert_int_equal(ti.inline_doc, 0);
    assert_ok(fts_reader_lookup(&ti, r, (const uint8_t *)e200, 400));
    assert_int_equal(ti.inline_doc, 1);
    sp = fts_reader_summary(r, &sn);
    assert_ok(fts_summary_open(&sum, sp, sn));
    assert_false(sum.whole_terms);
    assert_true(fts_summary_may_contain(&sum, (const uint8_t *)a300, 300));
    assert_true(fts_summary_may_contain(&sum, (const uint8_t *)e200, 400));
    fts_reader_close(r);
    /* the same region as version 2: whole terms, no cutting */
    assert_ok(fts_reader_open(&r, v2, v2_len, "v2", FTS_OPEN_VERIFY_CRC));
    lookup_absent(r, a300);
    lookup_absent(r, e200);
    sp = fts_reader_summary(r, &sn);
    assert_ok(fts_summary_open(&sum, sp, sn));
    assert_true(sum.whole_terms);
    fts_reader_close(r);
    mem_free(v1);
    mem_free(v2);
    mem_free(docs[0]);
    mem_free(docs[1]);
    mem_free(a300);
    mem_free(e200);
}

/* Version 1 never held a term over 255 bytes; an unknown version is
 * refused as unsupported, not read as something else. */
static void test_fts_index__version_checks(void **state)
{
    const char *doc = "ab";
    size_t doc_len = 2;
    struct corpus c = {(char **)&doc, &doc_len, 1, NULL, 0, NULL};
    struct fts_reader *r;
    uint8_t *data;
    size_t len;
    uint64_t dict_off;
    (void)state;

    fts_test_write_version(3); /* the layout of versions 1 to 3 */
    region_build(&c, 0, 1, 0, &data, &len, NULL, NULL);
    fts_test_write_version(0);
    dict_off = load_u64le(data + len - FTS_TRAILER_LEN + TR_DICT_OFF);
    /* entry: pre 0, suf 2, "ab": as version 1, claim 255 + 2 bytes */
    assert_int_equal(data[dict_off], 0);
    assert_int_equal(data[dict_off + 1], 2);
    store_u32le(data + 8, 1);
    fix_crc(data, len);
    assert_ok(fts_reader_open(&r, data, len, "v1", FTS_OPEN_VERIFY_CRC));
    fts_reader_close(r);
    data[dict_off] = 255;
    fix_crc(data, len);
    assert_ok(fts_reader_open(&r, data, len, "v1", FTS_OPEN_VERIFY_CRC));
    assert_int_equal(fts_reader_prefix(r, NULL, 0, walk_term, r),
                     INFINO_ERR_CORRUPT);
    fts_reader_close(r);
    data[dict_off] = 0;
    /* version 3 records the analysis in the trailer; 2 leaves it zero */
    store_u32le(data + 8, 3);
    data[len - FTS_TRAILER_LEN + TR_AN_BASE] = FTS_BASE_STANDARD + 1;
    fix_crc(data, len);
    assert_int_equal(fts_reader_open(&r, data, len, "v3", 0),
                     INFINO_ERR_CORRUPT);
    data[len - FTS_TRAILER_LEN + TR_AN_BASE] = 0;
    data[len - FTS_TRAILER_LEN + TR_AN_STOP] = 2; /* armenian: no list */
    fix_crc(data, len);
    assert_int_equal(fts_reader_open(&r, data, len, "v3", 0),
                     INFINO_ERR_CORRUPT);
    data[len - FTS_TRAILER_LEN + TR_AN_STOP] = 0;
    /* a version 3 layout claiming 4: no checks section */
    store_u32le(data + 8, 4);
    fix_crc(data, len);
    assert_int_equal(fts_reader_open(&r, data, len, "v4", 0),
                     INFINO_ERR_CORRUPT);
    /* 5 (positions) is read; 6 is not; flags other than positions, or
     * any flag before 5, are refused */
    store_u32le(data + 8, 6);
    fix_crc(data, len);
    assert_int_equal(fts_reader_open(&r, data, len, "v6", 0),
                     INFINO_ERR_UNSUPPORTED);
    store_u32le(data + 8, 4);
    store_u32le(data + 12, 1);
    fix_crc(data, len);
    assert_int_equal(fts_reader_open(&r, data, len, "v4", 0),
                     INFINO_ERR_UNSUPPORTED);
    store_u32le(data + 8, 5);
    store_u32le(data + 12, 2);
    fix_crc(data, len);
    assert_int_equal(fts_reader_open(&r, data, len, "v5", 0),
                     INFINO_ERR_UNSUPPORTED);
    store_u32le(data + 12, 0);
    store_u32le(data + 8, 0);
    fix_crc(data, len);
    assert_int_equal(fts_reader_open(&r, data, len, "v0", 0),
                     INFINO_ERR_UNSUPPORTED);
    mem_free(data);
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
        cmocka_unit_test(test_fts_index__chunk_checks_catch_every_flip),
        cmocka_unit_test(test_fts_index__summary_checks_the_probed_block),
        cmocka_unit_test(test_fts_index__long_terms_whole),
        cmocka_unit_test(test_fts_index__reads_version_1),
        cmocka_unit_test(test_fts_index__version_1_finds_cut_tokens),
        cmocka_unit_test(test_fts_index__version_checks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
