/*
 * pq_schema.h - the mapping between an Arrow schema and the flattened
 * Parquet schema, shared by the writer and the reader.
 *
 * Arrow -> Parquet follows what Arrow's own Parquet writer emits (so files
 * look the same to every reader): int8/16 and unsigned ints are INT32/INT64
 * with an INTEGER annotation, strings BYTE_ARRAY+STRING, date32 INT32+DATE,
 * timestamps INT64+TIMESTAMP (seconds stored as milliseconds), decimal128
 * a big-endian FIXED_LEN_BYTE_ARRAY of the fewest bytes that hold its
 * precision, and every list kind the three-level LIST structure
 *     <name> (LIST) { repeated group list { <optional|required> element } }
 * with the legacy ConvertedType values set alongside the logical types.
 *
 * Parquet -> Arrow derives a type for every column from its physical and
 * logical/converted type (including the legacy two-level lists of
 * LogicalTypes.md "Backward-compatibility rules"), then, when the file
 * carries an ARROW:schema, takes from it what Parquet cannot say
 * (large_utf8, fixed_size_list, the time zone and unit of timestamps)
 * wherever the two agree structurally. Names and nullability always come
 * from the Parquet schema, since they describe the stored data.
 *
 * Supported shapes: every top-level field is a primitive or a list of
 * primitives, so each top-level field is exactly one leaf column. Structs,
 * maps and nested lists are INFINO_ERR_UNSUPPORTED naming the field.
 */
#ifndef INFINO_PQ_SCHEMA_H
#define INFINO_PQ_SCHEMA_H

#include "format/arrow/arrow.h"
#include "pq_meta.h"
#include "util/arena.h"

/* One leaf column and how it maps to its top-level Arrow field. */
struct pq_leaf {
    size_t field;                 /* index of the top-level Arrow field */
    const struct ar_field *arrow; /* borrowed: that field */
    const struct ar_field *value; /* borrowed: the field holding the leaf's
                                     values (arrow itself, or its list item) */
    size_t elem;                  /* index of the leaf's SchemaElement */
    size_t n_path;
    struct pq_bytes *path; /* path_in_schema, e.g. {"emb","list","element"} */
    enum pq_type type;
    int32_t type_length; /* FIXED_LEN_BYTE_ARRAY width, else 0 */
    int16_t max_def;
    int16_t max_rep; /* 0, or 1 for a list */
    /* Lists only: a slot whose definition level is below list_def is null;
     * list_def itself is an empty list; list_def + 1 up to max_def are
     * elements (max_def - 1 a null element when the element is optional). */
    bool is_list;
    int16_t list_def;
    const struct pq_schema_elem *se; /* borrowed: the leaf's element */
};

struct pq_schema {
    size_t n_elems;
    const struct pq_schema_elem *elems; /* depth-first, root first; in the
                                           arena, or borrowed (from_parquet) */
    size_t n_leaves;
    struct pq_leaf *leaves; /* leaves[i].field == i */
    struct arena arena;     /* owns elems, leaves, paths and their strings */
};

/* Builds the Parquet schema for Arrow schema `s` (borrowed; the result's
 * leaves point at its fields, so `s` must outlive *out). Names are copied.
 * Unsupported types (struct, nested lists) are INFINO_ERR_UNSUPPORTED
 * naming the field. On failure *out is zeroed. */
infino_status pq_schema_from_arrow(struct pq_schema *out,
                                   const struct ar_schema *s);

/* Interprets the `n` flattened elements of a file's schema. *arrow_out
 * (owned, release with ar_schema_free) receives the Arrow schema;
 * `hint` (the decoded ARROW:schema, or NULL) refines it as described
 * above. `elems` is borrowed and must outlive *out; so must *arrow_out's
 * fields, which the leaves point into. Malformed trees (children counts
 * that overrun the list, a root with a type, leaves without one) are
 * INFINO_ERR_CORRUPT. On failure both outputs are zeroed. */
infino_status pq_schema_from_parquet(struct pq_schema *out,
                                     struct ar_schema *arrow_out,
                                     const struct pq_schema_elem *elems,
                                     size_t n, const struct ar_schema *hint);

/* Zeroed input is fine; leaves *s zeroed. */
void pq_schema_free(struct pq_schema *s);

/* Bytes of the FIXED_LEN_BYTE_ARRAY that holds a decimal of `precision`
 * digits (1..38) as Arrow writes it: the fewest n with 10^p <= 2^(8n-1).
 * 0 when precision is out of range. */
int32_t pq_decimal_byte_len(int32_t precision);

#endif
