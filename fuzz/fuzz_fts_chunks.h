/*
 * fuzz_fts_chunks.h - lets the fts fuzzers reach the decoders behind the
 * per-chunk CRCs of format 4 and on (FORMAT.md "Checks"): random
 * mutations almost never keep them valid, so a harness also decodes a
 * copy whose chunk and tail CRCs are recomputed.
 */
#ifndef INFINO_FUZZ_FTS_CHUNKS_H
#define INFINO_FUZZ_FTS_CHUNKS_H

#include "util/alloc.h"
#include "util/crc32c.h"
#include "util/endian.h"

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Format 4: recomputes the chunk CRCs and the tail CRC of a copy where
 * its trailer places them plausibly, so that mutations reach the decoders
 * behind the checks with them switched on. */
static inline void fuzz_fts_fix_chunks(uint8_t *d, size_t size)
{
    const uint8_t *tr;
    uint64_t body, so, sl, covered, n_chunks, chunk;
    uint8_t *ck;
    unsigned shift;

    if (size < 16 + 128 || load_u32le(d + 8) < 4)
        return;
    tr = d + size - 128;
    body = size - 128;
    so = load_u64le(tr + 88);
    sl = load_u64le(tr + 96);
    if (so > body || sl > body - so || body - (so + sl) < 16)
        return;
    covered = so + sl;
    ck = d + covered;
    shift = ck[4];
    if (shift < 10 || shift > 24)
        return;
    chunk = (uint64_t)1 << shift;
    n_chunks = (covered + chunk - 1) >> shift;
    if (body - covered - 16 != 4 * n_chunks)
        return;
    for (uint64_t c = 0; c < n_chunks; c++) {
        uint64_t lo = c * chunk, hi = covered - lo < chunk ? covered : lo + chunk;
        store_u32le(ck + 16 + 4 * c, crc32c(d + lo, (size_t)(hi - lo)));
    }
    store_u32le(ck, crc32c_extend(crc32c(ck + 4, (size_t)(body - covered) - 4),
                                  tr, 124));
}

/* Runs a harness's `walk` over the input three ways: the decoders alone
 * (chunk CRCs off), behind the checks as given (a mutation is a
 * mismatch), and behind the checks on a copy whose CRCs are recomputed.
 * `no_crc_flag` is the fts_reader open flag that switches them off. */
static inline void fuzz_fts_walk_three_ways(
    const uint8_t *data, size_t size, unsigned no_crc_flag,
    void (*walk)(const uint8_t *data, size_t size, unsigned flags))
{
    uint8_t *copy;

    walk(data, size, no_crc_flag);
    walk(data, size, 0);
    copy = mem_alloc(size ? size : 1);
    if (copy == NULL)
        return;
    memcpy(copy, data, size);
    fuzz_fts_fix_chunks(copy, size);
    walk(copy, size, 0);
    mem_free(copy);
}

#endif
