/*
 * pq_meta.h - Parquet's metadata structs in C, with their Thrift encoding.
 *
 * Mirrors parquet.thrift (apache/parquet-format): FileMetaData (the
 * footer), PageHeader (before every page), the page index (OffsetIndex,
 * ColumnIndex), and everything they hold. Decoding reads untrusted bytes:
 * strings and binary values are borrowed from the input (struct
 * pq_bytes), every array is allocated in the decoded struct's arena,
 * unknown fields are skipped (forward compatibility) and missing required
 * fields are INFINO_ERR_CORRUPT. Encoding writes the same structs back,
 * fields in id order, optionals only when present.
 *
 * Presence: optional scalars have a `has_<name>` flag; optional binary
 * values are present iff their `p` is non-NULL (an empty value has a
 * non-NULL `p` and len 0); optional lists are present iff n > 0, except
 * where a `has_` flag says otherwise.
 */
#ifndef INFINO_PQ_META_H
#define INFINO_PQ_META_H

#include "format/parquet/parquet.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/rd.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* parquet.thrift enum Type. */
enum pq_type {
    PQ_BOOLEAN = 0,
    PQ_INT32 = 1,
    PQ_INT64 = 2,
    PQ_INT96 = 3,
    PQ_FLOAT = 4,
    PQ_DOUBLE = 5,
    PQ_BYTE_ARRAY = 6,
    PQ_FIXED_LEN_BYTE_ARRAY = 7,
};

/* parquet.thrift enum ConvertedType (deprecated, still written for old
 * readers). PQ_CT_NONE marks "not set". */
enum pq_converted {
    PQ_CT_NONE = -1,
    PQ_CT_UTF8 = 0,
    PQ_CT_MAP = 1,
    PQ_CT_MAP_KEY_VALUE = 2,
    PQ_CT_LIST = 3,
    PQ_CT_ENUM = 4,
    PQ_CT_DECIMAL = 5,
    PQ_CT_DATE = 6,
    PQ_CT_TIME_MILLIS = 7,
    PQ_CT_TIME_MICROS = 8,
    PQ_CT_TIMESTAMP_MILLIS = 9,
    PQ_CT_TIMESTAMP_MICROS = 10,
    PQ_CT_UINT_8 = 11,
    PQ_CT_UINT_16 = 12,
    PQ_CT_UINT_32 = 13,
    PQ_CT_UINT_64 = 14,
    PQ_CT_INT_8 = 15,
    PQ_CT_INT_16 = 16,
    PQ_CT_INT_32 = 17,
    PQ_CT_INT_64 = 18,
    PQ_CT_JSON = 19,
    PQ_CT_BSON = 20,
    PQ_CT_INTERVAL = 21,
};

/* parquet.thrift enum FieldRepetitionType. */
enum pq_repetition {
    PQ_REQUIRED = 0,
    PQ_OPTIONAL = 1,
    PQ_REPEATED = 2,
};

/* parquet.thrift enum Encoding. */
enum pq_encoding {
    PQ_ENC_PLAIN = 0,
    PQ_ENC_PLAIN_DICTIONARY = 2,
    PQ_ENC_RLE = 3,
    PQ_ENC_BIT_PACKED = 4,
    PQ_ENC_DELTA_BINARY_PACKED = 5,
    PQ_ENC_DELTA_LENGTH_BYTE_ARRAY = 6,
    PQ_ENC_DELTA_BYTE_ARRAY = 7,
    PQ_ENC_RLE_DICTIONARY = 8,
    PQ_ENC_BYTE_STREAM_SPLIT = 9,
};

/* parquet.thrift enum PageType. */
enum pq_page_type {
    PQ_PAGE_DATA = 0,
    PQ_PAGE_INDEX = 1,
    PQ_PAGE_DICTIONARY = 2,
    PQ_PAGE_DATA_V2 = 3,
};

/* LogicalType union members; the values are the union's field ids.
 * PQ_LT_OTHER is a member this code does not know: decoded (and skipped)
 * but never encoded. */
enum pq_logical_kind {
    PQ_LT_NONE = 0,
    PQ_LT_STRING = 1,
    PQ_LT_MAP = 2,
    PQ_LT_LIST = 3,
    PQ_LT_ENUM = 4,
    PQ_LT_DECIMAL = 5,
    PQ_LT_DATE = 6,
    PQ_LT_TIME = 7,
    PQ_LT_TIMESTAMP = 8,
    PQ_LT_INTEGER = 10,
    PQ_LT_UNKNOWN = 11, /* NullType: always null */
    PQ_LT_JSON = 12,
    PQ_LT_BSON = 13,
    PQ_LT_UUID = 14,
    PQ_LT_FLOAT16 = 15,
    PQ_LT_OTHER = 1000,
};

/* TimeUnit union members (field ids). */
enum pq_time_unit {
    PQ_MILLIS = 1,
    PQ_MICROS = 2,
    PQ_NANOS = 3,
};

/* ColumnOrder union members (field ids); PQ_ORDER_UNKNOWN is a member this
 * code does not know, whose statistics must then be ignored. */
enum pq_column_order {
    PQ_ORDER_UNKNOWN = 0,
    PQ_ORDER_TYPE_DEFINED = 1,
    PQ_ORDER_IEEE754_TOTAL = 2,
    PQ_ORDER_INT96_TIMESTAMP = 3,
};

/* Bytes borrowed from the decoded input (or, when encoding, from the
 * caller). Optional values are absent iff p == NULL. */
struct pq_bytes {
    const uint8_t *p;
    size_t len;
};

struct pq_logical {
    int kind;                 /* enum pq_logical_kind */
    int32_t scale;            /* DECIMAL */
    int32_t precision;        /* DECIMAL */
    bool utc;                 /* TIME, TIMESTAMP: isAdjustedToUTC */
    enum pq_time_unit unit;   /* TIME, TIMESTAMP */
    int8_t bit_width;         /* INTEGER: 8, 16, 32 or 64 */
    bool is_signed;           /* INTEGER */
};

struct pq_schema_elem {
    struct pq_bytes name; /* required */
    bool has_type;
    enum pq_type type; /* leaves only */
    bool has_type_length;
    int32_t type_length;
    bool has_repetition;
    enum pq_repetition repetition; /* all but the root */
    bool has_num_children;
    int32_t num_children; /* groups only */
    int32_t converted;    /* enum pq_converted; PQ_CT_NONE when absent */
    bool has_scale;
    int32_t scale;
    bool has_precision;
    int32_t precision;
    bool has_field_id;
    int32_t field_id;
    struct pq_logical logical; /* kind PQ_LT_NONE when absent */
};

struct pq_stats {
    struct pq_bytes max; /* legacy: signed order, see ColumnOrder */
    struct pq_bytes min;
    bool has_null_count;
    int64_t null_count;
    bool has_distinct_count;
    int64_t distinct_count;
    struct pq_bytes max_value; /* per the column's ColumnOrder */
    struct pq_bytes min_value;
    bool has_is_max_value_exact;
    bool is_max_value_exact;
    bool has_is_min_value_exact;
    bool is_min_value_exact;
    bool has_nan_count;
    int64_t nan_count;
};

struct pq_kv {
    struct pq_bytes key;   /* required */
    struct pq_bytes value; /* optional */
};

struct pq_page_encoding_stats {
    enum pq_page_type page_type;
    enum pq_encoding encoding;
    int32_t count;
};

struct pq_sorting_column {
    int32_t column_idx;
    bool descending;
    bool nulls_first;
};

struct pq_column_meta {
    enum pq_type type;
    size_t n_encodings;
    int32_t *encodings; /* enum pq_encoding values */
    size_t n_path;
    struct pq_bytes *path; /* path_in_schema */
    enum pq_codec codec;   /* may hold codecs parquet.h does not name */
    int64_t num_values;
    int64_t total_uncompressed_size;
    int64_t total_compressed_size;
    size_t n_kv;
    struct pq_kv *kv;
    int64_t data_page_offset;
    bool has_index_page_offset;
    int64_t index_page_offset;
    bool has_dictionary_page_offset;
    int64_t dictionary_page_offset;
    bool has_statistics;
    struct pq_stats statistics;
    size_t n_encoding_stats;
    struct pq_page_encoding_stats *encoding_stats;
    bool has_bloom_filter_offset;
    int64_t bloom_filter_offset;
    bool has_bloom_filter_length;
    int32_t bloom_filter_length;
};

struct pq_column_chunk {
    struct pq_bytes file_path; /* optional; we refuse external chunks */
    int64_t file_offset;
    bool has_meta_data;
    struct pq_column_meta meta_data;
    bool has_offset_index;
    int64_t offset_index_offset;
    int32_t offset_index_length;
    bool has_column_index;
    int64_t column_index_offset;
    int32_t column_index_length;
    bool encrypted; /* decode only: crypto_metadata or encrypted metadata */
};

struct pq_row_group {
    size_t n_columns;
    struct pq_column_chunk *columns;
    int64_t total_byte_size;
    int64_t num_rows;
    size_t n_sorting_columns;
    struct pq_sorting_column *sorting_columns;
    bool has_file_offset;
    int64_t file_offset;
    bool has_total_compressed_size;
    int64_t total_compressed_size;
    bool has_ordinal;
    int16_t ordinal;
};

struct pq_file_meta {
    int32_t version;
    size_t n_schema;
    struct pq_schema_elem *schema; /* depth-first, root first */
    int64_t num_rows;
    size_t n_row_groups;
    struct pq_row_group *row_groups;
    size_t n_kv;
    struct pq_kv *kv;
    struct pq_bytes created_by;
    bool has_column_orders;
    size_t n_column_orders;
    int32_t *column_orders; /* enum pq_column_order, one per leaf */
    bool encrypted; /* decode only: encryption_algorithm was present */
    struct arena arena; /* owns every array above after decoding */
};

struct pq_data_page_header {
    int32_t num_values;
    enum pq_encoding encoding;
    enum pq_encoding def_encoding;
    enum pq_encoding rep_encoding;
    bool has_statistics;
    struct pq_stats statistics;
};

struct pq_dict_page_header {
    int32_t num_values;
    enum pq_encoding encoding;
    bool has_is_sorted;
    bool is_sorted;
};

struct pq_data_page_header_v2 {
    int32_t num_values;
    int32_t num_nulls;
    int32_t num_rows;
    enum pq_encoding encoding;
    int32_t def_levels_len;
    int32_t rep_levels_len;
    bool is_compressed; /* thrift default: true */
    bool has_statistics;
    struct pq_stats statistics;
};

struct pq_page_header {
    enum pq_page_type type;
    int32_t uncompressed_page_size;
    int32_t compressed_page_size;
    bool has_crc;
    int32_t crc;
    bool has_data_page;
    struct pq_data_page_header data_page;
    bool has_dict_page;
    struct pq_dict_page_header dict_page;
    bool has_data_page_v2;
    struct pq_data_page_header_v2 data_page_v2;
};

/* ---- page index (parquet-format PageIndex.md) -------------------------
 * Written after the row groups; ColumnChunk.offset_index_offset/length and
 * column_index_offset/length point at one of each per column chunk. */

/* parquet.thrift PageLocation. */
struct pq_page_location {
    int64_t offset;               /* of the page header, in the file */
    int32_t compressed_page_size; /* header included */
    int64_t first_row_index;      /* within the row group */
};

/* parquet.thrift OffsetIndex: one entry per data page (dictionary pages
 * are not listed), in file order. The optional
 * unencoded_byte_array_data_bytes list is skipped when decoding and never
 * written. */
struct pq_offset_index {
    size_t n_pages;
    struct pq_page_location *pages;
    struct arena arena; /* owns `pages` after decoding */
};

/* parquet.thrift BoundaryOrder. */
enum pq_boundary_order {
    PQ_BOUNDARY_UNORDERED = 0,
    PQ_BOUNDARY_ASCENDING = 1,
    PQ_BOUNDARY_DESCENDING = 2,
};

/* parquet.thrift ColumnIndex: per data page, whether it holds only nulls
 * and the bounds of its values (PLAIN form, empty for null pages). The
 * level histograms (fields 6 and 7) are skipped and never written. */
struct pq_column_index {
    size_t n_pages;
    bool *null_pages;
    struct pq_bytes *min_values;
    struct pq_bytes *max_values;
    enum pq_boundary_order boundary_order;
    bool has_null_counts;
    int64_t *null_counts; /* n_pages entries when has_null_counts */
    struct arena arena;   /* owns the arrays after decoding */
};

/* ---- decoding (untrusted input) --------------------------------------- */

/* Decodes a FileMetaData from `n` bytes at `p` (the footer, without its
 * length and magic). All of `p` must be consumed: trailing bytes are
 * CORRUPT. On success *out owns its arena (release with
 * pq_file_meta_free) and borrows strings from `p`, which must outlive it.
 * On failure *out is zeroed. */
infino_status pq_meta_decode_file(struct pq_file_meta *out, const uint8_t *p,
                                  size_t n);
/* Releases the arrays of a decoded FileMetaData. Zeroed input is fine;
 * leaves *m zeroed. */
void pq_file_meta_free(struct pq_file_meta *m);

/* Decodes the PageHeader at the front of `in` and advances `in` past it.
 * Allocates nothing; statistics borrow from the input. On failure *out is
 * unspecified and `in` is unchanged. */
infino_status pq_meta_decode_page_header(struct pq_page_header *out,
                                         struct rd *in);

/* Decode an OffsetIndex / ColumnIndex from exactly `n` bytes at `p`
 * (trailing bytes are CORRUPT). On success *out owns its arena and the
 * ColumnIndex borrows its bounds from `p`; on failure *out is zeroed.
 * Lists of different lengths are CORRUPT; the values themselves (offsets,
 * row indexes, bounds) are left for the caller to check. */
infino_status pq_meta_decode_offset_index(struct pq_offset_index *out,
                                          const uint8_t *p, size_t n);
infino_status pq_meta_decode_column_index(struct pq_column_index *out,
                                          const uint8_t *p, size_t n);
/* Zeroed input is fine; leaves the struct zeroed. */
void pq_offset_index_free(struct pq_offset_index *oi);
void pq_column_index_free(struct pq_column_index *ci);

/* ---- encoding --------------------------------------------------------- */

/* Appends the Thrift encoding of `m` (its `arena` and decode-only flags
 * are ignored). Values are written as given: the caller is responsible for
 * the required fields making sense. */
infino_status pq_meta_encode_file(struct buf *out,
                                  const struct pq_file_meta *m);
infino_status pq_meta_encode_page_header(struct buf *out,
                                         const struct pq_page_header *h);

/* Append the Thrift encoding of an OffsetIndex / ColumnIndex (arenas
 * ignored). */
infino_status pq_meta_encode_offset_index(struct buf *out,
                                          const struct pq_offset_index *oi);
infino_status pq_meta_encode_column_index(struct buf *out,
                                          const struct pq_column_index *ci);

/* ---- helpers ---------------------------------------------------------- */

/* Static names for messages ("INT32", "RLE_DICTIONARY", ...; "?" for
 * values outside the enums). */
const char *pq_type_name(int type);
const char *pq_encoding_name(int encoding);
const char *pq_codec_name(int codec);

/* True when the bytes equal the NUL-terminated string `s`. */
bool pq_bytes_eq(struct pq_bytes b, const char *s);

#endif
