/*
 * base64.c - RFC 4648 section 4 base64 codec.
 */
#include "base64.h"

#include "err.h"

static const char alphabet[] =
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

infino_status base64_encode(struct buf *out, const void *data, size_t n)
{
    const uint8_t *p = data;
    infino_status st;
    size_t i;
    char *o;

    if (n == 0)
        return INFINO_OK;
    st = buf_reserve(out, (n + 2) / 3 * 4);
    if (st != INFINO_OK)
        return st;
    o = (char *)out->data + out->len;
    for (i = 0; i + 3 <= n; i += 3) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = alphabet[v & 63];
    }
    if (n - i == 1) {
        uint32_t v = (uint32_t)p[i] << 16;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = '=';
        *o++ = '=';
    } else if (n - i == 2) {
        uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
        *o++ = alphabet[v >> 18];
        *o++ = alphabet[(v >> 12) & 63];
        *o++ = alphabet[(v >> 6) & 63];
        *o++ = '=';
    }
    out->len = (size_t)(o - (char *)out->data);
    return INFINO_OK;
}

static int value_of(char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

infino_status base64_decode(struct buf *out, const char *s, size_t n)
{
    infino_status st;
    uint32_t acc = 0;
    int bits = 0;
    size_t i, pad = 0;

    while (n > 0 && s[n - 1] == '=' && pad < 2) {
        n--;
        pad++;
    }
    if (n % 4 == 1)
        return err_set(INFINO_ERR_CORRUPT, "base64: bad length");
    st = buf_reserve(out, n / 4 * 3 + 3);
    if (st != INFINO_OK)
        return st;
    for (i = 0; i < n; i++) {
        int v = value_of(s[i]);
        if (v < 0)
            return err_set(INFINO_ERR_CORRUPT,
                           "base64: bad character at offset %zu", i);
        acc = acc << 6 | (uint32_t)v;
        bits += 6;
        if (bits >= 8) {
            bits -= 8;
            out->data[out->len++] = (uint8_t)(acc >> bits);
        }
    }
    return INFINO_OK;
}
