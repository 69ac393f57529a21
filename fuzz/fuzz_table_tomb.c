/*
 * fuzz_table_tomb.c - tombstone file decoding from arbitrary bytes.
 */
#include "table/tomb.h"
#include "util/err.h"

#include "fuzz_crcfix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size)
{
    static const uint8_t id[SNAP_SF_ID_LEN] = {1, 2, 3, 4, 5, 6, 7, 8,
                                               9, 10, 11, 12, 13, 14, 15, 16};
    roaring_bitmap_t *bm;

    if (tomb_decode(&bm, data, size, "fuzz", id, 1u << 20) == INFINO_OK)
        roaring_bitmap_free(bm);
    err_clear();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint8_t *fixed = fuzz_fix_crc(data, size);

    one(data, size);
    if (fixed) {
        one(fixed, size);
        mem_free(fixed);
    }
    return 0;
}
