/*
 * pq_stats.c - statistics-based pruning (see pq_stats.h).
 *
 * Sort orders per parquet.thrift ColumnOrder: signed for ints, dates,
 * timestamps and decimals, unsigned for UINT_* and for byte arrays
 * (lexicographic by unsigned byte), numeric for floats. A row group is
 * pruned only when the bounds prove that no row can pass a filter.
 */
#include "pq_stats.h"

#include "pq_read.h"
#include "util/endian.h"

#include <math.h>
#include <string.h>

enum domain { D_NONE, D_SIGNED, D_UNSIGNED, D_FLOAT, D_DECIMAL, D_BYTES };

static enum domain domain_of(enum ar_type t)
{
    switch (t) {
    case AR_INT8:
    case AR_INT16:
    case AR_INT32:
    case AR_INT64:
    case AR_DATE32:
    case AR_TIMESTAMP:
        return D_SIGNED;
    case AR_BOOL:
    case AR_UINT8:
    case AR_UINT16:
    case AR_UINT32:
    case AR_UINT64:
        return D_UNSIGNED;
    case AR_FLOAT32:
    case AR_FLOAT64:
        return D_FLOAT;
    case AR_DECIMAL128:
        return D_DECIMAL;
    case AR_UTF8:
    case AR_LARGE_UTF8:
    case AR_BINARY:
    case AR_LARGE_BINARY:
        return D_BYTES;
    default:
        return D_NONE;
    }
}

static int dec_cmp(const uint8_t a[16], const uint8_t b[16])
{
    int64_t ah = (int64_t)load_u64le(a + 8), bh = (int64_t)load_u64le(b + 8);
    uint64_t al = load_u64le(a), bl = load_u64le(b);

    if (ah != bh)
        return ah < bh ? -1 : 1;
    return al < bl ? -1 : al > bl;
}

int pq_value_cmp(enum ar_type t, const struct pq_value *a,
                 const struct pq_value *b)
{
    switch (domain_of(t)) {
    case D_SIGNED:
        return a->v.i < b->v.i ? -1 : a->v.i > b->v.i;
    case D_UNSIGNED:
        return a->v.u < b->v.u ? -1 : a->v.u > b->v.u;
    case D_FLOAT:
        if (isnan(a->v.d) || isnan(b->v.d))
            return 2;
        return a->v.d < b->v.d ? -1 : a->v.d > b->v.d;
    case D_DECIMAL:
        return dec_cmp(a->v.dec, b->v.dec);
    case D_BYTES: {
        size_t n = a->v.bytes.n < b->v.bytes.n ? a->v.bytes.n : b->v.bytes.n;
        int c = n ? memcmp(a->v.bytes.p, b->v.bytes.p, n) : 0;
        if (c != 0)
            return c < 0 ? -1 : 1;
        return a->v.bytes.n < b->v.bytes.n ? -1 : a->v.bytes.n > b->v.bytes.n;
    }
    default:
        return 2;
    }
}

/* Big-endian two's complement -> decimal128; false when it does not fit. */
static bool be_dec(uint8_t out[16], const uint8_t *p, size_t n)
{
    uint8_t fill;

    if (n == 0)
        return false;
    fill = (p[0] & 0x80) ? 0xff : 0;
    for (; n > 16; p++, n--)
        if (p[0] != fill || ((p[1] ^ fill) & 0x80))
            return false;
    for (size_t i = 0; i < 16; i++)
        out[i] = i < n ? p[n - 1 - i] : fill;
    return true;
}

static void i64_dec(uint8_t out[16], int64_t v)
{
    store_u64le(out, (uint64_t)v);
    store_u64le(out + 8, v < 0 ? UINT64_MAX : 0);
}

/* Floor and ceiling division for rescaling bounds outward. */
static int64_t div_floor(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a < 0) ? q - 1 : q;
}

static int64_t div_ceil(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && a > 0) ? q + 1 : q;
}

static int64_t unit_per_second(enum ar_time_unit u)
{
    return u == AR_SECOND ? 1
           : u == AR_MILLI ? 1000
           : u == AR_MICRO ? 1000000
                           : 1000000000;
}

/* Decodes one PLAIN statistics value of the leaf into the Arrow domain.
 * `upper` picks the rounding direction for rescaled timestamps. */
static bool decode_value(const struct pq_leaf *leaf, struct pq_bytes b,
                         bool upper, struct pq_value *out)
{
    const struct ar_field *f = leaf->value;
    enum pq_type t = leaf->type;

    memset(out, 0, sizeof *out);
    out->type = f->type;
    switch (t) {
    case PQ_BOOLEAN:
        if (b.len != 1)
            return false;
        out->v.u = b.p[0] & 1u;
        return f->type == AR_BOOL;
    case PQ_INT32: {
        int32_t v;
        if (b.len != 4)
            return false;
        v = (int32_t)load_u32le(b.p);
        switch (domain_of(f->type)) {
        case D_SIGNED:
            out->v.i = v;
            return true;
        case D_UNSIGNED:
            out->v.u = (uint32_t)v;
            return true;
        case D_DECIMAL:
            i64_dec(out->v.dec, v);
            return true;
        default:
            return false;
        }
    }
    case PQ_INT64: {
        int64_t v;
        if (b.len != 8)
            return false;
        v = (int64_t)load_u64le(b.p);
        switch (domain_of(f->type)) {
        case D_SIGNED:
            if (f->type == AR_TIMESTAMP) {
                const struct pq_logical *lt = &leaf->se->logical;
                int64_t want = unit_per_second(f->unit), have = want;
                if (lt->kind == PQ_LT_TIMESTAMP)
                    have = lt->unit == PQ_MILLIS   ? 1000
                           : lt->unit == PQ_MICROS ? 1000000
                                                   : 1000000000;
                else if (leaf->se->converted == PQ_CT_TIMESTAMP_MILLIS)
                    have = 1000;
                else if (leaf->se->converted == PQ_CT_TIMESTAMP_MICROS)
                    have = 1000000;
                if (have > want) {
                    int64_t fct = have / want;
                    v = upper ? div_ceil(v, fct) : div_floor(v, fct);
                } else if (have < want) {
                    int64_t fct = want / have;
                    if (v > INT64_MAX / fct || v < INT64_MIN / fct)
                        return false;
                    v *= fct;
                }
            }
            out->v.i = v;
            return true;
        case D_UNSIGNED:
            out->v.u = (uint64_t)v;
            return true;
        case D_DECIMAL:
            i64_dec(out->v.dec, v);
            return true;
        default:
            return false;
        }
    }
    case PQ_FLOAT: {
        float x;
        if (b.len != 4)
            return false;
        memcpy(&x, b.p, 4);
        out->v.d = x;
        return !isnan(out->v.d);
    }
    case PQ_DOUBLE:
        if (b.len != 8)
            return false;
        memcpy(&out->v.d, b.p, 8);
        return !isnan(out->v.d);
    case PQ_BYTE_ARRAY:
    case PQ_FIXED_LEN_BYTE_ARRAY:
        if (t == PQ_FIXED_LEN_BYTE_ARRAY && b.len != (size_t)leaf->type_length)
            return false;
        if (domain_of(f->type) == D_DECIMAL)
            return be_dec(out->v.dec, b.p, b.len);
        if (domain_of(f->type) != D_BYTES)
            return false;
        out->v.bytes.p = b.p;
        out->v.bytes.n = b.len;
        return true;
    default:
        return false; /* INT96: no usable order */
    }
}

/* Whether the legacy (signed) min/max agree with the type's own order. */
static bool legacy_ok(const struct pq_leaf *leaf)
{
    enum domain d = domain_of(leaf->value->type);

    switch (leaf->type) {
    case PQ_BOOLEAN:
    case PQ_FLOAT:
    case PQ_DOUBLE:
        return true;
    case PQ_INT32:
    case PQ_INT64:
        return d == D_SIGNED || d == D_DECIMAL;
    default:
        return false; /* byte arrays were compared as signed bytes */
    }
}

bool pq_stats_bounds(const struct pq_reader *r, int rg, size_t field,
                     struct pq_bounds *out)
{
    const struct pq_leaf *leaf = &r->ps.leaves[field];
    const struct pq_column_meta *cm =
        &r->meta.row_groups[rg].columns[field].meta_data;
    const struct pq_stats *s = &cm->statistics;
    int32_t order = r->orders[field];
    struct pq_bytes lo = {0}, hi = {0};

    memset(out, 0, sizeof *out);
    out->num_values = cm->num_values;
    if (leaf->is_list || !cm->has_statistics)
        return false;
    out->has_null_count = s->has_null_count;
    out->null_count = s->null_count;
    if (s->min_value.p && s->max_value.p &&
        (order == PQ_ORDER_TYPE_DEFINED ||
         (order == PQ_ORDER_IEEE754_TOTAL &&
          (leaf->type == PQ_FLOAT || leaf->type == PQ_DOUBLE)))) {
        lo = s->min_value;
        hi = s->max_value;
    } else if (s->min.p && s->max.p && legacy_ok(leaf)) {
        lo = s->min;
        hi = s->max;
    }
    if (lo.p && decode_value(leaf, lo, false, &out->min) &&
        decode_value(leaf, hi, true, &out->max))
        out->has_min_max = true;
    return true;
}

bool pq_stats_may_match(const struct pq_reader *r, int rg,
                        const struct pq_filter *f)
{
    const struct ar_field *field;
    struct pq_bounds b;
    bool all_null;
    int lo, hi;

    if (f->field < 0 || (size_t)f->field >= r->schema.n_fields)
        return true;
    field = &r->schema.fields[f->field];
    if (f->op == PQ_IS_NULL && !field->nullable)
        return false;
    if (!pq_stats_bounds(r, rg, (size_t)f->field, &b))
        return true;
    all_null = b.has_null_count && b.null_count == b.num_values;
    switch (f->op) {
    case PQ_IS_NULL:
        return !(b.has_null_count && b.null_count == 0);
    case PQ_NOT_NULL:
        return !all_null;
    default:
        break;
    }
    if (all_null)
        return false; /* comparisons never hold for nulls */
    if (!b.has_min_max || domain_of(f->value.type) != domain_of(field->type))
        return true;
    lo = pq_value_cmp(field->type, &f->value, &b.min); /* value vs min */
    hi = pq_value_cmp(field->type, &f->value, &b.max); /* value vs max */
    if (lo == 2 || hi == 2)
        return true; /* NaN: nothing can be proved */
    switch (f->op) {
    case PQ_EQ:
        return lo >= 0 && hi <= 0;
    case PQ_LT:
        return lo > 0; /* some x < value needs min < value */
    case PQ_LE:
        return lo >= 0;
    case PQ_GT:
        return hi < 0;
    case PQ_GE:
        return hi <= 0;
    default:
        return true;
    }
}
