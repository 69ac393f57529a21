/*
 * sql_value.c - Arrow cells as SQLite values (sql_value.h).
 */
#include "sql_value.h"

#include "util/cancel.h"
#include "util/endian.h"
#include "util/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* Virtual machine steps between polls: a poll is two loads, a step a few
 * nanoseconds, so this is well under a millisecond and costs nothing. */
#define PROGRESS_STEPS 4096

static int progress(void *payload)
{
    (void)payload;
    return cancel_requested();
}

void sql_watch_interrupts(sqlite3 *db)
{
    sqlite3_progress_handler(db, PROGRESS_STEPS, progress, NULL);
}

bool sql_type_visible(const struct ar_field *f)
{
    return f->type != AR_LIST && f->type != AR_LARGE_LIST &&
           f->type != AR_FIXED_SIZE_LIST && f->type != AR_STRUCT;
}

const char *sql_decl_type(const struct ar_field *f)
{
    switch (f->type) {
    case AR_FLOAT32:
    case AR_FLOAT64:
        return "REAL";
    case AR_UTF8:
    case AR_LARGE_UTF8:
    case AR_DATE32:
    case AR_TIMESTAMP:
    case AR_DECIMAL128:
        return "TEXT";
    case AR_BINARY:
    case AR_LARGE_BINARY:
        return "BLOB";
    default:
        return "INTEGER";
    }
}

/* Days since 1970-01-01 to a proleptic Gregorian date (the era-based
 * civil-from-days method: 400-year eras of 146097 days). */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t yy = (int64_t)yoe + era * 400;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = yy + (*m <= 2);
}

/* The inverse: a proleptic Gregorian date to days since 1970-01-01. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Reads "YYYY-MM-DD" at *s, moving past it. */
static bool read_date(const char **s, int64_t *days)
{
    long long y;
    unsigned m, d;
    int n = 0;

    if (sscanf(*s, "%lld-%2u-%2u%n", &y, &m, &d, &n) != 3 || m < 1 ||
        m > 12 || d < 1 || d > 31)
        return false;
    *days = days_from_civil(y, m, d);
    *s += n;
    return true;
}

infino_status sql_parse_date(int64_t *out, const char *text)
{
    const char *s = text;

    if (!read_date(&s, out) || *s != '\0')
        return err_set(INFINO_ERR_INVALID, "'%s' is not a date (YYYY-MM-DD)",
                       text);
    return INFINO_OK;
}

infino_status sql_parse_timestamp(int64_t *out, const char *text,
                                  enum ar_time_unit unit)
{
    static const int64_t per_sec[] = {1, 1000, 1000000, 1000000000};
    const char *s = text;
    int64_t days, frac = 0, scale = per_sec[unit];
    unsigned hh = 0, mm = 0, ss = 0;
    int n = 0;

    if (!read_date(&s, &days))
        goto bad;
    if (*s == ' ' || *s == 'T') {
        if (sscanf(s + 1, "%2u:%2u:%2u%n", &hh, &mm, &ss, &n) != 3 ||
            hh > 23 || mm > 59 || ss > 60)
            goto bad;
        s += 1 + n;
        if (*s == '.') {
            int64_t digits = 0, den = 1;
            for (s++; *s >= '0' && *s <= '9'; s++)
                if (den < 1000000000) {
                    digits = digits * 10 + (*s - '0');
                    den *= 10;
                }
            frac = digits * scale / den;
        }
        if (*s == 'Z')
            s++;
    }
    if (*s != '\0')
        goto bad;
    *out = ((days * 86400 + hh * 3600 + mm * 60 + ss) * scale) + frac;
    return INFINO_OK;
bad:
    return err_set(INFINO_ERR_INVALID,
                   "'%s' is not a timestamp (YYYY-MM-DD HH:MM:SS[.fff])",
                   text);
}

infino_status sql_parse_decimal(uint8_t out[16], const char *text,
                                int32_t scale)
{
    __extension__ typedef unsigned __int128 u128;
    const char *s = text;
    bool neg = false, any = false;
    u128 v = 0, limit = ~(u128)0 >> 1;
    int32_t after = -1;

    if (*s == '-' || *s == '+')
        neg = *s++ == '-';
    for (; *s; s++) {
        if (*s == '.' && after < 0) {
            after = 0;
            continue;
        }
        if (*s < '0' || *s > '9')
            goto bad;
        if (after >= 0 && after == scale)
            goto bad; /* more fraction digits than the scale */
        if (v > (limit - 9) / 10)
            goto bad;
        v = v * 10 + (u128)(*s - '0');
        any = true;
        if (after >= 0)
            after++;
    }
    if (!any)
        goto bad;
    for (int32_t k = after < 0 ? 0 : after; k < scale; k++) {
        if (v > limit / 10)
            goto bad;
        v *= 10;
    }
    if (neg)
        v = ~v + 1;
    store_u64le(out, (uint64_t)v);
    store_u64le(out + 8, (uint64_t)(v >> 64));
    return INFINO_OK;
bad:
    return err_set(INFINO_ERR_INVALID, "'%s' is not a decimal of scale %d",
                   text, scale);
}

void sql_format_date(char out[16], int64_t days)
{
    int64_t y;
    unsigned m, d;

    civil_from_days(days, &y, &m, &d);
    snprintf(out, 16, "%04" PRId64 "-%02u-%02u", y, m, d);
}

void sql_format_timestamp(char out[40], int64_t v, enum ar_time_unit unit)
{
    static const int64_t per_sec[] = {1, 1000, 1000000, 1000000000};
    static const int digits[] = {0, 3, 6, 9};
    int64_t ps = per_sec[unit];
    int64_t secs = v / ps, frac = v % ps;
    int64_t days, sod, y;
    unsigned m, d;
    char date[16];
    int n;

    if (frac < 0) {
        frac += ps;
        secs--;
    }
    days = secs / 86400;
    sod = secs % 86400;
    if (sod < 0) {
        sod += 86400;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    snprintf(date, sizeof date, "%04" PRId64 "-%02u-%02u", y, m, d);
    n = snprintf(out, 40, "%s %02d:%02d:%02d", date, (int)(sod / 3600),
                 (int)(sod / 60 % 60), (int)(sod % 60));
    if (frac && n > 0 && n < 40)
        snprintf(out + n, 40 - (size_t)n, ".%0*" PRId64, digits[unit], frac);
}

void sql_format_decimal(char out[48], const uint8_t v[16], int32_t scale)
{
    __extension__ typedef unsigned __int128 u128;
    u128 x = (u128)load_u64le(v + 8) << 64 | load_u64le(v);
    bool neg = (v[15] & 0x80) != 0;
    char tmp[48];
    int n = 0, o = 0;

    if (neg)
        x = ~x + 1;
    do {
        tmp[n++] = (char)('0' + (int)(x % 10));
        x /= 10;
    } while (x);
    while (n <= scale) /* at least one digit before the point */
        tmp[n++] = '0';
    if (neg)
        out[o++] = '-';
    for (int i = n - 1; i >= 0; i--) {
        out[o++] = tmp[i];
        if (scale > 0 && i == scale)
            out[o++] = '.';
    }
    out[o] = '\0';
}

static int64_t str_offset(const struct ArrowArray *a, bool large, int64_t i)
{
    return large ? ((const int64_t *)a->buffers[1])[i]
                 : ((const int32_t *)a->buffers[1])[i];
}

void sql_result_cell(sqlite3_context *ctx, const struct ar_field *f,
                     const struct ArrowArray *a, int64_t row)
{
    int64_t j = row + a->offset;
    const void *v = a->buffers[1];
    char tmp[48];

    if (!ar_array_is_valid(a, row)) {
        sqlite3_result_null(ctx);
        return;
    }
    switch (f->type) {
    case AR_BOOL:
        sqlite3_result_int(ctx, (((const uint8_t *)v)[j >> 3] >> (j & 7)) & 1);
        return;
    case AR_INT8:
        sqlite3_result_int64(ctx, ((const int8_t *)v)[j]);
        return;
    case AR_INT16:
        sqlite3_result_int64(ctx, ((const int16_t *)v)[j]);
        return;
    case AR_INT32:
        sqlite3_result_int64(ctx, ((const int32_t *)v)[j]);
        return;
    case AR_INT64:
        sqlite3_result_int64(ctx, ((const int64_t *)v)[j]);
        return;
    case AR_UINT8:
        sqlite3_result_int64(ctx, ((const uint8_t *)v)[j]);
        return;
    case AR_UINT16:
        sqlite3_result_int64(ctx, ((const uint16_t *)v)[j]);
        return;
    case AR_UINT32:
        sqlite3_result_int64(ctx, ((const uint32_t *)v)[j]);
        return;
    case AR_UINT64: {
        uint64_t u = ((const uint64_t *)v)[j];
        if (u <= INT64_MAX)
            sqlite3_result_int64(ctx, (int64_t)u);
        else
            sqlite3_result_double(ctx, (double)u);
        return;
    }
    case AR_FLOAT32:
        sqlite3_result_double(ctx, ((const float *)v)[j]);
        return;
    case AR_FLOAT64:
        sqlite3_result_double(ctx, ((const double *)v)[j]);
        return;
    case AR_UTF8:
    case AR_LARGE_UTF8:
    case AR_BINARY:
    case AR_LARGE_BINARY: {
        bool large = f->type == AR_LARGE_UTF8 || f->type == AR_LARGE_BINARY;
        int64_t s = str_offset(a, large, j), e = str_offset(a, large, j + 1);
        const char *p = (const char *)a->buffers[2] + s;
        if (f->type == AR_UTF8 || f->type == AR_LARGE_UTF8)
            sqlite3_result_text64(ctx, p, (sqlite3_uint64)(e - s),
                                  SQLITE_STATIC, SQLITE_UTF8);
        else
            sqlite3_result_blob64(ctx, p, (sqlite3_uint64)(e - s),
                                  SQLITE_STATIC);
        return;
    }
    case AR_DATE32:
        sql_format_date(tmp, ((const int32_t *)v)[j]);
        sqlite3_result_text(ctx, tmp, -1, SQLITE_TRANSIENT);
        return;
    case AR_TIMESTAMP: {
        char ts[40];
        sql_format_timestamp(ts, ((const int64_t *)v)[j], f->unit);
        sqlite3_result_text(ctx, ts, -1, SQLITE_TRANSIENT);
        return;
    }
    case AR_DECIMAL128:
        sql_format_decimal(tmp, (const uint8_t *)v + 16 * j, f->scale);
        sqlite3_result_text(ctx, tmp, -1, SQLITE_TRANSIENT);
        return;
    default:
        sqlite3_result_null(ctx);
    }
}
