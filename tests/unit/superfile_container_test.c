/*
 * superfile_container_test.c - regions around the Parquet body.
 */
#include "harness.h"

#include "superfile/superfile.h"
#include "util/alloc.h"

/* A tiny one-column schema and batch. */
static void make_schema(struct ar_schema *s)
{
    memset(s, 0, sizeof *s);
    s->fields = mem_calloc(1, sizeof *s->fields);
    s->fields[0].name = mem_strdup("x");
    s->fields[0].type = AR_INT64;
    s->fields[0].nullable = false;
    s->n_fields = 1;
}

static void make_batch(struct ArrowArray *out, int64_t n)
{
    int64_t *v = mem_alloc((size_t)n * 8);
    struct ArrowArray col;
    for (int64_t i = 0; i < n; i++)
        v[i] = i * 3;
    void *bufs[2] = {NULL, v};
    assert_ok(ar_array_make(&col, n, 0, 2, bufs, 0, NULL));
    void *sbufs[1] = {NULL};
    assert_ok(ar_array_make(out, n, 0, 1, sbufs, 1, &col));
}

/* Writes a superfile with the given regions into memory. */
static uint8_t *write_file(size_t *len, int n_regions, const char **names,
                           const size_t *sizes)
{
    struct ar_schema s;
    struct store_sink *sink;
    struct sf_writer *w;
    struct ArrowArray batch;
    uint8_t *data;

    make_schema(&s);
    assert_ok(store_sink_open_memory(&sink, "mem.sf.parquet"));
    assert_ok(sf_writer_open(&w, sink, &s, NULL));
    make_batch(&batch, 1000);
    assert_ok(sf_writer_write(w, &batch));
    ar_array_release(&batch);
    for (int i = 0; i < n_regions; i++) {
        uint8_t *r = mem_alloc(sizes[i] + 1);
        for (size_t j = 0; j < sizes[i]; j++)
            r[j] = (uint8_t)(j * 31 + (size_t)i);
        assert_ok(sf_writer_add_region(w, names[i], r, sizes[i]));
        mem_free(r);
    }
    assert_ok(sf_writer_finish(w));
    sf_writer_free(w);
    assert_ok(store_sink_take_memory(sink, &data, len));
    ar_schema_free(&s);
    return data;
}

static void test_superfile_container__roundtrip(void **state)
{
    const char *names[] = {"fts.0", "ivf.0", "empty"};
    size_t sizes[] = {4096, 12345, 0};
    size_t len;
    uint8_t *data = write_file(&len, 3, names, sizes);
    struct store_blob *b;
    struct sf_reader *r;
    const uint8_t *p;
    size_t n;
    (void)state;

    assert_ok(store_blob_from_memory(&b, data, len, "mem", false));
    assert_ok(sf_reader_open(&r, b));
    assert_int_equal(sf_reader_n_regions(r), 3);
    assert_int_equal(pq_reader_num_rows(sf_reader_parquet(r)), 1000);
    assert_ok(sf_reader_region(r, "ivf.0", &p, &n));
    assert_int_equal(n, 12345);
    for (size_t j = 0; j < n; j++)
        assert_int_equal(p[j], (uint8_t)(j * 31 + 1));
    assert_ok(sf_reader_region(r, "empty", &p, &n));
    assert_int_equal(n, 0);
    assert_int_equal(sf_reader_region(r, "nope", &p, &n), INFINO_ERR_NOTFOUND);
    sf_reader_free(r);

    /* flip one byte of fts.0: that region fails, the others do not */
    uint64_t off, rlen;
    uint32_t crc;
    assert_ok(sf_reader_open(&r, b));
    assert_true(sf_reader_region_locate(r, "fts.0", &off, &rlen, &crc));
    sf_reader_free(r);
    data[off + 100] ^= 1;
    assert_ok(sf_reader_open(&r, b));
    assert_int_equal(sf_reader_region(r, "fts.0", &p, &n), INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "fts.0"));
    assert_non_null(strstr(err_last(), "mem"));
    assert_ok(sf_reader_region(r, "ivf.0", &p, &n));
    sf_reader_free(r);
    store_blob_close(b);
    mem_free(data);
}

static void test_superfile_container__writer_rules(void **state)
{
    struct ar_schema s;
    struct store_sink *sink;
    struct sf_writer *w;
    struct ArrowArray batch;
    (void)state;

    make_schema(&s);
    assert_ok(store_sink_open_memory(&sink, "m"));
    assert_ok(sf_writer_open(&w, sink, &s, NULL));
    assert_int_equal(sf_writer_add_region(w, "Bad Name", "x", 1),
                     INFINO_ERR_INVALID);
    assert_ok(sf_writer_add_region(w, "a", "x", 1));
    assert_int_equal(sf_writer_add_region(w, "a", "y", 1), INFINO_ERR_INVALID);
    make_batch(&batch, 10);
    /* rows after the first region are refused */
    assert_int_equal(sf_writer_write(w, &batch), INFINO_ERR_INVALID);
    ar_array_release(&batch);
    assert_int_equal(sf_writer_add_kv(w, "infino.region.x", "1:2:00000000"),
                     INFINO_ERR_INVALID);
    sf_writer_free(w);
    store_sink_abort(sink);
    ar_schema_free(&s);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_superfile_container__roundtrip),
        cmocka_unit_test(test_superfile_container__writer_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
