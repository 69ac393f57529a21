/*
 * pq_encode.c - RLE/bit-packed hybrid, PLAIN values, BYTE_ARRAY
 * dictionary and level shredding for the writer (pq_encode.h).
 *
 * The hot paths work on runs, not values: validity bitmaps are scanned a
 * byte at a time for runs of equal bits, fixed-width values are copied a
 * run at a time, and levels of non-null lists go in as O(1) run appends.
 */
#include "pq_encode.h"

#include "util/alloc.h"
#include "util/endian.h"
#include "util/err.h"
#include "util/hash.h"

#include <string.h>

int pq_bit_width(uint64_t max)
{
    return max == 0 ? 0 : 64 - __builtin_clzll(max);
}

/* ---- RLE / bit-packed hybrid -------------------------------------------- */

/* Runs longer than this are split, so every header fits a uint32 varint
 * as readers expect (count << 1 < 2^31). */
#define RLE_MAX_RUN (1u << 30)

void pq_rle_enc_init(struct pq_rle_enc *e, struct buf *out, int bit_width)
{
    e->out = out;
    e->bit_width = bit_width;
    e->cur = 0;
    e->rep = 0;
    e->n_lit = 0;
}

/* Writes lit[0..n) as one bit-packed run (n a multiple of 8, or the final
 * run padded by the caller) and keeps the values after n. */
static infino_status write_literals(struct pq_rle_enc *e, size_t n)
{
    size_t groups = (n + 7) / 8, n_bytes = groups * (size_t)e->bit_width;
    infino_status st;
    uint8_t *dst;
    uint64_t acc = 0;
    int nb = 0;

    st = buf_put_uvarint(e->out, (uint64_t)groups << 1 | 1);
    if (st == INFINO_OK)
        st = buf_reserve(e->out, n_bytes);
    if (st != INFINO_OK)
        return st;
    dst = e->out->data + e->out->len;
    for (size_t i = 0; i < groups * 8; i++) {
        uint32_t v = i < n ? e->lit[i] : 0; /* zero padding */
        acc |= (uint64_t)v << nb;
        nb += e->bit_width;
        while (nb >= 8) {
            *dst++ = (uint8_t)acc;
            acc >>= 8;
            nb -= 8;
        }
    }
    e->out->len += n_bytes;
    memmove(e->lit, e->lit + n, (e->n_lit - n) * sizeof e->lit[0]);
    e->n_lit -= n;
    return INFINO_OK;
}

static infino_status write_repeated(struct pq_rle_enc *e, uint32_t v,
                                    uint64_t count)
{
    int n_bytes = (e->bit_width + 7) / 8;
    infino_status st;

    while (count > 0) {
        uint64_t c = count < RLE_MAX_RUN ? count : RLE_MAX_RUN;
        st = buf_put_uvarint(e->out, c << 1);
        for (int i = 0; st == INFINO_OK && i < n_bytes; i++)
            st = buf_put_u8(e->out, (uint8_t)(v >> (8 * i)));
        if (st != INFINO_OK)
            return st;
        count -= c;
    }
    return INFINO_OK;
}

static infino_status push_literal(struct pq_rle_enc *e, uint32_t v)
{
    e->lit[e->n_lit++] = v;
    if (e->n_lit == PQ_RLE_LIT_CAP)
        return write_literals(e, PQ_RLE_LIT_CAP);
    return INFINO_OK;
}

/* The pending run cur x rep is complete. A long run becomes a repeated
 * run, after lending up to 7 of its values to the literals so that they
 * end on a group boundary; a short one joins the literals. */
static infino_status end_run(struct pq_rle_enc *e)
{
    uint64_t fill = (8 - e->n_lit % 8) % 8;
    infino_status st = INFINO_OK;

    if (e->rep >= 8 + fill) {
        for (uint64_t i = 0; i < fill; i++)
            e->lit[e->n_lit++] = e->cur; /* n_lit stays <= CAP */
        if (e->n_lit > 0)
            st = write_literals(e, e->n_lit);
        if (st == INFINO_OK)
            st = write_repeated(e, e->cur, e->rep - fill);
    } else {
        for (uint64_t i = 0; st == INFINO_OK && i < e->rep; i++)
            st = push_literal(e, e->cur);
    }
    e->rep = 0;
    return st;
}

infino_status pq_rle_enc_put_slow(struct pq_rle_enc *e, uint32_t v)
{
    infino_status st = INFINO_OK;

    if (e->rep != 0)
        st = end_run(e);
    e->cur = v;
    e->rep = 1;
    return st;
}

infino_status pq_rle_enc_put_run(struct pq_rle_enc *e, uint32_t v, uint64_t n)
{
    infino_status st = INFINO_OK;

    if (n == 0)
        return INFINO_OK;
    if (e->rep != 0 && v == e->cur) {
        e->rep += n;
        return INFINO_OK;
    }
    if (e->rep != 0)
        st = end_run(e);
    e->cur = v;
    e->rep = n;
    return st;
}

infino_status pq_rle_enc_finish(struct pq_rle_enc *e)
{
    infino_status st = INFINO_OK;

    if (e->rep != 0)
        st = end_run(e);
    if (st == INFINO_OK && e->n_lit > 0)
        st = write_literals(e, e->n_lit); /* the only padded group */
    return st;
}

/* ---- validity runs ------------------------------------------------------- */

static inline bool bit_at(const uint8_t *bits, int64_t j)
{
    return (bits[j >> 3] >> (j & 7)) & 1;
}

/* Length of the run of equal validity bits of `a` from logical index i
 * (< end); *valid gets the bit. Arrays without nulls are one run. */
static int64_t validity_run(const struct ArrowArray *a, int64_t i, int64_t end,
                            bool *valid)
{
    const uint8_t *bits = (const uint8_t *)a->buffers[0];
    int64_t j, stop;
    bool v;

    if (bits == NULL || a->null_count == 0) {
        *valid = true;
        return end - i;
    }
    j = i + a->offset;
    stop = end + a->offset;
    v = bit_at(bits, j);
    j++;
    while (j < stop) {
        if ((j & 7) == 0 && stop - j >= 8) {
            if (bits[j >> 3] == (v ? 0xFF : 0x00)) {
                j += 8;
                continue;
            }
        }
        if (bit_at(bits, j) != v)
            break;
        j++;
    }
    *valid = v;
    return j - (i + a->offset);
}

/* -------------------------------------------------------------------------- */

infino_status pq_shape_of(struct pq_shape *out, const struct ar_field *f)
{
    memset(out, 0, sizeof *out);
    out->nullable = f->nullable;
    switch (f->type) {
    case AR_LIST:
    case AR_LARGE_LIST:
    case AR_FIXED_SIZE_LIST: {
        const struct ar_field *item;
        if (f->n_children != 1)
            return err_set(INFINO_ERR_INVALID, "field '%s': list without item",
                           f->name);
        item = &f->children[0];
        if (item->type == AR_LIST || item->type == AR_LARGE_LIST ||
            item->type == AR_FIXED_SIZE_LIST || item->type == AR_STRUCT)
            return err_set(INFINO_ERR_UNSUPPORTED,
                           "field '%s': nested lists/structs are not supported",
                           f->name);
        out->kind = f->type == AR_LIST         ? PQ_SHAPE_LIST
                    : f->type == AR_LARGE_LIST ? PQ_SHAPE_LARGE_LIST
                                               : PQ_SHAPE_FIXED_LIST;
        out->item_nullable = item->nullable;
        out->list_size = f->list_size;
        out->max_def = (f->nullable ? 1 : 0) + 1 + (item->nullable ? 1 : 0);
        out->max_rep = 1;
        return INFINO_OK;
    }
    case AR_STRUCT:
        return err_set(INFINO_ERR_UNSUPPORTED,
                       "field '%s': struct columns are not supported",
                       f->name);
    default:
        out->kind = PQ_SHAPE_FLAT;
        out->max_def = f->nullable ? 1 : 0;
        out->max_rep = 0;
        return INFINO_OK;
    }
}

const struct ArrowArray *pq_shape_leaf(const struct pq_shape *shape,
                                       const struct ArrowArray *top)
{
    return shape->kind == PQ_SHAPE_FLAT ? top : top->children[0];
}

/* Child index range of list slot i (logical index into `top`). */
static inline void slot_items(const struct pq_shape *shape,
                              const struct ArrowArray *top, int64_t i,
                              int64_t *a, int64_t *b)
{
    int64_t j = top->offset + i;

    switch (shape->kind) {
    case PQ_SHAPE_LIST: {
        const int32_t *o = (const int32_t *)top->buffers[1];
        *a = o[j];
        *b = o[j + 1];
        break;
    }
    case PQ_SHAPE_LARGE_LIST: {
        const int64_t *o = (const int64_t *)top->buffers[1];
        *a = o[j];
        *b = o[j + 1];
        break;
    }
    default:
        *a = j * shape->list_size;
        *b = *a + shape->list_size;
        break;
    }
}

int64_t pq_shape_leaf_span(const struct pq_shape *shape,
                           const struct ArrowArray *top, int64_t row0,
                           int64_t n, int64_t *first_out)
{
    int64_t a, b, c, d;

    if (shape->kind == PQ_SHAPE_FLAT) {
        *first_out = row0;
        return n;
    }
    if (n == 0) {
        *first_out = 0;
        return 0;
    }
    slot_items(shape, top, row0, &a, &b);
    slot_items(shape, top, row0 + n - 1, &c, &d);
    *first_out = a;
    return d - a;
}

static infino_status add_range(struct pq_shred *s, int64_t a, int64_t b)
{
    if (a == b)
        return INFINO_OK;
    if (s->n_ranges > 0 && s->ranges[s->n_ranges - 1].end == a) {
        s->ranges[s->n_ranges - 1].end = b;
        return INFINO_OK;
    }
    if (s->n_ranges == s->ranges_cap) {
        size_t cap = s->ranges_cap ? s->ranges_cap * 2 : 16;
        struct pq_range *r = mem_realloc(s->ranges, cap * sizeof *r);
        if (r == NULL)
            return err_nomem();
        s->ranges = r;
        s->ranges_cap = cap;
    }
    s->ranges[s->n_ranges].begin = a;
    s->ranges[s->n_ranges].end = b;
    s->n_ranges++;
    return INFINO_OK;
}

/* Definition levels of the entries [a, b) of `a_arr`: `hi` where valid,
 * `hi - 1` where null. Counts the present ones. */
static infino_status def_runs(struct pq_shred *out, struct pq_rle_enc *def,
                              const struct ArrowArray *arr, bool nullable,
                              int64_t a, int64_t b, int hi)
{
    infino_status st;

    if (!nullable) {
        out->n_present += b - a;
        return def ? pq_rle_enc_put_run(def, (uint32_t)hi, (uint64_t)(b - a))
                   : INFINO_OK;
    }
    while (a < b) {
        bool valid;
        int64_t n = validity_run(arr, a, b, &valid);
        st = pq_rle_enc_put_run(def, valid ? (uint32_t)hi : (uint32_t)hi - 1,
                            (uint64_t)n);
        if (st != INFINO_OK)
            return st;
        if (valid)
            out->n_present += n;
        a += n;
    }
    return INFINO_OK;
}

infino_status pq_shred_rows(struct pq_shred *out, struct pq_rle_enc *def,
                            struct pq_rle_enc *rep,
                            const struct pq_shape *shape,
                            const struct ArrowArray *top, int64_t row0,
                            int64_t n_rows)
{
    const struct ArrowArray *leaf;
    infino_status st = INFINO_OK;
    uint32_t ln = shape->nullable ? 1 : 0;
    bool slots_all_valid;

    if (n_rows == 0)
        return INFINO_OK;
    if (shape->kind == PQ_SHAPE_FLAT) {
        out->n_levels += n_rows;
        st = def_runs(out, def, top, shape->nullable, row0, row0 + n_rows, 1);
        if (st == INFINO_OK)
            st = add_range(out, row0, row0 + n_rows);
        return st;
    }

    leaf = top->children[0];
    slots_all_valid = !shape->nullable || top->null_count == 0 ||
                      top->buffers[0] == NULL;
    for (int64_t i = row0; i < row0 + n_rows && st == INFINO_OK;) {
        int64_t a, b, n_slots;
        bool valid = true;

        /* A run of slots with the same validity. */
        n_slots = slots_all_valid
                      ? row0 + n_rows - i
                      : validity_run(top, i, row0 + n_rows, &valid);
        if (!valid) {
            /* null slots: one entry each, def 0, rep 0; items skipped */
            out->n_levels += n_slots;
            st = pq_rle_enc_put_run(def, 0, (uint64_t)n_slots);
            if (st == INFINO_OK)
                st = pq_rle_enc_put_run(rep, 0, (uint64_t)n_slots);
            i += n_slots;
            continue;
        }
        for (int64_t k = i; k < i + n_slots && st == INFINO_OK; k++) {
            slot_items(shape, top, k, &a, &b);
            if (a == b) {
                out->n_levels++;
                st = pq_rle_enc_put(def, ln);
                if (st == INFINO_OK)
                    st = pq_rle_enc_put(rep, 0);
                continue;
            }
            out->n_levels += b - a;
            st = pq_rle_enc_put(rep, 0);
            if (st == INFINO_OK)
                st = pq_rle_enc_put_run(rep, 1, (uint64_t)(b - a - 1));
            if (st == INFINO_OK)
                st = def_runs(out, def, leaf, shape->item_nullable, a, b,
                              shape->max_def);
            if (st == INFINO_OK)
                st = add_range(out, a, b);
        }
        i += n_slots;
    }
    return st;
}

void pq_shred_reset(struct pq_shred *s)
{
    s->n_ranges = 0;
    s->n_levels = 0;
    s->n_present = 0;
}

void pq_shred_free(struct pq_shred *s)
{
    mem_free(s->ranges);
    memset(s, 0, sizeof *s);
}

/* -------------------------------------------------------------------------- */

void pq_decimal_to_be(uint8_t *dst, const uint8_t *src16, int len)
{
    for (int i = 0; i < len; i++)
        dst[i] = src16[len - 1 - i];
}

static infino_status put_bools(struct buf *out, struct pq_value_enc *enc,
                               const uint8_t *bits, int64_t j, int64_t n)
{
    infino_status st = buf_reserve(out, (size_t)(n / 8 + 2));

    if (st != INFINO_OK)
        return st;
    for (int64_t k = 0; k < n; k++) {
        enc->bits |= (uint8_t)(bit_at(bits, j + k) << enc->n_bits);
        if (++enc->n_bits == 8) {
            out->data[out->len++] = enc->bits;
            enc->bits = 0;
            enc->n_bits = 0;
        }
    }
    return INFINO_OK;
}

/* Appends the values of the valid run [s, e) (logical indexes). */
static infino_status put_run_values(struct buf *out, struct pq_value_enc *enc,
                                    const struct ArrowArray *leaf, int64_t s,
                                    int64_t e)
{
    int64_t j = s + leaf->offset, n = e - s;
    const uint8_t *vals = (const uint8_t *)leaf->buffers[1];
    infino_status st;
    uint8_t *dst;

    switch (enc->kind) {
    case PQ_VK_BOOL:
        return put_bools(out, enc, vals, j, n);
    case PQ_VK_COPY4:
        return buf_append(out, vals + 4 * j, (size_t)n * 4);
    case PQ_VK_COPY8:
        return buf_append(out, vals + 8 * j, (size_t)n * 8);
    case PQ_VK_I8:
    case PQ_VK_I16:
    case PQ_VK_U8:
    case PQ_VK_U16:
        st = buf_reserve(out, (size_t)n * 4);
        if (st != INFINO_OK)
            return st;
        dst = out->data + out->len;
        for (int64_t k = 0; k < n; k++) {
            int32_t v;
            switch (enc->kind) {
            case PQ_VK_I8:
                v = ((const int8_t *)vals)[j + k];
                break;
            case PQ_VK_I16:
                v = ((const int16_t *)vals)[j + k];
                break;
            case PQ_VK_U8:
                v = ((const uint8_t *)vals)[j + k];
                break;
            default:
                v = ((const uint16_t *)vals)[j + k];
                break;
            }
            store_u32le(dst + 4 * k, (uint32_t)v);
        }
        out->len += (size_t)n * 4;
        return INFINO_OK;
    case PQ_VK_MUL1000:
        st = buf_reserve(out, (size_t)n * 8);
        if (st != INFINO_OK)
            return st;
        dst = out->data + out->len;
        for (int64_t k = 0; k < n; k++) {
            int64_t v = ((const int64_t *)vals)[j + k];
            if (v > INT64_MAX / 1000 || v < INT64_MIN / 1000)
                return err_set(INFINO_ERR_INVALID,
                               "timestamp %lld s overflows milliseconds",
                               (long long)v);
            store_u64le(dst + 8 * k, (uint64_t)(v * 1000));
        }
        out->len += (size_t)n * 8;
        return INFINO_OK;
    case PQ_VK_DECIMAL:
        st = buf_reserve(out, (size_t)n * (size_t)enc->flba_len);
        if (st != INFINO_OK)
            return st;
        dst = out->data + out->len;
        for (int64_t k = 0; k < n; k++)
            pq_decimal_to_be(dst + k * enc->flba_len, vals + 16 * (j + k),
                             enc->flba_len);
        out->len += (size_t)n * (size_t)enc->flba_len;
        return INFINO_OK;
    case PQ_VK_BYTES32:
    case PQ_VK_BYTES64: {
        const uint8_t *data = (const uint8_t *)leaf->buffers[2];
        int64_t o0, o1;
        bool large = enc->kind == PQ_VK_BYTES64;
        o0 = large ? ((const int64_t *)vals)[j] : ((const int32_t *)vals)[j];
        o1 = large ? ((const int64_t *)vals)[j + n]
                   : ((const int32_t *)vals)[j + n];
        st = buf_reserve(out, (size_t)(o1 - o0) + 4 * (size_t)n);
        if (st != INFINO_OK)
            return st;
        dst = out->data + out->len;
        for (int64_t k = 0; k < n; k++) {
            int64_t a, b;
            if (large) {
                a = ((const int64_t *)vals)[j + k];
                b = ((const int64_t *)vals)[j + k + 1];
            } else {
                a = ((const int32_t *)vals)[j + k];
                b = ((const int32_t *)vals)[j + k + 1];
            }
            if (b - a > INT32_MAX)
                return err_set(INFINO_ERR_INVALID,
                               "a %lld-byte value is too large for Parquet",
                               (long long)(b - a));
            store_u32le(dst, (uint32_t)(b - a));
            if (b > a) /* the data buffer may be NULL when all are empty */
                memcpy(dst + 4, data + a, (size_t)(b - a));
            dst += 4 + (b - a);
        }
        out->len = (size_t)(dst - out->data);
        return INFINO_OK;
    }
    }
    return err_set(INFINO_ERR_INVALID, "bad value kind %d", (int)enc->kind);
}

infino_status pq_plain_append(struct buf *out, struct pq_value_enc *enc,
                              const struct ArrowArray *leaf,
                              const struct pq_range *ranges, size_t n_ranges)
{
    infino_status st;

    for (size_t r = 0; r < n_ranges; r++) {
        int64_t i = ranges[r].begin, end = ranges[r].end;
        while (i < end) {
            bool valid;
            int64_t n = validity_run(leaf, i, end, &valid);
            if (valid) {
                st = put_run_values(out, enc, leaf, i, i + n);
                if (st != INFINO_OK)
                    return st;
            }
            i += n;
        }
    }
    return INFINO_OK;
}

infino_status pq_value_flush(struct buf *out, struct pq_value_enc *enc)
{
    infino_status st = INFINO_OK;

    if (enc->kind == PQ_VK_BOOL && enc->n_bits > 0)
        st = buf_put_u8(out, enc->bits);
    enc->bits = 0;
    enc->n_bits = 0;
    return st;
}

/* -------------------------------------------------------------------------- */

static infino_status dict_grow_slots(struct pq_dict *d)
{
    size_t n = d->n_slots ? d->n_slots * 2 : 1024;
    uint32_t *slots = mem_calloc(n, sizeof *slots);

    if (slots == NULL)
        return err_nomem();
    for (size_t e = 0; e < d->n_entries; e++) {
        size_t s = (size_t)d->entries[e].hash & (n - 1);
        while (slots[s] != 0)
            s = (s + 1) & (n - 1);
        slots[s] = (uint32_t)e + 1;
    }
    mem_free(d->slots);
    d->slots = slots;
    d->n_slots = n;
    return INFINO_OK;
}

infino_status pq_dict_insert(struct pq_dict *d, const uint8_t *p, size_t n,
                             uint32_t *idx_out)
{
    uint64_t h = hash64(p, n);
    infino_status st;
    size_t s;

    if (n > INT32_MAX)
        return err_set(INFINO_ERR_INVALID,
                       "a %zu-byte value is too large for Parquet", n);
    if (d->n_slots == 0 || (d->n_entries + 1) * 2 > d->n_slots) {
        if (d->n_entries >= UINT32_MAX - 1)
            return err_set(INFINO_ERR_INVALID, "dictionary too large");
        st = dict_grow_slots(d);
        if (st != INFINO_OK)
            return st;
    }
    for (s = (size_t)h & (d->n_slots - 1); d->slots[s] != 0;
         s = (s + 1) & (d->n_slots - 1)) {
        const struct pq_dict_entry *e = &d->entries[d->slots[s] - 1];
        if (e->hash == h && e->len == n &&
            (n == 0 || memcmp(d->plain.data + e->off, p, n) == 0)) {
            *idx_out = d->slots[s] - 1;
            return INFINO_OK;
        }
    }
    if (d->n_entries == d->entries_cap) {
        size_t cap = d->entries_cap ? d->entries_cap * 2 : 256;
        struct pq_dict_entry *ne =
            mem_realloc(d->entries, cap * sizeof *ne);
        if (ne == NULL)
            return err_nomem();
        d->entries = ne;
        d->entries_cap = cap;
    }
    st = buf_reserve(&d->plain, 4 + n);
    if (st != INFINO_OK)
        return st;
    store_u32le(d->plain.data + d->plain.len, (uint32_t)n);
    if (n)
        memcpy(d->plain.data + d->plain.len + 4, p, n);
    d->entries[d->n_entries].hash = h;
    d->entries[d->n_entries].off = d->plain.len + 4;
    d->entries[d->n_entries].len = (uint32_t)n;
    d->plain.len += 4 + n;
    d->slots[s] = (uint32_t)d->n_entries + 1;
    *idx_out = (uint32_t)d->n_entries++;
    return INFINO_OK;
}

infino_status pq_dict_append(struct pq_dict *d, struct buf *idx,
                             const struct ArrowArray *leaf, bool large,
                             const struct pq_range *ranges, size_t n_ranges)
{
    const uint8_t *offs = (const uint8_t *)leaf->buffers[1];
    const uint8_t *data = (const uint8_t *)leaf->buffers[2];
    infino_status st;

    for (size_t r = 0; r < n_ranges; r++) {
        int64_t i = ranges[r].begin, end = ranges[r].end;
        while (i < end) {
            bool valid;
            int64_t n = validity_run(leaf, i, end, &valid);
            if (valid) {
                st = buf_reserve(idx, (size_t)n * 4);
                if (st != INFINO_OK)
                    return st;
                for (int64_t k = i; k < i + n; k++) {
                    int64_t j = k + leaf->offset, a, b;
                    uint32_t id;
                    if (large) {
                        a = ((const int64_t *)offs)[j];
                        b = ((const int64_t *)offs)[j + 1];
                    } else {
                        a = ((const int32_t *)offs)[j];
                        b = ((const int32_t *)offs)[j + 1];
                    }
                    st = pq_dict_insert(d, data + a, (size_t)(b - a), &id);
                    if (st != INFINO_OK)
                        return st;
                    store_u32le(idx->data + idx->len, id);
                    idx->len += 4;
                }
            }
            i += n;
        }
    }
    return INFINO_OK;
}

void pq_dict_reset(struct pq_dict *d)
{
    buf_reset(&d->plain);
    d->n_entries = 0;
    if (d->slots)
        memset(d->slots, 0, d->n_slots * sizeof *d->slots);
}

void pq_dict_free(struct pq_dict *d)
{
    buf_free(&d->plain);
    mem_free(d->entries);
    mem_free(d->slots);
    memset(d, 0, sizeof *d);
}

infino_status pq_dict_encode_indexes(struct buf *out, const uint32_t *idx,
                                     size_t n, size_t dict_size)
{
    /* Bit width 0 is legal for a one-entry dictionary, but not every
     * reader handles it; 1 costs at most a few bytes. */
    int bw = dict_size > 1 ? pq_bit_width(dict_size - 1) : 1;
    struct pq_rle_enc e;
    infino_status st;

    st = buf_put_u8(out, (uint8_t)bw);
    if (st != INFINO_OK)
        return st;
    pq_rle_enc_init(&e, out, bw);
    for (size_t i = 0; i < n; i++) {
        st = pq_rle_enc_put(&e, idx[i]);
        if (st != INFINO_OK)
            return st;
    }
    return pq_rle_enc_finish(&e);
}
