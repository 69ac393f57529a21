/*
 * sf_index.c - lazily opened index readers of a superfile (sf_index.h).
 */
#include "sf_index.h"

#include "util/alloc.h"
#include "util/endian.h"
#include "util/err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

enum ivf_metric sf_metric_to_ivf(enum sf_metric m)
{
    switch (m) {
    case SF_METRIC_COSINE:
        return IVF_METRIC_COSINE;
    case SF_METRIC_NEGDOT:
        return IVF_METRIC_NEGDOT;
    case SF_METRIC_L2SQ:
    default:
        return IVF_METRIC_L2SQ;
    }
}

struct ids_region {
    const uint8_t *runs; /* borrowed from the mapping */
    uint64_t n_runs;
    uint64_t n_rows;
};

struct sf_indexes {
    pthread_mutex_t mu;
    struct sf_reader *r;     /* borrowed */
    struct store_blob *blob; /* borrowed */
    size_t n_fts, n_vec;
    struct fts_reader **fts;
    struct ivf_reader **ivf;
    roaring_bitmap_t **nulls;
    bool *nulls_loaded;
    bool mu_ready;
    atomic_bool ids_loaded; /* set last, after ids_present and ids */
    bool ids_present;
    struct ids_region ids;
};

infino_status sf_indexes_new(struct sf_indexes **out, struct sf_reader *r,
                             struct store_blob *blob, size_t n_fts,
                             size_t n_vec)
{
    struct sf_indexes *x = mem_calloc(1, sizeof *x);

    *out = NULL;
    if (x == NULL)
        return err_nomem();
    x->r = r;
    x->blob = blob;
    x->n_fts = n_fts;
    x->n_vec = n_vec;
    x->fts = mem_calloc(n_fts + 1, sizeof *x->fts);
    x->ivf = mem_calloc(n_vec + 1, sizeof *x->ivf);
    x->nulls = mem_calloc(n_vec + 1, sizeof *x->nulls);
    x->nulls_loaded = mem_calloc(n_vec + 1, sizeof *x->nulls_loaded);
    if (!x->fts || !x->ivf || !x->nulls || !x->nulls_loaded) {
        sf_indexes_free(x);
        return err_nomem();
    }
    pthread_mutex_init(&x->mu, NULL);
    x->mu_ready = true;
    *out = x;
    return INFINO_OK;
}

void sf_indexes_free(struct sf_indexes *x)
{
    if (x == NULL)
        return;
    for (size_t i = 0; x->fts && i < x->n_fts; i++)
        fts_reader_close(x->fts[i]);
    for (size_t i = 0; x->ivf && i < x->n_vec; i++) {
        ivf_close(x->ivf[i]);
        if (x->nulls && x->nulls[i])
            roaring_bitmap_free(x->nulls[i]);
    }
    mem_free(x->fts);
    mem_free(x->ivf);
    mem_free(x->nulls);
    mem_free(x->nulls_loaded);
    if (x->mu_ready)
        pthread_mutex_destroy(&x->mu);
    mem_free(x);
}

infino_status sf_indexes_fts(const struct fts_reader **out,
                             struct sf_indexes *x, size_t i)
{
    char name[SF_REGION_NAME_MAX + 1];
    const uint8_t *p;
    size_t n;
    infino_status st = INFINO_OK;

    *out = NULL;
    if (i >= x->n_fts)
        return err_set(INFINO_ERR_INVALID, "no FTS column %zu", i);
    pthread_mutex_lock(&x->mu);
    if (x->fts[i] == NULL) {
        snprintf(name, sizeof name, "%s%zu", SF_REGION_FTS_PREFIX, i);
        /* The reader re-checks structure as it decodes. Its bytes are
         * verified by the container (whole, at first use) or, for formats
         * with per-chunk CRCs, by the reader chunk by chunk as it reads
         * them: a cold first query then reads what it needs. */
        uint32_t version = 0;
        st = sf_indexes_region_version(&version, x, name);
        if (st == INFINO_OK && fts_format_checks_chunks(version))
            st = sf_reader_region_unverified(x->r, name, &p, &n);
        else if (st == INFINO_OK || st == INFINO_ERR_CORRUPT) {
            err_clear();
            st = sf_reader_region(x->r, name, &p, &n);
        }
        if (st == INFINO_OK) {
            char label[512];
            snprintf(label, sizeof label, "%s: region %s",
                     sf_reader_name(x->r), name);
            st = fts_reader_open(&x->fts[i], p, n, label, 0);
        }
    }
    *out = x->fts[i];
    pthread_mutex_unlock(&x->mu);
    return st;
}

infino_status sf_indexes_region_version(uint32_t *out, struct sf_indexes *x,
                                        const char *name)
{
    uint64_t off, len;
    uint32_t crc;
    const uint8_t *p;
    infino_status st;

    *out = 0;
    if (!sf_reader_region_locate(x->r, name, &off, &len, &crc))
        return err_set(INFINO_ERR_NOTFOUND, "%s: no region %s",
                       sf_reader_name(x->r), name);
    if (len < 12)
        return err_set(INFINO_ERR_CORRUPT,
                       "%s: region %s: %llu bytes, shorter than its header",
                       sf_reader_name(x->r), name, (unsigned long long)len);
    st = store_blob_read(x->blob, off + 8, 4, &p);
    if (st == INFINO_OK)
        *out = load_u32le(p);
    return st;
}

bool sf_indexes_fts_may_match(struct sf_indexes *x, size_t i,
                              const struct fts_query *q, enum fts_mode mode)
{
    const struct fts_reader *r;
    struct fts_summary sum;
    const uint8_t *p;
    size_t n;

    if (sf_indexes_fts(&r, x, i) != INFINO_OK) {
        err_clear();
        return true; /* the search itself will report the problem */
    }
    p = fts_reader_summary(r, &n);
    if (p == NULL || fts_summary_open(&sum, p, n) != INFINO_OK ||
        fts_reader_verify_summary_for(r, &sum, q) != INFINO_OK) {
        /* a damaged summary prunes nothing (check() reports it) */
        err_clear();
        return true;
    }
    return fts_summary_may_match(&sum, q, mode);
}

static infino_status load_nulls(struct sf_indexes *x, size_t i)
{
    char name[SF_REGION_NAME_MAX + 1];
    const uint8_t *p;
    size_t n;
    infino_status st;

    snprintf(name, sizeof name, "%s%zu", SF_REGION_IVF_NULLS_PREFIX, i);
    st = sf_reader_region(x->r, name, &p, &n);
    if (st == INFINO_ERR_NOTFOUND) {
        err_clear();
        x->nulls_loaded[i] = true;
        return INFINO_OK;
    }
    if (st != INFINO_OK)
        return st;
    if (roaring_bitmap_portable_deserialize_size((const char *)p, n) != n ||
        (x->nulls[i] = roaring_bitmap_portable_deserialize_safe(
             (const char *)p, n)) == NULL)
        return err_set(INFINO_ERR_CORRUPT, "%s: region %s: bad bitmap",
                       sf_reader_name(x->r), name);
    x->nulls_loaded[i] = true;
    return INFINO_OK;
}

infino_status sf_indexes_ivf(struct ivf_reader **out,
                             const roaring_bitmap_t **nulls_out,
                             struct sf_indexes *x, size_t i)
{
    char name[SF_REGION_NAME_MAX + 1];
    uint64_t off, len;
    uint32_t crc;
    infino_status st = INFINO_OK;

    *out = NULL;
    *nulls_out = NULL;
    if (i >= x->n_vec)
        return err_set(INFINO_ERR_INVALID, "no vector column %zu", i);
    pthread_mutex_lock(&x->mu);
    if (x->ivf[i] == NULL) {
        snprintf(name, sizeof name, "%s%zu", SF_REGION_IVF_PREFIX, i);
        if (!sf_reader_region_locate(x->r, name, &off, &len, &crc))
            st = err_set(INFINO_ERR_NOTFOUND, "%s: no region %s",
                         sf_reader_name(x->r), name);
        else /* the IVF region checks its own per-cluster checksums */
            st = ivf_open(&x->ivf[i], x->blob, off, len);
    }
    if (st == INFINO_OK && !x->nulls_loaded[i])
        st = load_nulls(x, i);
    *out = x->ivf[i];
    *nulls_out = x->nulls[i];
    pthread_mutex_unlock(&x->mu);
    return st;
}

static infino_status load_ids(struct sf_indexes *x)
{
    const uint8_t *p;
    size_t n;
    uint64_t rows, runs, prev = 0;
    infino_status st = sf_reader_region(x->r, SF_REGION_IDS, &p, &n);

    if (st == INFINO_ERR_NOTFOUND) {
        err_clear();
        atomic_store(&x->ids_loaded, true);
        return INFINO_OK;
    }
    if (st != INFINO_OK)
        return st;
    if (n < 24 || memcmp(p, SF_IDS_MAGIC, 8) != 0)
        goto corrupt;
    rows = load_u64le(p + 8);
    runs = load_u64le(p + 16);
    if (runs == 0 || runs > (n - 24) / 24 || n != 24 + runs * 24 ||
        rows != (uint64_t)pq_reader_num_rows(sf_reader_parquet(x->r)))
        goto corrupt;
    for (uint64_t i = 0; i < runs; i++) {
        uint64_t first = load_u64le(p + 24 + 24 * i);
        if ((i == 0 && first != 0) || (i > 0 && first <= prev) || first >= rows)
            goto corrupt;
        prev = first;
    }
    x->ids.runs = p + 24;
    x->ids.n_runs = runs;
    x->ids.n_rows = rows;
    x->ids_present = true;
    atomic_store(&x->ids_loaded, true);
    return INFINO_OK;
corrupt:
    return err_set(INFINO_ERR_CORRUPT, "%s: region ids is malformed",
                   sf_reader_name(x->r));
}

infino_status sf_indexes_id(struct tid *out, struct sf_indexes *x,
                            uint64_t row)
{
    uint64_t lo = 0, hi;
    infino_status st = INFINO_OK;

    if (!atomic_load(&x->ids_loaded)) {
        pthread_mutex_lock(&x->mu);
        if (!atomic_load(&x->ids_loaded))
            st = load_ids(x);
        pthread_mutex_unlock(&x->mu);
        if (st != INFINO_OK)
            return st;
    }
    if (!x->ids_present)
        return err_set(INFINO_ERR_NOTFOUND, "%s: no ids region",
                       sf_reader_name(x->r));
    if (row >= x->ids.n_rows)
        return err_set(INFINO_ERR_INVALID, "row %llu out of range",
                       (unsigned long long)row);
    hi = x->ids.n_runs; /* last run with first_row <= row */
    while (hi - lo > 1) {
        uint64_t mid = lo + (hi - lo) / 2;
        if (load_u64le(x->ids.runs + 24 * mid) <= row)
            lo = mid;
        else
            hi = mid;
    }
    out->hi = load_u64le(x->ids.runs + 24 * lo + 8);
    out->lo = load_u64le(x->ids.runs + 24 * lo + 16) +
              (row - load_u64le(x->ids.runs + 24 * lo));
    return INFINO_OK;
}
