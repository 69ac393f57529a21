/*
 * pq_read_column.c - one column chunk into Arrow arrays.
 *
 * Each data page is handled in two passes. The level pass turns
 * definition and repetition levels into Arrow structure: list offsets, the
 * validity of list slots and of values (bitmaps that are only materialised
 * once a null shows up), and which value positions the page fills. The
 * value pass decodes the page's non-null values densely, straight into
 * the Arrow value buffer at the page's first position, then spreads them
 * backward over the null positions in place. Types whose Arrow form
 * differs from the stored one (int8/16, decimals, rescaled timestamps,
 * INT96) decode into scratch and convert in one loop per conversion.
 * Nothing in the per-value loops is an indirect call.
 *
 * Level semantics: Dremel as specified in parquet-format (README,
 * "Nested Encoding"); encodings: Encodings.md.
 */
#include "pq_decode.h"
#include "pq_read.h"

#include "format/arrow/arrow_take.h"

#include "util/alloc.h"
#include "util/compat.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/bufpool.h"
#include "util/hugepage.h"

#include <assert.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>
#include <zlib.h>

enum conv {
    CV_COPY,      /* fixed width, stored as Arrow wants it */
    CV_BOOL,      /* BOOLEAN -> bitmap */
    CV_NARROW8,   /* INT32 -> int8/uint8 */
    CV_NARROW16,  /* INT32 -> int16/uint16 */
    CV_I32_DEC,   /* INT32 decimal -> decimal128 */
    CV_I64_DEC,   /* INT64 decimal -> decimal128 */
    CV_FLBA_DEC,  /* big-endian FIXED_LEN_BYTE_ARRAY -> decimal128 */
    CV_BA_DEC,    /* big-endian BYTE_ARRAY -> decimal128 */
    CV_TS_MUL,    /* INT64 timestamp in a coarser unit: multiply */
    CV_TS_DIV,    /* INT64 timestamp in a finer unit: divide */
    CV_INT96,     /* Impala INT96 -> timestamp */
    CV_BYTES,     /* BYTE_ARRAY -> utf8/binary */
    CV_FLBA_BYTES /* FIXED_LEN_BYTE_ARRAY -> binary */
};

/* Growable output or scratch bytes, charged to the read's budget. */
struct obuf {
    uint8_t *p; /* owned: mem_alloc, or the read's pool when pool_cap */
    size_t len; /* bytes in use (scratch: unused) */
    size_t cap;
    size_t pool_cap; /* nonzero: p came from the pool, this large */
};

/* Buffers at least this large come from the read's pool when it has one
 * (smaller ones malloc recycles well enough). */
#define POOL_MIN_BYTES ((size_t)1 << 20)

struct col {
    const struct pq_reader *r;
    struct bufpool *pool; /* borrowed; NULL: none */
    const struct pq_leaf *leaf;
    const struct pq_column_meta *cm;
    uint64_t *budget;
    int64_t num_rows;
    enum conv conv;
    size_t phys_w;  /* stored value width (0: BYTE_ARRAY) */
    size_t out_w;   /* Arrow value width in bytes (0: bool, bytes) */
    bool wide_off;  /* values use int64 offsets */
    bool list_wide; /* LARGE_LIST */
    bool fsl;       /* FIXED_SIZE_LIST */
    int64_t list_size;
    int64_t ts_factor; /* CV_TS_MUL/DIV/INT96 */
    bool slot_nullable, val_nullable;

    /* dictionary */
    bool has_dict;
    size_t n_dict;
    struct obuf dict;        /* fixed: n_dict * phys_w; bytes: the page */
    struct pq_view *dict_views;
    /* What decoding reads: dict.p and dict_views, or the copy the chunk's
     * page map keeps (point reads; borrowed from the reader). */
    const uint8_t *dict_bytes;
    const struct pq_view *dict_v;

    /* list level (lists only) */
    int64_t n_slots, slot_nulls;
    struct obuf slot_valid; /* materialised at the first null slot */
    bool slot_valid_on;
    struct obuf list_off;
    int64_t slot_start; /* first item of the open slot */

    /* value level */
    int64_t n_vals, val_nulls;
    struct obuf val_valid;
    bool val_valid_on;
    struct obuf vals; /* fixed values, or the bool bitmap */
    struct obuf voff; /* bytes: offsets */
    struct obuf vdata;
    int64_t levels_seen; /* sum of page num_values */
    bool whole;          /* decoding the whole chunk (not some pages) */
    /* Point reads: pages are decoded out of order, so each must start a
     * row (pages of a chunk with an OffsetIndex do, PageIndex.md). */
    bool rows_aligned;
    /* Point reads of flat columns keep only some rows of each page: `sel`
     * (page-relative, ascending, n_sel of them) while `selecting`. A page
     * is decoded whole, then the values of those rows (vsel: indexes among
     * the page's present values) are kept before they are converted and
     * appended, so the output holds n_sel rows per page, not the page. */
    bool selecting;
    const uint32_t *sel;
    size_t n_sel;
    uint32_t *vsel; /* room for n_sel; owned by the caller */
    size_t n_vsel;
    /* values per selected entry: 1, or list_size for a fixed_size_list
     * (selected only when its chunk holds no null, see select_fsl) */
    size_t sel_group;

    /* scratch */
    struct obuf rep, def, presence, dense, idx, views, lens;
    struct buf dba;
    struct pq_page_iter it;
};

/* ---- buffers ---------------------------------------------------------- */

/* Frees bytes of an obuf: back to the pool when they came from it. */
static void ob_release(const struct col *c, void *p, size_t pool_cap)
{
    if (pool_cap != 0)
        bufpool_put(c->pool, p, pool_cap);
    else
        mem_free(p);
}

/* Grows `b` to exactly `cap` bytes (> b->cap), charged to the budget,
 * zeroing the new bytes when `zero`. Large buffers come from the read's
 * pool (memory an earlier row group gave back) or ask for huge pages
 * before their new bytes are first touched: output buffers are written
 * once, front to back, and faulting in fresh pages would be a large part
 * of a read's cost (util/bufpool.h, util/hugepage.h). */
static infino_status ob_grow(struct col *c, struct obuf *b, size_t cap,
                             bool zero)
{
    uint8_t *p;
    size_t pool_cap = 0;
    infino_status st;
    bool pooled = c->pool != NULL && cap >= POOL_MIN_BYTES;

    if ((st = pq_budget_take(c->budget, cap - b->cap)) != INFINO_OK)
        return st;
    if (!pooled && cap < HUGEPAGE_MIN_BYTES && b->pool_cap == 0) {
        if ((p = mem_realloc(b->p, cap)) == NULL)
            return err_nomem();
    } else {
        /* not realloc: its copy would touch the new pages first */
        if (pooled) {
            p = bufpool_get(c->pool, cap, &pool_cap);
        } else {
            p = mem_alloc(cap);
            hugepage_advise(p, cap);
        }
        if (p == NULL)
            return err_nomem();
        if (b->cap > 0)
            memcpy(p, b->p, b->cap);
        ob_release(c, b->p, b->pool_cap);
        b->pool_cap = pool_cap;
    }
    if (zero)
        memset(p + b->cap, 0, cap - b->cap);
    b->p = p;
    b->cap = cap;
    return INFINO_OK;
}

/* Makes room for `need` bytes in total, zeroing new bytes when `zero`.
 * Grows geometrically. */
static infino_status ob_reserve(struct col *c, struct obuf *b, size_t need,
                                bool zero)
{
    size_t cap;

    if (need <= b->cap)
        return INFINO_OK;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    return ob_grow(c, b, cap, zero);
}

/* ob_reserve() for an output buffer expected to end near `hint` bytes
 * (0: unknown): when the hint is further than doubling would go, grows
 * straight to it, so a large buffer is copied once or twice rather than
 * at every doubling. Hints come from untrusted counts, so one beyond half
 * of the remaining budget is ignored. */
static infino_status ob_reserve_hint(struct col *c, struct obuf *b,
                                     size_t need, uint64_t hint)
{
    if (need <= b->cap)
        return INFINO_OK;
    if (hint > need && hint / 2 > b->cap && hint <= *c->budget / 2 &&
        hint <= SIZE_MAX)
        return ob_grow(c, b, (size_t)hint, false);
    return ob_reserve(c, b, need, false);
}

/* Sizes an empty output buffer for `need` bytes up front, from what the
 * metadata says the column chunk holds, so it is neither copied by
 * growth nor left half unused. Metadata is untrusted: a size beyond half
 * of what the read may still allocate is not reserved (decoding then
 * grows the buffer as the pages really need, and fails there if they
 * need too much). */
static infino_status ob_presize(struct col *c, struct obuf *b, uint64_t need)
{
    if (need <= b->cap || need > *c->budget / 2 || need > SIZE_MAX)
        return INFINO_OK;
    return ob_grow(c, b, (size_t)need, false);
}

static void ob_free(const struct col *c, struct obuf *b)
{
    ob_release(c, b->p, b->pool_cap);
    memset(b, 0, sizeof *b);
}

/* Moves the bytes out, with their pool size (0: mem_alloc'd). At least
 * one byte is allocated, so buffers handed to Arrow are never NULL. */
static infino_status ob_take(struct obuf *b, void **out, size_t *pool_cap)
{
    if (b->p == NULL && (b->p = mem_alloc(1)) == NULL)
        return err_nomem();
    *out = b->p;
    *pool_cap = b->pool_cap;
    memset(b, 0, sizeof *b);
    return INFINO_OK;
}

static inline void bit_set(uint8_t *bits, int64_t i)
{
    bits[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static inline bool bit_get(const uint8_t *bits, int64_t i)
{
    return (bits[i >> 3] >> (i & 7)) & 1;
}

/* Sets bits [from, to) of a zeroed bitmap. */
static void bits_fill(uint8_t *bits, int64_t from, int64_t to)
{
    while (from < to && (from & 7))
        bit_set(bits, from++);
    if (to - from >= 8) {
        memset(bits + (from >> 3), 0xff, (size_t)((to - from) >> 3));
        from += (to - from) & ~(int64_t)7;
    }
    while (from < to)
        bit_set(bits, from++);
}

/* Materialises a lazy validity bitmap: room for `n` bits, the first
 * `valid` of them set. */
static infino_status validity_on(struct col *c, struct obuf *b, bool *on,
                                 int64_t valid, int64_t n)
{
    infino_status st = ob_reserve(c, b, (size_t)(n + 7) / 8 + 1, true);

    if (st != INFINO_OK)
        return st;
    if (!*on) {
        bits_fill(b->p, 0, valid);
        *on = true;
    }
    return INFINO_OK;
}

/* ---- setup ------------------------------------------------------------ */

static int64_t unit_per_second(enum ar_time_unit u)
{
    return u == AR_SECOND ? 1
           : u == AR_MILLI ? 1000
           : u == AR_MICRO ? 1000000
                           : 1000000000;
}

static infino_status mismatch(const struct col *c)
{
    return err_set(INFINO_ERR_UNSUPPORTED,
                   "stored type %s cannot be read as Arrow type %d",
                   pq_type_name((int)c->leaf->type), (int)c->leaf->value->type);
}

/* Chooses how stored values become Arrow values. */
static infino_status plan(struct col *c)
{
    const struct pq_leaf *leaf = c->leaf;
    const struct ar_field *v = leaf->value;
    enum pq_type t = leaf->type;

    switch (t) {
    case PQ_BOOLEAN:
        c->phys_w = 1;
        break;
    case PQ_INT32:
    case PQ_FLOAT:
        c->phys_w = 4;
        break;
    case PQ_INT64:
    case PQ_DOUBLE:
        c->phys_w = 8;
        break;
    case PQ_INT96:
        c->phys_w = 12;
        break;
    case PQ_BYTE_ARRAY:
        c->phys_w = 0;
        break;
    case PQ_FIXED_LEN_BYTE_ARRAY:
        if (leaf->type_length <= 0)
            return err_set(INFINO_ERR_CORRUPT, "FIXED_LEN_BYTE_ARRAY of "
                                               "width %d",
                           (int)leaf->type_length);
        c->phys_w = (size_t)leaf->type_length;
        break;
    }
    c->out_w = (size_t)ar_type_bit_width(v->type) / 8;
    switch (v->type) {
    case AR_BOOL:
        if (t != PQ_BOOLEAN)
            return mismatch(c);
        c->conv = CV_BOOL;
        return INFINO_OK;
    case AR_INT8:
    case AR_UINT8:
    case AR_INT16:
    case AR_UINT16:
        if (t != PQ_INT32)
            return mismatch(c);
        c->conv = c->out_w == 1 ? CV_NARROW8 : CV_NARROW16;
        return INFINO_OK;
    case AR_INT32:
    case AR_UINT32:
    case AR_DATE32:
        if (t != PQ_INT32)
            return mismatch(c);
        c->conv = CV_COPY;
        return INFINO_OK;
    case AR_INT64:
    case AR_UINT64:
        if (t != PQ_INT64)
            return mismatch(c);
        c->conv = CV_COPY;
        return INFINO_OK;
    case AR_FLOAT32:
        if (t != PQ_FLOAT)
            return mismatch(c);
        c->conv = CV_COPY;
        return INFINO_OK;
    case AR_FLOAT64:
        if (t != PQ_DOUBLE)
            return mismatch(c);
        c->conv = CV_COPY;
        return INFINO_OK;
    case AR_TIMESTAMP: {
        int64_t want = unit_per_second(v->unit), have;
        const struct pq_logical *lt = &leaf->se->logical;
        if (t == PQ_INT96) {
            c->conv = CV_INT96;
            c->ts_factor = 1000000000 / want;
            return INFINO_OK;
        }
        if (t != PQ_INT64)
            return mismatch(c);
        if (lt->kind == PQ_LT_TIMESTAMP)
            have = lt->unit == PQ_MILLIS   ? 1000
                   : lt->unit == PQ_MICROS ? 1000000
                                           : 1000000000;
        else if (leaf->se->converted == PQ_CT_TIMESTAMP_MILLIS)
            have = 1000;
        else if (leaf->se->converted == PQ_CT_TIMESTAMP_MICROS)
            have = 1000000;
        else
            have = want; /* unannotated INT64 read as the hint says */
        if (have == want) {
            c->conv = CV_COPY;
        } else if (have < want) {
            c->conv = CV_TS_MUL;
            c->ts_factor = want / have;
        } else {
            c->conv = CV_TS_DIV;
            c->ts_factor = have / want;
        }
        return INFINO_OK;
    }
    case AR_DECIMAL128:
        c->conv = t == PQ_INT32                   ? CV_I32_DEC
                  : t == PQ_INT64                 ? CV_I64_DEC
                  : t == PQ_FIXED_LEN_BYTE_ARRAY ? CV_FLBA_DEC
                  : t == PQ_BYTE_ARRAY           ? CV_BA_DEC
                                                 : CV_COPY;
        if (c->conv == CV_COPY)
            return mismatch(c);
        return INFINO_OK;
    case AR_UTF8:
    case AR_BINARY:
    case AR_LARGE_UTF8:
    case AR_LARGE_BINARY:
        c->wide_off = v->type == AR_LARGE_UTF8 || v->type == AR_LARGE_BINARY;
        if (t == PQ_BYTE_ARRAY)
            c->conv = CV_BYTES;
        else if (t == PQ_FIXED_LEN_BYTE_ARRAY)
            c->conv = CV_FLBA_BYTES;
        else
            return mismatch(c);
        return INFINO_OK;
    default:
        return mismatch(c);
    }
}

/* ---- dictionary ------------------------------------------------------- */

static infino_status read_dictionary(struct col *c, const struct pq_page *pg)
{
    size_t n = (size_t)pg->num_values, used;
    infino_status st;

    if (c->has_dict)
        return err_set(INFINO_ERR_CORRUPT, "second dictionary page");
    if (c->levels_seen > 0)
        return err_set(INFINO_ERR_CORRUPT, "dictionary page after data");
    /* parquet.thrift: dictionary pages are PLAIN (PLAIN_DICTIONARY in
     * old files). */
    if (pg->encoding != PQ_ENC_PLAIN && pg->encoding != PQ_ENC_PLAIN_DICTIONARY)
        return err_set(INFINO_ERR_UNSUPPORTED, "dictionary encoding %s",
                       pq_encoding_name((int)pg->encoding));
    if (c->leaf->type == PQ_BOOLEAN)
        return err_set(INFINO_ERR_CORRUPT, "dictionary for BOOLEAN");
    /* Keep a copy: the page body is the iterator's scratch. */
    if ((st = ob_reserve(c, &c->dict, pg->body_len + 1, false)) != INFINO_OK)
        return st;
    if (pg->body_len > 0)
        memcpy(c->dict.p, pg->body, pg->body_len);
    c->dict.len = pg->body_len;
    if (c->phys_w > 0) {
        if (n > pg->body_len / c->phys_w)
            return err_set(INFINO_ERR_CORRUPT, "dictionary page truncated");
    } else {
        /* Every entry takes at least its 4-byte length. */
        if (n > pg->body_len / 4)
            return err_set(INFINO_ERR_CORRUPT, "dictionary page truncated");
        c->dict_views = mem_calloc(n ? n : 1, sizeof *c->dict_views);
        if (c->dict_views == NULL)
            return err_nomem();
        if ((st = pq_budget_take(c->budget, n * sizeof *c->dict_views)))
            return st;
        st = pq_plain_byte_array(c->dict_views, n, c->dict.p, c->dict.len,
                                 &used);
        if (st != INFINO_OK)
            return err_context(st, "dictionary page");
    }
    c->n_dict = n;
    c->has_dict = true;
    c->dict_bytes = c->dict.p;
    c->dict_v = c->dict_views;
    return INFINO_OK;
}

/* Dictionary indices: a bit-width byte, then RLE/bit-packed runs. */
static infino_status read_indices(struct col *c, const uint8_t *p, size_t len,
                                  size_t n)
{
    struct pq_rle d;
    uint32_t *idx, max = 0;
    infino_status st;

    if (!c->has_dict)
        return err_set(INFINO_ERR_CORRUPT,
                       "dictionary-encoded page without a dictionary");
    if (n == 0)
        return INFINO_OK;
    if (len < 1 || p[0] > 32)
        return err_set(INFINO_ERR_CORRUPT, "bad dictionary index bit width");
    if ((st = ob_reserve(c, &c->idx, n * 4, false)) != INFINO_OK)
        return st;
    idx = (uint32_t *)(void *)c->idx.p;
    pq_rle_init(&d, p + 1, len - 1, p[0]);
    if ((st = pq_rle_get_u32(&d, idx, n)) != INFINO_OK)
        return err_context(st, "dictionary indices");
    for (size_t i = 0; i < n; i++)
        max = idx[i] > max ? idx[i] : max;
    if (max >= c->n_dict)
        return err_set(INFINO_ERR_CORRUPT,
                       "dictionary index %u out of range (dictionary has %zu)",
                       max, c->n_dict);
    return INFINO_OK;
}

/* ---- dense value decoding --------------------------------------------- */

static infino_status bad_encoding(const struct col *c, int enc)
{
    return err_set(INFINO_ERR_UNSUPPORTED, "encoding %s (%d) for %s",
                   pq_encoding_name(enc), enc,
                   pq_type_name((int)c->leaf->type));
}

/* Decodes `n` fixed-width stored values (phys_w bytes each) to `dst`. */
static infino_status decode_fixed(struct col *c, enum pq_encoding enc,
                                  const uint8_t *p, size_t len, uint8_t *dst,
                                  size_t n)
{
    size_t w = c->phys_w, used;
    infino_status st;

    if (n == 0)
        return INFINO_OK; /* all null: some writers leave no value bytes */
    switch (enc) {
    case PQ_ENC_PLAIN:
        if (n > len / w)
            return err_set(INFINO_ERR_CORRUPT, "PLAIN values truncated");
        memcpy(dst, p, n * w);
        return INFINO_OK;
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY: {
        const uint32_t *idx;
        const uint8_t *dict = c->dict_bytes;
        if ((st = read_indices(c, p, len, n)) != INFINO_OK)
            return st;
        idx = (const uint32_t *)(const void *)c->idx.p;
        if (w == 4) {
            for (size_t i = 0; i < n; i++)
                memcpy(dst + 4 * i, dict + 4 * (size_t)idx[i], 4);
        } else if (w == 8) {
            for (size_t i = 0; i < n; i++)
                memcpy(dst + 8 * i, dict + 8 * (size_t)idx[i], 8);
        } else {
            for (size_t i = 0; i < n; i++)
                memcpy(dst + w * i, dict + w * (size_t)idx[i], w);
        }
        return INFINO_OK;
    }
    case PQ_ENC_DELTA_BINARY_PACKED:
        if (c->leaf->type == PQ_INT32)
            return pq_delta_i32((int32_t *)(void *)dst, n, p, len, &used);
        if (c->leaf->type == PQ_INT64)
            return pq_delta_i64((int64_t *)(void *)dst, n, p, len, &used);
        return bad_encoding(c, (int)enc);
    case PQ_ENC_BYTE_STREAM_SPLIT:
        return pq_byte_stream_split(dst, n, w, p, len);
    case PQ_ENC_DELTA_BYTE_ARRAY: {
        struct pq_view *v;
        if (c->leaf->type != PQ_FIXED_LEN_BYTE_ARRAY)
            return bad_encoding(c, (int)enc);
        if ((st = ob_reserve(c, &c->views, n * sizeof *v, false)) ||
            (st = ob_reserve(c, &c->lens, n * 8, false)))
            return st;
        v = (struct pq_view *)(void *)c->views.p;
        st = pq_delta_byte_array(v, n, p, len, (int32_t *)(void *)c->lens.p,
                                 &c->dba, c->budget);
        if (st != INFINO_OK)
            return st;
        for (size_t i = 0; i < n; i++) {
            if (v[i].len != w)
                return err_set(INFINO_ERR_CORRUPT,
                               "FIXED_LEN_BYTE_ARRAY value of %zu bytes, "
                               "expected %zu",
                               v[i].len, w);
            memcpy(dst + w * i, v[i].p, w);
        }
        return INFINO_OK;
    }
    default:
        return bad_encoding(c, (int)enc);
    }
}

/* Decodes `n` BYTE_ARRAY values as views into c->views. */
static infino_status decode_views(struct col *c, enum pq_encoding enc,
                                  const uint8_t *p, size_t len, size_t n)
{
    struct pq_view *v;
    size_t used;
    infino_status st;

    if ((st = ob_reserve(c, &c->views, (n ? n : 1) * sizeof *v, false)))
        return st;
    v = (struct pq_view *)(void *)c->views.p;
    if (n == 0)
        return INFINO_OK;
    switch (enc) {
    case PQ_ENC_PLAIN:
        return pq_plain_byte_array(v, n, p, len, &used);
    case PQ_ENC_PLAIN_DICTIONARY:
    case PQ_ENC_RLE_DICTIONARY: {
        const uint32_t *idx;
        if ((st = read_indices(c, p, len, n)) != INFINO_OK)
            return st;
        idx = (const uint32_t *)(const void *)c->idx.p;
        for (size_t i = 0; i < n; i++)
            v[i] = c->dict_v[idx[i]];
        return INFINO_OK;
    }
    case PQ_ENC_DELTA_LENGTH_BYTE_ARRAY:
        if ((st = ob_reserve(c, &c->lens, (n ? n : 1) * 4, false)))
            return st;
        return pq_delta_length_byte_array(v, n, p, len,
                                          (int32_t *)(void *)c->lens.p);
    case PQ_ENC_DELTA_BYTE_ARRAY:
        if ((st = ob_reserve(c, &c->lens, (n ? n : 1) * 8, false)))
            return st;
        return pq_delta_byte_array(v, n, p, len, (int32_t *)(void *)c->lens.p,
                                   &c->dba, c->budget);
    default:
        return bad_encoding(c, (int)enc);
    }
}

/* Booleans into bytes 0/1 at c->dense. PLAIN is bit-packed; RLE carries
 * a 4-byte length prefix (Encodings.md, RLE for booleans). */
static infino_status decode_bools(struct col *c, enum pq_encoding enc,
                                  const uint8_t *p, size_t len, size_t n)
{
    struct pq_rle d;
    uint32_t blen;
    infino_status st;

    if ((st = ob_reserve(c, &c->dense, n + 8, false)) != INFINO_OK)
        return st;
    if (n == 0)
        return INFINO_OK;
    if (enc == PQ_ENC_PLAIN)
        return pq_plain_bool(c->dense.p, n, p, len);
    if (enc != PQ_ENC_RLE)
        return bad_encoding(c, (int)enc);
    if (len < 4 || (blen = load_u32le(p)) > len - 4)
        return err_set(INFINO_ERR_CORRUPT, "RLE booleans truncated");
    pq_rle_init(&d, p + 4, blen, 1);
    if ((st = pq_rle_get_u8(&d, c->dense.p, n)) != INFINO_OK)
        return st;
    for (size_t i = 0; i < n; i++)
        if (c->dense.p[i] > 1)
            return err_set(INFINO_ERR_CORRUPT, "RLE boolean above 1");
    return INFINO_OK;
}

/* ---- conversions ------------------------------------------------------ */

/* Big-endian two's complement of `n` bytes -> 16 bytes little-endian,
 * sign-extended. Longer inputs must be sign extension only. */
static infino_status be_to_dec(uint8_t out[16], const uint8_t *p, size_t n)
{
    uint8_t fill;

    if (n == 0)
        return err_set(INFINO_ERR_CORRUPT, "empty decimal");
    fill = (p[0] & 0x80) ? 0xff : 0;
    while (n > 16) {
        if (p[0] != fill || ((p[1] ^ fill) & 0x80))
            return err_set(INFINO_ERR_CORRUPT, "decimal exceeds 128 bits");
        p++;
        n--;
    }
    for (size_t i = 0; i < 16; i++)
        out[i] = i < n ? p[n - 1 - i] : fill;
    return INFINO_OK;
}

static inline void i64_to_dec(uint8_t *out, int64_t v)
{
    store_u64le(out, (uint64_t)v);
    store_u64le(out + 8, v < 0 ? UINT64_MAX : 0);
}

/* Writes dense value k (of `src`) to output position `dst_i` per c->conv,
 * for the fixed-width conversions. */
static infino_status convert(struct col *c, const uint8_t *src, size_t n_src,
                             int64_t pos0, int64_t n_pos,
                             const uint8_t *presence)
{
    uint8_t *out = c->vals.p + (size_t)pos0 * c->out_w;
    size_t w = c->phys_w, k = 0;
    int64_t f = c->ts_factor;

    /* One loop per conversion; `presence` NULL means every position
     * holds a value. Absent positions are zeroed. */
#define EACH(BODY)                                                             \
    for (int64_t i = 0; i < n_pos; i++) {                                      \
        if (presence && !bit_get(presence, i)) {                               \
            memset(out + (size_t)i * c->out_w, 0, c->out_w);                   \
            continue;                                                          \
        }                                                                      \
        BODY;                                                                  \
        k++;                                                                   \
    }
    switch (c->conv) {
    case CV_NARROW8:
        EACH(out[i] = (uint8_t)load_u32le(src + 4 * k))
        break;
    case CV_NARROW16:
        EACH(store_u16le(out + 2 * i, (uint16_t)load_u32le(src + 4 * k)))
        break;
    case CV_I32_DEC:
        EACH(i64_to_dec(out + 16 * i, (int32_t)load_u32le(src + 4 * k)))
        break;
    case CV_I64_DEC:
        EACH(i64_to_dec(out + 16 * i, (int64_t)load_u64le(src + 8 * k)))
        break;
    case CV_FLBA_DEC:
        EACH({
            infino_status st = be_to_dec(out + 16 * i, src + w * k, w);
            if (st != INFINO_OK)
                return st;
        })
        break;
    case CV_TS_MUL:
        EACH({
            int64_t v = (int64_t)load_u64le(src + 8 * k);
            if (v > INT64_MAX / f || v < INT64_MIN / f)
                return err_set(INFINO_ERR_CORRUPT,
                               "timestamp out of range for its unit");
            store_u64le(out + 8 * i, (uint64_t)(v * f));
        })
        break;
    case CV_TS_DIV:
        EACH(store_u64le(out + 8 * i,
                         (uint64_t)((int64_t)load_u64le(src + 8 * k) / f)))
        break;
    case CV_INT96:
        /* Impala: nanoseconds of the day (8 bytes), then the Julian day
         * (4 bytes); day 2440588 is 1970-01-01. Wraps as Arrow does. */
        EACH({
            uint64_t nanos = load_u64le(src + 12 * k);
            int64_t day = (int32_t)load_u32le(src + 12 * k + 8);
            uint64_t ns = (uint64_t)(day - 2440588) * UINT64_C(86400000000000) +
                          nanos;
            store_u64le(out + 8 * i, (uint64_t)((int64_t)ns / f));
        })
        break;
    default:
        break;
    }
#undef EACH
    (void)n_src;
    return INFINO_OK;
}

/* Spreads `n_present` dense values of width w at the front of `base`
 * backward over `n_pos` positions; absent positions are zeroed. Dense
 * value k lands at or after index k, so no value is overwritten before
 * it has moved. */
static void spread(uint8_t *base, size_t w, int64_t n_pos, size_t n_present,
                   const uint8_t *presence)
{
    size_t k = n_present;

    for (int64_t i = n_pos - 1; i >= 0; i--) {
        if (bit_get(presence, i)) {
            k--;
            if ((size_t)i != k)
                memcpy(base + (size_t)i * w, base + k * w, w);
        } else {
            memset(base + (size_t)i * w, 0, w);
        }
    }
}

/* The size a buffer that holds `used` bytes for the levels decoded so far
 * will likely reach at the end of the chunk (plus 1/16), or 0 when the
 * read is not of a whole chunk. A guess from counts in the file. */
static uint64_t extrapolate(const struct col *c, size_t used)
{
    double est;

    if (!c->whole || c->levels_seen <= 0 ||
        c->cm->num_values <= c->levels_seen)
        return 0;
    est = (double)used * 1.0625 * (double)c->cm->num_values /
          (double)c->levels_seen;
    return est < 1e18 ? (uint64_t)est : 0;
}

/* Appends byte values (views) to offsets/data over the positions. */
static infino_status append_bytes(struct col *c, const struct pq_view *v,
                                  size_t n, int64_t pos0, int64_t n_pos,
                                  const uint8_t *presence)
{
    uint64_t total = 0;
    int64_t base;
    size_t k = 0, ow = c->wide_off ? 8 : 4;
    uint8_t *data;
    infino_status st;

    for (size_t i = 0; i < n; i++)
        total += v[i].len;
    base = pos0 == 0 ? 0
           : c->wide_off
               ? (int64_t)load_u64le(c->voff.p + 8 * (size_t)pos0)
               : (int64_t)(int32_t)load_u32le(c->voff.p + 4 * (size_t)pos0);
    if (!c->wide_off && (uint64_t)base + total > INT32_MAX)
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "more than 2 GiB of strings in one row group for a "
                       "32-bit offset type");
    if ((st = ob_reserve_hint(c, &c->vdata, (size_t)base + (size_t)total + 1,
                              extrapolate(c, (size_t)base + (size_t)total))) ||
        (st = ob_reserve_hint(c, &c->voff, (size_t)(pos0 + n_pos + 1) * ow,
                              extrapolate(c, (size_t)(pos0 + n_pos + 1) * ow))))
        return st;
    data = c->vdata.p;
    for (int64_t i = 0; i < n_pos; i++) {
        if (!presence || bit_get(presence, i)) {
            memcpy(data + base, v[k].p, v[k].len);
            base += (int64_t)v[k].len;
            k++;
        }
        if (c->wide_off)
            store_u64le(c->voff.p + 8 * (size_t)(pos0 + i + 1),
                        (uint64_t)base);
        else
            store_u32le(c->voff.p + 4 * (size_t)(pos0 + i + 1),
                        (uint32_t)base);
    }
    c->vdata.len = (size_t)base;
    return INFINO_OK;
}

/* While selecting, keeps elements vsel[] of the `w`-byte elements at
 * `base` (a page's decoded values), in order, and sets *n to their count. */
static void keep_selected(const struct col *c, uint8_t *base, size_t w,
                          size_t *n)
{
    size_t g = c->sel_group;

    if (!c->selecting)
        return;
    /* vsel ascends and vsel[k] >= k: sources never overlap destinations */
    for (size_t k = 0; k < c->n_vsel; k++)
        if (c->vsel[k] != k)
            memcpy(base + k * g * w, base + (size_t)c->vsel[k] * g * w,
                   g * w);
    *n = c->n_vsel * g;
}

/* Decodes a page's `n` present values into positions [pos0, pos0+n_pos).
 * `presence` (bit i for position pos0 + i) is NULL when all are present.
 * While selecting, `n` counts the page's present values and the positions
 * are those of the selected rows only. */
static infino_status decode_values(struct col *c, enum pq_encoding enc,
                                   const uint8_t *p, size_t len, size_t n,
                                   int64_t pos0, int64_t n_pos,
                                   const uint8_t *presence)
{
    infino_status st;

    /* A point read needs the page's values up to its last selected one:
     * decoding (dictionary indices, byte-array lengths, bit unpacking)
     * stops there. */
    if (c->selecting) {
        size_t need = c->n_vsel == 0 ? 0
                                     : ((size_t)c->vsel[c->n_vsel - 1] + 1) *
                                           c->sel_group;
        if (need < n)
            n = need;
    }
    switch (c->conv) {
    case CV_COPY: {
        size_t w = c->out_w;
        size_t need = (size_t)(pos0 + n_pos) * w + 1;
        uint8_t *dst;
        if ((st = ob_reserve_hint(c, &c->vals, need, extrapolate(c, need))))
            return st;
        dst = c->vals.p + (size_t)pos0 * w;
        if (c->selecting && enc == PQ_ENC_PLAIN && w == c->phys_w) {
            /* straight from the page: only the selected values move */
            size_t g = c->sel_group * w;
            if (n > len / w)
                return err_set(INFINO_ERR_CORRUPT, "PLAIN values truncated");
            for (size_t k = 0; k < c->n_vsel; k++)
                memcpy(dst + k * g, p + (size_t)c->vsel[k] * g, g);
            n = c->n_vsel * c->sel_group;
        } else if (c->selecting) {
            if ((st = ob_reserve(c, &c->dense, n * w + 1, false)) ||
                (st = decode_fixed(c, enc, p, len, c->dense.p, n)))
                return st;
            keep_selected(c, c->dense.p, w, &n);
            if (n > 0)
                memcpy(dst, c->dense.p, n * w);
        } else if ((st = decode_fixed(c, enc, p, len, dst, n)) != INFINO_OK) {
            return st;
        }
        if (presence)
            spread(dst, w, n_pos, n, presence);
        return INFINO_OK;
    }
    case CV_BOOL: {
        size_t k = 0;
        if ((st = decode_bools(c, enc, p, len, n)) != INFINO_OK)
            return st;
        keep_selected(c, c->dense.p, 1, &n);
        if ((st = ob_reserve(c, &c->vals, (size_t)(pos0 + n_pos + 7) / 8 + 1,
                             true)))
            return st;
        for (int64_t i = 0; i < n_pos; i++) {
            if (presence && !bit_get(presence, i))
                continue;
            if (c->dense.p[k++])
                bit_set(c->vals.p, pos0 + i);
        }
        return INFINO_OK;
    }
    case CV_BYTES: {
        if ((st = decode_views(c, enc, p, len, n)) != INFINO_OK)
            return st;
        keep_selected(c, c->views.p, sizeof(struct pq_view), &n);
        return append_bytes(c, (const struct pq_view *)(void *)c->views.p, n,
                            pos0, n_pos, presence);
    }
    case CV_FLBA_BYTES: {
        struct pq_view *v;
        if ((st = ob_reserve(c, &c->dense, n * c->phys_w + 1, false)) ||
            (st = decode_fixed(c, enc, p, len, c->dense.p, n)))
            return st;
        keep_selected(c, c->dense.p, c->phys_w, &n);
        if ((st = ob_reserve(c, &c->views, (n ? n : 1) * sizeof *v, false)))
            return st;
        v = (struct pq_view *)(void *)c->views.p;
        for (size_t i = 0; i < n; i++) {
            v[i].p = c->dense.p + i * c->phys_w;
            v[i].len = c->phys_w;
        }
        return append_bytes(c, v, n, pos0, n_pos, presence);
    }
    case CV_BA_DEC: {
        const struct pq_view *v;
        size_t k = 0, need = (size_t)(pos0 + n_pos) * 16 + 1;
        if ((st = decode_views(c, enc, p, len, n)) != INFINO_OK)
            return st;
        keep_selected(c, c->views.p, sizeof(struct pq_view), &n);
        if ((st = ob_reserve_hint(c, &c->vals, need, extrapolate(c, need))))
            return st;
        v = (const struct pq_view *)(void *)c->views.p;
        for (int64_t i = 0; i < n_pos; i++) {
            uint8_t *o = c->vals.p + (size_t)(pos0 + i) * 16;
            if (presence && !bit_get(presence, i)) {
                memset(o, 0, 16);
                continue;
            }
            if ((st = be_to_dec(o, v[k].p, v[k].len)) != INFINO_OK)
                return st;
            k++;
        }
        return INFINO_OK;
    }
    default: /* fixed-width conversions */
        if ((st = ob_reserve(c, &c->dense, n * c->phys_w + 1, false)) ||
            (st = decode_fixed(c, enc, p, len, c->dense.p, n)))
            return st;
        keep_selected(c, c->dense.p, c->phys_w, &n);
        if ((st = ob_reserve_hint(
                 c, &c->vals, (size_t)(pos0 + n_pos) * c->out_w + 1,
                 extrapolate(c, (size_t)(pos0 + n_pos) * c->out_w + 1))))
            return st;
        return convert(c, c->dense.p, n, pos0, n_pos, presence);
    }
}

/* ---- levels ----------------------------------------------------------- */

/* Reads one v1 level section (RLE with a u32 length, or BIT_PACKED) into
 * `out`, advancing *p / *len past it. */
static infino_status read_levels_v1(uint8_t *out, size_t n, int max_level,
                                    enum pq_encoding enc, const uint8_t **p,
                                    size_t *len)
{
    int bw = pq_bit_width((uint32_t)max_level);
    size_t used;
    infino_status st;

    if (enc == PQ_ENC_RLE) {
        struct pq_rle d;
        uint32_t m;
        if (*len < 4 || (m = load_u32le(*p)) > *len - 4)
            return err_set(INFINO_ERR_CORRUPT, "level section truncated");
        pq_rle_init(&d, *p + 4, m, bw);
        if ((st = pq_rle_get_u8(&d, out, n)) != INFINO_OK)
            return st;
        used = 4 + (size_t)m;
    } else if (enc == PQ_ENC_BIT_PACKED) {
        if ((st = pq_bit_packed_get_u8(out, n, bw, *p, *len, &used)))
            return st;
    } else {
        return err_set(INFINO_ERR_UNSUPPORTED, "level encoding %s",
                       pq_encoding_name((int)enc));
    }
    *p += used;
    *len -= used;
    return INFINO_OK;
}

static infino_status read_levels_v2(uint8_t *out, size_t n, int max_level,
                                    const uint8_t *p, size_t len)
{
    struct pq_rle d;

    pq_rle_init(&d, p, len, pq_bit_width((uint32_t)max_level));
    return pq_rle_get_u8(&d, out, n);
}

/* Level scans over whole pages run eight bytes at a time (SWAR): the
 * level arrays of a list column hold one byte per value. */
#define ONES UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

static bool all_equal(const uint8_t *p, size_t n, uint8_t v)
{
    uint64_t pat = ONES * v, diff = 0;
    size_t i = 0;

    for (; i + 8 <= n; i += 8)
        diff |= load_u64le(p + i) ^ pat;
    for (; i < n; i++)
        diff |= p[i] ^ v;
    return diff == 0;
}

/* Whether any byte exceeds `limit` (<= 127): adding 127 - limit sets a
 * byte's top bit exactly when it exceeds the limit, without carrying into
 * its neighbour; bytes >= 128 have the bit already. */
static bool any_above(const uint8_t *p, size_t n, uint8_t limit)
{
    uint64_t add = ONES * (uint64_t)(127 - limit), acc = 0;
    size_t i = 0;

    for (; i + 8 <= n; i += 8) {
        uint64_t w = load_u64le(p + i);
        acc |= (w + add) | w;
    }
    for (; i < n; i++)
        if (p[i] > limit)
            return true;
    return (acc & HIGHS) != 0;
}

/* Level pass for a primitive column: validity of positions
 * [n_vals, n_vals + n). Returns the present count in *n_present. */
static infino_status levels_flat(struct col *c, const uint8_t *def, size_t n,
                                 size_t *n_present, const uint8_t **presence,
                                 int64_t *presence_off)
{
    int16_t max_def = c->leaf->max_def;
    size_t present = 0;
    infino_status st;

    *presence = NULL;
    *presence_off = 0;
    if (max_def == 0) {
        *n_present = n;
        return INFINO_OK;
    }
    if (any_above(def, n, (uint8_t)max_def))
        return err_set(INFINO_ERR_CORRUPT, "definition level above %d",
                       (int)max_def);
    for (size_t i = 0; i < n; i++)
        present += def[i] == max_def;
    *n_present = present;
    if (present == n && !c->val_valid_on)
        return INFINO_OK; /* no bitmap yet, and none needed */
    st = validity_on(c, &c->val_valid, &c->val_valid_on, c->n_vals,
                     c->n_vals + (int64_t)n);
    if (st != INFINO_OK)
        return st;
    if (present == n) {
        bits_fill(c->val_valid.p, c->n_vals, c->n_vals + (int64_t)n);
        return INFINO_OK;
    }
    for (size_t i = 0; i < n; i++)
        if (def[i] == max_def)
            bit_set(c->val_valid.p, c->n_vals + (int64_t)i);
    c->val_nulls += (int64_t)(n - present);
    *presence = c->val_valid.p;
    *presence_off = c->n_vals;
    return INFINO_OK;
}

/* Closes the open list slot (FIXED_SIZE_LIST: checks its length). */
static infino_status close_slot(struct col *c)
{
    if (c->fsl && c->n_slots > 0 && c->n_vals - c->slot_start != c->list_size)
        return err_set(INFINO_ERR_CORRUPT,
                       "list of %lld values in a fixed_size_list of %lld",
                       (long long)(c->n_vals - c->slot_start),
                       (long long)c->list_size);
    return INFINO_OK;
}

static infino_status push_offset(struct col *c, int64_t v)
{
    infino_status st;

    if (c->fsl)
        return INFINO_OK;
    if (c->list_wide) {
        st = ob_reserve(c, &c->list_off, (size_t)(c->n_slots + 2) * 8, false);
        if (st == INFINO_OK)
            store_u64le(c->list_off.p + 8 * (size_t)c->n_slots, (uint64_t)v);
    } else {
        if (v > INT32_MAX)
            return err_set(INFINO_ERR_UNSUPPORTED,
                           "more than 2^31 list values in one row group for "
                           "a 32-bit offset list");
        st = ob_reserve(c, &c->list_off, (size_t)(c->n_slots + 2) * 4, false);
        if (st == INFINO_OK)
            store_u32le(c->list_off.p + 4 * (size_t)c->n_slots, (uint32_t)v);
    }
    return st;
}

/* Level pass for a list column over one page's `n` levels. Value
 * positions are items: [n_vals, n_vals + *n_pos) after the call. */
static infino_status levels_list(struct col *c, const uint8_t *rep,
                                 const uint8_t *def, size_t n,
                                 size_t *n_present, int64_t *n_pos,
                                 const uint8_t **presence)
{
    const struct pq_leaf *leaf = c->leaf;
    int16_t max_def = leaf->max_def, list_def = leaf->list_def;
    int64_t pos0 = c->n_vals, items = c->n_vals;
    size_t present = 0;
    uint8_t *pres;
    infino_status st;

    *presence = NULL;
    if (n == 0) {
        *n_present = 0;
        *n_pos = 0;
        return INFINO_OK;
    }
    if (any_above(rep, n, 1))
        return err_set(INFINO_ERR_CORRUPT, "repetition level above 1");
    if (c->levels_seen == 0 && rep[0] != 0)
        return err_set(INFINO_ERR_CORRUPT,
                       "column chunk starts inside a list");
    if (c->rows_aligned && rep[0] != 0)
        return err_set(INFINO_ERR_CORRUPT, "page starts inside a list");

    if (all_equal(def, n, (uint8_t)max_def)) {
        /* Fast path: every level is a present value. Slots start where
         * the repetition level is 0. */
        const uint8_t *q = rep, *end = rep + n;
        int64_t first_new = c->n_slots;
        while ((q = memchr(q, 0, (size_t)(end - q))) != NULL) {
            int64_t at = items + (q - rep);
            c->n_vals = at;
            if ((st = close_slot(c)) || (st = push_offset(c, at)))
                return st;
            c->n_slots++;
            c->slot_start = at;
            if (c->n_slots > c->num_rows)
                return err_set(INFINO_ERR_CORRUPT, "more lists than rows");
            q++;
        }
        c->n_vals = items + (int64_t)n;
        /* Lazy bitmaps already on (nulls earlier): mark the new bits. */
        if (c->slot_valid_on) {
            st = ob_reserve(c, &c->slot_valid, (size_t)(c->n_slots + 7) / 8 + 1,
                            true);
            if (st != INFINO_OK)
                return st;
            bits_fill(c->slot_valid.p, first_new, c->n_slots);
        }
        if (c->val_valid_on) {
            st = ob_reserve(c, &c->val_valid, (size_t)(c->n_vals + 7) / 8 + 1,
                            true);
            if (st != INFINO_OK)
                return st;
            bits_fill(c->val_valid.p, items, c->n_vals);
        }
        *n_present = n;
        *n_pos = (int64_t)n;
        return INFINO_OK;
    }

    if (any_above(def, n, (uint8_t)max_def))
        return err_set(INFINO_ERR_CORRUPT, "definition level above %d",
                       (int)max_def);
    /* General path: the presence bitmap covers this page's positions. An
     * upper bound on them: one per level, plus placeholders for null
     * fixed-size slots. */
    {
        uint64_t bound = n, null_slots = 0;
        if (c->fsl) {
            for (size_t i = 0; i < n; i++)
                null_slots += rep[i] == 0 && def[i] < list_def;
            bound += null_slots * (uint64_t)c->list_size;
        }
        if ((st = ob_reserve(c, &c->presence, (size_t)(bound + 7) / 8 + 1,
                             false)))
            return st;
        memset(c->presence.p, 0, (size_t)(bound + 7) / 8 + 1);
        pres = c->presence.p;
    }
    for (size_t i = 0; i < n; i++) {
        uint8_t d = def[i];
        if (rep[i] == 0) {
            /* A new slot: null below list_def, empty at list_def. */
            c->n_vals = items;
            if ((st = close_slot(c)) || (st = push_offset(c, items)))
                return st;
            if (c->n_slots >= c->num_rows)
                return err_set(INFINO_ERR_CORRUPT, "more lists than rows");
            c->slot_start = items;
            if (d < list_def) {
                st = validity_on(c, &c->slot_valid, &c->slot_valid_on,
                                 c->n_slots, c->n_slots + 1);
                if (st != INFINO_OK)
                    return st;
                c->slot_nulls++;
                if (c->fsl && c->list_size > 0) {
                    /* Arrow keeps list_size child slots under a null
                     * fixed-size slot; they hold nothing. */
                    if (c->val_nullable) {
                        st = validity_on(c, &c->val_valid, &c->val_valid_on,
                                         items, items + c->list_size);
                        if (st != INFINO_OK)
                            return st;
                        c->val_nulls += c->list_size;
                    }
                    items += c->list_size;
                }
            } else if (c->slot_valid_on) {
                st = ob_reserve(c, &c->slot_valid,
                                (size_t)(c->n_slots + 8) / 8 + 1, true);
                if (st != INFINO_OK)
                    return st;
                bit_set(c->slot_valid.p, c->n_slots);
            }
            c->n_slots++;
        } else if (d <= list_def) {
            return err_set(INFINO_ERR_CORRUPT,
                           "repeated level without a value");
        }
        if (d > list_def) {
            /* An item: a value at max_def, else a null item. */
            if (d == max_def) {
                bit_set(pres, items - pos0);
                present++;
                if (c->val_valid_on) {
                    st = ob_reserve(c, &c->val_valid,
                                    (size_t)(items + 8) / 8 + 1, true);
                    if (st != INFINO_OK)
                        return st;
                    bit_set(c->val_valid.p, items);
                }
            } else {
                st = validity_on(c, &c->val_valid, &c->val_valid_on, items,
                                 items + 1);
                if (st != INFINO_OK)
                    return st;
                c->val_nulls++;
            }
            items++;
        }
    }
    c->n_vals = items;
    *n_present = present;
    *n_pos = items - pos0;
    if (present < (size_t)(items - pos0))
        *presence = pres;
    return INFINO_OK;
}

/* ---- pages ------------------------------------------------------------ */

/* How many of the n levels equal `level` (a loop compilers vectorize). */
static size_t count_level(const uint8_t *def, size_t n, uint8_t level)
{
    size_t m = 0;

    for (size_t i = 0; i < n; i++)
        m += def[i] == level;
    return m;
}

/* Selecting (flat columns): maps the selected rows of a page of `n` rows
 * to their value indexes (c->vsel) and moves their definition levels to
 * the front of c->def. Returns how many values the page holds. A
 * selected row at or past `n` stops the walk (the caller reports it). */
static size_t select_rows(struct col *c, size_t n)
{
    int16_t max_def = c->leaf->max_def;
    uint8_t *def = c->def.p;
    size_t j = 0, k = 0, vi = 0, counted = 0;

    if (max_def == 0) {
        /* Every row holds a value, so a row's value index is the row:
         * no walk over the page's rows (2,048 of them in a 16 KiB page of
         * int64, for the one a search hit needs). */
        for (; j < c->n_sel && c->sel[j] < n; j++)
            c->vsel[j] = c->sel[j];
        if (j < c->n_sel)
            c->n_sel = n + 1; /* flags the row past the page's end */
        return n;
    }
    /* sel is ascending and unique, so sel[j] >= j: moving the selected
     * rows' levels to the front overwrites only levels already counted. */
    for (; j < c->n_sel && c->sel[j] < n; j++) {
        size_t row = c->sel[j];
        vi += count_level(def + counted, row - counted, (uint8_t)max_def);
        counted = row;
        if (def[row] == max_def)
            c->vsel[k++] = (uint32_t)vi;
        def[j] = def[row];
    }
    if (j < c->n_sel)
        c->n_sel = n + 1;
    return vi + count_level(def + counted, n - counted, (uint8_t)max_def);
}

/* Selecting in a fixed_size_list page whose chunk has no null (so every
 * slot holds list_size present values): checks that the levels say so,
 * then keeps the selected slots (vsel: slot indexes; a slot's values are
 * the group at vsel[k] * list_size). */
static infino_status select_fsl(struct col *c, const uint8_t *rep,
                                const uint8_t *def, size_t n)
{
    size_t L = c->sel_group, rows;
    int64_t first_new = c->n_slots;

    if (!all_equal(def, n, (uint8_t)c->leaf->max_def))
        return err_set(INFINO_ERR_CORRUPT,
                       "a null in a column chunk whose statistics count "
                       "none");
    if (n % L != 0)
        return err_set(INFINO_ERR_CORRUPT,
                       "a page of %zu values in a fixed_size_list of %zu",
                       n, L);
    for (size_t i = 0; i < n; i += L)
        if (rep[i] != 0 || !all_equal(rep + i + 1, L - 1, 1))
            return err_set(INFINO_ERR_CORRUPT,
                           "list of a length other than %zu in a "
                           "fixed_size_list", L);
    rows = n / L;
    if (c->n_sel > 0 && c->sel[c->n_sel - 1] >= rows)
        return err_set(INFINO_ERR_CORRUPT,
                       "a page holds %zu rows, the page map more", rows);
    if ((uint64_t)c->n_slots + c->n_sel > (uint64_t)c->num_rows)
        return err_set(INFINO_ERR_CORRUPT, "more lists than rows");
    for (size_t k = 0; k < c->n_sel; k++)
        c->vsel[k] = c->sel[k];
    c->n_vsel = c->n_sel;
    c->n_slots += (int64_t)c->n_sel;
    c->n_vals += (int64_t)(c->n_sel * L);
    c->slot_start = c->n_vals - (int64_t)L;
    if (c->slot_valid_on) {
        infino_status st = ob_reserve(
            c, &c->slot_valid, (size_t)(c->n_slots + 7) / 8 + 1, true);
        if (st != INFINO_OK)
            return st;
        bits_fill(c->slot_valid.p, first_new, c->n_slots);
    }
    return INFINO_OK;
}

static infino_status read_data_page(struct col *c, const struct pq_page *pg)
{
    const struct pq_leaf *leaf = c->leaf;
    size_t n = (size_t)pg->num_values, n_present = 0;
    const uint8_t *vp, *presence;
    size_t vlen;
    int64_t pos0 = c->n_vals, n_pos = 0, presence_off = 0;
    infino_status st;

    if ((uint64_t)c->levels_seen + n > (uint64_t)c->cm->num_values)
        return err_set(INFINO_ERR_CORRUPT,
                       "pages hold more values than the column chunk's %lld",
                       (long long)c->cm->num_values);
    if (leaf->max_rep > 0 &&
        (st = ob_reserve(c, &c->rep, n + 1, false)) != INFINO_OK)
        return st;
    if (leaf->max_def > 0 &&
        (st = ob_reserve(c, &c->def, n + 1, false)) != INFINO_OK)
        return st;
    if (!pg->v2) {
        vp = pg->body;
        vlen = pg->body_len;
        if (leaf->max_rep > 0)
            CHECK(read_levels_v1(c->rep.p, n, leaf->max_rep, pg->rep_encoding,
                                 &vp, &vlen));
        if (leaf->max_def > 0)
            CHECK(read_levels_v1(c->def.p, n, leaf->max_def, pg->def_encoding,
                                 &vp, &vlen));
    } else {
        if (leaf->max_rep > 0)
            CHECK(read_levels_v2(c->rep.p, n, leaf->max_rep, pg->levels,
                                 pg->rep_len));
        if (leaf->max_def > 0)
            CHECK(read_levels_v2(c->def.p, n, leaf->max_def,
                                 pg->levels + pg->rep_len, pg->def_len));
        vp = pg->values;
        vlen = pg->values_len;
    }
    if (leaf->max_rep == 0) {
        size_t n_rows = n;
        if (c->selecting) {
            if (leaf->max_def > 0 &&
                any_above(c->def.p, n, (uint8_t)leaf->max_def))
                return err_set(INFINO_ERR_CORRUPT,
                               "definition level above %d",
                               (int)leaf->max_def);
            n_present = select_rows(c, n);
            if (c->n_sel > n)
                return err_set(INFINO_ERR_CORRUPT,
                               "a page holds %zu rows, the page map more",
                               n);
            n_rows = c->n_sel;
        }
        if ((uint64_t)c->n_vals + n_rows > (uint64_t)c->num_rows)
            return err_set(INFINO_ERR_CORRUPT, "more values than rows");
        /* selecting: n_present counts the page's values, the levels and
         * positions are the selected rows' */
        CHECK(levels_flat(c, c->def.p, n_rows,
                          c->selecting ? &c->n_vsel : &n_present, &presence,
                          &presence_off));
        n = n_rows;
        n_pos = (int64_t)n;
        c->n_vals += (int64_t)n;
        if (presence != NULL) {
            /* The validity bitmap is the presence map; realign it to the
             * page when the page starts inside a byte. */
            if (presence_off & 7) {
                uint8_t *pres;
                if ((st = ob_reserve(c, &c->presence, n / 8 + 2, false)))
                    return st;
                pres = c->presence.p;
                memset(pres, 0, n / 8 + 2);
                for (size_t i = 0; i < n; i++)
                    if (bit_get(presence, presence_off + (int64_t)i))
                        bit_set(pres, (int64_t)i);
                presence = pres;
            } else {
                presence += presence_off >> 3;
            }
        }
    } else if (c->selecting) {
        CHECK(select_fsl(c, c->rep.p, c->def.p, n));
        presence = NULL; /* no null anywhere */
        n_present = n;
        n_pos = (int64_t)(c->n_vsel * c->sel_group);
    } else {
        CHECK(levels_list(c, c->rep.p, c->def.p, n, &n_present, &n_pos,
                          &presence));
    }
    c->levels_seen += (int64_t)n;
    CHECK(decode_values(c, pg->encoding, vp, vlen, n_present, pos0, n_pos,
                        presence));
    return INFINO_OK;
fail:
    return st;
}

/* ---- output arrays ---------------------------------------------------- */

/* private_data of the arrays a read returns: as ar_array_make() makes
 * them, except that buffers that came from the read's pool go back to it
 * when the consumer releases the array. A leaf has up to three buffers; a
 * list has up to two and its values as the one child. */
struct out_array {
    struct bufpool *pool; /* a reference while any buffer is pooled */
    void *bufs[3];        /* owned */
    size_t pool_caps[3];  /* nonzero: bufs[i] goes back to `pool` */
    struct ArrowArray child;
    struct ArrowArray *child_ptr;
};

static void out_array_release(struct ArrowArray *a)
{
    struct out_array *o;

    if (a == NULL || a->release == NULL)
        return;
    o = a->private_data;
    if (a->n_children > 0)
        ar_array_release(&o->child);
    for (int i = 0; i < 3; i++) {
        if (o->pool_caps[i] != 0)
            bufpool_put(o->pool, o->bufs[i], o->pool_caps[i]);
        else
            mem_free(o->bufs[i]);
    }
    bufpool_release(o->pool);
    mem_free(o);
    a->private_data = NULL;
    a->release = NULL;
}

/* Makes *out (owned) of `n_buffers` buffers (taken, also on failure: each
 * to the pool when its pool_caps entry is nonzero) and, when `child` is
 * not NULL, one child (moved). */
static infino_status out_array_make(struct ArrowArray *out, struct col *c,
                                    int64_t length, int64_t null_count,
                                    int n_buffers, void **bufs,
                                    const size_t *pool_caps,
                                    struct ArrowArray *child)
{
    struct out_array *o = mem_calloc(1, sizeof *o);
    bool pooled = false;

    assert(n_buffers <= 3 && length >= 0 && null_count <= length);
    memset(out, 0, sizeof *out);
    if (o == NULL) {
        for (int i = 0; i < n_buffers; i++)
            ob_release(c, bufs[i], pool_caps[i]);
        if (child != NULL)
            ar_array_release(child);
        return err_nomem();
    }
    for (int i = 0; i < n_buffers; i++) {
        o->bufs[i] = bufs[i];
        o->pool_caps[i] = pool_caps[i];
        pooled |= pool_caps[i] != 0;
    }
    if (pooled) {
        bufpool_retain(c->pool);
        o->pool = c->pool;
    }
    out->length = length;
    out->null_count = null_count;
    out->n_buffers = n_buffers;
    out->buffers = (const void **)o->bufs;
    if (child != NULL) {
        o->child = *child; /* moved */
        memset(child, 0, sizeof *child);
        o->child_ptr = &o->child;
        out->n_children = 1;
        out->children = &o->child_ptr;
    }
    out->release = out_array_release;
    out->private_data = o;
    return INFINO_OK;
}

/* Builds the Arrow array from the accumulated buffers. */
static infino_status finish(struct col *c, struct ArrowArray *out)
{
    struct ArrowArray child;
    void *bufs[3] = {NULL, NULL, NULL};
    size_t caps[3] = {0, 0, 0};
    int nb = 2;
    infino_status st;

    memset(&child, 0, sizeof child);
    /* Values: validity only when something is null. */
    if (c->val_valid_on && c->val_nulls > 0)
        CHECK(ob_take(&c->val_valid, &bufs[0], &caps[0]));
    if (c->conv == CV_BYTES || c->conv == CV_FLBA_BYTES) {
        size_t ow = c->wide_off ? 8 : 4;
        /* Offsets exist even for zero values: [0]. */
        CHECK(ob_reserve(c, &c->voff, (size_t)(c->n_vals + 1) * ow, false));
        memset(c->voff.p, 0, ow);
        CHECK(ob_take(&c->voff, &bufs[1], &caps[1]));
        CHECK(ob_take(&c->vdata, &bufs[2], &caps[2]));
        nb = 3;
    } else {
        CHECK(ob_take(&c->vals, &bufs[1], &caps[1]));
    }
    if (!c->leaf->is_list)
        return out_array_make(out, c, c->n_vals, c->val_nulls, nb, bufs, caps,
                              NULL);
    st = out_array_make(&child, c, c->n_vals, c->val_nulls, nb, bufs, caps,
                        NULL);
    if (st != INFINO_OK)
        return st;
    memset(bufs, 0, sizeof bufs);
    memset(caps, 0, sizeof caps);
    if (c->slot_valid_on && c->slot_nulls > 0)
        CHECK(ob_take(&c->slot_valid, &bufs[0], &caps[0]));
    if (c->fsl) {
        nb = 1;
    } else {
        CHECK(push_offset(c, c->n_vals));
        CHECK(ob_take(&c->list_off, &bufs[1], &caps[1]));
        nb = 2;
    }
    return out_array_make(out, c, c->n_slots, c->slot_nulls, nb, bufs, caps,
                          &child);
fail:
    for (int i = 0; i < 3; i++)
        ob_release(c, bufs[i], caps[i]);
    ar_array_release(&child);
    return st;
}

static void col_free(struct col *c)
{
    ob_free(c, &c->dict);
    mem_free(c->dict_views);
    ob_free(c, &c->slot_valid);
    ob_free(c, &c->list_off);
    ob_free(c, &c->val_valid);
    ob_free(c, &c->vals);
    ob_free(c, &c->voff);
    ob_free(c, &c->vdata);
    ob_free(c, &c->rep);
    ob_free(c, &c->def);
    ob_free(c, &c->presence);
    ob_free(c, &c->dense);
    ob_free(c, &c->idx);
    ob_free(c, &c->views);
    ob_free(c, &c->lens);
    buf_free(&c->dba);
    pq_page_iter_free(&c->it);
}

infino_status pq_chunk_range(const struct pq_reader *r,
                             const struct pq_column_meta *cm, uint64_t *off,
                             uint64_t *len)
{
    int64_t start = cm->data_page_offset;

    /* A chunk without values may have no pages at all (Arrow writes
     * offset 0 and size 0 for empty row groups): nothing to read. */
    if (cm->num_values == 0) {
        *off = 0;
        *len = 0;
        return INFINO_OK;
    }
    /* Writers put the dictionary page first; some write offset 0 when
     * there is none. */
    if (cm->has_dictionary_page_offset && cm->dictionary_page_offset >= 4 &&
        cm->dictionary_page_offset < start)
        start = cm->dictionary_page_offset;
    if (start < 4 || cm->total_compressed_size < 0 ||
        (uint64_t)start > r->footer_off ||
        (uint64_t)cm->total_compressed_size > r->footer_off - (uint64_t)start)
        return err_set(INFINO_ERR_CORRUPT,
                       "column chunk [%lld, +%lld) outside the data region",
                       (long long)start, (long long)cm->total_compressed_size);
    *off = (uint64_t)start;
    *len = (uint64_t)cm->total_compressed_size;
    return INFINO_OK;
}

/* Sizes the output buffers whose size `rows` rows fix: values of
 * fixed width (one per row, or list_size per fixed-size list slot),
 * byte-array and list offsets. (Values decode at pos * out_w + 1 at
 * most, hence the extra byte.) */
static infino_status col_presize(struct col *c, uint64_t rows)
{
    uint64_t items = rows, max = *c->budget / 16; /* out_w <= 16 */
    infino_status st = INFINO_OK;

    /* Row counts are untrusted; beyond the budget the decode will tell. */
    if (rows >= max)
        return INFINO_OK;
    if (c->fsl) {
        if (c->list_size > 0 && rows >= max / (uint64_t)c->list_size)
            return INFINO_OK;
        items = rows * (uint64_t)c->list_size;
    }
    if ((!c->leaf->is_list || c->fsl) && c->out_w > 0)
        st = ob_presize(c, &c->vals, items * c->out_w + 1);
    if (st == INFINO_OK && (!c->leaf->is_list || c->fsl) &&
        (c->conv == CV_BYTES || c->conv == CV_FLBA_BYTES))
        st = ob_presize(c, &c->voff, (items + 1) * (c->wide_off ? 8 : 4));
    if (st == INFINO_OK && c->leaf->is_list && !c->fsl)
        st = ob_presize(c, &c->list_off, (rows + 1) * (c->list_wide ? 8 : 4));
    return st;
}

/* Prepares *c to decode `num_rows` rows of column `leaf_i` of row group
 * `rg` (all of them, or the rows of some of its pages), with large
 * buffers from `pool` (borrowed; NULL: none). */
static infino_status col_open(struct col *c, const struct pq_reader *r, int rg,
                              size_t leaf_i, uint64_t *budget,
                              struct bufpool *pool, int64_t num_rows)
{
    const struct pq_row_group *g = &r->meta.row_groups[rg];
    infino_status st;

    memset(c, 0, sizeof *c);
    c->r = r;
    c->pool = pool;
    c->leaf = &r->ps.leaves[leaf_i];
    c->cm = &g->columns[leaf_i].meta_data;
    c->budget = budget;
    c->num_rows = num_rows;
    c->slot_nullable = c->leaf->arrow->nullable;
    c->val_nullable = c->leaf->value->nullable;
    c->fsl = c->leaf->arrow->type == AR_FIXED_SIZE_LIST;
    c->list_wide = c->leaf->arrow->type == AR_LARGE_LIST;
    c->list_size = c->leaf->arrow->list_size;
    if (c->fsl && c->list_size < 0)
        return err_set(INFINO_ERR_CORRUPT, "negative list size");
    if ((st = plan(c)) != INFINO_OK)
        return st;
    return col_presize(c, (uint64_t)num_rows);
}

/* Rows decoded so far. */
static int64_t col_rows(const struct col *c)
{
    return c->leaf->is_list ? c->n_slots : c->n_vals;
}

infino_status pq_read_column(struct ArrowArray *out, const struct pq_reader *r,
                             int rg, size_t leaf_i, uint64_t *budget,
                             struct bufpool *pool)
{
    struct col c;
    const uint8_t *chunk;
    uint64_t off, len;
    infino_status st;

    memset(out, 0, sizeof *out);
    CHECK(col_open(&c, r, rg, leaf_i, budget, pool,
                   r->meta.row_groups[rg].num_rows));
    c.whole = true;
    CHECK(pq_chunk_range(r, c.cm, &off, &len));
    chunk = NULL;
    if (len > 0)
        CHECK(store_blob_read(r->blob, off, (size_t)len, &chunk));
    pq_page_iter_init(&c.it, chunk, (size_t)len, c.cm->codec, budget);
    while (c.levels_seen < c.cm->num_values) {
        struct pq_page pg;
        bool eof;
        CHECK(pq_page_next(&c.it, &pg, &eof));
        if (eof)
            break;
        if (pg.h.type == PQ_PAGE_DICTIONARY)
            CHECK(read_dictionary(&c, &pg));
        else
            CHECK(read_data_page(&c, &pg));
    }
    if (c.leaf->is_list)
        CHECK(close_slot(&c));
    if (c.levels_seen != c.cm->num_values)
        CHECK(err_set(INFINO_ERR_CORRUPT,
                      "pages hold %lld values, the column chunk %lld",
                      (long long)c.levels_seen, (long long)c.cm->num_values));
    if (col_rows(&c) != c.num_rows)
        CHECK(err_set(INFINO_ERR_CORRUPT, "column has %lld rows, expected %lld",
                      (long long)col_rows(&c), (long long)c.num_rows));
    CHECK(finish(&c, out));
    col_free(&c);
    return INFINO_OK;
fail:
    col_free(&c);
    return err_context(st, "column '%s'",
                       r->ps.leaves[leaf_i].arrow->name);
}

/* ---- point reads ------------------------------------------------------ */

/* A data page of a column chunk. Rows: up to the next page's first row
 * (the last page's: up to the row group's end). */
struct page_loc {
    uint64_t off;      /* file offset of the page header */
    uint64_t len;      /* header + body */
    int64_t first_row; /* within the row group; strictly increasing */
    /* fixed_size_list chunks: whether point reads may copy the page's
     * rows straight from its bytes (dense_page), found by the first point
     * read that needs it: 0 not yet known, 1 no, else 2 + the offset of
     * the page's PLAIN values from `off` */
    _Atomic(uint32_t) dense;
};

/* Where the rows of a column chunk are: its data pages with at least one
 * row each. Built once per chunk and kept by the reader (page_map_get). */
struct pq_page_map {
    bool whole;   /* rows cannot be located without decoding: read it all */
    int64_t num_rows;
    /* The chunk's decoded dictionary, kept after the first point read
     * that needs it (published by compare-and-swap, as the map), when
     * small enough (DICT_KEEP_MAX); NULL until then. */
    _Atomic(struct kept_dict *) dict;
    size_t n;
    struct page_loc pages[]; /* n entries */
};

/* A dictionary a page map keeps: n entries of `bytes` (fixed width), or
 * views into `bytes` (BYTE_ARRAY). One allocation. */
struct kept_dict {
    size_t n;
    const struct pq_view *views; /* NULL for fixed-width values */
    const uint8_t *bytes;
};

/* Point reads of a dictionary-encoded chunk decoded its whole dictionary
 * page for every read (up to 64 KiB in our files, 1 MiB in Arrow's): the
 * largest dictionary (page bytes plus views) a reader keeps per chunk. */
#define DICT_KEEP_MAX (256u << 10)

static int64_t page_rows(const struct pq_page_map *m, size_t i)
{
    return (i + 1 < m->n ? m->pages[i + 1].first_row : m->num_rows) -
           m->pages[i].first_row;
}

static struct pq_page_map *map_new(size_t n, int64_t num_rows)
{
    struct pq_page_map *m;

    if (n > (SIZE_MAX - sizeof *m) / sizeof m->pages[0])
        return NULL;
    m = mem_alloc(sizeof *m + n * sizeof m->pages[0]);
    if (m != NULL) {
        m->whole = false;
        m->num_rows = num_rows;
        atomic_init(&m->dict, NULL);
        m->n = 0;
    }
    return m;
}

/* The page map of a chunk from its OffsetIndex. Untrusted like the rest:
 * every page must lie inside the chunk, in file order without overlap,
 * and first_row_index must start at 0 and increase (parquet.thrift
 * OffsetIndex). */
static infino_status map_from_index(struct pq_page_map **out,
                                    const struct pq_reader *r,
                                    const struct pq_column_chunk *cc,
                                    int64_t num_rows, uint64_t chunk_off,
                                    uint64_t chunk_len)
{
    struct pq_offset_index oi;
    struct pq_page_map *m = NULL;
    const uint8_t *p;
    uint64_t at = (uint64_t)cc->offset_index_offset, prev_end = chunk_off;
    uint64_t chunk_end = chunk_off + chunk_len;
    infino_status st;

    memset(&oi, 0, sizeof oi);
    if (cc->offset_index_offset < 4 || cc->offset_index_length <= 0 ||
        at > r->footer_off ||
        (uint64_t)cc->offset_index_length > r->footer_off - at)
        return err_set(INFINO_ERR_CORRUPT,
                       "offset index: [%lld, +%d) is outside the data "
                       "region",
                       (long long)cc->offset_index_offset,
                       (int)cc->offset_index_length);
    CHECK(store_blob_read(r->blob, at, (size_t)cc->offset_index_length, &p));
    CHECK(pq_meta_decode_offset_index(&oi, p,
                                      (size_t)cc->offset_index_length));
    if (oi.n_pages == 0 && num_rows > 0)
        CHECK(err_set(INFINO_ERR_CORRUPT, "no pages listed"));
    if ((m = map_new(oi.n_pages, num_rows)) == NULL)
        CHECK(err_nomem());
    for (size_t i = 0; i < oi.n_pages; i++) {
        const struct pq_page_location *l = &oi.pages[i];
        uint64_t off = (uint64_t)l->offset;
        if (l->offset < 0 || l->compressed_page_size <= 0 || off < prev_end ||
            off > chunk_end ||
            (uint64_t)l->compressed_page_size > chunk_end - off)
            CHECK(err_set(INFINO_ERR_CORRUPT,
                          "page %zu at [%lld, +%d) is outside its column "
                          "chunk or overlaps the page before",
                          i, (long long)l->offset,
                          (int)l->compressed_page_size));
        if (i == 0 ? l->first_row_index != 0
                   : l->first_row_index <= m->pages[i - 1].first_row)
            CHECK(err_set(INFINO_ERR_CORRUPT, "page %zu starts at row %lld",
                          i, (long long)l->first_row_index));
        if (l->first_row_index >= num_rows)
            CHECK(err_set(INFINO_ERR_CORRUPT,
                          "page %zu starts at row %lld of %lld", i,
                          (long long)l->first_row_index, (long long)num_rows));
        m->pages[i].off = off;
        m->pages[i].len = (uint64_t)l->compressed_page_size;
        m->pages[i].first_row = l->first_row_index;
        atomic_init(&m->pages[i].dense, 0);
        m->n = i + 1;
        prev_end = off + m->pages[i].len;
    }
    *out = m;
    pq_offset_index_free(&oi);
    return INFINO_OK;
fail:
    mem_free(m);
    pq_offset_index_free(&oi);
    return err_context(st, "offset index");
}

/* The page map of a chunk from its page headers (bodies are skipped, not
 * decompressed). Rows per page: num_values for flat columns, num_rows of
 * v2 pages for lists. A list column with v1 pages does not say where its
 * rows start without decoding levels: the map says to read it whole. */
static infino_status map_from_headers(struct pq_page_map **out,
                                      const struct pq_leaf *leaf,
                                      const struct pq_column_meta *cm,
                                      int64_t num_rows, const uint8_t *chunk,
                                      uint64_t chunk_off, uint64_t chunk_len)
{
    struct pq_page_iter it;
    struct page_loc *pg = NULL;
    struct pq_page_map *m = NULL;
    size_t n = 0, cap = 0;
    int64_t levels = 0, rows = 0;
    bool whole = false;
    infino_status st;

    /* only headers: no scratch, so no budget to charge */
    pq_page_iter_init(&it, chunk, (size_t)chunk_len, cm->codec, NULL);
    while (levels < cm->num_values) {
        struct pq_page_header h;
        const uint8_t *at = NULL;
        size_t len = 0;
        int64_t n_levels, n_rows;
        bool eof;
        CHECK(pq_page_skip(&it, &h, &at, &len, &eof));
        if (eof)
            break;
        if (h.type == PQ_PAGE_DATA) {
            if (!h.has_data_page || h.data_page.num_values < 0)
                CHECK(err_set(INFINO_ERR_CORRUPT,
                              "data page header missing or invalid"));
            if (leaf->is_list) {
                whole = true;
                break;
            }
            n_levels = n_rows = h.data_page.num_values;
        } else if (h.type == PQ_PAGE_DATA_V2) {
            const struct pq_data_page_header_v2 *v = &h.data_page_v2;
            if (!h.has_data_page_v2 || v->num_values < 0 || v->num_rows < 0)
                CHECK(err_set(INFINO_ERR_CORRUPT,
                              "data page v2 header missing or invalid"));
            n_levels = v->num_values;
            /* parquet.thrift DataPageHeaderV2: pages start at rows */
            n_rows = leaf->is_list ? v->num_rows : v->num_values;
            if (n_rows == 0 && n_levels > 0)
                CHECK(err_set(INFINO_ERR_CORRUPT,
                              "data page v2 with values but no rows"));
        } else {
            continue; /* dictionary and index pages */
        }
        if (n_rows > num_rows - rows)
            CHECK(err_set(INFINO_ERR_CORRUPT,
                          "pages hold more rows than the row group's %lld",
                          (long long)num_rows));
        levels += n_levels;
        if (n_rows == 0)
            continue; /* nothing to find there */
        if (MEM_RESERVE(pg, cap, n + 1))
            CHECK(err_nomem());
        pg[n].off = chunk_off + (uint64_t)(at - chunk);
        pg[n].len = len;
        pg[n].first_row = rows;
        atomic_init(&pg[n].dense, 0);
        n++;
        rows += n_rows;
    }
    if (!whole && rows != num_rows)
        CHECK(err_set(INFINO_ERR_CORRUPT,
                      "pages hold %lld rows, the row group %lld",
                      (long long)rows, (long long)num_rows));
    if ((m = map_new(whole ? 0 : n, num_rows)) == NULL)
        CHECK(err_nomem());
    m->whole = whole;
    if (!whole && n > 0) {
        for (size_t i = 0; i < n; i++) {
            m->pages[i].off = pg[i].off;
            m->pages[i].len = pg[i].len;
            m->pages[i].first_row = pg[i].first_row;
            atomic_init(&m->pages[i].dense, 0);
        }
        m->n = n;
    }
    pq_page_iter_free(&it);
    mem_free(pg);
    *out = m;
    return INFINO_OK;
fail:
    pq_page_iter_free(&it);
    mem_free(pg);
    return st;
}

static infino_status map_build(struct pq_page_map **out,
                               const struct pq_reader *r, int rg,
                               size_t leaf_i)
{
    const struct pq_column_chunk *cc = &r->meta.row_groups[rg].columns[leaf_i];
    int64_t num_rows = r->meta.row_groups[rg].num_rows;
    const uint8_t *chunk = NULL;
    uint64_t off, len;
    infino_status st;

    if ((st = pq_chunk_range(r, &cc->meta_data, &off, &len)) != INFINO_OK)
        return st;
    if (cc->has_offset_index)
        return map_from_index(out, r, cc, num_rows, off, len);
    if (len > 0 &&
        (st = store_blob_read(r->blob, off, (size_t)len, &chunk)) != INFINO_OK)
        return st;
    return map_from_headers(out, &r->ps.leaves[leaf_i], &cc->meta_data,
                            num_rows, chunk, off, len);
}

/* The page map of column `leaf_i` in row group `rg`, built on first use
 * and published with a compare-and-swap, so concurrent point reads of one
 * reader agree on one map (a loser frees its own). Borrowed: valid until
 * pq_reader_free(). Maps that fail to build are not kept. */
static infino_status page_map_get(const struct pq_page_map **out,
                                  const struct pq_reader *r, int rg,
                                  size_t leaf_i)
{
    struct pq_reader *rw = (struct pq_reader *)(uintptr_t)r; /* cache only */
    size_t n_slots = r->meta.n_row_groups * r->ps.n_leaves;
    _Atomic(struct pq_page_map *) *slots =
        atomic_load_explicit(&rw->page_maps, memory_order_acquire);
    struct pq_page_map *m, *expected = NULL;
    infino_status st;

    if (slots == NULL) {
        _Atomic(struct pq_page_map *) *mine, *none = NULL;
        if (r->ps.n_leaves > 0 &&
            r->meta.n_row_groups > SIZE_MAX / sizeof *mine / r->ps.n_leaves)
            return err_nomem();
        mine = mem_alloc(n_slots * sizeof *mine + 1);
        if (mine == NULL)
            return err_nomem();
        for (size_t i = 0; i < n_slots; i++)
            atomic_init(&mine[i], NULL);
        if (atomic_compare_exchange_strong_explicit(
                &rw->page_maps, &none, mine, memory_order_acq_rel,
                memory_order_acquire)) {
            slots = mine;
        } else {
            mem_free(mine);
            slots = none;
        }
    }
    m = atomic_load_explicit(&slots[(size_t)rg * r->ps.n_leaves + leaf_i],
                             memory_order_acquire);
    if (m != NULL) {
        *out = m;
        return INFINO_OK;
    }
    if ((st = map_build(&m, r, rg, leaf_i)) != INFINO_OK)
        return st;
    if (!atomic_compare_exchange_strong_explicit(
            &slots[(size_t)rg * r->ps.n_leaves + leaf_i], &expected, m,
            memory_order_acq_rel, memory_order_acquire)) {
        mem_free(m);
        m = expected;
    }
    *out = m;
    return INFINO_OK;
}

void pq_page_maps_free(struct pq_reader *r)
{
    _Atomic(struct pq_page_map *) *slots =
        atomic_load_explicit(&r->page_maps, memory_order_acquire);

    if (slots == NULL)
        return;
    for (size_t i = 0; i < r->meta.n_row_groups * r->ps.n_leaves; i++) {
        struct pq_page_map *m =
            atomic_load_explicit(&slots[i], memory_order_relaxed);
        if (m != NULL)
            mem_free(atomic_load_explicit(&m->dict, memory_order_relaxed));
        mem_free(m);
    }
    mem_free(slots);
    atomic_store_explicit(&r->page_maps, NULL, memory_order_relaxed);
}

/* A page chosen for a point read. */
struct pick {
    size_t page;  /* in the map */
    int64_t base; /* its first row in the decoded output */
    size_t first, count; /* its rows: sel[first .. first + count) */
};

/* Chooses the pages holding `rows` (binary search from the last pick, as
 * rows ascend) and maps each row to its place among the chosen pages'
 * rows (idx) and to its row within its page (sel). *n_picks and *total
 * get the page and row counts. */
static infino_status pick_pages(struct pick *picks, size_t *n_picks,
                                uint32_t *idx, uint32_t *sel, int64_t *total,
                                const struct pq_page_map *m,
                                const uint32_t *rows, size_t n_rows)
{
    size_t n = 0, lo = 0;
    int64_t base = 0;

    for (size_t i = 0; i < n_rows; i++) {
        int64_t row = rows[i];
        size_t hi = m->n;
        /* Pages of a chunk usually hold about equally many rows: guess
         * the page from the row's share of the chunk and step from there
         * (a cache miss or two, where a binary search over thousands of
         * pages takes a dozen); fall back on the search. */
        if (m->num_rows > 0 && m->n > 0) {
            size_t g = (size_t)((double)row / (double)m->num_rows *
                                (double)m->n);
            int steps = 0;
            if (g < lo)
                g = lo;
            if (g >= m->n)
                g = m->n - 1;
            while (steps < 4 && g > lo && m->pages[g].first_row > row)
                g--, steps++;
            while (steps < 4 && g + 1 < m->n &&
                   m->pages[g + 1].first_row <= row)
                g++, steps++;
            if (m->pages[g].first_row <= row &&
                (g + 1 == m->n || m->pages[g + 1].first_row > row)) {
                lo = g;
                hi = g + 1;
            }
        }
        /* the last page starting at or before `row`, at or after lo */
        while (hi - lo > 1) {
            size_t mid = lo + (hi - lo) / 2;
            if (m->pages[mid].first_row <= row)
                lo = mid;
            else
                hi = mid;
        }
        if (lo >= m->n || m->pages[lo].first_row > row ||
            row - m->pages[lo].first_row >= page_rows(m, lo))
            return err_set(INFINO_ERR_CORRUPT, "no page holds row %u",
                           rows[i]);
        if (n == 0 || picks[n - 1].page != lo) {
            if (page_rows(m, lo) > INT32_MAX - base)
                return err_set(INFINO_ERR_UNSUPPORTED,
                               "point read of more than 2^31 rows");
            picks[n].page = lo;
            picks[n].base = base;
            picks[n].first = i;
            picks[n].count = 0;
            base += page_rows(m, lo);
            n++;
        }
        picks[n - 1].count++;
        sel[i] = (uint32_t)(row - m->pages[lo].first_row);
        idx[i] = (uint32_t)(picks[n - 1].base + row - m->pages[lo].first_row);
    }
    *n_picks = n;
    *total = base;
    return INFINO_OK;
}

static bool dict_encoded(const struct pq_page_header *h)
{
    enum pq_encoding e = h->type == PQ_PAGE_DATA ? h->data_page.encoding
                                                 : h->data_page_v2.encoding;
    return e == PQ_ENC_PLAIN_DICTIONARY || e == PQ_ENC_RLE_DICTIONARY;
}

/* Loads the chunk's dictionary page: the first page of the chunk (index
 * pages aside), before its first data page at `first_data` (a file
 * offset). Finding none is left to read_indices() to report. */
static infino_status load_dictionary(struct col *c, uint64_t chunk_off,
                                     uint64_t first_data)
{
    struct pq_page pg;
    const uint8_t *p;
    size_t len;
    bool eof;
    infino_status st;

    if (first_data <= chunk_off)
        return INFINO_OK;
    len = (size_t)(first_data - chunk_off);
    if ((st = store_blob_read(c->r->blob, chunk_off, len, &p)) != INFINO_OK)
        return st;
    pq_page_iter_seek(&c->it, p, len);
    if ((st = pq_page_next(&c->it, &pg, &eof)) != INFINO_OK)
        return err_context(st, "dictionary page");
    if (eof)
        return INFINO_OK;
    if (pg.h.type != PQ_PAGE_DICTIONARY)
        return err_set(INFINO_ERR_CORRUPT,
                       "a data page before the first one the page map "
                       "lists");
    return read_dictionary(c, &pg);
}

/* Copies the dictionary c decoded into one block for the page map, or
 * NULL when it is too large to keep or memory is short (then every read
 * decodes it, as before). */
static struct kept_dict *keep_dict(const struct col *c)
{
    size_t views = c->dict_views ? c->n_dict * sizeof(struct pq_view) : 0;
    size_t total = sizeof(struct kept_dict) + views + c->dict.len;
    struct kept_dict *d;
    struct pq_view *v;
    uint8_t *bytes;

    if (c->n_dict > DICT_KEEP_MAX || c->dict.len > DICT_KEEP_MAX ||
        total > DICT_KEEP_MAX || (d = mem_alloc(total)) == NULL)
        return NULL;
    v = (struct pq_view *)(void *)(d + 1);
    bytes = (uint8_t *)v + views;
    if (c->dict.len > 0)
        memcpy(bytes, c->dict.p, c->dict.len);
    for (size_t i = 0; views > 0 && i < c->n_dict; i++) {
        v[i].p = bytes + (c->dict_views[i].p - c->dict.p);
        v[i].len = c->dict_views[i].len;
    }
    d->n = c->n_dict;
    d->views = views ? v : NULL;
    d->bytes = bytes;
    return d;
}

/* Gives c the chunk's dictionary for a point read: the one the page map
 * keeps, or else decoded from its page and then offered to the map. */
static infino_status use_dictionary(struct col *c, const struct pq_page_map *m,
                                    uint64_t chunk_off)
{
    struct pq_page_map *mw = (struct pq_page_map *)(uintptr_t)m; /* cache */
    struct kept_dict *d = atomic_load_explicit(&mw->dict,
                                               memory_order_acquire);
    struct kept_dict *expected = NULL;
    infino_status st;

    if (d != NULL) {
        c->n_dict = d->n;
        c->has_dict = true;
        c->dict_bytes = d->bytes;
        c->dict_v = d->views;
        return INFINO_OK;
    }
    if ((st = load_dictionary(c, chunk_off, m->pages[0].off)) != INFINO_OK ||
        !c->has_dict || (d = keep_dict(c)) == NULL)
        return st;
    if (!atomic_compare_exchange_strong_explicit(&mw->dict, &expected, d,
                                                 memory_order_acq_rel,
                                                 memory_order_acquire))
        mem_free(d);
    return INFINO_OK;
}

/* ---- dense fixed_size_list pages ------------------------------------ */

/* The width of the values of a fixed_size_list leaf that Arrow holds as
 * they are stored (4- and 8-byte numbers: CV_COPY in plan()), else 0:
 * the leaves whose rows a point read may copy out of a PLAIN page. */
static size_t dense_width(const struct pq_leaf *leaf)
{
    if (leaf->arrow->type != AR_FIXED_SIZE_LIST ||
        leaf->arrow->list_size <= 0 || leaf->max_rep != 1)
        return 0;
    switch (leaf->value->type) {
    case AR_FLOAT32:
        return leaf->type == PQ_FLOAT ? 4 : 0;
    case AR_FLOAT64:
        return leaf->type == PQ_DOUBLE ? 8 : 0;
    case AR_INT32:
    case AR_UINT32:
    case AR_DATE32:
        return leaf->type == PQ_INT32 ? 4 : 0;
    case AR_INT64:
    case AR_UINT64:
        return leaf->type == PQ_INT64 ? 8 : 0;
    default:
        return 0;
    }
}

/* Whether page `pl` of a fixed_size_list chunk (list_size L, values of
 * width w), which the page map says holds `rows` rows, is dense: a data
 * page (v1 or v2) stored uncompressed, PLAIN values, and levels saying
 * that each of its rows holds L present values (repetition 0 then L - 1
 * ones per row, definition max_def throughout; checked on the runs of
 * the RLE/bit-packed hybrid, Encodings.md, so a page whose definition
 * levels are one repeated run costs one comparison for them). Then row j
 * of the page is the L * w bytes at values + j * L * w, with no decoding.
 * Returns 2 + the offset of the values from the page's first byte, 1 when
 * the page is not dense (or is malformed: the page decoder, which reads
 * it then, says what is wrong), 0 when its bytes could not be read (not
 * to be remembered). */
static uint32_t dense_check(const struct pq_reader *r,
                            const struct pq_leaf *leaf, enum pq_codec codec,
                            const struct page_loc *pl, int64_t rows, size_t w)
{
    size_t L = (size_t)leaf->arrow->list_size, n;
    const uint8_t *p, *body, *rep, *def, *vals;
    size_t body_len, rep_len, def_len, vals_len;
    struct pq_page_header h;
    struct pq_rle d;
    struct rd in;

    if (rows <= 0 || (uint64_t)rows > INT32_MAX / L || pl->len > UINT32_MAX)
        return 1;
    n = (size_t)rows * L;
    if (store_blob_read(r->blob, pl->off, (size_t)pl->len, &p) != INFINO_OK)
        return 0;
    in = rd_make(p, (size_t)pl->len);
    if (pq_meta_decode_page_header(&h, &in) != INFINO_OK ||
        h.compressed_page_size < 0 ||
        h.uncompressed_page_size != h.compressed_page_size ||
        (size_t)h.compressed_page_size > rd_left(&in))
        return 1;
    body = in.p;
    body_len = (size_t)h.compressed_page_size;
    /* parquet.thrift PageHeader.crc: CRC-32 of the page after the header */
    if (h.has_crc && (uint32_t)crc32(0, body, (uInt)body_len) !=
                         (uint32_t)h.crc)
        return 1;
    if (h.type == PQ_PAGE_DATA && h.has_data_page) {
        /* DataPage v1: rep levels, def levels (each RLE behind a u32
         * length), then the values; all of it compressed, if anything */
        const struct pq_data_page_header *dp = &h.data_page;
        uint32_t len;
        if (codec != PQ_UNCOMPRESSED || dp->encoding != PQ_ENC_PLAIN ||
            dp->num_values < 0 || (size_t)dp->num_values != n ||
            dp->rep_encoding != PQ_ENC_RLE || dp->def_encoding != PQ_ENC_RLE)
            return 1;
        if (body_len < 4 || (len = load_u32le(body)) > body_len - 4)
            return 1;
        rep = body + 4;
        rep_len = len;
        body_len -= 4 + (size_t)len;
        def = rep + rep_len;
        if (body_len < 4 || (len = load_u32le(def)) > body_len - 4)
            return 1;
        def += 4;
        def_len = len;
        vals = def + def_len;
        vals_len = body_len - 4 - def_len;
    } else if (h.type == PQ_PAGE_DATA_V2 && h.has_data_page_v2) {
        /* DataPageV2: levels stored uncompressed, without length prefix;
         * only the values may be compressed (is_compressed) */
        const struct pq_data_page_header_v2 *dp = &h.data_page_v2;
        if ((codec != PQ_UNCOMPRESSED && dp->is_compressed) ||
            dp->encoding != PQ_ENC_PLAIN || dp->num_values < 0 ||
            (size_t)dp->num_values != n || dp->num_rows != rows ||
            dp->num_nulls != 0 || dp->rep_levels_len < 0 ||
            dp->def_levels_len < 0 ||
            (uint64_t)dp->rep_levels_len + (uint64_t)dp->def_levels_len >
                body_len)
            return 1;
        rep = body;
        rep_len = (size_t)dp->rep_levels_len;
        def = rep + rep_len;
        def_len = (size_t)dp->def_levels_len;
        vals = def + def_len;
        vals_len = body_len - rep_len - def_len;
    } else {
        return 1;
    }
    if (vals_len / w < n)
        return 1;
    pq_rle_init(&d, rep, rep_len, pq_bit_width(1));
    if (!pq_rle_match(&d, n, 0, 1, L))
        return 1;
    pq_rle_init(&d, def, def_len, pq_bit_width((uint32_t)leaf->max_def));
    if (!pq_rle_match(&d, n, (uint32_t)leaf->max_def,
                      (uint32_t)leaf->max_def, 0))
        return 1;
    return 2 + (uint32_t)(vals - p);
}

/* Whether page i of `m` is dense (dense_check), checked on first use and
 * remembered in the map (any thread computes the same answer, so a plain
 * atomic store publishes it). */
static bool dense_page(const struct pq_reader *r, const struct pq_leaf *leaf,
                       enum pq_codec codec, const struct pq_page_map *m,
                       size_t i, size_t w)
{
    struct page_loc *pl = (struct page_loc *)(uintptr_t)&m->pages[i];
    uint32_t v = atomic_load_explicit(&pl->dense, memory_order_relaxed);

    if (v == 0) {
        v = dense_check(r, leaf, codec, pl, page_rows(m, i), w);
        if (v != 0)
            atomic_store_explicit(&pl->dense, v, memory_order_relaxed);
    }
    return v >= 2;
}

/* The selected rows of dense pages (all of the picks'), copied from the
 * pages' bytes into c (opened for them): only those rows' values are
 * read, nothing is decoded. */
static infino_status copy_dense(struct col *c, const struct pq_page_map *m,
                                const struct pick *picks, size_t n_picks,
                                const uint32_t *sel, size_t n_rows)
{
    size_t g = (size_t)c->list_size * c->out_w;
    uint8_t *dst;
    infino_status st;

    if (n_rows > (SIZE_MAX - 1) / g) /* list_size comes from the file */
        CHECK(err_set(INFINO_ERR_UNSUPPORTED,
                      "point read of %zu lists of %zu bytes", n_rows, g));
    CHECK(ob_reserve(c, &c->vals, n_rows * g + 1, false));
    dst = c->vals.p;
    for (size_t i = 0; i < n_picks; i++) {
        const struct page_loc *pl = &m->pages[picks[i].page];
        uint64_t at = pl->off + atomic_load_explicit(&pl->dense,
                                                     memory_order_relaxed) -
                      2;
        for (size_t j = picks[i].first; j < picks[i].first + picks[i].count;
             j++) {
            const uint8_t *src;
            CHECK(store_blob_read(c->r->blob, at + (uint64_t)sel[j] * g, g,
                                  &src));
            memcpy(dst, src, g);
            dst += g;
        }
    }
    c->n_slots = (int64_t)n_rows;
    c->n_vals = (int64_t)(n_rows * (size_t)c->list_size);
    c->slot_start = c->n_vals - c->list_size;
    return INFINO_OK;
fail:
    return st;
}

/* Decodes the picked pages of `m` into c (opened for their rows), checking
 * each against the rows the map gives it. */
static infino_status decode_picks(struct col *c, const struct pq_page_map *m,
                                  const struct pick *picks, size_t n,
                                  const uint32_t *sel, uint64_t chunk_off)
{
    bool need_dict = false;
    infino_status st;

    /* Headers first: the dictionary must be read before any data page. */
    for (size_t i = 0; i < n; i++) {
        const struct page_loc *pl = &m->pages[picks[i].page];
        const uint8_t *p;
        struct pq_page_header h;
        struct rd in;
        CHECK(store_blob_read(c->r->blob, pl->off, (size_t)pl->len, &p));
        in = rd_make(p, (size_t)pl->len);
        CHECK(pq_meta_decode_page_header(&h, &in));
        if (h.type != PQ_PAGE_DATA && h.type != PQ_PAGE_DATA_V2)
            CHECK(err_set(INFINO_ERR_CORRUPT,
                          "page at offset %llu is not a data page",
                          (unsigned long long)pl->off));
        need_dict |= dict_encoded(&h);
    }
    if (need_dict && m->n > 0)
        CHECK(use_dictionary(c, m, chunk_off));
    c->rows_aligned = true;
    for (size_t i = 0; i < n; i++) {
        const struct page_loc *pl = &m->pages[picks[i].page];
        int64_t before = col_rows(c), want = page_rows(m, picks[i].page);
        struct pq_page pg;
        if (c->selecting) {
            c->sel = sel + picks[i].first;
            c->n_sel = picks[i].count;
            want = (int64_t)picks[i].count;
        }
        const uint8_t *p;
        bool eof;
        CHECK(store_blob_read(c->r->blob, pl->off, (size_t)pl->len, &p));
        pq_page_iter_seek(&c->it, p, (size_t)pl->len);
        CHECK(pq_page_next(&c->it, &pg, &eof));
        if (eof || (pg.h.type != PQ_PAGE_DATA && pg.h.type != PQ_PAGE_DATA_V2))
            CHECK(err_set(INFINO_ERR_CORRUPT,
                          "page at offset %llu is not a data page",
                          (unsigned long long)pl->off));
        CHECK(read_data_page(c, &pg));
        if (col_rows(c) - before != want)
            CHECK(err_set(INFINO_ERR_CORRUPT,
                          "page at offset %llu holds %lld rows, the page "
                          "map says %lld",
                          (unsigned long long)pl->off,
                          (long long)(col_rows(c) - before), (long long)want));
    }
    if (c->leaf->is_list)
        CHECK(close_slot(c));
    return INFINO_OK;
fail:
    return st;
}

/* Gathers rows `idx` of `whole` into *out; `whole` is released (or moved
 * into *out when idx selects every row in order). */
static infino_status take_rows(struct ArrowArray *out, const struct ar_field *f,
                               struct ArrowArray *whole, const uint32_t *idx,
                               size_t n)
{
    infino_status st;
    bool identity = (int64_t)n == whole->length;

    for (size_t i = 0; identity && i < n; i++)
        identity = idx[i] == i;
    if (identity) {
        *out = *whole;
        memset(whole, 0, sizeof *whole);
        return INFINO_OK;
    }
    st = ar_array_take(out, f, whole, idx, n);
    ar_array_release(whole);
    return st;
}

infino_status pq_read_column_rows(struct ArrowArray *out,
                                  const struct pq_reader *r, int rg,
                                  size_t leaf_i, const uint32_t *rows,
                                  size_t n_rows, uint64_t *budget)
{
    const struct pq_leaf *leaf = &r->ps.leaves[leaf_i];
    const struct pq_page_map *m = NULL;
    struct ArrowArray whole;
    struct pick *picks = NULL;
    uint32_t *idx = NULL, *sel = NULL, *vsel = NULL;
    uint64_t off = 0, len = 0;
    const struct pq_column_meta *cm = &r->meta.row_groups[rg]
                                           .columns[leaf_i].meta_data;
    /* flat columns, and fixed_size_lists that hold no null (the common
     * embedding column), keep only the asked-for rows of each page */
    bool fsl_sel = leaf->arrow->type == AR_FIXED_SIZE_LIST &&
                   leaf->arrow->list_size > 0 && leaf->max_rep == 1 &&
                   cm->has_statistics && cm->statistics.has_null_count &&
                   cm->statistics.null_count == 0;
    bool selecting = !leaf->is_list || fsl_sel, dense = false;
    size_t n_picks = 0, w = dense_width(leaf);
    int64_t total = 0;
    struct col c;
    infino_status st;

    memset(out, 0, sizeof *out);
    memset(&whole, 0, sizeof whole);
    memset(&c, 0, sizeof c);
    idx = mem_alloc((n_rows ? n_rows : 1) * sizeof *idx);
    sel = mem_alloc((n_rows ? n_rows : 1) * sizeof *sel);
    vsel = mem_alloc((n_rows ? n_rows : 1) * sizeof *vsel);
    picks = mem_alloc((n_rows ? n_rows : 1) * sizeof *picks);
    if (idx == NULL || sel == NULL || vsel == NULL || picks == NULL)
        CHECK(err_nomem());
    if (n_rows > 0) {
        CHECK(page_map_get(&m, r, rg, leaf_i));
        if (m->whole) {
            /* v1 pages of a list column: decode it all, then gather */
            CHECK(pq_read_column(&whole, r, rg, leaf_i, budget, NULL));
            for (size_t i = 0; i < n_rows; i++)
                idx[i] = rows[i];
            CHECK(take_rows(out, leaf->arrow, &whole, idx, n_rows));
            goto done;
        }
        CHECK(pick_pages(picks, &n_picks, idx, sel, &total, m, rows,
                         n_rows));
        /* fixed_size_lists whose picked pages are all dense (the
         * embeddings tables store, uncompressed) copy just the rows */
        dense = w != 0;
        for (size_t i = 0; dense && i < n_picks; i++)
            dense = dense_page(r, leaf, cm->codec, m, picks[i].page, w);
        if (selecting || dense) {
            /* flat columns keep just the rows asked for, in order */
            total = (int64_t)n_rows;
            for (size_t i = 0; i < n_rows; i++)
                idx[i] = (uint32_t)i;
        }
        CHECK(pq_chunk_range(r, &r->meta.row_groups[rg].columns[leaf_i]
                                     .meta_data,
                             &off, &len));
    }
    CHECK(col_open(&c, r, rg, leaf_i, budget, NULL, total));
    pq_page_iter_init(&c.it, NULL, 0, c.cm->codec, budget);
    c.selecting = selecting;
    c.vsel = vsel;
    c.sel_group = fsl_sel ? (size_t)leaf->arrow->list_size : 1;
    if (dense)
        CHECK(copy_dense(&c, m, picks, n_picks, sel, n_rows));
    else if (n_picks > 0)
        CHECK(decode_picks(&c, m, picks, n_picks, sel, off));
    if (col_rows(&c) != total)
        CHECK(err_set(INFINO_ERR_CORRUPT, "decoded %lld rows, expected %lld",
                      (long long)col_rows(&c), (long long)total));
    CHECK(finish(&c, &whole));
    CHECK(take_rows(out, leaf->arrow, &whole, idx, n_rows));
done:
    col_free(&c);
    mem_free(picks);
    mem_free(vsel);
    mem_free(sel);
    mem_free(idx);
    return INFINO_OK;
fail:
    ar_array_release(&whole);
    col_free(&c);
    mem_free(picks);
    mem_free(vsel);
    mem_free(sel);
    mem_free(idx);
    return err_context(st, "column '%s'", leaf->arrow->name);
}
