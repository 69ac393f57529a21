/*
 * crc32c.h - CRC-32C (Castagnoli, iSCSI polynomial 0x1EDC6F41, reflected).
 *
 * Protects every index region and manifest. crc32c("123456789") is
 * 0xE3069283. Uses the SSE4.2 crc32 instruction when the CPU has it.
 */
#ifndef INFINO_UTIL_CRC32C_H
#define INFINO_UTIL_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/* Extends `crc` (0 to start) over `n` bytes at `p`. */
uint32_t crc32c_extend(uint32_t crc, const void *p, size_t n);

static inline uint32_t crc32c(const void *p, size_t n)
{
    return crc32c_extend(0, p, n);
}

/* The portable table-driven version, exposed so tests can compare. */
uint32_t crc32c_extend_portable(uint32_t crc, const void *p, size_t n);

#endif
