/*
 * table_ops_test.c - the table layer's operations on a local folder:
 * catalog create/open/list/drop, append, delete and update through
 * matchers, optimize, gc, scans, and what two handles, a dropped table,
 * damaged files and fork() must not break. Every test ends with the
 * table's consistency check (tbl_check) where the table still exists.
 *
 * Driven through table/catalog.h and table/table.h, as src/api/db.c
 * drives them (tests/table_layer_fixture.h says why not infino.h).
 */
#include "harness.h"
#include "table_layer_fixture.h"

#include "table/snapshot.h"
#include "util/tid.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>

static bool contains(const char *haystack, const char *needle)
{
    return strstr(haystack, needle) != NULL;
}

static void range(int64_t *out, int64_t first, size_t n)
{
    for (size_t i = 0; i < n; i++)
        out[i] = first + (int64_t)i;
}

static bool k_mod(int64_t k, const void *arg)
{
    const int64_t *m = arg; /* {modulus, remainder} */
    return k % m[0] == m[1];
}

static bool k_none(int64_t k, const void *arg)
{
    (void)k;
    (void)arg;
    return false;
}

/* Superfiles, tombstones and snapshot versions on disk. */
struct disk {
    size_t superfiles, tombstones, snapshots;
};

static struct disk on_disk(const struct tl_world *w, const char *table_dir)
{
    char rel[800];
    struct disk d;

    snprintf(rel, sizeof rel, "%ssuperfiles", table_dir);
    d.superfiles = tl_count_files(w->dir, rel, ".parquet", NULL);
    snprintf(rel, sizeof rel, "%stombstones", table_dir);
    d.tombstones = tl_count_files(w->dir, rel, ".del", NULL);
    snprintf(rel, sizeof rel, "%ssnapshots", table_dir);
    d.snapshots = tl_count_files(w->dir, rel, "", NULL) -
                  tl_count_files(w->dir, rel, "LATEST", NULL);
    return d;
}

/* ---- catalog ------------------------------------------------------------- */

static void assert_names(struct objstore *s, const char *const *want,
                         size_t n)
{
    struct catalog c = {0};

    assert_ok(catalog_load(&c, s));
    assert_int_equal(c.n, n);
    for (size_t i = 0; i < n; i++)
        assert_string_equal(c.entries[i].name, want[i]);
    catalog_free(&c);
}

static void test_table_ops__create_open_list_drop(void **state)
{
    static const char *const both[] = {"alpha", "beta"};
    static const char *const beta[] = {"beta"};
    struct tl_world w;
    struct tbl *a, *b, *t;
    char dir_a[700], dir_b[700], dir_a2[700];
    int64_t want[5];
    (void)state;

    tl_world_open(&w, "ops-catalog");
    assert_names(w.store, NULL, 0);
    assert_ok(tl_create(&b, w.store, "beta"));
    assert_ok(tl_create(&a, w.store, "alpha"));
    assert_int_equal(tl_create(&t, w.store, "alpha"), INFINO_ERR_EXISTS);
    assert_true(contains(err_last(), "alpha"));
    assert_null(t);
    assert_int_equal(tl_create(&t, w.store, "_hidden"), INFINO_ERR_INVALID);
    assert_int_equal(tl_create(&t, w.store, "a/b"), INFINO_ERR_INVALID);
    assert_int_equal(tl_create(&t, w.store, ""), INFINO_ERR_INVALID);
    assert_names(w.store, both, 2); /* sorted by name */
    assert_int_equal(tl_open(&t, w.store, "gamma"), INFINO_ERR_NOTFOUND);
    assert_true(contains(err_last(), "gamma"));

    assert_ok(tl_append(a, 0, 5));
    assert_ok(tl_append(b, 10, 3));
    tl_table_dir(dir_a, sizeof dir_a, w.store, "alpha");
    tl_table_dir(dir_b, sizeof dir_b, w.store, "beta");
    assert_string_not_equal(dir_a, dir_b);
    tbl_close(a);
    tbl_close(b);

    /* a second handle sees the rows */
    range(want, 0, 5);
    assert_ok(tl_open(&t, w.store, "alpha"));
    tl_assert_keys(t, want, 5, "reopened alpha");
    tl_assert_check(t, 5, "reopened alpha");
    assert_string_equal(tbl_name(t), "alpha");
    tbl_close(t);

    /* drop without purge: the name goes, the files stay */
    assert_ok(tl_drop(w.store, "alpha", false));
    assert_names(w.store, beta, 1);
    assert_true(tl_path_exists(w.dir, dir_a));
    assert_true(on_disk(&w, dir_a).superfiles == 1);
    assert_int_equal(tl_open(&t, w.store, "alpha"), INFINO_ERR_NOTFOUND);
    assert_int_equal(tl_drop(w.store, "alpha", false), INFINO_ERR_NOTFOUND);

    /* drop with purge: the folder goes too */
    assert_true(tl_path_exists(w.dir, dir_b));
    assert_ok(tl_drop(w.store, "beta", true));
    assert_names(w.store, NULL, 0);
    assert_false(tl_path_exists(w.dir, dir_b));
    assert_int_equal(tl_drop(w.store, "beta", true), INFINO_ERR_NOTFOUND);

    /* the name again: a fresh, empty table in a fresh folder */
    assert_ok(tl_create(&t, w.store, "alpha"));
    tl_table_dir(dir_a2, sizeof dir_a2, w.store, "alpha");
    assert_string_not_equal(dir_a, dir_a2);
    tl_assert_keys(t, NULL, 0, "re-created alpha");
    tl_assert_check(t, 0, "re-created alpha");
    assert_ok(tl_append(t, 100, 2));
    tl_assert_check(t, 2, "re-created alpha after an append");
    tbl_close(t);
    tl_world_close(&w);
}

/* ---- append -------------------------------------------------------------- */

/* A stream of n_batches batches of consecutive keys from `first`, batch b
 * holding sizes[b] rows; with null_at >= 0, row null_at of batch
 * null_batch has a null k. */
static void multi_stream(struct ArrowArrayStream *out, int64_t first,
                         const size_t *sizes, size_t n_batches, long null_at,
                         size_t null_batch)
{
    struct ArrowArray batches[8];
    struct ar_schema s = {0};
    int64_t ks[512];

    assert_true(n_batches <= 8);
    for (size_t b = 0; b < n_batches; b++) {
        struct ar_schema bs;
        assert_true(sizes[b] <= 512);
        range(ks, first, sizes[b]);
        first += (int64_t)sizes[b];
        tl_batch(&batches[b], &bs, ks, sizes[b], NULL,
                 b == null_batch ? null_at : -1);
        if (null_at >= 0)
            bs.fields[0].nullable = true; /* one schema for the stream */
        ar_schema_free(&s);
        s = bs;
    }
    if (n_batches == 0)
        tf_schema(&s);
    assert_ok(ar_stream_from_batches(out, &s, batches, n_batches));
    ar_schema_free(&s);
}

static void test_table_ops__append_batches(void **state)
{
    static const size_t sizes[] = {10, 20, 5};
    static const size_t empty_batch[] = {0};
    struct tl_world w;
    struct tbl *t;
    struct ArrowArrayStream s;
    char dir[700];
    uint64_t n_rows, v0;
    int64_t want[200];
    (void)state;

    tl_world_open(&w, "ops-append");
    assert_ok(tl_create(&t, w.store, "t"));
    tl_table_dir(dir, sizeof dir, w.store, "t");

    /* three batches, one commit, one superfile */
    multi_stream(&s, 0, sizes, 3, -1, 0);
    assert_ok(tbl_append(t, &s, &n_rows));
    assert_int_equal(n_rows, 35);
    assert_int_equal(tl_version(t), 1);
    assert_int_equal(on_disk(&w, dir).superfiles, 1);
    range(want, 0, 35);
    tl_assert_keys(t, want, 35, "after one append of three batches");
    tl_assert_check(t, 35, "after one append of three batches");

    /* more appends, each one commit */
    assert_ok(tl_append(t, 35, 40));
    assert_ok(tl_append(t, 75, 1));
    assert_int_equal(tl_version(t), 3);
    range(want, 0, 76);
    tl_assert_keys(t, want, 76, "after three appends");

    /* empty input commits nothing: no batch, or one batch of no rows */
    v0 = tl_version(t);
    multi_stream(&s, 0, NULL, 0, -1, 0);
    assert_ok(tbl_append(t, &s, &n_rows));
    assert_int_equal(n_rows, 0);
    multi_stream(&s, 0, empty_batch, 1, -1, 0);
    assert_ok(tbl_append(t, &s, &n_rows));
    assert_int_equal(n_rows, 0);
    assert_int_equal(tl_version(t), v0);
    assert_int_equal(on_disk(&w, dir).superfiles, 3);
    tl_assert_keys(t, want, 76, "after empty appends");
    tl_assert_check(t, 76, "after empty appends");

    /* count_rows: the snapshot's live rows */
    {
        struct tbl_view *v;
        assert_ok(tbl_view_acquire(&v, t));
        assert_int_equal(snapshot_live_rows(tbl_view_snapshot(v)), 76);
        assert_int_equal(tbl_view_n_sf(v), 3);
        tbl_view_release(v);
    }
    tbl_close(t);
    tl_world_close(&w);
}

/* A one-batch stream with the fixture's columns, but column `rename`
 * called `as`, or (as == NULL) dropped (the last column, vec, only), or
 * body given as int64. */
static void odd_stream(struct ArrowArrayStream *out, const char *rename,
                       const char *as, bool body_as_int)
{
    struct ar_schema s;
    struct ArrowArray batch;
    struct ar_field root;
    struct ar_builder *b;
    int64_t ks[3] = {900, 901, 902};

    tl_batch(&batch, &s, ks, 3, NULL, -1);
    if (body_as_int) {
        /* rebuild body as int64 */
        struct ar_builder *ib;
        ar_field_free(&s.fields[1]);
        s.fields[1] = tf_leaf("body", AR_INT64, true);
        assert_ok(ar_builder_new(&ib, &s.fields[1]));
        for (int i = 0; i < 3; i++)
            assert_ok(ar_builder_append_int(ib, i));
        batch.children[1]->release(batch.children[1]);
        assert_ok(ar_builder_finish(ib, batch.children[1]));
        ar_builder_free(ib);
    }
    for (size_t i = 0; rename && i < s.n_fields; i++) {
        if (strcmp(s.fields[i].name, rename) != 0)
            continue;
        if (as) {
            mem_free(s.fields[i].name);
            s.fields[i].name = mem_strdup(as);
        } else {
            /* drop column i: rebuild the batch from the other children */
            memset(&root, 0, sizeof root);
            ar_field_free(&s.fields[i]);
            memmove(&s.fields[i], &s.fields[i + 1],
                    (s.n_fields - i - 1) * sizeof *s.fields);
            s.n_fields--;
            root.name = (char *)"";
            root.type = AR_STRUCT;
            root.n_children = s.n_fields;
            root.children = s.fields;
            assert_ok(ar_builder_new(&b, &root));
            for (int r = 0; r < 3; r++) {
                assert_ok(ar_builder_append_int(ar_builder_child(b, 0),
                                                ks[r]));
                assert_ok(ar_builder_append_bytes(ar_builder_child(b, 1),
                                                  "x", 1));
                assert_ok(ar_builder_end_struct(b));
            }
            batch.release(&batch);
            assert_ok(ar_builder_finish(b, &batch));
            ar_builder_free(b);
        }
        break;
    }
    assert_ok(ar_stream_from_batches(out, &s, &batch, 1));
    ar_schema_free(&s);
}

static void test_table_ops__append_refuses_bad_input(void **state)
{
    static const size_t sizes[] = {10, 10, 10};
    struct tl_world w;
    struct tbl *t;
    struct ArrowArrayStream s;
    char dir[700];
    uint64_t n_rows = 77, v0;
    int64_t want[5];
    struct disk d0, d1;
    (void)state;

    tl_world_open(&w, "ops-refuse");
    assert_ok(tl_create(&t, w.store, "t"));
    tl_table_dir(dir, sizeof dir, w.store, "t");
    assert_ok(tl_append(t, 0, 5));
    range(want, 0, 5);
    v0 = tl_version(t);
    d0 = on_disk(&w, dir);

    /* a column the table does not have */
    odd_stream(&s, "vec", "vector", false);
    assert_int_equal(tbl_append(t, &s, &n_rows), INFINO_ERR_INVALID);
    assert_true(contains(err_last(), "'vector'"));
    assert_null(s.release); /* taken, also on failure */
    assert_int_equal(n_rows, 0);
    /* (a missing column: nullable ones may be omitted, and a missing
     * non-nullable one is refused in table_evolve_test) */
    /* a column of the wrong type */
    odd_stream(&s, NULL, NULL, true);
    assert_int_equal(tbl_append(t, &s, NULL), INFINO_ERR_INVALID);
    assert_true(contains(err_last(), "'body'"));

    /* all or nothing: the third batch holds a null k (row 25 overall) */
    multi_stream(&s, 100, sizes, 3, 5, 2);
    assert_int_equal(tbl_append(t, &s, &n_rows), INFINO_ERR_INVALID);
    assert_true(contains(err_last(), "'k'"));
    assert_true(contains(err_last(), "25"));

    assert_int_equal(tl_version(t), v0);
    tl_assert_keys(t, want, 5, "after refused appends");
    tl_assert_check(t, 5, "after refused appends");
    d1 = on_disk(&w, dir);
    assert_int_equal(d1.superfiles, d0.superfiles);
    assert_int_equal(d1.snapshots, d0.snapshots);
    /* and the handle still works */
    assert_ok(tl_append(t, 5, 1));
    tl_assert_check(t, 6, "after refused appends and a good one");
    tbl_close(t);
    tl_world_close(&w);
}

/* ---- delete and update --------------------------------------------------- */

/* Matcher selecting every local row 0..n_rows-1 of superfile 0, deleted
 * ones included (a predicate engine reading a stale snapshot would). */
static infino_status match_all_of_first(roaring_bitmap_t **per_sf,
                                        struct tbl_view *v, void *payload)
{
    const struct snapshot *snap = tbl_view_snapshot(v);
    (void)payload;
    if (snap->n_sf == 0)
        return INFINO_OK;
    per_sf[0] = roaring_bitmap_create();
    if (per_sf[0] == NULL)
        return err_nomem();
    roaring_bitmap_add_range(per_sf[0], 0, snap->sf[0].n_rows);
    return INFINO_OK;
}

static void test_table_ops__delete(void **state)
{
    static const int64_t mod5[2] = {5, 0}, mod10[2] = {10, 0};
    struct tl_pred p5 = {k_mod, mod5}, p10 = {k_mod, mod10},
                   none = {k_none, NULL};
    struct tl_world w;
    struct tbl *t;
    struct tbl_mutation_stats ms;
    int64_t want[50];
    size_t n_want = 0;
    uint64_t v0;
    (void)state;

    tl_world_open(&w, "ops-delete");
    assert_ok(tl_create(&t, w.store, "t"));
    assert_ok(tl_append(t, 0, 25));
    assert_ok(tl_append(t, 25, 25));

    assert_ok(tbl_delete(t, tl_match, &p5, &ms));
    assert_int_equal(ms.matched, 10);
    assert_int_equal(ms.n_tombstoned, 10);
    assert_int_equal(ms.n_not_found, 0);
    for (int64_t k = 0; k < 50; k++)
        if (k % 5 != 0)
            want[n_want++] = k;
    tl_assert_keys(t, want, n_want, "after deleting k % 5 == 0");
    tl_assert_check(t, 40, "after deleting k % 5 == 0");

    /* the rows are gone: nothing left to match, nothing committed */
    v0 = tl_version(t);
    assert_ok(tbl_delete(t, tl_match, &p10, &ms));
    assert_int_equal(ms.matched, 0);
    assert_int_equal(ms.n_tombstoned, 0);
    assert_ok(tbl_delete(t, tl_match, &none, &ms));
    assert_int_equal(ms.matched, 0);
    assert_int_equal(tl_version(t), v0);

    /* a matcher that names deleted rows: they count as not found */
    assert_ok(tbl_delete(t, match_all_of_first, NULL, &ms));
    assert_int_equal(ms.matched, 25);
    assert_int_equal(ms.n_tombstoned, 20);
    assert_int_equal(ms.n_not_found, 5);
    n_want = 0;
    for (int64_t k = 25; k < 50; k++)
        if (k % 5 != 0)
            want[n_want++] = k;
    tl_assert_keys(t, want, n_want, "after deleting superfile 0");
    tl_assert_check(t, 20, "after deleting superfile 0");
    {
        struct tbl_check_report r;
        assert_ok(tbl_check(t, &r));
        assert_int_equal(r.n_deleted, 30);
        assert_int_equal(r.n_superfiles, 2);
    }
    tbl_close(t);
    tl_world_close(&w);
}

/* The _id of the live row with key k (16 bytes into out); false if none. */
struct id_of_ctx {
    int64_t k;
    uint8_t id[16];
    int found;
};

static infino_status id_of_cb(size_t sf, const struct ArrowArray *b,
                              const uint32_t *rows, void *payload)
{
    struct id_of_ctx *c = payload;
    const struct ArrowArray *ids = b->children[0], *ks = b->children[1];

    (void)sf;
    (void)rows;
    for (int64_t i = 0; i < b->length; i++)
        if (((const int64_t *)ks->buffers[1])[ks->offset + i] == c->k) {
            memcpy(c->id,
                   (const uint8_t *)ids->buffers[1] + (ids->offset + i) * 16,
                   16);
            c->found++;
        }
    return INFINO_OK;
}

static bool id_of(struct tbl *t, int64_t k, uint8_t out[16])
{
    static const char *const cols[] = {"_id", "k"};
    struct id_of_ctx c = {k, {0}, 0};
    struct tbl_view *v;

    assert_ok(tbl_view_acquire(&v, t));
    assert_ok(tbl_view_scan(v, cols, 2, id_of_cb, &c));
    tbl_view_release(v);
    assert_true(c.found <= 1);
    memcpy(out, c.id, 16);
    return c.found == 1;
}

static void test_table_ops__update(void **state)
{
    static const int64_t sel[] = {3, 4, 5}, repl[] = {103, 104, 105};
    static const int64_t sel2[] = {6, 7}, repl2[] = {106, 107, 108};
    struct tl_key_set s1 = {sel, 3}, s2 = {sel2, 2};
    struct tl_pred p1 = {tl_in_set, &s1}, p2 = {tl_in_set, &s2};
    struct tl_world w;
    struct tbl *t;
    struct tbl_mutation_stats ms;
    struct ArrowArrayStream rows;
    char dir[700];
    int64_t want[20];
    size_t n_want = 0;
    uint8_t id_old[16], id_new[16];
    uint64_t v0;
    struct disk d0;
    (void)state;

    tl_world_open(&w, "ops-update");
    assert_ok(tl_create(&t, w.store, "t"));
    tl_table_dir(dir, sizeof dir, w.store, "t");
    assert_ok(tl_append(t, 0, 20));
    assert_true(id_of(t, 3, id_old));

    tl_stream(&rows, repl, 3, NULL);
    assert_ok(tbl_update(t, tl_match, &p1, &rows, &ms));
    assert_null(rows.release);
    assert_int_equal(ms.matched, 3);
    assert_int_equal(ms.n_tombstoned, 3);
    assert_int_equal(ms.n_not_found, 0);
    for (int64_t k = 0; k < 20; k++)
        if (k < 3 || k > 5)
            want[n_want++] = k;
    want[n_want++] = 103;
    want[n_want++] = 104;
    want[n_want++] = 105;
    tl_assert_keys(t, want, n_want, "after update");
    tl_assert_check(t, 20, "after update");
    assert_false(id_of(t, 3, id_new));
    assert_true(id_of(t, 103, id_new));
    assert_memory_not_equal(id_old, id_new, 16); /* replacements: new ids */

    /* two rows selected, three given: nothing changes */
    v0 = tl_version(t);
    d0 = on_disk(&w, dir);
    tl_stream(&rows, repl2, 3, NULL);
    assert_int_equal(tbl_update(t, tl_match, &p2, &rows, &ms),
                     INFINO_ERR_CARDINALITY);
    assert_null(rows.release);
    assert_true(contains(err_last(), "2 row"));
    assert_true(contains(err_last(), "3 replacement"));
    assert_int_equal(tl_version(t), v0);
    tl_assert_keys(t, want, n_want, "after a refused update");
    tl_assert_check(t, 20, "after a refused update");
    assert_int_equal(on_disk(&w, dir).superfiles, d0.superfiles);
    assert_int_equal(on_disk(&w, dir).tombstones, d0.tombstones);
    tbl_close(t);
    tl_world_close(&w);
}

/* ---- optimize and gc ----------------------------------------------------- */

struct id_map_ctx {
    uint8_t (*ids)[16]; /* indexed by k */
    size_t n_k;
};

static infino_status id_map_cb(size_t sf, const struct ArrowArray *b,
                               const uint32_t *rows, void *payload)
{
    struct id_map_ctx *c = payload;
    const struct ArrowArray *ids = b->children[0], *ks = b->children[1];

    (void)sf;
    (void)rows;
    for (int64_t i = 0; i < b->length; i++) {
        int64_t k = ((const int64_t *)ks->buffers[1])[ks->offset + i];
        if (k < 0 || (size_t)k >= c->n_k)
            return err_set(INFINO_ERR_INVALID, "unexpected key %lld",
                           (long long)k);
        memcpy(c->ids[k],
               (const uint8_t *)ids->buffers[1] + (ids->offset + i) * 16, 16);
    }
    return INFINO_OK;
}

static void id_map(struct tbl *t, uint8_t (*ids)[16], size_t n_k)
{
    static const char *const cols[] = {"_id", "k"};
    struct id_map_ctx c = {ids, n_k};
    struct tbl_view *v;

    memset(ids, 0, n_k * 16);
    assert_ok(tbl_view_acquire(&v, t));
    assert_ok(tbl_view_scan(v, cols, 2, id_map_cb, &c));
    tbl_view_release(v);
}

static void test_table_ops__optimize(void **state)
{
    static const int64_t mod3[2] = {3, 0};
    struct tl_pred p3 = {k_mod, mod3};
    struct tl_world w;
    struct tbl *t;
    struct tbl_mutation_stats ms;
    struct tbl_optimize_opts oo = TBL_OPTIMIZE_OPTS_INIT;
    struct tbl_optimize_report rep;
    struct tbl_check_report cr;
    static uint8_t ids_before[100][16], ids_after[100][16];
    int64_t want[100];
    size_t n_want = 0;
    (void)state;

    tl_world_open(&w, "ops-optimize");
    assert_ok(tl_create(&t, w.store, "t"));
    for (int i = 0; i < 5; i++)
        assert_ok(tl_append(t, 20 * i, 20));
    assert_ok(tbl_delete(t, tl_match, &p3, &ms));
    assert_int_equal(ms.n_tombstoned, 34);
    for (int64_t k = 0; k < 100; k++)
        if (k % 3 != 0)
            want[n_want++] = k;
    id_map(t, ids_before, 100);

    oo.min_fill_percent = 100;
    assert_ok(tbl_optimize(t, &oo, &rep));
    assert_int_equal(rep.n_inputs, 5);
    assert_int_equal(rep.n_outputs, 1);
    assert_int_equal(rep.rows_dropped, 34);
    tl_assert_keys(t, want, n_want, "after optimize");
    assert_ok(tbl_check(t, &cr));
    assert_int_equal(cr.n_superfiles, 1);
    assert_int_equal(cr.n_rows, n_want);
    assert_int_equal(cr.n_deleted, 0);
    id_map(t, ids_after, 100);
    /* rows keep their _ids */
    assert_memory_equal(ids_before, ids_after, sizeof ids_before);

    /* nothing left to do: a second run changes nothing */
    {
        uint64_t v0 = tl_version(t);
        assert_ok(tbl_optimize(t, &oo, &rep));
        assert_int_equal(rep.n_inputs, 0);
        assert_int_equal(tl_version(t), v0);
    }
    /* out-of-range options are refused */
    oo.min_fill_percent = 101;
    assert_int_equal(tbl_optimize(t, &oo, &rep), INFINO_ERR_INVALID);
    tl_assert_check(t, n_want, "after optimize");
    tbl_close(t);
    tl_world_close(&w);
}

static void test_table_ops__gc(void **state)
{
    static const int64_t mod4[2] = {4, 1};
    struct tl_pred p4 = {k_mod, mod4};
    struct tl_world w;
    struct tbl *t;
    struct tbl_mutation_stats ms;
    struct tbl_optimize_opts oo = TBL_OPTIMIZE_OPTS_INIT;
    struct tbl_optimize_report rep;
    struct tbl_gc_report gr;
    char dir[700];
    struct disk d0, d1;
    int64_t want[200];
    size_t n_want = 0;
    uint64_t v;
    (void)state;

    tl_world_open(&w, "ops-gc");
    assert_ok(tl_create(&t, w.store, "t"));
    tl_table_dir(dir, sizeof dir, w.store, "t");
    /* 68 one-row appends, a delete and an optimize: more than one
     * checkpoint's worth of versions (SNAP_CHECKPOINT_EVERY) */
    for (int64_t k = 0; k < 68; k++)
        assert_ok(tl_append(t, k, 1));
    assert_ok(tbl_delete(t, tl_match, &p4, &ms));
    assert_int_equal(ms.n_tombstoned, 17);
    oo.min_fill_percent = 100;
    assert_ok(tbl_optimize(t, &oo, &rep));
    assert_int_equal(rep.n_inputs, 68);
    for (int64_t k = 0; k < 68; k++)
        if (k % 4 != 1)
            want[n_want++] = k;
    v = tl_version(t);
    assert_int_equal(v, 70);
    d0 = on_disk(&w, dir);
    assert_int_equal(d0.superfiles, 69); /* 68 merged away + 1 */
    assert_int_equal(d0.tombstones, 17);
    assert_int_equal(d0.snapshots, 70);

    assert_ok(tbl_gc(t, 0, &gr));
    d1 = on_disk(&w, dir);
    /* what the newest snapshot needs, and the versions from its
     * checkpoint (65) on */
    assert_int_equal(d1.superfiles, 1);
    assert_int_equal(d1.tombstones, 0);
    assert_int_equal(d1.snapshots, v - 65 + 1);
    assert_true(gr.objects_deleted >= 68 + 17 + 64);
    assert_int_equal(gr.delete_errors, 0);
    tl_assert_keys(t, want, n_want, "after gc");
    tl_assert_check(t, n_want, "after gc");

    /* a fresh handle reads the same; a second gc removes nothing more */
    tbl_close(t);
    assert_ok(tl_open(&t, w.store, "t"));
    tl_assert_keys(t, want, n_want, "reopened after gc");
    assert_ok(tbl_gc(t, 0, &gr));
    assert_int_equal(on_disk(&w, dir).superfiles, 1);
    assert_int_equal(on_disk(&w, dir).snapshots, d1.snapshots);
    /* gc with a grace period keeps what is young */
    assert_ok(tl_append(t, 1000, 1));
    assert_ok(tbl_gc(t, 3600, &gr));
    assert_int_equal(gr.objects_deleted, 0);
    want[n_want++] = 1000;
    tl_assert_keys(t, want, n_want, "after gc with a grace period");
    tl_assert_check(t, n_want, "after gc with a grace period");
    tbl_close(t);
    tl_world_close(&w);
}

/* ---- scans --------------------------------------------------------------- */

struct scan_ctx {
    size_t rows;
    bool all_columns;
    int bad;
    char why[200];
};

static infino_status scan_cb(size_t sf, const struct ArrowArray *b,
                             const uint32_t *rows, void *payload)
{
    struct scan_ctx *c = payload;

    (void)sf;
    (void)rows;
    if (c->all_columns) {
        /* _id, k, body, vec */
        const struct ArrowArray *k = b->children[1], *body = b->children[2],
                                *vec = b->children[3];
        const float *items = (const float *)vec->children[0]->buffers[1] +
                             vec->children[0]->offset;
        if (b->n_children != 4) {
            c->bad++;
            return INFINO_OK;
        }
        for (int64_t i = 0; i < b->length; i++) {
            int64_t kv = ((const int64_t *)k->buffers[1])[k->offset + i];
            const int32_t *off = (const int32_t *)body->buffers[1] +
                                 body->offset;
            char want[64];
            int len = tf_body(want, sizeof want, kv);
            float vw[TF_DIM];
            if (off[i + 1] - off[i] != len ||
                memcmp((const char *)body->buffers[2] + off[i], want,
                       (size_t)len) != 0) {
                c->bad++;
                snprintf(c->why, sizeof c->why, "body of %lld",
                         (long long)kv);
            }
            tf_vec(vw, kv);
            if (memcmp(items + (vec->offset + i) * TF_DIM, vw,
                       sizeof vw) != 0) {
                c->bad++;
                snprintf(c->why, sizeof c->why, "vec of %lld",
                         (long long)kv);
            }
        }
    } else {
        /* body, k: in the order asked for */
        const struct ArrowArray *body = b->children[0], *k = b->children[1];
        if (b->n_children != 2) {
            c->bad++;
            return INFINO_OK;
        }
        for (int64_t i = 0; i < b->length; i++) {
            int64_t kv = ((const int64_t *)k->buffers[1])[k->offset + i];
            const int32_t *off = (const int32_t *)body->buffers[1] +
                                 body->offset;
            char want[64];
            int len = tf_body(want, sizeof want, kv);
            if (off[i + 1] - off[i] != len ||
                memcmp((const char *)body->buffers[2] + off[i], want,
                       (size_t)len) != 0)
                c->bad++;
        }
    }
    c->rows += (size_t)b->length;
    return INFINO_OK;
}

static void test_table_ops__scan_columns(void **state)
{
    static const char *const some[] = {"body", "k"};
    static const char *const unknown[] = {"k", "nope"};
    static const int64_t mod2[2] = {2, 1};
    struct tl_pred odd = {k_mod, mod2};
    struct tl_world w;
    struct tbl *t;
    struct tbl_view *v;
    struct tbl_mutation_stats ms;
    struct ar_schema proj;
    struct scan_ctx c;
    (void)state;

    tl_world_open(&w, "ops-scan");
    assert_ok(tl_create(&t, w.store, "t"));
    assert_ok(tl_append(t, 0, 30));
    assert_ok(tl_append(t, 30, 30));
    assert_ok(tbl_delete(t, tl_match, &odd, &ms));
    assert_ok(tbl_view_acquire(&v, t));

    memset(&c, 0, sizeof c);
    assert_ok(tbl_view_scan(v, some, 2, scan_cb, &c));
    assert_int_equal(c.bad, 0);
    assert_int_equal(c.rows, 30);
    assert_ok(tbl_scan_schema(&proj, t, some, 2));
    assert_int_equal(proj.n_fields, 2);
    assert_string_equal(proj.fields[0].name, "body");
    assert_int_equal(proj.fields[1].type, AR_INT64);
    ar_schema_free(&proj);

    memset(&c, 0, sizeof c);
    c.all_columns = true;
    assert_ok(tbl_view_scan(v, NULL, 0, scan_cb, &c));
    if (c.bad)
        fail_msg("%d bad rows: %s", c.bad, c.why);
    assert_int_equal(c.rows, 30);
    assert_ok(tbl_scan_schema(&proj, t, NULL, 0));
    assert_int_equal(proj.n_fields, 4);
    assert_string_equal(proj.fields[0].name, "_id");
    assert_int_equal(proj.fields[0].type, AR_DECIMAL128);
    ar_schema_free(&proj);

    assert_int_equal(tbl_view_scan(v, unknown, 2, scan_cb, &c),
                     INFINO_ERR_INVALID);
    assert_true(contains(err_last(), "nope"));
    tbl_view_release(v);
    tl_assert_check(t, 30, "after scans");
    tbl_close(t);
    tl_world_close(&w);
}

/* ---- two handles --------------------------------------------------------- */

/* Handle B sits idle at an old version while handle A (its own store, as
 * another process would have) commits past a checkpoint and collects
 * every version below it. B must then read A's rows, and B's next write
 * must land on top of them: before the fix, B published version n+1 into
 * the hole gc left below the newest version, and every row A committed
 * after n was lost. `read_first`: B reads before it writes. */
/* With reader leases (the default) gc keeps B's snapshot while B's lease
 * is fresh; without them (INFINO_READ_LEASE_SECS=0, as after B idled for
 * longer than the lease) gc removes it, and B must still find the newest
 * version and never publish below it. */
static void stale_handle_case(bool read_first, bool reader_leases)
{
    struct tl_world w;
    struct objstore *sb;
    struct tbl *a, *b, *c;
    struct tbl_gc_report gr;
    int64_t want[80];
    size_t n = 0;

    if (!reader_leases)
        setenv("INFINO_READ_LEASE_SECS", "0", 1);
    tl_world_open(&w, read_first ? "ops-stale-r" : "ops-stale-w");
    assert_ok(tl_create(&a, w.store, "t"));
    assert_ok(objstore_open(&sb, w.dir));
    assert_ok(tl_open(&b, sb, "t"));
    assert_ok(tl_append(b, 0, 1));
    want[n++] = 0;
    tl_assert_keys(b, want, n, "B after its first append");

    for (int64_t k = 1; k <= 70; k++) {
        assert_ok(tl_append(a, k, 1));
        want[n++] = k;
    }
    assert_ok(tbl_gc(a, 0, &gr));
    if (reader_leases) { /* B's snapshot (version 1) is kept for B */
        char dir[700], key[800];
        tl_table_dir(dir, sizeof dir, w.store, "t");
        snprintf(key, sizeof key, "%ssnapshots/%020d", dir, 1);
        assert_true(objstore_exists(w.store, key));
    } else
        assert_true(gr.objects_deleted >= 60); /* versions below 65 */

    if (read_first)
        tl_assert_keys(b, want, n, "idle B after A's commits and gc");
    assert_ok(tl_append(b, 1000, 1));
    want[n++] = 1000;
    tl_assert_keys(b, want, n, "B after its append");
    tl_assert_keys(a, want, n, "A after B's append");
    assert_ok(tl_open(&c, w.store, "t"));
    tl_assert_keys(c, want, n, "a fresh handle");
    tl_assert_check(c, n, "after B's append");
    assert_int_equal(tl_version(c), 72);
    tbl_close(c);
    tbl_close(b);
    tbl_close(a);
    objstore_close(sb);
    tl_world_close(&w);
    unsetenv("INFINO_READ_LEASE_SECS");
}

static void test_table_ops__stale_handle_after_gc_reads_then_writes(
    void **state)
{
    (void)state;
    stale_handle_case(true, false);
    stale_handle_case(true, true);
}

static void test_table_ops__stale_handle_after_gc_writes(void **state)
{
    (void)state;
    stale_handle_case(false, false);
    stale_handle_case(false, true);
}

/* ---- dropped tables ------------------------------------------------------ */

static void assert_refuses_writes(struct tbl *h, const struct tl_world *w,
                                  const char *dir, bool folder_gone,
                                  const char *what)
{
    static const int64_t all[2] = {1, 0};
    static const int64_t repl[] = {500};
    struct tl_pred every = {k_mod, all};
    struct tbl_mutation_stats ms;
    struct tbl_optimize_opts oo = TBL_OPTIMIZE_OPTS_INIT;
    struct tbl_optimize_report rep;
    struct ArrowArrayStream rows;
    struct disk d0 = on_disk(w, dir);
    infino_status st;

    st = tl_append(h, 400, 3);
    if (st != INFINO_ERR_NOTFOUND)
        fail_msg("%s: append returned %d: %s", what, (int)st, err_last());
    assert_int_equal(tbl_delete(h, tl_match, &every, &ms),
                     INFINO_ERR_NOTFOUND);
    tl_stream(&rows, repl, 1, NULL);
    assert_int_equal(tbl_update(h, tl_match, &every, &rows, &ms),
                     INFINO_ERR_NOTFOUND);
    assert_null(rows.release);
    oo.min_fill_percent = 100;
    assert_int_equal(tbl_optimize(h, &oo, &rep), INFINO_ERR_NOTFOUND);
    if (folder_gone) {
        if (tl_path_exists(w->dir, dir))
            fail_msg("%s: the dropped table's folder %s came back", what,
                     dir);
    } else {
        struct disk d1 = on_disk(w, dir);
        assert_int_equal(d1.superfiles, d0.superfiles);
        assert_int_equal(d1.tombstones, d0.tombstones);
        assert_int_equal(d1.snapshots, d0.snapshots);
    }
}

static void dropped_case(bool purge)
{
    struct tl_world w;
    struct tbl *h, *n;
    struct tbl_check_report cr;
    char dir[700], dir2[700];
    int64_t want[3] = {0, 1, 2};

    tl_world_open(&w, purge ? "ops-drop-p" : "ops-drop");
    assert_ok(tl_create(&h, w.store, "t"));
    assert_ok(tl_append(h, 0, 3));
    {
        /* two superfiles, so optimize would have work to do */
        assert_ok(tl_append(h, 3, 3));
    }
    tl_table_dir(dir, sizeof dir, w.store, "t");
    assert_ok(tl_drop(w.store, "t", purge));
    assert_true(tl_path_exists(w.dir, dir) == !purge);

    assert_refuses_writes(h, &w, dir, purge, "after the drop");
    assert_int_equal(tbl_check(h, &cr), INFINO_ERR_NOTFOUND);

    /* the name comes back: the old handle still refuses, and does not
     * touch the new table */
    assert_ok(tl_create(&n, w.store, "t"));
    tl_table_dir(dir2, sizeof dir2, w.store, "t");
    assert_string_not_equal(dir, dir2);
    assert_ok(tl_append(n, 0, 3));
    assert_refuses_writes(h, &w, dir, purge, "after the name came back");
    tl_assert_keys(n, want, 3, "the new table");
    tl_assert_check(n, 3, "the new table");
    tbl_close(n);
    tbl_close(h);
    tl_world_close(&w);
}

static void test_table_ops__dropped_handle_refuses_writes_purge(void **state)
{
    (void)state;
    dropped_case(true);
}

static void test_table_ops__dropped_handle_refuses_writes(void **state)
{
    (void)state;
    dropped_case(false);
}

/* The refusal says why: the table was dropped. Every write operation's
 * message must carry the reason tbl_write_begin gave, whatever cleanup
 * runs between the refusal and the return. */
static void test_table_ops__dropped_handle_error_says_dropped(void **state)
{
    static const int64_t all[2] = {1, 0};
    static const int64_t repl[] = {500};
    struct tl_pred every = {k_mod, all};
    struct tl_world w;
    struct tbl *h;
    struct tbl_mutation_stats ms;
    struct tbl_optimize_report rep;
    struct ArrowArrayStream rows;
    char msgs[4][1024];
    (void)state;

    for (int purge = 0; purge < 2; purge++) {
        tl_world_open(&w, "ops-drop-msg");
        assert_ok(tl_create(&h, w.store, "t"));
        assert_ok(tl_append(h, 0, 3));
        assert_ok(tl_drop(w.store, "t", purge));
        assert_int_equal(tl_append(h, 3, 1), INFINO_ERR_NOTFOUND);
        snprintf(msgs[0], sizeof msgs[0], "%s", err_last());
        assert_int_equal(tbl_delete(h, tl_match, &every, &ms),
                         INFINO_ERR_NOTFOUND);
        snprintf(msgs[1], sizeof msgs[1], "%s", err_last());
        tl_stream(&rows, repl, 1, NULL);
        assert_int_equal(tbl_update(h, tl_match, &every, &rows, &ms),
                         INFINO_ERR_NOTFOUND);
        snprintf(msgs[2], sizeof msgs[2], "%s", err_last());
        assert_int_equal(tbl_optimize(h, NULL, &rep), INFINO_ERR_NOTFOUND);
        snprintf(msgs[3], sizeof msgs[3], "%s", err_last());
        tbl_close(h);
        tl_world_close(&w);
        for (int i = 0; i < 4; i++)
            if (!contains(msgs[i], "dropped"))
                fail_msg("purge=%d: %s refused without saying why: '%s'",
                         purge,
                         (const char *const[]){"append", "delete", "update",
                                               "optimize"}[i],
                         msgs[i]);
    }
}

/* ---- damaged files ------------------------------------------------------- */

static void flip_byte(const char *path, long at_from_end)
{
    int fd = open(path, O_RDWR);
    off_t size;
    unsigned char c;

    if (fd < 0)
        fail_msg("open %s: %s", path, strerror(errno));
    size = lseek(fd, 0, SEEK_END);
    assert_true(size > at_from_end);
    assert_int_equal(pread(fd, &c, 1, size - at_from_end), 1);
    c ^= 0x5a;
    assert_int_equal(pwrite(fd, &c, 1, size - at_from_end), 1);
    close(fd);
}

/* After damage to file `name` of table t, opening may be lazy, but a scan
 * must fail with `want` (never crash) and check must name the file. */
static void expect_damage(struct tl_world *w, const char *name,
                          infino_status want, const char *what)
{
    struct tbl *t;
    struct tbl_check_report cr;
    int64_t *ks;
    size_t n;
    infino_status st = tl_open(&t, w->store, "t");

    if (st != INFINO_OK) {
        assert_int_equal(st, want);
        return;
    }
    st = tl_keys(t, &ks, &n);
    if (st == INFINO_OK)
        fail_msg("a scan over %s succeeded with %zu rows", what, n);
    assert_int_equal(st, want);
    assert_int_equal(tbl_check(t, &cr), want);
    if (!contains(err_last(), name))
        fail_msg("check does not name %s: %s", name, err_last());
    tbl_close(t);
}

/* Creates t with 10 rows (and deletes the even ones when `delete`), then
 * finds the one file of `folder` ending in `suffix`:
 * its name into `name`, its path into `path`. */
static void damage_setup(struct tl_world *w, const char *tag, bool delete,
                         const char *folder, const char *suffix,
                         char name[256], char path[2400])
{
    struct tbl *t;
    char dir[700], rel[800];

    tl_world_open(w, tag);
    assert_ok(tl_create(&t, w->store, "t"));
    assert_ok(tl_append(t, 0, 10));
    if (delete) {
        static const int64_t mod2[2] = {2, 0};
        struct tl_pred even = {k_mod, mod2};
        struct tbl_mutation_stats ms;
        assert_ok(tbl_delete(t, tl_match, &even, &ms));
    }
    tbl_close(t);
    tl_table_dir(dir, sizeof dir, w->store, "t");
    snprintf(rel, sizeof rel, "%s%s", dir, folder);
    assert_int_equal(tl_count_files(w->dir, rel, suffix, name), 1);
    snprintf(path, 2400, "%s/%s/%s", w->dir, rel, name);
}

static void test_table_ops__corrupt_tombstone(void **state)
{
    struct tl_world w;
    char name[256], path[2400];
    (void)state;

    damage_setup(&w, "ops-tomb", true, "tombstones", ".del", name, path);
    flip_byte(path, 12);
    expect_damage(&w, name, INFINO_ERR_CORRUPT, "a damaged tombstone file");
    tl_world_close(&w);
}

static void test_table_ops__missing_superfile(void **state)
{
    struct tl_world w;
    char name[256], path[2400];
    (void)state;

    damage_setup(&w, "ops-missing", false, "superfiles", ".parquet", name,
                 path);
    assert_int_equal(unlink(path), 0);
    expect_damage(&w, name, INFINO_ERR_NOTFOUND, "a missing superfile");
    tl_world_close(&w);
}

static void test_table_ops__truncated_superfile(void **state)
{
    struct tl_world w;
    char name[256], path[2400];
    (void)state;

    damage_setup(&w, "ops-trunc", false, "superfiles", ".parquet", name,
                 path);
    assert_int_equal(truncate(path, 100), 0);
    expect_damage(&w, name, INFINO_ERR_CORRUPT, "a truncated superfile");
    tl_world_close(&w);
}

/* ---- fork ---------------------------------------------------------------- */

struct ids_ctx {
    uint8_t (*ids)[16];
    size_t n, cap;
};

static infino_status ids_cb(size_t sf, const struct ArrowArray *b,
                            const uint32_t *rows, void *payload)
{
    struct ids_ctx *c = payload;
    const struct ArrowArray *ids = b->children[0];

    (void)sf;
    (void)rows;
    if (MEM_RESERVE(c->ids, c->cap, c->n + (size_t)b->length + 1))
        return err_nomem();
    memcpy(c->ids[c->n], (const uint8_t *)ids->buffers[1] + ids->offset * 16,
           (size_t)b->length * 16);
    c->n += (size_t)b->length;
    return INFINO_OK;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

static void test_table_ops__fork_unique_ids(void **state)
{
    static const char *const cols[] = {"_id"};
    struct tl_world w;
    struct tbl *t;
    struct tbl_view *v;
    struct ids_ctx c = {0};
    pid_t kids[2];
    int64_t want[130];
    (void)state;

    tl_world_open(&w, "ops-fork");
    assert_ok(tl_create(&t, w.store, "t"));
    assert_ok(tl_append(t, 0, 10)); /* the parent has minted ids */
    fflush(NULL);
    for (int i = 0; i < 2; i++) {
        kids[i] = fork();
        assert_true(kids[i] >= 0);
        if (kids[i] == 0) {
            /* the child: two appends through the inherited handle */
            int ok = tl_append(t, 100 + 50 * i, 25) == INFINO_OK &&
                     tl_append(t, 125 + 50 * i, 25) == INFINO_OK;
            if (!ok)
                fprintf(stderr, "child %d: %s\n", i, err_last());
            _exit(ok ? 0 : 1);
        }
    }
    for (int i = 0; i < 2; i++) {
        int status;
        assert_int_equal(waitpid(kids[i], &status, 0), kids[i]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    assert_ok(tl_append(t, 10, 10)); /* and the parent again */

    range(want, 0, 20);
    range(want + 20, 100, 100);
    tl_assert_keys(t, want, 120, "after the children's appends");
    assert_ok(tbl_view_acquire(&v, t));
    assert_ok(tbl_view_scan(v, cols, 1, ids_cb, &c));
    tbl_view_release(v);
    assert_int_equal(c.n, 120);
    qsort(c.ids, c.n, 16, cmp_id);
    for (size_t i = 1; i < c.n; i++)
        if (memcmp(c.ids[i - 1], c.ids[i], 16) == 0)
            fail_msg("_id %zu appears twice", i);
    mem_free(c.ids);
    tl_assert_check(t, 120, "after fork");
    tbl_close(t);
    tl_world_close(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_ops__create_open_list_drop),
        cmocka_unit_test(test_table_ops__append_batches),
        cmocka_unit_test(test_table_ops__append_refuses_bad_input),
        cmocka_unit_test(test_table_ops__delete),
        cmocka_unit_test(test_table_ops__update),
        cmocka_unit_test(test_table_ops__optimize),
        cmocka_unit_test(test_table_ops__gc),
        cmocka_unit_test(test_table_ops__scan_columns),
        cmocka_unit_test(
            test_table_ops__stale_handle_after_gc_reads_then_writes),
        cmocka_unit_test(test_table_ops__stale_handle_after_gc_writes),
        cmocka_unit_test(test_table_ops__dropped_handle_refuses_writes_purge),
        cmocka_unit_test(test_table_ops__dropped_handle_refuses_writes),
        cmocka_unit_test(test_table_ops__dropped_handle_error_says_dropped),
        cmocka_unit_test(test_table_ops__corrupt_tombstone),
        cmocka_unit_test(test_table_ops__missing_superfile),
        cmocka_unit_test(test_table_ops__truncated_superfile),
        cmocka_unit_test(test_table_ops__fork_unique_ids),
    };
    test_seed();
    if (getenv("INFINO_TEST_FILTER"))
        cmocka_set_test_filter(getenv("INFINO_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
