/*
 * tid.h - 128-bit row ids (_id), as decimal128(38, 0) holds them.
 */
#ifndef INFINO_UTIL_TID_H
#define INFINO_UTIL_TID_H

#include "endian.h"

#include <stdint.h>

struct tid {
    uint64_t hi;
    uint64_t lo;
};

static inline int tid_cmp(struct tid a, struct tid b)
{
    if (a.hi != b.hi)
        return a.hi < b.hi ? -1 : 1;
    if (a.lo != b.lo)
        return a.lo < b.lo ? -1 : 1;
    return 0;
}

/* Reads / writes one decimal128 cell (16 bytes, little-endian). */
static inline struct tid tid_load(const uint8_t *p)
{
    struct tid t;
    t.lo = load_u64le(p);
    t.hi = load_u64le(p + 8);
    return t;
}

static inline void tid_store(uint8_t *p, struct tid v)
{
    store_u64le(p, v.lo);
    store_u64le(p + 8, v.hi);
}

#endif
