/*
 * arrow_append.c - copying one cell of an array into a builder.
 */
#include "arrow_take.h"

#include "util/err.h"

static int64_t offset_at(const struct ArrowArray *a, bool large, int64_t i)
{
    return large ? ((const int64_t *)a->buffers[1])[i]
                 : ((const int32_t *)a->buffers[1])[i];
}

infino_status ar_builder_append_from(struct ar_builder *b,
                                     const struct ar_field *f,
                                     const struct ArrowArray *a, int64_t row)
{
    int64_t j = row + a->offset;
    const void *v = a->buffers[1];
    infino_status st;

    if (!ar_array_is_valid(a, row))
        return ar_builder_append_null(b);
    switch (f->type) {
    case AR_BOOL:
        return ar_builder_append_bool(
            b, (((const uint8_t *)v)[j >> 3] >> (j & 7)) & 1);
    case AR_INT8:
        return ar_builder_append_int(b, ((const int8_t *)v)[j]);
    case AR_INT16:
        return ar_builder_append_int(b, ((const int16_t *)v)[j]);
    case AR_INT32:
    case AR_DATE32:
        return ar_builder_append_int(b, ((const int32_t *)v)[j]);
    case AR_INT64:
    case AR_TIMESTAMP:
        return ar_builder_append_int(b, ((const int64_t *)v)[j]);
    case AR_UINT8:
        return ar_builder_append_uint(b, ((const uint8_t *)v)[j]);
    case AR_UINT16:
        return ar_builder_append_uint(b, ((const uint16_t *)v)[j]);
    case AR_UINT32:
        return ar_builder_append_uint(b, ((const uint32_t *)v)[j]);
    case AR_UINT64:
        return ar_builder_append_uint(b, ((const uint64_t *)v)[j]);
    case AR_FLOAT32:
        return ar_builder_append_double(b, ((const float *)v)[j]);
    case AR_FLOAT64:
        return ar_builder_append_double(b, ((const double *)v)[j]);
    case AR_DECIMAL128:
        return ar_builder_append_decimal(b, (const uint8_t *)v + 16 * j);
    case AR_UTF8:
    case AR_LARGE_UTF8:
    case AR_BINARY:
    case AR_LARGE_BINARY: {
        bool large = f->type == AR_LARGE_UTF8 || f->type == AR_LARGE_BINARY;
        int64_t s = offset_at(a, large, j), e = offset_at(a, large, j + 1);
        return ar_builder_append_bytes(b, (const uint8_t *)a->buffers[2] + s,
                                       (size_t)(e - s));
    }
    case AR_FIXED_SIZE_LIST:
    case AR_LIST:
    case AR_LARGE_LIST: {
        struct ar_builder *kid = ar_builder_child(b, 0);
        int64_t s, e;
        if (f->type == AR_FIXED_SIZE_LIST) {
            s = j * f->list_size;
            e = s + f->list_size;
        } else {
            bool large = f->type == AR_LARGE_LIST;
            s = offset_at(a, large, j);
            e = offset_at(a, large, j + 1);
        }
        for (int64_t k = s; k < e; k++) {
            st = ar_builder_append_from(kid, &f->children[0], a->children[0], k);
            if (st != INFINO_OK)
                return st;
        }
        return ar_builder_end_list(b);
    }
    case AR_STRUCT:
        for (size_t c = 0; c < f->n_children; c++) {
            st = ar_builder_append_from(ar_builder_child(b, c), &f->children[c],
                                        a->children[c], j);
            if (st != INFINO_OK)
                return st;
        }
        return ar_builder_end_struct(b);
    }
    return err_set(INFINO_ERR_UNSUPPORTED, "column '%s': cannot copy values",
                   f->name);
}
