/*
 * store_objstore_test.c - the same contract checked on every backend.
 */
#include "harness.h"

#include "store/objstore.h"
#include "util/err.h"

static char local_root[256];

static struct objstore *open_backend(int which)
{
    struct objstore *s;
    if (which == 0) {
        test_tmpdir(local_root, sizeof local_root, "objstore");
        assert_ok(objstore_open(&s, local_root));
        assert_true(objstore_is_durable(s));
    } else {
        assert_ok(objstore_open(&s, "memory://"));
        assert_false(objstore_is_durable(s));
    }
    return s;
}

struct seen {
    int n;
    uint64_t total;
    char keys[16][128];
};

static infino_status count_cb(const struct objstore_entry *e, void *payload)
{
    struct seen *s = payload;
    if (s->n < 16)
        snprintf(s->keys[s->n], sizeof s->keys[0], "%s", e->key);
    s->n++;
    s->total += e->size;
    return INFINO_OK;
}

static bool seen_has(const struct seen *s, const char *key)
{
    for (int i = 0; i < s->n && i < 16; i++)
        if (strcmp(s->keys[i], key) == 0)
            return true;
    return false;
}

static void contract(int which)
{
    struct objstore *s = open_backend(which);
    struct store_blob *b;
    struct store_sink *sink;
    struct objstore_entry e;
    struct seen seen = {0};
    const uint8_t *p;

    assert_int_equal(objstore_get(s, "t/a", &b), INFINO_ERR_NOTFOUND);
    assert_ok(objstore_put(s, "t/a", "alpha", 5, STORE_NOREPLACE));
    assert_int_equal(objstore_put(s, "t/a", "beta", 4, STORE_NOREPLACE),
                     INFINO_ERR_EXISTS);
    assert_ok(objstore_get(s, "t/a", &b));
    assert_ok(store_blob_read(b, 0, 5, &p));
    assert_memory_equal(p, "alpha", 5);

    /* A reader keeps its bytes across replace and delete. */
    assert_ok(objstore_put(s, "t/a", "gamma!", 6, STORE_REPLACE));
    assert_ok(objstore_stat(s, "t/a", &e));
    assert_int_equal(e.size, 6);
    assert_true(e.mtime_ns > 0);
    /* exists: objects only (not a prefix / directory), no error set */
    err_clear();
    assert_true(objstore_exists(s, "t/a"));
    assert_false(objstore_exists(s, "t"));
    assert_false(objstore_exists(s, "t/zz"));
    assert_false(objstore_exists(s, "../t/a"));
    assert_string_equal(err_last(), "");
    assert_ok(objstore_delete(s, "t/a"));
    assert_false(objstore_exists(s, "t/a"));
    assert_int_equal(objstore_stat(s, "t/a", &e), INFINO_ERR_NOTFOUND);
    assert_int_equal(objstore_delete(s, "t/a"), INFINO_ERR_NOTFOUND);
    assert_ok(store_blob_read(b, 0, 5, &p));
    assert_memory_equal(p, "alpha", 5);
    store_blob_close(b);

    /* Sinks publish on finish only. */
    assert_ok(objstore_put_sink(s, "t/deep/x/y", &sink));
    assert_ok(store_sink_write(sink, "12345", 5));
    assert_int_equal(objstore_stat(s, "t/deep/x/y", &e), INFINO_ERR_NOTFOUND);
    assert_ok(store_sink_finish(sink, STORE_NOREPLACE));
    assert_ok(objstore_put_sink(s, "t/deep/aborted", &sink));
    store_sink_abort(sink);

    assert_ok(objstore_put(s, "t/b", "", 0, STORE_NOREPLACE));
    assert_ok(objstore_put(s, "u/c", "ccc", 3, STORE_NOREPLACE));
    assert_ok(objstore_list(s, "t/", count_cb, &seen));
    assert_int_equal(seen.n, 2);
    assert_true(seen_has(&seen, "t/deep/x/y"));
    assert_true(seen_has(&seen, "t/b"));
    assert_int_equal(seen.total, 5);
    memset(&seen, 0, sizeof seen);
    assert_ok(objstore_list(s, "", count_cb, &seen));
    assert_int_equal(seen.n, 3);

    assert_ok(objstore_delete_prefix(s, "t/"));
    memset(&seen, 0, sizeof seen);
    assert_ok(objstore_list(s, "", count_cb, &seen));
    assert_int_equal(seen.n, 1);
    assert_true(seen_has(&seen, "u/c"));

    /* Bad keys are refused before reaching the backend. */
    assert_int_equal(objstore_put(s, "../x", "", 0, STORE_REPLACE),
                     INFINO_ERR_INVALID);
    assert_int_equal(objstore_put(s, "/abs", "", 0, STORE_REPLACE),
                     INFINO_ERR_INVALID);
    assert_int_equal(objstore_put(s, "a//b", "", 0, STORE_REPLACE),
                     INFINO_ERR_INVALID);
    objstore_close(s);
}

static void test_store_objstore__local_contract(void **state)
{
    (void)state;
    contract(0);
}

static void test_store_objstore__memory_contract(void **state)
{
    (void)state;
    contract(1);
}

static void test_store_objstore__uris(void **state)
{
    struct objstore *s;
    (void)state;
    assert_ok(objstore_open(&s, "memory:"));
    objstore_close(s);
    assert_int_equal(objstore_open(&s, "gopher://x/y"), INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "gopher://x/y"));
    assert_int_equal(objstore_open(&s, ""), INFINO_ERR_INVALID);
    char dir[256], uri[300];
    test_tmpdir(dir, sizeof dir, "uri");
    snprintf(uri, sizeof uri, "file://%s/sub", dir);
    assert_ok(objstore_open(&s, uri));
    assert_true(objstore_is_durable(s));
    objstore_close(s);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_objstore__local_contract),
        cmocka_unit_test(test_store_objstore__memory_contract),
        cmocka_unit_test(test_store_objstore__uris),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
