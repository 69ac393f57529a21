/*
 * fuzz_parquet_meta.c - FileMetaData and PageHeader decoding from raw
 * bytes. Whatever decodes must re-encode, decode again and re-encode to
 * the same bytes (the encoder drops only what the decoder cannot carry:
 * unknown fields and union members), and every decoded array must be
 * readable (ASan checks the arena).
 */
#include "format/parquet/pq_meta.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static void touch(const struct pq_file_meta *m)
{
    volatile size_t sink = 0;

    for (size_t i = 0; i < m->n_schema; i++)
        sink += m->schema[i].name.len ? m->schema[i].name.p[0] : 0;
    for (size_t g = 0; g < m->n_row_groups; g++)
        for (size_t c = 0; c < m->row_groups[g].n_columns; c++) {
            const struct pq_column_meta *cm =
                &m->row_groups[g].columns[c].meta_data;
            for (size_t i = 0; i < cm->n_path; i++)
                sink += cm->path[i].len;
            for (size_t i = 0; i < cm->n_encodings; i++)
                sink += (size_t)cm->encodings[i];
        }
    (void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct pq_file_meta m1, m2;
    struct pq_page_header h;
    struct buf b1 = {0}, b2 = {0};
    struct rd in = rd_make(data, size);

    if (pq_meta_decode_page_header(&h, &in) == 0) {
        struct buf hb = {0};
        struct pq_page_header h2;
        if (pq_meta_encode_page_header(&hb, &h) == INFINO_OK) {
            struct rd again = rd_make(hb.data, hb.len);
            if (pq_meta_decode_page_header(&h2, &again) != INFINO_OK ||
                rd_left(&again) != 0)
                abort();
        }
        buf_free(&hb);
    }
    if (pq_meta_decode_file(&m1, data, size) != INFINO_OK)
        return 0;
    touch(&m1);
    if (pq_meta_encode_file(&b1, &m1) != INFINO_OK)
        abort();
    if (pq_meta_decode_file(&m2, b1.data, b1.len) != INFINO_OK)
        abort(); /* what we encode, we must decode */
    if (pq_meta_encode_file(&b2, &m2) != INFINO_OK)
        abort();
    if (b1.len != b2.len || memcmp(b1.data, b2.data, b1.len) != 0)
        abort(); /* encode(decode(x)) is a fixed point */
    pq_file_meta_free(&m1);
    pq_file_meta_free(&m2);
    buf_free(&b1);
    buf_free(&b2);
    return 0;
}
