/*
 * tbl_check.c - verifying a table against its newest snapshot (table.h).
 *
 * Reads the newest snapshot from storage (not from the handle's cache),
 * then for every superfile it lists: the object exists with the recorded
 * size, its Parquet footer and superfile region directory parse, every
 * index region matches its CRC-32C, every row group decodes, the row count
 * and the _id range equal the snapshot's; its tombstone file (if any)
 * exists, passes its checksum, belongs to it and deletes exactly the
 * recorded number of rows. Snapshots and tombstones are sealed documents,
 * so loading them verifies their CRCs. The first disagreement is an error
 * naming the file and what disagrees.
 */
#include "table_int.h"

#include "tomb.h"
#include "vlog.h"

#include "superfile/superfile.h"
#include "util/crc32c.h"
#include "util/err.h"

#include <stdio.h>
#include <string.h>

/* Decodes every row group of `r`, checking the row count and _id range. */
static infino_status check_rows(struct pq_reader *r, const struct snap_sf *e,
                                const char *key)
{
    uint64_t rows = 0;
    struct tid lo = {0, 0}, hi = {0, 0};
    infino_status st = INFINO_OK;

    for (int rg = 0; rg < pq_reader_num_row_groups(r); rg++) {
        struct ArrowArray all = {0};
        const uint8_t *v;
        st = pq_reader_read_row_group(r, rg, NULL, 0, &all);
        if (st != INFINO_OK)
            return err_context(st, "%s: row group %d", key, rg);
        /* _id is the first column of every superfile */
        if (all.n_children < 1 || all.children[0]->n_buffers < 2 ||
            all.children[0]->buffers[1] == NULL) {
            st = err_set(INFINO_ERR_CORRUPT, "%s: no _id column", key);
        } else {
            const struct ArrowArray *c = all.children[0];
            v = (const uint8_t *)c->buffers[1] + (size_t)c->offset * 16;
            for (int64_t i = 0; i < c->length; i++) {
                struct tid x = tid_load(v + (size_t)i * 16);
                if ((rows == 0 && i == 0) || tid_cmp(x, lo) < 0)
                    lo = x;
                if ((rows == 0 && i == 0) || tid_cmp(x, hi) > 0)
                    hi = x;
            }
            rows += (uint64_t)c->length;
        }
        ar_array_release(&all);
        if (st != INFINO_OK)
            return st;
    }
    if (rows != e->n_rows)
        return err_set(INFINO_ERR_CORRUPT,
                       "%s: %llu rows, but the snapshot says %llu", key,
                       (unsigned long long)rows,
                       (unsigned long long)e->n_rows);
    if (rows > 0 && (tid_cmp(lo, e->id_min) != 0 || tid_cmp(hi, e->id_max) != 0))
        return err_set(INFINO_ERR_CORRUPT,
                       "%s: _id range disagrees with the snapshot", key);
    return INFINO_OK;
}

static infino_status check_superfile(struct tbl *t, const struct snap_sf *e,
                                     struct tbl_check_report *rep)
{
    struct store_blob *blob = NULL;
    struct sf_reader *r = NULL;
    roaring_bitmap_t *bm = NULL;
    char key[700];
    infino_status st;

    snapshot_sf_key(key, sizeof key, t->meta.dir, e->id);
    CHECK(objstore_get(t->store, key, &blob));
    if (store_blob_size(blob) != e->file_size) {
        st = err_set(INFINO_ERR_CORRUPT,
                     "%s: %llu bytes, but the snapshot says %llu", key,
                     (unsigned long long)store_blob_size(blob),
                     (unsigned long long)e->file_size);
        goto fail;
    }
    if (e->has_file_crc) {
        const uint8_t *p;
        CHECK(store_blob_read(blob, 0, (size_t)e->file_size, &p));
        if (crc32c(p, (size_t)e->file_size) != e->file_crc) {
            st = err_set(INFINO_ERR_CORRUPT,
                         "%s: checksum mismatch (the file changed after it "
                         "was written)",
                         key);
            goto fail;
        }
        /* big files: read once, then let the pages go */
        store_blob_release(blob, 0, e->file_size);
    }
    CHECK(sf_reader_open(&r, blob));
    for (size_t i = 0; i < sf_reader_n_regions(r); i++) {
        const uint8_t *p;
        size_t len;
        CHECK(sf_reader_region(r, sf_reader_region_name(r, i), &p, &len));
    }
    CHECK(check_rows(sf_reader_parquet(r), e, key));
    rep->bytes_verified += e->file_size;
    if (e->tomb_id != 0) {
        snapshot_tomb_key(key, sizeof key, t->meta.dir, e->id, e->tomb_id);
        CHECK(tomb_load(&bm, t->store, key, e->id, e->n_rows));
        if (roaring_bitmap_get_cardinality(bm) != e->n_deleted) {
            st = err_set(INFINO_ERR_CORRUPT,
                         "%s: deletes %llu rows, but the snapshot says %llu",
                         key,
                         (unsigned long long)roaring_bitmap_get_cardinality(bm),
                         (unsigned long long)e->n_deleted);
            goto fail;
        }
    } else if (e->n_deleted != 0) {
        st = err_set(INFINO_ERR_CORRUPT,
                     "%s: deleted rows without a tombstone file", key);
        goto fail;
    }
fail:
    if (bm)
        roaring_bitmap_free(bm);
    sf_reader_free(r);
    store_blob_close(blob);
    return st;
}

infino_status tbl_check(struct tbl *t, struct tbl_check_report *out)
{
    struct snapshot snap = {0};
    uint64_t latest;
    infino_status st;

    memset(out, 0, sizeof *out);
    CHECK(tbl_check_alive(t));
    for (int attempt = 0;; attempt++) {
        CHECK(vlog_latest(&t->log, &latest));
        st = tbl_load_snapshot(&snap, t, NULL, latest);
        memset(out, 0, sizeof *out);
        if (st == INFINO_OK) {
            out->version = snap.version;
            out->n_superfiles = snap.n_sf;
        }
        for (size_t i = 0; st == INFINO_OK && i < snap.n_sf; i++) {
            st = check_superfile(t, &snap.sf[i], out);
            out->n_rows += snap.sf[i].n_rows - snap.sf[i].n_deleted;
            out->n_deleted += snap.sf[i].n_deleted;
        }
        if (st != INFINO_ERR_NOTFOUND || attempt == 8)
            break;
        /* gc moved on meanwhile (after a merge, on memory:// at once):
         * a file the snapshot names is missing only if it is no longer
         * the newest */
        struct err_saved missing;
        uint64_t now_latest;
        infino_status st2;

        err_save(&missing, st);
        st2 = vlog_latest(&t->log, &now_latest);
        if (st2 != INFINO_OK) {
            st = st2;
            break;
        }
        if (now_latest == latest) { /* really missing: say which */
            st = err_restore(&missing);
            break;
        }
        snapshot_free(&snap);
        err_clear();
    }
fail:
    snapshot_free(&snap);
    return err_context(st, "checking table %s", t->meta.name);
}
