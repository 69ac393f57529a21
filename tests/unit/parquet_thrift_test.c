/*
 * parquet_thrift_test.c - the Thrift compact protocol codec: byte-exact
 * encodings from the spec, round trips of every type, skipping unknown
 * fields of every wire type, and malformed input (truncation at every
 * byte, oversized lists, deep nesting, bad types, out-of-range ints).
 */
#include "harness.h"

#include "format/parquet/pq_thrift.h"
#include "util/alloc.h"

#include <math.h>

/* Skips one whole struct message; the generic way to validate bytes. */
static infino_status skip_message(const uint8_t *p, size_t n, size_t *used)
{
    struct pq_tr r;
    infino_status st;

    pq_tr_init(&r, p, n);
    st = pq_tr_skip(&r, PQ_T_STRUCT);
    if (used)
        *used = pq_tr_offset(&r);
    return st;
}

static void test_parquet_thrift__spec_bytes(void **state)
{
    struct buf b = {0};
    struct pq_tw w;
    (void)state;

    /* {1: i32 1, 20: i64 -1, 21: true, 5 (backwards): binary "ab",
     *  6: list<i32>[1, -1]} */
    pq_tw_init(&w, &b);
    assert_ok(pq_tw_struct_begin(&w));
    assert_ok(pq_tw_field_i32(&w, 1, 1));
    assert_ok(pq_tw_field_i64(&w, 20, -1));
    assert_ok(pq_tw_field_bool(&w, 21, true));
    assert_ok(pq_tw_field_binary(&w, 5, "ab", 2));
    assert_ok(pq_tw_field_list(&w, 6, PQ_T_I32, 2));
    assert_ok(pq_tw_elem_i32(&w, 1));
    assert_ok(pq_tw_elem_i32(&w, -1));
    assert_ok(pq_tw_struct_end(&w));
    static const uint8_t want[] = {
        0x15, 0x02,       /* delta 1, i32, zigzag(1) = 2 */
        0x06, 0x28, 0x01, /* long form: i64, zigzag id 20 = 40, zigzag(-1) */
        0x11,             /* delta 1, BOOLEAN_TRUE */
        0x08, 0x0a, 0x02, 'a', 'b', /* id 5 < 21: long form */
        0x19, 0x25, 0x02, 0x01,     /* delta 1, list, (2 << 4 | i32) */
        0x00,
    };
    assert_int_equal(b.len, sizeof want);
    assert_memory_equal(b.data, want, sizeof want);
    buf_free(&b);
}

static void test_parquet_thrift__roundtrip_every_type(void **state)
{
    struct buf b = {0};
    struct pq_tw w;
    struct pq_tr r;
    struct pq_tfield f;
    uint8_t big[300];
    (void)state;

    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (uint8_t)test_rand();
    pq_tw_init(&w, &b);
    assert_ok(pq_tw_struct_begin(&w));
    assert_ok(pq_tw_field_bool(&w, 1, false));
    assert_ok(pq_tw_field_i8(&w, 2, -128));
    assert_ok(pq_tw_field_i16(&w, 3, INT16_MIN));
    assert_ok(pq_tw_field_i32(&w, 4, INT32_MAX));
    assert_ok(pq_tw_field_i64(&w, 5, INT64_MIN));
    assert_ok(pq_tw_field_double(&w, 6, -0.5));
    assert_ok(pq_tw_field_binary(&w, 7, big, sizeof big));
    assert_ok(pq_tw_field_binary(&w, 8, "", 0));
    assert_ok(pq_tw_field_list(&w, 9, PQ_T_I64, 20)); /* long list header */
    for (int i = 0; i < 20; i++)
        assert_ok(pq_tw_elem_i64(&w, (int64_t)i * -1000000007));
    assert_ok(pq_tw_field_list(&w, 10, PQ_T_BOOL, 3));
    assert_ok(pq_tw_elem_bool(&w, true));
    assert_ok(pq_tw_elem_bool(&w, false));
    assert_ok(pq_tw_elem_bool(&w, true));
    assert_ok(pq_tw_field_list(&w, 11, PQ_T_STRUCT, 2));
    for (int i = 0; i < 2; i++) {
        assert_ok(pq_tw_struct_begin(&w));
        assert_ok(pq_tw_field_i32(&w, 1, i));
        assert_ok(pq_tw_field_struct(&w, 2)); /* empty nested struct */
        assert_ok(pq_tw_struct_end(&w));
        assert_ok(pq_tw_struct_end(&w));
    }
    assert_ok(pq_tw_field_i32(&w, 32000, 7)); /* large id */
    assert_ok(pq_tw_field_i32(&w, -3, 9));    /* negative id */
    assert_ok(pq_tw_struct_end(&w));

    pq_tr_init(&r, b.data, b.len);
    assert_ok(pq_tr_struct_begin(&r));
    for (int expect_id = 1;; expect_id++) {
        bool bv;
        int8_t i8;
        int16_t i16;
        int32_t i32;
        int64_t i64;
        double d;
        const uint8_t *p;
        size_t n;
        uint32_t count;
        assert_ok(pq_tr_field(&r, &f));
        if (f.type == PQ_T_STOP)
            break;
        switch (expect_id) {
        case 1:
            assert_ok(pq_tr_field_bool(&r, &f, &bv));
            assert_false(bv);
            break;
        case 2:
            assert_ok(pq_tr_i8(&r, f.type, &i8));
            assert_int_equal(i8, -128);
            break;
        case 3:
            assert_ok(pq_tr_i16(&r, f.type, &i16));
            assert_int_equal(i16, INT16_MIN);
            break;
        case 4:
            assert_ok(pq_tr_i32(&r, f.type, &i32));
            assert_int_equal(i32, INT32_MAX);
            break;
        case 5:
            assert_ok(pq_tr_i64(&r, f.type, &i64));
            assert_true(i64 == INT64_MIN);
            break;
        case 6:
            assert_ok(pq_tr_double(&r, f.type, &d));
            assert_true(d == -0.5);
            break;
        case 7:
            assert_ok(pq_tr_binary(&r, f.type, &p, &n));
            assert_int_equal(n, sizeof big);
            assert_memory_equal(p, big, n);
            break;
        case 8:
            assert_ok(pq_tr_binary(&r, f.type, &p, &n));
            assert_int_equal(n, 0);
            break;
        case 9:
            assert_ok(pq_tr_list(&r, f.type, PQ_T_I64, &count));
            assert_int_equal(count, 20);
            for (int i = 0; i < 20; i++) {
                assert_ok(pq_tr_i64(&r, PQ_T_I64, &i64));
                assert_true(i64 == (int64_t)i * -1000000007);
            }
            break;
        case 10:
            assert_ok(pq_tr_list(&r, f.type, PQ_T_BOOL, &count));
            assert_int_equal(count, 3);
            assert_ok(pq_tr_elem_bool(&r, &bv));
            assert_true(bv);
            assert_ok(pq_tr_elem_bool(&r, &bv));
            assert_false(bv);
            assert_ok(pq_tr_elem_bool(&r, &bv));
            assert_true(bv);
            break;
        case 11:
            assert_ok(pq_tr_list(&r, f.type, PQ_T_STRUCT, &count));
            assert_int_equal(count, 2);
            for (uint32_t i = 0; i < count; i++) {
                struct pq_tfield g;
                assert_ok(pq_tr_struct_begin(&r));
                assert_ok(pq_tr_field(&r, &g));
                assert_int_equal(g.id, 1);
                assert_ok(pq_tr_i32(&r, g.type, &i32));
                assert_int_equal(i32, (int32_t)i);
                assert_ok(pq_tr_field(&r, &g));
                assert_int_equal(g.id, 2);
                assert_ok(pq_tr_skip(&r, g.type));
                assert_ok(pq_tr_field(&r, &g));
                assert_int_equal(g.type, PQ_T_STOP);
            }
            break;
        case 12:
            assert_int_equal(f.id, 32000);
            assert_ok(pq_tr_i32(&r, f.type, &i32));
            assert_int_equal(i32, 7);
            break;
        case 13:
            assert_int_equal(f.id, -3);
            assert_ok(pq_tr_i32(&r, f.type, &i32));
            assert_int_equal(i32, 9);
            break;
        default:
            fail_msg("unexpected field %d", f.id);
        }
        if (expect_id <= 11)
            assert_int_equal(f.id, expect_id);
    }
    assert_int_equal(pq_tr_offset(&r), b.len);
    buf_free(&b);
}

/* A struct holding one unknown field of each wire type (hand-encoded,
 * since maps, sets and uuids have no writer), between known fields. */
static size_t unknown_fields_message(uint8_t *out)
{
    static const uint8_t msg[] = {
        0x15, 0x54,                   /* 1: i32 42 */
        0x11,                         /* 2: true */
        0x12,                         /* 3: false */
        0x13, 0x80,                   /* 4: i8 */
        0x14, 0xfe, 0xff, 0x03,       /* 5: i16 */
        0x16, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x01,
                                      /* 6: i64 (10-byte varint) */
        0x17, 1, 2, 3, 4, 5, 6, 7, 8, /* 7: double */
        0x18, 0x03, 'x', 'y', 'z',    /* 8: binary */
        0x19, 0x21, 0x01, 0x02,       /* 9: list<bool>[true, false] */
        0x1a, 0x15, 0x04,             /* 10: set<i32>{2} */
        0x1b, 0x02, 0x8c, 0x01, 'a', 0x00, 0x01, 'b', 0x15, 0x02, 0x00,
                                      /* 11: map<binary, struct>{2} */
        0x1b, 0x00,                   /* 12: empty map */
        0x1c, 0x19, 0x1c, 0x15, 0x02, 0x00, 0x00,
                                      /* 13: struct{1: list<struct>[{1:1}]} */
        0x1d, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
                                      /* 14: uuid */
        0x19, 0xf5, 0x10, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14,
        15,                           /* 15: list<i32> of 16 (long form) */
        0x08, 0xc8, 0x01, 0x01, 'k',  /* 100: binary "k" (long form) */
        0x00,
    };
    memcpy(out, msg, sizeof msg);
    return sizeof msg;
}

static void test_parquet_thrift__skips_unknown_fields(void **state)
{
    uint8_t msg[256];
    size_t n = unknown_fields_message(msg), used;
    struct pq_tr r;
    struct pq_tfield f;
    int32_t v = 0;
    const uint8_t *p = NULL;
    size_t len = 0;
    int seen = 0;
    (void)state;

    pq_tr_init(&r, msg, n);
    assert_ok(pq_tr_struct_begin(&r));
    for (;;) {
        assert_ok(pq_tr_field(&r, &f));
        if (f.type == PQ_T_STOP)
            break;
        seen++;
        if (f.id == 1)
            assert_ok(pq_tr_i32(&r, f.type, &v));
        else if (f.id == 100)
            assert_ok(pq_tr_binary(&r, f.type, &p, &len));
        else
            assert_ok(pq_tr_skip(&r, f.type));
    }
    assert_int_equal(seen, 16);
    assert_int_equal(v, 42);
    assert_int_equal(len, 1);
    assert_int_equal(p[0], 'k');
    assert_int_equal(pq_tr_offset(&r), n);
    /* The generic skipper walks the same bytes. */
    assert_ok(skip_message(msg, n, &used));
    assert_int_equal(used, n);
}

static void test_parquet_thrift__every_truncation_is_corrupt(void **state)
{
    uint8_t msg[256];
    size_t n = unknown_fields_message(msg);
    (void)state;

    for (size_t k = 0; k < n; k++) {
        /* a fresh allocation of exactly k bytes, so ASan sees overreads */
        uint8_t *p = malloc(k ? k : 1);
        if (k)
            memcpy(p, msg, k);
        assert_int_equal(skip_message(p, k, NULL), INFINO_ERR_CORRUPT);
        free(p);
    }
}

static void test_parquet_thrift__malformed(void **state)
{
    struct pq_tr r;
    struct pq_tfield f;
    int32_t i32;
    int16_t i16;
    uint32_t count;
    (void)state;

    /* a list claiming more elements than bytes left */
    static const uint8_t long_list[] = {0x19, 0xf5, 0xff, 0xff, 0x03, 1, 2};
    assert_int_equal(skip_message(long_list, sizeof long_list, NULL),
                     INFINO_ERR_CORRUPT);
    pq_tr_init(&r, long_list, sizeof long_list);
    assert_ok(pq_tr_struct_begin(&r));
    assert_ok(pq_tr_field(&r, &f));
    assert_int_equal(pq_tr_list(&r, f.type, PQ_T_I32, &count),
                     INFINO_ERR_CORRUPT);
    /* a map claiming too many entries */
    static const uint8_t long_map[] = {0x1b, 0x7f, 0x55, 0x02, 0x02, 0x00};
    assert_int_equal(skip_message(long_map, sizeof long_map, NULL),
                     INFINO_ERR_CORRUPT);
    /* unknown wire types 14 and 15, and a STOP type with a delta */
    static const uint8_t bad_type[] = {0x1e, 0x00};
    static const uint8_t bad_type2[] = {0x1f, 0x00};
    static const uint8_t bad_type3[] = {0x10, 0x00};
    assert_int_equal(skip_message(bad_type, 2, NULL), INFINO_ERR_CORRUPT);
    assert_int_equal(skip_message(bad_type2, 2, NULL), INFINO_ERR_CORRUPT);
    assert_int_equal(skip_message(bad_type3, 2, NULL), INFINO_ERR_CORRUPT);
    /* an i32 field holding 2^40; an i16 holding 40000 */
    static const uint8_t big_i32[] = {0x15, 0x80, 0x80, 0x80, 0x80,
                                      0x80, 0x40, 0x00};
    pq_tr_init(&r, big_i32, sizeof big_i32);
    assert_ok(pq_tr_struct_begin(&r));
    assert_ok(pq_tr_field(&r, &f));
    assert_int_equal(pq_tr_i32(&r, f.type, &i32), INFINO_ERR_CORRUPT);
    static const uint8_t big_i16[] = {0x14, 0x80, 0xf1, 0x04, 0x00};
    pq_tr_init(&r, big_i16, sizeof big_i16);
    assert_ok(pq_tr_struct_begin(&r));
    assert_ok(pq_tr_field(&r, &f));
    assert_int_equal(pq_tr_i16(&r, f.type, &i16), INFINO_ERR_CORRUPT);
    /* a varint longer than 10 bytes */
    static const uint8_t overlong[] = {0x16, 0xff, 0xff, 0xff, 0xff, 0xff,
                                       0xff, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(skip_message(overlong, sizeof overlong, NULL),
                     INFINO_ERR_CORRUPT);
    /* wire type mismatch: asking an i32 field for binary */
    pq_tr_init(&r, big_i32, sizeof big_i32);
    assert_ok(pq_tr_struct_begin(&r));
    assert_ok(pq_tr_field(&r, &f));
    {
        const uint8_t *p;
        size_t n;
        assert_int_equal(pq_tr_binary(&r, f.type, &p, &n),
                         INFINO_ERR_CORRUPT);
    }
    /* field id overflowing int16 through deltas */
    static const uint8_t id_overflow[] = {0x05, 0xfc, 0xff, 0x03, 0x00,
                                          0xf5, 0x00, 0x00};
    assert_int_equal(skip_message(id_overflow, sizeof id_overflow, NULL),
                     INFINO_ERR_CORRUPT);
    /* bool list element bytes other than 0, 1, 2 */
    static const uint8_t bad_bool[] = {0x19, 0x11, 0x07, 0x00};
    pq_tr_init(&r, bad_bool, sizeof bad_bool);
    assert_ok(pq_tr_struct_begin(&r));
    assert_ok(pq_tr_field(&r, &f));
    assert_ok(pq_tr_list(&r, f.type, PQ_T_BOOL, &count));
    {
        bool v;
        assert_int_equal(pq_tr_elem_bool(&r, &v), INFINO_ERR_CORRUPT);
    }
}

static void test_parquet_thrift__depth_limit(void **state)
{
    uint8_t msg[2 * PQ_THRIFT_MAX_DEPTH + 8];
    size_t n = 0;
    (void)state;

    /* PQ_THRIFT_MAX_DEPTH nested structs (the outer one included) pass,
     * one more fails, both in the skipper and in the writer. */
    for (int extra = 0; extra <= 1; extra++) {
        int depth = PQ_THRIFT_MAX_DEPTH + extra;
        n = 0;
        for (int i = 1; i < depth; i++)
            msg[n++] = 0x1c; /* field 1: struct */
        for (int i = 0; i < depth; i++)
            msg[n++] = 0x00;
        assert_int_equal(skip_message(msg, n, NULL),
                         extra ? INFINO_ERR_CORRUPT : INFINO_OK);
    }
    {
        struct buf b = {0};
        struct pq_tw w;
        infino_status st = INFINO_OK;
        pq_tw_init(&w, &b);
        assert_ok(pq_tw_struct_begin(&w));
        for (int i = 1; i < PQ_THRIFT_MAX_DEPTH; i++)
            assert_ok(pq_tw_field_struct(&w, 1));
        st = pq_tw_field_struct(&w, 1);
        assert_int_equal(st, INFINO_ERR_INVALID);
        buf_free(&b);
    }
    /* a list nested in lists beyond the limit */
    n = 0;
    msg[n++] = 0x19;
    for (int i = 0; i < PQ_THRIFT_MAX_DEPTH + 2; i++)
        msg[n++] = 0x19; /* list of one list */
    msg[n++] = 0x00;
    assert_int_equal(skip_message(msg, n, NULL), INFINO_ERR_CORRUPT);
}

static void test_parquet_thrift__random_bytes_never_crash(void **state)
{
    uint8_t buf[64];
    int ok = 0;
    (void)state;

    /* Random inputs are mostly rejected; the point is that none reads out
     * of bounds (ASan) or loops forever. */
    for (int iter = 0; iter < 20000; iter++) {
        size_t n = (size_t)(test_rand() % sizeof buf);
        uint8_t *p = malloc(n ? n : 1);
        for (size_t i = 0; i < n; i++)
            p[i] = (uint8_t)(test_rand() % 4 == 0 ? 0 : test_rand());
        if (skip_message(p, n, NULL) == INFINO_OK)
            ok++;
        free(p);
    }
    (void)buf;
    assert_true(ok > 0); /* some random structs are well formed */
}

static void test_parquet_thrift__writer_out_of_memory(void **state)
{
    long failures = 0;
    (void)state;
    /* Fail the 1st, 2nd, ... allocation until the message fits. */
    for (long k = 1;; k++) {
        struct buf b = {0};
        struct pq_tw w;
        infino_status st;
        pq_tw_init(&w, &b);
        mem_fail_after(k);
        st = pq_tw_struct_begin(&w);
        for (int i = 0; i < 200 && st == INFINO_OK; i++)
            st = pq_tw_field_binary(&w, (int16_t)(i + 1), "0123456789", 10);
        mem_fail_reset();
        buf_free(&b);
        if (st == INFINO_OK)
            break;
        assert_int_equal(st, INFINO_ERR_NOMEM);
        failures++;
    }
    assert_true(failures >= 5); /* the buffer grew several times */
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parquet_thrift__spec_bytes),
        cmocka_unit_test(test_parquet_thrift__roundtrip_every_type),
        cmocka_unit_test(test_parquet_thrift__skips_unknown_fields),
        cmocka_unit_test(test_parquet_thrift__every_truncation_is_corrupt),
        cmocka_unit_test(test_parquet_thrift__malformed),
        cmocka_unit_test(test_parquet_thrift__depth_limit),
        cmocka_unit_test(test_parquet_thrift__random_bytes_never_crash),
        cmocka_unit_test(test_parquet_thrift__writer_out_of_memory),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
