/*
 * random.c - kernel randomness (random.h).
 */
#define _GNU_SOURCE
#include "random.h"

#include "hash.h"

#include <errno.h>
#include <stdatomic.h>
#include <sys/random.h>
#include <time.h>
#include <unistd.h>

void random_bytes(void *out, size_t n)
{
    uint8_t *p = out;
    static atomic_ulong counter;

    while (n > 0) {
        ssize_t got = getrandom(p, n, 0);
        if (got > 0) {
            p += got;
            n -= (size_t)got;
            continue;
        }
        if (got < 0 && errno == EINTR)
            continue;
        /* Fallback: distinct per call, process and instant. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        uint64_t x = hash_mix64((uint64_t)ts.tv_nsec ^
                                ((uint64_t)ts.tv_sec << 30) ^
                                ((uint64_t)getpid() << 48) ^
                                atomic_fetch_add(&counter, 1));
        size_t k = n < 8 ? n : 8;
        for (size_t i = 0; i < k; i++)
            p[i] = (uint8_t)(x >> (8 * i));
        p += k;
        n -= k;
    }
}

uint64_t random_u64(void)
{
    uint64_t v;
    random_bytes(&v, sizeof v);
    return v;
}

void hex_encode(char *out, const void *data, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    const uint8_t *p = data;

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}
