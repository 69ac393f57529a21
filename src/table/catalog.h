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
#define TABLE_NAME_MAX 255

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

/* Loads the newest version. *out is owned (catalog_free). */
infino_status catalog_load(struct catalog *out, struct objstore *s);
void catalog_free(struct catalog *c);

/* Borrowed entry for `name`, or NULL. */
const struct cat_entry *catalog_find(const struct catalog *c,
                                     const char *name);

/* Adds a table. INFINO_ERR_EXISTS when the name is taken.
 * On success *out is an owned copy of the new entry. */
infino_status catalog_create(struct cat_entry *out, struct objstore *s,
                             const char *name, const struct ar_schema *schema,
                             const struct sf_index_spec *spec);

/* Removes a table; *dir_out (owned) is its storage folder.
 * INFINO_ERR_NOTFOUND when absent. */
infino_status catalog_drop(char **dir_out, struct objstore *s,
                           const char *name);

infino_status cat_entry_copy(struct cat_entry *out, const struct cat_entry *e);
void cat_entry_free(struct cat_entry *e);

/* Serialization (exposed for the fuzz target). */
infino_status catalog_encode(struct buf *out, const struct catalog *c);
infino_status catalog_decode(struct catalog *out, const uint8_t *p, size_t n,
                             const char *name);

#endif
