/*
 * fuzz_parquet_pageindex.c - OffsetIndex and ColumnIndex decoding from raw
 * bytes (the page index point reads trust to find pages). Whatever decodes
 * must re-encode, decode again and re-encode to the same bytes (the
 * encoder drops only the fields the decoder skips), and every decoded
 * array must be readable (ASan checks the arena). Seeds are the page
 * indexes of pyarrow's files and ours (tests/py/test_point_reads.py).
 */
#include "format/parquet/pq_meta.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void offset_index(const uint8_t *data, size_t size)
{
    struct pq_offset_index a, b;
    struct buf e1 = {0}, e2 = {0};
    volatile uint64_t sink = 0; /* unsigned: values are arbitrary */

    if (pq_meta_decode_offset_index(&a, data, size) != INFINO_OK)
        return;
    for (size_t i = 0; i < a.n_pages; i++)
        sink += (uint64_t)a.pages[i].offset +
                (uint64_t)a.pages[i].compressed_page_size +
                (uint64_t)a.pages[i].first_row_index;
    if (pq_meta_encode_offset_index(&e1, &a) != INFINO_OK ||
        pq_meta_decode_offset_index(&b, e1.data, e1.len) != INFINO_OK ||
        pq_meta_encode_offset_index(&e2, &b) != INFINO_OK)
        abort(); /* what we encode, we must decode */
    if (e1.len != e2.len || memcmp(e1.data, e2.data, e1.len) != 0)
        abort();
    (void)sink;
    pq_offset_index_free(&a);
    pq_offset_index_free(&b);
    buf_free(&e1);
    buf_free(&e2);
}

static void column_index(const uint8_t *data, size_t size)
{
    struct pq_column_index a, b;
    struct buf e1 = {0}, e2 = {0};
    volatile size_t sink = 0;

    if (pq_meta_decode_column_index(&a, data, size) != INFINO_OK)
        return;
    for (size_t i = 0; i < a.n_pages; i++) {
        sink += a.null_pages[i] + a.min_values[i].len + a.max_values[i].len;
        if (a.min_values[i].len)
            sink += a.min_values[i].p[a.min_values[i].len - 1];
        if (a.has_null_counts)
            sink += (size_t)a.null_counts[i];
    }
    if (pq_meta_encode_column_index(&e1, &a) != INFINO_OK ||
        pq_meta_decode_column_index(&b, e1.data, e1.len) != INFINO_OK ||
        pq_meta_encode_column_index(&e2, &b) != INFINO_OK)
        abort();
    if (e1.len != e2.len || memcmp(e1.data, e2.data, e1.len) != 0)
        abort();
    (void)sink;
    pq_column_index_free(&a);
    pq_column_index_free(&b);
    buf_free(&e1);
    buf_free(&e2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    offset_index(data, size);
    column_index(data, size);
    return 0;
}
