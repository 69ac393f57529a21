/*
 * fts_positions_test.c - token positions in the region (format 5).
 *
 * Differential: random corpora (stop words, a stemmer, repeated tokens,
 * empty and null docs, docs shorter than the phrases) are indexed with
 * and without positions, in memory and spilled; every posting's stored
 * positions equal a brute-force tokenization's, and every phrase query
 * gives bit-identical hits and scores on the positions path and on the
 * re-tokenizing path (the oracle), whose phrase matches equal a brute
 * force. Corruption: damaged positions bytes are INFINO_ERR_CORRUPT naming
 * the region (or, with chunk CRCs off, any well-formed reading), never a
 * crash.
 */
#include "harness.h"
#include "index/fts/fts_int.h"
#include "util/alloc.h"

#include <roaring/roaring.h>

/* ---- corpus ------------------------------------------------------------- */

static const char *const vocab[] = {
    "the", "of", "a", "run", "runs", "running", "cat", "cats",
    "sky", "Sea", "fox", "x",
};
#define N_VOCAB (sizeof vocab / sizeof *vocab)
static const char *const seps[] = {" ", ", ", "-", " / ", ". ", "\n", "  "};

struct corpus {
    char **docs; /* NULL: a null doc (its id skipped) */
    size_t *lens;
    uint32_t n;
};

static void corpus_make(struct corpus *c, uint32_t n)
{
    c->n = n;
    c->docs = mem_calloc(n, sizeof *c->docs);
    c->lens = mem_calloc(n, sizeof *c->lens);
    for (uint32_t d = 0; d < n; d++) {
        size_t n_words, cap = 2048, len = 0;
        char *t;
        if (test_rand() % 11 == 0)
            continue; /* null */
        n_words = test_rand() % 6 == 0 ? 0 : test_rand() % 40;
        t = mem_alloc(cap);
        if (test_rand() % 4 == 0)
            len += (size_t)snprintf(t + len, cap - len, "%s",
                                    seps[test_rand() % 7]);
        for (size_t i = 0; i < n_words; i++) {
            /* runs of one word now and then: "x x x" */
            const char *w = vocab[test_rand() % 5 == 0 ? N_VOCAB - 1
                                                       : test_rand() % N_VOCAB];
            len += (size_t)snprintf(t + len, cap - len, "%s%s",
                                    i ? seps[test_rand() % 7] : "", w);
        }
        c->docs[d] = t;
        c->lens[d] = len;
    }
}

static void corpus_free(struct corpus *c)
{
    for (uint32_t d = 0; d < c->n; d++)
        mem_free(c->docs[d]);
    mem_free(c->docs);
    mem_free(c->lens);
}

static void build(uint8_t **out, size_t *len_out, const struct corpus *c,
                  const struct fts_analysis *an, bool positions, size_t budget)
{
    struct fts_writer_opts o = {budget, NULL, an, positions};
    struct fts_region_info info;
    struct fts_writer *w;
    struct store_sink *sink;

    assert_ok(fts_writer_new(&w, &o));
    for (uint32_t d = 0; d < c->n; d++)
        if (c->docs[d] != NULL)
            assert_ok(fts_writer_add(w, d, c->docs[d], c->lens[d]));
    assert_ok(store_sink_open_memory(&sink, "positions-test"));
    assert_ok(fts_writer_finish(w, sink, c->n, &info, NULL));
    assert_ok(store_sink_take_memory(sink, out, len_out));
    fts_writer_free(w);
}

/* ---- brute force: each doc's (token, position) list --------------------- */

struct tokpos {
    char tok[32];
    uint32_t pos;
};
struct doc_toks {
    struct tokpos *v;
    size_t n, cap;
};
struct tok_walk {
    struct fts_tokenizer *tk;
    struct doc_toks *dt;
};

static infino_status on_tok(const uint8_t *t, size_t len, void *payload)
{
    struct tok_walk *w = payload;

    assert_true(len < 32);
    assert_false(MEM_RESERVE(w->dt->v, w->dt->cap, w->dt->n + 1));
    memcpy(w->dt->v[w->dt->n].tok, t, len);
    w->dt->v[w->dt->n].tok[len] = 0;
    w->dt->v[w->dt->n++].pos = fts_tokenizer_position(w->tk);
    return INFINO_OK;
}

static struct doc_toks *tokenize_all(const struct corpus *c,
                                     const struct fts_analysis *an)
{
    struct doc_toks *dt = mem_calloc(c->n, sizeof *dt);
    struct tok_walk w;

    assert_ok(fts_tokenizer_new(&w.tk, an));
    for (uint32_t d = 0; d < c->n; d++) {
        w.dt = &dt[d];
        if (c->docs[d] != NULL)
            assert_ok(fts_tokenize_positions(w.tk, c->docs[d], c->lens[d],
                                             on_tok, &w));
    }
    fts_tokenizer_free(w.tk);
    return dt;
}

static void doc_toks_free(struct doc_toks *dt, uint32_t n)
{
    for (uint32_t d = 0; d < n; d++)
        mem_free(dt[d].v);
    mem_free(dt);
}

/* Occurrences of phrase ph in doc dt: starts p0 where every token k
 * stands at p0 + rel[k]. */
static uint32_t brute_pf(const struct doc_toks *dt,
                         const struct fts_qphrase *ph)
{
    uint32_t pf = 0;

    for (size_t i = 0; i < dt->n; i++) {
        size_t k;
        for (k = 0; k < ph->n; k++) {
            uint64_t want = (uint64_t)dt->v[i].pos + ph->rel[k];
            bool found = false;
            for (size_t j = 0; j < dt->n && !found; j++)
                found = dt->v[j].pos == want &&
                        strlen(dt->v[j].tok) == ph->tok[k].len &&
                        memcmp(dt->v[j].tok, ph->tok[k].bytes,
                               ph->tok[k].len) == 0;
            if (!found)
                break;
        }
        /* count each start position once (a position holds one token) */
        if (k == ph->n)
            pf++;
    }
    return pf;
}

/* ---- stored positions equal the brute force's --------------------------- */

struct term_walk {
    const struct fts_reader *r;
    const struct doc_toks *dt;
    uint64_t n_postings;
};

static infino_status check_term(const uint8_t *term, size_t len,
                                const struct fts_term_info *info,
                                void *payload)
{
    struct term_walk *w = payload;
    struct fts_cursor *c = mem_alloc(sizeof *c);
    uint32_t pos[256];

    assert_ok(fts_cursor_open(c, w->r, info));
    assert_ok(fts_cursor_next(c));
    while (c->doc != FTS_NO_DOC) {
        const struct doc_toks *dt = &w->dt[c->doc];
        uint32_t tf = fts_cursor_tf(c), n = 0;
        assert_true(tf <= 256);
        assert_ok(fts_cursor_positions(c, pos));
        for (size_t i = 0; i < dt->n; i++)
            if (strlen(dt->v[i].tok) == len &&
                memcmp(dt->v[i].tok, term, len) == 0) {
                assert_true(n < tf);
                assert_int_equal(pos[n], dt->v[i].pos);
                n++;
            }
        assert_int_equal(n, tf);
        w->n_postings++;
        assert_ok(fts_cursor_next(c));
    }
    mem_free(c);
    return INFINO_OK;
}

/* ---- phrase queries on both paths --------------------------------------- */

struct oracle_verify {
    const struct corpus *c;
    struct fts_phrase_matcher *m;
    const struct fts_query *q;
};

static infino_status verify_texts(void *payload, size_t phrase,
                                  const uint32_t *docs, size_t n,
                                  uint32_t *pf)
{
    struct oracle_verify *v = payload;

    for (size_t i = 0; i < n; i++) {
        infino_status st;
        if (v->c->docs[docs[i]] == NULL)
            continue;
        st = fts_phrase_count(&pf[i], v->m, v->q, phrase, v->c->docs[docs[i]],
                              v->c->lens[docs[i]]);
        if (st != INFINO_OK)
            return st;
    }
    return INFINO_OK;
}

static infino_status never_called(void *payload, size_t phrase,
                                  const uint32_t *docs, size_t n,
                                  uint32_t *pf)
{
    (void)payload, (void)phrase, (void)docs, (void)n, (void)pf;
    fail_msg("a region with positions read the text back");
    return INFINO_ERR_INVALID;
}

/* A random query: 1..3 clauses, phrases of 2..7 words (repeats allowed,
 * longer than many docs), plain and negated terms and phrases. */
static size_t random_query(char *text, size_t cap)
{
    size_t n_cl = 1 + test_rand() % 3, off = 0;

    for (size_t i = 0; i < n_cl; i++) {
        size_t n = test_rand() % 4 ? 2 + test_rand() % (test_rand() % 5 ? 2
                                                                        : 6)
                                   : 1;
        bool neg = i > 0 && test_rand() % 4 == 0;
        off += (size_t)snprintf(text + off, cap - off, "%s%s",
                                neg ? "-" : "", n > 1 ? "\"" : "");
        for (size_t k = 0; k < n; k++) {
            size_t w = test_rand() % 3 == 0 ? N_VOCAB - 1
                                            : test_rand() % N_VOCAB;
            off += (size_t)snprintf(text + off, cap - off, "%s%s",
                                    k ? " " : "", vocab[w]);
        }
        off += (size_t)snprintf(text + off, cap - off, "%s ",
                                n > 1 ? "\"" : "");
    }
    return off;
}

/* Hits of q on r (k = 0: all; with gs unless unscored). */
static infino_status eval(struct fts_hit **hits, size_t *n,
                          const struct fts_reader *r,
                          const struct fts_query *q, bool scored, size_t k,
                          enum fts_mode mode, const roaring_bitmap_t *del,
                          fts_phrase_fn fn, void *payload)
{
    uint64_t df[64] = {0};
    struct fts_global_stats gs;
    struct fts_phrased_opts po = {k, mode, del, fn, payload};

    assert_true(fts_query_n_terms(q) <= 64);
    assert_ok(fts_query_add_local_df(df, r, q));
    gs.n_docs = fts_reader_n_scored_docs(r);
    gs.avgdl = gs.n_docs ? (double)fts_reader_total_tokens(r) /
                               (double)gs.n_docs
                         : 1.0;
    gs.df = df;
    gs.sim = NULL;
    return fts_eval_phrased(hits, n, r, q, scored && gs.n_docs ? &gs : NULL,
                            &po);
}

static void same_hits(const struct fts_hit *a, size_t na,
                      const struct fts_hit *b, size_t nb, const char *query)
{
    if (na != nb)
        fail_msg("%s: %zu hits with positions, %zu re-tokenizing", query, na,
                 nb);
    for (size_t i = 0; i < na; i++)
        if (a[i].doc != b[i].doc ||
            memcmp(&a[i].score, &b[i].score, sizeof a[i].score) != 0)
            fail_msg("%s: hit %zu: doc %u score %.9g vs doc %u score %.9g",
                     query, i, a[i].doc, (double)a[i].score, b[i].doc,
                     (double)b[i].score);
}

static void differential(const struct fts_analysis *an, uint32_t n_docs,
                         int n_queries)
{
    struct corpus c;
    uint8_t *plain, *pos, *spilled;
    size_t plain_len, pos_len, spilled_len;
    struct fts_reader *rp, *rq;
    struct doc_toks *dt;
    struct term_walk tw;
    struct oracle_verify ov = {0};

    corpus_make(&c, n_docs);
    dt = tokenize_all(&c, an);
    build(&plain, &plain_len, &c, an, false, 0);
    build(&pos, &pos_len, &c, an, true, 0);
    build(&spilled, &spilled_len, &c, an, true, 4096);
    /* a spilled build writes the same bytes */
    assert_int_equal(spilled_len, pos_len);
    assert_memory_equal(spilled, pos, pos_len);
    assert_true(pos_len >= plain_len);
    assert_int_equal(load_u32le(plain + 8), 4);
    assert_int_equal(load_u32le(pos + 8), 5);
    assert_ok(fts_reader_open(&rp, plain, plain_len, "plain",
                              FTS_OPEN_VERIFY_CRC));
    assert_ok(fts_reader_open(&rq, pos, pos_len, "positions",
                              FTS_OPEN_VERIFY_CRC));
    assert_false(fts_reader_has_positions(rp));
    assert_true(fts_reader_has_positions(rq));

    tw = (struct term_walk){rq, dt, 0};
    assert_ok(fts_reader_prefix(rq, NULL, 0, check_term, &tw));

    assert_ok(fts_phrase_matcher_new(&ov.m, an));
    ov.c = &c;
    for (int it = 0; it < n_queries; it++) {
        char text[512];
        size_t len = random_query(text, sizeof text);
        struct fts_query *q;
        infino_status st = fts_query_parse(&q, an, text, len);
        if (st == INFINO_ERR_INVALID) { /* only negated clauses */
            err_clear();
            continue;
        }
        assert_ok(st);
        ov.q = q;
        for (int variant = 0; variant < 4; variant++) {
            struct fts_hit *a = NULL, *b = NULL;
            size_t na = 0, nb = 0;
            enum fts_mode mode = variant & 1 ? FTS_MODE_AND : FTS_MODE_OR;
            size_t k = variant & 2 ? 1 + test_rand() % 6 : 0;
            bool scored = !(variant == 0 && it % 2);
            roaring_bitmap_t *del = NULL;
            if (test_rand() % 4 == 0) {
                del = roaring_bitmap_create();
                for (uint32_t d = 0; d < c.n; d += 1 + test_rand() % 9)
                    roaring_bitmap_add(del, d);
            }
            assert_ok(eval(&a, &na, rq, q, scored, k, mode, del, never_called,
                           NULL));
            assert_ok(eval(&b, &nb, rp, q, scored, k, mode, del, verify_texts,
                           &ov));
            same_hits(a, na, b, nb, text);
            mem_free(a);
            mem_free(b);
            if (del != NULL)
                roaring_bitmap_free(del);
        }
        /* each phrase alone, unscored: exactly the brute force's docs */
        for (size_t i = 0; i < q->n_phrases; i++) {
            struct fts_query *one;
            struct fts_hit *a = NULL;
            size_t na = 0, h = 0;
            const struct fts_qphrase *ph = &q->phrases[i];
            char t2[256];
            size_t l2 = 0;
            l2 += (size_t)snprintf(t2, sizeof t2, "\"");
            for (size_t k = 0; k < ph->n; k++)
                l2 += (size_t)snprintf(t2 + l2, sizeof t2 - l2, "%s%.*s",
                                       k ? " " : "", (int)ph->tok[k].len,
                                       (const char *)ph->tok[k].bytes);
            l2 += (size_t)snprintf(t2 + l2, sizeof t2 - l2, "\"");
            /* the phrase's tokens as text (without the gaps of its stop
             * words): a phrase of its own, matched by the brute force */
            assert_ok(fts_query_parse(&one, an, t2, l2));
            if (one->n_phrases != 1) { /* a stemmed form may re-stem */
                fts_query_free(one);
                continue;
            }
            assert_ok(eval(&a, &na, rq, one, false, 0, FTS_MODE_OR, NULL,
                           never_called, NULL));
            for (uint32_t d = 0; d < c.n; d++) {
                if (brute_pf(&dt[d], &one->phrases[0]) == 0)
                    continue;
                if (h >= na || a[h].doc != d)
                    fail_msg("%s: brute force finds doc %u", t2, d);
                h++;
            }
            assert_int_equal(h, na);
            mem_free(a);
            fts_query_free(one);
        }
        fts_query_free(q);
    }
    fts_phrase_matcher_free(ov.m);
    fts_reader_close(rp);
    fts_reader_close(rq);
    mem_free(plain);
    mem_free(pos);
    mem_free(spilled);
    doc_toks_free(dt, c.n);
    corpus_free(&c);
}

static void test_fts_positions__differential(void **state)
{
    struct fts_analysis an[5];
    (void)state;

    memset(an, 0, sizeof an);
    an[0].base = FTS_BASE_STANDARD;
    an[1].base = FTS_BASE_STANDARD;
    an[1].stop_lang = (uint8_t)fts_lang_id("english");
    an[2].base = FTS_BASE_STANDARD;
    an[2].stop_lang = (uint8_t)fts_lang_id("english");
    an[2].stemmer = (uint8_t)fts_lang_id("english");
    an[3].base = FTS_BASE_ALNUM;
    an[3].stemmer = (uint8_t)fts_lang_id("english");
    {
        const char *words[] = {"cat", "x"};
        an[4].base = FTS_BASE_STANDARD;
        assert_ok(fts_analysis_set_stop_words(&an[4], words, 2));
    }
    for (size_t i = 0; i < 5; i++) {
        differential(&an[i], 300, 60);
        differential(&an[i], 1 + (uint32_t)(test_rand() % 5), 20);
    }
    /* enough docs for full (bit-packed) postings blocks */
    differential(&an[1], 3000, 40);
    fts_analysis_free(&an[4]);
}

/* ---- corruption --------------------------------------------------------- */

/* Runs phrase queries over every vocabulary pair on r: OK or CORRUPT. */
static infino_status phrase_all(const struct fts_reader *r)
{
    for (size_t i = 0; i < N_VOCAB; i++)
        for (size_t j = 0; j < N_VOCAB; j++) {
            char text[64];
            size_t len = (size_t)snprintf(text, sizeof text, "\"%s %s\"",
                                          vocab[i], vocab[j]);
            struct fts_query *q;
            struct fts_hit *h = NULL;
            size_t n;
            infino_status st;
            assert_ok(fts_query_parse(&q, NULL, text, len));
            st = eval(&h, &n, r, q, true, j % 2 ? 3 : 0, FTS_MODE_OR, NULL,
                      never_called, NULL);
            mem_free(h);
            fts_query_free(q);
            if (st != INFINO_OK)
                return st;
        }
    return INFINO_OK;
}

/* Where the positions of `word` lie in the region: [*lo, *hi). */
static void positions_span(const struct fts_reader *r, const char *word,
                           size_t *lo, size_t *hi)
{
    struct fts_term_info ti;
    struct fts_cursor *c = mem_alloc(sizeof *c);

    assert_ok(fts_reader_lookup(&ti, r, (const uint8_t *)word, strlen(word)));
    assert_ok(fts_cursor_open(c, r, &ti));
    *lo = (size_t)((c->pos_tab ? c->pos_tab : c->pos_data) - r->data);
    *hi = (size_t)(c->pos_data - r->data) + (size_t)c->pos_len;
    mem_free(c);
}

static void test_fts_positions__corrupt(void **state)
{
    struct corpus c;
    uint8_t *pos, *bad;
    size_t len;
    struct fts_reader *r;
    int n_corrupt = 0;
    (void)state;

    corpus_make(&c, 800);
    build(&pos, &len, &c, NULL, true, 0);
    bad = mem_alloc(len);
    assert_ok(fts_reader_open(&r, pos, len, "good", 0));
    assert_ok(phrase_all(r));
    for (int word = 0; word < 2; word++) {
        size_t lo, hi;
        /* "x": frequent (a record with a positions table); "sky": may be
         * rare or inline */
        positions_span(r, word ? "sky" : "x", &lo, &hi);
        assert_true(hi > lo);
        for (int it = 0; it < 200; it++) {
            struct fts_reader *rb;
            size_t at = lo + test_rand() % (hi - lo);
            infino_status st;
            memcpy(bad, pos, len);
            bad[at] ^= (uint8_t)(1 + test_rand() % 255);
            if (it % 4 == 0) /* a run of garbage */
                for (size_t k = at; k < hi && k < at + 16; k++)
                    bad[k] = (uint8_t)test_rand();
            /* chunk CRCs on: the damage is found and named, at open when
             * its chunk holds bytes open checks, else by the queries */
            st = fts_reader_open(&rb, bad, len, "sf-7.parquet#fts0", 0);
            if (st == INFINO_OK) {
                st = phrase_all(rb);
                fts_reader_close(rb);
            }
            assert_int_equal(st, INFINO_ERR_CORRUPT);
            assert_non_null(strstr(err_last(), "sf-7.parquet#fts0"));
            /* off: the decoders meet it; any reading but a crash */
            assert_ok(fts_reader_open(&rb, bad, len, "nocrc",
                                      FTS_OPEN_NO_CHUNK_CRC));
            st = phrase_all(rb);
            if (st == INFINO_ERR_CORRUPT) {
                n_corrupt++;
                assert_non_null(strstr(err_last(), "nocrc"));
            } else {
                assert_ok(st);
            }
            fts_reader_close(rb);
        }
    }
    /* the decoders themselves reject most of it */
    assert_true(n_corrupt > 0);
    /* truncated anywhere: open or the queries refuse it */
    for (size_t cut = 1; cut < len; cut += 1 + len / 97) {
        struct fts_reader *rb;
        infino_status st = fts_reader_open(&rb, pos, len - cut, "cut", 0);
        assert_int_not_equal(st, INFINO_OK);
    }
    fts_reader_close(r);
    mem_free(bad);
    mem_free(pos);
    corpus_free(&c);
}

/* Format 4 is still written (and read) for a positions column when a test
 * asks for it: superfiles made before positions. */
static void test_fts_positions__forced_v4(void **state)
{
    struct corpus c;
    uint8_t *p;
    size_t len;
    struct fts_reader *r;
    (void)state;

    corpus_make(&c, 50);
    fts_test_write_version(4);
    build(&p, &len, &c, NULL, true, 0);
    fts_test_write_version(0);
    assert_int_equal(load_u32le(p + 8), 4);
    assert_ok(fts_reader_open(&r, p, len, "v4", FTS_OPEN_VERIFY_CRC));
    assert_false(fts_reader_has_positions(r));
    fts_reader_close(r);
    mem_free(p);
    corpus_free(&c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fts_positions__differential),
        cmocka_unit_test(test_fts_positions__corrupt),
        cmocka_unit_test(test_fts_positions__forced_v4),
    };

    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
