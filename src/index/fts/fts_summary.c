/*
 * fts_summary.c - a region's term summary: blocked Bloom filter + range.
 *
 * Each term sets FTS_SUMMARY_HASHES bits inside one 512-bit block (one
 * cache line), chosen from its XXH3 hash; at FTS_SUMMARY_BITS_PER_TERM
 * bits per term the false-positive rate is about 1%. The smallest and
 * largest term bound prefix queries; they are kept to their first
 * FTS_SUMMARY_MAX_TERM bytes, which is still a lower bound for the
 * smallest and, compared on as many bytes, an upper bound for the largest
 * (a flag says it was cut). The bytes are self-contained so a table
 * snapshot can carry them; fts_summary_open() treats them as untrusted.
 */
#include "fts_int.h"

#include "util/err.h"
#include "util/hash.h"

#include <string.h>

uint64_t fts_term_hash(const uint8_t *term, size_t len)
{
    return hash64_seed(term, len, FTS_SUMMARY_SEED);
}

/* The block of hash h, and the bit positions inside it. */
static inline uint32_t block_of(uint64_t h, uint32_t n_blocks)
{
    return (uint32_t)(((h >> 32) * (uint64_t)n_blocks) >> 32);
}

static inline void bit_steps(uint64_t h, uint32_t *h1, uint32_t *h2)
{
    uint64_t g = hash_mix64(h);

    *h1 = (uint32_t)g;
    *h2 = (uint32_t)(g >> 32) | 1;
}

infino_status fts_summary_build(struct buf *out, const uint64_t *hashes,
                                uint64_t n, const uint8_t *min_term,
                                size_t min_len, const uint8_t *max_term,
                                size_t max_len)
{
    uint64_t n_blocks64 =
        n == 0 ? 0
               : (n * FTS_SUMMARY_BITS_PER_TERM + 511) / 512;
    uint8_t hdr[FTS_SUMMARY_HEADER_LEN] = {0};
    size_t start = out->len, bits_at;
    uint32_t n_blocks;
    infino_status st;

    if (n_blocks64 > UINT32_MAX / 2)
        return err_set(INFINO_ERR_UNSUPPORTED, "too many terms for a summary");
    n_blocks = (uint32_t)n_blocks64;
    if (min_len > FTS_SUMMARY_MAX_TERM)
        min_len = FTS_SUMMARY_MAX_TERM; /* a prefix is still <= the term */
    hdr[15] = FTS_SUMMARY_WHOLE;
    if (max_len > FTS_SUMMARY_MAX_TERM) {
        max_len = FTS_SUMMARY_MAX_TERM;
        hdr[15] |= FTS_SUMMARY_MAX_CUT;
    }
    memcpy(hdr, FTS_SUMMARY_MAGIC, 8);
    store_u32le(hdr + 8, n_blocks);
    hdr[12] = FTS_SUMMARY_HASHES;
    hdr[13] = (uint8_t)min_len;
    hdr[14] = (uint8_t)max_len;
    store_u64le(hdr + 16, n);
    CHECK(buf_append(out, hdr, sizeof hdr));
    CHECK(buf_append(out, min_term, min_len));
    CHECK(buf_append(out, max_term, max_len));
    bits_at = out->len;
    CHECK(buf_append_zeros(out, (size_t)n_blocks * FTS_SUMMARY_BLOCK_BYTES));
    for (uint64_t i = 0; i < n; i++) {
        uint8_t *blk = out->data + bits_at +
                       (size_t)block_of(hashes[i], n_blocks) *
                           FTS_SUMMARY_BLOCK_BYTES;
        uint32_t h1, h2;

        bit_steps(hashes[i], &h1, &h2);
        for (uint32_t k = 0; k < FTS_SUMMARY_HASHES; k++) {
            uint32_t bit = (h1 + k * h2) & 511;
            blk[bit >> 3] |= (uint8_t)(1u << (bit & 7));
        }
    }
    return INFINO_OK;
fail:
    out->len = start;
    return st;
}

infino_status fts_summary_open(struct fts_summary *out, const uint8_t *data,
                               size_t len)
{
    struct fts_summary s = {0};
    size_t need;

    if (len < FTS_SUMMARY_HEADER_LEN || memcmp(data, FTS_SUMMARY_MAGIC, 8))
        return err_set(INFINO_ERR_CORRUPT, "fts summary: bad magic");
    s.n_blocks = load_u32le(data + 8);
    s.n_hashes = data[12];
    s.min_len = data[13];
    s.max_len = data[14];
    s.n_terms = load_u64le(data + 16);
    need = FTS_SUMMARY_HEADER_LEN + s.min_len + s.max_len;
    if (need > len ||
        (uint64_t)(len - need) !=
            (uint64_t)s.n_blocks * FTS_SUMMARY_BLOCK_BYTES ||
        s.n_hashes == 0 || s.n_hashes > 32 ||
        (data[15] & ~(FTS_SUMMARY_MAX_CUT | FTS_SUMMARY_WHOLE)) != 0 ||
        (s.n_terms == 0 && (data[15] & FTS_SUMMARY_MAX_CUT)) ||
        (s.n_blocks == 0) != (s.n_terms == 0) ||
        (s.n_terms > 0 && (s.min_len == 0 || s.max_len == 0)))
        return err_set(INFINO_ERR_CORRUPT,
                       "fts summary: inconsistent header (%u blocks, %zu "
                       "bytes)",
                       (unsigned)s.n_blocks, len);
    s.max_cut = (data[15] & FTS_SUMMARY_MAX_CUT) != 0;
    s.whole_terms = (data[15] & FTS_SUMMARY_WHOLE) != 0;
    s.min_term = data + FTS_SUMMARY_HEADER_LEN;
    s.max_term = s.min_term + s.min_len;
    s.bits = s.max_term + s.max_len;
    *out = s;
    return INFINO_OK;
}

size_t fts_summary_block_offset(const struct fts_summary *s,
                                const uint8_t *term, size_t len)
{
    if (s->n_blocks == 0)
        return 0;
    if (!s->whole_terms)
        len = fts_v1_cut(term, len);
    return (size_t)block_of(fts_term_hash(term, len), s->n_blocks) *
           FTS_SUMMARY_BLOCK_BYTES;
}

bool fts_summary_may_contain(const struct fts_summary *s, const uint8_t *term,
                             size_t len)
{
    uint64_t h;
    const uint8_t *blk;
    uint32_t h1, h2;

    if (s->n_blocks == 0)
        return false;
    if (!s->whole_terms)
        len = fts_v1_cut(term, len); /* hashed as version 1 stored it */
    h = fts_term_hash(term, len);
    blk = s->bits + (size_t)block_of(h, s->n_blocks) * FTS_SUMMARY_BLOCK_BYTES;
    bit_steps(h, &h1, &h2);
    for (uint32_t k = 0; k < s->n_hashes; k++) {
        uint32_t bit = (h1 + k * h2) & 511;
        if (!(blk[bit >> 3] & (1u << (bit & 7))))
            return false;
    }
    return true;
}

/* Bytewise comparison of the first min(len, t_len) bytes of t with p. */
static int cmp_trunc(const uint8_t *t, size_t t_len, const uint8_t *p,
                     size_t len)
{
    size_t n = t_len < len ? t_len : len;
    int c = memcmp(t, p, n);

    if (c != 0)
        return c;
    return n < len ? -1 : 0;
}

bool fts_summary_may_contain_prefix(const struct fts_summary *s,
                                    const uint8_t *prefix, size_t len)
{
    if (s->n_terms == 0)
        return false;
    /* Terms are sorted, so their first `len` bytes are too: a term with
     * this prefix lies between those of the smallest and largest. A cut
     * largest term is its first max_len bytes, so it bounds only that
     * many bytes of the prefix (a prefix of the smallest bounds below
     * whatever it is compared with). */
    return cmp_trunc(s->min_term, s->min_len, prefix, len) <= 0 &&
           cmp_trunc(s->max_term, s->max_len, prefix,
                     s->max_cut && len > s->max_len ? s->max_len : len) >= 0;
}

bool fts_summary_may_match(const struct fts_summary *s,
                           const struct fts_query *q, enum fts_mode mode)
{
    if (q->n_pos == 0)
        return false;
    for (size_t i = 0; i < q->n_pos; i++) {
        bool hit = fts_summary_may_contain(s, q->pos[i].bytes, q->pos[i].len);
        if (mode == FTS_MODE_AND && !hit)
            return false;
        if (mode != FTS_MODE_AND && hit)
            return true;
    }
    return mode == FTS_MODE_AND;
}
