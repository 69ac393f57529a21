/*
 * parquet_meta_test.c - FileMetaData and PageHeader encode/decode: a fully
 * populated footer survives the round trip field by field and byte for
 * byte, unknown fields are skipped, missing required fields and every
 * truncation are INFINO_ERR_CORRUPT, and allocation failures surface as
 * INFINO_ERR_NOMEM without leaks.
 */
#include "harness.h"

#include "format/parquet/pq_meta.h"
#include "format/parquet/pq_thrift.h"
#include "util/alloc.h"

#define B(s) ((struct pq_bytes){(const uint8_t *)(s), sizeof(s) - 1})

static bool bytes_eq(struct pq_bytes a, struct pq_bytes b)
{
    if ((a.p == NULL) != (b.p == NULL))
        return false;
    return a.len == b.len && (a.len == 0 || memcmp(a.p, b.p, a.len) == 0);
}

static void assert_logical_eq(const struct pq_logical *a,
                              const struct pq_logical *b)
{
    assert_int_equal(a->kind, b->kind);
    assert_int_equal(a->scale, b->scale);
    assert_int_equal(a->precision, b->precision);
    assert_int_equal(a->utc, b->utc);
    assert_int_equal(a->unit, b->unit);
    assert_int_equal(a->bit_width, b->bit_width);
    assert_int_equal(a->is_signed, b->is_signed);
}

static void assert_stats_eq(const struct pq_stats *a, const struct pq_stats *b)
{
    assert_true(bytes_eq(a->max, b->max));
    assert_true(bytes_eq(a->min, b->min));
    assert_true(bytes_eq(a->max_value, b->max_value));
    assert_true(bytes_eq(a->min_value, b->min_value));
    assert_int_equal(a->has_null_count, b->has_null_count);
    assert_true(a->null_count == b->null_count);
    assert_int_equal(a->has_distinct_count, b->has_distinct_count);
    assert_true(a->distinct_count == b->distinct_count);
    assert_int_equal(a->has_is_max_value_exact, b->has_is_max_value_exact);
    assert_int_equal(a->is_max_value_exact, b->is_max_value_exact);
    assert_int_equal(a->has_is_min_value_exact, b->has_is_min_value_exact);
    assert_int_equal(a->is_min_value_exact, b->is_min_value_exact);
    assert_int_equal(a->has_nan_count, b->has_nan_count);
    assert_true(a->nan_count == b->nan_count);
}

/* ---- a footer with every field set ------------------------------------ */

static struct pq_schema_elem schema[5];
static struct pq_kv kvs[2];
static int32_t encodings[3] = {PQ_ENC_PLAIN, PQ_ENC_RLE, PQ_ENC_RLE_DICTIONARY};
static struct pq_bytes path1[1], path2[3];
static struct pq_page_encoding_stats enc_stats[2];
static struct pq_column_chunk chunks[2];
static struct pq_sorting_column sorting[1];
static struct pq_row_group groups[2];
static int32_t orders[2] = {PQ_ORDER_TYPE_DEFINED, PQ_ORDER_IEEE754_TOTAL};

static void full_meta(struct pq_file_meta *m)
{
    memset(m, 0, sizeof *m);
    memset(schema, 0, sizeof schema);
    for (int i = 0; i < 5; i++)
        schema[i].converted = PQ_CT_NONE;
    schema[0].name = B("schema");
    schema[0].has_num_children = true;
    schema[0].num_children = 2;
    schema[1] = (struct pq_schema_elem){
        .name = B("ts"), .has_type = true, .type = PQ_INT64,
        .has_repetition = true, .repetition = PQ_OPTIONAL,
        .converted = PQ_CT_TIMESTAMP_MICROS, .has_field_id = true,
        .field_id = -7,
        .logical = {.kind = PQ_LT_TIMESTAMP, .utc = true,
                    .unit = PQ_MICROS}};
    schema[2] = (struct pq_schema_elem){
        .name = B("l"), .has_repetition = true, .repetition = PQ_REQUIRED,
        .has_num_children = true, .num_children = 1,
        .converted = PQ_CT_LIST, .logical = {.kind = PQ_LT_LIST}};
    schema[3] = (struct pq_schema_elem){
        .name = B("list"), .has_repetition = true,
        .repetition = PQ_REPEATED, .has_num_children = true,
        .num_children = 1, .converted = PQ_CT_NONE};
    schema[4] = (struct pq_schema_elem){
        .name = B("element"), .has_type = true,
        .type = PQ_FIXED_LEN_BYTE_ARRAY, .has_type_length = true,
        .type_length = 9, .has_repetition = true,
        .repetition = PQ_OPTIONAL, .converted = PQ_CT_DECIMAL,
        .has_scale = true, .scale = 3, .has_precision = true,
        .precision = 20,
        .logical = {.kind = PQ_LT_DECIMAL, .scale = 3, .precision = 20}};
    kvs[0] = (struct pq_kv){B("ARROW:schema"), B("/////w==")};
    kvs[1] = (struct pq_kv){B("no value"), {NULL, 0}};
    path1[0] = B("ts");
    path2[0] = B("l");
    path2[1] = B("list");
    path2[2] = B("element");
    enc_stats[0] = (struct pq_page_encoding_stats){PQ_PAGE_DICTIONARY,
                                                   PQ_ENC_PLAIN, 1};
    enc_stats[1] = (struct pq_page_encoding_stats){PQ_PAGE_DATA,
                                                   PQ_ENC_RLE_DICTIONARY, 12};
    memset(chunks, 0, sizeof chunks);
    chunks[0].file_offset = 0;
    chunks[0].has_meta_data = true;
    chunks[0].meta_data = (struct pq_column_meta){
        .type = PQ_INT64, .n_encodings = 3, .encodings = encodings,
        .n_path = 1, .path = path1, .codec = PQ_ZSTD, .num_values = 1000,
        .total_uncompressed_size = 9000, .total_compressed_size = 4000,
        .n_kv = 1, .kv = kvs, .data_page_offset = 4 + 100,
        .has_index_page_offset = true, .index_page_offset = 77,
        .has_dictionary_page_offset = true, .dictionary_page_offset = 4,
        .has_statistics = true,
        .statistics = {.max = B("\x01\x02"), .min = B(""),
                       .has_null_count = true, .null_count = 3,
                       .has_distinct_count = true, .distinct_count = 999,
                       .max_value = B("maxv"), .min_value = B("minv"),
                       .has_is_max_value_exact = true,
                       .is_max_value_exact = true,
                       .has_is_min_value_exact = true,
                       .is_min_value_exact = false, .has_nan_count = true,
                       .nan_count = 0},
        .n_encoding_stats = 2, .encoding_stats = enc_stats,
        .has_bloom_filter_offset = true, .bloom_filter_offset = 123456789,
        .has_bloom_filter_length = true, .bloom_filter_length = 4096};
    chunks[0].has_offset_index = true;
    chunks[0].offset_index_offset = 5000;
    chunks[0].offset_index_length = 40;
    chunks[0].has_column_index = true;
    chunks[0].column_index_offset = 5040;
    chunks[0].column_index_length = 60;
    chunks[1].file_path = B("elsewhere.parquet");
    chunks[1].file_offset = 4100;
    chunks[1].has_meta_data = true;
    chunks[1].meta_data = (struct pq_column_meta){
        .type = PQ_FIXED_LEN_BYTE_ARRAY, .n_encodings = 1,
        .encodings = encodings, .n_path = 3, .path = path2,
        .codec = PQ_UNCOMPRESSED, .num_values = INT64_MAX,
        .total_uncompressed_size = 1, .total_compressed_size = 1,
        .data_page_offset = 4100};
    sorting[0] = (struct pq_sorting_column){1, true, false};
    memset(groups, 0, sizeof groups);
    groups[0] = (struct pq_row_group){
        .n_columns = 2, .columns = chunks, .total_byte_size = 9001,
        .num_rows = 1000, .n_sorting_columns = 1,
        .sorting_columns = sorting, .has_file_offset = true,
        .file_offset = 4, .has_total_compressed_size = true,
        .total_compressed_size = 4001, .has_ordinal = true, .ordinal = 0};
    groups[1] = (struct pq_row_group){.n_columns = 2, .columns = chunks,
                                      .total_byte_size = 0, .num_rows = 0};
    m->version = 2;
    m->n_schema = 5;
    m->schema = schema;
    m->num_rows = 1000;
    m->n_row_groups = 2;
    m->row_groups = groups;
    m->n_kv = 2;
    m->kv = kvs;
    m->created_by = B("infino test");
    m->has_column_orders = true;
    m->n_column_orders = 2;
    m->column_orders = orders;
}

static void assert_meta_eq(const struct pq_file_meta *a,
                           const struct pq_file_meta *b)
{
    assert_int_equal(a->version, b->version);
    assert_true(a->num_rows == b->num_rows);
    assert_true(bytes_eq(a->created_by, b->created_by));
    assert_int_equal(a->n_schema, b->n_schema);
    for (size_t i = 0; i < a->n_schema; i++) {
        const struct pq_schema_elem *x = &a->schema[i], *y = &b->schema[i];
        assert_true(bytes_eq(x->name, y->name));
        assert_int_equal(x->has_type, y->has_type);
        assert_int_equal(x->type, y->type);
        assert_int_equal(x->has_type_length, y->has_type_length);
        assert_int_equal(x->type_length, y->type_length);
        assert_int_equal(x->has_repetition, y->has_repetition);
        assert_int_equal(x->repetition, y->repetition);
        assert_int_equal(x->has_num_children, y->has_num_children);
        assert_int_equal(x->num_children, y->num_children);
        assert_int_equal(x->converted, y->converted);
        assert_int_equal(x->has_scale, y->has_scale);
        assert_int_equal(x->scale, y->scale);
        assert_int_equal(x->has_precision, y->has_precision);
        assert_int_equal(x->precision, y->precision);
        assert_int_equal(x->has_field_id, y->has_field_id);
        assert_int_equal(x->field_id, y->field_id);
        assert_logical_eq(&x->logical, &y->logical);
    }
    assert_int_equal(a->n_kv, b->n_kv);
    for (size_t i = 0; i < a->n_kv; i++) {
        assert_true(bytes_eq(a->kv[i].key, b->kv[i].key));
        assert_true(bytes_eq(a->kv[i].value, b->kv[i].value));
    }
    assert_int_equal(a->n_column_orders, b->n_column_orders);
    for (size_t i = 0; i < a->n_column_orders; i++)
        assert_int_equal(a->column_orders[i], b->column_orders[i]);
    assert_int_equal(a->n_row_groups, b->n_row_groups);
    for (size_t g = 0; g < a->n_row_groups; g++) {
        const struct pq_row_group *x = &a->row_groups[g],
                                  *y = &b->row_groups[g];
        assert_int_equal(x->n_columns, y->n_columns);
        assert_true(x->total_byte_size == y->total_byte_size);
        assert_true(x->num_rows == y->num_rows);
        assert_int_equal(x->n_sorting_columns, y->n_sorting_columns);
        for (size_t i = 0; i < x->n_sorting_columns; i++) {
            const struct pq_sorting_column *s = &x->sorting_columns[i],
                                           *t = &y->sorting_columns[i];
            assert_int_equal(s->column_idx, t->column_idx);
            assert_int_equal(s->descending, t->descending);
            assert_int_equal(s->nulls_first, t->nulls_first);
        }
        assert_int_equal(x->has_file_offset, y->has_file_offset);
        assert_true(x->file_offset == y->file_offset);
        assert_int_equal(x->has_total_compressed_size,
                         y->has_total_compressed_size);
        assert_true(x->total_compressed_size == y->total_compressed_size);
        assert_int_equal(x->has_ordinal, y->has_ordinal);
        assert_int_equal(x->ordinal, y->ordinal);
        for (size_t c = 0; c < x->n_columns; c++) {
            const struct pq_column_chunk *p = &x->columns[c],
                                         *q = &y->columns[c];
            const struct pq_column_meta *u = &p->meta_data, *v = &q->meta_data;
            assert_true(bytes_eq(p->file_path, q->file_path));
            assert_true(p->file_offset == q->file_offset);
            assert_int_equal(p->has_offset_index, q->has_offset_index);
            assert_true(p->offset_index_offset == q->offset_index_offset);
            assert_int_equal(p->offset_index_length, q->offset_index_length);
            assert_int_equal(p->has_column_index, q->has_column_index);
            assert_true(p->column_index_offset == q->column_index_offset);
            assert_int_equal(p->column_index_length, q->column_index_length);
            assert_int_equal(p->has_meta_data, q->has_meta_data);
            assert_int_equal(u->type, v->type);
            assert_int_equal(u->n_encodings, v->n_encodings);
            for (size_t i = 0; i < u->n_encodings; i++)
                assert_int_equal(u->encodings[i], v->encodings[i]);
            assert_int_equal(u->n_path, v->n_path);
            for (size_t i = 0; i < u->n_path; i++)
                assert_true(bytes_eq(u->path[i], v->path[i]));
            assert_int_equal(u->codec, v->codec);
            assert_true(u->num_values == v->num_values);
            assert_true(u->total_uncompressed_size ==
                        v->total_uncompressed_size);
            assert_true(u->total_compressed_size == v->total_compressed_size);
            assert_int_equal(u->n_kv, v->n_kv);
            assert_true(u->data_page_offset == v->data_page_offset);
            assert_int_equal(u->has_index_page_offset,
                             v->has_index_page_offset);
            assert_true(u->index_page_offset == v->index_page_offset);
            assert_int_equal(u->has_dictionary_page_offset,
                             v->has_dictionary_page_offset);
            assert_true(u->dictionary_page_offset == v->dictionary_page_offset);
            assert_int_equal(u->has_statistics, v->has_statistics);
            assert_stats_eq(&u->statistics, &v->statistics);
            assert_int_equal(u->n_encoding_stats, v->n_encoding_stats);
            for (size_t i = 0; i < u->n_encoding_stats; i++)
                assert_memory_equal(&u->encoding_stats[i],
                                    &v->encoding_stats[i],
                                    sizeof u->encoding_stats[i]);
            assert_int_equal(u->has_bloom_filter_offset,
                             v->has_bloom_filter_offset);
            assert_true(u->bloom_filter_offset == v->bloom_filter_offset);
            assert_int_equal(u->has_bloom_filter_length,
                             v->has_bloom_filter_length);
            assert_int_equal(u->bloom_filter_length, v->bloom_filter_length);
        }
    }
}

static void test_parquet_meta__file_roundtrip(void **state)
{
    struct pq_file_meta m, d;
    struct buf b1 = {0}, b2 = {0};
    (void)state;

    full_meta(&m);
    assert_ok(pq_meta_encode_file(&b1, &m));
    assert_ok(pq_meta_decode_file(&d, b1.data, b1.len));
    assert_meta_eq(&m, &d);
    /* decoded strings are borrowed from the input */
    assert_true(d.created_by.p >= b1.data &&
                d.created_by.p < b1.data + b1.len);
    assert_ok(pq_meta_encode_file(&b2, &d));
    assert_int_equal(b1.len, b2.len);
    assert_memory_equal(b1.data, b2.data, b1.len);
    pq_file_meta_free(&d);
    pq_file_meta_free(&d); /* zeroed: a no-op */
    buf_free(&b1);
    buf_free(&b2);
}

static void test_parquet_meta__every_logical_type(void **state)
{
    static const struct pq_logical lts[] = {
        {.kind = PQ_LT_STRING},  {.kind = PQ_LT_MAP},
        {.kind = PQ_LT_LIST},    {.kind = PQ_LT_ENUM},
        {.kind = PQ_LT_DECIMAL, .scale = 2, .precision = 38},
        {.kind = PQ_LT_DATE},
        {.kind = PQ_LT_TIME, .utc = false, .unit = PQ_MILLIS},
        {.kind = PQ_LT_TIME, .utc = true, .unit = PQ_NANOS},
        {.kind = PQ_LT_TIMESTAMP, .utc = true, .unit = PQ_MILLIS},
        {.kind = PQ_LT_TIMESTAMP, .utc = false, .unit = PQ_MICROS},
        {.kind = PQ_LT_TIMESTAMP, .utc = false, .unit = PQ_NANOS},
        {.kind = PQ_LT_INTEGER, .bit_width = 8, .is_signed = true},
        {.kind = PQ_LT_INTEGER, .bit_width = 64, .is_signed = false},
        {.kind = PQ_LT_UNKNOWN}, {.kind = PQ_LT_JSON},
        {.kind = PQ_LT_BSON},    {.kind = PQ_LT_UUID},
        {.kind = PQ_LT_FLOAT16},
    };
    struct pq_schema_elem el[sizeof lts / sizeof lts[0] + 1];
    struct pq_file_meta m = {0}, d;
    struct buf b = {0};
    size_t n = sizeof lts / sizeof lts[0];
    (void)state;

    memset(el, 0, sizeof el);
    el[0].name = B("schema");
    el[0].has_num_children = true;
    el[0].num_children = (int32_t)n;
    el[0].converted = PQ_CT_NONE;
    for (size_t i = 0; i < n; i++) {
        el[i + 1].name = B("c");
        el[i + 1].has_type = true;
        el[i + 1].converted = PQ_CT_NONE;
        el[i + 1].logical = lts[i];
    }
    m.n_schema = n + 1;
    m.schema = el;
    assert_ok(pq_meta_encode_file(&b, &m));
    assert_ok(pq_meta_decode_file(&d, b.data, b.len));
    for (size_t i = 0; i < n; i++)
        assert_logical_eq(&d.schema[i + 1].logical, &lts[i]);
    pq_file_meta_free(&d);
    buf_free(&b);
}

/* A FileMetaData written by hand with fields from the future mixed in:
 * FileMetaData.100 (list of structs), SchemaElement.11 (i32),
 * LogicalType member 17 (a struct), ColumnOrder member 9, Statistics.42. */
static void future_meta(struct buf *b)
{
    struct pq_tw w;

    pq_tw_init(&w, b);
    assert_ok(pq_tw_struct_begin(&w));
    assert_ok(pq_tw_field_i32(&w, 1, 1));
    assert_ok(pq_tw_field_list(&w, 2, PQ_T_STRUCT, 2));
    assert_ok(pq_tw_struct_begin(&w)); /* root */
    assert_ok(pq_tw_field_binary(&w, 4, "schema", 6));
    assert_ok(pq_tw_field_i32(&w, 5, 1));
    assert_ok(pq_tw_struct_end(&w));
    assert_ok(pq_tw_struct_begin(&w)); /* leaf */
    assert_ok(pq_tw_field_i32(&w, 1, PQ_BYTE_ARRAY));
    assert_ok(pq_tw_field_i32(&w, 3, PQ_OPTIONAL));
    assert_ok(pq_tw_field_binary(&w, 4, "geo", 3));
    assert_ok(pq_tw_field_struct(&w, 10));
    assert_ok(pq_tw_field_struct(&w, 17)); /* GEOMETRY */
    assert_ok(pq_tw_field_binary(&w, 1, "OGC:CRS84", 9));
    assert_ok(pq_tw_struct_end(&w));
    assert_ok(pq_tw_struct_end(&w));
    assert_ok(pq_tw_field_i32(&w, 11, 5)); /* vector_length */
    assert_ok(pq_tw_struct_end(&w));
    assert_ok(pq_tw_field_i64(&w, 3, 0));
    assert_ok(pq_tw_field_list(&w, 4, PQ_T_STRUCT, 1));
    assert_ok(pq_tw_struct_begin(&w));
    assert_ok(pq_tw_field_list(&w, 1, PQ_T_STRUCT, 1));
    assert_ok(pq_tw_struct_begin(&w));
    assert_ok(pq_tw_field_i64(&w, 2, 0));
    assert_ok(pq_tw_field_struct(&w, 3));
    assert_ok(pq_tw_field_i32(&w, 1, PQ_BYTE_ARRAY));
    assert_ok(pq_tw_field_list(&w, 2, PQ_T_I32, 0));
    assert_ok(pq_tw_field_list(&w, 3, PQ_T_BINARY, 1));
    assert_ok(pq_tw_elem_binary(&w, "geo", 3));
    assert_ok(pq_tw_field_i32(&w, 4, 0));
    assert_ok(pq_tw_field_i64(&w, 5, 0));
    assert_ok(pq_tw_field_i64(&w, 6, 0));
    assert_ok(pq_tw_field_i64(&w, 7, 0));
    assert_ok(pq_tw_field_i64(&w, 9, 4));
    assert_ok(pq_tw_field_struct(&w, 12));
    assert_ok(pq_tw_field_i64(&w, 3, 0));
    assert_ok(pq_tw_field_double(&w, 42, 1.5));
    assert_ok(pq_tw_struct_end(&w));
    assert_ok(pq_tw_field_struct(&w, 16)); /* SizeStatistics */
    assert_ok(pq_tw_field_list(&w, 2, PQ_T_I64, 2));
    assert_ok(pq_tw_elem_i64(&w, 1));
    assert_ok(pq_tw_elem_i64(&w, 2));
    assert_ok(pq_tw_struct_end(&w));
    assert_ok(pq_tw_struct_end(&w)); /* ColumnMetaData */
    assert_ok(pq_tw_struct_end(&w)); /* ColumnChunk */
    assert_ok(pq_tw_field_i64(&w, 2, 0));
    assert_ok(pq_tw_field_i64(&w, 3, 0));
    assert_ok(pq_tw_struct_end(&w)); /* RowGroup */
    assert_ok(pq_tw_field_list(&w, 7, PQ_T_STRUCT, 1));
    assert_ok(pq_tw_struct_begin(&w));
    assert_ok(pq_tw_field_struct(&w, 9)); /* an order from the future */
    assert_ok(pq_tw_struct_end(&w));
    assert_ok(pq_tw_struct_end(&w));
    assert_ok(pq_tw_field_list(&w, 100, PQ_T_STRUCT, 1));
    assert_ok(pq_tw_struct_begin(&w));
    assert_ok(pq_tw_field_bool(&w, 1, true));
    assert_ok(pq_tw_struct_end(&w));
    assert_ok(pq_tw_struct_end(&w));
}

static void test_parquet_meta__skips_future_fields(void **state)
{
    struct buf b = {0};
    struct pq_file_meta d;
    (void)state;

    future_meta(&b);
    assert_ok(pq_meta_decode_file(&d, b.data, b.len));
    assert_int_equal(d.n_schema, 2);
    assert_true(pq_bytes_eq(d.schema[1].name, "geo"));
    assert_int_equal(d.schema[1].logical.kind, PQ_LT_OTHER);
    assert_int_equal(d.n_row_groups, 1);
    assert_int_equal(d.row_groups[0].n_columns, 1);
    assert_true(d.row_groups[0].columns[0].meta_data.has_statistics);
    assert_int_equal(d.n_column_orders, 1);
    assert_int_equal(d.column_orders[0], PQ_ORDER_UNKNOWN);
    pq_file_meta_free(&d);
    buf_free(&b);
}

static void test_parquet_meta__truncation_and_garbage(void **state)
{
    struct pq_file_meta m, d;
    struct buf b = {0};
    (void)state;

    full_meta(&m);
    assert_ok(pq_meta_encode_file(&b, &m));
    for (size_t k = 0; k < b.len; k++) {
        uint8_t *p = malloc(k ? k : 1);
        if (k)
            memcpy(p, b.data, k);
        assert_int_equal(pq_meta_decode_file(&d, p, k), INFINO_ERR_CORRUPT);
        assert_int_equal(d.n_schema, 0); /* zeroed on failure */
        free(p);
    }
    /* trailing bytes after the struct */
    assert_ok(buf_put_u8(&b, 0));
    assert_int_equal(pq_meta_decode_file(&d, b.data, b.len),
                     INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "after the struct"));
    buf_free(&b);
}

static void test_parquet_meta__missing_required(void **state)
{
    struct buf b = {0};
    struct pq_tw w;
    struct pq_file_meta d;
    (void)state;

    /* FileMetaData without num_rows (3) */
    pq_tw_init(&w, &b);
    assert_ok(pq_tw_struct_begin(&w));
    assert_ok(pq_tw_field_i32(&w, 1, 1));
    assert_ok(pq_tw_field_list(&w, 2, PQ_T_STRUCT, 0));
    assert_ok(pq_tw_field_list(&w, 4, PQ_T_STRUCT, 0));
    assert_ok(pq_tw_struct_end(&w));
    assert_int_equal(pq_meta_decode_file(&d, b.data, b.len),
                     INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "missing required field 3"));
    /* a SchemaElement without a name */
    buf_reset(&b);
    pq_tw_init(&w, &b);
    assert_ok(pq_tw_struct_begin(&w));
    assert_ok(pq_tw_field_i32(&w, 1, 1));
    assert_ok(pq_tw_field_list(&w, 2, PQ_T_STRUCT, 1));
    assert_ok(pq_tw_struct_begin(&w));
    assert_ok(pq_tw_field_i32(&w, 5, 0));
    assert_ok(pq_tw_struct_end(&w));
    assert_ok(pq_tw_field_i64(&w, 3, 0));
    assert_ok(pq_tw_field_list(&w, 4, PQ_T_STRUCT, 0));
    assert_ok(pq_tw_struct_end(&w));
    assert_int_equal(pq_meta_decode_file(&d, b.data, b.len),
                     INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "schema[0]"));
    assert_non_null(strstr(err_last(), "SchemaElement"));
    /* an enum out of range: physical type 8 */
    buf_reset(&b);
    pq_tw_init(&w, &b);
    assert_ok(pq_tw_struct_begin(&w));
    assert_ok(pq_tw_field_i32(&w, 1, 1));
    assert_ok(pq_tw_field_list(&w, 2, PQ_T_STRUCT, 1));
    assert_ok(pq_tw_struct_begin(&w));
    assert_ok(pq_tw_field_i32(&w, 1, 8));
    assert_ok(pq_tw_field_binary(&w, 4, "x", 1));
    assert_ok(pq_tw_struct_end(&w));
    assert_ok(pq_tw_field_i64(&w, 3, 0));
    assert_ok(pq_tw_field_list(&w, 4, PQ_T_STRUCT, 0));
    assert_ok(pq_tw_struct_end(&w));
    assert_int_equal(pq_meta_decode_file(&d, b.data, b.len),
                     INFINO_ERR_CORRUPT);
    buf_free(&b);
}

static void test_parquet_meta__decode_out_of_memory(void **state)
{
    struct pq_file_meta m, d;
    struct buf b = {0};
    long failures = 0;
    (void)state;

    full_meta(&m);
    assert_ok(pq_meta_encode_file(&b, &m));
    for (long k = 1;; k++) {
        infino_status st;
        mem_fail_after(k);
        st = pq_meta_decode_file(&d, b.data, b.len);
        mem_fail_reset();
        if (st == INFINO_OK) {
            assert_meta_eq(&m, &d);
            pq_file_meta_free(&d);
            break;
        }
        assert_int_equal(st, INFINO_ERR_NOMEM);
        failures++;
    }
    assert_true(failures >= 1);
    buf_free(&b);
}

static void test_parquet_meta__page_headers(void **state)
{
    struct pq_page_header h[3], d;
    struct buf b = {0};
    (void)state;

    memset(h, 0, sizeof h);
    h[0].type = PQ_PAGE_DATA;
    h[0].uncompressed_page_size = 1000;
    h[0].compressed_page_size = 400;
    h[0].has_crc = true;
    h[0].crc = -12345;
    h[0].has_data_page = true;
    h[0].data_page = (struct pq_data_page_header){
        .num_values = 77, .encoding = PQ_ENC_RLE_DICTIONARY,
        .def_encoding = PQ_ENC_RLE, .rep_encoding = PQ_ENC_BIT_PACKED,
        .has_statistics = true,
        .statistics = {.has_null_count = true, .null_count = 4,
                       .min_value = B("a"), .max_value = B("zz")}};
    h[1].type = PQ_PAGE_DICTIONARY;
    h[1].uncompressed_page_size = 10;
    h[1].compressed_page_size = 10;
    h[1].has_dict_page = true;
    h[1].dict_page = (struct pq_dict_page_header){3, PQ_ENC_PLAIN, true,
                                                  true};
    h[2].type = PQ_PAGE_DATA_V2;
    h[2].uncompressed_page_size = 64;
    h[2].compressed_page_size = 32;
    h[2].has_data_page_v2 = true;
    h[2].data_page_v2 = (struct pq_data_page_header_v2){
        .num_values = 10, .num_nulls = 2, .num_rows = 5,
        .encoding = PQ_ENC_DELTA_BINARY_PACKED, .def_levels_len = 3,
        .rep_levels_len = 4, .is_compressed = false};
    for (int i = 0; i < 3; i++)
        assert_ok(pq_meta_encode_page_header(&b, &h[i]));
    assert_ok(buf_append(&b, "body", 4));
    struct rd in = rd_make(b.data, b.len);
    for (int i = 0; i < 3; i++) {
        assert_ok(pq_meta_decode_page_header(&d, &in));
        assert_int_equal(d.type, h[i].type);
        assert_int_equal(d.uncompressed_page_size,
                         h[i].uncompressed_page_size);
        assert_int_equal(d.compressed_page_size, h[i].compressed_page_size);
        assert_int_equal(d.has_crc, h[i].has_crc);
        assert_int_equal(d.crc, h[i].crc);
        assert_int_equal(d.has_data_page, h[i].has_data_page);
        assert_int_equal(d.data_page.num_values, h[i].data_page.num_values);
        assert_int_equal(d.data_page.encoding, h[i].data_page.encoding);
        assert_int_equal(d.data_page.def_encoding,
                         h[i].data_page.def_encoding);
        assert_int_equal(d.data_page.rep_encoding,
                         h[i].data_page.rep_encoding);
        assert_stats_eq(&d.data_page.statistics, &h[i].data_page.statistics);
        assert_int_equal(d.has_dict_page, h[i].has_dict_page);
        assert_int_equal(d.dict_page.num_values, h[i].dict_page.num_values);
        assert_int_equal(d.dict_page.encoding, h[i].dict_page.encoding);
        assert_int_equal(d.dict_page.has_is_sorted,
                         h[i].dict_page.has_is_sorted);
        assert_int_equal(d.dict_page.is_sorted, h[i].dict_page.is_sorted);
        assert_int_equal(d.has_data_page_v2, h[i].has_data_page_v2);
        assert_int_equal(d.data_page_v2.num_values,
                         h[i].data_page_v2.num_values);
        assert_int_equal(d.data_page_v2.num_nulls,
                         h[i].data_page_v2.num_nulls);
        assert_int_equal(d.data_page_v2.num_rows, h[i].data_page_v2.num_rows);
        assert_int_equal(d.data_page_v2.encoding, h[i].data_page_v2.encoding);
        assert_int_equal(d.data_page_v2.def_levels_len,
                         h[i].data_page_v2.def_levels_len);
        assert_int_equal(d.data_page_v2.rep_levels_len,
                         h[i].data_page_v2.rep_levels_len);
        assert_int_equal(d.data_page_v2.is_compressed,
                         h[i].data_page_v2.is_compressed);
    }
    /* the reader stops right after the header */
    assert_int_equal(rd_left(&in), 4);
    assert_memory_equal(in.p, "body", 4);
    /* a v2 header without is_compressed defaults to compressed */
    {
        struct buf c = {0};
        struct pq_tw w;
        pq_tw_init(&w, &c);
        assert_ok(pq_tw_struct_begin(&w));
        assert_ok(pq_tw_field_i32(&w, 1, PQ_PAGE_DATA_V2));
        assert_ok(pq_tw_field_i32(&w, 2, 0));
        assert_ok(pq_tw_field_i32(&w, 3, 0));
        assert_ok(pq_tw_field_struct(&w, 8));
        for (int16_t f = 1; f <= 6; f++)
            assert_ok(pq_tw_field_i32(&w, f, 0));
        assert_ok(pq_tw_struct_end(&w));
        assert_ok(pq_tw_struct_end(&w));
        in = rd_make(c.data, c.len);
        assert_ok(pq_meta_decode_page_header(&d, &in));
        assert_true(d.data_page_v2.is_compressed);
        /* every truncation fails and leaves the cursor alone */
        for (size_t k = 0; k < c.len; k++) {
            in = rd_make(c.data, k);
            assert_int_equal(pq_meta_decode_page_header(&d, &in),
                             INFINO_ERR_CORRUPT);
            assert_int_equal(rd_left(&in), k);
        }
        buf_free(&c);
    }
    buf_free(&b);
}

static void test_parquet_meta__names(void **state)
{
    (void)state;
    assert_string_equal(pq_type_name(PQ_FIXED_LEN_BYTE_ARRAY),
                        "FIXED_LEN_BYTE_ARRAY");
    assert_string_equal(pq_type_name(8), "?");
    assert_string_equal(pq_encoding_name(PQ_ENC_BYTE_STREAM_SPLIT),
                        "BYTE_STREAM_SPLIT");
    assert_string_equal(pq_encoding_name(-1), "?");
    assert_string_equal(pq_codec_name(PQ_ZSTD), "ZSTD");
    assert_true(pq_bytes_eq(B("abc"), "abc"));
    assert_false(pq_bytes_eq(B("abc"), "ab"));
    assert_false(pq_bytes_eq((struct pq_bytes){NULL, 0}, ""));
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parquet_meta__file_roundtrip),
        cmocka_unit_test(test_parquet_meta__every_logical_type),
        cmocka_unit_test(test_parquet_meta__skips_future_fields),
        cmocka_unit_test(test_parquet_meta__truncation_and_garbage),
        cmocka_unit_test(test_parquet_meta__missing_required),
        cmocka_unit_test(test_parquet_meta__decode_out_of_memory),
        cmocka_unit_test(test_parquet_meta__page_headers),
        cmocka_unit_test(test_parquet_meta__names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
