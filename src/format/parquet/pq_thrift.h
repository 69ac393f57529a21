/*
 * pq_thrift.h - the Thrift compact protocol, as Parquet uses it.
 *
 * Parquet serializes its footer (FileMetaData) and every page header with
 * Thrift's compact protocol. This is a schema-less codec: pq_meta.c knows
 * the Parquet structs and drives it field by field. The writer appends to
 * a struct buf; the reader walks untrusted bytes through a struct rd and
 * returns INFINO_ERR_CORRUPT (with the byte offset) for anything malformed:
 * truncated varints, oversized lengths, list sizes larger than the bytes
 * left, unknown wire types, nesting deeper than PQ_THRIFT_MAX_DEPTH.
 *
 * Spec: apache/thrift doc/specs/thrift-compact-protocol.md.
 */
#ifndef INFINO_PQ_THRIFT_H
#define INFINO_PQ_THRIFT_H

#include "util/buf.h"
#include "util/rd.h"

#include <stdbool.h>
#include <stdint.h>

/* Compact protocol wire types (the low nibble of a field header). In a
 * field header a bool's value is its type (TRUE/FALSE); as a list element
 * a bool is one byte and its element type is PQ_T_TRUE (writers differ:
 * 1 or 2 are both accepted). */
enum pq_ttype {
    PQ_T_STOP = 0,
    PQ_T_TRUE = 1,
    PQ_T_FALSE = 2,
    PQ_T_I8 = 3,
    PQ_T_I16 = 4,
    PQ_T_I32 = 5,
    PQ_T_I64 = 6,
    PQ_T_DOUBLE = 7,
    PQ_T_BINARY = 8,
    PQ_T_LIST = 9,
    PQ_T_SET = 10,
    PQ_T_MAP = 11,
    PQ_T_STRUCT = 12,
    PQ_T_UUID = 13,
};
#define PQ_T_BOOL PQ_T_TRUE

/* Deepest struct/container nesting either side accepts. Parquet needs 6
 * (FileMetaData > schema > SchemaElement > LogicalType > TimestampType >
 * TimeUnit > MilliSeconds); the margin leaves room for future fields that
 * a reader must skip. */
#define PQ_THRIFT_MAX_DEPTH 32

/* ---- writer ---------------------------------------------------------- */

/* Writes one message into `out` (borrowed). Fields must be written in the
 * order the caller wants them on the wire; ascending ids give the short
 * one-byte headers. Usage:
 *
 *     struct pq_tw w;
 *     pq_tw_init(&w, &buf);
 *     CHECK(pq_tw_struct_begin(&w));          // the message's own struct
 *     CHECK(pq_tw_field_i32(&w, 1, version));
 *     CHECK(pq_tw_field_list(&w, 2, PQ_T_STRUCT, n));
 *     for (...) { CHECK(pq_tw_struct_begin(&w)); ...; CHECK(pq_tw_struct_end(&w)); }
 *     CHECK(pq_tw_struct_end(&w));
 *
 * On failure (out of memory, or nesting past PQ_THRIFT_MAX_DEPTH, which is
 * INFINO_ERR_INVALID) `out` holds a partial message; the caller discards
 * it. */
struct pq_tw {
    struct buf *out; /* borrowed */
    int depth;       /* open structs */
    int16_t last_id[PQ_THRIFT_MAX_DEPTH];
};

void pq_tw_init(struct pq_tw *w, struct buf *out);

/* Opens a struct that has no field header of its own: the message's top
 * struct, or a struct element of a list. */
infino_status pq_tw_struct_begin(struct pq_tw *w);
/* Writes field `id`'s header with type STRUCT, then opens the struct. A
 * union is a struct with exactly one field; an empty struct (Parquet's
 * StringType, MilliSeconds...) is begin + end. */
infino_status pq_tw_field_struct(struct pq_tw *w, int16_t id);
/* Writes STOP and closes the innermost struct. */
infino_status pq_tw_struct_end(struct pq_tw *w);

infino_status pq_tw_field_bool(struct pq_tw *w, int16_t id, bool v);
infino_status pq_tw_field_i8(struct pq_tw *w, int16_t id, int8_t v);
infino_status pq_tw_field_i16(struct pq_tw *w, int16_t id, int16_t v);
infino_status pq_tw_field_i32(struct pq_tw *w, int16_t id, int32_t v);
infino_status pq_tw_field_i64(struct pq_tw *w, int16_t id, int64_t v);
infino_status pq_tw_field_double(struct pq_tw *w, int16_t id, double v);
infino_status pq_tw_field_binary(struct pq_tw *w, int16_t id, const void *p,
                                 size_t n);
/* Writes a list field's header; the caller then writes exactly `n`
 * elements of `elem_type` with the pq_tw_elem_* functions (or
 * pq_tw_struct_begin/end for PQ_T_STRUCT elements). */
infino_status pq_tw_field_list(struct pq_tw *w, int16_t id,
                               enum pq_ttype elem_type, size_t n);

/* List elements (no field header). */
infino_status pq_tw_elem_bool(struct pq_tw *w, bool v);
infino_status pq_tw_elem_i32(struct pq_tw *w, int32_t v);
infino_status pq_tw_elem_i64(struct pq_tw *w, int64_t v);
infino_status pq_tw_elem_binary(struct pq_tw *w, const void *p, size_t n);

/* ---- reader ---------------------------------------------------------- */

/* Reads one message from untrusted bytes. Values are borrowed from the
 * input (binary fields point into it). Usage:
 *
 *     struct pq_tr r;
 *     struct pq_tfield f;
 *     pq_tr_init(&r, p, n);
 *     CHECK(pq_tr_struct_begin(&r));
 *     for (;;) {
 *         CHECK(pq_tr_field(&r, &f));
 *         if (f.type == PQ_T_STOP) break;        // struct closed
 *         switch (f.id) {
 *         case 1: CHECK(pq_tr_i32(&r, f.type, &x)); break;
 *         default: CHECK(pq_tr_skip(&r, f.type)); break;
 *         }
 *     }
 *
 * Every function returns INFINO_OK or INFINO_ERR_CORRUPT with a message
 * naming the byte offset; a value of the wrong wire type for what the
 * caller asks is CORRUPT too. */
struct pq_tr {
    struct rd in;
    const uint8_t *base; /* start of the message, for error offsets */
    int depth;
    int16_t last_id[PQ_THRIFT_MAX_DEPTH];
};

/* A field header: its id and wire type. For bools, the type carries the
 * value (PQ_T_TRUE or PQ_T_FALSE). */
struct pq_tfield {
    int16_t id;
    uint8_t type; /* enum pq_ttype; PQ_T_STOP ends the struct */
};

void pq_tr_init(struct pq_tr *r, const void *p, size_t n);
/* Bytes consumed so far. */
size_t pq_tr_offset(const struct pq_tr *r);

infino_status pq_tr_struct_begin(struct pq_tr *r);
/* Reads the next field header. On STOP it closes the struct and sets
 * f->type = PQ_T_STOP. */
infino_status pq_tr_field(struct pq_tr *r, struct pq_tfield *f);

/* Values. `type` is the wire type the header announced (field type or
 * list element type); it must match what the function reads. */
infino_status pq_tr_field_bool(struct pq_tr *r, const struct pq_tfield *f,
                               bool *out);
infino_status pq_tr_elem_bool(struct pq_tr *r, bool *out);
infino_status pq_tr_i8(struct pq_tr *r, uint8_t type, int8_t *out);
infino_status pq_tr_i16(struct pq_tr *r, uint8_t type, int16_t *out);
infino_status pq_tr_i32(struct pq_tr *r, uint8_t type, int32_t *out);
infino_status pq_tr_i64(struct pq_tr *r, uint8_t type, int64_t *out);
infino_status pq_tr_double(struct pq_tr *r, uint8_t type, double *out);
/* Borrows the bytes: *p_out points into the input. */
infino_status pq_tr_binary(struct pq_tr *r, uint8_t type,
                           const uint8_t **p_out, size_t *n_out);

/* Reads a list (or set) header after a field of type `type`. The
 * elements must be of `want_elem` (bool elements: PQ_T_BOOL); *n_out is
 * at most the bytes left, since every element takes at least one byte,
 * so callers may allocate n_out elements before reading them. */
infino_status pq_tr_list(struct pq_tr *r, uint8_t type,
                         enum pq_ttype want_elem, uint32_t *n_out);

/* Skips one value of wire type `type` (a field's value: bools carry none).
 * Structs and containers are skipped recursively within the depth limit. */
infino_status pq_tr_skip(struct pq_tr *r, uint8_t type);

#endif
