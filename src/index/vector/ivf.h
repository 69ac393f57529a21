/*
 * ivf.h - the vector index: IVF lists of RaBitQ codes with an SQ8 (or
 * float32) rerank payload, stored as one region of a superfile.
 *
 * Design. Rows are float32 vectors with implicit local ids 0..n-1. A
 * builder trains k-means centroids on a reservoir sample, assigns every
 * row to its nearest centroid and writes the region cluster by cluster:
 * per row a 1-bit RaBitQ code of the randomly rotated residual
 * (row - centroid) with its correction factors, the local id, and a rerank
 * payload. A search ranks the centroids, quantizes the rotated query
 * residual to 4 bits, estimates every probed row's distance with popcounts,
 * and reranks only the rows whose error-bounded lower estimate can still
 * enter the top k. The byte format is in FORMAT.md beside this file.
 *
 * Metrics (names as the public API spells them, ivf_metric_parse):
 *   "l2sq" (alias "l2"): sum of squared differences.
 *   "cosine": 1 - cos(q, x). Rows and queries are normalized internally,
 *             so non-unit input is ranked correctly; a zero vector has
 *             cosine 0 with everything (score 1).
 *   "negdot" (alias "dot"): -dot(q, x).
 * Scores are distances: smaller is nearer; ties order by ascending id.
 *
 * Caveats.
 * - With the default SQ8 payload the reported score is computed from the
 *   16-bit reconstruction (relative error ~1e-5 on typical data), not the
 *   exact float32 distance; pass a `fetch` callback (ivf_search_opts) to
 *   rescore the returned rows exactly from the caller's raw vectors.
 * - A reader may be searched from many threads at once. Each cluster's
 *   checksum is verified the first time any search touches it.
 * - Builds are deterministic: same options, seed and rows give the same
 *   bytes on every machine and SIMD level (the kernels fix their
 *   floating-point reduction order).
 */
#ifndef INFINO_INDEX_VECTOR_IVF_H
#define INFINO_INDEX_VECTOR_IVF_H

#include "infino.h"

#include <roaring/roaring.h>
#include <stddef.h>
#include <stdint.h>

struct store_blob;
struct store_sink;

#define IVF_MAX_DIM 4096u
#define IVF_MAX_CLUSTERS 65536u
/* Probes per query when the caller passes nprobe = 0. Upstream uses 6
 * unfiltered and 8 filtered; we use 8 for both: the error bound skips
 * most rows of the farther clusters, so extra probes cost little, and
 * filtered searches scale it (see ivf_search_opts.allow). */
#define IVF_DEFAULT_NPROBE 8u

enum ivf_metric {
    IVF_METRIC_L2SQ = 0,
    IVF_METRIC_COSINE = 1,
    IVF_METRIC_NEGDOT = 2,
};

/* What each row keeps for reranking (the raw floats live in the Parquet
 * body, so the index need not hold them). */
enum ivf_rerank {
    IVF_RERANK_SQ8 = 0, /* 2 * dim bytes + 2 floats: per-cluster,
                           per-dimension 8-bit codes that rank candidates,
                           plus a residual byte that rescores the best
                           ones at 16-bit precision, each stage with its
                           residual-error correction */
    IVF_RERANK_F32 = 1, /* dim floats: exact distances, 4x the bytes */
};

/* Parses a metric name ("l2sq", "l2", "cosine", "negdot", "dot"; ASCII
 * case-insensitive). INFINO_ERR_INVALID for anything else. */
infino_status ivf_metric_parse(enum ivf_metric *out, const char *name);
/* Canonical name ("l2sq", "cosine", "negdot"); static text. */
const char *ivf_metric_name(enum ivf_metric metric);

/* The number of clusters a build of `n_rows` rows uses when `requested`
 * were asked for (0 = automatic, about sqrt(n_rows)): never more than
 * n_rows, than 4 * sqrt(n_rows), or IVF_MAX_CLUSTERS; at least 1 when
 * n_rows > 0. */
uint32_t ivf_clamp_clusters(uint32_t requested, uint64_t n_rows);

/* ---- building ------------------------------------------------------ */

struct ivf_build_opts {
    uint32_t dim;          /* 1..IVF_MAX_DIM */
    enum ivf_metric metric;
    uint32_t n_clusters;   /* requested; 0 = automatic (ivf_clamp_clusters) */
    uint64_t seed;         /* k-means sampling and the random rotation */
    enum ivf_rerank rerank;
    /* Bytes of raw rows kept in memory (also bounds the k-means sample);
     * beyond it rows spill to a temporary file in `tmp_dir`. 0 = 256 MiB. */
    size_t mem_budget;
    /* Borrowed (copied by ivf_builder_new): directory for the spill file.
     * NULL = never spill (memory then grows with the input). */
    const char *tmp_dir;
    uint32_t max_iters;    /* Lloyd iterations; 0 = 10 */
};
#define IVF_BUILD_OPTS_INIT                                                    \
    {0, IVF_METRIC_L2SQ, 0, 0, IVF_RERANK_SQ8, 0, NULL, 0}

/* What a finished build did, for callers that log or benchmark it. */
struct ivf_build_stats {
    uint64_t n_rows;
    uint32_t n_clusters;
    uint32_t n_train;        /* rows k-means trained on */
    uint32_t n_iters;        /* Lloyd iterations run */
    int spilled;             /* rows went through the temporary file */
    uint64_t region_len;     /* bytes written to the sink */
};

struct ivf_builder;

/* On success *out is owned (ivf_builder_free). INFINO_ERR_INVALID for a
 * bad dim, metric or rerank value. */
infino_status ivf_builder_new(struct ivf_builder **out,
                              const struct ivf_build_opts *opts);

/* Appends `n_rows` rows (row-major, n_rows * dim floats; borrowed for the
 * call). Row ids continue from the rows added before. A NaN or infinite
 * value is INFINO_ERR_INVALID and adds nothing; more than UINT32_MAX - 1
 * rows in total is INFINO_ERR_INVALID. */
infino_status ivf_builder_add(struct ivf_builder *b, const float *rows,
                              size_t n_rows);

uint64_t ivf_builder_count(const struct ivf_builder *b);

/* Trains, assigns and writes the whole region to `sink` (borrowed) at its
 * current position, streaming: the region is never held in memory. The
 * region is store_sink_tell() after minus before. `stats_out` may be NULL.
 * The builder is spent afterwards (free it), whatever the result. */
infino_status ivf_builder_finish(struct ivf_builder *b, struct store_sink *sink,
                                 struct ivf_build_stats *stats_out);

/* The region format version ivf_builder_finish() writes (FORMAT.md);
 * every region states its own in bytes 8..11 (u32 LE). */
uint32_t ivf_format_version(void);

/* NULL is a no-op. Removes the spill file. */
void ivf_builder_free(struct ivf_builder *b);

/* ---- reading ------------------------------------------------------- */

struct ivf_reader;

/* Opens the region at [off, off + len) of `blob` (borrowed: must outlive
 * the reader). Validates the header, centroids and cluster directory and
 * their checksum; cluster blocks are validated when first searched.
 * INFINO_ERR_CORRUPT names the blob when the bytes break the format. On
 * success *out is owned (ivf_close). */
infino_status ivf_open(struct ivf_reader **out, struct store_blob *blob,
                       uint64_t off, uint64_t len);
/* NULL is a no-op. */
void ivf_close(struct ivf_reader *r);

/* Checks every checksum and bound of the region now (a full scan), so a
 * later search cannot fail with INFINO_ERR_CORRUPT. */
infino_status ivf_verify(struct ivf_reader *r);

uint32_t ivf_dim(const struct ivf_reader *r);
enum ivf_metric ivf_metric(const struct ivf_reader *r);
enum ivf_rerank ivf_rerank(const struct ivf_reader *r);
uint32_t ivf_n_rows(const struct ivf_reader *r);
uint32_t ivf_n_clusters(const struct ivf_reader *r);

/* One cluster, for pruning across superfiles (cluster < ivf_n_clusters). */
struct ivf_cluster_info {
    const uint8_t *centroid; /* borrowed until ivf_close: dim float32 LE,
                                possibly unaligned (use load_u32le) */
    uint32_t n_rows;
    /* max L2 distance (not squared) from the centroid to a member, in the
     * space rows are indexed in (unit vectors for cosine). */
    float radius;
};
void ivf_cluster_info(const struct ivf_reader *r, uint32_t cluster,
                      struct ivf_cluster_info *out);

/* The probe-order key of every cluster for `query` (dim floats): smaller
 * is probed first; comparable across regions with the same metric. It is
 * ||q - c||^2 for l2sq, ||q/|q| - c||^2 / 2 for cosine, -<q, c> for negdot.
 * `out` has ivf_n_clusters() floats. INFINO_ERR_INVALID for a NaN or
 * infinite query, or query_dim != ivf_dim(). */
infino_status ivf_cluster_keys(float *out, const struct ivf_reader *r,
                               const float *query, size_t query_dim);

/* One result: a row and its distance. */
struct ivf_hit {
    uint32_t id;
    float dist;
};

struct ivf_search_opts {
    uint32_t nprobe; /* clusters to probe; 0 = IVF_DEFAULT_NPROBE */
    /* Borrowed: only rows in `allow` are returned (NULL = every row).
     * With a selective set, nprobe grows by ceil(n_rows / n_allowed) (up
     * to 64x) and probing continues until k rows are found or every
     * cluster was probed, so k rows come back whenever k rows pass; a
     * set smaller than the rows a probe would scan is searched exactly. */
    const roaring_bitmap_t *allow;
    const roaring_bitmap_t *deleted; /* borrowed: never returned */
    /* Optional raw vectors: fills `out` (dim floats) with row `id`.
     * When set, the returned rows are rescored exactly from it. */
    infino_status (*fetch)(float *out, uint32_t id, void *payload);
    void *fetch_payload;
    /* RaBitQ error-bound width (the paper's epsilon_0); 0 = 1.9. Larger
     * reranks more rows (never fewer results). */
    float eps;
    /* Borrowed (NULL: none): the caller already holds k rows this near
     * (e.g. the k-th best of regions searched before). Rows and clusters
     * whose distance lower bound exceeds it are not scored, so fewer
     * than k rows may come back; rows at most this far are found as
     * without it. */
    const float *bound;
};
#define IVF_SEARCH_OPTS_INIT {0, NULL, NULL, NULL, NULL, 0.0f, NULL}

/* The k nearest rows to `query` (query_dim floats) into out[0..*n_out),
 * sorted by (dist, id) ascending; *n_out < k only when fewer rows pass
 * the filters. `out` has room for k hits (owned by the caller). `opts`
 * may be NULL. With IVF_CQ_MIN_CLUSTERS (256) clusters or more, the
 * nearest clusters are shortlisted by 8-bit centroid codes before their
 * exact keys decide. INFINO_ERR_INVALID when query_dim != ivf_dim() or a
 * query value is NaN or infinite; INFINO_ERR_CORRUPT when a cluster block
 * fails its checks. */
infino_status ivf_search(struct ivf_hit *out, size_t *n_out,
                         struct ivf_reader *r, const float *query,
                         size_t query_dim, size_t k,
                         const struct ivf_search_opts *opts);

/* As ivf_search, but probes exactly clusters[0..n_clusters) (e.g. the
 * ones a snapshot ranked globally), in that order; opts->nprobe is
 * ignored and probing is never extended. Duplicates are probed once.
 * INFINO_ERR_INVALID for a cluster index out of range. */
infino_status ivf_search_clusters(struct ivf_hit *out, size_t *n_out,
                                  struct ivf_reader *r, const float *query,
                                  size_t query_dim, size_t k,
                                  const uint32_t *clusters,
                                  size_t n_clusters,
                                  const struct ivf_search_opts *opts);

/* ---- one query over many regions --------------------------------------
 * A table's superfiles each hold a region of the same column, so they
 * share dim, metric and the rotation seed. An ivf_query holds what a
 * search derives from the query alone (the metric's normalization and
 * the rotated query, computed by the first region searched and reused by
 * every region that shares its metric and seed) and the search scratch,
 * so searching many regions costs one preparation and no allocation per
 * region. Used by one thread at a time. */

struct ivf_query;

/* Copies `query` (dim floats, 1..IVF_MAX_DIM). INFINO_ERR_INVALID for a
 * NaN or infinite value. *out is owned: ivf_query_free. */
infino_status ivf_query_new(struct ivf_query **out, const float *query,
                            size_t dim);
void ivf_query_free(struct ivf_query *q); /* NULL is a no-op */

/* ivf_search and ivf_search_clusters with a prepared query.
 * INFINO_ERR_INVALID when the query's dim is not the region's. */
infino_status ivf_query_search(struct ivf_hit *out, size_t *n_out,
                               struct ivf_reader *r, struct ivf_query *q,
                               size_t k, const struct ivf_search_opts *opts);
infino_status ivf_query_search_clusters(struct ivf_hit *out, size_t *n_out,
                                        struct ivf_reader *r,
                                        struct ivf_query *q, size_t k,
                                        const uint32_t *clusters,
                                        size_t n_clusters,
                                        const struct ivf_search_opts *opts);

/* The keys of ivf_cluster_keys for clusters[0..n) (out[i] for
 * clusters[i]); INFINO_ERR_INVALID for a cluster out of range. */
infino_status ivf_query_cluster_keys(float *out, struct ivf_reader *r,
                                     struct ivf_query *q,
                                     const uint32_t *clusters, size_t n);
/* Every cluster's key (ivf_n_clusters floats) estimated with integer
 * dot products of 8-bit centroid codes and the 7-bit query: a quarter of
 * the bytes of the exact keys, within the rounding of both, comparable
 * across regions. For ranking many regions' clusters before computing
 * exact keys of the best. */
infino_status ivf_query_cluster_keys_approx(float *out, struct ivf_reader *r,
                                            struct ivf_query *q);

/* Computes the distance of `query` to rows ids[0..n) exactly from the
 * rerank payload (not a probe): the filter-free building block of exact
 * fallbacks. out[i] = distance, or INFINO_ERR_INVALID for an id >= n_rows. */
infino_status ivf_distances(float *out, struct ivf_reader *r,
                            const float *query, size_t query_dim,
                            const uint32_t *ids, size_t n);

#endif
