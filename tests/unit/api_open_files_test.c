/*
 * api_open_files_test.c - a handle maps a bounded number of superfiles.
 *
 * With INFINO_MAX_OPEN_SUPERFILES=8, a table of 120 superfiles is
 * searched (bm25, token match, count, vector, hybrid), scanned, filtered,
 * deleted from, updated and optimized through several handles; after each
 * call the handle holds at most 8 open superfiles, the process's memory
 * maps stay within a small bound above what it had before, and every
 * answer is the one the keys predict.
 */
#include "harness.h"
#include "table_fixture.h"

#include "api/api_int.h"
#include "table/table.h"

#define MAX_OPEN 8
#define N_SF 120

static long count_maps(void)
{
    FILE *f = fopen("/proc/self/maps", "r");
    long n = 0;
    int c;

    if (f == NULL)
        return -1;
    while ((c = fgetc(f)) != EOF)
        n += c == '\n';
    fclose(f);
    return n;
}

static size_t open_of(infino_table *t)
{
    return tbl_open_superfiles(t->t);
}

static size_t stream_rows(struct ArrowArrayStream *s)
{
    struct ArrowArray a;
    size_t n = 0;

    for (;;) {
        assert_int_equal(s->get_next(s, &a), 0);
        if (a.release == NULL)
            break;
        n += (size_t)a.length;
        a.release(&a);
    }
    s->release(s);
    return n;
}

static void test_api_open_files__bounded(void **state)
{
    char dir[512];
    infino_db *db;
    infino_table *t, *t2;
    struct ArrowArrayStream s;
    infino_search_opts o = INFINO_SEARCH_OPTS_INIT;
    infino_mutation_stats ms;
    uint64_t n;
    int64_t *keys;
    size_t n_keys;
    long maps_before, maps;
    float q[TF_DIM];
    const char *proj[] = {"_id", "k", "body", "score"};

    (void)state;
    setenv("INFINO_MAX_OPEN_SUPERFILES", "8", 1);
    test_tmpdir(dir, sizeof dir, "openfiles");
    assert_ok(infino_connect(&db, dir, NULL));
    assert_ok(tf_create(&t, db, "t"));
    for (int i = 0; i < N_SF; i++)
        assert_ok(tf_append(t, i * 2, 2));
    assert_true(open_of(t) <= MAX_OPEN);
    assert_ok(infino_open_table(&t2, db, "t"));
    maps_before = count_maps();

    /* searches over every superfile */
    o.projection = proj;
    o.n_projection = 4;
    assert_ok(infino_table_bm25_search(t2, "body", "common", 6, 500, &o,
                                       &s));
    assert_int_equal(stream_rows(&s), 2 * N_SF);
    assert_true(open_of(t2) <= MAX_OPEN);
    assert_ok(infino_table_token_match(t2, "body", "w3", 2, NULL, &s));
    n = stream_rows(&s);
    {
        uint64_t want = 0;
        for (int k = 0; k < 2 * N_SF; k++)
            want += k % 7 == 3;
        assert_int_equal(n, want);
    }
    assert_ok(infino_table_count(t2, "body", "common", 6, NULL, &n));
    assert_int_equal(n, 2 * N_SF);
    assert_ok(infino_table_exact_match(t2, "body", "row17 w3 common", 15,
                                       NULL, &s));
    assert_int_equal(stream_rows(&s), 1);
    tf_vec(q, 100);
    o.nprobe = 2;
    assert_ok(infino_table_vector_search(t2, "vec", q, TF_DIM, 5, &o, &s));
    assert_int_equal(stream_rows(&s), 5);
    assert_ok(infino_table_hybrid_search(t2, "body", "row100", 6, "vec", q,
                                         TF_DIM, 5, &o, &s));
    assert_int_equal(stream_rows(&s), 5);
    assert_true(open_of(t2) <= MAX_OPEN);

    /* scans, predicates, mutations, optimize */
    assert_ok(tf_keys(t2, NULL, &keys, &n_keys));
    assert_int_equal(n_keys, 2 * N_SF);
    mem_free(keys);
    assert_ok(tf_keys(t2, "k % 10 = 3", &keys, &n_keys));
    assert_int_equal(n_keys, 2 * N_SF / 10);
    mem_free(keys);
    assert_ok(infino_table_delete(t2, "k % 4 = 1", &ms));
    assert_int_equal(ms.n_tombstoned, 2 * N_SF / 4);
    assert_true(open_of(t2) <= MAX_OPEN);
    {
        int64_t k = 1000;
        tf_stream(&s, &k, 1);
        assert_ok(infino_table_update(t2, "k = 2", &s, &ms));
        assert_int_equal(ms.n_tombstoned, 1);
    }
    maps = count_maps();

    if (maps > maps_before + N_SF / 2) /* unbounded: +2 per superfile */
        fail_msg("%ld maps after searching %d superfiles (%ld before)", maps,
                 N_SF, maps_before);
    assert_ok(infino_table_optimize(t2, NULL));
    assert_true(open_of(t2) <= MAX_OPEN);
    assert_ok(infino_table_count_rows(t, &n));
    assert_int_equal(n, 2 * N_SF - 2 * N_SF / 4);
    {
        infino_check_report rep;
        assert_ok(infino_table_check(t, &rep));
        assert_int_equal(rep.n_rows, n);
    }
    infino_table_close(t);
    infino_table_close(t2);
    infino_db_close(db);
    unsetenv("INFINO_MAX_OPEN_SUPERFILES");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_open_files__bounded),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
