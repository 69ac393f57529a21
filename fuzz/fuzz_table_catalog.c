/*
 * fuzz_table_catalog.c - catalog decoding from arbitrary bytes (includes
 * the Arrow IPC schema of every table and its index spec).
 */
#include "table/catalog.h"
#include "util/err.h"

#include "fuzz_crcfix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void one(const uint8_t *data, size_t size)
{
    struct catalog c;
    struct buf b = {0};

    if (catalog_decode(&c, data, size, "fuzz") == INFINO_OK) {
        struct catalog again;
        if (catalog_encode(&b, &c) == INFINO_OK &&
            catalog_decode(&again, b.data, b.len, "again") == INFINO_OK) {
            if (again.n != c.n)
                __builtin_trap();
            catalog_free(&again);
        }
        catalog_free(&c);
    }
    buf_free(&b);
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
