/*
 * random.h - unpredictable bytes from the kernel, for ids that must not
 * collide across processes and hosts (superfile names, _id worker ids).
 */
#ifndef INFINO_UTIL_RANDOM_H
#define INFINO_UTIL_RANDOM_H

#include <stddef.h>
#include <stdint.h>

/* Fills `n` bytes. Falls back to a time/pid/counter mix only if the kernel
 * refuses (never seen in practice); never fails. */
void random_bytes(void *out, size_t n);
uint64_t random_u64(void);

/* Lower-case hex of `n` bytes into `out` (2n + 1 bytes, NUL-terminated). */
void hex_encode(char *out, const void *p, size_t n);

#endif
