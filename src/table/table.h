/*
 * table.h - an open table: snapshot views for readers, commits for writers.
 *
 * Readers acquire a *view*: the newest snapshot plus its superfiles opened
 * (memory-mapped) and their tombstone bitmaps loaded. A view is immutable
 * and reference counted, so a query runs against exactly one snapshot while
 * commits proceed; acquiring checks storage for a newer snapshot first (one
 * stat), so commits from other processes become visible on the next call.
 *
 * Writers build new immutable files first (superfiles, tombstones), then
 * publish snapshot N+1 with create-if-absent. Losing that race means
 * another writer committed N+1: the loser reloads, re-runs its preparation
 * against the new snapshot (so a delete is re-evaluated on current rows,
 * never applied to stale ones), and retries with jittered backoff. A crash
 * at any point leaves either the old snapshot or the new one; files of an
 * unpublished attempt are orphans that gc() removes.
 *
 * Thread-safety: a handle may be used from several threads. Views are
 * shared read-only; writers on one handle are serialized by a mutex.
 */
#ifndef INFINO_TABLE_H
#define INFINO_TABLE_H

#include "catalog.h"
#include "snapshot.h"
#include "superfile/sf_build.h"
#include "superfile/sf_index.h"

#include <roaring/roaring.h>
#include <stdatomic.h>

struct tbl;
struct tbl_view;

struct tbl_opts {
    uint64_t mem_budget; /* index build memory before spilling (0 = 256 MiB) */
    const char *tmp_dir; /* spills; NULL = $TMPDIR or /tmp. Copied. */
    int max_attempts;    /* commit attempts before giving up (0 = 100) */
    int zstd_level;      /* 0 = default */
    /* Reads may answer from the handle's view without asking storage for
     * a newer snapshot when it last asked less than this long ago (0 =
     * ask on every call). Writes always ask. */
    uint64_t max_staleness_ms;
    /* Counts commits (or possible commits) of every handle sharing it,
     * e.g. one database's: a handle does not reuse its view across a
     * commit of another handle of the same process. NULL: the handle's
     * own. Borrowed: outlives the handle. */
    atomic_ullong *commits;
    /* Automatic compaction after each append and update of the handle
     * (tbl_optimize.c, tbl_auto_compact): 0 = off; else the fanout F:
     * superfiles are tiered by live rows in powers of F, and when the
     * lowest tier holds F or more whose files fit compact_max_bytes
     * together they are merged into one, in the writer's call, after its
     * own commit. */
    uint32_t compact_fanout;
    uint64_t compact_max_bytes; /* input cap of one inline merge */
};

/* Opens the table described by `e` (copied) in store `s` (borrowed; must
 * outlive the table). `opts` may be NULL. */
infino_status tbl_open(struct tbl **out, struct objstore *s,
                       const struct cat_entry *e, const struct tbl_opts *opts);
void tbl_close(struct tbl *t); /* NULL is a no-op; views stay valid */

/* Borrowed, valid until tbl_close. */
const char *tbl_name(const struct tbl *t);
const struct ar_schema *tbl_user_schema(const struct tbl *t);
/* The stored schema: _id (decimal128(38,0), not null) + user columns. */
const struct ar_schema *tbl_full_schema(const struct tbl *t);
/* What readers see: the full schema without its hidden columns. A hidden
 * column (IndexSpec.fts(stored=False)) is full-text indexed and stored
 * like any other - appends take it, optimize, reindex and exact_match
 * verification read it through tbl_full_schema and tbl_read_columns -
 * but scans (tbl_scan_*), SQL, search projections and predicates see
 * only this schema, as upstream's readers see a table without it. The
 * user schema keeps it: it is what appended rows are checked against. */
const struct ar_schema *tbl_visible_schema(const struct tbl *t);
/* Whether `name` (exact spelling) is a hidden column of `t`. */
bool tbl_column_hidden(const struct tbl *t, const char *name);
/* INFINO_ERR_INVALID for a read naming hidden column `name`, saying why
 * it cannot be read. Callers add their context (err_context). */
infino_status tbl_hidden_error(const struct tbl *t, const char *name);
const struct sf_index_spec *tbl_spec(const struct tbl *t);
struct objstore *tbl_store(const struct tbl *t);
bool tbl_is_durable(const struct tbl *t);

/* ---- reading ---------------------------------------------------------- */

/* One superfile as a view sees it, opened: members borrowed, valid while
 * the superfile stays pinned (tbl_view_pin). */
struct tbl_vsf {
    const struct snap_sf *meta;
    struct sf_reader *reader;
    struct sf_indexes *indexes;      /* index readers, opened on demand */
    const roaring_bitmap_t *deleted; /* NULL when nothing is deleted */
};

/* Pins the newest snapshot. *out is owned: tbl_view_release(). Opens no
 * superfile: they are opened when pinned. Every commit acknowledged
 * before the call is in it. */
infino_status tbl_view_acquire(struct tbl_view **out, struct tbl *t);
/* tbl_view_acquire for a read: with tbl_opts.max_staleness_ms > 0 the
 * handle's view is reused, without asking storage, when the last check
 * started less than that long ago; it then holds every commit
 * acknowledged before that check began, and every commit of this handle.
 * Writers must use tbl_view_acquire. */
infino_status tbl_view_acquire_read(struct tbl_view **out, struct tbl *t);
void tbl_view_release(struct tbl_view *v); /* NULL is a no-op */

const struct snapshot *tbl_view_snapshot(const struct tbl_view *v);
size_t tbl_view_n_sf(const struct tbl_view *v);
/* Superfile i's snapshot entry. Borrowed from the view. */
const struct snap_sf *tbl_view_meta(const struct tbl_view *v, size_t i);
struct tbl *tbl_view_table(const struct tbl_view *v);

/* Opens superfile i of `v` (mapping it, loading its tombstone bitmap) if
 * it is not open, and pins it: *out stays valid until the matching
 * tbl_view_unpin(v, i). Pins nest; any thread may pin. A handle keeps at
 * most INFINO_MAX_OPEN_SUPERFILES (default 1024) superfiles open beyond
 * those pinned, so code that visits every superfile unpins each one when
 * done with it and the number of maps stays bounded whatever the table's
 * size. INFINO_ERR_NOTFOUND when gc removed the file (an old view). */
infino_status tbl_view_pin(struct tbl_view *v, size_t i, struct tbl_vsf *out);
void tbl_view_unpin(struct tbl_view *v, size_t i);
/* How many superfiles the handle has open (for tests). */
size_t tbl_open_superfiles(struct tbl *t);

/* Calls `fn` for every batch of live rows (deleted rows filtered out),
 * superfile by superfile in snapshot order. `columns` names the columns to
 * read (NULL/0 = every visible one, "_id" included; naming a hidden
 * column is tbl_hidden_error); each batch is a struct array of
 * those columns. `rows` (may be NULL) receives, per row of the batch, its
 * local row number within superfile `sf_index`. The batch and `rows` are
 * borrowed for the duration of the call. */
typedef infino_status (*tbl_scan_fn)(size_t sf_index,
                                     const struct ArrowArray *batch,
                                     const uint32_t *rows, void *payload);
infino_status tbl_view_scan(struct tbl_view *v, const char *const *columns,
                            size_t n_columns, tbl_scan_fn fn, void *payload);
/* Pull-style scans: the cursor holds a reference to the view. */
struct tbl_scan;
infino_status tbl_scan_open(struct tbl_scan **out, struct tbl_view *v,
                            const char *const *columns, size_t n_columns);
/* *out (owned) is the next batch of live rows, or release == NULL at the
 * end. *sf_out and *rows_out (each may be NULL) tell where its rows come
 * from; rows are borrowed until the next call. */
infino_status tbl_scan_next(struct tbl_scan *s, struct ArrowArray *out,
                            size_t *sf_out, const uint32_t **rows_out);
/* Borrowed schema of the scan's batches. */
const struct ar_schema *tbl_scan_projection(const struct tbl_scan *s);
void tbl_scan_free(struct tbl_scan *s); /* NULL is a no-op */

/* The schema of the batches tbl_view_scan passes for `columns` (owned). */
infino_status tbl_scan_schema(struct ar_schema *out, const struct tbl *t,
                              const char *const *columns, size_t n_columns);

/* Asks storage for a newer snapshot (as a read does), so that the
 * handle's schema and views are current. */
infino_status tbl_refresh(struct tbl *t);

/* Reads columns `fields` (indexes into `full`, the table's full schema of
 * which the file's columns are a prefix) of row group `rg` of superfile
 * reader `r`: all rows (rows == NULL) or rows[0..n_rows) as
 * pq_reader_read_rows takes them. Columns the file lacks (added after it
 * was written) come back all null. *out is an owned struct array. */
struct pq_reader;
infino_status tbl_read_columns(struct ArrowArray *out, struct pq_reader *r,
                               const struct ar_schema *full, int rg,
                               const int *fields, size_t n_fields,
                               const uint32_t *rows, size_t n_rows);

/* ---- writing ---------------------------------------------------------- */

/* Appends every batch of `rows` (consumed: released before return) as one
 * atomic, durable commit. The stream's columns must match the table's
 * user schema by name (any order); utf8/large_utf8, binary/large_binary
 * and list/fixed_size_list differences are converted. Validation is all
 * or nothing: an error names the column and row and commits nothing.
 * Empty input commits nothing. *n_rows_out (may be NULL) gets the count. */
infino_status tbl_append(struct tbl *t, struct ArrowArrayStream *rows,
                         uint64_t *n_rows_out);

/* Rows to act on, per superfile of `v` (array of tbl_view_n_sf entries,
 * each NULL or a bitmap of live local row numbers, owned by the caller of
 * the matcher, i.e. the table layer, which frees them). */
typedef infino_status (*tbl_match_fn)(roaring_bitmap_t **per_sf,
                                      struct tbl_view *v, void *payload);

struct tbl_mutation_stats {
    uint64_t matched;
    uint64_t n_tombstoned;
    uint64_t n_not_found;
};

/* Tombstones the rows `match` selects, atomically. On a commit race the
 * matcher runs again on the newer snapshot. */
infino_status tbl_delete(struct tbl *t, tbl_match_fn match, void *payload,
                         struct tbl_mutation_stats *out);

/* Replaces the rows `match` selects by the rows of `rows` (consumed), 1:1
 * and atomically: INFINO_ERR_CARDINALITY (nothing changed) when the counts
 * differ. Replacement rows get new _ids. */
infino_status tbl_update(struct tbl *t, tbl_match_fn match, void *payload,
                         struct ArrowArrayStream *rows,
                         struct tbl_mutation_stats *out);

/* The schema id of the newest snapshot (1: the schema the table was
 * created with; every change adds one). Asks storage first. */
infino_status tbl_schema_id(struct tbl *t, uint64_t *out);

/* Adds the columns of `cols` to the table's schema as one atomic commit
 * (the protocol of every other commit: a lost race re-checks against the
 * winner). A column whose name exists must be equal to it (type and
 * nullability): it is left as it is; any difference is
 * INFINO_ERR_INVALID naming it, since existing columns never change. New
 * columns are appended in order; a non-nullable one only while the table
 * holds no live rows. Superfiles are not rewritten: rows written before a
 * column existed read it as null. `expected` (0: none) must equal the
 * schema id the change applies to, else INFINO_ERR_CONFLICT and nothing
 * changes. Nothing new: no commit. *schema_id_out (may be NULL) gets the
 * id afterwards. */
infino_status tbl_add_columns(struct tbl *t, const struct ar_schema *cols,
                              uint64_t expected, uint64_t *schema_id_out);

struct tbl_optimize_opts {
    uint64_t max_memory_mb;     /* 0 = default */
    uint32_t min_fill_percent;  /* 0..100; UINT32_MAX = default */
    uint64_t target_superfile_mb; /* 0 = default */
};
#define TBL_OPTIMIZE_OPTS_INIT {0, UINT32_MAX, 0}

struct tbl_optimize_report {
    uint64_t n_inputs;    /* superfiles merged away */
    uint64_t n_outputs;   /* superfiles written */
    uint64_t rows_dropped; /* tombstoned rows removed */
};

/* Merges small or underfilled superfiles and drops deleted rows. */
infino_status tbl_optimize(struct tbl *t, const struct tbl_optimize_opts *o,
                           struct tbl_optimize_report *out);

/* What automatic compaction (tbl_opts.compact_fanout) did on a handle. */
struct tbl_compact_stats {
    uint64_t merges;   /* merged groups committed */
    uint64_t inputs;   /* superfiles merged away by them */
    uint64_t failures; /* merges abandoned on an error (the append stood) */
    uint64_t skipped;  /* plans left: another writer or maintenance run
                          held the superfiles or the slot */
};
void tbl_compact_stats(struct tbl *t, struct tbl_compact_stats *out);

/* ---- reindex ------------------------------------------------------------
 * A superfile's indexes are stale when this engine would write them
 * differently today: a region of an older format version (a rewrite
 * brings it current), or terms analyzed otherwise than the table's index
 * spec says (a reanalysis). Both repairs rebuild the superfile from its
 * stored rows (tbl_rewrite_in_place): rows, their order and their _ids
 * are unchanged. */

enum tbl_reindex_mode {
    TBL_REINDEX_AUTO,      /* each stale superfile gets the repair it needs */
    TBL_REINDEX_REWRITE,   /* layouts only: term-stale ones are left */
    TBL_REINDEX_REANALYZE, /* every stale superfile is reanalyzed */
};

enum tbl_repair { TBL_REPAIR_NONE, TBL_REPAIR_REWRITE, TBL_REPAIR_REANALYZE };

struct tbl_reindex_opts {
    enum tbl_reindex_mode mode;
    /* For tests: treat every superfile as stale (layout), and run
     * `before_commit(arg)` after each rewrite is written, before its
     * commit (may be NULL). */
    bool all;
    void (*before_commit)(void *arg);
    void *arg;
};

struct tbl_repair_entry {
    uint8_t id[SNAP_SF_ID_LEN];
    enum tbl_repair repair; /* REWRITE or REANALYZE */
    uint64_t live_bytes;    /* file size x live fraction, as optimize */
    uint64_t file_size;
};

struct tbl_reindex_report {
    uint64_t superfiles;          /* in the snapshot examined */
    uint64_t already_current;
    uint64_t needing_rewrite;     /* the plan's length */
    uint64_t awaiting_reanalysis; /* term-stale, left by mode REWRITE */
    uint64_t bytes_to_rewrite;    /* file bytes of the plan */
    uint64_t rewritten;           /* committed (reindex only) */
    uint64_t held_by_another_run; /* replaced by another writer first */
    struct tbl_repair_entry *plan; /* owned, needing_rewrite entries */
    /* superfiles whose footer lacks a region the spec needs or names a
     * format newer than this engine reads: not repaired (owned) */
    uint8_t (*inconsistent)[SNAP_SF_ID_LEN];
    size_t n_inconsistent;
};

/* Examines every superfile of the newest snapshot and, unless `dry_run`,
 * repairs the stale ones, one commit each (a concurrent append, delete or
 * update is kept). `o` may be NULL (mode AUTO). Durable storage only
 * (INFINO_ERR_INVALID). A run that repairs takes the maintenance slot
 * (INFINO_ERR_BUSY while an optimize or another reindex of this table
 * runs in this process). *out owned: tbl_reindex_report_free. */
infino_status tbl_reindex(struct tbl *t, const struct tbl_reindex_opts *o,
                          bool dry_run, struct tbl_reindex_report *out);
void tbl_reindex_report_free(struct tbl_reindex_report *r);

struct tbl_gc_report {
    uint64_t bytes_freed;
    uint64_t objects_deleted;
    uint64_t objects_skipped_live;
    uint64_t objects_skipped_too_new;
    uint64_t delete_errors;
};

/* Deletes every object of the table that no retained snapshot needs and
 * that is older than `grace_secs`. Retained: the newest snapshot and every
 * snapshot younger than the grace period (and those readers lease). On
 * memory:// too: there a view keeps the bytes of the superfiles it names,
 * so what gc deletes leaves memory when the last view naming it goes. */
infino_status tbl_gc(struct tbl *t, double grace_secs,
                     struct tbl_gc_report *out);

struct tbl_check_report {
    uint64_t version;        /* the snapshot checked */
    uint64_t n_superfiles;
    uint64_t n_rows;         /* live rows */
    uint64_t n_deleted;      /* tombstoned rows */
    uint64_t bytes_verified; /* superfile bytes read and decoded */
};

/* Verifies the newest snapshot against storage: every file it names is
 * present with its recorded size, checksums hold, every row group
 * decodes, and row counts, _id ranges and deletion counts agree. The
 * first disagreement is INFINO_ERR_CORRUPT (or NOTFOUND) naming the file. */
infino_status tbl_check(struct tbl *t, struct tbl_check_report *out);

#endif
