/*
 * objstore_s3.c - objects in an S3 bucket (s3://BUCKET[/PREFIX]).
 *
 * Every objstore primitive maps to S3 requests signed with SigV4
 * (sigv4.h) and sent with bounded retries (http.h): get is a suffix GET
 * (small objects arrive whole in one request; large ones become blobs
 * read by ranges, pinned to the ETag they were opened at), publish is a
 * PUT, or a multipart upload for objects beyond one part, and
 * create-if-absent is `If-None-Match: *` on the PUT or on
 * CompleteMultipartUpload (412 Precondition Failed: the object exists).
 * stat and exists are HEAD, list is ListObjectsV2 with continuation
 * tokens, delete is DELETE. Opening touches no network.
 *
 * A create-if-absent publish whose earlier attempt may have landed (its
 * answer was lost, or S3 answered 5xx) and that then meets 412 cannot
 * tell its own object from another writer's: it reports INFINO_ERR_IO
 * ("outcome unknown") so that the commit protocol reads the object back,
 * never INFINO_ERR_EXISTS.
 *
 * Credentials live in the store only; no message ever contains them.
 */
#include "objstore.h"

#include "http.h"
#include "remote.h"
#include "s3_xml.h"
#include "sigv4.h"

#include "util/alloc.h"
#include "util/buf.h"
#include "util/err.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Bytes of the suffix fetched when an object is opened: small objects
 * (snapshots, catalogs, tombstones, leases) arrive whole, and a large
 * one's tail holds the footers its reader wants first. */
#define OPEN_TAIL ((size_t)256 << 10)
/* The largest answer kept in memory for one request (a server that
 * ignores Range on open, listings, error bodies). */
#define MAX_ANSWER ((size_t)64 << 20)
#define DEFAULT_PART_SIZE ((size_t)8 << 20)
#define MIN_PART_SIZE ((size_t)64 << 10) /* tests only: S3 needs 5 MiB */
#define MAX_HEADERS 16

struct s3store {
    struct objstore base;
    atomic_long refs; /* the store and each open blob */
    char *bucket;
    char *prefix; /* "" or "a/b/" */
    char *region;
    char *access_key; /* owned or NULL (unsigned requests) */
    char *secret_key;
    char *token;
    char *origin;    /* "https://host[:port]" */
    char *host;      /* Host header */
    char *path_root; /* "" (virtual-hosted) or "[/endpoint-path]/bucket" */
    size_t part_size;
    char list_page[12]; /* max-keys of ListObjectsV2; "" for S3's 1000 */
    struct http_client *http;
};

/* ---- configuration --------------------------------------------------- */

static bool bucket_valid(const char *b, size_t n)
{
    if (n == 0 || n > 255)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_'))
            return false;
    }
    return true;
}

/* Origin, Host and path root for a custom endpoint (path-style). */
static infino_status use_endpoint(struct s3store *s, const char *ep,
                                  bool allow_http)
{
    struct remote_endpoint e;
    infino_status st = remote_endpoint_parse(&e, ep, allow_http,
                                             "aws_allow_http");

    if (st != INFINO_OK)
        return st;
    s->origin = e.origin;
    s->host = e.host;
    e.origin = e.host = NULL;
    st = remote_strf(&s->path_root, "%s/%s", e.path, s->bucket);
    remote_endpoint_free(&e);
    return st;
}

static infino_status use_aws(struct s3store *s)
{
    infino_status st;

    /* Dots in a bucket name break the TLS wildcard of virtual hosts. */
    if (strchr(s->bucket, '.')) {
        st = remote_strf(&s->host, "s3.%s.amazonaws.com", s->region);
        if (st == INFINO_OK)
            st = remote_strf(&s->path_root, "/%s", s->bucket);
    } else {
        st = remote_strf(&s->host, "%s.s3.%s.amazonaws.com", s->bucket, s->region);
        if (st == INFINO_OK)
            st = remote_dup(&s->path_root, "");
    }
    if (st == INFINO_OK)
        st = remote_strf(&s->origin, "https://%s", s->host);
    return st;
}

static infino_status configure(struct s3store *s,
                               const struct objstore_option *o, size_t n)
{
    const char *ak = remote_option(o, n, "aws_access_key_id");
    const char *sk = remote_option(o, n, "aws_secret_access_key");
    const char *tok = remote_option(o, n, "aws_session_token");
    const char *region = remote_option(o, n, "aws_region");
    const char *ep = remote_option(o, n, "aws_endpoint");
    const char *http = remote_option(o, n, "aws_allow_http");
    bool allow_http = false;
    const char *part = remote_env("INFINO_S3_PART_SIZE");
    const char *page = remote_env("INFINO_S3_LIST_PAGE");
    infino_status st;

    if (ak == NULL && sk == NULL) {
        /* Credentials come as a pair, the token only with them. */
        ak = remote_env("AWS_ACCESS_KEY_ID");
        sk = remote_env("AWS_SECRET_ACCESS_KEY");
        if (tok == NULL)
            tok = remote_env("AWS_SESSION_TOKEN");
    }
    if ((ak == NULL) != (sk == NULL))
        return err_set(INFINO_ERR_INVALID,
                       "%s is set but %s is not",
                       ak ? "aws_access_key_id" : "aws_secret_access_key",
                       ak ? "aws_secret_access_key" : "aws_access_key_id");
    if (region == NULL)
        region = remote_env("AWS_REGION");
    if (region == NULL)
        region = remote_env("AWS_DEFAULT_REGION");
    if (region == NULL)
        region = "us-east-1";
    for (const char *p = region; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
              *p == '-'))
            return err_set(INFINO_ERR_INVALID, "bad aws_region '%s'", region);
    if (ep == NULL)
        ep = remote_env("AWS_ENDPOINT_URL_S3");
    if (ep == NULL)
        ep = remote_env("AWS_ENDPOINT_URL");
    if (http == NULL)
        http = remote_env("AWS_ALLOW_HTTP");
    if (http != NULL && (st = remote_parse_bool(&allow_http, "aws_allow_http",
                                         http)) != INFINO_OK)
        return st;
    if ((st = remote_dup(&s->access_key, ak)) != INFINO_OK ||
        (st = remote_dup(&s->secret_key, sk)) != INFINO_OK ||
        (st = remote_dup(&s->token, ak ? tok : NULL)) != INFINO_OK ||
        (st = remote_dup(&s->region, region)) != INFINO_OK)
        return st;
    st = ep ? use_endpoint(s, ep, allow_http) : use_aws(s);
    if (st != INFINO_OK)
        return st;
    s->part_size = DEFAULT_PART_SIZE;
    if (part) {
        char *end;
        unsigned long long v = strtoull(part, &end, 10);
        if (*end == '\0' && v >= MIN_PART_SIZE && v <= ((size_t)1 << 30))
            s->part_size = (size_t)v;
    }
    /* Tests: small listing pages exercise continuation tokens. */
    if (page && strlen(page) < sizeof s->list_page && atoi(page) > 0)
        snprintf(s->list_page, sizeof s->list_page, "%d", atoi(page));
    return INFINO_OK;
}

static void store_unref(struct s3store *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    http_client_free(s->http);
    mem_free(s->bucket);
    mem_free(s->prefix);
    mem_free(s->region);
    mem_free(s->access_key);
    remote_free_secret(s->secret_key);
    remote_free_secret(s->token);
    mem_free(s->origin);
    mem_free(s->host);
    mem_free(s->path_root);
    mem_free(s->base.uri);
    mem_free(s->base.cache_id);
    mem_free(s);
}

/* ---- requests -------------------------------------------------------- */

/* One S3 request; every pointer borrowed for the call. */
struct s3_op {
    const char *method;
    const char *key; /* full S3 key (prefix included); NULL: the bucket */
    const struct sigv4_kv *query;
    size_t n_query;
    const struct sigv4_kv *extra; /* more signed headers: Range, If-... */
    size_t n_extra;
    const uint8_t *body; /* sent when has_body */
    size_t body_len;
    bool has_body;
    uint8_t *into; /* see http_request */
    size_t into_len;
    size_t max_body;
};

struct attempt {
    struct s3store *s;
    const struct s3_op *op;
    char payload_hash[65];
    struct buf url, path, lines, auth;
    const char *hdr[MAX_HEADERS];
};

static infino_status add_line(struct buf *lines, size_t *offs, size_t *n,
                              const char *name, const char *value)
{
    offs[(*n)++] = lines->len;
    return buf_printf(lines, "%s: %s%c", name, value, 0);
}

static infino_status prepare(void *payload, struct http_request *rq,
                             unsigned attempt)
{
    struct attempt *a = payload;
    struct s3store *s = a->s;
    const struct s3_op *op = a->op;
    struct sigv4_kv h[MAX_HEADERS];
    size_t offs[MAX_HEADERS], n_lines = 0, nh = 0;
    char date[17];
    infino_status st;

    (void)attempt;
    if (op->n_extra + 5 > MAX_HEADERS)
        return err_set(INFINO_ERR_INVALID, "S3: too many headers");
    buf_reset(&a->url);
    buf_reset(&a->path);
    buf_reset(&a->lines);
    buf_reset(&a->auth);
    /* The path, raw: the signer and the URL encode it the same way. */
    CHECK(buf_append_str(&a->path, s->path_root));
    if (op->key) {
        CHECK(buf_put_u8(&a->path, '/'));
        CHECK(buf_append_str(&a->path, op->key));
    } else if (a->path.len == 0) {
        CHECK(buf_put_u8(&a->path, '/'));
    }
    CHECK(buf_put_u8(&a->path, 0));
    CHECK(buf_append_str(&a->url, s->origin));
    CHECK(sigv4_uri_encode(&a->url, (const char *)a->path.data,
                           a->path.len - 1, true));
    for (size_t i = 0; i < op->n_query; i++) {
        const char *v = op->query[i].value ? op->query[i].value : "";
        CHECK(buf_put_u8(&a->url, i ? '&' : '?'));
        CHECK(sigv4_uri_encode(&a->url, op->query[i].name,
                               strlen(op->query[i].name), false));
        CHECK(buf_put_u8(&a->url, '='));
        CHECK(sigv4_uri_encode(&a->url, v, strlen(v), false));
    }
    CHECK(buf_put_u8(&a->url, 0));

    sigv4_amz_date(date, time(NULL));
    h[nh++] = (struct sigv4_kv){"Host", s->host};
    h[nh++] = (struct sigv4_kv){"x-amz-content-sha256", a->payload_hash};
    h[nh++] = (struct sigv4_kv){"x-amz-date", date};
    if (s->token)
        h[nh++] = (struct sigv4_kv){"x-amz-security-token", s->token};
    for (size_t i = 0; i < op->n_extra; i++)
        h[nh++] = op->extra[i];
    for (size_t i = 0; i < nh; i++)
        CHECK(add_line(&a->lines, offs, &n_lines, h[i].name, h[i].value));
    if (s->access_key) {
        struct sigv4_input in = {
            .method = op->method,
            .path = (const char *)a->path.data,
            .query = op->query,
            .n_query = op->n_query,
            .headers = h,
            .n_headers = nh,
            .payload_hash = a->payload_hash,
            .amz_date = date,
            .region = s->region,
            .service = "s3",
            .access_key = s->access_key,
            .secret_key = s->secret_key,
        };
        CHECK(sigv4_authorization(&a->auth, &in, NULL));
        CHECK(buf_put_u8(&a->auth, 0));
        CHECK(add_line(&a->lines, offs, &n_lines, "Authorization",
                       (const char *)a->auth.data));
    }
    for (size_t i = 0; i < n_lines; i++)
        a->hdr[i] = (const char *)a->lines.data + offs[i];
    rq->method = op->method;
    rq->url = (const char *)a->url.data;
    rq->headers = a->hdr;
    rq->n_headers = n_lines;
    rq->body = op->has_body ? (op->body ? op->body : (const uint8_t *)"")
                            : NULL;
    rq->body_len = op->body_len;
    rq->into = op->into;
    rq->into_len = op->into_len;
    rq->max_body = op->max_body ? op->max_body : MAX_ANSWER;
    return INFINO_OK;
fail:
    return st;
}

/* S3's codes worth another attempt (besides 5xx and 429). */
static bool code_retryable(const char *code)
{
    static const char *const codes[] = {
        "RequestTimeout", "SlowDown", "InternalError", "ServiceUnavailable",
        "OperationAborted", "ConditionalRequestConflict", "RequestTimeTooSkewed",
    };

    for (size_t i = 0; code && i < sizeof codes / sizeof codes[0]; i++)
        if (strcmp(code, codes[i]) == 0)
            return i != 6; /* a skewed clock does not heal by retrying */
    return false;
}

static bool retryable(void *payload, const struct http_response *r)
{
    const struct attempt *a = payload;
    struct s3_error e;
    bool again = false;

    if (r->status >= 500 || r->status == 429)
        return true;
    /* A HEAD answer cut short (the connection closed inside its headers)
     * can look complete to curl: S3 always says the length. */
    if (r->status == 200 && !r->has_length &&
        strcmp(a->op->method, "HEAD") == 0)
        return true;
    if (r->status != 400 && r->status != 409 &&
        !(r->status == 200 && s3xml_is_error((const char *)r->body.data,
                                             r->body.len)))
        return false;
    if (s3xml_parse_error(&e, (const char *)r->body.data, r->body.len) ==
        INFINO_OK) {
        /* 200 with an Error body: CompleteMultipartUpload failed late */
        again = code_retryable(e.code) ||
                (r->status == 200 && e.code == NULL);
        s3xml_error_free(&e);
    }
    err_clear();
    return again;
}

/* Runs `op` with retries. INFINO_OK when an answer came (read
 * resp->status); else the transport failure with its message. */
static infino_status run(struct s3store *s, const struct s3_op *op,
                         struct http_response *resp, struct http_outcome *out)
{
    struct attempt a = {.s = s, .op = op};
    struct http_call call = {prepare, retryable, &a};
    infino_status st;

    if (op->has_body)
        sigv4_sha256_hex(a.payload_hash, op->body ? op->body : (const void *)"",
                         op->body_len);
    else
        memcpy(a.payload_hash, SIGV4_EMPTY_SHA256, 65);
    st = http_run(s->http, &call, resp, out);
    buf_free(&a.url);
    buf_free(&a.path);
    buf_free(&a.lines);
    if (a.auth.data)
        memset(a.auth.data, 0, a.auth.cap);
    buf_free(&a.auth);
    return st;
}

static infino_status full_key(char **out, const struct s3store *s,
                              const char *key)
{
    return remote_strf(out, "%s%s", s->prefix, key);
}

/* The error of a request that got no usable answer: names the object
 * ("s3://bucket/key"), the operation, the HTTP status and S3's code. */
static infino_status fail_answer(struct s3store *s, const char *op,
                                 const char *full, infino_status transport,
                                 const struct http_response *r,
                                 const struct http_outcome *o)
{
    struct s3_error e = {0};
    char *cause = NULL;
    infino_status st;

    if (transport != INFINO_OK) {
        cause = mem_strdup(err_last());
        st = err_set(transport == INFINO_ERR_NOMEM ? transport : INFINO_ERR_IO,
                     "s3://%s/%s: %s: %s (%u attempt%s)", s->bucket, full, op,
                     cause ? cause : "no answer", o->attempts,
                     o->attempts == 1 ? "" : "s");
        mem_free(cause);
        return st;
    }
    if (r->body.len && s3xml_parse_error(&e, (const char *)r->body.data,
                                         r->body.len) != INFINO_OK)
        memset(&e, 0, sizeof e);
    if (r->status == 404 &&
        (e.code == NULL || strcmp(e.code, "NoSuchKey") == 0)) {
        st = err_set(INFINO_ERR_NOTFOUND, "s3://%s/%s: no such object",
                     s->bucket, full);
    } else {
        struct buf m = {0};
        if (buf_printf(&m, "HTTP %ld", r->status) == INFINO_OK &&
            (e.code == NULL || buf_printf(&m, " %s", e.code) == INFINO_OK) &&
            (e.message == NULL ||
             buf_printf(&m, ": %s", e.message) == INFINO_OK) &&
            buf_printf(&m, " (%u attempt%s", o->attempts,
                       o->attempts == 1 ? "" : "s") == INFINO_OK &&
            (e.request_id == NULL ||
             buf_printf(&m, ", request id %s", e.request_id) == INFINO_OK) &&
            buf_append_str(&m, ")") == INFINO_OK &&
            (r->status != 403 || s->access_key != NULL ||
             buf_append_str(&m, "; no credentials were given "
                                "(aws_access_key_id and "
                                "aws_secret_access_key, or the AWS_* "
                                "environment)") == INFINO_OK) &&
            buf_put_u8(&m, 0) == INFINO_OK)
            st = err_set(INFINO_ERR_IO, "s3://%s/%s: %s: %s", s->bucket, full,
                         op, (const char *)m.data);
        else
            st = err_set(INFINO_ERR_IO, "s3://%s/%s: %s: HTTP %ld", s->bucket,
                         full, op, r->status);
        buf_free(&m);
    }
    s3xml_error_free(&e);
    return st;
}

static char *error_code(const struct http_response *r)
{
    struct s3_error e;
    char *code = NULL;

    if (s3xml_parse_error(&e, (const char *)r->body.data, r->body.len) ==
        INFINO_OK) {
        code = e.code;
        e.code = NULL;
        s3xml_error_free(&e);
    }
    err_clear();
    return code;
}

/* ---- reading --------------------------------------------------------- */

/* A reader of one object by ranges (remote.h): holds a store reference.
 * Blobs of s3_get() and the read cache use it. */
struct s3ranges {
    struct remote_ranges r; /* first */
    struct s3store *s;
};

/* Pinned by If-Match: another version answers 412. */
static infino_status ranges_get(struct remote_ranges *rr, const char *range,
                                const char *pin, uint8_t *into,
                                size_t into_len, struct http_response *resp,
                                struct http_outcome *o)
{
    struct sigv4_kv extra[2];
    struct s3_op op = {.method = "GET",
                       .key = rr->full,
                       .extra = extra,
                       .into = into,
                       .into_len = into_len};

    if (range)
        extra[op.n_extra++] = (struct sigv4_kv){"Range", range};
    if (pin[0])
        extra[op.n_extra++] = (struct sigv4_kv){"If-Match", pin};
    return run(((struct s3ranges *)rr)->s, &op, resp, o);
}

static infino_status ranges_fail(struct remote_ranges *rr, const char *op,
                                 infino_status transport,
                                 const struct http_response *resp,
                                 const struct http_outcome *o)
{
    return fail_answer(((struct s3ranges *)rr)->s, op, rr->full, transport,
                       resp, o);
}

static void ranges_release(struct remote_ranges *rr)
{
    store_unref(((struct s3ranges *)rr)->s);
}

static const struct remote_ranges_ops s3_ranges_ops = {
    ranges_get, remote_version_etag, remote_gone_if_match, ranges_fail,
    ranges_release, true};

static infino_status s3_open_ranges(struct objstore *os, const char *key,
                                    const char *etag,
                                    struct objstore_ranges **out)
{
    struct s3store *s = (struct s3store *)os;
    struct remote_ranges *r;
    infino_status st = remote_ranges_new(&r, sizeof(struct s3ranges),
                                         &s3_ranges_ops, "s3", s->bucket,
                                         s->prefix, key, etag);

    *out = NULL;
    if (st != INFINO_OK)
        return st;
    atomic_fetch_add(&s->refs, 1);
    ((struct s3ranges *)r)->s = s;
    *out = &r->base;
    return INFINO_OK;
}

/* Small objects arrive whole in one request; larger ones become blobs
 * read by ranges, pinned to the version their tail came from. */
static infino_status s3_get(struct objstore *os, const char *key,
                            struct store_blob **out)
{
    struct objstore_ranges *rg;
    infino_status st = s3_open_ranges(os, key, NULL, &rg);

    *out = NULL;
    return st == INFINO_OK ? remote_ranges_get_blob(out, rg, OPEN_TAIL) : st;
}

static infino_status head(struct s3store *s, const char *key,
                          struct objstore_entry *out, bool quiet)
{
    struct http_response r = {0};
    struct http_outcome o;
    char *full = NULL;
    struct s3_op op = {.method = "HEAD"};
    infino_status st;

    CHECK(full_key(&full, s, key));
    op.key = full;
    st = run(s, &op, &r, &o);
    if (st == INFINO_OK && r.status == 200 && r.has_length) {
        out->key = key;
        out->size = r.content_length;
        out->mtime_ns = r.last_modified_ns > 0 ? r.last_modified_ns : 0;
    } else if (quiet) {
        st = INFINO_ERR_NOTFOUND;
    } else if (st == INFINO_OK && r.status == 200) {
        st = err_set(INFINO_ERR_IO, "s3://%s/%s: HEAD: no Content-Length",
                     s->bucket, full);
    } else {
        st = fail_answer(s, "HEAD", full, st, &r, &o);
    }
fail:
    http_response_reset(&r);
    mem_free(full);
    return st;
}

static infino_status s3_stat(struct objstore *os, const char *key,
                             struct objstore_entry *out)
{
    return head((struct s3store *)os, key, out, false);
}

static bool s3_exists(struct objstore *os, const char *key)
{
    struct objstore_entry e;
    char saved[1024];
    infino_status st;

    /* exists() sets no error, and must not wipe the caller's either (a
     * failing write checks the drop marker on its way out) */
    snprintf(saved, sizeof saved, "%s", err_last());
    st = head((struct s3store *)os, key, &e, true);
    if (st != INFINO_OK)
        err_set(INFINO_OK, "%s", saved);
    return st == INFINO_OK;
}

static infino_status s3_list(struct objstore *os, const char *prefix,
                             bool include_temps, objstore_list_fn fn,
                             void *payload)
{
    struct s3store *s = (struct s3store *)os;
    struct s3_list_page page = {0};
    struct http_response r = {0};
    struct http_outcome o;
    char *full = NULL, *token = NULL;
    size_t root = strlen(s->prefix);
    infino_status st;

    (void)include_temps; /* unfinished uploads are not objects on S3 */
    CHECK(full_key(&full, s, prefix));
    for (;;) {
        struct sigv4_kv q[4] = {{"list-type", "2"}, {"prefix", full}};
        struct s3_op op = {.method = "GET", .query = q, .n_query = 2};
        if (s->list_page[0])
            q[op.n_query++] = (struct sigv4_kv){"max-keys", s->list_page};
        if (token)
            q[op.n_query++] = (struct sigv4_kv){"continuation-token", token};
        st = run(s, &op, &r, &o);
        if (st != INFINO_OK || r.status != 200) {
            st = fail_answer(s, "LIST", full, st, &r, &o);
            goto fail;
        }
        CHECK(s3xml_parse_list(&page, (const char *)r.body.data, r.body.len));
        for (size_t i = 0; i < page.n_items; i++) {
            const struct s3_list_entry *it = &page.items[i];
            struct objstore_entry e;
            if (strncmp(it->key, s->prefix, root) != 0 ||
                !objstore_key_valid(it->key + root))
                continue; /* e.g. "folder/" markers made by consoles */
            e.key = it->key + root;
            e.size = it->size;
            e.mtime_ns = it->mtime_ns;
            CHECK(fn(&e, payload));
        }
        if (!page.truncated)
            break;
        mem_free(token);
        token = page.next_token;
        page.next_token = NULL;
        s3xml_list_free(&page);
        http_response_reset(&r);
    }
    st = INFINO_OK;
fail:
    s3xml_list_free(&page);
    http_response_reset(&r);
    mem_free(full);
    mem_free(token);
    return st;
}

static infino_status delete_full(struct s3store *s, const char *full,
                                 const struct sigv4_kv *query, size_t n_query)
{
    struct http_response r = {0};
    struct http_outcome o;
    struct s3_op op = {
        .method = "DELETE", .key = full, .query = query, .n_query = n_query};
    infino_status st = run(s, &op, &r, &o);

    if (st != INFINO_OK || (r.status != 204 && r.status != 200))
        st = fail_answer(s, "DELETE", full, st, &r, &o);
    http_response_reset(&r);
    return st;
}

static infino_status s3_remove(struct objstore *os, const char *key)
{
    struct s3store *s = (struct s3store *)os;
    char *full = NULL;
    infino_status st = full_key(&full, s, key);

    if (st == INFINO_OK)
        st = delete_full(s, full, NULL, 0);
    mem_free(full);
    return st;
}

static infino_status s3_remove_prefix(struct objstore *os, const char *prefix)
{
    struct remote_keys k = {0};
    infino_status st = s3_list(os, prefix, true, remote_collect_key, &k);

    for (size_t i = 0; st == INFINO_OK && i < k.n; i++)
        st = s3_remove(os, k.v[i]);
    remote_keys_free(&k);
    return st;
}

/* ---- writing --------------------------------------------------------- */

/* A create-if-absent write met 412. If an earlier attempt may have landed
 * the object is perhaps ours: say so instead of "exists". */
static infino_status precondition_failed(struct s3store *s, const char *full,
                                         const struct http_outcome *o)
{
    if (o->maybe_applied)
        return err_set(INFINO_ERR_IO,
                       "s3://%s/%s: outcome unknown: an earlier attempt may "
                       "have created the object before it was found to "
                       "exist (%u attempts)",
                       s->bucket, full, o->attempts);
    return err_set(INFINO_ERR_EXISTS, "s3://%s/%s: object exists", s->bucket,
                   full);
}

static infino_status put_object(struct s3store *s, const char *full,
                                const uint8_t *data, size_t len,
                                enum store_publish mode)
{
    struct http_response r = {0};
    struct http_outcome o;
    struct sigv4_kv extra[1] = {{"If-None-Match", "*"}};
    struct s3_op op = {.method = "PUT",
                       .key = full,
                       .extra = extra,
                       .n_extra = (mode & STORE_NOREPLACE) ? 1 : 0,
                       .body = data,
                       .body_len = len,
                       .has_body = true};
    infino_status st = run(s, &op, &r, &o);

    if (st == INFINO_OK && r.status == 200)
        st = INFINO_OK;
    else if (st == INFINO_OK && r.status == 412 && (mode & STORE_NOREPLACE))
        st = precondition_failed(s, full, &o);
    else
        st = fail_answer(s, "PUT", full, st, &r, &o);
    http_response_reset(&r);
    return st;
}

/* A sink's state: bytes up to one part in memory; beyond, a multipart
 * upload whose parts go out as they fill. */
struct upload {
    struct s3store *s; /* holds a reference */
    char *full;        /* owned */
    struct buf pending;
    char *upload_id;   /* owned, once the upload started */
    char **etags;      /* owned, one per part sent */
    size_t n_parts, parts_cap;
};

static void upload_free(struct upload *u)
{
    buf_free(&u->pending);
    for (size_t i = 0; i < u->n_parts; i++)
        mem_free(u->etags[i]);
    mem_free(u->etags);
    mem_free(u->upload_id);
    mem_free(u->full);
    store_unref(u->s);
    mem_free(u);
}

static infino_status mp_initiate(struct upload *u)
{
    struct http_response r = {0};
    struct http_outcome o;
    struct sigv4_kv q[1] = {{"uploads", ""}};
    struct s3_op op = {.method = "POST",
                       .key = u->full,
                       .query = q,
                       .n_query = 1,
                       .has_body = true};
    infino_status st = run(u->s, &op, &r, &o);

    if (st == INFINO_OK && r.status == 200)
        st = err_context(s3xml_parse_upload_id(&u->upload_id,
                                               (const char *)r.body.data,
                                               r.body.len),
                         "s3://%s/%s: starting a multipart upload",
                         u->s->bucket, u->full);
    else
        st = fail_answer(u->s, "POST uploads", u->full, st, &r, &o);
    http_response_reset(&r);
    return st;
}

static infino_status mp_part(struct upload *u)
{
    struct http_response r = {0};
    struct http_outcome o;
    char num[16];
    struct sigv4_kv q[2] = {{"partNumber", num}, {"uploadId", u->upload_id}};
    struct s3_op op = {.method = "PUT",
                       .key = u->full,
                       .query = q,
                       .n_query = 2,
                       .body = u->pending.data,
                       .body_len = u->pending.len,
                       .has_body = true};
    infino_status st;

    if (MEM_RESERVE(u->etags, u->parts_cap, u->n_parts + 1) != 0)
        return err_nomem();
    snprintf(num, sizeof num, "%zu", u->n_parts + 1);
    st = run(u->s, &op, &r, &o);
    if (st == INFINO_OK && r.status == 200 && r.etag) {
        u->etags[u->n_parts++] = r.etag;
        r.etag = NULL;
        buf_reset(&u->pending);
    } else if (st == INFINO_OK && r.status == 200) {
        st = err_set(INFINO_ERR_IO, "s3://%s/%s: part %s: no ETag",
                     u->s->bucket, u->full, num);
    } else {
        st = fail_answer(u->s, "PUT part", u->full, st, &r, &o);
    }
    http_response_reset(&r);
    return st;
}

static infino_status mp_complete(struct upload *u, enum store_publish mode)
{
    struct http_response r = {0};
    struct http_outcome o;
    struct buf xml = {0};
    struct sigv4_kv q[1] = {{"uploadId", u->upload_id}};
    struct sigv4_kv extra[1] = {{"If-None-Match", "*"}};
    struct s3_op op = {.method = "POST",
                       .key = u->full,
                       .query = q,
                       .n_query = 1,
                       .extra = extra,
                       .n_extra = (mode & STORE_NOREPLACE) ? 1 : 0,
                       .has_body = true};
    char *code = NULL;
    infino_status st;

    CHECK(buf_append_str(&xml, "<CompleteMultipartUpload>"));
    for (size_t i = 0; i < u->n_parts; i++)
        CHECK(buf_printf(&xml,
                         "<Part><PartNumber>%zu</PartNumber><ETag>%s</ETag>"
                         "</Part>",
                         i + 1, u->etags[i]));
    CHECK(buf_append_str(&xml, "</CompleteMultipartUpload>"));
    op.body = xml.data;
    op.body_len = xml.len;
    st = run(u->s, &op, &r, &o);
    if (st == INFINO_OK && r.status == 200 &&
        !s3xml_is_error((const char *)r.body.data, r.body.len)) {
        st = INFINO_OK;
    } else if (st == INFINO_OK && r.status == 412 &&
               (mode & STORE_NOREPLACE)) {
        st = precondition_failed(u->s, u->full, &o);
    } else if (st == INFINO_OK && r.status == 404 && o.maybe_applied &&
               (code = error_code(&r)) && strcmp(code, "NoSuchUpload") == 0) {
        /* an earlier attempt completed the upload, or nothing did */
        st = err_set(INFINO_ERR_IO,
                     "s3://%s/%s: outcome unknown: the upload is gone after "
                     "an attempt whose answer was lost",
                     u->s->bucket, u->full);
    } else {
        st = fail_answer(u->s, "POST complete", u->full, st, &r, &o);
    }
fail:
    mem_free(code);
    buf_free(&xml);
    http_response_reset(&r);
    return st;
}

/* Best effort: an upload left behind costs storage, not correctness (a
 * bucket lifecycle rule AbortIncompleteMultipartUpload reaps the rest). */
static void mp_abort(struct upload *u)
{
    struct sigv4_kv q[1] = {{"uploadId", u->upload_id}};

    if (u->upload_id && delete_full(u->s, u->full, q, 1) != INFINO_OK)
        err_clear();
}

static infino_status upload_write(void *payload, const void *p, size_t n)
{
    struct upload *u = payload;
    size_t part = u->s->part_size;
    infino_status st = INFINO_OK;

    while (n > 0 && st == INFINO_OK) {
        size_t take = part - u->pending.len;
        if (take > n)
            take = n;
        st = buf_append(&u->pending, p, take);
        p = (const uint8_t *)p + take;
        n -= take;
        if (st == INFINO_OK && u->pending.len == part) {
            if (u->upload_id == NULL)
                st = mp_initiate(u);
            if (st == INFINO_OK)
                st = mp_part(u);
        }
    }
    return st;
}

static infino_status upload_finish(void *payload, enum store_publish mode)
{
    struct upload *u = payload;
    infino_status st;

    if (u->upload_id == NULL) {
        st = put_object(u->s, u->full, u->pending.data, u->pending.len, mode);
    } else {
        st = u->pending.len > 0 ? mp_part(u) : INFINO_OK;
        if (st == INFINO_OK)
            st = mp_complete(u, mode);
        if (st != INFINO_OK) {
            /* keep the message of the failure, not of the cleanup */
            char *msg = mem_strdup(err_last());
            mp_abort(u);
            if (msg) {
                err_set(st, "%s", msg);
                mem_free(msg);
            }
        }
    }
    upload_free(u);
    return st;
}

static void upload_abort(void *payload)
{
    struct upload *u = payload;

    mp_abort(u);
    upload_free(u);
}

static const struct store_sink_hooks upload_hooks = {
    upload_write, upload_finish, upload_abort};

static infino_status s3_put_sink(struct objstore *os, const char *key,
                                 struct store_sink **out)
{
    struct s3store *s = (struct s3store *)os;
    struct upload *u = mem_calloc(1, sizeof *u);
    char *name = NULL;
    infino_status st;

    if (u == NULL)
        return err_nomem();
    atomic_fetch_add(&s->refs, 1);
    u->s = s;
    st = full_key(&u->full, s, key);
    if (st == INFINO_OK)
        st = remote_strf(&name, "s3://%s/%s", s->bucket, u->full);
    if (st != INFINO_OK) {
        upload_free(u);
        return st;
    }
    st = store_sink_open_hooks(out, name, &upload_hooks, u); /* takes u */
    mem_free(name);
    return st;
}

/* ---- opening --------------------------------------------------------- */

static void s3_close(struct objstore *os)
{
    store_unref((struct s3store *)os);
}

static const struct objstore_ops s3_ops = {
    s3_get, s3_put_sink, s3_stat, s3_list, s3_remove, s3_remove_prefix,
    s3_close, s3_exists,
};

infino_status objstore_s3_open(struct objstore **out, const char *uri,
                               const struct objstore_option *opts,
                               size_t n_opts)
{
    struct s3store *s = mem_calloc(1, sizeof *s);
    struct http_policy policy;
    infino_status st;

    *out = NULL;
    if (s == NULL)
        return err_nomem();
    atomic_init(&s->refs, 1);
    s->base.ops = &s3_ops;
    s->base.open_ranges = s3_open_ranges;
    s->base.durable = true;
    CHECK(remote_dup(&s->base.uri, uri));
    CHECK(remote_parse_uri(&s->bucket, &s->prefix, uri, 5, "bucket",
                           bucket_valid));
    CHECK(configure(s, opts, n_opts));
    /* where the objects are, whichever URI named them */
    CHECK(remote_strf(&s->base.cache_id, "s3 %s%s/%s", s->origin, s->path_root,
               s->prefix));
    http_policy_default(&policy);
    CHECK(http_client_new(&s->http, &policy, remote_env("AWS_CA_BUNDLE")));
    *out = &s->base;
    return INFINO_OK;
fail:
    store_unref(s);
    return st;
}
