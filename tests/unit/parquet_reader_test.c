/*
 * parquet_reader_test.c - the reader over files built by hand in memory
 * (a tiny test writer: footer via pq_meta, pages with RLE or bit-packed
 * levels), so every Dremel corner is exact: nulls across pages that
 * start inside a byte, lists whose rows cross page boundaries, empty and
 * null lists, fixed-size lists with null slots, legacy list shapes,
 * dictionary pages; then corrupt files (each must be INFINO_ERR_CORRUPT
 * naming the place), statistics pruning, scans, the memory limit and
 * allocation failure. The pyarrow oracle lives in tests/py.
 */
#include "harness.h"

#include "format/parquet/parquet.h"
#include "format/parquet/pq_meta.h"
#include "format/parquet/pq_schema.h"
#include "util/alloc.h"
#include "util/arena.h"
#include "util/base64.h"

/* ---- a tiny writer ---------------------------------------------------- */

/* Levels as RLE runs (`packed` false) or one bit-packed run. */
static void put_levels(struct buf *b, const uint8_t *lv, size_t n, int bw,
                       bool packed)
{
    if (packed) {
        size_t groups = (n + 7) / 8, base;
        assert_ok(buf_put_uvarint(b, groups << 1 | 1));
        base = b->len;
        assert_ok(buf_append_zeros(b, groups * (size_t)bw));
        for (size_t i = 0; i < n; i++)
            for (int k = 0; k < bw; k++)
                if ((lv[i] >> k) & 1) {
                    size_t bit = i * (size_t)bw + (size_t)k;
                    b->data[base + bit / 8] |= (uint8_t)(1u << (bit % 8));
                }
        return;
    }
    for (size_t i = 0; i < n;) {
        size_t j = i;
        while (j < n && lv[j] == lv[i])
            j++;
        assert_ok(buf_put_uvarint(b, (j - i) << 1));
        if (bw > 0)
            assert_ok(buf_put_u8(b, lv[i]));
        i = j;
    }
}

struct col_pages {
    struct buf bytes;     /* the column chunk */
    int64_t num_values;   /* levels */
    int64_t dict_off;     /* -1: none; else offset within bytes */
    int64_t data_off;
};

struct page_spec {
    bool v2, packed_levels;
    const uint8_t *rep, *def; /* NULL when the leaf has none */
    size_t n;                 /* levels */
    enum pq_encoding enc;
    const void *values;
    size_t values_len;
};

static void add_data_page(struct col_pages *c, int max_rep, int max_def,
                          const struct page_spec *p)
{
    struct buf body = {0}, lv = {0};
    struct pq_page_header h;

    memset(&h, 0, sizeof h);
    if (c->data_off < 0)
        c->data_off = (int64_t)c->bytes.len;
    for (int pass = 0; pass < 2; pass++) {
        const uint8_t *levels = pass == 0 ? p->rep : p->def;
        int max = pass == 0 ? max_rep : max_def;
        int bw = max >= 2 ? 2 : max;
        if (max == 0)
            continue;
        buf_reset(&lv);
        put_levels(&lv, levels, p->n, bw, p->packed_levels);
        if (!p->v2)
            assert_ok(buf_put_u32le(&body, (uint32_t)lv.len));
        assert_ok(buf_append(&body, lv.data, lv.len));
        if (pass == 0)
            h.data_page_v2.rep_levels_len = (int32_t)lv.len;
        else
            h.data_page_v2.def_levels_len = (int32_t)lv.len;
    }
    assert_ok(buf_append(&body, p->values, p->values_len));
    h.uncompressed_page_size = h.compressed_page_size = (int32_t)body.len;
    if (p->v2) {
        h.type = PQ_PAGE_DATA_V2;
        h.has_data_page_v2 = true;
        h.data_page_v2.num_values = (int32_t)p->n;
        h.data_page_v2.num_rows = (int32_t)p->n;
        h.data_page_v2.encoding = p->enc;
        h.data_page_v2.is_compressed = false;
    } else {
        h.type = PQ_PAGE_DATA;
        h.has_data_page = true;
        h.data_page.num_values = (int32_t)p->n;
        h.data_page.encoding = p->enc;
        h.data_page.def_encoding = PQ_ENC_RLE;
        h.data_page.rep_encoding = PQ_ENC_RLE;
    }
    assert_ok(pq_meta_encode_page_header(&c->bytes, &h));
    assert_ok(buf_append(&c->bytes, body.data, body.len));
    c->num_values += (int64_t)p->n;
    buf_free(&body);
    buf_free(&lv);
}

static void add_dict_page(struct col_pages *c, const void *values, size_t len,
                          int n)
{
    struct pq_page_header h;

    memset(&h, 0, sizeof h);
    c->dict_off = (int64_t)c->bytes.len;
    h.type = PQ_PAGE_DICTIONARY;
    h.uncompressed_page_size = h.compressed_page_size = (int32_t)len;
    h.has_dict_page = true;
    h.dict_page.num_values = n;
    h.dict_page.encoding = PQ_ENC_PLAIN;
    assert_ok(pq_meta_encode_page_header(&c->bytes, &h));
    assert_ok(buf_append(&c->bytes, values, len));
}

static void col_init(struct col_pages *c)
{
    memset(c, 0, sizeof *c);
    c->dict_off = -1;
    c->data_off = -1;
}

/* Tests may rewrite the Parquet schema that build_file derives from the
 * Arrow one, to produce shapes Arrow's writer never emits. */
static void (*patch_schema)(struct pq_schema *ps);

/* Assembles a file: one row group of `rows` rows from `n` column chunks,
 * the schema from `s` (plus its IPC form as ARROW:schema when `hint`),
 * optional statistics per column. *out is owned (mem_free). */
static void build_file(uint8_t **out, size_t *len, const struct ar_schema *s,
                       struct col_pages *cols, size_t n, int64_t rows,
                       bool hint, const struct pq_stats *stats,
                       int n_row_groups)
{
    struct pq_schema ps;
    struct pq_file_meta m;
    struct pq_row_group rg[4];
    struct pq_column_chunk cc[4][8];
    struct pq_kv kv[2];
    int32_t orders[8];
    struct buf file = {0}, ipc = {0}, b64 = {0};

    assert_true(n <= 8 && n_row_groups <= 4);
    assert_ok(pq_schema_from_arrow(&ps, s));
    if (patch_schema)
        patch_schema(&ps);
    memset(&m, 0, sizeof m);
    memset(rg, 0, sizeof rg);
    memset(cc, 0, sizeof cc);
    assert_ok(buf_append(&file, "PAR1", 4));
    /* the same chunks again for each row group */
    for (int g = 0; g < n_row_groups; g++) {
        for (size_t i = 0; i < n; i++) {
            struct pq_column_meta *cm = &cc[g][i].meta_data;
            int64_t base = (int64_t)file.len;
            assert_ok(buf_append(&file, cols[i].bytes.data,
                                 cols[i].bytes.len));
            cc[g][i].has_meta_data = true;
            cc[g][i].file_offset = base;
            cm->type = ps.leaves[i].type;
            cm->n_path = ps.leaves[i].n_path;
            cm->path = ps.leaves[i].path;
            cm->codec = PQ_UNCOMPRESSED;
            cm->num_values = cols[i].num_values;
            cm->total_compressed_size = (int64_t)cols[i].bytes.len;
            cm->total_uncompressed_size = (int64_t)cols[i].bytes.len;
            cm->data_page_offset = base + cols[i].data_off;
            if (cols[i].dict_off >= 0) {
                cm->has_dictionary_page_offset = true;
                cm->dictionary_page_offset = base + cols[i].dict_off;
            }
            if (stats) {
                cm->has_statistics = true;
                cm->statistics = stats[g * (int)n + (int)i];
            }
        }
        rg[g].n_columns = n;
        rg[g].columns = cc[g];
        rg[g].num_rows = rows;
    }
    m.version = 1;
    m.n_schema = ps.n_elems;
    m.schema = (struct pq_schema_elem *)ps.elems;
    m.num_rows = rows * n_row_groups;
    m.n_row_groups = (size_t)n_row_groups;
    m.row_groups = rg;
    for (size_t i = 0; i < n; i++)
        orders[i] = PQ_ORDER_TYPE_DEFINED;
    m.n_column_orders = n;
    m.column_orders = orders;
    kv[0].key = (struct pq_bytes){(const uint8_t *)"k", 1};
    kv[0].value = (struct pq_bytes){(const uint8_t *)"v\0w", 3};
    m.n_kv = 1;
    m.kv = kv;
    if (hint) {
        assert_ok(ar_schema_to_ipc(&ipc, s));
        assert_ok(base64_encode(&b64, ipc.data, ipc.len));
        kv[1].key = (struct pq_bytes){(const uint8_t *)"ARROW:schema", 12};
        kv[1].value = (struct pq_bytes){b64.data, b64.len};
        m.n_kv = 2;
    }
    {
        size_t start = file.len;
        assert_ok(pq_meta_encode_file(&file, &m));
        assert_ok(buf_put_u32le(&file, (uint32_t)(file.len - start)));
    }
    assert_ok(buf_append(&file, "PAR1", 4));
    *out = buf_detach(&file, len);
    pq_schema_free(&ps);
    buf_free(&ipc);
    buf_free(&b64);
}

static struct ar_field field(const char *name, enum ar_type t, bool nullable)
{
    struct ar_field f;

    memset(&f, 0, sizeof f);
    f.name = (char *)name;
    f.type = t;
    f.nullable = nullable;
    return f;
}

/* Opens the bytes as a reader; *blob_out must be closed by the caller. */
static infino_status open_bytes(struct pq_reader **r, struct store_blob **blob,
                                const uint8_t *p, size_t n)
{
    infino_status st = store_blob_from_memory(blob, p, n, "test.parquet",
                                              true);
    if (st != INFINO_OK)
        return st;
    return pq_reader_open(r, *blob);
}

static bool valid(const struct ArrowArray *a, int64_t i)
{
    return ar_array_is_valid(a, i);
}

/* ---- flat columns ----------------------------------------------------- */

/* Column 0: int32 nullable, 29 rows in a v1 page of 13 (RLE levels) and
 * a v2 page of 16 (bit-packed levels). Column 1: int8 from INT32,
 * required. Column 2: utf8, dictionary-encoded, with nulls. Column 3:
 * bool with nulls, PLAIN. */
static void flat_file(uint8_t **out, size_t *len, bool hint)
{
    struct ar_field f[4] = {field("a", AR_INT32, true),
                            field("b", AR_INT8, false),
                            field("s", AR_UTF8, true),
                            field("t", AR_BOOL, true)};
    struct ar_schema s = {4, f, 0, NULL};
    struct col_pages c[4];
    uint8_t def[29];
    int32_t vals[29];
    size_t nv = 0;

    for (int i = 0; i < 4; i++)
        col_init(&c[i]);
    for (int i = 0; i < 29; i++) {
        def[i] = (i % 3 != 1);
        if (def[i])
            vals[nv++] = i * 1000 - 7;
    }
    {
        size_t first = 0;
        for (int i = 0; i < 13; i++)
            first += def[i];
        struct page_spec p1 = {false, false, NULL, def, 13, PQ_ENC_PLAIN,
                               vals, first * 4};
        struct page_spec p2 = {true, true, NULL, def + 13, 16, PQ_ENC_PLAIN,
                               vals + first, (nv - first) * 4};
        add_data_page(&c[0], 0, 1, &p1);
        add_data_page(&c[0], 0, 1, &p2);
    }
    {
        int32_t b[29];
        for (int i = 0; i < 29; i++)
            b[i] = (i % 2 ? -1 : 1) * (i * 9 % 128);
        struct page_spec p = {false, false, NULL, NULL, 29, PQ_ENC_PLAIN, b,
                              sizeof b};
        add_data_page(&c[1], 0, 0, &p);
    }
    {
        /* dictionary {"x", "", "hello"}; indices bit width 2, RLE runs */
        static const uint8_t dict[] = {1, 0, 0, 0, 'x', 0, 0, 0, 0,
                                       5, 0, 0, 0, 'h', 'e', 'l', 'l', 'o'};
        uint8_t sdef[29], idx[29], ib[64];
        struct buf ibuf = {0};
        size_t k = 0;
        for (int i = 0; i < 29; i++) {
            sdef[i] = i % 5 != 4;
            if (sdef[i])
                idx[k++] = (uint8_t)(i % 3);
        }
        add_dict_page(&c[2], dict, sizeof dict, 3);
        assert_ok(buf_put_u8(&ibuf, 2));
        put_levels(&ibuf, idx, k, 2, true);
        memcpy(ib, ibuf.data, ibuf.len);
        struct page_spec p = {false, false, NULL, sdef, 29,
                              PQ_ENC_RLE_DICTIONARY, ib, ibuf.len};
        add_data_page(&c[2], 0, 1, &p);
        buf_free(&ibuf);
    }
    {
        uint8_t tdef[29], bits[4] = {0};
        size_t k = 0;
        for (int i = 0; i < 29; i++) {
            tdef[i] = i % 4 != 0;
            if (tdef[i]) {
                if (i % 3 == 0)
                    bits[k / 8] |= (uint8_t)(1u << (k % 8));
                k++;
            }
        }
        struct page_spec p = {true, false, NULL, tdef, 29, PQ_ENC_PLAIN, bits,
                              (k + 7) / 8};
        add_data_page(&c[3], 0, 1, &p);
    }
    build_file(out, len, &s, c, 4, 29, hint, NULL, 1);
    for (int i = 0; i < 4; i++)
        buf_free(&c[i].bytes);
}

static void check_flat(const struct ArrowArray *b)
{
    const struct ArrowArray *a = b->children[0], *i8 = b->children[1],
                            *s = b->children[2], *t = b->children[3];
    const int32_t *av = a->buffers[1];
    const int8_t *bv = i8->buffers[1];
    const int32_t *so = s->buffers[1];
    const char *sd = s->buffers[2];
    static const char *words[] = {"x", "", "hello"};

    assert_int_equal(b->length, 29);
    assert_int_equal(a->null_count, 10);
    assert_int_equal(i8->null_count, 0);
    assert_null(i8->buffers[0]);
    assert_int_equal(s->null_count, 5);
    assert_int_equal(t->null_count, 8);
    for (int i = 0; i < 29; i++) {
        assert_int_equal(valid(a, i), i % 3 != 1);
        if (i % 3 != 1)
            assert_int_equal(av[i], i * 1000 - 7);
        assert_int_equal(bv[i], (i % 2 ? -1 : 1) * (i * 9 % 128));
        assert_int_equal(valid(s, i), i % 5 != 4);
        if (i % 5 != 4) {
            const char *w = words[i % 3];
            assert_int_equal(so[i + 1] - so[i], (int)strlen(w));
            assert_memory_equal(sd + so[i], w, strlen(w));
        } else {
            assert_int_equal(so[i + 1], so[i]);
        }
        assert_int_equal(valid(t, i), i % 4 != 0);
        if (i % 4 != 0) {
            const uint8_t *tb = t->buffers[1];
            assert_int_equal((tb[i / 8] >> (i % 8)) & 1, i % 3 == 0);
        }
    }
}

static void test_parquet_reader__flat_columns(void **state)
{
    uint8_t *file;
    size_t len;
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;
    struct ArrowArray b;
    (void)state;

    for (int hint = 0; hint <= 1; hint++) {
        flat_file(&file, &len, hint);
        assert_ok(open_bytes(&r, &blob, file, len));
        assert_int_equal(pq_reader_num_rows(r), 29);
        assert_int_equal(pq_reader_num_row_groups(r), 1);
        assert_int_equal(pq_reader_row_group_rows(r, 0), 29);
        assert_int_equal(pq_reader_schema(r)->n_fields, 4);
        assert_int_equal(pq_reader_schema(r)->fields[1].type, AR_INT8);
        assert_ok(pq_reader_read_row_group(r, 0, NULL, 0, &b));
        check_flat(&b);
        assert_ok(ar_batch_validate(pq_reader_schema(r), &b));
        ar_array_release(&b);
        /* projection: reordered and repeated */
        int fields[] = {2, 0, 2};
        assert_ok(pq_reader_read_row_group(r, 0, fields, 3, &b));
        assert_int_equal(b.n_children, 3);
        assert_int_equal(b.children[0]->null_count, 5);
        assert_int_equal(b.children[1]->null_count, 10);
        ar_array_release(&b);
        int bad[] = {4};
        assert_int_equal(pq_reader_read_row_group(r, 0, bad, 1, &b),
                         INFINO_ERR_INVALID);
        assert_int_equal(pq_reader_read_row_group(r, 1, NULL, 0, &b),
                         INFINO_ERR_INVALID);
        /* key-value metadata */
        size_t vlen;
        const char *v = pq_reader_kv(r, "k", &vlen);
        assert_non_null(v);
        assert_int_equal(vlen, 3);
        assert_memory_equal(v, "v\0w", 4); /* NUL-terminated copy */
        assert_null(pq_reader_kv(r, "missing", &vlen));
        assert_int_equal(pq_reader_kv_count(r), hint ? 2 : 1);
        const char *key, *val;
        pq_reader_kv_at(r, 0, &key, &val, &vlen);
        assert_string_equal(key, "k");
        assert_true(pq_reader_footer_offset(r) < len - 8);
        pq_reader_free(r);
        store_blob_close(blob);
        mem_free(file);
    }
}

/* ---- lists ------------------------------------------------------------ */

/* list<int32> (nullable list, nullable items), rows:
 *   [1, 2], null, [], [null, 3], [4, 5, 6], [7]
 * in two v1 pages, the second starting inside row 4 (rep level 1). */
static void list_file(uint8_t **out, size_t *len, enum ar_type lt)
{
    struct ar_field item = field("element", AR_INT32, true);
    struct ar_field f = field("l", lt, true);
    struct ar_schema s = {1, &f, 0, NULL};
    struct col_pages c;
    /* levels: list_def 1, element present at 3, null element at 2 */
    static const uint8_t rep[] = {0, 1, 0, 0, 0, 1, 0, 1, 1, 0};
    static const uint8_t def[] = {3, 3, 0, 1, 2, 3, 3, 3, 3, 3};
    static const int32_t vals[] = {1, 2, 3, 4, 5, 6, 7};

    f.n_children = 1;
    f.children = &item;
    col_init(&c);
    struct page_spec p1 = {false, false, rep, def, 7, PQ_ENC_PLAIN, vals, 16};
    struct page_spec p2 = {false, true, rep + 7, def + 7, 3, PQ_ENC_PLAIN,
                           vals + 4, 12};
    add_data_page(&c, 1, 3, &p1);
    add_data_page(&c, 1, 3, &p2);
    build_file(out, len, &s, &c, 1, 6, true, NULL, 1);
    buf_free(&c.bytes);
}

static void test_parquet_reader__lists(void **state)
{
    static const enum ar_type kinds[] = {AR_LIST, AR_LARGE_LIST};
    (void)state;

    for (int k = 0; k < 2; k++) {
        uint8_t *file;
        size_t len;
        struct store_blob *blob = NULL;
        struct pq_reader *r = NULL;
        struct ArrowArray b;
        list_file(&file, &len, kinds[k]);
        assert_ok(open_bytes(&r, &blob, file, len));
        assert_int_equal(pq_reader_schema(r)->fields[0].type, kinds[k]);
        assert_ok(pq_reader_read_row_group(r, 0, NULL, 0, &b));
        const struct ArrowArray *l = b.children[0], *v = l->children[0];
        static const int64_t offs[] = {0, 2, 2, 2, 4, 7, 8};
        assert_int_equal(l->length, 6);
        assert_int_equal(l->null_count, 1);
        for (int i = 0; i < 7; i++) {
            int64_t o = kinds[k] == AR_LIST
                            ? ((const int32_t *)l->buffers[1])[i]
                            : ((const int64_t *)l->buffers[1])[i];
            assert_int_equal(o, offs[i]);
        }
        for (int i = 0; i < 6; i++)
            assert_int_equal(valid(l, i), i != 1);
        assert_int_equal(v->length, 8);
        assert_int_equal(v->null_count, 1);
        static const int32_t want[] = {1, 2, 0, 3, 4, 5, 6, 7};
        for (int i = 0; i < 8; i++) {
            assert_int_equal(valid(v, i), i != 2);
            if (i != 2)
                assert_int_equal(((const int32_t *)v->buffers[1])[i],
                                 want[i]);
        }
        assert_ok(ar_batch_validate(pq_reader_schema(r), &b));
        ar_array_release(&b);
        pq_reader_free(r);
        store_blob_close(blob);
        mem_free(file);
    }
}

/* fixed_size_list<float32, 2> with a null slot: the reader fills the
 * slot's two child positions. A list of the wrong length is corrupt. */
static void test_parquet_reader__fixed_size_list(void **state)
{
    struct ar_field item = field("element", AR_FLOAT32, false);
    struct ar_field f = field("v", AR_FIXED_SIZE_LIST, true);
    struct ar_schema s = {1, &f, 0, NULL};
    struct col_pages c;
    static const uint8_t rep[] = {0, 1, 0, 0, 1};
    static const uint8_t def[] = {2, 2, 0, 2, 2};
    static const float vals[] = {1.5f, 2.5f, 3.5f, 4.5f};
    uint8_t *file;
    size_t len;
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;
    struct ArrowArray b;
    (void)state;

    f.list_size = 2;
    f.n_children = 1;
    f.children = &item;
    col_init(&c);
    struct page_spec p = {true, false, rep, def, 5, PQ_ENC_PLAIN, vals, 16};
    add_data_page(&c, 1, 2, &p);
    build_file(&file, &len, &s, &c, 1, 3, true, NULL, 1);
    assert_ok(open_bytes(&r, &blob, file, len));
    assert_int_equal(pq_reader_schema(r)->fields[0].type, AR_FIXED_SIZE_LIST);
    assert_ok(pq_reader_read_row_group(r, 0, NULL, 0, &b));
    const struct ArrowArray *l = b.children[0], *v = l->children[0];
    assert_int_equal(l->n_buffers, 1);
    assert_int_equal(l->null_count, 1);
    assert_false(valid(l, 1));
    assert_int_equal(v->length, 6);
    static const float want[] = {1.5f, 2.5f, 0, 0, 3.5f, 4.5f};
    for (int i = 0; i < 6; i++)
        assert_true(((const float *)v->buffers[1])[i] == want[i]);
    ar_array_release(&b);
    pq_reader_free(r);
    store_blob_close(blob);
    mem_free(file);

    /* the same levels, but the last list holds 1 value */
    static const uint8_t rep2[] = {0, 1, 0, 0};
    buf_free(&c.bytes);
    col_init(&c);
    struct page_spec q = {false, false, rep2, def, 4, PQ_ENC_PLAIN, vals, 12};
    add_data_page(&c, 1, 2, &q);
    build_file(&file, &len, &s, &c, 1, 3, true, NULL, 1);
    assert_ok(open_bytes(&r, &blob, file, len));
    assert_int_equal(pq_reader_read_row_group(r, 0, NULL, 0, &b),
                     INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "fixed_size_list"));
    assert_non_null(strstr(err_last(), "column 'v'"));
    assert_non_null(strstr(err_last(), "test.parquet: row group 0"));
    pq_reader_free(r);
    store_blob_close(blob);
    mem_free(file);
    buf_free(&c.bytes);
}

/* All-null columns hold no values at all: an empty dictionary, no list
 * items, no bytes (regression: UBSan saw NULL + 0 in these paths). */
static void test_parquet_reader__all_null_and_empty(void **state)
{
    struct ar_field item = field("element", AR_INT64, true);
    struct ar_field f[3] = {field("l", AR_LIST, true),
                            field("s", AR_UTF8, true),
                            field("d", AR_DECIMAL128, true)};
    struct ar_schema s = {3, f, 0, NULL};
    struct col_pages c[3];
    static const uint8_t zeros[4] = {0};
    uint8_t *file;
    size_t len;
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;
    struct ArrowArray b;
    (void)state;

    f[0].n_children = 1;
    f[0].children = &item;
    f[2].precision = 5;
    for (int i = 0; i < 3; i++)
        col_init(&c[i]);
    struct page_spec p0 = {false, false, zeros, zeros, 4, PQ_ENC_PLAIN, "", 0};
    add_data_page(&c[0], 1, 3, &p0);
    add_dict_page(&c[1], "", 0, 0);
    struct page_spec p1 = {true, false, NULL, zeros, 4, PQ_ENC_RLE_DICTIONARY,
                           "", 0};
    add_data_page(&c[1], 0, 1, &p1);
    /* all null with no value bytes at all, even for a delta encoding */
    struct page_spec p2 = {false, true, NULL, zeros, 4,
                           PQ_ENC_DELTA_BYTE_ARRAY, "", 0};
    add_data_page(&c[2], 0, 1, &p2);
    for (int rows = 4; rows >= 0; rows -= 4) {
        if (rows == 0) /* an empty row group: chunks without pages */
            for (int i = 0; i < 3; i++) {
                buf_free(&c[i].bytes);
                col_init(&c[i]);
                c[i].data_off = 0;
            }
        build_file(&file, &len, &s, c, 3, rows, false, NULL, 1);
        assert_ok(open_bytes(&r, &blob, file, len));
        assert_ok(pq_reader_read_row_group(r, 0, NULL, 0, &b));
        assert_int_equal(b.length, rows);
        for (int i = 0; i < 3; i++) {
            assert_int_equal(b.children[i]->length, rows);
            assert_int_equal(b.children[i]->null_count, rows);
        }
        assert_int_equal(b.children[0]->children[0]->length, 0);
        assert_ok(ar_batch_validate(pq_reader_schema(r), &b));
        ar_array_release(&b);
        pq_reader_free(r);
        store_blob_close(blob);
        mem_free(file);
    }
    for (int i = 0; i < 3; i++)
        buf_free(&c[i].bytes);
}

/* ---- shapes Arrow does not write --------------------------------------- */

static struct pq_schema_elem *elems_of(struct pq_schema *ps)
{
    return (struct pq_schema_elem *)ps->elems; /* test-owned arena copy */
}

/* [root, a: list<int64>] -> [root, a (LIST) { repeated int64 array }];
 * [root, r: list<int32> (required)] -> [root, repeated int32 r] */
static void to_two_level(struct pq_schema *ps)
{
    struct pq_schema_elem *e = elems_of(ps);
    e[2] = e[3];
    e[2].name = (struct pq_bytes){(const uint8_t *)"array", 5};
    e[2].repetition = PQ_REPEATED;
    e[3] = e[6];
    e[3].name = e[4].name;
    e[3].repetition = PQ_REPEATED;
    e[0].num_children = 2;
    ps->n_elems = 4;
    ps->leaves[0].path[1] = e[2].name;
    ps->leaves[0].n_path = 2;
    ps->leaves[1].path[0] = e[3].name;
    ps->leaves[1].n_path = 1;
}

/* decimal on FIXED_LEN_BYTE_ARRAY -> on BYTE_ARRAY; binary -> FLBA(3) */
static void to_odd_types(struct pq_schema *ps)
{
    struct pq_schema_elem *e = elems_of(ps);
    e[1].type = PQ_BYTE_ARRAY;
    e[1].has_type_length = false;
    ps->leaves[0].type = PQ_BYTE_ARRAY;
    e[2].type = PQ_FIXED_LEN_BYTE_ARRAY;
    e[2].has_type_length = true;
    e[2].type_length = 3;
    ps->leaves[1].type = PQ_FIXED_LEN_BYTE_ARRAY;
}

static void test_parquet_reader__legacy_shapes_and_types(void **state)
{
    struct ar_field item64 = field("element", AR_INT64, true);
    struct ar_field item32 = field("element", AR_INT32, false);
    struct ar_field lf[2] = {field("a", AR_LIST, true),
                             field("r", AR_LIST, false)};
    struct ar_schema ls = {2, lf, 0, NULL};
    struct col_pages c[2];
    uint8_t *file;
    size_t len;
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;
    struct ArrowArray b;
    (void)state;

    lf[0].n_children = lf[1].n_children = 1;
    lf[0].children = &item64;
    lf[1].children = &item32;
    /* a: [5], null, [], [6, 7]   r: [1, 2], [], [3], [] */
    static const uint8_t arep[] = {0, 0, 0, 0, 1}, adef[] = {2, 0, 1, 2, 2};
    static const int64_t avals[] = {5, 6, 7};
    static const uint8_t rrep[] = {0, 1, 0, 0, 0}, rdef[] = {1, 1, 0, 1, 0};
    static const int32_t rvals[] = {1, 2, 3};
    col_init(&c[0]);
    col_init(&c[1]);
    struct page_spec pa = {false, false, arep, adef, 5, PQ_ENC_PLAIN, avals,
                           24};
    struct page_spec pr = {true, false, rrep, rdef, 5, PQ_ENC_PLAIN, rvals,
                           12};
    add_data_page(&c[0], 1, 2, &pa);
    add_data_page(&c[1], 1, 1, &pr);
    patch_schema = to_two_level;
    build_file(&file, &len, &ls, c, 2, 4, false, NULL, 1);
    patch_schema = NULL;
    assert_ok(open_bytes(&r, &blob, file, len));
    const struct ar_schema *rs = pq_reader_schema(r);
    assert_string_equal(rs->fields[0].children[0].name, "array");
    assert_false(rs->fields[0].children[0].nullable);
    assert_false(rs->fields[1].nullable);
    assert_string_equal(rs->fields[1].children[0].name, "r");
    assert_ok(pq_reader_read_row_group(r, 0, NULL, 0, &b));
    {
        const struct ArrowArray *a = b.children[0], *rr = b.children[1];
        const int32_t *ao = a->buffers[1], *ro = rr->buffers[1];
        static const int32_t want_ao[] = {0, 1, 1, 1, 3},
                             want_ro[] = {0, 2, 2, 3, 3};
        assert_memory_equal(ao, want_ao, sizeof want_ao);
        assert_memory_equal(ro, want_ro, sizeof want_ro);
        assert_false(valid(a, 1));
        assert_int_equal(a->null_count, 1);
        assert_int_equal(rr->null_count, 0);
        assert_memory_equal(a->children[0]->buffers[1], avals, sizeof avals);
        assert_memory_equal(rr->children[0]->buffers[1], rvals, sizeof rvals);
    }
    assert_ok(ar_batch_validate(rs, &b));
    ar_array_release(&b);
    pq_reader_free(r);
    store_blob_close(blob);
    mem_free(file);
    buf_free(&c[0].bytes);
    buf_free(&c[1].bytes);

    /* decimal128(9, 2) stored as BYTE_ARRAY of 1..5 big-endian bytes,
     * binary stored as FIXED_LEN_BYTE_ARRAY(3) */
    struct ar_field tf[2] = {field("dec", AR_DECIMAL128, true),
                             field("fixed", AR_BINARY, false)};
    struct ar_schema ts = {2, tf, 0, NULL};
    tf[0].precision = 9;
    tf[0].scale = 2;
    static const uint8_t decs[] = {1, 0, 0, 0, 0x7f,             /* 127 */
                                   2, 0, 0, 0, 0xff, 0x38,       /* -200 */
                                   5, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xfe};
    static const uint8_t ddef[] = {1, 0, 1, 1};
    static const uint8_t fixed[] = "abcdefghijkl";
    col_init(&c[0]);
    col_init(&c[1]);
    struct page_spec pd = {false, false, NULL, ddef, 4, PQ_ENC_PLAIN, decs,
                           sizeof decs};
    struct page_spec pf = {false, false, NULL, NULL, 4, PQ_ENC_PLAIN, fixed,
                           12};
    add_data_page(&c[0], 0, 1, &pd);
    add_data_page(&c[1], 0, 0, &pf);
    patch_schema = to_odd_types;
    build_file(&file, &len, &ts, c, 2, 4, false, NULL, 1);
    patch_schema = NULL;
    assert_ok(open_bytes(&r, &blob, file, len));
    assert_int_equal(pq_reader_schema(r)->fields[0].type, AR_DECIMAL128);
    assert_int_equal(pq_reader_schema(r)->fields[1].type, AR_BINARY);
    assert_ok(pq_reader_read_row_group(r, 0, NULL, 0, &b));
    {
        const uint8_t *d = b.children[0]->buffers[1];
        static const int64_t want[] = {127, 0, -200, -2};
        for (int i = 0; i < 4; i++) {
            if (i == 1) {
                assert_false(valid(b.children[0], 1));
                continue;
            }
            assert_true((int64_t)load_u64le(d + 16 * i) == want[i]);
            assert_true(load_u64le(d + 16 * i + 8) ==
                        (want[i] < 0 ? UINT64_MAX : 0));
        }
        const int32_t *fo = b.children[1]->buffers[1];
        for (int i = 0; i <= 4; i++)
            assert_int_equal(fo[i], 3 * i);
        assert_memory_equal(b.children[1]->buffers[2], fixed, 12);
    }
    ar_array_release(&b);
    pq_reader_free(r);
    store_blob_close(blob);
    mem_free(file);
    buf_free(&c[0].bytes);
    buf_free(&c[1].bytes);
}

/* ---- corrupt files ---------------------------------------------------- */

static void test_parquet_reader__corrupt_files(void **state)
{
    uint8_t *file;
    size_t len;
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;
    struct ArrowArray b;
    (void)state;

    flat_file(&file, &len, false);
    /* every truncation and bad magic fails at open */
    for (size_t cut = 0; cut < len; cut += 7) {
        assert_int_equal(open_bytes(&r, &blob, file, cut), INFINO_ERR_CORRUPT);
        store_blob_close(blob);
        blob = NULL;
    }
    file[1] ^= 1;
    assert_int_equal(open_bytes(&r, &blob, file, len), INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "test.parquet: missing PAR1"));
    store_blob_close(blob);
    file[1] ^= 1;
    /* a footer length beyond the file */
    {
        uint32_t flen = load_u32le(file + len - 8);
        store_u32le(file + len - 8, (uint32_t)len);
        assert_int_equal(open_bytes(&r, &blob, file, len), INFINO_ERR_CORRUPT);
        store_blob_close(blob);
        store_u32le(file + len - 8, flen);
    }
    /* flipping any byte of the pages gives a clean error or a value
     * change, never a crash (ASan watches) */
    {
        uint32_t flen = load_u32le(file + len - 8);
        size_t data_end = len - 8 - flen;
        for (size_t at = 4; at < data_end; at++) {
            uint8_t *copy = malloc(len);
            memcpy(copy, file, len);
            copy[at] ^= (uint8_t)(1u << (at % 8));
            if (open_bytes(&r, &blob, copy, len) == INFINO_OK) {
                infino_status st = pq_reader_read_row_group(r, 0, NULL, 0, &b);
                if (st == INFINO_OK) {
                    assert_ok(ar_batch_validate(pq_reader_schema(r), &b));
                    ar_array_release(&b);
                } else {
                    assert_true(st == INFINO_ERR_CORRUPT ||
                                st == INFINO_ERR_UNSUPPORTED);
                }
                pq_reader_free(r);
            }
            store_blob_close(blob);
            free(copy);
        }
    }
    mem_free(file);
}

/* Column chunks whose levels or values break the rules. */
static void test_parquet_reader__corrupt_pages(void **state)
{
    struct ar_field f = field("a", AR_INT32, true);
    struct ar_field items = field("element", AR_INT32, true);
    struct ar_field lf = field("l", AR_LIST, true);
    struct ar_schema s = {1, &f, 0, NULL}, ls = {1, &lf, 0, NULL};
    static const int32_t vals[] = {1, 2, 3, 4};
    static const uint8_t def_bad[] = {1, 2, 1};
    static const uint8_t def_ok[] = {1, 1, 1};
    static const uint8_t rep_start[] = {1, 0, 0};
    static const uint8_t ldef[] = {3, 3, 3};
    struct {
        const char *what;
        const struct ar_schema *s;
        int max_rep, max_def;
        struct page_spec p;
        int64_t rows;
        int dict;
    } cases[] = {
        {"definition level above", &s, 0, 1,
         {false, false, NULL, def_bad, 3, PQ_ENC_PLAIN, vals, 12}, 3, 0},
        {"PLAIN values truncated", &s, 0, 1,
         {false, false, NULL, def_ok, 3, PQ_ENC_PLAIN, vals, 8}, 3, 0},
        {"rows", &s, 0, 1,
         {false, false, NULL, def_ok, 3, PQ_ENC_PLAIN, vals, 12}, 4, 0},
        {"without a dictionary", &s, 0, 1,
         {false, false, NULL, def_ok, 3, PQ_ENC_RLE_DICTIONARY,
          "\x01\x06\x00", 3},
         3, 0},
        {"out of range", &s, 0, 1,
         {false, false, NULL, def_ok, 3, PQ_ENC_RLE_DICTIONARY,
          "\x02\x06\x03", 3},
         3, 1},
        {"encoding", &s, 0, 1,
         {false, false, NULL, def_ok, 3, (enum pq_encoding)42, vals, 12}, 3,
         0},
        {"starts inside a list", &ls, 1, 3,
         {false, false, rep_start, ldef, 3, PQ_ENC_PLAIN, vals, 12}, 2, 0},
    };
    (void)state;

    lf.n_children = 1;
    lf.children = &items;
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct col_pages c;
        uint8_t *file;
        size_t len;
        struct store_blob *blob = NULL;
        struct pq_reader *r = NULL;
        struct ArrowArray b;
        col_init(&c);
        if (cases[i].dict)
            add_dict_page(&c, vals, 8, 2);
        add_data_page(&c, cases[i].max_rep, cases[i].max_def, &cases[i].p);
        build_file(&file, &len, cases[i].s, &c, 1, cases[i].rows, false, NULL,
                   1);
        infino_status st = open_bytes(&r, &blob, file, len);
        if (st == INFINO_OK)
            st = pq_reader_read_row_group(r, 0, NULL, 0, &b);
        assert_true(st == INFINO_ERR_CORRUPT || st == INFINO_ERR_UNSUPPORTED);
        if (strstr(err_last(), cases[i].what) == NULL)
            fail_msg("case %zu: '%s' not in '%s'", i, cases[i].what,
                     err_last());
        pq_reader_free(r);
        store_blob_close(blob);
        mem_free(file);
        buf_free(&c.bytes);
    }
}

/* ---- pruning ---------------------------------------------------------- */

#define BYTES(p, n) ((struct pq_bytes){(const uint8_t *)(p), (n)})

static void test_parquet_reader__pruning(void **state)
{
    struct ar_field f[5] = {field("i", AR_INT32, true),
                            field("u", AR_UINT32, false),
                            field("s", AR_UTF8, true),
                            field("x", AR_FLOAT64, true),
                            field("t", AR_TIMESTAMP, true)};
    struct ar_schema s = {5, f, 0, NULL};
    struct col_pages c[5];
    struct pq_stats st[10];
    static const uint8_t def1[] = {1};
    static const int64_t one = 1; /* PLAIN bytes of any width <= 8 */
    static const int32_t i_lo[2] = {10, 100}, i_hi[2] = {20, 200};
    static const uint32_t u_lo[2] = {5, 3000000000u},
                          u_hi[2] = {10, 4000000000u};
    static const double x_lo = -1.0, nan = 0.0 / 0.0;
    static const int64_t t_lo = 5000, t_hi = 9999; /* ms */
    uint8_t *file;
    size_t len;
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;
    (void)state;

    f[4].unit = AR_SECOND;
    for (int i = 0; i < 5; i++) {
        col_init(&c[i]);
        struct page_spec p = {false, false, NULL, def1, 1, PQ_ENC_PLAIN,
                              i == 2 ? "\1\0\0\0a" : (const void *)&one,
                              i == 2 ? 5u : (i == 3 || i == 4) ? 8u : 4u};
        add_data_page(&c[i], 0, i == 1 ? 0 : 1, &p);
    }
    memset(st, 0, sizeof st);
    for (int g = 0; g < 2; g++) {
        struct pq_stats *x = &st[g * 5];
        x[0].min_value = BYTES(&i_lo[g], 4);
        x[0].max_value = BYTES(&i_hi[g], 4);
        x[0].has_null_count = g == 0; /* group 1: null count unknown */
        x[1].min_value = BYTES(&u_lo[g], 4);
        x[1].max_value = BYTES(&u_hi[g], 4);
        x[2].min_value = BYTES(g ? "m" : "apple", g ? 1 : 5);
        x[2].max_value = BYTES(g ? "zebra" : "banana", g ? 5 : 6);
        x[2].min = BYTES("\xff", 1); /* legacy: signed, ignored */
        x[2].max = BYTES("\x00", 1);
        x[3].min_value = BYTES(&x_lo, 8);
        x[3].max_value = BYTES(g ? &nan : &x_lo, 8);
        x[4].min_value = BYTES(&t_lo, 8);
        x[4].max_value = BYTES(&t_hi, 8);
        x[4].has_null_count = true;
        x[4].null_count = g; /* group 1: all null (1 value) */
    }
    build_file(&file, &len, &s, c, 5, 1, true, st, 2);
    assert_ok(open_bytes(&r, &blob, file, len));

    struct {
        int field;
        enum pq_op op;
        int64_t i;
        uint64_t u;
        const char *s;
        double d;
        bool g0, g1;
    } cases[] = {
        {0, PQ_EQ, 15, 0, NULL, 0, true, false},
        {0, PQ_EQ, 21, 0, NULL, 0, false, false},
        {0, PQ_LT, 10, 0, NULL, 0, false, false},
        {0, PQ_LE, 10, 0, NULL, 0, true, false},
        {0, PQ_GT, 199, 0, NULL, 0, false, true},
        {0, PQ_GE, 200, 0, NULL, 0, false, true},
        {0, PQ_GT, 200, 0, NULL, 0, false, false},
        {0, PQ_IS_NULL, 0, 0, NULL, 0, false, true},
        {0, PQ_NOT_NULL, 0, 0, NULL, 0, true, true},
        /* unsigned order: 3e9 > 10 */
        {1, PQ_GT, 0, 2000000000u, NULL, 0, false, true},
        {1, PQ_LT, 0, 6, NULL, 0, true, false},
        {1, PQ_IS_NULL, 0, 0, NULL, 0, false, false}, /* not nullable */
        /* bytes: unsigned lexicographic, legacy min/max ignored */
        {2, PQ_EQ, 0, 0, "b", 0, true, false},
        {2, PQ_EQ, 0, 0, "bananas", 0, false, false},
        {2, PQ_GE, 0, 0, "zebra", 0, false, true},
        {2, PQ_LT, 0, 0, "apple", 0, false, false},
        /* floats: a NaN bound proves nothing */
        {3, PQ_GT, 0, 0, NULL, 0.0, false, true},
        {3, PQ_EQ, 0, 0, NULL, -1.0, true, true},
        {3, PQ_EQ, 0, 0, NULL, nan, true, true},
        /* timestamps: stats in ms, filter in s: [5, 9.999] -> [5, 10] */
        {4, PQ_EQ, 10, 0, NULL, 0, true, false},
        {4, PQ_EQ, 11, 0, NULL, 0, false, false},
        {4, PQ_LT, 5, 0, NULL, 0, false, false},
        {4, PQ_NOT_NULL, 0, 0, NULL, 0, true, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct pq_filter flt;
        memset(&flt, 0, sizeof flt);
        flt.field = cases[i].field;
        flt.op = cases[i].op;
        flt.value.type = f[cases[i].field].type;
        if (cases[i].s) {
            flt.value.v.bytes.p = (const uint8_t *)cases[i].s;
            flt.value.v.bytes.n = strlen(cases[i].s);
        } else if (flt.value.type == AR_FLOAT64) {
            flt.value.v.d = cases[i].d;
        } else if (flt.value.type == AR_UINT32) {
            flt.value.v.u = cases[i].u;
        } else {
            flt.value.v.i = cases[i].i;
        }
        if (pq_reader_row_group_may_match(r, 0, &flt, 1) != cases[i].g0 ||
            pq_reader_row_group_may_match(r, 1, &flt, 1) != cases[i].g1)
            fail_msg("pruning case %zu", i);
    }
    /* a filter whose value type does not match the column: no pruning */
    {
        struct pq_filter flt = {0, PQ_EQ, {AR_UTF8, {.i = 0}}};
        assert_true(pq_reader_row_group_may_match(r, 0, &flt, 1));
    }
    /* ANDed filters, and scans that skip what the statistics exclude */
    {
        struct pq_filter flt[2];
        struct pq_scan *sc;
        struct ArrowArray b;
        bool eof;
        int fields[] = {3, 0}, batches;
        memset(flt, 0, sizeof flt);
        flt[0].field = 0;
        flt[0].op = PQ_GE;
        flt[0].value.type = AR_INT32;
        flt[0].value.v.i = 15;
        flt[1] = flt[0];
        flt[1].op = PQ_LE;
        flt[1].value.v.i = 50;
        assert_true(pq_reader_row_group_may_match(r, 0, flt, 2));
        assert_false(pq_reader_row_group_may_match(r, 1, flt, 2));
        assert_true(pq_reader_row_group_may_match(r, 1, flt, 1));
        assert_true(pq_reader_row_group_may_match(r, 1, flt, 0));
        static const int64_t lower[] = {15, 150, 500};
        static const int want[] = {2, 1, 0};
        for (int k = 0; k < 3; k++) {
            flt[0].value.v.i = lower[k];
            assert_ok(pq_scan_open(&sc, r, fields, 2, flt, 1));
            assert_int_equal(pq_scan_schema(sc)->n_fields, 2);
            assert_string_equal(pq_scan_schema(sc)->fields[0].name, "x");
            batches = 0;
            for (;;) {
                assert_ok(pq_scan_next(sc, &b, &eof));
                if (eof) {
                    assert_null(b.release);
                    break;
                }
                assert_int_equal(b.n_children, 2);
                assert_int_equal(b.length, 1);
                ar_array_release(&b);
                batches++;
            }
            assert_int_equal(batches, want[k]);
            pq_scan_free(sc);
        }
        flt[0].field = 9;
        assert_int_equal(pq_scan_open(&sc, r, NULL, 0, flt, 1),
                         INFINO_ERR_INVALID);
    }
    pq_reader_free(r);
    store_blob_close(blob);
    mem_free(file);
    for (int i = 0; i < 5; i++)
        buf_free(&c[i].bytes);
}

/* ---- limits ----------------------------------------------------------- */

static void test_parquet_reader__memory_limit_and_oom(void **state)
{
    uint8_t *file;
    size_t len;
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;
    struct ArrowArray b;
    long failures = 0;
    (void)state;

    flat_file(&file, &len, true);
    assert_ok(open_bytes(&r, &blob, file, len));
    pq_reader_set_max_bytes(r, 100);
    assert_int_equal(pq_reader_read_row_group(r, 0, NULL, 0, &b),
                     INFINO_ERR_UNSUPPORTED);
    assert_non_null(strstr(err_last(), "memory limit"));
    pq_reader_set_max_bytes(r, 0);
    /* every allocation of a read, failed in turn */
    for (long k = 1;; k++) {
        infino_status st;
        mem_fail_after(k);
        st = pq_reader_read_row_group(r, 0, NULL, 0, &b);
        mem_fail_reset();
        if (st == INFINO_OK) {
            check_flat(&b);
            ar_array_release(&b);
            break;
        }
        assert_int_equal(st, INFINO_ERR_NOMEM);
        failures++;
    }
    assert_true(failures > 10);
    pq_reader_free(r);
    store_blob_close(blob);
    /* and every allocation of open */
    failures = 0;
    for (long k = 1;; k++) {
        infino_status st;
        assert_ok(store_blob_from_memory(&blob, file, len, "t", false));
        mem_fail_after(k);
        st = pq_reader_open(&r, blob);
        mem_fail_reset();
        if (st == INFINO_OK) {
            pq_reader_free(r);
            store_blob_close(blob);
            break;
        }
        assert_int_equal(st, INFINO_ERR_NOMEM);
        assert_null(r);
        store_blob_close(blob);
        failures++;
    }
    assert_true(failures > 5);
    mem_free(file);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parquet_reader__flat_columns),
        cmocka_unit_test(test_parquet_reader__lists),
        cmocka_unit_test(test_parquet_reader__fixed_size_list),
        cmocka_unit_test(test_parquet_reader__all_null_and_empty),
        cmocka_unit_test(test_parquet_reader__legacy_shapes_and_types),
        cmocka_unit_test(test_parquet_reader__corrupt_files),
        cmocka_unit_test(test_parquet_reader__corrupt_pages),
        cmocka_unit_test(test_parquet_reader__pruning),
        cmocka_unit_test(test_parquet_reader__memory_limit_and_oom),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
