/*
 * sql_query_test.c - the sql layer over fixture tables: query_sql
 * (aggregates, grouping, ordering, joins between tables and with the
 * search table functions, result types) checked against answers computed
 * from the keys; delete/update predicates (sql_match_predicate) selecting
 * exactly the rows a C oracle selects; and the errors bad SQL and bad
 * predicates must give (INFINO_ERR_INVALID, never a crash).
 *
 * Tables are opened from the catalog as src/api/sql_api.c opens them
 * (tests/table_layer_fixture.h says why not through infino.h).
 */
#include "harness.h"
#include "table_layer_fixture.h"

#include "query/query.h"
#include "sql/sql.h"

#include <math.h>

/* ---- the tables a query may name ----------------------------------------- */

struct tables {
    struct objstore *s;
    struct catalog cat;
    struct tbl **open; /* per catalog entry, NULL until used */
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

/* Runs `sql` over every table of store `s` (as infino_query_sql does). */
static infino_status query(struct ArrowArrayStream *out, struct objstore *s,
                           const char *sql)
{
    struct tables x = {0};
    struct sql_tables tables;
    infino_status st;

    x.s = s;
    st = catalog_load(&x.cat, s);
    if (st != INFINO_OK)
        return st;
    x.open = mem_calloc(x.cat.n + 1, sizeof *x.open);
    tables.payload = &x;
    tables.n = x.cat.n;
    tables.name = table_name;
    tables.open = table_open;
    st = sql_query(out, &tables, sql);
    for (size_t i = 0; i < x.cat.n; i++)
        tbl_close(x.open[i]);
    mem_free(x.open);
    catalog_free(&x.cat);
    return st;
}

/* A result: its one batch and schema. */
struct result {
    struct ArrowArray a;
    struct ar_schema s;
};

static void run(struct result *r, struct objstore *s, const char *sql)
{
    struct ArrowArrayStream st;
    struct ArrowSchema cs;
    struct ArrowArray next;

    if (query(&st, s, sql) != INFINO_OK)
        fail_msg("%s: %s", sql, err_last());
    assert_int_equal(st.get_schema(&st, &cs), 0);
    assert_ok(ar_schema_import(&r->s, &cs));
    cs.release(&cs);
    assert_int_equal(st.get_next(&st, &r->a), 0);
    assert_non_null(r->a.release);
    assert_int_equal(st.get_next(&st, &next), 0);
    assert_null(next.release); /* one batch */
    st.release(&st);
}

static void result_free(struct result *r)
{
    ar_array_release(&r->a);
    ar_schema_free(&r->s);
}

static const struct ArrowArray *col(const struct result *r, int c)
{
    assert_true(c < r->a.n_children);
    return r->a.children[c];
}

static int64_t i64(const struct result *r, int c, int64_t row)
{
    const struct ArrowArray *x = col(r, c);
    assert_int_equal(r->s.fields[c].type, AR_INT64);
    assert_true(ar_array_is_valid(x, row));
    return ((const int64_t *)x->buffers[1])[x->offset + row];
}

static double f64(const struct result *r, int c, int64_t row)
{
    const struct ArrowArray *x = col(r, c);
    assert_true(ar_array_is_valid(x, row));
    if (r->s.fields[c].type == AR_FLOAT32)
        return ((const float *)x->buffers[1])[x->offset + row];
    assert_int_equal(r->s.fields[c].type, AR_FLOAT64);
    return ((const double *)x->buffers[1])[x->offset + row];
}

static void str(char *out, size_t cap, const struct result *r, int c,
                int64_t row)
{
    const struct ArrowArray *x = col(r, c);
    const int32_t *off = (const int32_t *)x->buffers[1] + x->offset;
    size_t n;

    assert_int_equal(r->s.fields[c].type, AR_UTF8);
    n = (size_t)(off[row + 1] - off[row]);
    assert_true(n < cap);
    memcpy(out, (const char *)x->buffers[2] + off[row], n);
    out[n] = '\0';
}

/* ---- the fixture --------------------------------------------------------- */

/* Table t: keys 0..299 in three superfiles, then k % 10 == 9 deleted.
 * Table u: keys 0, 3, 6, ..., 597 (a join partner). */
struct world {
    struct tl_world w;
    int64_t t_keys[300];
    size_t n_t;
};

static bool k_mod(int64_t k, const void *arg)
{
    const int64_t *m = arg;
    return k % m[0] == m[1];
}

static void world_open(struct world *x)
{
    static const int64_t mod10[2] = {10, 9};
    struct tl_pred p = {k_mod, mod10};
    struct tbl_mutation_stats ms;
    struct tbl *t, *u;
    int64_t uk[200];

    memset(x, 0, sizeof *x);
    tl_world_open(&x->w, "sql");
    assert_ok(tl_create(&t, x->w.store, "t"));
    assert_ok(tl_append(t, 0, 100));
    assert_ok(tl_append(t, 100, 120));
    assert_ok(tl_append(t, 220, 80));
    assert_ok(tbl_delete(t, tl_match, &p, &ms));
    assert_int_equal(ms.n_tombstoned, 30);
    for (int64_t k = 0; k < 300; k++)
        if (k % 10 != 9)
            x->t_keys[x->n_t++] = k;
    assert_ok(tl_create(&u, x->w.store, "u"));
    for (int i = 0; i < 200; i++)
        uk[i] = 3 * i;
    assert_ok(tl_append_keys(u, uk, 200, NULL));
    tbl_close(t);
    tbl_close(u);
}

static bool t_has(const struct world *x, int64_t k)
{
    (void)x;
    return k >= 0 && k < 300 && k % 10 != 9;
}

/* ---- query_sql ----------------------------------------------------------- */

static void test_sql_query__aggregates(void **state)
{
    struct world x;
    struct result r;
    int64_t sum = 0, n_w3 = 0;
    (void)state;

    world_open(&x);
    for (size_t i = 0; i < x.n_t; i++) {
        sum += x.t_keys[i];
        n_w3 += x.t_keys[i] % 7 == 3;
    }

    run(&r, x.w.store, "SELECT count(*) AS n FROM t");
    assert_int_equal(r.a.length, 1);
    assert_string_equal(r.s.fields[0].name, "n");
    assert_int_equal(i64(&r, 0, 0), (int64_t)x.n_t);
    result_free(&r);

    run(&r, x.w.store,
        "SELECT sum(k), min(k), max(k), avg(k), count(DISTINCT _id) FROM t");
    assert_int_equal(i64(&r, 0, 0), sum);
    assert_int_equal(i64(&r, 1, 0), 0);
    assert_int_equal(i64(&r, 2, 0), 298);
    assert_true(fabs(f64(&r, 3, 0) - (double)sum / (double)x.n_t) < 1e-9);
    assert_int_equal(i64(&r, 4, 0), (int64_t)x.n_t);
    result_free(&r);

    run(&r, x.w.store, "SELECT count(*) FROM t WHERE body LIKE '% w3 %'");
    assert_int_equal(i64(&r, 0, 0), n_w3);
    result_free(&r);

    /* an empty table and a filter that keeps nothing */
    run(&r, x.w.store, "SELECT count(*), sum(k) FROM t WHERE k > 1000");
    assert_int_equal(i64(&r, 0, 0), 0);
    assert_false(ar_array_is_valid(col(&r, 1), 0)); /* sum of nothing */
    result_free(&r);
    tl_world_close(&x.w);
}

static void test_sql_query__group_and_order(void **state)
{
    struct world x;
    struct result r;
    int64_t n[7] = {0}, s[7] = {0};
    char body[64], want[64];
    (void)state;

    world_open(&x);
    for (size_t i = 0; i < x.n_t; i++) {
        n[x.t_keys[i] % 7]++;
        s[x.t_keys[i] % 7] += x.t_keys[i];
    }
    run(&r, x.w.store,
        "SELECT k % 7 AS g, count(*) AS n, sum(k) AS s FROM t GROUP BY g "
        "ORDER BY g DESC");
    assert_int_equal(r.a.length, 7);
    for (int64_t i = 0; i < 7; i++) {
        assert_int_equal(i64(&r, 0, i), 6 - i);
        assert_int_equal(i64(&r, 1, i), n[6 - i]);
        assert_int_equal(i64(&r, 2, i), s[6 - i]);
    }
    result_free(&r);

    /* columns read from the table keep their types and values */
    run(&r, x.w.store,
        "SELECT k, body FROM t WHERE k BETWEEN 10 AND 30 ORDER BY k DESC "
        "LIMIT 5");
    assert_int_equal(r.a.length, 5);
    assert_int_equal(r.s.fields[0].type, AR_INT64);
    assert_int_equal(r.s.fields[1].type, AR_UTF8);
    {
        static const int64_t expect[] = {30, 28, 27, 26, 25}; /* 29 gone */
        for (int64_t i = 0; i < 5; i++) {
            assert_int_equal(i64(&r, 0, i), expect[i]);
            str(body, sizeof body, &r, 1, i);
            tf_body(want, sizeof want, expect[i]);
            assert_string_equal(body, want);
        }
    }
    result_free(&r);

    /* HAVING and a subquery */
    run(&r, x.w.store,
        "SELECT count(*) FROM (SELECT k % 7 AS g FROM t GROUP BY g "
        "HAVING count(*) > 38)");
    {
        int64_t want_n = 0;
        for (int g = 0; g < 7; g++)
            want_n += n[g] > 38;
        assert_int_equal(i64(&r, 0, 0), want_n);
    }
    result_free(&r);
    tl_world_close(&x.w);
}

/* _id in SQL is the table's decimal128, read back as such. */
struct ids_ctx {
    int64_t k[400];
    uint8_t id[400][16];
    size_t n;
};

static infino_status ids_cb(size_t sf, const struct ArrowArray *b,
                            const uint32_t *rows, void *payload)
{
    struct ids_ctx *c = payload;
    (void)sf;
    (void)rows;
    for (int64_t i = 0; i < b->length; i++) {
        const struct ArrowArray *ic = b->children[0], *kc = b->children[1];
        c->k[c->n] = ((const int64_t *)kc->buffers[1])[kc->offset + i];
        memcpy(c->id[c->n++],
               (const uint8_t *)ic->buffers[1] + (ic->offset + i) * 16, 16);
    }
    return INFINO_OK;
}

static void test_sql_query__ids_keep_their_type(void **state)
{
    static const char *const cols[] = {"_id", "k"};
    struct world x;
    struct result r;
    struct tbl *t;
    struct tbl_view *v;
    static struct ids_ctx c;
    (void)state;

    world_open(&x);
    memset(&c, 0, sizeof c);
    assert_ok(tl_open(&t, x.w.store, "t"));
    assert_ok(tbl_view_acquire(&v, t));
    assert_ok(tbl_view_scan(v, cols, 2, ids_cb, &c));
    tbl_view_release(v);
    tbl_close(t);

    run(&r, x.w.store, "SELECT _id, k FROM t ORDER BY k");
    assert_int_equal(r.a.length, (int64_t)x.n_t);
    assert_int_equal(r.s.fields[0].type, AR_DECIMAL128);
    for (int64_t i = 0; i < r.a.length; i++) {
        const struct ArrowArray *ic = col(&r, 0);
        int64_t k = i64(&r, 1, i);
        size_t j = 0;
        while (j < c.n && c.k[j] != k)
            j++;
        assert_true(j < c.n);
        assert_memory_equal((const uint8_t *)ic->buffers[1] +
                                (ic->offset + i) * 16,
                            c.id[j], 16);
    }
    result_free(&r);
    tl_world_close(&x.w);
}

static void test_sql_query__joins(void **state)
{
    struct world x;
    struct result r;
    int64_t n = 0, sum = 0;
    (void)state;

    world_open(&x);
    /* t joined with u on k: the keys in both */
    for (int64_t k = 0; k < 300; k++)
        if (t_has(&x, k) && k % 3 == 0) {
            n++;
            sum += k;
        }
    run(&r, x.w.store,
        "SELECT count(*), sum(t.k) FROM t JOIN u ON u.k = t.k");
    assert_int_equal(i64(&r, 0, 0), n);
    assert_int_equal(i64(&r, 1, 0), sum);
    result_free(&r);

    /* LEFT JOIN: u's keys missing from t */
    run(&r, x.w.store,
        "SELECT count(*) FROM u LEFT JOIN t ON t.k = u.k WHERE t.k IS NULL");
    assert_int_equal(i64(&r, 0, 0), 200 - n);
    result_free(&r);

    /* a self-join sees one snapshot */
    run(&r, x.w.store,
        "SELECT count(*) FROM t a JOIN t b ON b.k = a.k + 1");
    {
        int64_t want = 0;
        for (int64_t k = 0; k < 300; k++)
            want += t_has(&x, k) && t_has(&x, k + 1);
        assert_int_equal(i64(&r, 0, 0), want);
    }
    result_free(&r);
    tl_world_close(&x.w);
}

/* The keys of hits, in order. */
static size_t hit_keys(int64_t *out, struct tbl_view *v,
                       const struct qry_hits *h)
{
    static const char *const proj[] = {"k"};
    struct ArrowArray a;
    struct ar_schema s;

    assert_ok(qry_materialize(&a, &s, v, h, proj, 1, "test"));
    for (int64_t i = 0; i < a.length; i++)
        out[i] = ((const int64_t *)a.children[0]->buffers[1])[i];
    ar_array_release(&a);
    ar_schema_free(&s);
    return h->n;
}

static void test_sql_query__search_functions(void **state)
{
    static const float q17[TF_DIM] = {17, 2, 1, -17};
    struct world x;
    struct result r;
    struct tbl *t;
    struct tbl_view *v;
    struct qry_hits h;
    int64_t want[400];
    size_t n;
    (void)state;

    world_open(&x);
    assert_ok(tl_open(&t, x.w.store, "t"));
    assert_ok(tbl_view_acquire(&v, t));

    /* bm25_search: the query layer's answer, with every visible column */
    assert_ok(qry_bm25(&h, v, 0, "w3 row17", 5, FTS_MODE_OR));
    n = hit_keys(want, v, &h);
    run(&r, x.w.store,
        "SELECT k, score, body, _id FROM bm25_search('t', 'body', "
        "'w3 row17', 5)");
    assert_int_equal(r.a.length, (int64_t)n);
    assert_int_equal(r.s.fields[1].type, AR_FLOAT32);
    assert_int_equal(r.s.fields[3].type, AR_DECIMAL128);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(i64(&r, 0, (int64_t)i), want[i]);
        assert_true((float)f64(&r, 1, (int64_t)i) == h.v[i].score);
    }
    assert_int_equal(want[0], 17); /* both terms */
    result_free(&r);
    qry_hits_free(&h);

    /* AND mode, joined back to its table by _id and to u by k */
    assert_ok(qry_bm25(&h, v, 0, "w2 common", 1000, FTS_MODE_AND));
    run(&r, x.w.store,
        "SELECT count(*), count(u.k) FROM bm25_search('t', 'body', "
        "'w2 common', 1000, 'and') AS b JOIN t ON t._id = b._id "
        "LEFT JOIN u ON u.k = b.k");
    {
        int64_t nu = 0;
        for (int64_t k = 0; k < 300; k++)
            nu += t_has(&x, k) && k % 7 == 2 && k % 3 == 0;
        assert_int_equal(i64(&r, 0, 0), (int64_t)h.n);
        assert_int_equal(i64(&r, 1, 0), nu);
    }
    result_free(&r);
    qry_hits_free(&h);

    /* vector_search: nearest first, distance 0 for the row itself */
    assert_ok(qry_vector(&h, v, 0, q17, TF_DIM, 3, 0, NULL));
    n = hit_keys(want, v, &h);
    run(&r, x.w.store,
        "SELECT k, score FROM vector_search('t', 'vec', '17,2,1,-17', 3)");
    assert_int_equal(r.a.length, 3);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(i64(&r, 0, (int64_t)i), want[i]);
    assert_int_equal(want[0], 17);
    assert_true(f64(&r, 1, 0) == 0.0);
    result_free(&r);
    qry_hits_free(&h);
    run(&r, x.w.store,
        "SELECT k FROM vector_search('t', 'vec', '[17, 2, 1, -17]', 1)");
    assert_int_equal(i64(&r, 0, 0), 17);
    result_free(&r);
    /* upstream's array literal, as DataFusion writes it; a bracketed name
     * elsewhere in the same query keeps SQLite's meaning */
    run(&r, x.w.store,
        "SELECT [k] FROM vector_search('t', 'vec', [17, 2e0, +1, -17.0], 1)");
    assert_int_equal(i64(&r, 0, 0), 17);
    result_free(&r);
    run(&r, x.w.store,
        "SELECT count(*) FROM (SELECT k FROM vector_search('t', 'vec',\n"
        "  [ 17,2,1,-17 ] /* nearest */, 2) UNION ALL SELECT k FROM "
        "vector_search('t', 'vec', [1,1,1,1], 3))");
    assert_int_equal(i64(&r, 0, 0), 5);
    result_free(&r);

    /* hybrid_search */
    assert_ok(qry_hybrid(&h, v, 0, "w3", FTS_MODE_OR, 0, q17, TF_DIM, 6, 0));
    n = hit_keys(want, v, &h);
    run(&r, x.w.store,
        "SELECT k, score FROM hybrid_search('t', 'body', 'w3', 'vec', "
        "'17,2,1,-17', 6)");
    assert_int_equal(r.a.length, (int64_t)n);
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(i64(&r, 0, (int64_t)i), want[i]);
        assert_true((float)f64(&r, 1, (int64_t)i) == h.v[i].score);
    }
    assert_int_equal(want[0], 17); /* first in both lists */
    result_free(&r);
    run(&r, x.w.store,
        "SELECT k, score FROM hybrid_search('t', 'body', 'w3', 'vec', "
        "[17, 2, 1, -17], 6)");
    assert_int_equal(r.a.length, (int64_t)n);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(i64(&r, 0, (int64_t)i), want[i]);
    result_free(&r);
    qry_hits_free(&h);

    /* token_match and exact_match, joined with u */
    run(&r, x.w.store,
        "SELECT count(*) FROM token_match('t', 'body', 'w1 w4')");
    {
        int64_t w = 0;
        for (int64_t k = 0; k < 300; k++)
            w += t_has(&x, k) && (k % 7 == 1 || k % 7 == 4);
        assert_int_equal(i64(&r, 0, 0), w);
    }
    result_free(&r);
    run(&r, x.w.store,
        "SELECT count(*) FROM token_match('t', 'body', 'w1 row8', 'and')");
    assert_int_equal(i64(&r, 0, 0), 1);
    result_free(&r);
    run(&r, x.w.store,
        "SELECT m.k FROM token_match('t', 'body', 'w4') AS m JOIN u "
        "ON u.k = m.k ORDER BY m.k");
    {
        int64_t i = 0;
        for (int64_t k = 0; k < 300; k++)
            if (t_has(&x, k) && k % 7 == 4 && k % 3 == 0)
                assert_int_equal(i64(&r, 0, i++), k);
        assert_int_equal(r.a.length, i);
    }
    result_free(&r);
    run(&r, x.w.store,
        "SELECT k FROM exact_match('t', 'body', 'row5 w5 common')");
    assert_int_equal(r.a.length, 1);
    assert_int_equal(i64(&r, 0, 0), 5);
    result_free(&r);
    run(&r, x.w.store,
        "SELECT count(*) FROM exact_match('t', 'body', 'row9 w2 common')");
    assert_int_equal(i64(&r, 0, 0), 0); /* deleted */
    result_free(&r);
    /* two different searches of one table in one query */
    run(&r, x.w.store,
        "SELECT count(*) FROM token_match('t', 'body', 'w1') a JOIN "
        "token_match('t', 'body', 'common') b ON a._id = b._id");
    {
        int64_t w = 0;
        for (int64_t k = 0; k < 300; k++)
            w += t_has(&x, k) && k % 7 == 1;
        assert_int_equal(i64(&r, 0, 0), w);
    }
    result_free(&r);

    tbl_view_release(v);
    tbl_close(t);
    tl_world_close(&x.w);
}

static void test_sql_query__bad_sql_is_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "   ;  ",
        "SELEC 1",
        "SELECT * FROM nosuch",
        "SELECT nosuch FROM t",
        "SELECT vec FROM t", /* vector columns are not visible */
        "SELECT 1; SELECT 2",
        "INSERT INTO t(k) VALUES (1)",
        "DELETE FROM t",
        "UPDATE t SET k = 1",
        "CREATE TABLE x(a)",
        "DROP TABLE t",
        "ATTACH DATABASE ':memory:' AS y",
        "PRAGMA table_info(t)",
        "SELECT * FROM bm25_search('t', 'body')",
        "SELECT * FROM bm25_search('t', 'nocol', 'x', 5)",
        "SELECT * FROM bm25_search('t', 'body', 'x', -1)",
        "SELECT * FROM bm25_search('t', 'body', 'x', 'ten')",
        "SELECT * FROM bm25_search('t', 'body', 'x', 5, 'xor')",
        "SELECT * FROM bm25_search('t', 'body', '-x', 5)",
        "SELECT * FROM bm25_search('t', 'body', NULL, 5)",
        "SELECT * FROM bm25_search('nosuch', 'body', 'x', 5)",
        "SELECT * FROM bm25_search(t, 'body', 'x', 5)",
        "SELECT * FROM vector_search('t', 'vec', '1,2', 3)",
        "SELECT * FROM vector_search('t', 'body', '1,2,3,4', 3)",
        "SELECT * FROM vector_search('t', 'vec', '1,x,3,4', 3)",
        "SELECT * FROM vector_search('t', 'vec', [1,2], 3)",
        "SELECT * FROM vector_search('t', 'vec', [1,x,3,4], 3)",
        "SELECT * FROM vector_search('t', 'vec', [1,,3,4], 3)",
        "SELECT * FROM vector_search('t', 'vec', [], 3)",
        "SELECT * FROM vector_search('t', [1,2,3,4], 'vec', 3)",
        "SELECT * FROM hybrid_search('t', 'body', 'x', 'vec', [1 2 3 4], 3)",
        "SELECT * FROM hybrid_search('t', 'body', 'x', 'vec', '1,2,3,4')",
        "SELECT * FROM exact_match('t', 'body')",
        "SELECT * FROM token_match('t', 'body', 'x', 'and', 5)",
    };
    struct world x;
    struct ArrowArrayStream out;
    (void)state;

    world_open(&x);
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        infino_status st = query(&out, x.w.store, bad[i]);
        if (st != INFINO_ERR_INVALID)
            fail_msg("'%s' returned %d (%s), want INFINO_ERR_INVALID", bad[i],
                     (int)st, st == INFINO_OK ? "ok" : err_last());
        if (err_last()[0] == '\0')
            fail_msg("'%s': no message", bad[i]);
        assert_null(out.release);
    }
    /* and the tables are untouched */
    {
        struct result r;
        run(&r, x.w.store, "SELECT count(*) FROM t");
        assert_int_equal(i64(&r, 0, 0), (int64_t)x.n_t);
        result_free(&r);
    }
    tl_world_close(&x.w);
}

/* ---- predicates ---------------------------------------------------------- */

struct sel_ctx {
    roaring_bitmap_t **per_sf;
    int64_t k[400];
    size_t n;
};

static infino_status sel_cb(size_t sf, const struct ArrowArray *b,
                            const uint32_t *rows, void *payload)
{
    struct sel_ctx *c = payload;
    const struct ArrowArray *kc = b->children[0];

    for (int64_t i = 0; i < b->length; i++)
        if (c->per_sf[sf] && roaring_bitmap_contains(c->per_sf[sf], rows[i]))
            c->k[c->n++] = ((const int64_t *)kc->buffers[1])[kc->offset + i];
    return INFINO_OK;
}

/* The keys `pred` selects in the newest snapshot of t, sorted. */
static size_t select_keys(int64_t *out, struct tbl *t, const char *pred)
{
    static const char *const cols[] = {"k"};
    static struct sel_ctx c;
    struct tbl_view *v;
    roaring_bitmap_t *per_sf[8] = {NULL};
    uint64_t sel = 0;

    memset(&c, 0, sizeof c);
    assert_ok(tbl_view_acquire(&v, t));
    assert_true(tbl_view_n_sf(v) <= 8);
    if (sql_match_predicate(per_sf, v, (void *)pred) != INFINO_OK)
        fail_msg("predicate '%s': %s", pred, err_last());
    c.per_sf = per_sf;
    assert_ok(tbl_view_scan(v, cols, 1, sel_cb, &c));
    for (size_t i = 0; i < tbl_view_n_sf(v); i++) {
        /* every selected row is a live row the scan saw */
        if (per_sf[i])
            sel += roaring_bitmap_get_cardinality(per_sf[i]);
        if (per_sf[i])
            roaring_bitmap_free(per_sf[i]);
    }
    assert_int_equal(sel, c.n);
    tbl_view_release(v);
    if (c.n > 1)
        qsort(c.k, c.n, sizeof *c.k, tf_cmp_i64);
    memcpy(out, c.k, c.n * sizeof *out);
    return c.n;
}

static bool p_lt10(int64_t k)
{
    return k < 10;
}
static bool p_mod7(int64_t k)
{
    return k % 7 == 3;
}
static bool p_in(int64_t k)
{
    return k == 1 || k == 5 || k == 9 || k == 299;
}
static bool p_eq5(int64_t k)
{
    return k == 5;
}
static bool p_range(int64_t k)
{
    return (k >= 20 && k <= 30) || k == 99;
}
static bool p_not(int64_t k)
{
    return !(k >= 5);
}
static bool p_row1(int64_t k)
{
    char b[64];
    tf_body(b, sizeof b, k);
    return strncmp(b, "row1", 4) == 0;
}
static bool p_len(int64_t k)
{
    char b[64];
    return tf_body(b, sizeof b, k) > 16;
}
static bool p_all(int64_t k)
{
    (void)k;
    return true;
}
static bool p_none(int64_t k)
{
    (void)k;
    return false;
}
static bool p_abs(int64_t k)
{
    return llabs(k - 150) < 3;
}
static bool p_sub(int64_t k)
{
    char b[64];
    tf_body(b, sizeof b, k);
    return strncmp(b, "row2", 4) == 0;
}
static bool p_case(int64_t k)
{
    return (k % 2 == 0 ? k : -k) > 280;
}

static const struct {
    const char *sql;
    bool (*fn)(int64_t k);
} preds[] = {
    {"k < 10", p_lt10},
    {"k % 7 = 3 AND body LIKE '%common%'", p_mod7},
    {"k IN (1, 5, 9, 299, 1000)", p_in},
    {"body = 'row5 w5 common'", p_eq5},
    {"k BETWEEN 20 AND 30 OR k = 99", p_range},
    {"NOT (k >= 5)", p_not},
    {"body LIKE 'row1%'", p_row1},
    {"length(body) > 16", p_len},
    {"1", p_all},
    {"0", p_none},
    {"k IS NULL", p_none},
    {"_id IS NOT NULL", p_all},
    {"abs(k - 150) < 3", p_abs},
    {"substr(body, 1, 4) = 'row2'", p_sub},
    {"CASE WHEN k % 2 = 0 THEN k ELSE -k END > 280", p_case},
    {"k = '5'", p_eq5},        /* SQLite's affinity: text to integer */
    {"(k < 10) -- a comment", p_lt10},
    {"body = 'it''s'", p_none}, /* a quote inside a string */
};

static void test_sql_query__predicates_select_the_oracle_rows(void **state)
{
    struct world x;
    struct tbl *t;
    static int64_t got[400], want[400];
    (void)state;

    world_open(&x);
    assert_ok(tl_open(&t, x.w.store, "t"));
    for (size_t i = 0; i < sizeof preds / sizeof *preds; i++) {
        size_t n = select_keys(got, t, preds[i].sql), n_want = 0;
        for (size_t j = 0; j < x.n_t; j++)
            if (preds[i].fn(x.t_keys[j]))
                want[n_want++] = x.t_keys[j];
        if (n != n_want || (n && memcmp(got, want, n * sizeof *got) != 0))
            fail_msg("predicate '%s': %zu rows, want %zu", preds[i].sql, n,
                     n_want);
        assert_ok(sql_check_predicate(t, preds[i].sql));
    }
    tbl_close(t);
    tl_world_close(&x.w);
}

static void test_sql_query__delete_and_update_by_predicate(void **state)
{
    static const int64_t repl[] = {1005, 1015, 1025};
    struct world x;
    struct tbl *t;
    struct tbl_mutation_stats ms;
    struct ArrowArrayStream rows;
    static int64_t want[400];
    size_t n_want = 0;
    (void)state;

    world_open(&x);
    assert_ok(tl_open(&t, x.w.store, "t"));

    assert_ok(tbl_delete(t, sql_match_predicate, (void *)"k % 5 = 0", &ms));
    assert_int_equal(ms.matched, 60);
    assert_int_equal(ms.n_tombstoned, 60);
    assert_int_equal(ms.n_not_found, 0);
    /* overlapping: the rows deleted already are not seen again */
    assert_ok(tbl_delete(t, sql_match_predicate,
                         (void *)"k < 20 OR body LIKE '% w6 %'", &ms));
    for (size_t i = 0; i < x.n_t; i++) {
        int64_t k = x.t_keys[i];
        if (k % 5 == 0)
            continue;
        if (k < 20 || k % 7 == 6)
            continue;
        want[n_want++] = k;
    }
    assert_int_equal(ms.matched, x.n_t - 60 - n_want);
    assert_int_equal(ms.n_tombstoned, ms.matched);
    tl_assert_keys(t, want, n_want, "after two deletes by predicate");
    tl_assert_check(t, n_want, "after two deletes by predicate");

    /* update by predicate: 3 rows for 3 */
    tl_stream(&rows, repl, 3, NULL);
    assert_ok(tbl_update(t, sql_match_predicate,
                         (void *)"k IN (21, 22, 23)", &rows, &ms));
    assert_int_equal(ms.matched, 3);
    {
        size_t j = 0;
        for (size_t i = 0; i < n_want; i++)
            if (want[i] < 21 || want[i] > 23)
                want[j++] = want[i];
        n_want = j;
        want[n_want++] = 1005;
        want[n_want++] = 1015;
        want[n_want++] = 1025;
        qsort(want, n_want, sizeof *want, tf_cmp_i64);
    }
    tl_assert_keys(t, want, n_want, "after update by predicate");
    /* 2 rows for 3: nothing changes */
    tl_stream(&rows, repl, 3, NULL);
    assert_int_equal(tbl_update(t, sql_match_predicate,
                                (void *)"k IN (24, 26)", &rows, &ms),
                     INFINO_ERR_CARDINALITY);
    tl_assert_keys(t, want, n_want, "after a refused update");
    tl_assert_check(t, n_want, "after a refused update");
    tbl_close(t);
    tl_world_close(&x.w);
}

static void test_sql_query__bad_predicates_are_invalid(void **state)
{
    static const char *const bad[] = {
        "",
        "   ",
        "k = 1; DROP TABLE t",
        "k = 1) OR (1",
        "(k = 1",
        "nosuch = 1",
        "k = ",
        "vec IS NULL",
        "body = 'unterminated",
        "k = 1 /* unterminated",
        "nosuchfunction(k)",
    };
    struct world x;
    struct tbl *t;
    struct tbl_mutation_stats ms;
    (void)state;

    world_open(&x);
    assert_ok(tl_open(&t, x.w.store, "t"));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        infino_status st = sql_check_predicate(t, bad[i]);
        if (st != INFINO_ERR_INVALID)
            fail_msg("check '%s' returned %d, want INFINO_ERR_INVALID",
                     bad[i], (int)st);
        st = tbl_delete(t, sql_match_predicate, (void *)bad[i], &ms);
        if (st != INFINO_ERR_INVALID)
            fail_msg("delete '%s' returned %d, want INFINO_ERR_INVALID",
                     bad[i], (int)st);
    }
    tl_assert_keys(t, x.t_keys, x.n_t, "after refused predicates");
    tl_assert_check(t, x.n_t, "after refused predicates");
    tbl_close(t);
    tl_world_close(&x.w);
}

/* A predicate is evaluated batch by batch (a row group of a superfile at
 * a time), so a subquery over the table inside it - legal SQL, one
 * expression - would see one batch, not the table: "k = (SELECT max(k)
 * FROM t)" would delete the largest key of every row group. Such a
 * predicate must be refused or select what it says over the whole table;
 * it must never delete rows it does not describe. */
static void test_sql_query__subquery_predicate_sees_the_whole_table(
    void **state)
{
    static const char *const preds_[] = {
        "k = (SELECT max(k) FROM t)",
        "k IN (SELECT min(k) FROM t)",
        "k > (SELECT avg(k) FROM t) + 140",
    };
    (void)state;

    for (size_t i = 0; i < sizeof preds_ / sizeof *preds_; i++) {
        struct world x;
        struct tbl *t;
        struct tbl_mutation_stats ms;
        infino_status st;
        uint64_t want = 0;
        double avg = 0;
        char why[512];

        world_open(&x); /* t: 3 superfiles, keys 0..299 but k % 10 == 9 */
        for (size_t j = 0; j < x.n_t; j++)
            avg += (double)x.t_keys[j] / (double)x.n_t;
        for (size_t j = 0; j < x.n_t; j++)
            want += i < 2 ? x.t_keys[j] == (i == 0 ? 298 : 0)
                          : (double)x.t_keys[j] > avg + 140;
        assert_ok(tl_open(&t, x.w.store, "t"));
        st = tbl_delete(t, sql_match_predicate, (void *)preds_[i], &ms);
        if (st != INFINO_OK)
            snprintf(why, sizeof why, "%s", err_last());
        tbl_close(t);
        tl_world_close(&x.w);
        if (st == INFINO_ERR_INVALID)
            continue; /* refusing is fine */
        if (st != INFINO_OK)
            fail_msg("'%s': %d %s", preds_[i], (int)st, why);
        if (ms.matched != want)
            fail_msg("'%s' deleted %llu rows; over the whole table it "
                     "selects %llu",
                     preds_[i], (unsigned long long)ms.matched,
                     (unsigned long long)want);
    }
}

/* A query that meets damaged storage says so: the status of the failure
 * (NOTFOUND for a missing superfile, CORRUPT for a damaged tombstone),
 * as a scan of the same table gives, not INFINO_ERR_INVALID ("the caller
 * broke a precondition"), which would tell a caller to fix its SQL. */
static void test_sql_query__storage_errors_keep_their_status(void **state)
{
    struct world x;
    char dir[700], rel[800], name[256], path[2400];
    struct ArrowArrayStream out;
    infino_status st[2];
    char msg[2][1024];
    (void)state;

    for (int damage = 0; damage < 2; damage++) {
        world_open(&x); /* t: 3 superfiles, one tombstone each */
        tl_table_dir(dir, sizeof dir, x.w.store, "t");
        snprintf(rel, sizeof rel, "%s%s", dir,
                 damage == 0 ? "superfiles" : "tombstones");
        assert_true(tl_count_files(x.w.dir, rel,
                                   damage == 0 ? ".parquet" : ".del",
                                   name) >= 1);
        snprintf(path, sizeof path, "%s/%s/%s", x.w.dir, rel, name);
        if (damage == 0) {
            assert_int_equal(unlink(path), 0);
        } else {
            FILE *f = fopen(path, "r+b");
            int c;
            assert_non_null(f);
            assert_int_equal(fseek(f, -12, SEEK_END), 0);
            c = fgetc(f);
            assert_int_equal(fseek(f, -12, SEEK_END), 0);
            fputc(c ^ 0x5a, f);
            fclose(f);
        }
        st[damage] = query(&out, x.w.store, "SELECT count(*) FROM t");
        snprintf(msg[damage], sizeof msg[damage], "%s", err_last());
        if (out.release)
            out.release(&out);
        tl_world_close(&x.w);
        if (st[damage] == INFINO_OK)
            fail_msg("query over a damaged table succeeded");
        if (strstr(msg[damage], name) == NULL)
            fail_msg("the error does not name %s: %s", name, msg[damage]);
    }
    if (st[0] != INFINO_ERR_NOTFOUND || st[1] != INFINO_ERR_CORRUPT)
        fail_msg("missing superfile: %d (want NOTFOUND %d), damaged "
                 "tombstone: %d (want CORRUPT %d): %s",
                 (int)st[0], (int)INFINO_ERR_NOTFOUND, (int)st[1],
                 (int)INFINO_ERR_CORRUPT, msg[0]);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_query__aggregates),
        cmocka_unit_test(test_sql_query__group_and_order),
        cmocka_unit_test(test_sql_query__ids_keep_their_type),
        cmocka_unit_test(test_sql_query__joins),
        cmocka_unit_test(test_sql_query__search_functions),
        cmocka_unit_test(test_sql_query__bad_sql_is_invalid),
        cmocka_unit_test(test_sql_query__predicates_select_the_oracle_rows),
        cmocka_unit_test(test_sql_query__delete_and_update_by_predicate),
        cmocka_unit_test(test_sql_query__bad_predicates_are_invalid),
        cmocka_unit_test(
            test_sql_query__subquery_predicate_sees_the_whole_table),
        cmocka_unit_test(test_sql_query__storage_errors_keep_their_status),
    };
    test_seed();
    if (getenv("INFINO_TEST_FILTER"))
        cmocka_set_test_filter(getenv("INFINO_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
