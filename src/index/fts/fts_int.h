/*
 * fts_int.h - private to src/index/fts: the region format constants (see
 * FORMAT.md), the reader's decoded view, postings cursors, bit packing,
 * the serializer the writer feeds, and the BM25 arithmetic shared by the
 * query engine and its tests.
 */
#ifndef INFINO_FTS_INT_H
#define INFINO_FTS_INT_H

#include "fts.h"

#include "util/endian.h"
#include "util/hash.h"

#include <math.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* ---- format (FORMAT.md) ------------------------------------------------ */

#define FTS_MAGIC "INFTSRG1"       /* region header, 8 bytes */
#define FTS_TRAILER_MAGIC "INFTSEND" /* trailer, 8 bytes */
#define FTS_SUMMARY_MAGIC "INFTSSM1" /* summary, 8 bytes */
/* Written: 4 (per-chunk checksums, block keys in the block index), and 5
 * (4 with token positions in the postings, header flag
 * FTS_FLAG_POSITIONS) for columns indexed with positions; 3 (the trailer
 * records the analysis), 2 (no analysis: alnum) and 1 (u8 term lengths)
 * are read. */
#define FTS_FORMAT_VERSION 4u
#define FTS_FORMAT_VERSION_POSITIONS 5u
#define FTS_FORMAT_VERSION_MAX 5u
#define FTS_FORMAT_VERSION_MIN 1u
#define FTS_FLAG_POSITIONS 1u /* header flags, version 5: positions */
#define FTS_POS_TABLE_ENTRY_LEN 4u /* u32 end of a block's positions */
/* Terms of at most this many bytes may be front-coded against the previous
 * term of their block; longer ones are stored whole (prefix length 0), so
 * a reader rebuilds terms in a fixed buffer and points at long ones in
 * place. Version 1 regions hold only such terms. */
#define FTS_FRONT_CODED_MAX 255u
#define FTS_HEADER_LEN 16u
#define FTS_TRAILER_LEN 128u
#define FTS_BLOCK_LEN 128u      /* postings per packed block */
#define FTS_DICT_BLOCK_TERMS 32u /* terms per dictionary block */
#define FTS_INDEX_ENTRY_LEN 16u /* u64 dict offset, u64 postings base */
#define FTS_INDEX_ENTRY_LEN_V4 24u /* ... and u64 the block's key */
/* Version 4: the checks section before the trailer. Its header is u32
 * tail CRC, u8 chunk shift, 3 zero bytes, u32 n_scored, u32 zero; then a
 * u32 CRC-32C per chunk of the bytes before the section. */
#define FTS_CHECKS_HEADER_LEN 16u
#define FTS_CHUNK_SHIFT 14u /* written: 16 KiB chunks */
#define FTS_CHUNK_SHIFT_MIN 10u
#define FTS_CHUNK_SHIFT_MAX 24u
#define FTS_SKIP_ENTRY_LEN 16u  /* last doc, end offset, max tf, min dl */
#define FTS_NO_DOC UINT32_MAX
#define FTS_SUMMARY_HEADER_LEN 24u
#define FTS_SUMMARY_BLOCK_BYTES 64u
#define FTS_SUMMARY_HASHES 7u
#define FTS_SUMMARY_BITS_PER_TERM 10u
#define FTS_SUMMARY_SEED 0x696e66696e6f6674ull /* "infinoft" */
#define FTS_SUMMARY_MAX_CUT 1u /* flags: the largest term is a prefix */
#define FTS_SUMMARY_WHOLE 2u   /* flags: terms are whole (format 2 on) */

/* Trailer field offsets (from the trailer's start). */
enum {
    TR_N_DOCS = 0,        /* u32 */
    TR_DL_WIDTH = 4,      /* u8: 1, 2 or 4 */
    TR_AN_BASE = 5,       /* u8, version 3: enum fts_base */
    TR_AN_STEMMER = 6,    /* u8, version 3: stemmer language, 0 none */
    TR_AN_STOP = 7,       /* u8, version 3: stop words, 0 none */
    TR_TOTAL_TOKENS = 8,  /* u64 */
    TR_N_TERMS = 16,      /* u64 */
    TR_POST_OFF = 24,     /* u64 section offsets and lengths ... */
    TR_POST_LEN = 32,
    TR_DICT_OFF = 40,
    TR_DICT_LEN = 48,
    TR_INDEX_OFF = 56,
    TR_INDEX_LEN = 64,
    TR_DL_OFF = 72,
    TR_DL_LEN = 80,
    TR_SUMMARY_OFF = 88,
    TR_SUMMARY_LEN = 96,
    TR_MAX_DL = 104,      /* u32 */
    TR_AN_STOP_CRC = 108, /* u32, version 3: CRC-32C of the user's list */
    TR_MAGIC = 112,       /* 8 bytes */
    TR_CRC = 124,         /* u32: CRC-32C of the region before this field */
};

/* ---- the reader's view ------------------------------------------------- */

struct fts_reader {
    const uint8_t *data; /* borrowed: the whole region */
    size_t len;
    char *name; /* owned */
    uint32_t version; /* FTS_FORMAT_VERSION_MIN .. FTS_FORMAT_VERSION */
    uint32_t n_docs;
    uint32_t dl_width;
    uint32_t max_dl;
    uint64_t total_tokens;
    uint64_t n_terms;
    uint32_t n_scored; /* docs with at least one token (counted at open) */
    bool positions;    /* version 5 with FTS_FLAG_POSITIONS */
    struct fts_analysis_id an; /* zero before version 3 */
    uint64_t n_blocks; /* dictionary blocks */
    const uint8_t *post, *dict, *index, *dl, *summary;
    uint64_t post_len, dict_len, summary_len;
    /* owned, n_blocks (NULL: not built): the first 8 bytes of each
     * block's first term, big-endian and zero-padded, so that a lookup
     * narrows the blocks in memory before comparing terms in the region
     * (their order is the terms' order; equal keys need the terms) */
    uint64_t *block_key;
    /* version 4 (else 0 / NULL): per-chunk checksums of the bytes before
     * the checks section, verified as chunks are first touched */
    size_t index_entry_len; /* FTS_INDEX_ENTRY_LEN or _V4 */
    uint32_t chunk_shift;
    uint64_t n_chunks;
    const uint8_t *chunk_crc; /* borrowed: n_chunks u32 */
    uint64_t covered;         /* bytes the chunks cover */
    /* owned, (n_chunks + 63) / 64 words: bit c set once chunk c matched
     * its CRC (set by any thread; verifying twice is harmless) */
    _Atomic uint64_t *verified;
    atomic_bool summary_verified;
};

/* The first 8 bytes of t[0..len), big-endian, zero-padded: a block's key
 * (version 4 stores it in the block index). A strict difference of two
 * keys orders the terms the same way. */
static inline uint64_t fts_term_key(const uint8_t *t, size_t len)
{
    uint64_t k = 0;

    for (size_t i = 0; i < 8; i++)
        k = k << 8 | (i < len ? t[i] : 0);
    return k;
}

/* Version 4: checks that every chunk holding region bytes [off, off+len)
 * matches its CRC, verifying those not yet verified. Older versions (the
 * container verified the whole region): INFINO_OK. */
infino_status fts_verify_slow(const struct fts_reader *r, uint64_t off,
                              uint64_t len);
static inline infino_status fts_verify(const struct fts_reader *r,
                                       uint64_t off, uint64_t len)
{
    if (r->verified == NULL || len == 0)
        return INFINO_OK;
    uint64_t c = off >> r->chunk_shift;
    if ((off + len - 1) >> r->chunk_shift == c &&
        (atomic_load_explicit(&r->verified[c >> 6], memory_order_acquire) >>
         (c & 63)) & 1)
        return INFINO_OK;
    return fts_verify_slow(r, off, len);
}

static inline uint32_t fts_dl(const struct fts_reader *r, uint32_t doc)
{
    switch (r->dl_width) {
    case 1:
        return r->dl[doc];
    case 2:
        return load_u16le(r->dl + 2 * (size_t)doc);
    default:
        return load_u32le(r->dl + 4 * (size_t)doc);
    }
}

/* Reports a malformed structure inside region `r`. */
infino_status fts_corrupt(const struct fts_reader *r, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* ---- tokens (fts_tokenize.c) ------------------------------------------ */

/* Inside the module, a token handed to an fts_token_fn is followed by at
 * least FTS_TOKEN_PAD readable bytes (of any value), so short keys can be
 * hashed and compared with whole 8-byte loads. */
#define FTS_TOKEN_PAD 16

/* A fast hash for in-memory tables (never stored). */
static inline uint64_t fts_token_hash(const uint8_t *p, size_t n)
{
    if (n <= 16) {
        uint64_t a = load_u64le(p), b = load_u64le(p + 8);
        if (n < 8) {
            a &= ((uint64_t)1 << (8 * n)) - 1;
            b = 0;
        } else if (n < 16) {
            b &= ((uint64_t)1 << (8 * (n - 8))) - 1;
        }
        a = (a ^ 0x9e3779b97f4a7c15ull) * 0xbf58476d1ce4e5b9ull;
        b = (b ^ (uint64_t)n) * 0x94d049bb133111ebull;
        return hash_mix64(a ^ (b >> 29) ^ (b << 35));
    }
    return hash64(p, n);
}

/* Version 1 regions (and their summaries) hold tokens cut to the longest
 * prefix of whole code points within FTS_FRONT_CODED_MAX bytes. A term
 * looked up there is cut the same way, so old files answer as they did
 * (by the first 255 bytes) until they are rewritten. */
static inline size_t fts_v1_cut(const uint8_t *term, size_t len)
{
    size_t n = FTS_FRONT_CODED_MAX;

    if (len <= n)
        return len;
    while (n > 0 && (term[n] & 0xc0) == 0x80)
        n--; /* term[n] continues a code point: cut before it */
    return n;
}

/* ---- UTF-8 ------------------------------------------------------------- */

/* Decodes one well-formed UTF-8 sequence at p (n >= 1 bytes available):
 * returns its length (1..4) and sets *cp_out, or 0 when it is invalid. */
size_t fts_utf8_next(const uint8_t *p, size_t n, int32_t *cp_out);
/* Unicode White_Space. */
bool fts_is_space(int32_t cp);
/* true when the code point separates tokens (neither a letter, a digit nor
 * a mark); ASCII without utf8proc. */
bool fts_cp_separates(int32_t cp);
/* The same for the standard analyzer: also false for what UAX #29 lets
 * join a word (MidLetter, MidNum, MidNumLet, quotes, ExtendNumLet). */
bool fts_cp_separates_in(enum fts_base base, int32_t cp);

/* ---- word boundaries, UAX #29 (fts_wordbreak.c) ------------------------ */

/* Word_Break property values (UAX #29, Table 3); scripts/gen_wordbreak.py
 * writes the table in this order. */
enum fts_wb {
    FTS_WB_OTHER, FTS_WB_CR, FTS_WB_LF, FTS_WB_NEWLINE, FTS_WB_EXTEND,
    FTS_WB_ZWJ, FTS_WB_RI, FTS_WB_FORMAT, FTS_WB_KATAKANA, FTS_WB_HEBREW,
    FTS_WB_ALETTER, FTS_WB_SQUOTE, FTS_WB_DQUOTE, FTS_WB_MIDNUMLET,
    FTS_WB_MIDLETTER, FTS_WB_MIDNUM, FTS_WB_NUMERIC, FTS_WB_EXTENDNUMLET,
    FTS_WB_WSEGSPACE,
};
#define FTS_WB_EXT_PICT 0x20 /* flag: Extended_Pictographic (UTS #51) */
#define FTS_WB_MASK 0x1f

struct fts_wb_range {
    int32_t lo, hi;
    uint8_t cls;
};

/* The Word_Break class of `cp`, with FTS_WB_EXT_PICT or'ed in. */
uint8_t fts_wb_class(int32_t cp);
/* Given classes cls[0..n) (from fts_wb_class) and a word boundary at
 * `start` < n, returns the next boundary (start < result <= n). */
size_t fts_wb_next(const uint8_t *cls, size_t n, size_t start);

/* ---- analysis internals (fts_analysis.c) ------------------------------- */

/* The built-in list of `lang` (sorted bytewise), or NULL and 0. */
void fts_builtin_stop_words(unsigned lang, const char *const **words_out,
                            size_t *n_out);
/* Binary search of a sorted list. */
bool fts_stop_word_in(const char *const *words, size_t n, const uint8_t *t,
                      size_t len);

/* ---- bit packing (fts_bitpack.c) ---------------------------------------
 * 128 values of `bits` (0..32) bits in 16 * bits bytes, as four
 * interleaved lanes: value i lives in lane i % 4 at bit (i / 4) * bits of
 * that lane's little-endian bit stream, and 32-bit word j of lane l is
 * stored at word 4 * j + l. One SSE2 register holds word j of all lanes,
 * so unpacking is shift/mask on four values at once. */

void fts_pack128(uint8_t *out, const uint32_t *in, unsigned bits);
void fts_unpack128(uint32_t *out, const uint8_t *in, unsigned bits);
void fts_unpack128_scalar(uint32_t *out, const uint8_t *in, unsigned bits);
/* v[i] = base + sum over j <= i of (v[j] + 1), modulo 2^32. */
void fts_gaps_to_docs128(uint32_t *v, uint32_t base);
void fts_gaps_to_docs128_scalar(uint32_t *v, uint32_t base);
/* v[i] += 1 */
void fts_plus_one128(uint32_t *v);
/* v[i] = base + i */
void fts_iota128(uint32_t *v, uint32_t base);

static inline unsigned fts_bit_width(uint32_t v)
{
    return v == 0 ? 0 : 32 - (unsigned)__builtin_clz(v);
}

/* ---- postings cursor (fts_reader.c) ------------------------------------
 * Walks one term's postings. Blocks are decoded one at a time into docs[]
 * and tfs[]; every decode re-checks bounds and that the doc ids are
 * strictly increasing, lie in (last of the previous block, last of this
 * block] and below n_docs, so a cursor never moves backwards and never
 * yields an id outside the region, whatever the bytes say. */

struct fts_cursor {
    const struct fts_reader *r;
    uint32_t df;
    uint32_t n_blocks;
    const uint8_t *skip; /* borrowed: n_blocks skip entries */
    const uint8_t *data; /* borrowed: block data */
    uint64_t data_len;
    uint32_t n_impacts;
    uint32_t imp_tf[FTS_MAX_IMPACTS], imp_dl[FTS_MAX_IMPACTS];
    uint32_t blk;     /* current block; n_blocks when exhausted */
    uint32_t decoded; /* block held in docs[]/tfs[], or FTS_NO_DOC */
    uint32_t pos, n;  /* position in / size of the decoded block */
    uint32_t doc;     /* current doc, FTS_NO_DOC when exhausted */
    uint8_t inline_skip[FTS_SKIP_ENTRY_LEN]; /* df == 1: synthetic entry */
    /* Positions (r->positions): pos_tab (NULL for an inline posting)
     * holds n_blocks u32 ends into pos_data's pos_len bytes. pos_blk is
     * the decoded block whose positions [pos_off, pos_end) are bounded
     * and verified, pos_idx the posting of the block at pos_off (reading
     * moves forward only, as the cursor does); FTS_NO_DOC: none yet. */
    const uint8_t *pos_tab, *pos_data;
    uint64_t pos_len;
    uint32_t pos_blk, pos_idx;
    uint64_t pos_off, pos_end;
    uint32_t docs[FTS_BLOCK_LEN];
    uint32_t tfs[FTS_BLOCK_LEN];
};

static inline uint32_t fts_skip_last(const struct fts_cursor *c, uint32_t b)
{
    return load_u32le(c->skip + (size_t)b * FTS_SKIP_ENTRY_LEN);
}
static inline uint32_t fts_skip_end(const struct fts_cursor *c, uint32_t b)
{
    return load_u32le(c->skip + (size_t)b * FTS_SKIP_ENTRY_LEN + 4);
}
static inline uint32_t fts_skip_max_tf(const struct fts_cursor *c, uint32_t b)
{
    return load_u32le(c->skip + (size_t)b * FTS_SKIP_ENTRY_LEN + 8);
}
static inline uint32_t fts_skip_min_dl(const struct fts_cursor *c, uint32_t b)
{
    return load_u32le(c->skip + (size_t)b * FTS_SKIP_ENTRY_LEN + 12);
}
/* First doc id block b can hold (one past the previous block's last). */
static inline uint32_t fts_skip_first(const struct fts_cursor *c, uint32_t b)
{
    return b == 0 ? 0 : fts_skip_last(c, b - 1) + 1;
}

/* The impacts of a looked-up term (FORMAT.md "Postings record"), checked:
 * tf[i], dl[i] for i < *n (FTS_MAX_IMPACTS at most). A term of df >= 2
 * leaves *rest at its skip table; df 1 (an inline posting) leaves it
 * empty. INFINO_ERR_CORRUPT naming the region otherwise. */
infino_status fts_read_impacts(const struct fts_reader *r,
                               const struct fts_term_info *ti, uint32_t *tf,
                               uint32_t *dl, uint32_t *n, struct rd *rest);

/* Positions `c` before the first posting of `ti` (from lookup). Does not
 * allocate; c->doc is FTS_NO_DOC until the first seek/next. */
infino_status fts_cursor_open(struct fts_cursor *c, const struct fts_reader *r,
                              const struct fts_term_info *ti);
/* Moves to the first posting with doc >= target (never backwards). */
infino_status fts_cursor_seek_slow(struct fts_cursor *c, uint32_t target);

static inline infino_status fts_cursor_seek(struct fts_cursor *c,
                                            uint32_t target)
{
    /* the common case: target inside the decoded block, a few steps on */
    if (c->decoded == c->blk && c->blk < c->n_blocks &&
        target <= c->docs[c->n - 1]) {
        uint32_t pos = c->pos;
        if (c->docs[pos] < target) {
            if (pos + 8 < c->n && c->docs[pos + 8] < target)
                return fts_cursor_seek_slow(c, target);
            while (c->docs[pos] < target)
                pos++;
            c->pos = pos;
            c->doc = c->docs[pos];
        }
        return INFINO_OK;
    }
    return fts_cursor_seek_slow(c, target);
}
/* Whether the term holds `target`; moves forward like seek, but a block
 * of 128 consecutive ids answers without being decoded (then c->doc is
 * not meaningful until the next seek). */
infino_status fts_cursor_contains(struct fts_cursor *c, uint32_t target,
                                  bool *out);
/* Moves to the next posting. */
infino_status fts_cursor_next(struct fts_cursor *c);
/* First block at or after `from` whose last doc is >= target, without
 * moving the cursor (n_blocks when none). */
uint32_t fts_cursor_find_block(const struct fts_cursor *c, uint32_t from,
                               uint32_t target);

static inline uint32_t fts_cursor_tf(const struct fts_cursor *c)
{
    return c->tfs[c->pos];
}

/* The positions of the cursor's current posting (after a seek or next
 * that left c->doc on a posting; regions with positions only): writes
 * fts_cursor_tf(c) strictly increasing positions to out. Reads (and
 * verifies, format 4 chunks) only the current block's positions bytes;
 * damage is INFINO_ERR_CORRUPT naming the region. */
infino_status fts_cursor_positions(struct fts_cursor *c, uint32_t *out);

/* Decodes `n` delta-coded positions (FORMAT.md "Positions") from rd into
 * out (NULL: skip them), checking they are strictly increasing and below
 * 2^32. Returns false on damage. */
bool fts_decode_positions(struct rd *rd, uint32_t n, uint32_t *out);

/* ---- dictionary (fts_reader.c) ----------------------------------------- */

/* Decodes one dictionary entry: used by lookup and prefix iteration. */
struct fts_dict_iter {
    const struct fts_reader *r;
    uint64_t block;   /* current dictionary block */
    uint32_t in_block; /* entries decoded in this block */
    uint32_t block_terms;
    const uint8_t *p, *end; /* undecoded bytes of the block */
    uint64_t post_off;      /* postings offset of the next record */
    uint64_t post_end;      /* end of this block's postings */
    /* The current term: in `short_term` when it was rebuilt from front
     * coding, else (longer than FTS_FRONT_CODED_MAX) in the region. */
    const uint8_t *term;
    size_t term_len;
    uint8_t short_term[FTS_FRONT_CODED_MAX];
    struct fts_term_info info;
};

/* Looks up a term; *found is false (and OK returned) when it is absent. */
infino_status fts_dict_find(struct fts_term_info *out, bool *found,
                            const struct fts_reader *r, const uint8_t *term,
                            size_t len);

/* ---- serializer (fts_serialize.c) --------------------------------------
 * Streams a region into a sink from terms given in strictly increasing
 * bytewise order, each with its postings in doc order. */

struct fts_ser;

/* `avgdl` (the region's own) only guides the choice of impact points.
 * `positions`: write format 5 with positions (unless a test forces an
 * older version: then none are written). */
infino_status fts_ser_begin(struct fts_ser **out, struct store_sink *sink,
                            double avgdl, bool positions);
/* Whether the region being written stores positions. */
bool fts_ser_positions(const struct fts_ser *s);
/* docs[] strictly increasing (< n_docs given at finish), tfs[] >= 1, df
 * >= 1. `doc_lens` is indexed by doc. With positions, pos[] holds the
 * encoded positions of posting i (FORMAT.md "Positions") at bytes
 * [pos_end[i-1], pos_end[i]) (0 for i = 0); else both are NULL. */
infino_status fts_ser_add_term(struct fts_ser *s, const uint8_t *term,
                               size_t len, const uint32_t *docs,
                               const uint32_t *tfs, uint32_t df,
                               const uint32_t *doc_lens, const uint8_t *pos,
                               const uint64_t *pos_end);
infino_status fts_ser_finish(struct fts_ser *s, const uint32_t *doc_lens,
                             uint32_t n_docs, const struct fts_analysis_id *an,
                             struct fts_region_info *info,
                             struct buf *summary_out);
void fts_ser_free(struct fts_ser *s); /* NULL is a no-op */

/* ---- queries (fts_query.c) -------------------------------------------- */

struct fts_qterm {
    uint8_t *bytes; /* owned */
    size_t len;
    uint32_t count; /* times added (positive terms: the weight multiplier) */
};

/* A quoted phrase of two or more tokens. */
struct fts_qphrase {
    bool negative;
    size_t n;
    struct fts_qterm *tok; /* owned: the tokens in text order (count 1) */
    uint32_t *rel;         /* owned: each token's position after the first's */
};

struct fts_query {
    struct fts_analysis an; /* owned: how its text is tokenized */
    /* owned: sorted, unique. A positive phrase's tokens are here too (for
     * their df and for region pruning), with count 0 unless they are also
     * plain terms. */
    struct fts_qterm *pos;
    size_t n_pos, pos_cap;
    struct fts_qterm *neg; /* owned: sorted, unique */
    size_t n_neg, neg_cap;
    struct fts_qphrase *phrases; /* owned */
    size_t n_phrases;
};

/* Index of `term` among q's positive terms (a positive phrase's tokens
 * are among them), or SIZE_MAX. */
size_t fts_query_pos_index(const struct fts_query *q, const uint8_t *term,
                           size_t len);

/* The only-negatives check and the term limit, shared by parse and the
 * query entry points. */
infino_status fts_query_check(const struct fts_query *q);

/* Tokens collected from text before they join a query: appending is O(1)
 * per token and fts_stage_sort() sorts and deduplicates once, so a text of
 * n tokens costs O(n log n) whatever its number of distinct terms. A
 * short query fits the inline arrays and allocates nothing. A zeroed
 * struct (or fts_stage_init) is empty; a stage is never copied (it points
 * into itself). */
struct fts_span {
    const uint8_t *p; /* borrowed from the stage's bytes, after sorting */
    size_t off, len;
    uint32_t count; /* after fts_stage_sort: occurrences of this token */
};
#define FTS_STAGE_SMALL_BYTES 128
#define FTS_STAGE_SMALL_SPANS 8
struct fts_stage {
    uint8_t *bytes; /* token bytes back to back: small_bytes or owned */
    size_t bytes_len, bytes_cap;
    struct fts_span *v; /* small_v or owned */
    size_t n, cap;
    uint64_t n_tokens; /* tokens staged, repeats counted */
    uint8_t small_bytes[FTS_STAGE_SMALL_BYTES];
    struct fts_span small_v[FTS_STAGE_SMALL_SPANS];
};
/* Empties a stage as zeroing does, without writing the inline arrays. */
static inline void fts_stage_init(struct fts_stage *s)
{
    s->bytes = NULL;
    s->v = NULL;
    s->bytes_len = s->bytes_cap = s->n = s->cap = 0;
    s->n_tokens = 0;
}
/* Appends the tokens of `len` bytes at `text`. */
infino_status fts_stage_text(struct fts_stage *s, struct fts_tokenizer *tk,
                             const void *text, size_t len);
/* Sorts bytewise and folds repeats into v[i].count; then v[i].p is valid
 * until the next stage call. */
void fts_stage_sort(struct fts_stage *s);
void fts_stage_free(struct fts_stage *s);
/* Adds the sorted, unique spans v[0..n) as positive or negative terms;
 * on failure q is unchanged. */
infino_status fts_query_add_spans(struct fts_query *q,
                                  const struct fts_span *v, size_t n,
                                  bool negative);

/* ---- summary (fts_summary.c) ------------------------------------------- */

uint64_t fts_term_hash(const uint8_t *term, size_t len);
/* Appends a summary for `n` term hashes and the extreme terms. */
infino_status fts_summary_build(struct buf *out, const uint64_t *hashes,
                                uint64_t n, const uint8_t *min_term,
                                size_t min_len, const uint8_t *max_term,
                                size_t max_len);

/* ---- BM25 arithmetic (see fts.h "Scoring, exactly") --------------------- */

#define FTS_K1 FTS_DEFAULT_K1
#define FTS_B FTS_DEFAULT_B
#define FTS_SCORE_SCALE 1099511627776.0 /* 2^40 */

struct fts_bm25 {
    double A; /* k1 * (1 - b) */
    double B; /* k1 * b / avgdl */
};

/* `sim` may be NULL (the defaults). */
static inline struct fts_bm25 fts_bm25_params(double avgdl,
                                              const struct fts_similarity *sim)
{
    struct fts_bm25 p;
    double k1 = sim ? sim->k1 : FTS_K1, b = sim ? sim->b : FTS_B;

    p.A = k1 * (1.0 - b);
    p.B = k1 * b / avgdl;
    return p;
}

static inline double fts_bm25_idf(uint64_t n_docs, uint64_t df)
{
    double n = (double)n_docs, d = (double)df;
    double ratio = (n - d + 0.5) / (d + 0.5);

    return log(1.0 + ratio);
}

/* The contribution c of one term to one doc; w = idf * m. Written
 * as separate statements so no compiler contracts them into FMAs. */
static inline double fts_bm25_term(const struct fts_bm25 *p, double w,
                                   uint32_t tf, uint32_t dl)
{
    double t = (double)tf;
    double bdl = p->B * (double)dl;
    double norm = p->A + bdl;
    double num = w * t;

    return num / (t + norm);
}

static inline int64_t fts_fixed(double c)
{
    return (int64_t)(c * FTS_SCORE_SCALE + 0.5);
}

/* An upper bound in fixed point for a contribution computed as `c`:
 * covers the rounding of fts_fixed() and of the double arithmetic. */
static inline int64_t fts_fixed_ub(double c)
{
    return (int64_t)(c * FTS_SCORE_SCALE) + 2;
}

static inline float fts_fixed_to_float(int64_t q)
{
    return (float)((double)q / FTS_SCORE_SCALE);
}

#endif
