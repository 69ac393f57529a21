/*
 * base64.h - RFC 4648 base64 (standard alphabet, '=' padding).
 *
 * Parquet files written by Arrow keep the Arrow schema base64-encoded in the
 * "ARROW:schema" key-value entry.
 */
#ifndef INFINO_UTIL_BASE64_H
#define INFINO_UTIL_BASE64_H

#include "buf.h"

/* Appends the encoding of `n` bytes to `out`. */
infino_status base64_encode(struct buf *out, const void *p, size_t n);
/* Appends the decoded bytes to `out`. Whitespace is not accepted; missing
 * trailing padding is tolerated. INFINO_ERR_CORRUPT on bad input. */
infino_status base64_decode(struct buf *out, const char *s, size_t n);

#endif
