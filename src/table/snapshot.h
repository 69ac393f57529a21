/*
 * snapshot.h - one version of a table: its live superfiles and tombstones.
 *
 * Snapshots are immutable, numbered (vlog.h, under "<table>/snapshots/")
 * and complete: a reader needs only the newest snapshot to know every file
 * that makes up the table. Each superfile entry carries what queries need
 * before opening the file: row and deletion counts, the _id range, and
 * per full-text column token totals (for table-global BM25 statistics).
 *
 * Each version is stored as a checkpoint (the whole list) or as a delta
 * from its parent (superfiles removed, changed, added), with a full
 * checkpoint every SNAP_CHECKPOINT_EVERY versions, so a commit writes
 * what it changed rather than the whole table, and a reader catching up
 * reads only the versions it missed.
 *
 * Encoding ("INFSNAP1" sealed document, see util/doc.h), version 2:
 *   uvarint version | uvarint parent | svarint created_ns | uvarint n_fts
 *   | uvarint chain (0: checkpoint; k: the k-th delta after one)
 *   checkpoint: uvarint n_superfiles | per superfile: bytes record
 *   delta (parent = version - 1): uvarint n_removed | n_removed x 16-byte
 *   id | uvarint n_changed | records (replace the entry with that id, in
 *   place) | uvarint n_added | records (appended, in order)
 * record: 16 id | uvarint n_rows | uvarint file_size | 4 x u64le
 *   id_min.hi id_min.lo id_max.hi id_max.lo | uvarint n_deleted | u64le
 *   tomb_id | uvarint added_version | n_fts x uvarint total_tokens
 *   [| uvarint file_crc + 1 (0: none), CRC-32C of the whole file]
 * Readers ignore bytes after the fields they know at the end of a
 * record, so later versions can append fields (file_crc came that way:
 * records without it read as "no checksum").
 *
 * Version 3 (written only once a table's schema has grown, so tables that
 * never changed it stay readable by builds that predate it) adds after
 * the header's chain: uvarint schema_id | bytes schema (the whole user
 * schema, an Arrow IPC schema message). Version 2 documents have
 * schema_id 0: the table has the schema its catalog entry records.
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
    bool has_file_crc;    /* file_crc is known (written since it existed) */
    uint32_t file_crc;    /* CRC-32C of the whole superfile */
};

#define SNAP_CHECKPOINT_EVERY 64

struct snapshot {
    uint64_t version; /* 0: the empty table before any commit */
    uint64_t parent;
    uint64_t chain; /* deltas since the last checkpoint (0: a checkpoint) */
    int64_t created_ns;
    uint32_t n_fts;
    size_t n_sf;
    struct snap_sf *sf; /* owned; entry i's fts_tokens points into tokens */
    size_t sf_cap;      /* capacity of sf (and tokens), in entries */
    uint64_t *tokens;   /* owned: n_fts counts per entry, in entry order */
    /* owned: superfile id -> index + 1 (0: empty), open addressing; lets
     * a commit find an entry without sorting or scanning the list */
    uint32_t *slots;
    size_t n_slots; /* a power of two, over twice n_sf */
    /* Schema evolution (tbl_add_columns): 0 while the table has its
     * catalog schema; else bumped by every change, and schema_ipc (owned,
     * schema_len bytes) is the user schema as an Arrow IPC message. */
    uint64_t schema_id;
    uint8_t *schema_ipc;
    size_t schema_len;
};

/* Encodes `s` as a checkpoint (whatever s->chain says). */
infino_status snapshot_encode(struct buf *out, const struct snapshot *s);
/* Encodes `next` as a delta from `base` (next->parent == base->version,
 * next->chain == base->chain + 1). */
infino_status snapshot_encode_delta(struct buf *out,
                                    const struct snapshot *next,
                                    const struct snapshot *base);
/* Encodes `next` as a delta from its parent, given what changed: the ids
 * removed, the indexes in `next` of changed entries, and the entries added
 * (next->sf[first_added..n_sf), appended by the commit). O(change). */
infino_status snapshot_encode_change(struct buf *out,
                                     const struct snapshot *next,
                                     const uint8_t (*removed)[SNAP_SF_ID_LEN],
                                     size_t n_removed, const size_t *changed,
                                     size_t n_changed, size_t first_added);

/* One decoded snapshot object: a checkpoint or a delta. */
struct snap_doc {
    uint64_t version, parent, chain;
    int64_t created_ns;
    uint32_t n_fts;
    struct snapshot full; /* chain == 0 */
    uint8_t (*removed)[SNAP_SF_ID_LEN]; /* chain > 0 */
    size_t n_removed;
    struct snap_sf *changed, *added;
    uint64_t *changed_tokens, *added_tokens; /* their fts_tokens' blocks */
    size_t n_changed, n_added;
    uint64_t schema_id; /* as in struct snapshot (a delta's too) */
    uint8_t *schema_ipc; /* owned; NULL when schema_id == 0 */
    size_t schema_len;
};
/* Decodes untrusted bytes; `name` appears in errors. *out owned. */
infino_status snap_doc_decode(struct snap_doc *out, const uint8_t *p,
                              size_t n, const char *name);
void snap_doc_free(struct snap_doc *d);
/* The snapshot `d` describes: its own list for a checkpoint, or `base`
 * (which must be its parent) changed by it. *out owned. */
infino_status snapshot_apply_doc(struct snapshot *out,
                                 const struct snapshot *base,
                                 const struct snap_doc *d, const char *name);
/* Decodes a checkpoint (a delta is INFINO_ERR_INVALID). *out owned. */
infino_status snapshot_decode(struct snapshot *out, const uint8_t *p, size_t n,
                              const char *name);

infino_status snapshot_copy(struct snapshot *out, const struct snapshot *s);
/* Replaces s's schema by schema_id and a copy of `ipc` (len bytes). */
infino_status snapshot_set_schema(struct snapshot *s, uint64_t schema_id,
                                  const uint8_t *ipc, size_t len);
void snapshot_free(struct snapshot *s); /* leaves it zeroed */

/* Appends a copy of `e` (fts_tokens copied, n_fts entries). Does not
 * check that the id is new (decoders do, with snapshot_find_sf). */
infino_status snapshot_add_sf(struct snapshot *s, const struct snap_sf *e);
/* Removes entry i, keeping order (O(n)). */
infino_status snapshot_remove_sf(struct snapshot *s, size_t i);
/* Replaces entry i by a copy of `e` (fts_tokens copied) in place, so the
 * superfile order is kept; `e`'s id must not be listed elsewhere. A delta
 * cannot express this (its additions go last): a snapshot with such a
 * change is written as a checkpoint. */
infino_status snapshot_replace_sf(struct snapshot *s, size_t i,
                                  const struct snap_sf *e);
/* Index of the superfile with `id`, or -1. O(1). */
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
