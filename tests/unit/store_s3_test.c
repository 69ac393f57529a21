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
#include "harness.h"

#include "store/http.h"
#include "store/objstore.h"
#include "util/alloc.h"
#include "util/err.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <strings.h>
#include <sys/socket.h>

#define SECRET "s3cr3t-never-printed"

/* ---- a scripted HTTP server ------------------------------------------ */

/* DROP_AFTER_BODY: read the request, close without answering;
 * TRUNCATE: announce 100 bytes more than the body, send it, close. */
enum act { RESPOND, DROP_AFTER_BODY, TRUNCATE };

struct reply {
    enum act act;
    int status;
    const char *headers; /* extra header lines, each ending "\r\n" */
    const char *body;
};

struct server {
    int fd;
    int port;
    pthread_t thread;
    const struct reply *script;
    size_t n_script;
    size_t served; /* requests answered (or dropped) */
    char log[64][512]; /* request lines and the If-None-Match/Range seen */
};

static size_t read_request(int c, char *buf, size_t cap)
{
    size_t n = 0;
    char *end = NULL;
    long body = 0;

    while (n + 1 < cap && (end = strstr(buf, "\r\n\r\n")) == NULL) {
        ssize_t r = recv(c, buf + n, cap - 1 - n, 0);
        if (r <= 0)
            return 0;
        n += (size_t)r;
        buf[n] = '\0';
    }
    if (end == NULL)
        return 0;
    for (char *p = buf; p < end; p = strstr(p, "\r\n") + 2)
        if (strncasecmp(p, "Content-Length:", 15) == 0)
            body = strtol(p + 15, NULL, 10);
    size_t have = n - (size_t)(end + 4 - buf);
    while ((long)have < body) {
        char sink[65536];
        ssize_t r = recv(c, sink, sizeof sink, 0);
        if (r <= 0)
            break;
        have += (size_t)r;
    }
    return n;
}

static void *serve(void *payload)
{
    struct server *sv = payload;
    static char req[1 << 16];

    for (;;) {
        int c = accept(sv->fd, NULL, NULL);
        if (c < 0)
            return NULL;
        memset(req, 0, sizeof req);
        if (read_request(c, req, sizeof req) == 0) {
            close(c);
            continue;
        }
        if (sv->served < 64) {
            char *line = sv->log[sv->served];
            char *eol = strstr(req, "\r\n");
            snprintf(line, 512, "%.*s", (int)(eol - req), req);
            if (strstr(req, "\r\nIf-None-Match: *"))
                strncat(line, " [if-none-match]", 511 - strlen(line));
            if (strstr(req, SECRET))
                strncat(line, " [SECRET LEAKED]", 511 - strlen(line));
        }
        const struct reply *r = sv->served < sv->n_script
                                    ? &sv->script[sv->served]
                                    : &sv->script[sv->n_script - 1];
        sv->served++;
        if (r->act != DROP_AFTER_BODY) {
            char head[1024];
            const char *body = r->body ? r->body : "";
            int n = snprintf(head, sizeof head,
                             "HTTP/1.1 %d X\r\nContent-Length: %zu\r\n"
                             "Connection: close\r\n%s\r\n",
                             r->status,
                             strlen(body) + (r->act == TRUNCATE ? 100 : 0),
                             r->headers ? r->headers : "");
            if (send(c, head, (size_t)n, MSG_NOSIGNAL) < 0 ||
                send(c, body, strlen(body), MSG_NOSIGNAL) < 0)
                fprintf(stderr, "scripted server: send failed\n");
        }
        close(c);
    }
}

static void server_start(struct server *sv, const struct reply *script,
                         size_t n)
{
    struct sockaddr_in a = {0};
    socklen_t len = sizeof a;

    memset(sv, 0, sizeof *sv);
    sv->script = script;
    sv->n_script = n;
    sv->fd = socket(AF_INET, SOCK_STREAM, 0);
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    assert_int_equal(bind(sv->fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(sv->fd, 16), 0);
    getsockname(sv->fd, (struct sockaddr *)&a, &len);
    sv->port = ntohs(a.sin_port);
    pthread_create(&sv->thread, NULL, serve, sv);
}

static void server_stop(struct server *sv)
{
    shutdown(sv->fd, SHUT_RDWR);
    close(sv->fd);
    pthread_join(sv->thread, NULL);
}

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

struct seen {
    int n;
    uint64_t total;
    char keys[16][128];
};

static infino_status count_cb(const struct objstore_entry *e, void *payload)
{
    struct seen *s = payload;
    if (s->n < 16)
        snprintf(s->keys[s->n], sizeof s->keys[0], "%s", e->key);
    s->n++;
    s->total += e->size;
    return INFINO_OK;
}

static bool seen_has(const struct seen *s, const char *key)
{
    for (int i = 0; i < s->n && i < 16; i++)
        if (strcmp(s->keys[i], key) == 0)
            return true;
    return false;
}

static void test_store_s3__contract(void **state)
{
    (void)state;
    if (endpoint() == NULL)
        skip();
    struct objstore *s = open_real("contract");
    struct store_blob *b;
    struct store_sink *sink;
    struct objstore_entry e;
    struct seen seen = {0};
    const uint8_t *p;

    assert_int_equal(objstore_get(s, "t/a", &b), INFINO_ERR_NOTFOUND);
    assert_ok(objstore_put(s, "t/a", "alpha", 5, STORE_NOREPLACE));
    assert_int_equal(objstore_put(s, "t/a", "beta", 4, STORE_NOREPLACE),
                     INFINO_ERR_EXISTS);
    assert_ok(objstore_get(s, "t/a", &b));
    assert_int_equal(store_blob_size(b), 5);
    assert_ok(store_blob_read(b, 0, 5, &p));
    assert_memory_equal(p, "alpha", 5);
    /* A small object arrived whole: it stays readable after replace and
     * delete. */
    assert_ok(objstore_put(s, "t/a", "gamma!", 6, STORE_REPLACE));
    assert_ok(objstore_stat(s, "t/a", &e));
    assert_int_equal(e.size, 6);
    assert_true(e.mtime_ns > (int64_t)1600000000 * 1000000000);
    err_clear();
    assert_true(objstore_exists(s, "t/a"));
    assert_false(objstore_exists(s, "t"));
    assert_false(objstore_exists(s, "t/zz"));
    assert_string_equal(err_last(), "");
    assert_ok(objstore_delete(s, "t/a"));
    assert_false(objstore_exists(s, "t/a"));
    assert_int_equal(objstore_stat(s, "t/a", &e), INFINO_ERR_NOTFOUND);
    assert_ok(store_blob_read(b, 0, 5, &p));
    assert_memory_equal(p, "alpha", 5);
    store_blob_close(b);

    /* Sinks publish on finish only; an empty object reads back empty. */
    assert_ok(objstore_put_sink(s, "t/deep/x/y", &sink));
    assert_ok(store_sink_write(sink, "12345", 5));
    assert_int_equal(objstore_stat(s, "t/deep/x/y", &e), INFINO_ERR_NOTFOUND);
    assert_ok(store_sink_finish(sink, STORE_NOREPLACE));
    assert_ok(objstore_put_sink(s, "t/deep/aborted", &sink));
    store_sink_abort(sink);
    assert_ok(objstore_put(s, "t/b", "", 0, STORE_NOREPLACE));
    assert_ok(objstore_get(s, "t/b", &b));
    assert_int_equal(store_blob_size(b), 0);
    store_blob_close(b);
    assert_ok(objstore_put(s, "u/c", "ccc", 3, STORE_NOREPLACE));
    assert_ok(objstore_list(s, "t/", count_cb, &seen));
    assert_int_equal(seen.n, 2);
    assert_true(seen_has(&seen, "t/deep/x/y"));
    assert_true(seen_has(&seen, "t/b"));
    assert_int_equal(seen.total, 5);
    memset(&seen, 0, sizeof seen);
    assert_ok(objstore_list_all(s, "", count_cb, &seen));
    assert_int_equal(seen.n, 3);

    assert_ok(objstore_delete_prefix(s, "t/"));
    memset(&seen, 0, sizeof seen);
    assert_ok(objstore_list(s, "", count_cb, &seen));
    assert_int_equal(seen.n, 1);
    assert_true(seen_has(&seen, "u/c"));
    assert_ok(objstore_delete_prefix(s, "u/"));
    objstore_close(s);
}

static void test_store_s3__large_objects(void **state)
{
    (void)state;
    if (endpoint() == NULL)
        skip();
    /* 20.5 MiB: three parts of 8 MiB (the last one shorter). */
    size_t n = (20u << 20) + 512 * 1024 + 17;
    uint8_t *data = mem_alloc(n);
    for (size_t i = 0; i < n; i++)
        data[i] = (uint8_t)(test_rand() >> 56);
    struct objstore *s = open_real("large");
    struct store_sink *sink;
    struct store_blob *b;
    const uint8_t *p;

    assert_ok(objstore_put_sink(s, "sf/big", &sink));
    for (size_t off = 0; off < n; off += 1000003)
        assert_ok(store_sink_write(sink, data + off,
                                   n - off < 1000003 ? n - off : 1000003));
    assert_ok(store_sink_finish(sink, STORE_NOREPLACE));
    /* create-if-absent through CompleteMultipartUpload */
    assert_ok(objstore_put_sink(s, "sf/big", &sink));
    assert_ok(store_sink_write(sink, data, n));
    assert_int_equal(store_sink_finish(sink, STORE_NOREPLACE),
                     INFINO_ERR_EXISTS);
    /* an aborted multipart upload leaves nothing */
    assert_ok(objstore_put_sink(s, "sf/aborted", &sink));
    assert_ok(store_sink_write(sink, data, n));
    store_sink_abort(sink);
    assert_false(objstore_exists(s, "sf/aborted"));

    /* Ranged reads: the tail came with the open, the rest on demand. */
    assert_ok(objstore_get(s, "sf/big", &b));
    assert_int_equal(store_blob_size(b), n);
    assert_ok(store_blob_read(b, n - 8, 8, &p));
    assert_memory_equal(p, data + n - 8, 8);
    assert_ok(store_blob_read(b, 0, 4, &p));
    assert_memory_equal(p, data, 4);
    for (int i = 0; i < 50; i++) {
        uint64_t off = test_rand() % n;
        size_t len = (size_t)(test_rand() % 700000);
        if (len > n - off)
            len = n - off;
        assert_ok(store_blob_read(b, off, len, &p));
        assert_memory_equal(p, data + off, len);
    }
    assert_ok(store_blob_read(b, 0, n, &p));
    assert_memory_equal(p, data, n);
    assert_int_equal(store_blob_read(b, n - 1, 2, &p), INFINO_ERR_CORRUPT);
    /* replaced under an open blob: reads of new ranges refuse */
    struct store_blob *b2;
    assert_ok(objstore_get(s, "sf/big", &b2));
    assert_ok(objstore_put(s, "sf/big", data, 1 << 20, STORE_REPLACE));
    assert_int_equal(store_blob_read(b2, 3 << 20, 10, &p), INFINO_ERR_IO);
    assert_non_null(strstr(err_last(), "changed since it was opened"));
    store_blob_close(b2);
    store_blob_close(b);
    assert_ok(objstore_delete_prefix(s, "sf/"));
    objstore_close(s);
    mem_free(data);
}

static void test_store_s3__list_pages(void **state)
{
    (void)state;
    if (endpoint() == NULL)
        skip();
    setenv("INFINO_S3_LIST_PAGE", "7", 1);
    struct objstore *s = open_real("pages");
    struct seen seen = {0};
    char key[64];
    for (int i = 0; i < 30; i++) {
        snprintf(key, sizeof key, "d/%03d", i);
        assert_ok(objstore_put(s, key, key, strlen(key), STORE_NOREPLACE));
    }
    assert_ok(objstore_list(s, "d/", count_cb, &seen));
    assert_int_equal(seen.n, 30);
    assert_ok(objstore_delete_prefix(s, "d/"));
    memset(&seen, 0, sizeof seen);
    assert_ok(objstore_list(s, "", count_cb, &seen));
    assert_int_equal(seen.n, 0);
    unsetenv("INFINO_S3_LIST_PAGE");
    objstore_close(s);
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
