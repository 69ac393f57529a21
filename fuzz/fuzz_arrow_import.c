/*
 * fuzz_arrow_import.c - a foreign producer driven by the fuzz bytes.
 *
 * The input is a recipe: it builds an ArrowSchema tree and a matching (or
 * deliberately mismatched) ArrowArray tree. The harness allocates every
 * buffer exactly as large as the lengths, offsets and list sizes it wrote
 * imply, so ASan flags any read beyond what a producer must provide. When
 * ar_field_import_flags (dictionaries allowed at the root, as appends
 * allow them per column) and ar_array_validate accept the pair, every value
 * the array claims to hold is read, and the checks validation promises
 * (null counts, non-nullable columns, child ranges, dictionary indices in
 * range) are re-checked by brute force; a dictionary-encoded array is then
 * decoded (ar_dictionary_decode) and every decoded row compared with the
 * dictionary value its index names.
 *
 * Recipe: byte 0 is "chaos" (odd: apply the corruption bits below), then
 * one node: kind, flags (bit 0 nullable; with chaos, bits 1-7 corrupt
 * counts, buffers, offsets), type parameters, length, offset, validity
 * mode, null count mode, buffer contents, then the children (for a
 * dictionary: the values node). Missing bytes read as 0, so short inputs
 * are valid recipes.
 */
#include "format/arrow/arrow.h"
#include "format/arrow/arrow_int.h"
#include "format/arrow/arrow_take.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_DEPTH 4
#define MAX_KIDS 3
#define MAX_LEN 4096 /* cap on any array's offset + length */

struct rcp {
    const uint8_t *p, *end;
    bool chaos;
};

static uint8_t next(struct rcp *r)
{
    return r->p < r->end ? *r->p++ : 0;
}

enum kind {
    K_INT32, K_BOOL, K_INT8, K_INT16, K_INT64, K_UINT8, K_UINT16, K_UINT32,
    K_UINT64, K_FLOAT32, K_FLOAT64, K_UTF8, K_LARGE_UTF8, K_BINARY,
    K_LARGE_BINARY, K_DATE32, K_TIMESTAMP, K_DECIMAL, K_LIST, K_LARGE_LIST,
    K_FSL, K_STRUCT, K_UNSUPPORTED, K_MALFORMED, K_DICT, N_KINDS
};

/* Index types of a dictionary (the last one is not an integer: refused). */
static const struct {
    const char *fmt;
    int bits;
} dict_index[] = {
    {"c", 8}, {"s", 16}, {"i", 32}, {"l", 64}, {"C", 8},
    {"S", 16}, {"I", 32}, {"L", 64}, {"g", 64},
};
#define N_DICT_INDEX (sizeof dict_index / sizeof *dict_index)

static const char *const simple_fmt[] = {
    [K_INT32] = "i", [K_BOOL] = "b", [K_INT8] = "c", [K_INT16] = "s",
    [K_INT64] = "l", [K_UINT8] = "C", [K_UINT16] = "S", [K_UINT32] = "I",
    [K_UINT64] = "L", [K_FLOAT32] = "f", [K_FLOAT64] = "g", [K_UTF8] = "u",
    [K_LARGE_UTF8] = "U", [K_BINARY] = "z", [K_LARGE_BINARY] = "Z",
    [K_DATE32] = "tdD", [K_LIST] = "+l", [K_LARGE_LIST] = "+L",
    [K_STRUCT] = "+s", [K_UNSUPPORTED] = "e", [K_MALFORMED] = "i9",
};

/* One producer node: schema and array, with everything they point to. */
struct hnode {
    struct ArrowSchema schema;
    struct ArrowArray array;
    char format[32];
    char name[16];
    int n_kids;
    struct hnode *kids[MAX_KIDS];
    struct ArrowSchema *schema_kids[MAX_KIDS + 1]; /* +1: NULL slack */
    struct ArrowArray *array_kids[MAX_KIDS + 1];
    struct hnode *dict; /* the values of a dictionary-encoded node */
    const void *bufs[4];
    void *owned[3];
};

static void noop_schema_release(struct ArrowSchema *s)
{
    s->release = NULL;
}

static void noop_array_release(struct ArrowArray *a)
{
    a->release = NULL;
}

static void hnode_free(struct hnode *h)
{
    if (h == NULL)
        return;
    for (int i = 0; i < h->n_kids; i++)
        hnode_free(h->kids[i]);
    hnode_free(h->dict);
    for (int i = 0; i < 3; i++)
        free(h->owned[i]);
    free(h);
}

/* A buffer of exactly n bytes (malloc(0) may be NULL: use 1 then), filled
 * from the recipe. */
static void *buffer(struct rcp *r, size_t n)
{
    uint8_t *p = malloc(n ? n : 1);
    for (size_t i = 0; i < n; i++)
        p[i] = next(r);
    return p;
}

static int64_t popcount_range(const uint8_t *bits, int64_t lo, int64_t hi)
{
    int64_t n = 0;
    for (int64_t i = lo; i < hi; i++)
        n += (bits[i >> 3] >> (i & 7)) & 1;
    return n;
}

static int width_bits(int k)
{
    switch (k) {
    case K_BOOL:
        return 1;
    case K_INT8:
    case K_UINT8:
        return 8;
    case K_INT16:
    case K_UINT16:
        return 16;
    case K_INT32:
    case K_UINT32:
    case K_FLOAT32:
    case K_DATE32:
    case K_MALFORMED:
        return 32;
    case K_DECIMAL:
        return 128;
    case K_INT64:
    case K_UINT64:
    case K_FLOAT64:
    case K_TIMESTAMP:
    case K_UNSUPPORTED:
        return 64;
    default:
        return 0;
    }
}

/* Offsets for slots [0, total): monotone steps unless chaos says
 * otherwise. Returns the buffer; *last_out is the largest offset. */
static void *offsets(struct rcp *r, int64_t total, bool wide, uint8_t flags,
                     int64_t *max_out, int64_t *last_out)
{
    int64_t *v = malloc(sizeof *v * (size_t)(total + 1));
    int64_t max = 0;
    void *out;

    v[0] = next(r) % 3;
    for (int64_t i = 1; i <= total; i++)
        v[i] = v[i - 1] + next(r) % 4;
    if (r->chaos && (flags & 0x40))
        v[next(r) % (total + 1)] = -1 - next(r) % 3;
    if (r->chaos && (flags & 0x80)) {
        int64_t k = next(r) % (total + 1);
        v[k] -= 1 + next(r) % 3;
    }
    for (int64_t i = 0; i <= total; i++)
        max = v[i] > max ? v[i] : max;
    *max_out = max;
    *last_out = v[total];
    if (wide) {
        out = v;
    } else {
        int32_t *n = malloc(sizeof *n * (size_t)(total + 1));
        for (int64_t i = 0; i <= total; i++)
            n[i] = (int32_t)v[i];
        free(v);
        out = n;
    }
    return out;
}

/* Builds one node. `hint` >= 0 asks for a length near it (children). */
static struct hnode *build(struct rcp *r, int depth, int64_t hint, int idx)
{
    struct hnode *h = calloc(1, sizeof *h);
    int kind = next(r) % N_KINDS;
    uint8_t flags = next(r);
    int n_kids = 0, n_buffers = 2;
    int32_t list_size = 0;
    size_t dix = 0; /* K_DICT: index type */
    int64_t len, off, total, child_hint = -1;

    if (depth >= MAX_DEPTH && (kind == K_LIST || kind == K_LARGE_LIST ||
                               kind == K_FSL || kind == K_STRUCT ||
                               kind == K_DICT))
        kind = K_INT32;
    snprintf(h->name, sizeof h->name, "c%d_%d", depth, idx);
    switch (kind) {
    case K_TIMESTAMP: {
        uint8_t u = next(r), tz = next(r);
        snprintf(h->format, sizeof h->format, "ts%c:%s", "smun"[u % 4],
                 tz % 3 == 0 ? "" : tz % 3 == 1 ? "UTC" : "+01:00");
        break;
    }
    case K_DECIMAL:
        snprintf(h->format, sizeof h->format, "d:%d,%d", 1 + next(r) % 38,
                 (int8_t)next(r));
        break;
    case K_FSL:
        list_size = next(r) % 5;
        snprintf(h->format, sizeof h->format, "+w:%d", (int)list_size);
        break;
    case K_DICT:
        dix = next(r) % N_DICT_INDEX;
        if (!r->chaos && dix == N_DICT_INDEX - 1)
            dix = 0;
        snprintf(h->format, sizeof h->format, "%s", dict_index[dix].fmt);
        break;
    default:
        snprintf(h->format, sizeof h->format, "%s", simple_fmt[kind]);
        break;
    }
    if (kind == K_STRUCT)
        n_kids = next(r) % (MAX_KIDS + 1);
    else if (kind == K_LIST || kind == K_LARGE_LIST || kind == K_FSL)
        n_kids = 1;

    /* lengths */
    if (hint < 0) {
        len = next(r) % 33;
        off = next(r) % 9;
    } else {
        len = hint + next(r) % 3 - 1; /* short by one, exact, or longer */
        if (len < 0)
            len = 0;
        off = next(r) % 3;
    }
    if (len + off > MAX_LEN)
        len = off = 0;
    total = len + off;

    /* validity and null count */
    {
        uint8_t vmode = next(r) % 3;
        int64_t nulls = 0;
        uint8_t *bits = NULL;
        size_t nbytes = (size_t)(total + 7) / 8;

        if (vmode == 1) {
            bits = buffer(r, nbytes);
        } else if (vmode == 2) {
            bits = malloc(nbytes ? nbytes : 1);
            memset(bits, 0xff, nbytes);
        }
        if (bits != NULL)
            nulls = len - popcount_range(bits, off, total);
        h->owned[0] = bits;
        h->bufs[0] = bits;
        h->array.null_count = nulls;
        if (r->chaos && (flags & 0x20))
            h->array.null_count = nulls + next(r) % 4 - 2;
        else if (next(r) % 4 == 0)
            h->array.null_count = -1; /* unknown */
    }

    /* data buffers */
    switch (kind) {
    case K_UTF8:
    case K_LARGE_UTF8:
    case K_BINARY:
    case K_LARGE_BINARY: {
        int64_t max, last;
        n_buffers = 3;
        h->owned[1] = offsets(r, total, kind == K_LARGE_UTF8 ||
                                            kind == K_LARGE_BINARY,
                              flags, &max, &last);
        h->owned[2] = buffer(r, (size_t)max);
        break;
    }
    case K_LIST:
    case K_LARGE_LIST: {
        int64_t max, last;
        h->owned[1] = offsets(r, total, kind == K_LARGE_LIST, flags, &max,
                              &last);
        child_hint = last < 0 ? 0 : last;
        break;
    }
    case K_FSL:
        n_buffers = 1;
        child_hint = total * list_size;
        break;
    case K_STRUCT:
        n_buffers = 1;
        child_hint = total;
        break;
    case K_DICT: {
        /* The values first: indices are drawn within their length, except
         * under chaos (then any byte, negative ones included). */
        size_t w = (size_t)dict_index[dix].bits / 8;
        uint8_t *ibuf = malloc(w * (size_t)total + 1);
        int64_t n_values;

        h->dict = build(r, depth + 1, -1, 0);
        n_values = h->dict->array.length;
        for (int64_t i = 0; i < total; i++) {
            uint8_t b = next(r);
            int64_t v = r->chaos || n_values == 0 ? (int8_t)b
                                                  : b % n_values;
            memcpy(ibuf + (size_t)i * w, &v, w); /* little-endian */
        }
        h->owned[1] = ibuf;
        break;
    }
    default:
        h->owned[1] =
            buffer(r, (size_t)(total * width_bits(kind) + 7) / 8);
        break;
    }
    h->bufs[1] = h->owned[1];
    h->bufs[2] = h->owned[2];
    if (r->chaos && (flags & 0x10))
        h->bufs[1] = NULL;

    /* children */
    for (int i = 0; i < n_kids; i++) {
        h->kids[i] = build(r, depth + 1, child_hint, i);
        h->schema_kids[i] = &h->kids[i]->schema;
        h->array_kids[i] = &h->kids[i]->array;
    }
    h->n_kids = n_kids;

    h->schema.format = h->format;
    h->schema.name = h->name;
    h->schema.flags = (flags & 1) ? ARROW_FLAG_NULLABLE : 0;
    h->schema.n_children = n_kids;
    if (r->chaos && (flags & 0x02))
        h->schema.n_children++; /* reads the NULL slack pointer */
    h->schema.children = h->schema_kids;
    h->schema.release = noop_schema_release;
    if (h->dict != NULL) {
        h->schema.dictionary = &h->dict->schema;
        h->array.dictionary = &h->dict->array;
        if (r->chaos && (next(r) & 1))
            h->array.dictionary = NULL; /* the array forgot it */
    }

    h->array.length = len;
    h->array.offset = off;
    h->array.n_buffers = n_buffers;
    if (r->chaos && (flags & 0x04))
        h->array.n_buffers++;
    h->array.n_children = n_kids;
    if (r->chaos && (flags & 0x08))
        h->array.n_children = n_kids > 0 ? n_kids - 1 : 1;
    h->array.buffers = h->bufs;
    h->array.children = h->array_kids;
    h->array.release = noop_array_release;
    return h;
}

/* ---- the oracle: read everything, re-check the promises --------------- */

static volatile uint8_t sink;

static void touch_bytes(const void *p, int64_t lo, int64_t hi)
{
    for (int64_t i = lo; i < hi; i++)
        sink ^= ((const uint8_t *)p)[i];
}

static int64_t offset_at(const void *p, bool wide, int64_t i)
{
    if (wide) {
        int64_t v;
        memcpy(&v, (const uint8_t *)p + 8 * i, 8);
        return v;
    }
    int32_t v;
    memcpy(&v, (const uint8_t *)p + 4 * i, 4);
    return v;
}

static void touch(const struct ar_field *f, const struct ArrowArray *a,
                  bool top);

/* Index i of a validated dictionary-encoded array (offset applied). */
static int64_t index_at(const struct ar_field *f, const struct ArrowArray *a,
                        int64_t i)
{
    int w = ar_type_bit_width(f->type) / 8;
    bool is_signed = f->type <= AR_INT64;
    uint64_t u = 0;

    memcpy(&u, (const uint8_t *)a->buffers[1] + (size_t)(a->offset + i) * w,
           (size_t)w);
    if (is_signed && w < 8 && (u >> (8 * w - 1)) & 1)
        u |= ~0ull << (8 * w); /* sign-extend */
    return (int64_t)u;
}

/* Bytes of row i of a fixed-width or binary array: *p, *n. */
static void row_bytes(const struct ar_field *f, const struct ArrowArray *a,
                      int64_t i, const uint8_t **p, int64_t *n)
{
    int w = ar_type_bit_width(f->type);
    bool wide = f->type == AR_LARGE_UTF8 || f->type == AR_LARGE_BINARY;

    i += a->offset;
    if (w >= 8) {
        *p = (const uint8_t *)a->buffers[1] + (size_t)i * (size_t)(w / 8);
        *n = w / 8;
        return;
    }
    int64_t s = offset_at(a->buffers[1], wide, i);
    int64_t e = offset_at(a->buffers[1], wide, i + 1);
    *p = e > s ? (const uint8_t *)a->buffers[2] + s : NULL;
    *n = e - s;
}

/* Decodes a validated dictionary-encoded array and compares every row
 * with the value its index names. */
static void check_decode(const struct ar_field *f, const struct ArrowArray *a)
{
    const struct ArrowArray *d = a->dictionary;
    struct ArrowArray out;
    struct ar_field plain;
    bool leaf;

    for (int64_t i = 0; i < a->length; i++) {
        int64_t v = index_at(f, a, i);
        if (ar_array_is_valid(a, i) && (v < 0 || v >= d->length))
            __builtin_trap(); /* validation promised indices in range */
    }
    if (ar_dictionary_decode(&out, f, a) != INFINO_OK)
        __builtin_trap(); /* no allocation fails here */
    if (out.length != a->length || ar_field_copy(&plain, f->dict) != INFINO_OK)
        __builtin_trap();
    plain.nullable = true; /* null indices are null rows */
    if (ar_array_validate(&plain, &out) != INFINO_OK)
        __builtin_trap();
    touch(&plain, &out, false);
    /* values compared byte for byte: fixed widths of whole bytes, and
     * strings and binary */
    leaf = ar_type_bit_width(plain.type) >= 8 || plain.type == AR_UTF8 ||
           plain.type == AR_LARGE_UTF8 || plain.type == AR_BINARY ||
           plain.type == AR_LARGE_BINARY;
    for (int64_t i = 0; i < a->length; i++) {
        bool valid = ar_array_is_valid(a, i) &&
                     ar_array_is_valid(d, index_at(f, a, i));
        const uint8_t *p, *q;
        int64_t n, m;

        if (ar_array_is_valid(&out, i) != valid)
            __builtin_trap();
        if (!valid || !leaf)
            continue;
        row_bytes(&plain, &out, i, &p, &n);
        row_bytes(&plain, d, index_at(f, a, i), &q, &m);
        if (n != m || (n > 0 && memcmp(p, q, (size_t)n) != 0))
            __builtin_trap(); /* decoded a different value */
    }
    ar_field_free(&plain);
    out.release(&out);
}

static void touch(const struct ar_field *f, const struct ArrowArray *a,
                  bool top)
{
    int64_t off = a->offset, len = a->length, end = off + len;
    const uint8_t *bits = a->buffers[0];
    int64_t nulls = 0;
    bool wide = f->type == AR_LARGE_UTF8 || f->type == AR_LARGE_BINARY ||
                f->type == AR_LARGE_LIST;

    if (bits != NULL && len > 0) {
        touch_bytes(bits, off / 8, (end + 7) / 8);
        nulls = len - popcount_range(bits, off, end);
    }
    if (a->null_count != -1 && a->null_count != nulls)
        __builtin_trap(); /* validation promised a consistent null count */
    if (top && !f->nullable && nulls != 0)
        __builtin_trap(); /* ... and no nulls in a non-nullable column */
    if (f->dict != NULL) {
        int w = ar_type_bit_width(f->type);
        if (len > 0)
            touch_bytes(a->buffers[1], off * w / 8, (end * w + 7) / 8);
        touch(f->dict, a->dictionary, false);
        check_decode(f, a);
        return;
    }

    switch (f->type) {
    case AR_UTF8:
    case AR_LARGE_UTF8:
    case AR_BINARY:
    case AR_LARGE_BINARY:
        if (len == 0)
            break;
        for (int64_t i = off; i < end; i++) {
            int64_t s = offset_at(a->buffers[1], wide, i);
            int64_t e = offset_at(a->buffers[1], wide, i + 1);
            if (s < 0 || e < s)
                __builtin_trap();
            if (e > s)
                touch_bytes(a->buffers[2], s, e);
        }
        break;
    case AR_LIST:
    case AR_LARGE_LIST:
        for (int64_t i = off; i < end; i++) {
            int64_t s = offset_at(a->buffers[1], wide, i);
            int64_t e = offset_at(a->buffers[1], wide, i + 1);
            if (s < 0 || e < s || e > a->children[0]->length)
                __builtin_trap(); /* a slot reaching past the child */
        }
        touch(&f->children[0], a->children[0], false);
        break;
    case AR_FIXED_SIZE_LIST:
        if (end * f->list_size > a->children[0]->length)
            __builtin_trap();
        touch(&f->children[0], a->children[0], false);
        break;
    case AR_STRUCT:
        for (size_t i = 0; i < f->n_children; i++) {
            if (a->children[i]->length < end)
                __builtin_trap();
            touch(&f->children[i], a->children[i], false);
        }
        break;
    default: {
        int w = ar_type_bit_width(f->type);
        if (len > 0)
            touch_bytes(a->buffers[1], off * w / 8, (end * w + 7) / 8);
        break;
    }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rcp r = {data, data + size, false};
    struct hnode *root;
    struct ar_field f, back;
    struct ArrowSchema exported;

    r.chaos = next(&r) & 1;
    root = build(&r, 0, -1, 0);
    if (ar_field_import_flags(&f, &root->schema, AR_IMPORT_DICTIONARY) ==
        INFINO_OK) {
        /* an imported field exports and imports back unchanged */
        if (ar_field_export(&exported, &f) != INFINO_OK ||
            ar_field_import_flags(&back, &exported, AR_IMPORT_DICTIONARY) !=
                INFINO_OK ||
            !ar_field_equal(&f, &back))
            __builtin_trap();
        exported.release(&exported);
        ar_field_free(&back);
        if (ar_array_validate(&f, &root->array) == INFINO_OK)
            touch(&f, &root->array, true);
        ar_field_free(&f);
    }
    hnode_free(root);
    return 0;
}
