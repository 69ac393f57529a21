/*
 * pq_stats.h - column chunk statistics as typed bounds, and the pruning
 * test behind pq_reader_row_group_may_match().
 *
 * Parquet stores min/max as PLAIN-encoded bytes ordered by the column's
 * ColumnOrder (parquet.thrift). Bounds are only reported when they are
 * valid for the column's sort order: min_value/max_value under
 * TYPE_DEFINED_ORDER (or IEEE_754_TOTAL_ORDER for floats), the legacy
 * min/max (always signed comparison) only for types whose order is signed
 * anyway. Bounds are converted to the Arrow field's domain (timestamps
 * rescaled outward, so they still bound the converted values).
 */
#ifndef INFINO_PQ_STATS_H
#define INFINO_PQ_STATS_H

#include "format/parquet/parquet.h"

/* Statistics of one column chunk in the Arrow value domain. */
struct pq_bounds {
    bool has_min_max;
    struct pq_value min, max; /* bytes borrowed from the reader's footer */
    bool has_null_count;
    int64_t null_count;
    int64_t num_values; /* values in the chunk, nulls included */
};

/* Fills *out for top-level field `field` of row group `rg`. Returns false
 * (and leaves *out without bounds) for lists, unknown orders and missing
 * or unusable statistics. */
bool pq_stats_bounds(const struct pq_reader *r, int rg, size_t field,
                     struct pq_bounds *out);

/* Three-way comparison of two values of Arrow type `t`: signed, unsigned,
 * float (NaN compares as unordered: returns 2), decimal128 or bytes. */
int pq_value_cmp(enum ar_type t, const struct pq_value *a,
                 const struct pq_value *b);

#endif
