/*
 * tbl_conform.c - make incoming batches look exactly like the table.
 *
 * Callers hand us whatever their Arrow library produced: columns in any
 * order, utf8 where the table says large_utf8, a list<float> where it says
 * fixed_size_list<float, 384>, int64 where it says int32. We match columns
 * by name, convert what converts losslessly (checking every value that
 * could be out of range), borrow every buffer that needs no change, and
 * refuse the rest with an error naming the column and the row, counted
 * from the start of the append.
 */
#include "table_int.h"

#include "util/alloc.h"
#include "util/cancel.h"
#include "util/err.h"

#include <math.h>
#include <string.h>

struct tbl_conform {
    struct ArrowArrayStream *in; /* borrowed; released by free */
    struct ar_schema target;     /* owned copy */
    struct ar_schema source;     /* the stream's schema */
    int *src_of;                 /* source child index per target field */
    int64_t rows_before;         /* rows of earlier batches */
    struct ArrowArray src;       /* current source batch, owned */
    struct ArrowArray out;       /* shallow struct array handed out */
    struct ArrowArray *out_children; /* n_fields shallow or owned arrays */
    struct ArrowArray **out_child_ptrs;
    bool *child_owned;
};

static void noop_release(struct ArrowArray *a)
{
    a->release = NULL;
}

static void release_batch(struct tbl_conform *c)
{
    size_t n = c->target.n_fields;

    for (size_t i = 0; i < n; i++) {
        if (c->child_owned[i])
            ar_array_release(&c->out_children[i]);
        c->child_owned[i] = false;
        memset(&c->out_children[i], 0, sizeof c->out_children[i]);
    }
    ar_array_release(&c->src);
}

void tbl_conform_free(struct tbl_conform *c)
{
    if (c == NULL)
        return;
    if (c->child_owned)
        release_batch(c);
    if (c->in && c->in->release)
        c->in->release(c->in);
    ar_schema_free(&c->target);
    ar_schema_free(&c->source);
    mem_free(c->src_of);
    mem_free(c->out_children);
    mem_free(c->out_child_ptrs);
    mem_free(c->child_owned);
    mem_free(c);
}

static bool is_int(enum ar_type t)
{
    return t >= AR_INT8 && t <= AR_UINT64;
}

static bool same_shape(const struct ar_field *a, const struct ar_field *b)
{
    if (a->type != b->type)
        return false;
    switch (a->type) {
    case AR_TIMESTAMP:
        if (a->unit != b->unit || (a->tz == NULL) != (b->tz == NULL) ||
            (a->tz && strcmp(a->tz, b->tz) != 0))
            return false;
        return true;
    case AR_DECIMAL128:
        return a->precision == b->precision && a->scale == b->scale;
    case AR_FIXED_SIZE_LIST:
        if (a->list_size != b->list_size)
            return false;
        /* fall through */
    case AR_LIST:
    case AR_LARGE_LIST:
        return same_shape(&a->children[0], &b->children[0]);
    case AR_STRUCT:
        if (a->n_children != b->n_children)
            return false;
        for (size_t i = 0; i < a->n_children; i++)
            if (strcmp(a->children[i].name, b->children[i].name) != 0 ||
                !same_shape(&a->children[i], &b->children[i]))
                return false;
        return true;
    default:
        return true;
    }
}

/* Whether source type `s` can be converted to target `t`. */
static bool convertible(const struct ar_field *t, const struct ar_field *s)
{
    if (same_shape(t, s))
        return true;
    if ((t->type == AR_UTF8 || t->type == AR_LARGE_UTF8) &&
        (s->type == AR_UTF8 || s->type == AR_LARGE_UTF8))
        return true;
    if ((t->type == AR_BINARY || t->type == AR_LARGE_BINARY) &&
        (s->type == AR_BINARY || s->type == AR_LARGE_BINARY))
        return true;
    if (is_int(t->type) && is_int(s->type))
        return true;
    if ((t->type == AR_FLOAT32 || t->type == AR_FLOAT64) &&
        (s->type == AR_FLOAT32 || s->type == AR_FLOAT64))
        return true;
    if (t->type == AR_FIXED_SIZE_LIST &&
        (s->type == AR_LIST || s->type == AR_LARGE_LIST ||
         s->type == AR_FIXED_SIZE_LIST))
        return same_shape(&t->children[0], &s->children[0]) ||
               (t->children[0].type == AR_FLOAT32 &&
                s->children[0].type == AR_FLOAT64);
    return false;
}

static infino_status type_error(const struct ar_field *t,
                                const struct ar_field *s)
{
    struct buf a = {0}, b = {0};
    infino_status st;

    ar_type_describe(&a, t);
    ar_type_describe(&b, s);
    st = err_set(INFINO_ERR_INVALID, "column '%s': expected %s, got %s",
                 t->name, a.data ? (char *)a.data : "?",
                 b.data ? (char *)b.data : "?");
    buf_free(&a);
    buf_free(&b);
    return st;
}

infino_status tbl_conform_open(struct tbl_conform **out,
                               const struct ar_schema *target,
                               struct ArrowArrayStream *in)
{
    struct tbl_conform *c = mem_calloc(1, sizeof *c);
    size_t n = target->n_fields;
    infino_status st;

    *out = NULL;
    if (c == NULL) {
        if (in->release)
            in->release(in);
        return err_nomem();
    }
    c->in = in;
    CHECK(ar_schema_copy(&c->target, target));
    CHECK(ar_stream_import_schema(&c->source, in));
    c->src_of = mem_calloc(n + 1, sizeof *c->src_of);
    c->out_children = mem_calloc(n + 1, sizeof *c->out_children);
    c->out_child_ptrs = mem_calloc(n + 1, sizeof *c->out_child_ptrs);
    c->child_owned = mem_calloc(n + 1, sizeof *c->child_owned);
    if (!c->src_of || !c->out_children || !c->out_child_ptrs ||
        !c->child_owned) {
        st = err_nomem();
        goto fail;
    }
    for (size_t i = 0; i < c->source.n_fields; i++)
        if (ar_schema_find(target, c->source.fields[i].name) < 0) {
            st = err_set(INFINO_ERR_INVALID,
                         "column '%s' is not in the table's schema",
                         c->source.fields[i].name);
            goto fail;
        }
    for (size_t i = 0; i < n; i++) {
        const struct ar_field *t = &target->fields[i];
        int si = ar_schema_find(&c->source, t->name);
        if (si < 0) {
            st = err_set(INFINO_ERR_INVALID, "column '%s' is missing",
                         t->name);
            goto fail;
        }
        if (!convertible(t, &c->source.fields[si])) {
            st = type_error(t, &c->source.fields[si]);
            goto fail;
        }
        c->src_of[i] = si;
        c->out_child_ptrs[i] = &c->out_children[i];
    }
    *out = c;
    return INFINO_OK;
fail:
    tbl_conform_free(c);
    return st;
}

/* ---- conversions ------------------------------------------------------ */

static int64_t first_null(const struct ArrowArray *a)
{
    if (a->null_count == 0 || a->buffers[0] == NULL)
        return -1;
    for (int64_t i = 0; i < a->length; i++)
        if (!ar_array_is_valid(a, i))
            return i;
    return -1;
}

/* Copies the validity bitmap of `a` (offset applied) or returns NULL. */
static infino_status copy_validity(uint8_t **out, const struct ArrowArray *a)
{
    const uint8_t *src = a->buffers[0];
    uint8_t *bits;

    *out = NULL;
    if (src == NULL || a->null_count == 0)
        return INFINO_OK;
    bits = mem_calloc((size_t)(a->length + 7) / 8 + 1, 1);
    if (bits == NULL)
        return err_nomem();
    for (int64_t i = 0; i < a->length; i++)
        if (ar_array_is_valid(a, i))
            bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    *out = bits;
    return INFINO_OK;
}

static int64_t get_offset(const struct ArrowArray *a, bool large, int64_t i)
{
    const void *o = a->buffers[1];
    i += a->offset;
    return large ? ((const int64_t *)o)[i] : ((const int32_t *)o)[i];
}

/* utf8 <-> large_utf8 and binary <-> large_binary: new offsets, the data
 * buffer borrowed through a shallow child that outlives the copy. */
static infino_status convert_strings(struct ArrowArray *out,
                                     const struct ar_field *t,
                                     const struct ar_field *s,
                                     const struct ArrowArray *a,
                                     int64_t row0)
{
    bool src_large = s->type == AR_LARGE_UTF8 || s->type == AR_LARGE_BINARY;
    bool dst_large = t->type == AR_LARGE_UTF8 || t->type == AR_LARGE_BINARY;
    int64_t base = a->length ? get_offset(a, src_large, 0) : 0;
    int64_t end = a->length ? get_offset(a, src_large, a->length) : 0;
    uint8_t *validity = NULL;
    void *offs = NULL, *data = NULL;
    size_t width = dst_large ? 8 : 4;
    infino_status st;

    if (!dst_large && end - base > INT32_MAX)
        return err_set(INFINO_ERR_INVALID,
                       "column '%s': more than 2 GiB of text in one batch "
                       "near row %lld (use large_utf8)",
                       t->name, (long long)row0);
    offs = mem_alloc((size_t)(a->length + 1) * width);
    data = mem_alloc((size_t)(end - base));
    if (offs == NULL || data == NULL) {
        mem_free(offs);
        mem_free(data);
        return err_nomem();
    }
    for (int64_t i = 0; i <= a->length; i++) {
        int64_t o = (a->length ? get_offset(a, src_large, i) : 0) - base;
        if (dst_large)
            ((int64_t *)offs)[i] = o;
        else
            ((int32_t *)offs)[i] = (int32_t)o;
    }
    if (end > base)
        memcpy(data, (const uint8_t *)a->buffers[2] + base,
               (size_t)(end - base));
    st = copy_validity(&validity, a);
    if (st != INFINO_OK) {
        mem_free(offs);
        mem_free(data);
        return st;
    }
    void *bufs[3] = {validity, offs, data};
    return ar_array_make(out, a->length, validity ? a->null_count : 0, 3,
                         bufs, 0, NULL);
}

static bool get_int(const struct ArrowArray *a, enum ar_type t, int64_t i,
                    int64_t *sv, uint64_t *uv, bool *is_unsigned)
{
    const void *p = a->buffers[1];
    int64_t j = i + a->offset;

    *is_unsigned = false;
    switch (t) {
    case AR_INT8:
        *sv = ((const int8_t *)p)[j];
        return true;
    case AR_INT16:
        *sv = ((const int16_t *)p)[j];
        return true;
    case AR_INT32:
        *sv = ((const int32_t *)p)[j];
        return true;
    case AR_INT64:
        *sv = ((const int64_t *)p)[j];
        return true;
    case AR_UINT8:
        *uv = ((const uint8_t *)p)[j];
        break;
    case AR_UINT16:
        *uv = ((const uint16_t *)p)[j];
        break;
    case AR_UINT32:
        *uv = ((const uint32_t *)p)[j];
        break;
    case AR_UINT64:
        *uv = ((const uint64_t *)p)[j];
        break;
    default:
        return false;
    }
    *is_unsigned = true;
    return true;
}

static bool fits(enum ar_type t, int64_t sv, uint64_t uv, bool is_unsigned)
{
    int bits = ar_type_bit_width(t);
    bool dst_unsigned = t >= AR_UINT8;

    if (is_unsigned) {
        if (dst_unsigned)
            return bits == 64 || uv < (1ull << bits);
        return uv <= (uint64_t)((1ull << (bits - 1)) - 1);
    }
    if (dst_unsigned)
        return sv >= 0 && (bits == 64 || (uint64_t)sv < (1ull << bits));
    if (bits == 64)
        return true;
    return sv >= -(int64_t)(1ull << (bits - 1)) &&
           sv <= (int64_t)((1ull << (bits - 1)) - 1);
}

static infino_status convert_ints(struct ArrowArray *out,
                                  const struct ar_field *t,
                                  const struct ar_field *s,
                                  const struct ArrowArray *a, int64_t row0)
{
    int width = ar_type_bit_width(t->type) / 8;
    uint8_t *vals = mem_calloc((size_t)a->length + 1, (size_t)width);
    uint8_t *validity = NULL;
    infino_status st;

    if (vals == NULL)
        return err_nomem();
    for (int64_t i = 0; i < a->length; i++) {
        int64_t sv = 0;
        uint64_t uv = 0;
        bool u;
        if (!ar_array_is_valid(a, i))
            continue;
        get_int(a, s->type, i, &sv, &uv, &u);
        if (!fits(t->type, sv, uv, u)) {
            mem_free(vals);
            return err_set(INFINO_ERR_INVALID,
                           "column '%s': row %lld: value %s%llu does not fit "
                           "in the column's type",
                           t->name, (long long)(row0 + i),
                           (!u && sv < 0) ? "-" : "",
                           u ? (unsigned long long)uv
                             : (unsigned long long)(sv < 0 ? -(uint64_t)sv
                                                           : (uint64_t)sv));
        }
        uint64_t bitsv = u ? uv : (uint64_t)sv;
        memcpy(vals + (size_t)i * (size_t)width, &bitsv, (size_t)width);
    }
    st = copy_validity(&validity, a);
    if (st != INFINO_OK) {
        mem_free(vals);
        return st;
    }
    void *bufs[2] = {validity, vals};
    return ar_array_make(out, a->length, validity ? a->null_count : 0, 2,
                         bufs, 0, NULL);
}

static infino_status convert_floats(struct ArrowArray *out,
                                    const struct ar_field *t,
                                    const struct ArrowArray *a)
{
    bool to32 = t->type == AR_FLOAT32;
    void *vals = mem_alloc((size_t)(a->length + 1) * (to32 ? 4 : 8));
    uint8_t *validity = NULL;
    infino_status st;

    if (vals == NULL)
        return err_nomem();
    for (int64_t i = 0; i < a->length; i++) {
        int64_t j = i + a->offset;
        if (to32)
            ((float *)vals)[i] = (float)((const double *)a->buffers[1])[j];
        else
            ((double *)vals)[i] = ((const float *)a->buffers[1])[j];
    }
    st = copy_validity(&validity, a);
    if (st != INFINO_OK) {
        mem_free(vals);
        return st;
    }
    void *bufs[2] = {validity, vals};
    return ar_array_make(out, a->length, validity ? a->null_count : 0, 2,
                         bufs, 0, NULL);
}

/* list / large_list / fixed_size_list of primitives -> fixed_size_list of
 * the target size. Every non-null slot must hold exactly `n` non-null
 * values; null slots become `n` zero values behind a null bit. */
static infino_status convert_fixed_list(struct ArrowArray *out,
                                        const struct ar_field *t,
                                        const struct ar_field *s,
                                        const struct ArrowArray *a,
                                        int64_t row0)
{
    const struct ArrowArray *child = a->children[0];
    enum ar_type ct = t->children[0].type, st_ = s->children[0].type;
    size_t n = (size_t)t->list_size;
    int width = ar_type_bit_width(ct) / 8;
    int src_width = ar_type_bit_width(st_) / 8;
    uint8_t *vals = NULL, *validity = NULL;
    struct ArrowArray kid;
    infino_status st;

    if (width <= 0 || src_width <= 0)
        return err_set(INFINO_ERR_INVALID,
                       "column '%s': cannot convert lists of this type",
                       t->name);
    vals = mem_calloc((size_t)a->length * n + 1, (size_t)width);
    if (vals == NULL)
        return err_nomem();
    for (int64_t i = 0; i < a->length; i++) {
        int64_t start, len;
        if (!ar_array_is_valid(a, i))
            continue;
        if (s->type == AR_FIXED_SIZE_LIST) {
            start = (i + a->offset) * s->list_size;
            len = s->list_size;
        } else {
            bool large = s->type == AR_LARGE_LIST;
            start = get_offset(a, large, i);
            len = get_offset(a, large, i + 1) - start;
        }
        if ((size_t)len != n) {
            mem_free(vals);
            return err_set(INFINO_ERR_INVALID,
                           "column '%s': row %lld has %lld values, expected "
                           "%zu",
                           t->name, (long long)(row0 + i), (long long)len, n);
        }
        for (int64_t k = 0; k < len; k++) {
            int64_t ci = start + k;
            if (!ar_array_is_valid(child, ci)) {
                mem_free(vals);
                return err_set(INFINO_ERR_INVALID,
                               "column '%s': row %lld: element %lld is null",
                               t->name, (long long)(row0 + i), (long long)k);
            }
            const uint8_t *src = (const uint8_t *)child->buffers[1] +
                                 (size_t)(ci + child->offset) * (size_t)src_width;
            uint8_t *dst = vals + ((size_t)i * n + (size_t)k) * (size_t)width;
            if (ct == AR_FLOAT32 && st_ == AR_FLOAT64) {
                double d;
                memcpy(&d, src, 8);
                float f = (float)d;
                memcpy(dst, &f, 4);
            } else {
                memcpy(dst, src, (size_t)width);
            }
        }
    }
    void *kbufs[2] = {NULL, vals};
    st = ar_array_make(&kid, a->length * (int64_t)n, 0, 2, kbufs, 0, NULL);
    if (st != INFINO_OK)
        return st;
    st = copy_validity(&validity, a);
    if (st != INFINO_OK) {
        ar_array_release(&kid);
        return st;
    }
    void *bufs[1] = {validity};
    return ar_array_make(out, a->length, validity ? a->null_count : 0, 1,
                         bufs, 1, &kid);
}

static infino_status convert(struct ArrowArray *out, bool *owned,
                             const struct ar_field *t,
                             const struct ar_field *s,
                             const struct ArrowArray *a, int64_t row0)
{
    *owned = true;
    if (same_shape(t, s)) {
        *out = *a; /* shallow: buffers stay the source batch's */
        out->release = noop_release;
        *owned = false;
        return INFINO_OK;
    }
    switch (t->type) {
    case AR_UTF8:
    case AR_LARGE_UTF8:
    case AR_BINARY:
    case AR_LARGE_BINARY:
        return convert_strings(out, t, s, a, row0);
    case AR_FLOAT32:
    case AR_FLOAT64:
        return convert_floats(out, t, a);
    case AR_FIXED_SIZE_LIST:
        return convert_fixed_list(out, t, s, a, row0);
    default:
        if (is_int(t->type))
            return convert_ints(out, t, s, a, row0);
        return type_error(t, s);
    }
}

infino_status tbl_conform_next(struct tbl_conform *c, struct ArrowArray *out)
{
    size_t n = c->target.n_fields;
    bool eof;
    infino_status st;

    release_batch(c);
    memset(out, 0, sizeof *out);
    for (;;) {
        /* Between batches: the caller's interrupt flag (util/cancel.h).
         * Before the read, so a stop never waits for the producer. */
        if (cancel_requested())
            return err_set(INFINO_ERR_INTERRUPTED,
                           "interrupted after %lld input rows",
                           (long long)c->rows_before);
        st = ar_stream_next(c->in, &c->source, &c->src, &eof);
        if (st != INFINO_OK)
            return err_context(st, "reading rows near row %lld",
                               (long long)c->rows_before);
        if (eof)
            return INFINO_OK;
        if (c->src.length > 0)
            break;
        ar_array_release(&c->src); /* skip empty batches */
    }
    for (size_t i = 0; i < n; i++) {
        const struct ar_field *t = &c->target.fields[i];
        const struct ar_field *s = &c->source.fields[c->src_of[i]];
        struct ArrowArray *a = c->src.children[c->src_of[i]];
        int64_t bad;
        /* A struct's own offset shifts its children (C interface). */
        struct ArrowArray view = *a;
        view.offset += c->src.offset;
        view.length = c->src.length;

        if (!t->nullable && (bad = first_null(&view)) >= 0)
            return err_set(INFINO_ERR_INVALID,
                           "column '%s': row %lld is null, but the column "
                           "is not nullable",
                           t->name, (long long)(c->rows_before + bad));
        st = convert(&c->out_children[i], &c->child_owned[i], t, s, &view,
                     c->rows_before);
        if (st != INFINO_OK)
            return st;
    }
    memset(&c->out, 0, sizeof c->out);
    c->out.length = c->src.length;
    c->out.n_buffers = 1;
    static const void *no_validity[1] = {NULL};
    c->out.buffers = no_validity;
    c->out.n_children = (int64_t)n;
    c->out.children = c->out_child_ptrs;
    c->out.release = noop_release;
    c->rows_before += c->src.length;
    *out = c->out;
    return INFINO_OK;
}
