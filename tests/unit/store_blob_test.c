/*
 * store_blob_test.c - store_blob_release(): a mapped file gives its pages
 * back to the kernel and still reads the same bytes afterwards; memory
 * blobs keep their bytes (madvise on anonymous memory would zero them).
 */
#include "harness.h"

#include "store/store.h"
#include "util/alloc.h"

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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_blob__release_mapped_file),
        cmocka_unit_test(test_store_blob__release_memory_blobs),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
