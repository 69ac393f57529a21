/*
 * util_utf8_test.c - utf8_check against a plain decoder: every sequence of
 * up to three bytes, the four-byte ones by lead and second byte, random
 * text with one error at every offset around the 16-byte ASCII blocks,
 * and long text that takes the two-lane path.
 */
#include "harness.h"

#include "util/utf8.h"

/* The reference: decode a code point by its bit pattern, then reject
 * overlongs, surrogates and values past U+10FFFF (RFC 3629). Returns the
 * offset of the first ill-formed sequence, or n. */
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

static void same(const uint8_t *s, size_t n)
{
    size_t want = reference(s, n), got = utf8_check(s, n);

    if (want != got) {
        char hex[64] = "";
        for (size_t i = 0; i < n && i < 16; i++)
            snprintf(hex + 3 * i, sizeof hex - 3 * i, "%02x ", s[i]);
        fail_msg("%zu bytes [%s]: utf8_check %zu, reference %zu", n, hex, got,
                 want);
    }
}

static void test_util_utf8__short_sequences_exhaustive(void **state)
{
    uint8_t s[4];
    (void)state;

    assert_int_equal(utf8_check(NULL, 0), 0);
    for (unsigned a = 0; a < 256; a++) {
        s[0] = (uint8_t)a;
        same(s, 1);
        for (unsigned b = 0; b < 256; b++) {
            s[1] = (uint8_t)b;
            same(s, 2);
            for (unsigned c = 0; c < 256; c++) {
                s[2] = (uint8_t)c;
                same(s, 3);
            }
        }
    }
}

static void test_util_utf8__four_byte_sequences(void **state)
{
    static const uint8_t tails[] = {0x00, 0x41, 0x7f, 0x80, 0x9f, 0xa0,
                                    0xbf, 0xc0, 0xe0, 0xf0, 0xff};
    uint8_t s[5];
    (void)state;

    for (unsigned a = 0xe0; a < 256; a++)
        for (unsigned b = 0; b < 256; b++)
            for (size_t c = 0; c < sizeof tails; c++)
                for (size_t d = 0; d < sizeof tails; d++) {
                    s[0] = (uint8_t)a, s[1] = (uint8_t)b;
                    s[2] = tails[c], s[3] = tails[d], s[4] = 'x';
                    same(s, 4);
                    same(s, 5);
                }
    /* the edges by name */
    assert_int_equal(utf8_check((const uint8_t *)"\xf4\x8f\xbf\xbf", 4), 4);
    assert_int_equal(utf8_check((const uint8_t *)"\xf4\x90\x80\x80", 4), 0);
    assert_int_equal(utf8_check((const uint8_t *)"\xf0\x8f\xbf\xbf", 4), 0);
    assert_int_equal(utf8_check((const uint8_t *)"\xed\x9f\xbf", 3), 3);
    assert_int_equal(utf8_check((const uint8_t *)"\xed\xa0\x80", 3), 0);
    assert_int_equal(utf8_check((const uint8_t *)"\xe0\x9f\xbf", 3), 0);
    assert_int_equal(utf8_check((const uint8_t *)"ab\xc1\xbf", 4), 2);
}

/* Random text of ASCII and 2-, 3- and 4-byte characters. */
static size_t random_text(uint8_t *out, size_t cap)
{
    size_t n = 0;

    while (n + 4 <= cap) {
        uint64_t r = test_rand();
        switch (r % 8) {
        case 0:
            out[n++] = (uint8_t)(0xc2 + (r >> 8) % 30);
            out[n++] = (uint8_t)(0x80 + (r >> 16) % 64);
            break;
        case 1:
            out[n++] = 0xe6;
            out[n++] = (uint8_t)(0x80 + (r >> 8) % 64);
            out[n++] = (uint8_t)(0x80 + (r >> 16) % 64);
            break;
        case 2:
            out[n++] = 0xf0;
            out[n++] = (uint8_t)(0x90 + (r >> 8) % 48);
            out[n++] = (uint8_t)(0x80 + (r >> 16) % 64);
            out[n++] = (uint8_t)(0x80 + (r >> 24) % 64);
            break;
        default:
            for (size_t k = 0; k < 1 + (r >> 8) % 40 && n < cap; k++)
                out[n++] = (uint8_t)(0x20 + (r >> 16) % 90);
        }
    }
    return n;
}

static void test_util_utf8__random_text_one_error(void **state)
{
    static const uint8_t bad[] = {0x80, 0xbf, 0xc0, 0xc1, 0xe0, 0xed,
                                  0xf4, 0xf5, 0xff};
    uint8_t buf[256], ascii[80];
    (void)state;

    test_seed();
    /* an error at every offset around the 16-byte blocks of ASCII */
    for (size_t at = 0; at < sizeof ascii; at++)
        for (size_t k = 0; k < sizeof bad; k++) {
            memset(ascii, 'a', sizeof ascii);
            ascii[at] = bad[k];
            same(ascii, sizeof ascii);
            same(ascii, at + 1); /* the error is the last byte */
        }
    for (int round = 0; round < 20000; round++) {
        size_t n = random_text(buf, 1 + test_rand() % sizeof buf);
        same(buf, n);
        if (n == 0)
            continue;
        buf[test_rand() % n] = (uint8_t)test_rand(); /* one random byte */
        same(buf, n);
        same(buf, n - test_rand() % n); /* cut anywhere */
    }
}

/* Long text goes through two lanes split near the middle: errors on
 * either side of the split, at it, and sequences cut by it. */
static void test_util_utf8__long_text_two_lanes(void **state)
{
    static uint8_t buf[20000];
    (void)state;

    test_seed();
    for (int round = 0; round < 300; round++) {
        size_t n = random_text(buf, 8192 + test_rand() % (sizeof buf - 8192));
        size_t mid = n / 2, at;
        same(buf, n);
        switch (round % 4) {
        case 0: /* anywhere */
            at = test_rand() % n;
            break;
        case 1: /* around the split */
            at = mid - 4 + test_rand() % 8;
            break;
        case 2: /* the first lane's last bytes */
            at = mid - 1 - test_rand() % 64;
            break;
        default: /* the very end */
            at = n - 1 - test_rand() % 4;
            break;
        }
        uint8_t keep = buf[at];
        buf[at] = (uint8_t)test_rand();
        same(buf, n);
        buf[at] = keep;
        /* a run of continuation bytes across the split */
        memset(buf + mid - 2, 0x80, 5);
        same(buf, n);
    }
}

/* utf8_encode: every scalar value encodes to the shortest well-formed
 * sequence (utf8_check accepts it), of the length Table 3-6 gives, and
 * the bits decode back to the code point. */
static void test_util_utf8__encode_every_scalar(void **state)
{
    (void)state;
    for (uint32_t cp = 0; cp <= 0x10FFFF; cp++) {
        uint8_t u[4];
        size_t n, want;
        uint32_t back;
        if (cp >= 0xD800 && cp <= 0xDFFF)
            continue; /* surrogates are not scalar values */
        n = utf8_encode(u, cp);
        want = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
        assert_int_equal(n, want);
        assert_int_equal(utf8_check(u, n), n);
        back = n == 1 ? u[0] : (uint32_t)(u[0] & (0x7F >> n));
        for (size_t i = 1; i < n; i++)
            back = back << 6 | (u[i] & 0x3F);
        assert_int_equal(back, cp);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_util_utf8__short_sequences_exhaustive),
        cmocka_unit_test(test_util_utf8__four_byte_sequences),
        cmocka_unit_test(test_util_utf8__random_text_one_error),
        cmocka_unit_test(test_util_utf8__long_text_two_lanes),
        cmocka_unit_test(test_util_utf8__encode_every_scalar),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
