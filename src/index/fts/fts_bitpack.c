/*
 * fts_bitpack.c - 128-value blocks in the four-lane vertical bit layout
 * described in fts_int.h and FORMAT.md, plus the gap-to-doc-id prefix sum.
 *
 * Packing runs at build time and is plain C. Unpacking is the hot loop of
 * every query: with SSE2 (baseline on x86-64) one instruction shifts and
 * masks four values, and each bit width gets its own fully unrolled copy
 * so every shift count is a constant. The scalar versions define the
 * layout and are what tests compare the SIMD ones against.
 */
#include "fts_int.h"

#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

static inline uint32_t low_mask(unsigned bits)
{
    return bits >= 32 ? UINT32_MAX : ((uint32_t)1 << bits) - 1;
}

void fts_pack128(uint8_t *out, const uint32_t *in, unsigned bits)
{
    uint32_t words[4 * 32];
    uint32_t mask = low_mask(bits);

    if (bits == 0)
        return;
    memset(words, 0, sizeof(uint32_t) * 4 * bits);
    for (unsigned i = 0; i < FTS_BLOCK_LEN; i++) {
        unsigned lane = i % 4, slot = i / 4;
        unsigned off = slot * bits, w = off / 32, sh = off % 32;
        uint64_t v = (uint64_t)(in[i] & mask) << sh;

        words[4 * w + lane] |= (uint32_t)v;
        if (sh + bits > 32)
            words[4 * (w + 1) + lane] |= (uint32_t)(v >> 32);
    }
    for (unsigned j = 0; j < 4 * bits; j++)
        store_u32le(out + 4 * j, words[j]);
}

void fts_unpack128_scalar(uint32_t *out, const uint8_t *in, unsigned bits)
{
    uint32_t mask = low_mask(bits);

    if (bits == 0) {
        memset(out, 0, sizeof(uint32_t) * FTS_BLOCK_LEN);
        return;
    }
    for (unsigned i = 0; i < FTS_BLOCK_LEN; i++) {
        unsigned lane = i % 4, slot = i / 4;
        unsigned off = slot * bits, w = off / 32, sh = off % 32;
        uint64_t v = load_u32le(in + 4 * (4 * w + lane));

        if (sh + bits > 32)
            v |= (uint64_t)load_u32le(in + 4 * (4 * (w + 1) + lane)) << 32;
        out[i] = (uint32_t)(v >> sh) & mask;
    }
}

void fts_gaps_to_docs128_scalar(uint32_t *v, uint32_t base)
{
    uint32_t acc = base;

    for (unsigned i = 0; i < FTS_BLOCK_LEN; i++) {
        acc += v[i] + 1;
        v[i] = acc;
    }
}

#if defined(__SSE2__)

/* One bit width, fully unrolled once `bits` is a constant. */
static inline __attribute__((always_inline)) void
unpack_sse(uint32_t *out, const uint8_t *in, const unsigned bits)
{
    const __m128i mask = _mm_set1_epi32((int)low_mask(bits));

#pragma GCC unroll 32
    for (unsigned k = 0; k < 32; k++) {
        const unsigned off = k * bits, w = off / 32, sh = off % 32;
        __m128i cur = _mm_loadu_si128((const __m128i *)(in + 16 * w));
        __m128i v = _mm_srli_epi32(cur, (int)sh);

        if (sh + bits > 32) {
            __m128i next = _mm_loadu_si128(
                (const __m128i *)(in + 16 * (w + 1)));
            v = _mm_or_si128(v, _mm_slli_epi32(next, (int)(32 - sh)));
        }
        if (bits < 32)
            v = _mm_and_si128(v, mask);
        _mm_storeu_si128((__m128i *)(out + 4 * k), v);
    }
}

#define UNPACK_FN(B)                                                           \
    static void unpack_##B(uint32_t *out, const uint8_t *in)                   \
    {                                                                          \
        unpack_sse(out, in, B);                                                \
    }
UNPACK_FN(1)
UNPACK_FN(2)
UNPACK_FN(3)
UNPACK_FN(4)
UNPACK_FN(5)
UNPACK_FN(6)
UNPACK_FN(7)
UNPACK_FN(8)
UNPACK_FN(9)
UNPACK_FN(10)
UNPACK_FN(11)
UNPACK_FN(12)
UNPACK_FN(13)
UNPACK_FN(14)
UNPACK_FN(15)
UNPACK_FN(16)
UNPACK_FN(17)
UNPACK_FN(18)
UNPACK_FN(19)
UNPACK_FN(20)
UNPACK_FN(21)
UNPACK_FN(22)
UNPACK_FN(23)
UNPACK_FN(24)
UNPACK_FN(25)
UNPACK_FN(26)
UNPACK_FN(27)
UNPACK_FN(28)
UNPACK_FN(29)
UNPACK_FN(30)
UNPACK_FN(31)
UNPACK_FN(32)

static void unpack_0(uint32_t *out, const uint8_t *in)
{
    (void)in;
    memset(out, 0, sizeof(uint32_t) * FTS_BLOCK_LEN);
}

static void (*const unpackers[33])(uint32_t *, const uint8_t *) = {
    unpack_0,  unpack_1,  unpack_2,  unpack_3,  unpack_4,  unpack_5,
    unpack_6,  unpack_7,  unpack_8,  unpack_9,  unpack_10, unpack_11,
    unpack_12, unpack_13, unpack_14, unpack_15, unpack_16, unpack_17,
    unpack_18, unpack_19, unpack_20, unpack_21, unpack_22, unpack_23,
    unpack_24, unpack_25, unpack_26, unpack_27, unpack_28, unpack_29,
    unpack_30, unpack_31, unpack_32,
};

void fts_unpack128(uint32_t *out, const uint8_t *in, unsigned bits)
{
    unpackers[bits](out, in);
}

void fts_gaps_to_docs128(uint32_t *v, uint32_t base)
{
    const __m128i one = _mm_set1_epi32(1);
    __m128i carry = _mm_set1_epi32((int)base);

    for (unsigned i = 0; i < FTS_BLOCK_LEN; i += 4) {
        __m128i x = _mm_loadu_si128((const __m128i *)(v + i));

        x = _mm_add_epi32(x, one);
        x = _mm_add_epi32(x, _mm_slli_si128(x, 4));
        x = _mm_add_epi32(x, _mm_slli_si128(x, 8));
        x = _mm_add_epi32(x, carry);
        _mm_storeu_si128((__m128i *)(v + i), x);
        carry = _mm_shuffle_epi32(x, 0xff);
    }
}

void fts_iota128(uint32_t *v, uint32_t base)
{
    const __m128i four = _mm_set1_epi32(4);
    __m128i x = _mm_add_epi32(_mm_set1_epi32((int)base),
                              _mm_set_epi32(3, 2, 1, 0));

    for (unsigned i = 0; i < FTS_BLOCK_LEN; i += 4) {
        _mm_storeu_si128((__m128i *)(v + i), x);
        x = _mm_add_epi32(x, four);
    }
}

void fts_plus_one128(uint32_t *v)
{
    const __m128i one = _mm_set1_epi32(1);

    for (unsigned i = 0; i < FTS_BLOCK_LEN; i += 4) {
        __m128i x = _mm_loadu_si128((const __m128i *)(v + i));
        _mm_storeu_si128((__m128i *)(v + i), _mm_add_epi32(x, one));
    }
}

#else /* portable */

void fts_unpack128(uint32_t *out, const uint8_t *in, unsigned bits)
{
    fts_unpack128_scalar(out, in, bits);
}

void fts_gaps_to_docs128(uint32_t *v, uint32_t base)
{
    fts_gaps_to_docs128_scalar(v, base);
}

void fts_plus_one128(uint32_t *v)
{
    for (unsigned i = 0; i < FTS_BLOCK_LEN; i++)
        v[i] += 1;
}

void fts_iota128(uint32_t *v, uint32_t base)
{
    for (unsigned i = 0; i < FTS_BLOCK_LEN; i++)
        v[i] = base + i;
}

#endif
