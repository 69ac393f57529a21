/*
 * superfile.h - one immutable file: a Parquet body plus index regions.
 *
 * Layout:  "PAR1" | row groups | region... | FileMetaData | len | "PAR1"
 *
 * Regions are opaque byte ranges (a full-text index, a vector index, ...)
 * written after the last row group and before the footer. They are found
 * through namespaced footer key-value entries:
 *
 *   infino.format          "infino-superfile"
 *   infino.format_version  "1"
 *   infino.region.<name>   "<offset>:<length>:<crc32c, 8 hex digits>"
 *
 * Column chunk offsets in the footer point only at row groups, so plain
 * Parquet readers (pyarrow, DuckDB, Spark) never look at the regions, and
 * rewriting the file with another writer yields valid Parquet without
 * indexes. Every region is CRC-32C protected; a mismatch is reported as
 * corruption naming the file and the region.
 *
 * Not useful for: mutating a file. Superfiles are written once.
 */
#ifndef INFINO_SUPERFILE_H
#define INFINO_SUPERFILE_H

#include "format/parquet/parquet.h"

#define SF_FORMAT_KEY "infino.format"
#define SF_FORMAT_VALUE "infino-superfile"
#define SF_VERSION_KEY "infino.format_version"
#define SF_VERSION_VALUE "1"
#define SF_REGION_PREFIX "infino.region."
#define SF_REGION_NAME_MAX 128

/* ---- writing ---------------------------------------------------------- */

struct sf_writer;

/* Starts a superfile in `sink` (borrowed: the caller finishes or aborts
 * it). `schema` is copied; `opts` may be NULL. */
infino_status sf_writer_open(struct sf_writer **out, struct store_sink *sink,
                             const struct ar_schema *schema,
                             const struct pq_write_opts *opts);

/* Appends rows (see pq_writer_write). Only before the first region. */
infino_status sf_writer_write(struct sf_writer *w,
                              const struct ArrowArray *batch);

/* Regions: either whole (add_region) or streamed (region_begin, any
 * number of writes to the sink returned by sf_writer_sink(), region_end).
 * Names are 1..128 characters of [a-z0-9_.:-] and unique per file. The
 * first region call closes the Parquet body. */
infino_status sf_writer_add_region(struct sf_writer *w, const char *name,
                                   const void *data, size_t len);
infino_status sf_writer_region_begin(struct sf_writer *w, const char *name);
/* Borrowed: the sink to stream the open region into. */
struct store_sink *sf_writer_sink(struct sf_writer *w);
infino_status sf_writer_region_end(struct sf_writer *w);

/* Extra footer key-value entry (copied). */
infino_status sf_writer_add_kv(struct sf_writer *w, const char *key,
                               const char *value);

int64_t sf_writer_num_rows(const struct sf_writer *w);

/* Writes the footer. Does not finish the sink. */
infino_status sf_writer_finish(struct sf_writer *w);
void sf_writer_free(struct sf_writer *w); /* NULL is a no-op */

/* ---- reading ---------------------------------------------------------- */

struct sf_reader;

/* Opens the Parquet footer of `blob` (borrowed; must outlive the reader)
 * and its region directory. Files without infino.format are plain
 * Parquet: they open with zero regions. Region entries that point outside
 * [4, footer) or overlap are INFINO_ERR_CORRUPT. */
infino_status sf_reader_open(struct sf_reader **out, struct store_blob *blob);
void sf_reader_free(struct sf_reader *r); /* NULL is a no-op */

/* Borrowed: valid until sf_reader_free(). */
struct pq_reader *sf_reader_parquet(struct sf_reader *r);
const char *sf_reader_name(const struct sf_reader *r);

size_t sf_reader_n_regions(const struct sf_reader *r);
/* Borrowed name of region i (in file order). */
const char *sf_reader_region_name(const struct sf_reader *r, size_t i);

/* Where region `name` lies and its stored CRC; false when absent. */
bool sf_reader_region_locate(const struct sf_reader *r, const char *name,
                             uint64_t *offset_out, uint64_t *len_out,
                             uint32_t *crc_out);

/* Sets *data_out and *len_out to the bytes of region `name` (borrowed, valid
 * until sf_reader_free). The CRC is verified the first time a region is
 * returned. INFINO_ERR_NOTFOUND when absent, INFINO_ERR_CORRUPT on a
 * checksum mismatch. */
infino_status sf_reader_region(struct sf_reader *r, const char *name,
                               const uint8_t **data_out, size_t *len_out);

/* The same bytes without verifying the region's CRC: only for readers of
 * formats that verify their own bytes as they read them (FTS format 4 on,
 * per chunk), so that a first query does not read the whole region.
 * sf_reader_region (and the table check) still verify it whole. */
infino_status sf_reader_region_unverified(struct sf_reader *r,
                                          const char *name,
                                          const uint8_t **data_out,
                                          size_t *len_out);

#endif
