/*
 * api_memgc_test.c - memory:// frees merged-away superfiles (gc after
 * compaction, tbl_gc_merged) without taking bytes from a reader: a scan
 * opened before many compactions reads on to its end, threads read while
 * another appends, and afterwards the store holds only what the newest
 * snapshot names. Superfiles are opened one at a time
 * (INFINO_MAX_OPEN_SUPERFILES=1), so every read after a merge re-opens a
 * file whose object gc may have deleted.
 */
#include "harness.h"
#include "table_fixture.h"

#include "api/api_int.h"
#include "table/table.h"

#include <pthread.h>
#include <stdatomic.h>

#define FANOUT 4

static infino_status connect_store(infino_db **out, struct objstore *s)
{
    infino_connect_opts o = INFINO_CONNECT_OPTS_INIT;

    o.auto_compact_fanout = FANOUT;
    return api_connect_store(out, s, &o);
}

/* A second database on the same store (the first one closes it). */
static void close_borrowed(infino_db *db)
{
    db->store = NULL;
    infino_db_close(db);
}

struct census {
    uint64_t superfiles, objects;
};

static infino_status census_cb(const struct objstore_entry *e, void *payload)
{
    struct census *c = payload;

    c->objects++;
    if (strstr(e->key, "/superfiles/") != NULL)
        c->superfiles++;
    return INFINO_OK;
}

static struct census take_census(struct objstore *s)
{
    struct census c = {0, 0};

    assert_ok(objstore_list(s, "", census_cb, &c));
    return c;
}

static uint64_t n_superfiles(infino_table *t)
{
    infino_check_report rep;

    assert_ok(infino_table_check(t, &rep));
    return rep.n_superfiles;
}

static void want_keys(infino_table *t, int64_t n, const char *what)
{
    int64_t *got;
    size_t n_got;

    assert_ok(tf_keys(t, NULL, &got, &n_got));
    if (n_got != (size_t)n)
        fail_msg("%s: %zu rows, want %lld", what, n_got, (long long)n);
    for (int64_t i = 0; i < n; i++)
        if (got[i] != i)
            fail_msg("%s: row %lld is k=%lld", what, (long long)i,
                     (long long)got[i]);
    mem_free(got);
}

static int setup(void **state)
{
    (void)state;
    setenv("INFINO_MAX_OPEN_SUPERFILES", "1", 1);
    return 0;
}

/* Appends leave about F superfiles per tier in the store, not one per
 * append; gc works on memory:// and finds nothing more to free. */
static void test_api_memgc__reclaims(void **state)
{
    struct objstore *s;
    infino_db *db;
    infino_table *t;
    infino_gc_report gr;
    struct tbl_compact_stats cs;
    struct census c;
    const int n = 300;

    (void)state;
    assert_ok(objstore_open(&s, "memory://"));
    assert_ok(connect_store(&db, s));
    assert_ok(tf_create(&t, db, "t"));
    for (int i = 0; i < n; i++)
        assert_ok(tf_append(t, i, 1));
    tbl_compact_stats(t->t, &cs);
    assert_true(cs.merges > 20);
    assert_int_equal(cs.failures, 0);
    c = take_census(s);
    fprintf(stderr, "# %d appends, %llu merges: %llu objects, %llu superfiles"
                    " (%llu in the snapshot)\n",
            n, (unsigned long long)cs.merges, (unsigned long long)c.objects,
            (unsigned long long)c.superfiles,
            (unsigned long long)n_superfiles(t));
    assert_int_equal(c.superfiles, n_superfiles(t));
    /* snapshots: at most the versions back to a checkpoint, and the
     * catalog, leases and floor records */
    assert_true(c.objects < 2 * 64 + 32);
    assert_ok(infino_table_gc(t, 0, &gr));
    assert_int_equal(gr.delete_errors, 0);
    assert_int_equal(take_census(s).superfiles, n_superfiles(t));
    want_keys(t, n, "after gc");
    /* optimize merges the rest into one and frees what it merged */
    assert_ok(infino_table_optimize(t, NULL));
    assert_int_equal(n_superfiles(t), 1);
    assert_int_equal(take_census(s).superfiles, 1);
    want_keys(t, n, "after optimize");
    infino_table_close(t);
    infino_db_close(db);
}

/* A scan taken before many compactions reads what it saw, to its end,
 * while its superfiles are merged away and collected; a second handle
 * that last read then sees every row. Once the scan is gone, the store
 * holds the newest snapshot's superfiles only. */
static void test_api_memgc__old_scan(void **state)
{
    const char *cols[] = {"k"};
    struct objstore *s;
    infino_db *db, *db2;
    infino_table *t, *t2;
    struct ArrowArrayStream scan;
    struct ArrowArray a;
    int64_t first = 15, total = 400, seen = 0;
    bool *hit = mem_calloc((size_t)first, sizeof *hit);
    uint64_t sf_before;

    (void)state;
    assert_non_null(hit);
    assert_ok(objstore_open(&s, "memory://"));
    assert_ok(connect_store(&db, s));
    assert_ok(connect_store(&db2, s));
    assert_ok(tf_create(&t, db, "t"));
    assert_ok(infino_open_table(&t2, db2, "t"));
    for (int64_t i = 0; i < first; i++)
        assert_ok(tf_append(t, i, 1));
    want_keys(t2, first, "second handle before");
    sf_before = n_superfiles(t);
    assert_true(sf_before > 2);
    assert_ok(infino_table_scan(t, cols, 1, NULL, &scan));
    for (int64_t i = first; i <= total; i++) {
        if (i < total)
            assert_ok(tf_append(t, i, 1));
        if (i % 40 != 0 && i < total)
            continue;
        /* one batch now and then, the rest at the end */
        for (;;) {
            if (scan.get_next(&scan, &a) != 0)
                fail_msg("scan after %lld appends: %s", (long long)i,
                         scan.get_last_error(&scan));
            if (a.release == NULL)
                break;
            const struct ArrowArray *c = a.children[0];
            const int64_t *v = (const int64_t *)c->buffers[1] + c->offset;
            for (int64_t j = 0; j < c->length; j++) {
                if (v[j] < 0 || v[j] >= first || hit[v[j]])
                    fail_msg("scan: k=%lld unexpected", (long long)v[j]);
                hit[v[j]] = true;
                seen++;
            }
            a.release(&a);
            if (i < total)
                break;
        }
    }
    scan.release(&scan);
    assert_int_equal(seen, first);
    want_keys(t2, total, "second handle after");
    want_keys(t, total, "first handle after");
    assert_int_equal(take_census(s).superfiles, n_superfiles(t));
    infino_table_close(t2);
    close_borrowed(db2);
    infino_table_close(t);
    infino_db_close(db);
    mem_free(hit);
}

/* ---- threads ---------------------------------------------------------- */

#define N_APPENDS 300
#define N_READERS 2

struct shared {
    struct objstore *s;
    atomic_llong appended; /* rows 0 .. appended-1 are committed */
    atomic_bool done;
};

struct reader {
    struct shared *sh;
    int id;
    const char *failed;
    char msg[256];
    long reads;
};

static void *writer_main(void *arg)
{
    struct reader *w = arg;
    infino_db *db;
    infino_table *t;

    if (connect_store(&db, w->sh->s) != INFINO_OK ||
        infino_open_table(&t, db, "t") != INFINO_OK) {
        w->failed = "writer: open";
        atomic_store(&w->sh->done, true);
        return NULL;
    }
    for (int64_t i = 1; i < N_APPENDS && !w->failed; i++) {
        if (tf_append(t, i, 1) != INFINO_OK) {
            snprintf(w->msg, sizeof w->msg, "append %lld: %s", (long long)i,
                     err_last());
            w->failed = w->msg;
        }
        atomic_store(&w->sh->appended, i + 1);
    }
    atomic_store(&w->sh->done, true);
    infino_table_close(t);
    close_borrowed(db);
    return NULL;
}

/* Reads all rows, again and again: each read finds rows 0 .. m-1, m no
 * less than what was committed before it started; reader 0 also keeps
 * one scan open across many of its reads. */
static void *reader_main(void *arg)
{
    const char *cols[] = {"k"};
    struct reader *r = arg;
    infino_db *db;
    infino_table *t;
    struct ArrowArrayStream slow = {0};
    int64_t slow_seen = 0, slow_want = 0;

    if (connect_store(&db, r->sh->s) != INFINO_OK ||
        infino_open_table(&t, db, "t") != INFINO_OK) {
        r->failed = "reader: open";
        return NULL;
    }
    while (!r->failed) {
        bool last = atomic_load(&r->sh->done);
        int64_t before = atomic_load(&r->sh->appended), *got;
        size_t n;

        if (r->id == 0 && slow.release == NULL && !last) {
            slow_want = before; /* at least: the scan may see more */
            slow_seen = 0;
            if (infino_table_scan(t, cols, 1, NULL, &slow) != INFINO_OK) {
                snprintf(r->msg, sizeof r->msg, "scan: %s", err_last());
                r->failed = r->msg;
                break;
            }
        }
        if (slow.release) { /* one batch per round */
            struct ArrowArray a;
            if (slow.get_next(&slow, &a) != 0) {
                snprintf(r->msg, sizeof r->msg, "slow scan: %s",
                         slow.get_last_error(&slow));
                r->failed = r->msg;
                break;
            }
            if (a.release == NULL) {
                if (slow_seen < slow_want) {
                    snprintf(r->msg, sizeof r->msg,
                             "slow scan: %lld rows, want %lld or more",
                             (long long)slow_seen, (long long)slow_want);
                    r->failed = r->msg;
                }
                slow.release(&slow);
                memset(&slow, 0, sizeof slow);
            } else {
                slow_seen += a.length;
                a.release(&a);
            }
        }
        if (tf_keys(t, NULL, &got, &n) != INFINO_OK) {
            snprintf(r->msg, sizeof r->msg, "read: %s", err_last());
            r->failed = r->msg;
            break;
        }
        if (n < (size_t)before)
            r->failed = "a read missed committed rows";
        for (size_t i = 0; i < n && !r->failed; i++)
            if (got[i] != (int64_t)i)
                r->failed = "a read found other rows";
        mem_free(got);
        r->reads++;
        if (last && slow.release == NULL)
            break;
    }
    if (slow.release)
        slow.release(&slow);
    infino_table_close(t);
    close_borrowed(db);
    return NULL;
}

static void test_api_memgc__threads(void **state)
{
    struct objstore *s;
    infino_db *db;
    infino_table *t;
    struct shared sh;
    struct reader r[N_READERS + 1];
    pthread_t th[N_READERS + 1];

    (void)state;
    assert_ok(objstore_open(&s, "memory://"));
    assert_ok(connect_store(&db, s));
    assert_ok(tf_create(&t, db, "t"));
    assert_ok(tf_append(t, 0, 1));
    sh.s = s;
    atomic_init(&sh.appended, 1);
    atomic_init(&sh.done, false);
    for (int i = 0; i <= N_READERS; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].sh = &sh;
        r[i].id = i;
        assert_int_equal(pthread_create(&th[i], NULL,
                                        i == N_READERS ? writer_main
                                                       : reader_main,
                                        &r[i]),
                         0);
    }
    for (int i = 0; i <= N_READERS; i++)
        pthread_join(th[i], NULL);
    for (int i = 0; i <= N_READERS; i++)
        if (r[i].failed)
            fail_msg("thread %d: %s", i, r[i].failed);
    fprintf(stderr, "# reads: %ld, %ld\n", r[0].reads, r[1].reads);
    want_keys(t, N_APPENDS, "at the end");
    /* the writer's last merge collected: only readers' leases may have
     * kept more, and they are gone with the readers' handles */
    assert_ok(tf_append(t, N_APPENDS, 1));
    {
        infino_gc_report gr;
        assert_ok(infino_table_gc(t, 0, &gr));
    }
    assert_int_equal(take_census(s).superfiles, n_superfiles(t));
    infino_table_close(t);
    infino_db_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_memgc__reclaims),
        cmocka_unit_test(test_api_memgc__old_scan),
        cmocka_unit_test(test_api_memgc__threads),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
