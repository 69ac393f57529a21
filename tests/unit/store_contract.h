/*
 * store_contract.h - the object-store contract, run by the backends' unit
 * tests against a real endpoint (moto, fake-gcs-server, Azurite; see
 * tests/py/test_s3.py and tests/py/test_gcs_azure.py).
 */
#ifndef INFINO_TEST_STORE_CONTRACT_H
#define INFINO_TEST_STORE_CONTRACT_H

#include "harness.h"

#include "store/objstore.h"
#include "util/alloc.h"
#include "util/err.h"

struct seen {
    int n;
    uint64_t total;
    char keys[16][128];
};

static inline infino_status count_cb(const struct objstore_entry *e, void *payload)
{
    struct seen *s = payload;
    if (s->n < 16)
        snprintf(s->keys[s->n], sizeof s->keys[0], "%s", e->key);
    s->n++;
    s->total += e->size;
    return INFINO_OK;
}

static inline bool seen_has(const struct seen *s, const char *key)
{
    for (int i = 0; i < s->n && i < 16; i++)
        if (strcmp(s->keys[i], key) == 0)
            return true;
    return false;
}

/* The object-store contract: absent, create-if-absent, replace, stat,
 * exists, delete, sinks, empty objects, listing, prefix deletion. */
static inline void contract_basic(struct objstore *s)
{
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
    assert_int_equal(store_blob_size(b), 5);
    assert_ok(store_blob_read(b, 0, 5, &p));
    assert_memory_equal(p, "alpha", 5);
    /* A small object arrived whole: it stays readable after replace and
     * delete. */
    assert_ok(objstore_put(s, "t/a", "gamma!", 6, STORE_REPLACE));
    assert_ok(objstore_stat(s, "t/a", &e));
    assert_int_equal(e.size, 6);
    assert_true(e.mtime_ns > (int64_t)1600000000 * 1000000000);
    err_clear();
    assert_true(objstore_exists(s, "t/a"));
    assert_false(objstore_exists(s, "t"));
    assert_false(objstore_exists(s, "t/zz"));
    assert_string_equal(err_last(), "");
    assert_ok(objstore_delete(s, "t/a"));
    assert_false(objstore_exists(s, "t/a"));
    assert_int_equal(objstore_stat(s, "t/a", &e), INFINO_ERR_NOTFOUND);
    assert_ok(store_blob_read(b, 0, 5, &p));
    assert_memory_equal(p, "alpha", 5);
    store_blob_close(b);

    /* Sinks publish on finish only; an empty object reads back empty. */
    assert_ok(objstore_put_sink(s, "t/deep/x/y", &sink));
    assert_ok(store_sink_write(sink, "12345", 5));
    assert_int_equal(objstore_stat(s, "t/deep/x/y", &e), INFINO_ERR_NOTFOUND);
    assert_ok(store_sink_finish(sink, STORE_NOREPLACE));
    assert_ok(objstore_put_sink(s, "t/deep/aborted", &sink));
    store_sink_abort(sink);
    assert_ok(objstore_put(s, "t/b", "", 0, STORE_NOREPLACE));
    assert_ok(objstore_get(s, "t/b", &b));
    assert_int_equal(store_blob_size(b), 0);
    store_blob_close(b);
    assert_ok(objstore_put(s, "u/c", "ccc", 3, STORE_NOREPLACE));
    assert_ok(objstore_list(s, "t/", count_cb, &seen));
    assert_int_equal(seen.n, 2);
    assert_true(seen_has(&seen, "t/deep/x/y"));
    assert_true(seen_has(&seen, "t/b"));
    assert_int_equal(seen.total, 5);
    memset(&seen, 0, sizeof seen);
    assert_ok(objstore_list_all(s, "", count_cb, &seen));
    assert_int_equal(seen.n, 3);

    assert_ok(objstore_delete_prefix(s, "t/"));
    memset(&seen, 0, sizeof seen);
    assert_ok(objstore_list(s, "", count_cb, &seen));
    assert_int_equal(seen.n, 1);
    assert_true(seen_has(&seen, "u/c"));
    assert_ok(objstore_delete_prefix(s, "u/"));
    objstore_close(s);
}

/* Objects of several parts (8 MiB each by default): create-if-absent on
 * the last step, aborts, ranged reads, and reads of a replaced object. */
static inline void contract_large(struct objstore *s)
{
    /* 20.5 MiB: three parts of 8 MiB (the last one shorter). */
    size_t n = (20u << 20) + 512 * 1024 + 17;
    uint8_t *data = mem_alloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(test_rand() >> 56);
    struct store_sink *sink;
    struct store_blob *b;
    const uint8_t *p;

    assert_ok(objstore_put_sink(s, "sf/big", &sink));
    for (size_t off = 0; off < n; off += 1000003)
        assert_ok(store_sink_write(sink, data + off,
                                   n - off < 1000003 ? n - off : 1000003));
    assert_ok(store_sink_finish(sink, STORE_NOREPLACE));
    /* create-if-absent through CompleteMultipartUpload */
    assert_ok(objstore_put_sink(s, "sf/big", &sink));
    assert_ok(store_sink_write(sink, data, n));
    assert_int_equal(store_sink_finish(sink, STORE_NOREPLACE),
                     INFINO_ERR_EXISTS);
    /* an aborted multipart upload leaves nothing */
    assert_ok(objstore_put_sink(s, "sf/aborted", &sink));
    assert_ok(store_sink_write(sink, data, n));
    store_sink_abort(sink);
    assert_false(objstore_exists(s, "sf/aborted"));

    /* Ranged reads: the tail came with the open, the rest on demand. */
    assert_ok(objstore_get(s, "sf/big", &b));
    assert_int_equal(store_blob_size(b), n);
    assert_ok(store_blob_read(b, n - 8, 8, &p));
    assert_memory_equal(p, data + n - 8, 8);
    assert_ok(store_blob_read(b, 0, 4, &p));
    assert_memory_equal(p, data, 4);
    for (int i = 0; i < 50; i++) {
        uint64_t off = test_rand() % n;
        size_t len = (size_t)(test_rand() % 700000);
        if (len > n - off)
            len = n - off;
        assert_ok(store_blob_read(b, off, len, &p));
        assert_memory_equal(p, data + off, len);
    }
    assert_ok(store_blob_read(b, 0, n, &p));
    assert_memory_equal(p, data, n);
    assert_int_equal(store_blob_read(b, n - 1, 2, &p), INFINO_ERR_CORRUPT);
    /* replaced under an open blob: reads of new ranges refuse */
    struct store_blob *b2;
    assert_ok(objstore_get(s, "sf/big", &b2));
    assert_ok(objstore_put(s, "sf/big", data, 1 << 20, STORE_REPLACE));
    assert_int_equal(store_blob_read(b2, 3 << 20, 10, &p), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "since it was opened"));
    store_blob_close(b2);
    store_blob_close(b);
    assert_ok(objstore_delete_prefix(s, "sf/"));
    objstore_close(s);
    mem_free(data);
}

/* Listings of several pages (`page_env` names the backend's page size
 * variable, read when the store opens). */
static inline void contract_list_pages(struct objstore *(*open_store)(const char *),
                                const char *page_env)
{
    setenv(page_env, "7", 1);
    struct objstore *s = open_store("pages");
    struct seen seen = {0};
    char key[64];
    for (int i = 0; i < 30; i++) {
        snprintf(key, sizeof key, "d/%03d", i);
        assert_ok(objstore_put(s, key, key, strlen(key), STORE_NOREPLACE));
    }
    assert_ok(objstore_list(s, "d/", count_cb, &seen));
    assert_int_equal(seen.n, 30);
    assert_ok(objstore_delete_prefix(s, "d/"));
    memset(&seen, 0, sizeof seen);
    assert_ok(objstore_list(s, "", count_cb, &seen));
    assert_int_equal(seen.n, 0);
    unsetenv(page_env);
    objstore_close(s);
}

#endif
