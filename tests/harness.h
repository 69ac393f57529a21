/*
 * harness.h - shared helpers for the cmocka unit tests.
 *
 * Tests use the seeded PRNG below so a failure can be replayed: the seed is
 * printed at start and can be forced with INFINO_TEST_SEED.
 */
#ifndef INFINO_TEST_HARNESS_H
#define INFINO_TEST_HARNESS_H

#include <setjmp.h> /* cmocka needs these first */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "infino.h"
#include "util/err.h"

/* Fails the test with the thread's last error when `expr` is not OK. */
#define assert_ok(expr)                                                        \
    do {                                                                       \
        infino_status st_ = (expr);                                            \
        if (st_ != INFINO_OK)                                                  \
            fail_msg("%s -> %d: %s", #expr, (int)st_, err_last());    \
    } while (0)

static uint64_t harness_rng_state;

static inline uint64_t test_rand(void)
{
    /* xorshift64*: tiny and good enough for test data */
    uint64_t x = harness_rng_state;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    harness_rng_state = x;
    return x * 0x2545F4914F6CDD1Dull;
}

static inline uint64_t test_seed(void)
{
    const char *s = getenv("INFINO_TEST_SEED");
    uint64_t seed = s ? strtoull(s, NULL, 0) : (uint64_t)time(NULL);
    if (seed == 0)
        seed = 1;
    harness_rng_state = seed;
    fprintf(stderr, "# seed: INFINO_TEST_SEED=%llu\n", (unsigned long long)seed);
    return seed;
}

/* Writes a fresh, empty directory path into `out` (cap bytes). */
static inline void test_tmpdir(char *out, size_t cap, const char *tag)
{
    const char *base = getenv("INFINO_TEST_TMP");
    static unsigned n;
    if (base == NULL)
        base = "/tmp";
    mkdir(base, 0777);
    snprintf(out, cap, "%s/%s-%ld-%u", base, tag, (long)getpid(), n++);
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", out);
    if (system(cmd) != 0)
        fail_msg("cannot clear %s", out);
    mkdir(out, 0777);
}

#endif
