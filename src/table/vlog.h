/*
 * vlog.h - a versioned log of immutable, numbered objects.
 *
 * Both the catalog and every table's snapshots are such logs:
 * "<prefix>00000000000000000001", "...0002", ... Version N+1 is created
 * with create-if-absent, so among concurrent writers exactly one wins each
 * number and the others learn they lost (INFINO_ERR_CONFLICT) and retry on
 * top of the winner. A "LATEST" object beside them is a hint only: it may
 * lag (a crash between publish and hint), so readers probe forward from it
 * until a version is missing. Nothing ever depends on the hint being right.
 */
#ifndef INFINO_TABLE_VLOG_H
#define INFINO_TABLE_VLOG_H

#include "store/objstore.h"

#define VLOG_DIGITS 20

/* Finds the newest version under `prefix` ('/'-ended). *out = 0 when the
 * log is empty. */
infino_status vlog_latest(struct objstore *s, const char *prefix,
                          uint64_t *out);

/* Like vlog_latest, but starts probing at `from` (a version known to
 * exist), which is O(1) when nothing new was published. */
infino_status vlog_refresh(struct objstore *s, const char *prefix,
                           uint64_t from, uint64_t *out);

/* Opens version `v`. INFINO_ERR_NOTFOUND when it does not exist. */
infino_status vlog_get(struct objstore *s, const char *prefix, uint64_t v,
                       struct store_blob **out);

/* Publishes `data` as version `v` if nobody has: INFINO_ERR_CONFLICT when
 * version v already exists. Then updates the hint (best effort). */
infino_status vlog_publish(struct objstore *s, const char *prefix, uint64_t v,
                           const void *data, size_t len);

/* Writes the key of version `v` into `out` (cap >= strlen(prefix) + 21). */
void vlog_key(char *out, size_t cap, const char *prefix, uint64_t v);

/* Parses a version from a key's last segment; 0 when it is not one. */
uint64_t vlog_parse(const char *key, const char *prefix);

#endif
