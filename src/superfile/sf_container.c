/*
 * sf_container.c - superfile regions around a Parquet body (superfile.h).
 *
 * The writer delegates rows to the Parquet writer, then appends regions to
 * the same sink, recording each one's offset, length and CRC-32C in a
 * footer key-value entry. The reader parses those entries, checks that
 * every region lies strictly between the leading magic and the footer
 * without overlapping another, and verifies a region's CRC on first use
 * (unless its reader verifies its bytes as it reads them).
 */
#include "superfile.h"

#include "util/alloc.h"
#include "util/crc32c.h"
#include "util/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct region {
    char name[SF_REGION_NAME_MAX + 1];
    uint64_t offset;
    uint64_t len;
    uint32_t crc;
    bool verified;
};

struct sf_writer {
    struct pq_writer *pq;
    struct store_sink *sink; /* borrowed */
    bool body_closed;
    bool in_region;
    struct region *regions; /* owned */
    size_t n_regions;
    size_t regions_cap;
};

static bool name_ok(const char *name)
{
    size_t n = strlen(name);

    if (n == 0 || n > SF_REGION_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
              c == '.' || c == ':' || c == '-'))
            return false;
    }
    return true;
}

infino_status sf_writer_open(struct sf_writer **out, struct store_sink *sink,
                             const struct ar_schema *schema,
                             const struct pq_write_opts *opts)
{
    struct sf_writer *w = mem_calloc(1, sizeof *w);
    infino_status st;

    *out = NULL;
    if (w == NULL)
        return err_nomem();
    w->sink = sink;
    st = pq_writer_open(&w->pq, sink, schema, opts);
    if (st != INFINO_OK) {
        mem_free(w);
        return st;
    }
    *out = w;
    return INFINO_OK;
}

infino_status sf_writer_write(struct sf_writer *w,
                              const struct ArrowArray *batch)
{
    if (w->body_closed)
        return err_set(INFINO_ERR_INVALID,
                       "%s: rows written after the first index region",
                       store_sink_name(w->sink));
    return pq_writer_write(w->pq, batch);
}

int64_t sf_writer_num_rows(const struct sf_writer *w)
{
    return pq_writer_num_rows(w->pq);
}

static infino_status close_body(struct sf_writer *w)
{
    infino_status st;

    if (w->body_closed)
        return INFINO_OK;
    st = pq_writer_end_data(w->pq);
    if (st == INFINO_OK)
        w->body_closed = true;
    return st;
}

infino_status sf_writer_region_begin(struct sf_writer *w, const char *name)
{
    infino_status st;
    struct region *r;

    if (w->in_region)
        return err_set(INFINO_ERR_INVALID, "region '%s' begun inside another",
                       name);
    if (!name_ok(name))
        return err_set(INFINO_ERR_INVALID, "bad region name '%s'", name);
    for (size_t i = 0; i < w->n_regions; i++)
        if (strcmp(w->regions[i].name, name) == 0)
            return err_set(INFINO_ERR_INVALID, "duplicate region '%s'", name);
    st = close_body(w);
    if (st != INFINO_OK)
        return st;
    if (MEM_RESERVE(w->regions, w->regions_cap, w->n_regions + 1))
        return err_nomem();
    r = &w->regions[w->n_regions];
    memset(r, 0, sizeof *r);
    snprintf(r->name, sizeof r->name, "%s", name);
    r->offset = store_sink_tell(w->sink);
    store_sink_crc_begin(w->sink);
    w->in_region = true;
    return INFINO_OK;
}

struct store_sink *sf_writer_sink(struct sf_writer *w)
{
    return w->sink;
}

infino_status sf_writer_region_end(struct sf_writer *w)
{
    struct region *r;

    if (!w->in_region)
        return err_set(INFINO_ERR_INVALID, "no region is open");
    r = &w->regions[w->n_regions++];
    r->crc = store_sink_crc_end(w->sink);
    r->len = store_sink_tell(w->sink) - r->offset;
    w->in_region = false;
    return INFINO_OK;
}

infino_status sf_writer_add_region(struct sf_writer *w, const char *name,
                                   const void *data, size_t len)
{
    infino_status st = sf_writer_region_begin(w, name);

    if (st != INFINO_OK)
        return st;
    st = store_sink_write(w->sink, data, len);
    if (st != INFINO_OK) {
        store_sink_crc_end(w->sink);
        w->in_region = false;
        return st;
    }
    return sf_writer_region_end(w);
}

infino_status sf_writer_add_kv(struct sf_writer *w, const char *key,
                               const char *value)
{
    if (strncmp(key, "infino.", 7) == 0)
        return err_set(INFINO_ERR_INVALID, "footer key '%s' is reserved", key);
    return pq_writer_add_kv(w->pq, key, value, strlen(value));
}

infino_status sf_writer_finish(struct sf_writer *w)
{
    infino_status st;
    char key[sizeof SF_REGION_PREFIX + SF_REGION_NAME_MAX];
    char val[64];

    if (w->in_region)
        return err_set(INFINO_ERR_INVALID, "region '%s' was not ended",
                       w->regions[w->n_regions].name);
    st = close_body(w);
    if (st != INFINO_OK)
        return st;
    st = pq_writer_add_kv(w->pq, SF_FORMAT_KEY, SF_FORMAT_VALUE,
                          strlen(SF_FORMAT_VALUE));
    if (st == INFINO_OK)
        st = pq_writer_add_kv(w->pq, SF_VERSION_KEY, SF_VERSION_VALUE,
                              strlen(SF_VERSION_VALUE));
    for (size_t i = 0; st == INFINO_OK && i < w->n_regions; i++) {
        const struct region *r = &w->regions[i];
        snprintf(key, sizeof key, "%s%s", SF_REGION_PREFIX, r->name);
        int n = snprintf(val, sizeof val, "%" PRIu64 ":%" PRIu64 ":%08" PRIx32,
                         r->offset, r->len, r->crc);
        st = pq_writer_add_kv(w->pq, key, val, (size_t)n);
    }
    if (st == INFINO_OK)
        st = pq_writer_finish(w->pq);
    return st;
}

void sf_writer_free(struct sf_writer *w)
{
    if (w == NULL)
        return;
    pq_writer_free(w->pq);
    mem_free(w->regions);
    mem_free(w);
}

/* ---- reader ----------------------------------------------------------- */

struct sf_reader {
    struct store_blob *blob; /* borrowed */
    struct pq_reader *pq;
    struct region *regions; /* owned, in file order */
    size_t n_regions;
};

/* Parses "<u64>:<u64>:<8 hex>" strictly. */
static bool parse_region_value(const char *v, size_t n, struct region *r)
{
    char tmp[64];
    char *end;
    const char *p;

    if (n == 0 || n >= sizeof tmp)
        return false;
    memcpy(tmp, v, n);
    tmp[n] = '\0';
    p = tmp;
    if (*p < '0' || *p > '9')
        return false;
    r->offset = strtoull(p, &end, 10);
    if (*end != ':' || end[1] < '0' || end[1] > '9')
        return false;
    r->len = strtoull(end + 1, &end, 10);
    if (*end != ':' || strlen(end + 1) != 8)
        return false;
    for (const char *h = end + 1; *h; h++)
        if (!((*h >= '0' && *h <= '9') || (*h >= 'a' && *h <= 'f')))
            return false;
    r->crc = (uint32_t)strtoul(end + 1, NULL, 16);
    return true;
}

static int by_offset(const void *a, const void *b)
{
    const struct region *x = a, *y = b;
    return x->offset < y->offset ? -1 : x->offset > y->offset;
}

/* Region names come from the suffixes of the "infino.region." keys. */
infino_status sf_reader_open(struct sf_reader **out, struct store_blob *blob)
{
    struct sf_reader *r = mem_calloc(1, sizeof *r);
    infino_status st;
    const char *fmt, *ver;
    size_t len;
    uint64_t footer;

    *out = NULL;
    if (r == NULL)
        return err_nomem();
    r->blob = blob;
    CHECK(pq_reader_open(&r->pq, blob));
    fmt = pq_reader_kv(r->pq, SF_FORMAT_KEY, &len);
    if (fmt == NULL)
        goto done; /* plain Parquet */
    if (len != strlen(SF_FORMAT_VALUE) || memcmp(fmt, SF_FORMAT_VALUE, len)) {
        st = err_set(INFINO_ERR_CORRUPT, "bad %s value", SF_FORMAT_KEY);
        goto fail;
    }
    ver = pq_reader_kv(r->pq, SF_VERSION_KEY, &len);
    if (ver == NULL || len == 0 || ver[0] != '1' ||
        (len > 1 && ver[1] != '.')) {
        st = err_set(INFINO_ERR_UNSUPPORTED,
                     "superfile format version '%.*s' (this build reads 1)",
                     ver ? (int)len : 0, ver ? ver : "");
        goto fail;
    }
    {
        size_t n_kv = pq_reader_kv_count(r->pq);
        size_t cap = 0;
        for (size_t i = 0; i < n_kv; i++) {
            const char *key, *val;
            size_t vlen;
            pq_reader_kv_at(r->pq, i, &key, &val, &vlen);
            if (strncmp(key, SF_REGION_PREFIX, strlen(SF_REGION_PREFIX)) != 0)
                continue;
            const char *name = key + strlen(SF_REGION_PREFIX);
            if (!name_ok(name)) {
                st = err_set(INFINO_ERR_CORRUPT, "bad region name in key '%s'",
                             key);
                goto fail;
            }
            if (MEM_RESERVE(r->regions, cap, r->n_regions + 1)) {
                st = err_nomem();
                goto fail;
            }
            struct region *rg = &r->regions[r->n_regions];
            memset(rg, 0, sizeof *rg);
            snprintf(rg->name, sizeof rg->name, "%s", name);
            if (val == NULL || !parse_region_value(val, vlen, rg)) {
                st = err_set(INFINO_ERR_CORRUPT, "region '%s': bad locator",
                             name);
                goto fail;
            }
            for (size_t j = 0; j < r->n_regions; j++)
                if (strcmp(r->regions[j].name, name) == 0) {
                    st = err_set(INFINO_ERR_CORRUPT, "duplicate region '%s'",
                                 name);
                    goto fail;
                }
            r->n_regions++;
        }
    }
    if (r->n_regions > 1) /* qsort must not see a NULL array */
        qsort(r->regions, r->n_regions, sizeof *r->regions, by_offset);
    footer = pq_reader_footer_offset(r->pq);
    for (size_t i = 0; i < r->n_regions; i++) {
        const struct region *rg = &r->regions[i];
        uint64_t lo = i ? r->regions[i - 1].offset + r->regions[i - 1].len : 4;
        if (rg->offset < lo || rg->len > footer ||
            rg->offset > footer - rg->len) {
            st = err_set(INFINO_ERR_CORRUPT,
                         "region '%s' (%" PRIu64 "+%" PRIu64
                         ") overlaps another or lies outside the file body",
                         rg->name, rg->offset, rg->len);
            goto fail;
        }
    }
done:
    *out = r;
    return INFINO_OK;
fail:
    sf_reader_free(r);
    return err_context(st, "%s", store_blob_name(blob));
}

void sf_reader_free(struct sf_reader *r)
{
    if (r == NULL)
        return;
    pq_reader_free(r->pq);
    mem_free(r->regions);
    mem_free(r);
}

struct pq_reader *sf_reader_parquet(struct sf_reader *r)
{
    return r->pq;
}

const char *sf_reader_name(const struct sf_reader *r)
{
    return store_blob_name(r->blob);
}

size_t sf_reader_n_regions(const struct sf_reader *r)
{
    return r->n_regions;
}

const char *sf_reader_region_name(const struct sf_reader *r, size_t i)
{
    return i < r->n_regions ? r->regions[i].name : NULL;
}

bool sf_reader_region_locate(const struct sf_reader *r, const char *name,
                             uint64_t *offset_out, uint64_t *len_out,
                             uint32_t *crc_out)
{
    for (size_t i = 0; i < r->n_regions; i++)
        if (strcmp(r->regions[i].name, name) == 0) {
            *offset_out = r->regions[i].offset;
            *len_out = r->regions[i].len;
            *crc_out = r->regions[i].crc;
            return true;
        }
    return false;
}

static infino_status region_bytes(struct sf_reader *r, const char *name,
                                  bool verify, const uint8_t **data_out,
                                  size_t *len_out)
{
    struct region *rg = NULL;
    const uint8_t *p;
    infino_status st;

    for (size_t i = 0; i < r->n_regions; i++)
        if (strcmp(r->regions[i].name, name) == 0)
            rg = &r->regions[i];
    if (rg == NULL)
        return err_set(INFINO_ERR_NOTFOUND, "%s: no region '%s'",
                       store_blob_name(r->blob), name);
    if (rg->len > SIZE_MAX)
        return err_set(INFINO_ERR_CORRUPT, "%s: region '%s' too large",
                       store_blob_name(r->blob), name);
    st = store_blob_read(r->blob, rg->offset, (size_t)rg->len, &p);
    if (st != INFINO_OK)
        return st;
    if (verify && !rg->verified) {
        uint32_t crc = crc32c(p, (size_t)rg->len);
        if (crc != rg->crc)
            return err_set(INFINO_ERR_CORRUPT,
                           "%s: region '%s': checksum mismatch (stored %08x, "
                           "computed %08x)",
                           store_blob_name(r->blob), name, rg->crc, crc);
        rg->verified = true;
    }
    *data_out = p;
    *len_out = (size_t)rg->len;
    return INFINO_OK;
}

infino_status sf_reader_region(struct sf_reader *r, const char *name,
                               const uint8_t **data_out, size_t *len_out)
{
    return region_bytes(r, name, true, data_out, len_out);
}

infino_status sf_reader_region_unverified(struct sf_reader *r,
                                          const char *name,
                                          const uint8_t **data_out,
                                          size_t *len_out)
{
    return region_bytes(r, name, false, data_out, len_out);
}
