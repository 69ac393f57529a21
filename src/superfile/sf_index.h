/*
 * sf_index.h - the indexes inside a superfile, opened on demand.
 *
 * Region names: "fts.<i>" and "ivf.<i>" for the i-th FTS and vector column
 * of the table's index spec, "ivfnull.<i>" (rows whose vector is null; a
 * CRoaring portable bitmap, absent when there are none) and "ids" (the
 * _id of every row, as runs of consecutive ids).
 *
 * "ids" layout: "INFIDS01" | u64 n_rows | u64 n_runs | n_runs x
 * {u64 first_row, u64 hi, u64 lo}, first_row strictly increasing from 0;
 * row r of a run has _id (hi, lo + r - first_row).
 *
 * A superfile's index readers are opened the first time a query needs them
 * and kept with the file; opening is thread-safe.
 */
#ifndef INFINO_SUPERFILE_INDEX_H
#define INFINO_SUPERFILE_INDEX_H

#include "sf_spec.h"
#include "superfile.h"

#include "index/fts/fts.h"
#include "index/vector/ivf.h"
#include "util/tid.h"

#define SF_REGION_FTS_PREFIX "fts."
#define SF_REGION_IVF_PREFIX "ivf."
#define SF_REGION_IVF_NULLS_PREFIX "ivfnull."
#define SF_REGION_IDS "ids"
#define SF_IDS_MAGIC "INFIDS01"

enum ivf_metric sf_metric_to_ivf(enum sf_metric m);

/* Indexes of one open superfile. Owned by whoever opened it; the file's
 * sf_reader and blob must outlive it. */
struct sf_indexes;

infino_status sf_indexes_new(struct sf_indexes **out, struct sf_reader *r,
                             struct store_blob *blob, size_t n_fts,
                             size_t n_vec);
void sf_indexes_free(struct sf_indexes *x); /* NULL is a no-op */

/* The FTS reader of column i (borrowed until sf_indexes_free).
 * INFINO_ERR_NOTFOUND when the file has no such region. */
infino_status sf_indexes_fts(const struct fts_reader **out,
                             struct sf_indexes *x, size_t i);
/* false when FTS column i's term summary proves no row of this file can
 * match `q` under `mode` (the file is then skipped without touching its
 * dictionary or postings); true otherwise, including on any doubt. */
bool sf_indexes_fts_may_match(struct sf_indexes *x, size_t i,
                              const struct fts_query *q, enum fts_mode mode);

/* The vector reader of column i, and its null rows (NULL when none). */
infino_status sf_indexes_ivf(struct ivf_reader **out,
                             const roaring_bitmap_t **nulls_out,
                             struct sf_indexes *x, size_t i);

/* The format version index region `name` ("fts.<i>" or "ivf.<i>")
 * states in its header (bytes 8..11, u32 LE, in both formats), read
 * without opening or verifying the region: a few bytes whatever its size.
 * INFINO_ERR_NOTFOUND when the file has no such region,
 * INFINO_ERR_CORRUPT when it is shorter than a header. */
infino_status sf_indexes_region_version(uint32_t *out, struct sf_indexes *x,
                                        const char *name);

/* _id of local row `row`. INFINO_ERR_NOTFOUND when the file has no ids
 * region (then read the _id column instead). */
infino_status sf_indexes_id(struct tid *out, struct sf_indexes *x,
                            uint64_t row);

#endif
