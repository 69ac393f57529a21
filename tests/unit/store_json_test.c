/*
 * store_json_test.c - the bounded JSON scanner (json.h) and GCS's bodies
 * and credential files on it (gcs_json.h): values, escapes, surrogate
 * pairs, the grammar's refusals, depth, and messages that never quote a
 * credential.
 */
#include "harness.h"

#include "store/gcs_json.h"
#include "store/json.h"
#include "util/alloc.h"
#include "util/buf.h"

#define L(s) (s), strlen(s)

/* Records "depth:key=text" of every value, "{"/"[" and "}"/"]" of
 * containers. */
static infino_status record(void *payload, enum json_ev ev,
                            enum json_type type, int depth, const char *key,
                            const char *text, size_t len)
{
    struct buf *b = payload;
    if (ev == JSON_BEGIN)
        return buf_printf(b, "%d:%s%c ", depth, key ? key : "",
                          type == JSON_OBJECT ? '{' : '[');
    if (ev == JSON_END)
        return buf_printf(b, "%c ", type == JSON_OBJECT ? '}' : ']');
    return buf_printf(b, "%d:%s=%.*s ", depth, key ? key : "", (int)len, text);
}

static char *scan(const char *json)
{
    struct buf b = {0};
    assert_ok(json_scan(L(json), "test", record, &b));
    buf_put_u8(&b, 0);
    return (char *)b.data;
}

static void test_store_json__values(void **state)
{
    (void)state;
    char *s = scan(" {\"a\": [1, -2.5e+3, true, false, null],\n"
                   "  \"b\\u00e9\\n\": \"x\\\"\\\\\\/\\ud83d\\ude00\","
                   "  \"c\": {\"d\": {}} } ");
    assert_string_equal(s, "0:{ 1:a[ 2:=1 2:=-2.5e+3 2:= 2:= 2:= ] "
                           "1:b\xc3\xa9\n=x\"\\/\xf0\x9f\x98\x80 1:c{ 2:d{ "
                           "} } } ");
    mem_free(s);
    s = scan("\"top\"");
    assert_string_equal(s, "0:=top ");
    mem_free(s);

    static const char *const bad[] = {
        "", "{", "{\"a\"}", "{\"a\":1,}", "[1 2]", "01", "1.", "-", "1e",
        "\"a", "\"\\x\"", "\"\\ud800\"", "\"\\udc00\"", "\"a\x01\"", "tru",
        "{} {}", "{\"a\":1}x", "nul",
    };
    struct buf b = {0};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        buf_reset(&b);
        assert_int_equal(json_scan(L(bad[i]), "test", record, &b),
                         INFINO_ERR_CORRUPT);
        assert_non_null(strstr(err_last(), "test: "));
    }
    /* nesting is bounded */
    buf_reset(&b);
    for (int i = 0; i < 40; i++)
        buf_put_u8(&b, '[');
    for (int i = 0; i < 40; i++)
        buf_put_u8(&b, ']');
    struct buf out = {0};
    assert_int_equal(json_scan((const char *)b.data, b.len, "test", record,
                               &out),
                     INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "nested too deep"));
    buf_free(&b);
    buf_free(&out);

    uint64_t v;
    assert_ok(json_parse_u64(&v, "t", L("18446744073709551615")));
    assert_true(v == UINT64_MAX);
    assert_int_equal(json_parse_u64(&v, "t", L("18446744073709551616")),
                     INFINO_ERR_CORRUPT);
    assert_int_equal(json_parse_u64(&v, "t", L("-1")), INFINO_ERR_CORRUPT);
}

static void test_store_json__gcs_bodies(void **state)
{
    (void)state;
    struct gcs_object o;
    assert_ok(gcsjson_parse_object(
        &o, L("{\"kind\":\"storage#object\",\"name\":\"db/k\",\"size\":\"11\","
              "\"generation\":\"1700000000000001\",\"metadata\":{\"size\":"
              "\"99\"},\"updated\":\"2024-01-02T03:04:05.678Z\"}")));
    assert_string_equal(o.name, "db/k");
    assert_int_equal(o.size, 11); /* not metadata.size */
    assert_true(o.generation == 1700000000000001ull);
    assert_true(o.mtime_ns == (int64_t)1704164645678000000);
    gcsjson_object_free(&o);
    assert_int_equal(gcsjson_parse_object(&o, L("{\"size\":\"1\"}")),
                     INFINO_ERR_CORRUPT);
    assert_int_equal(gcsjson_parse_object(&o, L("{\"name\":\"a\","
                                                "\"size\":\"x\"}")),
                     INFINO_ERR_CORRUPT);

    struct gcs_list_page p;
    assert_ok(gcsjson_parse_list(
        &p, L("{\"kind\":\"storage#objects\",\"items\":[{\"name\":\"a\","
              "\"size\":\"1\"},{\"name\":\"b\",\"size\":2,\"acl\":[{\"name\":"
              "\"no\"}]}],\"prefixes\":[\"x/\"],\"nextPageToken\":\"t1\"}")));
    assert_int_equal(p.n_items, 2);
    assert_string_equal(p.items[1].name, "b");
    assert_int_equal(p.items[1].size, 2);
    assert_string_equal(p.next_token, "t1");
    gcsjson_list_free(&p);
    assert_ok(gcsjson_parse_list(&p, L("{\"kind\":\"storage#objects\"}")));
    assert_int_equal(p.n_items, 0);
    assert_null(p.next_token);
    gcsjson_list_free(&p);

    struct gcs_error e;
    assert_ok(gcsjson_parse_error(
        &e, L("{\"error\":{\"code\":412,\"message\":\"nope\",\"errors\":["
              "{\"reason\":\"conditionNotMet\"},{\"reason\":\"other\"}]}}")));
    assert_string_equal(e.message, "nope");
    assert_string_equal(e.reason, "conditionNotMet");
    gcsjson_error_free(&e);
}

static void test_store_json__credentials(void **state)
{
    (void)state;
    struct gcs_credentials c;
    assert_ok(gcsjson_parse_credentials(
        &c, L("{\"type\":\"service_account\",\"client_email\":\"a@b\","
              "\"private_key\":\"-----BEGIN PRIVATE KEY-----\\nAB\\n\"}")));
    assert_true(c.service_account);
    assert_string_equal(c.private_key, "-----BEGIN PRIVATE KEY-----\nAB\n");
    assert_string_equal(c.token_uri, "https://oauth2.googleapis.com/token");
    gcsjson_credentials_free(&c);
    assert_ok(gcsjson_parse_credentials(
        &c, L("{\"type\":\"authorized_user\",\"client_id\":\"i\","
              "\"client_secret\":\"s\",\"refresh_token\":\"r\","
              "\"token_uri\":\"http://t\"}")));
    assert_false(c.service_account);
    assert_string_equal(c.token_uri, "http://t");
    gcsjson_credentials_free(&c);
    assert_int_equal(gcsjson_parse_credentials(
                         &c, L("{\"type\":\"external_account\"}")),
                     INFINO_ERR_INVALID);
    assert_int_equal(gcsjson_parse_credentials(
                         &c, L("{\"type\":\"authorized_user\","
                               "\"client_id\":\"i\",\"client_secret\":"
                               "\"TOPSECRET\"}")),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "refresh_token"));
    assert_null(strstr(err_last(), "TOPSECRET"));
    assert_int_equal(gcsjson_parse_credentials(&c, L("{\"private_key\": "
                                                     "\"TOPSECRET")),
                     INFINO_ERR_CORRUPT);
    assert_null(strstr(err_last(), "TOPSECRET"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_json__values),
        cmocka_unit_test(test_store_json__gcs_bodies),
        cmocka_unit_test(test_store_json__credentials),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
