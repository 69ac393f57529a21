/*
 * snapshot.h - one version of a table: its live superfiles and tombstones.
 *
 * Snapshots are immutable, numbered (vlog.h, under "<table>/snapshots/")
 * and complete: a reader needs only the newest snapshot to know every file
 * that makes up the table. Each superfile entry carries what queries need
 * before opening the file: row and deletion counts, the _id range, and
 * per full-text column token totals (for table-global BM25 statistics).
 *
 * Encoding ("INFSNAP1" sealed document, see util/doc.h), version 1:
 *   uvarint version | uvarint parent | svarint created_ns | uvarint n_fts
 *   | uvarint n_superfiles | per superfile: bytes record
 * record: 16 id | uvarint n_rows | uvarint file_size | 4 x u64le
 *   id_min.hi id_min.lo id_max.hi id_max.lo | uvarint n_deleted | u64le
 *   tomb_id | uvarint added_version | n_fts x uvarint total_tokens
 * Readers ignore bytes after the fields they know at the end of a
 * record, so later versions can append fields.
 */
#ifndef INFINO_TABLE_SNAPSHOT_H
#define INFINO_TABLE_SNAPSHOT_H

#include "util/buf.h"
#include "util/tid.h"

#include <stdbool.h>


#define SNAP_SF_ID_LEN 16

struct snap_sf {
    uint8_t id[SNAP_SF_ID_LEN]; /* random; names the file */
    uint64_t n_rows;            /* rows in the file, deleted included */
    uint64_t file_size;
    struct tid id_min, id_max;
    uint64_t n_deleted; /* rows tombstoned */
    uint64_t tomb_id;   /* 0: no tombstone file; else names it */
    uint64_t added_version;
    uint64_t *fts_tokens; /* owned, n_fts entries: tokens per FTS column */
};

struct snapshot {
    uint64_t version; /* 0: the empty table before any commit */
    uint64_t parent;
    int64_t created_ns;
    uint32_t n_fts;
    size_t n_sf;
    struct snap_sf *sf; /* owned */
    size_t sf_cap;      /* capacity of sf, in entries */
};

infino_status snapshot_encode(struct buf *out, const struct snapshot *s);
/* Decodes untrusted bytes; `name` appears in errors. *out owned. */
infino_status snapshot_decode(struct snapshot *out, const uint8_t *p, size_t n,
                              const char *name);

infino_status snapshot_copy(struct snapshot *out, const struct snapshot *s);
void snapshot_free(struct snapshot *s); /* leaves it zeroed */

/* Appends a copy of `e` (fts_tokens copied, n_fts entries). */
infino_status snapshot_add_sf(struct snapshot *s, const struct snap_sf *e);
/* Removes entry i (freeing it), keeping order. */
void snapshot_remove_sf(struct snapshot *s, size_t i);
/* Index of the superfile with `id`, or -1. */
long snapshot_find_sf(const struct snapshot *s,
                      const uint8_t id[SNAP_SF_ID_LEN]);

/* Superfile ids sorted, for O(log n) lookups in large snapshots. */
struct snap_index_entry {
    uint8_t id[SNAP_SF_ID_LEN];
    uint32_t at; /* index into the snapshot's superfiles */
};
struct snap_index {
    struct snap_index_entry *order; /* owned, sorted by id */
    size_t n;
};
infino_status snap_index_build(struct snap_index *out,
                               const struct snapshot *s);
/* Index of the superfile with `id`, or -1. */
long snap_index_find(const struct snap_index *x,
                     const uint8_t id[SNAP_SF_ID_LEN]);
void snap_index_free(struct snap_index *x);

/* Rows not deleted, over all superfiles. */
uint64_t snapshot_live_rows(const struct snapshot *s);

/* Object keys, relative to the table folder: "superfiles/<hex>.sf.parquet"
 * and "tombstones/<hex>-<hex tomb_id>.del". cap >= 64. */
void snapshot_sf_key(char *out, size_t cap, const char *dir,
                     const uint8_t id[SNAP_SF_ID_LEN]);
void snapshot_tomb_key(char *out, size_t cap, const char *dir,
                       const uint8_t id[SNAP_SF_ID_LEN], uint64_t tomb_id);

#endif
