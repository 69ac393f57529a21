/*
 * arrow_ipc.c - the Arrow IPC Schema message, as Parquet's "ARROW:schema".
 *
 * Spec: Arrow "Columnar Format", section "Serialization and Interprocess
 * Communication" (encapsulated message: 0xFFFFFFFF continuation, int32
 * metadata size, flatbuffer Message padded to 8 bytes), format/Message.fbs
 * and format/Schema.fbs for the tables, and the FlatBuffers binary format
 * (uoffset/soffset/vtable layout). The writer is a small front-to-back
 * FlatBuffers encoder; the reader bounds-checks every offset it follows.
 */
#include "arrow_int.h"

#include "util/alloc.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/rd.h"

#include <stdarg.h>
#include <string.h>

/* Message.fbs: table Message field ids. */
enum { MSG_VERSION, MSG_HEADER_TYPE, MSG_HEADER, MSG_BODY_LENGTH };
/* Message.fbs: union MessageHeader { Schema = 1, ... }. */
#define HEADER_SCHEMA 1
/* Schema.fbs: enum MetadataVersion { V1, V2, V3, V4, V5 }. */
#define METADATA_V4 3
#define METADATA_V5 4
/* Schema.fbs: table Schema field ids. */
enum { SCHEMA_ENDIANNESS, SCHEMA_FIELDS, SCHEMA_METADATA };
/* Schema.fbs: table Field; the union `type` takes two ids (type_type and
 * type). */
enum {
    FIELD_NAME,
    FIELD_NULLABLE,
    FIELD_TYPE_TYPE,
    FIELD_TYPE,
    FIELD_DICTIONARY,
    FIELD_CHILDREN,
    FIELD_METADATA
};
enum { KV_KEY, KV_VALUE };

/* Schema.fbs: union Type, in declaration order from 1. */
enum fb_type {
    T_NONE,
    T_NULL,
    T_INT,
    T_FLOATING_POINT,
    T_BINARY,
    T_UTF8,
    T_BOOL,
    T_DECIMAL,
    T_DATE,
    T_TIME,
    T_TIMESTAMP,
    T_INTERVAL,
    T_LIST,
    T_STRUCT,
    T_UNION,
    T_FIXED_SIZE_BINARY,
    T_FIXED_SIZE_LIST,
    T_MAP,
    T_DURATION,
    T_LARGE_BINARY,
    T_LARGE_UTF8,
    T_LARGE_LIST,
    T_RUN_END_ENCODED,
    T_BINARY_VIEW,
    T_UTF8_VIEW,
    T_LIST_VIEW,
    T_LARGE_LIST_VIEW,
    T_COUNT
};

static const char *const fb_type_names[T_COUNT] = {
    "NONE",          "Null",          "Int",           "FloatingPoint",
    "Binary",        "Utf8",          "Bool",          "Decimal",
    "Date",          "Time",          "Timestamp",     "Interval",
    "List",          "Struct_",       "Union",         "FixedSizeBinary",
    "FixedSizeList", "Map",           "Duration",      "LargeBinary",
    "LargeUtf8",     "LargeList",     "RunEndEncoded", "BinaryView",
    "Utf8View",      "ListView",      "LargeListView",
};

/* Schema.fbs enums we read or write. */
enum { PRECISION_HALF, PRECISION_SINGLE, PRECISION_DOUBLE };
enum { DATE_DAY, DATE_MILLISECOND };

/* ---- reader ----------------------------------------------------------- */

/* A flatbuffer under decoding. The budgets bound the output by the input
 * size: an honest writer stores every field and string once, but offsets
 * may legally alias, and aliasing could otherwise expand a few hundred
 * bytes into exponentially many fields. */
struct fbr {
    const uint8_t *p;
    size_t n;
    size_t fields_left; /* each field needs >= 8 distinct bytes */
    size_t bytes_left;  /* copied string bytes */
};

/* A table: its position and its vtable's. */
struct fbt {
    size_t pos;
    size_t vt;
    size_t vt_len; /* bytes, >= 4 */
    size_t len;    /* inline size of the table, >= 4 */
};

static infino_status corrupt(const char *fmt, ...) ERR_PRINTF(1, 2);
static infino_status corrupt(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err_setv(INFINO_ERR_CORRUPT, fmt, ap);
    va_end(ap);
    return INFINO_ERR_CORRUPT;
}

/* FlatBuffers: a table starts with an soffset_t to its vtable (vtable =
 * table - soffset); the vtable holds uint16 vtable size, uint16 table
 * size, then one uint16 offset per field id (0 = absent). */
static infino_status fbr_table(const struct fbr *r, size_t pos,
                               struct fbt *t)
{
    int64_t vt;

    if (pos > r->n || r->n - pos < 4)
        return corrupt("table at %zu is out of bounds", pos);
    vt = (int64_t)pos - (int32_t)load_u32le(r->p + pos);
    if (vt < 0 || (uint64_t)vt > r->n - 4)
        return corrupt("table at %zu: vtable out of bounds", pos);
    t->pos = pos;
    t->vt = (size_t)vt;
    t->vt_len = load_u16le(r->p + t->vt);
    t->len = load_u16le(r->p + t->vt + 2);
    if (t->vt_len < 4 || (t->vt_len & 1) || t->vt_len > r->n - t->vt)
        return corrupt("table at %zu: bad vtable size %zu", pos, t->vt_len);
    if (t->len < 4 || t->len > r->n - pos)
        return corrupt("table at %zu: bad table size %zu", pos, t->len);
    return INFINO_OK;
}

/* Finds field `id` of `size` bytes: 1 present (*pos set), 0 absent, -1 if
 * it lies outside its table. */
static int fbr_field(const struct fbr *r, const struct fbt *t, int id,
                     size_t size, size_t *pos)
{
    size_t e = 4 + 2 * (size_t)id;
    size_t off;

    if (e + 2 > t->vt_len)
        return 0;
    off = load_u16le(r->p + t->vt + e);
    if (off == 0)
        return 0;
    if (off < 4 || off > t->len || t->len - off < size)
        return -1;
    *pos = t->pos + off;
    return 1;
}

/* Reads a little-endian scalar field, or `def` when absent. */
static infino_status fbr_scalar(const struct fbr *r, const struct fbt *t,
                                int id, size_t size, uint64_t def,
                                uint64_t *out)
{
    size_t pos;
    int rc = fbr_field(r, t, id, size, &pos);

    if (rc < 0)
        return corrupt("table at %zu: field %d out of bounds", t->pos, id);
    if (rc == 0) {
        *out = def;
        return INFINO_OK;
    }
    switch (size) {
    case 1:
        *out = r->p[pos];
        break;
    case 2:
        *out = load_u16le(r->p + pos);
        break;
    case 4:
        *out = load_u32le(r->p + pos);
        break;
    default:
        *out = load_u64le(r->p + pos);
        break;
    }
    return INFINO_OK;
}

static infino_status fbr_i16(const struct fbr *r, const struct fbt *t, int id,
                             int16_t def, int16_t *out)
{
    uint64_t v;
    infino_status st = fbr_scalar(r, t, id, 2, (uint16_t)def, &v);
    *out = (int16_t)(uint16_t)v;
    return st;
}

static infino_status fbr_i32(const struct fbr *r, const struct fbt *t, int id,
                             int32_t def, int32_t *out)
{
    uint64_t v;
    infino_status st = fbr_scalar(r, t, id, 4, (uint32_t)def, &v);
    *out = (int32_t)(uint32_t)v;
    return st;
}

static infino_status fbr_u8(const struct fbr *r, const struct fbt *t, int id,
                            uint8_t def, uint8_t *out)
{
    uint64_t v;
    infino_status st = fbr_scalar(r, t, id, 1, def, &v);
    *out = (uint8_t)v;
    return st;
}

/* Follows the uoffset_t at `pos` (target = pos + value). */
static infino_status fbr_follow(const struct fbr *r, size_t pos,
                                size_t *target)
{
    uint32_t rel = load_u32le(r->p + pos);

    if (rel == 0 || rel >= r->n - pos)
        return corrupt("offset at %zu points outside the message", pos);
    *target = pos + rel;
    return INFINO_OK;
}

/* Follows offset field `id`; *present is false when it is absent. */
static infino_status fbr_ref(const struct fbr *r, const struct fbt *t, int id,
                             bool *present, size_t *target)
{
    size_t pos;
    int rc = fbr_field(r, t, id, 4, &pos);

    *present = rc > 0;
    if (rc < 0)
        return corrupt("table at %zu: field %d out of bounds", t->pos, id);
    return rc == 0 ? INFINO_OK : fbr_follow(r, pos, target);
}

static infino_status fbr_subtable(const struct fbr *r, const struct fbt *t,
                                  int id, bool *present, struct fbt *out)
{
    size_t target = 0;
    infino_status st = fbr_ref(r, t, id, present, &target);

    if (st != INFINO_OK || !*present)
        return st;
    return fbr_table(r, target, out);
}

/* A string: uint32 length, bytes, NUL. Absent strings read as "". */
static infino_status fbr_string(const struct fbr *r, const struct fbt *t,
                                int id, const char **s, size_t *len)
{
    size_t target = 0;
    bool present;
    infino_status st = fbr_ref(r, t, id, &present, &target);

    *s = "";
    *len = 0;
    if (st != INFINO_OK || !present)
        return st;
    if (r->n - target < 4)
        return corrupt("string at %zu out of bounds", target);
    *len = load_u32le(r->p + target);
    if (*len >= r->n - target - 4)
        return corrupt("string at %zu: length %zu out of bounds", target,
                       *len);
    if (r->p[target + 4 + *len] != '\0')
        return corrupt("string at %zu is not NUL-terminated", target);
    *s = (const char *)r->p + target + 4;
    return INFINO_OK;
}

/* A vector of offsets: uint32 count, then count uoffset_t. *start is the
 * position of element 0. Absent vectors are empty. */
static infino_status fbr_vector(const struct fbr *r, const struct fbt *t,
                                int id, size_t *start, size_t *count)
{
    size_t target = 0;
    bool present;
    infino_status st = fbr_ref(r, t, id, &present, &target);

    *start = 0;
    *count = 0;
    if (st != INFINO_OK || !present)
        return st;
    if (r->n - target < 4)
        return corrupt("vector at %zu out of bounds", target);
    *count = load_u32le(r->p + target);
    if (*count > (r->n - target - 4) / 4)
        return corrupt("vector at %zu: %zu elements out of bounds", target,
                       *count);
    *start = target + 4;
    return INFINO_OK;
}

static infino_status fbr_element(const struct fbr *r, size_t start, size_t i,
                                 struct fbt *t)
{
    size_t target = 0;
    infino_status st = fbr_follow(r, start + 4 * i, &target);

    return st != INFINO_OK ? st : fbr_table(r, target, t);
}

/* Takes `n` string bytes from the budget. */
static infino_status spend(struct fbr *r, size_t n)
{
    if (n > r->bytes_left)
        return corrupt("strings add up to more than the message holds");
    r->bytes_left -= n;
    return INFINO_OK;
}

/* Decodes a [KeyValue] vector into *kv / *n. */
static infino_status decode_kvs(struct fbr *r, const struct fbt *t, int id,
                                struct ar_kv **kv, size_t *n)
{
    size_t start, count, cap = 0, klen, vlen;
    const char *key, *value;
    struct fbt kt;
    infino_status st;

    CHECK(fbr_vector(r, t, id, &start, &count));
    for (size_t i = 0; i < count; i++) {
        CHECK(fbr_element(r, start, i, &kt));
        CHECK(fbr_string(r, &kt, KV_KEY, &key, &klen));
        CHECK(fbr_string(r, &kt, KV_VALUE, &value, &vlen));
        if (memchr(key, '\0', klen) != NULL) {
            st = err_set(INFINO_ERR_UNSUPPORTED,
                         "metadata key with a NUL byte");
            goto fail;
        }
        CHECK(spend(r, klen + vlen));
        CHECK(ar_kv_push(kv, n, &cap, key, klen, value, vlen));
    }
    return INFINO_OK;
fail:
    return st;
}

static infino_status unsupported(const struct ar_path *path, const char *what)
{
    return err_set(INFINO_ERR_UNSUPPORTED, "field '%s': unsupported type %s",
                   path->s, what);
}

/* Sets f->type and its parameters from the Type union member `tt`. */
static infino_status decode_type(struct fbr *r, unsigned id,
                                 const struct fbt *tt, struct ar_field *f,
                                 const struct ar_path *path)
{
    int32_t i32, i32b, width;
    int16_t i16;
    uint8_t u8;
    const char *s;
    size_t len;
    infino_status st;

    switch (id) {
    case T_INT:
        CHECK(fbr_i32(r, tt, 0, 0, &i32));  /* bitWidth */
        CHECK(fbr_u8(r, tt, 1, 0, &u8));    /* is_signed */
        switch (i32) {
        case 8:
            f->type = u8 ? AR_INT8 : AR_UINT8;
            break;
        case 16:
            f->type = u8 ? AR_INT16 : AR_UINT16;
            break;
        case 32:
            f->type = u8 ? AR_INT32 : AR_UINT32;
            break;
        case 64:
            f->type = u8 ? AR_INT64 : AR_UINT64;
            break;
        default:
            return corrupt("field '%s': Int bitWidth %d", path->s, (int)i32);
        }
        return INFINO_OK;
    case T_FLOATING_POINT:
        CHECK(fbr_i16(r, tt, 0, PRECISION_HALF, &i16));
        if (i16 == PRECISION_HALF)
            return unsupported(path, "float16");
        if (i16 != PRECISION_SINGLE && i16 != PRECISION_DOUBLE)
            return corrupt("field '%s': FloatingPoint precision %d", path->s,
                           (int)i16);
        f->type = i16 == PRECISION_SINGLE ? AR_FLOAT32 : AR_FLOAT64;
        return INFINO_OK;
    case T_BINARY:
        f->type = AR_BINARY;
        return INFINO_OK;
    case T_LARGE_BINARY:
        f->type = AR_LARGE_BINARY;
        return INFINO_OK;
    case T_UTF8:
        f->type = AR_UTF8;
        return INFINO_OK;
    case T_LARGE_UTF8:
        f->type = AR_LARGE_UTF8;
        return INFINO_OK;
    case T_BOOL:
        f->type = AR_BOOL;
        return INFINO_OK;
    case T_LIST:
        f->type = AR_LIST;
        return INFINO_OK;
    case T_LARGE_LIST:
        f->type = AR_LARGE_LIST;
        return INFINO_OK;
    case T_STRUCT:
        f->type = AR_STRUCT;
        return INFINO_OK;
    case T_DECIMAL:
        CHECK(fbr_i32(r, tt, 0, 0, &i32));    /* precision */
        CHECK(fbr_i32(r, tt, 1, 0, &i32b));   /* scale */
        CHECK(fbr_i32(r, tt, 2, 128, &width)); /* bitWidth */
        if (width == 32 || width == 64 || width == 256)
            return unsupported(path, width == 256  ? "decimal256"
                                     : width == 64 ? "decimal64"
                                                   : "decimal32");
        if (width != 128 || i32 < 1 || i32 > 38)
            return corrupt("field '%s': Decimal(%d, %d) with bitWidth %d",
                           path->s, (int)i32, (int)i32b, (int)width);
        f->type = AR_DECIMAL128;
        f->precision = i32;
        f->scale = i32b;
        return INFINO_OK;
    case T_DATE:
        CHECK(fbr_i16(r, tt, 0, DATE_MILLISECOND, &i16));
        if (i16 == DATE_MILLISECOND)
            return unsupported(path, "date64");
        if (i16 != DATE_DAY)
            return corrupt("field '%s': Date unit %d", path->s, (int)i16);
        f->type = AR_DATE32;
        return INFINO_OK;
    case T_TIMESTAMP:
        CHECK(fbr_i16(r, tt, 0, 0, &i16));
        if (i16 < AR_SECOND || i16 > AR_NANO)
            return corrupt("field '%s': Timestamp unit %d", path->s,
                           (int)i16);
        f->type = AR_TIMESTAMP;
        f->unit = (enum ar_time_unit)i16;
        CHECK(fbr_string(r, tt, 1, &s, &len));
        /* Schema.fbs: a null or empty timezone both mean "no zone". */
        if (len > 0) {
            if (memchr(s, '\0', len) != NULL)
                return corrupt("field '%s': timezone with a NUL byte",
                               path->s);
            CHECK(spend(r, len));
            f->tz = mem_strndup(s, len);
            if (f->tz == NULL)
                return err_nomem();
        }
        return INFINO_OK;
    case T_FIXED_SIZE_LIST:
        CHECK(fbr_i32(r, tt, 0, 0, &f->list_size));
        if (f->list_size < 0)
            return corrupt("field '%s': FixedSizeList listSize %d", path->s,
                           (int)f->list_size);
        f->type = AR_FIXED_SIZE_LIST;
        return INFINO_OK;
    case T_NONE:
        return corrupt("field '%s': no type", path->s);
    default:
        if (id < T_COUNT)
            return unsupported(path, fb_type_names[id]);
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "field '%s': unknown type id %u", path->s, id);
    }
fail:
    return st;
}

static infino_status decode_field(struct fbr *r, const struct fbt *t,
                                  struct ar_field *out, struct ar_path *path,
                                  size_t index, int depth);

/* Decodes the `count` fields of vector `start` into *out / *n_out. */
static infino_status decode_fields(struct fbr *r, size_t start, size_t count,
                                   struct ar_field **out, size_t *n_out,
                                   struct ar_path *path, int depth)
{
    struct fbt ft;
    infino_status st;

    if (count == 0)
        return INFINO_OK;
    if (count > r->fields_left)
        return corrupt("%zu fields do not fit in the message", count);
    *out = mem_calloc(count, sizeof **out);
    if (*out == NULL)
        return err_nomem();
    *n_out = count; /* zeroed entries free cleanly on failure */
    for (size_t i = 0; i < count; i++) {
        CHECK(fbr_element(r, start, i, &ft));
        CHECK(decode_field(r, &ft, &(*out)[i], path, i, depth));
    }
    return INFINO_OK;
fail:
    return st;
}

static infino_status decode_field(struct fbr *r, const struct fbt *t,
                                  struct ar_field *out, struct ar_path *path,
                                  size_t index, int depth)
{
    struct ar_field f = {0};
    struct fbt tt;
    const char *name;
    size_t name_len, start, count, mark = path->len;
    uint8_t u8, type_id;
    bool present;
    int want;
    infino_status st;

    if (depth > AR_MAX_DEPTH) {
        st = err_set(INFINO_ERR_UNSUPPORTED,
                     "field '%s': nested deeper than %d levels", path->s,
                     AR_MAX_DEPTH);
        goto fail;
    }
    if (r->fields_left == 0) {
        st = corrupt("more fields than the message can hold");
        goto fail;
    }
    r->fields_left--;
    CHECK(fbr_string(r, t, FIELD_NAME, &name, &name_len));
    CHECK(spend(r, name_len));
    f.name = mem_strndup(name, name_len);
    if (f.name == NULL) {
        st = err_nomem();
        goto fail;
    }
    mark = ar_path_push(path, f.name, index);
    if (strlen(f.name) != name_len) {
        st = err_set(INFINO_ERR_UNSUPPORTED,
                     "field '%s': name with a NUL byte", path->s);
        goto fail;
    }
    CHECK(fbr_u8(r, t, FIELD_NULLABLE, 0, &u8));
    f.nullable = u8 != 0;
    CHECK(fbr_u8(r, t, FIELD_TYPE_TYPE, T_NONE, &type_id));
    CHECK(fbr_subtable(r, t, FIELD_TYPE, &present, &tt));
    if (!present) {
        st = corrupt("field '%s': type table missing", path->s);
        goto fail;
    }
    CHECK(decode_type(r, type_id, &tt, &f, path));
    CHECK(fbr_ref(r, t, FIELD_DICTIONARY, &present, &start));
    if (present) {
        st = err_set(INFINO_ERR_UNSUPPORTED,
                     "field '%s': dictionary encoding is not supported",
                     path->s);
        goto fail;
    }
    CHECK(fbr_vector(r, t, FIELD_CHILDREN, &start, &count));
    want = ar_type_n_children(f.type);
    if (want >= 0 && count != (size_t)want) {
        st = corrupt("field '%s': %s with %zu children", path->s,
                     ar_type_name(f.type), count);
        goto fail;
    }
    CHECK(decode_fields(r, start, count, &f.children, &f.n_children, path,
                        depth + 1));
    CHECK(decode_kvs(r, t, FIELD_METADATA, &f.meta, &f.n_meta));
    ar_path_pop(path, mark);
    *out = f;
    return INFINO_OK;
fail:
    ar_path_pop(path, mark);
    ar_field_free(&f);
    return st;
}

static infino_status decode_message(struct ar_schema *out, struct fbr *r)
{
    struct ar_path path = {0};
    struct fbt msg, schema;
    size_t start, count;
    int16_t i16;
    uint8_t u8;
    bool present;
    infino_status st;

    if (r->n < 4)
        return corrupt("flatbuffer of %zu bytes", r->n);
    CHECK(fbr_table(r, load_u32le(r->p), &msg));
    CHECK(fbr_i16(r, &msg, MSG_VERSION, 0, &i16));
    if (i16 != METADATA_V4 && i16 != METADATA_V5)
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "metadata version V%d (V4 or V5 expected)",
                       (int)i16 + 1);
    CHECK(fbr_u8(r, &msg, MSG_HEADER_TYPE, 0, &u8));
    if (u8 != HEADER_SCHEMA)
        return corrupt("message header type %u is not Schema", u8);
    CHECK(fbr_subtable(r, &msg, MSG_HEADER, &present, &schema));
    if (!present)
        return corrupt("message without a header");
    CHECK(fbr_i16(r, &schema, SCHEMA_ENDIANNESS, 0, &i16));
    if (i16 == 1)
        return err_set(INFINO_ERR_UNSUPPORTED, "big-endian schema");
    if (i16 != 0)
        return corrupt("endianness %d", (int)i16);
    CHECK(fbr_vector(r, &schema, SCHEMA_FIELDS, &start, &count));
    CHECK(decode_fields(r, start, count, &out->fields, &out->n_fields, &path,
                        0));
    CHECK(decode_kvs(r, &schema, SCHEMA_METADATA, &out->meta, &out->n_meta));
    return INFINO_OK;
fail:
    return st;
}

infino_status ar_schema_from_ipc(struct ar_schema *out, const uint8_t *p,
                                 size_t n)
{
    struct rd in;
    struct fbr r;
    uint32_t word, len;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (p == NULL) /* rd_make(NULL, 0) would do arithmetic on NULL */
        n = 0, p = (const uint8_t *)"";
    in = rd_make(p, n);
    /* Encapsulated message: an optional 0xFFFFFFFF continuation marker
     * (absent before Arrow 0.15), then the int32 flatbuffer size. */
    if (rd_u32le(&in, &word) != 0) {
        st = corrupt("%zu bytes, too short for a message", n);
        goto fail;
    }
    len = word;
    if (word == 0xffffffffu && rd_u32le(&in, &len) != 0) {
        st = corrupt("%zu bytes, too short for a message", n);
        goto fail;
    }
    if (len == 0) {
        st = corrupt("end-of-stream marker instead of a schema");
        goto fail;
    }
    if (len > rd_left(&in) || len > INT32_MAX) {
        st = corrupt("message size %u exceeds the %zu bytes given", len,
                     rd_left(&in));
        goto fail;
    }
    r.p = in.p;
    r.n = len;
    r.fields_left = len / 8;
    r.bytes_left = len;
    CHECK(decode_message(out, &r));
    return INFINO_OK;
fail:
    ar_schema_free(out);
    return err_context(st, "decoding Arrow IPC schema");
}

/* ---- writer ----------------------------------------------------------- */

/* One field of a table to write. `ref` fields are uoffset_t placeholders
 * patched with fbw_patch() once their target exists; FlatBuffers offsets
 * are unsigned, so every target is written after its referrer. */
struct fbw_field {
    int id;
    int size; /* 1, 2, 4 or 8 */
    bool ref;
    uint64_t value;
    size_t at; /* out: position of the field */
};

static infino_status fbw_pad(struct buf *b, size_t align)
{
    size_t pad = (align - b->len % align) % align;
    return buf_append_zeros(b, pad);
}

static void fbw_patch(struct buf *b, size_t at, size_t target)
{
    store_u32le(b->data + at, (uint32_t)(target - at));
}

/* Writes a vtable followed by its table. Fields are laid out largest
 * first so each is naturally aligned (FlatBuffers verifiers check this
 * relative to the buffer start). */
static infino_status fbw_table(struct buf *b, struct fbw_field *fs, size_t n,
                               size_t *table_out)
{
    size_t vt, tpos, cur, vt_len;
    int max_id = -1;
    bool has8 = false;
    infino_status st;

    for (size_t i = 0; i < n; i++) {
        max_id = fs[i].id > max_id ? fs[i].id : max_id;
        has8 |= fs[i].size == 8;
    }
    vt_len = 4 + 2 * (size_t)(max_id + 1);
    CHECK(fbw_pad(b, 2));
    vt = b->len;
    CHECK(buf_append_zeros(b, vt_len));
    /* The table starts 4-aligned; with 8-byte fields, its first field
     * (just after the 4-byte soffset) must be 8-aligned. */
    while (b->len % 4 != 0 || (has8 && (b->len + 4) % 8 != 0))
        CHECK(buf_put_u8(b, 0));
    tpos = b->len;
    CHECK(buf_put_u32le(b, (uint32_t)(tpos - vt))); /* soffset: positive */
    for (int size = 8; size >= 1; size /= 2) {
        for (size_t i = 0; i < n; i++) {
            uint8_t tmp[8];

            if (fs[i].size != size)
                continue;
            cur = b->len;
            store_u64le(tmp, fs[i].value);
            CHECK(buf_append(b, tmp, (size_t)size));
            fs[i].at = cur;
            store_u16le(b->data + vt + 4 + 2 * (size_t)fs[i].id,
                        (uint16_t)(cur - tpos));
        }
    }
    if (b->len - tpos > UINT16_MAX)
        return err_set(INFINO_ERR_INVALID, "flatbuffer table too large");
    store_u16le(b->data + vt, (uint16_t)vt_len);
    store_u16le(b->data + vt + 2, (uint16_t)(b->len - tpos));
    *table_out = tpos;
    return INFINO_OK;
fail:
    return st;
}

static infino_status fbw_string(struct buf *b, const char *s, size_t len,
                                size_t *pos)
{
    infino_status st;

    if (len > UINT32_MAX)
        return err_set(INFINO_ERR_INVALID, "string too long for IPC");
    CHECK(fbw_pad(b, 4));
    *pos = b->len;
    CHECK(buf_put_u32le(b, (uint32_t)len));
    CHECK(buf_append(b, s, len));
    CHECK(buf_put_u8(b, 0));
    return INFINO_OK;
fail:
    return st;
}

/* A vector of `count` offsets, to patch at *pos + 4 + 4 * i. */
static infino_status fbw_vector(struct buf *b, size_t count, size_t *pos)
{
    infino_status st;

    if (count > UINT32_MAX / 4)
        return err_set(INFINO_ERR_INVALID, "vector too long for IPC");
    CHECK(fbw_pad(b, 4));
    *pos = b->len;
    CHECK(buf_put_u32le(b, (uint32_t)count));
    CHECK(buf_append_zeros(b, 4 * count));
    return INFINO_OK;
fail:
    return st;
}

/* Writes a [KeyValue] vector and patches the offset field at `ref_at`. */
static infino_status write_kvs(struct buf *b, size_t ref_at,
                               const struct ar_kv *kv, size_t n)
{
    size_t vec, tpos, spos;
    infino_status st;

    CHECK(fbw_vector(b, n, &vec));
    fbw_patch(b, ref_at, vec);
    for (size_t i = 0; i < n; i++) {
        struct fbw_field fs[] = {{KV_KEY, 4, true, 0, 0},
                                 {KV_VALUE, 4, true, 0, 0}};

        CHECK(fbw_table(b, fs, 2, &tpos));
        fbw_patch(b, vec + 4 + 4 * i, tpos);
        CHECK(fbw_string(b, kv[i].key, strlen(kv[i].key), &spos));
        fbw_patch(b, fs[0].at, spos);
        CHECK(fbw_string(b, kv[i].value, kv[i].value_len, &spos));
        fbw_patch(b, fs[1].at, spos);
    }
    return INFINO_OK;
fail:
    return st;
}

static unsigned type_id(enum ar_type t)
{
    switch (t) {
    case AR_BOOL:
        return T_BOOL;
    case AR_FLOAT32:
    case AR_FLOAT64:
        return T_FLOATING_POINT;
    case AR_UTF8:
        return T_UTF8;
    case AR_LARGE_UTF8:
        return T_LARGE_UTF8;
    case AR_BINARY:
        return T_BINARY;
    case AR_LARGE_BINARY:
        return T_LARGE_BINARY;
    case AR_DATE32:
        return T_DATE;
    case AR_TIMESTAMP:
        return T_TIMESTAMP;
    case AR_DECIMAL128:
        return T_DECIMAL;
    case AR_FIXED_SIZE_LIST:
        return T_FIXED_SIZE_LIST;
    case AR_LIST:
        return T_LIST;
    case AR_LARGE_LIST:
        return T_LARGE_LIST;
    case AR_STRUCT:
        return T_STRUCT;
    default:
        return T_INT; /* every remaining type is an integer */
    }
}

/* Writes the Type union member table of `f`; *pos is its position. */
static infino_status write_type(struct buf *b, const struct ar_field *f,
                                size_t *pos)
{
    struct fbw_field fs[3];
    size_t n = 0, spos;
    bool is_signed;
    infino_status st;

    memset(fs, 0, sizeof fs);
    switch (f->type) {
    case AR_INT8:
    case AR_INT16:
    case AR_INT32:
    case AR_INT64:
    case AR_UINT8:
    case AR_UINT16:
    case AR_UINT32:
    case AR_UINT64:
        is_signed = f->type >= AR_INT8 && f->type <= AR_INT64;
        fs[n++] = (struct fbw_field){0, 4, false,
                                     (uint32_t)ar_type_bit_width(f->type), 0};
        fs[n++] = (struct fbw_field){1, 1, false, is_signed, 0};
        break;
    case AR_FLOAT32:
    case AR_FLOAT64:
        fs[n++] = (struct fbw_field){
            0, 2, false,
            f->type == AR_FLOAT32 ? PRECISION_SINGLE : PRECISION_DOUBLE, 0};
        break;
    case AR_DATE32:
        /* DAY must be explicit: the field's default is MILLISECOND. */
        fs[n++] = (struct fbw_field){0, 2, false, DATE_DAY, 0};
        break;
    case AR_TIMESTAMP:
        fs[n++] = (struct fbw_field){0, 2, false, (uint64_t)f->unit, 0};
        if (f->tz != NULL)
            fs[n++] = (struct fbw_field){1, 4, true, 0, 0};
        break;
    case AR_DECIMAL128:
        fs[n++] = (struct fbw_field){0, 4, false, (uint32_t)f->precision, 0};
        fs[n++] = (struct fbw_field){1, 4, false, (uint32_t)f->scale, 0};
        fs[n++] = (struct fbw_field){2, 4, false, 128, 0};
        break;
    case AR_FIXED_SIZE_LIST:
        fs[n++] = (struct fbw_field){0, 4, false, (uint32_t)f->list_size, 0};
        break;
    default:
        break; /* Utf8, Binary, Bool, List, Struct_...: empty tables */
    }
    CHECK(fbw_table(b, fs, n, pos));
    if (f->type == AR_TIMESTAMP && f->tz != NULL) {
        CHECK(fbw_string(b, f->tz, strlen(f->tz), &spos));
        fbw_patch(b, fs[1].at, spos);
    }
    return INFINO_OK;
fail:
    return st;
}

static infino_status write_field(struct buf *b, const struct ar_field *f,
                                 int depth, size_t *pos);

/* Writes a [Field] vector and patches the offset field at `ref_at`. */
static infino_status write_fields(struct buf *b, size_t ref_at,
                                  const struct ar_field *fields, size_t n,
                                  int depth)
{
    size_t vec, fpos;
    infino_status st;

    CHECK(fbw_vector(b, n, &vec));
    fbw_patch(b, ref_at, vec);
    for (size_t i = 0; i < n; i++) {
        CHECK(write_field(b, &fields[i], depth, &fpos));
        fbw_patch(b, vec + 4 + 4 * i, fpos);
    }
    return INFINO_OK;
fail:
    return st;
}

static infino_status write_field(struct buf *b, const struct ar_field *f,
                                 int depth, size_t *pos)
{
    /* Arrow C++ rejects a Field without a children vector, so it is
     * always written, empty for primitive types. */
    struct fbw_field fs[] = {
        {FIELD_NAME, 4, true, 0, 0},
        {FIELD_NULLABLE, 1, false, f->nullable, 0},
        {FIELD_TYPE_TYPE, 1, false, type_id(f->type), 0},
        {FIELD_TYPE, 4, true, 0, 0},
        {FIELD_CHILDREN, 4, true, 0, 0},
        {FIELD_METADATA, 4, true, 0, 0},
    };
    size_t n_fs = f->n_meta > 0 ? 6 : 5, spos, tpos;
    int want = ar_type_n_children(f->type);
    infino_status st;

    if (depth > AR_MAX_DEPTH)
        return err_set(INFINO_ERR_INVALID, "field '%s': nested deeper than %d",
                       f->name, AR_MAX_DEPTH);
    if (want >= 0 && f->n_children != (size_t)want)
        return err_set(INFINO_ERR_INVALID, "field '%s': %s with %zu children",
                       f->name, ar_type_name(f->type), f->n_children);
    if (f->dict != NULL) /* appended rows only; never part of a table */
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "field '%s': dictionary-encoded fields are not written",
                       f->name);
    CHECK(fbw_table(b, fs, n_fs, pos));
    CHECK(fbw_string(b, f->name, strlen(f->name), &spos));
    fbw_patch(b, fs[0].at, spos);
    CHECK(write_type(b, f, &tpos));
    fbw_patch(b, fs[3].at, tpos);
    CHECK(write_fields(b, fs[4].at, f->children, f->n_children, depth + 1));
    if (f->n_meta > 0)
        CHECK(write_kvs(b, fs[5].at, f->meta, f->n_meta));
    return INFINO_OK;
fail:
    return st;
}

infino_status ar_schema_to_ipc(struct buf *out, const struct ar_schema *s)
{
    struct buf fb = {0};
    struct fbw_field msg[] = {
        {MSG_VERSION, 2, false, METADATA_V5, 0},
        {MSG_HEADER_TYPE, 1, false, HEADER_SCHEMA, 0},
        {MSG_HEADER, 4, true, 0, 0},
        {MSG_BODY_LENGTH, 8, false, 0, 0},
    };
    struct fbw_field schema[] = {
        {SCHEMA_ENDIANNESS, 2, false, 0, 0}, /* Little */
        {SCHEMA_FIELDS, 4, true, 0, 0},
        {SCHEMA_METADATA, 4, true, 0, 0},
    };
    size_t start = out->len, mpos, spos;
    infino_status st;

    CHECK(buf_put_u32le(&fb, 0)); /* root offset, patched below */
    CHECK(fbw_table(&fb, msg, 4, &mpos));
    fbw_patch(&fb, 0, mpos);
    CHECK(fbw_table(&fb, schema, s->n_meta > 0 ? 3 : 2, &spos));
    fbw_patch(&fb, msg[2].at, spos);
    CHECK(write_fields(&fb, schema[1].at, s->fields, s->n_fields, 0));
    if (s->n_meta > 0)
        CHECK(write_kvs(&fb, schema[2].at, s->meta, s->n_meta));
    CHECK(fbw_pad(&fb, 8)); /* the body, if any, starts 8-aligned */
    if (fb.len > INT32_MAX) {
        st = err_set(INFINO_ERR_INVALID, "schema too large for IPC");
        goto fail;
    }
    CHECK(buf_put_u32le(out, 0xffffffffu));
    CHECK(buf_put_u32le(out, (uint32_t)fb.len));
    CHECK(buf_append(out, fb.data, fb.len));
    buf_free(&fb);
    return INFINO_OK;
fail:
    out->len = start;
    buf_free(&fb);
    return err_context(st, "encoding Arrow IPC schema");
}
