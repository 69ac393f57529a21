/*
 * arrow_array_test.c - ar_array_validate / ar_batch_validate against good
 * arrays and a catalogue of malformed ones, a brute-force oracle on random
 * arrays, and ar_array_make / release ownership.
 */
#include "harness.h"

#include "format/arrow/arrow.h"
#include "util/alloc.h"

#include <stdarg.h>

/* ---- fields ----------------------------------------------------------- */

static struct ar_field leaf(const char *name, enum ar_type t, bool nullable)
{
    struct ar_field f;

    memset(&f, 0, sizeof f);
    f.name = mem_strdup(name);
    f.type = t;
    f.nullable = nullable;
    if (t == AR_DECIMAL128)
        f.precision = 10;
    return f;
}

/* A nested field with `n` children passed by value (taken). */
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

/* ---- foreign arrays over static buffers ------------------------------- */

static int n_released;

static void count_release(struct ArrowArray *a)
{
    n_released++;
    a->release = NULL;
}

struct fake {
    struct ArrowArray a;
    const void *bufs[3];
    struct ArrowArray *kids[4];
};

static struct ArrowArray *fake(struct fake *f, int64_t length,
                               int64_t null_count, int64_t offset,
                               int n_buffers, const void *b0, const void *b1,
                               const void *b2)
{
    memset(f, 0, sizeof *f);
    f->bufs[0] = b0;
    f->bufs[1] = b1;
    f->bufs[2] = b2;
    f->a.length = length;
    f->a.null_count = null_count;
    f->a.offset = offset;
    f->a.n_buffers = n_buffers;
    f->a.buffers = f->bufs;
    f->a.children = f->kids;
    f->a.release = count_release;
    return &f->a;
}

static void add_child(struct fake *f, struct ArrowArray *c)
{
    f->kids[f->a.n_children++] = c;
}

static void expect_invalid(const struct ar_field *f, const struct ArrowArray *a,
                           const char *needle)
{
    infino_status st = ar_array_validate(f, a);

    if (st != INFINO_ERR_INVALID)
        fail_msg("expected INVALID (%s), got %d", needle, (int)st);
    if (strstr(err_last(), needle) == NULL)
        fail_msg("'%s' not in '%s'", needle, err_last());
}

/* ---- good arrays ------------------------------------------------------ */

static const int32_t i32_values[8] = {1, 2, 3, 4, 5, 6, 7, 8};
static const uint8_t bits_0x5f[1] = {0x5f}; /* 0101 1111: rows 5, 7 null */

static void test_arrow_array__accepts_primitives(void **state)
{
    struct ar_field f = leaf("x", AR_INT32, true);
    struct fake fa;
    struct ArrowArray *a;
    (void)state;

    a = fake(&fa, 8, 2, 0, 2, bits_0x5f, i32_values, NULL);
    assert_ok(ar_array_validate(&f, a));
    a->null_count = -1; /* unknown: computed */
    assert_ok(ar_array_validate(&f, a));
    /* slice [1, 5): no nulls there */
    a = fake(&fa, 4, 0, 1, 2, bits_0x5f, i32_values, NULL);
    assert_ok(ar_array_validate(&f, a));
    f.nullable = false;
    assert_ok(ar_array_validate(&f, a));
    /* no bitmap, no nulls */
    a = fake(&fa, 8, 0, 0, 2, NULL, i32_values, NULL);
    assert_ok(ar_array_validate(&f, a));
    /* empty array: every buffer may be NULL (C data interface) */
    a = fake(&fa, 0, 0, 0, 2, NULL, NULL, NULL);
    assert_ok(ar_array_validate(&f, a));
    ar_field_free(&f);

    f = leaf("b", AR_BOOL, false);
    a = fake(&fa, 8, 0, 0, 2, NULL, bits_0x5f, NULL);
    assert_ok(ar_array_validate(&f, a));
    ar_field_free(&f);
}

static void test_arrow_array__accepts_var_and_nested(void **state)
{
    static const int32_t offs[] = {0, 3, 3, 7, 9};
    static const int64_t offs64[] = {0, 3, 3, 7, 9};
    static const char bytes[] = "abcdefghi";
    static const uint8_t all_valid[2] = {0xff, 0xff};
    static const int32_t zeros[5] = {0};
    struct ar_field f;
    struct fake fa, fc, fd, fe;
    struct ArrowArray *a, *c;
    (void)state;

    f = leaf("s", AR_UTF8, true);
    a = fake(&fa, 4, 0, 0, 3, NULL, offs, bytes);
    assert_ok(ar_array_validate(&f, a));
    a = fake(&fa, 2, 0, 2, 3, NULL, offs, bytes); /* offsets from 3 */
    assert_ok(ar_array_validate(&f, a));
    /* all strings empty: the data buffer's size is 0, it may be NULL */
    a = fake(&fa, 4, 0, 0, 3, NULL, zeros, NULL);
    assert_ok(ar_array_validate(&f, a));
    ar_field_free(&f);

    f = leaf("s", AR_LARGE_BINARY, true);
    a = fake(&fa, 4, 0, 0, 3, NULL, offs64, bytes);
    assert_ok(ar_array_validate(&f, a));
    ar_field_free(&f);

    /* list<int32>: last offset 9 == child length */
    f = nest("l", AR_LIST, true, 0, 1, leaf("item", AR_INT32, true));
    c = fake(&fc, 9, 0, 0, 2, NULL, i32_values, NULL);
    a = fake(&fa, 4, 0, 0, 2, NULL, offs, NULL);
    add_child(&fa, c);
    assert_ok(ar_array_validate(&f, a));
    ar_field_free(&f);

    /* fixed_size_list<int32, 2>, offset 1 length 3: needs 8 child values */
    f = nest("emb", AR_FIXED_SIZE_LIST, true, 2, 1,
             leaf("item", AR_INT32, false));
    c = fake(&fc, 8, 0, 0, 2, NULL, i32_values, NULL);
    a = fake(&fa, 3, 0, 1, 1, NULL, NULL, NULL);
    add_child(&fa, c);
    assert_ok(ar_array_validate(&f, a));
    ar_field_free(&f);

    /* struct<a: int32, b: utf8> with offset 1 */
    f = nest("st", AR_STRUCT, true, 0, 2, leaf("a", AR_INT32, false),
             leaf("b", AR_UTF8, true));
    c = fake(&fc, 5, 0, 0, 2, NULL, i32_values, NULL);
    a = fake(&fa, 3, 0, 1, 1, all_valid, NULL, NULL);
    add_child(&fa, c);
    add_child(&fa, fake(&fd, 4, 0, 0, 3, NULL, offs, bytes));
    assert_ok(ar_array_validate(&f, a));
    ar_field_free(&f);

    /* large_list<struct<x: int32>>: offsets index struct rows */
    f = nest("ll", AR_LARGE_LIST, true, 0, 1,
             nest("item", AR_STRUCT, true, 0, 1, leaf("x", AR_INT32, true)));
    a = fake(&fa, 4, 0, 0, 2, NULL, offs64, NULL);
    add_child(&fa, fake(&fc, 8, 0, 0, 1, NULL, NULL, NULL));
    add_child(&fc, fake(&fe, 8, 0, 0, 2, NULL, i32_values, NULL));
    expect_invalid(&f, a, "column 'll': last offset 9 > child length 8");
    fa.a.length = 3; /* last offset 7 */
    assert_ok(ar_array_validate(&f, a));
    fe.a.length = 6; /* the struct needs 8 rows of x */
    expect_invalid(&f, a, "column 'll.item': child 'x' length 6 < 8");
    ar_field_free(&f);
}

/* ---- the catalogue of malformed arrays -------------------------------- */

static void test_arrow_array__rejects_malformed_generic(void **state)
{
    struct ar_field f = leaf("x", AR_INT32, true);
    struct fake fa, fb;
    struct ArrowArray *a;
    (void)state;

#define BASE() (a = fake(&fa, 8, 0, 0, 2, NULL, i32_values, NULL))
    BASE();
    a->length = -1;
    expect_invalid(&f, a, "column 'x': bad length -1");
    BASE();
    a->offset = -2;
    expect_invalid(&f, a, "bad length 8 / offset -2");
    BASE();
    a->offset = INT64_MAX;
    expect_invalid(&f, a, "bad length");
    BASE();
    a->null_count = 9;
    expect_invalid(&f, a, "null_count 9 out of range");
    BASE();
    a->null_count = -2;
    expect_invalid(&f, a, "null_count -2 out of range");
    BASE();
    a->n_buffers = 3;
    expect_invalid(&f, a, "3 buffers, int32 has 2");
    BASE();
    a->buffers = NULL;
    expect_invalid(&f, a, "buffers is NULL");
    BASE();
    add_child(&fa, fake(&fb, 8, 0, 0, 2, NULL, i32_values, NULL));
    expect_invalid(&f, a, "1 children, int32 has 0");
    BASE();
    a->dictionary = fake(&fb, 1, 0, 0, 2, NULL, i32_values, NULL);
    expect_invalid(&f, a, "unexpected dictionary");
    BASE();
    a->release = NULL;
    expect_invalid(&f, a, "released");
    expect_invalid(&f, NULL, "array is NULL");
    BASE();
    a->null_count = 1;
    expect_invalid(&f, a, "null_count 1 without a validity bitmap");
    a = fake(&fa, 8, 1, 0, 2, bits_0x5f, i32_values, NULL);
    expect_invalid(&f, a, "null_count 1 but the bitmap has 2 nulls");
    a = fake(&fa, 8, 0, 0, 2, NULL, NULL, NULL);
    expect_invalid(&f, a, "values buffer is NULL");
    a = fake(&fa, 0, 0, 3, 2, NULL, NULL, NULL); /* offset alone counts */
    expect_invalid(&f, a, "values buffer is NULL");
#undef BASE
    ar_field_free(&f);
}

static void test_arrow_array__rejects_bad_offsets(void **state)
{
    static const int32_t neg_first[] = {-1, 2, 3};
    static const int32_t decreasing[] = {0, 4, 2, 6};
    static const int32_t ok[] = {0, 2, 4, 6};
    static const int64_t big[] = {0, 2, 4, (int64_t)1 << 40};
    static const char bytes[] = "abcdef";
    struct ar_field f;
    struct fake fa, fc;
    struct ArrowArray *a;
    (void)state;

    f = leaf("s", AR_UTF8, true);
    expect_invalid(&f, fake(&fa, 2, 0, 0, 3, NULL, neg_first, bytes),
                   "column 's': first offset -1 is negative");
    expect_invalid(&f, fake(&fa, 3, 0, 0, 3, NULL, decreasing, bytes),
                   "offsets decrease at row 1 (2 after 4)");
    expect_invalid(&f, fake(&fa, 3, 0, 0, 3, NULL, NULL, bytes),
                   "offsets buffer is NULL");
    expect_invalid(&f, fake(&fa, 3, 0, 0, 3, NULL, ok, NULL),
                   "data buffer is NULL");
    /* an offset window that skips the decrease is fine */
    assert_ok(ar_array_validate(&f, fake(&fa, 1, 0, 2, 3, NULL, decreasing,
                                         bytes)));
    ar_field_free(&f);

    f = nest("l", AR_LIST, true, 0, 1, leaf("item", AR_INT32, true));
    a = fake(&fa, 3, 0, 0, 2, NULL, ok, NULL);
    add_child(&fa, fake(&fc, 5, 0, 0, 2, NULL, i32_values, NULL));
    expect_invalid(&f, a, "column 'l': last offset 6 > child length 5");
    fc.a.length = 6;
    assert_ok(ar_array_validate(&f, a));
    fa.a.n_children = 0;
    expect_invalid(&f, a, "0 children, list has 1");
    fa.a.n_children = 1;
    fa.kids[0] = NULL;
    expect_invalid(&f, a, "child 0 is NULL");
    fa.a.children = NULL;
    expect_invalid(&f, a, "children is NULL");
    ar_field_free(&f);

    f = nest("l", AR_LARGE_LIST, true, 0, 1, leaf("item", AR_INT32, true));
    a = fake(&fa, 3, 0, 0, 2, NULL, big, NULL);
    add_child(&fa, fake(&fc, 8, 0, 0, 2, NULL, i32_values, NULL));
    expect_invalid(&f, a, "last offset 1099511627776 > child length 8");
    ar_field_free(&f);
}

static void test_arrow_array__rejects_short_children(void **state)
{
    static float floats[10];
    struct ar_field f;
    struct fake fa, fc, fd;
    struct ArrowArray *a;
    (void)state;

    /* the example from the module's brief, verbatim */
    f = nest("embedding", AR_FIXED_SIZE_LIST, true, 384, 1,
             leaf("item", AR_FLOAT32, false));
    a = fake(&fa, 3, 0, 0, 1, NULL, NULL, NULL);
    add_child(&fa, fake(&fc, 10, 0, 0, 2, NULL, floats, NULL));
    assert_int_equal(ar_array_validate(&f, a), INFINO_ERR_INVALID);
    assert_string_equal(err_last(),
                        "column 'embedding': child length 10 < 3 x 384");
    /* x * list_size overflowing int64 */
    fa.a.length = INT64_MAX / 2;
    expect_invalid(&f, a, "overflow");
    ar_field_free(&f);

    f = nest("st", AR_STRUCT, true, 0, 2, leaf("a", AR_INT32, true),
             leaf("b", AR_FLOAT32, true));
    a = fake(&fa, 4, 0, 2, 1, NULL, NULL, NULL);
    add_child(&fa, fake(&fc, 8, 0, 0, 2, NULL, i32_values, NULL));
    add_child(&fa, fake(&fd, 5, 0, 0, 2, NULL, floats, NULL));
    expect_invalid(&f, a, "column 'st': child 'b' length 5 < 6");
    fd.a.length = 6;
    assert_ok(ar_array_validate(&f, a));
    /* a malformed grandchild names its full path */
    fd.a.n_buffers = 1;
    expect_invalid(&f, a, "column 'st.b': 1 buffers, float32 has 2");
    ar_field_free(&f);
}

static void test_arrow_array__non_nullable(void **state)
{
    static const uint8_t parent_bits[1] = {0x05}; /* rows 0, 2 valid */
    static const uint8_t child_bits[1] = {0x3c};  /* values 2..5 valid */
    static const uint8_t child_bits2[1] = {0x33}; /* 2, 3 null */
    static float floats[6];
    struct ar_field f;
    struct fake fa, fc;
    struct ArrowArray *a;
    (void)state;

    f = leaf("x", AR_INT32, false);
    a = fake(&fa, 8, 2, 0, 2, bits_0x5f, i32_values, NULL);
    assert_int_equal(ar_array_validate(&f, a), INFINO_ERR_INVALID);
    assert_string_equal(err_last(),
                        "column 'x': non-nullable, but row 5 is null");
    a->null_count = -1; /* unknown counts are computed */
    expect_invalid(&f, a, "row 5 is null");
    a->offset = 1; /* logical rows shift with the offset */
    a->length = 6;
    expect_invalid(&f, a, "row 4 is null");
    ar_field_free(&f);

    /* fixed_size_list<float32 not null, 2>, rows 0 and 2 valid, row 1 null:
     * pyarrow fills the null row's child slots with nulls, which is fine */
    f = nest("emb", AR_FIXED_SIZE_LIST, true, 2, 1,
             leaf("item", AR_FLOAT32, false));
    a = fake(&fa, 3, 1, 0, 1, parent_bits, NULL, NULL);
    add_child(&fa, fake(&fc, 6, 2, 0, 2, child_bits, floats, NULL));
    /* child_bits: values 0, 1 null -> they belong to valid row 0 */
    expect_invalid(&f, a, "column 'emb.item': non-nullable, but row 0 is null");
    fc.bufs[0] = child_bits2; /* values 2, 3 null: row 1, a null row */
    assert_ok(ar_array_validate(&f, a));
    /* once the parent itself is non-nullable its row 1 must be valid */
    f.nullable = false;
    expect_invalid(&f, a, "column 'emb': non-nullable, but row 1 is null");
    ar_field_free(&f);
}

static void test_arrow_array__batches(void **state)
{
    static const int32_t offs[] = {0, 1, 2, 3, 4};
    static const char bytes[] = "abcd";
    static const uint8_t one_null[1] = {0x0e};
    struct ar_schema s;
    struct fake fa, fc, fd;
    struct ArrowArray *a;
    (void)state;

    memset(&s, 0, sizeof s);
    s.n_fields = 2;
    s.fields = mem_calloc(2, sizeof *s.fields);
    s.fields[0] = leaf("id", AR_INT32, false);
    s.fields[1] = leaf("name", AR_UTF8, true);
    a = fake(&fa, 4, 0, 0, 1, NULL, NULL, NULL);
    add_child(&fa, fake(&fc, 4, 0, 0, 2, NULL, i32_values, NULL));
    add_child(&fa, fake(&fd, 4, 1, 0, 3, one_null, offs, bytes));
    assert_ok(ar_batch_validate(&s, a));
    fc.bufs[0] = one_null;
    fc.a.null_count = 1;
    assert_int_equal(ar_batch_validate(&s, a), INFINO_ERR_INVALID);
    assert_string_equal(err_last(),
                        "column 'id': non-nullable, but row 0 is null");
    fc.bufs[0] = NULL;
    fc.a.null_count = 0;
    fa.a.n_children = 1;
    assert_int_equal(ar_batch_validate(&s, a), INFINO_ERR_INVALID);
    assert_string_equal(err_last(), "batch: 1 children, struct has 2");
    fa.a.n_children = 2;
    fa.bufs[0] = one_null;
    fa.a.null_count = 1;
    assert_int_equal(ar_batch_validate(&s, a), INFINO_ERR_INVALID);
    assert_string_equal(err_last(), "batch: record batch has null rows");
    ar_schema_free(&s);
}

/* ---- random arrays against brute force -------------------------------- */

static void test_arrow_array__random_oracle(void **state)
{
    enum { N = 200 };
    uint8_t bits[N / 8 + 1];
    int32_t offs[N + 1], vals[N];
    char bytes[4 * N + 1];
    struct ar_field fi = leaf("v", AR_INT32, true);
    struct ar_field fs = leaf("s", AR_UTF8, true);
    struct fake fa;
    (void)state;

    memset(vals, 0, sizeof vals);
    memset(bytes, 'a', sizeof bytes);
    for (int round = 0; round < 500; round++) {
        int64_t off = (int64_t)(test_rand() % 40);
        int64_t len = (int64_t)(test_rand() % (uint64_t)(N - off));
        int64_t nulls = 0, first_null = -1, first_dec = -1;
        uint64_t density = test_rand() % 4;

        for (size_t i = 0; i < sizeof bits; i++)
            bits[i] = (uint8_t)test_rand();
        if (density == 0)
            memset(bits, 0xff, sizeof bits);
        for (int64_t i = 0; i < len; i++) {
            if (!((bits[(off + i) / 8] >> ((off + i) % 8)) & 1)) {
                nulls++;
                if (first_null < 0)
                    first_null = i;
            }
        }
        /* exact and unknown counts pass; wrong counts fail */
        fi.nullable = true;
        assert_ok(ar_array_validate(
            &fi, fake(&fa, len, nulls, off, 2, bits, vals, NULL)));
        assert_ok(ar_array_validate(
            &fi, fake(&fa, len, -1, off, 2, bits, vals, NULL)));
        if (nulls < len)
            assert_int_equal(ar_array_validate(&fi, fake(&fa, len, nulls + 1,
                                                         off, 2, bits, vals,
                                                         NULL)),
                             INFINO_ERR_INVALID);
        /* non-nullable: fails exactly when there is a null, naming it */
        fi.nullable = false;
        if (first_null < 0) {
            assert_ok(ar_array_validate(
                &fi, fake(&fa, len, -1, off, 2, bits, vals, NULL)));
        } else {
            char want[64];
            snprintf(want, sizeof want, "row %lld is null",
                     (long long)first_null);
            expect_invalid(&fi, fake(&fa, len, -1, off, 2, bits, vals, NULL),
                           want);
        }

        /* offsets: random steps, sometimes one going backwards */
        offs[0] = (int32_t)(test_rand() % 3);
        for (int i = 1; i <= N; i++)
            offs[i] = offs[i - 1] + (int32_t)(test_rand() % 3);
        if (test_rand() % 2) {
            int k = 1 + (int)(test_rand() % N);
            offs[k] = offs[k - 1] - 1 - (int32_t)(test_rand() % 2);
        }
        for (int64_t i = off + 1; i <= off + len; i++) {
            if (offs[i] < offs[i - 1]) {
                first_dec = i - off - 1;
                break;
            }
        }
        if (len > 0 && offs[off] < 0) {
            expect_invalid(&fs, fake(&fa, len, 0, off, 3, NULL, offs, bytes),
                           "negative");
        } else if (first_dec >= 0) {
            char want[64];
            snprintf(want, sizeof want, "offsets decrease at row %lld",
                     (long long)first_dec);
            expect_invalid(&fs, fake(&fa, len, 0, off, 3, NULL, offs, bytes),
                           want);
        } else {
            assert_ok(ar_array_validate(
                &fs, fake(&fa, len, 0, off, 3, NULL, offs, bytes)));
        }
    }
    ar_field_free(&fi);
    ar_field_free(&fs);
}

/* ---- arrays we own ---------------------------------------------------- */

static void *dup_bytes(const void *p, size_t n)
{
    void *d = mem_alloc(n);
    assert_non_null(d);
    memcpy(d, p, n);
    return d;
}

static void test_arrow_array__make_and_release(void **state)
{
    struct ArrowArray kids[2], out, moved;
    struct fake f0, f1;
    void *bufs[2];
    struct ar_field f =
        nest("st", AR_STRUCT, true, 0, 2, leaf("a", AR_INT32, true),
             leaf("b", AR_INT32, true));
    (void)state;

    /* children moved in from a foreign producer: released by the parent */
    n_released = 0;
    kids[0] = *fake(&f0, 8, 0, 0, 2, NULL, i32_values, NULL);
    kids[1] = *fake(&f1, 8, 0, 0, 2, NULL, i32_values, NULL);
    kids[0].buffers = f0.bufs;
    kids[1].buffers = f1.bufs;
    bufs[0] = NULL;
    assert_ok(ar_array_make(&out, 8, 0, 1, bufs, 2, kids));
    assert_null(kids[0].release); /* moved */
    assert_null(kids[1].release);
    assert_int_equal(out.n_children, 2);
    assert_int_equal(out.n_buffers, 1);
    assert_ok(ar_array_validate(&f, &out));
    /* a consumer moves child 1 out before releasing the parent */
    moved = *out.children[1];
    out.children[1]->release = NULL;
    ar_array_release(&out);
    assert_null(out.release);
    assert_int_equal(n_released, 1);
    ar_array_release(&out); /* idempotent */
    ar_array_release(&moved);
    assert_int_equal(n_released, 2);
    ar_field_free(&f);

    /* buffers are mem_alloc'd and freed by release (ASan checks) */
    bufs[0] = dup_bytes(bits_0x5f, 1);
    bufs[1] = dup_bytes(i32_values, sizeof i32_values);
    assert_ok(ar_array_make(&out, 8, 2, 2, bufs, 0, NULL));
    f = leaf("x", AR_INT32, true);
    assert_ok(ar_array_validate(&f, &out));
    assert_false(ar_array_is_valid(&out, 5));
    assert_true(ar_array_is_valid(&out, 4));
    /* a moved array releases through its copy */
    moved = out;
    out.release = NULL;
    ar_array_release(&moved);
    ar_field_free(&f);

    /* bad arguments: buffers taken, children released, *out released */
    n_released = 0;
    kids[0] = *fake(&f0, 8, 0, 0, 2, NULL, i32_values, NULL);
    bufs[0] = dup_bytes(bits_0x5f, 1);
    bufs[1] = dup_bytes(i32_values, 4);
    assert_int_equal(ar_array_make(&out, 8, 9, 2, bufs, 1, kids),
                     INFINO_ERR_INVALID);
    assert_null(out.release);
    assert_int_equal(n_released, 1);

    /* allocation failure: the same */
    kids[0] = *fake(&f0, 8, 0, 0, 2, NULL, i32_values, NULL);
    bufs[0] = dup_bytes(bits_0x5f, 1);
    bufs[1] = dup_bytes(i32_values, 4);
    mem_fail_after(1);
    assert_int_equal(ar_array_make(&out, 8, 0, 2, bufs, 1, kids),
                     INFINO_ERR_NOMEM);
    mem_fail_reset();
    assert_null(out.release);
    assert_int_equal(n_released, 2);
    ar_array_release(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arrow_array__accepts_primitives),
        cmocka_unit_test(test_arrow_array__accepts_var_and_nested),
        cmocka_unit_test(test_arrow_array__rejects_malformed_generic),
        cmocka_unit_test(test_arrow_array__rejects_bad_offsets),
        cmocka_unit_test(test_arrow_array__rejects_short_children),
        cmocka_unit_test(test_arrow_array__non_nullable),
        cmocka_unit_test(test_arrow_array__batches),
        cmocka_unit_test(test_arrow_array__random_oracle),
        cmocka_unit_test(test_arrow_array__make_and_release),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
