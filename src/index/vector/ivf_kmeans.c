/*
 * ivf_kmeans.c - k-means for the IVF centroids: k-means++ seeding on a
 * subsample, then bounded Lloyd iterations on the training sample.
 * Deterministic: the seed drives every random choice and all sums run in
 * a fixed order (row order, double accumulators).
 */
#include "ivf_int.h"

#include "util/alloc.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/tpool.h"
#include "vec_kernels.h"

#include <math.h>
#include <string.h>

#define KMEANS_TAG 0x4b4d45414e535f31ull /* "KMEANS_1" */
/* k-means++ runs on at most this many points per centroid (plus a
 * constant): D^2 sampling is sequential in k, so it must stay small. */
#define SEED_PER_CENTROID 8u
#define SEED_EXTRA 256u

uint32_t ivf_assign_prefix(uint32_t dim)
{
    uint32_t p = (dim / 6) & ~15u;
    if (dim < 96)
        return 0;
    return p < 32 ? 32 : p;
}

size_t ivf_assign_scratch(uint32_t k, uint32_t dim)
{
    size_t p = ivf_assign_prefix(dim);
    return (size_t)IVF_ASSIGN_BLOCK * k + (size_t)k * (p + 1) +
           (size_t)IVF_ASSIGN_BLOCK * (p + 1) + 1;
}

/* Exhaustive: every centroid's distance through the tiled kernel. */
static void assign_all_pairs(uint32_t *assign, const float *x, size_t nb,
                             const float *centroids, const float *cnorm,
                             uint32_t k, uint32_t dim, float *scratch)
{
    vk_get()->dot_mxn(scratch, x, nb, centroids, k, dim);
    for (size_t i = 0; i < nb; i++) {
        const float *d = scratch + i * k;
        /* ||x - c||^2 = ||x||^2 + (||c||^2 - 2 <x, c>): rank by the
         * bracket, two roundings, no fused op */
        float best = INFINITY;
        uint32_t arg = 0;
        for (uint32_t j = 0; j < k; j++) {
            float twice = 2.0f * d[j];
            float v = cnorm[j] - twice;
            if (v < best) {
                best = v;
                arg = j;
            }
        }
        assign[i] = arg;
    }
}

#define CAND_CHUNK 256

/* Pruned: the squared distance over the first p dimensions is a lower
 * bound of the full one, so only centroids whose prefix bound beats the
 * best full distance found so far get a full distance. */
static void assign_pruned(uint32_t *assign, const float *x, size_t nb,
                          const float *centroids, const float *cnorm,
                          uint32_t k, uint32_t dim, uint32_t p,
                          float *scratch)
{
    const struct vk_ops *ops = vk_get();
    float *dots = scratch, *cp = dots + (size_t)IVF_ASSIGN_BLOCK * k;
    float *cnp = cp + (size_t)k * p, *xp = cnp + k;
    float *xnp = xp + (size_t)IVF_ASSIGN_BLOCK * p;
    uint32_t cand[CAND_CHUNK];
    float cd[CAND_CHUNK];

    for (uint32_t j = 0; j < k; j++) {
        memcpy(cp + (size_t)j * p, centroids + (size_t)j * dim, 4ull * p);
        ops->dot(&cnp[j], cp + (size_t)j * p,
                 (const uint8_t *)(cp + (size_t)j * p), 0, NULL, 1, p);
    }
    for (size_t i = 0; i < nb; i++) {
        memcpy(xp + i * p, x + i * dim, 4ull * p);
        ops->dot(&xnp[i], xp + i * p, (const uint8_t *)(xp + i * p), 0, NULL,
                 1, p);
    }
    ops->dot_mxn(dots, xp, nb, cp, k, p);
    for (size_t i = 0; i < nb; i++) {
        const float *row = x + i * dim, *d = dots + i * k;
        float xn, best, lb0 = INFINITY;
        uint32_t arg = 0, j0 = 0, n_cand = 0;

        /* the centroid with the smallest bound is the likely winner */
        for (uint32_t j = 0; j < k; j++) {
            float twice = 2.0f * d[j], lb = (xnp[i] + cnp[j]) - twice;
            if (lb < lb0) {
                lb0 = lb;
                j0 = j;
            }
        }
        ops->dot(&xn, row, (const uint8_t *)row, 0, NULL, 1, dim);
        ops->dot(cd, row, (const uint8_t *)centroids, 4ull * dim, &j0, 1,
                 dim);
        {
            float twice = 2.0f * cd[0];
            best = xn + (cnorm[j0] - twice);
            arg = j0;
        }
        for (uint32_t j = 0; j <= k; j++) {
            if (j < k && j != j0) {
                float twice = 2.0f * d[j], lb = (xnp[i] + cnp[j]) - twice;
                if (lb <= best)
                    cand[n_cand++] = j;
            }
            if (n_cand == CAND_CHUNK || (j == k && n_cand > 0)) {
                ops->dot(cd, row, (const uint8_t *)centroids, 4ull * dim,
                         cand, n_cand, dim);
                for (uint32_t t = 0; t < n_cand; t++) {
                    float twice = 2.0f * cd[t];
                    float v = xn + (cnorm[cand[t]] - twice);
                    if (v < best || (v == best && cand[t] < arg)) {
                        best = v;
                        arg = cand[t];
                    }
                }
                n_cand = 0;
            }
        }
        assign[i] = arg;
    }
}

static void assign_blocks(uint32_t *assign, const float *x, size_t n,
                          const float *centroids, const float *cnorm,
                          uint32_t k, uint32_t dim, float *scratch)
{
    uint32_t p = ivf_assign_prefix(dim);

    for (size_t i0 = 0; i0 < n; i0 += IVF_ASSIGN_BLOCK) {
        size_t nb = n - i0 < IVF_ASSIGN_BLOCK ? n - i0 : IVF_ASSIGN_BLOCK;
        if (p > 0 && k > 16)
            assign_pruned(assign + i0, x + i0 * dim, nb, centroids, cnorm, k,
                          dim, p, scratch);
        else
            assign_all_pairs(assign + i0, x + i0 * dim, nb, centroids, cnorm,
                             k, dim, scratch);
    }
}

/* Rows per piece below which splitting an assignment across the worker
 * pool is not worth a wake-up (a 64-row block against 1,024 centroids of
 * 384 dimensions is ~0.1 ms). */
#define ASSIGN_PIECE_MIN (8 * IVF_ASSIGN_BLOCK)

struct assign_job {
    uint32_t *assign;
    const float *x, *centroids, *cnorm;
    size_t n, n_pieces, scratch_len;
    uint32_t k, dim;
    float *scratch0, *scratch; /* piece 0: the caller's; i > 0: i - 1 */
};

/* Piece i of a split assignment: a contiguous range of whole blocks. */
static void assign_piece(void *arg, size_t i)
{
    const struct assign_job *j = arg;
    size_t blocks = (j->n + IVF_ASSIGN_BLOCK - 1) / IVF_ASSIGN_BLOCK;
    size_t b0 = blocks * i / j->n_pieces, b1 = blocks * (i + 1) / j->n_pieces;
    size_t r0 = b0 * IVF_ASSIGN_BLOCK, r1 = b1 * IVF_ASSIGN_BLOCK;
    float *scratch = i == 0 ? j->scratch0
                            : j->scratch + (i - 1) * j->scratch_len;

    if (r1 > j->n)
        r1 = j->n;
    if (r0 < r1)
        assign_blocks(j->assign + r0, j->x + r0 * j->dim, r1 - r0,
                      j->centroids, j->cnorm, j->k, j->dim, scratch);
}

void ivf_assign(uint32_t *assign, const float *x, size_t n,
                const float *centroids, const float *cnorm, uint32_t k,
                uint32_t dim, float *scratch)
{
    struct assign_job j = {assign, x, centroids, cnorm, n, tpool_threads(),
                           ivf_assign_scratch(k, dim), k, dim, scratch, NULL};

    /* Rows are assigned independently, so a split gives the same answer
     * as one pass; each extra piece needs its own scratch, and without
     * it the caller does the whole pass. */
    if (j.n_pieces > n / ASSIGN_PIECE_MIN)
        j.n_pieces = n / ASSIGN_PIECE_MIN;
    if (j.n_pieces > 1 &&
        (j.scratch = mem_alloc((j.n_pieces - 1) * j.scratch_len *
                               sizeof *j.scratch)) != NULL) {
        tpool_run(j.n_pieces, assign_piece, &j);
        mem_free(j.scratch);
        return;
    }
    assign_blocks(assign, x, n, centroids, cnorm, k, dim, scratch);
}

static void centroid_norms(float *cnorm, const float *c, uint32_t k,
                           uint32_t dim)
{
    const struct vk_ops *ops = vk_get();
    for (uint32_t j = 0; j < k; j++) {
        const float *cj = c + (size_t)j * dim;
        ops->dot(&cnorm[j], cj, (const uint8_t *)cj, 0, NULL, 1, dim);
    }
}

/* k-means++ (Arthur & Vassilvitskii 2007) over rows sel[0..ns) of x. */
static infino_status seed_plus_plus(float *centroids, const float *x,
                                    const uint32_t *sel, size_t ns,
                                    uint32_t dim, uint32_t k, uint64_t *rng)
{
    const struct vk_ops *ops = vk_get();
    float *sub = NULL, *mind = NULL, *tmp = NULL;
    size_t row_len = (size_t)dim * 4;

    sub = mem_alloc(ns * row_len);
    mind = mem_alloc(ns * sizeof *mind);
    tmp = mem_alloc(ns * sizeof *tmp);
    if (sub == NULL || mind == NULL || tmp == NULL) {
        mem_free(sub);
        mem_free(mind);
        mem_free(tmp);
        return err_nomem();
    }
    for (size_t i = 0; i < ns; i++)
        memcpy(sub + i * dim, x + (size_t)sel[i] * dim, row_len);

    size_t pick = (size_t)ivf_rand_below(rng, ns);
    memcpy(centroids, sub + pick * dim, row_len);
    ops->l2sq(mind, centroids, (const uint8_t *)sub, row_len, NULL, ns, dim);
    for (uint32_t t = 1; t < k; t++) {
        double total = 0, r, acc = 0;
        for (size_t i = 0; i < ns; i++)
            total += mind[i];
        /* 53 random bits scaled into [0, total) */
        r = (double)(ivf_splitmix64(rng) >> 11) * (1.0 / 9007199254740992.0) *
            total;
        pick = ns - 1;
        if (total > 0) {
            for (size_t i = 0; i < ns; i++) {
                acc += mind[i];
                if (acc > r && mind[i] > 0) {
                    pick = i;
                    break;
                }
            }
        } else {
            pick = (size_t)ivf_rand_below(rng, ns); /* all points covered */
        }
        float *c = centroids + (size_t)t * dim;
        memcpy(c, sub + pick * dim, row_len);
        ops->l2sq(tmp, c, (const uint8_t *)sub, row_len, NULL, ns, dim);
        for (size_t i = 0; i < ns; i++)
            if (tmp[i] < mind[i])
                mind[i] = tmp[i];
    }
    mem_free(sub);
    mem_free(mind);
    mem_free(tmp);
    return INFINO_OK;
}

/* Moves centroid `e` (empty) next to the most populated centroid and
 * splits that one in two by a small symmetric offset. */
static void split_largest(float *centroids, uint32_t *counts, uint32_t k,
                          uint32_t dim, uint32_t e, uint64_t *rng)
{
    uint32_t big = 0;
    for (uint32_t j = 1; j < k; j++)
        if (counts[j] > counts[big])
            big = j;
    float *cb = centroids + (size_t)big * dim;
    float *ce = centroids + (size_t)e * dim;
    for (uint32_t d = 0; d < dim; d++) {
        float delta = 1e-4f * (fabsf(cb[d]) + 1e-6f);
        if (ivf_splitmix64(rng) & 1)
            delta = -delta;
        ce[d] = cb[d] + delta;
        cb[d] = cb[d] - delta;
    }
    counts[e] = counts[big] / 2;
    counts[big] -= counts[e];
}

infino_status ivf_kmeans(float *centroids, struct ivf_kmeans_result *res,
                         const float *x, size_t n, uint32_t dim, uint32_t k,
                         uint32_t max_iters, uint64_t seed)
{
    infino_status st = INFINO_OK;
    uint64_t rng = seed ^ KMEANS_TAG;
    uint32_t *sel = NULL, *assign = NULL, *counts = NULL;
    float *cnorm = NULL, *scratch = NULL;
    double *sums = NULL;
    size_t ns;

    res->n_iters = 0;
    if (k == n) { /* every row is its own centroid */
        memcpy(centroids, x, n * dim * 4);
        return INFINO_OK;
    }
    ns = (size_t)k * SEED_PER_CENTROID + SEED_EXTRA;
    if (ns > n)
        ns = n;
    sel = mem_alloc(n * sizeof *sel);
    assign = mem_alloc(n * sizeof *assign);
    counts = mem_alloc((size_t)k * sizeof *counts);
    cnorm = mem_alloc((size_t)k * sizeof *cnorm);
    scratch = mem_alloc(ivf_assign_scratch(k, dim) * sizeof *scratch);
    sums = mem_alloc((size_t)k * dim * sizeof *sums);
    if (!sel || !assign || !counts || !cnorm || !scratch || !sums) {
        st = err_nomem();
        goto fail;
    }
    /* a uniform subsample without repetition: partial Fisher-Yates */
    for (size_t i = 0; i < n; i++)
        sel[i] = (uint32_t)i;
    for (size_t i = 0; i < ns; i++) {
        size_t j = i + (size_t)ivf_rand_below(&rng, n - i);
        uint32_t t = sel[i];
        sel[i] = sel[j];
        sel[j] = t;
    }
    CHECK(seed_plus_plus(centroids, x, sel, ns, dim, k, &rng));

    for (uint32_t it = 0; it < max_iters; it++) {
        size_t changed = 0;
        /* an iteration is one pass over the sample: poll between them */
        CHECK(cancel_check("training the vector index"));
        centroid_norms(cnorm, centroids, k, dim);
        /* sel is reused as the previous assignment */
        ivf_assign(assign, x, n, centroids, cnorm, k, dim, scratch);
        for (size_t i = 0; i < n; i++) {
            if (it == 0 || assign[i] != sel[i])
                changed++;
            sel[i] = assign[i];
        }
        res->n_iters = it + 1;
        memset(sums, 0, (size_t)k * dim * sizeof *sums);
        memset(counts, 0, (size_t)k * sizeof *counts);
        for (size_t i = 0; i < n; i++) {
            double *s = sums + (size_t)assign[i] * dim;
            const float *row = x + i * dim;
            counts[assign[i]]++;
            for (uint32_t d = 0; d < dim; d++)
                s[d] += row[d];
        }
        for (uint32_t j = 0; j < k; j++) {
            if (counts[j] == 0)
                continue;
            float *c = centroids + (size_t)j * dim;
            const double *s = sums + (size_t)j * dim;
            for (uint32_t d = 0; d < dim; d++)
                c[d] = (float)(s[d] / counts[j]);
        }
        for (uint32_t j = 0; j < k; j++)
            if (counts[j] == 0) {
                split_largest(centroids, counts, k, dim, j, &rng);
                changed++;
            }
        /* converged: (almost) nothing moved */
        if (it > 0 && changed * 1000 <= n)
            break;
    }
fail:
    mem_free(sel);
    mem_free(assign);
    mem_free(counts);
    mem_free(cnorm);
    mem_free(scratch);
    mem_free(sums);
    return st;
}
