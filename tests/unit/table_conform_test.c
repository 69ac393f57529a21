/*
 * table_conform_test.c - what appends accept, convert and refuse
 * (tbl_conform.c): conversions only where every value survives exactly,
 * UTF-8 validated, no null element inside a vector, no column given twice,
 * dictionary-encoded columns decoded. Errors name the column and the row,
 * counted from the start of the append.
 *
 * Drives tbl_conform directly over streams made with ar_stream_from_batches:
 * no table, no storage.
 */
#include "harness.h"

#include "format/arrow/arrow.h"
#include "table/table_int.h"
#include "util/alloc.h"

#include <float.h>
#include <math.h>

/* ---- building inputs --------------------------------------------------- */

static struct ar_field leaf(const char *name, enum ar_type t, bool nullable)
{
    struct ar_field f;

    memset(&f, 0, sizeof f);
    f.name = mem_strdup(name);
    f.type = t;
    f.nullable = nullable;
    return f;
}

/* list_type<item: child> (fixed_size_list when size > 0). */
static struct ar_field list_of(const char *name, enum ar_type list_type,
                               int32_t size, enum ar_type child)
{
    struct ar_field f = leaf(name, list_type, true);

    f.list_size = size;
    f.n_children = 1;
    f.children = mem_calloc(1, sizeof *f.children);
    f.children[0] = leaf("item", child, true);
    return f;
}

/* A schema of the given fields (taken). */
static void schema_of(struct ar_schema *s, struct ar_field *fields, size_t n)
{
    memset(s, 0, sizeof *s);
    s->n_fields = n;
    s->fields = mem_calloc(n, sizeof *s->fields);
    memcpy(s->fields, fields, n * sizeof *fields);
}

/* A field dictionary-encoded with `index` indices over `values` (taken). */
static struct ar_field dict_of(const char *name, enum ar_type index,
                               struct ar_field values)
{
    struct ar_field f = leaf(name, index, true);

    f.dict = mem_calloc(1, sizeof *f.dict);
    *f.dict = values;
    return f;
}

static void doubles(struct ArrowArray *out, enum ar_type t, const double *v,
                    size_t n, const bool *null)
{
    struct ar_field f = leaf("x", t, true);
    struct ar_builder *b;

    assert_ok(ar_builder_new(&b, &f));
    for (size_t i = 0; i < n; i++) {
        if (null && null[i])
            assert_ok(ar_builder_append_null(b));
        else
            assert_ok(ar_builder_append_double(b, v[i]));
    }
    assert_ok(ar_builder_finish(b, out));
    ar_builder_free(b);
    ar_field_free(&f);
}

static void ints(struct ArrowArray *out, enum ar_type t, const int64_t *v,
                 size_t n, const bool *null)
{
    struct ar_field f = leaf("x", t, true);
    struct ar_builder *b;

    assert_ok(ar_builder_new(&b, &f));
    for (size_t i = 0; i < n; i++) {
        if (null && null[i])
            assert_ok(ar_builder_append_null(b));
        else
            assert_ok(ar_builder_append_int(b, v[i]));
    }
    assert_ok(ar_builder_finish(b, out));
    ar_builder_free(b);
    ar_field_free(&f);
}

/* utf8 (or large_utf8) from raw bytes, unchecked, as a careless producer
 * makes them. NULL is a null slot that still holds bytes: "\xff\xfe". */
static void raw_strings(struct ArrowArray *out, bool large,
                        const char *const *v, size_t n)
{
    size_t w = large ? 8 : 4, total = 0, pos = 0;
    uint8_t *validity = mem_calloc(n / 8 + 1, 1), *offs, *data;
    int64_t nulls = 0;

    for (size_t i = 0; i < n; i++)
        total += v[i] ? strlen(v[i]) : 2;
    offs = mem_alloc((n + 1) * w);
    data = mem_alloc(total + 1);
    for (size_t i = 0; i <= n; i++) {
        if (large)
            ((int64_t *)offs)[i] = (int64_t)pos;
        else
            ((int32_t *)offs)[i] = (int32_t)pos;
        if (i == n)
            break;
        const char *s = v[i] ? v[i] : "\xff\xfe";
        memcpy(data + pos, s, strlen(s));
        pos += strlen(s);
        if (v[i])
            validity[i / 8] |= (uint8_t)(1u << (i % 8));
        else
            nulls++;
    }
    void *bufs[3] = {validity, offs, data};
    assert_ok(ar_array_make(out, (int64_t)n, nulls, 3, bufs, 0, NULL));
}

/* list<float32|float64> (or fixed_size_list when size > 0) of n rows of
 * `dim` values; NAN_NULL in `v` is a null element, a NULL row a null
 * list. */
#define NULL_ELEMENT 12345.0
static void vectors(struct ArrowArray *out, enum ar_type list_type,
                    int32_t size, enum ar_type child, const double *const *v,
                    size_t n, size_t dim)
{
    struct ar_field f = list_of("v", list_type, size, child);
    struct ar_builder *b, *cb;

    assert_ok(ar_builder_new(&b, &f));
    cb = ar_builder_child(b, 0);
    for (size_t i = 0; i < n; i++) {
        if (v[i] == NULL) {
            assert_ok(ar_builder_append_null(b));
            continue;
        }
        for (size_t k = 0; k < dim; k++) {
            if (v[i][k] == NULL_ELEMENT)
                assert_ok(ar_builder_append_null(cb));
            else
                assert_ok(ar_builder_append_double(cb, v[i][k]));
        }
        assert_ok(ar_builder_end_list(b));
    }
    assert_ok(ar_builder_finish(b, out));
    ar_builder_free(b);
    ar_field_free(&f);
}

/* Overwrites value i of an integer array we built (a null slot keeps its
 * bit: this is what a producer may leave behind one). */
static void poke_int(struct ArrowArray *a, enum ar_type t, int64_t i,
                     int64_t v)
{
    uint8_t *p = (uint8_t *)a->buffers[1];
    size_t w = (size_t)ar_type_bit_width(t) / 8;

    memcpy(p + (size_t)(a->offset + i) * w, &v, w); /* little-endian */
}

/* A record batch of the given columns (moved in). */
static void batch_of(struct ArrowArray *out, struct ArrowArray *cols,
                     size_t n_cols)
{
    void *bufs[1] = {NULL};

    assert_ok(ar_array_make(out, cols[0].length, 0, 1, bufs, (int)n_cols,
                            cols));
}

/* ---- running the conformer --------------------------------------------- */

typedef void (*check_fn)(const struct ArrowArray *batch, size_t i,
                         void *payload);

/* Conforms `n` batches (taken) of schema `src` to `dst`, calling `check`
 * on each conformed batch. Returns the first error. */
static infino_status run(const struct ar_schema *dst,
                         const struct ar_schema *src,
                         struct ArrowArray *batches, size_t n, check_fn check,
                         void *payload)
{
    struct ArrowArrayStream in;
    struct tbl_conform *c = NULL;
    struct ArrowArray out;
    infino_status st;

    assert_ok(ar_stream_from_batches(&in, src, batches, n));
    st = tbl_conform_open(&c, dst, &in);
    for (size_t i = 0; st == INFINO_OK; i++) {
        st = tbl_conform_next(c, &out);
        if (st != INFINO_OK || out.release == NULL)
            break;
        assert_ok(ar_batch_validate(dst, &out));
        if (check)
            check(&out, i, payload);
    }
    tbl_conform_free(c);
    return st;
}

/* One column: `src_field` into `dst_field` (both taken). */
static infino_status run1(struct ar_field dst_field, struct ar_field src_field,
                          struct ArrowArray *cols, size_t n_batches,
                          check_fn check, void *payload)
{
    struct ar_schema dst, src;
    struct ArrowArray batches[4];
    infino_status st;

    assert_true(n_batches <= 4);
    schema_of(&dst, &dst_field, 1);
    schema_of(&src, &src_field, 1);
    for (size_t i = 0; i < n_batches; i++)
        batch_of(&batches[i], &cols[i], 1);
    st = run(&dst, &src, batches, n_batches, check, payload);
    ar_schema_free(&dst);
    ar_schema_free(&src);
    return st;
}

static void assert_error(infino_status st, const char *want)
{
    assert_int_equal(st, INFINO_ERR_INVALID);
    if (strstr(err_last(), want) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err_last(), want);
}

static float f32_at(const struct ArrowArray *a, int64_t i)
{
    return ((const float *)a->buffers[1])[a->offset + i];
}

/* The string of row i of a utf8 (not large) column. */
static bool str_is(const struct ArrowArray *a, int64_t i, const char *want)
{
    const int32_t *o = a->buffers[1];
    int64_t j = a->offset + i;

    if (!ar_array_is_valid(a, i))
        return want == NULL;
    return want != NULL && (size_t)(o[j + 1] - o[j]) == strlen(want) &&
           memcmp((const uint8_t *)a->buffers[2] + o[j], want,
                  strlen(want)) == 0;
}

/* ---- float64 -> float32 ------------------------------------------------ */

static void check_floats(const struct ArrowArray *b, size_t i, void *payload)
{
    const struct ArrowArray *a = b->children[0];
    (void)payload;

    assert_int_equal(i, 0);
    assert_int_equal(a->length, 7);
    assert_true(f32_at(a, 0) == 1.5f);
    assert_true(isnan(f32_at(a, 1)));
    assert_true(isinf(f32_at(a, 2)) && f32_at(a, 2) > 0);
    assert_true(isinf(f32_at(a, 3)) && f32_at(a, 3) < 0);
    assert_true(f32_at(a, 4) == 0.0f && signbit(f32_at(a, 4)));
    assert_true(f32_at(a, 5) == FLT_MAX);
    assert_true(f32_at(a, 6) == FLT_TRUE_MIN);
}

static void test_table_conform__float64_to_float32_only_exact(void **state)
{
    /* every value here has a float32 of the same value */
    const double ok[] = {1.5, NAN, INFINITY, -INFINITY, -0.0, FLT_MAX,
                         FLT_TRUE_MIN};
    const double first[] = {1, 2, 3}, bad[] = {4, 16777216.0, 16777217.0};
    const double tiny[] = {1e-50}, huge[] = {1e300}, nulls[] = {1e300, 2};
    const bool null0[] = {true, false};
    struct ArrowArray cols[2];
    (void)state;

    doubles(&cols[0], AR_FLOAT64, ok, 7, NULL);
    assert_ok(run1(leaf("f", AR_FLOAT32, true), leaf("f", AR_FLOAT64, true),
                   cols, 1, check_floats, NULL));

    /* 2^24 + 1 rounds to 2^24: refused, row counted across batches */
    doubles(&cols[0], AR_FLOAT64, first, 3, NULL);
    doubles(&cols[1], AR_FLOAT64, bad, 3, NULL);
    assert_error(run1(leaf("f", AR_FLOAT32, true), leaf("f", AR_FLOAT64, true),
                      cols, 2, NULL, NULL),
                 "column 'f': row 5: value 16777217 is not exactly "
                 "representable as float32");
    /* underflow to 0 and overflow to inf are refused too */
    doubles(&cols[0], AR_FLOAT64, tiny, 1, NULL);
    assert_error(run1(leaf("f", AR_FLOAT32, true), leaf("f", AR_FLOAT64, true),
                      cols, 1, NULL, NULL),
                 "column 'f': row 0: value 1e-50 is not exactly");
    doubles(&cols[0], AR_FLOAT64, huge, 1, NULL);
    assert_error(run1(leaf("f", AR_FLOAT32, true), leaf("f", AR_FLOAT64, true),
                      cols, 1, NULL, NULL),
                 "row 0: value 1e+300 is not exactly");
    /* whatever a null slot holds is not a value */
    doubles(&cols[0], AR_FLOAT64, nulls, 2, null0);
    assert_ok(run1(leaf("f", AR_FLOAT32, true), leaf("f", AR_FLOAT64, true),
                   cols, 1, NULL, NULL));
    /* float32 -> float64 is always exact */
    doubles(&cols[0], AR_FLOAT32, ok, 7, NULL);
    assert_ok(run1(leaf("f", AR_FLOAT64, true), leaf("f", AR_FLOAT32, true),
                   cols, 1, NULL, NULL));
}

/* ---- the other conversions --------------------------------------------- */

static void test_table_conform__conversion_audit(void **state)
{
    const int64_t big[] = {0, 127, 128};
    const int64_t two53[] = {9007199254740993}; /* 2^53 + 1 */
    const double *rows_bad[] = {(const double[]){1, 2, 1e300, 4}};
    const double *rows_ok[] = {(const double[]){1, 2, 0.25, -0.0}};
    const double *rows_inexact[] = {(const double[]){0.1, 16777217.0, 1e-50,
                                                     3.4e38}};
    struct ArrowArray cols[1];
    (void)state;

    /* int -> narrower int: every value checked (existing rule) */
    ints(&cols[0], AR_INT64, big, 3, NULL);
    assert_error(run1(leaf("i", AR_INT8, true), leaf("i", AR_INT64, true),
                      cols, 1, NULL, NULL),
                 "column 'i': row 2: value 128 does not fit");
    /* ints never become floats, whatever their values: refused by type */
    ints(&cols[0], AR_INT64, two53, 1, NULL);
    assert_error(run1(leaf("d", AR_FLOAT64, true), leaf("d", AR_INT64, true),
                      cols, 1, NULL, NULL),
                 "column 'd': expected float64, got int64");
    ints(&cols[0], AR_INT8, big, 2, NULL);
    assert_error(run1(leaf("d", AR_FLOAT32, true), leaf("d", AR_INT8, true),
                      cols, 1, NULL, NULL),
                 "expected float32, got int8");

    /* vector coordinates round to the nearest float32; only a value
     * beyond its range is refused */
    vectors(&cols[0], AR_LIST, 0, AR_FLOAT64, rows_bad, 1, 4);
    assert_error(run1(list_of("v", AR_FIXED_SIZE_LIST, 4, AR_FLOAT32),
                      list_of("v", AR_LIST, 0, AR_FLOAT64), cols, 1, NULL,
                      NULL),
                 "column 'v': row 0: element 2: value 1e+300 is beyond "
                 "float32's range");
    vectors(&cols[0], AR_LIST, 0, AR_FLOAT64, rows_ok, 1, 4);
    assert_ok(run1(list_of("v", AR_FIXED_SIZE_LIST, 4, AR_FLOAT32),
                   list_of("v", AR_LIST, 0, AR_FLOAT64), cols, 1, NULL,
                   NULL));
    vectors(&cols[0], AR_LIST, 0, AR_FLOAT64, rows_inexact, 1, 4);
    assert_ok(run1(list_of("v", AR_FIXED_SIZE_LIST, 4, AR_FLOAT32),
                   list_of("v", AR_LIST, 0, AR_FLOAT64), cols, 1, NULL,
                   NULL));
    /* and float32 lists widen to float64 vectors as scalars do */
    vectors(&cols[0], AR_FIXED_SIZE_LIST, 4, AR_FLOAT32, rows_ok, 1, 4);
    assert_ok(run1(list_of("v", AR_FIXED_SIZE_LIST, 4, AR_FLOAT64),
                   list_of("v", AR_FIXED_SIZE_LIST, 4, AR_FLOAT32), cols, 1,
                   NULL, NULL));
}

/* ---- UTF-8 ------------------------------------------------------------- */

static void check_text(const struct ArrowArray *b, size_t i, void *payload)
{
    const struct ArrowArray *a = b->children[0];
    (void)i;
    (void)payload;

    assert_true(str_is(a, 0, "h\xc3\xa9llo"));
    assert_true(str_is(a, 1, NULL));
    assert_true(str_is(a, 2, ""));
    assert_true(str_is(a, 3, "\xf0\x9f\x98\x80 \xe6\x97\xa5"));
}

static void test_table_conform__utf8_validated(void **state)
{
    const char *good[] = {"h\xc3\xa9llo", NULL, "",
                          "\xf0\x9f\x98\x80 \xe6\x97\xa5"};
    const char *first[] = {"a", "b"};
    const char *bad[] = {"ok", "also ok", "bad \xc0\xaf"};
    /* each string alone is invalid, their concatenation "\xc3\xa9" is not */
    const char *cut[] = {"x", "\xc3", "\xa9"};
    const char *surrogate[] = {"\xed\xa0\x80"};
    struct ArrowArray cols[2];
    (void)state;

    /* valid text passes, also with garbage behind a null slot */
    raw_strings(&cols[0], false, good, 4);
    assert_ok(run1(leaf("s", AR_UTF8, true), leaf("s", AR_UTF8, true), cols,
                   1, check_text, NULL));
    raw_strings(&cols[0], true, good, 4); /* large_utf8 -> utf8 */
    assert_ok(run1(leaf("s", AR_UTF8, true), leaf("s", AR_LARGE_UTF8, true),
                   cols, 1, check_text, NULL));

    raw_strings(&cols[0], false, first, 2);
    raw_strings(&cols[1], false, bad, 3);
    assert_error(run1(leaf("s", AR_UTF8, true), leaf("s", AR_UTF8, true),
                      cols, 2, NULL, NULL),
                 "column 's': row 4 is not valid UTF-8");
    raw_strings(&cols[0], false, cut, 3);
    assert_error(run1(leaf("s", AR_UTF8, true), leaf("s", AR_UTF8, true),
                      cols, 1, NULL, NULL),
                 "column 's': row 1 is not valid UTF-8");
    raw_strings(&cols[0], true, surrogate, 1);
    assert_error(run1(leaf("s", AR_LARGE_UTF8, true),
                      leaf("s", AR_LARGE_UTF8, true), cols, 1, NULL, NULL),
                 "column 's': row 0 is not valid UTF-8");
    /* binary columns hold any bytes */
    raw_strings(&cols[0], false, bad, 3);
    assert_ok(run1(leaf("b", AR_BINARY, true), leaf("b", AR_BINARY, true),
                   cols, 1, NULL, NULL));
}

static void test_table_conform__utf8_nested(void **state)
{
    const char *words[] = {"a", "b", "\xff", "c"};
    struct ArrowArray strs, cols[1];
    uint8_t validity = 0x3; /* rows 0 and 1 valid */
    int32_t *offs = mem_alloc(3 * sizeof *offs);
    uint8_t *bits = mem_alloc(1);
    (void)state;

    /* list<utf8> rows ["a", "b"], ["\xff", "c"] */
    raw_strings(&strs, false, words, 4);
    offs[0] = 0, offs[1] = 2, offs[2] = 4;
    *bits = validity;
    void *bufs[2] = {bits, offs};
    assert_ok(ar_array_make(&cols[0], 2, 0, 2, bufs, 1, &strs));
    assert_error(run1(list_of("t", AR_LIST, 0, AR_UTF8),
                      list_of("t", AR_LIST, 0, AR_UTF8), cols, 1, NULL, NULL),
                 "column 't': row 1 is not valid UTF-8");
}

/* ---- vectors ----------------------------------------------------------- */

static void check_null_vector(const struct ArrowArray *b, size_t i,
                              void *payload)
{
    const struct ArrowArray *a = b->children[0];
    (void)i;
    (void)payload;

    assert_int_equal(a->length, 2);
    assert_false(ar_array_is_valid(a, 0));
    assert_true(ar_array_is_valid(a, 1));
}

static void test_table_conform__vector_null_elements(void **state)
{
    const double *ok[] = {(const double[]){0, 1, 2, 3}};
    const double *holes[] = {(const double[]){1, 2, 3, 4},
                             (const double[]){1, NULL_ELEMENT, 0, 0}};
    const double *null_row[] = {NULL, (const double[]){1, 2, 3, 4}};
    struct ArrowArray cols[2];
    (void)state;

    /* same type as the table: used to be borrowed unchecked */
    vectors(&cols[0], AR_FIXED_SIZE_LIST, 4, AR_FLOAT32, ok, 1, 4);
    vectors(&cols[1], AR_FIXED_SIZE_LIST, 4, AR_FLOAT32, holes, 2, 4);
    assert_error(run1(list_of("v", AR_FIXED_SIZE_LIST, 4, AR_FLOAT32),
                      list_of("v", AR_FIXED_SIZE_LIST, 4, AR_FLOAT32), cols,
                      2, NULL, NULL),
                 "column 'v': row 2: element 1 is null");
    /* a list column of floats too */
    vectors(&cols[0], AR_LIST, 0, AR_FLOAT64, holes, 2, 4);
    assert_error(run1(list_of("v", AR_LIST, 0, AR_FLOAT64),
                      list_of("v", AR_LIST, 0, AR_FLOAT64), cols, 1, NULL,
                      NULL),
                 "column 'v': row 1: element 1 is null");
    /* converted from a list: the conversion refuses it as well */
    vectors(&cols[0], AR_LIST, 0, AR_FLOAT32, holes, 2, 4);
    assert_error(run1(list_of("v", AR_FIXED_SIZE_LIST, 4, AR_FLOAT32),
                      list_of("v", AR_LIST, 0, AR_FLOAT32), cols, 1, NULL,
                      NULL),
                 "column 'v': row 1: element 1 is null");
    /* a null vector is a null value: accepted, still null */
    vectors(&cols[0], AR_FIXED_SIZE_LIST, 4, AR_FLOAT32, null_row, 2, 4);
    assert_ok(run1(list_of("v", AR_FIXED_SIZE_LIST, 4, AR_FLOAT32),
                   list_of("v", AR_FIXED_SIZE_LIST, 4, AR_FLOAT32), cols, 1,
                   check_null_vector, NULL));
    vectors(&cols[0], AR_LIST, 0, AR_FLOAT32, null_row, 2, 4);
    assert_ok(run1(list_of("v", AR_FIXED_SIZE_LIST, 4, AR_FLOAT32),
                   list_of("v", AR_LIST, 0, AR_FLOAT32), cols, 1,
                   check_null_vector, NULL));
}

/* ---- column names ------------------------------------------------------ */

static void test_table_conform__duplicate_columns(void **state)
{
    const int64_t v[] = {1};
    struct ar_field dst_f[2] = {leaf("a", AR_INT64, true),
                                leaf("b", AR_INT64, true)};
    struct ar_field src_f[3] = {leaf("a", AR_INT64, true),
                                leaf("b", AR_INT64, true),
                                leaf("a", AR_INT64, true)};
    struct ar_schema dst, src;
    struct ArrowArray cols[3], batch;
    (void)state;

    schema_of(&dst, dst_f, 2);
    schema_of(&src, src_f, 3);
    for (int i = 0; i < 3; i++)
        ints(&cols[i], AR_INT64, v, 1, NULL);
    batch_of(&batch, cols, 3);
    assert_error(run(&dst, &src, &batch, 1, NULL, NULL),
                 "column 'a' appears more than once");
    ar_schema_free(&dst);
    ar_schema_free(&src);
}

/* ---- dictionaries ------------------------------------------------------ */

struct want_strs {
    const char *const *v;
    size_t n;
};

static void check_strs(const struct ArrowArray *b, size_t i, void *payload)
{
    const struct want_strs *w = payload;
    const struct ArrowArray *a = b->children[0];
    (void)i;

    assert_int_equal(a->length, w->n);
    for (size_t r = 0; r < w->n; r++)
        if (!str_is(a, (int64_t)r, w->v[r]))
            fail_msg("row %zu: expected %s", r, w->v[r] ? w->v[r] : "null");
}

static void test_table_conform__dictionary_decoded(void **state)
{
    static const enum ar_type index_types[] = {
        AR_INT8,  AR_INT16,  AR_INT32,  AR_INT64,
        AR_UINT8, AR_UINT16, AR_UINT32, AR_UINT64};
    const char *dict_words[] = {"zero", NULL, "two", "dr\xc3\xa9i"};
    /* index 1 names a null value; row 3's index is null (and holds 99) */
    const int64_t idx[] = {3, 0, 1, 99, 2, 0};
    const bool idx_null[] = {false, false, false, true, false, false};
    /* the column is sliced: rows 1..5 of the index array */
    const char *want[] = {"zero", NULL, NULL, "two", "zero"};
    struct want_strs w = {want, 5};
    (void)state;

    for (size_t k = 0; k < sizeof index_types / sizeof *index_types; k++) {
        struct ArrowArray dict, cols[1];
        int64_t safe[6];

        for (int i = 0; i < 6; i++)
            safe[i] = idx_null[i] ? 0 : idx[i];
        raw_strings(&dict, false, dict_words, 4);
        ints(&cols[0], index_types[k], safe, 6, idx_null);
        poke_int(&cols[0], index_types[k], 3, idx[3]);
        cols[0].offset = 1;
        cols[0].length = 5;
        cols[0].null_count = -1;
        cols[0].dictionary = &dict;
        assert_ok(run1(leaf("s", AR_UTF8, true),
                       dict_of("s", index_types[k],
                               leaf("", AR_UTF8, true)),
                       cols, 1, check_strs, &w));
        ar_array_release(&dict);
    }
}

static void check_i64(const struct ArrowArray *b, size_t i, void *payload)
{
    const struct ArrowArray *a = b->children[0];
    (void)i;
    (void)payload;

    assert_int_equal(a->length, 3);
    assert_int_equal(((const int64_t *)a->buffers[1])[a->offset + 0], -7);
    assert_int_equal(((const int64_t *)a->buffers[1])[a->offset + 1], 100);
    assert_int_equal(((const int64_t *)a->buffers[1])[a->offset + 2], -7);
}

static void test_table_conform__dictionary_values_convert(void **state)
{
    const int64_t vals[] = {-7, 100}, idx[] = {0, 1, 0}, bad_idx[] = {0, 2};
    const double fv[] = {0.5, 1e300};
    const int64_t f_idx[] = {0, 0, 1};
    const char *invalid[] = {"fine", "\xe2\x82"};
    const int64_t s_idx[] = {0, 1};
    const int64_t null_val_idx[] = {0, 1};
    const bool val_null[] = {false, true};
    struct ArrowArray dict, cols[1];
    (void)state;

    /* dictionary<int8 values> into an int64 column */
    ints(&dict, AR_INT8, vals, 2, NULL);
    ints(&cols[0], AR_INT32, idx, 3, NULL);
    cols[0].dictionary = &dict;
    assert_ok(run1(leaf("i", AR_INT64, true),
                   dict_of("i", AR_INT32, leaf("", AR_INT8, true)), cols, 1,
                   check_i64, NULL));
    ar_array_release(&dict);

    /* an index past the dictionary is refused before anything reads it */
    ints(&dict, AR_INT8, vals, 2, NULL);
    ints(&cols[0], AR_INT16, bad_idx, 2, NULL);
    cols[0].dictionary = &dict;
    assert_error(run1(leaf("i", AR_INT64, true),
                      dict_of("i", AR_INT16, leaf("", AR_INT8, true)), cols,
                      1, NULL, NULL),
                 "row 1: dictionary index 2 is out of range");
    ar_array_release(&dict);

    /* decoded values obey the same rules as plain ones */
    doubles(&dict, AR_FLOAT64, fv, 2, NULL);
    ints(&cols[0], AR_INT8, f_idx, 3, NULL);
    cols[0].dictionary = &dict;
    assert_error(run1(leaf("f", AR_FLOAT32, true),
                      dict_of("f", AR_INT8, leaf("", AR_FLOAT64, true)), cols,
                      1, NULL, NULL),
                 "column 'f': row 2: value 1e+300 is not exactly");
    ar_array_release(&dict);

    raw_strings(&dict, false, invalid, 2);
    ints(&cols[0], AR_INT8, s_idx, 2, NULL);
    cols[0].dictionary = &dict;
    assert_error(run1(leaf("s", AR_UTF8, true),
                      dict_of("s", AR_INT8, leaf("", AR_UTF8, true)), cols, 1,
                      NULL, NULL),
                 "column 's': row 1 is not valid UTF-8");
    ar_array_release(&dict);

    /* a valid index naming a null value is a null row */
    ints(&dict, AR_INT64, vals, 2, val_null);
    ints(&cols[0], AR_INT8, null_val_idx, 2, NULL);
    cols[0].dictionary = &dict;
    assert_error(run1(leaf("i", AR_INT64, false),
                      dict_of("i", AR_INT8, leaf("", AR_INT64, true)), cols,
                      1, NULL, NULL),
                 "column 'i': row 1 is null, but the column is not nullable");
    ar_array_release(&dict);

    /* values that do not convert at all: a type error naming both */
    ints(&dict, AR_INT64, vals, 2, NULL);
    ints(&cols[0], AR_INT8, null_val_idx, 2, NULL);
    cols[0].dictionary = &dict;
    assert_error(run1(leaf("s", AR_UTF8, true),
                      dict_of("s", AR_INT8, leaf("", AR_INT64, true)), cols,
                      1, NULL, NULL),
                 "column 's': expected utf8, got dictionary<values=int64, "
                 "indices=int8>");
    ar_array_release(&dict);
}

static void test_table_conform__dictionary_empty(void **state)
{
    const int64_t idx[] = {0, 0};
    const bool all_null[] = {true, true};
    const char *none[] = {NULL, NULL};
    struct want_strs w = {none, 2};
    struct ArrowArray dict, cols[1];
    (void)state;

    /* an empty dictionary: every index must be null */
    raw_strings(&dict, false, NULL, 0);
    ints(&cols[0], AR_INT32, idx, 2, all_null);
    cols[0].dictionary = &dict;
    assert_ok(run1(leaf("s", AR_UTF8, true),
                   dict_of("s", AR_INT32, leaf("", AR_UTF8, true)), cols, 1,
                   check_strs, &w));
    ar_array_release(&dict);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_conform__float64_to_float32_only_exact),
        cmocka_unit_test(test_table_conform__conversion_audit),
        cmocka_unit_test(test_table_conform__utf8_validated),
        cmocka_unit_test(test_table_conform__utf8_nested),
        cmocka_unit_test(test_table_conform__vector_null_elements),
        cmocka_unit_test(test_table_conform__duplicate_columns),
        cmocka_unit_test(test_table_conform__dictionary_decoded),
        cmocka_unit_test(test_table_conform__dictionary_values_convert),
        cmocka_unit_test(test_table_conform__dictionary_empty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
