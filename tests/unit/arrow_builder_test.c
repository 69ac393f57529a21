/*
 * arrow_builder_test.c - builders for every type: values read back from
 * the raw Arrow buffers match what was appended (a seeded random oracle),
 * range and UTF-8 checks, nested lists/structs, misuse, and allocation
 * failure at every step leaving the builder unchanged.
 */
#include "harness.h"

#include "format/arrow/arrow.h"
#include "util/alloc.h"

#include <math.h>
#include <stdarg.h>

/* ---- fields ----------------------------------------------------------- */

static struct ar_field leaf(const char *name, enum ar_type t, bool nullable)
{
    struct ar_field f;

    memset(&f, 0, sizeof f);
    f.name = mem_strdup(name);
    f.type = t;
    f.nullable = nullable;
    return f;
}

static struct ar_field nest(const char *name, enum ar_type t, bool nullable,
                            int32_t list_size, int n, ...)
{
    struct ar_field f = leaf(name, t, nullable);
    va_list ap;

    f.list_size = list_size;
    f.n_children = (size_t)n;
    f.children = mem_calloc((size_t)n, sizeof *f.children);
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        f.children[i] = va_arg(ap, struct ar_field);
    va_end(ap);
    return f;
}

/* ---- reading raw buffers (the Columnar Format, independently) --------- */

static bool valid_at(const struct ArrowArray *a, int64_t i)
{
    const uint8_t *bits = a->buffers[0];
    i += a->offset;
    return bits == NULL || ((bits[i / 8] >> (i % 8)) & 1);
}

static int64_t off_at(const struct ArrowArray *a, bool wide, int64_t i)
{
    i += a->offset;
    if (wide) {
        int64_t v;
        memcpy(&v, (const uint8_t *)a->buffers[1] + 8 * i, 8);
        return v;
    }
    int32_t v;
    memcpy(&v, (const uint8_t *)a->buffers[1] + 4 * i, 4);
    return v;
}

static bool wide_offsets(enum ar_type t)
{
    return t == AR_LARGE_UTF8 || t == AR_LARGE_BINARY || t == AR_LARGE_LIST;
}

/* Logical equality of slot i of `a` and slot j of `b`, both of field f. */
static bool same_slot(const struct ar_field *f, const struct ArrowArray *a,
                      int64_t i, const struct ArrowArray *b, int64_t j)
{
    int w = ar_type_bit_width(f->type);
    bool wide = wide_offsets(f->type);

    if (valid_at(a, i) != valid_at(b, j))
        return false;
    if (!valid_at(a, i) && f->type != AR_FIXED_SIZE_LIST &&
        f->type != AR_STRUCT)
        return true;
    switch (f->type) {
    case AR_BOOL: {
        int64_t x = i + a->offset, y = j + b->offset;
        const uint8_t *p = a->buffers[1], *q = b->buffers[1];
        return ((p[x / 8] >> (x % 8)) & 1) == ((q[y / 8] >> (y % 8)) & 1);
    }
    case AR_UTF8:
    case AR_LARGE_UTF8:
    case AR_BINARY:
    case AR_LARGE_BINARY: {
        int64_t n = off_at(a, wide, i + 1) - off_at(a, wide, i);
        int64_t m = off_at(b, wide, j + 1) - off_at(b, wide, j);
        return n == m &&
               (n == 0 ||
                memcmp((const char *)a->buffers[2] + off_at(a, wide, i),
                       (const char *)b->buffers[2] + off_at(b, wide, j),
                       (size_t)n) == 0);
    }
    case AR_LIST:
    case AR_LARGE_LIST: {
        int64_t s = off_at(a, wide, i), n = off_at(a, wide, i + 1) - s;
        int64_t t = off_at(b, wide, j), m = off_at(b, wide, j + 1) - t;
        if (n != m)
            return false;
        for (int64_t k = 0; k < n; k++) {
            if (!same_slot(&f->children[0], a->children[0], s + k,
                           b->children[0], t + k))
                return false;
        }
        return true;
    }
    case AR_FIXED_SIZE_LIST: {
        int64_t n = f->list_size;
        if (!valid_at(a, i))
            return true;
        for (int64_t k = 0; k < n; k++) {
            if (!same_slot(&f->children[0], a->children[0],
                           (i + a->offset) * n + k, b->children[0],
                           (j + b->offset) * n + k))
                return false;
        }
        return true;
    }
    case AR_STRUCT:
        if (!valid_at(a, i))
            return true;
        for (size_t c = 0; c < f->n_children; c++) {
            if (!same_slot(&f->children[c], a->children[c], i + a->offset,
                           b->children[c], j + b->offset))
                return false;
        }
        return true;
    default:
        return memcmp((const uint8_t *)a->buffers[1] +
                          (i + a->offset) * (w / 8),
                      (const uint8_t *)b->buffers[1] +
                          (j + b->offset) * (w / 8),
                      (size_t)(w / 8)) == 0;
    }
}

static void assert_same_array(const struct ar_field *f,
                              const struct ArrowArray *a,
                              const struct ArrowArray *b)
{
    assert_int_equal(a->length, b->length);
    assert_int_equal(a->null_count, b->null_count);
    for (int64_t i = 0; i < a->length; i++) {
        if (!same_slot(f, a, i, b, i))
            fail_msg("arrays differ at row %lld", (long long)i);
    }
}

/* ---- primitives against a random oracle ------------------------------- */

static int64_t rand_in(int64_t lo, int64_t hi)
{
    uint64_t span = (uint64_t)hi - (uint64_t)lo;
    if (span == UINT64_MAX)
        return (int64_t)test_rand();
    return (int64_t)((uint64_t)lo + test_rand() % (span + 1));
}

static void test_arrow_builder__primitives_random(void **state)
{
    static const struct {
        enum ar_type t;
        int64_t lo, hi;
    } cases[] = {
        {AR_INT8, INT8_MIN, INT8_MAX},     {AR_INT16, INT16_MIN, INT16_MAX},
        {AR_INT32, INT32_MIN, INT32_MAX},  {AR_INT64, INT64_MIN, INT64_MAX},
        {AR_UINT8, 0, UINT8_MAX},          {AR_UINT16, 0, UINT16_MAX},
        {AR_UINT32, 0, UINT32_MAX},        {AR_DATE32, INT32_MIN, INT32_MAX},
        {AR_TIMESTAMP, INT64_MIN, INT64_MAX},
    };
    enum { N = 1000 };
    static int64_t want[N];
    static bool valid[N];
    (void)state;

    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct ar_field f = leaf("v", cases[c].t, true);
        struct ar_builder *b;
        struct ArrowArray out;
        int w = ar_type_bit_width(cases[c].t) / 8;
        int64_t nulls = 0;

        assert_ok(ar_builder_new(&b, &f));
        ar_field_free(&f); /* the builder keeps its own copy */
        for (int i = 0; i < N; i++) {
            valid[i] = test_rand() % 5 != 0;
            want[i] = rand_in(cases[c].lo, cases[c].hi);
            if (i < 4) /* the extremes */
                want[i] = i % 2 ? cases[c].hi : cases[c].lo;
            if (!valid[i]) {
                nulls++;
                assert_ok(ar_builder_append_null(b));
            } else if (test_rand() % 2 && want[i] >= 0) {
                assert_ok(ar_builder_append_uint(b, (uint64_t)want[i]));
            } else {
                assert_ok(ar_builder_append_int(b, want[i]));
            }
        }
        assert_int_equal(ar_builder_length(b), N);
        assert_ok(ar_builder_finish(b, &out));
        assert_int_equal(ar_builder_length(b), 0);
        f = leaf("v", cases[c].t, true);
        assert_ok(ar_array_validate(&f, &out));
        assert_int_equal(out.length, N);
        assert_int_equal(out.null_count, nulls);
        for (int i = 0; i < N; i++) {
            assert_int_equal(ar_array_is_valid(&out, i), valid[i]);
            if (valid[i]) {
                int64_t got = 0;
                memcpy(&got, (const uint8_t *)out.buffers[1] + i * w,
                       (size_t)w);
                if (w < 8 && cases[c].lo < 0) /* sign-extend */
                    got = (int64_t)((uint64_t)got << (64 - 8 * w)) >>
                          (64 - 8 * w);
                assert_true(got == want[i]);
            }
        }
        ar_array_release(&out);
        ar_field_free(&f);
        ar_builder_free(b);
    }
}

static void test_arrow_builder__bool_float_uint64(void **state)
{
    struct ar_field f = leaf("b", AR_BOOL, true);
    struct ar_builder *b;
    struct ArrowArray out;
    bool want[100];
    (void)state;

    assert_ok(ar_builder_new(&b, &f));
    for (int i = 0; i < 100; i++) {
        want[i] = test_rand() % 2;
        assert_ok(ar_builder_append_bool(b, want[i]));
    }
    assert_ok(ar_builder_finish(b, &out));
    assert_null(out.buffers[0]); /* no nulls: no bitmap */
    assert_int_equal(out.null_count, 0);
    for (int i = 0; i < 100; i++) {
        const uint8_t *bits = out.buffers[1];
        assert_int_equal((bits[i / 8] >> (i % 8)) & 1, want[i]);
    }
    ar_array_release(&out);
    ar_builder_free(b);
    ar_field_free(&f);

    f = leaf("f", AR_FLOAT32, false);
    assert_ok(ar_builder_new(&b, &f));
    assert_ok(ar_builder_append_double(b, 1.5));
    assert_ok(ar_builder_append_double(b, -INFINITY));
    assert_ok(ar_builder_append_double(b, NAN));
    assert_ok(ar_builder_append_int(b, -7)); /* integers convert */
    assert_ok(ar_builder_append_double(b, 3.4e38));
    assert_int_equal(ar_builder_append_double(b, 1e39), INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "field 'f': 1e+39 out of range"));
    assert_int_equal(ar_builder_append_double(b, -1e39), INFINO_ERR_INVALID);
    assert_int_equal(ar_builder_append_null(b), INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "non-nullable"));
    assert_int_equal(ar_builder_length(b), 5); /* failures change nothing */
    assert_ok(ar_builder_finish(b, &out));
    {
        const float *v = out.buffers[1];
        assert_true(v[0] == 1.5f && isinf(v[1]) && v[1] < 0 && isnan(v[2]) &&
                    v[3] == -7.0f && v[4] == 3.4e38f);
    }
    ar_array_release(&out);
    ar_builder_free(b);
    ar_field_free(&f);

    f = leaf("u", AR_UINT64, true);
    assert_ok(ar_builder_new(&b, &f));
    assert_ok(ar_builder_append_uint(b, UINT64_MAX));
    assert_ok(ar_builder_finish(b, &out));
    assert_true(((const uint64_t *)out.buffers[1])[0] == UINT64_MAX);
    ar_array_release(&out);
    ar_builder_free(b);
    ar_field_free(&f);
}

static void test_arrow_builder__range_and_kind_checks(void **state)
{
    static const struct {
        enum ar_type t;
        int64_t bad_signed;
        uint64_t bad_unsigned;
    } cases[] = {
        {AR_INT8, -129, 128},
        {AR_INT16, INT16_MIN - 1, (uint64_t)INT16_MAX + 1},
        {AR_INT32, (int64_t)INT32_MIN - 1, (uint64_t)INT32_MAX + 1},
        {AR_DATE32, (int64_t)INT32_MAX + 1, (uint64_t)INT32_MAX + 1},
        {AR_INT64, 0, (uint64_t)INT64_MAX + 1},
        {AR_TIMESTAMP, 0, UINT64_MAX},
        {AR_UINT8, -1, 256},
        {AR_UINT16, -1, 65536},
        {AR_UINT32, -1, (uint64_t)UINT32_MAX + 1},
        {AR_UINT64, -1, 0},
    };
    struct ar_builder *b;
    (void)state;

    for (size_t c = 0; c < sizeof cases / sizeof *cases; c++) {
        struct ar_field f = leaf("n", cases[c].t, true);
        assert_ok(ar_builder_new(&b, &f));
        if (cases[c].bad_signed != 0) {
            assert_int_equal(ar_builder_append_int(b, cases[c].bad_signed),
                             INFINO_ERR_INVALID);
            assert_non_null(strstr(err_last(), "out of range"));
        }
        if (cases[c].bad_unsigned != 0)
            assert_int_equal(ar_builder_append_uint(b, cases[c].bad_unsigned),
                             INFINO_ERR_INVALID);
        /* wrong kinds of value */
        assert_int_equal(ar_builder_append_bool(b, true), INFINO_ERR_INVALID);
        assert_int_equal(ar_builder_append_bytes(b, "x", 1),
                         INFINO_ERR_INVALID);
        assert_int_equal(ar_builder_append_double(b, 1.0), INFINO_ERR_INVALID);
        assert_int_equal(ar_builder_end_list(b), INFINO_ERR_INVALID);
        assert_int_equal(ar_builder_end_struct(b), INFINO_ERR_INVALID);
        assert_null(ar_builder_child(b, 0));
        assert_int_equal(ar_builder_length(b), 0);
        ar_builder_free(b);
        ar_field_free(&f);
    }
    {
        struct ar_field f = leaf("s", AR_UTF8, true);
        assert_ok(ar_builder_new(&b, &f));
        assert_int_equal(ar_builder_append_int(b, 1), INFINO_ERR_INVALID);
        assert_string_equal(err_last(),
                            "field 's': cannot append an integer to utf8");
        ar_builder_free(b);
        ar_field_free(&f);
    }
    ar_builder_free(NULL);
}

/* ---- strings ---------------------------------------------------------- */

/* Appends the UTF-8 encoding of code point cp (an independent encoder). */
static size_t put_utf8(char *p, uint32_t cp)
{
    if (cp < 0x80) {
        p[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        p[0] = (char)(0xc0 | cp >> 6);
        p[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        p[0] = (char)(0xe0 | cp >> 12);
        p[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        p[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    p[0] = (char)(0xf0 | cp >> 18);
    p[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    p[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    p[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static void test_arrow_builder__strings_random(void **state)
{
    static const enum ar_type types[] = {AR_UTF8, AR_LARGE_UTF8, AR_BINARY,
                                         AR_LARGE_BINARY};
    enum { N = 300 };
    static char strs[N][64];
    static size_t lens[N];
    static bool valid[N];
    (void)state;

    for (size_t t = 0; t < 4; t++) {
        struct ar_field f = leaf("s", types[t], true);
        struct ar_builder *b;
        struct ArrowArray out;
        bool text = types[t] == AR_UTF8 || types[t] == AR_LARGE_UTF8;
        bool wide = wide_offsets(types[t]);

        assert_ok(ar_builder_new(&b, &f));
        for (int i = 0; i < N; i++) {
            size_t n = 0;
            int chars = (int)(test_rand() % 12);
            valid[i] = test_rand() % 6 != 0;
            for (int k = 0; k < chars; k++) {
                if (text) {
                    uint32_t cp;
                    do
                        cp = (uint32_t)(test_rand() %
                                        (test_rand() % 2 ? 0x80 : 0x110000));
                    while (cp >= 0xd800 && cp <= 0xdfff);
                    n += put_utf8(strs[i] + n, cp);
                } else {
                    strs[i][n++] = (char)test_rand();
                }
            }
            lens[i] = n;
            if (valid[i])
                assert_ok(ar_builder_append_bytes(b, strs[i], n));
            else
                assert_ok(ar_builder_append_null(b));
        }
        assert_ok(ar_builder_finish(b, &out));
        assert_ok(ar_array_validate(&f, &out));
        assert_int_equal(off_at(&out, wide, 0), 0);
        for (int i = 0; i < N; i++) {
            int64_t s = off_at(&out, wide, i), e = off_at(&out, wide, i + 1);
            assert_int_equal(ar_array_is_valid(&out, i), valid[i]);
            assert_int_equal(e - s, valid[i] ? (int64_t)lens[i] : 0);
            if (valid[i] && lens[i] > 0)
                assert_memory_equal((const char *)out.buffers[2] + s, strs[i],
                                    lens[i]);
        }
        ar_array_release(&out);
        ar_builder_free(b);
        ar_field_free(&f);
    }
}

static void test_arrow_builder__utf8_validation(void **state)
{
    static const struct {
        const char *s;
        size_t n;
        bool ok;
    } cases[] = {
        {"", 0, true},
        {"plain ascii, longer than eight bytes", 36, true},
        {"\xc3\xa9", 2, true},              /* U+00E9 */
        {"\xe2\x82\xac", 3, true},          /* U+20AC */
        {"\xf0\x9f\x98\x80", 4, true},      /* U+1F600 */
        {"\xf4\x8f\xbf\xbf", 4, true},      /* U+10FFFF */
        {"\xed\x9f\xbf", 3, true},          /* U+D7FF */
        {"a\0b", 3, true},                  /* NUL is valid UTF-8 */
        {"\x80", 1, false},                 /* lone continuation */
        {"\xc0\x80", 2, false},             /* overlong NUL */
        {"\xc1\xbf", 2, false},             /* overlong */
        {"\xe0\x80\xaf", 3, false},         /* overlong */
        {"\xf0\x80\x80\xaf", 4, false},     /* overlong */
        {"\xed\xa0\x80", 3, false},         /* surrogate U+D800 */
        {"\xed\xbf\xbf", 3, false},         /* surrogate U+DFFF */
        {"\xf4\x90\x80\x80", 4, false},     /* U+110000 */
        {"\xf8\x88\x80\x80\x80", 5, false}, /* 5-byte form */
        {"\xe2\x82", 2, false},             /* truncated */
        {"abcdefg\xe2\x82", 9, false},      /* truncated after ASCII run */
        {"\xc3\x28", 2, false},             /* bad continuation */
        {"\xff", 1, false},
    };
    struct ar_field f = leaf("t", AR_UTF8, true);
    struct ar_field g = leaf("b", AR_BINARY, true);
    struct ar_builder *b, *bb;
    (void)state;

    assert_ok(ar_builder_new(&b, &f));
    assert_ok(ar_builder_new(&bb, &g));
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        int64_t before = ar_builder_length(b);
        infino_status st = ar_builder_append_bytes(b, cases[i].s, cases[i].n);
        if (cases[i].ok) {
            assert_ok(st);
        } else {
            if (st != INFINO_ERR_INVALID)
                fail_msg("case %zu accepted", i);
            assert_non_null(strstr(err_last(), "not valid UTF-8"));
            assert_int_equal(ar_builder_length(b), before);
        }
        assert_ok(ar_builder_append_bytes(bb, cases[i].s, cases[i].n));
    }
    ar_builder_free(b);
    ar_builder_free(bb);
    ar_field_free(&f);
    ar_field_free(&g);
}

/* ---- decimals --------------------------------------------------------- */

static void dec_from_i64(uint8_t out[16], int64_t v)
{
    uint64_t lo = (uint64_t)v, hi = v < 0 ? UINT64_MAX : 0;
    memcpy(out, &lo, 8);
    memcpy(out + 8, &hi, 8);
}

static void test_arrow_builder__decimal_precision(void **state)
{
    struct ar_field f = leaf("d", AR_DECIMAL128, true);
    struct ar_builder *b;
    struct ArrowArray out;
    uint8_t v[16];
    (void)state;

    f.precision = 5;
    f.scale = 2;
    assert_ok(ar_builder_new(&b, &f));
    dec_from_i64(v, 99999);
    assert_ok(ar_builder_append_decimal(b, v));
    dec_from_i64(v, -99999);
    assert_ok(ar_builder_append_decimal(b, v));
    dec_from_i64(v, 100000);
    assert_int_equal(ar_builder_append_decimal(b, v), INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "more than 5 digits"));
    dec_from_i64(v, -100000);
    assert_int_equal(ar_builder_append_decimal(b, v), INFINO_ERR_INVALID);
    assert_ok(ar_builder_append_null(b));
    assert_ok(ar_builder_finish(b, &out));
    assert_ok(ar_array_validate(&f, &out));
    assert_int_equal(out.length, 3);
    dec_from_i64(v, -99999);
    assert_memory_equal((const uint8_t *)out.buffers[1] + 16, v, 16);
    ar_array_release(&out);
    ar_builder_free(b);

    /* precision 38: 10^38 - 1 fits, 10^38 and the most negative do not */
    f.precision = 38;
    assert_ok(ar_builder_new(&b, &f));
    {
        /* 10^38 = 0x4B3B4CA85A86C47A098A224000000000 */
        uint64_t hi = 0x4B3B4CA85A86C47Aull, lo = 0x098A224000000000ull;
        memcpy(v, &lo, 8);
        memcpy(v + 8, &hi, 8);
        assert_int_equal(ar_builder_append_decimal(b, v), INFINO_ERR_INVALID);
        lo -= 1;
        memcpy(v, &lo, 8);
        assert_ok(ar_builder_append_decimal(b, v));
        memset(v, 0, 16);
        v[15] = 0x80; /* -2^127 */
        assert_int_equal(ar_builder_append_decimal(b, v), INFINO_ERR_INVALID);
    }
    assert_int_equal(ar_builder_append_int(b, 1), INFINO_ERR_INVALID);
    assert_int_equal(ar_builder_length(b), 1);
    ar_builder_free(b);
    ar_field_free(&f);
}

/* ---- nested ----------------------------------------------------------- */

static void test_arrow_builder__lists(void **state)
{
    static const enum ar_type kinds[] = {AR_LIST, AR_LARGE_LIST};
    (void)state;

    for (int k = 0; k < 2; k++) {
        struct ar_field f = nest("l", kinds[k], true, 0, 1,
                                 leaf("item", AR_INT32, true));
        struct ar_builder *b, *c;
        struct ArrowArray out;
        static const int64_t want_offs[] = {0, 2, 2, 2, 4};
        bool wide = kinds[k] == AR_LARGE_LIST;

        assert_ok(ar_builder_new(&b, &f));
        c = ar_builder_child(b, 0);
        assert_non_null(c);
        assert_null(ar_builder_child(b, 1));
        /* [[1, 2], [], null, [3, null]] */
        assert_ok(ar_builder_append_int(c, 1));
        assert_ok(ar_builder_append_int(c, 2));
        assert_ok(ar_builder_end_list(b));
        assert_ok(ar_builder_end_list(b));
        assert_ok(ar_builder_append_null(b));
        assert_ok(ar_builder_append_int(c, 3));
        /* a null slot cannot swallow unclosed child values */
        assert_int_equal(ar_builder_append_null(b), INFINO_ERR_INVALID);
        assert_non_null(strstr(err_last(), "field 'l': has child values"));
        assert_int_equal(ar_builder_finish(b, &out), INFINO_ERR_INVALID);
        assert_null(out.release);
        assert_ok(ar_builder_append_null(c));
        assert_ok(ar_builder_end_list(b));
        assert_int_equal(ar_builder_length(b), 4);
        assert_ok(ar_builder_finish(b, &out));
        assert_ok(ar_array_validate(&f, &out));
        assert_int_equal(out.null_count, 1);
        for (int i = 0; i <= 4; i++)
            assert_int_equal(off_at(&out, wide, i), want_offs[i]);
        assert_false(ar_array_is_valid(&out, 2));
        assert_int_equal(out.children[0]->length, 4);
        assert_int_equal(out.children[0]->null_count, 1);
        assert_false(ar_array_is_valid(out.children[0], 3));
        ar_array_release(&out);
        /* reusable after finish: an empty list array */
        assert_ok(ar_builder_finish(b, &out));
        assert_int_equal(out.length, 0);
        assert_int_equal(off_at(&out, wide, 0), 0);
        assert_ok(ar_array_validate(&f, &out));
        ar_array_release(&out);
        ar_builder_free(b);
        ar_field_free(&f);
    }
}

static void test_arrow_builder__fixed_size_lists(void **state)
{
    struct ar_field f = nest("emb", AR_FIXED_SIZE_LIST, true, 3, 1,
                             leaf("item", AR_FLOAT32, false));
    struct ar_builder *b, *c;
    struct ArrowArray out;
    (void)state;

    assert_ok(ar_builder_new(&b, &f));
    c = ar_builder_child(b, 0);
    for (int i = 0; i < 3; i++)
        assert_ok(ar_builder_append_double(c, i + 0.5));
    assert_ok(ar_builder_end_list(b));
    assert_ok(ar_builder_append_double(c, 9));
    assert_int_equal(ar_builder_end_list(b), INFINO_ERR_INVALID);
    assert_string_equal(err_last(),
                        "field 'emb': slot 1 has 1 values, list size is 3");
    assert_ok(ar_builder_append_double(c, 9));
    assert_ok(ar_builder_append_double(c, 9));
    assert_ok(ar_builder_end_list(b));
    /* a null slot still owns 3 child values: zeros, as the child is not
     * nullable */
    assert_ok(ar_builder_append_null(b));
    assert_ok(ar_builder_finish(b, &out));
    assert_ok(ar_array_validate(&f, &out));
    assert_int_equal(out.length, 3);
    assert_int_equal(out.n_buffers, 1);
    assert_int_equal(out.children[0]->length, 9);
    assert_int_equal(out.children[0]->null_count, 0);
    {
        const float *v = out.children[0]->buffers[1];
        assert_true(v[0] == 0.5f && v[2] == 2.5f && v[3] == 9.0f &&
                    v[6] == 0.0f && v[8] == 0.0f);
    }
    ar_array_release(&out);
    ar_builder_free(b);

    /* a nullable child gets nulls instead */
    f.children[0].nullable = true;
    assert_ok(ar_builder_new(&b, &f));
    assert_ok(ar_builder_append_null(b));
    assert_ok(ar_builder_finish(b, &out));
    assert_int_equal(out.children[0]->null_count, 3);
    assert_ok(ar_array_validate(&f, &out));
    ar_array_release(&out);
    ar_builder_free(b);
    ar_field_free(&f);
}

static void test_arrow_builder__structs(void **state)
{
    struct ar_field f = nest("st", AR_STRUCT, true, 0, 2,
                             leaf("a", AR_INT32, false),
                             leaf("b", AR_UTF8, true));
    struct ar_builder *b, *a, *s;
    struct ArrowArray out;
    (void)state;

    assert_ok(ar_builder_new(&b, &f));
    a = ar_builder_child(b, 0);
    s = ar_builder_child(b, 1);
    assert_ok(ar_builder_append_int(a, 7));
    assert_int_equal(ar_builder_end_struct(b), INFINO_ERR_INVALID);
    assert_string_equal(err_last(),
                        "field 'st.b': has 0 values, the struct needs 1");
    assert_ok(ar_builder_append_bytes(s, "x", 1));
    assert_ok(ar_builder_end_struct(b));
    assert_ok(ar_builder_append_null(b)); /* a: 0, b: null */
    assert_ok(ar_builder_append_int(a, 8));
    assert_ok(ar_builder_append_null(s));
    assert_ok(ar_builder_end_struct(b));
    assert_int_equal(ar_builder_append_null(a), INFINO_ERR_INVALID);
    assert_string_equal(err_last(),
                        "field 'st.a': null in a non-nullable field");
    assert_ok(ar_builder_finish(b, &out));
    assert_ok(ar_array_validate(&f, &out));
    assert_int_equal(out.length, 3);
    assert_int_equal(out.null_count, 1);
    assert_int_equal(out.children[0]->null_count, 0);
    assert_int_equal(out.children[1]->null_count, 2);
    assert_int_equal(((const int32_t *)out.children[0]->buffers[1])[2], 8);
    ar_array_release(&out);
    ar_builder_free(b);
    ar_field_free(&f);
}

/* list<struct<x: int32, tags: list<utf8>>>, random, checked slot by slot
 * against a second copy built through the same calls in another builder,
 * and for shape against brute-force counts. */
static struct ar_field deep_field(void)
{
    return nest("docs", AR_LIST, true, 0, 1,
                nest("item", AR_STRUCT, true, 0, 2,
                     leaf("x", AR_INT32, true),
                     nest("tags", AR_LIST, true, 0, 1,
                          leaf("item", AR_UTF8, false))));
}

/* One fixed script of appends; `fail` turns on allocation failure at that
 * step. Each NOMEM must leave the builder unchanged: the op is retried. */
static long script_nomem;

#define OP(expr)                                                               \
    do {                                                                       \
        infino_status st_ = (expr);                                            \
        if (st_ == INFINO_ERR_NOMEM) {                                         \
            script_nomem++;                                                    \
            mem_fail_reset();                                                  \
            st_ = (expr);                                                      \
        }                                                                      \
        if (st_ != INFINO_OK)                                                  \
            fail_msg("%s -> %d: %s", #expr, (int)st_, err_last());            \
    } while (0)

static void run_script(struct ar_builder *b, uint64_t seed, int rows,
                       int64_t *n_tags)
{
    struct ar_builder *item = ar_builder_child(b, 0);
    struct ar_builder *x = ar_builder_child(item, 0);
    struct ar_builder *tags = ar_builder_child(item, 1);
    struct ar_builder *tag = ar_builder_child(tags, 0);
    uint64_t saved = harness_rng_state;

    harness_rng_state = seed;
    *n_tags = 0;
    for (int r = 0; r < rows; r++) {
        uint64_t what = test_rand() % 8;
        if (what == 0) {
            OP(ar_builder_append_null(b));
            continue;
        }
        int n_items = (int)(test_rand() % 4);
        for (int i = 0; i < n_items; i++) {
            if (test_rand() % 6 == 0) {
                OP(ar_builder_append_null(item));
                continue;
            }
            if (test_rand() % 4 == 0)
                OP(ar_builder_append_null(x));
            else {
                int64_t v = (int64_t)(test_rand() % 1000); /* OP may retry */
                OP(ar_builder_append_int(x, v));
            }
            if (test_rand() % 5 == 0) {
                OP(ar_builder_append_null(tags));
            } else {
                int n = (int)(test_rand() % 3);
                for (int t = 0; t < n; t++) {
                    char s[16];
                    int len = snprintf(s, sizeof s, "t%d",
                                       (int)(test_rand() % 50));
                    OP(ar_builder_append_bytes(tag, s, (size_t)len));
                    (*n_tags)++;
                }
                OP(ar_builder_end_list(tags));
            }
            OP(ar_builder_end_struct(item));
        }
        OP(ar_builder_end_list(b));
    }
    harness_rng_state = saved;
}

static void test_arrow_builder__nested_random(void **state)
{
    struct ar_field f = deep_field();
    struct ar_builder *b;
    struct ArrowArray out, again;
    uint64_t seed = test_rand();
    int64_t n_tags, n_tags2;
    (void)state;

    assert_ok(ar_builder_new(&b, &f));
    run_script(b, seed, 300, &n_tags);
    assert_ok(ar_builder_finish(b, &out));
    assert_ok(ar_array_validate(&f, &out));
    assert_int_equal(out.length, 300);
    /* the tag strings: count equals what the script appended */
    {
        const struct ArrowArray *tags = out.children[0]->children[1];
        assert_int_equal(tags->children[0]->length, n_tags);
    }
    run_script(b, seed, 300, &n_tags2);
    assert_ok(ar_builder_finish(b, &again));
    assert_same_array(&f, &out, &again);
    ar_array_release(&again);
    ar_array_release(&out);
    ar_builder_free(b);
    ar_field_free(&f);
}

/* Allocation failure at every step of the script: every append must
 * report NOMEM and leave the builder unchanged, so retrying gives the very
 * same array as a run without failures. */
static void test_arrow_builder__allocation_failures(void **state)
{
    struct ar_field f = deep_field();
    struct ar_builder *b;
    struct ArrowArray ref, out;
    uint64_t seed = test_rand();
    int64_t n_tags;
    long n;
    infino_status st;
    (void)state;

    assert_ok(ar_builder_new(&b, &f));
    run_script(b, seed, 40, &n_tags);
    assert_ok(ar_builder_finish(b, &ref));
    ar_builder_free(b);
    for (n = 1;; n++) {
        mem_fail_after(n);
        st = ar_builder_new(&b, &f);
        mem_fail_reset();
        if (st == INFINO_OK)
            break;
        assert_int_equal(st, INFINO_ERR_NOMEM);
        assert_null(b);
    }
    for (n = 1;; n++) {
        script_nomem = 0;
        mem_fail_after(n);
        run_script(b, seed, 40, &n_tags);
        mem_fail_reset();
        assert_ok(ar_builder_finish(b, &out));
        assert_same_array(&f, &ref, &out);
        ar_array_release(&out);
        if (script_nomem == 0)
            break; /* the script made fewer than n allocations */
    }
    assert_true(n > 10);
    /* finish itself failing: NOMEM, nothing leaks, the builder is empty */
    for (n = 1;; n++) {
        run_script(b, seed, 40, &n_tags);
        mem_fail_after(n);
        st = ar_builder_finish(b, &out);
        mem_fail_reset();
        if (st == INFINO_OK)
            break;
        assert_int_equal(st, INFINO_ERR_NOMEM);
        assert_null(out.release);
        assert_int_equal(ar_builder_length(b), 0);
    }
    assert_same_array(&f, &ref, &out);
    ar_array_release(&out);
    ar_array_release(&ref);
    ar_builder_free(b);
    ar_field_free(&f);
}

static void test_arrow_builder__rejects_malformed_fields(void **state)
{
    struct ar_field f = leaf("l", AR_LIST, true); /* no child */
    struct ar_builder *b = (struct ar_builder *)&f;
    (void)state;

    assert_int_equal(ar_builder_new(&b, &f), INFINO_ERR_INVALID);
    assert_null(b);
    assert_non_null(strstr(err_last(), "list with 0 children"));
    ar_field_free(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arrow_builder__primitives_random),
        cmocka_unit_test(test_arrow_builder__bool_float_uint64),
        cmocka_unit_test(test_arrow_builder__range_and_kind_checks),
        cmocka_unit_test(test_arrow_builder__strings_random),
        cmocka_unit_test(test_arrow_builder__utf8_validation),
        cmocka_unit_test(test_arrow_builder__decimal_precision),
        cmocka_unit_test(test_arrow_builder__lists),
        cmocka_unit_test(test_arrow_builder__fixed_size_lists),
        cmocka_unit_test(test_arrow_builder__structs),
        cmocka_unit_test(test_arrow_builder__nested_random),
        cmocka_unit_test(test_arrow_builder__allocation_failures),
        cmocka_unit_test(test_arrow_builder__rejects_malformed_fields),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
