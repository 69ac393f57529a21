/*
 * az_sign.c - Shared Key signatures for Azure Blob requests (see
 * az_sign.h). Section names below are those of Microsoft's "Authorize with
 * Shared Key" page.
 */
#include "az_sign.h"

#include "util/alloc.h"
#include "util/base64.h"
#include "util/err.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const char *header(const struct az_sign_input *in, const char *name)
{
    for (size_t i = 0; i < in->n_headers; i++)
        if (strcasecmp(in->headers[i].name, name) == 0)
            return in->headers[i].value;
    return "";
}

static int by_name(const void *a, const void *b)
{
    const struct az_kv *x = a, *y = b;
    int c = strcasecmp(x->name, y->name);

    return c ? c : strcmp(x->value, y->value);
}

static infino_status put_lower(struct buf *out, const char *s)
{
    infino_status st = INFINO_OK;

    for (; *s && st == INFINO_OK; s++)
        st = buf_put_u8(out, (uint8_t)((*s >= 'A' && *s <= 'Z') ? *s + 32
                                                                 : *s));
    return st;
}

/* "Constructing the canonicalized headers string": x-ms- headers, names
 * lower-cased, sorted, values with runs of white space made one space and
 * the ends trimmed, each "name:value\n". */
static infino_status canonical_headers(struct buf *out,
                                       const struct az_sign_input *in)
{
    struct az_kv *h = mem_alloc((in->n_headers + 1) * sizeof *h);
    size_t n = 0;
    infino_status st = INFINO_OK;

    if (h == NULL)
        return err_nomem();
    for (size_t i = 0; i < in->n_headers; i++)
        if (strncasecmp(in->headers[i].name, "x-ms-", 5) == 0)
            h[n++] = in->headers[i];
    qsort(h, n, sizeof *h, by_name);
    for (size_t i = 0; i < n && st == INFINO_OK; i++) {
        const char *v = h[i].value;
        bool space = false;
        st = put_lower(out, h[i].name);
        if (st == INFINO_OK)
            st = buf_put_u8(out, ':');
        while (*v == ' ' || *v == '\t')
            v++;
        for (; *v && st == INFINO_OK; v++) {
            if (*v == ' ' || *v == '\t' || *v == '\r' || *v == '\n') {
                space = true;
                continue;
            }
            if (space)
                st = buf_put_u8(out, ' ');
            space = false;
            if (st == INFINO_OK)
                st = buf_put_u8(out, (uint8_t)*v);
        }
        if (st == INFINO_OK)
            st = buf_put_u8(out, '\n');
    }
    mem_free(h);
    return st;
}

/* "Shared Key format for 2009-09-19 and later": "/" account, the encoded
 * path, then each query parameter as "\nname:value", names lower-cased
 * and sorted, the values of a repeated name sorted and comma-joined. */
static infino_status canonical_resource(struct buf *out,
                                        const struct az_sign_input *in)
{
    struct az_kv *q = NULL;
    infino_status st;

    CHECK(buf_put_u8(out, '/'));
    CHECK(buf_append_str(out, in->account));
    CHECK(buf_append_str(out, in->path));
    if (in->n_query == 0)
        return INFINO_OK;
    q = mem_alloc(in->n_query * sizeof *q);
    if (q == NULL)
        return err_nomem();
    memcpy(q, in->query, in->n_query * sizeof *q);
    qsort(q, in->n_query, sizeof *q, by_name);
    for (size_t i = 0; i < in->n_query; i++) {
        bool same = i > 0 && strcasecmp(q[i].name, q[i - 1].name) == 0;
        if (same) {
            CHECK(buf_put_u8(out, ','));
        } else {
            CHECK(buf_put_u8(out, '\n'));
            CHECK(put_lower(out, q[i].name));
            CHECK(buf_put_u8(out, ':'));
        }
        CHECK(buf_append_str(out, q[i].value ? q[i].value : ""));
    }
    st = INFINO_OK;
fail:
    mem_free(q);
    return st;
}

infino_status az_string_to_sign(struct buf *out,
                                const struct az_sign_input *in)
{
    /* "Blob, Queue, and File services (Shared Key authorization)": the
     * verb and eleven standard headers, each followed by "\n" */
    static const char *const standard[] = {
        "Content-Encoding", "Content-Language", NULL /* Content-Length */,
        "Content-MD5", "Content-Type", "Date", "If-Modified-Since",
        "If-Match", "If-None-Match", "If-Unmodified-Since", "Range",
    };
    infino_status st;

    CHECK(buf_append_str(out, in->method));
    CHECK(buf_put_u8(out, '\n'));
    for (size_t i = 0; i < sizeof standard / sizeof standard[0]; i++) {
        if (standard[i] == NULL) {
            /* version 2015-02-21 and later: empty when zero */
            if (in->content_length > 0)
                CHECK(buf_printf(out, "%llu",
                                 (unsigned long long)in->content_length));
        } else {
            CHECK(buf_append_str(out, header(in, standard[i])));
        }
        CHECK(buf_put_u8(out, '\n'));
    }
    CHECK(canonical_headers(out, in));
    CHECK(canonical_resource(out, in));
    return INFINO_OK;
fail:
    return st;
}

infino_status az_shared_key(struct buf *out, const struct az_sign_input *in,
                            const char *key)
{
    struct buf sts = {0}, k = {0};
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    infino_status st;

    if (base64_decode(&k, key, strlen(key)) != INFINO_OK || k.len == 0) {
        st = err_set(INFINO_ERR_INVALID,
                     "the Azure account key is not base64");
        goto fail;
    }
    CHECK(az_string_to_sign(&sts, in));
    if (HMAC(EVP_sha256(), k.data, (int)k.len, sts.data, sts.len, mac,
             &mac_len) == NULL) {
        st = err_set(INFINO_ERR_IO, "HMAC-SHA256 failed");
        goto fail;
    }
    CHECK(buf_printf(out, "SharedKey %s:", in->account));
    CHECK(base64_encode(out, mac, mac_len));
    st = INFINO_OK;
fail:
    if (k.data)
        memset(k.data, 0, k.cap);
    buf_free(&k);
    buf_free(&sts);
    return st;
}
