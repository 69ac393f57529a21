/*
 * table_evolve_test.c - a table's schema grows by columns (tbl_add_columns).
 *
 * A change is a commit of its own: the schema id goes 1, 2, 3; a second
 * handle sees the change when it next reads; an equal column changes
 * nothing, another type or nullability is refused, and so is a
 * non-nullable column once the table holds rows; a stale expected id is a
 * conflict. Rows written before a column existed read it as null, through
 * scans, point reads (tbl_read_columns with rows) and optimize, which
 * merges old and new superfiles into one that has the column. Snapshots
 * that carry a schema round-trip (format 3) and format 2 still decodes.
 */
#include "harness.h"
#include "table_layer_fixture.h"

#include "format/parquet/parquet.h"
#include "superfile/superfile.h"

/* A schema of the fields given (moved in). */
static struct ar_schema fields2(struct ar_field a, struct ar_field b, int n)
{
    struct ar_schema s;

    memset(&s, 0, sizeof s);
    s.fields = mem_calloc(2, sizeof *s.fields);
    s.fields[0] = a;
    if (n > 1)
        s.fields[1] = b;
    else
        ar_field_free(&b);
    s.n_fields = (size_t)n;
    return s;
}

static uint64_t schema_id(struct tbl *t)
{
    uint64_t id;

    assert_ok(tbl_schema_id(t, &id));
    return id;
}

/* Appends rows k = ks[i] with column "extra" = 1000 + k (no body, no
 * vector: both are nullable). */
static void append_extra(struct tbl *t, const int64_t *ks, size_t n)
{
    struct ar_schema s = fields2(tf_leaf("k", AR_INT64, false),
                                 tf_leaf("extra", AR_INT64, true), 2);
    struct ar_field root = {0};
    struct ar_builder *b;
    struct ArrowArray batch;
    struct ArrowArrayStream st;

    root.name = (char *)"";
    root.type = AR_STRUCT;
    root.n_children = s.n_fields;
    root.children = s.fields;
    assert_ok(ar_builder_new(&b, &root));
    for (size_t i = 0; i < n; i++) {
        assert_ok(ar_builder_append_int(ar_builder_child(b, 0), ks[i]));
        assert_ok(ar_builder_append_int(ar_builder_child(b, 1), 1000 + ks[i]));
        assert_ok(ar_builder_end_struct(b));
    }
    assert_ok(ar_builder_finish(b, &batch));
    ar_builder_free(b);
    assert_ok(ar_stream_from_batches(&st, &s, &batch, 1));
    ar_schema_free(&s);
    assert_ok(tbl_append(t, &st, NULL));
}

struct pairs {
    size_t n, n_null;
    int64_t sum_extra_minus_k; /* over rows with extra: sum(extra - k) */
};

static infino_status pairs_cb(size_t sf, const struct ArrowArray *b,
                              const uint32_t *rows, void *payload)
{
    struct pairs *p = payload;
    const struct ArrowArray *k = b->children[0], *x = b->children[1];

    (void)sf;
    (void)rows;
    for (int64_t i = 0; i < b->length; i++) {
        p->n++;
        if (!ar_array_is_valid(x, i)) {
            p->n_null++;
            continue;
        }
        p->sum_extra_minus_k +=
            ((const int64_t *)x->buffers[1])[x->offset + i] -
            ((const int64_t *)k->buffers[1])[k->offset + i];
    }
    return INFINO_OK;
}

static struct pairs scan_pairs(struct tbl *t)
{
    static const char *const cols[] = {"k", "extra"};
    struct pairs p = {0};
    struct tbl_view *v;

    assert_ok(tbl_view_acquire(&v, t));
    assert_ok(tbl_view_scan(v, cols, 2, pairs_cb, &p));
    tbl_view_release(v);
    return p;
}

static void test_table_evolve__add_and_read(void **state)
{
    struct tl_world w;
    struct tbl *t, *t2;
    struct ar_schema add = fields2(tf_leaf("extra", AR_INT64, true),
                                   tf_leaf("", AR_INT64, true), 1);
    int64_t new_ks[] = {100, 101, 102};
    struct pairs p;
    uint64_t id, v0;
    (void)state;

    tl_world_open(&w, "evolve");
    assert_ok(tl_create(&t, w.store, "t"));
    assert_ok(tl_append(t, 0, 5));
    assert_ok(tl_open(&t2, w.store, "t"));
    assert_int_equal(schema_id(t), 1);
    assert_int_equal(tbl_user_schema(t)->n_fields, 3);

    v0 = tl_version(t);
    assert_ok(tbl_add_columns(t, &add, 1, &id));
    assert_int_equal(id, 2);
    assert_int_equal(tl_version(t), v0 + 1); /* one commit */
    assert_int_equal(tbl_user_schema(t)->n_fields, 4);
    /* the same column again: no commit, same id */
    assert_ok(tbl_add_columns(t, &add, 0, &id));
    assert_int_equal(id, 2);
    assert_int_equal(tl_version(t), v0 + 1);
    /* a stale expected id: conflict, nothing changes */
    assert_int_equal(tbl_add_columns(t, &add, 1, &id), INFINO_ERR_CONFLICT);
    assert_true(strstr(err_last(), "version 2, not 1") != NULL);

    /* the other handle learns it when it reads */
    assert_int_equal(schema_id(t2), 2);
    assert_int_equal(tbl_user_schema(t2)->n_fields, 4);
    assert_string_equal(tbl_user_schema(t2)->fields[3].name, "extra");

    /* old rows read null; new rows (through the other handle) their value */
    append_extra(t2, new_ks, 3);
    assert_ok(tl_append(t2, 200, 2)); /* omits extra */
    p = scan_pairs(t);
    assert_int_equal(p.n, 10);
    assert_int_equal(p.n_null, 7);
    assert_int_equal(p.sum_extra_minus_k, 3000);
    tl_assert_check(t, 10, "after the change");

    /* optimize merges old and new files: values survive, nulls stay */
    {
        struct tbl_optimize_opts o = TBL_OPTIMIZE_OPTS_INIT;
        struct tbl_optimize_report r;
        o.min_fill_percent = 100;
        assert_ok(tbl_optimize(t, &o, &r));
        assert_true(r.n_inputs >= 2);
    }
    p = scan_pairs(t2);
    assert_int_equal(p.n, 10);
    assert_int_equal(p.n_null, 7);
    assert_int_equal(p.sum_extra_minus_k, 3000);
    tl_assert_check(t2, 10, "after optimize");

    tbl_close(t2);
    tbl_close(t);
    /* a fresh handle: the catalog still has 3 columns, the snapshot 4 */
    assert_ok(tl_open(&t, w.store, "t"));
    assert_int_equal(schema_id(t), 2);
    assert_int_equal(tbl_user_schema(t)->n_fields, 4);
    tbl_close(t);
    ar_schema_free(&add);
    tl_world_close(&w);
}

static void test_table_evolve__refusals(void **state)
{
    struct tl_world w;
    struct tbl *t;
    struct ar_schema bad_type = fields2(tf_leaf("k", AR_INT32, false),
                                        tf_leaf("", AR_INT64, true), 1);
    struct ar_schema bad_null = fields2(tf_leaf("k", AR_INT64, true),
                                        tf_leaf("", AR_INT64, true), 1);
    struct ar_schema not_null = fields2(tf_leaf("nn", AR_INT64, false),
                                        tf_leaf("", AR_INT64, true), 1);
    struct ar_schema twice = fields2(tf_leaf("q", AR_INT64, true),
                                     tf_leaf("q", AR_INT64, true), 2);
    struct ar_schema twin = fields2(tf_leaf("BODY", AR_INT64, true),
                                    tf_leaf("", AR_INT64, true), 1);
    struct ar_schema id = fields2(tf_leaf("_id", AR_INT64, true),
                                  tf_leaf("", AR_INT64, true), 1);
    uint64_t sid, v0;
    (void)state;

    tl_world_open(&w, "evolve-refuse");
    assert_ok(tl_create(&t, w.store, "t"));
    /* an empty table may take a non-nullable column */
    assert_ok(tbl_add_columns(t, &not_null, 0, &sid));
    assert_int_equal(sid, 2);
    /* rows without it are refused: it is not nullable */
    assert_int_equal(tl_append(t, 0, 3), INFINO_ERR_INVALID);
    assert_true(strstr(err_last(), "'nn'") != NULL);
    tbl_close(t);
    assert_ok(tl_create(&t, w.store, "u"));
    assert_ok(tl_append(t, 0, 3));
    v0 = tl_version(t);
    assert_int_equal(tbl_add_columns(t, &bad_type, 0, NULL),
                     INFINO_ERR_INVALID);
    assert_true(strstr(err_last(), "'k'") != NULL);
    assert_int_equal(tbl_add_columns(t, &bad_null, 0, NULL),
                     INFINO_ERR_INVALID);
    assert_int_equal(tbl_add_columns(t, &not_null, 0, NULL),
                     INFINO_ERR_INVALID);
    assert_true(strstr(err_last(), "non-nullable") != NULL);
    assert_int_equal(tbl_add_columns(t, &twice, 0, NULL), INFINO_ERR_INVALID);
    assert_int_equal(tbl_add_columns(t, &twin, 0, NULL), INFINO_ERR_INVALID);
    assert_int_equal(tbl_add_columns(t, &id, 0, NULL), INFINO_ERR_INVALID);
    assert_int_equal(tl_version(t), v0); /* nothing committed */
    assert_int_equal(schema_id(t), 1);
    tbl_close(t);
    ar_schema_free(&bad_type);
    ar_schema_free(&bad_null);
    ar_schema_free(&not_null);
    ar_schema_free(&twice);
    ar_schema_free(&twin);
    ar_schema_free(&id);
    tl_world_close(&w);
}

/* Two handles add different columns: each commit applies to the newest
 * schema, so both columns land, in commit order. */
static void test_table_evolve__concurrent_changes_merge(void **state)
{
    struct tl_world w;
    struct tbl *a, *b;
    struct ar_schema x = fields2(tf_leaf("x", AR_INT64, true),
                                 tf_leaf("", AR_INT64, true), 1);
    struct ar_schema y = fields2(tf_leaf("y", AR_UTF8, true),
                                 tf_leaf("", AR_INT64, true), 1);
    uint64_t id;
    (void)state;

    tl_world_open(&w, "evolve-race");
    assert_ok(tl_create(&a, w.store, "t"));
    assert_ok(tl_open(&b, w.store, "t"));
    assert_ok(tl_append(a, 0, 2));
    assert_int_equal(schema_id(b), 1); /* b's view: before either change */
    assert_ok(tbl_add_columns(a, &x, 0, &id));
    assert_int_equal(id, 2);
    assert_ok(tbl_add_columns(b, &y, 0, &id));
    assert_int_equal(id, 3);
    assert_int_equal(schema_id(a), 3);
    assert_int_equal(tbl_user_schema(a)->n_fields, 5);
    assert_string_equal(tbl_user_schema(a)->fields[3].name, "x");
    assert_string_equal(tbl_user_schema(a)->fields[4].name, "y");
    tl_assert_check(a, 2, "two changes");
    tbl_close(a);
    tbl_close(b);
    ar_schema_free(&x);
    ar_schema_free(&y);
    tl_world_close(&w);
}

static void test_table_evolve__snapshot_encoding(void **state)
{
    struct snapshot s = {0}, back = {0};
    struct snap_doc d;
    struct buf b = {0};
    static const uint8_t ipc[] = {1, 2, 3, 4, 5};
    (void)state;

    s.version = 3;
    s.parent = 2;
    /* no schema: format 2, schema id 0 */
    assert_ok(snapshot_encode(&b, &s));
    assert_ok(snapshot_decode(&back, b.data, b.len, "v3"));
    assert_int_equal(back.schema_id, 0);
    assert_null(back.schema_ipc);
    snapshot_free(&back);
    /* with one: format 3, carried by checkpoints and deltas */
    assert_ok(snapshot_set_schema(&s, 7, ipc, sizeof ipc));
    buf_reset(&b);
    assert_ok(snapshot_encode(&b, &s));
    assert_ok(snapshot_decode(&back, b.data, b.len, "v3"));
    assert_int_equal(back.schema_id, 7);
    assert_int_equal(back.schema_len, sizeof ipc);
    assert_memory_equal(back.schema_ipc, ipc, sizeof ipc);
    snapshot_free(&back);
    {
        struct snapshot base = {0}, next = {0};
        base.version = 2;
        base.parent = 1;
        assert_ok(snapshot_copy(&next, &s));
        next.chain = 1;
        buf_reset(&b);
        assert_ok(snapshot_encode_delta(&b, &next, &base));
        assert_ok(snap_doc_decode(&d, b.data, b.len, "v3"));
        assert_ok(snapshot_apply_doc(&back, &base, &d, "v3"));
        assert_int_equal(back.schema_id, 7);
        assert_memory_equal(back.schema_ipc, ipc, sizeof ipc);
        snapshot_free(&back);
        snap_doc_free(&d);
        /* a delta may not take the schema back */
        assert_ok(snapshot_set_schema(&base, 9, ipc, sizeof ipc));
        assert_ok(snap_doc_decode(&d, b.data, b.len, "v3"));
        assert_int_equal(snapshot_apply_doc(&back, &base, &d, "v3"),
                         INFINO_ERR_CORRUPT);
        snap_doc_free(&d);
        snapshot_free(&base);
        snapshot_free(&next);
    }
    snapshot_free(&s);
    buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_evolve__add_and_read),
        cmocka_unit_test(test_table_evolve__refusals),
        cmocka_unit_test(test_table_evolve__concurrent_changes_merge),
        cmocka_unit_test(test_table_evolve__snapshot_encoding),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
