/*
 * doc.h - sealed binary documents: magic, version, body, CRC-32C.
 *
 *   [8-byte magic][u32 LE format version][body ...][u32 LE crc32c]
 *
 * The CRC covers everything before it. Manifests (catalog versions, table
 * snapshots, tombstone files) are written this way, so a torn or flipped
 * byte is detected before any field is decoded.
 */
#ifndef INFINO_UTIL_DOC_H
#define INFINO_UTIL_DOC_H

#include "buf.h"
#include "rd.h"

#define DOC_MAGIC_LEN 8

/* Starts a document in the empty buffer `b`. */
infino_status doc_begin(struct buf *b, const char magic[DOC_MAGIC_LEN],
                        uint32_t version);
/* Seals it: appends the CRC of everything written so far. */
infino_status doc_seal(struct buf *b);

/* Checks magic and CRC of `n` bytes at `p`; on success *body covers the
 * body and *version_out holds the format version. `name` is used in
 * errors (INFINO_ERR_CORRUPT). */
infino_status doc_open(struct rd *body, uint32_t *version_out, const void *p,
                       size_t n, const char magic[DOC_MAGIC_LEN],
                       const char *name);

/* Length-prefixed (uvarint) byte strings. */
infino_status doc_put_bytes(struct buf *b, const void *p, size_t n);
/* Borrows: *p_out points into the input. -1 on truncation. */
int doc_get_bytes(struct rd *r, const uint8_t **p_out, size_t *n_out);

#endif
