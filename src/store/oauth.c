/*
 * oauth.c - token cache, token requests and RS256 JWTs (see oauth.h).
 *
 * Token responses: RFC 6749 section 5.1 (access_token, expires_in) and
 * 5.2 (error, error_description). JWTs: RFC 7519 over the JWS compact
 * serialization of RFC 7515 section 7.1, signed RSASSA-PKCS1-v1_5 with
 * SHA-256 ("RS256", RFC 7518 section 3.3) by OpenSSL's EVP interface.
 */
#include "oauth.h"

#include "json.h"
#include "remote.h"

#include "util/alloc.h"
#include "util/base64.h"
#include "util/clock.h"
#include "util/err.h"

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <string.h>

#define WHAT "token response"

infino_status oauth_base64url(struct buf *out, const void *p, size_t n)
{
    size_t from = out->len;
    infino_status st = base64_encode(out, p, n);

    if (st != INFINO_OK)
        return st;
    for (size_t i = from; i < out->len; i++) {
        if (out->data[i] == '+')
            out->data[i] = '-';
        else if (out->data[i] == '/')
            out->data[i] = '_';
    }
    while (out->len > from && out->data[out->len - 1] == '=')
        out->len--;
    return INFINO_OK;
}

infino_status oauth_form_add(struct buf *body, const char *name,
                             const char *value)
{
    infino_status st;

    /* x-www-form-urlencoded: unreserved characters stay, the rest %XX
     * (a space as %20 is also accepted by every server) */
    if (body->len > 0)
        CHECK(buf_put_u8(body, '&'));
    CHECK(remote_pct_encode(body, name, strlen(name), false));
    CHECK(buf_put_u8(body, '='));
    CHECK(remote_pct_encode(body, value, strlen(value), false));
    return INFINO_OK;
fail:
    return st;
}

infino_status oauth_jwt_rs256(struct buf *out, const char *pem,
                              const char *header_json,
                              const char *claims_json)
{
    BIO *bio = NULL;
    EVP_PKEY *key = NULL;
    EVP_MD_CTX *md = NULL;
    unsigned char *sig = NULL;
    size_t sig_len = 0, from = out->len;
    infino_status st;

    CHECK(oauth_base64url(out, header_json, strlen(header_json)));
    CHECK(buf_put_u8(out, '.'));
    CHECK(oauth_base64url(out, claims_json, strlen(claims_json)));
    bio = BIO_new_mem_buf(pem, -1);
    if (bio == NULL) {
        st = err_nomem();
        goto fail;
    }
    key = PEM_read_bio_PrivateKey(bio, NULL, NULL, NULL);
    if (key == NULL || EVP_PKEY_base_id(key) != EVP_PKEY_RSA) {
        st = err_set(INFINO_ERR_INVALID,
                     "the private key is not an RSA key in PEM form");
        goto fail;
    }
    md = EVP_MD_CTX_new();
    if (md == NULL ||
        EVP_DigestSignInit(md, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(md, NULL, &sig_len, out->data + from,
                       out->len - from) != 1 ||
        (sig = mem_alloc(sig_len)) == NULL ||
        EVP_DigestSign(md, sig, &sig_len, out->data + from,
                       out->len - from) != 1) {
        st = err_set(INFINO_ERR_INVALID, "signing a JWT with the private "
                                         "key failed");
        goto fail;
    }
    CHECK(buf_put_u8(out, '.'));
    CHECK(oauth_base64url(out, sig, sig_len));
    st = INFINO_OK;
fail:
    mem_free(sig);
    EVP_MD_CTX_free(md);
    EVP_PKEY_free(key);
    BIO_free(bio);
    if (st != INFINO_OK)
        out->len = from;
    return st;
}

/* ---- token responses --------------------------------------------------- */

struct token {
    char *access_token;
    uint64_t expires_in;
    char *error, *description;
};

static infino_status token_event(void *payload, enum json_ev ev,
                                 enum json_type type, int depth,
                                 const char *key, const char *text,
                                 size_t len)
{
    struct token *t = payload;

    if (depth == 0 && ev == JSON_BEGIN && type != JSON_OBJECT)
        return err_set(INFINO_ERR_CORRUPT, WHAT ": expected an object");
    if (depth != 1 || ev != JSON_VALUE)
        return INFINO_OK;
    if (json_key_is(key, "access_token") && type == JSON_STRING) {
        remote_free_secret(t->access_token);
        t->access_token = NULL;
        return json_dup(&t->access_token, text, len);
    }
    if (json_key_is(key, "expires_in") &&
        (type == JSON_NUMBER || type == JSON_STRING))
        return json_parse_u64(&t->expires_in, WHAT, text, len);
    if (json_key_is(key, "error") && type == JSON_STRING)
        return json_dup(&t->error, text, len > 100 ? 100 : len);
    if (json_key_is(key, "error_description") && type == JSON_STRING)
        return json_dup(&t->description, text, len > 300 ? 300 : len);
    return INFINO_OK;
}

static void token_free(struct token *t)
{
    remote_free_secret(t->access_token);
    mem_free(t->error);
    mem_free(t->description);
    memset(t, 0, sizeof *t);
}

/* ---- requests ----------------------------------------------------------- */

struct token_call {
    const char *url;
    const struct buf *body;
};

static infino_status token_prepare(void *payload, struct http_request *rq,
                                   unsigned attempt)
{
    static const char *const headers[] = {
        "Content-Type: application/x-www-form-urlencoded",
        "Accept: application/json",
    };
    struct token_call *tc = payload;

    (void)attempt;
    rq->method = "POST";
    rq->url = tc->url;
    rq->headers = headers;
    rq->n_headers = 2;
    rq->body = tc->body->data ? tc->body->data : (const uint8_t *)"";
    rq->body_len = tc->body->len;
    rq->max_body = (size_t)1 << 20;
    return INFINO_OK;
}

static infino_status fetch_token(struct oauth_cache *c,
                                 struct http_client *http, const char *who,
                                 struct token *t)
{
    struct buf body = {0};
    struct http_response r = {0};
    struct http_outcome o;
    struct token_call tc = {c->url, &body};
    struct http_call call = {token_prepare, NULL, &tc};
    infino_status st;

    st = c->body(c->payload, &body);
    if (st != INFINO_OK) {
        st = err_context(st, "%s: a token request for %s", who, c->url);
        goto done;
    }
    st = http_run(http, &call, &r, &o);
    if (st != INFINO_OK) {
        st = err_context(st == INFINO_ERR_NOMEM ? st : INFINO_ERR_IO,
                         "%s: token endpoint %s (%u attempt%s)", who, c->url,
                         o.attempts, o.attempts == 1 ? "" : "s");
        goto done;
    }
    if (json_scan((const char *)r.body.data, r.body.len, WHAT, token_event,
                  t) != INFINO_OK)
        err_clear(); /* judged by the status and the fields below */
    if (r.status == 200 && t->access_token && *t->access_token) {
        st = INFINO_OK;
        goto done;
    }
    if (r.status == 200)
        st = err_set(INFINO_ERR_IO,
                     "%s: token endpoint %s: HTTP 200 without an "
                     "access_token",
                     who, c->url);
    else
        st = err_set(INFINO_ERR_IO, "%s: token endpoint %s: HTTP %ld%s%s%s%s",
                     who, c->url, r.status, t->error ? " " : "",
                     t->error ? t->error : "", t->description ? ": " : "",
                     t->description ? t->description : "");
done:
    if (body.data)
        memset(body.data, 0, body.cap); /* a signed assertion or secret */
    buf_free(&body);
    http_response_reset(&r);
    return st;
}

infino_status oauth_cache_init(struct oauth_cache *c, const char *url,
                               oauth_body_fn body, void *payload)
{
    memset(c, 0, sizeof *c);
    if (remote_dup(&c->url, url) != INFINO_OK)
        return err_nomem();
    pthread_mutex_init(&c->mu, NULL);
    c->body = body;
    c->payload = payload;
    return INFINO_OK;
}

void oauth_cache_free(struct oauth_cache *c)
{
    if (c->url == NULL)
        return;
    pthread_mutex_destroy(&c->mu);
    mem_free(c->url);
    remote_free_secret(c->token);
    memset(c, 0, sizeof *c);
}

infino_status oauth_cache_get(struct oauth_cache *c, struct http_client *http,
                              const char *who, char **out)
{
    struct token t = {0};
    infino_status st = INFINO_OK;

    *out = NULL;
    /* One refresh at a time: other threads wait for its token rather than
     * ask the endpoint too. */
    pthread_mutex_lock(&c->mu);
    if (c->token == NULL || clock_now_ns() >= c->expires_ns) {
        st = fetch_token(c, http, who, &t);
        if (st == INFINO_OK) {
            uint64_t life = t.expires_in ? t.expires_in : 3600;
            /* a short-lived token is refreshed at half its life */
            uint64_t early = life > 2 * OAUTH_EARLY_SECS ? OAUTH_EARLY_SECS
                                                          : life / 2;
            remote_free_secret(c->token);
            c->token = t.access_token;
            t.access_token = NULL;
            c->expires_ns = clock_now_ns() +
                            (int64_t)(life - early) * 1000000000;
        }
    }
    if (st == INFINO_OK && remote_dup(out, c->token) != INFINO_OK)
        st = err_nomem();
    pthread_mutex_unlock(&c->mu);
    token_free(&t);
    return st;
}

void oauth_cache_invalidate(struct oauth_cache *c)
{
    pthread_mutex_lock(&c->mu);
    remote_free_secret(c->token);
    c->token = NULL;
    pthread_mutex_unlock(&c->mu);
}
