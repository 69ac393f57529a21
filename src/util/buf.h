/*
 * buf.h - a growable byte buffer (cf. curl's dynbuf).
 *
 * Invariant: len <= cap; data is NULL only when cap == 0. A zeroed struct buf
 * is a valid empty buffer. Appends grow geometrically; on failure the buffer
 * is left as it was and INFINO_ERR_NOMEM is returned.
 */
#ifndef INFINO_UTIL_BUF_H
#define INFINO_UTIL_BUF_H

#include "infino.h"

#include <stddef.h>
#include <stdint.h>

struct buf {
    uint8_t *data; /* owned */
    size_t len;
    size_t cap;
};

/* Ensures room for `extra` more bytes without reallocating. */
infino_status buf_reserve(struct buf *b, size_t extra);
infino_status buf_append(struct buf *b, const void *p, size_t n);
infino_status buf_append_zeros(struct buf *b, size_t n);
infino_status buf_append_str(struct buf *b, const char *s);
infino_status buf_printf(struct buf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
infino_status buf_put_u8(struct buf *b, uint8_t v);
infino_status buf_put_u16le(struct buf *b, uint16_t v);
infino_status buf_put_u32le(struct buf *b, uint32_t v);
infino_status buf_put_u64le(struct buf *b, uint64_t v);
/* Unsigned LEB128 / zigzag-LEB128 varints. */
infino_status buf_put_uvarint(struct buf *b, uint64_t v);
infino_status buf_put_svarint(struct buf *b, int64_t v);

/* Empties the buffer, keeping its memory. */
void buf_reset(struct buf *b);
/* Releases the memory; the buffer is empty and reusable afterwards. */
void buf_free(struct buf *b);
/* Moves: returns the data (owned by the caller, NULL if empty) and leaves
 * the buffer empty. */
uint8_t *buf_detach(struct buf *b, size_t *len_out);

#endif
