/*
 * ivf_search.c - k-nearest-neighbour search over an opened region.
 *
 * Per probed cluster: the rotated query residual is quantized to 4 bits
 * in bit planes; each batch of 64 codes gets RaBitQ distance estimates
 * from popcounts; rows whose lower bound (estimate - error bound) can
 * still beat the current k-th distance, and that pass the filters, are
 * reranked from the payload into a bounded max-heap. Tiny allow-sets are
 * searched exactly through the position table instead.
 */
#include "ivf_int.h"

#include "store/store.h"
#include "util/alloc.h"
#include "util/err.h"
#include "vec_kernels.h"

#include <math.h>
#include <stdlib.h>

#define DEFAULT_EPS 1.9f
#define MAX_FILTER_MULT 64u
/* Cost of scoring one allowed row exactly (position lookup, payload setup
 * per cluster, two-level SQ8 distance) over the cost per row of probing a
 * cluster (1-bit estimates, most rows pruned): measured 0.35 us vs 0.03 us
 * on 384-d rows (100K rows, 256 clusters, a 10% filter). */
#define EXACT_ROW_COST 12u
/* One standard deviation of a uniform rounding error, in steps. */
#define UNIFORM_SD 0.28867513f

/* ---- the result heap: a max-heap on (dist, id) --------------------- */

/* A hit and where its row lives (cluster, index inside the cluster), so
 * the residual stage finds it without the position table. */
struct cand {
    float dist;
    uint32_t id;
    uint32_t c;
    uint32_t in;
};

struct heap {
    struct cand *h; /* owned by the search scratch */
    size_t n, cap;
};

static inline int worse(const struct cand *a, const struct cand *b)
{
    return a->dist > b->dist || (a->dist == b->dist && a->id > b->id);
}

static void heap_push(struct heap *hp, uint32_t id, float dist, uint32_t c,
                      uint32_t in)
{
    struct cand x = {dist, id, c, in};
    size_t i;

    if (hp->n < hp->cap) {
        i = hp->n++;
        while (i > 0 && worse(&x, &hp->h[(i - 1) / 2])) {
            hp->h[i] = hp->h[(i - 1) / 2];
            i = (i - 1) / 2;
        }
        hp->h[i] = x;
        return;
    }
    if (hp->cap == 0 || !worse(&hp->h[0], &x))
        return;
    i = 0;
    for (;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        const struct cand *mv = &x;
        if (l < hp->n && worse(&hp->h[l], mv)) {
            m = l;
            mv = &hp->h[l];
        }
        if (r < hp->n && worse(&hp->h[r], mv))
            m = r;
        if (m == i)
            break;
        hp->h[i] = hp->h[m];
        i = m;
    }
    hp->h[i] = x;
}

static inline float heap_bound(const struct heap *hp)
{
    return hp->n < hp->cap ? INFINITY : hp->h[0].dist;
}

static int cmp_hit(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    return worse(x, y) - worse(y, x);
}

/* Storage order: candidates of one cluster together. */
static int cmp_where(const void *a, const void *b)
{
    const struct cand *x = a, *y = b;
    if (x->c != y->c)
        return x->c < y->c ? -1 : 1;
    return (x->in > y->in) - (x->in < y->in);
}

/* ---- the prepared query ------------------------------------------- */

/* A query and what every search of it shares: the metric's preparation
 * and the rotation, kept for the last (metric, seed, code dim) searched,
 * which all regions of one column share; and the search scratch, grown to
 * the largest region searched, so a search of many regions allocates
 * nothing after the first. */
struct ivf_query {
    uint32_t dim;
    float *raw;       /* owned, dim: the caller's query */
    bool prepared;    /* q, qrot and one_nq describe (metric, seed, m) */
    enum ivf_metric metric;
    uint64_t seed;
    uint32_t code_dim;
    float *q;         /* owned, dim: as indexed (unit for cosine) */
    float *qrot;      /* owned, code_dim: rotated */
    size_t qrot_cap;
    float one_nq;     /* cosine: 1 - ||q||^2 (0, or 1 for a zero query) */
    float norm;       /* ||q|| as indexed */
    bool metric_ok;   /* q, one_nq, norm and the below hold for `metric` */
    /* q as 7-bit integers, q ~ q_step * q8, with sum_d q[d] and ||q||^2,
     * for ranking clusters (ivf_query_cluster_keys_approx) */
    int8_t *q8;
    float q_step, q_sum, q_nn;
    int32_t *dots;    /* owned scratch: per cluster */
    size_t dots_cap;
    /* scratch, owned: searches borrow it (one search at a time) */
    void *mem;
    size_t mem_cap;
    float *p_lb, *p_est; /* per row of a probed cluster */
    uint8_t *p_done;
    size_t p_cap;
    uint8_t *seen;    /* per cluster of a region */
    size_t seen_cap;
};

infino_status ivf_query_new(struct ivf_query **out, const float *query,
                            size_t dim)
{
    struct ivf_query *q;

    *out = NULL;
    if (dim == 0 || dim > IVF_MAX_DIM)
        return err_set(INFINO_ERR_INVALID,
                       "vector search: query dimension %zu out of range", dim);
    for (size_t i = 0; i < dim; i++)
        if (!isfinite(query[i]))
            return err_set(INFINO_ERR_INVALID,
                           "vector search: query value %zu is NaN or infinite",
                           i);
    q = mem_calloc(1, sizeof *q);
    if (q == NULL)
        return err_nomem();
    q->dim = (uint32_t)dim;
    q->raw = mem_alloc(4 * dim);
    q->q = mem_alloc(4 * dim);
    q->q8 = mem_alloc(dim);
    if (q->raw == NULL || q->q == NULL || q->q8 == NULL) {
        ivf_query_free(q);
        return err_nomem();
    }
    memcpy(q->raw, query, 4 * dim);
    *out = q;
    return INFINO_OK;
}

void ivf_query_free(struct ivf_query *q)
{
    if (q == NULL)
        return;
    mem_free(q->raw);
    mem_free(q->q);
    mem_free(q->q8);
    mem_free(q->dots);
    mem_free(q->qrot);
    mem_free(q->mem);
    mem_free(q->p_lb);
    mem_free(q->p_est);
    mem_free(q->p_done);
    mem_free(q->seen);
    mem_free(q);
}

/* q and one_nq for region r's metric (no rotation). */
static void query_metric(struct ivf_query *pq, const struct ivf_reader *r)
{
    double nn = 0, sum = 0;
    float amax = 0, inv;

    if (pq->metric_ok && pq->metric == r->L.metric)
        return;
    pq->prepared = false;
    pq->metric = r->L.metric;
    ivf_prepare(pq->q, pq->raw, pq->dim, pq->metric);
    pq->one_nq = 1.0f;
    for (uint32_t d = 0; d < pq->dim; d++) {
        float a = fabsf(pq->q[d]);
        if (pq->q[d] != 0)
            pq->one_nq = 0.0f;
        nn += (double)pq->q[d] * pq->q[d];
        sum += pq->q[d];
        amax = a > amax ? a : amax;
    }
    pq->norm = (float)sqrt(nn);
    pq->q_nn = (float)nn;
    pq->q_sum = (float)sum;
    /* 63 keeps u8 * i8 pair sums inside int16 (vk_ops.u8i8_dot) */
    pq->q_step = amax > 0 && isfinite(amax / 63.0f) ? amax / 63.0f : 0.0f;
    inv = pq->q_step > 0 ? 1.0f / pq->q_step : 0.0f;
    for (uint32_t d = 0; d < pq->dim; d++) {
        float t = rintf(pq->q[d] * inv);
        t = t < -63 ? -63 : t > 63 ? 63 : t;
        pq->q8[d] = (int8_t)t;
    }
    pq->metric_ok = true;
}

/* Prepares pq for region r: the metric's form, then the rotation. */
static infino_status query_prepare(struct ivf_query *pq,
                                   const struct ivf_reader *r)
{
    const struct ivf_layout *L = &r->L;

    if (pq->dim != L->dim)
        return err_set(INFINO_ERR_INVALID,
                       "vector search: query has dimension %u, the index %u",
                       pq->dim, L->dim);
    query_metric(pq, r);
    if (pq->prepared && pq->seed == r->seed && pq->code_dim == L->code_dim)
        return INFINO_OK;
    if (pq->qrot_cap < L->code_dim) {
        float *p = mem_realloc(pq->qrot, 4ull * L->code_dim);
        if (p == NULL)
            return err_nomem();
        pq->qrot = p;
        pq->qrot_cap = L->code_dim;
    }
    memcpy(pq->qrot, pq->q, 4ull * L->dim);
    memset(pq->qrot + L->dim, 0, 4ull * (L->code_dim - L->dim));
    vk_get()->rotate(pq->qrot, L->code_dim, r->signs, r->scale);
    pq->seed = r->seed;
    pq->code_dim = L->code_dim;
    pq->prepared = true;
    return INFINO_OK;
}

/* ---- per-search state ---------------------------------------------- */

struct ctx {
    struct ivf_reader *r;
    struct ivf_query *pq; /* borrowed: the query and its scratch */
    const struct vk_ops *ops;
    /* probe scratch, one entry per row of the cluster (the query's,
     * grown on demand): lower bounds, estimates, rows scored */
    float *p_lb, *p_est;
    uint8_t *p_done;
    const roaring_bitmap_t *allow, *deleted;
    float eps;
    /* the caller's bound (INFINITY: none): rows whose lower bound
     * exceeds it are not wanted */
    float ext_bound;
    const float *q;   /* dim: the query as indexed (unit for cosine) */
    const float *qrot; /* m: rotated query */
    float *rq;        /* m: rotated residual of the current cluster */
    uint8_t *planes;  /* 4 * code_len */
    float *qa;        /* dim: SQ8 query (q - offset, or q * scale) */
    float *sc;        /* dim: aligned copy of the cluster's SQ8 scales */
    float *rstep;     /* dim: SQ8 residual steps (scale / 255) */
    float *q2;        /* dim: residual-stage query (see payload_setup) */
    float sum_q2;
    float konst;      /* dot form: <q, offsets> */
    uint32_t setup_c; /* the cluster the payload fields describe */
    size_t k;         /* hits to return (the heap may pool more) */
    int pooled;       /* probes filled the heap: refine before output */
    float *row;       /* dim: a fetched raw row */
    float one_nq;     /* cosine: 1 - ||q||^2 (0, or 1 for a zero query) */
    struct heap heap;
    struct cand *pick; /* heap.cap: prefill's selection */
};

static infino_status check_query(const struct ivf_reader *r,
                                 const float *query, size_t query_dim)
{
    if (query_dim != r->L.dim)
        return err_set(INFINO_ERR_INVALID,
                       "vector search: query has dimension %zu, the index %u",
                       query_dim, r->L.dim);
    for (uint32_t i = 0; i < r->L.dim; i++)
        if (!isfinite(query[i]))
            return err_set(INFINO_ERR_INVALID,
                           "vector search: query value %u is NaN or infinite",
                           i);
    return INFINO_OK;
}

static infino_status ctx_init(struct ctx *x, struct ivf_reader *r,
                              struct ivf_query *pq, size_t k,
                              const struct ivf_search_opts *o)
{
    const struct ivf_layout *L = &r->L;
    size_t kk = k < L->n_rows ? k : L->n_rows;
    /* SQ8: pool extra candidates for the residual stage (as upstream's
     * best-2k refinement) */
    size_t cap = L->rerank == IVF_RERANK_SQ8 ? kk + (kk > 8 ? kk : 8) : kk;
    size_t bytes = 5ull * 4 * L->dim + 4ull * L->code_dim +
                   4ull * L->code_len + 2 * cap * sizeof(struct cand) + 64;
    uint8_t *p;
    infino_status st;

    memset(x, 0, sizeof *x);
    st = query_prepare(pq, r);
    if (st != INFINO_OK)
        return st;
    if (pq->mem_cap < bytes) {
        void *m = mem_realloc(pq->mem, bytes);
        if (m == NULL)
            return err_nomem();
        pq->mem = m;
        pq->mem_cap = bytes;
    }
    p = pq->mem;
    x->heap.h = (struct cand *)(void *)p;
    p += cap * sizeof(struct cand);
    x->pick = (struct cand *)(void *)p;
    p += cap * sizeof(struct cand);
    x->qa = (float *)(void *)p;
    p += 4ull * L->dim;
    x->sc = (float *)(void *)p;
    p += 4ull * L->dim;
    x->row = (float *)(void *)p;
    p += 4ull * L->dim;
    x->rstep = (float *)(void *)p;
    p += 4ull * L->dim;
    x->q2 = (float *)(void *)p;
    p += 4ull * L->dim;
    x->rq = (float *)(void *)p;
    p += 4ull * L->code_dim;
    x->planes = p;
    if (cap > L->n_rows)
        cap = L->n_rows;
    x->heap.cap = cap;
    x->k = kk;
    x->setup_c = UINT32_MAX;
    x->r = r;
    x->pq = pq;
    x->ops = vk_get();
    x->allow = o ? o->allow : NULL;
    x->deleted = o ? o->deleted : NULL;
    x->eps = o && o->eps > 0 ? o->eps : DEFAULT_EPS;
    x->ext_bound = o && o->bound ? *o->bound : INFINITY;
    if (isnan(x->ext_bound))
        x->ext_bound = INFINITY;
    x->q = pq->q;
    x->qrot = pq->qrot;
    x->one_nq = pq->one_nq;
    x->p_lb = pq->p_lb;
    x->p_est = pq->p_est;
    x->p_done = pq->p_done;
    return INFINO_OK;
}

static inline int passes(const struct ctx *x, uint32_t id)
{
    if (x->allow && !roaring_bitmap_contains(x->allow, id))
        return 0;
    return !(x->deleted && roaring_bitmap_contains(x->deleted, id));
}

/* An L2-form distance (l2sq units) as the metric reports it: cosine is
 * (1 - ||q||^2 + ||q - x||^2) / 2 on unit (or zero) vectors. */
static inline float from_l2(const struct ctx *x, float l2)
{
    if (x->r->L.metric != IVF_METRIC_COSINE)
        return l2;
    float t = x->one_nq + l2;
    return 0.5f * t;
}

/* The same for estimates of either form (the dot form is final). */
static inline float from_l2_est(const struct ctx *x, float v)
{
    return ivf_metric_is_l2(x->r->L.metric) ? from_l2(x, v) : v;
}

/* Exact distance between the prepared query and a raw row. */
static float exact_dist(const struct ctx *x, const float *row)
{
    const struct ivf_layout *L = &x->r->L;
    float d;

    if (L->metric == IVF_METRIC_L2SQ) {
        x->ops->l2sq(&d, x->q, (const uint8_t *)row, 0, NULL, 1, L->dim);
        return d;
    }
    x->ops->dot(&d, x->q, (const uint8_t *)row, 0, NULL, 1, L->dim);
    return L->metric == IVF_METRIC_COSINE ? 1.0f - d : -d;
}

/* Per-cluster payload setup (cluster c, its block): the SQ8 query of the
 * code stage (qa = q - offset for the L2 form, q * scale for the dot
 * form), and of the residual stage (q2 = qa + 128 * step for the L2 form,
 * so that sum (q2 - scale * code - step * byte)^2 is the refined L2
 * distance of a row with residual byte "byte" (= residual + 128); q2 =
 * q * step for the dot form). */
static void payload_setup(struct ctx *x, const uint8_t *block, uint32_t c)
{
    const struct ivf_layout *L = &x->r->L;
    const uint8_t *lo = block + 4ull * L->code_dim, *sc = lo + 4ull * L->dim;

    x->setup_c = c;
    x->konst = 0;
    if (L->rerank != IVF_RERANK_SQ8)
        return;
    for (uint32_t d = 0; d < L->dim; d++) {
        x->sc[d] = ivf_load_f32(sc + 4 * d);
        x->rstep[d] = x->sc[d] / 255.0f;
    }
    if (ivf_metric_is_l2(L->metric)) {
        for (uint32_t d = 0; d < L->dim; d++) {
            x->qa[d] = x->q[d] - ivf_load_f32(lo + 4 * d);
            float shift = 128.0f * x->rstep[d];
            x->q2[d] = x->qa[d] + shift;
        }
    } else {
        x->sum_q2 = 0;
        for (uint32_t d = 0; d < L->dim; d++) {
            x->qa[d] = x->q[d] * x->sc[d];
            x->q2[d] = x->q[d] * x->rstep[d];
            x->sum_q2 = x->sum_q2 + x->q2[d];
        }
        x->ops->dot(&x->konst, x->q, lo, 0, NULL, 1, L->dim);
    }
}

/* Code-stage distances of rows slots[0..n) of one batch (SQ8: codes
 * only; float32: exact). */
static void payload_dists(float *out, const struct ctx *x,
                          const uint8_t *batch, size_t nb,
                          const uint32_t *slots, size_t n)
{
    const struct ivf_layout *L = &x->r->L;
    const uint8_t *pay = batch + ivf_batch_payload(L, nb);
    const uint8_t *corr = batch + ivf_batch_factors(L, nb) + 12 * nb;
    if (ivf_metric_is_l2(L->metric)) {
        if (L->rerank == IVF_RERANK_F32)
            x->ops->l2sq(out, x->q, pay, L->payload_len, slots, n, L->dim);
        else
            x->ops->sq8_l2sq(out, x->qa, x->sc, pay, L->dim, slots, n,
                             L->dim);
        for (size_t t = 0; t < n; t++)
            out[t] = from_l2(x, out[t] + ivf_load_f32(corr + 4 * slots[t]));
        return;
    }
    if (L->rerank == IVF_RERANK_F32) {
        x->ops->dot(out, x->q, pay, L->payload_len, slots, n, L->dim);
        for (size_t t = 0; t < n; t++)
            out[t] = -out[t];
        return;
    }
    x->ops->sq8_dot(out, x->qa, pay, L->dim, slots, n, L->dim);
    for (size_t t = 0; t < n; t++)
        out[t] = -(x->konst + out[t]);
}

/* The most precise payload distance of one row: float32 exact, or SQ8
 * code + residual byte (FORMAT.md "Payloads"). */
static float refined_dist(struct ctx *x, const uint8_t *batch, size_t nb,
                          uint32_t slot)
{
    const struct ivf_layout *L = &x->r->L;
    const uint8_t *pay = batch + ivf_batch_payload(L, nb);
    const uint8_t *code = pay + (size_t)slot * L->dim;
    const uint8_t *res = pay + (nb + slot) * L->dim;
    const uint8_t *corr2 = batch + ivf_batch_factors(L, nb) + 16 * nb;
    float d, d2;

    if (L->rerank == IVF_RERANK_F32) {
        payload_dists(&d, x, batch, nb, &slot, 1);
        return d;
    }
    if (ivf_metric_is_l2(L->metric)) {
        d = x->ops->sq8_res_l2sq(x->q2, x->sc, code, x->rstep, res, L->dim);
        return from_l2(x, d + ivf_load_f32(corr2 + 4ull * slot));
    }
    x->ops->sq8_dot(&d, x->qa, code, 0, NULL, 1, L->dim);
    x->ops->sq8_dot(&d2, x->q2, res, 0, NULL, 1, L->dim);
    float shift = 128.0f * x->sum_q2;
    float dot = x->konst + d + (d2 - shift);
    return -dot;
}

/* Room for `count` rows in the probe scratch (the query's). */
static infino_status probe_scratch(struct ctx *x, size_t count)
{
    struct ivf_query *pq = x->pq;
    float *lb, *est;
    uint8_t *done;

    if (count <= pq->p_cap)
        return INFINO_OK;
    lb = mem_realloc(pq->p_lb, count * sizeof *lb);
    if (lb != NULL)
        pq->p_lb = lb;
    est = mem_realloc(pq->p_est, count * sizeof *est);
    if (est != NULL)
        pq->p_est = est;
    done = mem_realloc(pq->p_done, count);
    if (done != NULL)
        pq->p_done = done;
    x->p_lb = pq->p_lb;
    x->p_est = pq->p_est;
    x->p_done = pq->p_done;
    if (lb == NULL || est == NULL || done == NULL)
        return err_nomem();
    pq->p_cap = count;
    return INFINO_OK;
}

/* Scores the rows of cluster c (from `block`) with the smallest estimates
 * that pass the filters, as many as the pool has room for; a bounded
 * heap of (estimate, row) picks them in one pass. */
static infino_status prefill(struct ctx *x, const uint8_t *block, uint32_t c,
                             uint32_t count)
{
    const struct ivf_layout *L = &x->r->L;
    struct heap pick = {x->pick, 0, x->heap.cap - x->heap.n};

    for (uint32_t i = 0; i < count; i++) {
        size_t nb = count - i / IVF_BATCH * IVF_BATCH;
        const uint8_t *batch = block + L->head_len +
                               (size_t)(i / IVF_BATCH) *
                                   ivf_batch_len(L, IVF_BATCH);
        if (pick.n == pick.cap && !(x->p_est[i] < pick.h[0].dist))
            continue; /* cannot enter: skip the filter lookups */
        if (!(x->p_lb[i] <= x->ext_bound))
            continue; /* the caller has better rows already */
        if (nb > IVF_BATCH)
            nb = IVF_BATCH;
        if (passes(x, load_u32le(batch + ivf_batch_ids(L, nb) +
                                 4ull * (i % IVF_BATCH))))
            heap_push(&pick, i, x->p_est[i], 0, 0); /* id: the row */
    }
    for (size_t j = 0; j < pick.n; j++) {
        uint32_t i = pick.h[j].id, slot = i % IVF_BATCH;
        const uint8_t *batch = block + L->head_len +
                               (size_t)(i / IVF_BATCH) *
                                   ivf_batch_len(L, IVF_BATCH);
        size_t nb = count - i / IVF_BATCH * IVF_BATCH;
        float d;
        if (nb > IVF_BATCH)
            nb = IVF_BATCH;
        if (x->setup_c != c)
            payload_setup(x, block, c);
        payload_dists(&d, x, batch, nb, &slot, 1);
        heap_push(&x->heap, load_u32le(batch + ivf_batch_ids(L, nb) +
                                       4ull * slot),
                  d, c, i);
        x->p_done[i] = 1;
    }
    return INFINO_OK;
}

/* A lower bound of the distance of every member of cluster c, from the
 * query's distance to the centroid (nrq2 = ||q - c||^2; bq = -<q, c> for
 * the dot form) and the cluster's radius, slightly loosened for the
 * rounding of both. */
static float cluster_lb(const struct ctx *x, uint32_t c, float nrq2, float bq)
{
    float radius = ivf_load_f32(x->r->dir + (size_t)c * IVF_DIR_ENTRY_LEN +
                                IVF_DIR_RADIUS);
    float d;

    if (!(radius >= 0) || !isfinite(radius))
        return -INFINITY;
    if (ivf_metric_is_l2(x->r->L.metric)) {
        d = sqrtf(nrq2) - radius * 1.0001f;
        d = d > 0 ? d * d * 0.9999f : 0.0f;
        return from_l2(x, d);
    }
    return bq - x->pq->norm * radius * 1.0001f - 1e-4f * fabsf(bq);
}

/* Probes cluster c: estimates, bounds, filters, reranks into the heap. */
static infino_status probe(struct ctx *x, uint32_t c)
{
    const struct ivf_layout *L = &x->r->L;
    const uint32_t m = L->code_dim, count = ivf_dir_u32(x->r, c, IVF_DIR_COUNT);
    const uint8_t *block, *batch;
    float lo = INFINITY, hi = -INFINITY, delta, inv, nrq2, bq, qerr;
    uint32_t sum_u = 0;
    infino_status st;

    if (count == 0)
        return INFINO_OK;
    x->pooled = 1;
    st = ivf_block(&block, x->r, c);
    if (st != INFINO_OK)
        return st;
    /* residual in the rotated space (its 4-bit planes follow, RaBitQ
     * Sec 3.3, unless the cluster cannot beat the caller's bound) */
    x->ops->residual(x->rq, &lo, &hi, x->qrot, block, m);
    x->ops->dot(&nrq2, x->rq, (const uint8_t *)x->rq, 0, NULL, 1, m);
    if (ivf_metric_is_l2(L->metric)) {
        bq = nrq2;
    } else {
        float qc;
        x->ops->dot(&qc, x->q, x->r->centroids + (size_t)c * L->dim * 4, 0,
                    NULL, 1, L->dim);
        bq = -qc;
    }
    if (x->ext_bound < INFINITY &&
        cluster_lb(x, c, nrq2, bq) > x->ext_bound)
        return INFINO_OK; /* no member can beat the caller's bound */
    delta = (hi - lo) / 15.0f;
    inv = delta > 0 ? 1.0f / delta : 0.0f;
    /* u_i = round((rq_i - lo) / delta) in 0..15, rounding half up */
    sum_u = x->ops->planes4(x->planes, x->rq, lo, inv, m);
    /* error-bound width: RaBitQ's eps0 * |rq| plus the 4-bit rounding */
    float rq_term = x->eps * sqrtf(nrq2);
    qerr = x->eps * UNIFORM_SD * delta * sqrtf((float)m);

    CHECK(probe_scratch(x, count));
    /* Pass 1: every row's estimate and lower bound (RaBitQ Sec 3.2). */
    batch = block + L->head_len;
    for (uint32_t i0 = 0; i0 < count; i0 += IVF_BATCH) {
        size_t nb = count - i0 < IVF_BATCH ? count - i0 : IVF_BATCH;
        const uint8_t *fac = batch + ivf_batch_factors(L, nb);
        uint32_t dq[IVF_BATCH], pc[IVF_BATCH];
        float *est = x->p_est + i0, *lbs = x->p_lb + i0;

        x->ops->bits4(dq, pc, batch, nb, L->code_len, x->planes);
        /* (a loop the compiler vectorizes) */
        for (size_t i = 0; i < nb; i++) {
            float add = ivf_load_f32(fac + 4 * i);
            float rescale = ivf_load_f32(fac + 4 * (nb + i));
            float errf = ivf_load_f32(fac + 4 * (2 * nb + i));
            float s1 = delta * (float)(2 * (int32_t)dq[i] - (int32_t)sum_u);
            float s2 = lo * (float)(2 * (int32_t)pc[i] - (int32_t)m);
            float sum = s1 + s2;
            float prod = rescale * sum;
            float e = add + bq + prod;
            float e1 = errf * rq_term, e2 = fabsf(rescale) * qerr;
            est[i] = e;
            lbs[i] = e - (e1 + e2);
        }
        for (size_t i = 0; i < nb; i++) {
            est[i] = from_l2_est(x, est[i]);
            lbs[i] = from_l2_est(x, lbs[i]);
        }
        batch += ivf_batch_len(L, nb);
    }
    memset(x->p_done, 0, count);
    /* Pass 2: while the pool has room, score the rows the estimates rank
     * best first, so that its bound is tight before pass 3 tests every
     * row against it (in storage order the first rows scored are
     * arbitrary, and the bound stays loose for long). */
    if (x->heap.n < x->heap.cap)
        CHECK(prefill(x, block, c, count));
    /* Pass 3: every other row whose lower bound can still beat the pool's
     * bound is scored from the payload (SQ8 codes or floats). */
    batch = block + L->head_len;
    for (uint32_t i0 = 0; i0 < count; i0 += IVF_BATCH) {
        size_t nb = count - i0 < IVF_BATCH ? count - i0 : IVF_BATCH;
        const uint8_t *ids = batch + ivf_batch_ids(L, nb);
        uint32_t slots[IVF_BATCH];
        float dist[IVF_BATCH];
        size_t n_cand = 0;
        float bound = heap_bound(&x->heap);

        if (x->ext_bound < bound)
            bound = x->ext_bound;
        for (size_t i = 0; i < nb; i++)
            if (x->p_lb[i0 + i] <= bound && !x->p_done[i0 + i] &&
                passes(x, load_u32le(ids + 4 * i)))
                slots[n_cand++] = (uint32_t)i;
        if (n_cand > 0) {
            if (x->setup_c != c)
                payload_setup(x, block, c);
            payload_dists(dist, x, batch, nb, slots, n_cand);
            for (size_t t = 0; t < n_cand; t++)
                heap_push(&x->heap, load_u32le(ids + 4 * slots[t]), dist[t], c,
                          i0 + slots[t]);
        }
        batch += ivf_batch_len(L, nb);
    }
    return INFINO_OK;
fail:
    return st;
}

/* Row `id`'s cluster and index inside it, via the position table. */
static infino_status locate_pos(struct ctx *x, uint32_t id, uint32_t *c_out,
                                uint32_t *in_out)
{
    struct ivf_reader *r = x->r;
    const struct ivf_layout *L = &r->L;
    const uint8_t *pos_tab;
    uint32_t pos, lo = 0, hi = L->n_clusters, c, in;
    infino_status st;

    st = ivf_positions(&pos_tab, r);
    if (st != INFINO_OK)
        return st;
    pos = load_u32le(pos_tab + 4ull * id);
    while (hi - lo > 1) { /* last cluster whose first position <= pos */
        uint32_t mid = lo + (hi - lo) / 2;
        if (ivf_dir_u32(r, mid, IVF_DIR_FIRST) <= pos)
            lo = mid;
        else
            hi = mid;
    }
    c = lo;
    in = pos - ivf_dir_u32(r, c, IVF_DIR_FIRST);
    if (in >= ivf_dir_u32(r, c, IVF_DIR_COUNT))
        return err_set(INFINO_ERR_CORRUPT,
                       "%s: vector index: position of row %u is out of range",
                       store_blob_name(r->blob), id);
    *c_out = c;
    *in_out = in;
    return INFINO_OK;
}

/* The block and batch slot of row `id`, at index `in` of cluster `c`
 * (checked against the batch's row ids). */
static infino_status batch_of(struct ctx *x, uint32_t id, uint32_t c,
                              uint32_t in, const uint8_t **block,
                              const uint8_t **batch, size_t *nb,
                              uint32_t *slot)
{
    struct ivf_reader *r = x->r;
    const struct ivf_layout *L = &r->L;
    infino_status st;

    st = ivf_block(block, r, c);
    if (st != INFINO_OK)
        return st;
    *batch = *block + L->head_len +
             (size_t)(in / IVF_BATCH) * ivf_batch_len(L, IVF_BATCH);
    *nb = ivf_dir_u32(r, c, IVF_DIR_COUNT) - (in / IVF_BATCH) * IVF_BATCH;
    if (*nb > IVF_BATCH)
        *nb = IVF_BATCH;
    *slot = in % IVF_BATCH;
    if (load_u32le(*batch + ivf_batch_ids(L, *nb) + 4ull * *slot) != id)
        return err_set(INFINO_ERR_CORRUPT,
                       "%s: vector index: position table disagrees with "
                       "cluster %u about row %u",
                       store_blob_name(r->blob), c, id);
    return INFINO_OK;
}

/* Locates row `id` via the position table: its block and batch slot. */
static infino_status locate(struct ctx *x, uint32_t id, uint32_t *c_out,
                            const uint8_t **block, const uint8_t **batch,
                            size_t *nb, uint32_t *slot)
{
    uint32_t in;
    infino_status st = locate_pos(x, id, c_out, &in);

    if (st != INFINO_OK)
        return st;
    return batch_of(x, id, *c_out, in, block, batch, nb, slot);
}

/* Distance of one row: from the caller's raw vector, else the payload. */
static infino_status row_dist(float *out, struct ctx *x, uint32_t id,
                              const struct ivf_search_opts *o)
{
    const uint8_t *block = NULL, *batch = NULL;
    size_t nb = 0;
    uint32_t slot = 0, c = 0;
    infino_status st;

    if (o && o->fetch) {
        st = o->fetch(x->row, id, o->fetch_payload);
        if (st != INFINO_OK)
            return err_context(st, "vector search: fetching row %u", id);
        ivf_prepare(x->row, x->row, x->r->L.dim, x->r->L.metric);
        *out = exact_dist(x, x->row);
        return INFINO_OK;
    }
    st = locate(x, id, &c, &block, &batch, &nb, &slot);
    if (st != INFINO_OK)
        return st;
    if (c != x->setup_c)
        payload_setup(x, block, c);
    *out = refined_dist(x, batch, nb, slot);
    return INFINO_OK;
}

/* The residual stage: the pooled code-stage hits get their refined
 * distances, cluster by cluster, and the best k stay. */
static infino_status refine(struct ctx *x)
{
    const struct ivf_layout *L = &x->r->L;

    if (x->pooled && L->rerank == IVF_RERANK_SQ8) {
        qsort(x->heap.h, x->heap.n, sizeof *x->heap.h, cmp_where);
        for (size_t i = 0; i < x->heap.n; i++) {
            struct cand *cd = &x->heap.h[i];
            uint32_t count = ivf_dir_u32(x->r, cd->c, IVF_DIR_COUNT);
            uint32_t first = cd->in - cd->in % IVF_BATCH;
            size_t nb = count - first < IVF_BATCH ? count - first : IVF_BATCH;
            const uint8_t *block;
            infino_status st = ivf_block(&block, x->r, cd->c);
            if (st != INFINO_OK)
                return st;
            if (cd->c != x->setup_c)
                payload_setup(x, block, cd->c);
            cd->dist = refined_dist(
                x,
                block + L->head_len +
                    (size_t)(first / IVF_BATCH) * ivf_batch_len(L, IVF_BATCH),
                nb, cd->in % IVF_BATCH);
        }
    }
    qsort(x->heap.h, x->heap.n, sizeof *x->heap.h, cmp_hit);
    if (x->heap.n > x->k)
        x->heap.n = x->k;
    return INFINO_OK;
}

/* Rescoring the final hits exactly from the caller's raw vectors. */
static infino_status rescore(struct ctx *x, const struct ivf_search_opts *o)
{
    for (size_t i = 0; i < x->heap.n; i++) {
        infino_status st =
            row_dist(&x->heap.h[i].dist, x, x->heap.h[i].id, o);
        if (st != INFINO_OK)
            return st;
    }
    return INFINO_OK;
}

static void finish_hits(struct ivf_hit *out, size_t *n_out, struct ctx *x)
{
    qsort(x->heap.h, x->heap.n, sizeof *x->heap.h, cmp_hit);
    for (size_t i = 0; i < x->heap.n; i++) {
        out[i].id = x->heap.h[i].id;
        out[i].dist = x->heap.h[i].dist;
    }
    *n_out = x->heap.n;
}

struct keyed {
    float key;
    uint32_t c;
};

static int cmp_keyed(const void *a, const void *b)
{
    const struct keyed *x = a, *y = b;
    if (x->key != y->key)
        return x->key < y->key ? -1 : 1;
    return (x->c > y->c) - (x->c < y->c);
}

static void sift_down(struct keyed *a, uint32_t n, uint32_t i)
{
    for (;;) {
        uint32_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < n && cmp_keyed(&a[l], &a[m]) > 0)
            m = l;
        if (r < n && cmp_keyed(&a[r], &a[m]) > 0)
            m = r;
        if (m == i)
            return;
        struct keyed t = a[i];
        a[i] = a[m];
        a[m] = t;
        i = m;
    }
}

/* Moves the `want` smallest of a[0..n) to a[0..want), sorted (a max-heap
 * of size want over the rest: O(n log want)). */
static void select_smallest(struct keyed *a, uint32_t n, uint32_t want)
{
    if (want >= n) {
        qsort(a, n, sizeof *a, cmp_keyed);
        return;
    }
    /* heapify a[0..want) as a max-heap */
    for (uint32_t i = want / 2; i-- > 0;)
        sift_down(a, want, i);
    for (uint32_t i = want; i < n; i++)
        if (cmp_keyed(&a[i], &a[0]) < 0) {
            struct keyed t = a[0];
            a[0] = a[i];
            a[i] = t;
            sift_down(a, want, 0);
        }
    qsort(a, want, sizeof *a, cmp_keyed);
}

static void cluster_keys(float *out, const struct ivf_reader *r,
                         const float *q /* prepared */)
{
    const struct vk_ops *ops = vk_get();
    uint32_t k = r->L.n_clusters, dim = r->L.dim;

    if (r->L.metric == IVF_METRIC_NEGDOT) {
        ops->dot(out, q, r->centroids, 4ull * dim, NULL, k, dim);
        for (uint32_t c = 0; c < k; c++)
            out[c] = -out[c];
        return;
    }
    ops->l2sq(out, q, r->centroids, 4ull * dim, NULL, k, dim);
    if (r->L.metric == IVF_METRIC_COSINE)
        for (uint32_t c = 0; c < k; c++)
            out[c] = 0.5f * out[c];
}

/* order[0..want) = the `want` clusters with the smallest keys, ascending.
 * Many clusters: shortlist 4 * want + 16 by the 8-bit centroid codes,
 * then rank the shortlist by exact keys (a true top cluster missing from
 * the shortlist is possible but needs an 8-bit rounding error larger than
 * the key gap to 3 * want + 16 other clusters). `keys` is scratch. */
static void nearest_clusters(struct keyed *order, float *keys, struct ctx *x,
                             uint32_t want)
{
    const struct ivf_reader *r = x->r;
    uint32_t k = r->L.n_clusters, dim = r->L.dim, m = 4 * want + 16;
    uint32_t ids[256];
    float exact[256];

    if (r->cq == NULL || m > k || m > 256) {
        cluster_keys(keys, r, x->q);
        for (uint32_t c = 0; c < k; c++) {
            order[c].key = keys[c];
            order[c].c = c;
        }
        select_smallest(order, k, want);
        return;
    }
    if (ivf_metric_is_l2(r->L.metric)) {
        for (uint32_t d = 0; d < dim; d++)
            x->qa[d] = x->q[d] - r->cq_lo[d];
        x->ops->sq8_l2sq(keys, x->qa, r->cq_scale, r->cq, dim, NULL, k, dim);
    } else {
        for (uint32_t d = 0; d < dim; d++)
            x->qa[d] = x->q[d] * r->cq_scale[d];
        x->ops->sq8_dot(keys, x->qa, r->cq, dim, NULL, k, dim);
        for (uint32_t c = 0; c < k; c++)
            keys[c] = -keys[c]; /* the common <q, offset> term is dropped */
    }
    for (uint32_t c = 0; c < k; c++) {
        order[c].key = keys[c];
        order[c].c = c;
    }
    select_smallest(order, k, m);
    for (uint32_t i = 0; i < m; i++)
        ids[i] = order[i].c;
    if (r->L.metric == IVF_METRIC_NEGDOT) {
        x->ops->dot(exact, x->q, r->centroids, 4ull * dim, ids, m, dim);
        for (uint32_t i = 0; i < m; i++)
            exact[i] = -exact[i];
    } else {
        x->ops->l2sq(exact, x->q, r->centroids, 4ull * dim, ids, m, dim);
        if (r->L.metric == IVF_METRIC_COSINE)
            for (uint32_t i = 0; i < m; i++)
                exact[i] = 0.5f * exact[i];
    }
    for (uint32_t i = 0; i < m; i++) {
        order[i].key = exact[i];
        order[i].c = ids[i];
    }
    select_smallest(order, m, want);
}

infino_status ivf_cluster_keys(float *out, const struct ivf_reader *r,
                               const float *query, size_t query_dim)
{
    float *q;

    if (check_query(r, query, query_dim) != INFINO_OK)
        return INFINO_ERR_INVALID;
    q = mem_alloc(4ull * r->L.dim);
    if (q == NULL)
        return err_nomem();
    ivf_prepare(q, query, r->L.dim, r->L.metric);
    cluster_keys(out, r, q);
    mem_free(q);
    return INFINO_OK;
}

/* Rows that pass both filters (allow-set members beyond n_rows aside). */
static uint64_t count_passing(const struct ivf_reader *r,
                              const roaring_bitmap_t *allow,
                              const roaring_bitmap_t *deleted)
{
    uint64_t n = r->L.n_rows, pass, gone = 0;

    if (allow) {
        pass = roaring_bitmap_range_cardinality(allow, 0, n);
        if (deleted) {
            /* only members below n_rows count on either side */
            roaring_bitmap_t *both = roaring_bitmap_and(allow, deleted);
            if (both == NULL)
                return pass; /* an overestimate only costs probes */
            gone = roaring_bitmap_range_cardinality(both, 0, n);
            roaring_bitmap_free(both);
        }
    } else {
        pass = n;
        if (deleted)
            gone = roaring_bitmap_range_cardinality(deleted, 0, n);
    }
    return gone < pass ? pass - gone : 0;
}

/* Exact search over the allow-set: no probing at all. Rows are scored
 * cluster by cluster (the payload's per-cluster query setup costs as much
 * as a few rows), in payload order. */
static infino_status search_exact(struct ctx *x,
                                  const struct ivf_search_opts *o,
                                  uint64_t n_pass)
{
    roaring_uint32_iterator_t *it = roaring_create_iterator(x->allow);
    struct cand *rows = NULL;
    size_t n = 0;
    infino_status st = INFINO_OK;

    if (it == NULL)
        return err_nomem();
    rows = mem_alloc((size_t)(n_pass ? n_pass : 1) * sizeof *rows);
    if (rows == NULL) {
        roaring_free_uint32_iterator(it);
        return err_nomem();
    }
    for (; it->has_value && n < n_pass;
         roaring_advance_uint32_iterator(it)) {
        uint32_t id = it->current_value;
        float d;
        if (id >= x->r->L.n_rows)
            break;
        if (x->deleted && roaring_bitmap_contains(x->deleted, id))
            continue;
        if (o && o->fetch) { /* raw vectors: in row order */
            st = row_dist(&d, x, id, o);
            if (st != INFINO_OK)
                break;
            heap_push(&x->heap, id, d, 0, 0); /* final: no refine */
            continue;
        }
        rows[n].id = id;
        st = locate_pos(x, id, &rows[n].c, &rows[n].in);
        if (st != INFINO_OK)
            break;
        n++;
    }
    roaring_free_uint32_iterator(it);
    if (st == INFINO_OK && n > 0)
        qsort(rows, n, sizeof *rows, cmp_where);
    for (size_t i = 0; i < n && st == INFINO_OK; i++) {
        const uint8_t *block, *batch;
        size_t nb;
        uint32_t slot;
        st = batch_of(x, rows[i].id, rows[i].c, rows[i].in, &block, &batch,
                      &nb, &slot);
        if (st != INFINO_OK)
            break;
        if (rows[i].c != x->setup_c)
            payload_setup(x, block, rows[i].c);
        heap_push(&x->heap, rows[i].id, refined_dist(x, batch, nb, slot), 0,
                  0);
    }
    mem_free(rows);
    return st;
}

/* ivf_search with a prepared query (the checks on the query are done). */
static infino_status search_q(struct ivf_hit *out, size_t *n_out,
                              struct ivf_reader *r, struct ivf_query *pq,
                              size_t k, const struct ivf_search_opts *opts)
{
    const struct ivf_layout *L = &r->L;
    struct ctx x;
    struct keyed *order = NULL;
    float *keys = NULL;
    uint64_t n_pass, nprobe, mult = 1, want;
    infino_status st;

    *n_out = 0;
    CHECK(ctx_init(&x, r, pq, k, opts));
    n_pass = count_passing(r, x.allow, x.deleted);
    if (x.heap.cap == 0 || n_pass == 0)
        goto done;
    nprobe = opts && opts->nprobe ? opts->nprobe : IVF_DEFAULT_NPROBE;
    if (n_pass < L->n_rows) /* selective filter: probe more (upstream rule) */
        mult = (L->n_rows + n_pass - 1) / n_pass;
    if (mult > MAX_FILTER_MULT)
        mult = MAX_FILTER_MULT;
    nprobe *= mult;
    if (nprobe > L->n_clusters)
        nprobe = L->n_clusters;
    /* a small allow-set costs less to score exactly than the rows the
     * probes would scan (an exact row costs EXACT_ROW_COST scanned ones) */
    if (x.allow &&
        n_pass * EXACT_ROW_COST <= nprobe * L->n_rows / L->n_clusters) {
        x.heap.cap = x.k; /* distances are final: no pool */
        CHECK(search_exact(&x, opts, n_pass));
        goto done;
    }
    order = mem_alloc((size_t)L->n_clusters * sizeof *order);
    keys = mem_alloc((size_t)L->n_clusters * sizeof *keys);
    if (order == NULL || keys == NULL) {
        st = err_nomem();
        goto fail;
    }
    /* the nprobe nearest clusters in order (a partial selection: a full
     * sort of thousands of keys costs more than a probe) */
    nearest_clusters(order, keys, &x, (uint32_t)nprobe);
    want = x.k < n_pass ? x.k : n_pass;
    for (uint32_t i = 0; i < nprobe; i++)
        CHECK(probe(&x, order[i].c));
    /* then more, nearest first, until k rows were found (filters) */
    if (x.heap.n < want && nprobe < L->n_clusters) {
        uint8_t *seen = mem_calloc(L->n_clusters, 1);
        if (seen == NULL) {
            st = err_nomem();
            goto fail;
        }
        for (uint32_t i = 0; i < nprobe; i++)
            seen[order[i].c] = 1;
        cluster_keys(keys, r, x.q);
        for (uint32_t c = 0; c < L->n_clusters; c++) {
            order[c].key = keys[c];
            order[c].c = c;
        }
        qsort(order, L->n_clusters, sizeof *order, cmp_keyed);
        st = INFINO_OK;
        for (uint32_t i = 0; i < L->n_clusters && x.heap.n < want &&
                             st == INFINO_OK; i++)
            if (!seen[order[i].c])
                st = probe(&x, order[i].c);
        mem_free(seen);
        if (st != INFINO_OK)
            goto fail;
    }
done:
    CHECK(refine(&x));
    if (opts && opts->fetch)
        CHECK(rescore(&x, opts));
    finish_hits(out, n_out, &x);
    mem_free(order);
    mem_free(keys);
    return INFINO_OK;
fail:
    mem_free(order);
    mem_free(keys);
    return err_context(st, "vector search");
}

infino_status ivf_search(struct ivf_hit *out, size_t *n_out,
                         struct ivf_reader *r, const float *query,
                         size_t query_dim, size_t k,
                         const struct ivf_search_opts *opts)
{
    struct ivf_query *pq = NULL;
    infino_status st;

    *n_out = 0;
    if (check_query(r, query, query_dim) != INFINO_OK)
        return err_context(INFINO_ERR_INVALID, "vector search");
    CHECK(ivf_query_new(&pq, query, query_dim));
    st = search_q(out, n_out, r, pq, k, opts);
fail:
    ivf_query_free(pq);
    return st;
}

infino_status ivf_query_search(struct ivf_hit *out, size_t *n_out,
                               struct ivf_reader *r, struct ivf_query *q,
                               size_t k, const struct ivf_search_opts *opts)
{
    return search_q(out, n_out, r, q, k, opts);
}

infino_status ivf_query_search_clusters(struct ivf_hit *out, size_t *n_out,
                                        struct ivf_reader *r,
                                        struct ivf_query *pq, size_t k,
                                        const uint32_t *clusters,
                                        size_t n_clusters,
                                        const struct ivf_search_opts *opts)
{
    struct ctx x;
    size_t n_seen = (size_t)r->L.n_clusters + 1;
    infino_status st;

    *n_out = 0;
    for (size_t i = 0; i < n_clusters; i++)
        if (clusters[i] >= r->L.n_clusters)
            return err_set(INFINO_ERR_INVALID,
                           "vector search: cluster %u out of range (%u)",
                           clusters[i], r->L.n_clusters);
    CHECK(ctx_init(&x, r, pq, k, opts));
    if (n_clusters > 1 && pq->seen_cap < n_seen) {
        uint8_t *p = mem_realloc(pq->seen, n_seen);
        if (p == NULL) {
            st = err_nomem();
            goto fail;
        }
        memset(p, 0, n_seen);
        pq->seen = p;
        pq->seen_cap = n_seen;
    }
    for (size_t i = 0; i < n_clusters && x.heap.cap > 0; i++) {
        if (n_clusters > 1) {
            if (pq->seen[clusters[i]])
                continue;
            pq->seen[clusters[i]] = 1;
        }
        st = probe(&x, clusters[i]);
        if (st != INFINO_OK)
            break;
    }
    if (n_clusters > 1) /* leave the marks clear for the next search */
        for (size_t i = 0; i < n_clusters; i++)
            pq->seen[clusters[i]] = 0;
    if (st != INFINO_OK)
        goto fail;
    CHECK(refine(&x));
    if (opts && opts->fetch)
        CHECK(rescore(&x, opts));
    finish_hits(out, n_out, &x);
    return INFINO_OK;
fail:
    return err_context(st, "vector search");
}

infino_status ivf_search_clusters(struct ivf_hit *out, size_t *n_out,
                                  struct ivf_reader *r, const float *query,
                                  size_t query_dim, size_t k,
                                  const uint32_t *clusters,
                                  size_t n_clusters,
                                  const struct ivf_search_opts *opts)
{
    struct ivf_query *pq = NULL;
    infino_status st;

    *n_out = 0;
    for (size_t i = 0; i < n_clusters; i++)
        if (clusters[i] >= r->L.n_clusters)
            return err_set(INFINO_ERR_INVALID,
                           "vector search: cluster %u out of range (%u)",
                           clusters[i], r->L.n_clusters);
    if (check_query(r, query, query_dim) != INFINO_OK)
        return err_context(INFINO_ERR_INVALID, "vector search");
    CHECK(ivf_query_new(&pq, query, query_dim));
    st = ivf_query_search_clusters(out, n_out, r, pq, k, clusters, n_clusters,
                                   opts);
fail:
    ivf_query_free(pq);
    return st;
}

infino_status ivf_query_cluster_keys(float *out, struct ivf_reader *r,
                                     struct ivf_query *pq,
                                     const uint32_t *clusters, size_t n)
{
    const struct vk_ops *ops = vk_get();
    uint32_t dim = r->L.dim;

    for (size_t i = 0; i < n; i++)
        if (clusters[i] >= r->L.n_clusters)
            return err_set(INFINO_ERR_INVALID,
                           "vector search: cluster %u out of range (%u)",
                           clusters[i], r->L.n_clusters);
    if (pq->dim != dim)
        return err_set(INFINO_ERR_INVALID,
                       "vector search: query has dimension %u, the index %u",
                       pq->dim, dim);
    query_metric(pq, r);
    if (r->L.metric == IVF_METRIC_NEGDOT) {
        ops->dot(out, pq->q, r->centroids, 4ull * dim, clusters, n, dim);
        for (size_t i = 0; i < n; i++)
            out[i] = -out[i];
        return INFINO_OK;
    }
    ops->l2sq(out, pq->q, r->centroids, 4ull * dim, clusters, n, dim);
    if (r->L.metric == IVF_METRIC_COSINE)
        for (size_t i = 0; i < n; i++)
            out[i] = 0.5f * out[i];
    return INFINO_OK;
}

infino_status ivf_query_cluster_keys_approx(float *out, struct ivf_reader *r,
                                            struct ivf_query *pq)
{
    uint32_t k = r->L.n_clusters, dim = r->L.dim;
    float base, step;

    if (pq->dim != dim)
        return err_set(INFINO_ERR_INVALID,
                       "vector search: query has dimension %u, the index %u",
                       pq->dim, dim);
    query_metric(pq, r);
    if (k == 0)
        return INFINO_OK;
    if (pq->dots_cap < k) {
        int32_t *p = mem_realloc(pq->dots, 4ull * k);
        if (p == NULL)
            return err_nomem();
        pq->dots = p;
        pq->dots_cap = k;
    }
    /* <q, c> ~ <q, lo + scale * code> = lo * sum(q) + scale * <q, code> */
    vk_get()->u8i8_dot(pq->dots, pq->q8, r->rk, dim, NULL, k, dim);
    base = r->rk_lo * pq->q_sum;
    step = r->rk_scale * pq->q_step;
    if (r->L.metric == IVF_METRIC_NEGDOT) {
        for (uint32_t c = 0; c < k; c++)
            out[c] = -(base + step * (float)pq->dots[c]);
        return INFINO_OK;
    }
    for (uint32_t c = 0; c < k; c++) {
        float qc = base + step * (float)pq->dots[c];
        float key = pq->q_nn + r->cnorm[c] - 2.0f * qc;
        out[c] = r->L.metric == IVF_METRIC_COSINE ? 0.5f * key : key;
    }
    return INFINO_OK;
}

infino_status ivf_distances(float *out, struct ivf_reader *r,
                            const float *query, size_t query_dim,
                            const uint32_t *ids, size_t n)
{
    struct ivf_query *pq = NULL;
    struct ctx x;
    infino_status st;

    for (size_t i = 0; i < n; i++)
        if (ids[i] >= r->L.n_rows)
            return err_set(INFINO_ERR_INVALID,
                           "vector index: row %u out of range (%u rows)",
                           ids[i], r->L.n_rows);
    if (check_query(r, query, query_dim) != INFINO_OK)
        return err_context(INFINO_ERR_INVALID, "vector distances");
    CHECK(ivf_query_new(&pq, query, query_dim));
    CHECK(ctx_init(&x, r, pq, 0, NULL));
    for (size_t i = 0; i < n; i++)
        CHECK(row_dist(&out[i], &x, ids[i], NULL));
    ivf_query_free(pq);
    return INFINO_OK;
fail:
    ivf_query_free(pq);
    return err_context(st, "vector distances");
}
