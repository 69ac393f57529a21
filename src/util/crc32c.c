/*
 * crc32c.c - CRC-32C, hardware (SSE4.2) with a slicing-by-8 fallback.
 *
 * The dispatch decision is made once; both paths give identical results,
 * which tests/unit/util_crc32c_test.c checks.
 */
#include "crc32c.h"

#include "endian.h"

#include <stdatomic.h>

#define POLY 0x82F63B78u /* 0x1EDC6F41 bit-reflected */

static uint32_t table[8][256];
static atomic_int table_ready;

static void build_table(void)
{
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++)
            c = (c >> 1) ^ (POLY & (0u - (c & 1)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++)
        for (int t = 1; t < 8; t++)
            table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xff];
}

uint32_t crc32c_extend_portable(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;

    /* Racing initialisations write identical values, so this is benign;
     * the atomic flag just publishes the finished table. */
    if (!atomic_load_explicit(&table_ready, memory_order_acquire)) {
        build_table();
        atomic_store_explicit(&table_ready, 1, memory_order_release);
    }
    crc = ~crc;
    while (n >= 8) {
        uint64_t w = load_u64le(p) ^ crc;
        crc = table[7][w & 0xff] ^ table[6][(w >> 8) & 0xff] ^
              table[5][(w >> 16) & 0xff] ^ table[4][(w >> 24) & 0xff] ^
              table[3][(w >> 32) & 0xff] ^ table[2][(w >> 40) & 0xff] ^
              table[1][(w >> 48) & 0xff] ^ table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--)
        crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xff];
    return ~crc;
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("sse4.2"))) static uint32_t
crc_hw(uint32_t crc, const void *data, size_t n)
{
    const uint8_t *p = data;
    uint64_t c = ~crc;

    while (n >= 8) {
        c = __builtin_ia32_crc32di(c, load_u64le(p));
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--)
        c32 = __builtin_ia32_crc32qi(c32, *p++);
    return ~c32;
}

uint32_t crc32c_extend(uint32_t crc, const void *p, size_t n)
{
    static int have = -1;

    if (have < 0)
        have = __builtin_cpu_supports("sse4.2") ? 1 : 0;
    return have ? crc_hw(crc, p, n) : crc32c_extend_portable(crc, p, n);
}
#else
uint32_t crc32c_extend(uint32_t crc, const void *p, size_t n)
{
    return crc32c_extend_portable(crc, p, n);
}
#endif
