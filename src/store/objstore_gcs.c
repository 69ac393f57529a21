/*
 * objstore_gcs.c - objects in a Google Cloud Storage bucket
 * (gs://BUCKET[/PREFIX], also gcs://), through the JSON API v1.
 *
 * get is a media download (alt=media) of the object's last 256 KiB (small
 * objects arrive whole; large ones become blobs read by ranges pinned to
 * the generation they were opened at: the ranged reader that the read
 * cache, cache.h, uses too), publish is a media upload, or a
 * resumable upload for objects beyond one chunk, and create-if-absent is
 * the precondition ifGenerationMatch=0 (412: the object exists). stat and
 * exists read the object's metadata, list is objects.list with page
 * tokens, delete is objects.delete. Opening touches no network (a
 * credentials file named by an option is read then).
 *
 * Authorization: an OAuth 2.0 bearer token from a service-account key (a
 * JWT signed RS256, exchanged at the key's token_uri) or from gcloud's
 * authorized-user file (a refresh token), cached until shortly before it
 * expires (oauth.h); or none (google_skip_signature, or no credentials at
 * all: public buckets and emulators).
 *
 * As on S3, a create-if-absent publish whose earlier attempt may have
 * landed and that then meets 412 reports INFINO_ERR_IO ("outcome
 * unknown"), never INFINO_ERR_EXISTS. Credentials never reach a message.
 */
#include "objstore.h"

#include "gcs_json.h"
#include "http.h"
#include "oauth.h"
#include "remote.h"

#include "util/alloc.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/random.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define OPEN_TAIL ((size_t)256 << 10)
#define MAX_ANSWER ((size_t)64 << 20)
/* Resumable uploads: chunks are multiples of 256 KiB (JSON API,
 * "Perform resumable uploads": "upload in multiple chunks"). */
#define CHUNK_UNIT ((size_t)256 << 10)
#define DEFAULT_PART_SIZE ((size_t)8 << 20)
#define MAX_HEADERS 8
#define DEFAULT_BASE "https://storage.googleapis.com"
/* devstorage.read_write: read, write and delete objects. */
#define SCOPE "https://www.googleapis.com/auth/devstorage.read_write"

struct gcsstore {
    struct objstore base;
    atomic_long refs; /* the store, each open blob and each sink */
    char *bucket;
    char *prefix; /* "" or "a/b/" */
    char *origin; /* the base URL without a trailing '/' */
    struct gcs_credentials cred;
    bool has_cred;
    struct oauth_cache oauth; /* when has_cred */
    size_t part_size;
    char list_page[12];
    struct http_client *http;
};

/* ---- configuration --------------------------------------------------- */

/* Bucket names: lower-case letters, digits, '-', '_', '.' (3-222 bytes;
 * checked loosely: GCS refuses the rest). */
static bool bucket_valid(const char *b, size_t n)
{
    if (n == 0 || n > 222)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              c == '_' || c == '.'))
            return false;
    }
    return true;
}

static infino_status read_file(char **out, const char *key, const char *path)
{
    FILE *f = fopen(path, "rb");
    struct buf b = {0};
    char chunk[4096];
    size_t n;

    *out = NULL;
    if (f == NULL)
        return err_set(INFINO_ERR_INVALID,
                       "storage option %s: cannot read '%s'", key, path);
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        if (b.len + n > ((size_t)1 << 20) ||
            buf_append(&b, chunk, n) != INFINO_OK) {
            fclose(f);
            buf_free(&b);
            return err_set(INFINO_ERR_INVALID,
                           "storage option %s: '%s' is too large", key,
                           path);
        }
    fclose(f);
    if (buf_put_u8(&b, 0) != INFINO_OK) {
        buf_free(&b);
        return err_nomem();
    }
    *out = (char *)b.data;
    return INFINO_OK;
}

/* The body of a token request (oauth.h): a fresh JWT for a service
 * account ("Using OAuth 2.0 for Server to Server Applications": claims
 * iss, scope, aud, iat, exp of at most an hour), or the refresh token of
 * an authorized user (RFC 6749 6). */
static infino_status token_body(void *payload, struct buf *body)
{
    struct gcsstore *s = payload;
    const struct gcs_credentials *c = &s->cred;
    struct buf jwt = {0}, header = {0}, claims = {0};
    time_t now = time(NULL);
    infino_status st;

    if (!c->service_account) {
        CHECK(oauth_form_add(body, "grant_type", "refresh_token"));
        CHECK(oauth_form_add(body, "client_id", c->client_id));
        CHECK(oauth_form_add(body, "client_secret", c->client_secret));
        CHECK(oauth_form_add(body, "refresh_token", c->refresh_token));
        return INFINO_OK;
    }
    /* JSON strings from the key file: escape what JSON needs */
    CHECK(buf_append_str(&header, "{\"alg\":\"RS256\",\"typ\":\"JWT\""));
    if (c->private_key_id) {
        CHECK(buf_append_str(&header, ",\"kid\":\""));
        for (const char *p = c->private_key_id; *p; p++)
            if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
                CHECK(buf_put_u8(&header, (uint8_t)*p));
        CHECK(buf_put_u8(&header, '"'));
    }
    CHECK(buf_append_str(&header, "}"));
    CHECK(buf_put_u8(&header, 0));
    CHECK(buf_append_str(&claims, "{\"iss\":\""));
    for (const char *p = c->client_email; *p; p++)
        if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
            CHECK(buf_put_u8(&claims, (uint8_t)*p));
    CHECK(buf_printf(&claims, "\",\"scope\":\"%s\",\"aud\":\"", SCOPE));
    for (const char *p = c->token_uri; *p; p++)
        if (*p != '"' && *p != '\\' && (unsigned char)*p >= 0x20)
            CHECK(buf_put_u8(&claims, (uint8_t)*p));
    CHECK(buf_printf(&claims, "\",\"iat\":%lld,\"exp\":%lld}", (long long)now,
                     (long long)now + 3600));
    CHECK(buf_put_u8(&claims, 0));
    CHECK(oauth_jwt_rs256(&jwt, c->private_key, (const char *)header.data,
                          (const char *)claims.data));
    CHECK(buf_put_u8(&jwt, 0));
    CHECK(oauth_form_add(body, "grant_type",
                         "urn:ietf:params:oauth:grant-type:jwt-bearer"));
    CHECK(oauth_form_add(body, "assertion", (const char *)jwt.data));
    st = INFINO_OK;
fail:
    buf_free(&header);
    buf_free(&claims);
    if (jwt.data)
        memset(jwt.data, 0, jwt.cap);
    buf_free(&jwt);
    return st;
}

static infino_status load_credentials(struct gcsstore *s, const char *key,
                                      const char *json)
{
    infino_status st = gcsjson_parse_credentials(&s->cred, json,
                                                 strlen(json));

    if (st != INFINO_OK)
        return err_context(st, "storage option %s", key);
    s->has_cred = true;
    return oauth_cache_init(&s->oauth, s->cred.token_uri, token_body, s);
}

static infino_status configure(struct gcsstore *s,
                               const struct objstore_option *o, size_t n)
{
    const char *sa_path = remote_option(o, n, "google_service_account");
    const char *sa_key = remote_option(o, n, "google_service_account_key");
    const char *adc = remote_option(o, n, "google_application_credentials");
    const char *skip = remote_option(o, n, "google_skip_signature");
    const char *base = remote_option(o, n, "google_base_url");
    const char *http = remote_option(o, n, "google_allow_http");
    const char *part = remote_env("INFINO_GCS_PART_SIZE");
    const char *page = remote_env("INFINO_GCS_LIST_PAGE");
    bool skip_sig = false, allow_http = false;
    struct remote_endpoint ep = {0};
    char *file = NULL;
    infino_status st;

    if (skip && (st = remote_parse_bool(&skip_sig, "google_skip_signature",
                                        skip)) != INFINO_OK)
        return st;
    if (http && (st = remote_parse_bool(&allow_http, "google_allow_http",
                                        http)) != INFINO_OK)
        return st;
    if (base == NULL) {
        /* The emulator convention of Google's client libraries: host:port
         * or a URL, plain http, anonymous. */
        const char *emu = remote_env("STORAGE_EMULATOR_HOST");
        if (emu) {
            if (strstr(emu, "://"))
                st = remote_endpoint_parse(&ep, emu, true, "");
            else {
                char *url = NULL;
                st = remote_strf(&url, "http://%s", emu);
                if (st == INFINO_OK)
                    st = remote_endpoint_parse(&ep, url, true, "");
                mem_free(url);
            }
            if (st != INFINO_OK)
                return err_context(st, "STORAGE_EMULATOR_HOST");
            if (!sa_path && !sa_key && !adc)
                skip_sig = true;
        }
    }
    if (ep.origin == NULL) {
        st = remote_endpoint_parse(&ep, base ? base : DEFAULT_BASE,
                                   allow_http, "google_allow_http");
        if (st != INFINO_OK)
            return st;
    }
    st = remote_strf(&s->origin, "%s%s", ep.origin, ep.path);
    remote_endpoint_free(&ep);
    if (st != INFINO_OK)
        return st;

    if (!skip_sig) {
        /* Precedence: an inline key, a key file, the application default
         * credentials file (option, then environment). */
        const char *key = "google_service_account_key";
        if (sa_key == NULL) {
            const char *path = sa_path ? sa_path : adc;
            key = sa_path ? "google_service_account"
                          : "google_application_credentials";
            if (path == NULL) {
                path = remote_env("GOOGLE_APPLICATION_CREDENTIALS");
                key = "GOOGLE_APPLICATION_CREDENTIALS";
            }
            if (path) {
                CHECK(read_file(&file, key, path));
                sa_key = file;
            }
        }
        if (sa_key)
            CHECK(load_credentials(s, key, sa_key));
    }
    s->part_size = DEFAULT_PART_SIZE;
    if (part) {
        char *end;
        unsigned long long v = strtoull(part, &end, 10);
        if (*end == '\0' && v >= CHUNK_UNIT && v <= ((size_t)1 << 30))
            s->part_size = (size_t)v / CHUNK_UNIT * CHUNK_UNIT;
    }
    if (page && strlen(page) < sizeof s->list_page && atoi(page) > 0)
        snprintf(s->list_page, sizeof s->list_page, "%d", atoi(page));
    st = INFINO_OK;
fail:
    remote_free_secret(file);
    return st;
}

static void store_unref(struct gcsstore *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    http_client_free(s->http);
    oauth_cache_free(&s->oauth);
    gcsjson_credentials_free(&s->cred);
    mem_free(s->bucket);
    mem_free(s->prefix);
    mem_free(s->origin);
    mem_free(s->base.uri);
    mem_free(s->base.cache_id);
    mem_free(s);
}

/* ---- requests -------------------------------------------------------- */

/* One request; every pointer borrowed for the call. */
struct gcs_op {
    const char *method;
    const char *url;
    const char *const *extra; /* header lines */
    size_t n_extra;
    const uint8_t *body; /* sent when has_body */
    size_t body_len;
    bool has_body;
    uint8_t *into;
    size_t into_len;
    const char *const *keep;
    size_t n_keep;
};

struct attempt {
    struct gcsstore *s;
    const struct gcs_op *op;
    char *token; /* owned, wiped */
    char *auth;  /* owned, wiped: "Authorization: Bearer ..." */
    bool refreshed; /* a 401 made us fetch a new token once */
    const char *hdr[MAX_HEADERS];
};

static infino_status prepare(void *payload, struct http_request *rq,
                             unsigned attempt)
{
    struct attempt *a = payload;
    const struct gcs_op *op = a->op;
    size_t n = 0;
    infino_status st;

    (void)attempt;
    if (op->n_extra + 1 > MAX_HEADERS)
        return err_set(INFINO_ERR_INVALID, "GCS: too many headers");
    for (size_t i = 0; i < op->n_extra; i++)
        a->hdr[n++] = op->extra[i];
    /* Tokens go to the configured endpoint only: a resumable session URI
     * elsewhere authenticates by itself ("the session URI acts as an
     * authentication token"). */
    if (a->s->has_cred &&
        strncmp(op->url, a->s->origin, strlen(a->s->origin)) == 0 &&
        (op->url[strlen(a->s->origin)] == '/' ||
         op->url[strlen(a->s->origin)] == '\0')) {
        remote_free_secret(a->token);
        remote_free_secret(a->auth);
        a->token = a->auth = NULL;
        st = oauth_cache_get(&a->s->oauth, a->s->http, "GCS", &a->token);
        if (st != INFINO_OK)
            return st;
        if (remote_strf(&a->auth, "Authorization: Bearer %s", a->token) !=
            INFINO_OK)
            return err_nomem();
        a->hdr[n++] = a->auth;
    }
    rq->method = op->method;
    rq->url = op->url;
    rq->headers = a->hdr;
    rq->n_headers = n;
    rq->body = op->has_body ? (op->body ? op->body : (const uint8_t *)"")
                            : NULL;
    rq->body_len = op->body_len;
    rq->into = op->into;
    rq->into_len = op->into_len;
    rq->max_body = MAX_ANSWER;
    rq->keep = op->keep;
    rq->n_keep = op->n_keep;
    return INFINO_OK;
}

static bool retryable(void *payload, const struct http_response *r)
{
    struct attempt *a = payload;

    /* An expired or revoked token: fetch a new one, once. */
    if (r->status == 401 && a->s->has_cred && !a->refreshed) {
        a->refreshed = true;
        oauth_cache_invalidate(&a->s->oauth);
        return true;
    }
    return http_status_retryable(r->status);
}

static void attempt_free(struct attempt *a)
{
    remote_free_secret(a->token);
    remote_free_secret(a->auth);
    a->token = a->auth = NULL;
}

static infino_status run(struct gcsstore *s, const struct gcs_op *op,
                         struct http_response *resp, struct http_outcome *out)
{
    struct attempt a = {.s = s, .op = op};
    struct http_call call = {prepare, retryable, &a};
    infino_status st = http_run(s->http, &call, resp, out);

    attempt_free(&a);
    return st;
}

/* One attempt, no retry (resumable uploads decide themselves). */
static infino_status send_once(struct gcsstore *s, const struct gcs_op *op,
                               struct http_response *resp, bool *maybe_sent)
{
    struct attempt a = {.s = s, .op = op};
    struct http_request rq = {0};
    infino_status st = prepare(&a, &rq, 0);

    *maybe_sent = false;
    if (st == INFINO_OK)
        st = http_send(s->http, &rq, resp, maybe_sent);
    if (st == INFINO_OK && resp->status == 401 && s->has_cred)
        oauth_cache_invalidate(&s->oauth);
    attempt_free(&a);
    return st;
}

static infino_status full_key(char **out, const struct gcsstore *s,
                              const char *key)
{
    return remote_strf(out, "%s%s", s->prefix, key);
}

/* {origin}/storage/v1/b/{bucket}/o/{object}: the object's name is one
 * path segment, '/' encoded too. */
static infino_status object_url(struct buf *url, const struct gcsstore *s,
                                const char *prefix_path, const char *full)
{
    infino_status st;

    buf_reset(url);
    CHECK(buf_printf(url, "%s%s/b/", s->origin, prefix_path));
    CHECK(remote_pct_encode(url, s->bucket, strlen(s->bucket), false));
    CHECK(buf_append_str(url, "/o"));
    if (full) {
        CHECK(buf_put_u8(url, '/'));
        CHECK(remote_pct_encode(url, full, strlen(full), false));
    }
    return INFINO_OK;
fail:
    return st;
}

static infino_status add_param(struct buf *url, const char *name,
                               const char *value)
{
    infino_status st;

    CHECK(buf_put_u8(url, memchr(url->data, '?', url->len) ? '&' : '?'));
    CHECK(buf_append_str(url, name));
    CHECK(buf_put_u8(url, '='));
    CHECK(remote_pct_encode(url, value, strlen(value), false));
    return INFINO_OK;
fail:
    return st;
}

static infino_status end_url(struct buf *url)
{
    infino_status st = buf_put_u8(url, 0);

    if (st == INFINO_OK)
        url->len--;
    return st;
}

/* The error of a request that got no usable answer: names the object
 * ("gs://bucket/key"), the operation, the HTTP status and GCS's reason. */
static infino_status fail_answer(struct gcsstore *s, const char *op,
                                 const char *full, infino_status transport,
                                 const struct http_response *r,
                                 const struct http_outcome *o)
{
    struct gcs_error e = {0};
    struct buf m = {0};
    infino_status st;

    if (transport != INFINO_OK) {
        char *cause = mem_strdup(err_last());
        st = err_set(transport == INFINO_ERR_NOMEM ? transport
                                                   : INFINO_ERR_IO,
                     "gs://%s/%s: %s: %s (%u attempt%s)", s->bucket, full, op,
                     cause ? cause : "no answer", o->attempts,
                     o->attempts == 1 ? "" : "s");
        mem_free(cause);
        return st;
    }
    if (r->status == 404)
        return err_set(INFINO_ERR_NOTFOUND, "gs://%s/%s: no such object",
                       s->bucket, full);
    if (r->body.len && gcsjson_parse_error(&e, (const char *)r->body.data,
                                           r->body.len) != INFINO_OK)
        memset(&e, 0, sizeof e);
    err_clear();
    if (buf_printf(&m, "HTTP %ld", r->status) == INFINO_OK &&
        (e.reason == NULL || buf_printf(&m, " %s", e.reason) == INFINO_OK) &&
        (e.message == NULL ||
         buf_printf(&m, ": %.300s", e.message) == INFINO_OK) &&
        buf_printf(&m, " (%u attempt%s", o->attempts,
                   o->attempts == 1 ? "" : "s") == INFINO_OK &&
        (r->request_id == NULL ||
         buf_printf(&m, ", request id %.100s", r->request_id) ==
             INFINO_OK) &&
        buf_append_str(&m, ")") == INFINO_OK &&
        ((r->status != 401 && r->status != 403) || s->has_cred ||
         buf_append_str(&m, "; no credentials were given "
                            "(google_service_account_key, "
                            "google_service_account, "
                            "google_application_credentials or "
                            "GOOGLE_APPLICATION_CREDENTIALS)") ==
             INFINO_OK) &&
        buf_put_u8(&m, 0) == INFINO_OK)
        st = err_set(INFINO_ERR_IO, "gs://%s/%s: %s: %s", s->bucket, full, op,
                     (const char *)m.data);
    else
        st = err_set(INFINO_ERR_IO, "gs://%s/%s: %s: HTTP %ld", s->bucket,
                     full, op, r->status);
    buf_free(&m);
    gcsjson_error_free(&e);
    return st;
}

/* ---- reading --------------------------------------------------------- */

/* A reader of one object by ranges (remote.h): holds a store reference.
 * Blobs of gcs_get() and the read cache use it. Its version is the
 * object's generation (x-goog-generation), which GCS never reuses for
 * other bytes of the same name. */
struct gcsranges {
    struct remote_ranges r; /* first */
    struct gcsstore *s;
};

/* A media download, pinned by asking for that generation: once it is
 * replaced or deleted the answer is 404. */
static infino_status ranges_get(struct remote_ranges *rr, const char *range,
                                const char *pin, uint8_t *into,
                                size_t into_len, struct http_response *resp,
                                struct http_outcome *o)
{
    static const char *const keep[] = {"x-goog-generation"};
    struct gcsstore *s = ((struct gcsranges *)rr)->s;
    struct buf url = {0};
    char line[96];
    const char *extra[1] = {line};
    struct gcs_op op = {.method = "GET", .extra = extra, .into = into,
                        .into_len = into_len, .keep = keep, .n_keep = 1};
    infino_status st;

    if (range) {
        snprintf(line, sizeof line, "Range: %s", range);
        op.n_extra = 1;
    }
    CHECK(object_url(&url, s, "/storage/v1", rr->full));
    CHECK(add_param(&url, "alt", "media"));
    if (pin[0])
        CHECK(add_param(&url, "generation", pin));
    CHECK(end_url(&url));
    op.url = (const char *)url.data;
    st = run(s, &op, resp, o);
fail:
    buf_free(&url);
    return st;
}

static const char *ranges_version(const struct http_response *resp)
{
    return resp->kept[0];
}

static const char *ranges_gone(const struct http_response *resp)
{
    return resp->status == 404 ? "changed or was deleted" : NULL;
}

static infino_status ranges_fail(struct remote_ranges *rr, const char *op,
                                 infino_status transport,
                                 const struct http_response *resp,
                                 const struct http_outcome *o)
{
    return fail_answer(((struct gcsranges *)rr)->s, op, rr->full, transport,
                       resp, o);
}

static void ranges_release(struct remote_ranges *rr)
{
    store_unref(((struct gcsranges *)rr)->s);
}

static const struct remote_ranges_ops gcs_ranges_ops = {
    ranges_get, ranges_version, ranges_gone, ranges_fail, ranges_release,
    true};

static infino_status gcs_open_ranges(struct objstore *os, const char *key,
                                     const char *etag,
                                     struct objstore_ranges **out)
{
    struct gcsstore *s = (struct gcsstore *)os;
    struct remote_ranges *r;
    infino_status st = remote_ranges_new(&r, sizeof(struct gcsranges),
                                         &gcs_ranges_ops, "gs", s->bucket,
                                         s->prefix, key, etag);

    *out = NULL;
    if (st != INFINO_OK)
        return st;
    atomic_fetch_add(&s->refs, 1);
    ((struct gcsranges *)r)->s = s;
    *out = &r->base;
    return INFINO_OK;
}

/* A suffix download of the last 256 KiB: small objects arrive whole,
 * larger ones become blobs read by ranges of the same generation. */
static infino_status gcs_get(struct objstore *os, const char *key,
                             struct store_blob **out)
{
    struct objstore_ranges *rg;
    infino_status st = gcs_open_ranges(os, key, NULL, &rg);

    *out = NULL;
    return st == INFINO_OK ? remote_ranges_get_blob(out, rg, OPEN_TAIL) : st;
}

/* objects.get (metadata). `quiet`: no message for any failure. */
static infino_status metadata(struct gcsstore *s, const char *key,
                              struct objstore_entry *out, bool quiet)
{
    struct http_response r = {0};
    struct http_outcome o;
    struct gcs_object obj = {0};
    struct buf url = {0};
    char *full = NULL;
    struct gcs_op op = {.method = "GET"};
    infino_status st;

    CHECK(full_key(&full, s, key));
    CHECK(object_url(&url, s, "/storage/v1", full));
    CHECK(end_url(&url));
    op.url = (const char *)url.data;
    st = run(s, &op, &r, &o);
    if (st == INFINO_OK && r.status == 200 &&
        gcsjson_parse_object(&obj, (const char *)r.body.data, r.body.len) ==
            INFINO_OK) {
        out->key = key;
        out->size = obj.size;
        out->mtime_ns = obj.mtime_ns;
    } else if (quiet) {
        st = INFINO_ERR_NOTFOUND;
    } else if (st == INFINO_OK && r.status == 200) {
        st = err_context(INFINO_ERR_IO, "gs://%s/%s: object metadata",
                         s->bucket, full);
    } else {
        st = fail_answer(s, "GET metadata", full, st, &r, &o);
    }
fail:
    gcsjson_object_free(&obj);
    buf_free(&url);
    http_response_reset(&r);
    mem_free(full);
    return st;
}

static infino_status gcs_stat(struct objstore *os, const char *key,
                              struct objstore_entry *out)
{
    return metadata((struct gcsstore *)os, key, out, false);
}

static bool gcs_exists(struct objstore *os, const char *key)
{
    struct objstore_entry e;
    char saved[1024];
    infino_status st;

    /* exists() sets no error, and must not wipe the caller's either (a
     * failing write checks the drop marker on its way out), as on S3 */
    snprintf(saved, sizeof saved, "%s", err_last());
    st = metadata((struct gcsstore *)os, key, &e, true);
    if (st != INFINO_OK)
        err_set(INFINO_OK, "%s", saved);
    return st == INFINO_OK;
}

static infino_status gcs_list(struct objstore *os, const char *prefix,
                              bool include_temps, objstore_list_fn fn,
                              void *payload)
{
    struct gcsstore *s = (struct gcsstore *)os;
    struct gcs_list_page page = {0};
    struct http_response r = {0};
    struct http_outcome o;
    struct buf url = {0};
    char *full = NULL, *token = NULL;
    size_t root = strlen(s->prefix);
    struct gcs_op op = {.method = "GET"};
    infino_status st;

    (void)include_temps; /* unfinished uploads are not objects on GCS */
    CHECK(full_key(&full, s, prefix));
    for (;;) {
        CHECK(object_url(&url, s, "/storage/v1", NULL));
        CHECK(add_param(&url, "prefix", full));
        if (s->list_page[0])
            CHECK(add_param(&url, "maxResults", s->list_page));
        if (token)
            CHECK(add_param(&url, "pageToken", token));
        CHECK(end_url(&url));
        op.url = (const char *)url.data;
        st = run(s, &op, &r, &o);
        if (st != INFINO_OK || r.status != 200) {
            st = fail_answer(s, "LIST", full, st, &r, &o);
            goto fail;
        }
        CHECK(gcsjson_parse_list(&page, (const char *)r.body.data,
                                 r.body.len));
        for (size_t i = 0; i < page.n_items; i++) {
            const struct gcs_object *it = &page.items[i];
            struct objstore_entry e;
            if (strncmp(it->name, s->prefix, root) != 0 ||
                !objstore_key_valid(it->name + root))
                continue; /* e.g. "folder/" placeholders of consoles */
            e.key = it->name + root;
            e.size = it->size;
            e.mtime_ns = it->mtime_ns;
            CHECK(fn(&e, payload));
        }
        if (page.next_token == NULL)
            break;
        mem_free(token);
        token = page.next_token;
        page.next_token = NULL;
        gcsjson_list_free(&page);
        http_response_reset(&r);
    }
    st = INFINO_OK;
fail:
    gcsjson_list_free(&page);
    http_response_reset(&r);
    buf_free(&url);
    mem_free(full);
    mem_free(token);
    return st;
}

static infino_status gcs_remove(struct objstore *os, const char *key)
{
    struct gcsstore *s = (struct gcsstore *)os;
    struct http_response r = {0};
    struct http_outcome o;
    struct buf url = {0};
    char *full = NULL;
    struct gcs_op op = {.method = "DELETE"};
    infino_status st;

    CHECK(full_key(&full, s, key));
    CHECK(object_url(&url, s, "/storage/v1", full));
    CHECK(end_url(&url));
    op.url = (const char *)url.data;
    st = run(s, &op, &r, &o);
    if (st == INFINO_OK && (r.status == 204 || r.status == 200))
        st = INFINO_OK;
    else if (st == INFINO_OK && r.status == 404 && o.maybe_applied)
        st = INFINO_OK; /* an earlier attempt deleted it */
    else
        st = fail_answer(s, "DELETE", full, st, &r, &o);
fail:
    buf_free(&url);
    http_response_reset(&r);
    mem_free(full);
    return st;
}

static infino_status gcs_remove_prefix(struct objstore *os,
                                       const char *prefix)
{
    struct remote_keys k = {0};
    infino_status st = gcs_list(os, prefix, true, remote_collect_key, &k);

    for (size_t i = 0; st == INFINO_OK && i < k.n; i++) {
        st = gcs_remove(os, k.v[i]);
        if (st == INFINO_ERR_NOTFOUND) { /* deleted meanwhile */
            err_clear();
            st = INFINO_OK;
        }
    }
    remote_keys_free(&k);
    return st;
}

/* ---- writing --------------------------------------------------------- */

/* A create-if-absent write met 412. If an earlier attempt may have landed
 * the object is perhaps ours: say so instead of "exists". */
static infino_status precondition_failed(struct gcsstore *s, const char *full,
                                         bool maybe_applied,
                                         unsigned attempts)
{
    if (maybe_applied)
        return err_set(INFINO_ERR_IO,
                       "gs://%s/%s: outcome unknown: an earlier attempt may "
                       "have created the object before it was found to "
                       "exist (%u attempts)",
                       s->bucket, full, attempts);
    return err_set(INFINO_ERR_EXISTS, "gs://%s/%s: object exists", s->bucket,
                   full);
}

/* objects.insert, uploadType=media (one request). */
static infino_status put_object(struct gcsstore *s, const char *full,
                                const uint8_t *data, size_t len,
                                enum store_publish mode)
{
    static const char *const extra[] = {
        "Content-Type: application/octet-stream"};
    struct http_response r = {0};
    struct http_outcome o;
    struct buf url = {0};
    struct gcs_op op = {.method = "POST", .extra = extra, .n_extra = 1,
                        .body = data, .body_len = len, .has_body = true};
    infino_status st;

    CHECK(object_url(&url, s, "/upload/storage/v1", NULL));
    CHECK(add_param(&url, "uploadType", "media"));
    CHECK(add_param(&url, "name", full));
    if (mode & STORE_NOREPLACE)
        CHECK(add_param(&url, "ifGenerationMatch", "0"));
    CHECK(end_url(&url));
    op.url = (const char *)url.data;
    st = run(s, &op, &r, &o);
    if (st == INFINO_OK && (r.status == 200 || r.status == 201))
        st = INFINO_OK;
    else if (st == INFINO_OK && r.status == 412 && (mode & STORE_NOREPLACE))
        st = precondition_failed(s, full, o.maybe_applied, o.attempts);
    else
        st = fail_answer(s, "PUT", full, st, &r, &o);
fail:
    buf_free(&url);
    http_response_reset(&r);
    return st;
}

/* A sink's state: bytes up to one chunk in memory; beyond, a resumable
 * upload session whose chunks go out as they fill. */
struct upload {
    struct gcsstore *s; /* holds a reference */
    char *full;         /* owned */
    struct buf pending; /* bytes from offset `sent` on */
    char *session;      /* owned: the session URI, once started */
    uint64_t sent;      /* bytes the server has */
};

static void upload_free(struct upload *u)
{
    buf_free(&u->pending);
    mem_free(u->session);
    mem_free(u->full);
    store_unref(u->s);
    mem_free(u);
}

/* Starts a resumable session. Preconditions belong to the initiating
 * request, and bytes are streamed before finish() names the mode: every
 * multi-chunk object is created if absent (ifGenerationMatch=0), which is
 * how the table layer publishes all of them. */
static infino_status session_start(struct upload *u)
{
    static const char *const keep[] = {"Location"};
    static const char *const extra[] = {
        "X-Upload-Content-Type: application/octet-stream"};
    struct http_response r = {0};
    struct http_outcome o;
    struct buf url = {0};
    struct gcs_op op = {.method = "POST", .extra = extra, .n_extra = 1,
                        .has_body = true, .keep = keep, .n_keep = 1};
    infino_status st;

    CHECK(object_url(&url, u->s, "/upload/storage/v1", NULL));
    CHECK(add_param(&url, "uploadType", "resumable"));
    CHECK(add_param(&url, "name", u->full));
    CHECK(add_param(&url, "ifGenerationMatch", "0"));
    CHECK(end_url(&url));
    op.url = (const char *)url.data;
    st = run(u->s, &op, &r, &o);
    if (st == INFINO_OK && r.status == 200 && r.kept[0] &&
        strncmp(r.kept[0], "http", 4) == 0) {
        u->session = r.kept[0];
        r.kept[0] = NULL;
    } else if (st == INFINO_OK && r.status == 200) {
        st = err_set(INFINO_ERR_IO,
                     "gs://%s/%s: starting a resumable upload: no Location",
                     u->s->bucket, u->full);
    } else if (st == INFINO_OK && r.status == 412) {
        st = precondition_failed(u->s, u->full, false, o.attempts);
    } else {
        st = fail_answer(u->s, "POST resumable", u->full, st, &r, &o);
    }
fail:
    buf_free(&url);
    http_response_reset(&r);
    return st;
}

/* The persisted size from a 308's "Range: bytes=0-N" (none: 0). */
static bool persisted_of(const struct http_response *r, uint64_t *out)
{
    const char *v = r->kept[0];
    char *end;
    unsigned long long last;

    *out = 0;
    if (v == NULL)
        return true;
    if (strncmp(v, "bytes=0-", 8) != 0)
        return false;
    last = strtoull(v + 8, &end, 10);
    if (end == v + 8 || *end != '\0')
        return false;
    *out = (uint64_t)last + 1;
    return true;
}

/* Sends `pending` as the next chunk (the last when `final`), resuming
 * after failures from what the server reports it has ("Perform resumable
 * uploads": check the status with an empty PUT and Content-Range
 * "bytes * /SIZE", then send the rest). A final chunk whose answer was
 * lost may have created the object: a later 412, or a session gone, is
 * then an unknown outcome. */
static infino_status put_chunk(struct upload *u, bool final)
{
    static const char *const keep[] = {"Range"};
    struct gcsstore *s = u->s;
    const struct http_policy *p = http_client_policy(s->http);
    uint64_t total = u->sent + u->pending.len;
    struct http_response r = {0};
    char crange[96];
    const char *extra[1] = {crange};
    struct gcs_op op = {.method = "PUT", .url = u->session, .extra = extra,
                        .n_extra = 1, .has_body = true, .keep = keep,
                        .n_keep = 1};
    struct http_outcome o = {0};
    bool query = false, maybe_sent;
    unsigned failures = 0;
    infino_status st;

    for (;;) {
        uint64_t have;
        if (final && (query || u->pending.len == 0))
            /* a status query, or the end of an upload the server has
             * every byte of */
            snprintf(crange, sizeof crange, "Content-Range: bytes */%llu",
                     (unsigned long long)total);
        else if (query)
            snprintf(crange, sizeof crange, "Content-Range: bytes */*");
        else if (final)
            snprintf(crange, sizeof crange,
                     "Content-Range: bytes %llu-%llu/%llu",
                     (unsigned long long)u->sent,
                     (unsigned long long)(total - 1),
                     (unsigned long long)total);
        else
            snprintf(crange, sizeof crange,
                     "Content-Range: bytes %llu-%llu/*",
                     (unsigned long long)u->sent,
                     (unsigned long long)(total - 1));
        op.body = query ? NULL : u->pending.data;
        op.body_len = query ? 0 : u->pending.len;
        o.attempts++;
        st = send_once(s, &op, &r, &maybe_sent);
        if (st == INFINO_ERR_NOMEM)
            goto done;
        if (st != INFINO_OK || http_status_retryable(r.status) ||
            (r.status == 401 && s->has_cred && failures == 0)) {
            if (!query && final && (st != INFINO_OK ? maybe_sent
                                                    : r.status >= 500))
                o.maybe_applied = true;
            if (++failures >= p->max_attempts) {
                st = fail_answer(s, "PUT chunk", u->full, st, &r, &o);
                goto done;
            }
            err_clear();
            clock_sleep_us(1000 * http_backoff_ms(p, failures - 1,
                                                  random_u64()));
            query = true;
            continue;
        }
        if (r.status == 200 || r.status == 201) {
            /* the upload is complete: it was this session's object */
            st = final ? INFINO_OK
                       : err_set(INFINO_ERR_IO,
                                 "gs://%s/%s: the upload completed after a "
                                 "chunk that was not the last",
                                 s->bucket, u->full);
            goto done;
        }
        if (r.status == 308) {
            if (!persisted_of(&r, &have) || have > total || have < u->sent) {
                st = err_set(INFINO_ERR_IO,
                             "gs://%s/%s: resumable upload: the server "
                             "reports %s of %llu bytes",
                             s->bucket, u->full,
                             r.kept[0] ? r.kept[0] : "no range",
                             (unsigned long long)total);
                goto done;
            }
            /* A final chunk the server does not have all of did not
             * complete the upload: a later 412 is another writer's. */
            if (query && final)
                o.maybe_applied = false;
            /* drop what the server has; send the rest, if any */
            memmove(u->pending.data, u->pending.data + (have - u->sent),
                    (size_t)(total - have));
            u->pending.len = (size_t)(total - have);
            u->sent = have;
            query = false;
            if (u->pending.len == 0 && !final) {
                st = INFINO_OK;
                goto done;
            }
            continue;
        }
        if (r.status == 412 && final) {
            st = precondition_failed(s, u->full, o.maybe_applied, o.attempts);
        } else if ((r.status == 404 || r.status == 410) && final &&
                   o.maybe_applied) {
            st = err_set(INFINO_ERR_IO,
                         "gs://%s/%s: outcome unknown: the upload session "
                         "is gone after an attempt whose answer was lost",
                         s->bucket, u->full);
        } else {
            st = fail_answer(s, query ? "PUT status" : "PUT chunk", u->full,
                             INFINO_OK, &r, &o);
        }
        goto done;
    }
done:
    http_response_reset(&r);
    return st;
}

/* Best effort: an abandoned session expires by itself (after a week). */
static void session_cancel(struct upload *u)
{
    struct http_response r = {0};
    struct gcs_op op = {.method = "DELETE", .url = u->session};
    bool maybe_sent;

    if (u->session && send_once(u->s, &op, &r, &maybe_sent) != INFINO_OK)
        err_clear();
    http_response_reset(&r);
}

static infino_status upload_write(void *payload, const void *p, size_t n)
{
    struct upload *u = payload;
    size_t part = u->s->part_size;
    infino_status st = INFINO_OK;

    while (n > 0 && st == INFINO_OK) {
        /* A full buffer goes out only when more bytes follow, so the last
         * chunk is never empty. */
        if (u->pending.len == part) {
            if (u->session == NULL)
                st = session_start(u);
            if (st == INFINO_OK)
                st = put_chunk(u, false);
            if (st != INFINO_OK)
                break;
        }
        size_t take = part - u->pending.len;
        if (take > n)
            take = n;
        st = buf_append(&u->pending, p, take);
        p = (const uint8_t *)p + take;
        n -= take;
    }
    return st;
}

static infino_status upload_finish(void *payload, enum store_publish mode)
{
    struct upload *u = payload;
    infino_status st;

    if (u->session == NULL) {
        st = put_object(u->s, u->full, u->pending.data, u->pending.len, mode);
    } else {
        st = put_chunk(u, true);
        if (st == INFINO_ERR_EXISTS && !(mode & STORE_NOREPLACE))
            st = err_set(INFINO_ERR_IO,
                         "gs://%s/%s: replacing an existing object larger "
                         "than one chunk is not supported",
                         u->s->bucket, u->full);
    }
    upload_free(u);
    return st;
}

static void upload_abort(void *payload)
{
    struct upload *u = payload;

    session_cancel(u);
    upload_free(u);
}

static const struct store_sink_hooks upload_hooks = {
    upload_write, upload_finish, upload_abort};

static infino_status gcs_put_sink(struct objstore *os, const char *key,
                                  struct store_sink **out)
{
    struct gcsstore *s = (struct gcsstore *)os;
    struct upload *u = mem_calloc(1, sizeof *u);
    char *name = NULL;
    infino_status st;

    if (u == NULL)
        return err_nomem();
    atomic_fetch_add(&s->refs, 1);
    u->s = s;
    st = full_key(&u->full, s, key);
    if (st == INFINO_OK)
        st = remote_strf(&name, "gs://%s/%s", s->bucket, u->full);
    if (st != INFINO_OK) {
        upload_free(u);
        return st;
    }
    st = store_sink_open_hooks(out, name, &upload_hooks, u); /* takes u */
    mem_free(name);
    return st;
}

/* ---- opening --------------------------------------------------------- */

static void gcs_close(struct objstore *os)
{
    store_unref((struct gcsstore *)os);
}

static const struct objstore_ops gcs_ops = {
    gcs_get, gcs_put_sink, gcs_stat, gcs_list, gcs_remove, gcs_remove_prefix,
    gcs_close, gcs_exists,
};

infino_status objstore_gcs_open(struct objstore **out, const char *uri,
                                const struct objstore_option *opts,
                                size_t n_opts)
{
    struct gcsstore *s = mem_calloc(1, sizeof *s);
    struct http_policy policy;
    size_t scheme = strncmp(uri, "gcs://", 6) == 0 ? 6 : 5;
    infino_status st;

    *out = NULL;
    if (s == NULL)
        return err_nomem();
    atomic_init(&s->refs, 1);
    s->base.ops = &gcs_ops;
    s->base.open_ranges = gcs_open_ranges;
    s->base.durable = true;
    CHECK(remote_dup(&s->base.uri, uri));
    CHECK(remote_parse_uri(&s->bucket, &s->prefix, uri, scheme, "bucket",
                           bucket_valid));
    CHECK(configure(s, opts, n_opts));
    /* where the objects are, whichever URI (gs:// or gcs://) named them */
    CHECK(remote_strf(&s->base.cache_id, "gs %s/b/%s/o/%s", s->origin,
                      s->bucket, s->prefix));
    http_policy_default(&policy);
    CHECK(http_client_new(&s->http, &policy, NULL));
    *out = &s->base;
    return INFINO_OK;
fail:
    store_unref(s);
    return st;
}
