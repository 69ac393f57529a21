/*
 * ivf_common.c - pieces shared by the writer and the reader of the
 * vector index: metric names, cluster-count policy, layout arithmetic,
 * the seeded rotation signs and RaBitQ encoding of one row.
 */
#include "ivf_int.h"

#include "util/err.h"
#include "vec_kernels.h"

#include <math.h>
#include <string.h>

static int ascii_ieq(const char *a, const char *b)
{
    for (; *a && *b; a++, b++) {
        char x = *a, y = *b;
        if (x >= 'A' && x <= 'Z')
            x = (char)(x - 'A' + 'a');
        if (x != y)
            return 0;
    }
    return *a == *b;
}

infino_status ivf_metric_parse(enum ivf_metric *out, const char *name)
{
    static const struct {
        const char *name;
        enum ivf_metric metric;
    } names[] = {
        {"l2sq", IVF_METRIC_L2SQ},     {"l2", IVF_METRIC_L2SQ},
        {"cosine", IVF_METRIC_COSINE}, {"negdot", IVF_METRIC_NEGDOT},
        {"dot", IVF_METRIC_NEGDOT},
    };
    for (size_t i = 0; name && i < sizeof names / sizeof names[0]; i++)
        if (ascii_ieq(name, names[i].name)) {
            *out = names[i].metric;
            return INFINO_OK;
        }
    return err_set(INFINO_ERR_INVALID,
                   "unknown metric '%s'; use 'cosine', 'l2sq', or 'negdot'",
                   name ? name : "(null)");
}

const char *ivf_metric_name(enum ivf_metric metric)
{
    switch (metric) {
    case IVF_METRIC_L2SQ:
        return "l2sq";
    case IVF_METRIC_COSINE:
        return "cosine";
    case IVF_METRIC_NEGDOT:
        return "negdot";
    }
    return "unknown";
}

uint32_t ivf_clamp_clusters(uint32_t requested, uint64_t n_rows)
{
    double root;
    uint64_t cap, k;

    if (n_rows == 0)
        return 0;
    root = sqrt((double)n_rows);
    cap = (uint64_t)(4.0 * root);
    if (cap > n_rows)
        cap = n_rows;
    if (cap > IVF_MAX_CLUSTERS)
        cap = IVF_MAX_CLUSTERS;
    if (cap < 1)
        cap = 1;
    k = requested ? requested : (uint64_t)(root + 0.5);
    if (k > cap)
        k = cap;
    return k < 1 ? 1 : (uint32_t)k;
}

uint32_t ivf_code_dim(uint32_t dim)
{
    uint32_t m = IVF_MIN_CODE_DIM;
    while (m < dim)
        m *= 2;
    return m;
}

void ivf_layout_init(struct ivf_layout *L, uint32_t dim,
                     enum ivf_metric metric, enum ivf_rerank rerank,
                     uint32_t n_clusters, uint32_t n_rows)
{
    memset(L, 0, sizeof *L);
    L->dim = dim;
    L->code_dim = ivf_code_dim(dim);
    L->code_len = L->code_dim / 8;
    L->n_clusters = n_clusters;
    L->n_rows = n_rows;
    L->metric = metric;
    L->rerank = rerank;
    L->payload_len = rerank == IVF_RERANK_F32 ? 4 * dim : 2 * dim;
    L->head_len = (uint32_t)ivf_align(
        4ull * L->code_dim + (rerank == IVF_RERANK_SQ8 ? 8ull * dim : 0));
    L->centroids_off = IVF_HEADER_LEN;
    L->dir_off = ivf_align(L->centroids_off + 4ull * dim * n_clusters);
    L->meta_len = L->dir_off + (uint64_t)IVF_DIR_ENTRY_LEN * n_clusters + 4;
    L->positions_off = ivf_align(L->meta_len);
    L->clusters_off = ivf_align(L->positions_off + 4ull * n_rows + 4);
}

uint64_t ivf_block_len(const struct ivf_layout *L, uint64_t count)
{
    uint64_t full = count / IVF_BATCH, rest = count % IVF_BATCH;
    return L->head_len + full * ivf_batch_len(L, IVF_BATCH) +
           ivf_batch_len(L, (size_t)rest) + 4;
}

void ivf_prepare(float *out, const float *x, uint32_t dim,
                 enum ivf_metric metric)
{
    double s = 0;
    float inv;

    if (metric != IVF_METRIC_COSINE) {
        if (out != x)
            memcpy(out, x, 4ull * dim);
        return;
    }
    for (uint32_t i = 0; i < dim; i++)
        s += (double)x[i] * x[i];
    inv = s > 0 ? (float)(1.0 / sqrt(s)) : 0.0f;
    for (uint32_t i = 0; i < dim; i++)
        out[i] = x[i] * inv;
}

void ivf_rotation_init(float *signs, float *scale_out, uint32_t m,
                       uint64_t seed)
{
    /* FORMAT.md "Rotation": splitmix64 seeded with the region's seed
     * xor a fixed tag; sign i (0 <= i < 3m) is bit (i % 64) of output
     * i / 64, 1 = negative. */
    uint64_t state = seed ^ 0x524f544154494f4eull; /* "ROTATION" */
    uint64_t word = 0;

    for (uint32_t i = 0; i < 3 * m; i++) {
        if (i % 64 == 0)
            word = ivf_splitmix64(&state);
        signs[i] = (word >> (i % 64)) & 1 ? -1.0f : 1.0f;
    }
    *scale_out = (float)(1.0 / ((double)m * sqrt((double)m)));
}

void ivf_rabitq_encode(uint8_t *code, float factors_out[3], const float *r,
                       const float *rc, uint32_t m, enum ivf_metric metric)
{
    const struct vk_ops *ops = vk_get();
    float lanes[16] = {0}, n2f, crdf;
    double n2, l1, crd;
    double s = ivf_metric_is_l2(metric) ? -2.0 : -1.0;

    /* |r|^2 and <rc, r> in the kernels' canonical order; |r|_1 in the
     * same 16-lane pattern (m is a multiple of 64) */
    ops->dot(&n2f, r, (const uint8_t *)r, 0, NULL, 1, m);
    ops->dot(&crdf, rc, (const uint8_t *)r, 0, NULL, 1, m);
    for (uint32_t i0 = 0; i0 < m; i0 += 16)
        for (uint32_t l = 0; l < 16; l++)
            lanes[l] = lanes[l] + fabsf(r[i0 + l]);
    l1 = vk_reduce16(lanes);
    n2 = n2f;
    crd = crdf;
    for (uint32_t b = 0; b < m / 8; b++) {
        unsigned byte = 0;
        for (unsigned t = 0; t < 8; t++)
            byte |= (unsigned)(r[8 * b + t] > 0) << t;
        code[b] = (uint8_t)byte;
    }
    /* dist = add + B(q) + rescale * sum_i (2 b_i - 1) rq_i; see FORMAT.md
     * "Estimator" (RaBitQ, Gao & Long 2024, Sec. 3.2 and Thm 3.2). */
    factors_out[0] = ivf_metric_is_l2(metric) ? (float)n2 : (float)-crd;
    if (n2 > 0 && l1 > 0) {
        double norm = sqrt(n2);
        double ob = l1 / (sqrt((double)m) * norm); /* <o_bar, o> */
        double sin2 = 1.0 - ob * ob;
        factors_out[1] = (float)(s * n2 / l1);
        factors_out[2] = (float)(-s * norm * sqrt(sin2 > 0 ? sin2 : 0) / ob /
                                 sqrt((double)m - 1));
    } else {
        factors_out[1] = 0.0f;
        factors_out[2] = 0.0f;
    }
}
