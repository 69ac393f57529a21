/*
 * parquet_read_tool.c - reads a Parquet file with pq_reader and prints it
 * as JSON, so tests/py/test_parquet_read*.py can compare it exactly with
 * what pyarrow reads.
 *
 * Usage: parquet_read_tool [--fields 0,2] [--filter "F OP V"]... [--scan]
 *                          [--rows 0,7,9] [--max-bytes N] FILE
 *   --rows: point reads (pq_reader_read_rows) of those rows (ascending,
 *   within each row group; rows past a group's end are dropped).
 *   F: field index; OP: eq lt le gt ge isnull notnull; V: an integer, a
 *   float, "h:<hex>" (bytes) or "d:<unscaled decimal>".
 * Output: {"schema": [...], "num_rows": n, "row_groups": [rows...],
 *          "may_match": [...], "batches": [{"rows": n, "columns": [...]}]}
 * Values: null, true/false, integers, "f32:<bits hex>", "f64:<bits hex>",
 * "h:<hex bytes>", "d:<unscaled decimal>", lists as arrays.
 * Errors: "ERROR <status> <message>" on stderr, exit status 2.
 */
#include "format/parquet/parquet.h"
#include "store/store.h"
#include "util/err.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_FILTERS 16

static void json_str(const char *s)
{
    putchar('"');
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            printf("\\%c", c);
        else if (c < 0x20)
            printf("\\u%04x", c);
        else
            putchar(c);
    }
    putchar('"');
}

static const char *type_name(enum ar_type t)
{
    static const char *const names[] = {
        "?",          "bool",        "int8",         "int16",
        "int32",      "int64",       "uint8",        "uint16",
        "uint32",     "uint64",      "float32",      "float64",
        "utf8",       "large_utf8",  "binary",       "large_binary",
        "date32",     "timestamp",   "decimal128",   "fixed_size_list",
        "list",       "large_list",  "struct",
    };
    return (size_t)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

static void print_field(const struct ar_field *f)
{
    static const char *const units[] = {"s", "ms", "us", "ns"};

    printf("{\"name\":");
    json_str(f->name);
    printf(",\"type\":\"%s\",\"nullable\":%s", type_name(f->type),
           f->nullable ? "true" : "false");
    if (f->type == AR_TIMESTAMP) {
        printf(",\"unit\":\"%s\",\"tz\":", units[f->unit]);
        if (f->tz)
            json_str(f->tz);
        else
            printf("null");
    }
    if (f->type == AR_DECIMAL128)
        printf(",\"precision\":%d,\"scale\":%d", (int)f->precision,
               (int)f->scale);
    if (f->type == AR_FIXED_SIZE_LIST)
        printf(",\"list_size\":%d", (int)f->list_size);
    if (f->n_children > 0) {
        printf(",\"children\":[");
        for (size_t i = 0; i < f->n_children; i++) {
            if (i)
                putchar(',');
            print_field(&f->children[i]);
        }
        putchar(']');
    }
    putchar('}');
}

static void print_dec(const uint8_t *p)
{
    /* 128-bit two's complement to decimal: four 32-bit limbs, most
     * significant first, divided by 10 until zero. */
    uint32_t limb[4];
    char digits[64];
    int n = 0;
    bool neg = (p[15] & 0x80) != 0;

    for (int i = 0; i < 4; i++)
        memcpy(&limb[3 - i], p + 4 * i, 4);
    if (neg) { /* negate: invert and add one */
        uint64_t carry = 1;
        for (int i = 3; i >= 0; i--) {
            uint64_t v = (uint64_t)(uint32_t)~limb[i] + carry;
            limb[i] = (uint32_t)v;
            carry = v >> 32;
        }
    }
    do {
        uint64_t rem = 0;
        for (int i = 0; i < 4; i++) {
            uint64_t cur = rem << 32 | limb[i];
            limb[i] = (uint32_t)(cur / 10);
            rem = cur % 10;
        }
        digits[n++] = (char)('0' + (int)rem);
    } while (limb[0] | limb[1] | limb[2] | limb[3]);
    printf("\"d:%s", neg ? "-" : "");
    while (n)
        putchar(digits[--n]);
    putchar('"');
}

static void print_hex(const uint8_t *p, size_t n)
{
    printf("\"h:");
    for (size_t i = 0; i < n; i++)
        printf("%02x", p[i]);
    putchar('"');
}

static void print_value(const struct ar_field *f, const struct ArrowArray *a,
                        int64_t i);

static void print_list_items(const struct ar_field *f,
                             const struct ArrowArray *a, int64_t lo,
                             int64_t hi)
{
    putchar('[');
    for (int64_t k = lo; k < hi; k++) {
        if (k > lo)
            putchar(',');
        print_value(&f->children[0], a->children[0], k);
    }
    putchar(']');
}

static void print_value(const struct ar_field *f, const struct ArrowArray *a,
                        int64_t i)
{
    const void *vals = a->buffers[1];
    int64_t j = i + a->offset;

    if (!ar_array_is_valid(a, i)) {
        printf("null");
        return;
    }
    switch (f->type) {
    case AR_BOOL:
        printf(((const uint8_t *)vals)[j >> 3] >> (j & 7) & 1 ? "true"
                                                               : "false");
        break;
    case AR_INT8:
        printf("%d", ((const int8_t *)vals)[j]);
        break;
    case AR_INT16:
        printf("%d", ((const int16_t *)vals)[j]);
        break;
    case AR_INT32:
    case AR_DATE32:
        printf("%" PRId32, ((const int32_t *)vals)[j]);
        break;
    case AR_INT64:
    case AR_TIMESTAMP:
        printf("%" PRId64, ((const int64_t *)vals)[j]);
        break;
    case AR_UINT8:
        printf("%u", ((const uint8_t *)vals)[j]);
        break;
    case AR_UINT16:
        printf("%u", ((const uint16_t *)vals)[j]);
        break;
    case AR_UINT32:
        printf("%" PRIu32, ((const uint32_t *)vals)[j]);
        break;
    case AR_UINT64:
        printf("%" PRIu64, ((const uint64_t *)vals)[j]);
        break;
    case AR_FLOAT32: {
        uint32_t b;
        memcpy(&b, (const uint8_t *)vals + 4 * j, 4);
        printf("\"f32:%08" PRIx32 "\"", b);
        break;
    }
    case AR_FLOAT64: {
        uint64_t b;
        memcpy(&b, (const uint8_t *)vals + 8 * j, 8);
        printf("\"f64:%016" PRIx64 "\"", b);
        break;
    }
    case AR_DECIMAL128:
        print_dec((const uint8_t *)vals + 16 * j);
        break;
    case AR_UTF8:
    case AR_BINARY: {
        const int32_t *o = vals;
        print_hex((const uint8_t *)a->buffers[2] + o[j],
                  (size_t)(o[j + 1] - o[j]));
        break;
    }
    case AR_LARGE_UTF8:
    case AR_LARGE_BINARY: {
        const int64_t *o = vals;
        print_hex((const uint8_t *)a->buffers[2] + o[j],
                  (size_t)(o[j + 1] - o[j]));
        break;
    }
    case AR_LIST: {
        const int32_t *o = vals;
        print_list_items(f, a, o[j], o[j + 1]);
        break;
    }
    case AR_LARGE_LIST: {
        const int64_t *o = vals;
        print_list_items(f, a, o[j], o[j + 1]);
        break;
    }
    case AR_FIXED_SIZE_LIST:
        print_list_items(f, a, j * f->list_size, (j + 1) * f->list_size);
        break;
    default:
        printf("\"?\"");
        break;
    }
}

static void print_batch(const struct ar_schema *s, const struct ArrowArray *b)
{
    printf("{\"rows\":%" PRId64 ",\"columns\":[", b->length);
    for (int64_t c = 0; c < b->n_children; c++) {
        if (c)
            putchar(',');
        putchar('[');
        for (int64_t i = 0; i < b->length; i++) {
            if (i)
                putchar(',');
            print_value(&s->fields[c], b->children[c], i);
        }
        putchar(']');
    }
    printf("]}");
}

static int hexval(int c)
{
    return c >= '0' && c <= '9'   ? c - '0'
           : c >= 'a' && c <= 'f' ? c - 'a' + 10
                                  : -1;
}

/* Parses "F OP V" into *f against the schema; byte values go to `store`. */
static int parse_filter(struct pq_filter *f, const struct ar_schema *s,
                        const char *text, uint8_t *store)
{
    char op[16], val[4096];
    int n = sscanf(text, "%d %15s %4095s", &f->field, op, val);
    const struct ar_field *fld;
    static const char *const ops[] = {"eq", "lt", "le", "gt", "ge",
                                      "isnull", "notnull"};

    if (n < 2 || f->field < 0 || (size_t)f->field >= s->n_fields)
        return -1;
    fld = &s->fields[f->field];
    f->op = (enum pq_op)-1;
    for (int i = 0; i < 7; i++)
        if (strcmp(op, ops[i]) == 0)
            f->op = (enum pq_op)i;
    if ((int)f->op < 0)
        return -1;
    memset(&f->value, 0, sizeof f->value);
    f->value.type = fld->type;
    if (f->op == PQ_IS_NULL || f->op == PQ_NOT_NULL)
        return 0;
    if (n < 3)
        return -1;
    if (strncmp(val, "h:", 2) == 0) {
        size_t len = strlen(val + 2) / 2;
        for (size_t i = 0; i < len; i++)
            store[i] = (uint8_t)(hexval(val[2 + 2 * i]) << 4 |
                                 hexval(val[3 + 2 * i]));
        f->value.v.bytes.p = store;
        f->value.v.bytes.n = len;
    } else if (strncmp(val, "d:", 2) == 0) {
        /* unscaled decimal, within int64 for the tests */
        int64_t v = strtoll(val + 2, NULL, 10);
        memcpy(f->value.v.dec, &v, 8);
        memset(f->value.v.dec + 8, v < 0 ? 0xff : 0, 8);
    } else if (fld->type == AR_FLOAT32 || fld->type == AR_FLOAT64) {
        f->value.v.d = strtod(val, NULL);
    } else if (fld->type == AR_BOOL || fld->type == AR_UINT8 ||
               fld->type == AR_UINT16 || fld->type == AR_UINT32 ||
               fld->type == AR_UINT64) {
        f->value.v.u = strtoull(val, NULL, 10);
    } else {
        f->value.v.i = strtoll(val, NULL, 10);
    }
    return 0;
}

static int fail(infino_status st)
{
    fprintf(stderr, "ERROR %d %s\n", (int)st, err_last());
    return 2;
}

int main(int argc, char **argv)
{
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;
    struct pq_filter filters[MAX_FILTERS];
    static uint8_t filter_bytes[MAX_FILTERS][4096];
    const char *filter_text[MAX_FILTERS];
    int fields[1024];
    static uint32_t rows[65536];
    size_t n_fields = 0, n_filters = 0, n_rows = 0;
    bool use_rows = false;
    bool use_fields = false, scan = false;
    unsigned long long max_bytes = 0;
    const char *path = NULL;
    const struct ar_schema *schema;
    infino_status st;

    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--fields") == 0 && i + 1 < argc) {
            char *s = argv[++i];
            use_fields = true;
            while (*s && n_fields < 1024) {
                fields[n_fields++] = (int)strtol(s, &s, 10);
                if (*s == ',')
                    s++;
            }
        } else if (strcmp(argv[i], "--filter") == 0 && i + 1 < argc &&
                   n_filters < MAX_FILTERS) {
            filter_text[n_filters++] = argv[++i];
        } else if (strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
            char *s = argv[++i];
            use_rows = true;
            while (*s && n_rows < 65536) {
                rows[n_rows++] = (uint32_t)strtoul(s, &s, 10);
                if (*s == ',')
                    s++;
            }
        } else if (strcmp(argv[i], "--scan") == 0) {
            scan = true;
        } else if (strcmp(argv[i], "--max-bytes") == 0 && i + 1 < argc) {
            max_bytes = strtoull(argv[++i], NULL, 10);
        } else {
            path = argv[i];
        }
    }
    if (path == NULL) {
        fprintf(stderr, "usage: %s [options] FILE\n", argv[0]);
        return 1;
    }
    if ((st = store_blob_open_file(&blob, path)) != INFINO_OK)
        return fail(st);
    if ((st = pq_reader_open(&r, blob)) != INFINO_OK) {
        store_blob_close(blob);
        return fail(st);
    }
    if (max_bytes)
        pq_reader_set_max_bytes(r, max_bytes);
    schema = pq_reader_schema(r);
    for (size_t i = 0; i < n_filters; i++) {
        if (parse_filter(&filters[i], schema, filter_text[i],
                         filter_bytes[i]) != 0) {
            fprintf(stderr, "bad filter '%s'\n", filter_text[i]);
            return 1;
        }
    }

    printf("{\"schema\":[");
    for (size_t i = 0; i < schema->n_fields; i++) {
        if (i)
            putchar(',');
        print_field(&schema->fields[i]);
    }
    printf("],\"num_rows\":%" PRId64 ",\"row_groups\":[",
           pq_reader_num_rows(r));
    for (int g = 0; g < pq_reader_num_row_groups(r); g++)
        printf("%s%" PRId64, g ? "," : "", pq_reader_row_group_rows(r, g));
    printf("],\"may_match\":[");
    for (int g = 0; g < pq_reader_num_row_groups(r); g++)
        printf("%s%s", g ? "," : "",
               pq_reader_row_group_may_match(r, g, filters, n_filters)
                   ? "true"
                   : "false");
    printf("],\"batches\":[");
    if (scan) {
        struct pq_scan *s = NULL;
        bool eof = false;
        int k = 0;
        st = pq_scan_open(&s, r, use_fields ? fields : NULL, n_fields,
                          filters, n_filters);
        while (st == INFINO_OK) {
            struct ArrowArray b;
            st = pq_scan_next(s, &b, &eof);
            if (st != INFINO_OK || eof)
                break;
            if (k++)
                putchar(',');
            print_batch(pq_scan_schema(s), &b);
            ar_array_release(&b);
        }
        pq_scan_free(s);
    } else {
        struct ar_schema proj = {0};
        struct ar_field pf[1024];
        const struct ar_schema *ps = schema;
        if (use_fields) {
            for (size_t i = 0; i < n_fields; i++)
                pf[i] = schema->fields[fields[i] >= 0 &&
                                               (size_t)fields[i] <
                                                   schema->n_fields
                                           ? fields[i]
                                           : 0];
            proj.fields = pf;
            proj.n_fields = n_fields;
            ps = &proj;
        }
        st = INFINO_OK;
        for (int g = 0; g < pq_reader_num_row_groups(r) && st == INFINO_OK;
             g++) {
            struct ArrowArray b;
            size_t k = 0;
            while (k < n_rows &&
                   (int64_t)rows[k] < pq_reader_row_group_rows(r, g))
                k++;
            if (use_rows)
                st = pq_reader_read_rows(r, g, use_fields ? fields : NULL,
                                         n_fields, rows, k, &b);
            else
                st = pq_reader_read_row_group(r, g, use_fields ? fields : NULL,
                                              n_fields, &b);
            if (st != INFINO_OK)
                break;
            if (g)
                putchar(',');
            print_batch(ps, &b);
            ar_array_release(&b);
        }
    }
    printf("]}\n");
    pq_reader_free(r);
    store_blob_close(blob);
    if (st != INFINO_OK)
        return fail(st);
    return 0;
}
