/*
 * catalog.c - the versioned table catalog (catalog.h).
 *
 * Document "INFCATLG" v1 body:
 *   uvarint n_tables, then per table (sorted by name):
 *     bytes name | bytes dir | svarint created_ns | bytes schema (Arrow IPC
 *     schema message) | bytes index spec (sf_spec_encode)
 */
#include "catalog.h"

#include "lease.h"
#include "objlist.h"
#include "vlog.h"

#include "util/alloc.h"
#include "util/clock.h"
#include "util/doc.h"
#include "util/err.h"
#include "util/random.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CATALOG_MAGIC "INFCATLG"
#define CATALOG_VERSION 1
#define MAX_ATTEMPTS 200

/* The rule for table names, with the longest length allowed. */
static bool name_valid(const char *name, size_t max_len)
{
    size_t n = name ? strlen(name) : 0;

    if (n == 0 || n > max_len || name[0] == '_')
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-'))
            return false;
    }
    return true;
}

bool catalog_name_valid(const char *name)
{
    return name_valid(name, TABLE_NAME_MAX);
}

infino_status catalog_check_name(const char *name)
{
    size_t n = name ? strlen(name) : 0;

    if (catalog_name_valid(name))
        return INFINO_OK;
    /* the name is echoed in part, so that the reason always shows */
    return err_set(INFINO_ERR_INVALID,
                   "invalid table name '%.64s%s' (%zu characters): use "
                   "1-%d characters of [A-Za-z0-9_-], not starting with '_'",
                   name ? name : "(null)", n > 64 ? "..." : "", n,
                   TABLE_NAME_MAX);
}

/* ASCII case folding, as SQLite compares identifiers. */
static int fold(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static bool equal_folded(const char *a, const char *b)
{
    while (*a && fold((unsigned char)*a) == fold((unsigned char)*b)) {
        a++;
        b++;
    }
    return *a == '\0' && *b == '\0';
}

static bool starts_folded(const char *s, const char *prefix)
{
    for (; *prefix; s++, prefix++)
        if (fold((unsigned char)*s) != fold((unsigned char)*prefix))
            return false;
    return true;
}

/* Whether field `f` (a column, or a list's item when `in_list`) has a
 * type the Parquet writer stores, the readers give back and the SQL
 * layer maps: a scalar, or a list of one (pq_shape_of, pq_schema.c). */
static bool type_served(const struct ar_field *f, bool in_list)
{
    switch (f->type) {
    case AR_BOOL:
    case AR_INT8:
    case AR_INT16:
    case AR_INT32:
    case AR_INT64:
    case AR_UINT8:
    case AR_UINT16:
    case AR_UINT32:
    case AR_UINT64:
    case AR_FLOAT32:
    case AR_FLOAT64:
    case AR_UTF8:
    case AR_LARGE_UTF8:
    case AR_BINARY:
    case AR_LARGE_BINARY:
    case AR_DATE32:
    case AR_TIMESTAMP:
        return true;
    case AR_DECIMAL128:
        /* Parquet's DECIMAL needs 0 <= scale <= precision */
        return f->scale >= 0 && f->scale <= f->precision;
    case AR_LIST:
    case AR_LARGE_LIST:
    case AR_FIXED_SIZE_LIST:
        return !in_list && f->n_children == 1 &&
               type_served(&f->children[0], true);
    default:
        return false; /* struct, and anything added to ar_type later */
    }
}

/* INFINO_ERR_INVALID for column `f`, whose type is not served. */
static infino_status type_refused(const struct ar_field *f)
{
    struct buf d = {0};
    infino_status st = ar_type_describe(&d, f);

    if (st == INFINO_OK)
        st = err_set(INFINO_ERR_INVALID,
                     "column '%.200s': type %.300s is not supported "
                     "(supported: " TABLE_TYPES_TEXT ")",
                     f->name, (const char *)d.data);
    buf_free(&d);
    return st;
}

infino_status catalog_check_schema(const struct ar_schema *s)
{
    if (s->n_fields == 0)
        return err_set(INFINO_ERR_INVALID, "a table needs at least one column");
    if (s->n_fields > TABLE_COLUMNS_MAX - 1)
        return err_set(INFINO_ERR_INVALID,
                       "too many columns: a table has at most %d, '"
                       TBL_ID_COLUMN "' included; this one would have %zu",
                       TABLE_COLUMNS_MAX, s->n_fields + 1);
    for (size_t i = 0; i < s->n_fields; i++) {
        const struct ar_field *f = &s->fields[i];

        if (f->name[0] == '\0')
            return err_set(INFINO_ERR_INVALID,
                           "column %zu has an empty name", i + 1);
        if (equal_folded(f->name, TBL_ID_COLUMN))
            return err_set(INFINO_ERR_INVALID,
                           "column '%s' is reserved: the engine assigns '"
                           TBL_ID_COLUMN "'",
                           f->name);
        if (starts_folded(f->name, TABLE_RESERVED_PREFIX))
            return err_set(INFINO_ERR_INVALID,
                           "column '%.200s': names starting with '"
                           TABLE_RESERVED_PREFIX "' (in any case) are "
                           "reserved",
                           f->name);
        for (size_t j = 0; j < i; j++) {
            if (strcmp(f->name, s->fields[j].name) == 0)
                return err_set(INFINO_ERR_INVALID,
                               "column '%.200s' appears twice", f->name);
            if (equal_folded(f->name, s->fields[j].name))
                return err_set(INFINO_ERR_INVALID,
                               "columns '%.200s' and '%.200s' differ only in "
                               "case, which SQL does not tell apart",
                               s->fields[j].name, f->name);
        }
        if (!type_served(f, false))
            return type_refused(f);
    }
    return INFINO_OK;
}

void cat_entry_free(struct cat_entry *e)
{
    if (e == NULL)
        return;
    mem_free(e->name);
    mem_free(e->dir);
    ar_schema_free(&e->schema);
    sf_spec_free(&e->spec);
    memset(e, 0, sizeof *e);
}

infino_status cat_entry_copy(struct cat_entry *out, const struct cat_entry *e)
{
    infino_status st;

    memset(out, 0, sizeof *out);
    out->created_ns = e->created_ns;
    out->name = mem_strdup(e->name);
    out->dir = mem_strdup(e->dir);
    if (out->name == NULL || out->dir == NULL) {
        st = err_nomem();
        goto fail;
    }
    CHECK(ar_schema_copy(&out->schema, &e->schema));
    CHECK(sf_spec_copy(&out->spec, &e->spec));
    return INFINO_OK;
fail:
    cat_entry_free(out);
    return st;
}

void catalog_free(struct catalog *c)
{
    if (c == NULL)
        return;
    for (size_t i = 0; i < c->n; i++)
        cat_entry_free(&c->entries[i]);
    mem_free(c->entries);
    memset(c, 0, sizeof *c);
}

const struct cat_entry *catalog_find(const struct catalog *c, const char *name)
{
    size_t lo = 0, hi = c->n;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int cmp = strcmp(c->entries[mid].name, name);
        if (cmp == 0)
            return &c->entries[mid];
        if (cmp < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

infino_status catalog_encode(struct buf *out, const struct catalog *c)
{
    struct buf ipc = {0}, spec = {0};
    infino_status st;

    CHECK(doc_begin(out, CATALOG_MAGIC, CATALOG_VERSION));
    CHECK(buf_put_uvarint(out, c->n));
    for (size_t i = 0; i < c->n; i++) {
        const struct cat_entry *e = &c->entries[i];
        buf_reset(&ipc);
        buf_reset(&spec);
        CHECK(ar_schema_to_ipc(&ipc, &e->schema));
        CHECK(sf_spec_encode(&spec, &e->spec));
        CHECK(doc_put_bytes(out, e->name, strlen(e->name)));
        CHECK(doc_put_bytes(out, e->dir, strlen(e->dir)));
        CHECK(buf_put_svarint(out, e->created_ns));
        CHECK(doc_put_bytes(out, ipc.data, ipc.len));
        CHECK(doc_put_bytes(out, spec.data, spec.len));
    }
    CHECK(doc_seal(out));
fail:
    buf_free(&ipc);
    buf_free(&spec);
    return st;
}

static infino_status get_str(struct rd *r, char **out, const char *what)
{
    const uint8_t *p;
    size_t n;

    if (doc_get_bytes(r, &p, &n) != 0 || memchr(p, 0, n) != NULL)
        return err_set(INFINO_ERR_CORRUPT, "bad %s", what);
    *out = mem_strndup((const char *)p, n);
    return *out ? INFINO_OK : err_nomem();
}

infino_status catalog_decode(struct catalog *out, const uint8_t *p, size_t n,
                             const char *name)
{
    struct rd body, sub;
    uint32_t version;
    uint64_t count;
    infino_status st;
    const uint8_t *bp;
    size_t bn;

    memset(out, 0, sizeof *out);
    CHECK(doc_open(&body, &version, p, n, CATALOG_MAGIC, name));
    if (version != CATALOG_VERSION) {
        st = err_set(INFINO_ERR_UNSUPPORTED, "catalog format %u", version);
        goto fail;
    }
    if (rd_uvarint(&body, &count) != 0 || count > rd_left(&body)) {
        st = err_set(INFINO_ERR_CORRUPT, "bad table count");
        goto fail;
    }
    out->entries = mem_calloc((size_t)count, sizeof *out->entries);
    if (out->entries == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (uint64_t i = 0; i < count; i++) {
        struct cat_entry *e = &out->entries[i];
        out->n++;
        CHECK(get_str(&body, &e->name, "table name"));
        CHECK(get_str(&body, &e->dir, "table folder"));
        if (!name_valid(e->name, TABLE_NAME_MAX_STORED) ||
            !objstore_key_valid(e->dir) ||
            (i > 0 && strcmp(out->entries[i - 1].name, e->name) >= 0)) {
            st = err_set(INFINO_ERR_CORRUPT, "bad or unsorted table entry");
            goto fail;
        }
        if (rd_svarint(&body, &e->created_ns) != 0 ||
            doc_get_bytes(&body, &bp, &bn) != 0) {
            st = err_set(INFINO_ERR_CORRUPT, "table '%s': truncated", e->name);
            goto fail;
        }
        CHECK(ar_schema_from_ipc(&e->schema, bp, bn));
        if (doc_get_bytes(&body, &bp, &bn) != 0) {
            st = err_set(INFINO_ERR_CORRUPT, "table '%s': truncated", e->name);
            goto fail;
        }
        sub = rd_make(bp, bn);
        CHECK(sf_spec_decode(&e->spec, &sub));
    }
    return INFINO_OK;
fail:
    catalog_free(out);
    return err_context(st, "%s", name);
}

static infino_status cat_log(struct vlog *l, struct objstore *s)
{
    return vlog_init(l, s, CATALOG_PREFIX, CATALOG_LEASE_DIR);
}

infino_status catalog_load(struct catalog *out, struct objstore *s)
{
    struct store_blob *b = NULL;
    struct vlog log;
    const uint8_t *p;
    uint64_t v;
    infino_status st;

    memset(out, 0, sizeof *out);
    CHECK(cat_log(&log, s));
    for (int attempt = 0;; attempt++) {
        CHECK(vlog_latest(&log, &v));
        if (v == 0)
            return INFINO_OK;
        st = vlog_get(&log, v, &b);
        /* gc may remove an old version between listing and reading. */
        if (st == INFINO_ERR_NOTFOUND && attempt < 5) {
            err_clear();
            continue;
        }
        if (st != INFINO_OK)
            goto fail;
        break;
    }
    CHECK(store_blob_read(b, 0, (size_t)store_blob_size(b), &p));
    CHECK(catalog_decode(out, p, (size_t)store_blob_size(b),
                         store_blob_name(b)));
    out->version = v;
    store_blob_close(b);
    return INFINO_OK;
fail:
    store_blob_close(b);
    return err_context(st, "loading the catalog");
}

static void backoff(int attempt)
{
    clock_backoff(attempt, 1000, 64000); /* 1 ms doubling to 64 ms */
}

/* Publishes `c` as the version after c->version. INFINO_ERR_CONFLICT:
 * not published, load and try again. */
static infino_status publish(struct objstore *s, const struct catalog *c,
                             enum vlog_outcome *outcome)
{
    struct buf doc = {0};
    struct vlog log;
    bool stale;
    infino_status st = cat_log(&log, s);

    *outcome = VLOG_NOT_PUBLISHED;
    if (st == INFINO_OK)
        st = catalog_encode(&doc, c);
    if (st == INFINO_OK)
        st = vlog_publish(&log, c->version + 1, doc.data, doc.len, outcome,
                          &stale);
    buf_free(&doc);
    return st;
}

void catalog_dropped_key(char *out, size_t cap, const char *dir)
{
    const char *leaf = dir;
    size_t n;

    if (strncmp(leaf, "tables/", 7) == 0)
        leaf += 7;
    n = strlen(leaf);
    while (n > 0 && leaf[n - 1] == '/')
        n--;
    snprintf(out, cap, "%s%.*s", CATALOG_DROPPED_DIR, (int)n, leaf);
}

bool catalog_dropped_purged(struct objstore *s, const char *dir)
{
    char key[700];
    struct store_blob *b = NULL;
    const uint8_t *p;
    bool purged = false;

    catalog_dropped_key(key, sizeof key, dir);
    if (objstore_get(s, key, &b) == INFINO_OK &&
        store_blob_size(b) == 5 && store_blob_read(b, 0, 5, &p) == INFINO_OK)
        purged = memcmp(p, "purge", 5) == 0;
    store_blob_close(b);
    err_clear();
    return purged;
}

infino_status catalog_create(struct cat_entry *out, struct objstore *s,
                             const char *name, const struct ar_schema *schema,
                             const struct sf_index_spec *spec)
{
    struct catalog c = {0};
    struct cat_entry e = {0};
    enum vlog_outcome outcome;
    infino_status st;
    char dir[TABLE_NAME_MAX + 64], rnd[17];
    uint8_t rb[8];

    memset(out, 0, sizeof *out);
    CHECK(catalog_check_name(name));
    CHECK(catalog_check_schema(schema));
    CHECK(sf_spec_validate(spec, schema));
    e.created_ns = clock_now_ns();
    random_bytes(rb, sizeof rb);
    hex_encode(rnd, rb, sizeof rb);
    snprintf(dir, sizeof dir, "tables/%s-%" PRIx64 "-%s/", name,
             (uint64_t)e.created_ns, rnd);
    e.name = mem_strdup(name);
    e.dir = mem_strdup(dir);
    if (e.name == NULL || e.dir == NULL) {
        st = err_nomem();
        goto fail;
    }
    CHECK(ar_schema_copy(&e.schema, schema));
    CHECK(sf_spec_copy(&e.spec, spec));
    for (int attempt = 0;; attempt++) {
        size_t pos = 0;
        struct cat_entry *grown;

        CHECK(catalog_load(&c, s));
        if (catalog_find(&c, name) != NULL) {
            st = err_set(INFINO_ERR_EXISTS, "table '%s' already exists",
                         name);
            goto fail;
        }
        while (pos < c.n && strcmp(c.entries[pos].name, name) < 0)
            pos++;
        grown = mem_realloc(c.entries, (c.n + 1) * sizeof *grown);
        if (grown == NULL) {
            st = err_nomem();
            goto fail;
        }
        c.entries = grown;
        memmove(&c.entries[pos + 1], &c.entries[pos],
                (c.n - pos) * sizeof *grown);
        c.entries[pos] = e; /* borrowed for encoding only */
        c.n++;
        st = publish(s, &c, &outcome);
        /* give the entry back before freeing the catalog */
        memmove(&c.entries[pos], &c.entries[pos + 1],
                (c.n - pos - 1) * sizeof *grown);
        c.n--;
        catalog_free(&c);
        if (st == INFINO_OK)
            break;
        if (st != INFINO_ERR_CONFLICT || attempt >= MAX_ATTEMPTS)
            goto fail;
        backoff(attempt);
    }
    *out = e;
    return INFINO_OK;
fail:
    catalog_free(&c);
    cat_entry_free(&e);
    return st;
}

/* Writes the dropped marker of `dir`. */
static infino_status put_marker(struct objstore *s, const char *dir, bool purge)
{
    char key[700];

    catalog_dropped_key(key, sizeof key, dir);
    return objstore_put(s, key, purge ? "purge" : "keep", purge ? 5 : 4,
                        STORE_REPLACE);
}

infino_status catalog_drop(char **dir_out, struct objstore *s,
                           const char *name, const char *only_dir, bool purge)
{
    struct catalog c = {0};
    enum vlog_outcome outcome = VLOG_NOT_PUBLISHED;
    infino_status st;
    char *dir = NULL, *marked = NULL, key[700];

    *dir_out = NULL;
    for (int attempt = 0;; attempt++) {
        const struct cat_entry *e;
        size_t pos;
        struct cat_entry removed;

        CHECK(catalog_load(&c, s));
        e = catalog_find(&c, name);
        if (marked && (e == NULL || strcmp(e->dir, marked) != 0)) {
            /* Someone else (an opener finishing an interrupted drop)
             * removed the incarnation we marked: our drop happened. */
            catalog_free(&c);
            dir = marked;
            marked = NULL;
            break;
        }
        if (e == NULL || (only_dir && strcmp(e->dir, only_dir) != 0)) {
            st = err_set(INFINO_ERR_NOTFOUND, "table '%s' not found", name);
            goto fail;
        }
        pos = (size_t)(e - c.entries);
        /* The marker first: from here on no handle commits to the
         * folder, even if this process dies before the catalog says so
         * (catalog_settle() then finishes the drop). */
        CHECK(put_marker(s, e->dir, purge));
        if (marked == NULL && (marked = mem_strdup(e->dir)) == NULL) {
            st = err_nomem();
            goto fail;
        }
        removed = c.entries[pos];
        memmove(&c.entries[pos], &c.entries[pos + 1],
                (c.n - pos - 1) * sizeof *c.entries);
        c.n--;
        st = publish(s, &c, &outcome);
        catalog_free(&c);
        if (st == INFINO_OK || (st != INFINO_ERR_CONFLICT &&
                                outcome == VLOG_NOT_PUBLISHED) ||
            attempt >= MAX_ATTEMPTS) {
            dir = removed.dir;
            removed.dir = NULL;
        }
        cat_entry_free(&removed);
        if (st == INFINO_OK)
            break;
        if (dir != NULL) {
            /* Certainly not dropped: the table stays writable. */
            catalog_dropped_key(key, sizeof key, dir);
            if (objstore_delete(s, key) != INFINO_OK)
                err_clear(); /* then catalog_settle() drops it */
            mem_free(dir);
            dir = NULL;
            goto fail;
        }
        if (st != INFINO_ERR_CONFLICT)
            goto fail; /* maybe dropped: the marker stays */
        backoff(attempt);
    }
    mem_free(marked);
    /* A concurrent drop that failed may have taken our marker back. */
    catalog_dropped_key(key, sizeof key, dir);
    if (!objstore_exists(s, key) && put_marker(s, dir, purge) != INFINO_OK)
        err_clear();
    *dir_out = dir;
    return INFINO_OK;
fail:
    mem_free(marked);
    catalog_free(&c);
    return st;
}

infino_status catalog_gc(struct objstore *s, double grace_secs,
                         uint64_t *n_deleted, uint64_t *bytes_freed)
{
    struct objlist objs = {0};
    struct vlog log;
    int64_t now, cutoff, lease_cutoff;
    uint64_t latest, reserved, oldest, floor, n = 0, bytes = 0;
    infino_status st;

    if (!objstore_is_durable(s))
        return INFINO_OK;
    if (!(grace_secs > 0))
        grace_secs = 0;
    CHECK(cat_log(&log, s));
    now = lease_storage_now(s, CATALOG_LEASE_DIR);
    cutoff = now - (int64_t)(grace_secs * 1e9);
    lease_cutoff = now - (int64_t)LEASE_SECS * 1000000000;
    /* Listing first, then the newest version, then reservations: a
     * writer that publishes after we found the newest is either seen by
     * its reservation or above everything we delete. */
    CHECK(objstore_list_all(s, CATALOG_PREFIX, objlist_collect, &objs));
    CHECK(vlog_latest(&log, &latest));
    if (latest == 0)
        goto sweep;
    CHECK(vlog_min_reserved(&log, lease_cutoff, &reserved));
    oldest = latest; /* and every version a reader may still be opening */
    for (size_t i = 0; i < objs.n; i++) {
        uint64_t v = vlog_parse(objs.items[i].key, CATALOG_PREFIX);
        if (v > 0 && v < oldest && objs.items[i].mtime_ns >= cutoff)
            oldest = v;
    }
    floor = oldest < reserved ? oldest : reserved;
    CHECK(vlog_raise_floor(&log, floor));
    CHECK(vlog_delete_below(&log, &objs, floor, &n, &bytes));
sweep:
    /* Expired reservations and writes that died long ago. */
    for (size_t i = 0; i < objs.n; i++) {
        const struct obj *o = &objs.items[i];
        char base[256];
        bool lease = strncmp(o->key, CATALOG_LEASE_DIR,
                             strlen(CATALOG_LEASE_DIR)) == 0 &&
                     lease_parse(base, sizeof base, o->key);
        if ((!lease && !objlist_is_temp(o->key)) ||
            o->mtime_ns >= lease_cutoff)
            continue;
        if (objstore_delete(s, o->key) == INFINO_OK) {
            n++;
            bytes += o->size;
        } else {
            err_clear();
        }
    }
    st = INFINO_OK;
fail:
    objlist_free(&objs);
    if (n_deleted)
        *n_deleted += n;
    if (bytes_freed)
        *bytes_freed += bytes;
    return err_context(st, "collecting old catalog versions");
}

infino_status catalog_settle(struct catalog *c, struct objstore *s)
{
    char key[700];
    bool changed = false;
    infino_status st = INFINO_OK;

    for (size_t i = 0; i < c->n && st == INFINO_OK; i++) {
        char *dir = NULL;
        bool purge;

        catalog_dropped_key(key, sizeof key, c->entries[i].dir);
        if (!objstore_exists(s, key))
            continue;
        purge = catalog_dropped_purged(s, c->entries[i].dir);
        /* only that incarnation: the name may have been re-created */
        st = catalog_drop(&dir, s, c->entries[i].name, c->entries[i].dir,
                          purge);
        if (st == INFINO_ERR_NOTFOUND) { /* someone else finished it */
            err_clear();
            st = INFINO_OK;
        }
        if (st == INFINO_OK && dir && purge &&
            objstore_delete_prefix(s, dir) != INFINO_OK)
            err_clear(); /* leftovers are only storage */
        mem_free(dir);
        changed = true;
    }
    if (st == INFINO_OK && changed) {
        catalog_free(c);
        st = catalog_load(c, s);
    }
    return err_context(st, "finishing an interrupted drop_table");
}
