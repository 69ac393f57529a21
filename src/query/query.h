/*
 * query.h - searches over one table view: fan-out, global statistics,
 * top-k merge, fusion, and turning hits into Arrow results.
 *
 * Every function works on one pinned view (a snapshot), so a query sees
 * one consistent table however many commits happen meanwhile. Hits name
 * rows by (superfile index in the view, local row); deleted rows never
 * appear. Ordering is total and deterministic: BM25 and hybrid by score
 * descending, vectors by distance ascending, ties by (superfile, row).
 */
#ifndef INFINO_QUERY_H
#define INFINO_QUERY_H

#include "table/table.h"

struct qry_hit {
    uint32_t sf;  /* index into the view's superfiles */
    uint32_t row; /* local row */
    float score;
};

/* A growable list of hits; a zeroed struct is empty. */
struct qry_hits {
    struct qry_hit *v; /* owned */
    size_t n, cap;
};
void qry_hits_free(struct qry_hits *h);

/* Query text is `query_len` bytes at `query` (borrowed for the call; any
 * bytes, NUL included: like any byte outside letters and digits it
 * separates tokens). The forms without _len take a NUL-terminated query,
 * for callers that hold C strings. */

/* BM25 top-k over FTS column `fts_col` (index into the spec's FTS list)
 * with table-global N, df and avgdl. An empty query yields nothing; a
 * query with only negated terms, or with more than FTS_MAX_QUERY_TERMS
 * distinct terms, is INFINO_ERR_INVALID. */
infino_status qry_bm25_len(struct qry_hits *out, struct tbl_view *v,
                           size_t fts_col, const char *query,
                           size_t query_len, size_t k, enum fts_mode mode);
infino_status qry_bm25(struct qry_hits *out, struct tbl_view *v,
                       size_t fts_col, const char *query, size_t k,
                       enum fts_mode mode);

/* What a BM25 search may add to the query text. A zeroed struct is the
 * plain search. */
struct qry_bm25_opts {
    /* k1 and b for this search (borrowed); NULL: the column's. */
    const struct fts_similarity *sim;
    /* The text is one prefix, not a query: every term starting with it
     * (after the column's normalization) is a positive term, OR'ed, each
     * once. The empty prefix names every term; a prefix that is not
     * (part of) one token matches nothing. */
    bool prefix;
};
infino_status qry_bm25_ex(struct qry_hits *out, struct tbl_view *v,
                          size_t fts_col, const char *query, size_t query_len,
                          size_t k, enum fts_mode mode,
                          const struct qry_bm25_opts *o);

/* Rows matching the query (no ranking), in (superfile, row) order. */
infino_status qry_token_match_len(struct qry_hits *out, struct tbl_view *v,
                                  size_t fts_col, const char *query,
                                  size_t query_len, enum fts_mode mode);
infino_status qry_token_match(struct qry_hits *out, struct tbl_view *v,
                              size_t fts_col, const char *query,
                              enum fts_mode mode);

/* How many rows match, without materializing them. */
infino_status qry_count_len(uint64_t *out, struct tbl_view *v, size_t fts_col,
                            const char *query, size_t query_len,
                            enum fts_mode mode);
infino_status qry_count(uint64_t *out, struct tbl_view *v, size_t fts_col,
                        const char *query, enum fts_mode mode);

/* Rows whose whole value equals the `len` bytes at `value` (any bytes,
 * NUL included; any number of words), index-pruned, then verified
 * against the stored column. */
infino_status qry_exact_match(struct qry_hits *out, struct tbl_view *v,
                              size_t fts_col, const char *value, size_t len);

/* An optional full-text pre-filter for vector search. */
struct qry_filter {
    int fts_col; /* -1: no filter */
    const char *query;
    enum fts_mode mode;
};

/* The k nearest rows of vector column `vec_col`. `nprobe` (0 = default)
 * is the number of lists one superfile of all the rows would probe: over
 * several superfiles, the lists nearest the query across all of them are
 * probed, the same fraction of their lists (so the same part of the
 * vector space) however the rows are split, and the nearest list of each
 * superfile. Wrong dimension, NaN or infinity in the query is
 * INFINO_ERR_INVALID. */
infino_status qry_vector(struct qry_hits *out, struct tbl_view *v,
                         size_t vec_col, const float *query, size_t dim,
                         size_t k, uint32_t nprobe,
                         const struct qry_filter *filter);

/* Reciprocal rank fusion (k = 60) of bm25 top-k and vector top-k:
 * score = sum over lists of 1 / (60 + rank + 1), rank 0-based. */
infino_status qry_hybrid_len(struct qry_hits *out, struct tbl_view *v,
                             size_t fts_col, const char *text,
                             size_t text_len, enum fts_mode mode,
                             size_t vec_col, const float *query, size_t dim,
                             size_t k, uint32_t nprobe);
/* The same with BM25's k1 and b for this search (NULL: the column's). */
infino_status qry_hybrid_sim(struct qry_hits *out, struct tbl_view *v,
                             size_t fts_col, const char *text,
                             size_t text_len, enum fts_mode mode,
                             size_t vec_col, const float *query, size_t dim,
                             size_t k, uint32_t nprobe,
                             const struct fts_similarity *sim);
infino_status qry_hybrid(struct qry_hits *out, struct tbl_view *v,
                         size_t fts_col, const char *text, enum fts_mode mode,
                         size_t vec_col, const float *query, size_t dim,
                         size_t k, uint32_t nprobe);

/* Builds the result batch: the columns named in `projection` in that
 * order ("_id", "score", or any visible table column: tbl_visible_schema),
 * or "_id" and "score" when `projection` is NULL. *schema_out and *out are
 * owned. An unknown or hidden name is INFINO_ERR_INVALID: "<method>:
 * unknown column \"name\" in projection; valid columns: ...". */
infino_status qry_materialize(struct ArrowArray *out,
                              struct ar_schema *schema_out,
                              struct tbl_view *v, const struct qry_hits *hits,
                              const char *const *projection,
                              size_t n_projection, const char *method);

#endif
