/*
 * idgen.c - time + writer + sequence ids (idgen.h).
 */
#include "idgen.h"

#include "util/clock.h"
#include "util/endian.h"
#include "util/random.h"

#include <unistd.h>


#define SEQ_BITS 24
#define SEQ_LIMIT (1u << SEQ_BITS)
#define WORKER_MASK ((1ull << 40) - 1)

void idgen_init(struct idgen *g)
{
    g->worker = random_u64() & WORKER_MASK;
    g->pid = (long)getpid();
    g->last_ms = 0;
    g->seq = 0;
}

static uint64_t now_ms(void)
{
    return (uint64_t)clock_now_ns() / 1000000;
}

void idgen_fill(struct idgen *g, uint8_t *dst, uint64_t n, struct tid *first,
                struct tid *last)
{
    uint64_t ms = now_ms();
    struct tid t;

    if ((long)getpid() != g->pid)
        idgen_init(g); /* a child of fork(): its own writer id */
    /* Never step back in time: a clock that jumps backwards (or a batch
     * that used up a millisecond's sequence) keeps counting forward. */
    if (ms > g->last_ms) {
        g->last_ms = ms;
        g->seq = 0;
    }
    for (uint64_t i = 0; i < n; i++) {
        if (g->seq == SEQ_LIMIT) {
            g->last_ms++;
            g->seq = 0;
        }
        t.hi = g->last_ms;
        t.lo = g->worker << SEQ_BITS | g->seq++;
        tid_store(dst + 16 * i, t);
        if (i == 0)
            *first = t;
    }
    *last = t;
}
