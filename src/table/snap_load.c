/*
 * snap_load.c - reading a snapshot version: a checkpoint, or a checkpoint
 * and the deltas after it (snapshot.h). A reader that already holds an
 * older version reads only the versions it missed.
 */
#include "table_int.h"

#include "vlog.h"

#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

infino_status tbl_load_doc(struct snap_doc *out, struct tbl *t, uint64_t v)
{
    struct store_blob *b = NULL;
    const uint8_t *p;
    infino_status st;

    memset(out, 0, sizeof *out);
    CHECK(vlog_get(&t->log, v, &b));
    CHECK(store_blob_read(b, 0, (size_t)store_blob_size(b), &p));
    CHECK(snap_doc_decode(out, p, (size_t)store_blob_size(b),
                          store_blob_name(b)));
    if (out->version != v || out->n_fts != t->meta.spec.n_fts) {
        snap_doc_free(out);
        st = err_set(INFINO_ERR_CORRUPT,
                     "%s: snapshot does not match its name or table",
                     store_blob_name(b));
    }
fail:
    store_blob_close(b);
    return st;
}

/* Applies versions (have->version, target] one by one to a copy of
 * `have`. INFINO_ERR_NOTFOUND when one of them is gone (gc). */
static infino_status catch_up(struct snapshot *out, struct tbl *t,
                              const struct snapshot *have, uint64_t target)
{
    struct snapshot cur, next;
    struct snap_doc d;
    infino_status st;

    CHECK(snapshot_copy(&cur, have));
    for (uint64_t v = have->version + 1; v <= target; v++) {
        st = tbl_load_doc(&d, t, v);
        if (st != INFINO_OK) {
            snapshot_free(&cur);
            return st;
        }
        st = snapshot_apply_doc(&next, &cur, &d, t->log.prefix);
        snap_doc_free(&d);
        snapshot_free(&cur);
        if (st != INFINO_OK)
            return st;
        cur = next;
    }
    *out = cur;
    return INFINO_OK;
fail:
    return st;
}

infino_status tbl_load_snapshot(struct snapshot *out, struct tbl *t,
                                const struct snapshot *have, uint64_t target)
{
    struct snap_doc *docs = NULL;
    size_t n = 0, cap = 0;
    struct snapshot cur = {0}, next;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (target == 0) {
        out->n_fts = (uint32_t)t->meta.spec.n_fts;
        return INFINO_OK;
    }
    if (have && have->version > 0 && have->version < target &&
        target - have->version <= 2 * SNAP_CHECKPOINT_EVERY) {
        st = catch_up(out, t, have, target);
        if (st != INFINO_ERR_NOTFOUND)
            return st;
        err_clear(); /* gc passed us by: start from a checkpoint */
    }
    /* Walk back to the nearest checkpoint, then replay forward. */
    for (uint64_t v = target;;) {
        if (MEM_RESERVE(docs, cap, n + 1)) {
            st = err_nomem();
            goto fail;
        }
        CHECK(tbl_load_doc(&docs[n], t, v));
        n++;
        if (docs[n - 1].chain == 0)
            break;
        if (n > SNAP_CHECKPOINT_EVERY * 4) {
            st = err_set(INFINO_ERR_CORRUPT,
                         "%s: no checkpoint within %zu versions of %llu",
                         t->log.prefix, n, (unsigned long long)target);
            goto fail;
        }
        v = docs[n - 1].parent;
    }
    cur = docs[n - 1].full;
    memset(&docs[n - 1].full, 0, sizeof docs[n - 1].full);
    for (size_t i = n - 1; i-- > 0;) {
        CHECK(snapshot_apply_doc(&next, &cur, &docs[i], t->log.prefix));
        snapshot_free(&cur);
        cur = next;
    }
    *out = cur;
    memset(&cur, 0, sizeof cur);
fail:
    snapshot_free(&cur);
    for (size_t i = 0; i < n; i++)
        snap_doc_free(&docs[i]);
    mem_free(docs);
    return st;
}
