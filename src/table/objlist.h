/*
 * objlist.h - a listing of objects kept in memory, for the collectors
 * (tbl_gc.c, catalog_gc): what they list first and delete afterwards.
 */
#ifndef INFINO_TABLE_OBJLIST_H
#define INFINO_TABLE_OBJLIST_H

#include "store/objstore.h"

struct objlist {
    struct obj {
        char *key; /* owned */
        uint64_t size;
        int64_t mtime_ns;
    } *items;
    size_t n, cap;
};

/* objstore_list_fn appending each entry to the objlist `payload`. */
infino_status objlist_collect(const struct objstore_entry *e, void *payload);
void objlist_free(struct objlist *l); /* leaves it empty */

/* Whether `key` names the temporary file of an unfinished write. */
bool objlist_is_temp(const char *key);

#endif
