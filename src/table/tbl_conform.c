/*
 * tbl_conform.c - make incoming batches look exactly like the table.
 *
 * Callers hand us whatever their Arrow library produced: columns in any
 * order, utf8 where the table says large_utf8, a list<float> where it says
 * fixed_size_list<float, 384>, int64 where it says int32, a dictionary-
 * encoded column where it says utf8. We match columns by name, decode
 * dictionaries, convert what converts losslessly, borrow every buffer that
 * needs no change, and refuse the rest with an error naming the column and
 * the row, counted from the start of the append.
 *
 * Lossless means every value survives the trip exactly, checked value by
 * value: int to int within the target's range; float64 to float32 only
 * where the float32 holds the same number (NaN, +-inf and -0.0 do; 1e300,
 * 1e-50 and 2^24+1 do not); float32 to float64 always. Integers and floats
 * never convert into each other (an int64 above 2^53 has no float64, and
 * one rule per kind is easier to state than a rule per value), nor do
 * strings and binary. Values are checked as well as converted: utf8 must be
 * valid UTF-8 (util/utf8.h) and a vector (list of floats) must have no null
 * element; a null vector as a whole is a null value like any other.
 */
#include "table_int.h"

#include "format/arrow/arrow_take.h"
#include "util/alloc.h"
#include "util/cancel.h"
#include "util/err.h"
#include "util/utf8.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
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

static bool is_float(enum ar_type t)
{
    return t == AR_FLOAT32 || t == AR_FLOAT64;
}

/* The field whose values a source column holds: its dictionary's values
 * when it is dictionary-encoded (decoded before conversion). */
static const struct ar_field *values_of(const struct ar_field *s)
{
    return s->dict != NULL ? s->dict : s;
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
    s = values_of(s);
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
    if (is_float(t->type) && is_float(s->type))
        return true;
    if (t->type == AR_FIXED_SIZE_LIST &&
        (s->type == AR_LIST || s->type == AR_LARGE_LIST ||
         s->type == AR_FIXED_SIZE_LIST)) {
        enum ar_type tc = t->children[0].type, sc = s->children[0].type;
        return same_shape(&t->children[0], &s->children[0]) ||
               (is_float(tc) && is_float(sc)) || (is_int(tc) && is_int(sc));
    }
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
    st = ar_stream_import_schema_flags(&c->source, in, AR_IMPORT_DICTIONARY);
    if (st == INFINO_ERR_UNSUPPORTED) {
        /* a type no table can have: the appended data is what is wrong */
        char why[512];
        snprintf(why, sizeof why, "%s", err_last());
        st = err_set(INFINO_ERR_INVALID, "%s", why);
    }
    if (st != INFINO_OK)
        goto fail;
    c->src_of = mem_calloc(n + 1, sizeof *c->src_of);
    c->out_children = mem_calloc(n + 1, sizeof *c->out_children);
    c->out_child_ptrs = mem_calloc(n + 1, sizeof *c->out_child_ptrs);
    c->child_owned = mem_calloc(n + 1, sizeof *c->child_owned);
    if (!c->src_of || !c->out_children || !c->out_child_ptrs ||
        !c->child_owned) {
        st = err_nomem();
        goto fail;
    }
    /* Columns are matched by name: a second column of the same name would
     * be silently ignored. */
    for (size_t i = 0; i < c->source.n_fields; i++)
        for (size_t j = 0; j < i; j++)
            if (strcmp(c->source.fields[i].name, c->source.fields[j].name) ==
                0) {
                st = err_set(INFINO_ERR_INVALID,
                             "column '%s' appears more than once in the "
                             "appended data",
                             c->source.fields[i].name);
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
        if (si < 0 && t->nullable) {
            /* omitted: null in every row (as upstream; what lets writers
             * that predate an added column go on appending) */
            c->src_of[i] = -1;
            c->out_child_ptrs[i] = &c->out_children[i];
            continue;
        }
        if (si < 0) {
            st = err_set(INFINO_ERR_INVALID,
                         "column '%s' is missing (it is not nullable)",
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

/* One integer of type `t` at `p` (little-endian host), as a signed or an
 * unsigned 64-bit value. */
static void load_int(const uint8_t *p, enum ar_type t, int64_t *sv,
                     uint64_t *uv, bool *is_unsigned)
{
    *is_unsigned = t >= AR_UINT8;
    switch (t) {
    case AR_INT8: {
        int8_t v;
        memcpy(&v, p, 1);
        *sv = v;
        return;
    }
    case AR_INT16: {
        int16_t v;
        memcpy(&v, p, 2);
        *sv = v;
        return;
    }
    case AR_INT32: {
        int32_t v;
        memcpy(&v, p, 4);
        *sv = v;
        return;
    }
    case AR_INT64:
        memcpy(sv, p, 8);
        return;
    case AR_UINT8:
        *uv = p[0];
        return;
    case AR_UINT16: {
        uint16_t v;
        memcpy(&v, p, 2);
        *uv = v;
        return;
    }
    case AR_UINT32: {
        uint32_t v;
        memcpy(&v, p, 4);
        *uv = v;
        return;
    }
    default:
        memcpy(uv, p, 8);
        return;
    }
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

/* Converts the value of type `st` at `src` to type `dt` at `dst`: both
 * integers or both floats. Returns false, leaving `dst` unspecified, when
 * the converted value would differ from the source: an integer out of the
 * target's range, a float64 with no float32 of the same value. */
static bool convert_value(uint8_t *dst, enum ar_type dt, const uint8_t *src,
                          enum ar_type st)
{
    if (is_int(dt)) {
        int64_t sv = 0;
        uint64_t uv = 0, bits;
        bool u;

        load_int(src, st, &sv, &uv, &u);
        if (!fits(dt, sv, uv, u))
            return false;
        bits = u ? uv : (uint64_t)sv; /* two's complement, low bytes */
        memcpy(dst, &bits, (size_t)ar_type_bit_width(dt) / 8);
        return true;
    }
    if (st == AR_FLOAT32) {
        float f;
        memcpy(&f, src, 4);
        if (dt == AR_FLOAT32) {
            memcpy(dst, &f, 4);
        } else {
            double d = f; /* every float32 is a float64 */
            memcpy(dst, &d, 8);
        }
        return true;
    }
    double d;
    memcpy(&d, src, 8);
    if (dt == AR_FLOAT64) {
        memcpy(dst, &d, 8);
        return true;
    }
    /* The cast rounds to nearest (C11 6.3.1.5); the value survives when
     * rounding changed nothing. NaN never compares equal but stays NaN
     * (its payload bits may not); -0.0 == 0.0, and the cast keeps the
     * sign. */
    float f = (float)d;
    memcpy(dst, &f, 4);
    return (double)f == d || isnan(d);
}

/* "-5", "18446744073709551615", "1.0000000000000001e+300": the source
 * value as an error message shows it. */
static void format_value(char *out, size_t cap, const uint8_t *src,
                         enum ar_type t)
{
    if (is_int(t)) {
        int64_t sv = 0;
        uint64_t uv = 0;
        bool u;

        load_int(src, t, &sv, &uv, &u);
        if (u)
            snprintf(out, cap, "%llu", (unsigned long long)uv);
        else
            snprintf(out, cap, "%lld", (long long)sv);
    } else if (t == AR_FLOAT32) {
        float f;
        memcpy(&f, src, 4);
        snprintf(out, cap, "%.9g", (double)f);
    } else {
        double d;
        memcpy(&d, src, 8);
        /* The shortest form that reads back as d: 1e+300, not
         * 1.0000000000000001e+300. */
        for (int prec = 15; prec <= 17; prec++) {
            snprintf(out, cap, "%.*g", prec, d);
            if (strtod(out, NULL) == d || isnan(d))
                break;
        }
    }
}

static const char *number_type_name(enum ar_type t)
{
    switch (t) {
    case AR_INT8:
        return "int8";
    case AR_INT16:
        return "int16";
    case AR_INT32:
        return "int32";
    case AR_INT64:
        return "int64";
    case AR_UINT8:
        return "uint8";
    case AR_UINT16:
        return "uint16";
    case AR_UINT32:
        return "uint32";
    case AR_UINT64:
        return "uint64";
    case AR_FLOAT32:
        return "float32";
    default:
        return "float64";
    }
}

static infino_status not_lossless(const struct ar_field *t, enum ar_type dt,
                                  int64_t row, int64_t element,
                                  const uint8_t *src, enum ar_type st)
{
    char v[48], where[48] = "";

    format_value(v, sizeof v, src, st);
    if (element >= 0)
        snprintf(where, sizeof where, ": element %lld", (long long)element);
    if (is_int(dt))
        return err_set(INFINO_ERR_INVALID,
                       "column '%s': row %lld%s: value %s does not fit in "
                       "the column's type (%s)",
                       t->name, (long long)row, where, v,
                       number_type_name(dt));
    return err_set(INFINO_ERR_INVALID,
                   "column '%s': row %lld%s: value %s is not exactly "
                   "representable as %s (appends convert only losslessly; "
                   "cast the data to %s first to round it)",
                   t->name, (long long)row, where, v, number_type_name(dt),
                   number_type_name(dt));
}

/* int -> int and float -> float, value by value (see the file header).
 * Null slots are skipped: their bytes are whatever the producer left. */
static infino_status convert_numbers(struct ArrowArray *out,
                                     const struct ar_field *t,
                                     const struct ar_field *s,
                                     const struct ArrowArray *a, int64_t row0)
{
    size_t width = (size_t)ar_type_bit_width(t->type) / 8;
    size_t src_width = (size_t)ar_type_bit_width(s->type) / 8;
    const uint8_t *src = a->buffers[1];
    uint8_t *vals = mem_calloc((size_t)a->length + 1, width);
    uint8_t *validity = NULL;
    infino_status st;

    if (vals == NULL)
        return err_nomem();
    for (int64_t i = 0; i < a->length; i++) {
        const uint8_t *p = src + (size_t)(i + a->offset) * src_width;
        if (!ar_array_is_valid(a, i))
            continue;
        if (!convert_value(vals + (size_t)i * width, t->type, p, s->type)) {
            mem_free(vals);
            return not_lossless(t, t->type, row0 + i, -1, p, s->type);
        }
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

/* A vector coordinate given as float64 into a float32 list: rounded to
 * the nearest float32 (C11 6.3.1.5), as every embedding library does, so
 * float64 embeddings append as they are. Unlike scalar float32 columns,
 * whose values must survive exactly, a coordinate is an approximation to
 * begin with; only a finite value beyond float32's range (which would
 * become infinite) is refused. */
static bool round_coordinate(uint8_t *dst, const uint8_t *src)
{
    double d;
    float f;

    memcpy(&d, src, 8);
    f = (float)d;
    memcpy(dst, &f, 4);
    return !isinf(f) || isinf(d) || isnan(d);
}

static infino_status out_of_float32(const struct ar_field *t, int64_t row,
                                    int64_t element, const uint8_t *src)
{
    char v[48];

    format_value(v, sizeof v, src, AR_FLOAT64);
    return err_set(INFINO_ERR_INVALID,
                   "column '%s': row %lld: element %lld: value %s is beyond "
                   "float32's range",
                   t->name, (long long)row, (long long)element, v);
}

/* list / large_list / fixed_size_list of numbers -> fixed_size_list of
 * the target size and element type. Every non-null slot must hold exactly
 * `n` non-null values, each converted losslessly; null slots become `n`
 * zero values behind a null bit. */
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
    bool same = ct == st_;
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
            const uint8_t *src =
                (const uint8_t *)child->buffers[1] +
                (size_t)(ci + child->offset) * (size_t)src_width;
            uint8_t *dst = vals + ((size_t)i * n + (size_t)k) * (size_t)width;
            if (same) {
                memcpy(dst, src, (size_t)width);
            } else if (ct == AR_FLOAT32 && st_ == AR_FLOAT64) {
                if (!round_coordinate(dst, src)) {
                    mem_free(vals);
                    return out_of_float32(t, row0 + i, k, src);
                }
            } else if (!convert_value(dst, ct, src, st_)) {
                mem_free(vals);
                return not_lossless(t, ct, row0 + i, k, src, st_);
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

/* ---- value checks ------------------------------------------------------ */

/* Offset k of utf8 (or large_utf8) array `a`: string k covers
 * [offset k, offset k + 1) of the data buffer. */
static int64_t str_offset(const struct ArrowArray *a, enum ar_type t,
                          int64_t k)
{
    return get_offset(a, t == AR_LARGE_UTF8, k);
}

/* Row of the first invalid string among slots [lo, hi) of utf8 array `a`,
 * all valid, or -1. One validator pass over the run's bytes; then, as a
 * valid run can hide a string cut in the middle of a character (its end
 * continued by the next string's start), no string may start with a
 * continuation byte. */
static int64_t first_bad_utf8(const struct ArrowArray *a, enum ar_type t,
                              int64_t lo, int64_t hi)
{
    const uint8_t *data = a->buffers[2];
    int64_t b = str_offset(a, t, lo), e = str_offset(a, t, hi);

    if (e == b)
        return -1;
    if (utf8_check(data + b, (size_t)(e - b)) == (size_t)(e - b)) {
        int64_t k;
        for (k = lo + 1; k < hi; k++) {
            int64_t o = str_offset(a, t, k);
            if (o < e && utf8_is_continuation(data[o]))
                break;
        }
        if (k == hi)
            return -1;
    }
    /* Rare: find the first bad string one by one. */
    for (int64_t k = lo; k < hi; k++) {
        int64_t s0 = str_offset(a, t, k), s1 = str_offset(a, t, k + 1);
        if (utf8_check(data + s0, (size_t)(s1 - s0)) != (size_t)(s1 - s0))
            return k;
    }
    return -1; /* not reached: the run holds a bad string */
}

static bool has_utf8(const struct ar_field *f)
{
    if (f->type == AR_UTF8 || f->type == AR_LARGE_UTF8)
        return true;
    for (size_t i = 0; i < f->n_children; i++)
        if (has_utf8(&f->children[i]))
            return true;
    return false;
}

/* Checks the utf8 values under valid slots [lo, hi) of `a` (field `f`,
 * nested anywhere). `row` >= 0 is the top-level row every slot belongs to;
 * -1 means slot k is row k. Sets *bad_row on the first invalid string. */
static void find_bad_utf8(const struct ar_field *f, const struct ArrowArray *a,
                          int64_t lo, int64_t hi, int64_t row,
                          int64_t *bad_row)
{
    int64_t i = lo, j;

    while (i < hi && *bad_row < 0) {
        while (i < hi && !ar_array_is_valid(a, i))
            i++;
        for (j = i; j < hi && ar_array_is_valid(a, j); j++)
            ;
        if (i == j)
            break;
        if (f->type == AR_UTF8 || f->type == AR_LARGE_UTF8) {
            int64_t k = first_bad_utf8(a, f->type, i, j);
            if (k >= 0)
                *bad_row = row >= 0 ? row : k;
        } else {
            for (int64_t k = i; k < j && *bad_row < 0; k++) {
                int64_t r = row >= 0 ? row : k;
                for (size_t c = 0; c < f->n_children && *bad_row < 0; c++) {
                    const struct ArrowArray *ch = a->children[c];
                    int64_t clo, chi;
                    if (!has_utf8(&f->children[c]))
                        continue;
                    if (f->type == AR_STRUCT) {
                        clo = a->offset + k; /* shifts its children */
                        chi = clo + 1;
                    } else if (f->type == AR_FIXED_SIZE_LIST) {
                        clo = (a->offset + k) * f->list_size;
                        chi = clo + f->list_size;
                    } else if (f->type == AR_LIST ||
                               f->type == AR_LARGE_LIST) {
                        bool large = f->type == AR_LARGE_LIST;
                        clo = get_offset(a, large, k);
                        chi = get_offset(a, large, k + 1);
                    } else {
                        continue;
                    }
                    find_bad_utf8(&f->children[c], ch, clo, chi, r, bad_row);
                }
            }
        }
        i = j;
    }
}

/* The checks on values that no conversion implies: valid UTF-8 in every
 * utf8 value, no null element in a vector (a list of floats). `a` is the
 * conformed column of field `t`. */
static infino_status check_values(const struct ar_field *t,
                                  const struct ArrowArray *a, int64_t row0)
{
    int64_t bad = -1;

    if (has_utf8(t)) {
        find_bad_utf8(t, a, 0, a->length, -1, &bad);
        if (bad >= 0)
            return err_set(INFINO_ERR_INVALID,
                           "column '%s': row %lld is not valid UTF-8",
                           t->name, (long long)(row0 + bad));
    }
    if ((t->type == AR_FIXED_SIZE_LIST || t->type == AR_LIST ||
         t->type == AR_LARGE_LIST) &&
        is_float(t->children[0].type)) {
        const struct ArrowArray *child = a->children[0];
        bool large = t->type == AR_LARGE_LIST;

        if (child->buffers[0] == NULL || child->null_count == 0)
            return INFINO_OK;
        for (int64_t i = 0; i < a->length; i++) {
            int64_t lo, hi;
            if (!ar_array_is_valid(a, i))
                continue; /* a null vector: a null value, no elements */
            if (t->type == AR_FIXED_SIZE_LIST) {
                lo = (a->offset + i) * t->list_size;
                hi = lo + t->list_size;
            } else {
                lo = get_offset(a, large, i);
                hi = get_offset(a, large, i + 1);
            }
            for (int64_t k = lo; k < hi; k++)
                if (!ar_array_is_valid(child, k))
                    return err_set(INFINO_ERR_INVALID,
                                   "column '%s': row %lld: element %lld is "
                                   "null",
                                   t->name, (long long)(row0 + i),
                                   (long long)(k - lo));
        }
    }
    return INFINO_OK;
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
    case AR_FIXED_SIZE_LIST:
        return convert_fixed_list(out, t, s, a, row0);
    default:
        if (is_int(t->type) || is_float(t->type))
            return convert_numbers(out, t, s, a, row0);
        return type_error(t, s);
    }
}

/* Conforms one column of the current batch into *out (*owned says whether
 * it holds memory of its own): decode, check nulls, convert, check
 * values. `a` is the source column with the batch's offset applied. */
static infino_status conform_column(struct ArrowArray *out, bool *owned,
                                    const struct ar_field *t,
                                    const struct ar_field *s,
                                    const struct ArrowArray *a, int64_t row0)
{
    struct ArrowArray decoded = {0}; /* owned when s is a dictionary */
    int64_t bad;
    infino_status st;

    *owned = false;
    if (s->dict != NULL) {
        CHECK(ar_dictionary_decode(&decoded, s, a));
        a = &decoded;
        s = s->dict;
    }
    /* After decoding: a valid index may name a null value. */
    if (!t->nullable && (bad = first_null(a)) >= 0) {
        st = err_set(INFINO_ERR_INVALID,
                     "column '%s': row %lld is null, but the column is not "
                     "nullable",
                     t->name, (long long)(row0 + bad));
        goto fail;
    }
    CHECK(convert(out, owned, t, s, a, row0));
    if (decoded.release != NULL) {
        if (*owned) {
            ar_array_release(&decoded);
        } else {
            *out = decoded; /* the borrowed view was of `decoded`: keep it */
            *owned = true;
        }
    }
    return check_values(t, out, row0);
fail:
    ar_array_release(&decoded);
    return st;
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
        const struct ar_field *s;
        struct ArrowArray *a, view;

        if (c->src_of[i] < 0) {
            st = tbl_null_column(&c->out_children[i], t, c->src.length);
            if (st != INFINO_OK)
                return st;
            c->child_owned[i] = true;
            continue;
        }
        s = &c->source.fields[c->src_of[i]];
        a = c->src.children[c->src_of[i]];
        /* A struct's own offset shifts its children (C interface). */
        view = *a;
        view.offset += c->src.offset;
        view.length = c->src.length;

        st = conform_column(&c->out_children[i], &c->child_owned[i], t, s,
                            &view, c->rows_before);
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
