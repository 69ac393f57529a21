/*
 * lease.h - "this object is about to be published: gc, keep off".
 *
 * A writer leases every object it creates for a commit (superfiles,
 * tombstones) and the snapshot version it is about to publish, before
 * creating them, and drops the leases once the commit is published or
 * abandoned. A lease is an empty object
 *     "<lease_dir><basename of the object>~<16 hex, random per lease>"
 * so two holders of one basename never drop each other's lease. It needs
 * no fsync: it only matters while its holder lives.
 *
 * Freshness is judged on the storage's clock, never the holder's or gc's:
 * gc reads "now" as the modification time of an object it has just
 * written (lease_storage_now), and a lease is fresh when that now minus
 * the lease's own modification time is below LEASE_SECS. Holders renew
 * (rewrite) their leases every LEASE_RENEW_SECS while a write runs, so a
 * write may take any time; only a holder that stops for longer than
 * LEASE_SECS loses its protection.
 */
#ifndef INFINO_TABLE_LEASE_H
#define INFINO_TABLE_LEASE_H

#include "store/objstore.h"

#include <stdbool.h>

#define LEASE_SECS 3600
#define LEASE_RENEW_SECS 300
#define LEASE_DIR "leases/"

/* Reader leases ("read-<version>", table.c) protect the snapshot a query
 * runs on: they live shorter, so that an idle handle stops holding old
 * snapshots after a minute, and are renewed while queries use them.
 * INFINO_READ_LEASE_SECS overrides (0: no reader leases; tests). */
#define READ_LEASE_SECS 60
int64_t lease_read_secs(void);

/* The leases one writer holds; zero-initialise. Not thread-safe: one
 * owner (e.g. a table handle's writer, under its write lock). */
struct lease_set {
    struct lease_item {
        char *lease_key;  /* owned */
        char *object_key; /* owned */
        int64_t mono_ns;  /* written (taken or renewed) at, monotonic */
    } *items;
    size_t n, cap;
    int64_t renewed_mono_ns; /* last renewal check of the set */
};

/* Writes a lease on `object_key` under `lease_dir` ('/'-ended) and
 * remembers it in `ls`. */
infino_status lease_take(struct lease_set *ls, struct objstore *s,
                         const char *lease_dir, const char *object_key);

/* Deletes the leases `ls` holds on `object_key` (best effort: an
 * undeleted lease expires). Keeps the thread's error message. */
void lease_drop(struct lease_set *ls, struct objstore *s,
                const char *object_key);
/* Deletes every lease of `ls` and frees its memory. */
void lease_drop_all(struct lease_set *ls, struct objstore *s);

/* Rewrites every lease of `ls` when the last renewal is LEASE_RENEW_SECS
 * old (cheap otherwise: one clock read). */
infino_status lease_renew_due(struct lease_set *ls, struct objstore *s);

/* Whether the lease on `object_key` is certainly still fresh for gc:
 * written less than LEASE_SECS / 2 ago on this host's monotonic clock
 * (the other half absorbs any rate difference between clocks). */
bool lease_is_safe(const struct lease_set *ls, const char *object_key);

/* ---- the collector's side --------------------------------------------- */

/* The storage's "now": writes, stats and deletes a probe object under
 * `dir` ('/'-ended). Falls back to this host's clock if the store cannot
 * say (and clears the error). */
int64_t lease_storage_now(struct objstore *s, const char *dir);

/* The object basename a lease key's last segment names, into `out`
 * (cap >= 256); false when `lease_name` is not a lease. */
bool lease_parse(char *out, size_t cap, const char *lease_name);

#endif
