/*
 * parquet_encode_test.c - the writer's encoders against tiny reference
 * decoders written here from Encodings.md: RLE/bit-packed hybrid, level
 * shredding for every list shape (checked against a value-by-value
 * Dremel reference), PLAIN conversions and the BYTE_ARRAY dictionary.
 */
#include "harness.h"

#include "format/parquet/pq_encode.h"
#include "util/alloc.h"
#include "util/endian.h"

/* ---- reference RLE/bit-packed hybrid decoder (Encodings.md) ------------ */

/* Decodes runs from p[0..n) until `count` values are produced; returns the
 * bytes consumed, fails the test on malformed input. */
static size_t ref_rle_decode(uint32_t *out, size_t count, const uint8_t *p,
                             size_t n, int bw)
{
    size_t pos = 0, got = 0;

    while (got < count) {
        uint64_t h = 0;
        int shift = 0;
        assert_true(pos < n);
        for (;;) {
            uint8_t c = p[pos++];
            h |= (uint64_t)(c & 0x7f) << shift;
            shift += 7;
            if (!(c & 0x80))
                break;
            assert_true(pos < n);
        }
        if (h & 1) { /* bit-packed: (h >> 1) groups of 8 */
            size_t vals = (size_t)(h >> 1) * 8;
            uint64_t bitpos = 0;
            assert_true(pos + (h >> 1) * (uint64_t)bw <= n);
            for (size_t i = 0; i < vals; i++) {
                uint32_t v = 0;
                for (int b = 0; b < bw; b++, bitpos++)
                    v |= (uint32_t)((p[pos + bitpos / 8] >> (bitpos % 8)) & 1)
                         << b;
                if (got < count)
                    out[got++] = v;
                else
                    assert_int_equal(v, 0); /* padding is zeros */
            }
            pos += (size_t)(h >> 1) * (size_t)bw;
        } else { /* repeated */
            size_t reps = (size_t)(h >> 1);
            uint32_t v = 0;
            int nb = (bw + 7) / 8;
            assert_true(reps > 0);
            assert_true(pos + (size_t)nb <= n);
            for (int b = 0; b < nb; b++)
                v |= (uint32_t)p[pos + b] << (8 * b);
            pos += (size_t)nb;
            assert_true(got + reps <= count);
            for (size_t i = 0; i < reps; i++)
                out[got++] = v;
        }
    }
    return pos;
}

static void test_parquet_encode__rle_known_bytes(void **state)
{
    struct buf b = {0};
    struct pq_rle_enc e;
    (void)state;

    /* Encodings.md: eight 1-bit values 0..7 mod 2 bit-packed: header
     * (1 << 1) | 1 = 3, then 0b10101010 */
    pq_rle_enc_init(&e, &b, 1);
    for (uint32_t i = 0; i < 8; i++)
        assert_ok(pq_rle_enc_put(&e, i & 1));
    assert_ok(pq_rle_enc_finish(&e));
    assert_int_equal(b.len, 2);
    assert_int_equal(b.data[0], 3);
    assert_int_equal(b.data[1], 0xAA);

    /* 100 repeats of 5 at width 3: header 200 (varint C8 01), value 05 */
    buf_reset(&b);
    pq_rle_enc_init(&e, &b, 3);
    assert_ok(pq_rle_enc_put_run(&e, 5, 100));
    assert_ok(pq_rle_enc_finish(&e));
    assert_int_equal(b.len, 3);
    assert_int_equal(b.data[0], 0xC8);
    assert_int_equal(b.data[1], 0x01);
    assert_int_equal(b.data[2], 5);

    /* the example of Encodings.md's bit-packing section: 0..7 at width 3
     * packs into 10001000 11000110 11111010 */
    buf_reset(&b);
    pq_rle_enc_init(&e, &b, 3);
    for (uint32_t i = 0; i < 8; i++)
        assert_ok(pq_rle_enc_put(&e, i));
    assert_ok(pq_rle_enc_finish(&e));
    assert_int_equal(b.len, 4);
    assert_int_equal(b.data[1], 0x88);
    assert_int_equal(b.data[2], 0xC6);
    assert_int_equal(b.data[3], 0xFA);

    /* width 0 stores no value bytes */
    buf_reset(&b);
    pq_rle_enc_init(&e, &b, 0);
    assert_ok(pq_rle_enc_put_run(&e, 0, 1000));
    assert_ok(pq_rle_enc_finish(&e));
    assert_int_equal(b.len, 2); /* header 2000 = D0 0F */
    buf_free(&b);
}

static void test_parquet_encode__rle_random(void **state)
{
    size_t cap = 20000;
    uint32_t *in = mem_alloc(cap * 4), *out = mem_alloc(cap * 4);
    (void)state;

    for (int iter = 0; iter < 400; iter++) {
        int bw = (int)(test_rand() % 33);
        uint32_t mask = bw == 32 ? UINT32_MAX : (1u << bw) - 1;
        size_t n = 0, target = test_rand() % cap;
        struct buf b = {0};
        struct pq_rle_enc e;

        pq_rle_enc_init(&e, &b, bw);
        while (n < target) {
            uint32_t v = (uint32_t)test_rand() & mask;
            size_t len;
            switch (test_rand() % 4) {
            case 0: /* long run via put_run */
                len = 1 + test_rand() % 300;
                if (len > target - n)
                    len = target - n;
                assert_ok(pq_rle_enc_put_run(&e, v, len));
                for (size_t i = 0; i < len; i++)
                    in[n++] = v;
                break;
            case 1: /* short runs value by value */
                len = 1 + test_rand() % 12;
                for (size_t i = 0; i < len && n < target; i++) {
                    assert_ok(pq_rle_enc_put(&e, v));
                    in[n++] = v;
                }
                break;
            default: /* noise */
                len = 1 + test_rand() % 40;
                for (size_t i = 0; i < len && n < target; i++) {
                    uint32_t m2 = test_rand() % 2 ? mask : 3;
                    v = (uint32_t)test_rand() & mask & m2;
                    assert_ok(pq_rle_enc_put(&e, v));
                    in[n++] = v;
                }
                break;
            }
        }
        assert_ok(pq_rle_enc_finish(&e));
        assert_int_equal(ref_rle_decode(out, n, b.data, b.len, bw), b.len);
        if (n)
            assert_memory_equal(out, in, n * 4);
        buf_free(&b);
    }
    mem_free(in);
    mem_free(out);
}

static void test_parquet_encode__rle_long_runs_are_tiny(void **state)
{
    struct buf b = {0};
    struct pq_rle_enc e;
    uint32_t *out = mem_alloc(4000000 * 4);
    (void)state;

    /* 1M levels of a non-null fixed_size_list<_, 4> rep: 0 1 1 1 ... */
    pq_rle_enc_init(&e, &b, 1);
    for (int i = 0; i < 1000000; i++) {
        assert_ok(pq_rle_enc_put(&e, 0));
        assert_ok(pq_rle_enc_put_run(&e, 1, 3));
    }
    assert_ok(pq_rle_enc_finish(&e));
    /* runs of 3 stay bit-packed: one bit per level plus ~1% headers */
    assert_true(b.len <= 4000000 / 8 + 4000000 / 8 / 50);
    assert_int_equal(ref_rle_decode(out, 4000000, b.data, b.len, 1), b.len);
    for (int i = 0; i < 4000000; i++)
        assert_int_equal(out[i], i % 4 != 0);
    buf_reset(&b);
    /* 384-wide vectors: a group of 8 literals then one repeated run, about
     * 5 bytes a row instead of 48 */
    pq_rle_enc_init(&e, &b, 1);
    for (int i = 0; i < 10000; i++) {
        assert_ok(pq_rle_enc_put(&e, 0));
        assert_ok(pq_rle_enc_put_run(&e, 1, 383));
    }
    assert_ok(pq_rle_enc_finish(&e));
    assert_true(b.len <= 10000 * 6);
    assert_int_equal(ref_rle_decode(out, 3840000, b.data, b.len, 1), b.len);
    for (int i = 0; i < 3840000; i++)
        assert_int_equal(out[i], i % 384 != 0);
    buf_reset(&b);
    /* one run of 3 billion: split into several headers, still tiny */
    pq_rle_enc_init(&e, &b, 2);
    assert_ok(pq_rle_enc_put_run(&e, 3, 3000000000ull));
    assert_ok(pq_rle_enc_finish(&e));
    assert_true(b.len < 30);
    buf_free(&b);
    mem_free(out);
}

/* ---- shredding vs a Dremel reference ---------------------------------- */

/* A hand-built array: buffers live in the test's arrays. */
struct arr {
    struct ArrowArray a;
    const void *bufs[3];
    struct ArrowArray *kids[1];
};

static int64_t count_nulls(const uint8_t *bits, int64_t off, int64_t n)
{
    int64_t c = 0;
    for (int64_t i = 0; i < n; i++)
        c += !((bits[(off + i) >> 3] >> ((off + i) & 7)) & 1);
    return c;
}

static void set_bit(uint8_t *bits, int64_t i, bool v)
{
    if (v)
        bits[i >> 3] |= (uint8_t)(1u << (i & 7));
    else
        bits[i >> 3] &= (uint8_t)~(1u << (i & 7));
}

/* Expected levels and leaf indexes, value by value. */
static void ref_shred(const struct pq_shape *sh, const struct ArrowArray *top,
                      int64_t row0, int64_t n, uint32_t *def, uint32_t *rep,
                      size_t *n_levels, int64_t *vals, size_t *n_vals)
{
    const struct ArrowArray *leaf = pq_shape_leaf(sh, top);
    int ln = sh->nullable;

    *n_levels = 0;
    *n_vals = 0;
    for (int64_t i = row0; i < row0 + n; i++) {
        bool slot_valid = !sh->nullable || ar_array_is_valid(top, i);
        int64_t a, b;
        if (sh->kind == PQ_SHAPE_FLAT) {
            def[*n_levels] = slot_valid ? (uint32_t)sh->max_def : 0;
            rep[(*n_levels)++] = 0;
            if (slot_valid)
                vals[(*n_vals)++] = i;
            continue;
        }
        if (!slot_valid) {
            def[*n_levels] = 0;
            rep[(*n_levels)++] = 0;
            continue;
        }
        int64_t j = top->offset + i;
        if (sh->kind == PQ_SHAPE_LIST) {
            a = ((const int32_t *)top->buffers[1])[j];
            b = ((const int32_t *)top->buffers[1])[j + 1];
        } else if (sh->kind == PQ_SHAPE_LARGE_LIST) {
            a = ((const int64_t *)top->buffers[1])[j];
            b = ((const int64_t *)top->buffers[1])[j + 1];
        } else {
            a = j * sh->list_size;
            b = a + sh->list_size;
        }
        if (a == b) {
            def[*n_levels] = (uint32_t)ln;
            rep[(*n_levels)++] = 0;
            continue;
        }
        for (int64_t k = a; k < b; k++) {
            bool iv = !sh->item_nullable || ar_array_is_valid(leaf, k);
            def[*n_levels] = iv ? (uint32_t)sh->max_def
                                : (uint32_t)sh->max_def - 1;
            rep[(*n_levels)++] = k == a ? 0 : 1;
            if (iv)
                vals[(*n_vals)++] = k;
        }
    }
}

static void check_shred(const struct pq_shape *sh, const struct ArrowArray *top,
                        int64_t row0, int64_t n)
{
    size_t cap = 100000;
    uint32_t *edef = mem_alloc(cap * 4), *erep = mem_alloc(cap * 4);
    uint32_t *gdef = mem_alloc(cap * 4), *grep = mem_alloc(cap * 4);
    int64_t *evals = mem_alloc(cap * 8);
    size_t n_levels, n_vals, got = 0;
    struct buf db = {0}, rb = {0};
    struct pq_rle_enc de, re;
    struct pq_shred s = {0};
    const struct ArrowArray *leaf = pq_shape_leaf(sh, top);
    int dbw = pq_bit_width((uint64_t)sh->max_def);
    int rbw = pq_bit_width((uint64_t)sh->max_rep);

    ref_shred(sh, top, row0, n, edef, erep, &n_levels, evals, &n_vals);
    pq_rle_enc_init(&de, &db, dbw);
    pq_rle_enc_init(&re, &rb, rbw);
    /* shred in two calls to exercise appending */
    assert_ok(pq_shred_rows(&s, sh->max_def ? &de : NULL,
                            sh->max_rep ? &re : NULL, sh, top, row0, n / 2));
    assert_ok(pq_shred_rows(&s, sh->max_def ? &de : NULL,
                            sh->max_rep ? &re : NULL, sh, top, row0 + n / 2,
                            n - n / 2));
    assert_ok(pq_rle_enc_finish(&de));
    assert_ok(pq_rle_enc_finish(&re));
    assert_int_equal(s.n_levels, n_levels);
    assert_int_equal(s.n_present, n_vals);
    if (sh->max_def) {
        ref_rle_decode(gdef, n_levels, db.data, db.len, dbw);
        assert_memory_equal(gdef, edef, n_levels * 4);
    } else {
        assert_int_equal(db.len, 0);
    }
    if (sh->max_rep) {
        ref_rle_decode(grep, n_levels, rb.data, rb.len, rbw);
        assert_memory_equal(grep, erep, n_levels * 4);
    }
    /* ranges, minus invalid leaf entries, are exactly the values */
    for (size_t r = 0; r < s.n_ranges; r++) {
        if (r > 0) /* adjacent ranges are merged */
            assert_true(s.ranges[r].begin != s.ranges[r - 1].end);
        for (int64_t k = s.ranges[r].begin; k < s.ranges[r].end; k++) {
            bool skip = sh->kind == PQ_SHAPE_FLAT
                            ? (sh->nullable && !ar_array_is_valid(leaf, k))
                            : (sh->item_nullable &&
                               !ar_array_is_valid(leaf, k));
            if (skip)
                continue;
            assert_true(got < n_vals);
            assert_int_equal(k, evals[got]);
            got++;
        }
    }
    assert_int_equal(got, n_vals);
    buf_free(&db);
    buf_free(&rb);
    pq_shred_free(&s);
    mem_free(edef);
    mem_free(erep);
    mem_free(gdef);
    mem_free(grep);
    mem_free(evals);
}

static void test_parquet_encode__shred_every_list_shape(void **state)
{
    (void)state;
    for (int iter = 0; iter < 300; iter++) {
        int kind = (int)(test_rand() % 4);
        int64_t n_slots = (int64_t)(test_rand() % 200);
        int64_t top_off = (int64_t)(test_rand() % 9);
        int64_t kid_off = (int64_t)(test_rand() % 9);
        int null_mode = (int)(test_rand() % 3); /* none, some, all */
        int item_null_mode = (int)(test_rand() % 3);
        struct pq_shape sh = {0};
        int32_t size = (int32_t)(test_rand() % 5); /* 0 allowed */
        int64_t total = n_slots + top_off;
        uint8_t top_bits[64] = {0}, kid_bits[1024] = {0};
        int32_t offs32[256];
        int64_t offs64[256];
        static float child_vals[8192];
        int64_t n_items;
        struct arr top = {0}, kid = {0};

        sh.kind = (enum pq_shape_kind)kind;
        sh.nullable = test_rand() % 2;
        sh.item_nullable = kind != PQ_SHAPE_FLAT && test_rand() % 2;
        sh.list_size = size;
        sh.max_rep = kind == PQ_SHAPE_FLAT ? 0 : 1;
        sh.max_def = kind == PQ_SHAPE_FLAT
                         ? sh.nullable
                         : sh.nullable + 1 + sh.item_nullable;

        /* slot validity */
        for (int64_t i = 0; i < total; i++)
            set_bit(top_bits, i,
                    null_mode == 0 ? true
                    : null_mode == 2 ? false
                                     : test_rand() % 3 != 0);
        /* offsets (null slots may still span items, as Arrow allows) */
        n_items = 0;
        for (int64_t i = 0; i <= total; i++) {
            offs32[i] = (int32_t)n_items;
            offs64[i] = n_items;
            if (i < total)
                n_items +=
                    (int64_t)(test_rand() % 4 == 0 ? 0 : test_rand() % 6);
        }
        if (kind == PQ_SHAPE_FIXED_LIST)
            n_items = total * size;
        if (kind == PQ_SHAPE_FLAT)
            n_items = 0;
        for (int64_t i = 0; i < n_items + kid_off; i++)
            set_bit(kid_bits, i,
                    item_null_mode == 0 ? true
                    : item_null_mode == 2 ? false
                                          : test_rand() % 3 != 0);

        kid.a.length = n_items;
        kid.a.offset = kid_off;
        kid.a.null_count =
            sh.item_nullable ? count_nulls(kid_bits, kid_off, n_items) : 0;
        kid.a.n_buffers = 2;
        kid.bufs[0] = sh.item_nullable ? kid_bits : NULL;
        kid.bufs[1] = child_vals;
        kid.a.buffers = kid.bufs;

        top.a.length = n_slots;
        top.a.offset = top_off;
        top.a.null_count =
            sh.nullable ? count_nulls(top_bits, top_off, n_slots) : 0;
        top.a.buffers = top.bufs;
        top.bufs[0] = sh.nullable ? top_bits : NULL;
        if (kind == PQ_SHAPE_FLAT) {
            top.a.n_buffers = 2;
            top.bufs[1] = child_vals;
        } else {
            top.a.n_buffers = kind == PQ_SHAPE_FIXED_LIST ? 1 : 2;
            top.bufs[1] = kind == PQ_SHAPE_LIST ? (const void *)offs32
                                                : (const void *)offs64;
            top.a.n_children = 1;
            top.kids[0] = &kid.a;
            top.a.children = top.kids;
        }
        if (n_slots == 0) {
            check_shred(&sh, &top.a, 0, 0);
            continue;
        }
        {
            int64_t r0 = (int64_t)(test_rand() % (uint64_t)n_slots);
            check_shred(&sh, &top.a, r0, n_slots - r0);
            check_shred(&sh, &top.a, 0, n_slots);
        }
    }
}

/* ---- PLAIN ------------------------------------------------------------- */

static void test_parquet_encode__plain_values(void **state)
{
    struct buf out = {0};
    struct pq_value_enc enc = {0};
    struct pq_range all = {0, 6};
    uint8_t valid = 0x2D; /* 101101: entries 1 and 4 null */
    struct arr a = {0};
    (void)state;

    a.a.length = 6;
    a.a.null_count = 2;
    a.a.n_buffers = 2;
    a.a.buffers = a.bufs;
    a.bufs[0] = &valid;

    {   /* int8 sign-extends to INT32, nulls skipped */
        static const int8_t v[6] = {-1, 99, 127, -128, 99, 5};
        a.bufs[1] = v;
        enc.kind = PQ_VK_I8;
        assert_ok(pq_plain_append(&out, &enc, &a.a, &all, 1));
        assert_int_equal(out.len, 16);
        assert_int_equal((int32_t)load_u32le(out.data), -1);
        assert_int_equal((int32_t)load_u32le(out.data + 4), 127);
        assert_int_equal((int32_t)load_u32le(out.data + 8), -128);
        assert_int_equal((int32_t)load_u32le(out.data + 12), 5);
    }
    {   /* uint16 zero-extends */
        static const uint16_t v[6] = {65535, 0, 1, 2, 0, 40000};
        buf_reset(&out);
        a.bufs[1] = v;
        enc.kind = PQ_VK_U16;
        assert_ok(pq_plain_append(&out, &enc, &a.a, &all, 1));
        assert_int_equal(load_u32le(out.data), 65535);
        assert_int_equal(load_u32le(out.data + 12), 40000);
    }
    {   /* timestamp[s] -> ms, with overflow refused */
        static const int64_t v[6] = {1, 0, -2, 3, 0, 4};
        static const int64_t bad[6] = {INT64_MAX / 999, 0, 0, 0, 0, 0};
        buf_reset(&out);
        a.bufs[1] = v;
        enc.kind = PQ_VK_MUL1000;
        assert_ok(pq_plain_append(&out, &enc, &a.a, &all, 1));
        assert_int_equal((int64_t)load_u64le(out.data + 8), -2000);
        a.bufs[1] = bad;
        assert_int_equal(pq_plain_append(&out, &enc, &a.a, &all, 1),
                         INFINO_ERR_INVALID);
    }
    {   /* booleans bit-pack across calls and flush the partial byte */
        static const uint8_t v = 0x15; /* 010101 */
        buf_reset(&out);
        a.bufs[1] = &v;
        enc.kind = PQ_VK_BOOL;
        for (int k = 0; k < 3; k++)
            assert_ok(pq_plain_append(&out, &enc, &a.a, &all, 1));
        assert_ok(pq_value_flush(&out, &enc));
        /* valid entries 0,2,3,5 -> 1,1,0,0, three times: 12 bits */
        assert_int_equal(out.len, 2);
        assert_int_equal(out.data[0], 0x33);
        assert_int_equal(out.data[1], 0x03);
    }
    {   /* strings: length-prefixed, with an offset into the array */
        static const int32_t o[7] = {0, 1, 3, 3, 6, 6, 8};
        static const char d[] = "abbcccdd";
        struct arr s = {0};
        struct pq_range r = {1, 5};
        uint8_t sv = 0x1F; /* entry 5 null */
        s.a.length = 6;
        s.a.null_count = 1;
        s.a.n_buffers = 3;
        s.a.buffers = s.bufs;
        s.bufs[0] = &sv;
        s.bufs[1] = o;
        s.bufs[2] = d;
        buf_reset(&out);
        enc.kind = PQ_VK_BYTES32;
        assert_ok(pq_plain_append(&out, &enc, &s.a, &r, 1));
        /* entries 1..4: "bb", "", "ccc", (4 is "" and valid) */
        assert_int_equal(out.len, 4 * 4 + 5);
        assert_memory_equal(out.data, "\2\0\0\0bb\0\0\0\0\3\0\0\0ccc\0\0\0\0",
                            21);
    }
    {   /* decimal128 -> 5-byte big-endian two's complement */
        uint8_t d[16], be[5];
        memset(d, 0xFF, 16); /* -1 */
        d[0] = 0xFE;         /* -2 */
        pq_decimal_to_be(be, d, 5);
        assert_memory_equal(be, "\xFF\xFF\xFF\xFF\xFE", 5);
    }
    buf_free(&out);
}

/* ---- dictionary ------------------------------------------------------- */

static void test_parquet_encode__dictionary(void **state)
{
    struct pq_dict d = {0};
    struct buf idx = {0}, page = {0};
    char key[32];
    uint32_t id, *dec;
    size_t n = 20000;
    (void)state;

    /* distinct values get dense ids in insertion order; repeats reuse */
    for (size_t i = 0; i < n; i++) {
        int len = snprintf(key, sizeof key, "k%zu", (i * 7919) % 5000);
        assert_ok(pq_dict_insert(&d, (const uint8_t *)key, (size_t)len, &id));
        assert_ok(buf_append(&idx, &id, 4));
        if (i < 5000)
            assert_int_equal(id, i);
    }
    assert_int_equal(d.n_entries, 5000);
    /* the page body is PLAIN: u32 length then bytes, in id order */
    {
        size_t pos = 0;
        for (size_t e = 0; e < d.n_entries; e++) {
            uint32_t len = load_u32le(d.plain.data + pos);
            int want = snprintf(key, sizeof key, "k%zu", (e * 7919) % 5000);
            assert_int_equal(len, (uint32_t)want);
            assert_memory_equal(d.plain.data + pos + 4, key, len);
            pos += 4 + len;
        }
        assert_int_equal(pos, d.plain.len);
    }
    /* the empty value is a value */
    assert_ok(pq_dict_insert(&d, (const uint8_t *)"", 0, &id));
    assert_int_equal(id, 5000);
    assert_ok(pq_dict_insert(&d, (const uint8_t *)"", 0, &id));
    assert_int_equal(id, 5000);

    /* indexes: bit-width byte then the hybrid */
    assert_ok(pq_dict_encode_indexes(&page, (const uint32_t *)idx.data, n,
                                     d.n_entries));
    assert_int_equal(page.data[0], 13); /* 5001 entries: 13 bits */
    dec = mem_alloc(n * 4);
    ref_rle_decode(dec, n, page.data + 1, page.len - 1, 13);
    assert_memory_equal(dec, idx.data, n * 4);
    mem_free(dec);

    pq_dict_reset(&d);
    assert_int_equal(d.n_entries, 0);
    assert_ok(pq_dict_insert(&d, (const uint8_t *)"k1", 2, &id));
    assert_int_equal(id, 0);
    pq_dict_free(&d);
    buf_free(&idx);
    buf_free(&page);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parquet_encode__rle_known_bytes),
        cmocka_unit_test(test_parquet_encode__rle_random),
        cmocka_unit_test(test_parquet_encode__rle_long_runs_are_tiny),
        cmocka_unit_test(test_parquet_encode__shred_every_list_shape),
        cmocka_unit_test(test_parquet_encode__plain_values),
        cmocka_unit_test(test_parquet_encode__dictionary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
