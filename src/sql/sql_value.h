/*
 * sql_value.h - Arrow cells as SQLite values.
 */
#ifndef INFINO_SQL_VALUE_H
#define INFINO_SQL_VALUE_H

#include "format/arrow/arrow.h"
#include "table/table.h"

#include <sqlite3.h>

/* Opens a private in-memory SQLite connection ready for our values: the
 * collations sql_decl_type names are registered, and statements poll the
 * calling thread's interrupt flag (util/cancel.h) every few thousand
 * virtual machine steps: a step then fails with SQLITE_INTERRUPT, which
 * callers report as INFINO_ERR_INTERRUPTED when cancel_requested() says
 * so. `what` names the caller in the error when SQLite cannot open. */
infino_status sql_open(sqlite3 **out, const char *what);

/* The collations, exposed for tests. Each is a total order: values of its
 * form (numbers; dates and timestamps) first, by value, then any other
 * text bytewise. */
int sql_collate_number(void *payload, int na, const void *a, int nb,
                       const void *b);
int sql_collate_time(void *payload, int na, const void *a, int nb,
                     const void *b);

/* How a NaN float appears in SQL: the text 'NaN' (see sql.h). */
#define SQL_NAN "NaN"

/* Whether a column of this type is visible to SQL (lists are not). */
bool sql_type_visible(const struct ar_field *f);

/* When SQLite message `msg` is "no such column: [qualifier.]name" and
 * name is a hidden column of `t` (table.h; compared case-insensitively,
 * as SQLite compares names), sets this thread's error to
 * INFINO_ERR_INVALID: `msg` and why that column cannot be read, and
 * returns true. Otherwise false, the error untouched. */
bool sql_explain_hidden(const struct tbl *t, const char *msg);

/* SQLite declared type for a visible column ("INTEGER", "REAL",
 * "TEXT COLLATE infino_number", ...): see sql.h for the mapping. */
const char *sql_decl_type(const struct ar_field *f);

/* Sets the result of `ctx` to cell `row` of `a` (field `f`). Text and
 * blobs point into the array (SQLITE_STATIC): valid while it lives. */
void sql_result_cell(sqlite3_context *ctx, const struct ar_field *f,
                     const struct ArrowArray *a, int64_t row);

/* Formats helpers, exposed for tests. */
#define SQL_DATE_MAX 48      /* "-5877641-06-23" is date32's widest */
#define SQL_TIMESTAMP_MAX 80 /* with the time, fraction and sign */
void sql_format_date(char out[SQL_DATE_MAX], int64_t days);
void sql_format_timestamp(char out[SQL_TIMESTAMP_MAX], int64_t v,
                          enum ar_time_unit unit);
void sql_format_decimal(char out[48], const uint8_t v[16], int32_t scale);

/* The inverses, for values coming back from SQL (INFINO_ERR_INVALID on
 * text that is not of that form). Timestamps accept ISO 8601 forms: a
 * space or 'T' before the time, optional seconds and fraction, and 'Z' or
 * a +hh:mm / -hh:mm offset (converted to UTC). */
infino_status sql_parse_date(int64_t *out, const char *s);
infino_status sql_parse_timestamp(int64_t *out, const char *s,
                                  enum ar_time_unit unit);
infino_status sql_parse_decimal(uint8_t out[16], const char *s, int32_t scale);
infino_status sql_parse_uint64(uint64_t *out, const char *s);

#endif
