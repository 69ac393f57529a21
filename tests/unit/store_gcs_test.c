/*
 * store_gcs_test.c - the GCS backend: options, retries, conditional-write
 * outcomes, resumable uploads resumed after failures and OAuth tokens
 * (service-account JWTs verified here with the public key) against a
 * scripted HTTP server in this process; and the object-store contract
 * against a real endpoint when one is given.
 *
 * The endpoint tests run when INFINO_TEST_GCS_ENDPOINT (e.g.
 * http://127.0.0.1:4443) and INFINO_TEST_GCS_BUCKET name an existing
 * bucket; tests/py/test_gcs_azure.py starts fake-gcs-server and runs this
 * program so. Without them they are skipped, the rest always runs.
 */
#define SECRET "gcs-refresh-s3cr3t-never-printed"
#define SCRIPTED_SECRET SECRET

#include "scripted_http.h"
#include "store_contract.h"

#include "store/objstore.h"
#include "util/alloc.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/err.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

static struct objstore *open_at(struct server *sv, const char *cred_json)
{
    char base[64];
    struct objstore *s;
    snprintf(base, sizeof base, "http://127.0.0.1:%d", sv->port);
    struct objstore_option o[] = {
        {"google_base_url", base},
        {"google_allow_http", "true"},
        {"google_service_account_key", cred_json},
    };
    assert_ok(objstore_open_opts(&s, "gs://bkt/db", o, cred_json ? 3 : 2));
    return s;
}

static void assert_no_secret(void)
{
    assert_null(strstr(err_last(), SECRET));
    assert_null(strstr(err_last(), "PRIVATE KEY"));
}

#define OBJECT_JSON                                                            \
    "{\"kind\":\"storage#object\",\"name\":\"db/k\",\"bucket\":\"bkt\","      \
    "\"generation\":\"1700000000000001\",\"size\":\"11\","                    \
    "\"updated\":\"2024-01-02T03:04:05.678Z\"}"
#define PRECONDITION                                                           \
    "{\"error\":{\"code\":412,\"message\":\"At least one of the pre-"         \
    "conditions you specified did not hold.\",\"errors\":[{\"message\":"      \
    "\"At least one of the pre-conditions you specified did not hold.\","     \
    "\"domain\":\"global\",\"reason\":\"conditionNotMet\"}]}}"
#define RATE                                                                   \
    "{\"error\":{\"code\":429,\"message\":\"The rate of change requests to "  \
    "the object is too high.\",\"errors\":[{\"reason\":\"rateLimitExceeded\"" \
    "}]}}"

/* ---- options (no network) -------------------------------------------- */

static void test_store_gcs__options(void **state)
{
    (void)state;
    struct objstore *s;
    const struct objstore_option unknown[] = {{"google_servce_account", "x"}};
    assert_int_equal(objstore_open_opts(&s, "gs://b/p", unknown, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "'google_servce_account'"));
    assert_non_null(strstr(err_last(), "google_service_account_key"));
    const struct objstore_option cross[] = {{"aws_secret_access_key", SECRET}};
    assert_int_equal(objstore_open_opts(&s, "gcs://b/p", cross, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "aws_secret_access_key"));
    assert_no_secret();
    const struct objstore_option az[] = {{"azure_storage_account_key", "x"}};
    assert_int_equal(objstore_open_opts(&s, "gs://b/p", az, 1),
                     INFINO_ERR_INVALID);

    /* Plain http needs google_allow_http. */
    const struct objstore_option http[] = {
        {"google_base_url", "http://127.0.0.1:1"}};
    assert_int_equal(objstore_open_opts(&s, "gs://b/p", http, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "google_allow_http"));
    const struct objstore_option badbool[] = {
        {"google_skip_signature", "perhaps"}};
    assert_int_equal(objstore_open_opts(&s, "gs://b/p", badbool, 1),
                     INFINO_ERR_INVALID);
    assert_int_equal(objstore_open(&s, "gs://"), INFINO_ERR_INVALID);
    assert_int_equal(objstore_open(&s, "gs://Bad_Bucket/x"),
                     INFINO_ERR_INVALID);
    assert_int_equal(objstore_open(&s, "gs://b/a/../c"), INFINO_ERR_INVALID);

    /* Credentials: refused with the option's name, never their content. */
    const struct objstore_option notjson[] = {
        {"google_service_account_key", "{\"private_key\": \"" SECRET}};
    assert_int_equal(objstore_open_opts(&s, "gs://b/p", notjson, 1),
                     INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "google_service_account_key"));
    assert_no_secret();
    const struct objstore_option half[] = {
        {"google_service_account_key",
         "{\"type\":\"service_account\",\"private_key\":\"" SECRET "\"}"}};
    assert_int_equal(objstore_open_opts(&s, "gs://b/p", half, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "client_email"));
    assert_no_secret();
    const struct objstore_option missing[] = {
        {"google_service_account", "/nonexistent/sa.json"}};
    assert_int_equal(objstore_open_opts(&s, "gs://b/p", missing, 1),
                     INFINO_ERR_INVALID);
    assert_non_null(strstr(err_last(), "google_service_account"));

    /* Opening touches no network: nothing listens on port 1. */
    const struct objstore_option ok[] = {
        {"google_base_url", "http://127.0.0.1:1/"},
        {"google_allow_http", "TRUE"},
        {"google_skip_signature", "true"},
    };
    assert_ok(objstore_open_opts(&s, "gcs://bucket/some/prefix/", ok, 3));
    assert_true(objstore_is_durable(s));
    objstore_close(s);
    setenv("STORAGE_EMULATOR_HOST", "127.0.0.1:1", 1);
    assert_ok(objstore_open(&s, "gs://my.bucket"));
    objstore_close(s);
    unsetenv("STORAGE_EMULATOR_HOST");
    assert_ok(objstore_open(&s, "gs://my-bucket"));
    objstore_close(s);
}

/* ---- retries and outcomes --------------------------------------------- */

static void test_store_gcs__retry_then_ok(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {RESPOND, 503, NULL, NULL},
        {RESPOND, 500, NULL, NULL},
        {RESPOND, 200, NULL, OBJECT_JSON},
    };
    struct server sv;
    server_start(&sv, script, 3);
    struct objstore *s = open_at(&sv, NULL);
    assert_ok(objstore_put(s, "a/b", "xyz", 3, STORE_REPLACE));
    assert_int_equal(sv.served, 3);
    for (size_t i = 0; i < sv.served; i++)
        assert_string_equal(sv.log[i],
                            "POST /upload/storage/v1/b/bkt/o?uploadType=media"
                            "&name=db%2Fa%2Fb HTTP/1.1");
    assert_string_equal(server_body(&sv, 2), "xyz");
    objstore_close(s);
    server_stop(&sv);
}

static void test_store_gcs__conditional_outcomes(void **state)
{
    (void)state;
    struct objstore *s;
    struct server sv;

    /* 412 at once: another writer's object. */
    static const struct reply exists[] = {{RESPOND, 412, NULL, PRECONDITION}};
    server_start(&sv, exists, 1);
    s = open_at(&sv, NULL);
    assert_int_equal(objstore_put(s, "v/1", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_EXISTS);
    assert_non_null(strstr(err_last(), "gs://bkt/db/v/1"));
    assert_non_null(strstr(sv.log[0], "&ifGenerationMatch=0 "));
    objstore_close(s);
    server_stop(&sv);

    /* The connection drops after the body went out, then 412: the first
     * attempt may have created it. Unknown, never "exists". */
    static const struct reply dropped[] = {
        {DROP_AFTER_BODY, 0, NULL, NULL},
        {RESPOND, 412, NULL, PRECONDITION},
    };
    server_start(&sv, dropped, 2);
    s = open_at(&sv, NULL);
    assert_int_equal(objstore_put(s, "v/2", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "outcome unknown"));
    assert_non_null(strstr(err_last(), "gs://bkt/db/v/2"));
    objstore_close(s);
    server_stop(&sv);

    /* 500 then 412: the same. */
    static const struct reply failed[] = {
        {RESPOND, 500, NULL, NULL},
        {RESPOND, 412, NULL, PRECONDITION},
    };
    server_start(&sv, failed, 2);
    s = open_at(&sv, NULL);
    assert_int_equal(objstore_put(s, "v/3", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "outcome unknown"));
    objstore_close(s);
    server_stop(&sv);

    /* 429 (refused, not applied) then 412: another writer won. */
    static const struct reply throttled[] = {
        {RESPOND, 429, NULL, RATE},
        {RESPOND, 412, NULL, PRECONDITION},
    };
    server_start(&sv, throttled, 2);
    s = open_at(&sv, NULL);
    assert_int_equal(objstore_put(s, "v/4", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_EXISTS);
    objstore_close(s);
    server_stop(&sv);

    /* Throttled every time: the error names the object, status, reason. */
    static const struct reply always[] = {{RESPOND, 429, NULL, RATE}};
    server_start(&sv, always, 1);
    s = open_at(&sv, NULL);
    assert_int_equal(objstore_put(s, "v/5", "x", 1, STORE_NOREPLACE),
                     INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "gs://bkt/db/v/5: PUT: HTTP 429 "
                                       "rateLimitExceeded: The rate"));
    assert_non_null(strstr(err_last(), "4 attempts"));
    assert_int_equal(sv.served, 4);
    objstore_close(s);
    server_stop(&sv);
}

static void test_store_gcs__reads_and_errors(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {RESPOND, 404, NULL, "No such object: bkt/db/nope"},
        {RESPOND, 404, NULL, NULL},
        {RESPOND, 200, NULL, OBJECT_JSON},
        {RESPOND, 403, NULL,
         "{\"error\":{\"code\":403,\"message\":\"Anonymous caller does not "
         "have storage.objects.get access.\",\"errors\":[{\"reason\":"
         "\"forbidden\"}]}}"},
        {RESPOND, 206,
         "Content-Range: bytes 0-10/11\r\nx-goog-generation: 5\r\n",
         "hello world"},
        {RESPOND, 204, NULL, NULL},
        {RESPOND, 404, NULL, NULL},
    };
    struct server sv;
    server_start(&sv, script, 7);
    struct objstore *s = open_at(&sv, NULL);
    struct store_blob *b;
    struct objstore_entry e;
    const uint8_t *p;
    assert_int_equal(objstore_get(s, "nope", &b), INFINO_ERR_NOTFOUND);
    assert_non_null(strstr(err_last(), "gs://bkt/db/nope"));
    assert_string_equal(sv.log[0], "GET /storage/v1/b/bkt/o/db%2Fnope"
                                   "?alt=media HTTP/1.1");
    assert_string_equal(server_header(&sv, 0, "Range"), "bytes=-262144");
    assert_int_equal(objstore_stat(s, "nope", &e), INFINO_ERR_NOTFOUND);
    assert_ok(objstore_stat(s, "k", &e));
    assert_int_equal(e.size, 11);
    assert_true(e.mtime_ns == (int64_t)1704164645678000000);
    assert_int_equal(objstore_get(s, "x", &b), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "HTTP 403 forbidden: Anonymous"));
    assert_non_null(strstr(err_last(), "no credentials were given"));
    assert_ok(objstore_get(s, "obj", &b));
    assert_int_equal(store_blob_size(b), 11);
    assert_ok(store_blob_read(b, 0, 11, &p));
    assert_memory_equal(p, "hello world", 11);
    store_blob_close(b);
    assert_ok(objstore_delete(s, "obj"));
    assert_string_equal(sv.log[5], "DELETE /storage/v1/b/bkt/o/db%2Fobj "
                                   "HTTP/1.1");
    assert_int_equal(objstore_delete(s, "obj"), INFINO_ERR_NOTFOUND);
    assert_int_equal(sv.served, 7); /* none of these is retried */
    objstore_close(s);
    server_stop(&sv);
}

/* exists() sets no error and keeps the caller's: a failing write checks
 * the drop marker on its way out, and its message must survive. */
static void test_store_gcs__exists_keeps_error(void **state)
{
    (void)state;
    static const struct reply script[] = {{RESPOND, 404, NULL, NULL}};
    struct server sv;
    server_start(&sv, script, 1);
    struct objstore *s = open_at(&sv, NULL);
    err_set(INFINO_ERR_IO, "the caller's message");
    assert_false(objstore_exists(s, "dropped"));
    assert_string_equal(err_last(), "the caller's message");
    objstore_close(s);
    server_stop(&sv);
}

/* The ranged reader of the read cache (objstore.open_ranges): pinned to
 * the generation of its first answer (or the one it was opened with),
 * sent back as generation=; a read of another version fails naming the
 * object, whether GCS answers 404 (that generation is gone) or the answer
 * says another generation; empty objects (416, or fake-gcs-server's 206
 * without a range) and absent ones. */
static void test_store_gcs__ranges_pinned(void **state)
{
    (void)state;
    static const struct reply script[] = {
        {RESPOND, 206,
         "Content-Range: bytes 10-19/20\r\nx-goog-generation: 7\r\n",
         "abcdefghij"},
        {RESPOND, 206,
         "Content-Range: bytes 0-3/20\r\nx-goog-generation: 7\r\n", "0123"},
        {RESPOND, 404, NULL, "No such object: bkt/db/obj"},
        {RESPOND, 206,
         "Content-Range: bytes 4-7/20\r\nx-goog-generation: 8\r\n", "4567"},
        {RESPOND, 404, NULL, NULL},
        {RESPOND, 206, "x-goog-generation: 3\r\n", ""},
        {RESPOND, 200, "x-goog-generation: 3\r\n", ""},
        {RESPOND, 416, NULL, NULL},
        {RESPOND, 200, "x-goog-generation: 4\r\n", ""},
        {RESPOND, 404, NULL, NULL},
    };
    struct server sv;
    server_start(&sv, script, 10);
    struct objstore *s = open_at(&sv, NULL);
    struct objstore_ranges *rg;
    char etag[OBJSTORE_ETAG_MAX];
    uint8_t *tail, dst[4];
    size_t n;
    uint64_t size;

    assert_non_null(s->open_ranges);
    assert_ok(s->open_ranges(s, "obj", NULL, &rg));
    assert_ok(rg->ops->read_tail(rg, 10, &tail, &n, &size));
    assert_int_equal(n, 10);
    assert_int_equal(size, 20);
    assert_memory_equal(tail, "abcdefghij", 10);
    mem_free(tail);
    assert_string_equal(server_header(&sv, 0, "Range"), "bytes=-10");
    assert_string_equal(sv.log[0], "GET /storage/v1/b/bkt/o/db%2Fobj"
                                   "?alt=media HTTP/1.1");
    rg->ops->etag(rg, etag);
    assert_string_equal(etag, "7");
    assert_ok(rg->ops->read(rg, 0, 4, dst));
    assert_memory_equal(dst, "0123", 4);
    assert_string_equal(sv.log[1], "GET /storage/v1/b/bkt/o/db%2Fobj"
                                   "?alt=media&generation=7 HTTP/1.1");
    assert_string_equal(server_header(&sv, 1, "Range"), "bytes=0-3");
    /* replaced (or deleted): generation 7 is gone */
    assert_int_equal(rg->ops->read(rg, 4, 4, dst), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "gs://bkt/db/obj"));
    assert_non_null(strstr(err_last(), "changed or was deleted"));
    /* an answer of another generation is refused */
    assert_int_equal(rg->ops->read(rg, 4, 4, dst), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "gs://bkt/db/obj: the object changed"));
    assert_non_null(strstr(err_last(), "now 8"));
    rg->ops->close(rg);

    /* opened pinned (a cached entry's generation) */
    assert_ok(s->open_ranges(s, "obj", "6", &rg));
    assert_int_equal(rg->ops->read(rg, 0, 4, dst), INFINO_ERR_IO);
    assert_non_null(strstr(sv.log[4], "generation=6"));
    assert_non_null(strstr(err_last(), "gs://bkt/db/obj"));
    rg->ops->close(rg);

    /* empty objects: fake-gcs-server's 206 without a range, and 416 */
    for (int i = 0; i < 2; i++) {
        assert_ok(s->open_ranges(s, "empty", NULL, &rg));
        assert_ok(rg->ops->read_tail(rg, 10, &tail, &n, &size));
        assert_int_equal(n, 0);
        assert_int_equal(size, 0);
        assert_null(tail);
        rg->ops->close(rg);
    }
    assert_null(server_header(&sv, 6, "Range"));
    assert_null(server_header(&sv, 8, "Range"));
    assert_ok(s->open_ranges(s, "gone", NULL, &rg));
    assert_int_equal(rg->ops->read_tail(rg, 10, &tail, &n, &size),
                     INFINO_ERR_NOTFOUND);
    assert_non_null(strstr(err_last(), "gs://bkt/db/gone"));
    rg->ops->close(rg);
    assert_int_equal(sv.served, 10);
    objstore_close(s);
    server_stop(&sv);
}

/* ---- resumable uploads -------------------------------------------------- */

static uint8_t *pattern(size_t n)
{
    uint8_t *d = mem_alloc(n);
    for (size_t i = 0; i < n; i++)
        d[i] = (uint8_t)(i * 7 + (i >> 11));
    return d;
}

/* Writes `n` bytes of pattern() to "big" and finishes create-if-absent. */
static infino_status write_big(struct objstore *s, size_t n)
{
    struct store_sink *sink;
    uint8_t *d = pattern(n);
    assert_ok(objstore_put_sink(s, "big", &sink));
    assert_ok(store_sink_write(sink, d, n));
    mem_free(d);
    return store_sink_finish(sink, STORE_NOREPLACE);
}

static void test_store_gcs__resumable_recovery(void **state)
{
    (void)state;
    char loc[128];
    struct reply script[] = {
        {RESPOND, 200, loc, NULL},
        {DROP_AFTER_BODY, 0, NULL, NULL},
        {RESPOND, 308, "Range: bytes=0-131071\r\n", NULL},
        {RESPOND, 308, "Range: bytes=0-262143\r\n", NULL},
        {RESPOND, 308, "Range: bytes=0-400000\r\n", NULL},
        {RESPOND, 308, "Range: bytes=0-524287\r\n", NULL},
        {RESPOND, 200, NULL, OBJECT_JSON},
    };
    struct server sv;
    server_start(&sv, script, 7);
    snprintf(loc, sizeof loc,
             "Location: http://127.0.0.1:%d/upload/session-1\r\n", sv.port);
    setenv("INFINO_GCS_PART_SIZE", "262144", 1);
    struct objstore *s = open_at(&sv, NULL);
    unsetenv("INFINO_GCS_PART_SIZE");
    assert_ok(write_big(s, 614400));
    assert_int_equal(sv.served, 7);
    assert_string_equal(sv.log[0],
                        "POST /upload/storage/v1/b/bkt/o?uploadType=resumable"
                        "&name=db%2Fbig&ifGenerationMatch=0 HTTP/1.1");
    static const char *const ranges[] = {
        NULL,
        "bytes 0-262143/*",      /* dropped */
        "bytes */*",             /* status: 128 KiB arrived */
        "bytes 131072-262143/*", /* the rest of the chunk */
        "bytes 262144-524287/*", /* the server keeps only a part ... */
        "bytes 400001-524287/*", /* ... so the rest goes again */
        "bytes 524288-614399/614400",
    };
    static const size_t lengths[] = {0,      262144, 0,    131072,
                                     262144, 124287, 90112};
    uint8_t *d = pattern(614400);
    for (size_t i = 1; i < 7; i++) {
        assert_string_equal(sv.log[i], "PUT /upload/session-1 HTTP/1.1");
        assert_string_equal(server_header(&sv, i, "Content-Range"),
                            ranges[i]);
        char len[32];
        snprintf(len, sizeof len, "%zu", lengths[i]);
        assert_string_equal(server_header(&sv, i, "Content-Length"), len);
    }
    /* the resent bytes are the right ones */
    assert_memory_equal(server_body(&sv, 5), d + 400001, 100);
    mem_free(d);
    objstore_close(s);
    server_stop(&sv);
}

static void test_store_gcs__final_chunk_lost(void **state)
{
    (void)state;
    char loc[128];
    struct server sv;
    struct objstore *s;

    /* The final chunk's answer is lost; the status query says the upload
     * completed: it was this session's, so the object is ours. */
    struct reply done[] = {
        {RESPOND, 200, loc, NULL},
        {RESPOND, 308, "Range: bytes=0-262143\r\n", NULL},
        {DROP_AFTER_BODY, 0, NULL, NULL},
        {RESPOND, 200, NULL, OBJECT_JSON},
    };
    setenv("INFINO_GCS_PART_SIZE", "262144", 1);
    server_start(&sv, done, 4);
    snprintf(loc, sizeof loc,
             "Location: http://127.0.0.1:%d/upload/s2\r\n", sv.port);
    s = open_at(&sv, NULL);
    assert_ok(write_big(s, 307200));
    assert_string_equal(server_header(&sv, 3, "Content-Range"),
                        "bytes */307200");
    objstore_close(s);
    server_stop(&sv);

    /* ... the session is gone instead: nobody can tell. */
    struct reply gone[] = {
        {RESPOND, 200, loc, NULL},
        {RESPOND, 308, "Range: bytes=0-262143\r\n", NULL},
        {DROP_AFTER_BODY, 0, NULL, NULL},
        {RESPOND, 404, NULL, NULL},
    };
    server_start(&sv, gone, 4);
    snprintf(loc, sizeof loc,
             "Location: http://127.0.0.1:%d/upload/s3\r\n", sv.port);
    s = open_at(&sv, NULL);
    assert_int_equal(write_big(s, 307200), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "outcome unknown"));
    objstore_close(s);
    server_stop(&sv);

    /* ... the status shows the last chunk missing: it never completed, so
     * the 412 of its second sending is another writer's object. */
    struct reply lost[] = {
        {RESPOND, 200, loc, NULL},
        {RESPOND, 308, "Range: bytes=0-262143\r\n", NULL},
        {DROP_AFTER_BODY, 0, NULL, NULL},
        {RESPOND, 308, "Range: bytes=0-262143\r\n", NULL},
        {RESPOND, 412, NULL, PRECONDITION},
    };
    server_start(&sv, lost, 5);
    snprintf(loc, sizeof loc,
             "Location: http://127.0.0.1:%d/upload/s4\r\n", sv.port);
    s = open_at(&sv, NULL);
    assert_int_equal(write_big(s, 307200), INFINO_ERR_EXISTS);
    assert_string_equal(server_header(&sv, 4, "Content-Range"),
                        "bytes 262144-307199/307200");
    objstore_close(s);
    server_stop(&sv);
    unsetenv("INFINO_GCS_PART_SIZE");
}

/* ---- OAuth tokens ------------------------------------------------------- */

static char *b64url_decode(const char *s, size_t n)
{
    struct buf std = {0}, out = {0};
    for (size_t i = 0; i < n; i++)
        buf_put_u8(&std, s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i]);
    while (std.len % 4)
        buf_put_u8(&std, '=');
    assert_ok(base64_decode(&out, (const char *)std.data, std.len));
    buf_put_u8(&out, 0);
    buf_free(&std);
    return (char *)out.data;
}

/* The value of form field `name` (still form-encoded). Owned. */
static char *form_field(const char *body, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = body; p; p = strchr(p, '&')) {
        if (*p == '&')
            p++;
        if (strncmp(p, name, n) == 0 && p[n] == '=') {
            const char *e = strchr(p + n + 1, '&');
            return mem_strndup(p + n + 1, e ? (size_t)(e - p - n - 1)
                                            : strlen(p + n + 1));
        }
    }
    return NULL;
}

static void test_store_gcs__service_account(void **state)
{
    (void)state;
    EVP_PKEY *key = EVP_RSA_gen(2048);
    BIO *bio = BIO_new(BIO_s_mem());
    char *pem_data, cred[8192], token[8192];
    assert_non_null(key);
    assert_int_equal(PEM_write_bio_PrivateKey(bio, key, NULL, NULL, 0, NULL,
                                              NULL),
                     1);
    long pem_len = BIO_get_mem_data(bio, &pem_data);

    static const struct reply script[] = {
        {RESPOND, 200, NULL,
         "{\"access_token\":\"ya29.tok-1\",\"expires_in\":3599,"
         "\"token_type\":\"Bearer\"}"},
        {RESPOND, 200, NULL, OBJECT_JSON},
        {RESPOND, 401, NULL, "{\"error\":{\"code\":401}}"},
        {RESPOND, 200, NULL,
         "{\"access_token\":\"ya29.tok-2\",\"expires_in\":\"3599\"}"},
        {RESPOND, 200, NULL, OBJECT_JSON},
        {RESPOND, 200, NULL, OBJECT_JSON},
    };
    struct server sv;
    server_start(&sv, script, 6);
    /* the key file: JSON, its PEM's newlines escaped */
    size_t at = (size_t)snprintf(
        cred, sizeof cred,
        "{\"type\":\"service_account\",\"project_id\":\"p\","
        "\"private_key_id\":\"kid-1\",\"client_email\":"
        "\"sa@p.iam.example\",\"token_uri\":\"http://127.0.0.1:%d/token\","
        "\"private_key\":\"",
        sv.port);
    for (long i = 0; i < pem_len; i++) {
        if (pem_data[i] == '\n') {
            cred[at++] = '\\';
            cred[at++] = 'n';
        } else {
            cred[at++] = pem_data[i];
        }
    }
    snprintf(cred + at, sizeof cred - at, "\"}");
    struct objstore *s = open_at(&sv, cred);
    struct objstore_entry e;
    assert_ok(objstore_put(s, "a", "x", 1, STORE_NOREPLACE));
    assert_ok(objstore_stat(s, "k", &e)); /* 401: a new token, once */
    assert_ok(objstore_stat(s, "k", &e)); /* the cached one */
    assert_int_equal(sv.served, 6);

    /* RFC 7523: a JWT bearer assertion, RS256 over header.claims. */
    assert_string_equal(sv.log[0], "POST /token HTTP/1.1");
    assert_string_equal(server_header(&sv, 0, "Content-Type"),
                        "application/x-www-form-urlencoded");
    const char *body = server_body(&sv, 0);
    char *grant = form_field(body, "grant_type");
    assert_string_equal(grant, "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3A"
                               "jwt-bearer");
    mem_free(grant);
    char *jwt = form_field(body, "assertion");
    assert_non_null(jwt);
    const char *dot1 = strchr(jwt, '.'), *dot2 = strrchr(jwt, '.');
    assert_true(dot1 && dot2 && dot1 < dot2);
    char *header = b64url_decode(jwt, (size_t)(dot1 - jwt));
    char *claims = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1));
    char *sig = b64url_decode(dot2 + 1, strlen(dot2 + 1));
    assert_string_equal(header, "{\"alg\":\"RS256\",\"typ\":\"JWT\","
                                "\"kid\":\"kid-1\"}");
    snprintf(token, sizeof token,
             "{\"iss\":\"sa@p.iam.example\",\"scope\":\"https://"
             "www.googleapis.com/auth/devstorage.read_write\",\"aud\":"
             "\"http://127.0.0.1:%d/token\",\"iat\":",
             sv.port);
    assert_memory_equal(claims, token, strlen(token));
    long long iat, exp;
    const char *pi = strstr(claims, "\"iat\":"), *pe = strstr(claims,
                                                             "\"exp\":");
    assert_true(pi && pe);
    iat = atoll(pi + 6);
    exp = atoll(pe + 6);
    assert_true(exp - iat == 3600);
    assert_true(llabs(iat - (long long)time(NULL)) < 60);
    EVP_MD_CTX *md = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(md, NULL, EVP_sha256(), NULL, key),
                     1);
    assert_int_equal(EVP_DigestVerify(md, (const unsigned char *)sig, 256,
                                      (const unsigned char *)jwt,
                                      (size_t)(dot2 - jwt)),
                     1);
    EVP_MD_CTX_free(md);
    mem_free(header);
    mem_free(claims);
    mem_free(sig);
    mem_free(jwt);

    assert_string_equal(server_header(&sv, 1, "Authorization"),
                        "Bearer ya29.tok-1");
    assert_string_equal(server_header(&sv, 2, "Authorization"),
                        "Bearer ya29.tok-1");
    assert_string_equal(sv.log[3], "POST /token HTTP/1.1");
    assert_string_equal(server_header(&sv, 4, "Authorization"),
                        "Bearer ya29.tok-2");
    assert_string_equal(server_header(&sv, 5, "Authorization"),
                        "Bearer ya29.tok-2");
    for (size_t i = 0; i < sv.served; i++)
        assert_null(strstr(sv.raw[i], "PRIVATE KEY"));
    objstore_close(s);
    server_stop(&sv);

    /* The token endpoint refuses: its error and description, no key. */
    static const struct reply refused[] = {
        {RESPOND, 400, NULL,
         "{\"error\":\"invalid_grant\",\"error_description\":\"Invalid JWT "
         "Signature.\"}"}};
    server_start(&sv, refused, 1);
    snprintf(strstr(cred, "127.0.0.1:") + 10, 6, "%05d", sv.port);
    cred[strlen(cred)] = '/'; /* restore the byte snprintf's NUL took */
    s = open_at(&sv, cred);
    assert_int_equal(objstore_stat(s, "k", &e), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "token endpoint http://127.0.0.1:"));
    assert_non_null(strstr(err_last(), "HTTP 400 invalid_grant: Invalid JWT "
                                       "Signature."));
    assert_no_secret();
    assert_int_equal(sv.served, 1); /* a 400 is not retried */
    objstore_close(s);
    server_stop(&sv);
    BIO_free(bio);
    EVP_PKEY_free(key);
}

static void test_store_gcs__authorized_user(void **state)
{
    (void)state;
    char cred[512];
    static const struct reply script[] = {
        {RESPOND, 503, NULL, NULL}, /* the token endpoint is retried too */
        {RESPOND, 200, NULL, "{\"access_token\":\"ya29.user\"}"},
        {RESPOND, 204, NULL, NULL},
    };
    struct server sv;
    server_start(&sv, script, 3);
    snprintf(cred, sizeof cred,
             "{\"type\":\"authorized_user\",\"client_id\":\"cid.apps\","
             "\"client_secret\":\"" SECRET "\",\"refresh_token\":\"1//rt\","
             "\"token_uri\":\"http://127.0.0.1:%d/tok\"}",
             sv.port);
    struct objstore *s = open_at(&sv, cred);
    assert_ok(objstore_delete(s, "k"));
    assert_string_equal(server_body(&sv, 1),
                        "grant_type=refresh_token&client_id=cid.apps&"
                        "client_secret=" SECRET "&refresh_token=1%2F%2Frt");
    assert_string_equal(server_header(&sv, 2, "Authorization"),
                        "Bearer ya29.user");
    objstore_close(s);
    server_stop(&sv);
}

/* ---- a real endpoint (fake-gcs-server in make test) ------------------- */

static const char *endpoint(void)
{
    const char *ep = getenv("INFINO_TEST_GCS_ENDPOINT");
    return ep && *ep && getenv("INFINO_TEST_GCS_BUCKET") ? ep : NULL;
}

static struct objstore *open_real(const char *prefix)
{
    char uri[512];
    struct objstore *s;
    const struct objstore_option o[] = {
        {"google_base_url", endpoint()},
        {"google_allow_http", "true"},
        {"google_skip_signature", "true"},
    };
    snprintf(uri, sizeof uri, "gs://%s/%s-%ld-%llu",
             getenv("INFINO_TEST_GCS_BUCKET"), prefix, (long)getpid(),
             (unsigned long long)test_rand() % 100000);
    assert_ok(objstore_open_opts(&s, uri, o, 3));
    return s;
}

static void test_store_gcs__contract(void **state)
{
    (void)state;
    if (endpoint() == NULL)
        skip();
    contract_basic(open_real("contract"));
}

static void test_store_gcs__large_objects(void **state)
{
    (void)state;
    if (endpoint() == NULL)
        skip();
    contract_large(open_real("large"));
}

static void test_store_gcs__list_pages(void **state)
{
    (void)state;
    if (endpoint() == NULL)
        skip();
    contract_list_pages(open_real, "INFINO_GCS_LIST_PAGE");
}

int main(void)
{
    test_seed();
    /* quick retries against the scripted server */
    setenv("INFINO_HTTP_MAX_ATTEMPTS", "4", 0);
    setenv("INFINO_HTTP_RETRY_BASE_MS", "1", 0);
    setenv("INFINO_HTTP_RETRY_CAP_MS", "5", 0);
    unsetenv("STORAGE_EMULATOR_HOST");
    unsetenv("GOOGLE_APPLICATION_CREDENTIALS");
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_store_gcs__options),
        cmocka_unit_test(test_store_gcs__retry_then_ok),
        cmocka_unit_test(test_store_gcs__conditional_outcomes),
        cmocka_unit_test(test_store_gcs__reads_and_errors),
        cmocka_unit_test(test_store_gcs__ranges_pinned),
        cmocka_unit_test(test_store_gcs__exists_keeps_error),
        cmocka_unit_test(test_store_gcs__resumable_recovery),
        cmocka_unit_test(test_store_gcs__final_chunk_lost),
        cmocka_unit_test(test_store_gcs__service_account),
        cmocka_unit_test(test_store_gcs__authorized_user),
        cmocka_unit_test(test_store_gcs__contract),
        cmocka_unit_test(test_store_gcs__large_objects),
        cmocka_unit_test(test_store_gcs__list_pages),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
