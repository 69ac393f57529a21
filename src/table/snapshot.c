/*
 * snapshot.c - table snapshot encoding (snapshot.h).
 */
#include "snapshot.h"

#include "util/alloc.h"
#include "util/doc.h"
#include "util/err.h"
#include "util/hash.h"
#include "util/random.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SNAP_MAGIC "INFSNAP1"
#define SNAP_FORMAT 2
#define SNAP_FORMAT_SCHEMA 3 /* with a schema (snapshot.h) */
#define SNAP_SCHEMA_MAX (64u << 20)
#define MAX_FTS_COLUMNS 4096

/* ---- the superfile list ------------------------------------------------
 *
 * A snapshot's entries live in one array, their FTS token counts in a
 * parallel block (entry i's fts_tokens points at n_fts counts in it), and
 * an open-addressing table maps ids to positions. Copying a snapshot is
 * three memcpys and a pointer fix-up, finding an entry one probe: a commit
 * neither sorts nor allocates per superfile. */

static const uint64_t no_tokens[1];

/* Points every entry from `from` on at its counts in the block. */
static void fix_tokens(struct snapshot *s, size_t from)
{
    for (size_t i = from; i < s->n_sf; i++)
        s->sf[i].fts_tokens = s->n_fts
                                  ? s->tokens + i * (size_t)s->n_fts
                                  : (uint64_t *)no_tokens;
}

static size_t slot_of(const struct snapshot *s,
                      const uint8_t id[SNAP_SF_ID_LEN])
{
    return (size_t)(hash64(id, SNAP_SF_ID_LEN) & (s->n_slots - 1));
}

static void slot_insert(struct snapshot *s, size_t i)
{
    size_t at = slot_of(s, s->sf[i].id);

    while (s->slots[at] != 0)
        at = (at + 1) & (s->n_slots - 1);
    s->slots[at] = (uint32_t)(i + 1);
}

/* Sizes the id table for `n` entries and fills it from the array. */
static infino_status slots_rebuild(struct snapshot *s, size_t n)
{
    size_t want = 16;
    uint32_t *slots;

    while (want < 2 * n + 2)
        want *= 2;
    slots = mem_calloc(want, sizeof *slots);
    if (slots == NULL)
        return err_nomem();
    mem_free(s->slots);
    s->slots = slots;
    s->n_slots = want;
    for (size_t i = 0; i < s->n_sf; i++)
        slot_insert(s, i);
    return INFINO_OK;
}

long snapshot_find_sf(const struct snapshot *s,
                      const uint8_t id[SNAP_SF_ID_LEN])
{
    size_t at;

    if (s->n_slots == 0)
        return -1;
    for (at = slot_of(s, id); s->slots[at] != 0;
         at = (at + 1) & (s->n_slots - 1)) {
        size_t i = s->slots[at] - 1;
        if (memcmp(s->sf[i].id, id, SNAP_SF_ID_LEN) == 0)
            return (long)i;
    }
    return -1;
}

void snapshot_free(struct snapshot *s)
{
    if (s == NULL)
        return;
    mem_free(s->sf);
    mem_free(s->tokens);
    mem_free(s->slots);
    mem_free(s->schema_ipc);
    memset(s, 0, sizeof *s);
}

infino_status snapshot_set_schema(struct snapshot *s, uint64_t schema_id,
                                  const uint8_t *ipc, size_t len)
{
    uint8_t *copy = NULL;

    if (schema_id > 0) {
        copy = mem_alloc(len + 1);
        if (copy == NULL)
            return err_nomem();
        if (len)
            memcpy(copy, ipc, len);
    }
    mem_free(s->schema_ipc);
    s->schema_id = schema_id;
    s->schema_ipc = copy;
    s->schema_len = schema_id > 0 ? len : 0;
    return INFINO_OK;
}

/* Room for `n` entries in the array and the token block. */
static infino_status reserve(struct snapshot *s, size_t n)
{
    size_t cap = s->sf_cap;

    if (n <= cap)
        return INFINO_OK;
    if (MEM_RESERVE(s->sf, s->sf_cap, n))
        return err_nomem();
    if (s->n_fts) {
        uint64_t *t = mem_realloc(s->tokens, s->sf_cap * (size_t)s->n_fts *
                                                 sizeof *t);
        if (t == NULL) {
            s->sf_cap = cap > s->n_sf ? cap : s->n_sf;
            return err_nomem();
        }
        s->tokens = t;
    }
    fix_tokens(s, 0);
    return INFINO_OK;
}

infino_status snapshot_add_sf(struct snapshot *s, const struct snap_sf *e)
{
    size_t i = s->n_sf;

    if (reserve(s, i + 1) != INFINO_OK)
        return INFINO_ERR_NOMEM;
    if (2 * (i + 1) + 2 > s->n_slots && slots_rebuild(s, 2 * (i + 1)) !=
                                            INFINO_OK)
        return INFINO_ERR_NOMEM;
    s->sf[i] = *e;
    s->n_sf++;
    fix_tokens(s, i);
    if (s->n_fts)
        memcpy(s->sf[i].fts_tokens, e->fts_tokens,
               (size_t)s->n_fts * sizeof(uint64_t));
    slot_insert(s, i);
    return INFINO_OK;
}

/* Adds a decoded entry, refusing an id the snapshot already lists. */
static infino_status add_unique(struct snapshot *s, const struct snap_sf *e,
                                const char *name)
{
    if (snapshot_find_sf(s, e->id) >= 0)
        return err_set(INFINO_ERR_CORRUPT, "%s: superfile listed twice",
                       name);
    return snapshot_add_sf(s, e);
}

/* Keeps only the entries not marked (n_rows == UINT64_MAX), in order. */
static infino_status compact(struct snapshot *s)
{
    size_t kept = 0, w = (size_t)s->n_fts;

    for (size_t i = 0; i < s->n_sf; i++) {
        if (s->sf[i].n_rows == UINT64_MAX)
            continue;
        if (kept != i) {
            s->sf[kept] = s->sf[i];
            if (w)
                memmove(s->tokens + kept * w, s->tokens + i * w,
                        w * sizeof *s->tokens);
        }
        kept++;
    }
    s->n_sf = kept;
    fix_tokens(s, 0);
    return slots_rebuild(s, s->n_sf);
}

infino_status snapshot_remove_sf(struct snapshot *s, size_t i)
{
    s->sf[i].n_rows = UINT64_MAX; /* marked */
    return compact(s);
}

infino_status snapshot_replace_sf(struct snapshot *s, size_t i,
                                  const struct snap_sf *e)
{
    uint64_t *tokens = s->sf[i].fts_tokens;

    s->sf[i] = *e;
    s->sf[i].fts_tokens = tokens;
    if (s->n_fts)
        memcpy(tokens, e->fts_tokens, (size_t)s->n_fts * sizeof(uint64_t));
    return slots_rebuild(s, s->n_sf);
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
    size_t n = s->n_sf, w = (size_t)s->n_fts;

    *out = *s;
    out->sf = NULL;
    out->tokens = NULL;
    out->slots = NULL;
    out->n_sf = 0;
    out->sf_cap = 0;
    out->n_slots = 0;
    out->schema_id = 0;
    out->schema_ipc = NULL;
    out->schema_len = 0;
    if (snapshot_set_schema(out, s->schema_id, s->schema_ipc,
                            s->schema_len) != INFINO_OK)
        goto nomem;
    /* room for the one or two entries a commit adds */
    if (reserve(out, n + 2) != INFINO_OK)
        goto nomem;
    if (n) {
        memcpy(out->sf, s->sf, n * sizeof *s->sf);
        if (w)
            memcpy(out->tokens, s->tokens, n * w * sizeof *s->tokens);
    }
    out->n_sf = n;
    fix_tokens(out, 0);
    if (s->n_slots) {
        out->slots = mem_alloc(s->n_slots * sizeof *s->slots);
        if (out->slots == NULL)
            goto nomem;
        memcpy(out->slots, s->slots, s->n_slots * sizeof *s->slots);
        out->n_slots = s->n_slots;
    } else if (n && slots_rebuild(out, n) != INFINO_OK) {
        goto nomem;
    }
    return INFINO_OK;
nomem:
    snapshot_free(out);
    return err_nomem();
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
    CHECK(buf_put_uvarint(rec, e->has_file_crc ? (uint64_t)e->file_crc + 1
                                               : 0));
    CHECK(doc_put_bytes(out, rec->data, rec->len));
fail:
    return st;
}

static infino_status put_header(struct buf *out, const struct snapshot *s,
                                uint64_t chain)
{
    infino_status st;

    CHECK(doc_begin(out, SNAP_MAGIC,
                    s->schema_id > 0 ? SNAP_FORMAT_SCHEMA : SNAP_FORMAT));
    CHECK(buf_put_uvarint(out, s->version));
    CHECK(buf_put_uvarint(out, s->parent));
    CHECK(buf_put_svarint(out, s->created_ns));
    CHECK(buf_put_uvarint(out, s->n_fts));
    CHECK(buf_put_uvarint(out, chain));
    if (s->schema_id > 0) {
        CHECK(buf_put_uvarint(out, s->schema_id));
        CHECK(doc_put_bytes(out, s->schema_ipc, s->schema_len));
    }
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
           a->has_file_crc == b->has_file_crc && a->file_crc == b->file_crc &&
           (n_fts == 0 ||
            memcmp(a->fts_tokens, b->fts_tokens, n_fts * sizeof(uint64_t)) ==
                0);
}

infino_status snapshot_encode_change(struct buf *out,
                                     const struct snapshot *next,
                                     const uint8_t (*removed)[SNAP_SF_ID_LEN],
                                     size_t n_removed, const size_t *changed,
                                     size_t n_changed, size_t first_added)
{
    struct buf rec = {0};
    infino_status st;

    if (next->chain == 0 || next->parent + 1 != next->version ||
        first_added > next->n_sf)
        return err_set(INFINO_ERR_INVALID, "delta does not follow its base");
    CHECK(put_header(out, next, next->chain));
    CHECK(buf_put_uvarint(out, n_removed));
    for (size_t i = 0; i < n_removed; i++)
        CHECK(buf_append(out, removed[i], SNAP_SF_ID_LEN));
    CHECK(buf_put_uvarint(out, n_changed));
    for (size_t i = 0; i < n_changed; i++)
        CHECK(put_record(out, &rec, &next->sf[changed[i]], next->n_fts));
    CHECK(buf_put_uvarint(out, next->n_sf - first_added));
    for (size_t i = first_added; i < next->n_sf; i++)
        CHECK(put_record(out, &rec, &next->sf[i], next->n_fts));
    CHECK(doc_seal(out));
fail:
    buf_free(&rec);
    return st;
}

infino_status snapshot_encode_delta(struct buf *out, const struct snapshot *next,
                                    const struct snapshot *base)
{
    uint8_t(*removed)[SNAP_SF_ID_LEN] = NULL;
    size_t *changed = NULL, n_removed = 0, n_changed = 0;
    size_t first_added = next->n_sf;
    infino_status st;

    if (next->parent != base->version || next->n_fts != base->n_fts ||
        next->chain != base->chain + 1)
        return err_set(INFINO_ERR_INVALID, "delta does not follow its base");
    removed = mem_alloc(base->n_sf * sizeof *removed + 1);
    changed = mem_alloc(next->n_sf * sizeof *changed + 1);
    if (removed == NULL || changed == NULL) {
        st = err_nomem();
        goto fail;
    }
    /* Entries new in `next` must all come last (commits append them), so
     * appending the delta's additions reproduces next's order. */
    for (size_t i = 0; i < next->n_sf; i++) {
        long j = snapshot_find_sf(base, next->sf[i].id);
        if (j < 0) {
            if (first_added == next->n_sf)
                first_added = i;
        } else if (first_added != next->n_sf) {
            st = err_set(INFINO_ERR_INVALID,
                         "a kept superfile follows a new one");
            goto fail;
        } else if (!same_entry(&base->sf[j], &next->sf[i], next->n_fts)) {
            changed[n_changed++] = i;
        }
    }
    for (size_t i = 0; i < base->n_sf; i++)
        if (snapshot_find_sf(next, base->sf[i].id) < 0)
            memcpy(removed[n_removed++], base->sf[i].id, SNAP_SF_ID_LEN);
    st = snapshot_encode_change(out, next,
                                (const uint8_t(*)[SNAP_SF_ID_LEN])removed,
                                n_removed, changed, n_changed, first_added);
fail:
    mem_free(removed);
    mem_free(changed);
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
    e->has_file_crc = false;
    e->file_crc = 0;
    if (rd_left(r) > 0) { /* added later: absent in older records */
        uint64_t crc;
        if (rd_uvarint(r, &crc) || crc > (uint64_t)UINT32_MAX + 1)
            return -1;
        e->has_file_crc = crc > 0;
        e->file_crc = crc > 0 ? (uint32_t)(crc - 1) : 0;
    }
    if (e->n_deleted > e->n_rows || (e->n_deleted > 0 && e->tomb_id == 0) ||
        (e->n_rows > 0 && tid_cmp(e->id_min, e->id_max) > 0))
        return -1;
    return 0; /* trailing bytes: fields of a later version */
}

/* Decodes `count` length-prefixed records into a fresh array whose token
 * counts share one block (*tokens_out, owned). */
static infino_status get_records(struct snap_sf **out, uint64_t **tokens_out,
                                 size_t *n_out, struct rd *body,
                                 uint64_t count, uint32_t n_fts,
                                 const char *name)
{
    struct snap_sf *v;
    uint64_t *tok;

    *out = NULL;
    *tokens_out = NULL;
    *n_out = 0;
    if (count > rd_left(body))
        return err_set(INFINO_ERR_CORRUPT, "%s: bad superfile count", name);
    v = mem_calloc(count ? (size_t)count : 1, sizeof *v);
    tok = mem_calloc((count ? (size_t)count : 1) * (n_fts ? n_fts : 1),
                     sizeof *tok);
    if (v == NULL || tok == NULL) {
        mem_free(v);
        mem_free(tok);
        return err_nomem();
    }
    *out = v;
    *tokens_out = tok;
    for (uint64_t i = 0; i < count; i++) {
        const uint8_t *rp;
        size_t rn;
        struct rd rec;

        v[i].fts_tokens = tok + (size_t)i * n_fts;
        (*n_out)++;
        if (doc_get_bytes(body, &rp, &rn) != 0)
            return err_set(INFINO_ERR_CORRUPT,
                           "%s: truncated superfile entry", name);
        rec = rd_make(rp, rn);
        if (get_record(&rec, &v[i], n_fts) != 0)
            return err_set(INFINO_ERR_CORRUPT, "%s: bad superfile entry %llu",
                           name, (unsigned long long)i);
    }
    return INFINO_OK;
}

void snap_doc_free(struct snap_doc *d)
{
    if (d == NULL)
        return;
    snapshot_free(&d->full);
    mem_free(d->removed);
    mem_free(d->changed);
    mem_free(d->changed_tokens);
    mem_free(d->added);
    mem_free(d->added_tokens);
    mem_free(d->schema_ipc);
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
    if (format != SNAP_FORMAT && format != SNAP_FORMAT_SCHEMA) {
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
    if (format == SNAP_FORMAT_SCHEMA) {
        const uint8_t *sp;
        size_t sn;
        if (rd_uvarint(&body, &out->schema_id) != 0 || out->schema_id == 0 ||
            doc_get_bytes(&body, &sp, &sn) != 0 || sn == 0 ||
            sn > SNAP_SCHEMA_MAX) {
            st = err_set(INFINO_ERR_CORRUPT, "%s: bad snapshot schema", name);
            goto fail;
        }
        out->schema_ipc = mem_alloc(sn);
        if (out->schema_ipc == NULL) {
            st = err_nomem();
            goto fail;
        }
        memcpy(out->schema_ipc, sp, sn);
        out->schema_len = sn;
    }
    if (out->chain == 0) {
        struct snapshot *s = &out->full;
        s->version = out->version;
        s->parent = out->parent;
        s->created_ns = out->created_ns;
        s->n_fts = out->n_fts;
        CHECK(snapshot_set_schema(s, out->schema_id, out->schema_ipc,
                                  out->schema_len));
        struct snap_sf *recs = NULL;
        uint64_t *tok = NULL;
        size_t n_recs = 0;
        if (rd_uvarint(&body, &count) != 0) {
            st = err_set(INFINO_ERR_CORRUPT, "%s: truncated", name);
            goto fail;
        }
        st = get_records(&recs, &tok, &n_recs, &body, count, out->n_fts,
                         name);
        if (st == INFINO_OK)
            st = reserve(s, n_recs);
        for (size_t i = 0; st == INFINO_OK && i < n_recs; i++)
            st = add_unique(s, &recs[i], name);
        mem_free(recs);
        mem_free(tok);
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
    CHECK(get_records(&out->changed, &out->changed_tokens, &out->n_changed,
                      &body, count, out->n_fts, name));
    if (rd_uvarint(&body, &count) != 0) {
        st = err_set(INFINO_ERR_CORRUPT, "%s: truncated delta", name);
        goto fail;
    }
    CHECK(get_records(&out->added, &out->added_tokens, &out->n_added, &body,
                      count, out->n_fts, name));
    return INFINO_OK;
fail:
    snap_doc_free(out);
    return st;
}

infino_status snapshot_apply_doc(struct snapshot *out,
                                 const struct snapshot *base,
                                 const struct snap_doc *d, const char *name)
{
    infino_status st;

    memset(out, 0, sizeof *out);
    if (d->chain == 0)
        return snapshot_copy(out, &d->full);
    if (base->version != d->parent || base->n_fts != d->n_fts ||
        base->chain + 1 != d->chain)
        return err_set(INFINO_ERR_CORRUPT,
                       "%s: delta does not follow snapshot %llu", name,
                       (unsigned long long)base->version);
    if (d->schema_id < base->schema_id) {
        st = err_set(INFINO_ERR_CORRUPT,
                     "%s: schema %llu is older than its parent's", name,
                     (unsigned long long)d->schema_id);
        return st;
    }
    CHECK(snapshot_copy(out, base));
    out->version = d->version;
    out->parent = d->parent;
    out->created_ns = d->created_ns;
    out->chain = d->chain;
    CHECK(snapshot_set_schema(out, d->schema_id, d->schema_ipc,
                              d->schema_len));
    if (d->n_removed > 0) {
        /* Mark, then compact once: keeps order, and stays O(n) when an
         * optimize removes thousands of superfiles. */
        for (size_t i = 0; i < d->n_removed; i++) {
            long j = snapshot_find_sf(out, d->removed[i]);
            if (j < 0 || out->sf[j].n_rows == UINT64_MAX) {
                st = err_set(INFINO_ERR_CORRUPT,
                             "%s: delta removes an unknown superfile", name);
                goto fail;
            }
            out->sf[j].n_rows = UINT64_MAX; /* marked */
        }
        CHECK(compact(out));
    }
    for (size_t i = 0; i < d->n_changed; i++) {
        long j = snapshot_find_sf(out, d->changed[i].id);
        uint64_t *tokens;
        if (j < 0) {
            st = err_set(INFINO_ERR_CORRUPT,
                         "%s: delta changes an unknown superfile", name);
            goto fail;
        }
        tokens = out->sf[j].fts_tokens;
        out->sf[j] = d->changed[i];
        out->sf[j].fts_tokens = tokens;
        if (out->n_fts)
            memcpy(tokens, d->changed[i].fts_tokens,
                   out->n_fts * sizeof(uint64_t));
    }
    for (size_t i = 0; i < d->n_added; i++)
        CHECK(add_unique(out, &d->added[i], name));
    return INFINO_OK;
fail:
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
