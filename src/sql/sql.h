/*
 * sql.h - SQL over tables, on SQLite: predicate evaluation for now.
 *
 * delete() and update() take a SQL boolean expression over a table's
 * columns ("doc_id = '1'", "price > 10 AND tag IN ('a','b')"). We check it
 * is exactly one expression, compile it once with SQLite against a virtual
 * table that exposes the current batch of a table scan, and run it batch
 * by batch, collecting the (superfile, row) pairs it selects.
 *
 * Column mapping (Arrow -> SQLite), chosen so that comparisons, sorting
 * and grouping see exactly the stored values:
 *   - bool (0/1) and integers up to int64 and uint32: INTEGER.
 *   - uint64 and decimal128: TEXT of their exact digits, declared
 *     COLLATE infino_number, which compares text by numeric value. The
 *     declared TEXT affinity turns the other side of a comparison into
 *     text, so `price > 50` compares 50 with the digits exactly; number
 *     literals SQLite would round (integers outside int64, decimals of more
 *     than 15 significant digits) are quoted before SQLite sees them
 *     (sql_quote_wide_numbers). Arithmetic on these columns is SQLite's
 *     (int64, else float64).
 *   - float32/float64: REAL; NaN, which SQLite would turn into NULL, is the
 *     text 'NaN', so it is a value: equal to itself, greater than every
 *     number (PostgreSQL's and Arrow's order), counted by count().
 *   - date32: TEXT 'YYYY-MM-DD'; timestamps TEXT 'YYYY-MM-DD HH:MM:SS[.f]'
 *     in UTC; both declared COLLATE infino_time, which compares ISO 8601
 *     text ('T', 'Z', offsets) as instants across the whole Arrow range
 *     (years before 1 and after 9999 included: '-0044-03-15').
 *   - utf8: TEXT; binary: BLOB; lists and vectors are not visible, nor
 *     are hidden full-text columns (stored=False: tbl_visible_schema),
 *     whose names SQLite's "no such column" errors then explain.
 * Results of query_sql read straight from a column get that column's
 * Arrow type back; computed ones get int64, float64, utf8 or binary.
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
