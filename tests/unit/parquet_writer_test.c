/*
 * parquet_writer_test.c - the writer's file structure, checked by walking
 * what it wrote with the metadata decoder: page sizes against page_bytes,
 * row groups against row_group_rows, dictionary page first and the PLAIN
 * fallback after it, bytes added between the data and the footer, and
 * every allocation failing in turn (NOMEM, no leak under ASan).
 * Values themselves are checked against pyarrow/DuckDB in tests/py.
 */
#include "harness.h"

#include "format/parquet/parquet.h"
#include "format/parquet/pq_codec.h"
#include "format/parquet/pq_meta.h"
#include "util/alloc.h"
#include "util/endian.h"

/* A two-column batch: "id" int64 (non-null) and "s" utf8 with nulls,
 * values distinct when `distinct`, else drawn from 5 words. */
struct batch {
    struct ArrowArray root, id, s;
    struct ArrowArray *kids[2];
    const void *root_bufs[1], *id_bufs[2], *s_bufs[3];
    int64_t *ids;
    int32_t *offs;
    char *data;
    uint8_t *valid;
};

static void batch_make(struct batch *b, int64_t n, int64_t first, bool distinct)
{
    static const char *words[] = {"red", "green", "blue", "", "cyan"};
    size_t cap = (size_t)n * 24 + 1, len = 0;

    memset(b, 0, sizeof *b);
    /* test data bypasses mem_* so injected failures hit only the writer */
    b->ids = malloc((size_t)n * 8 + 8);
    b->offs = malloc((size_t)(n + 1) * 4);
    b->data = malloc(cap);
    b->valid = calloc((size_t)n / 8 + 1, 1);
    b->offs[0] = 0;
    for (int64_t i = 0; i < n; i++) {
        bool ok = (first + i) % 7 != 3;
        b->ids[i] = first + i;
        if (ok) {
            b->valid[i >> 3] |= (uint8_t)(1u << (i & 7));
            if (distinct)
                len += (size_t)snprintf(b->data + len, cap - len,
                                        "value-%09lld", (long long)(first + i));
            else {
                const char *w = words[(first + i) % 5];
                memcpy(b->data + len, w, strlen(w));
                len += strlen(w);
            }
        } else {
            b->s.null_count++;
        }
        b->offs[i + 1] = (int32_t)len;
    }
    b->id.length = n;
    b->id.n_buffers = 2;
    b->id_bufs[1] = b->ids;
    b->id.buffers = b->id_bufs;
    b->s.length = n;
    b->s.n_buffers = 3;
    b->s_bufs[0] = b->valid;
    b->s_bufs[1] = b->offs;
    b->s_bufs[2] = b->data;
    b->s.buffers = b->s_bufs;
    b->kids[0] = &b->id;
    b->kids[1] = &b->s;
    b->root.length = n;
    b->root.n_buffers = 1;
    b->root.buffers = b->root_bufs;
    b->root.n_children = 2;
    b->root.children = b->kids;
}

static void batch_free(struct batch *b)
{
    free(b->ids);
    free(b->offs);
    free(b->data);
    free(b->valid);
}

static void make_schema(struct ar_schema *s)
{
    memset(s, 0, sizeof *s);
    s->n_fields = 2;
    s->fields = mem_calloc(2, sizeof *s->fields);
    s->fields[0].name = mem_strdup("id");
    s->fields[0].type = AR_INT64;
    s->fields[1].name = mem_strdup("s");
    s->fields[1].type = AR_UTF8;
    s->fields[1].nullable = true;
}

/* Writes `n_batches` batches of `rows` rows; returns the file bytes. */
static infino_status write_file_with(uint8_t **data, size_t *len,
                                     const struct ar_schema *schema,
                                     const struct pq_write_opts *o,
                                     int n_batches, int64_t rows, bool distinct,
                                     bool extra)
{
    struct store_sink *sink = NULL;
    struct pq_writer *w = NULL;
    infino_status st;

    *data = NULL;
    st = store_sink_open_memory(&sink, "test.parquet");
    if (st == INFINO_OK)
        st = pq_writer_open(&w, sink, schema, o);
    for (int k = 0; st == INFINO_OK && k < n_batches; k++) {
        struct batch b;
        batch_make(&b, rows, k * rows, distinct);
        st = pq_writer_write(w, &b.root);
        batch_free(&b);
    }
    if (st == INFINO_OK)
        st = pq_writer_add_kv(w, "user", "v", 1);
    if (st == INFINO_OK && extra) {
        st = pq_writer_end_data(w);
        if (st == INFINO_OK)
            st = store_sink_write(sink, "INDEXREGION", 11);
    }
    if (st == INFINO_OK)
        st = pq_writer_finish(w);
    pq_writer_free(w);
    if (st == INFINO_OK)
        st = store_sink_take_memory(sink, data, len);
    else
        store_sink_abort(sink);
    return st;
}

static infino_status write_file(uint8_t **data, size_t *len,
                                const struct pq_write_opts *o, int n_batches,
                                int64_t rows, bool distinct, bool extra)
{
    struct ar_schema schema;
    infino_status st;

    make_schema(&schema);
    st = write_file_with(data, len, &schema, o, n_batches, rows, distinct,
                         extra);
    ar_schema_free(&schema);
    return st;
}

static void decode_footer(struct pq_file_meta *m, const uint8_t *p, size_t n)
{
    uint32_t flen;

    assert_true(n >= 12);
    assert_memory_equal(p, "PAR1", 4);
    assert_memory_equal(p + n - 4, "PAR1", 4);
    flen = load_u32le(p + n - 8);
    assert_true(flen <= n - 12);
    assert_ok(pq_meta_decode_file(m, p + n - 8 - flen, flen));
}

struct page_walk {
    int n_dict, n_rle_dict, n_plain;
    int64_t values;
    int32_t max_uncompressed;
    bool dict_first_ok;
};

/* Walks the pages of one column chunk, decompressing each. */
static void walk_chunk(struct page_walk *pw, const uint8_t *file,
                       const struct pq_column_meta *cm)
{
    int64_t start = cm->has_dictionary_page_offset
                        ? cm->dictionary_page_offset
                        : cm->data_page_offset;
    struct rd r = rd_make(file + start, (size_t)cm->total_compressed_size);
    int k = 0;

    memset(pw, 0, sizeof *pw);
    pw->dict_first_ok = true;
    while (rd_left(&r) > 0) {
        struct pq_page_header h;
        const uint8_t *body = NULL;
        uint8_t *raw;
        int32_t skip = 0;
        assert_ok(pq_meta_decode_page_header(&h, &r));
        assert_int_equal(rd_bytes(&r, (size_t)h.compressed_page_size, &body),
                         0);
        raw = mem_alloc((size_t)h.uncompressed_page_size + 1);
        if (h.type == PQ_PAGE_DATA_V2) {
            skip = h.data_page_v2.def_levels_len +
                   h.data_page_v2.rep_levels_len;
            memcpy(raw, body, (size_t)skip);
        }
        assert_ok(pq_decompress(cm->codec, body + skip,
                                (size_t)(h.compressed_page_size - skip),
                                raw + skip,
                                (size_t)(h.uncompressed_page_size - skip)));
        mem_free(raw);
        if (h.type == PQ_PAGE_DICTIONARY) {
            pw->n_dict++;
            if (k != 0)
                pw->dict_first_ok = false;
        } else {
            enum pq_encoding e = h.type == PQ_PAGE_DATA
                                     ? h.data_page.encoding
                                     : h.data_page_v2.encoding;
            pw->values += h.type == PQ_PAGE_DATA ? h.data_page.num_values
                                                 : h.data_page_v2.num_values;
            if (e == PQ_ENC_RLE_DICTIONARY) {
                pw->n_rle_dict++;
                if (pw->n_plain > 0) /* no dictionary page after PLAIN */
                    pw->dict_first_ok = false;
            } else {
                pw->n_plain++;
            }
            if (h.uncompressed_page_size > pw->max_uncompressed)
                pw->max_uncompressed = h.uncompressed_page_size;
        }
        k++;
    }
    assert_int_equal(pw->values, cm->num_values);
}

static void test_parquet_writer__pages_and_row_groups(void **state)
{
    struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
    uint8_t *file;
    size_t len;
    struct pq_file_meta m;
    (void)state;

    for (int v = 1; v <= 2; v++) {
        o.data_page_version = v;
        o.page_bytes = 4096;
        o.row_group_rows = 10000;
        o.codec = v == 1 ? PQ_SNAPPY : PQ_ZSTD;
        assert_ok(write_file(&file, &len, &o, 7, 3001, false, false));
        decode_footer(&m, file, len);
        assert_int_equal(m.num_rows, 7 * 3001);
        assert_int_equal(m.n_row_groups, 3);
        assert_int_equal(m.row_groups[0].num_rows, 10000);
        assert_int_equal(m.row_groups[2].num_rows, 21007 - 20000);
        for (size_t g = 0; g < m.n_row_groups; g++) {
            struct page_walk pw;
            const struct pq_column_chunk *cols = m.row_groups[g].columns;
            const struct pq_column_meta *id = &cols[0].meta_data;
            const struct pq_column_meta *s = &cols[1].meta_data;
            walk_chunk(&pw, file, id);
            assert_int_equal(pw.n_dict, 0);
            /* 8-byte values: a page ends within one value of page_bytes */
            assert_true(pw.max_uncompressed <= 4096 + 8);
            assert_true(pw.n_plain >= 10000 * 8 / 4096 - 1 || g == 2);
            walk_chunk(&pw, file, s);
            assert_int_equal(pw.n_dict, 1);
            assert_true(pw.dict_first_ok);
            assert_int_equal(pw.n_plain, 0);
            assert_true(s->has_dictionary_page_offset);
            assert_true(s->dictionary_page_offset < s->data_page_offset);
            assert_int_equal(m.row_groups[g].columns[0].file_offset,
                             m.row_groups[g].file_offset);
        }
        pq_file_meta_free(&m);
        mem_free(file);
    }
}

static void test_parquet_writer__dictionary_fallback(void **state)
{
    struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
    uint8_t *file;
    size_t len;
    struct pq_file_meta m;
    struct page_walk pw;
    (void)state;

    o.dictionary_bytes = 10000;
    o.page_bytes = 2048;
    assert_ok(write_file(&file, &len, &o, 4, 2500, true, false));
    decode_footer(&m, file, len);
    assert_int_equal(m.n_row_groups, 1);
    walk_chunk(&pw, file, &m.row_groups[0].columns[1].meta_data);
    /* dictionary page, dictionary-encoded pages, then PLAIN to the end */
    assert_int_equal(pw.n_dict, 1);
    assert_true(pw.n_rle_dict >= 1);
    assert_true(pw.n_plain >= 10);
    assert_true(pw.dict_first_ok);
    {
        const struct pq_column_meta *cm = &m.row_groups[0].columns[1].meta_data;
        int64_t dict_len = cm->data_page_offset - cm->dictionary_page_offset;
        /* the dictionary stopped within about one page of its limit */
        assert_true(dict_len < 10000 + 2048 + 64);
        assert_int_equal(cm->n_encoding_stats, 3);
    }
    pq_file_meta_free(&m);
    mem_free(file);

    /* dictionary off: no dictionary page at all */
    o.dictionary = 0;
    assert_ok(write_file(&file, &len, &o, 1, 100, false, false));
    decode_footer(&m, file, len);
    assert_false(
        m.row_groups[0].columns[1].meta_data.has_dictionary_page_offset);
    pq_file_meta_free(&m);
    mem_free(file);
}

/* pq_writer_end_data() lets the caller put bytes between the row groups
 * and the footer; the footer still points only at the row groups. */
static void test_parquet_writer__bytes_before_footer(void **state)
{
    struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
    uint8_t *file;
    size_t len;
    struct pq_file_meta m;
    const uint8_t *hit = NULL;
    (void)state;

    o.row_group_rows = 300;
    assert_ok(write_file(&file, &len, &o, 2, 500, false, true));
    decode_footer(&m, file, len);
    for (size_t i = 0; i + 11 <= len; i++)
        if (memcmp(file + i, "INDEXREGION", 11) == 0)
            hit = file + i;
    assert_non_null(hit);
    for (size_t g = 0; g < m.n_row_groups; g++) {
        const struct pq_row_group *rg = &m.row_groups[g];
        assert_true(rg->file_offset + rg->total_compressed_size <=
                    hit - file);
    }
    /* ARROW:schema first, then the caller's entry */
    assert_true(m.n_kv >= 2);
    assert_true(pq_bytes_eq(m.kv[0].key, "ARROW:schema"));
    assert_true(pq_bytes_eq(m.kv[m.n_kv - 1].key, "user"));
    assert_true(pq_bytes_eq(m.created_by, "infino version 0.1.0"));
    assert_int_equal(m.n_column_orders, 2);
    assert_int_equal(m.column_orders[0], PQ_ORDER_TYPE_DEFINED);
    pq_file_meta_free(&m);
    mem_free(file);
}

static void test_parquet_writer__misuse(void **state)
{
    struct ar_schema schema;
    struct store_sink *sink;
    struct pq_writer *w;
    struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
    struct batch b;
    (void)state;

    make_schema(&schema);
    assert_ok(store_sink_open_memory(&sink, "m"));
    o.data_page_version = 3;
    assert_int_equal(pq_writer_open(&w, sink, &schema, &o), INFINO_ERR_INVALID);
    assert_null(w);
    o.data_page_version = 1;
    o.codec = (enum pq_codec)5;
    assert_int_equal(pq_writer_open(&w, sink, &schema, &o),
                     INFINO_ERR_UNSUPPORTED);
    assert_ok(pq_writer_open(&w, sink, &schema, NULL));
    batch_make(&b, 10, 0, false);
    assert_ok(pq_writer_write(w, &b.root));
    assert_ok(pq_writer_end_data(w));
    /* no rows after the data has ended */
    assert_int_equal(pq_writer_write(w, &b.root), INFINO_ERR_INVALID);
    assert_ok(pq_writer_finish(w));
    assert_int_equal(pq_writer_finish(w), INFINO_ERR_INVALID);
    assert_int_equal(pq_writer_num_rows(w), 10);
    batch_free(&b);
    pq_writer_free(w);
    pq_writer_free(NULL);
    store_sink_abort(sink);
    ar_schema_free(&schema);
}

/* Fail the Nth allocation for every N until the whole write succeeds:
 * each failure must be a clean NOMEM (ASan checks for leaks). */
static void test_parquet_writer__allocation_failures(void **state)
{
    struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
    struct ar_schema schema;
    uint8_t *file;
    size_t len;
    long n;
    (void)state;

    o.row_group_rows = 300;
    o.page_bytes = 512;
    o.dictionary_bytes = 600;
    make_schema(&schema);
    for (n = 1; n < 100000; n++) {
        infino_status st;
        pq_codec_thread_cleanup();
        mem_fail_after(n);
        st = write_file_with(&file, &len, &schema, &o, 2, 400, true, true);
        mem_fail_reset();
        if (st == INFINO_OK) {
            mem_free(file);
            break;
        }
        assert_int_equal(st, INFINO_ERR_NOMEM);
    }
    assert_true(n > 10);
    ar_schema_free(&schema);
    pq_codec_thread_cleanup();
}

/* ---- large chunks, read back -------------------------------------------- */

/* Rows [0, n) of a three-column batch: "id" int64 = first + i, "s" utf8
 * (batch_make's distinct strings), and "blob", 256 bytes a row that are
 * random in blocks of 1024 rows and zero in the blocks between, so pages
 * alternate between incompressible and nearly empty once compressed. */
static void big_batch(struct ArrowArray *out, struct ar_schema *schema,
                      int64_t n, int64_t first)
{
    struct ar_builder *bb;
    struct ArrowArray kids[3];
    void *root_bufs[1] = {NULL};
    uint8_t v[256];

    memset(schema, 0, sizeof *schema);
    schema->n_fields = 3;
    schema->fields = mem_calloc(3, sizeof *schema->fields);
    schema->fields[0].name = mem_strdup("id");
    schema->fields[0].type = AR_INT64;
    schema->fields[1].name = mem_strdup("s");
    schema->fields[1].type = AR_UTF8;
    schema->fields[1].nullable = true;
    schema->fields[2].name = mem_strdup("blob");
    schema->fields[2].type = AR_BINARY;

    for (int c = 0; c < 3; c++) {
        assert_ok(ar_builder_new(&bb, &schema->fields[c]));
        for (int64_t i = 0; i < n; i++) {
            char text[32];
            bool noise = ((first + i) / 1024) % 2 == 0;
            if (c == 0) {
                assert_ok(ar_builder_append_int(bb, first + i));
            } else if (c == 1 && (first + i) % 7 == 3) {
                assert_ok(ar_builder_append_null(bb));
            } else if (c == 1) {
                int k = snprintf(text, sizeof text, "value-%09lld",
                                 (long long)(first + i));
                assert_ok(ar_builder_append_bytes(bb, text, (size_t)k));
            } else {
                for (size_t k = 0; k < sizeof v; k++)
                    v[k] = noise ? (uint8_t)test_rand() : 0;
                assert_ok(ar_builder_append_bytes(bb, v, sizeof v));
            }
        }
        assert_ok(ar_builder_finish(bb, &kids[c]));
        ar_builder_free(bb);
    }
    assert_ok(ar_array_make(out, n, 0, 1, root_bufs, 3, kids));
}

/* Cell i of byte-array column `a` equals cell j of `b`. */
static bool bytes_eq(const struct ArrowArray *a, int64_t i,
                     const struct ArrowArray *b, int64_t j)
{
    const int32_t *ao = a->buffers[1], *bo = b->buffers[1];
    int64_t ia = a->offset + i, jb = b->offset + j;
    int32_t an = ao[ia + 1] - ao[ia], bn = bo[jb + 1] - bo[jb];

    if (ar_array_is_valid(a, i) != ar_array_is_valid(b, j))
        return false;
    return an == bn && memcmp((const uint8_t *)a->buffers[2] + ao[ia],
                              (const uint8_t *)b->buffers[2] + bo[jb],
                              (size_t)an) == 0;
}

/* Column chunks of many megabytes (the writer keeps them in segments,
 * reused across row groups, and compresses pages in place) come back
 * exactly, with every codec and both page versions; pages whose
 * compressed sizes jump between tiny and incompressible move their body
 * after the header is re-encoded. */
static void test_parquet_writer__large_chunks_round_trip(void **state)
{
    static const enum pq_codec codecs[] = {PQ_UNCOMPRESSED, PQ_SNAPPY,
                                           PQ_GZIP, PQ_ZSTD};
    struct ar_schema schema;
    struct ArrowArray src;
    int64_t n = 40000;
    (void)state;

    big_batch(&src, &schema, n, 0);
    for (int cfg = 0; cfg < 8; cfg++) {
        struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
        struct store_sink *sink = NULL;
        struct store_blob *blob = NULL;
        struct pq_writer *w = NULL;
        struct pq_reader *r = NULL;
        uint8_t *file;
        size_t len;
        int64_t row = 0;

        o.codec = codecs[cfg % 4];
        o.data_page_version = 1 + cfg / 4;
        o.page_bytes = 256u << 10;
        o.row_group_rows = 25000;
        o.dictionary = 0;
        assert_ok(store_sink_open_memory(&sink, "big.parquet"));
        assert_ok(pq_writer_open(&w, sink, &schema, &o));
        assert_ok(pq_writer_write(w, &src));
        assert_ok(pq_writer_finish(w));
        pq_writer_free(w);
        assert_ok(store_sink_take_memory(sink, &file, &len));
        assert_ok(store_blob_from_memory(&blob, file, len, "big", false));
        assert_ok(pq_reader_open(&r, blob));
        assert_int_equal(pq_reader_num_row_groups(r), 2);
        for (int g = 0; g < 2; g++) {
            struct ArrowArray got;
            const int64_t *ids;
            assert_ok(pq_reader_read_row_group(r, g, NULL, 0, &got));
            ids = got.children[0]->buffers[1];
            for (int64_t i = 0; i < got.length; i++) {
                if (ids[i] != row + i)
                    fail_msg("config %d: id %lld", cfg, (long long)(row + i));
                if (!bytes_eq(got.children[1], i, src.children[1], row + i) ||
                    !bytes_eq(got.children[2], i, src.children[2], row + i))
                    fail_msg("config %d: row %lld differs", cfg,
                             (long long)(row + i));
            }
            row += got.length;
            ar_array_release(&got);
        }
        assert_int_equal(row, n);
        pq_reader_free(r);
        store_blob_close(blob);
        mem_free(file);
    }
    ar_array_release(&src);
    ar_schema_free(&schema);
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parquet_writer__pages_and_row_groups),
        cmocka_unit_test(test_parquet_writer__dictionary_fallback),
        cmocka_unit_test(test_parquet_writer__bytes_before_footer),
        cmocka_unit_test(test_parquet_writer__misuse),
        cmocka_unit_test(test_parquet_writer__allocation_failures),
        cmocka_unit_test(test_parquet_writer__large_chunks_round_trip),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    pq_codec_thread_cleanup();
    return rc;
}
