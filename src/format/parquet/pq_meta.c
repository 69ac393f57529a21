/*
 * pq_meta.c - FileMetaData and PageHeader to and from Thrift (see
 * pq_meta.h). Field ids and required-ness follow parquet.thrift
 * (apache/parquet-format); each decoder records the ids it saw so that a
 * missing required field is reported, and skips the ids it does not know.
 */
#include "pq_meta.h"

#include "pq_thrift.h"
#include "util/err.h"

#include <string.h>

/* ---- decoding --------------------------------------------------------- */

struct dec {
    struct pq_tr r;
    struct arena *a; /* NULL for page headers, which hold no lists */
};

#define BIT(id) (1u << (id))

static infino_status missing(const char *what, uint32_t seen, uint32_t req)
{
    uint32_t lack = req & ~seen;
    int id = 0;

    while (!(lack & 1u)) {
        lack >>= 1;
        id++;
    }
    return err_set(INFINO_ERR_CORRUPT, "%s: missing required field %d", what,
                   id);
}

static infino_status check_required(const char *what, uint32_t seen,
                                    uint32_t req)
{
    return (seen & req) == req ? INFINO_OK : missing(what, seen, req);
}

/* An i32 holding an enum value in [0, max]. */
static infino_status read_enum(struct dec *d, uint8_t type, int32_t max,
                               int32_t *out)
{
    infino_status st = pq_tr_i32(&d->r, type, out);

    if (st == INFINO_OK && (*out < 0 || *out > max))
        st = err_set(INFINO_ERR_CORRUPT, "enum value %d out of range",
                     (int)*out);
    return st;
}

static infino_status read_bytes(struct dec *d, uint8_t type,
                                struct pq_bytes *out)
{
    return pq_tr_binary(&d->r, type, &out->p, &out->len);
}

/* Checks that a field holds a struct, then skips it: for empty marker
 * structs such as StringType and MilliSeconds. */
static infino_status skip_struct(struct dec *d, uint8_t type)
{
    infino_status st = type == PQ_T_STRUCT
                           ? INFINO_OK
                           : err_set(INFINO_ERR_CORRUPT,
                                     "thrift: wire type %u where a struct "
                                     "was expected at byte %zu",
                                     type, pq_tr_offset(&d->r));
    return st != INFINO_OK ? st : pq_tr_skip(&d->r, type);
}

/* Opens a struct-valued field. */
static infino_status begin_struct(struct dec *d, uint8_t type)
{
    if (type != PQ_T_STRUCT)
        return err_set(INFINO_ERR_CORRUPT,
                       "thrift: wire type %u where a struct was expected "
                       "at byte %zu",
                       type, pq_tr_offset(&d->r));
    return pq_tr_struct_begin(&d->r);
}

static void *alloc_array(struct dec *d, size_t n, size_t size)
{
    return arena_calloc(d->a, n, size);
}

static infino_status decode_stats(struct dec *d, struct pq_stats *out)
{
    struct pq_tfield f;
    infino_status st;

    memset(out, 0, sizeof *out);
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        switch (f.id) {
        case 1:
            CHECK(read_bytes(d, f.type, &out->max));
            break;
        case 2:
            CHECK(read_bytes(d, f.type, &out->min));
            break;
        case 3:
            CHECK(pq_tr_i64(&d->r, f.type, &out->null_count));
            out->has_null_count = true;
            break;
        case 4:
            CHECK(pq_tr_i64(&d->r, f.type, &out->distinct_count));
            out->has_distinct_count = true;
            break;
        case 5:
            CHECK(read_bytes(d, f.type, &out->max_value));
            break;
        case 6:
            CHECK(read_bytes(d, f.type, &out->min_value));
            break;
        case 7:
            CHECK(pq_tr_field_bool(&d->r, &f, &out->is_max_value_exact));
            out->has_is_max_value_exact = true;
            break;
        case 8:
            CHECK(pq_tr_field_bool(&d->r, &f, &out->is_min_value_exact));
            out->has_is_min_value_exact = true;
            break;
        case 9:
            CHECK(pq_tr_i64(&d->r, f.type, &out->nan_count));
            out->has_nan_count = true;
            break;
        default:
            CHECK(pq_tr_skip(&d->r, f.type));
            break;
        }
    }
    return INFINO_OK;
fail:
    return err_context(st, "Statistics");
}

/* TimeUnit union: one empty struct whose id is the unit; an unknown unit
 * yields 0. */
static infino_status decode_time_unit(struct dec *d, int *unit_out)
{
    struct pq_tfield f;
    infino_status st;

    *unit_out = 0;
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        CHECK(skip_struct(d, f.type));
        *unit_out = (f.id >= PQ_MILLIS && f.id <= PQ_NANOS) ? f.id : 0;
    }
    return INFINO_OK;
fail:
    return err_context(st, "TimeUnit");
}

/* TimestampType and TimeType: {1: bool isAdjustedToUTC, 2: TimeUnit}. */
static infino_status decode_time_type(struct dec *d, struct pq_logical *out)
{
    struct pq_tfield f;
    uint32_t seen = 0;
    int unit = 0;
    infino_status st;

    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        if (f.id == 1) {
            CHECK(pq_tr_field_bool(&d->r, &f, &out->utc));
        } else if (f.id == 2) {
            CHECK(begin_struct(d, f.type));
            CHECK(decode_time_unit(d, &unit));
        } else {
            CHECK(pq_tr_skip(&d->r, f.type));
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    CHECK(check_required("TimeType", seen, BIT(1) | BIT(2)));
    if (unit == 0)
        out->kind = PQ_LT_OTHER; /* a unit from the future */
    else
        out->unit = (enum pq_time_unit)unit;
    return INFINO_OK;
fail:
    return st;
}

static infino_status decode_decimal_type(struct dec *d, struct pq_logical *out)
{
    struct pq_tfield f;
    uint32_t seen = 0;
    infino_status st;

    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        if (f.id == 1)
            CHECK(pq_tr_i32(&d->r, f.type, &out->scale));
        else if (f.id == 2)
            CHECK(pq_tr_i32(&d->r, f.type, &out->precision));
        else
            CHECK(pq_tr_skip(&d->r, f.type));
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    return check_required("DecimalType", seen, BIT(1) | BIT(2));
fail:
    return st;
}

static infino_status decode_int_type(struct dec *d, struct pq_logical *out)
{
    struct pq_tfield f;
    uint32_t seen = 0;
    infino_status st;

    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        if (f.id == 1)
            CHECK(pq_tr_i8(&d->r, f.type, &out->bit_width));
        else if (f.id == 2)
            CHECK(pq_tr_field_bool(&d->r, &f, &out->is_signed));
        else
            CHECK(pq_tr_skip(&d->r, f.type));
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    return check_required("IntType", seen, BIT(1) | BIT(2));
fail:
    return st;
}

/* LogicalType union. Members we do not know become PQ_LT_OTHER. */
static infino_status decode_logical(struct dec *d, struct pq_logical *out)
{
    struct pq_tfield f;
    infino_status st;

    memset(out, 0, sizeof *out);
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        memset(out, 0, sizeof *out); /* the last member wins */
        switch (f.id) {
        case PQ_LT_DECIMAL:
            out->kind = PQ_LT_DECIMAL;
            CHECK(begin_struct(d, f.type));
            CHECK(decode_decimal_type(d, out));
            break;
        case PQ_LT_TIME:
        case PQ_LT_TIMESTAMP:
            out->kind = f.id;
            CHECK(begin_struct(d, f.type));
            CHECK(decode_time_type(d, out));
            break;
        case PQ_LT_INTEGER:
            out->kind = PQ_LT_INTEGER;
            CHECK(begin_struct(d, f.type));
            CHECK(decode_int_type(d, out));
            break;
        case PQ_LT_STRING:
        case PQ_LT_MAP:
        case PQ_LT_LIST:
        case PQ_LT_ENUM:
        case PQ_LT_DATE:
        case PQ_LT_UNKNOWN:
        case PQ_LT_JSON:
        case PQ_LT_BSON:
        case PQ_LT_UUID:
        case PQ_LT_FLOAT16:
            out->kind = f.id;
            CHECK(skip_struct(d, f.type));
            break;
        default:
            out->kind = PQ_LT_OTHER;
            CHECK(pq_tr_skip(&d->r, f.type));
            break;
        }
    }
    return INFINO_OK;
fail:
    return err_context(st, "LogicalType");
}

static infino_status decode_schema_elem(struct dec *d,
                                        struct pq_schema_elem *out)
{
    struct pq_tfield f;
    uint32_t seen = 0;
    int32_t v;
    infino_status st;

    memset(out, 0, sizeof *out);
    out->converted = PQ_CT_NONE;
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        switch (f.id) {
        case 1:
            CHECK(read_enum(d, f.type, PQ_FIXED_LEN_BYTE_ARRAY, &v));
            out->type = (enum pq_type)v;
            out->has_type = true;
            break;
        case 2:
            CHECK(pq_tr_i32(&d->r, f.type, &out->type_length));
            out->has_type_length = true;
            break;
        case 3:
            CHECK(read_enum(d, f.type, PQ_REPEATED, &v));
            out->repetition = (enum pq_repetition)v;
            out->has_repetition = true;
            break;
        case 4:
            CHECK(read_bytes(d, f.type, &out->name));
            break;
        case 5:
            CHECK(pq_tr_i32(&d->r, f.type, &out->num_children));
            out->has_num_children = true;
            break;
        case 6:
            CHECK(read_enum(d, f.type, INT32_MAX, &out->converted));
            break;
        case 7:
            CHECK(pq_tr_i32(&d->r, f.type, &out->scale));
            out->has_scale = true;
            break;
        case 8:
            CHECK(pq_tr_i32(&d->r, f.type, &out->precision));
            out->has_precision = true;
            break;
        case 9:
            CHECK(pq_tr_i32(&d->r, f.type, &out->field_id));
            out->has_field_id = true;
            break;
        case 10:
            CHECK(begin_struct(d, f.type));
            CHECK(decode_logical(d, &out->logical));
            break;
        default:
            CHECK(pq_tr_skip(&d->r, f.type));
            break;
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    CHECK(check_required("SchemaElement", seen, BIT(4)));
    return INFINO_OK;
fail:
    return st;
}

static infino_status decode_kv(struct dec *d, struct pq_kv *out)
{
    struct pq_tfield f;
    uint32_t seen = 0;
    infino_status st;

    memset(out, 0, sizeof *out);
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        if (f.id == 1)
            CHECK(read_bytes(d, f.type, &out->key));
        else if (f.id == 2)
            CHECK(read_bytes(d, f.type, &out->value));
        else
            CHECK(pq_tr_skip(&d->r, f.type));
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    return check_required("KeyValue", seen, BIT(1));
fail:
    return st;
}

static infino_status decode_kv_list(struct dec *d, uint8_t type,
                                    struct pq_kv **out, size_t *n_out)
{
    uint32_t n;
    infino_status st;

    CHECK(pq_tr_list(&d->r, type, PQ_T_STRUCT, &n));
    *out = alloc_array(d, n, sizeof **out);
    if (*out == NULL)
        return err_nomem();
    *n_out = n;
    for (uint32_t i = 0; i < n; i++) {
        CHECK(pq_tr_struct_begin(&d->r));
        CHECK(decode_kv(d, &(*out)[i]));
    }
    return INFINO_OK;
fail:
    return err_context(st, "key_value_metadata");
}

static infino_status decode_encoding_stats(struct dec *d,
                                           struct pq_page_encoding_stats *out)
{
    struct pq_tfield f;
    uint32_t seen = 0;
    int32_t v;
    infino_status st;

    memset(out, 0, sizeof *out);
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        if (f.id == 1) {
            CHECK(read_enum(d, f.type, INT32_MAX, &v));
            out->page_type = (enum pq_page_type)v;
        } else if (f.id == 2) {
            CHECK(read_enum(d, f.type, INT32_MAX, &v));
            out->encoding = (enum pq_encoding)v;
        } else if (f.id == 3) {
            CHECK(pq_tr_i32(&d->r, f.type, &out->count));
        } else {
            CHECK(pq_tr_skip(&d->r, f.type));
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    return check_required("PageEncodingStats", seen, BIT(1) | BIT(2) | BIT(3));
fail:
    return st;
}

static infino_status decode_column_meta(struct dec *d,
                                        struct pq_column_meta *out)
{
    struct pq_tfield f;
    uint32_t seen = 0, n;
    int32_t v;
    infino_status st;

    memset(out, 0, sizeof *out);
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        switch (f.id) {
        case 1:
            CHECK(read_enum(d, f.type, PQ_FIXED_LEN_BYTE_ARRAY, &v));
            out->type = (enum pq_type)v;
            break;
        case 2:
            CHECK(pq_tr_list(&d->r, f.type, PQ_T_I32, &n));
            out->encodings = alloc_array(d, n, sizeof *out->encodings);
            if (out->encodings == NULL)
                CHECK(err_nomem());
            out->n_encodings = n;
            for (uint32_t i = 0; i < n; i++)
                CHECK(pq_tr_i32(&d->r, PQ_T_I32, &out->encodings[i]));
            break;
        case 3:
            CHECK(pq_tr_list(&d->r, f.type, PQ_T_BINARY, &n));
            out->path = alloc_array(d, n, sizeof *out->path);
            if (out->path == NULL)
                CHECK(err_nomem());
            out->n_path = n;
            for (uint32_t i = 0; i < n; i++)
                CHECK(read_bytes(d, PQ_T_BINARY, &out->path[i]));
            break;
        case 4:
            CHECK(read_enum(d, f.type, INT32_MAX, &v));
            out->codec = (enum pq_codec)v;
            break;
        case 5:
            CHECK(pq_tr_i64(&d->r, f.type, &out->num_values));
            break;
        case 6:
            CHECK(pq_tr_i64(&d->r, f.type, &out->total_uncompressed_size));
            break;
        case 7:
            CHECK(pq_tr_i64(&d->r, f.type, &out->total_compressed_size));
            break;
        case 8:
            CHECK(decode_kv_list(d, f.type, &out->kv, &out->n_kv));
            break;
        case 9:
            CHECK(pq_tr_i64(&d->r, f.type, &out->data_page_offset));
            break;
        case 10:
            CHECK(pq_tr_i64(&d->r, f.type, &out->index_page_offset));
            out->has_index_page_offset = true;
            break;
        case 11:
            CHECK(pq_tr_i64(&d->r, f.type, &out->dictionary_page_offset));
            out->has_dictionary_page_offset = true;
            break;
        case 12:
            CHECK(begin_struct(d, f.type));
            CHECK(decode_stats(d, &out->statistics));
            out->has_statistics = true;
            break;
        case 13:
            CHECK(pq_tr_list(&d->r, f.type, PQ_T_STRUCT, &n));
            out->encoding_stats =
                alloc_array(d, n, sizeof *out->encoding_stats);
            if (out->encoding_stats == NULL)
                CHECK(err_nomem());
            out->n_encoding_stats = n;
            for (uint32_t i = 0; i < n; i++) {
                CHECK(pq_tr_struct_begin(&d->r));
                CHECK(decode_encoding_stats(d, &out->encoding_stats[i]));
            }
            break;
        case 14:
            CHECK(pq_tr_i64(&d->r, f.type, &out->bloom_filter_offset));
            out->has_bloom_filter_offset = true;
            break;
        case 15:
            CHECK(pq_tr_i32(&d->r, f.type, &out->bloom_filter_length));
            out->has_bloom_filter_length = true;
            break;
        default:
            CHECK(pq_tr_skip(&d->r, f.type));
            break;
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    CHECK(check_required("ColumnMetaData", seen,
                         BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) | BIT(6) |
                             BIT(7) | BIT(9)));
    return INFINO_OK;
fail:
    return err_context(st, "ColumnMetaData");
}

static infino_status decode_column_chunk(struct dec *d,
                                         struct pq_column_chunk *out)
{
    struct pq_tfield f;
    uint32_t seen = 0;
    const uint8_t *p;
    size_t len;
    infino_status st;

    memset(out, 0, sizeof *out);
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        switch (f.id) {
        case 1:
            CHECK(read_bytes(d, f.type, &out->file_path));
            break;
        case 2:
            CHECK(pq_tr_i64(&d->r, f.type, &out->file_offset));
            break;
        case 3:
            CHECK(begin_struct(d, f.type));
            CHECK(decode_column_meta(d, &out->meta_data));
            out->has_meta_data = true;
            break;
        case 4:
            CHECK(pq_tr_i64(&d->r, f.type, &out->offset_index_offset));
            out->has_offset_index = true;
            break;
        case 5:
            CHECK(pq_tr_i32(&d->r, f.type, &out->offset_index_length));
            out->has_offset_index = true;
            break;
        case 6:
            CHECK(pq_tr_i64(&d->r, f.type, &out->column_index_offset));
            out->has_column_index = true;
            break;
        case 7:
            CHECK(pq_tr_i32(&d->r, f.type, &out->column_index_length));
            out->has_column_index = true;
            break;
        case 8:
            CHECK(skip_struct(d, f.type));
            out->encrypted = true;
            break;
        case 9:
            CHECK(pq_tr_binary(&d->r, f.type, &p, &len));
            out->encrypted = true;
            break;
        default:
            CHECK(pq_tr_skip(&d->r, f.type));
            break;
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    CHECK(check_required("ColumnChunk", seen, BIT(2)));
    return INFINO_OK;
fail:
    return st;
}

static infino_status decode_sorting_column(struct dec *d,
                                           struct pq_sorting_column *out)
{
    struct pq_tfield f;
    uint32_t seen = 0;
    infino_status st;

    memset(out, 0, sizeof *out);
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        if (f.id == 1)
            CHECK(pq_tr_i32(&d->r, f.type, &out->column_idx));
        else if (f.id == 2)
            CHECK(pq_tr_field_bool(&d->r, &f, &out->descending));
        else if (f.id == 3)
            CHECK(pq_tr_field_bool(&d->r, &f, &out->nulls_first));
        else
            CHECK(pq_tr_skip(&d->r, f.type));
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    return check_required("SortingColumn", seen, BIT(1) | BIT(2) | BIT(3));
fail:
    return st;
}

static infino_status decode_row_group(struct dec *d, struct pq_row_group *out)
{
    struct pq_tfield f;
    uint32_t seen = 0, n;
    int64_t col = -1; /* for the error message */
    infino_status st;

    memset(out, 0, sizeof *out);
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        switch (f.id) {
        case 1:
            CHECK(pq_tr_list(&d->r, f.type, PQ_T_STRUCT, &n));
            out->columns = alloc_array(d, n, sizeof *out->columns);
            if (out->columns == NULL)
                CHECK(err_nomem());
            out->n_columns = n;
            for (col = 0; col < n; col++) {
                CHECK(pq_tr_struct_begin(&d->r));
                CHECK(decode_column_chunk(d, &out->columns[col]));
            }
            col = -1;
            break;
        case 2:
            CHECK(pq_tr_i64(&d->r, f.type, &out->total_byte_size));
            break;
        case 3:
            CHECK(pq_tr_i64(&d->r, f.type, &out->num_rows));
            break;
        case 4:
            CHECK(pq_tr_list(&d->r, f.type, PQ_T_STRUCT, &n));
            out->sorting_columns =
                alloc_array(d, n, sizeof *out->sorting_columns);
            if (out->sorting_columns == NULL)
                CHECK(err_nomem());
            out->n_sorting_columns = n;
            for (uint32_t j = 0; j < n; j++) {
                CHECK(pq_tr_struct_begin(&d->r));
                CHECK(decode_sorting_column(d, &out->sorting_columns[j]));
            }
            break;
        case 5:
            CHECK(pq_tr_i64(&d->r, f.type, &out->file_offset));
            out->has_file_offset = true;
            break;
        case 6:
            CHECK(pq_tr_i64(&d->r, f.type, &out->total_compressed_size));
            out->has_total_compressed_size = true;
            break;
        case 7:
            CHECK(pq_tr_i16(&d->r, f.type, &out->ordinal));
            out->has_ordinal = true;
            break;
        default:
            CHECK(pq_tr_skip(&d->r, f.type));
            break;
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    CHECK(check_required("RowGroup", seen, BIT(1) | BIT(2) | BIT(3)));
    return INFINO_OK;
fail:
    if (col >= 0)
        return err_context(st, "columns[%lld]", (long long)col);
    return st;
}

/* ColumnOrder union: one empty struct whose id is the order. */
static infino_status decode_column_order(struct dec *d, int32_t *out)
{
    struct pq_tfield f;
    infino_status st;

    *out = PQ_ORDER_UNKNOWN;
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        if (f.id >= PQ_ORDER_TYPE_DEFINED && f.id <= PQ_ORDER_INT96_TIMESTAMP) {
            CHECK(skip_struct(d, f.type));
            *out = f.id;
        } else {
            CHECK(pq_tr_skip(&d->r, f.type));
            *out = PQ_ORDER_UNKNOWN;
        }
    }
    return INFINO_OK;
fail:
    return err_context(st, "ColumnOrder");
}

static infino_status decode_file_meta(struct dec *d, struct pq_file_meta *out)
{
    struct pq_tfield f;
    uint32_t seen = 0, n;
    int64_t idx = -1; /* element being decoded, for the error message */
    const char *list = "";
    infino_status st;

    CHECK(pq_tr_struct_begin(&d->r));
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        switch (f.id) {
        case 1:
            CHECK(pq_tr_i32(&d->r, f.type, &out->version));
            break;
        case 2:
            CHECK(pq_tr_list(&d->r, f.type, PQ_T_STRUCT, &n));
            out->schema = alloc_array(d, n, sizeof *out->schema);
            if (out->schema == NULL)
                CHECK(err_nomem());
            out->n_schema = n;
            list = "schema";
            for (idx = 0; idx < n; idx++) {
                CHECK(pq_tr_struct_begin(&d->r));
                CHECK(decode_schema_elem(d, &out->schema[idx]));
            }
            idx = -1;
            break;
        case 3:
            CHECK(pq_tr_i64(&d->r, f.type, &out->num_rows));
            break;
        case 4:
            CHECK(pq_tr_list(&d->r, f.type, PQ_T_STRUCT, &n));
            out->row_groups = alloc_array(d, n, sizeof *out->row_groups);
            if (out->row_groups == NULL)
                CHECK(err_nomem());
            out->n_row_groups = n;
            list = "row_groups";
            for (idx = 0; idx < n; idx++) {
                CHECK(pq_tr_struct_begin(&d->r));
                CHECK(decode_row_group(d, &out->row_groups[idx]));
            }
            idx = -1;
            break;
        case 5:
            CHECK(decode_kv_list(d, f.type, &out->kv, &out->n_kv));
            break;
        case 6:
            CHECK(read_bytes(d, f.type, &out->created_by));
            break;
        case 7:
            CHECK(pq_tr_list(&d->r, f.type, PQ_T_STRUCT, &n));
            out->column_orders = alloc_array(d, n, sizeof *out->column_orders);
            if (out->column_orders == NULL)
                CHECK(err_nomem());
            out->n_column_orders = n;
            out->has_column_orders = true;
            for (uint32_t i = 0; i < n; i++) {
                CHECK(pq_tr_struct_begin(&d->r));
                CHECK(decode_column_order(d, &out->column_orders[i]));
            }
            break;
        case 8:
            CHECK(pq_tr_skip(&d->r, f.type));
            out->encrypted = true;
            break;
        default:
            CHECK(pq_tr_skip(&d->r, f.type));
            break;
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    CHECK(check_required("FileMetaData", seen,
                         BIT(1) | BIT(2) | BIT(3) | BIT(4)));
    return INFINO_OK;
fail:
    if (idx >= 0)
        return err_context(st, "%s[%lld]", list, (long long)idx);
    return st;
}

infino_status pq_meta_decode_file(struct pq_file_meta *out, const uint8_t *p,
                                  size_t n)
{
    struct dec d;
    infino_status st;

    memset(out, 0, sizeof *out);
    pq_tr_init(&d.r, p, n);
    d.a = &out->arena;
    CHECK(decode_file_meta(&d, out));
    if (rd_left(&d.r.in) != 0) {
        st = err_set(INFINO_ERR_CORRUPT, "%zu bytes after the struct",
                     rd_left(&d.r.in));
        goto fail;
    }
    return INFINO_OK;
fail:
    pq_file_meta_free(out);
    return err_context(st, "FileMetaData");
}

void pq_file_meta_free(struct pq_file_meta *m)
{
    if (m == NULL)
        return;
    arena_free(&m->arena);
    memset(m, 0, sizeof *m);
}

static infino_status decode_data_page(struct dec *d,
                                      struct pq_data_page_header *out)
{
    struct pq_tfield f;
    uint32_t seen = 0;
    int32_t v;
    infino_status st;

    memset(out, 0, sizeof *out);
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        switch (f.id) {
        case 1:
            CHECK(pq_tr_i32(&d->r, f.type, &out->num_values));
            break;
        case 2:
            CHECK(read_enum(d, f.type, INT32_MAX, &v));
            out->encoding = (enum pq_encoding)v;
            break;
        case 3:
            CHECK(read_enum(d, f.type, INT32_MAX, &v));
            out->def_encoding = (enum pq_encoding)v;
            break;
        case 4:
            CHECK(read_enum(d, f.type, INT32_MAX, &v));
            out->rep_encoding = (enum pq_encoding)v;
            break;
        case 5:
            CHECK(begin_struct(d, f.type));
            CHECK(decode_stats(d, &out->statistics));
            out->has_statistics = true;
            break;
        default:
            CHECK(pq_tr_skip(&d->r, f.type));
            break;
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    return check_required("DataPageHeader", seen,
                          BIT(1) | BIT(2) | BIT(3) | BIT(4));
fail:
    return st;
}

static infino_status decode_dict_page(struct dec *d,
                                      struct pq_dict_page_header *out)
{
    struct pq_tfield f;
    uint32_t seen = 0;
    int32_t v;
    infino_status st;

    memset(out, 0, sizeof *out);
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        if (f.id == 1) {
            CHECK(pq_tr_i32(&d->r, f.type, &out->num_values));
        } else if (f.id == 2) {
            CHECK(read_enum(d, f.type, INT32_MAX, &v));
            out->encoding = (enum pq_encoding)v;
        } else if (f.id == 3) {
            CHECK(pq_tr_field_bool(&d->r, &f, &out->is_sorted));
            out->has_is_sorted = true;
        } else {
            CHECK(pq_tr_skip(&d->r, f.type));
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    return check_required("DictionaryPageHeader", seen, BIT(1) | BIT(2));
fail:
    return st;
}

static infino_status decode_data_page_v2(struct dec *d,
                                         struct pq_data_page_header_v2 *out)
{
    struct pq_tfield f;
    uint32_t seen = 0;
    int32_t v;
    infino_status st;

    memset(out, 0, sizeof *out);
    out->is_compressed = true; /* parquet.thrift: default true */
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        switch (f.id) {
        case 1:
            CHECK(pq_tr_i32(&d->r, f.type, &out->num_values));
            break;
        case 2:
            CHECK(pq_tr_i32(&d->r, f.type, &out->num_nulls));
            break;
        case 3:
            CHECK(pq_tr_i32(&d->r, f.type, &out->num_rows));
            break;
        case 4:
            CHECK(read_enum(d, f.type, INT32_MAX, &v));
            out->encoding = (enum pq_encoding)v;
            break;
        case 5:
            CHECK(pq_tr_i32(&d->r, f.type, &out->def_levels_len));
            break;
        case 6:
            CHECK(pq_tr_i32(&d->r, f.type, &out->rep_levels_len));
            break;
        case 7:
            CHECK(pq_tr_field_bool(&d->r, &f, &out->is_compressed));
            break;
        case 8:
            CHECK(begin_struct(d, f.type));
            CHECK(decode_stats(d, &out->statistics));
            out->has_statistics = true;
            break;
        default:
            CHECK(pq_tr_skip(&d->r, f.type));
            break;
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    return check_required("DataPageHeaderV2", seen,
                          BIT(1) | BIT(2) | BIT(3) | BIT(4) | BIT(5) |
                              BIT(6));
fail:
    return st;
}

infino_status pq_meta_decode_page_header(struct pq_page_header *out,
                                         struct rd *in)
{
    struct dec d;
    struct pq_tfield f;
    uint32_t seen = 0;
    int32_t v;
    infino_status st;

    memset(out, 0, sizeof *out);
    pq_tr_init(&d.r, in->p, rd_left(in));
    d.a = NULL;
    CHECK(pq_tr_struct_begin(&d.r));
    for (;;) {
        CHECK(pq_tr_field(&d.r, &f));
        if (f.type == PQ_T_STOP)
            break;
        switch (f.id) {
        case 1:
            CHECK(read_enum(&d, f.type, INT32_MAX, &v));
            out->type = (enum pq_page_type)v;
            break;
        case 2:
            CHECK(pq_tr_i32(&d.r, f.type, &out->uncompressed_page_size));
            break;
        case 3:
            CHECK(pq_tr_i32(&d.r, f.type, &out->compressed_page_size));
            break;
        case 4:
            CHECK(pq_tr_i32(&d.r, f.type, &out->crc));
            out->has_crc = true;
            break;
        case 5:
            CHECK(begin_struct(&d, f.type));
            CHECK(decode_data_page(&d, &out->data_page));
            out->has_data_page = true;
            break;
        case 7:
            CHECK(begin_struct(&d, f.type));
            CHECK(decode_dict_page(&d, &out->dict_page));
            out->has_dict_page = true;
            break;
        case 8:
            CHECK(begin_struct(&d, f.type));
            CHECK(decode_data_page_v2(&d, &out->data_page_v2));
            out->has_data_page_v2 = true;
            break;
        default: /* 6: IndexPageHeader, empty and unused */
            CHECK(pq_tr_skip(&d.r, f.type));
            break;
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    CHECK(check_required("PageHeader", seen, BIT(1) | BIT(2) | BIT(3)));
    in->p += pq_tr_offset(&d.r);
    return INFINO_OK;
fail:
    return err_context(st, "PageHeader");
}

/* ---- page index ------------------------------------------------------- */

static infino_status decode_page_location(struct dec *d,
                                          struct pq_page_location *out)
{
    struct pq_tfield f;
    uint32_t seen = 0;
    infino_status st;

    memset(out, 0, sizeof *out);
    for (;;) {
        CHECK(pq_tr_field(&d->r, &f));
        if (f.type == PQ_T_STOP)
            break;
        if (f.id == 1)
            CHECK(pq_tr_i64(&d->r, f.type, &out->offset));
        else if (f.id == 2)
            CHECK(pq_tr_i32(&d->r, f.type, &out->compressed_page_size));
        else if (f.id == 3)
            CHECK(pq_tr_i64(&d->r, f.type, &out->first_row_index));
        else
            CHECK(pq_tr_skip(&d->r, f.type));
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    return check_required("PageLocation", seen, BIT(1) | BIT(2) | BIT(3));
fail:
    return st;
}

/* Checks that the whole input was one struct. */
static infino_status at_end(const struct dec *d)
{
    if (rd_left(&d->r.in) != 0)
        return err_set(INFINO_ERR_CORRUPT, "%zu bytes after the struct",
                       rd_left(&d->r.in));
    return INFINO_OK;
}

infino_status pq_meta_decode_offset_index(struct pq_offset_index *out,
                                          const uint8_t *p, size_t n)
{
    struct dec d;
    struct pq_tfield f;
    uint32_t seen = 0, count;
    infino_status st;

    memset(out, 0, sizeof *out);
    pq_tr_init(&d.r, p, n);
    d.a = &out->arena;
    CHECK(pq_tr_struct_begin(&d.r));
    for (;;) {
        CHECK(pq_tr_field(&d.r, &f));
        if (f.type == PQ_T_STOP)
            break;
        if (f.id == 1) {
            /* count is bounded by the bytes left (pq_tr_list) */
            CHECK(pq_tr_list(&d.r, f.type, PQ_T_STRUCT, &count));
            out->pages = alloc_array(&d, count, sizeof *out->pages);
            if (out->pages == NULL)
                CHECK(err_nomem());
            out->n_pages = count;
            for (uint32_t i = 0; i < count; i++) {
                CHECK(pq_tr_struct_begin(&d.r));
                CHECK(decode_page_location(&d, &out->pages[i]));
            }
        } else {
            /* 2: unencoded_byte_array_data_bytes, unused */
            CHECK(pq_tr_skip(&d.r, f.type));
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    CHECK(check_required("OffsetIndex", seen, BIT(1)));
    CHECK(at_end(&d));
    return INFINO_OK;
fail:
    pq_offset_index_free(out);
    return err_context(st, "OffsetIndex");
}

void pq_offset_index_free(struct pq_offset_index *oi)
{
    if (oi == NULL)
        return;
    arena_free(&oi->arena);
    memset(oi, 0, sizeof *oi);
}

/* One list field of a ColumnIndex: its length must match the others. */
static infino_status index_list(struct dec *d, uint8_t type,
                                enum pq_ttype elem, size_t *n_pages,
                                bool *have_n, uint32_t *count)
{
    infino_status st = pq_tr_list(&d->r, type, elem, count);

    if (st != INFINO_OK)
        return st;
    if (*have_n && *count != *n_pages)
        return err_set(INFINO_ERR_CORRUPT,
                       "ColumnIndex lists of %zu and %u entries", *n_pages,
                       *count);
    *n_pages = *count;
    *have_n = true;
    return INFINO_OK;
}

infino_status pq_meta_decode_column_index(struct pq_column_index *out,
                                          const uint8_t *p, size_t n)
{
    struct dec d;
    struct pq_tfield f;
    uint32_t seen = 0, count;
    bool have_n = false;
    int32_t v;
    infino_status st;

    memset(out, 0, sizeof *out);
    pq_tr_init(&d.r, p, n);
    d.a = &out->arena;
    CHECK(pq_tr_struct_begin(&d.r));
    for (;;) {
        CHECK(pq_tr_field(&d.r, &f));
        if (f.type == PQ_T_STOP)
            break;
        switch (f.id) {
        case 1:
            CHECK(index_list(&d, f.type, PQ_T_BOOL, &out->n_pages, &have_n,
                             &count));
            out->null_pages = alloc_array(&d, count, sizeof *out->null_pages);
            if (out->null_pages == NULL)
                CHECK(err_nomem());
            for (uint32_t i = 0; i < count; i++)
                CHECK(pq_tr_elem_bool(&d.r, &out->null_pages[i]));
            break;
        case 2:
        case 3: {
            struct pq_bytes *b;
            CHECK(index_list(&d, f.type, PQ_T_BINARY, &out->n_pages, &have_n,
                             &count));
            b = alloc_array(&d, count, sizeof *b);
            if (b == NULL)
                CHECK(err_nomem());
            for (uint32_t i = 0; i < count; i++)
                CHECK(read_bytes(&d, PQ_T_BINARY, &b[i]));
            if (f.id == 2)
                out->min_values = b;
            else
                out->max_values = b;
            break;
        }
        case 4:
            CHECK(read_enum(&d, f.type, PQ_BOUNDARY_DESCENDING, &v));
            out->boundary_order = (enum pq_boundary_order)v;
            break;
        case 5:
            CHECK(index_list(&d, f.type, PQ_T_I64, &out->n_pages, &have_n,
                             &count));
            out->null_counts =
                alloc_array(&d, count, sizeof *out->null_counts);
            if (out->null_counts == NULL)
                CHECK(err_nomem());
            for (uint32_t i = 0; i < count; i++)
                CHECK(pq_tr_i64(&d.r, PQ_T_I64, &out->null_counts[i]));
            out->has_null_counts = true;
            break;
        default: /* 6, 7: level histograms, unused */
            CHECK(pq_tr_skip(&d.r, f.type));
            break;
        }
        if (f.id > 0 && f.id < 32)
            seen |= BIT(f.id);
    }
    CHECK(check_required("ColumnIndex", seen,
                         BIT(1) | BIT(2) | BIT(3) | BIT(4)));
    CHECK(at_end(&d));
    return INFINO_OK;
fail:
    pq_column_index_free(out);
    return err_context(st, "ColumnIndex");
}

void pq_column_index_free(struct pq_column_index *ci)
{
    if (ci == NULL)
        return;
    arena_free(&ci->arena);
    memset(ci, 0, sizeof *ci);
}

/* ---- encoding --------------------------------------------------------- */

static infino_status put_bytes(struct pq_tw *w, int16_t id, struct pq_bytes b)
{
    return pq_tw_field_binary(w, id, b.p, b.len);
}

static infino_status encode_stats(struct pq_tw *w, int16_t id,
                                  const struct pq_stats *s)
{
    infino_status st;

    CHECK(pq_tw_field_struct(w, id));
    if (s->max.p)
        CHECK(put_bytes(w, 1, s->max));
    if (s->min.p)
        CHECK(put_bytes(w, 2, s->min));
    if (s->has_null_count)
        CHECK(pq_tw_field_i64(w, 3, s->null_count));
    if (s->has_distinct_count)
        CHECK(pq_tw_field_i64(w, 4, s->distinct_count));
    if (s->max_value.p)
        CHECK(put_bytes(w, 5, s->max_value));
    if (s->min_value.p)
        CHECK(put_bytes(w, 6, s->min_value));
    if (s->has_is_max_value_exact)
        CHECK(pq_tw_field_bool(w, 7, s->is_max_value_exact));
    if (s->has_is_min_value_exact)
        CHECK(pq_tw_field_bool(w, 8, s->is_min_value_exact));
    if (s->has_nan_count)
        CHECK(pq_tw_field_i64(w, 9, s->nan_count));
    CHECK(pq_tw_struct_end(w));
    return INFINO_OK;
fail:
    return st;
}

/* An empty marker struct as field `id`. */
static infino_status put_empty(struct pq_tw *w, int16_t id)
{
    infino_status st = pq_tw_field_struct(w, id);

    return st != INFINO_OK ? st : pq_tw_struct_end(w);
}

static infino_status encode_logical(struct pq_tw *w,
                                    const struct pq_logical *l)
{
    infino_status st;

    switch (l->kind) {
    case PQ_LT_NONE:
    case PQ_LT_OTHER: /* unknown content: cannot be re-encoded */
        return INFINO_OK;
    default:
        break;
    }
    CHECK(pq_tw_field_struct(w, 10));
    switch (l->kind) {
    case PQ_LT_DECIMAL:
        CHECK(pq_tw_field_struct(w, PQ_LT_DECIMAL));
        CHECK(pq_tw_field_i32(w, 1, l->scale));
        CHECK(pq_tw_field_i32(w, 2, l->precision));
        CHECK(pq_tw_struct_end(w));
        break;
    case PQ_LT_TIME:
    case PQ_LT_TIMESTAMP:
        CHECK(pq_tw_field_struct(w, (int16_t)l->kind));
        CHECK(pq_tw_field_bool(w, 1, l->utc));
        CHECK(pq_tw_field_struct(w, 2));
        CHECK(put_empty(w, (int16_t)l->unit));
        CHECK(pq_tw_struct_end(w));
        CHECK(pq_tw_struct_end(w));
        break;
    case PQ_LT_INTEGER:
        CHECK(pq_tw_field_struct(w, PQ_LT_INTEGER));
        CHECK(pq_tw_field_i8(w, 1, l->bit_width));
        CHECK(pq_tw_field_bool(w, 2, l->is_signed));
        CHECK(pq_tw_struct_end(w));
        break;
    default:
        CHECK(put_empty(w, (int16_t)l->kind));
        break;
    }
    CHECK(pq_tw_struct_end(w));
    return INFINO_OK;
fail:
    return st;
}

static infino_status encode_schema_elem(struct pq_tw *w,
                                        const struct pq_schema_elem *e)
{
    infino_status st;

    CHECK(pq_tw_struct_begin(w));
    if (e->has_type)
        CHECK(pq_tw_field_i32(w, 1, e->type));
    if (e->has_type_length)
        CHECK(pq_tw_field_i32(w, 2, e->type_length));
    if (e->has_repetition)
        CHECK(pq_tw_field_i32(w, 3, e->repetition));
    CHECK(put_bytes(w, 4, e->name));
    if (e->has_num_children)
        CHECK(pq_tw_field_i32(w, 5, e->num_children));
    if (e->converted != PQ_CT_NONE)
        CHECK(pq_tw_field_i32(w, 6, e->converted));
    if (e->has_scale)
        CHECK(pq_tw_field_i32(w, 7, e->scale));
    if (e->has_precision)
        CHECK(pq_tw_field_i32(w, 8, e->precision));
    if (e->has_field_id)
        CHECK(pq_tw_field_i32(w, 9, e->field_id));
    CHECK(encode_logical(w, &e->logical));
    CHECK(pq_tw_struct_end(w));
    return INFINO_OK;
fail:
    return st;
}

static infino_status encode_kv_list(struct pq_tw *w, int16_t id,
                                    const struct pq_kv *kv, size_t n)
{
    infino_status st;

    CHECK(pq_tw_field_list(w, id, PQ_T_STRUCT, n));
    for (size_t i = 0; i < n; i++) {
        CHECK(pq_tw_struct_begin(w));
        CHECK(put_bytes(w, 1, kv[i].key));
        if (kv[i].value.p)
            CHECK(put_bytes(w, 2, kv[i].value));
        CHECK(pq_tw_struct_end(w));
    }
    return INFINO_OK;
fail:
    return st;
}

static infino_status encode_column_meta(struct pq_tw *w,
                                        const struct pq_column_meta *m)
{
    infino_status st;

    CHECK(pq_tw_field_struct(w, 3));
    CHECK(pq_tw_field_i32(w, 1, m->type));
    CHECK(pq_tw_field_list(w, 2, PQ_T_I32, m->n_encodings));
    for (size_t i = 0; i < m->n_encodings; i++)
        CHECK(pq_tw_elem_i32(w, m->encodings[i]));
    CHECK(pq_tw_field_list(w, 3, PQ_T_BINARY, m->n_path));
    for (size_t i = 0; i < m->n_path; i++)
        CHECK(pq_tw_elem_binary(w, m->path[i].p, m->path[i].len));
    CHECK(pq_tw_field_i32(w, 4, (int32_t)m->codec));
    CHECK(pq_tw_field_i64(w, 5, m->num_values));
    CHECK(pq_tw_field_i64(w, 6, m->total_uncompressed_size));
    CHECK(pq_tw_field_i64(w, 7, m->total_compressed_size));
    if (m->n_kv > 0)
        CHECK(encode_kv_list(w, 8, m->kv, m->n_kv));
    CHECK(pq_tw_field_i64(w, 9, m->data_page_offset));
    if (m->has_index_page_offset)
        CHECK(pq_tw_field_i64(w, 10, m->index_page_offset));
    if (m->has_dictionary_page_offset)
        CHECK(pq_tw_field_i64(w, 11, m->dictionary_page_offset));
    if (m->has_statistics)
        CHECK(encode_stats(w, 12, &m->statistics));
    if (m->n_encoding_stats > 0) {
        CHECK(pq_tw_field_list(w, 13, PQ_T_STRUCT, m->n_encoding_stats));
        for (size_t i = 0; i < m->n_encoding_stats; i++) {
            const struct pq_page_encoding_stats *e = &m->encoding_stats[i];
            CHECK(pq_tw_struct_begin(w));
            CHECK(pq_tw_field_i32(w, 1, e->page_type));
            CHECK(pq_tw_field_i32(w, 2, e->encoding));
            CHECK(pq_tw_field_i32(w, 3, e->count));
            CHECK(pq_tw_struct_end(w));
        }
    }
    if (m->has_bloom_filter_offset)
        CHECK(pq_tw_field_i64(w, 14, m->bloom_filter_offset));
    if (m->has_bloom_filter_length)
        CHECK(pq_tw_field_i32(w, 15, m->bloom_filter_length));
    CHECK(pq_tw_struct_end(w));
    return INFINO_OK;
fail:
    return st;
}

static infino_status encode_column_chunk(struct pq_tw *w,
                                         const struct pq_column_chunk *c)
{
    infino_status st;

    CHECK(pq_tw_struct_begin(w));
    if (c->file_path.p)
        CHECK(put_bytes(w, 1, c->file_path));
    CHECK(pq_tw_field_i64(w, 2, c->file_offset));
    if (c->has_meta_data)
        CHECK(encode_column_meta(w, &c->meta_data));
    if (c->has_offset_index) {
        CHECK(pq_tw_field_i64(w, 4, c->offset_index_offset));
        CHECK(pq_tw_field_i32(w, 5, c->offset_index_length));
    }
    if (c->has_column_index) {
        CHECK(pq_tw_field_i64(w, 6, c->column_index_offset));
        CHECK(pq_tw_field_i32(w, 7, c->column_index_length));
    }
    CHECK(pq_tw_struct_end(w));
    return INFINO_OK;
fail:
    return st;
}

static infino_status encode_row_group(struct pq_tw *w,
                                      const struct pq_row_group *g)
{
    infino_status st;

    CHECK(pq_tw_struct_begin(w));
    CHECK(pq_tw_field_list(w, 1, PQ_T_STRUCT, g->n_columns));
    for (size_t i = 0; i < g->n_columns; i++)
        CHECK(encode_column_chunk(w, &g->columns[i]));
    CHECK(pq_tw_field_i64(w, 2, g->total_byte_size));
    CHECK(pq_tw_field_i64(w, 3, g->num_rows));
    if (g->n_sorting_columns > 0) {
        CHECK(pq_tw_field_list(w, 4, PQ_T_STRUCT, g->n_sorting_columns));
        for (size_t i = 0; i < g->n_sorting_columns; i++) {
            const struct pq_sorting_column *s = &g->sorting_columns[i];
            CHECK(pq_tw_struct_begin(w));
            CHECK(pq_tw_field_i32(w, 1, s->column_idx));
            CHECK(pq_tw_field_bool(w, 2, s->descending));
            CHECK(pq_tw_field_bool(w, 3, s->nulls_first));
            CHECK(pq_tw_struct_end(w));
        }
    }
    if (g->has_file_offset)
        CHECK(pq_tw_field_i64(w, 5, g->file_offset));
    if (g->has_total_compressed_size)
        CHECK(pq_tw_field_i64(w, 6, g->total_compressed_size));
    if (g->has_ordinal)
        CHECK(pq_tw_field_i16(w, 7, g->ordinal));
    CHECK(pq_tw_struct_end(w));
    return INFINO_OK;
fail:
    return st;
}

infino_status pq_meta_encode_file(struct buf *out,
                                  const struct pq_file_meta *m)
{
    struct pq_tw w;
    infino_status st;

    pq_tw_init(&w, out);
    CHECK(pq_tw_struct_begin(&w));
    CHECK(pq_tw_field_i32(&w, 1, m->version));
    CHECK(pq_tw_field_list(&w, 2, PQ_T_STRUCT, m->n_schema));
    for (size_t i = 0; i < m->n_schema; i++)
        CHECK(encode_schema_elem(&w, &m->schema[i]));
    CHECK(pq_tw_field_i64(&w, 3, m->num_rows));
    CHECK(pq_tw_field_list(&w, 4, PQ_T_STRUCT, m->n_row_groups));
    for (size_t i = 0; i < m->n_row_groups; i++)
        CHECK(encode_row_group(&w, &m->row_groups[i]));
    if (m->n_kv > 0)
        CHECK(encode_kv_list(&w, 5, m->kv, m->n_kv));
    if (m->created_by.p)
        CHECK(put_bytes(&w, 6, m->created_by));
    if (m->has_column_orders || m->n_column_orders > 0) {
        CHECK(pq_tw_field_list(&w, 7, PQ_T_STRUCT, m->n_column_orders));
        for (size_t i = 0; i < m->n_column_orders; i++) {
            int32_t o = m->column_orders[i];
            CHECK(pq_tw_struct_begin(&w));
            if (o >= PQ_ORDER_TYPE_DEFINED && o <= PQ_ORDER_INT96_TIMESTAMP)
                CHECK(put_empty(&w, (int16_t)o));
            CHECK(pq_tw_struct_end(&w));
        }
    }
    CHECK(pq_tw_struct_end(&w));
    return INFINO_OK;
fail:
    return err_context(st, "encoding FileMetaData");
}

infino_status pq_meta_encode_page_header(struct buf *out,
                                         const struct pq_page_header *h)
{
    struct pq_tw w;
    infino_status st;

    pq_tw_init(&w, out);
    CHECK(pq_tw_struct_begin(&w));
    CHECK(pq_tw_field_i32(&w, 1, h->type));
    CHECK(pq_tw_field_i32(&w, 2, h->uncompressed_page_size));
    CHECK(pq_tw_field_i32(&w, 3, h->compressed_page_size));
    if (h->has_crc)
        CHECK(pq_tw_field_i32(&w, 4, h->crc));
    if (h->has_data_page) {
        const struct pq_data_page_header *p = &h->data_page;
        CHECK(pq_tw_field_struct(&w, 5));
        CHECK(pq_tw_field_i32(&w, 1, p->num_values));
        CHECK(pq_tw_field_i32(&w, 2, p->encoding));
        CHECK(pq_tw_field_i32(&w, 3, p->def_encoding));
        CHECK(pq_tw_field_i32(&w, 4, p->rep_encoding));
        if (p->has_statistics)
            CHECK(encode_stats(&w, 5, &p->statistics));
        CHECK(pq_tw_struct_end(&w));
    }
    if (h->has_dict_page) {
        const struct pq_dict_page_header *p = &h->dict_page;
        CHECK(pq_tw_field_struct(&w, 7));
        CHECK(pq_tw_field_i32(&w, 1, p->num_values));
        CHECK(pq_tw_field_i32(&w, 2, p->encoding));
        if (p->has_is_sorted)
            CHECK(pq_tw_field_bool(&w, 3, p->is_sorted));
        CHECK(pq_tw_struct_end(&w));
    }
    if (h->has_data_page_v2) {
        const struct pq_data_page_header_v2 *p = &h->data_page_v2;
        CHECK(pq_tw_field_struct(&w, 8));
        CHECK(pq_tw_field_i32(&w, 1, p->num_values));
        CHECK(pq_tw_field_i32(&w, 2, p->num_nulls));
        CHECK(pq_tw_field_i32(&w, 3, p->num_rows));
        CHECK(pq_tw_field_i32(&w, 4, p->encoding));
        CHECK(pq_tw_field_i32(&w, 5, p->def_levels_len));
        CHECK(pq_tw_field_i32(&w, 6, p->rep_levels_len));
        CHECK(pq_tw_field_bool(&w, 7, p->is_compressed));
        if (p->has_statistics)
            CHECK(encode_stats(&w, 8, &p->statistics));
        CHECK(pq_tw_struct_end(&w));
    }
    CHECK(pq_tw_struct_end(&w));
    return INFINO_OK;
fail:
    return err_context(st, "encoding PageHeader");
}

infino_status pq_meta_encode_offset_index(struct buf *out,
                                          const struct pq_offset_index *oi)
{
    struct pq_tw w;
    infino_status st;

    pq_tw_init(&w, out);
    CHECK(pq_tw_struct_begin(&w));
    CHECK(pq_tw_field_list(&w, 1, PQ_T_STRUCT, oi->n_pages));
    for (size_t i = 0; i < oi->n_pages; i++) {
        const struct pq_page_location *l = &oi->pages[i];
        CHECK(pq_tw_struct_begin(&w));
        CHECK(pq_tw_field_i64(&w, 1, l->offset));
        CHECK(pq_tw_field_i32(&w, 2, l->compressed_page_size));
        CHECK(pq_tw_field_i64(&w, 3, l->first_row_index));
        CHECK(pq_tw_struct_end(&w));
    }
    CHECK(pq_tw_struct_end(&w));
    return INFINO_OK;
fail:
    return err_context(st, "encoding OffsetIndex");
}

infino_status pq_meta_encode_column_index(struct buf *out,
                                          const struct pq_column_index *ci)
{
    struct pq_tw w;
    infino_status st;

    pq_tw_init(&w, out);
    CHECK(pq_tw_struct_begin(&w));
    CHECK(pq_tw_field_list(&w, 1, PQ_T_BOOL, ci->n_pages));
    for (size_t i = 0; i < ci->n_pages; i++)
        CHECK(pq_tw_elem_bool(&w, ci->null_pages[i]));
    CHECK(pq_tw_field_list(&w, 2, PQ_T_BINARY, ci->n_pages));
    for (size_t i = 0; i < ci->n_pages; i++)
        CHECK(pq_tw_elem_binary(&w, ci->min_values[i].p,
                                ci->min_values[i].len));
    CHECK(pq_tw_field_list(&w, 3, PQ_T_BINARY, ci->n_pages));
    for (size_t i = 0; i < ci->n_pages; i++)
        CHECK(pq_tw_elem_binary(&w, ci->max_values[i].p,
                                ci->max_values[i].len));
    CHECK(pq_tw_field_i32(&w, 4, (int32_t)ci->boundary_order));
    if (ci->has_null_counts) {
        CHECK(pq_tw_field_list(&w, 5, PQ_T_I64, ci->n_pages));
        for (size_t i = 0; i < ci->n_pages; i++)
            CHECK(pq_tw_elem_i64(&w, ci->null_counts[i]));
    }
    CHECK(pq_tw_struct_end(&w));
    return INFINO_OK;
fail:
    return err_context(st, "encoding ColumnIndex");
}

/* ---- helpers ---------------------------------------------------------- */

const char *pq_type_name(int type)
{
    static const char *const names[] = {
        "BOOLEAN", "INT32",      "INT64",     "INT96",
        "FLOAT",   "DOUBLE",     "BYTE_ARRAY", "FIXED_LEN_BYTE_ARRAY",
    };
    return type >= 0 && type < 8 ? names[type] : "?";
}

const char *pq_encoding_name(int encoding)
{
    static const char *const names[] = {
        "PLAIN",
        "GROUP_VAR_INT",
        "PLAIN_DICTIONARY",
        "RLE",
        "BIT_PACKED",
        "DELTA_BINARY_PACKED",
        "DELTA_LENGTH_BYTE_ARRAY",
        "DELTA_BYTE_ARRAY",
        "RLE_DICTIONARY",
        "BYTE_STREAM_SPLIT",
    };
    return encoding >= 0 && encoding < 10 ? names[encoding] : "?";
}

const char *pq_codec_name(int codec)
{
    static const char *const names[] = {
        "UNCOMPRESSED", "SNAPPY", "GZIP", "LZO", "BROTLI", "LZ4", "ZSTD",
        "LZ4_RAW",
    };
    return codec >= 0 && codec < 8 ? names[codec] : "?";
}

bool pq_bytes_eq(struct pq_bytes b, const char *s)
{
    size_t n = strlen(s);

    return b.p != NULL && b.len == n && memcmp(b.p, s, n) == 0;
}
