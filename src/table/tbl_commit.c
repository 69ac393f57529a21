/*
 * tbl_commit.c - optimistic commits (table_int.h).
 *
 * prepare() sees the newest snapshot and describes a change; we apply it
 * to a copy and publish that as the next version with create-if-absent.
 * If another writer got there first, every tombstone this attempt wrote is
 * removed (nobody can reference it) and the loop starts over on top of the
 * winner. Superfiles written before the loop are reused across attempts.
 */
#include "table_int.h"

#include "catalog.h"
#include "vlog.h"

#include "util/alloc.h"
#include "util/cancel.h"
#include "util/clock.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

infino_status tbl_lease_take(struct tbl *t, const char *object_key)
{
    return lease_take(&t->leases, t->store, t->lease_dir, object_key);
}

void tbl_lease_drop(struct tbl *t, const char *object_key)
{
    lease_drop(&t->leases, t->store, object_key);
}

infino_status tbl_lease_tick(struct tbl *t)
{
    return lease_renew_due(&t->leases, t->store);
}

void tbl_change_free(struct tbl_change *c)
{
    for (size_t i = 0; i < c->n_added; i++)
        mem_free(c->added[i].fts_tokens);
    mem_free(c->added);
    for (size_t i = 0; i < c->n_replaced; i++)
        mem_free(c->replaced[i].e.fts_tokens);
    mem_free(c->replaced);
    mem_free(c->removed);
    mem_free(c->tombs);
    mem_free(c->schema_ipc);
    memset(c, 0, sizeof *c);
}

infino_status tbl_change_add_sf(struct tbl_change *c, const struct snap_sf *e,
                                uint32_t n_fts)
{
    struct snap_sf *grown = mem_realloc(c->added,
                                        (c->n_added + 1) * sizeof *grown);
    struct snap_sf *d;

    if (grown == NULL)
        return err_nomem();
    c->added = grown;
    d = &c->added[c->n_added];
    *d = *e;
    d->fts_tokens = mem_calloc(n_fts + 1, sizeof(uint64_t));
    if (d->fts_tokens == NULL)
        return err_nomem();
    if (n_fts)
        memcpy(d->fts_tokens, e->fts_tokens, n_fts * sizeof(uint64_t));
    c->n_added++;
    return INFINO_OK;
}

infino_status tbl_change_add_tomb(struct tbl_change *c,
                                  const uint8_t id[SNAP_SF_ID_LEN],
                                  uint64_t tomb_id, uint64_t n_deleted,
                                  const char *key)
{
    struct tbl_tomb_update *grown =
        mem_realloc(c->tombs, (c->n_tombs + 1) * sizeof *grown);
    struct tbl_tomb_update *u;

    if (grown == NULL)
        return err_nomem();
    c->tombs = grown;
    u = &c->tombs[c->n_tombs++];
    memcpy(u->id, id, SNAP_SF_ID_LEN);
    u->tomb_id = tomb_id;
    u->n_deleted = n_deleted;
    strncpy(u->key, key, sizeof u->key - 1);
    u->key[sizeof u->key - 1] = '\0';
    return INFINO_OK;
}

infino_status tbl_change_remove(struct tbl_change *c,
                                const uint8_t id[SNAP_SF_ID_LEN])
{
    uint8_t(*grown)[SNAP_SF_ID_LEN] =
        mem_realloc(c->removed, (c->n_removed + 1) * sizeof *grown);

    if (grown == NULL)
        return err_nomem();
    c->removed = grown;
    memcpy(c->removed[c->n_removed++], id, SNAP_SF_ID_LEN);
    return INFINO_OK;
}

infino_status tbl_change_replace_sf(struct tbl_change *c,
                                    const uint8_t old[SNAP_SF_ID_LEN],
                                    const struct snap_sf *e, uint32_t n_fts)
{
    struct tbl_sf_replace *grown =
        mem_realloc(c->replaced, (c->n_replaced + 1) * sizeof *grown);
    struct tbl_sf_replace *r;

    if (grown == NULL)
        return err_nomem();
    c->replaced = grown;
    r = &c->replaced[c->n_replaced];
    memcpy(r->old, old, SNAP_SF_ID_LEN);
    r->e = *e;
    r->e.fts_tokens = mem_calloc(n_fts + 1, sizeof(uint64_t));
    if (r->e.fts_tokens == NULL)
        return err_nomem();
    if (n_fts)
        memcpy(r->e.fts_tokens, e->fts_tokens, n_fts * sizeof(uint64_t));
    c->n_replaced++;
    return INFINO_OK;
}

/* Applies `c` to a copy of `base` as version base->version + 1 and
 * encodes it into `doc`: a delta written from the change alone (O(change)
 * beyond the copy), or a checkpoint every SNAP_CHECKPOINT_EVERY versions. */
static infino_status apply(struct snapshot *out, struct buf *doc,
                           const struct snapshot *base,
                           const struct tbl_change *c)
{
    size_t *changed = NULL, n_changed = 0, first_added;
    infino_status st;

    CHECK(snapshot_copy(out, base));
    out->parent = base->version;
    out->version = base->version + 1;
    /* A delta from the parent, or a fresh checkpoint every so often (and
     * for the first version, which has no stored parent). */
    out->chain = base->version > 0 && base->chain + 1 < SNAP_CHECKPOINT_EVERY &&
                         c->n_replaced == 0 /* deltas only append */
                     ? base->chain + 1
                     : 0;
    out->created_ns = clock_now_ns();
    if (c->schema_id > 0)
        CHECK(snapshot_set_schema(out, c->schema_id, c->schema_ipc,
                                  c->schema_len));
    for (size_t i = 0; i < c->n_removed; i++) {
        long j = snapshot_find_sf(out, c->removed[i]);
        if (j < 0) {
            st = err_set(INFINO_ERR_CONFLICT,
                         "a superfile being replaced was removed concurrently");
            goto fail;
        }
        CHECK(snapshot_remove_sf(out, (size_t)j));
    }
    for (size_t i = 0; i < c->n_replaced; i++) {
        struct snap_sf e = c->replaced[i].e;
        long j = snapshot_find_sf(out, c->replaced[i].old);
        if (j < 0) {
            st = err_set(INFINO_ERR_CONFLICT,
                         "a superfile being rewritten was removed "
                         "concurrently");
            goto fail;
        }
        if (snapshot_find_sf(out, e.id) >= 0) {
            st = err_set(INFINO_ERR_INVALID, "superfile added twice");
            goto fail;
        }
        e.added_version = out->version;
        CHECK(snapshot_replace_sf(out, (size_t)j, &e));
    }
    first_added = out->n_sf;
    for (size_t i = 0; i < c->n_added; i++) {
        struct snap_sf e = c->added[i];
        if (snapshot_find_sf(out, e.id) >= 0) {
            st = err_set(INFINO_ERR_INVALID, "superfile added twice");
            goto fail;
        }
        e.added_version = out->version;
        CHECK(snapshot_add_sf(out, &e));
    }
    changed = mem_alloc((c->n_tombs + 1) * sizeof *changed);
    if (changed == NULL) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < c->n_tombs; i++) {
        long j = snapshot_find_sf(out, c->tombs[i].id);
        if (j < 0) {
            st = err_set(INFINO_ERR_CONFLICT,
                         "a superfile being deleted from was removed "
                         "concurrently");
            goto fail;
        }
        out->sf[j].tomb_id = c->tombs[i].tomb_id;
        out->sf[j].n_deleted = c->tombs[i].n_deleted;
        if ((size_t)j < first_added) /* added ones go whole */
            changed[n_changed++] = (size_t)j;
    }
    buf_reset(doc);
    if (out->chain > 0)
        CHECK(snapshot_encode_change(doc, out,
                                     (const uint8_t(*)[SNAP_SF_ID_LEN])
                                         c->removed,
                                     c->n_removed, changed, n_changed,
                                     first_added));
    else
        CHECK(snapshot_encode(doc, out));
    mem_free(changed);
    return INFINO_OK;
fail:
    mem_free(changed);
    snapshot_free(out);
    return st;
}

/* Removes tombstones an unpublished attempt wrote (and their leases),
 * keeping the thread's error message (the caller may be on its way out
 * with one). Only for attempts that certainly did not publish. */
static void drop_attempt_files(struct tbl *t, const struct tbl_change *c)
{
    char saved[1024];

    if (c->n_tombs == 0)
        return;
    snprintf(saved, sizeof saved, "%s", err_last());
    for (size_t i = 0; i < c->n_tombs; i++)
        if (c->tombs[i].key[0]) {
            objstore_delete(t->store, c->tombs[i].key);
            tbl_lease_drop(t, c->tombs[i].key);
        }
    err_set(INFINO_OK, "%s", saved);
}

/* After publishing (or when the outcome is unknown): what the attempt
 * wrote is referenced, or gc's to judge; the leases can go. */
static void drop_leases(struct tbl *t, const struct tbl_change *c)
{
    char key[700];

    for (size_t i = 0; i < c->n_tombs; i++)
        if (c->tombs[i].key[0])
            tbl_lease_drop(t, c->tombs[i].key);
    for (size_t i = 0; i < c->n_added; i++) {
        snapshot_sf_key(key, sizeof key, t->meta.dir, c->added[i].id);
        tbl_lease_drop(t, key);
    }
    for (size_t i = 0; i < c->n_replaced; i++) {
        snapshot_sf_key(key, sizeof key, t->meta.dir, c->replaced[i].e.id);
        tbl_lease_drop(t, key);
    }
}

infino_status tbl_commit(struct tbl *t, tbl_prepare_fn prepare, void *payload,
                         bool *maybe_published)
{
    struct tbl_change chg = {0};
    struct snapshot next = {0};
    struct tbl_view *base = NULL;
    struct buf doc = {0};
    enum vlog_outcome outcome = VLOG_NOT_PUBLISHED;
    bool stale;
    infino_status st;

    if (maybe_published)
        *maybe_published = false;
    for (int attempt = 0;; attempt++) {
        CHECK(tbl_check_alive(t));
        CHECK(tbl_lease_tick(t));
        CHECK(tbl_view_acquire(&base, t));
        st = prepare(&chg, base, payload);
        if (st == INFINO_ERR_NOTFOUND &&
            tbl_newer_exists(t, base->snap.version) &&
            attempt + 1 < t->opts.max_attempts) {
            /* A file of our base vanished: gc (with a short grace) went
             * past it once a newer snapshot existed. Prepare on that. */
            err_clear();
            drop_attempt_files(t, &chg);
            tbl_change_free(&chg);
            tbl_view_release(base);
            base = NULL;
            continue;
        }
        if (st != INFINO_OK)
            goto fail;
        if (chg.n_added == 0 && chg.n_removed == 0 && chg.n_tombs == 0 &&
            chg.n_replaced == 0 && chg.schema_id == 0) {
            next.version = base->snap.version; /* nothing to publish */
            goto done;
        }
        CHECK(apply(&next, &doc, &base->snap, &chg));
        CHECK(tbl_check_alive(t));
        /* The last moment a Ctrl-C may stop the call: from here on the
         * commit either lands (and the call returns OK) or fails. */
        CHECK(cancel_check("committing"));
        st = vlog_publish(&t->log, next.version, doc.data, doc.len, &outcome,
                          &stale);
        if (st == INFINO_OK)
            break;
        if (st != INFINO_ERR_CONFLICT)
            goto fail;
        if (stale)
            atomic_store(&t->stale, true);
        drop_attempt_files(t, &chg);
        tbl_change_free(&chg);
        snapshot_free(&next);
        tbl_view_release(base);
        base = NULL;
        if (attempt + 1 >= t->opts.max_attempts) {
            st = err_set(INFINO_ERR_CONFLICT,
                         "gave up after %d commit attempts: other writers "
                         "keep committing first",
                         attempt + 1);
            goto fail;
        }
        clock_backoff(attempt, 2000, 256000); /* 2 ms .. 256 ms */
    }
    drop_leases(t, &chg);
    tbl_note_commit(t);
    if (maybe_published)
        *maybe_published = true;
    /* Landed in a table dropped meanwhile? The drop then counts as
     * later; tbl_write_end() removes a purged table's files again. */
    st = tbl_check_alive(t);
done:
    tbl_change_free(&chg);
    /* Our own commit is this handle's newest view at once (without
     * reading back what we wrote). */
    if (st == INFINO_OK && next.version > base->snap.version)
        tbl_view_install(t, &next);
    snapshot_free(&next);
    tbl_view_release(base);
    buf_free(&doc);
    return st;
fail:
    if (outcome == VLOG_NOT_PUBLISHED) {
        drop_attempt_files(t, &chg);
    } else {
        drop_leases(t, &chg); /* maybe named by a visible snapshot */
        tbl_note_commit(t);
        if (maybe_published)
            *maybe_published = true;
    }
    tbl_change_free(&chg);
    snapshot_free(&next);
    tbl_view_release(base);
    buf_free(&doc);
    return st;
}
