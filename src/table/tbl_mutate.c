/*
 * tbl_mutate.c - delete and update (table.h).
 *
 * Both run the caller's matcher inside the commit's prepare step, so the
 * rows they act on are always those of the snapshot the commit is built
 * on: when another writer commits first, the matcher runs again on the new
 * snapshot. Tombstones are written as new files holding the union of old
 * and new deletions; the snapshot then points at them.
 */
#include "table_int.h"

#include "tomb.h"

#include "util/alloc.h"
#include "util/err.h"
#include "util/random.h"

#include <string.h>

struct mutate_ctx {
    tbl_match_fn match;
    void *payload;
    /* update only */
    const struct snap_sf *replacement; /* NULL for delete */
    uint32_t n_fts;
    /* results of the last prepare */
    struct tbl_mutation_stats stats;
};

static infino_status prepare_mutation(struct tbl_change *chg,
                                      struct tbl_view *base, void *payload)
{
    struct mutate_ctx *m = payload;
    struct tbl *t = base->t;
    size_t n = base->snap.n_sf;
    roaring_bitmap_t **hits = mem_calloc(n + 1, sizeof *hits);
    uint64_t matched = 0, newly = 0;
    infino_status st;

    memset(&m->stats, 0, sizeof m->stats);
    if (hits == NULL)
        return err_nomem();
    CHECK(m->match(hits, base, m->payload));
    for (size_t i = 0; i < n; i++)
        if (hits[i])
            matched += roaring_bitmap_get_cardinality(hits[i]);
    if (m->replacement) {
        uint64_t have = m->replacement->n_rows;
        if (matched != have) {
            st = err_set(INFINO_ERR_CARDINALITY,
                         "update matched %llu row%s but %llu replacement "
                         "row%s given; nothing was changed",
                         (unsigned long long)matched, matched == 1 ? "" : "s",
                         (unsigned long long)have,
                         have == 1 ? " was" : "s were");
            goto fail;
        }
        if (have > 0)
            CHECK(tbl_change_add_sf(chg, m->replacement, m->n_fts));
    }
    for (size_t i = 0; i < n; i++) {
        const struct snap_sf *meta = tbl_view_meta(base, i);
        struct tbl_vsf f;
        roaring_bitmap_t *all;
        uint64_t before, after, tomb_id;
        char key[700];

        if (hits[i] == NULL || roaring_bitmap_is_empty(hits[i]))
            continue;
        CHECK(tbl_view_pin(base, i, &f));
        all = f.deleted ? roaring_bitmap_or(f.deleted, hits[i])
                        : roaring_bitmap_copy(hits[i]);
        tbl_view_unpin(base, i);
        if (all == NULL) {
            st = err_nomem();
            goto fail;
        }
        before = meta->n_deleted;
        after = roaring_bitmap_get_cardinality(all);
        newly += after - before;
        if (after == before) {
            roaring_bitmap_free(all);
            continue;
        }
        do
            tomb_id = random_u64();
        while (tomb_id == 0);
        snapshot_tomb_key(key, sizeof key, t->meta.dir, meta->id, tomb_id);
        st = tbl_lease_take(t, key);
        if (st == INFINO_OK) {
            st = tomb_store(t->store, key, meta->id, all);
            if (st != INFINO_OK)
                tbl_lease_drop(t, key);
        }
        roaring_bitmap_free(all);
        if (st != INFINO_OK)
            goto fail;
        CHECK(tbl_change_add_tomb(chg, meta->id, tomb_id, after, key));
    }
    m->stats.matched = matched;
    m->stats.n_tombstoned = newly;
    m->stats.n_not_found = matched - newly;
fail:
    for (size_t i = 0; i < n; i++)
        if (hits[i])
            roaring_bitmap_free(hits[i]);
    mem_free(hits);
    return st;
}

static infino_status require_durable(struct tbl *t, const char *what)
{
    if (tbl_is_durable(t))
        return INFINO_OK;
    return err_set(INFINO_ERR_UNSUPPORTED,
                   "table %s: %s requires durable storage (a path or "
                   "file:// URI), not memory://",
                   t->meta.name, what);
}

infino_status tbl_delete(struct tbl *t, tbl_match_fn match, void *payload,
                         struct tbl_mutation_stats *out)
{
    struct mutate_ctx m = {match, payload, NULL, 0, {0, 0, 0}};
    infino_status st;

    memset(out, 0, sizeof *out);
    st = require_durable(t, "delete");
    if (st != INFINO_OK)
        return st;
    pthread_mutex_lock(&t->write_mu);
    st = tbl_write_begin(t);
    if (st == INFINO_OK)
        st = tbl_commit(t, prepare_mutation, &m, NULL);
    tbl_write_end(t);
    pthread_mutex_unlock(&t->write_mu);
    if (st == INFINO_OK)
        *out = m.stats;
    return err_context(st, "deleting from table %s", t->meta.name);
}

infino_status tbl_update(struct tbl *t, tbl_match_fn match, void *payload,
                         struct ArrowArrayStream *rows,
                         struct tbl_mutation_stats *out)
{
    struct mutate_ctx m = {match, payload, NULL, 0, {0, 0, 0}};
    struct snap_sf e = {0};
    infino_status st;

    memset(out, 0, sizeof *out);
    st = require_durable(t, "update");
    if (st != INFINO_OK) {
        if (rows->release)
            rows->release(rows);
        return st;
    }
    pthread_mutex_lock(&t->write_mu);
    st = tbl_write_begin(t);
    if (st != INFINO_OK) {
        if (rows->release)
            rows->release(rows);
    } else {
        st = tbl_build_rows(&e, t, rows);
    }
    if (st == INFINO_OK) {
        m.replacement = &e;
        m.n_fts = (uint32_t)t->meta.spec.n_fts;
        bool maybe;
        st = tbl_commit(t, prepare_mutation, &m, &maybe);
        if (st != INFINO_OK && e.n_rows > 0 && !maybe)
            tbl_discard_superfile(t, e.id); /* surely unpublished */
        else if (st == INFINO_OK && e.n_rows > 0)
            tbl_auto_compact(t); /* committed: this cannot undo it */
    }
    mem_free(e.fts_tokens);
    tbl_write_end(t);
    pthread_mutex_unlock(&t->write_mu);
    if (st == INFINO_OK)
        *out = m.stats;
    return err_context(st, "updating table %s", t->meta.name);
}
