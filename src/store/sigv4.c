/*
 * sigv4.c - AWS Signature Version 4 (see sigv4.h).
 *
 * The four steps of the specification, in order: canonical request, string
 * to sign, signing key, signature. Hashing and HMAC come from OpenSSL's
 * libcrypto; everything else is string building on util/buf.
 */
#include "sigv4.h"

#include "util/alloc.h"
#include "util/err.h"
#include "util/random.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdlib.h>
#include <string.h>

#define ALGORITHM "AWS4-HMAC-SHA256"

static bool unreserved(unsigned char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') ||
           (c >= '0' && c <= '9') || c == '-' || c == '.' || c == '_' ||
           c == '~';
}

infino_status sigv4_uri_encode(struct buf *out, const char *s, size_t n,
                               bool keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";
    infino_status st = buf_reserve(out, n * 3);

    if (st != INFINO_OK)
        return st;
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        if (unreserved(c) || (keep_slash && c == '/')) {
            out->data[out->len++] = c;
        } else {
            out->data[out->len++] = '%';
            out->data[out->len++] = (uint8_t)hex[c >> 4];
            out->data[out->len++] = (uint8_t)hex[c & 15];
        }
    }
    return INFINO_OK;
}

void sigv4_sha256_hex(char out[65], const void *p, size_t n)
{
    uint8_t md[32];
    unsigned int md_len = 0;

    EVP_Digest(p, n, md, &md_len, EVP_sha256(), NULL);
    hex_encode(out, md, sizeof md);
}

static void hmac(uint8_t out[32], const void *key, size_t key_len,
                 const char *msg, size_t msg_len)
{
    unsigned int len = 32;

    HMAC(EVP_sha256(), key, (int)key_len, (const unsigned char *)msg, msg_len,
         out, &len);
}

void sigv4_signing_key(uint8_t out[32], const char *secret, const char *date,
                       const char *region, const char *service)
{
    struct buf k = {0};
    uint8_t a[32], b[32];

    /* "AWS4" + secret as the first key; secrets are short, but a failed
     * allocation must not sign with a truncated key: fall back to zeros,
     * which S3 rejects as a bad signature. */
    if (buf_append_str(&k, "AWS4") != INFINO_OK ||
        buf_append_str(&k, secret) != INFINO_OK) {
        memset(out, 0, 32);
        buf_free(&k);
        return;
    }
    hmac(a, k.data, k.len, date, strlen(date));
    hmac(b, a, sizeof a, region, strlen(region));
    hmac(a, b, sizeof b, service, strlen(service));
    hmac(out, a, sizeof a, "aws4_request", 12);
    OPENSSL_cleanse(k.data, k.len);
    OPENSSL_cleanse(a, sizeof a);
    OPENSSL_cleanse(b, sizeof b);
    buf_free(&k);
}

void sigv4_amz_date(char out[17], time_t t)
{
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 17, "%Y%m%dT%H%M%SZ", &tm);
}

/* ---- canonical request ---------------------------------------------- */

/* A query parameter or header with its canonical text. */
struct item {
    char *name;  /* owned: encoded (query) or lower-case (header) */
    char *value; /* owned: encoded (query) or trimmed (header) */
    size_t order; /* input position: keeps repeated headers in order */
};

static void items_free(struct item *v, size_t n)
{
    for (size_t i = 0; v && i < n; i++) {
        mem_free(v[i].name);
        mem_free(v[i].value);
    }
    mem_free(v);
}

static int cmp_query(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : strcmp(x->value, y->value);
}

static int cmp_header(const void *a, const void *b)
{
    const struct item *x = a, *y = b;
    int c = strcmp(x->name, y->name);

    return c ? c : (x->order < y->order ? -1 : x->order > y->order);
}

static infino_status encode_dup(char **out, const char *s)
{
    struct buf b = {0};
    infino_status st = sigv4_uri_encode(&b, s, strlen(s), false);

    if (st == INFINO_OK)
        st = buf_put_u8(&b, 0);
    if (st != INFINO_OK) {
        buf_free(&b);
        return st;
    }
    *out = (char *)buf_detach(&b, NULL);
    return INFINO_OK;
}

/* Header value: leading and trailing spaces removed, runs of spaces and
 * tabs inside collapsed to one space. */
static char *trim_dup(const char *s)
{
    size_t n = strlen(s), j = 0;
    char *out = mem_alloc(n + 1);
    bool space = false;

    if (out == NULL)
        return NULL;
    while (*s == ' ' || *s == '\t')
        s++;
    for (; *s; s++) {
        if (*s == ' ' || *s == '\t') {
            space = true;
            continue;
        }
        if (space && j > 0)
            out[j++] = ' ';
        space = false;
        out[j++] = *s;
    }
    out[j] = '\0';
    return out;
}

static char *lower_dup(const char *s)
{
    char *out = mem_strdup(s);

    for (char *p = out; p && *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return out;
}

static infino_status sorted_query(struct item **out, const struct sigv4_input *in)
{
    struct item *v = mem_calloc(in->n_query ? in->n_query : 1, sizeof *v);
    infino_status st = INFINO_OK;

    *out = NULL;
    if (v == NULL)
        return err_nomem();
    for (size_t i = 0; i < in->n_query; i++) {
        CHECK(encode_dup(&v[i].name, in->query[i].name));
        CHECK(encode_dup(&v[i].value,
                         in->query[i].value ? in->query[i].value : ""));
    }
    qsort(v, in->n_query, sizeof *v, cmp_query);
    *out = v;
    return INFINO_OK;
fail:
    items_free(v, in->n_query);
    return st;
}

static infino_status sorted_headers(struct item **out,
                                    const struct sigv4_input *in)
{
    struct item *v = mem_calloc(in->n_headers ? in->n_headers : 1, sizeof *v);

    *out = NULL;
    if (v == NULL)
        return err_nomem();
    for (size_t i = 0; i < in->n_headers; i++) {
        v[i].name = lower_dup(in->headers[i].name);
        v[i].value = trim_dup(in->headers[i].value);
        v[i].order = i;
        if (v[i].name == NULL || v[i].value == NULL) {
            items_free(v, in->n_headers);
            return err_nomem();
        }
    }
    qsort(v, in->n_headers, sizeof *v, cmp_header);
    *out = v;
    return INFINO_OK;
}

/* "host;x-amz-date": the distinct names, sorted. */
static infino_status signed_headers(struct buf *out, const struct item *h,
                                    size_t n)
{
    infino_status st = INFINO_OK;

    for (size_t i = 0; st == INFINO_OK && i < n; i++) {
        if (i > 0 && strcmp(h[i].name, h[i - 1].name) == 0)
            continue;
        if (i > 0)
            st = buf_put_u8(out, ';');
        if (st == INFINO_OK)
            st = buf_append_str(out, h[i].name);
    }
    return st;
}

static infino_status canonical(struct buf *out, struct buf *signed_out,
                               const struct sigv4_input *in)
{
    struct item *q = NULL, *h = NULL;
    infino_status st;

    CHECK(sorted_query(&q, in));
    CHECK(sorted_headers(&h, in));
    CHECK(buf_append_str(out, in->method));
    CHECK(buf_put_u8(out, '\n'));
    CHECK(sigv4_uri_encode(out, in->path, strlen(in->path), true));
    CHECK(buf_put_u8(out, '\n'));
    for (size_t i = 0; i < in->n_query; i++)
        CHECK(buf_printf(out, "%s%s=%s", i ? "&" : "", q[i].name, q[i].value));
    CHECK(buf_put_u8(out, '\n'));
    for (size_t i = 0; i < in->n_headers; i++) {
        bool first = i == 0 || strcmp(h[i].name, h[i - 1].name) != 0;
        bool last = i + 1 == in->n_headers ||
                    strcmp(h[i].name, h[i + 1].name) != 0;
        if (first)
            CHECK(buf_printf(out, "%s:", h[i].name));
        else
            CHECK(buf_put_u8(out, ','));
        CHECK(buf_append_str(out, h[i].value));
        if (last)
            CHECK(buf_put_u8(out, '\n'));
    }
    CHECK(buf_put_u8(out, '\n'));
    CHECK(signed_headers(out, h, in->n_headers));
    if (signed_out)
        CHECK(signed_headers(signed_out, h, in->n_headers));
    CHECK(buf_put_u8(out, '\n'));
    CHECK(buf_append_str(out, in->payload_hash));
fail:
    items_free(q, in->n_query);
    items_free(h, in->n_headers);
    return st;
}

infino_status sigv4_canonical_request(struct buf *out,
                                      const struct sigv4_input *in)
{
    return canonical(out, NULL, in);
}

infino_status sigv4_string_to_sign(struct buf *out,
                                   const struct sigv4_input *in,
                                   const char *canonical_request)
{
    char hash[65];

    if (strlen(in->amz_date) != 16)
        return err_set(INFINO_ERR_INVALID, "sigv4: bad x-amz-date '%s'",
                       in->amz_date);
    sigv4_sha256_hex(hash, canonical_request, strlen(canonical_request));
    return buf_printf(out, ALGORITHM "\n%s\n%.8s/%s/%s/aws4_request\n%s",
                      in->amz_date, in->amz_date, in->region, in->service,
                      hash);
}

infino_status sigv4_authorization(struct buf *out, const struct sigv4_input *in,
                                  char *signature_out)
{
    struct buf creq = {0}, sts = {0}, sh = {0};
    uint8_t key[32], sig[32];
    char date[9], sig_hex[65];
    infino_status st;

    CHECK(canonical(&creq, &sh, in));
    CHECK(buf_put_u8(&creq, 0));
    CHECK(sigv4_string_to_sign(&sts, in, (const char *)creq.data));
    CHECK(buf_put_u8(&sh, 0));
    memcpy(date, in->amz_date, 8);
    date[8] = '\0';
    sigv4_signing_key(key, in->secret_key, date, in->region, in->service);
    hmac(sig, key, sizeof key, (const char *)sts.data, sts.len);
    OPENSSL_cleanse(key, sizeof key);
    hex_encode(sig_hex, sig, sizeof sig);
    CHECK(buf_printf(out,
                     ALGORITHM " Credential=%s/%s/%s/%s/aws4_request, "
                               "SignedHeaders=%s, Signature=%s",
                     in->access_key, date, in->region, in->service,
                     (const char *)sh.data, sig_hex));
    if (signature_out)
        memcpy(signature_out, sig_hex, sizeof sig_hex);
fail:
    buf_free(&creq);
    buf_free(&sts);
    buf_free(&sh);
    return st;
}
