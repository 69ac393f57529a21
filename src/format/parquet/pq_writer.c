/*
 * pq_writer.c - the streaming Parquet writer (the writer half of
 * parquet.h).
 *
 * Each leaf column owns the page being built (levels, values or
 * dictionary indexes) and the encoded pages of the open row group. Rows
 * go in as slices of the incoming batch; a page is cut when its encoded
 * size reaches page_bytes, and the row group is written out (dictionary
 * page first, then the data pages, column after column) when it reaches
 * row_group_rows or row_group_bytes. So memory holds about one row group
 * of encoded pages, never the file. Those pages are compressed straight
 * into segments kept from one row group to the next (struct chunk_buf),
 * so after encoding a page is copied once: into the sink. Each page also
 * leaves its location, first row and bounds behind for the page index
 * (PageIndex.md), which pq_writer_end_data() writes after the last row
 * group. The footer (parquet.thrift FileMetaData) is built from the row
 * groups' metadata at the end.
 */
#include "parquet.h"
#include "pq_codec.h"
#include "pq_encode.h"
#include "pq_meta.h"
#include "pq_schema.h"

#include "util/alloc.h"
#include "util/arena.h"
#include "util/base64.h"
#include "util/compat.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/hugepage.h"

#include <assert.h>
#include <string.h>

#define CREATED_BY "infino version " INFINO_VERSION_STRING
/* Rows per slice are capped so one column's slice stays cache-sized. */
#define MAX_SLICE_ROWS 65536
/* Pages are cut before their level count nears Thrift's i32 fields. */
#define MAX_PAGE_LEVELS (INT32_MAX / 2)

/* Segments of a column chunk start at SEG_MIN bytes (or one page) and
 * double up to SEG_MAX: small columns stay small, large ones are written
 * in a few large pieces. */
#define SEG_MIN ((size_t)64 << 10)
#define SEG_MAX ((size_t)8 << 20)

/* One piece of a column chunk: bytes [0, len) are pages, back to back. */
struct seg {
    uint8_t *p; /* owned */
    size_t len;
    size_t cap;
};

/* The encoded data pages of one column chunk of the open row group, back
 * to back over a list of segments. Segments never move: a page is
 * compressed in place when the open segment has room for it (otherwise
 * it is compressed aside and appended, filling that segment), nothing is
 * copied as the chunk grows, no allocation is larger than a segment, and
 * no segment but the last has unused bytes. Segments stay allocated for
 * the next row group, so their memory is faulted in once per writer. */
struct chunk_buf {
    struct seg *segs; /* owned; segs[0, n_used) hold the chunk */
    size_t n_used;
    size_t n_segs;    /* allocated; those past n_used are empty */
    size_t segs_cap;
    uint64_t len; /* bytes in all segments */
};

/* A piece of a page body (levels, their lengths, values). */
struct piece {
    const uint8_t *p;
    size_t len;
};

/* One data page of the open column chunk, for its page index. */
struct pidx_page {
    uint64_t at;       /* page header offset within pq_col.chunk */
    int32_t len;       /* header + body */
    int64_t first_row; /* within the row group */
    int64_t null_count;
    bool null_page;    /* no non-null value: empty bounds */
    size_t min_at, min_len, max_at, max_len; /* in pq_col.bounds */
};

struct pq_col {
    const struct pq_leaf *leaf; /* borrowed from the writer's schema */
    struct pq_shape shape;
    struct pq_value_enc venc;
    bool is_bytes; /* BYTE_ARRAY leaf */
    bool large;    /* ... with int64 offsets */
    int width;     /* PLAIN bytes per value of fixed-width leaves */
    uint32_t page_bytes; /* target page size of this column */
    enum pq_codec codec; /* compression of this column's pages */
    bool dict_on;  /* this chunk still dictionary-encodes its pages */
    struct pq_dict dict;

    /* the page being built */
    struct buf idx;  /* dictionary indexes (uint32) while dict_on */
    struct buf vals; /* PLAIN values otherwise */
    struct buf def, rep;
    struct pq_rle_enc def_enc, rep_enc;
    struct pq_shred shred;
    int64_t page_levels, page_present, page_rows;
    struct pq_stats_acc page_stats;

    /* the column chunk of the open row group */
    struct chunk_buf chunk; /* data pages: header + body each */
    size_t last_clen;       /* compressed body of the last page */
    int64_t chunk_levels;
    int64_t chunk_raw; /* uncompressed size of the data pages */
    int32_t n_dict_pages, n_plain_pages;
    struct pq_stats_acc chunk_stats;
    int64_t chunk_rows;

    /* the chunk's page index */
    struct pidx_page *pidx; /* owned */
    size_t n_pidx, pidx_cap;
    struct buf bounds; /* page min/max bytes */
    bool ci_ok;        /* every page has bounds or holds only nulls */
};

struct pq_writer {
    struct store_sink *sink; /* borrowed */
    struct pq_write_opts opts;
    struct ar_schema schema;  /* owned copy */
    struct pq_schema pschema; /* owned; leaves point into `schema` */
    size_t n_cols;
    struct pq_col *cols; /* owned */
    struct buf page, comp, hdr; /* page assembly scratch */
    struct arena meta;          /* footer-lifetime allocations */
    struct pq_row_group *rgs;   /* owned */
    size_t n_rgs, rgs_cap;
    struct pq_kv *kvs; /* owned; bytes in `meta` */
    size_t n_kvs, kvs_cap;
    /* Encoded page indexes of the row groups so far; the column chunks
     * hold offsets relative to these buffers until pq_writer_end_data()
     * writes them and makes the offsets absolute. */
    struct buf col_index, off_index;
    int64_t rg_rows;
    int64_t num_rows;
    uint64_t flushed_bytes; /* row group bytes already in the sink */
    bool data_ended;
    bool finished;
    bool failed; /* a write failed: the file is unusable */
};

/* ---- small helpers ------------------------------------------------------ */

static infino_status check_i32(int64_t v, const char *what)
{
    if (v > INT32_MAX)
        return err_set(INFINO_ERR_INVALID,
                       "%s of %lld bytes exceeds Parquet's 2 GiB page limit",
                       what, (long long)v);
    return INFINO_OK;
}

static infino_status sink_put(struct pq_writer *w, const void *p, size_t n)
{
    return n ? store_sink_write(w->sink, p, n) : INFINO_OK;
}

static infino_status value_kind(struct pq_col *c, const struct ar_field *v)
{
    c->venc.kind = PQ_VK_COPY4;
    c->width = 4;
    switch (v->type) {
    case AR_BOOL:
        c->venc.kind = PQ_VK_BOOL;
        c->width = 1;
        break;
    case AR_INT8:
        c->venc.kind = PQ_VK_I8;
        break;
    case AR_INT16:
        c->venc.kind = PQ_VK_I16;
        break;
    case AR_UINT8:
        c->venc.kind = PQ_VK_U8;
        break;
    case AR_UINT16:
        c->venc.kind = PQ_VK_U16;
        break;
    case AR_INT32:
    case AR_UINT32:
    case AR_DATE32:
    case AR_FLOAT32:
        break;
    case AR_INT64:
    case AR_UINT64:
    case AR_FLOAT64:
        c->venc.kind = PQ_VK_COPY8;
        c->width = 8;
        break;
    case AR_TIMESTAMP:
        c->venc.kind = v->unit == AR_SECOND ? PQ_VK_MUL1000 : PQ_VK_COPY8;
        c->width = 8;
        break;
    case AR_UTF8:
    case AR_BINARY:
        c->venc.kind = PQ_VK_BYTES32;
        c->is_bytes = true;
        break;
    case AR_LARGE_UTF8:
    case AR_LARGE_BINARY:
        c->venc.kind = PQ_VK_BYTES64;
        c->is_bytes = true;
        c->large = true;
        break;
    case AR_DECIMAL128:
        c->venc.kind = PQ_VK_DECIMAL;
        c->venc.flba_len = c->leaf->type_length;
        c->width = c->leaf->type_length;
        if (c->width < 1 || c->width > 16)
            return err_set(INFINO_ERR_UNSUPPORTED, "field '%s': decimal width",
                           v->name);
        break;
    default:
        return err_set(INFINO_ERR_UNSUPPORTED, "field '%s': type %d",
                       v->name, (int)v->type);
    }
    return INFINO_OK;
}

/* ---- column chunk bytes ------------------------------------------------ */

/* Opens the next segment of the chunk, with room for at least `need`
 * bytes: a kept one when it is large enough, else a new one (twice the
 * size of the one before, up to SEG_MAX, or `need` when that is more). */
static infino_status chunk_buf_next(struct chunk_buf *cb, size_t need)
{
    const struct seg *prev = cb->n_used ? &cb->segs[cb->n_used - 1] : NULL;
    size_t cap = prev ? MIN(SEG_MAX, 2 * prev->cap) : SEG_MIN;
    struct seg *s;

    if (cb->n_used == cb->n_segs) {
        if (MEM_RESERVE(cb->segs, cb->segs_cap, cb->n_segs + 1))
            return err_nomem();
        memset(&cb->segs[cb->n_segs], 0, sizeof *cb->segs);
        cb->n_segs++;
    }
    s = &cb->segs[cb->n_used];
    if (s->cap < need || s->cap == 0) {
        uint8_t *p;
        cap = MAX(cap, need);
        if ((p = mem_alloc(cap)) == NULL)
            return err_nomem();
        hugepage_advise(p, cap);
        mem_free(s->p);
        s->p = p;
        s->cap = cap;
    }
    s->len = 0;
    cb->n_used++;
    return INFINO_OK;
}

/* Sets *out to `need` free bytes at the end of the chunk in one piece, to
 * be filled and then added with chunk_buf_commit(): in the open segment,
 * or in the next one when the open one is full (or there is none). When
 * the open segment has some room but less than `need`, *out is NULL: the
 * caller writes elsewhere and appends (chunk_buf_append), so no segment
 * is left with a gap. */
static infino_status chunk_buf_room(struct chunk_buf *cb, size_t need,
                                    uint8_t **out)
{
    struct seg *s = cb->n_used ? &cb->segs[cb->n_used - 1] : NULL;
    infino_status st;

    *out = NULL;
    if (s != NULL && s->cap - s->len >= need) {
        *out = s->p + s->len;
        return INFINO_OK;
    }
    if (s != NULL && s->len < s->cap)
        return INFINO_OK;
    if ((st = chunk_buf_next(cb, need)) != INFINO_OK)
        return st;
    *out = cb->segs[cb->n_used - 1].p;
    return INFINO_OK;
}

/* Appends `n` bytes to the chunk, filling the open segment and going on
 * in the next ones. */
static infino_status chunk_buf_append(struct chunk_buf *cb, const void *p,
                                      size_t n)
{
    const uint8_t *src = p;
    infino_status st;

    while (n > 0) {
        struct seg *s = cb->n_used ? &cb->segs[cb->n_used - 1] : NULL;
        size_t k;
        if (s == NULL || s->len == s->cap) {
            if ((st = chunk_buf_next(cb, 1)) != INFINO_OK)
                return st;
            continue;
        }
        k = MIN(n, s->cap - s->len);
        memcpy(s->p + s->len, src, k);
        s->len += k;
        cb->len += k;
        src += k;
        n -= k;
    }
    return INFINO_OK;
}

/* Adds `n` bytes, written at the place chunk_buf_room() gave, to the
 * chunk. */
static void chunk_buf_commit(struct chunk_buf *cb, size_t n)
{
    assert(cb->n_used > 0 &&
           n <= cb->segs[cb->n_used - 1].cap - cb->segs[cb->n_used - 1].len);
    cb->segs[cb->n_used - 1].len += n;
    cb->len += n;
}

/* Empties the chunk, keeping its segments. */
static void chunk_buf_reset(struct chunk_buf *cb)
{
    for (size_t i = 0; i < cb->n_used; i++)
        cb->segs[i].len = 0;
    cb->n_used = 0;
    cb->len = 0;
}

static void chunk_buf_free(struct chunk_buf *cb)
{
    for (size_t i = 0; i < cb->n_segs; i++)
        mem_free(cb->segs[i].p);
    mem_free(cb->segs);
    memset(cb, 0, sizeof *cb);
}

static void page_begin(struct pq_col *c)
{
    buf_reset(&c->idx);
    buf_reset(&c->vals);
    buf_reset(&c->def);
    buf_reset(&c->rep);
    pq_rle_enc_init(&c->def_enc, &c->def,
                    pq_bit_width((uint64_t)c->shape.max_def));
    pq_rle_enc_init(&c->rep_enc, &c->rep,
                    pq_bit_width((uint64_t)c->shape.max_rep));
    c->page_levels = c->page_present = c->page_rows = 0;
    pq_stats_reset(&c->page_stats);
}

static void col_free(struct pq_col *c)
{
    pq_dict_free(&c->dict);
    buf_free(&c->idx);
    buf_free(&c->vals);
    buf_free(&c->def);
    buf_free(&c->rep);
    pq_shred_free(&c->shred);
    pq_stats_free(&c->page_stats);
    chunk_buf_free(&c->chunk);
    pq_stats_free(&c->chunk_stats);
    mem_free(c->pidx);
    buf_free(&c->bounds);
}

/* Encoded size of the open page so far (dictionary indexes estimated at
 * the current bit width). */
static uint64_t page_size(const struct pq_col *c)
{
    uint64_t n = c->def.len + c->rep.len;

    if (c->dict_on) {
        int bw = c->dict.n_entries > 1
                     ? pq_bit_width((uint64_t)c->dict.n_entries - 1)
                     : 1;
        n += (uint64_t)(c->idx.len / 4) * (uint64_t)bw / 8;
    } else {
        n += c->vals.len;
    }
    return n;
}

/* ---- pages --------------------------------------------------------------- */

/* Writes the dictionary page of `c` (header and PLAIN body, compressed)
 * to the sink; *raw_out gets its uncompressed length with the header. */
static infino_status put_dict_page(struct pq_writer *w, struct pq_col *c,
                                   int64_t *raw_out)
{
    struct pq_page_header h;
    const struct buf *plain = &c->dict.plain;
    const uint8_t *body = plain->data;
    size_t body_len = plain->len;
    infino_status st;

    memset(&h, 0, sizeof h);
    h.type = PQ_PAGE_DICTIONARY;
    h.has_dict_page = true;
    CHECK(check_i32((int64_t)c->dict.n_entries, "a dictionary"));
    h.dict_page.num_values = (int32_t)c->dict.n_entries;
    h.dict_page.encoding = PQ_ENC_PLAIN;
    CHECK(check_i32((int64_t)body_len, "a dictionary page"));
    if (c->codec != PQ_UNCOMPRESSED) {
        buf_reset(&w->comp);
        CHECK(pq_compress(c->codec, w->opts.zstd_level, body, body_len,
                          &w->comp));
        body = w->comp.data;
        body_len = w->comp.len;
        CHECK(check_i32((int64_t)body_len, "a compressed dictionary page"));
    }
    h.uncompressed_page_size = (int32_t)plain->len;
    h.compressed_page_size = (int32_t)body_len;
    buf_reset(&w->hdr);
    CHECK(pq_meta_encode_page_header(&w->hdr, &h));
    CHECK(sink_put(w, w->hdr.data, w->hdr.len));
    CHECK(sink_put(w, body, body_len));
    *raw_out = (int64_t)w->hdr.len + h.uncompressed_page_size;
    return INFINO_OK;
fail:
    return st;
}

static size_t pieces_len(const struct piece *pc, size_t n)
{
    size_t len = 0;

    for (size_t i = 0; i < n; i++)
        len += pc[i].len;
    return len;
}

static uint8_t *pieces_copy(uint8_t *dst, const struct piece *pc, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (pc[i].len)
            memcpy(dst, pc[i].p, pc[i].len);
        dst += pc[i].len;
    }
    return dst;
}

static infino_status pieces_append(struct chunk_buf *cb,
                                   const struct piece *pc, size_t n)
{
    infino_status st = INFINO_OK;

    for (size_t i = 0; i < n && st == INFINO_OK; i++)
        st = chunk_buf_append(cb, pc[i].p, pc[i].len);
    return st;
}

/* Appends one data page to the chunk of `c`: the header `h` (sizes filled
 * in here), the `lead` pieces as they are (v2 levels), then the `body`
 * pieces compressed together (v1: levels and values; v2: values).
 *
 * The body is compressed straight into the chunk when the open segment
 * has room for the worst case. The header goes first but holds the
 * compressed size, so it is encoded for a guess (the size of the column's
 * previous page), the body compressed after it, and the header encoded
 * again; only when the two sizes have varints of different widths (a page
 * compressing very differently from the last) does the body move, by at
 * most 4 bytes. Without that room (a segment nearly full) the body is
 * compressed aside and appended. */
static infino_status put_data_page(struct pq_writer *w, struct pq_col *c,
                                   struct pq_page_header *h,
                                   const struct piece *lead, size_t n_lead,
                                   const struct piece *body, size_t n_body)
{
    size_t lead_len = pieces_len(lead, n_lead);
    size_t body_len = pieces_len(body, n_body);
    size_t bound, guess_len, clen;
    const uint8_t *src;
    uint8_t *dst;
    infino_status st;

    CHECK(check_i32((int64_t)lead_len + (int64_t)body_len, "a page"));
    h->uncompressed_page_size = (int32_t)(lead_len + body_len);
    if (c->codec == PQ_UNCOMPRESSED) {
        h->compressed_page_size = h->uncompressed_page_size;
        buf_reset(&w->hdr);
        CHECK(pq_meta_encode_page_header(&w->hdr, h));
        CHECK(chunk_buf_append(&c->chunk, w->hdr.data, w->hdr.len));
        CHECK(pieces_append(&c->chunk, lead, n_lead));
        CHECK(pieces_append(&c->chunk, body, n_body));
        return INFINO_OK;
    }
    /* The compressor wants its input in one piece. */
    if (n_body == 1) {
        src = body[0].p;
    } else {
        buf_reset(&w->page);
        CHECK(buf_reserve(&w->page, body_len));
        pieces_copy(w->page.data, body, n_body);
        w->page.len = body_len;
        src = w->page.data;
    }
    bound = pq_compress_bound(c->codec, body_len);
    if (bound == 0 || bound > (size_t)INT32_MAX - lead_len)
        CHECK(err_set(INFINO_ERR_INVALID,
                      "a page of %zu bytes is too large to compress",
                      body_len));
    h->compressed_page_size =
        (int32_t)(lead_len + (c->last_clen ? c->last_clen : body_len / 2));
    buf_reset(&w->hdr);
    CHECK(pq_meta_encode_page_header(&w->hdr, h));
    guess_len = w->hdr.len;
    /* a varint of an i32 takes 1 to 5 bytes: 4 bytes of slack */
    CHECK(chunk_buf_room(&c->chunk, guess_len + 4 + lead_len + bound, &dst));
    if (dst == NULL) {
        buf_reset(&w->comp);
        CHECK(buf_reserve(&w->comp, bound));
        CHECK(pq_compress_to(c->codec, w->opts.zstd_level, src,
                             body_len, w->comp.data, bound, &clen));
        CHECK(check_i32((int64_t)lead_len + (int64_t)clen,
                        "a compressed page"));
        h->compressed_page_size = (int32_t)(lead_len + clen);
        buf_reset(&w->hdr);
        CHECK(pq_meta_encode_page_header(&w->hdr, h));
        CHECK(chunk_buf_append(&c->chunk, w->hdr.data, w->hdr.len));
        CHECK(pieces_append(&c->chunk, lead, n_lead));
        CHECK(chunk_buf_append(&c->chunk, w->comp.data, clen));
        c->last_clen = clen;
        return INFINO_OK;
    }
    CHECK(pq_compress_to(c->codec, w->opts.zstd_level, src, body_len,
                         dst + guess_len + lead_len, bound, &clen));
    CHECK(check_i32((int64_t)lead_len + (int64_t)clen, "a compressed page"));
    h->compressed_page_size = (int32_t)(lead_len + clen);
    buf_reset(&w->hdr);
    CHECK(pq_meta_encode_page_header(&w->hdr, h));
    assert(w->hdr.len <= guess_len + 4);
    if (w->hdr.len != guess_len)
        memmove(dst + w->hdr.len + lead_len, dst + guess_len + lead_len,
                clen);
    memcpy(dst, w->hdr.data, w->hdr.len);
    pieces_copy(dst + w->hdr.len, lead, n_lead);
    chunk_buf_commit(&c->chunk, w->hdr.len + lead_len + clen);
    c->last_clen = clen;
    return INFINO_OK;
fail:
    return st;
}

/* Remembers the page just appended to the chunk at `header_at`, with its
 * statistics `stats` (zeroed when the writer keeps none), for the page
 * index. */
static infino_status note_page(struct pq_writer *w, struct pq_col *c,
                               uint64_t header_at, const struct pq_stats *stats)
{
    struct pidx_page *pg;
    uint64_t len = c->chunk.len - header_at;
    infino_status st;

    CHECK(check_i32((int64_t)len, "a page"));
    if (MEM_RESERVE(c->pidx, c->pidx_cap, c->n_pidx + 1))
        return err_nomem();
    pg = &c->pidx[c->n_pidx];
    memset(pg, 0, sizeof *pg);
    pg->at = header_at;
    pg->len = (int32_t)len;
    pg->first_row = c->chunk_rows;
    pg->null_count = stats->null_count;
    if (!w->opts.statistics) {
        c->ci_ok = false;
    } else if (stats->min_value.p != NULL && stats->max_value.p != NULL) {
        /* ColumnIndex bounds are the page statistics' min_value and
         * max_value (PageIndex.md), in the column's ColumnOrder. */
        pg->min_at = c->bounds.len;
        pg->min_len = stats->min_value.len;
        CHECK(buf_append(&c->bounds, stats->min_value.p, pg->min_len));
        pg->max_at = c->bounds.len;
        pg->max_len = stats->max_value.len;
        CHECK(buf_append(&c->bounds, stats->max_value.p, pg->max_len));
    } else if (c->page_present == 0) {
        pg->null_page = true;
    } else {
        /* values, but no usable bounds (only NaNs, or a maximum that
         * cannot be truncated): no ColumnIndex for this chunk */
        c->ci_ok = false;
    }
    c->n_pidx++;
    return INFINO_OK;
fail:
    return st;
}

/* Encodes the page index of column `c`'s chunk, whose data pages start at
 * `data_off` in the file, into the writer's buffers; *cc gets offsets
 * relative to them. */
static infino_status put_page_index(struct pq_writer *w, struct pq_col *c,
                                    uint64_t data_off,
                                    struct pq_column_chunk *cc)
{
    struct pq_page_location *locs = NULL;
    struct pq_column_index ci;
    size_t at;
    infino_status st;

    memset(&ci, 0, sizeof ci);
    if (c->n_pidx == 0)
        return INFINO_OK;
    locs = mem_calloc(c->n_pidx, sizeof *locs);
    if (locs == NULL)
        return err_nomem();
    for (size_t i = 0; i < c->n_pidx; i++) {
        locs[i].offset = (int64_t)(data_off + c->pidx[i].at);
        locs[i].compressed_page_size = c->pidx[i].len;
        locs[i].first_row_index = c->pidx[i].first_row;
    }
    {
        struct pq_offset_index oi;
        memset(&oi, 0, sizeof oi);
        oi.n_pages = c->n_pidx;
        oi.pages = locs;
        at = w->off_index.len;
        CHECK(pq_meta_encode_offset_index(&w->off_index, &oi));
        CHECK(check_i32((int64_t)(w->off_index.len - at), "an OffsetIndex"));
        cc->has_offset_index = true;
        cc->offset_index_offset = (int64_t)at;
        cc->offset_index_length = (int32_t)(w->off_index.len - at);
    }
    if (c->ci_ok) {
        static const uint8_t none[1];
        ci.n_pages = c->n_pidx;
        ci.null_pages = mem_calloc(c->n_pidx, sizeof *ci.null_pages);
        ci.min_values = mem_calloc(c->n_pidx, sizeof *ci.min_values);
        ci.max_values = mem_calloc(c->n_pidx, sizeof *ci.max_values);
        ci.null_counts = mem_calloc(c->n_pidx, sizeof *ci.null_counts);
        if (!ci.null_pages || !ci.min_values || !ci.max_values ||
            !ci.null_counts)
            CHECK(err_nomem());
        ci.boundary_order = PQ_BOUNDARY_UNORDERED;
        ci.has_null_counts = true;
        for (size_t i = 0; i < c->n_pidx; i++) {
            const struct pidx_page *pg = &c->pidx[i];
            ci.null_pages[i] = pg->null_page;
            ci.null_counts[i] = pg->null_count;
            /* parquet.thrift ColumnIndex: null pages have empty bounds */
            ci.min_values[i].p =
                pg->null_page ? none : c->bounds.data + pg->min_at;
            ci.min_values[i].len = pg->null_page ? 0 : pg->min_len;
            ci.max_values[i].p =
                pg->null_page ? none : c->bounds.data + pg->max_at;
            ci.max_values[i].len = pg->null_page ? 0 : pg->max_len;
        }
        at = w->col_index.len;
        CHECK(pq_meta_encode_column_index(&w->col_index, &ci));
        CHECK(check_i32((int64_t)(w->col_index.len - at), "a ColumnIndex"));
        cc->has_column_index = true;
        cc->column_index_offset = (int64_t)at;
        cc->column_index_length = (int32_t)(w->col_index.len - at);
    }
    st = INFINO_OK;
fail:
    mem_free(locs);
    mem_free(ci.null_pages);
    mem_free(ci.min_values);
    mem_free(ci.max_values);
    mem_free(ci.null_counts);
    return st;
}

/* Cuts the open page of `c` into its chunk buffer. */
static infino_status flush_page(struct pq_writer *w, struct pq_col *c)
{
    struct pq_page_header h;
    struct arena tmp = {0};
    infino_status st;
    bool use_dict = c->dict_on && c->page_present > 0;
    const struct buf *values;
    struct pq_stats stats;
    uint64_t header_at = c->chunk.len;

    if (c->page_levels == 0)
        return INFINO_OK;
    if (c->shape.max_def > 0)
        CHECK(pq_rle_enc_finish(&c->def_enc));
    if (c->shape.max_rep > 0)
        CHECK(pq_rle_enc_finish(&c->rep_enc));
    if (use_dict) {
        /* while dict_on, vals holds nothing else */
        buf_reset(&c->vals);
        CHECK(pq_dict_encode_indexes(&c->vals, (const uint32_t *)c->idx.data,
                                     c->idx.len / 4, c->dict.n_entries));
    } else {
        CHECK(pq_value_flush(&c->vals, &c->venc));
    }
    values = &c->vals;

    memset(&h, 0, sizeof h);
    memset(&stats, 0, sizeof stats);
    if (w->opts.statistics)
        CHECK(pq_stats_export(&stats, &c->page_stats, &tmp));
    CHECK(check_i32(c->page_levels, "a page's value count"));
    if (w->opts.data_page_version == 2) {
        struct pq_data_page_header_v2 *p = &h.data_page_v2;
        /* DataPageHeaderV2: levels stay uncompressed, before the values */
        struct piece lead[2] = {{c->rep.data, c->rep.len},
                                {c->def.data, c->def.len}};
        struct piece body = {values->data, values->len};
        h.type = PQ_PAGE_DATA_V2;
        h.has_data_page_v2 = true;
        p->num_values = (int32_t)c->page_levels;
        p->num_nulls = (int32_t)(c->page_levels - c->page_present);
        p->num_rows = (int32_t)c->page_rows;
        p->encoding = use_dict ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN;
        p->def_levels_len = (int32_t)c->def.len;
        p->rep_levels_len = (int32_t)c->rep.len;
        p->is_compressed = c->codec != PQ_UNCOMPRESSED;
        p->has_statistics = w->opts.statistics != 0;
        p->statistics = stats;
        CHECK(put_data_page(w, c, &h, lead, 2, &body, 1));
    } else {
        struct pq_data_page_header *p = &h.data_page;
        struct piece body[5];
        uint8_t rep_len[4], def_len[4];
        size_t n = 0;
        /* DataPage v1: rep levels, def levels (each with a 4-byte length,
         * Encodings.md RLE), then values, compressed together. */
        if (c->shape.max_rep > 0) {
            store_u32le(rep_len, (uint32_t)c->rep.len);
            body[n++] = (struct piece){rep_len, 4};
            body[n++] = (struct piece){c->rep.data, c->rep.len};
        }
        if (c->shape.max_def > 0) {
            store_u32le(def_len, (uint32_t)c->def.len);
            body[n++] = (struct piece){def_len, 4};
            body[n++] = (struct piece){c->def.data, c->def.len};
        }
        body[n++] = (struct piece){values->data, values->len};
        h.type = PQ_PAGE_DATA;
        h.has_data_page = true;
        p->num_values = (int32_t)c->page_levels;
        p->encoding = use_dict ? PQ_ENC_RLE_DICTIONARY : PQ_ENC_PLAIN;
        p->def_encoding = PQ_ENC_RLE;
        p->rep_encoding = PQ_ENC_RLE;
        p->has_statistics = w->opts.statistics != 0;
        p->statistics = stats;
        CHECK(put_data_page(w, c, &h, NULL, 0, body, n));
    }
    if (w->opts.page_index)
        CHECK(note_page(w, c, header_at, &stats));
    c->chunk_raw +=
        (int64_t)(c->chunk.len - header_at) - h.compressed_page_size +
        h.uncompressed_page_size;
    c->chunk_rows += c->page_rows;
    c->chunk_levels += c->page_levels;
    if (use_dict)
        c->n_dict_pages++;
    else
        c->n_plain_pages++;
    CHECK(pq_stats_merge(&c->chunk_stats, &c->page_stats));
    arena_free(&tmp);
    page_begin(c);
    return INFINO_OK;
fail:
    arena_free(&tmp);
    return err_context(st, "column '%s'", c->leaf->arrow->name);
}

/* ---- rows into pages ---------------------------------------------------- */

/* PLAIN bytes of rows [row0, row0 + r), for sizing the next step. */
static uint64_t rows_bytes(const struct pq_col *c, const struct ArrowArray *top,
                           int64_t row0, int64_t r)
{
    int64_t first, n = pq_shape_leaf_span(&c->shape, top, row0, r, &first);
    const struct ArrowArray *leaf;
    int64_t j;

    if (!c->is_bytes)
        return (uint64_t)n * (uint64_t)c->width;
    leaf = pq_shape_leaf(&c->shape, top);
    j = leaf->offset + first;
    if (c->large) {
        const int64_t *o = (const int64_t *)leaf->buffers[1];
        return (uint64_t)(o[j + n] - o[j]) + 4 * (uint64_t)n;
    }
    {
        const int32_t *o = (const int32_t *)leaf->buffers[1];
        return (uint64_t)(o[j + n] - o[j]) + 4 * (uint64_t)n;
    }
}

/* The most rows (at least 1) starting at row0 whose values fit `budget`. */
static int64_t rows_fitting(const struct pq_col *c,
                            const struct ArrowArray *top, int64_t row0,
                            int64_t n, uint64_t budget)
{
    int64_t lo = 1, hi = n;

    if (c->shape.kind == PQ_SHAPE_FLAT && !c->is_bytes) {
        uint64_t r = budget / (uint64_t)c->width;
        return r < 1 ? 1 : r > (uint64_t)n ? n : (int64_t)r;
    }
    if (rows_bytes(c, top, row0, n) <= budget)
        return n;
    while (lo < hi) {
        int64_t mid = lo + (hi - lo + 1) / 2;
        if (rows_bytes(c, top, row0, mid) <= budget)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

static infino_status encode_rows(struct pq_writer *w, struct pq_col *c,
                                 const struct ArrowArray *top, int64_t row0,
                                 int64_t r)
{
    const struct ArrowArray *leaf = pq_shape_leaf(&c->shape, top);
    struct pq_shred *s = &c->shred;
    infino_status st;

    pq_shred_reset(s);
    CHECK(pq_shred_rows(s, c->shape.max_def ? &c->def_enc : NULL,
                        c->shape.max_rep ? &c->rep_enc : NULL, &c->shape, top,
                        row0, r));
    if (c->dict_on)
        CHECK(pq_dict_append(&c->dict, &c->idx, leaf, c->large, s->ranges,
                             s->n_ranges));
    else
        CHECK(pq_plain_append(&c->vals, &c->venc, leaf, s->ranges,
                              s->n_ranges));
    if (w->opts.statistics)
        CHECK(pq_stats_update(&c->page_stats, leaf, s->ranges, s->n_ranges,
                              s->n_levels - s->n_present));
    c->page_levels += s->n_levels;
    c->page_present += s->n_present;
    c->page_rows += r;
    return INFINO_OK;
fail:
    return st;
}

static infino_status col_write(struct pq_writer *w, struct pq_col *c,
                               const struct ArrowArray *top, int64_t row0,
                               int64_t n)
{
    infino_status st;

    while (n > 0) {
        uint64_t used = page_size(c), budget;
        int64_t r;

        if (used >= c->page_bytes)
            CHECK(flush_page(w, c));
        used = page_size(c);
        budget = c->page_bytes - used;
        r = rows_fitting(c, top, row0, n, budget);
        CHECK(encode_rows(w, c, top, row0, r));
        row0 += r;
        n -= r;
        if (page_size(c) >= c->page_bytes ||
            c->page_levels >= MAX_PAGE_LEVELS)
            CHECK(flush_page(w, c));
        if (c->dict_on && c->dict.plain.len > w->opts.dictionary_bytes) {
            /* As Arrow does: the dictionary so far becomes this chunk's
             * dictionary page, the rest of the chunk is PLAIN. */
            CHECK(flush_page(w, c));
            c->dict_on = false;
        }
    }
    return INFINO_OK;
fail:
    return err_context(st, "column '%s'", c->leaf->arrow->name);
}

/* -------------------------------------------------------------------------- */

static uint64_t rg_bytes(const struct pq_writer *w)
{
    uint64_t n = 0;

    for (size_t i = 0; i < w->n_cols; i++) {
        const struct pq_col *c = &w->cols[i];
        n += c->chunk.len + page_size(c);
        if (c->dict.n_entries > 0)
            n += c->dict.plain.len;
    }
    return n;
}

static infino_status put_encodings(struct pq_writer *w, struct pq_col *c,
                                   struct pq_column_meta *m)
{
    int32_t *e = arena_calloc(&w->meta, 3, sizeof *e);
    struct pq_page_encoding_stats *es =
        arena_calloc(&w->meta, 3, sizeof *es);
    enum pq_page_type dpt =
        w->opts.data_page_version == 2 ? PQ_PAGE_DATA_V2 : PQ_PAGE_DATA;
    size_t n = 0, k = 0;

    if (e == NULL || es == NULL)
        return err_nomem();
    if (c->n_plain_pages > 0 || c->n_dict_pages > 0)
        e[n++] = PQ_ENC_PLAIN; /* the dictionary page is PLAIN too */
    if (c->shape.max_def > 0 || c->shape.max_rep > 0)
        e[n++] = PQ_ENC_RLE;
    if (c->n_dict_pages > 0) {
        e[n++] = PQ_ENC_RLE_DICTIONARY;
        es[k].page_type = PQ_PAGE_DICTIONARY;
        es[k].encoding = PQ_ENC_PLAIN;
        es[k++].count = 1;
        es[k].page_type = dpt;
        es[k].encoding = PQ_ENC_RLE_DICTIONARY;
        es[k++].count = c->n_dict_pages;
    }
    if (c->n_plain_pages > 0) {
        es[k].page_type = dpt;
        es[k].encoding = PQ_ENC_PLAIN;
        es[k++].count = c->n_plain_pages;
    }
    m->encodings = e;
    m->n_encodings = n;
    m->encoding_stats = es;
    m->n_encoding_stats = k;
    return INFINO_OK;
}

/* Writes column `c`'s chunk to the sink and describes it in *cc. */
static infino_status write_chunk(struct pq_writer *w, struct pq_col *c,
                                 struct pq_column_chunk *cc)
{
    struct pq_column_meta *m = &cc->meta_data;
    uint64_t start = store_sink_tell(w->sink);
    int64_t raw = c->chunk_raw;
    infino_status st;

    memset(cc, 0, sizeof *cc);
    if (c->n_dict_pages > 0) {
        int64_t dict_raw;
        CHECK(put_dict_page(w, c, &dict_raw));
        raw += dict_raw;
        m->has_dictionary_page_offset = true;
        m->dictionary_page_offset = (int64_t)start;
    }
    m->data_page_offset = (int64_t)store_sink_tell(w->sink);
    for (size_t i = 0; i < c->chunk.n_used; i++)
        CHECK(sink_put(w, c->chunk.segs[i].p, c->chunk.segs[i].len));
    if (w->opts.page_index)
        CHECK(put_page_index(w, c, (uint64_t)m->data_page_offset, cc));

    cc->file_offset = (int64_t)start;
    cc->has_meta_data = true;
    m->type = c->leaf->type;
    m->n_path = c->leaf->n_path;
    m->path = c->leaf->path;
    m->codec = c->codec;
    m->num_values = c->chunk_levels;
    m->total_uncompressed_size = raw;
    m->total_compressed_size = (int64_t)(store_sink_tell(w->sink) - start);
    CHECK(put_encodings(w, c, m));
    if (w->opts.statistics) {
        m->has_statistics = true;
        CHECK(pq_stats_export(&m->statistics, &c->chunk_stats, &w->meta));
    }
    return INFINO_OK;
fail:
    return err_context(st, "column '%s'", c->leaf->arrow->name);
}

static void chunk_reset(const struct pq_writer *w, struct pq_col *c)
{
    chunk_buf_reset(&c->chunk);
    c->chunk_levels = 0;
    c->chunk_raw = 0;
    c->n_dict_pages = c->n_plain_pages = 0;
    c->chunk_rows = 0;
    c->n_pidx = 0;
    buf_reset(&c->bounds);
    c->ci_ok = true;
    pq_stats_reset(&c->chunk_stats);
    pq_dict_reset(&c->dict);
    c->dict_on = w->opts.dictionary && c->is_bytes;
}

infino_status pq_writer_flush_row_group(struct pq_writer *w)
{
    struct pq_row_group *g;
    infino_status st;
    uint64_t start;

    if (w->failed || w->finished)
        return err_set(INFINO_ERR_INVALID, "%s: writer is %s",
                       store_sink_name(w->sink),
                       w->failed ? "in a failed state" : "finished");
    if (w->rg_rows == 0)
        return INFINO_OK;
    if (w->n_rgs == w->rgs_cap) {
        size_t cap = w->rgs_cap ? w->rgs_cap * 2 : 8;
        struct pq_row_group *r = mem_realloc(w->rgs, cap * sizeof *r);
        if (r == NULL)
            CHECK(err_nomem());
        w->rgs = r;
        w->rgs_cap = cap;
    }
    g = &w->rgs[w->n_rgs];
    memset(g, 0, sizeof *g);
    g->columns = arena_calloc(&w->meta, w->n_cols ? w->n_cols : 1,
                              sizeof *g->columns);
    if (g->columns == NULL)
        CHECK(err_nomem());
    g->n_columns = w->n_cols;
    start = store_sink_tell(w->sink);
    for (size_t i = 0; i < w->n_cols; i++) {
        struct pq_col *c = &w->cols[i];
        CHECK(flush_page(w, c));
        CHECK(write_chunk(w, c, &g->columns[i]));
        g->total_byte_size += g->columns[i].meta_data.total_uncompressed_size;
        chunk_reset(w, c);
    }
    g->num_rows = w->rg_rows;
    g->has_file_offset = true;
    g->file_offset = (int64_t)start;
    g->has_total_compressed_size = true;
    g->total_compressed_size = (int64_t)(store_sink_tell(w->sink) - start);
    if (w->n_rgs <= INT16_MAX) {
        g->has_ordinal = true;
        g->ordinal = (int16_t)w->n_rgs;
    }
    w->n_rgs++;
    w->flushed_bytes += (uint64_t)g->total_compressed_size;
    w->rg_rows = 0;
    return INFINO_OK;
fail:
    w->failed = true;
    return err_context(st, "%s: row group %zu", store_sink_name(w->sink),
                       w->n_rgs);
}

/* -------------------------------------------------------------------------- */

static bool codec_ok(int codec)
{
    return codec == PQ_UNCOMPRESSED || codec == PQ_SNAPPY ||
           codec == PQ_GZIP || codec == PQ_ZSTD;
}

static infino_status check_opts(const struct pq_write_opts *o)
{
    if (o->version != 1)
        return err_set(INFINO_ERR_INVALID, "pq_write_opts version %u",
                       (unsigned)o->version);
    if (!codec_ok((int)o->codec))
        return err_set(INFINO_ERR_UNSUPPORTED, "compression codec %d",
                       (int)o->codec);
    if (o->fixed_list_codec != -1 && !codec_ok(o->fixed_list_codec))
        return err_set(INFINO_ERR_UNSUPPORTED, "compression codec %d",
                       o->fixed_list_codec);
    if (o->fixed_width_codec != -1 && !codec_ok(o->fixed_width_codec))
        return err_set(INFINO_ERR_UNSUPPORTED, "compression codec %d",
                       o->fixed_width_codec);
    if (o->row_group_rows <= 0 || o->row_group_bytes == 0 ||
        o->page_bytes == 0)
        return err_set(INFINO_ERR_INVALID,
                       "row group and page sizes must be positive");
    if (o->data_page_version != 1 && o->data_page_version != 2)
        return err_set(INFINO_ERR_INVALID, "data page version %d",
                       o->data_page_version);
    return INFINO_OK;
}

infino_status pq_writer_open(struct pq_writer **out, struct store_sink *sink,
                             const struct ar_schema *schema,
                             const struct pq_write_opts *opts)
{
    static const struct pq_write_opts defaults = PQ_WRITE_OPTS_INIT;
    struct pq_writer *w;
    infino_status st;

    *out = NULL;
    w = mem_calloc(1, sizeof *w);
    if (w == NULL)
        return err_nomem();
    w->sink = sink;
    w->opts = opts ? *opts : defaults;
    CHECK(check_opts(&w->opts));
    CHECK(ar_schema_copy(&w->schema, schema));
    CHECK(pq_schema_from_arrow(&w->pschema, &w->schema));
    w->n_cols = w->pschema.n_leaves;
    w->cols = mem_calloc(w->n_cols ? w->n_cols : 1, sizeof *w->cols);
    if (w->cols == NULL)
        CHECK(err_nomem());
    for (size_t i = 0; i < w->n_cols; i++) {
        struct pq_col *c = &w->cols[i];
        c->leaf = &w->pschema.leaves[i];
        CHECK(pq_shape_of(&c->shape, c->leaf->arrow));
        /* Both modules derive the levels; they must agree. */
        if (c->shape.max_def != c->leaf->max_def ||
            c->shape.max_rep != c->leaf->max_rep)
            CHECK(err_set(INFINO_ERR_INVALID,
                          "field '%s': level mismatch (%d/%d vs %d/%d)",
                          c->leaf->arrow->name, c->shape.max_def,
                          c->shape.max_rep, c->leaf->max_def,
                          c->leaf->max_rep));
        CHECK(value_kind(c, c->leaf->value));
        c->page_bytes = w->opts.page_bytes;
        c->codec = w->opts.codec;
        if (c->leaf->arrow->type == AR_FIXED_SIZE_LIST) {
            if (w->opts.fixed_list_page_bytes > 0)
                c->page_bytes = w->opts.fixed_list_page_bytes;
            if (w->opts.fixed_list_codec >= 0)
                c->codec = (enum pq_codec)w->opts.fixed_list_codec;
        } else if (c->leaf->type != PQ_BYTE_ARRAY &&
                   w->opts.fixed_width_codec >= 0) {
            c->codec = (enum pq_codec)w->opts.fixed_width_codec;
        }
        pq_stats_init(&c->page_stats, c->leaf->value, c->venc.flba_len);
        pq_stats_init(&c->chunk_stats, c->leaf->value, c->venc.flba_len);
        page_begin(c);
        chunk_reset(w, c);
    }
    CHECK(sink_put(w, "PAR1", 4));
    *out = w;
    return INFINO_OK;
fail:
    pq_writer_free(w);
    return err_context(st, "opening Parquet writer on %s",
                       store_sink_name(sink));
}

/* Rows to take in the next slice so the row group overshoots its byte
 * target by at most about one slice. */
static int64_t slice_rows(const struct pq_writer *w, uint64_t rg_used)
{
    uint64_t per_row, left, r;

    if (w->num_rows == 0)
        return 1024;
    per_row = (w->flushed_bytes + rg_used) / (uint64_t)w->num_rows;
    if (per_row == 0)
        per_row = 1;
    left = w->opts.row_group_bytes > rg_used
               ? w->opts.row_group_bytes - rg_used
               : 0;
    r = left / per_row;
    return r < 1 ? 1 : r > MAX_SLICE_ROWS ? MAX_SLICE_ROWS : (int64_t)r;
}

infino_status pq_writer_write(struct pq_writer *w,
                              const struct ArrowArray *batch)
{
    infino_status st;
    int64_t row = 0;

    if (w->failed || w->data_ended)
        return err_set(INFINO_ERR_INVALID, "%s: writer is %s",
                       store_sink_name(w->sink),
                       w->failed ? "in a failed state" : "past its data");
    if (batch->n_children != (int64_t)w->n_cols)
        return err_set(INFINO_ERR_INVALID,
                       "%s: batch has %lld columns, schema %zu",
                       store_sink_name(w->sink),
                       (long long)batch->n_children, w->n_cols);
    while (row < batch->length) {
        uint64_t used = rg_bytes(w);
        int64_t n = batch->length - row;
        int64_t room = w->opts.row_group_rows - w->rg_rows;
        int64_t s = slice_rows(w, used);

        n = MIN(n, MIN(room, s));
        for (size_t i = 0; i < w->n_cols; i++)
            CHECK(col_write(w, &w->cols[i], batch->children[i],
                            batch->offset + row, n));
        w->rg_rows += n;
        w->num_rows += n;
        row += n;
        if (w->rg_rows >= w->opts.row_group_rows ||
            rg_bytes(w) >= w->opts.row_group_bytes)
            CHECK(pq_writer_flush_row_group(w));
    }
    return INFINO_OK;
fail:
    w->failed = true;
    return err_context(st, "writing %s", store_sink_name(w->sink));
}

/* Writes the buffered page indexes after the last row group and makes
 * the column chunks' offsets absolute. */
static infino_status write_page_index(struct pq_writer *w)
{
    uint64_t ci_base = store_sink_tell(w->sink), oi_base;
    infino_status st;

    CHECK(sink_put(w, w->col_index.data, w->col_index.len));
    oi_base = store_sink_tell(w->sink);
    CHECK(sink_put(w, w->off_index.data, w->off_index.len));
    for (size_t g = 0; g < w->n_rgs; g++) {
        for (size_t i = 0; i < w->rgs[g].n_columns; i++) {
            struct pq_column_chunk *cc = &w->rgs[g].columns[i];
            if (cc->has_column_index)
                cc->column_index_offset += (int64_t)ci_base;
            if (cc->has_offset_index)
                cc->offset_index_offset += (int64_t)oi_base;
        }
    }
    buf_free(&w->col_index);
    buf_free(&w->off_index);
    return INFINO_OK;
fail:
    return err_context(st, "writing the page index of %s",
                       store_sink_name(w->sink));
}

infino_status pq_writer_end_data(struct pq_writer *w)
{
    infino_status st;

    if (w->data_ended)
        return INFINO_OK;
    st = pq_writer_flush_row_group(w);
    if (st == INFINO_OK)
        st = write_page_index(w);
    if (st == INFINO_OK)
        w->data_ended = true;
    else
        w->failed = true;
    return st;
}

static infino_status add_kv(struct pq_writer *w, const char *key,
                            const void *value, size_t value_len)
{
    size_t key_len = strlen(key);
    char *k, *v;

    if (w->n_kvs == w->kvs_cap) {
        size_t cap = w->kvs_cap ? w->kvs_cap * 2 : 8;
        struct pq_kv *p = mem_realloc(w->kvs, cap * sizeof *p);
        if (p == NULL)
            return err_nomem();
        w->kvs = p;
        w->kvs_cap = cap;
    }
    k = arena_strndup(&w->meta, key, key_len);
    v = arena_strndup(&w->meta, value, value_len);
    if (k == NULL || v == NULL)
        return err_nomem();
    w->kvs[w->n_kvs].key.p = (const uint8_t *)k;
    w->kvs[w->n_kvs].key.len = key_len;
    w->kvs[w->n_kvs].value.p = (const uint8_t *)v;
    w->kvs[w->n_kvs].value.len = value_len;
    w->n_kvs++;
    return INFINO_OK;
}

infino_status pq_writer_add_kv(struct pq_writer *w, const char *key,
                               const void *value, size_t value_len)
{
    if (w->finished)
        return err_set(INFINO_ERR_INVALID, "%s: writer is finished",
                       store_sink_name(w->sink));
    return add_kv(w, key, value, value_len);
}

int64_t pq_writer_num_rows(const struct pq_writer *w)
{
    return w->num_rows;
}

infino_status pq_writer_finish(struct pq_writer *w)
{
    struct pq_file_meta m;
    struct buf footer = {0}, ipc = {0}, b64 = {0};
    struct pq_kv *kvs = NULL;
    int32_t *orders = NULL;
    infino_status st;
    uint8_t tail[8];

    if (w->finished || w->failed)
        return err_set(INFINO_ERR_INVALID, "%s: writer is %s",
                       store_sink_name(w->sink),
                       w->failed ? "in a failed state" : "finished");
    CHECK(pq_writer_end_data(w));

    /* "ARROW:schema" first, as Arrow writers store it: base64 of the IPC
     * Schema message, so Arrow readers restore the exact types. Then the
     * schema's own metadata, then the caller's entries. */
    CHECK(ar_schema_to_ipc(&ipc, &w->schema));
    CHECK(base64_encode(&b64, ipc.data, ipc.len));
    kvs = mem_calloc(1 + w->schema.n_meta + w->n_kvs, sizeof *kvs);
    orders = mem_calloc(w->n_cols ? w->n_cols : 1, sizeof *orders);
    if (kvs == NULL || orders == NULL)
        CHECK(err_nomem());
    kvs[0].key.p = (const uint8_t *)"ARROW:schema";
    kvs[0].key.len = strlen("ARROW:schema");
    kvs[0].value.p = b64.data ? b64.data : (const uint8_t *)"";
    kvs[0].value.len = b64.len;
    for (size_t i = 0; i < w->schema.n_meta; i++) {
        const struct ar_kv *e = &w->schema.meta[i];
        kvs[1 + i].key.p = (const uint8_t *)e->key;
        kvs[1 + i].key.len = strlen(e->key);
        kvs[1 + i].value.p = (const uint8_t *)e->value;
        kvs[1 + i].value.len = e->value_len;
    }
    if (w->n_kvs)
        memcpy(kvs + 1 + w->schema.n_meta, w->kvs, w->n_kvs * sizeof *kvs);
    for (size_t i = 0; i < w->n_cols; i++)
        orders[i] = PQ_ORDER_TYPE_DEFINED;

    memset(&m, 0, sizeof m);
    m.version = 2;
    /* pq_meta_encode_file() only reads the elements */
    m.schema = (struct pq_schema_elem *)(uintptr_t)w->pschema.elems;
    m.n_schema = w->pschema.n_elems;
    m.num_rows = w->num_rows;
    m.row_groups = w->rgs;
    m.n_row_groups = w->n_rgs;
    m.kv = kvs;
    m.n_kv = 1 + w->schema.n_meta + w->n_kvs;
    m.created_by.p = (const uint8_t *)CREATED_BY;
    m.created_by.len = strlen(CREATED_BY);
    m.has_column_orders = true;
    m.column_orders = orders;
    m.n_column_orders = w->n_cols;
    CHECK(pq_meta_encode_file(&footer, &m));
    if (footer.len > UINT32_MAX)
        CHECK(err_set(INFINO_ERR_INVALID, "footer too large"));
    store_u32le(tail, (uint32_t)footer.len);
    memcpy(tail + 4, "PAR1", 4);
    CHECK(sink_put(w, footer.data, footer.len));
    CHECK(sink_put(w, tail, 8));
    w->finished = true;
    st = INFINO_OK;
fail:
    if (st != INFINO_OK) {
        w->failed = true;
        st = err_context(st, "writing footer of %s", store_sink_name(w->sink));
    }
    buf_free(&footer);
    buf_free(&ipc);
    buf_free(&b64);
    mem_free(kvs);
    mem_free(orders);
    return st;
}

void pq_writer_free(struct pq_writer *w)
{
    if (w == NULL)
        return;
    for (size_t i = 0; w->cols && i < w->n_cols; i++)
        col_free(&w->cols[i]);
    mem_free(w->cols);
    pq_schema_free(&w->pschema);
    ar_schema_free(&w->schema);
    buf_free(&w->page);
    buf_free(&w->comp);
    buf_free(&w->hdr);
    buf_free(&w->col_index);
    buf_free(&w->off_index);
    arena_free(&w->meta);
    mem_free(w->rgs);
    mem_free(w->kvs);
    mem_free(w);
}
