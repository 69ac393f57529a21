/*
 * parquet_codec_test.c - pq_compress/pq_decompress for every codec: round
 * trips (empty, tiny, incompressible, compressible), exact-size checks,
 * corrupt and truncated input, concatenated gzip members and zstd frames,
 * and allocation failures inside libzstd/zlib.
 */
#include "harness.h"

#include "format/parquet/pq_codec.h"
#include "util/alloc.h"
#include "util/compat.h"

#include <zlib.h>

static const enum pq_codec all_codecs[] = {PQ_UNCOMPRESSED, PQ_SNAPPY,
                                           PQ_GZIP, PQ_ZSTD};

static void fill_text(uint8_t *p, size_t n)
{
    static const char *words[] = {"doc ", "body ", "vector ", "rank ",
                                  "bm25 ", "query "};
    size_t i = 0;
    while (i < n) {
        const char *w = words[test_rand() % 6];
        for (size_t j = 0; w[j] && i < n; j++)
            p[i++] = (uint8_t)w[j];
    }
}

static void check_round_trip(enum pq_codec c, const uint8_t *src, size_t n)
{
    struct buf out = {0};
    uint8_t *d = mem_alloc(n + 1);

    /* output is appended after what the buffer already holds */
    assert_ok(buf_append(&out, "HDR", 3));
    assert_ok(pq_compress(c, 3, src, n, &out));
    assert_memory_equal(out.data, "HDR", 3);
    assert_ok(pq_decompress(c, out.data + 3, out.len - 3, d, n));
    if (n)
        assert_memory_equal(d, src, n);
    /* any other expected size is corrupt */
    assert_int_equal(pq_decompress(c, out.data + 3, out.len - 3, d, n + 1),
                     INFINO_ERR_CORRUPT);
    if (n > 0)
        assert_int_equal(
            pq_decompress(c, out.data + 3, out.len - 3, d, n - 1),
            INFINO_ERR_CORRUPT);
    buf_free(&out);
    mem_free(d);
}

static void test_parquet_codec__round_trips(void **state)
{
    size_t big = 1u << 20;
    uint8_t *p = mem_alloc(big);
    (void)state;

    for (size_t k = 0; k < ARRAY_LEN(all_codecs); k++) {
        enum pq_codec c = all_codecs[k];
        check_round_trip(c, p, 0);
        for (size_t n = 1; n < 40; n++) {
            fill_text(p, n);
            check_round_trip(c, p, n);
        }
        fill_text(p, big);
        check_round_trip(c, p, big);
        for (size_t i = 0; i < big; i++)
            p[i] = (uint8_t)test_rand();
        check_round_trip(c, p, big);
    }
    mem_free(p);
}

static void test_parquet_codec__compresses(void **state)
{
    size_t n = 200000;
    uint8_t *p = mem_alloc(n);
    (void)state;

    fill_text(p, n);
    for (size_t k = 1; k < ARRAY_LEN(all_codecs); k++) {
        struct buf out = {0};
        assert_ok(pq_compress(all_codecs[k], 1, p, n, &out));
        assert_true(out.len < n / 3);
        buf_free(&out);
    }
    mem_free(p);
}

static void test_parquet_codec__corrupt_rejected(void **state)
{
    size_t n = 50000;
    uint8_t *p = mem_alloc(n), *d = mem_alloc(n);
    (void)state;

    fill_text(p, n);
    for (size_t k = 1; k < ARRAY_LEN(all_codecs); k++) {
        enum pq_codec c = all_codecs[k];
        struct buf out = {0};
        assert_ok(pq_compress(c, 1, p, n, &out));
        /* truncated anywhere */
        for (size_t cut = 0; cut < out.len; cut += 1 + out.len / 50)
            assert_int_equal(pq_decompress(c, out.data, cut, d, n),
                             INFINO_ERR_CORRUPT);
        /* trailing garbage */
        assert_ok(buf_append(&out, "\x01\x02\x03", 3));
        assert_int_equal(pq_decompress(c, out.data, out.len, d, n),
                         INFINO_ERR_CORRUPT);
        out.len -= 3;
        /* random byte flips: must fail cleanly or (rarely, for formats
         * without checksums) decode to something of the right size */
        for (int t = 0; t < 200; t++) {
            size_t at = test_rand() % out.len;
            uint8_t old = out.data[at];
            infino_status st;
            out.data[at] ^= (uint8_t)(1 + test_rand() % 255);
            st = pq_decompress(c, out.data, out.len, d, n);
            assert_true(st == INFINO_OK || st == INFINO_ERR_CORRUPT);
            out.data[at] = old;
        }
        buf_free(&out);
    }
    /* uncompressed: lengths must agree */
    assert_int_equal(pq_decompress(PQ_UNCOMPRESSED, p, 10, d, 11),
                     INFINO_ERR_CORRUPT);
    assert_int_equal(pq_decompress((enum pq_codec)4, p, 10, d, 10),
                     INFINO_ERR_UNSUPPORTED);
    assert_int_equal(pq_decompress(PQ_ZSTD, p, 0, d, 0), INFINO_ERR_CORRUPT);
    assert_int_equal(pq_decompress(PQ_GZIP, p, 0, d, 0), INFINO_ERR_CORRUPT);
    mem_free(p);
    mem_free(d);
}

/* Parquet readers must accept GZIP pages made of several gzip members
 * (RFC 1952 2.2), and zstd pages of several frames. */
static void test_parquet_codec__concatenated(void **state)
{
    uint8_t a[3000], b[5000], d[8000];
    (void)state;

    fill_text(a, sizeof a);
    fill_text(b, sizeof b);
    for (int k = 0; k < 2; k++) {
        enum pq_codec c = k ? PQ_ZSTD : PQ_GZIP;
        struct buf out = {0};
        assert_ok(pq_compress(c, 1, a, sizeof a, &out));
        assert_ok(pq_compress(c, 1, b, sizeof b, &out));
        assert_ok(pq_decompress(c, out.data, out.len, d, sizeof d));
        assert_memory_equal(d, a, sizeof a);
        assert_memory_equal(d + sizeof a, b, sizeof b);
        buf_free(&out);
    }
    /* a zlib-wrapped stream (RFC 1950) from zlib itself is accepted too */
    {
        uLongf clen = compressBound(sizeof a);
        uint8_t *cz = mem_alloc(clen);
        assert_int_equal(compress(cz, &clen, a, sizeof a), Z_OK);
        assert_ok(pq_decompress(PQ_GZIP, cz, clen, d, sizeof a));
        assert_memory_equal(d, a, sizeof a);
        mem_free(cz);
    }
}

/* Every allocation inside the codecs can fail: the result is NOMEM (never
 * a crash or a leak, which ASan checks), and a later call works. */
static void test_parquet_codec__allocation_failures(void **state)
{
    uint8_t src[20000], d[20000];
    (void)state;

    fill_text(src, sizeof src);
    for (size_t k = 1; k < ARRAY_LEN(all_codecs); k++) {
        enum pq_codec c = all_codecs[k];
        struct buf good = {0};
        assert_ok(pq_compress(c, 1, src, sizeof src, &good));
        for (long n = 1; n < 200; n++) {
            struct buf out = {0};
            infino_status st1, st2;
            pq_codec_thread_cleanup();
            mem_fail_after(n);
            st1 = pq_compress(c, 1, src, sizeof src, &out);
            st2 = pq_decompress(c, good.data, good.len, d, sizeof d);
            mem_fail_reset();
            assert_true(st1 == INFINO_OK || st1 == INFINO_ERR_NOMEM);
            assert_true(st2 == INFINO_OK || st2 == INFINO_ERR_NOMEM);
            if (st2 == INFINO_OK)
                assert_memory_equal(d, src, sizeof src);
            buf_free(&out);
            if (st1 == INFINO_OK && st2 == INFINO_OK)
                break;
        }
        assert_ok(pq_decompress(c, good.data, good.len, d, sizeof d));
        buf_free(&good);
    }
    pq_codec_thread_cleanup();
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parquet_codec__round_trips),
        cmocka_unit_test(test_parquet_codec__compresses),
        cmocka_unit_test(test_parquet_codec__corrupt_rejected),
        cmocka_unit_test(test_parquet_codec__concatenated),
        cmocka_unit_test(test_parquet_codec__allocation_failures),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pq_codec_thread_cleanup();
    return rc;
}
