/*
 * arrow_schema.c - Arrow schemas: C Data Interface import and export,
 * format strings, metadata, copy, equality and descriptions.
 *
 * Spec: "The Arrow C data interface" (format strings, the int32-prefixed
 * metadata encoding, release callback semantics). Import never trusts the
 * producer: every format string is parsed to its end, child counts are
 * checked against the type, and nesting is capped at AR_MAX_DEPTH.
 */
#include "arrow_int.h"

#include "util/alloc.h"
#include "util/compat.h"
#include "util/endian.h"
#include "util/err.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

/* ---- small shared helpers --------------------------------------------- */

size_t ar_path_push(struct ar_path *p, const char *name, size_t i)
{
    size_t old = p->len;
    size_t room = AR_PATH_CAP - 1 - p->len;
    char idx[24];
    const char *s = name;
    size_t n;

    if (name == NULL || name[0] == '\0') {
        snprintf(idx, sizeof idx, "[%zu]", i);
        s = idx;
    }
    if (p->len > 0 && room > 0) {
        p->s[p->len++] = '.';
        room--;
    }
    n = strlen(s);
    if (n > room)
        n = room;
    memcpy(p->s + p->len, s, n);
    p->len += n;
    p->s[p->len] = '\0';
    return old;
}

void ar_kv_free(struct ar_kv *kv, size_t n)
{
    if (kv == NULL)
        return;
    for (size_t i = 0; i < n; i++) {
        mem_free(kv[i].key);
        mem_free(kv[i].value);
    }
    mem_free(kv);
}

/* Fills one pair with copies; on failure nothing is allocated. */
static infino_status kv_set(struct ar_kv *out, const char *key, size_t key_len,
                            const void *value, size_t value_len)
{
    char *k = NULL, *v = NULL;

    if (value_len == SIZE_MAX)
        return err_nomem();
    k = mem_strndup(key, key_len);
    v = mem_alloc(value_len + 1);
    if (k == NULL || v == NULL) {
        mem_free(k);
        mem_free(v);
        return err_nomem();
    }
    if (value_len)
        memcpy(v, value, value_len);
    v[value_len] = '\0';
    out->key = k;
    out->value = v;
    out->value_len = value_len;
    return INFINO_OK;
}

infino_status ar_kv_push(struct ar_kv **kv, size_t *n, size_t *cap,
                         const char *key, size_t key_len, const void *value,
                         size_t value_len)
{
    if (*n == *cap) {
        size_t new_cap = *cap ? *cap * 2 : 4, bytes;
        struct ar_kv *p;

        if (mem_mul(&bytes, new_cap, sizeof **kv) != 0)
            return err_nomem();
        p = mem_realloc(*kv, bytes);
        if (p == NULL)
            return err_nomem();
        *kv = p;
        *cap = new_cap;
    }
    if (kv_set(&(*kv)[*n], key, key_len, value, value_len) != INFINO_OK)
        return INFINO_ERR_NOMEM;
    (*n)++;
    return INFINO_OK;
}

infino_status ar_kv_copy(struct ar_kv **out, const struct ar_kv *kv, size_t n)
{
    struct ar_kv *c = NULL;

    *out = NULL;
    if (n == 0)
        return INFINO_OK;
    c = mem_calloc(n, sizeof *c);
    if (c == NULL)
        return err_nomem();
    for (size_t i = 0; i < n; i++) {
        if (kv_set(&c[i], kv[i].key, strlen(kv[i].key), kv[i].value,
                   kv[i].value_len) != INFINO_OK) {
            ar_kv_free(c, i);
            return INFINO_ERR_NOMEM;
        }
    }
    *out = c;
    return INFINO_OK;
}

bool ar_kv_equal(const struct ar_kv *a, size_t n_a, const struct ar_kv *b,
                 size_t n_b)
{
    if (n_a != n_b)
        return false;
    for (size_t i = 0; i < n_a; i++) {
        if (strcmp(a[i].key, b[i].key) != 0 ||
            a[i].value_len != b[i].value_len ||
            memcmp(a[i].value, b[i].value, a[i].value_len) != 0)
            return false;
    }
    return true;
}

/* ---- type properties -------------------------------------------------- */

int ar_type_n_buffers(enum ar_type t)
{
    switch (t) {
    case AR_UTF8:
    case AR_LARGE_UTF8:
    case AR_BINARY:
    case AR_LARGE_BINARY:
        return 3; /* validity, offsets, data */
    case AR_FIXED_SIZE_LIST:
    case AR_STRUCT:
        return 1; /* validity only */
    case AR_LIST:
    case AR_LARGE_LIST:
        return 2; /* validity, offsets */
    default:
        return 2; /* validity, values */
    }
}

int ar_type_bit_width(enum ar_type t)
{
    switch (t) {
    case AR_BOOL:
        return 1;
    case AR_INT8:
    case AR_UINT8:
        return 8;
    case AR_INT16:
    case AR_UINT16:
        return 16;
    case AR_INT32:
    case AR_UINT32:
    case AR_FLOAT32:
    case AR_DATE32:
        return 32;
    case AR_INT64:
    case AR_UINT64:
    case AR_FLOAT64:
    case AR_TIMESTAMP:
        return 64;
    case AR_DECIMAL128:
        return 128;
    default:
        return 0;
    }
}

int ar_type_n_children(enum ar_type t)
{
    switch (t) {
    case AR_FIXED_SIZE_LIST:
    case AR_LIST:
    case AR_LARGE_LIST:
        return 1;
    case AR_STRUCT:
        return -1;
    default:
        return 0;
    }
}

const char *ar_type_name(enum ar_type t)
{
    static const char *const names[] = {
        [AR_BOOL] = "bool",
        [AR_INT8] = "int8",
        [AR_INT16] = "int16",
        [AR_INT32] = "int32",
        [AR_INT64] = "int64",
        [AR_UINT8] = "uint8",
        [AR_UINT16] = "uint16",
        [AR_UINT32] = "uint32",
        [AR_UINT64] = "uint64",
        [AR_FLOAT32] = "float32",
        [AR_FLOAT64] = "float64",
        [AR_UTF8] = "utf8",
        [AR_LARGE_UTF8] = "large_utf8",
        [AR_BINARY] = "binary",
        [AR_LARGE_BINARY] = "large_binary",
        [AR_DATE32] = "date32",
        [AR_TIMESTAMP] = "timestamp",
        [AR_DECIMAL128] = "decimal128",
        [AR_FIXED_SIZE_LIST] = "fixed_size_list",
        [AR_LIST] = "list",
        [AR_LARGE_LIST] = "large_list",
        [AR_STRUCT] = "struct",
    };
    if ((size_t)t < ARRAY_LEN(names) && names[t] != NULL)
        return names[t];
    return "?";
}

static const char *unit_name(enum ar_time_unit u)
{
    static const char *const names[] = {"s", "ms", "us", "ns"};
    return (size_t)u < ARRAY_LEN(names) ? names[u] : "?";
}

/* ---- format strings --------------------------------------------------- */

/* C data interface, "Data type description -- format strings": the formats
 * that map one-to-one to a type with no parameters. */
static const struct {
    const char *fmt;
    enum ar_type type;
} simple_formats[] = {
    {"b", AR_BOOL},          {"c", AR_INT8},       {"s", AR_INT16},
    {"i", AR_INT32},         {"l", AR_INT64},      {"C", AR_UINT8},
    {"S", AR_UINT16},        {"I", AR_UINT32},     {"L", AR_UINT64},
    {"f", AR_FLOAT32},       {"g", AR_FLOAT64},    {"u", AR_UTF8},
    {"U", AR_LARGE_UTF8},    {"z", AR_BINARY},     {"Z", AR_LARGE_BINARY},
    {"tdD", AR_DATE32},      {"+l", AR_LIST},      {"+L", AR_LARGE_LIST},
    {"+s", AR_STRUCT},
};

/* Parses a decimal integer that must fit in int32 and lie in [lo, hi].
 * No sign except a leading '-' when lo < 0, no spaces, no empty digits. */
static int parse_int(const char **pp, int32_t lo, int32_t hi, int32_t *out)
{
    const char *p = *pp;
    bool neg = false;
    int64_t v = 0;

    if (*p == '-' && lo < 0) {
        neg = true;
        p++;
    }
    if (*p < '0' || *p > '9')
        return -1;
    while (*p >= '0' && *p <= '9') {
        v = v * 10 + (*p++ - '0');
        if (v > (int64_t)INT32_MAX + 1)
            return -1;
    }
    if (neg)
        v = -v;
    if (v < lo || v > hi)
        return -1;
    *pp = p;
    *out = (int32_t)v;
    return 0;
}

/* Names, in Arrow's words, a type of the C data interface that we do not
 * import ("ttu" -> "time64[us]"), so errors never show a bare format
 * code. False for a format the spec does not define. */
static bool name_format(char *out, size_t cap, const char *fmt)
{
    static const struct {
        const char *fmt, *name;
    } named[] = {
        {"n", "null"},
        {"e", "float16"},
        {"vu", "string_view"},
        {"vz", "binary_view"},
        {"tdm", "date64"},
        {"tts", "time32[s]"},
        {"ttm", "time32[ms]"},
        {"ttu", "time64[us]"},
        {"ttn", "time64[ns]"},
        {"tDs", "duration[s]"},
        {"tDm", "duration[ms]"},
        {"tDu", "duration[us]"},
        {"tDn", "duration[ns]"},
        {"tiM", "interval[months]"},
        {"tiD", "interval[day_time]"},
        {"tin", "interval[month_day_nano]"},
        {"+m", "map"},
        {"+vl", "list_view"},
        {"+vL", "large_list_view"},
        {"+r", "run_end_encoded"},
    };
    int32_t prec, scale, width;
    const char *p;

    for (size_t i = 0; i < ARRAY_LEN(named); i++) {
        if (strcmp(fmt, named[i].fmt) == 0) {
            snprintf(out, cap, "%s", named[i].name);
            return true;
        }
    }
    p = fmt + 2;
    if (strncmp(fmt, "w:", 2) == 0 &&
        parse_int(&p, 0, INT32_MAX, &width) == 0 && *p == '\0') {
        snprintf(out, cap, "fixed_size_binary(%d)", (int)width);
        return true;
    }
    p = fmt + 2;
    if (strncmp(fmt, "d:", 2) == 0 &&
        parse_int(&p, 0, INT32_MAX, &prec) == 0 && *p++ == ',' &&
        parse_int(&p, INT32_MIN, INT32_MAX, &scale) == 0 && *p++ == ',' &&
        parse_int(&p, 0, INT32_MAX, &width) == 0 && *p == '\0') {
        snprintf(out, cap, "decimal%d(%d, %d)", (int)width, (int)prec,
                 (int)scale);
        return true;
    }
    if (strncmp(fmt, "+ud:", 4) == 0 || strncmp(fmt, "+us:", 4) == 0) {
        snprintf(out, cap, "%s_union", fmt[2] == 'd' ? "dense" : "sparse");
        return true;
    }
    return false;
}

/* Sets type and parameters of `f` from `fmt`. A type we know with bad
 * parameters or trailing characters is INVALID; a type we do not support
 * (or do not know) is UNSUPPORTED. */
static infino_status parse_format(struct ar_field *f, const char *fmt,
                                  const struct ar_path *path)
{
    const char *p;

    for (size_t i = 0; i < ARRAY_LEN(simple_formats); i++) {
        if (strcmp(fmt, simple_formats[i].fmt) == 0) {
            f->type = simple_formats[i].type;
            return INFINO_OK;
        }
    }
    if (fmt[0] != '\0' && strchr("bcsilCSILfguUzZ", fmt[0]) != NULL)
        goto malformed; /* a known one-letter type with trailing junk */
    if (strncmp(fmt, "tdD", 3) == 0 || strncmp(fmt, "+l", 2) == 0 ||
        strncmp(fmt, "+L", 2) == 0 || strncmp(fmt, "+s", 2) == 0)
        goto malformed;

    if (strncmp(fmt, "ts", 2) == 0) {
        /* "tss:", "tsm:", "tsu:", "tsn:" then an optional time zone */
        static const char units[] = "smun";
        const char *u = fmt[2] ? strchr(units, fmt[2]) : NULL;

        if (u == NULL || fmt[3] != ':')
            goto malformed;
        f->type = AR_TIMESTAMP;
        f->unit = (enum ar_time_unit)(u - units);
        if (fmt[4] != '\0') {
            f->tz = mem_strdup(fmt + 4);
            if (f->tz == NULL)
                return err_nomem();
        }
        return INFINO_OK;
    }
    if (strncmp(fmt, "d:", 2) == 0) {
        /* "d:P,S" or "d:P,S,W": W is the bit width, 128 by default */
        int32_t prec, scale, width = 128;

        p = fmt + 2;
        if (parse_int(&p, 0, INT32_MAX, &prec) != 0 || *p++ != ',' ||
            parse_int(&p, INT32_MIN, INT32_MAX, &scale) != 0)
            goto malformed;
        if (*p == ',') {
            p++;
            if (parse_int(&p, 0, INT32_MAX, &width) != 0)
                goto malformed;
        }
        if (*p != '\0')
            goto malformed;
        if (width == 32 || width == 64 || width == 256)
            goto unsupported;
        if (width != 128 || prec < 1 || prec > 38)
            goto malformed;
        f->type = AR_DECIMAL128;
        f->precision = prec;
        f->scale = scale;
        return INFINO_OK;
    }
    if (strncmp(fmt, "+w:", 3) == 0) {
        p = fmt + 3;
        if (parse_int(&p, 0, INT32_MAX, &f->list_size) != 0 || *p != '\0')
            goto malformed;
        f->type = AR_FIXED_SIZE_LIST;
        return INFINO_OK;
    }
    /* "d..." and "+w..." without their colon; the empty format */
    if (fmt[0] == 'd' || strncmp(fmt, "+w", 2) == 0 || fmt[0] == '\0')
        goto malformed;
unsupported: {
    char type[64];

    if (!name_format(type, sizeof type, fmt))
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "field '%s': unknown type (format '%.64s')", path->s,
                       fmt);
    return err_set(INFINO_ERR_UNSUPPORTED,
                   "field '%s': type %s (format '%.64s') is not supported",
                   path->s, type, fmt);
}
malformed:
    return err_set(INFINO_ERR_INVALID, "field '%s': malformed format '%.64s'",
                   path->s, fmt);
}

/* Appends the C-interface format string of `f`, NUL-terminated. */
static infino_status print_format(struct buf *out, const struct ar_field *f)
{
    for (size_t i = 0; i < ARRAY_LEN(simple_formats); i++) {
        if (simple_formats[i].type == f->type)
            return buf_printf(out, "%s", simple_formats[i].fmt);
    }
    switch (f->type) {
    case AR_TIMESTAMP:
        return buf_printf(out, "ts%c:%s", "smun"[f->unit & 3],
                          f->tz ? f->tz : "");
    case AR_DECIMAL128:
        return buf_printf(out, "d:%d,%d", (int)f->precision, (int)f->scale);
    case AR_FIXED_SIZE_LIST:
        return buf_printf(out, "+w:%d", (int)f->list_size);
    default:
        return err_set(INFINO_ERR_INVALID, "field '%s': bad type %d", f->name,
                       (int)f->type);
    }
}

/* ---- C interface metadata --------------------------------------------- */

/* Parses the int32-prefixed key/value encoding. The producer gives no total
 * size, so lengths can only be checked for sign; the array grows with what
 * was actually read instead of trusting the leading count. */
static infino_status import_meta(struct ar_field *f, const char *md,
                                 const struct ar_path *path)
{
    const char *p = md;
    int32_t n, klen, vlen;
    size_t cap = 0;
    infino_status st;

    if (md == NULL)
        return INFINO_OK;
    memcpy(&n, p, 4);
    p += 4;
    if (n < 0)
        return err_set(INFINO_ERR_INVALID,
                       "field '%s': metadata has %d pairs", path->s, (int)n);
    for (int32_t i = 0; i < n; i++) {
        const char *key, *value;

        memcpy(&klen, p, 4);
        p += 4;
        if (klen < 0)
            goto bad_len;
        key = p;
        p += klen;
        memcpy(&vlen, p, 4);
        p += 4;
        if (vlen < 0)
            goto bad_len;
        value = p;
        p += vlen;
        if (memchr(key, '\0', (size_t)klen) != NULL)
            return err_set(INFINO_ERR_INVALID,
                           "field '%s': metadata key %d contains a NUL byte",
                           path->s, (int)i);
        st = ar_kv_push(&f->meta, &f->n_meta, &cap, key, (size_t)klen, value,
                        (size_t)vlen);
        if (st != INFINO_OK)
            return st;
    }
    return INFINO_OK;
bad_len:
    return err_set(INFINO_ERR_INVALID,
                   "field '%s': metadata entry with a negative length",
                   path->s);
}

/* Encodes metadata for export; *out is NULL when there is none. */
static infino_status encode_meta(char **out, const struct ar_kv *kv, size_t n)
{
    struct buf b = {0};
    infino_status st;

    *out = NULL;
    if (n == 0)
        return INFINO_OK;
    if (n > INT32_MAX)
        return err_set(INFINO_ERR_INVALID, "too many metadata entries");
    CHECK(buf_put_u32le(&b, (uint32_t)n));
    for (size_t i = 0; i < n; i++) {
        size_t klen = strlen(kv[i].key);

        if (klen > INT32_MAX || kv[i].value_len > INT32_MAX) {
            st = err_set(INFINO_ERR_INVALID, "metadata entry too long");
            goto fail;
        }
        CHECK(buf_put_u32le(&b, (uint32_t)klen));
        CHECK(buf_append(&b, kv[i].key, klen));
        CHECK(buf_put_u32le(&b, (uint32_t)kv[i].value_len));
        CHECK(buf_append(&b, kv[i].value, kv[i].value_len));
    }
    *out = (char *)buf_detach(&b, NULL);
    return INFINO_OK;
fail:
    buf_free(&b);
    return st;
}

/* ---- free, copy, equal ------------------------------------------------ */

void ar_field_free(struct ar_field *f)
{
    if (f == NULL)
        return;
    mem_free(f->name);
    mem_free(f->tz);
    if (f->children != NULL) {
        for (size_t i = 0; i < f->n_children; i++)
            ar_field_free(&f->children[i]);
        mem_free(f->children);
    }
    ar_kv_free(f->meta, f->n_meta);
    if (f->dict != NULL) {
        ar_field_free(f->dict);
        mem_free(f->dict);
    }
    memset(f, 0, sizeof *f);
}

void ar_schema_free(struct ar_schema *s)
{
    if (s == NULL)
        return;
    if (s->fields != NULL) {
        for (size_t i = 0; i < s->n_fields; i++)
            ar_field_free(&s->fields[i]);
        mem_free(s->fields);
    }
    ar_kv_free(s->meta, s->n_meta);
    memset(s, 0, sizeof *s);
}

/* Copies `n` fields into a new array *out (NULL when n == 0). */
static infino_status copy_fields(struct ar_field **out,
                                 const struct ar_field *src, size_t n)
{
    struct ar_field *c;
    infino_status st;

    *out = NULL;
    if (n == 0)
        return INFINO_OK;
    c = mem_calloc(n, sizeof *c);
    if (c == NULL)
        return err_nomem();
    for (size_t i = 0; i < n; i++) {
        st = ar_field_copy(&c[i], &src[i]);
        if (st != INFINO_OK) {
            for (size_t j = 0; j < i; j++)
                ar_field_free(&c[j]);
            mem_free(c);
            return st;
        }
    }
    *out = c;
    return INFINO_OK;
}

infino_status ar_field_copy(struct ar_field *out, const struct ar_field *f)
{
    struct ar_field c = *f;
    infino_status st;

    c.name = NULL;
    c.tz = NULL;
    c.children = NULL;
    c.meta = NULL;
    c.dict = NULL;
    c.n_children = 0;
    c.n_meta = 0;
    c.name = mem_strdup(f->name ? f->name : "");
    if (c.name == NULL) {
        st = err_nomem();
        goto fail;
    }
    if (f->tz != NULL && (c.tz = mem_strdup(f->tz)) == NULL) {
        st = err_nomem();
        goto fail;
    }
    CHECK(copy_fields(&c.children, f->children, f->n_children));
    c.n_children = f->n_children;
    CHECK(ar_kv_copy(&c.meta, f->meta, f->n_meta));
    c.n_meta = f->n_meta;
    if (f->dict != NULL) {
        c.dict = mem_calloc(1, sizeof *c.dict);
        if (c.dict == NULL) {
            st = err_nomem();
            goto fail;
        }
        CHECK(ar_field_copy(c.dict, f->dict));
    }
    *out = c;
    return INFINO_OK;
fail:
    ar_field_free(&c);
    memset(out, 0, sizeof *out);
    return st;
}

infino_status ar_schema_copy(struct ar_schema *out, const struct ar_schema *s)
{
    struct ar_schema c = {0};
    infino_status st;

    CHECK(copy_fields(&c.fields, s->fields, s->n_fields));
    c.n_fields = s->n_fields;
    CHECK(ar_kv_copy(&c.meta, s->meta, s->n_meta));
    c.n_meta = s->n_meta;
    *out = c;
    return INFINO_OK;
fail:
    ar_schema_free(&c);
    memset(out, 0, sizeof *out);
    return st;
}

static bool str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

bool ar_field_equal(const struct ar_field *a, const struct ar_field *b)
{
    if (a->type != b->type || a->nullable != b->nullable ||
        !str_eq(a->name, b->name) || a->n_children != b->n_children ||
        (a->dict == NULL) != (b->dict == NULL))
        return false;
    if (a->dict != NULL && !ar_field_equal(a->dict, b->dict))
        return false;
    switch (a->type) {
    case AR_TIMESTAMP:
        if (a->unit != b->unit || !str_eq(a->tz, b->tz))
            return false;
        break;
    case AR_DECIMAL128:
        if (a->precision != b->precision || a->scale != b->scale)
            return false;
        break;
    case AR_FIXED_SIZE_LIST:
        if (a->list_size != b->list_size)
            return false;
        break;
    default:
        break;
    }
    for (size_t i = 0; i < a->n_children; i++) {
        if (!ar_field_equal(&a->children[i], &b->children[i]))
            return false;
    }
    return true;
}

bool ar_schema_equal(const struct ar_schema *a, const struct ar_schema *b)
{
    if (a->n_fields != b->n_fields)
        return false;
    for (size_t i = 0; i < a->n_fields; i++) {
        if (!ar_field_equal(&a->fields[i], &b->fields[i]))
            return false;
    }
    return true;
}

int ar_schema_find(const struct ar_schema *s, const char *name)
{
    for (size_t i = 0; i < s->n_fields && i < INT_MAX; i++) {
        if (strcmp(s->fields[i].name, name) == 0)
            return (int)i;
    }
    return -1;
}

/* ---- metadata accessors ----------------------------------------------- */

infino_status ar_schema_set_meta(struct ar_schema *s, const char *key,
                                 const void *value, size_t value_len)
{
    struct ar_kv kv, *grown;

    if (kv_set(&kv, key, strlen(key), value, value_len) != INFINO_OK)
        return INFINO_ERR_NOMEM;
    for (size_t i = 0; i < s->n_meta; i++) {
        if (strcmp(s->meta[i].key, key) == 0) {
            mem_free(s->meta[i].key);
            mem_free(s->meta[i].value);
            s->meta[i] = kv;
            return INFINO_OK;
        }
    }
    grown = mem_realloc(s->meta, (s->n_meta + 1) * sizeof *grown);
    if (grown == NULL) {
        mem_free(kv.key);
        mem_free(kv.value);
        return err_nomem();
    }
    grown[s->n_meta++] = kv;
    s->meta = grown;
    return INFINO_OK;
}

const struct ar_kv *ar_schema_get_meta(const struct ar_schema *s,
                                       const char *key)
{
    for (size_t i = 0; i < s->n_meta; i++) {
        if (strcmp(s->meta[i].key, key) == 0)
            return &s->meta[i];
    }
    return NULL;
}

/* ---- describe --------------------------------------------------------- */

static infino_status describe(struct buf *out, const struct ar_field *f,
                              int depth)
{
    infino_status st;

    if (depth > AR_MAX_DEPTH)
        return buf_append_str(out, "...");
    if (f->dict != NULL) {
        CHECK(buf_append_str(out, "dictionary<values="));
        CHECK(describe(out, f->dict, depth + 1));
        return buf_printf(out, ", indices=%s>", ar_type_name(f->type));
    }
    switch (f->type) {
    case AR_TIMESTAMP:
        if (f->tz != NULL)
            return buf_printf(out, "timestamp[%s, tz=%s]", unit_name(f->unit),
                              f->tz);
        return buf_printf(out, "timestamp[%s]", unit_name(f->unit));
    case AR_DECIMAL128:
        return buf_printf(out, "decimal128(%d, %d)", (int)f->precision,
                          (int)f->scale);
    case AR_FIXED_SIZE_LIST:
    case AR_LIST:
    case AR_LARGE_LIST:
        CHECK(buf_printf(out, "%s<", ar_type_name(f->type)));
        if (f->n_children == 1)
            CHECK(describe(out, &f->children[0], depth + 1));
        if (f->type == AR_FIXED_SIZE_LIST)
            CHECK(buf_printf(out, ", %d", (int)f->list_size));
        return buf_append_str(out, ">");
    case AR_STRUCT:
        CHECK(buf_append_str(out, "struct<"));
        for (size_t i = 0; i < f->n_children; i++) {
            CHECK(buf_printf(out, "%s%s: ", i ? ", " : "",
                             f->children[i].name));
            CHECK(describe(out, &f->children[i], depth + 1));
        }
        return buf_append_str(out, ">");
    default:
        return buf_append_str(out, ar_type_name(f->type));
    }
fail:
    return st;
}

infino_status ar_type_describe(struct buf *out, const struct ar_field *f)
{
    size_t start = out->len;
    infino_status st;

    CHECK(describe(out, f, 0));
    CHECK(buf_append(out, "", 1)); /* the NUL, then not counted in len */
    out->len--;
    return INFINO_OK;
fail:
    out->len = start;
    return st;
}

/* ---- import ----------------------------------------------------------- */

/* Per node of the walk: whether a dictionary may appear on the node itself
 * or on its direct children (the columns under a record batch's root), and
 * whether the node, or its children, are columns (for the error). */
#define DICT_HERE 1u
#define DICT_IN_CHILDREN 2u
#define COLUMN 4u
#define COLUMNS_BELOW 8u

static infino_status import_node(struct ar_field *out,
                                 const struct ArrowSchema *in,
                                 struct ar_path *path, int depth,
                                 unsigned dict);

/* Imports the children of `in` into f->children; `f->type` is set. */
static infino_status import_children(struct ar_field *f,
                                     const struct ArrowSchema *in,
                                     struct ar_path *path, int depth,
                                     unsigned dict)
{
    int want = ar_type_n_children(f->type);
    infino_status st;

    if (in->n_children < 0 || in->n_children > AR_MAX_CHILDREN)
        return err_set(INFINO_ERR_INVALID, "field '%s': n_children %lld",
                       path->s, (long long)in->n_children);
    if (want >= 0 && in->n_children != want)
        return err_set(INFINO_ERR_INVALID,
                       "field '%s': %s has %lld children, expected %d",
                       path->s, ar_type_name(f->type),
                       (long long)in->n_children, want);
    if (in->n_children > 0 && in->children == NULL)
        return err_set(INFINO_ERR_INVALID,
                       "field '%s': %lld children but children is NULL",
                       path->s, (long long)in->n_children);
    if (in->n_children == 0)
        return INFINO_OK;
    f->children = mem_calloc((size_t)in->n_children, sizeof *f->children);
    if (f->children == NULL)
        return err_nomem();
    f->n_children = (size_t)in->n_children;
    for (size_t i = 0; i < f->n_children; i++) {
        const struct ArrowSchema *c = in->children[i];
        size_t mark;

        if (c == NULL)
            return err_set(INFINO_ERR_INVALID, "field '%s': child %zu is NULL",
                           path->s, i);
        mark = ar_path_push(path, c->release ? c->name : NULL, i);
        st = import_node(&f->children[i], c, path, depth + 1,
                         ((dict & DICT_IN_CHILDREN) ? DICT_HERE : 0) |
                             ((dict & COLUMNS_BELOW) ? COLUMN : 0));
        ar_path_pop(path, mark);
        if (st != INFINO_OK)
            return st;
    }
    return INFINO_OK;
}

/* Imports the dictionary of `in` into f->dict. C data interface: the
 * format of a dictionary-encoded node is its index type and `dictionary`
 * describes the values; a value type is never dictionary-encoded again
 * here (AR_IMPORT_DICTIONARY covers one level). The values are imported
 * even where a dictionary is refused, so the error can name their type. */
static infino_status import_dictionary(struct ar_field *f,
                                       const struct ArrowSchema *in,
                                       struct ar_path *path, int depth,
                                       unsigned dict)
{
    struct buf values = {0};
    size_t mark;
    infino_status st;

    if (f->type < AR_INT8 || f->type > AR_UINT64)
        return err_set(INFINO_ERR_INVALID,
                       "field '%s': dictionary indices must be integers, "
                       "not '%.64s'",
                       path->s, in->format);
    f->dict = mem_calloc(1, sizeof *f->dict);
    if (f->dict == NULL)
        return err_nomem();
    mark = ar_path_push(path, "dictionary", 0);
    st = import_node(f->dict, in->dictionary, path, depth + 1, 0);
    ar_path_pop(path, mark);
    if (st != INFINO_OK || (dict & DICT_HERE))
        return st;
    if (!(dict & COLUMN))
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "field '%s': dictionary-encoded values inside a "
                       "nested type are not supported",
                       path->s);
    st = ar_type_describe(&values, f->dict);
    if (st == INFINO_OK)
        st = err_set(INFINO_ERR_UNSUPPORTED,
                     "field '%s': dictionary-encoded columns are not "
                     "supported here; declare it %s (appends decode "
                     "dictionary-encoded data)",
                     path->s, (const char *)values.data);
    buf_free(&values);
    return st;
}

/* Imports one node whose name is already on `path`. */
static infino_status import_node(struct ar_field *out,
                                 const struct ArrowSchema *in,
                                 struct ar_path *path, int depth,
                                 unsigned dict)
{
    struct ar_field f = {0};
    infino_status st;

    if (depth > AR_MAX_DEPTH) {
        st = err_set(INFINO_ERR_UNSUPPORTED,
                     "field '%s': nested deeper than %d levels", path->s,
                     AR_MAX_DEPTH);
        goto fail;
    }
    if (in->release == NULL) {
        st = err_set(INFINO_ERR_INVALID, "field '%s': schema is released",
                     path->s);
        goto fail;
    }
    if (in->format == NULL) {
        st = err_set(INFINO_ERR_INVALID, "field '%s': format is NULL",
                     path->s);
        goto fail;
    }
    f.name = mem_strdup(in->name ? in->name : "");
    if (f.name == NULL) {
        st = err_nomem();
        goto fail;
    }
    f.nullable = (in->flags & ARROW_FLAG_NULLABLE) != 0;
    CHECK(parse_format(&f, in->format, path));
    if (in->dictionary != NULL)
        CHECK(import_dictionary(&f, in, path, depth, dict));
    CHECK(import_meta(&f, in->metadata, path));
    CHECK(import_children(&f, in, path, depth, dict));
    *out = f;
    return INFINO_OK;
fail:
    ar_field_free(&f);
    return st;
}

infino_status ar_field_import_flags(struct ar_field *out,
                                    const struct ArrowSchema *in,
                                    unsigned flags)
{
    struct ar_path path = {0};
    infino_status st;

    memset(out, 0, sizeof *out);
    if (in == NULL)
        return err_set(INFINO_ERR_INVALID, "schema is NULL");
    ar_path_push(&path, in->release ? in->name : NULL, 0);
    st = import_node(out, in, &path, 0,
                     COLUMN | ((flags & AR_IMPORT_DICTIONARY) ? DICT_HERE : 0));
    return err_context(st, "importing Arrow schema");
}

infino_status ar_field_import(struct ar_field *out,
                              const struct ArrowSchema *in)
{
    return ar_field_import_flags(out, in, 0);
}

infino_status ar_schema_import(struct ar_schema *out,
                               const struct ArrowSchema *in)
{
    return ar_schema_import_flags(out, in, 0);
}

infino_status ar_schema_import_flags(struct ar_schema *out,
                                     const struct ArrowSchema *in,
                                     unsigned flags)
{
    struct ar_path path = {0};
    struct ar_field root = {0};
    infino_status st;

    memset(out, 0, sizeof *out);
    if (in == NULL) {
        st = err_set(INFINO_ERR_INVALID, "schema is NULL");
        goto fail;
    }
    if (in->release != NULL && in->format != NULL &&
        strcmp(in->format, "+s") != 0) {
        st = err_set(INFINO_ERR_INVALID,
                     "root must be a struct ('+s'), not '%.64s'", in->format);
        goto fail;
    }
    /* The root's name is not part of its fields' paths. */
    CHECK(import_node(&root, in, &path, 0,
                      COLUMNS_BELOW |
                          ((flags & AR_IMPORT_DICTIONARY) ? DICT_IN_CHILDREN
                                                          : 0)));
    out->fields = root.children;
    out->n_fields = root.n_children;
    out->meta = root.meta;
    out->n_meta = root.n_meta;
    root.children = NULL;
    root.meta = NULL;
    ar_field_free(&root);
    return INFINO_OK;
fail:
    return err_context(st, "importing Arrow schema");
}

/* ---- export ----------------------------------------------------------- */

/* private_data of every ArrowSchema node we export. It never points into
 * the ArrowSchema itself, so consumers may move the struct (C data
 * interface, "Moving an array"). */
struct exported_schema {
    char *format;
    char *name;
    char *metadata;
    int64_t n_children;
    struct ArrowSchema **child_ptrs;
    struct ArrowSchema *children;
    struct ArrowSchema *dictionary; /* NULL unless dictionary-encoded */
};

static void free_exported(struct exported_schema *x)
{
    if (x == NULL)
        return;
    for (int64_t i = 0; i < x->n_children; i++) {
        struct ArrowSchema *c = &x->children[i];
        /* A consumer may have moved the child out and marked it released. */
        if (c->release != NULL)
            c->release(c);
    }
    if (x->dictionary != NULL && x->dictionary->release != NULL)
        x->dictionary->release(x->dictionary);
    mem_free(x->dictionary);
    mem_free(x->children);
    mem_free(x->child_ptrs);
    mem_free(x->format);
    mem_free(x->name);
    mem_free(x->metadata);
    mem_free(x);
}

static void release_schema(struct ArrowSchema *s)
{
    if (s == NULL || s->release == NULL)
        return;
    free_exported(s->private_data);
    s->private_data = NULL;
    s->release = NULL;
}

static infino_status export_field(struct ArrowSchema *out,
                                  const struct ar_field *f, int depth);

/* Fills *out with a node of the given parts; children are exported from
 * `kids`. On failure *out is released-marked and nothing leaks. */
static infino_status export_node(struct ArrowSchema *out, const char *format,
                                 const char *name, bool nullable,
                                 const struct ar_kv *meta, size_t n_meta,
                                 const struct ar_field *kids, size_t n_kids,
                                 const struct ar_field *dict, int depth)
{
    struct exported_schema *x;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (depth > AR_MAX_DEPTH)
        return err_set(INFINO_ERR_INVALID, "field '%s': nested deeper than %d",
                       name, AR_MAX_DEPTH);
    x = mem_calloc(1, sizeof *x);
    if (x == NULL)
        return err_nomem();
    x->format = mem_strdup(format);
    x->name = mem_strdup(name ? name : "");
    if (x->format == NULL || x->name == NULL) {
        st = err_nomem();
        goto fail;
    }
    CHECK(encode_meta(&x->metadata, meta, n_meta));
    if (n_kids > 0) {
        x->child_ptrs = mem_calloc(n_kids, sizeof *x->child_ptrs);
        x->children = mem_calloc(n_kids, sizeof *x->children);
        if (x->child_ptrs == NULL || x->children == NULL) {
            st = err_nomem();
            goto fail;
        }
        for (size_t i = 0; i < n_kids; i++) {
            x->child_ptrs[i] = &x->children[i];
            CHECK(export_field(&x->children[i], &kids[i], depth + 1));
            x->n_children = (int64_t)i + 1;
        }
    }
    if (dict != NULL) {
        x->dictionary = mem_calloc(1, sizeof *x->dictionary);
        if (x->dictionary == NULL) {
            st = err_nomem();
            goto fail;
        }
        CHECK(export_field(x->dictionary, dict, depth + 1));
    }
    out->format = x->format;
    out->name = x->name;
    out->metadata = x->metadata;
    out->flags = nullable ? ARROW_FLAG_NULLABLE : 0;
    out->n_children = (int64_t)n_kids;
    out->children = x->child_ptrs;
    out->dictionary = x->dictionary;
    out->release = release_schema;
    out->private_data = x;
    return INFINO_OK;
fail:
    free_exported(x);
    return st;
}

static infino_status export_field(struct ArrowSchema *out,
                                  const struct ar_field *f, int depth)
{
    struct buf fmt = {0};
    char small[32];
    const char *format = NULL;
    infino_status st;
    int want = ar_type_n_children(f->type);

    memset(out, 0, sizeof *out);
    if (want >= 0 && f->n_children != (size_t)want) {
        st = err_set(INFINO_ERR_INVALID, "field '%s': %s with %zu children",
                     f->name, ar_type_name(f->type), f->n_children);
        goto fail;
    }
    /* Every search result exports its schema: the common formats without
     * a buffer or a second formatting pass. */
    for (size_t i = 0; i < ARRAY_LEN(simple_formats) && !format; i++)
        if (simple_formats[i].type == f->type)
            format = simple_formats[i].fmt;
    if (format == NULL && f->type == AR_DECIMAL128) {
        snprintf(small, sizeof small, "d:%d,%d", (int)f->precision,
                 (int)f->scale);
        format = small;
    }
    if (format == NULL) {
        CHECK(print_format(&fmt, f));
        format = (const char *)fmt.data;
    }
    CHECK(export_node(out, format, f->name, f->nullable,
                      f->meta, f->n_meta, f->children, f->n_children, f->dict,
                      depth));
    buf_free(&fmt);
    return INFINO_OK;
fail:
    buf_free(&fmt);
    return st;
}

infino_status ar_field_export(struct ArrowSchema *out,
                              const struct ar_field *f)
{
    return err_context(export_field(out, f, 0), "exporting Arrow schema");
}

infino_status ar_schema_export(struct ArrowSchema *out,
                               const struct ar_schema *s)
{
    /* C data interface, "Record batches": a struct whose children are the
     * fields; the root's metadata is the schema's metadata. */
    return err_context(export_node(out, "+s", "", false, s->meta, s->n_meta,
                                   s->fields, s->n_fields, NULL, 0),
                       "exporting Arrow schema");
}
