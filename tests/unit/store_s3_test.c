/*
 * store_s3_test.c - the S3 backend: options, retries and outcomes against
 * a scripted HTTP server in this process, and the object-store contract
 * against a real S3 endpoint when one is given.
 *
 * The endpoint tests run when INFINO_TEST_S3_ENDPOINT (e.g.
 * http://127.0.0.1:5000) and INFINO_TEST_S3_BUCKET name an existing
 * bucket; tests/py/test_s3.py starts moto's server and runs this program
 * so. Without them they are skipped, the rest always runs.
 */
#define SECRET "s3cr3t-never-printed"
#define SCRIPTED_SECRET SECRET

#include "scripted_http.h"
#include "store_contract.h"

#include "store/http.h"
#include "store/objstore.h"
#include "util/alloc.h"
#include "util/err.h"

static struct objstore *open_scripted(struct server *sv)
{
    char ep[64];
    struct objstore *s;
    snprintf(ep, sizeof ep, "http://127.0.0.1:%d", sv->port);
    const struct objstore_option o[] = {
        {"aws_endpoint", ep},
        {"aws_allow_http", "true"},
        {"aws_access_key_id", "AKIDTEST"},
        {"aws_secret_access_key", SECRET},
        {"aws_session_token", "TOKEN-sent-but-never-printed"},
    };
    assert_ok(objstore_open_opts(&s, "s3://bkt/db", o, 5));
    return s;
}

static void assert_no_secret(void)
{
    assert_null(strstr(err_last(), SECRET));
    assert_null(strstr(err_last(), "AKIDTEST"));
    assert_null(strstr(err_last(), "TOKEN-sent"));
}

#define SLOWDOWN                                                               \
    "<?xml version=\"1.0\"?><Error><Code>SlowDown</Code><Message>Please "     \
    "reduce your request rate.</Message><RequestId>R1</RequestId></Error>"
#define PRECONDITION                                                           \
    "<Error><Code>PreconditionFailed</Code><Message>At least one of the "     \
    "pre-conditions you specified did not hold</Message></Error>"

/* ---- options (no network) -------------------------------------------- */

static void test_store_s3__options(void **state)
{
    (void)state;
    struct objstore *s;
    const struct objstore_option unknown[] = {{"aws_regio", "x"}};
    assert_int_equal(objstore_open_opts(&s, "s3://b/p", unknown, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "'aws_regio'"));
    /* also refused for a local folder */
    assert_int_equal(objstore_open_opts(&s, "memory://", unknown, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "'aws_regio'"));
    const struct objstore_option cross[] = {{"azure_storage_account_key",
                                             SECRET}};
    assert_int_equal(objstore_open_opts(&s, "s3://b/p", cross, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "azure_storage_account_key"));
    assert_no_secret();
    /* known keys are fine (and ignored) on memory:// */
    const struct objstore_option region[] = {{"AWS_REGION", "eu-west-1"}};
    assert_ok(objstore_open_opts(&s, "memory://", region, 1));
    objstore_close(s);

    const struct objstore_option http[] = {
        {"aws_endpoint", "http://127.0.0.1:1"}};
    assert_int_equal(objstore_open_opts(&s, "s3://b/p", http, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "aws_allow_http"));
    const struct objstore_option badbool[] = {
        {"aws_endpoint", "http://127.0.0.1:1"}, {"aws_allow_http", "maybe"}};
    assert_int_equal(objstore_open_opts(&s, "s3://b/p", badbool, 2),
                     INFINO_ERR_INVALID);
    const struct objstore_option half[] = {{"aws_secret_access_key", SECRET}};
    assert_int_equal(objstore_open_opts(&s, "s3://b/p", half, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "aws_access_key_id"));
    assert_no_secret();
    const struct objstore_option scheme[] = {{"aws_endpoint", "ftp://x"}};
    assert_int_equal(objstore_open_opts(&s, "s3://b/p", scheme, 1),
                     INFINO_ERR_INVALID);
    assert_int_equal(objstore_open(&s, "s3://"), INFINO_ERR_INVALID);
    assert_int_equal(objstore_open(&s, "s3://bad bucket/x"),
                     INFINO_ERR_INVALID);
    assert_int_equal(objstore_open(&s, "s3://b/a/../c"), INFINO_ERR_INVALID);

    /* Opening touches no network: nothing listens on port 1. */
    const struct objstore_option ok[] = {
        {"aws_endpoint", "http://127.0.0.1:1/"},
        {"aws_allow_http", "TRUE"},
        {"aws_access_key_id", "AKIDTEST"},
        {"aws_secret_access_key", SECRET},
        {"aws_region", "eu-central-1"},
    };
    assert_ok(objstore_open_opts(&s, "s3://bucket/some/prefix/", ok, 5));
    assert_true(objstore_is_durable(s));
    assert_null(objstore_local_root(s));
    objstore_close(s);
    assert_ok(objstore_open(&s, "s3://my.bucket"));
    objstore_close(s);
}

static void test_store_s3__backoff(void **state)
{
    (void)state;
    struct http_policy p = {8, 100, 5000, 1000, 1000};
    assert_int_equal(http_backoff_ms(&p, 0, 99), 99);
    assert_int_equal(http_backoff_ms(&p, 0, 100), 0);
    assert_int_equal(http_backoff_ms(&p, 3, 799), 799); /* window 800 */
    assert_int_equal(http_backoff_ms(&p, 3, 800), 0);
    assert_int_equal(http_backoff_ms(&p, 10, 4999), 4999); /* capped */
    assert_int_equal(http_backoff_ms(&p, 40, 5000), 0);
    p.base_ms = 0;
    assert_int_equal(http_backoff_ms(&p, 2, 12345), 0);
}

/* ---- retries and outcomes against the scripted server ----------------- */

static void test_store_s3__retry_then_ok(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {RESPOND, 503, NULL, SLOWDOWN},
        {RESPOND, 500, NULL, NULL},
        {RESPOND, 200, "ETag: \"e\"\r\n", NULL},
    };
    struct server sv;
    server_start(&sv, script, 3);
    struct objstore *s = open_scripted(&sv);
    assert_ok(objstore_put(s, "a/b", "xyz", 3, STORE_REPLACE));
    assert_int_equal(sv.served, 3);
    for (size_t i = 0; i < sv.served; i++) {
        assert_non_null(strstr(sv.log[i], "PUT /bkt/db/a/b HTTP/1.1"));
        assert_null(strstr(sv.log[i], "LEAKED"));
    }
    objstore_close(s);
    server_stop(&sv);
}

static void test_store_s3__retries_run_out(void **state)
{
    (void)state;
    static const struct reply script[] = {{RESPOND, 503, NULL, SLOWDOWN}};
    struct server sv;
    server_start(&sv, script, 1);
    struct objstore *s = open_scripted(&sv);
    struct objstore_entry e;
    assert_int_equal(objstore_put(s, "k", "v", 1, STORE_REPLACE),
                     INFINO_ERR_IO);
    /* names the object, the status, S3's code and message, the attempts */
    const char *m = err_last();
    assert_non_null(strstr(m, "s3://bkt/db/k"));
    assert_non_null(strstr(m, "HTTP 503 SlowDown"));
    assert_non_null(strstr(m, "reduce your request rate"));
    assert_non_null(strstr(m, "4 attempts"));
    assert_non_null(strstr(m, "request id R1"));
    assert_no_secret();
    assert_int_equal(sv.served, 4);
    /* a HEAD has no body: the status alone */
    assert_int_equal(objstore_stat(s, "k", &e), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "HEAD: HTTP 503"));
    objstore_close(s);
    server_stop(&sv);
}

static void test_store_s3__conditional_put_outcomes(void **state)
{
    (void)state;
    struct objstore *s;
    struct server sv;

    /* 412 at once: another writer's object. */
    static const struct reply exists[] = {{RESPOND, 412, NULL, PRECONDITION}};
    server_start(&sv, exists, 1);
    s = open_scripted(&sv);
    assert_int_equal(objstore_put(s, "v/1", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_EXISTS);
    assert_non_null(strstr(err_last(), "s3://bkt/db/v/1"));
    assert_non_null(strstr(sv.log[0], "[if-none-match]"));
    objstore_close(s);
    server_stop(&sv);

    /* The connection drops after the body went out, then 412: the first
     * attempt may have created it. Unknown, never "exists". */
    static const struct reply dropped[] = {
        {DROP_AFTER_BODY, 0, NULL, NULL},
        {RESPOND, 412, NULL, PRECONDITION},
    };
    server_start(&sv, dropped, 2);
    s = open_scripted(&sv);
    assert_int_equal(objstore_put(s, "v/2", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "outcome unknown"));
    assert_non_null(strstr(err_last(), "s3://bkt/db/v/2"));
    assert_int_equal(sv.served, 2);
    objstore_close(s);
    server_stop(&sv);

    /* 500 then 412: the same. */
    static const struct reply failed[] = {
        {RESPOND, 500, NULL, NULL},
        {RESPOND, 412, NULL, PRECONDITION},
    };
    server_start(&sv, failed, 2);
    s = open_scripted(&sv);
    assert_int_equal(objstore_put(s, "v/3", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "outcome unknown"));
    objstore_close(s);
    server_stop(&sv);

    /* 429 (refused, not applied) then 412: another writer won. */
    static const struct reply throttled[] = {
        {RESPOND, 429, NULL, NULL},
        {RESPOND, 412, NULL, PRECONDITION},
    };
    server_start(&sv, throttled, 2);
    s = open_scripted(&sv);
    assert_int_equal(objstore_put(s, "v/4", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_EXISTS);
    objstore_close(s);
    server_stop(&sv);

    /* Dropped every time: the error says what happened, no secret. */
    static const struct reply gone[] = {{DROP_AFTER_BODY, 0, NULL, NULL}};
    server_start(&sv, gone, 1);
    s = open_scripted(&sv);
    assert_int_equal(objstore_put(s, "v/5", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "s3://bkt/db/v/5"));
    assert_non_null(strstr(err_last(), "4 attempts"));
    assert_no_secret();
    objstore_close(s);
    server_stop(&sv);
}

static void test_store_s3__not_found_and_denied(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {RESPOND, 404, NULL,
         "<Error><Code>NoSuchKey</Code><Message>The specified key does not "
         "exist.</Message></Error>"},
        {RESPOND, 404, NULL, NULL},
        {RESPOND, 403, NULL,
         "<Error><Code>SignatureDoesNotMatch</Code><Message>The request "
         "signature we calculated does not match</Message></Error>"},
    };
    struct server sv;
    server_start(&sv, script, 3);
    struct objstore *s = open_scripted(&sv);
    struct store_blob *b;
    struct objstore_entry e;
    assert_int_equal(objstore_get(s, "nope", &b), INFINO_ERR_NOTFOUND);
    assert_non_null(strstr(err_last(), "s3://bkt/db/nope"));
    assert_int_equal(objstore_stat(s, "nope", &e), INFINO_ERR_NOTFOUND);
    assert_int_equal(objstore_get(s, "x", &b), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "HTTP 403 SignatureDoesNotMatch"));
    assert_no_secret();
    assert_int_equal(sv.served, 3); /* none of these is retried */
    objstore_close(s);
    server_stop(&sv);
}

static void test_store_s3__truncated_answers(void **state)
{
    (void)state;
    /* The answer to a GET is cut short, then a 503, then whole: the
     * reader gets the bytes, never the short body. */
    static const struct reply script[] = {
        {TRUNCATE, 206, "Content-Range: bytes 0-10/11\r\n", "hello"},
        {RESPOND, 503, NULL, SLOWDOWN},
        {RESPOND, 206, "Content-Range: bytes 0-10/11\r\nETag: \"e1\"\r\n",
         "hello world"},
    };
    struct server sv;
    server_start(&sv, script, 3);
    struct objstore *s = open_scripted(&sv);
    struct store_blob *b;
    const uint8_t *p;
    assert_ok(objstore_get(s, "obj", &b));
    assert_int_equal(store_blob_size(b), 11);
    assert_ok(store_blob_read(b, 0, 11, &p));
    assert_memory_equal(p, "hello world", 11);
    store_blob_close(b);
    assert_int_equal(sv.served, 3);
    assert_non_null(strstr(sv.log[0], "GET /bkt/db/obj HTTP/1.1"));
    objstore_close(s);
    server_stop(&sv);

    /* A HEAD answer cut inside its headers looks whole to curl: it is
     * retried, not taken as an object without a length. */
    static const struct reply cut[] = {
        {CUT_HEADERS, 200, NULL, NULL},
        {RESPOND, 200, "Last-Modified: Wed, 21 Oct 2015 07:28:00 GMT\r\n", ""},
    };
    struct objstore_entry e;
    server_start(&sv, cut, 2);
    s = open_scripted(&sv);
    assert_ok(objstore_stat(s, "obj", &e));
    assert_int_equal(sv.served, 2);
    objstore_close(s);
    server_stop(&sv);

    /* exists() sets no error and keeps the caller's: a failing write
     * checks other objects on its way out */
    static const struct reply absent[] = {{RESPOND, 404, NULL, NULL}};
    server_start(&sv, absent, 1);
    s = open_scripted(&sv);
    err_set(INFINO_ERR_IO, "the caller's own failure");
    assert_false(objstore_exists(s, "marker"));
    assert_string_equal(err_last(), "the caller's own failure");
    objstore_close(s);
    server_stop(&sv);

    /* Always short: the error says so and names the object. */
    static const struct reply always[] = {
        {TRUNCATE, 206, "Content-Range: bytes 0-10/11\r\n", "hello"}};
    server_start(&sv, always, 1);
    s = open_scripted(&sv);
    assert_int_equal(objstore_get(s, "obj", &b), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "s3://bkt/db/obj: GET"));
    assert_non_null(strstr(err_last(), "4 attempts"));
    objstore_close(s);
    server_stop(&sv);
}

/* ---- a real endpoint (moto in make test) ------------------------------ */

static const char *endpoint(void)
{
    const char *ep = getenv("INFINO_TEST_S3_ENDPOINT");
    return ep && *ep && getenv("INFINO_TEST_S3_BUCKET") ? ep : NULL;
}

static struct objstore *open_real(const char *prefix)
{
    char uri[512];
    struct objstore *s;
    const struct objstore_option o[] = {
        {"aws_endpoint", endpoint()},
        {"aws_allow_http", "true"},
        {"aws_access_key_id", getenv("INFINO_TEST_S3_KEY")
                                  ? getenv("INFINO_TEST_S3_KEY")
                                  : "testing"},
        {"aws_secret_access_key", getenv("INFINO_TEST_S3_SECRET")
                                      ? getenv("INFINO_TEST_S3_SECRET")
                                      : "testing"},
    };
    snprintf(uri, sizeof uri, "s3://%s/%s-%ld-%llu",
             getenv("INFINO_TEST_S3_BUCKET"), prefix, (long)getpid(),
             (unsigned long long)test_rand() % 100000);
    assert_ok(objstore_open_opts(&s, uri, o, 4));
    return s;
}

static void test_store_s3__contract(void **state)
{
    (void)state;
    if (endpoint() == NULL)
        skip();
    contract_basic(open_real("contract"));
}

static void test_store_s3__large_objects(void **state)
{
    (void)state;
    if (endpoint() == NULL)
        skip();
    contract_large(open_real("large"));
}

static void test_store_s3__list_pages(void **state)
{
    (void)state;
    if (endpoint() == NULL)
        skip();
    contract_list_pages(open_real, "INFINO_S3_LIST_PAGE");
}

int main(void)
{
    test_seed();
    /* quick retries against the scripted server */
    setenv("INFINO_HTTP_MAX_ATTEMPTS", "4", 0);
    setenv("INFINO_HTTP_RETRY_BASE_MS", "1", 0);
    setenv("INFINO_HTTP_RETRY_CAP_MS", "5", 0);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_s3__options),
        cmocka_unit_test(test_store_s3__backoff),
        cmocka_unit_test(test_store_s3__retry_then_ok),
        cmocka_unit_test(test_store_s3__retries_run_out),
        cmocka_unit_test(test_store_s3__conditional_put_outcomes),
        cmocka_unit_test(test_store_s3__not_found_and_denied),
        cmocka_unit_test(test_store_s3__truncated_answers),
        cmocka_unit_test(test_store_s3__contract),
        cmocka_unit_test(test_store_s3__large_objects),
        cmocka_unit_test(test_store_s3__list_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
