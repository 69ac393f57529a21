/*
 * arrow_dictionary_test.c - dictionary-encoded fields and arrays: import
 * only where asked (AR_IMPORT_DICTIONARY) and one level deep, export and
 * import back unchanged, validation down to every index, and
 * ar_dictionary_decode with offsets, nulls on both sides and nested values.
 */
#include "harness.h"

#include "format/arrow/arrow.h"
#include "format/arrow/arrow_take.h"
#include "util/alloc.h"

static struct ar_field leaf(const char *name, enum ar_type t, bool nullable)
{
    struct ar_field f;

    memset(&f, 0, sizeof f);
    f.name = mem_strdup(name);
    f.type = t;
    f.nullable = nullable;
    return f;
}

/* `name`: dictionary<values, indices=index>; takes `values`. */
static struct ar_field dict_of(const char *name, enum ar_type index,
                               struct ar_field values)
{
    struct ar_field f = leaf(name, index, true);

    f.dict = mem_calloc(1, sizeof *f.dict);
    *f.dict = values;
    return f;
}

static struct ar_field vec_field(const char *name, int32_t dim)
{
    struct ar_field f = leaf(name, AR_FIXED_SIZE_LIST, true);

    f.list_size = dim;
    f.n_children = 1;
    f.children = mem_calloc(1, sizeof *f.children);
    f.children[0] = leaf("item", AR_FLOAT32, true);
    return f;
}

static void assert_err(infino_status st, infino_status want, const char *text)
{
    if (st != want)
        fail_msg("status %d, not %d: %s", (int)st, (int)want, err_last());
    if (strstr(err_last(), text) == NULL)
        fail_msg("error \"%s\" lacks \"%s\"", err_last(), text);
}

/* ---- schemas ----------------------------------------------------------- */

static void test_arrow_dictionary__import_only_where_asked(void **state)
{
    struct ar_field f = dict_of("s", AR_INT16, leaf("", AR_UTF8, true));
    struct ar_field back, list = leaf("l", AR_LIST, true);
    struct ar_schema s = {0}, got;
    struct ArrowSchema cs;
    struct buf desc = {0};
    (void)state;

    /* export and import back, with the flag: unchanged */
    assert_ok(ar_field_export(&cs, &f));
    assert_non_null(cs.dictionary);
    assert_string_equal(cs.format, "s");
    assert_string_equal(cs.dictionary->format, "u");
    assert_ok(ar_field_import_flags(&back, &cs, AR_IMPORT_DICTIONARY));
    assert_true(ar_field_equal(&f, &back));
    assert_ok(ar_type_describe(&desc, &back));
    assert_string_equal((const char *)desc.data,
                        "dictionary<values=utf8, indices=int16>");
    buf_free(&desc);
    ar_field_free(&back);
    /* without it, refused, naming the type to declare instead */
    assert_err(ar_field_import(&back, &cs), INFINO_ERR_UNSUPPORTED,
               "field 's': dictionary-encoded columns are not supported "
               "here; declare it utf8");
    cs.release(&cs);

    /* a record batch: its columns may be, their children may not */
    s.n_fields = 2;
    s.fields = mem_calloc(2, sizeof *s.fields);
    s.fields[0] = f;
    list.n_children = 1;
    list.children = mem_calloc(1, sizeof *list.children);
    list.children[0] = dict_of("item", AR_INT8, leaf("", AR_INT64, true));
    s.fields[1] = list;
    assert_ok(ar_schema_export(&cs, &s));
    assert_err(ar_schema_import_flags(&got, &cs, AR_IMPORT_DICTIONARY),
               INFINO_ERR_UNSUPPORTED,
               "field 'l.item': dictionary-encoded values inside a nested "
               "type are not supported");
    cs.release(&cs);
    ar_field_free(&s.fields[1]);
    s.n_fields = 1;
    assert_ok(ar_schema_export(&cs, &s));
    assert_ok(ar_schema_import_flags(&got, &cs, AR_IMPORT_DICTIONARY));
    assert_true(ar_schema_equal(&got, &s));
    ar_schema_free(&got);
    assert_int_equal(ar_schema_import(&got, &cs), INFINO_ERR_UNSUPPORTED);
    /* indices must be integers; values are never dictionaries again */
    cs.children[0]->format = "g";
    assert_err(ar_schema_import_flags(&got, &cs, AR_IMPORT_DICTIONARY),
               INFINO_ERR_INVALID, "dictionary indices must be integers");
    cs.children[0]->format = "s";
    {
        struct ArrowSchema *values = cs.children[0]->dictionary;
        struct ArrowSchema inner = *values; /* utf8, read only */
        const char *fmt = values->format;

        values->format = "i";
        values->dictionary = &inner;
        assert_err(ar_schema_import_flags(&got, &cs, AR_IMPORT_DICTIONARY),
                   INFINO_ERR_UNSUPPORTED,
                   "field 's.dictionary': dictionary-encoded values inside "
                   "a nested type");
        values->format = fmt;
        values->dictionary = NULL;
    }
    cs.release(&cs);
    ar_schema_free(&s);
}

/* ---- arrays ------------------------------------------------------------ */

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

static void strings(struct ArrowArray *out, const char *const *v, size_t n)
{
    struct ar_field f = leaf("x", AR_UTF8, true);
    struct ar_builder *b;

    assert_ok(ar_builder_new(&b, &f));
    for (size_t i = 0; i < n; i++) {
        if (v[i] == NULL)
            assert_ok(ar_builder_append_null(b));
        else
            assert_ok(ar_builder_append_bytes(b, v[i], strlen(v[i])));
    }
    assert_ok(ar_builder_finish(b, out));
    ar_builder_free(b);
    ar_field_free(&f);
}

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

static void test_arrow_dictionary__validate_indices(void **state)
{
    struct ar_field f = dict_of("s", AR_INT32, leaf("", AR_UTF8, true));
    struct ar_field u = dict_of("s", AR_UINT64, leaf("", AR_UTF8, true));
    const char *words[] = {"a", "b"};
    const int64_t ok[] = {0, 1, 1}, past[] = {0, 2}, negative[] = {-1};
    const bool null_row[] = {false, true};
    struct ArrowArray dict, idx;
    (void)state;

    strings(&dict, words, 2);
    ints(&idx, AR_INT32, ok, 3, NULL);
    assert_err(ar_array_validate(&f, &idx), INFINO_ERR_INVALID,
               "column 's': dictionary-encoded, but the array has no "
               "dictionary");
    idx.dictionary = &dict;
    assert_ok(ar_array_validate(&f, &idx));
    idx.release(&idx);

    ints(&idx, AR_INT32, past, 2, NULL);
    idx.dictionary = &dict;
    assert_err(ar_array_validate(&f, &idx), INFINO_ERR_INVALID,
               "column 's': row 1: dictionary index 2 is out of range (the "
               "dictionary has 2 values)");
    /* an index behind a null slot is not read */
    idx.release(&idx);
    ints(&idx, AR_INT32, past, 2, null_row);
    ((int32_t *)idx.buffers[1])[1] = 1000;
    idx.dictionary = &dict;
    assert_ok(ar_array_validate(&f, &idx));
    /* the dictionary's own offset shortens it */
    dict.offset = 1;
    dict.length = 1;
    dict.null_count = -1;
    ((int32_t *)idx.buffers[1])[0] = 1;
    assert_err(ar_array_validate(&f, &idx), INFINO_ERR_INVALID,
               "row 0: dictionary index 1 is out of range");
    dict.offset = 0;
    dict.length = 2;
    idx.release(&idx);

    ints(&idx, AR_INT32, negative, 1, NULL);
    idx.dictionary = &dict;
    assert_err(ar_array_validate(&f, &idx), INFINO_ERR_INVALID,
               "dictionary index -1 is out of range");
    idx.release(&idx);
    ints(&idx, AR_UINT64, ok, 1, NULL);
    ((uint64_t *)idx.buffers[1])[0] = UINT64_MAX;
    idx.dictionary = &dict;
    assert_err(ar_array_validate(&u, &idx), INFINO_ERR_INVALID,
               "row 0: dictionary index above 2^63-1");
    /* and a plain field given a dictionary */
    ar_field_free(&u);
    u = leaf("s", AR_UINT64, true);
    assert_err(ar_array_validate(&u, &idx), INFINO_ERR_INVALID,
               "unexpected dictionary");
    idx.release(&idx);
    dict.release(&dict);
    ar_field_free(&f);
    ar_field_free(&u);
}

static void test_arrow_dictionary__decode(void **state)
{
    struct ar_field f = dict_of("s", AR_INT8, leaf("", AR_UTF8, true));
    const char *words[] = {"skip", "zero", NULL, "two"};
    /* sliced to rows 1..4; row 3 (index slot 4) has a null index */
    const int64_t idx_v[] = {0, 2, 0, 1, 0};
    const bool idx_null[] = {false, false, false, false, true};
    struct ArrowArray dict, idx, out;
    (void)state;

    strings(&dict, words, 4);
    dict.offset = 1; /* the dictionary is {"zero", null, "two"} */
    dict.length = 3;
    dict.null_count = -1;
    ints(&idx, AR_INT8, idx_v, 5, idx_null);
    idx.offset = 1;
    idx.length = 4;
    idx.null_count = -1;
    idx.dictionary = &dict;
    assert_ok(ar_array_validate(&f, &idx));
    assert_ok(ar_dictionary_decode(&out, &f, &idx));
    assert_int_equal(out.length, 4);
    assert_true(str_is(&out, 0, "two"));
    assert_true(str_is(&out, 1, "zero"));
    assert_true(str_is(&out, 2, NULL)); /* names a null value */
    assert_true(str_is(&out, 3, NULL)); /* a null index */
    assert_int_equal(out.null_count, 2);
    out.release(&out);
    idx.release(&idx);

    /* an empty dictionary: every index is null */
    dict.length = 0;
    ints(&idx, AR_INT8, idx_v, 2, (const bool[]){true, true});
    idx.dictionary = &dict;
    assert_ok(ar_array_validate(&f, &idx));
    assert_ok(ar_dictionary_decode(&out, &f, &idx));
    assert_int_equal(out.length, 2);
    assert_int_equal(out.null_count, 2);
    assert_ok(ar_array_validate(f.dict, &out));
    out.release(&out);
    idx.release(&idx);
    dict.release(&dict);
    ar_field_free(&f);
}

static void test_arrow_dictionary__decode_vectors(void **state)
{
    struct ar_field f = dict_of("v", AR_UINT16, vec_field("", 2));
    const int64_t idx_v[] = {1, 0, 1};
    struct ar_builder *b;
    struct ArrowArray dict, idx, out;
    const float *got;
    (void)state;

    assert_ok(ar_builder_new(&b, f.dict));
    for (int i = 0; i < 2; i++) {
        assert_ok(ar_builder_append_double(ar_builder_child(b, 0), i));
        assert_ok(ar_builder_append_double(ar_builder_child(b, 0), -i));
        assert_ok(ar_builder_end_list(b));
    }
    assert_ok(ar_builder_finish(b, &dict));
    ar_builder_free(b);
    ints(&idx, AR_UINT16, idx_v, 3, NULL);
    idx.dictionary = &dict;
    assert_ok(ar_array_validate(&f, &idx));
    assert_ok(ar_dictionary_decode(&out, &f, &idx));
    assert_ok(ar_array_validate(f.dict, &out));
    got = out.children[0]->buffers[1];
    assert_true(got[0] == 1 && got[1] == -1 && got[2] == 0 && got[3] == 0 &&
                got[4] == 1 && got[5] == -1);
    out.release(&out);
    idx.release(&idx);
    dict.release(&dict);
    ar_field_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arrow_dictionary__import_only_where_asked),
        cmocka_unit_test(test_arrow_dictionary__validate_indices),
        cmocka_unit_test(test_arrow_dictionary__decode),
        cmocka_unit_test(test_arrow_dictionary__decode_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
