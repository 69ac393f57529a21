/*
 * util_basics_test.c - crc32c, buffers, varints, base64, errors, alloc hooks.
 */
#include "harness.h"

#include "util/alloc.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/rd.h"

static void test_util_crc32c__check_value(void **state)
{
    (void)state;
    assert_int_equal(crc32c("123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c_extend_portable(0, "123456789", 9), 0xE3069283u);
    assert_int_equal(crc32c("", 0), 0);
}

static void test_util_crc32c__hw_matches_portable(void **state)
{
    uint8_t data[1000];
    (void)state;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)test_rand();
    for (size_t n = 0; n < sizeof data; n += 7) {
        uint32_t a = crc32c(data, n);
        assert_int_equal(a, crc32c_extend_portable(0, data, n));
        /* extending in two pieces equals one pass */
        uint32_t b = crc32c_extend(crc32c(data, n / 3), data + n / 3, n - n / 3);
        assert_int_equal(a, b);
    }
}

static void test_util_varint__roundtrip(void **state)
{
    struct buf b = {0};
    static const int64_t vals[] = {0, 1, -1, 63, -64, 64, 127, 128, 300,
                                   INT64_MAX, INT64_MIN, -123456789};
    (void)state;
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        assert_ok(buf_put_svarint(&b, vals[i]));
        assert_ok(buf_put_uvarint(&b, (uint64_t)vals[i]));
    }
    struct rd r = rd_make(b.data, b.len);
    for (size_t i = 0; i < sizeof vals / sizeof vals[0]; i++) {
        int64_t s;
        uint64_t u;
        assert_int_equal(rd_svarint(&r, &s), 0);
        assert_true(s == vals[i]);
        assert_int_equal(rd_uvarint(&r, &u), 0);
        assert_true(u == (uint64_t)vals[i]);
    }
    assert_int_equal(rd_left(&r), 0);
    /* truncated and overlong inputs are rejected */
    uint8_t bad[11];
    memset(bad, 0xff, sizeof bad);
    r = rd_make(bad, sizeof bad);
    uint64_t u;
    assert_int_equal(rd_uvarint(&r, &u), -1);
    r = rd_make(bad, 3);
    assert_int_equal(rd_uvarint(&r, &u), -1);
    buf_free(&b);
}

static void test_util_base64__roundtrip(void **state)
{
    struct buf enc = {0}, dec = {0};
    uint8_t data[64];
    (void)state;
    for (size_t i = 0; i < sizeof data; i++)
        data[i] = (uint8_t)(i * 37 + 1);
    for (size_t n = 0; n <= sizeof data; n++) {
        buf_reset(&enc);
        buf_reset(&dec);
        assert_ok(base64_encode(&enc, data, n));
        assert_int_equal(enc.len, (n + 2) / 3 * 4);
        assert_ok(base64_decode(&dec, (char *)enc.data, enc.len));
        assert_int_equal(dec.len, n);
        assert_memory_equal(dec.data ? dec.data : (uint8_t *)"", data, n);
    }
    buf_reset(&enc);
    assert_ok(base64_encode(&enc, "foobar", 6));
    assert_memory_equal(enc.data, "Zm9vYmFy", 8);
    assert_int_equal(base64_decode(&dec, "Zm9v!mFy", 8), INFINO_ERR_CORRUPT);
    buf_free(&enc);
    buf_free(&dec);
}

static void test_util_err__context_reads_outer_first(void **state)
{
    (void)state;
    infino_status st = err_set(INFINO_ERR_CORRUPT, "bad magic");
    st = err_context(st, "reading %s", "a.parquet");
    assert_int_equal(st, INFINO_ERR_CORRUPT);
    assert_string_equal(err_last(), "reading a.parquet: bad magic");
    assert_int_equal(err_context(INFINO_OK, "ignored"), INFINO_OK);
    assert_string_equal(err_last(), "reading a.parquet: bad magic");
}

static void test_util_alloc__failure_injection(void **state)
{
    struct buf b = {0};
    (void)state;
    mem_fail_after(1);
    assert_int_equal(buf_append(&b, "x", 1), INFINO_ERR_NOMEM);
    assert_int_equal(b.len, 0);
    mem_fail_reset();
    assert_ok(buf_append(&b, "x", 1));
    assert_int_equal(mem_fail_count(), 1);
    buf_free(&b);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util_crc32c__check_value),
        cmocka_unit_test(test_util_crc32c__hw_matches_portable),
        cmocka_unit_test(test_util_varint__roundtrip),
        cmocka_unit_test(test_util_base64__roundtrip),
        cmocka_unit_test(test_util_err__context_reads_outer_first),
        cmocka_unit_test(test_util_alloc__failure_injection),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
