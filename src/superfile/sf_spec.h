/*
 * sf_spec.h - which columns of a table are indexed, and how.
 *
 * An index spec names full-text columns (utf8 or large_utf8) and vector
 * columns (fixed_size_list<float32, dim>) with their centroid count and
 * distance metric. It is fixed when a table is created, stored in the
 * catalog, and handed to every superfile build.
 */
#ifndef INFINO_SUPERFILE_SPEC_H
#define INFINO_SUPERFILE_SPEC_H

#include "format/arrow/arrow.h"
#include "index/fts/fts.h"
#include "util/rd.h"

enum sf_metric {
    SF_METRIC_COSINE = 1, /* 1 - cos(a, b) */
    SF_METRIC_L2SQ = 2,   /* squared Euclidean distance ("l2" too) */
    SF_METRIC_NEGDOT = 3, /* -dot(a, b) ("dot" too) */
};

#define SF_VECTOR_DIM_MAX 16384

struct sf_vec_spec {
    char *column; /* owned */
    uint32_t dim;
    uint32_t n_centroids; /* 0: chosen per superfile (about sqrt(rows)) */
    enum sf_metric metric;
};

/* A full-text column's options (IndexSpec.fts). */
struct sf_fts_opts {
    struct fts_analysis an; /* owned */
    /* The column's BM25 parameters; both 0: FTS_DEFAULT_K1 and _B. A
     * search may still override them. */
    double k1, b;
    /* IndexSpec.fts(positions=True): quoted phrases may be searched
     * (matches are verified against the stored text, which knows every
     * token's position). */
    bool positions;
    /* IndexSpec.fts(stored=False): the column is indexed but hidden from
     * results, projections and SQL (its text stays in the superfile,
     * which compaction and reindex rebuild the index from). */
    bool hidden;
};

struct sf_index_spec {
    size_t n_fts;
    char **fts; /* owned array of owned names */
    struct sf_fts_opts *fts_opts; /* owned, n_fts entries */
    size_t n_vec;
    struct sf_vec_spec *vec; /* owned */
};

/* Parses a metric name, case-insensitively: cosine, l2sq, l2, negdot,
 * dot. INFINO_ERR_INVALID listing the accepted names otherwise. */
infino_status sf_metric_parse(enum sf_metric *out, const char *name);
/* Canonical name ("cosine", "l2sq", "negdot"). */
const char *sf_metric_name(enum sf_metric m);

/* Appends a column (copied) with zeroed options: the alnum analyzer,
 * what tables made before analyzers existed use. */
infino_status sf_spec_add_fts(struct sf_index_spec *s, const char *column);
/* Appends a column with options (copied; checked: k1 and b both 0 or in
 * range, a stemmer or stop list that exists). */
infino_status sf_spec_add_fts_opts(struct sf_index_spec *s,
                                   const char *column,
                                   const struct sf_fts_opts *o);
infino_status sf_spec_add_vector(struct sf_index_spec *s, const char *column,
                                 uint32_t dim, uint32_t n_centroids,
                                 enum sf_metric metric);

/* Checks the spec against a table's user schema: every named column
 * exists, text columns are utf8/large_utf8, vector columns are
 * fixed_size_list<float32> of exactly `dim` (1..SF_VECTOR_DIM_MAX), no
 * column is indexed twice. Errors name the column. */
infino_status sf_spec_validate(const struct sf_index_spec *s,
                               const struct ar_schema *schema);

/* Index of the FTS / vector entry for `column`, or -1. */
int sf_spec_fts_index(const struct sf_index_spec *s, const char *column);
int sf_spec_vec_index(const struct sf_index_spec *s, const char *column);

infino_status sf_spec_copy(struct sf_index_spec *out,
                           const struct sf_index_spec *s);
void sf_spec_free(struct sf_index_spec *s); /* leaves it zeroed */

/* Serialization for the catalog: the columns, then (since analyzers) the
 * full-text options; a spec without them decodes with zeroed options.
 * decode: INFINO_ERR_CORRUPT on bad input; *out owned. */
infino_status sf_spec_encode(struct buf *out, const struct sf_index_spec *s);
infino_status sf_spec_decode(struct sf_index_spec *out, struct rd *r);

#endif
