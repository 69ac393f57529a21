/*
 * tomb.h - tombstone files: which rows of one superfile are deleted.
 *
 * A tombstone file is immutable: deleting more rows writes a new file
 * holding the union, and the next snapshot points at it. Encoding: sealed
 * document "INFTOMB1" with body 16-byte superfile id | uvarint count |
 * bytes (CRoaring portable serialization of local row numbers).
 */
#ifndef INFINO_TABLE_TOMB_H
#define INFINO_TABLE_TOMB_H

#include "snapshot.h"
#include "store/objstore.h"

#include <roaring/roaring.h>

/* Loads `key`, checking it belongs to superfile `sf_id` and that no row is
 * >= n_rows. *out is owned (roaring_bitmap_free). */
infino_status tomb_load(roaring_bitmap_t **out, struct objstore *s,
                        const char *key, const uint8_t sf_id[SNAP_SF_ID_LEN],
                        uint64_t n_rows);
/* Decodes tombstone bytes (exposed for the fuzz target). */
infino_status tomb_decode(roaring_bitmap_t **out, const uint8_t *p, size_t n,
                          const char *name, const uint8_t sf_id[SNAP_SF_ID_LEN],
                          uint64_t n_rows);

/* Writes `bm` as a new object `key` (create-if-absent, durable). */
infino_status tomb_store(struct objstore *s, const char *key,
                         const uint8_t sf_id[SNAP_SF_ID_LEN],
                         const roaring_bitmap_t *bm);

#endif
