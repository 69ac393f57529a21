/*
 * sf_build.h - building one superfile of a table: rows plus indexes.
 *
 * The builder streams each batch into the Parquet body and, at the same
 * time, into one full-text index writer per FTS column and one vector
 * index writer per vector column. finish() writes the index regions after
 * the last row group, then the footer, and reports what the table
 * snapshot records about the file.
 *
 * Region names: "fts.<column index>" and "ivf.<column index>", the index
 * into the spec's FTS / vector lists (column names can hold characters
 * that region names cannot).
 */
#ifndef INFINO_SUPERFILE_BUILD_H
#define INFINO_SUPERFILE_BUILD_H

#include "sf_spec.h"
#include "superfile.h"

struct sf_build_opts {
    uint64_t mem_budget; /* bytes for index accumulation before spilling;
                            0 = default (256 MiB) */
    const char *tmp_dir; /* for spills; NULL = $TMPDIR or /tmp */
    struct pq_write_opts pq;
};

/* What a finished build reports (owned by the caller; sf_build_info_free). */
struct sf_build_info {
    uint64_t n_rows;
    uint64_t *fts_tokens; /* per FTS column: total tokens */
    size_t n_fts;
};

struct sf_builder;

/* `schema` is the full stored schema (the table's _id column first, then
 * the user's columns); `spec` names indexed columns by name. Both are
 * copied. `sink` is borrowed; the caller finishes or aborts it. */
infino_status sf_builder_open(struct sf_builder **out, struct store_sink *sink,
                              const struct ar_schema *schema,
                              const struct sf_index_spec *spec,
                              const struct sf_build_opts *opts);

/* Adds validated rows (a struct array of `schema`). Borrowed. */
infino_status sf_builder_add(struct sf_builder *b,
                             const struct ArrowArray *batch);

uint64_t sf_builder_num_rows(const struct sf_builder *b);

infino_status sf_builder_finish(struct sf_builder *b,
                                struct sf_build_info *out);
void sf_builder_free(struct sf_builder *b); /* NULL is a no-op */
void sf_build_info_free(struct sf_build_info *info);

#endif
