/*
 * oauth.h - OAuth 2.0 access tokens for the GCS and Azure backends.
 *
 * A token source knows how to ask a token endpoint for a new access token
 * (a signed JWT for Google service accounts, a refresh token for gcloud
 * users, client credentials for Azure service principals); the cache hands
 * the current token to every request and asks for a new one shortly before
 * it expires (or when the storage answered 401). Requests for tokens go
 * through http.h, so they are retried as storage requests are.
 *
 * Tokens, secrets and request bodies never appear in a message: errors
 * name the endpoint, the HTTP status and the endpoint's error code and
 * description.
 */
#ifndef INFINO_STORE_OAUTH_H
#define INFINO_STORE_OAUTH_H

#include "http.h"

#include "util/buf.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

/* Refresh this long before a token expires. */
#define OAUTH_EARLY_SECS 300

/* Builds the form body (application/x-www-form-urlencoded) of one token
 * request into `body`; called for every refresh (a JWT is signed anew). */
typedef infino_status (*oauth_body_fn)(void *payload, struct buf *body);

struct oauth_cache {
    pthread_mutex_t mu;
    char *url;   /* owned: the token endpoint */
    char *token; /* owned or NULL; guarded by mu */
    int64_t expires_ns; /* clock_now_ns() time to refresh at */
    oauth_body_fn body;
    void *payload; /* borrowed: lives as long as the cache */
};

/* `url` is copied. Touches no network. */
infino_status oauth_cache_init(struct oauth_cache *c, const char *url,
                               oauth_body_fn body, void *payload);
void oauth_cache_free(struct oauth_cache *c); /* zeroed is fine */

/* *out (owned; free with remote_free_secret) = a current token, asking
 * the endpoint through `http` when there is none or it is about to
 * expire. `who` starts messages ("GCS", "Azure"). */
infino_status oauth_cache_get(struct oauth_cache *c, struct http_client *http,
                              const char *who, char **out);

/* Forgets the token (the storage refused it): the next get asks anew. */
void oauth_cache_invalidate(struct oauth_cache *c);

/* Appends "name=value" (with '&' unless first), both form-encoded. */
infino_status oauth_form_add(struct buf *body, const char *name,
                             const char *value);

/* RFC 7519/7515: appends base64url(header) "." base64url(claims) "."
 * base64url(RS256 signature) for the PEM private key `pem`. Errors never
 * quote the key. */
infino_status oauth_jwt_rs256(struct buf *out, const char *pem,
                              const char *header_json,
                              const char *claims_json);

/* Appends the base64url encoding (RFC 4648 5, no padding) of `n` bytes. */
infino_status oauth_base64url(struct buf *out, const void *p, size_t n);

#endif
