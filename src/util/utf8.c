/*
 * utf8.c - strict UTF-8 validation (utf8.h).
 *
 * Two speeds. ASCII, the bulk of most text, is skipped 16 bytes per step
 * (two 64-bit loads tested against the high bits). Everything else runs
 * through a DFA over the states of Unicode 15, Table 3-7, in the
 * "shift" form: the row of a byte packs, for every state, the next state
 * as a 6-bit field at that state's own offset, so one step is a table load
 * that does not depend on the state and one shift that does - about a byte
 * per cycle whatever the mix of sequence lengths, where a decoder that
 * branches per sequence stalls on every mispredicted length; long text runs
 * as two interleaved lanes. The error state is absorbing, so a block of
 * bytes is checked once at its end; only a failing block is walked again to
 * find where its bad sequence starts. The table is a constant, built by the
 * preprocessor from the rules, so nothing is initialised at run time.
 */
#include "utf8.h"

#include "endian.h"

#include <stdbool.h>

#if defined(__GNUC__)
#define ALWAYS_INLINE inline __attribute__((always_inline))
#else
#define ALWAYS_INLINE inline
#endif

#define HIGH_BITS 0x8080808080808080ull
#define BLOCK 32 /* bytes through the DFA between error checks */
#define TWO_LANES_MIN 4096 /* shorter halves are not worth a second lane */

/* States, as bit offsets into a row. ACCEPT is a character boundary;
 * NEED1..3 want that many continuation bytes (80..BF); the four narrow
 * states want the restricted second byte after E0 (A0..BF, no overlongs),
 * ED (80..9F, no surrogates), F0 (90..BF, no overlongs) and F4 (80..8F,
 * nothing past U+10FFFF). */
enum {
    ACCEPT = 0,
    NEED1 = 6,
    NEED2 = 12,
    NEED3 = 18,
    AFTER_E0 = 24,
    AFTER_ED = 30,
    AFTER_F0 = 36,
    AFTER_F4 = 42,
    ERROR = 48,
};

/* Table 3-7 itself: the state after byte `b` in each state. */
#define IN(b, lo, hi) ((b) >= (lo) && (b) <= (hi))
#define FROM_ACCEPT(b)                                                        \
    ((b) < 0x80    ? ACCEPT                                                   \
     : (b) < 0xc2  ? ERROR /* a stray continuation; overlong C0, C1 */        \
     : (b) < 0xe0  ? NEED1                                                    \
     : (b) == 0xe0 ? AFTER_E0                                                 \
     : (b) == 0xed ? AFTER_ED                                                 \
     : (b) < 0xf0  ? NEED2                                                    \
     : (b) == 0xf0 ? AFTER_F0                                                 \
     : (b) < 0xf4  ? NEED3                                                    \
     : (b) == 0xf4 ? AFTER_F4                                                 \
                   : ERROR) /* F5..FF never occur */
#define TO(s, b, lo, hi, next)                                                \
    ((uint64_t)(IN(b, lo, hi) ? (next) : ERROR) << (s))

/* The row of byte `b`: every state's successor at that state's offset. */
#define ROW(b)                                                                \
    ((uint64_t)FROM_ACCEPT(b) << ACCEPT | TO(NEED1, b, 0x80, 0xbf, ACCEPT) |  \
     TO(NEED2, b, 0x80, 0xbf, NEED1) | TO(NEED3, b, 0x80, 0xbf, NEED2) |      \
     TO(AFTER_E0, b, 0xa0, 0xbf, NEED1) | TO(AFTER_ED, b, 0x80, 0x9f, NEED1) | \
     TO(AFTER_F0, b, 0x90, 0xbf, NEED2) | TO(AFTER_F4, b, 0x80, 0x8f, NEED2) | \
     (uint64_t)ERROR << ERROR)
#define ROWS4(b) ROW(b), ROW((b) + 1), ROW((b) + 2), ROW((b) + 3)
#define ROWS16(b) ROWS4(b), ROWS4((b) + 4), ROWS4((b) + 8), ROWS4((b) + 12)
#define ROWS64(b)                                                             \
    ROWS16(b), ROWS16((b) + 16), ROWS16((b) + 32), ROWS16((b) + 48)

static const uint64_t rows[256] = {ROWS64(0), ROWS64(64), ROWS64(128),
                                   ROWS64(192)};

static bool cont(uint8_t b)
{
    return (b & 0xc0) == 0x80;
}

/* One step. Only the low 6 bits of a state are meaningful: the shift
 * leaves the other states' fields above them, and x86 and ARM shifts use
 * the count modulo 64, so the mask costs nothing. */
static inline uint64_t step(uint64_t s, uint8_t b)
{
    return rows[b] >> (s & 63);
}

/* The lead byte of the sequence that is open at `i` in state `s` (bytes
 * before `i` were accepted, so at most three continuation bytes sit
 * between the lead and `i`). */
static size_t sequence_start(const uint8_t *p, size_t i, uint64_t s)
{
    if ((s & 63) == ACCEPT)
        return i;
    while (cont(p[i - 1]))
        i--;
    return i - 1;
}

/* A block [i, end) entered in state `s` reached ERROR: walks it again to
 * return the offset of the first byte of the bad sequence. */
static size_t locate(const uint8_t *p, size_t i, size_t end, uint64_t s)
{
    size_t seq = sequence_start(p, i, s);

    for (; i < end; i++) {
        if ((s & 63) == ACCEPT)
            seq = i;
        s = step(s, p[i]);
        if ((s & 63) == ERROR)
            return seq;
    }
    return seq; /* not reached: the block ends in ERROR */
}

static ALWAYS_INLINE size_t skip_ascii(const uint8_t *p, size_t i, size_t n)
{
    while (n - i >= 16 &&
           ((load_u64le(p + i) | load_u64le(p + i + 8)) & HIGH_BITS) == 0)
        i += 16;
    return i;
}

/* Runs the DFA over [i, n) from state *s: returns n, with *s the state at
 * the end, or the offset where the first bad sequence starts. */
static ALWAYS_INLINE size_t run(const uint8_t *p, size_t n, size_t i,
                                uint64_t *state)
{
    uint64_t s = *state;

    while (i < n) {
        if ((s & 63) == ACCEPT && (i = skip_ascii(p, i, n)) == n)
            break;
        size_t start = i, end = n - i > BLOCK ? i + BLOCK : n;
        uint64_t s0 = s;
        for (; end - i >= 8; i += 8) { /* unrolled: the shifts chain */
            s = step(s, p[i]);
            s = step(s, p[i + 1]);
            s = step(s, p[i + 2]);
            s = step(s, p[i + 3]);
            s = step(s, p[i + 4]);
            s = step(s, p[i + 5]);
            s = step(s, p[i + 6]);
            s = step(s, p[i + 7]);
        }
        for (; i < end; i++)
            s = step(s, p[i]);
        if ((s & 63) == ERROR)
            return locate(p, start, end, s0);
    }
    *state = s;
    return n;
}

/* Whether [a, a + na) and [b, b + nb) are both valid, the two DFAs
 * interleaved: each step waits for the previous one of its own lane only,
 * so two lanes run in about the time of one. */
static ALWAYS_INLINE bool run_two(const uint8_t *a, size_t na,
                                  const uint8_t *b, size_t nb)
{
    uint64_t s = ACCEPT, t = ACCEPT;
    size_t i = 0, j = 0;

    while (i < na && j < nb) {
        if ((s & 63) == ACCEPT)
            i = skip_ascii(a, i, na);
        if ((t & 63) == ACCEPT)
            j = skip_ascii(b, j, nb);
        size_t len = na - i < nb - j ? na - i : nb - j, k = 0;
        if (len > BLOCK)
            len = BLOCK;
        for (; len - k >= 4; k += 4) {
            s = step(s, a[i + k]);
            t = step(t, b[j + k]);
            s = step(s, a[i + k + 1]);
            t = step(t, b[j + k + 1]);
            s = step(s, a[i + k + 2]);
            t = step(t, b[j + k + 2]);
            s = step(s, a[i + k + 3]);
            t = step(t, b[j + k + 3]);
        }
        for (; k < len; k++) {
            s = step(s, a[i + k]);
            t = step(t, b[j + k]);
        }
        i += len;
        j += len;
        if ((s & 63) == ERROR || (t & 63) == ERROR)
            return false;
    }
    return run(a, na, i, &s) == na && run(b, nb, j, &t) == nb &&
           (s & 63) == ACCEPT && (t & 63) == ACCEPT;
}

/* The whole check; compiled twice below, once where shifts by a register
 * may use BMI2's SHRX (no flags to wait for: a lane advances one shift per
 * byte) and once for any x86-64 or other CPU. Long input is split at a
 * character boundary near its middle into two lanes: both halves are
 * valid exactly when the whole is (utf8.h). Only when a lane fails does a
 * single pass run again, to find where. */
static ALWAYS_INLINE size_t check(const uint8_t *p, size_t n)
{
    uint64_t s = ACCEPT;
    size_t r;

    if (n >= 2 * TWO_LANES_MIN) {
        size_t h = n / 2, k = 0;
        while (k < 4 && utf8_is_continuation(p[h + k]))
            k++; /* four in a row: invalid, found below */
        if (k < 4 && run_two(p, h + k, p + h + k, n - h - k))
            return n;
    }
    r = run(p, n, 0, &s);
    if (r < n)
        return r;
    /* A sequence cut by the end starts at its lead byte. */
    return (s & 63) == ACCEPT ? n : sequence_start(p, n, s);
}

static size_t check_portable(const uint8_t *p, size_t n)
{
    return check(p, n);
}

#if defined(__x86_64__) && defined(__GNUC__)
__attribute__((target("bmi2"))) static size_t check_bmi2(const uint8_t *p,
                                                          size_t n)
{
    return check(p, n);
}
#endif

size_t utf8_check(const uint8_t *p, size_t n)
{
#if defined(__x86_64__) && defined(__GNUC__)
    if (__builtin_cpu_supports("bmi2")) /* a load: set up before main */
        return check_bmi2(p, n);
#endif
    return check_portable(p, n);
}

size_t utf8_encode(uint8_t out[4], uint32_t cp)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | cp >> 6);
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | cp >> 12);
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | cp >> 18);
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}
