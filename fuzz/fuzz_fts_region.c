/*
 * fuzz_fts_region.c - opens arbitrary bytes as a full-text index region
 * (checksum not verified, so mutations reach every decoder), then walks
 * the whole dictionary and every postings list, looks terms up, and runs
 * top-k, count, match and exact-candidate queries over terms found in it.
 * Every call must return OK, NOTFOUND or CORRUPT; ASan/UBSan do the rest.
 * Both dictionary encodings are reached: version 1 (u8 term lengths) and
 * version 2 on (varint suffix lengths, long terms stored whole). Format 4
 * regions run three times: per-chunk CRCs off, on as given, and on after
 * recomputing them (so the chunk checks and the decoders behind them both
 * meet damage).
 * Seeds: tests/tools/fts_fuzz_seeds.c.
 */
#include "index/fts/fts.h"
#include "util/alloc.h"
#include "util/crc32c.h"
#include "util/endian.h"
#include "fuzz_fts_chunks.h"

#include <stdlib.h>
#include <string.h>

#define MAX_TERMS 6
#define TERM_CAP 4096 /* longer terms are kept as this many bytes */

struct walk {
    const struct fts_reader *r;
    size_t region_len;
    uint8_t terms[MAX_TERMS][TERM_CAP];
    size_t lens[MAX_TERMS];
    size_t n_terms, n_seen;
    uint64_t postings;
};

static void ok_or_corrupt(infino_status st)
{
    if (st != INFINO_OK && st != INFINO_ERR_CORRUPT &&
        st != INFINO_ERR_NOTFOUND)
        abort();
}

static infino_status count_posting(uint32_t doc, uint32_t tf, void *payload)
{
    struct walk *w = payload;

    if (doc >= fts_reader_n_docs(w->r) || tf == 0)
        abort(); /* the cursor promises ids inside the region */
    w->postings++;
    return INFINO_OK;
}

static infino_status visit(const uint8_t *t, size_t len,
                           const struct fts_term_info *info, void *payload)
{
    struct walk *w = payload;

    if (len == 0 || len > w->region_len)
        abort(); /* a term is bytes of the region (or rebuilt from them) */
    if (w->n_terms < MAX_TERMS && (w->n_seen++ % 3 == 0)) {
        size_t n = len < TERM_CAP ? len : TERM_CAP;
        memcpy(w->terms[w->n_terms], t, n);
        w->lens[w->n_terms++] = n;
    }
    ok_or_corrupt(fts_reader_postings(w->r, info, count_posting, w));
    return INFINO_OK;
}

static void query(const struct fts_reader *r, struct walk *w,
                  enum fts_mode mode, size_t k, int negate)
{
    struct fts_query *q = NULL;
    struct fts_hit hits[16];
    struct fts_doc_ids ids = {0};
    uint64_t df[MAX_TERMS] = {0}, count;
    struct fts_global_stats gs;
    struct fts_search_opts so = {k, mode, 0, NULL, 0, NULL};
    size_t n;

    if (fts_query_new(&q, NULL) != INFINO_OK)
        return;
    for (size_t i = 0; i < w->n_terms; i++)
        (void)fts_query_add_term(q, w->terms[i], w->lens[i],
                                 negate && i == w->n_terms - 1 && i > 0);
    ok_or_corrupt(fts_query_add_local_df(df, r, q));
    gs.n_docs = fts_reader_n_docs(r);
    gs.avgdl = gs.n_docs ? (double)fts_reader_total_tokens(r) / gs.n_docs
                         : 1.0;
    if (!(gs.avgdl > 0))
        gs.avgdl = 1.0;
    for (size_t i = 0; i < fts_query_n_terms(q); i++)
        if (df[i] == 0 || df[i] > gs.n_docs)
            df[i] = gs.n_docs ? 1 : 0;
    gs.df = df;
    gs.sim = NULL;
    if (gs.n_docs > 0)
        ok_or_corrupt(fts_search(hits, &n, r, q, &gs, &so));
    ok_or_corrupt(fts_count(&count, r, q, mode, NULL));
    ok_or_corrupt(fts_match(&ids, r, q, mode, NULL));
    fts_doc_ids_free(&ids);
    fts_query_free(q);
}

/* A prefix expansion of at most MAX_TERMS terms, copied. */
struct expansion {
    uint8_t bytes[MAX_TERMS][TERM_CAP];
    struct fts_term_df v[MAX_TERMS];
    size_t n;
    bool overflow;
};

static infino_status expand(const uint8_t *t, size_t n,
                            const struct fts_term_info *info, void *payload)
{
    struct expansion *e = payload;

    if (e->n == MAX_TERMS || n > TERM_CAP) {
        e->overflow = true;
        return INFINO_OK;
    }
    memcpy(e->bytes[e->n], t, n);
    e->v[e->n].term = e->bytes[e->n];
    e->v[e->n].len = n;
    e->v[e->n].df = info->df;
    e->n++;
    return INFINO_OK;
}

static int cmp_term_df(const void *a, const void *b)
{
    const struct fts_term_df *x = a, *y = b;
    size_t n = x->len < y->len ? x->len : y->len;
    int c = memcmp(x->term, y->term, n);

    return c ? c : (x->len > y->len) - (x->len < y->len);
}

/* As the table builds the global list: sorted by term, one entry per
 * term with the dfs summed (a damaged region may repeat a term or list
 * its terms out of order; the search must report that, not the list). */
static void sort_merge(struct expansion *e)
{
    size_t w = 0;

    qsort(e->v, e->n, sizeof e->v[0], cmp_term_df);
    for (size_t i = 0; i < e->n; i++) {
        if (w > 0 && cmp_term_df(&e->v[w - 1], &e->v[i]) == 0)
            e->v[w - 1].df += e->v[i].df;
        else
            e->v[w++] = e->v[i];
    }
    e->n = w;
}

/* bm25_search_prefix over the region alone, with its own statistics. */
static void prefix_search(const struct fts_reader *r, const uint8_t *p,
                          size_t len, const struct fts_similarity *sim)
{
    static struct expansion e;
    struct fts_hit hits[16];
    struct fts_global_stats gs = {0};
    struct fts_search_opts so = {10, FTS_MODE_OR, 0, NULL, 0, NULL};
    size_t n;

    e.n = 0;
    e.overflow = false;
    ok_or_corrupt(fts_reader_prefix(r, p, len, expand, &e));
    gs.n_docs = fts_reader_n_scored_docs(r);
    gs.avgdl = gs.n_docs ? (double)fts_reader_total_tokens(r) / gs.n_docs
                         : 1.0;
    if (!(gs.avgdl > 0))
        gs.avgdl = 1.0;
    gs.sim = sim;
    if (e.overflow)
        return;
    sort_merge(&e);
    /* a damaged region may claim a df its doc lengths cannot hold */
    for (size_t i = 0; i < e.n; i++)
        if (e.v[i].df > gs.n_docs)
            return;
    ok_or_corrupt(fts_search_prefix(hits, &n, r, p, len, e.v, e.n, &gs, &so));
}

static void walk_region(const uint8_t *data, size_t size, unsigned flags)
{
    struct fts_reader *r;
    struct walk w;
    struct fts_term_info ti;
    struct fts_doc_ids ids = {0};

    if (fts_reader_open(&r, data, size, "fuzz", flags) != INFINO_OK)
        return;
    memset(&w, 0, sizeof w);
    w.r = r;
    w.region_len = size;
    ok_or_corrupt(fts_reader_prefix(r, NULL, 0, visit, &w));
    for (size_t i = 0; i < w.n_terms; i++) {
        ok_or_corrupt(fts_reader_lookup(&ti, r, w.terms[i], w.lens[i]));
        ok_or_corrupt(fts_reader_prefix(r, w.terms[i], 1 + w.lens[i] / 2,
                                        visit, &w));
    }
    query(r, &w, FTS_MODE_OR, 10, 0);
    query(r, &w, FTS_MODE_OR, 3, 1);
    if (w.n_terms > 0) {
        static const struct fts_similarity sim = {0.5, 1.0};
        prefix_search(r, w.terms[0], 1, NULL);
        prefix_search(r, w.terms[0], w.lens[0], &sim);
    }
    query(r, &w, FTS_MODE_AND, 10, 0);
    if (w.n_terms > 0)
        ok_or_corrupt(fts_exact_candidates(&ids, r, NULL, w.terms[0], w.lens[0],
                                           NULL));
    ok_or_corrupt(fts_exact_candidates(&ids, r, NULL, "", 0, NULL));
    fts_doc_ids_free(&ids);
    fts_reader_close(r);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_fts_walk_three_ways(data, size, FTS_OPEN_NO_CHUNK_CRC, walk_region);
    return 0;
}
