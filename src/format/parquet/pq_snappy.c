/*
 * pq_snappy.c - raw snappy blocks: a greedy hash-chain-free compressor and
 * a strictly bounds-checked decompressor (pq_codec.h).
 *
 * Written from the block format in google/snappy's format_description.txt:
 * a varint preamble with the uncompressed length, then elements whose tag
 * byte's low two bits select literal (00), copy with a 1-byte offset (01),
 * 2-byte offset (10) or 4-byte offset (11).
 */
#include "pq_codec.h"

#include "util/endian.h"

#include <string.h>

/* The compressor works on independent fragments of this size, so every
 * copy offset fits the 2-byte form and the hash table holds 16-bit
 * positions. */
#define FRAGMENT_LEN (1u << 16)
#define HASH_BITS_MAX 14
/* No match search starts within this many bytes of a fragment's end, so
 * the 4- and 8-byte loads below never pass it. */
#define INPUT_MARGIN 15

size_t pq_snappy_max_compressed_len(size_t n)
{
    if (n > UINT32_MAX)
        return 0;
    /* Worst case: every 60-ish bytes cost a literal tag, plus the preamble;
     * n + n/6 + 32 covers it with room to spare. */
    return 32 + n + n / 6;
}

/* ---- compressor -------------------------------------------------------- */

static inline uint32_t hash4(uint32_t v, int shift)
{
    return (v * 0x9E3779B1u) >> shift;
}

static uint8_t *put_varint32(uint8_t *op, uint32_t v)
{
    while (v >= 0x80) {
        *op++ = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    *op++ = (uint8_t)v;
    return op;
}

/* format_description.txt 2.1: literal lengths below 61 live in the tag;
 * longer ones follow it in 1-4 little-endian bytes (tag values 60-63). */
static uint8_t *emit_literal(uint8_t *op, const uint8_t *p, size_t len)
{
    size_t n = len - 1;

    if (n < 60) {
        *op++ = (uint8_t)(n << 2);
    } else {
        int nb = n < (1u << 8)    ? 1
                 : n < (1u << 16) ? 2
                 : n < (1u << 24) ? 3
                                  : 4;
        *op++ = (uint8_t)((59 + nb) << 2);
        for (int i = 0; i < nb; i++)
            *op++ = (uint8_t)(n >> (8 * i));
    }
    memcpy(op, p, len);
    return op + len;
}

/* One copy element of 4..64 bytes at offset < 65536 (2.2.1 / 2.2.2). */
static uint8_t *emit_copy_upto64(uint8_t *op, size_t offset, size_t len)
{
    if (len < 12 && offset < 2048) {
        *op++ = (uint8_t)(1 | ((len - 4) << 2) | ((offset >> 8) << 5));
        *op++ = (uint8_t)offset;
    } else {
        *op++ = (uint8_t)(2 | ((len - 1) << 2));
        store_u16le(op, (uint16_t)offset);
        op += 2;
    }
    return op;
}

/* A copy of any length >= 4, split into elements of at most 64 bytes so
 * that the last one still has at least 4. */
static uint8_t *emit_copy(uint8_t *op, size_t offset, size_t len)
{
    while (len >= 68) {
        op = emit_copy_upto64(op, offset, 64);
        len -= 64;
    }
    if (len > 64) {
        op = emit_copy_upto64(op, offset, 60);
        len -= 60;
    }
    return emit_copy_upto64(op, offset, len);
}

/* Length of the common prefix of `a` and `b`, reading `b` up to `end`
 * (a < b, so `a` stays in bounds too). */
static size_t match_len(const uint8_t *a, const uint8_t *b, const uint8_t *end)
{
    const uint8_t *start = b;

    while (b + 8 <= end) {
        uint64_t x = load_u64le(a) ^ load_u64le(b);
        if (x != 0)
            return (size_t)(b - start) + ((size_t)__builtin_ctzll(x) >> 3);
        a += 8;
        b += 8;
    }
    while (b < end && *a == *b) {
        a++;
        b++;
    }
    return (size_t)(b - start);
}

static uint8_t *compress_fragment(uint8_t *op, const uint8_t *base, size_t len,
                                  uint16_t *table)
{
    const uint8_t *end = base + len;
    const uint8_t *ip, *ip_limit, *next_emit = base;
    int bits = 8, shift;

    if (len < INPUT_MARGIN + 1)
        goto tail;
    while (bits < HASH_BITS_MAX && (1u << bits) < len)
        bits++;
    shift = 32 - bits;
    memset(table, 0, sizeof(uint16_t) << bits);
    ip_limit = end - INPUT_MARGIN;
    ip = base + 1;

    for (;;) {
        /* Look for a 4-byte match, stepping faster the longer nothing is
         * found, so incompressible input is skipped cheaply. */
        uint32_t skip = 32, cur;
        const uint8_t *cand;
        for (;;) {
            uint32_t h, step;

            cur = load_u32le(ip);
            h = hash4(cur, shift);
            cand = base + table[h];
            table[h] = (uint16_t)(ip - base);
            if (cand < ip && load_u32le(cand) == cur)
                break;
            step = skip++ >> 5;
            if ((size_t)(ip_limit - ip) < step)
                goto tail;
            ip += step;
        }
        if (ip > next_emit)
            op = emit_literal(op, next_emit, (size_t)(ip - next_emit));
        /* Emit copies for as long as the byte after each one starts
         * another match. */
        do {
            size_t m = 4 + match_len(cand + 4, ip + 4, end);
            uint32_t h;

            op = emit_copy(op, (size_t)(ip - cand), m);
            ip += m;
            next_emit = ip;
            if (ip >= ip_limit)
                goto tail;
            table[hash4(load_u32le(ip - 1), shift)] = (uint16_t)(ip - 1 - base);
            cur = load_u32le(ip);
            h = hash4(cur, shift);
            cand = base + table[h];
            table[h] = (uint16_t)(ip - base);
        } while (cand < ip && load_u32le(cand) == cur);
        ip++;
        if (ip > ip_limit)
            goto tail;
    }
tail:
    if (next_emit < end)
        op = emit_literal(op, next_emit, (size_t)(end - next_emit));
    return op;
}

size_t pq_snappy_compress(uint8_t *dst, const uint8_t *src, size_t n)
{
    uint16_t table[1u << HASH_BITS_MAX];
    uint8_t *op = put_varint32(dst, (uint32_t)n);

    for (size_t off = 0; off < n; off += FRAGMENT_LEN) {
        size_t len = n - off < FRAGMENT_LEN ? n - off : FRAGMENT_LEN;
        op = compress_fragment(op, src + off, len, table);
    }
    return (size_t)(op - dst);
}

/* ---- decompressor ------------------------------------------------------ */

/* Reads the varint preamble; returns the bytes it took, or -1. */
static int read_preamble(uint64_t *out, const uint8_t *src, size_t n)
{
    uint64_t v = 0;

    /* The preamble is a varint of at most 32 bits: 5 bytes. */
    for (size_t i = 0; i < n && i < 5; i++) {
        v |= (uint64_t)(src[i] & 0x7f) << (7 * i);
        if (!(src[i] & 0x80)) {
            if (v > UINT32_MAX)
                return -1;
            *out = v;
            return (int)i + 1; /* > 0: bytes consumed */
        }
    }
    return -1;
}

int pq_snappy_uncompressed_len(uint64_t *out, const uint8_t *src, size_t n)
{
    return read_preamble(out, src, n) < 0 ? -1 : 0;
}

int pq_snappy_decompress(uint8_t *dst, size_t dst_len, const uint8_t *src,
                         size_t src_len)
{
    const uint8_t *ip = src, *end = src + src_len;
    size_t op = 0;
    uint64_t want;
    int pre = read_preamble(&want, src, src_len);

    if (pre < 0 || want != dst_len)
        return -1;
    ip += pre;
    while (ip < end) {
        uint8_t tag = *ip++;
        size_t len, offset;

        switch (tag & 3) {
        case 0: /* literal */
            len = (size_t)(tag >> 2) + 1;
            if (len > 60) {
                size_t nb = len - 60, v = 0;
                if ((size_t)(end - ip) < nb)
                    return -1;
                for (size_t i = 0; i < nb; i++)
                    v |= (size_t)ip[i] << (8 * i);
                ip += nb;
                len = v + 1;
            }
            if (len > (size_t)(end - ip) || len > dst_len - op)
                return -1;
            memcpy(dst + op, ip, len);
            ip += len;
            op += len;
            continue;
        case 1:
            if (end - ip < 1)
                return -1;
            len = (size_t)((tag >> 2) & 7) + 4;
            offset = (size_t)(tag >> 5) << 8 | ip[0];
            ip += 1;
            break;
        case 2:
            if (end - ip < 2)
                return -1;
            len = (size_t)(tag >> 2) + 1;
            offset = load_u16le(ip);
            ip += 2;
            break;
        default:
            if (end - ip < 4)
                return -1;
            len = (size_t)(tag >> 2) + 1;
            offset = load_u32le(ip);
            ip += 4;
            break;
        }
        /* A copy reads `len` bytes starting `offset` back; it may overlap
         * its own output (offset < len repeats a pattern). */
        if (offset == 0 || offset > op || len > dst_len - op)
            return -1;
        if (offset >= len) {
            memcpy(dst + op, dst + op - offset, len);
        } else {
            for (size_t i = 0; i < len; i++)
                dst[op + i] = dst[op - offset + i];
        }
        op += len;
    }
    return op == dst_len ? 0 : -1;
}
