/*
 * arrow_schema_test.c - C Data Interface schema import/export, format
 * strings, metadata encoding, copy/equal/describe, and allocation failure.
 *
 * Foreign schemas come from a tiny producer written here (malloc'd nodes
 * with their own release callback), independent of the code under test.
 */
#include "harness.h"

#include "format/arrow/arrow.h"
#include "format/arrow/arrow_int.h"
#include "util/alloc.h"

#include <stdarg.h>

/* ---- a foreign producer ----------------------------------------------- */

static int n_live_nodes; /* producer nodes not yet released */

static void t_release(struct ArrowSchema *s)
{
    for (int64_t i = 0; i < s->n_children; i++) {
        if (s->children[i]->release != NULL)
            s->children[i]->release(s->children[i]);
        free(s->children[i]);
    }
    free(s->children);
    free((char *)s->format);
    free((char *)s->name);
    free((char *)s->metadata);
    s->release = NULL;
    n_live_nodes--;
}

/* A heap node with `n` children given as further arguments (taken). */
static struct ArrowSchema *node(const char *fmt, const char *name,
                                int64_t flags, int n, ...)
{
    struct ArrowSchema *s = calloc(1, sizeof *s);
    va_list ap;

    s->format = strdup(fmt);
    s->name = name ? strdup(name) : NULL;
    s->flags = flags;
    s->n_children = n;
    s->children = n ? calloc((size_t)n, sizeof *s->children) : NULL;
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        s->children[i] = va_arg(ap, struct ArrowSchema *);
    va_end(ap);
    s->release = t_release;
    n_live_nodes++;
    return s;
}

static void drop(struct ArrowSchema *s)
{
    if (s->release != NULL)
        s->release(s);
    free(s);
}

/* The spec's metadata encoding, built independently: pairs of C strings,
 * NULL-terminated argument list. */
static char *meta(int n, ...)
{
    size_t cap = 4, len = 4;
    char *m = malloc(cap);
    va_list ap;
    int32_t v = n;

    memcpy(m, &v, 4);
    va_start(ap, n);
    for (int i = 0; i < 2 * n; i++) {
        const char *s = va_arg(ap, const char *);
        int32_t l = (int32_t)strlen(s);
        m = realloc(m, len + 4 + (size_t)l);
        memcpy(m + len, &l, 4);
        memcpy(m + len + 4, s, (size_t)l);
        len += 4 + (size_t)l;
    }
    va_end(ap);
    return m;
}

#define F_NULL ARROW_FLAG_NULLABLE

/* ---- formats ---------------------------------------------------------- */

struct fmt_case {
    const char *fmt;
    enum ar_type type;
    const char *describe;
};

static const struct fmt_case leaf_formats[] = {
    {"b", AR_BOOL, "bool"},
    {"c", AR_INT8, "int8"},
    {"s", AR_INT16, "int16"},
    {"i", AR_INT32, "int32"},
    {"l", AR_INT64, "int64"},
    {"C", AR_UINT8, "uint8"},
    {"S", AR_UINT16, "uint16"},
    {"I", AR_UINT32, "uint32"},
    {"L", AR_UINT64, "uint64"},
    {"f", AR_FLOAT32, "float32"},
    {"g", AR_FLOAT64, "float64"},
    {"u", AR_UTF8, "utf8"},
    {"U", AR_LARGE_UTF8, "large_utf8"},
    {"z", AR_BINARY, "binary"},
    {"Z", AR_LARGE_BINARY, "large_binary"},
    {"tdD", AR_DATE32, "date32"},
    {"tss:", AR_TIMESTAMP, "timestamp[s]"},
    {"tsm:", AR_TIMESTAMP, "timestamp[ms]"},
    {"tsu:", AR_TIMESTAMP, "timestamp[us]"},
    {"tsn:", AR_TIMESTAMP, "timestamp[ns]"},
    {"tsu:UTC", AR_TIMESTAMP, "timestamp[us, tz=UTC]"},
    {"tsn:America/New_York", AR_TIMESTAMP,
     "timestamp[ns, tz=America/New_York]"},
    {"tss:+07:30", AR_TIMESTAMP, "timestamp[s, tz=+07:30]"},
    {"d:38,10", AR_DECIMAL128, "decimal128(38, 10)"},
    {"d:1,0", AR_DECIMAL128, "decimal128(1, 0)"},
    {"d:5,-2", AR_DECIMAL128, "decimal128(5, -2)"},
};

static void test_arrow_schema__every_leaf_format_round_trips(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof leaf_formats / sizeof *leaf_formats; i++) {
        const struct fmt_case *c = &leaf_formats[i];
        struct ArrowSchema *in = node(c->fmt, "col", F_NULL, 0);
        struct ArrowSchema out;
        struct ar_field f, back;
        struct buf d = {0};

        assert_ok(ar_field_import(&f, in));
        assert_int_equal(f.type, c->type);
        assert_string_equal(f.name, "col");
        assert_true(f.nullable);
        assert_ok(ar_type_describe(&d, &f));
        assert_string_equal((char *)d.data, c->describe);
        assert_int_equal(d.len, strlen(c->describe));
        assert_ok(ar_field_export(&out, &f));
        assert_string_equal(out.format, c->fmt);
        assert_string_equal(out.name, "col");
        assert_int_equal(out.flags, ARROW_FLAG_NULLABLE);
        assert_null(out.metadata);
        assert_ok(ar_field_import(&back, &out));
        assert_true(ar_field_equal(&f, &back));
        out.release(&out);
        assert_null(out.release);
        ar_field_free(&f);
        ar_field_free(&back);
        buf_free(&d);
        drop(in);
    }
    assert_int_equal(n_live_nodes, 0);
}

static void test_arrow_schema__decimal_and_timestamp_params(void **state)
{
    struct ar_field f;
    struct ArrowSchema *in;
    (void)state;

    in = node("d:19,4,128", "", 0, 0); /* explicit default bit width */
    assert_ok(ar_field_import(&f, in));
    assert_int_equal(f.type, AR_DECIMAL128);
    assert_int_equal(f.precision, 19);
    assert_int_equal(f.scale, 4);
    assert_false(f.nullable);
    ar_field_free(&f);
    drop(in);

    in = node("tsm:Europe/Paris", NULL, 0, 0);
    assert_ok(ar_field_import(&f, in));
    assert_int_equal(f.unit, AR_MILLI);
    assert_string_equal(f.tz, "Europe/Paris");
    assert_string_equal(f.name, ""); /* NULL name reads as "" */
    ar_field_free(&f);
    drop(in);

    in = node("tsn:", "t", 0, 0);
    assert_ok(ar_field_import(&f, in));
    assert_int_equal(f.unit, AR_NANO);
    assert_null(f.tz); /* empty zone = no zone */
    ar_field_free(&f);
    drop(in);
}

static void expect_reject(struct ArrowSchema *in, infino_status want,
                          const char *needle)
{
    struct ar_field f;
    infino_status st = ar_field_import(&f, in);

    if (st != want)
        fail_msg("format '%s': got %d (%s), want %d", in->format, (int)st,
                 err_last(), (int)want);
    if (needle != NULL && strstr(err_last(), needle) == NULL)
        fail_msg("'%s' not in '%s'", needle, err_last());
    /* *out is zeroed on failure */
    assert_null(f.name);
    assert_null(f.children);
    drop(in);
}

static void test_arrow_schema__rejects_bad_formats(void **state)
{
    static const struct {
        const char *fmt;
        infino_status st;
    } cases[] = {
        {"", INFINO_ERR_INVALID},       {"i123", INFINO_ERR_INVALID},
        {"ii", INFINO_ERR_INVALID},     {"u ", INFINO_ERR_INVALID},
        {"tdDx", INFINO_ERR_INVALID},   {"ts", INFINO_ERR_INVALID},
        {"tsu", INFINO_ERR_INVALID},    {"tsx:", INFINO_ERR_INVALID},
        {"d:", INFINO_ERR_INVALID},     {"d:10", INFINO_ERR_INVALID},
        {"d", INFINO_ERR_INVALID},      {"d10,2", INFINO_ERR_INVALID},
        {"+w", INFINO_ERR_INVALID},     {"+w3", INFINO_ERR_INVALID},
        {"d:10,", INFINO_ERR_INVALID},  {"d:0,0", INFINO_ERR_INVALID},
        {"d:39,2", INFINO_ERR_INVALID}, {"d:10,2,", INFINO_ERR_INVALID},
        {"d:10,2,12", INFINO_ERR_INVALID},
        {"d:10,2,128x", INFINO_ERR_INVALID},
        {"d:+5,2", INFINO_ERR_INVALID}, {"d:99999999999,2", INFINO_ERR_INVALID},
        {"d:10,2,256", INFINO_ERR_UNSUPPORTED},
        {"d:10,2,64", INFINO_ERR_UNSUPPORTED},
        {"n", INFINO_ERR_UNSUPPORTED},  {"e", INFINO_ERR_UNSUPPORTED},
        {"vu", INFINO_ERR_UNSUPPORTED}, {"vz", INFINO_ERR_UNSUPPORTED},
        {"w:16", INFINO_ERR_UNSUPPORTED},
        {"tdm", INFINO_ERR_UNSUPPORTED},
        {"tts", INFINO_ERR_UNSUPPORTED},
        {"tDs", INFINO_ERR_UNSUPPORTED},
        {"tiM", INFINO_ERR_UNSUPPORTED},
        {"+m", INFINO_ERR_UNSUPPORTED}, {"+ud:0,1", INFINO_ERR_UNSUPPORTED},
        {"+r", INFINO_ERR_UNSUPPORTED}, {"+vl", INFINO_ERR_UNSUPPORTED},
        {"#", INFINO_ERR_UNSUPPORTED},
    };
    (void)state;
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++)
        expect_reject(node(cases[i].fmt, "x", 0, 0), cases[i].st, "'x'");
    /* nested formats with junk or bad sizes */
    expect_reject(node("+lx", "l", 0, 1, node("i", "item", 0, 0)),
                  INFINO_ERR_INVALID, "malformed format '+lx'");
    expect_reject(node("+sx", "s", 0, 0), INFINO_ERR_INVALID, NULL);
    expect_reject(node("+w:", "w", 0, 1, node("i", "item", 0, 0)),
                  INFINO_ERR_INVALID, NULL);
    expect_reject(node("+w:-1", "w", 0, 1, node("i", "item", 0, 0)),
                  INFINO_ERR_INVALID, NULL);
    expect_reject(node("+w:3x", "w", 0, 1, node("i", "item", 0, 0)),
                  INFINO_ERR_INVALID, NULL);
    expect_reject(node("+w:2147483648", "w", 0, 1, node("i", "item", 0, 0)),
                  INFINO_ERR_INVALID, NULL);
    assert_int_equal(n_live_nodes, 0);
}

static void test_arrow_schema__unsupported_names_the_path(void **state)
{
    struct ArrowSchema *in =
        node("+s", "", 0, 2, node("i", "id", 0, 0),
             node("+w:384", "emb", F_NULL, 1, node("e", "item", F_NULL, 0)));
    struct ar_schema s;
    (void)state;

    assert_int_equal(ar_schema_import(&s, in), INFINO_ERR_UNSUPPORTED);
    assert_non_null(strstr(err_last(), "field 'emb.item': type float16 "
                                       "(format 'e') is not supported"));
    assert_null(s.fields);
    drop(in);
}

/* Every type of the C data interface we do not import is named in
 * Arrow's words, so that a user never has to decode a format string. */
static void test_arrow_schema__unsupported_types_named_in_words(void **state)
{
    static const struct {
        const char *fmt, *words;
    } cases[] = {
        {"n", "type null (format 'n')"},
        {"e", "type float16 (format 'e')"},
        {"vu", "type string_view (format 'vu')"},
        {"vz", "type binary_view (format 'vz')"},
        {"w:4", "type fixed_size_binary(4) (format 'w:4')"},
        {"tdm", "type date64 (format 'tdm')"},
        {"tts", "type time32[s] (format 'tts')"},
        {"ttm", "type time32[ms] (format 'ttm')"},
        {"ttu", "type time64[us] (format 'ttu')"},
        {"ttn", "type time64[ns] (format 'ttn')"},
        {"tDs", "type duration[s] (format 'tDs')"},
        {"tDn", "type duration[ns] (format 'tDn')"},
        {"tiM", "type interval[months] (format 'tiM')"},
        {"tiD", "type interval[day_time] (format 'tiD')"},
        {"tin", "type interval[month_day_nano] (format 'tin')"},
        {"d:9,2,32", "type decimal32(9, 2) (format 'd:9,2,32')"},
        {"d:18,3,64", "type decimal64(18, 3) (format 'd:18,3,64')"},
        {"d:40,2,256", "type decimal256(40, 2) (format 'd:40,2,256')"},
        {"+m", "type map (format '+m')"},
        {"+ud:0,1", "type dense_union (format '+ud:0,1')"},
        {"+us:0", "type sparse_union (format '+us:0')"},
        {"+vl", "type list_view (format '+vl')"},
        {"+vL", "type large_list_view (format '+vL')"},
        {"+r", "type run_end_encoded (format '+r')"},
        {"#", "unknown type (format '#')"},
        {"w:99999999999", "unknown type (format 'w:99999999999')"},
    };
    char want[200];
    (void)state;

    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        snprintf(want, sizeof want, "field 'x': %s", cases[i].words);
        expect_reject(node(cases[i].fmt, "x", 0, 0), INFINO_ERR_UNSUPPORTED,
                      want);
    }
    assert_int_equal(n_live_nodes, 0);
}

static void test_arrow_schema__rejects_bad_children(void **state)
{
    struct ArrowSchema *in;
    (void)state;

    /* child counts per type */
    expect_reject(node("+l", "l", 0, 0), INFINO_ERR_INVALID,
                  "list has 0 children, expected 1");
    expect_reject(node("i", "i", 0, 1, node("i", "c", 0, 0)),
                  INFINO_ERR_INVALID, "int32 has 1 children, expected 0");
    expect_reject(node("+w:3", "w", 0, 2, node("f", "a", 0, 0),
                       node("f", "b", 0, 0)),
                  INFINO_ERR_INVALID, "expected 1");
    /* children NULL with n_children > 0 */
    in = node("+s", "s", 0, 0);
    in->n_children = 2;
    {
        struct ar_field f;
        assert_int_equal(ar_field_import(&f, in), INFINO_ERR_INVALID);
        assert_non_null(strstr(err_last(), "children is NULL"));
    }
    in->n_children = 0;
    drop(in);
    /* a NULL child pointer */
    in = node("+s", "s", 0, 0);
    {
        struct ar_field f;
        struct ArrowSchema *kids[1] = {NULL};
        in->children = kids;
        in->n_children = 1;
        assert_int_equal(ar_field_import(&f, in), INFINO_ERR_INVALID);
        assert_non_null(strstr(err_last(), "child 0 is NULL"));
        in->children = NULL;
        in->n_children = 0;
    }
    drop(in);
    /* negative n_children */
    in = node("+s", "s", 0, 0);
    in->n_children = -1;
    {
        struct ar_field f;
        assert_int_equal(ar_field_import(&f, in), INFINO_ERR_INVALID);
    }
    in->n_children = 0;
    drop(in);
    assert_int_equal(n_live_nodes, 0);
}

static void test_arrow_schema__rejects_released_and_dictionary(void **state)
{
    struct ArrowSchema *in, *dict;
    struct ar_field f;
    (void)state;

    in = node("i", "x", 0, 0);
    in->release(in);
    assert_int_equal(ar_field_import(&f, in), INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "released"));
    free(in);

    /* a released child */
    in = node("+s", "s", 0, 1, node("i", "a", 0, 0));
    in->children[0]->release(in->children[0]);
    expect_reject(in, INFINO_ERR_INVALID, "released");

    /* dictionary-encoded: the format is the index type */
    in = node("i", "cat", 0, 0);
    dict = node("u", NULL, 0, 0);
    in->dictionary = dict;
    assert_int_equal(ar_field_import(&f, in), INFINO_ERR_UNSUPPORTED);
    assert_non_null(strstr(err_last(), "dictionary"));
    in->dictionary = NULL;
    drop(dict);
    drop(in);
    assert_int_equal(n_live_nodes, 0);
}

static void test_arrow_schema__depth_cap(void **state)
{
    struct ArrowSchema *in;
    struct ar_field f;
    (void)state;

    /* 64 nested lists + leaf: depth 64 is the deepest accepted node */
    in = node("i", "item", 0, 0);
    for (int d = 0; d < AR_MAX_DEPTH; d++)
        in = node("+l", "item", 0, 1, in);
    assert_ok(ar_field_import(&f, in));
    ar_field_free(&f);
    in = node("+l", "item", 0, 1, in);
    assert_int_equal(ar_field_import(&f, in), INFINO_ERR_UNSUPPORTED);
    assert_non_null(strstr(err_last(), "nested deeper than 64 levels"));
    drop(in);
    assert_int_equal(n_live_nodes, 0);
}

static void test_arrow_schema__schema_root_must_be_struct(void **state)
{
    struct ArrowSchema *in = node("+l", "", 0, 1, node("i", "item", 0, 0));
    struct ar_schema s;
    (void)state;

    assert_int_equal(ar_schema_import(&s, in), INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "root must be a struct"));
    drop(in);
}

static void test_arrow_schema__metadata(void **state)
{
    struct ArrowSchema *in = node("+s", "", 0, 1, node("u", "body", F_NULL, 0));
    struct ArrowSchema out;
    struct ar_schema s, back;
    const struct ar_kv *kv;
    static const char spec_example[] =
        "\x01\x00\x00\x00\x04\x00\x00\x00key1\x06\x00\x00\x00value1";
    (void)state;

    /* the spec's own example bytes, on the root */
    in->metadata = malloc(sizeof spec_example);
    memcpy((char *)in->metadata, spec_example, sizeof spec_example);
    in->children[0]->metadata = meta(2, "a", "", "ARROW:extension:name", "x");
    assert_ok(ar_schema_import(&s, in));
    assert_int_equal(s.n_meta, 1);
    assert_string_equal(s.meta[0].key, "key1");
    assert_int_equal(s.meta[0].value_len, 6);
    assert_string_equal(s.meta[0].value, "value1");
    assert_int_equal(s.fields[0].n_meta, 2);
    assert_string_equal(s.fields[0].meta[0].key, "a");
    assert_int_equal(s.fields[0].meta[0].value_len, 0);
    assert_string_equal(s.fields[0].meta[1].value, "x");

    /* binary values with NUL bytes survive set/export/import */
    assert_ok(ar_schema_set_meta(&s, "bin", "a\0b", 3));
    assert_ok(ar_schema_set_meta(&s, "key1", "v2", 2)); /* replace */
    assert_int_equal(s.n_meta, 2);
    kv = ar_schema_get_meta(&s, "bin");
    assert_non_null(kv);
    assert_int_equal(kv->value_len, 3);
    assert_memory_equal(kv->value, "a\0b", 4);
    assert_null(ar_schema_get_meta(&s, "nope"));

    assert_ok(ar_schema_export(&out, &s));
    /* the exported encoding is exactly the spec's layout */
    {
        int32_t n;
        memcpy(&n, out.metadata, 4);
        assert_int_equal(n, 2);
        assert_memory_equal(out.metadata + 4, "\x04\x00\x00\x00key1", 8);
    }
    assert_string_equal(out.format, "+s");
    assert_ok(ar_schema_import(&back, &out));
    assert_true(ar_schema_equal(&s, &back));
    assert_true(ar_kv_equal(s.meta, s.n_meta, back.meta, back.n_meta));
    assert_true(ar_kv_equal(s.fields[0].meta, s.fields[0].n_meta,
                            back.fields[0].meta, back.fields[0].n_meta));
    out.release(&out);
    ar_schema_free(&s);
    ar_schema_free(&back);
    drop(in);
}

static void test_arrow_schema__rejects_bad_metadata(void **state)
{
    struct ArrowSchema *in;
    char *m;
    int32_t v;
    (void)state;

    in = node("i", "x", 0, 0);
    m = meta(0);
    v = -1;
    memcpy(m, &v, 4);
    in->metadata = m;
    expect_reject(in, INFINO_ERR_INVALID, "-1 pairs");

    in = node("i", "x", 0, 0);
    m = meta(1, "key", "value");
    v = -5;
    memcpy(m + 4, &v, 4); /* key length */
    in->metadata = m;
    expect_reject(in, INFINO_ERR_INVALID, "negative length");

    in = node("i", "x", 0, 0);
    m = meta(1, "key", "value");
    v = -5;
    memcpy(m + 4 + 4 + 3, &v, 4); /* value length */
    in->metadata = m;
    expect_reject(in, INFINO_ERR_INVALID, "negative length");

    in = node("i", "x", 0, 0);
    m = meta(1, "k\x01y", "value");
    m[4 + 4 + 1] = '\0'; /* a NUL inside the key */
    in->metadata = m;
    expect_reject(in, INFINO_ERR_INVALID, "NUL");
}

/* A nested schema exercising every nested type. */
static struct ArrowSchema *nested_schema(void)
{
    struct ArrowSchema *s = node(
        "+s", "", 0, 4, node("l", "id", 0, 0),
        node("+w:3", "emb", F_NULL, 1, node("f", "item", 0, 0)),
        node("+L", "docs", F_NULL, 1,
             node("+s", "item", F_NULL, 2, node("U", "text", F_NULL, 0),
                  node("+l", "tags", F_NULL, 1,
                       node("u", "item", F_NULL, 0)))),
        node("+s", "meta", 0, 2, node("tsu:UTC", "at", F_NULL, 0),
             node("d:10,2", "price", F_NULL, 0)));
    s->children[1]->metadata = meta(1, "dim", "3");
    s->metadata = meta(1, "pandas", "{}");
    return s;
}

static void test_arrow_schema__nested_round_trip(void **state)
{
    struct ArrowSchema *in = nested_schema();
    struct ArrowSchema out;
    struct ar_schema s, back, copy;
    struct buf d = {0};
    (void)state;

    assert_ok(ar_schema_import(&s, in));
    assert_int_equal(s.n_fields, 4);
    assert_int_equal(ar_schema_find(&s, "docs"), 2);
    assert_int_equal(ar_schema_find(&s, "nope"), -1);
    assert_ok(ar_type_describe(&d, &s.fields[2]));
    assert_string_equal((char *)d.data,
                        "large_list<struct<text: large_utf8, tags: "
                        "list<utf8>>>");
    buf_reset(&d);
    assert_ok(ar_type_describe(&d, &s.fields[1]));
    assert_string_equal((char *)d.data, "fixed_size_list<float32, 3>");
    assert_int_equal(s.fields[1].list_size, 3);
    assert_false(s.fields[1].children[0].nullable);

    assert_ok(ar_schema_export(&out, &s));
    assert_int_equal(out.n_children, 4);
    assert_string_equal(out.children[2]->children[0]->children[1]->format,
                        "+l");
    assert_ok(ar_schema_import(&back, &out));
    assert_true(ar_schema_equal(&s, &back));
    assert_true(ar_kv_equal(s.fields[1].meta, s.fields[1].n_meta,
                            back.fields[1].meta, back.fields[1].n_meta));
    out.release(&out);

    assert_ok(ar_schema_copy(&copy, &s));
    assert_true(ar_schema_equal(&s, &copy));
    assert_true(ar_kv_equal(s.meta, s.n_meta, copy.meta, copy.n_meta));
    ar_schema_free(&copy);
    ar_schema_free(&back);
    ar_schema_free(&s);
    ar_schema_free(&s); /* a zeroed schema frees again */
    ar_schema_free(NULL);
    ar_field_free(NULL);
    buf_free(&d);
    drop(in);
    assert_int_equal(n_live_nodes, 0);
}

/* Consumers may move children out of an exported schema and release them
 * separately (C data interface, "Moving child arrays"); ASan checks that
 * nothing is freed twice or leaked. */
static void test_arrow_schema__export_move_semantics(void **state)
{
    struct ArrowSchema *in = nested_schema();
    struct ArrowSchema out, moved_root, moved_child;
    struct ar_schema s, check;
    (void)state;

    assert_ok(ar_schema_import(&s, in));
    assert_ok(ar_schema_export(&out, &s));
    moved_root = out; /* move the root: bitwise copy, mark source */
    out.release = NULL;
    moved_child = *moved_root.children[2];
    moved_root.children[2]->release = NULL;
    moved_root.release(&moved_root);
    assert_null(moved_root.release);
    /* the moved child is still alive and complete */
    {
        struct ar_field f;
        assert_ok(ar_field_import(&f, &moved_child));
        assert_true(ar_field_equal(&f, &s.fields[2]));
        ar_field_free(&f);
    }
    moved_child.release(&moved_child);
    assert_null(moved_child.release);

    /* exporting twice gives independent copies */
    assert_ok(ar_schema_export(&out, &s));
    ar_schema_free(&s);
    assert_ok(ar_schema_import(&check, &out));
    out.release(&out);
    assert_int_equal(check.n_fields, 4);
    ar_schema_free(&check);
    drop(in);
}

static void test_arrow_schema__equality_covers_every_parameter(void **state)
{
    struct ArrowSchema *in = nested_schema();
    struct ar_schema s;
    struct ar_field a, b;
    (void)state;

    assert_ok(ar_schema_import(&s, in));
    assert_ok(ar_field_copy(&a, &s.fields[3])); /* meta: at + price */
    assert_true(ar_field_equal(&a, &s.fields[3]));
#define MUTATE(stmt)                                                           \
    do {                                                                       \
        assert_ok(ar_field_copy(&b, &a));                                      \
        stmt;                                                                  \
        assert_false(ar_field_equal(&a, &b));                                  \
        assert_false(ar_field_equal(&b, &a));                                  \
        ar_field_free(&b);                                                     \
    } while (0)
    MUTATE(b.nullable = !b.nullable);
    MUTATE(b.name[0] = 'X');
    MUTATE(b.children[0].unit = AR_NANO);
    MUTATE(mem_free(b.children[0].tz); b.children[0].tz = NULL);
    MUTATE(b.children[0].tz[0] = 'X');
    MUTATE(b.children[1].precision = 11);
    MUTATE(b.children[1].scale = 3);
    MUTATE(b.children[1].type = AR_INT64);
#undef MUTATE
    assert_ok(ar_field_copy(&b, &a));
    b.n_children = 1;
    assert_false(ar_field_equal(&a, &b));
    b.n_children = 2;
    ar_field_free(&b);
    /* metadata does not take part */
    assert_ok(ar_field_copy(&b, &s.fields[1]));
    ar_kv_free(b.meta, b.n_meta);
    b.meta = NULL;
    b.n_meta = 0;
    assert_true(ar_field_equal(&b, &s.fields[1]));
    b.list_size = 4;
    assert_false(ar_field_equal(&b, &s.fields[1]));
    ar_field_free(&b);
    ar_field_free(&a);
    ar_schema_free(&s);
    drop(in);
}

static void test_arrow_schema__layout_tables(void **state)
{
    (void)state;
    assert_int_equal(ar_type_n_buffers(AR_BOOL), 2);
    assert_int_equal(ar_type_n_buffers(AR_INT32), 2);
    assert_int_equal(ar_type_n_buffers(AR_DECIMAL128), 2);
    assert_int_equal(ar_type_n_buffers(AR_UTF8), 3);
    assert_int_equal(ar_type_n_buffers(AR_LARGE_BINARY), 3);
    assert_int_equal(ar_type_n_buffers(AR_LIST), 2);
    assert_int_equal(ar_type_n_buffers(AR_LARGE_LIST), 2);
    assert_int_equal(ar_type_n_buffers(AR_FIXED_SIZE_LIST), 1);
    assert_int_equal(ar_type_n_buffers(AR_STRUCT), 1);
    assert_int_equal(ar_type_bit_width(AR_BOOL), 1);
    assert_int_equal(ar_type_bit_width(AR_INT8), 8);
    assert_int_equal(ar_type_bit_width(AR_UINT16), 16);
    assert_int_equal(ar_type_bit_width(AR_DATE32), 32);
    assert_int_equal(ar_type_bit_width(AR_FLOAT32), 32);
    assert_int_equal(ar_type_bit_width(AR_TIMESTAMP), 64);
    assert_int_equal(ar_type_bit_width(AR_DECIMAL128), 128);
    assert_int_equal(ar_type_bit_width(AR_UTF8), 0);
    assert_int_equal(ar_type_bit_width(AR_STRUCT), 0);
}

/* Every allocation of import, export and copy may fail: each failure must
 * come back as NOMEM with *out zeroed, and ASan sees no leak. */
static void test_arrow_schema__allocation_failures(void **state)
{
    struct ArrowSchema *in = nested_schema();
    struct ar_schema s, ref;
    struct ArrowSchema out;
    long n;
    infino_status st;
    (void)state;

    assert_ok(ar_schema_import(&ref, in));
    for (n = 1;; n++) {
        mem_fail_after(n);
        st = ar_schema_import(&s, in);
        mem_fail_reset();
        if (st == INFINO_OK)
            break;
        assert_int_equal(st, INFINO_ERR_NOMEM);
        assert_null(s.fields);
        assert_null(s.meta);
    }
    assert_true(n > 20); /* every node allocates */
    assert_true(ar_schema_equal(&s, &ref));
    ar_schema_free(&s);

    for (n = 1;; n++) {
        mem_fail_after(n);
        st = ar_schema_export(&out, &ref);
        mem_fail_reset();
        if (st == INFINO_OK)
            break;
        assert_int_equal(st, INFINO_ERR_NOMEM);
        assert_null(out.release);
    }
    assert_true(n > 20);
    out.release(&out);

    for (n = 1;; n++) {
        mem_fail_after(n);
        st = ar_schema_copy(&s, &ref);
        mem_fail_reset();
        if (st == INFINO_OK)
            break;
        assert_int_equal(st, INFINO_ERR_NOMEM);
        assert_null(s.fields);
    }
    assert_true(ar_schema_equal(&s, &ref));
    ar_schema_free(&s);

    for (n = 1;; n++) {
        mem_fail_after(n);
        st = ar_schema_set_meta(&ref, "k", "v", 1);
        mem_fail_reset();
        if (st == INFINO_OK)
            break;
        assert_int_equal(st, INFINO_ERR_NOMEM);
        assert_null(ar_schema_get_meta(&ref, "k"));
    }
    ar_schema_free(&ref);
    drop(in);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arrow_schema__every_leaf_format_round_trips),
        cmocka_unit_test(test_arrow_schema__decimal_and_timestamp_params),
        cmocka_unit_test(test_arrow_schema__rejects_bad_formats),
        cmocka_unit_test(test_arrow_schema__unsupported_names_the_path),
        cmocka_unit_test(
            test_arrow_schema__unsupported_types_named_in_words),
        cmocka_unit_test(test_arrow_schema__rejects_bad_children),
        cmocka_unit_test(test_arrow_schema__rejects_released_and_dictionary),
        cmocka_unit_test(test_arrow_schema__depth_cap),
        cmocka_unit_test(test_arrow_schema__schema_root_must_be_struct),
        cmocka_unit_test(test_arrow_schema__metadata),
        cmocka_unit_test(test_arrow_schema__rejects_bad_metadata),
        cmocka_unit_test(test_arrow_schema__nested_round_trip),
        cmocka_unit_test(test_arrow_schema__export_move_semantics),
        cmocka_unit_test(test_arrow_schema__equality_covers_every_parameter),
        cmocka_unit_test(test_arrow_schema__layout_tables),
        cmocka_unit_test(test_arrow_schema__allocation_failures),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
