/*
 * arrow_take.h - gathering rows of an array by index ("take").
 *
 * Used to drop deleted rows from decoded batches and to reorder results.
 * Kept apart from arrow.h so it can grow its own kernels.
 */
#ifndef INFINO_FORMAT_ARROW_TAKE_H
#define INFINO_FORMAT_ARROW_TAKE_H

#include "arrow.h"

/* Builds *out (owned) holding rows idx[0..n) of `in` (a validated array of
 * field `f`; its offset is honoured), in that order. Indexes must be
 * < in->length (checked: INFINO_ERR_INVALID). Nested types recurse. */
infino_status ar_array_take(struct ArrowArray *out, const struct ar_field *f,
                            const struct ArrowArray *in, const uint32_t *idx,
                            size_t n);

/* The same for a record batch (struct array of schema `s`). */
infino_status ar_batch_take(struct ArrowArray *out, const struct ar_schema *s,
                            const struct ArrowArray *in, const uint32_t *idx,
                            size_t n);

/* Decodes a dictionary-encoded array: *out (owned) is a plain array of
 * field *f->dict with a->length rows, row i holding dictionary value
 * index[i], null where the index is null or the value it names is. `a`
 * must have passed ar_array_validate() against `f` (indices in range);
 * its offset, and the dictionary's, are honoured. Dictionaries of more
 * than 2^32 values are INFINO_ERR_UNSUPPORTED. */
infino_status ar_dictionary_decode(struct ArrowArray *out,
                                   const struct ar_field *f,
                                   const struct ArrowArray *a);

/* Appends cell `row` of `a` (a validated array of field `f`, offset
 * honoured) to builder `b` of the same type, nested values included. For
 * building small results row by row from decoded batches. */
infino_status ar_builder_append_from(struct ar_builder *b,
                                     const struct ar_field *f,
                                     const struct ArrowArray *a, int64_t row);

#endif
