/*
 * table_int.h - private structures of the table module.
 */
#ifndef INFINO_TABLE_INT_H
#define INFINO_TABLE_INT_H

#include "idgen.h"
#include "lease.h"
#include "table.h"
#include "vlog.h"

#include <pthread.h>
#include <stdatomic.h>

/* A loaded tombstone bitmap, shared while its tomb_id is unchanged. */
struct tbl_tomb {
    atomic_long refs;
    uint64_t tomb_id;
    roaring_bitmap_t *bm;
};

/* A superfile of the table, shared by every view that names it (the
 * handle's registry holds one per id). It is opened (mapped) when a query
 * pins it, and closed again when it is unpinned and the handle holds more
 * than max_open open superfiles, least recently used first. */
/* memory:// only: the object of a superfile, taken when a view first
 * names it. A memory object deleted under a blob keeps its bytes for the
 * blob (objstore_memory.c), so while any view names the file, its bytes
 * outlive a gc or compaction that deletes the object: a view opens no
 * file (superfiles are opened when pinned), and on memory:// that is the
 * reader's whole protection. One ref per tbl_file and per open blob. */
struct tbl_keep {
    atomic_long refs;
    struct store_blob *blob; /* owned */
};

struct tbl_file {
    atomic_long refs; /* views naming it */
    struct tbl_keep *keep; /* memory:// only, else NULL; set at creation */
    struct tbl *t;
    uint8_t id[SNAP_SF_ID_LEN];
    uint64_t file_size, n_rows; /* as the snapshot records them */
    struct tbl_file *hnext;     /* registry chain */
    /* under t->files_mu: */
    long pins;
    struct tbl_file *lru_prev, *lru_next; /* open and unpinned only */
    struct store_blob *blob;    /* NULL while closed */
    struct sf_reader *reader;
    struct sf_indexes *indexes;
    struct tbl_tomb *tomb; /* the newest bitmap loaded for it (a ref) */
};

/* A run of TBL_CHUNK consecutive superfiles of a view, shared by the
 * views whose snapshots list the same superfiles (with the same
 * tombstones) at those positions: a commit that appends builds one new
 * chunk, not a new reference to every superfile. */
#define TBL_CHUNK 256
struct tbl_chunk {
    atomic_long refs; /* views using it */
    size_t n;         /* entries used */
    struct tbl_file *files[TBL_CHUNK]; /* one ref each */
    /* bitmaps, loaded when pinned (under t->files_mu), one ref each;
     * every view sharing the chunk expects the same tomb_id */
    struct tbl_tomb *tombs[TBL_CHUNK];
};

struct tbl_view {
    atomic_long refs;
    struct tbl *t; /* a reference: the handle lives while its views do */
    struct snapshot snap;
    struct tbl_chunk **chunks; /* ceil(n_sf / TBL_CHUNK), one ref each */
    /* reader lease on snap.version (table.c), written once under
     * t->lease_mu before the view's first query; deleted when freed */
    atomic_bool leased;
    char *lease_key; /* owned */
    atomic_llong lease_mono_ns; /* last written (under t->lease_mu) */
    /* Whether the lease vouches for the snapshot (table.c, kept_until):
     * lease_gen counts the lease writes that started a new run of fresh
     * leases (the first, and any renewal after a gap in which gc may have
     * found the lease stale); kept_gen is the run during which the
     * snapshot was last seen on storage, after that run's first write. */
    atomic_ullong lease_gen;
    atomic_ullong kept_gen;
};

/* One version of the table's schema. Columns are only ever appended, so a
 * superfile written under any version holds a prefix of the newest's
 * columns (tbl_read_columns gives the rest as nulls). A handle keeps every
 * version it has seen until it is freed: readers hold plain pointers. */
struct tbl_schema {
    uint64_t id;           /* 1: the catalog's schema */
    struct ar_schema user; /* the user's columns */
    struct ar_schema full; /* _id + user */
    struct ar_schema visible; /* full without hidden columns (readers') */
    struct tbl_schema *older;
};

struct tbl {
    atomic_long refs;       /* the handle's own, plus one per view */
    struct objstore *store; /* borrowed */
    struct cat_entry meta;  /* owned copy */
    struct vlog log;        /* "<dir>snapshots/" */
    char lease_dir[VLOG_KEY_MAX];   /* "<dir>leases/" */
    char dropped_key[VLOG_KEY_MAX]; /* exists once the table is dropped */
    /* the newest schema seen in a snapshot (under mu when replaced) */
    _Atomic(struct tbl_schema *) schema;
    struct tbl_opts opts;
    char *tmp_dir; /* owned copy of opts.tmp_dir */
    struct idgen ids;
    pthread_mutex_t mu;       /* guards current */
    pthread_mutex_t write_mu; /* one writer per handle at a time */
    struct tbl_view *current; /* newest view we know, one ref held */
    /* Set when a publish found our newest version stale beyond gc: the
     * next view is found by a full search, not from `current`. */
    atomic_bool stale;
    /* Bounded staleness (tbl_opts.max_staleness_ms; 0: off): a read may
     * reuse `current` while storage was checked less than this long ago
     * and no handle sharing `commits` committed since: checked_mono_ns is
     * when a check that completed had started (INT64_MIN: never), and
     * checked_commits what *commits read before it started. */
    int64_t max_staleness_ns;
    atomic_llong checked_mono_ns;
    atomic_ullong checked_commits;
    atomic_ullong *commits; /* opts.commits, else &own_commits */
    atomic_ullong own_commits;
    struct lease_set leases; /* held by the writer (under write_mu) */
    /* superfiles: registry and open files (tbl_file) */
    pthread_mutex_t files_mu;
    pthread_mutex_t lease_mu; /* writes of reader leases */
    int64_t read_lease_ns;    /* reader lease lifetime; 0: none */
    struct tbl_file **file_buckets;
    size_t n_file_buckets, n_files;
    struct tbl_file lru; /* sentinel: open, unpinned, most recent first */
    size_t n_open, max_open;
    /* the maintenance slot this handle holds (tbl_maint_begin), or NULL;
     * under the slot registry's mutex (tbl_reindex.c) */
    struct tbl_maint_slot *maint;
    /* automatic compaction (tbl_compact_stats) */
    atomic_ullong ac_merges, ac_inputs, ac_failures, ac_skipped;
};

/* A change computed against a base view by a transaction's prepare step. */
struct tbl_change {
    struct snap_sf *added; /* owned array (entries' fts_tokens owned) */
    size_t n_added;
    uint8_t (*removed)[SNAP_SF_ID_LEN]; /* superfiles to drop */
    size_t n_removed;
    /* tombstone replacements: superfile id -> (tomb_id, n_deleted) */
    struct tbl_tomb_update {
        uint8_t id[SNAP_SF_ID_LEN];
        uint64_t tomb_id;
        uint64_t n_deleted;
        char key[700]; /* object written by this attempt */
    } *tombs;
    size_t n_tombs;
    /* in-place replacements: superfile `old` gives its position in the
     * list to `e` (fts_tokens owned), so the table's row order is kept
     * (reindex); the snapshot is then written as a checkpoint */
    struct tbl_sf_replace {
        uint8_t old[SNAP_SF_ID_LEN];
        struct snap_sf e;
    } *replaced;
    size_t n_replaced;
    /* a new schema (tbl_add_columns): schema_id > 0, ipc owned */
    uint64_t schema_id;
    uint8_t *schema_ipc;
    size_t schema_len;
};

typedef infino_status (*tbl_prepare_fn)(struct tbl_change *chg,
                                        struct tbl_view *base, void *payload);

/* One snapshot object, checked to belong to this table and version. */
infino_status tbl_load_doc(struct snap_doc *out, struct tbl *t, uint64_t v);
/* Snapshot `target` (0: the empty table). When `have` is an older
 * snapshot of the table, only the versions after it are read; otherwise
 * the nearest checkpoint and the deltas after it. *out owned. */
infino_status tbl_load_snapshot(struct snapshot *out, struct tbl *t,
                                const struct snapshot *have, uint64_t target);

/* Runs prepare against the newest snapshot and publishes the result as the
 * next snapshot, retrying on conflict. An empty change publishes nothing.
 * Tombstone objects written by a losing attempt are deleted before
 * retrying. The caller's interrupt flag is polled just before each
 * publish (never after). *maybe_published (may be NULL) is false when
 * nothing became visible, so the caller may delete the superfiles it
 * wrote for the change; true when the commit landed, or may have. */
infino_status tbl_commit(struct tbl *t, tbl_prepare_fn prepare, void *payload,
                         bool *maybe_published);

/* Renews `v`'s reader lease when a third of its lifetime has passed
 * (cheap otherwise: one clock read). For long queries, between pieces. */
void tbl_view_touch(struct tbl_view *v);

/* Whether storage holds a snapshot newer than `version` (a failed check
 * says no). */
bool tbl_newer_exists(struct tbl *t, uint64_t version);

/* Counts a commit that became (or may have become) visible, for
 * max_staleness_ms (table.h): handles sharing the counter read afresh. */
void tbl_note_commit(struct tbl *t);

/* The handle's newest view as it stands, without asking storage (a
 * reference: tbl_view_release). Not leased: for planning only. */
struct tbl_view *tbl_view_current(struct tbl *t);

/* Automatic compaction after a commit of the writer holding write_mu
 * (tbl_optimize.c): merges while a tier is full (tbl_opts.compact_fanout).
 * Never fails: a merge that cannot be done is left, counted in the
 * handle's tbl_compact_stats, with the thread's error cleared. */
void tbl_auto_compact(struct tbl *t);

/* Makes `snap` (moved in) the handle's current view if it is newer. */
void tbl_view_install(struct tbl *t, struct snapshot *snap);

void tbl_change_free(struct tbl_change *c);
infino_status tbl_change_add_sf(struct tbl_change *c, const struct snap_sf *e,
                                uint32_t n_fts);
infino_status tbl_change_add_tomb(struct tbl_change *c,
                                  const uint8_t id[SNAP_SF_ID_LEN],
                                  uint64_t tomb_id, uint64_t n_deleted,
                                  const char *key);
infino_status tbl_change_remove(struct tbl_change *c,
                                const uint8_t id[SNAP_SF_ID_LEN]);
infino_status tbl_change_replace_sf(struct tbl_change *c,
                                    const uint8_t old[SNAP_SF_ID_LEN],
                                    const struct snap_sf *e, uint32_t n_fts);

#define TBL_ROW_GROUP_ROWS 65536
#define TBL_ROW_GROUP_BYTES (32u << 20)

/* Leases (lease.h) protect objects written for a commit that is not
 * published yet from gc(): "<table>/leases/<object basename>~<tag>". gc
 * lists objects before leases and leases before snapshots, and writers
 * drop a lease only after publishing (or abandoning) their snapshot, so
 * every object gc sees is either leased or accounted for by the snapshots
 * it loads afterwards. The writer's leases live in t->leases (under
 * write_mu); every write operation ends with tbl_write_end(). */
infino_status tbl_lease_take(struct tbl *t, const char *object_key);
void tbl_lease_drop(struct tbl *t, const char *object_key);
/* Renews the writer's leases when due; call between batches. */
infino_status tbl_lease_tick(struct tbl *t);

/* Starts a write operation (with write_mu held): fails with
 * INFINO_ERR_NOTFOUND naming the table once it has been dropped. */
infino_status tbl_write_begin(struct tbl *t);
/* Ends it: drops whatever leases are left. */
void tbl_write_end(struct tbl *t);
/* INFINO_ERR_NOTFOUND naming the table when it has been dropped (a
 * handle opened before drop_table must not write), else OK. */
infino_status tbl_check_alive(struct tbl *t);

/* The handle's newest schema (never NULL; valid until the handle is
 * freed). */
const struct tbl_schema *tbl_schema_now(const struct tbl *t);
/* Learns the schema `snap` carries, if newer than the handle's. */
infino_status tbl_schema_learn(struct tbl *t, const struct snapshot *snap);
/* An all-null array of `f`'s type, `len` rows long (owned). */
infino_status tbl_null_column(struct ArrowArray *out, const struct ar_field *f,
                              int64_t len);
/* Builds _id + `user` into *out (owned). */
infino_status tbl_make_full_schema(struct ar_schema *out,
                                   const struct ar_schema *user);

/* Writes rows from `rows` into a new superfile; on success *e describes it
 * (fts_tokens owned) and the file is durable. n_rows == 0: no file was
 * written and *e is zeroed. Used by append, update and optimize. */
struct tbl_batch_source {
    /* Next user-schema batch (conformed and validated), or end when
     * out->release == NULL. Borrowed until the next call. */
    infino_status (*next)(void *payload, struct ArrowArray *out);
    void *payload;
    /* When set, batches already carry the _id column (optimize). */
    bool has_ids;
    /* The full schema (with _id) the batches follow; NULL: the handle's
     * newest. */
    const struct ar_schema *schema;
};
infino_status tbl_write_superfile(struct snap_sf *e, struct tbl *t,
                                  struct tbl_batch_source *src);

/* Builds a superfile from user rows (consumed) without committing it. */
infino_status tbl_build_rows(struct snap_sf *e, struct tbl *t,
                             struct ArrowArrayStream *rows);

/* Rewrites superfile `at` of `v` (a view the caller holds, under
 * write_mu) into a new superfile with the same rows in the same order,
 * _ids included, and its indexes built afresh by this engine's writers;
 * the new file takes the old one's place in the snapshot (one commit).
 * Deleted rows are kept and the tombstone (with rows deleted since `v`)
 * is carried over, so local row numbers and BM25 statistics are those of
 * the old file. `before_commit` (may be NULL; for tests) runs after the
 * new file is written, before the commit. *lost is set when another
 * writer removed the old superfile first (nothing committed, status OK).
 * Used by reindex (tbl_reindex.c). */
infino_status tbl_rewrite_in_place(struct tbl *t, struct tbl_view *v,
                                   size_t at, void (*before_commit)(void *),
                                   void *arg, bool *lost);

/* The process-wide maintenance slot of a table's storage (optimize,
 * reindex): held by one run at a time among every handle of this process
 * on the same table. `wait`: block until free; otherwise
 * INFINO_ERR_BUSY when another run holds it. tbl_maint_end releases. */
infino_status tbl_maint_begin(struct tbl *t, bool wait);
void tbl_maint_end(struct tbl *t);

/* Deletes a superfile written by an attempt that was not committed. */
void tbl_discard_superfile(struct tbl *t, const uint8_t id[SNAP_SF_ID_LEN]);

/* Stream conformance (tbl_conform.c). */
struct tbl_conform;
infino_status tbl_conform_open(struct tbl_conform **out,
                               const struct ar_schema *target,
                               struct ArrowArrayStream *in);
/* Next batch conformed to `target` (owned by the conformer, valid until
 * the next call). End: out->release == NULL. Errors name column and row. */
infino_status tbl_conform_next(struct tbl_conform *c, struct ArrowArray *out);
void tbl_conform_free(struct tbl_conform *c); /* releases the stream */


/* tbl_gc() with t->write_mu held by the caller. */
infino_status tbl_gc_locked(struct tbl *t, double grace_secs,
                            struct tbl_gc_report *out);

/* memory:// only (a no-op elsewhere): after a merge committed, with
 * t->write_mu held, collects what no retained snapshot needs (grace 0),
 * so merged-away superfiles leave the process's memory once no view
 * names them. Never fails its caller (counted in ac_failures). */
void tbl_gc_merged(struct tbl *t);

#endif
