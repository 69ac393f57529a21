/*
 * clock.h - wall-clock time and sleeping.
 */
#ifndef INFINO_UTIL_CLOCK_H
#define INFINO_UTIL_CLOCK_H

#include <stdint.h>

/* Nanoseconds since the epoch (CLOCK_REALTIME). */
int64_t clock_now_ns(void);
/* Nanoseconds from an arbitrary origin that never goes back. */
int64_t clock_mono_ns(void);
/* Sleeps about `us` microseconds (restarting after signals). */
void clock_sleep_us(uint64_t us);
/* Sleeps a jittered, exponentially growing delay for retry `attempt`
 * (0-based): uniform in [base/2, 3*base/2) with base = first_us * 2^attempt
 * capped at max_us. */
void clock_backoff(int attempt, uint64_t first_us, uint64_t max_us);

#endif
