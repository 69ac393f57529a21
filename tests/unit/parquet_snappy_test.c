/*
 * parquet_snappy_test.c - our snappy block codec against vectors built by
 * hand from google/snappy's format_description.txt, plus round trips of
 * compressible, incompressible and boundary-sized inputs.
 */
#include "harness.h"

#include "format/parquet/pq_codec.h"
#include "util/alloc.h"

/* Decodes `src` and checks the result is exactly `want`. */
static void expect_decode(const uint8_t *src, size_t n, const char *want,
                          size_t want_len)
{
    uint8_t out[512];
    uint64_t len;

    assert_int_equal(pq_snappy_uncompressed_len(&len, src, n), 0);
    assert_int_equal(len, want_len);
    assert_int_equal(pq_snappy_decompress(out, want_len, src, n), 0);
    assert_memory_equal(out, want, want_len);
    /* a wrong expected size is always refused */
    assert_int_equal(pq_snappy_decompress(out, want_len + 1, src, n), -1);
    if (want_len > 0)
        assert_int_equal(pq_snappy_decompress(out, want_len - 1, src, n), -1);
}

static void test_parquet_snappy__preamble_varints(void **state)
{
    /* format_description.txt section 1: 64 -> 0x40, 2097150 -> FE FF 7F */
    static const uint8_t a[] = {0x40};
    static const uint8_t b[] = {0xFE, 0xFF, 0x7F};
    static const uint8_t too_long[] = {0x80, 0x80, 0x80, 0x80, 0x80, 0x01};
    /* 2^33 - 1: more than 32 bits */
    static const uint8_t too_big[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x1F};
    static const uint8_t max32[] = {0xFF, 0xFF, 0xFF, 0xFF, 0x0F};
    static const uint8_t unterminated[] = {0x80};
    uint64_t v;
    (void)state;

    assert_int_equal(pq_snappy_uncompressed_len(&v, a, sizeof a), 0);
    assert_int_equal(v, 64);
    assert_int_equal(pq_snappy_uncompressed_len(&v, b, sizeof b), 0);
    assert_int_equal(v, 2097150);
    assert_int_equal(pq_snappy_uncompressed_len(&v, max32, sizeof max32), 0);
    assert_int_equal(v, UINT32_MAX);
    assert_int_equal(pq_snappy_uncompressed_len(&v, too_long, sizeof too_long),
                     -1);
    assert_int_equal(pq_snappy_uncompressed_len(&v, too_big, sizeof too_big),
                     -1);
    assert_int_equal(
        pq_snappy_uncompressed_len(&v, unterminated, sizeof unterminated), -1);
    assert_int_equal(pq_snappy_uncompressed_len(&v, a, 0), -1);
}

static void test_parquet_snappy__known_vectors(void **state)
{
    (void)state;
    {   /* empty block: just the preamble */
        static const uint8_t v[] = {0x00};
        expect_decode(v, sizeof v, "", 0);
    }
    {   /* 2.1: literal of length 1 has tag (1 - 1) << 2 */
        static const uint8_t v[] = {0x01, 0x00, 'a'};
        expect_decode(v, sizeof v, "a", 1);
    }
    {   /* 2.2.1: copy with 1-byte offset: len 8 at offset 4 */
        static const uint8_t v[] = {12, 3 << 2, 'a', 'b', 'c', 'd',
                                    0x01 | (8 - 4) << 2, 4};
        expect_decode(v, sizeof v, "abcdabcdabcd", 12);
    }
    {   /* overlapping copy: offset 1 repeats one byte (run-length) */
        static const uint8_t v[] = {11, 0x00, 'z', 0x01 | (10 - 4) << 2, 1};
        expect_decode(v, sizeof v, "zzzzzzzzzzz", 11);
    }
    {   /* 2.2.1: the offset's high 3 bits live in the tag's top bits */
        uint8_t v[300], want[300];
        size_t n = 0;
        /* preamble 264 = 0x108; a 259-byte literal needs tag 61 (two
         * length bytes, 258); then a 5-byte copy at offset 258 */
        for (int i = 0; i < 259; i++)
            want[i] = (uint8_t)(i * 7 + 3);
        memcpy(want + 259, want + 259 - 258, 5);
        v[n++] = 0x88;
        v[n++] = 0x02;
        v[n++] = 61 << 2;
        v[n++] = 258 & 0xff;
        v[n++] = 258 >> 8;
        memcpy(v + n, want, 259);
        n += 259;
        v[n++] = (uint8_t)(0x01 | (5 - 4) << 2 | (258 >> 8) << 5);
        v[n++] = 258 & 0xff;
        expect_decode(v, n, (const char *)want, 264);
    }
    {   /* 2.2.2 and 2.2.3: 2- and 4-byte offsets */
        static const uint8_t v[] = {
            13,  3 << 2, 'x', 'y', 'z', 'w', 0x02 | (5 - 1) << 2, 4, 0,
            0x03 | (4 - 1) << 2, 9, 0, 0, 0};
        expect_decode(v, sizeof v, "xyzwxyzwxxyzw", 13);
    }
    {   /* literal with a 1-byte length (tag 60): 61 bytes */
        uint8_t v[64];
        char want[61];
        memset(want, 'q', sizeof want);
        v[0] = 61;
        v[1] = 60 << 2;
        v[2] = 60;
        memcpy(v + 3, want, 61);
        expect_decode(v, 64, want, 61);
    }
}

static void test_parquet_snappy__corrupt_rejected(void **state)
{
    uint8_t out[64];
    (void)state;
    {   /* offset 0 */
        static const uint8_t v[] = {5, 0x00, 'a', 0x01, 0};
        assert_int_equal(pq_snappy_decompress(out, 5, v, sizeof v), -1);
    }
    {   /* offset reaches before the start of the output */
        static const uint8_t v[] = {5, 0x00, 'a', 0x01, 2};
        assert_int_equal(pq_snappy_decompress(out, 5, v, sizeof v), -1);
    }
    {   /* literal longer than the remaining input */
        static const uint8_t v[] = {4, 3 << 2, 'a', 'b'};
        assert_int_equal(pq_snappy_decompress(out, 4, v, sizeof v), -1);
    }
    {   /* literal longer than the declared output */
        static const uint8_t v[] = {1, 1 << 2, 'a', 'b'};
        assert_int_equal(pq_snappy_decompress(out, 1, v, sizeof v), -1);
    }
    {   /* copy running past the declared output */
        static const uint8_t v[] = {6, 0x00, 'a', 0x01 | (8 - 4) << 2, 1};
        assert_int_equal(pq_snappy_decompress(out, 6, v, sizeof v), -1);
    }
    {   /* truncated copy operands, each kind */
        static const uint8_t v1[] = {5, 0x00, 'a', 0x01};
        static const uint8_t v2[] = {5, 0x00, 'a', 0x02 | 3 << 2, 1};
        static const uint8_t v4[] = {5, 0x00, 'a', 0x03 | 3 << 2, 1, 0, 0};
        assert_int_equal(pq_snappy_decompress(out, 5, v1, sizeof v1), -1);
        assert_int_equal(pq_snappy_decompress(out, 5, v2, sizeof v2), -1);
        assert_int_equal(pq_snappy_decompress(out, 5, v4, sizeof v4), -1);
    }
    {   /* truncated long-literal length bytes */
        static const uint8_t v[] = {100, 63 << 2, 1, 0};
        assert_int_equal(pq_snappy_decompress(out, 64, v, sizeof v), -1);
    }
    {   /* a 4-byte literal length near 2^32 must not wrap */
        static const uint8_t v[] = {10, 63 << 2, 0xff, 0xff, 0xff, 0xff, 'a'};
        assert_int_equal(pq_snappy_decompress(out, 10, v, sizeof v), -1);
    }
    {   /* output shorter than the preamble says */
        static const uint8_t v[] = {3, 0x00, 'a'};
        assert_int_equal(pq_snappy_decompress(out, 3, v, sizeof v), -1);
    }
    {   /* empty input has no preamble */
        assert_int_equal(pq_snappy_decompress(out, 0, out, 0), -1);
    }
}

static void round_trip(const uint8_t *src, size_t n)
{
    size_t cap = pq_snappy_max_compressed_len(n);
    uint8_t *c = mem_alloc(cap), *d = mem_alloc(n);
    size_t clen = pq_snappy_compress(c, src, n);

    assert_true(clen <= cap);
    assert_int_equal(pq_snappy_decompress(d, n, c, clen), 0);
    if (n)
        assert_memory_equal(d, src, n);
    /* every strict prefix of a valid block is rejected */
    if (clen > 1)
        assert_int_equal(pq_snappy_decompress(d, n, c, clen - 1), -1);
    mem_free(c);
    mem_free(d);
}

static void test_parquet_snappy__round_trips(void **state)
{
    size_t big = 300000;
    uint8_t *buf = mem_alloc(big);
    (void)state;

    /* all small sizes, random bytes and runs */
    for (size_t n = 0; n < 100; n++) {
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)test_rand();
        round_trip(buf, n);
        memset(buf, 'a', n);
        round_trip(buf, n);
    }
    /* sizes around the 64 KiB fragment boundary */
    for (size_t n = 65530; n < 65545; n++) {
        for (size_t i = 0; i < n; i++)
            buf[i] = (uint8_t)("abcdefgh"[test_rand() % 3] + (i % 5));
        round_trip(buf, n);
    }
    /* incompressible */
    for (size_t i = 0; i < big; i++)
        buf[i] = (uint8_t)test_rand();
    round_trip(buf, big);
    /* text-like: words drawn from a small vocabulary, long matches */
    {
        static const char *words[] = {"parquet ", "snappy ", "infino ",
                                      "index ",   "vector ", "the ",
                                      "a ",       "search "};
        size_t n = 0;
        while (n + 16 < big) {
            const char *w = words[test_rand() % 8];
            memcpy(buf + n, w, strlen(w));
            n += strlen(w);
        }
        round_trip(buf, n);
        size_t cap = pq_snappy_max_compressed_len(n);
        uint8_t *c = mem_alloc(cap);
        size_t clen = pq_snappy_compress(c, buf, n);
        /* a real compressor, not a literal copier */
        assert_true(clen < n / 2);
        mem_free(c);
    }
    /* long runs exercise copies longer than 64 bytes */
    memset(buf, 0, big);
    round_trip(buf, big);
    {
        size_t cap = pq_snappy_max_compressed_len(big);
        uint8_t *c = mem_alloc(cap);
        assert_true(pq_snappy_compress(c, buf, big) < big / 20);
        mem_free(c);
    }
    mem_free(buf);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parquet_snappy__preamble_varints),
        cmocka_unit_test(test_parquet_snappy__known_vectors),
        cmocka_unit_test(test_parquet_snappy__corrupt_rejected),
        cmocka_unit_test(test_parquet_snappy__round_trips),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
