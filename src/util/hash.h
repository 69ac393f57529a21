/*
 * hash.h - 64-bit hashing for blooms and hash tables (xxHash's XXH3).
 */
#ifndef INFINO_UTIL_HASH_H
#define INFINO_UTIL_HASH_H

#include <stddef.h>
#include <stdint.h>

uint64_t hash64(const void *p, size_t n);
uint64_t hash64_seed(const void *p, size_t n, uint64_t seed);

/* A cheap, good 64-bit integer mix (splitmix64 finaliser). */
static inline uint64_t hash_mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

#endif
