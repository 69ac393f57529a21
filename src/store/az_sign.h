/*
 * az_sign.h - Azure Storage Shared Key authorization (Blob service), from
 * Microsoft's "Authorize with Shared Key" (version 2009-09-19 and later):
 * the string to sign of the standard headers, the canonicalized x-ms-
 * headers and the canonicalized resource, signed HMAC-SHA256 with the
 * base64-decoded account key.
 *
 * The key never appears in a message. Not useful for: Shared Key Lite,
 * the Table service's rules.
 */
#ifndef INFINO_STORE_AZ_SIGN_H
#define INFINO_STORE_AZ_SIGN_H

#include "infino.h"
#include "util/buf.h"

#include <stddef.h>
#include <stdint.h>

struct az_kv {
    const char *name;
    const char *value;
};

/* One request, as it will be sent. Everything borrowed. */
struct az_sign_input {
    const char *method;
    const char *account;
    /* the URI path exactly as sent (percent-encoded), e.g.
     * "/mycontainer/a%20b"; for the emulator's path-style URLs it starts
     * with "/devstoreaccount1" */
    const char *path;
    const struct az_kv *query; /* decoded names and values */
    size_t n_query;
    /* every header the request carries (any case): the standard ones
     * that are signed and the x-ms- ones */
    const struct az_kv *headers;
    size_t n_headers;
    uint64_t content_length; /* the body's length; 0: signed as "" */
};

/* Appends the string to sign (no trailing newline). */
infino_status az_string_to_sign(struct buf *out,
                                const struct az_sign_input *in);

/* Appends "SharedKey ACCOUNT:SIGNATURE" for the base64 account `key`.
 * INFINO_ERR_INVALID (naming no value) when the key is not base64. */
infino_status az_shared_key(struct buf *out, const struct az_sign_input *in,
                            const char *key);

#endif
