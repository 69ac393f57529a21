/*
 * table.c - table handles and snapshot views (table.h).
 *
 * The current view is cached in the handle. Acquiring a view costs one
 * stat of the next snapshot number when nothing changed; when something
 * did, the new view reuses every opened superfile and tombstone bitmap of
 * the old one that is still current, so only new files are opened.
 */
#include "table_int.h"

#include "tomb.h"
#include "vlog.h"

#include "util/alloc.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- files and tombstones -------------------------------------------- */

static void file_unref(struct tbl_file *f)
{
    if (f == NULL || atomic_fetch_sub(&f->refs, 1) != 1)
        return;
    sf_indexes_free(f->indexes);
    sf_reader_free(f->reader);
    store_blob_close(f->blob);
    mem_free(f);
}

static void tomb_unref(struct tbl_tomb *tb)
{
    if (tb == NULL || atomic_fetch_sub(&tb->refs, 1) != 1)
        return;
    if (tb->bm) /* the system CRoaring does not accept NULL */
        roaring_bitmap_free(tb->bm);
    mem_free(tb);
}

static infino_status file_open(struct tbl_file **out, struct tbl *t,
                               const struct snap_sf *e)
{
    struct tbl_file *f = mem_calloc(1, sizeof *f);
    char key[700];
    infino_status st;

    *out = NULL;
    if (f == NULL)
        return err_nomem();
    atomic_init(&f->refs, 1);
    memcpy(f->id, e->id, SNAP_SF_ID_LEN);
    snapshot_sf_key(key, sizeof key, t->meta.dir, e->id);
    CHECK(objstore_get(t->store, key, &f->blob));
    if (store_blob_size(f->blob) != e->file_size) {
        st = err_set(INFINO_ERR_CORRUPT,
                     "%s: size %llu, but the snapshot says %llu", key,
                     (unsigned long long)store_blob_size(f->blob),
                     (unsigned long long)e->file_size);
        goto fail;
    }
    CHECK(sf_reader_open(&f->reader, f->blob));
    CHECK(sf_indexes_new(&f->indexes, f->reader, f->blob, t->meta.spec.n_fts,
                         t->meta.spec.n_vec));
    if ((uint64_t)pq_reader_num_rows(sf_reader_parquet(f->reader)) !=
        e->n_rows) {
        st = err_set(INFINO_ERR_CORRUPT,
                     "%s: row count disagrees with the snapshot", key);
        goto fail;
    }
    *out = f;
    return INFINO_OK;
fail:
    file_unref(f);
    return st;
}

static infino_status tomb_open(struct tbl_tomb **out, struct tbl *t,
                               const struct snap_sf *e)
{
    struct tbl_tomb *tb = mem_calloc(1, sizeof *tb);
    char key[700];
    infino_status st;

    *out = NULL;
    if (tb == NULL)
        return err_nomem();
    atomic_init(&tb->refs, 1);
    tb->tomb_id = e->tomb_id;
    snapshot_tomb_key(key, sizeof key, t->meta.dir, e->id, e->tomb_id);
    st = tomb_load(&tb->bm, t->store, key, e->id, e->n_rows);
    if (st == INFINO_OK && roaring_bitmap_get_cardinality(tb->bm) !=
                               e->n_deleted)
        st = err_set(INFINO_ERR_CORRUPT,
                     "%s: deletion count disagrees with the snapshot", key);
    if (st != INFINO_OK) {
        tomb_unref(tb);
        return st;
    }
    *out = tb;
    return INFINO_OK;
}

/* ---- views ------------------------------------------------------------ */

void tbl_view_release(struct tbl_view *v)
{
    if (v == NULL || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    for (size_t i = 0; i < v->snap.n_sf; i++) {
        if (v->files)
            file_unref(v->files[i]);
        if (v->tombs)
            tomb_unref(v->tombs[i]);
    }
    mem_free(v->files);
    mem_free(v->tombs);
    mem_free(v->vsf);
    snapshot_free(&v->snap);
    mem_free(v);
}

/* Builds a view of `snap` (moved in), reusing what `old` has open. */
static infino_status view_build(struct tbl_view **out, struct tbl *t,
                                struct snapshot *snap, struct tbl_view *old)
{
    struct tbl_view *v = mem_calloc(1, sizeof *v);
    struct snap_index old_idx = {0};
    size_t n = snap->n_sf;
    infino_status st = INFINO_OK;

    *out = NULL;
    if (v == NULL) {
        snapshot_free(snap);
        return err_nomem();
    }
    atomic_init(&v->refs, 1);
    v->t = t;
    v->snap = *snap;
    memset(snap, 0, sizeof *snap);
    v->files = mem_calloc(n + 1, sizeof *v->files);
    v->tombs = mem_calloc(n + 1, sizeof *v->tombs);
    v->vsf = mem_calloc(n + 1, sizeof *v->vsf);
    if (!v->files || !v->tombs || !v->vsf) {
        st = err_nomem();
        goto fail;
    }
    if (old)
        CHECK(snap_index_build(&old_idx, &old->snap));
    for (size_t i = 0; i < n; i++) {
        const struct snap_sf *e = &v->snap.sf[i];
        long j = old ? snap_index_find(&old_idx, e->id) : -1;

        if (j >= 0) {
            v->files[i] = old->files[j];
            atomic_fetch_add(&v->files[i]->refs, 1);
        } else {
            CHECK(file_open(&v->files[i], t, e));
        }
        if (e->tomb_id != 0) {
            if (j >= 0 && old->tombs[j] && old->tombs[j]->tomb_id == e->tomb_id) {
                v->tombs[i] = old->tombs[j];
                atomic_fetch_add(&v->tombs[i]->refs, 1);
            } else {
                CHECK(tomb_open(&v->tombs[i], t, e));
            }
        }
        v->vsf[i].meta = e;
        v->vsf[i].reader = v->files[i]->reader;
        v->vsf[i].indexes = v->files[i]->indexes;
        v->vsf[i].deleted = v->tombs[i] ? v->tombs[i]->bm : NULL;
    }
    snap_index_free(&old_idx);
    *out = v;
    return INFINO_OK;
fail:
    snap_index_free(&old_idx);
    tbl_view_release(v);
    return st;
}

infino_status tbl_view_acquire(struct tbl_view **out, struct tbl *t)
{
    struct tbl_view *cur, *nv = NULL;
    struct snapshot snap;
    uint64_t have, latest;
    infino_status st;

    *out = NULL;
    pthread_mutex_lock(&t->mu);
    cur = t->current;
    atomic_fetch_add(&cur->refs, 1);
    pthread_mutex_unlock(&t->mu);

    have = cur->snap.version;
    if (have == 0 || atomic_exchange(&t->stale, false))
        st = vlog_latest(&t->log, &latest);
    else
        st = vlog_refresh(&t->log, have, &latest);
    if (st != INFINO_OK)
        goto fail;
    if (latest == have) {
        *out = cur;
        return INFINO_OK;
    }
    for (int attempt = 0;; attempt++) {
        st = tbl_load_snapshot(&snap, t, &cur->snap, latest);
        if (st == INFINO_OK)
            st = view_build(&nv, t, &snap, cur);
        /* A file vanishing under us means gc ran past a very old
         * snapshot: look for the newest again. */
        if (st == INFINO_ERR_NOTFOUND && attempt < 3) {
            err_clear();
            CHECK(vlog_latest(&t->log, &latest));
            continue;
        }
        if (st != INFINO_OK)
            goto fail;
        break;
    }
    pthread_mutex_lock(&t->mu);
    if (t->current->snap.version < nv->snap.version) {
        struct tbl_view *old = t->current;
        t->current = nv;
        atomic_fetch_add(&nv->refs, 1);
        pthread_mutex_unlock(&t->mu);
        tbl_view_release(old);
    } else {
        pthread_mutex_unlock(&t->mu);
    }
    tbl_view_release(cur);
    *out = nv;
    return INFINO_OK;
fail:
    tbl_view_release(cur);
    return err_context(st, "table %s", t->meta.name);
}

const struct snapshot *tbl_view_snapshot(const struct tbl_view *v)
{
    return &v->snap;
}

size_t tbl_view_n_sf(const struct tbl_view *v)
{
    return v->snap.n_sf;
}

const struct tbl_vsf *tbl_view_sf(const struct tbl_view *v, size_t i)
{
    return &v->vsf[i];
}

struct tbl *tbl_view_table(const struct tbl_view *v)
{
    return v->t;
}

/* ---- handles ---------------------------------------------------------- */

static infino_status make_full_schema(struct ar_schema *out,
                                      const struct ar_schema *user)
{
    struct ar_schema s = {0};
    infino_status st;

    s.fields = mem_calloc(user->n_fields + 1, sizeof *s.fields);
    if (s.fields == NULL)
        return err_nomem();
    s.fields[0].name = mem_strdup(TBL_ID_COLUMN);
    if (s.fields[0].name == NULL) {
        mem_free(s.fields);
        return err_nomem();
    }
    s.fields[0].type = AR_DECIMAL128;
    s.fields[0].precision = 38;
    s.fields[0].scale = 0;
    s.fields[0].nullable = false;
    s.n_fields = 1;
    for (size_t i = 0; i < user->n_fields; i++) {
        CHECK(ar_field_copy(&s.fields[i + 1], &user->fields[i]));
        s.n_fields++;
    }
    *out = s;
    return INFINO_OK;
fail:
    ar_schema_free(&s);
    return st;
}

infino_status tbl_open(struct tbl **out, struct objstore *s,
                       const struct cat_entry *e, const struct tbl_opts *opts)
{
    struct tbl *t = mem_calloc(1, sizeof *t);
    struct snapshot empty = {0};
    infino_status st;

    *out = NULL;
    if (t == NULL)
        return err_nomem();
    t->store = s;
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->write_mu, NULL);
    atomic_init(&t->stale, false);
    if (opts)
        t->opts = *opts;
    if (t->opts.mem_budget == 0)
        t->opts.mem_budget = 256u << 20;
    if (t->opts.max_attempts <= 0)
        t->opts.max_attempts = 100;
    if (opts && opts->tmp_dir) {
        t->tmp_dir = mem_strdup(opts->tmp_dir);
        if (t->tmp_dir == NULL) {
            st = err_nomem();
            goto fail;
        }
    }
    t->opts.tmp_dir = t->tmp_dir;
    CHECK(cat_entry_copy(&t->meta, e));
    {
        char prefix[VLOG_KEY_MAX];
        snprintf(prefix, sizeof prefix, "%ssnapshots/", t->meta.dir);
        snprintf(t->lease_dir, sizeof t->lease_dir, "%s%s", t->meta.dir,
                 LEASE_DIR);
        CHECK(vlog_init(&t->log, s, prefix, t->lease_dir));
        catalog_dropped_key(t->dropped_key, sizeof t->dropped_key,
                            t->meta.dir);
    }
    CHECK(make_full_schema(&t->full, &t->meta.schema));
    idgen_init(&t->ids);
    empty.n_fts = (uint32_t)t->meta.spec.n_fts;
    CHECK(view_build(&t->current, t, &empty, NULL));
    *out = t;
    return INFINO_OK;
fail:
    tbl_close(t);
    return err_context(st, "opening table %s", e->name);
}

void tbl_close(struct tbl *t)
{
    if (t == NULL)
        return;
    lease_drop_all(&t->leases, t->store);
    tbl_view_release(t->current);
    cat_entry_free(&t->meta);
    ar_schema_free(&t->full);
    mem_free(t->tmp_dir);
    pthread_mutex_destroy(&t->mu);
    pthread_mutex_destroy(&t->write_mu);
    mem_free(t);
}

const char *tbl_name(const struct tbl *t)
{
    return t->meta.name;
}

const struct ar_schema *tbl_user_schema(const struct tbl *t)
{
    return &t->meta.schema;
}

const struct ar_schema *tbl_full_schema(const struct tbl *t)
{
    return &t->full;
}

const struct sf_index_spec *tbl_spec(const struct tbl *t)
{
    return &t->meta.spec;
}

struct objstore *tbl_store(const struct tbl *t)
{
    return t->store;
}

bool tbl_is_durable(const struct tbl *t)
{
    return objstore_is_durable(t->store);
}

/* ---- writers ---------------------------------------------------------- */

infino_status tbl_check_alive(struct tbl *t)
{
    if (objstore_exists(t->store, t->dropped_key))
        return err_set(INFINO_ERR_NOTFOUND,
                       "table '%s' was dropped; open it again if it was "
                       "re-created",
                       t->meta.name);
    return INFINO_OK;
}

infino_status tbl_write_begin(struct tbl *t)
{
    return tbl_check_alive(t);
}

void tbl_write_end(struct tbl *t)
{
    char saved[1024];

    lease_drop_all(&t->leases, t->store);
    /* A write that raced with drop_table(purge=True) may have re-created
     * some of the table's folders: they belong to nobody, remove them. */
    if (objstore_exists(t->store, t->dropped_key) &&
        catalog_dropped_purged(t->store, t->meta.dir)) {
        snprintf(saved, sizeof saved, "%s", err_last());
        objstore_delete_prefix(t->store, t->meta.dir);
        err_set(INFINO_OK, "%s", saved);
    }
}
