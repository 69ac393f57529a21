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

/* The handle's registry of superfiles (one tbl_file per id, shared by
 * every view naming it) and the list of open, unpinned ones, most
 * recently used first: all under t->files_mu. */

static size_t bucket_of(const uint8_t id[SNAP_SF_ID_LEN], size_t n_buckets)
{
    uint64_t h;

    memcpy(&h, id, sizeof h); /* ids are random */
    return (size_t)(h & (n_buckets - 1));
}

static void lru_remove(struct tbl *t, struct tbl_file *f)
{
    (void)t;
    f->lru_prev->lru_next = f->lru_next;
    f->lru_next->lru_prev = f->lru_prev;
    f->lru_prev = f->lru_next = NULL;
}

static void lru_push_front(struct tbl *t, struct tbl_file *f)
{
    f->lru_next = t->lru.lru_next;
    f->lru_prev = &t->lru;
    t->lru.lru_next->lru_prev = f;
    t->lru.lru_next = f;
}

/* What an open superfile holds: closed outside the lock. */
struct file_state {
    struct store_blob *blob;
    struct sf_reader *reader;
    struct sf_indexes *indexes;
};

static void state_close(struct file_state *s)
{
    sf_indexes_free(s->indexes);
    sf_reader_free(s->reader);
    store_blob_close(s->blob);
    memset(s, 0, sizeof *s);
}

/* Takes f's open state (f must be unpinned and open) into *out. */
static void detach(struct tbl *t, struct tbl_file *f, struct file_state *out)
{
    if (f->lru_next)
        lru_remove(t, f);
    out->blob = f->blob;
    out->reader = f->reader;
    out->indexes = f->indexes;
    f->blob = NULL;
    f->reader = NULL;
    f->indexes = NULL;
    t->n_open--;
}

/* Closes least recently used files until at most max_open are open (or
 * none is left unpinned). Their states go to `victims` (cap entries),
 * closed by the caller once the lock is released. */
static size_t evict(struct tbl *t, struct file_state *victims, size_t cap)
{
    size_t n = 0;

    while (t->n_open > t->max_open && n < cap && t->lru.lru_prev != &t->lru)
        detach(t, t->lru.lru_prev, &victims[n++]);
    return n;
}

#define EVICT_BATCH 8

static void tomb_unref(struct tbl_tomb *tb)
{
    if (tb == NULL || atomic_fetch_sub(&tb->refs, 1) != 1)
        return;
    if (tb->bm) /* the system CRoaring does not accept NULL */
        roaring_bitmap_free(tb->bm);
    mem_free(tb);
}

static void keep_unref(void *payload)
{
    struct tbl_keep *k = payload;

    if (k == NULL || atomic_fetch_sub(&k->refs, 1) != 1)
        return;
    store_blob_close(k->blob);
    mem_free(k);
}

/* memory:// only: takes the object of superfile `id` for a new tbl_file
 * (struct tbl_keep). INFINO_ERR_NOTFOUND when gc has already deleted it:
 * the view being built is of a snapshot gc no longer retains, and
 * advance() looks for the newest again. */
static infino_status keep_open(struct tbl_keep **out, struct tbl *t,
                               const uint8_t id[SNAP_SF_ID_LEN])
{
    struct tbl_keep *k = mem_calloc(1, sizeof *k);
    char key[700];
    infino_status st;

    *out = NULL;
    if (k == NULL)
        return err_nomem();
    atomic_init(&k->refs, 1);
    snapshot_sf_key(key, sizeof key, t->meta.dir, id);
    st = objstore_get(t->store, key, &k->blob);
    if (st != INFINO_OK) {
        mem_free(k);
        return st;
    }
    *out = k;
    return INFINO_OK;
}

static void file_unref(struct tbl_file *f)
{
    struct tbl *t;
    struct tbl_file **pp;
    struct file_state s = {0};

    if (f == NULL || atomic_fetch_sub(&f->refs, 1) != 1)
        return;
    t = f->t;
    pthread_mutex_lock(&t->files_mu);
    for (pp = &t->file_buckets[bucket_of(f->id, t->n_file_buckets)]; *pp; pp = &(*pp)->hnext)
        if (*pp == f) {
            *pp = f->hnext;
            t->n_files--;
            break;
        }
    if (f->blob)
        detach(t, f, &s);
    pthread_mutex_unlock(&t->files_mu);
    state_close(&s);
    tomb_unref(f->tomb);
    keep_unref(f->keep);
    mem_free(f);
}

/* The registry's file for `e`, with one more reference (a new one, closed,
 * when none is alive). Called with files_mu held. */
static infino_status file_get(struct tbl_file **out, struct tbl *t,
                              const struct snap_sf *e)
{
    struct tbl_file *f;
    size_t b;

    if (t->n_files >= t->n_file_buckets) { /* grow: keep chains short */
        size_t n = t->n_file_buckets * 2;
        struct tbl_file **nb = mem_calloc(n, sizeof *nb);
        if (nb != NULL) {
            for (size_t i = 0; i < t->n_file_buckets; i++) {
                struct tbl_file *g = t->file_buckets[i], *next;
                for (; g; g = next) {
                    next = g->hnext;
                    g->hnext = nb[bucket_of(g->id, n)];
                    nb[bucket_of(g->id, n)] = g;
                }
            }
            mem_free(t->file_buckets);
            t->file_buckets = nb;
            t->n_file_buckets = n;
        }
    }
    b = bucket_of(e->id, t->n_file_buckets);
    for (f = t->file_buckets[b]; f; f = f->hnext) {
        long r = atomic_load(&f->refs);
        /* a file whose last view is going away is left to it */
        while (r > 0 && memcmp(f->id, e->id, SNAP_SF_ID_LEN) == 0 &&
               f->file_size == e->file_size && f->n_rows == e->n_rows) {
            if (atomic_compare_exchange_weak(&f->refs, &r, r + 1)) {
                *out = f;
                return INFINO_OK;
            }
        }
    }
    f = mem_calloc(1, sizeof *f);
    if (f == NULL)
        return err_nomem();
    if (!objstore_is_durable(t->store)) {
        infino_status st = keep_open(&f->keep, t, e->id);
        if (st != INFINO_OK) {
            mem_free(f);
            return st;
        }
    }
    atomic_init(&f->refs, 1);
    f->t = t;
    memcpy(f->id, e->id, SNAP_SF_ID_LEN);
    f->file_size = e->file_size;
    f->n_rows = e->n_rows;
    f->hnext = t->file_buckets[b];
    t->file_buckets[b] = f;
    t->n_files++;
    *out = f;
    return INFINO_OK;
}

/* Opens superfile `f` (no lock held): the object, its footer, the index
 * directory, checked against the snapshot. */
static infino_status state_open(struct file_state *out, struct tbl *t,
                                const struct tbl_file *f)
{
    char key[700];
    infino_status st;

    memset(out, 0, sizeof *out);
    snapshot_sf_key(key, sizeof key, t->meta.dir, f->id);
    if (f->keep) {
        /* memory://: the bytes the file kept, whether or not the object
         * is still there (struct tbl_keep) */
        uint64_t size = store_blob_size(f->keep->blob);
        const uint8_t *p = NULL;

        if (size > 0)
            CHECK(store_blob_read(f->keep->blob, 0, (size_t)size, &p));
        atomic_fetch_add(&f->keep->refs, 1);
        CHECK(store_blob_wrap(&out->blob, p, (size_t)size, key, keep_unref,
                              f->keep));
    } else {
        /* superfiles are immutable: the read cache may serve them */
        CHECK(objstore_get_immutable(t->store, key, f->file_size,
                                     &out->blob));
    }
    if (store_blob_size(out->blob) != f->file_size) {
        st = err_set(INFINO_ERR_CORRUPT,
                     "%s: size %llu, but the snapshot says %llu", key,
                     (unsigned long long)store_blob_size(out->blob),
                     (unsigned long long)f->file_size);
        goto fail;
    }
    CHECK(sf_reader_open(&out->reader, out->blob));
    CHECK(sf_indexes_new(&out->indexes, out->reader, out->blob,
                         t->meta.spec.n_fts, t->meta.spec.n_vec));
    if ((uint64_t)pq_reader_num_rows(sf_reader_parquet(out->reader)) !=
        f->n_rows) {
        st = err_set(INFINO_ERR_CORRUPT,
                     "%s: row count disagrees with the snapshot", key);
        goto fail;
    }
    return INFINO_OK;
fail:
    state_close(out);
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

static void tbl_unref(struct tbl *t);

static void chunk_unref(struct tbl_chunk *c)
{
    if (c == NULL || atomic_fetch_sub(&c->refs, 1) != 1)
        return;
    for (size_t i = 0; i < c->n; i++) {
        file_unref(c->files[i]);
        tomb_unref(c->tombs[i]);
    }
    mem_free(c);
}

static size_t n_chunks_of(size_t n_sf)
{
    return (n_sf + TBL_CHUNK - 1) / TBL_CHUNK;
}

void tbl_view_release(struct tbl_view *v)
{
    struct tbl *t;

    if (v == NULL || atomic_fetch_sub(&v->refs, 1) != 1)
        return;
    t = v->t;
    if (v->lease_key) { /* best effort: an undeleted lease expires */
        char saved[1024];
        snprintf(saved, sizeof saved, "%s", err_last());
        objstore_delete(t->store, v->lease_key);
        err_set(INFINO_OK, "%s", saved);
        mem_free(v->lease_key);
    }
    for (size_t c = 0; v->chunks && c < n_chunks_of(v->snap.n_sf); c++)
        chunk_unref(v->chunks[c]);
    mem_free(v->chunks);
    snapshot_free(&v->snap);
    mem_free(v);
    tbl_unref(t);
}

/* Whether chunk `c` of `old` lists exactly the superfiles (and tombstone
 * ids) entries [from, from + n) of `snap` list. */
static bool chunk_same(const struct tbl_view *old, size_t c,
                       const struct snapshot *snap, size_t from, size_t n)
{
    const struct snap_sf *a, *b;

    if (old == NULL || c >= n_chunks_of(old->snap.n_sf) ||
        old->chunks[c]->n != n)
        return false;
    a = &old->snap.sf[c * TBL_CHUNK];
    b = &snap->sf[from];
    for (size_t i = 0; i < n; i++)
        if (memcmp(a[i].id, b[i].id, SNAP_SF_ID_LEN) != 0 ||
            a[i].tomb_id != b[i].tomb_id || a[i].file_size != b[i].file_size)
            return false;
    return true;
}

/* A new chunk for entries [from, from + n) of `snap`. files_mu held. */
static infino_status chunk_build(struct tbl_chunk **out, struct tbl *t,
                                 const struct snapshot *snap, size_t from,
                                 size_t n)
{
    struct tbl_chunk *c = mem_calloc(1, sizeof *c);
    infino_status st = INFINO_OK;

    *out = NULL;
    if (c == NULL)
        return err_nomem();
    atomic_init(&c->refs, 1);
    for (size_t i = 0; i < n && st == INFINO_OK; i++) {
        const struct snap_sf *e = &snap->sf[from + i];
        struct tbl_file *f;

        st = file_get(&c->files[i], t, e);
        if (st != INFINO_OK)
            break;
        c->n++;
        f = c->files[i];
        if (e->tomb_id != 0 && f->tomb && f->tomb->tomb_id == e->tomb_id) {
            c->tombs[i] = f->tomb;
            atomic_fetch_add(&f->tomb->refs, 1);
        }
    }
    if (st != INFINO_OK) {
        /* references released outside the lock by the caller */
        *out = c;
        return st;
    }
    *out = c;
    return INFINO_OK;
}

/* Builds a view of `snap` (moved in). Chunks that list the same
 * superfiles as `old`'s (may be NULL) are shared; the others take their
 * files from the handle's registry and the tombstone bitmaps already
 * loaded. Opens nothing: an appending commit costs one new chunk. */
static infino_status view_build(struct tbl_view **out, struct tbl *t,
                                struct snapshot *snap, struct tbl_view *old)
{
    struct tbl_view *v;
    size_t n_chunks = n_chunks_of(snap->n_sf);
    infino_status st = tbl_schema_learn(t, snap);

    *out = NULL;
    /* The handle knows the view's schema before anyone sees the view. */
    if (st != INFINO_OK) {
        snapshot_free(snap);
        return st;
    }
    v = mem_calloc(1, sizeof *v);
    if (v == NULL) {
        snapshot_free(snap);
        return err_nomem();
    }
    atomic_init(&v->refs, 1);
    atomic_init(&v->leased, false);
    atomic_init(&v->lease_gen, 0);
    atomic_init(&v->kept_gen, 0);
    atomic_fetch_add(&t->refs, 1);
    v->t = t;
    v->snap = *snap;
    memset(snap, 0, sizeof *snap);
    v->chunks = mem_calloc(n_chunks + 1, sizeof *v->chunks);
    if (v->chunks == NULL) {
        /* chunks == NULL: release frees no chunk */
        v->snap.n_sf = 0;
        tbl_view_release(v);
        return err_nomem();
    }
    pthread_mutex_lock(&t->files_mu);
    for (size_t c = 0; c < n_chunks && st == INFINO_OK; c++) {
        size_t from = c * TBL_CHUNK, n = v->snap.n_sf - from;
        if (n > TBL_CHUNK)
            n = TBL_CHUNK;
        if (chunk_same(old, c, &v->snap, from, n)) {
            v->chunks[c] = old->chunks[c];
            atomic_fetch_add(&v->chunks[c]->refs, 1);
        } else {
            st = chunk_build(&v->chunks[c], t, &v->snap, from, n);
        }
    }
    pthread_mutex_unlock(&t->files_mu);
    if (st != INFINO_OK) {
        tbl_view_release(v); /* NULL chunks are skipped */
        return st;
    }
    *out = v;
    return INFINO_OK;
}

const struct snap_sf *tbl_view_meta(const struct tbl_view *v, size_t i)
{
    return &v->snap.sf[i];
}

infino_status tbl_view_pin(struct tbl_view *v, size_t i, struct tbl_vsf *out)
{
    struct tbl *t = v->t;
    struct tbl_chunk *c = v->chunks[i / TBL_CHUNK];
    struct tbl_file *f = c->files[i % TBL_CHUNK];
    struct tbl_tomb **slot = &c->tombs[i % TBL_CHUNK];
    const struct snap_sf *e = &v->snap.sf[i];
    struct file_state mine = {0}, victims[EVICT_BATCH];
    struct tbl_tomb *tomb = NULL;
    size_t n_victims = 0;
    infino_status st = INFINO_OK;

    memset(out, 0, sizeof *out);
    for (;;) {
        bool need_file, need_tomb;

        pthread_mutex_lock(&t->files_mu);
        if (f->blob == NULL && mine.blob) {
            f->blob = mine.blob;
            f->reader = mine.reader;
            f->indexes = mine.indexes;
            memset(&mine, 0, sizeof mine);
            t->n_open++;
        }
        if (e->tomb_id != 0 && *slot == NULL && tomb) {
            *slot = tomb; /* the chunk's reference */
            if (f->tomb == NULL || f->tomb->tomb_id != tomb->tomb_id) {
                struct tbl_tomb *prev = f->tomb;
                atomic_fetch_add(&tomb->refs, 1); /* the file's */
                f->tomb = tomb;
                tomb = prev; /* released below */
            } else {
                tomb = NULL;
            }
        }
        need_file = f->blob == NULL;
        need_tomb = e->tomb_id != 0 && *slot == NULL;
        if (!need_file && !need_tomb) {
            if (f->pins++ == 0 && f->lru_next)
                lru_remove(t, f);
            out->meta = e;
            out->reader = f->reader;
            out->indexes = f->indexes;
            out->deleted = *slot ? (*slot)->bm : NULL;
            n_victims = evict(t, victims, EVICT_BATCH);
            pthread_mutex_unlock(&t->files_mu);
            break;
        }
        pthread_mutex_unlock(&t->files_mu);
        /* Open outside the lock; a thread that wins the race installs
         * its copy and ours is closed below. */
        if (need_file && mine.blob == NULL) {
            st = state_open(&mine, t, f);
            if (st != INFINO_OK)
                break;
        }
        if (need_tomb && tomb == NULL) {
            st = tomb_open(&tomb, t, e);
            if (st != INFINO_OK)
                break;
        }
    }
    for (size_t k = 0; k < n_victims; k++)
        state_close(&victims[k]);
    state_close(&mine);
    tomb_unref(tomb);
    if (st != INFINO_OK)
        return err_context(st, "table %s", t->meta.name);
    return INFINO_OK;
}

void tbl_view_unpin(struct tbl_view *v, size_t i)
{
    struct tbl *t = v->t;
    struct tbl_file *f = v->chunks[i / TBL_CHUNK]->files[i % TBL_CHUNK];
    struct file_state victims[EVICT_BATCH];
    size_t n_victims = 0;

    pthread_mutex_lock(&t->files_mu);
    if (--f->pins == 0 && f->blob) {
        lru_push_front(t, f);
        n_victims = evict(t, victims, EVICT_BATCH);
    }
    pthread_mutex_unlock(&t->files_mu);
    for (size_t k = 0; k < n_victims; k++)
        state_close(&victims[k]);
}

size_t tbl_open_superfiles(struct tbl *t)
{
    size_t n;

    pthread_mutex_lock(&t->files_mu);
    n = t->n_open;
    pthread_mutex_unlock(&t->files_mu);
    return n;
}

/* Until when (clock_mono_ns) gc certainly keeps `v`'s snapshot; 0 when
 * that is not known. vlog_refresh_kept then skips the check that the
 * snapshot still exists: one request per call instead of two.
 *
 * Why the snapshot is kept: gc retains every version from the oldest
 * reader lease it finds fresh on (tbl_gc.c), deletes versions only below
 * that, and judges freshness on the storage's clock: fresh while storage
 * "now" minus the lease's modification time is below the reader lease
 * lifetime L. Our lease was last written by a request sent at
 * lease_mono_ns, so its modification time is no earlier than that; a gc
 * deciding before the store answers our check reads a "now" no later than
 * that answer. So if the answer comes less than L/2 after lease_mono_ns
 * on our monotonic clock, the lease is fresh for that gc, with the other
 * half absorbing any rate difference between the clocks (the margin
 * lease_is_safe() uses for writers' leases). That covers the last write
 * only; the runs in lease_gen / kept_gen cover the time before it: a
 * renewal that completed L/2 or more after the previous write starts a new
 * run (gc may have found the lease stale in between and deleted the
 * snapshot), and a run vouches for the snapshot only once the snapshot
 * was seen on storage after the run's first write. The same holds for the
 * first lease (lease_view: written, then the view checked).
 *
 * The window used is L/3, not L/2: tbl_view_touch() renews the lease once
 * it is L/3 old, so every renewal follows a call that checked both
 * versions. A purged table is the case that needs it: drop_table(purge)
 * deletes snapshots whatever the leases say; the full check notices, and
 * the renewal does not re-create the lease in the deleted folder.
 *
 * It assumes every process on the table uses the same lifetime L
 * (INFINO_READ_LEASE_SECS is a test setting; 0 turns leases and this
 * shortcut off). Read in this order: a renewal that starts a run bumps
 * lease_gen before storing lease_mono_ns, so a pair read across it shows
 * a changed lease_gen. */
static int64_t kept_until(const struct tbl *t, struct tbl_view *v)
{
    uint64_t gen;
    int64_t written;

    if (t->read_lease_ns == 0 || !atomic_load(&v->leased))
        return 0;
    gen = atomic_load(&v->lease_gen);
    if (gen == 0 || atomic_load(&v->kept_gen) != gen)
        return 0;
    written = atomic_load(&v->lease_mono_ns);
    if (atomic_load(&v->lease_gen) != gen)
        return 0;
    return written + t->read_lease_ns / 3;
}

/* The newest view, moving the handle to it when storage holds a newer
 * snapshot than `cur` (consumed: its reference moves to *out or is
 * released). */
static infino_status advance(struct tbl_view **out, struct tbl *t,
                             struct tbl_view *cur, bool full)
{
    struct tbl_view *nv = NULL;
    struct snapshot snap;
    uint64_t have = cur->snap.version, latest;
    uint64_t gen = atomic_load(&cur->lease_gen); /* before the checks */
    int64_t until = 0;
    infino_status st;

    *out = NULL;
    if (have == 0 || full) {
        st = vlog_latest(&t->log, &latest);
    } else {
        until = kept_until(t, cur);
        st = vlog_refresh_kept(&t->log, have, until, &latest);
    }
    if (st != INFINO_OK)
        goto fail;
    if (latest == have) {
        /* Without the shortcut, finding `have` newest means it was seen
         * on storage, after the lease writes of run `gen`. */
        if (until == 0 && gen != 0)
            atomic_store(&cur->kept_gen, gen);
        *out = cur;
        return INFINO_OK;
    }
    for (int attempt = 0;; attempt++) {
        st = tbl_load_snapshot(&snap, t, &cur->snap, latest);
        if (st == INFINO_OK)
            st = view_build(&nv, t, &snap, cur);
        /* A file vanishing under us means gc ran past a very old
         * snapshot: look for the newest again. */
        if (st == INFINO_ERR_NOTFOUND && attempt < 8) {
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
    return st;
}

/* Reader leases. Superfiles are opened while queries run, so a view's
 * files must outlive gc as long as the view is in use, in every process.
 * A view leases its own version ("leases/read-<version>~<tag>") before
 * its first query and drops the lease when it is freed; gc retains every
 * snapshot from the oldest fresh reader lease on. The lease is written
 * *before* checking that the view is still the newest: a collector that
 * listed leases before the lease existed had found its newest version
 * before, so that version is at most ours and gc keeps ours (the newest
 * it saw, or newer); one that lists after sees the lease. */
static infino_status lease_view(struct tbl *t, struct tbl_view *v)
{
    char object[VLOG_KEY_MAX + 96], name[64];
    struct lease_set ls = {0};
    infino_status st;

    snprintf(name, sizeof name, "read-%0*llu", VLOG_DIGITS,
             (unsigned long long)v->snap.version);
    snprintf(object, sizeof object, "%s%s", t->lease_dir, name);
    st = lease_take(&ls, t->store, t->lease_dir, object);
    if (st != INFINO_OK) {
        lease_drop_all(&ls, t->store); /* frees what take reserved */
        return st;
    }
    /* keep the key; the set's memory goes */
    v->lease_key = ls.items[0].lease_key;
    atomic_fetch_add(&v->lease_gen, 1); /* the first run (kept_until) */
    atomic_store(&v->lease_mono_ns, ls.items[0].mono_ns);
    mem_free(ls.items[0].object_key);
    mem_free(ls.items);
    return INFINO_OK;
}

void tbl_view_touch(struct tbl_view *v)
{
    struct tbl *t = v->t;
    int64_t now;

    if (!atomic_load(&v->leased) || v->lease_key == NULL)
        return;
    now = clock_mono_ns();
    if (now - atomic_load(&v->lease_mono_ns) < t->read_lease_ns / 3)
        return;
    pthread_mutex_lock(&t->lease_mu);
    if (now - atomic_load(&v->lease_mono_ns) >= t->read_lease_ns / 3) {
        if (objstore_put(t->store, v->lease_key, "", 0,
                         STORE_REPLACE | STORE_NOSYNC) == INFINO_OK) {
            /* Landed L/2 or more after the previous write: gc may have
             * found the lease stale meanwhile (kept_until). */
            if (clock_mono_ns() - atomic_load(&v->lease_mono_ns) >=
                t->read_lease_ns / 2)
                atomic_fetch_add(&v->lease_gen, 1);
            atomic_store(&v->lease_mono_ns, now);
        } else {
            err_clear(); /* the next touch tries again */
        }
    }
    pthread_mutex_unlock(&t->lease_mu);
}

/* The handle's view when a read may reuse it without asking storage
 * (tbl_view_acquire_read), else NULL. Only a view that is leased (or has
 * nothing to lease) qualifies: the lease keeps its files from gc. A lease
 * due for renewal sends the call the checking way, so that renewals
 * follow checks (kept_until) and a warm handle checks at least once per
 * third of a lease lifetime whatever max_staleness_ms says. */
static struct tbl_view *reusable(struct tbl *t, int64_t start)
{
    struct tbl_view *cur;
    int64_t checked = atomic_load(&t->checked_mono_ns);

    if (t->max_staleness_ns <= 0 || atomic_load(&t->stale) ||
        checked == INT64_MIN || start - checked >= t->max_staleness_ns ||
        atomic_load(t->commits) != atomic_load(&t->checked_commits))
        return NULL;
    pthread_mutex_lock(&t->mu);
    cur = t->current;
    if (cur->snap.version != 0 && t->read_lease_ns != 0 &&
        (!atomic_load(&cur->leased) ||
         start - atomic_load(&cur->lease_mono_ns) >= t->read_lease_ns / 3))
        cur = NULL;
    else
        atomic_fetch_add(&cur->refs, 1);
    pthread_mutex_unlock(&t->mu);
    return cur;
}

static infino_status acquire(struct tbl_view **out, struct tbl *t,
                             bool may_reuse)
{
    struct tbl_view *cur, *v;
    uint64_t commits = atomic_load(t->commits);
    int64_t start = clock_mono_ns();
    bool full;
    infino_status st;

    *out = NULL;
    if (may_reuse && (*out = reusable(t, start)) != NULL)
        return INFINO_OK;
    full = atomic_exchange(&t->stale, false);
    pthread_mutex_lock(&t->mu);
    cur = t->current;
    atomic_fetch_add(&cur->refs, 1);
    pthread_mutex_unlock(&t->mu);
    for (int round = 0;; round++) {
        CHECK(advance(&v, t, cur, full));
        full = false;
        if (v->snap.version == 0 || t->read_lease_ns == 0)
            break;
        if (atomic_load(&v->leased)) {
            tbl_view_touch(v);
            break;
        }
        pthread_mutex_lock(&t->lease_mu);
        st = INFINO_OK;
        if (!atomic_load(&v->leased)) {
            st = lease_view(t, v);
            if (st == INFINO_OK)
                atomic_store(&v->leased, true);
        }
        pthread_mutex_unlock(&t->lease_mu);
        if (st != INFINO_OK) {
            /* A purge removing the table's folder under us makes the
             * lease fail: say the table was dropped, not an I/O error. */
            infino_status alive = tbl_check_alive(t);
            if (alive != INFINO_OK)
                st = alive;
            tbl_view_release(v);
            goto fail_nocur;
        }
        /* Leased: still the newest? Else move on (rarely more than once:
         * the loop ends when no commit lands between lease and check). */
        cur = v;
        if (round == 8)
            break;
    }
    /* t->current now holds what storage held at `start` (advance installs
     * what it finds), so also every commit counted before. Concurrent
     * checks may store these out of order or mixed: each value is stored
     * once its check completed, so t->current holds the results of both
     * checks a mixed pair comes from; an older value only makes reads
     * check sooner. */
    if (t->max_staleness_ns > 0) {
        atomic_store(&t->checked_commits, commits);
        atomic_store(&t->checked_mono_ns, start);
    }
    *out = v;
    return INFINO_OK;
fail:
fail_nocur:
    return err_context(st, "table %s", t->meta.name);
}

infino_status tbl_view_acquire(struct tbl_view **out, struct tbl *t)
{
    return acquire(out, t, false);
}

infino_status tbl_view_acquire_read(struct tbl_view **out, struct tbl *t)
{
    return acquire(out, t, true);
}

struct tbl_view *tbl_view_current(struct tbl *t)
{
    struct tbl_view *cur;

    pthread_mutex_lock(&t->mu);
    cur = t->current;
    atomic_fetch_add(&cur->refs, 1);
    pthread_mutex_unlock(&t->mu);
    return cur;
}

void tbl_view_install(struct tbl *t, struct snapshot *snap)
{
    struct tbl_view *nv = NULL, *old = NULL;
    infino_status st;

    struct tbl_view *cur;

    pthread_mutex_lock(&t->mu);
    cur = t->current;
    atomic_fetch_add(&cur->refs, 1);
    pthread_mutex_unlock(&t->mu);
    st = view_build(&nv, t, snap, cur);
    tbl_view_release(cur);
    if (st != INFINO_OK) {
        /* the next acquire reads it from storage (tbl_note_commit made
         * reads check, so read-your-writes holds) */
        err_clear();
        return;
    }
    pthread_mutex_lock(&t->mu);
    if (t->current->snap.version < nv->snap.version) {
        old = t->current;
        t->current = nv;
        nv = NULL;
    }
    pthread_mutex_unlock(&t->mu);
    tbl_view_release(old);
    tbl_view_release(nv);
}

const struct snapshot *tbl_view_snapshot(const struct tbl_view *v)
{
    return &v->snap;
}

size_t tbl_view_n_sf(const struct tbl_view *v)
{
    return v->snap.n_sf;
}

struct tbl *tbl_view_table(const struct tbl_view *v)
{
    return v->t;
}

/* ---- handles ---------------------------------------------------------- */

/* Superfiles a handle keeps open (mapped) when no query pins them:
 * INFINO_MAX_OPEN_SUPERFILES, else 1024. With vm.max_map_count at 65530,
 * some sixty handles can each keep that many. */
static size_t max_open_superfiles(void)
{
    const char *e = getenv("INFINO_MAX_OPEN_SUPERFILES");
    long n = e ? strtol(e, NULL, 10) : 0;

    return n > 0 ? (size_t)n : 1024;
}

infino_status tbl_make_full_schema(struct ar_schema *out,
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

/* Fills sc->full and sc->visible from sc->user: the visible schema is
 * the full one without the columns t's spec hides (tbl_column_hidden).
 * On failure both are freed; sc->user is left to the caller. */
static infino_status schema_derive(struct tbl_schema *sc, const struct tbl *t)
{
    const struct ar_schema *full = &sc->full;
    infino_status st;

    CHECK(tbl_make_full_schema(&sc->full, &sc->user));
    sc->visible.fields = mem_calloc(full->n_fields, sizeof *full->fields);
    if (sc->visible.fields == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < full->n_fields; i++) {
        if (tbl_column_hidden(t, full->fields[i].name))
            continue;
        CHECK(ar_field_copy(&sc->visible.fields[sc->visible.n_fields],
                            &full->fields[i]));
        sc->visible.n_fields++;
    }
    return INFINO_OK;
fail:
    ar_schema_free(&sc->full);
    ar_schema_free(&sc->visible);
    return st;
}

static void schema_free(struct tbl_schema *sc)
{
    ar_schema_free(&sc->user);
    ar_schema_free(&sc->full);
    ar_schema_free(&sc->visible);
    mem_free(sc);
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
    atomic_init(&t->refs, 1);
    pthread_mutex_init(&t->mu, NULL);
    pthread_mutex_init(&t->write_mu, NULL);
    pthread_mutex_init(&t->files_mu, NULL);
    pthread_mutex_init(&t->lease_mu, NULL);
    atomic_init(&t->stale, false);
    atomic_init(&t->checked_mono_ns, INT64_MIN);
    atomic_init(&t->checked_commits, 0);
    atomic_init(&t->own_commits, 0);
    atomic_init(&t->ac_merges, 0);
    atomic_init(&t->ac_inputs, 0);
    atomic_init(&t->ac_failures, 0);
    atomic_init(&t->ac_skipped, 0);
    t->commits = opts && opts->commits ? opts->commits : &t->own_commits;
    t->lru.lru_next = t->lru.lru_prev = &t->lru;
    t->max_open = max_open_superfiles();
    /* memory:// needs no reader leases: every reader is in this process,
     * and its views hold the bytes of what they name (struct tbl_keep),
     * which gc there cannot take. Without leases, gc keeps no old
     * snapshot for idle handles, and kept_until() takes no shortcut. */
    t->read_lease_ns =
        objstore_is_durable(s) ? lease_read_secs() * 1000000000 : 0;
    t->n_file_buckets = 64;
    t->file_buckets = mem_calloc(t->n_file_buckets, sizeof *t->file_buckets);
    if (t->file_buckets == NULL) {
        st = err_nomem();
        goto fail;
    }
    if (opts)
        t->opts = *opts;
    if (t->opts.mem_budget == 0)
        t->opts.mem_budget = 256u << 20;
    if (t->opts.max_attempts <= 0)
        t->opts.max_attempts = 100;
    if (t->opts.compact_fanout == 1)
        t->opts.compact_fanout = 0; /* merging one file is no policy */
    if (t->opts.compact_max_bytes == 0)
        t->opts.compact_max_bytes = 64u << 20;
    t->max_staleness_ns =
        t->opts.max_staleness_ms > (uint64_t)INT64_MAX / 1000000
            ? INT64_MAX
            : (int64_t)t->opts.max_staleness_ms * 1000000;
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
    {
        struct tbl_schema *sc = mem_calloc(1, sizeof *sc);
        if (sc == NULL) {
            st = err_nomem();
            goto fail;
        }
        sc->id = 1;
        atomic_init(&t->schema, sc);
        CHECK(ar_schema_copy(&sc->user, &t->meta.schema));
        CHECK(schema_derive(sc, t));
    }
    idgen_init(&t->ids);
    empty.n_fts = (uint32_t)t->meta.spec.n_fts;
    CHECK(view_build(&t->current, t, &empty, NULL));
    *out = t;
    return INFINO_OK;
fail:
    tbl_close(t);
    return err_context(st, "opening table %s", e->name);
}

/* Frees the handle once its last view is gone. */
static void tbl_unref(struct tbl *t)
{
    if (t == NULL || atomic_fetch_sub(&t->refs, 1) != 1)
        return;
    cat_entry_free(&t->meta);
    for (struct tbl_schema *sc = atomic_load(&t->schema), *next; sc;
         sc = next) {
        next = sc->older;
        schema_free(sc);
    }
    mem_free(t->tmp_dir);
    mem_free(t->file_buckets);
    pthread_mutex_destroy(&t->mu);
    pthread_mutex_destroy(&t->write_mu);
    pthread_mutex_destroy(&t->files_mu);
    pthread_mutex_destroy(&t->lease_mu);
    mem_free(t);
}

void tbl_close(struct tbl *t)
{
    struct tbl_view *cur;

    if (t == NULL)
        return;
    lease_drop_all(&t->leases, t->store);
    cur = t->current;
    t->current = NULL;
    tbl_view_release(cur); /* views still held keep the handle alive */
    tbl_unref(t);
}

const char *tbl_name(const struct tbl *t)
{
    return t->meta.name;
}

const struct tbl_schema *tbl_schema_now(const struct tbl *t)
{
    return atomic_load(&((struct tbl *)t)->schema);
}

const struct ar_schema *tbl_user_schema(const struct tbl *t)
{
    return &tbl_schema_now(t)->user;
}

const struct ar_schema *tbl_full_schema(const struct tbl *t)
{
    return &tbl_schema_now(t)->full;
}

const struct ar_schema *tbl_visible_schema(const struct tbl *t)
{
    return &tbl_schema_now(t)->visible;
}

bool tbl_column_hidden(const struct tbl *t, const char *name)
{
    const struct sf_index_spec *s = &t->meta.spec;
    int i = sf_spec_fts_index(s, name);

    return i >= 0 && s->fts_opts[i].hidden;
}

infino_status tbl_hidden_error(const struct tbl *t, const char *name)
{
    return err_set(INFINO_ERR_INVALID,
                   "column '%s' of table %s is a full-text column indexed "
                   "with stored=False: it can be searched (bm25_search, "
                   "token_match, exact_match, count) but not read",
                   name, t->meta.name);
}

infino_status tbl_schema_learn(struct tbl *t, const struct snapshot *snap)
{
    struct tbl_schema *sc;
    infino_status st;

    if (snap->schema_id <= tbl_schema_now(t)->id)
        return INFINO_OK;
    sc = mem_calloc(1, sizeof *sc);
    if (sc == NULL)
        return err_nomem();
    sc->id = snap->schema_id;
    st = ar_schema_from_ipc(&sc->user, snap->schema_ipc, snap->schema_len);
    if (st == INFINO_OK)
        st = schema_derive(sc, t);
    if (st != INFINO_OK) {
        schema_free(sc);
        return err_context(st, "table %s: snapshot %llu: its schema",
                           t->meta.name, (unsigned long long)snap->version);
    }
    pthread_mutex_lock(&t->mu);
    sc->older = atomic_load(&t->schema);
    if (sc->id > sc->older->id) {
        atomic_store(&t->schema, sc);
        sc = NULL;
    }
    pthread_mutex_unlock(&t->mu);
    if (sc != NULL) /* another thread was first */
        schema_free(sc);
    return INFINO_OK;
}

infino_status tbl_refresh(struct tbl *t)
{
    struct tbl_view *v;
    infino_status st = tbl_view_acquire_read(&v, t);

    if (st == INFINO_OK)
        tbl_view_release(v);
    return st;
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

bool tbl_newer_exists(struct tbl *t, uint64_t version)
{
    uint64_t latest;

    if (vlog_refresh(&t->log, version, &latest) != INFINO_OK) {
        err_clear();
        return false;
    }
    return latest > version;
}

void tbl_note_commit(struct tbl *t)
{
    atomic_fetch_add(t->commits, 1);
}

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
     * some of the table's folders: they belong to nobody, remove them.
     * (The caller may be on its way out with an error: keep its text.) */
    if (objstore_exists(t->store, t->dropped_key)) {
        snprintf(saved, sizeof saved, "%s", err_last());
        if (catalog_dropped_purged(t->store, t->meta.dir))
            objstore_delete_prefix(t->store, t->meta.dir);
        err_set(INFINO_OK, "%s", saved);
    }
}
