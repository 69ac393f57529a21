/*
 * arrow.h - Arrow types, schemas and arrays as the rest of infino sees them.
 *
 * Foreign data arrives as ArrowSchema / ArrowArray / ArrowArrayStream (the C
 * Data Interface, declared in infino.h). We parse a schema once into a
 * struct ar_schema (a plain tree we own), validate every incoming array
 * against it, and then read the array's buffers in place. Arrays we produce
 * are ArrowArrays whose release callback frees memory we allocated, so they
 * can be handed to pyarrow or Node without copying.
 *
 * Supported types (anything else is INFINO_ERR_UNSUPPORTED naming the field
 * and its format string): bool, int8-64, uint8-64, float32/64, utf8,
 * large_utf8, binary, large_binary, date32, timestamp (s/ms/us/ns, with or
 * without a time zone), decimal128(p, s), fixed_size_list<T, n>, list<T>,
 * large_list<T>, struct (the root of a record batch, and nested).
 *
 * Dictionary-encoded columns are accepted only where a caller asks for them
 * (AR_IMPORT_DICTIONARY: the columns of a record batch being appended) and
 * only at the top level; ar_dictionary_decode() turns them into plain
 * arrays. Tables never store them.
 *
 * Not useful for: Arrow IPC record batches (only the IPC *schema* message is
 * encoded here, for Parquet's ARROW:schema key), unions, maps.
 */
#ifndef INFINO_FORMAT_ARROW_H
#define INFINO_FORMAT_ARROW_H

#include "infino.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ar_type {
    AR_BOOL = 1,
    AR_INT8,
    AR_INT16,
    AR_INT32,
    AR_INT64,
    AR_UINT8,
    AR_UINT16,
    AR_UINT32,
    AR_UINT64,
    AR_FLOAT32,
    AR_FLOAT64,
    AR_UTF8,         /* int32 offsets */
    AR_LARGE_UTF8,   /* int64 offsets */
    AR_BINARY,       /* int32 offsets */
    AR_LARGE_BINARY, /* int64 offsets */
    AR_DATE32,       /* days since the epoch, int32 */
    AR_TIMESTAMP,    /* int64 in `unit`, optional `tz` */
    AR_DECIMAL128,   /* 16-byte little-endian two's complement */
    AR_FIXED_SIZE_LIST,
    AR_LIST,       /* int32 offsets */
    AR_LARGE_LIST, /* int64 offsets */
    AR_STRUCT,
};

enum ar_time_unit { AR_SECOND = 0, AR_MILLI, AR_MICRO, AR_NANO };

/* One key-value pair of Arrow metadata. Values may hold any bytes. */
struct ar_kv {
    char *key;   /* owned, NUL-terminated */
    char *value; /* owned, NUL-terminated (value_len excludes the NUL) */
    size_t value_len;
};

/* A field: name, type, nullability, type parameters and children. */
struct ar_field {
    char *name; /* owned, never NULL ("" when unnamed) */
    enum ar_type type;
    bool nullable;
    enum ar_time_unit unit; /* AR_TIMESTAMP */
    char *tz;               /* owned; AR_TIMESTAMP with a zone, else NULL */
    int32_t precision;      /* AR_DECIMAL128 */
    int32_t scale;          /* AR_DECIMAL128 */
    int32_t list_size;      /* AR_FIXED_SIZE_LIST: values per slot */
    size_t n_children;      /* lists: exactly 1; struct: any */
    struct ar_field *children; /* owned array of n_children */
    size_t n_meta;
    struct ar_kv *meta; /* owned array of n_meta */
    /* Dictionary-encoded (C data interface, ArrowSchema.dictionary): `type`
     * is the integer type of the indices and *dict (owned) the field of
     * the values. NULL for every other field. */
    struct ar_field *dict;
};

/* A record batch schema: the children of a root struct, plus its metadata. */
struct ar_schema {
    size_t n_fields;
    struct ar_field *fields; /* owned */
    size_t n_meta;
    struct ar_kv *meta; /* owned */
};

/* ---- schemas ---------------------------------------------------------- */

/* Parses a C-interface schema whose root is a struct ("+s") into *out.
 * Does not release `in`. On failure *out is zeroed and the error names the
 * offending field path (e.g. "field 'emb.item': unsupported format 'e'"). */
infino_status ar_schema_import(struct ar_schema *out,
                               const struct ArrowSchema *in);
/* Same, for one field (any type). */
infino_status ar_field_import(struct ar_field *out,
                              const struct ArrowSchema *in);

/* Import flags. AR_IMPORT_DICTIONARY: a column of the batch (for
 * ar_field_import_flags: the field itself) may be dictionary-encoded; its
 * indices must be an integer type and its values any supported type that
 * is not itself dictionary-encoded. Dictionaries deeper in the tree stay
 * INFINO_ERR_UNSUPPORTED. Without the flag every dictionary is. */
#define AR_IMPORT_DICTIONARY 1u
infino_status ar_schema_import_flags(struct ar_schema *out,
                                     const struct ArrowSchema *in,
                                     unsigned flags);
infino_status ar_field_import_flags(struct ar_field *out,
                                    const struct ArrowSchema *in,
                                    unsigned flags);

/* Exports as a C-interface struct schema. *out is owned by the caller,
 * who calls out->release (the copy is independent of `s`). */
infino_status ar_schema_export(struct ArrowSchema *out,
                               const struct ar_schema *s);
infino_status ar_field_export(struct ArrowSchema *out,
                              const struct ar_field *f);

/* Deep copies. On failure *out is zeroed. */
infino_status ar_schema_copy(struct ar_schema *out, const struct ar_schema *s);
infino_status ar_field_copy(struct ar_field *out, const struct ar_field *f);

/* Structural equality: names, types, parameters, nullability (children
 * included). Metadata is ignored. */
bool ar_field_equal(const struct ar_field *a, const struct ar_field *b);
bool ar_schema_equal(const struct ar_schema *a, const struct ar_schema *b);

/* Zeroed or NULL input is fine. Leaves the struct zeroed. */
void ar_schema_free(struct ar_schema *s);
void ar_field_free(struct ar_field *f);

/* Index of the field named `name`, or -1. */
int ar_schema_find(const struct ar_schema *s, const char *name);

/* Appends a human-readable type ("large_utf8", "timestamp[us, tz=UTC]",
 * "fixed_size_list<float32, 384>") to `out`, NUL-terminated. */
infino_status ar_type_describe(struct buf *out, const struct ar_field *f);

/* Adds (or replaces) a schema-level metadata entry. */
infino_status ar_schema_set_meta(struct ar_schema *s, const char *key,
                                 const void *value, size_t value_len);
/* Borrowed value of a schema-level metadata key, or NULL. */
const struct ar_kv *ar_schema_get_meta(const struct ar_schema *s,
                                       const char *key);

/* ---- physical layout -------------------------------------------------- */

/* Number of buffers an array of this type has in the C interface (bool:
 * 2, primitives: 2, strings/binary: 3, lists: 2, fixed_size_list: 1,
 * struct: 1). */
int ar_type_n_buffers(enum ar_type t);
/* Width in bits of one value of a fixed-width type (bool: 1, int32: 32,
 * decimal128: 128), 0 for variable-width and nested types. */
int ar_type_bit_width(enum ar_type t);

/* ---- arrays ----------------------------------------------------------- */

/* Checks that `a` is a well-formed array of field `f`: buffer and child
 * counts, null_count consistent with nullability (a non-nullable field
 * with nulls is INFINO_ERR_INVALID naming the field), offsets monotone and
 * within the child/data lengths, fixed-size children long enough, no NULL
 * buffer where one is required. Buffer sizes are not part of the C
 * interface, so validation trusts that a buffer holds what its offsets and
 * lengths imply. Returns INFINO_ERR_INVALID with the field path on error.
 * A given null_count must match the bitmap (-1 is computed). As the C
 * interface allows, a buffer may be NULL where its size would be 0: the
 * values of a fixed-width array with offset + length == 0, the offsets and
 * data of an empty string or list array, the data of strings whose last
 * offset is 0; consumers must not dereference those. Non-nullable
 * children are checked only under valid parent slots (pyarrow puts nulls
 * in a non-nullable child under a null fixed_size_list slot). A
 * dictionary-encoded field needs its dictionary array, validated against
 * f->dict, and every index under a valid slot within it. */
infino_status ar_array_validate(const struct ar_field *f,
                                const struct ArrowArray *a);
/* Validates a record batch: a struct array with one child per field. */
infino_status ar_batch_validate(const struct ar_schema *s,
                                const struct ArrowArray *batch);

/* Builds an ArrowArray that owns its memory. `buffers` are mem_alloc'd
 * pointers (NULL allowed, e.g. no validity bitmap) and are taken: the
 * array's release frees them, also if this call fails. `children` are
 * moved into the new array (each child's release is called by the
 * parent's release). */
infino_status ar_array_make(struct ArrowArray *out, int64_t length,
                            int64_t null_count, int n_buffers, void **buffers,
                            int n_children, struct ArrowArray *children);

/* Releases `a` if it is not released already, and marks it released. */
void ar_array_release(struct ArrowArray *a);

/* Validity of element i (offset applied); true when there is no bitmap. */
static inline bool ar_array_is_valid(const struct ArrowArray *a, int64_t i)
{
    const uint8_t *bits = (const uint8_t *)a->buffers[0];
    int64_t j = i + a->offset;
    return bits == NULL || ((bits[j >> 3] >> (j & 7)) & 1);
}

/* ---- builders --------------------------------------------------------- */

/* Appends values of one field and finishes into an owned ArrowArray.
 * Used where data arrives value by value (decoded rows, JSON, Python
 * objects). Nested types build their children through ar_builder_child().
 * Every append either succeeds or leaves the builder unchanged (a wrong
 * type, a value out of range, a null in a non-nullable field: INVALID;
 * NOMEM). The builder copies the field given to ar_builder_new(). Arrays
 * it finishes have no NULL buffers except an absent validity bitmap. */
struct ar_builder;

infino_status ar_builder_new(struct ar_builder **out, const struct ar_field *f);
void ar_builder_free(struct ar_builder *b); /* NULL is a no-op */

infino_status ar_builder_append_null(struct ar_builder *b);
infino_status ar_builder_append_bool(struct ar_builder *b, bool v);
/* Integers, date32 and timestamps. Range-checked against the type. */
infino_status ar_builder_append_int(struct ar_builder *b, int64_t v);
infino_status ar_builder_append_uint(struct ar_builder *b, uint64_t v);
infino_status ar_builder_append_double(struct ar_builder *b, double v);
/* utf8/binary; utf8 is checked to be valid UTF-8. */
infino_status ar_builder_append_bytes(struct ar_builder *b, const void *p,
                                      size_t n);
/* decimal128: 16 bytes little-endian two's complement. */
infino_status ar_builder_append_decimal(struct ar_builder *b,
                                        const uint8_t v[16]);
/* Lists and structs: the child builder (borrowed, valid while `b` lives).
 * For a list, append the elements to the child, then ar_builder_end_list()
 * to close one list slot. For a struct, append one value to every child,
 * then ar_builder_end_struct(). */
struct ar_builder *ar_builder_child(struct ar_builder *b, size_t i);
infino_status ar_builder_end_list(struct ar_builder *b);
infino_status ar_builder_end_struct(struct ar_builder *b);
int64_t ar_builder_length(const struct ar_builder *b);

/* Moves the built values into *out (owned) and resets the builder.
 * Values not closed by end_list/end_struct are INVALID (builder unchanged);
 * on NOMEM *out is released-marked and the builder is reset empty. */
infino_status ar_builder_finish(struct ar_builder *b, struct ArrowArray *out);

/* ---- streams ---------------------------------------------------------- */

/* A producer of batches, for ar_stream_export(). next() sets *out to the
 * next batch (a struct array, owned by the stream's consumer) or marks the
 * end by leaving out->release == NULL. */
struct ar_stream_source {
    void *payload;
    infino_status (*next)(void *payload, struct ArrowArray *out);
    void (*close)(void *payload); /* may be NULL */
};

/* Exports a C stream over `src` with schema `s` (copied). The stream takes
 * `src`: its close() runs when the consumer releases the stream, also when
 * this call fails. Errors from next() reach the consumer as EIO with
 * get_last_error() returning our message. */
infino_status ar_stream_export(struct ArrowArrayStream *out,
                               const struct ar_schema *s,
                               struct ar_stream_source src);

/* Exports a stream over batches we already hold; takes them (and frees
 * them on release). */
infino_status ar_stream_from_batches(struct ArrowArrayStream *out,
                                     const struct ar_schema *s,
                                     struct ArrowArray *batches,
                                     size_t n_batches);

/* Reads the schema of a foreign stream into *out. */
infino_status ar_stream_import_schema(struct ar_schema *out,
                                      struct ArrowArrayStream *in);
/* The same with import flags (AR_IMPORT_DICTIONARY). */
infino_status ar_stream_import_schema_flags(struct ar_schema *out,
                                            struct ArrowArrayStream *in,
                                            unsigned flags);
/* Gets the next batch of a foreign stream and validates it against `s`.
 * *out is owned (call ar_array_release). At the end, *eof is set and
 * *out is released-marked. Stream errors are INFINO_ERR_IO carrying the
 * producer's get_last_error() text. */
infino_status ar_stream_next(struct ArrowArrayStream *in,
                             const struct ar_schema *s, struct ArrowArray *out,
                             bool *eof);

/* ---- IPC schema (for Parquet's "ARROW:schema") -------------------------- */

/* Appends an encapsulated IPC message (0xFFFFFFFF continuation, int32
 * length, flatbuffer Message{Schema}, padding to 8) holding `s`, as Arrow
 * writers store it before base64. Field and schema metadata included. */
infino_status ar_schema_to_ipc(struct buf *out, const struct ar_schema *s);
/* Decodes such a message (with or without the continuation marker).
 * Untrusted input: every offset is bounds-checked; malformed bytes are
 * INFINO_ERR_CORRUPT, unsupported types INFINO_ERR_UNSUPPORTED. */
infino_status ar_schema_from_ipc(struct ar_schema *out, const uint8_t *p,
                                 size_t n);

#endif
