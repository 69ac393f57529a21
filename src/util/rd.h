/*
 * rd.h - a bounded cursor over untrusted bytes.
 *
 * Every decoder of bytes that came from disk or the network reads through a
 * struct rd, so no read can pass `end`. Each getter returns 0 on success and
 * -1 when the input is too short or malformed, leaving the cursor unchanged;
 * the caller turns -1 into INFINO_ERR_CORRUPT with its own context.
 */
#ifndef INFINO_UTIL_RD_H
#define INFINO_UTIL_RD_H

#include "endian.h"

#include <stddef.h>
#include <stdint.h>

struct rd {
    const uint8_t *p;   /* borrowed: next unread byte */
    const uint8_t *end; /* one past the last readable byte */
};

static inline struct rd rd_make(const void *p, size_t n)
{
    struct rd r;
    r.p = (const uint8_t *)p;
    r.end = n ? r.p + n : r.p; /* no arithmetic on a NULL pointer */
    return r;
}

static inline size_t rd_left(const struct rd *r)
{
    return (size_t)(r->end - r->p);
}

static inline int rd_skip(struct rd *r, size_t n)
{
    if (n > rd_left(r))
        return -1;
    r->p += n;
    return 0;
}

/* Borrows `n` bytes: *out points into the input. */
static inline int rd_bytes(struct rd *r, size_t n, const uint8_t **out)
{
    if (n > rd_left(r))
        return -1;
    *out = r->p;
    r->p += n;
    return 0;
}

static inline int rd_u8(struct rd *r, uint8_t *out)
{
    if (r->p >= r->end)
        return -1;
    *out = *r->p++;
    return 0;
}

static inline int rd_u16le(struct rd *r, uint16_t *out)
{
    if (rd_left(r) < 2)
        return -1;
    *out = load_u16le(r->p);
    r->p += 2;
    return 0;
}

static inline int rd_u32le(struct rd *r, uint32_t *out)
{
    if (rd_left(r) < 4)
        return -1;
    *out = load_u32le(r->p);
    r->p += 4;
    return 0;
}

static inline int rd_u64le(struct rd *r, uint64_t *out)
{
    if (rd_left(r) < 8)
        return -1;
    *out = load_u64le(r->p);
    r->p += 8;
    return 0;
}

/* Unsigned LEB128, at most 10 bytes, rejecting bits beyond 64. */
static inline int rd_uvarint(struct rd *r, uint64_t *out)
{
    uint64_t v = 0;
    unsigned shift = 0;
    const uint8_t *p = r->p;

    while (p < r->end) {
        uint8_t c = *p++;
        if (shift == 63 && (c & 0x7e))
            return -1;
        v |= (uint64_t)(c & 0x7f) << shift;
        if (!(c & 0x80)) {
            r->p = p;
            *out = v;
            return 0;
        }
        shift += 7;
        if (shift > 63)
            return -1;
    }
    return -1;
}

/* Zigzag-encoded signed LEB128. */
static inline int rd_svarint(struct rd *r, int64_t *out)
{
    uint64_t u;
    if (rd_uvarint(r, &u) != 0)
        return -1;
    *out = (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
    return 0;
}

#endif
