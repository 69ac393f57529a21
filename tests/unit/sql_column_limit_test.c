/*
 * sql_column_limit_test.c - the widest table create_table accepts
 * (TABLE_COLUMNS_MAX columns, _id included) is served by the SQL layer:
 * the SQLite linked at run time leaves room for it and for the columns a
 * search table function adds, and such a table answers query_sql (its own
 * scan, a search function over it, another table beside it) and
 * delete predicates. A SQLite built with a lower SQLITE_MAX_COLUMN fails
 * here rather than in a user's query.
 *
 * Tables are made through the table layer, as sql_query_test.c does.
 */
#include "harness.h"
#include "table_layer_fixture.h"

#include "sql/sql.h"

#include <sqlite3.h>

/* Columns sql_query.c declares for a search table function beyond the
 * table's own: score and one hidden column per argument (N_ARGS, 6).
 * Predicates (sql_pred.c) declare fewer. */
#define SQL_OWN_COLUMNS 7

static void test_sql_column_limit__sqlite_leaves_room(void **state)
{
    sqlite3 *db = NULL;
    int limit;
    (void)state;

    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    limit = sqlite3_limit(db, SQLITE_LIMIT_COLUMN, -1);
    sqlite3_close(db);
    fprintf(stderr, "# SQLite %s: SQLITE_LIMIT_COLUMN %d, TABLE_COLUMNS_MAX "
                    "%d + %d\n",
            sqlite3_libversion(), limit, TABLE_COLUMNS_MAX, SQL_OWN_COLUMNS);
    if (limit < TABLE_COLUMNS_MAX + SQL_OWN_COLUMNS)
        fail_msg("this SQLite takes %d columns per table; tables may have "
                 "%d plus %d of the SQL layer's own: lower TABLE_COLUMNS_MAX",
                 limit, TABLE_COLUMNS_MAX, SQL_OWN_COLUMNS);
}

/* ---- the tables a query may name ---------------------------------------- */

struct tables {
    struct objstore *s;
    struct catalog cat;
    struct tbl **open;
};

static const char *table_name(void *payload, size_t i)
{
    return ((struct tables *)payload)->cat.entries[i].name;
}

static infino_status table_open(struct tbl **out, void *payload, size_t i)
{
    struct tables *x = payload;

    if (x->open[i] == NULL) {
        infino_status st = tbl_open(&x->open[i], x->s, &x->cat.entries[i],
                                    NULL);
        if (st != INFINO_OK)
            return st;
    }
    *out = x->open[i];
    return INFINO_OK;
}

/* Runs `sql` over every table of `s`; returns the number of result rows
 * and columns (*n_cols). Fails the test on an error. */
static int64_t run(struct objstore *s, const char *sql, int64_t *n_cols)
{
    struct tables x = {0};
    struct sql_tables tables;
    struct ArrowArrayStream out;
    struct ArrowArray a;
    int64_t rows = 0;

    x.s = s;
    assert_ok(catalog_load(&x.cat, s));
    x.open = mem_calloc(x.cat.n + 1, sizeof *x.open);
    tables.payload = &x;
    tables.n = x.cat.n;
    tables.name = table_name;
    tables.open = table_open;
    if (sql_query(&out, &tables, sql) != INFINO_OK)
        fail_msg("%s: %s", sql, err_last());
    assert_int_equal(out.get_next(&out, &a), 0);
    assert_non_null(a.release);
    rows = a.length;
    *n_cols = a.n_children;
    a.release(&a);
    out.release(&out);
    for (size_t i = 0; i < x.cat.n; i++)
        tbl_close(x.open[i]);
    mem_free(x.open);
    catalog_free(&x.cat);
    return rows;
}

/* A schema of `n` columns: body (utf8) then c1..c<n-1> (int64). */
static void wide_schema(struct ar_schema *s, size_t n)
{
    char name[32];

    memset(s, 0, sizeof *s);
    s->n_fields = n;
    s->fields = mem_calloc(n, sizeof *s->fields);
    s->fields[0] = tf_leaf("body", AR_UTF8, true);
    for (size_t i = 1; i < n; i++) {
        snprintf(name, sizeof name, "c%zu", i);
        s->fields[i] = tf_leaf(name, AR_INT64, true);
    }
}

/* Two rows of wide_schema(n): row r has body "alpha r" and c<i> = r*i. */
static void wide_rows(struct ArrowArrayStream *out, struct ar_schema *s)
{
    struct ar_field root;
    struct ar_builder *b;
    struct ArrowArray batch;

    memset(&root, 0, sizeof root);
    root.name = (char *)"";
    root.type = AR_STRUCT;
    root.n_children = s->n_fields;
    root.children = s->fields;
    assert_ok(ar_builder_new(&b, &root));
    for (int64_t r = 1; r <= 2; r++) {
        char body[32];
        int len = snprintf(body, sizeof body, "alpha %lld", (long long)r);

        assert_ok(ar_builder_append_bytes(ar_builder_child(b, 0), body,
                                          (size_t)len));
        for (size_t i = 1; i < s->n_fields; i++)
            assert_ok(ar_builder_append_int(ar_builder_child(b, i),
                                            r * (int64_t)i));
        assert_ok(ar_builder_end_struct(b));
    }
    assert_ok(ar_builder_finish(b, &batch));
    ar_builder_free(b);
    assert_ok(ar_stream_from_batches(out, s, &batch, 1));
}

static void test_sql_column_limit__widest_table_is_served(void **state)
{
    struct tl_world w;
    struct ar_schema s;
    struct sf_index_spec spec = {0};
    struct cat_entry e = {0};
    struct tbl *t = NULL, *other = NULL;
    struct ArrowArrayStream rows;
    struct tbl_mutation_stats ms;
    char pred[64];
    int64_t n_cols;
    (void)state;

    tl_world_open(&w, "sql-wide");
    /* a narrow table beside it, which query_sql must keep serving */
    assert_ok(tl_create(&other, w.store, "other"));
    assert_ok(tl_append(other, 1, 3));

    /* one column more than allowed is refused, naming the limit */
    wide_schema(&s, TABLE_COLUMNS_MAX);
    assert_ok(sf_spec_add_fts(&spec, "body"));
    assert_int_equal(catalog_create(&e, w.store, "wide", &s, &spec),
                     INFINO_ERR_INVALID);
    snprintf(pred, sizeof pred, "at most %d", TABLE_COLUMNS_MAX);
    assert_non_null(strstr(err_last(), pred));
    ar_schema_free(&s);

    /* the widest allowed: _id + TABLE_COLUMNS_MAX - 1 */
    wide_schema(&s, TABLE_COLUMNS_MAX - 1);
    assert_ok(catalog_create(&e, w.store, "wide", &s, &spec));
    assert_ok(tbl_open(&t, w.store, &e, NULL));
    wide_rows(&rows, &s);
    assert_ok(tbl_append(t, &rows, NULL));

    assert_int_equal(run(w.store, "SELECT * FROM wide", &n_cols), 2);
    assert_int_equal(n_cols, TABLE_COLUMNS_MAX);
    assert_int_equal(run(w.store, "SELECT * FROM bm25_search('wide', 'body', "
                                  "'alpha', 10)",
                         &n_cols),
                     2);
    assert_int_equal(n_cols, TABLE_COLUMNS_MAX + 1); /* + score */
    snprintf(pred, sizeof pred, "SELECT c%d FROM wide WHERE c%d = 2",
             TABLE_COLUMNS_MAX - 2, 1);
    assert_int_equal(run(w.store, pred, &n_cols), 1);
    assert_int_equal(run(w.store, "SELECT k FROM other", &n_cols), 3);

    /* a delete predicate over the last column */
    snprintf(pred, sizeof pred, "c%d = %d", TABLE_COLUMNS_MAX - 2,
             2 * (TABLE_COLUMNS_MAX - 2));
    assert_ok(sql_check_predicate(t, pred));
    assert_ok(tbl_delete(t, sql_match_predicate, pred, &ms));
    assert_int_equal(ms.matched, 1);
    assert_int_equal(run(w.store, "SELECT count(*) FROM wide", &n_cols), 1);

    tbl_close(t);
    tbl_close(other);
    cat_entry_free(&e);
    sf_spec_free(&spec);
    ar_schema_free(&s);
    tl_world_close(&w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_column_limit__sqlite_leaves_room),
        cmocka_unit_test(test_sql_column_limit__widest_table_is_served),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
