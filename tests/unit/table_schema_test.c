/*
 * table_schema_test.c - what catalog_create accepts: every schema and
 * name it takes can be served by every later call, and everything else is
 * refused up front with an error naming the column or the table.
 *
 * Types: each one the Parquet writer stores (scalars, and lists of one)
 * is accepted; structs, lists of lists or structs and decimals whose scale
 * Parquet cannot state are refused in words. Names: empty, "_id" and the
 * "__infino" prefix in any case, and names equal but for ASCII case are
 * refused (SQLite, which runs predicates and query_sql, cannot tell them
 * apart). Counts: 1 to TABLE_COLUMNS_MAX - 1 user columns. Table names:
 * at TABLE_NAME_MAX a table is created, written, dropped and purged; one
 * character more is refused naming the limit.
 */
#include "harness.h"
#include "table_layer_fixture.h"

/* A one-column schema whose column is `f` (moved in). */
static struct ar_schema one(struct ar_field f)
{
    struct ar_schema s;

    memset(&s, 0, sizeof s);
    s.n_fields = 1;
    s.fields = mem_calloc(1, sizeof *s.fields);
    s.fields[0] = f;
    return s;
}

/* A list-like field `t` named `name` whose item is `item` (moved in). */
static struct ar_field list_of(const char *name, enum ar_type t,
                               struct ar_field item)
{
    struct ar_field f = tf_leaf(name, t, true);

    if (t == AR_FIXED_SIZE_LIST)
        f.list_size = 2;
    f.n_children = 1;
    f.children = mem_calloc(1, sizeof *f.children);
    f.children[0] = item;
    return f;
}

static struct ar_field decimal(const char *name, int32_t p, int32_t s)
{
    struct ar_field f = tf_leaf(name, AR_DECIMAL128, true);

    f.precision = p;
    f.scale = s;
    return f;
}

static struct ar_field timestamp(const char *name)
{
    struct ar_field f = tf_leaf(name, AR_TIMESTAMP, true);

    f.unit = AR_MICRO;
    f.tz = mem_strdup("UTC");
    return f;
}

/* Checks a one-column schema of `f`: accepted, or refused with an error
 * holding `needle`. */
static void expect_schema(struct ar_field f, const char *needle)
{
    struct ar_schema s = one(f);
    infino_status st = catalog_check_schema(&s);

    if (needle == NULL) {
        if (st != INFINO_OK)
            fail_msg("column '%s' refused: %s", f.name, err_last());
    } else {
        if (st != INFINO_ERR_INVALID)
            fail_msg("column '%s' accepted (%d), expected '%s'", f.name,
                     (int)st, needle);
        if (strstr(err_last(), needle) == NULL)
            fail_msg("'%s' not in '%s'", needle, err_last());
    }
    ar_schema_free(&s);
}

static void test_table_schema__every_stored_type_is_accepted(void **state)
{
    static const enum ar_type scalars[] = {
        AR_BOOL,   AR_INT8,    AR_INT16,     AR_INT32,       AR_INT64,
        AR_UINT8,  AR_UINT16,  AR_UINT32,    AR_UINT64,      AR_FLOAT32,
        AR_FLOAT64, AR_UTF8,   AR_LARGE_UTF8, AR_BINARY,     AR_LARGE_BINARY,
        AR_DATE32,
    };
    static const enum ar_type lists[] = {AR_LIST, AR_LARGE_LIST,
                                         AR_FIXED_SIZE_LIST};
    (void)state;

    for (size_t i = 0; i < sizeof scalars / sizeof *scalars; i++) {
        expect_schema(tf_leaf("c", scalars[i], true), NULL);
        for (size_t l = 0; l < 3; l++)
            expect_schema(list_of("c", lists[l],
                                  tf_leaf("item", scalars[i], true)),
                          NULL);
    }
    expect_schema(timestamp("c"), NULL);
    expect_schema(decimal("c", 1, 0), NULL);
    expect_schema(decimal("c", 38, 38), NULL);
    for (size_t l = 0; l < 3; l++) {
        expect_schema(list_of("c", lists[l], timestamp("item")), NULL);
        expect_schema(list_of("c", lists[l], decimal("item", 10, 2)), NULL);
    }
}

static void test_table_schema__unservable_types_are_refused(void **state)
{
    struct ar_field st;
    (void)state;

    /* a struct column: the Parquet writer stores no structs */
    st = tf_leaf("point", AR_STRUCT, true);
    st.n_children = 2;
    st.children = mem_calloc(2, sizeof *st.children);
    st.children[0] = tf_leaf("x", AR_INT32, true);
    st.children[1] = tf_leaf("y", AR_UTF8, true);
    expect_schema(st, "column 'point': type struct<x: int32, y: utf8> is "
                      "not supported (supported: bool,");
    /* lists of lists and of structs */
    expect_schema(list_of("ll", AR_LIST,
                          list_of("item", AR_LIST,
                                  tf_leaf("item", AR_INT32, true))),
                  "column 'll': type list<list<int32>> is not supported");
    expect_schema(list_of("ff", AR_FIXED_SIZE_LIST,
                          list_of("item", AR_FIXED_SIZE_LIST,
                                  tf_leaf("item", AR_FLOAT32, true))),
                  "column 'ff': type fixed_size_list<fixed_size_list<"
                  "float32, 2>, 2> is not supported");
    st = tf_leaf("item", AR_STRUCT, true);
    st.n_children = 1;
    st.children = mem_calloc(1, sizeof *st.children);
    st.children[0] = tf_leaf("a", AR_INT64, true);
    expect_schema(list_of("ls", AR_LARGE_LIST, st),
                  "column 'ls': type large_list<struct<a: int64>> is not "
                  "supported");
    /* decimals Parquet cannot describe (its scale is 0..precision) */
    expect_schema(decimal("d", 5, -2),
                  "column 'd': type decimal128(5, -2) is not supported");
    expect_schema(decimal("d", 5, 6),
                  "column 'd': type decimal128(5, 6) is not supported");
    expect_schema(list_of("ld", AR_LIST, decimal("item", 5, -1)),
                  "column 'ld': type list<decimal128(5, -1)>");
}

/* A schema of utf8 columns with the given names. */
static infino_status check_names(const char *const *names, size_t n)
{
    struct ar_schema s;
    infino_status st;

    memset(&s, 0, sizeof s);
    s.n_fields = n;
    s.fields = mem_calloc(n, sizeof *s.fields);
    for (size_t i = 0; i < n; i++)
        s.fields[i] = tf_leaf(names[i], AR_UTF8, true);
    st = catalog_check_schema(&s);
    ar_schema_free(&s);
    return st;
}

#define EXPECT_NAMES(needle, ...)                                              \
    do {                                                                       \
        const char *const names_[] = {__VA_ARGS__};                            \
        infino_status st_ =                                                    \
            check_names(names_, sizeof names_ / sizeof *names_);               \
        if ((needle) == NULL && st_ != INFINO_OK)                              \
            fail_msg("refused: %s", err_last());                               \
        if ((needle) != NULL &&                                                \
            (st_ != INFINO_ERR_INVALID ||                                      \
             strstr(err_last(), (needle) ? (needle) : "") == NULL))            \
            fail_msg("expected '%s', got %d '%s'", (needle) ? (needle) : "",   \
                     (int)st_, err_last());                                    \
    } while (0)

static void test_table_schema__names(void **state)
{
    const char *none = NULL;
    (void)state;

    EXPECT_NAMES("columns 'Name' and 'name' differ only in case", "a",
                 "Name", "name");
    EXPECT_NAMES("columns 'BODY' and 'body' differ only in case", "BODY",
                 "x", "body");
    EXPECT_NAMES("column 'k' appears twice", "k", "k");
    EXPECT_NAMES("column '_id' is reserved", "a", "_id");
    EXPECT_NAMES("column '_ID' is reserved", "_ID");
    EXPECT_NAMES("column '_Id' is reserved", "_Id");
    EXPECT_NAMES("column '__infino_row': names starting with '__infino'",
                 "__infino_row");
    EXPECT_NAMES("column '__INFINO': names starting", "ok", "__INFINO");
    EXPECT_NAMES("column '__InFiNo_arg0'", "__InFiNo_arg0");
    EXPECT_NAMES("column 2 has an empty name", "a", "");
    /* what stays allowed: other underscores, case differences SQLite
     * does see (it folds ASCII only), SQL words, score and rowid */
    EXPECT_NAMES(none, "_idx", "id_", "__inf", "_infino", "x__infino");
    EXPECT_NAMES(none, "\xc3\x84", "\xc3\xa4"); /* A and a with umlaut */
    EXPECT_NAMES(none, "score", "rowid", "select", "a b", "q\"x");
}

static void test_table_schema__column_count(void **state)
{
    struct ar_schema s;
    char name[32];
    (void)state;

    memset(&s, 0, sizeof s);
    assert_int_equal(catalog_check_schema(&s), INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "at least one column"));

    s.fields = mem_calloc(TABLE_COLUMNS_MAX, sizeof *s.fields);
    for (size_t i = 0; i < TABLE_COLUMNS_MAX; i++) {
        snprintf(name, sizeof name, "c%zu", i);
        s.fields[i] = tf_leaf(name, AR_INT32, true);
    }
    s.n_fields = TABLE_COLUMNS_MAX - 1; /* + _id: the most allowed */
    assert_ok(catalog_check_schema(&s));
    s.n_fields = TABLE_COLUMNS_MAX;
    assert_int_equal(catalog_check_schema(&s), INFINO_ERR_INVALID);
    snprintf(name, sizeof name, "at most %d", TABLE_COLUMNS_MAX);
    assert_non_null(strstr(err_last(), name));
    ar_schema_free(&s);
}

/* catalog_create itself refuses (not only its callers), before anything
 * is published. */
static void test_table_schema__create_refuses_and_publishes_nothing(
    void **state)
{
    struct tl_world w;
    struct ar_schema s;
    struct sf_index_spec spec = {0};
    struct cat_entry e = {0};
    struct catalog c = {0};
    const char *const names[] = {"Body", "body"};
    (void)state;

    tl_world_open(&w, "schema-refused");
    memset(&s, 0, sizeof s);
    s.n_fields = 2;
    s.fields = mem_calloc(2, sizeof *s.fields);
    for (size_t i = 0; i < 2; i++)
        s.fields[i] = tf_leaf(names[i], AR_UTF8, true);
    assert_int_equal(catalog_create(&e, w.store, "t", &s, &spec),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "differ only in case"));
    assert_ok(catalog_load(&c, w.store));
    assert_int_equal(c.n, 0);
    catalog_free(&c);
    ar_schema_free(&s);
    tl_world_close(&w);
}

/* A table named with TABLE_NAME_MAX characters lives a whole life; one
 * more character is refused. Storage keys built from the name (its
 * folder, the drop marker, their temporaries) must all fit. */
static void test_table_schema__longest_table_name(void **state)
{
    struct tl_world w;
    struct tbl *t = NULL;
    char name[TABLE_NAME_MAX + 2], dir[400], want[64];
    (void)state;

    tl_world_open(&w, "schema-name");
    memset(name, 'n', TABLE_NAME_MAX + 1);
    name[TABLE_NAME_MAX + 1] = '\0';
    assert_int_equal(tl_create(&t, w.store, name), INFINO_ERR_INVALID);
    snprintf(want, sizeof want, "use 1-%d characters", TABLE_NAME_MAX);
    assert_non_null(strstr(err_last(), want));
    assert_non_null(strstr(err_last(), "(222 characters)"));

    name[TABLE_NAME_MAX] = '\0';
    assert_ok(tl_create(&t, w.store, name));
    assert_ok(tl_append(t, 1, 10));
    assert_ok(tl_append(t, 11, 5));
    tl_assert_check(t, 15, "longest name");
    tl_table_dir(dir, sizeof dir, w.store, name);
    tbl_close(t);
    assert_ok(tl_open(&t, w.store, name));
    tbl_close(t);
    assert_ok(tl_drop(w.store, name, true));
    assert_false(tl_path_exists(w.dir, dir));
    assert_int_equal(tl_open(&t, w.store, name), INFINO_ERR_NOTFOUND);
    tl_world_close(&w);
}

/* Catalogs written when names of up to 255 characters were accepted
 * still load. */
static void test_table_schema__stored_long_names_still_load(void **state)
{
    struct catalog c = {0}, back = {0};
    struct buf doc = {0};
    struct cat_entry e;
    char name[256];
    (void)state;

    memset(name, 'o', 255);
    name[255] = '\0';
    memset(&e, 0, sizeof e);
    e.name = name;
    e.dir = (char *)"tables/old/";
    tf_schema(&e.schema);
    c.n = 1;
    c.entries = &e;
    assert_ok(catalog_encode(&doc, &c));
    assert_ok(catalog_decode(&back, doc.data, doc.len, "v1"));
    assert_int_equal(back.n, 1);
    assert_string_equal(back.entries[0].name, name);
    catalog_free(&back);
    buf_free(&doc);
    ar_schema_free(&e.schema);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_table_schema__every_stored_type_is_accepted),
        cmocka_unit_test(test_table_schema__unservable_types_are_refused),
        cmocka_unit_test(test_table_schema__names),
        cmocka_unit_test(test_table_schema__column_count),
        cmocka_unit_test(
            test_table_schema__create_refuses_and_publishes_nothing),
        cmocka_unit_test(test_table_schema__longest_table_name),
        cmocka_unit_test(test_table_schema__stored_long_names_still_load),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
