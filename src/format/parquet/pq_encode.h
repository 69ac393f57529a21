/*
 * pq_encode.h - the writer's encoders: the RLE/bit-packed hybrid (levels
 * and dictionary indices), PLAIN values, a BYTE_ARRAY dictionary, and the
 * "shredder" that turns Arrow validity and list offsets into definition
 * and repetition levels plus the ranges of leaf values to write.
 *
 * Spec: apache/parquet-format Encodings.md (PLAIN, RLE, RLE_DICTIONARY)
 * and the Dremel levels of parquet.thrift / README "Nested Encoding".
 * Everything here encodes our own (validated) data; nothing decodes.
 */
#ifndef INFINO_FORMAT_PARQUET_PQ_ENCODE_H
#define INFINO_FORMAT_PARQUET_PQ_ENCODE_H

#include "format/arrow/arrow.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bits needed to store values 0..max (0 for max == 0). */
int pq_bit_width(uint64_t max);

/* ---- RLE / bit-packed hybrid -------------------------------------------
 * Encodings.md "Run Length Encoding / Bit-Packing Hybrid": a sequence of
 * runs, each a ULEB128 header; (count << 1) then one value in
 * ceil(bit_width / 8) bytes for a repeated run, ((groups << 1) | 1) then
 * groups * 8 values bit-packed LSB first for a literal run. Only the last
 * literal group may be padded (with zeros), so the encoder holds values
 * back until it knows whether they start a repeated run. */

/* Literal values buffered: 63 groups, the most a 1-byte run header can
 * count, so long literal stretches cost one header byte per 63 bytes. */
#define PQ_RLE_LIT_CAP 504

struct pq_rle_enc {
    struct buf *out; /* borrowed: runs are appended here */
    int bit_width;   /* 0..32 */
    uint32_t cur;    /* value of the pending repeated run */
    uint64_t rep;    /* its length so far (0: none) */
    size_t n_lit;    /* values in lit[] not yet written */
    uint32_t lit[PQ_RLE_LIT_CAP];
};

/* Starts an encoder appending to `out` (borrowed until
 * pq_rle_enc_finish). */
void pq_rle_enc_init(struct pq_rle_enc *e, struct buf *out, int bit_width);
/* Out-of-line part of pq_rle_enc_put(); use that instead. */
infino_status pq_rle_enc_put_slow(struct pq_rle_enc *e, uint32_t v);
/* Appends `n` copies of `v` in O(1) when they extend the current run. */
infino_status pq_rle_enc_put_run(struct pq_rle_enc *e, uint32_t v,
                                 uint64_t n);
/* Writes everything still held back. The encoder can be reused after
 * pq_rle_enc_init() again. */
infino_status pq_rle_enc_finish(struct pq_rle_enc *e);

/* Appends one value (< 2^bit_width). */
static inline infino_status pq_rle_enc_put(struct pq_rle_enc *e, uint32_t v)
{
    if (v == e->cur && e->rep != 0) {
        e->rep++;
        return INFINO_OK;
    }
    return pq_rle_enc_put_slow(e, v);
}

/* ---- shredding: Arrow -> levels and leaf ranges -------------------------
 * A leaf column is either a top-level primitive (FLAT) or the items of a
 * top-level list (the 3-level LIST of LogicalTypes.md: optional group,
 * repeated group "list", element). With ln = list nullable and in = item
 * nullable, max_def = ln + 1 + in and:
 *     null slot        def 0                          (ln only)
 *     empty list       def ln
 *     null item        def ln + 1                     (in only)
 *     present item     def max_def
 * and rep is 0 for the first entry of a row, 1 for later items. */

enum pq_shape_kind {
    PQ_SHAPE_FLAT,
    PQ_SHAPE_LIST,       /* int32 offsets */
    PQ_SHAPE_LARGE_LIST, /* int64 offsets */
    PQ_SHAPE_FIXED_LIST, /* list_size items per slot */
};

struct pq_shape {
    enum pq_shape_kind kind;
    bool nullable;      /* the top-level field is optional */
    bool item_nullable; /* lists: the element is optional */
    int32_t list_size;  /* PQ_SHAPE_FIXED_LIST */
    int max_def;
    int max_rep;
};

/* Fills the shape of top-level field `f` (a primitive or a list of one).
 * INFINO_ERR_UNSUPPORTED for deeper nesting. */
infino_status pq_shape_of(struct pq_shape *out, const struct ar_field *f);

/* A half-open range of logical indexes into the leaf array (before its
 * own `offset` is applied). */
struct pq_range {
    int64_t begin;
    int64_t end;
};

/* What one pq_shred_rows() call produced (appended across calls until
 * pq_shred_reset()). */
struct pq_shred {
    struct pq_range *ranges; /* owned */
    size_t n_ranges;
    size_t ranges_cap;
    int64_t n_levels;  /* level entries, i.e. the page's num_values */
    int64_t n_present; /* entries with def == max_def (values written) */
};

/* Emits the levels of rows [row0, row0 + n_rows) of top-level array `top`
 * into `def` (NULL when max_def == 0) and `rep` (NULL when max_rep == 0),
 * and appends to `out` the ranges of the leaf array holding their items.
 * The leaf array is `top` itself (FLAT) or its child. Within the ranges,
 * invalid (null) leaf entries are to be skipped by the value encoder. */
infino_status pq_shred_rows(struct pq_shred *out, struct pq_rle_enc *def,
                            struct pq_rle_enc *rep,
                            const struct pq_shape *shape,
                            const struct ArrowArray *top, int64_t row0,
                            int64_t n_rows);
/* Forgets the ranges and counts, keeping the memory. */
void pq_shred_reset(struct pq_shred *s);
void pq_shred_free(struct pq_shred *s);

/* The leaf array of `top` under `shape`. Borrowed from `top`. */
const struct ArrowArray *pq_shape_leaf(const struct pq_shape *shape,
                                       const struct ArrowArray *top);

/* Number of items rows [row0, row0 + n) hold in the leaf array (rows for
 * FLAT), counting null slots' hidden items too. Used to size pages. */
int64_t pq_shape_leaf_span(const struct pq_shape *shape,
                           const struct ArrowArray *top, int64_t row0,
                           int64_t n, int64_t *first_out);

/* ---- PLAIN values ------------------------------------------------------
 * How one Arrow leaf type becomes one Parquet physical type. */

enum pq_value_kind {
    PQ_VK_BOOL,      /* bit-packed, LSB first */
    PQ_VK_I8,        /* -> INT32, sign-extended */
    PQ_VK_I16,       /* -> INT32, sign-extended */
    PQ_VK_U8,        /* -> INT32, zero-extended */
    PQ_VK_U16,       /* -> INT32, zero-extended */
    PQ_VK_COPY4,     /* int32, uint32 (same bits), date32, float32 */
    PQ_VK_COPY8,     /* int64, uint64, timestamps, float64 */
    PQ_VK_MUL1000,   /* timestamp[s] -> INT64 milliseconds */
    PQ_VK_BYTES32,   /* utf8/binary -> BYTE_ARRAY */
    PQ_VK_BYTES64,   /* large_utf8/large_binary -> BYTE_ARRAY */
    PQ_VK_DECIMAL,   /* decimal128 -> FIXED_LEN_BYTE_ARRAY, big-endian */
};

struct pq_value_enc {
    enum pq_value_kind kind;
    int flba_len;   /* PQ_VK_DECIMAL: bytes per value (1..16) */
    uint8_t bits;   /* PQ_VK_BOOL: the partial byte */
    int n_bits;     /* PQ_VK_BOOL: bits used in it */
};

/* Appends the PLAIN encoding of the valid entries of `leaf` within the
 * ranges to `out`. Booleans keep a partial byte in `enc` until
 * pq_value_flush(). Values of MUL1000 that overflow int64 are
 * INFINO_ERR_INVALID. */
infino_status pq_plain_append(struct buf *out, struct pq_value_enc *enc,
                              const struct ArrowArray *leaf,
                              const struct pq_range *ranges, size_t n_ranges);
/* Writes a pending partial boolean byte (end of a page). */
infino_status pq_value_flush(struct buf *out, struct pq_value_enc *enc);

/* Decimal128 (16 bytes little-endian two's complement) to `len` bytes
 * big-endian, keeping the low-order bytes (the precision guarantees the
 * value fits). */
void pq_decimal_to_be(uint8_t *dst, const uint8_t *src16, int len);

/* ---- BYTE_ARRAY dictionary ----------------------------------------------
 * Distinct values in insertion order; `plain` is already the dictionary
 * page body (PLAIN: 4-byte little-endian length, then the bytes). Lookup
 * is an open-addressing table keyed by util/hash.h's 64-bit hash. */

struct pq_dict_entry {
    uint64_t hash;
    uint64_t off; /* of the value's bytes in `plain` */
    uint32_t len;
};

struct pq_dict {
    struct buf plain;              /* owned: the dictionary page body */
    struct pq_dict_entry *entries; /* owned */
    size_t n_entries;
    size_t entries_cap;
    uint32_t *slots; /* owned: entry index + 1, 0 = empty */
    size_t n_slots;  /* a power of two, kept over twice n_entries */
};

/* Sets *idx_out to the index of the value, inserting it if new. */
infino_status pq_dict_insert(struct pq_dict *d, const uint8_t *p, size_t n,
                             uint32_t *idx_out);

/* Appends to `idx` (a growing array of uint32 indexes, in a buf) the
 * dictionary index of every valid entry of byte-array `leaf` within the
 * ranges, inserting new values. `large` selects int64 offsets. */
infino_status pq_dict_append(struct pq_dict *d, struct buf *idx,
                             const struct ArrowArray *leaf, bool large,
                             const struct pq_range *ranges, size_t n_ranges);

/* Empties the dictionary, keeping its memory. */
void pq_dict_reset(struct pq_dict *d);
void pq_dict_free(struct pq_dict *d);

/* Encodes `n` indexes as an RLE_DICTIONARY data page body: one byte of
 * bit width, then the hybrid runs (Encodings.md "Dictionary Encoding"). */
infino_status pq_dict_encode_indexes(struct buf *out, const uint32_t *idx,
                                     size_t n, size_t dict_size);

/* ---- statistics (pq_stats_write.c) --------------------------------------
 * min/max/null_count of one page or column chunk, compared in the order
 * parquet.thrift's ColumnOrder TypeDefinedOrder gives the column's logical
 * type: signed or unsigned integers, floats ignoring NaN (a zero min is
 * written -0.0 and a zero max +0.0), byte arrays unsigned lexicographic,
 * decimals as signed big-endian integers. */

enum pq_stat_order {
    PQ_SO_BOOL,
    PQ_SO_INT32,  /* int8/16/32, date32 */
    PQ_SO_UINT32, /* uint8/16/32: INT32 compared unsigned */
    PQ_SO_INT64,  /* int64, timestamps */
    PQ_SO_UINT64,
    PQ_SO_FLOAT,
    PQ_SO_DOUBLE,
    PQ_SO_BYTES, /* binary */
    PQ_SO_UTF8,  /* strings: truncation keeps valid UTF-8 */
    PQ_SO_DECIMAL,
};

/* Byte-array min/max longer than this are truncated (and marked
 * inexact): the min to a prefix, the max to a prefix whose last
 * character is incremented, so both still bound every value. */
#define PQ_STATS_MAX_BYTES 64

union pq_stat_val {
    int64_t i;
    uint64_t u;
    double d;
    uint8_t dec[16]; /* little-endian two's complement */
};

struct pq_stats_acc {
    enum pq_stat_order order;
    enum ar_type type; /* of the Arrow leaf: gives the value width */
    int flba_len;   /* PQ_SO_DECIMAL: stored width */
    int64_t scale;  /* values are multiplied by this on export (1 or 1000) */
    bool has;       /* min/max hold at least one non-null, non-NaN value */
    int64_t null_count;
    union pq_stat_val min, max;
    struct buf bmin, bmax; /* owned: byte-array min/max */
};

/* Picks the order for Arrow leaf type `value` (decimal width `flba_len`,
 * timestamp[s] values exported times 1000). */
void pq_stats_init(struct pq_stats_acc *s, const struct ar_field *value,
                   int flba_len);
/* Folds the valid entries of `leaf` within the ranges into min/max, and
 * adds `n_nulls` to the null count. */
infino_status pq_stats_update(struct pq_stats_acc *s,
                              const struct ArrowArray *leaf,
                              const struct pq_range *ranges, size_t n_ranges,
                              int64_t n_nulls);
/* Folds `src` into `dst` (same order). */
infino_status pq_stats_merge(struct pq_stats_acc *dst,
                             const struct pq_stats_acc *src);
/* Forgets the values, keeping memory and order. */
void pq_stats_reset(struct pq_stats_acc *s);
void pq_stats_free(struct pq_stats_acc *s);

struct pq_stats;
struct arena;
/* Fills the Thrift statistics (min_value/max_value in PLAIN form,
 * null_count, exactness flags); their bytes are allocated in `a`. */
infino_status pq_stats_export(struct pq_stats *out,
                              const struct pq_stats_acc *s, struct arena *a);

#endif
