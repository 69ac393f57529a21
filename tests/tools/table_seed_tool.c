/*
 * table_seed_tool.c - writes valid snapshot, catalog and tombstone files
 * into fuzz/corpus/fuzz_table_{snapshot,catalog,tomb}/ as fuzzing seeds.
 * Usage: table_seed_tool CORPUS_DIR
 */
#include "table/catalog.h"
#include "table/snapshot.h"
#include "table/tomb.h"
#include "util/alloc.h"

#include <stdio.h>
#include <string.h>

static void put(const char *dir, const char *sub, const char *name,
                const struct buf *b)
{
    char path[1024];
    snprintf(path, sizeof path, "%s/%s/%s", dir, sub, name);
    FILE *f = fopen(path, "wb");
    if (f == NULL || fwrite(b->data, 1, b->len, f) != b->len) {
        perror(path);
        return;
    }
    fclose(f);
}

int main(int argc, char **argv)
{
    struct buf b = {0};
    struct snapshot s = {0};
    struct snap_sf e = {0};
    uint64_t tokens[2] = {1234, 99};
    struct catalog c = {0};
    struct cat_entry ent = {0};
    struct objstore *mem;

    if (argc != 2)
        return 2;
    /* snapshots with 0, 1 and 3 superfiles */
    s.version = 1;
    s.n_fts = 2;
    s.created_ns = 1700000000000000000;
    snapshot_encode(&b, &s);
    put(argv[1], "fuzz_table_snapshot", "empty.snap", &b);
    for (int i = 0; i < 3; i++) {
        memset(e.id, i + 1, sizeof e.id);
        e.n_rows = 1000u * (unsigned)(i + 1);
        e.file_size = 50000;
        e.id_min.hi = 100;
        e.id_max.hi = 200;
        e.n_deleted = (uint64_t)i;
        e.tomb_id = i ? 77u + (unsigned)i : 0;
        e.fts_tokens = tokens;
        snapshot_add_sf(&s, &e);
        s.version++;
        s.parent = s.version - 1;
        buf_reset(&b);
        snapshot_encode(&b, &s);
        char name[32];
        snprintf(name, sizeof name, "sf%d.snap", i + 1);
        put(argv[1], "fuzz_table_snapshot", name, &b);
    }
    /* a delta: drop the first superfile, change the second, add one */
    {
        struct snapshot next;
        snapshot_copy(&next, &s);
        next.parent = s.version;
        next.version = s.version + 1;
        next.chain = s.chain + 1;
        snapshot_remove_sf(&next, 0);
        next.sf[0].n_deleted = 5;
        next.sf[0].tomb_id = 99;
        memset(e.id, 9, sizeof e.id);
        snapshot_add_sf(&next, &e);
        buf_reset(&b);
        snapshot_encode_delta(&b, &next, &s);
        put(argv[1], "fuzz_table_snapshot", "delta.snap", &b);
        snapshot_free(&next);
    }
    snapshot_free(&s);
    /* a catalog with one table */
    ent.name = (char *)"docs";
    ent.dir = (char *)"tables/docs-1-2/";
    ent.schema.n_fields = 1;
    struct ar_field f = {0};
    f.name = (char *)"body";
    f.type = AR_LARGE_UTF8;
    ent.schema.fields = &f;
    char *fts[1] = {(char *)"body"};
    ent.spec.n_fts = 1;
    ent.spec.fts = fts;
    c.n = 1;
    c.entries = &ent;
    buf_reset(&b);
    catalog_encode(&b, &c);
    put(argv[1], "fuzz_table_catalog", "one.cat", &b);
    /* a tombstone file, via a memory store */
    objstore_open(&mem, "memory://");
    roaring_bitmap_t *bm = roaring_bitmap_create();
    for (uint32_t r = 0; r < 5000; r += 7)
        roaring_bitmap_add(bm, r);
    uint8_t id[SNAP_SF_ID_LEN];
    for (int i = 0; i < SNAP_SF_ID_LEN; i++)
        id[i] = (uint8_t)(i + 1);
    tomb_store(mem, "t.del", id, bm);
    struct store_blob *blob;
    const uint8_t *p;
    objstore_get(mem, "t.del", &blob);
    store_blob_read(blob, 0, (size_t)store_blob_size(blob), &p);
    struct buf tb = {(uint8_t *)p, (size_t)store_blob_size(blob), 0};
    put(argv[1], "fuzz_table_tomb", "sevens.del", &tb);
    store_blob_close(blob);
    roaring_bitmap_free(bm);
    objstore_close(mem);
    buf_free(&b);
    return 0;
}
