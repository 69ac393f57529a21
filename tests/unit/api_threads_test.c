/*
 * api_threads_test.c - one process, many threads, one table, through the
 * public API: writers append through their own handles and through one
 * shared handle, readers search (bm25, vector, hybrid, scan with and
 * without a predicate, count_rows, count, query_sql) at the same time,
 * and a maintenance thread runs gc(0) and optimize now and then.
 * Afterwards every acknowledged append is present exactly once, no
 * refused one is, every _id is unique and the table's check passes.
 * Meant for ThreadSanitizer (make test-tsan) as much as for the plain
 * build. Calls that find a superfile of their snapshot collected by the
 * gc(0) are counted, not failed: with no grace, gc keeps only the newest
 * snapshot's files, which is its contract (infino.h).
 *
 * INFINO_THREADS_APPENDS sets the appends each writer makes (default 32,
 * at most 64).
 */
#include "harness.h"
#include "table_fixture.h"

#include <pthread.h>
#include <stdatomic.h>

#define N_OWN_WRITERS 2
#define N_SHARED_WRITERS 2
#define N_WRITERS (N_OWN_WRITERS + N_SHARED_WRITERS)
#define N_READERS 2
#define BATCH 16
#define MAX_APPENDS 64
#define KEY_SPAN 100000

struct shared {
    char dir[512];
    infino_db *db;
    infino_table *shared_t; /* used by the shared writers and reader 1 */
    atomic_int writers_left;
    atomic_bool stop; /* readers and maintenance stop when set */
    int appends_each;
};

/* What one writer did: the first key of each acknowledged and each
 * refused append (BATCH keys each). */
struct writer {
    struct shared *sh;
    int id;
    int64_t acked[MAX_APPENDS], refused[MAX_APPENDS];
    int n_acked, n_refused;
    char err[256];
};

struct reader {
    struct shared *sh;
    int id;
    long calls, errors;
    long gone; /* calls that found a file of their snapshot collected */
    char err[256], gone_err[256];
};

struct maint {
    struct shared *sh;
    long gcs, optimizes, errors;
    char err[256];
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    infino_table *t = w->sh->shared_t, *own = NULL;

    if (w->id < N_OWN_WRITERS) {
        if (infino_open_table(&own, w->sh->db, "t") != INFINO_OK) {
            snprintf(w->err, sizeof w->err, "open: %s", infino_last_error());
            atomic_fetch_sub(&w->sh->writers_left, 1);
            return NULL;
        }
        t = own;
    }
    for (int i = 0; i < w->sh->appends_each; i++) {
        int64_t first = (int64_t)w->id * KEY_SPAN + (int64_t)i * BATCH;
        infino_status st = tf_append(t, first, BATCH);
        if (st == INFINO_OK) {
            w->acked[w->n_acked++] = first;
        } else {
            w->refused[w->n_refused++] = first;
            snprintf(w->err, sizeof w->err, "append %d: %s", i,
                     infino_last_error());
        }
    }
    infino_table_close(own);
    atomic_fetch_sub(&w->sh->writers_left, 1);
    return NULL;
}

/* Drains a result stream; returns its row count, or -1 with the
 * stream's message in err (cap 256). */
static int64_t drain(struct ArrowArrayStream *s, char *err)
{
    struct ArrowArray a;
    int64_t rows = 0;

    for (;;) {
        if (s->get_next(s, &a) != 0) {
            const char *m = s->get_last_error(s);
            snprintf(err, 256, "%s", m ? m : "?");
            s->release(s);
            return -1;
        }
        if (a.release == NULL)
            break;
        rows += a.length;
        a.release(&a);
    }
    s->release(s);
    return rows;
}

/* gc(0) keeps only the newest snapshot's files (infino.h: no grace), so a
 * call whose snapshot was superseded while it ran may find one of them
 * gone: NOTFOUND naming the file, a stream failing with that message, or
 * (query_sql, which reports every failure as INFINO_ERR_INVALID) the same
 * message. That is the contract of gc(0), not a failure; anything else
 * is. */
static bool is_gone(infino_status st, const char *msg)
{
    return (st == INFINO_ERR_NOTFOUND || st == INFINO_ERR_IO ||
            st == INFINO_ERR_INVALID) &&
           strstr(msg, ".sf.parquet") != NULL &&
           (strstr(msg, "no such file") || strstr(msg, "not found"));
}

static void reader_fail(struct reader *r, const char *what, infino_status st,
                        const char *msg)
{
    if (is_gone(st, msg)) {
        r->gone++;
        snprintf(r->gone_err, sizeof r->gone_err, "%s: %s", what, msg);
        return;
    }
    r->errors++;
    snprintf(r->err, sizeof r->err, "%s: %d %s", what, (int)st, msg);
}

static void *reader_main(void *arg)
{
    static const char *const cols[] = {"k"};
    struct reader *r = arg;
    infino_table *t = r->sh->shared_t, *own = NULL;
    uint64_t last_count = 0;

    if (r->id == 0) {
        if (infino_open_table(&own, r->sh->db, "t") != INFINO_OK) {
            reader_fail(r, "open", INFINO_ERR_IO, infino_last_error());
            return NULL;
        }
        t = own;
    }
    while (!atomic_load(&r->sh->stop)) {
        struct ArrowArrayStream s;
        infino_search_opts o = INFINO_SEARCH_OPTS_INIT;
        float q[TF_DIM];
        uint64_t n;
        int64_t rows;
        infino_status st;
        int op = (int)(r->calls % 8);
        char msg[256] = "";

        r->calls++;
        switch (op) {
        case 0:
            st = infino_table_bm25_search(t, "body", "common w3", 9, 10,
                                          NULL, &s);
            if (st == INFINO_OK && (rows = drain(&s, msg)) < 0)
                st = INFINO_ERR_IO;
            else if (st == INFINO_OK && rows > 10)
                st = INFINO_ERR_CORRUPT;
            break;
        case 1:
            tf_vec(q, 5 + r->calls % 50);
            o.nprobe = 4;
            st = infino_table_vector_search(t, "vec", q, TF_DIM, 5, &o, &s);
            if (st == INFINO_OK && drain(&s, msg) < 0)
                st = INFINO_ERR_IO;
            break;
        case 2:
            st = infino_table_scan(t, cols, 1, NULL, &s);
            if (st == INFINO_OK) {
                rows = drain(&s, msg);
                /* a scan sees one snapshot; appends only add rows */
                if (rows < 0)
                    st = INFINO_ERR_IO;
                else if ((uint64_t)rows < last_count)
                    st = INFINO_ERR_CORRUPT;
                else
                    last_count = (uint64_t)rows;
            }
            break;
        case 3:
            st = infino_table_scan(t, cols, 1, "k % 2 = 0", &s);
            if (st == INFINO_OK && drain(&s, msg) < 0)
                st = INFINO_ERR_IO;
            break;
        case 4:
            st = infino_table_count_rows(t, &n);
            if (st == INFINO_OK && n < last_count)
                st = INFINO_ERR_CORRUPT;
            else if (st == INFINO_OK)
                last_count = n;
            break;
        case 5:
            st = infino_table_count(t, "body", "common", 6, NULL, &n);
            if (st == INFINO_OK && n < last_count)
                st = INFINO_ERR_CORRUPT;
            break;
        case 6:
            tf_vec(q, 7);
            st = infino_table_hybrid_search(t, "body", "w0 row7", 7, "vec",
                                            q, TF_DIM, 5, NULL, &s);
            if (st == INFINO_OK && drain(&s, msg) < 0)
                st = INFINO_ERR_IO;
            break;
        default:
            st = infino_query_sql(r->sh->db,
                                  "SELECT count(*), sum(k) FROM t WHERE k % "
                                  "3 = 0",
                                  &s);
            if (st == INFINO_OK && drain(&s, msg) != 1)
                st = INFINO_ERR_IO;
            break;
        }
        if (st != INFINO_OK && msg[0] == '\0')
            snprintf(msg, sizeof msg, "%s", infino_last_error());
        if (st != INFINO_OK)
            reader_fail(r, (const char *const[]){"bm25", "vector", "scan",
                                                 "scan with predicate",
                                                 "count_rows", "count",
                                                 "hybrid", "query_sql"}[op],
                        st, msg);
    }
    infino_table_close(own);
    return NULL;
}

static void nap_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

static void *maint_main(void *arg)
{
    struct maint *m = arg;
    infino_table *t;
    infino_optimize_opts oo = INFINO_OPTIMIZE_OPTS_INIT;

    oo.min_fill_percent = 100;
    if (infino_open_table(&t, m->sh->db, "t") != INFINO_OK) {
        m->errors++;
        snprintf(m->err, sizeof m->err, "open: %s", infino_last_error());
        return NULL;
    }
    while (!atomic_load(&m->sh->stop)) {
        infino_gc_report gr;
        infino_status st;

        nap_ms(20);
        st = infino_table_gc(t, 0, &gr);
        m->gcs++;
        if (st == INFINO_OK) {
            nap_ms(20);
            st = infino_table_optimize(t, &oo);
            m->optimizes++;
        }
        if (st != INFINO_OK) {
            m->errors++;
            snprintf(m->err, sizeof m->err, "%s",
                     infino_last_error());
        }
    }
    infino_table_close(t);
    return NULL;
}

static int cmp_id(const void *a, const void *b)
{
    return memcmp(a, b, 16);
}

/* Every _id of the table, sorted, checked unique. */
static void assert_ids_unique(infino_table *t, size_t want)
{
    static const char *const cols[] = {"_id"};
    struct ArrowArrayStream s;
    struct ArrowArray a;
    uint8_t (*ids)[16] = mem_alloc((want + 1) * 16);
    size_t n = 0;

    assert_ok(infino_table_scan(t, cols, 1, NULL, &s));
    for (;;) {
        assert_int_equal(s.get_next(&s, &a), 0);
        if (a.release == NULL)
            break;
        assert_true(n + (size_t)a.length <= want);
        memcpy(ids[n],
               (const uint8_t *)a.children[0]->buffers[1] +
                   (a.children[0]->offset + a.offset) * 16,
               (size_t)a.length * 16);
        n += (size_t)a.length;
        a.release(&a);
    }
    s.release(&s);
    assert_int_equal(n, want);
    qsort(ids, n, 16, cmp_id);
    for (size_t i = 1; i < n; i++)
        if (memcmp(ids[i - 1], ids[i], 16) == 0)
            fail_msg("an _id appears twice");
    mem_free(ids);
}

static void test_api_threads__appends_searches_gc_optimize(void **state)
{
    static struct writer w[N_WRITERS];
    static struct reader r[N_READERS];
    static struct maint m;
    static int64_t want[N_WRITERS * MAX_APPENDS * BATCH];
    pthread_t tw[N_WRITERS], tr[N_READERS], tm;
    struct shared sh;
    infino_table *t;
    infino_check_report cr;
    int64_t *got;
    size_t n_want = 0, n_got;
    const char *env = getenv("INFINO_THREADS_APPENDS");
    (void)state;

    memset(&sh, 0, sizeof sh);
    sh.appends_each = env ? atoi(env) : 32;
    if (sh.appends_each < 1 || sh.appends_each > MAX_APPENDS)
        sh.appends_each = 32;
    test_tmpdir(sh.dir, sizeof sh.dir, "threads");
    assert_ok(infino_connect(&sh.db, sh.dir, NULL));
    assert_ok(tf_create(&t, sh.db, "t"));
    assert_ok(tf_append(t, 9 * KEY_SPAN, BATCH)); /* readers find rows */
    sh.shared_t = t;
    atomic_init(&sh.writers_left, N_WRITERS);
    atomic_init(&sh.stop, false);

    memset(&m, 0, sizeof m);
    m.sh = &sh;
    assert_int_equal(pthread_create(&tm, NULL, maint_main, &m), 0);
    for (int i = 0; i < N_READERS; i++) {
        memset(&r[i], 0, sizeof r[i]);
        r[i].sh = &sh;
        r[i].id = i;
        assert_int_equal(pthread_create(&tr[i], NULL, reader_main, &r[i]),
                         0);
    }
    for (int i = 0; i < N_WRITERS; i++) {
        memset(&w[i], 0, sizeof w[i]);
        w[i].sh = &sh;
        w[i].id = i;
        assert_int_equal(pthread_create(&tw[i], NULL, writer_main, &w[i]),
                         0);
    }
    for (int i = 0; i < N_WRITERS; i++)
        assert_int_equal(pthread_join(tw[i], NULL), 0);
    atomic_store(&sh.stop, true);
    for (int i = 0; i < N_READERS; i++)
        assert_int_equal(pthread_join(tr[i], NULL), 0);
    assert_int_equal(pthread_join(tm, NULL), 0);

    for (int i = 0; i < N_WRITERS; i++)
        fprintf(stderr,
                "# writer %d: %d appends acknowledged, %d refused%s%s\n", i,
                w[i].n_acked, w[i].n_refused, w[i].err[0] ? ": " : "",
                w[i].err);
    for (int i = 0; i < N_READERS; i++)
        fprintf(stderr,
                "# reader %d: %ld calls, %ld errors%s%s, %ld found a file "
                "collected%s%s\n",
                i, r[i].calls, r[i].errors, r[i].err[0] ? ": " : "",
                r[i].err, r[i].gone, r[i].gone ? ": " : "", r[i].gone_err);
    fprintf(stderr, "# maintenance: %ld gc, %ld optimize, %ld errors%s%s\n",
            m.gcs, m.optimizes, m.errors, m.err[0] ? ": " : "", m.err);

    /* the model: every acknowledged batch, once; no refused one */
    for (int64_t k = 0; k < BATCH; k++)
        want[n_want++] = 9 * KEY_SPAN + k;
    for (int i = 0; i < N_WRITERS; i++)
        for (int j = 0; j < w[i].n_acked; j++)
            for (int64_t k = 0; k < BATCH; k++)
                want[n_want++] = w[i].acked[j] + k;
    qsort(want, n_want, sizeof *want, tf_cmp_i64);
    assert_ok(tf_keys(t, NULL, &got, &n_got));
    if (!tf_keys_equal(got, n_got, want, n_want))
        fail_msg("the table holds %zu rows; %zu were acknowledged", n_got,
                 n_want);
    mem_free(got);
    /* a scan with a predicate keeps exactly the rows it says */
    assert_ok(tf_keys(t, "k % 2 = 1", &got, &n_got));
    {
        size_t j = 0;
        for (size_t i = 0; i < n_want; i++)
            if (want[i] % 2 == 1)
                want[j++] = want[i];
        if (!tf_keys_equal(got, n_got, want, j))
            fail_msg("scan with 'k %% 2 = 1': %zu rows, want %zu", n_got, j);
    }
    mem_free(got);
    assert_ids_unique(t, n_want);
    assert_ok(infino_table_check(t, &cr));
    assert_int_equal(cr.n_rows, n_want);

    /* nothing may fail here: no faults are injected */
    for (int i = 0; i < N_WRITERS; i++)
        if (w[i].n_refused || w[i].err[0])
            fail_msg("writer %d: %s", i, w[i].err);
    for (int i = 0; i < N_READERS; i++)
        if (r[i].errors)
            fail_msg("reader %d: %ld errors, last: %s", i, r[i].errors,
                     r[i].err);
    if (m.errors)
        fail_msg("maintenance: %ld errors, last: %s", m.errors, m.err);

    infino_table_close(t);
    infino_db_close(sh.db);
    if (getenv("INFINO_TEST_KEEP") == NULL) {
        char cmd[700];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", sh.dir);
        if (system(cmd) != 0)
            fail_msg("cannot remove %s", sh.dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_threads__appends_searches_gc_optimize),
    };
    test_seed();
    if (getenv("INFINO_TEST_FILTER"))
        cmocka_set_test_filter(getenv("INFINO_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
