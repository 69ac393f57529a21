/*
 * search_api.c - the search entry points of infino.h ("Search").
 *
 * Argument checks with upstream's messages, then one call into the query
 * layer on a freshly pinned view, and the result as a one-batch stream.
 */
#include "infino.h"

#include "api_int.h"
#include "query/query.h"

#include "util/alloc.h"
#include "util/err.h"

#include <strings.h>
#include <string.h>

static infino_status parse_mode(enum fts_mode *out, const char *mode,
                                const char *what)
{
    if (mode == NULL || strcasecmp(mode, "or") == 0)
        *out = FTS_MODE_OR;
    else if (strcasecmp(mode, "and") == 0)
        *out = FTS_MODE_AND;
    else
        return err_set(INFINO_ERR_INVALID, "%s must be 'or' or 'and', got '%s'",
                       what, mode);
    return INFINO_OK;
}

static infino_status list_columns(struct buf *b, char *const *names, size_t n)
{
    infino_status st = INFINO_OK;

    for (size_t i = 0; i < n && st == INFINO_OK; i++)
        st = buf_printf(b, "%s%s", i ? ", " : "", names[i]);
    if (st == INFINO_OK)
        st = buf_put_u8(b, 0);
    return st;
}

static infino_status fts_column(size_t *out, struct tbl *t, const char *column)
{
    const struct sf_index_spec *s = tbl_spec(t);
    struct buf names = {0};
    int i = column ? sf_spec_fts_index(s, column) : -1;
    infino_status st;

    if (i >= 0) {
        *out = (size_t)i;
        return INFINO_OK;
    }
    list_columns(&names, s->fts, s->n_fts);
    st = err_set(INFINO_ERR_INVALID,
                 "column '%s' of table %s is missing from the full-text "
                 "index (indexed: %s)",
                 column ? column : "(null)", tbl_name(t),
                 names.data && names.data[0] ? (char *)names.data : "none");
    buf_free(&names);
    return st;
}

static infino_status vec_column(size_t *out, struct tbl *t, const char *column)
{
    const struct sf_index_spec *s = tbl_spec(t);
    struct buf names = {0};
    int i = column ? sf_spec_vec_index(s, column) : -1;
    infino_status st;

    if (i >= 0) {
        *out = (size_t)i;
        return INFINO_OK;
    }
    for (size_t j = 0; j < s->n_vec; j++)
        buf_printf(&names, "%s%s", j ? ", " : "", s->vec[j].column);
    buf_put_u8(&names, 0);
    st = err_set(INFINO_ERR_INVALID,
                 "column '%s' of table %s is missing from the vector index "
                 "(indexed: %s)",
                 column ? column : "(null)", tbl_name(t),
                 names.data && names.data[0] ? (char *)names.data : "none");
    buf_free(&names);
    return st;
}

/* Materializes `hits` as a one-batch stream. */
static infino_status finish(struct ArrowArrayStream *out, struct tbl_view *v,
                            const struct qry_hits *hits,
                            const infino_search_opts *o, const char *method)
{
    struct ArrowArray batch;
    struct ar_schema schema;
    infino_status st;

    st = qry_materialize(&batch, &schema, v, hits,
                         o && o->projection ? o->projection : NULL,
                         o && o->projection ? o->n_projection : 0, method);
    if (st != INFINO_OK)
        return st;
    st = ar_stream_from_batches(out, &schema, &batch, 1);
    ar_schema_free(&schema);
    return st;
}

/* What one search call asks for, after argument checks. */
enum req_kind { REQ_BM25, REQ_TOKEN_MATCH, REQ_EXACT_MATCH, REQ_VECTOR,
                REQ_HYBRID };

struct request {
    enum req_kind kind;
    const char *method; /* for error messages */
    size_t fts_col, vec_col;
    const char *text; /* text_len bytes, any of them NUL */
    size_t text_len;
    enum fts_mode mode;
    const float *vec;
    size_t dim, k;
    uint32_t nprobe;
    struct qry_filter filter;
    struct fts_similarity sim; /* when has_sim */
    bool has_sim;
    bool prefix; /* REQ_BM25: the text is a prefix */
};

/* Superfiles are opened while a search runs (table.h), so gc with a short
 * grace may remove one its snapshot still names once a newer snapshot
 * exists: then the search runs again on the newest one. */
static bool retry_newer(struct tbl_view **v, infino_table *t,
                        infino_status st, int attempt)
{
    struct tbl_view *nv = NULL;
    uint64_t had = tbl_view_snapshot(*v)->version;
    char saved[1024];

    if (st != INFINO_ERR_NOTFOUND || attempt >= 3)
        return false;
    snprintf(saved, sizeof saved, "%s", err_last());
    if (tbl_view_acquire(&nv, t->t) != INFINO_OK ||
        tbl_view_snapshot(nv)->version == had) {
        tbl_view_release(nv);
        err_set(INFINO_OK, "%s", saved);
        return false;
    }
    tbl_view_release(*v);
    *v = nv;
    err_clear();
    return true;
}

static infino_status search(struct qry_hits *hits, struct tbl_view *v,
                            const struct request *rq)
{
    switch (rq->kind) {
    case REQ_BM25: {
        struct qry_bm25_opts bo = {rq->has_sim ? &rq->sim : NULL,
                                   rq->prefix};
        return qry_bm25_ex(hits, v, rq->fts_col, rq->text, rq->text_len,
                           rq->k, rq->mode, &bo);
    }
    case REQ_TOKEN_MATCH:
        return qry_token_match_len(hits, v, rq->fts_col, rq->text,
                                   rq->text_len, rq->mode);
    case REQ_EXACT_MATCH:
        return qry_exact_match(hits, v, rq->fts_col, rq->text, rq->text_len);
    case REQ_VECTOR:
        return qry_vector(hits, v, rq->vec_col, rq->vec, rq->dim, rq->k,
                          rq->nprobe, &rq->filter);
    case REQ_HYBRID:
        return qry_hybrid_sim(hits, v, rq->fts_col, rq->text, rq->text_len,
                              rq->mode, rq->vec_col, rq->vec, rq->dim, rq->k,
                              rq->nprobe, rq->has_sim ? &rq->sim : NULL);
    }
    return err_set(INFINO_ERR_INVALID, "unknown search");
}

/* Runs `rq` on a freshly pinned view and streams the result. */
static infino_status run(infino_table *t, const struct request *rq,
                         const infino_search_opts *o,
                         struct ArrowArrayStream *out)
{
    struct tbl_view *v = NULL;
    struct qry_hits hits = {0};
    infino_status st;

    CHECK(tbl_view_acquire_read(&v, t->t));
    for (int attempt = 0;; attempt++) {
        st = search(&hits, v, rq);
        if (st == INFINO_OK)
            st = finish(out, v, &hits, o, rq->method);
        qry_hits_free(&hits);
        memset(&hits, 0, sizeof hits);
        if (!retry_newer(&v, t, st, attempt))
            break;
    }
fail:
    qry_hits_free(&hits);
    tbl_view_release(v);
    return st;
}

/* Checks common to every entry point; fills the text side of `rq`. */
static infino_status begin(struct request *rq, infino_table *t,
                           struct ArrowArrayStream *out, enum req_kind kind,
                           const char *method, const char *text_column,
                           const char *text, size_t text_len,
                           const infino_search_opts *o)
{
    memset(rq, 0, sizeof *rq);
    rq->kind = kind;
    rq->method = method;
    rq->filter.fts_col = -1;
    if (t == NULL || out == NULL)
        return err_set(INFINO_ERR_INVALID, "%s: NULL argument", method);
    memset(out, 0, sizeof *out);
    if (text == NULL && text_len > 0)
        return err_set(INFINO_ERR_INVALID, "%s: %s is NULL", method,
                       kind == REQ_EXACT_MATCH ? "value" : "query");
    rq->text = text != NULL ? text : "";
    rq->text_len = text_len;
    if (kind != REQ_VECTOR) {
        infino_status st = fts_column(&rq->fts_col, t->t, text_column);
        if (st != INFINO_OK)
            return st;
    }
    if (o != NULL && o->version >= 2 && o->bm25_params &&
        (kind == REQ_BM25 || kind == REQ_HYBRID)) {
        infino_status st = fts_similarity_check(o->k1, o->b);
        if (st != INFINO_OK)
            return err_context(st, "%s: invalid query", method);
        rq->sim.k1 = o->k1;
        rq->sim.b = o->b;
        rq->has_sim = true;
    }
    return parse_mode(&rq->mode, o ? o->mode : NULL, "mode");
}

INFINO_API infino_status infino_table_bm25_search(infino_table *t,
                                                  const char *column,
                                                  const char *query,
                                                  size_t query_len, size_t k,
                                                  const infino_search_opts *o,
                                                  struct ArrowArrayStream *out)
{
    struct request rq;
    infino_status st = begin(&rq, t, out, REQ_BM25, "bm25_search", column,
                             query, query_len, o);

    rq.k = k;
    return st != INFINO_OK ? st : run(t, &rq, o, out);
}

INFINO_API infino_status infino_table_bm25_search_prefix(
    infino_table *t, const char *column, const char *prefix,
    size_t prefix_len, size_t k, const infino_search_opts *o,
    struct ArrowArrayStream *out)
{
    struct request rq;
    infino_status st = begin(&rq, t, out, REQ_BM25, "bm25_search_prefix",
                             column, prefix, prefix_len, o);

    rq.k = k;
    rq.prefix = true;
    return st != INFINO_OK ? st : run(t, &rq, o, out);
}

INFINO_API infino_status infino_table_token_match(infino_table *t,
                                                  const char *column,
                                                  const char *query,
                                                  size_t query_len,
                                                  const infino_search_opts *o,
                                                  struct ArrowArrayStream *out)
{
    struct request rq;
    infino_status st = begin(&rq, t, out, REQ_TOKEN_MATCH, "token_match",
                             column, query, query_len, o);

    return st != INFINO_OK ? st : run(t, &rq, o, out);
}

INFINO_API infino_status infino_table_exact_match(infino_table *t,
                                                  const char *column,
                                                  const char *value,
                                                  size_t value_len,
                                                  const infino_search_opts *o,
                                                  struct ArrowArrayStream *out)
{
    struct request rq;
    infino_status st = begin(&rq, t, out, REQ_EXACT_MATCH, "exact_match",
                             column, value, value_len, NULL);

    return st != INFINO_OK ? st : run(t, &rq, o, out);
}

INFINO_API infino_status infino_table_count(infino_table *t,
                                            const char *column,
                                            const char *query,
                                            size_t query_len,
                                            const char *mode_name,
                                            uint64_t *out)
{
    struct tbl_view *v = NULL;
    enum fts_mode mode;
    size_t col;
    infino_status st;

    if (t == NULL || out == NULL || (query == NULL && query_len > 0))
        return err_set(INFINO_ERR_INVALID, "count: NULL argument");
    if (query == NULL)
        query = "";
    *out = 0;
    CHECK(fts_column(&col, t->t, column));
    CHECK(parse_mode(&mode, mode_name, "mode"));
    CHECK(tbl_view_acquire_read(&v, t->t));
    for (int attempt = 0;; attempt++) {
        *out = 0;
        st = qry_count_len(out, v, col, query, query_len, mode);
        if (!retry_newer(&v, t, st, attempt))
            break;
    }
fail:
    tbl_view_release(v);
    return st;
}

static infino_status parse_filter(struct qry_filter *f, struct tbl *t,
                                  const infino_search_opts *o)
{
    size_t col;
    infino_status st;

    f->fts_col = -1;
    f->query = NULL;
    f->mode = FTS_MODE_OR;
    if (o == NULL)
        return INFINO_OK;
    if ((o->filter_column == NULL) != (o->filter_query == NULL))
        return err_set(INFINO_ERR_INVALID,
                       "filter_column and filter_query must be provided "
                       "together");
    if (o->filter_column == NULL) {
        if (o->filter_mode != NULL)
            return err_set(INFINO_ERR_INVALID,
                           "filter_mode requires filter_column and "
                           "filter_query");
        return INFINO_OK;
    }
    st = parse_mode(&f->mode, o->filter_mode, "filter_mode");
    if (st == INFINO_OK)
        st = fts_column(&col, t, o->filter_column);
    if (st != INFINO_OK)
        return st;
    f->fts_col = (int)col;
    f->query = o->filter_query;
    return INFINO_OK;
}

/* The vector side of a request. */
static infino_status vector_side(struct request *rq, infino_table *t,
                                 const char *column, const float *vec,
                                 size_t dim, size_t k,
                                 const infino_search_opts *o)
{
    infino_status st = vec_column(&rq->vec_col, t->t, column);

    if (st != INFINO_OK)
        return st;
    if (vec == NULL && dim > 0)
        return err_set(INFINO_ERR_INVALID, "%s: query vector is NULL",
                       rq->method);
    rq->vec = vec;
    rq->dim = dim;
    rq->k = k;
    rq->nprobe = o ? o->nprobe : 0;
    return INFINO_OK;
}

INFINO_API infino_status infino_table_vector_search(
    infino_table *t, const char *column, const float *query, size_t dim,
    size_t k, const infino_search_opts *o, struct ArrowArrayStream *out)
{
    struct request rq;
    infino_status st;

    CHECK(begin(&rq, t, out, REQ_VECTOR, "vector_search", NULL, "", 0, NULL));
    CHECK(vector_side(&rq, t, column, query, dim, k, o));
    CHECK(parse_filter(&rq.filter, t->t, o));
    return run(t, &rq, o, out);
fail:
    return st;
}

INFINO_API infino_status infino_table_hybrid_search(
    infino_table *t, const char *text_column, const char *text_query,
    size_t text_query_len, const char *vector_column,
    const float *vector_query, size_t dim, size_t k,
    const infino_search_opts *o, struct ArrowArrayStream *out)
{
    struct request rq;
    infino_status st;

    CHECK(begin(&rq, t, out, REQ_HYBRID, "hybrid_search", text_column,
                text_query, text_query_len, o));
    CHECK(vector_side(&rq, t, vector_column, vector_query, dim, k, o));
    return run(t, &rq, o, out);
fail:
    return st;
}
