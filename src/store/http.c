/*
 * http.c - libcurl requests with a handle pool and bounded retries
 * (see http.h).
 *
 * Handles are reset between requests (curl_easy_reset keeps the live
 * connections and the TLS session cache) and never shared by two threads
 * at once. A process that forked drops the parent's handles without
 * touching them: their connections belong to the parent.
 */
#include "http.h"

#include "util/alloc.h"
#include "util/clock.h"
#include "util/err.h"
#include "util/random.h"

#include <curl/curl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define POOL_MAX 32
#define DEFAULT_MAX_BODY ((size_t)1 << 20)

struct http_client {
    struct http_policy policy;
    char *ca_file; /* owned or NULL */
    pthread_mutex_t mu;
    CURL *idle[POOL_MAX]; /* guarded by mu */
    size_t n_idle;
    pid_t pid; /* the process the idle handles belong to */
};

static pthread_once_t global_once = PTHREAD_ONCE_INIT;
static CURLcode global_rc;

static void global_init(void)
{
    global_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static unsigned env_uint(const char *name, unsigned dflt, unsigned lo,
                         unsigned hi)
{
    const char *s = getenv(name);
    char *end;
    unsigned long v;

    if (s == NULL || *s == '\0')
        return dflt;
    v = strtoul(s, &end, 10);
    if (*end != '\0' || v < lo || v > hi)
        return dflt;
    return (unsigned)v;
}

void http_policy_default(struct http_policy *out)
{
    out->max_attempts = env_uint("INFINO_HTTP_MAX_ATTEMPTS", 8, 1, 100);
    out->base_ms = env_uint("INFINO_HTTP_RETRY_BASE_MS", 100, 0, 60000);
    out->cap_ms = env_uint("INFINO_HTTP_RETRY_CAP_MS", 5000, 0, 600000);
    out->connect_timeout_ms =
        env_uint("INFINO_HTTP_CONNECT_TIMEOUT_MS", 10000, 1, 600000);
    out->stall_timeout_ms =
        env_uint("INFINO_HTTP_STALL_TIMEOUT_MS", 30000, 1000, 3600000);
}

uint64_t http_backoff_ms(const struct http_policy *p, unsigned retry,
                         uint64_t rnd)
{
    uint64_t window = p->base_ms;

    for (unsigned i = 0; i < retry && window < p->cap_ms; i++)
        window *= 2;
    if (window > p->cap_ms)
        window = p->cap_ms;
    return window ? rnd % window : 0;
}

infino_status http_client_new(struct http_client **out,
                              const struct http_policy *p,
                              const char *ca_file)
{
    struct http_client *c;

    *out = NULL;
    pthread_once(&global_once, global_init);
    if (global_rc != CURLE_OK)
        return err_set(INFINO_ERR_IO, "libcurl: %s",
                       curl_easy_strerror(global_rc));
    c = mem_calloc(1, sizeof *c);
    if (c == NULL)
        return err_nomem();
    if (ca_file && (c->ca_file = mem_strdup(ca_file)) == NULL) {
        mem_free(c);
        return err_nomem();
    }
    c->policy = *p;
    if (c->policy.max_attempts == 0)
        c->policy.max_attempts = 1;
    c->pid = getpid();
    pthread_mutex_init(&c->mu, NULL);
    *out = c;
    return INFINO_OK;
}

void http_client_free(struct http_client *c)
{
    if (c == NULL)
        return;
    if (c->pid == getpid())
        for (size_t i = 0; i < c->n_idle; i++)
            curl_easy_cleanup(c->idle[i]);
    pthread_mutex_destroy(&c->mu);
    mem_free(c->ca_file);
    mem_free(c);
}

const struct http_policy *http_client_policy(const struct http_client *c)
{
    return &c->policy;
}

static CURL *take_handle(struct http_client *c)
{
    CURL *h = NULL;

    pthread_mutex_lock(&c->mu);
    if (c->pid != getpid()) {
        /* A forked child: the idle handles' sockets are the parent's.
         * Forget them (a small leak) rather than close or reuse them. */
        c->n_idle = 0;
        c->pid = getpid();
    }
    if (c->n_idle > 0)
        h = c->idle[--c->n_idle];
    pthread_mutex_unlock(&c->mu);
    if (h == NULL)
        h = curl_easy_init();
    else
        curl_easy_reset(h);
    return h;
}

static void give_handle(struct http_client *c, CURL *h)
{
    pthread_mutex_lock(&c->mu);
    if (c->pid == getpid() && c->n_idle < POOL_MAX) {
        c->idle[c->n_idle++] = h;
        h = NULL;
    }
    pthread_mutex_unlock(&c->mu);
    if (h)
        curl_easy_cleanup(h);
}

void http_response_reset(struct http_response *r)
{
    buf_free(&r->body);
    mem_free(r->etag);
    mem_free(r->request_id);
    for (size_t i = 0; i < HTTP_MAX_KEEP; i++)
        mem_free(r->kept[i]);
    memset(r, 0, sizeof *r);
    r->last_modified_ns = -1;
}

bool http_status_retryable(long status)
{
    return status >= 500 || status == 429 || status == 408;
}

/* ---- one attempt ----------------------------------------------------- */

struct xfer {
    CURL *h;
    const struct http_request *rq;
    struct http_response *resp;
    size_t sent;     /* request body bytes handed to curl */
    long status;     /* of the final status line, once known */
    bool overflow;   /* the answer was longer than allowed */
};

static size_t on_read(char *dst, size_t size, size_t n, void *payload)
{
    struct xfer *x = payload;
    size_t want = size * n, left = x->rq->body_len - x->sent;

    if (want > left)
        want = left;
    if (want)
        memcpy(dst, x->rq->body + x->sent, want);
    x->sent += want;
    return want;
}

static size_t on_write(char *src, size_t size, size_t n, void *payload)
{
    struct xfer *x = payload;
    struct http_response *r = x->resp;
    size_t len = size * n;
    size_t cap = x->rq->max_body ? x->rq->max_body : DEFAULT_MAX_BODY;

    if (x->status == 0)
        curl_easy_getinfo(x->h, CURLINFO_RESPONSE_CODE, &x->status);
    if (x->rq->into && x->status >= 200 && x->status < 300) {
        if (len > x->rq->into_len - r->into_got) {
            x->overflow = true;
            return 0;
        }
        memcpy(x->rq->into + r->into_got, src, len);
        r->into_got += len;
        return len;
    }
    if (len > cap - r->body.len || buf_append(&r->body, src, len) != INFINO_OK) {
        x->overflow = true;
        return 0;
    }
    return len;
}

static bool header_is(const char *line, size_t len, const char *name,
                      const char **value, size_t *value_len)
{
    size_t n = strlen(name);
    const char *v, *end = line + len;

    if (len <= n || strncasecmp(line, name, n) != 0 || line[n] != ':')
        return false;
    v = line + n + 1;
    while (v < end && (*v == ' ' || *v == '\t'))
        v++;
    while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' '))
        end--;
    *value = v;
    *value_len = (size_t)(end - v);
    return true;
}

static bool parse_u64(const char *s, size_t n, uint64_t *out)
{
    uint64_t v = 0;

    if (n == 0)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9' || v > (UINT64_MAX - 9) / 10)
            return false;
        v = v * 10 + (uint64_t)(s[i] - '0');
    }
    *out = v;
    return true;
}

/* "bytes first-last/total" */
static void parse_range(struct http_response *r, const char *v, size_t n)
{
    const char *dash, *slash, *end = v + n;

    if (n < 6 || strncasecmp(v, "bytes ", 6) != 0)
        return;
    v += 6;
    dash = memchr(v, '-', (size_t)(end - v));
    slash = memchr(v, '/', (size_t)(end - v));
    if (dash == NULL || slash == NULL || dash > slash)
        return;
    r->has_range = parse_u64(v, (size_t)(dash - v), &r->range_first) &&
                   parse_u64(dash + 1, (size_t)(slash - dash - 1),
                             &r->range_last) &&
                   parse_u64(slash + 1, (size_t)(end - slash - 1),
                             &r->range_total) &&
                   r->range_first <= r->range_last &&
                   r->range_last < r->range_total;
}

static void set_str(char **dst, const char *v, size_t n)
{
    mem_free(*dst);
    *dst = mem_strndup(v, n); /* NULL on failure: the field is optional */
}

static size_t on_header(char *line, size_t size, size_t n, void *payload)
{
    struct xfer *x = payload;
    struct http_response *r = x->resp;
    size_t len = size * n;
    const char *v;
    size_t vn;

    if (len >= 5 && memcmp(line, "HTTP/", 5) == 0) {
        /* A new status line (after "100 Continue", say): forget the
         * headers of the previous one. */
        mem_free(r->etag);
        mem_free(r->request_id);
        r->etag = r->request_id = NULL;
        for (size_t i = 0; i < HTTP_MAX_KEEP; i++) {
            mem_free(r->kept[i]);
            r->kept[i] = NULL;
        }
        r->has_length = r->has_range = false;
        r->last_modified_ns = -1;
        x->status = 0;
        return len;
    }
    for (size_t i = 0; i < x->rq->n_keep && i < HTTP_MAX_KEEP; i++)
        if (header_is(line, len, x->rq->keep[i], &v, &vn)) {
            set_str(&r->kept[i], v, vn);
            return len;
        }
    if (header_is(line, len, "ETag", &v, &vn)) {
        set_str(&r->etag, v, vn);
    } else if (header_is(line, len, "x-amz-request-id", &v, &vn) ||
               header_is(line, len, "x-ms-request-id", &v, &vn) ||
               header_is(line, len, "x-guploader-uploadid", &v, &vn)) {
        set_str(&r->request_id, v, vn);
    } else if (header_is(line, len, "Content-Length", &v, &vn)) {
        r->has_length = parse_u64(v, vn, &r->content_length);
    } else if (header_is(line, len, "Content-Range", &v, &vn)) {
        parse_range(r, v, vn);
    } else if (header_is(line, len, "Last-Modified", &v, &vn)) {
        char date[64];
        if (vn < sizeof date) {
            memcpy(date, v, vn);
            date[vn] = '\0';
            time_t t = curl_getdate(date, NULL);
            if (t != (time_t)-1)
                r->last_modified_ns = (int64_t)t * 1000000000;
        }
    }
    return len;
}

infino_status http_send(struct http_client *c, const struct http_request *rq,
                        struct http_response *resp, bool *maybe_sent)
{
    struct xfer x = {.rq = rq, .resp = resp};
    struct curl_slist *hdrs = NULL, *tmp;
    char errbuf[CURL_ERROR_SIZE];
    long req_size = 0;
    infino_status st = INFINO_OK;
    CURLcode rc;

    http_response_reset(resp);
    *maybe_sent = false;
    x.h = take_handle(c);
    if (x.h == NULL)
        return err_set(INFINO_ERR_NOMEM, "HTTP %s: no curl handle",
                       rq->method);
    for (size_t i = 0; i < rq->n_headers; i++) {
        tmp = curl_slist_append(hdrs, rq->headers[i]);
        if (tmp == NULL) {
            st = err_nomem();
            goto done;
        }
        hdrs = tmp;
    }
    /* No "Expect: 100-continue" round trip before bodies. */
    tmp = curl_slist_append(hdrs, "Expect:");
    if (tmp == NULL) {
        st = err_nomem();
        goto done;
    }
    hdrs = tmp;
    errbuf[0] = '\0';
    curl_easy_setopt(x.h, CURLOPT_URL, rq->url);
    curl_easy_setopt(x.h, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(x.h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(x.h, CURLOPT_ERRORBUFFER, errbuf);
    curl_easy_setopt(x.h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(x.h, CURLOPT_TCP_KEEPALIVE, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    curl_easy_setopt(x.h, CURLOPT_PROTOCOLS_STR, "http,https");
#else
    curl_easy_setopt(x.h, CURLOPT_PROTOCOLS,
                     (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    curl_easy_setopt(x.h, CURLOPT_CONNECTTIMEOUT_MS,
                     (long)c->policy.connect_timeout_ms);
    curl_easy_setopt(x.h, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(x.h, CURLOPT_LOW_SPEED_TIME,
                     (long)(c->policy.stall_timeout_ms + 999) / 1000);
    if (c->ca_file)
        curl_easy_setopt(x.h, CURLOPT_CAINFO, c->ca_file);
    curl_easy_setopt(x.h, CURLOPT_WRITEFUNCTION, on_write);
    curl_easy_setopt(x.h, CURLOPT_WRITEDATA, &x);
    curl_easy_setopt(x.h, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(x.h, CURLOPT_HEADERDATA, &x);
    if (strcmp(rq->method, "HEAD") == 0) {
        curl_easy_setopt(x.h, CURLOPT_NOBODY, 1L);
    } else if (rq->body != NULL) {
        /* Without a seek callback curl cannot silently resend a body on
         * a reused connection that died: that failure reaches us, and
         * counts as "maybe applied". */
        curl_easy_setopt(x.h, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(x.h, CURLOPT_READFUNCTION, on_read);
        curl_easy_setopt(x.h, CURLOPT_READDATA, &x);
        curl_easy_setopt(x.h, CURLOPT_INFILESIZE_LARGE,
                         (curl_off_t)rq->body_len);
        if (strcmp(rq->method, "PUT") != 0)
            curl_easy_setopt(x.h, CURLOPT_CUSTOMREQUEST, rq->method);
    } else if (strcmp(rq->method, "GET") != 0) {
        curl_easy_setopt(x.h, CURLOPT_CUSTOMREQUEST, rq->method);
    }

    rc = curl_easy_perform(x.h);
    curl_easy_getinfo(x.h, CURLINFO_REQUEST_SIZE, &req_size);
    *maybe_sent = req_size > 0;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(x.h, CURLINFO_RESPONSE_CODE, &resp->status);
        if (rq->into && resp->status >= 200 && resp->status < 300 &&
            resp->into_got != rq->into_len) {
            /* A short body the server closed cleanly: count it as a
             * transport failure (retried), never as data. */
            st = err_set(INFINO_ERR_IO,
                         "HTTP %s: answer of %zu bytes, %zu expected",
                         rq->method, resp->into_got, rq->into_len);
            resp->status = 0;
        }
    } else if (x.overflow) {
        st = err_set(INFINO_ERR_IO, "HTTP %s: answer longer than expected",
                     rq->method);
        resp->status = 0;
    } else {
        st = err_set(INFINO_ERR_IO, "HTTP %s: %s", rq->method,
                     errbuf[0] ? errbuf : curl_easy_strerror(rc));
        resp->status = 0;
    }
done:
    curl_slist_free_all(hdrs);
    /* a handle whose transfer failed may hold a broken connection; curl
     * closes those itself, so it is reusable either way */
    give_handle(c, x.h);
    return st;
}

/* ---- retries --------------------------------------------------------- */

infino_status http_run(struct http_client *c, const struct http_call *call,
                       struct http_response *resp, struct http_outcome *out)
{
    struct http_request rq;
    infino_status st = INFINO_OK;
    bool maybe_sent, applied = false;

    memset(out, 0, sizeof *out);
    for (unsigned attempt = 0;; attempt++) {
        bool retry;

        memset(&rq, 0, sizeof rq);
        st = call->prepare(call->payload, &rq, attempt);
        if (st != INFINO_OK)
            return st;
        out->maybe_applied = applied;
        out->attempts = attempt + 1;
        st = http_send(c, &rq, resp, &maybe_sent);
        if (st == INFINO_ERR_NOMEM)
            return st;
        out->transport_failed = st != INFINO_OK;
        if (st != INFINO_OK) {
            retry = true;
            applied |= maybe_sent;
        } else {
            retry = call->retryable ? call->retryable(call->payload, resp)
                                    : http_status_retryable(resp->status);
            /* 5xx: the server may have done the work and then failed */
            if (retry && resp->status >= 500)
                applied = true;
        }
        if (!retry || attempt + 1 >= c->policy.max_attempts)
            break;
        clock_sleep_us(1000 * http_backoff_ms(&c->policy, attempt,
                                              random_u64()));
    }
    return st;
}
