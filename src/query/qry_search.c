/*
 * qry_search.c - full-text and vector search over a view (query.h).
 *
 * BM25 statistics are table-global: N counts every row with at least one
 * token in the column, in every superfile of the snapshot (deleted rows
 * too, until optimize drops them), avgdl is the snapshot's token total
 * over N, and df sums each region's local df. Each superfile's terms are
 * looked up once; with the table's statistics they bound the best score
 * the superfile can hold (its terms' impacts). Superfiles are searched
 * best bound first with the running k-th best score passed down, so later
 * regions skip blocks that cannot compete, and the search stops at the
 * first superfile whose bound cannot beat the k-th hit: a table of many
 * superfiles costs a lookup per superfile and term, plus the searches of
 * the few that matter.
 *
 * Vector search ranks the clusters of every superfile together by their
 * centroids' distance to the query (estimated from 8-bit centroid codes,
 * then exact for a shortlist) and probes the nearest, as many as make
 * the same part of the vector space as nprobe clusters of one superfile
 * of all the rows (choose_probes): the probes do not multiply with the
 * superfiles (each superfile's nearest cluster is probed too, which keeps
 * recall where the neighbours are spread over many small superfiles).
 * The query is prepared once (ivf_query), superfiles are
 * searched nearest first, and each gets the k-th best distance found so
 * far as a bound, so its clusters and rows that cannot beat it cost
 * little. With a full-text filter, each superfile's allowed rows are
 * resolved first and the IVF search widens its probing until it finds k
 * allowed rows. The index's scores are estimates (SQ8 reconstructions),
 * so the best k plus a few more candidates are rescored exactly from the
 * float32 vectors in the Parquet body (point reads) and re-sorted: the
 * scores returned are the metric itself, and near-ties at the boundary
 * resolve exactly.
 */
#include "query.h"

#include "util/alloc.h"
#include "util/err.h"
#include "util/tpool.h"

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define RRF_K 60.0
/* Vector candidates beyond k rescored exactly, so that rows whose
 * estimates fell just outside the top k can still enter it. */
#define RESCORE_EXTRA 4

void qry_hits_free(struct qry_hits *h)
{
    mem_free(h->v);
    memset(h, 0, sizeof *h);
}

static infino_status hits_push(struct qry_hits *h, uint32_t sf, uint32_t row,
                               float score)
{
    if (MEM_RESERVE(h->v, h->cap, h->n + 1))
        return err_nomem();
    h->v[h->n].sf = sf;
    h->v[h->n].row = row;
    h->v[h->n].score = score;
    h->n++;
    return INFINO_OK;
}

static int by_score_desc(const void *a, const void *b)
{
    const struct qry_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score > y->score ? -1 : 1;
    if (x->sf != y->sf)
        return x->sf < y->sf ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

static int by_score_asc(const void *a, const void *b)
{
    const struct qry_hit *x = a, *y = b;
    if (x->score != y->score)
        return x->score < y->score ? -1 : 1;
    if (x->sf != y->sf)
        return x->sf < y->sf ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

/* qsort must not be handed a NULL array, even an empty one. */
static void sort_hits(struct qry_hits *h, int (*cmp)(const void *, const void *))
{
    if (h->n > 1)
        qsort(h->v, h->n, sizeof *h->v, cmp);
}

/* How the table analyzes full-text column `col` (queries use it). */
static const struct fts_analysis *col_analysis(const struct tbl_view *v,
                                               size_t col)
{
    return &tbl_spec(tbl_view_table(v))->fts_opts[col].an;
}

/* The FTS reader of column `col` of a pinned superfile, refused when its
 * region was built by another analysis than the table's: its terms would
 * not match the query's (reindex rebuilds such a superfile). */
static infino_status fts_of(const struct fts_reader **out,
                            const struct tbl_view *v,
                            const struct tbl_vsf *f, size_t col)
{
    const struct fts_analysis *an = col_analysis(v, col);
    struct fts_analysis_id want, have;
    struct buf d = {0};
    infino_status st = sf_indexes_fts(out, f->indexes, col);

    if (st != INFINO_OK)
        return st;
    fts_analysis_id_of(&want, an);
    fts_reader_analysis_id(&have, *out);
    if (fts_analysis_id_equal(&want, &have))
        return INFINO_OK;
    if (fts_analysis_describe(&d, an) != INFINO_OK)
        d.len = 0;
    st = err_set(INFINO_ERR_INVALID,
                 "%s: full-text column '%s' was indexed with another analysis "
                 "than the table's (%.*s); reindex the table",
                 fts_reader_name(*out), tbl_spec(tbl_view_table(v))->fts[col], (int)d.len,
                 d.data ? (const char *)d.data : "");
    buf_free(&d);
    *out = NULL;
    return st;
}

/* ---- stored text ---------------------------------------------------------- */

/* The bytes of row `row` of a utf8 / large_utf8 array; false when null. */
static bool text_at(const struct ArrowArray *col, bool large, int64_t row,
                    const char **p, size_t *len)
{
    int64_t j, s, e;

    if (!ar_array_is_valid(col, row))
        return false;
    j = row + col->offset;
    s = large ? ((const int64_t *)col->buffers[1])[j]
              : ((const int32_t *)col->buffers[1])[j];
    e = large ? ((const int64_t *)col->buffers[1])[j + 1]
              : ((const int32_t *)col->buffers[1])[j + 1];
    *p = (const char *)col->buffers[2] + s;
    *len = (size_t)(e - s);
    return true;
}

/* Calls fn(payload, i, text, len) for each candidate i (ascending local
 * ids of the pinned superfile f) whose text in column `field` is not null,
 * decoding only the pages that hold candidates (pq_reader_read_rows). */
typedef infino_status (*text_fn)(void *payload, size_t i, const char *text,
                                 size_t len);
static infino_status each_text(const struct tbl_vsf *f, struct tbl *t,
                               int field, const uint32_t *cand, size_t n,
                               text_fn fn, void *payload)
{
    struct pq_reader *r = sf_reader_parquet(f->reader);
    bool large = tbl_full_schema(t)->fields[field].type == AR_LARGE_UTF8;
    uint64_t rg_start = 0;
    uint32_t *rows = NULL;
    size_t c = 0;
    infino_status st = INFINO_OK;

    if (n > 0 && (rows = mem_alloc(n * sizeof *rows)) == NULL)
        return err_nomem();
    for (int rg = 0; st == INFINO_OK && rg < pq_reader_num_row_groups(r) &&
                     c < n;
         rg++) {
        uint64_t rg_end = rg_start + (uint64_t)pq_reader_row_group_rows(r, rg);
        size_t c0 = c;
        struct ArrowArray batch;
        for (; c < n && cand[c] < rg_end; c++)
            rows[c - c0] = (uint32_t)(cand[c] - rg_start);
        if (c > c0 && (st = pq_reader_read_rows(r, rg, &field, 1, rows, c - c0,
                                                &batch)) == INFINO_OK) {
            for (size_t i = c0; i < c && st == INFINO_OK; i++) {
                const char *p;
                size_t len;
                if (text_at(batch.children[0], large, (int64_t)(i - c0), &p,
                            &len))
                    st = fn(payload, i, p, len);
            }
            ar_array_release(&batch);
        }
        rg_start = rg_end;
    }
    if (st == INFINO_OK && c < n)
        st = err_set(INFINO_ERR_CORRUPT, "%s: row %u is past the last row",
                     sf_reader_name(f->reader), cand[c]);
    mem_free(rows);
    return st;
}

/* ---- phrases ------------------------------------------------------------ */

/* Verifies a phrase's candidates in one pinned superfile (fts_phrase_fn). */
struct phrase_check {
    struct tbl *t;
    const struct tbl_vsf *f;
    int field;
    const struct fts_query *q;
    struct fts_phrase_matcher *m;
    size_t phrase;
    uint32_t *pf;
};

static infino_status phrase_text(void *payload, size_t i, const char *text,
                                 size_t len)
{
    struct phrase_check *c = payload;

    return fts_phrase_count(&c->pf[i], c->m, c->q, c->phrase, text, len);
}

static infino_status phrase_verify(void *payload, size_t phrase,
                                   const uint32_t *docs, size_t n,
                                   uint32_t *pf)
{
    struct phrase_check *c = payload;

    c->phrase = phrase;
    c->pf = pf;
    return each_text(c->f, c->t, c->field, docs, n, phrase_text, c);
}

/* Phrases need a column created with positions (IndexSpec.fts(...,
 * positions=True)), as upstream infino's do. */
static infino_status phrases_allowed(const struct tbl_view *v, size_t col,
                                     const struct fts_query *q)
{
    const struct sf_index_spec *spec = tbl_spec(tbl_view_table(v));

    if (fts_query_n_phrases(q) == 0 || spec->fts_opts[col].positions)
        return INFINO_OK;
    return err_set(INFINO_ERR_INVALID,
                   "phrase query on column \"%s\", which was indexed without "
                   "token positions: create the column with positions=True "
                   "to search quoted phrases, or search its words unquoted",
                   spec->fts[col]);
}

/* Every row of pinned superfile `i` matching a query with phrases
 * (fts_eval_phrased), scored when gs is not NULL. */
static infino_status eval_phrased(struct fts_hit **out, size_t *n_out,
                                  struct tbl_view *v, size_t i,
                                  size_t fts_col, const struct fts_query *q,
                                  const struct fts_global_stats *gs,
                                  enum fts_mode mode, size_t k)
{
    struct tbl *t = tbl_view_table(v);
    struct phrase_check c = {0};
    struct fts_phrased_opts o = {0};
    const struct fts_reader *r;
    struct tbl_vsf f;
    infino_status st;

    *out = NULL;
    *n_out = 0;
    CHECK(tbl_view_pin(v, i, &f));
    c.t = t;
    c.f = &f;
    c.field = ar_schema_find(tbl_full_schema(t), tbl_spec(t)->fts[fts_col]);
    c.q = q;
    o.k = k;
    o.mode = mode;
    o.deleted = f.deleted;
    o.verify = phrase_verify;
    o.payload = &c;
    st = fts_of(&r, v, &f, fts_col);
    /* a region with positions verifies phrases itself: no text is read */
    if (st == INFINO_OK && !fts_reader_has_positions(r))
        st = fts_phrase_matcher_new(&c.m, col_analysis(v, fts_col));
    if (st == INFINO_OK)
        st = fts_eval_phrased(out, n_out, r, q, gs, &o);
    fts_phrase_matcher_free(c.m);
    tbl_view_unpin(v, i);
fail:
    return st;
}

/* Every loop over superfiles pins one at a time (table.h), so a search
 * over a table of any size maps a bounded number of them. */

/* ---- BM25 ------------------------------------------------------------- */

/* One group of superfiles searched in turn, each with the group's
 * running k-th score as its floor, into `out` (the group's best k under
 * by_score_desc; equal scores survive a floor). The group's superfiles
 * are order[first], order[first + step], ...: best score bound first
 * (then in snapshot order), so the floor rises early and the first
 * superfile that cannot beat the k-th hit ends the group (the rest are
 * bounded lower, or tie and come later). */
struct bm25_group {
    struct tbl_view *v;
    size_t fts_col;
    const struct fts_query *q;
    const struct fts_global_stats *gs;
    const size_t *order;  /* superfiles to search */
    size_t n_order;
    const float *bound;   /* per superfile; NULL: none known */
    const struct fts_term_stats *stats; /* n_terms per superfile, or NULL */
    size_t n_terms;
    size_t k;
    enum fts_mode mode;
    size_t first, step;
    struct qry_hits out;
    struct err_saved res; /* from the thread that ran the group */
};

static infino_status bm25_group_run(struct bm25_group *g)
{
    struct fts_hit *local = mem_calloc(g->k, sizeof *local);
    infino_status st;

    if (local == NULL)
        return err_nomem();
    for (size_t j = g->first; j < g->n_order; j += g->step) {
        size_t i = g->order[j];
        struct tbl_vsf f;
        const struct fts_reader *r;
        struct fts_search_opts o = {0};
        size_t n = 0;

        o.min_score = g->out.n >= g->k ? g->out.v[g->k - 1].score : 0.0f;
        /* a doc scoring the k-th score ties with it, and loses when its
         * superfile comes later (by_score_desc) */
        if (g->bound != NULL && g->out.n >= g->k &&
            (g->bound[i] < o.min_score ||
             (g->bound[i] == o.min_score && i > g->out.v[g->k - 1].sf)))
            break;
        CHECK(tbl_view_pin(g->v, i, &f));
        st = fts_of(&r, g->v, &f, g->fts_col);
        o.k = g->k;
        o.mode = g->mode;
        o.deleted = f.deleted;
        o.terms = g->stats ? g->stats + i * g->n_terms : NULL;
        if (st == INFINO_OK)
            st = fts_search(local, &n, r, g->q, g->gs, &o);
        tbl_view_unpin(g->v, i);
        if (st != INFINO_OK)
            goto fail;
        for (size_t t = 0; t < n; t++)
            CHECK(hits_push(&g->out, (uint32_t)i, local[t].doc,
                            local[t].score));
        sort_hits(&g->out, by_score_desc);
        if (g->out.n > g->k)
            g->out.n = g->k;
    }
    st = INFINO_OK;
fail:
    mem_free(local);
    return st;
}

static void bm25_group_piece(void *arg, size_t i)
{
    struct bm25_group *g = (struct bm25_group *)arg + i;

    err_save(&g->res, bm25_group_run(g));
}

/* Superfiles are searched in groups on the worker pool when there are
 * several and the query's postings are many (a handoff costs a few
 * microseconds): each group keeps its exact best k, so the merged k are
 * the ones a single pass in snapshot order finds. */
#define FANOUT_MIN_POSTINGS 100000u

static size_t bm25_groups(const struct snapshot *snap, const uint64_t *df,
                          size_t n_terms)
{
    uint64_t postings = 0;
    size_t n = tpool_threads();

    for (size_t i = 0; i < n_terms; i++)
        postings += df[i];
    if (snap->n_sf < 2 || postings < tpool_min_work(FANOUT_MIN_POSTINGS))
        return 1;
    return n < snap->n_sf ? n : snap->n_sf;
}

infino_status qry_bm25(struct qry_hits *out, struct tbl_view *v,
                       size_t fts_col, const char *query, size_t k,
                       enum fts_mode mode)
{
    return qry_bm25_len(out, v, fts_col, query, strlen(query), k, mode);
}

infino_status qry_bm25_len(struct qry_hits *out, struct tbl_view *v,
                           size_t fts_col, const char *query,
                           size_t query_len, size_t k, enum fts_mode mode)
{
    return qry_bm25_ex(out, v, fts_col, query, query_len, k, mode, NULL);
}

/* ---- prefix ------------------------------------------------------------- */

/* The expansion of a prefix over every region: terms with summed df. */
struct expansion {
    struct buf bytes; /* every term's bytes, back to back */
    struct fts_term_df *v; /* term pointers are offsets until finished */
    size_t n, cap;
};

static infino_status expand_term(const uint8_t *term, size_t len,
                                 const struct fts_term_info *info,
                                 void *payload)
{
    struct expansion *e = payload;
    infino_status st;

    if (MEM_RESERVE(e->v, e->cap, e->n + 1))
        return err_nomem();
    e->v[e->n].term = (const uint8_t *)(uintptr_t)e->bytes.len;
    e->v[e->n].len = len;
    e->v[e->n].df = info->df;
    CHECK(buf_append(&e->bytes, term, len));
    e->n++;
    return INFINO_OK;
fail:
    return st;
}

static int by_term(const void *a, const void *b)
{
    const struct fts_term_df *x = a, *y = b;
    int c = memcmp(x->term, y->term, x->len < y->len ? x->len : y->len);

    if (c != 0)
        return c;
    return (x->len > y->len) - (x->len < y->len);
}

/* Turns offsets into pointers, sorts, and sums the df of equal terms. */
static void expansion_finish(struct expansion *e)
{
    size_t m = 0;

    for (size_t i = 0; i < e->n; i++)
        e->v[i].term = e->bytes.data + (uintptr_t)e->v[i].term;
    if (e->n > 1)
        qsort(e->v, e->n, sizeof *e->v, by_term);
    for (size_t i = 0; i < e->n; i++) {
        if (m > 0 && by_term(&e->v[m - 1], &e->v[i]) == 0)
            e->v[m - 1].df += e->v[i].df;
        else
            e->v[m++] = e->v[i];
    }
    e->n = m;
}

static infino_status bm25_prefix(struct qry_hits *out, struct tbl_view *v,
                                 size_t fts_col, const char *text,
                                 size_t text_len, size_t k,
                                 const struct fts_similarity *sim)
{
    const struct snapshot *snap = tbl_view_snapshot(v);
    struct buf prefix = {0};
    struct expansion e = {0};
    struct fts_global_stats gs;
    struct fts_hit *local = NULL;
    uint64_t n_docs = 0, tokens = 0;
    bool ok;
    infino_status st;

    CHECK(fts_prefix_normalize(&prefix, &ok, col_analysis(v, fts_col), text,
                               text_len));
    if (k > snapshot_live_rows(snap))
        k = (size_t)snapshot_live_rows(snap);
    if (!ok || k == 0 || snap->n_sf == 0)
        goto done;
    for (size_t i = 0; i < snap->n_sf; i++) {
        const struct fts_reader *r;
        struct tbl_vsf f;

        tokens += snap->sf[i].fts_tokens[fts_col];
        CHECK(tbl_view_pin(v, i, &f));
        st = fts_of(&r, v, &f, fts_col);
        if (st == INFINO_OK) {
            n_docs += fts_reader_n_scored_docs(r);
            st = fts_reader_prefix(r, prefix.data, prefix.len, expand_term,
                                   &e);
        }
        tbl_view_unpin(v, i);
        if (st != INFINO_OK)
            goto fail;
    }
    expansion_finish(&e);
    if (e.n == 0)
        goto done;
    gs.n_docs = n_docs;
    gs.avgdl = n_docs && tokens ? (double)tokens / (double)n_docs : 1.0;
    gs.df = NULL;
    gs.sim = sim;
    local = mem_calloc(k, sizeof *local);
    if (local == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < snap->n_sf; i++) {
        const struct snap_sf *meta = tbl_view_meta(v, i);
        const struct fts_reader *r;
        struct fts_search_opts o = {0};
        struct tbl_vsf f;
        size_t n = 0;

        if (meta->n_deleted == meta->n_rows)
            continue;
        CHECK(tbl_view_pin(v, i, &f));
        st = fts_of(&r, v, &f, fts_col);
        o.k = k;
        o.deleted = f.deleted;
        o.min_score = out->n >= k ? out->v[k - 1].score : 0.0f;
        if (st == INFINO_OK)
            st = fts_search_prefix(local, &n, r, prefix.data, prefix.len,
                                   e.v, e.n, &gs, &o);
        tbl_view_unpin(v, i);
        if (st != INFINO_OK)
            goto fail;
        for (size_t j = 0; j < n; j++)
            CHECK(hits_push(out, (uint32_t)i, local[j].doc, local[j].score));
        sort_hits(out, by_score_desc);
        if (out->n > k)
            out->n = k;
    }
done:
    st = INFINO_OK;
fail:
    mem_free(local);
    mem_free(e.v);
    buf_free(&e.bytes);
    buf_free(&prefix);
    return st;
}

/* Top k of a query with phrases: every superfile's matches are scored
 * exhaustively (fts_eval_phrased), the best k kept as it goes. */
static infino_status bm25_phrased(struct qry_hits *out, struct tbl_view *v,
                                  size_t fts_col, const struct fts_query *q,
                                  const struct fts_global_stats *gs,
                                  const bool *skip, size_t k,
                                  enum fts_mode mode)
{
    infino_status st = INFINO_OK;

    for (size_t i = 0; st == INFINO_OK && i < tbl_view_n_sf(v); i++) {
        const struct snap_sf *meta = tbl_view_meta(v, i);
        struct fts_hit *h = NULL;
        size_t n = 0;
        if (meta->n_deleted == meta->n_rows || skip[i])
            continue;
        st = eval_phrased(&h, &n, v, i, fts_col, q, gs, mode, k);
        for (size_t j = 0; st == INFINO_OK && j < n; j++)
            st = hits_push(out, (uint32_t)i, h[j].doc, h[j].score);
        mem_free(h);
        sort_hits(out, by_score_desc);
        if (out->n > k)
            out->n = k;
    }
    return st;
}

/* Superfiles by score bound, best first, ties in snapshot order. */
struct by_bound_ctx {
    size_t sf;
    float bound;
};

static int by_bound_desc(const void *a, const void *b)
{
    const struct by_bound_ctx *x = a, *y = b;
    if (x->bound != y->bound)
        return x->bound > y->bound ? -1 : 1;
    return (x->sf > y->sf) - (x->sf < y->sf);
}

/* Per-superfile term lookups are kept (for bounds, and for the search
 * to reuse) up to this many (superfile, term) pairs; beyond, a query
 * looks its terms up twice and visits superfiles in snapshot order. */
#define BM25_STATS_MAX 65536u

infino_status qry_bm25_ex(struct qry_hits *out, struct tbl_view *v,
                          size_t fts_col, const char *query, size_t query_len,
                          size_t k, enum fts_mode mode,
                          const struct qry_bm25_opts *bo)
{
    struct bm25_group *groups = NULL;
    size_t n_groups = 0, n_order = 0;
    const struct snapshot *snap = tbl_view_snapshot(v);
    struct fts_query *q = NULL;
    uint64_t *df = NULL, n_docs = 0, tokens = 0;
    bool *skip = NULL;
    struct fts_term_stats *stats = NULL;
    struct by_bound_ctx *ranked = NULL;
    size_t *order = NULL;
    float *bound = NULL;
    struct fts_global_stats gs;
    const struct fts_similarity *sim = bo ? bo->sim : NULL;
    const struct sf_fts_opts *co = &tbl_spec(tbl_view_table(v))->fts_opts[fts_col];
    struct fts_similarity col_sim = {co->k1, co->b};
    size_t n_terms;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (sim == NULL && (co->k1 != 0 || co->b != 0))
        sim = &col_sim; /* the column's own parameters (IndexSpec.fts) */
    if (sim != NULL)
        CHECK(fts_similarity_check(sim->k1, sim->b));
    if (bo != NULL && bo->prefix) {
        st = bm25_prefix(out, v, fts_col, query, query_len, k, sim);
        if (st != INFINO_OK)
            qry_hits_free(out);
        return st;
    }
    if (k > snapshot_live_rows(snap)) /* k slots are reserved up front */
        k = (size_t)snapshot_live_rows(snap);
    CHECK(fts_query_parse(&q, col_analysis(v, fts_col), query, query_len));
    CHECK(phrases_allowed(v, fts_col, q));
    n_terms = fts_query_n_terms(q);
    if (n_terms == 0 || k == 0 || snap->n_sf == 0)
        goto done;
    df = mem_calloc(n_terms, sizeof *df);
    skip = mem_calloc(snap->n_sf, sizeof *skip);
    if (df == NULL || skip == NULL) {
        st = err_nomem();
        goto fail;
    }
    /* Each superfile's terms, looked up once: for df, for its score bound
     * and for its search (phrases are verified against the text and keep
     * their own path). */
    if (fts_query_n_phrases(q) == 0 && n_terms <= BM25_STATS_MAX / snap->n_sf) {
        stats = mem_calloc(snap->n_sf * n_terms, sizeof *stats);
        bound = mem_calloc(snap->n_sf, sizeof *bound);
        if (stats == NULL || bound == NULL) {
            st = err_nomem();
            goto fail;
        }
    }
    for (size_t i = 0; i < snap->n_sf; i++) {
        const struct fts_reader *r;
        struct tbl_vsf f;
        tokens += snap->sf[i].fts_tokens[fts_col];
        CHECK(tbl_view_pin(v, i, &f));
        st = fts_of(&r, v, &f, fts_col);
        if (st != INFINO_OK) {
            tbl_view_unpin(v, i);
            goto fail;
        }
        n_docs += fts_reader_n_scored_docs(r);
        /* A region whose summary rules out every positive term (or, for
         * AND, any one of them) adds nothing to df and cannot match. The
         * OR check is exact for df: a term the bloom rules out is absent. */
        if (!sf_indexes_fts_may_match(f.indexes, fts_col, q, FTS_MODE_OR)) {
            skip[i] = true;
            tbl_view_unpin(v, i);
            continue;
        }
        if (stats != NULL) {
            st = fts_query_lookup(stats + i * n_terms, r, q);
            if (st == INFINO_OK)
                fts_term_stats_add_df(df, stats + i * n_terms, n_terms);
        } else {
            st = fts_query_add_local_df(df, r, q);
        }
        if (st == INFINO_OK && mode == FTS_MODE_AND &&
            !sf_indexes_fts_may_match(f.indexes, fts_col, q, FTS_MODE_AND))
            skip[i] = true;
        tbl_view_unpin(v, i);
        if (st != INFINO_OK)
            goto fail;
    }
    gs.n_docs = n_docs;
    gs.avgdl = n_docs && tokens ? (double)tokens / (double)n_docs : 1.0;
    gs.df = df;
    gs.sim = sim;
    if (fts_query_n_phrases(q) > 0) {
        CHECK(bm25_phrased(out, v, fts_col, q, &gs, skip, k, mode));
        goto done;
    }
    /* The superfiles to search: best score bound first (a bound of 0: no
     * doc can match), else in snapshot order. */
    ranked = mem_alloc(snap->n_sf * sizeof *ranked);
    order = mem_alloc(snap->n_sf * sizeof *order);
    if (ranked == NULL || order == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < snap->n_sf; i++) {
        const struct snap_sf *meta = tbl_view_meta(v, i);
        if (meta->n_deleted == meta->n_rows || skip[i])
            continue;
        if (bound != NULL) {
            bound[i] = fts_query_bound(stats + i * n_terms, q, &gs, mode);
            if (bound[i] <= 0)
                continue;
        }
        ranked[n_order].sf = i;
        ranked[n_order].bound = bound ? bound[i] : 0.0f;
        n_order++;
    }
    if (bound != NULL && n_order > 1)
        qsort(ranked, n_order, sizeof *ranked, by_bound_desc);
    for (size_t i = 0; i < n_order; i++)
        order[i] = ranked[i].sf;
    n_groups = bm25_groups(snap, df, n_terms);
    if (n_groups > n_order)
        n_groups = n_order ? n_order : 1;
    groups = mem_calloc(n_groups, sizeof *groups);
    if (groups == NULL) {
        st = err_nomem();
        goto fail;
    }
    /* groups take turns down the order, so each starts with good bounds */
    for (size_t i = 0; i < n_groups; i++)
        groups[i] = (struct bm25_group){
            v, fts_col, q, &gs, order, n_order, bound, stats, n_terms, k,
            mode, i, n_groups, {0}, {INFINO_OK, {0}}};
    tpool_run(n_groups, bm25_group_piece, groups);
    for (size_t i = 0; i < n_groups; i++) {
        CHECK(err_restore(&groups[i].res));
        for (size_t j = 0; j < groups[i].out.n; j++)
            CHECK(hits_push(out, groups[i].out.v[j].sf, groups[i].out.v[j].row,
                            groups[i].out.v[j].score));
    }
    sort_hits(out, by_score_desc);
    if (out->n > k)
        out->n = k;
done:
    st = INFINO_OK;
fail:
    if (st != INFINO_OK)
        qry_hits_free(out);
    for (size_t i = 0; groups && i < n_groups; i++)
        qry_hits_free(&groups[i].out);
    mem_free(groups);
    fts_query_free(q);
    mem_free(df);
    mem_free(skip);
    mem_free(stats);
    mem_free(bound);
    mem_free(ranked);
    mem_free(order);
    return st;
}

/* ---- unranked --------------------------------------------------------- */

infino_status qry_token_match(struct qry_hits *out, struct tbl_view *v,
                              size_t fts_col, const char *query,
                              enum fts_mode mode)
{
    return qry_token_match_len(out, v, fts_col, query, strlen(query), mode);
}

infino_status qry_token_match_len(struct qry_hits *out, struct tbl_view *v,
                                  size_t fts_col, const char *query,
                                  size_t query_len, enum fts_mode mode)
{
    struct fts_query *q = NULL;
    struct fts_doc_ids ids = {0};
    infino_status st;

    memset(out, 0, sizeof *out);
    CHECK(fts_query_parse(&q, col_analysis(v, fts_col), query, query_len));
    CHECK(phrases_allowed(v, fts_col, q));
    if (fts_query_n_terms(q) == 0)
        goto done;
    for (size_t i = 0; i < tbl_view_n_sf(v); i++) {
        struct tbl_vsf f;
        const struct fts_reader *r;

        if (fts_query_n_phrases(q) > 0) {
            struct fts_hit *h = NULL;
            size_t n = 0;
            st = eval_phrased(&h, &n, v, i, fts_col, q, NULL, mode, 0);
            for (size_t j = 0; st == INFINO_OK && j < n; j++)
                st = hits_push(out, (uint32_t)i, h[j].doc, 0.0f);
            mem_free(h);
            if (st != INFINO_OK)
                goto fail;
            continue;
        }

        CHECK(tbl_view_pin(v, i, &f));
        ids.n = 0;
        st = INFINO_OK;
        if (sf_indexes_fts_may_match(f.indexes, fts_col, q, mode)) {
            st = fts_of(&r, v, &f, fts_col);
            if (st == INFINO_OK)
                st = fts_match(&ids, r, q, mode, f.deleted);
        }
        tbl_view_unpin(v, i);
        if (st != INFINO_OK)
            goto fail;
        for (size_t j = 0; j < ids.n; j++)
            CHECK(hits_push(out, (uint32_t)i, ids.ids[j], 0.0f));
    }
done:
    st = INFINO_OK;
fail:
    if (st != INFINO_OK)
        qry_hits_free(out);
    fts_doc_ids_free(&ids);
    fts_query_free(q);
    return st;
}

infino_status qry_count(uint64_t *out, struct tbl_view *v, size_t fts_col,
                        const char *query, enum fts_mode mode)
{
    return qry_count_len(out, v, fts_col, query, strlen(query), mode);
}

infino_status qry_count_len(uint64_t *out, struct tbl_view *v, size_t fts_col,
                            const char *query, size_t query_len,
                            enum fts_mode mode)
{
    struct fts_query *q = NULL;
    infino_status st;

    *out = 0;
    CHECK(fts_query_parse(&q, col_analysis(v, fts_col), query, query_len));
    CHECK(phrases_allowed(v, fts_col, q));
    if (fts_query_n_terms(q) == 0)
        goto fail;
    for (size_t i = 0; i < tbl_view_n_sf(v); i++) {
        const struct fts_reader *r;
        struct tbl_vsf f;
        uint64_t n = 0;

        if (fts_query_n_phrases(q) > 0) {
            struct fts_hit *h = NULL;
            size_t nh = 0;
            st = eval_phrased(&h, &nh, v, i, fts_col, q, NULL, mode, 0);
            mem_free(h);
            if (st != INFINO_OK)
                goto fail;
            *out += nh;
            continue;
        }
        CHECK(tbl_view_pin(v, i, &f));
        st = INFINO_OK;
        if (sf_indexes_fts_may_match(f.indexes, fts_col, q, mode)) {
            st = fts_of(&r, v, &f, fts_col);
            if (st == INFINO_OK)
                st = fts_count(&n, r, q, mode, f.deleted);
        }
        tbl_view_unpin(v, i);
        if (st != INFINO_OK)
            goto fail;
        *out += n;
    }
fail:
    fts_query_free(q);
    return st;
}

/* ---- exact match -------------------------------------------------------- */

/* Keeps the candidates whose text equals the value (text_fn). */
struct exact_check {
    struct qry_hits *out;
    uint32_t sf;
    const uint32_t *cand;
    const char *value;
    size_t len;
};

static infino_status exact_text(void *payload, size_t i, const char *text,
                                size_t len)
{
    struct exact_check *c = payload;

    if (len != c->len || memcmp(text, c->value, len) != 0)
        return INFINO_OK;
    return hits_push(c->out, c->sf, c->cand[i], 0.0f);
}

infino_status qry_exact_match(struct qry_hits *out, struct tbl_view *v,
                              size_t fts_col, const char *value, size_t len)
{
    struct tbl *t = tbl_view_table(v);
    int field = ar_schema_find(tbl_full_schema(t), tbl_spec(t)->fts[fts_col]);
    struct fts_doc_ids ids = {0};
    infino_status st = INFINO_OK;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < tbl_view_n_sf(v); i++) {
        struct tbl_vsf f;
        const struct fts_reader *fr;

        CHECK(tbl_view_pin(v, i, &f));
        ids.n = 0;
        st = fts_of(&fr, v, &f, fts_col);
        if (st == INFINO_OK)
            st = fts_exact_candidates(&ids, fr, col_analysis(v, fts_col), value,
                                      len, f.deleted);
        if (st == INFINO_OK && ids.n > 0) {
            struct exact_check c = {out, (uint32_t)i, ids.ids, value, len};
            st = each_text(&f, t, field, ids.ids, ids.n, exact_text, &c);
        }
        tbl_view_unpin(v, i);
        if (st != INFINO_OK)
            goto fail;
    }
fail:
    if (st != INFINO_OK)
        qry_hits_free(out);
    fts_doc_ids_free(&ids);
    return st;
}

/* ---- vectors ------------------------------------------------------------- */

struct probe {
    float key;
    uint32_t sf;
    uint32_t cluster;
    /* while choosing: 1 for a superfile's nearest cluster; then the
     * superfile's place in the search pass */
    uint32_t visit;
};

static int by_key(const void *a, const void *b)
{
    const struct probe *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    if (x->sf != y->sf)
        return x->sf < y->sf ? -1 : 1;
    return (x->cluster > y->cluster) - (x->cluster < y->cluster);
}

static void probe_sift_down(struct probe *h, size_t n, size_t i)
{
    for (;;) {
        size_t l = 2 * i + 1, m = i;
        if (l < n && by_key(&h[l], &h[m]) > 0)
            m = l;
        if (l + 1 < n && by_key(&h[l + 1], &h[m]) > 0)
            m = l + 1;
        if (m == i)
            return;
        struct probe t = h[i];
        h[i] = h[m];
        h[m] = t;
        i = m;
    }
}

/* Moves the `keep` smallest probes (by_key, a total order: the same set a
 * full sort would put first) to p[0..keep), in no particular order. A
 * bounded max-heap: ranking thousands of clusters to probe a few costs
 * O(n log keep), where sorting them all was a tenth of a search. */
static void keep_nearest(struct probe *p, size_t n, size_t keep)
{
    if (keep == 0 || keep >= n)
        return;
    for (size_t i = keep / 2; i-- > 0;)
        probe_sift_down(p, keep, i);
    for (size_t i = keep; i < n; i++)
        if (by_key(&p[i], &p[0]) < 0) {
            p[0] = p[i];
            probe_sift_down(p, keep, 0);
        }
}

static int by_sf_then_key(const void *a, const void *b)
{
    const struct probe *x = a, *y = b;
    if (x->sf != y->sf)
        return x->sf < y->sf ? -1 : 1;
    return by_key(a, b);
}

/* Probes ordered for the search pass: superfiles in the order of their
 * nearest probed cluster (visit), then each one's clusters by key. */
static int by_visit(const void *a, const void *b)
{
    const struct probe *x = a, *y = b;
    if (x->visit != y->visit)
        return x->visit < y->visit ? -1 : 1;
    return by_key(a, b);
}

/* Rows of superfile `i` that search must skip: tombstones and null
 * vectors. *owned_out is set when the union had to be built. */
static infino_status skip_set(const roaring_bitmap_t **out,
                              roaring_bitmap_t **owned_out,
                              const struct tbl_vsf *f,
                              const roaring_bitmap_t *nulls)
{
    *owned_out = NULL;
    if (f->deleted && nulls) {
        *owned_out = roaring_bitmap_or(f->deleted, nulls);
        if (*owned_out == NULL)
            return err_nomem();
        *out = *owned_out;
    } else {
        *out = f->deleted ? f->deleted : nulls;
    }
    return INFINO_OK;
}

static infino_status check_query(struct tbl *t, size_t vec_col,
                                 const float *query, size_t dim)
{
    const struct sf_vec_spec *spec = &tbl_spec(t)->vec[vec_col];

    if (dim != spec->dim)
        return err_set(INFINO_ERR_INVALID,
                       "query vector has dimension %zu, but column '%s' has "
                       "dimension %u",
                       dim, spec->column, spec->dim);
    for (size_t i = 0; i < dim; i++)
        if (!isfinite(query[i]))
            return err_set(INFINO_ERR_INVALID,
                           "query vector for column '%s' holds NaN or "
                           "infinity at position %zu",
                           spec->column, i);
    return INFINO_OK;
}

/* The exact distance (ivf.h's metrics, in double) from `q` to the rows
 * r0..r3 (dim floats each) into out[0..n), n <= 4 (r[n..3] repeat a row).
 * Every sum adds its terms in index order, as a row computed alone would,
 * so a distance does not depend on which rows are computed together; but
 * four rows run side by side: a sum of doubles is a chain of dependent
 * additions, and independent chains overlap where one would wait on each
 * add. The sums are plain locals (an array of them stayed in memory, and
 * store-to-load forwarding lengthened every chain). Float products and
 * differences are exact in double. */
static void exact4(float *out, size_t n, enum sf_metric m, const float *q,
                   double qq, const float *r0, const float *r1,
                   const float *r2, const float *r3, size_t dim)
{
    double s0 = 0, s1 = 0, s2 = 0, s3 = 0, x0 = 0, x1 = 0, x2 = 0, x3 = 0;
    double s[4], x[4];

    switch (m) {
    case SF_METRIC_L2SQ:
        for (size_t i = 0; i < dim; i++) {
            double a = q[i], d0 = a - r0[i], d1 = a - r1[i], d2 = a - r2[i],
                   d3 = a - r3[i];
            s0 += d0 * d0;
            s1 += d1 * d1;
            s2 += d2 * d2;
            s3 += d3 * d3;
        }
        break;
    case SF_METRIC_NEGDOT:
        for (size_t i = 0; i < dim; i++) {
            double a = q[i];
            s0 += a * (double)r0[i];
            s1 += a * (double)r1[i];
            s2 += a * (double)r2[i];
            s3 += a * (double)r3[i];
        }
        break;
    default:
        for (size_t i = 0; i < dim; i++) {
            double a = q[i], b0 = r0[i], b1 = r1[i], b2 = r2[i], b3 = r3[i];
            s0 += a * b0;
            s1 += a * b1;
            s2 += a * b2;
            s3 += a * b3;
            x0 += b0 * b0;
            x1 += b1 * b1;
            x2 += b2 * b2;
            x3 += b3 * b3;
        }
    }
    s[0] = s0, s[1] = s1, s[2] = s2, s[3] = s3;
    x[0] = x0, x[1] = x1, x[2] = x2, x[3] = x3;
    for (size_t j = 0; j < n; j++) {
        if (m == SF_METRIC_L2SQ)
            out[j] = (float)s[j];
        else if (m == SF_METRIC_NEGDOT)
            out[j] = (float)-s[j];
        else if (qq == 0 || x[j] == 0) /* a zero vector: cosine 0 */
            out[j] = 1.0f;
        else
            out[j] = (float)(1.0 - s[j] / (sqrt(qq) * sqrt(x[j])));
    }
}

/* The exact distances from `q` to the n rows of dim floats at x, into
 * out (exact4, four rows at a time). */
static void exact_distances(float *out, enum sf_metric m, const float *q,
                            const float *x, size_t n, size_t dim)
{
    double qq = 0;

    if (m != SF_METRIC_L2SQ && m != SF_METRIC_NEGDOT)
        for (size_t i = 0; i < dim; i++)
            qq += (double)q[i] * (double)q[i];
    for (size_t r = 0; r < n; r += 4) {
        size_t k = n - r < 4 ? n - r : 4;
        const float *row = x + r * dim;
        exact4(out + r, k, m, q, qq, row, row + (k > 1 ? dim : 0),
               row + (k > 2 ? 2 * dim : 0), row + (k > 3 ? 3 * dim : 0), dim);
    }
}

/* A hit to rescore, by position. */
struct cand {
    uint32_t sf;
    uint32_t row; /* local to the superfile */
    size_t hit;   /* index into the hit list */
};

static int by_cand_position(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;

    if (x->sf != y->sf)
        return x->sf < y->sf ? -1 : 1;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return (x->hit > y->hit) - (x->hit < y->hit);
}

/* Rescores the hits cand[0..n), all in row group `rg` (first row `start`)
 * of `r` and sorted by row, from the vectors stored in column `field`.
 * `rows` and `dist` are scratch for n rows. */
static infino_status rescore_group(struct qry_hits *h, const struct cand *cand,
                                   size_t n, struct pq_reader *r, int rg,
                                   uint64_t start, int field, uint32_t *rows,
                                   float *dist, enum sf_metric m,
                                   const float *query, size_t dim)
{
    const struct ArrowArray *vec, *items;
    struct ArrowArray batch;
    const float *x;
    size_t n_rows = 0, k = 0;
    infino_status st;

    for (size_t i = 0; i < n; i++) {
        uint32_t row = (uint32_t)(cand[i].row - start);
        if (n_rows == 0 || rows[n_rows - 1] != row)
            rows[n_rows++] = row;
    }
    st = pq_reader_read_rows(r, rg, &field, 1, rows, n_rows, &batch);
    if (st != INFINO_OK)
        return st;
    vec = batch.children[0];
    items = vec->children[0];
    /* fixed_size_list<float32, dim>: checked when the table was created */
    x = (const float *)items->buffers[1] + items->offset;
    for (size_t i = 0; i < n_rows; i++)
        if (!ar_array_is_valid(vec, (int64_t)i)) {
            ar_array_release(&batch);
            return err_set(INFINO_ERR_CORRUPT,
                           "row group %d: an indexed row has a null vector",
                           rg);
        }
    exact_distances(dist, m, query, x + (size_t)vec->offset * dim, n_rows,
                    dim);
    for (size_t i = 0; i < n; i++) {
        while (rows[k] != (uint32_t)(cand[i].row - start))
            k++; /* rows are cand's rows, deduplicated */
        h->v[cand[i].hit].score = dist[k];
        /* the index refused NaN and infinity when it was built */
        if (isnan(h->v[cand[i].hit].score)) {
            ar_array_release(&batch);
            return err_set(INFINO_ERR_CORRUPT,
                           "row group %d: an indexed row's vector is not "
                           "finite",
                           rg);
        }
    }
    ar_array_release(&batch);
    return INFINO_OK;
}

/* Replaces every hit's score with its exact distance to `query`, reading
 * the vectors of vector column `vec_col` with one point read per
 * (superfile, row group), then sorts the hits by (score, superfile, row). */
static infino_status rescore_exact(struct qry_hits *h, struct tbl_view *v,
                                   size_t vec_col, const float *query,
                                   size_t dim)
{
    struct tbl *t = tbl_view_table(v);
    const struct sf_vec_spec *spec = &tbl_spec(t)->vec[vec_col];
    int field = ar_schema_find(tbl_full_schema(t), spec->column);
    struct cand *cand = NULL;
    uint32_t *rows = NULL;
    float *dist = NULL;
    infino_status st = INFINO_OK;

    if (h->n == 0)
        return INFINO_OK;
    cand = mem_alloc(h->n * sizeof *cand);
    rows = mem_alloc(h->n * sizeof *rows);
    dist = mem_alloc(h->n * sizeof *dist);
    if (cand == NULL || rows == NULL || dist == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < h->n; i++) {
        cand[i].sf = h->v[i].sf;
        cand[i].row = h->v[i].row;
        cand[i].hit = i;
    }
    qsort(cand, h->n, sizeof *cand, by_cand_position);
    for (size_t i = 0; i < h->n;) {
        uint32_t sf = cand[i].sf;
        struct tbl_vsf f;
        struct pq_reader *r;
        int n_rg;

        CHECK(tbl_view_pin(v, sf, &f));
        r = sf_reader_parquet(f.reader);
        n_rg = pq_reader_num_row_groups(r);
        while (st == INFINO_OK && i < h->n && cand[i].sf == sf) {
            uint64_t start = 0, len = 0;
            int rg = 0;
            size_t j = i;

            for (; rg < n_rg; rg++) {
                len = (uint64_t)pq_reader_row_group_rows(r, rg);
                if (cand[i].row < start + len)
                    break;
                start += len;
            }
            if (rg == n_rg) {
                st = err_set(INFINO_ERR_CORRUPT, "%s: row %u beyond the file",
                             sf_reader_name(f.reader), cand[i].row);
                break;
            }
            while (j < h->n && cand[j].sf == sf && cand[j].row < start + len)
                j++;
            st = rescore_group(h, cand + i, j - i, r, rg, start, field, rows,
                               dist, spec->metric, query, dim);
            if (st != INFINO_OK)
                st = err_context(st, "%s: rescoring vectors",
                                 sf_reader_name(f.reader));
            i = j;
        }
        tbl_view_unpin(v, sf);
        if (st != INFINO_OK)
            goto fail;
    }
    sort_hits(h, by_score_asc);
fail:
    mem_free(cand);
    mem_free(rows);
    mem_free(dist);
    return st;
}

/* Allowed rows of each superfile under a full-text filter. */
static infino_status filter_sets(roaring_bitmap_t **allow, struct tbl_view *v,
                                 const struct qry_filter *filter)
{
    struct fts_query *q = NULL;
    struct fts_doc_ids ids = {0};
    infino_status st;

    CHECK(fts_query_parse(&q, col_analysis(v, (size_t)filter->fts_col),
                          filter->query, strlen(filter->query)));
    for (size_t i = 0; i < tbl_view_n_sf(v); i++) {
        const struct fts_reader *r;
        allow[i] = roaring_bitmap_create();
        if (allow[i] == NULL) {
            st = err_nomem();
            goto fail;
        }
        if (fts_query_n_terms(q) == 0)
            continue; /* an empty filter allows nothing */
        {
            struct tbl_vsf f;
            CHECK(tbl_view_pin(v, i, &f));
            ids.n = 0;
            st = fts_of(&r, v, &f, (size_t)filter->fts_col);
            if (st == INFINO_OK)
                st = fts_match(&ids, r, q, filter->mode, f.deleted);
            tbl_view_unpin(v, i);
            if (st != INFINO_OK)
                goto fail;
        }
        roaring_bitmap_add_many(allow[i], ids.n, ids.ids);
    }
fail:
    fts_doc_ids_free(&ids);
    fts_query_free(q);
    return st;
}

/* Inserts a hit into h, kept sorted by_score_asc and at most `keep` long. */
static infino_status keep_best(struct qry_hits *h, size_t keep, uint32_t sf,
                               uint32_t row, float score)
{
    struct qry_hit x = {sf, row, score};
    size_t i;

    if (keep == 0 || (h->n == keep && by_score_asc(&x, &h->v[keep - 1]) >= 0))
        return INFINO_OK;
    if (h->n < keep && MEM_RESERVE(h->v, h->cap, h->n + 1))
        return err_nomem();
    i = h->n < keep ? h->n++ : keep - 1;
    while (i > 0 && by_score_asc(&x, &h->v[i - 1]) < 0) {
        h->v[i] = h->v[i - 1];
        i--;
    }
    h->v[i] = x;
    return INFINO_OK;
}

/* Clusters shortlisted by their estimated keys per cluster the search
 * will probe, before exact keys decide (the estimates' rounding can only
 * swap clusters whose keys are within it of each other). */
#define SHORTLIST_MULT 2
#define SHORTLIST_EXTRA 16

/* The clusters to probe when no filter applies, chosen across every live
 * superfile by centroid distance: *out (owned) in visit order (see
 * by_visit), *n_out of them. One superfile probes its nprobe nearest
 * clusters. Several probe the nearest clusters of them all, as many as
 * make the same fraction of their clusters as nprobe is of the clusters
 * one superfile of all the rows would have (ivf_clamp_clusters with the
 * column's cluster count): the same part of the vector space, whatever
 * the number of superfiles; and each superfile's nearest cluster (its
 * anchor), since the neighbours of a query are spread over superfiles
 * filled alike, whose small clusters each hold few of them. Measured on
 * 100K clustered rows in 100 superfiles (bench/vector/many_superfiles.py):
 * anchors lift recall@10 from 0.31 to 0.93 at nprobe 1 and from 0.989 to
 * 0.996 at the default; a budget of rows instead of clusters (the rows
 * nprobe clusters of one superfile would hold) reached only 0.75. */
static infino_status choose_probes(struct probe **out, size_t *n_out,
                                   struct tbl_view *v, size_t vec_col,
                                   const bool *live, size_t n_live,
                                   struct ivf_query *pq, uint32_t nprobe)
{
    size_t n_sf = tbl_view_n_sf(v), n = 0, cap = 0, want, keep, take;
    size_t n_anchor = 0;
    bool anchors = n_live > 1;
    uint64_t rows = 0;
    struct probe *p = NULL;
    uint32_t *ids = NULL, *rank = NULL, next = 0;
    float *keys = NULL;
    size_t keys_cap = 0;
    infino_status st = INFINO_OK;

    *out = NULL;
    *n_out = 0;
    for (size_t i = 0; i < n_sf; i++) {
        struct ivf_reader *ivf;
        const roaring_bitmap_t *nulls;
        struct tbl_vsf f;
        uint32_t nc = 0, best = 0;

        if (!live[i])
            continue;
        CHECK(tbl_view_pin(v, i, &f));
        st = sf_indexes_ivf(&ivf, &nulls, f.indexes, vec_col);
        if (st == INFINO_OK) {
            nc = ivf_n_clusters(ivf);
            rows += ivf_n_rows(ivf);
            if (MEM_RESERVE(keys, keys_cap, (size_t)nc + 1) ||
                MEM_RESERVE(p, cap, n + nc + 1))
                st = err_nomem();
        }
        if (st == INFINO_OK && nc > 0)
            st = ivf_query_cluster_keys_approx(keys, ivf, pq);
        tbl_view_unpin(v, i);
        if (st != INFINO_OK)
            goto fail;
        for (uint32_t c = 0; c < nc; c++) {
            p[n].key = keys[c];
            p[n].sf = (uint32_t)i;
            p[n].cluster = c;
            p[n].visit = 0;
            if (by_key(&p[n], &p[n - c + best]) < 0)
                best = c;
            n++;
        }
        if (nc > 0 && anchors)
            p[n - nc + best].visit = 1;
    }
    if (n == 0)
        goto done;
    want = nprobe;
    if (n_live > 1) {
        const struct sf_vec_spec *spec =
            &tbl_spec(tbl_view_table(v))->vec[vec_col];
        uint64_t c_ref = ivf_clamp_clusters(spec->n_centroids, rows);
        uint64_t w = c_ref ? ((uint64_t)nprobe * n + c_ref - 1) / c_ref : n;
        if (w > want)
            want = w < n ? (size_t)w : n;
    }
    take = want < n ? want : n;
    keep = take <= (SIZE_MAX - SHORTLIST_EXTRA) / SHORTLIST_MULT
               ? SHORTLIST_MULT * take + SHORTLIST_EXTRA
               : SIZE_MAX;
    /* each superfile's nearest cluster (anchor) stays in the shortlist */
    for (size_t i = 0; i < n; i++)
        if (p[i].visit) {
            struct probe t = p[n_anchor];
            p[n_anchor++] = p[i];
            p[i] = t;
        }
    keep_nearest(p + n_anchor, n - n_anchor, keep);
    if (n - n_anchor > keep)
        n = n_anchor + keep;
    /* exact keys of the shortlist, one pin per superfile */
    if (n > 1)
        qsort(p, n, sizeof *p, by_sf_then_key);
    ids = mem_alloc(n * sizeof *ids);
    if (ids == NULL || MEM_RESERVE(keys, keys_cap, n)) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < n;) {
        uint32_t sf = p[i].sf;
        struct ivf_reader *ivf;
        const roaring_bitmap_t *nulls;
        struct tbl_vsf f;
        size_t j = i;

        while (j < n && p[j].sf == sf) {
            ids[j - i] = p[j].cluster;
            j++;
        }
        CHECK(tbl_view_pin(v, sf, &f));
        st = sf_indexes_ivf(&ivf, &nulls, f.indexes, vec_col);
        if (st == INFINO_OK)
            st = ivf_query_cluster_keys(keys, ivf, pq, ids, j - i);
        tbl_view_unpin(v, sf);
        if (st != INFINO_OK)
            goto fail;
        for (size_t t = i; t < j; t++)
            p[t].key = keys[t - i];
        i = j;
    }
    keep_nearest(p, n, take);
    if (take > n)
        take = n;
    /* anchors beyond the nearest `take` are probed too */
    for (size_t i = take; i < n; i++)
        if (p[i].visit) {
            struct probe t = p[take];
            p[take++] = p[i];
            p[i] = t;
        }
    rank = mem_alloc(n_sf * sizeof *rank);
    if (rank == NULL) {
        st = err_nomem();
        goto fail;
    }
    if (take > 1)
        qsort(p, take, sizeof *p, by_key);
    for (size_t i = 0; i < take; i++)
        rank[p[i].sf] = UINT32_MAX;
    for (size_t i = 0; i < take; i++) {
        if (rank[p[i].sf] == UINT32_MAX)
            rank[p[i].sf] = next++;
        p[i].visit = rank[p[i].sf];
    }
    if (take > 1)
        qsort(p, take, sizeof *p, by_visit);
    n = take;
done:
    *out = p;
    *n_out = n;
    p = NULL;
fail:
    mem_free(p);
    mem_free(ids);
    mem_free(rank);
    mem_free(keys);
    return st;
}

infino_status qry_vector(struct qry_hits *out, struct tbl_view *v,
                         size_t vec_col, const float *query, size_t dim,
                         size_t k, uint32_t nprobe,
                         const struct qry_filter *filter)
{
    size_t n_sf = tbl_view_n_sf(v);
    bool *live = NULL;
    roaring_bitmap_t **allow = NULL;
    struct probe *probes = NULL;
    struct ivf_hit *local = NULL;
    struct ivf_query *pq = NULL;
    uint32_t *clusters = NULL;
    size_t n_probes = 0, n_live = 0, kk;
    bool filtered = filter && filter->fts_col >= 0;
    infino_status st;

    memset(out, 0, sizeof *out);
    CHECK(check_query(tbl_view_table(v), vec_col, query, dim));
    if (k > snapshot_live_rows(tbl_view_snapshot(v))) /* reserved up front */
        k = (size_t)snapshot_live_rows(tbl_view_snapshot(v));
    if (k == 0 || n_sf == 0)
        return INFINO_OK;
    /* candidates kept for exact rescoring */
    kk = k <= SIZE_MAX - RESCORE_EXTRA ? k + RESCORE_EXTRA : k;
    if (nprobe == 0)
        nprobe = IVF_DEFAULT_NPROBE;
    live = mem_calloc(n_sf, sizeof *live);
    allow = mem_calloc(n_sf, sizeof *allow);
    local = mem_calloc(kk, sizeof *local);
    if (!live || !allow || !local) {
        st = err_nomem();
        goto fail;
    }
    CHECK(ivf_query_new(&pq, query, dim));
    if (filtered)
        CHECK(filter_sets(allow, v, filter));
    for (size_t i = 0; i < n_sf; i++) {
        const struct snap_sf *meta = tbl_view_meta(v, i);
        live[i] = meta->n_deleted < meta->n_rows &&
                  !(filtered && roaring_bitmap_is_empty(allow[i]));
        n_live += live[i];
    }
    if (filtered) {
        for (size_t i = 0; i < n_sf; i++) {
            struct ivf_search_opts o = IVF_SEARCH_OPTS_INIT;
            roaring_bitmap_t *skip_owned = NULL;
            struct ivf_reader *ivf;
            const roaring_bitmap_t *nulls;
            struct tbl_vsf f;
            size_t n = 0;

            if (!live[i])
                continue;
            CHECK(tbl_view_pin(v, i, &f));
            st = sf_indexes_ivf(&ivf, &nulls, f.indexes, vec_col);
            if (st == INFINO_OK)
                st = skip_set(&o.deleted, &skip_owned, &f, nulls);
            o.nprobe = nprobe;
            o.allow = allow[i];
            if (st == INFINO_OK)
                st = ivf_query_search(local, &n, ivf, pq, kk, &o);
            if (skip_owned)
                roaring_bitmap_free(skip_owned);
            tbl_view_unpin(v, i);
            if (st != INFINO_OK)
                goto fail;
            for (size_t j = 0; j < n; j++)
                CHECK(keep_best(out, kk, (uint32_t)i, local[j].id,
                                local[j].dist));
        }
    } else if (n_live > 0) {
        CHECK(choose_probes(&probes, &n_probes, v, vec_col, live, n_live, pq,
                            nprobe));
        clusters = mem_alloc((n_probes + 1) * sizeof *clusters);
        if (clusters == NULL) {
            st = err_nomem();
            goto fail;
        }
        /* Superfiles nearest first, each with the k-th best distance so
         * far as its bound: once good rows are found, the clusters and
         * rows of later superfiles that cannot beat them cost little. */
        for (size_t p = 0; p < n_probes;) {
            struct ivf_search_opts o = IVF_SEARCH_OPTS_INIT;
            roaring_bitmap_t *skip_owned = NULL;
            struct ivf_reader *ivf;
            const roaring_bitmap_t *nulls;
            struct tbl_vsf f;
            uint32_t i = probes[p].sf;
            size_t n = 0, nc = 0;
            float bound = 0;

            while (p < n_probes && probes[p].sf == i)
                clusters[nc++] = probes[p++].cluster;
            if (out->n >= kk) {
                bound = out->v[kk - 1].score;
                o.bound = &bound;
            }
            CHECK(tbl_view_pin(v, i, &f));
            st = sf_indexes_ivf(&ivf, &nulls, f.indexes, vec_col);
            if (st == INFINO_OK)
                st = skip_set(&o.deleted, &skip_owned, &f, nulls);
            if (st == INFINO_OK)
                st = ivf_query_search_clusters(local, &n, ivf, pq, kk,
                                               clusters, nc, &o);
            if (skip_owned)
                roaring_bitmap_free(skip_owned);
            tbl_view_unpin(v, i);
            if (st != INFINO_OK)
                goto fail;
            for (size_t j = 0; j < n; j++)
                CHECK(keep_best(out, kk, i, local[j].id, local[j].dist));
        }
    }
    CHECK(rescore_exact(out, v, vec_col, query, dim));
    if (out->n > k)
        out->n = k;
    st = INFINO_OK;
fail:
    if (st != INFINO_OK)
        qry_hits_free(out);
    for (size_t i = 0; allow && i < n_sf; i++)
        if (allow[i])
            roaring_bitmap_free(allow[i]);
    ivf_query_free(pq);
    mem_free(allow);
    mem_free(live);
    mem_free(probes);
    mem_free(clusters);
    mem_free(local);
    return st;
}

/* ---- hybrid ------------------------------------------------------------- */

static int by_position(const void *a, const void *b)
{
    const struct qry_hit *x = a, *y = b;
    if (x->sf != y->sf)
        return x->sf < y->sf ? -1 : 1;
    return (x->row > y->row) - (x->row < y->row);
}

infino_status qry_hybrid(struct qry_hits *out, struct tbl_view *v,
                         size_t fts_col, const char *text, enum fts_mode mode,
                         size_t vec_col, const float *query, size_t dim,
                         size_t k, uint32_t nprobe)
{
    return qry_hybrid_len(out, v, fts_col, text, strlen(text), mode, vec_col,
                          query, dim, k, nprobe);
}

infino_status qry_hybrid_len(struct qry_hits *out, struct tbl_view *v,
                             size_t fts_col, const char *text,
                             size_t text_len, enum fts_mode mode,
                             size_t vec_col, const float *query, size_t dim,
                             size_t k, uint32_t nprobe)
{
    return qry_hybrid_sim(out, v, fts_col, text, text_len, mode, vec_col,
                          query, dim, k, nprobe, NULL);
}

infino_status qry_hybrid_sim(struct qry_hits *out, struct tbl_view *v,
                             size_t fts_col, const char *text,
                             size_t text_len, enum fts_mode mode,
                             size_t vec_col, const float *query, size_t dim,
                             size_t k, uint32_t nprobe,
                             const struct fts_similarity *sim)
{
    struct qry_hits a = {0}, b = {0}, all = {0};
    struct qry_bm25_opts bo = {sim, false};
    infino_status st;

    memset(out, 0, sizeof *out);
    CHECK(check_query(tbl_view_table(v), vec_col, query, dim));
    CHECK(qry_bm25_ex(&a, v, fts_col, text, text_len, k, mode, &bo));
    CHECK(qry_vector(&b, v, vec_col, query, dim, k, nprobe, NULL));
    for (size_t r = 0; r < a.n; r++)
        CHECK(hits_push(&all, a.v[r].sf, a.v[r].row,
                        (float)(1.0 / (RRF_K + (double)r + 1.0))));
    for (size_t r = 0; r < b.n; r++)
        CHECK(hits_push(&all, b.v[r].sf, b.v[r].row,
                        (float)(1.0 / (RRF_K + (double)r + 1.0))));
    /* Sum the contributions of a row found by both lists. */
    sort_hits(&all, by_position);
    for (size_t i = 0; i < all.n; i++) {
        if (out->n > 0 && out->v[out->n - 1].sf == all.v[i].sf &&
            out->v[out->n - 1].row == all.v[i].row) {
            out->v[out->n - 1].score += all.v[i].score;
            continue;
        }
        CHECK(hits_push(out, all.v[i].sf, all.v[i].row, all.v[i].score));
    }
    sort_hits(out, by_score_desc);
    if (out->n > k)
        out->n = k;
fail:
    if (st != INFINO_OK)
        qry_hits_free(out);
    qry_hits_free(&a);
    qry_hits_free(&b);
    qry_hits_free(&all);
    return st;
}
