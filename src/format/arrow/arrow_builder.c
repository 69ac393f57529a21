/*
 * arrow_builder.c - building ArrowArrays value by value.
 *
 * A builder mirrors its field's tree: one node per field, each with the
 * buffers of the Arrow Columnar Format layout for its type (validity
 * bitmap, values or offsets, string bytes). Every append first reserves
 * all the memory it will touch, in this node and in the children a null
 * slot fills, so a failed append leaves the builder exactly as it was.
 */
#include "arrow_int.h"

#include "util/alloc.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/utf8.h"

#include <float.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct ar_builder {
    const struct ar_field *f;   /* borrowed from the root's `field` */
    struct ar_field field;      /* root only: our deep copy of the field */
    struct ar_builder *parent;  /* NULL at the root */
    int64_t length;             /* slots appended */
    int64_t null_count;
    bool has_bitmap;            /* validity materialised at the first null */
    struct buf validity;        /* (length + 7) / 8 bytes once has_bitmap */
    struct buf values;          /* values, bool bits, or length + 1 offsets
                                   (empty until the first slot) */
    struct buf data;            /* utf8/binary bytes */
    size_t n_children;
    struct ar_builder *children; /* owned array of n_children */
};

/* ---- helpers ---------------------------------------------------------- */

static bool has_offsets(enum ar_type t)
{
    return t == AR_UTF8 || t == AR_LARGE_UTF8 || t == AR_BINARY ||
           t == AR_LARGE_BINARY || t == AR_LIST || t == AR_LARGE_LIST;
}

static size_t offset_width(enum ar_type t)
{
    return (t == AR_LARGE_UTF8 || t == AR_LARGE_BINARY || t == AR_LARGE_LIST)
               ? 8
               : 4;
}

/* Writes the dotted path of `b` ("s.tags.item") into out[cap]. */
static size_t builder_path(const struct ar_builder *b, char *out, size_t cap)
{
    size_t n = 0;
    int w;

    if (b->parent != NULL) {
        n = builder_path(b->parent, out, cap);
        if (n > 0 && n + 1 < cap) /* an unnamed root adds no prefix */
            out[n++] = '.';
    }
    w = snprintf(out + n, cap - n, "%s", b->f->name);
    if (w > 0)
        n += (size_t)w < cap - n ? (size_t)w : cap - n - 1;
    out[n] = '\0';
    return n;
}

/* INFINO_ERR_INVALID prefixed with "field '<path>': ". */
static infino_status bad(const struct ar_builder *b, const char *fmt, ...)
    ERR_PRINTF(2, 3);
static infino_status bad(const struct ar_builder *b, const char *fmt, ...)
{
    char path[AR_PATH_CAP];
    va_list ap;

    va_start(ap, fmt);
    err_setv(INFINO_ERR_INVALID, fmt, ap);
    va_end(ap);
    builder_path(b, path, sizeof path);
    return err_context(INFINO_ERR_INVALID, "field '%s'", path);
}

static infino_status wrong_kind(const struct ar_builder *b, const char *what)
{
    return bad(b, "cannot append %s to %s", what, ar_type_name(b->f->type));
}

/* Ensures the buffer can grow to `total` bytes without reallocating. */
static infino_status reserve_total(struct buf *bb, size_t total)
{
    return total > bb->len ? buf_reserve(bb, total - bb->len) : INFINO_OK;
}

/* Appends into capacity that reserve() guaranteed. */
static void put(struct buf *bb, const void *p, size_t n)
{
    if (n == 0)
        return;
    memcpy(bb->data + bb->len, p, n);
    bb->len += n;
}

static void put_zeros(struct buf *bb, size_t n)
{
    if (n == 0)
        return;
    memset(bb->data + bb->len, 0, n);
    bb->len += n;
}

/* Sets bit `i` of a bitmap that holds exactly (i + 7) / 8 bytes, adding a
 * byte at each byte boundary. */
static void bit_push(struct buf *bb, int64_t i, bool v)
{
    if ((i & 7) == 0)
        bb->data[bb->len++] = 0;
    if (v)
        bb->data[i >> 3] |= (uint8_t)(1u << (i & 7));
}

static int64_t last_offset(const struct ar_builder *b)
{
    if (b->values.len == 0)
        return 0;
    if (offset_width(b->f->type) == 8)
        return (int64_t)load_u64le(b->values.data + b->values.len - 8);
    return (int32_t)load_u32le(b->values.data + b->values.len - 4);
}

static void push_offset(struct ar_builder *b, int64_t v)
{
    size_t w = offset_width(b->f->type);

    if (b->values.len == 0)
        put_zeros(&b->values, w); /* offsets start with a 0 */
    if (w == 8) {
        uint8_t t[8];
        store_u64le(t, (uint64_t)v);
        put(&b->values, t, 8);
    } else {
        uint8_t t[4];
        store_u32le(t, (uint32_t)(int32_t)v);
        put(&b->values, t, 4);
    }
}

/* Reserves room for `count` more slots in `b` and in every child a null
 * slot fills (fixed-size list and struct children). */
static infino_status reserve(struct ar_builder *b, int64_t count)
{
    int64_t slots, kids;
    size_t bytes;
    infino_status st;
    enum ar_type t = b->f->type;

    if (count > INT64_MAX - b->length)
        return bad(b, "too many values");
    slots = b->length + count;
    if ((uint64_t)slots > SIZE_MAX / 16 - 1)
        return err_nomem();
    CHECK(reserve_total(&b->validity, (size_t)(slots + 7) / 8));
    if (t == AR_BOOL) {
        CHECK(reserve_total(&b->values, (size_t)(slots + 7) / 8));
    } else if (ar_type_bit_width(t) > 0) {
        bytes = (size_t)slots * (size_t)(ar_type_bit_width(t) / 8);
        CHECK(reserve_total(&b->values, bytes));
    } else if (has_offsets(t)) {
        CHECK(reserve_total(&b->values,
                            (size_t)(slots + 1) * offset_width(t)));
    } else if (t == AR_FIXED_SIZE_LIST) {
        if (__builtin_mul_overflow(count, (int64_t)b->f->list_size, &kids))
            return bad(b, "too many values");
        CHECK(reserve(&b->children[0], kids));
    } else if (t == AR_STRUCT) {
        for (size_t i = 0; i < b->n_children; i++)
            CHECK(reserve(&b->children[i], count));
    }
    return INFINO_OK;
fail:
    return st;
}

/* Closes one slot; capacity is reserved. */
static void push_slot(struct ar_builder *b, bool valid)
{
    if (!valid && !b->has_bitmap) {
        /* First null: every earlier slot was valid. */
        size_t full = (size_t)(b->length / 8);
        memset(b->validity.data, 0xff, full);
        b->validity.len = full;
        if (b->length & 7)
            b->validity.data[b->validity.len++] =
                (uint8_t)((1u << (b->length & 7)) - 1);
        b->has_bitmap = true;
    }
    if (b->has_bitmap)
        bit_push(&b->validity, b->length, valid);
    if (!valid)
        b->null_count++;
    b->length++;
}

/* Appends a zero / empty value, null when `null`; capacity is reserved. */
static void push_empty(struct ar_builder *b, bool null)
{
    switch (b->f->type) {
    case AR_BOOL:
        bit_push(&b->values, b->length, false);
        break;
    case AR_UTF8:
    case AR_LARGE_UTF8:
    case AR_BINARY:
    case AR_LARGE_BINARY:
        push_offset(b, (int64_t)b->data.len);
        break;
    case AR_LIST:
    case AR_LARGE_LIST:
        push_offset(b, b->children[0].length);
        break;
    case AR_FIXED_SIZE_LIST:
        /* Null slots still own list_size child values (Columnar Format,
         * "Fixed-Size List Layout"); a non-nullable child gets zeros. */
        for (int32_t k = 0; k < b->f->list_size; k++)
            push_empty(&b->children[0], b->children[0].f->nullable);
        break;
    case AR_STRUCT:
        for (size_t i = 0; i < b->n_children; i++)
            push_empty(&b->children[i], b->children[i].f->nullable);
        break;
    default:
        put_zeros(&b->values, (size_t)(ar_type_bit_width(b->f->type) / 8));
        break;
    }
    push_slot(b, !null);
}

/* The first node under `b` (itself included) that holds values not yet
 * closed by end_list/end_struct, or NULL when `b` can take a new slot. */
static const struct ar_builder *pending(const struct ar_builder *b)
{
    switch (b->f->type) {
    case AR_LIST:
    case AR_LARGE_LIST:
        if (b->children[0].length != last_offset(b))
            return b;
        return pending(&b->children[0]);
    case AR_FIXED_SIZE_LIST:
        if (b->children[0].length != b->length * b->f->list_size)
            return b;
        return pending(&b->children[0]);
    case AR_STRUCT:
        for (size_t i = 0; i < b->n_children; i++) {
            const struct ar_builder *p;
            if (b->children[i].length != b->length)
                return b;
            if ((p = pending(&b->children[i])) != NULL)
                return p;
        }
        return NULL;
    default:
        return NULL;
    }
}

static infino_status not_ready(const struct ar_builder *p)
{
    return bad(p, "has child values not closed by end_list/end_struct");
}

/* ---- lifecycle -------------------------------------------------------- */

static void node_free(struct ar_builder *b)
{
    buf_free(&b->validity);
    buf_free(&b->values);
    buf_free(&b->data);
    if (b->children != NULL) {
        for (size_t i = 0; i < b->n_children; i++)
            node_free(&b->children[i]);
        mem_free(b->children);
    }
    b->children = NULL;
    b->n_children = 0;
}

static infino_status node_init(struct ar_builder *b, const struct ar_field *f,
                               struct ar_builder *parent, int depth)
{
    int want = ar_type_n_children(f->type);
    infino_status st;

    b->f = f;
    b->parent = parent;
    if (depth > AR_MAX_DEPTH)
        return bad(b, "nested deeper than %d", AR_MAX_DEPTH);
    if (want >= 0 && f->n_children != (size_t)want)
        return bad(b, "%s with %zu children", ar_type_name(f->type),
                   f->n_children);
    if (f->type == AR_FIXED_SIZE_LIST && f->list_size < 0)
        return bad(b, "negative list size %d", (int)f->list_size);
    if (f->n_children == 0)
        return INFINO_OK;
    b->children = mem_calloc(f->n_children, sizeof *b->children);
    if (b->children == NULL)
        return err_nomem();
    b->n_children = f->n_children;
    for (size_t i = 0; i < f->n_children; i++)
        CHECK(node_init(&b->children[i], &f->children[i], b, depth + 1));
    return INFINO_OK;
fail:
    return st;
}

infino_status ar_builder_new(struct ar_builder **out, const struct ar_field *f)
{
    struct ar_builder *b;
    infino_status st;

    *out = NULL;
    b = mem_calloc(1, sizeof *b);
    if (b == NULL)
        return err_nomem();
    CHECK(ar_field_copy(&b->field, f));
    CHECK(node_init(b, &b->field, NULL, 0));
    *out = b;
    return INFINO_OK;
fail:
    ar_builder_free(b);
    return st;
}

void ar_builder_free(struct ar_builder *b)
{
    if (b == NULL)
        return;
    node_free(b);
    ar_field_free(&b->field);
    mem_free(b);
}

int64_t ar_builder_length(const struct ar_builder *b)
{
    return b->length;
}

struct ar_builder *ar_builder_child(struct ar_builder *b, size_t i)
{
    return i < b->n_children ? &b->children[i] : NULL;
}

/* ---- appends ---------------------------------------------------------- */

infino_status ar_builder_append_null(struct ar_builder *b)
{
    const struct ar_builder *p;
    infino_status st;

    if (!b->f->nullable)
        return bad(b, "null in a non-nullable field");
    if ((p = pending(b)) != NULL)
        return not_ready(p);
    st = reserve(b, 1);
    if (st != INFINO_OK)
        return st;
    push_empty(b, true);
    return INFINO_OK;
}

infino_status ar_builder_append_bool(struct ar_builder *b, bool v)
{
    infino_status st;

    if (b->f->type != AR_BOOL)
        return wrong_kind(b, "a bool");
    st = reserve(b, 1);
    if (st != INFINO_OK)
        return st;
    bit_push(&b->values, b->length, v);
    push_slot(b, true);
    return INFINO_OK;
}

/* Stores one fixed-width value of `width` bytes (little-endian). */
static infino_status put_fixed(struct ar_builder *b, const void *v,
                               size_t width)
{
    infino_status st = reserve(b, 1);

    if (st != INFINO_OK)
        return st;
    put(&b->values, v, width);
    push_slot(b, true);
    return INFINO_OK;
}

/* Stores an integer that is known to fit the column's type. */
static infino_status put_int(struct ar_builder *b, int64_t v)
{
    uint8_t t[8];

    store_u64le(t, (uint64_t)v); /* the low bytes are the narrow value */
    return put_fixed(b, t, (size_t)(ar_type_bit_width(b->f->type) / 8));
}

static infino_status put_float(struct ar_builder *b, double v)
{
    if (b->f->type == AR_FLOAT64)
        return put_fixed(b, &v, 8);
    if (isfinite(v) && fabs(v) > FLT_MAX)
        return bad(b, "%g out of range for float32", v);
    float f = (float)v;
    return put_fixed(b, &f, 4);
}

/* Inclusive range of a signed integer type, or false if not one. */
static bool signed_range(enum ar_type t, int64_t *lo, int64_t *hi)
{
    switch (t) {
    case AR_INT8:
        *lo = INT8_MIN, *hi = INT8_MAX;
        return true;
    case AR_INT16:
        *lo = INT16_MIN, *hi = INT16_MAX;
        return true;
    case AR_INT32:
    case AR_DATE32:
        *lo = INT32_MIN, *hi = INT32_MAX;
        return true;
    case AR_INT64:
    case AR_TIMESTAMP:
        *lo = INT64_MIN, *hi = INT64_MAX;
        return true;
    default:
        return false;
    }
}

static bool unsigned_max(enum ar_type t, uint64_t *hi)
{
    switch (t) {
    case AR_UINT8:
        *hi = UINT8_MAX;
        return true;
    case AR_UINT16:
        *hi = UINT16_MAX;
        return true;
    case AR_UINT32:
        *hi = UINT32_MAX;
        return true;
    case AR_UINT64:
        *hi = UINT64_MAX;
        return true;
    default:
        return false;
    }
}

infino_status ar_builder_append_int(struct ar_builder *b, int64_t v)
{
    enum ar_type t = b->f->type;
    int64_t lo, hi;
    uint64_t uhi;

    if (signed_range(t, &lo, &hi)) {
        if (v < lo || v > hi)
            return bad(b, "%lld out of range for %s", (long long)v,
                       ar_type_name(t));
        return put_int(b, v);
    }
    if (unsigned_max(t, &uhi)) {
        if (v < 0 || (uint64_t)v > uhi)
            return bad(b, "%lld out of range for %s", (long long)v,
                       ar_type_name(t));
        return put_int(b, v);
    }
    if (t == AR_FLOAT32 || t == AR_FLOAT64)
        return put_float(b, (double)v);
    return wrong_kind(b, "an integer");
}

infino_status ar_builder_append_uint(struct ar_builder *b, uint64_t v)
{
    enum ar_type t = b->f->type;
    int64_t lo, hi;
    uint64_t uhi;

    if (unsigned_max(t, &uhi)) {
        if (v > uhi)
            return bad(b, "%llu out of range for %s", (unsigned long long)v,
                       ar_type_name(t));
        return put_int(b, (int64_t)v); /* same low bytes */
    }
    if (signed_range(t, &lo, &hi)) {
        if (v > (uint64_t)hi)
            return bad(b, "%llu out of range for %s", (unsigned long long)v,
                       ar_type_name(t));
        return put_int(b, (int64_t)v);
    }
    if (t == AR_FLOAT32 || t == AR_FLOAT64)
        return put_float(b, (double)v);
    return wrong_kind(b, "an integer");
}

infino_status ar_builder_append_double(struct ar_builder *b, double v)
{
    if (b->f->type != AR_FLOAT32 && b->f->type != AR_FLOAT64)
        return wrong_kind(b, "a float");
    return put_float(b, v);
}

infino_status ar_builder_append_bytes(struct ar_builder *b, const void *p,
                                      size_t n)
{
    enum ar_type t = b->f->type;
    size_t end;
    infino_status st;

    if (t != AR_UTF8 && t != AR_LARGE_UTF8 && t != AR_BINARY &&
        t != AR_LARGE_BINARY)
        return wrong_kind(b, "bytes");
    if ((t == AR_UTF8 || t == AR_LARGE_UTF8) && utf8_check(p, n) != n)
        return bad(b, "value %lld is not valid UTF-8", (long long)b->length);
    if (n > SIZE_MAX - b->data.len)
        return err_nomem();
    end = b->data.len + n;
    if (offset_width(t) == 4 ? end > INT32_MAX : end > INT64_MAX)
        return bad(b, "%s data would exceed %s bytes; use the large_ type",
                   ar_type_name(t), offset_width(t) == 4 ? "2^31-1" : "2^63-1");
    st = reserve(b, 1);
    if (st == INFINO_OK)
        st = buf_reserve(&b->data, n);
    if (st != INFINO_OK)
        return st;
    put(&b->data, p, n);
    push_offset(b, (int64_t)end);
    push_slot(b, true);
    return INFINO_OK;
}

__extension__ typedef unsigned __int128 u128;

/* |v| < 10^precision, v being 16 bytes little-endian two's complement. */
static bool decimal_fits(const uint8_t v[16], int32_t precision)
{
    u128 x = ((u128)load_u64le(v + 8) << 64) | load_u64le(v);
    u128 lim = 1;

    if (x >> 127)
        x = ~x + 1; /* magnitude; 2^127 for the most negative value */
    for (int32_t i = 0; i < precision && i < 39; i++)
        lim *= 10;
    return x < lim;
}

infino_status ar_builder_append_decimal(struct ar_builder *b,
                                        const uint8_t v[16])
{
    if (b->f->type != AR_DECIMAL128)
        return wrong_kind(b, "a decimal");
    if (!decimal_fits(v, b->f->precision))
        return bad(b, "value %lld has more than %d digits",
                   (long long)b->length, (int)b->f->precision);
    return put_fixed(b, v, 16);
}

infino_status ar_builder_end_list(struct ar_builder *b)
{
    const struct ar_builder *p;
    struct ar_builder *c;
    infino_status st;

    if (b->f->type != AR_LIST && b->f->type != AR_LARGE_LIST &&
        b->f->type != AR_FIXED_SIZE_LIST)
        return bad(b, "end_list on %s", ar_type_name(b->f->type));
    c = &b->children[0];
    if ((p = pending(c)) != NULL)
        return not_ready(p);
    if (b->f->type == AR_FIXED_SIZE_LIST) {
        int64_t want = (b->length + 1) * b->f->list_size;
        if (c->length != want)
            return bad(b, "slot %lld has %lld values, list size is %d",
                       (long long)b->length,
                       (long long)(c->length - b->length * b->f->list_size),
                       (int)b->f->list_size);
    } else if (b->f->type == AR_LIST && c->length > INT32_MAX) {
        return bad(b, "more than 2^31-1 values; use large_list");
    }
    /* Room for one slot of this node only: its child is complete. */
    st = reserve_total(&b->validity, (size_t)(b->length + 8) / 8);
    if (st == INFINO_OK && b->f->type != AR_FIXED_SIZE_LIST)
        st = reserve_total(&b->values,
                           (size_t)(b->length + 2) * offset_width(b->f->type));
    if (st != INFINO_OK)
        return st;
    if (b->f->type != AR_FIXED_SIZE_LIST)
        push_offset(b, c->length);
    push_slot(b, true);
    return INFINO_OK;
}

infino_status ar_builder_end_struct(struct ar_builder *b)
{
    const struct ar_builder *p;
    infino_status st;

    if (b->f->type != AR_STRUCT)
        return bad(b, "end_struct on %s", ar_type_name(b->f->type));
    for (size_t i = 0; i < b->n_children; i++) {
        const struct ar_builder *c = &b->children[i];
        if (c->length != b->length + 1)
            return bad(c, "has %lld values, the struct needs %lld",
                       (long long)c->length, (long long)(b->length + 1));
        if ((p = pending(c)) != NULL)
            return not_ready(p);
    }
    st = reserve_total(&b->validity, (size_t)(b->length + 8) / 8);
    if (st != INFINO_OK)
        return st;
    push_slot(b, true);
    return INFINO_OK;
}

/* ---- finish ----------------------------------------------------------- */

static void node_reset(struct ar_builder *b)
{
    b->length = 0;
    b->null_count = 0;
    b->has_bitmap = false;
    buf_reset(&b->validity);
    buf_reset(&b->values);
    buf_reset(&b->data);
    for (size_t i = 0; i < b->n_children; i++)
        node_reset(&b->children[i]);
}

/* Detaches a buffer; an empty one becomes a 0-byte allocation so that
 * arrays we build never carry NULL value buffers. */
static infino_status take(struct buf *bb, void **out)
{
    *out = buf_detach(bb, NULL);
    if (*out == NULL && (*out = mem_alloc(0)) == NULL)
        return err_nomem();
    return INFINO_OK;
}

static infino_status finish_node(struct ar_builder *b, struct ArrowArray *out)
{
    void *bufs[3] = {NULL, NULL, NULL};
    struct ArrowArray *kids = NULL;
    int n_buffers = ar_type_n_buffers(b->f->type);
    size_t n_done = 0;
    infino_status st;

    if (b->n_children > 0) {
        kids = mem_calloc(b->n_children, sizeof *kids);
        if (kids == NULL) {
            st = err_nomem();
            goto fail;
        }
        for (; n_done < b->n_children; n_done++)
            CHECK(finish_node(&b->children[n_done], &kids[n_done]));
    }
    if (has_offsets(b->f->type) && b->values.len == 0) {
        CHECK(buf_append_zeros(&b->values, offset_width(b->f->type)));
    }
    if (b->null_count > 0)
        bufs[0] = buf_detach(&b->validity, NULL);
    if (n_buffers >= 2)
        CHECK(take(&b->values, &bufs[1]));
    if (n_buffers >= 3)
        CHECK(take(&b->data, &bufs[2]));
    st = ar_array_make(out, b->length, b->null_count, n_buffers, bufs,
                       (int)b->n_children, kids);
    mem_free(kids); /* its structs were moved into `out` (or released) */
    if (st == INFINO_OK)
        node_reset(b);
    return st;
fail:
    for (int i = 0; i < 3; i++)
        mem_free(bufs[i]);
    for (size_t i = 0; i < n_done; i++)
        ar_array_release(&kids[i]);
    mem_free(kids);
    return st;
}

infino_status ar_builder_finish(struct ar_builder *b, struct ArrowArray *out)
{
    const struct ar_builder *p;
    infino_status st;

    memset(out, 0, sizeof *out);
    if ((p = pending(b)) != NULL)
        return not_ready(p);
    if (b->n_children > INT32_MAX)
        return bad(b, "too many children");
    st = finish_node(b, out);
    if (st != INFINO_OK)
        node_reset(b); /* partly moved out and released: start empty */
    return st;
}
