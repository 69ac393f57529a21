/*
 * table_reindex_test.c - finding and repairing stale superfiles
 * (tbl_reindex): which files are stale, that a repair keeps rows, their
 * order, their _ids and tombstones, that concurrent writes survive it, a
 * superfile another run replaced first, the maintenance slot, and
 * memory:// refusing it.
 *
 * A stale superfile is made the way the previous writer made it: its
 * full-text region, written in format 3 (fts_test_write_version: format 4
 * adds per-chunk checks and moves sections), is turned into format
 * version 1 in place. For terms
 * of fewer than 128 bytes (the fixture's) both versions are the same
 * bytes except the version field and the summary's "whole terms" flag
 * (src/index/fts/FORMAT.md, "Versions"), so only those change, with the
 * region's checksums. Driven through the table layer, as
 * table_ops_test.c is.
 */
#include "harness.h"
#include "table_layer_fixture.h"

#include "index/fts/fts_int.h"
#include "table/snapshot.h"
#include "table/table_int.h"
#include "util/crc32c.h"

#include <stdio.h>

/* ---- making a stale superfile ------------------------------------------ */

static uint8_t *slurp(const char *path, size_t *n)
{
    FILE *f = fopen(path, "rb");
    uint8_t *p;
    long len;

    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    len = ftell(f);
    assert_true(len > 0);
    rewind(f);
    p = mem_alloc((size_t)len);
    assert_non_null(p);
    assert_int_equal(fread(p, 1, (size_t)len, f), (size_t)len);
    fclose(f);
    *n = (size_t)len;
    return p;
}

static void spill(const char *path, const uint8_t *p, size_t n)
{
    FILE *f = fopen(path, "wb");

    assert_non_null(f);
    assert_int_equal(fwrite(p, 1, n, f), n);
    assert_int_equal(fclose(f), 0);
}

/* Rewrites region fts.0 of superfile `id` of table folder `dir` in
 * version 1, as the previous writer made it (see the top). */
static void make_fts_v1(const struct tl_world *w, const char *dir,
                        const uint8_t id[SNAP_SF_ID_LEN])
{
    char key[700], path[1400], before[64], after[64];
    struct store_blob *b;
    struct sf_reader *r;
    uint64_t off, len, sum;
    uint32_t crc, new_crc;
    uint8_t *p, *reg;
    size_t n, hits = 0;

    snapshot_sf_key(key, sizeof key, dir, id);
    snprintf(path, sizeof path, "%s/%s", w->dir, key);
    assert_ok(store_blob_open_file(&b, path));
    assert_ok(sf_reader_open(&r, b));
    assert_true(sf_reader_region_locate(r, "fts.0", &off, &len, &crc));
    sf_reader_free(r);
    store_blob_close(b);

    p = slurp(path, &n);
    reg = p + off;
    assert_int_equal(load_u32le(reg + 8), 3);
    store_u32le(reg + 8, 1);
    sum = load_u64le(reg + len - FTS_TRAILER_LEN + TR_SUMMARY_OFF);
    reg[sum + 15] &= (uint8_t)~FTS_SUMMARY_WHOLE;
    store_u32le(reg + len - FTS_TRAILER_LEN + TR_CRC,
                crc32c(reg, (size_t)len - FTS_TRAILER_LEN + TR_CRC));
    new_crc = crc32c(reg, (size_t)len);
    /* the footer's directory entry: "<offset>:<length>:<crc, 8 hex>" */
    snprintf(before, sizeof before, "%llu:%llu:%08x", (unsigned long long)off,
             (unsigned long long)len, crc);
    snprintf(after, sizeof after, "%llu:%llu:%08x", (unsigned long long)off,
             (unsigned long long)len, new_crc);
    for (size_t i = (size_t)(off + len); i + strlen(before) <= n; i++)
        if (memcmp(p + i, before, strlen(before)) == 0) {
            memcpy(p + i, after, strlen(after));
            hits++;
        }
    assert_int_equal(hits, 1);
    spill(path, p, n);
    mem_free(p);
}

/* ---- reading back ------------------------------------------------------ */

/* Every live row in scan order: k and _id. */
struct rows {
    int64_t k[256];
    uint8_t id[256][16];
    size_t n;
};

static infino_status rows_cb(size_t sf, const struct ArrowArray *b,
                             const uint32_t *rows, void *payload)
{
    struct rows *c = payload;
    const struct ArrowArray *ids = b->children[0], *ks = b->children[1];

    (void)sf;
    (void)rows;
    for (int64_t i = 0; i < b->length; i++) {
        assert_true(c->n < 256);
        c->k[c->n] = ((const int64_t *)ks->buffers[1])[ks->offset + i];
        memcpy(c->id[c->n],
               (const uint8_t *)ids->buffers[1] + 16 * (ids->offset + i), 16);
        c->n++;
    }
    return INFINO_OK;
}

static void read_rows(struct tbl *t, struct rows *out)
{
    static const char *const cols[] = {"_id", "k"};
    struct tbl_view *v;

    memset(out, 0, sizeof *out);
    assert_ok(tbl_view_acquire(&v, t));
    assert_ok(tbl_view_scan(v, cols, 2, rows_cb, out));
    tbl_view_release(v);
}

static void assert_rows_equal(const struct rows *a, const struct rows *b,
                              const char *what)
{
    if (a->n != b->n)
        fail_msg("%s: %zu rows, then %zu", what, a->n, b->n);
    for (size_t i = 0; i < a->n; i++)
        if (a->k[i] != b->k[i] || memcmp(a->id[i], b->id[i], 16) != 0)
            fail_msg("%s: row %zu differs (k %lld, then %lld)", what, i,
                     (long long)a->k[i], (long long)b->k[i]);
}

/* The superfile ids of the newest snapshot, in order; returns the count. */
static size_t sf_ids(struct tbl *t, uint8_t (*ids)[SNAP_SF_ID_LEN],
                     size_t cap)
{
    struct tbl_view *v;
    size_t n;

    assert_ok(tbl_view_acquire(&v, t));
    n = tbl_view_n_sf(v);
    assert_true(n <= cap);
    for (size_t i = 0; i < n; i++)
        memcpy(ids[i], tbl_view_meta(v, i)->id, SNAP_SF_ID_LEN);
    tbl_view_release(v);
    return n;
}

static uint32_t fts_version_of(struct tbl *t, size_t i)
{
    struct tbl_view *v;
    struct tbl_vsf f;
    uint32_t ver;

    assert_ok(tbl_view_acquire(&v, t));
    assert_ok(tbl_view_pin(v, i, &f));
    assert_ok(sf_indexes_region_version(&ver, f.indexes, "fts.0"));
    tbl_view_unpin(v, i);
    tbl_view_release(v);
    return ver;
}

static bool k_is(int64_t k, const void *arg)
{
    return k == *(const int64_t *)arg;
}

/* A table "t" of three superfiles (k 0..9, 10..19, 20..29) with k = 12
 * deleted, whose first and second superfiles are stale. Reopened after
 * the files were changed. */
static struct tbl *stale_table(struct tl_world *w, const char *tag,
                               uint8_t (*ids)[SNAP_SF_ID_LEN])
{
    static const int64_t k12 = 12;
    struct tl_pred p = {k_is, &k12};
    struct tbl_mutation_stats ms;
    char dir[600];
    struct tbl *t;

    tl_world_open(w, tag);
    assert_ok(tl_create(&t, w->store, "t"));
    fts_test_write_version(3); /* the two files made stale below */
    for (int i = 0; i < 3; i++) {
        if (i == 2)
            fts_test_write_version(0);
        assert_ok(tl_append(t, 10 * i, 10));
    }
    assert_ok(tbl_delete(t, tl_match, &p, &ms));
    assert_int_equal(ms.n_tombstoned, 1);
    assert_int_equal(sf_ids(t, ids, 8), 3);
    tbl_close(t);
    tl_table_dir(dir, sizeof dir, w->store, "t");
    make_fts_v1(w, dir, ids[0]);
    make_fts_v1(w, dir, ids[1]);
    assert_ok(tl_open(&t, w->store, "t"));
    return t;
}

/* ---- tests ---------------------------------------------------------------- */

static void test_table_reindex__current_table_is_left_alone(void **state)
{
    struct tl_world w;
    struct tbl *t;
    struct tbl_reindex_report r;
    uint64_t v0;
    (void)state;

    tl_world_open(&w, "reindex-current");
    assert_ok(tl_create(&t, w.store, "t"));
    assert_ok(tbl_reindex(t, NULL, false, &r)); /* empty table */
    assert_int_equal(r.superfiles, 0);
    assert_int_equal(r.already_current, 0);
    tbl_reindex_report_free(&r);
    assert_ok(tl_append(t, 0, 10));
    assert_ok(tl_append(t, 10, 10));
    v0 = tl_version(t);
    assert_ok(tbl_reindex(t, NULL, true, &r));
    assert_int_equal(r.superfiles, 2);
    assert_int_equal(r.already_current, 2);
    assert_int_equal(r.needing_rewrite, 0);
    assert_int_equal(r.bytes_to_rewrite, 0);
    tbl_reindex_report_free(&r);
    assert_ok(tbl_reindex(t, NULL, false, &r));
    assert_int_equal(r.already_current, 2);
    assert_int_equal(r.rewritten, 0);
    assert_int_equal(r.n_inconsistent, 0);
    tbl_reindex_report_free(&r);
    assert_int_equal(tl_version(t), v0); /* nothing committed */
    tl_assert_check(t, 20, "after reindex");
    tbl_close(t);
    tl_world_close(&w);
}

static void test_table_reindex__repairs_stale_superfiles(void **state)
{
    struct tl_world w;
    struct tbl *t;
    struct tbl_reindex_report r;
    struct tbl_reindex_opts o = {0};
    uint8_t ids[8][SNAP_SF_ID_LEN], after[8][SNAP_SF_ID_LEN];
    static struct rows before_rows, after_rows;
    struct tbl_view *v;
    (void)state;

    t = stale_table(&w, "reindex-stale", ids);
    assert_int_equal(fts_version_of(t, 0), 1);
    read_rows(t, &before_rows);
    assert_int_equal(before_rows.n, 29);

    /* the plan: the two stale files, in table order, nothing changed */
    for (int mode = 0; mode < 3; mode++) {
        o.mode = (enum tbl_reindex_mode)mode;
        assert_ok(tbl_reindex(t, &o, true, &r));
        assert_int_equal(r.superfiles, 3);
        assert_int_equal(r.already_current, 1);
        assert_int_equal(r.needing_rewrite, 2);
        assert_int_equal(r.awaiting_reanalysis, 0);
        assert_memory_equal(r.plan[0].id, ids[0], SNAP_SF_ID_LEN);
        assert_memory_equal(r.plan[1].id, ids[1], SNAP_SF_ID_LEN);
        assert_int_equal(r.plan[0].repair, mode == TBL_REINDEX_REANALYZE
                                               ? TBL_REPAIR_REANALYZE
                                               : TBL_REPAIR_REWRITE);
        assert_int_equal(r.bytes_to_rewrite,
                         r.plan[0].file_size + r.plan[1].file_size);
        /* one row of the second file is deleted */
        assert_true(r.plan[1].live_bytes < r.plan[1].file_size);
        assert_int_equal(r.plan[0].live_bytes, r.plan[0].file_size);
        tbl_reindex_report_free(&r);
    }
    assert_int_equal(fts_version_of(t, 0), 1);

    assert_ok(tbl_reindex(t, NULL, false, &r));
    assert_int_equal(r.rewritten, 2);
    assert_int_equal(r.already_current, 1);
    assert_int_equal(r.held_by_another_run, 0);
    tbl_reindex_report_free(&r);

    /* new files in the old places; rows, order, _ids and the deletion
     * unchanged; indexes current */
    assert_int_equal(sf_ids(t, after, 8), 3);
    assert_memory_not_equal(after[0], ids[0], SNAP_SF_ID_LEN);
    assert_memory_not_equal(after[1], ids[1], SNAP_SF_ID_LEN);
    assert_memory_equal(after[2], ids[2], SNAP_SF_ID_LEN);
    read_rows(t, &after_rows);
    assert_rows_equal(&before_rows, &after_rows, "after reindex");
    for (size_t i = 0; i < 3; i++)
        assert_int_equal(fts_version_of(t, i), FTS_FORMAT_VERSION);
    assert_ok(tbl_view_acquire(&v, t));
    assert_int_equal(tbl_view_meta(v, 1)->n_deleted, 1);
    assert_int_equal(tbl_view_meta(v, 1)->n_rows, 10);
    tbl_view_release(v);
    tl_assert_check(t, 29, "after reindex");

    /* a second run finds nothing; a fresh handle reads the same */
    assert_ok(tbl_reindex(t, NULL, false, &r));
    assert_int_equal(r.already_current, 3);
    assert_int_equal(r.rewritten, 0);
    tbl_reindex_report_free(&r);
    tbl_close(t);
    assert_ok(tl_open(&t, w.store, "t"));
    read_rows(t, &after_rows);
    assert_rows_equal(&before_rows, &after_rows, "reopened");
    tbl_close(t);
    tl_world_close(&w);
}

/* Writes through a second handle while a rewrite waits to commit. */
struct meddle {
    struct tbl *other;
    int calls;
    bool append, delete_k3, steal, try_again;
    infino_status again; /* what a nested reindex returned */
};

static void meddle(void *arg)
{
    static const int64_t k3 = 3;
    struct meddle *m = arg;
    struct tl_pred p = {k_is, &k3};
    struct tbl_mutation_stats ms;

    if (m->calls++ > 0)
        return;
    if (m->append)
        assert_ok(tl_append(m->other, 100, 5));
    if (m->delete_k3) {
        assert_ok(tbl_delete(m->other, tl_match, &p, &ms));
        assert_int_equal(ms.n_tombstoned, 1);
    }
    if (m->try_again) {
        struct tbl_reindex_report r;
        m->again = tbl_reindex(m->other, NULL, false, &r);
        err_clear();
    }
    if (m->steal) {
        /* another run (as another process's would) rewrites the file
         * first */
        struct tbl_view *v;
        bool lost;
        assert_ok(tbl_view_acquire(&v, m->other));
        pthread_mutex_lock(&m->other->write_mu);
        assert_ok(tbl_write_begin(m->other));
        assert_ok(tbl_rewrite_in_place(m->other, v, 0, NULL, NULL, &lost));
        assert_false(lost);
        tbl_write_end(m->other);
        pthread_mutex_unlock(&m->other->write_mu);
        tbl_view_release(v);
    }
}

static void test_table_reindex__concurrent_writes_survive(void **state)
{
    struct tl_world w;
    struct tbl *t;
    struct tbl_reindex_report r;
    struct meddle m = {0};
    struct tbl_reindex_opts o = {0};
    uint8_t ids[8][SNAP_SF_ID_LEN];
    static struct rows before_rows, after_rows;
    (void)state;

    t = stale_table(&w, "reindex-concurrent", ids);
    read_rows(t, &before_rows);
    assert_ok(tl_open(&m.other, w.store, "t"));
    m.append = m.delete_k3 = m.try_again = true;
    o.before_commit = meddle;
    o.arg = &m;
    assert_ok(tbl_reindex(t, &o, false, &r));
    assert_int_equal(r.rewritten, 2);
    tbl_reindex_report_free(&r);
    /* the nested reindex found the slot taken */
    assert_int_equal(m.again, INFINO_ERR_BUSY);

    /* k = 3 (deleted while its file was rewritten) is gone; the append
     * is there, after the rows that were there before */
    read_rows(t, &after_rows);
    assert_int_equal(after_rows.n, before_rows.n - 1 + 5);
    for (size_t i = 0, j = 0; i < before_rows.n; i++) {
        if (before_rows.k[i] == 3)
            continue;
        assert_int_equal(after_rows.k[j], before_rows.k[i]);
        assert_memory_equal(after_rows.id[j], before_rows.id[i], 16);
        j++;
    }
    for (size_t j = before_rows.n - 1; j < after_rows.n; j++)
        assert_true(after_rows.k[j] >= 100);
    tl_assert_check(t, 33, "after reindex with concurrent writes");
    tbl_close(m.other);

    /* the slot was given back: reindex and optimize run again */
    {
        struct tbl_optimize_report orep;
        assert_ok(tbl_reindex(t, NULL, false, &r));
        assert_int_equal(r.already_current, 4);
        tbl_reindex_report_free(&r);
        assert_ok(tbl_optimize(t, NULL, &orep));
    }
    tbl_close(t);
    tl_world_close(&w);
}

static void test_table_reindex__superfile_taken_by_another_run(void **state)
{
    struct tl_world w;
    struct tbl *t;
    struct tbl_reindex_report r;
    struct meddle m = {0};
    struct tbl_reindex_opts o = {0};
    uint8_t ids[8][SNAP_SF_ID_LEN];
    static struct rows before_rows, after_rows;
    (void)state;

    t = stale_table(&w, "reindex-stolen", ids);
    read_rows(t, &before_rows);
    assert_ok(tl_open(&m.other, w.store, "t"));
    m.steal = true;
    o.before_commit = meddle;
    o.arg = &m;
    assert_ok(tbl_reindex(t, &o, false, &r));
    assert_int_equal(r.held_by_another_run, 1);
    assert_int_equal(r.rewritten, 1);
    tbl_reindex_report_free(&r);
    read_rows(t, &after_rows);
    assert_rows_equal(&before_rows, &after_rows, "after two runs");
    tl_assert_check(t, 29, "after two runs");
    assert_ok(tbl_reindex(t, NULL, true, &r));
    assert_int_equal(r.needing_rewrite, 0);
    tbl_reindex_report_free(&r);
    tbl_close(m.other);
    tbl_close(t);
    tl_world_close(&w);
}

/* The test hook `all` rewrites current files too: each keeps its rows,
 * tombstones and place. */
static void test_table_reindex__rewrite_all_keeps_everything(void **state)
{
    struct tl_world w;
    struct tbl *t;
    struct tbl_reindex_report r;
    struct tbl_reindex_opts o = {0};
    struct tbl_mutation_stats ms;
    static struct rows before_rows, after_rows;
    (void)state;

    tl_world_open(&w, "reindex-all");
    assert_ok(tl_create(&t, w.store, "t"));
    for (int i = 0; i < 4; i++)
        assert_ok(tl_append(t, 10 * i, 10));
    {
        static const int64_t ks[] = {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 15, 33};
        struct tl_key_set s = {ks, sizeof ks / sizeof ks[0]};
        struct tl_pred p = {tl_in_set, &s};
        assert_ok(tbl_delete(t, tl_match, &p, &ms));
        assert_int_equal(ms.n_tombstoned, 12); /* the first file: all */
    }
    read_rows(t, &before_rows);
    o.all = true;
    o.mode = TBL_REINDEX_REANALYZE;
    assert_ok(tbl_reindex(t, &o, false, &r));
    assert_int_equal(r.rewritten, 4);
    tbl_reindex_report_free(&r);
    read_rows(t, &after_rows);
    assert_rows_equal(&before_rows, &after_rows, "after rewriting all");
    tl_assert_check(t, 28, "after rewriting all");
    tbl_close(t);
    tl_world_close(&w);
}

static void test_table_reindex__memory_store_refuses(void **state)
{
    struct objstore *s;
    struct tbl *t;
    struct tbl_reindex_report r;
    (void)state;

    assert_ok(objstore_open(&s, "memory://"));
    assert_ok(tl_create(&t, s, "t"));
    assert_ok(tl_append(t, 0, 3));
    assert_int_equal(tbl_reindex(t, NULL, true, &r), INFINO_ERR_INVALID);
    assert_true(strstr(err_last(), "durable storage") != NULL);
    assert_int_equal(tbl_reindex(t, NULL, false, &r), INFINO_ERR_INVALID);
    tbl_close(t);
    objstore_close(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_reindex__current_table_is_left_alone),
        cmocka_unit_test(test_table_reindex__repairs_stale_superfiles),
        cmocka_unit_test(test_table_reindex__concurrent_writes_survive),
        cmocka_unit_test(test_table_reindex__superfile_taken_by_another_run),
        cmocka_unit_test(test_table_reindex__rewrite_all_keeps_everything),
        cmocka_unit_test(test_table_reindex__memory_store_refuses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
