/*
 * sql.h - SQL over tables, on SQLite: predicate evaluation for now.
 *
 * delete() and update() take a SQL boolean expression over a table's
 * columns ("doc_id = '1'", "price > 10 AND tag IN ('a','b')"). We check it
 * is exactly one expression, compile it once with SQLite against a virtual
 * table that exposes the current batch of a table scan, and run it batch
 * by batch, collecting the (superfile, row) pairs it selects.
 *
 * Column mapping (Arrow -> SQLite): integers, bool (0/1) and date32 (days)
 * are INTEGER (uint64 above 2^63-1 becomes REAL); floats REAL; utf8 TEXT;
 * binary BLOB; timestamps TEXT 'YYYY-MM-DD HH:MM:SS[.ffffff]' in UTC (so
 * they compare with ISO literals); decimals TEXT of their digits; lists
 * and vectors are not visible. date32 is TEXT 'YYYY-MM-DD'.
 */
#ifndef INFINO_SQL_H
#define INFINO_SQL_H

#include "table/table.h"

/* Fails with INFINO_ERR_INVALID ("invalid predicate '<text>': <why>")
 * unless `predicate` is one boolean expression over `t`'s columns. */
infino_status sql_check_predicate(struct tbl *t, const char *predicate);

/* tbl_match_fn payload: the predicate text. Sets per_sf[i] to the live
 * rows of superfile i that satisfy it. */
infino_status sql_match_predicate(roaring_bitmap_t **per_sf,
                                  struct tbl_view *v, void *predicate);

/* The tables a SQL query may name, supplied by the caller (the catalog). */
struct sql_tables {
    void *payload;
    size_t n;
    const char *(*name)(void *payload, size_t i); /* borrowed */
    /* The open table i, borrowed until the query returns. */
    infino_status (*open)(struct tbl **out, void *payload, size_t i);
};

/* Runs one read-only SQL statement (SQLite dialect) over the tables and
 * the search table functions bm25_search, vector_search, hybrid_search,
 * token_match and exact_match, and streams the result as one batch
 * (*out owned). Errors are INFINO_ERR_INVALID with SQLite's message. */
infino_status sql_query(struct ArrowArrayStream *out,
                        const struct sql_tables *tables, const char *sql);

#endif
