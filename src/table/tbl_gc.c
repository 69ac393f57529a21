/*
 * tbl_gc.c - removing what no retained snapshot needs (table.h).
 *
 * Order matters (see the lease comment in table_int.h): we list the
 * table's objects, then its leases, then load the snapshots to retain.
 * An object is kept when a retained snapshot references it, when it is a
 * retained snapshot, when a live lease covers it, or when it is younger
 * than the grace period. Everything else goes, including temporary files
 * of writes that died, expired leases, and superseded snapshots.
 * Retained snapshots: the newest, and every one created within the grace
 * period (a reader may still be opening its files).
 */
#include "table_int.h"

#include "vlog.h"

#include "util/alloc.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct obj {
    char *key;
    uint64_t size;
    int64_t mtime_ns;
};

struct objlist {
    struct obj *items;
    size_t n, cap;
};

static void objlist_free(struct objlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        mem_free(l->items[i].key);
    mem_free(l->items);
    memset(l, 0, sizeof *l);
}

static infino_status collect(const struct objstore_entry *e, void *payload)
{
    struct objlist *l = payload;

    if (MEM_RESERVE(l->items, l->cap, l->n + 1))
        return err_nomem();
    l->items[l->n].key = mem_strdup(e->key);
    if (l->items[l->n].key == NULL)
        return err_nomem();
    l->items[l->n].size = e->size;
    l->items[l->n].mtime_ns = e->mtime_ns;
    l->n++;
    return INFINO_OK;
}

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
 * chain back to it), and every object versions [oldest, latest] name. */
static infino_status retain_from(struct keyset *live, struct tbl *t,
                                 uint64_t oldest, uint64_t latest)
{
    struct snap_doc d = {0};
    struct snapshot cur = {0}, next;
    char key[700];
    uint64_t c = oldest;
    infino_status st;

    for (int steps = 0;; steps++) { /* back to the checkpoint */
        st = tbl_load_doc(&d, t, c);
        if (st == INFINO_ERR_NOTFOUND && c < latest) {
            /* a concurrent gc took it: retain from the next one */
            err_clear();
            oldest = c = c + 1;
            continue;
        }
        if (st != INFINO_OK)
            goto fail;
        if (d.chain == 0 || steps > 4 * SNAP_CHECKPOINT_EVERY)
            break;
        c = d.parent;
        snap_doc_free(&d);
    }
    if (d.chain != 0) {
        st = err_set(INFINO_ERR_CORRUPT, "%s: no checkpoint before %llu",
                     t->snap_prefix, (unsigned long long)oldest);
        goto fail;
    }
    cur = d.full;
    memset(&d.full, 0, sizeof d.full);
    snap_doc_free(&d);
    for (uint64_t v = c;; v++) {
        vlog_key(key, sizeof key, t->snap_prefix, v);
        CHECK(keyset_add(live, key));
        if (v >= oldest)
            CHECK(add_references(live, t, &cur));
        if (v == latest)
            break;
        CHECK(tbl_load_doc(&d, t, v + 1));
        CHECK(snapshot_apply_doc(&next, &cur, &d, t->snap_prefix));
        snap_doc_free(&d);
        snapshot_free(&cur);
        cur = next;
    }
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

infino_status tbl_gc(struct tbl *t, double grace_secs,
                     struct tbl_gc_report *out)
{
    struct objlist objs = {0}, leases = {0};
    struct keyset live = {0}, leased = {0};
    char prefix[700], key[700];
    int64_t now = clock_now_ns(), cutoff, lease_cutoff;
    uint64_t latest;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (!tbl_is_durable(t))
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "table %s: gc requires durable storage (not "
                       "memory://)",
                       t->meta.name);
    if (!(grace_secs > 0)) /* negative and NaN clamp to 0 */
        grace_secs = 0;
    cutoff = now - (int64_t)(grace_secs * 1e9);
    lease_cutoff = now - (int64_t)TBL_LEASE_SECS * 1000000000;
    pthread_mutex_lock(&t->write_mu);

    /* 1. every object, unfinished writes included */
    CHECK(objstore_list_all(t->store, t->meta.dir, collect, &objs));
    /* 2. leases */
    snprintf(prefix, sizeof prefix, "%s%s", t->meta.dir, TBL_LEASE_DIR);
    CHECK(objstore_list(t->store, prefix, collect, &leases));
    for (size_t i = 0; i < leases.n; i++)
        if (leases.items[i].mtime_ns >= lease_cutoff)
            CHECK(keyset_add(&leased, basename_of(leases.items[i].key)));
    if (leased.n > 1)
        qsort(leased.keys, leased.n, sizeof *leased.keys, cmp_str);
    /* 3. snapshots to retain, and what they reference */
    CHECK(vlog_latest(t->store, t->snap_prefix, &latest));
    if (latest > 0) {
        uint64_t oldest = latest;
        for (size_t i = 0; i < objs.n; i++) {
            uint64_t v = vlog_parse(objs.items[i].key, t->snap_prefix);
            if (v > 0 && v < oldest && objs.items[i].mtime_ns >= cutoff)
                oldest = v;
        }
        CHECK(retain_from(&live, t, oldest, latest));
    }
    snprintf(key, sizeof key, "%sLATEST", t->snap_prefix);
    CHECK(keyset_add(&live, key));
    if (live.n > 1)
        qsort(live.keys, live.n, sizeof *live.keys, cmp_str);

    /* 4. sweep */
    for (size_t i = 0; i < objs.n; i++) {
        const struct obj *o = &objs.items[i];
        const char *base = basename_of(o->key);
        bool is_lease = strncmp(o->key, prefix, strlen(prefix)) == 0;
        bool is_temp = base[0] == '.' && strstr(base, ".tmp-") != NULL;

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
    pthread_mutex_unlock(&t->write_mu);
    objlist_free(&objs);
    objlist_free(&leases);
    keyset_free(&live);
    keyset_free(&leased);
    return err_context(st, "collecting garbage of table %s", t->meta.name);
}
