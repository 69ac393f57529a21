/*
 * clock.c - time helpers (clock.h).
 */
#include "clock.h"

#include "random.h"

#include <errno.h>
#include <time.h>

int64_t clock_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t clock_mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void clock_sleep_us(uint64_t us)
{
    struct timespec req, rem;

    req.tv_sec = (time_t)(us / 1000000);
    req.tv_nsec = (long)(us % 1000000) * 1000;
    while (nanosleep(&req, &rem) != 0 && errno == EINTR)
        req = rem;
}

void clock_backoff(int attempt, uint64_t first_us, uint64_t max_us)
{
    uint64_t base = first_us;

    for (int i = 0; i < attempt && base < max_us; i++)
        base *= 2;
    if (base > max_us)
        base = max_us;
    clock_sleep_us(base / 2 + random_u64() % (base + 1));
}
