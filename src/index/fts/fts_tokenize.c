/*
 * fts_tokenize.c - the one tokenizer, used at index and at query time.
 *
 * Text is cut at ASCII bytes other than [A-Za-z0-9] first. A segment made
 * only of ASCII alphanumerics is a token as it stands (lowercased through
 * a table, no utf8proc call). A segment with bytes >= 0x80 is split at
 * invalid UTF-8, NFKC-normalized with case folding (utf8proc, into our own
 * UTF-32 scratch so every allocation goes through mem_*), then cut into
 * runs of letters and digits by general category. No ASCII separator can
 * compose with what follows it into a letter or digit, so cutting at them
 * before normalizing gives the same tokens as normalizing the whole text.
 * Tokens are emitted whole, however long: short ones from a fixed buffer,
 * longer ones from a heap buffer kept for the tokenizer's life.
 */
#include "fts_int.h"

#include "util/alloc.h"
#include "util/err.h"

#include <string.h>
#include <utf8proc.h>

#define NORM_OPTS                                                              \
    (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |                    \
     UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

#define SMALL_TOKEN 256u /* bytes of token the fixed buffer holds */

struct fts_tokenizer {
    utf8proc_int32_t *cps; /* owned: UTF-32 scratch */
    size_t cps_cap;
    uint8_t *big; /* owned: big_cap + FTS_TOKEN_PAD bytes, or NULL */
    size_t big_cap;
    uint8_t small[SMALL_TOKEN + FTS_TOKEN_PAD];
};

/* ASCII byte classes: 0 separator, 1 alphanumeric, 2 non-ASCII. */
static const uint8_t byte_class[256] = {
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1,
    ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1, ['A'] = 1, ['B'] = 1,
    ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1,
    ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1,
    ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1,
    ['g'] = 1, ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1,
    ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1,
    ['y'] = 1, ['z'] = 1,
#define HI16 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2
    [128] = HI16, HI16, HI16, HI16, HI16, HI16, HI16, HI16,
#undef HI16
};

static inline uint8_t ascii_lower(uint8_t c)
{
    return (uint8_t)(c >= 'A' && c <= 'Z' ? c + 32 : c);
}

size_t fts_utf8_next(const uint8_t *p, size_t n, int32_t *cp_out)
{
    /* Unicode 15, Table 3-7: well-formed UTF-8 byte sequences. */
    uint8_t c = p[0];

    if (c < 0x80) {
        *cp_out = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        if (n < 2 || (p[1] & 0xc0) != 0x80)
            return 0;
        *cp_out = ((int32_t)(c & 0x1f) << 6) | (p[1] & 0x3f);
        return 2;
    }
    if (c >= 0xe0 && c <= 0xef) {
        uint8_t lo = c == 0xe0 ? 0xa0 : 0x80, hi = c == 0xed ? 0x9f : 0xbf;
        if (n < 3 || p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80)
            return 0;
        *cp_out = ((int32_t)(c & 0x0f) << 12) | ((int32_t)(p[1] & 0x3f) << 6) |
                  (p[2] & 0x3f);
        return 3;
    }
    if (c >= 0xf0 && c <= 0xf4) {
        uint8_t lo = c == 0xf0 ? 0x90 : 0x80, hi = c == 0xf4 ? 0x8f : 0xbf;
        if (n < 4 || p[1] < lo || p[1] > hi || (p[2] & 0xc0) != 0x80 ||
            (p[3] & 0xc0) != 0x80)
            return 0;
        *cp_out = ((int32_t)(c & 0x07) << 18) | ((int32_t)(p[1] & 0x3f) << 12) |
                  ((int32_t)(p[2] & 0x3f) << 6) | (p[3] & 0x3f);
        return 4;
    }
    return 0;
}

bool fts_is_space(int32_t cp)
{
    /* Unicode White_Space: Zs, Zl, Zp, U+0009..U+000D and U+0085. */
    if (cp < 0x80)
        return cp == ' ' || (cp >= 0x09 && cp <= 0x0d);
    if (cp == 0x85)
        return true;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
        return true;
    default:
        return false;
    }
}

infino_status fts_tokenizer_new(struct fts_tokenizer **out)
{
    struct fts_tokenizer *tk = mem_calloc(1, sizeof *tk);

    *out = NULL;
    if (tk == NULL)
        return err_nomem();
    *out = tk;
    return INFINO_OK;
}

void fts_tokenizer_free(struct fts_tokenizer *tk)
{
    if (tk == NULL)
        return;
    mem_free(tk->cps);
    mem_free(tk->big);
    mem_free(tk);
}

/* Makes *tok (the small or the big buffer, holding `len` token bytes so
 * far) able to hold `need` bytes plus the pad, keeping its contents. */
static infino_status tok_reserve(struct fts_tokenizer *tk, uint8_t **tok,
                                 size_t len, size_t need)
{
    bool in_big = tk->big != NULL && *tok == tk->big;
    size_t cap;
    uint8_t *p;

    if (!in_big && need <= SMALL_TOKEN)
        return INFINO_OK;
    if (need > tk->big_cap) {
        cap = tk->big_cap ? tk->big_cap : 2 * SMALL_TOKEN;
        while (cap < need && cap <= SIZE_MAX / 4)
            cap *= 2;
        if (cap < need)
            cap = need;
        if (cap > SIZE_MAX - FTS_TOKEN_PAD)
            return err_nomem();
        if (in_big) {
            p = mem_realloc(tk->big, cap + FTS_TOKEN_PAD);
        } else { /* the old contents are not in use: no copy */
            p = mem_alloc(cap + FTS_TOKEN_PAD);
            if (p != NULL)
                mem_free(tk->big);
        }
        if (p == NULL)
            return err_nomem();
        tk->big = p;
        tk->big_cap = cap;
    }
    if (!in_big)
        memcpy(tk->big, *tok, len); /* from the small buffer */
    *tok = tk->big;
    return INFINO_OK;
}

/* 0 separator, 1 letter or digit (starts or continues a token), 2 mark
 * (continues a token only). */
static int cp_class(int32_t cp)
{
    if (cp < 0x80)
        return byte_class[cp] == 1;
    switch (utf8proc_category(cp)) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
        return 1;
    case UTF8PROC_CATEGORY_MN:
    case UTF8PROC_CATEGORY_MC:
    case UTF8PROC_CATEGORY_ME:
        return 2;
    default:
        return 0;
    }
}

bool fts_cp_separates(int32_t cp)
{
    return cp_class(cp) == 0;
}

/* Normalizes `n` bytes of valid UTF-8 and emits the runs inside. */
static infino_status normalize_piece(struct fts_tokenizer *tk,
                                     const uint8_t *s, size_t n,
                                     fts_token_fn fn, void *payload)
{
    utf8proc_ssize_t m;
    uint8_t *tok = tk->small;
    size_t len = 0;
    bool in_tok = false;
    infino_status st;

    for (;;) {
        m = utf8proc_decompose(s, (utf8proc_ssize_t)n, tk->cps,
                               (utf8proc_ssize_t)tk->cps_cap, NORM_OPTS);
        if (m < 0)
            return INFINO_OK; /* cannot happen for valid input: no tokens */
        if ((size_t)m <= tk->cps_cap)
            break;
        size_t cap = (size_t)m + 64, bytes;
        if (mem_mul(&bytes, cap, sizeof *tk->cps) != 0)
            return err_nomem();
        void *p = mem_realloc(tk->cps, bytes);
        if (p == NULL)
            return err_nomem();
        tk->cps = p;
        tk->cps_cap = cap;
    }
    m = utf8proc_normalize_utf32(tk->cps, m, NORM_OPTS);
    if (m < 0)
        return INFINO_OK;

    for (utf8proc_ssize_t i = 0; i <= m; i++) {
        int cls = i < m ? cp_class(tk->cps[i]) : 0;

        if (cls == 0 || (cls == 2 && !in_tok)) {
            if (in_tok && len > 0) {
                st = fn(tok, len, payload);
                if (st != INFINO_OK)
                    return st;
            }
            in_tok = false;
            len = 0;
            tok = tk->small;
            continue;
        }
        in_tok = true;
        /* 4 bytes at most per code point; len < m * 4 cannot overflow */
        if (len + 4 > SMALL_TOKEN &&
            (st = tok_reserve(tk, &tok, len, len + 4)) != INFINO_OK)
            return st;
        len += (size_t)utf8proc_encode_char(tk->cps[i], tok + len);
    }
    return INFINO_OK;
}

/* A segment holding non-ASCII bytes: invalid UTF-8 separates. */
static infino_status unicode_segment(struct fts_tokenizer *tk,
                                     const uint8_t *s, size_t n,
                                     fts_token_fn fn, void *payload)
{
    size_t i = 0;

    while (i < n) {
        size_t start = i, l;
        int32_t cp;

        while (i < n && (l = fts_utf8_next(s + i, n - i, &cp)) != 0)
            i += l;
        if (i > start) {
            infino_status st =
                normalize_piece(tk, s + start, i - start, fn, payload);
            if (st != INFINO_OK)
                return st;
        }
        if (i < n)
            i++; /* skip one invalid byte */
    }
    return INFINO_OK;
}

infino_status fts_tokenize(struct fts_tokenizer *tk, const void *text,
                           size_t len, fts_token_fn fn, void *payload)
{
    const uint8_t *p = text, *end;
    infino_status st;

    if (len == 0)
        return INFINO_OK; /* text may be NULL */
    end = p + len;
    while (p < end) {
        const uint8_t *s;
        unsigned seen = 0;

        while (p < end && byte_class[*p] == 0)
            p++;
        if (p == end)
            break;
        s = p;
        while (p < end && byte_class[*p] != 0)
            seen |= *p++;
        if (!(seen & 0x80)) {
            size_t n = (size_t)(p - s);
            uint8_t *tok = tk->small;
            if (n > SMALL_TOKEN &&
                (st = tok_reserve(tk, &tok, 0, n)) != INFINO_OK)
                return st;
            for (size_t i = 0; i < n; i++)
                tok[i] = ascii_lower(s[i]);
            st = fn(tok, n, payload);
        } else {
            st = unicode_segment(tk, s, (size_t)(p - s), fn, payload);
        }
        if (st != INFINO_OK)
            return st;
    }
    return INFINO_OK;
}
