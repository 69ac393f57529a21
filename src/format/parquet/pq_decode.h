/*
 * pq_decode.h - Parquet's encodings and pages, decoded from untrusted bytes.
 *
 * Leaf routines turn one encoded stream into dense values: the RLE /
 * bit-packed hybrid (levels, dictionary indices, booleans), PLAIN,
 * DELTA_BINARY_PACKED, DELTA_LENGTH_BYTE_ARRAY, DELTA_BYTE_ARRAY and
 * BYTE_STREAM_SPLIT. The page iterator walks a column chunk: it parses
 * each PageHeader, checks sizes against the chunk, verifies the optional
 * CRC, decompresses, and splits DataPage v1/v2 bodies into their level
 * and value sections. Assembling Arrow arrays from pages is pq_read_column.c.
 *
 * Every routine bounds-checks against its input and returns
 * INFINO_ERR_CORRUPT (message says what was wrong; callers add the file,
 * row group and column) rather than read past it.
 *
 * Spec: apache/parquet-format Encodings.md, parquet.thrift (PageHeader).
 */
#ifndef INFINO_PQ_DECODE_H
#define INFINO_PQ_DECODE_H

#include "pq_meta.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Bits needed to store values 0..max (0 for max == 0). */
static inline int pq_bit_width(uint32_t max)
{
    int n = 0;

    while (max) {
        n++;
        max >>= 1;
    }
    return n;
}

/* ---- RLE / bit-packed hybrid (Encodings.md "RLE") --------------------- */

/* Streams values out of one hybrid run sequence (without its length
 * prefix or bit-width byte, which the caller strips). */
struct pq_rle {
    const uint8_t *p;   /* borrowed: next run header */
    const uint8_t *end;
    int bit_width;      /* 0..32 */
    bool packed;        /* current run is bit-packed (else RLE) */
    uint64_t left;      /* values left in the current run */
    uint32_t value;     /* RLE run value */
    const uint8_t *bits; /* bit-packed: next unread group of 8 */
    size_t bits_len;     /* bytes of the run left at `bits` */
    uint32_t grp[8];     /* bit-packed: the current group, unpacked */
    int grp_pos;         /* next value in grp; 8 when empty */
};

void pq_rle_init(struct pq_rle *d, const uint8_t *p, size_t n, int bit_width);
/* Decodes exactly `n` values. Running out of runs is CORRUPT. The u8
 * variant requires bit_width <= 8. */
infino_status pq_rle_get_u8(struct pq_rle *d, uint8_t *out, size_t n);
infino_status pq_rle_get_u32(struct pq_rle *d, uint32_t *out, size_t n);

/* Whether the next `n` values of `d` are `first` at every position that
 * is a multiple of `period` (counting from this call's first value) and
 * `v` at the others (period 0: `v` everywhere). Checked run by run: a
 * repeated run costs two comparisons whatever its length, only
 * bit-packed groups are unpacked. Lets a reader prove a page's levels
 * are those of a fixed_size_list without nulls (definition levels all
 * max_def; repetition levels 0 then list_size - 1 ones per row) without
 * expanding them. False also when the runs are malformed or end early. */
bool pq_rle_match(struct pq_rle *d, size_t n, uint32_t first, uint32_t v,
                  size_t period);

/* Unpacks n_groups groups of 8 LSB-first values of `bw` bits (0..32) from
 * n_groups * bw bytes at `in` (the layout of bit-packed runs and of
 * DELTA_BINARY_PACKED miniblocks of <= 32 bits). */
void pq_unpack_u32(uint32_t *out, const uint8_t *in, size_t n_groups, int bw);

/* The deprecated BIT_PACKED level encoding: MSB-first, no header, exactly
 * ceil(n * bw / 8) bytes (bw <= 8). *used_out gets that byte count. */
infino_status pq_bit_packed_get_u8(uint8_t *out, size_t n, int bw,
                                   const uint8_t *p, size_t len,
                                   size_t *used_out);

/* ---- values ----------------------------------------------------------- */

/* A byte-array value, borrowed from a page, a dictionary or a scratch
 * buffer. */
struct pq_view {
    const uint8_t *p;
    size_t len;
};

/* PLAIN BOOLEAN: n bits LSB-first, one per value, into bytes 0/1. */
infino_status pq_plain_bool(uint8_t *out, size_t n, const uint8_t *p,
                            size_t len);
/* PLAIN BYTE_ARRAY: n values of (u32 length, bytes). *used_out gets the
 * bytes consumed. */
infino_status pq_plain_byte_array(struct pq_view *out, size_t n,
                                  const uint8_t *p, size_t len,
                                  size_t *used_out);

/* DELTA_BINARY_PACKED: decodes `n` values (the stream may hold more, as
 * its header says; fewer is CORRUPT). Arithmetic wraps, as the spec's
 * does. *used_out gets the bytes up to the end of the last miniblock
 * that held one of the stream's values. */
infino_status pq_delta_i32(int32_t *out, size_t n, const uint8_t *p,
                           size_t len, size_t *used_out);
infino_status pq_delta_i64(int64_t *out, size_t n, const uint8_t *p,
                           size_t len, size_t *used_out);

/* DELTA_LENGTH_BYTE_ARRAY: `n` views into `p`. `lens` is scratch for n
 * int32 values. */
infino_status pq_delta_length_byte_array(struct pq_view *out, size_t n,
                                         const uint8_t *p, size_t len,
                                         int32_t *lens);

/* DELTA_BYTE_ARRAY: the values are rebuilt (prefix of the previous value
 * plus suffix) into `arena`, which is reset first; the views point into
 * it and stay valid until it changes. `lens` is scratch for 2n int32.
 * Growth of `arena` is charged to `budget` (see pq_budget_take). */
infino_status pq_delta_byte_array(struct pq_view *out, size_t n,
                                  const uint8_t *p, size_t len, int32_t *lens,
                                  struct buf *arena, uint64_t *budget);

/* BYTE_STREAM_SPLIT: n values of `width` bytes, gathered from `width`
 * streams of n bytes each. */
infino_status pq_byte_stream_split(uint8_t *out, size_t n, size_t width,
                                   const uint8_t *p, size_t len);

/* ---- pages ------------------------------------------------------------ */

/* One page, its body decompressed and split into sections (borrowed from
 * the chunk or from the iterator's scratch; valid until the next call). */
struct pq_page {
    struct pq_page_header h;
    int32_t num_values; /* data pages: levels in the page (incl. nulls) */
    enum pq_encoding encoding;
    /* Data pages: the levels, as stored. v1 levels carry their encoding
     * (RLE with a u32 length prefix, or BIT_PACKED); v2 levels are RLE
     * without the prefix, and are stored uncompressed. */
    bool v2;
    enum pq_encoding rep_encoding, def_encoding;
    const uint8_t *levels; /* v1: rep then def then values; v2: rep, def */
    size_t rep_len, def_len; /* v2 only; v1 sections are self-delimiting */
    const uint8_t *values; /* v2: the value section; v1: NULL until the
                              caller has walked past the levels */
    size_t values_len;
    const uint8_t *body; /* v1/dictionary: the whole decompressed body */
    size_t body_len;
};

struct pq_page_iter {
    const uint8_t *p;   /* borrowed: next page header */
    const uint8_t *end; /* end of the column chunk */
    enum pq_codec codec;
    bool verify_crc;
    struct buf scratch; /* owned: decompressed bodies */
    uint64_t *budget;   /* borrowed: bytes this read may still allocate */
};

/* Starts iterating the `len` bytes of a column chunk at `p` (borrowed).
 * `budget` (borrowed) is decremented by every scratch growth; reaching
 * zero is INFINO_ERR_UNSUPPORTED ("row group too large"). */
void pq_page_iter_init(struct pq_page_iter *it, const uint8_t *p, size_t len,
                       enum pq_codec codec, uint64_t *budget);
/* Next page of the chunk. Index pages and unknown page types are skipped.
 * *eof is set at the end of the chunk. Codecs pq_codec.h does not know are
 * INFINO_ERR_UNSUPPORTED. */
infino_status pq_page_next(struct pq_page_iter *it, struct pq_page *out,
                           bool *eof);
void pq_page_iter_free(struct pq_page_iter *it);

/* Points the iterator at `len` other bytes at `p` (borrowed; say, one page
 * of the same chunk that a page index located), keeping its scratch. */
void pq_page_iter_seek(struct pq_page_iter *it, const uint8_t *p, size_t len);

/* Steps over the next page, decoding only its header into *out: the body
 * is neither checked against its CRC nor decompressed, so a page costs a
 * few dozen bytes of Thrift. *at_out gets the page's first byte (its
 * header) and *len_out its whole length, header included. Every page type
 * is returned. *eof is set at the end of the chunk. */
infino_status pq_page_skip(struct pq_page_iter *it, struct pq_page_header *out,
                           const uint8_t **at_out, size_t *len_out,
                           bool *eof);

/* Charges `n` bytes to a read budget. */
infino_status pq_budget_take(uint64_t *budget, uint64_t n);

#endif
