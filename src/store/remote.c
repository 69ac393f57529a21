/*
 * remote.c - options, URIs, endpoints and strings shared by the bucket
 * backends, and their ranged readers of one object (see remote.h).
 */
#include "remote.h"

#include "sigv4.h"

#include "util/alloc.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const char *remote_option(const struct objstore_option *opts, size_t n,
                          const char *key)
{
    const char *v = NULL;

    for (size_t i = 0; i < n; i++)
        if (strcasecmp(opts[i].key, key) == 0)
            v = opts[i].value; /* the last one wins */
    return v;
}

const char *remote_env(const char *name)
{
    const char *v = getenv(name);

    return v && *v ? v : NULL;
}

infino_status remote_parse_bool(bool *out, const char *key, const char *v)
{
    static const char *const yes[] = {"true", "1", "yes", "on"};
    static const char *const no[] = {"false", "0", "no", "off", ""};

    for (size_t i = 0; i < sizeof yes / sizeof yes[0]; i++)
        if (strcasecmp(v, yes[i]) == 0) {
            *out = true;
            return INFINO_OK;
        }
    for (size_t i = 0; i < sizeof no / sizeof no[0]; i++)
        if (strcasecmp(v, no[i]) == 0) {
            *out = false;
            return INFINO_OK;
        }
    return err_set(INFINO_ERR_INVALID,
                   "storage option %s must be true or false", key);
}

infino_status remote_strf(char **out, const char *fmt, ...)
{
    struct buf b = {0};
    va_list ap;
    int n;

    *out = NULL;
    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0 || buf_reserve(&b, (size_t)n + 1) != INFINO_OK) {
        buf_free(&b);
        return err_nomem();
    }
    va_start(ap, fmt);
    vsnprintf((char *)b.data, (size_t)n + 1, fmt, ap);
    va_end(ap);
    *out = (char *)b.data;
    return INFINO_OK;
}

infino_status remote_dup(char **out, const char *s)
{
    *out = NULL;
    if (s == NULL)
        return INFINO_OK;
    *out = mem_strdup(s);
    return *out ? INFINO_OK : err_nomem();
}

void remote_free_secret(char *s)
{
    if (s == NULL)
        return;
    /* volatile: the zeroing must not be optimized away before the free */
    for (volatile char *p = s; *p; p++)
        *p = 0;
    mem_free(s);
}

infino_status remote_parse_uri(char **bucket, char **prefix, const char *uri,
                               size_t scheme_len, const char *what,
                               bool (*valid)(const char *b, size_t n))
{
    const char *b = uri + scheme_len, *slash = strchr(b, '/');
    size_t blen = slash ? (size_t)(slash - b) : strlen(b);
    const char *p = slash ? slash + 1 : "";
    size_t plen;
    infino_status st;

    *bucket = *prefix = NULL;
    if (!valid(b, blen))
        return err_set(INFINO_ERR_INVALID,
                       "URI '%s' names no valid %s (%.*sBUCKET/PREFIX)", uri,
                       what, (int)scheme_len, uri);
    *bucket = mem_strndup(b, blen);
    if (*bucket == NULL)
        return err_nomem();
    plen = strlen(p);
    while (plen > 0 && p[plen - 1] == '/')
        plen--;
    if (plen == 0)
        return remote_dup(prefix, "");
    st = remote_strf(prefix, "%.*s/", (int)plen, p);
    if (st != INFINO_OK)
        return st;
    (*prefix)[plen] = '\0'; /* check the folder without its '/' */
    if (!objstore_key_valid(*prefix))
        return err_set(INFINO_ERR_INVALID,
                       "URI '%s': the prefix '%s' is not a valid key prefix",
                       uri, *prefix);
    (*prefix)[plen] = '/';
    return INFINO_OK;
}

infino_status remote_endpoint_parse(struct remote_endpoint *out,
                                    const char *url, bool allow_http,
                                    const char *allow_key)
{
    size_t scheme_len;
    const char *host, *path;
    size_t plen;

    memset(out, 0, sizeof *out);
    if (strncasecmp(url, "https://", 8) == 0) {
        scheme_len = 8;
    } else if (strncasecmp(url, "http://", 7) == 0) {
        scheme_len = 7;
        out->http = true;
        if (!allow_http)
            return err_set(INFINO_ERR_INVALID,
                           "endpoint '%s' is plain HTTP: set the storage "
                           "option %s to true to allow it",
                           url, allow_key);
    } else {
        return err_set(INFINO_ERR_INVALID,
                       "endpoint '%s' must start with https:// or http://",
                       url);
    }
    host = url + scheme_len;
    path = strchr(host, '/');
    if (path == NULL)
        path = host + strlen(host);
    if (path == host || memchr(host, '@', (size_t)(path - host)) ||
        memchr(host, '?', (size_t)(path - host)) || strchr(path, '?') ||
        strchr(path, '#'))
        return err_set(INFINO_ERR_INVALID,
                       "endpoint '%s' names no host, or has a query", url);
    plen = strlen(path);
    while (plen > 0 && path[plen - 1] == '/')
        plen--;
    if (remote_strf(&out->origin, "%.*s", (int)(path - url), url) !=
            INFINO_OK ||
        remote_strf(&out->host, "%.*s", (int)(path - host), host) !=
            INFINO_OK ||
        remote_strf(&out->path, "%.*s", (int)plen, path) != INFINO_OK) {
        remote_endpoint_free(out);
        return err_nomem();
    }
    return INFINO_OK;
}

void remote_endpoint_free(struct remote_endpoint *e)
{
    mem_free(e->origin);
    mem_free(e->host);
    mem_free(e->path);
    memset(e, 0, sizeof *e);
}

infino_status remote_pct_encode(struct buf *out, const char *s, size_t n,
                                bool keep_slash)
{
    /* SigV4's URI encoding is exactly RFC 3986's: unreserved stay. */
    return sigv4_uri_encode(out, s, n, keep_slash);
}

infino_status remote_collect_key(const struct objstore_entry *e,
                                 void *payload)
{
    struct remote_keys *k = payload;

    if (MEM_RESERVE(k->v, k->cap, k->n + 1) != 0 ||
        (k->v[k->n] = mem_strdup(e->key)) == NULL)
        return err_nomem();
    k->n++;
    return INFINO_OK;
}

void remote_keys_free(struct remote_keys *k)
{
    for (size_t i = 0; i < k->n; i++)
        mem_free(k->v[i]);
    mem_free(k->v);
    memset(k, 0, sizeof *k);
}

/* ---- ranged readers ------------------------------------------------------ */

static void rr_etag(struct objstore_ranges *rg, char out[OBJSTORE_ETAG_MAX])
{
    struct remote_ranges *r = (struct remote_ranges *)rg;

    pthread_mutex_lock(&r->mu);
    memcpy(out, r->etag, OBJSTORE_ETAG_MAX);
    pthread_mutex_unlock(&r->mu);
}

/* An answer of version `v` came: the first version seen is the one every
 * later answer must be of. A server that names none cannot be checked. */
static infino_status rr_check(struct remote_ranges *r, const char *v)
{
    char pinned[OBJSTORE_ETAG_MAX];
    bool same = true;

    if (v == NULL || *v == '\0' || strlen(v) >= OBJSTORE_ETAG_MAX)
        return INFINO_OK;
    pthread_mutex_lock(&r->mu);
    if (r->etag[0] == '\0')
        memcpy(r->etag, v, strlen(v) + 1);
    else if (strcmp(r->etag, v) != 0)
        same = false;
    memcpy(pinned, r->etag, sizeof pinned);
    pthread_mutex_unlock(&r->mu);
    if (same)
        return INFINO_OK;
    return err_set(INFINO_ERR_IO,
                   "%s: the object changed since it was opened (version %s, "
                   "now %.*s)",
                   r->name, pinned, OBJSTORE_ETAG_MAX, v);
}

/* The error of an answer without the data asked for. */
static infino_status rr_fail(struct remote_ranges *r, const char *op,
                             const char *pin, infino_status st,
                             const struct http_response *resp,
                             const struct http_outcome *o)
{
    const char *why = st == INFINO_OK && pin[0] ? r->ops->gone(resp) : NULL;

    if (why)
        return err_set(INFINO_ERR_IO,
                       "%s: the object %s since it was opened (version %s; "
                       "HTTP %ld)",
                       r->name, why, pin, resp->status);
    return r->ops->fail(r, op, st, resp, o);
}

static infino_status rr_read(struct objstore_ranges *rg, uint64_t off,
                             size_t len, uint8_t *dst)
{
    struct remote_ranges *r = (struct remote_ranges *)rg;
    struct http_response resp = {0};
    struct http_outcome o = {0};
    char range[64], pin[OBJSTORE_ETAG_MAX];
    infino_status st;

    rr_etag(rg, pin);
    snprintf(range, sizeof range, "bytes=%" PRIu64 "-%" PRIu64, off,
             off + len - 1);
    st = r->ops->get(r, range, pin, dst, len, &resp, &o);
    if (st == INFINO_OK &&
        (resp.status == 200 ? off == 0
                            : resp.status == 206 && resp.has_range &&
                                  resp.range_first == off))
        st = rr_check(r, r->ops->version(&resp));
    else if (st == INFINO_OK && (resp.status == 200 || resp.status == 206))
        st = err_set(INFINO_ERR_IO,
                     "%s: GET bytes %" PRIu64 "+%zu: the answer is another "
                     "range",
                     r->name, off, len);
    else
        st = rr_fail(r, "GET range", pin, st, &resp, &o);
    http_response_reset(&resp);
    return st;
}

/* A 206 that holds exactly the bytes it says, ending at the object's end
 * when `to_end`. */
static bool rr_whole_range(const struct http_response *resp, bool to_end)
{
    return resp->has_range && resp->range_first <= resp->range_last &&
           resp->range_last - resp->range_first + 1 == resp->body.len &&
           resp->range_last < resp->range_total &&
           (!to_end || resp->range_last + 1 == resp->range_total);
}

/* GET `range` for a tail, asking again for the whole object when the range
 * cannot be satisfied because the object is empty (416, or an emulator's
 * 206 "bytes 0--1/0" without a body). */
static infino_status rr_get_tail(struct remote_ranges *r, const char *range,
                                 const char *pin, struct http_response *resp,
                                 struct http_outcome *o)
{
    infino_status st = r->ops->get(r, range, pin, NULL, 0, resp, o);

    if (st == INFINO_OK &&
        (resp->status == 416 ||
         (resp->status == 206 && !resp->has_range && resp->body.len == 0))) {
        http_response_reset(resp);
        st = r->ops->get(r, NULL, pin, NULL, 0, resp, o);
    }
    return st;
}

static infino_status rr_read_tail(struct objstore_ranges *rg, size_t want,
                                  uint8_t **out, size_t *n_out,
                                  uint64_t *size_out)
{
    struct remote_ranges *r = (struct remote_ranges *)rg;
    struct http_response resp = {0};
    struct http_outcome o = {0};
    char range[64], pin[OBJSTORE_ETAG_MAX];
    uint64_t size;
    infino_status st;

    *out = NULL;
    *n_out = 0;
    if (want == 0)
        want = 1;
    rr_etag(rg, pin);
    if (r->ops->suffix_ranges)
        snprintf(range, sizeof range, "bytes=-%zu", want);
    else
        snprintf(range, sizeof range, "bytes=0-%zu", want - 1);
    st = rr_get_tail(r, range, pin, &resp, &o);
    if (st != INFINO_OK || (resp.status != 200 && resp.status != 206)) {
        st = rr_fail(r, "GET", pin, st, &resp, &o);
        goto done;
    }
    /* a suffix ends at the end, a head starts at the start */
    if (resp.status == 206 &&
        (!rr_whole_range(&resp, r->ops->suffix_ranges) ||
         (!r->ops->suffix_ranges && resp.range_first != 0))) {
        st = err_set(INFINO_ERR_IO,
                     "%s: GET: HTTP 206 without a matching Content-Range",
                     r->name);
        goto done;
    }
    CHECK(rr_check(r, r->ops->version(&resp)));
    size = resp.status == 200 ? resp.body.len : resp.range_total;
    if (resp.status == 206 && !r->ops->suffix_ranges &&
        resp.body.len < size) {
        /* The head told the size: now the tail, of the version the head
         * came from. */
        uint64_t from = size - want;
        rr_etag(rg, pin);
        http_response_reset(&resp);
        snprintf(range, sizeof range, "bytes=%" PRIu64 "-%" PRIu64, from,
                 size - 1);
        st = r->ops->get(r, range, pin, NULL, 0, &resp, &o);
        if (st != INFINO_OK || resp.status != 206) {
            if (st == INFINO_OK && resp.status == 200)
                st = err_set(INFINO_ERR_IO,
                             "%s: GET bytes %" PRIu64 "-: the answer is the "
                             "whole object",
                             r->name, from);
            else
                st = rr_fail(r, "GET", pin, st, &resp, &o);
            goto done;
        }
        if (!rr_whole_range(&resp, true) || resp.range_first != from ||
            resp.range_total != size) {
            st = err_set(INFINO_ERR_IO,
                         "%s: GET bytes %" PRIu64 "-: HTTP 206 without a "
                         "matching Content-Range",
                         r->name, from);
            goto done;
        }
        CHECK(rr_check(r, r->ops->version(&resp)));
    }
    *size_out = size;
    if (resp.body.len > 0)
        *out = buf_detach(&resp.body, n_out);
    st = INFINO_OK;
fail:
done:
    http_response_reset(&resp);
    return st;
}

static void rr_close(struct objstore_ranges *rg)
{
    struct remote_ranges *r = (struct remote_ranges *)rg;

    r->ops->release(r);
    pthread_mutex_destroy(&r->mu);
    mem_free(r->full);
    mem_free(r->name);
    mem_free(r);
}

static const struct objstore_ranges_ops rr_ops = {rr_read, rr_read_tail,
                                                  rr_etag, rr_close};

infino_status remote_ranges_new(struct remote_ranges **out, size_t size,
                                const struct remote_ranges_ops *ops,
                                const char *scheme, const char *bucket,
                                const char *prefix, const char *key,
                                const char *etag)
{
    struct remote_ranges *r = mem_calloc(1, size);

    *out = NULL;
    if (r == NULL)
        return err_nomem();
    if (remote_strf(&r->full, "%s%s", prefix, key) != INFINO_OK ||
        remote_strf(&r->name, "%s://%s/%s", scheme, bucket, r->full) !=
            INFINO_OK) {
        mem_free(r->full);
        mem_free(r);
        return err_nomem();
    }
    r->base.ops = &rr_ops;
    r->ops = ops;
    if (etag && strlen(etag) < OBJSTORE_ETAG_MAX)
        memcpy(r->etag, etag, strlen(etag) + 1);
    pthread_mutex_init(&r->mu, NULL);
    *out = r;
    return INFINO_OK;
}

static infino_status rr_fetch(void *payload, uint64_t off, size_t len,
                              uint8_t *dst)
{
    return rr_read(payload, off, len, dst);
}

static void rr_release(void *payload)
{
    rr_close(payload);
}

infino_status remote_ranges_get_blob(struct store_blob **out,
                                     struct objstore_ranges *rg, size_t tail)
{
    struct remote_ranges *r = (struct remote_ranges *)rg;
    uint8_t *data = NULL;
    size_t len;
    uint64_t size;
    infino_status st;

    *out = NULL;
    st = rr_read_tail(rg, tail, &data, &len, &size);
    if (st != INFINO_OK) {
        rr_close(rg);
        return st;
    }
    if (len == size) {
        st = store_blob_take_memory(out, data, len, r->name); /* takes */
        rr_close(rg);
        return st;
    }
    /* takes data and rg, also on failure */
    return store_blob_open_remote(out, r->name, size, data, size - len, len,
                                  rr_fetch, rr_release, rg);
}

const char *remote_version_etag(const struct http_response *resp)
{
    return resp->etag;
}

const char *remote_gone_if_match(const struct http_response *resp)
{
    return resp->status == 412 ? "changed" : NULL;
}
