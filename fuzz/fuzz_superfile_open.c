/*
 * fuzz_superfile_open.c - opens arbitrary bytes as a superfile: Parquet
 * footer plus region directory, then every region's checksum. Must never
 * crash, whatever the footer's key-value entries claim.
 */
#include "superfile/superfile.h"
#include "util/err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct store_blob *b;
    struct sf_reader *r;

    if (store_blob_from_memory(&b, data, size, "fuzz", false) != INFINO_OK)
        return 0;
    if (sf_reader_open(&r, b) == INFINO_OK) {
        for (size_t i = 0; i < sf_reader_n_regions(r); i++) {
            const uint8_t *p;
            size_t n;
            (void)sf_reader_region(r, sf_reader_region_name(r, i), &p, &n);
        }
        sf_reader_free(r);
    }
    store_blob_close(b);
    err_clear();
    return 0;
}
