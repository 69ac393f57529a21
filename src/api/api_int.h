/*
 * api_int.h - the handles behind infino.h's opaque types.
 */
#ifndef INFINO_API_INT_H
#define INFINO_API_INT_H

#include "infino.h"

#include "table/table.h"

struct infino_db {
    struct objstore *store;
    struct tbl_opts topts;
    char *tmp_dir;
};

struct infino_table {
    infino_db *db;
    struct tbl *t;
};

#endif
