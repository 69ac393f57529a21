/*
 * fuzz_parquet_read.c - a whole Parquet file from bytes: open it through
 * an in-memory blob, test every row group's statistics against a few
 * filters per column, read every row group, and validate what comes out
 * (ar_batch_validate re-checks offsets, lengths and null counts against
 * the schema the reader reported). Then point reads of each row group:
 * all its rows (which must equal the whole read when both succeed, since
 * every page is then decoded and checked against the page map), its first
 * and last row, and a subset drawn from a hash of the input (validated
 * only: a lying page index may legally misplace rows of pages it skips).
 * Last, a scan of the same row groups, which decodes into buffers that
 * earlier batches gave back, checked against the plain reads. The seeds
 * are small pyarrow files of every kind (tests/py/test_parquet_read_seeds.py
 * writes them) and files with page indexes (tests/py/test_point_reads.py).
 */
#include "format/parquet/parquet.h"
#include "store/store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROW_GROUPS 64
#define MAX_POINT_ROWS 65536 /* rows per point read, bounding the row list */

/* Cell i of `a` equals cell j of `b` (arrays of field `f`). */
static bool cell_eq(const struct ar_field *f, const struct ArrowArray *a,
                    int64_t i, const struct ArrowArray *b, int64_t j)
{
    bool va = ar_array_is_valid(a, i), vb = ar_array_is_valid(b, j);
    bool large = f->type == AR_LARGE_UTF8 || f->type == AR_LARGE_BINARY ||
                 f->type == AR_LARGE_LIST;
    int64_t s1, e1, s2, e2;

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
    case AR_FIXED_SIZE_LIST:
        for (int64_t k = 0; k < f->list_size; k++)
            if (!cell_eq(&f->children[0], a->children[0],
                         i * f->list_size + k, b->children[0],
                         j * f->list_size + k))
                return false;
        return true;
    case AR_UTF8:
    case AR_BINARY:
    case AR_LARGE_UTF8:
    case AR_LARGE_BINARY:
    case AR_LIST:
    case AR_LARGE_LIST:
        s1 = large ? ((const int64_t *)a->buffers[1])[i]
                   : ((const int32_t *)a->buffers[1])[i];
        e1 = large ? ((const int64_t *)a->buffers[1])[i + 1]
                   : ((const int32_t *)a->buffers[1])[i + 1];
        s2 = large ? ((const int64_t *)b->buffers[1])[j]
                   : ((const int32_t *)b->buffers[1])[j];
        e2 = large ? ((const int64_t *)b->buffers[1])[j + 1]
                   : ((const int32_t *)b->buffers[1])[j + 1];
        if (e1 - s1 != e2 - s2)
            return false;
        if (f->type != AR_LIST && f->type != AR_LARGE_LIST)
            return e1 == s1 ||
                   memcmp((const uint8_t *)a->buffers[2] + s1,
                          (const uint8_t *)b->buffers[2] + s2,
                          (size_t)(e1 - s1)) == 0;
        for (int64_t k = 0; k < e1 - s1; k++)
            if (!cell_eq(&f->children[0], a->children[0], s1 + k,
                         b->children[0], s2 + k))
                return false;
        return true;
    default: {
        size_t w = (size_t)ar_type_bit_width(f->type) / 8;
        return memcmp((const uint8_t *)a->buffers[1] + (size_t)i * w,
                      (const uint8_t *)b->buffers[1] + (size_t)j * w,
                      w) == 0;
    }
    }
}

static uint64_t next_rand(uint64_t *x)
{
    *x ^= *x >> 12;
    *x ^= *x << 25;
    *x ^= *x >> 27;
    return *x * 0x2545F4914F6CDD1Dull;
}

/* Point reads of row group `g`; `whole` is its full read (or NULL when
 * that failed). */
static void point_reads(struct pq_reader *r, int g,
                        const struct ArrowArray *whole, uint64_t *seed)
{
    const struct ar_schema *s = pq_reader_schema(r);
    int64_t n = pq_reader_row_group_rows(r, g);
    uint32_t *rows;
    size_t k = 0;
    struct ArrowArray b;

    if (n <= 0)
        return;
    rows = malloc(MAX_POINT_ROWS * sizeof *rows);
    if (rows == NULL)
        return;
    /* all rows: every page decoded, so the result is exact */
    if (n <= MAX_POINT_ROWS) {
        for (k = 0; k < (size_t)n; k++)
            rows[k] = (uint32_t)k;
        if (pq_reader_read_rows(r, g, NULL, 0, rows, k, &b) == INFINO_OK) {
            if (ar_batch_validate(s, &b) != INFINO_OK || b.length != n)
                abort();
            for (size_t c = 0; whole && c < s->n_fields; c++)
                for (int64_t i = 0; i < n; i++)
                    if (!cell_eq(&s->fields[c], b.children[c], i,
                                 whole->children[c], i))
                        abort(); /* point read disagrees with the page */
            ar_array_release(&b);
        }
    }
    /* first and last row, then a sparse subset */
    k = 0;
    rows[k++] = 0;
    if (n > 1)
        rows[k++] = (uint32_t)(n - 1 > UINT32_MAX ? UINT32_MAX : n - 1);
    for (int pass = 0; pass < 2; pass++) {
        if (pq_reader_read_rows(r, g, NULL, 0, rows, k, &b) == INFINO_OK) {
            if (ar_batch_validate(s, &b) != INFINO_OK ||
                b.length != (int64_t)k)
                abort();
            ar_array_release(&b);
        }
        k = 0;
        for (uint32_t at = (uint32_t)(next_rand(seed) % 8);
             (int64_t)at < n && k < MAX_POINT_ROWS;
             at += 1 + (uint32_t)(next_rand(seed) % 16))
            rows[k++] = at;
    }
    free(rows);
}

static void prune(struct pq_reader *r)
{
    const struct ar_schema *s = pq_reader_schema(r);
    static const uint8_t bytes[] = "m";

    for (size_t f = 0; f < s->n_fields && f < 64; f++) {
        struct pq_filter flt[3];
        memset(flt, 0, sizeof flt);
        for (int k = 0; k < 3; k++) {
            flt[k].field = (int)f;
            flt[k].value.type = s->fields[f].type;
        }
        flt[0].op = PQ_GE;
        flt[0].value.v.bytes.p = bytes; /* also i/u/d/dec: some bits */
        flt[0].value.v.bytes.n = 1;
        flt[1].op = PQ_LT;
        flt[1].value.v.i = 1000;
        flt[2].op = PQ_IS_NULL;
        for (int g = 0; g < pq_reader_num_row_groups(r); g++)
            for (size_t k = 0; k < 3; k++)
                (void)pq_reader_row_group_may_match(r, g, &flt[k], 1);
    }
}

/* The row groups again through a scan, whose batches decode into buffers
 * earlier batches gave back (util/bufpool.h): each batch must equal the
 * plain read of its row group. The first batch is kept in *kept, for the
 * caller to release after the scan, reader and blob are gone (arrays own
 * their bytes and hold a reference to the pool). */
static void scan(struct pq_reader *r, struct ArrowArray *kept)
{
    const struct ar_schema *s = pq_reader_schema(r);
    struct pq_scan *sc = NULL;

    kept->release = NULL;
    if (pq_scan_open(&sc, r, NULL, 0, NULL, 0) != INFINO_OK)
        return;
    for (int g = 0; g < pq_reader_num_row_groups(r) && g < MAX_ROW_GROUPS;
         g++) {
        struct ArrowArray b, plain;
        bool eof = false;
        if (pq_scan_next(sc, &b, &eof) != INFINO_OK)
            continue; /* the scan moves on to the next row group */
        if (eof)
            abort(); /* fewer batches than row groups */
        if (ar_batch_validate(s, &b) != INFINO_OK)
            abort();
        if (pq_reader_read_row_group(r, g, NULL, 0, &plain) == INFINO_OK) {
            if (plain.length != b.length)
                abort();
            for (size_t c = 0; c < s->n_fields; c++)
                for (int64_t i = 0; i < b.length; i++)
                    if (!cell_eq(&s->fields[c], b.children[c], i,
                                 plain.children[c], i))
                        abort(); /* pooled buffers decoded differently */
            ar_array_release(&plain);
        }
        if (kept->release == NULL)
            *kept = b;
        else
            ar_array_release(&b);
    }
    pq_scan_free(sc);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;
    struct ArrowArray kept = {0};
    struct ar_schema schema = {0};
    uint64_t seed = 0x9E3779B97F4A7C15ull ^ size;

    for (size_t i = 0; i < size; i++) /* FNV-1a: subsets follow the input */
        seed = (seed ^ data[i]) * 0x100000001B3ull;
    if (seed == 0)
        seed = 1;
    if (store_blob_from_memory(&blob, data, size, "fuzz.parquet", false) !=
        INFINO_OK)
        return 0;
    if (pq_reader_open(&r, blob) == INFINO_OK) {
        /* Keep each read within the fuzzer's memory: the default limit
         * (1 GiB for small files) exceeds it. */
        pq_reader_set_max_bytes(r, 64u << 20);
        prune(r);
        for (int g = 0; g < pq_reader_num_row_groups(r) && g < MAX_ROW_GROUPS;
             g++) {
            struct ArrowArray b;
            bool ok = pq_reader_read_row_group(r, g, NULL, 0, &b) == INFINO_OK;
            if (ok && ar_batch_validate(pq_reader_schema(r), &b) != INFINO_OK)
                abort(); /* the reader produced a malformed array */
            point_reads(r, g, ok ? &b : NULL, &seed);
            if (ok)
                ar_array_release(&b);
        }
        scan(r, &kept);
        if (kept.release != NULL &&
            ar_schema_copy(&schema, pq_reader_schema(r)) != INFINO_OK)
            ar_array_release(&kept);
        pq_reader_free(r);
    }
    store_blob_close(blob);
    if (kept.release != NULL) {
        if (ar_batch_validate(&schema, &kept) != INFINO_OK)
            abort(); /* the batch outlived its scan and reader intact */
        ar_array_release(&kept);
    }
    ar_schema_free(&schema);
    return 0;
}
