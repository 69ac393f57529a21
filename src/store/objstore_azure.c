/*
 * objstore_azure.c - objects in an Azure Blob Storage container
 * (az://CONTAINER[/PREFIX], also azure://), through the Blob service REST
 * API.
 *
 * get is Get Blob of the first 256 KiB (x-ms-range; small blobs arrive
 * whole; a large one's last 256 KiB follow, and it becomes a blob read by
 * ranges pinned with If-Match to the ETag its head had: the ranged
 * reader that the read cache, cache.h, uses too), publish is Put Blob, or
 * Put Block for each block and Put Block List for blobs beyond one block,
 * and create-if-absent is `If-None-Match: *` on Put Blob or on Put Block
 * List (409 BlobAlreadyExists or 412: the blob exists). stat and exists
 * are Get Blob Properties, list is List Blobs with markers, delete is
 * Delete Blob. Opening touches no network.
 *
 * Authorization: Shared Key (az_sign.h) with the account key, a SAS token
 * appended to every URL, an OAuth 2.0 token from the client-credentials
 * flow of a service principal (oauth.h), or none (public containers).
 * azure_storage_use_emulator targets Azurite with its well-known account.
 *
 * As on S3, a create-if-absent publish whose earlier attempt may have
 * landed and that then meets "exists" reports INFINO_ERR_IO ("outcome
 * unknown"), never INFINO_ERR_EXISTS. Credentials never reach a message.
 */
#include "objstore.h"

#include "az_sign.h"
#include "az_xml.h"
#include "http.h"
#include "oauth.h"
#include "remote.h"

#include "util/alloc.h"
#include "util/base64.h"
#include "util/buf.h"
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
#define DEFAULT_BLOCK_SIZE ((size_t)8 << 20)
#define MIN_BLOCK_SIZE ((size_t)64 << 10) /* tests only */
#define MAX_HEADERS 12
/* Any version since 2017-11-09 takes OAuth tokens; this one is served by
 * Azure and by Azurite alike. */
#define API_VERSION "2021-08-06"
/* Azurite's fixed account and key, published by Microsoft ("Use the
 * Azurite emulator": well-known storage account and key). */
#define EMULATOR_ACCOUNT "devstoreaccount1"
#define EMULATOR_KEY                                                           \
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPT" \
    "Otr/KBHBeksoGMGw=="
#define EMULATOR_URL "http://127.0.0.1:10000"
#define AUTHORITY "https://login.microsoftonline.com"
#define SCOPE "https://storage.azure.com/.default"

enum auth { AUTH_NONE, AUTH_SHARED_KEY, AUTH_SAS, AUTH_OAUTH };

struct azstore {
    struct objstore base;
    atomic_long refs; /* the store, each open blob and each sink */
    char *container;
    char *prefix;  /* "" or "a/b/" */
    char *account; /* owned or NULL */
    char *origin;  /* "https://host[:port]" */
    char *root;    /* "" or the endpoint's path ("/devstoreaccount1") */
    enum auth auth;
    char *key;     /* owned secret: AUTH_SHARED_KEY */
    char *sas;     /* owned secret: AUTH_SAS, without a leading '?' */
    char *client_id, *client_secret; /* owned secrets: AUTH_OAUTH */
    struct oauth_cache oauth;
    size_t block_size;
    char list_page[12];
    struct http_client *http;
};

/* ---- configuration --------------------------------------------------- */

/* Container names: lower-case letters, digits and '-' (3-63; checked
 * loosely, Azure refuses the rest). "$root" and "$web" are special. */
static bool container_valid(const char *b, size_t n)
{
    if (n == 0 || n > 63)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = b[i];
        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
              (c == '$' && i == 0)))
            return false;
    }
    return true;
}

static bool account_valid(const char *a)
{
    size_t n = strlen(a);

    if (n == 0 || n > 64)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((a[i] >= 'a' && a[i] <= 'z') || (a[i] >= '0' && a[i] <= '9')))
            return false;
    return true;
}

/* RFC 6749 4.4 with Microsoft identity platform's v2.0 endpoint: client
 * id, secret and the storage scope. */
static infino_status token_body(void *payload, struct buf *body)
{
    struct azstore *s = payload;
    infino_status st;

    CHECK(oauth_form_add(body, "grant_type", "client_credentials"));
    CHECK(oauth_form_add(body, "client_id", s->client_id));
    CHECK(oauth_form_add(body, "client_secret", s->client_secret));
    CHECK(oauth_form_add(body, "scope", SCOPE));
    return INFINO_OK;
fail:
    return st;
}

static infino_status configure(struct azstore *s,
                               const struct objstore_option *o, size_t n)
{
    const char *account = remote_option(o, n, "azure_storage_account_name");
    const char *key = remote_option(o, n, "azure_storage_account_key");
    const char *sas = remote_option(o, n, "azure_storage_sas_key");
    const char *cid = remote_option(o, n, "azure_storage_client_id");
    const char *csecret = remote_option(o, n, "azure_storage_client_secret");
    const char *tenant = remote_option(o, n, "azure_storage_tenant_id");
    const char *authority =
        remote_option(o, n, "azure_storage_authority_host");
    const char *ep = remote_option(o, n, "azure_storage_endpoint");
    const char *emu = remote_option(o, n, "azure_storage_use_emulator");
    const char *http = remote_option(o, n, "azure_allow_http");
    const char *block = remote_env("INFINO_AZURE_BLOCK_SIZE");
    const char *page = remote_env("INFINO_AZURE_LIST_PAGE");
    bool use_emu = false, allow_http = false;
    struct remote_endpoint e = {0};
    char *url = NULL;
    infino_status st;

    if (ep == NULL)
        ep = remote_option(o, n, "azure_endpoint");
    if (emu == NULL)
        emu = remote_env("AZURE_STORAGE_USE_EMULATOR");
    if (emu && (st = remote_parse_bool(&use_emu, "azure_storage_use_emulator",
                                       emu)) != INFINO_OK)
        return st;
    if (http && (st = remote_parse_bool(&allow_http, "azure_allow_http",
                                        http)) != INFINO_OK)
        return st;
    if (account == NULL)
        account = remote_env("AZURE_STORAGE_ACCOUNT_NAME");
    if (account == NULL)
        account = remote_env("AZURE_STORAGE_ACCOUNT");
    if (account == NULL && use_emu)
        account = EMULATOR_ACCOUNT;
    /* Credentials from options, else all from the environment. */
    if (!key && !sas && !cid && !csecret && !tenant) {
        key = remote_env("AZURE_STORAGE_ACCOUNT_KEY");
        if (key == NULL)
            key = remote_env("AZURE_STORAGE_KEY");
        sas = remote_env("AZURE_STORAGE_SAS_KEY");
        if (sas == NULL)
            sas = remote_env("AZURE_STORAGE_SAS_TOKEN");
        cid = remote_env("AZURE_CLIENT_ID");
        csecret = remote_env("AZURE_CLIENT_SECRET");
        tenant = remote_env("AZURE_TENANT_ID");
        if (!(cid && csecret && tenant))
            cid = csecret = tenant = NULL;
        if (!key && !sas && !cid && use_emu)
            key = EMULATOR_KEY;
    }
    if (account && !account_valid(account))
        return err_set(INFINO_ERR_INVALID,
                       "azure_storage_account_name must be 1-64 lower-case "
                       "letters and digits");
    if (key) {
        struct buf probe = {0};
        bool ok = base64_decode(&probe, key, strlen(key)) == INFINO_OK &&
                  probe.len > 0;
        if (probe.data)
            memset(probe.data, 0, probe.cap);
        buf_free(&probe);
        err_clear();
        if (!ok)
            return err_set(INFINO_ERR_INVALID,
                           "azure_storage_account_key is not base64");
        if (account == NULL)
            return err_set(INFINO_ERR_INVALID,
                           "azure_storage_account_key needs "
                           "azure_storage_account_name");
        s->auth = AUTH_SHARED_KEY;
        CHECK(remote_dup(&s->key, key));
    } else if (sas) {
        s->auth = AUTH_SAS;
        CHECK(remote_dup(&s->sas, sas[0] == '?' ? sas + 1 : sas));
    } else if (cid || csecret || tenant) {
        if (!cid || !csecret || !tenant)
            return err_set(INFINO_ERR_INVALID,
                           "the client-credentials flow needs %s",
                           !cid       ? "azure_storage_client_id"
                           : !csecret ? "azure_storage_client_secret"
                                      : "azure_storage_tenant_id");
        for (const char *p = tenant; *p; p++)
            if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
                  (*p >= '0' && *p <= '9') || *p == '-' || *p == '.'))
                return err_set(INFINO_ERR_INVALID,
                               "azure_storage_tenant_id: not a tenant id or "
                               "domain");
        if (authority == NULL)
            authority = remote_env("AZURE_AUTHORITY_HOST");
        s->auth = AUTH_OAUTH;
        CHECK(remote_dup(&s->client_id, cid));
        CHECK(remote_dup(&s->client_secret, csecret));
        {
            struct remote_endpoint a = {0};
            CHECK(remote_endpoint_parse(&a, authority ? authority : AUTHORITY,
                                        allow_http || use_emu,
                                        "azure_allow_http"));
            st = remote_strf(&url, "%s%s/%s/oauth2/v2.0/token", a.origin,
                             a.path, tenant);
            remote_endpoint_free(&a);
            CHECK(st);
        }
        CHECK(oauth_cache_init(&s->oauth, url, token_body, s));
    }

    if (ep == NULL && use_emu) {
        const char *base = remote_env("AZURITE_BLOB_STORAGE_URL");
        size_t bl;
        if (base == NULL)
            base = EMULATOR_URL;
        bl = strlen(base);
        while (bl > 0 && base[bl - 1] == '/')
            bl--;
        CHECK(remote_strf(&url, "%.*s/%s", (int)bl, base, account));
        ep = url;
    }
    if (ep) {
        CHECK(remote_endpoint_parse(&e, ep, allow_http || use_emu,
                                    "azure_allow_http"));
        s->origin = e.origin;
        s->root = e.path;
        e.origin = e.path = NULL;
    } else {
        if (account == NULL)
            return err_set(INFINO_ERR_INVALID,
                           "az:// needs azure_storage_account_name (or "
                           "azure_storage_endpoint, or "
                           "azure_storage_use_emulator)");
        CHECK(remote_strf(&s->origin, "https://%s.blob.core.windows.net",
                          account));
        CHECK(remote_dup(&s->root, ""));
    }
    if (s->auth == AUTH_SHARED_KEY && account == NULL)
        return err_set(INFINO_ERR_INVALID, "Shared Key authorization needs "
                                           "azure_storage_account_name");
    CHECK(remote_dup(&s->account, account));
    s->block_size = DEFAULT_BLOCK_SIZE;
    if (block) {
        char *end;
        unsigned long long v = strtoull(block, &end, 10);
        if (*end == '\0' && v >= MIN_BLOCK_SIZE && v <= ((size_t)1 << 30))
            s->block_size = (size_t)v;
    }
    if (page && strlen(page) < sizeof s->list_page && atoi(page) > 0)
        snprintf(s->list_page, sizeof s->list_page, "%d", atoi(page));
    st = INFINO_OK;
fail:
    remote_endpoint_free(&e);
    mem_free(url);
    return st;
}

static void store_unref(struct azstore *s)
{
    if (atomic_fetch_sub(&s->refs, 1) != 1)
        return;
    http_client_free(s->http);
    oauth_cache_free(&s->oauth);
    mem_free(s->container);
    mem_free(s->prefix);
    mem_free(s->account);
    mem_free(s->origin);
    mem_free(s->root);
    remote_free_secret(s->key);
    remote_free_secret(s->sas);
    remote_free_secret(s->client_id);
    remote_free_secret(s->client_secret);
    mem_free(s->base.uri);
    mem_free(s->base.cache_id);
    mem_free(s);
}

/* ---- requests -------------------------------------------------------- */

/* One request; every pointer borrowed for the call. */
struct az_op {
    const char *method;
    const char *blob; /* full name (prefix included); NULL: the container */
    const struct az_kv *query; /* decoded */
    size_t n_query;
    const struct az_kv *extra; /* more headers (signed when standard or
                                  x-ms-) */
    size_t n_extra;
    const uint8_t *body; /* sent when has_body */
    size_t body_len;
    bool has_body;
    uint8_t *into;
    size_t into_len;
};

/* Every request keeps Azure's error code header. */
static const char *const keep_code[] = {"x-ms-error-code"};

struct attempt {
    struct azstore *s;
    const struct az_op *op;
    struct buf url, path, lines, auth;
    char *token; /* owned, wiped */
    bool refreshed;
    const char *hdr[MAX_HEADERS];
};

static infino_status add_line(struct buf *lines, size_t *offs, size_t *n,
                              const char *name, const char *value)
{
    offs[(*n)++] = lines->len;
    return buf_printf(lines, "%s: %s%c", name, value, 0);
}

/* RFC 1123 date of now, as x-ms-date wants it. */
static void http_date(char out[32])
{
    time_t now = time(NULL);
    struct tm tm;

    gmtime_r(&now, &tm);
    strftime(out, 32, "%a, %d %b %Y %H:%M:%S GMT", &tm);
}

static infino_status prepare(void *payload, struct http_request *rq,
                             unsigned attempt)
{
    struct attempt *a = payload;
    struct azstore *s = a->s;
    const struct az_op *op = a->op;
    struct az_kv h[MAX_HEADERS];
    size_t offs[MAX_HEADERS], n_lines = 0, nh = 0;
    char date[32];
    infino_status st;

    (void)attempt;
    if (op->n_extra + 3 > MAX_HEADERS)
        return err_set(INFINO_ERR_INVALID, "Azure: too many headers");
    buf_reset(&a->url);
    buf_reset(&a->path);
    buf_reset(&a->lines);
    if (a->auth.data)
        memset(a->auth.data, 0, a->auth.cap);
    buf_reset(&a->auth);
    /* The path as sent and as signed: percent-encoded, '/' kept. */
    CHECK(buf_append_str(&a->path, s->root));
    CHECK(buf_put_u8(&a->path, '/'));
    CHECK(remote_pct_encode(&a->path, s->container, strlen(s->container),
                            false));
    if (op->blob) {
        CHECK(buf_put_u8(&a->path, '/'));
        CHECK(remote_pct_encode(&a->path, op->blob, strlen(op->blob), true));
    }
    CHECK(buf_put_u8(&a->path, 0));
    CHECK(buf_append_str(&a->url, s->origin));
    CHECK(buf_append_str(&a->url, (const char *)a->path.data));
    for (size_t i = 0; i < op->n_query; i++) {
        const char *v = op->query[i].value ? op->query[i].value : "";
        CHECK(buf_put_u8(&a->url, i ? '&' : '?'));
        CHECK(remote_pct_encode(&a->url, op->query[i].name,
                                strlen(op->query[i].name), false));
        CHECK(buf_put_u8(&a->url, '='));
        CHECK(remote_pct_encode(&a->url, v, strlen(v), false));
    }
    if (s->auth == AUTH_SAS) {
        CHECK(buf_put_u8(&a->url, op->n_query ? '&' : '?'));
        CHECK(buf_append_str(&a->url, s->sas));
    }
    CHECK(buf_put_u8(&a->url, 0));

    http_date(date);
    h[nh++] = (struct az_kv){"x-ms-date", date};
    h[nh++] = (struct az_kv){"x-ms-version", API_VERSION};
    for (size_t i = 0; i < op->n_extra; i++)
        h[nh++] = op->extra[i];
    for (size_t i = 0; i < nh; i++)
        CHECK(add_line(&a->lines, offs, &n_lines, h[i].name, h[i].value));
    if (s->auth == AUTH_SHARED_KEY) {
        struct az_sign_input in = {
            .method = op->method,
            .account = s->account,
            .path = (const char *)a->path.data,
            .query = op->query,
            .n_query = op->n_query,
            .headers = h,
            .n_headers = nh,
            .content_length = op->has_body ? op->body_len : 0,
        };
        CHECK(az_shared_key(&a->auth, &in, s->key));
    } else if (s->auth == AUTH_OAUTH) {
        remote_free_secret(a->token);
        a->token = NULL;
        CHECK(oauth_cache_get(&s->oauth, s->http, "Azure", &a->token));
        CHECK(buf_printf(&a->auth, "Bearer %s", a->token));
    }
    if (a->auth.len) {
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
    rq->max_body = MAX_ANSWER;
    rq->keep = keep_code;
    rq->n_keep = 1;
    return INFINO_OK;
fail:
    return st;
}

static bool retryable(void *payload, const struct http_response *r)
{
    struct attempt *a = payload;

    /* An expired token: fetch a new one, once. */
    if (r->status == 401 && a->s->auth == AUTH_OAUTH && !a->refreshed) {
        a->refreshed = true;
        oauth_cache_invalidate(&a->s->oauth);
        return true;
    }
    /* "ServerBusy" and "OperationTimedOut" come as 503 and 500 */
    return http_status_retryable(r->status);
}

static infino_status run(struct azstore *s, const struct az_op *op,
                         struct http_response *resp, struct http_outcome *out)
{
    struct attempt a = {.s = s, .op = op};
    struct http_call call = {prepare, retryable, &a};
    infino_status st = http_run(s->http, &call, resp, out);

    buf_free(&a.url);
    buf_free(&a.path);
    buf_free(&a.lines);
    if (a.auth.data)
        memset(a.auth.data, 0, a.auth.cap);
    buf_free(&a.auth);
    remote_free_secret(a.token);
    return st;
}

static infino_status full_key(char **out, const struct azstore *s,
                              const char *key)
{
    return remote_strf(out, "%s%s", s->prefix, key);
}

/* Azure's error code: the x-ms-error-code header, else the body's Code.
 * Owned or NULL; *message (owned or NULL) from the body. */
static char *error_code(const struct http_response *r, char **message)
{
    struct az_error e = {0};
    char *code = NULL;

    if (message)
        *message = NULL;
    if (r->body.len &&
        azxml_parse_error(&e, (const char *)r->body.data, r->body.len) ==
            INFINO_OK) {
        code = e.code;
        e.code = NULL;
        if (message) {
            *message = e.message;
            e.message = NULL;
        }
    }
    err_clear();
    azxml_error_free(&e);
    if (r->kept[0]) {
        mem_free(code);
        code = mem_strdup(r->kept[0]);
    }
    return code;
}

/* The error of a request that got no usable answer: names the object
 * ("az://container/blob"), the operation, the HTTP status and Azure's
 * error code and message. */
static infino_status fail_answer(struct azstore *s, const char *op,
                                 const char *full, infino_status transport,
                                 const struct http_response *r,
                                 const struct http_outcome *o)
{
    char *code = NULL, *message = NULL;
    struct buf m = {0};
    infino_status st;

    if (transport != INFINO_OK) {
        char *cause = mem_strdup(err_last());
        st = err_set(transport == INFINO_ERR_NOMEM ? transport
                                                   : INFINO_ERR_IO,
                     "az://%s/%s: %s: %s (%u attempt%s)", s->container, full,
                     op, cause ? cause : "no answer", o->attempts,
                     o->attempts == 1 ? "" : "s");
        mem_free(cause);
        return st;
    }
    code = error_code(r, &message);
    if (r->status == 404 &&
        (code == NULL || strcmp(code, "BlobNotFound") == 0)) {
        st = err_set(INFINO_ERR_NOTFOUND, "az://%s/%s: no such object",
                     s->container, full);
        goto done;
    }
    if (buf_printf(&m, "HTTP %ld", r->status) == INFINO_OK &&
        (code == NULL || buf_printf(&m, " %.100s", code) == INFINO_OK) &&
        (message == NULL ||
         buf_printf(&m, ": %.300s", message) == INFINO_OK) &&
        buf_printf(&m, " (%u attempt%s", o->attempts,
                   o->attempts == 1 ? "" : "s") == INFINO_OK &&
        (r->request_id == NULL ||
         buf_printf(&m, ", request id %.100s", r->request_id) ==
             INFINO_OK) &&
        buf_append_str(&m, ")") == INFINO_OK &&
        ((r->status != 401 && r->status != 403) || s->auth != AUTH_NONE ||
         buf_append_str(&m, "; no credentials were given "
                            "(azure_storage_account_key, "
                            "azure_storage_sas_key, the client credentials, "
                            "or the AZURE_* environment)") == INFINO_OK) &&
        buf_put_u8(&m, 0) == INFINO_OK)
        st = err_set(INFINO_ERR_IO, "az://%s/%s: %s: %s", s->container, full,
                     op, (const char *)m.data);
    else
        st = err_set(INFINO_ERR_IO, "az://%s/%s: %s: HTTP %ld", s->container,
                     full, op, r->status);
done:
    buf_free(&m);
    mem_free(code);
    mem_free(message);
    return st;
}

/* ---- reading --------------------------------------------------------- */

/* A reader of one blob by ranges (remote.h): holds a store reference.
 * Blobs of az_get() and the read cache use it. */
struct azranges {
    struct remote_ranges r; /* first */
    struct azstore *s;
};

/* Get Blob, pinned by If-Match: another version answers 412. */
static infino_status ranges_get(struct remote_ranges *rr, const char *range,
                                const char *pin, uint8_t *into,
                                size_t into_len, struct http_response *resp,
                                struct http_outcome *o)
{
    struct az_kv extra[2];
    struct az_op op = {.method = "GET",
                       .blob = rr->full,
                       .extra = extra,
                       .into = into,
                       .into_len = into_len};

    if (range)
        extra[op.n_extra++] = (struct az_kv){"x-ms-range", range};
    if (pin[0])
        extra[op.n_extra++] = (struct az_kv){"If-Match", pin};
    return run(((struct azranges *)rr)->s, &op, resp, o);
}

static infino_status ranges_fail(struct remote_ranges *rr, const char *op,
                                 infino_status transport,
                                 const struct http_response *resp,
                                 const struct http_outcome *o)
{
    return fail_answer(((struct azranges *)rr)->s, op, rr->full, transport,
                       resp, o);
}

static void ranges_release(struct remote_ranges *rr)
{
    store_unref(((struct azranges *)rr)->s);
}

/* Get Blob takes no suffix range ("Specifying the range header for Blob
 * service operations": bytes=start- or bytes=start-end): a tail is read
 * after the head told the size, and a small blob is all in its head. */
static const struct remote_ranges_ops az_ranges_ops = {
    ranges_get, remote_version_etag, remote_gone_if_match, ranges_fail,
    ranges_release, false};

static infino_status az_open_ranges(struct objstore *os, const char *key,
                                    const char *etag,
                                    struct objstore_ranges **out)
{
    struct azstore *s = (struct azstore *)os;
    struct remote_ranges *r;
    infino_status st = remote_ranges_new(&r, sizeof(struct azranges),
                                         &az_ranges_ops, "az", s->container,
                                         s->prefix, key, etag);

    *out = NULL;
    if (st != INFINO_OK)
        return st;
    atomic_fetch_add(&s->refs, 1);
    ((struct azranges *)r)->s = s;
    *out = &r->base;
    return INFINO_OK;
}

/* Blobs up to 256 KiB arrive whole in one request; larger ones become
 * blobs read by ranges pinned to the ETag, holding their last 256 KiB. */
static infino_status az_get(struct objstore *os, const char *key,
                            struct store_blob **out)
{
    struct objstore_ranges *rg;
    infino_status st = az_open_ranges(os, key, NULL, &rg);

    *out = NULL;
    return st == INFINO_OK ? remote_ranges_get_blob(out, rg, OPEN_TAIL) : st;
}

static infino_status head(struct azstore *s, const char *key,
                          struct objstore_entry *out, bool quiet)
{
    struct http_response r = {0};
    struct http_outcome o;
    char *full = NULL;
    struct az_op op = {.method = "HEAD"};
    infino_status st;

    CHECK(full_key(&full, s, key));
    op.blob = full;
    st = run(s, &op, &r, &o);
    if (st == INFINO_OK && r.status == 200 && r.has_length) {
        out->key = key;
        out->size = r.content_length;
        out->mtime_ns = r.last_modified_ns > 0 ? r.last_modified_ns : 0;
    } else if (quiet) {
        st = INFINO_ERR_NOTFOUND;
    } else if (st == INFINO_OK && r.status == 200) {
        st = err_set(INFINO_ERR_IO, "az://%s/%s: HEAD: no Content-Length",
                     s->container, full);
    } else {
        st = fail_answer(s, "HEAD", full, st, &r, &o);
    }
fail:
    http_response_reset(&r);
    mem_free(full);
    return st;
}

static infino_status az_stat(struct objstore *os, const char *key,
                             struct objstore_entry *out)
{
    return head((struct azstore *)os, key, out, false);
}

static bool az_exists(struct objstore *os, const char *key)
{
    struct objstore_entry e;
    char saved[1024];
    infino_status st;

    /* exists() sets no error, and must not wipe the caller's either (a
     * failing write checks the drop marker on its way out), as on S3 */
    snprintf(saved, sizeof saved, "%s", err_last());
    st = head((struct azstore *)os, key, &e, true);
    if (st != INFINO_OK)
        err_set(INFINO_OK, "%s", saved);
    return st == INFINO_OK;
}

static infino_status az_list(struct objstore *os, const char *prefix,
                             bool include_temps, objstore_list_fn fn,
                             void *payload)
{
    struct azstore *s = (struct azstore *)os;
    struct az_list_page page = {0};
    struct http_response r = {0};
    struct http_outcome o;
    char *full = NULL, *marker = NULL;
    size_t root = strlen(s->prefix);
    infino_status st;

    (void)include_temps; /* uncommitted blocks are not blobs */
    CHECK(full_key(&full, s, prefix));
    for (;;) {
        struct az_kv q[5] = {
            {"restype", "container"}, {"comp", "list"}, {"prefix", full}};
        struct az_op op = {.method = "GET", .query = q, .n_query = 3};
        if (s->list_page[0])
            q[op.n_query++] = (struct az_kv){"maxresults", s->list_page};
        if (marker)
            q[op.n_query++] = (struct az_kv){"marker", marker};
        st = run(s, &op, &r, &o);
        if (st != INFINO_OK || r.status != 200) {
            st = fail_answer(s, "LIST", full, st, &r, &o);
            goto fail;
        }
        CHECK(azxml_parse_list(&page, (const char *)r.body.data, r.body.len));
        for (size_t i = 0; i < page.n_items; i++) {
            const struct az_list_entry *it = &page.items[i];
            struct objstore_entry e;
            if (strncmp(it->name, s->prefix, root) != 0 ||
                !objstore_key_valid(it->name + root))
                continue;
            e.key = it->name + root;
            e.size = it->size;
            e.mtime_ns = it->mtime_ns;
            CHECK(fn(&e, payload));
        }
        if (page.next_marker == NULL)
            break;
        mem_free(marker);
        marker = page.next_marker;
        page.next_marker = NULL;
        azxml_list_free(&page);
        http_response_reset(&r);
    }
    st = INFINO_OK;
fail:
    azxml_list_free(&page);
    http_response_reset(&r);
    mem_free(full);
    mem_free(marker);
    return st;
}

static infino_status az_remove(struct objstore *os, const char *key)
{
    struct azstore *s = (struct azstore *)os;
    struct http_response r = {0};
    struct http_outcome o;
    char *full = NULL;
    struct az_op op = {.method = "DELETE"};
    infino_status st;

    CHECK(full_key(&full, s, key));
    op.blob = full;
    st = run(s, &op, &r, &o);
    if (st == INFINO_OK && (r.status == 202 || r.status == 200))
        st = INFINO_OK;
    else if (st == INFINO_OK && r.status == 404 && o.maybe_applied)
        st = INFINO_OK; /* an earlier attempt deleted it */
    else
        st = fail_answer(s, "DELETE", full, st, &r, &o);
fail:
    http_response_reset(&r);
    mem_free(full);
    return st;
}

static infino_status az_remove_prefix(struct objstore *os, const char *prefix)
{
    struct remote_keys k = {0};
    infino_status st = az_list(os, prefix, true, remote_collect_key, &k);

    for (size_t i = 0; st == INFINO_OK && i < k.n; i++) {
        st = az_remove(os, k.v[i]);
        if (st == INFINO_ERR_NOTFOUND) { /* deleted meanwhile */
            err_clear();
            st = INFINO_OK;
        }
    }
    remote_keys_free(&k);
    return st;
}

/* ---- writing --------------------------------------------------------- */

/* The answer of a create-if-absent write when the blob exists: 409
 * BlobAlreadyExists ("Specifying conditional headers for Blob service
 * operations": If-None-Match: * on a write), or 412 from some servers. */
static bool says_exists(const struct http_response *r)
{
    char *code;
    bool yes;

    if (r->status == 412)
        return true;
    if (r->status != 409)
        return false;
    code = error_code(r, NULL);
    yes = code && strcmp(code, "BlobAlreadyExists") == 0;
    mem_free(code);
    return yes;
}

static infino_status precondition_failed(struct azstore *s, const char *full,
                                         const struct http_outcome *o)
{
    if (o->maybe_applied)
        return err_set(INFINO_ERR_IO,
                       "az://%s/%s: outcome unknown: an earlier attempt may "
                       "have created the object before it was found to "
                       "exist (%u attempts)",
                       s->container, full, o->attempts);
    return err_set(INFINO_ERR_EXISTS, "az://%s/%s: object exists",
                   s->container, full);
}

static infino_status put_blob(struct azstore *s, const char *full,
                              const uint8_t *data, size_t len,
                              enum store_publish mode)
{
    struct http_response r = {0};
    struct http_outcome o;
    struct az_kv extra[2] = {{"x-ms-blob-type", "BlockBlob"},
                             {"If-None-Match", "*"}};
    struct az_op op = {.method = "PUT",
                       .blob = full,
                       .extra = extra,
                       .n_extra = (mode & STORE_NOREPLACE) ? 2 : 1,
                       .body = data,
                       .body_len = len,
                       .has_body = true};
    infino_status st = run(s, &op, &r, &o);

    if (st == INFINO_OK && r.status == 201)
        st = INFINO_OK;
    else if (st == INFINO_OK && (mode & STORE_NOREPLACE) && says_exists(&r))
        st = precondition_failed(s, full, &o);
    else
        st = fail_answer(s, "PUT", full, st, &r, &o);
    http_response_reset(&r);
    return st;
}

/* A sink's state: bytes up to one block in memory; beyond, blocks staged
 * with Put Block as they fill, committed by Put Block List. */
struct upload {
    struct azstore *s; /* holds a reference */
    char *full;        /* owned */
    struct buf pending;
    char tag[17];     /* random per upload: block ids of concurrent
                         writers of one name never collide */
    struct buf ids;   /* the base64 block ids, NUL-separated */
    size_t n_blocks;
};

static void upload_free(struct upload *u)
{
    buf_free(&u->pending);
    buf_free(&u->ids);
    mem_free(u->full);
    store_unref(u->s);
    mem_free(u);
}

/* Put Block: ids are base64 of equal-length strings ("Put Block": "all
 * block IDs within a blob must be the same length"). */
static infino_status put_block(struct upload *u)
{
    struct http_response r = {0};
    struct http_outcome o;
    char raw[40];
    struct buf id = {0};
    infino_status st;

    snprintf(raw, sizeof raw, "infino-%s-%08zu", u->tag, u->n_blocks);
    CHECK(base64_encode(&id, raw, strlen(raw)));
    CHECK(buf_put_u8(&id, 0));
    {
        struct az_kv q[2] = {{"comp", "block"},
                             {"blockid", (const char *)id.data}};
        struct az_op op = {.method = "PUT",
                           .blob = u->full,
                           .query = q,
                           .n_query = 2,
                           .body = u->pending.data,
                           .body_len = u->pending.len,
                           .has_body = true};
        /* a block sent twice is the same block: retries are harmless */
        st = run(u->s, &op, &r, &o);
    }
    if (st == INFINO_OK && r.status == 201) {
        CHECK(buf_append(&u->ids, id.data, id.len));
        u->n_blocks++;
        buf_reset(&u->pending);
    } else {
        st = fail_answer(u->s, "PUT block", u->full, st, &r, &o);
    }
fail:
    buf_free(&id);
    http_response_reset(&r);
    return st;
}

/* Put Block List with the blocks in order ("Put Block List": a BlockList
 * of Latest ids), create-if-absent by If-None-Match. */
static infino_status put_block_list(struct upload *u, enum store_publish mode)
{
    struct http_response r = {0};
    struct http_outcome o;
    struct buf xml = {0};
    struct az_kv q[1] = {{"comp", "blocklist"}};
    struct az_kv extra[2] = {{"Content-Type", "application/xml"},
                             {"If-None-Match", "*"}};
    struct az_op op = {.method = "PUT",
                       .blob = u->full,
                       .query = q,
                       .n_query = 1,
                       .extra = extra,
                       .n_extra = (mode & STORE_NOREPLACE) ? 2 : 1,
                       .has_body = true};
    const char *id = (const char *)u->ids.data;
    infino_status st;

    CHECK(buf_append_str(&xml, "<?xml version=\"1.0\" encoding=\"utf-8\"?>"
                               "<BlockList>"));
    for (size_t i = 0; i < u->n_blocks; i++) {
        CHECK(buf_printf(&xml, "<Latest>%s</Latest>", id));
        id += strlen(id) + 1;
    }
    CHECK(buf_append_str(&xml, "</BlockList>"));
    op.body = xml.data;
    op.body_len = xml.len;
    st = run(u->s, &op, &r, &o);
    if (st == INFINO_OK && r.status == 201)
        st = INFINO_OK;
    else if (st == INFINO_OK && (mode & STORE_NOREPLACE) && says_exists(&r))
        st = precondition_failed(u->s, u->full, &o);
    else
        st = fail_answer(u->s, "PUT block list", u->full, st, &r, &o);
fail:
    buf_free(&xml);
    http_response_reset(&r);
    return st;
}

static infino_status upload_write(void *payload, const void *p, size_t n)
{
    struct upload *u = payload;
    size_t block = u->s->block_size;
    infino_status st = INFINO_OK;

    while (n > 0 && st == INFINO_OK) {
        size_t take = block - u->pending.len;
        if (take > n)
            take = n;
        st = buf_append(&u->pending, p, take);
        p = (const uint8_t *)p + take;
        n -= take;
        if (st == INFINO_OK && u->pending.len == block)
            st = put_block(u);
    }
    return st;
}

static infino_status upload_finish(void *payload, enum store_publish mode)
{
    struct upload *u = payload;
    infino_status st;

    if (u->n_blocks == 0) {
        st = put_blob(u->s, u->full, u->pending.data, u->pending.len, mode);
    } else {
        st = u->pending.len > 0 ? put_block(u) : INFINO_OK;
        if (st == INFINO_OK)
            st = put_block_list(u, mode);
    }
    upload_free(u);
    return st;
}

/* Uncommitted blocks are invisible and discarded by Azure after a week:
 * nothing to undo. */
static void upload_abort(void *payload)
{
    upload_free(payload);
}

static const struct store_sink_hooks upload_hooks = {
    upload_write, upload_finish, upload_abort};

static infino_status az_put_sink(struct objstore *os, const char *key,
                                 struct store_sink **out)
{
    struct azstore *s = (struct azstore *)os;
    struct upload *u = mem_calloc(1, sizeof *u);
    char *name = NULL;
    infino_status st;

    if (u == NULL)
        return err_nomem();
    atomic_fetch_add(&s->refs, 1);
    u->s = s;
    snprintf(u->tag, sizeof u->tag, "%016llx",
             (unsigned long long)random_u64());
    st = full_key(&u->full, s, key);
    if (st == INFINO_OK)
        st = remote_strf(&name, "az://%s/%s", s->container, u->full);
    if (st != INFINO_OK) {
        upload_free(u);
        return st;
    }
    st = store_sink_open_hooks(out, name, &upload_hooks, u); /* takes u */
    mem_free(name);
    return st;
}

/* ---- opening --------------------------------------------------------- */

static void az_close(struct objstore *os)
{
    store_unref((struct azstore *)os);
}

static const struct objstore_ops az_ops = {
    az_get, az_put_sink, az_stat, az_list, az_remove, az_remove_prefix,
    az_close, az_exists,
};

infino_status objstore_azure_open(struct objstore **out, const char *uri,
                                  const struct objstore_option *opts,
                                  size_t n_opts)
{
    struct azstore *s = mem_calloc(1, sizeof *s);
    struct http_policy policy;
    size_t scheme = strncmp(uri, "azure://", 8) == 0 ? 8 : 5;
    infino_status st;

    *out = NULL;
    if (s == NULL)
        return err_nomem();
    atomic_init(&s->refs, 1);
    s->base.ops = &az_ops;
    s->base.open_ranges = az_open_ranges;
    s->base.durable = true;
    CHECK(remote_dup(&s->base.uri, uri));
    CHECK(remote_parse_uri(&s->container, &s->prefix, uri, scheme,
                           "container", container_valid));
    CHECK(configure(s, opts, n_opts));
    /* where the blobs are, whichever URI (az:// or azure://) named them */
    CHECK(remote_strf(&s->base.cache_id, "az %s%s/%s/%s", s->origin, s->root,
                      s->container, s->prefix));
    http_policy_default(&policy);
    CHECK(http_client_new(&s->http, &policy, NULL));
    *out = &s->base;
    return INFINO_OK;
fail:
    store_unref(s);
    return st;
}
