/*
 * pq_stats_write.c - min/max/null_count for pages and column chunks, and
 * their PLAIN encoding for Statistics.min_value/max_value (pq_encode.h).
 *
 * Orders follow parquet.thrift's ColumnOrder notes (TypeDefinedOrder):
 * unsigned integer annotations compare unsigned, floats skip NaN and
 * write a zero min as -0.0 and a zero max as +0.0, byte arrays compare as
 * unsigned bytes, DECIMAL on FIXED_LEN_BYTE_ARRAY as signed integers.
 */
#include "pq_encode.h"
#include "pq_meta.h"

#include "util/alloc.h"
#include "util/arena.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/utf8.h"

#include <math.h>
#include <string.h>

void pq_stats_init(struct pq_stats_acc *s, const struct ar_field *value,
                   int flba_len)
{
    memset(s, 0, sizeof *s);
    s->scale = 1;
    s->flba_len = flba_len;
    s->type = value->type;
    switch (value->type) {
    case AR_BOOL:
        s->order = PQ_SO_BOOL;
        break;
    case AR_INT8:
    case AR_INT16:
    case AR_INT32:
    case AR_DATE32:
        s->order = PQ_SO_INT32;
        break;
    case AR_UINT8:
    case AR_UINT16:
    case AR_UINT32:
        s->order = PQ_SO_UINT32;
        break;
    case AR_UINT64:
        s->order = PQ_SO_UINT64;
        break;
    case AR_FLOAT32:
        s->order = PQ_SO_FLOAT;
        break;
    case AR_FLOAT64:
        s->order = PQ_SO_DOUBLE;
        break;
    case AR_UTF8:
    case AR_LARGE_UTF8:
        s->order = PQ_SO_UTF8;
        break;
    case AR_BINARY:
    case AR_LARGE_BINARY:
        s->order = PQ_SO_BYTES;
        break;
    case AR_DECIMAL128:
        s->order = PQ_SO_DECIMAL;
        break;
    case AR_TIMESTAMP:
        s->scale = value->unit == AR_SECOND ? 1000 : 1;
        s->order = PQ_SO_INT64;
        break;
    default: /* int64 */
        s->order = PQ_SO_INT64;
        break;
    }
}

void pq_stats_reset(struct pq_stats_acc *s)
{
    s->has = false;
    s->null_count = 0;
    buf_reset(&s->bmin);
    buf_reset(&s->bmax);
}

void pq_stats_free(struct pq_stats_acc *s)
{
    buf_free(&s->bmin);
    buf_free(&s->bmax);
    s->has = false;
}

/* -------------------------------------------------------------------------- */

/* Signed compare of two little-endian 128-bit two's complement values. */
static int cmp_dec(const uint8_t *a, const uint8_t *b)
{
    int64_t ah = (int64_t)load_u64le(a + 8), bh = (int64_t)load_u64le(b + 8);
    uint64_t al = load_u64le(a), bl = load_u64le(b);

    if (ah != bh)
        return ah < bh ? -1 : 1;
    return al < bl ? -1 : al > bl;
}

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    size_t n = an < bn ? an : bn;
    /* empty values may come with NULL pointers: memcmp must not see them */
    int c = n ? memcmp(a, b, n) : 0;

    if (c != 0)
        return c;
    return an < bn ? -1 : an > bn;
}

/* -------------------------------------------------------------------------- */

/* Integer min/max over a valid run, as int64 (signed) or uint64. */
#define FOLD_INTS(T, ACC, mn, mx, p, n)                                        \
    do {                                                                       \
        const T *v_ = (const T *)(p);                                          \
        for (int64_t k_ = 0; k_ < (n); k_++) {                                 \
            ACC x_ = (ACC)v_[k_];                                              \
            mn = x_ < mn ? x_ : mn;                                            \
            mx = x_ > mx ? x_ : mx;                                            \
        }                                                                      \
    } while (0)

/* Float min/max ignoring NaN, in 8 independent lanes so the compiler can
 * keep them in one vector register (x < lo is false for NaN). */
#define FOLD_FLOATS(T, mn, mx, p, n)                                           \
    do {                                                                       \
        const T *v_ = (const T *)(p);                                          \
        T lo_[8], hi_[8];                                                      \
        int64_t k_ = 0;                                                        \
        for (int l_ = 0; l_ < 8; l_++) {                                       \
            lo_[l_] = (T)INFINITY;                                             \
            hi_[l_] = (T)-INFINITY;                                            \
        }                                                                      \
        for (; k_ + 8 <= (n); k_ += 8)                                         \
            for (int l_ = 0; l_ < 8; l_++) {                                   \
                T x_ = v_[k_ + l_];                                            \
                lo_[l_] = x_ < lo_[l_] ? x_ : lo_[l_];                         \
                hi_[l_] = x_ > hi_[l_] ? x_ : hi_[l_];                         \
            }                                                                  \
        for (; k_ < (n); k_++) {                                               \
            T x_ = v_[k_];                                                     \
            lo_[0] = x_ < lo_[0] ? x_ : lo_[0];                                \
            hi_[0] = x_ > hi_[0] ? x_ : hi_[0];                                \
        }                                                                      \
        for (int l_ = 0; l_ < 8; l_++) {                                       \
            mn = lo_[l_] < mn ? lo_[l_] : mn;                                  \
            mx = hi_[l_] > mx ? hi_[l_] : mx;                                  \
        }                                                                      \
    } while (0)

/* State for one pq_stats_update() call: byte-array extremes are borrowed
 * from the batch and copied once at the end. */
struct fold {
    bool any;
    int64_t imin, imax;
    uint64_t umin, umax;
    double dmin, dmax;
    const uint8_t *dmin_p, *dmax_p; /* decimals */
    const uint8_t *bmin_p, *bmax_p;
    size_t bmin_n, bmax_n;
};

static void fold_run(struct fold *f, const struct pq_stats_acc *s,
                     const struct ArrowArray *leaf, enum ar_type t, int64_t i,
                     int64_t n)
{
    int64_t j = i + leaf->offset;
    const uint8_t *vals = (const uint8_t *)leaf->buffers[1];

    f->any = true;
    switch (s->order) {
    case PQ_SO_BOOL:
        for (int64_t k = 0; k < n; k++) {
            uint64_t b = (vals[(j + k) >> 3] >> ((j + k) & 7)) & 1;
            f->umin = b < f->umin ? b : f->umin;
            f->umax = b > f->umax ? b : f->umax;
        }
        return;
    case PQ_SO_INT32:
        if (t == AR_INT8)
            FOLD_INTS(int8_t, int64_t, f->imin, f->imax, vals + j, n);
        else if (t == AR_INT16)
            FOLD_INTS(int16_t, int64_t, f->imin, f->imax, vals + 2 * j, n);
        else
            FOLD_INTS(int32_t, int64_t, f->imin, f->imax, vals + 4 * j, n);
        return;
    case PQ_SO_UINT32:
        if (t == AR_UINT8)
            FOLD_INTS(uint8_t, uint64_t, f->umin, f->umax, vals + j, n);
        else if (t == AR_UINT16)
            FOLD_INTS(uint16_t, uint64_t, f->umin, f->umax, vals + 2 * j, n);
        else
            FOLD_INTS(uint32_t, uint64_t, f->umin, f->umax, vals + 4 * j, n);
        return;
    case PQ_SO_INT64:
        FOLD_INTS(int64_t, int64_t, f->imin, f->imax, vals + 8 * j, n);
        return;
    case PQ_SO_UINT64:
        FOLD_INTS(uint64_t, uint64_t, f->umin, f->umax, vals + 8 * j, n);
        return;
    case PQ_SO_FLOAT: {
        float mn = (float)f->dmin, mx = (float)f->dmax;
        FOLD_FLOATS(float, mn, mx, vals + 4 * j, n);
        f->dmin = mn;
        f->dmax = mx;
        return;
    }
    case PQ_SO_DOUBLE:
        FOLD_FLOATS(double, f->dmin, f->dmax, vals + 8 * j, n);
        return;
    case PQ_SO_DECIMAL:
        for (int64_t k = 0; k < n; k++) {
            const uint8_t *x = vals + 16 * (j + k);
            if (f->dmin_p == NULL || cmp_dec(x, f->dmin_p) < 0)
                f->dmin_p = x;
            if (f->dmax_p == NULL || cmp_dec(x, f->dmax_p) > 0)
                f->dmax_p = x;
        }
        return;
    case PQ_SO_BYTES:
    case PQ_SO_UTF8: {
        const uint8_t *data = (const uint8_t *)leaf->buffers[2];
        bool large = t == AR_LARGE_UTF8 || t == AR_LARGE_BINARY;
        for (int64_t k = j; k < j + n; k++) {
            int64_t a, b;
            if (large) {
                a = ((const int64_t *)vals)[k];
                b = ((const int64_t *)vals)[k + 1];
            } else {
                a = ((const int32_t *)vals)[k];
                b = ((const int32_t *)vals)[k + 1];
            }
            if (f->bmin_p == NULL ||
                cmp_bytes(data + a, (size_t)(b - a), f->bmin_p, f->bmin_n) <
                    0) {
                f->bmin_p = data + a;
                f->bmin_n = (size_t)(b - a);
            }
            if (f->bmax_p == NULL ||
                cmp_bytes(data + a, (size_t)(b - a), f->bmax_p, f->bmax_n) >
                    0) {
                f->bmax_p = data + a;
                f->bmax_n = (size_t)(b - a);
            }
        }
        return;
    }
    }
}

/* Length of the run of equal validity bits from logical index i. */
static int64_t valid_run(const struct ArrowArray *a, int64_t i, int64_t end,
                         bool *valid)
{
    const uint8_t *bits = (const uint8_t *)a->buffers[0];
    int64_t j;
    bool v;

    if (bits == NULL || a->null_count == 0) {
        *valid = true;
        return end - i;
    }
    j = i + a->offset;
    v = (bits[j >> 3] >> (j & 7)) & 1;
    for (j++; j < end + a->offset; j++) {
        if ((j & 7) == 0 && end + a->offset - j >= 8 &&
            bits[j >> 3] == (v ? 0xFF : 0x00)) {
            j += 7;
            continue;
        }
        if (((bits[j >> 3] >> (j & 7)) & 1) != v)
            break;
    }
    *valid = v;
    return j - (i + a->offset);
}

/* Folds the extremes found by one update (or another accumulator). */
static infino_status absorb(struct pq_stats_acc *s, const struct fold *f)
{
    infino_status st;

    switch (s->order) {
    case PQ_SO_BOOL:
    case PQ_SO_UINT32:
    case PQ_SO_UINT64:
        if (!s->has || f->umin < s->min.u)
            s->min.u = f->umin;
        if (!s->has || f->umax > s->max.u)
            s->max.u = f->umax;
        break;
    case PQ_SO_INT32:
    case PQ_SO_INT64:
        if (!s->has || f->imin < s->min.i)
            s->min.i = f->imin;
        if (!s->has || f->imax > s->max.i)
            s->max.i = f->imax;
        break;
    case PQ_SO_FLOAT:
    case PQ_SO_DOUBLE:
        if (f->dmin > f->dmax) /* only NaNs: nothing to fold */
            return INFINO_OK;
        if (!s->has || f->dmin < s->min.d)
            s->min.d = f->dmin;
        if (!s->has || f->dmax > s->max.d)
            s->max.d = f->dmax;
        break;
    case PQ_SO_DECIMAL:
        if (!s->has || cmp_dec(f->dmin_p, s->min.dec) < 0)
            memcpy(s->min.dec, f->dmin_p, 16);
        if (!s->has || cmp_dec(f->dmax_p, s->max.dec) > 0)
            memcpy(s->max.dec, f->dmax_p, 16);
        break;
    case PQ_SO_BYTES:
    case PQ_SO_UTF8:
        if (!s->has ||
            cmp_bytes(f->bmin_p, f->bmin_n, s->bmin.data, s->bmin.len) < 0) {
            buf_reset(&s->bmin);
            st = buf_append(&s->bmin, f->bmin_p, f->bmin_n);
            if (st != INFINO_OK)
                return st;
        }
        if (!s->has ||
            cmp_bytes(f->bmax_p, f->bmax_n, s->bmax.data, s->bmax.len) > 0) {
            buf_reset(&s->bmax);
            st = buf_append(&s->bmax, f->bmax_p, f->bmax_n);
            if (st != INFINO_OK)
                return st;
        }
        break;
    }
    s->has = true;
    return INFINO_OK;
}

infino_status pq_stats_update(struct pq_stats_acc *s,
                              const struct ArrowArray *leaf,
                              const struct pq_range *ranges, size_t n_ranges,
                              int64_t n_nulls)
{
    struct fold f;

    s->null_count += n_nulls;
    memset(&f, 0, sizeof f);
    f.imin = INT64_MAX;
    f.imax = INT64_MIN;
    f.umin = UINT64_MAX;
    f.umax = 0;
    f.dmin = INFINITY;
    f.dmax = -INFINITY;
    for (size_t r = 0; r < n_ranges; r++) {
        int64_t i = ranges[r].begin, end = ranges[r].end;
        while (i < end) {
            bool valid;
            int64_t n = valid_run(leaf, i, end, &valid);
            if (valid)
                fold_run(&f, s, leaf, s->type, i, n);
            i += n;
        }
    }
    return f.any ? absorb(s, &f) : INFINO_OK;
}

infino_status pq_stats_merge(struct pq_stats_acc *dst,
                             const struct pq_stats_acc *src)
{
    struct fold f;

    dst->null_count += src->null_count;
    if (!src->has)
        return INFINO_OK;
    memset(&f, 0, sizeof f);
    f.any = true;
    f.imin = src->min.i;
    f.imax = src->max.i;
    f.umin = src->min.u;
    f.umax = src->max.u;
    f.dmin = src->min.d;
    f.dmax = src->max.d;
    f.dmin_p = src->min.dec;
    f.dmax_p = src->max.dec;
    f.bmin_p = src->bmin.data;
    f.bmin_n = src->bmin.len;
    f.bmax_p = src->bmax.data;
    f.bmax_n = src->bmax.len;
    return absorb(dst, &f);
}

/* -------------------------------------------------------------------------- */

static struct pq_bytes arena_bytes(struct arena *a, const void *p, size_t n)
{
    struct pq_bytes b = {NULL, 0};
    uint8_t *q = arena_alloc(a, n ? n : 1);

    if (q != NULL) {
        if (n)
            memcpy(q, p, n);
        b.p = q;
        b.len = n;
    }
    return b;
}

/* Start of the UTF-8 character holding byte i (i itself when it is not a
 * continuation byte). */
static size_t utf8_start(const uint8_t *p, size_t i)
{
    while (i > 0 && (p[i] & 0xC0) == 0x80)
        i--;
    return i;
}

/* Decodes the character at p[0..n) (n = its byte length), or -1. */
static int32_t utf8_decode(const uint8_t *p, size_t n)
{
    static const uint8_t lead_mask[5] = {0, 0x7F, 0x1F, 0x0F, 0x07};
    int32_t cp;

    if (n == 0 || n > 4)
        return -1;
    if (n == 1)
        return p[0] < 0x80 ? p[0] : -1;
    if ((p[0] & (0xFF << (7 - n))) != (uint8_t)(0xFF << (8 - n)))
        return -1;
    cp = p[0] & lead_mask[n];
    for (size_t i = 1; i < n; i++)
        cp = cp << 6 | (p[i] & 0x3F);
    return cp;
}

/* An upper bound for every value starting with p[0..n) that is at most
 * PQ_STATS_MAX_BYTES + 3 long: a prefix whose last unit is incremented.
 * Returns its length in out[], or 0 when there is none (all 0xFF, or
 * U+10FFFF all the way). UTF-8 order is code point order, so for strings
 * incrementing the last whole character keeps the bound valid UTF-8. */
static size_t upper_bound(uint8_t *out, const uint8_t *p, size_t n, bool utf8)
{
    size_t len = n < PQ_STATS_MAX_BYTES ? n : PQ_STATS_MAX_BYTES;

    if (!utf8) {
        while (len > 0 && p[len - 1] == 0xFF)
            len--;
        if (len == 0)
            return 0;
        memcpy(out, p, len);
        out[len - 1]++;
        return len;
    }
    /* do not cut a character in two */
    if (len < n)
        len = utf8_start(p, len);
    while (len > 0) {
        size_t cs = utf8_start(p, len - 1);
        int32_t cp = utf8_decode(p + cs, len - cs);
        if (cp < 0)
            return 0; /* not UTF-8 after all: give no bound */
        if (cp < 0x10FFFF) {
            cp = cp == 0xD7FF ? 0xE000 : cp + 1; /* skip surrogates */
            memcpy(out, p, cs);
            return cs + utf8_encode(out + cs, cp);
        }
        len = cs;
    }
    return 0;
}

infino_status pq_stats_export(struct pq_stats *out,
                              const struct pq_stats_acc *s, struct arena *a)
{
    uint8_t lo[16], hi[PQ_STATS_MAX_BYTES + 4];
    size_t n = 0;
    bool exact_min = true, exact_max = true;
    const uint8_t *minp = lo, *maxp = hi;
    size_t min_n = 0, max_n = 0;

    memset(out, 0, sizeof *out);
    out->has_null_count = true;
    out->null_count = s->null_count;
    if (!s->has)
        return INFINO_OK;
    switch (s->order) {
    case PQ_SO_BOOL:
        lo[0] = (uint8_t)s->min.u;
        hi[0] = (uint8_t)s->max.u;
        n = 1;
        break;
    case PQ_SO_INT32:
        store_u32le(lo, (uint32_t)(int32_t)s->min.i);
        store_u32le(hi, (uint32_t)(int32_t)s->max.i);
        n = 4;
        break;
    case PQ_SO_UINT32:
        store_u32le(lo, (uint32_t)s->min.u);
        store_u32le(hi, (uint32_t)s->max.u);
        n = 4;
        break;
    case PQ_SO_INT64:
        store_u64le(lo, (uint64_t)(s->min.i * s->scale));
        store_u64le(hi, (uint64_t)(s->max.i * s->scale));
        n = 8;
        break;
    case PQ_SO_UINT64:
        store_u64le(lo, s->min.u);
        store_u64le(hi, s->max.u);
        n = 8;
        break;
    case PQ_SO_FLOAT:
    case PQ_SO_DOUBLE: {
        /* parquet.thrift ColumnOrder: a zero min is written as -0.0 and a
         * zero max as +0.0, so readers need not know which zeros occur. */
        double mn = s->min.d == 0 ? -0.0 : s->min.d;
        double mx = s->max.d == 0 ? 0.0 : s->max.d;
        if (s->order == PQ_SO_FLOAT) {
            float f1 = (float)mn, f2 = (float)mx;
            memcpy(lo, &f1, 4);
            memcpy(hi, &f2, 4);
            n = 4;
        } else {
            memcpy(lo, &mn, 8);
            memcpy(hi, &mx, 8);
            n = 8;
        }
        break;
    }
    case PQ_SO_DECIMAL:
        pq_decimal_to_be(lo, s->min.dec, s->flba_len);
        pq_decimal_to_be(hi, s->max.dec, s->flba_len);
        n = (size_t)s->flba_len;
        break;
    case PQ_SO_BYTES:
    case PQ_SO_UTF8: {
        bool utf8 = s->order == PQ_SO_UTF8;
        minp = s->bmin.data;
        min_n = s->bmin.len;
        maxp = s->bmax.data;
        max_n = s->bmax.len;
        if (min_n > PQ_STATS_MAX_BYTES) {
            /* a prefix is a lower bound */
            min_n = utf8 ? utf8_start(minp, PQ_STATS_MAX_BYTES)
                         : PQ_STATS_MAX_BYTES;
            exact_min = false;
        }
        if (max_n > PQ_STATS_MAX_BYTES) {
            max_n = upper_bound(hi, maxp, max_n, utf8);
            maxp = hi;
            exact_max = false;
        }
        break;
    }
    }
    if (n > 0) {
        min_n = max_n = n;
        minp = lo;
        maxp = hi;
    }
    out->min_value = arena_bytes(a, minp, min_n);
    if (out->min_value.p == NULL)
        return err_nomem();
    out->has_is_min_value_exact = true;
    out->is_min_value_exact = exact_min;
    if (exact_max || max_n > 0) {
        out->max_value = arena_bytes(a, maxp, max_n);
        if (out->max_value.p == NULL)
            return err_nomem();
        out->has_is_max_value_exact = true;
        out->is_max_value_exact = exact_max;
    }
    return INFINO_OK;
}
