/*
 * fuzz_parquet_read.c - a whole Parquet file from bytes: open it through
 * an in-memory blob, test every row group's statistics against a few
 * filters per column, read every row group, and validate what comes out
 * (ar_batch_validate re-checks offsets, lengths and null counts against
 * the schema the reader reported). The seeds are small pyarrow files of
 * every kind (tests/py/test_parquet_read_seeds.py writes them).
 */
#include "format/parquet/parquet.h"
#include "store/store.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define MAX_ROW_GROUPS 64

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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_blob *blob = NULL;
    struct pq_reader *r = NULL;

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
            if (pq_reader_read_row_group(r, g, NULL, 0, &b) != INFINO_OK)
                continue;
            if (ar_batch_validate(pq_reader_schema(r), &b) != INFINO_OK)
                abort(); /* the reader produced a malformed array */
            ar_array_release(&b);
        }
        pq_reader_free(r);
    }
    store_blob_close(blob);
    return 0;
}
