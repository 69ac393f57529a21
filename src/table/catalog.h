/*
 * catalog.h - which tables a database holds.
 *
 * The catalog is a versioned log (vlog.h) under "_catalog/": every version
 * is a complete, sealed list of tables with their storage folder, schema
 * and index spec. create and drop read the newest version, add or remove
 * one entry, and publish the next version with create-if-absent, retrying
 * on conflict. So two processes creating one name get one winner, and a
 * reader never sees a half-created or half-dropped table: a table exists
 * exactly when the newest catalog version lists it.
 *
 * A table's storage folder is "tables/<name>-<time hex>-<random hex>/",
 * fresh for every creation, so re-creating a dropped name never sees the
 * old data.
 */
#ifndef INFINO_TABLE_CATALOG_H
#define INFINO_TABLE_CATALOG_H

#include "store/objstore.h"
#include "superfile/sf_spec.h"

#define CATALOG_PREFIX "_catalog/"
#define CATALOG_LEASE_DIR "_catalog/leases/"
/* "_catalog/dropped/<folder name>": present once the table stored in that
 * folder has been dropped; handles opened before the drop check it before
 * and after every commit. Never removed (a handle may be idle for days). */
#define CATALOG_DROPPED_DIR "_catalog/dropped/"
/* The longest name create accepts: the folder "<name>-<time>-<random>"
 * (16 hex digits each) is one path component of at most 255 bytes
 * (NAME_MAX), and so is the drop marker named after it. Every other key
 * built from a name is longer only in components of its own. */
#define TABLE_NAME_MAX INFINO_TABLE_NAME_MAX
/* The longest name a stored catalog may hold: versions before the limit
 * above accepted 255, and such a catalog must still load. */
#define TABLE_NAME_MAX_STORED 255
/* Columns a table may have, "_id" included (infino.h says why). */
#define TABLE_COLUMNS_MAX INFINO_TABLE_COLUMNS_MAX
/* The engine's row identifier column, first in every stored schema. */
#define TBL_ID_COLUMN "_id"
/* Names starting with this (in any case) are the SQL layer's own. */
#define TABLE_RESERVED_PREFIX "__infino"
/* What a column may be, as errors list it (catalog_check_schema). */
#define TABLE_TYPES_TEXT                                                       \
    "bool, int8-64, uint8-64, float32, float64, utf8, large_utf8, binary, "    \
    "large_binary, date32, timestamp, decimal128 (scale 0 to precision), "     \
    "and list, large_list or fixed_size_list of one of these"

struct cat_entry {
    char *name; /* owned */
    char *dir;  /* owned: storage folder, '/'-ended */
    int64_t created_ns;
    struct ar_schema schema; /* owned: the user's schema (no _id) */
    struct sf_index_spec spec; /* owned */
};

struct catalog {
    uint64_t version; /* 0: nothing published yet */
    size_t n;
    struct cat_entry *entries; /* owned, sorted by name */
};

/* Non-empty, at most TABLE_NAME_MAX of [A-Za-z0-9_-], not starting '_'. */
bool catalog_name_valid(const char *name);
/* INFINO_ERR_INVALID naming the name when !catalog_name_valid(). */
infino_status catalog_check_name(const char *name);

/* INFINO_ERR_INVALID naming the column unless every later call can serve
 * a table of this user schema (no _id): 1 to TABLE_COLUMNS_MAX - 1
 * columns; names non-empty, unequal ignoring ASCII case (SQLite matches
 * identifiers so), neither "_id" nor starting with TABLE_RESERVED_PREFIX
 * in any case; types those of TABLE_TYPES_TEXT. */
infino_status catalog_check_schema(const struct ar_schema *s);

/* Loads the newest version. *out is owned (catalog_free). */
infino_status catalog_load(struct catalog *out, struct objstore *s);
void catalog_free(struct catalog *c);

/* Borrowed entry for `name`, or NULL. */
const struct cat_entry *catalog_find(const struct catalog *c,
                                     const char *name);

/* Adds a table after checking its name, schema (catalog_check_schema)
 * and spec. INFINO_ERR_EXISTS when the name is taken.
 * On success *out is an owned copy of the new entry. */
infino_status catalog_create(struct cat_entry *out, struct objstore *s,
                             const char *name, const struct ar_schema *schema,
                             const struct sf_index_spec *spec);

/* Removes a table; *dir_out (owned) is its storage folder. Marks the
 * folder dropped first (with `purge`: "its storage is being deleted"), so
 * that no handle writes to it afterwards. With `only_dir`, only the
 * incarnation stored there is dropped. INFINO_ERR_NOTFOUND when absent. */
infino_status catalog_drop(char **dir_out, struct objstore *s,
                           const char *name, const char *only_dir, bool purge);

/* Finishes drops that were interrupted (by a crash or an I/O error after
 * the marker was written): tables `c` lists whose folder is marked
 * dropped are removed from the catalog (and their storage deleted when
 * the marker says purge); *c is reloaded when anything changed. */
infino_status catalog_settle(struct catalog *c, struct objstore *s);

/* The dropped-marker key of the table stored in `dir` (cap >= 700). */
void catalog_dropped_key(char *out, size_t cap, const char *dir);
/* Whether the dropped table in `dir` had its storage purged. */
bool catalog_dropped_purged(struct objstore *s, const char *dir);

/* Deletes catalog versions older than `grace_secs` that no reader needs
 * (never the newest, never a reserved one), and expired catalog leases.
 * *n_deleted and *bytes_freed (may be NULL) are added to. */
infino_status catalog_gc(struct objstore *s, double grace_secs,
                         uint64_t *n_deleted, uint64_t *bytes_freed);

infino_status cat_entry_copy(struct cat_entry *out, const struct cat_entry *e);
void cat_entry_free(struct cat_entry *e);

/* Serialization (exposed for the fuzz target). */
infino_status catalog_encode(struct buf *out, const struct catalog *c);
infino_status catalog_decode(struct catalog *out, const uint8_t *p, size_t n,
                             const char *name);

#endif
