/*
 * arrow_array.c - validating foreign ArrowArrays and making our own.
 *
 * Spec: "The Arrow C data interface" (ArrowArray members, release and move
 * semantics) and "Arrow Columnar Format" (buffer layouts per type). The C
 * interface carries no buffer sizes, so validation proves the weaker but
 * sufficient property: every index that the lengths, offsets and list
 * sizes imply stays inside what the producer promised to provide.
 */
#include "arrow_int.h"

#include "util/alloc.h"
#include "util/compat.h"
#include "util/endian.h"
#include "util/err.h"

#include <stdarg.h>
#include <string.h>

/* ---- bit helpers ------------------------------------------------------ */

static inline bool bit_get(const uint8_t *bits, int64_t i)
{
    return (bits[i >> 3] >> (i & 7)) & 1;
}

/* Number of zero bits in [lo, hi). */
static int64_t count_zeros(const uint8_t *bits, int64_t lo, int64_t hi)
{
    int64_t ones = 0, i = lo;

    while (i < hi && (i & 7) != 0)
        ones += bit_get(bits, i++);
    while (hi - i >= 64) {
        ones += __builtin_popcountll(load_u64le(bits + (i >> 3)));
        i += 64;
    }
    while (hi - i >= 8) {
        ones += __builtin_popcount(bits[i >> 3]);
        i += 8;
    }
    while (i < hi)
        ones += bit_get(bits, i++);
    return (hi - lo) - ones;
}

/* Index of the first zero bit in [lo, hi), or -1. */
static int64_t first_zero(const uint8_t *bits, int64_t lo, int64_t hi)
{
    int64_t i = lo;

    while (i < hi && (i & 7) != 0) {
        if (!bit_get(bits, i))
            return i;
        i++;
    }
    while (hi - i >= 8 && bits[i >> 3] == 0xff)
        i += 8;
    for (; i < hi; i++) {
        if (!bit_get(bits, i))
            return i;
    }
    return -1;
}

/* ---- errors ----------------------------------------------------------- */

/* INFINO_ERR_INVALID with "column 'a.b': <detail>" ("batch: ..." at the
 * root of a record batch). */
static infino_status bad(const struct ar_path *path, const char *fmt, ...)
    ERR_PRINTF(2, 3);
static infino_status bad(const struct ar_path *path, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    err_setv(INFINO_ERR_INVALID, fmt, ap);
    va_end(ap);
    if (path->len == 0)
        return err_context(INFINO_ERR_INVALID, "batch");
    return err_context(INFINO_ERR_INVALID, "column '%s'", path->s);
}

/* ---- structural validation -------------------------------------------- */

static int64_t load_offset(const void *buf, bool wide, int64_t i)
{
    const uint8_t *p = buf;
    if (wide)
        return (int64_t)load_u64le(p + (size_t)i * 8);
    return (int32_t)load_u32le(p + (size_t)i * 4);
}

/* Checks the length+1 offsets of slots [offset, offset+length): first one
 * non-negative, none decreasing. Sets *first and *last. */
static infino_status check_offsets(const struct ArrowArray *a, bool wide,
                                   const struct ar_path *path, int64_t *first,
                                   int64_t *last)
{
    const void *o = a->buffers[1];
    int64_t prev, v;

    if (o == NULL)
        return bad(path, "offsets buffer is NULL");
    prev = load_offset(o, wide, a->offset);
    if (prev < 0)
        return bad(path, "first offset %lld is negative", (long long)prev);
    *first = prev;
    for (int64_t i = 1; i <= a->length; i++) {
        v = load_offset(o, wide, a->offset + i);
        if (v < prev)
            return bad(path, "offsets decrease at row %lld (%lld after %lld)",
                       (long long)(i - 1), (long long)v, (long long)prev);
        prev = v;
    }
    *last = prev;
    return INFINO_OK;
}

static infino_status check_node(const struct ar_field *f,
                                const struct ArrowArray *a,
                                struct ar_path *path, int depth);

static infino_status check_children(const struct ar_field *f,
                                    const struct ArrowArray *a,
                                    struct ar_path *path, int depth)
{
    infino_status st = INFINO_OK;

    for (size_t i = 0; i < f->n_children && st == INFINO_OK; i++) {
        size_t mark = ar_path_push(path, f->children[i].name, i);
        st = check_node(&f->children[i], a->children[i], path, depth + 1);
        ar_path_pop(path, mark);
    }
    return st;
}

/* Type-specific rules, after the generic ones passed. */
static infino_status check_layout(const struct ar_field *f,
                                  const struct ArrowArray *a,
                                  const struct ar_path *path)
{
    int64_t end = a->offset + a->length; /* no overflow: checked */
    int64_t first, last, need;
    infino_status st;

    switch (f->type) {
    case AR_UTF8:
    case AR_BINARY:
    case AR_LARGE_UTF8:
    case AR_LARGE_BINARY:
        if (a->length == 0)
            return INFINO_OK;
        st = check_offsets(a, f->type == AR_LARGE_UTF8 ||
                                  f->type == AR_LARGE_BINARY,
                           path, &first, &last);
        if (st != INFINO_OK)
            return st;
        /* C data interface: a buffer may be NULL only when its size would
         * be 0; the data buffer's size is the last offset. */
        if (a->buffers[2] == NULL && last > 0)
            return bad(path, "data buffer is NULL");
        return INFINO_OK;
    case AR_LIST:
    case AR_LARGE_LIST:
        if (a->length == 0)
            return INFINO_OK;
        st = check_offsets(a, f->type == AR_LARGE_LIST, path, &first, &last);
        if (st != INFINO_OK)
            return st;
        if (last > a->children[0]->length)
            return bad(path, "last offset %lld > child length %lld",
                       (long long)last, (long long)a->children[0]->length);
        return INFINO_OK;
    case AR_FIXED_SIZE_LIST:
        if (__builtin_mul_overflow(end, (int64_t)f->list_size, &need))
            return bad(path, "%lld x %d values overflow", (long long)end,
                       (int)f->list_size);
        if (a->children[0]->length < need)
            return bad(path, "child length %lld < %lld x %d",
                       (long long)a->children[0]->length, (long long)end,
                       (int)f->list_size);
        return INFINO_OK;
    case AR_STRUCT:
        for (size_t i = 0; i < f->n_children; i++) {
            if (a->children[i]->length < end)
                return bad(path, "child '%s' length %lld < %lld",
                           f->children[i].name,
                           (long long)a->children[i]->length, (long long)end);
        }
        return INFINO_OK;
    default:
        /* Fixed-width values: NULL only when the buffer would be empty. */
        if (end > 0 && a->buffers[1] == NULL)
            return bad(path, "values buffer is NULL");
        return INFINO_OK;
    }
}

static infino_status check_nulls(const struct ar_field *f,
                                 const struct ArrowArray *a, int64_t lo,
                                 int64_t hi, struct ar_path *path);

/* Index i (offset applied) of an integer array of type t; false when it
 * does not fit in int64 (uint64 above 2^63-1). */
static bool load_index(const void *p, enum ar_type t, int64_t i, int64_t *out)
{
    uint64_t u;

    switch (t) {
    case AR_INT8:
        *out = ((const int8_t *)p)[i];
        return true;
    case AR_INT16:
        *out = (int16_t)load_u16le((const uint8_t *)p + 2 * (size_t)i);
        return true;
    case AR_INT32:
        *out = (int32_t)load_u32le((const uint8_t *)p + 4 * (size_t)i);
        return true;
    case AR_INT64:
        *out = (int64_t)load_u64le((const uint8_t *)p + 8 * (size_t)i);
        return true;
    case AR_UINT8:
        *out = ((const uint8_t *)p)[i];
        return true;
    case AR_UINT16:
        *out = load_u16le((const uint8_t *)p + 2 * (size_t)i);
        return true;
    case AR_UINT32:
        *out = load_u32le((const uint8_t *)p + 4 * (size_t)i);
        return true;
    default:
        u = load_u64le((const uint8_t *)p + 8 * (size_t)i);
        *out = (int64_t)u;
        return u <= INT64_MAX;
    }
}

/* The dictionary of a dictionary-encoded array: well-formed for f->dict,
 * and every index under a valid slot names one of its values (the index
 * type's own layout was checked as for any integer array). */
static infino_status check_dictionary(const struct ar_field *f,
                                      const struct ArrowArray *a,
                                      struct ar_path *path, int depth)
{
    const struct ArrowArray *d = a->dictionary;
    size_t mark = ar_path_push(path, "dictionary", 0);
    infino_status st;
    int64_t v;

    st = check_node(f->dict, d, path, depth + 1);
    if (st == INFINO_OK)
        st = check_nulls(f->dict, d, 0, d->length, path);
    ar_path_pop(path, mark);
    if (st != INFINO_OK)
        return st;
    for (int64_t i = 0; i < a->length; i++) {
        if (a->buffers[0] != NULL && !bit_get(a->buffers[0], a->offset + i))
            continue;
        if (!load_index(a->buffers[1], f->type, a->offset + i, &v))
            return bad(path, "row %lld: dictionary index above 2^63-1",
                       (long long)i);
        if (v < 0 || v >= d->length)
            return bad(path,
                       "row %lld: dictionary index %lld is out of range "
                       "(the dictionary has %lld values)",
                       (long long)i, (long long)v, (long long)d->length);
    }
    return INFINO_OK;
}

static infino_status check_node(const struct ar_field *f,
                                const struct ArrowArray *a,
                                struct ar_path *path, int depth)
{
    int n_buffers = ar_type_n_buffers(f->type);
    int want_children = ar_type_n_children(f->type);
    const uint8_t *bitmap;
    infino_status st;

    if (depth > AR_MAX_DEPTH)
        return bad(path, "nested deeper than %d", AR_MAX_DEPTH);
    if (a == NULL)
        return bad(path, "array is NULL");
    if (a->release == NULL)
        return bad(path, "array is released");
    if (a->length < 0 || a->offset < 0 || a->length > INT64_MAX - a->offset)
        return bad(path, "bad length %lld / offset %lld",
                   (long long)a->length, (long long)a->offset);
    if (a->null_count < -1 || a->null_count > a->length)
        return bad(path, "null_count %lld out of range for length %lld",
                   (long long)a->null_count, (long long)a->length);
    if (f->dict == NULL && a->dictionary != NULL)
        return bad(path, "unexpected dictionary for %s",
                   ar_type_name(f->type));
    if (f->dict != NULL && a->dictionary == NULL)
        return bad(path, "dictionary-encoded, but the array has no "
                         "dictionary");
    if (a->n_buffers != n_buffers)
        return bad(path, "%lld buffers, %s has %d", (long long)a->n_buffers,
                   ar_type_name(f->type), n_buffers);
    if (a->buffers == NULL)
        return bad(path, "buffers is NULL");
    if (want_children < 0)
        want_children = (int)MIN(f->n_children, (size_t)INT32_MAX);
    if (a->n_children != want_children ||
        f->n_children != (size_t)want_children)
        return bad(path, "%lld children, %s has %d", (long long)a->n_children,
                   ar_type_name(f->type), want_children);
    if (a->n_children > 0 && a->children == NULL)
        return bad(path, "children is NULL");
    for (int64_t i = 0; i < a->n_children; i++) {
        if (a->children[i] == NULL)
            return bad(path, "child %lld is NULL", (long long)i);
    }

    /* C data interface: the validity buffer may be NULL only when the
     * array has no nulls. A given null_count must match the bitmap. */
    bitmap = a->buffers[0];
    if (bitmap == NULL) {
        if (a->null_count > 0)
            return bad(path, "null_count %lld without a validity bitmap",
                       (long long)a->null_count);
    } else if (a->length > 0) {
        int64_t nulls =
            count_zeros(bitmap, a->offset, a->offset + a->length);
        if (a->null_count >= 0 && a->null_count != nulls)
            return bad(path, "null_count %lld but the bitmap has %lld nulls",
                       (long long)a->null_count, (long long)nulls);
    }

    st = check_layout(f, a, path);
    if (st != INFINO_OK)
        return st;
    st = check_children(f, a, path, depth);
    if (st != INFINO_OK || f->dict == NULL)
        return st;
    return check_dictionary(f, a, path, depth);
}

/* ---- nullability ------------------------------------------------------ */

/* True when `f` or a descendant is declared non-nullable. */
static bool has_required(const struct ar_field *f)
{
    if (!f->nullable)
        return true;
    for (size_t i = 0; i < f->n_children; i++) {
        if (has_required(&f->children[i]))
            return true;
    }
    return false;
}

static infino_status check_nulls(const struct ar_field *f,
                                 const struct ArrowArray *a, int64_t lo,
                                 int64_t hi, struct ar_path *path);

/* Descends into the children of slots [lo, hi) of `a`, all valid. */
static infino_status descend(const struct ar_field *f,
                             const struct ArrowArray *a, int64_t lo,
                             int64_t hi, struct ar_path *path)
{
    int64_t clo, chi;
    infino_status st = INFINO_OK;

    switch (f->type) {
    case AR_LIST:
    case AR_LARGE_LIST:
        clo = load_offset(a->buffers[1], f->type == AR_LARGE_LIST,
                          a->offset + lo);
        chi = load_offset(a->buffers[1], f->type == AR_LARGE_LIST,
                          a->offset + hi);
        break;
    case AR_FIXED_SIZE_LIST:
        clo = (a->offset + lo) * f->list_size; /* bounded: validated */
        chi = (a->offset + hi) * f->list_size;
        break;
    case AR_STRUCT:
        clo = a->offset + lo;
        chi = a->offset + hi;
        break;
    default:
        return INFINO_OK;
    }
    for (size_t i = 0; i < f->n_children && st == INFINO_OK; i++) {
        size_t mark = ar_path_push(path, f->children[i].name, i);
        st = check_nulls(&f->children[i], a->children[i], clo, chi, path);
        ar_path_pop(path, mark);
    }
    return st;
}

/* Arrow nullability applies where the parent slot is valid: pyarrow, for
 * one, puts nulls into a non-nullable child under a null parent slot. So
 * only positions reachable through valid slots are checked. */
static infino_status check_nulls(const struct ar_field *f,
                                 const struct ArrowArray *a, int64_t lo,
                                 int64_t hi, struct ar_path *path)
{
    const uint8_t *bitmap = a->buffers[0];
    int64_t i = lo, j;
    infino_status st;

    if (lo >= hi || !has_required(f))
        return INFINO_OK;
    if (!f->nullable && bitmap != NULL) {
        int64_t k = first_zero(bitmap, a->offset + lo, a->offset + hi);
        if (k >= 0)
            return bad(path, "non-nullable, but row %lld is null",
                       (long long)(k - a->offset));
    }
    if (f->n_children == 0)
        return INFINO_OK;
    if (bitmap == NULL || !f->nullable)
        return descend(f, a, lo, hi, path);
    while (i < hi) {
        while (i < hi && !bit_get(bitmap, a->offset + i))
            i++;
        j = i;
        while (j < hi && bit_get(bitmap, a->offset + j))
            j++;
        if (i < j) {
            st = descend(f, a, i, j, path);
            if (st != INFINO_OK)
                return st;
        }
        i = j;
    }
    return INFINO_OK;
}

/* ---- entry points ----------------------------------------------------- */

infino_status ar_array_validate(const struct ar_field *f,
                                const struct ArrowArray *a)
{
    struct ar_path path = {0};
    infino_status st;

    ar_path_push(&path, f->name, 0);
    st = check_node(f, a, &path, 0);
    if (st == INFINO_OK)
        st = check_nulls(f, a, 0, a->length, &path);
    return st;
}

infino_status ar_batch_validate(const struct ar_schema *s,
                                const struct ArrowArray *batch)
{
    static char empty[1];
    struct ar_path path = {0};
    struct ar_field root = {0};
    infino_status st;

    /* C data interface, "Record batches": a struct array whose children are
     * the columns. A record batch has no null rows. */
    root.name = empty;
    root.type = AR_STRUCT;
    root.nullable = true; /* the bitmap is checked just below instead */
    root.n_children = s->n_fields;
    root.children = s->fields;
    st = check_node(&root, batch, &path, 0);
    if (st != INFINO_OK)
        return st;
    if (batch->buffers[0] != NULL && batch->length > 0 &&
        count_zeros(batch->buffers[0], batch->offset,
                    batch->offset + batch->length) > 0)
        return bad(&path, "record batch has null rows");
    return check_nulls(&root, batch, 0, batch->length, &path);
}

/* ---- arrays we own ---------------------------------------------------- */

/* private_data of arrays made by ar_array_make(): one allocation holding
 * the buffer pointers, the child pointers and the child structs. It never
 * points into the ArrowArray, so consumers may move it. */
struct owned_array {
    int64_t n_buffers;
    int64_t n_children;
    void **buffers;                  /* each owned (mem_alloc) */
    struct ArrowArray **child_ptrs;  /* point into `children` */
    struct ArrowArray *children;     /* moved in; released by us */
};

static void release_array(struct ArrowArray *a)
{
    struct owned_array *o;

    if (a == NULL || a->release == NULL)
        return;
    o = a->private_data;
    for (int64_t i = 0; i < o->n_children; i++) {
        /* A consumer may have moved a child out (release == NULL). */
        if (o->children[i].release != NULL)
            o->children[i].release(&o->children[i]);
    }
    for (int64_t i = 0; i < o->n_buffers; i++)
        mem_free(o->buffers[i]);
    mem_free(o);
    a->private_data = NULL;
    a->release = NULL;
}

void ar_array_release(struct ArrowArray *a)
{
    if (a != NULL && a->release != NULL)
        a->release(a);
    if (a != NULL)
        a->release = NULL;
}

infino_status ar_array_make(struct ArrowArray *out, int64_t length,
                            int64_t null_count, int n_buffers, void **buffers,
                            int n_children, struct ArrowArray *children)
{
    struct owned_array *o = NULL;
    size_t size, nb = n_buffers > 0 ? (size_t)n_buffers : 0,
                 nc = n_children > 0 ? (size_t)n_children : 0;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (length < 0 || null_count < -1 || null_count > length ||
        n_buffers < 0 || n_children < 0 ||
        (n_buffers > 0 && buffers == NULL) ||
        (n_children > 0 && children == NULL)) {
        st = err_set(INFINO_ERR_INVALID,
                     "ar_array_make: bad length %lld / null_count %lld / "
                     "%d buffers / %d children",
                     (long long)length, (long long)null_count, n_buffers,
                     n_children);
        goto fail;
    }
    /* All three trailing arrays hold pointer-aligned members. */
    size = sizeof *o + nb * sizeof(void *) + nc * sizeof(struct ArrowArray *) +
           nc * sizeof(struct ArrowArray);
    o = mem_alloc(size);
    if (o == NULL) {
        st = err_nomem();
        goto fail;
    }
    o->n_buffers = (int64_t)nb;
    o->n_children = (int64_t)nc;
    o->buffers = (void **)(o + 1);
    o->child_ptrs = (struct ArrowArray **)(o->buffers + nb);
    o->children = (struct ArrowArray *)(o->child_ptrs + nc);
    for (size_t i = 0; i < nb; i++)
        o->buffers[i] = buffers[i];
    for (size_t i = 0; i < nc; i++) {
        o->children[i] = children[i]; /* move: the source is dead now */
        children[i].release = NULL;
        o->child_ptrs[i] = &o->children[i];
    }
    out->length = length;
    out->null_count = null_count;
    out->offset = 0;
    out->n_buffers = (int64_t)nb;
    out->n_children = (int64_t)nc;
    out->buffers = (const void **)o->buffers;
    out->children = o->child_ptrs;
    out->dictionary = NULL;
    out->release = release_array;
    out->private_data = o;
    return INFINO_OK;
fail:
    /* Takes the buffers and moves the children even on failure. */
    for (size_t i = 0; buffers != NULL && i < nb; i++)
        mem_free(buffers[i]);
    for (size_t i = 0; children != NULL && i < nc; i++)
        ar_array_release(&children[i]);
    return st;
}
