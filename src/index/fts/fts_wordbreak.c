/*
 * fts_wordbreak.c - word boundaries per Unicode Standard Annex #29,
 * "Unicode Text Segmentation", section 4.1 (Default Word Boundary
 * Specification), for Unicode 15.0.
 *
 * The classes come from the generated table fts_wordbreak_data.h
 * (scripts/gen_wordbreak.py). fts_wb_next() walks forward from a boundary
 * and applies the rules in their order of precedence. Rule WB4 ("ignore
 * Extend, Format and ZWJ after anything but a line break") is applied as
 * the annex's section 6.2 suggests: an ignorable code point never starts a
 * break, and the rules that look back see the last code point that is not
 * ignorable. Every boundary walk starts at a boundary, so looking back
 * never needs to leave the current word: WB6/WB7 and WB11/WB12 join a
 * middle character only together with the letters or digits around it,
 * and a run of regional indicators (WB15/WB16) is paired from the word's
 * start. tests/unit/fts_wordbreak_test.c runs Unicode's
 * auxiliary/WordBreakTest.txt against this file.
 */
#include "fts_int.h"

#include <stddef.h>

#include "fts_wordbreak_data.h"

uint8_t fts_wb_class(int32_t cp)
{
    size_t lo = 0, hi = FTS_WB_N_RANGES;

    if (cp < 0x80) { /* the common case, without the search */
        if ((cp | 0x20) >= 'a' && (cp | 0x20) <= 'z')
            return FTS_WB_ALETTER;
        if (cp >= '0' && cp <= '9')
            return FTS_WB_NUMERIC;
    }
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (cp < fts_wb_ranges[mid].lo)
            hi = mid;
        else if (cp > fts_wb_ranges[mid].hi)
            lo = mid + 1;
        else
            return fts_wb_ranges[mid].cls;
    }
    return FTS_WB_OTHER;
}

static inline bool ignorable(uint8_t c)
{
    return c == FTS_WB_EXTEND || c == FTS_WB_FORMAT || c == FTS_WB_ZWJ;
}

static inline bool ahletter(uint8_t c)
{
    return c == FTS_WB_ALETTER || c == FTS_WB_HEBREW;
}

static inline bool midnumletq(uint8_t c)
{
    return c == FTS_WB_MIDNUMLET || c == FTS_WB_SQUOTE;
}

static inline bool newline(uint8_t c)
{
    return c == FTS_WB_CR || c == FTS_WB_LF || c == FTS_WB_NEWLINE;
}

/* The class of the first code point at or after i that is not ignorable
 * (FTS_WB_OTHER past the end: no rule joins across the end of text). */
static uint8_t ahead(const uint8_t *cls, size_t n, size_t i)
{
    while (i < n && ignorable(cls[i] & FTS_WB_MASK))
        i++;
    return i < n ? (uint8_t)(cls[i] & FTS_WB_MASK) : FTS_WB_OTHER;
}

size_t fts_wb_next(const uint8_t *cls, size_t n, size_t start)
{
    /* l1: the class of the last code point of the word that WB4 does not
     * skip, l2 the one before it; ri: regional indicators ending it. */
    uint8_t l1 = cls[start] & FTS_WB_MASK, l2 = FTS_WB_OTHER;
    size_t ri = l1 == FTS_WB_RI;

    for (size_t p = start + 1; p < n; p++) {
        uint8_t raw_l = cls[p - 1] & FTS_WB_MASK, r1 = cls[p] & FTS_WB_MASK;
        bool join;

        if (raw_l == FTS_WB_CR && r1 == FTS_WB_LF)
            join = true; /* WB3 */
        else if (newline(raw_l) || newline(r1))
            return p; /* WB3a, WB3b */
        else if (raw_l == FTS_WB_ZWJ && (cls[p] & FTS_WB_EXT_PICT))
            join = true; /* WB3c */
        else if (raw_l == FTS_WB_WSEGSPACE && r1 == FTS_WB_WSEGSPACE)
            join = true; /* WB3d */
        else if (ignorable(r1))
            continue; /* WB4: the word goes on, l1 and l2 stay */
        else if (ahletter(l1) && ahletter(r1))
            join = true; /* WB5 */
        else if (ahletter(l1) &&
                 (r1 == FTS_WB_MIDLETTER || midnumletq(r1)) &&
                 ahletter(ahead(cls, n, p + 1)))
            join = true; /* WB6 */
        else if (ahletter(l2) && (l1 == FTS_WB_MIDLETTER || midnumletq(l1)) &&
                 ahletter(r1))
            join = true; /* WB7 */
        else if (l1 == FTS_WB_HEBREW && r1 == FTS_WB_SQUOTE)
            join = true; /* WB7a */
        else if (l1 == FTS_WB_HEBREW && r1 == FTS_WB_DQUOTE &&
                 ahead(cls, n, p + 1) == FTS_WB_HEBREW)
            join = true; /* WB7b */
        else if (l2 == FTS_WB_HEBREW && l1 == FTS_WB_DQUOTE &&
                 r1 == FTS_WB_HEBREW)
            join = true; /* WB7c */
        else if ((l1 == FTS_WB_NUMERIC || ahletter(l1)) &&
                 r1 == FTS_WB_NUMERIC)
            join = true; /* WB8, WB9 */
        else if (l1 == FTS_WB_NUMERIC && ahletter(r1))
            join = true; /* WB10 */
        else if (l2 == FTS_WB_NUMERIC &&
                 (l1 == FTS_WB_MIDNUM || midnumletq(l1)) &&
                 r1 == FTS_WB_NUMERIC)
            join = true; /* WB11 */
        else if (l1 == FTS_WB_NUMERIC &&
                 (r1 == FTS_WB_MIDNUM || midnumletq(r1)) &&
                 ahead(cls, n, p + 1) == FTS_WB_NUMERIC)
            join = true; /* WB12 */
        else if (l1 == FTS_WB_KATAKANA && r1 == FTS_WB_KATAKANA)
            join = true; /* WB13 */
        else if ((ahletter(l1) || l1 == FTS_WB_NUMERIC ||
                  l1 == FTS_WB_KATAKANA || l1 == FTS_WB_EXTENDNUMLET) &&
                 r1 == FTS_WB_EXTENDNUMLET)
            join = true; /* WB13a */
        else if (l1 == FTS_WB_EXTENDNUMLET &&
                 (ahletter(r1) || r1 == FTS_WB_NUMERIC ||
                  r1 == FTS_WB_KATAKANA))
            join = true; /* WB13b */
        else if (l1 == FTS_WB_RI && r1 == FTS_WB_RI && (ri & 1))
            join = true; /* WB15, WB16 */
        else
            join = false; /* WB999 */
        if (!join)
            return p;
        l2 = l1;
        l1 = r1;
        ri = r1 == FTS_WB_RI ? ri + 1 : 0;
    }
    return n;
}
