/*
 * ivf_int.h - what the writer, reader and search of the vector index
 * share: format constants and the layout arithmetic of FORMAT.md, the
 * random rotation, RaBitQ encoding, k-means and the metric helpers.
 * Private to src/index/vector/.
 */
#ifndef INFINO_INDEX_VECTOR_IVF_INT_H
#define INFINO_INDEX_VECTOR_IVF_INT_H

#include "ivf.h"

#include "util/endian.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* ---- format (FORMAT.md) -------------------------------------------- */

#define IVF_MAGIC "INFIVF01"
#define IVF_VERSION 1u
#define IVF_HEADER_LEN 128u
#define IVF_DIR_ENTRY_LEN 32u
#define IVF_ALIGN 64u
/* From this many clusters on, searches shortlist clusters by 8-bit
 * centroid codes before computing exact keys. */
#define IVF_CQ_MIN_CLUSTERS 256u
#define IVF_BATCH 64u       /* rows per batch inside a cluster block */
#define IVF_N_FACTORS 5u    /* f32 per row: add, rescale, err, corr, corr2 */
#define IVF_MIN_CODE_DIM 64u

/* Everything about a region's layout that follows from its header and
 * cluster sizes. Offsets are relative to the region start. */
struct ivf_layout {
    uint32_t dim;
    uint32_t code_dim;     /* m = next_pow2(max(dim, 64)): rotated length */
    uint32_t code_len;     /* m / 8 bytes per 1-bit code */
    uint32_t n_clusters;
    uint32_t n_rows;
    enum ivf_metric metric;
    enum ivf_rerank rerank;
    uint32_t payload_len;  /* rerank bytes per row (SQ8: code + residual) */
    uint32_t head_len;     /* cluster block head: rotated centroid (+ SQ8
                              offsets and scales), padded to IVF_ALIGN */
    uint64_t centroids_off;
    uint64_t dir_off;
    uint64_t meta_len;     /* header + centroids + directory + crc */
    uint64_t positions_off;
    uint64_t clusters_off; /* first cluster block */
};

static inline uint64_t ivf_align(uint64_t v)
{
    return (v + IVF_ALIGN - 1) & ~(uint64_t)(IVF_ALIGN - 1);
}

/* m for a dimension (dim <= IVF_MAX_DIM). */
uint32_t ivf_code_dim(uint32_t dim);

/* Fills the fixed part of a layout (no cluster sizes needed). */
void ivf_layout_init(struct ivf_layout *L, uint32_t dim,
                     enum ivf_metric metric, enum ivf_rerank rerank,
                     uint32_t n_clusters, uint32_t n_rows);

/* Bytes of a cluster block holding `count` rows, up to and including its
 * crc (not the padding after it). */
uint64_t ivf_block_len(const struct ivf_layout *L, uint64_t count);

/* Byte offsets inside a batch of `nb` rows. */
static inline size_t ivf_batch_factors(const struct ivf_layout *L, size_t nb)
{
    return nb * L->code_len;
}
static inline size_t ivf_batch_ids(const struct ivf_layout *L, size_t nb)
{
    return nb * (L->code_len + 4 * IVF_N_FACTORS);
}
static inline size_t ivf_batch_payload(const struct ivf_layout *L, size_t nb)
{
    return nb * (L->code_len + 4 * IVF_N_FACTORS + 4);
}
static inline size_t ivf_batch_len(const struct ivf_layout *L, size_t nb)
{
    return nb * ((size_t)L->code_len + 4 * IVF_N_FACTORS + 4 +
                 L->payload_len);
}

/* ---- metric helpers ------------------------------------------------ */

/* Rows and queries are indexed as-is, except cosine: scaled to unit
 * length (a zero vector stays zero). Writes dim floats to out (which may
 * be x). */
void ivf_prepare(float *out, const float *x, uint32_t dim,
                 enum ivf_metric metric);

/* Whether the metric uses the L2 form of the estimator and payload
 * distances (l2sq; cosine, as 1 - cos = ||q - x||^2 / 2 on unit vectors,
 * which keeps SQ8 errors proportional to ||q - x|| instead of ||q||), or
 * the dot form (negdot). */
static inline int ivf_metric_is_l2(enum ivf_metric m)
{
    return m != IVF_METRIC_NEGDOT;
}

/* ---- rotation ------------------------------------------------------ */

/* The three sign vectors (3 * m floats of +1/-1) for `seed`, from the
 * splitmix64 stream described in FORMAT.md, and the final scale
 * m^(-3/2). `signs` has 3 * m floats. */
void ivf_rotation_init(float *signs, float *scale_out, uint32_t m,
                       uint64_t seed);

/* ---- RaBitQ encoding (shared by writer and tests) ------------------ */

/* Encodes one row from its rotated residual r = R x - R c (m floats)
 * and its rotated centroid rc: writes the m/8-byte code and the three
 * estimator factors (add, rescale, err) for the metric. */
void ivf_rabitq_encode(uint8_t *code, float factors_out[3], const float *r,
                       const float *rc, uint32_t m, enum ivf_metric metric);

/* ---- k-means ------------------------------------------------------- */

struct ivf_kmeans_result {
    uint32_t n_iters;
};

/* Trains k centroids (k * dim floats into `centroids`, owned by the
 * caller) on the n rows of `x` (dense, dim columns): k-means++ seeding on
 * a subsample, then at most max_iters Lloyd iterations with L2
 * assignment; empty clusters are re-seeded by splitting the largest.
 * Deterministic for a seed. Requires 1 <= k <= n. */
infino_status ivf_kmeans(float *centroids, struct ivf_kmeans_result *res,
                         const float *x, size_t n, uint32_t dim, uint32_t k,
                         uint32_t max_iters, uint64_t seed);

/* Nearest centroid (L2) of each of n rows into assign[i] (ties to the
 * lower index). `cnorm` holds the k centroid squared norms; `scratch` has
 * room for ivf_assign_scratch(k, dim) floats. For dim >= 96 the distance
 * over a prefix of the dimensions (a lower bound) prunes the centroids
 * that cannot win, so most rows cost a fraction of k full distances. */
#define IVF_ASSIGN_BLOCK 64u
void ivf_assign(uint32_t *assign, const float *x, size_t n,
                const float *centroids, const float *cnorm, uint32_t k,
                uint32_t dim, float *scratch);
size_t ivf_assign_scratch(uint32_t k, uint32_t dim);
uint32_t ivf_assign_prefix(uint32_t dim);

/* ---- the reader (ivf_reader.c), used by the search ---------------- */

enum { BLOCK_UNCHECKED = 0, BLOCK_OK = 1, BLOCK_BAD = 2 };

struct ivf_reader {
    struct store_blob *blob; /* borrowed */
    uint64_t off, len;       /* the region inside the blob */
    struct ivf_layout L;
    uint64_t seed;
    const uint8_t *meta;     /* borrowed from the blob: [0, meta_len) */
    const uint8_t *centroids;
    const uint8_t *dir;
    float *signs;            /* owned: 3 * code_dim rotation signs */
    float scale;
    _Atomic uint8_t *state;  /* owned: per cluster, BLOCK_* */
    /* owned, NULL for few clusters: the centroids as 8-bit codes
     * (per-dimension offset and scale over all centroids), to shortlist
     * clusters before their exact keys (ivf_search.c) */
    uint8_t *cq;
    float *cq_lo, *cq_scale;
    /* owned (NULL without clusters): the centroids as 8-bit codes with
     * one offset and scale for all dimensions (centroid ~ rk_lo +
     * rk_scale * code), and their exact squared norms, to rank clusters
     * of many regions against one 7-bit query
     * (ivf_query_cluster_keys_approx) */
    uint8_t *rk;
    float rk_lo, rk_scale;
    float *cnorm;
    _Atomic uint8_t pos_state;
};

/* The bytes of cluster c's block (validated on first use; borrowed until
 * ivf_close). INFINO_ERR_CORRUPT when it fails its checks. */
infino_status ivf_block(const uint8_t **out, struct ivf_reader *r,
                        uint32_t c);
/* The id -> storage position table (validated on first use). */
infino_status ivf_positions(const uint8_t **out, struct ivf_reader *r);

static inline uint64_t ivf_dir_u64(const struct ivf_reader *r, uint32_t c,
                                   unsigned field_off)
{
    return load_u64le(r->dir + (size_t)c * IVF_DIR_ENTRY_LEN + field_off);
}
static inline uint32_t ivf_dir_u32(const struct ivf_reader *r, uint32_t c,
                                   unsigned field_off)
{
    return load_u32le(r->dir + (size_t)c * IVF_DIR_ENTRY_LEN + field_off);
}
#define IVF_DIR_OFF 0u
#define IVF_DIR_LEN 8u
#define IVF_DIR_COUNT 16u
#define IVF_DIR_FIRST 20u
#define IVF_DIR_RADIUS 24u

static inline float ivf_load_f32(const uint8_t *p)
{
    float v;
    memcpy(&v, p, 4);
    return v;
}

/* ---- deterministic random numbers ---------------------------------- */

static inline uint64_t ivf_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

/* Uniform in [0, n) for 1 <= n <= 2^32 (multiply-shift on the high 32
 * bits; the tiny bias does not matter for sampling). */
static inline uint64_t ivf_rand_below(uint64_t *state, uint64_t n)
{
    return ((ivf_splitmix64(state) >> 32) * n) >> 32;
}

#endif
