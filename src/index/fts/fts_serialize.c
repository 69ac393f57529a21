/*
 * fts_serialize.c - streams one region (FORMAT.md) into a store sink.
 *
 * Terms arrive sorted with their postings. Each term's postings record is
 * written as soon as it is complete, so the postings section streams;
 * the dictionary, its block index and the summary hashes are small enough
 * to collect in memory and follow it. Section offsets and the CRC-32C go
 * into a fixed-size trailer, so nothing is written twice or patched.
 */
#include "fts_int.h"

#include "util/alloc.h"
#include "util/crc32c.h"
#include "util/err.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

/* 0: the current versions; else 3 or 4 (fts_test_write_version) */
static _Atomic uint32_t write_version;

void fts_test_write_version(uint32_t version)
{
    atomic_store(&write_version,
                 version == 3 || version == 4 ? version : 0u);
}

struct fts_ser {
    struct store_sink *sink; /* borrowed */
    uint32_t crc;
    uint64_t pos;      /* bytes written since the region's start */
    uint64_t post_len; /* bytes of the postings section so far */
    struct buf rec;    /* one term's postings record */
    struct buf dict;   /* dictionary blocks */
    struct buf index;  /* dictionary block index */
    struct buf hashes; /* uint64_t per term, for the summary */
    struct buf corners; /* scratch: uint32_t (tf, dl) per block */
    struct buf impacts; /* scratch: the corners, reduced */
    double avgdl;       /* the region's own, for choosing impacts */
    uint64_t n_terms;
    struct buf prev;  /* the last term added */
    struct buf first; /* the first term, as much as a summary keeps */
    uint32_t version;   /* written */
    bool positions;     /* version 5: positions in the postings */
    bool checks_done;   /* past the bytes the chunks cover */
    uint32_t chunk_crc; /* CRC-32C of the current chunk so far */
    struct buf chunks;  /* u32 CRC-32C of each completed chunk */
    bool broken; /* a write failed: the region is unusable */
};

/* Adds p[0..n) to the per-chunk CRCs (FORMAT.md "Checks"). */
static infino_status chunk_crcs(struct fts_ser *s, const uint8_t *p, size_t n)
{
    const uint64_t size = (uint64_t)1 << FTS_CHUNK_SHIFT;
    uint64_t pos = s->pos;
    infino_status st;

    while (n > 0) {
        uint64_t room = size - (pos & (size - 1));
        size_t m = n < room ? n : (size_t)room;
        s->chunk_crc = crc32c_extend(s->chunk_crc, p, m);
        p += m;
        n -= m;
        pos += m;
        if ((pos & (size - 1)) == 0) {
            CHECK(buf_put_u32le(&s->chunks, s->chunk_crc));
            s->chunk_crc = 0;
        }
    }
    return INFINO_OK;
fail:
    return st;
}

static infino_status emit(struct fts_ser *s, const void *p, size_t n)
{
    infino_status st = store_sink_write(s->sink, p, n);

    if (st == INFINO_OK && !s->checks_done)
        st = chunk_crcs(s, p, n);
    if (st != INFINO_OK) {
        s->broken = true;
        return st;
    }
    s->crc = crc32c_extend(s->crc, p, n);
    s->pos += n;
    return INFINO_OK;
}

infino_status fts_ser_begin(struct fts_ser **out, struct store_sink *sink,
                            double avgdl, bool positions)
{
    uint8_t hdr[FTS_HEADER_LEN] = {0};
    struct fts_ser *s;
    infino_status st;

    *out = NULL;
    s = mem_calloc(1, sizeof *s);
    if (s == NULL)
        return err_nomem();
    s->sink = sink;
    s->avgdl = avgdl > 0 ? avgdl : 1.0;
    s->version = atomic_load(&write_version);
    if (s->version == 0) {
        const char *env = getenv("INFINO_FTS_FORMAT"); /* tests */
        if (env != NULL && strcmp(env, "3") == 0)
            s->version = 3;
        else if (env != NULL && strcmp(env, "4") == 0)
            s->version = 4;
        else
            s->version = positions ? FTS_FORMAT_VERSION_POSITIONS
                                   : FTS_FORMAT_VERSION;
    }
    s->positions = s->version == FTS_FORMAT_VERSION_POSITIONS;
    s->checks_done = s->version < 4;
    memcpy(hdr, FTS_MAGIC, 8);
    store_u32le(hdr + 8, s->version);
    store_u32le(hdr + 12, s->positions ? FTS_FLAG_POSITIONS : 0);
    st = emit(s, hdr, sizeof hdr);
    if (st != INFINO_OK) {
        fts_ser_free(s);
        return st;
    }
    *out = s;
    return INFINO_OK;
}

uint32_t fts_format_version(void)
{
    return FTS_FORMAT_VERSION_MAX;
}

bool fts_ser_positions(const struct fts_ser *s)
{
    return s->positions;
}

bool fts_format_checks_chunks(uint32_t version)
{
    return version >= 4 && version <= FTS_FORMAT_VERSION_MAX;
}

void fts_ser_free(struct fts_ser *s)
{
    if (s == NULL)
        return;
    buf_free(&s->rec);
    buf_free(&s->dict);
    buf_free(&s->index);
    buf_free(&s->hashes);
    buf_free(&s->corners);
    buf_free(&s->impacts);
    buf_free(&s->prev);
    buf_free(&s->first);
    buf_free(&s->chunks);
    mem_free(s);
}

static int cmp_corner(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;

    /* dl ascending, then tf descending */
    if (x[1] != y[1])
        return x[1] < y[1] ? -1 : 1;
    if (x[0] != y[0])
        return x[0] > y[0] ? -1 : 1;
    return 0;
}

/* Score shape of a (tf, dl) bound at a reference avgdl of 1 x the average:
 * used only to choose which bound points to merge. */
static double shape(uint32_t tf, uint32_t dl, double avgdl)
{
    double t = tf;
    return t / (t + FTS_K1 * (1 - FTS_B + FTS_B * (double)dl / avgdl));
}

/* Reduces the block corners (tf, dl) to at most FTS_MAX_IMPACTS points
 * such that every corner is dominated (tf <=, dl >=) by some point. The
 * Pareto frontier has increasing dl and tf; merging neighbours i, i+1
 * into (tf[i+1], dl[i]) dominates both. We merge the pair that raises the
 * bound the least at the region's own average length. */
static size_t reduce_impacts(uint32_t *c, size_t n, double avgdl)
{
    size_t m = 0;

    qsort(c, n, 2 * sizeof(uint32_t), cmp_corner);
    for (size_t i = 0; i < n; i++) {
        if (m > 0 && c[2 * (m - 1)] >= c[2 * i])
            continue; /* dominated by a kept point with smaller dl */
        c[2 * m] = c[2 * i];
        c[2 * m + 1] = c[2 * i + 1];
        m++;
    }
    while (m > FTS_MAX_IMPACTS) {
        size_t best = 0;
        double best_cost = 0;
        for (size_t i = 0; i + 1 < m; i++) {
            double merged = shape(c[2 * i + 2], c[2 * i + 1], avgdl);
            double cost = merged - shape(c[2 * i + 2], c[2 * i + 3], avgdl);
            if (i == 0 || cost < best_cost) {
                best = i;
                best_cost = cost;
            }
        }
        c[2 * best] = c[2 * best + 2]; /* (tf[i+1], dl[i]) */
        memmove(c + 2 * (best + 1), c + 2 * (best + 2),
                (m - best - 2) * 2 * sizeof(uint32_t));
        m--;
    }
    return m;
}

static infino_status put_uvarint(struct buf *b, uint64_t v)
{
    return buf_put_uvarint(b, v);
}

/* Appends one block: 128 postings bit-packed, or the short last block as
 * varints. `prev` is the doc before docs[0] (FTS_NO_DOC for none). */
static infino_status put_block(struct buf *b, const uint32_t *docs,
                               const uint32_t *tfs, size_t n, uint32_t prev)
{
    uint32_t gaps[FTS_BLOCK_LEN], tf1[FTS_BLOCK_LEN];
    uint32_t gor = 0, tor = 0;
    unsigned db, tb;
    infino_status st;

    for (size_t i = 0; i < n; i++) {
        gaps[i] = docs[i] - prev - 1; /* modulo 2^32: prev may be -1 */
        tf1[i] = tfs[i] - 1;
        prev = docs[i];
    }
    if (n < FTS_BLOCK_LEN) {
        for (size_t i = 0; i < n; i++) {
            CHECK(put_uvarint(b, (uint64_t)gaps[i] << 1 | (tf1[i] == 0)));
            if (tf1[i] != 0)
                CHECK(put_uvarint(b, tf1[i] - 1));
        }
        return INFINO_OK;
    }
    for (size_t i = 0; i < n; i++) {
        gor |= gaps[i];
        tor |= tf1[i];
    }
    db = fts_bit_width(gor);
    tb = fts_bit_width(tor);
    CHECK(buf_reserve(b, 2 + 16 * (size_t)(db + tb)));
    b->data[b->len++] = (uint8_t)db;
    b->data[b->len++] = (uint8_t)tb;
    fts_pack128(b->data + b->len, gaps, db);
    b->len += 16 * (size_t)db;
    fts_pack128(b->data + b->len, tf1, tb);
    b->len += 16 * (size_t)tb;
    return INFINO_OK;
fail:
    return st;
}

/* Appends the positions table and data of a record (FORMAT.md
 * "Positions"): per block the end of its postings' positions bytes,
 * then the bytes, which the caller encoded per posting. */
static infino_status put_positions(struct buf *b, uint32_t df,
                                   const uint8_t *pos, const uint64_t *pos_end)
{
    uint32_t n_blocks = (df - 1) / FTS_BLOCK_LEN + 1;
    infino_status st;

    if (pos_end[df - 1] > UINT32_MAX)
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "positions of one term exceed 4 GiB");
    for (uint32_t blk = 0; blk < n_blocks; blk++) {
        uint32_t hi = df - blk * FTS_BLOCK_LEN < FTS_BLOCK_LEN
                          ? df
                          : (blk + 1) * FTS_BLOCK_LEN;
        CHECK(buf_put_u32le(b, (uint32_t)pos_end[hi - 1]));
    }
    CHECK(buf_append(b, pos, (size_t)pos_end[df - 1]));
    return INFINO_OK;
fail:
    return st;
}

/* Builds the postings record of a term with df >= 2 in s->rec:
 * impacts, skip table, blocks (FORMAT.md "Postings record"), then the
 * positions when the region has them. */
static infino_status build_record(struct fts_ser *s, const uint32_t *docs,
                                  const uint32_t *tfs, uint32_t df,
                                  const uint32_t *doc_lens,
                                  const uint8_t *pos, const uint64_t *pos_end)
{
    uint32_t n_blocks = (df - 1) / FTS_BLOCK_LEN + 1;
    size_t corner_bytes = (size_t)n_blocks * 2 * sizeof(uint32_t);
    uint32_t *corners, *imp;
    size_t skip_at, data_at, n_imp;
    infino_status st;

    buf_reset(&s->rec);
    buf_reset(&s->corners);
    buf_reset(&s->impacts);
    CHECK(buf_reserve(&s->corners, corner_bytes));
    CHECK(buf_reserve(&s->impacts, corner_bytes));
    corners = (uint32_t *)(void *)s->corners.data;
    imp = (uint32_t *)(void *)s->impacts.data;
    for (uint32_t b = 0; b < n_blocks; b++) {
        uint32_t lo = b * FTS_BLOCK_LEN;
        uint32_t hi = df - lo < FTS_BLOCK_LEN ? df : lo + FTS_BLOCK_LEN;
        uint32_t max_tf = 0, min_dl = UINT32_MAX;
        for (uint32_t i = lo; i < hi; i++) {
            if (tfs[i] > max_tf)
                max_tf = tfs[i];
            if (doc_lens[docs[i]] < min_dl)
                min_dl = doc_lens[docs[i]];
        }
        corners[2 * b] = max_tf;
        corners[2 * b + 1] = min_dl;
    }
    memcpy(imp, corners, corner_bytes);
    n_imp = reduce_impacts(imp, n_blocks, s->avgdl);

    CHECK(buf_put_u8(&s->rec, (uint8_t)n_imp));
    for (size_t i = 0; i < n_imp; i++) {
        CHECK(put_uvarint(&s->rec, imp[2 * i]));
        CHECK(put_uvarint(&s->rec, imp[2 * i + 1]));
    }
    skip_at = s->rec.len;
    CHECK(buf_append_zeros(&s->rec, (size_t)n_blocks * FTS_SKIP_ENTRY_LEN));
    data_at = s->rec.len;
    for (uint32_t b = 0; b < n_blocks; b++) {
        uint32_t lo = b * FTS_BLOCK_LEN;
        uint32_t hi = df - lo < FTS_BLOCK_LEN ? df : lo + FTS_BLOCK_LEN;
        uint32_t prev = b == 0 ? FTS_NO_DOC : docs[lo - 1];
        uint8_t *e;

        CHECK(put_block(&s->rec, docs + lo, tfs + lo, hi - lo, prev));
        if (s->rec.len - data_at > UINT32_MAX) {
            st = err_set(INFINO_ERR_UNSUPPORTED,
                         "postings of one term exceed 4 GiB");
            goto fail;
        }
        e = s->rec.data + skip_at + (size_t)b * FTS_SKIP_ENTRY_LEN;
        store_u32le(e, docs[hi - 1]);
        store_u32le(e + 4, (uint32_t)(s->rec.len - data_at));
        store_u32le(e + 8, corners[2 * b]);
        store_u32le(e + 12, corners[2 * b + 1]);
    }
    if (s->positions)
        CHECK(put_positions(&s->rec, df, pos, pos_end));
    return INFINO_OK;
fail:
    return st;
}

static size_t common_prefix(const uint8_t *a, size_t na, const uint8_t *b,
                            size_t nb)
{
    size_t i = 0, n = na < nb ? na : nb;

    while (i < n && a[i] == b[i])
        i++;
    return i;
}

infino_status fts_ser_add_term(struct fts_ser *s, const uint8_t *term,
                               size_t len, const uint32_t *docs,
                               const uint32_t *tfs, uint32_t df,
                               const uint32_t *doc_lens, const uint8_t *pos,
                               const uint64_t *pos_end)
{
    uint64_t total_tf = 0, h;
    size_t pre = 0;
    infino_status st;

    if (s->broken)
        return err_set(INFINO_ERR_INVALID, "region writer failed earlier");
    if (len == 0 || df == 0)
        return err_set(INFINO_ERR_INVALID, "bad term (length %zu, df %u)",
                       len, (unsigned)df);
    if (s->positions && (pos_end == NULL || (pos == NULL && pos_end[df - 1])))
        return err_set(INFINO_ERR_INVALID, "term without its positions");
    if (s->n_terms > 0) {
        size_t prev_len = s->prev.len;
        int c = memcmp(term, s->prev.data, len < prev_len ? len : prev_len);
        if (c < 0 || (c == 0 && len <= prev_len))
            return err_set(INFINO_ERR_INVALID, "terms out of order");
    }
    for (uint32_t i = 0; i < df; i++)
        total_tf += tfs[i];

    if (s->n_terms % FTS_DICT_BLOCK_TERMS == 0) {
        uint8_t e[FTS_INDEX_ENTRY_LEN_V4];
        store_u64le(e, s->dict.len);
        store_u64le(e + 8, s->post_len);
        store_u64le(e + 16, fts_term_key(term, len));
        CHECK(buf_append(&s->index, e,
                         s->version >= 4 ? FTS_INDEX_ENTRY_LEN_V4
                                         : FTS_INDEX_ENTRY_LEN));
    } else if (len <= FTS_FRONT_CODED_MAX) {
        /* pre <= len fits the u8 */
        pre = common_prefix(s->prev.data, s->prev.len, term, len);
    }
    CHECK(buf_put_u8(&s->dict, (uint8_t)pre));
    CHECK(put_uvarint(&s->dict, len - pre));
    CHECK(buf_append(&s->dict, term + pre, len - pre));
    CHECK(put_uvarint(&s->dict, df));
    if (df == 1) {
        CHECK(put_uvarint(&s->dict, docs[0]));
        CHECK(put_uvarint(&s->dict, tfs[0] - 1));
        if (s->positions) { /* the posting's positions, in the postings */
            CHECK(put_uvarint(&s->dict, pos_end[0]));
            CHECK(emit(s, pos, (size_t)pos_end[0]));
            s->post_len += pos_end[0];
        }
    } else {
        CHECK(build_record(s, docs, tfs, df, doc_lens, pos, pos_end));
        CHECK(emit(s, s->rec.data, s->rec.len));
        s->post_len += s->rec.len;
        CHECK(put_uvarint(&s->dict, total_tf - df));
        CHECK(put_uvarint(&s->dict, s->rec.len));
    }
    h = fts_term_hash(term, len);
    CHECK(buf_append(&s->hashes, &h, sizeof h));
    if (s->n_terms == 0)
        CHECK(buf_append(&s->first, term,
                         len < FTS_SUMMARY_MAX_TERM ? len
                                                    : FTS_SUMMARY_MAX_TERM));
    buf_reset(&s->prev);
    CHECK(buf_append(&s->prev, term, len));
    s->n_terms++;
    return INFINO_OK;
fail:
    /* a partial dictionary entry may remain: the region is unusable */
    s->broken = true;
    return st;
}

/* Writes the doc lengths at the narrowest width that holds them all. */
static infino_status put_doc_lens(struct fts_ser *s, const uint32_t *doc_lens,
                                  uint32_t n_docs, unsigned width)
{
    uint8_t chunk[4096];
    size_t fill = 0;
    infino_status st;

    for (uint32_t d = 0; d < n_docs; d++) {
        if (fill + width > sizeof chunk) {
            CHECK(emit(s, chunk, fill));
            fill = 0;
        }
        if (width == 1)
            chunk[fill] = (uint8_t)doc_lens[d];
        else if (width == 2)
            store_u16le(chunk + fill, (uint16_t)doc_lens[d]);
        else
            store_u32le(chunk + fill, doc_lens[d]);
        fill += width;
    }
    if (fill > 0)
        CHECK(emit(s, chunk, fill));
    return INFINO_OK;
fail:
    return st;
}

infino_status fts_ser_finish(struct fts_ser *s, const uint32_t *doc_lens,
                             uint32_t n_docs, const struct fts_analysis_id *an,
                             struct fts_region_info *info,
                             struct buf *summary_out)
{
    uint8_t tr[FTS_TRAILER_LEN] = {0};
    uint8_t ck[FTS_CHECKS_HEADER_LEN] = {0};
    struct buf summary = {0};
    uint32_t n_scored = 0;
    uint64_t total = 0, dict_off, index_off, dl_off, sum_off;
    uint32_t max_dl = 0;
    unsigned width;
    infino_status st;

    if (s->broken) {
        st = err_set(INFINO_ERR_INVALID, "region writer failed earlier");
        goto fail;
    }
    for (uint32_t d = 0; d < n_docs; d++) {
        total += doc_lens[d];
        n_scored += doc_lens[d] != 0;
        if (doc_lens[d] > max_dl)
            max_dl = doc_lens[d];
    }
    width = max_dl <= UINT8_MAX ? 1 : max_dl <= UINT16_MAX ? 2 : 4;
    CHECK(fts_summary_build(&summary, (const uint64_t *)(void *)s->hashes.data,
                            s->n_terms, s->first.data, s->first.len,
                            s->prev.data, s->prev.len));

    dict_off = s->pos;
    CHECK(emit(s, s->dict.data, s->dict.len));
    index_off = s->pos;
    CHECK(emit(s, s->index.data, s->index.len));
    dl_off = s->pos;
    CHECK(put_doc_lens(s, doc_lens, n_docs, width));
    sum_off = s->pos;
    CHECK(emit(s, summary.data, summary.len));
    /* checks: the last partial chunk, then the section and the trailer
     * under the tail CRC (FORMAT.md "Checks") */
    if (!s->checks_done && (s->pos & (((uint64_t)1 << FTS_CHUNK_SHIFT) - 1)))
        CHECK(buf_put_u32le(&s->chunks, s->chunk_crc));

    store_u32le(tr + TR_N_DOCS, n_docs);
    tr[TR_DL_WIDTH] = (uint8_t)width;
    store_u64le(tr + TR_TOTAL_TOKENS, total);
    store_u64le(tr + TR_N_TERMS, s->n_terms);
    store_u64le(tr + TR_POST_OFF, FTS_HEADER_LEN);
    store_u64le(tr + TR_POST_LEN, s->post_len);
    store_u64le(tr + TR_DICT_OFF, dict_off);
    store_u64le(tr + TR_DICT_LEN, s->dict.len);
    store_u64le(tr + TR_INDEX_OFF, index_off);
    store_u64le(tr + TR_INDEX_LEN, s->index.len);
    store_u64le(tr + TR_DL_OFF, dl_off);
    store_u64le(tr + TR_DL_LEN, sum_off - dl_off);
    store_u64le(tr + TR_SUMMARY_OFF, sum_off);
    store_u64le(tr + TR_SUMMARY_LEN, summary.len);
    store_u32le(tr + TR_MAX_DL, max_dl);
    tr[TR_AN_BASE] = an->base;
    tr[TR_AN_STEMMER] = an->stemmer;
    tr[TR_AN_STOP] = an->stop_lang;
    store_u32le(tr + TR_AN_STOP_CRC, an->stop_crc);
    memcpy(tr + TR_MAGIC, FTS_TRAILER_MAGIC, 8);
    ck[4] = FTS_CHUNK_SHIFT;
    store_u32le(ck + 8, n_scored);
    store_u32le(ck, crc32c_extend(crc32c_extend(crc32c(ck + 4, 12),
                                                s->chunks.data,
                                                s->chunks.len),
                                  tr, TR_CRC));
    if (s->version >= 4) {
        s->checks_done = true;
        CHECK(emit(s, ck, sizeof ck));
        CHECK(emit(s, s->chunks.data, s->chunks.len));
    }
    CHECK(emit(s, tr, TR_CRC));
    store_u32le(tr + TR_CRC, s->crc);
    CHECK(emit(s, tr + TR_CRC, 4));

    if (summary_out != NULL)
        CHECK(buf_append(summary_out, summary.data, summary.len));
    if (info != NULL) {
        info->len = s->pos;
        info->n_docs = n_docs;
        info->n_terms = s->n_terms;
        info->total_tokens = total;
    }
    buf_free(&summary);
    return INFINO_OK;
fail:
    s->broken = true;
    buf_free(&summary);
    return st;
}
