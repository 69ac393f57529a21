/*
 * store_fault_test.c - the fault-injecting store fails exactly where told.
 *
 * Every case runs over a memory store and a local folder: each kind of
 * operation fails at the nth call and not before, and what the inner store
 * holds afterwards is what the fault promises (nothing for a failed write
 * or an early publish, the whole object for a late one).
 */
#include "harness.h"

#include "store/objstore_fault.h"
#include "util/alloc.h"

#include <errno.h>
#include <pthread.h>

enum { LOCAL, MEMORY };

static struct objstore *open_fault(int which)
{
    char root[256];
    struct objstore *inner, *s;

    if (which == LOCAL) {
        test_tmpdir(root, sizeof root, "fault");
        assert_ok(objstore_open(&inner, root));
    } else {
        assert_ok(objstore_open(&inner, "memory://"));
    }
    assert_ok(objstore_fault_open(&s, inner));
    return s;
}

struct seen {
    long n;
    long n_temps;
    uint64_t total;
};

static infino_status count_cb(const struct objstore_entry *e, void *payload)
{
    struct seen *c = payload;
    const char *base = strrchr(e->key, '/');

    base = base ? base + 1 : e->key;
    c->n++;
    c->total += e->size;
    if (base[0] == '.' && strstr(base, ".tmp-") != NULL)
        c->n_temps++;
    return INFINO_OK;
}

/* Everything under `prefix`, temporaries included. */
static struct seen list_everything(struct objstore *s, const char *prefix)
{
    struct seen c = {0};

    assert_ok(objstore_list_all(s, prefix, count_cb, &c));
    return c;
}

/* Whether `key` holds exactly `len` bytes of `data` (asked of the inner
 * store, so no armed fault gets in the way). */
static bool holds(struct objstore *s, const char *key, const void *data,
                  size_t len)
{
    struct store_blob *b;
    const uint8_t *p;
    bool same;

    if (objstore_get(objstore_fault_inner(s), key, &b) != INFINO_OK)
        return false;
    same = store_blob_size(b) == len &&
           store_blob_read(b, 0, len, &p) == INFINO_OK &&
           memcmp(p, data, len) == 0;
    store_blob_close(b);
    return same;
}

static void expect_injected(infino_status st, const char *key)
{
    assert_int_equal(st, INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "injected EIO"));
    assert_non_null(strstr(err_last(), key));
}

static const unsigned all_kinds[] = {
    FAULT_GET,  FAULT_PUT_OPEN, FAULT_WRITE,  FAULT_PUBLISH_BEFORE,
    FAULT_PUBLISH_AFTER, FAULT_STAT, FAULT_EXISTS, FAULT_LIST, FAULT_DELETE,
};

/* Runs the i-th operation of `kind` and returns its status (exists: false
 * reads as INFINO_ERR_IO). Every call touches fresh keys where it writes. */
static infino_status run_op(struct objstore *s, unsigned kind, int i)
{
    char key[64];
    struct store_blob *b = NULL;
    struct store_sink *sink = NULL;
    struct objstore_entry e;
    struct seen c = {0};
    infino_status st;

    snprintf(key, sizeof key, "k/new-%d", i);
    switch (kind) {
    case FAULT_GET:
        st = objstore_get(s, "k/obj", &b);
        store_blob_close(b);
        return st;
    case FAULT_PUT_OPEN:
        st = objstore_put_sink(s, key, &sink);
        store_sink_abort(sink);
        return st;
    case FAULT_WRITE:
        assert_ok(objstore_put_sink(s, key, &sink));
        st = store_sink_write(sink, "abcdef", 6);
        store_sink_abort(sink);
        return st;
    case FAULT_PUBLISH_BEFORE:
    case FAULT_PUBLISH_AFTER:
        return objstore_put(s, key, "abcdef", 6, STORE_NOREPLACE);
    case FAULT_STAT:
        return objstore_stat(s, "k/obj", &e);
    case FAULT_EXISTS:
        return objstore_exists(s, "k/obj") ? INFINO_OK : INFINO_ERR_IO;
    case FAULT_LIST:
        return objstore_list(s, "k/", count_cb, &c);
    case FAULT_DELETE:
        assert_ok(objstore_put(objstore_fault_inner(s), key, "x", 1,
                               STORE_NOREPLACE));
        st = objstore_delete(s, key);
        if (st != INFINO_OK)
            assert_true(objstore_exists(objstore_fault_inner(s), key));
        return st;
    }
    fail_msg("unknown kind %u", kind);
    return INFINO_ERR_INVALID;
}

/* Calls 1..nth-1 pass, nth fails, later ones pass again (or keep failing
 * when sticky); seen() and fired() follow. */
static void walk_kind(int which, unsigned kind, bool sticky)
{
    struct objstore *s = open_fault(which);
    struct objstore_fault_plan plan = {0};
    const long nth = 3;

    assert_ok(objstore_put(s, "k/obj", "hello", 5, STORE_NOREPLACE));
    plan.ops = kind;
    plan.nth = nth;
    plan.sticky = sticky;
    objstore_fault_arm(s, &plan);
    for (int i = 1; i <= 6; i++) {
        infino_status st = run_op(s, kind, i);
        bool should_fail = i == nth || (sticky && i > nth);
        if (!should_fail) {
            if (st != INFINO_OK)
                fail_msg("kind %#x call %d: %s", kind, i, err_last());
        } else if (kind != FAULT_EXISTS) {
            expect_injected(st, kind == FAULT_GET || kind == FAULT_STAT
                                    ? "k/obj"
                                    : kind == FAULT_LIST ? "k/" : "k/new-");
        } else {
            assert_int_equal(st, INFINO_ERR_IO);
        }
        assert_int_equal(objstore_fault_fired(s), i >= nth);
        assert_int_equal(objstore_fault_seen(s, kind), i);
    }
    objstore_close(s);
}

static void test_store_fault__each_kind_fails_at_nth_only(void **state)
{
    (void)state;
    for (int which = LOCAL; which <= MEMORY; which++)
        for (size_t k = 0; k < sizeof all_kinds / sizeof *all_kinds; k++)
            walk_kind(which, all_kinds[k], false);
}

static void test_store_fault__sticky(void **state)
{
    (void)state;
    for (int which = LOCAL; which <= MEMORY; which++)
        for (size_t k = 0; k < sizeof all_kinds / sizeof *all_kinds; k++)
            walk_kind(which, all_kinds[k], true);
}

/* A failed (short) write leaves neither the object nor a temporary file,
 * even when the caller ignores the error and finishes anyway. */
static void short_write(int which)
{
    struct objstore *s = open_fault(which);
    struct objstore_fault_plan plan = {0};
    struct store_sink *sink;
    size_t n = 4u << 20; /* above the file sink's buffer: bytes hit disk */
    uint8_t *big = mem_calloc(1, n);
    struct seen c;

    plan.ops = FAULT_WRITE;
    plan.nth = 2;
    plan.short_write = true;
    objstore_fault_arm(s, &plan);
    assert_ok(objstore_put_sink(s, "t/short", &sink));
    assert_ok(store_sink_write(sink, "head", 4));
    expect_injected(store_sink_write(sink, big, n), "t/short");
    assert_non_null(strstr(err_last(), "short write"));
    if (which == LOCAL) {
        /* half of it reached the inner sink's temporary file */
        c = list_everything(s, "t/");
        assert_int_equal(c.n_temps, 1);
        assert_int_equal(c.total, 4 + n / 2);
    }
    store_sink_abort(sink);
    assert_false(objstore_exists(s, "t/short"));
    c = list_everything(s, "");
    assert_int_equal(c.n, 0);

    /* finish after a failed write refuses to publish */
    plan.nth = 1;
    objstore_fault_arm(s, &plan);
    assert_ok(objstore_put_sink(s, "t/ignored", &sink));
    expect_injected(store_sink_write(sink, "abcdef", 6), "t/ignored");
    assert_int_equal(store_sink_write(sink, "more", 4), INFINO_ERR_IO);
    assert_int_equal(store_sink_finish(sink, STORE_REPLACE), INFINO_ERR_IO);
    assert_false(objstore_exists(s, "t/ignored"));
    c = list_everything(s, "");
    assert_int_equal(c.n, 0);
    assert_int_equal(objstore_fault_seen(s, FAULT_WRITE), 1);
    mem_free(big);
    objstore_close(s);
}

static void test_store_fault__short_write_publishes_nothing(void **state)
{
    (void)state;
    short_write(LOCAL);
    short_write(MEMORY);
}

/* Late publish: the object is there and whole, the caller hears EIO. Early
 * publish: it is not (and a replaced object keeps its old bytes). */
static void publish(int which)
{
    struct objstore *s = open_fault(which);
    struct objstore_fault_plan plan = {0};
    struct seen c;

    plan.ops = FAULT_PUBLISH_AFTER;
    plan.nth = 1;
    objstore_fault_arm(s, &plan);
    expect_injected(objstore_put(s, "t/after", "complete", 8,
                                 STORE_NOREPLACE),
                    "t/after");
    assert_true(objstore_fault_fired(s));
    assert_true(holds(s, "t/after", "complete", 8));
    objstore_fault_arm(s, &plan);
    expect_injected(objstore_put(s, "t/after", "replaced", 8, STORE_REPLACE),
                    "t/after");
    assert_true(holds(s, "t/after", "replaced", 8));

    plan.ops = FAULT_PUBLISH_BEFORE;
    objstore_fault_arm(s, &plan);
    expect_injected(objstore_put(s, "t/before", "lost", 4, STORE_NOREPLACE),
                    "t/before");
    assert_false(objstore_exists(s, "t/before"));
    objstore_fault_arm(s, &plan);
    expect_injected(objstore_put(s, "t/after", "nope", 4, STORE_REPLACE),
                    "t/after");
    assert_true(holds(s, "t/after", "replaced", 8));

    /* both bits: one count per finish, "before" wins */
    plan.ops = FAULT_PUBLISH_BEFORE | FAULT_PUBLISH_AFTER;
    plan.nth = 2;
    objstore_fault_arm(s, &plan);
    assert_ok(objstore_put(s, "t/one", "1", 1, STORE_NOREPLACE));
    expect_injected(objstore_put(s, "t/two", "2", 1, STORE_NOREPLACE),
                    "t/two");
    assert_false(objstore_exists(s, "t/two"));
    assert_int_equal(objstore_fault_seen(s, FAULT_PUBLISH_BEFORE), 2);
    assert_int_equal(objstore_fault_seen(s, FAULT_PUBLISH_AFTER), 2);
    assert_int_equal(
        objstore_fault_seen(s, FAULT_PUBLISH_BEFORE | FAULT_PUBLISH_AFTER), 2);

    objstore_fault_disarm(s);
    c = list_everything(s, "");
    assert_int_equal(c.n_temps, 0);
    assert_int_equal(c.n, 2); /* t/after, t/one */
    objstore_close(s);
}

static void test_store_fault__publish_before_and_after(void **state)
{
    (void)state;
    publish(LOCAL);
    publish(MEMORY);
}

/* Create-if-absent keeps its answer through the wrapper, armed or not; a
 * late-publish fault on a finish that fails by itself injects nothing. */
static void exists_passes(int which)
{
    struct objstore *s = open_fault(which);
    struct objstore_fault_plan plan = {0};

    assert_ok(objstore_put(s, "t/a", "a", 1, STORE_NOREPLACE));
    assert_int_equal(objstore_put(s, "t/a", "b", 1, STORE_NOREPLACE),
                     INFINO_ERR_EXISTS);
    plan.ops = FAULT_PUBLISH_AFTER;
    plan.nth = 1;
    objstore_fault_arm(s, &plan);
    assert_int_equal(objstore_put(s, "t/a", "b", 1, STORE_NOREPLACE),
                     INFINO_ERR_EXISTS);
    assert_false(objstore_fault_fired(s));
    assert_true(holds(s, "t/a", "a", 1));
    plan.ops = FAULT_GET | FAULT_LIST;
    objstore_fault_arm(s, &plan);
    assert_int_equal(objstore_put(s, "t/a", "b", 1, STORE_NOREPLACE),
                     INFINO_ERR_EXISTS);
    objstore_close(s);
}

static void test_store_fault__exists_passes_through(void **state)
{
    (void)state;
    exists_passes(LOCAL);
    exists_passes(MEMORY);
}

/* A listing can fail after handing out some entries, or at its end when
 * it has fewer; list_all counts as a listing too. */
static void partial_list(int which)
{
    struct objstore *s = open_fault(which);
    struct objstore_fault_plan plan = {0};
    struct seen c = {0};
    char key[32];

    for (int i = 0; i < 5; i++) {
        snprintf(key, sizeof key, "l/%d", i);
        assert_ok(objstore_put(s, key, "x", 1, STORE_NOREPLACE));
    }
    plan.ops = FAULT_LIST;
    plan.nth = 1;
    plan.list_entries = 2;
    objstore_fault_arm(s, &plan);
    expect_injected(objstore_list(s, "l/", count_cb, &c), "l/");
    assert_int_equal(c.n, 2);
    plan.list_entries = 10;
    objstore_fault_arm(s, &plan);
    memset(&c, 0, sizeof c);
    expect_injected(objstore_list_all(s, "l/", count_cb, &c), "l/");
    assert_int_equal(c.n, 5);
    plan.list_entries = 0;
    plan.err = ENOSPC;
    objstore_fault_arm(s, &plan);
    memset(&c, 0, sizeof c);
    assert_int_equal(objstore_list(s, "", count_cb, &c), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "injected ENOSPC"));
    assert_int_equal(c.n, 0);
    objstore_close(s);
}

static void test_store_fault__partial_list(void **state)
{
    (void)state;
    partial_list(LOCAL);
    partial_list(MEMORY);
}

/* delete_prefix counts as a delete and removes nothing when it fails. */
static void delete_prefix(int which)
{
    struct objstore *s = open_fault(which);
    struct objstore_fault_plan plan = {0};

    assert_ok(objstore_put(s, "d/a", "a", 1, STORE_NOREPLACE));
    assert_ok(objstore_put(s, "d/b", "b", 1, STORE_NOREPLACE));
    plan.ops = FAULT_DELETE;
    plan.nth = 1;
    objstore_fault_arm(s, &plan);
    expect_injected(objstore_delete_prefix(s, "d/"), "d/");
    assert_true(objstore_exists(s, "d/a"));
    assert_true(objstore_exists(s, "d/b"));
    assert_ok(objstore_delete_prefix(s, "d/"));
    assert_false(objstore_exists(s, "d/a"));
    assert_int_equal(objstore_fault_seen(s, FAULT_DELETE), 2);
    objstore_close(s);
}

static void test_store_fault__delete_prefix(void **state)
{
    (void)state;
    delete_prefix(LOCAL);
    delete_prefix(MEMORY);
}

/* Disarming restores plain forwarding; seen() keeps counting every kind,
 * armed or not, and arming resets it. */
static void disarm_and_count(int which)
{
    struct objstore *s = open_fault(which);
    struct objstore_fault_plan plan = {0};
    struct store_blob *b;
    struct objstore_entry e;
    struct seen c = {0};

    plan.ops = FAULT_ALL;
    plan.nth = 1;
    plan.sticky = true;
    objstore_fault_arm(s, &plan);
    assert_int_equal(objstore_put(s, "t/a", "a", 1, STORE_REPLACE),
                     INFINO_ERR_IO);
    assert_int_equal(objstore_stat(s, "t/a", &e), INFINO_ERR_IO);
    objstore_fault_disarm(s);
    assert_ok(objstore_put(s, "t/a", "abc", 3, STORE_REPLACE));
    assert_ok(objstore_get(s, "t/a", &b));
    assert_int_equal(store_blob_size(b), 3);
    store_blob_close(b);
    assert_ok(objstore_stat(s, "t/a", &e));
    assert_true(objstore_exists(s, "t/a"));
    assert_ok(objstore_list(s, "", count_cb, &c));
    assert_int_equal(c.n, 1);
    assert_int_equal(objstore_fault_seen(s, FAULT_PUT_OPEN), 2);
    assert_int_equal(objstore_fault_seen(s, FAULT_STAT), 2);

    plan.ops = 0; /* count only */
    objstore_fault_arm(s, &plan);
    assert_int_equal(objstore_fault_seen(s, FAULT_ALL), 0);
    assert_ok(objstore_put(s, "t/b", "bb", 2, STORE_NOREPLACE)); /* 3 ops */
    assert_true(objstore_exists(s, "t/b"));
    assert_ok(objstore_delete(s, "t/b"));
    assert_int_equal(objstore_fault_seen(s, FAULT_PUT_OPEN), 1);
    assert_int_equal(objstore_fault_seen(s, FAULT_WRITE), 1);
    assert_int_equal(objstore_fault_seen(s, FAULT_PUBLISH_AFTER), 1);
    assert_int_equal(objstore_fault_seen(s, FAULT_EXISTS), 1);
    assert_int_equal(objstore_fault_seen(s, FAULT_DELETE), 1);
    assert_int_equal(objstore_fault_seen(s, FAULT_ALL), 5);
    assert_false(objstore_fault_fired(s));
    objstore_close(s);
}

static void test_store_fault__disarm_and_seen(void **state)
{
    (void)state;
    disarm_and_count(LOCAL);
    disarm_and_count(MEMORY);
}

/* The wrapper looks like its inner store to the layers above. */
static void test_store_fault__mirrors_inner(void **state)
{
    struct objstore *s, *inner;
    char root[256];
    (void)state;

    test_tmpdir(root, sizeof root, "fault");
    assert_ok(objstore_open(&inner, root));
    assert_ok(objstore_fault_open(&s, inner));
    assert_true(objstore_is_durable(s));
    assert_string_equal(objstore_uri(s), root);
    assert_string_equal(objstore_local_root(s), objstore_local_root(inner));
    objstore_close(s);

    s = open_fault(MEMORY);
    assert_false(objstore_is_durable(s));
    assert_null(objstore_local_root(s));
    assert_string_equal(objstore_uri(s), "memory://");
    objstore_close(s);

    assert_int_equal(objstore_fault_open(&s, NULL), INFINO_ERR_INVALID);
    assert_null(s);
}

/* Several writers at once: exactly the nth publish fails, and every
 * operation is counted once. */
struct writer {
    struct objstore *s;
    int id;
    int n_failed;
};

static void *writer_main(void *arg)
{
    struct writer *w = arg;
    char key[64];

    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof key, "w%d/%d", w->id, i);
        if (objstore_put(w->s, key, key, strlen(key), STORE_NOREPLACE) !=
            INFINO_OK)
            w->n_failed++;
    }
    return NULL;
}

static void threads(int which)
{
    struct objstore *s = open_fault(which);
    struct objstore_fault_plan plan = {0};
    struct writer w[4];
    pthread_t t[4];
    struct seen c = {0};

    plan.ops = FAULT_PUBLISH_BEFORE;
    plan.nth = 77;
    objstore_fault_arm(s, &plan);
    for (int i = 0; i < 4; i++) {
        w[i] = (struct writer){s, i, 0};
        assert_int_equal(pthread_create(&t[i], NULL, writer_main, &w[i]), 0);
    }
    for (int i = 0; i < 4; i++)
        pthread_join(t[i], NULL);
    assert_int_equal(w[0].n_failed + w[1].n_failed + w[2].n_failed +
                         w[3].n_failed,
                     1);
    assert_int_equal(objstore_fault_seen(s, FAULT_PUBLISH_BEFORE), 200);
    assert_int_equal(objstore_fault_seen(s, FAULT_PUT_OPEN), 200);
    assert_ok(objstore_list_all(s, "", count_cb, &c));
    assert_int_equal(c.n, 199);
    assert_int_equal(c.n_temps, 0);
    objstore_close(s);
}

static void test_store_fault__threads(void **state)
{
    (void)state;
    threads(LOCAL);
    threads(MEMORY);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_fault__each_kind_fails_at_nth_only),
        cmocka_unit_test(test_store_fault__sticky),
        cmocka_unit_test(test_store_fault__short_write_publishes_nothing),
        cmocka_unit_test(test_store_fault__publish_before_and_after),
        cmocka_unit_test(test_store_fault__exists_passes_through),
        cmocka_unit_test(test_store_fault__partial_list),
        cmocka_unit_test(test_store_fault__delete_prefix),
        cmocka_unit_test(test_store_fault__disarm_and_seen),
        cmocka_unit_test(test_store_fault__mirrors_inner),
        cmocka_unit_test(test_store_fault__threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
