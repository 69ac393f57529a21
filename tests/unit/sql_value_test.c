/*
 * sql_value_test.c - the text forms our SQL values take and the orders
 * SQLite compares them by: the number collation against exact integer
 * and decimal arithmetic, the time collation against day counts, the
 * date and timestamp formats at the ends of their Arrow ranges, and the
 * quoting of number literals SQLite would round.
 */
#include "harness.h"

#include "sql/sql_lex.h"
#include "sql/sql_value.h"
#include "util/buf.h"

#include <stdio.h>
#include <string.h>

static int num_cmp(const char *a, const char *b)
{
    int c = sql_collate_number(NULL, (int)strlen(a), a, (int)strlen(b), b);
    return (c > 0) - (c < 0);
}

static int time_cmp(const char *a, const char *b)
{
    int c = sql_collate_time(NULL, (int)strlen(a), a, (int)strlen(b), b);
    return (c > 0) - (c < 0);
}

static void test_sql_value__number_collation_is_exact(void **state)
{
    /* pairs in strictly increasing order */
    static const char *const up[] = {
        "-99999999999999999999999999999999999999",
        "-1.0e+20",
        "-100.50",
        "-9.99",
        "-5",
        "-0.000000000000000000000000000000000001",
        "0",
        "0.000000000000000000000000000000000001",
        "9.99",
        "9.990000000000000000000000000000000001",
        "10",
        "100.5",
        "9223372036854775807",
        "9223372036854775808",
        "18446744073709551615",
        "1.0e+20",
        "99999999999999999999999999999999999999",
        "NaN",  /* not a number: after every number, bytewise */
        "abc",
    };
    (void)state;
    for (size_t i = 0; i < sizeof up / sizeof up[0]; i++)
        for (size_t j = 0; j < sizeof up / sizeof up[0]; j++) {
            int want = (i > j) - (i < j);
            if (num_cmp(up[i], up[j]) != want)
                fail_msg("'%s' vs '%s': %d, want %d", up[i], up[j],
                         num_cmp(up[i], up[j]), want);
        }
    /* one value, many spellings */
    assert_int_equal(num_cmp("10", "10.000"), 0);
    assert_int_equal(num_cmp("10", "1e1"), 0);
    assert_int_equal(num_cmp("10", "1.0e+1"), 0);
    assert_int_equal(num_cmp("10", "+010"), 0);
    assert_int_equal(num_cmp("0", "-0.0"), 0);
    assert_int_equal(num_cmp(".5", "0.5"), 0);
    assert_int_equal(num_cmp("0.5", "5e-1"), 0);
    /* not numbers */
    assert_int_equal(num_cmp("1e", "1"), 1);
    assert_int_equal(num_cmp("-", "1"), 1);
    assert_int_equal(num_cmp("1 ", "1"), 1);
}

static void test_sql_value__time_collation_orders_instants(void **state)
{
    (void)state;
    assert_int_equal(time_cmp("10183-01-01", "1970-01-01"), 1);
    assert_int_equal(time_cmp("-0044-03-15", "0001-01-01"), -1);
    assert_int_equal(time_cmp("-0044-03-15", "-0100-01-01"), 1);
    assert_int_equal(time_cmp("2024-01-01 10:00:00", "2024-01-01T10:00:00Z"),
                     0);
    assert_int_equal(
        time_cmp("2024-01-01 10:00:00", "2024-01-01T12:30:00+02:30"), 0);
    assert_int_equal(
        time_cmp("2024-01-01 00:00:00", "2023-12-31T19:00:00-05:00"), 0);
    assert_int_equal(time_cmp("2024-01-01", "2024-01-01 00:00:00.000"), 0);
    assert_int_equal(time_cmp("2024-01-01 00:00:00.1", "2024-01-01 00:00:00.09"),
                     1);
    assert_int_equal(time_cmp("2024-01-01 00:00:00.000000001",
                              "2024-01-01 00:00:00"),
                     1);
    /* not dates: after every date, bytewise */
    assert_int_equal(time_cmp("2024-02-30", "9999-12-31"), 1);
    assert_int_equal(time_cmp("0", "2024-01-01"), 1);
    assert_int_equal(time_cmp("2024-01-01 25:00:00", "2024-01-01"), 1);
}

static void test_sql_value__dates_and_timestamps_round_trip(void **state)
{
    static const int64_t days[] = {0,         -1,        1,
                                   -719162,   -719163,   2932896,
                                   INT32_MIN, INT32_MAX, -1882603};
    static const int64_t ts[] = {0, -1, 1, INT64_MIN, INT64_MAX,
                                 1704103200123456789LL};
    char text[SQL_TIMESTAMP_MAX];
    int64_t back;

    (void)state;
    for (size_t i = 0; i < sizeof days / sizeof days[0]; i++) {
        sql_format_date(text, days[i]);
        assert_int_equal(sql_parse_date(&back, text), INFINO_OK);
        if (back != days[i])
            fail_msg("%lld -> '%s' -> %lld", (long long)days[i], text,
                     (long long)back);
    }
    sql_format_date(text, -1882603);
    assert_string_equal(text, "-3185-08-11"); /* 8 eras back, then 5,335 days */
    sql_format_date(text, INT32_MAX);
    assert_string_equal(text, "5881580-07-11");
    for (int unit = AR_SECOND; unit <= AR_NANO; unit++)
        for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
            sql_format_timestamp(text, ts[i], (enum ar_time_unit)unit);
            assert_int_equal(
                sql_parse_timestamp(&back, text, (enum ar_time_unit)unit),
                INFINO_OK);
            if (back != ts[i])
                fail_msg("unit %d: %lld -> '%s' -> %lld", unit,
                         (long long)ts[i], text, (long long)back);
        }
    /* more precise than the unit, and past the range */
    assert_int_equal(sql_parse_timestamp(&back, "2024-01-01 00:00:00.5",
                                         AR_SECOND),
                     INFINO_ERR_INVALID);
    assert_int_equal(sql_parse_timestamp(&back, "3000-01-01 00:00:00",
                                         AR_NANO),
                     INFINO_ERR_INVALID);
}

static void check_quoted(const char *in, const char *want)
{
    struct buf out = {0};

    assert_int_equal(sql_quote_wide_numbers(&out, in), INFINO_OK);
    if (strcmp((const char *)out.data, want) != 0)
        fail_msg("'%s' -> '%s', want '%s'", in, (const char *)out.data, want);
    buf_free(&out);
}

static void test_sql_value__wide_numbers_are_quoted(void **state)
{
    (void)state;
    check_quoted("k = 9223372036854775807", "k = 9223372036854775807");
    check_quoted("k = 9223372036854775808", "k = '9223372036854775808'");
    check_quoted("k = -9223372036854775809", "k = '-9223372036854775809'");
    check_quoted("k = - 9223372036854775809", "k = '-9223372036854775809'");
    check_quoted("k - 9223372036854775809", "k - '9223372036854775809'");
    check_quoted("(k) -99999999999999999999", "(k) -'99999999999999999999'");
    check_quoted("k IN (1, -123456789012345678901)",
                 "k IN (1, '-123456789012345678901')");
    check_quoted("p = 0.1234567890123456", "p = '0.1234567890123456'");
    check_quoted("p = 0.123456789012345", "p = 0.123456789012345");
    check_quoted("p = 1.5e300", "p = 1.5e300");
    check_quoted("p = 1000000000000000000000.0", "p = 1000000000000000000000.0");
    check_quoted("s = '99999999999999999999'", "s = '99999999999999999999'");
    check_quoted("x = 0x7fffffffffffffffff", "x = 0x7fffffffffffffffff");
    check_quoted("-- 99999999999999999999\nk = 1", "-- 99999999999999999999\nk = 1");
    check_quoted("c99999999999999999999 = 1", "c99999999999999999999 = 1");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sql_value__number_collation_is_exact),
        cmocka_unit_test(test_sql_value__time_collation_orders_instants),
        cmocka_unit_test(test_sql_value__dates_and_timestamps_round_trip),
        cmocka_unit_test(test_sql_value__wide_numbers_are_quoted),
    };
    test_seed();
    if (getenv("INFINO_TEST_FILTER"))
        cmocka_set_test_filter(getenv("INFINO_TEST_FILTER"));
    return cmocka_run_group_tests(tests, NULL, NULL);
}
