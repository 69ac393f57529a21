/*
 * arrow_take.c - row gathering for every supported type (arrow_take.h).
 *
 * Layouts per the Arrow Columnar Format: validity bitmaps are LSB-first;
 * variable-size types keep n+1 offsets; a fixed_size_list slot i owns
 * child rows [i*size, (i+1)*size); a list slot owns [off[i], off[i+1]).
 * Lists gather their children through an index list built from those
 * ranges; fixed-size lists of fixed-width values copy whole slots.
 */
#include "arrow_take.h"

#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

static void noop(struct ArrowArray *a)
{
    a->release = NULL;
}

static bool has_nulls(const struct ArrowArray *a)
{
    return a != NULL && a->buffers[0] != NULL && a->null_count != 0;
}

/* Gathered validity (NULL when no row is null); *nulls_out counts nulls.
 * With a `mask` (an array of n rows), row i is also null where the mask
 * is: a null dictionary index. */
static infino_status take_validity(uint8_t **out, int64_t *nulls_out,
                                   const struct ArrowArray *in,
                                   const uint32_t *idx, size_t n,
                                   const struct ArrowArray *mask)
{
    bool in_nulls = has_nulls(in), mask_nulls = has_nulls(mask);
    uint8_t *bits = NULL;
    int64_t nulls = 0;

    *out = NULL;
    *nulls_out = 0;
    if (!in_nulls && !mask_nulls)
        return INFINO_OK;
    bits = mem_calloc(n / 8 + 1, 1);
    if (bits == NULL)
        return err_nomem();
    for (size_t i = 0; i < n; i++) {
        if ((!in_nulls || ar_array_is_valid(in, idx[i])) &&
            (!mask_nulls || ar_array_is_valid(mask, (int64_t)i)))
            bits[i >> 3] |= (uint8_t)(1u << (i & 7));
        else
            nulls++;
    }
    if (nulls == 0) {
        mem_free(bits);
        bits = NULL;
    }
    *out = bits;
    *nulls_out = nulls;
    return INFINO_OK;
}

static int64_t offset_at(const struct ArrowArray *a, bool large, int64_t i)
{
    i += a->offset;
    return large ? ((const int64_t *)a->buffers[1])[i]
                 : ((const int32_t *)a->buffers[1])[i];
}

static infino_status take_fixed(struct ArrowArray *out,
                                const struct ArrowArray *in, int bits_w,
                                const uint32_t *idx, size_t n, uint8_t *valid,
                                int64_t nulls)
{
    uint8_t *vals;

    if (bits_w == 1) {
        const uint8_t *src = in->buffers[1];
        vals = mem_calloc(n / 8 + 1, 1);
        if (vals == NULL) {
            mem_free(valid);
            return err_nomem();
        }
        for (size_t i = 0; i < n; i++) {
            int64_t j = (int64_t)idx[i] + in->offset;
            if ((src[j >> 3] >> (j & 7)) & 1)
                vals[i >> 3] |= (uint8_t)(1u << (i & 7));
        }
    } else {
        size_t w = (size_t)bits_w / 8;
        /* NULL when the array holds no values (C data interface): n is 0
         * then, and NULL + 0 is still undefined behaviour in C. */
        const uint8_t *src = in->buffers[1] == NULL
                                 ? NULL
                                 : (const uint8_t *)in->buffers[1] +
                                       (size_t)in->offset * w;
        vals = mem_alloc(n * w + 1);
        if (vals == NULL) {
            mem_free(valid);
            return err_nomem();
        }
        switch (w) {
        case 4:
            for (size_t i = 0; i < n; i++)
                memcpy(vals + 4 * i, src + 4 * (size_t)idx[i], 4);
            break;
        case 8:
            for (size_t i = 0; i < n; i++)
                memcpy(vals + 8 * i, src + 8 * (size_t)idx[i], 8);
            break;
        default:
            for (size_t i = 0; i < n; i++)
                memcpy(vals + w * i, src + w * (size_t)idx[i], w);
        }
    }
    void *bufs[2] = {valid, vals};
    return ar_array_make(out, (int64_t)n, nulls, 2, bufs, 0, NULL);
}

static infino_status take_binary(struct ArrowArray *out,
                                 const struct ArrowArray *in, bool large,
                                 const uint32_t *idx, size_t n, uint8_t *valid,
                                 int64_t nulls)
{
    size_t total = 0, w = large ? 8 : 4;
    const uint8_t *data = in->buffers[2];
    uint8_t *offs, *bytes;
    int64_t pos = 0;

    for (size_t i = 0; i < n; i++)
        total += (size_t)(offset_at(in, large, idx[i] + 1) -
                          offset_at(in, large, idx[i]));
    if (!large && total > INT32_MAX) {
        mem_free(valid);
        return err_set(INFINO_ERR_INVALID,
                       "gathered strings exceed 2 GiB in one array");
    }
    offs = mem_alloc((n + 1) * w);
    bytes = mem_alloc(total + 1);
    if (offs == NULL || bytes == NULL) {
        mem_free(offs);
        mem_free(bytes);
        mem_free(valid);
        return err_nomem();
    }
    for (size_t i = 0; i < n; i++) {
        int64_t a = offset_at(in, large, idx[i]);
        int64_t b = offset_at(in, large, idx[i] + 1);
        if (large)
            ((int64_t *)offs)[i] = pos;
        else
            ((int32_t *)offs)[i] = (int32_t)pos;
        if (b > a) /* empty values may come with a NULL data buffer */
            memcpy(bytes + pos, data + a, (size_t)(b - a));
        pos += b - a;
    }
    if (large)
        ((int64_t *)offs)[n] = pos;
    else
        ((int32_t *)offs)[n] = (int32_t)pos;
    void *bufs[3] = {valid, offs, bytes};
    return ar_array_make(out, (int64_t)n, nulls, 3, bufs, 0, NULL);
}

static infino_status take_lists(struct ArrowArray *out,
                                const struct ar_field *f,
                                const struct ArrowArray *in,
                                const uint32_t *idx, size_t n, uint8_t *valid,
                                int64_t nulls)
{
    bool large = f->type == AR_LARGE_LIST;
    bool fixed = f->type == AR_FIXED_SIZE_LIST;
    const struct ArrowArray *child = in->children[0];
    const struct ar_field *cf = &f->children[0];
    uint32_t *cidx = NULL;
    uint8_t *offs = NULL;
    size_t total = 0, k = 0, w = large ? 8 : 4;
    struct ArrowArray kid;
    struct ArrowArray child_view;
    infino_status st;

    /* Child rows are addressed relative to the child's own offset. */
    child_view = *child;
    child_view.release = noop;
    for (size_t i = 0; i < n; i++) {
        if (fixed)
            total += (size_t)f->list_size;
        else
            total += (size_t)(offset_at(in, large, idx[i] + 1) -
                              offset_at(in, large, idx[i]));
    }
    if (total > UINT32_MAX) {
        mem_free(valid);
        return err_set(INFINO_ERR_INVALID, "gathered list exceeds 2^32 items");
    }
    cidx = mem_alloc(total * sizeof *cidx + 1);
    if (!fixed)
        offs = mem_alloc((n + 1) * w);
    if (cidx == NULL || (!fixed && offs == NULL)) {
        mem_free(cidx);
        mem_free(offs);
        mem_free(valid);
        return err_nomem();
    }
    for (size_t i = 0; i < n; i++) {
        int64_t a, b;
        if (fixed) {
            a = ((int64_t)idx[i] + in->offset) * f->list_size;
            b = a + f->list_size;
        } else {
            a = offset_at(in, large, idx[i]);
            b = offset_at(in, large, idx[i] + 1);
            if (large)
                ((int64_t *)offs)[i] = (int64_t)k;
            else
                ((int32_t *)offs)[i] = (int32_t)k;
        }
        for (int64_t j = a; j < b; j++)
            cidx[k++] = (uint32_t)j;
    }
    if (!fixed) {
        if (large)
            ((int64_t *)offs)[n] = (int64_t)k;
        else
            ((int32_t *)offs)[n] = (int32_t)k;
    }
    st = ar_array_take(&kid, cf, &child_view, cidx, total);
    mem_free(cidx);
    if (st != INFINO_OK) {
        mem_free(offs);
        mem_free(valid);
        return st;
    }
    if (fixed) {
        void *bufs[1] = {valid};
        return ar_array_make(out, (int64_t)n, nulls, 1, bufs, 1, &kid);
    }
    void *bufs[2] = {valid, offs};
    return ar_array_make(out, (int64_t)n, nulls, 2, bufs, 1, &kid);
}

static infino_status take_struct(struct ArrowArray *out,
                                 const struct ar_field *f,
                                 const struct ArrowArray *in,
                                 const uint32_t *idx, size_t n, uint8_t *valid,
                                 int64_t nulls)
{
    struct ArrowArray *kids = mem_calloc(f->n_children + 1, sizeof *kids);
    infino_status st = INFINO_OK;
    size_t done = 0;

    if (kids == NULL) {
        mem_free(valid);
        return err_nomem();
    }
    for (; done < f->n_children; done++) {
        struct ArrowArray view = *in->children[done];
        view.offset += in->offset; /* a struct's offset shifts children */
        view.release = noop;
        st = ar_array_take(&kids[done], &f->children[done], &view, idx, n);
        if (st != INFINO_OK)
            break;
    }
    if (st != INFINO_OK) {
        for (size_t i = 0; i < done; i++)
            ar_array_release(&kids[i]);
        mem_free(kids);
        mem_free(valid);
        return st;
    }
    void *bufs[1] = {valid};
    st = ar_array_make(out, (int64_t)n, nulls, 1, bufs, (int)f->n_children,
                       kids);
    mem_free(kids);
    return st;
}

static infino_status take(struct ArrowArray *out, const struct ar_field *f,
                          const struct ArrowArray *in, const uint32_t *idx,
                          size_t n, const struct ArrowArray *mask)
{
    uint8_t *valid;
    int64_t nulls;
    infino_status st;

    memset(out, 0, sizeof *out);
    for (size_t i = 0; i < n; i++)
        if ((int64_t)idx[i] >= in->length)
            return err_set(INFINO_ERR_INVALID,
                           "column '%s': take index %u out of %lld rows",
                           f->name, idx[i], (long long)in->length);
    st = take_validity(&valid, &nulls, in, idx, n, mask);
    if (st != INFINO_OK)
        return st;
    switch (f->type) {
    case AR_UTF8:
    case AR_BINARY:
        return take_binary(out, in, false, idx, n, valid, nulls);
    case AR_LARGE_UTF8:
    case AR_LARGE_BINARY:
        return take_binary(out, in, true, idx, n, valid, nulls);
    case AR_LIST:
    case AR_LARGE_LIST:
    case AR_FIXED_SIZE_LIST:
        return take_lists(out, f, in, idx, n, valid, nulls);
    case AR_STRUCT:
        return take_struct(out, f, in, idx, n, valid, nulls);
    default:
        return take_fixed(out, in, ar_type_bit_width(f->type), idx, n, valid,
                          nulls);
    }
}

infino_status ar_array_take(struct ArrowArray *out, const struct ar_field *f,
                            const struct ArrowArray *in, const uint32_t *idx,
                            size_t n)
{
    return take(out, f, in, idx, n, NULL);
}

/* Row i of an integer array (offset applied); validated to lie in
 * [0, dictionary length) when the row is valid. */
static uint32_t index_at(const struct ArrowArray *a, enum ar_type t,
                         int64_t i)
{
    const void *p = a->buffers[1];

    i += a->offset;
    switch (t) {
    case AR_INT8:
    case AR_UINT8:
        return ((const uint8_t *)p)[i];
    case AR_INT16:
    case AR_UINT16:
        return ((const uint16_t *)p)[i];
    case AR_INT32:
    case AR_UINT32:
        return ((const uint32_t *)p)[i];
    default:
        return (uint32_t)((const uint64_t *)p)[i];
    }
}

/* n null rows of field `f`: what an empty dictionary decodes to (every
 * index is null then, as validation proved). */
static infino_status all_nulls(struct ArrowArray *out, const struct ar_field *f,
                               int64_t n)
{
    struct ar_field nf = {0};
    struct ar_builder *b = NULL;
    infino_status st;

    CHECK(ar_field_copy(&nf, f));
    nf.nullable = true;
    CHECK(ar_builder_new(&b, &nf));
    for (int64_t i = 0; i < n; i++)
        CHECK(ar_builder_append_null(b));
    CHECK(ar_builder_finish(b, out));
fail:
    ar_builder_free(b);
    ar_field_free(&nf);
    return st;
}

infino_status ar_dictionary_decode(struct ArrowArray *out,
                                   const struct ar_field *f,
                                   const struct ArrowArray *a)
{
    const struct ArrowArray *d = a->dictionary;
    uint32_t *idx;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (f->dict == NULL || d == NULL)
        return err_set(INFINO_ERR_INVALID,
                       "column '%s': not dictionary-encoded", f->name);
    if (d->length > (int64_t)UINT32_MAX)
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "column '%s': a dictionary of %lld values (at most "
                       "2^32)",
                       f->name, (long long)d->length);
    if (d->length == 0)
        return all_nulls(out, f->dict, a->length);
    idx = mem_alloc((size_t)a->length * sizeof *idx + 1);
    if (idx == NULL)
        return err_nomem();
    /* A null index may hold anything: gather value 0 behind the mask. */
    for (int64_t i = 0; i < a->length; i++)
        idx[i] = ar_array_is_valid(a, i) ? index_at(a, f->type, i) : 0;
    st = take(out, f->dict, d, idx, (size_t)a->length, a);
    mem_free(idx);
    return st;
}

infino_status ar_batch_take(struct ArrowArray *out, const struct ar_schema *s,
                            const struct ArrowArray *in, const uint32_t *idx,
                            size_t n)
{
    struct ar_field root = {0};

    root.name = (char *)"";
    root.type = AR_STRUCT;
    root.n_children = s->n_fields;
    root.children = s->fields;
    return ar_array_take(out, &root, in, idx, n);
}
