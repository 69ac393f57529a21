/*
 * snapshot.c - table snapshot encoding (snapshot.h).
 */
#include "snapshot.h"

#include "util/alloc.h"
#include "util/doc.h"
#include "util/err.h"
#include "util/random.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_MAGIC "INFSNAP1"
#define SNAP_FORMAT 1
#define MAX_FTS_COLUMNS 4096

static void sf_free(struct snap_sf *e)
{
    mem_free(e->fts_tokens);
    e->fts_tokens = NULL;
}

void snapshot_free(struct snapshot *s)
{
    if (s == NULL)
        return;
    for (size_t i = 0; i < s->n_sf; i++)
        sf_free(&s->sf[i]);
    mem_free(s->sf);
    memset(s, 0, sizeof *s);
}

static infino_status sf_copy(struct snap_sf *out, const struct snap_sf *e,
                             uint32_t n_fts)
{
    *out = *e;
    out->fts_tokens = mem_calloc(n_fts ? n_fts : 1, sizeof(uint64_t));
    if (out->fts_tokens == NULL)
        return err_nomem();
    if (n_fts)
        memcpy(out->fts_tokens, e->fts_tokens, n_fts * sizeof(uint64_t));
    return INFINO_OK;
}

infino_status snapshot_add_sf(struct snapshot *s, const struct snap_sf *e)
{
    if (MEM_RESERVE(s->sf, s->sf_cap, s->n_sf + 1))
        return err_nomem();
    if (sf_copy(&s->sf[s->n_sf], e, s->n_fts) != INFINO_OK)
        return INFINO_ERR_NOMEM;
    s->n_sf++;
    return INFINO_OK;
}

void snapshot_remove_sf(struct snapshot *s, size_t i)
{
    sf_free(&s->sf[i]);
    memmove(&s->sf[i], &s->sf[i + 1], (s->n_sf - i - 1) * sizeof *s->sf);
    s->n_sf--;
}

long snapshot_find_sf(const struct snapshot *s,
                      const uint8_t id[SNAP_SF_ID_LEN])
{
    for (size_t i = 0; i < s->n_sf; i++)
        if (memcmp(s->sf[i].id, id, SNAP_SF_ID_LEN) == 0)
            return (long)i;
    return -1;
}

static int cmp_entry(const void *a, const void *b)
{
    return memcmp(a, b, SNAP_SF_ID_LEN); /* id is the first member */
}

infino_status snap_index_build(struct snap_index *out,
                               const struct snapshot *s)
{
    out->n = s->n_sf;
    out->order = mem_alloc(s->n_sf * sizeof *out->order + 1);
    if (out->order == NULL)
        return err_nomem();
    for (size_t i = 0; i < s->n_sf; i++) {
        memcpy(out->order[i].id, s->sf[i].id, SNAP_SF_ID_LEN);
        out->order[i].at = (uint32_t)i;
    }
    if (s->n_sf > 1)
        qsort(out->order, s->n_sf, sizeof *out->order, cmp_entry);
    return INFINO_OK;
}

long snap_index_find(const struct snap_index *x,
                     const uint8_t id[SNAP_SF_ID_LEN])
{
    size_t lo = 0, hi = x->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = memcmp(x->order[mid].id, id, SNAP_SF_ID_LEN);
        if (c == 0)
            return (long)x->order[mid].at;
        if (c < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

void snap_index_free(struct snap_index *x)
{
    mem_free(x->order);
    x->order = NULL;
    x->n = 0;
}

infino_status snapshot_copy(struct snapshot *out, const struct snapshot *s)
{
    *out = *s;
    out->sf = NULL;
    out->n_sf = 0;
    out->sf_cap = 0;
    for (size_t i = 0; i < s->n_sf; i++) {
        if (snapshot_add_sf(out, &s->sf[i]) != INFINO_OK) {
            snapshot_free(out);
            return INFINO_ERR_NOMEM;
        }
    }
    return INFINO_OK;
}

uint64_t snapshot_live_rows(const struct snapshot *s)
{
    uint64_t n = 0;

    for (size_t i = 0; i < s->n_sf; i++)
        n += s->sf[i].n_rows - s->sf[i].n_deleted;
    return n;
}

void snapshot_sf_key(char *out, size_t cap, const char *dir,
                     const uint8_t id[SNAP_SF_ID_LEN])
{
    char hex[2 * SNAP_SF_ID_LEN + 1];

    hex_encode(hex, id, SNAP_SF_ID_LEN);
    snprintf(out, cap, "%ssuperfiles/%s.sf.parquet", dir, hex);
}

void snapshot_tomb_key(char *out, size_t cap, const char *dir,
                       const uint8_t id[SNAP_SF_ID_LEN], uint64_t tomb_id)
{
    char hex[2 * SNAP_SF_ID_LEN + 1];

    hex_encode(hex, id, SNAP_SF_ID_LEN);
    snprintf(out, cap, "%stombstones/%s-%016" PRIx64 ".del", dir, hex,
             tomb_id);
}

static infino_status put_record(struct buf *out, struct buf *rec,
                                const struct snap_sf *e, uint32_t n_fts)
{
    infino_status st;

    buf_reset(rec);
    CHECK(buf_append(rec, e->id, SNAP_SF_ID_LEN));
    CHECK(buf_put_uvarint(rec, e->n_rows));
    CHECK(buf_put_uvarint(rec, e->file_size));
    CHECK(buf_put_u64le(rec, e->id_min.hi));
    CHECK(buf_put_u64le(rec, e->id_min.lo));
    CHECK(buf_put_u64le(rec, e->id_max.hi));
    CHECK(buf_put_u64le(rec, e->id_max.lo));
    CHECK(buf_put_uvarint(rec, e->n_deleted));
    CHECK(buf_put_u64le(rec, e->tomb_id));
    CHECK(buf_put_uvarint(rec, e->added_version));
    for (uint32_t c = 0; c < n_fts; c++)
        CHECK(buf_put_uvarint(rec, e->fts_tokens[c]));
    CHECK(doc_put_bytes(out, rec->data, rec->len));
fail:
    return st;
}

infino_status snapshot_encode(struct buf *out, const struct snapshot *s)
{
    struct buf rec = {0};
    infino_status st;

    CHECK(doc_begin(out, SNAP_MAGIC, SNAP_FORMAT));
    CHECK(buf_put_uvarint(out, s->version));
    CHECK(buf_put_uvarint(out, s->parent));
    CHECK(buf_put_svarint(out, s->created_ns));
    CHECK(buf_put_uvarint(out, s->n_fts));
    CHECK(buf_put_uvarint(out, s->n_sf));
    for (size_t i = 0; i < s->n_sf; i++)
        CHECK(put_record(out, &rec, &s->sf[i], s->n_fts));
    CHECK(doc_seal(out));
fail:
    buf_free(&rec);
    return st;
}

static int get_record(struct rd *r, struct snap_sf *e, uint32_t n_fts)
{
    const uint8_t *id;

    if (rd_bytes(r, SNAP_SF_ID_LEN, &id) != 0)
        return -1;
    memcpy(e->id, id, SNAP_SF_ID_LEN);
    if (rd_uvarint(r, &e->n_rows) || rd_uvarint(r, &e->file_size) ||
        rd_u64le(r, &e->id_min.hi) || rd_u64le(r, &e->id_min.lo) ||
        rd_u64le(r, &e->id_max.hi) || rd_u64le(r, &e->id_max.lo) ||
        rd_uvarint(r, &e->n_deleted) || rd_u64le(r, &e->tomb_id) ||
        rd_uvarint(r, &e->added_version))
        return -1;
    for (uint32_t c = 0; c < n_fts; c++)
        if (rd_uvarint(r, &e->fts_tokens[c]))
            return -1;
    if (e->n_deleted > e->n_rows || (e->n_deleted > 0 && e->tomb_id == 0) ||
        (e->n_rows > 0 && tid_cmp(e->id_min, e->id_max) > 0))
        return -1;
    return 0; /* trailing bytes: fields of a later version */
}

infino_status snapshot_decode(struct snapshot *out, const uint8_t *p, size_t n,
                              const char *name)
{
    struct rd body;
    uint32_t format;
    uint64_t n_fts, n_sf;
    infino_status st;

    memset(out, 0, sizeof *out);
    CHECK(doc_open(&body, &format, p, n, SNAP_MAGIC, name));
    if (format != SNAP_FORMAT) {
        st = err_set(INFINO_ERR_UNSUPPORTED, "%s: snapshot format %u", name,
                     format);
        goto fail;
    }
    if (rd_uvarint(&body, &out->version) || rd_uvarint(&body, &out->parent) ||
        rd_svarint(&body, &out->created_ns) || rd_uvarint(&body, &n_fts) ||
        rd_uvarint(&body, &n_sf) || n_fts > MAX_FTS_COLUMNS ||
        n_sf > rd_left(&body) || out->parent >= out->version) {
        st = err_set(INFINO_ERR_CORRUPT, "%s: bad snapshot header", name);
        goto fail;
    }
    out->n_fts = (uint32_t)n_fts;
    out->sf = mem_calloc(n_sf ? (size_t)n_sf : 1, sizeof *out->sf);
    out->sf_cap = n_sf ? (size_t)n_sf : 1;
    if (out->sf == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (uint64_t i = 0; i < n_sf; i++) {
        struct snap_sf *e = &out->sf[i];
        const uint8_t *rp;
        size_t rn;
        struct rd rec;

        e->fts_tokens = mem_calloc(n_fts ? (size_t)n_fts : 1, sizeof(uint64_t));
        if (e->fts_tokens == NULL) {
            st = err_nomem();
            goto fail;
        }
        out->n_sf++;
        if (doc_get_bytes(&body, &rp, &rn) != 0) {
            st = err_set(INFINO_ERR_CORRUPT, "%s: truncated superfile entry",
                         name);
            goto fail;
        }
        rec = rd_make(rp, rn);
        if (get_record(&rec, e, out->n_fts) != 0) {
            st = err_set(INFINO_ERR_CORRUPT, "%s: bad superfile entry %llu",
                         name, (unsigned long long)i);
            goto fail;
        }
    }
    {
        /* No superfile may be listed twice (sorted, then adjacent). */
        struct snap_index x;
        CHECK(snap_index_build(&x, out));
        for (size_t i = 1; i < x.n; i++)
            if (memcmp(x.order[i - 1].id, x.order[i].id, SNAP_SF_ID_LEN) ==
                0) {
                snap_index_free(&x);
                st = err_set(INFINO_ERR_CORRUPT,
                             "%s: superfile listed twice", name);
                goto fail;
            }
        snap_index_free(&x);
    }
    return INFINO_OK;
fail:
    snapshot_free(out);
    return st;
}
