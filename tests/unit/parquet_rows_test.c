/*
 * parquet_rows_test.c - point reads (pq_reader_read_rows) against whole
 * row-group reads and against the data that was written: every column
 * type with nulls, lists (null, empty, across pages), fixed-size lists,
 * dictionary and PLAIN pages, v1 and v2 pages, with and without the page
 * index, several codecs; then proof that unrequested pages are never
 * decompressed, corrupt offset indexes (each INFINO_ERR_CORRUPT), the
 * writer's OffsetIndex and ColumnIndex against the pages and values they
 * describe, argument checks and allocation failures.
 */
#include "harness.h"

#include "format/arrow/arrow.h"
#include "format/parquet/parquet.h"
#include "format/parquet/pq_decode.h"
#include "format/parquet/pq_meta.h"
#include "util/alloc.h"
#include "util/endian.h"

#include <math.h>
#include <pthread.h>

/* ---- comparing cells ---------------------------------------------------- */

static int64_t offset_at(const struct ArrowArray *a, bool large, int64_t i)
{
    return large ? ((const int64_t *)a->buffers[1])[i]
                 : ((const int32_t *)a->buffers[1])[i];
}

/* Cell i of `a` equals cell j of `b`, both arrays of field `f` (offsets
 * honoured): same validity and, when valid, the same value bit for bit. */
static bool cell_eq(const struct ar_field *f, const struct ArrowArray *a,
                    int64_t i, const struct ArrowArray *b, int64_t j)
{
    bool va = ar_array_is_valid(a, i), vb = ar_array_is_valid(b, j);

    if (va != vb)
        return false;
    if (!va)
        return true;
    i += a->offset;
    j += b->offset;
    switch (f->type) {
    case AR_BOOL: {
        const uint8_t *x = a->buffers[1], *y = b->buffers[1];
        return ((x[i >> 3] >> (i & 7)) & 1) == ((y[j >> 3] >> (j & 7)) & 1);
    }
    case AR_UTF8:
    case AR_BINARY:
    case AR_LARGE_UTF8:
    case AR_LARGE_BINARY: {
        bool large = f->type == AR_LARGE_UTF8 || f->type == AR_LARGE_BINARY;
        int64_t s1 = offset_at(a, large, i), e1 = offset_at(a, large, i + 1);
        int64_t s2 = offset_at(b, large, j), e2 = offset_at(b, large, j + 1);
        return e1 - s1 == e2 - s2 &&
               (e1 == s1 || memcmp((const uint8_t *)a->buffers[2] + s1,
                                   (const uint8_t *)b->buffers[2] + s2,
                                   (size_t)(e1 - s1)) == 0);
    }
    case AR_FIXED_SIZE_LIST:
        for (int64_t k = 0; k < f->list_size; k++)
            if (!cell_eq(&f->children[0], a->children[0],
                         i * f->list_size + k, b->children[0],
                         j * f->list_size + k))
                return false;
        return true;
    case AR_LIST:
    case AR_LARGE_LIST: {
        bool large = f->type == AR_LARGE_LIST;
        int64_t s1 = offset_at(a, large, i), e1 = offset_at(a, large, i + 1);
        int64_t s2 = offset_at(b, large, j), e2 = offset_at(b, large, j + 1);
        if (e1 - s1 != e2 - s2)
            return false;
        for (int64_t k = 0; k < e1 - s1; k++)
            if (!cell_eq(&f->children[0], a->children[0], s1 + k,
                         b->children[0], s2 + k))
                return false;
        return true;
    }
    default: {
        size_t w = (size_t)ar_type_bit_width(f->type) / 8;
        return memcmp((const uint8_t *)a->buffers[1] + (size_t)i * w,
                      (const uint8_t *)b->buffers[1] + (size_t)j * w,
                      w) == 0;
    }
    }
}

/* ---- test data ---------------------------------------------------------- */

static struct ar_field leaf_field(const char *name, enum ar_type t,
                                  bool nullable)
{
    struct ar_field f;

    memset(&f, 0, sizeof f);
    f.name = (char *)name;
    f.type = t;
    f.nullable = nullable;
    return f;
}

/* Every type the reader produces. Names and children are static: the
 * schema is never freed (writers and builders copy it). */
enum {
    C_BOOL,
    C_I8,
    C_U16,
    C_I32,
    C_U64,
    C_F32,
    C_F64,
    C_WORD, /* utf8, few distinct values: stays dictionary-encoded */
    C_LONG, /* large_utf8, all distinct: falls back to PLAIN */
    C_BIN,
    C_DATE,
    C_TS,
    C_DEC,
    C_LIST,  /* list<int32>: null lists, empty lists, null items */
    C_LLIST, /* large_list<utf8> */
    C_FSL,   /* fixed_size_list<float32, 3> with null slots */
    N_COLS
};

static struct ar_field item_i32, item_str, item_f32;
static struct ar_field cols[N_COLS];
static struct ar_schema all_schema = {N_COLS, cols, 0, NULL};

static void schema_init(void)
{
    item_i32 = leaf_field("element", AR_INT32, true);
    item_str = leaf_field("element", AR_UTF8, false);
    item_f32 = leaf_field("element", AR_FLOAT32, true);
    cols[C_BOOL] = leaf_field("b", AR_BOOL, true);
    cols[C_I8] = leaf_field("i8", AR_INT8, true);
    cols[C_U16] = leaf_field("u16", AR_UINT16, false);
    cols[C_I32] = leaf_field("i32", AR_INT32, true);
    cols[C_U64] = leaf_field("u64", AR_UINT64, false);
    cols[C_F32] = leaf_field("f32", AR_FLOAT32, true);
    cols[C_F64] = leaf_field("f64", AR_FLOAT64, false);
    cols[C_WORD] = leaf_field("word", AR_UTF8, true);
    cols[C_LONG] = leaf_field("long", AR_LARGE_UTF8, false);
    cols[C_BIN] = leaf_field("bin", AR_BINARY, true);
    cols[C_DATE] = leaf_field("d", AR_DATE32, true);
    cols[C_TS] = leaf_field("ts", AR_TIMESTAMP, true);
    cols[C_TS].unit = AR_MICRO;
    cols[C_DEC] = leaf_field("dec", AR_DECIMAL128, true);
    cols[C_DEC].precision = 20;
    cols[C_DEC].scale = 3;
    cols[C_LIST] = leaf_field("l", AR_LIST, true);
    cols[C_LIST].n_children = 1;
    cols[C_LIST].children = &item_i32;
    cols[C_LLIST] = leaf_field("ll", AR_LARGE_LIST, false);
    cols[C_LLIST].n_children = 1;
    cols[C_LLIST].children = &item_str;
    cols[C_FSL] = leaf_field("fsl", AR_FIXED_SIZE_LIST, true);
    cols[C_FSL].list_size = 3;
    cols[C_FSL].n_children = 1;
    cols[C_FSL].children = &item_f32;
}

static bool chance(unsigned pct)
{
    return test_rand() % 100 < pct;
}

static void append_value(struct ar_builder *b, int col, int64_t row)
{
    static const char *words[] = {"alpha", "beta", "", "gamma", "delta"};
    char text[64];
    int n;

    switch (col) {
    case C_BOOL:
        assert_ok(ar_builder_append_bool(b, test_rand() & 1));
        break;
    case C_I8:
        assert_ok(ar_builder_append_int(b, (int64_t)(test_rand() % 256) - 128));
        break;
    case C_U16:
        assert_ok(ar_builder_append_uint(b, test_rand() % 65536));
        break;
    case C_I32:
        assert_ok(ar_builder_append_int(b, (int32_t)test_rand()));
        break;
    case C_U64:
        assert_ok(ar_builder_append_uint(b, test_rand()));
        break;
    case C_F32:
    case C_F64:
        assert_ok(ar_builder_append_double(
            b, ((double)(int64_t)test_rand()) / 1e12));
        break;
    case C_WORD: {
        const char *w = words[test_rand() % 5];
        assert_ok(ar_builder_append_bytes(b, w, strlen(w)));
        break;
    }
    case C_LONG:
        n = snprintf(text, sizeof text, "row %lld: %llx", (long long)row,
                     (unsigned long long)test_rand());
        assert_ok(ar_builder_append_bytes(b, text, (size_t)n));
        break;
    case C_BIN: {
        uint8_t raw[24];
        size_t len = test_rand() % sizeof raw;
        for (size_t k = 0; k < len; k++)
            raw[k] = (uint8_t)test_rand();
        assert_ok(ar_builder_append_bytes(b, raw, len));
        break;
    }
    case C_DATE:
        assert_ok(ar_builder_append_int(b, (int64_t)(test_rand() % 40000) -
                                               20000));
        break;
    case C_TS:
        assert_ok(ar_builder_append_int(b, (int64_t)(test_rand() >> 8)));
        break;
    case C_DEC: {
        /* within 20 digits of precision */
        int64_t v = (int64_t)(test_rand() % 2000000000000000ull) -
                    1000000000000000ll;
        uint8_t d[16];
        store_u64le(d, (uint64_t)v);
        store_u64le(d + 8, v < 0 ? UINT64_MAX : 0);
        assert_ok(ar_builder_append_decimal(b, d));
        break;
    }
    case C_LIST: {
        struct ar_builder *c = ar_builder_child(b, 0);
        size_t len = test_rand() % 5;
        for (size_t k = 0; k < len; k++) {
            if (chance(15))
                assert_ok(ar_builder_append_null(c));
            else
                assert_ok(ar_builder_append_int(c, (int32_t)test_rand()));
        }
        assert_ok(ar_builder_end_list(b));
        break;
    }
    case C_LLIST: {
        struct ar_builder *c = ar_builder_child(b, 0);
        size_t len = test_rand() % 4;
        for (size_t k = 0; k < len; k++) {
            n = snprintf(text, sizeof text, "%lld.%zu", (long long)row, k);
            assert_ok(ar_builder_append_bytes(c, text, (size_t)n));
        }
        assert_ok(ar_builder_end_list(b));
        break;
    }
    case C_FSL: {
        struct ar_builder *c = ar_builder_child(b, 0);
        for (int k = 0; k < 3; k++) {
            if (chance(10))
                assert_ok(ar_builder_append_null(c));
            else
                assert_ok(ar_builder_append_double(c, (double)row + k / 4.0));
        }
        assert_ok(ar_builder_end_list(b));
        break;
    }
    default:
        fail();
    }
}

/* Rows [null_from, null_to) of nullable columns are all null. */
static int64_t null_from = -1, null_to = -1;

/* A batch of `n` random rows of `s` (a struct array, owned). Nullable
 * columns are null about a fifth of the time, and in runs of 150 rows
 * now and then. */
static void make_batch(struct ArrowArray *out, const struct ar_schema *s,
                       const int *kinds, int64_t n)
{
    struct ArrowArray *kids = mem_calloc(s->n_fields, sizeof *kids);
    void *root_bufs[1] = {NULL};

    assert_non_null(kids);
    for (size_t c = 0; c < s->n_fields; c++) {
        struct ar_builder *b;
        assert_ok(ar_builder_new(&b, &s->fields[c]));
        for (int64_t i = 0; i < n; i++) {
            bool null_run = (i / 150) % 5 == 3 ||
                            (i >= null_from && i < null_to);
            if (s->fields[c].nullable && (null_run || chance(20)))
                assert_ok(ar_builder_append_null(b));
            else
                append_value(b, kinds[c], i);
        }
        assert_ok(ar_builder_finish(b, &kids[c]));
        ar_builder_free(b);
    }
    assert_ok(ar_array_make(out, n, 0, 1, root_bufs, (int)s->n_fields, kids));
    mem_free(kids);
}

/* Writes `batch` (schema `s`) with options `o`; *out is owned (mem_free). */
static void write_parquet(uint8_t **out, size_t *len, const struct ar_schema *s,
                          const struct ArrowArray *batch,
                          const struct pq_write_opts *o)
{
    struct store_sink *sink = NULL;
    struct pq_writer *w = NULL;

    assert_ok(store_sink_open_memory(&sink, "rows.parquet"));
    assert_ok(pq_writer_open(&w, sink, s, o));
    assert_ok(pq_writer_write(w, batch));
    assert_ok(pq_writer_finish(w));
    pq_writer_free(w);
    assert_ok(store_sink_take_memory(sink, out, len));
}

static void open_bytes(struct pq_reader **r, struct store_blob **blob,
                       const uint8_t *p, size_t n)
{
    assert_ok(store_blob_from_memory(blob, p, n, "rows.parquet", false));
    assert_ok(pq_reader_open(r, *blob));
}

/* ---- the oracle --------------------------------------------------------- */

/* Reads `rows` of row group `rg` (first row `rg_start` of the file) and
 * checks every cell against `src`, the batch that was written, and (with
 * `whole_too`) against the whole row group read. `fields` NULL means all
 * columns. */
static void check_rows_vs(struct pq_reader *r, int rg, int64_t rg_start,
                          const struct ArrowArray *src, const int *fields,
                          size_t n_fields, const uint32_t *rows,
                          size_t n_rows, bool whole_too)
{
    const struct ar_schema *s = pq_reader_schema(r);
    struct ArrowArray got, whole;
    struct ar_schema proj = {0, NULL, 0, NULL};
    size_t n = fields ? n_fields : s->n_fields;

    memset(&whole, 0, sizeof whole);
    assert_ok(pq_reader_read_rows(r, rg, fields, n_fields, rows, n_rows, &got));
    if (whole_too)
        assert_ok(pq_reader_read_row_group(r, rg, fields, n_fields, &whole));
    assert_int_equal(got.length, (int64_t)n_rows);
    assert_int_equal(got.n_children, (int64_t)n);
    proj.n_fields = n;
    proj.fields = mem_calloc(n ? n : 1, sizeof *proj.fields);
    for (size_t c = 0; c < n; c++)
        proj.fields[c] = s->fields[fields ? fields[c] : (int)c];
    assert_ok(ar_batch_validate(&proj, &got));
    for (size_t c = 0; c < n; c++) {
        int fi = fields ? fields[c] : (int)c;
        const struct ar_field *f = &s->fields[fi];
        for (size_t k = 0; k < n_rows; k++) {
            if (whole_too && !cell_eq(f, got.children[c], (int64_t)k,
                                      whole.children[c], rows[k]))
                fail_msg("column %s, row %u of row group %d differs from "
                         "the row-group read",
                         f->name, rows[k], rg);
            if (!cell_eq(f, got.children[c], (int64_t)k, src->children[fi],
                         rg_start + rows[k]))
                fail_msg("column %s, row %u of row group %d differs from "
                         "what was written",
                         f->name, rows[k], rg);
        }
    }
    mem_free(proj.fields);
    ar_array_release(&got);
    ar_array_release(&whole);
}

static void check_rows(struct pq_reader *r, int rg, int64_t rg_start,
                       const struct ArrowArray *src, const int *fields,
                       size_t n_fields, const uint32_t *rows, size_t n_rows)
{
    check_rows_vs(r, rg, rg_start, src, fields, n_fields, rows, n_rows, true);
}

/* Random ascending unique rows of [0, n): about `want` of them. */
static size_t random_rows(uint32_t *out, uint32_t n, size_t want)
{
    size_t k = 0;

    if (n == 0)
        return 0;
    for (uint32_t i = 0; i < n; i++)
        if (test_rand() % n < want)
            out[k++] = i;
    return k;
}

static void check_all_subsets(struct pq_reader *r,
                              const struct ArrowArray *src)
{
    static const int proj[] = {C_LIST, C_WORD, C_BOOL, C_LIST, C_FSL};
    int64_t start = 0;
    uint32_t *rows;

    for (int g = 0; g < pq_reader_num_row_groups(r); g++) {
        uint32_t n = (uint32_t)pq_reader_row_group_rows(r, g);
        size_t k;
        rows = mem_alloc((size_t)n * sizeof *rows + 4);
        /* nothing, the first row, the last row */
        check_rows(r, g, start, src, NULL, 0, rows, 0);
        rows[0] = 0;
        check_rows(r, g, start, src, NULL, 0, rows, 1);
        rows[0] = n - 1;
        check_rows(r, g, start, src, NULL, 0, rows, 1);
        /* a few, about a tenth, about a half, all */
        for (size_t want = 3; want <= n; want = want * 4 + 5) {
            k = random_rows(rows, n, want);
            check_rows(r, g, start, src, NULL, 0, rows, k);
            check_rows(r, g, start, src, proj, 5, rows, k);
        }
        for (uint32_t i = 0; i < n; i++)
            rows[i] = i;
        check_rows(r, g, start, src, NULL, 0, rows, n);
        /* a run inside one page, then one far away */
        k = 0;
        for (uint32_t i = n / 3; i < n / 3 + 4 && i < n; i++)
            rows[k++] = i;
        if (n > n / 3 + 40)
            rows[k++] = n - 2;
        check_rows(r, g, start, src, proj, 5, rows, k);
        mem_free(rows);
        start += n;
    }
}

static void test_parquet_rows__every_type_and_layout(void **state)
{
    struct ArrowArray src;
    int kinds[N_COLS];
    (void)state;

    schema_init();
    for (int c = 0; c < N_COLS; c++)
        kinds[c] = c;
    make_batch(&src, &all_schema, kinds, 1300);
    assert_ok(ar_batch_validate(&all_schema, &src));
    for (int cfg = 0; cfg < 16; cfg++) {
        static const enum pq_codec codecs[] = {PQ_UNCOMPRESSED, PQ_SNAPPY,
                                               PQ_ZSTD};
        struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
        struct store_blob *blob = NULL;
        struct pq_reader *r = NULL;
        uint8_t *file;
        size_t len;

        o.data_page_version = 1 + (cfg & 1);
        o.dictionary = (cfg >> 1) & 1;
        o.page_index = (cfg >> 2) & 1;
        o.codec = codecs[cfg % 3];
        /* tiny pages: dozens per chunk; a small dictionary limit makes
         * the distinct strings fall back to PLAIN mid-chunk */
        o.page_bytes = (cfg >> 3) ? 3000 : 400;
        o.fixed_list_page_bytes = (cfg >> 3) ? 200 : 0;
        o.fixed_list_codec = (cfg >> 3) ? (int)codecs[(cfg + 1) % 3] : -1;
        o.fixed_width_codec = (cfg & 2) ? (int)codecs[(cfg + 2) % 3] : -1;
        o.dictionary_bytes = 1500;
        o.row_group_rows = 500;
        print_message("# config %d: v%d dict %d index %d codec %d pages %u\n",
                      cfg, o.data_page_version, o.dictionary, o.page_index,
                      (int)o.codec, (unsigned)o.page_bytes);
        write_parquet(&file, &len, &all_schema, &src, &o);
        open_bytes(&r, &blob, file, len);
        assert_int_equal(pq_reader_num_row_groups(r), 3);
        check_all_subsets(r, &src);
        pq_reader_free(r);
        store_blob_close(blob);
        mem_free(file);
    }
    ar_array_release(&src);
}

/* ---- arrays own their bytes -------------------------------------------- */

/* Every array a read returns owns its buffers: none points into the blob,
 * so a scan may drop a column chunk's mapped pages (store_blob_release)
 * as soon as it is decoded. Checked by reading from a borrowed memory
 * blob, then scribbling over and freeing its bytes before comparing with
 * what was written; ASan also sees any later read of the freed bytes.
 * Uncompressed pages are the risky ones: their values are in the blob
 * as Arrow wants them. */
static void test_parquet_rows__arrays_own_their_bytes(void **state)
{
    struct ArrowArray src;
    int kinds[N_COLS];
    (void)state;

    schema_init();
    for (int c = 0; c < N_COLS; c++)
        kinds[c] = c;
    make_batch(&src, &all_schema, kinds, 700);
    for (int cfg = 0; cfg < 6; cfg++) {
        struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
        struct store_blob *blob = NULL;
        struct pq_reader *r = NULL;
        struct ArrowArray whole[2], some[2];
        uint32_t rows[3] = {1, 150, 299};
        uint8_t *file;
        size_t len;

        o.codec = cfg < 4 ? PQ_UNCOMPRESSED : PQ_ZSTD;
        o.data_page_version = 1 + (cfg & 1);
        o.dictionary = (cfg >> 1) & 1;
        o.page_bytes = 1000;
        o.row_group_rows = 350;
        write_parquet(&file, &len, &all_schema, &src, &o);
        open_bytes(&r, &blob, file, len);
        for (int g = 0; g < 2; g++) {
            assert_ok(pq_reader_read_row_group(r, g, NULL, 0, &whole[g]));
            assert_ok(pq_reader_read_rows(r, g, NULL, 0, rows, 3, &some[g]));
        }
        pq_reader_free(r);
        store_blob_close(blob);
        memset(file, 0xa5, len);
        mem_free(file);
        for (int g = 0; g < 2; g++) {
            for (int c = 0; c < N_COLS; c++) {
                const struct ar_field *f = &all_schema.fields[c];
                for (int64_t i = 0; i < 350; i++)
                    if (!cell_eq(f, whole[g].children[c], i, src.children[c],
                                 g * 350 + i))
                        fail_msg("config %d: column %s, row %lld", cfg,
                                 f->name, (long long)(g * 350 + i));
                for (int k = 0; k < 3; k++)
                    if (!cell_eq(f, some[g].children[c], k, src.children[c],
                                 g * 350 + rows[k]))
                        fail_msg("config %d: column %s, point row %u", cfg,
                                 f->name, rows[k]);
            }
            ar_array_release(&whole[g]);
            ar_array_release(&some[g]);
        }
    }
    ar_array_release(&src);
}

/* ---- scans recycle buffers --------------------------------------------- */

static void *release_batch(void *arg)
{
    ar_array_release(arg);
    return NULL;
}

/* A scan decodes each row group into the buffers of the batches its
 * consumer gave back (util/bufpool.h): a dropped batch's large values
 * buffer holds the next batch. Batches still held keep theirs, outlive
 * the scan, reader and file bytes, and may be released on any thread. */
static void test_parquet_rows__scan_reuses_buffers(void **state)
{
    static struct ar_field item, f[2];
    struct ar_schema schema = {2, f, 0, NULL};
    struct ArrowArray src, b[4];
    struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;
    struct pq_scan *sc = NULL;
    const void *first_values;
    uint8_t *file;
    size_t len;
    bool eof;
    pthread_t t;
    (void)state;

    item = leaf_field("element", AR_FLOAT32, false);
    f[0] = leaf_field("v", AR_FIXED_SIZE_LIST, false);
    f[0].list_size = 64; /* 8192 rows: 2 MiB of values, pooled */
    f[0].n_children = 1;
    f[0].children = &item;
    f[1] = leaf_field("s", AR_UTF8, true);
    {
        struct ar_builder *bv, *bs;
        struct ArrowArray kids[2];
        void *root_bufs[1] = {NULL};
        assert_ok(ar_builder_new(&bv, &f[0]));
        assert_ok(ar_builder_new(&bs, &f[1]));
        for (int64_t i = 0; i < 4 * 8192; i++) {
            char text[32];
            int n = snprintf(text, sizeof text, "s%lld", (long long)i);
            for (int k = 0; k < 64; k++)
                assert_ok(ar_builder_append_double(
                    ar_builder_child(bv, 0), (double)(i * 64 + k)));
            assert_ok(ar_builder_end_list(bv));
            if (chance(10))
                assert_ok(ar_builder_append_null(bs));
            else
                assert_ok(ar_builder_append_bytes(bs, text, (size_t)n));
        }
        assert_ok(ar_builder_finish(bv, &kids[0]));
        assert_ok(ar_builder_finish(bs, &kids[1]));
        ar_builder_free(bv);
        ar_builder_free(bs);
        assert_ok(ar_array_make(&src, 4 * 8192, 0, 1, root_bufs, 2, kids));
    }
    o.row_group_rows = 8192;
    write_parquet(&file, &len, &schema, &src, &o);
    open_bytes(&r, &blob, file, len);
    assert_ok(pq_scan_open(&sc, r, NULL, 0, NULL, 0));
    for (int g = 0; g < 4; g++) {
        assert_ok(pq_scan_next(sc, &b[g], &eof));
        assert_false(eof);
        assert_int_equal(b[g].length, 8192);
        if (g == 0) {
            first_values = b[0].children[0]->children[0]->buffers[1];
            for (int c = 0; c < 2; c++)
                for (int64_t i = 0; i < 8192; i++)
                    assert_true(cell_eq(&f[c], b[0].children[c], i,
                                        src.children[c], i));
            ar_array_release(&b[0]); /* its buffers go back to the scan */
        } else if (g == 1) {
            /* decoded into the values buffer batch 0 gave back */
            assert_ptr_equal(b[1].children[0]->children[0]->buffers[1],
                             first_values);
        } else if (g == 2) {
            /* batch 1 is still held: not its buffer */
            assert_ptr_not_equal(b[2].children[0]->children[0]->buffers[1],
                                 b[1].children[0]->children[0]->buffers[1]);
        }
    }
    assert_ok(pq_scan_next(sc, &b[0], &eof));
    assert_true(eof);
    pq_scan_free(sc);
    pq_reader_free(r);
    store_blob_close(blob);
    memset(file, 0x5a, len);
    mem_free(file);
    for (int g = 1; g < 4; g++)
        for (int c = 0; c < 2; c++)
            for (int64_t i = 0; i < 8192; i++)
                if (!cell_eq(&f[c], b[g].children[c], i, src.children[c],
                             g * 8192 + i))
                    fail_msg("row group %d, column %s, row %lld", g,
                             f[c].name, (long long)i);
    /* one released on another thread, the last ones here */
    assert_int_equal(pthread_create(&t, NULL, release_batch, &b[2]), 0);
    assert_int_equal(pthread_join(t, NULL), 0);
    ar_array_release(&b[1]);
    ar_array_release(&b[3]);
    ar_array_release(&src);
}

/* ---- pages that are not needed are not touched ------------------------- */

static struct ar_field two_cols[2];
static struct ar_schema two_schema = {2, two_cols, 0, NULL};

/* 4000 rows of id (int64 = row) and word (utf8), zstd, ~60 pages each. */
static void id_file(uint8_t **file, size_t *len, struct ArrowArray *src,
                    int page_index, int version)
{
    static const int kinds[] = {C_U64, C_LONG};
    struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
    uint64_t *ids;

    two_cols[0] = leaf_field("id", AR_UINT64, false);
    two_cols[1] = leaf_field("s", AR_LARGE_UTF8, false);
    make_batch(src, &two_schema, kinds, 4000);
    ids = (uint64_t *)(uintptr_t)src->children[0]->buffers[1];
    for (int i = 0; i < 4000; i++)
        ids[i] = (uint64_t)i;
    o.page_bytes = 512;
    o.dictionary_bytes = 8 << 10; /* then PLAIN */
    o.page_index = page_index;
    o.data_page_version = version;
    o.codec = PQ_ZSTD;
    write_parquet(file, len, &two_schema, src, &o);
}

static void decode_footer(struct pq_file_meta *m, const uint8_t *p, size_t n)
{
    uint32_t flen = load_u32le(p + n - 8);

    assert_ok(pq_meta_decode_file(m, p + n - 8 - flen, flen));
}

/* The data pages of one column chunk, found by walking its headers. */
struct page_list {
    size_t n;
    uint64_t off[4096];
    uint64_t len[4096];
    int64_t first_row[4096];
    uint64_t body[4096]; /* offset of the body */
};

static void list_pages(struct page_list *pl, const uint8_t *file,
                       const struct pq_column_meta *cm)
{
    int64_t start = cm->has_dictionary_page_offset ? cm->dictionary_page_offset
                                                   : cm->data_page_offset;
    struct pq_page_iter it;
    int64_t rows = 0;

    pl->n = 0;
    pq_page_iter_init(&it, file + start, (size_t)cm->total_compressed_size,
                      cm->codec, NULL);
    for (;;) {
        struct pq_page_header h;
        const uint8_t *at;
        size_t plen;
        bool eof;
        struct rd hr;
        assert_ok(pq_page_skip(&it, &h, &at, &plen, &eof));
        if (eof)
            break;
        if (h.type != PQ_PAGE_DATA && h.type != PQ_PAGE_DATA_V2)
            continue;
        assert_true(pl->n < 4096);
        pl->off[pl->n] = (uint64_t)(at - file);
        pl->len[pl->n] = plen;
        pl->first_row[pl->n] = rows;
        hr = rd_make(at, plen);
        assert_ok(pq_meta_decode_page_header(&h, &hr));
        pl->body[pl->n] = (uint64_t)(hr.p - file);
        rows += h.type == PQ_PAGE_DATA ? h.data_page.num_values
                                       : h.data_page_v2.num_rows;
        pl->n++;
    }
    pq_page_iter_free(&it);
}

static void test_parquet_rows__unneeded_pages_are_skipped(void **state)
{
    (void)state;

    for (int pi = 0; pi <= 1; pi++) {
        struct ArrowArray src, got;
        struct store_blob *blob = NULL;
        struct pq_reader *r = NULL;
        struct pq_file_meta m;
        struct page_list *pl = mem_alloc(sizeof *pl);
        uint8_t *file;
        size_t len;
        uint32_t rows[3], mid_row;
        int field = 0;
        size_t bad;

        id_file(&file, &len, &src, pi, 1);
        decode_footer(&m, file, len);
        assert_int_equal(m.row_groups[0].columns[0].has_offset_index, pi);
        list_pages(pl, file, &m.row_groups[0].columns[0].meta_data);
        assert_true(pl->n > 20);
        /* break the zstd frame of a page in the middle of column "id" */
        bad = pl->n / 2;
        memset(file + pl->body[bad], 0, 4);
        mid_row = (uint32_t)pl->first_row[bad];
        open_bytes(&r, &blob, file, len);
        assert_int_equal(pq_reader_read_row_group(r, 0, &field, 1, &got),
                         INFINO_ERR_CORRUPT);
        /* rows elsewhere read fine: the broken page is never inflated */
        rows[0] = 0;
        rows[1] = mid_row - 1;
        rows[2] = 3999;
        check_rows_vs(r, 0, 0, &src, NULL, 0, rows, 3, false);
        rows[1] = mid_row;
        assert_int_equal(pq_reader_read_rows(r, 0, NULL, 0, rows, 3, &got),
                         INFINO_ERR_CORRUPT);
        assert_non_null(strstr(err_last(), "column 'id'"));
        assert_non_null(strstr(err_last(), "row group 0"));
        /* a budget too small for the row group is enough for a few rows
         * (of the PLAIN pages after the dictionary fallback) */
        pq_reader_set_max_bytes(r, 24 << 10);
        field = 1;
        assert_int_equal(pq_reader_read_row_group(r, 0, &field, 1, &got),
                         INFINO_ERR_UNSUPPORTED);
        rows[0] = 2000;
        rows[1] = 2500;
        assert_ok(pq_reader_read_rows(r, 0, &field, 1, rows, 3, &got));
        ar_array_release(&got);
        pq_reader_free(r);
        store_blob_close(blob);
        pq_file_meta_free(&m);
        mem_free(pl);
        mem_free(file);
        ar_array_release(&src);
    }
}

/* ---- corrupt offset indexes -------------------------------------------- */

enum oi_bug {
    OI_FIRST_ROW_NOT_ZERO,
    OI_ROWS_NOT_INCREASING,
    OI_ROWS_SHIFTED, /* plausible, but a page holds one row more */
    OI_ROW_PAST_END,
    OI_PAGE_BEFORE_CHUNK,
    OI_PAGE_PAST_CHUNK,
    OI_PAGE_SIZE_ZERO,
    OI_PAGES_OVERLAP,
    OI_NO_PAGES,
    OI_LAST_PAGE_DROPPED,
    OI_POINTS_AT_DICTIONARY,
    OI_OFFSET_PAST_FILE,
    OI_LENGTH_NEGATIVE,
    OI_TRUNCATED,
    OI_GARBAGE,
    N_OI_BUGS
};

/* Returns a copy of `file` whose row group 0, column `col` has an
 * OffsetIndex damaged by `bug` (re-encoded after the data, the footer
 * re-encoded to point at it). *out is owned (mem_free). */
static void break_offset_index(uint8_t **out, size_t *out_len,
                               const uint8_t *file, size_t len, size_t col,
                               enum oi_bug bug)
{
    struct pq_file_meta m;
    struct pq_offset_index oi;
    struct pq_column_chunk *cc;
    struct pq_column_meta *cm;
    struct buf b = {0}, enc = {0};
    uint32_t flen = load_u32le(file + len - 8);
    size_t footer_off = len - 8 - flen, oi_at;
    struct pq_page_location *pg;

    decode_footer(&m, file, len);
    cc = &m.row_groups[0].columns[col];
    cm = &cc->meta_data;
    assert_true(cc->has_offset_index);
    assert_ok(pq_meta_decode_offset_index(
        &oi, file + cc->offset_index_offset,
        (size_t)cc->offset_index_length));
    assert_true(oi.n_pages >= 4);
    pg = oi.pages;
    switch (bug) {
    case OI_FIRST_ROW_NOT_ZERO:
        pg[0].first_row_index = 1;
        break;
    case OI_ROWS_NOT_INCREASING:
        pg[2].first_row_index = pg[1].first_row_index;
        break;
    case OI_ROWS_SHIFTED:
        pg[2].first_row_index++;
        break;
    case OI_ROW_PAST_END:
        pg[oi.n_pages - 1].first_row_index = m.row_groups[0].num_rows;
        break;
    case OI_PAGE_BEFORE_CHUNK:
        pg[0].offset = (cm->has_dictionary_page_offset
                            ? cm->dictionary_page_offset
                            : cm->data_page_offset) -
                       1;
        break;
    case OI_PAGE_PAST_CHUNK:
        pg[oi.n_pages - 1].compressed_page_size += 1000000;
        break;
    case OI_PAGE_SIZE_ZERO:
        pg[1].compressed_page_size = 0;
        break;
    case OI_PAGES_OVERLAP:
        pg[2].offset = pg[1].offset + 1;
        break;
    case OI_NO_PAGES:
        oi.n_pages = 0;
        break;
    case OI_LAST_PAGE_DROPPED:
        oi.n_pages--;
        break;
    case OI_POINTS_AT_DICTIONARY:
        assert_true(cm->has_dictionary_page_offset);
        pg[0].offset = cm->dictionary_page_offset;
        pg[0].compressed_page_size =
            (int32_t)(cm->data_page_offset - cm->dictionary_page_offset);
        break;
    default:
        break;
    }
    assert_ok(buf_append(&b, file, footer_off));
    oi_at = b.len;
    assert_ok(pq_meta_encode_offset_index(&enc, &oi));
    assert_ok(buf_append(&b, enc.data, enc.len));
    cc->offset_index_offset = (int64_t)oi_at;
    cc->offset_index_length = (int32_t)enc.len;
    switch (bug) {
    case OI_OFFSET_PAST_FILE:
        cc->offset_index_offset = (int64_t)len + 100;
        break;
    case OI_LENGTH_NEGATIVE:
        cc->offset_index_length = -5;
        break;
    case OI_TRUNCATED:
        cc->offset_index_length = (int32_t)enc.len - 3;
        break;
    case OI_GARBAGE:
        cc->offset_index_offset = 4; /* page bytes, not Thrift */
        break;
    default:
        break;
    }
    {
        size_t start = b.len;
        assert_ok(pq_meta_encode_file(&b, &m));
        assert_ok(buf_put_u32le(&b, (uint32_t)(b.len - start)));
        assert_ok(buf_append(&b, "PAR1", 4));
    }
    *out = buf_detach(&b, out_len);
    buf_free(&enc);
    pq_offset_index_free(&oi);
    pq_file_meta_free(&m);
}

static void test_parquet_rows__corrupt_offset_index(void **state)
{
    struct ArrowArray src;
    uint8_t *file;
    size_t len;
    uint32_t *all = mem_alloc(4000 * sizeof *all);
    (void)state;

    for (uint32_t i = 0; i < 4000; i++)
        all[i] = i;
    id_file(&file, &len, &src, 1, 2);
    for (int bug = 0; bug < N_OI_BUGS; bug++) {
        /* column 1 has a dictionary page (the fallback leaves it first) */
        for (size_t col = 0; col < 2; col++) {
            struct store_blob *blob = NULL;
            struct pq_reader *r = NULL;
            struct ArrowArray got;
            uint8_t *bad;
            size_t bad_len;
            int field = (int)col;
            infino_status st;
            if (bug == OI_POINTS_AT_DICTIONARY && col == 0)
                continue;
            break_offset_index(&bad, &bad_len, file, len, col,
                               (enum oi_bug)bug);
            open_bytes(&r, &blob, bad, bad_len);
            /* every page is needed: every lie is found */
            st = pq_reader_read_rows(r, 0, &field, 1, all, 4000, &got);
            if (st != INFINO_ERR_CORRUPT)
                fail_msg("bug %d column %zu: status %d (%s)", bug, col,
                         (int)st, err_last());
            assert_non_null(strstr(err_last(), "rows.parquet"));
            /* the whole-row-group read ignores the page index */
            assert_ok(pq_reader_read_row_group(r, 0, &field, 1, &got));
            ar_array_release(&got);
            pq_reader_free(r);
            store_blob_close(blob);
            mem_free(bad);
        }
    }
    mem_free(all);
    mem_free(file);
    ar_array_release(&src);
}

/* ---- the writer's page index ------------------------------------------- */

static int cmp_bytes(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
    int c = memcmp(a, b, an < bn ? an : bn);

    return c ? c : (an > bn) - (an < bn);
}

static void test_parquet_rows__writer_page_index(void **state)
{
    struct ar_field f[3];
    struct ar_schema s = {3, f, 0, NULL};
    static const int kinds[] = {C_I32, C_WORD, C_F64};
    struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
    struct ArrowArray src;
    struct pq_file_meta m;
    struct page_list *pl = mem_alloc(sizeof *pl);
    uint8_t *file;
    size_t len;
    int64_t start = 0;
    (void)state;

    f[0] = leaf_field("n", AR_INT64, true);
    f[1] = leaf_field("w", AR_UTF8, true);
    f[2] = leaf_field("x", AR_FLOAT64, false);
    null_from = 2000; /* row group 2: n and w have only null pages */
    null_to = 3000;
    make_batch(&src, &s, kinds, 3000);
    null_from = null_to = -1;
    {
        /* signed values; x is NaN in row group 1 from row 1000 on, so
         * its pages there have no bounds and it gets no ColumnIndex */
        int64_t *n = (int64_t *)(uintptr_t)src.children[0]->buffers[1];
        double *x = (double *)(uintptr_t)src.children[2]->buffers[1];
        for (int i = 0; i < 3000; i++) {
            n[i] = (int64_t)(test_rand() % 2001) - 1000;
            if (i >= 1000 && i < 2000)
                x[i] = NAN;
        }
    }
    o.page_bytes = 700;
    o.dictionary = 0; /* PLAIN words: several pages per chunk */
    o.row_group_rows = 1000;
    o.data_page_version = 2;
    write_parquet(&file, &len, &s, &src, &o);
    decode_footer(&m, file, len);
    assert_int_equal(m.n_row_groups, 3);
    for (size_t g = 0; g < m.n_row_groups; g++) {
        int64_t rg_rows = m.row_groups[g].num_rows;
        for (size_t c = 0; c < 3; c++) {
            const struct pq_column_chunk *cc = &m.row_groups[g].columns[c];
            const struct ArrowArray *a = src.children[c];
            struct pq_offset_index oi;
            struct pq_column_index ci;
            bool has_ci = !(c == 2 && g == 1);
            size_t n_null_pages = 0;

            list_pages(pl, file, &cc->meta_data);
            /* OffsetIndex: exactly the data pages, in order */
            assert_true(cc->has_offset_index);
            assert_true((uint64_t)cc->offset_index_offset +
                            (uint64_t)cc->offset_index_length <=
                        len - 8 - load_u32le(file + len - 8));
            assert_ok(pq_meta_decode_offset_index(
                &oi, file + cc->offset_index_offset,
                (size_t)cc->offset_index_length));
            assert_int_equal(oi.n_pages, pl->n);
            if (pl->n <= 3 && !(c < 2 && g == 2)) /* nulls: small */
                fail_msg("row group %zu column %zu: %zu pages", g, c, pl->n);
            for (size_t i = 0; i < pl->n; i++) {
                assert_int_equal(oi.pages[i].offset, pl->off[i]);
                assert_int_equal(oi.pages[i].compressed_page_size,
                                 pl->len[i]);
                assert_int_equal(oi.pages[i].first_row_index,
                                 pl->first_row[i]);
            }
            /* ColumnIndex: the exact bounds and nulls of each page */
            assert_int_equal(cc->has_column_index, has_ci);
            if (!has_ci) {
                pq_offset_index_free(&oi);
                continue;
            }
            assert_ok(pq_meta_decode_column_index(
                &ci, file + cc->column_index_offset,
                (size_t)cc->column_index_length));
            assert_int_equal(ci.n_pages, pl->n);
            assert_true(ci.has_null_counts);
            for (size_t i = 0; i < pl->n; i++) {
                int64_t lo = pl->first_row[i];
                int64_t hi = i + 1 < pl->n ? pl->first_row[i + 1] : rg_rows;
                int64_t nulls = 0, imin = INT64_MAX, imax = INT64_MIN;
                double dmin = INFINITY, dmax = -INFINITY;
                const uint8_t *smin = NULL, *smax = NULL;
                size_t smin_n = 0, smax_n = 0;
                for (int64_t row = start + lo; row < start + hi; row++) {
                    if (!ar_array_is_valid(a, row)) {
                        nulls++;
                        continue;
                    }
                    if (c == 0) {
                        int64_t v = ((const int64_t *)a->buffers[1])[row];
                        imin = v < imin ? v : imin;
                        imax = v > imax ? v : imax;
                    } else if (c == 1) {
                        const int32_t *off = a->buffers[1];
                        const uint8_t *p =
                            (const uint8_t *)a->buffers[2] + off[row];
                        size_t n = (size_t)(off[row + 1] - off[row]);
                        if (!smin || cmp_bytes(p, n, smin, smin_n) < 0) {
                            smin = p;
                            smin_n = n;
                        }
                        if (!smax || cmp_bytes(p, n, smax, smax_n) > 0) {
                            smax = p;
                            smax_n = n;
                        }
                    } else {
                        double v = ((const double *)a->buffers[1])[row];
                        dmin = v < dmin ? v : dmin;
                        dmax = v > dmax ? v : dmax;
                    }
                }
                assert_int_equal(ci.null_counts[i], nulls);
                assert_int_equal(ci.null_pages[i], nulls == hi - lo);
                if (ci.null_pages[i]) {
                    n_null_pages++;
                    assert_int_equal(ci.min_values[i].len, 0);
                    assert_int_equal(ci.max_values[i].len, 0);
                } else if (c == 0) {
                    assert_int_equal(ci.min_values[i].len, 8);
                    assert_int_equal((int64_t)load_u64le(ci.min_values[i].p),
                                     imin);
                    assert_int_equal((int64_t)load_u64le(ci.max_values[i].p),
                                     imax);
                } else if (c == 1) {
                    assert_int_equal(cmp_bytes(ci.min_values[i].p,
                                               ci.min_values[i].len, smin,
                                               smin_n),
                                     0);
                    assert_int_equal(cmp_bytes(ci.max_values[i].p,
                                               ci.max_values[i].len, smax,
                                               smax_n),
                                     0);
                } else {
                    double lo_v, hi_v;
                    memcpy(&lo_v, ci.min_values[i].p, 8);
                    memcpy(&hi_v, ci.max_values[i].p, 8);
                    assert_true(lo_v == dmin && hi_v == dmax);
                }
            }
            if (c < 2 && g == 2)
                assert_true(n_null_pages > 0);
            pq_column_index_free(&ci);
            pq_offset_index_free(&oi);
        }
        start += m.row_groups[g].num_rows;
    }
    pq_file_meta_free(&m);
    mem_free(pl);
    mem_free(file);
    ar_array_release(&src);
}

/* 1,000 rows of every column kind written with `o`: the batch, the file
 * and its decoded footer. */
static void write_every_kind(struct ArrowArray *src, uint8_t **file,
                             size_t *len, struct pq_file_meta *m,
                             const struct pq_write_opts *o)
{
    int kinds[N_COLS];

    schema_init();
    for (int c = 0; c < N_COLS; c++)
        kinds[c] = c;
    make_batch(src, &all_schema, kinds, 1000);
    write_parquet(file, len, &all_schema, src, o);
    decode_footer(m, *file, *len);
}

/* fixed_list_page_bytes and fixed_list_codec apply to fixed_size_list
 * columns only; each column chunk records its own codec. */
static void test_parquet_rows__fixed_list_page_size(void **state)
{
    struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
    struct page_list *pl = mem_alloc(sizeof *pl);
    struct pq_file_meta m;
    struct ArrowArray src;
    uint8_t *file;
    size_t len;
    (void)state;

    o.fixed_list_page_bytes = 512;
    o.fixed_list_codec = PQ_UNCOMPRESSED;
    write_every_kind(&src, &file, &len, &m, &o);
    for (int c = 0; c < N_COLS; c++) {
        assert_int_equal(m.row_groups[0].columns[c].meta_data.codec,
                         c == C_FSL ? PQ_UNCOMPRESSED : PQ_ZSTD);
        list_pages(pl, file, &m.row_groups[0].columns[c].meta_data);
        if (c == C_FSL)
            assert_true(pl->n >= 10); /* ~8 KB of floats in 512-byte pages */
        else
            assert_int_equal(pl->n, 1);
    }
    pq_file_meta_free(&m);
    mem_free(file);
    mem_free(pl);
    ar_array_release(&src);
}

/* fixed_width_codec applies to the columns whose Parquet values have a
 * fixed width (not BYTE_ARRAY), fixed_size_list columns excepted (they
 * follow fixed_list_codec), including list<int32>'s leaf. */
static void test_parquet_rows__fixed_width_codec(void **state)
{
    struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
    struct pq_file_meta m;
    struct ArrowArray src;
    uint8_t *file;
    size_t len;
    (void)state;

    o.fixed_width_codec = PQ_UNCOMPRESSED;
    write_every_kind(&src, &file, &len, &m, &o);
    for (int c = 0; c < N_COLS; c++) {
        bool var = c == C_WORD || c == C_LONG || c == C_BIN ||
                   c == C_LLIST || c == C_FSL;
        assert_int_equal(m.row_groups[0].columns[c].meta_data.codec,
                         var ? PQ_ZSTD : PQ_UNCOMPRESSED);
    }
    pq_file_meta_free(&m);
    mem_free(file);
    o.fixed_width_codec = 9; /* no such codec */
    {
        struct pq_writer *w = NULL;
        struct store_sink *sink = NULL;
        assert_int_equal(store_sink_open_memory(&sink, "mem"), INFINO_OK);
        assert_int_equal(pq_writer_open(&w, sink, &all_schema, &o),
                         INFINO_ERR_UNSUPPORTED);
        store_sink_abort(sink);
    }
    ar_array_release(&src);
}

/* fixed_size_list<float32, 7> "emb" (nullable slots and items) and id
 * int64, 3000 rows. mode 0: no null; 1: null slots at rows 1000-1009 and
 * 2500; 2: a null item in row 1500. */
static struct ar_field dense_item, dense_fields[2];
static struct ar_schema dense_schema = {2, dense_fields, 0, NULL};

static void dense_batch(struct ArrowArray *out, int mode)
{
    struct ArrowArray kids[2];
    void *root_bufs[1] = {NULL};

    dense_item = leaf_field("element", AR_FLOAT32, true);
    dense_fields[0] = leaf_field("emb", AR_FIXED_SIZE_LIST, true);
    dense_fields[0].list_size = 7;
    dense_fields[0].n_children = 1;
    dense_fields[0].children = &dense_item;
    dense_fields[1] = leaf_field("id", AR_INT64, false);
    for (int c = 0; c < 2; c++) {
        struct ar_builder *b;
        assert_ok(ar_builder_new(&b, &dense_fields[c]));
        for (int64_t i = 0; i < 3000; i++) {
            if (c == 1) {
                assert_ok(ar_builder_append_int(b, i));
                continue;
            }
            if (mode == 1 && ((i >= 1000 && i < 1010) || i == 2500)) {
                assert_ok(ar_builder_append_null(b));
                continue;
            }
            for (int k = 0; k < 7; k++) {
                struct ar_builder *e = ar_builder_child(b, 0);
                if (mode == 2 && i == 1500 && k == 3)
                    assert_ok(ar_builder_append_null(e));
                else
                    assert_ok(ar_builder_append_double(e, (double)i * 8 + k));
            }
            assert_ok(ar_builder_end_list(b));
        }
        assert_ok(ar_builder_finish(b, &kids[c]));
        ar_builder_free(b);
    }
    assert_ok(ar_array_make(out, 3000, 0, 1, root_bufs, 2, kids));
}

/* A fixed_size_list column without a null (an embedding column): point
 * reads keep only the asked-for lists of each page (the chunk statistics
 * count no null), in every page layout, and agree with whole reads. */
static void test_parquet_rows__fixed_list_without_nulls(void **state)
{
    static const enum pq_codec codecs[] = {PQ_UNCOMPRESSED, PQ_ZSTD};
    struct ArrowArray src;
    uint32_t *rows = mem_alloc(1000 * sizeof *rows);
    (void)state;

    dense_batch(&src, 0);
    for (int cfg = 0; cfg < 4; cfg++) {
        struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
        struct store_blob *blob = NULL;
        struct pq_reader *r = NULL;
        uint8_t *file;
        size_t len;

        o.data_page_version = 1 + (cfg & 1);
        o.fixed_list_codec = (int)codecs[(cfg >> 1) & 1];
        o.fixed_list_page_bytes = 256; /* nine lists per page */
        o.row_group_rows = 1000;
        write_parquet(&file, &len, &dense_schema, &src, &o);
        open_bytes(&r, &blob, file, len);
        for (int g = 0; g < pq_reader_num_row_groups(r); g++) {
            uint32_t n = (uint32_t)pq_reader_row_group_rows(r, g);
            for (size_t want = 1; want <= n; want = want * 3 + 2) {
                size_t k = random_rows(rows, n, want);
                check_rows(r, g, (int64_t)g * 1000, &src, NULL, 0, rows, k);
            }
            rows[0] = n - 1;
            check_rows(r, g, (int64_t)g * 1000, &src, NULL, 0, rows, 1);
        }
        pq_reader_free(r);
        store_blob_close(blob);
        mem_free(file);
    }
    mem_free(rows);
    ar_array_release(&src);
}

/* Point reads of a fixed_size_list column whose pages are dense (stored
 * uncompressed, PLAIN, no null: rows are copied from the page bytes) or
 * not (compressed, or holding a null: decoded), in both page versions:
 * every row alone (so the first and last row of every page), every pair
 * of neighbours (so pairs across page boundaries), random sets and whole
 * row groups, against what was written and the row-group read. */
static void test_parquet_rows__fixed_list_dense_pages(void **state)
{
    static const enum pq_codec codecs[] = {PQ_UNCOMPRESSED, PQ_ZSTD};
    uint32_t *rows = mem_alloc(1000 * sizeof *rows);
    (void)state;

    for (int cfg = 0; cfg < 12; cfg++) {
        struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
        struct store_blob *blob = NULL;
        struct pq_reader *r = NULL;
        struct ArrowArray src;
        uint8_t *file;
        size_t len;

        dense_batch(&src, cfg % 3);
        o.data_page_version = 1 + (cfg / 3) % 2;
        o.fixed_list_codec = (int)codecs[cfg / 6];
        o.fixed_list_page_bytes = 256; /* about 9 rows of 7 floats */
        o.row_group_rows = 1000;
        write_parquet(&file, &len, &dense_schema, &src, &o);
        open_bytes(&r, &blob, file, len);
        assert_int_equal(pq_reader_num_row_groups(r), 3);
        for (int g = 0; g < 3; g++) {
            int64_t start = (int64_t)g * 1000;
            for (uint32_t i = 0; i < 1000; i++) {
                rows[0] = i;
                rows[1] = i + 1;
                check_rows_vs(r, g, start, &src, NULL, 0, rows,
                              i + 1 < 1000 ? 2 : 1, i % 97 == 0);
            }
            for (size_t want = 2; want <= 1000; want = want * 3 + 1) {
                size_t k = random_rows(rows, 1000, want);
                check_rows(r, g, start, &src, NULL, 0, rows, k);
            }
            for (uint32_t i = 0; i < 1000; i++)
                rows[i] = i;
            check_rows(r, g, start, &src, NULL, 0, rows, 1000);
        }
        pq_reader_free(r);
        store_blob_close(blob);
        mem_free(file);
        ar_array_release(&src);
    }
    mem_free(rows);
}

/* A dense page's levels are checked once per reader: later point reads
 * copy only their rows' bytes. Breaking the page's definition levels
 * after a first read leaves that reader's rows right, and a new reader
 * (which checks the levels, finds them not dense, decodes them) reports
 * the damage. */
static void test_parquet_rows__dense_page_checked_once(void **state)
{
    struct pq_write_opts o = PQ_WRITE_OPTS_INIT;
    struct page_list *pl = mem_alloc(sizeof *pl);
    struct store_blob *blob = NULL, *blob2 = NULL;
    struct pq_reader *r = NULL, *r2 = NULL;
    struct pq_file_meta m;
    struct ArrowArray src, got;
    uint8_t *file;
    size_t len, page, def;
    uint32_t rows[2];
    int field = 0;
    (void)state;

    dense_batch(&src, 0);
    o.fixed_list_codec = PQ_UNCOMPRESSED;
    o.fixed_list_page_bytes = 256;
    write_parquet(&file, &len, &dense_schema, &src, &o);
    decode_footer(&m, file, len);
    list_pages(pl, file, &m.row_groups[0].columns[0].meta_data);
    assert_true(pl->n > 100);
    page = pl->n / 2;
    /* list_pages counts v1 pages' values: 7 per row here */
    rows[0] = (uint32_t)(pl->first_row[page] / 7) + 1;
    rows[1] = (uint32_t)(pl->first_row[page + 1] / 7) - 1;
    assert_true(rows[0] < rows[1]);
    open_bytes(&r, &blob, file, len);
    check_rows_vs(r, 0, 0, &src, &field, 1, rows, 2, false);
    /* DataPage v1 body: u32 length + repetition levels, u32 length +
     * definition levels: make the first definition levels 0 (null) */
    def = pl->body[page] + 4 + load_u32le(file + pl->body[page]);
    assert_true(load_u32le(file + def) >= 2);
    file[def + 4] = 0x03; /* one bit-packed group */
    file[def + 5] = 0x00;
    check_rows_vs(r, 0, 0, &src, &field, 1, rows, 2, false);
    open_bytes(&r2, &blob2, file, len);
    assert_int_equal(pq_reader_read_rows(r2, 0, &field, 1, rows, 2, &got),
                     INFINO_ERR_CORRUPT);
    assert_non_null(strstr(err_last(), "column 'emb'"));
    pq_reader_free(r2);
    store_blob_close(blob2);
    pq_reader_free(r);
    store_blob_close(blob);
    pq_file_meta_free(&m);
    mem_free(pl);
    mem_free(file);
    ar_array_release(&src);
}

/* ---- threads ------------------------------------------------------------ */

/* Several threads point-read one fresh reader at once: the page maps they
 * build race to be published, and every read must still be right. */
struct reader_job {
    struct pq_reader *r;
    uint64_t first_row; /* of row group 0 */
    int seed;
    int bad; /* rows that came back wrong */
};

static void *read_job(void *arg)
{
    struct reader_job *j = arg;
    uint64_t x = (uint64_t)j->seed * 0x9E3779B97F4A7C15ull + 1;

    for (int round = 0; round < 200; round++) {
        uint32_t rows[8];
        struct ArrowArray got;
        uint32_t at = 0;
        for (int k = 0; k < 8; k++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            at += 1 + (uint32_t)(x % 400);
            rows[k] = at;
        }
        if (pq_reader_read_rows(j->r, 0, NULL, 0, rows, 8, &got) !=
            INFINO_OK) {
            j->bad++;
            continue;
        }
        for (int k = 0; k < 8; k++)
            if (((const uint64_t *)got.children[0]->buffers[1])[k] != rows[k])
                j->bad++;
        ar_array_release(&got);
    }
    return NULL;
}

static void test_parquet_rows__concurrent_reads(void **state)
{
    (void)state;

    for (int pi = 0; pi <= 1; pi++) {
        struct ArrowArray src;
        struct store_blob *blob = NULL;
        struct pq_reader *r = NULL;
        struct reader_job jobs[4];
        pthread_t th[4];
        uint8_t *file;
        size_t len;

        id_file(&file, &len, &src, pi, 2);
        open_bytes(&r, &blob, file, len);
        for (int i = 0; i < 4; i++) {
            jobs[i] = (struct reader_job){r, 0, i + 1, 0};
            assert_int_equal(pthread_create(&th[i], NULL, read_job, &jobs[i]),
                             0);
        }
        for (int i = 0; i < 4; i++) {
            assert_int_equal(pthread_join(th[i], NULL), 0);
            assert_int_equal(jobs[i].bad, 0);
        }
        pq_reader_free(r);
        store_blob_close(blob);
        mem_free(file);
        ar_array_release(&src);
    }
}

/* ---- arguments and allocation failures --------------------------------- */

static void test_parquet_rows__bad_arguments(void **state)
{
    struct ArrowArray src, got;
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;
    uint8_t *file;
    size_t len;
    uint32_t rows[3] = {5, 3, 9};
    int field = 2;
    (void)state;

    id_file(&file, &len, &src, 1, 1);
    open_bytes(&r, &blob, file, len);
    assert_int_equal(pq_reader_read_rows(r, 0, NULL, 0, rows, 3, &got),
                     INFINO_ERR_INVALID); /* not ascending */
    rows[1] = 5;
    assert_int_equal(pq_reader_read_rows(r, 0, NULL, 0, rows, 3, &got),
                     INFINO_ERR_INVALID); /* duplicate */
    rows[1] = 6;
    rows[2] = 4000;
    assert_int_equal(pq_reader_read_rows(r, 0, NULL, 0, rows, 3, &got),
                     INFINO_ERR_INVALID); /* past the row group */
    assert_null(got.release);
    rows[2] = 3999;
    assert_int_equal(pq_reader_read_rows(r, 1, NULL, 0, rows, 3, &got),
                     INFINO_ERR_INVALID);
    assert_int_equal(pq_reader_read_rows(r, -1, NULL, 0, rows, 3, &got),
                     INFINO_ERR_INVALID);
    assert_int_equal(pq_reader_read_rows(r, 0, &field, 1, rows, 3, &got),
                     INFINO_ERR_INVALID);
    assert_int_equal(pq_reader_read_rows(r, 0, NULL, 0, NULL, 3, &got),
                     INFINO_ERR_INVALID);
    check_rows(r, 0, 0, &src, NULL, 0, rows, 3);
    pq_reader_free(r);
    store_blob_close(blob);
    mem_free(file);
    ar_array_release(&src);
}

static void test_parquet_rows__allocation_failures(void **state)
{
    (void)state;

    for (int pi = 0; pi <= 1; pi++) {
        struct ArrowArray src;
        struct store_blob *blob = NULL;
        struct pq_reader *r = NULL;
        uint8_t *file;
        size_t len;
        uint32_t rows[4] = {7, 8, 1500, 3998};
        long failures = 0;

        id_file(&file, &len, &src, pi, 2);
        open_bytes(&r, &blob, file, len);
        for (long k = 1;; k++) {
            struct ArrowArray got;
            infino_status st;
            mem_fail_after(k);
            st = pq_reader_read_rows(r, 0, NULL, 0, rows, 4, &got);
            mem_fail_reset();
            if (st == INFINO_OK) {
                ar_array_release(&got);
                break;
            }
            assert_int_equal(st, INFINO_ERR_NOMEM);
            assert_null(got.release);
            failures++;
        }
        assert_true(failures > 10);
        check_rows(r, 0, 0, &src, NULL, 0, rows, 4);
        pq_reader_free(r);
        store_blob_close(blob);
        mem_free(file);
        ar_array_release(&src);
    }
}

int main(void)
{
    test_seed();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parquet_rows__every_type_and_layout),
        cmocka_unit_test(test_parquet_rows__arrays_own_their_bytes),
        cmocka_unit_test(test_parquet_rows__scan_reuses_buffers),
        cmocka_unit_test(test_parquet_rows__unneeded_pages_are_skipped),
        cmocka_unit_test(test_parquet_rows__corrupt_offset_index),
        cmocka_unit_test(test_parquet_rows__writer_page_index),
        cmocka_unit_test(test_parquet_rows__fixed_list_page_size),
        cmocka_unit_test(test_parquet_rows__fixed_width_codec),
        cmocka_unit_test(test_parquet_rows__fixed_list_without_nulls),
        cmocka_unit_test(test_parquet_rows__fixed_list_dense_pages),
        cmocka_unit_test(test_parquet_rows__dense_page_checked_once),
        cmocka_unit_test(test_parquet_rows__concurrent_reads),
        cmocka_unit_test(test_parquet_rows__bad_arguments),
        cmocka_unit_test(test_parquet_rows__allocation_failures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
