/*
 * pq_thrift.c - Thrift compact protocol writer and bounded reader (see
 * pq_thrift.h). Spec: apache/thrift doc/specs/thrift-compact-protocol.md:
 * field headers are (delta << 4 | type) when the id grows by 1..15, else
 * the type byte and a zigzag varint id; integers are zigzag varints;
 * binary is a varint length and the bytes; a list header is
 * (size << 4 | elem_type), or 0xF_ and a varint size when size >= 15.
 */
#include "pq_thrift.h"

#include "util/err.h"

#include <assert.h>
#include <string.h>

/* ---- writer ---------------------------------------------------------- */

void pq_tw_init(struct pq_tw *w, struct buf *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
}

static infino_status field_header(struct pq_tw *w, int16_t id, uint8_t type)
{
    int16_t *last;
    infino_status st;

    assert(w->depth > 0 && "field written outside a struct");
    if (w->depth <= 0)
        return err_set(INFINO_ERR_INVALID, "thrift: field outside a struct");
    last = &w->last_id[w->depth - 1];
    if (id > *last && id - *last <= 15) {
        st = buf_put_u8(w->out, (uint8_t)((id - *last) << 4 | type));
    } else {
        st = buf_put_u8(w->out, type);
        if (st == INFINO_OK)
            st = buf_put_svarint(w->out, id);
    }
    if (st == INFINO_OK)
        *last = id;
    return st;
}

infino_status pq_tw_struct_begin(struct pq_tw *w)
{
    if (w->depth >= PQ_THRIFT_MAX_DEPTH)
        return err_set(INFINO_ERR_INVALID, "thrift: structs nested too deep");
    w->last_id[w->depth++] = 0;
    return INFINO_OK;
}

infino_status pq_tw_field_struct(struct pq_tw *w, int16_t id)
{
    infino_status st = field_header(w, id, PQ_T_STRUCT);

    if (st != INFINO_OK)
        return st;
    return pq_tw_struct_begin(w);
}

infino_status pq_tw_struct_end(struct pq_tw *w)
{
    assert(w->depth > 0);
    if (w->depth <= 0)
        return err_set(INFINO_ERR_INVALID, "thrift: unbalanced struct end");
    w->depth--;
    return buf_put_u8(w->out, PQ_T_STOP);
}

infino_status pq_tw_field_bool(struct pq_tw *w, int16_t id, bool v)
{
    return field_header(w, id, v ? PQ_T_TRUE : PQ_T_FALSE);
}

infino_status pq_tw_field_i8(struct pq_tw *w, int16_t id, int8_t v)
{
    infino_status st = field_header(w, id, PQ_T_I8);

    return st != INFINO_OK ? st : buf_put_u8(w->out, (uint8_t)v);
}

infino_status pq_tw_field_i16(struct pq_tw *w, int16_t id, int16_t v)
{
    infino_status st = field_header(w, id, PQ_T_I16);

    return st != INFINO_OK ? st : buf_put_svarint(w->out, v);
}

infino_status pq_tw_field_i32(struct pq_tw *w, int16_t id, int32_t v)
{
    infino_status st = field_header(w, id, PQ_T_I32);

    return st != INFINO_OK ? st : buf_put_svarint(w->out, v);
}

infino_status pq_tw_field_i64(struct pq_tw *w, int16_t id, int64_t v)
{
    infino_status st = field_header(w, id, PQ_T_I64);

    return st != INFINO_OK ? st : buf_put_svarint(w->out, v);
}

infino_status pq_tw_field_double(struct pq_tw *w, int16_t id, double v)
{
    infino_status st = field_header(w, id, PQ_T_DOUBLE);
    uint64_t bits;

    if (st != INFINO_OK)
        return st;
    memcpy(&bits, &v, sizeof bits); /* compact: 8 bytes little-endian */
    return buf_put_u64le(w->out, bits);
}

infino_status pq_tw_elem_binary(struct pq_tw *w, const void *p, size_t n)
{
    infino_status st = buf_put_uvarint(w->out, n);

    return st != INFINO_OK ? st : buf_append(w->out, p, n);
}

infino_status pq_tw_field_binary(struct pq_tw *w, int16_t id, const void *p,
                                 size_t n)
{
    infino_status st = field_header(w, id, PQ_T_BINARY);

    return st != INFINO_OK ? st : pq_tw_elem_binary(w, p, n);
}

infino_status pq_tw_field_list(struct pq_tw *w, int16_t id,
                               enum pq_ttype elem_type, size_t n)
{
    infino_status st = field_header(w, id, PQ_T_LIST);

    if (st != INFINO_OK)
        return st;
    if (n > INT32_MAX)
        return err_set(INFINO_ERR_INVALID, "thrift: list of %zu elements", n);
    if (n < 15)
        return buf_put_u8(w->out, (uint8_t)(n << 4 | elem_type));
    st = buf_put_u8(w->out, (uint8_t)(0xf0 | elem_type));
    return st != INFINO_OK ? st : buf_put_uvarint(w->out, n);
}

infino_status pq_tw_elem_bool(struct pq_tw *w, bool v)
{
    return buf_put_u8(w->out, v ? PQ_T_TRUE : PQ_T_FALSE);
}

infino_status pq_tw_elem_i32(struct pq_tw *w, int32_t v)
{
    return buf_put_svarint(w->out, v);
}

infino_status pq_tw_elem_i64(struct pq_tw *w, int64_t v)
{
    return buf_put_svarint(w->out, v);
}

/* ---- reader ---------------------------------------------------------- */

void pq_tr_init(struct pq_tr *r, const void *p, size_t n)
{
    memset(r, 0, sizeof *r);
    r->in = rd_make(p, n);
    r->base = r->in.p;
}

size_t pq_tr_offset(const struct pq_tr *r)
{
    return (size_t)(r->in.p - r->base);
}

static infino_status corrupt(const struct pq_tr *r, const char *what)
{
    return err_set(INFINO_ERR_CORRUPT, "thrift: %s at byte %zu", what,
                   pq_tr_offset(r));
}

static infino_status want_type(const struct pq_tr *r, uint8_t got,
                               uint8_t want)
{
    if (got == want)
        return INFINO_OK;
    return err_set(INFINO_ERR_CORRUPT,
                   "thrift: wire type %u where %u was expected at byte %zu",
                   got, want, pq_tr_offset(r));
}

infino_status pq_tr_struct_begin(struct pq_tr *r)
{
    if (r->depth >= PQ_THRIFT_MAX_DEPTH)
        return corrupt(r, "structs nested too deep");
    r->last_id[r->depth++] = 0;
    return INFINO_OK;
}

infino_status pq_tr_field(struct pq_tr *r, struct pq_tfield *f)
{
    uint8_t b, type;
    int32_t id;
    int64_t v;

    assert(r->depth > 0 && "field read outside a struct");
    if (r->depth <= 0)
        return corrupt(r, "field outside a struct");
    if (rd_u8(&r->in, &b) != 0)
        return corrupt(r, "truncated struct");
    if (b == PQ_T_STOP) {
        r->depth--;
        f->id = 0;
        f->type = PQ_T_STOP;
        return INFINO_OK;
    }
    type = b & 0x0f;
    if (type == PQ_T_STOP || type > PQ_T_UUID)
        return corrupt(r, "bad field type");
    if (b >> 4) {
        id = r->last_id[r->depth - 1] + (b >> 4);
    } else {
        if (rd_svarint(&r->in, &v) != 0)
            return corrupt(r, "bad field id");
        if (v < INT16_MIN || v > INT16_MAX)
            return corrupt(r, "field id out of range");
        id = (int32_t)v;
    }
    if (id > INT16_MAX)
        return corrupt(r, "field id out of range");
    r->last_id[r->depth - 1] = (int16_t)id;
    f->id = (int16_t)id;
    f->type = type;
    return INFINO_OK;
}

infino_status pq_tr_field_bool(struct pq_tr *r, const struct pq_tfield *f,
                               bool *out)
{
    if (f->type != PQ_T_TRUE && f->type != PQ_T_FALSE)
        return want_type(r, f->type, PQ_T_TRUE);
    *out = f->type == PQ_T_TRUE;
    return INFINO_OK;
}

infino_status pq_tr_elem_bool(struct pq_tr *r, bool *out)
{
    uint8_t b;

    /* Element bools are one byte: 1 is true; 0 and 2 are false (writers
     * disagree on false, see the spec's note on list<bool>). */
    if (rd_u8(&r->in, &b) != 0)
        return corrupt(r, "truncated bool");
    if (b > 2)
        return corrupt(r, "bad bool");
    *out = b == 1;
    return INFINO_OK;
}

infino_status pq_tr_i8(struct pq_tr *r, uint8_t type, int8_t *out)
{
    uint8_t b;
    infino_status st = want_type(r, type, PQ_T_I8);

    if (st != INFINO_OK)
        return st;
    if (rd_u8(&r->in, &b) != 0)
        return corrupt(r, "truncated i8");
    *out = (int8_t)b;
    return INFINO_OK;
}

static infino_status read_int(struct pq_tr *r, uint8_t type, uint8_t want,
                              int64_t lo, int64_t hi, int64_t *out)
{
    infino_status st = want_type(r, type, want);

    if (st != INFINO_OK)
        return st;
    if (rd_svarint(&r->in, out) != 0)
        return corrupt(r, "bad varint");
    if (*out < lo || *out > hi)
        return corrupt(r, "integer out of range");
    return INFINO_OK;
}

infino_status pq_tr_i16(struct pq_tr *r, uint8_t type, int16_t *out)
{
    int64_t v;
    infino_status st = read_int(r, type, PQ_T_I16, INT16_MIN, INT16_MAX, &v);

    if (st == INFINO_OK)
        *out = (int16_t)v;
    return st;
}

infino_status pq_tr_i32(struct pq_tr *r, uint8_t type, int32_t *out)
{
    int64_t v;
    infino_status st = read_int(r, type, PQ_T_I32, INT32_MIN, INT32_MAX, &v);

    if (st == INFINO_OK)
        *out = (int32_t)v;
    return st;
}

infino_status pq_tr_i64(struct pq_tr *r, uint8_t type, int64_t *out)
{
    return read_int(r, type, PQ_T_I64, INT64_MIN, INT64_MAX, out);
}

infino_status pq_tr_double(struct pq_tr *r, uint8_t type, double *out)
{
    uint64_t bits;
    infino_status st = want_type(r, type, PQ_T_DOUBLE);

    if (st != INFINO_OK)
        return st;
    if (rd_u64le(&r->in, &bits) != 0)
        return corrupt(r, "truncated double");
    memcpy(out, &bits, sizeof *out);
    return INFINO_OK;
}

static infino_status read_binary(struct pq_tr *r, const uint8_t **p_out,
                                 size_t *n_out)
{
    uint64_t n;

    if (rd_uvarint(&r->in, &n) != 0)
        return corrupt(r, "bad binary length");
    if (n > rd_left(&r->in))
        return corrupt(r, "binary longer than the input");
    *n_out = (size_t)n;
    (void)rd_bytes(&r->in, (size_t)n, p_out);
    return INFINO_OK;
}

infino_status pq_tr_binary(struct pq_tr *r, uint8_t type,
                           const uint8_t **p_out, size_t *n_out)
{
    infino_status st = want_type(r, type, PQ_T_BINARY);

    return st != INFINO_OK ? st : read_binary(r, p_out, n_out);
}

/* Reads a list/set header: element type and count, the count bounded by
 * the bytes left (each element takes at least one byte). */
static infino_status list_header(struct pq_tr *r, uint8_t *elem_out,
                                 uint32_t *n_out)
{
    uint8_t b;
    uint64_t n;

    if (rd_u8(&r->in, &b) != 0)
        return corrupt(r, "truncated list header");
    n = b >> 4;
    if (n == 15 && rd_uvarint(&r->in, &n) != 0)
        return corrupt(r, "bad list size");
    if (n > INT32_MAX || n > rd_left(&r->in))
        return corrupt(r, "list longer than the input");
    *elem_out = b & 0x0f;
    *n_out = (uint32_t)n;
    return INFINO_OK;
}

infino_status pq_tr_list(struct pq_tr *r, uint8_t type,
                         enum pq_ttype want_elem, uint32_t *n_out)
{
    uint8_t elem;
    infino_status st;

    if (type != PQ_T_LIST && type != PQ_T_SET)
        return want_type(r, type, PQ_T_LIST);
    st = list_header(r, &elem, n_out);
    if (st != INFINO_OK)
        return st;
    if (*n_out == 0)
        return INFINO_OK; /* some writers put 0 as the type of an empty list */
    if (want_elem == PQ_T_BOOL && (elem == PQ_T_TRUE || elem == PQ_T_FALSE))
        return INFINO_OK;
    return want_type(r, elem, (uint8_t)want_elem);
}

/* Skips one value. `in_container`: bools are a byte there, nothing in a
 * field header. `nest` bounds the recursion. */
static infino_status skip_value(struct pq_tr *r, uint8_t type,
                                bool in_container, int nest)
{
    uint64_t u;
    uint8_t b;
    const uint8_t *p;
    size_t n;
    infino_status st;

    if (nest > PQ_THRIFT_MAX_DEPTH)
        return corrupt(r, "values nested too deep");
    switch (type) {
    case PQ_T_TRUE:
    case PQ_T_FALSE:
        if (in_container && rd_u8(&r->in, &b) != 0)
            return corrupt(r, "truncated bool");
        return INFINO_OK;
    case PQ_T_I8:
        return rd_skip(&r->in, 1) == 0 ? INFINO_OK
                                       : corrupt(r, "truncated i8");
    case PQ_T_I16:
    case PQ_T_I32:
    case PQ_T_I64:
        return rd_uvarint(&r->in, &u) == 0 ? INFINO_OK
                                           : corrupt(r, "bad varint");
    case PQ_T_DOUBLE:
        return rd_skip(&r->in, 8) == 0 ? INFINO_OK
                                       : corrupt(r, "truncated double");
    case PQ_T_UUID:
        return rd_skip(&r->in, 16) == 0 ? INFINO_OK
                                        : corrupt(r, "truncated uuid");
    case PQ_T_BINARY:
        return read_binary(r, &p, &n);
    case PQ_T_LIST:
    case PQ_T_SET: {
        uint8_t elem;
        uint32_t count;
        st = list_header(r, &elem, &count);
        if (st != INFINO_OK)
            return st;
        if (count > 0 && (elem == PQ_T_STOP || elem > PQ_T_UUID))
            return corrupt(r, "bad list element type");
        for (uint32_t i = 0; i < count; i++) {
            st = skip_value(r, elem, true, nest + 1);
            if (st != INFINO_OK)
                return st;
        }
        return INFINO_OK;
    }
    case PQ_T_MAP: {
        uint8_t kv = 0;
        if (rd_uvarint(&r->in, &u) != 0)
            return corrupt(r, "bad map size");
        if (u == 0)
            return INFINO_OK;
        if (u > rd_left(&r->in) / 2 || rd_u8(&r->in, &kv) != 0)
            return corrupt(r, "map longer than the input");
        if ((kv >> 4) == PQ_T_STOP || (kv >> 4) > PQ_T_UUID ||
            (kv & 15) == PQ_T_STOP || (kv & 15) > PQ_T_UUID)
            return corrupt(r, "bad map types");
        for (uint64_t i = 0; i < u; i++) {
            st = skip_value(r, kv >> 4, true, nest + 1);
            if (st == INFINO_OK)
                st = skip_value(r, kv & 15, true, nest + 1);
            if (st != INFINO_OK)
                return st;
        }
        return INFINO_OK;
    }
    case PQ_T_STRUCT: {
        struct pq_tfield f;
        int depth = r->depth;
        st = pq_tr_struct_begin(r);
        while (st == INFINO_OK) {
            st = pq_tr_field(r, &f);
            if (st != INFINO_OK || f.type == PQ_T_STOP)
                break;
            st = skip_value(r, f.type, false, nest + 1);
        }
        assert(st != INFINO_OK || r->depth == depth);
        (void)depth;
        return st;
    }
    default:
        return corrupt(r, "bad wire type");
    }
}

infino_status pq_tr_skip(struct pq_tr *r, uint8_t type)
{
    return skip_value(r, type, false, r->depth);
}
