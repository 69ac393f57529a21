/*
 * api_int.h - the handles behind infino.h's opaque types.
 */
#ifndef INFINO_API_INT_H
#define INFINO_API_INT_H

#include "infino.h"

#include "table/table.h"

#include <stdatomic.h>

struct infino_db {
    struct objstore *store;
    struct tbl_opts topts;
    char *tmp_dir;
    /* commits by any table handle of this db (tbl_opts.commits): with
     * max_staleness_ms, a handle reads afresh after one */
    atomic_ullong commits;
};

struct infino_table {
    infino_db *db;
    struct tbl *t;
};

/* infino_connect over an open store (takes `store`, also on failure), for
 * tests that put a fault-injecting store under a database. */
infino_status api_connect_store(infino_db **out, struct objstore *store,
                                const infino_connect_opts *opts);

/* Whether `policy` is NULL or "auto", "force", "skip" in any case
 * (optimize's recalibrate; reindex_api.c). */
int api_recalibrate_valid(const char *policy);

#endif
