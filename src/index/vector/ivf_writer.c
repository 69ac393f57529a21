/*
 * ivf_writer.c - builds a vector index region (FORMAT.md) in bounded
 * memory: rows are kept in memory up to a budget and spill to a scratch
 * file beyond it; k-means trains on a reservoir sample; one pass assigns
 * rows to clusters, a second writes the cluster blocks in order,
 * streaming into the sink (the region is never materialized).
 */
#include "ivf_int.h"

#include "store/store.h"
#include "util/alloc.h"
#include "util/cancel.h"
#include "util/crc32c.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/spill.h"
#include "vec_kernels.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_BUDGET ((size_t)256 << 20)
#define DEFAULT_ITERS 10u
/* The reservoir never holds more rows than this, nor more than half the
 * memory budget: ~64 rows per centroid at 4096 centroids. */
#define MAX_TRAIN_ROWS 262144u
#define MIN_TRAIN_ROWS 1024u
#define RESERVOIR_TAG 0x5245534552564f49ull /* "RESERVOI" */
/* Rows read from the spill file per step of a sequential pass. */
#define SCAN_BYTES ((size_t)8 << 20)

struct ivf_builder {
    struct ivf_build_opts opts;
    char *tmp_dir;          /* owned copy of opts.tmp_dir */
    size_t row_len;         /* dim * 4 */
    uint64_t n_rows;
    float *rows;            /* owned: in-memory rows (prepared), or NULL */
    size_t rows_cap;        /* capacity of `rows`, in rows */
    size_t budget_rows;     /* rows kept in memory before spilling */
    struct spill_file *spill; /* owned: rows once spilled */
    float *tmp;             /* owned: one prepared row */
    uint32_t *reservoir;    /* owned: sampled row ids */
    uint32_t res_cap, res_len;
    uint64_t rng;
    int spent;
};

infino_status ivf_builder_new(struct ivf_builder **out,
                              const struct ivf_build_opts *opts)
{
    struct ivf_builder *b;
    size_t budget;

    *out = NULL;
    if (opts == NULL || opts->dim == 0 || opts->dim > IVF_MAX_DIM)
        return err_set(INFINO_ERR_INVALID,
                       "vector index: dimension %u outside 1..%u",
                       opts ? opts->dim : 0, IVF_MAX_DIM);
    if ((unsigned)opts->metric > IVF_METRIC_NEGDOT)
        return err_set(INFINO_ERR_INVALID, "vector index: bad metric %d",
                       (int)opts->metric);
    if ((unsigned)opts->rerank > IVF_RERANK_F32)
        return err_set(INFINO_ERR_INVALID, "vector index: bad rerank %d",
                       (int)opts->rerank);
    b = mem_calloc(1, sizeof *b);
    if (b == NULL)
        return err_nomem();
    b->opts = *opts;
    b->opts.tmp_dir = NULL;
    b->row_len = (size_t)opts->dim * 4;
    budget = opts->mem_budget ? opts->mem_budget : DEFAULT_BUDGET;
    b->budget_rows = budget / b->row_len ? budget / b->row_len : 1;
    if (opts->max_iters == 0)
        b->opts.max_iters = DEFAULT_ITERS;
    {
        size_t cap = budget / 2 / b->row_len;
        if (cap > MAX_TRAIN_ROWS)
            cap = MAX_TRAIN_ROWS;
        if (cap < MIN_TRAIN_ROWS)
            cap = MIN_TRAIN_ROWS;
        b->res_cap = (uint32_t)cap;
    }
    b->rng = opts->seed ^ RESERVOIR_TAG;
    b->tmp = mem_alloc(b->row_len);
    if (b->tmp == NULL ||
        (opts->tmp_dir && (b->tmp_dir = mem_strdup(opts->tmp_dir)) == NULL)) {
        ivf_builder_free(b);
        return err_nomem();
    }
    *out = b;
    return INFINO_OK;
}

void ivf_builder_free(struct ivf_builder *b)
{
    if (b == NULL)
        return;
    spill_close(b->spill);
    mem_free(b->rows);
    mem_free(b->tmp);
    mem_free(b->reservoir);
    mem_free(b->tmp_dir);
    mem_free(b);
}

uint64_t ivf_builder_count(const struct ivf_builder *b)
{
    return b->n_rows;
}

/* Moves the in-memory rows to a new spill file. */
static infino_status start_spill(struct ivf_builder *b)
{
    infino_status st;

    st = spill_open(&b->spill, b->tmp_dir);
    if (st != INFINO_OK)
        return err_context(st, "vector index: spilling rows");
    st = spill_write(b->spill, b->rows, (size_t)b->n_rows * b->row_len);
    if (st != INFINO_OK)
        return err_context(st, "vector index: spilling rows");
    mem_free(b->rows);
    b->rows = NULL;
    b->rows_cap = 0;
    return INFINO_OK;
}

/* Reservoir sampling, Algorithm R (Vitter 1985), on row ids. */
static void sample_row(struct ivf_builder *b, uint64_t id)
{
    if (b->res_len < b->res_cap) {
        b->reservoir[b->res_len++] = (uint32_t)id;
        return;
    }
    uint64_t j = ivf_rand_below(&b->rng, id + 1);
    if (j < b->res_cap)
        b->reservoir[j] = (uint32_t)id;
}

infino_status ivf_builder_add(struct ivf_builder *b, const float *rows,
                              size_t n_rows)
{
    uint32_t dim = b->opts.dim;
    infino_status st;

    if (b->spent)
        return err_set(INFINO_ERR_INVALID, "vector index: builder finished");
    if (n_rows == 0)
        return INFINO_OK;
    if (n_rows > (uint64_t)UINT32_MAX - 1 - b->n_rows)
        return err_set(INFINO_ERR_INVALID,
                       "vector index: more than %u rows", UINT32_MAX - 1);
    for (size_t i = 0; i < n_rows * dim; i++)
        if (!isfinite(rows[i]))
            return err_set(INFINO_ERR_INVALID,
                           "vector index: row %llu has a NaN or infinite value",
                           (unsigned long long)(b->n_rows + i / dim));
    if (b->reservoir == NULL) {
        b->reservoir = mem_alloc((size_t)b->res_cap * sizeof *b->reservoir);
        if (b->reservoir == NULL)
            return err_nomem();
    }
    if (b->spill == NULL && b->tmp_dir != NULL &&
        b->n_rows + n_rows > b->budget_rows) {
        st = start_spill(b);
        if (st != INFINO_OK)
            return st;
    }
    if (b->spill == NULL && b->n_rows + n_rows > b->rows_cap) {
        size_t cap = b->rows_cap ? b->rows_cap : 256;
        float *grown;
        size_t bytes;
        while (cap < b->n_rows + n_rows)
            cap *= 2;
        if (b->tmp_dir != NULL && cap > b->budget_rows)
            cap = b->budget_rows;
        if (mem_mul(&bytes, cap, b->row_len) != 0)
            return err_nomem();
        grown = mem_realloc(b->rows, bytes);
        if (grown == NULL)
            return err_nomem();
        b->rows = grown;
        b->rows_cap = cap;
    }
    for (size_t i = 0; i < n_rows; i++) {
        const float *src = rows + i * dim;
        if (b->spill) {
            ivf_prepare(b->tmp, src, dim, b->opts.metric);
            st = spill_write(b->spill, b->tmp, b->row_len);
            if (st != INFINO_OK)
                return err_context(st, "vector index: spilling rows");
        } else {
            ivf_prepare(b->rows + (size_t)b->n_rows * dim, src, dim,
                        b->opts.metric);
        }
        sample_row(b, b->n_rows);
        b->n_rows++;
    }
    return INFINO_OK;
}

/* ---- the output stream --------------------------------------------- */

struct out {
    struct store_sink *sink;
    uint64_t written;
    uint32_t crc; /* of the current checksummed section */
};

static infino_status emit(struct out *o, const void *p, size_t n)
{
    infino_status st = store_sink_write(o->sink, p, n);
    if (st != INFINO_OK)
        return st;
    o->crc = crc32c_extend(o->crc, p, n);
    o->written += n;
    return INFINO_OK;
}

static infino_status emit_zeros(struct out *o, size_t n)
{
    static const uint8_t zeros[IVF_ALIGN];
    infino_status st = INFINO_OK;
    while (n > 0 && st == INFINO_OK) {
        size_t c = n < sizeof zeros ? n : sizeof zeros;
        st = emit(o, zeros, c);
        n -= c;
    }
    return st;
}

/* Pads with zeros up to region offset `to`. */
static infino_status emit_pad_to(struct out *o, uint64_t to)
{
    return emit_zeros(o, (size_t)(to - o->written));
}

/* Writes the section checksum and starts a new section. */
static infino_status emit_crc(struct out *o)
{
    uint8_t b[4];
    store_u32le(b, o->crc);
    infino_status st = emit(o, b, 4);
    o->crc = 0;
    return st;
}

/* ---- finishing ----------------------------------------------------- */

/* Everything finish() allocates, released in one place. */
struct fin {
    struct ivf_layout L;
    float *train;        /* owned unless it aliases b->rows */
    float *centroids;    /* k * dim */
    float *cnorm;        /* k */
    float *scratch;      /* ivf_assign_scratch(k, dim) floats */
    uint32_t *assign;    /* n */
    uint32_t *pos;       /* n: row id -> storage position */
    uint32_t *order;     /* n: storage position -> row id */
    uint32_t *counts;    /* k */
    uint32_t *first;     /* k + 1: storage position of each cluster */
    uint32_t *cursor;    /* k */
    float *radius2;      /* k */
    float *lo, *hi;      /* k * dim, SQ8 only */
    float *group;        /* rows of the clusters being written (spill) */
    size_t group_cap;    /* rows */
    uint8_t *batch;      /* one encoded batch */
    float *signs;        /* 3 * m */
    float scale;
    float *rot;          /* m: rotated row */
    float *rc;           /* m: rotated centroid */
    float *inv;          /* dim: 1 / SQ8 scale of the current cluster */
    const uint8_t *map;  /* borrowed: the spill file's mapping */
    struct spill_file *spill; /* borrowed: the builder's spill file */
    size_t map_len;
};

static void fin_free(struct fin *f, const struct ivf_builder *b)
{
    if (f->train != b->rows)
        mem_free(f->train);
    mem_free(f->centroids);
    mem_free(f->cnorm);
    mem_free(f->scratch);
    mem_free(f->assign);
    mem_free(f->pos);
    mem_free(f->order);
    mem_free(f->counts);
    mem_free(f->first);
    mem_free(f->cursor);
    mem_free(f->radius2);
    mem_free(f->lo);
    mem_free(f->hi);
    mem_free(f->group);
    mem_free(f->batch);
    mem_free(f->signs);
    mem_free(f->rot);
    mem_free(f->rc);
    mem_free(f->inv);
}

/* Row `id` from memory or the spill mapping. */
static const float *row_ptr(const struct ivf_builder *b, const struct fin *f,
                            uint64_t id)
{
    if (b->rows)
        return b->rows + id * b->opts.dim;
    return (const float *)(const void *)(f->map + id * b->row_len);
}

/* Drops already-read pages of the spill mapping from our resident set
 * (they stay in the page cache), so reading the file does not count
 * against the memory budget. */
static void release_map(const struct fin *f, uint64_t from_row,
                        uint64_t to_row, size_t row_len)
{
    if (f->spill != NULL && to_row > from_row)
        spill_release(f->spill, from_row * row_len,
                      (to_row - from_row) * row_len);
}

static int cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

/* k-means on the reservoir sample. */
static infino_status train(struct ivf_builder *b, struct fin *f, uint32_t k,
                           struct ivf_build_stats *stats)
{
    uint32_t dim = b->opts.dim;
    size_t ns = b->res_len;
    struct ivf_kmeans_result res;
    infino_status st;

    if (b->rows != NULL && ns == b->n_rows) {
        f->train = b->rows; /* the sample is every row, in order */
    } else {
        qsort(b->reservoir, ns, sizeof *b->reservoir, cmp_u32);
        f->train = mem_alloc(ns * b->row_len);
        if (f->train == NULL)
            return err_nomem();
        uint64_t done = 0, step = SCAN_BYTES / b->row_len + 1;
        for (size_t i = 0; i < ns; i++) {
            uint64_t id = b->reservoir[i];
            memcpy(f->train + i * dim, row_ptr(b, f, id), b->row_len);
            if (id - done > step) { /* ids ascend: drop what is behind */
                release_map(f, done, id, b->row_len);
                done = id;
            }
        }
        release_map(f, 0, b->n_rows, b->row_len);
    }
    st = ivf_kmeans(f->centroids, &res, f->train, ns, dim, k,
                    b->opts.max_iters, b->opts.seed);
    if (f->train != b->rows)
        mem_free(f->train);
    f->train = NULL;
    stats->n_train = (uint32_t)ns;
    stats->n_iters = res.n_iters;
    return st;
}

/* Pass 1: nearest centroid of every row, cluster sizes, radii and the
 * per-dimension ranges the SQ8 payload quantizes. */
static void assign_all(struct ivf_builder *b, struct fin *f)
{
    const struct vk_ops *ops = vk_get();
    uint32_t dim = b->opts.dim, k = f->L.n_clusters;
    size_t step = SCAN_BYTES / b->row_len ? SCAN_BYTES / b->row_len : 1;

    for (uint32_t j = 0; j < k; j++)
        ops->dot(&f->cnorm[j], f->centroids + (size_t)j * dim,
                 (const uint8_t *)(f->centroids + (size_t)j * dim), 0, NULL, 1,
                 dim);
    for (uint64_t i0 = 0; i0 < b->n_rows; i0 += step) {
        size_t nb = b->n_rows - i0 < step ? (size_t)(b->n_rows - i0) : step;
        const float *x = row_ptr(b, f, i0);
        ivf_assign(f->assign + i0, x, nb, f->centroids, f->cnorm, k, dim,
                   f->scratch);
        for (size_t i = 0; i < nb; i++) {
            uint32_t c = f->assign[i0 + i];
            const float *row = x + i * dim;
            const float *cen = f->centroids + (size_t)c * dim;
            float d2;
            ops->l2sq(&d2, row, (const uint8_t *)cen, 0, NULL, 1, dim);
            if (d2 > f->radius2[c])
                f->radius2[c] = d2;
            if (f->counts[c]++ == 0 && f->lo) {
                memcpy(f->lo + (size_t)c * dim, row, b->row_len);
                memcpy(f->hi + (size_t)c * dim, row, b->row_len);
            } else if (f->lo) {
                float *lo = f->lo + (size_t)c * dim;
                float *hi = f->hi + (size_t)c * dim;
                for (uint32_t d = 0; d < dim; d++) {
                    if (row[d] < lo[d])
                        lo[d] = row[d];
                    if (row[d] > hi[d])
                        hi[d] = row[d];
                }
            }
        }
        release_map(f, i0, i0 + nb, b->row_len);
    }
}

static infino_status write_meta(struct ivf_builder *b, struct fin *f,
                                struct out *o)
{
    const struct ivf_layout *L = &f->L;
    uint8_t h[IVF_HEADER_LEN] = {0}, e[IVF_DIR_ENTRY_LEN];
    uint64_t off = L->clusters_off;
    infino_status st;

    memcpy(h, IVF_MAGIC, 8);
    store_u32le(h + 8, IVF_VERSION);
    store_u32le(h + 12, IVF_HEADER_LEN);
    store_u32le(h + 16, L->dim);
    store_u32le(h + 20, L->code_dim);
    store_u32le(h + 24, L->n_clusters);
    store_u32le(h + 28, L->n_rows);
    h[32] = (uint8_t)L->metric;
    h[33] = (uint8_t)L->rerank;
    store_u64le(h + 40, b->opts.seed);
    store_u64le(h + 48, L->centroids_off);
    store_u64le(h + 56, L->dir_off);
    store_u64le(h + 64, L->positions_off);
    store_u64le(h + 72, L->clusters_off);
    for (uint32_t c = 0; c < L->n_clusters; c++)
        off = ivf_align(off + ivf_block_len(L, f->counts[c]));
    store_u64le(h + 80, off); /* total length */
    o->crc = 0;
    CHECK(emit(o, h, sizeof h));
    /* centroids: little-endian float32, as in memory on our hosts */
    CHECK(emit(o, f->centroids, (size_t)L->n_clusters * b->row_len));
    CHECK(emit_pad_to(o, L->dir_off));
    off = L->clusters_off;
    for (uint32_t c = 0; c < L->n_clusters; c++) {
        uint64_t len = ivf_block_len(L, f->counts[c]);
        float r = sqrtf(f->radius2[c]);
        uint32_t rbits;
        memcpy(&rbits, &r, 4);
        memset(e, 0, sizeof e);
        store_u64le(e, off);
        store_u64le(e + 8, len);
        store_u32le(e + 16, f->counts[c]);
        store_u32le(e + 20, f->first[c]);
        store_u32le(e + 24, rbits);
        CHECK(emit(o, e, sizeof e));
        off = ivf_align(off + len);
    }
    CHECK(emit_crc(o));
    CHECK(emit_pad_to(o, L->positions_off));
    o->crc = 0; /* the position table has its own checksum */
    for (uint64_t i = 0; i < L->n_rows; i++) {
        uint8_t p[4];
        store_u32le(p, f->pos[i]);
        CHECK(emit(o, p, 4));
    }
    CHECK(emit_crc(o));
    CHECK(emit_pad_to(o, L->clusters_off));
    return INFINO_OK;
fail:
    return st;
}

static int is_zero(const float *x, uint32_t dim)
{
    for (uint32_t d = 0; d < dim; d++)
        if (x[d] != 0)
            return 0;
    return 1;
}

/* Encodes and writes rows[0..nb) (ids[0..nb)) of cluster c as one batch. */
static infino_status write_batch(struct ivf_builder *b, struct fin *f,
                                 struct out *o, uint32_t c,
                                 const float *const *rows,
                                 const uint32_t *ids, size_t nb)
{
    const struct ivf_layout *L = &f->L;
    const struct vk_ops *ops = vk_get();
    uint32_t dim = L->dim, m = L->code_dim;
    uint8_t *codes = f->batch, *fac = f->batch + ivf_batch_factors(L, nb);
    uint8_t *idp = f->batch + ivf_batch_ids(L, nb);
    uint8_t *pay = f->batch + ivf_batch_payload(L, nb);
    const float *lo = f->lo ? f->lo + (size_t)c * dim : NULL;
    const float *sc = f->hi ? f->hi + (size_t)c * dim : NULL; /* scales */

    for (size_t i = 0; i < nb; i++) {
        const float *x = rows[i];
        float fa[3], corr = 0, corr2 = 0;
        memcpy(f->rot, x, b->row_len);
        memset(f->rot + dim, 0, 4ull * (m - dim));
        ops->rotate(f->rot, m, f->signs, f->scale);
        for (uint32_t j = 0; j < m; j++)
            f->rot[j] = f->rot[j] - f->rc[j];
        ivf_rabitq_encode(codes + i * L->code_len, fa, f->rot, f->rc, m,
                          L->metric);
        if (L->rerank == IVF_RERANK_SQ8) {
            /* codes of all nb rows, then their residual bytes */
            uint8_t *q = pay + i * dim, *res = pay + (nb + i) * dim;
            double e = 0, e2 = 0;
            for (uint32_t d = 0; d < dim; d++) {
                float t = (x[d] - lo[d]) * f->inv[d] + 0.5f;
                t = t >= 0 ? t : 0;
                t = t <= 255 ? t : 255;
                q[d] = (uint8_t)(int)t;
                /* the reconstruction (the search fuses it; the correction
                 * terms do not need that last half ulp) */
                float prod = sc[d] * (float)q[d];
                float diff = x[d] - (prod + lo[d]);
                e += (double)diff * diff;
                /* residual in steps of scale / 255, stored + 128 */
                float r = diff * (255.0f * f->inv[d]);
                r = r + (r >= 0 ? 0.5f : -0.5f);
                r = r >= -127 ? r : -127;
                r = r <= 127 ? r : 127;
                int ri = (int)r;
                res[d] = (uint8_t)(ri + 128);
                float step = sc[d] / 255.0f;
                float diff2 = diff - step * (float)ri;
                e2 += (double)diff2 * diff2;
            }
            if (ivf_metric_is_l2(L->metric)) {
                corr = (float)e;
                corr2 = (float)e2;
            }
        } else {
            memcpy(pay + i * L->payload_len, x, b->row_len);
        }
        if (L->metric == IVF_METRIC_COSINE && is_zero(x, dim)) {
            corr = corr + 1.0f; /* FORMAT.md: cosine of a zero row is 0 */
            corr2 = corr2 + 1.0f;
        }
        for (unsigned j = 0; j < 3; j++)
            memcpy(fac + (j * nb + i) * 4, &fa[j], 4);
        memcpy(fac + (3 * nb + i) * 4, &corr, 4);
        memcpy(fac + (4 * nb + i) * 4, &corr2, 4);
        store_u32le(idp + i * 4, ids[i]);
    }
    return emit(o, f->batch, ivf_batch_len(L, nb));
}

/* Writes the block of cluster c; rows come from `row_of(order index)`. */
static infino_status write_cluster(struct ivf_builder *b, struct fin *f,
                                   struct out *o, uint32_t c,
                                   const float *group_base, uint32_t g_first)
{
    const struct ivf_layout *L = &f->L;
    uint32_t dim = L->dim, m = L->code_dim, n = f->counts[c];
    const float *rows[IVF_BATCH];
    uint32_t ids[IVF_BATCH];
    infino_status st;

    /* head: rotated centroid, then SQ8 offsets and scales */
    memcpy(f->rc, f->centroids + (size_t)c * dim, b->row_len);
    memset(f->rc + dim, 0, 4ull * (m - dim));
    vk_get()->rotate(f->rc, m, f->signs, f->scale);
    o->crc = 0;
    CHECK(emit(o, f->rc, 4ull * m));
    if (L->rerank == IVF_RERANK_SQ8) {
        float *lo = f->lo + (size_t)c * dim, *hi = f->hi + (size_t)c * dim;
        /* hi becomes the scale: (max - min) / 255, 0 for a constant */
        for (uint32_t d = 0; d < dim; d++) {
            float span = hi[d] - lo[d];
            hi[d] = span > 0 ? span / 255.0f : 0.0f;
            f->inv[d] = hi[d] > 0 ? 1.0f / hi[d] : 0.0f;
        }
        CHECK(emit(o, lo, b->row_len));
        CHECK(emit(o, hi, b->row_len));
    }
    CHECK(emit_zeros(o, L->head_len - 4ull * m -
                            (L->rerank == IVF_RERANK_SQ8 ? 8ull * dim : 0)));
    for (uint32_t i0 = 0; i0 < n; i0 += IVF_BATCH) {
        size_t nb = n - i0 < IVF_BATCH ? n - i0 : IVF_BATCH;
        for (size_t i = 0; i < nb; i++) {
            uint32_t p = f->first[c] + i0 + (uint32_t)i;
            ids[i] = f->order[p];
            rows[i] = group_base ? group_base + (size_t)(p - g_first) * dim
                                 : row_ptr(b, f, ids[i]);
        }
        CHECK(write_batch(b, f, o, c, rows, ids, nb));
    }
    CHECK(emit_crc(o));
    CHECK(emit_pad_to(o, ivf_align(o->written)));
    return INFINO_OK;
fail:
    return st;
}

/* Pass 2 over spilled rows: loads the rows of clusters [g0, g1) into the
 * group buffer in storage order with one sequential scan. */
static void load_group(struct ivf_builder *b, struct fin *f, uint32_t g0,
                       uint32_t g1)
{
    uint32_t dim = b->opts.dim, lo = f->first[g0], hi = f->first[g1];
    size_t step = SCAN_BYTES / b->row_len ? SCAN_BYTES / b->row_len : 1;

    for (uint64_t i0 = 0; i0 < b->n_rows; i0 += step) {
        uint64_t end = i0 + step < b->n_rows ? i0 + step : b->n_rows;
        for (uint64_t id = i0; id < end; id++) {
            uint32_t p = f->pos[id];
            if (p >= lo && p < hi)
                memcpy(f->group + (size_t)(p - lo) * dim, row_ptr(b, f, id),
                       b->row_len);
        }
        release_map(f, i0, end, b->row_len);
    }
}

static infino_status write_clusters(struct ivf_builder *b, struct fin *f,
                                    struct out *o)
{
    uint32_t k = f->L.n_clusters;
    infino_status st;

    for (uint32_t g0 = 0; g0 < k;) {
        uint32_t g1 = g0 + 1;
        if (b->rows != NULL) { /* in memory: no grouping needed */
            CHECK(write_cluster(b, f, o, g0, NULL, 0));
            g0 = g1;
            continue;
        }
        while (g1 < k && f->first[g1 + 1] - f->first[g0] <= f->group_cap)
            g1++;
        if (f->first[g1] - f->first[g0] > f->group_cap) {
            /* one cluster larger than the budget: random reads */
            CHECK(write_cluster(b, f, o, g0, NULL, 0));
            release_map(f, 0, b->n_rows, b->row_len);
        } else {
            load_group(b, f, g0, g1);
            for (uint32_t c = g0; c < g1; c++)
                CHECK(write_cluster(b, f, o, c, f->group, f->first[g0]));
        }
        g0 = g1;
    }
    return INFINO_OK;
fail:
    return st;
}

uint32_t ivf_format_version(void)
{
    return IVF_VERSION;
}

infino_status ivf_builder_finish(struct ivf_builder *b, struct store_sink *sink,
                                 struct ivf_build_stats *stats_out)
{
    struct fin f;
    struct ivf_build_stats stats;
    struct out o = {sink, 0, 0};
    uint32_t dim = b->opts.dim, k, m;
    uint64_t n = b->n_rows;
    size_t sz;
    infino_status st = INFINO_OK;

    memset(&f, 0, sizeof f);
    memset(&stats, 0, sizeof stats);
    if (b->spent)
        return err_set(INFINO_ERR_INVALID, "vector index: builder finished");
    b->spent = 1;
    k = ivf_clamp_clusters(b->opts.n_clusters, n);
    if (k > b->res_len)
        k = b->res_len;
    ivf_layout_init(&f.L, dim, b->opts.metric, b->opts.rerank, k,
                    (uint32_t)n);
    m = f.L.code_dim;
    stats.n_rows = n;
    stats.n_clusters = k;
    stats.spilled = b->spill != NULL;
    if (b->spill) {
        size_t len;
        CHECK(spill_map(b->spill, &f.map, &len));
        f.map_len = len;
        f.spill = b->spill;
    }
    f.centroids = mem_alloc((size_t)k * b->row_len + 1);
    f.cnorm = mem_alloc((size_t)k * 4 + 1);
    f.scratch = mem_alloc(ivf_assign_scratch(k, dim) * 4);
    f.assign = mem_alloc(n * 4 + 1);
    f.pos = mem_alloc(n * 4 + 1);
    f.order = mem_alloc(n * 4 + 1);
    f.counts = mem_calloc((size_t)k + 1, 4);
    f.first = mem_calloc((size_t)k + 1, 4);
    f.cursor = mem_calloc((size_t)k + 1, 4);
    f.radius2 = mem_calloc((size_t)k + 1, 4);
    f.signs = mem_alloc(3ull * m * 4);
    f.rot = mem_alloc(4ull * m);
    f.rc = mem_alloc(4ull * m);
    f.inv = mem_alloc(4ull * dim);
    f.batch = mem_alloc(ivf_batch_len(&f.L, IVF_BATCH));
    if (!f.centroids || !f.cnorm || !f.scratch || !f.assign || !f.pos ||
        !f.order || !f.counts || !f.first || !f.cursor || !f.radius2 ||
        !f.signs || !f.rot || !f.rc || !f.inv || !f.batch)
        goto nomem;
    if (b->opts.rerank == IVF_RERANK_SQ8) {
        if (mem_mul(&sz, (size_t)k * 4 + 4, dim) != 0)
            goto nomem;
        f.lo = mem_calloc(1, sz);
        f.hi = mem_calloc(1, sz);
        if (!f.lo || !f.hi)
            goto nomem;
    }
    ivf_rotation_init(f.signs, &f.scale, m, b->opts.seed);
    if (n > 0) {
        CHECK(train(b, &f, k, &stats));
        assign_all(b, &f);
        CHECK(cancel_check("building the vector index"));
    }
    /* storage order: clusters in index order, rows by ascending id */
    for (uint32_t c = 0; c < k; c++)
        f.first[c + 1] = f.first[c] + f.counts[c];
    memcpy(f.cursor, f.first, (size_t)k * 4);
    for (uint64_t id = 0; id < n; id++) {
        uint32_t p = f.cursor[f.assign[id]]++;
        f.pos[id] = p;
        f.order[p] = (uint32_t)id;
    }
    CHECK(write_meta(b, &f, &o));
    if (b->spill) {
        size_t budget = b->budget_rows;
        f.group_cap = budget;
        f.group = mem_alloc(budget * b->row_len);
        if (f.group == NULL)
            goto nomem;
    }
    CHECK(write_clusters(b, &f, &o));
    stats.region_len = o.written;
    if (stats_out)
        *stats_out = stats;
    fin_free(&f, b);
    return INFINO_OK;
nomem:
    st = err_nomem();
fail:
    fin_free(&f, b);
    return err_context(st, "building vector index");
}
