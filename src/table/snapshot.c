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
#define SNAP_FORMAT 2
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

static infino_status put_header(struct buf *out, const struct snapshot *s,
                                uint64_t chain)
{
    infino_status st;

    CHECK(doc_begin(out, SNAP_MAGIC, SNAP_FORMAT));
    CHECK(buf_put_uvarint(out, s->version));
    CHECK(buf_put_uvarint(out, s->parent));
    CHECK(buf_put_svarint(out, s->created_ns));
    CHECK(buf_put_uvarint(out, s->n_fts));
    CHECK(buf_put_uvarint(out, chain));
fail:
    return st;
}

infino_status snapshot_encode(struct buf *out, const struct snapshot *s)
{
    struct buf rec = {0};
    infino_status st;

    CHECK(put_header(out, s, 0));
    CHECK(buf_put_uvarint(out, s->n_sf));
    for (size_t i = 0; i < s->n_sf; i++)
        CHECK(put_record(out, &rec, &s->sf[i], s->n_fts));
    CHECK(doc_seal(out));
fail:
    buf_free(&rec);
    return st;
}

static bool same_entry(const struct snap_sf *a, const struct snap_sf *b,
                       uint32_t n_fts)
{
    return a->n_rows == b->n_rows && a->file_size == b->file_size &&
           tid_cmp(a->id_min, b->id_min) == 0 &&
           tid_cmp(a->id_max, b->id_max) == 0 &&
           a->n_deleted == b->n_deleted && a->tomb_id == b->tomb_id &&
           a->added_version == b->added_version &&
           (n_fts == 0 ||
            memcmp(a->fts_tokens, b->fts_tokens, n_fts * sizeof(uint64_t)) ==
                0);
}

infino_status snapshot_encode_delta(struct buf *out, const struct snapshot *next,
                                    const struct snapshot *base)
{
    struct snap_index bi = {0}, ni = {0};
    struct buf rec = {0}, changed = {0}, added = {0};
    uint64_t n_removed = 0, n_changed = 0, n_added = 0;
    size_t first_added = next->n_sf;
    infino_status st;

    if (next->parent != base->version || next->n_fts != base->n_fts ||
        next->chain != base->chain + 1)
        return err_set(INFINO_ERR_INVALID, "delta does not follow its base");
    CHECK(snap_index_build(&bi, base));
    CHECK(snap_index_build(&ni, next));
    /* Entries new in `next` must all come last (commits append them), so
     * appending the delta's additions reproduces next's order. */
    for (size_t i = 0; i < next->n_sf; i++) {
        long j = snap_index_find(&bi, next->sf[i].id);
        if (j < 0) {
            if (first_added == next->n_sf)
                first_added = i;
            CHECK(put_record(&added, &rec, &next->sf[i], next->n_fts));
            n_added++;
        } else if (first_added != next->n_sf) {
            st = err_set(INFINO_ERR_INVALID,
                         "a kept superfile follows a new one");
            goto fail;
        } else if (!same_entry(&base->sf[j], &next->sf[i], next->n_fts)) {
            CHECK(put_record(&changed, &rec, &next->sf[i], next->n_fts));
            n_changed++;
        }
    }
    CHECK(put_header(out, next, next->chain));
    for (size_t i = 0; i < base->n_sf; i++)
        if (snap_index_find(&ni, base->sf[i].id) < 0)
            n_removed++;
    CHECK(buf_put_uvarint(out, n_removed));
    for (size_t i = 0; i < base->n_sf; i++)
        if (snap_index_find(&ni, base->sf[i].id) < 0)
            CHECK(buf_append(out, base->sf[i].id, SNAP_SF_ID_LEN));
    CHECK(buf_put_uvarint(out, n_changed));
    CHECK(buf_append(out, changed.data, changed.len));
    CHECK(buf_put_uvarint(out, n_added));
    CHECK(buf_append(out, added.data, added.len));
    CHECK(doc_seal(out));
fail:
    snap_index_free(&bi);
    snap_index_free(&ni);
    buf_free(&rec);
    buf_free(&changed);
    buf_free(&added);
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

/* Decodes `count` length-prefixed records into a fresh array. */
static infino_status get_records(struct snap_sf **out, size_t *n_out,
                                 struct rd *body, uint64_t count,
                                 uint32_t n_fts, const char *name)
{
    struct snap_sf *v;
    infino_status st = INFINO_OK;

    *out = NULL;
    *n_out = 0;
    if (count > rd_left(body))
        return err_set(INFINO_ERR_CORRUPT, "%s: bad superfile count", name);
    v = mem_calloc(count ? (size_t)count : 1, sizeof *v);
    if (v == NULL)
        return err_nomem();
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *rp;
        size_t rn;
        struct rd rec;

        v[i].fts_tokens = mem_calloc(n_fts ? n_fts : 1, sizeof(uint64_t));
        if (v[i].fts_tokens == NULL) {
            st = err_nomem();
            break;
        }
        (*n_out)++;
        if (doc_get_bytes(body, &rp, &rn) != 0) {
            st = err_set(INFINO_ERR_CORRUPT, "%s: truncated superfile entry",
                         name);
            break;
        }
        rec = rd_make(rp, rn);
        if (get_record(&rec, &v[i], n_fts) != 0) {
            st = err_set(INFINO_ERR_CORRUPT, "%s: bad superfile entry %llu",
                         name, (unsigned long long)i);
            break;
        }
    }
    *out = v;
    return st;
}

static void free_records(struct snap_sf *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        sf_free(&v[i]);
    mem_free(v);
}

/* No superfile may be listed twice (sorted, then adjacent). */
static infino_status check_unique(const struct snapshot *s, const char *name)
{
    struct snap_index x;
    infino_status st = snap_index_build(&x, s);

    for (size_t i = 1; st == INFINO_OK && i < x.n; i++)
        if (memcmp(x.order[i - 1].id, x.order[i].id, SNAP_SF_ID_LEN) == 0)
            st = err_set(INFINO_ERR_CORRUPT, "%s: superfile listed twice",
                         name);
    snap_index_free(&x);
    return st;
}

void snap_doc_free(struct snap_doc *d)
{
    if (d == NULL)
        return;
    snapshot_free(&d->full);
    mem_free(d->removed);
    free_records(d->changed, d->n_changed);
    free_records(d->added, d->n_added);
    memset(d, 0, sizeof *d);
}

infino_status snap_doc_decode(struct snap_doc *out, const uint8_t *p, size_t n,
                              const char *name)
{
    struct rd body;
    uint32_t format;
    uint64_t n_fts, count;
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
        rd_uvarint(&body, &out->chain) || n_fts > MAX_FTS_COLUMNS ||
        out->parent >= out->version || out->chain > out->version) {
        st = err_set(INFINO_ERR_CORRUPT, "%s: bad snapshot header", name);
        goto fail;
    }
    out->n_fts = (uint32_t)n_fts;
    if (out->chain == 0) {
        struct snapshot *s = &out->full;
        s->version = out->version;
        s->parent = out->parent;
        s->created_ns = out->created_ns;
        s->n_fts = out->n_fts;
        if (rd_uvarint(&body, &count) != 0) {
            st = err_set(INFINO_ERR_CORRUPT, "%s: truncated", name);
            goto fail;
        }
        st = get_records(&s->sf, &s->n_sf, &body, count, out->n_fts, name);
        s->sf_cap = s->n_sf;
        if (st == INFINO_OK)
            st = check_unique(s, name);
        if (st != INFINO_OK)
            goto fail;
        return INFINO_OK;
    }
    if (out->parent + 1 != out->version ||
        rd_uvarint(&body, &count) != 0 || count > rd_left(&body) / 16) {
        st = err_set(INFINO_ERR_CORRUPT, "%s: bad delta", name);
        goto fail;
    }
    out->removed = mem_alloc((size_t)count * SNAP_SF_ID_LEN + 1);
    if (out->removed == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *id;
        if (rd_bytes(&body, SNAP_SF_ID_LEN, &id) != 0) {
            st = err_set(INFINO_ERR_CORRUPT, "%s: truncated delta", name);
            goto fail;
        }
        memcpy(out->removed[i], id, SNAP_SF_ID_LEN);
    }
    out->n_removed = (size_t)count;
    if (rd_uvarint(&body, &count) != 0) {
        st = err_set(INFINO_ERR_CORRUPT, "%s: truncated delta", name);
        goto fail;
    }
    CHECK(get_records(&out->changed, &out->n_changed, &body, count,
                      out->n_fts, name));
    if (rd_uvarint(&body, &count) != 0) {
        st = err_set(INFINO_ERR_CORRUPT, "%s: truncated delta", name);
        goto fail;
    }
    CHECK(get_records(&out->added, &out->n_added, &body, count, out->n_fts,
                      name));
    return INFINO_OK;
fail:
    snap_doc_free(out);
    return st;
}

infino_status snapshot_apply_doc(struct snapshot *out,
                                 const struct snapshot *base,
                                 const struct snap_doc *d, const char *name)
{
    struct snap_index x = {0};
    infino_status st;

    memset(out, 0, sizeof *out);
    if (d->chain == 0)
        return snapshot_copy(out, &d->full);
    if (base->version != d->parent || base->n_fts != d->n_fts ||
        base->chain + 1 != d->chain)
        return err_set(INFINO_ERR_CORRUPT,
                       "%s: delta does not follow snapshot %llu", name,
                       (unsigned long long)base->version);
    CHECK(snapshot_copy(out, base));
    out->version = d->version;
    out->parent = d->parent;
    out->created_ns = d->created_ns;
    out->chain = d->chain;
    if (d->n_removed > 0) {
        /* Mark through an index, then compact once: keeps order, and stays
         * O(n log n) when an optimize removes thousands of superfiles. */
        size_t kept = 0;
        CHECK(snap_index_build(&x, out));
        for (size_t i = 0; i < d->n_removed; i++) {
            long j = snap_index_find(&x, d->removed[i]);
            if (j < 0 || out->sf[j].n_rows == UINT64_MAX) {
                st = err_set(INFINO_ERR_CORRUPT,
                             "%s: delta removes an unknown superfile", name);
                goto fail;
            }
            out->sf[j].n_rows = UINT64_MAX; /* marked */
        }
        for (size_t i = 0; i < out->n_sf; i++) {
            if (out->sf[i].n_rows == UINT64_MAX)
                sf_free(&out->sf[i]);
            else
                out->sf[kept++] = out->sf[i];
        }
        out->n_sf = kept;
        snap_index_free(&x);
    }
    CHECK(snap_index_build(&x, out));
    for (size_t i = 0; i < d->n_changed; i++) {
        long j = snap_index_find(&x, d->changed[i].id);
        if (j < 0) {
            st = err_set(INFINO_ERR_CORRUPT,
                         "%s: delta changes an unknown superfile", name);
            goto fail;
        }
        uint64_t *tokens = out->sf[j].fts_tokens;
        out->sf[j] = d->changed[i];
        out->sf[j].fts_tokens = tokens;
        if (out->n_fts)
            memcpy(tokens, d->changed[i].fts_tokens,
                   out->n_fts * sizeof(uint64_t));
    }
    for (size_t i = 0; i < d->n_added; i++)
        CHECK(snapshot_add_sf(out, &d->added[i]));
    CHECK(check_unique(out, name));
    snap_index_free(&x);
    return INFINO_OK;
fail:
    snap_index_free(&x);
    snapshot_free(out);
    return st;
}

infino_status snapshot_decode(struct snapshot *out, const uint8_t *p, size_t n,
                              const char *name)
{
    struct snap_doc d;
    infino_status st = snap_doc_decode(&d, p, n, name);

    memset(out, 0, sizeof *out);
    if (st != INFINO_OK)
        return st;
    if (d.chain != 0) {
        snap_doc_free(&d);
        return err_set(INFINO_ERR_INVALID, "%s: a delta, not a checkpoint",
                       name);
    }
    *out = d.full;
    memset(&d.full, 0, sizeof d.full);
    snap_doc_free(&d);
    return INFINO_OK;
}
