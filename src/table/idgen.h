/*
 * idgen.h - engine-assigned row ids (_id), unique across writers.
 *
 * An _id is 128 bits: hi = milliseconds since the epoch, lo = a 40-bit
 * random writer id (drawn per table handle from the kernel) << 24 | a
 * 24-bit sequence within that millisecond. Ids from one writer strictly
 * increase; ids from different writers are ordered by time and never
 * collide unless two writers draw the same 40-bit id (p ~ 1e-12 per pair)
 * *and* mint in the same millisecond. Nothing is coordinated, so appends
 * in many processes or hosts need no shared counter. Ids are never
 * reused: a replaced row (update) gets a new id.
 *
 * The writer id belongs to a process: a handle inherited through fork()
 * draws a new one on its first use in the child, so parent and children
 * never mint the same ids.
 *
 * In Arrow the id is decimal128(38, 0) (16 bytes little-endian), which
 * holds every value we mint (hi < 2^43 for the next 200 years).
 */
#ifndef INFINO_TABLE_IDGEN_H
#define INFINO_TABLE_IDGEN_H

#include "snapshot.h"

struct idgen {
    uint64_t worker; /* 40 random bits */
    long pid;        /* process that drew `worker` */
    uint64_t last_ms;
    uint32_t seq; /* next sequence number within last_ms */
};

void idgen_init(struct idgen *g);

/* Mints `n` increasing ids into `dst` (n x 16 bytes, decimal128 layout)
 * and reports the first and last. n > 0. */
void idgen_fill(struct idgen *g, uint8_t *dst, uint64_t n, struct tid *first,
                struct tid *last);

#endif
