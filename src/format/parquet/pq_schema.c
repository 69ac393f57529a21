/*
 * pq_schema.c - Arrow schema <-> flattened Parquet schema (see
 * pq_schema.h). Type mapping per LogicalTypes.md (apache/parquet-format),
 * including its "Backward-compatibility rules" for lists; the Arrow side
 * mirrors what Arrow's Parquet writer emits so that files look alike.
 */
#include "pq_schema.h"

#include "util/alloc.h"
#include "util/err.h"

#include <string.h>

int32_t pq_decimal_byte_len(int32_t precision)
{
    /* Fewest bytes n with 10^p <= 2^(8n-1), i.e. every p-digit value and
     * its negation fit in n bytes of two's complement. */
    static const int8_t len[39] = {
        0,  1,  1,  2,  2,  3,  3,  4,  4,  4,  5,  5,  6,
        6,  6,  7,  7,  8,  8,  9,  9,  9,  10, 10, 11, 11,
        11, 12, 12, 13, 13, 13, 14, 14, 15, 15, 16, 16, 16,
    };
    return precision >= 1 && precision <= 38 ? len[precision] : 0;
}

void pq_schema_free(struct pq_schema *s)
{
    if (s == NULL)
        return;
    arena_free(&s->arena);
    memset(s, 0, sizeof *s);
}

static bool is_list_type(enum ar_type t)
{
    return t == AR_LIST || t == AR_LARGE_LIST || t == AR_FIXED_SIZE_LIST;
}

/* ---- Arrow -> Parquet ------------------------------------------------- */

static infino_status set_name(struct arena *a, struct pq_bytes *out,
                              const char *name)
{
    size_t n = strlen(name);
    char *p = arena_strndup(a, name, n);

    if (p == NULL)
        return err_nomem();
    out->p = (const uint8_t *)p;
    out->len = n;
    return INFINO_OK;
}

static void set_repetition(struct pq_schema_elem *e, enum pq_repetition r)
{
    e->has_repetition = true;
    e->repetition = r;
}

static void set_int(struct pq_schema_elem *e, enum pq_type t, int bits,
                    bool is_signed, int32_t converted)
{
    e->type = t;
    e->converted = converted;
    e->logical.kind = PQ_LT_INTEGER;
    e->logical.bit_width = (int8_t)bits;
    e->logical.is_signed = is_signed;
}

/* Fills type, annotations and type_length of the leaf element for a
 * primitive Arrow field (Arrow's writer's choices, see pq_schema.h). */
static infino_status set_primitive(struct pq_schema_elem *e,
                                   const struct ar_field *f, const char *path)
{
    e->has_type = true;
    switch (f->type) {
    case AR_BOOL:
        e->type = PQ_BOOLEAN;
        break;
    case AR_INT8:
        set_int(e, PQ_INT32, 8, true, PQ_CT_INT_8);
        break;
    case AR_INT16:
        set_int(e, PQ_INT32, 16, true, PQ_CT_INT_16);
        break;
    case AR_INT32:
        e->type = PQ_INT32;
        break;
    case AR_INT64:
        e->type = PQ_INT64;
        break;
    case AR_UINT8:
        set_int(e, PQ_INT32, 8, false, PQ_CT_UINT_8);
        break;
    case AR_UINT16:
        set_int(e, PQ_INT32, 16, false, PQ_CT_UINT_16);
        break;
    case AR_UINT32:
        set_int(e, PQ_INT32, 32, false, PQ_CT_UINT_32);
        break;
    case AR_UINT64:
        set_int(e, PQ_INT64, 64, false, PQ_CT_UINT_64);
        break;
    case AR_FLOAT32:
        e->type = PQ_FLOAT;
        break;
    case AR_FLOAT64:
        e->type = PQ_DOUBLE;
        break;
    case AR_UTF8:
    case AR_LARGE_UTF8:
        e->type = PQ_BYTE_ARRAY;
        e->converted = PQ_CT_UTF8;
        e->logical.kind = PQ_LT_STRING;
        break;
    case AR_BINARY:
    case AR_LARGE_BINARY:
        e->type = PQ_BYTE_ARRAY;
        break;
    case AR_DATE32:
        e->type = PQ_INT32;
        e->converted = PQ_CT_DATE;
        e->logical.kind = PQ_LT_DATE;
        break;
    case AR_TIMESTAMP:
        /* Parquet has no seconds: Arrow stores them as milliseconds. */
        e->type = PQ_INT64;
        e->logical.kind = PQ_LT_TIMESTAMP;
        e->logical.utc = f->tz != NULL;
        switch (f->unit) {
        case AR_SECOND:
        case AR_MILLI:
            e->logical.unit = PQ_MILLIS;
            e->converted = PQ_CT_TIMESTAMP_MILLIS;
            break;
        case AR_MICRO:
            e->logical.unit = PQ_MICROS;
            e->converted = PQ_CT_TIMESTAMP_MICROS;
            break;
        case AR_NANO:
            e->logical.unit = PQ_NANOS; /* no ConvertedType exists */
            break;
        }
        break;
    case AR_DECIMAL128:
        if (pq_decimal_byte_len(f->precision) == 0 || f->scale < 0 ||
            f->scale > f->precision)
            return err_set(INFINO_ERR_UNSUPPORTED,
                           "field '%s': decimal128(%d, %d) cannot be stored",
                           path, (int)f->precision, (int)f->scale);
        e->type = PQ_FIXED_LEN_BYTE_ARRAY;
        e->has_type_length = true;
        e->type_length = pq_decimal_byte_len(f->precision);
        e->converted = PQ_CT_DECIMAL;
        e->has_scale = e->has_precision = true;
        e->scale = f->scale;
        e->precision = f->precision;
        e->logical.kind = PQ_LT_DECIMAL;
        e->logical.scale = f->scale;
        e->logical.precision = f->precision;
        break;
    default:
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "field '%s': nested type cannot be stored here", path);
    }
    return INFINO_OK;
}

infino_status pq_schema_from_arrow(struct pq_schema *out,
                                   const struct ar_schema *s)
{
    size_t n_elems = 1, k = 1;
    struct pq_schema_elem *elems;
    infino_status st;

    memset(out, 0, sizeof *out);
    if (s->n_fields > INT32_MAX / 3)
        return err_set(INFINO_ERR_UNSUPPORTED, "too many fields");
    for (size_t i = 0; i < s->n_fields; i++)
        n_elems += is_list_type(s->fields[i].type) ? 3 : 1;
    elems = arena_calloc(&out->arena, n_elems, sizeof *elems);
    out->leaves = arena_calloc(&out->arena, s->n_fields, sizeof *out->leaves);
    if (elems == NULL || out->leaves == NULL)
        CHECK(err_nomem());
    out->elems = elems;
    out->n_elems = n_elems;
    out->n_leaves = s->n_fields;
    for (size_t i = 0; i < n_elems; i++)
        elems[i].converted = PQ_CT_NONE;

    /* Arrow's writer names the root "schema" and marks it REQUIRED. */
    CHECK(set_name(&out->arena, &elems[0].name, "schema"));
    set_repetition(&elems[0], PQ_REQUIRED);
    elems[0].has_num_children = true;
    elems[0].num_children = (int32_t)s->n_fields;

    for (size_t i = 0; i < s->n_fields; i++) {
        const struct ar_field *f = &s->fields[i];
        struct pq_leaf *leaf = &out->leaves[i];
        struct pq_schema_elem *e = &elems[k];
        int16_t def = f->nullable ? 1 : 0;

        leaf->field = i;
        leaf->arrow = f;
        CHECK(set_name(&out->arena, &e->name, f->name));
        set_repetition(e, f->nullable ? PQ_OPTIONAL : PQ_REQUIRED);
        if (is_list_type(f->type)) {
            const struct ar_field *item = f->children;
            if (f->n_children != 1 || is_list_type(item->type) ||
                item->type == AR_STRUCT) {
                st = err_set(INFINO_ERR_UNSUPPORTED,
                             "field '%s': only lists of primitives can be "
                             "stored",
                             f->name);
                goto fail;
            }
            e->has_num_children = true;
            e->num_children = 1;
            e->converted = PQ_CT_LIST;
            e->logical.kind = PQ_LT_LIST;
            CHECK(set_name(&out->arena, &e[1].name, "list"));
            set_repetition(&e[1], PQ_REPEATED);
            e[1].has_num_children = true;
            e[1].num_children = 1;
            CHECK(set_name(&out->arena, &e[2].name, "element"));
            set_repetition(&e[2], item->nullable ? PQ_OPTIONAL : PQ_REQUIRED);
            CHECK(set_primitive(&e[2], item, f->name));
            leaf->value = item;
            leaf->elem = k + 2;
            leaf->is_list = true;
            leaf->list_def = def;
            leaf->max_rep = 1;
            leaf->max_def = (int16_t)(def + 1 + (item->nullable ? 1 : 0));
            leaf->n_path = 3;
            k += 3;
        } else {
            CHECK(set_primitive(e, f, f->name));
            leaf->value = f;
            leaf->elem = k;
            leaf->max_def = def;
            leaf->n_path = 1;
            k += 1;
        }
        leaf->se = &out->elems[leaf->elem];
        leaf->type = leaf->se->type;
        leaf->type_length = leaf->se->type_length;
        leaf->path = arena_calloc(&out->arena, leaf->n_path,
                                  sizeof *leaf->path);
        if (leaf->path == NULL)
            CHECK(err_nomem());
        leaf->path[0] = e->name;
        if (leaf->n_path == 3) {
            leaf->path[1] = e[1].name;
            leaf->path[2] = e[2].name;
        }
    }
    return INFINO_OK;
fail:
    pq_schema_free(out);
    return st;
}

/* ---- Parquet -> Arrow ------------------------------------------------- */

static bool is_group(const struct pq_schema_elem *e)
{
    return e->has_num_children && e->num_children > 0;
}

static void name_of(char *out, size_t cap, const struct pq_schema_elem *e)
{
    size_t n = e->name.len < cap - 1 ? e->name.len : cap - 1;

    memcpy(out, e->name.p, n);
    out[n] = '\0';
}

static infino_status set_tz(struct ar_field *f, const char *tz)
{
    f->tz = mem_strdup(tz);
    return f->tz ? INFINO_OK : err_nomem();
}

static infino_status set_decimal(struct ar_field *f, int32_t precision,
                                 int32_t scale, const char *col)
{
    if (precision < 1 || precision > 38 || scale < 0 || scale > precision)
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "column '%s': decimal(%d, %d) has no decimal128 form",
                       col, (int)precision, (int)scale);
    f->type = AR_DECIMAL128;
    f->precision = precision;
    f->scale = scale;
    return INFINO_OK;
}

/* Decimal parameters from the logical type, else the legacy fields. */
static infino_status decimal_of(struct ar_field *f,
                                const struct pq_schema_elem *e,
                                const char *col)
{
    if (e->logical.kind == PQ_LT_DECIMAL)
        return set_decimal(f, e->logical.precision, e->logical.scale, col);
    return set_decimal(f, e->has_precision ? e->precision : 0,
                       e->has_scale ? e->scale : 0, col);
}

static infino_status unsupported(const char *col, const char *what)
{
    return err_set(INFINO_ERR_UNSUPPORTED, "column '%s': %s", col, what);
}

/* The Arrow type of a primitive element (type and parameters only). */
static infino_status derive_primitive(struct ar_field *f,
                                      const struct pq_schema_elem *e,
                                      const char *col)
{
    const struct pq_logical *lt = &e->logical;
    int kind = lt->kind;
    int32_t ct = e->converted;
    /* LogicalTypes.md: without a (known) logical type, the converted type
     * still applies. */
    bool use_ct = kind == PQ_LT_NONE || kind == PQ_LT_OTHER;

    if (!e->has_type)
        return err_set(INFINO_ERR_CORRUPT, "column '%s': leaf without a type",
                       col);
    if (kind == PQ_LT_TIME || ct == PQ_CT_TIME_MILLIS ||
        ct == PQ_CT_TIME_MICROS)
        return unsupported(col, "TIME has no Arrow counterpart here");
    if (kind == PQ_LT_INTEGER && lt->bit_width != 8 && lt->bit_width != 16 &&
        lt->bit_width != 32 && lt->bit_width != 64)
        return err_set(INFINO_ERR_CORRUPT, "column '%s': INTEGER(%d)", col,
                       (int)lt->bit_width);
    switch (e->type) {
    case PQ_BOOLEAN:
        f->type = AR_BOOL;
        return INFINO_OK;
    case PQ_INT32:
        if (kind == PQ_LT_DECIMAL || (use_ct && ct == PQ_CT_DECIMAL))
            return decimal_of(f, e, col);
        if (kind == PQ_LT_DATE || (use_ct && ct == PQ_CT_DATE)) {
            f->type = AR_DATE32;
            return INFINO_OK;
        }
        if (kind == PQ_LT_INTEGER) {
            static const enum ar_type s[] = {AR_INT8, AR_INT16, AR_INT32};
            static const enum ar_type u[] = {AR_UINT8, AR_UINT16, AR_UINT32};
            int i = lt->bit_width == 8 ? 0 : lt->bit_width == 16 ? 1 : 2;
            if (lt->bit_width == 64)
                return unsupported(col, "INT32 annotated as 64-bit");
            f->type = lt->is_signed ? s[i] : u[i];
            return INFINO_OK;
        }
        f->type = !use_ct               ? AR_INT32
                  : ct == PQ_CT_INT_8   ? AR_INT8
                  : ct == PQ_CT_INT_16  ? AR_INT16
                  : ct == PQ_CT_UINT_8  ? AR_UINT8
                  : ct == PQ_CT_UINT_16 ? AR_UINT16
                  : ct == PQ_CT_UINT_32 ? AR_UINT32
                                        : AR_INT32;
        return INFINO_OK;
    case PQ_INT64:
        if (kind == PQ_LT_DECIMAL || (use_ct && ct == PQ_CT_DECIMAL))
            return decimal_of(f, e, col);
        if (kind == PQ_LT_TIMESTAMP) {
            f->type = AR_TIMESTAMP;
            f->unit = lt->unit == PQ_MILLIS   ? AR_MILLI
                      : lt->unit == PQ_MICROS ? AR_MICRO
                                              : AR_NANO;
            return lt->utc ? set_tz(f, "UTC") : INFINO_OK;
        }
        if (use_ct && (ct == PQ_CT_TIMESTAMP_MILLIS ||
                       ct == PQ_CT_TIMESTAMP_MICROS)) {
            /* LogicalTypes.md: the legacy types are UTC-adjusted. */
            f->type = AR_TIMESTAMP;
            f->unit = ct == PQ_CT_TIMESTAMP_MILLIS ? AR_MILLI : AR_MICRO;
            return set_tz(f, "UTC");
        }
        if (kind == PQ_LT_INTEGER) {
            if (lt->bit_width != 64)
                return unsupported(col, "INT64 annotated as narrower int");
            f->type = lt->is_signed ? AR_INT64 : AR_UINT64;
            return INFINO_OK;
        }
        f->type = use_ct && ct == PQ_CT_UINT_64 ? AR_UINT64 : AR_INT64;
        return INFINO_OK;
    case PQ_INT96:
        /* Legacy Impala timestamps: nanoseconds, as Arrow reads them. */
        f->type = AR_TIMESTAMP;
        f->unit = AR_NANO;
        return INFINO_OK;
    case PQ_FLOAT:
        f->type = AR_FLOAT32;
        return INFINO_OK;
    case PQ_DOUBLE:
        f->type = AR_FLOAT64;
        return INFINO_OK;
    case PQ_BYTE_ARRAY:
        if (kind == PQ_LT_DECIMAL || (use_ct && ct == PQ_CT_DECIMAL))
            return decimal_of(f, e, col);
        if (kind == PQ_LT_STRING || kind == PQ_LT_ENUM || kind == PQ_LT_JSON ||
            (use_ct &&
             (ct == PQ_CT_UTF8 || ct == PQ_CT_ENUM || ct == PQ_CT_JSON)))
            f->type = AR_UTF8;
        else
            f->type = AR_BINARY;
        return INFINO_OK;
    case PQ_FIXED_LEN_BYTE_ARRAY:
        if (!e->has_type_length || e->type_length <= 0)
            return err_set(INFINO_ERR_CORRUPT,
                           "column '%s': FIXED_LEN_BYTE_ARRAY without a "
                           "positive type_length",
                           col);
        if (kind == PQ_LT_DECIMAL ||
            (use_ct && ct == PQ_CT_DECIMAL)) {
            if (e->type_length > 16)
                return unsupported(col, "decimal wider than 16 bytes");
            return decimal_of(f, e, col);
        }
        if (kind == PQ_LT_FLOAT16)
            return unsupported(col, "FLOAT16 has no Arrow counterpart here");
        /* UUID, INTERVAL and plain fixed-width bytes read as binary. */
        f->type = AR_BINARY;
        return INFINO_OK;
    }
    return err_set(INFINO_ERR_CORRUPT, "column '%s': physical type %d", col,
                   (int)e->type);
}

static infino_status copy_name(struct ar_field *f,
                               const struct pq_schema_elem *e)
{
    f->name = mem_strndup((const char *)e->name.p, e->name.len);
    return f->name ? INFINO_OK : err_nomem();
}

static infino_status repetition_of(const struct pq_schema_elem *e,
                                   const char *col, enum pq_repetition *out)
{
    if (!e->has_repetition)
        return err_set(INFINO_ERR_CORRUPT,
                       "column '%s': element without a repetition", col);
    *out = e->repetition;
    return INFINO_OK;
}

/* Fills the path of `leaf` from the `n` elements at `path_elems`. */
static infino_status set_path(struct pq_schema *s, struct pq_leaf *leaf,
                              const struct pq_schema_elem *const *path_elems,
                              size_t n)
{
    leaf->path = arena_calloc(&s->arena, n, sizeof *leaf->path);
    if (leaf->path == NULL)
        return err_nomem();
    leaf->n_path = n;
    for (size_t i = 0; i < n; i++)
        leaf->path[i] = path_elems[i]->name;
    return INFINO_OK;
}

/* Interprets the top-level field at elems[*pos] into `f` and `leaf`, and
 * advances *pos past its subtree. */
static infino_status derive_field(struct pq_schema *s, struct ar_field *f,
                                  struct pq_leaf *leaf,
                                  const struct pq_schema_elem *elems,
                                  size_t n, size_t *pos)
{
    const struct pq_schema_elem *e = &elems[*pos];
    const struct pq_schema_elem *path[3];
    enum pq_repetition rep = PQ_REQUIRED, rrep = PQ_REQUIRED;
    enum pq_repetition erep = PQ_REQUIRED;
    char col[128];
    infino_status st;

    name_of(col, sizeof col, e);
    CHECK(repetition_of(e, col, &rep));
    CHECK(copy_name(f, e));
    path[0] = e;
    if (!is_group(e) && rep != PQ_REPEATED) {
        /* A plain primitive column. */
        CHECK(derive_primitive(f, e, col));
        f->nullable = rep == PQ_OPTIONAL;
        leaf->elem = *pos;
        leaf->max_def = f->nullable ? 1 : 0;
        CHECK(set_path(s, leaf, path, 1));
        *pos += 1;
        return INFINO_OK;
    }
    f->children = mem_calloc(1, sizeof *f->children);
    if (f->children == NULL)
        CHECK(err_nomem());
    f->n_children = 1;
    f->type = AR_LIST;
    leaf->is_list = true;
    leaf->max_rep = 1;
    if (!is_group(e)) {
        /* LogicalTypes.md: a repeated primitive outside a LIST group is a
         * required list of required elements. */
        CHECK(copy_name(f->children, e));
        CHECK(derive_primitive(f->children, e, col));
        f->nullable = false;
        leaf->elem = *pos;
        leaf->list_def = 0;
        leaf->max_def = 1;
        CHECK(set_path(s, leaf, path, 1));
        *pos += 1;
        return INFINO_OK;
    }
    if (rep == PQ_REPEATED ||
        !(e->logical.kind == PQ_LT_LIST ||
          ((e->logical.kind == PQ_LT_NONE || e->logical.kind == PQ_LT_OTHER) &&
           e->converted == PQ_CT_LIST)))
        CHECK(unsupported(col, "structs and maps are not supported"));
    if (e->num_children != 1)
        CHECK(unsupported(col, "a LIST group must have exactly one child"));
    if (*pos + 1 >= n)
        CHECK(err_set(INFINO_ERR_CORRUPT, "column '%s': children past the "
                                          "end of the schema",
                      col));
    f->nullable = rep == PQ_OPTIONAL;
    leaf->list_def = f->nullable ? 1 : 0;
    path[1] = &elems[*pos + 1];
    CHECK(repetition_of(path[1], col, &rrep));
    if (rrep != PQ_REPEATED)
        CHECK(unsupported(col, "a LIST group's child must be repeated"));
    if (!is_group(path[1])) {
        /* Two-level list: the repeated primitive is the element. */
        CHECK(copy_name(f->children, path[1]));
        CHECK(derive_primitive(f->children, path[1], col));
        f->children->nullable = false;
        leaf->elem = *pos + 1;
        leaf->max_def = (int16_t)(leaf->list_def + 1);
        CHECK(set_path(s, leaf, path, 2));
        *pos += 2;
        return INFINO_OK;
    }
    if (path[1]->num_children != 1 || pq_bytes_eq(path[1]->name, "array") ||
        (path[1]->name.len == e->name.len + 6 &&
         memcmp(path[1]->name.p, e->name.p, e->name.len) == 0 &&
         memcmp(path[1]->name.p + e->name.len, "_tuple", 6) == 0))
        CHECK(unsupported(col, "lists of structs are not supported"));
    if (*pos + 2 >= n)
        CHECK(err_set(INFINO_ERR_CORRUPT, "column '%s': children past the "
                                          "end of the schema",
                      col));
    path[2] = &elems[*pos + 2];
    if (is_group(path[2]))
        CHECK(unsupported(col, "nested lists and structs are not supported"));
    CHECK(repetition_of(path[2], col, &erep));
    if (erep == PQ_REPEATED)
        CHECK(unsupported(col, "nested lists are not supported"));
    CHECK(copy_name(f->children, path[2]));
    CHECK(derive_primitive(f->children, path[2], col));
    f->children->nullable = erep == PQ_OPTIONAL;
    leaf->elem = *pos + 2;
    leaf->max_def = (int16_t)(leaf->list_def + 1 + (erep == PQ_OPTIONAL));
    CHECK(set_path(s, leaf, path, 3));
    *pos += 3;
    return INFINO_OK;
fail:
    return st;
}

/* Whether the ARROW:schema field `h` may refine the derived field `d`:
 * the same storage, with details Parquet cannot express. */
static bool compatible(const struct ar_field *d, const struct ar_field *h)
{
    switch (d->type) {
    case AR_UTF8:
        return h->type == AR_UTF8 || h->type == AR_LARGE_UTF8;
    case AR_BINARY:
        return h->type == AR_BINARY || h->type == AR_LARGE_BINARY;
    case AR_TIMESTAMP:
        return h->type == AR_TIMESTAMP;
    case AR_DECIMAL128:
        return h->type == AR_DECIMAL128 && h->precision == d->precision &&
               h->scale == d->scale;
    case AR_LIST:
        return is_list_type(h->type) && h->n_children == 1 &&
               (h->type != AR_FIXED_SIZE_LIST || h->list_size >= 0) &&
               compatible(d->children, h->children);
    default:
        return h->type == d->type;
    }
}

static infino_status refine(struct ar_field *d, const struct ar_field *h)
{
    d->type = h->type;
    if (d->type == AR_TIMESTAMP) {
        d->unit = h->unit;
        /* A zone only means something for UTC-adjusted values: the
         * hint's zone replaces "UTC", and a local timestamp stays local
         * (as Arrow's own reader decides). */
        if (d->tz != NULL && h->tz != NULL) {
            mem_free(d->tz);
            d->tz = NULL;
            if (set_tz(d, h->tz) != INFINO_OK)
                return INFINO_ERR_NOMEM;
        }
    }
    d->list_size = h->list_size;
    if (d->n_children == 1)
        return refine(d->children, h->children);
    return INFINO_OK;
}

infino_status pq_schema_from_parquet(struct pq_schema *out,
                                     struct ar_schema *arrow_out,
                                     const struct pq_schema_elem *elems,
                                     size_t n, const struct ar_schema *hint)
{
    const struct pq_schema_elem *root;
    size_t pos = 1, n_fields;
    infino_status st;

    memset(out, 0, sizeof *out);
    memset(arrow_out, 0, sizeof *arrow_out);
    if (n == 0)
        return err_set(INFINO_ERR_CORRUPT, "empty schema");
    root = &elems[0];
    if (root->has_type || !root->has_num_children || root->num_children < 0)
        return err_set(INFINO_ERR_CORRUPT, "schema root is not a group");
    /* Every field takes at least one element, which bounds the claim. */
    n_fields = (size_t)root->num_children;
    if (n_fields > n - 1)
        return err_set(INFINO_ERR_CORRUPT,
                       "schema root claims %zu fields in %zu elements",
                       n_fields, n - 1);
    out->elems = elems; /* borrowed, see pq_schema.h */
    out->n_elems = n;
    out->leaves = arena_calloc(&out->arena, n_fields, sizeof *out->leaves);
    arrow_out->fields = mem_calloc(n_fields, sizeof *arrow_out->fields);
    if (out->leaves == NULL || arrow_out->fields == NULL)
        CHECK(err_nomem());
    out->n_leaves = n_fields;
    arrow_out->n_fields = n_fields;
    for (size_t i = 0; i < n_fields; i++) {
        if (pos >= n)
            CHECK(err_set(INFINO_ERR_CORRUPT,
                          "schema root claims %zu fields, found %zu",
                          n_fields, i));
        CHECK(derive_field(out, &arrow_out->fields[i], &out->leaves[i],
                           elems, n, &pos));
    }
    if (pos != n)
        CHECK(err_set(INFINO_ERR_CORRUPT,
                      "%zu schema elements after the last field", n - pos));

    /* The ARROW:schema refines fields only when the shapes agree. */
    if (hint != NULL && hint->n_fields == n_fields) {
        for (size_t i = 0; i < n_fields; i++) {
            struct ar_field *d = &arrow_out->fields[i];
            const struct ar_field *h = &hint->fields[i];
            if (strcmp(d->name, h->name) == 0 && compatible(d, h))
                CHECK(refine(d, h));
        }
    }
    for (size_t i = 0; i < n_fields; i++) {
        struct pq_leaf *leaf = &out->leaves[i];
        struct ar_field *f = &arrow_out->fields[i];
        leaf->field = i;
        leaf->arrow = f;
        leaf->value = leaf->is_list ? f->children : f;
        leaf->se = &elems[leaf->elem];
        leaf->type = leaf->se->type;
        leaf->type_length =
            leaf->se->has_type_length ? leaf->se->type_length : 0;
    }
    return INFINO_OK;
fail:
    pq_schema_free(out);
    ar_schema_free(arrow_out);
    return st;
}
