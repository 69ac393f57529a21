/*
 * sql_value.h - Arrow cells as SQLite values.
 */
#ifndef INFINO_SQL_VALUE_H
#define INFINO_SQL_VALUE_H

#include "format/arrow/arrow.h"

#include <sqlite3.h>

/* Makes statements of `db` poll the calling thread's interrupt flag
 * (util/cancel.h) every few thousand virtual machine steps: a step then
 * fails with SQLITE_INTERRUPT, which callers report as
 * INFINO_ERR_INTERRUPTED when cancel_requested() says so. */
void sql_watch_interrupts(sqlite3 *db);

/* Whether a column of this type is visible to SQL (lists are not). */
bool sql_type_visible(const struct ar_field *f);

/* SQLite declared type for a visible column ("INTEGER", "REAL", ...). */
const char *sql_decl_type(const struct ar_field *f);

/* Sets the result of `ctx` to cell `row` of `a` (field `f`). Text and
 * blobs point into the array (SQLITE_STATIC): valid while it lives. */
void sql_result_cell(sqlite3_context *ctx, const struct ar_field *f,
                     const struct ArrowArray *a, int64_t row);

/* Formats helpers, exposed for tests. */
void sql_format_date(char out[16], int64_t days);
void sql_format_timestamp(char out[40], int64_t v, enum ar_time_unit unit);
void sql_format_decimal(char out[48], const uint8_t v[16], int32_t scale);

/* The inverses, for values coming back from SQL (INFINO_ERR_INVALID on
 * text that is not of that form). */
infino_status sql_parse_date(int64_t *out, const char *s);
infino_status sql_parse_timestamp(int64_t *out, const char *s,
                                  enum ar_time_unit unit);
infino_status sql_parse_decimal(uint8_t out[16], const char *s, int32_t scale);

#endif
