/*
 * fuzz_crcfix.h - lets fuzzers reach the decoders behind a checksum.
 *
 * Sealed documents (util/doc.h) end in a CRC-32C of everything before it;
 * random mutations almost never keep it valid, so a harness decodes both
 * the raw input and a copy whose trailer is recomputed.
 */
#ifndef INFINO_FUZZ_CRCFIX_H
#define INFINO_FUZZ_CRCFIX_H

#include "util/alloc.h"
#include "util/crc32c.h"
#include "util/endian.h"

#include <string.h>

/* Owned copy of data with a valid trailing CRC, or NULL when too short. */
static inline uint8_t *fuzz_fix_crc(const uint8_t *data, size_t size)
{
    uint8_t *copy;

    if (size < 16)
        return NULL;
    copy = mem_alloc(size);
    if (copy == NULL)
        return NULL;
    memcpy(copy, data, size);
    store_u32le(copy + size - 4, crc32c(copy, size - 4));
    return copy;
}

#endif
