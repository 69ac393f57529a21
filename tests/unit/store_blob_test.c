/*
 * store_blob_test.c - store_blob_release(): a mapped file gives its pages
 * back to the kernel and still reads the same bytes afterwards; memory
 * blobs keep their bytes (madvise on anonymous memory would zero them).
 * Remote blobs fetch whole blocks on demand and keep what they fetched.
 */
#include "harness.h"

#include "store/store.h"
#include "util/alloc.h"
#include "util/err.h"

#include <pthread.h>

/* This process's resident file-backed memory (RssFile), in KiB; -1 when
 * /proc does not say. */
static long rss_file_kib(void)
{
    char line[256];
    long kib = -1;
    FILE *f = fopen("/proc/self/status", "r");

    if (f == NULL)
        return -1;
    while (fgets(line, sizeof line, f) != NULL)
        if (sscanf(line, "RssFile: %ld kB", &kib) == 1)
            break;
    fclose(f);
    return kib;
}

static uint8_t pattern(uint64_t i)
{
    return (uint8_t)((i * 2654435761u) >> 13);
}

/* Sums every byte of [off, off + len) of the blob (touching its pages)
 * and checks them against pattern(). */
static void check_range(struct store_blob *b, uint64_t off, size_t len)
{
    const uint8_t *p;

    assert_ok(store_blob_read(b, off, len, &p));
    for (size_t i = 0; i < len; i++)
        if (p[i] != pattern(off + i))
            fail_msg("byte %llu differs", (unsigned long long)(off + i));
}

static void test_store_blob__release_mapped_file(void **state)
{
    char dir[256], path[300];
    size_t n = (16u << 20) + 1234; /* not a whole number of pages */
    uint8_t *data = malloc(n);
    struct store_sink *s;
    struct store_blob *b;
    long before, touched, released;
    (void)state;

    for (size_t i = 0; i < n; i++)
        data[i] = pattern(i);
    test_tmpdir(dir, sizeof dir, "blob");
    snprintf(path, sizeof path, "%s/f.bin", dir);
    assert_ok(store_sink_open_file(&s, path));
    assert_ok(store_sink_write(s, data, n));
    assert_ok(store_sink_finish(s, STORE_NOSYNC));
    free(data);

    assert_ok(store_blob_open_file(&b, path));
    before = rss_file_kib();
    check_range(b, 0, n);
    touched = rss_file_kib();
    store_blob_release(b, 0, n);
    released = rss_file_kib();
    if (before >= 0) {
        /* the pages came in (they are in the page cache: just written) */
        assert_true(touched - before >= 15 * 1024);
        /* and left: every whole page of the file */
        assert_true(touched - released >= 15 * 1024);
    }
    /* the same bytes come back */
    check_range(b, 0, n);
    /* partial pages, empty and out-of-range requests: hints, no effect on
     * the contents */
    store_blob_release(b, 100, 10);
    store_blob_release(b, 4095, 4098);
    store_blob_release(b, n, 0);
    store_blob_release(b, n - 1, 2);
    store_blob_release(b, UINT64_MAX, 1);
    store_blob_release(b, 5, UINT64_MAX);
    check_range(b, 0, n);
    store_blob_close(b);
}

static void test_store_blob__release_memory_blobs(void **state)
{
    size_t n = 8u << 20;
    uint8_t *src = mem_alloc(n), *own = mem_alloc(n);
    struct store_blob *b[3];
    (void)state;

    for (size_t i = 0; i < n; i++)
        src[i] = own[i] = pattern(i);
    assert_ok(store_blob_from_memory(&b[0], src, n, "borrowed", false));
    assert_ok(store_blob_from_memory(&b[1], src, n, "copied", true));
    assert_ok(store_blob_take_memory(&b[2], own, n, "taken"));
    for (int k = 0; k < 3; k++) {
        store_blob_release(b[k], 0, n);
        check_range(b[k], 0, n);
        store_blob_close(b[k]);
    }
    for (size_t i = 0; i < n; i++)
        if (src[i] != pattern(i))
            fail_msg("borrowed byte %zu changed", i);
    mem_free(src);
}

/* A remote object in memory: counts fetches, fails on demand. */
struct fake_remote {
    const uint8_t *data;
    uint64_t size;
    int fetches;
    uint64_t fetched_bytes;
    bool fail;
    bool released;
};

static infino_status fake_fetch(void *payload, uint64_t off, size_t len,
                                uint8_t *dst)
{
    struct fake_remote *r = payload;
    if (r->fail)
        return err_set(INFINO_ERR_IO, "fake: unreachable");
    assert_true(off <= r->size && len <= r->size - off);
    memcpy(dst, r->data + off, len);
    __atomic_fetch_add(&r->fetches, 1, __ATOMIC_RELAXED);
    __atomic_fetch_add(&r->fetched_bytes, len, __ATOMIC_RELAXED);
    return INFINO_OK;
}

static void fake_release(void *payload)
{
    ((struct fake_remote *)payload)->released = true;
}

static void test_store_blob__remote_blocks(void **state)
{
    (void)state;
    uint64_t size = 3 * STORE_REMOTE_BLOCK + 1234;
    uint8_t *data = mem_alloc(size);
    for (uint64_t i = 0; i < size; i++)
        data[i] = pattern(i);
    struct fake_remote r = {.data = data, .size = size};
    struct store_blob *b;
    const uint8_t *p, *q;

    /* the tail came with the open */
    uint8_t *head = mem_alloc(1000);
    memcpy(head, data + size - 1000, 1000);
    assert_ok(store_blob_open_remote(&b, "s3://b/k", size, head, size - 1000,
                                     1000, fake_fetch, fake_release, &r));
    assert_int_equal(store_blob_size(b), size);
    assert_ok(store_blob_read(b, size - 8, 8, &p));
    assert_memory_equal(p, data + size - 8, 8);
    assert_int_equal(r.fetches, 0);
    /* a small read fetches its whole block, later reads inside it none */
    assert_ok(store_blob_read(b, 10, 4, &p));
    assert_memory_equal(p, data + 10, 4);
    assert_int_equal(r.fetches, 1);
    assert_int_equal(r.fetched_bytes, STORE_REMOTE_BLOCK);
    assert_ok(store_blob_read(b, 100, STORE_REMOTE_BLOCK - 100, &q));
    assert_memory_equal(q, data + 100, STORE_REMOTE_BLOCK - 100);
    assert_int_equal(r.fetches, 1);
    /* a read across blocks fetches them all in one request, the last
     * (short) block clamped to the end */
    assert_ok(store_blob_read(b, 2 * STORE_REMOTE_BLOCK - 1,
                              STORE_REMOTE_BLOCK + 2, &q));
    assert_memory_equal(q, data + 2 * STORE_REMOTE_BLOCK - 1,
                        STORE_REMOTE_BLOCK + 2);
    assert_int_equal(r.fetches, 2);
    assert_ok(store_blob_read(b, 3 * STORE_REMOTE_BLOCK + 1, 100, &q));
    assert_memory_equal(q, data + 3 * STORE_REMOTE_BLOCK + 1, 100);
    assert_int_equal(r.fetches, 2);
    assert_int_equal(r.fetched_bytes, size);
    /* earlier pointers stay valid */
    assert_memory_equal(p, data + 10, 4);
    /* a failed fetch is the fetch's error; out of range is CORRUPT */
    store_blob_close(b);
    assert_true(r.released);
    r = (struct fake_remote){.data = data, .size = size, .fail = true};
    assert_ok(store_blob_open_remote(&b, "s3://b/k", size, NULL, 0, 0,
                                     fake_fetch, fake_release, &r));
    assert_int_equal(store_blob_read(b, 0, 1, &p), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "unreachable"));
    r.fail = false;
    assert_ok(store_blob_read(b, 0, 1, &p));
    assert_int_equal(store_blob_read(b, size, 1, &p), INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "s3://b/k"));
    store_blob_close(b);
    mem_free(data);
}

struct reader_arg {
    struct store_blob *b;
    const uint8_t *data;
    uint64_t size;
    unsigned seed;
};

static void *reader(void *payload)
{
    struct reader_arg *a = payload;
    unsigned x = a->seed;
    for (int i = 0; i < 2000; i++) {
        x = x * 1103515245u + 12345u;
        uint64_t off = x % a->size;
        size_t len = (size_t)((x >> 8) % 5000);
        const uint8_t *p;
        if (len > a->size - off)
            len = (size_t)(a->size - off);
        if (store_blob_read(a->b, off, len, &p) != INFINO_OK ||
            memcmp(p, a->data + off, len) != 0)
            return (void *)1;
    }
    return NULL;
}

static void test_store_blob__remote_threads(void **state)
{
    (void)state;
    uint64_t size = 40 * STORE_REMOTE_BLOCK + 77;
    uint8_t *data = mem_alloc(size);
    for (uint64_t i = 0; i < size; i++)
        data[i] = pattern(i * 7);
    struct fake_remote r = {.data = data, .size = size};
    struct store_blob *b;
    assert_ok(store_blob_open_remote(&b, "remote", size, NULL, 0, 0,
                                     fake_fetch, fake_release, &r));
    pthread_t t[4];
    struct reader_arg args[4];
    for (int i = 0; i < 4; i++) {
        args[i] = (struct reader_arg){b, data, size, (unsigned)i + 1};
        pthread_create(&t[i], NULL, reader, &args[i]);
    }
    for (int i = 0; i < 4; i++) {
        void *ret;
        pthread_join(t[i], &ret);
        assert_null(ret);
    }
    store_blob_close(b);
    mem_free(data);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_blob__release_mapped_file),
        cmocka_unit_test(test_store_blob__release_memory_blobs),
        cmocka_unit_test(test_store_blob__remote_blocks),
        cmocka_unit_test(test_store_blob__remote_threads),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
