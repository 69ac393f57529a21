/*
 * ivf_reader.c - opens a vector index region: validates the header,
 * centroids and directory against the layout the header implies (every
 * offset and length must be exactly what a writer would produce), and
 * validates each cluster block and the position table on first use.
 */
#include "ivf_int.h"

#include "store/store.h"
#include "util/alloc.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/rd.h"
#include "vec_kernels.h"

#include <math.h>
#include <stdatomic.h>

static infino_status corrupt(const struct ivf_reader *r, const char *what)
{
    return err_set(INFINO_ERR_CORRUPT, "%s: vector index at %llu: %s",
                   store_blob_name(r->blob), (unsigned long long)r->off, what);
}

static int all_zero(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i] != 0)
            return 0;
    return 1;
}

static int all_finite(const uint8_t *p, size_t n_floats)
{
    for (size_t i = 0; i < n_floats; i++)
        if (!isfinite(ivf_load_f32(p + 4 * i)))
            return 0;
    return 1;
}

/* Header fields, checked against the layout they imply. */
static infino_status parse_header(struct ivf_reader *r, const uint8_t *h)
{
    struct rd in = rd_make(h, IVF_HEADER_LEN);
    uint32_t version, header_len, dim, code_dim, n_clusters, n_rows, rsv;
    uint8_t metric, rerank;
    uint16_t flags;
    uint64_t seed, offs[5];
    const uint8_t *magic, *rest;

    if (rd_bytes(&in, 8, &magic) || memcmp(magic, IVF_MAGIC, 8) != 0)
        return corrupt(r, "bad magic");
    if (rd_u32le(&in, &version) || version != IVF_VERSION)
        return corrupt(r, "unsupported version");
    if (rd_u32le(&in, &header_len) || header_len != IVF_HEADER_LEN ||
        rd_u32le(&in, &dim) || rd_u32le(&in, &code_dim) ||
        rd_u32le(&in, &n_clusters) || rd_u32le(&in, &n_rows) ||
        rd_u8(&in, &metric) || rd_u8(&in, &rerank) || rd_u16le(&in, &flags) ||
        rd_u32le(&in, &rsv) || rd_u64le(&in, &seed))
        return corrupt(r, "bad header");
    for (int i = 0; i < 5; i++)
        if (rd_u64le(&in, &offs[i]))
            return corrupt(r, "bad header");
    if (rd_bytes(&in, rd_left(&in), &rest))
        return corrupt(r, "bad header");
    for (const uint8_t *p = rest; p < in.end; p++)
        if (*p != 0)
            return corrupt(r, "reserved header bytes are not zero");
    if (dim == 0 || dim > IVF_MAX_DIM || code_dim != ivf_code_dim(dim))
        return corrupt(r, "bad dimension");
    if (metric > IVF_METRIC_NEGDOT || rerank > IVF_RERANK_F32 || flags != 0 ||
        rsv != 0)
        return corrupt(r, "bad metric, rerank or flags");
    if (n_clusters > IVF_MAX_CLUSTERS || n_clusters > n_rows ||
        (n_rows > 0 && n_clusters == 0) || n_rows == UINT32_MAX)
        return corrupt(r, "bad cluster or row count");
    ivf_layout_init(&r->L, dim, (enum ivf_metric)metric,
                    (enum ivf_rerank)rerank, n_clusters, n_rows);
    r->seed = seed;
    if (offs[0] != r->L.centroids_off || offs[1] != r->L.dir_off ||
        offs[2] != r->L.positions_off || offs[3] != r->L.clusters_off ||
        offs[4] != r->len)
        return corrupt(r, "section offsets do not match the header");
    if (r->L.clusters_off > r->len)
        return corrupt(r, "region too short");
    return INFINO_OK;
}

/* Directory entries: exact offsets, lengths and running positions. */
static infino_status check_directory(struct ivf_reader *r)
{
    uint64_t off = r->L.clusters_off, rows = 0;

    for (uint32_t c = 0; c < r->L.n_clusters; c++) {
        uint32_t count = ivf_dir_u32(r, c, IVF_DIR_COUNT);
        float radius = ivf_load_f32(r->dir + (size_t)c * IVF_DIR_ENTRY_LEN +
                                    IVF_DIR_RADIUS);
        if (ivf_dir_u64(r, c, IVF_DIR_OFF) != off ||
            ivf_dir_u32(r, c, IVF_DIR_FIRST) != rows ||
            ivf_dir_u32(r, c, 28) != 0)
            return corrupt(r, "bad cluster directory");
        rows += count;
        if (rows > r->L.n_rows)
            return corrupt(r, "clusters hold more rows than the header");
        if (ivf_dir_u64(r, c, IVF_DIR_LEN) != ivf_block_len(&r->L, count))
            return corrupt(r, "bad cluster block length");
        if (!(radius >= 0) || !isfinite(radius))
            return corrupt(r, "bad cluster radius");
        off = ivf_align(off + ivf_block_len(&r->L, count));
        if (off > r->len)
            return corrupt(r, "cluster blocks run past the region");
    }
    if (rows != r->L.n_rows || off != r->len)
        return corrupt(r, "cluster sizes do not add up");
    return INFINO_OK;
}

/* The 8-bit centroid codes (see struct ivf_reader): per dimension,
 * offset = min and scale = (max - min) / 255 over all centroids. */
static infino_status quantize_centroids(struct ivf_reader *r)
{
    uint32_t k = r->L.n_clusters, dim = r->L.dim;

    r->cq = mem_alloc((size_t)k * dim);
    r->cq_lo = mem_alloc(4ull * dim);
    r->cq_scale = mem_alloc(4ull * dim);
    if (r->cq == NULL || r->cq_lo == NULL || r->cq_scale == NULL)
        return err_nomem();
    for (uint32_t d = 0; d < dim; d++) {
        float lo = INFINITY, hi = -INFINITY;
        for (uint32_t c = 0; c < k; c++) {
            float v = ivf_load_f32(r->centroids + 4 * ((size_t)c * dim + d));
            lo = v < lo ? v : lo;
            hi = v > hi ? v : hi;
        }
        float span = hi - lo; /* finite centroids; the span may overflow */
        float scale = isfinite(span) && span > 0 ? span / 255.0f : 0.0f;
        float inv = scale > 0 ? 1.0f / scale : 0.0f;
        r->cq_lo[d] = lo;
        r->cq_scale[d] = scale;
        for (uint32_t c = 0; c < k; c++) {
            float v = ivf_load_f32(r->centroids + 4 * ((size_t)c * dim + d));
            float t = (v - lo) * inv + 0.5f;
            t = t >= 0 ? t : 0;
            t = t <= 255 ? t : 255;
            r->cq[(size_t)c * dim + d] = (uint8_t)(int)t;
        }
    }
    return INFINO_OK;
}

/* The ranking codes (see struct ivf_reader): one offset and scale over
 * every value of every centroid, so that one quantized query serves all
 * regions; and each centroid's squared norm, exactly. */
static infino_status rank_codes(struct ivf_reader *r)
{
    uint32_t k = r->L.n_clusters, dim = r->L.dim;
    size_t n = (size_t)k * dim;
    float lo = INFINITY, hi = -INFINITY, span, inv;

    r->rk = mem_alloc(n);
    r->cnorm = mem_alloc(4ull * k);
    if (r->rk == NULL || r->cnorm == NULL)
        return err_nomem();
    for (size_t i = 0; i < n; i++) {
        float v = ivf_load_f32(r->centroids + 4 * i);
        lo = v < lo ? v : lo;
        hi = v > hi ? v : hi;
    }
    span = hi - lo; /* finite centroids; the span may overflow */
    r->rk_lo = lo;
    r->rk_scale = isfinite(span) && span > 0 ? span / 255.0f : 0.0f;
    inv = r->rk_scale > 0 ? 1.0f / r->rk_scale : 0.0f;
    for (size_t i = 0; i < n; i++) {
        float t = (ivf_load_f32(r->centroids + 4 * i) - lo) * inv + 0.5f;
        t = t >= 0 ? t : 0;
        t = t <= 255 ? t : 255;
        r->rk[i] = (uint8_t)(int)t;
    }
    for (uint32_t c = 0; c < k; c++) {
        double s = 0;
        for (uint32_t d = 0; d < dim; d++) {
            double v = ivf_load_f32(r->centroids + 4 * ((size_t)c * dim + d));
            s += v * v;
        }
        r->cnorm[c] = (float)s;
    }
    return INFINO_OK;
}

infino_status ivf_open(struct ivf_reader **out, struct store_blob *blob,
                       uint64_t off, uint64_t len)
{
    struct ivf_reader *r;
    const uint8_t *h;
    infino_status st;

    *out = NULL;
    r = mem_calloc(1, sizeof *r);
    if (r == NULL)
        return err_nomem();
    r->blob = blob;
    r->off = off;
    r->len = len;
    if (len < IVF_HEADER_LEN) {
        st = corrupt(r, "region too short");
        goto fail;
    }
    CHECK(store_blob_read(blob, off, IVF_HEADER_LEN, &h));
    CHECK(parse_header(r, h));
    CHECK(store_blob_read(blob, off, (size_t)r->L.positions_off, &r->meta));
    if (!all_zero(r->meta + r->L.meta_len,
                  (size_t)(r->L.positions_off - r->L.meta_len))) {
        st = corrupt(r, "padding is not zero");
        goto fail;
    }
    if (crc32c(r->meta, (size_t)r->L.meta_len - 4) !=
        load_u32le(r->meta + r->L.meta_len - 4)) {
        st = corrupt(r, "header checksum mismatch");
        goto fail;
    }
    r->centroids = r->meta + r->L.centroids_off;
    r->dir = r->meta + r->L.dir_off;
    if (!all_finite(r->centroids, (size_t)r->L.n_clusters * r->L.dim)) {
        st = corrupt(r, "non-finite centroid");
        goto fail;
    }
    CHECK(check_directory(r));
    r->signs = mem_alloc(3ull * r->L.code_dim * sizeof *r->signs);
    r->state = mem_calloc((size_t)r->L.n_clusters + 1, 1);
    if (r->signs == NULL || r->state == NULL) {
        st = err_nomem();
        goto fail;
    }
    ivf_rotation_init(r->signs, &r->scale, r->L.code_dim, r->seed);
    atomic_init(&r->pos_state, BLOCK_UNCHECKED);
    if (r->L.n_clusters >= IVF_CQ_MIN_CLUSTERS)
        CHECK(quantize_centroids(r));
    if (r->L.n_clusters > 0)
        CHECK(rank_codes(r));
    *out = r;
    return INFINO_OK;
fail:
    ivf_close(r);
    return st;
}

void ivf_close(struct ivf_reader *r)
{
    if (r == NULL)
        return;
    mem_free(r->signs);
    mem_free((void *)r->state);
    mem_free(r->cq);
    mem_free(r->cq_lo);
    mem_free(r->cq_scale);
    mem_free(r->rk);
    mem_free(r->cnorm);
    mem_free(r);
}

/* Checks one block: checksum, ids in range, finite floats. */
static int block_ok(const struct ivf_reader *r, const uint8_t *p,
                    uint64_t block_len, uint32_t count)
{
    const struct ivf_layout *L = &r->L;
    const uint8_t *b = p + L->head_len;

    if (crc32c(p, (size_t)block_len - 4) != load_u32le(p + block_len - 4))
        return 0;
    if (!all_zero(p + block_len, (size_t)(ivf_align(block_len) - block_len)))
        return 0;
    if (!all_finite(p, L->code_dim + (L->rerank == IVF_RERANK_SQ8
                                          ? 2ull * L->dim
                                          : 0)))
        return 0;
    for (uint32_t i0 = 0; i0 < count; i0 += IVF_BATCH) {
        size_t nb = count - i0 < IVF_BATCH ? count - i0 : IVF_BATCH;
        if (!all_finite(b + ivf_batch_factors(L, nb), IVF_N_FACTORS * nb))
            return 0;
        for (size_t i = 0; i < nb; i++)
            if (load_u32le(b + ivf_batch_ids(L, nb) + 4 * i) >= L->n_rows)
                return 0;
        if (L->rerank == IVF_RERANK_F32 &&
            !all_finite(b + ivf_batch_payload(L, nb), nb * L->dim))
            return 0;
        b += ivf_batch_len(L, nb);
    }
    return 1;
}

infino_status ivf_block(const uint8_t **out, struct ivf_reader *r, uint32_t c)
{
    uint64_t off = ivf_dir_u64(r, c, IVF_DIR_OFF);
    uint64_t len = ivf_dir_u64(r, c, IVF_DIR_LEN);
    uint8_t s = atomic_load_explicit(&r->state[c], memory_order_acquire);
    infino_status st;

    /* the block with its padding (checked to be zero) */
    st = store_blob_read(r->blob, r->off + off, (size_t)ivf_align(len), out);
    if (st != INFINO_OK)
        return st;
    if (s == BLOCK_UNCHECKED) {
        s = block_ok(r, *out, len, ivf_dir_u32(r, c, IVF_DIR_COUNT))
                ? BLOCK_OK
                : BLOCK_BAD;
        atomic_store_explicit(&r->state[c], s, memory_order_release);
    }
    if (s != BLOCK_OK) {
        err_set(INFINO_ERR_CORRUPT, "%s: vector index at %llu: cluster %u "
                                    "is corrupt (checksum or bounds)",
                store_blob_name(r->blob), (unsigned long long)r->off, c);
        return INFINO_ERR_CORRUPT;
    }
    return INFINO_OK;
}

infino_status ivf_positions(const uint8_t **out, struct ivf_reader *r)
{
    size_t len = 4ull * r->L.n_rows + 4;
    size_t span = (size_t)(r->L.clusters_off - r->L.positions_off);
    uint8_t s = atomic_load_explicit(&r->pos_state, memory_order_acquire);
    infino_status st;

    st = store_blob_read(r->blob, r->off + r->L.positions_off, span, out);
    if (st != INFINO_OK)
        return st;
    if (s == BLOCK_UNCHECKED) {
        const uint8_t *p = *out;
        s = crc32c(p, len - 4) == load_u32le(p + len - 4) &&
                    all_zero(p + len, span - len)
                ? BLOCK_OK
                : BLOCK_BAD;
        for (uint32_t i = 0; s == BLOCK_OK && i < r->L.n_rows; i++)
            if (load_u32le(p + 4ull * i) >= r->L.n_rows)
                s = BLOCK_BAD;
        atomic_store_explicit(&r->pos_state, s, memory_order_release);
    }
    if (s != BLOCK_OK)
        return corrupt(r, "position table is corrupt");
    return INFINO_OK;
}

infino_status ivf_verify(struct ivf_reader *r)
{
    const uint8_t *p;
    infino_status st;

    for (uint32_t c = 0; c < r->L.n_clusters; c++) {
        st = ivf_block(&p, r, c);
        if (st != INFINO_OK)
            return st;
    }
    return ivf_positions(&p, r);
}

uint32_t ivf_dim(const struct ivf_reader *r)
{
    return r->L.dim;
}

enum ivf_metric ivf_metric(const struct ivf_reader *r)
{
    return r->L.metric;
}

enum ivf_rerank ivf_rerank(const struct ivf_reader *r)
{
    return r->L.rerank;
}

uint32_t ivf_n_rows(const struct ivf_reader *r)
{
    return r->L.n_rows;
}

uint32_t ivf_n_clusters(const struct ivf_reader *r)
{
    return r->L.n_clusters;
}

void ivf_cluster_info(const struct ivf_reader *r, uint32_t cluster,
                      struct ivf_cluster_info *out)
{
    out->centroid = r->centroids + (size_t)cluster * r->L.dim * 4;
    out->n_rows = ivf_dir_u32(r, cluster, IVF_DIR_COUNT);
    out->radius = ivf_load_f32(r->dir + (size_t)cluster * IVF_DIR_ENTRY_LEN +
                               IVF_DIR_RADIUS);
}
