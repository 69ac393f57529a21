/*
 * tbl_gc.c - removing what no retained snapshot needs (table.h).
 *
 * Order matters (docs/commit-protocol.md): we read the storage's clock,
 * list the table's objects, then its leases, then find the newest
 * snapshot, then the reserved snapshot versions, and load the snapshots to
 * retain. An object is kept when a retained snapshot references it, when
 * it is a retained snapshot (or one a writer reserved), when a live lease
 * covers it, or when it is younger than the grace period. Everything else
 * goes, including temporary files of writes that died, expired leases,
 * and superseded snapshots: those below the floor, which is raised
 * durably before any of them is deleted, in ascending order.
 * Retained snapshots: the newest, every one created within the grace
 * period, and every one from the oldest a reader lease names on (queries
 * open superfiles as they run: a view leases its version, table.c). Ages are measured on
 * the storage's clock (lease.h), so clock skew between hosts or processes
 * cannot make gc take a fresh object for an old one.
 *
 * memory:// runs the same protocol on the process's store (its clock is
 * the process's) without reader leases: every reader is in the process,
 * and a view holds the bytes of every superfile it names (struct
 * tbl_keep), so a query or scan never misses data whatever gc deletes,
 * however long it takes. Since nothing else frees a memory table's
 * merged-away files, compaction and optimize there collect after each
 * run (tbl_gc_merged) with no grace period.
 */
#include "table_int.h"

#include "objlist.h"
#include "vlog.h"

#include "util/alloc.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* A sorted set of keys. */
struct keyset {
    char **keys;
    size_t n, cap;
};

static infino_status keyset_add(struct keyset *s, const char *key)
{
    if (MEM_RESERVE(s->keys, s->cap, s->n + 1))
        return err_nomem();
    s->keys[s->n] = mem_strdup(key);
    if (s->keys[s->n] == NULL)
        return err_nomem();
    s->n++;
    return INFINO_OK;
}

static bool keyset_has(const struct keyset *s, const char *key)
{
    return s->n &&
           bsearch(&key, s->keys, s->n, sizeof *s->keys, cmp_str) != NULL;
}

static void keyset_free(struct keyset *s)
{
    for (size_t i = 0; i < s->n; i++)
        mem_free(s->keys[i]);
    mem_free(s->keys);
    memset(s, 0, sizeof *s);
}

/* Adds every object `snap` references to `live`. */
static infino_status add_references(struct keyset *live, struct tbl *t,
                                    const struct snapshot *snap)
{
    char key[700];
    infino_status st = INFINO_OK;

    for (size_t i = 0; st == INFINO_OK && i < snap->n_sf; i++) {
        snapshot_sf_key(key, sizeof key, t->meta.dir, snap->sf[i].id);
        st = keyset_add(live, key);
        if (st == INFINO_OK && snap->sf[i].tomb_id) {
            snapshot_tomb_key(key, sizeof key, t->meta.dir, snap->sf[i].id,
                              snap->sf[i].tomb_id);
            st = keyset_add(live, key);
        }
    }
    return st;
}

/* Keeps snapshot versions [c, latest], where c is the checkpoint that
 * version `oldest` is built on (readers of any retained version need the
 * chain back to it), and every object versions [oldest, latest] name.
 * INFINO_ERR_NOTFOUND when a concurrent collector removed one of them. */
static infino_status retain_from(struct keyset *live, uint64_t *c_out,
                                 struct tbl *t, uint64_t oldest,
                                 uint64_t latest)
{
    struct snap_doc d = {0};
    struct snapshot cur = {0}, next;
    char key[VLOG_KEY_MAX + 32];
    uint64_t c = oldest;
    infino_status st;

    for (int steps = 0;; steps++) { /* back to the checkpoint */
        CHECK(tbl_load_doc(&d, t, c));
        if (d.chain == 0)
            break;
        if (steps > 4 * SNAP_CHECKPOINT_EVERY) {
            st = err_set(INFINO_ERR_CORRUPT, "%s: no checkpoint before %llu",
                         t->log.prefix, (unsigned long long)oldest);
            goto fail;
        }
        c = d.parent;
        snap_doc_free(&d);
    }
    cur = d.full;
    memset(&d.full, 0, sizeof d.full);
    snap_doc_free(&d);
    for (uint64_t v = c;; v++) {
        vlog_key(key, sizeof key, t->log.prefix, v);
        CHECK(keyset_add(live, key));
        if (v >= oldest)
            CHECK(add_references(live, t, &cur));
        if (v == latest)
            break;
        CHECK(tbl_load_doc(&d, t, v + 1));
        CHECK(snapshot_apply_doc(&next, &cur, &d, t->log.prefix));
        snap_doc_free(&d);
        snapshot_free(&cur);
        cur = next;
    }
    *c_out = c;
fail:
    snap_doc_free(&d);
    snapshot_free(&cur);
    return st;
}

static const char *basename_of(const char *key)
{
    const char *slash = strrchr(key, '/');
    return slash ? slash + 1 : key;
}

struct read_ctx {
    int64_t fresh_after;
    uint64_t min;
};

static infino_status read_cb(const struct objstore_entry *e, void *payload)
{
    struct read_ctx *c = payload;
    char base[256];
    uint64_t v;

    if (e->mtime_ns < c->fresh_after || !lease_parse(base, sizeof base, e->key)
        || strncmp(base, "read-", 5) != 0)
        return INFINO_OK;
    v = vlog_parse(base, "read-");
    if (v > 0 && v < c->min)
        c->min = v;
    return INFINO_OK;
}

/* The oldest snapshot a fresh reader lease (table.c) names; UINT64_MAX
 * when none. */
static infino_status min_read_lease(uint64_t *out, struct tbl *t,
                                    int64_t fresh_after)
{
    struct read_ctx c = {fresh_after, UINT64_MAX};
    infino_status st = objstore_list(t->store, t->lease_dir, read_cb, &c);

    *out = c.min;
    return st;
}

/* Finds the oldest snapshot to retain (the newest, and every one younger
 * than the grace period) and the checkpoint it is built on, and adds what
 * versions [oldest, latest] reference to `live`. A concurrent collector
 * with a shorter grace may have removed part of that chain: then we keep
 * what it kept, from the newest version on (*latest is updated). */
static infino_status retain(struct keyset *live, uint64_t *checkpoint_out,
                            uint64_t *reserved, struct tbl *t,
                            const struct objlist *objs, int64_t cutoff,
                            int64_t lease_cutoff, int64_t read_cutoff,
                            uint64_t *latest)
{
    uint64_t oldest = *latest;
    infino_status st;

    for (size_t i = 0; i < objs->n; i++) {
        uint64_t v = vlog_parse(objs->items[i].key, t->log.prefix);
        if (v > 0 && v < oldest && objs->items[i].mtime_ns >= cutoff)
            oldest = v;
    }
    for (int attempt = 0;; attempt++) {
        uint64_t read = UINT64_MAX;
        /* Reservations and reader leases are listed after the newest
         * version is found, never before (vlog.h, table.c). */
        st = vlog_min_reserved(&t->log, lease_cutoff, reserved);
        if (st == INFINO_OK && t->read_lease_ns > 0)
            st = min_read_lease(&read, t, read_cutoff);
        if (st != INFINO_OK)
            return st;
        if (read < oldest)
            oldest = read; /* a query may still open its files */
        st = retain_from(live, checkpoint_out, t, oldest, *latest);
        if (st != INFINO_ERR_NOTFOUND || attempt == 8)
            return st;
        err_clear();
        keyset_free(live);
        st = vlog_latest(&t->log, latest);
        if (st != INFINO_OK)
            return st;
        oldest = *latest;
    }
}

infino_status tbl_gc_locked(struct tbl *t, double grace_secs,
                            struct tbl_gc_report *out)
{
    struct objlist objs = {0}, leases = {0};
    struct keyset live = {0}, leased = {0};
    char key[VLOG_KEY_MAX + 16];
    int64_t now, cutoff, lease_cutoff;
    uint64_t latest, reserved = UINT64_MAX, checkpoint = 0, floor = 0;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (!(grace_secs > 0)) /* negative and NaN clamp to 0 */
        grace_secs = 0;
    now = lease_storage_now(t->store, t->lease_dir);
    cutoff = now - (int64_t)(grace_secs * 1e9);
    lease_cutoff = now - (int64_t)LEASE_SECS * 1000000000;

    /* 1. every object, unfinished writes included */
    CHECK(objstore_list_all(t->store, t->meta.dir, objlist_collect, &objs));
    /* 2. leases on objects (they are dropped only after a publish) */
    CHECK(objstore_list(t->store, t->lease_dir, objlist_collect, &leases));
    for (size_t i = 0; i < leases.n; i++) {
        char base[256];
        if (leases.items[i].mtime_ns >= lease_cutoff &&
            lease_parse(base, sizeof base, leases.items[i].key))
            CHECK(keyset_add(&leased, base));
    }
    if (leased.n > 1)
        qsort(leased.keys, leased.n, sizeof *leased.keys, cmp_str);
    /* 3. the newest snapshot, then reservations of versions being
     * published (after the newest: see vlog.h), then what to retain */
    CHECK(vlog_latest(&t->log, &latest));
    if (latest > 0) {
        CHECK(retain(&live, &checkpoint, &reserved, t, &objs, cutoff,
                     lease_cutoff, now - t->read_lease_ns, &latest));
        floor = checkpoint < reserved ? checkpoint : reserved;
    }
    snprintf(key, sizeof key, "%sLATEST", t->log.prefix);
    CHECK(keyset_add(&live, key));
    if (live.n > 1)
        qsort(live.keys, live.n, sizeof *live.keys, cmp_str);

    /* 4. snapshots below the floor, which is recorded first */
    if (floor > 0) {
        CHECK(vlog_raise_floor(&t->log, floor));
        CHECK(vlog_delete_below(&t->log, &objs, floor, &out->objects_deleted,
                                &out->bytes_freed));
    }
    /* 5. everything else */
    for (size_t i = 0; i < objs.n; i++) {
        const struct obj *o = &objs.items[i];
        const char *base = basename_of(o->key);
        uint64_t v = vlog_parse(o->key, t->log.prefix);
        bool is_lease = strncmp(o->key, t->lease_dir,
                                strlen(t->lease_dir)) == 0;
        bool is_temp = objlist_is_temp(o->key);

        if (v > 0 || vlog_is_floor_key(o->key, t->log.prefix))
            continue; /* versions: step 4; floor records: vlog */
        if (keyset_has(&live, o->key) ||
            (!is_lease && keyset_has(&leased, base)) ||
            (is_lease && o->mtime_ns >= lease_cutoff)) {
            out->objects_skipped_live++;
            continue;
        }
        /* Temporary files belong to writes that may still be running:
         * they are only stale once no lease could still cover them. */
        if (o->mtime_ns >= cutoff || (is_temp && o->mtime_ns >= lease_cutoff)) {
            out->objects_skipped_too_new++;
            continue;
        }
        if (objstore_delete(t->store, o->key) == INFINO_OK) {
            out->objects_deleted++;
            out->bytes_freed += o->size;
        } else {
            out->delete_errors++;
            err_clear();
        }
    }
    st = INFINO_OK;
fail:
    objlist_free(&objs);
    objlist_free(&leases);
    keyset_free(&live);
    keyset_free(&leased);
    return err_context(st, "collecting garbage of table %s", t->meta.name);
}

infino_status tbl_gc(struct tbl *t, double grace_secs,
                     struct tbl_gc_report *out)
{
    infino_status st;

    pthread_mutex_lock(&t->write_mu);
    st = tbl_gc_locked(t, grace_secs, out);
    pthread_mutex_unlock(&t->write_mu);
    return st;
}

void tbl_gc_merged(struct tbl *t)
{
    struct tbl_gc_report r;

    if (tbl_is_durable(t))
        return;
    if (tbl_gc_locked(t, 0, &r) != INFINO_OK)
        atomic_fetch_add(&t->ac_failures, 1);
    err_clear(); /* the caller's call succeeded; this is not its error */
}
