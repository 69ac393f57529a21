/*
 * fts_reader.c - opens a region in place and decodes its dictionary and
 * postings on demand.
 *
 * Open checks only what is O(1) or O(dictionary blocks): header, trailer,
 * section layout, block index monotonicity, summary header and, when
 * asked, the CRC. Version 4 regions carry a CRC per 16 KiB chunk: open
 * verifies the checks section, the block index and the doc lengths, and
 * every other chunk is verified when first read (fts_verify). Everything else (dictionary entries, postings records,
 * blocks) is checked as it is decoded, every time, so a region whose bytes
 * are wrong but whose CRC matches still cannot make us read out of bounds,
 * loop, or hand out a doc id >= n_docs.
 */
#include "fts_int.h"

#include "util/alloc.h"
#include "util/crc32c.h"
#include "util/err.h"
#include "util/rd.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

infino_status fts_corrupt(const struct fts_reader *r, const char *fmt, ...)
{
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    return err_set(INFINO_ERR_CORRUPT, "fts region %s: %s", r->name, msg);
}

/* ---- open -------------------------------------------------------------- */

static infino_status check_layout(struct fts_reader *r)
{
    infino_status st;
    const uint8_t *tr = r->data + r->len - FTS_TRAILER_LEN;
    uint64_t body = r->len - FTS_TRAILER_LEN;
    uint64_t off[5], len[5];
    uint64_t prev_dict = 0, prev_post = 0;

    for (int i = 0; i < 5; i++) {
        off[i] = load_u64le(tr + TR_POST_OFF + 16 * i);
        len[i] = load_u64le(tr + TR_POST_LEN + 16 * i);
        if (off[i] > body || len[i] > body - off[i])
            return fts_corrupt(r, "section %d [%llu, +%llu) outside the "
                               "region", i, (unsigned long long)off[i],
                               (unsigned long long)len[i]);
    }
    /* postings, dictionary, index, doc lengths, summary: back to back */
    if (r->version >= 4)
        body = r->covered; /* the checks section follows the summary */
    if (off[0] != FTS_HEADER_LEN || off[1] != off[0] + len[0] ||
        off[2] != off[1] + len[1] || off[3] != off[2] + len[2] ||
        off[4] != off[3] + len[3] || off[4] + len[4] != body)
        return fts_corrupt(r, "sections are not contiguous");

    r->n_docs = load_u32le(tr + TR_N_DOCS);
    r->dl_width = tr[TR_DL_WIDTH];
    r->total_tokens = load_u64le(tr + TR_TOTAL_TOKENS);
    r->n_terms = load_u64le(tr + TR_N_TERMS);
    r->max_dl = load_u32le(tr + TR_MAX_DL);
    if (r->version >= 3) {
        r->an.base = tr[TR_AN_BASE];
        r->an.stemmer = tr[TR_AN_STEMMER];
        r->an.stop_lang = tr[TR_AN_STOP];
        r->an.stop_crc = load_u32le(tr + TR_AN_STOP_CRC);
        if (r->an.base > FTS_BASE_STANDARD || r->an.stemmer > FTS_N_LANGS ||
            (r->an.stop_lang != 0 && r->an.stop_lang != FTS_STOP_USER &&
             !fts_lang_has_stopwords(r->an.stop_lang)))
            return fts_corrupt(r, "unknown analysis %u/%u/%u", r->an.base,
                               r->an.stemmer, r->an.stop_lang);
    }
    if (r->dl_width != 1 && r->dl_width != 2 && r->dl_width != 4)
        return fts_corrupt(r, "doc length width %u", r->dl_width);
    if (len[3] != (uint64_t)r->n_docs * r->dl_width)
        return fts_corrupt(r, "doc lengths: %llu bytes for %u docs",
                           (unsigned long long)len[3], r->n_docs);
    if (r->dl_width < 4 && r->max_dl >= (1u << (8 * r->dl_width)))
        return fts_corrupt(r, "max doc length %u exceeds its width",
                           r->max_dl);
    /* each dictionary entry takes at least 3 bytes */
    if (r->n_terms > len[1] / 3 ||
        len[2] % r->index_entry_len != 0 ||
        len[2] / r->index_entry_len !=
            (r->n_terms + FTS_DICT_BLOCK_TERMS - 1) / FTS_DICT_BLOCK_TERMS)
        return fts_corrupt(r, "%llu terms do not fit the dictionary",
                           (unsigned long long)r->n_terms);
    if (r->n_terms > 0 && r->n_docs == 0)
        return fts_corrupt(r, "terms without documents");
    r->post = r->data + off[0];
    r->post_len = len[0];
    r->dict = r->data + off[1];
    r->dict_len = len[1];
    r->index = r->data + off[2];
    r->n_blocks = len[2] / r->index_entry_len;
    r->dl = r->data + off[3];
    r->summary = r->data + off[4];
    r->summary_len = len[4];
    /* every scoring query reads doc lengths, and open the block index */
    CHECK(fts_verify(r, off[2], len[2] + len[3]));
    /* BM25's N counts the docs that have the field's tokens (Lucene's
     * docCount, as upstream infino): version 4 records it, older ones
     * take one pass at open */
    if (r->version < 4) {
        r->n_scored = 0;
        for (uint32_t d = 0; d < r->n_docs; d++)
            r->n_scored += fts_dl(r, d) != 0;
    } else if (r->n_scored > r->n_docs) {
        return fts_corrupt(r, "%u scored docs of %u", r->n_scored, r->n_docs);
    }

    /* Block index: dictionary offsets strictly increase from 0, postings
     * bases never decrease; both stay inside their sections. */
    for (uint64_t b = 0; b < r->n_blocks; b++) {
        const uint8_t *e = r->index + b * r->index_entry_len;
        uint64_t d = load_u64le(e), p = load_u64le(e + 8);
        if ((b == 0 ? d != 0 : d <= prev_dict) || d >= r->dict_len ||
            p < prev_post || p > r->post_len)
            return fts_corrupt(r, "dictionary block %llu: bad offsets",
                               (unsigned long long)b);
        prev_dict = d;
        prev_post = p;
    }
    return INFINO_OK;
fail:
    return st;
}

static inline int read_lens(const struct fts_reader *r, struct rd *rd,
                            uint8_t *pre, uint64_t *suf);
static uint64_t block_dict_off(const struct fts_reader *r, uint64_t b);

/* Version 4: checks the tail CRC over the checks section and the trailer,
 * and takes the chunk table (FORMAT.md "Checks"). */
static infino_status open_checks(struct fts_reader *r, unsigned flags)
{
    const uint8_t *tr = r->data + r->len - FTS_TRAILER_LEN;
    uint64_t body = r->len - FTS_TRAILER_LEN;
    uint64_t so = load_u64le(tr + TR_SUMMARY_OFF);
    uint64_t sl = load_u64le(tr + TR_SUMMARY_LEN);
    const uint8_t *ck;
    uint64_t ck_len, words;

    if (so > body || sl > body - so ||
        body - (so + sl) < FTS_CHECKS_HEADER_LEN)
        return fts_corrupt(r, "no checks section");
    ck = r->data + so + sl;
    ck_len = body - (so + sl);
    if (!(flags & FTS_OPEN_NO_CHUNK_CRC) &&
        crc32c_extend(crc32c(ck + 4, (size_t)ck_len - 4), tr, TR_CRC) !=
            load_u32le(ck))
        return fts_corrupt(r, "checks section: checksum mismatch");
    r->chunk_shift = ck[4];
    if (r->chunk_shift < FTS_CHUNK_SHIFT_MIN ||
        r->chunk_shift > FTS_CHUNK_SHIFT_MAX || ck[5] || ck[6] || ck[7] ||
        load_u32le(ck + 12) != 0)
        return fts_corrupt(r, "checks section: bad header");
    r->covered = so + sl;
    r->n_chunks = (r->covered + ((uint64_t)1 << r->chunk_shift) - 1) >>
                  r->chunk_shift;
    if (ck_len - FTS_CHECKS_HEADER_LEN != 4 * r->n_chunks)
        return fts_corrupt(r, "checks section: %llu bytes for %llu chunks",
                           (unsigned long long)ck_len,
                           (unsigned long long)r->n_chunks);
    r->n_scored = load_u32le(ck + 8);
    r->chunk_crc = ck + FTS_CHECKS_HEADER_LEN;
    if (flags & FTS_OPEN_NO_CHUNK_CRC)
        return INFINO_OK; /* r->verified stays NULL: nothing is checked */
    words = (r->n_chunks + 63) / 64;
    r->verified = mem_calloc((size_t)words, sizeof *r->verified);
    if (r->verified == NULL)
        return err_nomem();
    return fts_verify(r, 0, FTS_HEADER_LEN);
}

infino_status fts_verify_slow(const struct fts_reader *r, uint64_t off,
                              uint64_t len)
{
    uint64_t size = (uint64_t)1 << r->chunk_shift;

    if (off > r->covered || len > r->covered - off)
        return fts_corrupt(r, "bytes [%llu, +%llu) lie outside the "
                           "checked sections", (unsigned long long)off,
                           (unsigned long long)len);
    for (uint64_t c = off >> r->chunk_shift;
         c <= (off + len - 1) >> r->chunk_shift; c++) {
        uint64_t lo = c << r->chunk_shift;
        uint64_t hi = r->covered - lo < size ? r->covered : lo + size;
        uint32_t crc;

        if ((atomic_load_explicit(&r->verified[c >> 6],
                                  memory_order_acquire) >> (c & 63)) & 1)
            continue;
        crc = crc32c(r->data + lo, (size_t)(hi - lo));
        if (crc != load_u32le(r->chunk_crc + 4 * c))
            return fts_corrupt(r, "checksum mismatch in bytes [%llu, %llu) "
                               "(chunk %llu: stored %08x, computed %08x)",
                               (unsigned long long)lo, (unsigned long long)hi,
                               (unsigned long long)c,
                               load_u32le(r->chunk_crc + 4 * c), crc);
        atomic_fetch_or_explicit(&r->verified[c >> 6], (uint64_t)1 << (c & 63),
                                 memory_order_release);
    }
    return INFINO_OK;
}

/* r->block_key from each block's first term. A first term that does not
 * decode leaves the keys unbuilt: lookups then compare in the region,
 * which reports the damage where it is met (as without keys). */
static infino_status build_block_keys(struct fts_reader *r)
{
    uint64_t prev = 0;

    if (r->n_blocks == 0)
        return INFINO_OK;
    if (r->n_blocks > SIZE_MAX / sizeof *r->block_key)
        return INFINO_OK;
    r->block_key = mem_alloc((size_t)r->n_blocks * sizeof *r->block_key);
    if (r->block_key == NULL)
        return err_nomem();
    if (r->version >= 4) { /* stored in the (verified) block index */
        for (uint64_t b = 0; b < r->n_blocks; b++) {
            uint64_t k = load_u64le(r->index + b * r->index_entry_len + 16);
            if (k < prev) {
                mem_free(r->block_key);
                r->block_key = NULL;
                return INFINO_OK;
            }
            r->block_key[b] = prev = k;
        }
        return INFINO_OK;
    }
    for (uint64_t b = 0; b < r->n_blocks; b++) {
        uint64_t off = block_dict_off(r, b), end = block_dict_off(r, b + 1);
        struct rd rd = rd_make(r->dict + off, (size_t)(end - off));
        const uint8_t *t;
        uint8_t pre;
        uint64_t suf, k;

        if (read_lens(r, &rd, &pre, &suf) || pre != 0 || suf == 0 ||
            rd_bytes(&rd, (size_t)suf, &t) ||
            (k = fts_term_key(t, (size_t)suf)) < prev) {
            mem_free(r->block_key);
            r->block_key = NULL;
            return INFINO_OK;
        }
        r->block_key[b] = prev = k;
    }
    return INFINO_OK;
}

infino_status fts_reader_open(struct fts_reader **out, const uint8_t *data,
                              size_t len, const char *name, unsigned flags)
{
    struct fts_reader *r = NULL;
    struct fts_summary sum;
    infino_status st;
    uint32_t version;

    *out = NULL;
    r = mem_calloc(1, sizeof *r);
    if (r == NULL)
        return err_nomem();
    r->name = mem_strdup(name != NULL ? name : "(unnamed)");
    if (r->name == NULL) {
        st = err_nomem();
        goto fail;
    }
    r->data = data;
    r->len = len;
    if (len < FTS_HEADER_LEN + FTS_TRAILER_LEN) {
        st = fts_corrupt(r, "%zu bytes is too short", len);
        goto fail;
    }
    if (memcmp(data, FTS_MAGIC, 8) != 0 ||
        memcmp(data + len - FTS_TRAILER_LEN + TR_MAGIC, FTS_TRAILER_MAGIC,
               8) != 0) {
        st = fts_corrupt(r, "bad magic");
        goto fail;
    }
    version = load_u32le(data + 8);
    if (version < FTS_FORMAT_VERSION_MIN ||
        version > FTS_FORMAT_VERSION_MAX ||
        (load_u32le(data + 12) &
         ~(version >= FTS_FORMAT_VERSION_POSITIONS ? FTS_FLAG_POSITIONS
                                                    : 0u)) != 0) {
        st = err_set(INFINO_ERR_UNSUPPORTED,
                     "fts region %s: format version %u (flags %u) is not "
                     "supported", r->name, version, load_u32le(data + 12));
        goto fail;
    }
    r->version = version;
    r->positions = (load_u32le(data + 12) & FTS_FLAG_POSITIONS) != 0;
    r->index_entry_len =
        version >= 4 ? FTS_INDEX_ENTRY_LEN_V4 : FTS_INDEX_ENTRY_LEN;
    if (version >= 4)
        CHECK(open_checks(r, flags));
    if ((flags & FTS_OPEN_VERIFY_CRC) &&
        crc32c(data, len - 4) !=
            load_u32le(data + len - FTS_TRAILER_LEN + TR_CRC)) {
        st = fts_corrupt(r, "checksum mismatch");
        goto fail;
    }
    CHECK(check_layout(r));
    CHECK(build_block_keys(r));
    st = fts_summary_open(&sum, r->summary, r->summary_len);
    if (st != INFINO_OK) {
        st = err_context(st, "fts region %s", r->name);
        goto fail;
    }
    *out = r;
    return INFINO_OK;
fail:
    fts_reader_close(r);
    return st;
}

void fts_reader_close(struct fts_reader *r)
{
    if (r == NULL)
        return;
    mem_free(r->block_key);
    mem_free((void *)r->verified);
    mem_free(r->name);
    mem_free(r);
}

void fts_reader_analysis_id(struct fts_analysis_id *out,
                            const struct fts_reader *r)
{
    *out = r->an;
}

uint32_t fts_reader_n_docs(const struct fts_reader *r)
{
    return r->n_docs;
}

uint32_t fts_reader_n_scored_docs(const struct fts_reader *r)
{
    return r->n_scored;
}

uint64_t fts_reader_total_tokens(const struct fts_reader *r)
{
    return r->total_tokens;
}

bool fts_reader_has_positions(const struct fts_reader *r)
{
    return r->positions;
}

uint64_t fts_reader_n_terms(const struct fts_reader *r)
{
    return r->n_terms;
}

const char *fts_reader_name(const struct fts_reader *r)
{
    return r->name;
}

uint32_t fts_reader_doc_len(const struct fts_reader *r, uint32_t doc)
{
    return doc < r->n_docs ? fts_dl(r, doc) : 0;
}

const uint8_t *fts_reader_summary(const struct fts_reader *r, size_t *len_out)
{
    *len_out = (size_t)r->summary_len;
    return r->summary;
}

infino_status fts_reader_verify_summary_for(const struct fts_reader *r,
                                            const struct fts_summary *s,
                                            const struct fts_query *q)
{
    uint64_t base = (uint64_t)(r->summary - r->data);
    uint64_t bits = (uint64_t)(s->bits - r->summary);
    infino_status st;

    if (r->verified == NULL)
        return INFINO_OK;
    if (s->bits < r->summary || bits > r->summary_len)
        return fts_corrupt(r, "summary outside its section");
    CHECK(fts_verify(r, base, bits));
    if (s->n_blocks == 0)
        return INFINO_OK;
    for (size_t i = 0; i < q->n_pos; i++)
        CHECK(fts_verify(r,
                         base + bits +
                             fts_summary_block_offset(s, q->pos[i].bytes,
                                                      q->pos[i].len),
                         FTS_SUMMARY_BLOCK_BYTES));
    return INFINO_OK;
fail:
    return st;
}

infino_status fts_reader_summary_verified(const struct fts_reader *r,
                                          const uint8_t **out, size_t *len_out)
{
    struct fts_reader *w = (struct fts_reader *)r; /* the atomic flag only */

    *out = NULL;
    *len_out = 0;
    if (r->verified != NULL &&
        !atomic_load_explicit(&w->summary_verified, memory_order_acquire)) {
        infino_status st = fts_verify(r, (uint64_t)(r->summary - r->data),
                                      r->summary_len);
        if (st != INFINO_OK)
            return st;
        atomic_store_explicit(&w->summary_verified, true,
                              memory_order_release);
    }
    *out = r->summary;
    *len_out = (size_t)r->summary_len;
    return INFINO_OK;
}

/* ---- dictionary -------------------------------------------------------- */

static uint64_t block_dict_off(const struct fts_reader *r, uint64_t b)
{
    return b < r->n_blocks ? load_u64le(r->index + b * r->index_entry_len)
                           : r->dict_len;
}

static uint64_t block_post_base(const struct fts_reader *r, uint64_t b)
{
    return b < r->n_blocks
               ? load_u64le(r->index + b * r->index_entry_len + 8)
               : r->post_len;
}

/* Version 4: verifies the dictionary bytes of block b. */
static infino_status verify_dict_block(const struct fts_reader *r, uint64_t b)
{
    uint64_t off = block_dict_off(r, b);

    return fts_verify(r, (uint64_t)(r->dict - r->data) + off,
                      block_dict_off(r, b + 1) - off);
}

static infino_status iter_enter_block(struct fts_dict_iter *it, uint64_t b)
{
    const struct fts_reader *r = it->r;
    uint64_t left = r->n_terms - b * FTS_DICT_BLOCK_TERMS;
    infino_status st = verify_dict_block(r, b);

    if (st != INFINO_OK)
        return st;

    it->block = b;
    it->in_block = 0;
    it->block_terms =
        (uint32_t)(left < FTS_DICT_BLOCK_TERMS ? left : FTS_DICT_BLOCK_TERMS);
    it->p = r->dict + block_dict_off(r, b);
    it->end = r->dict + block_dict_off(r, b + 1);
    it->post_off = block_post_base(r, b);
    it->post_end = block_post_base(r, b + 1);
    it->term = it->short_term;
    it->term_len = 0;
    return INFINO_OK;
}

/* An entry's term lengths: u8 prefix, then the suffix length as a u8
 * (version 1) or a varint (version 2). Both are one byte each for almost
 * every entry of either version, and that case is read directly. */
static inline int read_lens(const struct fts_reader *r, struct rd *rd,
                            uint8_t *pre, uint64_t *suf)
{
    const uint8_t *p = rd->p;

    if (rd->end - p >= 2 && (p[1] < 0x80 || r->version == 1)) {
        *pre = p[0];
        *suf = p[1];
        rd->p = p + 2;
        return 0;
    }
    if (rd_u8(rd, pre) || r->version == 1)
        return -1; /* version 1: fewer than 2 bytes left */
    return rd_uvarint(rd, suf) || *suf > rd_left(rd) ? -1 : 0;
}

static infino_status entry_corrupt(const struct fts_dict_iter *it,
                                   const char *what)
{
    return fts_corrupt(it->r, "dictionary block %llu, entry %u: %s",
                       (unsigned long long)it->block, it->in_block, what);
}

/* Decodes the next entry of the current block into it->term / it->info. */
static infino_status iter_entry(struct fts_dict_iter *it)
{
    const struct fts_reader *r = it->r;
    struct rd rd = rd_make(it->p, (size_t)(it->end - it->p));
    struct fts_term_info info = {0};
    const uint8_t *suffix;
    uint8_t pre;
    uint64_t suf, df, a, b;

    if (read_lens(r, &rd, &pre, &suf) || rd_bytes(&rd, (size_t)suf, &suffix))
        return entry_corrupt(it, "truncated term");
    /* suf <= the block's bytes, so pre + suf cannot overflow */
    if (pre > it->term_len || (it->in_block == 0 && pre != 0) ||
        pre + suf == 0 ||
        (pre + suf > FTS_FRONT_CODED_MAX && (pre != 0 || r->version == 1)))
        return entry_corrupt(it, "bad term lengths");
    if (suf > FTS_FRONT_CODED_MAX) {
        it->term = suffix; /* stored whole: read in place */
    } else {
        /* the prefix comes from the previous term, in the buffer or (a
         * long term) in the region */
        if (it->term != it->short_term)
            memcpy(it->short_term, it->term, pre);
        memcpy(it->short_term + pre, suffix, (size_t)suf);
        it->term = it->short_term;
    }
    it->term_len = (size_t)(pre + suf);
    if (rd_uvarint(&rd, &df) || df == 0 || df > r->n_docs ||
        rd_uvarint(&rd, &a) || rd_uvarint(&rd, &b))
        return entry_corrupt(it, "bad document frequency");
    info.df = (uint32_t)df;
    if (df == 1) {
        uint64_t c = 0;
        if (a >= r->n_docs || b >= UINT32_MAX ||
            (r->positions && (rd_uvarint(&rd, &c) ||
                              c > it->post_end - it->post_off)))
            return entry_corrupt(it, "bad inline posting");
        info.inline_doc = (uint32_t)a;
        info.inline_tf = (uint32_t)b + 1;
        info.total_tf = info.inline_tf;
        info.off = it->post_off; /* its positions, if any */
        info.len = c;
        it->post_off += c;
    } else {
        if (a > UINT64_MAX - df || b > it->post_end - it->post_off)
            return entry_corrupt(it, "postings record out of bounds");
        info.total_tf = df + a;
        info.off = it->post_off;
        info.len = b;
        it->post_off += b;
    }
    it->info = info;
    it->p = rd.p;
    it->in_block++;
    return INFINO_OK;
}

/* Moves to the next term in bytewise order; *done at the end. */
static infino_status iter_next(struct fts_dict_iter *it, bool *done)
{
    const struct fts_reader *r = it->r;

    *done = false;
    while (it->in_block == it->block_terms) {
        if (it->block < r->n_blocks &&
            (it->p != it->end || it->post_off != it->post_end))
            return fts_corrupt(r, "dictionary block %llu: trailing bytes",
                               (unsigned long long)it->block);
        if (it->block + 1 >= r->n_blocks) {
            *done = true;
            return INFINO_OK;
        }
        infino_status st = iter_enter_block(it, it->block + 1);
        if (st != INFINO_OK)
            return st;
    }
    return iter_entry(it);
}

/* Compares the first term of dictionary block b with key[0..len). */
static infino_status cmp_block_first(int *out, const struct fts_reader *r,
                                     uint64_t b, const uint8_t *key,
                                     size_t len)
{
    uint64_t off = block_dict_off(r, b), end = block_dict_off(r, b + 1);
    struct rd rd = rd_make(r->dict + off, (size_t)(end - off));
    const uint8_t *t;
    uint8_t pre;
    uint64_t suf;
    int c;
    infino_status st = verify_dict_block(r, b);

    if (st != INFINO_OK)
        return st;
    if (read_lens(r, &rd, &pre, &suf) || pre != 0 || suf == 0 ||
        rd_bytes(&rd, (size_t)suf, &t))
        return fts_corrupt(r, "dictionary block %llu: bad first term",
                           (unsigned long long)b);
    c = memcmp(t, key, suf < len ? (size_t)suf : len);
    *out = c != 0 ? c : (suf < len ? -1 : suf > len ? 1 : 0);
    return INFINO_OK;
}

/* The last block whose first term is <= key (strict: < key), or -1. The
 * block keys narrow the search to the blocks whose first term shares the
 * key's first 8 bytes; only those are compared in the region. */
static infino_status find_block(int64_t *out, const struct fts_reader *r,
                                const uint8_t *key, size_t len, bool strict)
{
    uint64_t lo = 0, hi = r->n_blocks;
    infino_status st;
    int c = 0;

    if (r->block_key != NULL) {
        uint64_t kq = fts_term_key(key, len), l = 0, h = r->n_blocks;
        while (l < h) { /* first block whose key is >= kq */
            uint64_t mid = l + (h - l) / 2;
            if (r->block_key[mid] < kq)
                l = mid + 1;
            else
                h = mid;
        }
        lo = l;
        h = r->n_blocks;
        while (l < h) { /* first block whose key is > kq */
            uint64_t mid = l + (h - l) / 2;
            if (r->block_key[mid] <= kq)
                l = mid + 1;
            else
                h = mid;
        }
        hi = l;
    }
    while (lo < hi) {
        uint64_t mid = lo + (hi - lo) / 2;
        CHECK(cmp_block_first(&c, r, mid, key, len));
        if (strict ? c < 0 : c <= 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    *out = (int64_t)lo - 1;
    return INFINO_OK;
fail:
    return st;
}

/* Bytes a[0..n) and b[0..n) have in common at the start. */
static size_t common_prefix(const uint8_t *a, const uint8_t *b, size_t n)
{
    size_t i = 0;

    while (i < n && a[i] == b[i])
        i++;
    return i;
}

/* Looks `key` up in its block without rebuilding the block's terms: with
 * m, the bytes the previous term shares with the key (which it precedes),
 * an entry sharing more than m bytes with the previous term also precedes
 * the key by the same byte, so only its lengths and numbers are read;
 * otherwise its suffix is compared with the key from where they part.
 * Entries are checked as iter_entry checks them. */
infino_status fts_dict_find(struct fts_term_info *out, bool *found,
                            const struct fts_reader *r, const uint8_t *term,
                            size_t len)
{
    struct fts_dict_iter it;
    int64_t b;
    size_t m = 0, prev_len = 0;
    infino_status st;

    *found = false;
    if (len == 0 || r->n_blocks == 0)
        return INFINO_OK;
    if (r->version == 1)
        len = fts_v1_cut(term, len);
    CHECK(find_block(&b, r, term, len, false));
    if (b < 0)
        return INFINO_OK;
    it.r = r;
    CHECK(iter_enter_block(&it, (uint64_t)b));
    for (; it.in_block < it.block_terms; it.in_block++) {
        struct rd rd = rd_make(it.p, (size_t)(it.end - it.p));
        const uint8_t *suffix;
        uint8_t pre;
        uint64_t suf, df, x, y, z = 0;
        size_t t_len, n, c_len;
        int c = -1;

        if (read_lens(r, &rd, &pre, &suf) ||
            rd_bytes(&rd, (size_t)suf, &suffix))
            return entry_corrupt(&it, "truncated term");
        if (pre > prev_len || (it.in_block == 0 && pre != 0) ||
            pre + suf == 0 ||
            (pre + suf > FTS_FRONT_CODED_MAX &&
             (pre != 0 || r->version == 1)))
            return entry_corrupt(&it, "bad term lengths");
        t_len = (size_t)(pre + suf);
        if (rd_uvarint(&rd, &df) || df == 0 || df > r->n_docs ||
            rd_uvarint(&rd, &x) || rd_uvarint(&rd, &y))
            return entry_corrupt(&it, "bad document frequency");
        if (df == 1) {
            if (x >= r->n_docs || y >= UINT32_MAX ||
                (r->positions && (rd_uvarint(&rd, &z) ||
                                  z > it.post_end - it.post_off)))
                return entry_corrupt(&it, "bad inline posting");
        } else if (x > UINT64_MAX - df || y > it.post_end - it.post_off) {
            return entry_corrupt(&it, "postings record out of bounds");
        }
        if (pre <= m) {
            /* the term and the key agree on pre bytes: compare the rest */
            n = (size_t)suf < len - pre ? (size_t)suf : len - pre;
            c_len = common_prefix(suffix, term + pre, n);
            m = pre + c_len;
            if (c_len < n)
                c = suffix[c_len] < term[pre + c_len] ? -1 : 1;
            else
                c = t_len < len ? -1 : t_len > len ? 1 : 0;
        }
        if (c == 0) {
            struct fts_term_info info = {0};
            info.df = (uint32_t)df;
            if (df == 1) {
                info.inline_doc = (uint32_t)x;
                info.inline_tf = (uint32_t)y + 1;
                info.total_tf = info.inline_tf;
                info.off = it.post_off; /* its positions, if any */
                info.len = z;
            } else {
                info.total_tf = df + x;
                info.off = it.post_off;
                info.len = y;
            }
            *out = info;
            *found = true;
            break;
        }
        if (c > 0)
            break;
        it.post_off += df > 1 ? y : z;
        it.p = rd.p;
        prev_len = t_len;
    }
    return INFINO_OK;
fail:
    return st;
}

infino_status fts_reader_lookup(struct fts_term_info *out,
                                const struct fts_reader *r,
                                const uint8_t *term, size_t len)
{
    infino_status st;
    bool found;

    CHECK(fts_dict_find(out, &found, r, term, len));
    if (!found)
        return err_set(INFINO_ERR_NOTFOUND, "fts region %s: term not found",
                       r->name);
    return INFINO_OK;
fail:
    return st;
}

infino_status fts_reader_prefix(const struct fts_reader *r,
                                const uint8_t *prefix, size_t len,
                                fts_term_fn fn, void *payload)
{
    struct fts_dict_iter it;
    int64_t b = 0;
    infino_status st;
    bool done;

    if (r->n_blocks == 0)
        return INFINO_OK;
    if (len > 0) {
        CHECK(find_block(&b, r, prefix, len, true));
        if (b < 0)
            b = 0;
    }
    it.r = r;
    CHECK(iter_enter_block(&it, (uint64_t)b));
    for (;;) {
        int c;
        CHECK(iter_next(&it, &done));
        if (done)
            break;
        c = len == 0 ? 0
                     : memcmp(it.term, prefix,
                              it.term_len < len ? it.term_len : len);
        if (c == 0 && it.term_len >= len) {
            CHECK(fn(it.term, it.term_len, &it.info, payload));
        } else if (c > 0) {
            break; /* past every term with this prefix */
        }
    }
    return INFINO_OK;
fail:
    return st;
}

/* ---- postings ---------------------------------------------------------- */


infino_status fts_read_impacts(const struct fts_reader *r,
                               const struct fts_term_info *ti, uint32_t *tf,
                               uint32_t *dl, uint32_t *n, struct rd *rest)
{
    uint8_t n_imp;

    if (ti->df == 0 || ti->df > r->n_docs)
        return fts_corrupt(r, "bad document frequency %u", ti->df);
    if (ti->df == 1) {
        if (ti->inline_doc >= r->n_docs)
            return fts_corrupt(r, "inline posting out of range");
        *n = 1;
        tf[0] = ti->inline_tf;
        dl[0] = fts_dl(r, ti->inline_doc);
        *rest = rd_make(NULL, 0);
        return INFINO_OK;
    }
    if (ti->off > r->post_len || ti->len > r->post_len - ti->off)
        return fts_corrupt(r, "postings record out of bounds");
    {
        /* the impacts: at most 1 + 8 x 2 varints of 5 bytes */
        uint64_t head = ti->len < 81 ? ti->len : 81;
        infino_status st = fts_verify(r, FTS_HEADER_LEN + ti->off, head);
        if (st != INFINO_OK)
            return st;
    }
    *rest = rd_make(r->post + ti->off, (size_t)ti->len);
    if (rd_u8(rest, &n_imp) || n_imp == 0 || n_imp > FTS_MAX_IMPACTS)
        return fts_corrupt(r, "postings at %llu: bad impact count",
                           (unsigned long long)ti->off);
    for (unsigned i = 0; i < n_imp; i++) {
        uint64_t t, d;
        if (rd_uvarint(rest, &t) || rd_uvarint(rest, &d) ||
            t > UINT32_MAX || d > UINT32_MAX)
            return fts_corrupt(r, "postings at %llu: bad impact",
                               (unsigned long long)ti->off);
        tf[i] = (uint32_t)t;
        dl[i] = (uint32_t)d;
    }
    *n = n_imp;
    return INFINO_OK;
}
infino_status fts_cursor_open(struct fts_cursor *c, const struct fts_reader *r,
                              const struct fts_term_info *ti)
{
    struct rd rd;
    infino_status st;

    c->r = r;
    c->df = ti->df;
    c->blk = 0;
    c->decoded = FTS_NO_DOC;
    c->pos = c->n = 0;
    c->doc = FTS_NO_DOC;
    c->pos_tab = c->pos_data = NULL;
    c->pos_len = 0;
    c->pos_blk = FTS_NO_DOC;
    st = fts_read_impacts(r, ti, c->imp_tf, c->imp_dl, &c->n_impacts, &rd);
    if (st != INFINO_OK)
        return st;
    if (ti->df == 1) {
        c->n_blocks = 1;
        c->skip = c->inline_skip;
        c->data = NULL;
        c->data_len = 0;
        store_u32le(c->inline_skip, ti->inline_doc);
        store_u32le(c->inline_skip + 4, 0);
        store_u32le(c->inline_skip + 8, ti->inline_tf);
        store_u32le(c->inline_skip + 12, c->imp_dl[0]);
        if (r->positions) {
            if (ti->off > r->post_len || ti->len > r->post_len - ti->off)
                return fts_corrupt(r, "positions at %llu out of bounds",
                                   (unsigned long long)ti->off);
            c->pos_data = r->post + ti->off;
            c->pos_len = ti->len;
        }
        return INFINO_OK;
    }
    c->n_blocks = (ti->df - 1) / FTS_BLOCK_LEN + 1;
    if (rd_bytes(&rd, (size_t)c->n_blocks * FTS_SKIP_ENTRY_LEN, &c->skip))
        return fts_corrupt(r, "postings at %llu: truncated skip table",
                           (unsigned long long)ti->off);
    st = fts_verify(r, (uint64_t)(c->skip - r->data),
                    (uint64_t)c->n_blocks * FTS_SKIP_ENTRY_LEN);
    if (st != INFINO_OK)
        return st;
    c->data = rd.p;
    c->data_len = rd_left(&rd);
    if (r->positions) {
        /* block data, then the positions table and bytes (FORMAT.md
         * "Positions"): blocks may not run into them */
        uint64_t blocks = fts_skip_end(c, c->n_blocks - 1);
        uint64_t tab = (uint64_t)c->n_blocks * FTS_POS_TABLE_ENTRY_LEN;
        if (blocks > c->data_len || tab > c->data_len - blocks)
            return fts_corrupt(r, "postings at %llu: no room for positions",
                               (unsigned long long)ti->off);
        c->pos_tab = c->data + blocks;
        c->pos_data = c->pos_tab + tab;
        c->pos_len = c->data_len - blocks - tab;
        c->data_len = blocks;
        st = fts_verify(r, (uint64_t)(c->pos_tab - r->data), tab);
        if (st != INFINO_OK)
            return st;
    }
    return INFINO_OK;
}

bool fts_decode_positions(struct rd *rd, uint32_t n, uint32_t *out)
{
    uint64_t p = 0;

    for (uint32_t k = 0; k < n; k++) {
        uint64_t v;
        if (rd_uvarint(rd, &v) || v > UINT32_MAX)
            return false;
        p = k == 0 ? v : p + 1 + v;
        if (p > UINT32_MAX - 1) /* positions are below 2^32 - 1 */
            return false;
        if (out != NULL)
            out[k] = (uint32_t)p;
    }
    return true;
}

/* Bounds and verifies the positions bytes of decoded block b. */
static infino_status enter_pos_block(struct fts_cursor *c, uint32_t b)
{
    uint64_t lo = 0, hi = c->pos_len;

    if (c->pos_tab != NULL) {
        lo = b == 0 ? 0 : load_u32le(c->pos_tab + 4 * (size_t)(b - 1));
        hi = load_u32le(c->pos_tab + 4 * (size_t)b);
        if (lo > hi || hi > c->pos_len ||
            (b + 1 == c->n_blocks && hi != c->pos_len))
            return fts_corrupt(c->r, "positions of postings block %u of %u: "
                               "bad offsets", b, c->n_blocks);
    }
    if (c->r->verified != NULL) {
        infino_status st = fts_verify(
            c->r, (uint64_t)(c->pos_data - c->r->data) + lo, hi - lo);
        if (st != INFINO_OK)
            return st;
    }
    c->pos_blk = b;
    c->pos_idx = 0;
    c->pos_off = lo;
    c->pos_end = hi;
    return INFINO_OK;
}

infino_status fts_cursor_positions(struct fts_cursor *c, uint32_t *out)
{
    struct rd rd;
    infino_status st;

    if (!c->r->positions)
        return err_set(INFINO_ERR_INVALID, "fts region %s stores no "
                       "positions", c->r->name);
    if (c->decoded != c->blk || c->blk >= c->n_blocks || c->pos >= c->n)
        return err_set(INFINO_ERR_INVALID, "positions: no current posting");
    if (c->pos_blk != c->decoded || c->pos_idx > c->pos)
        CHECK(enter_pos_block(c, c->decoded));
    if (c->pos_idx < c->pos) {
        /* skip the earlier postings' varints: count their last bytes
         * (high bit clear); they are checked when they are read */
        const uint8_t *p = c->pos_data + c->pos_off;
        const uint8_t *end = c->pos_data + c->pos_end;
        uint64_t left = 0;
        for (; c->pos_idx < c->pos; c->pos_idx++)
            left += c->tfs[c->pos_idx];
        while (left > 0 && p < end)
            left -= *p++ < 0x80;
        if (left > 0)
            goto corrupt;
        c->pos_off = (uint64_t)(p - c->pos_data);
    }
    rd = rd_make(c->pos_data + c->pos_off, (size_t)(c->pos_end - c->pos_off));
    if (!fts_decode_positions(&rd, c->tfs[c->pos], out))
        goto corrupt;
    /* the block's last posting ends its bytes exactly */
    if (c->pos + 1 == c->n && rd_left(&rd) != 0)
        goto corrupt;
    return INFINO_OK;
corrupt:
    return fts_corrupt(c->r, "positions of postings block %u of %u are "
                       "damaged", c->blk, c->n_blocks);
fail:
    return st;
}

static infino_status block_corrupt(const struct fts_cursor *c, uint32_t b,
                                   const char *what)
{
    return fts_corrupt(c->r, "postings block %u of %u: %s", b, c->n_blocks,
                       what);
}

/* Decodes block b into docs[]/tfs[], checking everything (see header). */
static infino_status decode_block(struct fts_cursor *c, uint32_t b)
{
    uint32_t last = fts_skip_last(c, b);
    uint32_t prev = b == 0 ? FTS_NO_DOC : fts_skip_last(c, b - 1);
    uint32_t start = b == 0 ? 0 : fts_skip_end(c, b - 1);
    uint32_t end = fts_skip_end(c, b);
    uint32_t n = b + 1 < c->n_blocks
                     ? FTS_BLOCK_LEN
                     : c->df - (c->n_blocks - 1) * FTS_BLOCK_LEN;
    uint64_t next = b == 0 ? 0 : (uint64_t)prev + 1; /* smallest allowed */

    if (last >= c->r->n_docs || (b > 0 && last <= prev))
        return block_corrupt(c, b, "doc ids out of order");
    if (c->data == NULL) { /* inline single posting */
        c->docs[0] = last;
        c->tfs[0] = fts_skip_max_tf(c, b);
        n = 1;
    } else if (start > end || end > c->data_len) {
        return block_corrupt(c, b, "bad offsets");
    } else if (c->r->verified != NULL &&
               fts_verify(c->r, (uint64_t)(c->data - c->r->data) + start,
                          end - start) != INFINO_OK) {
        return INFINO_ERR_CORRUPT; /* fts_verify reported it */
    } else if (n == FTS_BLOCK_LEN) {
        const uint8_t *p = c->data + start;
        unsigned db, tb;

        if (end - start < 2)
            return block_corrupt(c, b, "truncated");
        db = p[0];
        tb = p[1];
        if (db > 32 || tb > 32 || end - start != 2 + 16 * (db + tb))
            return block_corrupt(c, b, "bad bit widths");
        if (db == 0) {
            /* 128 consecutive ids (common in dense terms): no gaps */
            if (next + FTS_BLOCK_LEN - 1 != last)
                return block_corrupt(c, b, "doc ids disagree with skip");
            fts_iota128(c->docs, (uint32_t)next);
        } else {
            fts_unpack128(c->docs, p + 2, db);
            /* No wrap-around is possible when even maximal gaps stay
             * below 2^32; otherwise add up in 64 bits. */
            if (next + FTS_BLOCK_LEN - 1 +
                    (uint64_t)FTS_BLOCK_LEN * ((1ull << db) - 1) >
                UINT32_MAX) {
                uint64_t sum = next + FTS_BLOCK_LEN - 1;
                for (unsigned i = 0; i < FTS_BLOCK_LEN; i++)
                    sum += c->docs[i];
                if (sum != last)
                    return block_corrupt(c, b,
                                         "doc ids disagree with skip");
            }
            fts_gaps_to_docs128(c->docs, prev);
            if (c->docs[FTS_BLOCK_LEN - 1] != last)
                return block_corrupt(c, b, "doc ids disagree with skip");
        }
        fts_unpack128(c->tfs, p + 2 + 16 * db, tb);
        fts_plus_one128(c->tfs);
    } else {
        struct rd rd = rd_make(c->data + start, end - start);
        uint64_t doc = next;

        for (uint32_t i = 0; i < n; i++) {
            uint64_t v, tf = 1;
            if (rd_uvarint(&rd, &v) ||
                (!(v & 1) && (rd_uvarint(&rd, &tf) || tf > UINT32_MAX - 2)))
                return block_corrupt(c, b, "truncated");
            if (!(v & 1))
                tf += 2;
            doc += (i > 0) + (v >> 1);
            if (doc > last)
                return block_corrupt(c, b, "doc ids disagree with skip");
            c->docs[i] = (uint32_t)doc;
            c->tfs[i] = (uint32_t)tf;
        }
        if (doc != last || rd_left(&rd) != 0)
            return block_corrupt(c, b, "doc ids disagree with skip");
    }
    c->decoded = b;
    c->n = n;
    c->pos = 0;
    return INFINO_OK;
}

uint32_t fts_cursor_find_block(const struct fts_cursor *c, uint32_t from,
                               uint32_t target)
{
    uint32_t lo, hi, step = 1;

    if (from >= c->n_blocks || fts_skip_last(c, from) >= target)
        return from;
    /* gallop: last(lo) < target; find hi with last(hi) >= target */
    lo = from;
    for (;;) {
        hi = lo + step;
        if (hi >= c->n_blocks) {
            hi = c->n_blocks;
            break;
        }
        if (fts_skip_last(c, hi) >= target)
            break;
        lo = hi;
        step *= 2;
    }
    /* first block in (lo, hi] with last >= target; hi == n_blocks: none
     * beyond hi - 1 unless found */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (fts_skip_last(c, mid) >= target)
            hi = mid;
        else
            lo = mid;
    }
    return hi;
}

infino_status fts_cursor_seek_slow(struct fts_cursor *c, uint32_t target)
{
    uint32_t b, pos;
    infino_status st;

    if (c->decoded == c->blk && c->blk < c->n_blocks && c->doc >= target)
        return INFINO_OK;
    b = fts_cursor_find_block(c, c->blk, target);
    c->blk = b;
    if (b >= c->n_blocks) {
        c->doc = FTS_NO_DOC;
        return INFINO_OK;
    }
    pos = 0;
    if (c->decoded == b)
        pos = c->pos;
    else
        CHECK(decode_block(c, b));
    /* docs[n - 1] == last(b) >= target bounds both searches */
    if (pos + 8 < c->n && c->docs[pos + 8] < target) {
        uint32_t lo = pos + 8, hi = c->n - 1; /* docs[lo] < t <= docs[hi] */
        while (hi - lo > 1) {
            uint32_t mid = lo + (hi - lo) / 2;
            if (c->docs[mid] >= target)
                hi = mid;
            else
                lo = mid;
        }
        pos = hi;
    } else {
        while (c->docs[pos] < target)
            pos++;
    }
    c->pos = pos;
    c->doc = c->docs[pos];
    return INFINO_OK;
fail:
    c->blk = c->n_blocks;
    c->doc = FTS_NO_DOC;
    return st;
}

infino_status fts_cursor_contains(struct fts_cursor *c, uint32_t target,
                                  bool *out)
{
    infino_status st;
    uint32_t b;

    if (c->decoded == c->blk && c->blk < c->n_blocks && c->doc >= target) {
        *out = c->doc == target;
        return INFINO_OK;
    }
    b = fts_cursor_find_block(c, c->blk, target);
    if (b >= c->n_blocks) {
        c->blk = c->n_blocks;
        c->doc = FTS_NO_DOC;
        *out = false;
        return INFINO_OK;
    }
    if (b != c->decoded && c->data != NULL &&
        (b + 1 < c->n_blocks || c->df % FTS_BLOCK_LEN == 0) &&
        fts_skip_last(c, b) - fts_skip_first(c, b) == FTS_BLOCK_LEN - 1) {
        /* 128 postings on 128 consecutive ids: every id is there */
        c->blk = b;
        *out = target >= fts_skip_first(c, b);
        return INFINO_OK;
    }
    CHECK(fts_cursor_seek(c, target));
    *out = c->doc == target;
    return INFINO_OK;
fail:
    return st;
}

infino_status fts_cursor_next(struct fts_cursor *c)
{
    infino_status st;

    if (c->decoded != c->blk)
        return c->blk < c->n_blocks ? fts_cursor_seek(c, 0) : INFINO_OK;
    if (++c->pos < c->n) {
        c->doc = c->docs[c->pos];
        return INFINO_OK;
    }
    if (++c->blk >= c->n_blocks) {
        c->blk = c->n_blocks;
        c->doc = FTS_NO_DOC;
        return INFINO_OK;
    }
    CHECK(decode_block(c, c->blk));
    c->doc = c->docs[0];
    return INFINO_OK;
fail:
    c->blk = c->n_blocks;
    c->doc = FTS_NO_DOC;
    return st;
}

infino_status fts_reader_postings(const struct fts_reader *r,
                                  const struct fts_term_info *info,
                                  fts_posting_fn fn, void *payload)
{
    struct fts_cursor *c = mem_alloc(sizeof *c);
    infino_status st;

    if (c == NULL)
        return err_nomem();
    CHECK(fts_cursor_open(c, r, info));
    CHECK(fts_cursor_seek(c, 0));
    while (c->doc != FTS_NO_DOC) {
        CHECK(fn(c->doc, fts_cursor_tf(c), payload));
        CHECK(fts_cursor_next(c));
    }
    mem_free(c);
    return INFINO_OK;
fail:
    mem_free(c);
    return st;
}
