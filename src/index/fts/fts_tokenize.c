/*
 * fts_tokenize.c - the analyzers (fts.h, "analysis"), used at index and at
 * query time: two base tokenizers, then stop words and stemming.
 *
 * alnum: text is cut at ASCII bytes other than [A-Za-z0-9] first. A segment made
 * only of ASCII alphanumerics is a token as it stands (lowercased through
 * a table, no utf8proc call). A segment with bytes >= 0x80 is split at
 * invalid UTF-8, NFKC-normalized with case folding (utf8proc, into our own
 * UTF-32 scratch so every allocation goes through mem_*), then cut into
 * runs of letters and digits by general category. No ASCII separator can
 * compose with what follows it into a letter or digit, so cutting at them
 * before normalizing gives the same tokens as normalizing the whole text.
 * standard: text is cut at the ASCII bytes that UAX #29 never joins to a
 * word (white space and Word_Break=Other: everything but letters, digits
 * and . ' " : , ; _); a piece of letters and digits only is one word (WB5,
 * WB8-WB10) and takes the same fast path as above. Any other piece is
 * normalized as above into UTF-32, classified by Word_Break and cut at
 * its word boundaries (fts_wordbreak.c); a word holding a letter or a
 * digit is a token.
 * Tokens are emitted whole, however long: short ones from a fixed buffer,
 * longer ones from a heap buffer kept for the tokenizer's life.
 * Stop words and the stemmer (libstemmer, Snowball's C library) filter
 * what the base tokenizer emits.
 */
#include "fts_int.h"

#include "util/alloc.h"
#include "util/err.h"
#include "util/hash.h"

#include <libstemmer.h>
#include <limits.h>
#include <string.h>
#include <utf8proc.h>

#define NORM_OPTS                                                              \
    (UTF8PROC_STABLE | UTF8PROC_COMPOSE | UTF8PROC_COMPAT |                    \
     UTF8PROC_CASEFOLD | UTF8PROC_IGNORE)

#define SMALL_TOKEN 256u /* bytes of token the fixed buffer holds */

/* Stemming costs more than tokenizing, and text repeats its words: a
 * direct-mapped cache of short tokens' stems, allocated once a tokenizer
 * has stemmed STEM_CACHE_AFTER tokens (so a query's tokenizer never pays
 * for it). */
#define STEM_CACHE_SLOTS 4096u
#define STEM_CACHE_LEN 23u /* longest token or stem cached */
#define STEM_CACHE_AFTER 512u

struct stem_slot {
    uint8_t tok_len, stem_len; /* tok_len 0: empty */
    uint8_t tok[STEM_CACHE_LEN], stem[STEM_CACHE_LEN];
};

struct fts_tokenizer {
    struct fts_analysis an;  /* owned copy */
    struct sb_stemmer *stem; /* owned, or NULL: no stemming */
    struct stem_slot *stem_cache; /* owned, or NULL until warmed up */
    size_t n_stemmed;
    const char *const *stop; /* borrowed (built-in or an.stop_words) */
    size_t n_stop;
    fts_token_fn user_fn; /* the caller's, while filtering */
    void *user_payload;
    uint32_t n_base; /* fts_tokenize_positions: base tokens seen so far */
    utf8proc_int32_t *cps; /* owned: UTF-32 scratch */
    size_t cps_cap;
    uint8_t *cls; /* owned: Word_Break classes of cps (standard) */
    size_t cls_cap;
    uint8_t *big; /* owned: big_cap + FTS_TOKEN_PAD bytes, or NULL */
    size_t big_cap;
    uint8_t small[SMALL_TOKEN + FTS_TOKEN_PAD];
};

/* ASCII byte classes: 0 separator, 1 alphanumeric, 2 non-ASCII; and for
 * the standard tokenizer, 3: a byte UAX #29 may join into a word. */
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

/* ASCII bytes other than letters and digits that UAX #29 can join into a
 * word: MidNumLet '.', Single_Quote, Double_Quote, MidLetter ':', MidNum
 * ',' ';', ExtendNumLet '_'. Every other ASCII byte that is not a letter
 * or a digit is white space or Word_Break=Other, which no rule joins. */
static const uint8_t std_joiner[256] = {
    ['.'] = 1, ['\''] = 1, ['"'] = 1, [':'] = 1,
    [','] = 1, [';'] = 1,  ['_'] = 1,
};

bool fts_cp_separates_in(enum fts_base base, int32_t cp)
{
    if (base == FTS_BASE_STANDARD && cp < 0x80 && std_joiner[cp])
        return false;
    if (base == FTS_BASE_STANDARD && cp >= 0x80) {
        switch (fts_wb_class(cp) & FTS_WB_MASK) {
        case FTS_WB_SQUOTE: case FTS_WB_DQUOTE: case FTS_WB_MIDNUMLET:
        case FTS_WB_MIDLETTER: case FTS_WB_MIDNUM: case FTS_WB_EXTENDNUMLET:
            return false;
        default:
            break;
        }
    }
    return fts_cp_separates(cp);
}

infino_status fts_tokenizer_new(struct fts_tokenizer **out,
                                const struct fts_analysis *a)
{
    struct fts_tokenizer *tk = mem_calloc(1, sizeof *tk);
    infino_status st;

    *out = NULL;
    if (tk == NULL)
        return err_nomem();
    if (a != NULL && (st = fts_analysis_copy(&tk->an, a)) != INFINO_OK) {
        mem_free(tk);
        return st;
    }
    if (tk->an.stemmer != 0) {
        const char *lang = fts_lang_name(tk->an.stemmer);
        tk->stem = lang ? sb_stemmer_new(lang, "UTF_8") : NULL;
        if (tk->stem == NULL) {
            fts_tokenizer_free(tk);
            return err_set(INFINO_ERR_UNSUPPORTED,
                           "no Snowball stemmer for '%s' (or out of memory)",
                           lang ? lang : "?");
        }
    }
    if (tk->an.stop_lang == FTS_STOP_USER) {
        tk->stop = (const char *const *)tk->an.stop_words;
        tk->n_stop = tk->an.n_stop_words;
    } else if (tk->an.stop_lang != 0) {
        fts_builtin_stop_words(tk->an.stop_lang, &tk->stop, &tk->n_stop);
    }
    *out = tk;
    return INFINO_OK;
}

void fts_tokenizer_free(struct fts_tokenizer *tk)
{
    if (tk == NULL)
        return;
    if (tk->stem != NULL)
        sb_stemmer_delete(tk->stem);
    mem_free(tk->stem_cache);
    fts_analysis_free(&tk->an);
    mem_free(tk->cps);
    mem_free(tk->cls);
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

/* Grows the UTF-32 scratch (and, for the standard tokenizer, the class
 * array beside it) to `need` entries. */
static infino_status cps_reserve(struct fts_tokenizer *tk, size_t need)
{
    size_t cap, bytes;
    void *p;

    if (need <= tk->cps_cap)
        return INFINO_OK;
    cap = need + 64;
    if (mem_mul(&bytes, cap, sizeof *tk->cps) != 0)
        return err_nomem();
    if ((p = mem_realloc(tk->cps, bytes)) == NULL)
        return err_nomem();
    tk->cps = p;
    tk->cps_cap = cap;
    return INFINO_OK;
}

/* NFKC with case folding of `n` bytes of valid UTF-8 into tk->cps;
 * *m_out code points (0 when utf8proc refuses, which valid input never
 * makes it do). */
static infino_status normalize(struct fts_tokenizer *tk, const uint8_t *s,
                               size_t n, size_t *m_out)
{
    utf8proc_ssize_t m;
    infino_status st;

    *m_out = 0;
    for (;;) {
        m = utf8proc_decompose(s, (utf8proc_ssize_t)n, tk->cps,
                               (utf8proc_ssize_t)tk->cps_cap, NORM_OPTS);
        if (m < 0)
            return INFINO_OK;
        if ((size_t)m <= tk->cps_cap)
            break;
        if ((st = cps_reserve(tk, (size_t)m)) != INFINO_OK)
            return st;
    }
    m = utf8proc_normalize_utf32(tk->cps, m, NORM_OPTS);
    if (m > 0)
        *m_out = (size_t)m;
    return INFINO_OK;
}

/* Emits cps[from..to) as one UTF-8 token. */
static infino_status emit_cps(struct fts_tokenizer *tk, size_t from,
                              size_t to, fts_token_fn fn, void *payload)
{
    uint8_t *tok = tk->small;
    size_t len = 0;
    infino_status st;

    for (size_t i = from; i < to; i++) {
        /* 4 bytes at most per code point; len < m * 4 cannot overflow */
        if (len + 4 > SMALL_TOKEN &&
            (st = tok_reserve(tk, &tok, len, len + 4)) != INFINO_OK)
            return st;
        len += (size_t)utf8proc_encode_char(tk->cps[i], tok + len);
    }
    return len > 0 ? fn(tok, len, payload) : INFINO_OK;
}

/* alnum: the runs of letters and digits (and marks continuing them) of
 * cps[0..m). */
static infino_status alnum_runs(struct fts_tokenizer *tk, size_t m,
                                fts_token_fn fn, void *payload)
{
    size_t start = 0;
    bool in_tok = false;
    infino_status st;

    for (size_t i = 0; i <= m; i++) {
        int cls = i < m ? cp_class(tk->cps[i]) : 0;

        if (cls == 0 || (cls == 2 && !in_tok)) {
            if (in_tok && (st = emit_cps(tk, start, i, fn, payload)) !=
                              INFINO_OK)
                return st;
            in_tok = false;
            continue;
        }
        if (!in_tok)
            start = i;
        in_tok = true;
    }
    return INFINO_OK;
}

/* standard: the UAX #29 words of cps[0..m) that hold a letter or digit. */
static infino_status std_words(struct fts_tokenizer *tk, size_t m,
                               fts_token_fn fn, void *payload)
{
    infino_status st;

    if (m > tk->cls_cap) {
        uint8_t *p = mem_realloc(tk->cls, m + 64);
        if (p == NULL)
            return err_nomem();
        tk->cls = p;
        tk->cls_cap = m + 64;
    }
    for (size_t i = 0; i < m; i++)
        tk->cls[i] = fts_wb_class(tk->cps[i]);
    for (size_t s = 0, e; s < m; s = e) {
        bool word = false;
        e = fts_wb_next(tk->cls, m, s);
        for (size_t i = s; i < e && !word; i++)
            word = cp_class(tk->cps[i]) == 1;
        if (word && (st = emit_cps(tk, s, e, fn, payload)) != INFINO_OK)
            return st;
    }
    return INFINO_OK;
}

/* A piece holding non-ASCII bytes: invalid UTF-8 separates; each valid
 * run is normalized and cut by the base tokenizer. */
static infino_status unicode_piece(struct fts_tokenizer *tk,
                                   const uint8_t *s, size_t n,
                                   fts_token_fn fn, void *payload)
{
    size_t i = 0, m;
    infino_status st;

    while (i < n) {
        size_t start = i, l;
        int32_t cp;

        while (i < n && (l = fts_utf8_next(s + i, n - i, &cp)) != 0)
            i += l;
        if (i > start) {
            if ((st = normalize(tk, s + start, i - start, &m)) != INFINO_OK)
            return st;
            st = tk->an.base == FTS_BASE_STANDARD
                     ? std_words(tk, m, fn, payload)
                     : alnum_runs(tk, m, fn, payload);
            if (st != INFINO_OK)
                return st;
        }
        if (i < n)
            i++; /* skip one invalid byte */
    }
    return INFINO_OK;
}

/* An ASCII piece of letters and digits only: one lowercased token. */
static infino_status ascii_token(struct fts_tokenizer *tk, const uint8_t *s,
                                 size_t n, fts_token_fn fn, void *payload)
{
    uint8_t *tok = tk->small;
    infino_status st;

    if (n > SMALL_TOKEN && (st = tok_reserve(tk, &tok, 0, n)) != INFINO_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        tok[i] = ascii_lower(s[i]);
    return fn(tok, n, payload);
}

/* standard, an ASCII piece with joiners: its words, lowercased. */
static infino_status ascii_words(struct fts_tokenizer *tk, const uint8_t *s,
                                 size_t n, fts_token_fn fn, void *payload)
{
    infino_status st;

    if ((st = cps_reserve(tk, n)) != INFINO_OK)
            return st;
    for (size_t i = 0; i < n; i++)
        tk->cps[i] = ascii_lower(s[i]);
    return std_words(tk, n, fn, payload);
}

infino_status fts_tokenize_base(struct fts_tokenizer *tk, const void *text,
                                size_t len, fts_token_fn fn, void *payload)
{
    const uint8_t *p = text, *end;
    bool std = tk->an.base == FTS_BASE_STANDARD;
    infino_status st;

    if (len == 0)
        return INFINO_OK; /* text may be NULL */
    end = p + len;
    while (p < end) {
        const uint8_t *s;
        unsigned seen = 0, joined = 0;

        while (p < end && byte_class[*p] == 0 && !(std && std_joiner[*p]))
            p++;
        if (p == end)
            break;
        s = p;
        for (; p < end; p++) {
            if (byte_class[*p] != 0)
                seen |= *p;
            else if (std && std_joiner[*p])
                joined = 1;
            else
                break;
        }
        if (seen & 0x80)
            st = unicode_piece(tk, s, (size_t)(p - s), fn, payload);
        else if (joined)
            st = ascii_words(tk, s, (size_t)(p - s), fn, payload);
        else
            st = ascii_token(tk, s, (size_t)(p - s), fn, payload);
        if (st != INFINO_OK)
            return st;
    }
    return INFINO_OK;
}

/* Drops stop words and stems what is left, then calls the caller's fn. */
static infino_status filter_token(const uint8_t *t, size_t len, void *payload)
{
    struct fts_tokenizer *tk = payload;
    infino_status st;

    if (tk->n_stop > 0 && fts_stop_word_in(tk->stop, tk->n_stop, t, len))
        return INFINO_OK;
    if (tk->stem != NULL) {
        const sb_symbol *o;
        struct stem_slot *slot = NULL;
        if (tk->stem_cache != NULL && len <= STEM_CACHE_LEN) {
            slot = &tk->stem_cache[hash64(t, len) & (STEM_CACHE_SLOTS - 1)];
            if (slot->tok_len == len && memcmp(slot->tok, t, len) == 0) {
                if (slot->stem_len == 0)
                    return INFINO_OK;
                memcpy(tk->small, slot->stem, slot->stem_len);
                return tk->user_fn(tk->small, slot->stem_len,
                                   tk->user_payload);
            }
        } else if (tk->stem_cache == NULL &&
                   ++tk->n_stemmed == STEM_CACHE_AFTER) {
            /* without it (out of memory) every token is stemmed anew */
            tk->stem_cache = mem_calloc(STEM_CACHE_SLOTS, sizeof *slot);
        }
        if (len > (size_t)INT_MAX)
            return tk->user_fn(t, len, tk->user_payload); /* not stemmed */
        o = sb_stemmer_stem(tk->stem, t, (int)len);
        if (o == NULL)
            return err_nomem();
        if (slot != NULL && sb_stemmer_length(tk->stem) <= (int)STEM_CACHE_LEN) {
            slot->tok_len = (uint8_t)len;
            memcpy(slot->tok, t, len);
            slot->stem_len = (uint8_t)sb_stemmer_length(tk->stem);
            memcpy(slot->stem, o, slot->stem_len);
        }
        len = (size_t)sb_stemmer_length(tk->stem);
        if (len == 0)
            return INFINO_OK;
        if (len > SMALL_TOKEN) { /* the callee may read FTS_TOKEN_PAD past */
            uint8_t *tok = tk->small;
            if ((st = tok_reserve(tk, &tok, 0, len)) != INFINO_OK)
            return st;
            memcpy(tok, o, len);
            return tk->user_fn(tok, len, tk->user_payload);
        }
        memcpy(tk->small, o, len);
        t = tk->small;
    }
    return tk->user_fn(t, len, tk->user_payload);
}

infino_status fts_tokenize(struct fts_tokenizer *tk, const void *text,
                           size_t len, fts_token_fn fn, void *payload)
{
    if (tk->stem == NULL && tk->n_stop == 0)
        return fts_tokenize_base(tk, text, len, fn, payload);
    tk->user_fn = fn;
    tk->user_payload = payload;
    return fts_tokenize_base(tk, text, len, filter_token, tk);
}

/* Counts every base token (stop words and tokens stemmed away included),
 * so that the token passed on carries its position in the text. */
static infino_status count_base(const uint8_t *t, size_t len, void *payload)
{
    struct fts_tokenizer *tk = payload;

    if (tk->n_base < UINT32_MAX)
        tk->n_base++;
    return filter_token(t, len, tk);
}

infino_status fts_tokenize_positions(struct fts_tokenizer *tk,
                                     const void *text, size_t len,
                                     fts_token_fn fn, void *payload)
{
    tk->n_base = 0;
    tk->user_fn = fn;
    tk->user_payload = payload;
    return fts_tokenize_base(tk, text, len, count_base, tk);
}

uint32_t fts_tokenizer_position(const struct fts_tokenizer *tk)
{
    return tk->n_base - 1;
}
