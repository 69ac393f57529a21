/*
 * fuzz_util_utf8.c - utf8_check (util/utf8.h) against a byte-wise decoder,
 * and the rule appends rely on to validate many strings in one pass: two
 * strings are both valid exactly when their concatenation is valid and the
 * second does not start with a continuation byte.
 *
 * Input: byte 0 picks the split point (modulo the rest's length + 1), the
 * rest is the text. The text is also checked repeated past 8 KiB, where
 * utf8_check splits it into two lanes.
 */
#include "util/utf8.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define LONG_LEN 9000

static uint8_t long_text[LONG_LEN];

/* Decode by bit pattern, then range-check the code point (RFC 3629). */
static size_t reference(const uint8_t *s, size_t n)
{
    size_t i = 0;

    while (i < n) {
        uint32_t cp, min;
        size_t len;
        uint8_t c = s[i];

        if (c < 0x80) {
            i++;
            continue;
        }
        if ((c & 0xe0) == 0xc0)
            len = 2, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            len = 3, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            len = 4, cp = c & 0x07, min = 0x10000;
        else
            return i;
        if (n - i < len)
            return i;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xc0) != 0x80)
                return i;
            cp = (cp << 6) | (s[i + k] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return i;
        i += len;
    }
    return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const uint8_t *s = data + 1;
    size_t n, cut;
    bool whole, halves;

    if (size == 0)
        return 0;
    n = size - 1;
    cut = data[0] % (n + 1);
    if (utf8_check(s, n) != reference(s, n))
        __builtin_trap();
    whole = utf8_check(s, n) == n &&
            (cut == n || !utf8_is_continuation(s[cut]));
    halves = utf8_check(s, cut) == cut &&
             utf8_check(s + cut, n - cut) == n - cut;
    if (whole != halves)
        __builtin_trap();
    if (n > 0) {
        /* the text repeated, then cut at 8 KiB + the split byte */
        size_t len = 8192 + data[0];
        for (size_t i = 0; i < len; i += n)
            memcpy(long_text + i, s, len - i < n ? len - i : n);
        if (utf8_check(long_text, len) != reference(long_text, len))
            __builtin_trap();
    }
    return 0;
}
