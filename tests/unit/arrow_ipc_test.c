/*
 * arrow_ipc_test.c - the IPC Schema message: pyarrow's bytes decoded to
 * the expected schema, our encoding round-tripped, and a catalogue of
 * malformed messages (built with an independent test-only FlatBuffers
 * writer) rejected as CORRUPT or UNSUPPORTED without reading out of bounds.
 */
#include "harness.h"

#include "format/arrow/arrow.h"
#include "format/arrow/arrow_int.h"
#include "util/alloc.h"

#include <stdarg.h>

/* pyarrow 26.0.1: pa.schema([...]).serialize() for the schema checked in
 * test_arrow_ipc__decodes_pyarrow_bytes (tests/py/test_arrow_ipc.py builds
 * the same schema as GOLDEN_SCHEMA). */
static const uint8_t golden[] =
    "\xff\xff\xff\xff\x48\x05\x00\x00\x10\x00\x00\x00\x00\x00\x0a\x00"
    "\x0e\x00\x06\x00\x05\x00\x08\x00\x0a\x00\x00\x00\x00\x01\x04\x00"
    "\x10\x00\x00\x00\x00\x00\x0a\x00\x0c\x00\x00\x00\x04\x00\x08\x00"
    "\x0a\x00\x00\x00\x58\x00\x00\x00\x04\x00\x00\x00\x02\x00\x00\x00"
    "\x28\x00\x00\x00\x04\x00\x00\x00\x64\xfd\xff\xff\x10\x00\x00\x00"
    "\x04\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x05\x00\x00\x00"
    "\x65\x6d\x70\x74\x79\x00\x00\x00\x84\xfd\xff\xff\x14\x00\x00\x00"
    "\x04\x00\x00\x00\x07\x00\x00\x00\x70\x79\x61\x72\x72\x6f\x77\x00"
    "\x06\x00\x00\x00\x6f\x72\x69\x67\x69\x6e\x00\x00\x12\x00\x00\x00"
    "\x8c\x04\x00\x00\x48\x04\x00\x00\x08\x04\x00\x00\xd4\x03\x00\x00"
    "\xa8\x03\x00\x00\x7c\x03\x00\x00\x54\x03\x00\x00\x2c\x03\x00\x00"
    "\x04\x03\x00\x00\xd8\x02\x00\x00\xac\x02\x00\x00\x80\x02\x00\x00"
    "\x38\x02\x00\x00\x00\x02\x00\x00\xa4\x01\x00\x00\x50\x01\x00\x00"
    "\xcc\x00\x00\x00\x04\x00\x00\x00\xcc\xfb\xff\xff\x00\x00\x01\x0d"
    "\x18\x00\x00\x00\x1c\x00\x00\x00\x04\x00\x00\x00\x02\x00\x00\x00"
    "\x64\x00\x00\x00\x10\x00\x00\x00\x02\x00\x00\x00\x73\x74\x00\x00"
    "\xc0\xfc\xff\xff\xf8\xfb\xff\xff\x00\x00\x01\x0c\x14\x00\x00\x00"
    "\x18\x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00\x10\x00\x00\x00"
    "\x01\x00\x00\x00\x62\x00\x00\x00\xe8\xfc\xff\xff\x20\xfc\xff\xff"
    "\x00\x00\x01\x05\x10\x00\x00\x00\x18\x00\x00\x00\x04\x00\x00\x00"
    "\x00\x00\x00\x00\x04\x00\x00\x00\x69\x74\x65\x6d\x00\x00\x00\x00"
    "\x10\xfd\xff\xff\x88\xfc\xff\xff\x00\x00\x00\x02\x10\x00\x00\x00"
    "\x1c\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x01\x00\x00\x00"
    "\x61\x00\x00\x00\x08\x00\x0e\x00\x08\x00\x07\x00\x08\x00\x00\x00"
    "\x00\x00\x00\x01\x20\x00\x00\x00\x00\x00\x12\x00\x18\x00\x08\x00"
    "\x06\x00\x07\x00\x0c\x00\x00\x00\x10\x00\x14\x00\x12\x00\x00\x00"
    "\x00\x00\x01\x10\x18\x00\x00\x00\x40\x00\x00\x00\x08\x00\x00\x00"
    "\x14\x00\x00\x00\x01\x00\x00\x00\x38\x00\x00\x00\x03\x00\x00\x00"
    "\x65\x6d\x62\x00\x01\x00\x00\x00\x04\x00\x00\x00\xe8\xfe\xff\xff"
    "\x10\x00\x00\x00\x04\x00\x00\x00\x01\x00\x00\x00\x34\x00\x00\x00"
    "\x03\x00\x00\x00\x64\x69\x6d\x00\xea\xfc\xff\xff\x04\x00\x00\x00"
    "\x24\xfd\xff\xff\x00\x00\x00\x03\x10\x00\x00\x00\x18\x00\x00\x00"
    "\x04\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00\x69\x74\x65\x6d"
    "\x00\x00\x00\x00\x82\xfd\xff\xff\x00\x00\x01\x00\x10\xfd\xff\xff"
    "\x00\x00\x01\x15\x14\x00\x00\x00\x18\x00\x00\x00\x04\x00\x00\x00"
    "\x01\x00\x00\x00\x10\x00\x00\x00\x02\x00\x00\x00\x6c\x6c\x00\x00"
    "\x00\xfe\xff\xff\x38\xfd\xff\xff\x00\x00\x01\x05\x10\x00\x00\x00"
    "\x18\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00"
    "\x69\x74\x65\x6d\x00\x00\x00\x00\x28\xfe\xff\xff\x60\xfd\xff\xff"
    "\x00\x00\x01\x0c\x14\x00\x00\x00\x18\x00\x00\x00\x04\x00\x00\x00"
    "\x01\x00\x00\x00\x10\x00\x00\x00\x01\x00\x00\x00\x6c\x00\x00\x00"
    "\x50\xfe\xff\xff\x88\xfd\xff\xff\x00\x00\x01\x02\x10\x00\x00\x00"
    "\x18\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x04\x00\x00\x00"
    "\x69\x74\x65\x6d\x00\x00\x00\x00\x7c\xfd\xff\xff\x00\x00\x00\x01"
    "\x20\x00\x00\x00\xb8\xfd\xff\xff\x00\x00\x01\x07\x10\x00\x00\x00"
    "\x1c\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00"
    "\x64\x65\x63\x00\x08\x00\x0c\x00\x04\x00\x08\x00\x08\x00\x00\x00"
    "\x26\x00\x00\x00\x0a\x00\x00\x00\xec\xfd\xff\xff\x00\x00\x01\x0a"
    "\x10\x00\x00\x00\x1c\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00"
    "\x02\x00\x00\x00\x74\x7a\x00\x00\x08\x00\x0c\x00\x06\x00\x08\x00"
    "\x08\x00\x00\x00\x00\x00\x03\x00\x04\x00\x00\x00\x0a\x00\x00\x00"
    "\x41\x73\x69\x61\x2f\x54\x6f\x6b\x79\x6f\x00\x00\x30\xfe\xff\xff"
    "\x00\x00\x01\x0a\x10\x00\x00\x00\x14\x00\x00\x00\x04\x00\x00\x00"
    "\x00\x00\x00\x00\x02\x00\x00\x00\x74\x73\x00\x00\xca\xfe\xff\xff"
    "\x00\x00\x01\x00\x58\xfe\xff\xff\x00\x00\x01\x08\x10\x00\x00\x00"
    "\x14\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00"
    "\x64\x61\x79\x00\xf2\xfe\xff\xff\x00\x00\x00\x00\x80\xfe\xff\xff"
    "\x00\x00\x01\x13\x10\x00\x00\x00\x18\x00\x00\x00\x04\x00\x00\x00"
    "\x00\x00\x00\x00\x04\x00\x00\x00\x6c\x62\x69\x6e\x00\x00\x00\x00"
    "\x70\xff\xff\xff\xa8\xfe\xff\xff\x00\x00\x01\x04\x10\x00\x00\x00"
    "\x14\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00"
    "\x62\x69\x6e\x00\x94\xff\xff\xff\xcc\xfe\xff\xff\x00\x00\x01\x14"
    "\x10\x00\x00\x00\x14\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00"
    "\x02\x00\x00\x00\x6c\x73\x00\x00\xb8\xff\xff\xff\xf0\xfe\xff\xff"
    "\x00\x00\x01\x05\x10\x00\x00\x00\x14\x00\x00\x00\x04\x00\x00\x00"
    "\x00\x00\x00\x00\x01\x00\x00\x00\x73\x00\x00\x00\xdc\xff\xff\xff"
    "\x14\xff\xff\xff\x00\x00\x01\x06\x10\x00\x00\x00\x18\x00\x00\x00"
    "\x04\x00\x00\x00\x00\x00\x00\x00\x02\x00\x00\x00\x6f\x6b\x00\x00"
    "\x04\x00\x04\x00\x04\x00\x00\x00\x3c\xff\xff\xff\x00\x00\x01\x03"
    "\x10\x00\x00\x00\x14\x00\x00\x00\x04\x00\x00\x00\x00\x00\x00\x00"
    "\x03\x00\x00\x00\x66\x36\x34\x00\xd6\xff\xff\xff\x00\x00\x02\x00"
    "\x64\xff\xff\xff\x00\x00\x01\x03\x10\x00\x00\x00\x1c\x00\x00\x00"
    "\x04\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x66\x33\x32\x00"
    "\x00\x00\x06\x00\x08\x00\x06\x00\x06\x00\x00\x00\x00\x00\x01\x00"
    "\x94\xff\xff\xff\x00\x00\x01\x02\x10\x00\x00\x00\x14\x00\x00\x00"
    "\x04\x00\x00\x00\x00\x00\x00\x00\x03\x00\x00\x00\x69\x36\x34\x00"
    "\x84\xff\xff\xff\x00\x00\x00\x01\x40\x00\x00\x00\x10\x00\x14\x00"
    "\x08\x00\x00\x00\x07\x00\x0c\x00\x00\x00\x10\x00\x10\x00\x00\x00"
    "\x00\x00\x00\x02\x10\x00\x00\x00\x1c\x00\x00\x00\x04\x00\x00\x00"
    "\x00\x00\x00\x00\x03\x00\x00\x00\x75\x31\x36\x00\x00\x00\x06\x00"
    "\x08\x00\x04\x00\x06\x00\x00\x00\x10\x00\x00\x00\x10\x00\x14\x00"
    "\x08\x00\x06\x00\x07\x00\x0c\x00\x00\x00\x10\x00\x10\x00\x00\x00"
    "\x00\x00\x01\x02\x10\x00\x00\x00\x1c\x00\x00\x00\x04\x00\x00\x00"
    "\x00\x00\x00\x00\x02\x00\x00\x00\x69\x38\x00\x00\x08\x00\x0c\x00"
    "\x08\x00\x07\x00\x08\x00\x00\x00\x00\x00\x00\x01\x08\x00\x00\x00";
#define GOLDEN_LEN (sizeof golden - 1)

/* ---- helpers ---------------------------------------------------------- */

static struct ar_field leaf(const char *name, enum ar_type t, bool nullable)
{
    struct ar_field f;

    memset(&f, 0, sizeof f);
    f.name = mem_strdup(name);
    f.type = t;
    f.nullable = nullable;
    return f;
}

static struct ar_field nest(const char *name, enum ar_type t, bool nullable,
                            int32_t list_size, int n, ...)
{
    struct ar_field f = leaf(name, t, nullable);
    va_list ap;

    f.list_size = list_size;
    f.n_children = (size_t)n;
    f.children = mem_calloc((size_t)n, sizeof *f.children);
    va_start(ap, n);
    for (int i = 0; i < n; i++)
        f.children[i] = va_arg(ap, struct ar_field);
    va_end(ap);
    return f;
}

static void add_meta(struct ar_field *f, const char *k, const char *v)
{
    struct ar_schema tmp = {0, NULL, f->n_meta, f->meta};
    assert_ok(ar_schema_set_meta(&tmp, k, v, strlen(v)));
    f->meta = tmp.meta;
    f->n_meta = tmp.n_meta;
}

static void describe_is(const struct ar_field *f, const char *want)
{
    struct buf d = {0};
    assert_ok(ar_type_describe(&d, f));
    assert_string_equal((char *)d.data, want);
    buf_free(&d);
}

/* Field and schema metadata, compared recursively. */
static bool meta_equal(const struct ar_field *a, const struct ar_field *b)
{
    if (!ar_kv_equal(a->meta, a->n_meta, b->meta, b->n_meta))
        return false;
    for (size_t i = 0; i < a->n_children; i++) {
        if (!meta_equal(&a->children[i], &b->children[i]))
            return false;
    }
    return true;
}

static void assert_identical(const struct ar_schema *a,
                             const struct ar_schema *b)
{
    assert_true(ar_schema_equal(a, b));
    assert_true(ar_kv_equal(a->meta, a->n_meta, b->meta, b->n_meta));
    for (size_t i = 0; i < a->n_fields; i++)
        assert_true(meta_equal(&a->fields[i], &b->fields[i]));
}

/* ---- pyarrow's bytes -------------------------------------------------- */

static void test_arrow_ipc__decodes_pyarrow_bytes(void **state)
{
    static const char *const want[][2] = {
        {"i8", "int8"},
        {"u16", "uint16"},
        {"i64", "int64"},
        {"f32", "float32"},
        {"f64", "float64"},
        {"ok", "bool"},
        {"s", "utf8"},
        {"ls", "large_utf8"},
        {"bin", "binary"},
        {"lbin", "large_binary"},
        {"day", "date32"},
        {"ts", "timestamp[ms]"},
        {"tz", "timestamp[ns, tz=Asia/Tokyo]"},
        {"dec", "decimal128(38, 10)"},
        {"l", "list<int32>"},
        {"ll", "large_list<utf8>"},
        {"emb", "fixed_size_list<float32, 4>"},
        {"st", "struct<a: int32, b: list<utf8>>"},
    };
    struct ar_schema s, back;
    struct buf enc = {0};
    const struct ar_kv *kv;
    (void)state;

    assert_ok(ar_schema_from_ipc(&s, golden, GOLDEN_LEN));
    assert_int_equal(s.n_fields, sizeof want / sizeof *want);
    for (size_t i = 0; i < s.n_fields; i++) {
        assert_string_equal(s.fields[i].name, want[i][0]);
        describe_is(&s.fields[i], want[i][1]);
        assert_int_equal(s.fields[i].nullable, i != 1);
    }
    assert_string_equal(s.fields[14].children[0].name, "item");
    assert_false(s.fields[16].children[0].nullable);
    assert_false(s.fields[17].children[0].nullable);
    assert_true(s.fields[17].children[1].nullable);
    assert_int_equal(s.fields[13].precision, 38);
    assert_int_equal(s.fields[13].scale, 10);
    assert_int_equal(s.fields[16].n_meta, 1);
    assert_string_equal(s.fields[16].meta[0].key, "dim");
    assert_string_equal(s.fields[16].meta[0].value, "4");
    kv = ar_schema_get_meta(&s, "origin");
    assert_non_null(kv);
    assert_string_equal(kv->value, "pyarrow");
    kv = ar_schema_get_meta(&s, "empty");
    assert_non_null(kv);
    assert_int_equal(kv->value_len, 0);

    /* our encoding decodes to the same, also without the continuation
     * marker (the pre-0.15 framing) */
    assert_ok(ar_schema_to_ipc(&enc, &s));
    assert_int_equal(enc.len % 8, 0);
    assert_ok(ar_schema_from_ipc(&back, enc.data, enc.len));
    assert_identical(&s, &back);
    ar_schema_free(&back);
    assert_ok(ar_schema_from_ipc(&back, enc.data + 4, enc.len - 4));
    assert_identical(&s, &back);
    ar_schema_free(&back);
    /* trailing bytes after the message (e.g. an end-of-stream marker) */
    assert_ok(buf_append(&enc, "\xff\xff\xff\xff\0\0\0\0", 8));
    assert_ok(ar_schema_from_ipc(&back, enc.data, enc.len));
    assert_identical(&s, &back);
    ar_schema_free(&back);
    ar_schema_free(&s);
    buf_free(&enc);
}

/* ---- our round trip --------------------------------------------------- */

static void build_catalogue(struct ar_schema *s)
{
    static const enum ar_type leaves[] = {
        AR_BOOL,   AR_INT8,       AR_INT16,  AR_INT32,        AR_INT64,
        AR_UINT8,  AR_UINT16,     AR_UINT32, AR_UINT64,       AR_FLOAT32,
        AR_FLOAT64, AR_UTF8,      AR_LARGE_UTF8, AR_BINARY,   AR_LARGE_BINARY,
        AR_DATE32,
    };
    size_t n = sizeof leaves / sizeof *leaves, i = 0;
    char name[16];

    memset(s, 0, sizeof *s);
    s->n_fields = n + 9;
    s->fields = mem_calloc(s->n_fields, sizeof *s->fields);
    for (; i < n; i++) {
        snprintf(name, sizeof name, "c%zu", i);
        s->fields[i] = leaf(name, leaves[i], i % 2 == 0);
    }
    for (int u = 0; u < 4; u++, i++) {
        s->fields[i] = leaf("ts", AR_TIMESTAMP, true);
        s->fields[i].unit = (enum ar_time_unit)u;
        if (u % 2)
            s->fields[i].tz = mem_strdup(u == 1 ? "UTC" : "-03:30");
    }
    s->fields[i] = leaf("dec", AR_DECIMAL128, false);
    s->fields[i].precision = 7;
    s->fields[i++].scale = -3;
    s->fields[i++] = nest("emb", AR_FIXED_SIZE_LIST, true, 384, 1,
                          leaf("item", AR_FLOAT32, false));
    s->fields[i++] = nest("l", AR_LIST, true, 0, 1,
                          nest("inner", AR_LARGE_LIST, false, 0, 1,
                               leaf("", AR_UTF8, true)));
    s->fields[i] = nest("st", AR_STRUCT, true, 0, 3, leaf("a", AR_INT8, true),
                        nest("e", AR_STRUCT, false, 0, 0),
                        nest("f", AR_FIXED_SIZE_LIST, true, 0, 1,
                             leaf("item", AR_BOOL, true)));
    add_meta(&s->fields[i], "k", "v");
    add_meta(&s->fields[i].children[0], "PARQUET:field_id", "7");
    i++;
    s->fields[i++] = leaf("", AR_INT32, true); /* unnamed */
    assert_int_equal(i, s->n_fields);
    assert_ok(ar_schema_set_meta(s, "b", "bin\0ary", 7));
    assert_ok(ar_schema_set_meta(s, "pandas", "{\"columns\": []}", 15));
}

static void test_arrow_ipc__round_trip_every_type(void **state)
{
    struct ar_schema s, back, empty = {0};
    struct buf a = {0}, b = {0};
    (void)state;

    build_catalogue(&s);
    assert_ok(buf_append(&a, "prefix", 6)); /* appends, keeps what is there */
    assert_ok(ar_schema_to_ipc(&a, &s));
    assert_memory_equal(a.data, "prefix\xff\xff\xff\xff", 10);
    assert_ok(ar_schema_from_ipc(&back, a.data + 6, a.len - 6));
    assert_identical(&s, &back);
    describe_is(&back.fields[16], "timestamp[s]");
    describe_is(&back.fields[17], "timestamp[ms, tz=UTC]");
    describe_is(&back.fields[19], "timestamp[ns, tz=-03:30]");
    describe_is(&back.fields[20], "decimal128(7, -3)");
    describe_is(&back.fields[22], "list<large_list<utf8>>");
    describe_is(&back.fields[23],
                "struct<a: int8, e: struct<>, f: fixed_size_list<bool, 0>>");
    /* deterministic: encoding the decoded schema gives the same bytes */
    assert_ok(ar_schema_to_ipc(&b, &back));
    assert_int_equal(a.len - 6, b.len);
    assert_memory_equal(a.data + 6, b.data, b.len);
    ar_schema_free(&back);
    ar_schema_free(&s);

    /* the empty schema */
    buf_reset(&a);
    assert_ok(ar_schema_to_ipc(&a, &empty));
    assert_ok(ar_schema_from_ipc(&back, a.data, a.len));
    assert_int_equal(back.n_fields, 0);
    assert_int_equal(back.n_meta, 0);
    ar_schema_free(&back);
    buf_free(&a);
    buf_free(&b);
}

/* Every truncation and every single-byte corruption of a valid message
 * decodes or fails cleanly (ASan/UBSan watch for out-of-bounds reads). */
static void test_arrow_ipc__damaged_messages(void **state)
{
    struct ar_schema s;
    uint8_t *copy = malloc(GOLDEN_LEN);
    size_t n_ok = 0, n_bad = 0;
    (void)state;

    for (size_t n = 0; n < GOLDEN_LEN; n++) {
        /* exact-size copies so ASan sees reads past the end */
        uint8_t *t = malloc(n ? n : 1);
        memcpy(t, golden, n);
        assert_int_equal(ar_schema_from_ipc(&s, t, n), INFINO_ERR_CORRUPT);
        assert_null(s.fields);
        free(t);
    }
    for (size_t i = 0; i < GOLDEN_LEN; i++) {
        for (int k = 0; k < 3; k++) {
            static const uint8_t vals[] = {0x00, 0xff, 0x80};
            infino_status st;
            memcpy(copy, golden, GOLDEN_LEN);
            copy[i] = golden[i] == vals[k] ? (uint8_t)~vals[k] : vals[k];
            st = ar_schema_from_ipc(&s, copy, GOLDEN_LEN);
            if (st == INFINO_OK) {
                n_ok++;
                ar_schema_free(&s);
            } else {
                n_bad++;
                assert_true(st == INFINO_ERR_CORRUPT ||
                            st == INFINO_ERR_UNSUPPORTED);
                assert_null(s.fields);
            }
        }
    }
    /* also shrink the declared size: offsets must be checked against the
     * message, not against the buffer holding it */
    for (uint32_t len = 0; len < GOLDEN_LEN - 8; len++) {
        memcpy(copy, golden, GOLDEN_LEN);
        memcpy(copy + 4, &len, 4);
        if (ar_schema_from_ipc(&s, copy, GOLDEN_LEN) == INFINO_OK)
            ar_schema_free(&s);
    }
    assert_true(n_bad > 100 && n_ok > 100); /* both outcomes are exercised */
    free(copy);
}

/* ---- a test-only FlatBuffers writer ----------------------------------- *
 * Deliberately permissive: it writes what it is told, so malformed
 * messages are easy to express. Objects are written after the tables that
 * point at them; `patch` fills a uoffset once the target exists. */

struct fbb {
    uint8_t d[1 << 16];
    size_t n;
};

static void pad(struct fbb *b, size_t a)
{
    while (b->n % a)
        b->d[b->n++] = 0;
}

static size_t put(struct fbb *b, const void *p, size_t n, size_t align)
{
    size_t at;
    pad(b, align);
    at = b->n;
    memcpy(b->d + at, p, n);
    b->n += n;
    return at;
}

static size_t put32(struct fbb *b, uint32_t v)
{
    return put(b, &v, 4, 4);
}

static void patch(struct fbb *b, size_t at, size_t target)
{
    uint32_t rel = (uint32_t)(target - at);
    memcpy(b->d + at, &rel, 4);
}

struct tf {
    int id;
    int size; /* 1, 2, 4 (offsets too), 8 */
    uint64_t v;
    size_t at; /* out */
};

/* vtable, then the table; fields in the order given, each aligned. */
static size_t table(struct fbb *b, struct tf *f, int n)
{
    uint16_t vt[32] = {0}, vt_len = 4, t_len;
    size_t vpos, tpos, cur;
    int32_t so;

    for (int i = 0; i < n; i++)
        if (4 + 2 * (f[i].id + 1) > vt_len)
            vt_len = (uint16_t)(4 + 2 * (f[i].id + 1));
    pad(b, 2);
    vpos = b->n;
    b->n += vt_len;
    pad(b, 8);
    tpos = b->n;
    so = (int32_t)(tpos - vpos);
    memcpy(b->d + tpos, &so, 4);
    cur = tpos + 4;
    b->n = cur;
    for (int i = 0; i < n; i++) {
        pad(b, (size_t)f[i].size);
        f[i].at = b->n;
        memcpy(b->d + b->n, &f[i].v, (size_t)f[i].size);
        b->n += (size_t)f[i].size;
        vt[2 + f[i].id] = (uint16_t)(f[i].at - tpos);
    }
    t_len = (uint16_t)(b->n - tpos);
    vt[0] = vt_len;
    vt[1] = t_len;
    memcpy(b->d + vpos, vt, vt_len);
    return tpos;
}

static size_t string(struct fbb *b, const char *s, size_t n)
{
    size_t at = put32(b, (uint32_t)n);
    memcpy(b->d + b->n, s, n);
    b->n += n;
    b->d[b->n++] = 0;
    return at;
}

/* A vector of `n` offsets; element i at return + 4 + 4 i. */
static size_t vec(struct fbb *b, uint32_t n)
{
    size_t at = put32(b, n);
    memset(b->d + b->n, 0, 4 * (size_t)n);
    b->n += 4 * (size_t)n;
    return at;
}

/* Message{version, header_type, header -> Schema{endianness, fields}}.
 * Returns the position of the Schema's fields slot (to patch). */
static size_t message(struct fbb *b, int version, int header_type,
                      int endianness)
{
    struct tf m[] = {{0, 2, (uint64_t)version, 0},
                     {1, 1, (uint64_t)header_type, 0},
                     {2, 4, 0, 0}};
    struct tf s[] = {{0, 2, (uint64_t)endianness, 0}, {1, 4, 0, 0}};
    size_t root, mt, st;

    b->n = 0;
    root = put32(b, 0);
    mt = table(b, m, 3);
    patch(b, root, mt);
    st = table(b, s, 2);
    patch(b, m[2].at, st);
    return s[1].at;
}

/* A Field table: name, nullable, type_type, type, [children]. The offsets
 * fields are returned in f[] for patching: f[0] name, f[3] type, f[4]
 * children. */
static size_t field(struct fbb *b, struct tf f[5], int type_id,
                    bool with_children)
{
    f[0] = (struct tf){0, 4, 0, 0};
    f[1] = (struct tf){1, 1, 1, 0};
    f[2] = (struct tf){2, 1, (uint64_t)type_id, 0};
    f[3] = (struct tf){3, 4, 0, 0};
    f[4] = (struct tf){5, 4, 0, 0};
    return table(b, f, with_children ? 5 : 4);
}

/* A one-field schema whose Type table has the given fields. */
static void one_field(struct fbb *b, int type_id, struct tf *tt, int n_tt)
{
    size_t fields_at = message(b, 4, 1, 0), v, ft, t;
    struct tf f[5];

    v = vec(b, 1);
    patch(b, fields_at, v);
    ft = field(b, f, type_id, false);
    patch(b, v + 4, ft);
    patch(b, f[0].at, string(b, "x", 1));
    t = table(b, tt, n_tt);
    patch(b, f[3].at, t);
}

/* Decodes b framed as an encapsulated message; exact-size copy for ASan. */
static infino_status decode(const struct fbb *b, struct ar_schema *out)
{
    uint8_t *m = malloc(b->n + 8);
    uint32_t len = (uint32_t)b->n;
    infino_status st;

    memcpy(m, "\xff\xff\xff\xff", 4);
    memcpy(m + 4, &len, 4);
    memcpy(m + 8, b->d, b->n);
    st = ar_schema_from_ipc(out, m, b->n + 8);
    free(m);
    return st;
}

static void expect(const struct fbb *b, infino_status want,
                   const char *needle)
{
    struct ar_schema s;
    infino_status st = decode(b, &s);

    if (st != want)
        fail_msg("got %d (%s), want %d", (int)st, err_last(), (int)want);
    if (st == INFINO_OK) {
        ar_schema_free(&s);
        return;
    }
    assert_null(s.fields);
    if (needle != NULL && strstr(err_last(), needle) == NULL)
        fail_msg("'%s' not in '%s'", needle, err_last());
}

static struct fbb fb; /* 64 KiB: keep it off the stack */

static void test_arrow_ipc__crafted_types(void **state)
{
    struct ar_schema s;
    struct tf none[1];
    (void)state;

    /* the writer itself: Int{32, signed} decodes */
    {
        struct tf tt[] = {{0, 4, 32, 0}, {1, 1, 1, 0}};
        one_field(&fb, 2, tt, 2);
        assert_ok(decode(&fb, &s));
        assert_int_equal(s.fields[0].type, AR_INT32);
        assert_true(s.fields[0].nullable);
        ar_schema_free(&s);
    }
    /* defaults: is_signed absent = unsigned */
    {
        struct tf tt[] = {{0, 4, 16, 0}};
        one_field(&fb, 2, tt, 1);
        assert_ok(decode(&fb, &s));
        assert_int_equal(s.fields[0].type, AR_UINT16);
        ar_schema_free(&s);
    }
    {
        struct tf tt[] = {{0, 4, 7, 0}, {1, 1, 1, 0}};
        one_field(&fb, 2, tt, 2);
        expect(&fb, INFINO_ERR_CORRUPT, "field 'x': Int bitWidth 7");
    }
    {
        struct tf tt[] = {{0, 2, 0, 0}}; /* HALF */
        one_field(&fb, 3, tt, 1);
        expect(&fb, INFINO_ERR_UNSUPPORTED,
               "field 'x': unsupported type float16");
        tt[0].v = 5;
        one_field(&fb, 3, tt, 1);
        expect(&fb, INFINO_ERR_CORRUPT, "precision 5");
    }
    {
        struct tf tt[] = {{0, 4, 10, 0}, {1, 4, 2, 0}, {2, 4, 256, 0}};
        one_field(&fb, 7, tt, 3);
        expect(&fb, INFINO_ERR_UNSUPPORTED, "decimal256");
        tt[2].v = 100;
        one_field(&fb, 7, tt, 3);
        expect(&fb, INFINO_ERR_CORRUPT, "bitWidth 100");
        tt[2].v = 128;
        tt[0].v = 39;
        one_field(&fb, 7, tt, 3);
        expect(&fb, INFINO_ERR_CORRUPT, "Decimal(39, 2)");
        tt[0].v = 38;
        one_field(&fb, 7, tt, 2); /* bitWidth absent: 128 by default */
        assert_ok(decode(&fb, &s));
        assert_int_equal(s.fields[0].type, AR_DECIMAL128);
        ar_schema_free(&s);
    }
    {
        one_field(&fb, 8, none, 0); /* Date: unit defaults to MILLISECOND */
        expect(&fb, INFINO_ERR_UNSUPPORTED, "date64");
        struct tf tt[] = {{0, 2, 7, 0}};
        one_field(&fb, 8, tt, 1);
        expect(&fb, INFINO_ERR_CORRUPT, "Date unit 7");
    }
    {
        struct tf tt[] = {{0, 2, 4, 0}};
        one_field(&fb, 10, tt, 1);
        expect(&fb, INFINO_ERR_CORRUPT, "Timestamp unit 4");
        tt[0].v = 2;
        one_field(&fb, 10, tt, 1); /* no timezone field */
        assert_ok(decode(&fb, &s));
        assert_null(s.fields[0].tz);
        ar_schema_free(&s);
    }
    {
        static const int unsupported[] = {1, 9, 11, 14, 15, 17, 18,
                                          22, 23, 24, 25, 26};
        static const char *const names[] = {
            "Null",     "Time",      "Interval",      "Union",
            "FixedSizeBinary", "Map", "Duration",     "RunEndEncoded",
            "BinaryView", "Utf8View", "ListView",     "LargeListView"};
        for (size_t i = 0; i < sizeof unsupported / sizeof *unsupported; i++) {
            char want[64];
            one_field(&fb, unsupported[i], none, 0);
            snprintf(want, sizeof want, "unsupported type %s", names[i]);
            expect(&fb, INFINO_ERR_UNSUPPORTED, want);
        }
        one_field(&fb, 99, none, 0);
        expect(&fb, INFINO_ERR_UNSUPPORTED, "unknown type id 99");
        one_field(&fb, 0, none, 0);
        expect(&fb, INFINO_ERR_CORRUPT, "field 'x': no type");
    }
    /* lists need exactly one child; a fixed size can't be negative */
    one_field(&fb, 12, none, 0);
    expect(&fb, INFINO_ERR_CORRUPT, "field 'x': list with 0 children");
    {
        struct tf tt[] = {{0, 4, (uint32_t)-1, 0}};
        one_field(&fb, 16, tt, 1);
        expect(&fb, INFINO_ERR_CORRUPT, "listSize -1");
    }
    /* a struct without a children vector has no children */
    one_field(&fb, 13, none, 0);
    assert_ok(decode(&fb, &s));
    assert_int_equal(s.fields[0].type, AR_STRUCT);
    assert_int_equal(s.fields[0].n_children, 0);
    ar_schema_free(&s);
}

static void test_arrow_ipc__crafted_messages(void **state)
{
    struct tf none[1], f[5];
    size_t fields_at, v, ft;
    (void)state;

    message(&fb, 2, 1, 0); /* V3 */
    expect(&fb, INFINO_ERR_UNSUPPORTED, "metadata version V3");
    fields_at = message(&fb, 3, 1, 0); /* V4 is fine too */
    patch(&fb, fields_at, vec(&fb, 0));
    expect(&fb, INFINO_OK, NULL);
    message(&fb, 4, 3, 0);
    expect(&fb, INFINO_ERR_CORRUPT, "header type 3 is not Schema");
    message(&fb, 4, 1, 1);
    expect(&fb, INFINO_ERR_UNSUPPORTED, "big-endian");
    {
        struct tf m[] = {{0, 2, 4, 0}, {1, 1, 1, 0}};
        size_t root;
        fb.n = 0;
        root = put32(&fb, 0);
        patch(&fb, root, table(&fb, m, 2));
        expect(&fb, INFINO_ERR_CORRUPT, "without a header");
    }

    /* dictionary-encoded field */
    fields_at = message(&fb, 4, 1, 0);
    v = vec(&fb, 1);
    patch(&fb, fields_at, v);
    {
        struct tf ff[] = {{0, 4, 0, 0}, {2, 1, 5, 0}, {3, 4, 0, 0},
                          {4, 4, 0, 0}};
        ft = table(&fb, ff, 4);
        patch(&fb, v + 4, ft);
        patch(&fb, ff[0].at, string(&fb, "cat", 3));
        patch(&fb, ff[2].at, table(&fb, none, 0));
        patch(&fb, ff[3].at, table(&fb, none, 0));
        expect(&fb, INFINO_ERR_UNSUPPORTED,
               "field 'cat': dictionary encoding is not supported");
    }

    /* a field without a type table */
    fields_at = message(&fb, 4, 1, 0);
    v = vec(&fb, 1);
    patch(&fb, fields_at, v);
    {
        struct tf ff[] = {{0, 4, 0, 0}, {2, 1, 5, 0}};
        ft = table(&fb, ff, 2);
        patch(&fb, v + 4, ft);
        patch(&fb, ff[0].at, string(&fb, "t", 1));
        expect(&fb, INFINO_ERR_CORRUPT, "field 't': type table missing");
    }

    /* names: absent reads as "", a NUL inside is refused */
    fields_at = message(&fb, 4, 1, 0);
    v = vec(&fb, 2);
    patch(&fb, fields_at, v);
    {
        struct tf ff[] = {{2, 1, 6, 0}, {3, 4, 0, 0}};
        struct ar_schema s;
        ft = table(&fb, ff, 2);
        patch(&fb, v + 4, ft);
        patch(&fb, v + 8, ft); /* the same field twice is fine */
        patch(&fb, ff[1].at, table(&fb, none, 0));
        assert_ok(decode(&fb, &s));
        assert_int_equal(s.n_fields, 2);
        assert_string_equal(s.fields[0].name, "");
        assert_false(s.fields[0].nullable);
        assert_int_equal(s.fields[1].type, AR_BOOL);
        ar_schema_free(&s);
    }
    fields_at = message(&fb, 4, 1, 0);
    v = vec(&fb, 1);
    patch(&fb, fields_at, v);
    ft = field(&fb, f, 6, false);
    patch(&fb, v + 4, ft);
    patch(&fb, f[0].at, string(&fb, "a\0b", 3));
    patch(&fb, f[3].at, table(&fb, none, 0));
    expect(&fb, INFINO_ERR_UNSUPPORTED, "name with a NUL byte");
}

static void test_arrow_ipc__crafted_bounds(void **state)
{
    struct tf none[1], f[5];
    size_t fields_at, v, ft, s;
    (void)state;

    /* a string without its NUL */
    fields_at = message(&fb, 4, 1, 0);
    v = vec(&fb, 1);
    patch(&fb, fields_at, v);
    ft = field(&fb, f, 6, false);
    patch(&fb, v + 4, ft);
    s = string(&fb, "abc", 3);
    patch(&fb, f[0].at, s);
    patch(&fb, f[3].at, table(&fb, none, 0));
    expect(&fb, INFINO_OK, NULL);
    fb.d[s + 4 + 3] = 'x';
    expect(&fb, INFINO_ERR_CORRUPT, "not NUL-terminated");
    /* a string longer than the message */
    fb.d[s + 4 + 3] = 0;
    memcpy(fb.d + s, "\xf0\xff\x00\x00", 4);
    expect(&fb, INFINO_ERR_CORRUPT, "out of bounds");

    /* a vector claiming more elements than the message holds */
    fields_at = message(&fb, 4, 1, 0);
    v = vec(&fb, 1);
    patch(&fb, fields_at, v);
    memcpy(fb.d + v, "\xff\xff\xff\x7f", 4);
    expect(&fb, INFINO_ERR_CORRUPT, "elements out of bounds");
    memcpy(fb.d + v, "\x00\x00\x00\x00", 4); /* now zero fields: fine */
    expect(&fb, INFINO_OK, NULL);

    /* an offset pointing past the end, and a zero offset */
    fields_at = message(&fb, 4, 1, 0);
    memcpy(fb.d + fields_at, "\x00\x10\x00\x00", 4);
    expect(&fb, INFINO_ERR_CORRUPT, "points outside");
    memcpy(fb.d + fields_at, "\x00\x00\x00\x00", 4);
    expect(&fb, INFINO_ERR_CORRUPT, "points outside");

    /* vtables: outside the message, odd size, table size too big */
    fields_at = message(&fb, 4, 1, 0);
    v = vec(&fb, 1);
    patch(&fb, fields_at, v);
    ft = field(&fb, f, 6, false);
    patch(&fb, v + 4, ft);
    patch(&fb, f[0].at, string(&fb, "a", 1));
    patch(&fb, f[3].at, table(&fb, none, 0));
    expect(&fb, INFINO_OK, NULL);
    {
        uint8_t saved[4];
        int32_t so;
        uint16_t vt_pos, vsz;
        memcpy(saved, fb.d + ft, 4);
        so = 0x7fffffff;
        memcpy(fb.d + ft, &so, 4);
        expect(&fb, INFINO_ERR_CORRUPT, "vtable out of bounds");
        so = -(int32_t)(fb.n);
        memcpy(fb.d + ft, &so, 4);
        expect(&fb, INFINO_ERR_CORRUPT, "vtable out of bounds");
        memcpy(fb.d + ft, saved, 4);
        memcpy(&so, saved, 4);
        vt_pos = (uint16_t)(ft - (size_t)so);
        memcpy(&vsz, fb.d + vt_pos, 2);
        vsz++;
        memcpy(fb.d + vt_pos, &vsz, 2);
        expect(&fb, INFINO_ERR_CORRUPT, "bad vtable size");
        vsz--;
        memcpy(fb.d + vt_pos, &vsz, 2);
        memcpy(fb.d + vt_pos + 2, "\xff\xff", 2);
        expect(&fb, INFINO_ERR_CORRUPT, "bad table size");
        memcpy(fb.d + vt_pos + 2, "\x05\x00", 2); /* fields beyond it */
        expect(&fb, INFINO_ERR_CORRUPT, "out of bounds");
    }
}

/* Offsets may alias: a chain of struct fields whose children vectors list
 * the same child many times would expand exponentially if decoded naively.
 * Nesting deeper than the cap must stop too. */
static void test_arrow_ipc__aliasing_and_depth(void **state)
{
    struct tf none[1], f[5];
    size_t fields_at, v, ft, prev = 0, kids;
    (void)state;

    fields_at = message(&fb, 4, 1, 0);
    v = vec(&fb, 1);
    patch(&fb, fields_at, v);
    /* 40 levels, each a struct with 8 references to the level below:
     * 8^40 fields if expanded. Written top-down: each level's table comes
     * before the next level's. */
    {
        size_t slot = v + 4;
        for (int level = 0; level < 40; level++) {
            ft = field(&fb, f, 13, true);
            patch(&fb, slot, ft);
            if (prev != 0) {
                for (int k = 1; k < 8; k++) /* the rest alias the first */
                    patch(&fb, prev + 4 + 4 * (size_t)k, ft);
            }
            patch(&fb, f[0].at, string(&fb, "s", 1));
            patch(&fb, f[3].at, table(&fb, none, 0));
            kids = vec(&fb, level == 39 ? 0 : 8);
            patch(&fb, f[4].at, kids);
            prev = kids;
            slot = kids + 4;
        }
    }
    expect(&fb, INFINO_ERR_CORRUPT, "fields");

    /* uoffsets only point forward, so a message cannot hold a cycle, but
     * it can hold a chain of lists deeper than the cap */
    fields_at = message(&fb, 4, 1, 0);
    v = vec(&fb, 1);
    patch(&fb, fields_at, v);
    {
        size_t slot = v + 4;
        for (int level = 0; level < 70; level++) {
            ft = field(&fb, f, 12, true);
            patch(&fb, slot, ft);
            patch(&fb, f[0].at, string(&fb, "item", 4));
            patch(&fb, f[3].at, table(&fb, none, 0));
            kids = vec(&fb, 1);
            patch(&fb, f[4].at, kids);
            slot = kids + 4;
        }
        ft = field(&fb, f, 6, false);
        patch(&fb, slot, ft);
        patch(&fb, f[0].at, string(&fb, "leaf", 4));
        patch(&fb, f[3].at, table(&fb, none, 0));
    }
    expect(&fb, INFINO_ERR_UNSUPPORTED, "nested deeper than 64 levels");
}

static void test_arrow_ipc__framing(void **state)
{
    struct ar_schema s;
    uint8_t m[16];
    (void)state;

    assert_int_equal(ar_schema_from_ipc(&s, NULL, 0), INFINO_ERR_CORRUPT);
    assert_int_equal(ar_schema_from_ipc(&s, (const uint8_t *)"\xff\xff\xff\xff", 4),
                     INFINO_ERR_CORRUPT);
    memcpy(m, "\xff\xff\xff\xff\x00\x00\x00\x00", 8);
    assert_int_equal(ar_schema_from_ipc(&s, m, 8), INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "end-of-stream"));
    memcpy(m, "\xff\xff\xff\xff\x08\x00\x00\x00", 8);
    assert_int_equal(ar_schema_from_ipc(&s, m, 12), INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "exceeds"));
    memcpy(m, "\xff\xff\xff\xff\x02\x00\x00\x00\x00\x00", 10);
    assert_int_equal(ar_schema_from_ipc(&s, m, 10), INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "decoding Arrow IPC schema"));
}

static void test_arrow_ipc__allocation_failures(void **state)
{
    struct ar_schema s, ref;
    struct buf enc = {0};
    long n;
    infino_status st;
    (void)state;

    assert_ok(ar_schema_from_ipc(&ref, golden, GOLDEN_LEN));
    for (n = 1;; n++) {
        mem_fail_after(n);
        st = ar_schema_from_ipc(&s, golden, GOLDEN_LEN);
        mem_fail_reset();
        if (st == INFINO_OK)
            break;
        assert_int_equal(st, INFINO_ERR_NOMEM);
        assert_null(s.fields);
    }
    assert_true(n > 25); /* a name per field, children, metadata... */
    assert_identical(&s, &ref);
    ar_schema_free(&s);
    assert_ok(buf_append(&enc, "keep", 4));
    for (n = 1;; n++) {
        mem_fail_after(n);
        st = ar_schema_to_ipc(&enc, &ref);
        mem_fail_reset();
        if (st == INFINO_OK)
            break;
        assert_int_equal(st, INFINO_ERR_NOMEM);
        assert_int_equal(enc.len, 4); /* nothing appended on failure */
    }
    assert_ok(ar_schema_from_ipc(&s, enc.data + 4, enc.len - 4));
    assert_identical(&s, &ref);
    ar_schema_free(&s);
    ar_schema_free(&ref);
    buf_free(&enc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_arrow_ipc__decodes_pyarrow_bytes),
        cmocka_unit_test(test_arrow_ipc__round_trip_every_type),
        cmocka_unit_test(test_arrow_ipc__damaged_messages),
        cmocka_unit_test(test_arrow_ipc__crafted_types),
        cmocka_unit_test(test_arrow_ipc__crafted_messages),
        cmocka_unit_test(test_arrow_ipc__crafted_bounds),
        cmocka_unit_test(test_arrow_ipc__aliasing_and_depth),
        cmocka_unit_test(test_arrow_ipc__framing),
        cmocka_unit_test(test_arrow_ipc__allocation_failures),
    };
    test_seed();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
