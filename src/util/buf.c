/*
 * buf.c - growable byte buffer (see buf.h).
 */
#include "buf.h"

#include "alloc.h"
#include "endian.h"
#include "err.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

infino_status buf_reserve(struct buf *b, size_t extra)
{
    size_t need, cap;
    uint8_t *p;

    if (extra <= b->cap - b->len)
        return INFINO_OK;
    if (extra > SIZE_MAX - b->len)
        return err_nomem();
    need = b->len + extra;
    cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap = cap > SIZE_MAX / 2 ? need : cap * 2;
    p = mem_realloc(b->data, cap);
    if (p == NULL)
        return err_nomem();
    b->data = p;
    b->cap = cap;
    return INFINO_OK;
}

infino_status buf_append(struct buf *b, const void *p, size_t n)
{
    infino_status st;

    if (n == 0)
        return INFINO_OK;
    st = buf_reserve(b, n);
    if (st != INFINO_OK)
        return st;
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return INFINO_OK;
}

infino_status buf_append_zeros(struct buf *b, size_t n)
{
    infino_status st = buf_reserve(b, n);

    if (st != INFINO_OK)
        return st;
    if (n)
        memset(b->data + b->len, 0, n);
    b->len += n;
    return INFINO_OK;
}

infino_status buf_append_str(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

infino_status buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;
    infino_status st;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return err_set(INFINO_ERR_INVALID, "bad format string");
    st = buf_reserve(b, (size_t)n + 1);
    if (st != INFINO_OK)
        return st;
    va_start(ap, fmt);
    vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return INFINO_OK;
}

infino_status buf_put_u8(struct buf *b, uint8_t v)
{
    return buf_append(b, &v, 1);
}

infino_status buf_put_u16le(struct buf *b, uint16_t v)
{
    uint8_t t[2];

    store_u16le(t, v);
    return buf_append(b, t, 2);
}

infino_status buf_put_u32le(struct buf *b, uint32_t v)
{
    uint8_t t[4];

    store_u32le(t, v);
    return buf_append(b, t, 4);
}

infino_status buf_put_u64le(struct buf *b, uint64_t v)
{
    uint8_t t[8];

    store_u64le(t, v);
    return buf_append(b, t, 8);
}

infino_status buf_put_uvarint(struct buf *b, uint64_t v)
{
    uint8_t t[10];
    size_t n = 0;

    while (v >= 0x80) {
        t[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    t[n++] = (uint8_t)v;
    return buf_append(b, t, n);
}

infino_status buf_put_svarint(struct buf *b, int64_t v)
{
    return buf_put_uvarint(b, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

void buf_reset(struct buf *b)
{
    b->len = 0;
}

void buf_free(struct buf *b)
{
    mem_free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

uint8_t *buf_detach(struct buf *b, size_t *len_out)
{
    uint8_t *p = b->data;

    if (len_out)
        *len_out = b->len;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
