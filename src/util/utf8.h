/*
 * utf8.h - strict UTF-8 validation for bytes that arrive from callers.
 *
 * Arrow's utf8 type promises valid UTF-8 but producers do not check it;
 * a stored invalid string later breaks SQLite text functions and Python's
 * decoder. Appends therefore validate every string once, so the check is
 * built for throughput: whole runs of strings at a time, ASCII 16 bytes per
 * step (tests/unit/util_utf8_test.c compares it with a byte-wise decoder;
 * bench/utf8/bench_util_utf8.c measures it).
 */
#ifndef INFINO_UTIL_UTF8_H
#define INFINO_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

/* Checks `n` bytes at `p` against Unicode 15, Table 3-7 (well-formed byte
 * sequences: no overlongs, no surrogates, nothing above U+10FFFF, no
 * sequence cut by the end). Returns `n` when all of it is valid, else the
 * offset of the first byte of the first ill-formed sequence. `p` may be
 * NULL when n == 0. */
size_t utf8_check(const uint8_t *p, size_t n);

/* Writes code point `cp` (at most U+10FFFF; callers check) as 1-4 bytes
 * of UTF-8 at `out` and returns how many (Unicode 15, Table 3-6). */
size_t utf8_encode(uint8_t out[4], uint32_t cp);

/* Whether byte `c` continues a sequence (10xxxxxx): a string that is valid
 * UTF-8 never starts with one, so the boundary between two strings in one
 * valid run is a character boundary exactly when the byte after it is not
 * a continuation byte. */
static inline int utf8_is_continuation(uint8_t c)
{
    return (c & 0xc0) == 0x80;
}

#endif
