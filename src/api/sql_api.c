/*
 * sql_api.c - infino_query_sql (infino.h, "SQL"): the catalog as the set
 * of tables a query may name, each opened the first time the query
 * touches it and closed when the query ends.
 */
#include "infino.h"

#include "api_int.h"
#include "sql/sql.h"
#include "table/catalog.h"

#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

struct tables {
    infino_db *db;
    struct catalog cat;
    struct tbl **open; /* per catalog entry, NULL until used */
};

static const char *table_name(void *payload, size_t i)
{
    return ((struct tables *)payload)->cat.entries[i].name;
}

static infino_status table_open(struct tbl **out, void *payload, size_t i)
{
    struct tables *x = payload;

    if (x->open[i] == NULL) {
        infino_status st = tbl_open(&x->open[i], x->db->store,
                                    &x->cat.entries[i], &x->db->topts);
        if (st != INFINO_OK)
            return st;
    }
    *out = x->open[i];
    return INFINO_OK;
}

INFINO_API infino_status infino_query_sql(infino_db *db, const char *sql,
                                          struct ArrowArrayStream *out)
{
    struct tables x = {0};
    struct sql_tables tables;
    infino_status st;

    if (db == NULL || sql == NULL || out == NULL)
        return err_set(INFINO_ERR_INVALID, "infino_query_sql: NULL argument");
    memset(out, 0, sizeof *out);
    x.db = db;
    CHECK(catalog_load(&x.cat, db->store));
    x.open = mem_calloc(x.cat.n + 1, sizeof *x.open);
    if (x.open == NULL) {
        st = err_nomem();
        goto fail;
    }
    tables.payload = &x;
    tables.n = x.cat.n;
    tables.name = table_name;
    tables.open = table_open;
    for (int attempt = 0;; attempt++) {
        st = sql_query(out, &tables, sql);
        /* A superfile gc removed under a running query (the query opens
         * superfiles as it goes): run it again on the newest snapshots. */
        if (st != INFINO_ERR_NOTFOUND || attempt == 2)
            break;
        for (size_t i = 0; i < x.cat.n; i++) {
            tbl_close(x.open[i]);
            x.open[i] = NULL;
        }
    }
fail:
    for (size_t i = 0; x.open && i < x.cat.n; i++)
        tbl_close(x.open[i]);
    mem_free(x.open);
    catalog_free(&x.cat);
    return st;
}
