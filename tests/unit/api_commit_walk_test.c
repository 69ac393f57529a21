/*
 * api_commit_walk_test.c - every failure point of every write operation.
 *
 * For create_table, append, delete, update, optimize, reindex (every
 * superfile rewritten, through the table layer's test switch), gc,
 * drop_table and add_columns (the schema's id and columns are the state
 * there),
 * and for every kind of store operation (read, open for write, write,
 * short write, publish failing before or after the object appears, stat,
 * existence check, listing, delete), we fail the 1st, 2nd, 3rd ... such
 * operation the call makes, until the call runs out of them. After each
 * injected failure a fresh handle must open the table, its consistency
 * check (infino_table_check) must pass, and it must hold exactly the state
 * before the call or the state after it; a call that reported success must
 * have left the state after it. The handle that saw the failure must then
 * still work. The same walk runs with the Nth allocation failing.
 *
 * The stores: a memory store claiming durability (fast: every point of
 * every operation), and a local folder for the publish faults (the real
 * rename and fsync path). INFINO_WALK_STRIDE=k tests every k-th point
 * only (the sanitizer build uses it).
 */
#include "harness.h"
#include "table_fixture.h"

#include "api/api_int.h"
#include "store/objstore_fault.h"

#include <errno.h>

enum op { OP_CREATE, OP_APPEND, OP_DELETE, OP_UPDATE, OP_OPTIMIZE,
          OP_REINDEX, OP_GC, OP_DROP, OP_EVOLVE, OP_COUNT };
static const char *const op_names[OP_COUNT] = {
    "create_table", "append", "delete", "update", "optimize", "reindex",
    "gc", "drop", "add_columns"};

struct world {
    char dir[512];
    struct objstore *fault; /* owned by db */
    infino_db *db;
    infino_table *t;
};

static long stride(void)
{
    const char *s = getenv("INFINO_WALK_STRIDE");
    long k = s ? strtol(s, NULL, 10) : 1;
    return k > 0 ? k : 1;
}

/* The keys of the prepared table: 0..19 without 7. */
static const int64_t base_keys[] = {0,  1,  2,  3,  4,  5,  6,  8,  9, 10,
                                    11, 12, 13, 14, 15, 16, 17, 18, 19};
#define N_BASE (sizeof base_keys / sizeof base_keys[0])

static void world_open(struct world *w, bool local)
{
    struct objstore *inner;

    memset(w, 0, sizeof *w);
    mem_fail_reset();
    if (local) {
        test_tmpdir(w->dir, sizeof w->dir, "walk");
        assert_ok(objstore_open(&inner, w->dir));
    } else {
        assert_ok(objstore_open(&inner, "memory://"));
    }
    assert_ok(objstore_fault_open(&w->fault, inner));
    /* delete and update need durable storage (and a durable store's gc
     * protocol, with reader leases, is the one walked here); the memory
     * store keeps everything the walk needs for as long as it runs */
    w->fault->durable = true;
    assert_ok(api_connect_store(&w->db, w->fault, NULL));
    assert_ok(tf_create(&w->t, w->db, "t"));
    assert_ok(tf_append(w->t, 0, 5));
    assert_ok(tf_append(w->t, 5, 5));
    assert_ok(tf_append(w->t, 10, 5));
    {
        infino_mutation_stats ms;
        assert_ok(infino_table_delete(w->t, "k = 7", &ms));
        assert_int_equal(ms.n_tombstoned, 1);
    }
    assert_ok(tf_append(w->t, 15, 5));
}

static void world_close(struct world *w)
{
    infino_table_close(w->t);
    infino_db_close(w->db);
    if (w->dir[0]) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", w->dir);
        if (system(cmd) != 0)
            fail_msg("cannot remove %s", w->dir);
    }
}

/* The keys after `op`, into want[] (cap 64); whether table t exists. */
static bool after_state(enum op op, int64_t *want, size_t *n)
{
    *n = 0;
    for (size_t i = 0; i < N_BASE; i++) {
        int64_t k = base_keys[i];
        if (op == OP_DELETE && k < 3)
            continue;
        if (op == OP_UPDATE && k == 5)
            continue;
        want[(*n)++] = k;
    }
    if (op == OP_APPEND)
        for (int64_t k = 100; k < 103; k++)
            want[(*n)++] = k;
    if (op == OP_UPDATE)
        want[(*n)++] = 105;
    if (*n > 1)
        qsort(want, *n, sizeof *want, tf_cmp_i64);
    return op != OP_DROP;
}

/* What an operation consumes, made before any fault is armed. */
struct op_input {
    struct ArrowSchema schema;
    infino_index_spec *spec;
    struct ArrowArrayStream rows;
};

static void prep_op(enum op op, struct op_input *in)
{
    int64_t k105 = 105;

    memset(in, 0, sizeof *in);
    if (op == OP_CREATE)
        tf_create_args(&in->schema, &in->spec);
    else if (op == OP_APPEND)
        tf_stream_range(&in->rows, 100, 3);
    else if (op == OP_UPDATE)
        tf_stream(&in->rows, &k105, 1);
    else if (op == OP_EVOLVE) {
        struct ar_schema s = {0};
        s.n_fields = 1;
        s.fields = mem_calloc(1, sizeof *s.fields);
        assert_non_null(s.fields);
        s.fields[0] = tf_leaf("extra", AR_INT64, true);
        assert_ok(ar_schema_export(&in->schema, &s));
        ar_schema_free(&s);
    }
}

static void free_input(struct op_input *in)
{
    if (in->schema.release)
        in->schema.release(&in->schema);
    infino_index_spec_free(in->spec);
    if (in->rows.release)
        in->rows.release(&in->rows);
}

static infino_status run_op(struct world *w, enum op op, struct op_input *in)
{
    infino_mutation_stats ms;
    infino_gc_report gr;
    infino_optimize_opts oo = INFINO_OPTIMIZE_OPTS_INIT;
    infino_table *t2 = NULL;
    struct tbl_reindex_opts ro = {0};
    struct tbl_reindex_report rr;
    infino_status st;

    switch (op) {
    case OP_CREATE:
        st = infino_create_table(&t2, w->db, "t2", &in->schema, in->spec);
        infino_table_close(t2);
        return st;
    case OP_APPEND:
        return infino_table_append(w->t, &in->rows, NULL);
    case OP_DELETE:
        return infino_table_delete(w->t, "k < 3", &ms);
    case OP_UPDATE:
        return infino_table_update(w->t, "k = 5", &in->rows, &ms);
    case OP_OPTIMIZE:
        oo.min_fill_percent = 100;
        return infino_table_optimize(w->t, &oo);
    case OP_REINDEX:
        /* every superfile, as if all were stale (all four rewritten) */
        ro.all = true;
        st = tbl_reindex(w->t->t, &ro, false, &rr);
        if (st == INFINO_OK)
            tbl_reindex_report_free(&rr);
        return st;
    case OP_GC:
        return infino_table_gc(w->t, 0, &gr);
    case OP_DROP:
        return infino_drop_table(w->db, "t", 1);
    case OP_EVOLVE:
        return infino_table_add_columns(w->t, &in->schema, 0, NULL);
    default:
        return INFINO_ERR_INVALID;
    }
}

static bool has_table(infino_db *db, const char *name)
{
    char **names;
    size_t n;
    bool found = false;

    assert_ok(infino_list_tables(db, &names, &n));
    for (size_t i = 0; i < n; i++)
        found |= strcmp(names[i], name) == 0;
    infino_free_names(names, n);
    return found;
}

/* Opens t through a fresh database handle on the same store, checks it,
 * and compares its keys with the states allowed. */
/* `one_fault`: a single operation failed (not every one from then on),
 * so a commit that became visible must also have been reported: the
 * publish is reconciled by reading it back, never reported as failed. */
static void verify(struct world *w, enum op op, infino_status st,
                   const char *what, bool one_fault)
{
    infino_db *db;
    infino_table *t;
    infino_check_report rep;
    int64_t want[64], *got;
    size_t n_want, n_got;
    bool t_after = after_state(op, want, &n_want);
    bool t_exists, t2_exists;
    bool is_before, is_after;

    objstore_fault_disarm(w->fault);
    mem_fail_reset();
    assert_ok(api_connect_store(&db, w->fault, NULL));
    t_exists = has_table(db, "t");
    t2_exists = has_table(db, "t2");
    if (op != OP_CREATE && t2_exists)
        fail_msg("%s: table t2 appeared", what);
    if (op == OP_CREATE && st == INFINO_OK && !t2_exists)
        fail_msg("%s: create_table succeeded but t2 is missing", what);
    if (op == OP_DROP && st == INFINO_OK && t_exists)
        fail_msg("%s: drop_table succeeded but t is listed", what);
    if (op != OP_DROP && !t_exists)
        fail_msg("%s: table t vanished", what);
    if (t2_exists) {
        infino_table *t2;
        if (infino_open_table(&t2, db, "t2") != INFINO_OK ||
            infino_table_check(t2, &rep) != INFINO_OK)
            fail_msg("%s: t2 does not open whole: %s", what, err_last());
        assert_int_equal(rep.n_rows, 0);
        infino_table_close(t2);
    }
    if (t_exists) {
        if (infino_open_table(&t, db, "t") != INFINO_OK)
            fail_msg("%s: t does not open: %s", what, err_last());
        if (infino_table_check(t, &rep) != INFINO_OK)
            fail_msg("%s: check fails after '%s': %s", what,
                     infino_status_str(st), err_last());
        assert_ok(tf_keys(t, NULL, &got, &n_got));
        is_before = tf_keys_equal(got, n_got, base_keys, N_BASE);
        is_after = t_after && tf_keys_equal(got, n_got, want, n_want);
        mem_free(got);
        if (!is_before && !is_after)
            fail_msg("%s: %zu rows, neither the state before nor after "
                     "(call returned %d)",
                     what, n_got, (int)st);
        if (st == INFINO_OK && !is_after)
            fail_msg("%s: the call succeeded but the table holds the state "
                     "before it",
                     what);
        if (one_fault && st != INFINO_OK && is_after && !is_before &&
            (op == OP_APPEND || op == OP_DELETE || op == OP_UPDATE))
            fail_msg("%s: the commit landed but the call reported %s",
                     what, infino_status_str(st));
        if (rep.n_rows != n_got)
            fail_msg("%s: check counts %llu rows, scan %zu", what,
                     (unsigned long long)rep.n_rows, n_got);
        if (op == OP_EVOLVE) {
            struct ArrowSchema sch;
            uint64_t id = 0;
            if (infino_table_schema_id(t, &id) != INFINO_OK ||
                infino_table_schema(t, &sch) != INFINO_OK)
                fail_msg("%s: no schema: %s", what, err_last());
            if ((id != 1 && id != 2) || sch.n_children != (id == 2 ? 4 : 3))
                fail_msg("%s: schema %llu with %lld columns", what,
                         (unsigned long long)id, (long long)sch.n_children);
            sch.release(&sch);
            if (st == INFINO_OK && id != 2)
                fail_msg("%s: add_columns succeeded, schema %llu", what,
                         (unsigned long long)id);
            if (one_fault && st != INFINO_OK && id == 2)
                fail_msg("%s: the schema changed but the call reported %s",
                         what, infino_status_str(st));
        }
        infino_table_close(t);
    }
    db->store = NULL; /* the store belongs to w->db */
    infino_db_close(db);

    /* The handle that saw the failure keeps working. */
    if (t_exists) {
        infino_status st2 = tf_append(w->t, 500, 1);
        if (st2 != INFINO_OK)
            fail_msg("%s: the handle fails after the error: %s", what,
                     err_last());
        assert_ok(tf_keys(w->t, "k = 500", &got, &n_got));
        assert_int_equal(n_got, 1);
        mem_free(got);
    } else if (tf_append(w->t, 500, 1) == INFINO_OK) {
        fail_msg("%s: append to a dropped table succeeded", what);
    }
}

struct kind {
    unsigned ops;
    bool short_write, sticky;
    int err;
    const char *name;
};

static const struct kind kinds[] = {
    {FAULT_GET, false, false, EIO, "get"},
    {FAULT_PUT_OPEN, false, false, ENOSPC, "put"},
    {FAULT_WRITE, true, false, ENOSPC, "short write"},
    {FAULT_PUBLISH_BEFORE, false, false, EIO, "publish-before"},
    {FAULT_PUBLISH_AFTER, false, false, EIO, "publish-after"},
    {FAULT_STAT, false, false, EIO, "stat"},
    {FAULT_EXISTS, false, false, EIO, "exists"},
    {FAULT_LIST, false, false, EIO, "list"},
    {FAULT_DELETE, false, false, EIO, "delete"},
    {FAULT_ALL, false, true, ENOSPC, "everything from N on"},
};

/* Walks the failure points of `op` for the fault kinds in `mask` (bits of
 * the kinds[] index). Returns the number of points tried. */
static long walk(enum op op, bool local, unsigned mask)
{
    long tried = 0, k = stride();

    for (size_t ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
        if (!(mask & (1u << ki)))
            continue;
        for (long nth = 1;; nth += k) {
            struct world w;
            struct objstore_fault_plan p = {0};
            char what[160];
            infino_status st;
            bool fired;

            struct op_input in;

            world_open(&w, local);
            prep_op(op, &in);
            p.ops = kinds[ki].ops;
            p.nth = nth;
            p.err = kinds[ki].err;
            p.short_write = kinds[ki].short_write;
            p.sticky = kinds[ki].sticky;
            objstore_fault_arm(w.fault, &p);
            st = run_op(&w, op, &in);
            fired = objstore_fault_fired(w.fault);
            objstore_fault_disarm(w.fault);
            free_input(&in);
            snprintf(what, sizeof what, "%s, %s store, %s fault #%ld",
                     op_names[op], local ? "local" : "memory",
                     kinds[ki].name, nth);
            verify(&w, op, st, what, !kinds[ki].sticky);
            world_close(&w);
            tried++;
            if (!fired)
                break;
        }
    }
    return tried;
}

static long walk_alloc(enum op op)
{
    long tried = 0, k = stride();

    for (long nth = 1;; nth += k) {
        struct world w;
        char what[160];
        infino_status st;
        long failed;

        struct op_input in;

        world_open(&w, false);
        prep_op(op, &in);
        mem_fail_after(nth);
        st = run_op(&w, op, &in);
        failed = mem_fail_count();
        mem_fail_reset();
        free_input(&in);
        snprintf(what, sizeof what, "%s, allocation #%ld fails",
                 op_names[op], nth);
        /* every allocation from the nth on fails: sticky */
        verify(&w, op, st, what, false);
        world_close(&w);
        tried++;
        if (failed == 0)
            break;
    }
    return tried;
}

static void walk_all(enum op op)
{
    long points = walk(op, false, ~0u);
    /* the local folder: the publish faults and short writes */
    points += walk(op, true, (1u << 2) | (1u << 3) | (1u << 4));
    points += walk_alloc(op);
    fprintf(stderr, "# %s: %ld failure points, each left the state "
                    "before or after\n",
            op_names[op], points);
}

static void test_api_commit_walk__create_table(void **state)
{
    (void)state;
    walk_all(OP_CREATE);
}

static void test_api_commit_walk__append(void **state)
{
    (void)state;
    walk_all(OP_APPEND);
}

static void test_api_commit_walk__delete(void **state)
{
    (void)state;
    walk_all(OP_DELETE);
}

static void test_api_commit_walk__update(void **state)
{
    (void)state;
    walk_all(OP_UPDATE);
}

static void test_api_commit_walk__optimize(void **state)
{
    (void)state;
    walk_all(OP_OPTIMIZE);
}

static void test_api_commit_walk__reindex(void **state)
{
    (void)state;
    walk_all(OP_REINDEX);
}

static void test_api_commit_walk__gc(void **state)
{
    (void)state;
    walk_all(OP_GC);
}

static void test_api_commit_walk__drop(void **state)
{
    (void)state;
    walk_all(OP_DROP);
}

static void test_api_commit_walk__add_columns(void **state)
{
    (void)state;
    walk_all(OP_EVOLVE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_commit_walk__create_table),
        cmocka_unit_test(test_api_commit_walk__append),
        cmocka_unit_test(test_api_commit_walk__delete),
        cmocka_unit_test(test_api_commit_walk__update),
        cmocka_unit_test(test_api_commit_walk__optimize),
        cmocka_unit_test(test_api_commit_walk__reindex),
        cmocka_unit_test(test_api_commit_walk__gc),
        cmocka_unit_test(test_api_commit_walk__drop),
        cmocka_unit_test(test_api_commit_walk__add_columns),
    };
    if (getenv("INFINO_TEST_FILTER"))
        cmocka_set_test_filter(getenv("INFINO_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
