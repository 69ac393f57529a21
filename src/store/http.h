/*
 * http.h - HTTP requests over libcurl with bounded retries, for the
 * object-store backends (S3, GCS and Azure Blob).
 *
 * A client keeps a pool of curl handles, so connections (and TLS
 * sessions) are reused across requests and threads take a handle each. A
 * call runs attempts until one gets an answer worth keeping: transport
 * failures (refused, reset, timed out, truncated) and answers the backend
 * calls retryable (5xx, 429, throttling codes) are retried after a delay
 * drawn with "full jitter" from [0, min(cap, base * 2^retry)).
 *
 * What the layers above need to know about a write that failed: whether
 * an earlier attempt may have been applied by the server anyway (a
 * request sent whose answer was lost, or a 5xx). A create-if-absent
 * publish that then meets "already exists" cannot tell its own object
 * from another writer's, and must report the outcome as unknown.
 *
 * Not useful for: streaming bodies larger than memory, redirects, proxies
 * beyond libcurl's environment defaults.
 */
#ifndef INFINO_STORE_HTTP_H
#define INFINO_STORE_HTTP_H

#include "infino.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Retry and timeout policy. */
struct http_policy {
    unsigned max_attempts; /* attempts in all, the first included; >= 1 */
    unsigned base_ms;      /* backoff base */
    unsigned cap_ms;       /* backoff cap */
    unsigned connect_timeout_ms;
    /* an attempt fails when fewer than 1 byte/s moves for this long */
    unsigned stall_timeout_ms;
};

/* 8 attempts, base 100 ms, cap 5 s, connect timeout 10 s, stall 30 s;
 * each overridable by the environment: INFINO_HTTP_MAX_ATTEMPTS,
 * INFINO_HTTP_RETRY_BASE_MS, INFINO_HTTP_RETRY_CAP_MS,
 * INFINO_HTTP_CONNECT_TIMEOUT_MS, INFINO_HTTP_STALL_TIMEOUT_MS. */
void http_policy_default(struct http_policy *out);

/* The delay before retry `retry` (0 = before the second attempt), given a
 * uniformly random `rnd`: rnd mod min(cap, base * 2^retry), in ms. */
uint64_t http_backoff_ms(const struct http_policy *p, unsigned retry,
                         uint64_t rnd);

struct http_client;

/* `ca_file` (borrowed, may be NULL): a CA bundle replacing the system's.
 * *out is owned (http_client_free). Touches no network. */
infino_status http_client_new(struct http_client **out,
                              const struct http_policy *p,
                              const char *ca_file);
void http_client_free(struct http_client *c); /* NULL is a no-op */
const struct http_policy *http_client_policy(const struct http_client *c);

/* One request. Everything is borrowed for the call. */
struct http_request {
    const char *method; /* GET, HEAD, PUT, POST, DELETE */
    const char *url;
    const char *const *headers; /* "Name: value" lines */
    size_t n_headers;
    const uint8_t *body; /* sent when non-NULL (also with body_len 0) */
    size_t body_len;
    /* When non-NULL, a 2xx body is written here and must be exactly
     * `into_len` bytes (ranged reads land in place). */
    uint8_t *into;
    size_t into_len;
    size_t max_body; /* cap on http_response.body; 0: 1 MiB */
    /* Response headers to keep (names, any case), up to HTTP_MAX_KEEP:
     * their values land in http_response.kept[i]. */
    const char *const *keep;
    size_t n_keep;
};

#define HTTP_MAX_KEEP 4

/* What came back. A zeroed struct is empty; http_response_reset() makes
 * one empty again. */
struct http_response {
    long status;    /* 0: no answer */
    struct buf body; /* non-2xx bodies, or 2xx ones without `into` */
    size_t into_got; /* bytes written to http_request.into */
    char *etag;      /* owned or NULL, quotes kept */
    /* owned or NULL: x-amz-request-id, x-ms-request-id or
     * x-guploader-uploadid */
    char *request_id;
    int64_t last_modified_ns; /* -1 when absent */
    bool has_length;
    uint64_t content_length;
    bool has_range; /* Content-Range: bytes first-last/total */
    uint64_t range_first, range_last, range_total;
    char *kept[HTTP_MAX_KEEP]; /* owned or NULL: http_request.keep's */
};
void http_response_reset(struct http_response *r);

/* One call: prepare() builds the request of each attempt (a fresh
 * signature each time), retryable() judges an answer. */
struct http_call {
    infino_status (*prepare)(void *payload, struct http_request *rq,
                             unsigned attempt);
    /* NULL: http_status_retryable() */
    bool (*retryable)(void *payload, const struct http_response *r);
    void *payload;
};

struct http_outcome {
    unsigned attempts;
    /* an attempt before the last may have been applied by the server */
    bool maybe_applied;
    /* the last attempt failed in transport (no answer) */
    bool transport_failed;
};

/* 5xx, 429 and 408. */
bool http_status_retryable(long status);

/* Runs attempts as the policy allows. INFINO_OK when the last attempt got
 * an answer (any status: a retryable one means the attempts ran out; the
 * caller reads *resp); INFINO_ERR_IO with curl's reason when it got none.
 * Messages name the method only: callers add the object. */
infino_status http_run(struct http_client *c, const struct http_call *call,
                       struct http_response *resp, struct http_outcome *out);

/* Lower-level: one attempt. *maybe_sent says whether request bytes left
 * this host (so a lost answer may hide an applied request). */
infino_status http_send(struct http_client *c, const struct http_request *rq,
                        struct http_response *resp, bool *maybe_sent);

#endif
