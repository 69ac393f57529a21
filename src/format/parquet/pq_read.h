/*
 * pq_read.h - private header shared by the reader's files: pq_reader.c
 * (footer, schema, row groups, scans), pq_read_column.c (one column chunk
 * into Arrow arrays) and pq_stats.c (statistics-based pruning).
 *
 * A reader is immutable after pq_reader_open() but for a cache of page
 * maps that point reads install atomically; every read allocates its own
 * scratch, so several threads may read one reader at the same time.
 */
#ifndef INFINO_PQ_READ_H
#define INFINO_PQ_READ_H

#include "format/parquet/parquet.h"
#include "pq_meta.h"
#include "pq_schema.h"
#include "util/arena.h"

#include <stdatomic.h>

/* Default per-read memory limit: the larger of this and
 * PQ_READ_LIMIT_RATIO times the file size. Parquet's encodings compress
 * without bound (an RLE run or a dictionary index can stand for any
 * amount of data), so a decoder needs a limit that does not come from
 * the file; this one lets files expand 256-fold, or to 1 GiB. */
#define PQ_READ_LIMIT_MIN (UINT64_C(1) << 30)
#define PQ_READ_LIMIT_RATIO 256

struct pq_reader {
    struct store_blob *blob; /* borrowed */
    const char *name;        /* borrowed from the blob */
    uint64_t file_size;
    uint64_t footer_off; /* first byte of the FileMetaData */
    const uint8_t *footer; /* borrowed from the blob */
    struct pq_file_meta meta;  /* borrows strings from `footer` */
    struct ar_schema schema;   /* owned */
    struct pq_schema ps;       /* leaves point into `schema` */
    int64_t num_rows;
    uint64_t max_bytes; /* per read; see PQ_READ_LIMIT_MIN */
    /* Footer key-value entries, NUL-terminated copies (in `arena`). */
    size_t n_kv;
    const char **kv_keys;
    const char **kv_values; /* NULL for an entry without a value */
    size_t *kv_lens;
    /* Per leaf: the statistics' sort order (enum pq_column_order), or
     * PQ_ORDER_UNKNOWN when the footer lists none. */
    int32_t *orders;
    /* Page maps of column chunks for point reads (index rg * n_leaves +
     * leaf), each built on first use and published by compare-and-swap;
     * the array too. A map also keeps its chunk's decoded dictionary (at
     * most 256 KiB) once a point read needed it. The only state a read
     * adds to a reader; owned. */
    _Atomic(struct pq_page_map *) *_Atomic page_maps;
    struct arena arena;
};

struct bufpool;
/* Decodes column `leaf` of row group `rg` into *out (owned). `budget`
 * (borrowed) is the memory this read may still allocate. Large buffers
 * come from `pool` (borrowed, NULL for none) and go back to it when *out
 * is released (the array holds a reference). Errors name the column; the
 * caller adds the file and row group. */
infino_status pq_read_column(struct ArrowArray *out, const struct pq_reader *r,
                             int rg, size_t leaf, uint64_t *budget,
                             struct bufpool *pool);

struct pq_page_map;
/* Frees the page maps point reads built (pq_read_column.c). */
void pq_page_maps_free(struct pq_reader *r);

/* Decodes rows rows[0..n_rows) (ascending, unique, inside the row group;
 * the caller checked) of column `leaf` of row group `rg` into *out
 * (owned), in that order. Only the data pages holding those rows are
 * decompressed and decoded, located through the column chunk's
 * OffsetIndex when it has one, else by walking the page headers (once per
 * chunk: the map is kept in r->page_maps). `budget` as for
 * pq_read_column. */
infino_status pq_read_column_rows(struct ArrowArray *out,
                                  const struct pq_reader *r, int rg,
                                  size_t leaf, const uint32_t *rows,
                                  size_t n_rows, uint64_t *budget);

/* The byte range [*off, *off + *len) of a column chunk: from its first
 * page (the dictionary's when there is one) for total_compressed_size
 * bytes, which must lie between the leading magic and the footer. */
infino_status pq_chunk_range(const struct pq_reader *r,
                             const struct pq_column_meta *cm, uint64_t *off,
                             uint64_t *len);

/* Statistics test for one filter on one row group (pq_stats.c). */
bool pq_stats_may_match(const struct pq_reader *r, int rg,
                        const struct pq_filter *f);

#endif
