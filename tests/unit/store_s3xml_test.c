/*
 * store_s3xml_test.c - parsing S3's XML bodies: listings, errors, upload
 * ids, and malformed input refused without crashing.
 */
#include "harness.h"

#include "store/s3_xml.h"
#include "util/alloc.h"

#define L(s) s, strlen(s)

static const char list_page[] =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
    "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
    "<Name>bucket</Name><Prefix>db/</Prefix><KeyCount>2</KeyCount>"
    "<MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>"
    "<NextContinuationToken>1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM="
    "</NextContinuationToken>"
    "<Contents><Key>db/a&amp;b &lt;1&gt; &#233;&#x4e2d;</Key>"
    "<LastModified>2009-10-12T17:50:30.000Z</LastModified>"
    "<ETag>&quot;fba9dede5f27731c9771645a39863328&quot;</ETag>"
    "<Size>434234</Size><StorageClass>STANDARD</StorageClass></Contents>"
    "<!-- a comment --><Contents><Key><![CDATA[db/x<y]]></Key>"
    "<LastModified>1970-01-01T00:00:01Z</LastModified><Size>0</Size>"
    "<Owner><ID>x</ID></Owner></Contents>"
    "</ListBucketResult>";

static void test_store_s3xml__list(void **state)
{
    (void)state;
    struct s3_list_page p;
    assert_ok(s3xml_parse_list(&p, L(list_page)));
    assert_int_equal(p.n_items, 2);
    assert_true(p.truncated);
    assert_string_equal(p.next_token,
                        "1ueGcxLPRx1Tr/XYExHnhbYLgveDs2J/wm36Hy4vbOwM=");
    assert_string_equal(p.items[0].key, "db/a&b <1> \xc3\xa9\xe4\xb8\xad");
    assert_int_equal(p.items[0].size, 434234);
    assert_int_equal(p.items[0].mtime_ns, 1255369830LL * 1000000000LL);
    assert_string_equal(p.items[1].key, "db/x<y");
    assert_int_equal(p.items[1].size, 0);
    assert_int_equal(p.items[1].mtime_ns, 1000000000LL);
    s3xml_list_free(&p);
    s3xml_list_free(&p); /* freed twice: zeroed after the first */

    /* An empty, final page. */
    assert_ok(s3xml_parse_list(
        &p, L("<ListBucketResult><KeyCount>0</KeyCount><IsTruncated>false"
              "</IsTruncated></ListBucketResult>")));
    assert_int_equal(p.n_items, 0);
    assert_false(p.truncated);
    assert_null(p.next_token);
    s3xml_list_free(&p);
}

static void test_store_s3xml__error(void **state)
{
    (void)state;
    static const char body[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error>"
        "<Code>SlowDown</Code><Message>Please reduce your request rate."
        "</Message><RequestId>4442587FB7D0A2F9</RequestId></Error>";
    struct s3_error e;
    assert_true(s3xml_is_error(L(body)));
    assert_ok(s3xml_parse_error(&e, L(body)));
    assert_string_equal(e.code, "SlowDown");
    assert_string_equal(e.message, "Please reduce your request rate.");
    assert_string_equal(e.request_id, "4442587FB7D0A2F9");
    s3xml_error_free(&e);
    assert_false(s3xml_is_error(L("<ErrorX/>")));
    assert_false(s3xml_is_error(L(list_page)));
    assert_true(s3xml_is_error(L("\n\n<Error/>")));
    assert_false(s3xml_is_error(NULL, 0));
    /* Not an Error document. */
    assert_int_equal(s3xml_parse_error(&e, L(list_page)), INFINO_ERR_CORRUPT);
    assert_null(e.code);
}

static void test_store_s3xml__upload_id(void **state)
{
    (void)state;
    char *id;
    assert_ok(s3xml_parse_upload_id(
        &id, L("<?xml version=\"1.0\"?><InitiateMultipartUploadResult "
               "xmlns='http://s3.amazonaws.com/doc/2006-03-01/'>"
               "<Bucket>b</Bucket><Key>k</Key><UploadId>VXBsb2FkIElE</UploadId>"
               "</InitiateMultipartUploadResult>")));
    assert_string_equal(id, "VXBsb2FkIElE");
    mem_free(id);
    assert_int_equal(s3xml_parse_upload_id(
                         &id, L("<InitiateMultipartUploadResult>"
                                "</InitiateMultipartUploadResult>")),
                     INFINO_ERR_CORRUPT);
    assert_null(id);
}

static void test_store_s3xml__time(void **state)
{
    (void)state;
    int64_t ns;
    assert_ok(s3xml_parse_time(&ns, L("2024-02-29T23:59:59.123Z")));
    assert_int_equal(ns, 1709251199123000000LL);
    assert_ok(s3xml_parse_time(&ns, L("1969-12-31T23:59:59Z")));
    assert_int_equal(ns, -1000000000LL);
    assert_int_equal(s3xml_parse_time(&ns, L("2024-02-29 23:59:59Z")),
                     INFINO_ERR_CORRUPT);
    /* beyond what int64 nanoseconds hold (a fuzzer found the overflow) */
    assert_int_equal(s3xml_parse_time(&ns, L("3010-01-01T00:00:00Z")),
                     INFINO_ERR_CORRUPT);
    assert_int_equal(s3xml_parse_time(&ns, L("0001-01-01T00:00:00Z")),
                     INFINO_ERR_CORRUPT);
    assert_ok(s3xml_parse_time(&ns, L("2261-12-31T23:59:59Z")));
    assert_int_equal(s3xml_parse_time(&ns, L("2024-13-01T00:00:00Z")),
                     INFINO_ERR_CORRUPT);
    assert_int_equal(s3xml_parse_time(&ns, L("2024-01-01T00:00:00")),
                     INFINO_ERR_CORRUPT);
}

static void test_store_s3xml__malformed(void **state)
{
    (void)state;
    static const char *bad[] = {
        "",
        "<",
        "<ListBucketResult>",
        "<ListBucketResult></ListBucketResul>",
        "<ListBucketResult><Contents><Key>a</Key></ListBucketResult>",
        "<ListBucketResult><Contents><Size>1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><Size>-1</Size></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key>a</Key><Size>99999999999999999999"
        "</Size></Contents></ListBucketResult>",
        "<ListBucketResult><Contents><Key>&bogus;</Key></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key>&#0;</Key></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key>&#xD800;</Key></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Contents><Key>&#x110000;</Key></Contents>"
        "</ListBucketResult>",
        "<ListBucketResult><Key>&amp</Key></ListBucketResult>",
        "<!DOCTYPE x [<!ENTITY a 'b'>]><ListBucketResult/>",
        "<ListBucketResult/><ListBucketResult/>",
        "text<ListBucketResult/>",
        "<ListBucketResult a=b/>",
        "<ListBucketResult a='b/>",
        "<ListBucketResult><IsTruncated>true</IsTruncated></ListBucketResult>",
        "<Error><Code>x</Code></Error>",
        "<ListBucketResult><!-- </ListBucketResult>",
        "<ListBucketResult><![CDATA[x</ListBucketResult>",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct s3_list_page p;
        infino_status st = s3xml_parse_list(&p, L(bad[i]));
        if (st != INFINO_ERR_CORRUPT)
            fail_msg("case %zu (%s): status %d", i, bad[i], (int)st);
        assert_int_equal(p.n_items, 0);
        assert_non_null(strstr(err_last(), "S3 response"));
    }
    /* Deep nesting is refused, not followed. */
    char deep[40 * 3 + 64];
    size_t n = 0;
    n += (size_t)sprintf(deep + n, "<ListBucketResult>");
    for (int i = 0; i < 40; i++)
        n += (size_t)sprintf(deep + n, "<a>");
    struct s3_list_page p;
    assert_int_equal(s3xml_parse_list(&p, deep, n), INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "too deep"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_s3xml__list),
        cmocka_unit_test(test_store_s3xml__error),
        cmocka_unit_test(test_store_s3xml__upload_id),
        cmocka_unit_test(test_store_s3xml__time),
        cmocka_unit_test(test_store_s3xml__malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
