/*
 * parquet_schema_test.c - Arrow <-> Parquet schema mapping. The expected
 * Parquet elements are what pyarrow 26 writes for each Arrow type (read
 * back with our footer decoder); the reverse direction covers every
 * physical/logical/converted combination, the legacy list shapes of
 * LogicalTypes.md, ARROW:schema reconciliation and malformed trees.
 */
#include "harness.h"

#include "format/parquet/pq_schema.h"
#include "util/alloc.h"

static struct ar_field prim(const char *name, enum ar_type t, bool nullable)
{
    struct ar_field f;

    memset(&f, 0, sizeof f);
    f.name = (char *)name;
    f.type = t;
    f.nullable = nullable;
    return f;
}

/* ---- Arrow -> Parquet ------------------------------------------------- */

struct expect {
    enum ar_type at;
    enum ar_time_unit unit;
    const char *tz;
    int precision, scale;
    enum pq_type pt;
    int32_t type_length;
    int32_t converted;
    int lkind;
    int lbits;
    bool lsigned;
    bool lutc;
    int lunit;
};

static const struct expect arrow_to_pq[] = {
    {AR_BOOL, 0, NULL, 0, 0, PQ_BOOLEAN, 0, PQ_CT_NONE, 0, 0, 0, 0, 0},
    {AR_INT8, 0, NULL, 0, 0, PQ_INT32, 0, PQ_CT_INT_8, PQ_LT_INTEGER, 8, 1,
     0, 0},
    {AR_INT16, 0, NULL, 0, 0, PQ_INT32, 0, PQ_CT_INT_16, PQ_LT_INTEGER, 16,
     1, 0, 0},
    {AR_INT32, 0, NULL, 0, 0, PQ_INT32, 0, PQ_CT_NONE, 0, 0, 0, 0, 0},
    {AR_INT64, 0, NULL, 0, 0, PQ_INT64, 0, PQ_CT_NONE, 0, 0, 0, 0, 0},
    {AR_UINT8, 0, NULL, 0, 0, PQ_INT32, 0, PQ_CT_UINT_8, PQ_LT_INTEGER, 8,
     0, 0, 0},
    {AR_UINT16, 0, NULL, 0, 0, PQ_INT32, 0, PQ_CT_UINT_16, PQ_LT_INTEGER,
     16, 0, 0, 0},
    {AR_UINT32, 0, NULL, 0, 0, PQ_INT32, 0, PQ_CT_UINT_32, PQ_LT_INTEGER,
     32, 0, 0, 0},
    {AR_UINT64, 0, NULL, 0, 0, PQ_INT64, 0, PQ_CT_UINT_64, PQ_LT_INTEGER,
     64, 0, 0, 0},
    {AR_FLOAT32, 0, NULL, 0, 0, PQ_FLOAT, 0, PQ_CT_NONE, 0, 0, 0, 0, 0},
    {AR_FLOAT64, 0, NULL, 0, 0, PQ_DOUBLE, 0, PQ_CT_NONE, 0, 0, 0, 0, 0},
    {AR_UTF8, 0, NULL, 0, 0, PQ_BYTE_ARRAY, 0, PQ_CT_UTF8, PQ_LT_STRING, 0,
     0, 0, 0},
    {AR_LARGE_UTF8, 0, NULL, 0, 0, PQ_BYTE_ARRAY, 0, PQ_CT_UTF8,
     PQ_LT_STRING, 0, 0, 0, 0},
    {AR_BINARY, 0, NULL, 0, 0, PQ_BYTE_ARRAY, 0, PQ_CT_NONE, 0, 0, 0, 0, 0},
    {AR_LARGE_BINARY, 0, NULL, 0, 0, PQ_BYTE_ARRAY, 0, PQ_CT_NONE, 0, 0, 0,
     0, 0},
    {AR_DATE32, 0, NULL, 0, 0, PQ_INT32, 0, PQ_CT_DATE, PQ_LT_DATE, 0, 0, 0,
     0},
    {AR_TIMESTAMP, AR_SECOND, NULL, 0, 0, PQ_INT64, 0,
     PQ_CT_TIMESTAMP_MILLIS, PQ_LT_TIMESTAMP, 0, 0, 0, PQ_MILLIS},
    {AR_TIMESTAMP, AR_MILLI, NULL, 0, 0, PQ_INT64, 0, PQ_CT_TIMESTAMP_MILLIS,
     PQ_LT_TIMESTAMP, 0, 0, 0, PQ_MILLIS},
    {AR_TIMESTAMP, AR_MICRO, "UTC", 0, 0, PQ_INT64, 0,
     PQ_CT_TIMESTAMP_MICROS, PQ_LT_TIMESTAMP, 0, 0, 1, PQ_MICROS},
    {AR_TIMESTAMP, AR_NANO, "Europe/Paris", 0, 0, PQ_INT64, 0, PQ_CT_NONE,
     PQ_LT_TIMESTAMP, 0, 0, 1, PQ_NANOS},
    {AR_DECIMAL128, 0, NULL, 10, 2, PQ_FIXED_LEN_BYTE_ARRAY, 5,
     PQ_CT_DECIMAL, PQ_LT_DECIMAL, 0, 0, 0, 0},
    {AR_DECIMAL128, 0, NULL, 38, 0, PQ_FIXED_LEN_BYTE_ARRAY, 16,
     PQ_CT_DECIMAL, PQ_LT_DECIMAL, 0, 0, 0, 0},
    {AR_DECIMAL128, 0, NULL, 1, 1, PQ_FIXED_LEN_BYTE_ARRAY, 1,
     PQ_CT_DECIMAL, PQ_LT_DECIMAL, 0, 0, 0, 0},
};

static void check_leaf_elem(const struct pq_schema_elem *e,
                            const struct expect *x)
{
    assert_true(e->has_type);
    assert_int_equal(e->type, x->pt);
    assert_int_equal(e->has_type_length, x->type_length > 0);
    if (x->type_length > 0)
        assert_int_equal(e->type_length, x->type_length);
    assert_int_equal(e->converted, x->converted);
    assert_int_equal(e->logical.kind, x->lkind);
    assert_false(e->has_num_children);
    if (x->lkind == PQ_LT_INTEGER) {
        assert_int_equal(e->logical.bit_width, x->lbits);
        assert_int_equal(e->logical.is_signed, x->lsigned);
    }
    if (x->lkind == PQ_LT_TIMESTAMP) {
        assert_int_equal(e->logical.utc, x->lutc);
        assert_int_equal(e->logical.unit, x->lunit);
    }
    if (x->lkind == PQ_LT_DECIMAL) {
        assert_int_equal(e->logical.precision, x->precision);
        assert_int_equal(e->logical.scale, x->scale);
        assert_true(e->has_precision && e->has_scale);
        assert_int_equal(e->precision, x->precision);
        assert_int_equal(e->scale, x->scale);
    }
}

static void test_parquet_schema__arrow_to_parquet_every_type(void **state)
{
    size_t n = sizeof arrow_to_pq / sizeof arrow_to_pq[0];
    struct ar_field fields[2 * sizeof arrow_to_pq / sizeof arrow_to_pq[0]];
    struct ar_field items[sizeof arrow_to_pq / sizeof arrow_to_pq[0]];
    struct ar_schema s = {2 * n, fields, 0, NULL};
    struct pq_schema ps;
    (void)state;

    /* Each type twice: as a column (nullable on odd rows) and as the
     * item of a list column of alternating list kinds. */
    for (size_t i = 0; i < n; i++) {
        const struct expect *x = &arrow_to_pq[i];
        fields[i] = prim("c", x->at, i % 2 == 1);
        fields[i].unit = x->unit;
        fields[i].tz = (char *)x->tz;
        fields[i].precision = x->precision;
        fields[i].scale = x->scale;
        items[i] = fields[i];
        items[i].name = "item";
        items[i].nullable = i % 3 != 0;
        fields[n + i] = prim("l", i % 3 == 0   ? AR_LIST
                                  : i % 3 == 1 ? AR_LARGE_LIST
                                               : AR_FIXED_SIZE_LIST,
                             i % 2 == 0);
        fields[n + i].list_size = 3;
        fields[n + i].n_children = 1;
        fields[n + i].children = &items[i];
    }
    assert_ok(pq_schema_from_arrow(&ps, &s));
    assert_int_equal(ps.n_elems, 1 + n + 3 * n);
    assert_int_equal(ps.n_leaves, 2 * n);
    assert_true(pq_bytes_eq(ps.elems[0].name, "schema"));
    assert_int_equal(ps.elems[0].num_children, (int32_t)(2 * n));
    assert_true(ps.elems[0].has_repetition);
    assert_int_equal(ps.elems[0].repetition, PQ_REQUIRED);
    for (size_t i = 0; i < n; i++) {
        const struct pq_leaf *leaf = &ps.leaves[i];
        const struct pq_schema_elem *e = &ps.elems[1 + i];
        check_leaf_elem(e, &arrow_to_pq[i]);
        assert_int_equal(e->repetition, i % 2 ? PQ_OPTIONAL : PQ_REQUIRED);
        assert_int_equal(leaf->elem, 1 + i);
        assert_int_equal(leaf->max_def, i % 2);
        assert_int_equal(leaf->max_rep, 0);
        assert_false(leaf->is_list);
        assert_int_equal(leaf->n_path, 1);
        assert_true(pq_bytes_eq(leaf->path[0], "c"));
        assert_ptr_equal(leaf->value, &fields[i]);
        assert_int_equal(leaf->type, arrow_to_pq[i].pt);
    }
    for (size_t i = 0; i < n; i++) {
        const struct pq_leaf *leaf = &ps.leaves[n + i];
        const struct pq_schema_elem *g = &ps.elems[1 + n + 3 * i];
        bool list_null = i % 2 == 0, item_null = i % 3 != 0;
        assert_true(pq_bytes_eq(g->name, "l"));
        assert_int_equal(g->repetition, list_null ? PQ_OPTIONAL : PQ_REQUIRED);
        assert_int_equal(g->converted, PQ_CT_LIST);
        assert_int_equal(g->logical.kind, PQ_LT_LIST);
        assert_int_equal(g->num_children, 1);
        assert_false(g->has_type);
        assert_true(pq_bytes_eq(g[1].name, "list"));
        assert_int_equal(g[1].repetition, PQ_REPEATED);
        assert_int_equal(g[1].num_children, 1);
        assert_int_equal(g[1].converted, PQ_CT_NONE);
        assert_true(pq_bytes_eq(g[2].name, "element"));
        assert_int_equal(g[2].repetition,
                         item_null ? PQ_OPTIONAL : PQ_REQUIRED);
        check_leaf_elem(&g[2], &arrow_to_pq[i]);
        assert_true(leaf->is_list);
        assert_int_equal(leaf->max_rep, 1);
        assert_int_equal(leaf->list_def, list_null);
        assert_int_equal(leaf->max_def, list_null + 1 + item_null);
        assert_int_equal(leaf->n_path, 3);
        assert_true(pq_bytes_eq(leaf->path[1], "list"));
        assert_true(pq_bytes_eq(leaf->path[2], "element"));
        assert_ptr_equal(leaf->value, &items[i]);
    }
    pq_schema_free(&ps);
}

static void test_parquet_schema__arrow_unsupported(void **state)
{
    struct ar_field inner = prim("x", AR_INT32, true);
    struct ar_field item = prim("item", AR_LIST, true);
    struct ar_field f = prim("nested", AR_LIST, true);
    struct ar_field st = prim("s", AR_STRUCT, true);
    struct ar_field dec = prim("d", AR_DECIMAL128, true);
    struct ar_schema s = {1, &f, 0, NULL};
    struct pq_schema ps;
    (void)state;

    item.n_children = 1;
    item.children = &inner;
    f.n_children = 1;
    f.children = &item;
    assert_int_equal(pq_schema_from_arrow(&ps, &s), INFINO_ERR_UNSUPPORTED);
    assert_non_null(strstr(err_last(), "nested"));
    assert_int_equal(ps.n_elems, 0);
    st.n_children = 1;
    st.children = &inner;
    s.fields = &st;
    assert_int_equal(pq_schema_from_arrow(&ps, &s), INFINO_ERR_UNSUPPORTED);
    dec.precision = 39;
    s.fields = &dec;
    assert_int_equal(pq_schema_from_arrow(&ps, &s), INFINO_ERR_UNSUPPORTED);
    dec.precision = 5;
    dec.scale = 6;
    assert_int_equal(pq_schema_from_arrow(&ps, &s), INFINO_ERR_UNSUPPORTED);
}

/* Bits in 10^p, with a little bignum: the oracle for decimal widths. */
static int bits_of_pow10(int p)
{
    uint32_t d[8] = {1};
    int bits = 0;

    for (int i = 0; i < p; i++) {
        uint64_t carry = 0;
        for (int k = 0; k < 8; k++) {
            uint64_t v = (uint64_t)d[k] * 10 + carry;
            d[k] = (uint32_t)v;
            carry = v >> 32;
        }
    }
    for (int k = 7; k >= 0; k--)
        if (d[k]) {
            uint32_t x = d[k];
            bits = 32 * k;
            while (x) {
                bits++;
                x >>= 1;
            }
            break;
        }
    return bits;
}

static void test_parquet_schema__decimal_byte_len(void **state)
{
    (void)state;
    for (int p = 1; p <= 38; p++) {
        /* fewest n with 10^p <= 2^(8n - 1): bits(10^p) <= 8n - 1 */
        int want = (bits_of_pow10(p) + 1 + 7) / 8;
        assert_int_equal(pq_decimal_byte_len(p), want);
    }
    assert_int_equal(pq_decimal_byte_len(0), 0);
    assert_int_equal(pq_decimal_byte_len(39), 0);
    assert_int_equal(pq_decimal_byte_len(-1), 0);
}

/* ---- Parquet -> Arrow ------------------------------------------------- */

#define NAME(s) ((struct pq_bytes){(const uint8_t *)(s), strlen(s)})

static struct pq_schema_elem root(int n)
{
    struct pq_schema_elem e;

    memset(&e, 0, sizeof e);
    e.name = NAME("schema");
    e.has_num_children = true;
    e.num_children = n;
    e.converted = PQ_CT_NONE;
    return e;
}

static struct pq_schema_elem leaf(const char *name, enum pq_type t,
                                  enum pq_repetition rep)
{
    struct pq_schema_elem e;

    memset(&e, 0, sizeof e);
    e.name = NAME(name);
    e.has_type = true;
    e.type = t;
    e.has_repetition = true;
    e.repetition = rep;
    e.converted = PQ_CT_NONE;
    return e;
}

static struct pq_schema_elem group(const char *name, enum pq_repetition rep,
                                   int n, int32_t converted, int lkind)
{
    struct pq_schema_elem e;

    memset(&e, 0, sizeof e);
    e.name = NAME(name);
    e.has_repetition = true;
    e.repetition = rep;
    e.has_num_children = true;
    e.num_children = n;
    e.converted = converted;
    e.logical.kind = lkind;
    return e;
}

struct derive_case {
    struct pq_schema_elem e;
    enum ar_type want;
    enum ar_time_unit unit;
    const char *tz;
    int precision, scale;
};

static void test_parquet_schema__parquet_to_arrow_primitives(void **state)
{
    struct derive_case cases[40];
    size_t n = 0;
    struct pq_schema_elem elems[41];
    struct ar_schema as;
    struct pq_schema ps;
    (void)state;

#define CASE(E, T)                                                             \
    do {                                                                       \
        memset(&cases[n], 0, sizeof cases[n]);                                 \
        cases[n].e = (E);                                                      \
        cases[n].want = (T);                                                   \
        n++;                                                                   \
    } while (0)
    struct pq_schema_elem e;
    CASE(leaf("b", PQ_BOOLEAN, PQ_OPTIONAL), AR_BOOL);
    CASE(leaf("i32", PQ_INT32, PQ_REQUIRED), AR_INT32);
    CASE(leaf("i64", PQ_INT64, PQ_OPTIONAL), AR_INT64);
    CASE(leaf("f", PQ_FLOAT, PQ_OPTIONAL), AR_FLOAT32);
    CASE(leaf("d", PQ_DOUBLE, PQ_OPTIONAL), AR_FLOAT64);
    CASE(leaf("bin", PQ_BYTE_ARRAY, PQ_OPTIONAL), AR_BINARY);
    e = leaf("fixed", PQ_FIXED_LEN_BYTE_ARRAY, PQ_OPTIONAL);
    e.has_type_length = true;
    e.type_length = 16;
    e.logical.kind = PQ_LT_UUID;
    CASE(e, AR_BINARY);
    static const struct {
        int bits;
        bool sign;
        enum pq_type pt;
        enum ar_type at;
    } ints[] = {
        {8, true, PQ_INT32, AR_INT8},       {16, true, PQ_INT32, AR_INT16},
        {32, true, PQ_INT32, AR_INT32},     {8, false, PQ_INT32, AR_UINT8},
        {16, false, PQ_INT32, AR_UINT16},   {32, false, PQ_INT32, AR_UINT32},
        {64, true, PQ_INT64, AR_INT64},     {64, false, PQ_INT64, AR_UINT64},
    };
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        e = leaf("int", ints[i].pt, PQ_OPTIONAL);
        e.logical.kind = PQ_LT_INTEGER;
        e.logical.bit_width = (int8_t)ints[i].bits;
        e.logical.is_signed = ints[i].sign;
        CASE(e, ints[i].at);
    }
    /* legacy ConvertedType only (no logical type) */
    static const struct {
        int32_t ct;
        enum pq_type pt;
        enum ar_type at;
    } legacy[] = {
        {PQ_CT_INT_8, PQ_INT32, AR_INT8},     {PQ_CT_INT_16, PQ_INT32, AR_INT16},
        {PQ_CT_UINT_8, PQ_INT32, AR_UINT8},   {PQ_CT_UINT_16, PQ_INT32, AR_UINT16},
        {PQ_CT_UINT_32, PQ_INT32, AR_UINT32}, {PQ_CT_INT_32, PQ_INT32, AR_INT32},
        {PQ_CT_UINT_64, PQ_INT64, AR_UINT64}, {PQ_CT_INT_64, PQ_INT64, AR_INT64},
        {PQ_CT_DATE, PQ_INT32, AR_DATE32},    {PQ_CT_UTF8, PQ_BYTE_ARRAY, AR_UTF8},
        {PQ_CT_ENUM, PQ_BYTE_ARRAY, AR_UTF8}, {PQ_CT_JSON, PQ_BYTE_ARRAY, AR_UTF8},
        {PQ_CT_BSON, PQ_BYTE_ARRAY, AR_BINARY},
    };
    for (size_t i = 0; i < sizeof legacy / sizeof legacy[0]; i++) {
        e = leaf("legacy", legacy[i].pt, PQ_OPTIONAL);
        e.converted = legacy[i].ct;
        CASE(e, legacy[i].at);
    }
    /* an unknown logical type falls back to the converted type */
    e = leaf("future", PQ_INT32, PQ_OPTIONAL);
    e.logical.kind = PQ_LT_OTHER;
    e.converted = PQ_CT_UINT_8;
    CASE(e, AR_UINT8);
    e = leaf("date", PQ_INT32, PQ_OPTIONAL);
    e.logical.kind = PQ_LT_DATE;
    CASE(e, AR_DATE32);
    e = leaf("str", PQ_BYTE_ARRAY, PQ_OPTIONAL);
    e.logical.kind = PQ_LT_STRING;
    CASE(e, AR_UTF8);
    /* timestamps: logical (utc or not), legacy (utc), INT96 */
    e = leaf("ts", PQ_INT64, PQ_OPTIONAL);
    e.logical = (struct pq_logical){.kind = PQ_LT_TIMESTAMP, .utc = true,
                                    .unit = PQ_NANOS};
    CASE(e, AR_TIMESTAMP);
    cases[n - 1].unit = AR_NANO;
    cases[n - 1].tz = "UTC";
    e.logical = (struct pq_logical){.kind = PQ_LT_TIMESTAMP, .utc = false,
                                    .unit = PQ_MILLIS};
    CASE(e, AR_TIMESTAMP);
    cases[n - 1].unit = AR_MILLI;
    e = leaf("ts", PQ_INT64, PQ_OPTIONAL);
    e.converted = PQ_CT_TIMESTAMP_MICROS;
    CASE(e, AR_TIMESTAMP);
    cases[n - 1].unit = AR_MICRO;
    cases[n - 1].tz = "UTC";
    CASE(leaf("i96", PQ_INT96, PQ_OPTIONAL), AR_TIMESTAMP);
    cases[n - 1].unit = AR_NANO;
    /* decimals on every physical type, logical and legacy */
    static const enum pq_type dec_types[] = {PQ_INT32, PQ_INT64,
                                             PQ_FIXED_LEN_BYTE_ARRAY,
                                             PQ_BYTE_ARRAY};
    for (int i = 0; i < 4; i++) {
        e = leaf("dec", dec_types[i], PQ_OPTIONAL);
        e.has_type_length = dec_types[i] == PQ_FIXED_LEN_BYTE_ARRAY;
        e.type_length = 8;
        if (i % 2) {
            e.converted = PQ_CT_DECIMAL;
            e.has_precision = e.has_scale = true;
            e.precision = 9;
            e.scale = 3;
        } else {
            e.logical = (struct pq_logical){.kind = PQ_LT_DECIMAL,
                                            .precision = 9, .scale = 3};
        }
        CASE(e, AR_DECIMAL128);
        cases[n - 1].precision = 9;
        cases[n - 1].scale = 3;
    }
#undef CASE
    elems[0] = root((int)n);
    for (size_t i = 0; i < n; i++)
        elems[i + 1] = cases[i].e;
    assert_ok(pq_schema_from_parquet(&ps, &as, elems, n + 1, NULL));
    assert_int_equal(as.n_fields, n);
    for (size_t i = 0; i < n; i++) {
        const struct ar_field *f = &as.fields[i];
        assert_int_equal(f->type, cases[i].want);
        assert_int_equal(f->nullable,
                         cases[i].e.repetition == PQ_OPTIONAL);
        assert_int_equal(strlen(f->name), cases[i].e.name.len);
        if (f->type == AR_TIMESTAMP) {
            assert_int_equal(f->unit, cases[i].unit);
            if (cases[i].tz)
                assert_string_equal(f->tz, cases[i].tz);
            else
                assert_null(f->tz);
        }
        if (f->type == AR_DECIMAL128) {
            assert_int_equal(f->precision, cases[i].precision);
            assert_int_equal(f->scale, cases[i].scale);
        }
        assert_int_equal(ps.leaves[i].elem, i + 1);
        assert_ptr_equal(ps.leaves[i].se, &elems[i + 1]);
        assert_false(ps.leaves[i].is_list);
    }
    pq_schema_free(&ps);
    ar_schema_free(&as);
}

static void test_parquet_schema__list_shapes(void **state)
{
    struct pq_schema_elem el[32];
    size_t n = 1;
    struct ar_schema as;
    struct pq_schema ps;
    (void)state;

    /* 0: standard three-level list, optional list, optional element */
    el[n++] = group("a", PQ_OPTIONAL, 1, PQ_CT_LIST, PQ_LT_LIST);
    el[n++] = group("list", PQ_REPEATED, 1, PQ_CT_NONE, 0);
    el[n++] = leaf("element", PQ_INT32, PQ_OPTIONAL);
    /* 1: required list, required element, legacy annotation only */
    el[n++] = group("b", PQ_REQUIRED, 1, PQ_CT_LIST, 0);
    el[n++] = group("bag", PQ_REPEATED, 1, PQ_CT_NONE, 0);
    el[n++] = leaf("item", PQ_BYTE_ARRAY, PQ_REQUIRED);
    /* 2: two-level list: the repeated field is the element */
    el[n++] = group("c", PQ_OPTIONAL, 1, PQ_CT_LIST, PQ_LT_LIST);
    el[n++] = leaf("array", PQ_INT64, PQ_REPEATED);
    /* 3: a repeated primitive outside any LIST group */
    el[n++] = leaf("d", PQ_DOUBLE, PQ_REPEATED);
    el[0] = root(4);
    assert_ok(pq_schema_from_parquet(&ps, &as, el, n, NULL));
    assert_int_equal(as.n_fields, 4);
    struct {
        bool nullable, item_nullable;
        enum ar_type item;
        const char *item_name;
        int16_t list_def, max_def;
        size_t n_path, elem;
    } want[] = {
        {true, true, AR_INT32, "element", 1, 3, 3, 3},
        {false, false, AR_BINARY, "item", 0, 1, 3, 6},
        {true, false, AR_INT64, "array", 1, 2, 2, 8},
        {false, false, AR_FLOAT64, "d", 0, 1, 1, 9},
    };
    for (int i = 0; i < 4; i++) {
        const struct ar_field *f = &as.fields[i];
        const struct pq_leaf *l = &ps.leaves[i];
        assert_int_equal(f->type, AR_LIST);
        assert_int_equal(f->nullable, want[i].nullable);
        assert_int_equal(f->n_children, 1);
        assert_int_equal(f->children[0].type, want[i].item);
        assert_int_equal(f->children[0].nullable, want[i].item_nullable);
        assert_string_equal(f->children[0].name, want[i].item_name);
        assert_true(l->is_list);
        assert_int_equal(l->max_rep, 1);
        assert_int_equal(l->list_def, want[i].list_def);
        assert_int_equal(l->max_def, want[i].max_def);
        assert_int_equal(l->n_path, want[i].n_path);
        assert_int_equal(l->elem, want[i].elem);
        assert_ptr_equal(l->value, &f->children[0]);
    }
    assert_true(pq_bytes_eq(ps.leaves[1].path[1], "bag"));
    assert_true(pq_bytes_eq(ps.leaves[2].path[1], "array"));
    pq_schema_free(&ps);
    ar_schema_free(&as);
}

static void expect_unsupported(struct pq_schema_elem *el, size_t n,
                               const char *what)
{
    struct ar_schema as;
    struct pq_schema ps;

    assert_int_equal(pq_schema_from_parquet(&ps, &as, el, n, NULL),
                     INFINO_ERR_UNSUPPORTED);
    assert_non_null(strstr(err_last(), what));
    assert_int_equal(as.n_fields, 0);
    assert_int_equal(ps.n_leaves, 0);
}

static void expect_corrupt(struct pq_schema_elem *el, size_t n)
{
    struct ar_schema as;
    struct pq_schema ps;

    assert_int_equal(pq_schema_from_parquet(&ps, &as, el, n, NULL),
                     INFINO_ERR_CORRUPT);
    assert_int_equal(as.n_fields, 0);
}

static void test_parquet_schema__unsupported_and_corrupt(void **state)
{
    struct pq_schema_elem el[8];
    (void)state;

    /* a struct */
    el[0] = root(1);
    el[1] = group("st", PQ_OPTIONAL, 1, PQ_CT_NONE, 0);
    el[2] = leaf("x", PQ_INT32, PQ_OPTIONAL);
    expect_unsupported(el, 3, "'st'");
    /* a map */
    el[1] = group("m", PQ_OPTIONAL, 1, PQ_CT_MAP, PQ_LT_MAP);
    el[2] = group("key_value", PQ_REPEATED, 2, PQ_CT_NONE, 0);
    el[3] = leaf("key", PQ_BYTE_ARRAY, PQ_REQUIRED);
    el[4] = leaf("value", PQ_INT32, PQ_OPTIONAL);
    expect_unsupported(el, 5, "'m'");
    /* a list of lists */
    el[1] = group("ll", PQ_OPTIONAL, 1, PQ_CT_LIST, PQ_LT_LIST);
    el[2] = group("list", PQ_REPEATED, 1, PQ_CT_NONE, 0);
    el[3] = group("element", PQ_OPTIONAL, 1, PQ_CT_LIST, PQ_LT_LIST);
    el[4] = group("list", PQ_REPEATED, 1, PQ_CT_NONE, 0);
    el[5] = leaf("element", PQ_INT32, PQ_OPTIONAL);
    expect_unsupported(el, 6, "nested");
    /* legacy list of one-field structs ("array" / "<name>_tuple") */
    el[1] = group("t", PQ_OPTIONAL, 1, PQ_CT_LIST, 0);
    el[2] = group("t_tuple", PQ_REPEATED, 1, PQ_CT_NONE, 0);
    el[3] = leaf("x", PQ_INT32, PQ_OPTIONAL);
    expect_unsupported(el, 4, "structs");
    el[2] = group("array", PQ_REPEATED, 1, PQ_CT_NONE, 0);
    expect_unsupported(el, 4, "structs");
    /* TIME and FLOAT16 have no Arrow type here */
    el[1] = leaf("time", PQ_INT32, PQ_OPTIONAL);
    el[1].logical.kind = PQ_LT_TIME;
    expect_unsupported(el, 2, "TIME");
    el[1] = leaf("h", PQ_FIXED_LEN_BYTE_ARRAY, PQ_OPTIONAL);
    el[1].has_type_length = true;
    el[1].type_length = 2;
    el[1].logical.kind = PQ_LT_FLOAT16;
    expect_unsupported(el, 2, "FLOAT16");

    /* malformed trees */
    el[0] = root(3);
    el[1] = leaf("a", PQ_INT32, PQ_OPTIONAL);
    expect_corrupt(el, 2); /* root claims more fields than elements */
    el[0] = root(1);
    expect_corrupt(el, 1); /* no element for the field */
    el[2] = leaf("extra", PQ_INT32, PQ_OPTIONAL);
    expect_corrupt(el, 3); /* elements after the last field */
    el[1].has_type = false;
    expect_corrupt(el, 2); /* a leaf without a type */
    el[1] = leaf("a", PQ_INT32, PQ_OPTIONAL);
    el[1].has_repetition = false;
    expect_corrupt(el, 2); /* no repetition */
    el[1] = leaf("f", PQ_FIXED_LEN_BYTE_ARRAY, PQ_OPTIONAL);
    expect_corrupt(el, 2); /* FLBA without a width */
    el[0] = root(1);
    el[0].has_type = true;
    expect_corrupt(el, 2); /* root with a type */
    el[0] = root(-1);
    expect_corrupt(el, 1);
    expect_corrupt(el, 0);
    el[0] = root(1);
    el[1] = group("a", PQ_OPTIONAL, 1, PQ_CT_LIST, PQ_LT_LIST);
    expect_corrupt(el, 2); /* the list's child is missing */
    el[2] = group("list", PQ_REPEATED, 1, PQ_CT_NONE, 0);
    expect_corrupt(el, 3); /* the element is missing */
    el[1] = leaf("i", PQ_INT32, PQ_OPTIONAL);
    el[1].logical.kind = PQ_LT_INTEGER;
    el[1].logical.bit_width = 7;
    expect_corrupt(el, 2);
}

static void test_parquet_schema__arrow_hint(void **state)
{
    struct pq_schema_elem el[16];
    struct ar_field hf[5], hi[2], inner;
    struct ar_schema hint = {5, hf, 0, NULL}, as;
    struct pq_schema ps;
    size_t n = 1;
    (void)state;

    el[n++] = leaf("s", PQ_BYTE_ARRAY, PQ_OPTIONAL);
    el[n - 1].logical.kind = PQ_LT_STRING;
    el[n++] = group("v", PQ_OPTIONAL, 1, PQ_CT_LIST, PQ_LT_LIST);
    el[n++] = group("list", PQ_REPEATED, 1, PQ_CT_NONE, 0);
    el[n++] = leaf("element", PQ_FLOAT, PQ_OPTIONAL);
    el[n++] = leaf("ts", PQ_INT64, PQ_OPTIONAL);
    el[n - 1].logical = (struct pq_logical){.kind = PQ_LT_TIMESTAMP,
                                            .utc = true, .unit = PQ_MILLIS};
    el[n++] = leaf("n", PQ_BYTE_ARRAY, PQ_REQUIRED);
    el[n++] = leaf("bin", PQ_BYTE_ARRAY, PQ_OPTIONAL);
    el[0] = root(5);

    hf[0] = prim("s", AR_LARGE_UTF8, true);
    hf[1] = prim("v", AR_FIXED_SIZE_LIST, true);
    hf[1].list_size = 384;
    hi[0] = prim("item", AR_FLOAT32, true);
    hf[1].n_children = 1;
    hf[1].children = &hi[0];
    hf[2] = prim("ts", AR_TIMESTAMP, true);
    hf[2].unit = AR_SECOND;
    hf[2].tz = "Asia/Tokyo";
    hf[3] = prim("n", AR_INT64, false); /* incompatible: ignored */
    hf[4] = prim("other_name", AR_LARGE_BINARY, true); /* name differs */
    (void)inner;
    assert_ok(pq_schema_from_parquet(&ps, &as, el, n, &hint));
    assert_int_equal(as.fields[0].type, AR_LARGE_UTF8);
    assert_int_equal(as.fields[1].type, AR_FIXED_SIZE_LIST);
    assert_int_equal(as.fields[1].list_size, 384);
    assert_string_equal(as.fields[1].children[0].name, "element");
    assert_int_equal(as.fields[2].type, AR_TIMESTAMP);
    assert_int_equal(as.fields[2].unit, AR_SECOND);
    assert_string_equal(as.fields[2].tz, "Asia/Tokyo");
    assert_int_equal(as.fields[3].type, AR_BINARY);
    assert_false(as.fields[3].nullable);
    assert_int_equal(as.fields[4].type, AR_BINARY);
    assert_ptr_equal(ps.leaves[1].arrow, &as.fields[1]);
    assert_ptr_equal(ps.leaves[1].value, &as.fields[1].children[0]);
    pq_schema_free(&ps);
    ar_schema_free(&as);

    /* a hint with another field count is ignored entirely */
    hint.n_fields = 4;
    assert_ok(pq_schema_from_parquet(&ps, &as, el, n, &hint));
    assert_int_equal(as.fields[0].type, AR_UTF8);
    assert_int_equal(as.fields[1].type, AR_LIST);
    assert_string_equal(as.fields[2].tz, "UTC");
    pq_schema_free(&ps);
    ar_schema_free(&as);
}

/* The hint's time zone applies only to UTC-adjusted values (Arrow's
 * reader rule): local timestamps stay local, a hint without a zone
 * leaves "UTC". The unit always follows the hint. */
static void test_parquet_schema__hint_time_zones(void **state)
{
    struct pq_schema_elem el[4];
    struct ar_field hf[3];
    struct ar_schema hint = {3, hf, 0, NULL}, as;
    struct pq_schema ps;
    (void)state;

    el[0] = root(3);
    el[1] = leaf("local", PQ_INT64, PQ_OPTIONAL);
    el[1].logical = (struct pq_logical){.kind = PQ_LT_TIMESTAMP, .utc = false,
                                        .unit = PQ_MICROS};
    el[2] = leaf("utc", PQ_INT64, PQ_OPTIONAL);
    el[2].logical = (struct pq_logical){.kind = PQ_LT_TIMESTAMP, .utc = true,
                                        .unit = PQ_MICROS};
    el[3] = leaf("i96", PQ_INT96, PQ_OPTIONAL);
    for (int i = 0; i < 3; i++) {
        hf[i] = prim(i == 0 ? "local" : i == 1 ? "utc" : "i96", AR_TIMESTAMP,
                     true);
        hf[i].unit = AR_MILLI;
    }
    hf[0].tz = "Asia/Tokyo";
    hf[2].tz = "Asia/Tokyo";
    assert_ok(pq_schema_from_parquet(&ps, &as, el, 4, &hint));
    assert_null(as.fields[0].tz);
    assert_string_equal(as.fields[1].tz, "UTC");
    assert_null(as.fields[2].tz);
    for (int i = 0; i < 3; i++)
        assert_int_equal(as.fields[i].unit, AR_MILLI);
    pq_schema_free(&ps);
    ar_schema_free(&as);
}

static void test_parquet_schema__roundtrip(void **state)
{
    /* Arrow -> Parquet -> Arrow, with the original as the hint, returns
     * the original (list items named "element", as Parquet names them). */
    struct ar_field item = prim("element", AR_FLOAT32, false);
    struct ar_field fields[6];
    struct ar_schema s = {6, fields, 0, NULL}, back;
    struct pq_schema ps, ps2;
    (void)state;

    fields[0] = prim("id", AR_LARGE_UTF8, false);
    fields[1] = prim("emb", AR_FIXED_SIZE_LIST, true);
    fields[1].list_size = 8;
    fields[1].n_children = 1;
    fields[1].children = &item;
    fields[2] = prim("when", AR_TIMESTAMP, true);
    fields[2].unit = AR_SECOND;
    fields[3] = prim("u", AR_UINT16, true);
    fields[4] = prim("d", AR_DECIMAL128, true);
    fields[4].precision = 38;
    fields[4].scale = 10;
    fields[5] = prim("day", AR_DATE32, false);
    assert_ok(pq_schema_from_arrow(&ps, &s));
    assert_ok(pq_schema_from_parquet(&ps2, &back, ps.elems, ps.n_elems, &s));
    assert_true(ar_schema_equal(&s, &back));
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(ps2.leaves[i].max_def, ps.leaves[i].max_def);
        assert_int_equal(ps2.leaves[i].max_rep, ps.leaves[i].max_rep);
        assert_int_equal(ps2.leaves[i].type, ps.leaves[i].type);
        assert_int_equal(ps2.leaves[i].n_path, ps.leaves[i].n_path);
    }
    pq_schema_free(&ps2);
    ar_schema_free(&back);
    pq_schema_free(&ps);
}

static void test_parquet_schema__out_of_memory(void **state)
{
    struct pq_schema_elem el[5];
    struct ar_field hf[2], hi = prim("x", AR_FLOAT32, true);
    struct ar_schema hint = {2, hf, 0, NULL};
    long failures = 0;
    (void)state;

    el[0] = root(2);
    el[1] = leaf("ts", PQ_INT64, PQ_OPTIONAL);
    el[1].logical = (struct pq_logical){.kind = PQ_LT_TIMESTAMP, .utc = true,
                                        .unit = PQ_MICROS};
    el[2] = group("v", PQ_OPTIONAL, 1, PQ_CT_LIST, PQ_LT_LIST);
    el[3] = group("list", PQ_REPEATED, 1, PQ_CT_NONE, 0);
    el[4] = leaf("element", PQ_FLOAT, PQ_OPTIONAL);
    hf[0] = prim("ts", AR_TIMESTAMP, true);
    hf[0].unit = AR_MICRO;
    hf[0].tz = "UTC";
    hf[1] = prim("v", AR_FIXED_SIZE_LIST, true);
    hf[1].list_size = 2;
    hf[1].n_children = 1;
    hf[1].children = &hi;
    for (long k = 1;; k++) {
        struct ar_schema as;
        struct pq_schema ps;
        infino_status st;
        mem_fail_after(k);
        st = pq_schema_from_parquet(&ps, &as, el, 5, &hint);
        mem_fail_reset();
        if (st == INFINO_OK) {
            assert_int_equal(as.fields[1].type, AR_FIXED_SIZE_LIST);
            pq_schema_free(&ps);
            ar_schema_free(&as);
            break;
        }
        assert_int_equal(st, INFINO_ERR_NOMEM);
        failures++;
    }
    assert_true(failures >= 4);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parquet_schema__arrow_to_parquet_every_type),
        cmocka_unit_test(test_parquet_schema__arrow_unsupported),
        cmocka_unit_test(test_parquet_schema__decimal_byte_len),
        cmocka_unit_test(test_parquet_schema__parquet_to_arrow_primitives),
        cmocka_unit_test(test_parquet_schema__list_shapes),
        cmocka_unit_test(test_parquet_schema__unsupported_and_corrupt),
        cmocka_unit_test(test_parquet_schema__arrow_hint),
        cmocka_unit_test(test_parquet_schema__hint_time_zones),
        cmocka_unit_test(test_parquet_schema__roundtrip),
        cmocka_unit_test(test_parquet_schema__out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
