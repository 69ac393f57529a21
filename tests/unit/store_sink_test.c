/*
 * store_sink_test.c - blobs and publish-on-finish sinks.
 */
#include "harness.h"

#include "store/store.h"
#include "util/alloc.h"

static void test_store_sink__publish_and_read_back(void **state)
{
    char dir[256], path[300];
    struct store_sink *s;
    struct store_blob *b;
    const uint8_t *p;
    (void)state;

    test_tmpdir(dir, sizeof dir, "sink");
    snprintf(path, sizeof path, "%s/obj.bin", dir);
    assert_ok(store_sink_open_file(&s, path));
    assert_ok(store_sink_write(s, "hello ", 6));
    assert_int_equal(store_sink_tell(s), 6);
    /* nothing visible under the name before finish */
    assert_int_equal(store_blob_open_file(&b, path), INFINO_ERR_NOTFOUND);
    assert_ok(store_sink_finish(s, STORE_NOREPLACE));
    assert_ok(store_blob_open_file(&b, path));
    assert_int_equal(store_blob_size(b), 6);
    assert_ok(store_blob_read(b, 0, 6, &p));
    assert_memory_equal(p, "hello ", 6);
    assert_int_equal(store_blob_read(b, 4, 3, &p), INFINO_ERR_CORRUPT);
    store_blob_close(b);

    /* create-if-absent refuses to replace; replace mode does */
    assert_ok(store_sink_open_file(&s, path));
    assert_ok(store_sink_write(s, "x", 1));
    assert_int_equal(store_sink_finish(s, STORE_NOREPLACE), INFINO_ERR_EXISTS);
    assert_ok(store_sink_open_file(&s, path));
    assert_ok(store_sink_write(s, "xy", 2));
    assert_ok(store_sink_finish(s, STORE_REPLACE));
    assert_ok(store_blob_open_file(&b, path));
    assert_int_equal(store_blob_size(b), 2);
    store_blob_close(b);
}

static void test_store_sink__large_writes_and_abort(void **state)
{
    char dir[256], path[300];
    struct store_sink *s;
    struct store_blob *b;
    const uint8_t *p;
    size_t n = 3u << 20;
    uint8_t *big = mem_alloc(n);
    (void)state;

    for (size_t i = 0; i < n; i++)
        big[i] = (uint8_t)(i * 13);
    test_tmpdir(dir, sizeof dir, "sink");
    snprintf(path, sizeof path, "%s/big.bin", dir);
    assert_ok(store_sink_open_file(&s, path));
    assert_ok(store_sink_write(s, big, 100));
    assert_ok(store_sink_write(s, big + 100, n - 100));
    assert_ok(store_sink_finish(s, STORE_REPLACE));
    assert_ok(store_blob_open_file(&b, path));
    assert_ok(store_blob_read(b, 0, n, &p));
    assert_memory_equal(p, big, n);
    store_blob_close(b);

    snprintf(path, sizeof path, "%s/aborted.bin", dir);
    assert_ok(store_sink_open_file(&s, path));
    assert_ok(store_sink_write(s, big, 10));
    store_sink_abort(s);
    assert_int_equal(store_blob_open_file(&b, path), INFINO_ERR_NOTFOUND);
    mem_free(big);
}

static void test_store_sink__memory(void **state)
{
    struct store_sink *s;
    uint8_t *data;
    size_t len;
    (void)state;
    assert_ok(store_sink_open_memory(&s, "m"));
    assert_ok(store_sink_write(s, "abc", 3));
    assert_ok(store_sink_take_memory(s, &data, &len));
    assert_int_equal(len, 3);
    assert_memory_equal(data, "abc", 3);
    mem_free(data);
}

/* A file larger than the writeback step, written in pieces below and
 * above the buffer size, reads back exactly (the writeback hints given on
 * the way change nothing but timing). */
static void test_store_sink__writeback_of_large_files(void **state)
{
    char dir[256], path[300];
    size_t n = (40u << 20) + 77, off = 0;
    uint8_t *data = malloc(n);
    struct store_sink *s;
    struct store_blob *b;
    const uint8_t *p;
    (void)state;

    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(i * 7 + (i >> 20));
    test_tmpdir(dir, sizeof dir, "sink");
    snprintf(path, sizeof path, "%s/large.bin", dir);
    assert_ok(store_sink_open_file(&s, path));
    while (off < n) {
        size_t k = test_rand() % 3 == 0 ? test_rand() % (3u << 20)
                                        : test_rand() % 5000;
        if (k > n - off)
            k = n - off;
        assert_ok(store_sink_write(s, data + off, k));
        off += k;
    }
    assert_int_equal(store_sink_tell(s), n);
    assert_ok(store_sink_finish(s, STORE_REPLACE));
    assert_ok(store_blob_open_file(&b, path));
    assert_int_equal(store_blob_size(b), n);
    assert_ok(store_blob_read(b, 0, n, &p));
    assert_memory_equal(p, data, n);
    store_blob_close(b);
    free(data);
}

/* Every directory store_mkdirs() creates gets its parent fsynced (one
 * directory fsync per created level), folders that exist cost none, and a
 * file in the way is an I/O error naming it. */
static void test_store_sink__mkdirs_syncs_what_it_creates(void **state)
{
    char dir[256], path[400], file[300];
    uint64_t before;
    struct stat sb;
    FILE *f;
    (void)state;

    test_tmpdir(dir, sizeof dir, "mkdirs");
    snprintf(path, sizeof path, "%s/a/b/c", dir);
    before = store_dir_fsyncs();
    assert_ok(store_mkdirs(path));
    assert_int_equal(store_dir_fsyncs() - before, 3);
    assert_int_equal(stat(path, &sb), 0);
    assert_true(S_ISDIR(sb.st_mode));

    before = store_dir_fsyncs();
    assert_ok(store_mkdirs(path)); /* all there: no fsync */
    assert_int_equal(store_dir_fsyncs() - before, 0);
    snprintf(path, sizeof path, "%s/a/b/d/", dir); /* trailing '/' */
    assert_ok(store_mkdirs(path));
    assert_int_equal(store_dir_fsyncs() - before, 1);
    assert_int_equal(stat(path, &sb), 0);

    snprintf(file, sizeof file, "%s/a/plain", dir);
    f = fopen(file, "w");
    assert_non_null(f);
    fclose(f);
    before = store_dir_fsyncs();
    snprintf(path, sizeof path, "%s/x/y", file);
    assert_int_equal(store_mkdirs(path), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), file));
    assert_int_equal(store_mkdirs(file), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), file));
    assert_non_null(strstr(err_last(), "Not a directory"));
    assert_int_equal(store_dir_fsyncs() - before, 0);
    assert_int_equal(store_mkdirs(""), INFINO_ERR_INVALID);
}

/* A file whose name takes a whole path component (255 bytes) can be
 * published, both ways, again and again: the hidden temporary beside it
 * must not be longer than the name (a table's drop marker is such a
 * name at the longest table name). */
static void test_store_sink__longest_file_name(void **state)
{
    char dir[256], path[600], leaf[256];
    struct store_sink *s;
    struct store_blob *b;
    (void)state;

    memset(leaf, 'n', 255);
    leaf[255] = '\0';
    test_tmpdir(dir, sizeof dir, "sink");
    snprintf(path, sizeof path, "%s/%s", dir, leaf);
    for (int i = 0; i < 3; i++) {
        assert_ok(store_sink_open_file(&s, path));
        assert_ok(store_sink_write(s, "abc", 3));
        assert_ok(store_sink_finish(s, i == 0 ? STORE_NOREPLACE
                                              : STORE_REPLACE));
    }
    assert_ok(store_blob_open_file(&b, path));
    assert_int_equal(store_blob_size(b), 3);
    store_blob_close(b);
    /* a name that does not fit is an error, not a crash */
    snprintf(path, sizeof path, "%s/%sx", dir, leaf);
    assert_ok(store_sink_open_file(&s, path));
    assert_ok(store_sink_write(s, "abc", 3));
    assert_int_not_equal(store_sink_finish(s, STORE_REPLACE), INFINO_OK);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_sink__publish_and_read_back),
        cmocka_unit_test(test_store_sink__large_writes_and_abort),
        cmocka_unit_test(test_store_sink__memory),
        cmocka_unit_test(test_store_sink__writeback_of_large_files),
        cmocka_unit_test(test_store_sink__mkdirs_syncs_what_it_creates),
        cmocka_unit_test(test_store_sink__longest_file_name),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
