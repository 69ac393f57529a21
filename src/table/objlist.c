/*
 * objlist.c - listings kept in memory (objlist.h).
 */
#include "objlist.h"

#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

infino_status objlist_collect(const struct objstore_entry *e, void *payload)
{
    struct objlist *l = payload;

    if (MEM_RESERVE(l->items, l->cap, l->n + 1))
        return err_nomem();
    l->items[l->n].key = mem_strdup(e->key);
    if (l->items[l->n].key == NULL)
        return err_nomem();
    l->items[l->n].size = e->size;
    l->items[l->n].mtime_ns = e->mtime_ns;
    l->n++;
    return INFINO_OK;
}

void objlist_free(struct objlist *l)
{
    for (size_t i = 0; i < l->n; i++)
        mem_free(l->items[i].key);
    mem_free(l->items);
    memset(l, 0, sizeof *l);
}

bool objlist_is_temp(const char *key)
{
    const char *slash = strrchr(key, '/');
    const char *base = slash ? slash + 1 : key;

    return base[0] == '.' && strstr(base, ".tmp-") != NULL;
}
