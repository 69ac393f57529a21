/*
 * remote.h - what the bucket backends (S3, GCS, Azure Blob) share besides
 * HTTP: storage options and their environment fallbacks, "scheme://
 * BUCKET/PREFIX" URIs, endpoint URLs, percent-encoding, formatted strings
 * and the wiping of secrets.
 *
 * Nothing here touches the network. Not useful for: the local and memory
 * backends.
 */
#ifndef INFINO_STORE_REMOTE_H
#define INFINO_STORE_REMOTE_H

#include "objstore.h"

#include "http.h"

#include "util/buf.h"
#include "util/err.h"

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>

/* The value of option `key` (any case; the last one given wins), or NULL.
 * Borrowed from `opts`. */
const char *remote_option(const struct objstore_option *opts, size_t n,
                          const char *key);

/* getenv(name), or NULL when unset or empty. */
const char *remote_env(const char *name);

/* true/1/yes/on or false/0/no/off/"" (any case); anything else is
 * INFINO_ERR_INVALID naming `key` (never the value). */
infino_status remote_parse_bool(bool *out, const char *key, const char *v);

/* *out = a new string (owned) formatted as printf does. */
infino_status remote_strf(char **out, const char *fmt, ...) ERR_PRINTF(2, 3);

/* *out = a copy of `s` (owned), or NULL when `s` is NULL. */
infino_status remote_dup(char **out, const char *s);

/* Zeroes and frees a secret. NULL is a no-op. */
void remote_free_secret(char *s);

/* Splits "SCHEME://BUCKET[/PREFIX]" after `scheme_len` bytes: *bucket
 * (owned) must satisfy `valid`, *prefix (owned) is "" or a valid key
 * folder ending in '/'. `what` names the bucket in messages ("bucket",
 * "container"). */
infino_status remote_parse_uri(char **bucket, char **prefix, const char *uri,
                               size_t scheme_len, const char *what,
                               bool (*valid)(const char *b, size_t n));

/* An endpoint URL taken apart. */
struct remote_endpoint {
    char *origin; /* owned: "http[s]://host[:port]" */
    char *host;   /* owned: "host[:port]" (the Host header) */
    char *path;   /* owned: "" or "/a/b", without a trailing '/' */
    bool http;    /* plain http */
};

/* Parses `url` (http:// or https://). Plain http is refused unless
 * `allow_http`, naming `allow_key` (the option that allows it). */
infino_status remote_endpoint_parse(struct remote_endpoint *out,
                                    const char *url, bool allow_http,
                                    const char *allow_key);
void remote_endpoint_free(struct remote_endpoint *e); /* zeroed is fine */

/* Appends `s` percent-encoded: unreserved characters (RFC 3986 2.3) stay,
 * '/' stays when `keep_slash`, every other byte becomes %XX (upper-case
 * hex). */
infino_status remote_pct_encode(struct buf *out, const char *s, size_t n,
                                bool keep_slash);

/* An objstore_list_fn collecting keys into a struct remote_keys. */
struct remote_keys {
    char **v; /* owned */
    size_t n, cap;
};
infino_status remote_collect_key(const struct objstore_entry *e,
                                 void *payload);
void remote_keys_free(struct remote_keys *k);

/* ---- ranged readers ------------------------------------------------------ */

struct remote_ranges;

/* What a backend supplies to a ranged reader. */
struct remote_ranges_ops {
    /* One GET of the object, with the backend's retries: `range` is a
     * Range value ("bytes=A-B", "bytes=-N") or NULL for the whole object;
     * `pin` a version the answer must be of, or "" (S3 and Azure send
     * If-Match, GCS asks for that generation); a 2xx body lands in `into`
     * when it is non-NULL (exactly `into_len` bytes). INFINO_OK when an
     * answer came, whatever its status. */
    infino_status (*get)(struct remote_ranges *r, const char *range,
                         const char *pin, uint8_t *into, size_t into_len,
                         struct http_response *resp,
                         struct http_outcome *o);
    /* The version an answer says it is (borrowed from `resp`), or NULL. */
    const char *(*version)(const struct http_response *resp);
    /* Why an answer to a pinned GET means the version is gone ("changed",
     * "changed or was deleted"), or NULL when it does not say so. */
    const char *(*gone)(const struct http_response *resp);
    /* The error of a GET that got no data: names the object and the HTTP
     * status; 404 is INFINO_ERR_NOTFOUND. */
    infino_status (*fail)(struct remote_ranges *r, const char *op,
                          infino_status transport,
                          const struct http_response *resp,
                          const struct http_outcome *o);
    /* Drops what the backend's part of `r` holds (a store reference);
     * the reader's memory is freed after. */
    void (*release)(struct remote_ranges *r);
    /* "bytes=-N" works (S3, GCS); without, a tail is read after the head
     * told the size (Azure's Get Blob takes no suffix range). */
    bool suffix_ranges;
};

/* The shared part of a backend's objstore_ranges: the first member of the
 * backend's reader. Threads may share it (the version is behind `mu`). */
struct remote_ranges {
    struct objstore_ranges base;
    const struct remote_ranges_ops *ops; /* borrowed: static */
    char *full; /* owned: the object's name in the bucket, prefix included */
    char *name; /* owned: "s3://bucket/full", for messages and blob names */
    pthread_mutex_t mu;
    char etag[OBJSTORE_ETAG_MAX]; /* guarded by mu; "" until known */
};

/* The version/gone hooks of backends that pin by ETag and If-Match (S3,
 * Azure): the answer's ETag; 412 Precondition Failed means "changed". */
const char *remote_version_etag(const struct http_response *resp);
const char *remote_gone_if_match(const struct http_response *resp);

/* *out = a new reader (owned: out->base.ops->close) of `size` bytes (the
 * backend's struct, whose first member is a struct remote_ranges; the
 * rest zeroed) for object `key` under `prefix` of `bucket`, named
 * "<scheme>://<bucket>/<prefix><key>", pinned to `etag` when it is
 * non-NULL and not empty. Touches no network. */
infino_status remote_ranges_new(struct remote_ranges **out, size_t size,
                                const struct remote_ranges_ops *ops,
                                const char *scheme, const char *bucket,
                                const char *prefix, const char *key,
                                const char *etag);

/* objstore get() of a bucket backend on its reader `rg` (takes it, also on
 * failure): an object of up to `tail` bytes arrives whole in one request;
 * a larger one becomes a blob read by ranges pinned to the version its
 * tail came from, holding that tail. */
infino_status remote_ranges_get_blob(struct store_blob **out,
                                     struct objstore_ranges *rg, size_t tail);

#endif
