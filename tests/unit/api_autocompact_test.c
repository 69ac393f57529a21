/*
 * api_autocompact_test.c - automatic compaction after appends
 * (tbl_auto_compact, infino_connect_opts.auto_compact_fanout).
 *
 * Against a model: a random walk of single-row and small appends, deletes
 * and updates through two database handles on one store, checking after
 * every step that the live rows are the model's (keys, bodies and _ids:
 * merges keep a row's _id), that the table checks whole, and that the
 * number of superfiles stays within F per tier. Threads appending through
 * their own handles at once lose and duplicate nothing. And every failure
 * point of an append whose compaction runs (each store operation, each
 * allocation): the append is acknowledged exactly when its rows are
 * there, the table checks whole, and a failed merge leaves the table as
 * the append left it.
 */
#include "harness.h"
#include "table_fixture.h"

#include "api/api_int.h"
#include "store/objstore_fault.h"
#include "table/table.h"

#include <errno.h>
#include <pthread.h>

#define FANOUT 4

static infino_status connect_store(infino_db **out, struct objstore *s,
                                   uint32_t fanout)
{
    infino_connect_opts o = INFINO_CONNECT_OPTS_INIT;

    o.auto_compact_fanout = fanout;
    return api_connect_store(out, s, &o);
}

static uint64_t n_superfiles(infino_table *t)
{
    infino_check_report rep;

    if (infino_table_check(t, &rep) != INFINO_OK)
        fail_msg("check: %s", err_last());
    return rep.n_superfiles;
}

/* floor(log_fanout(n)) + 1 tiers, fewer than `fanout` superfiles each
 * once compaction has run. */
static uint64_t bound(uint64_t rows, uint32_t fanout)
{
    uint64_t tiers = 1;

    for (; rows >= fanout; rows /= fanout)
        tiers++;
    return tiers * (fanout - 1);
}

/* ---- the model -------------------------------------------------------- */

struct row {
    int64_t k;
    uint8_t id[16]; /* _id, learned when first seen */
    bool id_known;
};

struct model {
    struct row *rows;
    size_t n, cap;
    int64_t next_key;
};

static void model_add(struct model *m, int64_t k)
{
    if (MEM_RESERVE(m->rows, m->cap, m->n + 1))
        fail_msg("out of memory");
    memset(&m->rows[m->n], 0, sizeof m->rows[m->n]);
    m->rows[m->n++].k = k;
}

static void model_remove(struct model *m, size_t i)
{
    m->rows[i] = m->rows[--m->n];
}

static struct row *model_find(struct model *m, int64_t k)
{
    for (size_t i = 0; i < m->n; i++)
        if (m->rows[i].k == k)
            return &m->rows[i];
    return NULL;
}

/* Every live row of t against the model: same keys, each once, bodies as
 * the fixture makes them, and each row's _id as first seen. */
static void verify_rows(infino_table *t, struct model *m, const char *what)
{
    const char *cols[] = {"_id", "k", "body"};
    struct ArrowArrayStream s;
    struct ArrowArray a;
    size_t seen = 0;
    bool *hit = mem_calloc(m->n + 1, sizeof *hit);

    assert_non_null(hit);
    if (infino_table_scan(t, cols, 3, NULL, &s) != INFINO_OK)
        fail_msg("%s: scan: %s", what, err_last());
    for (;;) {
        if (s.get_next(&s, &a) != 0)
            fail_msg("%s: scan: %s", what, s.get_last_error(&s));
        if (a.release == NULL)
            break;
        const struct ArrowArray *ic = a.children[0], *kc = a.children[1],
                                *bc = a.children[2];
        for (int64_t i = 0; i < a.length; i++) {
            const uint8_t *id =
                (const uint8_t *)ic->buffers[1] + (ic->offset + i) * 16;
            int64_t k = ((const int64_t *)kc->buffers[1])[kc->offset + i];
            const int32_t *off = (const int32_t *)bc->buffers[1] + bc->offset;
            const char *chars = (const char *)bc->buffers[2];
            char want[64];
            int wl = tf_body(want, sizeof want, k);
            struct row *r = model_find(m, k);

            if (r == NULL)
                fail_msg("%s: row k=%lld is not in the model", what,
                         (long long)k);
            if (hit[r - m->rows])
                fail_msg("%s: row k=%lld twice", what, (long long)k);
            hit[r - m->rows] = true;
            if (off[i + 1] - off[i] != wl ||
                memcmp(chars + off[i], want, (size_t)wl) != 0)
                fail_msg("%s: row k=%lld has another body", what,
                         (long long)k);
            if (!r->id_known) {
                memcpy(r->id, id, 16);
                r->id_known = true;
            } else if (memcmp(r->id, id, 16) != 0) {
                fail_msg("%s: row k=%lld changed its _id", what,
                         (long long)k);
            }
            seen++;
        }
        a.release(&a);
    }
    s.release(&s);
    if (seen != m->n)
        fail_msg("%s: %zu rows, the model has %zu", what, seen, m->n);
    mem_free(hit);
}

/* ---- a random walk through two handles --------------------------------- */

static void test_api_autocompact__model_walk(void **state)
{
    struct objstore *s;
    infino_db *db[2];
    infino_table *t[2];
    struct model m = {0};
    struct tbl_compact_stats cs[2];
    uint64_t rng = 0x5eed5eedULL, max_sf = 0;
    const int steps = 400;

    (void)state;
    assert_ok(objstore_open(&s, "memory://"));
    s->durable = true; /* delete and update need it */
    assert_ok(connect_store(&db[0], s, FANOUT));
    assert_ok(connect_store(&db[1], s, FANOUT));
    assert_ok(tf_create(&t[0], db[0], "t"));
    assert_ok(infino_open_table(&t[1], db[1], "t"));
    m.next_key = 0;
    for (int step = 0; step < steps; step++) {
        infino_table *h = t[(rng >> 7) & 1];
        unsigned what = (unsigned)((rng >> 17) % 100);
        char label[96];

        rng = rng * 6364136223846793005ULL + 1442695040888963407ULL;
        if (what < 65 || m.n == 0) { /* one row */
            assert_ok(tf_append(h, m.next_key, 1));
            model_add(&m, m.next_key++);
        } else if (what < 80) { /* a small batch */
            size_t n = 2 + (size_t)((rng >> 33) % 6);
            assert_ok(tf_append(h, m.next_key, n));
            for (size_t i = 0; i < n; i++)
                model_add(&m, m.next_key++);
        } else if (what < 90) { /* delete one live row */
            size_t i = (size_t)((rng >> 29) % m.n);
            char pred[64];
            infino_mutation_stats ms;
            snprintf(pred, sizeof pred, "k = %lld", (long long)m.rows[i].k);
            assert_ok(infino_table_delete(h, pred, &ms));
            assert_int_equal(ms.n_tombstoned, 1);
            model_remove(&m, i);
        } else { /* update one live row into a new key */
            size_t i = (size_t)((rng >> 29) % m.n);
            char pred[64];
            struct ArrowArrayStream rows;
            infino_mutation_stats ms;
            int64_t nk = m.next_key++;
            snprintf(pred, sizeof pred, "k = %lld", (long long)m.rows[i].k);
            tf_stream(&rows, &nk, 1);
            assert_ok(infino_table_update(h, pred, &rows, &ms));
            assert_int_equal(ms.n_tombstoned, 1);
            model_remove(&m, i);
            model_add(&m, nk);
        }
        snprintf(label, sizeof label, "step %d (%u)", step, what);
        verify_rows(t[step & 1], &m, label);
        if (step % 10 == 9 || step == steps - 1) {
            uint64_t n = n_superfiles(t[0]);
            uint64_t b = bound((uint64_t)m.next_key, FANOUT);
            if (n > b)
                fail_msg("%s: %llu superfiles for %lld rows ever appended "
                         "(bound %llu)",
                         label, (unsigned long long)n, (long long)m.next_key,
                         (unsigned long long)b);
            if (n > max_sf)
                max_sf = n;
        }
    }
    tbl_compact_stats(t[0]->t, &cs[0]);
    tbl_compact_stats(t[1]->t, &cs[1]);
    assert_true(cs[0].merges > 10 && cs[1].merges > 10);
    assert_int_equal(cs[0].failures + cs[1].failures, 0);
    fprintf(stderr,
            "# %d steps, %lld keys, %zu live rows: at most %llu "
            "superfiles; merges %llu + %llu\n",
            steps, (long long)m.next_key, m.n, (unsigned long long)max_sf,
            (unsigned long long)cs[0].merges,
            (unsigned long long)cs[1].merges);
    infino_table_close(t[0]);
    infino_table_close(t[1]);
    db[1]->store = NULL; /* the store belongs to db[0] */
    infino_db_close(db[1]);
    infino_db_close(db[0]);
    mem_free(m.rows);
}

/* Off: one superfile per append, as before. */
static void test_api_autocompact__off(void **state)
{
    struct objstore *s;
    infino_db *db;
    infino_table *t;
    struct tbl_compact_stats cs;

    (void)state;
    assert_ok(objstore_open(&s, "memory://"));
    assert_ok(connect_store(&db, s, INFINO_AUTO_COMPACT_OFF));
    assert_ok(tf_create(&t, db, "t"));
    for (int i = 0; i < 20; i++)
        assert_ok(tf_append(t, i, 1));
    assert_int_equal(n_superfiles(t), 20);
    tbl_compact_stats(t->t, &cs);
    assert_int_equal(cs.merges, 0);
    infino_table_close(t);
    infino_db_close(db);
}

/* The default (a zero-initialised option, and old callers' version 4
 * struct): on, with fanout INFINO_AUTO_COMPACT_DEFAULT. */
static void test_api_autocompact__default_on(void **state)
{
    struct objstore *s;
    infino_db *db;
    infino_table *t;
    infino_connect_opts o = INFINO_CONNECT_OPTS_INIT;

    (void)state;
    o.version = 4;
    o.auto_compact_fanout = INFINO_AUTO_COMPACT_OFF; /* unread: version 4 */
    assert_ok(objstore_open(&s, "memory://"));
    assert_ok(api_connect_store(&db, s, &o));
    assert_ok(tf_create(&t, db, "t"));
    for (int i = 0; i < 3 * (int)INFINO_AUTO_COMPACT_DEFAULT; i++)
        assert_ok(tf_append(t, i, 1));
    assert_true(n_superfiles(t) < INFINO_AUTO_COMPACT_DEFAULT);
    infino_table_close(t);
    infino_db_close(db);
}

/* The cap: a tier whose files together exceed it is left alone. */
static void test_api_autocompact__cap(void **state)
{
    struct objstore *s;
    infino_db *db;
    infino_table *t;
    infino_connect_opts o = INFINO_CONNECT_OPTS_INIT;
    struct tbl_compact_stats cs;

    (void)state;
    o.auto_compact_fanout = FANOUT;
    o.auto_compact_max_bytes = 1; /* smaller than any superfile */
    assert_ok(objstore_open(&s, "memory://"));
    assert_ok(api_connect_store(&db, s, &o));
    assert_ok(tf_create(&t, db, "t"));
    for (int i = 0; i < 3 * FANOUT; i++)
        assert_ok(tf_append(t, i, 1));
    assert_int_equal(n_superfiles(t), 3 * FANOUT);
    tbl_compact_stats(t->t, &cs);
    assert_int_equal(cs.merges, 0);
    infino_table_close(t);
    infino_db_close(db);
}

/* ---- threads ---------------------------------------------------------- */

#define PER_THREAD 60

struct appender {
    struct objstore *s;
    int64_t first;
    infino_status st;
};

static void *append_thread(void *arg)
{
    struct appender *a = arg;
    infino_db *db;
    infino_table *t;

    a->st = connect_store(&db, a->s, FANOUT);
    if (a->st != INFINO_OK)
        return NULL;
    a->st = infino_open_table(&t, db, "t");
    for (int i = 0; a->st == INFINO_OK && i < PER_THREAD; i++)
        a->st = tf_append(t, a->first + i, 1);
    infino_table_close(t);
    db->store = NULL;
    infino_db_close(db);
    return NULL;
}

static void test_api_autocompact__threads(void **state)
{
    struct objstore *s;
    infino_db *db;
    infino_table *t;
    struct appender a[2];
    pthread_t th[2];
    int64_t *got, want[2 * PER_THREAD];
    size_t n;

    (void)state;
    assert_ok(objstore_open(&s, "memory://"));
    s->durable = true;
    assert_ok(connect_store(&db, s, FANOUT));
    assert_ok(tf_create(&t, db, "t"));
    for (int i = 0; i < 2; i++) {
        a[i].s = s;
        a[i].first = i * 1000;
        assert_int_equal(pthread_create(&th[i], NULL, append_thread, &a[i]),
                         0);
    }
    for (int i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        if (a[i].st != INFINO_OK)
            fail_msg("thread %d: %s", i, err_last());
    }
    for (int i = 0; i < PER_THREAD; i++) {
        want[i] = i;
        want[PER_THREAD + i] = 1000 + i;
    }
    assert_ok(tf_keys(t, NULL, &got, &n));
    if (!tf_keys_equal(got, n, want, 2 * PER_THREAD))
        fail_msg("%zu rows after %d appends", n, 2 * PER_THREAD);
    mem_free(got);
    /* Merges the threads lost to each other may leave a full tier: the
     * next append finishes it. */
    assert_ok(tf_append(t, 5000, 1));
    assert_true(n_superfiles(t) <= bound(2 * PER_THREAD + 1, FANOUT));
    infino_table_close(t);
    infino_db_close(db);
}

/* ---- every failure point of an append that compacts -------------------- */

struct world {
    char dir[512];
    struct objstore *fault; /* owned by db */
    infino_db *db;
    infino_table *t;
};

/* FANOUT - 1 superfiles of tier 0, one of them all deleted: the next
 * append fills the tier, and its merge drops the deleted row. */
static const int64_t before_keys[] = {0, 1, 3, 4, 5};
static const int64_t after_keys[] = {0, 1, 3, 4, 5, 100};

static void world_open(struct world *w, bool local)
{
    struct objstore *inner;
    infino_mutation_stats ms;

    memset(w, 0, sizeof *w);
    mem_fail_reset();
    if (local) {
        test_tmpdir(w->dir, sizeof w->dir, "autocompact");
        assert_ok(objstore_open(&inner, w->dir));
    } else {
        assert_ok(objstore_open(&inner, "memory://"));
    }
    assert_ok(objstore_fault_open(&w->fault, inner));
    w->fault->durable = true;
    assert_ok(connect_store(&w->db, w->fault, FANOUT));
    assert_ok(tf_create(&w->t, w->db, "t"));
    assert_ok(tf_append(w->t, 0, 2));
    assert_ok(tf_append(w->t, 2, 1));
    assert_ok(tf_append(w->t, 3, 3));
    assert_ok(infino_table_delete(w->t, "k = 2", &ms));
    assert_int_equal(ms.n_tombstoned, 1);
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

/* After the append at a failure point: a fresh handle finds the table
 * whole, holding the rows before or after; acknowledged means after, and
 * (one fault) after means acknowledged. Returns whether the table was
 * compacted (one superfile). */
static bool verify(struct world *w, infino_status st, const char *what,
                   bool one_fault)
{
    infino_db *db;
    infino_table *t;
    infino_check_report rep;
    int64_t *got;
    size_t n;
    bool is_before, is_after, merged;

    objstore_fault_disarm(w->fault);
    mem_fail_reset();
    assert_ok(connect_store(&db, w->fault, INFINO_AUTO_COMPACT_OFF));
    if (infino_open_table(&t, db, "t") != INFINO_OK)
        fail_msg("%s: t does not open: %s", what, err_last());
    if (infino_table_check(t, &rep) != INFINO_OK)
        fail_msg("%s: check fails after '%s': %s", what,
                 infino_status_str(st), err_last());
    assert_ok(tf_keys(t, NULL, &got, &n));
    is_before = tf_keys_equal(got, n, before_keys, 5);
    is_after = tf_keys_equal(got, n, after_keys, 6);
    mem_free(got);
    if (!is_before && !is_after)
        fail_msg("%s: %zu rows, neither before nor after", what, n);
    if (st == INFINO_OK && !is_after)
        fail_msg("%s: the append succeeded, its row is missing", what);
    if (one_fault && st != INFINO_OK && is_after)
        fail_msg("%s: the row landed but the append reported %s (%s)",
                 what, infino_status_str(st), err_last());
    /* before: the world's four; after: those plus the append's, or one
     * merged superfile */
    merged = rep.n_superfiles == 1;
    if (rep.n_superfiles != (is_after ? 4u : 3u) && !(is_after && merged))
        fail_msg("%s: %llu superfiles", what,
                 (unsigned long long)rep.n_superfiles);
    if (merged && rep.n_deleted != 0)
        fail_msg("%s: the merge kept a deleted row", what);
    infino_table_close(t);
    db->store = NULL;
    infino_db_close(db);
    /* The handle that saw the failure keeps working, and compacts. */
    if (tf_append(w->t, 500, 1) != INFINO_OK)
        fail_msg("%s: the handle fails after the error: %s", what,
                 err_last());
    return merged;
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

static long stride(void)
{
    const char *s = getenv("INFINO_WALK_STRIDE");
    long k = s ? strtol(s, NULL, 10) : 1;
    return k > 0 ? k : 1;
}

struct tally {
    long points;
    long ok_unmerged; /* acknowledged, the merge failed: left as appended */
    long merged;
    long failures_counted; /* of ok_unmerged */
};

static void one_point(struct tally *ty, struct world *w, infino_status st,
                      const char *what, bool one_fault)
{
    struct tbl_compact_stats cs;
    bool merged;

    tbl_compact_stats(w->t->t, &cs);
    merged = verify(w, st, what, one_fault);
    /* Acknowledged and not merged: the merge failed (counted), or a
     * failure before it left nothing to plan on (e.g. the handle's view
     * of its own commit could not be built). */
    if (st == INFINO_OK && !merged) {
        ty->ok_unmerged++;
        ty->failures_counted += cs.failures > 0;
    }
    ty->merged += merged;
    ty->points++;
}

static void walk(struct tally *ty, bool local, unsigned mask)
{
    for (size_t ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
        if (!(mask & (1u << ki)))
            continue;
        for (long nth = 1;; nth += stride()) {
            struct world w;
            struct objstore_fault_plan p = {0};
            struct ArrowArrayStream rows;
            char what[160];
            infino_status st;
            bool fired;

            world_open(&w, local);
            tf_stream_range(&rows, 100, 1);
            p.ops = kinds[ki].ops;
            p.nth = nth;
            p.err = kinds[ki].err;
            p.short_write = kinds[ki].short_write;
            p.sticky = kinds[ki].sticky;
            objstore_fault_arm(w.fault, &p);
            st = infino_table_append(w.t, &rows, NULL);
            fired = objstore_fault_fired(w.fault);
            objstore_fault_disarm(w.fault);
            snprintf(what, sizeof what, "%s store, %s fault #%ld",
                     local ? "local" : "memory", kinds[ki].name, nth);
            one_point(ty, &w, st, what, !kinds[ki].sticky);
            world_close(&w);
            if (!fired)
                break;
        }
    }
}

static void test_api_autocompact__failure_points(void **state)
{
    struct tally ty = {0};

    (void)state;
    walk(&ty, false, ~0u);
    walk(&ty, true, (1u << 2) | (1u << 3) | (1u << 4));
    for (long nth = 1;; nth += stride()) {
        struct world w;
        struct ArrowArrayStream rows;
        char what[96];
        infino_status st;
        long failed;

        world_open(&w, false);
        tf_stream_range(&rows, 100, 1);
        mem_fail_after(nth);
        st = infino_table_append(w.t, &rows, NULL);
        failed = mem_fail_count();
        mem_fail_reset();
        snprintf(what, sizeof what, "allocation #%ld fails", nth);
        one_point(&ty, &w, st, what, false);
        world_close(&w);
        if (failed == 0)
            break;
    }
    fprintf(stderr,
            "# %ld failure points: %ld acknowledged and not merged (%ld of "
            "them a failed merge), %ld merged\n",
            ty.points, ty.ok_unmerged, ty.failures_counted, ty.merged);
    /* the walk reached into the merge, and past it */
    assert_true(ty.failures_counted > 0);
    assert_true(ty.merged > 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_api_autocompact__model_walk),
        cmocka_unit_test(test_api_autocompact__off),
        cmocka_unit_test(test_api_autocompact__default_on),
        cmocka_unit_test(test_api_autocompact__cap),
        cmocka_unit_test(test_api_autocompact__threads),
        cmocka_unit_test(test_api_autocompact__failure_points),
    };
    if (getenv("INFINO_TEST_FILTER"))
        cmocka_set_test_filter(getenv("INFINO_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
