/*
 * vlog.h - a versioned log of immutable, numbered objects.
 *
 * Both the catalog and every table's snapshots are such logs:
 * "<prefix>00000000000000000001", "...0002", ... Version N+1 is created
 * with create-if-absent, so among concurrent writers exactly one wins each
 * number and the others learn they lost (INFINO_ERR_CONFLICT) and retry on
 * top of the winner. A "LATEST" object beside them is a hint only.
 *
 * Old versions are deleted by gc, which is where the danger lies: a
 * deleted number is free again, so a writer that still believes N is the
 * newest could publish N+1 into the hole below the real latest version,
 * and everything committed after N would be lost. Two rules close it
 * (docs/commit-protocol.md has the proofs):
 *
 * - The floor. Before deleting any version below F, gc durably records F
 *   ("<prefix>floor/<F>", create-if-absent; the floor is the largest).
 *   Versions are created in order, so a version below the newest can only
 *   be absent because gc deleted it, after raising the floor above it.
 * - Reservations. A writer leases the version it is about to publish
 *   before publishing it and reads the floor after: a floor above its
 *   version means it published into a hole (it deletes its object and
 *   starts over from a full listing). gc never raises the floor above a
 *   fresh reservation it sees, and looks for reservations only after it
 *   has found the newest version, so a writer that published at the top
 *   never finds the floor above it.
 *
 * Readers learn they are behind with one or two existence checks when
 * nothing changed: N+1 present means newer versions; N+1 and N both
 * absent means gc passed them by (a full search follows); N present and
 * N+1 absent means N is current. A reader that knows gc keeps N (a reader
 * lease on N that is certainly fresh) skips the check of N.
 */
#ifndef INFINO_TABLE_VLOG_H
#define INFINO_TABLE_VLOG_H

#include "store/objstore.h"

#define VLOG_DIGITS 20
#define VLOG_KEY_MAX 640

struct vlog {
    struct objstore *s;           /* borrowed */
    char prefix[VLOG_KEY_MAX];    /* versions: prefix + 20 digits */
    char lease_dir[VLOG_KEY_MAX]; /* reservations ('/'-ended) */
};

/* `prefix` and `lease_dir` are '/'-ended folders (copied). */
infino_status vlog_init(struct vlog *l, struct objstore *s,
                        const char *prefix, const char *lease_dir);

/* Finds the newest version. *out = 0 when the log is empty. Costs a hint
 * read, a few existence checks and one floor listing, or a listing of the
 * log when the hint is stale. */
infino_status vlog_latest(const struct vlog *l, uint64_t *out);

/* The newest version for a reader that holds `have` (> 0): O(1) when
 * nothing changed (see above), a full vlog_latest when gc passed `have`. */
infino_status vlog_refresh(const struct vlog *l, uint64_t have,
                           uint64_t *out);

/* vlog_refresh for a reader that knows gc keeps version `have` (it holds
 * a fresh reader lease on it, table.c) until monotonic time
 * `kept_until_ns` (clock_mono_ns(); 0: not known). Then "have + 1 absent"
 * alone proves `have` current, because gc deletes versions only from the
 * bottom and never one it keeps: one existence check instead of two when
 * nothing changed. The deadline is compared with the clock after the store
 * answered. Without it, or when the check fails rather than answering
 * "absent", this is vlog_refresh. */
infino_status vlog_refresh_kept(const struct vlog *l, uint64_t have,
                                int64_t kept_until_ns, uint64_t *out);

/* Opens version `v`. INFINO_ERR_NOTFOUND when it does not exist. */
infino_status vlog_get(const struct vlog *l, uint64_t v,
                       struct store_blob **out);

/* What became of a publish. */
enum vlog_outcome {
    VLOG_NOT_PUBLISHED = 0, /* certainly not visible: the caller may
                               delete what only this version would name */
    VLOG_PUBLISHED = 1,     /* visible and durable */
    VLOG_UNKNOWN = 2,       /* may be visible: delete nothing */
};

/* Publishes `data` as version `v` if nobody has, with the reservation and
 * floor rules above; then updates the hint. Returns:
 *  - INFINO_OK: published (*outcome VLOG_PUBLISHED). An I/O error after
 *    the object became visible is reconciled by reading it back: when it
 *    holds our bytes the publish counts.
 *  - INFINO_ERR_CONFLICT: not published; version v exists (another
 *    writer won) or v was a hole below the floor (*stale_out set: the
 *    caller's idea of the newest version is stale, find it with
 *    vlog_latest before retrying).
 *  - any other error: *outcome says whether anything may be visible. */
infino_status vlog_publish(const struct vlog *l, uint64_t v, const void *data,
                           size_t len, enum vlog_outcome *outcome,
                           bool *stale_out);

/* The floor: every version below it may be deleted. 0 when never set. */
infino_status vlog_floor(const struct vlog *l, uint64_t *out);

/* Records floor `f` durably (no-op when the floor is already >= f) and
 * deletes floor records below it. Call before deleting versions < f. */
infino_status vlog_raise_floor(const struct vlog *l, uint64_t f);

/* The smallest version reserved by a lease written at or after
 * `fresh_after_ns` (storage clock); UINT64_MAX when none. */
infino_status vlog_min_reserved(const struct vlog *l, int64_t fresh_after_ns,
                                uint64_t *out);

struct objlist;
/* Deletes the versions below `floor` (which must already be recorded by
 * vlog_raise_floor) among the listed objects `objs`, in ascending order,
 * stopping at the first failure so that what remains above a hole is
 * still contiguous. Adds to *n_deleted and *bytes (both may be NULL). */
infino_status vlog_delete_below(const struct vlog *l,
                                const struct objlist *objs, uint64_t floor,
                                uint64_t *n_deleted, uint64_t *bytes);

/* Writes the key of version `v` into `out` (cap >= strlen(prefix) + 21). */
void vlog_key(char *out, size_t cap, const char *prefix, uint64_t v);

/* Parses a version from a key's last segment; 0 when it is not one. */
uint64_t vlog_parse(const char *key, const char *prefix);

/* Whether `key` is a floor record of the log at `prefix`. */
bool vlog_is_floor_key(const char *key, const char *prefix);

#endif
