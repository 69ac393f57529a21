/*
 * endian.h - unaligned little-endian loads and stores.
 *
 * All our on-disk integers are little-endian (as Parquet's are). memcpy
 * compiles to a single move on x86-64 and keeps UBSan quiet about alignment.
 */
#ifndef INFINO_UTIL_ENDIAN_H
#define INFINO_UTIL_ENDIAN_H

#include <stdint.h>
#include <string.h>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "infino assumes a little-endian host"
#endif

static inline uint16_t load_u16le(const void *p)
{
    uint16_t v;
    memcpy(&v, p, 2);
    return v;
}
static inline uint32_t load_u32le(const void *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}
static inline uint64_t load_u64le(const void *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}
static inline void store_u16le(void *p, uint16_t v)
{
    memcpy(p, &v, 2);
}
static inline void store_u32le(void *p, uint32_t v)
{
    memcpy(p, &v, 4);
}
static inline void store_u64le(void *p, uint64_t v)
{
    memcpy(p, &v, 8);
}

#endif
