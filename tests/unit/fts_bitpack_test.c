/*
 * fts_bitpack_test.c - 128-value bit packing: every width round-trips, the
 * SIMD unpacker equals the scalar one (which defines the layout), the
 * layout is the documented lane interleave, and the gap prefix sum.
 */
#include "harness.h"

#include "index/fts/fts_int.h"

static void test_fts_bitpack__roundtrip_every_width(void **state)
{
    uint32_t in[FTS_BLOCK_LEN], a[FTS_BLOCK_LEN], b[FTS_BLOCK_LEN];
    uint8_t packed[16 * 32 + 16];
    (void)state;

    test_seed();
    for (unsigned bits = 0; bits <= 32; bits++) {
        for (int iter = 0; iter < 200; iter++) {
            uint64_t mask = bits == 32 ? UINT32_MAX : (1ull << bits) - 1;
            for (unsigned i = 0; i < FTS_BLOCK_LEN; i++)
                in[i] = (uint32_t)(iter == 0 ? mask : test_rand() & mask);
            memset(packed, 0xa5, sizeof packed);
            fts_pack128(packed, in, bits);
            /* nothing written past 16 * bits bytes */
            for (size_t j = 16 * bits; j < sizeof packed; j++)
                assert_int_equal(packed[j], 0xa5);
            fts_unpack128(a, packed, bits);
            fts_unpack128_scalar(b, packed, bits);
            assert_memory_equal(a, in, sizeof in);
            assert_memory_equal(b, in, sizeof in);
        }
    }
}

/* The layout, spelled out for width 3: value i sits in lane i % 4 at bit
 * 3 * (i / 4); word j of lane l is 32-bit word 4j + l. */
static void test_fts_bitpack__lane_layout(void **state)
{
    uint32_t in[FTS_BLOCK_LEN] = {0};
    uint8_t packed[16 * 3];
    (void)state;

    in[0] = 5;  /* lane 0, bits 0..2 of word 0 */
    in[5] = 7;  /* lane 1, slot 1: bits 3..5 of word 1 */
    in[42] = 3; /* lane 2, slot 10: bits 30..32: straddles words 2, 6 */
    fts_pack128(packed, in, 3);
    assert_int_equal(load_u32le(packed + 0), 5);
    assert_int_equal(load_u32le(packed + 4), 7u << 3);
    assert_int_equal(load_u32le(packed + 8), 3u << 30);
    assert_int_equal(load_u32le(packed + 24), 0); /* bit 32 of lane 2 is 0 */
    for (int j = 0; j < 12; j++)
        if (j != 0 && j != 1 && j != 2)
            assert_int_equal(load_u32le(packed + 4 * j), 0);
}

static void test_fts_bitpack__gaps_to_docs(void **state)
{
    uint32_t a[FTS_BLOCK_LEN], b[FTS_BLOCK_LEN];
    (void)state;

    test_seed();
    for (int iter = 0; iter < 500; iter++) {
        uint32_t base = iter % 3 == 0 ? FTS_NO_DOC : (uint32_t)test_rand();
        uint32_t want[FTS_BLOCK_LEN], acc = base;
        for (unsigned i = 0; i < FTS_BLOCK_LEN; i++) {
            a[i] = b[i] = (uint32_t)(test_rand() % (iter % 2 ? 5 : 100000));
            acc += a[i] + 1;
            want[i] = acc;
        }
        fts_gaps_to_docs128(a, base);
        fts_gaps_to_docs128_scalar(b, base);
        assert_memory_equal(a, want, sizeof a);
        assert_memory_equal(b, want, sizeof b);
    }
    /* from "no previous doc": gaps of zero give 0, 1, 2, ... */
    memset(a, 0, sizeof a);
    fts_gaps_to_docs128(a, FTS_NO_DOC);
    for (unsigned i = 0; i < FTS_BLOCK_LEN; i++)
        assert_int_equal(a[i], i);
    for (unsigned i = 0; i < FTS_BLOCK_LEN; i++)
        a[i] = i;
    fts_plus_one128(a);
    for (unsigned i = 0; i < FTS_BLOCK_LEN; i++)
        assert_int_equal(a[i], i + 1);
    fts_iota128(a, 4000000000u);
    for (unsigned i = 0; i < FTS_BLOCK_LEN; i++)
        assert_int_equal(a[i], 4000000000u + i);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fts_bitpack__roundtrip_every_width),
        cmocka_unit_test(test_fts_bitpack__lane_layout),
        cmocka_unit_test(test_fts_bitpack__gaps_to_docs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
