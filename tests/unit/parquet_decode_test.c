/*
 * parquet_decode_test.c - the encodings, against reference encoders
 * written here from Encodings.md (RLE/bit-packed hybrid, DELTA_BINARY_
 * PACKED and the byte-array deltas, BYTE_STREAM_SPLIT) and the spec's own
 * worked examples; malformed streams must be INFINO_ERR_CORRUPT; the page
 * iterator over hand-built chunks (dictionary, index, v1, v2, CRC, codecs).
 */
#include "harness.h"

#include "format/parquet/pq_codec.h"
#include "format/parquet/pq_decode.h"
#include "util/alloc.h"

#include <zlib.h>

/* ---- reference encoders ----------------------------------------------- */

static void put_bits(uint8_t *out, uint64_t bitpos, uint64_t v, int bw)
{
    for (int b = 0; b < bw; b++, bitpos++)
        if ((v >> b) & 1)
            out[bitpos >> 3] |= (uint8_t)(1u << (bitpos & 7));
}

static uint64_t get_bits_naive(const uint8_t *in, uint64_t bitpos, int bw)
{
    uint64_t v = 0;
    for (int b = 0; b < bw; b++, bitpos++)
        v |= (uint64_t)((in[bitpos >> 3] >> (bitpos & 7)) & 1) << b;
    return v;
}

static uint32_t rand_value(int bw)
{
    if (bw == 0)
        return 0;
    return (uint32_t)(test_rand() & (bw == 32 ? 0xffffffffu : (1u << bw) - 1));
}

/* Appends a random run sequence holding `n` values (a bit-packed run may
 * hold up to 7 padding values past n) and the values to `want`. */
static void rle_encode_random(struct buf *b, uint32_t *want, size_t n, int bw)
{
    size_t have = 0;

    while (have < n) {
        if (test_rand() % 2) {
            size_t count = 1 + (size_t)(test_rand() % 40);
            uint32_t v = rand_value(bw);
            if (count > n - have)
                count = n - have;
            assert_ok(buf_put_uvarint(b, count << 1));
            for (int i = 0; i < (bw + 7) / 8; i++)
                assert_ok(buf_put_u8(b, (uint8_t)(v >> (8 * i))));
            for (size_t i = 0; i < count; i++)
                want[have++] = v;
        } else {
            size_t groups = 1 + (size_t)(test_rand() % 6), base = b->len;
            assert_ok(buf_put_uvarint(b, groups << 1 | 1));
            base = b->len;
            assert_ok(buf_append_zeros(b, groups * (size_t)bw));
            for (size_t i = 0; i < groups * 8; i++) {
                uint32_t v = rand_value(bw);
                put_bits(b->data + base, (uint64_t)i * (uint64_t)bw, v, bw);
                if (have < n)
                    want[have++] = v;
            }
        }
    }
}

static void test_parquet_decode__unpack_every_width(void **state)
{
    uint8_t in[32 * 8 + 8];
    uint32_t out[72];
    (void)state;

    for (int bw = 0; bw <= 32; bw++) {
        for (size_t i = 0; i < sizeof in; i++)
            in[i] = (uint8_t)test_rand();
        for (size_t g = 0; g <= 8; g++) {
            memset(out, 0xab, sizeof out);
            pq_unpack_u32(out, in, g, bw);
            for (size_t i = 0; i < g * 8; i++)
                assert_int_equal(out[i],
                                 (uint32_t)get_bits_naive(in, i * (size_t)bw,
                                                          bw));
            assert_int_equal(out[g * 8], 0xabababab); /* no overrun */
        }
    }
}

static void test_parquet_decode__rle_spec_example(void **state)
{
    /* Encodings.md: 0..7 at bit width 3 as one bit-packed run is
     * 10001000 11000110 11111010; BIT_PACKED (deprecated, MSB first) is
     * 00000101 00111001 01110111. */
    static const uint8_t hybrid[] = {0x03, 0x88, 0xc6, 0xfa};
    static const uint8_t msb[] = {0x05, 0x39, 0x77};
    uint8_t out8[8];
    uint32_t out32[8];
    struct pq_rle d;
    size_t used;
    (void)state;

    pq_rle_init(&d, hybrid, sizeof hybrid, 3);
    assert_ok(pq_rle_get_u32(&d, out32, 8));
    for (uint32_t i = 0; i < 8; i++)
        assert_int_equal(out32[i], i);
    pq_rle_init(&d, hybrid, sizeof hybrid, 3);
    assert_ok(pq_rle_get_u8(&d, out8, 8));
    for (int i = 0; i < 8; i++)
        assert_int_equal(out8[i], i);
    assert_int_equal(pq_rle_get_u8(&d, out8, 1), INFINO_ERR_CORRUPT);
    assert_ok(pq_bit_packed_get_u8(out8, 8, 3, msb, sizeof msb, &used));
    assert_int_equal(used, 3);
    for (int i = 0; i < 8; i++)
        assert_int_equal(out8[i], i);
    assert_int_equal(pq_bit_packed_get_u8(out8, 8, 3, msb, 2, &used),
                     INFINO_ERR_CORRUPT);
}

static void test_parquet_decode__rle_random_runs(void **state)
{
    (void)state;
    for (int bw = 0; bw <= 32; bw++) {
        for (int rep = 0; rep < 20; rep++) {
            size_t n = (size_t)(test_rand() % 2000);
            uint32_t *want = malloc((n + 8) * sizeof *want);
            uint32_t *got = malloc((n + 1) * sizeof *got);
            uint8_t *got8 = malloc(n + 1);
            struct buf b = {0};
            struct pq_rle d;
            size_t at = 0;
            rle_encode_random(&b, want, n, bw);
            /* exact-size copy so ASan sees any overread */
            uint8_t *enc = malloc(b.len ? b.len : 1);
            if (b.len)
                memcpy(enc, b.data, b.len);
            pq_rle_init(&d, enc, b.len, bw);
            while (at < n) { /* random chunks: partial groups and runs */
                size_t k = 1 + (size_t)(test_rand() % 50);
                if (k > n - at)
                    k = n - at;
                assert_ok(pq_rle_get_u32(&d, got + at, k));
                at += k;
            }
            assert_memory_equal(got, want, n * sizeof *got);
            if (bw <= 8) {
                pq_rle_init(&d, enc, b.len, bw);
                assert_ok(pq_rle_get_u8(&d, got8, n));
                for (size_t i = 0; i < n; i++)
                    assert_int_equal(got8[i], want[i]);
            }
            /* every truncation either yields fewer values or fails */
            for (size_t cut = 0; cut < b.len && n > 0;
                 cut += 1 + b.len / 16) {
                struct pq_rle t;
                pq_rle_init(&t, enc, cut, bw);
                infino_status st = pq_rle_get_u32(&t, got, n);
                if (st == INFINO_OK) /* only if padding made up for it */
                    assert_memory_equal(got, want, n * sizeof *got);
                else
                    assert_int_equal(st, INFINO_ERR_CORRUPT);
            }
            free(enc);
            free(want);
            free(got);
            free(got8);
            buf_free(&b);
        }
    }
}

/* Encodes want[0..n) as runs of random kinds and lengths: repeated runs
 * over stretches of equal values, bit-packed runs anywhere (padded past n
 * with random values). */
static void rle_encode_values(struct buf *b, const uint32_t *want, size_t n,
                              int bw)
{
    size_t at = 0;

    while (at < n) {
        size_t same = 1;
        while (at + same < n && want[at + same] == want[at])
            same++;
        if (test_rand() % 4 != 0) {
            size_t count = 1 + (size_t)(test_rand() % same);
            assert_ok(buf_put_uvarint(b, count << 1));
            for (int i = 0; i < (bw + 7) / 8; i++)
                assert_ok(buf_put_u8(b, (uint8_t)(want[at] >> (8 * i))));
            at += count;
        } else {
            size_t groups = 1 + (size_t)(test_rand() % 3), base;
            assert_ok(buf_put_uvarint(b, groups << 1 | 1));
            base = b->len;
            assert_ok(buf_append_zeros(b, groups * (size_t)bw));
            for (size_t i = 0; i < groups * 8; i++)
                put_bits(b->data + base, (uint64_t)i * (uint64_t)bw,
                         at + i < n ? want[at + i] : rand_value(bw), bw);
            at += groups * 8;
        }
    }
}

/* pq_rle_match (levels checked on their runs) answers as decoding the
 * values and comparing them would: the level patterns of fixed_size_list
 * pages (period L: 0 then L - 1 ones; period 0: all max_def), whole or
 * with one value changed, in every mix of run kinds, and truncated. */
static void test_parquet_decode__rle_match(void **state)
{
    static const size_t periods[] = {0, 1, 2, 3, 8, 13, 384};
    (void)state;

    for (int bw = 1; bw <= 3; bw++) {
        for (size_t pi = 0; pi < sizeof periods / sizeof *periods; pi++) {
            for (int rep = 0; rep < 40; rep++) {
                size_t period = periods[pi];
                size_t n = 1 + (size_t)(test_rand() % 3000);
                uint32_t first = 0, v = period == 0 ? (1u << bw) - 1 : 1;
                uint32_t *want = malloc(n * sizeof *want);
                uint32_t *got = malloc(n * sizeof *got);
                struct buf b = {0};
                struct pq_rle d;
                uint8_t *enc;
                bool same = true;
                for (size_t i = 0; i < n; i++)
                    want[i] = period != 0 && i % period == 0 ? first : v;
                if (rep % 2 == 1) { /* one value changed, maybe to itself */
                    size_t at = (size_t)(test_rand() % n);
                    want[at] = rand_value(bw);
                }
                rle_encode_values(&b, want, n, bw);
                enc = malloc(b.len); /* exact size: ASan sees overreads */
                memcpy(enc, b.data, b.len);
                for (size_t i = 0; i < n; i++)
                    same &= want[i] == (period != 0 && i % period == 0
                                            ? first
                                            : v);
                pq_rle_init(&d, enc, b.len, bw);
                assert_int_equal(pq_rle_match(&d, n, first, v, period),
                                 same);
                /* in two calls: the second starts a new period */
                if (period > 0 && n > period) {
                    size_t k = period * (1 + (size_t)test_rand() %
                                                 (n / period));
                    if (k > n)
                        k = n;
                    pq_rle_init(&d, enc, b.len, bw);
                    assert_int_equal(pq_rle_match(&d, k, first, v, period) &&
                                         pq_rle_match(&d, n - k, first, v,
                                                      period),
                                     same);
                }
                for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 8) {
                    struct pq_rle t;
                    bool ok;
                    pq_rle_init(&t, enc, cut, bw);
                    ok = pq_rle_get_u32(&t, got, n) == INFINO_OK &&
                         memcmp(got, want, n * sizeof *got) == 0 && same;
                    pq_rle_init(&t, enc, cut, bw);
                    assert_int_equal(pq_rle_match(&t, n, first, v, period),
                                     ok);
                }
                free(enc);
                free(want);
                free(got);
                buf_free(&b);
            }
        }
    }
}

static void test_parquet_decode__rle_edge_cases(void **state)
{
    uint32_t out[64];
    uint8_t out8[64];
    struct pq_rle d;
    (void)state;

    /* a bit-packed run cut short: only whole values count */
    static const uint8_t cut[] = {0x03, 0xff, 0x0f}; /* 8 x 4 bits, 2 bytes */
    pq_rle_init(&d, cut, sizeof cut, 4);
    assert_ok(pq_rle_get_u32(&d, out, 4));
    for (int i = 0; i < 4; i++)
        assert_int_equal(out[i], i < 3 ? 15 : 0);
    assert_int_equal(pq_rle_get_u32(&d, out, 1), INFINO_ERR_CORRUPT);
    /* an RLE run value missing its bytes */
    static const uint8_t novalue[] = {0x08, 0x01};
    pq_rle_init(&d, novalue, sizeof novalue, 16);
    assert_int_equal(pq_rle_get_u32(&d, out, 1), INFINO_ERR_CORRUPT);
    /* zero-length runs are skipped, a huge RLE run serves any count */
    static const uint8_t zero_runs[] = {0x00, 0x07, 0x01, 0xfe, 0xff, 0xff,
                                        0xff, 0x0f, 0x02};
    pq_rle_init(&d, zero_runs, sizeof zero_runs, 2);
    assert_ok(pq_rle_get_u8(&d, out8, 64));
    for (int i = 0; i < 64; i++)
        assert_int_equal(out8[i], 2);
    /* bit width 0: bit-packed groups take no bytes */
    static const uint8_t bw0[] = {0x05};
    pq_rle_init(&d, bw0, 1, 0);
    assert_ok(pq_rle_get_u32(&d, out, 16));
    for (int i = 0; i < 16; i++)
        assert_int_equal(out[i], 0);
    /* a level value too large for bytes, and widths out of range */
    static const uint8_t big[] = {0x02, 0x34, 0x12};
    pq_rle_init(&d, big, sizeof big, 9);
    assert_int_equal(pq_rle_get_u8(&d, out8, 1), INFINO_ERR_CORRUPT);
    pq_rle_init(&d, big, sizeof big, 33);
    assert_int_equal(pq_rle_get_u32(&d, out, 1), INFINO_ERR_CORRUPT);
    /* a truncated header varint */
    static const uint8_t trunc[] = {0x80};
    pq_rle_init(&d, trunc, 1, 1);
    assert_int_equal(pq_rle_get_u32(&d, out, 1), INFINO_ERR_CORRUPT);
}

/* DELTA_BINARY_PACKED reference encoder: block 128, 4 miniblocks of 32,
 * deltas wrapping in the value width (`w64`). */
static void delta_encode(struct buf *b, const int64_t *v, size_t n, bool w64)
{
    assert_ok(buf_put_uvarint(b, 128));
    assert_ok(buf_put_uvarint(b, 4));
    assert_ok(buf_put_uvarint(b, n));
    assert_ok(buf_put_svarint(b, n ? v[0] : 0));
    for (size_t start = 1; start < n; start += 128) {
        size_t k = n - start < 128 ? n - start : 128;
        int64_t d[128], mn = INT64_MAX;
        uint64_t rel[128];
        for (size_t i = 0; i < k; i++) {
            uint64_t diff = (uint64_t)v[start + i] - (uint64_t)v[start + i - 1];
            d[i] = w64 ? (int64_t)diff : (int64_t)(int32_t)(uint32_t)diff;
            mn = d[i] < mn ? d[i] : mn;
        }
        assert_ok(buf_put_svarint(b, mn));
        for (size_t i = 0; i < k; i++) {
            rel[i] = (uint64_t)d[i] - (uint64_t)mn;
            if (!w64)
                rel[i] &= 0xffffffffu;
        }
        int widths[4];
        for (int m = 0; m < 4; m++) {
            uint64_t mx = 0;
            for (size_t i = (size_t)m * 32; i < (size_t)m * 32 + 32 && i < k;
                 i++)
                mx |= rel[i];
            widths[m] = 0;
            while (widths[m] < 64 && (mx >> widths[m]))
                widths[m]++;
            /* unused miniblocks: any width; make it garbage */
            if ((size_t)m * 32 >= k)
                widths[m] = 0xee;
            assert_ok(buf_put_u8(b, (uint8_t)widths[m]));
        }
        for (int m = 0; m < 4 && (size_t)m * 32 < k; m++) {
            size_t base = b->len;
            assert_ok(buf_append_zeros(b, (size_t)widths[m] * 4));
            for (size_t i = 0; i < 32; i++) {
                size_t j = (size_t)m * 32 + i;
                put_bits(b->data + base, i * (size_t)widths[m],
                         j < k ? rel[j] : 0, widths[m]);
            }
        }
    }
}

static void test_parquet_decode__delta_spec_example(void **state)
{
    /* Encodings.md example 1: 1 2 3 4 5 -> header 128 4 5 1, one block
     * with min delta 1 and four 0-width miniblocks. */
    static const uint8_t ex[] = {0x80, 0x01, 0x04, 0x05, 0x02,
                                 0x02, 0x00, 0x00, 0x00, 0x00};
    int32_t out[5];
    size_t used;
    (void)state;

    assert_ok(pq_delta_i32(out, 5, ex, sizeof ex, &used));
    for (int i = 0; i < 5; i++)
        assert_int_equal(out[i], i + 1);
    assert_int_equal(used, sizeof ex);
    assert_int_equal(pq_delta_i32(out, 4, ex, sizeof ex, &used),
                     INFINO_ERR_CORRUPT); /* count mismatch */
}

static void test_parquet_decode__delta_random(void **state)
{
    static const size_t sizes[] = {0, 1, 2, 33, 127, 128, 129, 130, 1000};
    (void)state;

    for (int w64 = 0; w64 <= 1; w64++) {
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            for (int shape = 0; shape < 4; shape++) {
                size_t n = sizes[s], used;
                int64_t *v = malloc((n + 1) * sizeof *v);
                int64_t *o64 = malloc((n + 1) * sizeof *o64);
                int32_t *o32 = malloc((n + 1) * sizeof *o32);
                struct buf b = {0};
                for (size_t i = 0; i < n; i++) {
                    int64_t r = (int64_t)test_rand();
                    switch (shape) {
                    case 0: /* anything, including wrap-around deltas */
                        v[i] = r;
                        break;
                    case 1: /* sorted small steps */
                        v[i] = (i ? v[i - 1] : -5) + (r & 7);
                        break;
                    case 2: /* constant */
                        v[i] = 42;
                        break;
                    default: /* extremes */
                        v[i] = (r & 1) ? INT64_MAX : INT64_MIN;
                        break;
                    }
                    if (!w64)
                        v[i] = (int32_t)v[i];
                }
                delta_encode(&b, v, n, w64);
                uint8_t *enc = malloc(b.len);
                memcpy(enc, b.data, b.len); /* b.len > 0: the header */
                if (w64) {
                    assert_ok(pq_delta_i64(o64, n, enc, b.len, &used));
                    for (size_t i = 0; i < n; i++)
                        assert_true(o64[i] == v[i]);
                } else {
                    assert_ok(pq_delta_i32(o32, n, enc, b.len, &used));
                    for (size_t i = 0; i < n; i++)
                        assert_int_equal(o32[i], (int32_t)v[i]);
                }
                assert_int_equal(used, b.len);
                /* truncations fail cleanly (or, when only the padding of
                 * the last miniblock is gone, still decode correctly) */
                for (size_t cut = 0; cut < b.len; cut += 1 + b.len / 20) {
                    uint8_t *t = malloc(cut ? cut : 1);
                    if (cut)
                        memcpy(t, enc, cut);
                    infino_status st =
                        w64 ? pq_delta_i64(o64, n, t, cut, &used)
                            : pq_delta_i32(o32, n, t, cut, &used);
                    if (st == INFINO_OK) {
                        for (size_t i = 0; i < n; i++)
                            assert_true(w64 ? o64[i] == v[i]
                                            : o32[i] == (int32_t)v[i]);
                    } else {
                        assert_int_equal(st, INFINO_ERR_CORRUPT);
                    }
                    free(t);
                }
                free(enc);
                free(v);
                free(o64);
                free(o32);
                buf_free(&b);
            }
        }
    }
}

static void test_parquet_decode__delta_malformed(void **state)
{
    int64_t out[4];
    size_t used;
    (void)state;

    /* block size not a multiple of 128; miniblock not a multiple of 32 */
    static const uint8_t bad_block[] = {0x40, 0x01, 0x01, 0x00};
    static const uint8_t bad_mini[] = {0x80, 0x01, 0x08, 0x01, 0x00};
    static const uint8_t huge_block[] = {0x80, 0x80, 0x80, 0x80, 0x01,
                                         0x04, 0x01, 0x00};
    assert_int_equal(pq_delta_i64(out, 1, bad_block, sizeof bad_block, &used),
                     INFINO_ERR_CORRUPT);
    assert_int_equal(pq_delta_i64(out, 1, bad_mini, sizeof bad_mini, &used),
                     INFINO_ERR_CORRUPT);
    assert_int_equal(
        pq_delta_i64(out, 1, huge_block, sizeof huge_block, &used),
        INFINO_ERR_CORRUPT);
    /* a miniblock width above the type's */
    static const uint8_t wide[] = {0x80, 0x01, 0x04, 0x02, 0x00,
                                   0x00, 0x21, 0x00, 0x00, 0x00};
    int32_t o32[2];
    assert_int_equal(pq_delta_i32(o32, 2, wide, sizeof wide, &used),
                     INFINO_ERR_CORRUPT);
}

static void test_parquet_decode__byte_array_deltas(void **state)
{
    const char *words[] = {"", "apple", "applesauce", "apply", "b", "",
                           "banana", "bandana", "bandanas", "z"};
    size_t n = sizeof words / sizeof words[0];
    int64_t lens[16], prefix[16], suffix[16];
    struct buf b = {0}, dba = {0}, arena = {0};
    struct pq_view v[16];
    int32_t scratch[32];
    uint64_t budget = 1 << 20;
    (void)state;

    /* DELTA_LENGTH_BYTE_ARRAY: lengths, then the bytes */
    for (size_t i = 0; i < n; i++)
        lens[i] = (int64_t)strlen(words[i]);
    delta_encode(&b, lens, n, false);
    for (size_t i = 0; i < n; i++)
        assert_ok(buf_append_str(&b, words[i]));
    assert_ok(pq_delta_length_byte_array(v, n, b.data, b.len, scratch));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].len, strlen(words[i]));
        assert_memory_equal(v[i].p, words[i], v[i].len);
    }
    assert_int_equal(pq_delta_length_byte_array(v, n, b.data, b.len - 1,
                                                scratch),
                     INFINO_ERR_CORRUPT);

    /* DELTA_BYTE_ARRAY: prefix lengths, suffix lengths, suffixes */
    for (size_t i = 0; i < n; i++) {
        size_t p = 0;
        if (i > 0)
            while (words[i][p] && words[i][p] == words[i - 1][p])
                p++;
        prefix[i] = (int64_t)p;
        suffix[i] = (int64_t)(strlen(words[i]) - p);
    }
    delta_encode(&dba, prefix, n, false);
    delta_encode(&dba, suffix, n, false);
    for (size_t i = 0; i < n; i++)
        assert_ok(buf_append_str(&dba, words[i] + prefix[i]));
    assert_ok(pq_delta_byte_array(v, n, dba.data, dba.len, scratch, &arena,
                                  &budget));
    for (size_t i = 0; i < n; i++) {
        assert_int_equal(v[i].len, strlen(words[i]));
        assert_memory_equal(v[i].p, words[i], v[i].len);
    }
    /* only empty values, into a fresh arena (regression: NULL + 0) */
    {
        int64_t zero[3] = {0, 0, 0};
        struct buf e = {0}, fresh = {0};
        delta_encode(&e, zero, 3, false);
        delta_encode(&e, zero, 3, false);
        assert_ok(pq_delta_byte_array(v, 3, e.data, e.len, scratch, &fresh,
                                      &budget));
        for (int i = 0; i < 3; i++)
            assert_int_equal(v[i].len, 0);
        buf_free(&e);
        buf_free(&fresh);
    }
    /* a prefix longer than the previous value */
    buf_reset(&dba);
    prefix[1] = 9;
    delta_encode(&dba, prefix, n, false);
    delta_encode(&dba, suffix, n, false);
    for (size_t i = 0; i < n; i++)
        assert_ok(buf_append_str(&dba, words[i] + (i == 1 ? 0 : prefix[i])));
    assert_int_equal(pq_delta_byte_array(v, n, dba.data, dba.len, scratch,
                                         &arena, &budget),
                     INFINO_ERR_CORRUPT);
    /* the rebuilt values are charged to the budget */
    buf_reset(&dba);
    for (size_t i = 0; i < n; i++)
        prefix[i] = 0, suffix[i] = 1000;
    delta_encode(&dba, prefix, n, false);
    delta_encode(&dba, suffix, n, false);
    assert_ok(buf_append_zeros(&dba, 1000 * n));
    budget = 5000;
    buf_free(&arena);
    assert_int_equal(pq_delta_byte_array(v, n, dba.data, dba.len, scratch,
                                         &arena, &budget),
                     INFINO_ERR_UNSUPPORTED);
    buf_free(&arena);
    buf_free(&b);
    buf_free(&dba);
}

static void test_parquet_decode__plain_and_bss(void **state)
{
    uint8_t bits[] = {0xa5, 0x03}, out[16];
    struct pq_view v[3];
    size_t used;
    (void)state;

    assert_ok(pq_plain_bool(out, 10, bits, sizeof bits));
    for (int i = 0; i < 10; i++)
        assert_int_equal(out[i], (i < 8 ? 0xa5 >> i : 0x03 >> (i - 8)) & 1);
    assert_int_equal(pq_plain_bool(out, 17, bits, sizeof bits),
                     INFINO_ERR_CORRUPT);

    static const uint8_t ba[] = {2, 0, 0, 0, 'h', 'i', 0, 0, 0, 0,
                                 3, 0, 0, 0, 'x', 'y', 'z'};
    assert_ok(pq_plain_byte_array(v, 3, ba, sizeof ba, &used));
    assert_int_equal(used, sizeof ba);
    assert_int_equal(v[1].len, 0);
    assert_memory_equal(v[2].p, "xyz", 3);
    assert_int_equal(pq_plain_byte_array(v, 3, ba, sizeof ba - 1, &used),
                     INFINO_ERR_CORRUPT);
    static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff, 'a'};
    assert_int_equal(pq_plain_byte_array(v, 1, huge, sizeof huge, &used),
                     INFINO_ERR_CORRUPT);

    /* BYTE_STREAM_SPLIT for widths 4, 8 and 3 */
    for (size_t w = 3; w <= 8; w++) {
        uint8_t src[5 * 8], enc[5 * 8], dec[5 * 8];
        size_t n = 5;
        for (size_t i = 0; i < n * w; i++)
            src[i] = (uint8_t)test_rand();
        for (size_t i = 0; i < n; i++)
            for (size_t k = 0; k < w; k++)
                enc[k * n + i] = src[i * w + k];
        assert_ok(pq_byte_stream_split(dec, n, w, enc, n * w));
        assert_memory_equal(dec, src, n * w);
        assert_int_equal(pq_byte_stream_split(dec, n, w, enc, n * w - 1),
                         INFINO_ERR_CORRUPT);
        assert_int_equal(pq_byte_stream_split(dec, n + 1, w, enc, n * w),
                         INFINO_ERR_CORRUPT);
    }
}

/* ---- pages ------------------------------------------------------------ */

static void add_page(struct buf *chunk, struct pq_page_header *h,
                     const void *body, size_t n, bool crc)
{
    h->compressed_page_size = (int32_t)n;
    if (crc) {
        h->has_crc = true;
        h->crc = (int32_t)crc32(0, body, (uInt)n);
    }
    assert_ok(pq_meta_encode_page_header(chunk, h));
    assert_ok(buf_append(chunk, body, n));
}

static void test_parquet_decode__page_iterator(void **state)
{
    struct buf chunk = {0}, z = {0};
    struct pq_page_header h;
    struct pq_page_iter it;
    struct pq_page pg;
    uint64_t budget = 1 << 20;
    bool eof;
    uint8_t v1body[300], v2vals[500];
    (void)state;

    for (size_t i = 0; i < sizeof v1body; i++)
        v1body[i] = (uint8_t)(i % 7);
    for (size_t i = 0; i < sizeof v2vals; i++)
        v2vals[i] = (uint8_t)(i % 5);
    /* dictionary page */
    memset(&h, 0, sizeof h);
    h.type = PQ_PAGE_DICTIONARY;
    h.has_dict_page = true;
    h.dict_page.num_values = 2;
    h.dict_page.encoding = PQ_ENC_PLAIN;
    assert_ok(pq_compress(PQ_ZSTD, 1, (const uint8_t *)"\1\0\0\0\2\0\0\0", 8,
                          &z));
    h.uncompressed_page_size = 8;
    add_page(&chunk, &h, z.data, z.len, true);
    /* an index page: skipped */
    memset(&h, 0, sizeof h);
    h.type = PQ_PAGE_INDEX;
    add_page(&chunk, &h, "xx", 2, false);
    /* a v1 data page */
    memset(&h, 0, sizeof h);
    h.type = PQ_PAGE_DATA;
    h.has_data_page = true;
    h.data_page.num_values = 100;
    h.data_page.encoding = PQ_ENC_RLE_DICTIONARY;
    h.data_page.def_encoding = PQ_ENC_RLE;
    h.data_page.rep_encoding = PQ_ENC_RLE;
    h.uncompressed_page_size = sizeof v1body;
    buf_reset(&z);
    assert_ok(pq_compress(PQ_ZSTD, 1, v1body, sizeof v1body, &z));
    add_page(&chunk, &h, z.data, z.len, false);
    /* a v2 data page: 3 + 4 bytes of raw levels, compressed values */
    memset(&h, 0, sizeof h);
    h.type = PQ_PAGE_DATA_V2;
    h.has_data_page_v2 = true;
    h.data_page_v2 = (struct pq_data_page_header_v2){
        .num_values = 50, .num_nulls = 1, .num_rows = 50,
        .encoding = PQ_ENC_PLAIN, .def_levels_len = 4, .rep_levels_len = 3,
        .is_compressed = true};
    buf_reset(&z);
    assert_ok(buf_append(&z, "RRRDDDD", 7));
    assert_ok(pq_compress(PQ_ZSTD, 1, v2vals, sizeof v2vals, &z));
    h.uncompressed_page_size = 7 + (int32_t)sizeof v2vals;
    add_page(&chunk, &h, z.data, z.len, true);

    uint8_t *bytes = malloc(chunk.len);
    memcpy(bytes, chunk.data, chunk.len);
    pq_page_iter_init(&it, bytes, chunk.len, PQ_ZSTD, &budget);
    assert_ok(pq_page_next(&it, &pg, &eof));
    assert_false(eof);
    assert_int_equal(pg.h.type, PQ_PAGE_DICTIONARY);
    assert_int_equal(pg.num_values, 2);
    assert_int_equal(pg.body_len, 8);
    assert_memory_equal(pg.body, "\1\0\0\0\2\0\0\0", 8);
    assert_ok(pq_page_next(&it, &pg, &eof));
    assert_int_equal(pg.h.type, PQ_PAGE_DATA);
    assert_false(pg.v2);
    assert_int_equal(pg.num_values, 100);
    assert_int_equal(pg.encoding, PQ_ENC_RLE_DICTIONARY);
    assert_int_equal(pg.body_len, sizeof v1body);
    assert_memory_equal(pg.body, v1body, sizeof v1body);
    assert_ok(pq_page_next(&it, &pg, &eof));
    assert_int_equal(pg.h.type, PQ_PAGE_DATA_V2);
    assert_true(pg.v2);
    assert_int_equal(pg.rep_len, 3);
    assert_int_equal(pg.def_len, 4);
    assert_memory_equal(pg.levels, "RRRDDDD", 7);
    assert_int_equal(pg.values_len, sizeof v2vals);
    assert_memory_equal(pg.values, v2vals, sizeof v2vals);
    assert_ok(pq_page_next(&it, &pg, &eof));
    assert_true(eof);
    assert_true(budget < (1 << 20)); /* scratch was charged */
    pq_page_iter_free(&it);

    /* a flipped bit in a page with a CRC */
    bytes[chunk.len - 2] ^= 1;
    budget = 1 << 20;
    pq_page_iter_init(&it, bytes, chunk.len, PQ_ZSTD, &budget);
    for (int i = 0; i < 2; i++)
        assert_ok(pq_page_next(&it, &pg, &eof));
    assert_int_equal(pq_page_next(&it, &pg, &eof), INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "CRC"));
    pq_page_iter_free(&it);
    bytes[chunk.len - 2] ^= 1;

    /* the chunk ends inside a page */
    pq_page_iter_init(&it, bytes, chunk.len - 1, PQ_ZSTD, &budget);
    for (int i = 0; i < 2; i++)
        assert_ok(pq_page_next(&it, &pg, &eof));
    assert_int_equal(pq_page_next(&it, &pg, &eof), INFINO_ERR_CORRUPT);
    pq_page_iter_free(&it);

    /* an unknown codec, and a budget too small for the scratch */
    pq_page_iter_init(&it, bytes, chunk.len, (enum pq_codec)4, &budget);
    assert_int_equal(pq_page_next(&it, &pg, &eof), INFINO_ERR_UNSUPPORTED);
    pq_page_iter_free(&it);
    budget = 100;
    pq_page_iter_init(&it, bytes, chunk.len, PQ_ZSTD, &budget);
    assert_ok(pq_page_next(&it, &pg, &eof));
    assert_int_equal(pq_page_next(&it, &pg, &eof), INFINO_ERR_UNSUPPORTED);
    pq_page_iter_free(&it);

    /* every truncation of the chunk fails or ends early, never overreads */
    for (size_t cut = 0; cut < chunk.len; cut++) {
        uint8_t *p = malloc(cut ? cut : 1);
        infino_status st = INFINO_OK;
        if (cut)
            memcpy(p, bytes, cut);
        budget = 1 << 20;
        pq_page_iter_init(&it, p, cut, PQ_ZSTD, &budget);
        for (int i = 0; i < 4 && st == INFINO_OK; i++) {
            st = pq_page_next(&it, &pg, &eof);
            if (eof)
                break;
        }
        pq_page_iter_free(&it);
        free(p);
    }
    free(bytes);
    buf_free(&chunk);
    buf_free(&z);
}

static void test_parquet_decode__v2_page_sizes(void **state)
{
    struct buf chunk = {0};
    struct pq_page_header h;
    struct pq_page_iter it;
    struct pq_page pg;
    uint64_t budget = 1 << 20;
    bool eof;
    (void)state;

    /* levels longer than the page */
    memset(&h, 0, sizeof h);
    h.type = PQ_PAGE_DATA_V2;
    h.has_data_page_v2 = true;
    h.data_page_v2.num_values = 1;
    h.data_page_v2.def_levels_len = 10;
    h.uncompressed_page_size = 4;
    add_page(&chunk, &h, "abcd", 4, false);
    pq_page_iter_init(&it, chunk.data, chunk.len, PQ_UNCOMPRESSED, &budget);
    assert_int_equal(pq_page_next(&it, &pg, &eof), INFINO_ERR_CORRUPT);
    pq_page_iter_free(&it);
    /* num_nulls above num_values */
    buf_reset(&chunk);
    h.data_page_v2.def_levels_len = 0;
    h.data_page_v2.num_nulls = 2;
    add_page(&chunk, &h, "abcd", 4, false);
    pq_page_iter_init(&it, chunk.data, chunk.len, PQ_UNCOMPRESSED, &budget);
    assert_int_equal(pq_page_next(&it, &pg, &eof), INFINO_ERR_CORRUPT);
    pq_page_iter_free(&it);
    /* an uncompressed page whose two sizes disagree */
    buf_reset(&chunk);
    memset(&h, 0, sizeof h);
    h.type = PQ_PAGE_DATA;
    h.has_data_page = true;
    h.uncompressed_page_size = 5;
    add_page(&chunk, &h, "abcd", 4, false);
    pq_page_iter_init(&it, chunk.data, chunk.len, PQ_UNCOMPRESSED, &budget);
    assert_int_equal(pq_page_next(&it, &pg, &eof), INFINO_ERR_CORRUPT);
    pq_page_iter_free(&it);
    /* a data page header without its DataPageHeader */
    buf_reset(&chunk);
    h.has_data_page = false;
    h.uncompressed_page_size = 4;
    add_page(&chunk, &h, "abcd", 4, false);
    pq_page_iter_init(&it, chunk.data, chunk.len, PQ_UNCOMPRESSED, &budget);
    assert_int_equal(pq_page_next(&it, &pg, &eof), INFINO_ERR_CORRUPT);
    pq_page_iter_free(&it);
    buf_free(&chunk);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parquet_decode__unpack_every_width),
        cmocka_unit_test(test_parquet_decode__rle_spec_example),
        cmocka_unit_test(test_parquet_decode__rle_random_runs),
        cmocka_unit_test(test_parquet_decode__rle_edge_cases),
        cmocka_unit_test(test_parquet_decode__rle_match),
        cmocka_unit_test(test_parquet_decode__delta_spec_example),
        cmocka_unit_test(test_parquet_decode__delta_random),
        cmocka_unit_test(test_parquet_decode__delta_malformed),
        cmocka_unit_test(test_parquet_decode__byte_array_deltas),
        cmocka_unit_test(test_parquet_decode__plain_and_bss),
        cmocka_unit_test(test_parquet_decode__page_iterator),
        cmocka_unit_test(test_parquet_decode__v2_page_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
