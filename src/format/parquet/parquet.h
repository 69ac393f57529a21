/*
 * parquet.h - writing and reading Parquet files, from Arrow data.
 *
 * The writer streams: batches go into per-column page encoders, pages into
 * the sink, and a row group is closed when it reaches its target size, so
 * memory stays bounded by one row group's encoded pages (plus the page
 * index, a few bytes per page, kept until the data ends). Between the page
 * index and the footer the caller may write its own bytes (the superfile's
 * index regions); the footer's offsets point only at row groups and page
 * indexes, so other Parquet readers never notice them.
 *
 * The reader maps nothing itself: it reads through a store_blob (mmap or
 * memory), parses the footer once, restores the Arrow schema from the
 * "ARROW:schema" key when present, and decodes column chunks straight into
 * Arrow buffers. Statistics let callers skip row groups; the page index
 * (OffsetIndex) lets them fetch a few rows by decoding only their pages.
 *
 * Spec: apache/parquet-format, parquet.thrift and Encodings.md.
 * Not useful for: nested structs, maps, or lists of lists (lists of
 * primitives, including fixed_size_list, are supported).
 */
#ifndef INFINO_FORMAT_PARQUET_H
#define INFINO_FORMAT_PARQUET_H

#include "format/arrow/arrow.h"
#include "store/store.h"

/* Parquet CompressionCodec enum values (parquet.thrift). */
enum pq_codec {
    PQ_UNCOMPRESSED = 0,
    PQ_SNAPPY = 1,
    PQ_GZIP = 2, /* read only */
    PQ_ZSTD = 6,
};

struct pq_write_opts {
    uint32_t version;           /* PQ_WRITE_OPTS_INIT sets it */
    enum pq_codec codec;        /* default PQ_ZSTD */
    int zstd_level;             /* default 1 */
    uint64_t row_group_bytes;   /* target encoded size of one row group
                                   (default 128 MiB) */
    int64_t row_group_rows;     /* also close a row group at this many rows
                                   (default 1 << 20) */
    uint32_t page_bytes;        /* target data page size (default 1 MiB) */
    int data_page_version;      /* 1 or 2 (default 1) */
    int dictionary;             /* dictionary-encode strings/binary (1) */
    uint32_t dictionary_bytes;  /* fall back to PLAIN when a column chunk's
                                   dictionary grows past this (1 MiB) */
    int statistics;             /* write min/max/null_count (1) */
    int page_index;             /* write an OffsetIndex per column chunk,
                                   and a ColumnIndex where every page has
                                   statistics (1) */
    uint32_t fixed_list_page_bytes; /* page size of fixed_size_list columns
                                       (embeddings, read a row at a time to
                                       rescore them); 0: page_bytes (0) */
    int fixed_list_codec;       /* codec of fixed_size_list columns (an
                                   enum pq_codec); -1: `codec` (-1). Floats
                                   barely compress, and an uncompressed
                                   page lets a point read copy one row */
    int fixed_width_codec;      /* codec of the other columns whose values
                                   have a fixed width (numbers, booleans,
                                   dates, timestamps, decimals; not
                                   strings or binary); -1: `codec` (-1).
                                   Uncompressed, a point read of one
                                   value costs no page decompression */
};
#define PQ_WRITE_OPTS_INIT                                                     \
    {                                                                          \
        1, PQ_ZSTD, 1, 128u << 20, 1 << 20, 1u << 20, 1, 1, 1u << 20, 1, 1, 0, \
            -1, -1                                                             \
    }

/* ---- writer ----------------------------------------------------------- */

struct pq_writer;

/* Starts a Parquet file in `sink` (borrowed; the caller finishes or aborts
 * it after pq_writer_finish / on failure). `schema` is copied. `opts` may
 * be NULL for defaults. Writes the leading "PAR1". */
infino_status pq_writer_open(struct pq_writer **out, struct store_sink *sink,
                             const struct ar_schema *schema,
                             const struct pq_write_opts *opts);

/* Appends the rows of `batch`, a struct array matching the schema (the
 * caller has validated it, e.g. with ar_batch_validate). Borrowed: the
 * writer copies what it needs before returning. */
infino_status pq_writer_write(struct pq_writer *w,
                              const struct ArrowArray *batch);

/* Closes the open row group now (no-op if it is empty). */
infino_status pq_writer_flush_row_group(struct pq_writer *w);

/* Closes the last row group and writes the page index (all ColumnIndex
 * structs, then all OffsetIndex structs: parquet-format PageIndex.md puts
 * them after the row groups). After this no rows may be written, and the
 * caller may write extra bytes to the sink before pq_writer_finish(). */
infino_status pq_writer_end_data(struct pq_writer *w);

/* Adds a footer key-value entry (after ARROW:schema). Copied. */
infino_status pq_writer_add_kv(struct pq_writer *w, const char *key,
                               const void *value, size_t value_len);

/* Rows written so far. */
int64_t pq_writer_num_rows(const struct pq_writer *w);

/* Writes the footer (FileMetaData, its length, "PAR1"), calling
 * pq_writer_end_data() first if needed. Does not finish the sink. */
infino_status pq_writer_finish(struct pq_writer *w);

/* NULL is a no-op. Does not touch the sink. */
void pq_writer_free(struct pq_writer *w);

/* ---- reader ----------------------------------------------------------- */

struct pq_reader;

/* Parses the footer of `blob` (borrowed; must outlive the reader). The
 * Arrow schema comes from "ARROW:schema" when present, otherwise it is
 * derived from the Parquet schema and logical types. */
infino_status pq_reader_open(struct pq_reader **out, struct store_blob *blob);
void pq_reader_free(struct pq_reader *r); /* NULL is a no-op */

/* Borrowed: valid until pq_reader_free(). */
const struct ar_schema *pq_reader_schema(const struct pq_reader *r);
int64_t pq_reader_num_rows(const struct pq_reader *r);
int pq_reader_num_row_groups(const struct pq_reader *r);
int64_t pq_reader_row_group_rows(const struct pq_reader *r, int rg);
/* Offset of the first byte of the footer (FileMetaData). */
uint64_t pq_reader_footer_offset(const struct pq_reader *r);

/* Caps the memory one pq_reader_read_row_group() (or pq_scan_next(), or
 * pq_reader_read_rows()) call may allocate, output and scratch together;
 * a row group needing more is INFINO_ERR_UNSUPPORTED. Parquet's encodings
 * compress without bound (one RLE run or dictionary index can stand for
 * any amount of data), so the limit cannot come from the file. Default:
 * the larger of 1 GiB and 256 times the file size; 0 restores it. Reads
 * may run concurrently on one reader from several threads; set the limit
 * before they start. */
void pq_reader_set_max_bytes(struct pq_reader *r, uint64_t max_bytes);

/* Value of a footer key-value entry, or NULL. Borrowed (valid until
 * pq_reader_free); *len_out gets its length. */
const char *pq_reader_kv(const struct pq_reader *r, const char *key,
                         size_t *len_out);

/* Footer key-value entries by position, 0 <= i < pq_reader_kv_count().
 * Borrowed (valid until pq_reader_free). *key_out is NUL-terminated;
 * *value_out may be NULL for an entry without a value. (Added for the
 * superfile region directory.) */
size_t pq_reader_kv_count(const struct pq_reader *r);
void pq_reader_kv_at(const struct pq_reader *r, size_t i, const char **key_out,
                     const char **value_out, size_t *value_len_out);

/* A typed constant for statistics-based pruning. */
struct pq_value {
    enum ar_type type; /* of the column it is compared with */
    union {
        int64_t i;   /* signed ints, date32, timestamp */
        uint64_t u;  /* unsigned ints, bool (0/1) */
        double d;    /* float32/64 */
        uint8_t dec[16]; /* decimal128, little-endian two's complement */
        struct {
            const uint8_t *p; /* borrowed */
            size_t n;
        } bytes; /* utf8/binary */
    } v;
};

enum pq_op { PQ_EQ, PQ_LT, PQ_LE, PQ_GT, PQ_GE, PQ_IS_NULL, PQ_NOT_NULL };

/* "column `field` <op> value". Filters in an array are ANDed. */
struct pq_filter {
    int field; /* index into the schema's top-level fields */
    enum pq_op op;
    struct pq_value value; /* unused for the null tests */
};

/* false when the row group's statistics prove no row can satisfy all
 * `filters`; true otherwise (including when statistics are missing). */
bool pq_reader_row_group_may_match(const struct pq_reader *r, int rg,
                                   const struct pq_filter *filters,
                                   size_t n_filters);

/* Decodes row group `rg`, columns `fields` (top-level field indexes, in
 * the order given; NULL with n_fields == 0 means all) into *out, an owned
 * struct array. Corrupt pages are INFINO_ERR_CORRUPT naming the file, row
 * group and column. */
infino_status pq_reader_read_row_group(struct pq_reader *r, int rg,
                                       const int *fields, size_t n_fields,
                                       struct ArrowArray *out);

/* Decodes rows rows[0..n_rows) of row group `rg` (indexes within the row
 * group, ascending and unique; otherwise INFINO_ERR_INVALID), columns
 * `fields` as for pq_reader_read_row_group, into *out: an owned struct
 * array of n_rows rows in that order, with the same column types. Only the
 * data pages holding those rows are decompressed and decoded, plus the
 * dictionary page of a column whose pages need it; pages are located by
 * the column chunk's OffsetIndex, else by stepping over page headers
 * (list columns written with v1 pages and no OffsetIndex are decoded
 * whole, since only their levels say where rows start). Corrupt pages or
 * page indexes are INFINO_ERR_CORRUPT naming the file, row group and
 * column; pages that are skipped are not checked. Counts against
 * pq_reader_set_max_bytes() like a row-group read. */
infino_status pq_reader_read_rows(struct pq_reader *r, int rg,
                                  const int *fields, size_t n_fields,
                                  const uint32_t *rows, size_t n_rows,
                                  struct ArrowArray *out);

/* A scan: projection plus row-group pruning, yielding one batch per
 * surviving row group. */
struct pq_scan;
infino_status pq_scan_open(struct pq_scan **out, struct pq_reader *r,
                           const int *fields, size_t n_fields,
                           const struct pq_filter *filters, size_t n_filters);
/* *out is owned. At the end *eof is true and *out is release-marked. */
infino_status pq_scan_next(struct pq_scan *s, struct ArrowArray *out,
                           bool *eof);
/* Schema of the batches the scan yields (the projected fields).
 * Borrowed: valid until pq_scan_free(). */
const struct ar_schema *pq_scan_schema(const struct pq_scan *s);
void pq_scan_free(struct pq_scan *s);

#endif
