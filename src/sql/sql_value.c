/*
 * sql_value.c - Arrow cells as SQLite values (sql_value.h).
 */
#include "sql_value.h"

#include "util/cancel.h"
#include "util/endian.h"
#include "util/err.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Virtual machine steps between polls: a poll is two loads, a step a few
 * nanoseconds, so this is well under a millisecond and costs nothing. */
#define PROGRESS_STEPS 4096

static int progress(void *payload)
{
    (void)payload;
    return cancel_requested();
}

infino_status sql_open(sqlite3 **out, const char *what)
{
    sqlite3 *db = NULL;

    *out = NULL;
    if (sqlite3_open_v2(":memory:", &db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                        NULL) != SQLITE_OK ||
        sqlite3_create_collation(db, "infino_number", SQLITE_UTF8, NULL,
                                 sql_collate_number) != SQLITE_OK ||
        sqlite3_create_collation(db, "infino_time", SQLITE_UTF8, NULL,
                                 sql_collate_time) != SQLITE_OK) {
        sqlite3_close(db);
        return err_set(INFINO_ERR_NOMEM, "%s: cannot open SQLite", what);
    }
    sqlite3_progress_handler(db, PROGRESS_STEPS, progress, NULL);
    *out = db;
    return INFINO_OK;
}

bool sql_type_visible(const struct ar_field *f)
{
    return f->type != AR_LIST && f->type != AR_LARGE_LIST &&
           f->type != AR_FIXED_SIZE_LIST && f->type != AR_STRUCT;
}

bool sql_explain_hidden(const struct tbl *t, const char *msg)
{
    static const char prefix[] = "no such column: ";
    const struct sf_index_spec *s = tbl_spec(t);
    const char *ident;
    size_t len;

    if (strncmp(msg, prefix, sizeof prefix - 1) != 0)
        return false;
    ident = msg + sizeof prefix - 1;
    len = strlen(ident);
    for (size_t i = 0; i < s->n_fts; i++) {
        const char *name = s->fts[i];
        size_t n = strlen(name);
        /* "t2", or "t.t2" / "main.t.t2" (a name may itself hold dots) */
        if (!s->fts_opts[i].hidden || n > len ||
            strcasecmp(ident + len - n, name) != 0 ||
            (n < len && ident[len - n - 1] != '.'))
            continue;
        err_context(tbl_hidden_error(t, name), "%s", msg);
        return true;
    }
    return false;
}

const char *sql_decl_type(const struct ar_field *f)
{
    switch (f->type) {
    case AR_FLOAT32:
    case AR_FLOAT64:
        return "REAL";
    case AR_UTF8:
    case AR_LARGE_UTF8:
        return "TEXT";
    case AR_UINT64:
    case AR_DECIMAL128:
        return "TEXT COLLATE infino_number";
    case AR_DATE32:
    case AR_TIMESTAMP:
        return "TEXT COLLATE infino_time";
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

/* ---- dates and timestamps as text ------------------------------------- */

/* A point in time read from text: days since 1970-01-01 and nanoseconds
 * into that day, in UTC. */
struct when {
    int64_t days;
    int64_t nsod;
    bool has_time;
    bool frac_beyond_ns; /* a nonzero digit past the ninth */
};

static bool is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads 1..max digits at s[*i] (bounded by n). */
static bool read_digits(const char *s, size_t n, size_t *i, int min, int max,
                        int64_t *out)
{
    int64_t v = 0;
    int k = 0;

    while (*i < n && k < max && is_digit(s[*i])) {
        v = v * 10 + (s[*i] - '0');
        (*i)++;
        k++;
    }
    *out = v;
    return k >= min && !(*i < n && k == max && is_digit(s[*i]));
}

static bool leap(int64_t y)
{
    return y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
}

static int days_in_month(int64_t y, int64_t m)
{
    static const int dim[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return m == 2 && leap(y) ? 29 : dim[m - 1];
}

/* Parses ISO 8601 text: [+-]Y+-MM-DD, then optionally ' ' or 'T',
 * HH:MM[:SS[.fraction]] and 'Z' or an offset [+-]HH[:MM]. Years have up
 * to 12 digits, enough for every date32 and timestamp Arrow can hold. */
static bool parse_when(const char *s, size_t n, struct when *w)
{
    size_t i = 0;
    int64_t y, m, d, hh, mm, ss = 0, frac = 0;
    bool neg = false;

    memset(w, 0, sizeof *w);
    if (i < n && (s[i] == '-' || s[i] == '+'))
        neg = s[i++] == '-';
    if (!read_digits(s, n, &i, 4, 12, &y) || i >= n || s[i++] != '-' ||
        !read_digits(s, n, &i, 1, 2, &m) || i >= n || s[i++] != '-' ||
        !read_digits(s, n, &i, 1, 2, &d))
        return false;
    if (neg)
        y = -y;
    if (m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
        return false;
    w->days = days_from_civil(y, (unsigned)m, (unsigned)d);
    if (i == n)
        return true;
    if (s[i] != ' ' && s[i] != 'T')
        return false;
    i++;
    if (!read_digits(s, n, &i, 2, 2, &hh) || i >= n || s[i++] != ':' ||
        !read_digits(s, n, &i, 2, 2, &mm) || hh > 23 || mm > 59)
        return false;
    if (i < n && s[i] == ':') {
        i++;
        if (!read_digits(s, n, &i, 2, 2, &ss) || ss > 60)
            return false;
        if (i < n && s[i] == '.') {
            int k = 0;
            for (i++; i < n && is_digit(s[i]); i++, k++) {
                if (k < 9)
                    frac = frac * 10 + (s[i] - '0');
                else if (s[i] != '0')
                    w->frac_beyond_ns = true;
            }
            if (k == 0)
                return false;
            for (; k < 9; k++)
                frac *= 10;
        }
    }
    w->has_time = true;
    w->nsod = ((hh * 60 + mm) * 60 + ss) * 1000000000LL + frac;
    if (i < n && s[i] == 'Z') {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int64_t oh, om = 0, sign = s[i++] == '-' ? -1 : 1;
        if (!read_digits(s, n, &i, 2, 2, &oh) || oh > 23)
            return false;
        if (i < n && s[i] == ':')
            i++;
        if (i < n && !read_digits(s, n, &i, 2, 2, &om))
            return false;
        if (om > 59)
            return false;
        /* local = UTC + offset, so UTC = local - offset */
        w->nsod -= sign * (oh * 60 + om) * 60 * 1000000000LL;
    }
    if (i != n)
        return false;
    while (w->nsod < 0) {
        w->nsod += 86400 * 1000000000LL;
        w->days--;
    }
    while (w->nsod >= 86400 * 1000000000LL) {
        w->nsod -= 86400 * 1000000000LL;
        w->days++;
    }
    return true;
}

infino_status sql_parse_date(int64_t *out, const char *text)
{
    struct when w;

    if (!parse_when(text, strlen(text), &w) || w.has_time)
        return err_set(INFINO_ERR_INVALID, "'%s' is not a date (YYYY-MM-DD)",
                       text);
    *out = w.days;
    return INFINO_OK;
}

infino_status sql_parse_timestamp(int64_t *out, const char *text,
                                  enum ar_time_unit unit)
{
    static const int64_t per_sec[] = {1, 1000, 1000000, 1000000000};
    __extension__ typedef __int128 i128;
    struct when w;
    int64_t ns_per_unit = 1000000000LL / per_sec[unit];
    i128 v;

    if (!parse_when(text, strlen(text), &w))
        return err_set(INFINO_ERR_INVALID,
                       "'%s' is not a timestamp (YYYY-MM-DD HH:MM:SS[.fff])",
                       text);
    if (w.frac_beyond_ns || w.nsod % ns_per_unit != 0)
        return err_set(INFINO_ERR_INVALID,
                       "'%s' is more precise than the column's unit", text);
    v = (i128)w.days * 86400 * per_sec[unit] + w.nsod / ns_per_unit;
    if (v > INT64_MAX || v < INT64_MIN)
        return err_set(INFINO_ERR_INVALID,
                       "'%s' is out of the column's timestamp range", text);
    *out = (int64_t)v;
    return INFINO_OK;
}

int sql_collate_time(void *payload, int na, const void *a, int nb,
                     const void *b)
{
    struct when x, y;
    bool okx = parse_when(a, (size_t)na, &x);
    bool oky = parse_when(b, (size_t)nb, &y);
    int c;

    (void)payload;
    if (okx && oky) {
        if (x.days != y.days)
            return x.days < y.days ? -1 : 1;
        if (x.nsod != y.nsod)
            return x.nsod < y.nsod ? -1 : 1;
        return 0;
    }
    if (okx != oky)
        return okx ? -1 : 1;
    c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    return c != 0 ? c : (na > nb) - (na < nb);
}

/* ---- numbers as text ---------------------------------------------------- */

/* A decimal number read from text: [+-]digits[.digits][e[+-]digits]. Its
 * value is 0.S x 10^exp where S is the digit string from `first` on (the
 * integer digits then the fraction digits, '.' skipped) without trailing
 * zeros; no significant digits means zero. */
struct num {
    bool neg;
    const char *ip, *fp; /* integer and fraction digits */
    size_t in, fn;
    size_t first, len;   /* significant digits [first, first + len) */
    int64_t exp;
};

static char num_digit(const struct num *x, size_t k)
{
    return k < x->in ? x->ip[k] : x->fp[k - x->in];
}

static bool parse_num(const char *s, size_t n, struct num *x)
{
    size_t i = 0, total;
    int64_t e = 0;

    memset(x, 0, sizeof *x);
    if (i < n && (s[i] == '-' || s[i] == '+'))
        x->neg = s[i++] == '-';
    x->ip = s + i;
    while (i < n && is_digit(s[i]))
        i++;
    x->in = (size_t)(s + i - x->ip);
    if (i < n && s[i] == '.') {
        x->fp = s + ++i;
        while (i < n && is_digit(s[i]))
            i++;
        x->fn = (size_t)(s + i - x->fp);
    }
    if (x->in + x->fn == 0)
        return false;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        bool eneg = false;
        size_t start;
        if (++i < n && (s[i] == '-' || s[i] == '+'))
            eneg = s[i++] == '-';
        start = i;
        for (; i < n && is_digit(s[i]); i++)
            if (e < 1000000000)
                e = e * 10 + (s[i] - '0');
        if (i == start)
            return false;
        if (eneg)
            e = -e;
    }
    if (i != n)
        return false;
    total = x->in + x->fn;
    while (x->first < total && num_digit(x, x->first) == '0')
        x->first++;
    x->len = total - x->first;
    while (x->len > 0 && num_digit(x, x->first + x->len - 1) == '0')
        x->len--;
    x->exp = (int64_t)x->in - (int64_t)x->first + e;
    return true;
}

/* Compares |x| and |y|. */
static int num_cmp_abs(const struct num *x, const struct num *y)
{
    if (x->len == 0 || y->len == 0)
        return (x->len != 0) - (y->len != 0);
    if (x->exp != y->exp)
        return x->exp < y->exp ? -1 : 1;
    for (size_t k = 0; k < x->len && k < y->len; k++) {
        char a = num_digit(x, x->first + k), b = num_digit(y, y->first + k);
        if (a != b)
            return a < b ? -1 : 1;
    }
    return (x->len > y->len) - (x->len < y->len);
}

int sql_collate_number(void *payload, int na, const void *a, int nb,
                       const void *b)
{
    struct num x, y;
    bool okx = parse_num(a, (size_t)na, &x);
    bool oky = parse_num(b, (size_t)nb, &y);
    int c;

    (void)payload;
    if (okx && oky) {
        bool xneg = x.neg && x.len > 0, yneg = y.neg && y.len > 0;
        if (xneg != yneg)
            return xneg ? -1 : 1;
        c = num_cmp_abs(&x, &y);
        return xneg ? -c : c;
    }
    if (okx != oky)
        return okx ? -1 : 1;
    c = memcmp(a, b, (size_t)(na < nb ? na : nb));
    return c != 0 ? c : (na > nb) - (na < nb);
}

infino_status sql_parse_uint64(uint64_t *out, const char *text)
{
    const char *s = text;
    uint64_t v = 0;

    if (*s == '+')
        s++;
    if (!is_digit(*s))
        goto bad;
    for (; is_digit(*s); s++) {
        unsigned d = (unsigned)(*s - '0');
        if (v > (UINT64_MAX - d) / 10)
            goto bad;
        v = v * 10 + d;
    }
    if (*s != '\0')
        goto bad;
    *out = v;
    return INFINO_OK;
bad:
    return err_set(INFINO_ERR_INVALID, "'%s' is not a uint64", text);
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

/* "YYYY-MM-DD", the year signed and of at least 4 digits (ISO 8601's
 * expanded form: "-0044-03-15", "10183-01-01"). */
static void format_civil(char out[SQL_DATE_MAX], int64_t days)
{
    int64_t y;
    unsigned m, d;

    civil_from_days(days, &y, &m, &d);
    snprintf(out, SQL_DATE_MAX, "%s%04" PRIu64 "-%02u-%02u", y < 0 ? "-" : "",
             y < 0 ? (uint64_t)-y : (uint64_t)y, m, d);
}

void sql_format_date(char out[SQL_DATE_MAX], int64_t days)
{
    format_civil(out, days);
}

void sql_format_timestamp(char out[SQL_TIMESTAMP_MAX], int64_t v,
                          enum ar_time_unit unit)
{
    static const int64_t per_sec[] = {1, 1000, 1000000, 1000000000};
    static const int digits[] = {0, 3, 6, 9};
    int64_t ps = per_sec[unit];
    int64_t secs = v / ps, frac = v % ps;
    int64_t days, sod;
    char date[SQL_DATE_MAX];
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
    format_civil(date, days);
    n = snprintf(out, SQL_TIMESTAMP_MAX, "%s %02d:%02d:%02d", date,
                 (int)(sod / 3600), (int)(sod / 60 % 60), (int)(sod % 60));
    if (frac && n > 0 && n < SQL_TIMESTAMP_MAX)
        snprintf(out + n, SQL_TIMESTAMP_MAX - (size_t)n, ".%0*" PRId64,
                 digits[unit], frac);
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
        /* text, so values past 2^63-1 stay exact (see sql.h) */
        int n = snprintf(tmp, sizeof tmp, "%" PRIu64,
                         ((const uint64_t *)v)[j]);
        sqlite3_result_text(ctx, tmp, n, SQLITE_TRANSIENT);
        return;
    }
    case AR_FLOAT32:
    case AR_FLOAT64: {
        double d = f->type == AR_FLOAT32 ? ((const float *)v)[j]
                                         : ((const double *)v)[j];
        /* SQLite turns a NaN double into NULL; NaN is a value (sql.h) */
        if (isnan(d))
            sqlite3_result_text(ctx, SQL_NAN, 3, SQLITE_STATIC);
        else
            sqlite3_result_double(ctx, d);
        return;
    }
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
        char ts[SQL_TIMESTAMP_MAX];
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
