/*
 * sigv4.h - AWS Signature Version 4 for the Authorization header.
 *
 * Written from AWS's specification ("Create a signed AWS API request" and,
 * for S3's rules, "Signature Calculations for the Authorization Header:
 * Transferring Payload in a Single Chunk"): a canonical request, the
 * string to sign, a signing key derived by four HMAC-SHA256 steps, and the
 * header value. S3's URI rules apply: the path is percent-encoded once and
 * never normalized, '/' is kept in the path and encoded in the query.
 * Checked against AWS's published test suite (tests/unit/store_sigv4_test.c).
 */
#ifndef INFINO_STORE_SIGV4_H
#define INFINO_STORE_SIGV4_H

#include "infino.h"
#include "util/buf.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* "UNSIGNED-PAYLOAD" or the hex SHA-256 of the body. */
#define SIGV4_UNSIGNED_PAYLOAD "UNSIGNED-PAYLOAD"
/* The hex SHA-256 of zero bytes. */
#define SIGV4_EMPTY_SHA256                                                     \
    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"

/* A name and a value; both borrowed. */
struct sigv4_kv {
    const char *name;
    const char *value;
};

/* One request to sign. Every pointer is borrowed for the call. */
struct sigv4_input {
    const char *method; /* "GET", "PUT", ... */
    const char *path;   /* absolute, not encoded: "/bucket/a b.txt" */
    const struct sigv4_kv *query; /* not encoded; any order */
    size_t n_query;
    /* every header to sign, as sent (any case, any order; repeated names
     * are joined in order); must include host and x-amz-date */
    const struct sigv4_kv *headers;
    size_t n_headers;
    const char *payload_hash; /* hex SHA-256 or SIGV4_UNSIGNED_PAYLOAD */
    const char *amz_date;     /* "20150830T123600Z" (UTC) */
    const char *region;       /* "us-east-1" */
    const char *service;      /* "s3" */
    const char *access_key;
    const char *secret_key;
};

/* Appends `n` bytes of `s` percent-encoded: every byte but A-Z a-z 0-9
 * '-' '.' '_' '~' becomes %XX (upper-case hex); '/' is kept when
 * `keep_slash` (paths) and encoded otherwise (query names and values). */
infino_status sigv4_uri_encode(struct buf *out, const char *s, size_t n,
                               bool keep_slash);

/* The canonical request (no trailing newline), the first step. */
infino_status sigv4_canonical_request(struct buf *out,
                                      const struct sigv4_input *in);

/* The string to sign for a canonical request. */
infino_status sigv4_string_to_sign(struct buf *out,
                                   const struct sigv4_input *in,
                                   const char *canonical_request);

/* The Authorization header value, e.g. "AWS4-HMAC-SHA256
 * Credential=AKID/20150830/us-east-1/service/aws4_request,
 * SignedHeaders=host;x-amz-date, Signature=<64 hex>". Appended to `out`.
 * With `signature_out` (65 bytes) the bare signature is copied there too. */
infino_status sigv4_authorization(struct buf *out, const struct sigv4_input *in,
                                  char *signature_out);

/* kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region),
 * service), "aws4_request"), with `date` as YYYYMMDD. */
void sigv4_signing_key(uint8_t out[32], const char *secret, const char *date,
                       const char *region, const char *service);

/* Hex SHA-256 of `n` bytes (65 bytes with the NUL). */
void sigv4_sha256_hex(char out[65], const void *p, size_t n);

/* "YYYYMMDDTHHMMSSZ" for `t` (UTC) into out (17 bytes with the NUL). */
void sigv4_amz_date(char out[17], time_t t);

#endif
